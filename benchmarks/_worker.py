"""One benchmark job in a fresh interpreter (started by :func:`benchmarks.run_worker`).

``python -m benchmarks._worker '{"kind": ..., ...}'`` builds the scenario,
warms the numba kernels up on a tiny run of the same code path, resets the
peak-RSS mark, runs the job once and prints ``RESULT {json}``. Jobs:

* ``coverage``: :func:`satsim.orbits.coverage` over the whole time grid;
* ``links``: every link of the grid via :func:`satsim.orbits.iter_links`;
* ``naive``: a brute-force numpy visibility count vs ``visible_counts`` on a
  few time steps, in this one process (the ratio), checked equal;
* ``jit``: first-call vs second-call times of the kernels' entry points
  (run with an empty ``NUMBA_CACHE_DIR`` this is the numba compile time).

Memory figures: ``rss_baseline_mib`` is the RSS after imports, set-up and
warm-up; ``rss_peak_mib`` the high-water mark during the run (``VmHWM``
after resetting it); ``rss_added_mib`` their difference, what the run adds.
"""

from __future__ import annotations

import gc
import math
import resource
import time

import numpy as np

from benchmarks import peak_rss_mib, reset_peak_rss, rss_mib, timed, worker_main


def _scenario(spec):
    from satsim.orbits import DEFAULT_EPOCH, TimeGrid, conus_handsets

    from benchmarks.bench_geometry import build_constellation

    c = build_constellation(spec["sats"])
    h = conus_handsets(spec["spacing_km"])
    h.position_km, h.enu_basis  # noqa: B018 - cached properties: part of set-up
    times = TimeGrid.from_duration(DEFAULT_EPOCH, spec["duration_s"], spec["step_s"])
    warm = TimeGrid.from_duration(DEFAULT_EPOCH, 2 * spec["step_s"], spec["step_s"])
    return c, h, times, warm


def _memory_run(fn, runs: int = 1):
    """Run ``fn()`` ``runs`` times after resetting the peak-RSS mark.

    Each run starts with the previous result dropped, so the peak is that of
    one run. Times: the best run (``wall_s``) and all of them; CPU figures
    are those of the best run.
    """
    gc.collect()
    hwm_reset = reset_peak_rss()
    base = rss_mib()
    out = None
    runs_info = []
    for _ in range(max(1, runs)):
        out = None
        gc.collect()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        dt, out = timed(fn)
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        runs_info.append({
            "wall_s": dt,
            "cpu_user_s": ru1.ru_utime - ru0.ru_utime,
            "cpu_sys_s": ru1.ru_stime - ru0.ru_stime,
            "minor_page_faults": ru1.ru_minflt - ru0.ru_minflt,
        })
    peak = peak_rss_mib()
    best_run = min(runs_info, key=lambda r: r["wall_s"])
    return out, {
        **best_run,
        "wall_runs_s": [r["wall_s"] for r in runs_info],
        "cpu_sys_runs_s": [r["cpu_sys_s"] for r in runs_info],
        "rss_baseline_mib": base,
        "rss_peak_mib": peak,
        "rss_added_mib": peak - base,
        "peak_method": "VmHWM reset after warm-up" if hwm_reset else
        "ru_maxrss/VmHWM of the whole process (could not reset)",
    }


def job_coverage(spec):
    from satsim.orbits import coverage, propagate

    c, h, times, warm = _scenario(spec)
    el, chunk = spec["min_elevation_deg"], spec["chunk_steps"]
    first_s, _ = timed(coverage, c, h, warm, el, chunk_steps=chunk)
    cov, res = _memory_run(lambda: coverage(c, h, times, el, chunk_steps=chunk),
                           spec.get("runs", 1))
    nv = cov.n_visible
    res.update(
        first_call_s=first_s,
        satellites=len(c),
        handsets=len(h),
        steps=len(times),
        n_visible_sum=int(nv.sum(dtype=np.int64)),
        n_visible_max=int(nv.max()),
        mean_visible=float(nv.mean()),
        covered_fraction=float(np.count_nonzero(nv) / nv.size),
    )
    del cov, nv
    if not spec.get("propagation_alone", True):
        return res
    # The propagation part of the same run, alone (same chunks), to split
    # the wall time into SGP4 + rotation and visibility counting.
    t0 = time.perf_counter()
    for lo in range(0, len(times), chunk):
        eph = propagate(c, times[lo:lo + chunk], max_epoch_age_days=None)
        del eph
    res["propagation_s"] = time.perf_counter() - t0
    return res


def job_links(spec):
    from satsim.orbits import iter_links

    c, h, times, warm = _scenario(spec)
    el, chunk = spec["min_elevation_deg"], spec["chunk_steps"]
    hold_previous = bool(spec.get("hold_previous", False))

    def consume(grid):
        stats = {"links": 0, "chunks": 0, "max_chunk_links": 0, "min_elevation_deg": math.inf,
                 "min_range_km": math.inf, "max_range_km": 0.0, "max_abs_range_rate_km_s": 0.0}
        for links in iter_links(c, h, grid, el, chunk_steps=chunk):
            n = len(links)
            stats["links"] += n
            stats["chunks"] += 1
            stats["max_chunk_links"] = max(stats["max_chunk_links"], n)
            if n:
                stats["min_elevation_deg"] = min(stats["min_elevation_deg"],
                                                 float(links.elevation_deg.min()))
                stats["min_range_km"] = min(stats["min_range_km"], float(links.range_km.min()))
                stats["max_range_km"] = max(stats["max_range_km"], float(links.range_km.max()))
                rate = links.range_rate_km_s  # no temporaries: they would count in the peak
                stats["max_abs_range_rate_km_s"] = max(
                    stats["max_abs_range_rate_km_s"], float(rate.max()), -float(rate.min())
                )
                del rate
            if not hold_previous:
                # drop this chunk before the generator computes the next one,
                # so the peak is one chunk of links; a plain loop holds two
                del links
        return stats

    first_s, _ = timed(consume, warm)
    stats, res = _memory_run(lambda: consume(times), spec.get("runs", 1))
    res.update(stats)
    res.update(
        first_call_s=first_s,
        satellites=len(c),
        handsets=len(h),
        steps=len(times),
        links_per_s=stats["links"] / res["wall_s"],
    )
    return res


def naive_visible_counts(position_km, h_pos, h_up, min_elevation_deg):
    """Brute force: every satellite against every handset, numpy broadcasting.

    For each time step, the (nsat, nh, 3) handset-to-satellite vectors, their
    length, and the elevation ``asin(d . up / |d|)`` in degrees; count those
    at or above the mask. No pruning. Returns (ntime, nh) int32.
    """
    ntime, nh = position_km.shape[1], h_pos.shape[0]
    out = np.empty((ntime, nh), dtype=np.int32)
    for t in range(ntime):
        d = position_km[:, t, None, :] - h_pos[None, :, :]
        rng = np.sqrt(np.einsum("shk,shk->sh", d, d))
        with np.errstate(invalid="ignore"):
            el = np.degrees(np.arcsin(np.einsum("shk,hk->sh", d, h_up) / rng))
        out[t] = np.count_nonzero(el >= min_elevation_deg, axis=0)
    return out


def job_naive(spec):
    import numba

    from satsim.orbits import DEFAULT_EPOCH, TimeGrid, conus_handsets, propagate, visible_counts

    from benchmarks.bench_geometry import build_constellation

    c = build_constellation(spec["sats"])
    h = conus_handsets(spec["spacing_km"])
    el = spec["min_elevation_deg"]
    steps = spec["naive_steps"]
    offsets = np.linspace(0.0, spec["duration_s"], steps)
    eph = propagate(c, TimeGrid(DEFAULT_EPOCH, offsets))
    h_pos = h.position_km
    up = h.enu_basis[2]
    first_s, _ = timed(visible_counts, eph, h, el)

    threads = numba.get_num_threads()
    fast = []
    for _ in range(spec.get("fast_repeats", 5)):
        dt, counts = timed(visible_counts, eph, h, el)
        fast.append(dt)
    numba.set_num_threads(1)
    fast_1t = []
    for _ in range(spec.get("fast_repeats", 5)):
        dt, counts_1t = timed(visible_counts, eph, h, el)
        fast_1t.append(dt)
    numba.set_num_threads(threads)
    slow = []
    for _ in range(spec.get("naive_repeats", 2)):
        gc.collect()
        dt, ref = timed(naive_visible_counts, eph.position_km, h_pos, up, el)
        slow.append(dt)

    mismatch = int(np.count_nonzero(ref != counts))
    return {
        "satellites": len(c),
        "handsets": len(h),
        "steps": steps,
        "pairs_per_step": len(c) * len(h),
        "numba_threads": threads,
        "first_call_s": first_s,
        "visible_counts_s": fast,
        "visible_counts_1thread_s": fast_1t,
        "naive_s": slow,
        "counts_equal": mismatch == 0 and bool(np.array_equal(counts, counts_1t)),
        "mismatched_cells": mismatch,
        "total_visible": int(ref.sum(dtype=np.int64)),
    }


def job_jit(spec):
    """First call vs second call of each entry point, on a tiny scenario."""
    from satsim.orbits import (
        DEFAULT_EPOCH, TimeGrid, WalkerShell, conus_handsets, propagate, visible_counts,
        visible_links, walker_constellation,
    )
    from satsim.orbits.propagation import gmst1982_rad

    c = walker_constellation([WalkerShell(20, 4, 1, 53.0, 550.0)], DEFAULT_EPOCH)
    tg = TimeGrid.from_duration(DEFAULT_EPOCH, 20.0, 10.0)
    gmst1982_rad(tg)  # Skyfield's timescale and imports: not numba, do them first
    out = {}
    out["propagate_first_s"], eph = timed(propagate, c, tg)
    out["propagate_second_s"], eph = timed(propagate, c, tg)
    if "geometry" in spec.get("what", ()):
        h = conus_handsets(300.0)
        h.position_km, h.enu_basis  # noqa: B018
        out["visible_counts_first_s"], _ = timed(visible_counts, eph, h, 25.0)
        out["visible_counts_second_s"], _ = timed(visible_counts, eph, h, 25.0)
        out["visible_links_first_s"], _ = timed(visible_links, eph, h, 25.0)
        out["visible_links_second_s"], _ = timed(visible_links, eph, h, 25.0)
    import os

    out["numba_cache_dir"] = os.environ.get("NUMBA_CACHE_DIR", "<default: __pycache__>")
    return out


JOBS = {"coverage": job_coverage, "links": job_links, "naive": job_naive, "jit": job_jit}


def main(argv=None):
    worker_main(JOBS, argv)


if __name__ == "__main__":
    main()
