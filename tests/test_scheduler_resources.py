"""Beam resources: slot rate limiter, FCFS resource-block pool, paging occasions, service times."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd
import pytest

from satsim.link.cqi import rate_bps_per_rb
from satsim.scheduler import RateLimiter, RbPool, next_paging_occasion
from satsim.scheduler.resources import Beams, service_time_model


def test_rate_limiter_grants_one_per_slot_in_any_order():
    lim = RateLimiter(10.0)  # slots of 0.1 s
    assert [lim.grant(1.0, 0.0) for _ in range(3)] == pytest.approx([1.0, 1.1, 1.2])
    # a request for an earlier time, made later, still finds the free slot before 1.0
    assert lim.grant(0.85, 0.0) == pytest.approx(0.9)
    assert lim.grant(1.05, 0.0) == pytest.approx(1.3)  # 1.1 and 1.2 taken
    assert lim.grant(5.0, 0.0) == pytest.approx(5.0)
    assert lim.grants == 6
    unlimited = RateLimiter(math.inf)
    assert unlimited.grant(3.3, 0.0) == 3.3 and unlimited.grant(3.3, 0.0) == 3.3


def test_rate_limiter_matches_brute_force_and_prunes():
    rng = np.random.default_rng(0)
    lim = RateLimiter(50.0)
    taken = set()
    now = 0.0
    for _ in range(20000):
        now += rng.exponential(1 / 45.0)
        t = now + rng.uniform(0, 2.0)  # requests for the near future, in any order
        g = lim.grant(t, now)
        k = round(g * 50.0)
        want = math.ceil(t * 50.0 - 1e-9)
        while want in taken:
            want += 1
        assert k == want
        taken.add(k)
    assert len(lim._next) < 20000  # slots in the past were forgotten


def test_rb_pool_is_fcfs_multiserver():
    pool = RbPool(2)
    got = [pool.reserve(0.0, 1, 1.0) for _ in range(4)]
    assert got == [(0.0, 1.0), (0.0, 1.0), (1.0, 2.0), (1.0, 2.0)]
    assert pool.busy_rb_s == 4.0 and pool.grants == 4


def test_rb_pool_matches_kiefer_wolfowitz_recursion():
    # G/G/3 FCFS: the start of each job is max(arrival, earliest free server)
    rng = np.random.default_rng(1)
    arrivals = np.cumsum(rng.exponential(1.0, 5000))
    service = rng.exponential(2.5, 5000)
    pool = RbPool(3)
    free = [0.0, 0.0, 0.0]
    for a, s in zip(arrivals, service):
        start, finish = pool.reserve(float(a), 1, float(s))
        f = heapq.heappop(free)
        assert start == max(a, f)
        heapq.heappush(free, max(a, f) + s)


def test_rb_pool_deadline_and_multi_rb():
    pool = RbPool(4, horizon_s=100.0)
    assert pool.reserve(0.0, 4, 10.0) == (0.0, 10.0)
    # waits for all 4 RBs; fails at its deadline 12 s: holds RBs 10..12 only
    assert pool.reserve(1.0, 2, 5.0, deadline_s=12.0) == (10.0, 15.0)
    # starts no earlier than the previous request (FCFS, no overtaking)
    assert pool.reserve(2.0, 1, 1.0) == (10.0, 11.0)
    # cannot start before its deadline: takes nothing
    assert pool.reserve(3.0, 4, 1.0, deadline_s=5.0) == (12.0, 13.0)
    assert pool.busy_rb_s == pytest.approx(40.0 + 2 * 2.0 + 1.0)
    # the request that took nothing does not hold back the next one
    assert pool.reserve(4.0, 1, 1.0) == (10.0, 11.0)
    with pytest.raises(RuntimeError, match="env.now"):
        pool.reserve(1.0, 1, 1.0)


def test_rb_pool_counts_busy_time_up_to_the_horizon():
    pool = RbPool(1, horizon_s=10.0)
    pool.reserve(8.0, 1, 5.0)
    assert pool.busy_rb_s == 2.0


def test_paging_occasions_follow_ue_id():
    # T = 128 frames of 10 ms; UE_ID = handset mod 1024; paging frame = UE_ID mod 128
    assert next_paging_occasion(0.0, 0, 1.28) == 0.0
    assert next_paging_occasion(0.001, 0, 1.28) == pytest.approx(1.28)
    assert next_paging_occasion(0.0, 5, 1.28) == pytest.approx(0.05)
    assert next_paging_occasion(0.0, 133, 1.28) == pytest.approx(0.05)
    assert next_paging_occasion(10.0, 1024 + 5, 1.28) == pytest.approx(0.05 + 8 * 1.28)
    assert next_paging_occasion(7.3, 99, 0.0) == 7.3


def test_service_time_models():
    bits = 8.0 * 240
    rate = service_time_model("rate", bits=bits, n_rb=2)
    assert rate(15) == pytest.approx(bits / (2 * float(rate_bps_per_rb(15))))
    assert rate(0) == math.inf
    assert service_time_model("fixed", bits=bits, n_rb=1, mean_s=0.25)(7) == 0.25
    exp = service_time_model("exponential", bits=bits, n_rb=1, mean_s=2.0,
                             rng=np.random.default_rng(5))
    draws = np.array([exp(3) for _ in range(20000)])
    # mean of 20,000 exponentials: standard error 2 / sqrt(20000) = 0.014
    assert draws.mean() == pytest.approx(2.0, abs=5 * 0.014)
    with pytest.raises(ValueError, match="unknown"):
        service_time_model("erlang", bits=bits, n_rb=1)


def test_beams_are_lazy_and_tabulated():
    beams = Beams(25, 100.0, 1600.0, 0.0, 100.0)
    b = beams.get(3, 7)
    assert beams.get(3, 7) is b and len(beams) == 1
    b.ul.reserve(0.0, 1, 10.0)
    tab = beams.table()
    assert list(tab[["sat", "beam"]].iloc[0]) == [3, 7]
    assert tab["ul_utilisation"].iloc[0] == pytest.approx(10.0 / (25 * 100.0))


def test_a_beam_used_by_one_service_tabulates_the_others_as_idle():
    """Pools are made on first use: a beam only a call used reads as a beam whose SMS
    pools, RACH and paging were made and never asked (zeros), row for row."""
    lazy, eager = Beams(25, 100.0, 1600.0, 0.0, 100.0), Beams(25, 100.0, 1600.0, 0.0, 100.0)
    for beams in (lazy, eager):
        assert beams.get(1, 2).admit_call(10.0, 2.0)
        beams.get(1, 2).end_call(40.0, 2.0)
        b = beams.get(4, 0)
        b.dl.reserve(5.0, 1, 3.0)
        b.paging.grant(5.0, 5.0)
    for b in eager.all():  # every pool made, as before they were made on first use
        b.ul, b.dl, b.rach, b.paging, b.voice
    tab = lazy.table()
    pd.testing.assert_frame_equal(tab, eager.table(), check_exact=True)
    row = tab.iloc[0]
    assert row["voice_rb_s"] == 2.0 * 30.0 and row["voice_calls"] == 1
    assert row[["ul_rb_s", "dl_rb_s", "ul_transfers", "dl_transfers", "rach_grants",
                "pages"]].sum() == 0
    assert tab.iloc[1][["dl_transfers", "pages", "voice_calls"]].tolist() == [1, 1, 0]
