"""Numba kernels of Earth-fixed cells, on plain arrays (see ``satsim.link.cells``).

``assign_cells`` chooses, step by step, the satellite whose beam serves each
cell: the highest-elevation satellite above the mask with a free beam, kept
while it stays usable (sticky), re-evaluated at the steps flagged in ``reeval``
(``cell_engine.reevaluations``: every ``beams.reassign_interval_s`` of simulated
time) with an elevation hysteresis, and never more than ``max_beams`` cells per
satellite.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit
from ._aperture_kernels import (
    TAPER_COSINE,
    cosine_taper_field_sq_parts_from_cos,
    cosine_taper_field_sq_parts_from_cos_f32,
    rect_steered_gain_lin,
    sin_cos,
    sinc_sq_parts_from_sin,
    sinc_sq_parts_from_sin_f32,
)
from ._kernels import (
    _C_KM_S,
    DOPPLER_RATE,
    NO_BEAM,
    NO_SATELLITE,
    SERVED,
    body_frame,
    link_status,
    pattern_gain_lin,
    resid_doppler_rate_fixed,
    write_link,
    write_no_link,
)

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
def assign_step(offsets, link_sat, link_elev_deg, order, min_elev_deg, max_beams,
                hysteresis_deg, reeval, load, state_sat, out_sat, out_reason):
    """One step of :func:`assign_cells`: ``offsets`` (ncell + 1) is the CSR over
    the cells of this step's links (``link_sat``, ``link_elev_deg``; those
    below ``min_elev_deg`` are ignored; a cell that keeps its satellite may list
    that link alone, :func:`assign_cells_in_sky`); ``load``
    (per satellite) is scratch; ``out_sat`` / ``out_reason`` are this step's rows.

    Pass 1 keeps each cell's current satellite (``state_sat``) where it still
    serves; pass 2 gives the other cells the highest satellite with a free beam
    (ties to the lower index), busiest cells first (``order``)."""
    ncell = out_sat.shape[0]
    load[:] = 0
    for c in range(ncell):
        out_sat[c] = -1
    # pass 1: keep the current satellite where it still serves
    for n in range(ncell):
        c = order[n]
        cur = state_sat[c]
        if cur < 0:
            continue
        k0, k1 = offsets[c], offsets[c + 1]
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
        out_sat[c] = cur
        load[cur] += 1
    # pass 2: the highest satellite with a free beam for the others
    for n in range(ncell):
        c = order[n]
        if out_sat[c] >= 0:
            out_reason[c] = CELL_SERVED
            continue
        k0, k1 = offsets[c], offsets[c + 1]
        best, e_best, seen = -1, -np.inf, False
        for k in range(k0, k1):
            e = link_elev_deg[k]
            if e < min_elev_deg:
                continue
            seen = True
            s = link_sat[k]
            if load[s] < max_beams and (e > e_best or (e == e_best and s < best)):
                best, e_best = s, e
        if best >= 0:
            out_sat[c] = best
            load[best] += 1
            out_reason[c] = CELL_SERVED
        else:
            out_reason[c] = CELL_NO_BEAM if seen else CELL_NO_SATELLITE
    for c in range(ncell):
        state_sat[c] = out_sat[c]


@njit
def assign_cells(offsets, link_sat, link_elev_deg, order, nsat, min_elev_deg, max_beams,
                 hysteresis_deg, reeval, state_sat, out_sat, out_reason):
    """Serving satellite of every cell at every step of a chunk, from given links.

    ``offsets`` is the CSR over (t, cell) of the links from cell centres
    (``link_sat``, ``link_elev_deg``; links below ``min_elev_deg`` are ignored).
    ``order`` lists the cells by priority (busiest first): a cell keeps its
    satellite first (in that order), then cells without one take the highest
    free satellite (in that order).

    At a re-evaluation step (``reeval[t]``, (nt,) bool) a cell leaves
    its satellite when another above the mask is more than ``hysteresis_deg``
    higher. ``state_sat`` (per cell, -1 none) carries the choice across chunks
    and is updated in place. Writes ``out_sat[t, c]`` (-1: none) and
    ``out_reason[t, c]`` (CELL_SERVED, CELL_NO_SATELLITE, or CELL_NO_BEAM when
    every satellite in view already has ``max_beams`` cells). A run finds its
    links as it goes instead (:func:`assign_cells_in_sky`, the same choice).
    """
    nt, ncell = out_sat.shape
    load = np.zeros(nsat, dtype=np.int64)
    for t in range(nt):
        base = offsets[t * ncell]
        assign_step(offsets[t * ncell:(t + 1) * ncell + 1] - base,
                    link_sat[base:offsets[(t + 1) * ncell]],
                    link_elev_deg[base:offsets[(t + 1) * ncell]], order, min_elev_deg,
                    max_beams, hysteresis_deg, reeval[t], load, state_sat, out_sat[t],
                    out_reason[t])


@njit
def _up_offset(sat_pos, t, s, pos, up, c):
    """``(du, rng)`` from ground point ``c`` to satellite ``s`` at step ``t``:
    the offset along the geodetic up and the range, km (NaN where invalid)."""
    dx = sat_pos[s, t, 0] - pos[c, 0]
    dy = sat_pos[s, t, 1] - pos[c, 1]
    dz = sat_pos[s, t, 2] - pos[c, 2]
    rng = math.sqrt(dx * dx + dy * dy + dz * dz)
    return dx * up[c, 0] + dy * up[c, 1] + dz * up[c, 2], rng


@njit
def _elevation_deg(sat_pos, t, s, pos, east, north, up, c):
    """Elevation of satellite ``s`` at step ``t`` from ground point ``c``, deg,
    as ``satsim.orbits`` computes it (geodetic east-north-up)."""
    dx = sat_pos[s, t, 0] - pos[c, 0]
    dy = sat_pos[s, t, 1] - pos[c, 1]
    dz = sat_pos[s, t, 2] - pos[c, 2]
    du = dx * up[c, 0] + dy * up[c, 1] + dz * up[c, 2]
    de = dx * east[c, 0] + dy * east[c, 1] + dz * east[c, 2]
    dn = dx * north[c, 0] + dy * north[c, 1] + dz * north[c, 2]
    return math.atan2(du, math.sqrt(de * de + dn * dn)) * (180.0 / math.pi)


@njit
def _sky_candidates(keys, n, counts, sorder):
    """The satellites binned (``SkyGrid.bin_satellites``: ``counts``,
    ``sorder``) into the 27 sky cells around each of the sky cells ``keys``
    (``(ix * n + iy) * n + iz``), as a CSR: ``(start (nkey + 1,), sats)``.
    Every cell centre in one sky cell shares its list."""
    start = np.zeros(keys.size + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            for g in range(keys.size):
                start[g + 1] += start[g]
            sats = np.empty(start[keys.size], dtype=np.int64)
        for g in range(keys.size):
            gx, gy, gz = keys[g] // (n * n), (keys[g] // n) % n, keys[g] % n
            m = start[g]
            for ix in range(max(gx - 1, 0), min(gx + 2, n)):
                for iy in range(max(gy - 1, 0), min(gy + 2, n)):
                    for iz in range(max(gz - 1, 0), min(gz + 2, n)):
                        b = (ix * n + iy) * n + iz
                        if pass_ == 0:
                            start[g + 1] += counts[b + 1] - counts[b]
                        else:
                            for j in range(counts[b], counts[b + 1]):
                                sats[m] = sorder[j]
                                m += 1
    return start, sats


@njit
def _sky_scan(sat_pos, t, c, pos, unit, up, cand, units, cos_lam, sin_min_el, sats, at):
    """The satellites above the mask (``du >= sin(mask) x range``, as the link
    scan finds them) from ground point ``c`` at step ``t``, among its sky
    cell's candidates ``cand`` (:func:`_sky_candidates`); written to ``sats``
    from ``at`` unless it is empty. Returns how many and the highest one (-1 if
    none), by ``du / range`` (ties to the lower index)."""
    m, best, best_sin = 0, -1, -2.0
    for s in cand:
        if (unit[c, 0] * units[s, 0] + unit[c, 1] * units[s, 1]
                + unit[c, 2] * units[s, 2]) < cos_lam:
            continue
        du, rng = _up_offset(sat_pos, t, s, pos, up, c)
        if du < sin_min_el * rng:
            continue
        if sats.size > 0:
            sats[at + m] = s
        m += 1
        if du / rng > best_sin or (du / rng == best_sin and s < best):
            best, best_sin = s, du / rng
    return m, best


@njit(inline="always")
def _has_lost(sat_pos, t, cur, pos, up, c, sin_min_el):
    """Cell ``c`` has no satellite (``cur`` -1, or its state NaN) or its
    satellite ``cur`` is below the mask at its centre at step ``t``."""
    if cur < 0 or not sat_pos[cur, t, 0] == sat_pos[cur, t, 0]:
        return True
    du, rng = _up_offset(sat_pos, t, cur, pos, up, c)
    return du < sin_min_el * rng


@njit(parallel=True)
def _keep_or_rise(sat_pos, t, pos, unit, east, north, up, keys, group, sky_n, counts, sorder,
                  units, cos_lam, sin_min_el, min_elev_deg, state_sat, out_sat, out_reason,
                  need):
    """A step of :func:`assign_cells_in_sky` that does not re-evaluate, without
    a beam cap (cells then do not compete): a cell keeps its satellite while it
    is above the mask at the centre; the others (theirs set, or none) take the
    highest above the mask (geodetic elevation, ties to the lower index), as
    :func:`assign_step` would, found among their sky cell's candidates, which
    are listed only if some cell needs them. One pass over the cells, where the
    general step makes five (most 1 s steps of a run are of this kind)."""
    ncell = pos.shape[0]
    for c in prange(ncell):
        cur = state_sat[c]
        need[c] = _has_lost(sat_pos, t, cur, pos, up, c, sin_min_el)
        if not need[c]:
            out_sat[c] = cur
            out_reason[c] = CELL_SERVED
    if not need.any():
        return
    cand_start, cand = _sky_candidates(keys, sky_n, counts, sorder)
    for c in prange(ncell):
        if not need[c]:
            continue
        g = group[c]
        mine = cand[cand_start[g]:cand_start[g + 1]]
        m, _ = _sky_scan(sat_pos, t, c, pos, unit, up, mine, units, cos_lam, sin_min_el,
                         np.empty(0, dtype=np.int64), 0)
        sats = np.empty(m, dtype=np.int64)
        _sky_scan(sat_pos, t, c, pos, unit, up, mine, units, cos_lam, sin_min_el, sats, 0)
        best, e_best = -1, -np.inf
        for j in range(m):
            sj = sats[j]
            e = _elevation_deg(sat_pos, t, sj, pos, east, north, up, c)
            if e >= min_elev_deg and (e > e_best or (e == e_best and sj < best)):
                best, e_best = sj, e
        out_sat[c] = best
        out_reason[c] = CELL_SERVED if best >= 0 else CELL_NO_SATELLITE
        state_sat[c] = best


@njit(parallel=True)
def assign_cells_in_sky(sat_pos, pos, unit, east, north, up, sky_idx, sky_n, sky_start,
                        sky_order, sky_units, cos_lam, order, min_elev_deg, max_beams,
                        hysteresis_deg, reeval, state_sat, out_sat, out_reason):
    """:func:`assign_cells` for a run, finding the links from the cell centres
    (``pos``, ``unit``, geodetic ``east`` / ``north`` / ``up``, each (ncell, 3);
    ``sky_idx`` (ncell, 3) their sky cells in ``satsim.orbits.geometry``'s grid
    of ``sky_n`` cells per axis, the satellites binned into it at every step
    (``sky_start``, ``sky_order``, ``sky_units``: ``SkyGrid.bin_satellites``),
    ``cos_lam`` its cone) step by step, and only those the choice reads: every
    link of a cell whose satellite has set (or that has none) or that leaves it
    at a re-evaluation (another is more than the hysteresis higher); else its
    current satellite's link alone.
    The same choice as :func:`assign_cells` given every link, at a fraction of
    the work."""
    nsat, nt = sat_pos.shape[0], sat_pos.shape[1]
    ncell = pos.shape[0]
    sin_min_el = math.sin(math.radians(min_elev_deg))
    # the sky cells holding cell centres, and each centre's
    key = (sky_idx[:, 0] * sky_n + sky_idx[:, 1]) * sky_n + sky_idx[:, 2]
    keys = np.unique(key)
    group = np.searchsorted(keys, key)
    load = np.zeros(nsat, dtype=np.int64)
    full = np.zeros(ncell, dtype=np.bool_)
    count = np.zeros(ncell + 1, dtype=np.int64)
    no_sats = np.empty(0, dtype=np.int64)
    for t in range(nt):
        counts, sorder, units = sky_start[t], sky_order[t], sky_units[t]
        if not reeval[t] and max_beams >= ncell:
            _keep_or_rise(sat_pos, t, pos, unit, east, north, up, keys, group, sky_n, counts,
                          sorder, units, cos_lam, sin_min_el, min_elev_deg, state_sat,
                          out_sat[t], out_reason[t], full)
            continue
        cand_start, cand = _sky_candidates(keys, sky_n, counts, sorder)
        for c in prange(ncell):
            cur = state_sat[c]
            need = _has_lost(sat_pos, t, cur, pos, up, c, sin_min_el)
            m = 1
            if need or reeval[t]:
                g = group[c]
                m, best = _sky_scan(sat_pos, t, c, pos, unit, up,
                                    cand[cand_start[g]:cand_start[g + 1]], units, cos_lam,
                                    sin_min_el, no_sats, 0)
                if not need and best >= 0 and best != cur:
                    e = _elevation_deg(sat_pos, t, cur, pos, east, north, up, c)
                    e_best = _elevation_deg(sat_pos, t, best, pos, east, north, up, c)
                    need = e_best > e + hysteresis_deg
                if not need:
                    m = 1
            full[c] = need
            count[c + 1] = m
        count[0] = 0
        for c in range(ncell):
            count[c + 1] += count[c]
        sats = np.empty(count[ncell], dtype=np.int64)
        elevs = np.empty(count[ncell])
        for c in prange(ncell):
            k = count[c]
            if full[c]:
                g = group[c]
                m, _ = _sky_scan(sat_pos, t, c, pos, unit, up,
                                 cand[cand_start[g]:cand_start[g + 1]], units, cos_lam,
                                 sin_min_el, sats, k)
                for j in range(k, k + m):
                    elevs[j] = _elevation_deg(sat_pos, t, sats[j], pos, east, north, up, c)
            else:
                sats[k] = state_sat[c]
                # a cell that keeps its satellite lists that one link alone, and the
                # choice then reads its elevation only against the mask: the mask
                # itself stands in for it (no angle computed)
                elevs[k] = min_elev_deg
        assign_step(count, sats, elevs, order, min_elev_deg, max_beams, hysteresis_deg,
                    reeval[t], load, state_sat, out_sat[t], out_reason[t])


#: Beam patterns of the Earth-fixed kernel.
PATTERN_CIRCULAR = 0   # TR 38.811 §6.4.1 circular aperture (tabulated), around the steering
PATTERN_RECT = 1       # rectangular planar array, shifted in sine space (``_aperture_kernels``)


@njit(parallel=True)
def body_axes(sat_pos, sat_vel):
    """Body frame (x along-track, y, z nadir; ``satsim.link.beams``) of every
    satellite at every step, ``(nsat, nt, 9)``; NaN where the position is."""
    nsat, nt = sat_pos.shape[0], sat_pos.shape[1]
    axes = np.full((nsat, nt, 9), np.nan)
    for s in prange(nsat):
        for t in range(nt):
            if sat_pos[s, t, 0] == sat_pos[s, t, 0]:
                a = body_frame(sat_pos[s, t], sat_vel[s, t])
                for i in range(9):
                    axes[s, t, i] = a[i]
    return axes


@njit
def _unit_from(a, b):
    """Unit vector from point ``a`` to point ``b`` and the distance, km."""
    d0, d1, d2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    n = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    return d0 / n, d1 / n, d2 / n, n


@njit
def active_beams(cell_sat, nsat):
    """CSR over (step, satellite) of the cells assigned in ``cell_sat``
    ((nt, ncell), -1 none): ``(offsets (nt * nsat + 1,), cell (nb,),
    beams per (step, satellite) (nt * nsat,))``, cells ascending within a row."""
    nt, ncell = cell_sat.shape
    counts = np.zeros(nt * nsat, dtype=np.int64)
    for t in range(nt):
        for c in range(ncell):
            s = cell_sat[t, c]
            if s >= 0:
                counts[t * nsat + s] += 1
    offsets = np.zeros(nt * nsat + 1, dtype=np.int64)
    for i in range(nt * nsat):
        offsets[i + 1] = offsets[i] + counts[i]
    fill = offsets[:-1].copy()
    cell = np.empty(offsets[-1], dtype=np.int64)
    for t in range(nt):
        for c in range(ncell):
            s = cell_sat[t, c]
            if s >= 0:
                cell[fill[t * nsat + s]] = c
                fill[t * nsat + s] += 1
    return offsets, cell, counts


@njit(parallel=True)
def beam_pointing(beam_offsets, beam_cell, sat_pos, axes, cell_pos, nsat, out_dir, out_uv,
                  out_inv_r2):
    """Where every active beam points: the ITRS unit vector from its satellite to
    its cell centre (``out_dir``, (nbeam, 3)), its sine-space steering
    ``(u0, v0)`` in the satellite body frame (``out_uv``, (2, nbeam): two
    contiguous rows, as the interference sums read them) and 1 / range² to that
    centre (``out_inv_r2``, (nbeam,), km⁻²).
    ``beam_offsets`` is the CSR over (t, satellite) of the active beams."""
    nt = (beam_offsets.size - 1) // nsat
    for t in prange(nt):
        for s in range(nsat):
            ax = axes[s, t]
            for b in range(beam_offsets[t * nsat + s], beam_offsets[t * nsat + s + 1]):
                d0, d1, d2, rng = _unit_from(sat_pos[s, t], cell_pos[beam_cell[b]])
                out_dir[b, 0], out_dir[b, 1], out_dir[b, 2] = d0, d1, d2
                out_inv_r2[b] = 1.0 / (rng * rng)
                out_uv[0, b] = d0 * ax[0] + d1 * ax[1] + d2 * ax[2]
                out_uv[1, b] = d0 * ax[3] + d1 * ax[4] + d2 * ax[5]


@njit
def color_groups(offsets, color, ncolor):
    """Each CSR row of beams (``offsets``) grouped by colour, stably: ``(order,
    color_offsets, already)``, where ``order`` lists the beams row by row,
    colour by colour, ``color_offsets`` (nrow * ncolor + 1) bounds the
    (row, colour) groups in that order, and ``already`` says the beams were in
    it already (one colour, or grouped by whoever built them)."""
    nrow = offsets.size - 1
    counts = np.zeros(nrow * ncolor + 1, dtype=np.int64)
    already = True
    for r in range(nrow):
        last = -1
        for b in range(offsets[r], offsets[r + 1]):
            c = color[b]
            counts[r * ncolor + c + 1] += 1
            if c < last:
                already = False
            last = c
    for i in range(nrow * ncolor):
        counts[i + 1] += counts[i]
    order = np.empty(color.size, dtype=np.int64)
    if already:
        for b in range(color.size):
            order[b] = b
        return order, counts, True
    fill = counts[:-1].copy()
    for r in range(nrow):
        for b in range(offsets[r], offsets[r + 1]):
            i = r * ncolor + color[b]
            order[fill[i]] = b
            fill[i] += 1
    return order, counts, False


@njit
def steered_gain_lin(pattern, d0, d1, d2, ax, bdir, bu, bv, circ, rect):
    """Normalised gain (peak 1, scan loss excluded) toward the unit direction
    ``(d0, d1, d2)`` of a beam pointing along ``bdir`` (ITRS) with sine-space
    steering ``(bu, bv)``; ``circ = (table, ka_over_step, floor_lin)``,
    ``rect = (half_kl_x_rad, half_kl_y_rad, taper, floor_lin)``
    (``cell_engine.rect_args``)."""
    if pattern == PATTERN_CIRCULAR:
        cos_t = d0 * bdir[0] + d1 * bdir[1] + d2 * bdir[2]
        return pattern_gain_lin(cos_t, circ[1], circ[0], circ[2])
    u = d0 * ax[0] + d1 * ax[1] + d2 * ax[2]
    v = d0 * ax[3] + d1 * ax[4] + d2 * ax[5]
    w = d0 * ax[6] + d1 * ax[7] + d2 * ax[8]
    return rect_steered_gain_lin(u, v, w, bu, bv, rect[0], rect[1], rect[2], 1.0,
                                 rect[3])


@njit
def _color_range(beams, slot, color):
    """The beams of colour ``color`` of (step, satellite) ``slot``:
    ``beams.color_offsets`` rows (``ActiveBeams.of`` groups each row by colour)."""
    ncolor = (beams.color_offsets.size - 1) // (beams.offsets.size - 1)
    i = slot * ncolor + color
    if color >= ncolor:
        return beams.offsets[slot], beams.offsets[slot]
    return beams.color_offsets[i], beams.color_offsets[i + 1]


#: Floating-point freedom of the pattern sums: reassociation (so the sum over
#: beams runs in SIMD lanes) and fused multiply-add, nothing else: the sums
#: change at round-off level only (~1e-15 relative), and stay the same from run
#: to run on one machine.
_SUM_MATH = {"reassoc", "contract"}


@njit(fastmath=_SUM_MATH)
def pattern_sum(us, vs, phase, phase_base, ws, lo, hi, u, v, probe, half_kl_x_rad,
                half_kl_y_rad, taper, floor_lin):
    """``Σ_{b in lo:hi} w_b max(|F(kx (u - u_b)) F(ky (v - v_b))|², floor_lin)``:
    the rectangular aperture's power pattern (``_aperture_kernels.
    rect_pattern_lin``) between a probe direction ``(u, v)`` and each of
    ``(us[b], vs[b])`` in one sine space, weighted by ``ws[b]``; a negative
    weight stands for a direction behind the array and adds ``-w_b x
    floor_lin``. The interference sums of the cell kernel, in both directions
    (sinc² is even).

    The sines come from the angle-difference identity: ``phase`` holds each
    point's ``sin kx u_b, cos kx u_b, sin ky v_b, cos ky v_b`` (:func:`beam_phase`;
    point ``b`` in column ``b - phase_base``: the kernel keeps one step's
    beams' phases), ``probe`` the same four of ``(u, v)``
    (:func:`probe_phase`), so ``sin X = sin(kx u) cos(kx u_b) - cos(kx u)
    sin(kx u_b)`` costs two products (``_aperture_kernels.
    sinc_sq_parts_from_sin``; the cosine taper reads ``cos X`` the same way),
    and a beam costs one division. A plain loop over contiguous arrays with no
    branch but selects: it runs in SIMD lanes."""
    # slices indexed from 0: a loop over range(lo, hi) would let numba's
    # negative-index wraparound turn every load into a vector gather
    us, vs, ws = us[lo:hi], vs[lo:hi], ws[lo:hi]
    p0, p1 = lo - phase_base, hi - phase_base
    sxs, cxs, sys_, cys = phase[0, p0:p1], phase[1, p0:p1], phase[2, p0:p1], phase[3, p0:p1]
    su, cu, sv, cv = probe
    total = 0.0
    for b in range(ws.size):
        nx, dx = _field_sq_parts(half_kl_x_rad * (u - us[b]), su, cu, sxs[b], cxs[b], taper)
        ny, dy = _field_sq_parts(half_kl_y_rad * (v - vs[b]), sv, cv, sys_[b], cys[b], taper)
        g = max((nx * ny) / (dx * dy), floor_lin)
        w = ws[b]
        total += w * g if w >= 0.0 else -w * floor_lin
    return total


@njit(inline="always")
def _field_sq_parts(x, sa, ca, sb, cb, taper):
    """``(num, den)`` of the line source's |F(x)|² for the taper code, where
    ``x = k (a - b)`` and ``sa, ca, sb, cb`` are the sines and cosines of
    ``k a`` and ``k b`` (the test is loop-invariant: LLVM hoists it out of
    :func:`pattern_sum`'s loop)."""
    if taper == TAPER_COSINE:
        return cosine_taper_field_sq_parts_from_cos(x, ca * cb + sa * sb)
    return sinc_sq_parts_from_sin(x, sa * cb - ca * sb)


@njit(fastmath=_SUM_MATH)
def pattern_sum_f32(kus, kvs, phase, ws, lo, hi, u, v, probe, half_kl_x_rad, half_kl_y_rad,
                    taper, floor_lin, signed=True):
    """:func:`pattern_sum` in single precision (``link.interference_precision:
    float32``): the points' steering already times the pattern's constants,
    ``kus = kx u_b``, ``kvs = ky v_b`` (:func:`scaled_copy`; one subtraction per
    term instead of a subtraction and a product), ``ws`` and ``phase`` (point
    ``b`` in column ``b``) float32, the probe ``(u, v)`` times ``kx``, ``ky``
    and its phases cast to float32, the terms and their sum in float32: a SIMD
    lane holds twice the terms of the float64 sum. ``signed`` False: every
    weight is >= 0 (the downlink's interfering powers, the serving satellite's
    own 1 / r²), and the loop skips the test for a direction behind the array.
    Returns a float64. Against the float64 closed form
    (tests/test_cells_serve.py, a 2.7 m x 2.3 m array at 1992.5 MHz, offsets up
    to 2 in sine space): every term within 1e-5 of the peak and 5e-5 relative
    wherever above 1e-8 of it; a weighted sum within 2e-5 relative."""
    kus, kvs, ws = kus[lo:hi], kvs[lo:hi], ws[lo:hi]
    sxs, cxs, sys_, cys = phase[0, lo:hi], phase[1, lo:hi], phase[2, lo:hi], phase[3, lo:hi]
    f = np.float32
    su, cu, sv, cv = f(probe[0]), f(probe[1]), f(probe[2]), f(probe[3])
    ku, kv, floor = f(half_kl_x_rad * u), f(half_kl_y_rad * v), f(floor_lin)
    zero = f(0.0)
    total = f(0.0)
    if signed:
        for b in range(ws.size):
            nx, dx = _field_sq_parts_f32(ku - kus[b], su, cu, sxs[b], cxs[b], taper)
            ny, dy = _field_sq_parts_f32(kv - kvs[b], sv, cv, sys_[b], cys[b], taper)
            g = max((nx * ny) / (dx * dy), floor)
            w = ws[b]
            total += w * g if w >= zero else -w * floor
    else:
        for b in range(ws.size):
            nx, dx = _field_sq_parts_f32(ku - kus[b], su, cu, sxs[b], cxs[b], taper)
            ny, dy = _field_sq_parts_f32(kv - kvs[b], sv, cv, sys_[b], cys[b], taper)
            total += ws[b] * max((nx * ny) / (dx * dy), floor)
    return float(total)


@njit(inline="always")
def _field_sq_parts_f32(x, sa, ca, sb, cb, taper):
    """:func:`_field_sq_parts` in single precision."""
    if taper == TAPER_COSINE:
        return cosine_taper_field_sq_parts_from_cos_f32(x, ca * cb + sa * sb)
    return sinc_sq_parts_from_sin_f32(x, sa * cb - ca * sb)


@njit
def _pattern_sum_without_f32(kus, kvs, phase, ws, lo, hi, skip, u, v, probe, rect):
    """:func:`_pattern_sum_without` through :func:`pattern_sum_f32` (indices
    into the step's single-precision buffers, whose weights are >= 0)."""
    if lo <= skip < hi:
        return (pattern_sum_f32(kus, kvs, phase, ws, lo, skip, u, v, probe, rect[0], rect[1],
                                rect[2], rect[3], False)
                + pattern_sum_f32(kus, kvs, phase, ws, skip + 1, hi, u, v, probe, rect[0],
                                  rect[1], rect[2], rect[3], False))
    return pattern_sum_f32(kus, kvs, phase, ws, lo, hi, u, v, probe, rect[0], rect[1], rect[2],
                           rect[3], False)


@njit(inline="always")
def probe_phase(u, v, half_kl_x_rad, half_kl_y_rad):
    """``(sin kx u, cos kx u, sin ky v, cos ky v)`` of a probe direction, as
    :func:`pattern_sum` reads it."""
    su, cu = sin_cos(half_kl_x_rad * u)
    sv, cv = sin_cos(half_kl_y_rad * v)
    return su, cu, sv, cv


@njit
def beam_phase(us, vs, half_kl_x_rad, half_kl_y_rad, out=None):
    """``(4, n)``: ``sin kx u_b, cos kx u_b, sin ky v_b, cos ky v_b`` of every
    point, as :func:`pattern_sum` reads them (into the first n columns of
    ``out`` if given, in its dtype)."""
    if out is None:
        out = np.empty((4, us.size))
    _beam_phase_into(us, vs, half_kl_x_rad, half_kl_y_rad, out)
    return out


@njit(parallel=True)
def _beam_phase_into(us, vs, half_kl_x_rad, half_kl_y_rad, out):
    """:func:`beam_phase` into ``out`` (float64 or float32: rounded on storing)."""
    for b in prange(us.size):
        out[0, b], out[1, b], out[2, b], out[3, b] = probe_phase(us[b], vs[b], half_kl_x_rad,
                                                                 half_kl_y_rad)


@njit
def _pattern_sum_without(us, vs, phase, phase_base, ws, lo, hi, skip, u, v, probe, rect):
    """:func:`pattern_sum` over ``lo:hi`` less the term of index ``skip`` (left
    out, not subtracted: the serving beam's term dwarfs the others)."""
    if lo <= skip < hi:
        return (pattern_sum(us, vs, phase, phase_base, ws, lo, skip, u, v, probe, rect[0],
                            rect[1], rect[2], rect[3])
                + pattern_sum(us, vs, phase, phase_base, ws, skip + 1, hi, u, v, probe, rect[0],
                              rect[1], rect[2], rect[3]))
    return pattern_sum(us, vs, phase, phase_base, ws, lo, hi, u, v, probe, rect[0], rect[1],
                       rect[2], rect[3])


@njit
def _interference_w(geo, axes, beams, phase, phase_base, t, h, k0, k1, bs, color, pattern,
                    circ, rect, single):
    """Co-channel interference at handset ``h``, W before its G/T: every active
    beam of colour ``color`` other than ``bs`` of every satellite in its links
    ``k0:k1``, times its activity (``beams.interf_w`` = activity x EIRP).

    The handset's direction is turned into each satellite's body frame once
    per link; the rectangular pattern's sum over that satellite's beams of the
    colour is :func:`pattern_sum` (contiguous per-beam steering and weights),
    which is what makes it fast; with ``single[0]`` the sum is
    :func:`pattern_sum_f32` over the step's single-precision buffers
    (:func:`serve_cells`)."""
    nsat = geo.sat_pos_km.shape[0]
    floor_lin = rect[3]
    total = 0.0
    for k in range(k0, k1):
        s = geo.sat[k]
        e0, e1, e2, _ = _unit_from(geo.sat_pos_km[s, t], geo.handset_pos_km[h])
        lo, hi = _color_range(beams, t * nsat + s, color)
        link_total = 0.0
        if pattern == PATTERN_RECT:
            ax = axes[s, t]
            w = e0 * ax[6] + e1 * ax[7] + e2 * ax[8]
            if w <= 0.0:            # behind this satellite's array: the floor of every beam
                for b in range(lo, hi):
                    if b != bs:
                        link_total += beams.interf_w[b] * floor_lin
            else:
                u = e0 * ax[0] + e1 * ax[1] + e2 * ax[2]
                v = e0 * ax[3] + e1 * ax[4] + e2 * ax[5]
                probe = probe_phase(u, v, rect[0], rect[1])
                if single[0]:
                    link_total = _pattern_sum_without_f32(single[1], single[2], single[5],
                                                          single[3], lo - phase_base,
                                                          hi - phase_base, bs - phase_base,
                                                          u, v, probe, rect)
                else:
                    link_total = _pattern_sum_without(beams.u, beams.v, phase, phase_base,
                                                      beams.interf_w, lo, hi, bs, u, v, probe,
                                                      rect)
        else:
            for b in range(lo, hi):
                if b == bs:
                    continue
                cos_t = (e0 * beams.direction[b, 0] + e1 * beams.direction[b, 1]
                         + e2 * beams.direction[b, 2])
                link_total += beams.interf_w[b] * pattern_gain_lin(cos_t, circ[1], circ[0],
                                                                   circ[2])
        total += link_total * 10.0 ** (-geo.loss_db[k] / 10.0)
    return total


@njit(inline="always")
def _sees(sp, cp):
    """Ground point ``cp`` sees the satellite at ``sp`` above its (geocentric)
    horizon: ``(sp - cp) . cp > 0``."""
    return sp[0] * cp[0] + sp[1] * cp[1] + sp[2] * cp[2] > (
        cp[0] * cp[0] + cp[1] * cp[1] + cp[2] * cp[2])


@njit
def _uplink_link_rel(geo, cells, beams, phase, phase_base, t, s, bs, s2, color, pattern, circ,
                     rect, pairs, single):
    """Uplink co-channel interference into the receive beam ``bs`` of satellite
    ``s`` (a phone's serving beam) from the phones of satellite ``s2``'s cells,
    before the run's uplink coefficient (``RadioTerms.ul_interf_coeff``) and
    the beam's scan factor: the sum over every active beam of colour ``color``
    of ``s2`` other than ``bs`` of ``g / r²``, where one phone at that beam's
    cell centre transmits, ``g`` is the normalised gain of beam ``bs`` toward
    it and ``r`` (km) its range to ``s``; cells that do not see ``s`` above
    their horizon are skipped. It depends on the serving beam and ``s2`` only,
    not on where the phone is in its cell: :func:`serve_cells` computes it once
    per (serving beam, ``s2``) and every phone of the cell reads it.

    Rectangular pattern (:func:`pattern_sum`, probe: the beam's steering):
    the satellite's own cells are read from their beams' steering and range,
    the other satellites' from ``pairs`` (:func:`uplink_pairs`: their cells
    already turned into this satellite's frame, shared by every phone it
    serves). Circular pattern (``pairs`` empty): every cell is turned here.
    With ``single[0]`` the sums are :func:`pattern_sum_f32` (the step's
    buffers and the pairs' float32 copies, :func:`serve_cells`)."""
    nsat = geo.sat_pos_km.shape[0]
    slot = t * nsat + s2
    lo, hi = _color_range(beams, slot, color)
    if pattern != PATTERN_RECT:
        sp = geo.sat_pos_km[s, t]
        bd = beams.direction[bs]
        total = 0.0
        for b in range(lo, hi):
            if b == bs:
                continue
            cp = cells.centre_km[beams.cell[b]]
            if not _sees(sp, cp):
                continue
            d0, d1, d2, rng = _unit_from(sp, cp)
            g = pattern_gain_lin(d0 * bd[0] + d1 * bd[1] + d2 * bd[2], circ[1], circ[0],
                                 circ[2])
            total += g / (rng * rng)
        return total
    u0, v0 = beams.u[bs], beams.v[bs]
    if single[0]:       # the float64 phases are not kept: the probe's computed
        probe = probe_phase(u0, v0, rect[0], rect[1])
    else:
        j = bs - phase_base
        probe = (phase[0, j], phase[1, j], phase[2, j], phase[3, j])
    if s2 == s:
        # the serving satellite's own cells: each beam's steering is its cell's
        # direction in this very frame, and its range is stored
        if single[0]:
            return _pattern_sum_without_f32(single[1], single[2], single[5], single[4],
                                            lo - phase_base, hi - phase_base, bs - phase_base,
                                            u0, v0, probe, rect)
        return _pattern_sum_without(beams.u, beams.v, phase, phase_base, beams.inv_range2_km,
                                    lo, hi, bs, u0, v0, probe, rect)
    pair_key, pair_start, pu, pv, pinv, pphase = pairs
    pair = np.searchsorted(pair_key, s * nsat + s2)
    base = pair_start[pair] - beams.offsets[slot]
    if single[0]:
        return pattern_sum_f32(single[6], single[7], single[9], single[8], base + lo,
                               base + hi, u0, v0, probe, rect[0], rect[1], rect[2], rect[3],
                               True)
    return pattern_sum(pu, pv, pphase, 0, pinv, base + lo, base + hi, u0, v0, probe, rect[0],
                       rect[1], rect[2], rect[3])


@njit
def _turn_cells(t, s, s2, geo, axes, beams, centres, base, at, pu, pv, pinv, pphase, rect,
                scaled):
    """The cells of satellite ``s2``'s beams at step ``t`` in satellite ``s``'s
    sine space, from ``at``: ``pu``, ``pv`` (with ``scaled``, times the
    pattern's ``kx``, ``ky``: what :func:`pattern_sum_f32` reads), their phases
    ``pphase`` (:func:`beam_phase`) and ``pinv`` = 1 / r² (km⁻²; 0 when the
    cell does not see ``s`` above its horizon, negative when it lies behind
    ``s``'s array). ``centres`` (3, n) holds the cell centres (ITRS, km) of the
    step's beams, beam ``b`` in column ``b - base``. Written branch-free (every
    cell turned, the cases chosen by selects) over contiguous slices, so the
    loops run in SIMD lanes."""
    nsat = geo.sat_pos_km.shape[0]
    s0, s1, s2_ = geo.sat_pos_km[s, t, 0], geo.sat_pos_km[s, t, 1], geo.sat_pos_km[s, t, 2]
    a0, a1, a2 = axes[s, t, 0], axes[s, t, 1], axes[s, t, 2]
    a3, a4, a5 = axes[s, t, 3], axes[s, t, 4], axes[s, t, 5]
    a6, a7, a8 = axes[s, t, 6], axes[s, t, 7], axes[s, t, 8]
    kx, ky = rect[0], rect[1]
    # stored times (sx, sy); the phases are then of the stored values times (px, py)
    sx, sy = (kx, ky) if scaled else (1.0, 1.0)
    px, py = (1.0, 1.0) if scaled else (kx, ky)
    slot = t * nsat + s2
    i0, i1 = beams.offsets[slot] - base, beams.offsets[slot + 1] - base
    n = i1 - i0
    cx, cy, cz = centres[0, i0:i1], centres[1, i0:i1], centres[2, i0:i1]
    ou, ov, oi = pu[at:at + n], pv[at:at + n], pinv[at:at + n]
    for i in range(n):
        c0, c1, c2 = cx[i], cy[i], cz[i]
        # the cell sees s above its horizon (``_sees``)
        sees = s0 * c0 + s1 * c1 + s2_ * c2 > c0 * c0 + c1 * c1 + c2 * c2
        d0, d1, d2 = c0 - s0, c1 - s1, c2 - s2_
        rng = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        d0, d1, d2 = d0 / rng, d1 / rng, d2 / rng
        inv = 1.0 / (rng * rng)
        front = d0 * a6 + d1 * a7 + d2 * a8 > 0.0
        lit = sees & front
        u = d0 * a0 + d1 * a1 + d2 * a2
        v = d0 * a3 + d1 * a4 + d2 * a5
        u = u if lit else 0.0
        v = v if lit else 0.0
        inv = inv if front else -inv
        ou[i] = sx * u
        ov[i] = sy * v
        oi[i] = inv if sees else 0.0
    # the phases in a loop of their own (fewer arrays per loop: it stays in lanes)
    us, vs = pu[at:at + n], pv[at:at + n]
    ps, pc = pphase[0, at:at + n], pphase[1, at:at + n]
    for i in range(us.size):
        ps[i], pc[i] = sin_cos(px * us[i])
    ps, pc = pphase[2, at:at + n], pphase[3, at:at + n]
    for i in range(vs.size):
        ps[i], pc[i] = sin_cos(py * vs[i])


@njit(parallel=True)
def uplink_pairs(t, geo, axes, cells, beams, rect, like):
    """The (serving satellite ``s``, other satellite ``s2`` in a served phone's
    links) pairs of step ``t`` and, for each, ``s2``'s cells in ``s``'s frame
    (:func:`_turn_cells`), computed once for all the phones ``s`` serves.
    Returns ``(pair_key, pair_start, pu, pv, pinv, pphase)``: the keys ``s *
    nsat + s2`` ascending (a phone finds its pair by binary search: no nsat²
    table), and the CSR of the turned cells (``rect``: the pattern's
    arguments, ``cell_engine.rect_args``, for the phases) in the dtype of
    ``like`` (an empty array: float64, or float32 for the single-precision
    sums, whose ``pu``, ``pv`` are then times the pattern's ``kx``, ``ky``, as
    :func:`pattern_sum_f32` reads them; computed in float64 and rounded on
    storing)."""
    nsat = geo.sat_pos_km.shape[0]
    scaled = like.itemsize == 4
    nh = cells.handset_cell.size
    every = np.empty(geo.offsets[(t + 1) * nh] - geo.offsets[t * nh], dtype=np.int64)
    m = 0
    for h in range(nh):
        s = cells.sat[t, cells.handset_cell[h]]
        if s < 0:
            continue
        for k in range(geo.offsets[t * nh + h], geo.offsets[t * nh + h + 1]):
            if geo.sat[k] != s:
                every[m] = s * nsat + geo.sat[k]
                m += 1
    keys = np.unique(every[:m])
    n = keys.size
    start = np.zeros(n + 1, dtype=np.int64)
    for p in range(n):
        slot = t * nsat + keys[p] % nsat
        start[p + 1] = start[p] + beams.offsets[slot + 1] - beams.offsets[slot]
    pu = np.empty(start[n], dtype=like.dtype)
    pv = np.empty(start[n], dtype=like.dtype)
    pinv = np.empty(start[n], dtype=like.dtype)
    pphase = np.empty((4, start[n]), dtype=like.dtype)
    # the step's beams' cell centres, contiguous (one gather per beam, not per pair)
    base = beams.offsets[t * nsat]
    nb = beams.offsets[(t + 1) * nsat] - base
    centres = np.empty((3, nb))
    for i in prange(nb):
        c = beams.cell[base + i]
        centres[0, i] = cells.centre_km[c, 0]
        centres[1, i] = cells.centre_km[c, 1]
        centres[2, i] = cells.centre_km[c, 2]
    for p in prange(n):
        _turn_cells(t, keys[p] // nsat, keys[p] % nsat, geo, axes, beams, centres, base,
                    start[p], pu, pv, pinv, pphase, rect, scaled)
    return keys, start, pu, pv, pinv, pphase


@njit
def _centre_offsets(sat_pos, sat_vel, centre, link_rate_km_s, link_range_km, dl_freq_hz):
    """Residual Doppler (Hz) and differential delay (s) of a link after the
    satellite pre-compensates for the cell centre: the link's Doppler and delay
    minus the centre's."""
    r0, r1, r2 = centre[0] - sat_pos[0], centre[1] - sat_pos[1], centre[2] - sat_pos[2]
    range_c = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
    rate_c = -(r0 * sat_vel[0] + r1 * sat_vel[1] + r2 * sat_vel[2]) / range_c
    return (-dl_freq_hz * (link_rate_km_s - rate_c) / _C_KM_S,
            (link_range_km - range_c) / _C_KM_S)


@njit
def _serve_handset(t, h, geo, axes, cells, beams, phase, phase_base, radio, rules, pattern, circ,
                   rect, pairs, single, bs, ul_sat, ul_rel, n_ul, out):
    """:func:`serve_cells` for one handset at one step (a separate function:
    numba's parallel loops do not write through named-tuple fields); ``bs`` is
    its cell's beam at this step (-1 none). ``ul_sat[:n_ul]`` / ``ul_rel`` hold
    the uplink interference terms (:func:`_uplink_link_rel`) its cell's phones
    computed before it at this step, by satellite; the phone adds those it
    computes and returns the new count."""
    nh = geo.handset_pos_km.shape[0]
    c = cells.handset_cell[h]
    s = cells.sat[t, c]
    k0, k1 = geo.offsets[t * nh + h], geo.offsets[t * nh + h + 1]
    ks = -1
    if s >= 0 and bs >= 0:
        for k in range(k0, k1):
            if geo.sat[k] == s:
                ks = k
                break
    if ks < 0:
        write_no_link(out, t, h, NO_BEAM if cells.reason[t, c] == CELL_NO_BEAM
                      else NO_SATELLITE)
        return n_ul
    d0, d1, d2, _ = _unit_from(geo.sat_pos_km[s, t], geo.handset_pos_km[h])
    g = steered_gain_lin(pattern, d0, d1, d2, axes[s, t], beams.direction[bs],
                         beams.u[bs], beams.v[bs], circ, rect)
    p = beams.eirp_w[bs] * g * 10.0 ** (-geo.loss_db[ks] / 10.0)
    interf = _interference_w(geo, axes, beams, phase, phase_base, t, h, k0, k1, bs,
                             cells.color[c], pattern, circ, rect, single)
    sinr = 10.0 * math.log10(p / (radio.dl_noise_lin + interf))
    resid, ddel = _centre_offsets(geo.sat_pos_km[s, t], geo.sat_vel_km_s[s, t],
                                  cells.centre_km[c], geo.range_rate_km_s[ks],
                                  geo.range_km[ks], radio.dl_freq_hz)
    # a phone camps on its cell's beam: no beam-edge test (gain 1 passes it)
    write_link(out, t, h, geo, ks, c, p, g, sinr, resid, ddel, radio,
               link_status(1.0, sinr, resid, ddel, rules))
    # uplink: the same array receives, so its scan factor applies as on the downlink;
    # other cells' phones interfere through the serving beam's pattern
    scan = beams.scan_lin[bs]
    ul_snr = radio.ul_offset_db + 10.0 * math.log10(g * scan) - geo.loss_db[ks]
    out.ul_snr_db[t, h] = ul_snr
    i_over_n = 0.0
    if radio.ul_interf_coeff > 0.0:
        # the phones of every satellite in the handset's links (the cells whose
        # beams interfere on its downlink hold the phones that interfere on its
        # uplink), each satellite's term (:func:`_uplink_link_rel`) read from the
        # cell's phones before this one where they had it (the same value: it
        # depends on the serving beam and the satellite alone)
        total = 0.0
        for k in range(k0, k1):
            s2 = geo.sat[k]
            j = 0
            while j < n_ul and ul_sat[j] != s2:
                j += 1
            if j < n_ul:
                term = ul_rel[j]
            else:
                term = _uplink_link_rel(geo, cells, beams, phase, phase_base, t, s, bs, s2,
                                        cells.color[c], pattern, circ, rect, pairs, single)
                if n_ul < ul_sat.size:
                    ul_sat[n_ul] = s2
                    ul_rel[n_ul] = term
                    n_ul += 1
            total += term
        i_over_n = radio.ul_interf_coeff * scan * total
    out.ul_sinr_db[t, h] = ul_snr - 10.0 * math.log10(1.0 + i_over_n)
    return n_ul


@njit(parallel=True)
def _copy_into(src, dst):
    """``dst[:src.size] = src`` (cast to ``dst``'s dtype)."""
    for i in prange(src.size):
        dst[i] = src[i]


@njit(parallel=True)
def scaled_copy(src, k, dst):
    """``dst[:src.size] = k * src``, the product in float64, rounded to ``dst``'s
    dtype on storing: the steering :func:`pattern_sum_f32` reads."""
    for i in prange(src.size):
        dst[i] = k * src[i]


@njit
def handsets_by_cell(handset_cell, ncell):
    """The handsets grouped by cell: ``(start, handsets)``, a CSR over the cells
    that hold any (``start`` (ngroup + 1,)), handsets ascending in each."""
    nh = handset_cell.size
    count = np.zeros(ncell + 1, dtype=np.int64)
    for h in range(nh):
        count[handset_cell[h] + 1] += 1
    for c in range(ncell):
        count[c + 1] += count[c]
    fill = count[:-1].copy()
    handsets = np.empty(nh, dtype=np.int64)
    for h in range(nh):
        handsets[fill[handset_cell[h]]] = h
        fill[handset_cell[h]] += 1
    ngroup = 0
    for c in range(ncell):
        if count[c + 1] > count[c]:
            ngroup += 1
    start = np.zeros(ngroup + 1, dtype=np.int64)
    g = 0
    for c in range(ncell):
        if count[c + 1] > count[c]:
            start[g + 1] = start[g] + count[c + 1] - count[c]
            g += 1
    return start, handsets


@njit
def cell_beams(beams, t, nsat, out):
    """Each cell's beam at step ``t`` (index into ``beams``, -1 none) into
    ``out`` (ncell,): a cell has at most one, its serving satellite's."""
    out[:] = -1
    for b in range(beams.offsets[t * nsat], beams.offsets[(t + 1) * nsat]):
        out[beams.cell[b]] = b


@njit
def doppler_rate_check_cells(status, sat, sat_pos_km, sat_vel_km_s, handset_pos_km,
                             handset_cell, centre_km, dl_freq_hz, max_rate_hz_s):
    """Served phones (status SERVED) whose residual Doppler after the cell
    centre's pre-compensation changes faster than ``max_rate_hz_s``
    (``_kernels.resid_doppler_rate_fixed``) become DOPPLER_RATE, in place."""
    nt, nh = status.shape
    for t in range(nt):
        for h in range(nh):
            if status[t, h] != SERVED:
                continue
            s = sat[t, h]
            rate = resid_doppler_rate_fixed(sat_pos_km[s, t], sat_vel_km_s[s, t],
                                            handset_pos_km[h], centre_km[handset_cell[h]],
                                            dl_freq_hz)
            if not abs(rate) <= max_rate_hz_s:
                status[t, h] = DOPPLER_RATE


@njit(parallel=True)
def serve_cells(geo, axes, cells, beams, radio, rules, pattern, circ, rect, out, like):
    """Downlink SNR / SINR, uplink SNR, residual Doppler and differential delay
    of every handset in its Earth-fixed cell, for one chunk of time steps.

    ``geo`` (``engine.LinkGeometry``): the CSR links of each (t, handset) with
    their losses; ``axes`` the satellites' body frames (:func:`body_axes`).
    ``cells`` (``cell_engine.CellServing``): each handset's cell, each cell's
    colour, centre, serving satellite and reason per step. ``beams``
    (``cell_engine.ActiveBeams``): the CSR over (t, satellite) of the active
    beams with their cell, EIRP (W, scan loss included), activity, pointing.
    ``radio`` / ``rules`` (``engine.RadioTerms`` / ``ServingRules``); ``out``
    (``engine.LinkOutputs``).

    The serving beam of a handset is its cell's beam, pointed at the cell
    centre; the satellite pre-compensates Doppler and delay for that centre, so
    the phone sees only the difference between its own and the centre's (and
    the satellite's receiver twice that on the uplink); the status is
    ``_kernels.link_status`` without the beam-edge test.
    Interference: every other active beam of the same colour of every satellite
    in the handset's link list, scaled by that beam's activity. Uplink (with
    ``radio.ul_interf_coeff`` > 0): the phones of the same cells, one at each
    centre, through the serving satellite's receive beam
    (:func:`_uplink_link_rel`); the other satellites' cells are turned
    into each serving satellite's frame once per step (:func:`uplink_pairs`).

    Steps run one after the other, the cells of a step in parallel, each cell's
    handsets in turn: a step's beams (~35,000 over the contiguous US with every
    cell lit, 2 MB) then stay in cache while every handset reads them, and the
    phones of a cell compute the uplink interference into their (common)
    serving beam from each satellite once (:func:`_uplink_link_rel`: it does
    not depend on where the phone is in the cell), with the same result.

    ``like``: an empty float array whose dtype the interference sums take.
    float32 (``link.interference_precision: float32``, rectangular pattern):
    the sums run in float32 (:func:`pattern_sum_f32`) over single-precision
    copies of each step's beams and uplink pairs (numba compiles one kernel per
    dtype); the serving link's power, SNR and everything else stay float64.
    """
    nt, nh = out.sat.shape
    nsat = geo.sat_pos_km.shape[0]
    use_pairs = radio.ul_interf_coeff > 0.0 and pattern == PATTERN_RECT
    none_i = np.zeros(1, dtype=np.int64)
    group_start, group_handsets = handsets_by_cell(cells.handset_cell, cells.sat.shape[1])
    ngroup = group_start.size - 1
    max_links = 0
    for i in range(nt * nh):
        max_links = max(max_links, geo.offsets[i + 1] - geo.offsets[i])
    ul_sat = np.empty((ngroup, max_links), dtype=np.int64)
    ul_rel = np.empty((ngroup, max_links))
    beam_of = np.empty(cells.sat.shape[1], dtype=np.int64)
    # the phases of one step's beams (pattern_sum), kept for that step only
    step_beams = 0
    for t in range(nt):
        step_beams = max(step_beams, beams.offsets[(t + 1) * nsat] - beams.offsets[t * nsat])
    single = like.itemsize == 4 and pattern == PATTERN_RECT
    phase = np.zeros((4, step_beams if pattern == PATTERN_RECT and not single else 0))
    # in single precision, the step's steering (times kx, ky: pattern_sum_f32),
    # interfering power, 1 / r² and phases as float32 (the float64 phases are
    # then not kept)
    n32 = step_beams if single else 0
    u32, v32 = np.zeros(n32, dtype=like.dtype), np.zeros(n32, dtype=like.dtype)
    w32, r32 = np.zeros(n32, dtype=like.dtype), np.zeros(n32, dtype=like.dtype)
    ph32 = np.zeros((4, n32), dtype=like.dtype)
    for t in range(nt):
        base = beams.offsets[t * nsat]
        if pattern == PATTERN_RECT:
            end = beams.offsets[(t + 1) * nsat]
            if single:
                _beam_phase_into(beams.u[base:end], beams.v[base:end], rect[0], rect[1],
                                 ph32)
                scaled_copy(beams.u[base:end], rect[0], u32)
                scaled_copy(beams.v[base:end], rect[1], v32)
                _copy_into(beams.interf_w[base:end], w32)
                _copy_into(beams.inv_range2_km[base:end], r32)
            else:
                _beam_phase_into(beams.u[base:end], beams.v[base:end], rect[0], rect[1],
                                 phase)
        if use_pairs:
            pairs = uplink_pairs(t, geo, axes, cells, beams, rect, like)
        else:
            none_p = np.zeros(0, dtype=like.dtype)
            pairs = (none_i[:0], none_i, none_p, none_p, none_p, np.zeros((4, 0), like.dtype))
        single_args = (single, u32, v32, w32, r32, ph32, pairs[2], pairs[3], pairs[4],
                       pairs[5])
        cell_beams(beams, t, nsat, beam_of)
        for g in prange(ngroup):
            n_ul = 0
            for i in range(group_start[g], group_start[g + 1]):
                h = group_handsets[i]
                n_ul = _serve_handset(t, h, geo, axes, cells, beams, phase, base, radio, rules,
                                      pattern, circ, rect, pairs, single_args,
                                      beam_of[cells.handset_cell[h]],
                                      ul_sat[g], ul_rel[g], n_ul, out)


@njit
def cells_reaching(cell_sat, needed, color, nsat):
    """The assignment ``cell_sat`` ((nt, ncell), -1 none) keeping only the cells
    whose (satellite, colour) is ``needed[t, sat, colour]`` (the others -1), and
    the beams each satellite lights in the full assignment ((nt * nsat,)), in
    one pass (``satsim.link.substeps``: the beams that reach a few phones)."""
    nt, ncell = cell_sat.shape
    kept = np.empty_like(cell_sat)
    per_sat = np.zeros(nt * nsat, dtype=np.int64)
    for t in range(nt):
        for c in range(ncell):
            s = cell_sat[t, c]
            kept[t, c] = -1
            if s >= 0:
                per_sat[t * nsat + s] += 1
                if needed[t, s, color[c]]:
                    kept[t, c] = s
    return kept, per_sat


@njit
def linked_satellites(offsets, sat, nt, nsat):
    """``(nt * nsat,)`` uint8: 1 where a satellite is in some handset's links at a
    step (``offsets``: the CSR of the links over (step, handset), ``sat`` theirs)."""
    out = np.zeros(nt * nsat, dtype=np.uint8)
    nh = (offsets.size - 1) // max(nt, 1)
    for t in range(nt):
        for k in range(offsets[t * nh], offsets[(t + 1) * nh]):
            out[t * nsat + sat[k]] = 1
    return out


@njit
def beam_counts(cell_sat, nsat, color, ncolor):
    """The CSR bounds of the beams :func:`fill_beams` lays out: ``color_offsets``
    ((nt * nsat * ncolor + 1,)) over (step, satellite, colour) of the cells
    assigned in ``cell_sat`` ((nt, ncell), -1 none)."""
    nt, ncell = cell_sat.shape
    bounds = np.zeros(nt * nsat * ncolor + 1, dtype=np.int64)
    for t in range(nt):
        for c in range(ncell):
            s = cell_sat[t, c]
            if s >= 0:
                bounds[(t * nsat + s) * ncolor + color[c] + 1] += 1
    for i in range(nt * nsat * ncolor):
        bounds[i + 1] += bounds[i]
    return bounds


@njit(parallel=True)
def fill_beams(cell_sat, nsat, color, color_offsets, sat_pos, axes, cell_pos, eirp_ts,
               scan_exponent, activity, cell, beam_color, direction, u, v, inv_r2, scan,
               eirp_w, interf_w, needed):
    """Every active beam of a chunk in one pass per step, as ``cell_engine.
    ActiveBeams`` holds them: row (step, satellite) by row, colour by colour,
    cells ascending (``color_offsets`` from :func:`beam_counts`); its cell,
    colour, pointing (:func:`beam_pointing`), scan factor ``cos^n`` of its
    steering (``sqrt(1 - u0² - v0²)`` clipped to [0, 1]; 1 when ``scan_exponent``
    is 0), EIRP (``eirp_ts`` of its (step, satellite), W, times the scan factor)
    and interfering power (``activity`` x EIRP). Only the beams of the (step,
    satellite)s ``needed`` marks ((nt * nsat,), uint8) are pointed; the others
    get their cell and colour only, the rest left as the caller allocated it
    (zeros: a block of handsets reads no satellite outside its links)."""
    nt, ncell = cell_sat.shape
    ncolor = (color_offsets.size - 1) // (nt * nsat)
    for t in prange(nt):
        fill = color_offsets[t * nsat * ncolor:(t + 1) * nsat * ncolor].copy()
        for c in range(ncell):
            s = cell_sat[t, c]
            if s < 0:
                continue
            i = s * ncolor + color[c]
            b = fill[i]
            fill[i] += 1
            cell[b] = c
            beam_color[b] = color[c]
            if needed[t * nsat + s] == 0:   # left as allocated (zeros)
                continue
            ax = axes[s, t]
            d0, d1, d2, rng = _unit_from(sat_pos[s, t], cell_pos[c])
            direction[b, 0], direction[b, 1], direction[b, 2] = d0, d1, d2
            inv_r2[b] = 1.0 / (rng * rng)
            bu = d0 * ax[0] + d1 * ax[1] + d2 * ax[2]
            bv = d0 * ax[3] + d1 * ax[4] + d2 * ax[5]
            u[b] = bu
            v[b] = bv
            f = 1.0
            if scan_exponent != 0.0:
                f = math.sqrt(min(max(1.0 - (bu * bu + bv * bv), 0.0), 1.0)) ** scan_exponent
            scan[b] = f
            e = eirp_ts[t * nsat + s] * f
            eirp_w[b] = e
            interf_w[b] = activity * e
