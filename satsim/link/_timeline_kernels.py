"""Numba kernels of :mod:`satsim.link.timeline`: one pass over a stretch of samples
where the numpy form made a dozen full ``(steps, handsets)`` temporaries.

Each kernel computes exactly what the numpy expression in its caller's docstring
says, in the same float64 operations and order (no fastmath: bit-identical to the
numpy form, tested in tests/test_service_edges.py)."""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit


@njit(parallel=True)
def service_edge_before_s(t, status, sinr, resid, ddel, elev, rate, sat, beam, has_sat_beam,
                          codes, limits, ul_coeff, min_elev_deg):
    """:func:`satsim.link.timeline.service_edges_s`'s answer, (n, nh) float32.

    ``codes`` = (SERVED, LOW_SINR, DOPPLER, UPLINK_DOPPLER, DELAY, NO_SATELLITE);
    ``limits`` = (min_sinr_db, max_doppler_hz, max_ul_doppler_hz, max_delay_s);
    ``ul_coeff`` = 2 ul_over_dl. ``sat`` / ``beam`` are read only with
    ``has_sat_beam``."""
    n = t.size - 1
    nh = status.shape[1]
    out = np.empty((n, nh), np.float32)
    served_code, low_sinr, doppler, ul_doppler, delay, no_sat = (
        codes[0], codes[1], codes[2], codes[3], codes[4], codes[5])
    for k in prange(n):
        dt = t[k + 1] - t[k]
        for h in range(nh):
            s0 = status[k, h] == served_code
            s1 = status[k + 1, h] == served_code
            if s0 == s1:
                out[k, h] = np.nan
                continue
            code = status[k + 1, h] if s0 else status[k, h]
            frac = 0.5
            if code == no_sat:
                if s0:    # service ends: the satellite of sample k sets
                    f = (np.float64(elev[k, h]) - min_elev_deg) / (-np.float64(rate[k, h])) / dt
                else:     # begins: that of k + 1 rises
                    f = 1.0 - (np.float64(elev[k + 1, h]) - min_elev_deg) / np.float64(
                        rate[k + 1, h]) / dt
                if math.isfinite(f) and 0.0 <= f <= 1.0:
                    frac = f
            elif code == low_sinr or code == doppler or code == ul_doppler or code == delay:
                same = True
                if has_sat_beam:
                    same = sat[k, h] == sat[k + 1, h] and beam[k, h] == beam[k + 1, h]
                if same:
                    if code == low_sinr:
                        m0 = np.float64(sinr[k, h]) - limits[0]
                        m1 = np.float64(sinr[k + 1, h]) - limits[0]
                    elif code == doppler:
                        m0 = limits[1] - abs(np.float64(resid[k, h]))
                        m1 = limits[1] - abs(np.float64(resid[k + 1, h]))
                    elif code == ul_doppler:
                        m0 = limits[2] - ul_coeff * abs(np.float64(resid[k, h]))
                        m1 = limits[2] - ul_coeff * abs(np.float64(resid[k + 1, h]))
                    else:
                        m0 = limits[3] - abs(np.float64(ddel[k, h]))
                        m1 = limits[3] - abs(np.float64(ddel[k + 1, h]))
                    f = m0 / (m0 - m1)
                    if math.isfinite(f) and 0.0 <= f <= 1.0:
                        frac = f
            out[k, h] = np.float32((1.0 - frac) * dt)
    return out


@njit(parallel=True)
def count_at_or_above(offsets, elevation_deg, min_elevation_deg):
    """Per CSR row ``i`` (``offsets[i]:offsets[i + 1]``, a (step, handset)'s links): how
    many links are at or above ``min_elevation_deg``, int16."""
    n = offsets.size - 1
    out = np.empty(n, np.int16)
    for i in prange(n):
        c = 0
        for k in range(offsets[i], offsets[i + 1]):
            if elevation_deg[k] >= min_elevation_deg:
                c += 1
        out[i] = c
    return out


@njit(parallel=True)
def coverage_hole_before_s(t, served, sat, elev, rate, min_elev_deg):
    """:func:`satsim.link.timeline.coverage_holes_s`'s answer: ``(start, end)``, each
    (n, nh) float32, NaN where there is no hole."""
    n = t.size - 1
    nh = served.shape[1]
    start = np.empty((n, nh), np.float32)
    end = np.empty((n, nh), np.float32)
    for k in prange(n):
        dt = t[k + 1] - t[k]
        for h in range(nh):
            start[k, h] = np.nan
            end[k, h] = np.nan
            if not (served[k, h] and served[k + 1, h] and sat[k, h] != sat[k + 1, h]):
                continue
            r0 = np.float64(rate[k, h])
            r1 = np.float64(rate[k + 1, h])
            t_set = (np.float64(elev[k, h]) - min_elev_deg) / (-r0)
            t_rise = dt - (np.float64(elev[k + 1, h]) - min_elev_deg) / r1
            if r0 < 0.0 and r1 > 0.0 and t_set >= 0.0 and t_set < t_rise and t_rise <= dt:
                start[k, h] = np.float32(dt - t_set)
                end[k, h] = np.float32(dt - t_rise)
    return start, end
