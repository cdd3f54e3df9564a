"""End to end: ``satsim.run`` of the default scenario, against its own stages.

``run(load_scenario())`` is what ``satsim run`` does with no argument: the
embedded default scenario (648 satellites serving Earth-fixed cells, every
cell of CONUS lit, 362 handsets on a 150 km grid, one day at 10 s, SMS at 1
per handset-hour), from orbits to the services' summary. ``--quick`` shortens
it to 1 hour over the 100 km grid (811 handsets) with ``with_overrides``.

Reference: the same work done as bare stages in the same process, from the
same built inputs (``satsim.scenario.build.build``): the link stage into the
scheduler's coverage view (``iter_link_chunks`` -> ``CoverageView.
from_link_chunks``) and ``simulate``. ``e2e_over_stages`` = run's wall time
/ the sum of those stage times: what the pipeline adds on top of the work it
cannot avoid (its running statistics, gap and handover tables, summary:
``satsim.results.summary``). The run's own "link" timer covers the chunked
stage with its running statistics; the summary and its tables, the gaps
table included, fall in "rest".
The runs and the stages alternate (round-robin, best of the rounds).

Checked: the bare stages reproduce the run's SMS outcome exactly (same view,
same seed), and the run's summary accounts for every SMS and link status.

The job runs in a fresh interpreter (``python -m benchmarks.bench_e2e
'{"kind": "e2e", ...}'`` prints ``RESULT {json}``): a tiny run first (numba
kernels loaded from the cache: first call minus second is the cache-load
time; the compile time of the same kernels is the ``jit`` section's), then
the timed rounds with the peak-RSS mark reset before each.
"""

from __future__ import annotations

import time

from benchmarks import Section, cpu_s, peak_added, timed, worker_main

#: --quick: 1 hour over the 100 km CONUS grid (811 handsets).
QUICK_OVERRIDES = {"duration_s": 3600.0, "handsets.spacing_km": 100.0}
ROUNDS_FULL, ROUNDS_QUICK = 1, 3
#: The warm-up run: this many time steps.
WARM_STEPS = 3


def api_missing() -> str:
    """Why the end-to-end API cannot be used, or "" when it can."""
    try:
        from satsim import load_scenario, run  # noqa: F401
    except ImportError as exc:
        return (f"`from satsim import load_scenario, run` failed ({exc}); the end-to-end "
                "section needs the scenario API")
    return ""


def with_overrides(scenario, overrides: dict):
    """``scenario.with_overrides(overrides)``, or the module function of the same name."""
    method = getattr(scenario, "with_overrides", None)
    if method is not None:
        return method(overrides)
    from satsim.scenario import with_overrides as function

    return function(scenario, overrides)


# =============================================================================
# worker side (fresh interpreter)
# =============================================================================
def job_e2e(spec):
    from satsim import load_scenario, run
    from satsim.link import iter_link_chunks
    from satsim.scenario.build import build
    from satsim.scheduler import CoverageView, simulate

    sc = load_scenario()
    if spec["overrides"]:
        sc = with_overrides(sc, spec["overrides"])
    tiny = with_overrides(sc, {"duration_s": WARM_STEPS * sc.step_s})
    first_s, _ = timed(run, tiny)
    second_s, _ = timed(run, tiny)

    def stages():
        """The bare stages on the run's own inputs: (times, view, scheduler result)."""
        t, cpu, c = {}, {}, {}
        c0 = cpu_s()
        t["build"], inputs = timed(build, sc)
        cpu["build"] = cpu_s() - c0
        t["link"], view, link_mib = peak_added(lambda: CoverageView.from_link_chunks(
            iter_link_chunks(inputs.constellation, inputs.handsets, inputs.times, inputs.link,
                             chunk_steps=sc.run.chunk_steps, processes=sc.run.processes)), c)
        cpu["link"] = c["cpu_s"]
        res = None
        t["scheduler"], sched_mib, cpu["scheduler"] = 0.0, 0.0, 0.0
        if inputs.services:
            t["scheduler"], res, sched_mib = peak_added(
                lambda: simulate(view, inputs.scheduler, seed=sc.seed), c)
            cpu["scheduler"] = c["cpu_s"]
        return t, cpu, {"link": link_mib, "scheduler": sched_mib}, res, inputs

    rounds = []
    for _ in range(spec["rounds"]):
        c = {}
        dt, results, mib = peak_added(lambda: run(sc), c)
        st, st_cpu, st_mib, ref, inputs = stages()
        rounds.append({"run_s": dt, "run_cpu_s": c["cpu_s"], "run_added_mib": mib,
                       "timings_s": dict(results.timings_s), "stages_s": st,
                       "stages_cpu_s": st_cpu, "stages_added_mib": st_mib})
    summ = results.summary
    ref_sms = ref.summary()["sms"]["all"] if ref is not None else None
    return {
        "scenario": sc.name, "overrides": spec["overrides"],
        "satellites": len(inputs.constellation), "handsets": len(inputs.handsets),
        "steps": len(inputs.times), "step_s": float(inputs.times.step_s),
        "duration_s": float(inputs.times.duration_s), "services": list(inputs.services),
        "beams": summ["run"].get("beams"),
        "first_call_s": first_s, "second_call_s": second_s, "rounds": rounds,
        "summary": summ, "reference_sms": ref_sms,
    }


JOBS = {"e2e": job_e2e}


def main(argv=None):
    worker_main(JOBS, argv)


# =============================================================================
# parent side
# =============================================================================
def _sum_close(values, total: float, tol: float = 1e-6) -> bool:
    return abs(sum(v for v in values if v is not None) - total) <= tol


def run(quick: bool = False, repeats: int | None = None, log=print) -> Section:
    from benchmarks.bench_link import run_job

    sec = Section("e2e", headline={"time": "run_s", "memory": "run_added_mib",
                                   "throughput": "run_rate", "ratio": "e2e_over_stages"})
    missing = api_missing()
    if missing:
        sec.skipped = missing
        log(f"[yellow]e2e: skipped: {missing}[/]")
        return sec
    overrides = QUICK_OVERRIDES if quick else {}
    rounds = repeats or (ROUNDS_QUICK if quick else ROUNDS_FULL)
    sec.config = {
        "scenario": "load_scenario() (the embedded default)"
                    + (f" with_overrides({overrides})" if overrides else ""),
        "rounds": rounds,
        "reference": "same process, same built inputs: iter_link_chunks -> CoverageView."
                     "from_link_chunks, then simulate; alternating with run(), best of rounds",
        "memory": "VmHWM reset before each run / stage, minus the RSS then",
    }
    log("e2e: run(load_scenario()" + (f" with {overrides}" if overrides else "")
        + f"), {rounds} round(s) against the bare stages")
    t0 = time.perf_counter()
    r = run_job({"kind": "e2e", "overrides": overrides, "rounds": rounds},
                module="benchmarks.bench_e2e", timeout=7200.0)
    sec.raw = r
    best = min(r["rounds"], key=lambda x: x["run_s"])
    st = {k: min(x["stages_s"][k] for x in r["rounds"]) for k in ("build", "link", "scheduler")}
    tm = best["timings_s"]
    log(f"  done in {time.perf_counter() - t0:.1f} s (run {best['run_s']:.2f} s; stages "
        + ", ".join(f"{k} {v:.2f} s" for k, v in st.items()) + ")")
    summ = r["summary"]
    hs = r["handsets"] * r["steps"]

    # -- checks -------------------------------------------------------------------
    sms, ref = summ.get("sms"), r["reference_sms"]
    if sms is not None and ref is not None:
        sec.check("bare stages reproduce the run's SMS outcome (same view, same seed)",
                  all(sms[k] == ref[k] for k in ("offered", "delivered", "expired", "in_flight")),
                  f"run {sms['delivered']:,} / stages {ref['delivered']:,} delivered of "
                  f"{sms['offered']:,}")
        sec.check("every SMS delivered, expired or in flight",
                  sms["delivered"] + sms["expired"] + sms["in_flight"] == sms["offered"])
    fr = summ["link"]["status_fraction"]
    sec.check("link status fractions sum to 1", _sum_close(fr.values(), 1.0),
              ", ".join(f"{k} {v:.3f}" for k, v in fr.items() if v is not None))
    sec.check("run covers every handset and step",
              summ["run"]["handsets"] == r["handsets"] and summ["run"]["steps"] == r["steps"])

    # -- figures --------------------------------------------------------------------
    tag = (f"{r['satellites']} sats x {r['handsets']:,} handsets x {r['steps']:,} steps "
           f"({r['duration_s'] / 3600:g} h), {r['beams']}, services "
           f"{', '.join(r['services']) or 'none'}")
    sec.add("run_s", "satsim.run, wall time", best["run_s"], "s", note=tag)
    for k in ("build", "link", "scheduler"):
        sec.add(f"run_{k}_s", f"  run's own timer: {k}", tm.get(k, float("nan")), "s",
                note="propagation + geometry + link + coverage view + statistics"
                if k == "link" else "")
    other = tm["total"] - sum(tm.get(k, 0.0) for k in ("build", "link", "scheduler"))
    sec.add("run_summary_s", "  rest (summary tables)", other, "s")
    sec.add("run_rate", "  handset-steps per second", hs / best["run_s"], "1/s")
    sec.add("run_realtime", "  simulated time / wall time", r["duration_s"] / best["run_s"], "x")
    if sms is not None:
        sec.add("run_sms_per_s", "  SMS delivered per second of run", sms["delivered"] /
                best["run_s"], "1/s", note=f"{sms['delivered']:,} of {sms['offered']:,}")
    sec.add("run_added_mib", "satsim.run, peak memory added", best["run_added_mib"], "MiB",
            note="bare stages: link into the view "
                 f"{best['stages_added_mib']['link']:.0f} MiB, scheduler "
                 f"{best['stages_added_mib']['scheduler']:.0f} MiB")
    total = sum(st.values())
    sec.add("stages_s", "bare stages, sum (the reference)", total, "s",
            note=", ".join(f"{k} {v:.2f} s" for k, v in st.items()))
    sec.add("e2e_over_stages", "run / bare stages (pipeline overhead)", best["run_s"] / total,
            "x", note="wall time, best of rounds; 1.0 = the run adds nothing to the work of "
                      "its stages")
    run_cpu = min(x["run_cpu_s"] for x in r["rounds"])
    st_cpu = min(sum(x["stages_cpu_s"].values()) for x in r["rounds"])
    sec.add("e2e_over_stages_cpu", "  same in CPU time (user + sys, all threads)",
            run_cpu / st_cpu, "x", note=f"run {run_cpu:.2f} s, stages {st_cpu:.2f} s; less "
                                        "disturbed by other processes than wall time")
    sec.add("run_link_over_stage", "  run's link timer / bare link stage",
            tm["link"] / st["link"], "x",
            note="the run's per-chunk statistics (availability, gaps, handovers, series)")
    sec.add("first_call_s", "first run in the process (tiny: "
            f"{WARM_STEPS} steps)", r["first_call_s"], "s",
            note=f"second call {r['second_call_s']:.2f} s: the difference is imports, "
                 "Skyfield timescale and the numba cache load (compile: jit section)")
    sec.add("cache_load_s", "  first minus second tiny run", r["first_call_s"] -
            r["second_call_s"], "s")
    cov = summ["coverage"]
    sec.add("availability", "  availability (served share of handset-time)",
            cov["availability"], "", note=f"served {fr.get('served', float('nan')):.3f} of "
                                          "link samples")
    return sec


if __name__ == "__main__":
    main()
