"""JIT: numba compile time of the whole pipeline, and its cache across processes.

satsim compiles its numba kernels with ``cache=True`` (``satsim/_jit.py``):
the first process compiles and writes machine code to the cache, later
processes load it. This benchmark runs a tiny pipeline (20 satellites, a
handful of CONUS handsets, 3 steps: propagation, coverage counts, link
geometry, the link stage with path loss, serving-beam kernel and CQI, then
the scheduler, then ``satsim.run`` of the default scenario shortened to 3
steps, if that API is there) twice in each of two fresh interpreters sharing one empty
temporary ``NUMBA_CACHE_DIR`` (satsim's own cache is untouched):

* process 1 compiles: first call minus second call of each stage is its
  compile time, the second call its steady-state time;
* process 2 must load every kernel from the cache: numba's per-kernel
  counters (``Dispatcher.stats.cache_hits`` / ``cache_misses``) are checked,
  and first minus second call is the cache-load time.

The other sections report the same split for their own kernels
(``jit_compile_s``, ``jit_cache_load_s``); the scheduler has no numba code.
This module is its own worker: ``python -m benchmarks.bench_jit '{"kind": "jit"}'``.
"""

from __future__ import annotations

import os
import sys
import tempfile

from benchmarks import Section, timed, worker_main

#: Stages of the tiny pipeline, in the order they run.
STAGES = ("propagation", "coverage", "geometry", "link", "scheduler", "run")


# =============================================================================
# worker side (fresh interpreter)
# =============================================================================
def _kernel_stats() -> dict:
    """Every numba kernel satsim has loaded: signatures compiled and loaded from the cache."""
    from numba.core.dispatcher import Dispatcher

    out = {}
    for name, mod in list(sys.modules.items()):
        if not name.startswith("satsim"):
            continue
        for value in list(vars(mod).values()):
            if isinstance(value, Dispatcher):
                key = f"{value.py_func.__module__}.{value.py_func.__name__}"
                st = value.stats
                out[key] = {"signatures": len(value.signatures),
                            "cache_hits": sum(st.cache_hits.values()),
                            "cache_misses": sum(st.cache_misses.values())}
    return out


def job_jit(spec):
    from satsim.link import LinkConfig, iter_link_chunks
    from satsim.orbits import (
        DEFAULT_EPOCH, TimeGrid, WalkerShell, conus_handsets, coverage, propagate,
        visible_links, walker_constellation,
    )
    from satsim.orbits.propagation import gmst1982_rad
    from satsim.scheduler import CoverageView, SchedulerConfig, simulate

    c = walker_constellation([WalkerShell(20, 4, 1, 53.0, 550.0)], DEFAULT_EPOCH)
    h = conus_handsets(300.0)
    h.position_km, h.enu_basis  # noqa: B018 - cached properties, not numba
    tg = TimeGrid.from_duration(DEFAULT_EPOCH, 20.0, 10.0)
    gmst1982_rad(tg)  # Skyfield's timescale and imports: not numba, do them first
    cfg = LinkConfig()
    box = {}

    def link():
        box["view"] = CoverageView.from_link_chunks(iter_link_chunks(c, h, tg, cfg))

    calls = {
        "propagation": lambda: propagate(c, tg),
        "coverage": lambda: coverage(c, h, tg, 25.0),
        "geometry": lambda: visible_links(propagate(c, tg), h, 25.0),
        "link": link,
        "scheduler": lambda: simulate(box["view"], SchedulerConfig(), seed=0),
    }
    try:  # the end-to-end API, last: what it compiles beyond the stages above
        from satsim import load_scenario, run

        from benchmarks.bench_e2e import with_overrides

        tiny = with_overrides(load_scenario(), {"duration_s": 20.0, "handsets.spacing_km": 300.0})
        calls["run"] = lambda: run(tiny)
    except ImportError:
        pass
    out = {"first_s": {}, "second_s": {}}
    for stage in [s for s in STAGES if s in calls]:
        out["first_s"][stage], _ = timed(calls[stage])
        out["second_s"][stage], _ = timed(calls[stage])
    out["kernels"] = _kernel_stats()
    out["numba_cache_dir"] = os.environ.get("NUMBA_CACHE_DIR", "<default: __pycache__>")
    return out


JOBS = {"jit": job_jit}


def main(argv=None):
    worker_main(JOBS, argv)


# =============================================================================
# parent side
# =============================================================================
def run(quick: bool = False, repeats: int | None = None, log=print) -> Section:
    from benchmarks.bench_link import run_job

    sec = Section("jit", headline={"time": "compile_s", "ratio": "compile_over_cache_load"})
    sec.config = {
        "pipeline": "20 satellites (Walker 20/4/1, 53 deg, 550 km), conus_handsets(300 km), "
                    "3 steps of 10 s: propagate, coverage, visible_links, iter_link_chunks "
                    "(LinkConfig()) into CoverageView, simulate(SchedulerConfig())",
        "processes": "two fresh interpreters, one shared empty NUMBA_CACHE_DIR (temporary)",
        "quick": "same as full (the run is tiny either way)",
    }
    log("jit: compiling the pipeline's kernels in a fresh process with an empty cache, "
        "then loading them in a second one")
    with tempfile.TemporaryDirectory(prefix="satsim-bench-numba-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_job({"kind": "jit"}, env_extra=env, module="benchmarks.bench_jit")
        warm = run_job({"kind": "jit"}, env_extra=env, module="benchmarks.bench_jit")
    sec.raw = {"process_1": cold, "process_2": warm}

    stages = [s for s in STAGES if s in cold["first_s"]]

    def split(r):
        return {s: max(0.0, r["first_s"][s] - r["second_s"][s]) for s in stages}

    comp, load = split(cold), split(warm)
    k1, k2 = cold["kernels"], warm["kernels"]
    compiled = sorted(k for k, v in k1.items() if v["cache_misses"])
    recompiled = sorted(k for k, v in k2.items() if v["cache_misses"])
    loaded = sorted(k for k, v in k2.items() if v["cache_hits"])
    sec.check("process 1 (empty cache) compiled satsim's kernels",
              len(compiled) > 0, f"{len(compiled)} kernels compiled")
    # helpers compiled into their callers (counted as misses in process 1)
    # are never called from Python in process 2: only entry points show hits
    sec.check("process 2 loaded the kernels from the cache and recompiled none",
              not recompiled and loaded and set(loaded) <= set(compiled),
              f"{len(loaded)} entry points loaded (the other {len(compiled) - len(loaded)} "
              f"compiled kernels are helpers inlined into them); recompiled: "
              f"{', '.join(recompiled) or 'none'}")

    total_c, total_l = sum(comp.values()), sum(load.values())
    sec.add("compile_s", "numba compile, whole pipeline (empty cache)", total_c, "s",
            note=f"{len(compiled)} kernels; first minus second call of each stage")
    for s in stages:
        sec.add(f"compile_{s}_s", f"  {s}" + (" (satsim.run of the default scenario, 3 steps, "
                                              "after the stages above)" if s == "run" else ""),
                comp[s], "s",
                note=f"steady state (second call) {cold['second_s'][s] * 1e3:.1f} ms")
    sec.add("cache_load_s", "cache load, whole pipeline (second process)", total_l, "s",
            note=", ".join(f"{s} {load[s]:.2f}" for s in stages))
    sec.add("steady_s", "steady-state time of the same tiny run", sum(warm["second_s"].values()),
            "s", note="second call of each stage, process 2")
    sec.add("compile_over_cache_load", "compile time / cache-load time", total_c / total_l, "x",
            note="how much a second process saves by the cache")
    sec.add("kernels_compiled", "kernels compiled in process 1", len(compiled), "",
            note=f"{len(loaded)} entry points called from Python + helpers")
    sec.add("kernels_recompiled", "kernels recompiled in process 2", len(recompiled), "")
    return sec


if __name__ == "__main__":
    main()
