"""The run commands: ``satsim run``, ``validate`` and ``plot``, from a scenario to
a results folder and back to its plots.

A thin layer over the Python API (``satsim.load_scenario``, ``satsim.run``,
``satsim.Results``). Exit codes: 0 success, 2 bad input (a clear message, no
traceback), 1 internal error (the traceback goes to ``error.log`` in the
output folder, which is marked INCOMPLETE), 130 interrupted (Ctrl-C), 143
terminated (SIGTERM), 129 hung up (SIGHUP); an interrupted run leaves nothing
partial behind (see :mod:`satsim.results.destination`).
"""

from __future__ import annotations

import errno
import sys
import time
import traceback
from contextlib import contextmanager
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
from ..orbits.propagation import DEFAULT_MAX_EPOCH_AGE_DAYS
from ..results.destination import INCOMPLETE, Destination, is_satsim_folder
from ..scenario.loader import ScenarioError, located
from ._common import SET_HELP, fail_input, input_errors, readable_warnings
from .interrupts import SafeStop, Stopped


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


def _write_error_log(dest: Destination, exc: BaseException) -> Path | None:
    """Keep the traceback of an internal error in ``out/error.log`` (marked INCOMPLETE)."""
    return dest.write_failure("".join(traceback.format_exception(exc)))


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
    t.add_row("run", f"{r.get('satellites')} satellites, {r.get('beams')}, "
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
    for key, label in (("dl_sinr_db", "DL SINR served"), ("dl_snr_db", "DL SNR served"),
                       ("ul_snr_db", "UL SNR served (carrier)"),
                       ("ul_sinr_db", "UL SINR served (carrier)")):
        q = link.get(key) or {}
        if q.get("p50") is not None:
            t.add_row(label, f"p10 {q['p10']:.1f} dB, p50 {q['p50']:.1f} dB, "
                             f"p90 {q['p90']:.1f} dB")
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
                           f" of offered, dropped {_pct(voice.get('drop_ratio'))} of admitted "
                           f"(not blocked), {voice['completed']:,} completed")
        up = voice.get("by_reason") or {}
        if up.get("low_uplink") or up.get("uplink_outage"):
            t.add_row("voice uplink", f"{up.get('low_uplink', 0):,} calls blocked and "
                                      f"{up.get('uplink_outage', 0):,} dropped by the uplink "
                                      "alone (downlink usable)")
    app = summary.get("app_call")
    if app:
        d = app.get("delay_s") or {}
        p95 = "n/a" if d.get("p95") is None else f"{1000 * d['p95']:.0f} ms"
        t.add_row("app calls", f"{app['offered']:,} calls: blocked {_pct(app.get('block_ratio'))}"
                               f", dropped {_pct(app.get('drop_ratio'))} of admitted, degraded "
                               f"{_pct(app.get('degraded_fraction'))} of call time; "
                               f"mouth-to-ear p95 {p95}")
    data = summary.get("data")
    if data:
        tp = data.get("throughput_kbps") or {}
        p50 = "n/a" if tp.get("p50") is None else f"{tp['p50']:,.0f} kbit/s"
        t.add_row("data", f"{data['completed']:,} of {data['sessions']:,} sessions completed; "
                          f"throughput p50 {p50}")
    failed = r.get("satellites_failed")
    age = r.get("element_age_days") or {}
    if failed or age.get("max") is not None and age["max"] > DEFAULT_MAX_EPOCH_AGE_DAYS:
        t.add_row("element sets", f"up to {age.get('max', 0):g} days from the run; "
                                  f"{failed or 0} satellite(s) failed in SGP4 (decayed: "
                                  f"{r.get('satellites_decayed') or 0}), left out where they fail")
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
@click.option("--force", is_flag=True,
              help="Run even if the memory estimate exceeds the machine's available memory.")
@click.option("--workers", type=int, default=None,
              help="Compute the link stage, with its running statistics and coverage view, in "
                   "handset blocks, and the services in parts whose handsets share no beam, "
                   "on a local Dask cluster of this many worker processes, 1 thread each "
                   "(same results)  [default: in this process].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Compute the link stage and the services as --workers does, on a running "
                   "Dask cluster, e.g. tcp://10.0.0.5:8786 (same results; workers need satsim "
                   "and any constellation file at the same path).")
def run_command(scenario, out, seed, overrides, overwrite, no_plots, quiet, as_json, force,
                workers, scheduler):
    """Run a scenario end to end and write a results folder.

    With no SCENARIO: the embedded default (648 Starlink-Direct-to-Cell-like
    satellites serving Earth-fixed cells over the contiguous US, 362 handsets,
    one day, SMS).

    \b
    Examples:
        satsim run
        satsim run scenarios/high_latitude.yaml --out results/alaska --seed 3
        satsim run --set duration_s=7200 --set services.voice.enabled=true
        satsim run big.yaml --scheduler tcp://10.0.0.5:8786
    """
    from ..scenario import load_scenario, with_overrides

    console = Console(stderr=True, quiet=quiet)
    with input_errors():
        _check_cluster_options(workers, scheduler)
        sc = load_scenario(scenario, overrides=list(overrides))
        if seed is not None:
            sc = with_overrides(sc, {"seed": seed})
        if (workers is not None or scheduler is not None) and sc.run.spool:
            from ..runner import SPOOL_ON_CLUSTER

            raise InputError(SPOOL_ON_CLUSTER)
        try:
            est = check_resources(sc, force)
        except ScenarioError as exc:
            raise located(exc, scenario, overrides) from None
        dest = Destination(out if out else _default_out(sc.name), overwrite)
        if dest.path.is_dir() and (dest.path / INCOMPLETE).exists() and \
                not (dest.path / "summary.json").exists() and is_satsim_folder(dest.path):
            dest.overwrite = True  # a failed run's leftovers: replace them
        dest.check()
    out_path = dest.path
    t0 = time.perf_counter()
    with SafeStop():
        try:
            with input_errors():
                dest.claim()  # exit 2 if another run holds it; held until the end
            try:
                for line in dest.cleaned:
                    console.print(f"[dim]{line}[/]")
                console.print(f"[bold]satsim[/]: scenario [bold]{sc.name}[/], seed {sc.seed} "
                              f"-> {out_path}")
                console.print(f"[dim]{est.describe()}[/]")
                try:
                    results = _run_and_write(sc, dest, console, quiet, no_plots,
                                             workers=workers, scheduler=scheduler)
                except ScenarioError as exc:
                    raise located(exc, scenario, overrides) from None
            finally:
                dest.release()
        except InputError as exc:
            fail_input(exc)
        except KeyboardInterrupt as exc:
            code = 128 + exc.signum if isinstance(exc, Stopped) else 130
            what = f"stopped by {exc}" if isinstance(exc, Stopped) else "interrupted"
            if dest.committed:
                click.echo(f"{what} after the results folder was complete: {out_path}",
                           err=True)
            else:
                click.echo(f"{what}: no results folder was written", err=True)
            sys.exit(code)
    wall = time.perf_counter() - t0
    if as_json:
        from ..results.folder import dumps

        click.echo(dumps(results.summary), nl=False)
    if not quiet:
        console.print(summary_table(results.summary, wall, results.path))


def check_resources(sc, force: bool):
    """``satsim.scenario.estimate.check_resources`` (imported when first needed:
    the command line starts without numba)."""
    from ..scenario.estimate import check_resources as check

    return check(sc, force)


def _check_cluster_options(workers, scheduler) -> None:
    """``--workers`` and ``--scheduler``: one or the other, a whole number of
    workers >= 1 (InputError otherwise)."""
    if workers is not None and scheduler is not None:
        raise InputError("--workers starts a local cluster and --scheduler uses a running "
                         "one: give one of them (size a running cluster where it runs)")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers} (leave it out to "
                         "run the link stage in this process)")


@contextmanager
def _on_cluster(workers, scheduler):
    """The ``link_stage`` and ``scheduler`` of :func:`satsim.run` for ``--workers`` /
    ``--scheduler`` (None, None: both in this process), the cluster open for the
    run and closed after it: the link stage in handset blocks, the services of
    each block on its worker when the blocks share no beam, else in parts
    (``satsim.distributed.on_cluster``)."""
    if workers is None and scheduler is None:
        yield None, None
        return
    from ..distributed import on_cluster
    from ..sweeps.engine import open_client

    with open_client(scheduler=scheduler, workers=workers) as client:
        yield on_cluster(client)


#: errno of a full disk or quota.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _run_and_write(sc, dest: Destination, console, quiet: bool, no_plots: bool, *,
                   workers: int | None = None, scheduler: str | None = None):
    """The simulation and the results folder; an internal error is logged in the
    output folder and exits 1."""
    from ..runner import run

    try:
        with _StageProgress(console, quiet) as progress, readable_warnings(), \
                _on_cluster(workers, scheduler) as (link_stage, services):
            # the resources were checked (or --force given) before the folder was claimed
            results = run(sc, progress=progress, link_stage=link_stage, scheduler=services,
                          force=True)
            progress("writing", 0, 1)
            try:
                results.write(dest, plots=not no_plots)
            except OSError as exc:  # full disk, quota, a folder made read-only meanwhile
                click.echo(f"error: could not write the results folder {dest.path}: "
                           f"{exc.strerror or exc}; nothing was written and nothing there "
                           "was changed. Free some space or choose another --out, then run "
                           "again", err=True)
                sys.exit(1)
            progress("writing", 1, 1)
        return results
    except InputError:
        raise
    except Exception as exc:  # internal error: keep the traceback, exit 1
        if sc.run.spool and isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            import tempfile

            click.echo(f"error: the disk of the temporary folder {tempfile.gettempdir()} "
                       f"filled up while the run spooled its outputs (run.spool): "
                       f"{exc.strerror or exc}. The spool was removed and no results folder "
                       "was written. Free some space or point TMPDIR at a larger disk, or "
                       "run fewer handsets or a shorter duration_s", err=True)
            sys.exit(1)
        log = _write_error_log(dest, exc)
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        if log is not None:
            click.echo(f"the traceback is in {log}; please report it with the scenario",
                       err=True)
        sys.exit(1)


@click.command("validate")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help=SET_HELP)
@click.option("--force", is_flag=True,
              help="Build the run's objects even if the memory estimate exceeds the machine's "
                   "available memory.")
def validate_command(scenario, overrides, force):
    """Check a scenario file without running it (exit 0 if it is usable).

    Builds everything a run needs (reads the constellation file, places the
    handsets), prints what the run would simulate and its estimated memory
    and work, and refuses (exit 2) what would not fit in this machine's memory.

    \b
    Example:
        satsim validate scenarios/high_latitude.yaml --set duration_s=3600
    """
    from ..scenario import load_scenario
    from ..scenario.build import build

    with input_errors():
        sc = load_scenario(scenario, overrides=list(overrides))
        with readable_warnings():
            try:
                est = check_resources(sc, force)
                inputs = build(sc)
            except ScenarioError as exc:
                raise located(exc, scenario, overrides) from None
            health = _check_elements(sc, inputs)
    click.echo(f"{scenario}: ok. scenario '{sc.name}', seed {sc.seed}: "
               f"{len(inputs.constellation)} satellites, {inputs.beams_text}, "
               f"{len(inputs.handsets)} handsets ({inputs.handsets.label}), "
               f"{len(inputs.times)} steps of {sc.step_s:g} s "
               f"({sc.duration_s / 3600:g} h from {sc.epoch.isoformat()}), "
               f"services: {', '.join(inputs.services) or 'none'}")
    click.echo(est.describe())
    age = health["element_age_days"]
    click.echo(f"element sets: {age['min']:g} to {age['max']:g} days from the run; "
               f"{health['satellites_failed']} satellite(s) fail in SGP4 during the run "
               f"({health['satellites_decayed']} decayed)"
               + (f": {', '.join(health['failed'][:5])}" if health["failed"] else "")
               + (", ..." if health["satellites_failed"] > 5 else ""))


def _check_elements(sc, inputs) -> dict:
    """Warn about element sets too old for the run (the limit is the scenario's
    ``constellation.max_epoch_age_days``) and return their health."""
    from ..orbits.propagation import (
        DEFAULT_MAX_EPOCH_AGE_DAYS,
        check_epoch_age,
        element_health,
    )

    limit = getattr(sc.constellation, "max_epoch_age_days", DEFAULT_MAX_EPOCH_AGE_DAYS)
    if limit is not None:
        check_epoch_age(inputs.constellation, inputs.times, limit)
    return element_health(inputs.constellation, inputs.times)


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
    removed = []
    made = res.write_plots(Path(results_dir), removed=removed)
    for name, path in made.items():
        click.echo(f"{name}: {path}")
    for name in removed:
        click.echo(f"{name}: no data (its table is missing or empty); removed its old PNG")
    click.echo(f"report: {Path(results_dir) / 'report.html'}")


COMMANDS = (run_command, validate_command, plot_command)
