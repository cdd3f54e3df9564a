"""Satellite antenna pattern (3GPP TR 38.811 v15.4.0 §6.4.1) and scan loss.

References and tolerances:

* TR 38.821 v16.1.0 Table 6.1.1.1-1, LEO-600 Set-1 S-band: 3 dB beamwidth
  4.4127° at 2 GHz, "equivalent satellite antenna aperture" 2 m diameter; we
  check the radius to 1 cm (the TR prints the diameter to 1 m).
* Uniform circular aperture, textbook values (C. A. Balanis, *Antenna Theory*,
  4th ed., Wiley 2016, §12.7 and Table 12.2): first null at u = 3.8317 (the
  first zero of J1), first side lobe -17.6 dB (-17.57 dB, at the first zero of
  J2, u = 5.1356, since d/du [J1(u)/u] = -J2(u)/u).
* The pattern is checked to 1e-9 dB against two evaluations that share no
  code with satsim: ``scipy.special.jv(1, x)`` and a direct numerical
  integration of the uniformly illuminated aperture (no Bessel function).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import jn_zeros, jv

from satsim import InputError
from satsim.link.antenna import (
    DEFAULT_TABLE_U_STEP,
    HALF_POWER_U,
    PATTERN_FLOOR_DB,
    aperture_pattern_lin,
    aperture_radius_from_beamwidth_m,
    beamwidth_from_aperture_deg,
    circular_aperture_gain_db,
    pattern_table,
    payload_aperture_radius_m,
    scan_loss_db,
    wavenumber_rad_m,
)
from satsim.link.config import TR38821_SET1, SatellitePayload

HALF_POWER_DB = 10.0 * math.log10(0.5)  # -3.0103 dB


def _normalised_db_jv(x):
    """Reference pattern, dB, with scipy's general-order Bessel function jv."""
    x = np.asarray(x, dtype=float)
    return 10.0 * np.log10((2.0 * jv(1, x) / x) ** 2)


def _normalised_field_by_integration(x):
    """(1/π) ∫∫ over the unit disc of exp(i x r cos φ) r dr dφ, which equals 2 J1(x)/x.

    Far field of a uniformly illuminated circular aperture, integrated
    directly: Gauss-Legendre in r, the trapezoidal rule in φ (exact to
    rounding for this periodic, band-limited integrand when the number of
    points exceeds x by a margin).
    """
    r, wr = np.polynomial.legendre.leggauss(200)
    r, wr = 0.5 * (r + 1.0), 0.5 * wr
    phi = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    phase = np.multiply.outer(np.multiply.outer(x, r), np.cos(phi))
    inner = 2.0 * np.pi * np.cos(phase).mean(axis=-1)
    return (inner * r * wr).sum(axis=-1) / np.pi


def test_half_power_constant_is_the_root_of_the_pattern():
    root = brentq(lambda x: (2.0 * jv(1, x) / x) ** 2 - 0.5, 1.0, 2.0, xtol=1e-15, rtol=1e-15)
    assert root == pytest.approx(1.61634, abs=5e-6)
    assert HALF_POWER_U == pytest.approx(root, abs=1e-13)


def test_tr38821_s_band_beam_is_a_one_metre_aperture():
    a = aperture_radius_from_beamwidth_m(4.4127, 2e9)
    assert a == pytest.approx(1.0, abs=0.01)  # TR 38.821: 2 m equivalent aperture diameter
    assert payload_aperture_radius_m(TR38821_SET1, 2e9) == a
    given = SatellitePayload(beamwidth_3db_deg=None, aperture_radius_m=1.3)
    assert payload_aperture_radius_m(given, 2e9) == 1.3


@pytest.mark.parametrize(
    "bw_deg, freq_hz",
    [(4.4127, 2e9), (1.0, 2e9), (10.0, 1.9925e9), (30.0, 12e9), (0.3, 20e9), (60.0, 2e9)],
)
def test_minus_3_db_point_is_at_half_the_beamwidth(bw_deg, freq_hz):
    a = aperture_radius_from_beamwidth_m(bw_deg, freq_hz)
    g_max = 30.0

    def excess(theta_deg):
        gain = circular_aperture_gain_db(math.radians(theta_deg), a, freq_hz, g_max)
        return gain - (g_max + HALF_POWER_DB)

    theta3 = brentq(excess, 1e-6, bw_deg, xtol=1e-12)
    assert theta3 == pytest.approx(bw_deg / 2.0, abs=1e-4)
    assert beamwidth_from_aperture_deg(a, freq_hz) == pytest.approx(bw_deg, abs=1e-9)


def test_pattern_matches_jv_and_direct_integration():
    freq, g_max = 2e9, 30.0
    a = aperture_radius_from_beamwidth_m(4.4127, freq)
    ka = float(wavenumber_rad_m(freq)) * a
    theta = np.linspace(1e-4, 0.5 * np.pi - 1e-4, 4001)
    x = ka * np.sin(theta)
    got = circular_aperture_gain_db(theta, a, freq, g_max) - g_max
    ref = _normalised_db_jv(x)
    keep = ref > -60.0  # away from the nulls, where dB differences lose meaning
    assert keep.sum() > 3000
    np.testing.assert_allclose(got[keep], ref[keep], rtol=0, atol=1e-9)

    xs = np.array([1e-3, 0.5, HALF_POWER_U, 2.7, 5.1356, 9.0, 17.3, 25.0, ka - 0.01])
    field = _normalised_field_by_integration(xs)
    ref_int = 10.0 * np.log10(field**2)
    got_int = circular_aperture_gain_db(np.arcsin(xs / ka), a, freq, g_max) - g_max
    np.testing.assert_allclose(got_int, ref_int, rtol=0, atol=1e-9)


def test_boresight_is_the_maximum_gain_without_warnings():
    # filterwarnings=error: any 0/0 or log10(0) RuntimeWarning would fail this test
    g = circular_aperture_gain_db(np.array([0.0, -0.0, 1e-300, 1e-12]), 1.0, 2e9, 30.0)
    np.testing.assert_allclose(g, 30.0, rtol=0, atol=1e-12)
    assert float(circular_aperture_gain_db(0.0, 1.0, 2e9, 30.0)) == 30.0
    assert aperture_pattern_lin(0.0) == 1.0


def test_first_null_and_first_side_lobe():
    freq, g_max = 2e9, 30.0
    a = aperture_radius_from_beamwidth_m(4.4127, freq)
    ka = float(wavenumber_rad_m(freq)) * a
    u = np.arange(3.5, 4.2, 1e-6)
    null_u = u[np.argmin(aperture_pattern_lin(u))]
    assert null_u == pytest.approx(3.8317, abs=1e-4)
    assert jn_zeros(1, 1)[0] == pytest.approx(3.8317, abs=1e-4)
    # in the null the gain is the floor, finite
    g_null = circular_aperture_gain_db(math.asin(jn_zeros(1, 1)[0] / ka), a, freq, g_max)
    assert g_null == pytest.approx(g_max + PATTERN_FLOOR_DB, abs=1e-9)

    u = np.arange(3.9, 7.0, 1e-5)
    g = circular_aperture_gain_db(np.arcsin(u / ka), a, freq, g_max) - g_max
    assert u[np.argmax(g)] == pytest.approx(5.1356, abs=1e-4)
    assert g.max() == pytest.approx(-17.57, abs=0.005)


def test_floor_beyond_90_degrees_and_symmetry():
    a, freq, g_max = 1.0, 2e9, 30.0
    theta = np.radians([90.0, 91.0, 120.0, 180.0, -90.0, -179.0])
    np.testing.assert_array_equal(
        circular_aperture_gain_db(theta, a, freq, g_max), g_max + PATTERN_FLOOR_DB
    )
    t = np.radians(np.linspace(0.0, 89.9, 500))
    g = circular_aperture_gain_db(t, a, freq, g_max)
    np.testing.assert_array_equal(g, circular_aperture_gain_db(-t, a, freq, g_max))
    assert np.all(np.isfinite(g)) and g.min() >= g_max + PATTERN_FLOOR_DB


def test_shapes_broadcast():
    theta = np.zeros((3, 4, 5))
    assert circular_aperture_gain_db(theta, 1.0, 2e9, 30.0).shape == (3, 4, 5)
    assert circular_aperture_gain_db(0.1, 1.0, 2e9, 30.0).shape == ()


@pytest.mark.parametrize("ka_target", [None, 60.0])
def test_pattern_table_agrees_with_the_exact_pattern(ka_target):
    freq, g_max = 2e9, 30.0
    k = float(wavenumber_rad_m(freq))
    a = aperture_radius_from_beamwidth_m(4.4127, freq) if ka_target is None else ka_target / k
    table = pattern_table(a, freq, g_max)
    assert table.u_step == DEFAULT_TABLE_U_STEP
    assert table.ka == pytest.approx(k * a, rel=1e-15)
    assert table.gain_lin.dtype == np.float64
    # grid reaches u = ka with one extra point, so i + 1 is in range for any u <= ka
    n = table.gain_lin.size
    assert (n - 2) * table.u_step >= table.ka
    assert int(table.ka / table.u_step) + 1 <= n - 1
    assert table.gain_lin.nbytes < 300_000  # a few hundred KB at most, even at ka ~ 60
    assert table.gain_lin[0] == 1.0
    assert table.gain_lin.min() == pytest.approx(10.0 ** (PATTERN_FLOOR_DB / 10.0), rel=1e-12)

    rng = np.random.default_rng(7)
    theta = np.concatenate(
        [np.linspace(0.0, 0.5 * np.pi, 400_001), rng.uniform(0.0, 0.5 * np.pi, 100_000)]
    )
    exact = circular_aperture_gain_db(theta, a, freq, g_max)
    got = table.gain_db(theta)
    keep = exact - g_max > -40.0
    assert np.abs(got[keep] - exact[keep]).max() < 0.01
    # where the pattern is low the table never drops below the floor
    assert got.min() >= g_max + PATTERN_FLOOR_DB - 1e-12
    assert table.gain_db(0.0) == pytest.approx(g_max, abs=1e-12)
    np.testing.assert_array_equal(
        table.gain_db(np.radians([90.0, 135.0, -100.0])), g_max + PATTERN_FLOOR_DB
    )


def test_pattern_table_is_read_only():
    table = pattern_table(1.0, 2e9, 30.0)
    with pytest.raises(ValueError):
        table.gain_lin[0] = 0.5


def test_scan_loss():
    # cos^n: n = 1.2 at 60 deg is 12 log10(2) = 3.6124 dB; n = 1 (projected aperture) 3.0103 dB
    assert scan_loss_db(60.0, 1.2) == pytest.approx(12.0 * math.log10(2.0), abs=1e-12)
    assert scan_loss_db(60.0, 1.2) == pytest.approx(3.6124, abs=1e-4)
    assert scan_loss_db(60.0, 1.0) == pytest.approx(3.0103, abs=1e-4)
    assert scan_loss_db(45.0, 2.0) == pytest.approx(3.0103, abs=1e-4)
    np.testing.assert_array_equal(scan_loss_db([0.0, -0.0], 1.5), [0.0, 0.0])
    np.testing.assert_array_equal(scan_loss_db([0.0, 30.0, 89.0, 90.0], 0.0), 0.0)
    assert scan_loss_db(-30.0, 1.3) == scan_loss_db(30.0, 1.3)
    loss = scan_loss_db(np.linspace(0.0, 90.0, 91), 1.2)
    assert np.all(np.diff(loss) > 0) and np.all(np.isfinite(loss))
    assert loss[-1] == pytest.approx(12.0 * 16.0, rel=0.02)  # cos clipped at 1e-16
    assert scan_loss_db(np.zeros((2, 3)), 1.0).shape == (2, 3)


@pytest.mark.parametrize("angle", [90.5, 180.0, [10.0, 95.0], float("nan")])
def test_scan_loss_rejects_angles_behind_the_array(angle):
    with pytest.raises(InputError, match="within 90 degrees"):
        scan_loss_db(angle, 1.0)


def test_bad_inputs_raise_input_errors():
    with pytest.raises(InputError, match="exponent"):
        scan_loss_db(10.0, -1.0)
    with pytest.raises(InputError, match="beamwidth_3db_deg"):
        aperture_radius_from_beamwidth_m(0.0, 2e9)
    with pytest.raises(InputError, match="below 180"):
        aperture_radius_from_beamwidth_m(180.0, 2e9)
    with pytest.raises(InputError, match="freq_hz"):
        aperture_radius_from_beamwidth_m(4.0, -2e9)
    with pytest.raises(InputError, match="too small"):
        beamwidth_from_aperture_deg(0.01, 2e9)  # k a = 0.42
    with pytest.raises(InputError, match="aperture_radius_m"):
        circular_aperture_gain_db(0.1, float("nan"), 2e9, 30.0)
    with pytest.raises(InputError, match="step"):
        pattern_table(1.0, 2e9, 30.0, step=0.0)
