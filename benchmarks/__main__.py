"""``python -m benchmarks [SECTION|all] [--quick] [--out FILE.json]``.

Sections: propagation, geometry, link, cells, scheduler, scaling, jit, e2e (``all``
runs these), and north_star (on its own only: minutes even ``--quick``;
``--full`` runs the whole target day, ``--handsets`` / ``--slice-h`` size its
slice) and distributed (on its own: a 2-worker Dask LocalCluster). Runs the chosen benchmarks, prints a table of the figures (goals,
ratio limits and correctness checks included) and a summary table, and
writes everything to JSON: by default
``benchmarks/results/<name>[-quick]-<date>.json`` (git-ignored). Exits with
status 1 if a correctness check failed or a ratio fell past its limit
(:mod:`benchmarks.limits`); a missed speed goal, and any absolute time, is
reported, never an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import RESULTS_DIR, Section, limits, machine_info

BENCHMARKS = ("propagation", "geometry", "link", "cells", "scheduler", "scaling", "jit",
              "e2e")
#: Sections run only when named: too long for ``all`` (and CI's ``all --quick``).
ON_THEIR_OWN = ("north_star", "distributed")


def _fmt(value: float, unit: str) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (unit == "" and float(value).is_integer()):
        return f"{int(value):,}"
    v = float(value)
    if abs(v) >= 1e5:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.3f}" if unit == "s" else f"{v:.2f}"
    return f"{v:.3g}"


def _limit_cell(sec: Section, key: str) -> str:
    lim = next((x for x in sec.limits if x.key == key), None)
    if lim is None:
        return ""
    mark = "" if lim.ok is None else (" [green]ok[/]" if lim.ok else " [red]BELOW[/]"
                                      if lim.op == ">=" else " [red]ABOVE[/]")
    return f"{lim.op} {lim.bound:g}{mark}"


def render(console: Console, sections: list[Section], machine: dict) -> None:
    console.print(
        f"[bold]satsim benchmarks[/] - {machine['cpu_model']}, "
        f"{machine['nproc']} cores, {machine['date_local']}"
    )
    for sec in sections:
        if sec.skipped:
            console.print(f"[yellow]{sec.name}: skipped[/] - {sec.skipped}")
            continue
        table = Table(title=f"{sec.name} ({sec.wall_s:.0f} s)", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("unit")
        table.add_column("goal")
        table.add_column("")
        table.add_column("limit")
        table.add_column("note", overflow="fold")
        for f in sec.figures:
            status = "" if f.ok is None else ("[green]ok[/]" if f.ok else "[red]MISSED[/]")
            table.add_row(f.label, _fmt(f.value, f.unit), f.unit, f.goal_text(), status,
                          _limit_cell(sec, f.key), f.note)
        console.print(table)
        for c in sec.checks:
            mark = ("[green]pass[/]" if c.ok else "[red]FAIL[/]" if c.fatal
                    else "[yellow]WARN[/]")
            console.print(f"  {mark} {c.name}" + (f" ({c.detail})" if c.detail else ""))
        for lim in sec.limits:
            if lim.ok is not True:
                console.print(f"  [red]LIMIT[/] {lim.key}: {lim.text()}, value "
                              f"{lim.value!r}" + (f" ({lim.note})" if lim.note else ""))
    render_summary(console, sections)


#: Columns of the summary table: the headline figures each section names.
SUMMARY = (("time", "wall time"), ("memory", "peak memory"), ("throughput", "throughput"),
           ("ratio", "ratio to reference"))


def render_summary(console: Console, sections: list[Section]) -> None:
    """One line per section: its headline time, memory, throughput and ratio."""
    table = Table(title="summary", title_justify="left")
    table.add_column("section")
    for _, title in SUMMARY:
        table.add_column(title, overflow="fold")
    table.add_column("checks / limits")
    for sec in sections:
        if sec.skipped:
            table.add_row(sec.name, "skipped", "", "", "", "")
            continue
        cells = []
        for kind, _ in SUMMARY:
            f = sec.figure(sec.headline.get(kind, ""))
            cells.append("" if f is None else f"{_fmt(f.value, f.unit)} {f.unit} [dim]{f.key}[/]")
        bad = sum(not c.ok for c in sec.checks if c.fatal)
        broken = sum(x.ok is False for x in sec.limits)
        status = ("[green]pass[/]" if not bad and not broken else
                  f"[red]{bad} failed, {broken} past limit[/]")
        table.add_row(sec.name, *cells, status)
    console.print(table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed and memory benchmarks of satsim, as ratios to reference "
                    "implementations."
    )
    parser.add_argument("which", nargs="?", default="all",
                        choices=BENCHMARKS + ON_THEIR_OWN + ("all",))
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, same code paths (about 2 minutes for all, "
                             "2.5 under load; what CI runs)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON output file (default benchmarks/results/<name>-<date>.json)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per case, best kept (defaults full / quick: "
                             "propagation 5 / 3, link kernel comparison 3 / 2, cells 5 / 3, "
                             "scheduler 3 / 3, "
                             "scaling runs 2 / 1, e2e rounds 1 / 3; jit: not used)")
    north = parser.add_argument_group(
        "north_star", "the target of issue 14 (100,000 handsets x 86,400 steps of 1 s); "
                      "default: a 10 min slice at 100,000 handsets, extrapolated, and a 1 h / "
                      "4 h memory pair at 362 handsets (the default's grid)")
    north.add_argument("--full", action="store_true",
                       help="run the whole target day instead of a slice (hours here)")
    north.add_argument("--handsets", type=int, default=None,
                       help="handsets of the slice (CONUS grid; default 100,000)")
    north.add_argument("--slice-h", type=float, default=None,
                       help="length of the slice, hours (default 1/6)")
    north.add_argument("--no-pair", action="store_true",
                       help="skip the 1 h / 4 h memory pair")
    north.add_argument("--precision", choices=("float64", "float32"), default=None,
                       help="link.interference_precision of the runs (default: the "
                            "scenario's, float64)")
    north.add_argument("--cluster", type=int, default=None, metavar="WORKERS",
                       help="also run the slice with its link stage on a Dask LocalCluster of "
                            "this many worker processes, 1 thread each (needs "
                            "dask.distributed)")
    north.add_argument("--spool", action="store_true",
                       help="run the slice with run.spool (the coverage view, gaps and "
                            "handovers on disk; the memory pair always does)")
    north.add_argument("--pair-handsets", type=int, default=None,
                       help="handsets of the memory pair (CONUS grid; default 362, the "
                            "default scenario's grid; the issue's check is at 100,000)")
    args = parser.parse_args(argv)
    if args.which != "north_star" and (args.full or args.handsets or args.slice_h
                                       or args.no_pair or args.precision or args.cluster
                                       or args.spool or args.pair_handsets):
        parser.error("--full, --handsets, --slice-h, --no-pair, --precision, --cluster, "
                     "--spool and --pair-handsets are options of the north_star section: "
                     "python -m benchmarks north_star ...")
    if args.pair_handsets is not None and args.pair_handsets < 1:
        parser.error(f"--pair-handsets must be at least 1, got {args.pair_handsets}")
    if args.cluster is not None and args.cluster < 1:
        parser.error(f"--cluster must be at least 1 worker, got {args.cluster}")
    if args.handsets is not None and args.handsets < 1:
        parser.error(f"--handsets must be at least 1, got {args.handsets}")
    if args.slice_h is not None and not args.slice_h > 0:
        parser.error(f"--slice-h must be positive, got {args.slice_h}")

    console = Console(stderr=True)
    log = console.log
    names = BENCHMARKS if args.which == "all" else (args.which,)
    machine = machine_info()
    log(f"machine: {machine['cpu_model']}, {machine['nproc']} cores, load "
        f"{machine['load_average_at_start']}, python {machine['python']}, numpy "
        f"{machine['numpy']}, numba {machine['numba']}, sgp4 {machine['sgp4']}, skyfield "
        f"{machine['skyfield']}")

    load = machine["load_average_at_start"]
    if load and load[0] > 0.7:
        log(f"[yellow]warning: load average {load[0]:.2f} before starting: other processes "
            "are using the CPU; figures that need both cores (processes=2, numba threads) "
            "will come out low, and wall times high[/]")
    sections = []
    t_start = time.perf_counter()
    for name in names:
        module = __import__(f"benchmarks.bench_{name}", fromlist=["run"])
        t0 = time.perf_counter()
        extra = {}
        if name == "north_star":
            extra = {"full": args.full, "handsets": args.handsets, "slice_h": args.slice_h,
                     "pair": not args.no_pair, "precision": args.precision,
                     "cluster": args.cluster, "spool": args.spool,
                     "pair_handsets": args.pair_handsets}
        sec = module.run(quick=args.quick, repeats=args.repeats, log=log, **extra)
        sec.wall_s = time.perf_counter() - t0
        limits.apply(sec)
        log(f"{name}: finished in {sec.wall_s:.1f} s"
            + (f" [yellow](skipped: {sec.skipped})[/]" if sec.skipped else ""))
        sections.append(sec)

    out_console = Console()
    if not out_console.is_terminal:
        out_console = Console(width=150)
    render(out_console, sections, machine)
    checks_ok = all(c.ok for s in sections for c in s.checks if c.fatal)
    limits_ok = all(x.ok is not False for s in sections for x in s.limits)
    goals = [f for s in sections for f in s.figures if f.ok is not None]
    result = {
        "schema": 1,
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "benchmark": args.which,
        "quick": args.quick,
        "machine": machine,
        "total_wall_s": time.perf_counter() - t_start,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "checks_passed": checks_ok,
        "limits_passed": limits_ok,
        "limits": {f"{s.name}.{x.key}": {"op": x.op, "bound": x.bound, "value": x.value,
                                          "ok": x.ok, "measured": x.measured}
                   for s in sections for x in s.limits},
        "skipped": {s.name: s.skipped for s in sections if s.skipped},
        "goals_met": {f"{s.name}.{f.key}": f.ok for s in sections for f in s.figures
                      if f.ok is not None},
        "figures": {s.name: {f.key: f.value for f in s.figures} for s in sections},
        "sections": {s.name: s.to_dict() for s in sections},
    }
    out = args.out
    if out is None:
        stamp = datetime.now().strftime("%Y-%m-%dT%H%M%S")
        out = RESULTS_DIR / f"{args.which}{'-quick' if args.quick else ''}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    n_lim = sum(x.ok is not None for s in sections for x in s.limits)
    log(f"wrote {out}  (goals met: {sum(f.ok for f in goals)}/{len(goals)}; "
        f"checks {'passed' if checks_ok else 'FAILED'}; ratio limits "
        f"{'passed' if limits_ok else 'FAILED'} ({n_lim} checked); "
        f"{time.perf_counter() - t_start:.0f} s in all)")
    return 0 if checks_ok and limits_ok else 1


if __name__ == "__main__":
    sys.exit(main())
