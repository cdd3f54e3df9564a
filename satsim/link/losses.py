"""Propagation losses of a satellite-to-handset link (3GPP TR 38.811 v15.4.0 §6.6).

Every function takes numpy arrays (or scalars) that broadcast together and
returns float64 arrays of the broadcast shape. Angles are in degrees, ranges
in km, frequencies in Hz, losses in dB (positive = signal weaker).

Total path loss (TR 38.811 eqs. 6.6-1 and 6.6-4), computed by
:func:`link_loss_db`::

    PL = FSPL + SF + CL + PL_atmospheric + PL_scintillation
         + shadow_margin_db + additional_loss_db

with CL applied to NLOS links only. Which terms apply is set by
:class:`~satsim.link.config.Propagation`.

Channel tables
--------------
LOS probability (Table 6.6.1-1), shadow-fading sigma and clutter loss for
S-band (Tables 6.6.2-1/2/3) are given every 10 degrees of elevation from 10
to 90 (suburban and rural share one table). Between rows we interpolate
linearly in elevation; below 10 degrees we use the 10-degree row and above 90
the 90-degree row. ns-3 (``channel-condition-model.cc``,
``three-gpp-propagation-loss-model.cc``) instead rounds the elevation to the
nearest 10 degrees; at the grid points both equal the table, in between ours
varies continuously (no 5-degree jumps as a satellite rises). The raw arrays
are exposed by :func:`channel_table` for compiled kernels.

Random channel state
--------------------
:func:`channel_draws` gives, for every (handset, satellite) pair, one uniform
``u_los`` in [0, 1) and one standard normal ``z_shadow``, from a named child
stream of the run seed (``"link/channel"`` in :mod:`satsim.streams`, i.e.
``SeedSequence(seed, spawn_key=(SHADOWING_STREAM,))``), so that adding random
draws elsewhere in satsim does not change these. A link
is LOS when ``u_los < p_los(elevation)`` and its shadow fading is
``sigma(elevation, state) * z_shadow``. The same draws are used at every time
step: a stationary handset keeps its LOS state and its shadowing quantile
while the satellite moves, and the state changes only when the elevation moves
``p_los`` across ``u_los`` (monotone coupling: as the LOS probability grows
with elevation, a link turns from NLOS to LOS at most once on the way up).
TR 38.811 §6.6 gives shadow-fading correlation distances of 37 m (LOS) and
50 m (NLOS; 120 m rural NLOS); these describe a *moving* handset, which satsim
does not model yet, so the draws are per handset and fixed over time.

Bands
-----
Below 6 GHz (S-band, TR 38.821's handheld cases) the atmospheric and
scintillation terms are the sub-6 GHz models of TR 38.811: a constant zenith
gas attenuation of 0.035 dB over sin(elevation) (§6.6.4) and ionospheric
scintillation (§6.6.6.1.4). From 6 GHz (Ka-band, TR 38.821's VSAT cases)
they are the models of ``satsim.link.atmosphere``: gaseous absorption of
ITU-R P.676-12 (§6.6.4, 6-350 GHz) for the scenario's surface weather, and
tropospheric scintillation of ITU-R P.618-13 §2.4.1 (§6.6.6.2, 6-55 GHz),
which depends on the elevation and on the terminal's antenna. The switch is at
6 GHz, where TR 38.811 changes from the ionospheric to the tropospheric
scintillation model; below it the results are those of the sub-6 GHz models
exactly (P.676-12 would give 0.034 dB at 2 GHz instead of 0.035).

Limits
------
Only the S-band columns of the shadow-fading and clutter tables are
transcribed (TR 38.811 also prints Ka-band columns; they are not in the
project's reference): those tables refuse carriers outside ``FREQ_RANGE_HZ``
(0.5-6 GHz) with an :class:`~satsim.errors.InputError` that says to set
``losses.shadow_fading`` and ``losses.clutter_loss`` to false or to a fixed
loss in dB. The LOS probability (Table 6.6.1-1) does not depend on the band.
The atmospheric models accept ``ATMOSPHERIC_FREQ_RANGE_HZ`` (0.5-350 GHz) and
the scintillation models ``SCINTILLATION_FREQ_RANGE_HZ`` (0.5-55 GHz).

Sources: 3GPP TR 38.811 v15.4.0 §6.6; table values as implemented in ns-3-dev
(``src/propagation/model/channel-condition-model.cc`` and
``three-gpp-propagation-loss-model.cc``), transcribed in the project's
``NTN_REFERENCE.md`` §2; above 6 GHz ITU-R P.676-12 and P.618-13 (editions in
``satsim.link.atmosphere``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import constants
from ..errors import InputError
from ..streams import stream, stream_key
from . import atmosphere
from .config import ENVIRONMENTS, Propagation

__all__ = [
    "ATMOSPHERIC_FREQ_RANGE_HZ",
    "ATMOSPHERIC_MIN_ELEVATION_DEG",
    "ATMOSPHERIC_ZENITH_LOSS_DB",
    "ELEVATION_GRID_DEG",
    "FREQ_RANGE_HZ",
    "SCINTILLATION_FREQ_RANGE_HZ",
    "SHADOWING_STREAM",
    "SUB6_MAX_FREQ_HZ",
    "ChannelDraws",
    "ChannelTable",
    "atmospheric_conditions",
    "atmospheric_loss_db",
    "channel_draws",
    "channel_table",
    "check_carrier",
    "clutter_loss_db",
    "fspl_db",
    "link_loss_db",
    "los_probability",
    "scintillation_conditions",
    "scintillation_loss_db",
    "shadow_fading_sigma_db",
    "slant_range_km",
]

#: Frequencies accepted by the S-band shadow-fading and clutter tables, Hz.
FREQ_RANGE_HZ = (0.5e9, 6.0e9)
#: Carriers from this frequency on use the above-6 GHz atmospheric models
#: (ITU-R P.676-12 gas, ITU-R P.618-13 tropospheric scintillation), Hz;
#: below it, the sub-6 GHz models of TR 38.811 (TR 38.811 §6.6.6).
SUB6_MAX_FREQ_HZ = 6.0e9
#: Frequencies accepted by :func:`atmospheric_loss_db`, Hz: the sub-6 GHz
#: constant from 0.5 GHz, P.676-12 Annex 2 up to 350 GHz.
ATMOSPHERIC_FREQ_RANGE_HZ = (0.5e9, atmosphere.GAS_FREQ_RANGE_HZ[1])
#: Frequencies accepted by :func:`scintillation_loss_db`, Hz: ionospheric
#: from 0.5 GHz, P.618-13 tropospheric up to 55 GHz.
SCINTILLATION_FREQ_RANGE_HZ = (0.5e9, atmosphere.SCINTILLATION_FREQ_RANGE_HZ[1])
#: Zenith gaseous attenuation, dB (ITU-R P.676 via TR 38.811 §6.6.4: about
#: 0.035 dB at 2 GHz).
ATMOSPHERIC_ZENITH_LOSS_DB = 0.035
#: Elevation below which the 1/sin(elevation) scaling is held constant, deg.
ATMOSPHERIC_MIN_ELEVATION_DEG = 5.0
#: spawn_key of the shadowing / LOS stream, "link/channel" of the run's
#: stream registry (:mod:`satsim.streams`; 38811: the TR's number).
SHADOWING_STREAM = stream_key("link/channel")


def _table(values) -> np.ndarray:
    a = np.array(values, dtype=np.float64)
    a.setflags(write=False)
    return a


#: Elevation rows of the TR 38.811 §6.6 tables, deg.
ELEVATION_GRID_DEG = _table([10, 20, 30, 40, 50, 60, 70, 80, 90])

# TR 38.811 Table 6.6.1-1: LOS probability per elevation row.
P_LOS_DENSE_URBAN = _table([0.282, 0.331, 0.398, 0.468, 0.537, 0.612, 0.738, 0.820, 0.981])
P_LOS_URBAN = _table([0.246, 0.386, 0.493, 0.613, 0.726, 0.805, 0.919, 0.968, 0.992])
P_LOS_SUBURBAN_RURAL = _table([0.782, 0.869, 0.919, 0.929, 0.935, 0.940, 0.949, 0.952, 0.998])

# TR 38.811 Tables 6.6.2-1 (dense urban), 6.6.2-2 (urban), 6.6.2-3 (suburban
# and rural), S-band columns. Rows: elevation 10..90 deg; columns: shadow
# fading sigma LOS, sigma NLOS, clutter loss (NLOS), dB.
SF_CL_S_BAND_DENSE_URBAN = _table(
    [
        [3.5, 15.5, 34.3],
        [3.4, 13.9, 30.9],
        [2.9, 12.4, 29.0],
        [3.0, 11.7, 27.7],
        [3.1, 10.6, 26.8],
        [2.7, 10.5, 26.2],
        [2.5, 10.1, 25.8],
        [2.3, 9.2, 25.5],
        [1.2, 9.2, 25.5],
    ]
)
SF_CL_S_BAND_URBAN = _table(
    [
        [4.0, 6.0, 34.3],
        [4.0, 6.0, 30.9],
        [4.0, 6.0, 29.0],
        [4.0, 6.0, 27.7],
        [4.0, 6.0, 26.8],
        [4.0, 6.0, 26.2],
        [4.0, 6.0, 25.8],
        [4.0, 6.0, 25.5],
        [4.0, 6.0, 25.5],
    ]
)
SF_CL_S_BAND_SUBURBAN_RURAL = _table(
    [
        [1.79, 8.93, 19.52],
        [1.14, 9.08, 18.17],
        [1.14, 8.78, 18.42],
        [0.92, 10.25, 18.28],
        [1.42, 10.56, 18.63],
        [1.56, 10.74, 17.68],
        [0.85, 10.17, 16.5],
        [0.72, 11.52, 16.3],
        [0.72, 11.52, 16.3],
    ]
)


@dataclass(frozen=True, eq=False)
class ChannelTable:
    """The TR 38.811 §6.6 S-band channel table of one environment.

    All fields are read-only float64 arrays of shape ``(9,)``, one entry per
    elevation row 10, 20, ..., 90 deg (Tables 6.6.1-1, 6.6.2-1/2/3).

    Attributes
    ----------
    elevation_deg : elevation of each row, deg.
    p_los : LOS probability.
    sigma_los_db, sigma_nlos_db : shadow-fading standard deviation, dB.
    clutter_loss_db : clutter loss of NLOS links, dB.
    """

    elevation_deg: np.ndarray
    p_los: np.ndarray
    sigma_los_db: np.ndarray
    sigma_nlos_db: np.ndarray
    clutter_loss_db: np.ndarray


def _make_table(p_los, sf_cl) -> ChannelTable:
    return ChannelTable(
        elevation_deg=ELEVATION_GRID_DEG,
        p_los=p_los,
        sigma_los_db=_table(sf_cl[:, 0]),
        sigma_nlos_db=_table(sf_cl[:, 1]),
        clutter_loss_db=_table(sf_cl[:, 2]),
    )


_SUBURBAN_RURAL = _make_table(P_LOS_SUBURBAN_RURAL, SF_CL_S_BAND_SUBURBAN_RURAL)
_TABLES = {
    "dense_urban": _make_table(P_LOS_DENSE_URBAN, SF_CL_S_BAND_DENSE_URBAN),
    "urban": _make_table(P_LOS_URBAN, SF_CL_S_BAND_URBAN),
    "suburban": _SUBURBAN_RURAL,
    "rural": _SUBURBAN_RURAL,
}
assert tuple(_TABLES) == ENVIRONMENTS


def channel_table(environment: str) -> ChannelTable:
    """The S-band channel table of ``environment`` (TR 38.811 Tables 6.6.1-1, 6.6.2-1/2/3).

    Parameters
    ----------
    environment : {"dense_urban", "urban", "suburban", "rural"}
        Suburban and rural share one table in TR 38.811.

    Raises
    ------
    InputError
        For any other environment name (the message lists the valid ones).
    """
    try:
        return _TABLES[environment]
    except (KeyError, TypeError):
        raise InputError(
            f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
        ) from None


def _interp(elevation_deg, column: np.ndarray) -> np.ndarray:
    # np.interp holds the end values outside the grid: the 10-degree row below
    # 10 deg, the 90-degree row above 90 deg.
    return np.interp(np.asarray(elevation_deg, dtype=np.float64), ELEVATION_GRID_DEG, column)


def _check_freq(freq_hz, what: str, freq_range=FREQ_RANGE_HZ, models: str = "TR 38.811 "
                "S-band tables", settings: str = "losses.shadow_fading and losses.clutter_loss",
                ) -> np.ndarray:
    f = np.asarray(freq_hz, dtype=np.float64)
    lo, hi = freq_range
    if not np.all((f >= lo) & (f <= hi)):
        bad = f[~((f >= lo) & (f <= hi))].ravel()[0]
        raise InputError(
            f"{what}: modelled for {lo / 1e9:g}-{hi / 1e9:g} GHz only ({models}), got a "
            f"carrier of {float(bad) / 1e9:g} GHz; set {settings} to false or to a fixed loss in dB for this carrier"
        )
    return f


#: (range, models, setting) of the atmospheric and scintillation terms, for _check_freq.
_ATMOSPHERIC_BAND = (ATMOSPHERIC_FREQ_RANGE_HZ,
                     "TR 38.811 §6.6.4: a constant below 6 GHz, ITU-R P.676-12 from 6 GHz",
                     "losses.atmospheric")
_SCINTILLATION_BAND = (SCINTILLATION_FREQ_RANGE_HZ,
                       "TR 38.811 §6.6.6: ionospheric below 6 GHz, ITU-R P.618-13 from 6 GHz",
                       "losses.scintillation")


def fspl_db(range_km, freq_hz) -> np.ndarray:
    """Free-space path loss, dB (TR 38.811 eq. 6.6-2), checked.

    ``FSPL = 32.45 + 20 log10(f / GHz) + 20 log10(d / m)``: the formula of
    :func:`satsim.constants.fspl_db`, here with the inputs checked and as
    float64 arrays.

    Parameters
    ----------
    range_km : array_like
        Slant range satellite-handset, km (> 0).
    freq_hz : array_like
        Carrier frequency, Hz (> 0). Broadcasts with ``range_km``.
    """
    d_km = np.asarray(range_km, dtype=np.float64)
    f_hz = np.asarray(freq_hz, dtype=np.float64)
    if not (np.all(d_km > 0) and np.all(f_hz > 0)):
        raise InputError(
            "fspl_db needs positive range_km and freq_hz, "
            f"got min range {np.min(d_km)!r} km, min frequency {np.min(f_hz)!r} Hz"
        )
    return constants.fspl_db(d_km, f_hz)


def slant_range_km(elevation_deg, altitude_km,
                   earth_radius_km: float = constants.TR38811_EARTH_RADIUS_KM) -> np.ndarray:
    """Distance from a ground point to a satellite seen at ``elevation_deg``, km.

    TR 38.811 eq. 6.6-3 (spherical Earth of radius R, satellite altitude h,
    elevation alpha)::

        d = sqrt(R^2 sin^2(alpha) + h^2 + 2 h R) - R sin(alpha)

    Parameters
    ----------
    elevation_deg : array_like
        Elevation of the satellite seen from the ground point, deg.
    altitude_km : array_like
        Satellite altitude above the sphere, km (> 0).
    earth_radius_km : float
        Sphere radius, km; TR 38.811 uses 6371
        (:data:`satsim.constants.TR38811_EARTH_RADIUS_KM`).
    """
    h = np.asarray(altitude_km, dtype=np.float64)
    if not np.all(h > 0) or not earth_radius_km > 0:
        raise InputError(
            f"slant_range_km needs altitude_km > 0 and earth_radius_km > 0, "
            f"got min altitude {np.min(h)!r} km and radius {earth_radius_km!r} km"
        )
    r_sin = earth_radius_km * np.sin(np.radians(np.asarray(elevation_deg, dtype=np.float64)))
    return np.sqrt(r_sin**2 + h**2 + 2.0 * h * earth_radius_km) - r_sin


def los_probability(elevation_deg, environment: str) -> np.ndarray:
    """Probability that a link is line-of-sight (TR 38.811 Table 6.6.1-1).

    Linear in elevation between the 10-degree rows, held at the 10-degree row
    below 10 deg and at the 90-degree row above (see the module docstring;
    ns-3 rounds to the nearest row instead; both equal the table on the grid).

    Parameters
    ----------
    elevation_deg : array_like
        Elevation angle, deg.
    environment : {"dense_urban", "urban", "suburban", "rural"}
    """
    return _interp(elevation_deg, channel_table(environment).p_los)


def shadow_fading_sigma_db(elevation_deg, environment: str, los) -> np.ndarray:
    """Shadow-fading standard deviation, dB (TR 38.811 Tables 6.6.2-1/2/3, S-band).

    Interpolated in elevation as :func:`los_probability`.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation angle, deg.
    environment : {"dense_urban", "urban", "suburban", "rural"}
    los : array_like of bool
        True for LOS links (sigma_LOS), False for NLOS (sigma_NLOS);
        broadcasts with ``elevation_deg``.
    """
    table = channel_table(environment)
    return np.where(
        np.asarray(los, dtype=bool),
        _interp(elevation_deg, table.sigma_los_db),
        _interp(elevation_deg, table.sigma_nlos_db),
    )


def clutter_loss_db(elevation_deg, environment: str) -> np.ndarray:
    """Clutter loss of an NLOS link, dB (TR 38.811 Tables 6.6.2-1/2/3, S-band).

    Interpolated in elevation as :func:`los_probability`. LOS links have no
    clutter loss; the caller applies this value to NLOS links only.
    """
    return _interp(elevation_deg, channel_table(environment).clutter_loss_db)


def atmospheric_loss_db(elevation_deg, freq_hz,
                        pressure_hpa=atmosphere.REFERENCE_PRESSURE_HPA,
                        temperature_k=atmosphere.REFERENCE_TEMPERATURE_K,
                        water_vapour_density_g_m3=atmosphere.REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                        ) -> np.ndarray:
    """Gaseous absorption, dB (TR 38.811 §6.6.4, which refers to ITU-R P.676).

    Below 6 GHz (:data:`SUB6_MAX_FREQ_HZ`), a simple model: zenith
    attenuation ``ATMOSPHERIC_ZENITH_LOSS_DB`` (0.035 dB, the P.676 value at
    2 GHz) scaled by ``1 / sin(elevation)``. It gives 0.07 dB at 30 deg, which
    TR 38.821 Table 6.1.3.3-1 prints as 0.1 dB for case SC9. P.676 zenith
    attenuation is flat across S-band (about 0.030 dB at 1 GHz to 0.042 dB at
    6 GHz in ns-3's reading of P.676 Figure 6; P.676-12 itself gives 0.034 dB
    at 2 GHz), so the constant is good to about 0.01 dB at zenith over 1-6 GHz.
    Between 0.5 and 1 GHz it is unchecked against P.676; oxygen absorption
    falls there, so it errs, if at all, on the high side by less than itself.
    The 1/sin law (flat atmosphere) holds for elevation >= 10 deg; below, the
    elevation used is held at ``ATMOSPHERIC_MIN_ELEVATION_DEG`` (5 deg,
    0.40 dB) so the loss stays finite down to the horizon. The weather
    arguments do not enter.

    From 6 GHz, ITU-R P.676-12 Annex 2 for the given surface weather
    (:func:`satsim.link.atmosphere.gas_attenuation_db`: oxygen and water
    vapour, cosecant law from 5 deg, curved-Earth path below; elevations below
    0 deg are taken at 0 deg). At the ITU-R P.835-6 reference atmosphere
    (the defaults): 0.24 dB at zenith and 0.49 dB at 30 deg at 20 GHz.

    Frequencies outside ``ATMOSPHERIC_FREQ_RANGE_HZ`` (0.5-350 GHz) raise
    :class:`InputError` rather than extrapolate.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation angle, deg.
    freq_hz : array_like
        Carrier frequency, Hz, in 0.5-350 GHz. Broadcasts with ``elevation_deg``.
    pressure_hpa, temperature_k, water_vapour_density_g_m3 : array_like
        Surface dry-air pressure (hPa), temperature (K) and water-vapour
        density (g/m^3) at the handset, used from 6 GHz; default the ITU-R
        P.835-6 §1 mean annual global reference atmosphere at sea level.
    """
    f = _check_freq(freq_hz, "atmospheric_loss_db", *_ATMOSPHERIC_BAND)
    elev_in = np.asarray(elevation_deg, dtype=np.float64)
    elev = np.clip(elev_in, ATMOSPHERIC_MIN_ELEVATION_DEG, 90.0)
    sub6 = ATMOSPHERIC_ZENITH_LOSS_DB / np.sin(np.radians(elev)) + np.zeros_like(f)
    high = f >= SUB6_MAX_FREQ_HZ
    if not np.any(high):
        return sub6
    e, f, p, t, rho = np.broadcast_arrays(np.clip(elev_in, 0.0, 90.0), f, pressure_hpa,
                                          temperature_k, water_vapour_density_g_m3)
    high = np.broadcast_to(high, f.shape)
    out = np.broadcast_to(sub6, f.shape).astype(np.float64, copy=True)
    out[high] = atmosphere.gas_attenuation_db(e[high], f[high], p[high], t[high], rho[high])
    return out


def scintillation_loss_db(freq_hz, elevation_deg=None, *,
                          antenna_diameter_m=0.0,
                          antenna_efficiency=atmosphere.DEFAULT_ANTENNA_EFFICIENCY,
                          percent_time=1.0,
                          temperature_k=atmosphere.REFERENCE_TEMPERATURE_K,
                          water_vapour_density_g_m3=atmosphere.REFERENCE_WATER_VAPOUR_DENSITY_G_M3,
                          ) -> np.ndarray:
    """Scintillation loss, dB (TR 38.811 §6.6.6).

    Below 6 GHz (:data:`SUB6_MAX_FREQ_HZ`), ionospheric scintillation
    (§6.6.6.1.4): peak-to-peak fluctuation at 20-60 deg latitude
    ``A = 1.1 (f / 4 GHz)^-1.5`` dB, loss ``A / sqrt(2)``: 2.2 dB at 2 GHz
    (TR 38.821 Table 6.1.3.3-1). Independent of elevation; the keyword
    arguments do not enter.

    From 6 GHz, tropospheric scintillation (§6.6.6.2): the fade depth
    exceeded for ``percent_time`` % of an average year, ITU-R P.618-13 §2.4.1
    (:func:`satsim.link.atmosphere.tropo_scintillation_db`), with the wet
    refractivity N_wet of the given surface weather (ITU-R P.453-14 §1) and
    the aperture averaging of the terminal's antenna; elevations below 5 deg
    are held at 5 deg. At the defaults (handset, 1 %, N_wet 47.5): 0.33 dB at
    30 deg and 20 GHz. Ionospheric scintillation is not added above 6 GHz
    (it falls as f^-1.5: 0.09 dB at 20 GHz), as TR 38.811 does.

    Parameters
    ----------
    freq_hz : array_like
        Carrier frequency, Hz, in ``SCINTILLATION_FREQ_RANGE_HZ`` (0.5-55 GHz,
        the end of P.618's scope).
    elevation_deg : array_like, optional
        Elevation angle, deg; needed when any frequency is 6 GHz or more.
    antenna_diameter_m, antenna_efficiency : array_like
        The terminal antenna's diameter (m; 0 for a handset) and aperture
        efficiency (0.5 when unknown, P.618-13).
    percent_time : array_like
        Time percentage, %, in [0.001, 50].
    temperature_k, water_vapour_density_g_m3 : array_like
        Surface temperature (K) and water-vapour density (g/m^3), for N_wet;
        default the ITU-R P.835-6 reference atmosphere (N_wet 47.5).
        All array arguments broadcast together.
    """
    f = _check_freq(freq_hz, "scintillation_loss_db", *_SCINTILLATION_BAND)
    iono = 1.1 * (f / 4.0e9) ** -1.5 / np.sqrt(2.0)
    high = f >= SUB6_MAX_FREQ_HZ
    if not np.any(high):
        return iono
    if elevation_deg is None:
        raise InputError("scintillation_loss_db: tropospheric scintillation from 6 GHz (ITU-R "
                         "P.618-13) depends on the elevation; pass elevation_deg")
    nwet = atmosphere.wet_refractivity(water_vapour_density_g_m3, temperature_k)
    e, f, d, eta, pt, nw = np.broadcast_arrays(
        np.clip(np.asarray(elevation_deg, dtype=np.float64), 0.0, 90.0), f,
        antenna_diameter_m, antenna_efficiency, percent_time, nwet)
    high = np.broadcast_to(high, f.shape)
    out = np.broadcast_to(iono, f.shape).astype(np.float64, copy=True)
    out[high] = atmosphere.tropo_scintillation_db(e[high], f[high], d[high], eta[high],
                                                  pt[high], nw[high])
    return out


def check_carrier(propagation: Propagation, freq_hz) -> None:
    """Raise :class:`InputError` if a modelled (``True``) term of
    ``propagation`` does not hold at ``freq_hz``: shadow fading and clutter
    loss outside ``FREQ_RANGE_HZ`` (S-band tables), the atmospheric term
    outside ``ATMOSPHERIC_FREQ_RANGE_HZ``, scintillation outside
    ``SCINTILLATION_FREQ_RANGE_HZ``. The message names the setting to change."""
    if propagation.shadow_fading is True or propagation.clutter_loss is True:
        _check_freq(freq_hz, "shadow fading and clutter loss")
    if propagation.atmospheric is True:
        _check_freq(freq_hz, "atmospheric loss", *_ATMOSPHERIC_BAND)
    if propagation.scintillation is True:
        _check_freq(freq_hz, "scintillation loss", *_SCINTILLATION_BAND)


def atmospheric_conditions(propagation: Propagation) -> dict:
    """The surface weather of ``propagation`` as keyword arguments of
    :func:`atmospheric_loss_db`."""
    return {"pressure_hpa": propagation.surface_pressure_hpa,
            "temperature_k": propagation.surface_temperature_k,
            "water_vapour_density_g_m3": propagation.water_vapour_density_g_m3}


def scintillation_conditions(propagation: Propagation) -> dict:
    """The terminal, time percentage and weather of ``propagation`` as keyword
    arguments of :func:`scintillation_loss_db`."""
    return {"antenna_diameter_m": propagation.terminal_antenna_diameter_m,
            "antenna_efficiency": propagation.terminal_antenna_efficiency,
            "percent_time": propagation.scintillation_percent_time,
            "temperature_k": propagation.surface_temperature_k,
            "water_vapour_density_g_m3": propagation.water_vapour_density_g_m3}


@dataclass(frozen=True, eq=False)
class ChannelDraws:
    """The random channel state of every (handset, satellite) pair.

    Attributes
    ----------
    u_los : ndarray, float64, shape (n_handsets, n_satellites)
        Uniform in [0, 1); the link is LOS while ``u_los < p_los(elevation)``.
    z_shadow : ndarray, float64, shape (n_handsets, n_satellites)
        Standard normal; the link's shadow fading is
        ``sigma(elevation, state) * z_shadow`` dB.
    """

    u_los: np.ndarray
    z_shadow: np.ndarray


def channel_draws(seed: int, n_handsets: int, n_satellites: int) -> ChannelDraws:
    """Seeded LOS and shadowing draws (semantics in the module docstring).

    Drawn from the run's stream ``"link/channel"`` (:mod:`satsim.streams`),
    i.e. ``default_rng(SeedSequence(seed, spawn_key=(SHADOWING_STREAM,)))``:
    first ``u_los``, then ``z_shadow``, each in row-major order over
    (handset, satellite). The same arguments always give the same arrays.

    Parameters
    ----------
    seed : int
        The run seed, >= 0.
    n_handsets, n_satellites : int
        Array shape, each >= 0.
    """
    for name, v in (("seed", seed), ("n_handsets", n_handsets), ("n_satellites", n_satellites)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"channel_draws: {name} must be a whole number >= 0, got {v!r}")
    rng = stream(int(seed), "link/channel")
    shape = (int(n_handsets), int(n_satellites))
    u_los = rng.random(shape)
    z_shadow = rng.standard_normal(shape)
    return ChannelDraws(u_los=u_los, z_shadow=z_shadow)


def _fixed_db(setting) -> float:
    """A Propagation term that is not modelled: False -> 0 dB, a number -> that many dB."""
    return 0.0 if setting is False else float(setting)


def link_loss_db(
    elevation_deg,
    range_km,
    freq_hz,
    propagation: Propagation,
    u_los,
    z_shadow,
) -> tuple[np.ndarray, np.ndarray]:
    """Total path loss of each link and its LOS state (TR 38.811 eqs. 6.6-1, 6.6-4).

    ``PL = FSPL + SF + CL + atmospheric + scintillation + shadow_margin_db
    + additional_loss_db``, where each of SF, CL, atmospheric and
    scintillation follows ``propagation``: ``True`` uses the model, ``False``
    gives 0 dB and a number is that fixed loss in dB. Clutter loss, modelled
    or fixed, applies to NLOS links only.

    LOS state: ``u_los < los_probability(elevation)`` when
    ``propagation.los_probability`` is True, otherwise every link is LOS.
    Shadow fading (model): ``shadow_fading_sigma_db(elevation, env, los) *
    z_shadow``; it is zero-mean and may be negative (a gain).

    This is the plain numpy reference implementation; compiled kernels are
    tested against it.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation angle, deg.
    range_km : array_like
        Slant range, km.
    freq_hz : array_like
        Carrier frequency, Hz; must lie in ``FREQ_RANGE_HZ`` (0.5-6 GHz) when
        shadow fading or clutter is modelled (``True``: S-band tables), in
        ``ATMOSPHERIC_FREQ_RANGE_HZ`` (0.5-350 GHz) when the atmospheric
        term is and in ``SCINTILLATION_FREQ_RANGE_HZ`` (0.5-55 GHz) when
        scintillation is. From 6 GHz the atmospheric and scintillation models
        are those of ITU-R P.676-12 and P.618-13 (module docstring), with the
        weather and terminal antenna of ``propagation``.
    propagation : Propagation
        Environment, term settings, surface weather and terminal antenna.
    u_los, z_shadow : array_like
        The link's draws (see :class:`ChannelDraws`). All array arguments
        broadcast together.

    Returns
    -------
    loss_db : ndarray, float64
        Path loss, dB, of the broadcast shape.
    los : ndarray, bool
        LOS state of each link, same shape.
    """
    elev = np.asarray(elevation_deg, dtype=np.float64)
    u = np.asarray(u_los, dtype=np.float64)
    z = np.asarray(z_shadow, dtype=np.float64)
    shape = np.broadcast_shapes(elev.shape, np.shape(range_km), np.shape(freq_hz), u.shape, z.shape)
    env = propagation.environment
    check_carrier(propagation, freq_hz)

    if propagation.los_probability:
        los = u < los_probability(elev, env)
    else:
        los = np.ones_like(u, dtype=bool)
    los = np.broadcast_to(los, shape).copy()

    if propagation.shadow_fading is True:
        sf_db = shadow_fading_sigma_db(elev, env, los) * z
    else:
        sf_db = _fixed_db(propagation.shadow_fading)
    if propagation.clutter_loss is True:
        cl_nlos_db = clutter_loss_db(elev, env)
    else:
        cl_nlos_db = _fixed_db(propagation.clutter_loss)
    if propagation.atmospheric is True:
        atm_db = atmospheric_loss_db(elev, freq_hz, **atmospheric_conditions(propagation))
    else:
        atm_db = _fixed_db(propagation.atmospheric)
    if propagation.scintillation is True:
        scint_db = scintillation_loss_db(freq_hz, elev, **scintillation_conditions(propagation))
    else:
        scint_db = _fixed_db(propagation.scintillation)

    loss = (
        fspl_db(range_km, freq_hz)
        + sf_db
        + np.where(los, 0.0, cl_nlos_db)
        + atm_db
        + scint_db
        + propagation.shadow_margin_db
        + propagation.additional_loss_db
    )
    return np.broadcast_to(loss, shape).astype(np.float64, copy=True), los
