"""Numba scalar kernels and spectroscopic tables of the above-6 GHz atmosphere
(plain floats: deg, GHz, hPa, K, g/m^3, km, m, dB).

``satsim.link.atmosphere`` is the numpy reference and the documented front
door (sources, editions, validity ranges and input checks live there); the
kernels below are its per-link twins for the compiled path-loss loop, tested
equal to it. They do not check their inputs.

Tables: ITU-R P.676-12 (08/2019) Annex 1 Table 1 (oxygen lines) and Table 2
(water-vapour lines), Annex 2 Table 3 (oxygen lines of the equivalent height
t2) and Table 4 (water-vapour lines of the equivalent height h_w).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import njit


def _frozen(rows) -> np.ndarray:
    a = np.array(rows, dtype=np.float64)
    a.setflags(write=False)
    return a


#: ITU-R P.676-12 Annex 1 Table 1, oxygen: f0 (GHz), a1, a2, a3, a4, a5, a6.
OXYGEN_LINES = _frozen([
    [50.474214, 0.975, 9.651, 6.690, 0.0, 2.566, 6.850],
    [50.987745, 2.529, 8.653, 7.170, 0.0, 2.246, 6.800],
    [51.503360, 6.193, 7.709, 7.640, 0.0, 1.947, 6.729],
    [52.021429, 14.320, 6.819, 8.110, 0.0, 1.667, 6.640],
    [52.542418, 31.240, 5.983, 8.580, 0.0, 1.388, 6.526],
    [53.066934, 64.290, 5.201, 9.060, 0.0, 1.349, 6.206],
    [53.595775, 124.600, 4.474, 9.550, 0.0, 2.227, 5.085],
    [54.130025, 227.300, 3.800, 9.960, 0.0, 3.170, 3.750],
    [54.671180, 389.700, 3.182, 10.370, 0.0, 3.558, 2.654],
    [55.221384, 627.100, 2.618, 10.890, 0.0, 2.560, 2.952],
    [55.783815, 945.300, 2.109, 11.340, 0.0, -1.172, 6.135],
    [56.264774, 543.400, 0.014, 17.030, 0.0, 3.525, -0.978],
    [56.363399, 1331.800, 1.654, 11.890, 0.0, -2.378, 6.547],
    [56.968211, 1746.600, 1.255, 12.230, 0.0, -3.545, 6.451],
    [57.612486, 2120.100, 0.910, 12.620, 0.0, -5.416, 6.056],
    [58.323877, 2363.700, 0.621, 12.950, 0.0, -1.932, 0.436],
    [58.446588, 1442.100, 0.083, 14.910, 0.0, 6.768, -1.273],
    [59.164204, 2379.900, 0.387, 13.530, 0.0, -6.561, 2.309],
    [59.590983, 2090.700, 0.207, 14.080, 0.0, 6.957, -0.776],
    [60.306056, 2103.400, 0.207, 14.150, 0.0, -6.395, 0.699],
    [60.434778, 2438.000, 0.386, 13.390, 0.0, 6.342, -2.825],
    [61.150562, 2479.500, 0.621, 12.920, 0.0, 1.014, -0.584],
    [61.800158, 2275.900, 0.910, 12.630, 0.0, 5.014, -6.619],
    [62.411220, 1915.400, 1.255, 12.170, 0.0, 3.029, -6.759],
    [62.486253, 1503.000, 0.083, 15.130, 0.0, -4.499, 0.844],
    [62.997984, 1490.200, 1.654, 11.740, 0.0, 1.856, -6.675],
    [63.568526, 1078.000, 2.108, 11.340, 0.0, 0.658, -6.139],
    [64.127775, 728.700, 2.617, 10.880, 0.0, -3.036, -2.895],
    [64.678910, 461.300, 3.181, 10.380, 0.0, -3.968, -2.590],
    [65.224078, 274.000, 3.800, 9.960, 0.0, -3.528, -3.680],
    [65.764779, 153.000, 4.473, 9.550, 0.0, -2.548, -5.002],
    [66.302096, 80.400, 5.200, 9.060, 0.0, -1.660, -6.091],
    [66.836834, 39.800, 5.982, 8.580, 0.0, -1.680, -6.393],
    [67.369601, 18.560, 6.818, 8.110, 0.0, -1.956, -6.475],
    [67.900868, 8.172, 7.708, 7.640, 0.0, -2.216, -6.545],
    [68.431006, 3.397, 8.652, 7.170, 0.0, -2.492, -6.600],
    [68.960312, 1.334, 9.650, 6.690, 0.0, -2.773, -6.650],
    [118.750334, 940.300, 0.010, 16.640, 0.0, -0.439, 0.079],
    [368.498246, 67.400, 0.048, 16.400, 0.0, 0.0, 0.0],
    [424.763020, 637.700, 0.044, 16.400, 0.0, 0.0, 0.0],
    [487.249273, 237.400, 0.049, 16.000, 0.0, 0.0, 0.0],
    [715.392902, 98.100, 0.145, 16.000, 0.0, 0.0, 0.0],
    [773.839490, 572.300, 0.141, 16.200, 0.0, 0.0, 0.0],
    [834.145546, 183.100, 0.145, 14.700, 0.0, 0.0, 0.0],
])

#: ITU-R P.676-12 Annex 1 Table 2, water vapour: f0 (GHz), b1, b2, b3, b4, b5, b6.
WATER_VAPOUR_LINES = _frozen([
    [22.235080, 0.1079, 2.144, 26.38, 0.76, 5.087, 1.00],
    [67.803960, 0.0011, 8.732, 28.58, 0.69, 4.930, 0.82],
    [119.995940, 0.0007, 8.353, 29.48, 0.70, 4.780, 0.79],
    [183.310087, 2.273, 0.668, 29.06, 0.77, 5.022, 0.85],
    [321.225630, 0.0470, 6.179, 24.04, 0.67, 4.398, 0.54],
    [325.152888, 1.514, 1.541, 28.23, 0.64, 4.893, 0.74],
    [336.227764, 0.0010, 9.825, 26.93, 0.69, 4.740, 0.61],
    [380.197353, 11.67, 1.048, 28.11, 0.54, 5.063, 0.89],
    [390.134508, 0.0045, 7.347, 21.52, 0.63, 4.810, 0.55],
    [437.346667, 0.0632, 5.048, 18.45, 0.60, 4.230, 0.48],
    [439.150807, 0.9098, 3.595, 20.07, 0.63, 4.483, 0.52],
    [443.018343, 0.1920, 5.048, 15.55, 0.60, 5.083, 0.50],
    [448.001085, 10.41, 1.405, 25.64, 0.66, 5.028, 0.67],
    [470.888999, 0.3254, 3.597, 21.34, 0.66, 4.506, 0.65],
    [474.689092, 1.260, 2.379, 23.20, 0.65, 4.804, 0.64],
    [488.490108, 0.2529, 2.852, 25.86, 0.69, 5.201, 0.72],
    [503.568532, 0.0372, 6.731, 16.12, 0.61, 3.980, 0.43],
    [504.482692, 0.0124, 6.731, 16.12, 0.61, 4.010, 0.45],
    [547.676440, 0.9785, 0.158, 26.00, 0.70, 4.500, 1.00],
    [552.020960, 0.1840, 0.158, 26.00, 0.70, 4.500, 1.00],
    [556.935985, 497.0, 0.159, 30.86, 0.69, 4.552, 1.00],
    [620.700807, 5.015, 2.391, 24.38, 0.71, 4.856, 0.68],
    [645.766085, 0.0067, 8.633, 18.00, 0.60, 4.000, 0.50],
    [658.005280, 0.2732, 7.816, 32.10, 0.69, 4.140, 1.00],
    [752.033113, 243.4, 0.396, 30.86, 0.68, 4.352, 0.84],
    [841.051732, 0.0134, 8.177, 15.90, 0.33, 5.760, 0.45],
    [859.965698, 0.1325, 8.055, 30.60, 0.68, 4.090, 0.84],
    [899.303175, 0.0547, 7.914, 29.85, 0.68, 4.530, 0.90],
    [902.611085, 0.0386, 8.429, 28.65, 0.70, 5.100, 0.95],
    [906.205957, 0.1836, 5.110, 24.08, 0.70, 4.700, 0.53],
    [916.171582, 8.400, 1.441, 26.73, 0.70, 5.150, 0.78],
    [923.112692, 0.0079, 10.293, 29.00, 0.70, 5.000, 0.80],
    [970.315022, 9.009, 1.919, 25.50, 0.64, 4.940, 0.67],
    [987.926764, 134.6, 0.257, 29.85, 0.68, 4.550, 0.90],
    [1780.000000, 17506.0, 0.952, 196.3, 2.00, 24.15, 5.00],
])

#: ITU-R P.676-12 Annex 2 Table 3: c_i and f_i (GHz) of the oxygen equivalent height's t2.
OXYGEN_HEIGHT_LINES = _frozen([
    [0.1597, 118.750334],
    [0.1066, 368.498246],
    [0.1325, 424.763020],
    [0.1242, 487.249273],
    [0.0938, 715.392902],
    [0.1448, 773.839490],
    [0.1374, 834.145546],
])

#: ITU-R P.676-12 Annex 2 Table 4: f_i (GHz), a_i, b_i of the water-vapour equivalent height.
WATER_HEIGHT_LINES = _frozen([
    [22.23508, 1.52, 2.56],
    [183.310087, 7.62, 10.2],
    [325.152888, 1.56, 2.7],
    [380.197353, 4.15, 5.7],
    [439.150807, 0.2, 0.91],
    [448.001085, 1.63, 2.46],
    [474.689092, 0.76, 2.22],
    [488.490108, 0.26, 2.49],
    [556.935985, 7.81, 10.0],
    [620.70087, 1.25, 2.35],
    [752.033113, 16.2, 20.0],
    [916.171582, 1.47, 2.58],
    [970.315022, 1.36, 2.44],
    [987.926764, 1.6, 1.86],
])

#: Effective Earth radius of the low-elevation gas path, km (ITU-R P.676 Annex 2).
EFFECTIVE_EARTH_RADIUS_KM = 8500.0
#: Elevation at and above which the gas path is the cosecant law, deg (P.676-12 Annex 2).
GAS_COSECANT_MIN_ELEVATION_DEG = 5.0
#: Lowest elevation of the P.618-13 §2.4.1 scintillation method, deg; held below.
SCINTILLATION_MIN_ELEVATION_DEG = 5.0
#: Height of the turbulent layer, m (ITU-R P.618-13 §2.4.1 step 4).
TURBULENT_LAYER_HEIGHT_M = 1000.0


@njit
def _low_elevation_path_factor(elev_deg, height_km):
    """Slant path over zenith path of an exponential layer of scale height
    ``height_km`` seen at ``elev_deg`` in [0, 5) deg, curved Earth of radius
    8500 km (P.676-10 Annex 2 §2.2.2 with the upper end in space)."""
    t = math.radians(elev_deg)
    x = math.tan(t) * math.sqrt(EFFECTIVE_EARTH_RADIUS_KM / height_km)
    f = 1.0 / (0.661 * x + 0.339 * math.sqrt(x * x + 5.51))
    return math.sqrt(EFFECTIVE_EARTH_RADIUS_KM / height_km) * f / math.cos(t)


@njit
def gas_path_factor(elev_deg, height_km):
    """Slant over zenith attenuation of a gas layer of equivalent height
    ``height_km``: ``1 / sin(elevation)`` at 5-90 deg, the curved-Earth form
    below 5 deg; elevation clamped to [0, 90] deg."""
    e = min(max(elev_deg, 0.0), 90.0)
    if e >= GAS_COSECANT_MIN_ELEVATION_DEG:
        return 1.0 / math.sin(math.radians(e))
    return _low_elevation_path_factor(e, height_km)


@njit
def gas_slant_loss_db(elev_deg, zenith_oxygen_db, zenith_water_db, h_oxygen_km, h_water_km):
    """Gaseous attenuation of an Earth-space path seen at ``elev_deg``, dB, from
    the zenith attenuations of oxygen and water vapour and their equivalent
    heights (``atmosphere.GasPathTerms``)."""
    return (zenith_oxygen_db * gas_path_factor(elev_deg, h_oxygen_km)
            + zenith_water_db * gas_path_factor(elev_deg, h_water_km))


@njit
def antenna_averaging_factor(x):
    """g(x) of ITU-R P.618-13 §2.4.1 step 6; 0 where the square root's
    argument is not positive (x >= about 7: the antenna averages the
    scintillation out)."""
    arg = (3.86 * (x * x + 1.0) ** (11.0 / 12.0) * math.sin(11.0 / 6.0 * math.atan2(1.0, x))
           - 7.08 * x ** (5.0 / 6.0))
    return math.sqrt(arg) if arg > 0.0 else 0.0


@njit
def tropo_scintillation_db(elev_deg, freq_ghz, nwet, effective_diameter_m, time_factor):
    """Tropospheric scintillation fade depth, dB (ITU-R P.618-13 §2.4.1 steps
    3-9): ``time_factor`` is a(p) of step 8, ``effective_diameter_m`` is
    sqrt(efficiency) x diameter. Elevation held at 5 deg below, 90 above."""
    e = min(max(elev_deg, SCINTILLATION_MIN_ELEVATION_DEG), 90.0)
    s = math.sin(math.radians(e))
    sigma_ref = 3.6e-3 + 1.0e-4 * nwet
    path_m = 2.0 * TURBULENT_LAYER_HEIGHT_M / (math.sqrt(s * s + 2.35e-4) + s)
    x = 1.22 * effective_diameter_m * effective_diameter_m * freq_ghz / path_m
    sigma = sigma_ref * freq_ghz ** (7.0 / 12.0) * antenna_averaging_factor(x) / s ** 1.2
    return time_factor * sigma
