"""One large run's link stage in handset blocks, in this process or spread
over a Dask cluster, with chunks equal to the serial ones.

This is not a sweep (a sweep hands whole runs to Dask, :mod:`satsim.sweeps`):
it feeds one run, ``satsim.run(scenario, link_stage=link_stage_on(client))``
(or ``link_chunks=link_chunks_on(client)``), so it sits beside
:mod:`satsim.runner` and uses only the public names of the layers it
orchestrates (orbits, link, scenario, and the run's statistics and coverage
view).

Why blocks and not time chunks: the handover state of a handset carries from
one time chunk to the next, so time chunks are sequential; but the link
layer of one handset depends on no other handset (the serving kernel loops
over handsets independently; interference comes from every beam of every
satellite in view whatever the other handsets do), and the channel's random
draws are those of the whole set sliced by rows
(:func:`satsim.link.losses.channel_draws` draws ``(handset, satellite)`` in
row-major order), so a block of handsets gives exactly its columns of the
whole run. The scheduler needs the merged timeline (beams are shared), so
blocks are merged back, one time chunk at a time, in handset order.

* :func:`iter_link_chunks_blocked`: the blocks one after the other in this
  process, the ephemeris of each time chunk computed once; the links of a
  chunk (geometry, losses, kernel inputs) then scale with the block, not with
  all handsets.
* :func:`iter_link_chunks_dask`: one Dask actor per block, placed round robin
  on the workers, each building the scenario, propagating the constellation
  and keeping its block's handover state; the driver asks every actor for the
  next chunk, merges the answers, and asks for the following chunk before
  handing the merged one on, so workers compute while the caller consumes.
  :func:`link_chunks_on` wraps it for a run.

Either way the merged chunks equal :func:`satsim.link.iter_link_chunks`'s
(tests/test_sweeps.py checks every array and the handover events).

* :func:`link_stage_on` / :func:`link_stage_dask`: the run's whole link stage
  on the cluster, ``satsim.run(scenario, link_stage=link_stage_on(client))``
  (what ``satsim run --workers`` does). The blocks' actors also build their
  handsets' running statistics and coverage-view runs, which are per handset,
  so the driver no longer merges whole chunks: it receives each chunk's series
  columns (counts, exact SINR sums and the served SINR values, for the time
  series taken over all handsets, :func:`satsim.results.summary.joined_series`)
  and, at the end, the blocks' statistics and views, which it joins. Same
  statistics, tables and view as in process (tests/test_cli_run.py,
  tests/test_distributed_stage.py).

* :func:`scheduler_on`: the services over the joined view, in parts whose
  handsets share no beam (:mod:`satsim.scheduler.parts`), one part per worker
  by default, each part's view scattered to its worker; the driver splits the
  view and joins the parts' tables. Same result as ``simulate`` of the whole
  view (tests/test_scheduler_parts.py).

* :func:`on_cluster` (what ``satsim run --workers / --scheduler`` uses): with
  Earth-fixed cells the link stage's blocks are whole cells
  (:func:`cell_blocks`), so a block's handsets share no beam with another's,
  and each block's actor runs its own handsets' services over the view it
  built (:class:`BlockViews`): no view crosses the network, and the driver only
  checks that the blocks' beams are disjoint and joins the tables. Otherwise
  (beams on the satellite, or an SMS option that draws in simulation order) the
  views are joined on the driver and run as :func:`scheduler_on` does. Same
  results as in process (tests/test_distributed_stage.py, tests/test_cli_run.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from .errors import InputError
from .link.config import LinkConfig
from .link.engine import (
    HandoverState,
    iter_chunk_ephemerides,
    iter_link_chunks,
    prepare,
    prepare_cells_for,
    serve_chunk,
)
from .link.losses import ChannelDraws, channel_draws
from .link.timeline import PER_HANDSET_FIELDS, LinkChunk
from .orbits.propagation import (
    DEFAULT_MAX_EPOCH_AGE_DAYS,
    check_epoch_age,
)

#: LinkChunk fields of shape (ntime, nh), joined along the handset axis.
PER_HANDSET = PER_HANDSET_FIELDS


def handset_blocks(n_handsets: int, block_handsets: int | None) -> list[slice]:
    """Consecutive slices of at most ``block_handsets`` handsets (one slice if None)."""
    if block_handsets is None:
        return [slice(0, n_handsets)]
    if isinstance(block_handsets, bool) or int(block_handsets) != block_handsets \
            or block_handsets < 1:
        raise InputError(f"block_handsets must be a whole number >= 1, got {block_handsets!r}")
    b = int(block_handsets)
    return [slice(lo, min(lo + b, n_handsets)) for lo in range(0, max(n_handsets, 1), b)]


class BlockLink:
    """The link layer of one block of handsets, one time chunk after the other.

    Holds the block's handsets, its rows of the whole set's channel draws and
    its handover state; :meth:`serve` evaluates the next chunk's ephemeris.
    """

    def __init__(self, constellation, handsets, block: slice, times, config: LinkConfig):
        draws = channel_draws(config.seed, len(handsets), len(constellation))
        self.draws = ChannelDraws(u_los=np.ascontiguousarray(draws.u_los[block]),
                                  z_shadow=np.ascontiguousarray(draws.z_shadow[block]))
        del draws
        self.handsets = handsets[block]
        self.config = config
        self.prepared = prepare(config, times.step_s, float(np.min(constellation.altitude_km)))
        self.state = HandoverState(len(self.handsets))
        cells = prepare_cells_for(config, handsets, constellation)
        self.cells = None if cells is None else cells.for_block(block)

    def serve(self, ephemeris, fine=None) -> LinkChunk:
        """The block's chunk of ``ephemeris`` (``fine``: as ``serve_chunk``)."""
        return serve_chunk(ephemeris, self.handsets, self.config, self.prepared, self.draws,
                           self.state, cells=self.cells, fine=fine)


class BlockActor:
    """A Dask actor: :class:`BlockLink` of one block of a scenario's handsets,
    over its own propagation of the run (the scenario is built on the worker:
    SGP4 satellites cannot be pickled)."""

    def __init__(self, scenario, block: slice):
        from .scenario.build import build

        self._start(scenario, build(scenario), block)

    def _start(self, scenario, inputs, block: slice) -> None:
        self.block = BlockLink(inputs.constellation, inputs.handsets, block, inputs.times,
                               inputs.link)
        self.ephemeris = iter_chunk_ephemerides(inputs.constellation, inputs.times,
                                                inputs.link, scenario.run.chunk_steps,
                                                max_epoch_age_days=None,
                                                knot_step_s=scenario.run.knot_step_s or None)

    def next_chunk(self) -> LinkChunk | None:
        """The block's next chunk, or None after the last."""
        for eph, fine in self.ephemeris:
            return self.block.serve(eph, fine)
        return None


def merge_blocks(parts: list[LinkChunk], blocks: list[slice]) -> LinkChunk:
    """The chunk of all handsets from its blocks' chunks (same times), in handset
    order; handover events renumbered and ordered as the serial ones (by step,
    then handset)."""
    if len(parts) == 1:
        return parts[0]
    cat = {name: np.concatenate([getattr(p, name) for p in parts], axis=1)
           for name in PER_HANDSET}
    events = [p.handovers.assign(handset=p.handovers["handset"] + b.start)
              for p, b in zip(parts, blocks) if len(p.handovers)]
    if events:
        ho = pd.concat(events, ignore_index=True)
        order = np.lexsort((ho["handset"].to_numpy(), ho["time_s"].to_numpy()))
        ho = ho.iloc[order].reset_index(drop=True)
    else:
        ho = parts[0].handovers
    return LinkChunk(times=parts[0].times, handovers=ho, **cat)


def iter_link_chunks_blocked(constellation, handsets, times, config: LinkConfig | None = None,
                             *, chunk_steps: int = 360, block_handsets: int | None = None,
                             processes: int = 1,
                             max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
                             knot_step_s: float | None = None) -> Iterator[LinkChunk]:
    """The link timeline of a run chunk by chunk, computed in handset blocks in
    this process; same arguments and chunks as :func:`satsim.link.iter_link_chunks`.

    Parameters
    ----------
    block_handsets : int, optional
        Handsets per block (None: all in one block, the unblocked path).
    max_epoch_age_days : float or None
        As :func:`satsim.orbits.propagation.iter_ephemeris` (checked once).
    knot_step_s : float or None
        As :func:`satsim.orbits.propagation.iter_ephemeris`.
    """
    config = config or LinkConfig()
    blocks = handset_blocks(len(handsets), block_handsets)
    if len(blocks) == 1:
        yield from iter_link_chunks(constellation, handsets, times, config,
                                    chunk_steps=chunk_steps, processes=processes,
                                    knot_step_s=knot_step_s)
        return
    if max_epoch_age_days is not None:
        check_epoch_age(constellation, times, max_epoch_age_days)
    links = [BlockLink(constellation, handsets, b, times, config) for b in blocks]
    for eph, fine in iter_chunk_ephemerides(constellation, times, config, chunk_steps,
                                            processes=processes, max_epoch_age_days=None,
                                            knot_step_s=knot_step_s):
        parts = [link.serve(eph, fine) for link in links]
        merged = merge_blocks(parts, blocks)
        del parts  # hold nothing of this chunk but what the caller holds
        yield merged
        del merged


def iter_link_chunks_dask(scenario, client, *, block_handsets: int | None = None,
                          max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS
                          ) -> Iterator[LinkChunk]:
    """The link timeline of ``scenario``, its handset blocks computed on a Dask
    cluster (module docstring); the chunks of ``satsim.link.iter_link_chunks``
    over the scenario's built objects.

    Parameters
    ----------
    scenario : satsim.scenario.Scenario
        Built on every worker (a constellation file must be readable there).
    client : distributed.Client
    block_handsets : int, optional
        Handsets per block (default: split evenly over the workers).
    max_epoch_age_days : float or None
        Epoch-age check of the constellation, once, in this process.
    """
    from .scenario.build import build

    inputs = build(scenario)
    if max_epoch_age_days is not None:
        check_epoch_age(inputs.constellation, inputs.times, max_epoch_age_days)
    blocks, futures = _place_actors(client, BlockActor, scenario, len(inputs.handsets),
                                    block_handsets)
    try:
        actors = [f.result() for f in futures]
        pending = [a.next_chunk() for a in actors]
        while True:
            parts = [p.result() for p in pending]
            if parts[0] is None:
                return
            pending = [a.next_chunk() for a in actors]  # workers go on while we merge
            yield merge_blocks(parts, blocks)
    finally:
        client.cancel(futures)


def _workers(client) -> list:
    """The cluster's workers (InputError if it has none)."""
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise InputError("the Dask cluster has no workers")
    return workers


def _place_actors(client, actor, scenario, n_handsets: int, block_handsets: int | None,
                  blocks=None):
    """``(blocks, futures)``: one ``actor(scenario, block)`` per handset block
    (``blocks``, or by default the handsets split evenly over the workers in
    consecutive blocks), round robin on the workers."""
    workers = _workers(client)
    if blocks is None:
        blocks = handset_blocks(n_handsets,
                                block_handsets or max(1, -(-n_handsets // len(workers))))
    futures = [client.submit(actor, scenario, b, actor=True, pure=False,
                             workers=[workers[i % len(workers)]])
               for i, b in enumerate(blocks)]
    return blocks, futures


def cell_blocks(inputs, n_blocks: int) -> list[np.ndarray] | None:
    """Handset blocks closed under cells: every Earth-fixed cell's handsets in one
    block, as increasing handset indices; None without Earth-fixed cells. The
    cells are cut in their lattice order (rows of neighbouring cells) into
    ``n_blocks`` runs of about equal handset counts, so a block is a compact band
    of the region. A cell's handsets share its beams and no other handset does,
    so each block can run its own services (:class:`BlockViews`)."""
    cells = prepare_cells_for(inputs.link, inputs.handsets, inputs.constellation)
    if cells is None:
        return None
    if isinstance(n_blocks, bool) or int(n_blocks) != n_blocks or n_blocks < 1:
        raise InputError(f"the number of blocks must be a whole number >= 1, got {n_blocks!r}")
    cell = np.asarray(cells.grid.handset_cell, dtype=np.int64)
    count = np.bincount(cell)
    # each cell to the block its first handset falls in, counting in cell order
    block_of = (((np.cumsum(count) - count) * int(n_blocks)) // max(cell.size, 1))[cell]
    blocks = [np.flatnonzero(block_of == k) for k in range(int(n_blocks))]
    return [b for b in blocks if b.size] or None


def link_chunks_on(client, block_handsets: int | None = None):
    """``link_chunks(inputs)`` for a run: :func:`iter_link_chunks_dask` of the
    run's scenario (``inputs`` is a ``satsim.scenario.build.RunInputs``)."""
    def link_chunks(inputs):
        return iter_link_chunks_dask(
            inputs.scenario, client, block_handsets=block_handsets,
            max_epoch_age_days=inputs.scenario.constellation.max_epoch_age_days)
    return link_chunks


# =============================================================================
# the whole link stage on the workers: statistics and view built per block
# =============================================================================
class BlockStageActor(BlockActor):
    """A Dask actor: :class:`BlockActor`'s block, which also folds each of its
    chunks into the block's running statistics (per handset) and coverage-view
    runs, and sends back only what the run's time series need of a chunk
    (:func:`satsim.results.summary.series_columns`) and, at the end, its
    statistics and view (:meth:`result`)."""

    def _start(self, scenario, inputs, block) -> None:
        from .results.summary import LinkStats, block_handsets, sample_handsets
        from .scheduler.coverage_view import CoverageViewBuilder

        super()._start(scenario, inputs, block)
        nh = len(inputs.handsets)
        self.n_handsets = nh
        self.handsets = (np.arange(nh)[block] if isinstance(block, slice)
                         else block_handsets(block, 0))
        sampled = sample_handsets(nh, scenario.run.sample_handsets)
        mine = np.flatnonzero(np.isin(self.handsets, sampled))
        self.stats = LinkStats(inputs.times, self.handsets.size, mine, series=False)
        self.runs = CoverageViewBuilder(n_rb=inputs.link.carrier.beam_n_rb)
        self._view = None

    def next_series(self):
        """The block's next chunk folded in; its series columns, or None after the last."""
        from .results.summary import series_columns

        for eph, fine in self.ephemeris:
            ch = self.block.serve(eph, fine)
            self.stats.add(ch)
            self.runs.add_chunk(ch)
            return series_columns(ch)
        return None

    def result(self):
        """``(statistics part, view)`` of the block once every chunk is in
        (``LinkStats.block_part``, the block's ``CoverageView``)."""
        return self.stats.block_part(), self.view()

    def statistics(self) -> dict:
        """The block's statistics part once every chunk is in (``LinkStats.block_part``)."""
        return self.stats.block_part()

    def view(self):
        """The block's ``CoverageView`` (its handsets numbered from 0) once every
        chunk is in."""
        if self._view is None:
            self._view = self.runs.view()
        return self._view

    def beam_keys(self) -> np.ndarray:
        """The beam numbers the block's runs use, increasing (of any satellite: two
        blocks with no number in common share no ``(sat, beam)``; with Earth-fixed
        cells a beam's number is its cell's, so this is at most the block's cells,
        whatever the duration)."""
        return np.unique(self.view().beam).astype(np.int64)

    def services(self, config, seed: int):
        """The scheduler's result for the block's handsets alone (a part of the run:
        :mod:`satsim.scheduler.parts`; exact when no other block uses its beams)."""
        from .scheduler import simulate

        view = self.view().renumbered(self.handsets, self.n_handsets)
        return simulate(view, config, seed, handsets=self.handsets)


def link_stage_dask(inputs, client, progress=None, *, block_handsets: int | None = None,
                    keep_blocks: bool = False):
    """A run's whole link stage on a Dask cluster: ``(stats, view)`` as
    ``satsim.run`` builds them in process (the same arrays and tables).

    Each actor (one per handset block, round robin on the workers) computes its
    block's chunks and folds them into its own statistics and coverage-view
    runs; per chunk the driver receives only what the time series need of it
    (per step: counts, the served SINR's exact sums and its values, ~4 B per
    handset-step instead of a whole chunk's ~60; added up in any order,
    :func:`satsim.results.summary.joined_series`) and folds them into the run's
    time series; at the end it joins the blocks' per-handset statistics and
    tables, which are per handset. With Earth-fixed cells the blocks are whole
    cells (:func:`cell_blocks`), otherwise consecutive handsets.

    Parameters
    ----------
    inputs : satsim.scenario.build.RunInputs
        The run's built inputs (its scenario is built again on every worker).
    client : distributed.Client
    progress : callable, optional
        ``progress("link", steps_done, steps)`` after each chunk.
    block_handsets : int, optional
        Handsets per block (default: one block per worker).
    keep_blocks : bool
        Return, in place of the joined view, the :class:`BlockViews` that keep
        the blocks' views on their actors (for :func:`on_cluster`'s scheduler).
    """
    from .results.summary import LinkStats, joined_series, sample_handsets
    from .scheduler.coverage_view import CoverageView

    scenario, times = inputs.scenario, inputs.times
    age = scenario.constellation.max_epoch_age_days
    if age is not None:
        check_epoch_age(inputs.constellation, times, age)
    nh = len(inputs.handsets)
    n_blocks = (-(-nh // block_handsets) if block_handsets else len(_workers(client)))
    blocks = cell_blocks(inputs, max(1, n_blocks))
    blocks, futures = _place_actors(client, BlockStageActor, scenario, nh, block_handsets,
                                    blocks)
    indexed = not isinstance(blocks[0], slice)
    stats = LinkStats(times, nh, sample_handsets(nh, scenario.run.sample_handsets))
    kept = False
    try:
        actors = [f.result() for f in futures]
        pending = [a.next_series() for a in actors]
        while True:
            parts = [p.result() for p in pending]
            if parts[0] is None:
                break
            pending = [a.next_series() for a in actors]  # workers go on meanwhile
            stats.add_series(joined_series(parts))
            if progress is not None:
                progress("link", stats.steps_done, len(times))
        starts = [b if indexed else b.start for b in blocks]
        if keep_blocks:
            stats.absorb(zip(starts, [r.result() for r in [a.statistics() for a in actors]]))
            kept = True
            return stats, BlockViews(client, actors, futures, blocks, nh)
        results = [r.result() for r in [a.result() for a in actors]]
    finally:
        if not kept:
            client.cancel(futures)
    stats.absorb((b, part) for b, (part, _) in zip(starts, results))
    return stats, CoverageView.joined((view for _, view in results),
                                      blocks if indexed else None)


def link_stage_on(client, block_handsets: int | None = None):
    """``link_stage(inputs, progress)`` for ``satsim.run``: :func:`link_stage_dask`
    of the run on ``client``, the blocks' views joined on the driver."""
    def link_stage(inputs, progress=None):
        return link_stage_dask(inputs, client, progress, block_handsets=block_handsets)
    return link_stage


class BlockViews:
    """The coverage views of a run's handset blocks, left on their actors by
    :func:`link_stage_dask` (``keep_blocks``): :meth:`simulate` runs the services
    of each block on its own actor when that is exact (the blocks are whole cells,
    no beam is used by two blocks, and the configuration can be split:
    :mod:`satsim.scheduler.parts`), so no view crosses the network; otherwise it
    joins the views here and runs them in parts (:func:`scheduler_on`)."""

    def __init__(self, client, actors, futures, blocks, n_handsets: int):
        self.client, self.actors, self.futures = client, actors, futures
        self.blocks, self.n_handsets = blocks, n_handsets
        #: Where the last :meth:`simulate` ran the services: "blocks" or "parts".
        self.ran = None

    def separable(self, config) -> bool:
        """The blocks' services can run apart, each on its actor, exactly: no beam
        number is used by two blocks (:meth:`BlockStageActor.beam_keys`, a
        sufficient test) and the configuration can be split."""
        from .scheduler.parts import split_reason

        if isinstance(self.blocks[0], slice) or split_reason(config) is not None:
            return False
        keys = np.concatenate([f.result() for f in [a.beam_keys() for a in self.actors]])
        return np.unique(keys).size == keys.size

    def view(self):
        """The joined view of all handsets (on the driver)."""
        from .scheduler.coverage_view import CoverageView

        views = [f.result() for f in [a.view() for a in self.actors]]
        indexed = not isinstance(self.blocks[0], slice)
        return CoverageView.joined(views, self.blocks if indexed else None)

    def simulate(self, config, seed: int):
        """The run's ``SchedulerResult``, the same as ``simulate`` of the joined view."""
        from .scheduler.parts import joined

        if self.separable(config):
            self.ran = "blocks"
            return joined([f.result() for f in [a.services(config, seed)
                                                for a in self.actors]])
        self.ran = "parts"
        return scheduler_on(self.client)(self.view(), config, seed)

    def close(self) -> None:
        """Release the actors."""
        self.client.cancel(self.futures)


def on_cluster(client, block_handsets: int | None = None):
    """``(link_stage, scheduler)`` for ``satsim.run`` (what ``satsim run --workers
    / --scheduler`` uses): the link stage in handset blocks on the workers, and
    the services of each block on its own worker when the blocks share no beam
    (whole Earth-fixed cells), else in parts over the joined view
    (:class:`BlockViews`). Same results as in process. Give both to one run."""
    def link_stage(inputs, progress=None):
        return link_stage_dask(inputs, client, progress, block_handsets=block_handsets,
                               keep_blocks=True)

    def scheduler(view, config, seed):
        if not isinstance(view, BlockViews):
            return scheduler_on(client)(view, config, seed)
        try:
            return view.simulate(config, seed)
        finally:
            view.close()
    return link_stage, scheduler


# =============================================================================
# the scheduler in parts on the workers
# =============================================================================
def map_parts_on(client):
    """``map_parts(fn, args)`` for :func:`satsim.scheduler.parts.simulate_parts`:
    each ``fn(*a)`` on a worker (round robin), its arguments scattered to that
    worker first (a part's view is large), the results in order."""
    def map_parts(fn, args):
        workers = _workers(client)
        scattered, results = [], []
        try:
            for i, a in enumerate(args):
                where = [workers[i % len(workers)]]
                data = client.scatter(list(a), workers=where, direct=True)
                scattered.extend(data)
                results.append(client.submit(fn, *data, workers=where, pure=False))
            return client.gather(results)
        finally:
            client.cancel(results + scattered)
    return map_parts


def scheduler_on(client, n_parts: int | None = None):
    """``scheduler(view, config, seed)`` for ``satsim.run``: the run's services in
    independent parts (handsets that share no beam,
    :mod:`satsim.scheduler.parts`), one or more per worker of ``client`` (default
    ``n_parts``: the number of workers); the same result as in process."""
    from .scheduler.parts import simulate_parts

    def scheduler(view, config, seed):
        n = n_parts or len(_workers(client))
        return simulate_parts(view, config, seed, n_parts=n, map_parts=map_parts_on(client))
    return scheduler
