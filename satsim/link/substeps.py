"""Service between samples (``link.substep_s``, Earth-fixed cells).

A run sampled every ``step_s`` sees the link only at its samples. Between
two samples where a phone is served, by one satellite and then another, a
1 s run finds dips a 10 s run cannot: the sinking satellite's SINR crossing
the threshold before the cell leaves it, a few seconds with no satellite
before the next one is assigned, an interferer appearing as another cell
changes satellite (measured on the default: 204 of the 242 gaps shorter than
a 10 s step that a 1 s run sees lie around such a change).

With ``link.substep_s`` set (a divisor of the step):

* the cells choose their satellites on the fine grid (``step_s / substep_s``
  points per step; ``beams.reassign_interval_s`` counted on it), so the
  samples carry exactly the assignment a run at ``substep_s`` would;
* the satellites' states on the fine grid come from SGP4 at the samples and
  cubic Hermite between them (``orbits.propagation``: within millimetres at
  a 10 s step, 0.06 m at 30 s);
* every phone served at both ends of a step by two different satellites is
  evaluated at the step's fine points, with all the beams lit there (the
  same serving kernel, interference and tolerances as at the samples); the
  unserved fine points between the first and the last become the step's
  hole (``LinkChunk.hole_start_s`` / ``hole_end_s``), each edge at the
  midpoint between a served and an unserved fine point (within half a
  substep), replacing the two-satellite extrapolation of
  :func:`~satsim.link.timeline.coverage_holes_s`.

Left out: dips within a step where the serving satellite does not change
(38 of those 242: an interferer's cell changing satellite), which would need
every phone at every fine point; and the timing of a change of service at a
sample (served -> unserved), which stays the interpolation of
:func:`~satsim.link.timeline.service_edges_s`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import InputError
from ..orbits.propagation import Ephemeris, check_epoch_age, propagate
from ..orbits.timegrid import TimeGrid
from . import _cell_kernels as ck
from .timeline import SERVED


def substeps_in(step_s: float, substep_s: float | None) -> int:
    """Fine points per step of ``step_s`` for ``link.substep_s`` (1: off, also
    when the step is not longer than it). Raises InputError when it does not
    divide the step (the scenario's check at load, and the engine's)."""
    step = float(step_s)
    if substep_s is None or step <= substep_s * (1.0 + 1e-9):
        return 1
    n = round(step / substep_s)
    if abs(n * substep_s - step) > 1e-6 * step:
        raise InputError(
            f"link.substep_s ({substep_s:g} s) must divide step_s ({step:g} s) into whole "
            f"substeps, e.g. {step / math.ceil(step / substep_s):g} s, or null to evaluate at "
            "the samples only")
    return n


def substeps_per_step(substep_s: float | None, times: TimeGrid) -> int:
    """:func:`substeps_in` for the step of ``times``, which must then be uniform."""
    if len(times) < 2:
        return 1
    step = float(times.step_s)
    n = substeps_in(step, substep_s)
    if n == 1:
        return 1
    d = np.diff(times.offsets_s)
    if not np.allclose(d, step, rtol=0.0, atol=1e-6 * step):
        raise InputError("link.substep_s needs a uniform time grid (every step the same)")
    return n


def fine_ephemerides(constellation, times: TimeGrid, chunk_steps: int, n: int, *,
                     processes: int = 1, max_epoch_age_days: float | None = None):
    """Per chunk of ``chunk_steps`` samples: ``(coarse, fine, rows)``, the
    samples' ephemeris, the fine grid's (``n`` points per step, from the
    sample before the chunk's first, exclusive, to its last sample; from the
    run's first sample in the first chunk) and the fine rows of the samples.
    SGP4 at the samples (the knots), Hermite between them."""
    if max_epoch_age_days is not None:
        check_epoch_age(constellation, times, max_epoch_age_days)
    step = float(times.step_s)
    t = times.offsets_s
    for lo in range(0, len(times), int(chunk_steps)):
        hi = min(lo + int(chunk_steps), len(times))
        start = -(n - 1) if lo else 0
        fine_t = t[lo] + np.arange(start, (hi - 1 - lo) * n + 1) * (step / n)
        fine = propagate(constellation, TimeGrid(times.epoch, fine_t), processes=processes,
                         max_epoch_age_days=None, knot_step_s=step)
        rows = np.arange(hi - lo) * n - start
        yield _ephemeris_rows(fine, rows, times[lo:hi]), fine, rows


def _ephemeris_rows(eph: Ephemeris, rows: np.ndarray, times: TimeGrid) -> Ephemeris:
    """The states of ``eph`` at its time indices ``rows`` (``times``), contiguous."""
    return Ephemeris(eph.constellation, times,
                     np.ascontiguousarray(eph.position_km[:, rows]),
                     np.ascontiguousarray(eph.velocity_km_s[:, rows]),
                     np.ascontiguousarray(eph.status[:, rows]), eph.knot_step_s)


def changed_pairs(out, prev: tuple | None):
    """``(k, h)`` of the steps ending at sample ``k`` of the chunk where
    handset ``h`` is served at both ends by different satellites (``prev``:
    the previous chunk's last sample, ``(time, (served, sat, ...) rows)`` as
    ``HandoverState.last_hole_sample``, or None)."""
    served, sat = out.status == SERVED, out.sat
    if prev is None:
        change = served[:-1] & served[1:] & (sat[:-1] != sat[1:])
        kk, hh = np.nonzero(change)
        return kk + 1, hh
    both = np.vstack([prev[1][0], served])
    sats = np.vstack([prev[1][1], sat])
    change = both[:-1] & both[1:] & (sats[:-1] != sats[1:])
    return np.nonzero(change)


#: Fine points evaluated together (a batch of steps): bounds the memory of the
#: beams lit at them (~35,000 cells over CONUS, ~100 bytes per beam and point).
BATCH_POINTS = 48


def refine_holes(fine, rows, assigned, n, handsets, config, prepared, draws, cells,
                 kk, hh, hole_start, hole_end) -> None:
    """Evaluate the pairs ``(kk, hh)`` (:func:`changed_pairs`) at the fine
    points of their steps and write their holes into ``hole_start`` /
    ``hole_end`` (seconds before sample ``k``; NaN: no dip), in place.
    ``assigned``: the cells' ``(cell_sat, reason)`` on the fine grid."""
    hole_start[kk, hh] = np.nan
    hole_end[kk, hh] = np.nan
    steps = np.unique(kk)
    per_batch = max(1, BATCH_POINTS // (n - 1))
    for b in range(0, steps.size, per_batch):
        mine = np.isin(kk, steps[b:b + per_batch])
        _refine_batch(fine, rows, assigned, n, handsets, config, prepared, draws, cells,
                      kk[mine], hh[mine], hole_start, hole_end)


def _refine_batch(fine, rows, assigned, n, handsets, config, prepared, draws, cells,
                  kk, hh, hole_start, hole_end) -> None:
    """:func:`refine_holes` for the pairs of a few steps."""
    from .cell_engine import serve_cells_chunk
    from .engine import (LinkGeometry, LinkOutputs, _check_doppler_rate, link_losses_db,
                         visible_links_for)
    from .losses import ChannelDraws

    inner = np.arange(n - 1, 0, -1)                       # fine rows before a sample
    pair_rows = rows[kk][:, None] - inner[None, :]         # (npairs, n - 1)
    R = np.unique(pair_rows)
    U = np.unique(hh)
    ri = np.searchsorted(R, pair_rows)
    ui = np.searchsorted(U, hh)
    want = np.zeros((R.size, U.size), dtype=bool)
    want[ri, ui[:, None]] = True
    sub = _ephemeris_rows(fine, R, TimeGrid(fine.times.epoch, fine.times.offsets_s[R]))
    nsat = sub.shape[0]
    phones = handsets[U]
    phone_cell = cells.handset_cell[U]
    links = visible_links_for(sub, phones, config, cells, keep=want)
    loss = link_losses_db(links, U.size, config.propagation, config.carrier.dl_center_hz,
                          ChannelDraws(draws.u_los[U], draws.z_shadow[U]))
    out = LinkOutputs.empty(R.size, U.size)
    geometry = LinkGeometry.of(sub, phones, links, loss)
    # only the beams of a phone's colour on satellites in its links reach it:
    # the other cells are left unlit here, and each satellite's power is still
    # shared by all the beams it lights
    ncolor = int(cells.color.max()) + 1
    needed = np.zeros((R.size, nsat, ncolor), dtype=bool)
    needed[links.time_index, links.sat, cells.color[phone_cell[links.handset_index]]] = True
    kept, per_sat = ck.cells_reaching(np.ascontiguousarray(assigned[0][R]), needed,
                                      cells.color, nsat)
    # only the status is read here, and it does not depend on the uplink's
    # interference (``_kernels.link_status``): that sum is skipped
    radio = prepared.radio._replace(ul_interf_coeff=0.0)
    serve_cells_chunk(sub, geometry, config, cells, radio, prepared.rules, out,
                      assigned=(kept, assigned[1][R]), handset_cell=phone_cell,
                      beams_per_sat=per_sat)
    _check_doppler_rate(sub, phones, prepared, dataclasses.replace(cells, handset_cell=phone_cell),
                        out)
    unserved = out.status[ri, ui[:, None]] != SERVED       # (npairs, n - 1), in time order
    dip = unserved.any(axis=1)
    if dip.any():
        first = np.argmax(unserved, axis=1)
        last = unserved.shape[1] - 1 - np.argmax(unserved[:, ::-1], axis=1)
        t_sample = fine.times.offsets_s[rows[kk]]
        t_rows = fine.times.offsets_s[pair_rows]
        half = (t_sample[0] - t_rows[0, -1]) / 2.0          # half a substep
        idx = np.arange(kk.size)
        start = t_sample - (t_rows[idx, first] - half)
        end = t_sample - (t_rows[idx, last] + half)
        hole_start[kk[dip], hh[dip]] = start[dip]
        hole_end[kk[dip], hh[dip]] = end[dip]
