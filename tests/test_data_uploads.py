"""Uploads: data sessions sent on the beam's uplink at the phone's uplink rate
(satsim.scheduler.data, "Uploads").

Physics under test: a phone at its maximum power P_CMAX = 23 dBm (TS 36.101 §6.2.2)
that sends in M of the band's N_RB = 25 resource blocks has the per-RB SINR
``ul_sinr_db + 10 log10(25 / M)`` (TS 36.213 §5.1.1.1); its rate on M RBs is
``M x RATE_BPS_PER_RB[CQI]`` (the downlink CQI table as the uplink's proxy, as in
tests/test_uplink_services.py), and it uses the best M' <= M of the RBs it gets. A
beam's uploads share its uplink RBs max-min fair, as downloads share the downlink.

Hand-computed operating points (thresholds of satsim.link.cqi: CQI 1 -6.934, 2 -5.147,
3 -3.18, 4 -1.254, 5 0.761, 9 8.576, 10 10.37, 11 12.3, 12 14.18, 13 15.89 dB):

* carrier-wide -12 dB: one RB at 1.98 dB (CQI 5, 105,240 bit/s), two at -1.03 dB
  (CQI 4, 2 x 72,192 = 144,384), three at -2.79 (CQI 3, 135,720), four at -4.04
  (CQI 2, 112,512), five to seven CQI 1 (at most 127,932), eight or more CQI 0:
  capacity 144,384 bit/s on M* = 2 RBs (as tests/test_uplink_services.py's
  test_capacity_by_hand).
* carrier-wide 10 dB: 25 RBs at 10 dB (CQI 9, 25 x 288,756 = 7,218,900 bit/s), 22 at
  10.56 dB (CQI 10, 22 x 327,660 = 7,208,520), 23 / 24 at 10.36 / 10.18 dB (CQI 9,
  6,641,388 / 6,930,144), 13 at 12.84 dB and 12 at 13.19 dB (CQI 11, 5,182,788 /
  4,784,112), 9 at 14.44 dB (CQI 12, 4,214,484): capacity 7,218,900 on M* = 25;
  G(23) = G(22) = 7,208,520; a share of 12.5 RBs is 12 and 13 RBs in turn,
  (4,784,112 + 5,182,788) / 2 = 4,983,450 bit/s.

Times to 1e-9 s on synthetic timelines.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from satsim.errors import InputError
from satsim.link.cqi import CQI_MIN_SINR_DB, RATE_BPS_PER_RB, cqi_from_sinr_db
from satsim.scheduler import (
    BeamConfig,
    CoverageView,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.scheduler.data import UplinkRate
from satsim.scheduler.uplink import capacity_bps
from satsim.streams import STREAMS, stream_key

NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)
N_RB = BeamConfig().n_rb  # 25
R = RATE_BPS_PER_RB
#: -12 dB carrier-wide: 2 RBs at CQI 4.
WEAK_DB, WEAK_BPS = -12.0, 2 * 72192.0
#: 10 dB carrier-wide: 25 RBs at CQI 9.
STRONG_DB, STRONG_BPS = 10.0, 25 * 288756.0
#: Carrier-wide uplink SINR whose one RB is 3 dB below CQI 1: the uplink is unusable.
UL_BAD_DB = CQI_MIN_SINR_DB[1] - 10.0 * math.log10(N_RB) - 3.0


def config(**data_kw) -> SchedulerConfig:
    return SchedulerConfig(sms=NO_SMS, data=DataConfig(**data_kw))


def ul_view(runs, n_handsets=1, end_s=1000.0):
    """A view from explicit runs: (handset, start, end, sat, beam, dl_sinr_db, ul_sinr_db)."""
    h, s, e, sat, beam, dl, ul = (np.array(x) for x in zip(*runs))
    return CoverageView(n_handsets, h, s, e, sat, beam, cqi_from_sinr_db(dl), dl,
                        start_s=0.0, end_s=end_s, ul_sinr_db=ul, n_rb=N_RB)


def sessions(rows, direction="upload"):
    """Explicit sessions from rows (handset, t_arrival_s, size_bytes[, direction])."""
    rows = [r if len(r) == 4 else (*r, direction) for r in rows]
    h, t, size, d = zip(*rows)
    return {"handset": list(h), "t_arrival_s": list(t), "size_bytes": list(size),
            "direction": list(d)}


def run(view, cfg, rows, direction="upload", **kw):
    return simulate(view, cfg, 0, sessions=sessions(rows, direction), **kw)


def bytes_for(rate_bps, seconds):
    return rate_bps * seconds / 8.0


# ---------------------------------------------------------------- the phone's rate
def test_uplink_rate_by_hand():
    weak, strong = UplinkRate(WEAK_DB, N_RB), UplinkRate(STRONG_DB, N_RB)
    assert (weak.capacity_bps, weak.m_rb, weak.rate_per_rb_bps) == (WEAK_BPS, 2, R[4])
    assert weak(1.0) == R[5] == 105240.0  # one RB, all the power in it
    assert weak(0.5) == 0.5 * R[5]  # one RB half the time
    assert weak(1.5) == pytest.approx((R[5] + 2 * R[4]) / 2, abs=1e-9)
    assert weak(25.0) == weak(7.0) == WEAK_BPS  # more RBs give it nothing
    assert (strong.capacity_bps, strong.m_rb) == (STRONG_BPS, 25)
    assert strong(23.0) == strong(22.0) == 22 * R[10] == 7208520.0
    assert strong(12.0) == 12 * R[11] and strong(13.0) == 13 * R[11]
    assert strong(12.5) == pytest.approx(4983450.0, abs=1e-6)
    dead = UplinkRate(UL_BAD_DB, N_RB)
    assert (dead.capacity_bps, dead.m_rb, dead.rate_per_rb_bps, dead(25.0)) == (0, 0, 0, 0)


def test_uplink_rate_is_the_uplink_modules_capacity():
    """G(n_rb) is satsim.scheduler.uplink.capacity_bps; G never falls; M* is the fewest
    RBs reaching it."""
    for s in np.linspace(-30.0, 25.0, 221):
        rate = UplinkRate(float(s), N_RB)
        assert rate.capacity_bps == capacity_bps(s, N_RB)
        g = [rate(float(m)) for m in range(N_RB + 1)]
        assert all(b >= a for a, b in zip(g, g[1:]))
        if rate.capacity_bps > 0:
            assert g[rate.m_rb] == rate.capacity_bps > g[rate.m_rb - 1]


@pytest.mark.parametrize("n_rb", [1, 6, 25, 100])
def test_capacity_kernel_equals_the_numpy_form_bit_for_bit(n_rb):
    """The one-pass capacity kernel against the numpy form (one pass per M), on SINRs at
    and between the CQI thresholds shifted by every M's offset, NaN and infinities."""
    from satsim.link.cqi import CQI_MIN_SINR_DB
    from satsim.scheduler.uplink import _capacity_numpy

    rng = np.random.default_rng(3)
    offsets = 10.0 * np.log10(n_rb / np.arange(1, n_rb + 1))
    at_edges = (CQI_MIN_SINR_DB[1:, None] - offsets[None, :]).ravel()
    s = np.concatenate([rng.uniform(-40.0, 30.0, 3000), at_edges, np.nextafter(at_edges, -99),
                        [np.nan, np.inf, -np.inf]])
    for x in (s, s.astype(np.float32), s[:60].reshape(6, 10)):
        got = capacity_bps(x, n_rb)
        want = _capacity_numpy(x, n_rb)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- one upload
def test_upload_alone_completes_at_the_phones_uplink_capacity():
    """Always covered at 10 dB downlink, -12 dB uplink: a 180,480 B upload takes
    1,443,840 / 144,384 = 10 s; the same bytes downloaded go at the downlink's CQI 9
    (25 x 288,756 bit/s)."""
    view = ul_view([(0, 0.0, 1000.0, 0, 0, 10.0, WEAK_DB)])
    size = bytes_for(WEAK_BPS, 10.0)
    assert size == 180480.0
    res = run(view, config(), [(0, 5.0, size, "upload"), (0, 5.0, size, "download")])
    up, down = res.sessions.iloc[0], res.sessions.iloc[1]
    assert (up["direction"], up["outcome"]) == ("upload", "completed")
    assert up["t_end_s"] == pytest.approx(15.0, abs=1e-9)
    assert up["throughput_kbps"] == pytest.approx(144.384, abs=1e-9)
    assert up["power_limited_s"] == pytest.approx(10.0, abs=1e-9)  # M* = 2 of 25 RBs
    assert down["throughput_kbps"] == pytest.approx(25 * R[9] / 1e3, abs=1e-9)
    assert down["power_limited_s"] == 0.0
    up_summary = res.summary()["data"]["uploads"]
    assert (up_summary["sessions"], up_summary["completed"], up_summary["power_limited"]) \
        == (1, 1, 1)
    assert up_summary["uplink_modelled"] is True
    assert up_summary["throughput_kbps"]["p50"] == pytest.approx(144.384, abs=1e-9)
    assert res.summary()["data"]["downloads"]["sessions"] == 1


def test_a_weaker_uplink_gives_a_lower_rate():
    """Two handsets on their own beams, the same downlink, uplinks at 10 and -12 dB: the
    uploads go at 7,218,900 and 144,384 bit/s."""
    view = ul_view([(0, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB),
                    (1, 0.0, 1000.0, 0, 1, 10.0, WEAK_DB)], n_handsets=2)
    res = run(view, config(), [(0, 1.0, 1e6), (1, 1.0, 1e6)])
    strong, weak = res.sessions["throughput_kbps"]
    assert strong == pytest.approx(STRONG_BPS / 1e3, abs=1e-9)
    assert weak == pytest.approx(WEAK_BPS / 1e3, abs=1e-9)
    assert res.sessions["t_end_s"].iloc[1] == pytest.approx(1.0 + 8e6 / WEAK_BPS, abs=1e-9)
    assert res.sessions["power_limited_s"].iloc[0] == pytest.approx(8e6 / STRONG_BPS,
                                                                     abs=1e-9)


# ---------------------------------------------------------------- sharing the uplink
def test_two_uploads_share_the_beams_uplink_rbs():
    """Two 10 dB phones on one beam: 12.5 RBs each, 4,983,450 bit/s each (not half of
    7,218,900: fewer RBs get more power each); a 1,245,862.5 B upload takes 2 s."""
    view = ul_view([(0, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB),
                    (1, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB)], n_handsets=2)
    size = bytes_for(4983450.0, 2.0)
    res = run(view, config(), [(0, 0.0, size), (1, 0.0, size)])
    np.testing.assert_allclose(res.sessions["t_end_s"], [2.0, 2.0], rtol=0, atol=1e-9)
    assert (res.sessions["power_limited_s"] == 0.0).all()
    assert res.summary()["data"]["uploads"]["power_limited"] == 0


def test_a_power_limited_upload_leaves_its_rbs_to_the_others():
    """A -12 dB phone needs only M* = 2 RBs; the 10 dB phone on the same beam gets the
    other 23 (max-min fair): 144,384 and G(23) = 7,208,520 bit/s."""
    view = ul_view([(0, 0.0, 1000.0, 0, 0, 10.0, WEAK_DB),
                    (1, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB)], n_handsets=2)
    res = run(view, config(), [(0, 0.0, bytes_for(WEAK_BPS, 100.0)),
                               (1, 0.0, bytes_for(7208520.0, 3.0))])
    weak, strong = res.sessions.iloc[0], res.sessions.iloc[1]
    assert strong["t_end_s"] == pytest.approx(3.0, abs=1e-9)
    assert weak["t_end_s"] == pytest.approx(100.0, abs=1e-9)  # its capacity throughout
    assert weak["power_limited_s"] == pytest.approx(100.0, abs=1e-9)
    assert strong["power_limited_s"] == 0.0


def test_voice_calls_take_uplink_rbs_from_uploads():
    """A call holding 3 RBs (in both directions) leaves 22 for the upload of a 10 dB
    phone: G(22) = 22 x 327,660 = 7,208,520 bit/s instead of 7,218,900."""
    view = ul_view([(0, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB),
                    (1, 0.0, 1000.0, 0, 0, 10.0, STRONG_DB)], n_handsets=2)
    cfg = SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(rbs_per_call=3.0), data=DataConfig())
    calls = {"handset": [0], "t_arrival_s": [1.0], "holding_s": [500.0]}
    res = run(view, cfg, [(1, 10.0, 1e6)], calls=calls)
    assert res.calls["rbs"].iloc[0] == 3.0 and res.calls["outcome"].iloc[0] == "completed"
    assert res.sessions["throughput_kbps"].iloc[0] == pytest.approx(7208.52, abs=1e-9)


# ---------------------------------------------------------------- gaps and handovers
def test_upload_pauses_in_a_gap_and_resumes():
    """Served on [0, 100) and [150, 1000) at -12 dB uplink: an upload of 20 s at
    144,384 bit/s arriving at 90 sends 10 s, pauses 50 s, ends at 160."""
    view = ul_view([(0, 0.0, 100.0, 0, 0, 10.0, WEAK_DB),
                    (0, 150.0, 1000.0, 0, 0, 10.0, WEAK_DB)])
    s = run(view, config(), [(0, 90.0, bytes_for(WEAK_BPS, 20.0))]).sessions.iloc[0]
    assert (s["outcome"], s["t_end_s"]) == ("completed", pytest.approx(160.0, abs=1e-9))
    assert s["paused_s"] == pytest.approx(50.0, abs=1e-9)
    assert s["active_s"] == pytest.approx(20.0, abs=1e-9)
    assert s["throughput_kbps"] == pytest.approx(144.384, abs=1e-9)
    assert s["throughput_incl_pauses_kbps"] == pytest.approx(8 * 360.96 / 70.0, abs=1e-9)


def test_upload_aborts_after_the_gap_timeout():
    """A 100 s gap from 100 s and gap_timeout_s = 60: aborted at 160 with the 10 s sent
    before the gap (180,480 B) delivered."""
    view = ul_view([(0, 0.0, 100.0, 0, 0, 10.0, WEAK_DB),
                    (0, 200.0, 1000.0, 0, 0, 10.0, WEAK_DB)])
    res = run(view, config(gap_timeout_s=60.0), [(0, 90.0, bytes_for(WEAK_BPS, 20.0))])
    s = res.sessions.iloc[0]
    assert (s["outcome"], s["t_end_s"]) == ("aborted", pytest.approx(160.0, abs=1e-9))
    assert s["delivered_bytes"] == pytest.approx(180480.0, abs=1e-6)
    assert math.isnan(s["throughput_kbps"])
    assert res.summary()["data"]["uploads"]["aborted"] == 1


def test_an_unusable_uplink_is_a_gap_for_uploads_only():
    """Downlink served throughout; uplink unusable on [100, 130) (one RB below CQI 1): the
    upload pauses 30 s (ends at 140), the download does not; with gap_timeout_s = 20 the
    upload is aborted at 120."""
    view = ul_view([(0, 0.0, 100.0, 0, 0, 10.0, WEAK_DB),
                    (0, 100.0, 130.0, 0, 0, 10.0, UL_BAD_DB),
                    (0, 130.0, 1000.0, 0, 0, 10.0, WEAK_DB)])
    assert view.ul_cqi.tolist() == [4 + 1, 0, 5]  # one RB: CQI 5 (1.98 dB) / 0
    size = bytes_for(WEAK_BPS, 20.0)
    rows = [(0, 90.0, size, "upload"), (0, 90.0, size, "download")]
    up, down = (r for _, r in run(view, config(), rows).sessions.iterrows())
    assert up["t_end_s"] == pytest.approx(140.0, abs=1e-9)
    assert up["paused_s"] == pytest.approx(30.0, abs=1e-9)
    assert down["paused_s"] == 0.0
    assert down["t_end_s"] == pytest.approx(90.0 + 8 * size / (25 * R[9]), abs=1e-9)
    aborted = run(view, config(gap_timeout_s=20.0), rows[:1]).sessions.iloc[0]
    assert (aborted["outcome"], aborted["t_end_s"]) == ("aborted",
                                                        pytest.approx(120.0, abs=1e-9))


def test_upload_handover_interrupts_and_moves_to_the_new_beams_uplink():
    view = ul_view([(0, 0.0, 100.0, 0, 0, 10.0, WEAK_DB),
                    (0, 100.0, 1000.0, 0, 1, 10.0, WEAK_DB)])
    s = run(view, config(handover_interruption_s=0.05),
            [(0, 90.0, bytes_for(WEAK_BPS, 20.0))]).sessions.iloc[0]
    assert s["handovers"] == 1 and (s["sat"], s["beam"], s["last_beam"]) == (0, 0, 1)
    assert s["t_end_s"] == pytest.approx(110.05, abs=1e-9)
    assert s["active_s"] == pytest.approx(20.0, abs=1e-9)


# ---------------------------------------------------------------- views without the uplink
def test_without_uplink_data_uploads_are_carried_as_downloads():
    """No uplink SINR in the view: an upload is a download of its size (same times), and
    the summary says the uplink was not modelled."""
    view = CoverageView.periodic(2, 100.0, 50.0, 2000.0, n_beams=1)
    rows = [(0, 10.0, 3e5), (1, 20.0, 2e6), (0, 95.0, 1e6)]
    up = run(view, config(), rows, "upload")
    down = run(view, config(), rows, "download")
    assert (up.sessions["direction"] == "upload").all()
    pd.testing.assert_frame_equal(up.sessions.drop(columns="direction"),
                                  down.sessions.drop(columns="direction"), check_exact=True)
    assert up.summary()["data"]["uploads"]["uplink_modelled"] is False
    assert up.summary()["data"]["uploads"]["sessions"] == 3


# ---------------------------------------------------------------- draws and identity
def _poisson_view(ul=True, nh=6, seed=2):
    """Six handsets on two beams, sampled every 10 s for 2 h, with gaps; uplink -15 to
    10 dB carrier-wide."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, 7200.0 + 5.0, 10.0)
    n = times.size
    served = rng.random((n, nh)) > 0.05
    served[300:320, :2] = False
    sat = np.zeros((n, nh), dtype=int)
    beam = np.broadcast_to(np.arange(nh) % 2, (n, nh)).copy()
    dl = np.where(served, rng.choice([0.0, 5.0, 10.0], size=(n, nh)), np.nan)
    kw = {}
    if ul:
        kw = {"ul_sinr_db": np.where(served, rng.uniform(-15.0, 10.0, (n, nh)), np.nan),
              "n_rb": N_RB}
    return CoverageView.from_arrays(times, served, sat, beam, dl, **kw)


def test_upload_fraction_zero_gives_the_downloads_of_before():
    """upload_fraction = 0: every session a download, and the table (its columns of
    before) equal to explicit sessions at the same arrivals, which carry no direction (all
    downloads, the scheduler of before); the summary's keys of before are unchanged."""
    view = _poisson_view()
    cfg = config(sessions_per_hour=20.0, upload_fraction=0.0)
    res = simulate(view, cfg, 4)
    s = res.sessions
    assert len(s) > 200 and (s["direction"] == "download").all()
    assert (s["power_limited_s"] == 0.0).all()
    again = simulate(view, cfg, 4, sessions=s[["handset", "t_arrival_s", "size_bytes"]])
    pd.testing.assert_frame_equal(s, again.sessions, check_exact=True)
    data = res.summary()["data"]
    assert data["uploads"]["sessions"] == 0 and data["downloads"]["sessions"] == len(s)
    before = ("sessions", "completed", "aborted", "in_progress", "completion_ratio",
              "throughput_kbps", "throughput_incl_pauses_kbps")
    assert set(data) == set(before) | {"downloads", "uploads"}
    assert data["throughput_kbps"]["p50"] == data["downloads"]["throughput_kbps"]["p50"]


def test_directions_come_from_their_own_stream():
    """The direction is one uniform per session from ``data/directions``: the arrivals and
    sizes, and every other service's draws, are those of upload_fraction = 0; about
    30 % are uploads; same seed, same result."""
    assert "data/directions" in STREAMS
    assert len({stream_key(n) for n in STREAMS}) == len(STREAMS)
    view = _poisson_view()
    sms = SmsConfig(mo_per_hour=2.0, mt_per_hour=2.0)
    a = simulate(view, SchedulerConfig(sms=sms, data=DataConfig(sessions_per_hour=20.0,
                                                                upload_fraction=0.0)), 7)
    cfg = SchedulerConfig(sms=sms, data=DataConfig(sessions_per_hour=20.0,
                                                   upload_fraction=0.3))
    b, c = simulate(view, cfg, 7), simulate(view, cfg, 7)
    cols = ["handset", "t_arrival_s", "size_bytes"]
    pd.testing.assert_frame_equal(a.sessions[cols], b.sessions[cols], check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    pd.testing.assert_frame_equal(b.sessions, c.sessions, check_exact=True)
    assert json.dumps(b.summary(), sort_keys=True) == json.dumps(c.summary(), sort_keys=True)
    n = len(b.sessions)
    k = int((b.sessions["direction"] == "upload").sum())
    assert abs(k - 0.3 * n) < 5 * math.sqrt(n * 0.3 * 0.7)  # binomial, 5 sigma
    ups = b.summary()["data"]["uploads"]
    assert ups["sessions"] == k and ups["uplink_modelled"] is True
    assert ups["completed"] + ups["aborted"] + ups["in_progress"] == k
    # the uploads are slower than the downloads: a -15..10 dB uplink against the downlink
    assert (ups["throughput_kbps"]["p50"]
            < b.summary()["data"]["downloads"]["throughput_kbps"]["p50"])


def test_bad_directions_are_refused():
    view = CoverageView.always_covered(1, 100.0)
    with pytest.raises(InputError, match="'download' or 'upload'"):
        simulate(view, config(), sessions={"handset": [0], "t_arrival_s": [1.0],
                                           "size_bytes": [10.0], "direction": ["up"]})
    with pytest.raises(Exception, match="upload_fraction"):
        DataConfig(upload_fraction=1.5)


def test_report_rows_show_the_uploads():
    """The report's data rows give the uploads apart; an older summary reads n/a."""
    from satsim.results.report import summary_rows

    data = {"sessions": 10, "completed": 9,
            "uploads": {"sessions": 3, "completed": 2,
                        "throughput_kbps": {"p10": 40.0, "p50": 600.0}}}
    rows = {label: v for sec, label, v in summary_rows({"data": data}) if sec == "Data"}
    assert rows["uploads (on the phone's uplink): sessions / completed"] == "3 / 2"
    assert rows["upload throughput: 10th percentile / median"] == "40 kbit/s / 600 kbit/s"
    old = {label: v for sec, label, v in summary_rows({"data": {"sessions": 10}})
           if sec == "Data"}
    assert old["uploads (on the phone's uplink): sessions / completed"] == "n/a / n/a"


@pytest.mark.parametrize("n_rb", [1, 6, 25, 100])
def test_uplink_rate_is_its_definition_per_rb_count(n_rb):
    """G(M) = max over M' <= M of M' x rate(CQI(per_rb_sinr_db(s, n_rb, M'))), bit for bit
    (G(0) = 0), at SINRs on and just below every CQI threshold shifted by every M's
    offset, NaN and infinities."""
    from satsim.scheduler.uplink import per_rb_sinr_db

    offsets = 10.0 * np.log10(n_rb / np.arange(1, n_rb + 1))
    at_edges = (CQI_MIN_SINR_DB[1:, None] - offsets[None, :]).ravel()
    for s in np.concatenate([at_edges, np.nextafter(at_edges, -99), [np.nan, np.inf, -np.inf,
                                                                      -40.0, 0.0, 40.0]]):
        g, best = [0.0], 0.0
        for m in range(1, n_rb + 1):
            best = max(best, m * float(R[int(cqi_from_sinr_db(per_rb_sinr_db(s, n_rb, m)))]))
            g.append(best)
        assert UplinkRate(float(s), n_rb).g == g


def test_the_views_uplink_capacity_is_computed_once():
    view = CoverageView.from_arrays(np.array([0.0, 10.0, 20.0]), np.ones((3, 2), bool),
                                    np.zeros((3, 2), int), np.zeros((3, 2), int),
                                    sinr_db=np.full((3, 2), 5.0),
                                    ul_sinr_db=np.array([[0.0, -20.0], [0.0, -20.0],
                                                         [3.0, -20.0]]), n_rb=N_RB)
    cap = view.ul_capacity_bps()
    assert cap is view.ul_capacity_bps() and not cap.flags.writeable
    np.testing.assert_array_equal(cap, capacity_bps(view.ul_sinr_db, N_RB))
    without = CoverageView.from_arrays(np.array([0.0, 10.0]), np.ones((2, 1), bool),
                                       np.zeros((2, 1), int), np.zeros((2, 1), int),
                                       sinr_db=np.full((2, 1), 5.0))
    with pytest.raises(InputError, match="no uplink data"):
        without.ul_capacity_bps()
