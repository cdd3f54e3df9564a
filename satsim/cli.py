"""The ``satsim`` command line (a thin layer over the Python API).

Exit codes: 0 success, 2 bad input (a clear message, no traceback),
1 internal error.
"""

from __future__ import annotations

import json
import sys
import time

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import InputError
from .orbits import (
    DEFAULT_EPOCH,
    DEFAULT_MIN_ELEVATION_DEG,
    TimeGrid,
    conus_handsets,
    coverage,
    default_constellation,
    load_constellation,
)
from .orbits.defaults import DEFAULT_HANDSET_SPACING_KM


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="satsim")
def main():
    """satsim: satellite direct-to-cell service simulator."""


@main.command()
@click.option("--tle", "tle_path", type=click.Path(dir_okay=False), default=None,
              help="Constellation file (TLE, or OMM .json/.csv/.xml) instead of the default.")
@click.option("--name-contains", default=None, help='Keep satellites whose name contains this, e.g. "[DTC]".')
@click.option("--epoch", default=None, help="Run start, ISO 8601 UTC (default 2025-10-27T00:00:00Z).")
@click.option("--hours", type=float, default=24.0, show_default=True, help="Run length, hours.")
@click.option("--step-s", type=float, default=10.0, show_default=True, help="Time step, seconds.")
@click.option("--min-elevation-deg", type=float, default=DEFAULT_MIN_ELEVATION_DEG,
              show_default=True, help="Elevation mask, degrees.")
@click.option("--handset-spacing-km", type=float, default=DEFAULT_HANDSET_SPACING_KM,
              show_default=True, help="Grid spacing of the handsets over CONUS, km.")
@click.option("--processes", type=int, default=1, show_default=True,
              help="Processes for SGP4 propagation.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(tle_path, name_contains, epoch, hours, step_s, min_elevation_deg,
        handset_spacing_km, processes, as_json):
    """Coverage of a constellation over handsets across the contiguous US.

    With no options: the embedded default (648 Starlink-DTC-like satellites,
    ~3,000 handsets over CONUS, one day at 10 s steps).

    \b
    Example:
        satsim run --hours 6 --min-elevation-deg 30
        satsim run --tle starlink.tle --name-contains "[DTC]" --epoch 2025-10-27T00:00:00Z
    """
    console = Console(stderr=True, quiet=as_json)
    try:
        t_start = time.perf_counter()
        if tle_path:
            constellation = load_constellation(tle_path, name_contains=name_contains)
        else:
            if name_contains:
                raise InputError("--name-contains needs --tle FILE (the default is generated)")
            constellation = default_constellation()
        times = TimeGrid.from_duration(epoch or DEFAULT_EPOCH, hours * 3600.0, step_s)
        handsets = conus_handsets(handset_spacing_km)
        console.print(
            f"[bold]satsim {__version__}[/]: {len(constellation)} satellites, "
            f"{len(handsets)} handsets, {len(times)} steps of {step_s:g} s"
        )
        with console.status("propagating and computing visibility..."):
            cov = coverage(constellation, handsets, times, min_elevation_deg,
                           processes=processes)
        elapsed = time.perf_counter() - t_start
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    summary = cov.summary()
    summary.update(
        satsim_version=__version__,
        constellation=constellation.source,
        handsets_label=handsets.label,
        epoch=times.epoch.isoformat(),
        wall_time_s=round(elapsed, 3),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_report(Console(), summary, cov)


def _print_report(console: Console, s: dict, cov) -> None:
    head = Table(title="Coverage report", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    rows = [
        ("constellation", f"{s['satellites']} satellites: {s['constellation']}"),
        ("handsets", f"{s['handsets']} ({s['handsets_label']})"),
        ("run", f"{s['epoch']} + {s['duration_s'] / 3600:.3g} h, step {s['step_s']:g} s"),
        ("elevation mask", f"{s['min_elevation_deg']:g}°"),
        ("availability", f"{100 * s['availability']:.2f} % mean, "
                         f"{100 * s['availability_p5']:.2f} % at the 5th percentile handset, "
                         f"{100 * s['availability_min']:.2f} % worst"),
        ("satellites in view", f"{s['mean_visible']:.2f} on average"),
        ("gaps", f"{s['gaps']} gaps; duration p50 {s['gap_s']['p50']:.0f} s, "
                 f"p95 {s['gap_s']['p95']:.0f} s, max {s['gap_s']['max']:.0f} s"),
        ("wall time", f"{s['wall_time_s']:.1f} s"),
    ]
    for k, v in rows:
        head.add_row(k, v)
    console.print(head)
    bands = cov.by_latitude(5.0)
    t = Table(title="By latitude band", title_justify="left")
    for col in ("latitude", "handsets", "availability", "sats in view", "longest gap"):
        t.add_column(col, justify="right")
    for band, row in bands.iterrows():
        t.add_row(f"{band}°", f"{int(row['handsets'])}", f"{100 * row['availability']:.2f} %",
                  f"{row['mean_visible']:.2f}", f"{row['max_gap_s']:.0f} s")
    console.print(t)


if __name__ == "__main__":  # pragma: no cover
    main()
