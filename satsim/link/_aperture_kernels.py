"""Numba kernels of the aperture models, on plain floats (direction cosines, rad, deg, dB).

Scalar functions a link kernel can call once per (beam, handset) pair; the
public numpy API with units and input checks is ``satsim.link.aperture``,
which documents every formula and its source. Nothing here checks its
input: callers pass values that ``aperture`` has validated.

Conventions
-----------
* Aperture frame: x and y along the two sides of the aperture (lengths
  ``L_x``, ``L_y``), z along its normal. A direction has direction cosines
  ``(u, v, w) = (sin θ cos φ, sin θ sin φ, cos θ)``.
* ``half_kl_x_rad = π L_x / λ`` (half the aperture's electrical length, rad),
  so the pattern argument along x is ``X = half_kl_x_rad * u``.
* Taper codes: ``TAPER_UNIFORM`` (0), ``TAPER_COSINE`` (1).
* Linear gains are relative to the boresight peak of the unsteered
  aperture; S.1528 gains are absolute, dBi.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import njit

TAPER_UNIFORM = 0
TAPER_COSINE = 1

_HALF_PI = 0.5 * math.pi

#: ITU-R S.1528-0 recommends 1.2, Table 1: ``b`` and ``α`` (the same for
#: every L_N), and the 2.58 in ``a = 2.58 sqrt(1 - k log10 z)``.
S1528_REC1_2_B = 6.32
S1528_REC1_2_ALPHA = 1.5
S1528_REC1_2_A0 = 2.58

#: ITU-R S.1528-0 recommends 1.3 (as transcribed, see ``aperture``): main
#: beam / near-in side-lobe mask cross point L_S, dB below the peak, reached
#: at ``Y = 1.5 ψb`` (``-3 (1.5)² = -6.75``).
S1528_REC1_3_LS_DB = -6.75
S1528_REC1_3_Y_OVER_PSI_B = 1.5


@njit
def sinc(x):
    """``sin(x) / x``, 1 at ``x = 0`` (unnormalised sinc, x in rad)."""
    if x == 0.0:
        return 1.0
    return math.sin(x) / x


@njit
def cosine_taper_field(x):
    """Normalised far field of a cosine-illuminated line source, ``cos x / (1 - (2x/π)²)``.

    Evaluated as ``(π/2) sinc(π/2 - |x|) / (1 + 2|x|/π)``, the same function
    without the removable 0/0 at ``|x| = π/2`` (value π/4 there).
    """
    ax = abs(x)
    return _HALF_PI * sinc(_HALF_PI - ax) / (1.0 + ax / _HALF_PI)


#: ``±1 / n!`` for odd n = 1 ... 17: the Taylor series of sin about 0, which on
#: |r| <= π/4 is within (π/4)^19 / 19! = 8e-20 of sin r (Abramowitz & Stegun
#: 4.3.65; the remainder of an alternating series is below its first term).
_SIN_TAYLOR = tuple((-1.0) ** i / math.factorial(2 * i + 1) for i in range(9))
# the same as plain globals: numba folds them into the code (a tuple indexed in a
# loop became vector gathers)
_S1, _S3, _S5, _S7, _S9, _S11, _S13, _S15, _S17 = _SIN_TAYLOR


#: ``±1 / n!`` for even n = 0 ... 16: the Taylor series of cos about 0, which on
#: |r| <= π/4 is within (π/4)^18 / 18! = 2e-18 of cos r (A&S 4.3.66).
_C0, _C2, _C4, _C6, _C8, _C10, _C12, _C14, _C16 = tuple(
    (-1.0) ** i / math.factorial(2 * i) for i in range(9))
#: π/2 in two parts for the range reduction of :func:`sin_cos`: the first 33
#: bits (so ``n x _PIO2_HI`` is exact for |n| < 2^20) and the rest, to 2e-21.
_PIO2_HI = 1.57079632673412561417
_PIO2_LO = 6.07710050650619224932e-11
_TWO_OVER_PI = 2.0 / math.pi


@njit(inline="always")
def sin_cos(x):
    """``(sin x, cos x)`` without a library call, so a loop of it runs in SIMD
    lanes: ``x = n π/2 + r`` with |r| <= π/4 (π/2 in two parts, exact for
    |x| < 1e6), sin r and cos r from their Taylor polynomials (``_SIN_TAYLOR``
    to r¹⁷, the cosine's to r¹⁶), and the quadrant ``n mod 4`` by selects.
    Within ~2e-16 of the library's sin and cos for |x| <= 1,000 (tested)."""
    n = math.floor(x * _TWO_OVER_PI + 0.5)
    r = (x - n * _PIO2_HI) - n * _PIO2_LO
    r2 = r * r
    sr = r * ((((((((_S17 * r2 + _S15) * r2 + _S13) * r2 + _S11) * r2 + _S9) * r2 + _S7) * r2
                + _S5) * r2 + _S3) * r2 + _S1)
    cr = (((((((_C16 * r2 + _C14) * r2 + _C12) * r2 + _C10) * r2 + _C8) * r2 + _C6) * r2
           + _C4) * r2 + _C2) * r2 + _C0
    q = n - 4.0 * math.floor(0.25 * n)      # n mod 4, as a float (selects stay in lanes)
    swap = q == 1.0 or q == 3.0
    sin_x = cr if swap else sr
    cos_x = sr if swap else cr
    sin_x = -sin_x if q >= 2.0 else sin_x
    cos_x = -cos_x if (q == 1.0 or q == 2.0) else cos_x
    return sin_x, cos_x


#: Below this |x|², :func:`sinc_sq_parts_from_sin` takes sin x from its Taylor
#: polynomial to x⁷ (remainder below x⁹ / 9! < 3e-24 relative) instead of the
#: value given: at |x| >= 0.01 the given sine's absolute error (~1e-16 x the
#: angles it came from, |k u| <= ~100 rad) is within ~1e-12 of sin x relative.
_SMALL_X2 = 1e-4


@njit(inline="always")
def sinc_sq_parts_from_sin(x, s):
    """``(num, den)`` with ``num / den = (sin x / x)²`` (1 at 0), given ``s =
    sin x`` computed elsewhere: the interference sums get it from the
    angle-difference identity ``sin(a - b) = sin a cos b - cos a sin b`` with
    each beam's ``sin b`` / ``cos b`` computed once (``_cell_kernels.
    beam_phase``), i.e. two products per term instead of a range reduction
    and polynomial. ``den`` is ``x²``, or 1 (with ``num`` 1) where ``|x| <
    1e-50`` (sinc² is 1 there to 1e-100); apart is what lets a product of two
    factors take one division. Near 0 (``x² < _SMALL_X2``), where the
    identity's absolute error would matter relative to x, sin x comes from its
    Taylor polynomial. Branch-free apart from selects."""
    x2 = x * x
    p = x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0))))
    s = p if x2 < _SMALL_X2 else s
    small = x2 < 1e-100
    return (1.0 if small else s * s), (1.0 if small else x2)


@njit(inline="always")
def cosine_taper_field_sq_parts_from_cos(x, c):
    """``(num, den)`` with ``num / den = |cosine_taper_field(x)|²``, given ``c =
    cos x``: ``(π/2)² sinc²(π/2 - |x|) / (1 + 2|x|/π)²`` (the form of
    :func:`cosine_taper_field` without its removable 0/0), with ``sin(π/2 - |x|)
    = cos x`` handed to :func:`sinc_sq_parts_from_sin`."""
    ax = abs(x)
    num, den = sinc_sq_parts_from_sin(_HALF_PI - ax, c)
    d = 1.0 + ax / _HALF_PI
    return _HALF_PI * _HALF_PI * num, den * d * d


#: :func:`sinc_sq_parts_from_sin_f32`'s switch to the Taylor polynomial, |x|²:
#: in single precision the given sine's absolute error is ~1e-7 (float32
#: products of sines and cosines), so the polynomial (to x⁵, remainder x⁷ / 7!
#: < 2e-11 relative at |x| = 0.1) takes over below |x| = 0.1, where that error
#: would be over 1e-6 of sin x.
_SMALL_X2_F32 = 1e-2

#: Added to both parts of :func:`sinc_sq_parts_from_sin_f32` in place of a
#: test for x = 0: the ratio is then exactly 1 there, and within 1e-10 of
#: ``(s / x)²`` wherever |x| >= 1e-4 (below, both parts are ~x² and the ratio
#: stays ~1, as sinc² is); its square, 1e-36, is still a normal float32, so the
#: product of two factors' denominators is never 0. Two additions instead of a
#: comparison and two selects: fewer instructions in the interference sums'
#: SIMD loop (``_cell_kernels.pattern_sum_f32``).
_GUARD_F32 = 1e-18


@njit(inline="always")
def sinc_sq_parts_from_sin_f32(x, s):
    """:func:`sinc_sq_parts_from_sin` in single precision (``x`` and ``s``
    float32, every constant float32 so the arithmetic stays in float32 and a
    SIMD lane holds twice as many terms): ``(num, den)`` with ``num / den =
    (sin x / x)²``; relative error ~1e-6 of the value (float32 rounding). Both
    parts carry :data:`_GUARD_F32` (0/0 kept away without a select)."""
    one = np.float32(1.0)
    guard = np.float32(_GUARD_F32)
    x2 = x * x
    p = x * (one - x2 * (np.float32(1.0 / 6.0) - x2 * np.float32(1.0 / 120.0)))
    s = p if x2 < np.float32(_SMALL_X2_F32) else s
    return s * s + guard, x2 + guard


@njit(inline="always")
def cosine_taper_field_sq_parts_from_cos_f32(x, c):
    """:func:`cosine_taper_field_sq_parts_from_cos` in single precision
    (:func:`sinc_sq_parts_from_sin_f32`)."""
    half_pi = np.float32(_HALF_PI)
    ax = abs(x)
    num, den = sinc_sq_parts_from_sin_f32(half_pi - ax, c)
    d = np.float32(1.0) + ax / half_pi
    return half_pi * half_pi * num, den * d * d


@njit
def rect_pattern_lin(du, dv, half_kl_x_rad, half_kl_y_rad, taper):
    """Normalised power pattern ``|F(X) F(Y)|²`` of the rectangular aperture.

    ``X = half_kl_x_rad * du``, ``Y = half_kl_y_rad * dv``; ``F`` is ``sinc``
    (``TAPER_UNIFORM``) or :func:`cosine_taper_field` (``TAPER_COSINE``).
    ``du, dv`` are direction-cosine offsets from the beam direction.
    """
    x = half_kl_x_rad * du
    y = half_kl_y_rad * dv
    if taper == TAPER_COSINE:
        f = cosine_taper_field(x) * cosine_taper_field(y)
    else:
        f = sinc(x) * sinc(y)
    return f * f


@njit
def scan_factor_lin(steer_u, steer_v, exponent):
    """Scan-loss factor ``cos(θ_scan)^n`` of a beam steered to ``(steer_u, steer_v)``.

    ``cos θ_scan = sqrt(1 - u0² - v0²)``, clipped below at 1e-16 (a beam at
    90° is finite but hugely attenuated); 1 when ``exponent`` is 0.
    """
    if exponent == 0.0:
        return 1.0
    s2 = steer_u * steer_u + steer_v * steer_v
    c = math.sqrt(1.0 - s2) if s2 < 1.0 else 0.0
    c = max(c, 1e-16)
    return c**exponent


@njit
def rect_steered_gain_lin(
    u, v, w, steer_u, steer_v, half_kl_x_rad, half_kl_y_rad, taper, scan_lin, floor_lin
):
    """Gain toward ``(u, v, w)`` of the aperture steered to ``(steer_u, steer_v)``,
    relative to the unsteered peak: ``max(|F F|²(u - u0, v - v0) * scan_lin, floor_lin)``.

    ``scan_lin`` is :func:`scan_factor_lin` of the beam (computed once per
    beam). Directions behind the aperture (``w <= 0``) get ``floor_lin``.
    """
    if w <= 0.0:
        return floor_lin
    g = rect_pattern_lin(u - steer_u, v - steer_v, half_kl_x_rad, half_kl_y_rad, taper) * scan_lin
    if g < floor_lin:
        return floor_lin
    return g


@njit
def s1528_rec1_2_gain_dbi(psi_deg, max_gain_dbi, psi_b_deg, ln_db, lf_dbi, lb_dbi, z, a):
    """ITU-R S.1528-0 recommends 1.2 reference pattern, dBi, at ``psi_deg`` off axis.

    ``a`` from Table 1 (``2.58 sqrt(1 - k log10 z)``) and ``lb_dbi`` (back
    lobe) are computed once by the caller; b = 6.32, α = 1.5. Regions, in
    order: ψ <= aψb main lobe; <= 0.5bψb, Gm + LN + 20 log z; <= bψb, Gm + LN;
    <= Y, X - 25 log ψ (written as Gm + LN - 25 log(ψ / bψb), the same);
    <= 90°, LF; beyond, LB.
    """
    psi = abs(psi_deg)
    if psi <= a * psi_b_deg:
        return max_gain_dbi - 3.0 * (psi / psi_b_deg) ** S1528_REC1_2_ALPHA
    b_psi_b = S1528_REC1_2_B * psi_b_deg
    if psi <= 0.5 * b_psi_b:
        return max_gain_dbi + ln_db + 20.0 * math.log10(z)
    if psi <= b_psi_b:
        return max_gain_dbi + ln_db
    y_deg = b_psi_b * 10.0 ** (0.04 * (max_gain_dbi + ln_db - lf_dbi))
    if psi <= y_deg:
        return max_gain_dbi + ln_db - 25.0 * math.log10(psi / b_psi_b)
    if psi <= 90.0:
        return lf_dbi
    return lb_dbi


@njit
def s1528_rec1_3_gain_dbi(psi_deg, max_gain_dbi, psi_b_deg, lf_dbi):
    """ITU-R S.1528-0 recommends 1.3 (LEO) reference pattern, dBi, at ``psi_deg`` off axis.

    ψ <= Y = 1.5 ψb: Gm - 3 (ψ/ψb)²; Y < ψ <= Z: Gm + LS - 25 log(ψ/Y);
    beyond: LF; LS = -6.75 dB, Z = Y 10^(0.04 (Gm + LS - LF)).
    """
    psi = abs(psi_deg)
    y_deg = S1528_REC1_3_Y_OVER_PSI_B * psi_b_deg
    if psi <= y_deg:
        r = psi / psi_b_deg
        return max_gain_dbi - 3.0 * r * r
    z_deg = y_deg * 10.0 ** (0.04 * (max_gain_dbi + S1528_REC1_3_LS_DB - lf_dbi))
    if psi <= z_deg:
        return max_gain_dbi + S1528_REC1_3_LS_DB - 25.0 * math.log10(psi / y_deg)
    return lf_dbi
