"""The run commands: ``satsim run``, ``validate`` and ``plot``, from a scenario to
a results folder and back to its plots.

A thin layer over the Python API (``satsim.load_scenario``, ``satsim.run``,
``satsim.Results``). Exit codes: 0 success, 2 bad input (a clear message, no
traceback), 1 internal error (the traceback goes to ``error.log`` in the
output folder, which is marked INCOMPLETE), 130 interrupted.
"""

from __future__ import annotations

import sys
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..errors import InputError
from ._common import SET_HELP, fail_input, input_errors

#: Marker file of an output folder left by a failed run.
INCOMPLETE = "INCOMPLETE"


class _StageProgress:
    """Progress per stage: a bar with rate and ETA on a terminal, one line per
    stage otherwise, nothing when quiet."""

    LABELS = {"link": "orbits + geometry + link", "scheduler": "scheduling services",
              "writing": "writing results"}

    def __init__(self, console: Console, quiet: bool):
        self.console, self.quiet = console, quiet
        self.live = console.is_terminal and not quiet
        self.progress = None
        self.tasks = {}
        self.started = {}

    def __enter__(self):
        if self.live:
            self.progress = Progress(
                SpinnerColumn(), TextColumn("{task.description:<26}"), BarColumn(),
                MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                TextColumn("eta"), TimeRemainingColumn(), console=self.console, transient=False)
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def __call__(self, stage: str, done: float, total: float) -> None:
        label = self.LABELS.get(stage, stage)
        now = time.perf_counter()
        if stage not in self.started:
            self.started[stage] = now
            if self.progress is not None:
                self.tasks[stage] = self.progress.add_task(label, total=total, rate="")
            elif not self.quiet:
                self.console.print(f"{label} ...")
        if self.progress is not None:
            elapsed = max(now - self.started[stage], 1e-9)
            rate = f"{done / elapsed:,.0f} steps/s" if stage == "link" and done else ""
            self.progress.update(self.tasks[stage], completed=done, rate=rate)
        elif not self.quiet and done >= total:
            self.console.print(f"{label}: done in {now - self.started[stage]:.1f} s")


def _default_out(name: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{name}-{stamp}"


def _write_error_log(out: Path, exc: BaseException) -> Path | None:
    """Keep the traceback of an internal error in ``out/error.log`` (marked INCOMPLETE)."""
    try:
        if out.exists() and not (out / INCOMPLETE).exists():
            out = out.parent / f"{out.name}.error"
        out.mkdir(parents=True, exist_ok=True)
        (out / INCOMPLETE).write_text(
            "This run failed with an internal error; no results were written. "
            "See error.log and report it with the scenario.\n", encoding="utf-8")
        log = out / "error.log"
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return log
    except OSError:
        return None


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def _sec(x) -> str:
    return "n/a" if x is None else f"{x:,.1f} s"


def summary_table(summary: dict, wall_s: float | None = None, out: Path | None = None) -> Table:
    """The one-screen summary of a run."""
    t = Table(title=f"satsim: {summary.get('scenario')} (seed {summary.get('seed')})",
              show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    r = summary.get("run", {})
    cov = summary.get("coverage") or {}
    link = summary.get("link") or {}
    t.add_row("run", f"{r.get('satellites')} satellites x {r.get('beams_per_satellite')} beams, "
                     f"{r.get('handsets')} handsets, {r.get('duration_s', 0) / 3600:g} h at "
                     f"{r.get('step_s'):g} s from {r.get('epoch')}")
    t.add_row("served (availability)", f"{_pct(cov.get('availability'))} of handset-time; "
                                       f"a satellite above the mask {_pct(cov.get('visible'))}")
    gap = cov.get("gap_s") or {}
    t.add_row("service gaps", f"{cov.get('gaps', 0):,} gaps; p50 {_sec(gap.get('p50'))}, "
                              f"p95 {_sec(gap.get('p95'))}, max {_sec(gap.get('max'))}")
    st = link.get("status_fraction") or {}
    if st:
        t.add_row("not served because", ", ".join(
            f"{k.replace('_', ' ')} {_pct(v)}" for k, v in st.items() if k != "served" and v))
    sinr = link.get("dl_sinr_db") or {}
    if sinr.get("p50") is not None:
        t.add_row("DL SINR served", f"p10 {sinr['p10']:.1f} dB, p50 {sinr['p50']:.1f} dB, "
                                    f"p90 {sinr['p90']:.1f} dB")
    sms = summary.get("sms")
    if sms:
        lat = sms.get("latency_s") or {}
        t.add_row("SMS", f"{sms['delivered']:,} of {sms['offered']:,} delivered "
                         f"({_pct(sms.get('delivery_ratio'))}), {sms['expired']:,} expired, "
                         f"{sms['in_flight']:,} in flight at the end")
        t.add_row("SMS latency", f"p50 {_sec(lat.get('p50'))}, p90 {_sec(lat.get('p90'))}, "
                                 f"p99 {_sec(lat.get('p99'))}, max {_sec(lat.get('max'))}")
    voice = summary.get("voice")
    if voice:
        t.add_row("voice", f"{voice['offered']:,} calls: blocked {_pct(voice.get('block_ratio'))}"
                           f", dropped {_pct(voice.get('drop_ratio'))}, "
                           f"{voice['completed']:,} completed")
    data = summary.get("data")
    if data:
        tp = data.get("throughput_kbps") or {}
        p50 = "n/a" if tp.get("p50") is None else f"{tp['p50']:,.0f} kbit/s"
        t.add_row("data", f"{data['completed']:,} of {data['sessions']:,} sessions completed; "
                          f"throughput p50 {p50}")
    if wall_s is not None:
        t.add_row("wall time", f"{wall_s:.1f} s")
    if out is not None:
        t.add_row("results", f"{out}  (open report.html)")
    return t


@click.command("run")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Results folder [default: results/<scenario name>-<UTC time>].")
@click.option("--seed", type=int, default=None, help="Seed (overrides the scenario's).")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help=SET_HELP)
@click.option("--overwrite", is_flag=True, help="Replace an existing results folder.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots and report.html.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no summary.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
def run_command(scenario, out, seed, overrides, overwrite, no_plots, quiet, as_json):
    """Run a scenario end to end and write a results folder.

    With no SCENARIO: the embedded default (648 Starlink-Direct-to-Cell-like
    satellites, ~3,000 handsets across the contiguous US, one day, SMS).

    \b
    Examples:
        satsim run
        satsim run scenarios/high_latitude.yaml --out results/alaska --seed 3
        satsim run --set duration_s=7200 --set services.voice.enabled=true
    """
    from ..runner import run
    from ..scenario import load_scenario, with_overrides

    console = Console(stderr=True, quiet=quiet)
    with input_errors():
        sc = load_scenario(scenario, overrides=list(overrides))
        if seed is not None:
            sc = with_overrides(sc, {"seed": seed})
        out_path = Path(out) if out else _default_out(sc.name)
        if out_path.exists() and (out_path / INCOMPLETE).exists() and \
                not (out_path / "summary.json").exists():
            overwrite = True  # a failed run's leftovers: replace them
        from ..results import Results

        Results.check_destination(out_path, overwrite)
    console.print(f"[bold]satsim[/]: scenario [bold]{sc.name}[/], seed {sc.seed} -> {out_path}")
    t0 = time.perf_counter()
    try:
        with _StageProgress(console, quiet) as progress, warnings.catch_warnings():
            warnings.simplefilter("always")
            results = run(sc, progress=progress)
            if no_plots:
                results.write(out_path, overwrite=overwrite, plots=False)
            else:
                progress("writing", 0, 1)
                results.write(out_path, overwrite=overwrite)
                progress("writing", 1, 1)
    except InputError as exc:
        fail_input(exc)
    except KeyboardInterrupt:
        click.echo("interrupted: no results folder was written", err=True)
        sys.exit(130)
    except Exception as exc:  # internal error: keep the traceback, exit 1
        log = _write_error_log(out_path, exc)
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        if log is not None:
            click.echo(f"the traceback is in {log}; please report it with the scenario",
                       err=True)
        sys.exit(1)
    wall = time.perf_counter() - t0
    if as_json:
        from ..results.folder import dumps

        click.echo(dumps(results.summary), nl=False)
    if not quiet:
        console.print(summary_table(results.summary, wall, results.path))


@click.command("validate")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help=SET_HELP)
def validate_command(scenario, overrides):
    """Check a scenario file without running it (exit 0 if it is usable).

    Builds everything a run needs (reads the constellation file, places the
    handsets) and prints what the run would simulate.

    \b
    Example:
        satsim validate scenarios/high_latitude.yaml --set duration_s=3600
    """
    from ..scenario import load_scenario
    from ..scenario.build import build

    with input_errors():
        sc = load_scenario(scenario, overrides=list(overrides))
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            inputs = build(sc)
    click.echo(f"{scenario}: ok. scenario '{sc.name}', seed {sc.seed}: "
               f"{len(inputs.constellation)} satellites x {inputs.beams_per_satellite} beams, "
               f"{len(inputs.handsets)} handsets ({inputs.handsets.label}), "
               f"{len(inputs.times)} steps of {sc.step_s:g} s "
               f"({sc.duration_s / 3600:g} h from {sc.epoch.isoformat()}), "
               f"services: {', '.join(inputs.services) or 'none'}")


@click.command("plot")
@click.argument("results_dir", type=click.Path(file_okay=False))
def plot_command(results_dir):
    """(Re)draw the plots and report.html of a results folder.

    \b
    Example:
        satsim plot results/default-20261129T170000Z
    """
    from ..results import Results

    with input_errors():
        res = Results.load(results_dir)
    made = res.write_plots(Path(results_dir))
    for name, path in made.items():
        click.echo(f"{name}: {path}")
    click.echo(f"report: {Path(results_dir) / 'report.html'}")


COMMANDS = (run_command, validate_command, plot_command)
