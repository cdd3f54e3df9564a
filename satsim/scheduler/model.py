"""Scheduler configuration, the ``simulate`` entry point and its result.

``simulate(view, config, seed)`` runs the services over a
:class:`~satsim.scheduler.CoverageView` in one SimPy environment whose clock
is seconds since the scenario epoch, from ``view.start_s`` to ``view.end_s``,
and returns a :class:`SchedulerResult`: one row per message, per call and per
data session, one row per beam used, and a JSON-ready summary.

SMS defaults and their sources (all overridable):

* ``validity_s = 86400``: 24 h, TP-VP = 167 in the relative format of
  3GPP TS 23.040 §9.2.3.12.1 (12 h + (167 - 143) x 30 min); the SC discards a
  message not delivered by then. Phones and SCs often use longer defaults
  (up to 63 weeks); 24 h bounds the store-and-forward tail of a day's run.
* ``payload_bytes = 140``: the largest TP-User-Data, TS 23.040 §9.2.3.24.
* ``overhead_bytes = 100``: everything else a one-message exchange sends in
  the same direction, estimated: TPDU header and address (~20 B), RP-DATA
  with SC address (~15 B, TS 24.011 §7.3), CP-DATA (2 B), NAS transport and
  security header (~10 B, TS 24.301), PDCP / RLC / MAC headers (~6 B), and
  the RRC / NAS messages of connection set-up (~50 B). An estimate, not a
  3GPP table.
* ``tr1m_s = 40``: the phone's relay-layer timer TR1M, 35 < TR1M < 45 s
  (TS 24.011 V17 §10.1), the middle of the range: an MO attempt not
  acknowledged within it has failed and the phone resubmits (the MO model
  and its sources: :mod:`satsim.scheduler.sms`).
* ``mt_retry = "alert"``: the SC retries when it is alerted that the phone
  is reachable again (the MNRF flag and the alert service centre procedure
  of TS 23.040 §10.3), what operators' SCs do for an absent subscriber.
  ``"fixed"`` retries every ``mt_retry_s = 300`` s; ``"backoff"`` waits
  ``mt_retry_s x mt_backoff_factor^(k-1)``, at most ``mt_retry_max_s``. An
  SC's timed retry schedule is operator policy, not standardised; these are
  common shapes and their values assumptions.
* ``ground_delay_s = 0.5``: gateway, core and SC, one way (assumption).
* ``rb_per_sms = 1`` RB per transfer, so a 25-RB beam runs 25 transfers at once.
* ``rach_per_s = 100``: one contention-based access per PRACH occasion, one
  occasion per 10 ms frame (PRACH configuration index 3, TS 36.211
  Table 5.7.1-2); conservative, as 64 preambles per occasion could carry
  more, but msg2 / msg4 scheduling of a satellite beam also limits it.
* ``paging_per_s = 1600``: 16 paging records per paging message
  (``maxPageRec``, TS 36.331) in one paging frame every 10 ms (``nB = T``).
* ``paging_cycle_s = 1.28``: the default paging cycle rf128 (TS 36.331
  ``defaultPagingCycle``); the phone listens once per cycle (TS 36.304 §7.1).
* ``access_delay_s = 0.1``: random access and RRC set-up, about four round
  trips of TR 38.821's 25.77 ms LEO-600 transparent worst case (assumption).

Voice (:class:`~satsim.scheduler.voice.VoiceConfig`), data
(:class:`~satsim.scheduler.data.DataConfig`) and app calls
(:class:`~satsim.scheduler.config.AppCallConfig`) document their models,
defaults and sources in their own modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from ..errors import InputError
from ..streams import check_seed
from .app_call import (
    G114_GOOD_S,
    G114_LIMIT_S,
    AppCallContext,
    app_call,
    app_call_attempts,
    app_calls_table,
)
from .app_call import REASONS as APP_CALL_REASONS
from .arrivals import (
    Environment,
    blocks_of,
    handset_arrivals,
    release,
    seconds_since_midnight,
)
from .config import SchedulerConfig
from .coverage_view import CoverageView
from .data import DIRECTIONS as DATA_DIRECTIONS
from .data import OUTCOMES as DATA_OUTCOMES
from .data import DataContext, data_session, data_sessions
from .resources import Beams
from .sms import (
    DELIVERED,
    DIRECTIONS,
    EXPIRED,
    IN_FLIGHT,
    MO,
    MT,
    SmsContext,
    sms_message,
)
from .sms import OUTCOMES as SMS_OUTCOMES
from .voice import OUTCOMES as VOICE_OUTCOMES
from .voice import REASONS as VOICE_REASONS
from .voice import (
    VoiceContext,
    call_log_columns,
    call_radio_columns,
    serving_columns,
    voice_attempts,
    voice_call,
)

LATENCY_PERCENTILES = (50, 90, 99)
#: Delays within which the summary gives the share of messages delivered, s (1 min, 5 min, 1 h).
DELIVERED_WITHIN_S = (60, 300, 3600)


@dataclass(frozen=True, eq=False)
class SchedulerResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    events : pandas.DataFrame
        One row per SMS, in arrival order: ``id``, ``direction`` ("MO" /
        "MT"), ``handset``, ``t_arrival_s``, ``t_delivered_s`` (NaN unless
        delivered), ``latency_s`` (NaN unless delivered), ``outcome``
        ("delivered", "expired", "in_flight" at the end of the run),
        ``covered_at_arrival``, ``attempts``, ``sat`` and ``beam`` of the
        latest attempt (-1 if none).
    beams : pandas.DataFrame
        One row per beam used by any service
        (:meth:`satsim.scheduler.resources.Beams.table`).
    start_s, end_s : float
        The simulated span (the view's), seconds since the epoch.
    seed : int
    config : SchedulerConfig
    calls : pandas.DataFrame or None
        One row per call attempt, in attempt order (None when voice is off):
        ``id``, ``handset``, ``t_arrival_s``, ``holding_s`` (intended
        duration), ``t_end_s`` (hang-up, drop, or the attempt if blocked; NaN
        in progress), ``duration_s`` (``t_end_s - t_arrival_s``), ``outcome``
        ("completed", "blocked", "dropped", "in_progress"), ``reason`` (of a
        block: "no_coverage", "low_sinr" (downlink), "low_uplink" (the
        downlink was usable, the uplink not), "beam_full"; of a drop:
        "outage", "uplink_outage" (the downlink was usable through the
        outage), "handover_blocked", "reestablishment_blocked"; else ""; model:
        :mod:`satsim.scheduler.voice`), ``rbs``
        (RB-equivalents at admission), ``handovers``, ``interruption_s``
        (handovers x interruption), ``outages`` and ``outage_s`` (outages
        survived, re-established ones included, and their total),
        ``reestablishments`` (radio-link failures recovered within T311),
        ``sat`` / ``beam`` serving at the attempt (-1: none), ``last_sat`` /
        ``last_beam`` (the latest serving beam).
    sessions : pandas.DataFrame or None
        One row per data session, in arrival order (None when data is off):
        ``id``, ``handset``, ``t_arrival_s``, ``size_bytes``, ``direction``
        ("download", "upload"), ``t_end_s``
        (completion or abort; NaN in progress), ``outcome`` ("completed",
        "aborted", "in_progress"), ``delivered_bytes``, ``active_s`` (time in
        a beam's share), ``paused_s`` (time in gaps; an upload's include the
        served time its uplink was unusable), ``power_limited_s`` (an
        upload's time at its whole uplink capacity: its power, not the RBs,
        set its rate; 0 for downloads; model: :mod:`satsim.scheduler.data`), ``handovers``,
        ``interruption_s``, ``throughput_kbps`` (size / active time, completed
        sessions; NaN otherwise), ``throughput_incl_pauses_kbps`` (size /
        (completion - arrival)), ``sat`` / ``beam`` (first serving beam, -1:
        none), ``last_sat`` / ``last_beam``.
    app_calls : pandas.DataFrame or None
        One row per app call attempt, in attempt order (None when app calls
        are off; model: :mod:`satsim.scheduler.app_call`): ``id``,
        ``handset``, ``t_arrival_s``, ``holding_s``, ``t_end_s``,
        ``duration_s``, ``outcome`` ("completed", "blocked", "dropped",
        "in_progress"), ``reason`` ("no_coverage", "low_rate", "low_uplink",
        "outage", "uplink_outage", ""), ``demand_bps``, ``satisfied_s`` /
        ``degraded_s`` (time with / without the call's rate since admission,
        to the end, drop or end of run), ``uplink_degraded_s`` (the part of
        ``degraded_s`` in runs where the phone's uplink capacity was below the
        rate), ``degraded_fraction`` (NaN if blocked), ``propagation_s`` and
        ``scheduling_s`` (means over the satisfied time), ``delay_s``
        (mouth-to-ear: those two plus ground, codec and jitter buffer; NaN
        without satisfied time), ``handovers``, ``interruption_s``,
        ``outages``, ``outage_s``, ``reestablishments``, ``sat`` / ``beam``,
        ``last_sat`` / ``last_beam``.
    uplink_modelled : bool
        The view had uplink data: uploads went on the uplink (else they were
        carried as downloads, :mod:`satsim.scheduler.data`).
    """

    events: pd.DataFrame
    beams: pd.DataFrame
    start_s: float
    end_s: float
    seed: int
    config: SchedulerConfig
    calls: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    app_calls: pd.DataFrame | None = None
    uplink_modelled: bool = False

    def summary(self) -> dict:
        """JSON-ready summary (same seed: byte-identical ``json.dumps(s, sort_keys=True)``).

        ``sms`` has one entry per group (``all``, ``mo``, ``mt``,
        ``covered_at_arrival``, ``arrived_in_gap`` and the four
        direction x coverage combinations), each with ``offered``,
        ``delivered``, ``expired``, ``in_flight``, ``delivery_ratio``,
        ``latency_s`` percentiles (p50, p90, p99, max, mean) of the delivered
        messages (None where there are none) and ``delivered_within``
        {``60s``, ``300s``, ``3600s``}: the share of the group's offered
        messages delivered within 1 min, 5 min and 1 h of arrival (latency
        <= the delay). Messages expired or still in flight at the end of the
        run count as not delivered, so messages arriving less than the delay
        before the end weigh the share down (a run's last hour, for the 1 h
        share); None for an empty group.

        ``voice`` (None when off): ``offered``, ``blocked``, ``dropped``,
        ``completed``, ``in_progress``, ``block_ratio`` (blocked / offered),
        ``drop_ratio`` (dropped / admitted, admitted = offered - blocked),
        ``reestablishments`` (radio-link failures recovered by RRC
        re-establishment within T311, over all calls),
        ``calls_reestablished`` (calls with at least one) and ``by_reason``
        (blocked and dropped calls by reason, every reason of the ``calls``
        table listed: ``low_uplink`` and ``uplink_outage`` are the calls the
        uplink alone blocked and dropped).

        ``data`` (None when off): ``sessions``, ``completed``, ``aborted``,
        ``in_progress``, ``completion_ratio`` (completed / sessions) and
        ``throughput_kbps`` {``p50``, ``mean``} of the completed sessions'
        size / active time, kbit/s (mean of the per-session throughputs), and
        ``throughput_incl_pauses_kbps``, the same over arrival to completion
        (coverage gaps included): what the user waits for. These count every
        session, uploads included. ``downloads`` and ``uploads`` give the same
        per direction (``sessions``, ``completed``, ``aborted``,
        ``in_progress``, ``completion_ratio``, and ``throughput_kbps`` /
        ``throughput_incl_pauses_kbps`` with ``p10``, ``p50``, ``p90`` and
        ``mean``); ``uploads`` adds ``uplink_modelled`` (False: the view had
        no uplink data and uploads were carried as downloads),
        ``power_limited`` (uploads that spent more than half their active
        time at their whole uplink capacity) and ``power_limited_fraction``
        (their power-limited time over their active time, all uploads
        together).

        ``app_call`` (None when off): ``offered``, ``blocked``, ``dropped``,
        ``completed``, ``in_progress``, ``block_ratio``, ``drop_ratio`` (as
        voice), ``by_reason`` (as voice), ``degraded_fraction`` (time without
        the call's rate over the time admitted calls were up, all calls
        together), ``uplink_degraded_fraction`` (the part of it in runs whose
        uplink capacity was short), ``delay_s`` {``p50``,
        ``p95``} of the per-call mouth-to-ear delay and ``delay_within``
        {``150ms``, ``400ms``}: the share of admitted calls whose delay is
        within ITU-T G.114's thresholds (calls without a delay count as not).

        ``beams`` summarises utilisation: SMS transfers (``ul_`` / ``dl_``),
        and, with the services on, ``voice_`` and ``data_`` utilisation and
        ``dl_utilisation_all`` (all services), mean and max over the beams.
        Ratios with a zero denominator are None.
        """
        ev = self.events
        mo = (ev["direction"] == "MO").to_numpy()
        cov = ev["covered_at_arrival"].to_numpy(dtype=bool)
        outcome = ev["outcome"].to_numpy()
        latency = ev["latency_s"].to_numpy(dtype=np.float64)
        masks = {
            "all": np.ones(len(ev), dtype=bool), "mo": mo, "mt": ~mo,
            "covered_at_arrival": cov, "arrived_in_gap": ~cov,
            "mo_covered_at_arrival": mo & cov, "mo_arrived_in_gap": mo & ~cov,
            "mt_covered_at_arrival": ~mo & cov, "mt_arrived_in_gap": ~mo & ~cov,
        }
        sms = {name: _group_stats(outcome[m], latency[m]) for name, m in masks.items()}
        b = self.beams
        beams = {"beams_used": int(len(b))}
        for d in ("ul", "dl"):
            u = b[f"{d}_utilisation"].to_numpy(dtype=np.float64)
            beams[f"{d}_utilisation_mean"] = _json_float(u.mean()) if u.size else None
            beams[f"{d}_utilisation_max"] = _json_float(u.max()) if u.size else None
        beams["rach_grants"] = int(b["rach_grants"].sum())
        beams["pages"] = int(b["pages"].sum())
        data_on = self.sessions is not None or self.app_calls is not None
        extra = ([("voice", "voice_utilisation")] if self.calls is not None else []) + \
            ([("data", "data_utilisation")] if data_on else [])
        if extra:
            extra.append(("all", "dl_utilisation_all"))
        for _, col in extra:
            u = b[col].to_numpy(dtype=np.float64)
            beams[f"{col}_mean"] = _json_float(u.mean()) if u.size else None
            beams[f"{col}_max"] = _json_float(u.max()) if u.size else None
        return {
            "run": {"start_s": self.start_s, "end_s": self.end_s, "seed": self.seed,
                    "duration_s": self.end_s - self.start_s},
            "sms": sms,
            "voice": None if self.calls is None else _voice_stats(self.calls),
            "data": (None if self.sessions is None
                     else _data_stats(self.sessions, self.uplink_modelled)),
            "app_call": None if self.app_calls is None else _app_call_stats(self.app_calls),
            "beams": beams,
        }


#: The columns :meth:`SchedulerResult.summary` reads, by table: a result holding
#: only these (e.g. read back from files, ``satsim.results.table_spool``) gives
#: the same summary. Columns a run does not have (a service off) are skipped.
SUMMARY_COLUMNS = {
    "events": ("direction", "covered_at_arrival", "outcome", "latency_s"),
    "beams": ("ul_utilisation", "dl_utilisation", "rach_grants", "pages",
              "voice_utilisation", "data_utilisation", "dl_utilisation_all"),
    "calls": ("outcome", "reason", "reestablishments"),
    "sessions": ("direction", "outcome", "active_s", "power_limited_s", "throughput_kbps",
                 "throughput_incl_pauses_kbps"),
    "app_calls": ("outcome", "reason", "satisfied_s", "degraded_s", "uplink_degraded_s",
                  "delay_s"),
}


def _json_float(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _group_stats(outcome: np.ndarray, latency: np.ndarray) -> dict:
    n = int(outcome.size)
    delivered = outcome == "delivered"
    nd = int(delivered.sum())
    lat = latency[delivered]
    if nd:
        pct = np.percentile(lat, LATENCY_PERCENTILES)
        lat_stats = {f"p{p}": _json_float(v) for p, v in zip(LATENCY_PERCENTILES, pct)}
        lat_stats["max"] = _json_float(lat.max())
        lat_stats["mean"] = _json_float(lat.mean())
    else:
        lat_stats = {f"p{p}": None for p in LATENCY_PERCENTILES} | {"max": None, "mean": None}
    return {
        "offered": n,
        "delivered": nd,
        "expired": int((outcome == "expired").sum()),
        "in_flight": int((outcome == "in_flight").sum()),
        "delivery_ratio": nd / n if n else None,
        "latency_s": lat_stats,
        "delivered_within": {f"{d}s": int((lat <= d).sum()) / n if n else None
                             for d in DELIVERED_WITHIN_S},
    }


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _call_counts(outcome: np.ndarray) -> dict:
    """Offered, blocked, dropped, completed and in-progress calls of a calls table's
    ``outcome`` column, with the block ratio (of offered) and drop ratio (of admitted)."""
    n = int(outcome.size)
    count = {name: int((outcome == name).sum()) for name in VOICE_OUTCOMES}
    return {
        "offered": n,
        "blocked": count["blocked"],
        "dropped": count["dropped"],
        "completed": count["completed"],
        "in_progress": count["in_progress"],
        "block_ratio": _ratio(count["blocked"], n),
        "drop_ratio": _ratio(count["dropped"], n - count["blocked"]),
    }


def _by_reason(calls: pd.DataFrame, reasons) -> dict:
    """Calls of a calls table by ``reason`` (blocked and dropped ones), every name of
    ``reasons`` but the empty one listed, zeros included."""
    reason = calls["reason"].to_numpy()
    return {name: int((reason == name).sum()) for name in reasons if name}


def _voice_stats(calls: pd.DataFrame) -> dict:
    return {
        **_call_counts(calls["outcome"].to_numpy()),
        "reestablishments": int(calls["reestablishments"].sum()),
        "calls_reestablished": int((calls["reestablishments"] > 0).sum()),
        "by_reason": _by_reason(calls, VOICE_REASONS),
    }


def _app_call_stats(calls: pd.DataFrame) -> dict:
    outcome = calls["outcome"].to_numpy()
    admitted = outcome != "blocked"
    satisfied = calls["satisfied_s"].to_numpy(dtype=np.float64)[admitted]
    degraded = calls["degraded_s"].to_numpy(dtype=np.float64)[admitted]
    delay = calls["delay_s"].to_numpy(dtype=np.float64)[admitted]
    ul_degraded = calls["uplink_degraded_s"].to_numpy(dtype=np.float64)[admitted]
    known = delay[np.isfinite(delay)]
    up = float(satisfied.sum() + degraded.sum())
    return {
        **_call_counts(outcome),
        "by_reason": _by_reason(calls, APP_CALL_REASONS),
        "degraded_fraction": float(degraded.sum()) / up if up > 0 else None,
        "uplink_degraded_fraction": float(ul_degraded.sum()) / up if up > 0 else None,
        "delay_s": {f"p{q}": _json_float(np.percentile(known, q)) if known.size else None
                    for q in (50, 95)},
        "delay_within": {f"{round(1000 * d)}ms": _ratio(int((known <= d).sum()), delay.size)
                         for d in (G114_GOOD_S, G114_LIMIT_S)},
    }


def _data_stats(sessions: pd.DataFrame, uplink_modelled: bool) -> dict:
    """The ``data`` summary: every session (the keys as before uploads existed), then
    ``downloads`` and ``uploads`` apart (:meth:`SchedulerResult.summary`)."""
    upload = sessions["direction"].to_numpy() == "upload"
    uploads = _direction_stats(sessions[upload])
    active = sessions["active_s"].to_numpy(dtype=np.float64)[upload]
    limited = sessions["power_limited_s"].to_numpy(dtype=np.float64)[upload]
    uploads["uplink_modelled"] = bool(uplink_modelled)
    uploads["power_limited"] = int((limited > 0.5 * active).sum())
    uploads["power_limited_fraction"] = (_json_float(limited.sum() / active.sum())
                                         if active.sum() > 0 else None)
    return {**_session_stats(sessions), "downloads": _direction_stats(sessions[~upload]),
            "uploads": uploads}


def _direction_stats(sessions: pd.DataFrame) -> dict:
    """Counts and throughput percentiles (p10, p50, p90, mean) of one direction's sessions."""
    stats = _session_stats(sessions)
    done = sessions["outcome"].to_numpy() == "completed"
    for col in ("throughput_kbps", "throughput_incl_pauses_kbps"):
        x = sessions[col].to_numpy(dtype=np.float64)[done]
        stats[col] = {f"p{q}": _json_float(np.percentile(x, q)) if x.size else None
                      for q in (10, 50, 90)}
        stats[col]["mean"] = _json_float(x.mean()) if x.size else None
    return stats


def _session_stats(sessions: pd.DataFrame) -> dict:
    outcome = sessions["outcome"].to_numpy()
    n = int(outcome.size)
    done = outcome == "completed"
    tput = sessions["throughput_kbps"].to_numpy(dtype=np.float64)[done]
    wall = sessions["throughput_incl_pauses_kbps"].to_numpy(dtype=np.float64)[done]
    return {
        "sessions": n,
        "completed": int(done.sum()),
        "aborted": int((outcome == "aborted").sum()),
        "in_progress": int((outcome == "in_progress").sum()),
        "completion_ratio": _ratio(int(done.sum()), n),
        "throughput_kbps": {
            "p50": _json_float(np.percentile(tput, 50)) if tput.size else None,
            "mean": _json_float(tput.mean()) if tput.size else None,
        },
        "throughput_incl_pauses_kbps": {
            "p50": _json_float(np.percentile(wall, 50)) if wall.size else None,
            "mean": _json_float(wall.mean()) if wall.size else None,
        },
    }


def _names(codes, table) -> np.ndarray:
    """Codes to their names in ``table`` (``OUTCOMES``, ``REASONS``, ``DIRECTIONS``)."""
    return np.asarray(table, dtype=object)[np.asarray(codes, dtype=np.int64)]


def _user_table(table, what: str, columns: tuple[str, ...], view: CoverageView, *,
                floats: tuple[str, ...], columns_text: str | None = None) -> dict:
    """The columns of a user table of arrivals, checked against ``view``.

    ``columns`` include ``handset`` and ``t_arrival_s``; those in ``floats``
    are read as float64, the others as given. All must be 1-D and of one
    length; the handsets must be indices of the view's handsets and the
    times lie in its span. Returns the arrays by column name, ``handset`` as
    int32.
    """
    try:
        cols = {c: np.asarray(table[c], dtype=np.float64 if c in floats else None)
                for c in columns}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{what} must have columns {columns_text or ', '.join(columns)} "
                         f"({exc})") from None
    if len({a.shape for a in cols.values()}) != 1 or cols[columns[0]].ndim != 1:
        raise InputError(f"{what}: {', '.join(columns)} must be 1-D and of one length")
    h, t = cols["handset"], cols["t_arrival_s"]
    if h.size and (h.dtype.kind not in "iu" or h.min() < 0 or h.max() >= view.n_handsets):
        raise InputError(f"{what}.handset must be whole numbers in 0..{view.n_handsets - 1}")
    if t.size and (not np.all(np.isfinite(t)) or t.min() < view.start_s
                   or t.max() >= view.end_s):
        raise InputError(f"{what}.t_arrival_s must lie in the view's span "
                         f"[{view.start_s}, {view.end_s})")
    cols["handset"] = h.astype(np.int32)
    return cols


def _explicit_table(table, what: str, quantity: str, view: CoverageView):
    """Validate a user table of calls / sessions: ``handset``, ``t_arrival_s`` and one
    positive quantity (``holding_s`` / ``size_bytes``)."""
    cols = _user_table(table, what, ("handset", "t_arrival_s", quantity), view,
                       floats=("t_arrival_s", quantity))
    q = cols[quantity]
    if q.size and not (np.all(np.isfinite(q)) and q.min() > 0):
        raise InputError(f"{what}.{quantity} must be finite numbers > 0")
    return cols["handset"], cols["t_arrival_s"], q


def _explicit_sessions(table, what: str, quantity: str, view: CoverageView):
    """Validate a user table of data sessions: ``handset``, ``t_arrival_s``,
    ``size_bytes`` and an optional ``direction`` ("download" / "upload"; without
    it every session is a download)."""
    handset, t, size = _explicit_table(table, what, quantity, view)
    try:
        direction = table["direction"]
    except (KeyError, TypeError, IndexError):
        return handset, t, size, np.zeros(t.size, dtype=bool)
    d = np.asarray(direction, dtype=object)
    if d.shape != t.shape:
        raise InputError(f"{what}.direction must be 1-D and as long as t_arrival_s")
    bad = ~np.isin(d, DATA_DIRECTIONS)
    if bad.any():
        raise InputError(f"{what}.direction must be 'download' or 'upload', got "
                         f"{d[bad][0]!r}")
    return handset, t, size, d == "upload"


def _by_time(handset, t, *marks):
    """Sort one service's arrivals and their marks by time (ties: by handset)."""
    order = np.lexsort((handset, t))
    return (handset[order], t[order], *(q[order] for q in marks))


def _calls_table(ctx: VoiceContext, interruption_s: float) -> pd.DataFrame:
    """The ``calls`` table of :class:`SchedulerResult` from the voice context's log."""
    return pd.DataFrame({
        **call_log_columns(ctx),
        "rbs": np.asarray(ctx.rbs, dtype=np.float64),
        **call_radio_columns(ctx, interruption_s),
    })


def _sessions_table(ctx: DataContext, interruption_s: float) -> pd.DataFrame:
    """The ``sessions`` table of :class:`SchedulerResult` from the data context's log."""
    t_arrival = np.asarray(ctx.t_arrival, dtype=np.float64)
    t_end = np.asarray(ctx.t_end, dtype=np.float64)
    size = np.asarray(ctx.size_bytes, dtype=np.float64)
    outcome = np.asarray(ctx.outcome, dtype=np.int8)
    active = np.asarray(ctx.active_s, dtype=np.float64)
    handovers = np.asarray(ctx.handovers, dtype=np.int32)
    upload = np.asarray(ctx.upload, dtype=bool)
    done = outcome == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        tput = np.where(done, 8e-3 * size / active, np.nan)
        tput_all = np.where(done, 8e-3 * size / (t_end - t_arrival), np.nan)
    return pd.DataFrame({
        "id": np.arange(t_arrival.size, dtype=np.int64),
        "handset": np.asarray(ctx.handset, dtype=np.int64),
        "t_arrival_s": t_arrival,
        "size_bytes": size,
        "direction": _names(upload, DATA_DIRECTIONS),
        "t_end_s": t_end,
        "outcome": _names(outcome, DATA_OUTCOMES),
        "delivered_bytes": np.where(done, size, size - np.asarray(ctx.remaining_bits) / 8.0),
        "active_s": active,
        "paused_s": np.asarray(ctx.paused_s, dtype=np.float64),
        "power_limited_s": np.asarray(ctx.power_limited_s, dtype=np.float64),
        "handovers": handovers,
        "interruption_s": handovers * interruption_s,
        "throughput_kbps": tput,
        "throughput_incl_pauses_kbps": tput_all,
        **serving_columns(ctx),
    })


def _explicit_arrivals(arrivals, view: CoverageView):
    """Validate a user table of arrivals: columns direction, handset, t_arrival_s."""
    cols = _user_table(arrivals, "arrivals", ("direction", "handset", "t_arrival_s"), view,
                       floats=("t_arrival_s",),
                       columns_text="direction ('MO' / 'MT'), handset and t_arrival_s")
    d = cols["direction"]
    bad = ~np.isin(d, DIRECTIONS)
    if bad.any():
        raise InputError(f"arrivals.direction must be 'MO' or 'MT', got {d[bad][0]!r}")
    return np.where(d == "MO", MO, MT).astype(np.int8), cols["handset"], cols["t_arrival_s"]


@dataclass(frozen=True)
class _Service:
    """How :func:`simulate` runs one optional service, voice or data.

    ``name`` is the :class:`SchedulerConfig` field that switches it on;
    ``table`` the :func:`simulate` argument of its explicit arrivals and the
    :class:`SchedulerResult` field of its log; ``quantity`` the third column
    of those arrivals. ``draw(seed, view, cfg, day0_s)`` draws the Poisson
    arrivals ``(handset, t_arrival_s, quantity, *marks)``; ``explicit(table,
    what, quantity, view)`` reads the user's table into the same arrays;
    ``context`` holds the shared state and log, ``process`` serves one
    arrival, ``tabulate(ctx, handover_interruption_s)`` makes the result
    table.
    """

    name: str
    table: str
    quantity: str
    draw: Callable
    context: type
    process: Callable
    tabulate: Callable
    explicit: Callable = _explicit_table


#: The optional services, in the order their processes start.
_SERVICES = (
    _Service("voice", "calls", "holding_s", voice_attempts, VoiceContext, voice_call,
             _calls_table),
    _Service("data", "sessions", "size_bytes", data_sessions, DataContext, data_session,
             _sessions_table, _explicit_sessions),
    _Service("app_call", "app_calls", "holding_s", app_call_attempts, AppCallContext, app_call,
             app_calls_table),
)


def _checked_arguments(view, config, seed, given: dict) -> tuple[SchedulerConfig, int]:
    """Check the arguments of :func:`simulate`; return the config (the default one
    for None) and the seed.

    ``given`` maps each optional service's table name to the user's table (or
    None); a table needs its service switched on.
    """
    if not isinstance(view, CoverageView):
        raise InputError(f"view must be a CoverageView, got {type(view).__name__}")
    config = SchedulerConfig() if config is None else config
    if not isinstance(config, SchedulerConfig):
        raise InputError(f"config must be a SchedulerConfig, got {type(config).__name__}")
    seed = check_seed(seed)
    if view.n_rb is not None and view.n_rb != config.beams.n_rb:
        raise InputError(
            f"the view's uplink SINR is over {view.n_rb} resource blocks but the beams have "
            f"{config.beams.n_rb} (carrier n_rb / reuse): build the view with "
            f"n_rb=config.beams.n_rb, the band the link layer computes the uplink over")
    for service in _SERVICES:
        if given[service.table] is not None and getattr(config, service.name) is None:
            raise InputError(f"{service.table} given but config.{service.name} is None: switch "
                             f"the service on with SchedulerConfig({service.name}=...)")
    return config, seed


def _drawn_sms_arrivals(view: CoverageView, sms, seed: int, day0_s: float, blocks=None):
    """Poisson MO and MT arrivals ``(direction, handset, t_arrival_s)``, MO first (of
    the traffic ``blocks`` only, if given)."""
    parts = [
        (direction, *handset_arrivals(seed, f"sms/{name}/arrivals", view.n_handsets, rate,
                                      view.start_s, view.end_s, sms.daily_profile, day0_s,
                                      blocks))
        for direction, name, rate in ((MO, "mo", sms.mo_per_hour), (MT, "mt", sms.mt_per_hour))
    ]
    direction = np.concatenate([np.full(p[1].size, p[0], np.int8) for p in parts])
    handset = np.concatenate([p[1] for p in parts])
    t_arrival = np.concatenate([p[2] for p in parts])
    return direction, handset, t_arrival


def _sms_arrivals(view: CoverageView, sms, seed: int, day0_s: float, arrivals, blocks=None):
    """The SMS arrivals ``(direction, handset, t_arrival_s)``, the user's ``arrivals``
    or drawn (of the traffic ``blocks`` only, if given), in time order (ties: MO
    first, then by handset)."""
    if arrivals is None:
        direction, handset, t_arrival = _drawn_sms_arrivals(view, sms, seed, day0_s, blocks)
    else:
        direction, handset, t_arrival = _explicit_arrivals(arrivals, view)
    order = np.lexsort((handset, direction, t_arrival))
    return direction[order], handset[order], t_arrival[order]


def _shared_beams(env: simpy.Environment, view: CoverageView,
                  config: SchedulerConfig) -> Beams:
    """The beams' resources all services share: RBs, RACH and paging of
    ``config.beams``, with the data sharing rule and the voice call cap."""
    bc, voice, data = config.beams, config.voice, config.data
    return Beams(bc.n_rb, bc.rach_per_s, bc.paging_per_s, view.start_s, view.end_s, env=env,
                 sharing=data.sharing if data is not None else "round_robin",
                 max_calls=voice.max_calls_per_beam if voice is not None else None)


def _start_services(env: simpy.Environment, view: CoverageView, beams: Beams,
                    config: SchedulerConfig, seed: int, day0_s: float, given: dict,
                    keep=None, blocks=None) -> dict:
    """Start the optional services that are on: each one's arrivals (drawn, or the
    user's table from ``given``; only the handsets ``keep`` marks, if given), its
    context and its source process in ``env``.

    Returns the contexts by service name (``"voice"``, ``"data"``, ``"app_call"``).
    """
    contexts = {}
    for service in _SERVICES:
        cfg = getattr(config, service.name)
        if cfg is None:
            continue
        table = given[service.table]
        drawn = (service.draw(seed, view, cfg, day0_s, blocks) if table is None
                 else service.explicit(table, service.table, service.quantity, view))
        contexts[service.name] = service.context(view, beams, cfg,
                                                 *_kept(keep, *_by_time(*drawn)))
        env.process(release(env, contexts[service.name], service.process))
    return contexts


def _kept(keep, handset, *columns):
    """The arrivals ``(handset, *columns)`` of the handsets ``keep`` marks (all if None)."""
    if keep is None:
        return (handset, *columns)
    mask = keep[handset]
    return (handset[mask], *(c[mask] for c in columns))


def _handset_mask(handsets, view: CoverageView):
    """``handsets`` (indices of the view's handsets) as a boolean mask, or None."""
    if handsets is None:
        return None
    h = np.asarray(handsets)
    if h.ndim != 1 or (h.size and (h.dtype.kind not in "iu" or h.min() < 0
                                   or h.max() >= view.n_handsets)):
        raise InputError(f"handsets must be a 1-D array of indices in 0..{view.n_handsets - 1}")
    keep = np.zeros(view.n_handsets, dtype=bool)
    keep[h] = True
    return keep


def _events_table(ctx: SmsContext, view: CoverageView, direction, handset,
                  t_arrival) -> pd.DataFrame:
    """The ``events`` table of :class:`SchedulerResult`: one row per SMS, from the
    arrivals and the SMS context's log."""
    outcome = np.asarray(ctx.outcome, dtype=np.int8)
    t_done = np.asarray(ctx.t_done, dtype=np.float64)
    assert not np.any((outcome == EXPIRED) & np.isnan(t_done))
    assert not np.any((outcome == IN_FLIGHT) & ~np.isnan(t_done))
    t_delivered = np.where(outcome == DELIVERED, t_done, np.nan)
    return pd.DataFrame({
        "id": np.arange(t_arrival.size, dtype=np.int64),
        "direction": _names(direction, DIRECTIONS),
        "handset": handset.astype(np.int64),
        "t_arrival_s": t_arrival,
        "t_delivered_s": t_delivered,
        "latency_s": t_delivered - t_arrival,
        "outcome": _names(outcome, SMS_OUTCOMES),
        "covered_at_arrival": view.is_served_many(handset, t_arrival),
        "attempts": np.asarray(ctx.attempts, dtype=np.int32),
        "sat": np.asarray(ctx.sat, dtype=np.int32),
        "beam": np.asarray(ctx.beam, dtype=np.int32),
    })


def _service_tables(contexts: dict, config: SchedulerConfig) -> dict:
    """Each optional service's result table by table name (None when it is off)."""
    return {
        service.table: (
            service.tabulate(contexts[service.name],
                             getattr(config, service.name).handover_interruption_s)
            if service.name in contexts else None)
        for service in _SERVICES
    }


def simulate(view: CoverageView, config: SchedulerConfig | None = None, seed: int = 0, *,
             arrivals=None, calls=None, sessions=None, app_calls=None,
             handsets=None) -> SchedulerResult:
    """Run the scheduler over ``view`` and return its events and summary.

    Parameters
    ----------
    view : CoverageView
        Who is served when; the run spans ``[view.start_s, view.end_s)``.
    config : SchedulerConfig, optional
    seed : int
        Seeds every random stream (:mod:`satsim.streams`): the same
        view, config and seed reproduce the result exactly.
    arrivals : mapping or DataFrame, optional
        Explicit SMS arrivals instead of the Poisson traffic: columns
        ``direction`` ("MO" / "MT"), ``handset``, ``t_arrival_s``.
    calls : mapping or DataFrame, optional
        Explicit call attempts instead of the Poisson ones (needs
        ``config.voice``): columns ``handset``, ``t_arrival_s``, ``holding_s``.
    sessions : mapping or DataFrame, optional
        Explicit data sessions instead of the Poisson ones (needs
        ``config.data``): columns ``handset``, ``t_arrival_s``, ``size_bytes``,
        and optionally ``direction`` ("download" / "upload"; without it
        every session is a download, whatever ``upload_fraction``).
    app_calls : mapping or DataFrame, optional
        Explicit app call attempts instead of the Poisson ones (needs
        ``config.app_call``): columns ``handset``, ``t_arrival_s``, ``holding_s``.
    handsets : array of int, optional
        Only the traffic of these handsets (drawn as in the whole run, then
        kept): one part of a run whose other handsets share no beam with them
        (:mod:`satsim.scheduler.parts`).

    Returns
    -------
    SchedulerResult
    """
    given = {"calls": calls, "sessions": sessions, "app_calls": app_calls}
    config, seed = _checked_arguments(view, config, seed, given)
    day0_s = seconds_since_midnight(view.epoch)
    keep = _handset_mask(handsets, view)
    # a part draws only its handsets' traffic blocks (each has its own streams)
    blocks = None if keep is None else blocks_of(np.flatnonzero(keep))
    direction, handset, t_arrival = _sms_arrivals(view, config.sms, seed, day0_s, arrivals,
                                                  blocks)
    handset, direction, t_arrival = _kept(keep, handset, direction, t_arrival)

    env = Environment(initial_time=view.start_s)  # env.now: seconds since the epoch
    beams = _shared_beams(env, view, config)
    sms_ctx = SmsContext(view, beams, config.sms, config.beams, seed,
                         direction, handset, t_arrival)
    env.process(release(env, sms_ctx, sms_message))
    contexts = _start_services(env, view, beams, config, seed, day0_s, given, keep, blocks)

    env.run(until=view.end_s)
    for name in ("data", "app_call"):  # the sessions and calls still in a beam's share
        if name in contexts:
            contexts[name].finalize(view.end_s)

    tables = _service_tables(contexts, config)
    return SchedulerResult(
        events=_events_table(sms_ctx, view, direction, handset, t_arrival),
        beams=beams.table(), start_s=view.start_s, end_s=view.end_s, seed=seed, config=config,
        calls=tables["calls"], sessions=tables["sessions"], app_calls=tables["app_calls"],
        uplink_modelled=view.has_uplink)
