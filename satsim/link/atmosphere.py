"""Gaseous absorption and tropospheric scintillation of an Earth-space link
above 6 GHz (3GPP TR 38.811 v15.4.0 §6.6.4 and §6.6.6.2, via ITU-R P.676-12
and P.618-13), so that Ka-band user links (TR 38.821's VSAT cases) can be
studied.

Every function takes numpy arrays (or scalars) that broadcast together and
returns float64 arrays of the broadcast shape. Angles are in degrees,
frequencies in Hz, pressures in hPa, temperatures in K, water-vapour density
in g/m^3, heights in km, losses in dB (positive = signal weaker).

Gaseous absorption (oxygen and water vapour)
--------------------------------------------
TR 38.811 §6.6.4 takes the attenuation by atmospheric gases from ITU-R P.676
and applies it as ``A_zenith(f) / sin(elevation)`` (eq. 6.6-8). We implement
**ITU-R P.676-12 (08/2019)**:

* specific attenuation of oxygen and water vapour at the ground,
  :func:`specific_attenuation_db_km`: the line-by-line sum of Annex 1 §1
  (Tables 1 and 2; valid 1-1000 GHz), which Annex 2 §1 of this
  edition uses at the surface;
* zenith attenuation, :func:`gas_zenith_attenuation_db`: specific attenuation
  times the equivalent heights of Annex 2 §2.1 (Tables 3 and 4; valid
  1-350 GHz, hence :data:`GAS_FREQ_RANGE_HZ`); optionally the water-vapour
  part from the integrated water-vapour content V_t (Annex 2 §2.3), as the
  ITU-R SG3 validation examples do;
* slant path, :func:`gas_attenuation_db`: the cosecant law of Annex 2 §2.2
  (= TR 38.811 eq. 6.6-8) at 5-90 deg; below 5 deg, where the flat-layer
  law overstates the path, the curved-Earth expression of the previous
  editions' Annex 2 §2.2.2 (P.676-10, effective Earth radius 8500 km,
  upper end in space) for each gas's equivalent height. The two differ by
  about 7 % at 5 deg (oxygen), a step the recommendation itself has there.

Pressure: Annex 1 and 2 are written for the *dry-air* pressure ``p`` and the
water-vapour partial pressure ``e = rho T / 216.7`` (eq. 4), total
``p + e``. Our argument ``pressure_hpa`` is that dry-air pressure, as in the
ITU-R SG3 validation examples this module is tested against (their
1013.25 hPa is ``p``).

Default weather: the mean annual global reference atmosphere of ITU-R
P.835-6 §1 at sea level, 1013.25 hPa, 288.15 K (15 deg C), 7.5 g/m^3: the
"standard" conditions of P.676's figures. Local weather (P.836 maps of
water-vapour density, P.1510 temperature) is left to the caller.

Tropospheric scintillation
--------------------------
TR 38.811 §6.6.6.2 models scintillation above 6 GHz with ITU-R P.618 §2.4.1.
:func:`tropo_scintillation_db` implements **ITU-R P.618-13 (12/2017)
§2.4.1**: the fade depth exceeded for ``percent_time`` % of an
average year, from the wet term of the surface refractivity N_wet (ITU-R
P.453), the antenna's diameter and efficiency (aperture averaging), the
elevation and the frequency. The method is for elevations of 5 deg and more;
below, the elevation is held at 5 deg (the low-elevation deep-fading method
of §2.4.2-2.4.3 needs local geoclimatic data and is not modelled). Accepted
frequencies: :data:`SCINTILLATION_FREQ_RANGE_HZ`, 4-55 GHz (P.618's scope
ends at 55 GHz; below 4 GHz tropospheric scintillation is negligible and
TR 38.811 uses the ionospheric model below 6 GHz).

Fade depth is a statistic, not a mean loss: as a fixed link-budget term it is
a margin that holds for all but ``percent_time`` % of the time.

Compiled twins of the elevation-dependent parts are in
``satsim.link._atmosphere_kernels`` (:func:`gas_path_terms` gives the four
numbers the gas kernel needs, computed once per carrier and weather).

Sources: ITU-R P.676-12 (08/2019), P.618-13 (12/2017), P.453-14 (08/2019)
§1, P.835-6 (12/2017) §1; 3GPP TR 38.811 v15.4.0 §6.6.4, §6.6.6.2.
Tested against the ITU-R Study Group 3 validation examples (CG-3M3J-13-ValEx,
rev 5.1, as distributed with ITU-Rpy's tests) in ``tests/test_atmosphere.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from . import _atmosphere_kernels as _k

__all__ = [
    "DEFAULT_ANTENNA_EFFICIENCY",
    "GAS_FREQ_RANGE_HZ",
    "P618_EDITION",
    "P676_EDITION",
    "REFERENCE_PRESSURE_HPA",
    "REFERENCE_TEMPERATURE_K",
    "REFERENCE_WATER_VAPOUR_DENSITY_G_M3",
    "SCINTILLATION_FREQ_RANGE_HZ",
    "SCINTILLATION_PERCENT_RANGE",
    "GasPathTerms",
    "equivalent_heights_km",
    "gas_attenuation_db",
    "gas_path_terms",
    "gas_zenith_attenuation_db",
    "scintillation_time_factor",
    "specific_attenuation_db_km",
    "tropo_scintillation_db",
    "water_vapour_pressure_hpa",
    "wet_refractivity",
]

#: Editions implemented, for docstrings and run metadata.
P676_EDITION = "ITU-R P.676-12 (08/2019)"
P618_EDITION = "ITU-R P.618-13 (12/2017)"

#: Frequencies of the P.676-12 Annex 2 slant-path method, Hz.
GAS_FREQ_RANGE_HZ = (1.0e9, 350.0e9)
#: Frequencies accepted by the tropospheric scintillation model, Hz (see module docstring).
SCINTILLATION_FREQ_RANGE_HZ = (4.0e9, 55.0e9)
#: Time percentages accepted for the P.618-13 §2.4.1 factor a(p), %: the text
#: gives 0.01 < p <= 50; the ITU-R SG3 validation examples (and P.618's total
#: attenuation, §2.5) also use it at 0.001 and 0.01 %, so both ends are closed here.
SCINTILLATION_PERCENT_RANGE = (0.001, 50.0)

#: ITU-R P.835-6 §1 mean annual global reference atmosphere at sea level.
REFERENCE_PRESSURE_HPA = 1013.25
REFERENCE_TEMPERATURE_K = 288.15
REFERENCE_WATER_VAPOUR_DENSITY_G_M3 = 7.5

#: Antenna efficiency when unknown: P.618-13 §2.4.1 step 5 ("a conservative estimate").
DEFAULT_ANTENNA_EFFICIENCY = 0.5

# P.676-12 Annex 2 §2.3: reference frequency (GHz) and pressure (hPa) of the
# water-vapour zenith attenuation from the integrated content V_t.
_VT_REF_FREQ_GHZ = 20.6
_VT_REF_PRESSURE_HPA = 845.0


def _check_freq(freq_hz, freq_range, what: str) -> np.ndarray:
    f = np.asarray(freq_hz, dtype=np.float64)
    lo, hi = freq_range
    ok = (f >= lo) & (f <= hi)
    if not np.all(ok):
        bad = f[~ok].ravel()[0]
        raise InputError(
            f"{what} is modelled for {lo / 1e9:g}-{hi / 1e9:g} GHz only, got freq_hz={bad!r}; "
            "set that propagation term to false or to a fixed loss in dB for other bands"
        )
    return f


def _check_weather(pressure_hpa, temperature_k, water_vapour_density_g_m3, what: str):
    p = np.asarray(pressure_hpa, dtype=np.float64)
    t = np.asarray(temperature_k, dtype=np.float64)
    rho = np.asarray(water_vapour_density_g_m3, dtype=np.float64)
    if not (np.all(p > 0) and np.all(p <= 1100) and np.all(t >= 180) and np.all(t <= 340)
            and np.all(rho >= 0) and np.all(rho <= 50)):
        raise InputError(
            f"{what} needs pressure_hpa in (0, 1100], temperature_k in [180, 340] and "
            f"water_vapour_density_g_m3 in [0, 50], got pressure {np.min(p)!r}-{np.max(p)!r} hPa, "
            f"temperature {np.min(t)!r}-{np.max(t)!r} K, water vapour {np.min(rho)!r}-"
            f"{np.max(rho)!r} g/m^3 (temperature is in kelvin, not Celsius)"
        )
    return p, t, rho


def _check_elevation(elevation_deg, what: str) -> np.ndarray:
    e = np.asarray(elevation_deg, dtype=np.float64)
    if not np.all((e >= 0) & (e <= 90)):
        raise InputError(f"{what} needs elevation_deg in [0, 90] degrees, got "
                         f"{e[~((e >= 0) & (e <= 90))].ravel()[0]!r}")
    return e


def water_vapour_pressure_hpa(water_vapour_density_g_m3, temperature_k) -> np.ndarray:
    """Water-vapour partial pressure ``e = rho T / 216.7``, hPa (ITU-R P.676-12
    Annex 1 eq. 4)."""
    return (np.asarray(water_vapour_density_g_m3, dtype=np.float64)
            * np.asarray(temperature_k, dtype=np.float64) / 216.7)


def wet_refractivity(water_vapour_density_g_m3=REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                     temperature_k=REFERENCE_TEMPERATURE_K) -> np.ndarray:
    """Wet term of the surface radio refractivity N_wet, N-units (ITU-R P.453-14 §1).

    ``N_wet = 72 e / T + 3.75e5 e / T^2`` with ``e`` from
    :func:`water_vapour_pressure_hpa`. At the P.835 reference atmosphere
    (7.5 g/m^3, 288.15 K) it is 47.5, the default of
    :func:`tropo_scintillation_db`. (P.618-13 takes the median N_wet of the
    P.453 digital maps at the site: 50.4 in London, 61.2 in Rome, 104-128 in
    the humid tropics.)
    """
    t = np.asarray(temperature_k, dtype=np.float64)
    e = water_vapour_pressure_hpa(water_vapour_density_g_m3, t)
    return 72.0 * e / t + 3.75e5 * e / t**2


def specific_attenuation_db_km(freq_hz, pressure_hpa=REFERENCE_PRESSURE_HPA,
                               temperature_k=REFERENCE_TEMPERATURE_K,
                               water_vapour_density_g_m3=REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Specific attenuation of oxygen (dry air) and of water vapour, dB/km.

    ITU-R P.676-12 Annex 1 §1: ``gamma = 0.1820 f N''(f)``, the
    imaginary refractivity summed over the 44 oxygen lines of Table 1 (plus
    the dry continuum) and the 35 water-vapour lines of Table 2.
    At 1013.25 hPa, 288.15 K, 7.5 g/m^3: 0.0096 dB/km dry air and
    0.0194 dB/km water vapour at 15 GHz, 0.174 dB/km water vapour at 22 GHz,
    14.6 dB/km oxygen at 60 GHz.

    Parameters
    ----------
    freq_hz : array_like
        Frequency, Hz, in 1-350 GHz (:data:`GAS_FREQ_RANGE_HZ`; the Annex 1
        sum itself holds to 1000 GHz, but satsim uses it with Annex 2).
    pressure_hpa : array_like
        Dry-air pressure, hPa (see the module docstring).
    temperature_k : array_like
        Temperature, K.
    water_vapour_density_g_m3 : array_like
        Water-vapour density, g/m^3. All arguments broadcast together.

    Returns
    -------
    oxygen_db_km, water_db_km : ndarray
        Specific attenuation of dry air and of water vapour, dB/km.
    """
    f = _check_freq(freq_hz, GAS_FREQ_RANGE_HZ, "specific_attenuation_db_km") / 1e9
    p, t, rho = _check_weather(pressure_hpa, temperature_k, water_vapour_density_g_m3,
                               "specific_attenuation_db_km")
    f, p, t, rho = np.broadcast_arrays(f, p, t, rho)
    theta = 300.0 / t
    e = rho * t / 216.7
    # Lines along a trailing axis.
    fx, px, ex, thx = (a[..., None] for a in (f, p, e, theta))

    f0, a1, a2, a3, a4, a5, a6 = _k.OXYGEN_LINES.T
    s_ox = a1 * 1e-7 * px * thx**3 * np.exp(a2 * (1.0 - thx))
    width = a3 * 1e-4 * (px * thx ** (0.8 - a4) + 1.1 * ex * thx)
    width = np.sqrt(width**2 + 2.25e-6)  # Zeeman splitting of oxygen lines
    delta = (a5 + a6 * thx) * 1e-4 * (px + ex) * thx**0.8
    shape = fx / f0 * ((width - delta * (f0 - fx)) / ((f0 - fx) ** 2 + width**2)
                       + (width - delta * (f0 + fx)) / ((f0 + fx) ** 2 + width**2))
    d = 5.6e-4 * (p + e) * theta**0.8
    n_dry_continuum = f * p * theta**2 * (
        6.14e-5 / (d * (1.0 + (f / d) ** 2))
        + 1.4e-12 * p * theta**1.5 / (1.0 + 1.9e-5 * f**1.5))
    n_oxygen = np.sum(s_ox * shape, axis=-1) + n_dry_continuum

    f0, b1, b2, b3, b4, b5, b6 = _k.WATER_VAPOUR_LINES.T
    s_w = b1 * 1e-1 * ex * thx**3.5 * np.exp(b2 * (1.0 - thx))
    width = b3 * 1e-4 * (px * thx**b4 + b5 * ex * thx**b6)
    width = 0.535 * width + np.sqrt(0.217 * width**2 + 2.1316e-12 * f0**2 / thx)  # Doppler
    shape = fx / f0 * (width / ((f0 - fx) ** 2 + width**2) + width / ((f0 + fx) ** 2 + width**2))
    n_water = np.sum(s_w * shape, axis=-1)
    return 0.1820 * f * n_oxygen, 0.1820 * f * n_water


def equivalent_heights_km(freq_hz, pressure_hpa=REFERENCE_PRESSURE_HPA,
                          temperature_k=REFERENCE_TEMPERATURE_K,
                          water_vapour_density_g_m3=REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Equivalent heights of oxygen and water vapour, km (ITU-R P.676-12 Annex 2 §2.1).

    Oxygen: the t1, t2, t3 expressions with Table 3, capped at ``10.7 rp^0.3`` km below
    70 GHz; water vapour: the A, B, sigma_w expressions with Table 4; ``rp`` is the total
    pressure over 1013.25 hPa, temperatures in the polynomials in deg C.
    At the P.835 reference atmosphere: about 4.9 km (oxygen) and 1.7 km
    (water vapour) at 30 GHz.

    Parameters as :func:`specific_attenuation_db_km`.

    Returns
    -------
    h_oxygen_km, h_water_km : ndarray
    """
    f = _check_freq(freq_hz, GAS_FREQ_RANGE_HZ, "equivalent_heights_km") / 1e9
    p, t, rho = _check_weather(pressure_hpa, temperature_k, water_vapour_density_g_m3,
                               "equivalent_heights_km")
    f, p, t, rho = np.broadcast_arrays(f, p, t, rho)
    t_c = t - 273.15
    rp = (p + rho * t / 216.7) / 1013.25
    fx, rpx = f[..., None], rp[..., None]

    t1 = (5.1040 / (1.0 + 0.066 * rp**-2.3)
          * np.exp(-(((f - 59.7) / (2.87 + 12.4 * np.exp(-7.9 * rp))) ** 2)))
    c, fi = _k.OXYGEN_HEIGHT_LINES.T
    t2 = np.sum(c * np.exp(2.12 * rpx) / ((fx - fi) ** 2 + 0.025 * np.exp(2.2 * rpx)), axis=-1)
    t3 = (0.0114 * f / (1.0 + 0.14 * rp**-2.6)
          * (15.02 * f**2 - 1353.0 * f + 5.333e4)
          / (f**3 - 151.3 * f**2 + 9629.0 * f - 6803.0))
    a_ox = 0.7832 + 0.00709 * t_c
    h_ox = 6.1 * a_ox / (1.0 + 0.17 * rp**-1.1) * (1.0 + t1 + t2 + t3)
    h_ox = np.where(f < 70.0, np.minimum(h_ox, 10.7 * rp**0.3), h_ox)

    a_w = 1.9298 - 0.04166 * t_c + 0.0517 * rho
    b_w = 1.1674 - 0.00622 * t_c + 0.0063 * rho
    sigma_w = (1.013 / (1.0 + np.exp(-8.6 * (rp - 0.57))))[..., None]
    fi, ai, bi = _k.WATER_HEIGHT_LINES.T
    h_w = a_w + b_w * np.sum(ai * sigma_w / ((fx - fi) ** 2 + bi * sigma_w), axis=-1)
    return h_ox, h_w


def _water_zenith_from_content_db(f_ghz, vt_kg_m2, altitude_km) -> np.ndarray:
    """P.676-12 Annex 2 §2.3: water-vapour zenith attenuation, dB,
    from the integrated content V_t (kg/m^2) at a station ``altitude_km``."""
    rho_ref = vt_kg_m2 / 2.38
    t_ref_k = 14.0 * np.log(0.22 * vt_kg_m2 / 2.38) + 3.0 + 273.15
    p_ref = np.full_like(rho_ref, _VT_REF_PRESSURE_HPA)
    _, gamma_f = specific_attenuation_db_km(f_ghz * 1e9, p_ref, t_ref_k, rho_ref)
    _, gamma_ref = specific_attenuation_db_km(np.full_like(rho_ref, _VT_REF_FREQ_GHZ * 1e9),
                                              p_ref, t_ref_k, rho_ref)
    a_w = 0.0176 * vt_kg_m2 * gamma_f / gamma_ref
    a = (0.2048 * np.exp(-(((f_ghz - 22.43) / 3.097) ** 2))
         + 0.2326 * np.exp(-(((f_ghz - 183.5) / 4.096) ** 2))
         + 0.2073 * np.exp(-(((f_ghz - 325.0) / 3.651) ** 2)) - 0.1113)
    b = 8.741e4 * np.exp(-0.587 * f_ghz) + 312.2 * f_ghz**-2.38 + 0.723
    return np.where(f_ghz < 20.0, a_w, a_w * (a * altitude_km**b + 1.0))


def gas_zenith_attenuation_db(freq_hz, pressure_hpa=REFERENCE_PRESSURE_HPA,
                              temperature_k=REFERENCE_TEMPERATURE_K,
                              water_vapour_density_g_m3=REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                              water_vapour_content_kg_m2=None,
                              altitude_km=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Zenith attenuation by oxygen and by water vapour, dB (ITU-R P.676-12 Annex 2).

    Oxygen: ``gamma_o h_o`` (§2.1). Water vapour: ``gamma_w h_w`` (§2.1), or,
    when ``water_vapour_content_kg_m2`` is given, the §2.3 method from the
    integrated water-vapour content V_t (what the ITU-R SG3
    validation examples use, with V_t from P.836). At the P.835 reference
    atmosphere the total is 0.034 dB at 2 GHz, 0.24 dB at 20 GHz and
    0.23 dB at 30 GHz.

    Parameters
    ----------
    freq_hz, pressure_hpa, temperature_k, water_vapour_density_g_m3 : array_like
        As :func:`specific_attenuation_db_km` (surface values at the station).
    water_vapour_content_kg_m2 : array_like or None
        Integrated water-vapour content V_t, kg/m^2 (> 0), or None for the
        surface-density method.
    altitude_km : array_like
        Station altitude above sea level, km, used by the V_t method above
        20 GHz (0 to 4 km).

    Returns
    -------
    oxygen_db, water_db : ndarray
    """
    g_ox, g_w = specific_attenuation_db_km(freq_hz, pressure_hpa, temperature_k,
                                           water_vapour_density_g_m3)
    h_ox, h_w = equivalent_heights_km(freq_hz, pressure_hpa, temperature_k,
                                      water_vapour_density_g_m3)
    if water_vapour_content_kg_m2 is None:
        return g_ox * h_ox, g_w * h_w
    vt = np.asarray(water_vapour_content_kg_m2, dtype=np.float64)
    h = np.asarray(altitude_km, dtype=np.float64)
    if not (np.all(vt > 0) and np.all(vt <= 100) and np.all((h >= 0) & (h <= 4))):
        raise InputError(
            "gas_zenith_attenuation_db needs water_vapour_content_kg_m2 in (0, 100] and "
            f"altitude_km in [0, 4], got V_t {np.min(vt)!r}-{np.max(vt)!r} kg/m^2 and altitude "
            f"{np.min(h)!r}-{np.max(h)!r} km"
        )
    f_ghz = np.asarray(freq_hz, dtype=np.float64) / 1e9
    f_ghz, vt, h = np.broadcast_arrays(f_ghz, vt, h)
    water_db = _water_zenith_from_content_db(f_ghz, vt, h)
    shape = np.broadcast_shapes(np.shape(g_ox), np.shape(water_db))
    return np.broadcast_to(g_ox * h_ox, shape).copy(), np.broadcast_to(water_db, shape).copy()


def gas_attenuation_db(elevation_deg, freq_hz, pressure_hpa=REFERENCE_PRESSURE_HPA,
                       temperature_k=REFERENCE_TEMPERATURE_K,
                       water_vapour_density_g_m3=REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                       water_vapour_content_kg_m2=None, altitude_km=0.0) -> np.ndarray:
    """Gaseous attenuation of an Earth-space path, dB (TR 38.811 §6.6.4 via
    ITU-R P.676-12 Annex 2).

    ``A = A_o(zenith) m(elev, h_o) + A_w(zenith) m(elev, h_w)``, where
    ``m = 1 / sin(elev)`` at 5-90 deg (TR 38.811 eq. 6.6-8, P.676-12 Annex 2
    §2.2) and the curved-Earth form of P.676-10 Annex 2 §2.2.2 below 5 deg
    (finite at the horizon). At the P.835 reference atmosphere, 30 GHz:
    0.23 dB at zenith, 0.46 dB at 30 deg, 1.3 dB at 10 deg.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation of the satellite, deg, in [0, 90].
    freq_hz : array_like
        Carrier frequency, Hz, in 1-350 GHz (:data:`GAS_FREQ_RANGE_HZ`).
    pressure_hpa, temperature_k, water_vapour_density_g_m3 : array_like
        As :func:`gas_zenith_attenuation_db`.
    water_vapour_content_kg_m2, altitude_km : array_like or None
        As :func:`gas_zenith_attenuation_db`. All arrays broadcast together.
    """
    elev = _check_elevation(elevation_deg, "gas_attenuation_db")
    a_ox, a_w = gas_zenith_attenuation_db(freq_hz, pressure_hpa, temperature_k,
                                          water_vapour_density_g_m3,
                                          water_vapour_content_kg_m2, altitude_km)
    h_ox, h_w = equivalent_heights_km(freq_hz, pressure_hpa, temperature_k,
                                      water_vapour_density_g_m3)
    return a_ox * _path_factor(elev, h_ox) + a_w * _path_factor(elev, h_w)


def _path_factor(elev_deg, height_km) -> np.ndarray:
    """Numpy twin of ``_atmosphere_kernels.gas_path_factor`` (elevation already checked)."""
    e, h = np.broadcast_arrays(np.asarray(elev_deg, dtype=np.float64),
                               np.asarray(height_km, dtype=np.float64))
    t = np.radians(e)
    sqrt_ratio = np.sqrt(_k.EFFECTIVE_EARTH_RADIUS_KM / h)
    x = np.tan(t) * sqrt_ratio
    low = sqrt_ratio / (0.661 * x + 0.339 * np.sqrt(x * x + 5.51)) / np.cos(t)
    with np.errstate(divide="ignore", over="ignore"):  # unused below 5 deg
        cosecant = 1.0 / np.sin(t)
    return np.where(e >= _k.GAS_COSECANT_MIN_ELEVATION_DEG, cosecant, low)


@dataclass(frozen=True)
class GasPathTerms:
    """What the compiled gas kernel needs for one carrier and weather, dB and km.

    ``_atmosphere_kernels.gas_slant_loss_db(elev_deg, *astuple(terms))``
    equals :func:`gas_attenuation_db` with the same inputs.

    Attributes
    ----------
    zenith_oxygen_db, zenith_water_db : float
        Zenith attenuation of oxygen and of water vapour, dB.
    h_oxygen_km, h_water_km : float
        Their equivalent heights, km (the low-elevation path shape).
    """

    zenith_oxygen_db: float
    zenith_water_db: float
    h_oxygen_km: float
    h_water_km: float


def gas_path_terms(freq_hz: float, pressure_hpa: float = REFERENCE_PRESSURE_HPA,
                   temperature_k: float = REFERENCE_TEMPERATURE_K,
                   water_vapour_density_g_m3: float = REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                   water_vapour_content_kg_m2: float | None = None,
                   altitude_km: float = 0.0) -> GasPathTerms:
    """The :class:`GasPathTerms` of one carrier (scalars; arguments as
    :func:`gas_zenith_attenuation_db`), checked as there."""
    if np.ndim(freq_hz) or np.ndim(pressure_hpa) or np.ndim(temperature_k) \
            or np.ndim(water_vapour_density_g_m3):
        raise InputError("gas_path_terms takes one frequency and one weather (scalars); "
                         "use gas_attenuation_db for arrays")
    a_ox, a_w = gas_zenith_attenuation_db(freq_hz, pressure_hpa, temperature_k,
                                          water_vapour_density_g_m3,
                                          water_vapour_content_kg_m2, altitude_km)
    h_ox, h_w = equivalent_heights_km(freq_hz, pressure_hpa, temperature_k,
                                      water_vapour_density_g_m3)
    return GasPathTerms(float(a_ox), float(a_w), float(h_ox), float(h_w))


def scintillation_time_factor(percent_time) -> np.ndarray:
    """a(p) of ITU-R P.618-13 §2.4.1 step 8, p in :data:`SCINTILLATION_PERCENT_RANGE`.

    ``a(p) = -0.061 log10(p)^3 + 0.072 log10(p)^2 - 1.71 log10(p) + 3.0``:
    3.0 at 1 %, 4.8 at 0.1 %.
    """
    p = np.asarray(percent_time, dtype=np.float64)
    lo, hi = SCINTILLATION_PERCENT_RANGE
    ok = (p >= lo) & (p <= hi)
    if not np.all(ok):
        raise InputError(f"percent_time must be in [{lo:g}, {hi:g}] % (ITU-R P.618-13 §2.4.1), "
                         f"got {p[~ok].ravel()[0]!r}")
    lp = np.log10(p)
    return -0.061 * lp**3 + 0.072 * lp**2 - 1.71 * lp + 3.0


def tropo_scintillation_db(elevation_deg, freq_hz, antenna_diameter_m,
                           antenna_efficiency=DEFAULT_ANTENNA_EFFICIENCY, percent_time=1.0,
                           nwet=None) -> np.ndarray:
    """Tropospheric scintillation fade depth exceeded for ``percent_time`` % of
    an average year, dB (TR 38.811 §6.6.6.2 via ITU-R P.618-13 §2.4.1).

    Steps 3-9 of §2.4.1: ``sigma_ref = 3.6e-3 + 1e-4 N_wet`` dB; effective
    path ``L = 2 h_L / (sqrt(sin^2 e + 2.35e-4) + sin e)`` with
    ``h_L = 1000`` m; ``D_eff = sqrt(efficiency) D``; antenna averaging
    ``g(x)``, ``x = 1.22 D_eff^2 f / L`` (f in GHz, L in m), zero for
    x >= 7; ``sigma = sigma_ref f^(7/12) g(x) / sin(e)^1.2``; fade depth
    ``a(p) sigma``. A handset antenna (D -> 0) has g = 1.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation, deg, in [0, 90]; values below 5 deg are held at 5 deg.
    freq_hz : array_like
        Carrier frequency, Hz, in :data:`SCINTILLATION_FREQ_RANGE_HZ` (4-55 GHz).
    antenna_diameter_m : array_like
        Physical antenna diameter, m (>= 0; 0 for no aperture averaging).
    antenna_efficiency : array_like
        Aperture efficiency in (0, 1]; 0.5 when unknown (P.618-13).
    percent_time : array_like
        Time percentage p, % of an average year, in [0.001, 50].
    nwet : array_like or None
        Median wet term of the surface refractivity at the site, N-units
        (P.453 maps); None: :func:`wet_refractivity` of the P.835 reference
        atmosphere (47.5).
    """
    elev = _check_elevation(elevation_deg, "tropo_scintillation_db")
    f_ghz = _check_freq(freq_hz, SCINTILLATION_FREQ_RANGE_HZ, "tropo_scintillation_db") / 1e9
    d = np.asarray(antenna_diameter_m, dtype=np.float64)
    eta = np.asarray(antenna_efficiency, dtype=np.float64)
    if not (np.all(d >= 0) and np.all(d <= 50) and np.all((eta > 0) & (eta <= 1))):
        raise InputError("tropo_scintillation_db needs antenna_diameter_m in [0, 50] m and "
                         "antenna_efficiency in (0, 1], got diameter "
                         f"{np.min(d)!r}-{np.max(d)!r} m, "
                         f"efficiency {np.min(eta)!r}-{np.max(eta)!r}")
    n_wet = wet_refractivity() if nwet is None else np.asarray(nwet, dtype=np.float64)
    if not np.all((n_wet >= 0) & (n_wet <= 200)):
        raise InputError(f"nwet must be in [0, 200] N-units (ITU-R P.453), got {n_wet!r}")
    a_p = scintillation_time_factor(percent_time)

    s = np.sin(np.radians(np.clip(elev, _k.SCINTILLATION_MIN_ELEVATION_DEG, 90.0)))
    sigma_ref = 3.6e-3 + 1e-4 * n_wet
    path_m = 2.0 * _k.TURBULENT_LAYER_HEIGHT_M / (np.sqrt(s**2 + 2.35e-4) + s)
    x = 1.22 * eta * d**2 * f_ghz / path_m
    arg = (3.86 * (x**2 + 1.0) ** (11.0 / 12.0) * np.sin(11.0 / 6.0 * np.arctan2(1.0, x))
           - 7.08 * x ** (5.0 / 6.0))
    g = np.sqrt(np.maximum(arg, 0.0))
    return np.asarray(a_p * sigma_ref * f_ghz ** (7.0 / 12.0) * g / s**1.2, dtype=np.float64)
