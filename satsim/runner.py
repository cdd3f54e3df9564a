"""``satsim.run``: one scenario from orbits to services, into a :class:`Results`.

Stages (data flows one way, ARCHITECTURE.md):

1. build the run's objects from the scenario (``satsim.scenario.build``);
2. orbits + geometry + link, one chunk of ``run.chunk_steps`` time steps at
   a time (``satsim.link.iter_link_chunks``); each chunk is folded into the
   running statistics of the summary (:class:`satsim.results.summary.LinkStats`)
   and into the scheduler's :class:`~satsim.scheduler.CoverageView`, then
   dropped, so memory does not grow with the number of chunks beyond the
   compact outputs;
3. the services over the view (``satsim.scheduler.simulate``);
4. the summary and tables (:func:`satsim.results.summary.summarize`) and, if
   asked, the results folder.

With ``run.spool`` what grows with the simulated time goes to a temporary
folder as it is made (:func:`spool_folder`): the view in buckets of handsets
(``satsim.scheduler.spool``), whose services run group by group, their tables
filed as each group finishes (``satsim.results.table_spool.ServiceSpool``),
and the gaps and handovers (``LinkStats``); a killed run's folders are swept
by the next run on the machine (:func:`sweep_stale_spools`).

This module only orchestrates: what is computed lives in those layers.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import InputError
from .link.engine import iter_link_chunks
from .results.folder import Results, metadata_for
from .results.summary import (
    SPOOL_FILES,
    LinkStats,
    listed_service_tables,
    sample_handsets,
    summarize,
)
from .results.table_spool import (
    SERVICE_SPOOL_FILES,
    ServiceSpool,
    remove_spool,
    service_windows,
)
from .scenario import Scenario, load_scenario, scenario_yaml, with_overrides
from .scenario.build import build
from .scenario.estimate import check_resources
from .scheduler import spool as view_spool
from .scheduler.coverage_view import CoverageView
from .scheduler.model import simulate
from .scheduler.spool import RUN_FILES, SpooledView

#: ``progress(stage, done, total)``: stage is "link", "scheduler" or "writing".
Progress = Callable[[str, float, float], None]

log = logging.getLogger(__name__)

#: What each kind of temporary spool folder holds (file names, name patterns): the
#: view's runs, and the tables' files (gaps, handovers, the services' tables).
SPOOL_KINDS = {"spool": ((), (RUN_FILES,)),
               "tables": (SPOOL_FILES[0] + SERVICE_SPOOL_FILES[0],
                          SPOOL_FILES[1] + SERVICE_SPOOL_FILES[1])}

#: Why ``run.spool`` and a link stage run elsewhere do not go together.
SPOOL_ON_CLUSTER = (
    "run.spool keeps a run's growing outputs on this machine's disk as its link stage "
    "makes them, but with a cluster (satsim run --workers / --scheduler, or run(link_stage=...)) "
    "the workers build them: set run.spool=false there (each worker then holds its own "
    "handset block's view), or run on this machine with run.spool=true")

#: A temporary spool folder's name: ``satsim-<kind>-<host>-<pid>-<random>``.
_SPOOL_NAME = re.compile(r"^satsim-(spool|tables)-([0-9a-f]{8})-([0-9]+)-")


def run(scenario: Scenario | str | Path | None = None, *, seed: int | None = None,
        out: str | Path | None = None, overwrite: bool = False,
        progress: Progress | None = None, link_chunks=None, link_stage=None,
        scheduler=None, force: bool = False) -> Results:
    """Run a scenario end to end.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a YAML file, or None for the embedded default.
    seed : int, optional
        Overrides ``scenario.seed``.
    out : path, optional
        Also write the results folder there (atomically; see
        :meth:`Results.write`).
    overwrite : bool
        Replace an existing results folder at ``out``.
    progress : callable, optional
        ``progress(stage, done, total)`` after each chunk / stage.
    link_chunks : callable, optional
        ``link_chunks(inputs)`` -> iterator of the run's ``LinkChunk``s, in
        place of ``satsim.link.iter_link_chunks`` over the built inputs; e.g.
        ``satsim.distributed.link_chunks_on(client)`` computes handset blocks
        of each chunk on a Dask cluster (same results).
    link_stage : callable, optional
        ``link_stage(inputs, progress)`` -> ``(LinkStats, CoverageView)``: the
        whole link stage elsewhere, e.g. ``satsim.distributed.
        link_stage_on(client)``, whose workers also build the statistics and
        the view of their handset blocks (same results). Not with
        ``link_chunks``, nor with ``run.spool`` (InputError).
    scheduler : callable, optional
        ``scheduler(view, config, seed)`` -> ``SchedulerResult``, in place of
        ``satsim.scheduler.simulate``; e.g. ``satsim.distributed.
        scheduler_on(client)`` runs the services in independent parts
        (handsets sharing no beam) on a Dask cluster (same results).
    force : bool
        Run even if the memory estimate (``satsim.scenario.estimate``) says the
        run does not fit in this machine's available memory, or with
        ``run.spool`` its files on the temporary folder's disk. Without it such
        a run is refused (InputError, naming what to change) before anything is
        built, as ``satsim run`` does. Not checked with ``link_stage`` (the
        link stage and its memory are elsewhere).

    Returns
    -------
    Results
    """
    scenario = _resolve(scenario, seed)
    if link_chunks is not None and link_stage is not None:
        raise ValueError("give link_chunks or link_stage, not both")
    if link_stage is not None and scenario.run.spool:
        raise InputError(SPOOL_ON_CLUSTER)
    if link_stage is None and not force:
        check_resources(scenario, force_hint="force=True")
    if out is not None:
        Results.check_destination(out, overwrite)
    report = progress or _silent
    timings = {}
    t0 = time.perf_counter()
    inputs = build(scenario)
    timings["build"] = time.perf_counter() - t0
    if link_stage is None:
        stats, view = _link_stage(inputs, link_chunks, report, timings)
    else:
        t1 = time.perf_counter()
        report("link", 0, len(inputs.times))
        stats, view = link_stage(inputs, report)
        # computed elsewhere: the stage's parts are not timed here (as with link_chunks)
        timings.update(propagation=0.0, geometry=0.0, link_kernel=0.0,
                       link=time.perf_counter() - t1)
    services_spool = None
    try:
        try:
            if isinstance(view, SpooledView) and inputs.services and stats.spool is not None:
                # the services' tables in files beside the gaps' as the groups finish
                services_spool = ServiceSpool(
                    stats.spool, len(inputs.constellation),
                    service_windows(len(inputs.handsets) * inputs.times.duration_s / 3600.0))
            sched, files = _services(view, inputs, report, timings, scheduler or simulate,
                                     services_spool)
        finally:
            if isinstance(view, SpooledView):
                view.close()
        summary, tables = summarize(inputs, stats, sched, files)
    except BaseException:
        # with run.spool: the tables' files written so far
        if services_spool is not None:
            services_spool.discard()
        stats.discard_spool()
        raise
    timings["total"] = time.perf_counter() - t0
    results = Results(summary=summary, tables=tables, scenario_yaml=scenario_yaml(scenario),
                      metadata=metadata_for(scenario, timings), timings_s=timings)
    if out is not None:
        report("writing", 0, 1)
        results.write(out, overwrite=overwrite)
        report("writing", 1, 1)
    return results


def _resolve(scenario, seed: int | None) -> Scenario:
    """The validated scenario of ``run``'s arguments."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if seed is not None:
        scenario = with_overrides(scenario, {"seed": seed})
    return scenario


def _silent(stage: str, done: float, total: float) -> None:
    """The progress callback when none is given."""


def _link_stage(inputs, link_chunks, report: Progress,
                timings: dict) -> tuple[LinkStats, CoverageView]:
    """Orbits, geometry and link, chunk by chunk, into the summary's running
    statistics and the scheduler's view; adds the stage's timings."""
    times, nh = inputs.times, len(inputs.handsets)
    sweep_stale_spools()    # a killed run's spool, whether or not this run spools
    spool = None
    if inputs.scenario.run.spool:  # gaps in files of as many handsets as a view's bucket
        spool = spool_folder("tables")
    stats = LinkStats(times, nh, sample_handsets(nh, inputs.scenario.run.sample_handsets),
                      spool=spool,
                      gap_range_handsets=math.ceil(nh / spool_buckets(inputs)) if nh else 1)
    try:
        return _fold_chunks(inputs, link_chunks, report, timings, stats)
    except BaseException:
        stats.discard_spool()
        raise


def _fold_chunks(inputs, link_chunks, report: Progress, timings: dict,
                 stats: LinkStats) -> tuple[LinkStats, CoverageView]:
    """:func:`_link_stage`'s chunks folded into ``stats`` and the view."""
    times = inputs.times
    t1 = time.perf_counter()
    parts = {}
    if link_chunks is None:
        chunks = iter_link_chunks(inputs.constellation, inputs.handsets, times, inputs.link,
                                  chunk_steps=inputs.scenario.run.chunk_steps,
                                  processes=inputs.scenario.run.processes, timings=parts,
                                  max_epoch_age_days=(
                                      inputs.scenario.constellation.max_epoch_age_days),
                                  knot_step_s=inputs.scenario.run.knot_step_s or None)
    else:
        chunks = link_chunks(inputs)

    def tapped():
        report("link", 0, len(times))
        for ch in chunks:
            stats.add(ch)
            report("link", stats.steps_done, len(times))
            yield ch

    n_rb = inputs.link.carrier.beam_n_rb
    if inputs.scenario.run.spool:
        view = spooled_view(inputs, n_rb)
        try:
            for ch in tapped():
                view.add_chunk(ch)
            view.finish()
        except BaseException:
            view.close()
            raise
    else:
        view = CoverageView.from_link_chunks(tapped(), n_rb=n_rb)
    # parts of the chunked stage; "link" is the whole of it (with the running
    # statistics and the scheduler's view)
    timings.update(propagation=parts.get("propagation", 0.0),
                   geometry=parts.get("geometry", 0.0),
                   link_kernel=parts.get("link", 0.0))
    timings["link"] = time.perf_counter() - t1
    return stats, view


def spool_buckets(inputs) -> int:
    """How many buckets a spooled run's handsets go in: its steps over
    ``satsim.scheduler.spool.BUCKET_CHUNKS`` chunks, at least 1, at most one per
    handset."""
    steps, chunk = len(inputs.times), inputs.scenario.run.chunk_steps
    n = math.ceil(steps / (view_spool.BUCKET_CHUNKS * chunk))
    return max(1, min(len(inputs.handsets), n))


def spooled_view(inputs, n_rb) -> SpooledView:
    """An empty :class:`~satsim.scheduler.spool.SpooledView` of the run in a new
    temporary folder (under TMPDIR; :meth:`~SpooledView.close` removes it): buckets of
    whole Earth-fixed cells (``satsim.distributed.cell_blocks``), else of consecutive
    handsets, :func:`spool_buckets` of them."""
    from .distributed import cell_blocks

    nh, n = len(inputs.handsets), spool_buckets(inputs)
    buckets = cell_blocks(inputs, n) if nh else None
    if buckets is None:
        buckets = [b for b in np.array_split(np.arange(nh, dtype=np.int64), n) if b.size] \
            or [np.empty(0, np.int64)]
    return SpooledView(spool_folder("spool"), nh, buckets, n_rb=n_rb,
                       owned=True)


def _host_tag() -> str:
    """8 hex digits naming this machine in a spool folder's name."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def spool_folder(kind: str) -> str:
    """A new temporary folder (under TMPDIR) for a spooled run's files of ``kind``
    (:data:`SPOOL_KINDS`), named after this machine and process so that a later run
    can tell the folder of a run that was killed (:func:`sweep_stale_spools`)."""
    if kind not in SPOOL_KINDS:
        raise ValueError(f"no spool kind {kind!r}")
    return tempfile.mkdtemp(prefix=f"satsim-{kind}-{_host_tag()}-{os.getpid()}-")


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (POSIX; unsure counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)     # signal 0: only asks
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):    # e.g. another user's process: alive
        return True
    return True


def sweep_stale_spools(root=None) -> list[Path]:
    """Empty the spool folders a killed run left behind: under ``root`` (default
    the temporary folder), those named by :func:`spool_folder` for this machine
    whose process is gone (a run stops its own spool on any error or Ctrl-C, but
    not when it is killed: SIGKILL, the kernel's out-of-memory killer). Only the
    files a spool writes are removed (:data:`SPOOL_KINDS`), then the folder if that
    empties it. Returns the folders swept (those that held such files). POSIX
    only (elsewhere nothing is done: a process cannot be asked whether it lives
    without signalling it)."""
    if os.name != "posix":
        return []
    root = Path(tempfile.gettempdir() if root is None else root)
    here, swept = _host_tag(), []
    for folder in sorted(root.glob("satsim-*")):
        m = _SPOOL_NAME.match(folder.name)
        if (m is None or m.group(2) != here or not folder.is_dir()
                or _process_alive(int(m.group(3)))):
            continue
        names, patterns = SPOOL_KINDS[m.group(1)]
        try:
            if not (any((folder / n).exists() for n in names)
                    or any(any(folder.glob(p)) for p in patterns)):
                continue    # swept before: what is left is not a spool's
            remove_spool(folder, names, patterns)
        except OSError:     # e.g. another user's folder: not ours to sweep
            continue
        swept.append(folder)
        log.warning("satsim: removed the spool files of a run that was killed (process %s) "
                    "from %s", m.group(3), folder)
    return swept


def _services(view, inputs, report: Progress, timings: dict, scheduler, spool=None):
    """The scheduler's result over ``view`` (``scheduler``: ``simulate`` or the
    caller's; a :class:`SpooledView` runs its own groups), or None when no service
    is on; and the services' table files, or None. With ``spool`` (a
    :class:`ServiceSpool`) each group's tables go to files as it finishes, and
    the result holds the summary's columns only."""
    t2 = time.perf_counter()
    sched = files = None
    if inputs.services:
        report("scheduler", 0, 1)
        config, seed = inputs.scheduler, inputs.scenario.seed
        if spool is not None:
            view.simulate(config, seed, sink=spool.add)
            sched, files = spool.finish(keep=listed_service_tables(inputs.services))
        elif isinstance(view, SpooledView):
            sched = view.simulate(config, seed)
        else:
            sched = scheduler(view, config, seed)
        report("scheduler", 1, 1)
    timings["scheduler"] = time.perf_counter() - t2
    return sched, files
