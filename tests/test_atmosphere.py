"""Gaseous absorption (ITU-R P.676-12) and tropospheric scintillation (ITU-R P.618-13).

Oracles, from strongest to weakest:

* **ITU-R Study Group 3 validation examples** (file CG-3M3J-13-ValEx, rev 5.1,
  as distributed in ITU-Rpy's ``test/test_data``): ``ITURP676-12_gamma.csv``
  (specific attenuation, 1013.25 hPa, 288.15 K, 7.5 g/m^3),
  ``ITURP676-12_A_gas.csv`` (slant-path gas attenuation, Annex 2 with the
  water-vapour content V_t), ``ITURP618-13_A_total.csv`` (its ``A_scin``
  column) with N_wet of the same sites from ``ITURP453-14_Nwet.csv``. The
  rows below are typed from those files; tolerances are far below a
  thousandth of a dB because the method is deterministic.
* **P.676 zenith-attenuation figure** (1013 hPa, 15 deg C, 7.5 g/m^3) as
  read by ns-3-dev (``three-gpp-propagation-loss-model.cc``,
  ``atmosphericAbsorption``, "ITU-R P.676 Figure 6"): a figure reading, so
  10 % tolerance.
* **3GPP TR 38.811 Table 6.6.6.2.1-1** (tropospheric scintillation at
  20 GHz, Toulouse, as transcribed in ns-3-dev): the TR does not give the
  N_wet or antenna behind it, so this is a consistency check at 0.1 dB,
  not a validation.
* Our own closed forms (cosecant law, aperture averaging limits) where
  marked.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link import _atmosphere_kernels as kernels
from satsim.link.atmosphere import (
    GAS_FREQ_RANGE_HZ,
    SCINTILLATION_FREQ_RANGE_HZ,
    equivalent_heights_km,
    gas_attenuation_db,
    gas_path_terms,
    gas_zenith_attenuation_db,
    scintillation_time_factor,
    specific_attenuation_db_km,
    tropo_scintillation_db,
    wet_refractivity,
)

# ITU-R SG3 validation, ITURP676-12_gamma.csv: f (GHz), gamma_o, gamma_w (dB/km)
# at p = 1013.25 hPa, T = 288.15 K, rho = 7.5 g/m^3.
GAMMA_ROWS = [
    (1, 0.005388658, 5.09e-05),
    (2, 0.006716038, 0.000204381),
    (6, 0.007537212, 0.001921572),
    (12, 0.008698264, 0.009535388),
    (15, 0.009618924, 0.019439422),
    (20, 0.01188355, 0.097047305),
    (22, 0.013130223, 0.174207033),
    (23, 0.013847278, 0.180441698),
    (30, 0.021449684, 0.072374863),
    (40, 0.052116839, 0.07896903),
    (50, 0.277268639, 0.111158547),
    (54, 2.211542026, 0.127361673),
    (60, 14.6234748, 0.154841841),
    (66, 1.966617945, 0.187577774),
    (90, 0.038869711, 0.341973394),
    (118, 1.134866202, 0.605921953),
    (130, 0.041509084, 0.751844704),
    (183, 0.012733909, 27.66500831),
    (350, 0.036805627, 10.12267314),
]

# ITU-R SG3 validation, ITURP676-12_A_gas.csv: elevation (deg), f (GHz),
# rho (g/m^3), T (K), p (hPa), V_t (kg/m^2), station altitude (km), A_gas (dB).
A_GAS_ROWS = [
    (31.07699124, 14.25, 13.79653679, 283.6108756, 1009.485611798, 33.72946527, 0.031382984,
     0.226874038),
    (40.232036, 14.25, 18.26241988, 288.0897369, 1007.721474334, 36.04810935, 0.046122988,
     0.189480858),
    (46.35969261, 14.25, 22.73000178, 293.3696795, 1013.25, 37.95559991, 0, 0.176011463),
    (31.07699124, 29, 13.79653679, 283.6108756, 1009.485611798, 33.72946527, 0.031382984,
     0.837659939),
    (40.232036, 29, 18.26241988, 288.0897369, 1007.721474334, 36.04810935, 0.046122988,
     0.706966165),
    (46.35969261, 29, 23.75934505, 293.3696795, 1013.25, 43.41046058, 0, 0.753268313),
    (22.27833468, 14.25, 20.73943055, 297.4535413, 1013.25, 49.51318435, 0, 0.41148401),
    (52.67898486, 14.25, 22.46648815, 297.5746539, 1012.215223621, 57.49754593, 0.00861728,
     0.2232322),
    (22.27833468, 29, 21.36940337, 297.4535413, 1013.25, 54.63180904, 0, 1.795750719),
    (52.67898486, 29, 23.16394822, 297.5746539, 1012.215223621, 61.16156021, 0.00861728,
     0.960229435),
    (48.24117054, 14.25, 24.71053082, 298.0584989, 988.348774029, 70.5913453, 0.209383699,
     0.28572246),
    (85.80459566, 14.25, 23.4746267, 299.6054075, 1007.108268203, 62.58469725, 0.051251456,
     0.191742949),
    (20.14335809, 14.25, 11.72317019, 290.2100933, 743.187215819, 25.92566906, 2.539861878,
     0.222223506),
    (48.24117054, 29, 25.5993274, 298.0584989, 988.348774029, 74.50200786, 0.209383699,
     1.230093679),
    (85.80459566, 29, 24.10541175, 299.6054075, 1007.108268203, 64.94637615, 0.051251456,
     0.809550126),
    (20.14335809, 29, 12.54721426, 290.2100933, 743.187215819, 27.51187059, 2.539861878,
     0.741297893),
]

# ITU-R SG3 validation, ITURP618-13_A_total.csv (A_scin) with N_wet from
# ITURP453-14_Nwet.csv: site, N_wet, f (GHz), elevation (deg), D (m), eta,
# p (%), A_scin (dB).
A_SCIN_ROWS = [
    ("London", 50.38926222, 14.25, 31.07699124, 1, 0.65, 1, 0.261931889),
    ("London", 50.38926222, 14.25, 31.07699124, 1, 0.65, 0.1, 0.422845379),
    ("London", 50.38926222, 14.25, 31.07699124, 1, 0.65, 0.01, 0.628287291),
    ("London", 50.38926222, 14.25, 31.07699124, 1, 0.65, 0.001, 0.910213314),
    ("London", 50.38926222, 29, 31.07699124, 1, 0.65, 1, 0.388492522),
    ("London", 50.38926222, 29, 31.07699124, 1, 0.65, 0.001, 1.350011513),
    ("Rome", 61.21890044, 14.25, 40.232036, 1, 0.65, 1, 0.224052195),
    ("Rome", 61.21890044, 29, 40.232036, 1, 0.65, 0.1, 0.534590663),
    ("Libya", 80.14015964, 29, 46.35969261, 1, 0.65, 0.01, 0.823699705),
    ("Rio", 104.3584747, 14.25, 22.27833468, 1, 0.65, 1, 0.620097436),
    ("Rio", 104.3584747, 29, 22.27833468, 1, 0.65, 0.001, 3.208850762),
    ("Miami", 113.2738672, 29, 52.67898486, 1, 0.65, 0.1, 0.633432179),
    ("Delhi", 75.66013547, 14.25, 48.24117054, 1, 0.65, 0.01, 0.517251503),
    ("Kuala Lumpur", 128.1408003, 29, 85.80459566, 1, 0.65, 1, 0.324868797),
]

# P.676 zenith attenuation figure (1013 hPa, 15 deg C, 7.5 g/m^3) as read by
# ns-3-dev's atmosphericAbsorption table: f (GHz), dB. Points where the
# table is read off the figure (between them ns-3 interpolates).
P676_FIGURE_ZENITH_DB = [(1, 0.030), (2, 0.035), (10, 0.053), (20, 0.25), (30, 0.25),
                         (40, 0.40), (70, 2.0), (80, 0.80)]

# TR 38.811 Table 6.6.6.2.1-1 (via ns-3-dev): tropospheric scintillation at
# 20 GHz, Toulouse, exceeded 1 % of the time, per elevation.
TR38811_SCINTILLATION_20GHZ_DB = {10: 1.08, 20: 0.48, 30: 0.30, 40: 0.22, 50: 0.17,
                                  60: 0.13, 70: 0.12, 80: 0.12, 90: 0.12}


@pytest.mark.parametrize("f_ghz, gamma_o, gamma_w", GAMMA_ROWS)
def test_specific_attenuation_matches_itu_validation(f_ghz, gamma_o, gamma_w):
    oxygen, water = specific_attenuation_db_km(f_ghz * 1e9, 1013.25, 288.15, 7.5)
    # Relative 2e-4 (the validation file prints 7-10 significant digits).
    assert oxygen == pytest.approx(gamma_o, rel=2e-4)
    assert water == pytest.approx(gamma_w, rel=2e-4)


def test_specific_attenuation_spectral_landmarks():
    """The values the brief quotes, from the validation rows above: dry air
    ~0.01 dB/km at 15 GHz, water vapour ~0.17-0.19 dB/km at the 22.235 GHz line,
    the 60 GHz oxygen complex above 10 dB/km; and the water line is a peak."""
    o15, _ = specific_attenuation_db_km(15e9)
    _, w_line = specific_attenuation_db_km(22.235e9)
    o60, _ = specific_attenuation_db_km(60e9)
    _, w_around = specific_attenuation_db_km(np.array([19e9, 26e9]))
    assert o15 == pytest.approx(0.0096, abs=0.0005)
    assert 0.17 <= w_line <= 0.19
    assert o60 > 10.0
    assert np.all(w_around < w_line)


@pytest.mark.parametrize("elev, f_ghz, rho, t_k, p_hpa, vt, h_km, expected_db", A_GAS_ROWS)
def test_slant_gas_attenuation_matches_itu_validation(elev, f_ghz, rho, t_k, p_hpa, vt, h_km,
                                                      expected_db):
    got = gas_attenuation_db(elev, f_ghz * 1e9, p_hpa, t_k, rho,
                             water_vapour_content_kg_m2=vt, altitude_km=h_km)
    assert got == pytest.approx(expected_db, abs=1e-6)


@pytest.mark.parametrize("f_ghz, figure_db", P676_FIGURE_ZENITH_DB)
def test_zenith_attenuation_near_p676_figure(f_ghz, figure_db):
    oxygen, water = gas_zenith_attenuation_db(f_ghz * 1e9)
    assert oxygen + water == pytest.approx(figure_db, rel=0.10)


def test_s_band_zenith_matches_the_sub6ghz_constant():
    """satsim.link.losses uses 0.035 dB at zenith for S-band (P.676 via TR 38.811,
    NTN_REFERENCE §2); the full method gives 0.034 dB at 2 GHz."""
    oxygen, water = gas_zenith_attenuation_db(2e9)
    assert oxygen + water == pytest.approx(0.035, abs=0.002)


def test_cosecant_law_above_five_degrees():
    """Own closed form (TR 38.811 eq. 6.6-8): A(e) = A_zenith / sin(e) for e >= 5 deg."""
    zenith = gas_attenuation_db(90.0, 30e9)
    elev = np.array([5.0, 10.0, 30.0, 60.0])
    assert np.allclose(gas_attenuation_db(elev, 30e9), zenith / np.sin(np.radians(elev)),
                       rtol=1e-12)


def test_low_elevation_curved_path():
    """Below 5 deg the curved-Earth path is shorter than the cosecant law, finite
    at the horizon, grows as the elevation falls, and meets the cosecant law at
    5 deg to within the recommendation's own step (under 8 %)."""
    elev = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 4.999])
    loss = gas_attenuation_db(elev, 30e9)
    zenith = gas_attenuation_db(90.0, 30e9)
    assert np.all(np.isfinite(loss))
    assert np.all(np.diff(loss) < 0)
    assert np.all(loss[1:] < zenith / np.sin(np.radians(elev[1:])))
    at_5 = gas_attenuation_db(5.0, 30e9)
    assert abs(loss[-1] / at_5 - 1.0) < 0.08


def test_equivalent_heights_plausible():
    """Equivalent heights at the reference atmosphere, 30 GHz: oxygen about 5 km,
    water vapour about 1.7 km (P.676-12 Annex 2; roughly the scale heights of
    dry air, 6-8 km, and water vapour, 2 km, in P.835)."""
    h_ox, h_w = equivalent_heights_km(30e9)
    assert 4.5 < h_ox < 6.0
    assert 1.4 < h_w < 2.2


@pytest.mark.parametrize("site, nwet, f_ghz, elev, d_m, eta, p, expected_db", A_SCIN_ROWS)
def test_scintillation_matches_itu_validation(site, nwet, f_ghz, elev, d_m, eta, p, expected_db):
    got = tropo_scintillation_db(elev, f_ghz * 1e9, d_m, eta, p, nwet)
    assert got == pytest.approx(expected_db, abs=1e-6), site


def test_scintillation_consistent_with_tr38811_table():
    """Handset (no aperture averaging), P.835 reference N_wet, 20 GHz, 1 %:
    within 0.1 dB of TR 38.811 Table 6.6.6.2.1-1 at every elevation row."""
    elev = np.array(sorted(TR38811_SCINTILLATION_20GHZ_DB), dtype=float)
    table = np.array([TR38811_SCINTILLATION_20GHZ_DB[e] for e in elev])
    got = tropo_scintillation_db(elev, 20e9, 0.0, 0.5, 1.0)
    assert np.all(np.abs(got - table) <= 0.1)


def test_scintillation_aperture_averaging():
    """Own closed form: g(0) = sqrt(3.86 sin(11 pi / 12)) ~ 1.0, so a point antenna
    gives a(p) sigma_ref f^(7/12) / sin(e)^1.2; a larger dish fades less; an
    antenna with x >= 7 averages scintillation out (P.618-13 step 6)."""
    nwet = 50.0
    point = tropo_scintillation_db(30.0, 20e9, 0.0, 0.5, 1.0, nwet)
    g0 = math.sqrt(3.86 * math.sin(11.0 * math.pi / 12.0))
    expected = 3.0 * (3.6e-3 + 1e-4 * nwet) * 20**(7 / 12) * g0 / math.sin(math.radians(30)) ** 1.2
    assert point == pytest.approx(expected, rel=1e-12)
    sizes = tropo_scintillation_db(30.0, 20e9, np.array([0.3, 0.6, 1.2, 2.4]), 0.65, 1.0, nwet)
    assert np.all(np.diff(sizes) < 0)
    # L = 2000 m at 30 deg (almost); x = 1.22 D^2 f / L >= 7 for a 30 m dish at 20 GHz.
    assert tropo_scintillation_db(30.0, 20e9, 30.0, 1.0, 1.0, nwet) == 0.0


def test_scintillation_holds_elevation_below_five_degrees():
    assert tropo_scintillation_db(np.array([0.0, 3.0]), 20e9, 0.6).tolist() == \
        [float(tropo_scintillation_db(5.0, 20e9, 0.6))] * 2


def test_time_factor_values():
    """P.618-13 §2.4.1 step 8 at its round points: a(1 %) = 3.0, a(0.1 %) = 4.843 (closed form)."""
    assert scintillation_time_factor(1.0) == pytest.approx(3.0, abs=1e-12)
    assert scintillation_time_factor(0.1) == pytest.approx(0.061 + 0.072 + 1.71 + 3.0, abs=1e-12)


def test_wet_refractivity_reference_atmosphere():
    """Own closed form: the P.453-14 wet term 72 e/T + 3.75e5 e/T^2 at 7.5 g/m^3
    and 288.15 K (e = 9.97 hPa) is 47.5 N-units."""
    assert wet_refractivity() == pytest.approx(47.53, abs=0.01)


def test_broadcasting_shapes():
    elev = np.linspace(5, 90, 4)[:, None]
    freq = np.array([12e9, 20e9, 30e9])[None, :]
    assert gas_attenuation_db(elev, freq).shape == (4, 3)
    assert tropo_scintillation_db(elev, freq, 0.6).shape == (4, 3)
    oxygen, water = specific_attenuation_db_km(freq, np.array([[900.0], [1013.25]]))
    assert oxygen.shape == water.shape == (2, 3)


@pytest.mark.parametrize("freq_hz", [0.5e9, 400e9])
def test_gas_refuses_frequencies_outside_annex2(freq_hz):
    with pytest.raises(InputError, match="1-350 GHz"):
        gas_attenuation_db(30.0, freq_hz)
    assert GAS_FREQ_RANGE_HZ == (1e9, 350e9)


@pytest.mark.parametrize("freq_hz", [2e9, 60e9])
def test_scintillation_refuses_frequencies_outside_range(freq_hz):
    with pytest.raises(InputError, match="4-55 GHz"):
        tropo_scintillation_db(30.0, freq_hz, 0.6)
    assert SCINTILLATION_FREQ_RANGE_HZ == (4e9, 55e9)


@pytest.mark.parametrize("call, match", [
    (lambda: gas_attenuation_db(-1.0, 20e9), "elevation_deg in \\[0, 90\\]"),
    (lambda: gas_attenuation_db(30.0, 20e9, temperature_k=15.0), "kelvin"),
    (lambda: gas_zenith_attenuation_db(20e9, water_vapour_content_kg_m2=0.0),
     "water_vapour_content"),
    (lambda: tropo_scintillation_db(30.0, 20e9, 0.6, percent_time=80.0), "percent_time"),
    (lambda: tropo_scintillation_db(30.0, 20e9, 0.6, antenna_efficiency=0.0), "antenna_efficiency"),
    (lambda: tropo_scintillation_db(30.0, 20e9, 0.6, nwet=-5.0), "nwet"),
    (lambda: gas_path_terms(np.array([20e9, 30e9])), "scalars"),
])
def test_bad_inputs_raise_input_error(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_gas_kernel_equals_numpy():
    terms = gas_path_terms(28e9, 1000.0, 295.0, 12.0)
    elev = np.concatenate([np.linspace(0.0, 4.99, 30), np.linspace(5.0, 90.0, 40)])
    ref = gas_attenuation_db(elev, 28e9, 1000.0, 295.0, 12.0)
    got = np.array([kernels.gas_slant_loss_db(e, terms.zenith_oxygen_db, terms.zenith_water_db,
                                              terms.h_oxygen_km, terms.h_water_km) for e in elev])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_scintillation_kernel_equals_numpy():
    elev = np.linspace(0.0, 90.0, 50)
    d_m, eta, p, nwet, f_hz = 0.6, 0.65, 0.5, 60.0, 19.7e9
    ref = tropo_scintillation_db(elev, f_hz, d_m, eta, p, nwet)
    a_p = float(scintillation_time_factor(p))
    got = np.array([kernels.tropo_scintillation_db(e, f_hz / 1e9, nwet, math.sqrt(eta) * d_m, a_p)
                    for e in elev])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
