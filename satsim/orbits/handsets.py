"""Handsets: fixed ground points on the WGS84 ellipsoid.

Positions are geodetic latitude / longitude (degrees) and height above the
ellipsoid (metres). Their Earth-fixed (ITRS) positions come from Skyfield's
``wgs84`` model (NIMA TR8350.2 constants, a = 6378.137 km,
1/f = 298.257223563), and elevation / azimuth are measured in the local
geodetic east-north-up frame, as Skyfield's ``altaz()`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..constants import IUGG_MEAN_RADIUS_KM
from ..errors import InputError


@dataclass(frozen=True, eq=False)
class Handsets:
    """A set of stationary handsets.

    Attributes
    ----------
    lat_deg, lon_deg : numpy.ndarray
        Geodetic latitude in [-90, 90] and longitude in [-180, 180], degrees,
        shape ``(nh,)``.
    alt_m : numpy.ndarray
        Height above the WGS84 ellipsoid, metres, shape ``(nh,)``.
    label : str
        A short description for reports (``"grid over CONUS, 52 km"``).
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray = field(default=None)
    label: str = "handsets"

    def __post_init__(self):
        lat = np.atleast_1d(np.asarray(self.lat_deg, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(self.lon_deg, dtype=np.float64))
        alt = np.zeros_like(lat) if self.alt_m is None else np.asarray(self.alt_m, dtype=np.float64)
        alt = np.broadcast_to(alt, lat.shape).copy()
        if lat.shape != lon.shape or lat.ndim != 1:
            raise InputError(
                f"handset latitudes ({lat.shape}) and longitudes ({lon.shape}) must be "
                "1-D arrays of the same length"
            )
        lon = (lon + 180.0) % 360.0 - 180.0
        _check_range("lat_deg", lat, -90.0, 90.0, "latitudes are geodetic degrees, south negative")
        _check_range("alt_m", alt, -500.0, 20000.0, "heights are metres above the WGS84 ellipsoid")
        object.__setattr__(self, "lat_deg", lat)
        object.__setattr__(self, "lon_deg", lon)
        object.__setattr__(self, "alt_m", alt)

    def __len__(self) -> int:
        return self.lat_deg.size

    def __repr__(self) -> str:
        return f"Handsets({len(self)}: {self.label})"

    def __getitem__(self, index) -> Handsets:
        return Handsets(
            np.atleast_1d(self.lat_deg[index]),
            np.atleast_1d(self.lon_deg[index]),
            np.atleast_1d(self.alt_m[index]),
            label=self.label,
        )

    @cached_property
    def position_km(self) -> np.ndarray:
        """ITRS (Earth-fixed) positions, shape ``(nh, 3)``, km (Skyfield ``wgs84``)."""
        from skyfield.api import wgs84

        pos = wgs84.latlon(self.lat_deg, self.lon_deg, elevation_m=self.alt_m)
        return np.ascontiguousarray(np.asarray(pos.itrs_xyz.km).reshape(3, -1).T)

    @cached_property
    def enu_basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit vectors east, north and up (geodetic normal), each ``(nh, 3)``."""
        lat = np.radians(self.lat_deg)
        lon = np.radians(self.lon_deg)
        sl, cl = np.sin(lat), np.cos(lat)
        so, co = np.sin(lon), np.cos(lon)
        east = np.stack([-so, co, np.zeros_like(so)], axis=1)
        north = np.stack([-sl * co, -sl * so, cl], axis=1)
        up = np.stack([cl * co, cl * so, sl], axis=1)
        return east, north, up

    # -- constructors ------------------------------------------------------
    @classmethod
    def from_points(cls, lat_deg, lon_deg, alt_m=0.0, label: str = "points") -> Handsets:
        """Handsets at the given coordinates."""
        return cls(np.asarray(lat_deg, float), np.asarray(lon_deg, float), alt_m, label=label)

    @classmethod
    def grid_in_box(
        cls,
        lat_min_deg: float,
        lat_max_deg: float,
        lon_min_deg: float,
        lon_max_deg: float,
        spacing_km: float,
    ) -> Handsets:
        """Handsets on a near-equal-area grid over a latitude/longitude box.

        Rows are ``spacing_km`` apart in latitude; along each row points are
        ``spacing_km`` apart on the ground, so every handset stands for about
        ``spacing_km**2`` of area and averages over handsets are area averages.
        """
        if not lat_min_deg < lat_max_deg or not -90 <= lat_min_deg <= 90 or not -90 <= lat_max_deg <= 90:
            raise InputError(
                f"box latitudes must satisfy -90 <= lat_min_deg < lat_max_deg <= 90, got "
                f"{lat_min_deg}, {lat_max_deg}"
            )
        if not lon_min_deg < lon_max_deg:
            raise InputError(
                f"box longitudes must satisfy lon_min_deg < lon_max_deg, got {lon_min_deg}, "
                f"{lon_max_deg} (for a box across the antimeridian use lon_max_deg > 180)"
            )
        lat, lon = _area_grid(lat_min_deg, lat_max_deg, lon_min_deg, lon_max_deg, spacing_km)
        if lat.size == 0:
            raise InputError(
                f"no grid point of spacing {spacing_km:g} km falls inside the box "
                f"{lat_min_deg:g}..{lat_max_deg:g}°N, {lon_min_deg:g}..{lon_max_deg:g}°E (the "
                f"first row and column are half a spacing in); use a spacing_km below the "
                f"box's height and width ({_box_size_km(lat_min_deg, lat_max_deg, lon_min_deg, lon_max_deg)}), "
                "or a larger box")
        return cls(lat, lon, label=f"grid {lat_min_deg:g}..{lat_max_deg:g}°N, "
                   f"{lon_min_deg:g}..{lon_max_deg:g}°E, {spacing_km:g} km")

    @classmethod
    def grid_in_polygon(
        cls, polygon_lon_lat_deg, spacing_km: float, label: str = "polygon"
    ) -> Handsets:
        """Handsets on a near-equal-area grid inside a lon/lat polygon.

        ``polygon_lon_lat_deg`` is a sequence of ``(lon, lat)`` vertices in
        degrees (not crossing the antimeridian). Point-in-polygon uses
        matplotlib's ``Path.contains_points``.
        """
        from matplotlib.path import Path

        poly = np.asarray(polygon_lon_lat_deg, dtype=np.float64)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
            raise InputError("a polygon needs at least 3 (lon, lat) vertices")
        lat, lon = _area_grid(
            poly[:, 1].min(), poly[:, 1].max(), poly[:, 0].min(), poly[:, 0].max(), spacing_km
        )
        inside = Path(poly).contains_points(np.column_stack([lon, lat]))
        if not inside.any():
            raise InputError(
                f"no grid point of spacing {spacing_km} km falls inside the polygon; "
                "use a smaller spacing_km"
            )
        return cls(lat[inside], lon[inside], label=f"{label}, grid {spacing_km:g} km")

    @classmethod
    def random_in_box(
        cls,
        count: int,
        lat_min_deg: float,
        lat_max_deg: float,
        lon_min_deg: float,
        lon_max_deg: float,
        seed: int | np.random.Generator = 0,
    ) -> Handsets:
        """``count`` handsets uniform in area over a box, from a seeded generator."""
        if count < 1:
            raise InputError(f"count must be >= 1, got {count}")
        rng = np.random.default_rng(seed)
        z = rng.uniform(np.sin(np.radians(lat_min_deg)), np.sin(np.radians(lat_max_deg)), count)
        lat = np.degrees(np.arcsin(z))
        lon = rng.uniform(lon_min_deg, lon_max_deg, count)
        return cls(lat, lon, label=f"{count} random in box")


def _check_range(name, values, lo, hi, hint):
    bad = np.flatnonzero(~((values >= lo) & (values <= hi)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"handset {name}[{i}] = {values[i]!r} is outside [{lo:g}, {hi:g}] "
            f"({bad.size} value(s) out of range); {hint}"
        )


#: Most handsets a grid placement may make (about 3 bytes x 10^8 per step-handset
#: pair would follow); beyond it the spacing is surely a typo.
MAX_GRID_HANDSETS = 20_000_000


def grid_count(lat_min, lat_max, lon_min, lon_max, spacing_km) -> float:
    """About how many handsets a grid ``spacing_km`` apart puts in a box
    (its area on the mean sphere over ``spacing_km**2``)."""
    r = IUGG_MEAN_RADIUS_KM
    area_km2 = (r * r * np.radians(lon_max - lon_min)
                * abs(np.sin(np.radians(lat_max)) - np.sin(np.radians(lat_min))))
    return float(area_km2 / spacing_km**2)


def _box_size_km(lat_min, lat_max, lon_min, lon_max) -> str:
    height = np.radians(lat_max - lat_min) * IUGG_MEAN_RADIUS_KM
    mid = np.cos(np.radians(0.5 * (lat_min + lat_max)))
    width = np.radians(lon_max - lon_min) * IUGG_MEAN_RADIUS_KM * mid
    return f"{height:,.0f} km x {width:,.0f} km"


def _area_grid(lat_min, lat_max, lon_min, lon_max, spacing_km):
    if not spacing_km > 0:
        raise InputError(f"spacing_km must be > 0, got {spacing_km!r}")
    n = grid_count(lat_min, lat_max, lon_min, lon_max, spacing_km)
    if n > MAX_GRID_HANDSETS:
        raise InputError(f"a grid {spacing_km:g} km apart over this area would hold about "
                         f"{n:,.0f} handsets (at most {MAX_GRID_HANDSETS:,}); use a larger "
                         "spacing_km")
    dlat = np.degrees(spacing_km / IUGG_MEAN_RADIUS_KM)  # ground distance: mean radius
    rows = np.arange(lat_min + dlat / 2, lat_max, dlat)
    lats, lons = [], []
    for lat in rows:  # one row per latitude band: cheap set-up, not a hot path
        circ = np.cos(np.radians(lat))
        dlon = dlat / max(circ, 1e-6)
        row = np.arange(lon_min + dlon / 2, lon_max, dlon)
        lats.append(np.full(row.size, lat))
        lons.append(row)
    if not lats:
        return np.empty(0), np.empty(0)
    return np.concatenate(lats), np.concatenate(lons)
