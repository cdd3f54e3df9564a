"""SMS delivery as users see it: alert-on-return for messages to the phone (MT), the
phone's TR1M for its own messages (MO), and the share delivered within 1 min / 5 min / 1 h.

Every expected time here is worked out by hand from the model's terms (the
timeline's edges, the ground delay, the access delay, the transfer time), so
the checks are exact up to float round-off (1e-9 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.results.summary import sms_section
from satsim.scheduler import BeamConfig, CoverageView, SchedulerConfig, SmsConfig, simulate

GROUND_S, ACCESS_S, TRANSFER_S = 0.5, 0.1, 0.25
#: No RACH / paging limits and no paging-occasion wait: the access delay is the only beam term.
BEAMS = BeamConfig(rach_per_s=math.inf, paging_per_s=math.inf, access_delay_s=ACCESS_S,
                   paging_cycle_s=0.0)


def default_retry_sms(**kw) -> SmsConfig:
    """The default SMS settings (retry schedules included), with a fixed transfer time
    and no Poisson traffic."""
    base = dict(mo_per_hour=0.0, mt_per_hour=0.0, service_time="fixed",
                service_mean_s=TRANSFER_S, ground_delay_s=GROUND_S)
    base.update(kw)
    return SmsConfig(**base)


def run(view, sms, rows, beams=BEAMS, seed=0):
    """Explicit messages: rows of (direction, handset, t_arrival_s)."""
    d, h, t = zip(*rows)
    arrivals = {"direction": list(d), "handset": list(h), "t_arrival_s": list(t)}
    return simulate(view, SchedulerConfig(beams=beams, sms=sms), seed, arrivals=arrivals)


# --------------------------------------------------------------------------- MT: alert on return
def test_mt_default_is_alert_on_return_delivered_at_first_served_instant():
    """TS 23.040 §10.3: the SC is alerted when the phone is reachable again and
    retries at once. Coverage [0, 300), gap [300, 900), [900, 1200), ...

    A message arriving at 400 s reaches the beam at 400.5 s: phone absent. The
    phone is back at t_back = 900 s; the alert reaches the SC one ground delay
    later, the retry the beam one more, then random access and the transfer:
    delivered at t_back + 2 x 0.5 + 0.1 + 0.25 = 901.35 s, latency = remaining
    gap (500 s) + ground (1 s) + access (0.1 s) + transfer (0.25 s). A message
    arriving in coverage (100 s) needs one ground delay: 100.85 s.
    """
    view = CoverageView.periodic(1, 300.0, 600.0, 3600.0)
    res = run(view, default_retry_sms(), [("MT", 0, 400.0), ("MT", 0, 100.0),
                                          ("MT", 0, 899.0)])
    ev = res.events.set_index("t_arrival_s")
    t_back = 900.0
    expected = t_back + 2 * GROUND_S + ACCESS_S + TRANSFER_S
    assert ev.loc[400.0, "t_delivered_s"] == pytest.approx(expected, abs=1e-9)
    assert ev.loc[400.0, "latency_s"] == pytest.approx(
        (t_back - 400.0) + 2 * GROUND_S + ACCESS_S + TRANSFER_S, abs=1e-9)
    assert ev.loc[400.0, "attempts"] == 2
    assert ev.loc[100.0, "t_delivered_s"] == pytest.approx(
        100.0 + GROUND_S + ACCESS_S + TRANSFER_S, abs=1e-9)
    # 899 s: the first attempt reaches the beam at 899.5 s, still in the gap; the alert
    # brings it back with the one that arrived at 400 s
    assert ev.loc[899.0, "t_delivered_s"] == pytest.approx(expected, abs=1e-9)


def test_alert_on_return_on_a_sampled_timeline_uses_the_sample_bound():
    """Samples every 10 s, unserved at 30, 40, 50 s: the gap is [25, 55) (a sample
    stands for the interval between the midpoints to its neighbours), so the first
    served instant after it is 55 s and a message arriving at 27 s is delivered at
    55 + 2 x 0.5 + 0.1 + 0.25 = 56.35 s."""
    times = np.arange(0.0, 201.0, 10.0)
    served = np.ones((times.size, 1), dtype=bool)
    served[3:6] = False
    view = CoverageView.from_arrays(times, served, np.zeros_like(served, dtype=np.int64),
                                    np.zeros_like(served, dtype=np.int64),
                                    np.where(served, 10.0, np.nan))
    assert view.gap_end(0, 27.0) == 55.0
    res = run(view, default_retry_sms(), [("MT", 0, 27.0)])
    assert res.events["t_delivered_s"].iloc[0] == pytest.approx(
        55.0 + 2 * GROUND_S + ACCESS_S + TRANSFER_S, abs=1e-9)


def test_fixed_and_backoff_stay_available():
    """The same message (arrival 400 s, in the gap [300, 900)) with the SC's timed
    schedules. Fixed, every 300 s: attempts at 400, 700 (gap), 1000 s (served),
    delivered 1000 + 0.5 + 0.1 + 0.25 s. Backoff 60 s doubling, capped at 240 s:
    attempts at 400, 460, 580, 820 (gap), 1060 s (served)."""
    view = CoverageView.periodic(1, 300.0, 600.0, 3600.0)
    fixed = run(view, default_retry_sms(mt_retry="fixed", mt_retry_s=300.0),
                [("MT", 0, 400.0)]).events
    assert fixed["t_delivered_s"].iloc[0] == pytest.approx(1000.0 + 0.85, abs=1e-9)
    assert fixed["attempts"].iloc[0] == 3
    # backoff 60, 120, 240 (cap 240): attempts at 400, 460, 580, 820, 1060 (served)
    backoff = run(view, default_retry_sms(mt_retry="backoff", mt_retry_s=60.0,
                                          mt_backoff_factor=2.0, mt_retry_max_s=240.0),
                  [("MT", 0, 400.0)]).events
    assert backoff["t_delivered_s"].iloc[0] == pytest.approx(1060.0 + 0.85, abs=1e-9)
    assert backoff["attempts"].iloc[0] == 5


# --------------------------------------------------------------------------- MO: TR1M
def test_mo_attempt_bounded_by_tr1m_in_a_congested_beam():
    """One beam, one transfer at a time (all 25 RBs), 30 s transfers, TR1M = 40 s
    (TS 24.011 §10.1: 35-45 s). Two phones send at 0 s: the first transfers 0-30 s
    (delivered 30.5 s); the second's transfer would run 30-60 s, past its TR1M
    (40 s), so that attempt takes no RBs and fails at 40 s; resubmitted at 40 s it
    runs 40-70 s: delivered at 70.5 s, two attempts."""
    view = CoverageView.always_covered(2, 500.0)
    beams = BeamConfig(rach_per_s=math.inf, paging_per_s=math.inf, access_delay_s=0.0,
                       paging_cycle_s=0.0)
    sms = default_retry_sms(service_mean_s=30.0, rb_per_sms=25, tr1m_s=40.0)
    ev = run(view, sms, [("MO", 0, 0.0), ("MO", 1, 0.0)], beams=beams).events
    got = ev.set_index("handset")
    assert got.loc[0, "t_delivered_s"] == pytest.approx(30.5, abs=1e-9)
    assert got.loc[1, "t_delivered_s"] == pytest.approx(70.5, abs=1e-9)
    assert got["attempts"].tolist() == [1, 2]


def test_mo_lost_attempt_resubmitted_when_tr1m_expires():
    """failure_prob: a lost message or RP-ACK is noticed only when TR1M expires,
    ``tr1m_s`` after the attempt started (before random access): an MO SMS that
    needed k attempts is delivered at t0 + (k - 1) TR1M + access + transfer +
    ground. If TR1M expires in a gap the phone waits for coverage."""
    view = CoverageView.always_covered(10, 20_000.0)
    res = run(view, default_retry_sms(failure_prob=0.5, tr1m_s=37.0),
              [("MO", h, 100.0 * k) for h in range(10) for k in range(1, 100)], seed=3)
    ev = res.events
    assert (ev["outcome"] == "delivered").all()
    k = ev["attempts"].to_numpy()
    assert k.max() >= 3  # the case is not trivial
    np.testing.assert_allclose(ev["latency_s"], 37.0 * (k - 1) + ACCESS_S + TRANSFER_S
                               + GROUND_S, atol=1e-9)
    # TR1M expiring in a gap: coverage [0, 300), [900, 1200); a message sent at 290 s
    # whose first attempt is lost is noticed at 327 s, in the gap, and resubmitted at
    # 900 s: delivered at 900 + 37 (k - 2) + access + transfer + ground after k attempts
    on_off = CoverageView.periodic(200, 300.0, 600.0, 3600.0, n_beams=200)  # no queueing
    ev = run(on_off, default_retry_sms(failure_prob=0.5, tr1m_s=37.0),
             [("MO", h, 290.0) for h in range(200)], seed=5).events
    k = ev["attempts"].to_numpy()
    assert (k == 1).any() and (k == 2).any() and (k >= 3).any()
    later = k >= 2
    np.testing.assert_allclose(ev["t_delivered_s"][later], 900.0 + 37.0 * (k[later] - 2)
                               + ACCESS_S + TRANSFER_S + GROUND_S, atol=1e-9)
    np.testing.assert_allclose(ev["t_delivered_s"][~later], 290.0 + ACCESS_S + TRANSFER_S
                               + GROUND_S, atol=1e-9)


# --------------------------------------------------------------------------- P(delivered within)
def test_delivered_within_shares_by_hand():
    """Coverage [0, 300), [900, 1200), [1800, 2100), ... [4500, 4800); the run ends
    at 5000 s; ideal beams and no ground delay, so a message's latency is its wait
    for coverage (MT: alert on return; MO: the phone waits); validity 560 s.

    ======== ========= ===================== ===========================
    arrival  direction latency, s            within 60 s / 300 s / 3600 s
    ======== ========= ===================== ===========================
    100      MO        0 (covered)           yes yes yes
    2000     MT        0 (covered)           yes yes yes
    850      MO        50                    yes yes yes
    700      MT        200                   no  yes yes
    1250     MO        550                   no  no  yes
    310      MT        expired at 870 s      no  no  no
    4850     MO        in flight at the end  no  no  no
    4950     MT        in flight at the end  no  no  no
    ======== ========= ===================== ===========================

    Expired and in-flight messages count as not delivered.
    """
    view = CoverageView.periodic(1, 300.0, 600.0, 5000.0)
    beams = BeamConfig(rach_per_s=math.inf, paging_per_s=math.inf, access_delay_s=0.0,
                       paging_cycle_s=0.0)
    sms = SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0, service_time="fixed",
                    service_mean_s=0.0, ground_delay_s=0.0, validity_s=560.0)
    rows = [("MO", 0, 100.0), ("MT", 0, 2000.0), ("MO", 0, 850.0), ("MT", 0, 700.0),
            ("MO", 0, 1250.0), ("MT", 0, 310.0), ("MO", 0, 4850.0), ("MT", 0, 4950.0)]
    res = run(view, sms, rows, beams=beams)
    ev = res.events.set_index("t_arrival_s")
    np.testing.assert_allclose(ev.loc[[100.0, 2000.0, 850.0, 700.0, 1250.0], "latency_s"],
                               [0.0, 0.0, 50.0, 200.0, 550.0], atol=1e-9)
    assert ev.loc[310.0, "outcome"] == "expired"
    assert ev.loc[4850.0, "outcome"] == "in_flight" and ev.loc[4950.0, "outcome"] == "in_flight"
    s = res.summary()["sms"]
    within = {name: s[name]["delivered_within"] for name in s}
    assert within["all"] == pytest.approx({"60s": 3 / 8, "300s": 4 / 8, "3600s": 5 / 8})
    assert within["mo"] == pytest.approx({"60s": 2 / 4, "300s": 2 / 4, "3600s": 3 / 4})
    assert within["mt"] == pytest.approx({"60s": 1 / 4, "300s": 2 / 4, "3600s": 2 / 4})
    assert within["covered_at_arrival"] == pytest.approx({"60s": 1.0, "300s": 1.0,
                                                          "3600s": 1.0})
    assert within["arrived_in_gap"] == pytest.approx({"60s": 1 / 6, "300s": 2 / 6,
                                                      "3600s": 3 / 6})
    assert within["mt_arrived_in_gap"] == pytest.approx({"60s": 0.0, "300s": 1 / 3,
                                                         "3600s": 1 / 3})
    # a group with no messages has no share
    empty = run(view, sms, [("MO", 0, 100.0)], beams=beams).summary()["sms"]["mt"]
    assert empty["delivered_within"] == {"60s": None, "300s": None, "3600s": None}
    # summary.json carries them, overall and by group
    section = sms_section(res.summary()["sms"])
    assert section["delivered_within"] == within["all"]
    assert section["by_group"]["mt_arrived_in_gap"]["delivered_within"] == \
        within["mt_arrived_in_gap"]
