"""Distributed: one run's link stage in handset blocks on a 2-worker Dask LocalCluster.

Issue 14 asks for "the same run with its handset blocks on a Dask cluster (the
existing ``link_chunks_on``), measured on a 2-worker LocalCluster". This
section runs the embedded default scenario (Earth-fixed cells; ``--quick``:
20 minutes, else 2 hours, at 10 s) twice in one fresh interpreter, best of
the rounds, alternating:

* **serial**: ``satsim.run(scenario)``, numba on both cores;
* **cluster**: ``satsim.run(scenario, link_chunks=link_chunks_on(client))``
  on ``satsim.sweeps.engine.open_client(workers=2)``: two worker processes,
  one thread and one numba thread each, one handset block per worker; the
  driver merges the blocks chunk by chunk and runs the scheduler.

Checked: the two runs' summaries are equal (the blocks merge into exactly the
serial timeline). Figures: both wall times and ``serial_over_cluster`` (> 1:
the cluster is faster). On one 2-core machine the cluster cannot beat numba's
own two threads: it adds process start-up, pickling every chunk to the
driver, and, with Earth-fixed cells, the cell assignment done in every block
(each block assigns all cells, the same deterministic choice). What the
measurement gives is that overhead, i.e. what a real cluster must win back:
with N machines the link stage's kernel work divides by N, the assignment and
the driver's merge and scheduler do not. Run on its own:
``python -m benchmarks distributed [--quick]``.
"""

from __future__ import annotations

import time

from benchmarks import Section, worker_main

#: Run lengths: (quick, full), s.
DURATION_QUICK_S, DURATION_FULL_S = 1200.0, 7200.0
ROUNDS_QUICK, ROUNDS_FULL = 2, 2


def job_distributed(spec: dict) -> dict:
    """Serial and cluster runs of the default scenario, alternating; best of rounds."""
    import satsim
    from satsim.distributed import link_chunks_on
    from satsim.sweeps import engine

    sc = satsim.load_scenario(None, overrides={"duration_s": spec["duration_s"]})
    warm = satsim.load_scenario(None, overrides={"duration_s": 30.0})
    out = {"serial_s": [], "cluster_s": [], "same_summary": True}
    t0 = time.perf_counter()
    with engine.open_client(workers=2) as client:
        out["cluster_start_s"] = time.perf_counter() - t0
        out["workers"] = len(client.nthreads())
        satsim.run(warm)                                   # numba's cache, this process
        satsim.run(warm, link_chunks=link_chunks_on(client))   # and the workers'
        for _ in range(spec["rounds"]):
            t = time.perf_counter()
            serial = satsim.run(sc)
            out["serial_s"].append(time.perf_counter() - t)
            t = time.perf_counter()
            spread = satsim.run(sc, link_chunks=link_chunks_on(client))
            out["cluster_s"].append(time.perf_counter() - t)
            out["same_summary"] &= spread.summary == serial.summary
    s = serial.summary["run"]
    out.update(handsets=s["handsets"], steps=s["steps"], beams=s.get("beams"),
               serial_timings_s=dict(serial.timings_s), cluster_timings_s=dict(spread.timings_s))
    return out


def run(quick: bool = False, repeats: int | None = None, log=print) -> Section:
    from benchmarks.bench_link import run_job

    duration = DURATION_QUICK_S if quick else DURATION_FULL_S
    rounds = repeats or (ROUNDS_QUICK if quick else ROUNDS_FULL)
    sec = Section("distributed", headline={"time": "cluster_s", "ratio": "serial_over_cluster"})
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        sec.skipped = f"dask.distributed is not installed ({exc})"
        return sec
    sec.config = {"scenario": f"load_scenario() with duration_s {duration:g}",
                  "cluster": "satsim.sweeps.engine.open_client(workers=2): 2 processes, "
                             "1 thread and NUMBA_NUM_THREADS=1 each",
                  "serial": "satsim.run in the driver, numba on both cores",
                  "rounds": rounds}
    log(f"distributed: default scenario, {duration / 60:g} min, serial against a 2-worker "
        f"LocalCluster, {rounds} round(s)")
    r = run_job({"kind": "distributed", "duration_s": duration, "rounds": rounds},
                module="benchmarks.bench_distributed", timeout=3600.0)
    sec.raw = r
    sec.check("the cluster run's summary equals the serial run's", r["same_summary"])
    serial, cluster = min(r["serial_s"]), min(r["cluster_s"])
    tag = f"{r['handsets']} handsets x {r['steps']} steps, {r['beams']}"
    sec.add("serial_s", "satsim.run, serial (numba 2 threads)", serial, "s", note=tag)
    sec.add("cluster_s", "satsim.run, link stage on 2 Dask workers", cluster, "s",
            note=f"cluster start-up {r['cluster_start_s']:.1f} s, not included")
    sec.add("serial_over_cluster", "serial / cluster wall time", serial / cluster, "x",
            note="> 1: the cluster is faster; on one 2-core machine it carries the "
                 "overhead only (module docstring)")
    for name, t in (("serial", r["serial_timings_s"]), ("cluster", r["cluster_timings_s"])):
        sec.add(f"{name}_link_s", f"  {name}: the run's link timer", t.get("link", float("nan")),
                "s")
    log(f"  serial {serial:.1f} s, cluster {cluster:.1f} s: ratio {serial / cluster:.2f}")
    return sec


if __name__ == "__main__":
    worker_main({"distributed": job_distributed})
