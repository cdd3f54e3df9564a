"""``satsim.run``: one scenario from orbits to services, into a :class:`Results`.

Stages (data flows one way, ARCHITECTURE.md):

1. build the run's objects from the scenario (``satsim.scenario.build``);
2. orbits + geometry + link, one chunk of ``run.chunk_steps`` time steps at
   a time (``satsim.link.iter_link_chunks``); each chunk is folded into
   running per-handset and per-step statistics and into the scheduler's
   :class:`~satsim.scheduler.CoverageView`, then dropped, so memory does
   not grow with the number of chunks beyond the compact outputs;
3. the services over the view (``satsim.scheduler.simulate``);
4. the summary, tables and (if asked) the results folder.

Time statistics use the orbit layer's midpoint convention: sample ``k``
stands for ``[t_k - step/2, t_k + step/2]`` clipped to the run, so the first
and last samples weigh half and a gap of ``n`` unserved samples inside the
run lasts ``n * step_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .link.engine import iter_link_chunks
from .link.timeline import STATUS_NAMES
from .results.folder import Results, metadata_for
from .scenario import Scenario, load_scenario, scenario_yaml, with_overrides
from .scenario.build import build
from .scheduler.coverage_view import CoverageView
from .scheduler.model import simulate


#: SINR histogram for the percentiles of the summary: 0.05 dB bins.
_SINR_EDGES_DB = np.arange(-40.0, 60.0001, 0.05)

#: ``progress(stage, done, total)``: stage is "link", "scheduler" or "writing".
Progress = Callable[[str, float, float], None]


class _Accumulator:
    """Running statistics of the link timeline, fed one chunk at a time."""

    def __init__(self, n_handsets: int, times, sample_handsets: np.ndarray):
        nh = n_handsets
        self.times = times
        self.step_s = times.step_s
        self.n_total = len(times)
        self.served_s = np.zeros(nh)
        self.visible_s = np.zeros(nh)
        self.visible_sum_s = np.zeros(nh)
        self.sinr_sum = np.zeros(nh)
        self.sinr_n = np.zeros(nh, dtype=np.int64)
        self.status_count = np.zeros(max(STATUS_NAMES) + 1, dtype=np.int64)
        self.sinr_hist = np.zeros(_SINR_EDGES_DB.size - 1, dtype=np.int64)
        self.series = []
        self.samples = []
        self.handovers = []
        self.sample_idx = sample_handsets
        self.k0 = 0
        self.prev_served = None
        self.open_start = np.full(nh, -1, dtype=np.int64)
        self.gaps = []

    def _weights(self, nt: int) -> np.ndarray:
        w = np.full(nt, self.step_s)
        if self.k0 == 0:
            w[0] *= 0.5
        if self.k0 + nt == self.n_total:
            w[-1] *= 0.5
        return w

    def add(self, ch) -> None:
        served = ch.served
        nt, nh = served.shape
        w = self._weights(nt)[:, None]
        nvis = ch.n_visible
        visible = nvis > 0
        self.served_s += (served * w).sum(axis=0)
        self.visible_s += (visible * w).sum(axis=0)
        self.visible_sum_s += (nvis * w).sum(axis=0)
        sinr = np.where(served, ch.dl_sinr_db, 0.0).astype(np.float64)
        self.sinr_sum += sinr.sum(axis=0)
        self.sinr_n += served.sum(axis=0)
        self.status_count += np.bincount(ch.status.ravel(), minlength=self.status_count.size)
        self.sinr_hist += np.histogram(ch.dl_sinr_db[served], bins=_SINR_EDGES_DB)[0]
        n_served = served.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_sinr = np.where(n_served > 0, sinr.sum(axis=1) / np.maximum(n_served, 1), np.nan)
        self.series.append(pd.DataFrame({
            "time_s": ch.times.offsets_s,
            "mean_visible": nvis.mean(axis=1) if nh else np.zeros(nt),
            "served_fraction": served.mean(axis=1) if nh else np.zeros(nt),
            "visible_fraction": visible.mean(axis=1) if nh else np.zeros(nt),
            "mean_sinr_db": mean_sinr,
        }))
        if self.sample_idx.size:
            s = self.sample_idx
            self.samples.append(pd.DataFrame({
                "time_s": np.repeat(ch.times.offsets_s, s.size),
                "handset": np.tile(s, nt).astype(np.int64),
                "serving_sat": ch.serving_sat[:, s].ravel(),
                "serving_beam": ch.serving_beam[:, s].ravel(),
                "dl_sinr_db": ch.dl_sinr_db[:, s].ravel(),
                "elevation_deg": ch.elevation_deg[:, s].ravel(),
                "n_visible": nvis[:, s].ravel(),
                "status": ch.status[:, s].ravel(),
            }))
        if len(ch.handovers):
            self.handovers.append(ch.handovers)
        self._gaps(served)
        self.k0 += nt

    def _gaps(self, served: np.ndarray) -> None:
        """Find the unserved runs (gaps) of every handset, across chunks."""
        if self.prev_served is None:
            self.prev_served = served[0].copy()
            self.open_start[~served[0]] = 0
        d = np.diff(np.vstack([self.prev_served[None, :], served]).astype(np.int8), axis=0)
        t_idx, h_idx = np.nonzero(d)
        kind = d[t_idx, h_idx]  # -1: gap starts here, +1: gap ended (first served step)
        order = np.lexsort((t_idx, h_idx))
        t_idx, h_idx, kind = t_idx[order] + self.k0, h_idx[order], kind[order]
        ends = np.flatnonzero(kind == 1)
        prev_is_start = np.zeros(ends.size, dtype=bool)
        ok = ends > 0
        prev_is_start[ok] = (h_idx[ends[ok] - 1] == h_idx[ends[ok]]) & (kind[ends[ok] - 1] == -1)
        start = np.where(prev_is_start, t_idx[np.maximum(ends - 1, 0)],
                         self.open_start[h_idx[ends]])
        if ends.size:
            assert np.all(start >= 0)
            self.gaps.append((h_idx[ends], start, t_idx[ends]))
        # handsets whose last event is a start have a gap open at the chunk's end
        if h_idx.size:
            last = np.r_[h_idx[1:] != h_idx[:-1], True]
            lh, lk, lt = h_idx[last], kind[last], t_idx[last]
            self.open_start[lh] = np.where(lk == -1, lt, -1)
        self.prev_served = served[-1].copy()

    def finish(self) -> dict[str, pd.DataFrame]:
        n, step = self.n_total, self.step_s
        still = np.flatnonzero(self.open_start >= 0)
        if still.size:
            self.gaps.append((still, self.open_start[still], np.full(still.size, n)))
        if self.gaps:
            h, s, e = (np.concatenate([g[k] for g in self.gaps]) for k in range(3))
        else:
            h = s = e = np.empty(0, dtype=np.int64)
        order = np.lexsort((s, h))
        h, s, e = h[order], s[order], e[order]
        span = (n - 1) * step
        start_s = np.clip((s - 0.5) * step, 0.0, span)
        end_s = np.clip((e - 0.5) * step, 0.0, span)
        gaps = pd.DataFrame({"handset": h.astype(np.int64), "start_s": start_s, "end_s": end_s,
                             "duration_s": end_s - start_s,
                             "censored": (s == 0) | (e == n)})
        return {"gaps": gaps}


def _percentiles(values: np.ndarray, qs=(50, 95)) -> dict:
    if values.size == 0:
        return {f"p{q}": None for q in qs} | {"max": None}
    return {f"p{q}": float(np.percentile(values, q)) for q in qs} | {"max": float(values.max())}


def _hist_percentile(hist: np.ndarray, q: float) -> float | None:
    total = hist.sum()
    if total == 0:
        return None
    k = int(np.searchsorted(np.cumsum(hist), q / 100.0 * total))
    return round(float(0.5 * (_SINR_EDGES_DB[k] + _SINR_EDGES_DB[k + 1])), 3)


def _sample_handsets(nh: int, k: int) -> np.ndarray:
    if nh == 0 or k == 0:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.linspace(0, nh - 1, min(k, nh)).round().astype(np.int64))


def run(scenario: Scenario | str | Path | None = None, *, seed: int | None = None,
        out: str | Path | None = None, overwrite: bool = False,
        progress: Progress | None = None, link_chunks=None) -> Results:
    """Run a scenario end to end.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a YAML file, or None for the embedded default.
    seed : int, optional
        Overrides ``scenario.seed``.
    out : path, optional
        Also write the results folder there (atomically; see
        :meth:`Results.write`).
    overwrite : bool
        Replace an existing results folder at ``out``.
    progress : callable, optional
        ``progress(stage, done, total)`` after each chunk / stage.
    link_chunks : callable, optional
        ``link_chunks(inputs)`` -> iterator of the run's ``LinkChunk``s, in
        place of ``satsim.link.iter_link_chunks`` over the built inputs; e.g.
        ``satsim.sweeps.distributed_run.link_chunks_on(client)`` computes
        handset blocks of each chunk on a Dask cluster (same results).

    Returns
    -------
    Results
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if seed is not None:
        scenario = with_overrides(scenario, {"seed": seed})
    if out is not None:
        Results.check_destination(out, overwrite)
    report = progress or (lambda stage, done, total: None)
    timings = {}
    t0 = time.perf_counter()
    inputs = build(scenario)
    timings["build"] = time.perf_counter() - t0
    times, nh = inputs.times, len(inputs.handsets)
    acc = _Accumulator(nh, times, _sample_handsets(nh, scenario.run.sample_handsets))

    t1 = time.perf_counter()
    stages = {}
    if link_chunks is None:
        chunks = iter_link_chunks(inputs.constellation, inputs.handsets, times, inputs.link,
                                  chunk_steps=scenario.run.chunk_steps,
                                  processes=scenario.run.processes, timings=stages)
    else:
        chunks = link_chunks(inputs)

    def tapped():
        report("link", 0, len(times))
        for ch in chunks:
            acc.add(ch)
            report("link", acc.k0, len(times))
            yield ch

    view = CoverageView.from_link_chunks(tapped())
    tables = acc.finish()
    # parts of the chunked stage; "link" below is the whole of it (with the
    # running statistics and the scheduler's view)
    timings.update(propagation=stages.get("propagation", 0.0),
                   geometry=stages.get("geometry", 0.0),
                   link_kernel=stages.get("link", 0.0))
    timings["link"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    sched = None
    if inputs.services:
        report("scheduler", 0, 1)
        sched = simulate(view, inputs.scheduler, seed=scenario.seed)
        report("scheduler", 1, 1)
    timings["scheduler"] = time.perf_counter() - t2

    span = times.duration_s
    h = inputs.handsets
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sinr = np.where(acc.sinr_n > 0, acc.sinr_sum / np.maximum(acc.sinr_n, 1), np.nan)
    gaps = tables["gaps"]
    per_h_gaps = np.bincount(gaps["handset"], minlength=nh)
    max_gap = np.zeros(nh)
    if len(gaps):
        np.maximum.at(max_gap, gaps["handset"].to_numpy(), gaps["duration_s"].to_numpy())
    tables["handsets"] = pd.DataFrame({
        "handset": np.arange(nh, dtype=np.int64), "lat_deg": h.lat_deg, "lon_deg": h.lon_deg,
        "alt_m": h.alt_m, "served_fraction": acc.served_s / span,
        "visible_fraction": acc.visible_s / span, "mean_visible": acc.visible_sum_s / span,
        "gaps": per_h_gaps.astype(np.int64), "max_gap_s": max_gap, "mean_sinr_db": mean_sinr,
    })
    tables["timeseries"] = (pd.concat(acc.series, ignore_index=True) if acc.series
                            else pd.DataFrame())
    if acc.samples:
        tables["samples"] = pd.concat(acc.samples, ignore_index=True)
    tables["handovers"] = (pd.concat(acc.handovers, ignore_index=True) if acc.handovers
                           else pd.DataFrame({"time_s": [], "handset": [], "from_sat": [],
                                              "from_beam": [], "to_sat": [], "to_beam": [],
                                              "kind": []}))
    n_samples = acc.status_count.sum()
    handovers = tables["handovers"]
    coverage = {
        "availability": float(acc.served_s.sum() / (span * nh)) if nh else None,
        "availability_p5": float(np.percentile(acc.served_s / span, 5)) if nh else None,
        "visible": float(acc.visible_s.sum() / (span * nh)) if nh else None,
        "mean_visible": float(acc.visible_sum_s.sum() / (span * nh)) if nh else None,
        "gaps": int(len(gaps)),
        "censored_gaps": int(gaps["censored"].sum()),
        "gap_s": _percentiles(gaps["duration_s"].to_numpy()),
        "handovers_per_handset_hour": (float(len(handovers) / (nh * span / 3600.0))
                                       if nh else None),
        "inter_satellite_handover_share": (float((handovers["kind"] == "satellite").mean())
                                           if len(handovers) else None),
    }
    link = {
        "status_fraction": {STATUS_NAMES[k]: float(acc.status_count[k] / n_samples)
                            if n_samples else None for k in sorted(STATUS_NAMES)},
        "dl_sinr_db": {f"p{q}": _hist_percentile(acc.sinr_hist, q) for q in (10, 50, 90)},
    }
    summary = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "satsim_version": __version__,
        "run": {"epoch": times.epoch.isoformat(), "duration_s": float(span),
                "step_s": float(times.step_s), "steps": len(times),
                "satellites": len(inputs.constellation), "handsets": nh,
                "constellation": inputs.constellation.source,
                "handsets_label": h.label,
                "beams_per_satellite": inputs.beams_per_satellite,
                "services": list(inputs.services)},
        "coverage": coverage,
        "link": link,
        "sms": None, "voice": None, "data": None,
    }
    if sched is not None:
        s = sched.summary()
        if "sms" in inputs.services:
            summary["sms"] = s["sms"]["all"] | {"by_group": {k: v for k, v in s["sms"].items()
                                                             if k != "all"}}
            tables["sms"] = sched.events
        summary["voice"] = s["voice"]
        summary["data"] = s["data"]
        summary["beams"] = s["beams"]
        if sched.calls is not None:
            tables["calls"] = sched.calls
        if sched.sessions is not None:
            tables["sessions"] = sched.sessions
        tables["beams"] = sched.beams
    timings["total"] = time.perf_counter() - t0
    results = Results(summary=summary, tables=tables, scenario_yaml=scenario_yaml(scenario),
                      metadata=metadata_for(scenario, timings), timings_s=timings)
    if out is not None:
        report("writing", 0, 1)
        results.write(out, overwrite=overwrite)
        report("writing", 1, 1)
    return results
