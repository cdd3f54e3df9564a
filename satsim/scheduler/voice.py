"""Voice calls over the satellite beams: admission, handovers, fades, drops.

Model
-----
Call attempts are Poisson per handset (``calls_per_hour``), each with a
holding time drawn at the attempt (exponential or fixed, mean
``mean_holding_s``): how long the user would talk. An attempt at ``t``:

1. **Blocked** unless the handset is served at ``t`` (``no_coverage``) with
   a downlink SINR at or above the voice threshold (``low_sinr``) and an
   uplink that carries the bearer too (``low_uplink``, see "Uplink" below;
   a call with both links too weak is ``low_sinr``), and its beam can
   reserve the call's RBs at once (``beam_full``): Erlang's loss system, no
   queueing, no retry.
2. **Admitted**: the call holds ``rbs`` RB-equivalents in uplink and
   downlink of its beam (a :class:`~satsim.scheduler.resources.GbrPool`)
   until it ends, is dropped or moves.
3. **Handover**: where the link timeline changes the serving (satellite,
   beam) without a break, the call releases its RBs and reserves them on
   the new beam (recomputed from the CQI there), costing
   ``handover_interruption_s`` of silence; if the new beam is full the call
   is **dropped** (``handover_blocked``), the usual choice of loss models, as
   a handover cannot wait.
4. **Fades and radio-link failure**: an *outage* is any time the handset is
   not served, or served below the voice threshold on the downlink or the
   uplink; it starts at ``t_leave`` and ends at ``t_back``, the first instant
   a usable link (voice threshold met both ways) serves the handset again.
   The UE starts T310 on out-of-sync indications and declares radio-link
   failure (RLF) when it expires (TS 36.331 §5.3.11.3; N310, the
   out-of-sync count before T310 starts, default 1, is taken as 1). An
   uplink too weak is a radio-link problem as well: the phone's RLC
   retransmissions run out (``maxRetxThreshold``, TS 36.322 §5.2.1, an RLF
   by TS 36.331 §5.3.11.3) or the eNB, losing its uplink, releases or
   re-establishes the connection; it is taken through the same T310 and
   T311 as the downlink's (an assumption):

   * ``t_back - t_leave <= t310_s``: no RLF, the fade is survived;
   * otherwise RLF at ``t_rlf = t_leave + t310_s``. The UE starts T311 and
     RRC connection re-establishment (§5.3.7): it looks for a suitable cell
     and, when it finds one, sends the re-establishment request on it. If
     ``t_back <= t_rlf + t311_s`` the call is **re-established** at
     ``t_back`` and continues (on the beam then serving: a re-admission
     there, **dropped** as ``reestablishment_blocked`` if that beam is
     full); counted in ``reestablishments``;
   * else T311 expires with no usable link, the UE goes to RRC_IDLE and the
     call is **dropped** at ``t_leave + t310_s + t311_s``: ``uplink_outage``
     if the downlink was usable from ``t_leave`` to the drop (the uplink
     alone lost the call), else ``outage``.

   Through an outage the call keeps its RBs on the beam it had (the network
   does not yet know); after it, it continues on the beam then serving (a
   handover if the beam changed and there was no RLF). The re-establishment
   signalling itself (T301: random access, request, answer, about the
   access delay) is neglected, as is the chance the target refuses it for
   want of the UE's context (re-establishment assumed to succeed whenever a
   usable link appears in time, as with satellites handing over to the next
   one). ``t311_s = 0`` disables re-establishment: every RLF drops the call.

   Boundaries are inclusive: an outage of exactly ``t310_s`` causes no RLF,
   a usable link back exactly at ``t_rlf + t311_s`` re-establishes. On a
   timeline sampled every ``step_s`` (the link layer's runs), ``t_leave`` and
   ``t_back`` are sample bounds, the midpoints between samples (see
   :mod:`satsim.scheduler.coverage_view`), so an outage of ``n`` unusable
   samples lasts exactly ``n step_s``: it causes an RLF iff ``n step_s >
   t310_s`` and is re-established iff ``n step_s <= t310_s + t311_s``; the
   true edges are within half a step of the bounds.
5. **Completed** at ``t + holding_s``, also when that instant falls inside a
   survived outage, one not yet longer than T310, or one in its T311 search
   (the user hangs up first). Interruptions and fades do not lengthen a
   call.

Calls still up when the run ends are **in progress**. For every run
``offered = blocked + dropped + completed + in_progress``.

Attempts are independent, Erlang's infinite-source model: a handset may have
two calls up at once (a handset stands for its user's line; at the default
16.7 mErl per handset an attempt finds its own handset busy 1.7 % of the
time). A busy-line model would turn the offered traffic into Engset's.

RBs per call
------------
Unless ``rbs_per_call`` fixes it, a call needs ``bearer_rate_bps /
rate_bps_per_rb(cqi)`` RB-equivalents at the CQI of admission or handover,
a fraction of an RB at most CQIs: the semi-persistent grant of VoLTE
(TS 36.321 §5.10), configured at set-up and at each handover and not resized
when the CQI changes within a beam. ``bearer_rate_bps`` is the codec rate
plus the per-frame overhead. The voice threshold is the SINR of the lowest
CQI at which the bearer fits in ``max_rbs_per_call`` (or the fixed
``rbs_per_call``) RBs, raised to ``min_sinr_db`` if given. The call's uplink
RBs are reserved with the downlink's, the same number (one pool per beam
for both directions).

Uplink
------
With uplink data in the view (:class:`~satsim.scheduler.CoverageView`, from
the link timeline's ``ul_sinr_db``), the bearer must fit on the uplink too,
in at most ``max_rbs_per_call`` RBs. The phone concentrates its power in the
``M`` RBs it sends in (:mod:`satsim.scheduler.uplink`, TS 36.213 §5.1.1.1),
so its per-RB SINR is ``ul_sinr_db + 10 log10(n_rb / M)``; the uplink is
usable if, for some grant ``M``, that SINR reaches the threshold of the
lowest CQI at which the bearer fits in ``M`` RBs
(:attr:`~satsim.scheduler.VoiceConfig.uplink_grants`: whole RBs ``M = 1, 2,
...`` up to ``max_rbs_per_call``, at least one, below one RB the
RB-equivalents of the downlink; a fixed ``rbs_per_call`` is one grant of
that size), and ``min_sinr_db`` if given. With the default
``max_rbs_per_call = 1`` that is the downlink's rule: the per-RB SINR in one
RB at the voice threshold (CQI 1, -6.934 dB), read exactly per sample from
the view's one-RB uplink class; larger grants (and a ``min_sinr_db``
floor) read the run's mean uplink SINR. One RB is 14 dB above the
carrier-wide SINR on a 25-RB carrier, so at the default only a carrier-wide
uplink SINR below -20.9 dB stops a call. One RB is the best grant for the
default bearer: at CQI 1 it carries 18.3 kbit/s, more than the 16.65
kbit/s needed, and more RBs only lower each one's SINR. A view without
uplink data leaves the uplink unconstrained (the model before the uplink
was read). The downlink decides ``low_sinr`` first: ``low_uplink`` means
the downlink was usable.

Defaults and sources
--------------------
* ``codec_rate_bps = 12650``: AMR-WB mode 2, 12.65 kbit/s (3GPP TS 26.171,
  modes 6.60 to 23.85 kbit/s), the usual VoLTE rate; EVS at 13.2 kbit/s is
  TS 26.441. Both send one frame per 20 ms (``frame_s = 0.02``).
* ``overhead_bytes_per_frame = 10``: RTP payload header (RFC 4867, about
  2 B), ROHC-compressed RTP/UDP/IP (RFC 5795, 3-4 B), PDCP (TS 36.323, 2 B),
  RLC UM (TS 36.322, 1 B) and MAC subheader (TS 36.321, 1-2 B): an estimate,
  4 kbit/s at 20 ms frames; bearer 16.65 kbit/s.
* ``max_rbs_per_call = 1.0``: a handset at the edge concentrates its uplink
  power in one RB; with it the bearer fits from CQI 1 (18.3 kbit/s per RB),
  so the default threshold is CQI 1's -6.934 dB (any served handset).
* ``t310_s = 1.0``: TS 36.331 §9.2.5 default t310 = ms1000.
* ``t311_s = 10.0``: the network broadcasts T311 in SIB2
  (``ue-TimersAndConstants``, ms1000 to ms30000, TS 36.331); 10 s is the
  value the srsRAN and OpenAirInterface eNBs ship in their default
  configurations, taken as a typical operator setting (assumption:
  operators' values are not published).
* ``handover_interruption_s = 0.05``: LTE intra-frequency handover to a
  known cell, T_interrupt = T_search + T_IU + 20 ms with T_search = 0 and
  T_IU up to 30 ms (TS 36.133 §5.1.2.1); the satellite's longer round trip
  adds to the random access and is not included.
* ``calls_per_hour = 0.5``, ``mean_holding_s = 120``: 16.7 mErl per handset,
  an assumption in the range of busy-hour planning figures for mobile voice
  (2 min mean call); not a 3GPP value.

Processes are plain generators ``f(env, ctx, i)`` (``env.now`` seconds since
the scenario epoch); every resource call is made at ``env.now``.
"""

from __future__ import annotations

import math

import numpy as np

from ..link.cqi import CQI_MIN_SINR_DB, MAX_CQI, RATE_BPS_PER_RB, cqi_from_sinr_db
from .arrivals import at, handset_arrivals, handset_draws
from .config import VoiceConfig
from .coverage_view import CoverageView, next_true, next_true_within
from .resources import Beams
from .uplink import per_rb_sinr_db

#: Outcome codes and names.
COMPLETED, BLOCKED, DROPPED, IN_PROGRESS = 0, 1, 2, 3
OUTCOMES = ("completed", "blocked", "dropped", "in_progress")
#: Reason codes and names (why a call was blocked or dropped; "" otherwise).
(NO_REASON, NO_COVERAGE, LOW_SINR, BEAM_FULL, OUTAGE, HANDOVER_BLOCKED, REESTABLISHMENT_BLOCKED,
 LOW_UPLINK, UPLINK_OUTAGE) = range(9)
REASONS = ("", "no_coverage", "low_sinr", "beam_full", "outage", "handover_blocked",
           "reestablishment_blocked", "low_uplink", "uplink_outage")
#: How an outage ends for a call (:func:`radio_link_outcome`).
SURVIVED, REESTABLISHED, LOST, HUNG_UP = range(4)


def radio_link_outcome(t_leave: float, t_back: float, t_end: float, t310_s: float,
                       t311_s: float) -> tuple[int, float]:
    """How an outage ends for a call, by the T310 / T311 rules of the module docstring.

    The outage starts at ``t_leave``; a usable link is back at ``t_back``
    (``inf``: never); the user would hang up at ``t_end``. Returns ``(kind, t)``:
    ``(SURVIVED, t_back)``, back within T310 (no radio-link failure);
    ``(REESTABLISHED, t_back)``, a radio-link failure at ``t_leave + t310_s``,
    then RRC re-establishment within T311; ``(LOST, t_leave + t310_s + t311_s)``,
    T311 expired, the call is dropped; ``(HUNG_UP, t_end)``, the user hung up
    first (in the fade or the T311 search). Boundaries are inclusive (module
    docstring). Shared by voice and app calls (:mod:`satsim.scheduler.app_call`).
    """
    t_rlf = t_leave + t310_s  # T310 expires: radio-link failure
    t_drop = t_rlf + t311_s  # T311 expires: RRC_IDLE, the call is lost
    if t_back > t_drop:  # no usable link in time, unless the call ends first
        return (HUNG_UP, t_end) if t_end <= t_drop else (LOST, t_drop)
    if t_end <= t_back:
        return HUNG_UP, t_end
    return (REESTABLISHED if t_back > t_rlf else SURVIVED), t_back


def call_attempts(seed: int, view: CoverageView, calls, day_offset_s: float,
                  service: str = "voice", blocks=None):
    """Poisson call attempts of every handset: ``(handset int32, t_s, holding_s)``,
    by handset then time, from the streams ``<service>/attempts`` and
    ``<service>/holding`` (block by block: ``arrivals.handset_draws``); ``calls``
    is a VoiceConfig or an AppCallConfig (rate, daily profile, holding law);
    ``blocks``: only those traffic blocks' handsets (``arrivals.handset_arrivals``)."""
    handset, t = handset_arrivals(seed, f"{service}/attempts", view.n_handsets,
                                  calls.calls_per_hour, view.start_s, view.end_s,
                                  calls.daily_profile, day_offset_s, blocks)
    if calls.holding == "fixed":
        return handset, t, np.full(t.size, float(calls.mean_holding_s))
    hold = handset_draws(seed, f"{service}/holding", handset, view.n_handsets,
                         lambda rng, n: rng.exponential(calls.mean_holding_s, n))
    return handset, t, hold


def voice_attempts(seed: int, view: CoverageView, voice: VoiceConfig, day_offset_s: float,
                   blocks=None):
    """Poisson voice call attempts of every handset (:func:`call_attempts`)."""
    return call_attempts(seed, view, voice, day_offset_s, "voice", blocks)


def call_log_columns(ctx, outcome_names=OUTCOMES, reason_names=REASONS) -> dict:
    """The first columns of a calls table (voice or app calls) from a context's
    log: id, handset, arrival, holding, end, duration, outcome and reason names."""
    t_arrival = np.asarray(ctx.t_arrival, dtype=np.float64)
    t_end = np.asarray(ctx.t_end, dtype=np.float64)
    return {
        "id": np.arange(t_arrival.size, dtype=np.int64),
        "handset": np.asarray(ctx.handset, dtype=np.int64),
        "t_arrival_s": t_arrival,
        "holding_s": np.asarray(ctx.holding, dtype=np.float64),
        "t_end_s": t_end,
        "duration_s": t_end - t_arrival,
        "outcome": np.asarray(outcome_names, dtype=object)[np.asarray(ctx.outcome,
                                                                      dtype=np.int64)],
        "reason": np.asarray(reason_names, dtype=object)[np.asarray(ctx.reason,
                                                                    dtype=np.int64)],
    }


def call_radio_columns(ctx, interruption_s: float) -> dict:
    """The last columns of a calls table: handovers and their interruption, outages
    survived, re-establishments, and the first and last serving (satellite, beam)."""
    handovers = np.asarray(ctx.handovers, dtype=np.int32)
    return {
        "handovers": handovers,
        "interruption_s": handovers * interruption_s,
        "outages": np.asarray(ctx.outages, dtype=np.int32),
        "outage_s": np.asarray(ctx.outage_s, dtype=np.float64),
        "reestablishments": np.asarray(ctx.reestablishments, dtype=np.int32),
        **serving_columns(ctx),
    }


def serving_columns(ctx) -> dict:
    """The serving-beam columns of a call or session table: ``sat`` / ``beam`` (first
    serving beam, -1: none) and ``last_sat`` / ``last_beam`` (latest)."""
    return {name: np.asarray(getattr(ctx, name), dtype=np.int32)
            for name in ("sat", "beam", "last_sat", "last_beam")}


class VoiceContext:
    """Everything the call processes share, and the per-call log.

    Per call ``i`` (ids in attempt order): ``handset[i]``, ``t_arrival[i]``,
    ``holding[i]``; written by the processes: ``outcome``, ``reason``,
    ``t_end`` (end, drop or block time; NaN while in progress), ``rbs`` (at
    admission), ``handovers``, ``outages`` (survived, re-established ones
    included), ``outage_s``, ``reestablishments``,
    ``sat`` / ``beam`` at the attempt and ``last_sat`` / ``last_beam``.

    Per run of the view (see :class:`CoverageView`): ``ok`` (voice possible:
    CQI and SINR above the threshold, both ways), ``dl_ok`` (the downlink
    alone: ``ok`` without uplink data), ``dl_ok_end`` (end of the touching
    runs from the run on, all ``dl_ok``; None without uplink data),
    ``stretch_last`` (last run of the stretch of touching runs of one beam,
    all ``ok``, that starts at the run) and ``next_ok`` (first ``ok`` run of
    the handset at or after the run, -1).
    """

    def __init__(self, view: CoverageView, beams: Beams, voice: VoiceConfig, handset, t_arrival,
                 holding):
        self.view, self.beams, self.config = view, beams, voice
        self.handset = handset.tolist()
        self.t_arrival = t_arrival.tolist()
        self.holding = holding.tolist()
        n = len(self.t_arrival)
        self.outcome = [IN_PROGRESS] * n
        self.reason = [NO_REASON] * n
        self.t_end = [math.nan] * n
        self.rbs = [math.nan] * n
        self.handovers = [0] * n
        self.outages = [0] * n
        self.outage_s = [0.0] * n
        self.reestablishments = [0] * n
        self.sat = [-1] * n
        self.beam = [-1] * n
        self.last_sat = [-1] * n
        self.last_beam = [-1] * n
        self.t310_s = voice.t310_s
        self.t311_s = voice.t311_s
        if voice.rbs_per_call is not None:
            self.rbs_of_cqi = [float(voice.rbs_per_call)] * (MAX_CQI + 1)
        else:
            self.rbs_of_cqi = [voice.bearer_rate_bps / r if r > 0 else math.inf
                               for r in RATE_BPS_PER_RB.tolist()]
        self.ok, self.dl_ok, self.dl_ok_end = _voice_runs(view, voice)
        self.stretch_last, self.next_ok = usable_runs(view, self.ok)

    def set_serving(self, i: int, j: int) -> tuple[int, int]:
        """Record run ``j``'s satellite and beam as call ``i``'s latest; return them."""
        sat, b = int(self.view.sat[j]), int(self.view.beam[j])
        self.last_sat[i], self.last_beam[i] = sat, b
        return sat, b

    def finish(self, i: int, t: float, outcome: int, reason: int = NO_REASON) -> None:
        self.t_end[i], self.outcome[i], self.reason[i] = t, outcome, reason

    def lost_reason(self, nxt: int, hi: int, t_leave: float, t_drop: float) -> int:
        """Why a call lost at ``t_drop`` in an outage from ``t_leave`` (run ``nxt`` the
        handset's first after its last usable one, ``hi`` its end): ``UPLINK_OUTAGE``
        if the downlink was usable throughout, else ``OUTAGE``."""
        if self.dl_ok_end is None or nxt >= hi or self.view.start[nxt] != t_leave:
            return OUTAGE
        return UPLINK_OUTAGE if self.dl_ok[nxt] and self.dl_ok_end[nxt] >= t_drop else OUTAGE


def _voice_runs(view: CoverageView, voice: VoiceConfig):
    """Per-run arrays ``ok``, ``dl_ok`` and ``dl_ok_end`` (see :class:`VoiceContext`)."""
    min_cqi, threshold_db = voice.min_cqi, voice.threshold_sinr_db
    dl_ok = (view.cqi >= min_cqi) & (view.sinr_db.astype(np.float64) >= threshold_db)
    nan = np.flatnonzero(np.isnan(view.sinr_db))
    if nan.size:  # CQI only: its lower bound
        cqi = view.cqi[nan].astype(np.int64)
        dl_ok[nan] = (cqi >= min_cqi) & (CQI_MIN_SINR_DB[cqi] >= threshold_db)
    if not view.has_uplink:
        return dl_ok, dl_ok, None
    ok = dl_ok & uplink_ok(view, voice)
    both = dl_ok.copy()  # run j and j + 1 both usable on the downlink
    both[:-1] &= dl_ok[1:]
    return ok, dl_ok, view.end[view.chain_last(both)]


def uplink_ok(view: CoverageView, voice: VoiceConfig) -> np.ndarray:
    """Per run of ``view`` (with uplink data): the phone's uplink carries the voice
    bearer in one of ``voice.uplink_grants`` (module docstring, "Uplink")."""
    ok = np.zeros(view.n_runs, dtype=bool)
    for m_rb, need_cqi in voice.uplink_grants:
        if m_rb == 1.0:  # the view's class is the one-RB CQI: exact per sample
            fits = view.ul_cqi >= need_cqi
        else:
            fits = cqi_from_sinr_db(per_rb_sinr_db(view.ul_sinr_db, view.n_rb, m_rb)) >= need_cqi
        if voice.min_sinr_db is not None:
            fits &= per_rb_sinr_db(view.ul_sinr_db, view.n_rb, m_rb) >= voice.min_sinr_db
        ok |= fits
    return ok


def usable_runs(view: CoverageView, ok: np.ndarray):
    """``stretch_last`` and ``next_ok`` per run of ``view`` for the usable runs ``ok``
    (see :class:`VoiceContext`; shared with :mod:`satsim.scheduler.app_call`).

    Linear passes over the runs in numba (:func:`~satsim.scheduler.coverage_view.next_true`,
    :func:`~satsim.scheduler.coverage_view.next_true_within`; no sort or search, and no
    temporary per run beyond the answers), so their cost is a small constant per run."""
    n = view.n_runs
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    link = view.touching()  # run j continues into j + 1 for voice: same beam, both usable
    link[:-1] &= ((view.sat[1:] == view.sat[:-1]) & (view.beam[1:] == view.beam[:-1])
                  & ok[1:] & ok[:-1])
    stretch_last = next_true(~link)
    # first ok run at or after j, if it is the same handset's (before its handset's end)
    next_ok = next_true_within(view.offsets, np.ascontiguousarray(ok, dtype=bool))
    return stretch_last, next_ok


def voice_call(env, ctx: VoiceContext, i: int):
    """Process: one call attempt, from admission to its end, drop or the end of the run."""
    view, beams = ctx.view, ctx.beams
    h = ctx.handset[i]
    t0 = ctx.t_arrival[i]
    t_end = t0 + ctx.holding[i]
    j = view.run_at(h, t0)
    if j < 0:
        ctx.finish(i, t0, BLOCKED, NO_COVERAGE)
        return
    sat, b = ctx.set_serving(i, j)
    ctx.sat[i], ctx.beam[i] = sat, b
    if not ctx.ok[j]:
        ctx.finish(i, t0, BLOCKED, LOW_UPLINK if ctx.dl_ok[j] else LOW_SINR)
        return
    beam = beams.get(sat, b)
    n_rb = ctx.rbs_of_cqi[int(view.cqi[j])]
    if not beam.admit_call(env.now, n_rb):
        ctx.finish(i, t0, BLOCKED, BEAM_FULL)
        return
    ctx.rbs[i] = n_rb
    hi = view.offsets[h + 1]
    while True:
        k = int(ctx.stretch_last[j])
        t_leave = float(view.end[k])
        if t_end <= t_leave:  # the user hangs up on this beam
            yield at(env, t_end)
            beam.end_call(env.now, n_rb)
            ctx.finish(i, t_end, COMPLETED)
            return
        nxt = k + 1
        faded = reestablished = False
        if nxt < hi and view.start[nxt] == t_leave and ctx.ok[nxt]:
            m, t_next = nxt, t_leave  # a handover without a break
        else:  # an outage starts at t_leave: when is voice possible again?
            m = int(ctx.next_ok[nxt]) if nxt < hi else -1
            t_next = float(view.start[m]) if m >= 0 else math.inf
            kind, t_stop = radio_link_outcome(t_leave, t_next, t_end, ctx.t310_s, ctx.t311_s)
            if kind == HUNG_UP or kind == LOST:
                yield at(env, t_stop)
                beam.end_call(env.now, n_rb)
                if kind == HUNG_UP:
                    ctx.finish(i, t_end, COMPLETED)
                else:
                    ctx.finish(i, t_stop, DROPPED, ctx.lost_reason(nxt, hi, t_leave, t_stop))
                return
            faded, reestablished = True, kind == REESTABLISHED
        yield at(env, t_next)
        if faded:
            ctx.outages[i] += 1
            ctx.outage_s[i] += t_next - t_leave
        if reestablished:
            ctx.reestablishments[i] += 1
        new_sat, new_b = int(view.sat[m]), int(view.beam[m])
        j = m
        if (new_sat, new_b) == (sat, b):  # back on the same beam after a fade: RBs kept
            continue
        beam.end_call(env.now, n_rb)
        sat, b = ctx.set_serving(i, m)
        beam = beams.get(sat, b)
        n_rb = ctx.rbs_of_cqi[int(view.cqi[m])]
        if not beam.admit_call(env.now, n_rb):
            ctx.finish(i, t_next, DROPPED,
                       REESTABLISHMENT_BLOCKED if reestablished else HANDOVER_BLOCKED)
            return
        if not reestablished:
            ctx.handovers[i] += 1
