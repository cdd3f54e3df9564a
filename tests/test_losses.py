"""Propagation losses against 3GPP TR 38.811 v15.4.0 §6.6 and TR 38.821 v16.1.0.

Oracles: the project's ``NTN_REFERENCE.md``: §2 transcribes TR 38.811 Tables
6.6.1-1 and 6.6.2-1/2/3 as implemented in ns-3-dev
(``channel-condition-model.cc``, ``three-gpp-propagation-loss-model.cc``);
§1 gives TR 38.821 Table 6.1.3.3-1 row SC9 (LEO-600, S-band, 30 deg).
The table values below are typed in a second time from that file, so a typo
in either transcription fails a test. Tolerances are in dB or km.

From 6 GHz the atmospheric and scintillation terms are those of
``satsim.link.atmosphere`` (ITU-R P.676-12, P.618-13), validated against the
ITU-R SG3 examples in ``tests/test_atmosphere.py``; here they are checked to
be wired in: equal to that module's functions with the Propagation's weather
and terminal, and the switch from the sub-6 GHz models sits at 6 GHz.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satsim.errors import InputError
from satsim.link import atmosphere
from satsim.link.config import ENVIRONMENTS, Propagation
from satsim.link.losses import (
    ELEVATION_GRID_DEG,
    SHADOWING_STREAM,
    atmospheric_loss_db,
    channel_draws,
    channel_table,
    clutter_loss_db,
    fspl_db,
    link_loss_db,
    los_probability,
    scintillation_loss_db,
    shadow_fading_sigma_db,
    slant_range_km,
)

GRID = [10, 20, 30, 40, 50, 60, 70, 80, 90]

# TR 38.811 Table 6.6.1-1 (NTN_REFERENCE.md §2): LOS probability, 10..90 deg.
P_LOS = {
    "dense_urban": [0.282, 0.331, 0.398, 0.468, 0.537, 0.612, 0.738, 0.820, 0.981],
    "urban": [0.246, 0.386, 0.493, 0.613, 0.726, 0.805, 0.919, 0.968, 0.992],
    "suburban": [0.782, 0.869, 0.919, 0.929, 0.935, 0.940, 0.949, 0.952, 0.998],
}
P_LOS["rural"] = P_LOS["suburban"]

# TR 38.811 Tables 6.6.2-1 (dense urban), 6.6.2-2 (urban), 6.6.2-3 (suburban
# and rural), S-band (NTN_REFERENCE.md §2): sigma_LOS, sigma_NLOS, CL in dB.
SF_CL = {
    "dense_urban": [
        (3.5, 15.5, 34.3), (3.4, 13.9, 30.9), (2.9, 12.4, 29.0), (3.0, 11.7, 27.7),
        (3.1, 10.6, 26.8), (2.7, 10.5, 26.2), (2.5, 10.1, 25.8), (2.3, 9.2, 25.5),
        (1.2, 9.2, 25.5),
    ],
    "urban": [
        (4, 6, 34.3), (4, 6, 30.9), (4, 6, 29.0), (4, 6, 27.7), (4, 6, 26.8),
        (4, 6, 26.2), (4, 6, 25.8), (4, 6, 25.5), (4, 6, 25.5),
    ],
    "suburban": [
        (1.79, 8.93, 19.52), (1.14, 9.08, 18.17), (1.14, 8.78, 18.42), (0.92, 10.25, 18.28),
        (1.42, 10.56, 18.63), (1.56, 10.74, 17.68), (0.85, 10.17, 16.5), (0.72, 11.52, 16.3),
        (0.72, 11.52, 16.3),
    ],
}
SF_CL["rural"] = SF_CL["suburban"]

S_BAND_HZ = 2.0e9
ALL_OFF = Propagation(
    environment="dense_urban",
    los_probability=True,
    shadow_fading=False,
    clutter_loss=False,
    atmospheric=False,
    scintillation=False,
)


# ---------------------------------------------------------------- tables


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_los_probability_table_6_6_1_1(env):
    """TR 38.811 Table 6.6.1-1 at every 10-degree row, through the array and the function."""
    t = channel_table(env)
    np.testing.assert_array_equal(t.elevation_deg, GRID)
    np.testing.assert_array_equal(t.p_los, P_LOS[env])
    np.testing.assert_array_equal(los_probability(np.array(GRID, float), env), P_LOS[env])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shadow_fading_and_clutter_tables_6_6_2_1_to_3(env):
    """TR 38.811 Tables 6.6.2-1/2/3, S-band, at every 10-degree row."""
    sig_los, sig_nlos, cl = np.array(SF_CL[env], dtype=float).T
    t = channel_table(env)
    np.testing.assert_array_equal(t.sigma_los_db, sig_los)
    np.testing.assert_array_equal(t.sigma_nlos_db, sig_nlos)
    np.testing.assert_array_equal(t.clutter_loss_db, cl)
    grid = np.array(GRID, float)
    np.testing.assert_array_equal(shadow_fading_sigma_db(grid, env, True), sig_los)
    np.testing.assert_array_equal(shadow_fading_sigma_db(grid, env, False), sig_nlos)
    np.testing.assert_array_equal(clutter_loss_db(grid, env), cl)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_channel_table_arrays_are_read_only_float64(env):
    """The kernel consumes these arrays as they are: float64, shape (9,), not writable."""
    t = channel_table(env)
    for f in dataclasses.fields(t):
        a = getattr(t, f.name)
        assert a.dtype == np.float64 and a.shape == (9,)
        assert not a.flags.writeable
    assert channel_table("suburban") is channel_table("rural")  # one table in TR 38.811


def test_los_probability_rises_with_elevation():
    """Every Table 6.6.1-1 column increases: the basis of the monotone LOS coupling."""
    for env in ENVIRONMENTS:
        assert np.all(np.diff(channel_table(env).p_los) > 0)


# ---------------------------------------------------------- interpolation


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_interpolation_between_rows_is_linear(env):
    """Between 10-degree rows the value is linear in elevation (ns-3 rounds instead)."""
    t = channel_table(env)
    mid = ELEVATION_GRID_DEG[:-1] + 5.0
    quarter = ELEVATION_GRID_DEG[:-1] + 2.5
    for col, fn in (
        (t.p_los, lambda e: los_probability(e, env)),
        (t.sigma_los_db, lambda e: shadow_fading_sigma_db(e, env, True)),
        (t.sigma_nlos_db, lambda e: shadow_fading_sigma_db(e, env, False)),
        (t.clutter_loss_db, lambda e: clutter_loss_db(e, env)),
    ):
        np.testing.assert_allclose(fn(mid), (col[:-1] + col[1:]) / 2, rtol=0, atol=1e-12)
        expected = 0.75 * col[:-1] + 0.25 * col[1:]
        np.testing.assert_allclose(fn(quarter), expected, rtol=0, atol=1e-12)


def test_interpolation_example_urban_15_deg():
    """Urban LOS probability at 15 deg: halfway between 0.246 (10 deg) and 0.386 (20 deg)."""
    assert los_probability(15.0, "urban") == pytest.approx(0.316, abs=1e-12)
    assert clutter_loss_db(15.0, "urban") == pytest.approx((34.3 + 30.9) / 2, abs=1e-12)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_clamped_outside_the_grid(env):
    """Below 10 deg the 10-degree row applies, above 90 deg the 90-degree row."""
    t = channel_table(env)
    low = np.array([-5.0, 0.0, 5.0, 9.999])
    high = np.array([90.0, 90.001, 95.0])
    np.testing.assert_array_equal(los_probability(low, env), t.p_los[0])
    np.testing.assert_array_equal(los_probability(high, env), t.p_los[-1])
    np.testing.assert_array_equal(clutter_loss_db(low, env), t.clutter_loss_db[0])
    np.testing.assert_array_equal(clutter_loss_db(high, env), t.clutter_loss_db[-1])
    np.testing.assert_array_equal(shadow_fading_sigma_db(low, env, False), t.sigma_nlos_db[0])
    np.testing.assert_array_equal(shadow_fading_sigma_db(high, env, True), t.sigma_los_db[-1])


def test_sigma_broadcasts_los_flags():
    los = np.array([[True], [False]])
    out = shadow_fading_sigma_db(np.array([10.0, 90.0]), "dense_urban", los)
    np.testing.assert_array_equal(out, [[3.5, 1.2], [15.5, 9.2]])


@pytest.mark.parametrize(
    "call",
    [
        lambda env: channel_table(env),
        lambda env: los_probability(30.0, env),
        lambda env: shadow_fading_sigma_db(30.0, env, True),
        lambda env: clutter_loss_db(30.0, env),
    ],
)
@pytest.mark.parametrize("env", ["Urban", "downtown", "", None])
def test_bad_environment_lists_valid_names(call, env):
    with pytest.raises(InputError, match="dense_urban, urban, suburban, rural") as exc:
        call(env)
    assert repr(env) in str(exc.value)


# ------------------------------------------------------ geometry and FSPL


def test_fspl_tr38821_sc9():
    """TR 38.821 Table 6.1.3.3-1, SC9: 2 GHz over 1075 km -> FSPL 159.1 dB (printed to 0.1)."""
    assert fspl_db(1075.0, 2.0e9) == pytest.approx(159.1, abs=0.05)


def test_fspl_formula_and_broadcast():
    """TR 38.811 §6.6.2: 32.45 + 20 log10(f/GHz) + 20 log10(d/m); 1 km at 1 GHz -> 92.45 dB."""
    assert fspl_db(1.0, 1.0e9) == pytest.approx(92.45, abs=1e-12)
    out = fspl_db(np.array([[1.0], [10.0]]), np.array([1.0e9, 2.0e9]))
    np.testing.assert_allclose(
        out, [[92.45, 92.45 + 20 * np.log10(2)], [112.45, 112.45 + 20 * np.log10(2)]], atol=1e-12
    )
    with pytest.raises(InputError, match="positive"):
        fspl_db(0.0, 2e9)


def test_slant_range_sc9_and_zenith():
    """TR 38.811 eq. 6.6-3: 1075 km at 30 deg from 600 km (TR 38.821 SC9); altitude at 90 deg."""
    assert slant_range_km(30.0, 600.0) == pytest.approx(1075.0, abs=1.0)
    assert slant_range_km(90.0, 600.0) == pytest.approx(600.0, abs=1e-9)
    np.testing.assert_allclose(slant_range_km(90.0, np.array([360.0, 550.0])), [360.0, 550.0])
    # At the horizon the range is the tangent length sqrt(h^2 + 2hR).
    tangent_km = np.sqrt(600.0**2 + 2 * 600 * 6371)
    assert slant_range_km(0.0, 600.0) == pytest.approx(tangent_km, rel=1e-12)
    with pytest.raises(InputError, match="altitude_km"):
        slant_range_km(30.0, 0.0)


# ----------------------------------------------- atmosphere, scintillation


def test_scintillation_2_2_db_at_2_ghz():
    """TR 38.811 §6.6.6.1.4 and TR 38.821 SC9: 2.2 dB at 2 GHz, scaling as f^-1.5."""
    assert scintillation_loss_db(2.0e9) == pytest.approx(2.2, abs=0.05)
    assert scintillation_loss_db(4.0e9) == pytest.approx(1.1 / np.sqrt(2), abs=1e-12)
    out = scintillation_loss_db(np.array([1e9, 2e9]))
    np.testing.assert_allclose(out, [2.2 * 2**1.5, 2.2], rtol=1e-12)


def test_atmospheric_zenith_sc9_and_clamp():
    """0.035 dB at zenith, 0.07 dB at 30 deg (TR 38.821 SC9 prints 0.1), held at 5 deg below."""
    assert atmospheric_loss_db(90.0, 2e9) == pytest.approx(0.035, abs=1e-12)
    assert atmospheric_loss_db(30.0, 2e9) == pytest.approx(0.1, abs=0.05)
    low = atmospheric_loss_db(np.array([-10.0, 0.0, 4.0, 5.0]), 2e9)
    np.testing.assert_allclose(low, 0.035 / np.sin(np.radians(5.0)), rtol=1e-12)
    assert np.all(np.isfinite(low))
    assert atmospheric_loss_db(30.0, np.array([1e9, 2e9])).shape == (2,)


@pytest.mark.parametrize("freq_hz", [0.4e9, 351e9, np.array([2e9, 400e9])])
def test_atmospheric_model_refuses_frequencies_outside_0_5_to_350_ghz(freq_hz):
    with pytest.raises(InputError, match="0.5-350 GHz.*losses.atmospheric"):
        atmospheric_loss_db(30.0, freq_hz)


@pytest.mark.parametrize("freq_hz", [0.4e9, 56e9, np.array([2e9, 60e9])])
def test_scintillation_model_refuses_frequencies_outside_0_5_to_55_ghz(freq_hz):
    with pytest.raises(InputError, match="0.5-55 GHz.*losses.scintillation"):
        scintillation_loss_db(freq_hz, 30.0)


def test_tropospheric_scintillation_needs_the_elevation():
    with pytest.raises(InputError, match="elevation_deg"):
        scintillation_loss_db(20e9)
    assert scintillation_loss_db(2e9) == pytest.approx(2.2, abs=0.05)  # ionospheric: none


KA_ELEV_DEG = np.array([0.0, 2.0, 5.0, 10.0, 30.0, 60.0, 90.0])


@pytest.mark.parametrize("freq_hz", [6e9, 12e9, 20e9, 30e9, 50e9])
def test_atmospheric_from_6_ghz_is_p676(freq_hz):
    """From 6 GHz: ITU-R P.676-12 (``atmosphere.gas_attenuation_db``) for the weather given."""
    np.testing.assert_allclose(atmospheric_loss_db(KA_ELEV_DEG, freq_hz),
                               atmosphere.gas_attenuation_db(KA_ELEV_DEG, freq_hz),
                               rtol=0, atol=1e-12)
    weather = {"pressure_hpa": 900.0, "temperature_k": 300.0, "water_vapour_density_g_m3": 20.0}
    np.testing.assert_allclose(atmospheric_loss_db(KA_ELEV_DEG, freq_hz, **weather),
                               atmosphere.gas_attenuation_db(KA_ELEV_DEG, freq_hz, **weather),
                               rtol=0, atol=1e-12)


def test_atmospheric_switches_to_p676_at_6_ghz():
    """Below 6 GHz the S-band constant exactly (0.035 dB / sin, held at 5 deg), from 6 GHz
    P.676-12 (0.040 dB at zenith at 6 GHz; 0.24 dB at 20 GHz, P.676 Figure 6 reading in
    tests/test_atmosphere.py); elementwise for mixed carriers."""
    below = atmospheric_loss_db(KA_ELEV_DEG, 5.999e9)
    np.testing.assert_array_equal(
        below, 0.035 / np.sin(np.radians(np.clip(KA_ELEV_DEG, 5.0, 90.0))))
    assert atmospheric_loss_db(90.0, 6e9) == pytest.approx(
        float(np.sum(atmosphere.gas_zenith_attenuation_db(6e9))), abs=1e-12)
    assert atmospheric_loss_db(90.0, 6e9) == pytest.approx(0.040, abs=0.001)
    mixed = atmospheric_loss_db(30.0, np.array([2e9, 20e9]))
    assert mixed[0] == atmospheric_loss_db(30.0, 2e9)
    assert mixed[1] == pytest.approx(float(atmosphere.gas_attenuation_db(30.0, 20e9)), abs=1e-12)
    # below the horizon (never a link in a run) the horizon value, finite
    assert atmospheric_loss_db(-3.0, 20e9) == atmospheric_loss_db(0.0, 20e9)
    assert np.isfinite(atmospheric_loss_db(0.0, 20e9))


@pytest.mark.parametrize("freq_hz", [6e9, 20e9, 30e9, 55e9])
def test_scintillation_from_6_ghz_is_p618_tropospheric(freq_hz):
    """From 6 GHz: ITU-R P.618-13 §2.4.1 with N_wet of the surface weather (P.453-14)."""
    np.testing.assert_allclose(
        scintillation_loss_db(freq_hz, KA_ELEV_DEG),
        atmosphere.tropo_scintillation_db(KA_ELEV_DEG, freq_hz, 0.0), rtol=0, atol=1e-12)
    terminal = {"antenna_diameter_m": 0.6, "antenna_efficiency": 0.65, "percent_time": 0.1,
                "temperature_k": 300.0, "water_vapour_density_g_m3": 20.0}
    nwet = atmosphere.wet_refractivity(20.0, 300.0)
    np.testing.assert_allclose(
        scintillation_loss_db(freq_hz, KA_ELEV_DEG, **terminal),
        atmosphere.tropo_scintillation_db(KA_ELEV_DEG, freq_hz, 0.6, 0.65, 0.1, nwet),
        rtol=0, atol=1e-12)


def test_scintillation_switches_to_tropospheric_at_6_ghz():
    """TR 38.811 §6.6.6: ionospheric below 6 GHz, tropospheric from 6 GHz (0.33 dB at
    30 deg and 20 GHz for a handset, 1 %: P.618-13 steps 3-9 by hand, sigma_ref =
    3.6e-3 + 1e-4 x 47.5, L = 2000 / (sqrt(0.25 + 2.35e-4) + 0.5) m, g(0) ~ 1, a(1 %) = 3)."""
    assert scintillation_loss_db(5.999e9, 30.0) == pytest.approx(
        1.1 * (5.999 / 4.0) ** -1.5 / np.sqrt(2.0), abs=1e-12)
    sigma_ref = 3.6e-3 + 1e-4 * float(atmosphere.wet_refractivity())
    g0 = np.sqrt(3.86 * np.sin(11.0 / 6.0 * np.pi / 2.0))
    by_hand = 3.0 * sigma_ref * 20.0 ** (7.0 / 12.0) * g0 / 0.5 ** 1.2
    assert scintillation_loss_db(20e9, 30.0) == pytest.approx(by_hand, abs=1e-3)
    assert scintillation_loss_db(20e9, 30.0) == pytest.approx(0.33, abs=0.005)
    mixed = scintillation_loss_db(np.array([2e9, 20e9]), 30.0)
    np.testing.assert_allclose(mixed, [scintillation_loss_db(2e9), by_hand], rtol=0, atol=1e-3)


# ----------------------------------------------------------- link loss


def _loss_and_los(prop, elev=30.0, u=0.9, z=1.5):
    loss, los = link_loss_db(elev, 1075.0, S_BAND_HZ, prop, u, z)
    return float(loss - fspl_db(1075.0, S_BAND_HZ)), bool(los)


# Dense urban, 30 deg, NLOS (u = 0.9 > p_los 0.398), z = 1.5: the term's
# expected value for (off, fixed 4.5 dB, model).
TERM_CASES = {
    "shadow_fading": (0.0, 4.5, 12.4 * 1.5),  # sigma_NLOS(30 deg) * z, Table 6.6.2-1
    "clutter_loss": (0.0, 4.5, 29.0),  # CL(30 deg), Table 6.6.2-1
    "atmospheric": (0.0, 4.5, 0.035 / np.sin(np.radians(30.0))),
    "scintillation": (0.0, 4.5, 1.1 * 0.5**-1.5 / np.sqrt(2)),
}


@pytest.mark.parametrize("term", TERM_CASES)
@pytest.mark.parametrize("which, setting", [(0, False), (1, 4.5), (2, True)])
def test_each_term_off_fixed_model(term, which, setting):
    extra, los = _loss_and_los(dataclasses.replace(ALL_OFF, **{term: setting}))
    assert not los
    assert extra == pytest.approx(TERM_CASES[term][which], abs=1e-9)


@pytest.mark.parametrize("setting", [False, 4.5, True])
def test_clutter_applies_to_nlos_only(setting):
    prop = dataclasses.replace(ALL_OFF, clutter_loss=setting)
    extra, los = _loss_and_los(prop, u=0.1)  # 0.1 < p_los 0.398: LOS
    assert los and extra == 0.0
    prop = dataclasses.replace(prop, los_probability=False)  # every link LOS
    extra, los = _loss_and_los(prop, u=0.9)
    assert los and extra == 0.0


def test_shadow_fading_los_sigma_and_margins():
    prop = dataclasses.replace(
        ALL_OFF, shadow_fading=True, shadow_margin_db=3.0, additional_loss_db=1.0
    )
    extra, los = _loss_and_los(prop, u=0.1, z=-2.0)
    assert los
    assert extra == pytest.approx(2.9 * -2.0 + 3.0 + 1.0, abs=1e-9)  # sigma_LOS(30 deg) = 2.9


def test_sc9_budget_losses():
    """TR 38.821 SC9 losses: FSPL 159.1 + atm 0.1 + shadow margin 3.0 + scint 2.2 = 164.4 dB."""
    prop = Propagation(
        los_probability=False,
        shadow_fading=False,
        clutter_loss=False,
        atmospheric=True,
        scintillation=True,
        shadow_margin_db=3.0,
    )
    d = slant_range_km(30.0, 600.0)
    loss, los = link_loss_db(30.0, d, S_BAND_HZ, prop, 0.5, 0.0)
    assert los
    assert loss == pytest.approx(164.4, abs=0.1)  # four terms each printed to 0.1 dB


def test_link_loss_broadcasts_like_elementwise_calls():
    prop = Propagation(environment="urban")
    elev = np.array([[12.0], [47.0], [88.0]])
    rng_km = np.array([1500.0, 900.0, 650.0, 610.0])
    d = channel_draws(3, 3, 4)
    loss, los = link_loss_db(elev, rng_km, S_BAND_HZ, prop, d.u_los, d.z_shadow)
    assert loss.shape == los.shape == (3, 4) and loss.dtype == np.float64 and los.dtype == bool
    for i in range(3):
        for j in range(4):
            u, z = d.u_los[i, j], d.z_shadow[i, j]
            lij, sij = link_loss_db(elev[i, 0], rng_km[j], S_BAND_HZ, prop, u, z)
            assert loss[i, j] == lij and los[i, j] == sij
    # Scalars in, 0-d arrays out.
    loss0, los0 = link_loss_db(30.0, 1075.0, S_BAND_HZ, prop, 0.5, 0.0)
    assert loss0.shape == () and los0.shape == ()


@pytest.mark.parametrize("term", ["shadow_fading", "clutter_loss"])
def test_link_loss_refuses_s_band_tables_above_6_ghz(term):
    """The S-band shadow-fading and clutter tables are not used for a Ka-band carrier; the
    error names both settings to change."""
    prop = dataclasses.replace(ALL_OFF, **{term: True})
    with pytest.raises(InputError, match="0.5-6 GHz.*losses.shadow_fading and "
                                         "losses.clutter_loss to false"):
        link_loss_db(30.0, 1075.0, 20e9, prop, 0.5, 0.0)
    # With the table terms off or fixed, any frequency is fine (LOS draws are band-free).
    prop = dataclasses.replace(ALL_OFF, clutter_loss=20.0, atmospheric=0.5)
    loss, _ = link_loss_db(30.0, 1075.0, 20e9, prop, 0.9, 0.0)
    assert loss == pytest.approx(fspl_db(1075.0, 20e9) + 20.5, abs=1e-9)


def test_ka_band_link_loss_is_the_sum_of_its_terms():
    """At 20 GHz with the models on (tables off): FSPL + P.676-12 gas + P.618-13
    scintillation + margins, with the Propagation's weather and terminal antenna."""
    prop = Propagation(shadow_fading=False, clutter_loss=False, shadow_margin_db=1.0,
                       additional_loss_db=0.5, surface_pressure_hpa=1000.0,
                       surface_temperature_k=293.15, water_vapour_density_g_m3=12.0,
                       scintillation_percent_time=0.5, terminal_antenna_diameter_m=0.6,
                       terminal_antenna_efficiency=0.6)
    elev = np.array([3.0, 12.0, 30.0, 75.0])
    rng_km = slant_range_km(elev, 600.0)
    loss, los = link_loss_db(elev, rng_km, 20e9, prop, np.array([0.1, 0.99, 0.5, 0.2]), 1.0)
    gas = atmosphere.gas_attenuation_db(elev, 20e9, 1000.0, 293.15, 12.0)
    scint = atmosphere.tropo_scintillation_db(elev, 20e9, 0.6, 0.6, 0.5,
                                              atmosphere.wet_refractivity(12.0, 293.15))
    np.testing.assert_allclose(loss, fspl_db(rng_km, 20e9) + gas + scint + 1.5, rtol=0,
                               atol=1e-9)
    assert los.tolist() == [True, False, True, True]  # LOS still drawn (Table 6.6.1-1)
    # a wetter, warmer atmosphere absorbs more at 20 GHz (near the 22 GHz water line)
    wetter = dataclasses.replace(prop, water_vapour_density_g_m3=20.0)
    assert np.all(link_loss_db(elev, rng_km, 20e9, wetter, 0.5, 1.0)[0] > loss)


nonneg_setting = st.one_of(st.booleans(), st.floats(0.0, 50.0))


@settings(max_examples=150, deadline=None)
@given(
    env=st.sampled_from(ENVIRONMENTS),
    elev=st.floats(0.0, 90.0),
    range_km=st.floats(300.0, 3000.0),
    freq_hz=st.floats(0.5e9, 6.0e9),
    u=st.floats(0.0, 1.0, exclude_max=True),
    z=st.floats(-5.0, 5.0),
    los_probability=st.booleans(),
    shadow_fading=nonneg_setting,
    clutter_loss=nonneg_setting,
    atmospheric=nonneg_setting,
    scintillation=nonneg_setting,
    margin=st.floats(0.0, 10.0),
    additional=st.floats(0.0, 10.0),
)
def test_turning_a_term_off_never_increases_loss(
    env, elev, range_km, freq_hz, u, z, los_probability, shadow_fading, clutter_loss,
    atmospheric, scintillation, margin, additional,
):
    """Clutter, atmospheric, scintillation and the margins are losses >= 0: removing one
    cannot raise PL. Shadow fading is zero-mean (a gain when z < 0), so it is checked
    separately: removing it changes PL by exactly -sigma * z."""
    prop = Propagation(
        environment=env,
        los_probability=los_probability,
        shadow_fading=shadow_fading,
        clutter_loss=clutter_loss,
        atmospheric=atmospheric,
        scintillation=scintillation,
        shadow_margin_db=margin,
        additional_loss_db=additional,
    )

    def loss_with(**changes):
        return link_loss_db(elev, range_km, freq_hz, dataclasses.replace(prop, **changes), u, z)

    base, los = loss_with()
    offs = {
        "clutter_loss": False,
        "atmospheric": False,
        "scintillation": False,
        "shadow_margin_db": 0.0,
        "additional_loss_db": 0.0,
    }
    for name, off in offs.items():
        loss_off, los_off = loss_with(**{name: off})
        assert los_off == los
        assert loss_off <= base + 1e-9, name
    sf_off, _ = loss_with(shadow_fading=False)
    if shadow_fading is True:
        expected_sf = shadow_fading_sigma_db(elev, env, los) * z
    else:
        expected_sf = float(shadow_fading)
    assert base - sf_off == pytest.approx(expected_sf, abs=1e-9)
    # Forcing LOS removes clutter; with no (signed) shadow fading it cannot raise PL.
    all_los, los_all = loss_with(shadow_fading=False, los_probability=False)
    assert los_all and all_los <= sf_off + 1e-9


# ---------------------------------------------------------------- draws


def test_draws_same_seed_same_arrays_and_shape():
    a, b = channel_draws(42, 5, 7), channel_draws(42, 5, 7)
    np.testing.assert_array_equal(a.u_los, b.u_los)
    np.testing.assert_array_equal(a.z_shadow, b.z_shadow)
    for arr in (a.u_los, a.z_shadow):
        assert arr.shape == (5, 7) and arr.dtype == np.float64
    assert np.all((a.u_los >= 0) & (a.u_los < 1))
    assert channel_draws(0, 0, 3).u_los.shape == (0, 3)


def test_draws_different_seed_differ():
    a, b = channel_draws(1, 50, 40), channel_draws(2, 50, 40)
    assert not np.any(a.u_los == b.u_los)
    assert not np.any(a.z_shadow == b.z_shadow)


def test_draws_come_from_the_named_child_stream():
    """The documented recipe reproduces the draws, and they differ from the root stream."""
    d = channel_draws(7, 4, 6)
    rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(SHADOWING_STREAM,)))
    np.testing.assert_array_equal(d.u_los, rng.random((4, 6)))
    np.testing.assert_array_equal(d.z_shadow, rng.standard_normal((4, 6)))
    assert not np.any(d.u_los == np.random.default_rng(7).random((4, 6)))


@pytest.mark.parametrize("args", [(-1, 2, 2), (1.5, 2, 2), (True, 2, 2), (1, -1, 2), (1, 2, 2.0)])
def test_draws_reject_bad_arguments(args):
    with pytest.raises(InputError, match="whole number"):
        channel_draws(*args)


# 400 x 500 = 200,000 links per check.
N_H, N_S = 400, 500


@pytest.mark.parametrize("env", ["dense_urban", "urban", "rural"])
@pytest.mark.parametrize("elev", [10.0, 35.0, 90.0])
def test_los_fraction_matches_p_los(env, elev):
    """Tolerance: the LOS count of n links is binomial(n, p), standard deviation
    sqrt(p (1-p) / n) of the fraction (<= 0.0011 here). A correct model leaves 5 sigma
    with probability 6e-7 for a random seed (the seed is fixed, so the test is
    deterministic), while a wrong row or a reversed comparison (u > p) is off by
    |1 - 2p| or a table step, tens of sigma."""
    d = channel_draws(2024, N_H, N_S)
    prop = dataclasses.replace(ALL_OFF, environment=env)
    _, los = link_loss_db(elev, 1000.0, S_BAND_HZ, prop, d.u_los, d.z_shadow)
    p = float(los_probability(elev, env))
    n = los.size
    assert abs(los.mean() - p) <= 5.0 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("env, elev", [("dense_urban", 30.0), ("urban", 60.0), ("suburban", 45.0)])
def test_shadow_fading_std_matches_sigma(env, elev):
    """SF of the LOS and of the NLOS links has mean 0 and std sigma(elevation, state).

    Tolerance: for n normal samples the sample std has standard error
    sigma / sqrt(2 (n - 1)) and the sample mean sigma / sqrt(n); we allow 5 of each
    (n >= 10,000 here, so at most 3.5 % of sigma for the std). A wrong state's sigma
    differs by 30 % or more in these cells."""
    d = channel_draws(99, N_H, N_S)
    prop = dataclasses.replace(ALL_OFF, environment=env, shadow_fading=True)
    loss, los = link_loss_db(elev, 1000.0, S_BAND_HZ, prop, d.u_los, d.z_shadow)
    sf = loss - fspl_db(1000.0, S_BAND_HZ)
    for state in (True, False):
        x = sf[los == state]
        n = x.size
        sigma = float(shadow_fading_sigma_db(elev, env, state))
        assert n >= 10_000
        assert abs(x.std(ddof=1) / sigma - 1.0) <= 5.0 / np.sqrt(2.0 * (n - 1))
        assert abs(x.mean()) <= 5.0 * sigma / np.sqrt(n)


def test_stationary_link_turns_los_at_most_once_as_the_satellite_rises():
    """Monotone coupling: with fixed draws, LOS(elevation) never goes LOS -> NLOS upwards."""
    d = channel_draws(5, 20, 30)
    elev = np.arange(0.0, 90.5, 0.5)[:, None, None]
    prop = Propagation(environment="urban")
    _, los = link_loss_db(elev, 1000.0, S_BAND_HZ, prop, d.u_los, d.z_shadow)
    assert np.all(np.diff(los.astype(int), axis=0) >= 0)
    assert los[0].mean() < 0.5 < los[-1].mean()  # p_los 0.246 at the bottom, 0.992 at the top


@settings(max_examples=100, deadline=None)
@given(
    elev=st.floats(-1.0, 90.0),
    freq_hz=st.floats(6.0e9, 55.0e9),
    diameter_m=st.floats(0.0, 5.0),
    percent=st.floats(0.001, 50.0),
    rho=st.floats(0.0, 30.0),
    atmospheric=nonneg_setting,
    scintillation=nonneg_setting,
)
def test_above_6_ghz_model_terms_are_finite_losses(elev, freq_hz, diameter_m, percent, rho,
                                                    atmospheric, scintillation):
    """From 6 to 55 GHz, at any elevation down to (and below) the horizon, the gas and
    scintillation models are finite losses >= 0: switching either off never raises PL."""
    prop = Propagation(shadow_fading=False, clutter_loss=False, atmospheric=atmospheric,
                       scintillation=scintillation, terminal_antenna_diameter_m=diameter_m,
                       scintillation_percent_time=percent, water_vapour_density_g_m3=rho)
    base, _ = link_loss_db(elev, 1000.0, freq_hz, prop, 0.5, 0.0)
    assert np.isfinite(base)
    for name in ("atmospheric", "scintillation"):
        off, _ = link_loss_db(elev, 1000.0, freq_hz, dataclasses.replace(prop, **{name: False}),
                              0.5, 0.0)
        assert off <= base + 1e-9, name
