"""Satellite antenna: the circular-aperture beam pattern and phased-array scan loss.

Beam pattern
------------
3GPP TR 38.811 v15.4.0 §6.4.1 models each satellite beam as a uniformly
illuminated circular aperture of radius ``a``:

    G(θ) = G_max · 4 |J1(k a sin θ) / (k a sin θ)|²,   G(0) = G_max,

with ``k = 2π f / c`` the wavenumber, ``θ`` the angle off the beam boresight
and ``J1`` the Bessel function of the first kind, order one. Writing
``u = k a sin θ``, the normalised pattern ``|2 J1(u) / u|²`` is 1 at ``u = 0``,
1/2 (-3.0103 dB) at ``u = HALF_POWER_U = 1.61634``, zero at the zeros of ``J1``
(first null ``u = 3.8317``) and its first side lobe is -17.57 dB at
``u = 5.1356``. The TR defines no pattern beyond θ = 90°: there (and in the
nulls, where the pattern is exactly zero and its dB value -inf) this module
returns the floor ``max_gain_dbi + PATTERN_FLOOR_DB``.

TR 38.821 gives beams by their 3 dB beamwidth rather than an aperture
(LEO-600 Set-1, S-band: 4.4127°); the aperture follows from the -3 dB point,
``k a sin(BW/2) = HALF_POWER_U`` (2 GHz, 4.4127° -> a = 1.0 m, the TR's 2 m
equivalent aperture diameter).

Scan loss
---------
A phased array steered ``scan`` off its normal loses gain roughly as
``cos(scan)^n``; see :func:`scan_loss_db`.

Angles are radians where the name says ``_rad``, degrees where it says
``_deg``; frequencies Hz, lengths m. Functions take numpy arrays and
broadcast; gains are dBi unless named ``_lin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import j1

from ..constants import SPEED_OF_LIGHT_M_S
from ..errors import InputError

#: Half-power argument of the uniform circular aperture: the first root of
#: ``|2 J1(u)/u|² = 1/2``, u = 1.61634 (computed with ``scipy.optimize.brentq``
#: and checked in ``tests/test_antenna.py``).
HALF_POWER_U = 1.616339948310703

#: Floor of the beam pattern relative to the boresight gain, dB. Returned
#: beyond 90° off boresight (TR 38.811 §6.4.1 defines no pattern there) and
#: wherever the pattern falls lower (its nulls), so a gain in dB is always
#: finite and sums of interference stay finite. -80 dB is far below any side
#: lobe that matters (the side-lobe envelope, 8/(π u³), is -50 dB at u = 63).
PATTERN_FLOOR_DB = -80.0

#: The floor as a linear power ratio.
PATTERN_FLOOR_LIN = 10.0 ** (PATTERN_FLOOR_DB / 10.0)

#: Default grid step in u = k a sin θ of :func:`pattern_table`. Linear
#: interpolation of the tabulated pattern then errs by at most 0.005 dB
#: wherever the pattern is above -40 dB (the error grows as the step squared:
#: 0.012 dB at a step of 0.005).
DEFAULT_TABLE_U_STEP = 0.003

# Below this u, 2 J1(u)/u is evaluated by its series 1 - u²/8 (next term
# u⁴/192 < 1e-34), which avoids 0/0 at boresight.
_SMALL_U = 1e-8


def _check_positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return v


def wavenumber_rad_m(freq_hz):
    """Free-space wavenumber ``k = 2π f / c``, rad/m.

    Parameters
    ----------
    freq_hz : float or array_like
        Frequency, Hz.
    """
    return 2.0 * np.pi * np.asarray(freq_hz, dtype=float) / SPEED_OF_LIGHT_M_S


def aperture_radius_from_beamwidth_m(beamwidth_3db_deg: float, freq_hz: float) -> float:
    """Radius of the circular aperture with a given 3 dB beamwidth, m.

    Solves ``k a sin(BW/2) = HALF_POWER_U`` (TR 38.811 §6.4.1 pattern, -3 dB
    at half the beamwidth off boresight).

    Parameters
    ----------
    beamwidth_3db_deg : float
        Full 3 dB beamwidth, degrees, in (0, 180).
    freq_hz : float
        Carrier frequency, Hz.

    Examples
    --------
    TR 38.821 LEO-600 Set-1 S-band beam (4.4127° at 2 GHz): a = 1.0016 m.
    """
    bw = _check_positive("beamwidth_3db_deg", beamwidth_3db_deg)
    f = _check_positive("freq_hz", freq_hz)
    if bw >= 180.0:
        raise InputError(f"beamwidth_3db_deg must be below 180 degrees, got {beamwidth_3db_deg!r}")
    return HALF_POWER_U / (float(wavenumber_rad_m(f)) * math.sin(math.radians(bw / 2.0)))


def beamwidth_from_aperture_deg(aperture_radius_m: float, freq_hz: float) -> float:
    """Full 3 dB beamwidth of a circular aperture, degrees.

    The inverse of :func:`aperture_radius_from_beamwidth_m`:
    ``BW = 2 asin(HALF_POWER_U / (k a))``. An aperture with ``k a`` below
    ``HALF_POWER_U`` (radius under about a quarter wavelength) never drops
    3 dB before 90° and has no beamwidth: InputError.
    """
    a = _check_positive("aperture_radius_m", aperture_radius_m)
    f = _check_positive("freq_hz", freq_hz)
    ka = float(wavenumber_rad_m(f)) * a
    if ka <= HALF_POWER_U:
        raise InputError(
            f"an aperture of radius {a} m at {f} Hz (k a = {ka:.4g}) is too small to have a "
            f"3 dB beamwidth (needs k a > {HALF_POWER_U:.5f}); use a larger aperture or frequency"
        )
    return math.degrees(2.0 * math.asin(HALF_POWER_U / ka))


def aperture_pattern_lin(u):
    """Normalised power pattern of a uniform circular aperture, ``|2 J1(u)/u|²``.

    Parameters
    ----------
    u : float or array_like
        ``k a sin θ`` (dimensionless). The value at ``u = 0`` is the limit 1.

    Returns
    -------
    ndarray of float64, the shape of ``u``: 1 at boresight, 0 in the nulls
    (no floor applied here).
    """
    u = np.abs(np.asarray(u, dtype=float))
    small = u < _SMALL_U
    u_safe = np.where(small, 1.0, u)
    amp = np.where(small, 1.0 - u * u / 8.0, 2.0 * j1(u_safe) / u_safe)
    return amp * amp


def circular_aperture_gain_db(
    theta_rad, aperture_radius_m: float, freq_hz: float, max_gain_dbi: float
):
    """Gain of a TR 38.811 §6.4.1 circular-aperture beam at ``theta_rad`` off boresight, dBi.

    ``G(θ) = G_max · 4 |J1(k a sin θ)/(k a sin θ)|²`` with ``G(0) = G_max``,
    floored at ``max_gain_dbi + PATTERN_FLOOR_DB`` (in the nulls and for
    ``|θ| >= 90°``, where the TR defines no pattern).

    Parameters
    ----------
    theta_rad : float or array_like
        Angle off boresight, radians (the sign is ignored).
    aperture_radius_m : float
        Aperture radius, m (:func:`aperture_radius_from_beamwidth_m`).
    freq_hz : float
        Carrier frequency, Hz.
    max_gain_dbi : float
        Boresight gain, dBi.

    Returns
    -------
    ndarray of float64, the shape of ``theta_rad``: gain, dBi, always finite.
    """
    a = _check_positive("aperture_radius_m", aperture_radius_m)
    f = _check_positive("freq_hz", freq_hz)
    theta = np.abs(np.asarray(theta_rad, dtype=float))
    ka = float(wavenumber_rad_m(f)) * a
    g = aperture_pattern_lin(ka * np.sin(theta))
    g = np.where(theta >= 0.5 * np.pi, PATTERN_FLOOR_LIN, np.maximum(g, PATTERN_FLOOR_LIN))
    return float(max_gain_dbi) + 10.0 * np.log10(g)


@dataclass(frozen=True, eq=False)
class PatternTable:
    """The circular-aperture pattern tabulated on a uniform grid in ``u = k a sin θ``.

    For fast kernels: ``gain_lin[i]`` is the normalised linear gain
    ``max(|2 J1(u)/u|², PATTERN_FLOOR_LIN)`` at ``u = i * u_step``, for
    ``i = 0 .. n-1`` with ``(n - 2) * u_step >= ka``: the grid reaches
    ``u = k a`` (θ = 90°) and has one extra point, so a kernel may use
    ``i = int(u / u_step)`` and ``i + 1`` without a bounds check for any
    ``0 <= u <= ka``. Gain in dBi is ``max_gain_dbi + 10 log10(interpolated)``.

    Build it with :func:`pattern_table`. Memory: 8 bytes per point,
    ``ka / u_step`` points: 160 KB for ``ka = 60`` at the default step
    (``ka`` is 42 for TR 38.821's 4.4127° S-band beam).

    Attributes
    ----------
    u_step : float
        Grid step in u.
    gain_lin : ndarray of float64, shape (n,)
        Normalised linear gain on the grid (read-only).
    ka : float
        ``k a`` of the aperture (u at θ = 90°).
    max_gain_dbi : float
        Boresight gain, dBi.
    """

    u_step: float
    gain_lin: np.ndarray
    ka: float
    max_gain_dbi: float

    def gain_db(self, theta_rad):
        """Gain at ``theta_rad`` off boresight, dBi, by linear interpolation in u.

        Agrees with :func:`circular_aperture_gain_db` within 0.01 dB wherever
        the pattern is above -40 dB (default step); the floor beyond 90°.
        """
        theta = np.abs(np.asarray(theta_rad, dtype=float))
        u = self.ka * np.sin(np.minimum(theta, 0.5 * np.pi))
        grid = np.arange(self.gain_lin.size) * self.u_step
        g = np.interp(u, grid, self.gain_lin)
        g = np.where(theta >= 0.5 * np.pi, PATTERN_FLOOR_LIN, g)
        return self.max_gain_dbi + 10.0 * np.log10(g)


def pattern_table(
    aperture_radius_m: float,
    freq_hz: float,
    max_gain_dbi: float,
    step: float = DEFAULT_TABLE_U_STEP,
) -> PatternTable:
    """Tabulate the TR 38.811 §6.4.1 pattern of an aperture for interpolation.

    Parameters
    ----------
    aperture_radius_m, freq_hz, max_gain_dbi
        As in :func:`circular_aperture_gain_db`.
    step : float
        Grid step in ``u = k a sin θ`` (dimensionless); the default keeps the
        interpolation error under 0.005 dB above -40 dB.
    """
    a = _check_positive("aperture_radius_m", aperture_radius_m)
    f = _check_positive("freq_hz", freq_hz)
    step = _check_positive("step", step)
    ka = float(wavenumber_rad_m(f)) * a
    n = int(math.ceil(ka / step)) + 2
    gain = np.maximum(aperture_pattern_lin(np.arange(n) * step), PATTERN_FLOOR_LIN)
    gain.setflags(write=False)
    return PatternTable(u_step=step, gain_lin=gain, ka=ka, max_gain_dbi=float(max_gain_dbi))


def scan_loss_db(scan_angle_deg, exponent: float):
    """Phased-array scan loss ``-10 n log10(cos scan)``, dB (positive, 0 at broadside).

    The gain of an array steered ``scan`` off its normal falls as its
    projected aperture, ``cos(scan)`` (n = 1), and faster once the element
    pattern and mutual coupling are counted, which the usual ``cos^n``
    element-pattern approximation lumps into the exponent ``n``
    (R. J. Mailloux, *Phased Array Antenna Handbook*, 2nd ed., Artech House
    2005, ch. 1-2; ``SatellitePayload.scan_loss_exponent``).

    Parameters
    ----------
    scan_angle_deg : float or array_like
        Angle between the beam and the array normal, degrees; the sign is
        ignored. Beyond 90° the beam would point behind the array:
        InputError. At exactly 90° the loss is finite but huge
        (``cos`` is clipped at 1e-16, i.e. at most 160 n dB).
    exponent : float
        ``n >= 0``; 0 disables the loss.

    Returns
    -------
    ndarray of float64, the shape of ``scan_angle_deg``: loss, dB, >= 0.
    """
    n = float(exponent)
    if not (n >= 0 and math.isfinite(n)):
        raise InputError(f"scan loss exponent must be a number >= 0, got {exponent!r}")
    scan = np.abs(np.asarray(scan_angle_deg, dtype=float))
    if np.any(~np.isfinite(scan)) or np.any(scan > 90.0):
        bad = scan[~(scan <= 90.0)].flat[0]
        raise InputError(
            f"scan angle must be within 90 degrees of the array normal, got {bad!r}; "
            "a beam beyond 90 degrees points behind the array"
        )
    cos_scan = np.maximum(np.cos(np.radians(scan)), 1e-16)
    return -10.0 * n * np.log10(cos_scan)


def payload_aperture_radius_m(payload, freq_hz: float) -> float:
    """Aperture radius of a :class:`~satsim.link.config.SatellitePayload`, m.

    The payload's ``aperture_radius_m`` if given, else the aperture with its
    ``beamwidth_3db_deg`` at ``freq_hz`` (:func:`aperture_radius_from_beamwidth_m`).
    """
    if payload.aperture_radius_m is not None:
        return float(payload.aperture_radius_m)
    return aperture_radius_from_beamwidth_m(payload.beamwidth_3db_deg, freq_hz)
