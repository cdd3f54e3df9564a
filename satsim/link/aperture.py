"""Antenna patterns from the real aperture: a steerable rectangular aperture and ITU-R S.1528.

Rectangular aperture
--------------------
A planar aperture of ``L_x`` by ``L_y`` metres (2.7 m x 2.3 m for the
Starlink direct-to-cell array, ``NTN_REFERENCE.md`` §4) radiates, in the far
field, the two-dimensional Fourier transform of its illumination. For an
illumination separable in x and y, the normalised power pattern in the
direction cosines of the aperture frame,

    u = sin θ cos φ,   v = sin θ sin φ    (θ off the aperture normal),

is ``P(u, v) = |F(X) F(Y)|²`` with ``X = (k L_x / 2) u = π L_x u / λ`` and
``Y = π L_y v / λ`` (C. A. Balanis, *Antenna Theory: Analysis and Design*,
4th ed., Wiley 2016, §12.5 "Rectangular apertures", and Table 12.1; R. J.
Mailloux, *Phased Array Antenna Handbook*, 2nd ed., Artech House 2005, ch. 1,
for the same pattern in sine space). Two illuminations per axis:

* **uniform**: ``F(X) = sin X / X``. First null at ``X = π`` (sin θ = λ/L),
  first side lobe -13.26 dB at ``X = 4.4934``, half power at
  ``X = 1.39156``, so a 3 dB beamwidth of ``2 asin(1.39156 λ / (π L))``,
  about ``0.886 λ/L`` rad; taper efficiency 1.
* **cosine** (``cos(π x / L)`` across the side, the TE10 waveguide mode of
  Balanis Table 12.1): ``F(X) = cos X / (1 - (2X/π)²)``, first null at
  ``X = 3π/2``, first side lobe -23.0 dB, half power at ``X = 1.86762``
  (beamwidth about ``1.189 λ/L``), taper efficiency ``8/π² = 0.8106`` per
  axis (-0.91 dB), so ``(8/π²)²`` (-1.82 dB) with the taper on both axes.

The pattern is the aperture (array) factor only: the element pattern and the
obliquity factor are left to the scan-loss term below, and a continuous
aperture has no grating lobes (a real array with element spacing above λ/2
would). The constants above are computed in ``tests/test_aperture.py``.

Peak gain: ``G0 = η_ohmic η_taper 4π L_x L_y / λ²`` (Balanis §12.5: the
directivity of a uniform aperture is ``4π A / λ²``; a taper multiplies it by
its taper efficiency ``|∫E|² / (A ∫|E|²)``); ``η_ohmic`` (``ohmic_efficiency``)
lumps ohmic, mismatch and implementation losses, 1 by default.

Electronic steering
-------------------
A phased array steered to the direction cosines ``(u0, v0)`` applies a
linear phase across the aperture, which shifts the pattern in sine space:
``P(u - u0, v - v0)`` (Mailloux ch. 1). The gain also falls with the scan
angle ``θ_scan`` (``cos θ_scan = sqrt(1 - u0² - v0²)``) as the element
pattern and the projected aperture shrink; we use the usual ``cos(θ_scan)^n``
scan loss, evaluated at the steering direction and applied to the whole
beam, so a steered beam is the unsteered one shifted in (u, v) and lowered by
``-10 n log10(cos θ_scan)`` dB. ``n = 1`` is the projected-area loss of an
ideal large array; ``n`` of 1 to 1.5 is common for patch-like elements. That
range is an assumption, not a sourced figure: sweep it.
``antenna.scan_loss_db`` is the same law as a function of the scan angle.

ITU-R S.1528 reference patterns
-------------------------------
Recommendation ITU-R S.1528-0 (06/2001), "Satellite antenna radiation
patterns for non-geostationary orbit satellite antennas operating in the
fixed-satellite service below 30 GHz", gives reference envelopes for
interference studies. The Recommendation's text was not at hand; the
formulas below come from transcriptions that agree with each other (see
:func:`s1528_rec1_2_gain_dbi` and :func:`s1528_rec1_3_gain_dbi`).

Units: direction cosines are dimensionless; angles are degrees where the
name says ``_deg``; lengths m; frequencies Hz; gains dBi unless ``_lin``.
Functions take numpy arrays and broadcast them.
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import SPEED_OF_LIGHT_M_S
from ..errors import InputError
from . import _aperture_kernels as _k

__all__ = [
    "COSINE_HALF_POWER_X",
    "COSINE_HPBW_LAMBDA_OVER_L",
    "COSINE_TAPER_EFFICIENCY_PER_AXIS",
    "PATTERN_FLOOR_DB",
    "S1528_EDITION",
    "S1528_REC1_2_NEAR_SIDELOBE_DB",
    "TAPERS",
    "UNIFORM_HALF_POWER_X",
    "UNIFORM_HPBW_LAMBDA_OVER_L",
    "direction_cosines_from_angles",
    "rect_beamwidth_from_aperture_deg",
    "rect_gain_dbi",
    "rect_kernel_params",
    "rect_pattern_lin",
    "rect_peak_gain_from_aperture_dbi",
    "rect_taper_efficiency",
    "s1528_rec1_2_gain_dbi",
    "s1528_rec1_2_params",
    "s1528_rec1_3_gain_dbi",
    "steering_scan_loss_db",
]

#: Illuminations of the rectangular aperture (the same on both axes), and
#: their codes for the kernels.
TAPERS = {"uniform": _k.TAPER_UNIFORM, "cosine": _k.TAPER_COSINE}

#: Half-power argument of the uniform aperture: the root of ``(sin X / X)² = 1/2``
#: (``scipy.optimize.brentq``; checked in ``tests/test_aperture.py``).
UNIFORM_HALF_POWER_X = 1.391557378251506
#: Half-power argument of the cosine taper: the root of ``F(X)² = 1/2``, ``F`` as above.
COSINE_HALF_POWER_X = 1.8676215105779685
#: Small-angle 3 dB beamwidth in units of λ/L (rad): ``2 X_half / π`` = 0.8859
#: (uniform) and 1.1890 (cosine).
UNIFORM_HPBW_LAMBDA_OVER_L = 2.0 * UNIFORM_HALF_POWER_X / math.pi
COSINE_HPBW_LAMBDA_OVER_L = 2.0 * COSINE_HALF_POWER_X / math.pi
#: Taper efficiency of a cosine illumination along one side: ``8/π²``.
COSINE_TAPER_EFFICIENCY_PER_AXIS = 8.0 / math.pi**2

_HALF_POWER_X = {_k.TAPER_UNIFORM: UNIFORM_HALF_POWER_X, _k.TAPER_COSINE: COSINE_HALF_POWER_X}

#: Floor of the rectangular pattern relative to the unsteered peak, dB, as
#: ``antenna.PATTERN_FLOOR_DB``: returned in the nulls (where the dB value
#: would be -inf) and wherever the pattern is lower, so gains stay finite.
PATTERN_FLOOR_DB = -80.0
_PATTERN_FLOOR_LIN = 10.0 ** (PATTERN_FLOOR_DB / 10.0)

#: The edition the S.1528 patterns follow.
S1528_EDITION = "ITU-R S.1528-0 (06/2001)"

#: ITU-R S.1528-0 recommends 1.2, Table 1: the near-in side-lobe levels L_N
#: (dB relative to the peak) it defines, each with the k of
#: ``a = 2.58 sqrt(1 - k log10 z)``; b = 6.32 and α = 1.5 for all of them.
S1528_REC1_2_NEAR_SIDELOBE_DB = {-15.0: 1.4, -20.0: 1.0, -25.0: 0.6, -30.0: 0.4}

# Direction cosines may exceed the unit circle by round-off.
_UNIT_CIRCLE_SLACK = 1e-12


# ---------------------------------------------------------------- input checks


def _positive(name: str, value, what: str, example: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (v > 0.0 and math.isfinite(v)):
        raise InputError(
            f"{name} must be a positive, finite number ({what}), got {value!r}; "
            f"give it in the unit its name says, e.g. {name}={example}"
        )
    return v


def _finite(name: str, value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise InputError(f"{name} must be a finite number ({what}), got {value!r}")
    return v


def _taper_code(taper) -> int:
    code = TAPERS.get(str(taper).strip().lower()) if isinstance(taper, str) else None
    if code is None:
        raise InputError(
            f"taper must be one of {sorted(TAPERS)}, got {taper!r}; use 'uniform' for the "
            "sinc x sinc aperture or 'cosine' for the cosine-tapered one"
        )
    return code


def _efficiency(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (0.0 < v <= 1.0):
        raise InputError(
            f"ohmic_efficiency must be in (0, 1] (a power ratio, not dB or percent), got {value!r}; "
            "e.g. 0.8 for a 0.97 dB loss, or 1 for none"
        )
    return v


def _exponent(value) -> float:
    try:
        n = float(value)
    except (TypeError, ValueError):
        n = math.nan
    if not (n >= 0.0 and math.isfinite(n)):
        raise InputError(
            f"scan_loss_exponent must be a finite number >= 0 (n of cos(scan)^n), got {value!r}; "
            "use 0 for no scan loss, 1 for the projected-aperture loss"
        )
    return n


def _direction_cosines(u, v, name_u: str, name_v: str):
    try:
        u = np.asarray(u, dtype=float)
        v = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise InputError(
            f"({name_u}, {name_v}) must be numbers or arrays of numbers (direction cosines), "
            f"got ({u!r}, {v!r})"
        ) from None
    s2 = u * u + v * v
    bad = ~(np.isfinite(s2) & (s2 <= 1.0 + _UNIT_CIRCLE_SLACK))
    if np.any(bad):
        i = np.argwhere(np.broadcast_to(bad, s2.shape))[0]
        uu = np.broadcast_to(u, s2.shape)[tuple(i)]
        vv = np.broadcast_to(v, s2.shape)[tuple(i)]
        raise InputError(
            f"({name_u}, {name_v}) must be finite direction cosines with "
            f"{name_u}² + {name_v}² <= 1, got ({uu!r}, {vv!r}) at index {tuple(int(j) for j in i)}; "
            "compute them in the aperture frame as (sin θ cos φ, sin θ sin φ)"
        )
    return u, v


def _wavelength_m(freq_hz) -> float:
    f = _positive("freq_hz", freq_hz, "the carrier frequency, Hz", "1992.5e6")
    return SPEED_OF_LIGHT_M_S / f


# --------------------------------------------------------- rectangular aperture


def direction_cosines_from_angles(theta_deg, phi_deg):
    """Direction cosines ``(u, v) = (sin θ cos φ, sin θ sin φ)`` in the aperture frame.

    Parameters
    ----------
    theta_deg : float or array_like
        Angle off the aperture normal (z), degrees.
    phi_deg : float or array_like
        Azimuth from the x side toward the y side, degrees.

    Returns
    -------
    (u, v) : tuple of ndarray, the broadcast shape of the inputs.
    """
    theta = np.radians(np.asarray(theta_deg, dtype=float))
    phi = np.radians(np.asarray(phi_deg, dtype=float))
    return np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)


def rect_taper_efficiency(taper: str = "uniform") -> float:
    """Taper (illumination) efficiency of the rectangular aperture, a power ratio.

    1 for ``"uniform"``; ``(8/π²)² = 0.6570`` for ``"cosine"`` (the cosine
    taper on both sides; ``8/π²`` per side, Balanis Table 12.1, TE10 mode).
    """
    if _taper_code(taper) == _k.TAPER_COSINE:
        return COSINE_TAPER_EFFICIENCY_PER_AXIS**2
    return 1.0


def rect_peak_gain_from_aperture_dbi(
    length_x_m: float,
    length_y_m: float,
    freq_hz: float,
    taper: str = "uniform",
    ohmic_efficiency: float = 1.0,
) -> float:
    """Boresight gain of the rectangular aperture, ``10 log10(η_ohmic η_taper 4π L_x L_y / λ²)``, dBi.

    Parameters
    ----------
    length_x_m, length_y_m : float
        Sides of the aperture, m (> 0).
    freq_hz : float
        Carrier frequency, Hz (> 0).
    taper : {"uniform", "cosine"}
        Illumination (the same on both sides); see :func:`rect_taper_efficiency`.
    ohmic_efficiency : float
        Extra power efficiency in (0, 1] for ohmic, mismatch and
        implementation losses; 1 (none) by default.

    Examples
    --------
    The 2.7 m x 2.3 m Starlink DTC array at 1992.5 MHz, uniform: 35.37 dBi
    (cosine taper on both sides: 33.55 dBi).
    """
    lx = _positive("length_x_m", length_x_m, "the aperture side along x, m", "2.7")
    ly = _positive("length_y_m", length_y_m, "the aperture side along y, m", "2.3")
    lam = _wavelength_m(freq_hz)
    eta = rect_taper_efficiency(taper) * _efficiency(ohmic_efficiency)
    return 10.0 * math.log10(eta * 4.0 * math.pi * lx * ly / (lam * lam))


def rect_beamwidth_from_aperture_deg(
    length_m: float, freq_hz: float, taper: str = "uniform"
) -> float:
    """Full 3 dB beamwidth of the unsteered aperture in the plane of one side, degrees.

    ``2 asin(X_half λ / (π L))`` with ``X_half`` = ``UNIFORM_HALF_POWER_X``
    or ``COSINE_HALF_POWER_X``: about ``0.886 λ/L`` (uniform) and ``1.189
    λ/L`` (cosine) rad for ``L >> λ``. The 2.7 m x 2.3 m array at 1992.5 MHz,
    uniform: 2.83° across the 2.7 m side, 3.32° across the 2.3 m side
    (cosine: 3.80° and 4.46°). Steering widens the beam in the scan plane by
    about ``1 / cos θ_scan`` (the pattern is fixed in sine space).

    An aperture too small to fall 3 dB before 90° (``X_half λ / (π L) >= 1``)
    has no beamwidth: InputError.
    """
    length = _positive("length_m", length_m, "the aperture side in the plane of interest, m", "2.7")
    lam = _wavelength_m(freq_hz)
    s = _HALF_POWER_X[_taper_code(taper)] * lam / (math.pi * length)
    if s >= 1.0:
        raise InputError(
            f"an aperture side of {length} m at {float(freq_hz)} Hz is too short to have a 3 dB "
            f"beamwidth ({taper} taper needs length_m > {s * length:.4g} m); use a longer side "
            "or a higher frequency"
        )
    return math.degrees(2.0 * math.asin(s))


def rect_kernel_params(
    length_x_m: float, length_y_m: float, freq_hz: float, taper: str = "uniform"
):
    """Plain-float parameters of the aperture for the kernels in ``_aperture_kernels``.

    Returns
    -------
    (half_kl_x_rad, half_kl_y_rad, taper_code) : (float, float, int)
        ``π L_x / λ``, ``π L_y / λ`` and ``TAPERS[taper]``, as taken by
        ``_aperture_kernels.rect_pattern_lin`` and ``rect_steered_gain_lin``.
    """
    lx = _positive("length_x_m", length_x_m, "the aperture side along x, m", "2.7")
    ly = _positive("length_y_m", length_y_m, "the aperture side along y, m", "2.3")
    lam = _wavelength_m(freq_hz)
    return math.pi * lx / lam, math.pi * ly / lam, _taper_code(taper)


def _sinc(x):
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, np.sin(safe) / safe)


def _cosine_taper_field(x):
    # cos x / (1 - (2x/π)²) without its removable 0/0 at |x| = π/2 (see the kernel).
    ax = np.abs(x)
    half_pi = 0.5 * math.pi
    return half_pi * _sinc(half_pi - ax) / (1.0 + ax / half_pi)


def _pattern_lin(du, dv, half_kl_x_rad, half_kl_y_rad, code):
    x = half_kl_x_rad * du
    y = half_kl_y_rad * dv
    if code == _k.TAPER_COSINE:
        f = _cosine_taper_field(x) * _cosine_taper_field(y)
    else:
        f = _sinc(x) * _sinc(y)
    return f * f


def _scan_factor(steer_u, steer_v, exponent):
    shape = np.broadcast(steer_u, steer_v).shape
    if exponent == 0.0:
        return np.ones(shape)
    s2 = steer_u * steer_u + steer_v * steer_v
    c = np.where(s2 < 1.0, np.sqrt(np.maximum(1.0 - s2, 0.0)), 0.0)
    return np.maximum(c, 1e-16) ** exponent


def rect_pattern_lin(u, v, length_x_m, length_y_m, freq_hz, taper="uniform"):
    """Normalised power pattern of the unsteered rectangular aperture, ``|F(X) F(Y)|²``.

    Parameters
    ----------
    u, v : float or array_like
        Direction cosines in the aperture frame (``u² + v² <= 1``), broadcast
        together; :func:`direction_cosines_from_angles` converts angles.
    length_x_m, length_y_m, freq_hz, taper
        As in :func:`rect_peak_gain_from_aperture_dbi`.

    Returns
    -------
    ndarray of float64, the broadcast shape of ``u, v``: 1 at boresight, 0 in
    the nulls (no floor here).
    """
    hx, hy, code = rect_kernel_params(length_x_m, length_y_m, freq_hz, taper)
    u, v = _direction_cosines(u, v, "u", "v")
    return _pattern_lin(u, v, hx, hy, code)


def steering_scan_loss_db(steer_u, steer_v, scan_loss_exponent: float):
    """Scan loss of a beam steered to ``(steer_u, steer_v)``: ``-10 n log10(cos θ_scan)``, dB (>= 0).

    ``cos θ_scan = sqrt(1 - steer_u² - steer_v²)``, clipped at 1e-16 for a
    beam at 90° (at most 160 n dB). Same law as ``antenna.scan_loss_db``.
    """
    su, sv = _direction_cosines(steer_u, steer_v, "steer_u", "steer_v")
    n = _exponent(scan_loss_exponent)
    return -10.0 * np.log10(_scan_factor(su, sv, n))


def rect_gain_dbi(
    u,
    v,
    length_x_m: float,
    length_y_m: float,
    freq_hz: float,
    taper: str = "uniform",
    *,
    steer_u=0.0,
    steer_v=0.0,
    scan_loss_exponent: float = 0.0,
    ohmic_efficiency: float = 1.0,
):
    """Gain of the rectangular aperture steered to ``(steer_u, steer_v)``, toward ``(u, v)``, dBi.

    ``G = G0 + 10 log10(max(P(u - u0, v - v0) cos(θ_scan)^n, floor))`` with
    ``G0`` from :func:`rect_peak_gain_from_aperture_dbi`, ``P`` from
    :func:`rect_pattern_lin` and the floor ``PATTERN_FLOOR_DB`` below ``G0``.
    Toward the steered direction the gain is ``G0`` minus the scan loss
    (:func:`steering_scan_loss_db`).

    Parameters
    ----------
    u, v : float or array_like
        Direction cosines of the directions of interest in the aperture frame
        (front hemisphere; send the floor yourself for directions behind
        the aperture). Broadcast with ``steer_u, steer_v``.
    length_x_m, length_y_m, freq_hz, taper, ohmic_efficiency
        As in :func:`rect_peak_gain_from_aperture_dbi`.
    steer_u, steer_v : float or array_like
        Direction cosines of the beam direction; (0, 0) is broadside.
    scan_loss_exponent : float
        ``n`` of the ``cos(θ_scan)^n`` scan loss, >= 0; 0 (default) disables it.

    Returns
    -------
    ndarray of float64, the broadcast shape of all four direction cosines:
    gain, dBi, always finite.
    """
    g0 = rect_peak_gain_from_aperture_dbi(length_x_m, length_y_m, freq_hz, taper, ohmic_efficiency)
    hx, hy, code = rect_kernel_params(length_x_m, length_y_m, freq_hz, taper)
    u, v = _direction_cosines(u, v, "u", "v")
    su, sv = _direction_cosines(steer_u, steer_v, "steer_u", "steer_v")
    n = _exponent(scan_loss_exponent)
    g = _pattern_lin(u - su, v - sv, hx, hy, code) * _scan_factor(su, sv, n)
    return g0 + 10.0 * np.log10(np.maximum(g, _PATTERN_FLOOR_LIN))


# ---------------------------------------------------------------- ITU-R S.1528


def _off_axis_deg(psi_deg):
    raw = np.asarray(psi_deg, dtype=float)
    psi = np.abs(raw)
    bad = ~(psi <= 180.0)
    if np.any(bad):
        value = float(np.atleast_1d(raw)[np.atleast_1d(bad)][0])
        raise InputError(
            f"psi_deg must be an off-axis angle within [0, 180] degrees (finite), got {value!r}; "
            "pass the angle between the beam axis and the direction of interest"
        )
    return psi


def s1528_rec1_2_params(
    max_gain_dbi: float,
    near_sidelobe_db: float,
    far_sidelobe_dbi: float = 0.0,
    beam_axis_ratio: float = 1.0,
    back_lobe_dbi: float | None = None,
):
    """Checked constants ``(a, back_lobe_dbi)`` of the S.1528-0 recommends 1.2 pattern.

    ``a = 2.58 sqrt(1 - k log10 z)`` with k from Table 1
    (``S1528_REC1_2_NEAR_SIDELOBE_DB``), and, unless given,
    ``L_B = max(0, 15 + L_N + 0.25 G_m + 5 log10 z)`` dBi. For the kernel
    ``_aperture_kernels.s1528_rec1_2_gain_dbi``. Arguments as in
    :func:`s1528_rec1_2_gain_dbi`.
    """
    gm = _finite("max_gain_dbi", max_gain_dbi, "the peak gain, dBi")
    _finite("far_sidelobe_dbi", far_sidelobe_dbi, "the far-out side-lobe level L_F, dBi")
    try:
        ln = float(near_sidelobe_db)
    except (TypeError, ValueError):
        ln = math.nan
    if ln not in S1528_REC1_2_NEAR_SIDELOBE_DB:
        raise InputError(
            f"near_sidelobe_db must be one of -15, -20, -25, -30 (the L_N values, dB relative to "
            f"the peak, of {S1528_EDITION} recommends 1.2, Table 1), got {near_sidelobe_db!r}; "
            "pick the Table 1 level at or above the antenna's near-in side lobes"
        )
    try:
        z = float(beam_axis_ratio)
    except (TypeError, ValueError):
        z = math.nan
    k = S1528_REC1_2_NEAR_SIDELOBE_DB[ln]
    z_max = 10.0 ** (1.0 / k)
    if not (1.0 <= z < z_max):
        raise InputError(
            f"beam_axis_ratio must be the beam's major/minor axis ratio z, with 1 <= z < {z_max:.4g} "
            f"for near_sidelobe_db={ln:g} (a = 2.58 sqrt(1 - {k} log10 z) must be real), got "
            f"{beam_axis_ratio!r}; use 1 for a circular beam"
        )
    a = _k.S1528_REC1_2_A0 * math.sqrt(1.0 - k * math.log10(z))
    if back_lobe_dbi is None:
        lb = max(0.0, 15.0 + ln + 0.25 * gm + 5.0 * math.log10(z))
    else:
        lb = _finite("back_lobe_dbi", back_lobe_dbi, "the back-lobe level L_B, dBi, or None")
    return a, lb


def s1528_rec1_2_gain_dbi(
    psi_deg,
    max_gain_dbi: float,
    psi_b_deg: float,
    near_sidelobe_db: float,
    far_sidelobe_dbi: float = 0.0,
    beam_axis_ratio: float = 1.0,
    back_lobe_dbi: float | None = None,
):
    """ITU-R S.1528-0 recommends 1.2 reference pattern for non-GSO satellite antennas, dBi.

    With ``ψ`` the off-axis angle and ``ψb`` half the 3 dB beamwidth in the
    plane of interest (both degrees), ``G_m`` the peak gain (dBi), ``L_N``
    the near-in side-lobe level relative to the peak (dB), ``L_F`` the
    far-out side-lobe level (dBi), ``z`` the major/minor axis ratio of the
    beam and ``L_B`` the back-lobe level (dBi)::

        G(ψ) = G_m - 3 (ψ/ψb)^α          ψ <= a ψb        (Rec.: from ψb)
             = G_m + L_N + 20 log10 z    a ψb < ψ <= 0.5 b ψb
             = G_m + L_N                 0.5 b ψb < ψ <= b ψb
             = X - 25 log10 ψ            b ψb < ψ <= Y
             = L_F                       Y < ψ <= 90°
             = L_B                       90° < ψ <= 180°

        X = G_m + L_N + 25 log10(b ψb),   Y = b ψb 10^(0.04 (G_m + L_N - L_F)),
        L_B = max(0, 15 + L_N + 0.25 G_m + 5 log10 z),
        b = 6.32, α = 1.5, a = 2.58 sqrt(1 - k log10 z),
        k = 1.4, 1.0, 0.6, 0.4 for L_N = -15, -20, -25, -30 dB (Table 1).

    The pattern is continuous at ``b ψb`` and ``Y``; it steps down at ``a ψb``
    (the main-lobe formula ends at ``-3 a^1.5 = -12.43`` dB for z = 1), at
    ``0.5 b ψb`` (by ``20 log10 z``) and at 90°.

    Sources (the Recommendation's own text was not available; these agree
    on every formula and constant above): B. Sorokin's pycraf-based
    ``antenna.py`` (``s_1528_rec1_2_pattern``, "S.1528-0 recommends 1.2",
    constants "from Table 1 in the recommendation"); SHARC
    (Radio-Spectrum/SHARC ``sharc/antenna/antenna_s1528.py``, ``AntennaS1528``,
    "S.1528-0 Section 1.2", L_F = 0 dBi); AGI STK Components
    ``ItuRS1528R12GainPattern`` ("section 1.2", built from the major and
    minor dimensions, i.e. z; default L_N 0.00316 = -25 dB). STK's
    documentation says the Recommendation does not define the main lobe
    below ψb; like SHARC and the pycraf-based code we extend
    ``G_m - 3 (ψ/ψb)^α`` to ψ = 0 (it gives G_m there and G_m - 3 dB at ψb).
    ``far_sidelobe_dbi`` = 0 dBi follows SHARC; Sorokin uses 1.8 dBi "to
    recreate Figure 1 of the Recommendation": not checked against the
    Recommendation. Which part of S.1528 is "for LEO" is also unchecked:
    SHARC labels recommends 1.3 (:func:`s1528_rec1_3_gain_dbi`) as LEO.

    Parameters
    ----------
    psi_deg : float or array_like
        Off-axis angle, degrees, within [-180, 180] (the sign is ignored).
    max_gain_dbi : float
        G_m, dBi.
    psi_b_deg : float
        ψb, half the 3 dB beamwidth in the plane of interest, degrees (> 0);
        for the rectangular aperture, half of
        :func:`rect_beamwidth_from_aperture_deg` of the side in that plane.
    near_sidelobe_db : {-15, -20, -25, -30}
        L_N, dB relative to the peak (Table 1).
    far_sidelobe_dbi : float
        L_F, dBi; 0 by default (see above).
    beam_axis_ratio : float
        z, major/minor axis ratio of the beam (>= 1; 1 for a circular beam).
    back_lobe_dbi : float or None
        L_B, dBi; None (default) for the formula above.

    Returns
    -------
    ndarray of float64, the shape of ``psi_deg``: gain, dBi.
    """
    psi = _off_axis_deg(psi_deg)
    psi_b = _positive("psi_b_deg", psi_b_deg, "half the 3 dB beamwidth, degrees", "1.4")
    a, lb = s1528_rec1_2_params(
        max_gain_dbi, near_sidelobe_db, far_sidelobe_dbi, beam_axis_ratio, back_lobe_dbi
    )
    gm, ln = float(max_gain_dbi), float(near_sidelobe_db)
    lf, z = float(far_sidelobe_dbi), float(beam_axis_ratio)
    b_psi_b = _k.S1528_REC1_2_B * psi_b
    y_deg = b_psi_b * 10.0 ** (0.04 * (gm + ln - lf))
    psi_pos = np.where(psi > 0.0, psi, b_psi_b)  # log10 only where used (ψ > b ψb)
    return np.select(
        [psi <= a * psi_b, psi <= 0.5 * b_psi_b, psi <= b_psi_b, psi <= y_deg, psi <= 90.0],
        [
            gm - 3.0 * (psi / psi_b) ** _k.S1528_REC1_2_ALPHA,
            np.full(psi.shape, gm + ln + 20.0 * math.log10(z)),
            np.full(psi.shape, gm + ln),
            gm + ln - 25.0 * np.log10(psi_pos / b_psi_b),
            np.full(psi.shape, lf),
        ],
        lb,
    )


def s1528_rec1_3_gain_dbi(
    psi_deg, max_gain_dbi: float, psi_b_deg: float, far_sidelobe_dbi: float = 5.0
):
    """ITU-R S.1528-0 recommends 1.3 reference pattern ("LEO" in SHARC), dBi::

        G(ψ) = G_m - 3 (ψ/ψb)²            ψ <= Y
             = G_m + L_S - 25 log10(ψ/Y)   Y < ψ <= Z
             = L_F                         Z < ψ <= 180°

        Y = 1.5 ψb,  Z = Y 10^(0.04 (G_m + L_S - L_F)),  L_S = -6.75 dB

    ``L_S`` is the main-beam / near-in side-lobe mask cross point: ``-3
    (1.5)² = -6.75``, so the pattern is continuous at Y, and at Z. Source:
    SHARC (Radio-Spectrum/SHARC ``sharc/antenna/antenna_s1528.py``,
    ``AntennaS1528Leo``, "S.1528-0 Section 1.3 - LEO", with L_F = 5 dBi);
    AGI STK's "ITU-R S1528 1.3" antenna has the matching parameters (half
    beamwidth, near-in side-lobe mask cross point, far-out side-lobe level).
    One transcription only for the formulas and L_F: not checked against
    the Recommendation. Assumes ``G_m + L_S > L_F``.

    Parameters
    ----------
    psi_deg, max_gain_dbi, psi_b_deg
        As in :func:`s1528_rec1_2_gain_dbi`.
    far_sidelobe_dbi : float
        L_F, dBi; 5 by default (SHARC's value, unverified).
    """
    psi = _off_axis_deg(psi_deg)
    psi_b = _positive("psi_b_deg", psi_b_deg, "half the 3 dB beamwidth, degrees", "1.4")
    gm = _finite("max_gain_dbi", max_gain_dbi, "the peak gain, dBi")
    lf = _finite("far_sidelobe_dbi", far_sidelobe_dbi, "the far-out side-lobe level L_F, dBi")
    ls = _k.S1528_REC1_3_LS_DB
    y_deg = _k.S1528_REC1_3_Y_OVER_PSI_B * psi_b
    z_deg = y_deg * 10.0 ** (0.04 * (gm + ls - lf))
    r = psi / psi_b
    psi_pos = np.where(psi > 0.0, psi, y_deg)
    return np.select(
        [psi <= y_deg, psi <= z_deg],
        [gm - 3.0 * r * r, gm + ls - 25.0 * np.log10(psi_pos / y_deg)],
        lf,
    )
