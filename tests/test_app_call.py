"""Calls from an app over data (satsim.scheduler.app_call): admission on the beam's data
share, degraded time, mouth-to-ear delay, and radio-link failure as voice.

Exact cases on synthetic timelines, checked to 1e-9 s (times) or 1e-12 s (delays):
the delay is the sum of its terms (ITU-T G.114 one-way budget: propagation +
scheduling + ground + codec + jitter buffer); admission is max-min fair sharing of
the beam's RBs (Bertsekas and Gallager, Data Networks §6.5.2); T310 = 1 s (TS 36.331
§9.2.5 default) and T311 = 10 s decide drops exactly as for native voice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.cqi import RATE_BPS_PER_RB, cqi_from_sinr_db
from satsim.scenario import Scenario, load_scenario
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

NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)
N_RB = BeamConfig().n_rb
T310_S, T311_S = 1.0, 10.0


def config(app=None, **kw) -> SchedulerConfig:
    return SchedulerConfig(sms=NO_SMS, app_call=app or AppCallConfig(), **kw)


def table(rows):
    h, t, hold = zip(*rows)
    return {"handset": list(h), "t_arrival_s": list(t), "holding_s": list(hold)}


def app_calls(view, cfg, rows, **kw):
    return simulate(view, cfg, 0, app_calls=table(rows), **kw)


# ---------------------------------------------------------------- settings
def test_demand_is_codec_plus_headers_and_video():
    a = AppCallConfig()
    # Opus 28 kbit/s + 54 B of IPv4/UDP/RTP/SRTP/L2 headers every 20 ms = 21.6 kbit/s
    assert a.demand_bps == pytest.approx(28_000 + 54 * 8 / 0.02, abs=1e-9)
    assert a.frame_bits == pytest.approx(a.demand_bps * 0.02, abs=1e-9)
    v = AppCallConfig(media="video")
    assert v.demand_bps == pytest.approx(a.demand_bps + 250_000, abs=1e-9)
    with pytest.raises(InputError, match="app_call.codec_rate_bps"):
        AppCallConfig(codec_rate_bps=0)


def test_scenario_has_app_calls_off_by_default():
    sc = Scenario()
    assert sc.services.app_call.enabled is False
    assert sc.services.app_call.codec_rate_bps == AppCallConfig().codec_rate_bps
    sc = load_scenario(None, overrides={"services.app_call.media": "video"})
    assert sc.services.app_call.media == "video"


# ---------------------------------------------------------------- delay
@pytest.mark.parametrize("feeder_delay_s", [None, 0.0051])
def test_delay_equals_its_terms_on_an_always_covered_timeline(feeder_delay_s):
    """One call alone on its beam: every RB is free, so a frame goes on all N_RB at
    the CQI's rate; the rest is the timeline's one-way delay, the feeder link and the
    fixed budget."""
    service_s = 0.0043
    app = AppCallConfig(feeder_delay_s=feeder_delay_s, ground_delay_s=0.021,
                        codec_delay_s=0.0265, jitter_buffer_s=0.06)
    view = CoverageView.always_covered(1, 1000.0, sinr_db=10.0, delay_s=service_s)
    res = app_calls(view, config(app), [(0, 100.0, 300.0)])
    c = res.app_calls.iloc[0]
    service = float(np.float32(service_s))  # the view stores delays as float32
    prop = service + (service if feeder_delay_s is None else feeder_delay_s)
    cqi = int(cqi_from_sinr_db(10.0))
    sched = app.frame_bits / (N_RB * RATE_BPS_PER_RB[cqi])
    assert c["outcome"] == "completed" and c["degraded_s"] == 0.0
    assert c["propagation_s"] == pytest.approx(prop, abs=1e-12)
    assert c["scheduling_s"] == pytest.approx(sched, abs=1e-12)
    assert c["delay_s"] == pytest.approx(prop + sched + 0.021 + 0.0265 + 0.06, abs=1e-12)
    s = res.summary()["app_call"]
    assert s["delay_s"]["p50"] == pytest.approx(c["delay_s"], abs=1e-12)
    assert s["delay_within"] == {"150ms": 1.0, "400ms": 1.0}


def test_scheduling_delay_counts_the_other_calls_on_the_beam():
    """Two calls on one beam, both satisfied: a frame can use every RB the other
    call does not, N_RB minus its need."""
    app = AppCallConfig()
    view = CoverageView.always_covered(2, 1000.0, sinr_db=10.0, delay_s=0.004)
    res = app_calls(view, config(app), [(0, 100.0, 500.0), (1, 100.0, 500.0)])
    r = RATE_BPS_PER_RB[int(cqi_from_sinr_db(10.0))]
    need = app.demand_bps / r
    sched = res.app_calls["scheduling_s"].to_numpy()
    np.testing.assert_allclose(sched, app.frame_bits / ((N_RB - need) * r), rtol=0,
                               atol=1e-12)


def test_delay_is_nan_without_propagation_delays_in_the_view():
    view = CoverageView.always_covered(1, 1000.0)
    res = app_calls(view, config(), [(0, 100.0, 300.0)])
    assert math.isnan(res.app_calls["delay_s"].iloc[0])
    assert res.summary()["app_call"]["delay_s"] == {"p50": None, "p95": None}


# ---------------------------------------------------------------- admission
@pytest.mark.parametrize("media", ["audio", "video"])
def test_admission_refuses_when_the_data_share_cannot_carry_the_rate(media):
    """Simultaneous calls at CQI 1 on one beam: as many as their RB needs fit in the
    beam's RBs are admitted, the rest are blocked for low rate."""
    app = AppCallConfig(media=media)
    sinr = -6.0  # CQI 1
    need = app.demand_bps / RATE_BPS_PER_RB[int(cqi_from_sinr_db(sinr))]
    fits = int(N_RB // need)
    n = fits + 3
    view = CoverageView.always_covered(n, 1000.0, sinr_db=sinr)
    res = app_calls(view, config(app), [(h, 10.0, 100.0) for h in range(n)])
    calls = res.app_calls
    assert (calls["outcome"] == "completed").sum() == fits
    blocked = calls[calls["outcome"] == "blocked"]
    assert len(blocked) == n - fits and set(blocked["reason"]) == {"low_rate"}
    assert (calls.loc[calls["outcome"] == "completed", "degraded_s"] == 0.0).all()


def test_native_voice_calls_take_their_rbs_before_the_data_share():
    """Voice calls fixed at 10 RBs each leave N_RB - 20 RBs to data: one video call
    at CQI 1 that fitted an empty beam no longer does."""
    app = AppCallConfig(media="video")
    need = app.demand_bps / RATE_BPS_PER_RB[1]
    assert need <= N_RB and need > N_RB - 20
    view = CoverageView.always_covered(3, 1000.0, sinr_db=-6.0)
    cfg = config(app, voice=VoiceConfig(rbs_per_call=10.0))
    res = simulate(view, cfg, 0, app_calls=table([(0, 10.0, 100.0)]),
                   calls=table([(1, 5.0, 200.0), (2, 5.0, 200.0)]))
    assert list(res.calls["outcome"]) == ["completed", "completed"]
    assert res.app_calls.iloc[0]["reason"] == "low_rate"
    alone = app_calls(CoverageView.always_covered(1, 1000.0, sinr_db=-6.0), config(app),
                      [(0, 10.0, 100.0)])
    assert alone.app_calls.iloc[0]["outcome"] == "completed"


def test_no_coverage_blocks():
    view = CoverageView.periodic(1, on_s=100.0, off_s=100.0, duration_s=1000.0)
    res = app_calls(view, config(), [(0, 150.0, 10.0)])
    assert tuple(res.app_calls.iloc[0][["outcome", "reason"]]) == ("blocked", "no_coverage")


# ---------------------------------------------------------------- degraded time
def test_degraded_fraction_on_a_rate_drop():
    """Handset 0's CQI falls from 15 to 1 at the sample of 500 s (its bound, the
    midpoint 495 s), while nine downloads share the beam: at CQI 15 the call needs
    far less than the equal share N_RB / 10, at CQI 1 more. It is degraded from
    495 s to its end at 900 s, exactly."""
    app = AppCallConfig()
    times = np.arange(0.0, 1001.0, 10.0)
    nh = 10
    served = np.ones((times.size, nh), dtype=bool)
    cqi = np.full((times.size, nh), 9)
    cqi[:, 0] = np.where(times < 500.0, 15, 1)
    zeros = np.zeros((times.size, nh), dtype=int)
    view = CoverageView.from_arrays(times, served, zeros, zeros, cqi=cqi,
                                    delay_s=np.full((times.size, nh), 0.004))
    level = N_RB / nh
    assert app.demand_bps / RATE_BPS_PER_RB[15] < level < app.demand_bps / RATE_BPS_PER_RB[1]
    cfg = config(app, data=DataConfig())
    sessions = {"handset": list(range(1, nh)), "t_arrival_s": [0.0] * (nh - 1),
                "size_bytes": [1e12] * (nh - 1)}
    res = simulate(view, cfg, 0, app_calls=table([(0, 100.0, 800.0)]), sessions=sessions)
    c = res.app_calls.iloc[0]
    assert c["outcome"] == "completed"
    assert c["degraded_s"] == pytest.approx(900.0 - 495.0, abs=1e-9)
    assert c["satisfied_s"] == pytest.approx(495.0 - 100.0, abs=1e-9)
    assert c["degraded_fraction"] == pytest.approx(405.0 / 800.0, abs=1e-12)
    assert res.summary()["app_call"]["degraded_fraction"] == pytest.approx(405.0 / 800.0,
                                                                           abs=1e-12)
    # the call leaves the downloads what it does not need while satisfied
    assert (res.sessions["outcome"] == "in_progress").all()


def test_handover_interruption_is_degraded_time():
    view = CoverageView(1, [0, 0], [0.0, 200.0], [200.0, 1000.0], [0, 0], [0, 1], [9, 9],
                        [10.0, 10.0], start_s=0.0, end_s=1000.0)
    res = app_calls(view, config(), [(0, 100.0, 300.0)])
    c = res.app_calls.iloc[0]
    assert (c["outcome"], c["handovers"]) == ("completed", 1)
    assert c["degraded_s"] == pytest.approx(AppCallConfig().handover_interruption_s, abs=1e-12)
    assert c["satisfied_s"] + c["degraded_s"] == pytest.approx(300.0, abs=1e-9)


# ---------------------------------------------------------------- radio-link failure
def gap_view(gap_s):
    """Served on [0, 100), then a gap of ``gap_s``, then served until 1000 s."""
    return CoverageView(1, [0, 0], [0.0, 100.0 + gap_s], [100.0, 1000.0], [0, 0], [0, 0],
                        [9, 9], [10.0, 10.0], start_s=0.0, end_s=1000.0)


@pytest.mark.parametrize("t311_s", [T311_S, 0.0])
@pytest.mark.parametrize("gap_s", [0.5, T310_S, 1.5, 5.0, T310_S + T311_S, 11.5, 40.0])
def test_radio_link_failure_drops_and_reestablishes_as_voice(gap_s, t311_s):
    """The same call through the same gap: app call and native voice end alike."""
    app = AppCallConfig(t310_s=T310_S, t311_s=t311_s)
    voice = VoiceConfig(t310_s=T310_S, t311_s=t311_s)
    rows = [(0, 50.0, 200.0)]
    res = simulate(gap_view(gap_s), config(app, voice=voice), 0, app_calls=table(rows),
                   calls=table(rows))
    a, v = res.app_calls.iloc[0], res.calls.iloc[0]
    for col in ("outcome", "reason", "outages", "reestablishments"):
        assert a[col] == v[col], col
    assert a["t_end_s"] == pytest.approx(v["t_end_s"], abs=1e-9)
    if a["outcome"] == "dropped":
        assert a["t_end_s"] == pytest.approx(100.0 + T310_S + t311_s, abs=1e-9)
        assert a["degraded_s"] == pytest.approx(T310_S + t311_s, abs=1e-9)
    else:
        assert a["degraded_s"] == pytest.approx(gap_s, abs=1e-9)
    assert a["satisfied_s"] + a["degraded_s"] == pytest.approx(a["duration_s"], abs=1e-9)


def test_summary_counts_add_up_on_poisson_traffic():
    view = CoverageView.periodic(20, on_s=300.0, off_s=60.0, duration_s=7200.0,
                                 phase_s=np.linspace(0.0, 300.0, 20), n_beams=2,
                                 delay_s=0.004)
    res = simulate(view, config(AppCallConfig(calls_per_hour=6.0), data=DataConfig()), 3)
    s = res.summary()["app_call"]
    assert s["offered"] == len(res.app_calls) > 100
    assert s["offered"] == s["blocked"] + s["dropped"] + s["completed"] + s["in_progress"]
    up = res.app_calls[res.app_calls["outcome"] != "blocked"]
    end = up["t_end_s"].fillna(7200.0)
    np.testing.assert_allclose(up["satisfied_s"] + up["degraded_s"], end - up["t_arrival_s"],
                               rtol=0, atol=1e-6)
    # 60 s gaps are longer than T310 + T311: a call that meets one is dropped
    assert s["dropped"] > 0 and set(up.loc[up["outcome"] == "dropped", "reason"]) == {"outage"}
    again = simulate(view, config(AppCallConfig(calls_per_hour=6.0), data=DataConfig()), 3)
    assert again.summary() == res.summary()


def test_view_keeps_the_mean_delay_of_each_run():
    times = np.array([0.0, 10.0, 20.0, 30.0])
    served = np.ones((4, 1), dtype=bool)
    zeros = np.zeros((4, 1), dtype=int)
    delay = np.array([[0.002], [0.003], [0.004], [0.009]])
    v = CoverageView.from_arrays(times, served, zeros, zeros, cqi=np.full((4, 1), 9),
                                 delay_s=delay)
    assert v.n_runs == 1 and v.delay_s[0] == pytest.approx(0.0045, abs=1e-9)
    assert CoverageView.from_arrays(times, served, zeros, zeros, cqi=np.full((4, 1), 9)
                                    ).delay_s is None
