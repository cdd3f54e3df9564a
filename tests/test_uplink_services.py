"""The uplink in the services (satsim.scheduler.uplink): voice admission and drops, and app
calls' rate, on the phone's uplink as well as the downlink.

Physics under test (TS 36.213 §5.1.1.1 uplink power control, P_CMAX = 23 dBm): a phone
at its maximum power that sends in M of the band's N_RB resource blocks has the per-RB
SINR ``ul_sinr_db + 10 log10(N_RB / M)``; one RB of a 25-RB carrier is 13.98 dB above the
carrier-wide SINR. Rates per RB are the downlink's CQI table (TS 36.213 Table 7.2.3-1,
Vienna thresholds) used as a proxy. Voice needs the bearer in one RB at the voice
threshold (CQI 1, -6.934 dB), so a carrier-wide uplink SINR below -20.93 dB stops it.

Exact cases on synthetic timelines: times to 1e-9 s; T310 = 1 s (TS 36.331 §9.2.5
default ms1000) and T311 = 10 s, as in tests/test_voice_reestablish.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from satsim.errors import InputError
from satsim.link.cqi import CQI_MIN_SINR_DB, RATE_BPS_PER_RB, cqi_from_sinr_db
from satsim.scheduler import (
    AppCallConfig,
    BeamConfig,
    CoverageView,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.scheduler.uplink import capacity_bps, per_rb_sinr_db, ul_cqi_from_sinr_db

T310_S, T311_S = 1.0, 10.0
NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)
N_RB = BeamConfig().n_rb  # 25: 5 MHz LTE, reuse 1
ONE_RB_DB = 10.0 * math.log10(N_RB)  # 13.98 dB
#: Carrier-wide uplink SINR whose one-RB SINR is 3 dB above / below CQI 1's -6.934 dB.
UL_GOOD_DB = CQI_MIN_SINR_DB[1] - ONE_RB_DB + 3.0  # -17.9 dB
UL_BAD_DB = CQI_MIN_SINR_DB[1] - ONE_RB_DB - 3.0  # -23.9 dB


def voice(**kw) -> SchedulerConfig:
    base = {"t310_s": T310_S, "t311_s": T311_S}
    base.update(kw)
    return SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(**base))


def table(rows):
    h, t, hold = zip(*rows)
    return {"handset": list(h), "t_arrival_s": list(t), "holding_s": list(hold)}


def sampled_view(ul_db, dl_db=10.0, step_s=10.0, end_s=1000.0, delay_s=None):
    """One handset served all the time at ``dl_db`` by satellite 0, beam 0, sampled every
    ``step_s``; ``ul_db(t)`` gives the carrier-wide uplink SINR of each sample."""
    times = np.arange(0.0, end_s + step_s / 2, step_s)
    n = times.size
    served = np.ones((n, 1), dtype=bool)
    zeros = np.zeros((n, 1), dtype=int)
    ul = np.asarray([ul_db(t) for t in times], dtype=np.float64)[:, None]
    dl = np.full((n, 1), dl_db)
    delay = None if delay_s is None else np.full((n, 1), delay_s)
    return CoverageView.from_arrays(times, served, zeros, zeros, dl, ul_sinr_db=ul, n_rb=N_RB,
                                    delay_s=delay)


def ul_runs_view(runs, n_handsets=1, end_s=1000.0):
    """A view from explicit runs: (handset, start, end, sat, beam, dl_sinr_db, ul_sinr_db)."""
    h, s, e, sat, beam, dl, ul = (np.array(x) for x in zip(*runs))
    return CoverageView(n_handsets, h, s, e, sat, beam, cqi_from_sinr_db(dl), dl,
                        start_s=0.0, end_s=end_s, ul_sinr_db=ul, n_rb=N_RB)


def ul_fade_view(gap_s, ul_db=UL_BAD_DB, good_db=UL_GOOD_DB):
    """Handset 0 on beam 0 at 10 dB downlink throughout, its uplink at ``good_db`` on
    [0, 100) and from 100 + ``gap_s`` on, at ``ul_db`` in between."""
    return ul_runs_view([(0, 0.0, 100.0, 0, 0, 10.0, good_db),
                         (0, 100.0, 100.0 + gap_s, 0, 0, 10.0, ul_db),
                         (0, 100.0 + gap_s, 1000.0, 0, 0, 10.0, good_db)])


def one_call(view, config, t0=50.0, holding_s=200.0):
    res = simulate(view, config, 0, calls=table([(0, t0, holding_s)]))
    return res, res.calls.iloc[0]


# ---------------------------------------------------------------- physics
def test_per_rb_sinr_concentrates_the_power():
    """Same power in 1/M of the band: + 10 log10(N_RB / M) dB; all RBs: the carrier's."""
    assert per_rb_sinr_db(-10.0, 25, 1) == pytest.approx(-10.0 + 13.979400086720377, abs=1e-12)
    assert per_rb_sinr_db(-10.0, 25, 25) == pytest.approx(-10.0, abs=1e-12)
    assert per_rb_sinr_db(-10.0, 25, 5) == pytest.approx(-10.0 + 10 * math.log10(5), abs=1e-12)
    assert ul_cqi_from_sinr_db(UL_GOOD_DB, N_RB) == 2  # one RB at -3.93 dB
    assert ul_cqi_from_sinr_db(UL_BAD_DB, N_RB) == 0  # one RB at -9.93 dB
    with pytest.raises(InputError, match="m_rb"):
        per_rb_sinr_db(-10.0, 25, 0)


def test_capacity_by_hand():
    """-18 dB carrier-wide: one RB at -4.02 dB is CQI 2 (-5.147 dB), 28,128 bit/s; two RBs
    at -7.03 dB are below CQI 1: the best is one RB. -12 dB: one RB at 1.98 dB, CQI 5
    (105,240); two at -1.03 (CQI 4, 2 x 72,192 = 144,384); three at -2.79 (CQI 3,
    3 x 45,240 = 135,720); four at -4.04 (CQI 2, 112,512); eight at -7.05 (CQI 0);
    five to seven at -5.01 .. -6.47 dB (CQI 1, at most 7 x 18,276 = 127,932):
    two RBs, 144,384 bit/s."""
    assert capacity_bps(-18.0, 25) == RATE_BPS_PER_RB[2] == 28128.0
    assert capacity_bps(-12.0, 25) == 2 * RATE_BPS_PER_RB[4] == 144384.0
    assert capacity_bps(UL_BAD_DB, 25) == 0.0


def test_capacity_is_the_best_number_of_rbs_and_never_falls():
    s = np.linspace(-40.0, 20.0, 601)
    cap = capacity_bps(s, N_RB)
    terms = np.array([m * RATE_BPS_PER_RB[cqi_from_sinr_db(s + 10 * np.log10(N_RB / m))]
                      for m in range(1, N_RB + 1)])
    np.testing.assert_array_equal(cap, terms.max(axis=0))
    assert np.all(np.diff(cap) >= 0)
    # nothing at all exactly where one RB is below CQI 1
    np.testing.assert_array_equal(cap == 0, ul_cqi_from_sinr_db(s, N_RB) == 0)


# ---------------------------------------------------------------- the view
def test_view_splits_runs_on_the_uplink_class_and_keeps_its_mean():
    """Samples every 10 s; the uplink falls from -10 to -11 dB carrier-wide at 100 s (one
    RB at 3.98 and 2.98 dB: CQI 6 both) and to -13 dB at 400 s (0.98 dB: CQI 5): the
    runs split at 400 s only (midpoint 395 s); the first keeps the mean of its 40
    samples."""
    def ul_db(t):
        return -10.0 if t < 100.0 else (-11.0 if t < 400.0 else -13.0)

    v = sampled_view(ul_db)
    assert v.n_runs == 2 and v.has_uplink and v.n_rb == N_RB
    np.testing.assert_array_equal(v.start, [0.0, 395.0])
    np.testing.assert_array_equal(v.end, [395.0, 1000.0])
    np.testing.assert_array_equal(v.ul_cqi, [6, 5])
    assert v.ul_sinr_db[0] == pytest.approx((10 * -10.0 + 30 * -11.0) / 40, abs=1e-5)
    assert v.ul_sinr_db[1] == pytest.approx(-13.0, abs=1e-6)
    s = v.serving(0, 500.0)
    assert (s.cqi, s.ul_cqi) == (int(cqi_from_sinr_db(10.0)), 5)
    assert s.ul_sinr_db == pytest.approx(-13.0, abs=1e-6)
    assert v.nbytes == v.offsets.nbytes + 50 * v.n_runs  # 45 bytes per run + 5 uplink
    # without the uplink: one run, no uplink fields
    n = 101
    w = CoverageView.from_arrays(np.arange(0.0, 1001.0, 10.0), np.ones((n, 1), bool),
                                 np.zeros((n, 1), int), np.zeros((n, 1), int),
                                 np.full((n, 1), 10.0))
    assert w.n_runs == 1 and not w.has_uplink and w.ul_cqi is None and w.n_rb is None
    assert w.serving(0, 500.0).ul_cqi is None
    assert w.nbytes == w.offsets.nbytes + 45 * w.n_runs


def test_view_uplink_errors_say_what_to_give():
    t = [0.0, 10.0]
    one = np.ones((2, 1), bool)
    z = np.zeros((2, 1), int)
    with pytest.raises(InputError, match="ul_sinr_db and n_rb together"):
        CoverageView.from_arrays(t, one, z, z, np.full((2, 1), 5.0), ul_sinr_db=np.zeros((2, 1)))
    with pytest.raises(InputError, match="ul_sinr_db and n_rb together"):
        CoverageView.from_arrays(t, one, z, z, np.full((2, 1), 5.0), n_rb=25)
    with pytest.raises(InputError, match="finite where served"):
        CoverageView.from_arrays(t, one, z, z, np.full((2, 1), 5.0),
                                 ul_sinr_db=np.array([[0.0], [np.nan]]), n_rb=25)
    with pytest.raises(InputError, match="n_rb must be a whole number"):
        CoverageView.from_arrays(t, one, z, z, np.full((2, 1), 5.0),
                                 ul_sinr_db=np.zeros((2, 1)), n_rb=2.5)
    with pytest.raises(InputError, match="ul_sinr_db needs n_rb"):
        CoverageView(1, [0], [0.0], [10.0], [0], [0], [7], [5.0], start_s=0.0, end_s=10.0,
                     ul_sinr_db=[0.0])
    # NaN where not served is fine: nothing is read there
    served = np.array([[True], [False]])
    v = CoverageView.from_arrays(t, served, z, z, np.full((2, 1), 5.0),
                                 ul_sinr_db=np.array([[0.0], [np.nan]]), n_rb=25)
    assert v.n_runs == 1
    # a view whose uplink band is not the beams'
    with pytest.raises(InputError, match="n_rb=config.beams.n_rb"):
        simulate(v, SchedulerConfig(beams=BeamConfig(carrier={"n_rb": 50})), 0)


# ---------------------------------------------------------------- voice admission
def test_voice_blocked_when_the_uplink_fails_and_admitted_when_it_holds():
    """Downlink at 10 dB throughout; the uplink's one-RB SINR is 3 dB below CQI 1 on the
    samples 400..600 s (the run [395, 605) s), 3 dB above elsewhere. An attempt at 500 s
    is blocked (low_uplink), one at 200 s admitted and completed; without the uplink
    arrays both are admitted."""
    v = sampled_view(lambda t: UL_BAD_DB if 400.0 <= t <= 600.0 else UL_GOOD_DB)
    rows = [(0, 200.0, 100.0), (0, 500.0, 50.0)]
    res = simulate(v, voice(), 0, calls=table(rows))
    c = res.calls
    assert list(c["outcome"]) == ["completed", "blocked"]
    assert list(c["reason"]) == ["", "low_uplink"]
    assert c["t_end_s"].iloc[1] == 500.0
    s = res.summary()["voice"]
    assert s["by_reason"]["low_uplink"] == 1 and s["by_reason"]["low_sinr"] == 0
    no_ul = CoverageView.from_arrays(np.arange(0.0, 1001.0, 10.0), np.ones((101, 1), bool),
                                     np.zeros((101, 1), int), np.zeros((101, 1), int),
                                     np.full((101, 1), 10.0))
    assert list(simulate(no_ul, voice(), 0, calls=table(rows)).calls["outcome"]) == \
        ["completed", "completed"]


def test_low_downlink_keeps_its_reason_when_the_uplink_fails_too():
    """Both links too weak: low_sinr, as before the uplink was read."""
    v = sampled_view(lambda t: UL_BAD_DB, dl_db=-6.0)
    res = simulate(v, voice(min_sinr_db=0.0), 0, calls=table([(0, 500.0, 50.0)]))
    assert tuple(res.calls.iloc[0][["outcome", "reason"]]) == ("blocked", "low_sinr")


@pytest.mark.parametrize("ul_db, outcome", [(-10.0, "completed"), (-12.0, "blocked")])
def test_fixed_rbs_per_call_spreads_the_uplink_over_them(ul_db, outcome):
    """A fixed grant of 10 RBs: per-RB SINR = carrier + 10 log10(25 / 10) = + 3.98 dB;
    -10 dB gives -6.02 dB (CQI 1: the bearer fits), -12 dB gives -8.02 dB (below CQI 1),
    although one RB would be at 1.98 dB."""
    v = sampled_view(lambda t: ul_db)
    res = simulate(v, voice(rbs_per_call=10.0), 0, calls=table([(0, 500.0, 50.0)]))
    c = res.calls.iloc[0]
    assert c["outcome"] == outcome
    assert c["reason"] == ("" if outcome == "completed" else "low_uplink")


def test_uplink_grants_of_a_call():
    """Whole RBs up to max_rbs_per_call, each with the lowest CQI at which the bearer
    (AMR-WB 23.85 kbit/s + 4 kbit/s of headers = 27.85 kbit/s) fits: one RB needs CQI 2
    (28,128 bit/s), two or three RBs CQI 1 (2 x 18,276)."""
    v = VoiceConfig(codec_rate_bps=23850.0, max_rbs_per_call=3.0)
    assert v.bearer_rate_bps == pytest.approx(27850.0, abs=1e-9)
    assert v.uplink_grants == ((1.0, 2), (2.0, 1), (3.0, 1))
    assert VoiceConfig().uplink_grants == ((1.0, 1),)
    assert VoiceConfig(max_rbs_per_call=0.5).uplink_grants == ((1.0, VoiceConfig(
        max_rbs_per_call=0.5).min_cqi),)
    assert VoiceConfig(rbs_per_call=10.0).uplink_grants == ((10.0, 1),)


# ---------------------------------------------------------------- voice: fades on the uplink
@pytest.mark.parametrize("gap_s", [0.5, T310_S])
def test_uplink_fade_not_longer_than_t310_is_no_radio_link_failure(gap_s):
    _, c = one_call(ul_fade_view(gap_s), voice())
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(250.0, abs=1e-9)
    assert (c["outages"], c["reestablishments"]) == (1, 0)
    assert c["outage_s"] == pytest.approx(gap_s, abs=1e-9)


@pytest.mark.parametrize("gap_s", [1.5, 5.0, T310_S + T311_S])
def test_uplink_fade_between_t310_and_t310_plus_t311_is_reestablished(gap_s):
    _, c = one_call(ul_fade_view(gap_s), voice())
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(250.0, abs=1e-9)
    assert (c["outages"], c["reestablishments"], c["handovers"]) == (1, 1, 0)
    assert c["outage_s"] == pytest.approx(gap_s, abs=1e-9)


@pytest.mark.parametrize("gap_s", [T310_S + T311_S + 0.01, 30.0, 800.0])
def test_uplink_fade_longer_than_t310_plus_t311_drops_at_t311_expiry(gap_s):
    """The downlink stays usable: the uplink alone lost the call (uplink_outage)."""
    res, c = one_call(ul_fade_view(gap_s), voice())
    assert c["outcome"] == "dropped" and c["reason"] == "uplink_outage"
    assert c["t_end_s"] == pytest.approx(100.0 + T310_S + T311_S, abs=1e-9)
    assert res.summary()["voice"]["by_reason"]["uplink_outage"] == 1


def test_downlink_lost_within_an_uplink_fade_is_an_outage():
    """The uplink fails at 100 s, the downlink too from 105 s until 130 s: the drop at
    111 s is not the uplink's alone (outage)."""
    view = ul_runs_view([(0, 0.0, 100.0, 0, 0, 10.0, UL_GOOD_DB),
                         (0, 100.0, 105.0, 0, 0, 10.0, UL_BAD_DB),
                         (0, 130.0, 1000.0, 0, 0, 10.0, UL_GOOD_DB)])
    _, c = one_call(view, voice())
    assert (c["outcome"], c["reason"]) == ("dropped", "outage")
    assert c["t_end_s"] == pytest.approx(111.0, abs=1e-9)


@pytest.mark.parametrize("n_bad, outcome, t_end_s", [
    (1, "completed", 250.0),  # uplink out [95, 105): RLF at 96 s, back at 105 s <= 106 s
    (2, "dropped", 95.0 + T310_S + T311_S),  # [95, 115): T311 expires at 106 s
])
def test_sampled_uplink_fades_resolve_on_sample_bounds(n_bad, outcome, t_end_s):
    """As tests/test_voice_reestablish.py's sampled case, the uplink failing instead of the
    downlink: n bad samples from 100 s are an outage of n x 10 s from 95 s."""
    v = sampled_view(lambda t: UL_BAD_DB if 100.0 <= t < 100.0 + 10.0 * n_bad else UL_GOOD_DB)
    _, c = one_call(v, voice())
    assert c["outcome"] == outcome
    assert c["t_end_s"] == pytest.approx(t_end_s, abs=1e-9)
    assert c["reason"] == ("" if outcome == "completed" else "uplink_outage")
    assert c["reestablishments"] == (1 if outcome == "completed" else 0)


# ---------------------------------------------------------------- app calls
#: Carrier-wide uplink SINRs of the two-level timeline (test_capacity_by_hand): the
#: phone's capacity is 144,384 bit/s at -12 dB and 28,128 bit/s at -18 dB, around the
#: 49,600 bit/s of an audio app call.
UL_HIGH_DB, UL_SHORT_DB = -12.0, -18.0


def test_app_call_degraded_exactly_while_the_uplink_is_short():
    """Samples every 10 s at -12 dB, but at -18 dB from 300 to 440 s and 700 to 750 s:
    runs [295, 445) and [695, 755) s. A call from 100 s for 800 s, alone on a beam at
    10 dB downlink (its share is never short), is degraded for 150 + 60 = 210 s,
    all of it uplink, and satisfied 800 - 210 = 590 s."""
    app = AppCallConfig()
    assert capacity_bps(UL_HIGH_DB, N_RB) >= app.demand_bps > capacity_bps(UL_SHORT_DB, N_RB)
    v = sampled_view(lambda t: UL_SHORT_DB if (300.0 <= t <= 440.0 or 700.0 <= t <= 750.0)
                     else UL_HIGH_DB, delay_s=0.004)
    cfg = SchedulerConfig(sms=NO_SMS, app_call=app)
    res = simulate(v, cfg, 0, app_calls=table([(0, 100.0, 800.0)]))
    c = res.app_calls.iloc[0]
    assert (c["outcome"], c["outages"], c["handovers"]) == ("completed", 0, 0)
    assert c["degraded_s"] == pytest.approx(210.0, abs=1e-9)
    assert c["uplink_degraded_s"] == pytest.approx(210.0, abs=1e-9)
    assert c["satisfied_s"] == pytest.approx(590.0, abs=1e-9)
    assert c["degraded_fraction"] == pytest.approx(210.0 / 800.0, abs=1e-12)
    s = res.summary()["app_call"]
    assert s["uplink_degraded_fraction"] == pytest.approx(210.0 / 800.0, abs=1e-12)
    # the propagation delay is that of the satisfied time: the uplink's fades change nothing
    assert c["propagation_s"] == pytest.approx(2 * float(np.float32(0.004)), abs=1e-12)
    # an attempt while the uplink is short, or unusable, is blocked
    v2 = sampled_view(lambda t: UL_SHORT_DB if t < 500.0 else UL_BAD_DB)
    res = simulate(v2, cfg, 0, app_calls=table([(0, 100.0, 10.0), (0, 700.0, 10.0)]))
    assert list(res.app_calls["reason"]) == ["low_uplink", "low_uplink"]
    assert res.summary()["app_call"]["by_reason"]["low_uplink"] == 2


@pytest.mark.parametrize("gap_s", [0.5, T310_S, 5.0, T310_S + T311_S, 11.5, 40.0])
def test_app_call_loses_its_radio_link_on_an_unusable_uplink_as_voice(gap_s):
    """The uplink below CQI 1 even in one RB for gap_s: the app call and a native call end
    alike (T310, T311), dropped as uplink_outage past T310 + T311; an uplink short of
    the call's rate but usable (-18 dB) only degrades it."""
    app = AppCallConfig(t310_s=T310_S, t311_s=T311_S)
    cfg = SchedulerConfig(sms=NO_SMS, app_call=app,
                          voice=VoiceConfig(t310_s=T310_S, t311_s=T311_S))
    rows = table([(0, 50.0, 200.0)])
    res = simulate(ul_fade_view(gap_s, good_db=UL_HIGH_DB), cfg, 0, app_calls=rows,
                   calls=rows)
    a, v = res.app_calls.iloc[0], res.calls.iloc[0]
    for col in ("outcome", "reason", "outages", "reestablishments"):
        assert a[col] == v[col], col
    assert a["t_end_s"] == pytest.approx(v["t_end_s"], abs=1e-9)
    if a["outcome"] == "dropped":
        assert a["reason"] == "uplink_outage"
        assert a["degraded_s"] == pytest.approx(T310_S + T311_S, abs=1e-9)
    else:
        assert a["degraded_s"] == pytest.approx(gap_s, abs=1e-9)
    assert a["uplink_degraded_s"] == 0.0  # an outage, not a short uplink
    short = simulate(ul_fade_view(gap_s, ul_db=UL_SHORT_DB, good_db=UL_HIGH_DB), cfg, 0,
                     app_calls=rows).app_calls
    c = short.iloc[0]
    assert (c["outcome"], c["outages"]) == ("completed", 0)
    assert c["uplink_degraded_s"] == pytest.approx(gap_s, abs=1e-9)


# ---------------------------------------------------------------- nothing else changes
def _mixed_arrays(seed=5, nh=12, ul=True):
    """Twelve handsets on two beams, sampled every 10 s for 2 h, with gaps and changing
    downlink CQI; an uplink good everywhere (-5 to 5 dB carrier-wide: one RB at CQI 7 or
    more, a capacity above a video call's 299.6 kbit/s) but changing class, so that it
    splits the runs."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, 7200.0 + 5.0, 10.0)
    n = times.size
    served = rng.random((n, nh)) > 0.03
    served[200:215, :4] = False  # a long gap for a third of the handsets
    sat = np.zeros((n, nh), dtype=int)
    beam = np.broadcast_to(np.arange(nh) % 2, (n, nh)).copy()
    beam[n // 2:, ::3] = 1 - beam[n // 2:, ::3]  # handovers
    dl = np.where(served, rng.choice([-2.0, 3.0, 8.0], size=(n, nh), p=[0.2, 0.5, 0.3]),
                  np.nan)
    up = np.where(served, rng.uniform(-5.0, 5.0, size=(n, nh)), np.nan)
    kw = {"ul_sinr_db": up, "n_rb": N_RB} if ul else {}
    return CoverageView.from_arrays(times, served, sat, beam, dl,
                                    delay_s=np.full((n, nh), 0.004), **kw)


def test_an_uplink_good_everywhere_changes_no_result():
    """The same traffic of every service on the same timeline, with and without an uplink
    good everywhere: SMS, voice and data tables identical; app calls identical but for
    the float rounding of joining the share again at the extra runs (1e-12)."""
    with_ul, without = _mixed_arrays(ul=True), _mixed_arrays(ul=False)
    assert with_ul.n_runs > 1.3 * without.n_runs  # the uplink splits runs
    assert capacity_bps(with_ul.ul_sinr_db, N_RB).min() > AppCallConfig(media="video").demand_bps
    cfg = SchedulerConfig(voice=VoiceConfig(calls_per_hour=4.0),
                          # downloads only: uploads read the uplink (tests/test_data_uploads.py)
                          data=DataConfig(sessions_per_hour=4.0, upload_fraction=0.0),
                          app_call=AppCallConfig(calls_per_hour=4.0, media="video"))
    a, b = simulate(with_ul, cfg, 3), simulate(without, cfg, 3)
    for name in ("events", "calls", "sessions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert len(a.calls) > 50 and len(a.app_calls) > 50 and len(a.sessions) > 50
    assert set(a.calls["reason"]) >= {"outage", "no_coverage"}  # the gaps matter
    pd.testing.assert_frame_equal(a.app_calls, b.app_calls, check_exact=False, rtol=1e-12,
                                  atol=1e-12)
    pd.testing.assert_frame_equal(a.beams, b.beams, check_exact=False, rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- summary rows
def test_summary_rows_show_the_calls_the_uplink_alone_stopped():
    """The report's voice rows and the command line's summary name them; a summary
    without the counts (an older results folder) reads n/a."""
    import io

    from rich.console import Console

    from satsim.cli.run import summary_table
    from satsim.results.report import summary_rows

    voice = {"offered": 360, "blocked": 29, "dropped": 33, "completed": 294,
             "block_ratio": 29 / 360, "drop_ratio": 33 / 331,
             "by_reason": {"no_coverage": 15, "low_uplink": 14, "outage": 29,
                           "uplink_outage": 4}}
    rows = {(s, label): value for s, label, value in summary_rows({"voice": voice})}
    label = "by the uplink alone (downlink usable): blocked / dropped"
    assert rows[("Voice", label)] == "14 / 4"
    old = {k: v for k, v in voice.items() if k != "by_reason"}
    old_rows = {(s, lb): v for s, lb, v in summary_rows({"voice": old})}
    assert old_rows[("Voice", label)] == "n/a / n/a"
    run = {"run": {"duration_s": 7200.0, "step_s": 10.0}}
    out = io.StringIO()
    Console(file=out, width=200).print(summary_table(run | {"voice": voice}))
    assert "14 calls blocked and 4 dropped by the uplink alone" in out.getvalue()
    out = io.StringIO()
    Console(file=out, width=200).print(summary_table(run | {"voice": old}))
    assert "uplink alone" not in out.getvalue() and "360 calls" in out.getvalue()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rb", [1, 6, 25, 100])
def test_one_rb_class_in_one_pass_equals_its_numpy_form(dtype, n_rb):
    """``ul_cqi_from_sinr_db`` (one numba pass) gives the CQI of the numpy form
    ``cqi_from_sinr_db(per_rb_sinr_db(s, n_rb, 1))`` for every value: NaN and
    infinities, values that land exactly on a CQI threshold once the one-RB
    offset is added, a column slice (not contiguous) as the coverage view
    passes it."""
    rng = np.random.default_rng(n_rb)
    s = rng.uniform(-45.0, 30.0, (40, 300))
    offset = 10.0 * np.log10(n_rb / 1.0)
    on = CQI_MIN_SINR_DB[1:] - offset   # the thresholds, before the offset
    s[0, :on.size] = on
    s[1, :on.size] = np.nextafter(on, -np.inf)
    s[2, :3] = [np.nan, np.inf, -np.inf]
    s = s.astype(dtype)
    block = s[:, 50:250]
    expected = cqi_from_sinr_db(per_rb_sinr_db(block, n_rb, 1.0))
    got = ul_cqi_from_sinr_db(block, n_rb)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(got)) >= {0, 15}
