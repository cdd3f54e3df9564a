"""Physical constants and free-space path loss (satsim.constants).

References: SI (c exact, k exact since 2019); ITU-R P.525-4 and 3GPP TR 38.811
v15.4.0 eq. 6.6-2 for free-space loss; NIMA TR8350.2 (WGS84); AIAA 2006-6753
(WGS72 constants of SGP4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim import constants as C


def test_speed_of_light_in_both_units():
    assert C.SPEED_OF_LIGHT_M_S == 299_792_458.0
    assert C.SPEED_OF_LIGHT_KM_S * 1e3 == C.SPEED_OF_LIGHT_M_S


def test_boltzmann_in_dbw_is_the_si_value_to_four_decimals():
    assert C.BOLTZMANN_DBW_K_HZ == pytest.approx(10 * math.log10(1.380649e-23), abs=1e-4)


def test_earth_radii_are_distinct_and_named_for_their_use():
    # WGS84 and WGS72 equators differ by 2 m; the mean radius is GRS80's R1 = (2a + b) / 3
    assert C.WGS84_EQUATORIAL_RADIUS_KM - C.WGS72_EQUATORIAL_RADIUS_KM == pytest.approx(0.002)
    b_km = C.WGS84_EQUATORIAL_RADIUS_KM * (1 - 1 / 298.257222101)  # GRS80 flattening
    assert (2 * C.WGS84_EQUATORIAL_RADIUS_KM + b_km) / 3 == pytest.approx(
        C.IUGG_MEAN_RADIUS_KM, abs=1e-4)
    assert C.TR38811_EARTH_RADIUS_KM == 6371.0


def test_fspl_one_km_at_one_ghz():
    """TR 38.811 eq. 6.6-2: 32.45 + 20 log10(1) + 20 log10(1000) = 92.45 dB."""
    assert C.fspl_db(1.0, 1.0e9) == pytest.approx(92.45, abs=1e-12)


def test_fspl_constant_is_the_exact_one_rounded():
    """32.45 rounds 20 log10(4 pi d f / c) at 1 m, 1 GHz (32.4478 dB; ITU-R P.525's 32.4
    with f in MHz and d in km is the same number)."""
    exact_db = 20 * math.log10(4 * math.pi * 1.0 * 1e9 / C.SPEED_OF_LIGHT_M_S)
    assert exact_db == pytest.approx(32.4478, abs=1e-4)
    assert abs(C.FSPL_1M_1GHZ_DB - exact_db) < 0.003
    d_km, f_hz = 1075.088, 2e9  # TR 38.821 SC9 geometry: 159.1 dB
    exact = 20 * math.log10(4 * math.pi * d_km * 1e3 * f_hz / C.SPEED_OF_LIGHT_M_S)
    assert C.fspl_db(d_km, f_hz) == pytest.approx(exact, abs=0.003)
    assert round(C.fspl_db(d_km, f_hz), 1) == 159.1


def test_fspl_scalars_use_math_and_arrays_use_numpy():
    """Each caller keeps its arithmetic: floats in, the math.log10 float; arrays in, the
    numpy.log10 array (the two may differ in the last bit)."""
    f = 1992.5e6
    got = C.fspl_db(1.0, f)
    assert type(got) is float
    # the link engine's constant term, as it was written before this module: bit-identical
    assert got + 1.5 == 32.45 + 20.0 * math.log10(f / 1e9) + 60.0 + 1.5
    d = np.array([[400.0, 1000.0], [2000.0, 3000.0]])
    arr = C.fspl_db(d, f)
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)
    np.testing.assert_array_equal(
        arr, 32.45 + 20.0 * np.log10(np.float64(f) / 1e9) + 20.0 * np.log10(d * 1e3))


def test_fspl_broadcasts_and_grows_6_db_per_doubling():
    out = C.fspl_db(np.array([[1.0], [2.0]]), np.array([1e9, 2e9]))
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out - out[0, 0], [[0, 20 * math.log10(2)],
                                                 [20 * math.log10(2), 40 * math.log10(2)]],
                               atol=1e-12)
