"""Numba kernels of the orbit layer, on plain float arrays (km, km/s, rad).

Nothing here knows about units objects, validation or satsim classes: the
callers in ``propagation.py`` and ``geometry.py`` prepare contiguous float64
arrays and interpret the results.

Visibility pruning ("sky grid"): the unit cube ``[-1, 1]^3`` is cut into
``n^3`` cubic cells of side ``cell`` at least the chord of the largest
Earth-central angle ``lam`` at which any satellite of the chunk can be above
the elevation mask. A handset can only see satellites whose direction from
the Earth's centre lies in its own cell or one of the 26 neighbours, and of
those only ones with ``dot(u_handset, u_sat) >= cos(lam)``. So each handset
tests a handful of satellites per time step, not all of them, and the cost
grows with the number of visible pairs, not satellites x handsets.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit


@njit
def teme_to_itrs_inplace(r, v, theta, omega):
    """Rotate TEME states to ITRS in place: ``rot_z(-theta)`` and Earth rotation.

    r, v : (nsat, ntime, 3) float64, km and km/s; theta : (ntime,) GMST rad;
    omega : Earth rotation rate, rad/s. ``v_itrs = R v - omega x r_itrs``.
    """
    nsat, ntime = r.shape[0], r.shape[1]
    c = np.cos(theta)
    s = np.sin(theta)
    for i in range(nsat):
        for t in range(ntime):
            x = r[i, t, 0]
            y = r[i, t, 1]
            xr = c[t] * x + s[t] * y
            yr = -s[t] * x + c[t] * y
            r[i, t, 0] = xr
            r[i, t, 1] = yr
            vx = v[i, t, 0]
            vy = v[i, t, 1]
            v[i, t, 0] = c[t] * vx + s[t] * vy + omega * yr
            v[i, t, 1] = -s[t] * vx + c[t] * vy - omega * xr


@njit
def mask_failed_inplace(r, v, status):
    """Set positions and velocities to NaN wherever ``status != 0``."""
    nsat, ntime = status.shape
    for i in range(nsat):
        for t in range(ntime):
            if status[i, t] != 0:
                for k in range(3):
                    r[i, t, k] = np.nan
                    v[i, t, k] = np.nan


@njit
def _cell_of(x, y, z, cell, n):
    ix = min(int((x + 1.0) / cell), n - 1)
    iy = min(int((y + 1.0) / cell), n - 1)
    iz = min(int((z + 1.0) / cell), n - 1)
    return ix, iy, iz


@njit
def _bin_satellites(r, t, cell, n):
    """Counting sort of the valid satellites at time index ``t`` into sky cells.

    Returns (cell_start (n^3+1,), order (nsat,), unit vectors (nsat, 3)).
    """
    nsat = r.shape[0]
    ncell = n * n * n
    cell_id = np.full(nsat, -1, dtype=np.int64)
    units = np.empty((nsat, 3))
    counts = np.zeros(ncell + 1, dtype=np.int64)
    for i in range(nsat):
        x = r[i, t, 0]
        if x != x:  # NaN: SGP4 failed for this satellite at this time
            continue
        y = r[i, t, 1]
        z = r[i, t, 2]
        norm = math.sqrt(x * x + y * y + z * z)
        ux, uy, uz = x / norm, y / norm, z / norm
        units[i, 0], units[i, 1], units[i, 2] = ux, uy, uz
        ix, iy, iz = _cell_of(ux, uy, uz, cell, n)
        c = (ix * n + iy) * n + iz
        cell_id[i] = c
        counts[c + 1] += 1
    for c in range(ncell):
        counts[c + 1] += counts[c]
    fill = counts[:-1].copy()
    order = np.empty(nsat, dtype=np.int64)
    for i in range(nsat):
        c = cell_id[i]
        if c >= 0:
            order[fill[c]] = i
            fill[c] += 1
    return counts, order, units


@njit(parallel=True)
def bin_satellites_steps(r, cell, n):
    """:func:`_bin_satellites` at every time index: ``(cell_start (nt, n^3+1),
    order (nt, nsat), unit vectors (nt, nsat, 3))``."""
    nsat, ntime = r.shape[0], r.shape[1]
    starts = np.empty((ntime, n * n * n + 1), dtype=np.int64)
    orders = np.empty((ntime, nsat), dtype=np.int64)
    units = np.empty((ntime, nsat, 3))
    for t in prange(ntime):
        counts, order, u = _bin_satellites(r, t, cell, n)
        starts[t] = counts
        orders[t] = order
        units[t] = u
    return starts, orders, units


@njit
def _candidates(group_cell, counts, order, n, out):
    """Satellites in the 27 sky cells around ``group_cell`` (clipped at the
    cube's faces). Fills ``out`` and returns how many were written.
    """
    gx, gy, gz = group_cell[0], group_cell[1], group_cell[2]
    m = 0
    for ix in range(max(gx - 1, 0), min(gx + 2, n)):
        for iy in range(max(gy - 1, 0), min(gy + 2, n)):
            for iz in range(max(gz - 1, 0), min(gz + 2, n)):
                c = (ix * n + iy) * n + iz
                for k in range(counts[c], counts[c + 1]):
                    out[m] = order[k]
                    m += 1
    return m


@njit(parallel=True)
def scan_links(
    r, v, h_pos, h_unit, h_east, h_north, h_up, group_start, group_cell, h_order,
    cos_lam, cell, n, sin_min_el, fill, counts_out, offsets,
    sat_out, elev_out, az_out, range_out, rate_out,
):
    """Find the satellites at or above the elevation mask per (time, handset).

    r, v : (nsat, ntime, 3) ITRS km, km/s (NaN = invalid); h_pos, h_unit,
    h_east, h_north, h_up : (nh, 3) handset ITRS position km, geocentric unit
    vector and geodetic east / north / up; handsets grouped by sky cell:
    ``h_order[group_start[g]:group_start[g+1]]`` are the handsets of cell
    ``group_cell[g]`` (3 ints).

    With ``fill`` False, writes the number of visible satellites to
    ``counts_out[t, h]`` ((ntime, nh) int32; the link arrays are unused).
    With ``fill`` True, writes every link of (t, h) at
    ``offsets[t*nh + h] : offsets[t*nh + h + 1]`` (from the cumulative sum
    of a counting pass) in increasing satellite order: satellite index,
    elevation and azimuth (from north through east; not written when
    ``az_out`` is empty) in degrees in the
    geodetic east-north-up frame, range km, and range rate km/s (positive
    receding), ``d . v_sat / |d|`` since the handset is fixed in ITRS.
    """
    nsat, ntime = r.shape[0], r.shape[1]
    nh = h_pos.shape[0]
    ngroup = group_cell.shape[0]
    rad2deg = 180.0 / math.pi
    for t in prange(ntime):
        counts, order, units = _bin_satellites(r, t, cell, n)
        cand = np.empty(nsat, dtype=np.int64)
        for g in range(ngroup):
            m = _candidates(group_cell[g], counts, order, n, cand)
            if m == 0:
                continue
            if fill:
                # increasing satellite index within each (t, h), whatever the cell order
                cand[:m].sort()
            for k in range(group_start[g], group_start[g + 1]):
                h = h_order[k]
                pos = offsets[t * nh + h] if fill else 0
                nvis = 0
                for j in range(m):
                    s = cand[j]
                    if (
                        h_unit[h, 0] * units[s, 0]
                        + h_unit[h, 1] * units[s, 1]
                        + h_unit[h, 2] * units[s, 2]
                    ) < cos_lam:
                        continue
                    dx = r[s, t, 0] - h_pos[h, 0]
                    dy = r[s, t, 1] - h_pos[h, 1]
                    dz = r[s, t, 2] - h_pos[h, 2]
                    rng = math.sqrt(dx * dx + dy * dy + dz * dz)
                    du = dx * h_up[h, 0] + dy * h_up[h, 1] + dz * h_up[h, 2]
                    if du < sin_min_el * rng:
                        continue
                    nvis += 1
                    if not fill:
                        continue
                    de = dx * h_east[h, 0] + dy * h_east[h, 1] + dz * h_east[h, 2]
                    dn = dx * h_north[h, 0] + dy * h_north[h, 1] + dz * h_north[h, 2]
                    sat_out[pos] = s
                    elev_out[pos] = math.atan2(du, math.sqrt(de * de + dn * dn)) * rad2deg
                    if az_out.size:  # empty: the caller does not want azimuths
                        az = math.atan2(de, dn) * rad2deg
                        az_out[pos] = az + 360.0 if az < 0.0 else az
                    range_out[pos] = rng
                    rate_out[pos] = (dx * v[s, t, 0] + dy * v[s, t, 1] + dz * v[s, t, 2]) / rng
                    pos += 1
                if not fill:
                    counts_out[t, h] = nvis
