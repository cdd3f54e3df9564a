"""Voice calls through radio-link failure: T310, then RRC connection re-establishment
within T311 (TS 36.331 §5.3.11.3 and §5.3.7), else the drop.

Exact cases on synthetic timelines: the expected times follow from the outage's
edges and the two timers, T310 = 1 s (TS 36.331 §9.2.5 default ms1000) and
T311 = 10 s (ms10000); checked to 1e-9 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from satsim.link.cqi import cqi_from_sinr_db
from satsim.scheduler import CoverageView, SchedulerConfig, SmsConfig, VoiceConfig, simulate

T310_S, T311_S = 1.0, 10.0
NO_SMS = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0)


def voice(**kw) -> SchedulerConfig:
    base = dict(t310_s=T310_S, t311_s=T311_S)
    base.update(kw)
    return SchedulerConfig(sms=NO_SMS, voice=VoiceConfig(**base))


def runs_view(runs, n_handsets=1, end_s=1000.0):
    """A view from explicit runs: (handset, start, end, sat, beam, sinr_db)."""
    h, s, e, sat, beam, sinr = (np.array(x) for x in zip(*runs))
    return CoverageView(n_handsets, h, s, e, sat, beam, cqi_from_sinr_db(sinr), sinr,
                        start_s=0.0, end_s=end_s)


def gap_view(gap_s, *, beam_after=0, n_handsets=1, other_runs=()):
    """Handset 0 served by beam 0 on [0, 100), then not served for ``gap_s``, then by
    ``beam_after`` until 1000 s."""
    runs = [(0, 0.0, 100.0, 0, 0, 10.0), (0, 100.0 + gap_s, 1000.0, 0, beam_after, 10.0)]
    return runs_view(runs + list(other_runs), n_handsets)


def one_call(view, config, t0=50.0, holding_s=200.0, extra=()):
    rows = [(0, t0, holding_s), *extra]
    h, t, hold = zip(*rows)
    res = simulate(view, config, 0, calls={"handset": list(h), "t_arrival_s": list(t),
                                           "holding_s": list(hold)})
    return res, res.calls.set_index("handset").loc[0]


@pytest.mark.parametrize("gap_s", [0.5, T310_S])
def test_gap_not_longer_than_t310_is_no_radio_link_failure(gap_s):
    """The link is back by T310's expiry (exactly at it included): a fade, no RLF."""
    _, c = one_call(gap_view(gap_s), voice())
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(250.0, abs=1e-9)
    assert (c["outages"], c["reestablishments"]) == (1, 0)
    assert c["outage_s"] == pytest.approx(gap_s, abs=1e-9)


@pytest.mark.parametrize("gap_s", [1.5, 5.0, T310_S + T311_S])
def test_gap_between_t310_and_t310_plus_t311_is_reestablished(gap_s):
    """RLF at 100 + T310 = 101 s; the link is back at 100 + gap <= 111 s, within T311
    (at its expiry included): re-established, the call goes on to its end at 250 s."""
    res, c = one_call(gap_view(gap_s), voice())
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(250.0, abs=1e-9)
    assert (c["outages"], c["reestablishments"], c["handovers"]) == (1, 1, 0)
    assert c["outage_s"] == pytest.approx(gap_s, abs=1e-9)
    s = res.summary()["voice"]
    assert (s["dropped"], s["reestablishments"], s["calls_reestablished"]) == (0, 1, 1)


@pytest.mark.parametrize("gap_s", [T310_S + T311_S + 0.01, 30.0, 800.0])
def test_gap_longer_than_t310_plus_t311_drops_at_t311_expiry(gap_s):
    """No usable link by 100 + T310 + T311 = 111 s: T311 expires, the UE goes idle,
    the call is dropped then (outage)."""
    res, c = one_call(gap_view(gap_s), voice())
    assert c["outcome"] == "dropped" and c["reason"] == "outage"
    assert c["t_end_s"] == pytest.approx(100.0 + T310_S + T311_S, abs=1e-9)
    assert c["reestablishments"] == 0
    assert res.summary()["voice"]["reestablishments"] == 0


def test_t311_zero_drops_at_t310_expiry():
    """Without re-establishment (T311 = 0) every RLF drops the call, at T310's expiry."""
    _, c = one_call(gap_view(5.0), voice(t311_s=0.0))
    assert c["outcome"] == "dropped" and c["t_end_s"] == pytest.approx(101.0, abs=1e-9)


def test_hanging_up_during_the_t311_search_completes_the_call():
    """The user's call would end at 105 s, after the RLF (101 s) and before both the
    link's return (120 s) and T311's expiry (111 s): completed at 105 s."""
    _, c = one_call(gap_view(20.0), voice(), holding_s=55.0)
    assert c["outcome"] == "completed" and c["t_end_s"] == pytest.approx(105.0, abs=1e-9)


def test_reestablished_on_another_beam_moves_the_rbs_or_is_blocked():
    """Back after 5 s on beam 1: the call is re-admitted there (no handover counted);
    if beam 1's only call slot is taken, the re-establishment is refused: dropped
    (reestablishment_blocked) at the return, 105 s."""
    view = gap_view(5.0, beam_after=1, n_handsets=2,
                    other_runs=[(1, 0.0, 1000.0, 0, 1, 10.0)])
    res, c = one_call(view, voice())
    assert c["outcome"] == "completed" and (c["handovers"], c["reestablishments"]) == (0, 1)
    assert c["last_beam"] == 1
    b = res.beams.set_index("beam")
    rbs = c["rbs"]
    # beam 0 holds the call 50..105 s (through the outage), beam 1 105..250 s
    assert b.loc[0, "voice_rb_s"] == pytest.approx(55.0 * rbs)
    assert b.loc[1, "voice_rb_s"] == pytest.approx(145.0 * rbs)
    res, c = one_call(view, voice(max_calls_per_beam=1), extra=[(1, 10.0, 500.0)])
    assert c["outcome"] == "dropped" and c["reason"] == "reestablishment_blocked"
    assert c["t_end_s"] == pytest.approx(105.0, abs=1e-9)


@pytest.mark.parametrize("n_unserved, outcome, t_end_s", [
    (1, "completed", 250.0),  # outage [95, 105): RLF at 96 s, back at 105 s <= 106 s
    (2, "dropped", 95.0 + T310_S + T311_S),  # [95, 115): T311 expires at 106 s
])
def test_sampled_timeline_resolves_boundaries_on_sample_bounds(n_unserved, outcome, t_end_s):
    """Samples every 10 s, unserved from 100 s: a sample stands for the interval
    between the midpoints to its neighbours, so the outage starts at 95 s and lasts
    n x 10 s; T310 = 1 s < 10 s always gives an RLF, T310 + T311 = 11 s re-establishes
    one missing sample and drops two."""
    times = np.arange(0.0, 1001.0, 10.0)
    served = np.ones((times.size, 1), dtype=bool)
    served[10:10 + n_unserved] = False
    view = CoverageView.from_arrays(times, served, np.zeros((times.size, 1), np.int64),
                                    np.zeros((times.size, 1), np.int64),
                                    np.where(served, 10.0, np.nan))
    _, c = one_call(view, voice())
    assert c["outcome"] == outcome
    assert c["t_end_s"] == pytest.approx(t_end_s, abs=1e-9)
    assert c["reestablishments"] == (1 if outcome == "completed" else 0)


def test_reestablishments_counted_over_calls():
    """Windows [0, 55), [60, 115), [120, 175), ... with 5 s gaps (each an RLF,
    re-established): a 200 s call from 10 s crosses the gaps at 55, 115 and 175 s
    (3 re-establishments); a 40 s call from 300 s stays in [300, 355) (none)."""
    view = CoverageView.periodic(1, 55.0, 5.0, 1000.0)
    res = simulate(view, voice(), 0, calls={"handset": [0, 0], "t_arrival_s": [10.0, 300.0],
                                            "holding_s": [200.0, 40.0]})
    assert res.calls["reestablishments"].tolist() == [3, 0]
    s = res.summary()["voice"]
    assert (s["completed"], s["reestablishments"], s["calls_reestablished"]) == (2, 3, 1)
