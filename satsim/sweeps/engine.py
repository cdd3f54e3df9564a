"""Running a sweep on dask.distributed: every (point, seed) is one task.

The driver submits one task per unfinished (point, seed) and writes each
point's file as its result arrives (``as_completed``), so killing the driver
loses only the points in flight, and a cluster whose workers do not share the
driver's file system works too. A task never raises: a failing run comes back
as a record with status "failed" and its traceback; a worker that dies (out
of memory, a crash) makes its point fail the same way, with the error dask
reports.

Where the tasks run:

* ``client=``: an existing :class:`distributed.Client` (e.g. from a notebook);
* ``scheduler="tcp://host:8786"``: a running cluster (dask-jobqueue,
  dask-kubernetes, ``dask scheduler`` + ``dask worker``);
* otherwise a :class:`distributed.LocalCluster` of ``workers`` processes
  (default: one per core) with one thread each and ``NUMBA_NUM_THREADS=1``, so
  the link kernels' numba threads do not oversubscribe the cores;
* ``workers=0``: in this process, one after the other, without Dask.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
import traceback
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import __version__
from .._atomic import atomic_write_text
from ..errors import InputError, SatsimWarning
from ..results.folder import dumps
from .progress import Reporter
from .spec import PointRun, Sweep, load_sweep
from .store import aggregate, build_table, is_done, metric_found, read_point, write_parquet, \
    write_point


class MetricWarning(SatsimWarning):
    """A metric of the sweep file was found in no point's summary."""


def run_point(scenario, seed: int) -> dict:
    """Run one scenario at one seed; the record of a point file (never raises).

    Returns ``{"status": "ok" | "failed", "summary", "error", "warnings",
    "wall_time_s", "cpu_time_s", "worker", "finished_utc", "satsim_version"}``;
    ``cpu_time_s`` is the worker process's CPU time over the run (all its
    threads): well below ``wall_time_s`` x threads, the point waited for a core.
    """
    from ..runner import run

    t0, c0 = time.perf_counter(), time.process_time()
    summary = error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            summary = json.loads(dumps(run(scenario, seed=seed).summary))
        except Exception as exc:  # a failing point is recorded, not raised
            error = {"type": type(exc).__name__, "message": str(exc),
                     "traceback": traceback.format_exc()}
    return {"status": "failed" if error else "ok", "summary": summary, "error": error,
            "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
            "wall_time_s": round(time.perf_counter() - t0, 3),
            "cpu_time_s": round(time.process_time() - c0, 3),
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "satsim_version": __version__}


def _lost(exc: BaseException) -> dict:
    """The record of a point whose task died with its worker."""
    return {"status": "failed", "summary": None, "warnings": [],
            "error": {"type": type(exc).__name__, "message": str(exc),
                      "traceback": "".join(traceback.format_exception(exc))},
            "wall_time_s": None, "cpu_time_s": None, "worker": None,
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "satsim_version": __version__}


@contextlib.contextmanager
def open_client(client=None, scheduler: str | None = None, workers: int | None = None):
    """The Dask client to use (module docstring); None for ``workers=0``.

    A cluster started here is closed on exit; a given ``client`` is left open.
    """
    if client is not None:
        if scheduler is not None or workers is not None:
            raise InputError("give client, or scheduler / workers, not both")
        yield client
        return
    if scheduler is not None and workers is not None:
        raise InputError("--workers sizes the local cluster; with --scheduler, size the "
                         "cluster where it runs (drop --workers)")
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers
                                or workers < 0):
        raise InputError(f"workers must be a whole number >= 0 (0: in this process), got "
                         f"{workers!r}")
    if workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            c = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); "
                             "check the address (tcp://HOST:8786) and that it is running") \
                from None
        with c:
            yield c
        return
    import dask

    n = int(workers or os.cpu_count() or 1)
    # set before each worker process starts, so numba reads it at import (the
    # nanny's env= comes too late: numba is imported already); ":0", a free
    # port, as the default 8787 warns when another cluster holds it
    environ = {"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": 1} if n > 1 else {}
    # the nannies live in this process and put that variable into this process'
    # environment to spawn the workers, and leave it there: numba would then read
    # 1 thread at its next configuration reload (any compile) and refuse to run
    # with the threads it has ("Cannot set NUMBA_NUM_THREADS ... once the threads
    # have been launched"), so the caller's value is put back once they are up
    before = os.environ.get("NUMBA_NUM_THREADS")
    try:
        with dask.config.set(environ):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
    finally:
        _restore_environ("NUMBA_NUM_THREADS", before)
    try:
        with Client(cluster) as c:
            yield c
    finally:
        cluster.close()
        _restore_environ("NUMBA_NUM_THREADS", before)


def _restore_environ(name: str, value: str | None) -> None:
    """``os.environ[name]`` back to ``value`` (None: not set)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _results(client, todo: list[PointRun]) -> Iterator[tuple[PointRun, dict]]:
    """(run, record) as each task finishes, in completion order."""
    if client is None:
        for run in todo:
            yield run, run_point(run.point.scenario, run.seed)
        return
    from distributed import as_completed

    futures = {}
    for run in todo:
        f = client.submit(run_point, run.point.scenario, run.seed, pure=False,
                          key=f"satsim-point-{run.point.index}-seed-{run.seed}-{run.key[:12]}"
                              f"-{os.urandom(4).hex()}")
        futures[f] = run
    try:
        for f in as_completed(futures):
            run = futures.pop(f)
            try:
                record = f.result()
            except Exception as exc:  # the worker died (KilledWorker, ...)
                record = _lost(exc)
            f.release()
            yield run, record
    finally:
        if futures:
            client.cancel(list(futures))


def _threads(client) -> int:
    if client is None:
        return 1
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # a scheduler that does not answer: show all as running
        return 1 << 30


def finish(sweep: Sweep, out: Path, *, warn: bool = True) -> pd.DataFrame:
    """Rebuild table.parquet, aggregate.parquet and plots/ from ``out/points``."""
    from .plots import write_plots

    table = build_table(sweep, out)
    agg = aggregate(sweep, table)
    write_parquet(table, out / "table.parquet")
    write_parquet(agg, out / "aggregate.parquet")
    write_plots(agg, sweep.metrics, sweep.parameters, out)
    if warn:
        summaries = [rec["summary"] for k in table.loc[table["status"] == "ok", "key"]
                     for rec in [read_point(out, k)] if rec and rec.get("summary")]
        missing = [m for m in sweep.metrics if not metric_found(summaries, m)]
        if summaries and missing:
            warnings.warn(f"metrics {', '.join(missing)} are in no point's summary (their "
                          "columns are empty); check the key paths against a run's "
                          "summary.json", MetricWarning, stacklevel=3)
    return table


def sweep(spec, out, *, client=None, scheduler: str | None = None,
          workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Run a parameter sweep with replications on dask.distributed.

    Parameters
    ----------
    spec : path, mapping or Sweep
        A sweep file, a mapping with its keys, or a loaded sweep
        (:func:`satsim.sweeps.load_sweep`).
    out : path
        The sweep folder (``satsim.sweeps.store``); created if missing. A
        folder holding an earlier run of the same sweep is resumed: points
        whose file says "ok" are skipped, failed ones are run again.
    client : distributed.Client, optional
        Run on this client (left open).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    workers : int, optional
        Processes of the local cluster (default: one per core); 0 runs every
        point in this process without Dask.
    progress : bool
        Show progress on stderr (a live display on a terminal, a line per
        point otherwise).

    Returns
    -------
    pandas.DataFrame
        The table (one row per point and seed), also in ``out/table.parquet``.
    """
    sweep_ = load_sweep(spec)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder; choose another --out")
    (out / "points").mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sweep.yaml", sweep_.to_yaml())
    runs = sweep_.runs()
    todo = [r for r in runs if not is_done(out, r.key)]
    reporter = Reporter(enabled=progress)
    with open_client(client, scheduler, workers) as c:
        threads = _threads(c)
        reporter.start(sweep_, total=len(runs), skipped=len(runs) - len(todo), where=_where(c))
        pending = len(todo)
        try:
            for run, record in _results(c, todo):
                write_point(out, run, record)
                pending -= 1
                reporter.advance(run, record, running=min(pending, threads))
        except KeyboardInterrupt:
            reporter.stop(interrupted=True)
            finish(sweep_, out, warn=False)
            raise
    reporter.stop()
    return finish(sweep_, out)


def _where(client) -> str:
    if client is None:
        return "in this process"
    try:
        n = len(client.scheduler_info(n_workers=-1)["workers"])
    except Exception:
        n = "?"
    return f"on Dask at {client.scheduler.address} ({n} workers)"
