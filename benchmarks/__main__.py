"""``python -m benchmarks [propagation|geometry|link|all] [--quick] [--out FILE.json]``.

Runs the chosen benchmarks, prints a table of the figures (goals and
correctness checks included) and writes everything to JSON: by default
``benchmarks/results/<name>[-quick]-<date>.json`` (git-ignored). Exits with
status 1 if a correctness check failed (a missed speed goal is reported,
not an error).
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

from benchmarks import RESULTS_DIR, Section, machine_info

BENCHMARKS = ("propagation", "geometry", "link")


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


def render(console: Console, sections: list[Section], machine: dict) -> None:
    console.print(
        f"[bold]satsim benchmarks[/] - {machine['cpu_model']}, "
        f"{machine['nproc']} cores, {machine['date_local']}"
    )
    for sec in sections:
        table = Table(title=f"{sec.name} ({sec.wall_s:.0f} s)", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("unit")
        table.add_column("goal")
        table.add_column("")
        table.add_column("note", overflow="fold")
        for f in sec.figures:
            status = "" if f.ok is None else ("[green]ok[/]" if f.ok else "[red]MISSED[/]")
            table.add_row(f.label, _fmt(f.value, f.unit), f.unit, f.goal_text(), status, f.note)
        console.print(table)
        for c in sec.checks:
            mark = "[green]pass[/]" if c.ok else "[red]FAIL[/]"
            console.print(f"  {mark} {c.name}" + (f" ({c.detail})" if c.detail else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed benchmarks of satsim's orbit and link layers."
    )
    parser.add_argument("which", nargs="?", default="all", choices=BENCHMARKS + ("all",))
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, same code paths (about a minute in all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON output file (default benchmarks/results/<name>-<date>.json)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timing repeats of the propagation benchmark (default 5, quick 3) "
                             "and of the link kernel comparison (default 3, quick 2)")
    args = parser.parse_args(argv)

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
        sec = module.run(quick=args.quick, repeats=args.repeats, log=log)
        sec.wall_s = time.perf_counter() - t0
        log(f"{name}: finished in {sec.wall_s:.1f} s")
        sections.append(sec)

    out_console = Console()
    if not out_console.is_terminal:
        out_console = Console(width=150)
    render(out_console, sections, machine)
    checks_ok = all(c.ok for s in sections for c in s.checks)
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
    log(f"wrote {out}  (goals met: {sum(f.ok for f in goals)}/{len(goals)}; "
        f"checks {'passed' if checks_ok else 'FAILED'})")
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
