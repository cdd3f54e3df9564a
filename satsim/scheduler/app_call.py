"""Calls placed from an app over data: real-time media flows on a beam's data share.

A messaging app's audio or video call (no phone number, no operator voice
service) is, to the network, a data flow of fixed rate for the call's
length. It rides the beam's best-effort data share next to the downloads of
:mod:`satsim.scheduler.data`, behind the native voice calls' reserved RBs,
and the user judges it by two things: whether the media get through at their
rate, and the mouth-to-ear delay.

Model
-----
Attempts are Poisson per handset (``calls_per_hour``), with a holding time
drawn at the attempt (exponential or fixed, mean ``mean_holding_s``). The
call needs ``demand_bps``: the audio bearer (``codec_rate_bps`` plus
``overhead_bytes_per_frame`` every ``frame_s``), plus ``video_rate_bps`` for
``media = "video"``.

1. **Blocked** unless the handset is served at the attempt
   (``no_coverage``), the beam's data share would give the call its rate
   at once (``low_rate``): the RBs the native calls leave, split max-min fair
   among the beam's data flows with this one added
   (:mod:`satsim.scheduler.sharing`, "Real-time flows"), and the phone's
   uplink carries that rate too (``low_uplink``, see "Uplink" below). This
   stands for the app's set-up failing on a connection too poor for the
   call; there is no admission control on a best-effort bearer, so once up
   the call is never refused by the network again: it degrades instead.
2. **Degraded** whenever it gets less than its demand: the beam's share is
   congested (other calls and downloads, native calls' RBs), the phone's
   uplink capacity is below the demand, a handover interruption
   (``handover_interruption_s``, as voice), or an outage. ``degraded_s``
   counts that time (``uplink_degraded_s`` the part in runs whose uplink is
   short, whatever the downlink did then), ``degraded_fraction = degraded_s
   / duration``; the rest of the call is *satisfied*. A change of CQI on the
   same beam changes the RBs the call needs; a handover moves it to the new
   beam's share, unconditionally.
3. **Radio-link failure** as voice (:func:`~satsim.scheduler.voice.radio_link_outcome`,
   TS 36.331 T310 / T311): an outage is any time the handset is not served,
   or its uplink does not reach CQI 1 even in one RB (every other served run
   is usable: the radio link is in sync at CQI 1 and above; a rate too low
   is degradation, not failure). Survived within ``t310_s``; else
   re-established if a usable link returns within ``t311_s``; else
   **dropped** at ``t_leave + t310_s + t311_s``: ``uplink_outage`` if the
   handset was served on the downlink from ``t_leave`` to the drop (the
   uplink alone lost the call), else ``outage``.
4. **Completed** at ``t + holding_s``; still up at the end of the run: **in
   progress**. ``offered = blocked + dropped + completed + in_progress``.

Mouth-to-ear delay
------------------
One direction of the call, phone to far party (the other direction is taken
as symmetric: the timeline gives the downlink; ITU-T G.114 (05/2003) §2 and
Figure 1 judge the one-way delay):

``delay_s = propagation + scheduling + ground_delay_s + codec_delay_s + jitter_buffer_s``

* ``propagation``: the service link (the link timeline's one-way
  ``delay_s``, per run of the :class:`~satsim.scheduler.CoverageView`)
  plus the feeder link (``feeder_delay_s``; None: as long as the service
  link) of the transparent satellite;
* ``scheduling``: the time one audio packet (``frame_bits``) takes on the
  RBs the beam's scheduler can give it at once (:mod:`~satsim.scheduler.sharing`,
  "Real-time flows"), at most one frame interval while the call is
  satisfied. While degraded the queue grows without bound and the jitter
  buffer discards late packets: that time is counted as degraded, not as
  delay;
* the fixed budget: ground segment, codec (frame plus look-ahead) and
  jitter buffer.

A call's ``delay_s`` is the time average over its satisfied time (NaN if it
has none, or if the view has no propagation delays). The summary gives the
50th / 95th percentiles over calls and the share of admitted calls within
G.114's thresholds: 150 ms (transparent to most applications) and 400 ms
(above it, unacceptable for general network planning).

Defaults and sources
--------------------
* ``codec_rate_bps = 28000``: Opus, the lower end of RFC 7587 §3.1.1's
  28-40 kbit/s for fullband speech; ``frame_s = 0.02`` (the usual VoIP
  frame; RFC 6716 allows 2.5-60 ms).
* ``overhead_bytes_per_frame = 54``: IPv4 (20 B, RFC 791), UDP (8 B,
  RFC 768), RTP (12 B, RFC 3550), the SRTP authentication tag (10 B,
  HMAC-SHA1-80, RFC 3711), PDCP / RLC / MAC (about 4 B, as in voice's
  estimate). An app's media go on the default data bearer, without the
  header compression (ROHC) of VoLTE's bearer: 21.6 kbit/s of headers at
  20 ms, a 49.6 kbit/s bearer (native voice: 16.65 kbit/s).
* ``video_rate_bps = 250000``: assumption, within the 150-300 kbit/s of
  low-rate mobile video.
* ``codec_delay_s = 0.0265``: the 20 ms frame plus the Opus encoder's
  6.5 ms look-ahead at 48 kHz (libopus ``OPUS_GET_LOOKAHEAD``).
* ``jitter_buffer_s = 0.05``: assumption, in the 40-60 ms of adaptive VoIP
  playout buffers.
* ``ground_delay_s = 0.03``: assumption, gateway to the far party's phone:
  about 1,000 km of fibre at G.114's planning value of 5 us/km plus a
  terrestrial mobile access and core.
* ``feeder_delay_s = None``: the gateway seen at about the service link's
  range (assumption).
* ``calls_per_hour = 0.5``, ``mean_holding_s = 120``, T310 / T311 and the
  handover interruption: as voice (:mod:`satsim.scheduler.voice`).

Uplink
------
The call is two-way: the phone sends its media at ``demand_bps`` too (a
video call sends video both ways). With uplink data in the view
(:class:`~satsim.scheduler.CoverageView`, the link timeline's ``ul_sinr_db``)
each run has the phone's uplink capacity
(:func:`satsim.scheduler.uplink.capacity_bps`: the most its power gives on
the best number of RBs, ``max over M of M x rate_per_rb(CQI(ul_sinr_db +
10 log10(n_rb / M)))``, from the run's mean uplink SINR); the call is
degraded through a run whose capacity is below ``demand_bps`` (it stays in
the downlink share: the far party's media still use the beam's RBs), and
the radio link is lost in a run whose uplink class is 0 (not even one RB
reaches CQI 1). The sharing of the beam's uplink RBs with other phones is
not modelled: the capacity is the phone's as if alone on the uplink. A view
without uplink data leaves the uplink unconstrained. The mouth-to-ear delay
is the downlink direction's (the uplink's scheduling is not modelled).

Left out: the uplink's sharing and scheduling delay, the app's own give-up
timer on a call without media, the call's own video frames ahead of its
audio, and HARQ retransmissions.

Processes are plain generators ``f(env, ctx, i)`` (``env.now`` seconds since
the scenario epoch); every share call is made at ``env.now``.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from ..link.cqi import RATE_BPS_PER_RB
from .arrivals import at
from .config import AppCallConfig
from .coverage_view import CoverageView, per_run
from .resources import Beams
from .voice import (
    HUNG_UP,
    LOST,
    REESTABLISHED,
    call_attempts,
    call_log_columns,
    call_radio_columns,
    radio_link_outcome,
    usable_runs,
)

#: Outcome codes and names.
COMPLETED, BLOCKED, DROPPED, IN_PROGRESS = 0, 1, 2, 3
OUTCOMES = ("completed", "blocked", "dropped", "in_progress")
#: Reason codes and names (why a call was blocked or dropped; "" otherwise).
NO_REASON, NO_COVERAGE, LOW_RATE, OUTAGE, LOW_UPLINK, UPLINK_OUTAGE = range(6)
REASONS = ("", "no_coverage", "low_rate", "outage", "low_uplink", "uplink_outage")
#: ITU-T G.114 (05/2003) one-way delay thresholds, s: 150 ms (most applications
#: unaffected) and 400 ms (unacceptable above, for general network planning).
G114_GOOD_S, G114_LIMIT_S = 0.150, 0.400

#: :data:`~satsim.link.cqi.RATE_BPS_PER_RB` as floats, for the per-event look-up.
_RATE_BPS_PER_RB = RATE_BPS_PER_RB.tolist()


def app_call_attempts(seed: int, view: CoverageView, app_call: AppCallConfig,
                      day_offset_s: float, blocks=None):
    """Poisson app call attempts of every handset (``voice.call_attempts`` on the
    ``app_call`` streams)."""
    return call_attempts(seed, view, app_call, day_offset_s, "app_call", blocks)


class AppCallContext:
    """Everything the app call processes share, and the per-call log.

    Per call ``i`` (ids in attempt order): ``handset[i]``, ``t_arrival[i]``,
    ``holding[i]``; written by the processes: ``outcome``, ``reason``,
    ``t_end`` (end, drop or block time; NaN while in progress),
    ``satisfied_s``, ``degraded_s`` and ``uplink_degraded_s`` (module
    docstring), ``prop_s_s`` and
    ``sched_s_s`` (propagation and scheduling delay integrated over the
    satisfied time, s x s), ``handovers``, ``outages`` (survived and
    re-established), ``outage_s``, ``reestablishments``, ``sat`` / ``beam``
    at the attempt and ``last_sat`` / ``last_beam``. ``flow[i]`` is the
    call's flow in a share while it is in one (else None); ``wait_from[i]``
    the start of the interruption or outage it is in (else NaN).

    Per run of the view: ``ok`` (the radio link is usable: served, and the
    uplink reaches CQI 1 in one RB; all True without uplink data),
    ``ul_short`` (the phone's uplink capacity is below the demand; all False
    without uplink data) and ``next_ok`` (first ``ok`` run of the handset at
    or after the run, -1); ``ok``, ``ul_short`` and ``prop_s`` (one-way
    propagation, service + feeder link, s) are compact per-run sequences
    (:func:`~satsim.scheduler.coverage_view.per_run`).
    """

    def __init__(self, view: CoverageView, beams: Beams, app_call: AppCallConfig, handset,
                 t_arrival, holding):
        self.view, self.beams, self.config = view, beams, app_call
        self.handset = handset.tolist()
        self.t_arrival = t_arrival.tolist()
        self.holding = holding.tolist()
        n = len(self.t_arrival)
        self.outcome = [IN_PROGRESS] * n
        self.reason = [NO_REASON] * n
        self.t_end = [math.nan] * n
        self.satisfied_s = [0.0] * n
        self.degraded_s = [0.0] * n
        self.uplink_degraded_s = [0.0] * n
        self.prop_s_s = [0.0] * n
        self.sched_s_s = [0.0] * n
        self.handovers = [0] * n
        self.outages = [0] * n
        self.outage_s = [0.0] * n
        self.reestablishments = [0] * n
        self.sat = [-1] * n
        self.beam = [-1] * n
        self.last_sat = [-1] * n
        self.last_beam = [-1] * n
        self.flow = [None] * n
        self.wait_from = [math.nan] * n
        self._flow_prop_s = [math.nan] * n  # propagation delay of the run of flow[i]
        self._flow_ul_short = [False] * n  # the uplink of flow[i]'s run is short
        self.demand_bps = app_call.demand_bps
        self.frame_bits = app_call.frame_bits
        # one-way propagation per run: service link + feeder link
        if view.delay_s is None:
            self.prop_s = per_run(np.full(view.n_runs, math.nan))
        else:
            service = view.delay_s.astype(np.float64)
            feeder = service if app_call.feeder_delay_s is None else app_call.feeder_delay_s
            self.prop_s = per_run(service + feeder)
        if view.has_uplink:
            ok = view.ul_cqi >= 1
            cap = view.ul_capacity_bps()
            self.ul_short = per_run(cap < self.demand_bps * (1.0 - 1e-12))
        else:
            ok = np.ones(view.n_runs, dtype=bool)
            self.ul_short = per_run(np.zeros(view.n_runs, dtype=bool))
        self.ok = per_run(ok)
        _, self.next_ok = usable_runs(view, ok)

    def join(self, i: int, j: int, t_leave: float):
        """Put call ``i`` in the data share of run ``j``'s beam until ``t_leave``; the
        share's event."""
        view = self.view
        sat, b = int(view.sat[j]), int(view.beam[j])
        self.last_sat[i], self.last_beam[i] = sat, b
        share = self.beams.data_share(sat, b)
        key = ("app_call", i)
        event = share.join(key, math.inf, _RATE_BPS_PER_RB[int(view.cqi[j])], t_leave,
                           demand_bps=self.demand_bps, frame_bits=self.frame_bits)
        self.flow[i] = share.flows[key]
        self._flow_prop_s[i] = self.prop_s[j]
        self._flow_ul_short[i] = self.ul_short[j]
        return event

    def leave(self, i: int) -> None:
        """Add the times of call ``i``'s flow (it left its share) to its log; all of
        it degraded if the run's uplink was short."""
        f = self.flow[i]
        if self._flow_ul_short[i]:
            t = f.satisfied_s + f.degraded_s
            self.degraded_s[i] += t
            self.uplink_degraded_s[i] += t
        else:
            self.satisfied_s[i] += f.satisfied_s
            self.degraded_s[i] += f.degraded_s
            self.sched_s_s[i] += f.frame_delay_s_s
            self.prop_s_s[i] += f.satisfied_s * self._flow_prop_s[i]
        self.flow[i] = None

    def wait(self, env, i: int, t_from: float, t_until: float):
        """Event: call ``i`` without media from ``t_from`` (now) to ``t_until``; the time
        is added to ``degraded_s`` when it is over (or at the end of the run)."""
        self.wait_from[i] = t_from
        return at(env, t_until)

    def waited(self, i: int, t: float) -> None:
        """The wait of call ``i`` ended at ``t``."""
        self.degraded_s[i] += t - self.wait_from[i]
        self.wait_from[i] = math.nan

    def finish(self, i: int, t: float, outcome: int, reason: int = NO_REASON) -> None:
        self.t_end[i], self.outcome[i], self.reason[i] = t, outcome, reason

    def lost_reason(self, h: int, t_leave: float, t_drop: float) -> int:
        """Why a call of handset ``h`` lost at ``t_drop`` in an outage from ``t_leave``:
        ``UPLINK_OUTAGE`` if the downlink served it throughout, else ``OUTAGE``."""
        j = self.view.run_at(h, t_leave)
        return UPLINK_OUTAGE if j >= 0 and self.view.cover_end[j] >= t_drop else OUTAGE

    def finalize(self, end_s: float) -> None:
        """At the end of the run: the times of the calls still in a share or a wait."""
        for b in self.beams.all():
            if b.data is not None:
                b.data.sync(end_s)
        for i, f in enumerate(self.flow):
            if f is not None:
                self.leave(i)
            if not math.isnan(self.wait_from[i]):
                self.waited(i, end_s)


def app_call(env, ctx: AppCallContext, i: int):
    """Process: one app call attempt, from set-up to its end, drop or the end of the run."""
    view = ctx.view
    h = ctx.handset[i]
    t0 = ctx.t_arrival[i]
    t_end = t0 + ctx.holding[i]
    j = view.run_at(h, t0)
    if j < 0:
        ctx.finish(i, t0, BLOCKED, NO_COVERAGE)
        return
    sat, b = int(view.sat[j]), int(view.beam[j])
    ctx.sat[i], ctx.beam[i] = ctx.last_sat[i], ctx.last_beam[i] = sat, b
    share = ctx.beams.data_share(sat, b)
    offered = share.offered_rate_bps(_RATE_BPS_PER_RB[int(view.cqi[j])], ctx.demand_bps)
    if offered < ctx.demand_bps * (1.0 - 1e-12):
        ctx.finish(i, t0, BLOCKED, LOW_RATE)
        return
    if not ctx.ok[j] or ctx.ul_short[j]:
        ctx.finish(i, t0, BLOCKED, LOW_UPLINK)
        return
    hi = view.offsets[h + 1]
    while True:
        t_run_end = float(view.end[j])
        yield ctx.join(i, j, min(t_run_end, t_end))
        ctx.leave(i)
        if t_end <= t_run_end:  # the user hangs up
            ctx.finish(i, t_end, COMPLETED)
            return
        t = t_run_end
        nxt = j + 1
        if nxt < hi and view.start[nxt] == t and ctx.ok[nxt]:
            # the link goes on: same beam, or a handover
            if (int(view.sat[nxt]), int(view.beam[nxt])) != (ctx.last_sat[i], ctx.last_beam[i]):
                ctx.handovers[i] += 1
                gap = min(ctx.config.handover_interruption_s, t_end - t)
                if gap > 0.0:
                    yield ctx.wait(env, i, t, t + gap)
                    t += gap
                    ctx.waited(i, t)
                    if t >= t_end:
                        ctx.finish(i, t_end, COMPLETED)
                        return
            j = view.run_at(h, t)
            if j >= 0 and ctx.ok[j]:
                continue
            # the interruption ran into a gap or an unusable uplink: the outage starts now
            nxt = j if j >= 0 else bisect_left(view.start, t, int(view.offsets[h]), hi)
        # an outage from t: when is the handset served again?
        m = int(ctx.next_ok[nxt]) if nxt < hi else -1
        t_back = float(view.start[m]) if m >= 0 else math.inf
        kind, t_stop = radio_link_outcome(t, t_back, t_end, ctx.config.t310_s,
                                          ctx.config.t311_s)
        yield ctx.wait(env, i, t, t_stop)
        ctx.waited(i, t_stop)
        if kind == HUNG_UP:
            ctx.finish(i, t_end, COMPLETED)
            return
        if kind == LOST:
            ctx.finish(i, t_stop, DROPPED, ctx.lost_reason(h, t, t_stop))
            return
        ctx.outages[i] += 1
        ctx.outage_s[i] += t_stop - t
        if kind == REESTABLISHED:
            ctx.reestablishments[i] += 1
        elif (int(view.sat[m]), int(view.beam[m])) != (ctx.last_sat[i], ctx.last_beam[i]):
            ctx.handovers[i] += 1  # a fade survived onto another beam, as voice counts it
        j = m


def app_calls_table(ctx: AppCallContext, interruption_s: float):
    """The ``app_calls`` table of :class:`~satsim.scheduler.SchedulerResult`: one row per
    attempt (see its docstring)."""
    import pandas as pd

    outcome = np.asarray(ctx.outcome, dtype=np.int64)
    satisfied = np.asarray(ctx.satisfied_s, dtype=np.float64)
    degraded = np.asarray(ctx.degraded_s, dtype=np.float64)
    ul_degraded = np.asarray(ctx.uplink_degraded_s, dtype=np.float64)
    up = satisfied + degraded  # time since admission (0 for a blocked attempt)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = np.asarray(ctx.prop_s_s, dtype=np.float64) / satisfied
        sched = np.asarray(ctx.sched_s_s, dtype=np.float64) / satisfied
        degraded_fraction = np.where(outcome == BLOCKED, np.nan, degraded / up)
    fixed = ctx.config.fixed_delay_s
    return pd.DataFrame({
        **call_log_columns(ctx, OUTCOMES, REASONS),
        "demand_bps": np.full(outcome.size, ctx.demand_bps),
        "satisfied_s": satisfied,
        "degraded_s": degraded,
        "uplink_degraded_s": ul_degraded,
        "degraded_fraction": degraded_fraction,
        "propagation_s": prop,
        "scheduling_s": sched,
        "delay_s": prop + sched + fixed,
        **call_radio_columns(ctx, interruption_s),
    })
