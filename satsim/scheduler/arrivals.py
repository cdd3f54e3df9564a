"""Traffic of every service: Poisson arrivals per handset generated up front, and
the source process that releases them into SimPy.

Arrivals are drawn in vectorised blocks: the handsets ``b x BLOCK_HANDSETS``
to ``(b + 1) x BLOCK_HANDSETS - 1`` (by index) draw from sub-stream ``b`` of
the service's stream (``stream(seed, name, b)``), one Poisson count per slot
of the block and then every time of the block at once, whether a slot's
handset exists or not. So a handset's arrivals do not depend on the number
of handsets or on any other service. The marks drawn per arrival (holding
times, sizes: :func:`handset_draws`) come from their own stream, block by
block, in handset then time order: a handset's marks depend on the arrival
counts of the lower-indexed handsets of its block, which exist whenever it
does. One generator per block instead of one per handset: building a
generator costs ~10 µs, i.e. ~10 s for 100,000 handsets and ten streams,
before any draw (issue 14).

A daily profile (24 relative weights, one per UTC hour of day) modulates the
rate; the weights are normalised to mean 1, so ``rate_per_hour`` stays the
daily average. The non-homogeneous process is drawn by thinning (Lewis and
Shedler 1979): a homogeneous process at the peak rate, each point kept with
probability ``weight(hour) / max(weight)``.

Every service runs the same way: one :func:`release` process starts one
process ``f(env, ctx, i)`` per arrival ``i`` at ``ctx.t_arrival[i]``, and the
processes sleep with :func:`at` (``env.now`` in seconds since the scenario
epoch).
"""

from __future__ import annotations

from datetime import datetime
from heapq import heappush

import numpy as np
import simpy
from simpy.events import NORMAL

from ..streams import stream

SECONDS_PER_HOUR = 3600.0


def seconds_since_midnight(epoch: datetime | None) -> float:
    """Seconds from the epoch's UTC midnight to the epoch (0 when the epoch is unknown)."""
    if epoch is None:
        return 0.0
    midnight = epoch.replace(hour=0, minute=0, second=0, microsecond=0)
    return (epoch - midnight).total_seconds()


#: Handsets per block of a traffic stream's draws (module docstring).
BLOCK_HANDSETS = 256


def block_poisson_times(rng: np.random.Generator, rate_per_s: float, start_s: float,
                        end_s: float, profile: np.ndarray | None = None,
                        day_offset_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals on ``[start_s, end_s)`` of the :data:`BLOCK_HANDSETS` independent
    Poisson processes of one block: ``(slot int64, t_s float64)``, by slot then
    time. Each slot's count is Poisson at the peak rate over the span and its
    times uniform on it (the order statistics of a Poisson process); with a
    ``profile`` (24 weights of mean 1 by hour of day, the hour of ``t`` being
    ``floor((day_offset_s + t) / 3600) mod 24``) each point is then kept with
    probability ``weight / max(weight)`` (thinning)."""
    span = end_s - start_s
    peak = rate_per_s if profile is None else rate_per_s * float(profile.max())
    counts = rng.poisson(peak * span, size=BLOCK_HANDSETS)
    m = int(counts.sum())
    t = start_s + span * rng.random(m)
    slot = np.repeat(np.arange(BLOCK_HANDSETS, dtype=np.int64), counts)
    if profile is not None:
        hour = (np.floor((day_offset_s + t) / SECONDS_PER_HOUR) % 24).astype(np.int64)
        keep = rng.random(m) * profile.max() < profile[hour]
        slot, t = slot[keep], t[keep]
    order = np.lexsort((t, slot))
    return slot[order], t[order]


def handset_arrivals(seed: int, name: str, n_handsets: int, rate_per_hour: float,
                     start_s: float, end_s: float, profile=None,
                     day_offset_s: float = 0.0, blocks=None) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals of every handset: ``(handset int32, t_s float64)``, by handset then
    time, drawn block by block (module docstring); with ``blocks`` (increasing
    block numbers, :func:`blocks_of`), those blocks' handsets only, the same
    arrivals as they have among every handset's (each block has its own stream)."""
    if rate_per_hour <= 0 or n_handsets == 0:
        return np.empty(0, np.int32), np.empty(0, np.float64)
    prof = None if profile is None else np.asarray(profile, dtype=np.float64)
    if prof is not None:
        prof = prof / prof.mean()
    rate = rate_per_hour / SECONDS_PER_HOUR
    handsets, times = [], []
    every = range(-(-n_handsets // BLOCK_HANDSETS))
    for b in (every if blocks is None else np.asarray(blocks).tolist()):
        slot, t = block_poisson_times(stream(seed, name, b), rate, start_s, end_s, prof,
                                      day_offset_s)
        first = b * BLOCK_HANDSETS
        present = slot < n_handsets - first
        handsets.append((first + slot[present]).astype(np.int32))
        times.append(t[present])
    if not handsets:
        return np.empty(0, np.int32), np.empty(0, np.float64)
    return np.concatenate(handsets), np.concatenate(times)


def blocks_of(handsets) -> np.ndarray:
    """The traffic blocks (:data:`BLOCK_HANDSETS` handsets each) holding ``handsets``,
    increasing: what a part of a run draws (``scheduler.simulate(handsets=)``)."""
    return np.unique(np.asarray(handsets, dtype=np.int64) // BLOCK_HANDSETS)


def handset_draws(seed: int, name: str, handset: np.ndarray, n_handsets: int,
                  draw) -> np.ndarray:
    """One mark per arrival (a holding time, a size), block by block.

    ``handset`` is sorted by handset (as :func:`handset_arrivals` returns it);
    ``draw(rng, n)`` returns ``n`` marks from a generator: the arrivals of block
    ``b`` (module docstring) take theirs, in order, from ``stream(seed, name,
    b)``. Returns the marks in the order of ``handset``.
    """
    counts = np.bincount(handset, minlength=n_handsets)
    per_block = np.add.reduceat(counts, np.arange(0, n_handsets, BLOCK_HANDSETS)) \
        if n_handsets else np.zeros(0, dtype=np.int64)
    marks = [draw(stream(seed, name, b), int(m)) for b, m in enumerate(per_block.tolist()) if m]
    return np.concatenate(marks) if marks else np.empty(0)


class Environment(simpy.Environment):
    """SimPy's environment with timeouts at absolute instants (:meth:`timeout_at`).

    SimPy fires a timeout at ``now + delay``; ``now + (t - now)`` can miss
    ``t`` by a unit in the last place, and no delay reaches some ``t`` at all
    (the sum rounds half to even), so when an instant is reached would depend
    on the event that scheduled it. At an absolute instant a process runs at
    the same time whatever else is simulated beside it, which is what lets
    :mod:`satsim.scheduler.parts` split a run exactly."""

    def timeout_at(self, t: float):
        """An event that fires at ``t`` (> ``now``) exactly, as a timeout would."""
        event = simpy.Event(self)
        event._ok, event._value = True, None
        heappush(self._queue, (t, NORMAL, next(self._eid), event))
        return event


def at(env, t: float):
    """A timeout that fires at time ``t`` (now if ``t`` is past): exactly at ``t`` in
    an :class:`Environment`, at SimPy's ``now + (t - now)`` in a plain one."""
    now = env.now
    if not t > now:
        return env.timeout(0.0)
    timeout_at = getattr(env, "timeout_at", None)
    return env.timeout(t - now) if timeout_at is None else timeout_at(t)


def release(env, ctx, process):
    """Process: starts ``process(env, ctx, i)`` at each ``ctx.t_arrival[i]``, in order.

    ``ctx.t_arrival`` is sorted; arrivals at one instant start in id order.
    """
    now = env.now
    for i, t in enumerate(ctx.t_arrival):
        if t > now:
            yield at(env, t)
            now = t
        env.process(process(env, ctx, i))
