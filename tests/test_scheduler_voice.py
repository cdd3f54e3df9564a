"""Voice calls: Erlang B, fades against T310, handovers, RBs per call, invariants.

Statistical tests use fixed seeds (deterministic) and tolerances of 4
standard errors estimated from the run itself, as in ``test_scheduler_sms``:
a correct model would fail such a check with probability below 1e-4 for a
fresh seed, and each test also bounds the standard error so it cannot pass by
being vague.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.cqi import CQI_MIN_SINR_DB, cqi_from_sinr_db, rate_bps_per_rb
from satsim.link.config import Carrier
from satsim.scheduler import (
    BeamConfig,
    CoverageView,
    DataConfig,
    GbrPool,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.streams import STREAMS

NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)
#: Rate of one RB at CQI 9 (the 10 dB SINR of the synthetic views), bit/s.
RATE_CQI9_BPS = float(rate_bps_per_rb(9))


def voice_only(**voice_kw) -> SchedulerConfig:
    return SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(**voice_kw))


def run_calls(view, config, rows, seed=0):
    """Explicit calls: rows of (handset, t_arrival_s, holding_s)."""
    h, t, hold = zip(*rows)
    calls = {"handset": list(h), "t_arrival_s": list(t), "holding_s": list(hold)}
    return simulate(view, config, seed, calls=calls)


def erlang_b(channels: int, load_erl: float) -> float:
    """Erlang B by the stable recursion B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1))."""
    b = 1.0
    for k in range(1, channels + 1):
        b = load_erl * b / (k + load_erl * b)
    return b


def batch_means_se(x: np.ndarray, n_batches: int = 20) -> float:
    """Standard error of the mean of a correlated sequence, by batch means."""
    means = np.array([b.mean() for b in np.array_split(x, n_batches)])
    return float(means.std(ddof=1) / math.sqrt(n_batches))


# --------------------------------------------------------------------------- Erlang B
N_CALLS = 100_000
MEAN_HOLDING_S = 100.0


@functools.lru_cache(maxsize=None)
def erlang_run(channels: int, load_erl: float, holding: str, seed: int = 3) -> np.ndarray:
    """Always-covered single beam with ``channels`` call slots, Poisson attempts.

    The capacity is set once by a call cap (C = 10: ``max_calls_per_beam``,
    1 RB per call) and once by RBs (C = 5: 5 of the beam's 25 RBs per call).
    Returns whether each attempt was blocked (cached: two tests share runs).
    """
    if channels == 10:
        limit = dict(max_calls_per_beam=10, rbs_per_call=1.0)
    else:
        limit = dict(rbs_per_call=25.0 / channels)
    lam = load_erl / MEAN_HOLDING_S
    n_handsets = 8  # superposed Poisson streams: Poisson of rate lambda
    view = CoverageView.always_covered(n_handsets, N_CALLS / lam)
    config = voice_only(calls_per_hour=lam * 3600.0 / n_handsets, mean_holding_s=MEAN_HOLDING_S,
                        holding=holding, **limit)
    res = simulate(view, config, seed)
    assert res.beams["voice_peak_calls"].iloc[0] == channels
    blocked = (res.calls["outcome"] == "blocked").to_numpy()
    assert (res.calls["reason"][blocked] == "beam_full").all()
    blocked.setflags(write=False)
    return blocked


@pytest.mark.parametrize("channels, load_erl", [(10, 8.0), (5, 3.0)])
def test_blocking_matches_erlang_b(channels, load_erl):
    """M/M/C/C: the blocked share of Poisson attempts is Erlang B(C, A).

    B(10, 8) = 0.1217 and B(5, 3) = 0.1101. Whether successive attempts are
    blocked is correlated through the number of calls up, so the binomial
    standard error sqrt(B (1 - B) / n) would be too small (by about 1.4 here).
    Batch means instead (Law and Kelton, Simulation Modeling and Analysis,
    §9.5.3): 20 batches of 5,000 attempts, each spanning 62,500 s (C = 10) or
    167,000 s (C = 5), i.e. over 600 mean holding times, far longer than the
    correlation time of the M/M/C/C state (about one holding time), so the
    batch means are nearly independent. SE is about 1.2 % of B; we require
    |mean - B| < 4 SE and SE < 3 % of B.
    """
    blocked = erlang_run(channels, load_erl, "exponential")
    b = erlang_b(channels, load_erl)
    se = batch_means_se(blocked)
    assert se < 0.03 * b
    assert abs(blocked.mean() - b) < 4 * se


def test_erlang_b_recursion():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    # B(C, A) = (A^C / C!) / sum_k A^k / k!
    a, c = 8.0, 10
    direct = (a ** c / math.factorial(c)) / sum(a ** k / math.factorial(k) for k in range(c + 1))
    assert erlang_b(c, a) == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("channels, load_erl", [(10, 8.0), (5, 3.0)])
def test_erlang_b_is_insensitive_to_the_holding_distribution(channels, load_erl):
    """Erlang's loss formula depends on the holding times only through their mean
    (Sevastyanov 1957): fixed holding times block as exponential ones do. Same
    seed, so the attempt times are the same in both runs (positively
    correlated estimates: comparing them with the independent-runs SE is
    conservative)."""
    fixed = erlang_run(channels, load_erl, "fixed")
    expo = erlang_run(channels, load_erl, "exponential")
    b = erlang_b(channels, load_erl)
    se_f, se_e = batch_means_se(fixed), batch_means_se(expo)
    assert abs(fixed.mean() - b) < 4 * se_f
    assert abs(fixed.mean() - expo.mean()) < 4 * math.hypot(se_f, se_e)


# --------------------------------------------------------------------------- fades and drops
def test_fades_shorter_than_t310_are_survived():
    """55 s windows with 0.5 s gaps, T310 = 1 s: a 200 s call rides through 3-4 fades."""
    view = CoverageView.periodic(1, 55.0, 0.5, 1000.0)
    res = run_calls(view, voice_only(), [(0, 10.0, 200.0), (0, 300.0, 100.0)])
    c = res.calls
    assert (c["outcome"] == "completed").all()
    np.testing.assert_allclose(c["t_end_s"], [210.0, 400.0])
    # fades at 55, 110.5, 166 (call 1); 332.5, 388 (call 2)
    np.testing.assert_array_equal(c["outages"], [3, 2])
    np.testing.assert_allclose(c["outage_s"], [1.5, 1.0])
    assert (c["handovers"] == 0).all()


def test_fades_longer_than_t310_drop_the_call_without_reestablishment():
    """T311 = 0: every radio-link failure (an outage longer than T310) drops the call."""
    no_t311 = functools.partial(voice_only, t311_s=0.0)
    view = CoverageView.periodic(1, 55.0, 2.0, 1000.0)  # windows [0, 55), [57, 112), ...
    res = run_calls(view, no_t311(), [(0, 10.0, 200.0), (0, 54.5, 100.0), (0, 57.0, 54.5)])
    c = res.calls
    # dropped one T310 after the coverage ended: 55 + 1 s
    assert c["outcome"].iloc[0] == "dropped" and c["reason"].iloc[0] == "outage"
    assert c["t_end_s"].iloc[0] == pytest.approx(56.0)
    assert c["outcome"].iloc[1] == "dropped"  # admitted half a second before the fade
    # a call within one window is untouched
    assert c["outcome"].iloc[2] == "completed" and c["t_end_s"].iloc[2] == pytest.approx(111.5)
    # an outage of exactly T310 is survived; T310 = 0 drops at the first break
    res = run_calls(CoverageView.periodic(1, 55.0, 1.0, 1000.0), no_t311(),
                    [(0, 10.0, 100.0)])
    assert res.calls["outcome"].iloc[0] == "completed"
    res = run_calls(CoverageView.periodic(1, 55.0, 0.5, 1000.0), no_t311(t310_s=0.0),
                    [(0, 10.0, 100.0)])
    assert res.calls["t_end_s"].iloc[0] == pytest.approx(55.0)
    assert res.calls["reason"].iloc[0] == "outage"
    # the user hangs up during the fade, before T310 runs out (55.5 < 56): completed
    res = run_calls(view, no_t311(), [(0, 54.0, 1.5)])
    assert res.calls["outcome"].iloc[0] == "completed"
    assert res.calls["t_end_s"].iloc[0] == pytest.approx(55.5)


def test_block_and_drop_ratios_on_off_match_analytics():
    """5 min on / 10 min off, random phases, exponential holding of mean m = 120 s,
    T310 = 1 s, T311 = 10 s, no capacity limit (calls are independent: binomial
    SEs are exact).

    An attempt is blocked iff it falls in a gap: P = T_off / (T_on + T_off) = 2/3
    (Poisson arrivals see time averages). An admitted call starts at a uniform
    point of its window, so the coverage left R is U(0, T_on); the 600 s gap is
    longer than T310 + T311, so the call is dropped, at R + T310 + T311 after
    its attempt, iff its holding time exceeds that:
    P = E[exp(-(R + T) / m)] = exp(-T / m) (m / T_on) (1 - exp(-T_on / m)) with
    T = T310 + T311, = 0.3350. Attempts in the last 400 s are left out (a call
    can last at most T_on + T = 311 s after its attempt before it completes or
    drops). ~60,000 attempts, ~20,000 admitted: SE 0.0019 (blocking), 0.0034
    (drops).
    """
    on, off, m, t310, t311 = 300.0, 600.0, 120.0, 1.0, 10.0
    n_handsets, duration = 60, 100 * (on + off)
    view = CoverageView.periodic(n_handsets, on, off, duration,
                                 phase_s=np.random.default_rng(1).uniform(0, on + off, n_handsets))
    res = simulate(view, voice_only(calls_per_hour=40.0, mean_holding_s=m, t310_s=t310,
                                    t311_s=t311), seed=9)
    c = res.calls[res.calls["t_arrival_s"] < duration - 400.0]
    assert (c["outcome"] != "in_progress").all()
    blocked = (c["outcome"] == "blocked").to_numpy()
    p_block = off / (on + off)
    assert abs(blocked.mean() - p_block) < 4 * math.sqrt(p_block * (1 - p_block) / blocked.size)
    dropped = (c["outcome"][~blocked] == "dropped").to_numpy()
    p_drop = math.exp(-(t310 + t311) / m) * (m / on) * (1 - math.exp(-on / m))
    assert p_drop == pytest.approx(0.3350, abs=1e-4)
    assert dropped.size > 15_000
    assert abs(dropped.mean() - p_drop) < 4 * math.sqrt(p_drop * (1 - p_drop) / dropped.size)
    assert (c["reestablishments"] == 0).all()  # no gap is short enough
    # every drop is T310 + T311 after the end of a window
    ends = c["t_end_s"][c["outcome"] == "dropped"].to_numpy() - t310 - t311
    h = c["handset"][c["outcome"] == "dropped"].to_numpy()
    assert (view.run_index(h, ends - 1e-6) >= 0).all() and (view.run_index(h, ends) < 0).all()


def runs_view(runs, n_handsets=1, end_s=1000.0):
    """A view from explicit runs: (handset, start, end, sat, beam, sinr_db)."""
    h, s, e, sat, beam, sinr = (np.array(x) for x in zip(*runs))
    return CoverageView(n_handsets, h, s, e, sat, beam, cqi_from_sinr_db(sinr), sinr,
                        start_s=0.0, end_s=end_s)


def test_low_sinr_is_an_outage_for_voice():
    """A stretch served below the voice threshold counts as a fade (T310 applies)."""
    short = runs_view([(0, 0.0, 100.0, 0, 0, 10.0), (0, 100.0, 100.5, 0, 0, -5.0),
                       (0, 100.5, 500.0, 0, 0, 10.0)])
    long_ = runs_view([(0, 0.0, 100.0, 0, 0, 10.0), (0, 100.0, 103.0, 0, 0, -5.0),
                       (0, 103.0, 500.0, 0, 0, 10.0)])
    cfg = voice_only(min_sinr_db=0.0)
    res = run_calls(short, cfg, [(0, 50.0, 100.0), (0, 100.2, 10.0)])
    assert res.calls["outcome"].tolist() == ["completed", "blocked"]
    assert res.calls["reason"].iloc[1] == "low_sinr"
    assert res.calls["outage_s"].iloc[0] == pytest.approx(0.5)
    res = run_calls(long_, voice_only(min_sinr_db=0.0, t311_s=0.0), [(0, 50.0, 100.0)])
    assert res.calls["outcome"].iloc[0] == "dropped"
    assert res.calls["t_end_s"].iloc[0] == pytest.approx(101.0)
    # with T311 = 10 s the link usable again at 103 s re-establishes the call
    res = run_calls(long_, cfg, [(0, 50.0, 100.0)])
    assert res.calls["outcome"].iloc[0] == "completed"
    assert res.calls["reestablishments"].iloc[0] == 1
    # with the default threshold (CQI 1, -6.934 dB) -5 dB carries voice: no fade at all
    res = run_calls(long_, voice_only(), [(0, 50.0, 100.0)])
    assert res.calls["outcome"].iloc[0] == "completed" and res.calls["outages"].iloc[0] == 0


# --------------------------------------------------------------------------- handovers
def alternating_beams(n_handsets=1, period_s=100.0, end_s=1000.0, sinr_db=10.0):
    """Handset 0 on beam 0 / 1 / 0 / ... switching every ``period_s`` without a break;
    other handsets always on beam 1."""
    runs = []
    for k in range(int(end_s / period_s)):
        runs.append((0, k * period_s, (k + 1) * period_s, 0, k % 2, sinr_db))
    for h in range(1, n_handsets):
        runs.append((h, 0.0, end_s, 0, 1, sinr_db))
    return runs_view(runs, n_handsets, end_s)


def test_handovers_move_the_call_and_count_interruptions():
    view = alternating_beams()
    res = run_calls(view, voice_only(handover_interruption_s=0.08), [(0, 50.0, 220.0)])
    c = res.calls.iloc[0]
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(270.0)
    assert c["handovers"] == 2 and c["interruption_s"] == pytest.approx(0.16)
    assert (c["beam"], c["last_beam"]) == (0, 0)
    b = res.beams.set_index("beam")
    assert b.loc[0, "voice_calls"] == 2 and b.loc[1, "voice_calls"] == 1
    # RBs follow the call: beam 0 holds it 50..100 and 200..270, beam 1 100..200
    rbs = c["rbs"]
    assert rbs == pytest.approx(VoiceConfig().bearer_rate_bps / RATE_CQI9_BPS)
    assert b.loc[0, "voice_rb_s"] == pytest.approx(120.0 * rbs)
    assert b.loc[1, "voice_rb_s"] == pytest.approx(100.0 * rbs)


def test_handover_into_a_full_beam_drops_the_call():
    view = alternating_beams(n_handsets=2)
    cfg = voice_only(max_calls_per_beam=1)
    # handset 1 holds beam 1's only slot from 20 s to 400 s
    res = run_calls(view, cfg, [(1, 20.0, 380.0), (0, 50.0, 220.0)])
    c = res.calls.set_index("handset")
    assert c.loc[0, "outcome"] == "dropped" and c.loc[0, "reason"] == "handover_blocked"
    assert c.loc[0, "t_end_s"] == pytest.approx(100.0)
    assert c.loc[0, "last_beam"] == 1 and c.loc[0, "handovers"] == 0
    assert c.loc[1, "outcome"] == "completed"
    assert res.beams.set_index("beam").loc[1, "voice_refused"] == 1


def test_blocking_reasons_and_rbs_per_call():
    view = runs_view([(0, 0.0, 100.0, 0, 0, -5.0), (0, 100.0, 200.0, 0, 0, 10.0),
                      (1, 0.0, 500.0, 0, 0, 10.0)], n_handsets=2, end_s=500.0)
    cfg = voice_only(min_sinr_db=0.0, rbs_per_call=10.0)
    res = run_calls(view, cfg, [(0, 50.0, 10.0), (0, 300.0, 10.0), (1, 10.0, 600.0),
                                (1, 11.0, 600.0), (0, 150.0, 10.0)])
    c = res.calls
    got = dict(zip(c["t_arrival_s"], zip(c["outcome"], c["reason"])))
    assert got[50.0] == ("blocked", "low_sinr")
    assert got[300.0] == ("blocked", "no_coverage")
    assert got[10.0] == ("in_progress", "") and got[11.0] == ("in_progress", "")
    assert got[150.0] == ("blocked", "beam_full")  # 10 + 10 of 25 RBs held
    assert c["t_end_s"][c["outcome"] == "in_progress"].isna().all()
    assert (c["sat"][c["reason"] == "no_coverage"] == -1).all()


def test_threshold_from_the_codec_rate():
    amr = VoiceConfig()
    assert amr.bearer_rate_bps == pytest.approx(12650.0 + 8 * 10 / 0.02)
    assert amr.min_cqi == 1 and amr.threshold_sinr_db == pytest.approx(CQI_MIN_SINR_DB[1])
    # EVS 13.2 kbit/s in at most half an RB: 17.2 kbit/s needs 34.4 kbit/s per RB, CQI 3
    evs = VoiceConfig(codec_rate_bps=13200.0, max_rbs_per_call=0.5)
    assert float(rate_bps_per_rb(2)) * 0.5 < evs.bearer_rate_bps <= float(rate_bps_per_rb(3)) * 0.5
    assert evs.min_cqi == 3 and evs.threshold_sinr_db == pytest.approx(CQI_MIN_SINR_DB[3])
    assert VoiceConfig(min_sinr_db=2.0).threshold_sinr_db == 2.0
    assert VoiceConfig(min_sinr_db=-20.0).threshold_sinr_db == pytest.approx(CQI_MIN_SINR_DB[1])
    # a 25-RB beam at CQI 9 holds floor(25 / (16,650 / 288,756)) = 433 AMR-WB calls
    view = CoverageView.always_covered(1, 100.0)
    res = run_calls(view, voice_only(), [(0, 1.0, 50.0)] * 440)
    assert (res.calls["outcome"] == "completed").sum() == 433
    assert res.beams["voice_utilisation"].iloc[0] == pytest.approx(
        433 * 50.0 * amr.bearer_rate_bps / RATE_CQI9_BPS / (25 * 100.0))


def test_gbr_pool_reserve_now_or_fail():
    pool = GbrPool(4, max_holds=3, horizon_s=10.0)
    assert pool.reserve_now(0.0, 2.5)
    assert not pool.reserve_now(1.0, 2.0)  # 4.5 > 4 RBs
    assert pool.reserve_now(1.0, 1.5)  # exactly full
    assert pool.free_rb == 0.0
    pool.release(2.0, 2.5)
    assert pool.reserve_now(2.0, 0.5) and pool.reserve_now(2.0, 0.5)
    assert not pool.reserve_now(3.0, 0.1)  # the call cap, not the RBs
    assert (pool.admitted, pool.refused, pool.peak_holds) == (4, 2, 3)
    # RB-seconds: 2.5 x (0..2) + 1.5 x (1..10) + 2 x 0.5 x (2..10), counted to the horizon
    assert pool.busy_rb_s(50.0) == pytest.approx(5.0 + 13.5 + 8.0)
    for _ in range(3):
        pool.release(9.0, 0.5 if pool.holds > 1 else 1.5)
    assert pool.held_rb == 0.0 and pool.holds == 0
    with pytest.raises(RuntimeError, match="env.now"):
        pool.reserve_now(1.0, 1.0)


# --------------------------------------------------------------------------- invariants
def random_view(n_handsets=30, duration_s=4 * 3600.0, step_s=10.0, seed=0):
    """Random link-timeline-like samples: coverage gaps, several satellites and beams,
    CQIs changing: handovers, fades and drops all happen."""
    rng = np.random.default_rng(seed)
    nt = int(duration_s / step_s) + 1
    times = np.arange(nt) * step_s
    # each handset: served in passes of ~10 min every ~15 min, beams changing every ~2 min
    phase = rng.uniform(0, 900.0, n_handsets)
    served = ((times[:, None] + phase[None, :]) % 900.0) < 600.0
    served &= rng.random((nt, n_handsets)) > 0.02  # short fades of one step
    beam = ((times[:, None] + phase[None, :]) // 120.0).astype(np.int64) % 4
    sat = ((times[:, None] + phase[None, :]) // 900.0).astype(np.int64) % 3
    sinr = rng.normal(6.0, 4.0, (nt, n_handsets))
    sinr = np.where(served, np.maximum(sinr, -6.0), np.nan)
    return CoverageView.from_arrays(times, served, sat, beam, sinr)


def test_voice_conservation_and_accounting():
    view = random_view()
    cfg = SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(calls_per_hour=6.0, min_sinr_db=-2.0,
                                                        t310_s=15.0, max_calls_per_beam=3))
    # a seed where every outcome occurs (calls still in progress at the end are few
    # here: ~1-3), so each branch of the accounting is exercised
    res = simulate(view, cfg, seed=7)
    s, c = res.summary()["voice"], res.calls
    assert s["offered"] == len(c) > 500
    assert s["offered"] == s["blocked"] + s["dropped"] + s["completed"] + s["in_progress"]
    for k in ("blocked", "dropped", "completed", "in_progress"):
        assert s[k] > 0, k
    assert s["block_ratio"] == pytest.approx(s["blocked"] / s["offered"])
    assert s["drop_ratio"] == pytest.approx(s["dropped"] / (s["offered"] - s["blocked"]))
    reasons = set(c["reason"][c["outcome"] == "dropped"])
    assert reasons == {"outage", "handover_blocked"}
    assert set(c["reason"][c["outcome"] == "blocked"]) == {"no_coverage", "low_sinr",
                                                           "beam_full"}
    assert (c["handovers"] > 0).any() and (c["outages"] > 0).any()
    done = c["outcome"] == "completed"
    np.testing.assert_allclose(c["duration_s"][done], c["holding_s"][done])
    dropped = c["outcome"] == "dropped"
    assert (c["duration_s"][dropped] < c["holding_s"][dropped]).all()
    assert c["t_end_s"][c["outcome"] == "in_progress"].isna().all()
    assert (c["t_end_s"].dropna() < res.end_s).all()
    assert (res.beams["voice_peak_calls"] <= 3).all()


def test_voice_rb_seconds_add_up():
    """Without handovers every admitted call holds its RBs from admission to its end
    (or the end of the run): the beams' RB-seconds are the sum over calls."""
    view = CoverageView.periodic(20, 600.0, 300.0, 5 * 3600.0,
                                 phase_s=np.linspace(0, 900.0, 20, endpoint=False), n_beams=2)
    res = simulate(view, voice_only(calls_per_hour=4.0, t310_s=0.0), seed=2)
    c = res.calls
    up = c["outcome"] != "blocked"
    held = (c["t_end_s"].fillna(res.end_s) - c["t_arrival_s"])[up] * c["rbs"][up]
    assert res.beams["voice_rb_s"].sum() == pytest.approx(held.sum(), rel=1e-9)
    assert (c["handovers"] == 0).all()


def mixed_config():
    return SchedulerConfig(sms=SmsConfig(mo_per_hour=2.0, mt_per_hour=2.0),
                           voice=VoiceConfig(calls_per_hour=3.0),
                           data=DataConfig(sessions_per_hour=6.0))


def test_same_seed_same_bytes_other_seed_differs():
    view = random_view(n_handsets=20, duration_s=3600.0)
    dump = [json.dumps(simulate(view, mixed_config(), seed).summary(), sort_keys=True)
            for seed in (5, 5, 6)]
    assert dump[0] == dump[1]
    assert dump[0] != dump[2]
    a, b = simulate(view, mixed_config(), 5), simulate(view, mixed_config(), 5)
    assert a.calls.equals(b.calls) and a.sessions.equals(b.sessions) and a.beams.equals(b.beams)
    other = simulate(view, mixed_config(), 6)
    assert not np.array_equal(a.calls["t_arrival_s"], other.calls["t_arrival_s"])
    assert not np.array_equal(a.sessions["size_bytes"], other.sessions["size_bytes"])


def test_sms_unchanged_when_voice_and_data_are_added():
    view = random_view(n_handsets=20, duration_s=3600.0)
    sms_only = simulate(view, SchedulerConfig(sms=SmsConfig(mo_per_hour=2.0, mt_per_hour=2.0)),
                        seed=8)
    mixed = simulate(view, mixed_config(), seed=8)
    assert len(mixed.calls) > 0 and len(mixed.sessions) > 0
    assert sms_only.events.equals(mixed.events)
    assert sms_only.summary()["sms"] == mixed.summary()["sms"]
    assert sms_only.summary()["voice"] is None and sms_only.summary()["data"] is None
    # and voice draws do not depend on data being on
    voice_only_run = simulate(view, SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(
        calls_per_hour=3.0)), seed=8)
    np.testing.assert_array_equal(voice_only_run.calls["t_arrival_s"],
                                  mixed.calls["t_arrival_s"])
    np.testing.assert_array_equal(voice_only_run.calls["holding_s"], mixed.calls["holding_s"])


def test_voice_and_data_follow_the_daily_profile():
    from datetime import datetime, timezone

    profile = [0.0] * 24
    profile[3] = 1.0
    epoch = datetime(2025, 10, 27, 6, 0, tzinfo=timezone.utc)
    view = CoverageView.always_covered(10, 86400.0, epoch=epoch)
    cfg = SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(calls_per_hour=1.0,
                                                        daily_profile=tuple(profile)),
                          data=DataConfig(sessions_per_hour=1.0, daily_profile=tuple(profile)))
    res = simulate(view, cfg, 2)
    for t in (res.calls["t_arrival_s"], res.sessions["t_arrival_s"]):
        hour = ((6 * 3600.0 + t) // 3600.0) % 24
        assert len(t) > 0 and (hour == 3).all()


def test_new_streams_are_registered():
    for name in ("voice/attempts", "voice/holding", "data/sessions", "data/sizes"):
        assert name in STREAMS


def test_summary_keys():
    view = CoverageView.periodic(5, 300.0, 600.0, 3600.0)
    s = simulate(view, mixed_config(), 0).summary()
    json.dumps(s)
    assert set(s["voice"]) == {"offered", "blocked", "dropped", "completed", "in_progress",
                               "block_ratio", "drop_ratio", "reestablishments",
                               "calls_reestablished", "by_reason"}
    assert set(s["voice"]["by_reason"]) == {"no_coverage", "low_sinr", "beam_full", "outage",
                                            "handover_blocked", "reestablishment_blocked",
                                            "low_uplink", "uplink_outage"}
    v = s["voice"]
    assert sum(v["by_reason"].values()) == v["blocked"] + v["dropped"]
    assert set(s["data"]) == {"sessions", "completed", "aborted", "in_progress",
                              "completion_ratio", "throughput_kbps", "throughput_incl_pauses_kbps",
                              "downloads", "uploads"}  # by direction: tests/test_data_uploads.py
    assert set(s["data"]["throughput_kbps"]) == {"p50", "mean"}
    assert {"voice_utilisation_mean", "data_utilisation_max",
            "dl_utilisation_all_mean"} <= set(s["beams"])


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, field", [
    (dict(calls_per_hour=-1.0), "calls_per_hour"),
    (dict(mean_holding_s=0.0), "mean_holding_s"),
    (dict(holding="lognormal"), "holding"),
    (dict(codec_rate_bps=float("nan")), "codec_rate_bps"),
    (dict(frame_s=0.0), "frame_s"),
    (dict(overhead_bytes_per_frame=-1), "overhead_bytes_per_frame"),
    (dict(rbs_per_call=0.0), "rbs_per_call"),
    (dict(rbs_per_call=0.01), "rbs_per_call"),  # cannot carry the bearer even at CQI 15
    (dict(max_rbs_per_call=0.001), "max_rbs_per_call"),
    (dict(min_sinr_db=float("inf")), "min_sinr_db"),
    (dict(handover_interruption_s=-0.1), "handover_interruption_s"),
    (dict(t310_s=math.inf), "t310_s"),
    (dict(max_calls_per_beam=0), "max_calls_per_beam"),
    (dict(daily_profile=(1.0,) * 5), "daily_profile"),
])
def test_bad_voice_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        VoiceConfig(**kwargs)


def test_bad_voice_inputs():
    with pytest.raises(InputError, match="rbs_per_call"):
        SchedulerConfig(beams=BeamConfig(carrier=Carrier(reuse=3)),
                        voice=VoiceConfig(rbs_per_call=9.0))
    # a mapping is read as the settings it names, with the same checks
    assert SchedulerConfig(voice={"calls_per_hour": 1.0}).voice == VoiceConfig(calls_per_hour=1.0)
    with pytest.raises(InputError, match="voice.calls_per_hour"):
        SchedulerConfig(voice={"calls_per_hour": -1.0})
    view = CoverageView.always_covered(2, 100.0)
    with pytest.raises(InputError, match="config.voice"):
        simulate(view, None, calls={"handset": [0], "t_arrival_s": [1.0], "holding_s": [1.0]})
    cfg = voice_only()
    with pytest.raises(InputError, match="holding_s"):
        simulate(view, cfg, calls={"handset": [0], "t_arrival_s": [1.0], "holding_s": [0.0]})
    with pytest.raises(InputError, match="t_arrival_s"):
        simulate(view, cfg, calls={"handset": [0], "t_arrival_s": [100.0], "holding_s": [1.0]})
    with pytest.raises(InputError, match="handset"):
        simulate(view, cfg, calls={"handset": [2], "t_arrival_s": [1.0], "holding_s": [1.0]})
    with pytest.raises(InputError, match="calls must have columns"):
        simulate(view, cfg, calls={"handset": [0]})


# --------------------------------------------------------------------------- real timeline
def test_voice_and_data_over_a_link_timeline():
    """Walker shell (120 satellites at 550 km), 20 handsets, 2 h: the scheduler's decisions
    agree with the link timeline it was given."""
    from satsim.link import LinkConfig, serve_links
    from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid
    from satsim.orbits.walker import WalkerShell, walker_constellation

    shell = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], DEFAULT_EPOCH)
    times = TimeGrid.from_duration(DEFAULT_EPOCH, 2 * 3600, 10.0)
    handsets = Handsets.random_in_box(20, 30, 45, -110, -80, seed=4)
    view = CoverageView.from_link_chunk(serve_links(shell, handsets, times,
                                                    LinkConfig()))
    cfg = SchedulerConfig(voice=VoiceConfig(calls_per_hour=6.0),
                          data=DataConfig(sessions_per_hour=30.0))
    res = simulate(view, cfg, seed=1)
    s = res.summary()
    v, d = s["voice"], s["data"]
    assert v["offered"] == v["blocked"] + v["dropped"] + v["completed"] + v["in_progress"]
    assert d["sessions"] == d["completed"] + d["aborted"] + d["in_progress"]
    assert v["offered"] > 100 and d["completed"] > 100
    c = res.calls
    # admitted calls: the beam serving the handset at the attempt
    up = (c["outcome"] != "blocked").to_numpy()
    j = view.run_index(c["handset"][up], c["t_arrival_s"][up])
    assert (j >= 0).all()
    np.testing.assert_array_equal(view.sat[j], c["sat"][up])
    np.testing.assert_array_equal(view.beam[j], c["beam"][up])
    # blocked for no coverage: not served then
    nc = (c["reason"] == "no_coverage").to_numpy()
    assert (view.run_index(c["handset"][nc], c["t_arrival_s"][nc]) < 0).all()
    # dropped on an outage: unserved throughout the last T310 (the default threshold is CQI 1)
    out = (c["reason"] == "outage").to_numpy()
    assert out.any()
    for frac in (0.01, 0.5, 0.99):
        t = c["t_end_s"][out] - frac * VoiceConfig().t310_s
        assert (view.run_index(c["handset"][out], t) < 0).all()
    # completed sessions finished on the beam serving them then
    ss = res.sessions
    done = (ss["outcome"] == "completed").to_numpy()
    j = view.run_index(ss["handset"][done], ss["t_end_s"][done] - 1e-6)
    assert (j >= 0).all()
    np.testing.assert_array_equal(view.beam[j], ss["last_beam"][done])
    assert set(zip(res.beams["sat"], res.beams["beam"])) >= set(zip(c["sat"][up], c["beam"][up]))
