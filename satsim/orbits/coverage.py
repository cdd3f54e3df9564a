"""Visibility and gaps: when each handset has a satellite in view, and when not.

A handset is *covered* at a sample time when at least one satellite is at or
above the minimum elevation. Coverage is sampled on the run's time grid, and
each sample stands for the interval between the midpoints to its
neighbours (the first and last are cut at the run's start and end). An
access window therefore starts half way between the last uncovered and the
first covered sample, so window edges are within half a step of the true
rise and set times (tested against Skyfield's ``find_events``).

That sampling rule is :func:`sample_bounds_s`, the one implementation of it:
the scheduler's :class:`~satsim.scheduler.CoverageView` and the run's summary
(:mod:`satsim.results.summary`) use it too, so all three agree on when a
window or a gap starts and ends.

Gaps are the intervals between windows, including the gaps cut by the start
or end of the run (``censored``: their true length is at least the one
reported). Statistics:

* availability: covered time / run time, per handset and averaged over
  handsets (handsets on an equal-area grid make this an area average);
* gap durations: pooled over all handsets, percentiles and maximum.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .constellation import Constellation
from .geometry import VisibleLinks, visible_counts, visible_links
from .handsets import Handsets
from .propagation import DEFAULT_MAX_EPOCH_AGE_DAYS, iter_ephemeris
from .timegrid import TimeGrid

#: Time steps per chunk when propagating and counting (bounds memory).
DEFAULT_CHUNK_STEPS = 720


def sample_bounds_s(times_s, before_s: float | None = None,
                    after_s: float | None = None) -> np.ndarray:
    """Where the interval each sample stands for starts and ends (the midpoint rule).

    Sample ``k`` at ``times_s[k]`` stands for ``[bounds[k], bounds[k + 1])``,
    from the midpoint to the previous sample to the midpoint to the next, so
    a run of samples ``i .. j - 1`` (a window, a gap, a stretch of service)
    lasts from ``bounds[i]`` to ``bounds[j]``, and ``numpy.diff(bounds)`` are
    the samples' weights in seconds.

    Parameters
    ----------
    times_s : array_like, (n,)
        Sample times, seconds, increasing.
    before_s, after_s : float, optional
        The sample times just before and just after these, when they are a
        chunk of a longer run. Without them the first interval starts at
        ``times_s[0]`` and the last ends at ``times_s[-1]``: the run's start
        and end cut the end samples to half a step.

    Returns
    -------
    numpy.ndarray of float64, (n + 1,)
        Interval bounds, seconds.
    """
    t = np.asarray(times_s, dtype=np.float64)
    bounds = np.empty(t.size + 1)
    bounds[1:-1] = 0.5 * (t[:-1] + t[1:])
    bounds[0] = t[0] if before_s is None else 0.5 * (before_s + t[0])
    bounds[-1] = t[-1] if after_s is None else 0.5 * (t[-1] + after_s)
    return bounds


def iter_links(
    constellation: Constellation,
    handsets: Handsets,
    times: TimeGrid,
    min_elevation_deg: float,
    *,
    chunk_steps: int = DEFAULT_CHUNK_STEPS,
    processes: int = 1,
    max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
) -> Iterator[VisibleLinks]:
    """Propagate and compute links one chunk of time steps at a time.

    Yields one :class:`VisibleLinks` per chunk of at most ``chunk_steps``
    samples, so memory stays bounded however long the run.
    """
    for _, eph in iter_ephemeris(constellation, times, chunk_steps, processes=processes,
                                 max_epoch_age_days=max_epoch_age_days):
        yield visible_links(eph, handsets, min_elevation_deg)


def coverage(
    constellation: Constellation,
    handsets: Handsets,
    times: TimeGrid,
    min_elevation_deg: float,
    *,
    chunk_steps: int = DEFAULT_CHUNK_STEPS,
    processes: int = 1,
    max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
) -> Coverage:
    """Satellites in view of every handset at every time, and its gaps.

    Propagates in chunks of ``chunk_steps`` samples. Peak memory is about
    ``ntime * nh`` bytes for the result plus, for up to two chunks at once,
    ``nsat * chunk_steps * 56`` bytes of ephemeris and ``chunk_steps * nh * 4``
    bytes of counts (measured: +182 MiB for 648 satellites, 10,000 handsets,
    one day at 10 s; see ``benchmarks/README.md``).
    """
    n_visible = np.empty((len(times), len(handsets)), dtype=np.uint8)
    for sl, eph in iter_ephemeris(constellation, times, chunk_steps, processes=processes,
                                  max_epoch_age_days=max_epoch_age_days):
        counts = visible_counts(eph, handsets, min_elevation_deg)
        np.minimum(counts, 255, out=counts)
        n_visible[sl] = counts
    return Coverage(constellation, handsets, times, float(min_elevation_deg), n_visible)


@dataclass(frozen=True, eq=False)
class Coverage:
    """Number of satellites in view per (time, handset), with windows and gaps.

    Attributes
    ----------
    constellation, handsets, times
        What was simulated.
    min_elevation_deg : float
        The elevation mask, degrees.
    n_visible : numpy.ndarray
        Satellites at or above the mask, shape ``(ntime, nh)``, uint8
        (saturates at 255).
    """

    constellation: Constellation
    handsets: Handsets
    times: TimeGrid
    min_elevation_deg: float
    n_visible: np.ndarray

    # -- sample weights ----------------------------------------------------
    @cached_property
    def _edges_s(self) -> np.ndarray:
        """Sample ``k`` stands for ``[edges[k], edges[k+1])``, seconds
        (:func:`sample_bounds_s`)."""
        return sample_bounds_s(self.times.offsets_s)

    @property
    def span_s(self) -> float:
        """Length of the run, seconds."""
        return float(self._edges_s[-1] - self._edges_s[0])

    @cached_property
    def covered(self) -> np.ndarray:
        """True where at least one satellite is in view, ``(ntime, nh)``."""
        return self.n_visible > 0

    # -- intervals -----------------------------------------------------------
    def _intervals(self, mask: np.ndarray) -> pd.DataFrame:
        nt, nh = mask.shape
        padded = np.zeros((nh, nt + 2), dtype=np.int8)
        padded[:, 1:-1] = mask.T
        d = np.diff(padded, axis=1)
        h_on, i_on = np.nonzero(d == 1)
        _, i_off = np.nonzero(d == -1)
        edges = self._edges_s
        start, end = edges[i_on], edges[i_off]
        return pd.DataFrame(
            {
                "handset": h_on.astype(np.int64),
                "start_s": start,
                "end_s": end,
                "duration_s": end - start,
            }
        )

    @cached_property
    def windows(self) -> pd.DataFrame:
        """Access windows: one row per (handset, interval with a satellite in view).

        Columns ``handset``, ``start_s``, ``end_s``, ``duration_s`` (seconds
        since the epoch), ordered by handset then time.
        """
        return self._intervals(self.covered)

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """Coverage gaps, as :attr:`windows` plus ``censored`` (cut by the run's
        start or end, so the true gap is at least this long)."""
        g = self._intervals(~self.covered)
        e = self._edges_s
        g["censored"] = (g["start_s"] <= e[0]) | (g["end_s"] >= e[-1])
        return g

    # -- statistics ------------------------------------------------------------
    @cached_property
    def availability(self) -> np.ndarray:
        """Fraction of the run with a satellite in view, per handset, ``(nh,)``."""
        w = np.diff(self._edges_s)
        return (w @ self.covered) / self.span_s

    @cached_property
    def mean_visible(self) -> np.ndarray:
        """Time-averaged number of satellites in view per handset, ``(nh,)``."""
        w = np.diff(self._edges_s)
        return (w @ self.n_visible.astype(np.float64)) / self.span_s

    def per_handset(self) -> pd.DataFrame:
        """One row per handset: position, availability, satellites in view, gaps."""
        g = self.gaps
        by = g.groupby("handset")["duration_s"]
        nh = len(self.handsets)
        n_gaps = np.bincount(g["handset"], minlength=nh)
        max_gap = np.zeros(nh)
        if len(g):
            mx = by.max()
            max_gap[mx.index.to_numpy()] = mx.to_numpy()
        return pd.DataFrame(
            {
                "lat_deg": self.handsets.lat_deg,
                "lon_deg": self.handsets.lon_deg,
                "availability": self.availability,
                "mean_visible": self.mean_visible,
                "n_gaps": n_gaps,
                "max_gap_s": max_gap,
            }
        )

    def summary(self) -> dict:
        """Headline numbers over all handsets (plain floats, JSON-ready).

        ``gap_s`` percentiles pool every gap of every handset (censored ones
        included at their observed length); all-zero when there is no gap.
        """
        avail = self.availability
        gaps = self.gaps["duration_s"].to_numpy()
        pct = (lambda q: float(np.percentile(gaps, q))) if gaps.size else (lambda q: 0.0)
        return {
            "satellites": len(self.constellation),
            "handsets": len(self.handsets),
            "duration_s": self.span_s,
            "step_s": self.times.step_s,
            "min_elevation_deg": self.min_elevation_deg,
            "availability": float(avail.mean()),
            "availability_p5": float(np.percentile(avail, 5)),
            "availability_min": float(avail.min()),
            "mean_visible": float(self.mean_visible.mean()),
            "gaps": int(gaps.size),
            "gap_s": {"p50": pct(50), "p95": pct(95), "max": float(gaps.max()) if gaps.size else 0.0},
        }

    def by_latitude(self, band_deg: float = 5.0) -> pd.DataFrame:
        """Availability and gaps aggregated over latitude bands of ``band_deg``."""
        ph = self.per_handset()
        band = np.floor(ph["lat_deg"] / band_deg) * band_deg
        ph["band"] = band
        out = ph.groupby("band").agg(
            handsets=("availability", "size"),
            availability=("availability", "mean"),
            mean_visible=("mean_visible", "mean"),
            max_gap_s=("max_gap_s", "max"),
        )
        out.index = [f"{b:g}..{b + band_deg:g}" for b in out.index]
        out.index.name = "lat_band_deg"
        return out
