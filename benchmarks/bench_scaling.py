"""Scaling sweep: how the cost of the whole pipeline grows with its inputs.

The pipeline is what a run of satsim does: the link stage (propagation,
geometry, path loss, serving-beam kernel) of the default constellation over
CONUS handsets at 10 s steps, consumed into the scheduler's
:class:`~satsim.scheduler.CoverageView` chunk by chunk, then
:func:`~satsim.scheduler.simulate` with SMS at 1 per handset-hour. From a
base case it multiplies one input at a time by 2 and 4 (``--quick``: the
handsets and satellites by 2, the duration by 4):

* handsets: the CONUS grid at the spacing whose count is closest to 2x / 4x;
* satellites: copies of the default shells with their planes shifted between
  the originals (``bench_geometry.build_constellation("x2" | "x4")``);
* duration: 2x / 4x the hours.

Each configuration runs in a fresh interpreter (this module is its own
worker: ``python -m benchmarks.bench_scaling '{"kind": "pipeline", ...}'``
prints ``RESULT {json}``), warmed up on 3 steps, then timed; memory is the
peak RSS the run adds (``VmHWM`` reset after the warm-up), for each stage and
for the whole. The figures are ratios to the base case: time (wall and user
CPU) and memory. Linear cost gives a time ratio equal to the size ratio;
chunked processing keeps memory flat as the duration grows.
"""

from __future__ import annotations

import gc
import math
import resource
import time

from benchmarks import Section, peak_rss_mib, reset_peak_rss, rss_mib, timed, worker_main

STEP_S = 10.0
#: satsim's default chunk of iter_link_chunks (steps).
CHUNK_STEPS = 360
#: Base case (handsets target, hours) and the factors swept per axis, full /
#: quick. Quick multiplies the duration by 4 (memory that followed the
#: duration would then stand out from the chunked working set's noise).
BASE_HANDSETS_FULL, BASE_HANDSETS_QUICK = 5_000, 2_500
BASE_HOURS_FULL, BASE_HOURS_QUICK = 2.0, 1.0
FACTORS_FULL = {"handsets": (2, 4), "satellites": (2, 4), "duration": (2, 4)}
FACTORS_QUICK = {"handsets": (2,), "satellites": (2,), "duration": (4,)}
#: Timed runs per configuration (best of).
RUNS_FULL, RUNS_QUICK = 2, 1
AXES = ("handsets", "satellites", "duration")


# =============================================================================
# worker side (fresh interpreter)
# =============================================================================
def _usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


def job_pipeline(spec):
    from satsim.link import iter_link_chunks
    from satsim.orbits import DEFAULT_EPOCH, TimeGrid, conus_handsets
    from satsim.scheduler import CoverageView, SchedulerConfig, simulate

    from benchmarks import moving_set2_link
    from benchmarks.bench_geometry import build_constellation
    from benchmarks.bench_scheduler import SMS

    c = build_constellation(spec["sats"])
    h = conus_handsets(spec["spacing_km"])
    h.position_km, h.enu_basis  # noqa: B018 - cached properties: part of set-up
    times = TimeGrid.from_duration(DEFAULT_EPOCH, spec["duration_s"], STEP_S)
    link_cfg, sched_cfg = moving_set2_link(), SchedulerConfig(sms=SMS)

    def link_stage(grid):
        stats = {"handset_steps": 0, "served": 0, "chunks": 0}

        def chunks():
            for ch in iter_link_chunks(c, h, grid, link_cfg, chunk_steps=CHUNK_STEPS):
                stats["handset_steps"] += ch.status.size
                stats["served"] += int(ch.served.sum())
                stats["chunks"] += 1
                yield ch

        return CoverageView.from_link_chunks(chunks()), stats

    def pipeline(grid):
        view, _ = link_stage(grid)
        return simulate(view, sched_cfg, seed=0)

    first_s, _ = timed(pipeline, times[:3])     # numba cache load, imports
    runs = []
    for _ in range(max(1, spec.get("runs", 1))):
        gc.collect()
        hwm_reset = reset_peak_rss()
        base = rss_mib()
        u0, s0 = _usage()
        t0 = time.perf_counter()
        view, stats = link_stage(times)
        t1 = time.perf_counter()
        u1, s1 = _usage()
        link_peak = peak_rss_mib() - base
        reset_peak_rss()
        base2 = rss_mib()
        res = simulate(view, sched_cfg, seed=0)
        t2 = time.perf_counter()
        u2, s2 = _usage()
        sched_peak = peak_rss_mib() - base2
        sms = res.summary()["sms"]["all"]
        runs.append({
            "wall_s": t2 - t0, "link_s": t1 - t0, "scheduler_s": t2 - t1,
            "cpu_user_s": u2 - u0, "cpu_sys_s": s2 - s0,
            "link_cpu_user_s": u1 - u0, "scheduler_cpu_user_s": u2 - u1,
            "link_added_mib": link_peak, "scheduler_added_mib": sched_peak,
            "rss_added_mib": max(link_peak, base2 - base + sched_peak),
            "view_mib": view.nbytes / 2**20, "view_runs": view.n_runs,
            "sms_offered": sms["offered"], "sms_delivered": sms["delivered"],
            "sms_accounted": sms["delivered"] + sms["expired"] + sms["in_flight"],
            "sms_attempts": int(res.events["attempts"].sum()), **stats,
        })
        del view, res
    b = min(runs, key=lambda r: r["wall_s"])
    return {**b, "wall_runs_s": [r["wall_s"] for r in runs], "first_call_s": first_s,
            "peak_method": "VmHWM reset after warm-up and between the stages" if hwm_reset
            else "ru_maxrss/VmHWM of the whole process (could not reset)",
            "satellites": len(c), "handsets": len(h), "steps": len(times)}


JOBS = {"pipeline": job_pipeline}


def main(argv=None):
    worker_main(JOBS, argv)


# =============================================================================
# parent side
# =============================================================================
def _size(r: dict, axis: str) -> float:
    return {"handsets": r["handsets"], "satellites": r["satellites"],
            "duration": r["steps"] - 1}[axis]


def run(quick: bool = False, repeats: int | None = None, log=print) -> Section:
    from benchmarks.bench_geometry import spacing_for
    from benchmarks.bench_link import run_job

    target = BASE_HANDSETS_QUICK if quick else BASE_HANDSETS_FULL
    hours = BASE_HOURS_QUICK if quick else BASE_HOURS_FULL
    factors = FACTORS_QUICK if quick else FACTORS_FULL
    runs = repeats or (RUNS_QUICK if quick else RUNS_FULL)
    sec = Section("scaling", headline={"time": "base_s", "memory": "base_added_mib",
                                       "throughput": "base_rate",
                                       "ratio": f"handsets_x{factors['handsets'][-1]}"
                                                "_time_ratio"})
    spacing = {1: spacing_for(target)}
    for k in factors["handsets"]:
        spacing[k] = spacing_for(k * target)
    base = {"kind": "pipeline", "sats": "base", "spacing_km": spacing[1][0],
            "duration_s": hours * 3600.0, "runs": runs}
    jobs = {"base": base}
    for k in factors["handsets"]:
        jobs[f"handsets_x{k}"] = dict(base, spacing_km=spacing[k][0])
    for k in factors["satellites"]:
        jobs[f"satellites_x{k}"] = dict(base, sats=f"x{k}")
    for k in factors["duration"]:
        jobs[f"duration_x{k}"] = dict(base, duration_s=k * hours * 3600.0)
    sec.config = {
        "pipeline": "iter_link_chunks(default constellation, conus_handsets, 10 s steps, "
                    "moving_set2_link()) -> CoverageView.from_link_chunks -> simulate(SMS 0.5 MO + "
                    "0.5 MT per handset-hour)",
        "base": {"handsets": spacing[1][1], "spacing_km": spacing[1][0], "satellites": 648,
                 "hours": hours},
        "factors": {axis: list(f) for axis, f in factors.items()},
        "handsets": {k: {"spacing_km": spacing[k][0], "handsets": spacing[k][1]}
                     for k in spacing},
        "satellites": "xN: N copies of the default shells, planes shifted by i x 15/N deg",
        "chunk_steps": CHUNK_STEPS, "runs": runs,
        "timing": "each configuration in a fresh process, warm-up on 3 steps, best of runs; "
                  "memory = VmHWM reset after the warm-up, per stage and whole",
    }
    log(f"scaling: base {spacing[1][1]:,} handsets x 648 satellites x {hours:g} h; "
        + ", ".join(f"{axis} " + "/".join(f"x{k}" for k in f) for axis, f in factors.items()))
    res = {}
    for name, spec in jobs.items():
        t0 = time.perf_counter()
        r = res[name] = run_job(spec, module="benchmarks.bench_scaling")
        other = r.get("other_cpu_s")
        log(f"  {name:14s} done in {time.perf_counter() - t0:5.1f} s (run {r['wall_s']:.2f} s: "
            f"link {r['link_s']:.2f} s, scheduler {r['scheduler_s']:.2f} s, "
            f"+{r['rss_added_mib']:.0f} MiB"
            + (f"; other processes {other:.1f} s CPU" if other is not None else "") + ")")
    sec.raw = res

    # -- checks ----------------------------------------------------------------------
    for name, r in res.items():
        sec.check(f"{name}: every handset-step and every SMS accounted for",
                  r["handset_steps"] == r["steps"] * r["handsets"]
                  and r["sms_accounted"] == r["sms_offered"],
                  f"{r['handset_steps']:,} handset-steps, {r['sms_offered']:,} SMS")

    # -- figures ----------------------------------------------------------------------
    b = res["base"]
    hs = b["handset_steps"]
    sec.add("base_s", "base: pipeline wall time", b["wall_s"], "s",
            note=f"{b['satellites']} sats x {b['handsets']:,} handsets x {b['steps']} steps; "
                 f"first call (3 steps, numba cache load) {b['first_call_s']:.2f} s")
    sec.add("base_link_s", "  link stage into the coverage view", b["link_s"], "s")
    sec.add("base_scheduler_s", "  scheduler (simulate)", b["scheduler_s"], "s",
            note=f"{b['sms_delivered']:,} of {b['sms_offered']:,} SMS delivered, "
                 f"{b['sms_attempts']:,} attempts")
    sec.add("base_rate", "  handset-steps per second", hs / b["wall_s"], "1/s",
            note=f"served fraction {b['served'] / hs:.3f}")
    sec.add("base_added_mib", "base: peak memory added", b["rss_added_mib"], "MiB",
            note=f"link stage {b['link_added_mib']:.0f} MiB, scheduler "
                 f"{b['scheduler_added_mib']:.0f} MiB, view {b['view_mib']:.1f} MiB")
    disturbed = []
    for axis in AXES:
        for k in factors[axis]:
            r = res[f"{axis}_x{k}"]
            size = _size(r, axis) / _size(b, axis)
            if (r.get("other_cpu_s") or 0.0) > 0.1 * r["job_wall_s"]:
                disturbed.append(f"{axis}_x{k}")
            tag = f"{axis} x{k}"
            sec.add(f"{axis}_x{k}_time_ratio", f"{tag}: time ratio", r["wall_s"] / b["wall_s"],
                    "x", note=f"size x{size:.2f}: {r['wall_s']:.2f} s (link x"
                              f"{r['link_s'] / b['link_s']:.2f}, scheduler x"
                              f"{r['scheduler_s'] / b['scheduler_s']:.2f})")
            sec.add(f"{axis}_x{k}_cpu_ratio", f"{tag}: user-CPU ratio",
                    r["cpu_user_s"] / b["cpu_user_s"], "x",
                    note="less disturbed by other processes than wall time")
            sec.add(f"{axis}_x{k}_mem_ratio", f"{tag}: peak memory ratio",
                    r["rss_added_mib"] / b["rss_added_mib"], "x",
                    note=f"{r['rss_added_mib']:.0f} MiB (link {r['link_added_mib']:.0f}, "
                         f"scheduler {r['scheduler_added_mib']:.0f})")
        kmax = factors[axis][-1]
        r = res[f"{axis}_x{kmax}"]
        size = _size(r, axis) / _size(b, axis)
        sec.add(f"{axis}_time_exponent", f"{axis}: time grows as size^p, p",
                math.log(r["wall_s"] / b["wall_s"]) / math.log(size), "",
                note=f"from x{kmax}; 1 = linear")
    sec.config["disturbed_jobs"] = disturbed
    sec.add("other_cpu_s", "CPU used by other processes during the sweep",
            sum(r.get("other_cpu_s") or 0.0 for r in res.values()), "s",
            note=("disturbed: " + ", ".join(disturbed)) if disturbed else
            "no job above 0.1 x its wall time")
    return sec


if __name__ == "__main__":
    main()
