"""Sweep benchmark: a sweep on Dask against the same sweep run serially, and
the peak memory of one run as its duration grows.

``python -m benchmarks.bench_sweep [--quick] [--out FILE.json]``:

* ``sweep``: an 8-point sweep (``link.min_elevation_deg`` 20/25/30/35 x two
  handset spacings, one seed) of the default constellation over CONUS
  handsets, run by :func:`satsim.sweeps.sweep` in this process (``workers=0``,
  one point after the other; numba's default threads) and on a local Dask
  cluster of 2 worker processes (one thread each, ``NUMBA_NUM_THREADS=1``).
  Two rounds (one with ``--quick``) run the three interleaved, best of each.
  Times are whole ``sweep()`` calls (runs, point files, table, aggregate,
  plots); the cluster's start-up (processes, imports and a two-step warm-up
  run on each worker, as the driver gets before its serial runs) is timed
  apart and reported both ways.
  The serial sweep is also run with numba limited to one thread (the
  workers' setting), the baseline of a single-threaded run. Checked: all
  tables hold the same metrics.
* ``memory``: one :func:`satsim.run` of a scenario at 1x, 2x and 4x its
  duration, each in a fresh interpreter (this module is also the worker:
  ``python -m benchmarks.bench_sweep '{"kind": "memory", ...}'`` prints
  ``RESULT {json}``), after a warm-up run of the same scenario shortened to
  two steps; the peak RSS is ``VmHWM`` reset after the warm-up, less the RSS
  before the run. The in-memory size of the run's outputs (tables, summary)
  is reported beside it, as they grow with the duration by design. The 4x
  run is repeated with chunks of 90 steps instead of 360.
* ``blocks``: the link stage alone (chunks consumed and dropped) of the
  default constellation over CONUS handsets, unblocked
  (:func:`satsim.link.iter_link_chunks`) and in blocks of 500 handsets
  (:func:`satsim.distributed.iter_link_chunks_blocked`), peak RSS
  added, each in a fresh interpreter.

Results go to ``benchmarks/results/sweep[-quick]-<date>.json`` (git-ignored).
``--quick`` shrinks the sizes so the whole benchmark runs in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks import (
    RESULTS_DIR,
    machine_info,
    peak_added,
    run_worker,
)

#: Base scenario of both parts (the default constellation and radio).
BASE = {"step_s": 10.0, "run": {"chunk_steps": 360}}
SIZES = {
    # sweep: handset spacings (km) and duration; memory: spacing and the 1x duration
    "full": {"sweep_spacing_km": [150.0, 200.0], "sweep_duration_s": 2 * 3600.0,
             "memory_spacing_km": 100.0, "memory_duration_s": 3 * 3600.0,
             "blocks_spacing_km": 52.0, "blocks_duration_s": 3600.0},
    # points dominated by the (single-threaded) scheduler: SMS, voice and data
    # over the CONUS grid at 52 / 60 km
    "services": {"sweep_spacing_km": [52.0, 60.0], "sweep_duration_s": 2 * 3600.0,
                 "sweep_services": True,
                 "memory_spacing_km": 100.0, "memory_duration_s": 3 * 3600.0,
                 "blocks_spacing_km": 52.0, "blocks_duration_s": 3600.0},
    "quick": {"sweep_spacing_km": [300.0, 400.0], "sweep_duration_s": 1800.0,
              "memory_spacing_km": 200.0, "memory_duration_s": 3600.0,
              "blocks_spacing_km": 100.0, "blocks_duration_s": 1800.0},
}
METRICS = ["coverage.availability", "coverage.gap_s.p95", "sms.delivery_ratio",
           "sms.latency_s.p90"]


def sweep_spec(size: dict) -> dict:
    base = BASE | {"duration_s": size["sweep_duration_s"]}
    if size.get("sweep_services"):
        base["services"] = {"sms": {"mo_per_hour": 2.0, "mt_per_hour": 2.0},
                            "voice": {"enabled": True, "calls_per_hour": 1.0},
                            "data": {"enabled": True, "sessions_per_hour": 4.0}}
    return {"name": "bench", "base": base,
            "grid": {"link.min_elevation_deg": [20, 25, 30, 35],
                     "handsets.spacing_km": size["sweep_spacing_km"]},
            "seeds": 1, "metrics": METRICS}


def bench_sweep(size: dict, log, repeats: int = 1) -> dict:
    """Serial (numba's threads, then one), then on 2 workers, ``repeats`` rounds
    interleaved so a burst of load on the machine hits all three alike; best of each."""
    import numba
    import pandas as pd

    import satsim
    from satsim.sweeps import load_sweep, run_point, sweep
    from satsim.sweeps.engine import open_client

    load_before = os.getloadavg()
    spec = load_sweep(sweep_spec(size))
    # warm the kernels up (imports, numba cache load) in the driver, and below in each
    # worker, so that both sides' times are those of the runs
    tiny = spec.points[0].scenario.model_copy(update={"duration_s": 2 * BASE["step_s"]})
    satsim.run(tiny)
    threads = numba.get_num_threads()
    times = {"serial": [], "serial_1thread": [], "dask": []}
    tables = {}
    t0 = time.perf_counter()
    with open_client(workers=2) as client, tempfile.TemporaryDirectory() as tmp:
        workers = list(client.scheduler_info(n_workers=-1)["workers"])
        client.gather([client.submit(run_point, tiny, 0, workers=[w], pure=False)
                       for w in workers])
        start_s = time.perf_counter() - t0
        for r in range(repeats):
            for name in times:  # a fresh folder each time: nothing is resumed
                numba.set_num_threads(1 if name == "serial_1thread" else threads)
                t0 = time.perf_counter()
                tables[name] = sweep(spec, Path(tmp) / f"{name}-{r}", progress=False,
                                     **({"client": client} if name == "dask"
                                        else {"workers": 0}))
                times[name].append(time.perf_counter() - t0)
                log(f"  round {r + 1}: {name} {times[name][-1]:.1f} s")
        numba.set_num_threads(threads)
    cols = ["key", "seed", *METRICS, "status"]
    try:
        for name in ("serial_1thread", "dask"):
            pd.testing.assert_frame_equal(tables["serial"][cols], tables[name][cols])
        equal = True
    except AssertionError:
        equal = False
    serial_s, serial_1_s, dask_s = (min(times[k]) for k in times)
    return {
        "points": len(spec.points), "seeds": len(spec.seeds), "repeats": repeats,
        "scenario": {"satellites": 648, "duration_s": size["sweep_duration_s"],
                     "handset_spacing_km": size["sweep_spacing_km"], "step_s": BASE["step_s"]},
        "times_s": times, "serial_s": serial_s, "serial_numba_threads": threads,
        "serial_1thread_s": serial_1_s, "dask_sweep_s": dask_s,
        "dask_cluster_start_s": start_s,
        "speedup": serial_s / dask_s, "speedup_with_start": serial_s / (dask_s + start_s),
        "speedup_vs_1thread": serial_1_s / dask_s,
        "point_wall_s_serial": tables["serial"]["wall_time_s"].tolist(),
        "point_wall_s_serial_1thread": tables["serial_1thread"]["wall_time_s"].tolist(),
        "point_wall_s_dask": tables["dask"]["wall_time_s"].tolist(),
        "point_cpu_s_serial_1thread": tables["serial_1thread"]["cpu_time_s"].tolist(),
        "point_cpu_s_dask": tables["dask"]["cpu_time_s"].tolist(),
        "tables_equal": equal,
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
    }


def job_memory(spec: dict) -> dict:
    """One run of ``spec["scenario"]`` (worker side; module docstring)."""
    import numba

    import satsim
    from satsim.scenario import load_scenario

    sc = load_scenario(spec["scenario"])
    satsim.run(sc.model_copy(update={"duration_s": 2 * sc.step_s}))  # warm-up
    dt, res, added_mib = peak_added(lambda: satsim.run(sc))
    tables_mib = sum(t.memory_usage(deep=True).sum() for t in res.tables.values()) / 2**20
    return {"duration_s": sc.duration_s, "steps": res.summary["run"]["steps"],
            "handsets": res.summary["run"]["handsets"],
            "satellites": res.summary["run"]["satellites"],
            "chunk_steps": sc.run.chunk_steps, "wall_s": dt, "rss_added_mib": added_mib,
            "tables_mib": tables_mib,
            "table_rows": {k: len(v) for k, v in res.tables.items()},
            "numba_threads": numba.get_num_threads()}


def job_blocks(spec: dict) -> dict:
    """The link stage alone, unblocked or in blocks (worker side; module docstring)."""
    from satsim.distributed import iter_link_chunks_blocked
    from satsim.scenario import load_scenario
    from satsim.scenario.build import build

    sc = load_scenario(spec["scenario"])
    inputs = build(sc)

    def link_stage(times):
        served = 0
        for ch in iter_link_chunks_blocked(inputs.constellation, inputs.handsets, times,
                                           inputs.link, chunk_steps=sc.run.chunk_steps,
                                           block_handsets=spec["block_handsets"]):
            served += int(ch.served.sum())
            del ch
        return served

    link_stage(inputs.times[:3])  # warm-up
    dt, served, added_mib = peak_added(lambda: link_stage(inputs.times))
    return {"block_handsets": spec["block_handsets"], "handsets": len(inputs.handsets),
            "steps": len(inputs.times), "wall_s": dt, "rss_added_mib": added_mib,
            "served_samples": served}


def bench_blocks(size: dict, log) -> list[dict]:
    out = []
    for block in (None, 500):
        scenario = BASE | {"duration_s": size["blocks_duration_s"],
                           "handsets": {"spacing_km": size["blocks_spacing_km"]}}
        log(f"blocks: link stage, block_handsets={block} ...")
        r = run_worker({"kind": "blocks", "scenario": scenario, "block_handsets": block},
                       module="benchmarks.bench_sweep", timeout=1800)
        log(f"  peak added {r['rss_added_mib']:.0f} MiB, {r['wall_s']:.1f} s")
        out.append(r)
    return out


def bench_memory(size: dict, log) -> list[dict]:
    out = []
    for factor, chunk in ((1, 360), (2, 360), (4, 360), (4, 90)):
        scenario = BASE | {"duration_s": factor * size["memory_duration_s"],
                           "handsets": {"spacing_km": size["memory_spacing_km"]},
                           "run": {"chunk_steps": chunk}}
        log(f"memory: {factor}x duration ({scenario['duration_s'] / 3600:g} h), "
            f"chunk_steps {chunk} ...")
        r = run_worker({"kind": "memory", "scenario": scenario},
                       module="benchmarks.bench_sweep", timeout=1800)
        r["factor"] = factor
        log(f"  peak added {r['rss_added_mib']:.0f} MiB, outputs {r['tables_mib']:.1f} MiB, "
            f"{r['wall_s']:.1f} s")
        out.append(r)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("{"):  # worker mode
        spec = json.loads(argv[0])
        job = {"memory": job_memory, "blocks": job_blocks}[spec["kind"]]
        print("RESULT " + json.dumps(job(spec)), flush=True)
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_sweep")
    p.add_argument("--quick", action="store_true", help="Small sizes (a few minutes).")
    p.add_argument("--out", default=None, help="Results JSON (default benchmarks/results/).")
    p.add_argument("--only", choices=("sweep", "memory", "blocks"), default=None)
    p.add_argument("--services", action="store_true",
                   help="Sweep points with SMS, voice and data on denser handsets (the "
                        "scheduler, single-threaded, dominates each point).")
    args = p.parse_args(argv)
    size = SIZES["quick" if args.quick else "services" if args.services else "full"]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    result = {"machine": machine_info(), "quick": args.quick, "services": args.services,
              "sizes": size}
    if args.only in (None, "sweep"):
        result["sweep"] = bench_sweep(size, log, repeats=1 if args.quick else 2)
    if args.only in (None, "memory"):
        result["memory"] = bench_memory(size, log)
    if args.only in (None, "blocks"):
        result["blocks"] = bench_blocks(size, log)
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M")
    path = Path(args.out) if args.out else \
        RESULTS_DIR / f"sweep{'-quick' if args.quick else ''}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    s = result.get("sweep")
    if s:
        print(f"sweep of {s['points']} points: serial {s['serial_s']:.1f} s "
              f"({s['serial_numba_threads']} numba threads; {s['serial_1thread_s']:.1f} s with "
              f"1), dask 2 workers {s['dask_sweep_s']:.1f} s (+ "
              f"{s['dask_cluster_start_s']:.1f} s cluster start): speed-up "
              f"{s['speedup']:.2f}x ({s['speedup_with_start']:.2f}x with start, "
              f"{s['speedup_vs_1thread']:.2f}x against 1 thread); tables equal: "
              f"{s['tables_equal']}")
    for r in result.get("memory", []):
        print(f"memory {r['factor']}x ({r['steps']} steps, {r['handsets']} handsets, chunk_steps "
              f"{r['chunk_steps']}): peak "
              f"added {r['rss_added_mib']:.0f} MiB, outputs {r['tables_mib']:.1f} MiB, "
              f"{r['wall_s']:.1f} s")
    for r in result.get("blocks", []):
        print(f"link stage, {r['handsets']} handsets x {r['steps']} steps, block_handsets="
              f"{r['block_handsets']}: peak added {r['rss_added_mib']:.0f} MiB, "
              f"{r['wall_s']:.1f} s")
    b = result.get("blocks")
    if b and b[0]["served_samples"] != b[1]["served_samples"]:
        print("blocks: served samples differ between blocked and unblocked runs")
        return 1
    print(f"results: {path}")
    return 0 if not s or s["tables_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
