"""Physical constants and free-space path loss: one home for every layer.

Plain floats with the unit in the name, and one tiny function. This module
imports only math and numpy, so kernels and every layer may use it.

Earth has several radii here, each for its own job; use the one the formula's
source uses, never mix them:

* ``WGS84_EQUATORIAL_RADIUS_KM`` (6378.137): the reference surface for orbit
  altitudes (Walker shells, mean altitudes) and the ellipsoid of handset
  positions (Skyfield's ``wgs84``);
* ``WGS72_EQUATORIAL_RADIUS_KM`` and ``WGS72_MU_KM3_S2``: the constants SGP4
  and TLE element sets are defined on (semi-major axes in Earth radii);
* ``IUGG_MEAN_RADIUS_KM`` (6371.0088): distances on the ground (handset grid
  spacing, scattering handsets around a city);
* ``TR38811_EARTH_RADIUS_KM`` (6371): the spherical Earth of 3GPP TR 38.811's
  link geometry (slant range, off-nadir angle), as the TR computes its tables.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BOLTZMANN_DBW_K_HZ",
    "EARTH_ROTATION_RAD_S",
    "FSPL_1M_1GHZ_DB",
    "IUGG_MEAN_RADIUS_KM",
    "SPEED_OF_LIGHT_KM_S",
    "SPEED_OF_LIGHT_M_S",
    "T0_K",
    "TR38811_EARTH_RADIUS_KM",
    "WGS72_EQUATORIAL_RADIUS_KM",
    "WGS72_MU_KM3_S2",
    "WGS84_EQUATORIAL_RADIUS_KM",
    "fspl_db",
]

#: Speed of light in vacuum, m/s (exact, SI).
SPEED_OF_LIGHT_M_S = 299_792_458.0
#: Speed of light in vacuum, km/s (exact, SI).
SPEED_OF_LIGHT_KM_S = 299_792.458

#: Boltzmann's constant, dBW/K/Hz: 10 log10(1.380649e-23 J/K) = -228.59916,
#: kept to 4 decimals (TR 38.821's budgets print -228.6).
BOLTZMANN_DBW_K_HZ = -228.5991
#: Reference temperature of noise figures, K (IEEE / ITU-R P.372 T0 = 290 K).
T0_K = 290.0

#: WGS84 equatorial radius (semi-major axis), km (NIMA TR8350.2).
WGS84_EQUATORIAL_RADIUS_KM = 6378.137
#: WGS72 equatorial radius, km, and gravitational parameter, km^3/s^2: the
#: constants of SGP4 element sets (Hoots & Roehrich 1980; Vallado et al.,
#: AIAA 2006-6753, "Gravitational constants").
WGS72_EQUATORIAL_RADIUS_KM = 6378.135
WGS72_MU_KM3_S2 = 398600.8
#: Mean Earth radius R1 = (2a + b) / 3 of GRS80, km (IUGG; Moritz, "Geodetic
#: Reference System 1980").
IUGG_MEAN_RADIUS_KM = 6371.0088
#: Spherical-Earth radius of 3GPP TR 38.811 v15.4.0 (eq. 6.6-3), km.
TR38811_EARTH_RADIUS_KM = 6371.0
#: Earth's rotation rate, rad/s (IERS Conventions; Skyfield's ``ANGVEL``).
EARTH_ROTATION_RAD_S = 7.2921150e-5

#: Free-space loss of 1 m at 1 GHz, dB: 20 log10(4 pi 1e9 / c) = 32.4478,
#: rounded to 32.45 as 3GPP TR 38.811 eq. 6.6-2 prints it.
FSPL_1M_1GHZ_DB = 32.45


def fspl_db(range_km, freq_hz):
    """Free-space path loss, dB.

    ``FSPL = 20 log10(4 pi d f / c) = 32.45 + 20 log10(f / GHz) + 20 log10(d / m)``

    Sources: ITU-R P.525-4, basic transmission loss of a point-to-point link
    in free space, ``L_bf = 20 log10(4 pi d / lambda)`` (printed there as
    ``32.4 + 20 log f(MHz) + 20 log d(km)``, the same constant); 3GPP TR 38.811
    v15.4.0 eq. 6.6-2 (the form and the 32.45 used here).

    Parameters
    ----------
    range_km : float or array_like
        Transmitter-receiver distance, km (> 0; not checked here).
    freq_hz : float or array_like
        Carrier frequency, Hz (> 0). Broadcasts with ``range_km``.

    Returns
    -------
    float or numpy.ndarray
        Scalars in (Python or numpy) give a float computed with
        ``math.log10``; arrays give a float64 array computed with
        ``numpy.log10``. The two can differ in the last bit, so a caller keeps
        to one kind of input for reproducible results.
    """
    if np.isscalar(range_km) and np.isscalar(freq_hz):
        return (FSPL_1M_1GHZ_DB + 20.0 * math.log10(freq_hz / 1e9)
                + 20.0 * math.log10(range_km * 1e3))
    f_hz = np.asarray(freq_hz, dtype=np.float64)
    d_km = np.asarray(range_km, dtype=np.float64)
    return FSPL_1M_1GHZ_DB + 20.0 * np.log10(f_hz / 1e9) + 20.0 * np.log10(d_km * 1e3)
