"""Traffic of every service: Poisson arrivals per handset generated up front, and
the source process that releases them into SimPy.

Each handset's arrivals come from its own stream (``stream(seed, name, h)``),
so they do not depend on the number of handsets or on any other service; so
do the marks drawn per arrival (holding times, sizes: :func:`handset_draws`).
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

import numpy as np

from ..streams import stream

SECONDS_PER_HOUR = 3600.0


def seconds_since_midnight(epoch: datetime | None) -> float:
    """Seconds from the epoch's UTC midnight to the epoch (0 when the epoch is unknown)."""
    if epoch is None:
        return 0.0
    midnight = epoch.replace(hour=0, minute=0, second=0, microsecond=0)
    return (epoch - midnight).total_seconds()


def poisson_times(rng: np.random.Generator, rate_per_s: float, start_s: float, end_s: float,
                  profile: np.ndarray | None = None, day_offset_s: float = 0.0) -> np.ndarray:
    """Sorted arrival times of a Poisson process on ``[start_s, end_s)``, seconds.

    ``profile``: 24 weights of mean 1 by hour of day, hour of ``t`` being
    ``floor((day_offset_s + t) / 3600) mod 24``.
    """
    span = end_s - start_s
    peak = rate_per_s if profile is None else rate_per_s * float(profile.max())
    n = rng.poisson(peak * span)
    t = start_s + span * rng.random(n)
    t.sort()
    if profile is not None:
        hour = (np.floor((day_offset_s + t) / SECONDS_PER_HOUR) % 24).astype(np.int64)
        t = t[rng.random(n) * profile.max() < profile[hour]]
    return t


def handset_arrivals(seed: int, name: str, n_handsets: int, rate_per_hour: float,
                     start_s: float, end_s: float, profile=None,
                     day_offset_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals of every handset: ``(handset int32, t_s float64)``, by handset then time."""
    if rate_per_hour <= 0 or n_handsets == 0:
        return np.empty(0, np.int32), np.empty(0, np.float64)
    prof = None if profile is None else np.asarray(profile, dtype=np.float64)
    if prof is not None:
        prof = prof / prof.mean()
    rate = rate_per_hour / SECONDS_PER_HOUR
    times = [poisson_times(stream(seed, name, h), rate, start_s, end_s, prof, day_offset_s)
             for h in range(n_handsets)]
    counts = np.fromiter((t.size for t in times), dtype=np.int64, count=n_handsets)
    return (np.repeat(np.arange(n_handsets, dtype=np.int32), counts),
            np.concatenate(times) if times else np.empty(0))


def handset_draws(seed: int, name: str, handset: np.ndarray, n_handsets: int,
                  draw) -> np.ndarray:
    """One mark per arrival (a holding time, a size), from each handset's sub-stream.

    ``handset`` is sorted by handset (as :func:`handset_arrivals` returns it);
    ``draw(rng, n)`` returns the ``n`` marks of one handset from its generator
    ``stream(seed, name, h)``. Returns the marks in the order of ``handset``.
    """
    counts = np.bincount(handset, minlength=n_handsets)
    marks = [draw(stream(seed, name, h), int(c)) for h, c in enumerate(counts.tolist()) if c]
    return np.concatenate(marks) if marks else np.empty(0)


def at(env, t: float):
    """A timeout that fires at time ``t`` (never a negative delay from round-off)."""
    d = t - env.now
    return env.timeout(d if d > 0.0 else 0.0)


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
