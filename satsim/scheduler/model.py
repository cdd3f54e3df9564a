"""Scheduler configuration, the ``simulate`` entry point and its result.

``simulate(view, config, seed)`` runs the services over a
:class:`~satsim.scheduler.CoverageView` in one SimPy environment whose clock
is seconds since the scenario epoch, from ``view.start_s`` to ``view.end_s``,
and returns a :class:`SchedulerResult`: one row per message, one row per beam
used, and a JSON-ready summary.

Defaults and their sources (all overridable):

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
* ``mo_retry_s = 40``: the phone's RP-layer timer TR1M, 35-45 s
  (TS 24.011 §10.1), after which it reports a failure and resubmits.
* ``mt_retry = "fixed"`` every ``mt_retry_s = 300`` s; ``"backoff"`` waits
  ``mt_retry_s x mt_backoff_factor^(k-1)``, at most ``mt_retry_max_s``;
  ``"alert"`` retries when the network reports the phone reachable again
  (the MNRF flag and the alert transfer of TS 23.040 §10.3). An SC's retry
  schedule is operator policy, not standardised; these are common shapes.
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from ..errors import InputError
from ..link.params import Carrier
from .arrivals import handset_arrivals, seconds_since_midnight
from .coverage_view import CoverageView
from .resources import Beams
from .sms import (
    DELIVERED,
    DIRECTIONS,
    EXPIRED,
    IN_FLIGHT,
    MO,
    MT,
    SmsContext,
    direction_names,
    outcome_names,
    sms_source,
)
from .streams import check_seed

SERVICE_TIME_MODELS = ("rate", "exponential", "fixed")
MT_RETRY_SCHEDULES = ("fixed", "backoff", "alert")
LATENCY_PERCENTILES = (50, 90, 99)


def _number(owner: str, name: str, value, *, minimum: float = 0.0, strict: bool = False,
            allow_inf: bool = False) -> None:
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
          and not math.isnan(value) and (allow_inf or math.isfinite(value))
          and (value > minimum if strict else value >= minimum))
    if not ok:
        rule = f"{'>' if strict else '>='} {minimum:g}"
        extra = " (inf for no limit)" if allow_inf else ""
        raise InputError(f"{owner}.{name} must be a number {rule}{extra}, got {value!r}")


def _whole(owner: str, name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{owner}.{name} must be a whole number >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class SmsConfig:
    """SMS traffic and behaviour (defaults and sources: module docstring).

    Attributes
    ----------
    mo_per_hour, mt_per_hour : float
        Poisson arrivals per handset per hour, MO and MT.
    daily_profile : tuple of 24 float or None
        Relative weight of each UTC hour of day (normalised to mean 1).
    validity_s : float
        Validity period: undelivered messages expire this long after arrival.
    payload_bytes, overhead_bytes : int
        Message size and the signalling sent with it, bytes.
    rb_per_sms : int
        Resource blocks one transfer uses.
    service_time : {"rate", "exponential", "fixed"}
        Transfer-time model: bytes over the RBs at the handset's CQI rate,
        or exponential / fixed of mean ``service_mean_s``.
    service_mean_s : float or None
        Needed by "exponential" and "fixed".
    ground_delay_s : float
        One-way delay between the satellite beam and the SMS centre.
    mo_retry_s : float
        Wait after a failed MO attempt.
    mt_retry : {"fixed", "backoff", "alert"}
    mt_retry_s, mt_backoff_factor, mt_retry_max_s : float
        MT retry interval, backoff growth and cap.
    failure_prob : float
        Probability an attempt fails at random (radio link failure,
        collision), in [0, 1).
    """

    mo_per_hour: float = 0.5
    mt_per_hour: float = 0.5
    daily_profile: tuple[float, ...] | None = None
    validity_s: float = 86400.0
    payload_bytes: int = 140
    overhead_bytes: int = 100
    rb_per_sms: int = 1
    service_time: str = "rate"
    service_mean_s: float | None = None
    ground_delay_s: float = 0.5
    mo_retry_s: float = 40.0
    mt_retry: str = "fixed"
    mt_retry_s: float = 300.0
    mt_backoff_factor: float = 2.0
    mt_retry_max_s: float = 3600.0
    failure_prob: float = 0.0

    def __post_init__(self):
        o = "sms"
        for name in ("mo_per_hour", "mt_per_hour", "ground_delay_s", "mo_retry_s"):
            _number(o, name, getattr(self, name))
        for name in ("validity_s", "mt_retry_s", "mt_retry_max_s"):
            _number(o, name, getattr(self, name), strict=True)
        _number(o, "mt_backoff_factor", self.mt_backoff_factor, minimum=1.0)
        _whole(o, "payload_bytes", self.payload_bytes, 0)
        _whole(o, "overhead_bytes", self.overhead_bytes, 0)
        _whole(o, "rb_per_sms", self.rb_per_sms, 1)
        _number(o, "failure_prob", self.failure_prob)
        if not self.failure_prob < 1.0:
            raise InputError(f"sms.failure_prob must be in [0, 1), got {self.failure_prob!r}")
        if self.service_time not in SERVICE_TIME_MODELS:
            raise InputError(f"sms.service_time must be one of {', '.join(SERVICE_TIME_MODELS)}, "
                             f"got {self.service_time!r}")
        if self.service_time == "rate":
            if self.payload_bytes + self.overhead_bytes <= 0:
                raise InputError("sms.payload_bytes + sms.overhead_bytes must be > 0 for the "
                                 "'rate' service time")
        elif self.service_mean_s is None:
            raise InputError(f"sms.service_mean_s is needed by service_time="
                             f"{self.service_time!r}; give the mean transfer time in seconds")
        if self.service_mean_s is not None:
            _number(o, "service_mean_s", self.service_mean_s)
        if self.mt_retry not in MT_RETRY_SCHEDULES:
            raise InputError(f"sms.mt_retry must be one of {', '.join(MT_RETRY_SCHEDULES)}, "
                             f"got {self.mt_retry!r}")
        if self.daily_profile is not None:
            p = tuple(self.daily_profile)
            if (len(p) != 24 or not all(isinstance(w, (int, float, np.integer, np.floating))
                                        and not isinstance(w, bool) and math.isfinite(w)
                                        and w >= 0 for w in p)
                    or sum(p) <= 0):
                raise InputError(
                    "sms.daily_profile must be 24 finite weights >= 0 (one per UTC hour, "
                    f"not all zero), got {self.daily_profile!r}")
            object.__setattr__(self, "daily_profile", tuple(float(w) for w in p))


@dataclass(frozen=True)
class BeamConfig:
    """Resources of every satellite beam, shared by all services.

    Attributes
    ----------
    carrier : Carrier
        Its ``beam_n_rb`` resource blocks per direction per beam.
    rach_per_s, paging_per_s : float
        Random-access grants and paging records per second per beam (inf: no limit).
    access_delay_s : float
        Random access and connection set-up after the RACH grant.
    paging_cycle_s : float
        Paging (DRX) cycle; 0 pages at once.
    """

    carrier: Carrier = field(default_factory=Carrier)
    rach_per_s: float = 100.0
    paging_per_s: float = 1600.0
    access_delay_s: float = 0.1
    paging_cycle_s: float = 1.28

    def __post_init__(self):
        if not isinstance(self.carrier, Carrier):
            raise InputError(f"beams.carrier must be a satsim.link.Carrier, got {self.carrier!r}")
        _number("beams", "rach_per_s", self.rach_per_s, strict=True, allow_inf=True)
        _number("beams", "paging_per_s", self.paging_per_s, strict=True, allow_inf=True)
        _number("beams", "access_delay_s", self.access_delay_s)
        _number("beams", "paging_cycle_s", self.paging_cycle_s)

    @property
    def n_rb(self) -> int:
        """Resource blocks per beam and direction."""
        return self.carrier.beam_n_rb


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything the scheduler needs besides the coverage view and the seed."""

    beams: BeamConfig = field(default_factory=BeamConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)

    def __post_init__(self):
        if not isinstance(self.beams, BeamConfig):
            raise InputError(f"scheduler.beams must be a BeamConfig, got {self.beams!r}")
        if not isinstance(self.sms, SmsConfig):
            raise InputError(f"scheduler.sms must be an SmsConfig, got {self.sms!r}")
        if self.sms.rb_per_sms > self.beams.n_rb:
            raise InputError(
                f"sms.rb_per_sms ({self.sms.rb_per_sms}) exceeds the beam's "
                f"{self.beams.n_rb} resource blocks (carrier n_rb / reuse)")


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
        One row per beam used (:meth:`satsim.scheduler.resources.Beams.table`).
    start_s, end_s : float
        The simulated span (the view's), seconds since the epoch.
    seed : int
    config : SchedulerConfig
    """

    events: pd.DataFrame
    beams: pd.DataFrame
    start_s: float
    end_s: float
    seed: int
    config: SchedulerConfig

    def summary(self) -> dict:
        """JSON-ready summary (same seed: byte-identical ``json.dumps(s, sort_keys=True)``).

        ``sms`` has one entry per group (``all``, ``mo``, ``mt``,
        ``covered_at_arrival``, ``arrived_in_gap`` and the four
        direction x coverage combinations), each with ``offered``,
        ``delivered``, ``expired``, ``in_flight``, ``delivery_ratio`` and
        ``latency_s`` percentiles (p50, p90, p99, max, mean) of the delivered
        messages (None where there are none). ``beams`` summarises utilisation.
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
        return {
            "run": {"start_s": self.start_s, "end_s": self.end_s, "seed": self.seed,
                    "duration_s": self.end_s - self.start_s},
            "sms": sms,
            "beams": beams,
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
    }


def _explicit_arrivals(arrivals, view: CoverageView):
    """Validate a user table of arrivals: columns direction, handset, t_arrival_s."""
    try:
        d = np.asarray(arrivals["direction"])
        h = np.asarray(arrivals["handset"])
        t = np.asarray(arrivals["t_arrival_s"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError("arrivals must have columns direction ('MO' / 'MT'), handset and "
                         f"t_arrival_s ({exc})") from None
    if not (d.shape == h.shape == t.shape) or d.ndim != 1:
        raise InputError("arrivals: direction, handset and t_arrival_s must be 1-D and of one "
                         "length")
    bad = ~np.isin(d, DIRECTIONS)
    if bad.any():
        raise InputError(f"arrivals.direction must be 'MO' or 'MT', got {d[bad][0]!r}")
    if h.size and (h.dtype.kind not in "iu" or h.min() < 0 or h.max() >= view.n_handsets):
        raise InputError(f"arrivals.handset must be whole numbers in 0..{view.n_handsets - 1}")
    if t.size and (not np.all(np.isfinite(t)) or t.min() < view.start_s
                   or t.max() >= view.end_s):
        raise InputError(f"arrivals.t_arrival_s must lie in the view's span "
                         f"[{view.start_s}, {view.end_s})")
    return np.where(d == "MO", MO, MT).astype(np.int8), h.astype(np.int32), t


def simulate(view: CoverageView, config: SchedulerConfig | None = None, seed: int = 0, *,
             arrivals=None) -> SchedulerResult:
    """Run the scheduler over ``view`` and return its events and summary.

    Parameters
    ----------
    view : CoverageView
        Who is served when; the run spans ``[view.start_s, view.end_s)``.
    config : SchedulerConfig, optional
    seed : int
        Seeds every random stream (``satsim.scheduler.streams``): the same
        view, config and seed reproduce the result exactly.
    arrivals : mapping or DataFrame, optional
        Explicit SMS arrivals instead of the Poisson traffic: columns
        ``direction`` ("MO" / "MT"), ``handset``, ``t_arrival_s``.

    Returns
    -------
    SchedulerResult
    """
    if not isinstance(view, CoverageView):
        raise InputError(f"view must be a CoverageView, got {type(view).__name__}")
    config = SchedulerConfig() if config is None else config
    if not isinstance(config, SchedulerConfig):
        raise InputError(f"config must be a SchedulerConfig, got {type(config).__name__}")
    seed = check_seed(seed)
    sms, bc = config.sms, config.beams
    if arrivals is None:
        day0 = seconds_since_midnight(view.epoch)
        parts = [
            (direction, *handset_arrivals(seed, f"sms/{name}/arrivals", view.n_handsets, rate,
                                          view.start_s, view.end_s, sms.daily_profile, day0))
            for direction, name, rate in ((MO, "mo", sms.mo_per_hour),
                                          (MT, "mt", sms.mt_per_hour))
        ]
        direction = np.concatenate([np.full(p[1].size, p[0], np.int8) for p in parts])
        handset = np.concatenate([p[1] for p in parts])
        t_arrival = np.concatenate([p[2] for p in parts])
    else:
        direction, handset, t_arrival = _explicit_arrivals(arrivals, view)
    order = np.lexsort((handset, direction, t_arrival))  # by time; ties: MO first, then handset
    direction, handset, t_arrival = direction[order], handset[order], t_arrival[order]

    beams = Beams(bc.n_rb, bc.rach_per_s, bc.paging_per_s, view.start_s, view.end_s)
    ctx = SmsContext(view, beams, sms, bc, seed, direction, handset, t_arrival)
    env = simpy.Environment(initial_time=view.start_s)
    env.process(sms_source(env, ctx))
    env.run(until=view.end_s)

    outcome = np.asarray(ctx.outcome, dtype=np.int8)
    t_done = np.asarray(ctx.t_done, dtype=np.float64)
    t_delivered = np.where(outcome == DELIVERED, t_done, np.nan)
    events = pd.DataFrame({
        "id": np.arange(t_arrival.size, dtype=np.int64),
        "direction": direction_names(direction),
        "handset": handset.astype(np.int64),
        "t_arrival_s": t_arrival,
        "t_delivered_s": t_delivered,
        "latency_s": t_delivered - t_arrival,
        "outcome": outcome_names(outcome),
        "covered_at_arrival": view.is_served_many(handset, t_arrival),
        "attempts": np.asarray(ctx.attempts, dtype=np.int32),
        "sat": np.asarray(ctx.sat, dtype=np.int32),
        "beam": np.asarray(ctx.beam, dtype=np.int32),
    })
    assert not np.any((outcome == EXPIRED) & np.isnan(t_done))
    assert not np.any((outcome == IN_FLIGHT) & ~np.isnan(t_done))
    return SchedulerResult(events=events, beams=beams.table(), start_s=view.start_s,
                           end_s=view.end_s, seed=seed, config=config)
