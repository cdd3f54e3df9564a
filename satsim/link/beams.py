"""Beam layouts: the beams each satellite projects, fixed to the satellite ("moving beams").

Body frame
----------
Beam directions are given in the satellite body frame, built from the
satellite's position ``r`` and velocity ``v`` (ITRS, km and km/s):

* ``z = -r / |r|``: nadir (towards the Earth's centre; the array faces nadir);
* ``x = (v - (v·z) z) / |v - (v·z) z|``: along-track, the velocity made
  orthogonal to nadir;
* ``y = z × x``: completes the right-handed frame ``x × y = z``; it points to
  the right of the ground track for an observer facing along-track with the
  head away from the Earth (south for a prograde equatorial orbit).

With the ITRS (Earth-fixed) velocity, ``x`` follows the ground track, which
differs from the inertial velocity direction by a few degrees at LEO
(the Earth's rotation); pass an inertial velocity to align with that instead.

Sine space
----------
A direction at angle ``θ`` from nadir and azimuth ``φ`` from ``x`` towards
``y`` has sine-space coordinates ``(u, v) = (sin θ cos φ, sin θ sin φ)``, i.e.
its components along ``x`` and ``y``; the component along ``z`` is
``w = sqrt(1 - u² - v²)``. The visible region (the hemisphere in front of the
array) is ``u² + v² < 1``. A phased array's beams are equally spaced in sine
space (its beam steering is linear in u, v), so layouts are lattices in
(u, v), and a beam's off-nadir angle is also its scan angle from the array
normal, ``asin(sqrt(u² + v²))``.

Hexagonal lattice
-----------------
Beam ``(i, j)`` (integer axial coordinates) sits at
``(u, v) = s (i + j/2, (√3/2) j)``, ``s = sin(spacing)``. Its six lattice
neighbours are ``(i±1, j)``, ``(i, j±1)``, ``(i+1, j-1)`` and ``(i-1, j+1)``;
its ring (hexagonal distance from nadir) is ``(|i| + |j| + |i + j|) / 2``;
ring ``r >= 1`` holds ``6 r`` beams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import TR38811_EARTH_RADIUS_KM
from ..errors import InputError

#: Steps around a hexagonal ring in axial coordinates, counter-clockwise
#: (from +u towards +v), starting from the corner ``(r, 0)``.
_RING_STEPS = ((-1, 1), (-1, 0), (0, -1), (1, -1), (1, 0), (0, 1))


@dataclass(frozen=True, eq=False)
class BeamLayout:
    """Beam boresights of one satellite in sine space of its body frame (module docstring).

    Attributes
    ----------
    uv : ndarray of float64, shape (nbeam, 2)
        Boresight sine-space coordinates ``(u, v)``.
    scan_angle_deg : ndarray of float64, shape (nbeam,)
        Boresight angle from nadir (= scan angle from the array normal),
        ``asin(sqrt(u² + v²))``, degrees.
    lattice_ij : ndarray of int64, shape (nbeam, 2)
        Axial lattice coordinates ``(i, j)`` of each beam.

    Arrays are read-only. Beam 0 is the nadir beam; beams are ordered ring by
    ring, counter-clockwise within a ring starting along-track.
    """

    uv: np.ndarray
    scan_angle_deg: np.ndarray
    lattice_ij: np.ndarray

    def __post_init__(self):
        uv = np.array(self.uv, dtype=np.float64)
        scan = np.array(self.scan_angle_deg, dtype=np.float64)
        ij = np.array(self.lattice_ij, dtype=np.int64)
        n = uv.shape[0] if uv.ndim == 2 else -1
        if uv.shape != (n, 2) or scan.shape != (n,) or ij.shape != (n, 2) or n < 1:
            raise InputError(
                "BeamLayout needs uv (nbeam, 2), scan_angle_deg (nbeam,) and lattice_ij "
                f"(nbeam, 2) with nbeam >= 1, got shapes {uv.shape}, {scan.shape}, {ij.shape}"
            )
        for name, arr in (("uv", uv), ("scan_angle_deg", scan), ("lattice_ij", ij)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def nbeam(self) -> int:
        """Number of beams."""
        return self.uv.shape[0]

    def __len__(self) -> int:
        return self.nbeam

    def colors(self, reuse: int) -> np.ndarray:
        """Frequency-reuse colour of each beam, int64 array (nbeam,) in ``0 .. reuse-1``
        (:func:`hex_colors` of the lattice coordinates)."""
        return hex_colors(self.lattice_ij[:, 0], self.lattice_ij[:, 1], reuse)


def hex_colors(i, j, reuse: int) -> np.ndarray:
    """Frequency-reuse colour of hexagonal lattice points ``(i, j)`` (axial
    coordinates), int64 in ``0 .. reuse-1``; lattice neighbours never share a
    colour for reuse 3 and 4:

    * reuse 1: all 0;
    * reuse 3: ``(i - j) mod 3``; same-colour points at least ``√3 s`` apart;
    * reuse 4: ``(i mod 2) + 2 (j mod 2)``; same-colour points at least ``2 s`` apart

    (``s`` the lattice spacing). These are the cluster sizes N = 3 and 4 of the
    hexagonal cellular layout, co-channel distance ``D = sqrt(N) s``
    (T. S. Rappaport, *Wireless Communications*, 2nd ed., ch. 3).
    """
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if reuse == 1:
        return np.zeros(i.shape, dtype=np.int64)
    if reuse == 3:
        return np.mod(i - j, 3)
    if reuse == 4:
        return np.mod(i, 2) + 2 * np.mod(j, 2)
    raise InputError(f"frequency reuse must be 1, 3 or 4, got {reuse!r}")


def _check_spacing_deg(spacing_deg) -> float:
    try:
        s = float(spacing_deg)
    except (TypeError, ValueError):
        s = float("nan")
    if not 0.0 < s < 90.0:
        raise InputError(f"beam spacing_deg must be in (0, 90) degrees, got {spacing_deg!r}")
    return s


def _hex_ring_ij(ring: int) -> list[tuple[int, int]]:
    if ring == 0:
        return [(0, 0)]
    i, j = ring, 0
    out = []
    for di, dj in _RING_STEPS:
        for _ in range(ring):
            out.append((i, j))
            i, j = i + di, j + dj
    return out


def hex_beam_layout(rings: int, spacing_deg: float) -> BeamLayout:
    """A hexagonal beam layout: a nadir beam and ``rings`` rings around it.

    ``1 + 3 rings (rings + 1)`` beams (1, 7, 19, 37, ...) on the hexagonal
    lattice of the module docstring, nearest neighbours ``sin(spacing_deg)``
    apart in sine space (``spacing_deg`` apart in angle near nadir), one
    lattice axis along-track.

    Parameters
    ----------
    rings : int
        Number of rings around the nadir beam, >= 0.
    spacing_deg : float
        Angle whose sine is the beam spacing in sine space, degrees, in (0, 90).

    Raises
    ------
    InputError
        If a beam would fall outside the visible region ``u² + v² < 1``
        (the outermost ring's corners are ``rings * sin(spacing_deg)`` from
        nadir in sine space).
    """
    if isinstance(rings, bool) or not isinstance(rings, (int, np.integer)) or rings < 0:
        raise InputError(f"rings must be a whole number >= 0, got {rings!r}")
    rings = int(rings)
    s = math.sin(math.radians(_check_spacing_deg(spacing_deg)))
    if rings * s >= 1.0:
        max_rings = math.ceil(1.0 / s) - 1
        raise InputError(
            f"a hexagonal layout of {rings} rings at {spacing_deg} degrees spacing puts beams at "
            f"sin(scan) = {rings * s:.4g} >= 1, beyond the array's visible region; use at most "
            f"{max_rings} rings at this spacing, or a smaller spacing"
        )
    ij = np.array([p for r in range(rings + 1) for p in _hex_ring_ij(r)], dtype=np.int64)
    uv = s * np.column_stack([ij[:, 0] + 0.5 * ij[:, 1], 0.5 * math.sqrt(3.0) * ij[:, 1]])
    rho = np.minimum(np.hypot(uv[:, 0], uv[:, 1]), 1.0)
    return BeamLayout(uv=uv, scan_angle_deg=np.degrees(np.arcsin(rho)), lattice_ij=ij)


def cone_beam_layout(max_scan_deg: float, spacing_deg: float) -> BeamLayout:
    """A hexagonal layout trimmed to the beams needed to cover a nadir cone.

    Keeps every lattice beam of :func:`hex_beam_layout` whose sine-space
    distance from nadir is at most ``sin(max_scan_deg) + sin(spacing_deg)/2``
    (so the cone's rim is within half a spacing of a beam centre) and inside
    the visible region; ordered ring by ring as there. Use it to cover the
    field of view down to an elevation mask (see :func:`off_nadir_angle_deg`)
    without the hexagon's corners.
    """
    if not 0.0 < max_scan_deg < 90.0:
        raise InputError(f"max_scan_deg must be in (0, 90), got {max_scan_deg!r}")
    s = math.sin(math.radians(_check_spacing_deg(spacing_deg)))
    limit = min(math.sin(math.radians(max_scan_deg)) + 0.5 * s, 1.0 - 1e-9)
    rings = int(math.ceil(limit / (s * math.sqrt(3.0) / 2.0)))
    ij = np.array([p for r in range(rings + 1) for p in _hex_ring_ij(r)], dtype=np.int64)
    uv = s * np.column_stack([ij[:, 0] + 0.5 * ij[:, 1], 0.5 * math.sqrt(3.0) * ij[:, 1]])
    rho = np.hypot(uv[:, 0], uv[:, 1])
    keep = rho <= limit
    return BeamLayout(
        uv=uv[keep], scan_angle_deg=np.degrees(np.arcsin(rho[keep])), lattice_ij=ij[keep]
    )


def _covered_radius_over_spacing(rings: int) -> float:
    """Radius of the largest nadir-centred disc (sine space, in units of the
    spacing s) inside the union of the lattice cells of a ``rings``-ring layout.

    A layout's cells (points nearer to one of its beams than to any other
    lattice site) form a hexagon-like region whose boundary comes closest to
    nadir on the normals of its edges: at the perpendicular distance
    ``d = (3 rings + 1) / (2√3)`` (outer row ``rings √3/2`` plus the cell's
    inner vertex ``1/(2√3)``), where an odd ring has a cell vertex on the
    normal, while an even ring has a beam there and the nearest vertices are
    ``1/2`` to either side (``sqrt(d² + 1/4)``). A lone beam's cell has
    inradius ``1/2``. (Checked by brute force in ``tests/test_beams.py``.)
    """
    if rings == 0:
        return 0.5
    d = (3 * rings + 1) / (2.0 * math.sqrt(3.0))
    return d if rings % 2 else math.hypot(d, 0.5)


def rings_to_cover(max_off_nadir_deg: float, spacing_deg: float) -> int:
    """Fewest rings of :func:`hex_beam_layout` whose cells cover a nadir cone.

    Every direction up to ``max_off_nadir_deg`` from nadir (sine-space radius
    ``sin(max_off_nadir_deg)``) then lies in the cell of a layout beam: it is
    nearer, in sine space, to a beam of the layout than to any lattice site
    outside it. Relate an elevation mask to the cone with
    :func:`off_nadir_angle_deg`.

    Parameters
    ----------
    max_off_nadir_deg : float
        Half-angle of the cone to cover, degrees, in [0, 90).
    spacing_deg : float
        Beam spacing as in :func:`hex_beam_layout`.

    Raises
    ------
    InputError
        If covering the cone needs beams outside the visible region.
    """
    try:
        theta = float(max_off_nadir_deg)
    except (TypeError, ValueError):
        theta = float("nan")
    if not 0.0 <= theta < 90.0:
        raise InputError(f"max_off_nadir_deg must be in [0, 90) degrees, got {max_off_nadir_deg!r}")
    s = math.sin(math.radians(_check_spacing_deg(spacing_deg)))
    rho = math.sin(math.radians(theta))
    rings = 0
    while _covered_radius_over_spacing(rings) * s < rho:
        rings += 1
    if rings * s >= 1.0:
        raise InputError(
            f"covering {theta} degrees off nadir at {spacing_deg} degrees spacing needs {rings} "
            "rings, whose outer beams fall outside the array's visible region; use a larger "
            "spacing or a smaller cone"
        )
    return rings


def off_nadir_angle_deg(elevation_deg, altitude_km,
                        earth_radius_km: float = TR38811_EARTH_RADIUS_KM):
    """Angle at the satellite between nadir and a ground point seen at ``elevation_deg``, degrees.

    Sine rule in the triangle Earth centre - ground point - satellite on a
    spherical Earth: ``sin η = R cos ε / (R + h)``.

    Parameters
    ----------
    elevation_deg : float or array_like
        Elevation of the satellite above the ground point's horizon, degrees, in [0, 90].
    altitude_km : float or array_like
        Satellite altitude above the sphere, km, > 0.
    earth_radius_km : float
        Sphere radius, km (TR 38.811's 6371 km).

    Returns
    -------
    ndarray of float64 (broadcast shape): off-nadir angle, degrees.

    Examples
    --------
    25° elevation from 360 km: 59.07° off nadir.
    """
    el = np.asarray(elevation_deg, dtype=float)
    h = np.asarray(altitude_km, dtype=float)
    if not np.all((el >= 0.0) & (el <= 90.0)):
        raise InputError(f"elevation_deg must be in [0, 90] degrees, got {elevation_deg!r}")
    if not np.all((h > 0.0) & np.isfinite(h)):
        raise InputError(f"altitude_km must be a positive number of km, got {altitude_km!r}")
    r = float(earth_radius_km)
    return np.degrees(np.arcsin(r * np.cos(np.radians(el)) / (r + h)))


def satellite_body_axes(sat_pos_km, sat_vel_km_s) -> np.ndarray:
    """Unit axes ``x`` (along-track), ``y``, ``z`` (nadir) of the body frame, in the input frame.

    Parameters
    ----------
    sat_pos_km : array_like, shape (..., 3)
        Satellite position (ITRS), km.
    sat_vel_km_s : array_like, shape (..., 3)
        Satellite velocity in the same frame, km/s; broadcast with the position.

    Returns
    -------
    ndarray of float64, shape (..., 3, 3): row 0 is ``x``, row 1 ``y``, row 2 ``z``
    (so ``axes @ d`` turns a direction ``d`` into body components ``(u, v, w)``).

    Raises
    ------
    InputError
        If a position is zero or a velocity has no component orthogonal to nadir.
    """
    r = np.asarray(sat_pos_km, dtype=float)
    vel = np.asarray(sat_vel_km_s, dtype=float)
    if r.shape[-1:] != (3,) or vel.shape[-1:] != (3,):
        raise InputError(
            f"satellite positions and velocities need a last axis of 3, got shapes {r.shape} "
            f"and {vel.shape}"
        )
    r, vel = np.broadcast_arrays(r, vel)
    r_norm = np.linalg.norm(r, axis=-1, keepdims=True)
    if not np.all(r_norm > 0.0):
        raise InputError("a satellite position is at the Earth's centre (zero vector)")
    z = -r / r_norm
    v_perp = vel - np.sum(vel * z, axis=-1, keepdims=True) * z
    v_perp_norm = np.linalg.norm(v_perp, axis=-1, keepdims=True)
    # also catches a zero velocity (0 > 0 is false)
    if not np.all(v_perp_norm > 1e-9 * np.linalg.norm(vel, axis=-1, keepdims=True)):
        raise InputError(
            "a satellite velocity is zero or parallel to its position, so the along-track axis "
            "is undefined; pass the satellite's orbital velocity"
        )
    x = v_perp / v_perp_norm
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-2)


def boresight_unit_vectors(layout: BeamLayout, sat_pos_km, sat_vel_km_s) -> np.ndarray:
    """Beam boresight unit vectors in the frame of the satellite states (ITRS).

    Boresight of beam ``b``: ``u_b x + v_b y + w_b z``,
    ``w_b = sqrt(1 - u_b² - v_b²)``, with the body axes of
    :func:`satellite_body_axes` (module docstring). The numpy reference for
    the link kernels.

    Parameters
    ----------
    layout : BeamLayout
        Beams of each satellite.
    sat_pos_km, sat_vel_km_s : array_like, shape (..., 3)
        Satellite positions (km) and velocities (km/s), broadcast together.

    Returns
    -------
    ndarray of float64, shape (..., nbeam, 3): unit vectors.
    """
    axes = satellite_body_axes(sat_pos_km, sat_vel_km_s)
    uv = layout.uv
    w = np.sqrt(np.maximum(1.0 - np.sum(uv * uv, axis=1), 0.0))
    uvw = np.column_stack([uv, w])  # (nbeam, 3)
    return uvw @ axes
