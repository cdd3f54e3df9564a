"""The scheduler in independent parts (satsim.scheduler.parts): handsets that share
no beam, simulated apart and joined, give the whole run's result, table for table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import satsim
from satsim.errors import InputError
from satsim.scenario import Scenario, with_overrides
from satsim.scheduler import (
    AppCallConfig,
    CoverageView,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.scheduler.parts import (
    beam_groups,
    joined,
    simulate_parts,
    split_handsets,
    split_reason,
    view_part,
)

TABLES = ("events", "beams", "calls", "sessions", "app_calls")
N_HANDSETS, N_GROUPS, SPAN_S = 30, 3, 3600.0


def busy_view(shared: bool = False) -> CoverageView:
    """30 handsets in 3 groups (handset h in group h % 3: the groups interleave in
    handset order), each group's phones on the same beams: 60 s runs moving over
    that group's 4 beams on 2 satellites, a 20 s gap every fifth run, random
    CQI, SINR, delay and uplink. ``shared``: group 2 also uses one of group 1's
    beams once (the two groups then interact)."""
    rng = np.random.default_rng(5)
    rows = []
    for h in range(N_HANDSETS):
        g = h % N_GROUPS
        t, k = float(h % 7), 0
        while t < SPAN_S - 70.0:
            end = t + 60.0
            beam = 10 * g + k % 4
            if shared and g == 2 and k == 6:
                beam = 10 * 1 + 2
            rows.append((h, t, end, k % 2, beam))
            k += 1
            t = end + (20.0 if k % 5 == 0 else 0.0)
    h, start, end, sat, beam = (np.array(c) for c in zip(*rows))
    n = h.size
    return CoverageView(N_HANDSETS, h, start, end, sat, beam, rng.integers(3, 16, n),
                        rng.uniform(-2.0, 15.0, n), start_s=0.0, end_s=SPAN_S,
                        delay_s=rng.uniform(0.002, 0.006, n),
                        ul_sinr_db=rng.uniform(-8.0, 6.0, n), n_rb=25)


def busy_config(**sms) -> SchedulerConfig:
    """Every service, at rates that make the phones of a beam contend."""
    return SchedulerConfig(sms=SmsConfig(mo_per_hour=30.0, mt_per_hour=30.0, **sms),
                           voice=VoiceConfig(calls_per_hour=6.0),
                           data=DataConfig(sessions_per_hour=20.0),
                           app_call=AppCallConfig(calls_per_hour=6.0))


def assert_same_result(got, want):
    for name in TABLES:
        a, b = getattr(got, name), getattr(want, name)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert got.summary() == want.summary()


@pytest.fixture(scope="module")
def whole():
    view, config = busy_view(), busy_config()
    return view, config, simulate(view, config, seed=11)


def test_components_are_the_handsets_that_share_beams():
    group = beam_groups(busy_view())
    # one label per group of the construction, whatever the numbering
    assert np.unique(group).size == N_GROUPS
    for g in range(N_GROUPS):
        assert np.unique(group[g::N_GROUPS]).size == 1
    merged = beam_groups(busy_view(shared=True))
    assert np.unique(merged).size == 2 and merged[1] == merged[2] != merged[0]


def test_a_handset_without_runs_is_a_part_of_its_own():
    view = busy_view()
    lone = view_part(view, np.arange(1, N_HANDSETS, dtype=np.int64))  # handset 0 left out
    group = beam_groups(lone)
    assert np.sum(group == group[0]) == 1 and np.unique(group).size == N_GROUPS + 1


@pytest.mark.parametrize("n_parts", [2, 3, 8])
def test_parts_cover_every_handset_once_and_share_no_beam(n_parts):
    view = busy_view()
    parts = split_handsets(view, n_parts)
    assert len(parts) == min(n_parts, N_GROUPS)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(N_HANDSETS))
    beams = [set(zip(view_part(view, p).sat.tolist(), view_part(view, p).beam.tolist()))
             for p in parts]
    for i in range(len(beams)):
        for j in range(i + 1, len(beams)):
            assert not beams[i] & beams[j]


def test_a_part_view_holds_its_handsets_runs_unchanged():
    view = busy_view()
    mine = np.arange(1, N_HANDSETS, N_GROUPS, dtype=np.int64)
    part = view_part(view, mine)
    assert part.n_handsets == view.n_handsets and part.n_rb == view.n_rb
    for h in range(N_HANDSETS):
        a, b = part.offsets[h], part.offsets[h + 1]
        if h in mine:
            c, d = view.offsets[h], view.offsets[h + 1]
            for name in ("start", "end", "cover_end", "serve_end", "sat", "beam", "cqi",
                         "sinr_db", "delay_s", "ul_cqi", "ul_sinr_db"):
                assert np.array_equal(getattr(part, name)[a:b], getattr(view, name)[c:d])
        else:
            assert a == b


@pytest.mark.parametrize("n_parts", [2, 3])
def test_the_parts_joined_are_the_whole_run(whole, n_parts):
    view, config, want = whole
    # contention inside a part, or the test would prove little
    assert want.summary()["voice"]["offered"] > 20 and len(want.sessions) > 200
    assert (want.beams["data_bits"] > 0).sum() >= 8
    got = simulate_parts(view, config, seed=11, n_parts=n_parts)
    assert_same_result(got, want)


def test_parts_run_by_the_given_map_in_order(whole):
    view, config, want = whole
    calls = []

    def map_parts(fn, args):
        calls.append(len(args))
        return [fn(*a) for a in reversed(args)][::-1]

    assert_same_result(simulate_parts(view, config, 11, n_parts=3, map_parts=map_parts), want)
    assert calls == [3]


def test_a_beam_shared_across_groups_keeps_them_in_one_part():
    view, config = busy_view(shared=True), busy_config()
    assert len(split_handsets(view, 3)) == 2
    assert_same_result(simulate_parts(view, config, 4, n_parts=3), simulate(view, config, 4))


def test_wrongly_split_parts_would_differ(whole):
    """The test above can fail: parts cut through a group lose its contention."""
    view, config, want = whole
    halves = [np.arange(0, 15, dtype=np.int64), np.arange(15, 30, dtype=np.int64)]
    got = joined([simulate(view_part(view, h), config, 11, handsets=h) for h in halves])
    with pytest.raises(AssertionError):
        assert_same_result(got, want)


def test_draws_in_simulation_order_run_whole():
    for sms, text in (({"service_time": "exponential", "service_mean_s": 2.0},
                       "exponential"), ({"failure_prob": 0.2}, "failure_prob")):
        config = busy_config(**sms)
        assert text in split_reason(config)
        view = busy_view()
        assert_same_result(simulate_parts(view, config, 2, n_parts=3), simulate(view, config, 2))
    assert split_reason(busy_config()) is None


def test_bad_part_arguments_are_refused():
    view = busy_view()
    with pytest.raises(InputError, match="n_parts"):
        split_handsets(view, 0)
    with pytest.raises(InputError, match="indices in 0..29"):
        simulate(view, busy_config(), 1, handsets=np.array([3, 30]))
    with pytest.raises(ValueError, match="at least one"):
        joined([])
    for bad in ([3, 3], [5, 2], [0, 30], [1.0]):
        with pytest.raises(InputError, match="increasing indices in 0..29"):
            view.of_handsets(np.array(bad))


def test_a_whole_run_with_its_services_in_parts_is_the_same_run():
    """satsim.run's ``scheduler`` hook (what ``satsim run --workers`` uses, on a
    cluster): the Earth-fixed default with every service, its scheduler in 4 parts."""
    sc = with_overrides(Scenario(), {
        "duration_s": 1800.0, "step_s": 10.0, "handsets.spacing_km": 300.0,
        "services.voice.enabled": True, "services.data.enabled": True,
        "services.app_call.enabled": True})
    want = satsim.run(sc)
    got = satsim.run(sc, scheduler=lambda view, config, seed: simulate_parts(
        view, config, seed, n_parts=4))
    assert got.summary == want.summary
    for name, table in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True, obj=name)


def test_a_part_draws_only_its_traffic_blocks_and_the_same_arrivals():
    """Traffic is drawn per block of 256 handsets, each from its own stream: a part
    draws only the blocks holding its handsets (not every block of the run), and
    gets the very arrivals those handsets have in the whole run."""
    from satsim.scheduler.arrivals import BLOCK_HANDSETS, blocks_of, handset_arrivals

    n = 3 * BLOCK_HANDSETS + 40
    whole = handset_arrivals(5, "sms/mo/arrivals", n, 20.0, 0.0, 3600.0)
    blocks = blocks_of([3, BLOCK_HANDSETS * 3 + 7, BLOCK_HANDSETS * 3 + 1])
    assert blocks.tolist() == [0, 3]
    got = handset_arrivals(5, "sms/mo/arrivals", n, 20.0, 0.0, 3600.0, blocks=blocks)
    mine = (whole[0] < BLOCK_HANDSETS) | (whole[0] >= 3 * BLOCK_HANDSETS)
    assert np.array_equal(got[0], whole[0][mine]) and np.array_equal(got[1], whole[1][mine])
    assert handset_arrivals(5, "x", n, 20.0, 0.0, 60.0, blocks=[])[0].size == 0


def test_parts_spanning_many_traffic_blocks_are_the_whole_run():
    """~700 handsets (three traffic blocks), each group of three on its own beam:
    parts that mix handsets of every block give the whole run, table for table."""
    n, beams = 700, 233
    view = CoverageView.periodic(n, on_s=500.0, off_s=100.0, duration_s=3600.0,
                                 n_beams=beams)
    config = busy_config()
    want = simulate(view, config, seed=4)
    assert want.events["handset"].max() >= 512
    got = simulate_parts(view, config, seed=4, n_parts=5)
    assert_same_result(got, want)
