"""Earth-fixed cells: a hexagonal grid on the ground, each cell served by one beam.

SpaceX's direct-to-cell modification filing (FCC IBFS SAT-MOD-20230207-00021,
technical narrative) says beam centres stay stationary on the ground while a
satellite serves them and that one beam typically covers one user cell; AST
SpaceMobile's Block 1 filing describes hexagonal cells (24 km radius). satsim
models this as:

* **The grid**: pointy-top hexagons of circumradius ``radius_km`` (centre to
  vertex; neighbouring centres ``√3 radius_km`` apart) laid out in the Lambert
  azimuthal equal-area projection centred on the handsets' mean position
  (J. P. Snyder, *Map Projections: A Working Manual*, USGS Professional Paper
  1395, 1987, §24, eqs. 24-2 to 24-4, 20-14, 20-15; spherical form on the IUGG
  mean Earth radius). Equal-area keeps every cell the same ground area; within
  2,500 km of the centre (all of CONUS) shapes stay within about 2 % of true.
  Only cells holding at least one handset are kept: a beam is pointed only
  where there are users.
* **Axial coordinates** ``(i, j)`` as the satellite beam lattice of
  :mod:`satsim.link.beams` (centre ``√3 R (i + j/2, (√3/2) j)`` in the plane),
  so one reuse colouring (:func:`satsim.link.beams.hex_colors`) serves both:
  neighbouring cells never share a colour for reuse 3 and 4.
* **A handset's cell** is the hexagon that contains it (cube-coordinate
  rounding in the plane), which is also the nearest centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import IUGG_MEAN_RADIUS_KM
from ..errors import InputError
from ..orbits.handsets import Handsets
from .beams import hex_colors


@dataclass(frozen=True, eq=False)
class CellGrid:
    """The occupied Earth-fixed cells of a run and the cell of every handset.

    Attributes
    ----------
    centres : Handsets
        Cell centres as ground points (WGS84, height 0), ``(ncell,)``.
    lattice_ij : numpy.ndarray
        Axial coordinates of each cell, int64 ``(ncell, 2)``.
    handset_cell : numpy.ndarray
        Index of each handset's cell, int64 ``(nh,)``.
    radius_km : float
        Circumradius of every cell, km.
    origin_lat_deg, origin_lon_deg : float
        Centre of the projection, degrees.
    """

    centres: Handsets
    lattice_ij: np.ndarray
    handset_cell: np.ndarray
    radius_km: float
    origin_lat_deg: float
    origin_lon_deg: float

    @property
    def ncell(self) -> int:
        return self.lattice_ij.shape[0]

    def __len__(self) -> int:
        return self.ncell

    def colors(self, reuse: int) -> np.ndarray:
        """Frequency-reuse colour of each cell, int64 ``(ncell,)`` in ``0 .. reuse-1``."""
        return hex_colors(self.lattice_ij[:, 0], self.lattice_ij[:, 1], reuse)

    def handsets_per_cell(self) -> np.ndarray:
        """Number of handsets in each cell, int64 ``(ncell,)``."""
        return np.bincount(self.handset_cell, minlength=self.ncell)


def laea_forward_km(lat_deg, lon_deg, lat0_deg: float, lon0_deg: float):
    """Lambert azimuthal equal-area projection (sphere): ``(x_km, y_km)`` east and
    north of the centre (Snyder 1987, eqs. 24-2, 24-3, 24-4)."""
    phi, lam = np.radians(lat_deg), np.radians(lon_deg)
    phi0, lam0 = math.radians(lat0_deg), math.radians(lon0_deg)
    cos_c = math.sin(phi0) * np.sin(phi) + math.cos(phi0) * np.cos(phi) * np.cos(lam - lam0)
    if np.any(cos_c <= -1.0 + 1e-9):
        raise InputError("handsets span the whole globe: an equal-area cell grid needs them "
                         "within one hemisphere of their mean position")
    k = np.sqrt(2.0 / (1.0 + cos_c))
    x = IUGG_MEAN_RADIUS_KM * k * np.cos(phi) * np.sin(lam - lam0)
    y = IUGG_MEAN_RADIUS_KM * k * (math.cos(phi0) * np.sin(phi)
                                    - math.sin(phi0) * np.cos(phi) * np.cos(lam - lam0))
    return x, y


def laea_inverse_deg(x_km, y_km, lat0_deg: float, lon0_deg: float):
    """Inverse of :func:`laea_forward_km`: ``(lat_deg, lon_deg)`` (Snyder 1987,
    eqs. 20-14, 20-15 with 24-16)."""
    x, y = np.asarray(x_km, dtype=np.float64), np.asarray(y_km, dtype=np.float64)
    phi0, lam0 = math.radians(lat0_deg), math.radians(lon0_deg)
    rho = np.hypot(x, y)
    c = 2.0 * np.arcsin(np.clip(rho / (2.0 * IUGG_MEAN_RADIUS_KM), -1.0, 1.0))
    safe = np.where(rho > 0.0, rho, 1.0)
    sin_phi = np.cos(c) * math.sin(phi0) + np.where(rho > 0.0, y * np.sin(c) * math.cos(phi0)
                                                    / safe, 0.0)
    phi = np.arcsin(np.clip(sin_phi, -1.0, 1.0))
    lam = lam0 + np.arctan2(x * np.sin(c),
                            rho * math.cos(phi0) * np.cos(c) - y * math.sin(phi0) * np.sin(c))
    lon = (np.degrees(lam) + 180.0) % 360.0 - 180.0
    return np.degrees(phi), lon


def hex_of_point(x_km, y_km, radius_km: float) -> np.ndarray:
    """Axial coordinates ``(i, j)`` of the pointy-top hexagon (circumradius
    ``radius_km``) that contains each plane point, int64 ``(n, 2)``: the
    fractional cube coordinates rounded to the nearest lattice point."""
    q = (math.sqrt(3.0) / 3.0 * np.asarray(x_km) - np.asarray(y_km) / 3.0) / radius_km
    r = (2.0 / 3.0 * np.asarray(y_km)) / radius_km
    s = -q - r
    rq, rr, rs = np.rint(q), np.rint(r), np.rint(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return np.stack([rq, rr], axis=-1).astype(np.int64)


def hex_centre_km(lattice_ij: np.ndarray, radius_km: float):
    """Plane centre ``(x_km, y_km)`` of axial cells ``(i, j)``."""
    i, j = lattice_ij[..., 0], lattice_ij[..., 1]
    return math.sqrt(3.0) * radius_km * (i + j / 2.0), 1.5 * radius_km * j


def cell_grid(handsets: Handsets, radius_km: float, fill_km: float | None = None) -> CellGrid:
    """The hexagonal cells of circumradius ``radius_km`` that hold handsets, and
    with ``fill_km`` also every cell whose centre lies within ``fill_km`` of a
    handset (in the projection plane): cells of users the handsets stand for,
    whose beams are lit (and interfere) though no simulated phone is in them."""
    if not (isinstance(radius_km, (int, float)) and math.isfinite(radius_km)
            and radius_km > 0):
        raise InputError(f"beams.cell_radius_km must be a positive number of km, got "
                         f"{radius_km!r}")
    if len(handsets) == 0:
        raise InputError("an Earth-fixed cell grid needs at least one handset")
    # the mean direction on the projection's sphere (geodetic latitudes as spherical ones)
    lat, lon = np.radians(handsets.lat_deg), np.radians(handsets.lon_deg)
    mean = np.array([np.sum(np.cos(lat) * np.cos(lon)), np.sum(np.cos(lat) * np.sin(lon)),
                     np.sum(np.sin(lat))])
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        raise InputError("handsets are spread evenly over the globe: an Earth-fixed cell grid "
                         "needs a region (its mean position is undefined)")
    lat0 = math.degrees(math.asin(mean[2] / norm))
    lon0 = math.degrees(math.atan2(mean[1], mean[0]))
    x, y = laea_forward_km(handsets.lat_deg, handsets.lon_deg, lat0, lon0)
    ij = hex_of_point(x, y, float(radius_km))
    if fill_km:
        ij = np.concatenate([ij, _cells_near(x, y, float(radius_km), float(fill_km))])
    cells, inverse = np.unique(ij, axis=0, return_inverse=True)
    handset_cell = inverse.ravel()[:len(handsets)]
    cx, cy = hex_centre_km(cells, float(radius_km))
    lat, lon = laea_inverse_deg(cx, cy, lat0, lon0)
    centres = Handsets.from_points(lat, lon, 0.0, label=f"{len(lat)} cells of {radius_km:g} km")
    return CellGrid(centres=centres, lattice_ij=cells, handset_cell=handset_cell,
                    radius_km=float(radius_km), origin_lat_deg=lat0, origin_lon_deg=lon0)


def _cells_near(x_km, y_km, radius_km: float, fill_km: float) -> np.ndarray:
    """Axial coordinates of every cell whose centre is within ``fill_km`` of one
    of the plane points, ``(n, 2)`` (with repeats)."""
    from scipy.spatial import cKDTree

    pad = fill_km + 2.0 * radius_km
    lo = hex_of_point(np.array([x_km.min() - pad]), np.array([y_km.min() - pad]), radius_km)[0]
    hi = hex_of_point(np.array([x_km.max() + pad]), np.array([y_km.max() + pad]), radius_km)[0]
    jj = np.arange(lo[1] - 1, hi[1] + 2)
    # a row j spans i from about (x_min / (sqrt3 R) - j / 2) to (x_max / (sqrt3 R) - j / 2)
    i_lo = int(math.floor((x_km.min() - pad) / (math.sqrt(3.0) * radius_km))) - len(jj)
    i_hi = int(math.ceil((x_km.max() + pad) / (math.sqrt(3.0) * radius_km))) + len(jj)
    i, j = np.meshgrid(np.arange(i_lo, i_hi + 1), jj, indexing="ij")
    ij = np.stack([i.ravel(), j.ravel()], axis=1)
    cx, cy = hex_centre_km(ij, radius_km)
    inside = (cx >= x_km.min() - pad) & (cx <= x_km.max() + pad)
    ij, cx, cy = ij[inside], cx[inside], cy[inside]
    dist, _ = cKDTree(np.stack([x_km, y_km], axis=1)).query(np.stack([cx, cy], axis=1))
    return ij[dist <= fill_km]
