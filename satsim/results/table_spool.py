"""Tables of a run kept on disk as they grow (``run.spool``).

The gaps and handovers of a run grow with the simulated time (at 1 s steps and
100,000 phones, ~10 M gaps and ~27 M handovers per simulated hour). With
``run.spool`` the running statistics (:class:`satsim.results.summary.LinkStats`)
write them to a folder as the chunks arrive instead of holding them:

* **handovers** come chunk after chunk in the table's order (time, then
  handset), so each chunk's rows are appended to ``handovers.parquet`` as a row
  group (:class:`ParquetAppender`);
* **gaps** are found chunk after chunk but the table is ordered by handset,
  then start: each chunk's gaps go to the file of their handsets' range
  (:class:`GapSpool`), and at the end each range, in handset order, is sorted
  and appended to ``gaps.parquet``; the handsets table's per-handset gap
  counts and longest gaps, and the summary's counts and duration percentiles
  are taken on the way (percentiles exact, :func:`exact_percentiles`).

The services' tables (SMS, calls, sessions, app calls, beams) come from the
scheduler group by group (``satsim.scheduler.spool.SpooledView.simulate``
with a sink): :class:`ServiceSpool` files each group's rows by window of the
table's first sort key and sorts window after window at the end.

The tables are then read from those files when asked for
(:class:`SpooledTables`). The same rows as the run in memory (tested); only
the files' row groups differ. The ``samples`` and ``timeseries`` tables grow
with the steps only (a row per step, and per step and sampled handset) and
stay in memory.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._atomic import check_spool_folder, remove_own_files

#: One spooled gap on disk: handset, first unserved sample, first served sample
#: after it, and the service edges at each (seconds before the sample; NaN: midpoint).
GAP_RECORD = np.dtype([("h", np.int64), ("s", np.int64), ("e", np.int64),
                       ("es", np.float64), ("ee", np.float64)])

#: Bins of the exact percentiles' first pass: the top 20 bits of each value's
#: order-preserving 64-bit key (sign, exponent, 8 bits of mantissa).
_KEY_SHIFT = 44


class ParquetAppender:
    """Rows appended to one Parquet file, a row group per :meth:`append` (the
    first frame fixes the schema); :meth:`close` writes the footer (an empty
    table of ``empty`` if nothing was appended)."""

    def __init__(self, path, empty: Callable[[], pd.DataFrame]):
        self.path = Path(path)
        self.rows = 0
        self._empty = empty
        self._writer = None
        self._schema = None

    def append(self, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, self._schema)
        self._writer.write_table(table)
        self.rows += len(df)

    def abort(self) -> None:
        """Stop writing (a failed run): the file is left for the caller to remove."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> Path:
        if self._writer is None:
            self._empty().to_parquet(self.path, index=False)
        else:
            self._writer.close()
            self._writer = None
        return self.path


def remove_spool(folder, names: Iterable[str], patterns: Iterable[str] = ()) -> None:
    """Remove the named files and those matching ``patterns`` from a spool folder
    satsim made, then the folder if it is empty (a failed run's spool)."""
    folder = Path(folder)
    files = [folder / n for n in names] + [p for pat in patterns for p in folder.glob(pat)]
    remove_own_files(folder, files)


class GapSpool:
    """Gaps (:data:`GAP_RECORD`) filed by handset range, ``range_handsets`` handsets
    per file, in ``folder``; :meth:`ranges` reads them back range by range (the
    caller sorts each into the gaps table), :meth:`close` removes the files."""

    def __init__(self, folder, n_handsets: int, range_handsets: int):
        self.folder = Path(folder)
        self.n_handsets = int(n_handsets)
        self.range_handsets = max(1, int(range_handsets))
        self.n_ranges = max(1, math.ceil(self.n_handsets / self.range_handsets))

    def _path(self, k: int) -> Path:
        return self.folder / f"gaps-{k:05d}.bin"

    def add(self, found: Iterable[tuple]) -> None:
        """File gaps ``(handsets, start, end, start_edge, end_edge)`` arrays."""
        for h, s, e, es, ee in found:
            if not len(h):
                continue
            rec = np.empty(len(h), dtype=GAP_RECORD)
            rec["h"], rec["s"], rec["e"], rec["es"], rec["ee"] = h, s, e, es, ee
            k = rec["h"] // self.range_handsets
            order = np.argsort(k, kind="stable")
            rec, k = rec[order], k[order]
            bounds = np.searchsorted(k, np.arange(self.n_ranges + 1))
            for r in np.flatnonzero(np.diff(bounds)):
                with open(self._path(int(r)), "ab") as f:
                    rec[bounds[r]:bounds[r + 1]].tofile(f)

    def ranges(self, still: tuple) -> Iterator[tuple]:
        """Each handset range's gaps, ranges in handset order: the filed gaps and
        those of ``still`` (the gaps open at the end, the same five arrays) in the
        range, as five arrays, filed order (the caller sorts)."""
        h_open = still[0]
        cut = np.searchsorted(h_open, np.arange(self.n_ranges + 1) * self.range_handsets)
        for k in range(self.n_ranges):
            p = self._path(k)
            rec = np.fromfile(p, dtype=GAP_RECORD) if p.exists() else np.empty(0, GAP_RECORD)
            a, b = cut[k], cut[k + 1]
            yield tuple(np.concatenate([rec[f], x[a:b]])
                        for f, x in zip(("h", "s", "e", "es", "ee"), still))

    def close(self) -> None:
        """Remove the range files (only those this spool writes)."""
        for k in range(self.n_ranges):
            self._path(k).unlink(missing_ok=True)


def order_key(x: np.ndarray) -> np.ndarray:
    """uint64 keys in the order of the float64 values ``x`` (no NaN): the bits, with
    the sign bit flipped for non-negative values and every bit for negative ones."""
    b = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    return np.where(b >> np.uint64(63), ~b, b | np.uint64(1 << 63))


class _Histogram:
    """Counts, minimum and maximum of values per top-bits bin of :func:`order_key`."""

    def __init__(self):
        n = 1 << (64 - _KEY_SHIFT)
        self.count = np.zeros(n, dtype=np.int64)
        self.lo = np.full(n, np.inf)
        self.hi = np.full(n, -np.inf)

    def add(self, x: np.ndarray) -> None:
        if not x.size:
            return
        b = (order_key(x) >> np.uint64(_KEY_SHIFT)).astype(np.int64)
        self.count += np.bincount(b, minlength=self.count.size)
        np.minimum.at(self.lo, b, x)
        np.maximum.at(self.hi, b, x)


def exact_percentiles(batches: Callable[[], Iterable[np.ndarray]], qs) -> dict:
    """``{q: np.percentile(values, q)}`` (numpy's default linear method, the same
    float64 value) of the values ``batches()`` yields, without holding them: a
    first pass counts them in :func:`order_key` bins (and each bin's minimum and
    maximum); an order statistic in a bin of equal values is read off it, others
    come from a second pass over that bin's values alone. ``batches`` is called
    once or twice. Values must not be NaN; no values: every q None."""
    hist = _Histogram()
    for x in batches():
        hist.add(np.asarray(x, dtype=np.float64))
    n = int(hist.count.sum())
    if n == 0:
        return {q: None for q in qs}
    below = np.cumsum(hist.count) - hist.count
    where = {}  # rank -> (bin, rank in bin)
    pos = {}
    for q in qs:
        v = (n - 1) * np.true_divide(q, 100)  # numpy's virtual index
        lo = int(np.floor(v))
        hi = min(lo + 1, n - 1)
        pos[q] = (lo, hi, v - lo)
        for r in (lo, hi):
            b = int(np.searchsorted(below, r, side="right")) - 1
            where[r] = (b, r - int(below[b]))
    value = {r: hist.lo[b] for r, (b, _) in where.items() if hist.lo[b] == hist.hi[b]}
    need = {b for r, (b, _) in where.items() if r not in value}
    if need:
        found = {b: [] for b in need}
        for x in batches():
            x = np.asarray(x, dtype=np.float64)
            kb = (order_key(x) >> np.uint64(_KEY_SHIFT)).astype(np.int64)
            for b in need:
                found[b].append(x[kb == b])
        for r, (b, i) in where.items():
            if r not in value:
                value[r] = np.sort(np.concatenate(found[b]))[i]
    out = {}
    for q, (lo, hi, t) in pos.items():
        a, b = np.float64(value[lo]), np.float64(value[hi])
        d = b - a  # numpy's _lerp
        out[q] = float(b - d * (1 - t) if t >= 0.5 else a + d * t)
    return out


class SpooledTables(MutableMapping):
    """A run's tables, some in memory, some in Parquet files read when asked for
    (:meth:`path_of`). With ``folder`` (a temporary folder made for the files),
    the files are removed when the mapping is garbage-collected, at exit
    (``weakref.finalize``) or by :meth:`reading_from`: only the files named
    here, and the folder only if then empty. Without it nothing is ever removed
    (e.g. the files of a results folder)."""

    def __init__(self, frames: dict, files: dict, folder=None, order=None):
        self._frames = dict(frames)
        self._files = {k: Path(v) for k, v in files.items()}
        self._order = list(order) if order is not None else [*self._frames, *self._files]
        self.folder = None if folder is None else Path(folder)
        self._owned = list(self._files.values())  # the finalizer removes these
        self._cleanup = (None if folder is None else weakref.finalize(
            self, remove_own_files, self.folder, self._owned))

    def reading_from(self, tables_dir) -> SpooledTables:
        """The same tables read from ``tables_dir`` (``<name>.parquet``, e.g. the
        results folder they were written to); this mapping's own files are removed."""
        files = {k: Path(tables_dir) / f"{k}.parquet" for k in self._files}
        out = SpooledTables(self._frames, files, None, self._order)
        if self._cleanup is not None:
            self._cleanup()
        return out

    def add_file(self, name: str, path) -> None:
        """A table read from ``path`` (in place of one of that name); with a
        ``folder``, the file is removed with the others."""
        self._frames.pop(name, None)
        self._files[name] = Path(path)
        self._owned.append(Path(path))
        if name not in self._order:
            self._order.append(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in self._frames:
            return self._frames[name]
        if name in self._files:
            return pd.read_parquet(self._files[name])
        raise KeyError(name)

    def __setitem__(self, name: str, df: pd.DataFrame) -> None:
        """A table in memory (in place of a file's, if there was one)."""
        self._files.pop(name, None)
        self._frames[name] = df
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._frames.pop(name, None)
        self._files.pop(name, None)
        self._order.remove(name)

    def __iter__(self):
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._frames) + len(self._files)

    def __contains__(self, name) -> bool:
        return name in self._frames or name in self._files

    def path_of(self, name: str) -> Path | None:
        """The Parquet file a table is read from, or None (in memory)."""
        return self._files.get(name)


#: The services' tables as a run's results name them, from the
#: :class:`~satsim.scheduler.SchedulerResult` attribute each comes from.
SERVICE_TABLES = {"sms": "events", "calls": "calls", "sessions": "sessions",
                  "app_calls": "app_calls", "beams": "beams"}

#: What a :class:`ServiceSpool` writes in its folder: file names, name patterns.
SERVICE_SPOOL_FILES = (tuple(f"{n}.parquet" for n in SERVICE_TABLES),
                       tuple(f"{n}-w*.parquet" for n in SERVICE_TABLES))

#: At most this many windows (each table keeps one file open per window).
MAX_WINDOWS = 64


def service_windows(handset_hours: float) -> int:
    """How many windows a :class:`ServiceSpool` files a run's rows in:
    ``satsim.scheduler.spool.SERVICE_WINDOW_HANDSET_HOURS`` each, 1 to
    :data:`MAX_WINDOWS`."""
    from ..scheduler.spool import SERVICE_WINDOW_HANDSET_HOURS

    return int(min(MAX_WINDOWS, max(1, math.ceil(handset_hours
                                                  / SERVICE_WINDOW_HANDSET_HOURS))))


class ServiceSpool:
    """The services' tables of a run simulated in groups
    (``satsim.scheduler.spool.SpooledView.simulate(sink=...)``), kept on disk as
    the groups finish: the same rows, in the same order, as
    :func:`satsim.scheduler.parts.joined` gives in memory.

    Each group's rows go to one file per table and window (:meth:`add`): the
    windows split each table's primary key (:data:`satsim.scheduler.parts.
    PRIMARY_KEY`: arrival time over the run's span, or satellite) into
    ``windows`` ranges (``n_satellites``: the run's), so a window holds every
    row of its key range, in group order. :meth:`finish` then sorts window after
    window (the stable sort of ``joined``, ids renumbered on from the windows
    before) into ``<table>.parquet`` and returns the summary's columns read
    back (:data:`satsim.scheduler.model.SUMMARY_COLUMNS`). A run of one group is
    written as it comes (``joined`` leaves a single result as it is).

    ``folder`` is the run's (``LinkStats``' spool folder); the spool writes,
    and removes, only ``<table>.parquet`` and ``<table>-w*.parquet``."""

    def __init__(self, folder, n_satellites: int, windows: int = 1):
        self.folder = Path(folder)
        check_spool_folder(self.folder, *SERVICE_SPOOL_FILES)
        self.n_satellites = max(1, int(n_satellites))
        self.windows = max(1, int(windows))
        self.n_groups = None
        self._first = None
        self._open = {}

    def _window_path(self, name: str, k: int) -> Path:
        return self.folder / f"{name}-w{k:05d}.parquet"

    def _window_of(self, attr: str, table: pd.DataFrame) -> np.ndarray:
        """Each row's window (int64), from its primary key."""
        from ..scheduler.parts import PRIMARY_KEY

        key = table[PRIMARY_KEY[attr]].to_numpy()
        if PRIMARY_KEY[attr] == "sat":
            k = key.astype(np.int64) * self.windows // self.n_satellites
        else:   # arrival times over the run's span
            start, span = self._first.start_s, self._first.end_s - self._first.start_s
            x = (key - start) / span if span > 0 else np.zeros(key.size)
            k = np.floor(np.nan_to_num(x * self.windows)).astype(np.int64)
        return np.clip(k, 0, self.windows - 1)

    def add(self, result, n_groups: int) -> None:
        """File one group's result (groups in the order the whole run joins them)."""
        if self.n_groups is None:   # the run's span, seed, ...: the first result's, no rows
            self.n_groups = int(n_groups)
            self._first = dataclasses.replace(result, **{
                attr: getattr(result, attr).iloc[:0].copy()
                for attr in SERVICE_TABLES.values() if getattr(result, attr) is not None})
        elif int(n_groups) != self.n_groups:
            raise ValueError(f"ServiceSpool: a run of {self.n_groups} groups got a result "
                             f"of a run of {n_groups}")
        for name, attr in SERVICE_TABLES.items():
            table = getattr(result, attr)
            if table is None or not len(table):
                continue
            if self.n_groups == 1:
                self._appender(name, 0).append(table)
                continue
            k = self._window_of(attr, table)
            order = np.argsort(k, kind="stable")
            bounds = np.searchsorted(k[order], np.arange(self.windows + 1))
            for w in np.flatnonzero(np.diff(bounds)):
                rows = order[bounds[w]:bounds[w + 1]]
                self._appender(name, int(w)).append(table.iloc[rows])

    def _appender(self, name: str, k: int) -> ParquetAppender:
        key = (name, k)
        if key not in self._open:
            self._open[key] = ParquetAppender(self._window_path(name, k), lambda: getattr(
                self._first, SERVICE_TABLES[name]))
        return self._open[key]

    def finish(self, keep=None):
        """Sort the windows into one file per table; returns ``(result, files)``: a
        :class:`~satsim.scheduler.SchedulerResult` holding the summary's columns
        only (:data:`~satsim.scheduler.model.SUMMARY_COLUMNS`; its ``summary()``
        is the whole run's) and ``{table: path}`` of the tables in ``keep``
        (results names, default all), the others' files removed."""
        from ..scheduler.model import SUMMARY_COLUMNS
        from ..scheduler.parts import ordered

        if self._first is None:
            raise ValueError("ServiceSpool.finish: no group was added")
        keep = set(SERVICE_TABLES if keep is None else keep)
        light, files = {}, {}
        for name, attr in SERVICE_TABLES.items():
            if getattr(self._first, attr) is None:
                light[attr] = None
                continue
            final = self.folder / f"{name}.parquet"
            out = ParquetAppender(final, lambda a=attr: getattr(self._first, a))
            id_start = 0
            for k in range(self.windows):
                w = self._open.pop((name, k), None)
                if w is None:
                    continue
                path = w.close()
                df = pd.read_parquet(path)
                if self.n_groups > 1:
                    df = ordered([df], attr, id_start)
                id_start += len(df)
                out.append(df)
                path.unlink()
            out.close()
            columns = pq.read_schema(final).names
            light[attr] = pd.read_parquet(final, columns=[
                c for c in SUMMARY_COLUMNS[attr] if c in columns])
            if name in keep:
                files[name] = final
            else:
                final.unlink()
        return dataclasses.replace(self._first, **light), files

    def discard(self) -> None:
        """Remove every file this spool wrote (a failed run), then the folder if
        that left it empty."""
        for w in self._open.values():
            w.abort()
        self._open.clear()
        remove_spool(self.folder, *SERVICE_SPOOL_FILES)
