"""SMS scheduler against queueing theory, store-and-forward analytics and its own invariants.

Statistical tests use fixed seeds (so they are deterministic) and
tolerances of 4 standard errors, the standard error derived in each test
from the run length: a correct model fails such a check with probability
below 1e-4 for a fresh seed.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.config import Carrier
from satsim.scheduler import BeamConfig, CoverageView, SchedulerConfig, SmsConfig, simulate

#: Beams with no random-access, paging or set-up delay: only the queue / coverage remains.
IDEAL_BEAMS = BeamConfig(rach_per_s=math.inf, paging_per_s=math.inf, access_delay_s=0.0,
                         paging_cycle_s=0.0)


def sms_config(**kw) -> SmsConfig:
    """Negligible service: zero transfer time and ground delay unless overridden."""
    base = dict(mo_per_hour=0.0, mt_per_hour=0.0, service_time="fixed", service_mean_s=0.0,
                ground_delay_s=0.0)
    base.update(kw)
    return SmsConfig(**base)


def batch_means_se(x: np.ndarray, n_batches: int = 20) -> float:
    """Standard error of the mean of a correlated sequence, by batch means."""
    means = np.array([b.mean() for b in np.array_split(x, n_batches)])
    return float(means.std(ddof=1) / math.sqrt(n_batches))


# --------------------------------------------------------------------------- M/M/1
@pytest.mark.parametrize("rho, n_customers", [(0.5, 40_000), (0.8, 100_000)])
def test_single_beam_is_mm1(rho, n_customers):
    """Poisson SMS into one always-covered beam, one server, exponential service.

    The beam's uplink serves one SMS at a time (``rb_per_sms`` = all 25 RBs)
    with exponential holding times of mean 1/mu; random access, set-up and
    ground delays are zero, so latency = sojourn time, whose M/M/1 mean is
    W = 1 / (mu - lambda) (Kleinrock, Queueing Systems vol. 1, §3.2).

    Tolerance: sojourn times of successive customers are correlated, so the
    standard error of their mean comes from batch means (Law and Kelton,
    Simulation Modeling and Analysis, §9.5.3): 20 batches of 2,000 (rho 0.5)
    and 5,000 (rho 0.8) customers, far longer than the M/M/1 relaxation time
    1 / (mu (1 - sqrt(rho))^2) = 12 s and 90 s (about 6 and 70 customers), so
    the batch means are nearly independent. The first 2 % of customers (the
    queue starts empty) are dropped. The run lengths give a standard error of
    about 1.5 % (rho 0.5) and 2.5 % (rho 0.8) of W; we require |mean - W| <
    4 SE and SE < 4 % of W, so the test cannot pass by being vague.
    """
    mu = 1.0
    lam = rho * mu
    n_handsets = 10  # superposed Poisson streams: Poisson of rate lambda
    view = CoverageView.always_covered(n_handsets, n_customers / lam)
    config = SchedulerConfig(
        beams=IDEAL_BEAMS,
        sms=sms_config(mo_per_hour=lam * 3600.0 / n_handsets, service_time="exponential",
                       service_mean_s=1.0 / mu, rb_per_sms=25))
    ev = simulate(view, config, seed=11).events
    done = ev[ev["outcome"] == "delivered"]
    assert len(done) > 0.95 * n_customers
    sojourn = done["latency_s"].to_numpy()[len(done) // 50:]
    w = 1.0 / (mu - lam)
    se = batch_means_se(sojourn)
    assert se < 0.04 * w
    assert abs(sojourn.mean() - w) < 4 * se


# --------------------------------------------------------------------------- on / off
ON_S, OFF_S = 300.0, 600.0
PERIOD_S = ON_S + OFF_S


def test_mo_latency_on_off_matches_store_and_forward():
    """5 min on / 10 min off; MO SMS with zero transfer time, 2 s ground delay.

    A message arriving in a gap waits for its residual, uniform on
    (0, T_off); one arriving in coverage goes at once. Mean latency:
    (T_off / (T_on + T_off)) x T_off / 2 + ground = (2/3) x 300 + 2 = 202 s.
    Latencies are independent (no queueing: unlimited resources), with
    variance (2/3) T_off^2 / 3 - ((2/3) T_off / 2)^2 = 40,000 s^2 (sd 200 s).
    About 30,000 messages give SE = 200 / sqrt(n) ~ 1.2 s; tolerance 4 SE.
    Only arrivals at least one period before the end count (all of them are
    delivered, so the cut does not bias the mean).
    """
    duration = 67 * PERIOD_S
    rng = np.random.default_rng(2)
    view = CoverageView.periodic(30, ON_S, OFF_S, duration, phase_s=rng.uniform(0, PERIOD_S, 30))
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(mo_per_hour=60.0,
                                                                ground_delay_s=2.0))
    ev = simulate(view, config, seed=5).events
    ev = ev[ev["t_arrival_s"] < duration - PERIOD_S]
    n = len(ev)
    assert n > 25_000
    assert (ev["outcome"] == "delivered").all()
    lat = ev["latency_s"].to_numpy()
    sd = math.sqrt((2 / 3) * OFF_S ** 2 / 3 - ((2 / 3) * OFF_S / 2) ** 2)
    assert sd == pytest.approx(200.0)
    assert abs(lat.mean() - (200.0 + 2.0)) < 4 * sd / math.sqrt(n)
    # a third arrive covered (binomial SE sqrt(p (1-p) / n)) and wait only the ground delay
    cov = ev["covered_at_arrival"].to_numpy()
    assert abs(cov.mean() - 1 / 3) < 4 * math.sqrt((1 / 3) * (2 / 3) / n)
    np.testing.assert_allclose(lat[cov], 2.0)
    # arrivals in a gap: residual uniform on (0, 600 s), mean 300 s, sd 600 / sqrt(12)
    g = lat[~cov] - 2.0
    assert abs(g.mean() - 300.0) < 4 * (OFF_S / math.sqrt(12)) / math.sqrt(g.size)
    assert g.min() >= 0.0 and g.max() <= OFF_S


def test_mt_fixed_retry_latency_matches_retry_grid():
    """MT store and forward, SC retries every R = 120 s, 5 min on / 10 min off.

    A message arriving in a gap with residual U ~ U(0, 600) is delivered at
    the first retry after the gap, latency ceil(U / R) R; with 600 = 5 R the
    multiplier is uniform on 1..5, mean 3 R = 360 s (and R <= T_on, so that
    retry always falls inside the next window). Overall mean (2/3) x 360 =
    240 s, variance (2/3) R^2 E[K^2] - 240^2 = (2/3) 14400 x 11 - 57600 =
    48,000 s^2; ~30,000 messages give SE ~ 1.3 s; tolerance 4 SE.
    """
    duration = 67 * PERIOD_S
    rng = np.random.default_rng(3)
    view = CoverageView.periodic(30, ON_S, OFF_S, duration, phase_s=rng.uniform(0, PERIOD_S, 30))
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(mt_per_hour=60.0,
                                                                mt_retry="fixed",
                                                                mt_retry_s=120.0))
    ev = simulate(view, config, seed=6).events
    ev = ev[ev["t_arrival_s"] < duration - PERIOD_S]
    n = len(ev)
    assert (ev["outcome"] == "delivered").all() and n > 25_000
    lat = ev["latency_s"].to_numpy()
    # every latency is on the retry grid
    np.testing.assert_allclose(lat / 120.0, np.round(lat / 120.0), atol=1e-9)
    assert abs(lat.mean() - 240.0) < 4 * math.sqrt(48_000.0 / n)
    k = np.round(lat[~ev["covered_at_arrival"].to_numpy()] / 120.0)
    assert set(np.unique(k)) == {1, 2, 3, 4, 5}


def one_handset_on_off(duration=4 * PERIOD_S):
    return CoverageView.periodic(1, ON_S, OFF_S, duration)


def run_explicit(view, config, times, direction="MT", seed=0):
    arrivals = {"direction": [direction] * len(times), "handset": [0] * len(times),
                "t_arrival_s": times}
    return simulate(view, config, seed, arrivals=arrivals).events


def test_mt_retry_schedules_deterministic():
    view = one_handset_on_off()  # windows [0, 300), [900, 1200), ...
    fixed = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(mt_retry="fixed",
                                                               mt_retry_s=120.0))
    ev = run_explicit(view, fixed, [100.0, 400.0, 850.0])
    # covered: at once; 400 -> 520, 640, 760, 880 in the gap, 1000 in the window
    np.testing.assert_allclose(ev["latency_s"], [0.0, 600.0, 120.0])
    np.testing.assert_array_equal(ev["attempts"], [1, 6, 2])
    backoff = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(
        mt_retry="backoff", mt_retry_s=60.0, mt_backoff_factor=2.0, mt_retry_max_s=240.0))
    ev = run_explicit(view, backoff, [310.0])
    # attempts at 310, 370 (+60), 490 (+120), 730 (+240), 970 (+240, capped)
    assert ev["t_delivered_s"].iloc[0] == pytest.approx(970.0)
    assert ev["attempts"].iloc[0] == 5
    alert = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(mt_retry="alert",
                                                               ground_delay_s=1.0))
    ev = run_explicit(view, alert, [400.0])
    # reaches the beam at 401: absent; alerted when coverage returns (900), +1 s to the SC,
    # +1 s back to the beam
    assert ev["t_delivered_s"].iloc[0] == pytest.approx(902.0)
    assert ev["attempts"].iloc[0] == 2


def test_transfer_cut_by_coverage_end_is_retried():
    view = one_handset_on_off()
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(service_mean_s=10.0))
    ev = run_explicit(view, config, [295.0, 100.0], direction="MO")
    # 295: the transfer would end at 305, after coverage ends at 300: fails, retried at 900
    by_arrival = ev.set_index("t_arrival_s")
    assert by_arrival.loc[295.0, "t_delivered_s"] == pytest.approx(910.0)
    assert by_arrival.loc[295.0, "attempts"] == 2
    assert by_arrival.loc[100.0, "t_delivered_s"] == pytest.approx(110.0)


def test_random_access_and_uplink_limits():
    view = CoverageView.always_covered(10, 100.0)
    config = SchedulerConfig(beams=BeamConfig(rach_per_s=10.0, access_delay_s=0.0),
                             sms=sms_config(service_mean_s=0.0))
    arrivals = {"direction": ["MO"] * 10, "handset": list(range(10)), "t_arrival_s": [10.0] * 10}
    ev = simulate(view, config, 0, arrivals=arrivals).events
    # one RACH grant per 0.1 s slot
    np.testing.assert_allclose(np.sort(ev["t_delivered_s"]), 10.0 + 0.1 * np.arange(10))
    # two transfers at a time (12 of 25 RBs each), 1 s each: deliveries in pairs
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(service_mean_s=1.0,
                                                                rb_per_sms=12))
    res = simulate(view, config, 0, arrivals=arrivals)
    np.testing.assert_allclose(np.sort(res.events["t_delivered_s"]),
                               np.repeat(11.0 + np.arange(5), 2))
    tab = res.beams
    assert tab["ul_rb_s"].iloc[0] == pytest.approx(10 * 12 * 1.0)
    assert res.summary()["beams"]["ul_utilisation_max"] == pytest.approx(120.0 / (25 * 100.0))


def test_rate_service_time_uses_the_handsets_cqi():
    # CQI 15 (sinr 20 dB): (140 + 100) B over 1 RB at 666,564 bit/s = 2.88 ms
    view = CoverageView.always_covered(1, 100.0, sinr_db=20.0)
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=SmsConfig(
        mo_per_hour=0.0, mt_per_hour=0.0, service_time="rate", ground_delay_s=0.0))
    ev = run_explicit(view, config, [1.0], direction="MO")
    assert ev["latency_s"].iloc[0] == pytest.approx(240 * 8 / 666_564.0)


def test_random_failures_are_retried():
    """failure_prob p: attempts are geometric, mean 1 / (1 - p) = 2 for p = 0.5
    (variance p / (1 - p)^2 = 2); ~4,000 messages: SE 0.022, tolerance 4 SE.
    A lost MO attempt is noticed when TR1M expires, 40 s after it started (zero
    transfer time here), and resubmitted then; the SC retries every 60 s."""
    view = CoverageView.always_covered(20, 36_000.0)
    config = SchedulerConfig(beams=IDEAL_BEAMS, sms=sms_config(
        mo_per_hour=10.0, mt_per_hour=10.0, failure_prob=0.5, tr1m_s=40.0,
        mt_retry="fixed", mt_retry_s=60.0))
    ev = simulate(view, config, 4).events
    ev = ev[ev["t_arrival_s"] < 30_000.0]
    assert (ev["outcome"] == "delivered").all()
    att = ev["attempts"].to_numpy()
    assert abs(att.mean() - 2.0) < 4 * math.sqrt(2.0 / att.size)
    mo = (ev["direction"] == "MO").to_numpy()
    np.testing.assert_allclose(ev["latency_s"][mo], 40.0 * (att[mo] - 1))
    np.testing.assert_allclose(ev["latency_s"][~mo], 60.0 * (att[~mo] - 1))


# --------------------------------------------------------------------------- invariants
def default_like_config(**sms_kw):
    kw = dict(mo_per_hour=2.0, mt_per_hour=2.0, validity_s=1800.0)
    kw.update(sms_kw)
    return SchedulerConfig(sms=SmsConfig(**kw))


def test_conservation_with_expiry_and_in_flight():
    # 5 min on / 50 min off with a 30 min validity: many expire, some are in flight at the end
    view = CoverageView.periodic(40, 300.0, 3000.0, 6 * 3300.0 + 1000.0,
                                 phase_s=np.linspace(0, 3300.0, 40, endpoint=False))
    res = simulate(view, default_like_config(), seed=9)
    s = res.summary()
    for name, g in s["sms"].items():
        assert g["offered"] == g["delivered"] + g["expired"] + g["in_flight"], name
    for d in ("mo", "mt"):
        assert all(s["sms"][d][k] > 0 for k in ("delivered", "expired", "in_flight"))
    assert s["sms"]["all"]["offered"] == len(res.events)
    ev = res.events
    end = res.end_s
    expiry = ev["t_arrival_s"] + 1800.0
    assert (expiry[ev["outcome"] == "expired"] < end).all()
    # still in flight: not yet expired (up to an attempt already under way at expiry)
    assert (expiry[ev["outcome"] == "in_flight"] > end - 5.0).all()
    done = ev["outcome"] == "delivered"
    assert (ev["t_delivered_s"][done] < end).all() and ev["t_delivered_s"][~done].isna().all()
    assert (ev["latency_s"][done] >= 0).all()
    assert s["sms"]["all"]["delivery_ratio"] == pytest.approx(
        s["sms"]["all"]["delivered"] / s["sms"]["all"]["offered"])


def test_never_covered_handset_expires_everything():
    times = np.array([0.0, 20_000.0])
    view = CoverageView.from_arrays(times, np.zeros((2, 3), bool), np.full((2, 3), -1),
                                    np.full((2, 3), -1), np.full((2, 3), np.nan))
    res = simulate(view, default_like_config(mo_per_hour=5.0, mt_per_hour=5.0), seed=1)
    ev = res.events
    assert len(ev) > 100 and not ev["covered_at_arrival"].any()
    expected_expired = ev["t_arrival_s"] + 1800.0 < 20_000.0
    np.testing.assert_array_equal(ev["outcome"] == "expired", expected_expired)
    np.testing.assert_array_equal(ev["outcome"] == "in_flight", ~expected_expired)
    mo = ev["direction"] == "MO"
    assert (ev["attempts"][mo] == 0).all()  # the phone never found coverage to try
    # the SC tried once at arrival; the alert that the phone is back never came
    assert (ev["attempts"][~mo] == 1).all()
    # with fixed retries it tries at arrival and every 300 s until the validity ran out
    fixed = simulate(view, default_like_config(mo_per_hour=5.0, mt_per_hour=5.0,
                                               mt_retry="fixed"), seed=1).events
    mt = fixed["direction"] == "MT"
    assert (fixed["attempts"][mt & (fixed["t_arrival_s"] + 1800.0 < 20_000.0)] == 6).all()
    assert res.summary()["sms"]["all"]["delivered"] == 0
    assert res.summary()["sms"]["all"]["latency_s"]["p50"] is None


def test_same_seed_same_bytes_other_seed_differs():
    view = CoverageView.periodic(50, 300.0, 600.0, 7200.0,
                                 phase_s=np.linspace(0, 900.0, 50, endpoint=False), n_beams=3)
    config = default_like_config(failure_prob=0.1)
    dump = [json.dumps(simulate(view, config, seed).summary(), sort_keys=True)
            for seed in (21, 21, 22)]
    assert dump[0] == dump[1]
    assert dump[0] != dump[2]
    a, b = simulate(view, config, 21).events, simulate(view, config, 21).events
    assert a.equals(b)


def test_streams_keep_services_and_handsets_apart():
    view = CoverageView.always_covered(8, 7200.0)
    mo_only = simulate(view, default_like_config(mt_per_hour=0.0), 3).events
    both = simulate(view, default_like_config(mt_per_hour=5.0), 3).events
    fewer = simulate(CoverageView.always_covered(4, 7200.0),
                     default_like_config(mt_per_hour=0.0), 3).events
    mo_both = both[both["direction"] == "MO"]
    np.testing.assert_array_equal(mo_only["t_arrival_s"], mo_both["t_arrival_s"])
    keep = mo_only["handset"] < 4
    np.testing.assert_array_equal(mo_only["t_arrival_s"][keep], fewer["t_arrival_s"])


def test_daily_profile_follows_the_utc_hour():
    profile = [0.0] * 24
    profile[3] = 1.0
    epoch = datetime(2025, 10, 27, 6, 0, tzinfo=timezone.utc)
    view = CoverageView.always_covered(20, 2 * 86400.0, epoch=epoch)
    ev = simulate(view, default_like_config(daily_profile=tuple(profile)), 2).events
    hour = ((6 * 3600.0 + ev["t_arrival_s"]) // 3600.0) % 24
    assert len(ev) > 0 and (hour == 3).all()
    # the daily mean rate is kept: 20 handsets x 4 per hour x 48 h = 3,840 expected,
    # Poisson SE sqrt(3840) = 62
    assert abs(len(ev) - 3840) < 4 * 62


def test_summary_is_json_ready_and_complete():
    view = CoverageView.periodic(10, 300.0, 600.0, 3600.0)
    s = simulate(view, default_like_config(), 0).summary()
    json.dumps(s)
    groups = {"all", "mo", "mt", "covered_at_arrival", "arrived_in_gap",
              "mo_covered_at_arrival", "mo_arrived_in_gap", "mt_covered_at_arrival",
              "mt_arrived_in_gap"}
    assert set(s["sms"]) == groups
    assert set(s["sms"]["all"]["latency_s"]) == {"p50", "p90", "p99", "max", "mean"}
    for g in groups:
        assert set(s["sms"][g]["delivered_within"]) == {"60s", "300s", "3600s"}
    assert s["sms"]["mo"]["offered"] + s["sms"]["mt"]["offered"] == s["sms"]["all"]["offered"]
    assert set(s["beams"]) >= {"beams_used", "ul_utilisation_mean", "dl_utilisation_max"}


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, field", [
    (dict(mo_per_hour=-1.0), "mo_per_hour"),
    (dict(mt_per_hour=float("nan")), "mt_per_hour"),
    (dict(validity_s=0.0), "validity_s"),
    (dict(service_time="erlang"), "service_time"),
    (dict(service_time="exponential"), "service_mean_s"),
    (dict(service_time="fixed", service_mean_s=-1.0), "service_mean_s"),
    (dict(mt_retry="sometimes"), "mt_retry"),
    (dict(mt_backoff_factor=0.5), "mt_backoff_factor"),
    (dict(daily_profile=(1.0,) * 23), "daily_profile"),
    (dict(daily_profile=(0.0,) * 24), "daily_profile"),
    (dict(failure_prob=1.0), "failure_prob"),
    (dict(rb_per_sms=0), "rb_per_sms"),
    (dict(payload_bytes=1.5), "payload_bytes"),
])
def test_bad_sms_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        SmsConfig(**kwargs)


@pytest.mark.parametrize("kwargs, field", [
    (dict(rach_per_s=0.0), "rach_per_s"),
    (dict(paging_per_s=-5.0), "paging_per_s"),
    (dict(access_delay_s=-0.1), "access_delay_s"),
    (dict(paging_cycle_s=math.inf), "paging_cycle_s"),
    (dict(carrier="5 MHz"), "carrier"),
])
def test_bad_beam_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        BeamConfig(**kwargs)


def test_bad_scheduler_inputs():
    with pytest.raises(InputError, match="rb_per_sms"):
        SchedulerConfig(beams=BeamConfig(carrier=Carrier(reuse=3)), sms=SmsConfig(rb_per_sms=9))
    view = CoverageView.always_covered(2, 100.0)
    with pytest.raises(InputError, match="seed"):
        simulate(view, None, seed=-1)
    with pytest.raises(InputError, match="CoverageView"):
        simulate("view", None)
    with pytest.raises(InputError, match="direction"):
        simulate(view, None, arrivals={"direction": ["XX"], "handset": [0], "t_arrival_s": [1.0]})
    with pytest.raises(InputError, match="t_arrival_s"):
        simulate(view, None, arrivals={"direction": ["MO"], "handset": [0],
                                       "t_arrival_s": [100.0]})
    with pytest.raises(InputError, match="handset"):
        simulate(view, None, arrivals={"direction": ["MO"], "handset": [2], "t_arrival_s": [1.0]})
