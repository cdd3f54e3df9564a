"""Data sessions: processor sharing of the beam, gaps, aborts, handovers, sizes, invariants.

Deterministic cases use explicit sessions on synthetic views where the rate
is known exactly: at 10 dB SINR (CQI 9) one RB carries 2.4063 x 120,000 =
288,756 bit/s (TS 36.213 Table 7.2.3-1 efficiency, 120 data REs per RB pair,
see ``satsim.link.cqi``), so the default 25-RB beam carries C = 7,218,900
bit/s. Statistical tests use fixed seeds and 4-standard-error tolerances,
the standard error derived in each test (see ``test_scheduler_sms``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from satsim.errors import InputError
from satsim.link.cqi import cqi_from_sinr_db, rate_bps_per_rb
from satsim.scheduler import (
    CoverageView,
    DataConfig,
    ElasticShare,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.scheduler.sharing import DONE, MOVED, harmonic_number

NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)
RATE_CQI9_BPS = float(rate_bps_per_rb(9))
RATE_CQI15_BPS = float(rate_bps_per_rb(15))
#: The whole default beam at CQI 9, bit/s.
BEAM_BPS = 25 * RATE_CQI9_BPS


def data_only(voice=None, **data_kw) -> SchedulerConfig:
    return SchedulerConfig(sms=NO_SMS, voice=voice, data=DataConfig(**data_kw))


def run_sessions(view, config, rows, calls=None, seed=0):
    """Explicit sessions: rows of (handset, t_arrival_s, size_bytes)."""
    h, t, size = zip(*rows)
    sessions = {"handset": list(h), "t_arrival_s": list(t), "size_bytes": list(size)}
    return simulate(view, config, seed, sessions=sessions, calls=calls)


def test_rate_constants():
    assert RATE_CQI9_BPS == pytest.approx(288_756.0)
    assert BEAM_BPS == pytest.approx(7_218_900.0)


# --------------------------------------------------------------------------- one beam, exact
def test_one_session_alone_gets_the_whole_beam():
    view = CoverageView.always_covered(1, 100.0)
    res = run_sessions(view, data_only(), [(0, 5.0, 1e6)])
    s = res.sessions.iloc[0]
    t = 8e6 / BEAM_BPS  # 1.108 s
    assert s["outcome"] == "completed"
    assert s["t_end_s"] == pytest.approx(5.0 + t, abs=1e-9)
    assert s["active_s"] == pytest.approx(t) and s["paused_s"] == 0.0
    assert s["throughput_kbps"] == pytest.approx(BEAM_BPS / 1e3)
    assert s["throughput_incl_pauses_kbps"] == pytest.approx(BEAM_BPS / 1e3)
    assert s["delivered_bytes"] == 1e6
    b = res.beams.iloc[0]
    assert b["data_rb_s"] == pytest.approx(25 * t)
    assert b["data_bits"] == pytest.approx(8e6)
    summary = res.summary()["data"]
    assert summary["throughput_kbps"]["p50"] == pytest.approx(BEAM_BPS / 1e3)
    assert summary["completion_ratio"] == 1.0


def test_session_pauses_in_a_gap_and_resumes():
    """Windows [0, 10), [30, 40): 8 s of transfer from t = 5 take 5 s, a 20 s pause, 3 s."""
    view = CoverageView.periodic(1, 10.0, 20.0, 200.0)
    size = BEAM_BPS  # bytes: 8 s at the full beam rate
    res = run_sessions(view, data_only(), [(0, 5.0, size)])
    s = res.sessions.iloc[0]
    assert s["outcome"] == "completed" and s["t_end_s"] == pytest.approx(33.0)
    assert s["active_s"] == pytest.approx(8.0) and s["paused_s"] == pytest.approx(20.0)
    assert s["throughput_kbps"] == pytest.approx(BEAM_BPS / 1e3)
    assert s["throughput_incl_pauses_kbps"] == pytest.approx(8 * size / 28.0 / 1e3)


def test_session_aborts_after_the_gap_timeout():
    view = CoverageView.periodic(1, 10.0, 100.0, 400.0)  # windows [0, 10), [110, 120), ...
    size = BEAM_BPS  # 8 s of transfer
    # 5 s done by 10 s, then a 100 s gap > 60 s: aborted at 70 s
    res = run_sessions(view, data_only(), [(0, 5.0, size), (0, 45.0, 1000.0)])
    s = res.sessions.set_index("t_arrival_s")
    assert s.loc[5.0, "outcome"] == "aborted" and s.loc[5.0, "t_end_s"] == pytest.approx(70.0)
    assert s.loc[5.0, "delivered_bytes"] == pytest.approx(5.0 * BEAM_BPS / 8)
    assert math.isnan(s.loc[5.0, "throughput_kbps"])
    # arrived in the gap, 65 s before coverage returns: aborted 60 s after arrival
    assert s.loc[45.0, "outcome"] == "aborted" and s.loc[45.0, "t_end_s"] == pytest.approx(105.0)
    assert s.loc[45.0, "delivered_bytes"] == 0.0 and s.loc[45.0, "sat"] == -1
    # a gap of exactly the timeout is waited out; inf never gives up
    res = run_sessions(view, data_only(gap_timeout_s=100.0), [(0, 5.0, size)])
    assert res.sessions["t_end_s"].iloc[0] == pytest.approx(113.0)
    res = run_sessions(view, data_only(gap_timeout_s=math.inf), [(0, 5.0, size), (0, 395.0, size)])
    assert res.sessions["outcome"].tolist() == ["completed", "in_progress"]
    s = res.summary()["data"]
    assert (s["sessions"], s["completed"], s["aborted"], s["in_progress"]) == (2, 1, 0, 1)


def test_two_equal_sessions_share_round_robin():
    view = CoverageView.always_covered(2, 100.0)
    res = run_sessions(view, data_only(), [(0, 1.0, 1e6), (1, 1.0, 1e6)])
    s = res.sessions
    np.testing.assert_allclose(s["t_end_s"], 1.0 + 2 * 8e6 / BEAM_BPS)
    np.testing.assert_allclose(s["throughput_kbps"], BEAM_BPS / 2 / 1e3)


def test_processor_sharing_with_staggered_arrivals():
    """A needs 8 s alone, from 0; B needs 1 s alone, from 2. Sharing from 2: B gets half
    the beam and ends at 4; A has done 2 + 1 = 3 s of work and ends 5 s later, at 9."""
    view = CoverageView.always_covered(2, 100.0)
    res = run_sessions(view, data_only(), [(0, 0.0, BEAM_BPS), (1, 2.0, BEAM_BPS / 8)])
    np.testing.assert_allclose(res.sessions["t_end_s"], [9.0, 4.0])
    np.testing.assert_allclose(res.sessions["active_s"], [9.0, 2.0])


def test_round_robin_gives_rbs_not_bits():
    """Equal RB shares: a CQI 15 handset beside a CQI 9 one gets its own CQI's rate
    on half of the beam."""
    view = CoverageView.from_arrays([0.0, 100.0], np.ones((2, 2), bool), np.zeros((2, 2)),
                                    np.zeros((2, 2)), np.array([[10.0, 20.0], [10.0, 20.0]]))
    res = run_sessions(view, data_only(), [(0, 1.0, 1e6), (1, 1.0, 1e6)])
    tput = res.sessions["throughput_kbps"].to_numpy()
    # handset 1 finishes first at 12.5 RB x r15; handset 0 then has the beam
    t1 = 8e6 / (12.5 * RATE_CQI15_BPS)
    assert tput[1] == pytest.approx(8e6 / t1 / 1e3)
    left = 8e6 - 12.5 * RATE_CQI9_BPS * t1
    assert res.sessions["t_end_s"].iloc[0] == pytest.approx(1.0 + t1 + left / BEAM_BPS)


def test_proportional_fair_adds_the_multiuser_diversity_gain():
    view = CoverageView.always_covered(2, 100.0)
    res = run_sessions(view, data_only(sharing="proportional_fair"),
                       [(0, 1.0, 1e6), (1, 1.0, 1e6)])
    # two flows: half the RBs each, at H_2 = 1.5 times the CQI 9 rate
    assert harmonic_number(2) == 1.5
    np.testing.assert_allclose(res.sessions["t_end_s"], 1.0 + 8e6 / (12.5 * 1.5 * RATE_CQI9_BPS))
    alone = run_sessions(view, data_only(sharing="proportional_fair"), [(0, 1.0, 1e6)])
    assert alone.sessions["t_end_s"].iloc[0] == pytest.approx(1.0 + 8e6 / BEAM_BPS)


def test_voice_calls_take_rbs_from_data():
    """A 5-RB call from 0 to 2 s leaves 20 RBs; from 2 s the session has all 25."""
    view = CoverageView.always_covered(2, 100.0)
    cfg = data_only(voice=VoiceConfig(rbs_per_call=5.0))
    bits = 1.5 * 20 * RATE_CQI9_BPS + 1.0 * BEAM_BPS  # finishes at 3 s
    res = run_sessions(view, cfg, [(1, 0.5, bits / 8)],
                       calls={"handset": [0], "t_arrival_s": [0.0], "holding_s": [2.0]})
    assert res.sessions["t_end_s"].iloc[0] == pytest.approx(3.0)
    b = res.beams.iloc[0]
    assert b["voice_rb_s"] == pytest.approx(10.0)
    assert b["data_rb_s"] == pytest.approx(1.5 * 20 + 1.0 * 25)
    assert b["dl_utilisation_all"] == pytest.approx((10.0 + 55.0) / (25 * 100.0))


def runs_view(runs, n_handsets=1, end_s=1000.0):
    """A view from explicit runs: (handset, start, end, sat, beam, sinr_db)."""
    h, s, e, sat, beam, sinr = (np.array(x) for x in zip(*runs))
    return CoverageView(n_handsets, h, s, e, sat, beam, cqi_from_sinr_db(sinr), sinr,
                        start_s=0.0, end_s=end_s)


def test_cqi_change_and_handover():
    """Beam 0 at CQI 9 then CQI 15 (no handover), then beam 1 at CQI 9 after a 0.5 s
    handover interruption."""
    view = runs_view([(0, 0.0, 10.0, 0, 0, 10.0), (0, 10.0, 20.0, 0, 0, 20.0),
                      (0, 20.0, 100.0, 0, 1, 10.0)])
    bits = 5 * BEAM_BPS + 10 * 25 * RATE_CQI15_BPS + 2 * BEAM_BPS
    res = run_sessions(view, data_only(handover_interruption_s=0.5), [(0, 5.0, bits / 8)])
    s = res.sessions.iloc[0]
    assert s["t_end_s"] == pytest.approx(22.5)
    assert s["active_s"] == pytest.approx(17.0) and s["paused_s"] == 0.0
    assert s["handovers"] == 1 and s["interruption_s"] == pytest.approx(0.5)
    assert (s["sat"], s["beam"], s["last_sat"], s["last_beam"]) == (0, 0, 0, 1)
    assert res.beams.set_index("beam")["data_bits"].to_dict() == pytest.approx(
        {0: 5 * BEAM_BPS + 10 * 25 * RATE_CQI15_BPS, 1: 2 * BEAM_BPS})


def test_elastic_share_directly():
    env = simpy.Environment()
    share = ElasticShare(env, 10.0, "round_robin", horizon_s=100.0)
    got = {}

    def flow(key, t0, bits, leave_s):
        yield env.timeout(t0)
        got[key] = (yield share.join(key, bits, 1.0, leave_s)) + (env.now,)

    env.process(flow("a", 0.0, 30.0, 50.0))  # 10 bit/s alone
    env.process(flow("b", 1.0, 100.0, 5.0))  # leaves at 5 s with bits left
    env.run(until=100.0)
    # 0..1 a alone (10 done); 1..5 both at 5 bit/s (a: 20 more, b: 20); then a alone
    assert got["b"] == pytest.approx((MOVED, 80.0, 5.0))
    assert got["a"] == pytest.approx((DONE, 0.0, 5.0))
    assert share.bits_sent(100.0) == pytest.approx(50.0)
    assert share.busy_rb_s(100.0) == pytest.approx(50.0)
    assert share.peak_flows == 2
    with pytest.raises(ValueError, match="sharing"):
        ElasticShare(env, 1.0, "max_cqi")


# --------------------------------------------------------------------------- M/G/1-PS
@pytest.mark.parametrize("dist", ["lognormal", "choice"])
def test_poisson_sessions_on_one_beam_are_mg1_ps(dist):
    """Poisson sessions, one always-covered beam, round robin, all at CQI 9: egalitarian
    processor sharing, whose mean sojourn is E[T] = E[S] / (1 - rho) for any size law
    (Kleinrock, Queueing Systems vol. 2, §4.4). E[S] = 8 E[size] / C; rho = 0.5.

    Sizes: lognormal (median 100 kB, sigma 1, untruncated: E = 164.9 kB, CV^2
    1.72) and fixed at the same mean (M/D/1-PS): the same E[T], insensitivity.
    40,000 sessions; sojourns are correlated through the queue, so the SE is
    from 20 batch means of 2,000 sessions (~730 s each, thousands of M/G/1-PS
    relaxation times of order E[S] / (1 - sqrt(rho))^2 = 2 s). The first 2 %
    (empty start) are dropped, and sessions arriving in the last 200 s are
    left out (all the others complete; a cut on arrival does not bias the
    mean). SE is about 2 % of E[T]; we require |mean - E[T]| < 4 SE, SE < 4 %.
    """
    kw = dict(size_distribution="lognormal", size_median_bytes=1e5, size_sigma=1.0,
              size_min_bytes=0.0, size_max_bytes=math.inf)
    mean_size = DataConfig(**kw).mean_size_bytes
    assert mean_size == pytest.approx(1e5 * math.exp(0.5))
    if dist == "choice":
        kw = dict(size_distribution="choice", sizes_bytes=(mean_size,))
    es = 8 * mean_size / BEAM_BPS
    rho = 0.5
    lam = rho / es
    n, n_handsets = 40_000, 10
    duration = n / lam
    view = CoverageView.always_covered(n_handsets, duration)
    res = simulate(view, data_only(sessions_per_hour=lam * 3600 / n_handsets, **kw), seed=7)
    s = res.sessions
    s = s[s["t_arrival_s"] < duration - 200.0].iloc[len(s) // 50:]
    assert (s["outcome"] == "completed").all() and len(s) > 0.95 * n
    sojourn = (s["t_end_s"] - s["t_arrival_s"]).to_numpy()
    et = es / (1 - rho)
    means = np.array([b.mean() for b in np.array_split(sojourn, 20)])
    se = means.std(ddof=1) / math.sqrt(20)
    assert se < 0.04 * et
    assert abs(sojourn.mean() - et) < 4 * se
    # no pauses: active time is the sojourn
    np.testing.assert_allclose(s["active_s"], sojourn, rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- invariants
def random_view(n_handsets=30, duration_s=4 * 3600.0, step_s=10.0, seed=1):
    """Link-timeline-like samples: passes of 10 min every 15, beams changing every 2 min,
    one-step fades, CQIs from a random SINR."""
    rng = np.random.default_rng(seed)
    nt = int(duration_s / step_s) + 1
    times = np.arange(nt) * step_s
    tt = times[:, None] + rng.uniform(0, 900.0, n_handsets)[None, :]
    served = ((tt % 900.0) < 600.0) & (rng.random((nt, n_handsets)) > 0.02)
    beam = (tt // 120.0).astype(np.int64) % 4
    sat = (tt // 900.0).astype(np.int64) % 3
    sinr = np.where(served, np.maximum(rng.normal(6.0, 4.0, (nt, n_handsets)), -6.0), np.nan)
    return CoverageView.from_arrays(times, served, sat, beam, sinr)


@pytest.mark.parametrize("sharing", ["round_robin", "proportional_fair"])
def test_data_conservation_and_accounting(sharing):
    view = random_view()
    cfg = SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(calls_per_hour=4.0),
                          data=DataConfig(sessions_per_hour=20.0, size_median_bytes=2e5,
                                          gap_timeout_s=120.0, sharing=sharing))
    res = simulate(view, cfg, seed=3)
    d, s = res.summary()["data"], res.sessions
    assert d["sessions"] == len(s) > 1000
    assert d["sessions"] == d["completed"] + d["aborted"] + d["in_progress"]
    assert min(d["completed"], d["aborted"], d["in_progress"]) > 0
    assert d["completion_ratio"] == pytest.approx(d["completed"] / d["sessions"])
    done = (s["outcome"] == "completed").to_numpy()
    np.testing.assert_array_equal(s["delivered_bytes"][done], s["size_bytes"][done])
    assert (s["delivered_bytes"] <= s["size_bytes"] * (1 + 1e-12)).all()
    assert (s["delivered_bytes"] >= -1e-6).all()
    # every bit the beams carried belongs to some session, and the other way round
    assert res.beams["data_bits"].sum() == pytest.approx(8 * s["delivered_bytes"].sum(),
                                                         rel=1e-9)
    tput = s["throughput_kbps"][done].to_numpy()
    assert d["throughput_kbps"]["mean"] == pytest.approx(tput.mean())
    assert d["throughput_kbps"]["p50"] == pytest.approx(np.median(tput))
    assert (s["handovers"] > 0).any() and (s["paused_s"] > 0).any()
    assert (s["t_end_s"][~done & (s["outcome"] == "aborted")] < res.end_s).all()
    assert s["t_end_s"][s["outcome"] == "in_progress"].isna().all()
    # time accounting of completed sessions: active + paused + interruptions = sojourn
    # (an interruption that runs into a gap is counted twice, hence <=)
    total = (s["active_s"] + s["paused_s"] + s["interruption_s"])[done]
    sojourn = (s["t_end_s"] - s["t_arrival_s"])[done]
    assert (total >= sojourn - 1e-6).all()
    assert (s["active_s"][done] + s["paused_s"][done] <= sojourn + 1e-6).all()
    u = res.beams["dl_utilisation_all"]
    assert (u <= 1.0 + 1e-9).all() and (u > 0).all()


# --------------------------------------------------------------------------- sizes
def test_truncated_lognormal_sizes():
    d = DataConfig()
    x = d.draw_sizes(np.random.default_rng(1), 200_000)
    assert x.min() >= 100.0 and x.max() <= 2e6
    # mean against the analytic truncated mean (SE from the sample sd, ~56 B)
    assert abs(x.mean() - d.mean_size_bytes) < 4 * x.std() / math.sqrt(x.size)
    # median: binomial SE of the share below it, sqrt(0.25 / n)
    assert abs((x < d.size_median_bytes).mean() - 0.5) < 4 * math.sqrt(0.25 / x.size)
    fixed = DataConfig(size_sigma=0.0).draw_sizes(np.random.default_rng(1), 3)
    np.testing.assert_array_equal(fixed, d.size_median_bytes)


def test_truncated_pareto_sizes():
    d = DataConfig(size_distribution="pareto", size_pareto_alpha=2.5, size_min_bytes=1000.0,
                   size_max_bytes=1e5)
    x = d.draw_sizes(np.random.default_rng(2), 200_000)
    assert x.min() >= 1000.0 and x.max() <= 1e5
    tail = (1000.0 / 1e5) ** 2.5
    for q in (2000.0, 5000.0, 20000.0):  # P(X > q), binomial SE
        p = ((1000.0 / q) ** 2.5 - tail) / (1 - tail)
        assert abs((x > q).mean() - p) < 4 * math.sqrt(p * (1 - p) / x.size)
    assert abs(x.mean() - d.mean_size_bytes) < 4 * x.std() / math.sqrt(x.size)
    # alpha = 1, and the untruncated mean alpha L / (alpha - 1)
    one = DataConfig(size_distribution="pareto", size_pareto_alpha=1.0, size_min_bytes=10.0,
                     size_max_bytes=1000.0)
    assert one.mean_size_bytes == pytest.approx(10 * math.log(100) / 0.99)
    assert DataConfig(size_distribution="pareto", size_pareto_alpha=3.0, size_min_bytes=10.0,
                      size_max_bytes=math.inf).mean_size_bytes == pytest.approx(15.0)


def test_choice_sizes():
    d = DataConfig(size_distribution="choice", sizes_bytes=(2000, 150_000, 1e6),
                   size_weights=(0.8, 0.15, 0.05))
    x = d.draw_sizes(np.random.default_rng(3), 100_000)
    assert set(np.unique(x)) == {2000.0, 150_000.0, 1e6}
    assert abs((x == 2000.0).mean() - 0.8) < 4 * math.sqrt(0.16 / x.size)
    assert d.mean_size_bytes == pytest.approx(0.8 * 2000 + 0.15 * 150_000 + 0.05 * 1e6)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, field", [
    (dict(sessions_per_hour=-1.0), "sessions_per_hour"),
    (dict(size_distribution="weibull"), "size_distribution"),
    (dict(size_median_bytes=0.0), "size_median_bytes"),
    (dict(size_sigma=-1.0), "size_sigma"),
    (dict(size_min_bytes=-1.0), "size_min_bytes"),
    (dict(size_max_bytes=50.0), "size_max_bytes"),
    (dict(size_sigma=0.0, size_median_bytes=5e6), "size_median_bytes"),
    (dict(size_distribution="pareto", size_min_bytes=0.0), "size_min_bytes"),
    (dict(size_distribution="pareto", size_pareto_alpha=0.0), "size_pareto_alpha"),
    (dict(size_distribution="pareto", size_pareto_alpha=1.0, size_max_bytes=math.inf),
     "size_pareto_alpha"),
    (dict(size_distribution="choice"), "sizes_bytes"),
    (dict(size_distribution="choice", sizes_bytes=(100.0, -1.0)), "sizes_bytes"),
    (dict(size_distribution="choice", sizes_bytes=(100.0, 200.0), size_weights=(1.0,)),
     "size_weights"),
    (dict(sharing="max_cqi"), "sharing"),
    (dict(gap_timeout_s=-1.0), "gap_timeout_s"),
    (dict(handover_interruption_s=math.nan), "handover_interruption_s"),
    (dict(daily_profile=(0.0,) * 24), "daily_profile"),
])
def test_bad_data_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        DataConfig(**kwargs)


def test_bad_data_inputs():
    view = CoverageView.always_covered(2, 100.0)
    with pytest.raises(InputError, match="config.data"):
        simulate(view, None, sessions={"handset": [0], "t_arrival_s": [1.0], "size_bytes": [1.0]})
    with pytest.raises(InputError, match="data"):
        SchedulerConfig(data="lots")
    cfg = data_only()
    with pytest.raises(InputError, match="size_bytes"):
        simulate(view, cfg, sessions={"handset": [0], "t_arrival_s": [1.0],
                                      "size_bytes": [math.inf]})
    with pytest.raises(InputError, match="sessions must have columns"):
        simulate(view, cfg, sessions={"t_arrival_s": [1.0]})
