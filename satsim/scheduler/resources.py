"""Beam resources shared by the services: resource blocks, random access, paging.

Every satellite beam, keyed by ``(sat, beam)`` and created the first time a
handset uses it, holds:

* ``ul``, ``dl``: :class:`RbPool` of the beam's resource blocks per direction
  (``Carrier.beam_n_rb``: 25 for 5 MHz at reuse 1);
* ``rach``: :class:`RateLimiter`, random-access grants per second;
* ``paging``: :class:`RateLimiter`, paging records per second.

The rate limiters work on a fixed grid of slots and accept requests for
future times in any order; the resource-block pools need requests in time
order, made at ``env.now`` (below).

Why not ``simpy.Resource``
--------------------------
A request to a first-come-first-served pool whose holding time is known when
the request is made (an SMS transfer) starts at a time fixed by the requests
before it: ``start = max(now, earliest time enough units are free)``, the
Kiefer-Wolfowitz workload recursion of the FCFS G/G/c queue. :class:`RbPool`
computes that start directly from a heap of per-RB free times, so a transfer
costs one SimPy timeout instead of request, grant and release events. The
recursion is exact on one condition, which the pools check: requests arrive
in time order, i.e. every request is made at ``env.now``. A request may carry
a deadline (the handset leaves the beam): a transfer still waiting then takes
no resource at all, one under way releases its RBs at the deadline.

Voice and data
--------------
A voice call is a guaranteed-bit-rate bearer (QCI 1, TS 23.203 Table
6.1.7): it is admitted only if its resource blocks are free *now*, and holds
them for a duration nobody knows in advance (it may be dropped or moved at a
handover). That does not fit the FCFS recursion, so calls are counted in a
:class:`GbrPool` of the beam's ``n_rb`` RBs per direction, with
:meth:`GbrPool.reserve_now` (reserve now or fail) and :meth:`GbrPool.release`.
Data sessions share, by processor sharing, the downlink RBs the calls leave
(:class:`satsim.scheduler.sharing.ElasticShare`, created per beam on first
use); every admission or release of a call updates the share's capacity.

SMS is left out of that split on purpose: SMS over NAS travels on the
signalling radio bearers, which the MAC scheduler serves before any data
radio bearer (logical-channel priority 1 and 3 for SRB1 / SRB2, TS 36.331
§9.2.1), so its transfers take RBs ahead of voice and data for a few
milliseconds each. The model lets the SMS pools ignore calls and sessions
(SMS results do not change when voice or data are switched on) and neglects
the RB-milliseconds SMS takes from them (a 240-byte transfer at CQI 9 holds
one RB for 6.6 ms).

Service-time models (:func:`service_time_model`) are swappable: ``"rate"``
(message bits over the RBs at the CQI's rate), ``"exponential"`` and
``"fixed"`` (for queueing-theory checks).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd

from ..link.cqi import RATE_BPS_PER_RB
from .sharing import ElasticShare

#: Length of an LTE radio frame, s (TS 36.211 §4.1): paging frames are frames.
RADIO_FRAME_S = 0.01
#: Round-off tolerated between a process's own clock and ``env.now``, s.
_TIME_TOLERANCE_S = 1e-6
#: UE_ID = IMSI mod 1024 selects the paging frame (TS 36.304 §7.1).
UE_ID_MODULUS = 1024


class RateLimiter:
    """At most ``rate_per_s`` grants per second, on a fixed grid of slots.

    Time is cut into slots of ``1 / rate_per_s`` seconds from ``t = 0``
    (like PRACH occasions, or paging frames); each slot grants once. A
    request for time ``t`` gets the first free slot starting at or after
    ``t``. Slots are found with a "next free slot" union-find (path
    compression), so requests may be made for any future time and in any
    order; ``now`` (``env.now``, non-decreasing) only lets slots in the past
    be forgotten. ``inf`` means no limit.
    """

    __slots__ = ("rate_per_s", "grants", "_next", "_prune_at")

    def __init__(self, rate_per_s: float):
        self.rate_per_s = float(rate_per_s)
        self.grants = 0
        self._next: dict[int, int] = {}  # taken slot -> a later slot that may be free
        self._prune_at = 4096

    def grant(self, t: float, now: float) -> float:
        """Start of the slot granted to a request for time ``t`` (>= ``t``), seconds."""
        self.grants += 1
        rate = self.rate_per_s
        if rate == math.inf:
            return t
        nxt = self._next
        k0 = k = math.ceil(t * rate - 1e-9)
        while k in nxt:
            k = nxt[k]
        nxt[k] = k + 1
        while k0 != k:  # path compression
            following = nxt[k0]
            nxt[k0] = k + 1
            k0 = following
        if len(nxt) > self._prune_at:
            floor = math.floor(now * rate)
            self._next = {a: b for a, b in nxt.items() if a >= floor}
            self._prune_at = max(4096, 2 * len(self._next))
        g = k / rate
        return g if g > t else t


class RbPool:
    """``n_rb`` resource blocks shared first come, first served.

    Attributes
    ----------
    n_rb : int
    busy_rb_s : float
        RB-seconds held, counted up to ``horizon_s``.
    grants : int
        Requests that got their RBs (possibly cut short by a deadline).
    """

    __slots__ = ("n_rb", "horizon_s", "busy_rb_s", "grants", "_free", "_last_t",
                 "_last_start")

    def __init__(self, n_rb: int, horizon_s: float = math.inf):
        self.n_rb = int(n_rb)
        self.horizon_s = horizon_s
        self.busy_rb_s = 0.0
        self.grants = 0
        self._free = [-math.inf] * self.n_rb  # a heap of the time each RB becomes free
        self._last_t = -math.inf
        self._last_start = -math.inf

    def reserve(self, t: float, n: int, duration_s: float,
                deadline_s: float = math.inf) -> tuple[float, float]:
        """Hold ``n`` RBs for ``duration_s`` from the earliest FCFS start at or after ``t``.

        Returns ``(start, finish)`` with ``finish = start + duration_s``. If
        ``finish > deadline_s`` the request fails: its RBs are held only up to
        the deadline (not at all if ``start >= deadline_s``).
        """
        if t < self._last_t:
            if t < self._last_t - _TIME_TOLERANCE_S:
                raise RuntimeError(f"RbPool: request at {t} s after one at {self._last_t} s; "
                                   "requests must be made at env.now")
            t = self._last_t  # round-off between the caller's clock and env.now
        self._last_t = t
        free = self._free
        if n == 1:
            f = free[0]
            start = t if t > f else f
            if start < self._last_start:
                start = self._last_start
            finish = start + duration_s
            end = finish if finish <= deadline_s else max(start, deadline_s)
            if end > start:
                heapq.heapreplace(free, end)
                self._account(start, end, 1)
        else:
            taken = [heapq.heappop(free) for _ in range(n)]
            start = max(t, taken[-1], self._last_start)
            finish = start + duration_s
            end = finish if finish <= deadline_s else max(start, deadline_s)
            used = end > start
            for f in taken:
                heapq.heappush(free, end if used else f)
            if used:
                self._account(start, end, n)
        return start, finish

    def _account(self, start: float, end: float, n: int) -> None:
        self._last_start = start
        self.grants += 1
        h = self.horizon_s
        if start < h:
            self.busy_rb_s += n * ((end if end < h else h) - start)


class GbrPool:
    """Resource blocks held by guaranteed-bit-rate bearers (voice calls): reserve now or fail.

    Holdings are RB-equivalents (floats): a call at a good CQI needs a
    fraction of an RB, i.e. one RB in some subframes (semi-persistent
    scheduling, TS 36.321 §5.10). Calls must be made at ``env.now``
    (non-decreasing times, checked), so the RB-seconds held integrate exactly.

    Attributes
    ----------
    n_rb : int
        RBs per direction.
    max_holds : int or None
        Most calls at once (None: only the RBs limit).
    held_rb : float
        RBs held now.
    holds, peak_holds : int
        Calls held now, and the most at once.
    admitted, refused : int
        ``reserve_now`` calls that succeeded / failed.
    """

    __slots__ = ("n_rb", "max_holds", "horizon_s", "held_rb", "holds", "peak_holds", "admitted",
                 "refused", "_busy_rb_s", "_t_last")

    def __init__(self, n_rb: int, max_holds: int | None = None, horizon_s: float = math.inf):
        self.n_rb = int(n_rb)
        self.max_holds = max_holds
        self.horizon_s = horizon_s
        self.held_rb = 0.0
        self.holds = self.peak_holds = self.admitted = self.refused = 0
        self._busy_rb_s = 0.0
        self._t_last = -math.inf

    def _advance(self, t: float) -> float:
        if t < self._t_last:
            if t < self._t_last - _TIME_TOLERANCE_S:
                raise RuntimeError(f"GbrPool: change at {t} s after one at {self._t_last} s; "
                                   "calls must be made at env.now")
            t = self._t_last
        if self.holds:
            h = self.horizon_s
            self._busy_rb_s += self.held_rb * ((t if t < h else h) - min(self._t_last, h))
        self._t_last = t
        return t

    def reserve_now(self, t: float, n_rb: float) -> bool:
        """Hold ``n_rb`` RBs from ``t`` if they are free now (and a call slot is); else False."""
        self._advance(t)
        if ((self.max_holds is not None and self.holds >= self.max_holds)
                or self.held_rb + n_rb > self.n_rb * (1.0 + 1e-12)):
            self.refused += 1
            return False
        self.held_rb += n_rb
        self.holds += 1
        self.admitted += 1
        if self.holds > self.peak_holds:
            self.peak_holds = self.holds
        return True

    def release(self, t: float, n_rb: float) -> None:
        """Give back ``n_rb`` RBs held since an earlier :meth:`reserve_now`."""
        self._advance(t)
        self.holds -= 1
        # exact zero when the last call leaves, so round-off never accumulates
        self.held_rb = self.held_rb - n_rb if self.holds else 0.0

    @property
    def free_rb(self) -> float:
        """RBs not held by calls."""
        return max(self.n_rb - self.held_rb, 0.0)

    def busy_rb_s(self, t: float) -> float:
        """RB-seconds held from the start up to ``min(t, horizon_s)`` (calls still held count)."""
        h = min(t, self.horizon_s)
        extra = self.held_rb * (h - self._t_last) if self.holds and h > self._t_last else 0.0
        return self._busy_rb_s + extra


class BeamResources:
    """The shared resources of one satellite beam (see the module docstring).

    ``voice`` is a :class:`GbrPool` (the same RB count is held in uplink and
    downlink); ``data`` the downlink :class:`~satsim.scheduler.sharing.ElasticShare`
    once a data session has used the beam, else None. ``ul``, ``dl`` (SMS
    transfers), ``rach``, ``paging`` and ``voice`` are made on first use: a
    national run touches ~100,000 beams an hour, most of them by one service
    only; :meth:`Beams.table` reads a pool never made as an idle one.
    """

    __slots__ = ("sat", "beam", "data", "_ul", "_dl", "_rach", "_paging", "_voice", "_args")

    def __init__(self, sat: int, beam: int, n_rb: int, rach_per_s: float, paging_per_s: float,
                 horizon_s: float = math.inf, max_calls: int | None = None):
        self.sat, self.beam = sat, beam
        self._args = (n_rb, rach_per_s, paging_per_s, horizon_s, max_calls)
        self._ul = self._dl = self._rach = self._paging = self._voice = None
        self.data = None

    @property
    def ul(self) -> RbPool:
        """Uplink RBs of SMS transfers."""
        if self._ul is None:
            self._ul = RbPool(self._args[0], self._args[3])
        return self._ul

    @property
    def dl(self) -> RbPool:
        """Downlink RBs of SMS transfers."""
        if self._dl is None:
            self._dl = RbPool(self._args[0], self._args[3])
        return self._dl

    @property
    def rach(self) -> RateLimiter:
        """Random-access grants."""
        if self._rach is None:
            self._rach = RateLimiter(self._args[1])
        return self._rach

    @property
    def paging(self) -> RateLimiter:
        """Paging occasions."""
        if self._paging is None:
            self._paging = RateLimiter(self._args[2])
        return self._paging

    @property
    def voice(self) -> GbrPool:
        """RBs held by calls."""
        if self._voice is None:
            n_rb, _, _, horizon_s, max_calls = self._args
            self._voice = GbrPool(n_rb, max_calls, horizon_s)
        return self._voice

    def admit_call(self, t: float, n_rb: float) -> bool:
        """Reserve ``n_rb`` RBs for a call now, or refuse; data gets what is left."""
        if not self.voice.reserve_now(t, n_rb):
            return False
        if self.data is not None:
            self.data.set_capacity(self.voice.free_rb)
        return True

    def end_call(self, t: float, n_rb: float) -> None:
        """Release a call's RBs (call ended, dropped or handed over); data gets them."""
        self.voice.release(t, n_rb)
        if self.data is not None:
            self.data.set_capacity(self.voice.free_rb)


class Beams:
    """All beams that served someone, created lazily, keyed by ``(sat, beam)``.

    ``env`` and ``sharing`` are needed only by data sessions (the elastic
    share of each beam runs its own timer in ``env``); ``max_calls`` caps the
    calls per beam.
    """

    def __init__(self, n_rb: int, rach_per_s: float, paging_per_s: float, start_s: float,
                 end_s: float, *, env=None, sharing: str = "round_robin",
                 max_calls: int | None = None):
        self.n_rb, self.rach_per_s, self.paging_per_s = n_rb, rach_per_s, paging_per_s
        self.start_s, self.end_s = start_s, end_s
        self.env, self.sharing, self.max_calls = env, sharing, max_calls
        self._beams: dict[tuple[int, int], BeamResources] = {}

    def get(self, sat: int, beam: int) -> BeamResources:
        key = (sat, beam)
        b = self._beams.get(key)
        if b is None:
            b = self._beams[key] = BeamResources(sat, beam, self.n_rb, self.rach_per_s,
                                                 self.paging_per_s, self.end_s, self.max_calls)
        return b

    def data_share(self, sat: int, beam: int):
        """The beam's elastic downlink share for data (created on first use)."""
        b = self.get(sat, beam)
        if b.data is None:
            b.data = ElasticShare(self.env, b.voice.free_rb, self.sharing, self.end_s)
        return b.data

    def all(self) -> list[BeamResources]:
        """Every beam used so far, in ``(sat, beam)`` order."""
        return [self._beams[k] for k in sorted(self._beams)]

    def __len__(self) -> int:
        return len(self._beams)

    def table(self) -> pd.DataFrame:
        """One row per beam used, sorted by ``(sat, beam)``.

        Columns: ``sat``, ``beam``; SMS transfers: ``ul_rb_s``, ``dl_rb_s``,
        ``ul_utilisation``, ``dl_utilisation``, ``ul_transfers``,
        ``dl_transfers``, ``rach_grants``, ``pages``; voice: ``voice_rb_s``
        (RB-seconds held per direction), ``voice_utilisation``,
        ``voice_calls`` (admissions, handovers in included), ``voice_refused``,
        ``voice_peak_calls``; data (downlink): ``data_rb_s`` (RB-seconds in
        use: the RBs left by calls while at least one session is active),
        ``data_utilisation``, ``data_bits``; and ``dl_utilisation_all`` /
        ``ul_utilisation_all``: all services together.

        Utilisation is RB-seconds / (``n_rb`` x run duration), over the
        whole run (a beam exists all the time; it is simply idle when no one
        it serves has traffic).
        """
        keys = sorted(self._beams)
        span = self.end_s - self.start_s
        rows = [self._beams[k] for k in keys]
        cap = self.n_rb * span
        idle_pool, idle_limiter = RbPool(self.n_rb), RateLimiter(math.inf)
        idle_voice = GbrPool(self.n_rb)  # what a pool never made reads as
        def made(pool, idle):
            return idle if pool is None else pool

        uls = [made(b._ul, idle_pool) for b in rows]
        dls = [made(b._dl, idle_pool) for b in rows]
        voices = [made(b._voice, idle_voice) for b in rows]
        ul = np.array([p.busy_rb_s for p in uls], dtype=np.float64)
        dl = np.array([p.busy_rb_s for p in dls], dtype=np.float64)
        voice = np.array([p.busy_rb_s(self.end_s) for p in voices], dtype=np.float64)
        data = np.array([0.0 if b.data is None else b.data.busy_rb_s(self.end_s) for b in rows],
                        dtype=np.float64)
        return pd.DataFrame({
            "sat": np.array([k[0] for k in keys], dtype=np.int32),
            "beam": np.array([k[1] for k in keys], dtype=np.int32),
            "ul_rb_s": ul,
            "dl_rb_s": dl,
            "ul_utilisation": ul / cap,
            "dl_utilisation": dl / cap,
            "ul_transfers": np.array([p.grants for p in uls], dtype=np.int64),
            "dl_transfers": np.array([p.grants for p in dls], dtype=np.int64),
            "rach_grants": np.array([made(b._rach, idle_limiter).grants for b in rows],
                                    dtype=np.int64),
            "pages": np.array([made(b._paging, idle_limiter).grants for b in rows],
                              dtype=np.int64),
            "voice_rb_s": voice,
            "voice_utilisation": voice / cap,
            "voice_calls": np.array([p.admitted for p in voices], dtype=np.int64),
            "voice_refused": np.array([p.refused for p in voices], dtype=np.int64),
            "voice_peak_calls": np.array([p.peak_holds for p in voices], dtype=np.int64),
            "data_rb_s": data,
            "data_utilisation": data / cap,
            "data_bits": np.array([0.0 if b.data is None else b.data.bits_sent(self.end_s)
                                   for b in rows], dtype=np.float64),
            "dl_utilisation_all": (dl + voice + data) / cap,
            "ul_utilisation_all": (ul + voice) / cap,
        })


def next_paging_occasion(t: float, handset: int, cycle_s: float) -> float:
    """First paging occasion of ``handset`` at or after ``t``, seconds.

    TS 36.304 §7.1 with ``nB = T``: the paging frame satisfies
    ``SFN mod T = UE_ID mod T``, ``UE_ID = IMSI mod 1024``; here the handset
    index stands for the IMSI and the frame grid starts at the epoch
    (``T = cycle_s / 10 ms`` frames). ``cycle_s = 0`` pages at once.
    """
    if cycle_s <= 0.0:
        return t
    n_frames = max(1, round(cycle_s / RADIO_FRAME_S))
    offset = ((handset % UE_ID_MODULUS) % n_frames) * (cycle_s / n_frames)
    k = math.ceil((t - offset) / cycle_s)
    return offset + k * cycle_s


class _TransferTime:
    """``bits / (n_rb x rate_bps_per_rb(cqi))``: the message over its RBs at the CQI's rate."""

    def __init__(self, bits: float, n_rb: int):
        self.table = [bits / (n_rb * r) if r > 0 else math.inf
                      for r in RATE_BPS_PER_RB.tolist()]

    def __call__(self, cqi: int) -> float:
        return self.table[cqi]


class _FixedTime:
    def __init__(self, mean_s: float):
        self.mean_s = float(mean_s)

    def __call__(self, cqi: int) -> float:
        return self.mean_s


class _ExponentialTime:
    """Exponential holding times of mean ``mean_s``, drawn in blocks from ``rng``."""

    _BLOCK = 4096

    def __init__(self, mean_s: float, rng: np.random.Generator):
        self.mean_s, self.rng = float(mean_s), rng
        self._buf: list[float] = []

    def __call__(self, cqi: int) -> float:
        if not self._buf:
            self._buf = self.rng.exponential(self.mean_s, self._BLOCK).tolist()[::-1]
        return self._buf.pop()


def service_time_model(kind: str, *, bits: float, n_rb: int, mean_s: float | None = None,
                       rng: np.random.Generator | None = None):
    """A callable ``cqi -> seconds`` giving the holding time of one transfer.

    Parameters
    ----------
    kind : {"rate", "exponential", "fixed"}
        ``"rate"``: ``bits`` over ``n_rb`` RBs at
        :func:`satsim.link.cqi.rate_bps_per_rb` of the handset's CQI;
        ``"exponential"``: i.i.d. exponential of mean ``mean_s`` (from ``rng``);
        ``"fixed"``: always ``mean_s``.
    """
    if kind == "rate":
        return _TransferTime(bits, n_rb)
    if kind == "exponential":
        return _ExponentialTime(mean_s, rng)
    if kind == "fixed":
        return _FixedTime(mean_s)
    raise ValueError(f"unknown service-time model {kind!r}")
