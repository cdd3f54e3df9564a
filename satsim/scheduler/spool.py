"""The coverage view kept on disk, in buckets of handsets (``run.spool``).

A run's :class:`~satsim.scheduler.CoverageView` grows with the simulated time
(~50 bytes per run, ~0.1 run per handset-step at 1 s steps with Earth-fixed
cells: ~1.7 GiB per hour for 100,000 phones), and so do the scheduler's
structures built from it. :class:`SpooledView` takes the link timeline chunk
after chunk like :class:`~satsim.scheduler.coverage_view.CoverageViewBuilder`,
but writes each chunk's runs to disk, one file per bucket of handsets, instead
of holding them. The services then run one group of buckets at a time
(:meth:`SpooledView.simulate`): the group's runs are read back, joined across
chunk borders as the whole view joins them, and simulated as a part of the run
(:mod:`satsim.scheduler.parts`), so memory holds one group's view, not the run's.

Why it is exact: runs never cross handsets, so a bucket's view is the whole
view's :meth:`~satsim.scheduler.CoverageView.of_handsets` of its handsets,
array for array (tested); and handsets that share no beam are independent
parts of the run (:mod:`satsim.scheduler.parts`). The spool records, for every
bucket, the beam numbers its runs use, and buckets with a number in common are
simulated together (no common number: no common ``(sat, beam)``, a sufficient
test). With Earth-fixed cells a beam's number is its cell's, so buckets of
whole cells (``satsim.distributed.cell_blocks``) never share one; with beams
fixed on the satellites every bucket shares the satellites' beam numbers and
the groups merge into one, the whole view (exact, not bounded). The two SMS
options that draw in simulation order (:func:`~satsim.scheduler.parts.split_reason`)
also run whole.

The files are plain records (numpy ``tofile``) in a folder the caller owns
(``satsim.runner`` makes a temporary one and removes it); nothing else is
written there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .._atomic import check_spool_folder, remove_own_files
from ..errors import InputError
from .config import SchedulerConfig
from .coverage_view import (
    _N_RUN_COLUMNS,
    CoverageView,
    CoverageViewBuilder,
    _increasing_handsets,
    view_of_runs,
)
from .model import SchedulerResult, simulate
from .parts import joined, split_reason

#: The columns of a run as :func:`~satsim.scheduler.coverage_view._runs_of_block`
#: makes them (before runs are joined across chunks), and their types on disk: the
#: handset and the sample counts (at most a chunk's steps) as int32, 54 bytes a run
#: with uplink data; read back in the types the view is built from (int64: exact).
_RUN_FIELDS = (("handset", np.int32), ("start", np.float64), ("end", np.float64),
               ("sat", np.int32), ("beam", np.int32), ("cqi", np.int8), ("sinr", np.float32),
               ("count", np.int32), ("delay", np.float32), ("delay_count", np.int32),
               ("ul_cqi", np.int8), ("ul_sinr", np.float32), ("ul_count", np.int32))
assert len(_RUN_FIELDS) == _N_RUN_COLUMNS

#: The files a :class:`SpooledView` writes in its folder (a name pattern).
RUN_FILES = "runs-*.bin"

#: Fields held narrower on disk than in memory (int64 there).
_WIDENED = ("handset", "count", "delay_count", "ul_count")

#: Buckets of a run's spooled view hold about this many chunks' worth of handset-steps
#: (all handsets x ``run.chunk_steps``; ``satsim.runner.spool_buckets``), so the number
#: of buckets grows with the duration and a bucket read back for its services stays a
#: small part of the link stage's chunk: ~12.5 B per handset-step of the bucket (view
#: and scheduler, measured at 1 s steps) against the chunk's ~470 (100,000 handsets).
BUCKET_CHUNKS = 1.0

#: Handset-hours of services per window when a spooled run's services' tables are
#: filed as its groups finish (``satsim.results.table_spool.ServiceSpool``): a window's
#: rows are sorted in memory at the end, ~0.9 KiB of tables per handset-hour with
#: every service on (measured 2026-12-05), so ~90 MiB of rows per window.
SERVICE_WINDOW_HANDSET_HOURS = 1e5


class SpooledView(CoverageViewBuilder):
    """A run's coverage view written to ``directory`` chunk by chunk, in buckets.

    Parameters
    ----------
    directory : path
        An existing, empty folder for the spool's files (the caller removes it).
    n_handsets : int
    buckets : list of numpy.ndarray of int
        Increasing handset indices per bucket, together every handset once.
        Buckets of whole Earth-fixed cells can run their services apart.
    n_rb : int, optional
        As for :class:`~satsim.scheduler.coverage_view.CoverageViewBuilder`.

    owned : bool
        ``directory`` was made for this spool: :meth:`close` removes it too.

    Feed it with :meth:`add_chunk` (each :class:`satsim.link.LinkChunk` in
    order), then :meth:`finish`; :meth:`groups`, :meth:`view_of` and
    :meth:`simulate` read it back; :meth:`close` removes its files.
    """

    def __init__(self, directory, n_handsets: int, buckets, *, n_rb=None, owned: bool = False):
        super().__init__(n_rb=n_rb)
        self.directory = Path(directory)
        check_spool_folder(self.directory, (), (RUN_FILES,))  # would append, then remove
        self.owned = owned
        self.n_handsets = int(n_handsets)
        self.buckets = [_increasing_handsets(b, self.n_handsets, "SpooledView bucket")
                        for b in buckets]
        sizes = np.array([b.size for b in self.buckets], dtype=np.int64)
        every = np.concatenate(self.buckets) if self.buckets else np.empty(0, np.int64)
        if every.size != self.n_handsets or np.unique(every).size != self.n_handsets:
            raise InputError(f"SpooledView: the buckets must hold handsets "
                             f"0..{self.n_handsets - 1}, each once")
        self._bucket_of = np.empty(self.n_handsets, dtype=np.int64)
        self._bucket_of[every] = np.repeat(np.arange(len(self.buckets), dtype=np.int64), sizes)
        self.runs_written = np.zeros(len(self.buckets), dtype=np.int64)
        self.bytes_written = 0
        self._pairs = np.empty(0, dtype=np.int64)  # beam number x n_buckets + bucket, unique
        self._dtype = None
        self._span = None
        self.groups_run = 0  #: groups of buckets the last simulate() ran

    def close(self) -> None:
        """Remove the spool's files (only those it wrote), and its folder if ``owned``
        (made for it) and then empty."""
        files = [self._path(k) for k in range(len(self.buckets))]
        self.runs_written[:] = 0
        if self.owned:
            remove_own_files(self.directory, files)
        else:
            for f in files:
                f.unlink(missing_ok=True)

    def _path(self, k: int) -> Path:
        return self.directory / f"runs-{k:05d}.bin"

    def _keep(self, runs) -> None:
        """Write one chunk's runs to their buckets' files (chunk order kept within
        each bucket) and note the beam numbers each bucket uses."""
        runs = list(runs)
        if not runs:
            return
        cols = [None if runs[0][k] is None else np.concatenate([r[k] for r in runs])
                for k in range(_N_RUN_COLUMNS)]
        n = cols[0].size
        if n == 0:
            return
        if self._dtype is None:
            self._dtype = np.dtype([(name, t) for (name, t), c in zip(_RUN_FIELDS, cols)
                                    if c is not None])
        bucket = self._bucket_of[cols[0]]
        order = np.argsort(bucket, kind="stable")  # each bucket's runs keep their order
        rec = np.empty(n, dtype=self._dtype)
        for (name, _), c in zip(_RUN_FIELDS, cols):
            if c is not None:
                rec[name] = c[order]  # int64 -> int32: handsets < 2^31, counts <= chunk steps
        bucket = bucket[order]
        nb = len(self.buckets)
        self._pairs = np.union1d(self._pairs, rec["beam"].astype(np.int64) * nb + bucket)
        bounds = np.searchsorted(bucket, np.arange(nb + 1))
        for k in np.flatnonzero(np.diff(bounds)):
            a, b = bounds[k], bounds[k + 1]
            with open(self._path(int(k)), "ab") as f:
                rec[a:b].tofile(f)
            self.runs_written[k] += b - a
        self.bytes_written += rec.nbytes

    def finish(self) -> None:
        """Write the last chunk's runs; the spool can be read after this."""
        self._span = self._close()

    def groups(self, config: SchedulerConfig | None = None) -> list[np.ndarray]:
        """Buckets whose services must run together, as arrays of bucket numbers in
        increasing order, groups ordered by their first bucket: buckets linked
        through a beam number they both use; all of them in one group when
        ``config`` cannot be split (:func:`~satsim.scheduler.parts.split_reason`)."""
        nb = len(self.buckets)
        if split_reason(config) is not None or nb <= 1:
            return [np.arange(nb)]
        beam, bucket = np.divmod(self._pairs, nb)
        _, beam_node = np.unique(beam, return_inverse=True)
        n = nb + int(beam_node.max(initial=-1)) + 1
        graph = coo_matrix((np.ones(bucket.size, dtype=np.int8), (bucket, nb + beam_node)),
                           shape=(n, n))
        _, label = connected_components(graph, directed=False)
        label = label[:nb]
        _, first = np.unique(label, return_index=True)
        return [np.flatnonzero(label == label[f]) for f in np.sort(first)]

    def handsets_of(self, group) -> np.ndarray:
        """The handsets of a group of buckets, increasing."""
        return np.sort(np.concatenate([self.buckets[k] for k in group]))

    def view_of(self, group) -> CoverageView:
        """The view of a group of buckets' handsets, numbered as in the run (the
        other handsets have no runs): ``view.of_handsets(handsets_of(group))`` of
        the whole run's view, array for array."""
        if self._span is None:
            raise InputError("SpooledView: finish() the spool before reading it")
        recs = [np.fromfile(self._path(int(k)), dtype=self._dtype)
                for k in group if self.runs_written[k]]
        parts = []
        if recs:
            rec = np.concatenate(recs) if len(recs) > 1 else recs[0]
            del recs
            names = self._dtype.names
            parts = [[None if name not in names else
                      rec[name].astype(np.int64) if name in _WIDENED else
                      np.ascontiguousarray(rec[name]) for name, _ in _RUN_FIELDS]]
            del rec
        t_first, t_last = self._span
        return view_of_runs(parts, self.n_handsets, t_first, t_last, self._epoch,
                            self._has_delay, self.n_rb)

    def simulate(self, config: SchedulerConfig | None = None, seed: int = 0, *,
                 sink: Callable[[SchedulerResult, int], None] | None = None
                 ) -> SchedulerResult | None:
        """The run's services, one group of buckets at a time (:meth:`groups`): the
        same result, table for table, as :func:`~satsim.scheduler.simulate` of the
        whole view.

        With ``sink``, each group's result goes to ``sink(result, n_groups)`` as
        soon as it is simulated, in group order, and nothing is returned (e.g.
        ``satsim.results.table_spool.ServiceSpool.add``, which files the rows as
        :func:`~satsim.scheduler.parts.joined` would join them): memory then holds
        one group's result, not the run's."""
        groups = self.groups(config)
        self.groups_run = len(groups)
        if len(groups) == 1:
            whole = simulate(self.view_of(groups[0]), config, seed)
            if sink is None:
                return whole
            sink(whole, 1)
            return None
        results = []
        for g in groups:
            r = simulate(self.view_of(g), config, seed, handsets=self.handsets_of(g))
            if sink is None:
                results.append(r)
            else:
                sink(r, len(groups))
        return joined(results) if sink is None else None
