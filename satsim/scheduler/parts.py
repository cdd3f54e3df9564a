"""The scheduler in independent parts: handsets that never share a beam.

Every resource the services contend for belongs to one beam (``(sat, beam)``:
its SMS RBs, RACH, paging, voice calls and data share,
:mod:`satsim.scheduler.resources`), every random draw of the traffic is keyed
by handset block, not by the order in which the simulation asks for it
(:mod:`satsim.scheduler.arrivals`), and a handset's processes read only its
own runs. So two sets of handsets whose runs never touch a common beam do not
interact at all: simulated apart, each gives exactly the rows it gives in the
whole run. SimPy orders events of one instant by insertion, and the events of
one part are inserted in the same relative order whether or not another part's
are interleaved with them, so even ties resolve the same way; its timeouts go
to absolute instants (:class:`satsim.scheduler.arrivals.Environment`), so an
instant does not depend on which event scheduled it. The one process the
parts share in the whole run is each service's source, which wakes at every
arrival: a drawn arrival time (continuous) never coincides with another event
of its part, but an explicit table's could, which is why :func:`simulate_parts`
takes drawn traffic only.

The parts are unions of the connected components of the graph that links each
handset to every beam of its runs (:func:`beam_groups`). With the Earth-fixed
cell model a beam serves one cell, so a component is a cell's handsets (the
national scenario's ~100,000 phones fall into ~34,000 of them); with beams
fixed on the satellite a beam sweeps over many handsets and the components
merge, often into one: then there is one part, the whole run.

Two options draw from one stream in the order the simulation asks
(``sms.service_time = "exponential"`` and ``sms.failure_prob > 0``): a
part's draws would then differ from the whole run's, so :func:`split_reason`
names them and :func:`simulate_parts` runs the whole view instead.

:func:`joined` merges the parts' results into the whole run's: every table's
rows in the order the whole run gives them (SMS by arrival time, direction and
handset; calls, sessions and app calls by arrival time and handset; beams by
``(sat, beam)``), ids renumbered. Tested equal, table for table, to
:func:`satsim.scheduler.simulate` of the whole view (tests/test_scheduler_parts.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import InputError
from .config import SchedulerConfig
from .coverage_view import CoverageView
from .model import SchedulerResult, simulate
from .sms import DIRECTIONS

#: The tables of a SchedulerResult besides the SMS events that list arrivals: the
#: whole run orders them by arrival time, then handset (``model._by_time``).
_ARRIVAL_TABLES = ("calls", "sessions", "app_calls")


def beam_groups(view: CoverageView) -> np.ndarray:
    """The component of every handset (int64, ``(view.n_handsets,)``, labels
    0..k-1): handsets linked, directly or through others, by a beam of their
    runs share a label; a handset without runs is a component of its own."""
    nh = view.n_handsets
    if view.n_runs == 0:
        return np.arange(nh, dtype=np.int64)
    handset = np.repeat(np.arange(nh, dtype=np.int64), np.diff(view.offsets))
    key = view.sat.astype(np.int64) * (int(view.beam.max()) + 1) + view.beam
    # one edge per stay on a beam (a handset's next run is mostly on the same beam)
    new = np.ones(key.size, dtype=bool)
    new[1:] = (key[1:] != key[:-1]) | (handset[1:] != handset[:-1])
    h = handset[new]
    beams, b = np.unique(key[new], return_inverse=True)
    n = nh + beams.size
    graph = coo_matrix((np.ones(h.size, dtype=np.int8), (h, nh + b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels[:nh], return_inverse=True)
    return first.astype(np.int64)


def split_handsets(view: CoverageView, n_parts: int) -> list[np.ndarray]:
    """At most ``n_parts`` sets of handsets (sorted int64 arrays, none empty, every
    handset in one) that share no beam, balanced by their number of runs:
    whole components (:func:`beam_groups`), the largest first, each to the part
    with the fewest runs so far."""
    if isinstance(n_parts, bool) or int(n_parts) != n_parts or n_parts < 1:
        raise InputError(f"n_parts must be a whole number >= 1, got {n_parts!r}")
    nh = view.n_handsets
    if n_parts == 1 or nh <= 1:
        return [np.arange(nh, dtype=np.int64)]
    group = beam_groups(view)
    runs = np.bincount(group, weights=np.diff(view.offsets), minlength=int(group.max()) + 1)
    # ~1 run of weight for a handset without runs: its arrivals are work too
    owner = balanced_bins(runs + np.bincount(group), int(n_parts))[group]
    parts = [np.flatnonzero(owner == p) for p in range(int(n_parts))]
    return [p for p in parts if p.size]


def balanced_bins(weight: np.ndarray, n_bins: int) -> np.ndarray:
    """The bin (0..n_bins-1) of each item: the heaviest first, each to the bin with
    the least weight so far (ties: the lower bin): longest-processing-time first,
    within 4/3 of the best split (Graham 1969)."""
    heap = [(0.0, b) for b in range(n_bins)]
    bins = np.empty(len(weight), dtype=np.int64)
    for i in np.argsort(-np.asarray(weight, dtype=np.float64), kind="stable").tolist():
        load, b = heapq.heappop(heap)
        bins[i] = b
        heapq.heappush(heap, (load + float(weight[i]), b))
    return bins


def view_part(view: CoverageView, handsets: np.ndarray) -> CoverageView:
    """The view of ``handsets`` only (:meth:`CoverageView.of_handsets`)."""
    return view.of_handsets(handsets)


def split_reason(config: SchedulerConfig | None) -> str | None:
    """Why ``config``'s run cannot be split into parts (module docstring), or None."""
    sms = (config or SchedulerConfig()).sms
    if sms.service_time == "exponential":
        return "sms.service_time 'exponential' draws from one stream in simulation order"
    if sms.failure_prob > 0.0:
        return "sms.failure_prob > 0 draws from one stream in simulation order"
    return None


def order_keys(name: str) -> Callable[[pd.DataFrame], tuple]:
    """The whole run's order of the :class:`SchedulerResult` table ``name``
    (``events``, ``beams``, ``calls``, ``sessions``, ``app_calls``): a function
    giving a table's ``np.lexsort`` keys, the last one primary (module docstring).
    :data:`PRIMARY_KEY` names each table's primary column."""
    if name == "events":
        mo = DIRECTIONS[0]
        return lambda t: (t["handset"].to_numpy(),
                          np.where(t["direction"].to_numpy() == mo, 0, 1),
                          t["t_arrival_s"].to_numpy())
    if name == "beams":
        return lambda t: (t["beam"].to_numpy(), t["sat"].to_numpy())
    if name in _ARRIVAL_TABLES:
        return lambda t: (t["handset"].to_numpy(), t["t_arrival_s"].to_numpy())
    raise KeyError(f"no scheduler table {name!r}")


#: The column each table's order (:func:`order_keys`) sorts on first.
PRIMARY_KEY = {"events": "t_arrival_s", "beams": "sat",
               **{name: "t_arrival_s" for name in _ARRIVAL_TABLES}}

#: The tables of a :class:`SchedulerResult` (attribute names; None: a service off).
RESULT_TABLES = ("events", "beams", *_ARRIVAL_TABLES)


def ordered(tables: list[pd.DataFrame], name: str, id_start: int = 0) -> pd.DataFrame:
    """The rows of ``tables`` (each in its own run's order) in the whole run's order
    of table ``name``: a stable sort on :func:`order_keys`, ``id`` renumbered from
    ``id_start`` if there is one."""
    t = pd.concat(tables, ignore_index=True)
    t = t.iloc[np.lexsort(order_keys(name)(t))].reset_index(drop=True)
    if "id" in t:
        t["id"] = np.arange(id_start, id_start + len(t), dtype=np.int64)
    return t


def joined(results: Sequence[SchedulerResult]) -> SchedulerResult:
    """One :class:`SchedulerResult` from those of parts of one run (same view span,
    configuration and seed; handsets sharing no beam): the whole run's tables."""
    if not results:
        raise ValueError("joined needs at least one part")
    first = results[0]
    if len(results) == 1:
        return first
    tables = {}
    for name in RESULT_TABLES:
        parts = [getattr(r, name) for r in results]
        tables[name] = None if parts[0] is None else ordered(parts, name)
    return SchedulerResult(start_s=first.start_s, end_s=first.end_s, seed=first.seed,
                           config=first.config, uplink_modelled=first.uplink_modelled,
                           **tables)


def simulate_parts(view: CoverageView, config: SchedulerConfig | None = None, seed: int = 0,
                   *, n_parts: int = 2, map_parts: Callable | None = None
                   ) -> SchedulerResult:
    """:func:`~satsim.scheduler.simulate` of ``view`` run as up to ``n_parts``
    independent parts (module docstring): the same result, table for table.

    ``map_parts(fn, args)`` runs ``fn(*a)`` for each ``a`` in ``args`` and
    returns the results in order (default: one after the other here; e.g.
    ``satsim.distributed.map_parts_on(client)`` runs them on a Dask cluster).
    A configuration that cannot be split (:func:`split_reason`) runs whole.
    """
    if split_reason(config) is not None:
        n_parts = 1
    handsets = split_handsets(view, n_parts)
    if len(handsets) == 1:
        return simulate(view, config, seed)
    args = [(view_part(view, h), config, seed, h) for h in handsets]
    run = map_parts or (lambda fn, items: [fn(*a) for a in items])
    return joined(run(simulate_part, args))


def simulate_part(view: CoverageView, config: SchedulerConfig | None, seed: int,
                  handsets: np.ndarray) -> SchedulerResult:
    """One part of a run: :func:`~satsim.scheduler.simulate` with the traffic of
    ``handsets`` only (``view``: :func:`view_part`)."""
    return simulate(view, config, seed, handsets=handsets)
