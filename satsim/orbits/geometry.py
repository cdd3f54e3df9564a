"""Handset-satellite geometry: who sees whom, at what angle, range and Doppler.

For every time step and handset, the satellites above the minimum elevation
("links") with their elevation, azimuth, slant range, range rate, one-way
delay and Doppler shift. The pairwise work is done by numba kernels that
prune with a coarse angular test first (see ``_kernels``), so the cost
follows the number of visible links, not satellites x handsets.

Results are stored sparse, as a CSR-like layout over ``(time, handset)``:
the links of time index ``t`` and handset ``h`` are entries
``offsets[t*nh + h] : offsets[t*nh + h + 1]`` of the per-link arrays, in
increasing satellite order.

Formulas: elevation ``asin(d . up / |d|)`` and azimuth from north through
east in the handset's geodetic east-north-up frame (as Skyfield's
``altaz()``); range rate ``d(|d|)/dt = d . v_sat / |d|`` in ITRS, where the
handset is fixed; delay ``|d| / c``; Doppler ``f_D = -f_c (d|d|/dt) / c``
(first order; a satellite approaching the handset raises the frequency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import SPEED_OF_LIGHT_KM_S
from . import _kernels
from .handsets import Handsets
from .propagation import Ephemeris
from .timegrid import TimeGrid

#: Default carrier: centre of the PCS G block downlink, 1990-1995 MHz (the
#: band Starlink Direct to Cell uses in the US; FCC order of 26 Nov 2024).
DEFAULT_CARRIER_HZ = 1992.5e6
#: Largest angle between the geodetic and geocentric verticals on WGS84
#: (about 0.193 degrees at 45 degrees latitude), rounded up, degrees.
_MAX_VERTICAL_DEFLECTION_DEG = 0.25
#: At most this many sky cells per axis (n^3 cells are binned per time step).
_MAX_CELLS_PER_AXIS = 20


@dataclass(frozen=True)
class SkyGrid:
    cos_lam: float
    cell: float
    n: int
    group_start: np.ndarray
    group_cell: np.ndarray
    h_order: np.ndarray
    h_unit: np.ndarray

    def bin_satellites(self, position_km: np.ndarray):
        """The satellites in sky cells at every step of ``position_km`` ((nsat,
        nt, 3), NaN invalid): ``(cell_start (nt, n^3 + 1), order (nt, nsat),
        unit vectors (nt, nsat, 3))``; the valid satellites of sky cell ``b`` at
        step ``t`` are ``order[t, cell_start[t, b]:cell_start[t, b + 1]]``."""
        return _kernels.bin_satellites_steps(position_km, self.cell, self.n)

    @property
    def point_cells(self) -> np.ndarray:
        """(npoint, 3) int64: the sky cell (index per axis) of every ground point."""
        return np.minimum(((self.h_unit + 1.0) / self.cell).astype(np.int64), self.n - 1)


def max_central_angle_rad(
    sat_radius_km: float, ground_radius_km: float, min_elevation_deg: float
) -> float:
    """Largest Earth-central angle between a ground point and a satellite it
    sees at or above ``min_elevation_deg`` (spherical geometry):
    ``acos(R cos(eps) / r) - eps``. Larger ``r`` or smaller ``R`` widen it.
    """
    eps = math.radians(min_elevation_deg)
    x = ground_radius_km * math.cos(eps) / sat_radius_km
    return math.acos(min(1.0, max(-1.0, x))) - eps


def sky_grid(position_km: np.ndarray, handsets: Handsets, min_elevation_deg: float) -> SkyGrid:
    """The sky cells the link scan bins satellites into and the ground points'
    groups: satellites within ``acos(cos_lam)`` of a point (its elevation mask
    less the largest vertical deflection) lie in the 27 cells around its own."""
    h_pos = handsets.position_km
    h_norm = np.linalg.norm(h_pos, axis=1)
    h_unit = np.ascontiguousarray(h_pos / h_norm[:, None])
    with np.errstate(invalid="ignore"):
        r_norm = np.sqrt(np.einsum("ijk,ijk->ij", position_km, position_km))
    r_max = float(np.nanmax(r_norm)) if np.isfinite(r_norm).any() else 0.0
    if r_max > 0:
        lam = max_central_angle_rad(
            r_max, float(h_norm.min()), min_elevation_deg - _MAX_VERTICAL_DEFLECTION_DEG
        ) + 1e-4
    else:
        lam = 0.0
    lam = min(lam, math.pi)
    chord = 2.0 * math.sin(lam / 2.0)
    n = max(1, min(_MAX_CELLS_PER_AXIS, int(2.0 / max(chord, 1e-9))))
    cell = 2.0 / n
    idx = np.minimum(((h_unit + 1.0) / cell).astype(np.int64), n - 1)
    cell_id = (idx[:, 0] * n + idx[:, 1]) * n + idx[:, 2]
    h_order = np.argsort(cell_id, kind="stable")
    sorted_ids = cell_id[h_order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    group_start = np.r_[starts, len(sorted_ids)].astype(np.int64)
    group_cell = np.ascontiguousarray(idx[h_order[starts]])
    return SkyGrid(math.cos(lam), cell, n, group_start, group_cell, h_order, h_unit)


def _check_elevation(min_elevation_deg: float) -> float:
    from ..errors import InputError

    if not -5.0 <= min_elevation_deg < 90.0:
        raise InputError(
            f"min_elevation_deg must be in [-5, 90), got {min_elevation_deg!r}; "
            "typical direct-to-cell masks are 10-30 degrees"
        )
    return float(min_elevation_deg)


def visible_counts(
    ephemeris: Ephemeris, handsets: Handsets, min_elevation_deg: float
) -> np.ndarray:
    """Number of satellites at or above ``min_elevation_deg`` per (time, handset).

    Returns
    -------
    numpy.ndarray
        Shape ``(ntime, nh)``, int32.
    """
    return _scan(ephemeris, handsets, _check_elevation(min_elevation_deg))


def _scan(ephemeris, handsets, min_elevation_deg, grid=None, offsets=None, out=None):
    """Run :func:`_kernels.scan_links`: count (``offsets`` None) or fill."""
    if grid is None:
        grid = sky_grid(ephemeris.position_km, handsets, min_elevation_deg)
    east, north, up = handsets.enu_basis
    fill = offsets is not None
    nt, nh = ephemeris.shape[1], len(handsets)
    counts = np.zeros((0, 0) if fill else (nt, nh), dtype=np.int32)
    if not fill:
        offsets = np.zeros(1, dtype=np.int64)
        empty = np.empty(0)
        out = (np.empty(0, dtype=np.int32), empty, empty, empty, empty)
    _kernels.scan_links(
        ephemeris.position_km, ephemeris.velocity_km_s, handsets.position_km, grid.h_unit,
        east, north, up, grid.group_start, grid.group_cell, grid.h_order,
        grid.cos_lam, grid.cell, grid.n, math.sin(math.radians(min_elevation_deg)),
        fill, counts, offsets, *out,
    )
    return counts


@dataclass(frozen=True, eq=False)
class VisibleLinks:
    """Every handset-satellite pair above the elevation mask over a time grid.

    Attributes
    ----------
    times : TimeGrid
        Sample times (axis ``t``).
    n_handsets : int
        Number of handsets (axis ``h``).
    offsets : numpy.ndarray
        ``(ntime * nh + 1,)`` int64; links of (t, h) are entries
        ``offsets[t*nh+h] : offsets[t*nh+h+1]``.
    sat : numpy.ndarray
        Satellite index (constellation order) per link, int32.
    elevation_deg, azimuth_deg, range_km, range_rate_km_s : numpy.ndarray
        Per link, float64. Azimuth from north through east, [0, 360); None
        when :func:`visible_links` was asked not to compute it.
    carrier_hz : float
        Carrier frequency for :attr:`doppler_hz`.
    """

    times: TimeGrid
    n_handsets: int
    offsets: np.ndarray
    sat: np.ndarray
    elevation_deg: np.ndarray
    azimuth_deg: np.ndarray | None
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    carrier_hz: float = DEFAULT_CARRIER_HZ

    def __len__(self) -> int:
        return self.sat.size

    @property
    def counts(self) -> np.ndarray:
        """Links per (time, handset), shape ``(ntime, nh)``."""
        return np.diff(self.offsets).reshape(len(self.times), self.n_handsets)

    @property
    def time_index(self) -> np.ndarray:
        """Time index of each link."""
        flat = np.repeat(np.arange(len(self.times) * self.n_handsets), np.diff(self.offsets))
        return flat // self.n_handsets

    @property
    def handset_index(self) -> np.ndarray:
        """Handset index of each link."""
        flat = np.repeat(np.arange(len(self.times) * self.n_handsets), np.diff(self.offsets))
        return flat % self.n_handsets

    @property
    def delay_s(self) -> np.ndarray:
        """One-way propagation delay per link, seconds (range / c)."""
        return self.range_km / SPEED_OF_LIGHT_KM_S

    @property
    def doppler_hz(self) -> np.ndarray:
        """Doppler shift of the carrier per link, Hz: ``-f_c * range_rate / c``."""
        return -self.carrier_hz * self.range_rate_km_s / SPEED_OF_LIGHT_KM_S

    def of(self, t: int, h: int) -> slice:
        """The slice of the per-link arrays for time index ``t``, handset ``h``."""
        k = t * self.n_handsets + h
        return slice(int(self.offsets[k]), int(self.offsets[k + 1]))


def visible_links(
    ephemeris: Ephemeris,
    handsets: Handsets,
    min_elevation_deg: float,
    carrier_hz: float = DEFAULT_CARRIER_HZ,
    *,
    azimuth: bool = True,
) -> VisibleLinks:
    """All links above ``min_elevation_deg`` for the ephemeris' time grid.

    Memory is about 40 bytes per link; for long runs feed the ephemeris in
    chunks of time (see :func:`satsim.orbits.coverage.iter_links`). With
    ``azimuth=False`` the azimuths are not computed (``azimuth_deg`` is None):
    the link layer does not read them (one ``atan2`` and 8 bytes per link).
    """
    min_elevation_deg = _check_elevation(min_elevation_deg)
    grid = sky_grid(ephemeris.position_km, handsets, min_elevation_deg)
    counts = _scan(ephemeris, handsets, min_elevation_deg, grid)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts.ravel(), out=offsets[1:])
    total = int(offsets[-1])
    sat = np.empty(total, dtype=np.int32)
    elev, rng, rate = (np.empty(total) for _ in range(3))
    az = np.empty(total if azimuth else 0)
    _scan(ephemeris, handsets, min_elevation_deg, grid, offsets, (sat, elev, az, rng, rate))
    return VisibleLinks(
        ephemeris.times, len(handsets), offsets, sat, elev, az if azimuth else None, rng, rate,
        float(carrier_hz)
    )
