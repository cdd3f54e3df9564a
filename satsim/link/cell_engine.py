"""Earth-fixed cells in the link engine: assignment, beam power and pointing, serving.

For each chunk of time steps, :func:`serve_cells_chunk` (called by
``satsim.link.engine`` when ``beams.mode`` is ``"earth_fixed"``):

1. finds the satellites above the serving mask from every occupied cell's
   centre and assigns each cell a satellite (``_cell_kernels.assign_cells``:
   highest with a free beam, sticky, re-evaluated every
   ``beams.reassign_interval_s`` of simulated time (:func:`reevaluations`) with
   ``beams.reassign_hysteresis_deg``, at most
   ``beams.max_beams_per_satellite`` cells per satellite);
2. lists the active beams of every (step, satellite): one per assigned cell,
   pointed at its centre, with its EIRP (:func:`beam_eirp_dbw`: full EIRP, or
   the payload's ``total_power_dbw`` shared equally by the satellite's active
   beams, never above full; minus the scan loss of its steering angle);
3. evaluates every handset in its cell's beam (``_cell_kernels.serve_cells``).

The serving "beam" index of a handset is its cell's index, so a change of
serving satellite is a handover for every phone of the cell, and the
scheduler's beam resources are per (satellite, cell).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..constants import IUGG_MEAN_RADIUS_KM
from ..orbits.geometry import sky_grid
from ..orbits.handsets import Handsets
from . import _cell_kernels as ck
from .antenna import (
    HALF_POWER_U,
    PATTERN_FLOOR_LIN,
    pattern_table,
    payload_aperture_radius_m,
    wavenumber_rad_m,
)
from .aperture import (
    rect_beamwidth_from_aperture_deg,
    rect_kernel_params,
    rect_peak_gain_from_aperture_dbi,
)
from .cells import CellGrid, cell_grid
from .config import LinkConfig


def beamwidth_3db_deg(config: LinkConfig) -> float:
    """The beam's full 3 dB width at the downlink frequency, degrees (for a
    rectangular array, the mean of its two principal planes)."""
    pl, f = config.payload, config.carrier.dl_center_hz
    if pl.antenna == "rectangular":
        return 0.5 * (rect_beamwidth_from_aperture_deg(pl.array_x_m, f, pl.taper)
                      + rect_beamwidth_from_aperture_deg(pl.array_y_m, f, pl.taper))
    a = payload_aperture_radius_m(pl, f)
    return math.degrees(2.0 * math.asin(min(1.0, HALF_POWER_U / (wavenumber_rad_m(f) * a))))


def cell_radius_km(config: LinkConfig, altitude_km: float) -> float:
    """``beams.cell_radius_km``, or by default half the beam's 3 dB footprint at
    nadir from ``altitude_km``: ``h tan(θ3dB / 2)`` (flat Earth under the beam,
    good to 0.1 % for 10 km cells)."""
    if config.beams.cell_radius_km is not None:
        return float(config.beams.cell_radius_km)
    return altitude_km * math.tan(math.radians(beamwidth_3db_deg(config) / 2.0))


def peak_gain_dbi(config: LinkConfig) -> float:
    """Boresight gain of a beam, dBi: from the array's area and taper
    (rectangular), else ``satellite.max_gain_dbi``."""
    pl = config.payload
    if pl.antenna == "rectangular":
        return float(rect_peak_gain_from_aperture_dbi(pl.array_x_m, pl.array_y_m,
                                                      config.carrier.dl_center_hz, pl.taper))
    return float(pl.max_gain_dbi)


def beam_eirp_dbw(config: LinkConfig, n_active: np.ndarray, scan_lin: np.ndarray) -> np.ndarray:
    """EIRP of each active beam at its peak, dBW: the full EIRP over the beam's
    bandwidth, or, with ``satellite.total_power_dbw``, that power shared equally by
    the ``n_active`` beams of its satellite at that step times the peak gain,
    whichever is lower; then times the scan factor ``scan_lin`` (cos^n of the
    steering angle). Conserves power: the beams of a satellite never transmit more
    than ``total_power_dbw`` together."""
    pl = config.payload
    full_dbw = pl.eirp_dbw(config.carrier.beam_bandwidth_hz)
    if pl.tx_power_dbw is not None and pl.antenna == "rectangular":
        full_dbw = pl.tx_power_dbw + peak_gain_dbi(config)
    eirp = np.full(n_active.shape, full_dbw, dtype=np.float64)
    if pl.total_power_dbw is not None:
        shared = pl.total_power_dbw + peak_gain_dbi(config) - 10.0 * np.log10(
            np.maximum(n_active, 1))
        eirp = np.minimum(eirp, shared)
    return eirp + 10.0 * np.log10(scan_lin)


class CellServing(NamedTuple):
    """Per chunk: the cells as the serving kernel sees them."""

    #: (nh,) the cell of each handset.
    handset_cell: np.ndarray
    #: (ncell,) int64 reuse colour of each cell.
    color: np.ndarray
    #: (ncell, 3) cell centres, ITRS, km.
    centre_km: np.ndarray
    #: (nt, ncell) int32 serving satellite of each cell, -1 none.
    sat: np.ndarray
    #: (nt, ncell) uint8 why a cell has none (``_cell_kernels.CELL_*``).
    reason: np.ndarray


class ActiveBeams(NamedTuple):
    """Per chunk: the beams in use, a CSR over (step, satellite), ``nb`` in all,
    each row's beams grouped by colour (``color_offsets``)."""

    #: (nt * nsat + 1,) int64: the beams of (t, s) are ``offsets[t*nsat+s] : ...[+1]``.
    offsets: np.ndarray
    #: (nb,) int64 the cell each beam serves.
    cell: np.ndarray
    #: (nb,) EIRP at the beam's peak, W, scan loss included.
    eirp_w: np.ndarray
    #: (nb,) reuse colour of each beam (its cell's).
    color: np.ndarray
    #: (nt * nsat * ncolor + 1,) int64: the beams of colour c of row r are
    #: ``color_offsets[r*ncolor+c] : ...[+1]``.
    color_offsets: np.ndarray
    #: (nb,) what the beam radiates into other cells at its peak, W: its activity
    #: (fraction of resource elements carrying energy) x EIRP.
    interf_w: np.ndarray
    #: (nb, 3) ITRS unit vector from the satellite to the cell centre.
    direction: np.ndarray
    #: (nb,) sine-space steering u0 in the satellite body frame (contiguous).
    u: np.ndarray
    #: (nb,) sine-space steering v0 in the satellite body frame (contiguous).
    v: np.ndarray
    #: (nb,) the array's scan factor at the beam's steering (cos^n, ≤ 1): in its
    #: EIRP already, and in its receive gain on the uplink.
    scan_lin: np.ndarray
    #: (nb,) 1 / (range from the beam's satellite to its cell centre)², km⁻².
    inv_range2_km: np.ndarray

    @classmethod
    def of(cls, offsets, cell, eirp_w, activity, direction, uv, cell_color, inv_range2_km,
           scan_lin=None) -> ActiveBeams:
        """The record from per-beam arrays in CSR order (``uv``: (2, nb), the
        steering u0 and v0), with each beam's colour (its cell's, from
        ``cell_color``) and interfering power derived; ``scan_lin`` defaults to 1
        (no scan loss). Within each row the beams are put in colour order
        (stably; nothing moves with one colour), so that a colour's beams are
        contiguous for the interference sums."""
        offsets = np.asarray(offsets, dtype=np.int64)
        cell = np.asarray(cell, dtype=np.int64)
        eirp_w = np.asarray(eirp_w, dtype=np.float64)
        activity = np.asarray(activity, dtype=np.float64)
        cell_color = np.asarray(cell_color, dtype=np.int64)
        color = cell_color[cell]
        ncolor = int(cell_color.max()) + 1 if cell_color.size else 1
        order, color_offsets, already = ck.color_groups(offsets, color, ncolor)
        scan = np.ones(eirp_w.size) if scan_lin is None else np.asarray(scan_lin, np.float64)
        uv = np.asarray(uv, dtype=np.float64)
        fields = dict(cell=cell, eirp_w=eirp_w, color=color,
                      interf_w=np.broadcast_to(activity * eirp_w, eirp_w.shape),
                      direction=np.asarray(direction, dtype=np.float64),
                      u=uv[0], v=uv[1], scan_lin=np.broadcast_to(scan, eirp_w.shape),
                      inv_range2_km=np.asarray(inv_range2_km, dtype=np.float64))
        for name, value in fields.items():
            value = value if already else value[order]
            fields[name] = np.ascontiguousarray(value)
        return cls(offsets=offsets, color_offsets=color_offsets, **fields)


@dataclass(eq=False)
class CellState:
    """The cells of a run and what carries across chunks."""

    grid: CellGrid
    #: Cell of each handset this state serves (all of them, or a block's).
    handset_cell: np.ndarray
    #: Cells by priority (most handsets first, then index).
    order: np.ndarray
    #: Reuse colour of each cell.
    color: np.ndarray
    #: Serving satellite of each cell (-1 none), updated chunk by chunk.
    sat: np.ndarray
    #: Cells choose their satellite again this often, s of simulated time
    #: (``beams.reassign_interval_s``; :func:`reevaluations`).
    reassign_interval_s: float
    #: Offset (s) of the run's last sample so far (None before the first chunk).
    last_time_s: float | None = None
    #: How much lower than its cell centre a satellite can look from a phone in
    #: the cell, deg: the phones' links are found down to the mask less this, so
    #: the satellite serving a cell (chosen at its centre) is never missing from
    #: a phone's links (:func:`link_mask_margin_deg`).
    link_mask_margin_deg: float = 0.0
    #: This state serves a block of the run's handsets (:meth:`for_block`): its
    #: chunks point only the beams of the satellites in the block's links.
    block: bool = False

    def for_block(self, block) -> CellState:
        """The same cells and assignment for a block of the handsets (a slice or
        their indices): every block assigns all cells (the same deterministic
        choice), so blocks merge into exactly the serial result."""
        return dataclasses.replace(self, handset_cell=self.grid.handset_cell[block],
                                   sat=self.sat.copy(), block=True)


def reevaluations(times_s: np.ndarray, interval_s: float,
                  previous_s: float | None) -> np.ndarray:
    """At which samples ``times_s`` (s) the cells choose their satellite again:
    those at or after a multiple of ``interval_s`` that the sample before
    (``previous_s``; None: the run's first sample, which always chooses) had
    not reached. The network's clock, not the simulator's: at 10 s steps and a
    15 s interval the samples at 20, 30, 50, 60, ... s re-evaluate (each within
    one step of the instant), four a minute as at 1 s steps; rounding the
    interval to whole steps would give three (every 20 s)."""
    def ticks(t):      # with a relative slack, so that offsets like 3 x 0.1 land on their multiple
        return np.floor(np.asarray(t, dtype=np.float64) / interval_s * (1.0 + 1e-12) + 1e-9)

    tick = ticks(times_s)
    before = np.empty_like(tick)
    before[0] = -np.inf if previous_s is None else ticks(previous_s)
    before[1:] = tick[:-1]
    return tick > before


def link_mask_margin_deg(radius_km: float, altitude_km: float) -> float:
    """Largest elevation difference between a cell's centre and a point of the
    cell seen from one satellite, deg: a ground offset ``r`` turns the line of
    sight by at most ``r / range`` (range >= altitude) and the local vertical by
    ``r / R_earth``, so ``degrees(r / h + r / R)``."""
    return math.degrees(radius_km / altitude_km + radius_km / IUGG_MEAN_RADIUS_KM)


def prepare_cells(config: LinkConfig, handsets: Handsets, altitude_km: float) -> CellState:
    """The occupied cells of ``handsets`` and the assignment state of a run."""
    grid = cell_grid(handsets, cell_radius_km(config, altitude_km), config.beams.cell_fill_km)
    users = grid.handsets_per_cell()
    order = np.lexsort((np.arange(grid.ncell), -users)).astype(np.int64)
    return CellState(grid=grid, handset_cell=grid.handset_cell, order=order,
                     color=grid.colors(config.carrier.reuse),
                     sat=np.full(grid.ncell, -1, dtype=np.int64),
                     reassign_interval_s=float(config.beams.reassign_interval_s),
                     link_mask_margin_deg=link_mask_margin_deg(grid.radius_km, altitude_km))


def rect_args(half_kl_x_rad: float, half_kl_y_rad: float, taper: int,
              floor_lin: float = PATTERN_FLOOR_LIN) -> tuple:
    """The rectangular pattern's arguments of the cell kernel: ``(π Lx / λ,
    π Ly / λ, taper code, floor)``."""
    return float(half_kl_x_rad), float(half_kl_y_rad), int(taper), float(floor_lin)


def _pattern_args(config: LinkConfig):
    """The kernel's pattern code and the arguments of both patterns."""
    pl, f = config.payload, config.carrier.dl_center_hz
    if pl.antenna == "rectangular":
        hx, hy, taper = rect_kernel_params(pl.array_x_m, pl.array_y_m, f, pl.taper)
        return ck.PATTERN_RECT, (np.ones(2), 1.0, float(PATTERN_FLOOR_LIN)), rect_args(hx, hy,
                                                                                        taper)
    pat = pattern_table(payload_aperture_radius_m(pl, f), f, pl.max_gain_dbi)
    circ = (np.ascontiguousarray(pat.gain_lin, dtype=np.float64), float(pat.ka / pat.u_step),
            float(PATTERN_FLOOR_LIN))
    return ck.PATTERN_CIRCULAR, circ, rect_args(1.0, 1.0, 0)


def active_beams(cell_sat: np.ndarray, nsat: int):
    """CSR over (step, satellite) of the assigned cells: ``(offsets, cell, beams
    per (step, satellite))``."""
    return ck.active_beams(np.ascontiguousarray(cell_sat), int(nsat))


def check_doppler_rate_cells(ephemeris, handsets: Handsets, state: CellState,
                             dl_freq_hz: float, max_rate_hz_s: float, outputs) -> None:
    """Served phones whose residual Doppler (after the cell centre's
    pre-compensation) changes faster than ``max_rate_hz_s`` become DOPPLER_RATE."""
    ck.doppler_rate_check_cells(outputs.status, outputs.sat, ephemeris.position_km,
                                ephemeris.velocity_km_s, handsets.position_km,
                                state.handset_cell, state.grid.centres.position_km,
                                float(dl_freq_hz), float(max_rate_hz_s))


def build_beams(config: LinkConfig, cell_sat: np.ndarray, cell_color: np.ndarray,
                sat_pos: np.ndarray, axes: np.ndarray, cell_pos: np.ndarray,
                beams_per_sat: np.ndarray | None = None,
                needed: np.ndarray | None = None) -> ActiveBeams:
    """The active beams of a chunk (:class:`ActiveBeams`): one per assigned cell
    of ``cell_sat`` ((nt, ncell), -1 none), pointed at its centre, its EIRP
    :func:`beam_eirp_dbw` (the satellite's power shared by the beams it lights
    at that step, or by ``beams_per_sat`` ((nt * nsat,)) when ``cell_sat`` lights
    only some of them) times its scan factor. Two numba passes
    (``_cell_kernels.beam_counts``, ``fill_beams``): the same record as
    :meth:`ActiveBeams.of` from :func:`active_beams` and
    ``_cell_kernels.beam_pointing`` (tested). ``needed`` ((nt * nsat,) uint8):
    point only the beams of the satellites it marks, the others zero (a block of
    handsets' chunk: :func:`serve_cells_chunk`)."""
    nsat = sat_pos.shape[0]
    color = np.ascontiguousarray(cell_color, dtype=np.int64)
    ncolor = int(color.max()) + 1 if color.size else 1
    cell_sat = np.ascontiguousarray(cell_sat)
    color_offsets = ck.beam_counts(cell_sat, nsat, color, ncolor)
    offsets = np.ascontiguousarray(color_offsets[::ncolor])
    per_sat = np.diff(offsets)
    sharing = per_sat if beams_per_sat is None else beams_per_sat
    eirp_ts = 10.0 ** (beam_eirp_dbw(config, sharing, np.ones(per_sat.size)) / 10.0)
    nb = int(offsets[-1])
    cell, beam_color = np.empty(nb, dtype=np.int64), np.empty(nb, dtype=np.int64)
    # zeros where fill_beams points no beam (not ``needed``); calloc'd pages cost
    # nothing until written
    direction = np.zeros((nb, 3))
    u, v, inv_r2, scan, eirp_w, interf_w = (np.zeros(nb) for _ in range(6))
    if needed is None:
        needed = np.ones(cell_sat.shape[0] * nsat, dtype=np.uint8)
    ck.fill_beams(cell_sat, nsat, color, color_offsets, sat_pos, axes, cell_pos, eirp_ts,
                  float(config.payload.scan_loss_exponent), float(config.beams.activity), cell,
                  beam_color, direction, u, v, inv_r2, scan, eirp_w, interf_w, needed)
    return ActiveBeams(offsets=offsets, cell=cell, eirp_w=eirp_w, color=beam_color,
                       color_offsets=color_offsets, interf_w=interf_w, direction=direction,
                       u=u, v=v, scan_lin=scan, inv_range2_km=inv_r2)


def assign_cells_chunk(ephemeris, config: LinkConfig, state: CellState):
    """Each cell's serving satellite at every sample of ``ephemeris``:
    ``(cell_sat, reason)``, each (nt, ncell) (``_cell_kernels.
    assign_cells_in_sky``; -1 and the reason where none). Updates ``state``."""
    nt = len(ephemeris.times)
    times_s = ephemeris.times.offsets_s
    grid = state.grid
    cell_sat = np.empty((nt, grid.ncell), dtype=np.int32)
    reason = np.empty((nt, grid.ncell), dtype=np.uint8)
    cap = config.beams.max_beams_per_satellite
    centres = grid.centres
    sky = sky_grid(ephemeris.position_km, centres, config.min_elevation_deg)
    east, north, up = centres.enu_basis
    ck.assign_cells_in_sky(ephemeris.position_km, centres.position_km, sky.h_unit, east, north,
                           up, sky.point_cells, sky.n, *sky.bin_satellites(ephemeris.position_km),
                           sky.cos_lam, state.order,
                           float(config.min_elevation_deg),
                           int(cap) if cap is not None else grid.ncell,
                           float(config.beams.reassign_hysteresis_deg),
                           reevaluations(times_s, state.reassign_interval_s, state.last_time_s),
                           state.sat, cell_sat, reason)
    state.last_time_s = float(times_s[-1])
    return cell_sat, reason


def serve_cells_chunk(ephemeris, geometry, config: LinkConfig, state: CellState, radio, rules,
                      outputs, assigned=None, handset_cell=None, beams_per_sat=None) -> None:
    """Fill ``outputs`` (a ``LinkOutputs``) for one chunk in Earth-fixed mode;
    ``geometry`` is the chunk's ``LinkGeometry`` (handset links and losses),
    ``radio`` and ``rules`` the run's ``RadioTerms`` and ``ServingRules``.
    The cells are assigned here (:func:`assign_cells_chunk`, updating
    ``state``) unless ``assigned`` gives ``(cell_sat, reason)`` for the chunk's
    samples; ``handset_cell``: the cell of each of ``geometry``'s handsets
    (default ``state.handset_cell``); ``beams_per_sat`` ((nt * nsat,)): the
    beams sharing each satellite's power, when ``assigned`` lights only some of
    them (default: those it lights)."""
    cell_sat, reason = (assigned if assigned is not None
                        else assign_cells_chunk(ephemeris, config, state))
    grid = state.grid
    axes = ck.body_axes(ephemeris.position_km, ephemeris.velocity_km_s)
    nsat = ephemeris.position_km.shape[0]
    # a block of the run's handsets reads only the satellites in its links: the
    # other beams are not pointed (every handset of the run reads nearly all)
    needed = (ck.linked_satellites(geometry.offsets, geometry.sat, cell_sat.shape[0], nsat)
              if state.block else None)
    beams = build_beams(config, cell_sat, state.color, ephemeris.position_km, axes,
                        grid.centres.position_km, beams_per_sat, needed)
    pattern, circ, rect = _pattern_args(config)
    hc = state.handset_cell if handset_cell is None else handset_cell
    ck.serve_cells(geometry, axes,
                   CellServing(hc, state.color, grid.centres.position_km, cell_sat, reason),
                   beams, radio, rules, pattern, circ, rect, outputs,
                   np.zeros(0, dtype=np.float32 if config.interference_precision == "float32"
                            else np.float64))
