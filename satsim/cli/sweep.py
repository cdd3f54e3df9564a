"""The sweep command: ``satsim sweep SWEEP.yaml --out DIR``, over :func:`satsim.sweeps.sweep`.

Exit codes: 0 the sweep ran (failed points are recorded in the table, not
fatal; rerun to retry them), 2 bad input (a message naming the file, line
or option; no traceback), 1 internal error, 130 interrupted (finished points
are kept; rerun the same command to continue).
"""

from __future__ import annotations

import sys
import traceback

import click

from ..errors import InputError
from .interrupts import SafeStop, Stopped


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Sweep folder (created; an earlier run of the same sweep there is resumed).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local "
                   "cluster).")
@click.option("--workers", type=int, default=None,
              help="Worker processes of the local cluster  [default: one per core; 0: run "
                   "in this process without Dask].")
@click.option("--quiet", is_flag=True, help="No progress output.")
def sweep_command(sweep_file, out, scheduler, workers, quiet):
    """Run a parameter sweep (a grid of scenarios x seeds) on Dask.

    Writes OUT/table.parquet (one row per point and seed), OUT/aggregate.parquet
    (mean and 95% confidence interval over seeds per point) and OUT/plots/.
    Each point is saved as it finishes: rerunning the same command skips
    finished points and retries failed ones.

    \b
    Example sweep file:
        base: scenario.yaml
        grid:
          link.min_elevation_deg: [20, 25, 30]
          handsets.spacing_km: [100, 200]
        seeds: 3
    """
    from ..sweeps.engine import sweep

    try:
        with SafeStop():
            table = sweep(sweep_file, out, scheduler=scheduler, workers=workers,
                          progress=not quiet)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        what = f"stopped by {exc}" if isinstance(exc, Stopped) else "interrupted"
        click.echo(f"{what}: finished points are kept in {out}/points; rerun the same "
                   "command to continue", err=True)
        sys.exit(128 + exc.signum if isinstance(exc, Stopped) else 130)
    except Exception as exc:  # noqa: BLE001  (an internal error: exit 1 with the traceback)
        traceback.print_exc()
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    failed = table[table["status"] == "failed"]
    if not quiet:
        click.echo(f"table: {out}/table.parquet ({len(table)} rows), aggregate: "
                   f"{out}/aggregate.parquet, plots: {out}/plots/", err=True)
        for _, row in failed.head(5).iterrows():
            click.echo(f"failed: point {row['point']} seed {row['seed']}: {row['error']}",
                       err=True)
        if len(failed):
            click.echo(f"{len(failed)} runs failed; rerun the command to retry them", err=True)



COMMANDS = (sweep_command,)
