"""Cubic Hermite interpolation of ephemerides between SGP4 knots.

SGP4 is evaluated only at *knots*, the multiples ``k * knot_step_s`` of a
knot step counted from the run's epoch, and every other time ``t`` in
``[t_k, t_k+1]`` with ``s = (t - t_k) / h``, ``h = knot_step_s``, gets

* its **position** from the cubic Hermite interpolant of the knot positions
  ``r_k`` and slopes ``m_k`` (ITRS):
  ``r(s) = h00 r_k + h10 h m_k + h01 r_k+1 + h11 h m_k+1`` with
  ``h00 = 2s^3 - 3s^2 + 1``, ``h10 = s^3 - 2s^2 + s``, ``h01 = -2s^3 + 3s^2``,
  ``h11 = s^3 - s^2``. With exact slopes its error is
  ``f^(4)(xi) h^4 s^2 (1-s)^2 / 4!``, at most ``h^4 max|f^(4)| / 384``
  (R. L. Burden and J. D. Faires, *Numerical Analysis*, 9th ed., section
  3.4, Hermite interpolation); for a low orbit ``|r^(4)| ~ r n^4`` (``n`` ~
  1.2e-3 rad/s, the orbital rate relative to the Earth): ~0.02 m at
  ``h = 30 s``. The slopes are *not* SGP4's velocities: SGP4's velocity is
  not exactly the derivative of its position (they differ by up to ~4 cm/s
  on real Starlink elements, from the short-period terms), and a slope error
  ``dm`` adds up to ``h (|h10| + |h11|) dm <= h (6/27) dm`` (~0.1 m at 30 s
  with SGP4's velocities: over issue 14's 0.1 m). The slope at knot ``k`` is
  the central difference of the positions at knots ``k - 1`` and ``k + 1``
  with its ``h^2 r^(3) / 6`` error term removed (:func:`position_slopes`),
  accurate to a fraction of a mm/s.
* its **velocity** from the cubic Hermite interpolant of the knot velocities
  (SGP4's own) and accelerations, not from the derivative of the position
  cubic, which follows ``dr/dt`` and so misses SGP4's velocity by the same
  few cm/s. The knot accelerations come from a force model: the point-mass
  and J2 gravity of the constants SGP4 uses (WGS72 ``mu``, ``R_e``, ``J2``;
  Hoots and Roehrich, Spacetrack Report #3, 1980; AIAA 2006-6753), with the
  J2 acceleration in Cartesian form (O. Montenbruck and E. Gill, *Satellite
  Orbits*, Springer 2000, section 3.2, zonal term n = 2), plus the Coriolis
  and centrifugal terms of the frame rotating at ``omega`` about z,
  ``-2 omega x v - omega x (omega x r)``. What the model leaves out (J3,
  J4, SGP4's periodic terms) is ~5e-5 m/s^2 in low orbit, at most
  ``h (6/27) 5e-5`` ~ 0.3 mm/s; with the truncation error
  ``h^4 |v^(4)| / 384`` (~0.03 mm/s), velocity errors stay a few tenths of
  a mm/s at ``h = 30 s``.

ITRS is a fine frame for this: the ITRS velocity that propagation computes,
``R v_TEME - omega x r_ITRS``, is the time derivative of the ITRS position
(to the 1e-10 relative difference between ``omega`` and the GMST rate), and
the motion relative to the rotating Earth is as smooth as the inertial one
(the relative orbital rate differs by ``omega / n`` ~ 6 %); interpolating
in TEME instead gives the same errors to 0.1 mm.

A time that falls on a knot gets the knot's SGP4 state exactly. A time
between two knots gets a state only if SGP4 succeeded at both: otherwise it
gets the failing knot's status code and NaN, so a decaying satellite leaves
the geometry up to one knot step before SGP4 itself would drop it, and an
SGP4 failure shorter than a knot step that falls between two good knots is
not seen. Next to a failed knot, the slope falls back to SGP4's velocity.

The kernels take plain float arrays (km, km/s, km/s^2, s) and import only
math, numpy and numba. Only :func:`hermite_states`, which writes every
sample, runs on numba's threads; the knot kernels touch 1/30 as many
states and stay serial (a parallel region on a loaded 2-core machine waits
for its slowest thread).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit

#: Times within this many seconds of a knot take the knot's state.
KNOT_SNAP_S = 1e-9


def knot_plan(offsets_s: np.ndarray, knot_step_s: float):
    """Which knots a set of times needs and where each time falls between them.

    Parameters
    ----------
    offsets_s : numpy.ndarray
        Sample times, seconds since the run's epoch, shape ``(ntime,)``.
    knot_step_s : float
        Knot spacing, seconds (> 0); knot ``k`` is at ``k * knot_step_s``.

    Returns
    -------
    knot_number : numpy.ndarray
        The knots ``k`` the times need, increasing, shape ``(nknot,)``, int64:
        the knot of a time on a knot; for a time between knots ``k`` and
        ``k + 1``, knots ``k - 1 .. k + 2`` (the outer two for the slopes,
        see :func:`position_slopes`). Their times are
        ``knot_number * knot_step_s``.
    left : numpy.ndarray
        Index into ``knot_number`` of the knot at or before each time, shape
        ``(ntime,)``, int64; for a time off the knots, ``left + 1`` is the
        knot after it.
    frac : numpy.ndarray
        ``(t - t_left) / knot_step_s`` in ``[0, 1)``, shape ``(ntime,)``;
        exactly 0 for a time on a knot (within :data:`KNOT_SNAP_S`).
    """
    t = np.asarray(offsets_s, dtype=np.float64)
    h = float(knot_step_s)
    nearest = np.rint(t / h)
    on_knot = np.abs(t - nearest * h) <= KNOT_SNAP_S
    k_left = np.where(on_knot, nearest, np.floor(t / h))
    frac = np.where(on_knot, 0.0, (t - k_left * h) / h)
    # a time closer than KNOT_SNAP_S to the next knot was snapped above, so
    # frac < 1 but for round-off: clip for safety only
    frac = np.clip(frac, 0.0, np.nextafter(1.0, 0.0))
    k_left = k_left.astype(np.int64)
    off = k_left[~on_knot]
    knots = np.unique(np.concatenate([k_left, off - 1, off + 1, off + 2]))
    left = np.searchsorted(knots, k_left).astype(np.int64)
    return knots, left, np.ascontiguousarray(frac)


@njit
def position_slopes(r, v, a, status, knot_number, knot_step_s):
    """Time derivatives of SGP4's *positions* at the knots, km/s.

    r, v, a : (nsat, nknot, 3) float64, km, km/s, km/s^2; status :
    (nsat, nknot) uint8; knot_number : (nknot,) int64, increasing. Returns
    (nsat, nknot, 3): where knots ``k - 1`` and ``k + 1`` are both present
    and valid, ``(r[k+1] - r[k-1]) / 2h - h (a[k+1] - a[k-1]) / 12``: the
    central difference with its leading error term ``h^2 r^(3) / 6`` taken
    out (``r^(3)`` from the central difference of ``a``), error about
    ``h^4 r^(5) / 50`` (~0.3 mm/s at h = 30 s in low orbit); elsewhere SGP4's
    own velocity ``v[k]``.
    """
    nsat, nk = r.shape[0], r.shape[1]
    out = v.copy()
    h = knot_step_s
    for i in range(nsat):
        for k in range(1, nk - 1):
            if (knot_number[k - 1] != knot_number[k] - 1
                    or knot_number[k + 1] != knot_number[k] + 1
                    or status[i, k - 1] != 0 or status[i, k] != 0 or status[i, k + 1] != 0):
                continue
            for c in range(3):
                out[i, k, c] = ((r[i, k + 1, c] - r[i, k - 1, c]) / (2.0 * h)
                                - h * (a[i, k + 1, c] - a[i, k - 1, c]) / 12.0)
    return out


@njit
def gravity_accel_rotating(r, v, mu_km3_s2, radius_km, j2, omega_rad_s):
    """Acceleration in a frame rotating at ``omega`` about z: point mass + J2
    gravity, Coriolis and centrifugal terms.

    r, v : (nsat, nknot, 3) float64, km and km/s (NaN in gives NaN out).
    Returns (nsat, nknot, 3) float64, km/s^2. J2 (Montenbruck & Gill 2000,
    section 3.2): ``a = -3/2 J2 mu R^2 / r^5 (x (1 - 5 z^2/r^2),
    y (1 - 5 z^2/r^2), z (3 - 5 z^2/r^2))``.
    """
    nsat, nk = r.shape[0], r.shape[1]
    out = np.empty_like(r)
    c_j2 = -1.5 * j2 * mu_km3_s2 * radius_km * radius_km
    w2 = omega_rad_s * omega_rad_s
    for i in range(nsat):
        for k in range(nk):
            x = r[i, k, 0]
            y = r[i, k, 1]
            z = r[i, k, 2]
            rr = x * x + y * y + z * z
            rn = math.sqrt(rr)
            g = -mu_km3_s2 / (rr * rn)
            f = c_j2 / (rr * rr * rn)
            q = 5.0 * z * z / rr
            out[i, k, 0] = g * x + f * x * (1.0 - q) + 2.0 * omega_rad_s * v[i, k, 1] + w2 * x
            out[i, k, 1] = g * y + f * y * (1.0 - q) - 2.0 * omega_rad_s * v[i, k, 0] + w2 * y
            out[i, k, 2] = g * z + f * z * (3.0 - q)
    return out


@njit(parallel=True)
def hermite_states(r_knot, m_knot, v_knot, a_knot, status_knot, left, frac, knot_step_s,
                   r_out, v_out, status_out):
    """Positions, velocities and status at every time from the knot states.

    r_knot, m_knot, v_knot, a_knot : (nsat, nknot, 3) float64: positions km,
    position slopes km/s (:func:`position_slopes`), velocities km/s and
    accelerations km/s^2; status_knot : (nsat, nknot) uint8 (0 = SGP4
    succeeded); left, frac : (ntime,) from :func:`knot_plan`; knot_step_s :
    the knot spacing, s. Writes r_out, v_out (nsat, ntime, 3) and status_out
    (nsat, ntime): the knot's state where ``frac == 0``; else the position
    from the (r, m) and the velocity from the (v, a) cubic Hermite, or NaN
    and the failing knot's status when either knot failed.
    """
    nsat = r_knot.shape[0]
    ntime = left.shape[0]
    h = knot_step_s
    nan = np.nan
    for i in prange(nsat):
        for t in range(ntime):
            k = left[t]
            s = frac[t]
            if s == 0.0:
                st = status_knot[i, k]
                status_out[i, t] = st
                for c in range(3):
                    r_out[i, t, c] = r_knot[i, k, c] if st == 0 else nan
                    v_out[i, t, c] = v_knot[i, k, c] if st == 0 else nan
                continue
            st = status_knot[i, k]
            if st == 0:
                st = status_knot[i, k + 1]
            status_out[i, t] = st
            if st != 0:
                for c in range(3):
                    r_out[i, t, c] = nan
                    v_out[i, t, c] = nan
                continue
            s2 = s * s
            s3 = s2 * s
            h00 = 2.0 * s3 - 3.0 * s2 + 1.0
            h01 = 3.0 * s2 - 2.0 * s3
            h10 = (s3 - 2.0 * s2 + s) * h
            h11 = (s3 - s2) * h
            for c in range(3):
                r_out[i, t, c] = (h00 * r_knot[i, k, c] + h10 * m_knot[i, k, c]
                                  + h01 * r_knot[i, k + 1, c] + h11 * m_knot[i, k + 1, c])
                v_out[i, t, c] = (h00 * v_knot[i, k, c] + h10 * a_knot[i, k, c]
                                  + h01 * v_knot[i, k + 1, c] + h11 * a_knot[i, k + 1, c])
