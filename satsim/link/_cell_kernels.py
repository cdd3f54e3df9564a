"""Numba kernels of Earth-fixed cells, on plain arrays (see ``satsim.link.cells``).

``assign_cells`` chooses, step by step, the satellite whose beam serves each
cell: the highest-elevation satellite above the mask with a free beam, kept
while it stays usable (sticky), re-evaluated every ``reeval_steps`` steps with
an elevation hysteresis, and never more than ``max_beams`` cells per satellite.
"""

from __future__ import annotations

import numpy as np

from .._jit import njit

#: Reasons a cell has no serving beam at a step.
CELL_SERVED = 0
CELL_NO_SATELLITE = 1
CELL_NO_BEAM = 2


@njit
def _elevation_of(offsets, link_sat, link_elev_deg, k0, k1, sat):
    """Elevation of ``sat`` among links ``k0:k1``, degrees; -inf if absent."""
    for k in range(k0, k1):
        if link_sat[k] == sat:
            return link_elev_deg[k]
    return -np.inf


@njit
def assign_cells(offsets, link_sat, link_elev_deg, order, nsat, min_elev_deg, max_beams,
                 hysteresis_deg, reeval_steps, step0, state_sat, out_sat, out_reason):
    """Serving satellite of every cell at every step of a chunk.

    ``offsets`` is the CSR over (t, cell) of the links from cell centres
    (``satsim.orbits.visible_links`` with the centres as ground points):
    ``link_sat`` and ``link_elev_deg`` per link. ``order`` lists the cells by
    priority (busiest first): a cell keeps its satellite first (in that order),
    then cells without one take the highest free satellite (in that order).

    At a re-evaluation step (``(step0 + t) % reeval_steps == 0``) a cell leaves
    its satellite when another above the mask is more than ``hysteresis_deg``
    higher. ``state_sat`` (per cell, -1 none) carries the choice across chunks
    and is updated in place. Writes ``out_sat[t, c]`` (-1: none) and
    ``out_reason[t, c]`` (CELL_SERVED, CELL_NO_SATELLITE, or CELL_NO_BEAM when
    every satellite in view already has ``max_beams`` cells).
    """
    nt, ncell = out_sat.shape
    load = np.zeros(nsat, dtype=np.int64)
    for t in range(nt):
        load[:] = 0
        reeval = reeval_steps <= 1 or (step0 + t) % reeval_steps == 0
        for c in range(ncell):
            out_sat[t, c] = -1
        # pass 1: keep the current satellite where it still serves
        for n in range(ncell):
            c = order[n]
            cur = state_sat[c]
            if cur < 0:
                continue
            k0, k1 = offsets[t * ncell + c], offsets[t * ncell + c + 1]
            e_cur = _elevation_of(offsets, link_sat, link_elev_deg, k0, k1, cur)
            if e_cur < min_elev_deg or load[cur] >= max_beams:
                continue
            if reeval:
                e_best = -np.inf
                for k in range(k0, k1):
                    if link_elev_deg[k] >= min_elev_deg and link_elev_deg[k] > e_best:
                        e_best = link_elev_deg[k]
                if e_best > e_cur + hysteresis_deg:
                    continue
            out_sat[t, c] = cur
            load[cur] += 1
        # pass 2: the highest satellite with a free beam for the others
        for n in range(ncell):
            c = order[n]
            if out_sat[t, c] >= 0:
                out_reason[t, c] = CELL_SERVED
                continue
            k0, k1 = offsets[t * ncell + c], offsets[t * ncell + c + 1]
            best, e_best, seen = -1, -np.inf, False
            for k in range(k0, k1):
                e = link_elev_deg[k]
                if e < min_elev_deg:
                    continue
                seen = True
                s = link_sat[k]
                if load[s] < max_beams and e > e_best:
                    best, e_best = s, e
            if best >= 0:
                out_sat[t, c] = best
                load[best] += 1
                out_reason[t, c] = CELL_SERVED
            else:
                out_reason[t, c] = CELL_NO_BEAM if seen else CELL_NO_SATELLITE
        for c in range(ncell):
            state_sat[c] = out_sat[t, c]
