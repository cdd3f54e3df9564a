"""Hexagonal beam layouts in sine space, reuse colouring, and boresights in ITRS.

Checks are geometric identities, not printed reference values:

* a hexagonal layout of R rings has 1 + 3 R (R + 1) beams;
* reuse colourings: no two lattice neighbours share a colour, and same-colour
  beams are at least the co-channel distance D = sqrt(N) s apart (cluster
  size N, hexagonal cells of circumradius s/√3: D/R = sqrt(3 N), T. S.
  Rappaport, *Wireless Communications*, 2nd ed., ch. 3);
* boresights: unit vectors whose angle from nadir is the beam's scan angle;
* off-nadir angle from elevation: the Earth centre - ground - satellite
  triangle solved independently with TR 38.811's slant range (eq. 6.6-3) and
  the law of cosines; angles to 1e-9 degrees.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim import InputError
from satsim.constants import TR38811_EARTH_RADIUS_KM
from satsim.link.beams import (
    BeamLayout,
    boresight_unit_vectors,
    hex_beam_layout,
    off_nadir_angle_deg,
    rings_to_cover,
    satellite_body_axes,
)

SPACING_DEG = 4.4127  # TR 38.821 LEO-600 S-band beamwidth, a plausible spacing


def _pair_distances(uv):
    d = uv[:, None, :] - uv[None, :, :]
    return np.hypot(d[..., 0], d[..., 1])


def _hex_ring(ij):
    i, j = ij[:, 0], ij[:, 1]
    return (np.abs(i) + np.abs(j) + np.abs(i + j)) // 2


@pytest.mark.parametrize("rings, count", [(0, 1), (1, 7), (2, 19), (3, 37), (10, 331)])
def test_beam_counts_and_order(rings, count):
    layout = hex_beam_layout(rings, SPACING_DEG)
    assert layout.nbeam == len(layout) == count
    assert layout.uv.shape == (count, 2) and layout.uv.dtype == np.float64
    assert layout.scan_angle_deg.shape == (count,)
    assert layout.lattice_ij.shape == (count, 2) and layout.lattice_ij.dtype.kind == "i"
    np.testing.assert_array_equal(layout.uv[0], [0.0, 0.0])
    ring = _hex_ring(layout.lattice_ij)
    assert np.all(np.diff(ring) >= 0)  # ring by ring
    assert np.array_equal(np.bincount(ring), [1] + [6 * r for r in range(1, rings + 1)])
    assert len({tuple(p) for p in layout.lattice_ij}) == count  # no duplicates
    # within a ring: counter-clockwise from along-track (+u)
    for r in range(1, rings + 1):
        uv = layout.uv[ring == r]
        phi = np.arctan2(uv[:, 1], uv[:, 0]) % (2 * np.pi)
        assert phi[0] == pytest.approx(0.0, abs=1e-12) and np.all(np.diff(phi) > 0)


def test_nearest_neighbour_spacing_is_the_sine_of_the_spacing():
    s = math.sin(math.radians(SPACING_DEG))
    layout = hex_beam_layout(4, SPACING_DEG)
    d = _pair_distances(layout.uv)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(d.min(axis=1), s, rtol=1e-12)
    inner = _hex_ring(layout.lattice_ij) < 4
    n_neighbours = (np.abs(d - s) < 1e-9 * s).sum(axis=1)
    assert np.all(n_neighbours[inner] == 6)  # hexagonal lattice
    # scan angle is asin of the sine-space radius; along-track beam 1 on the +u axis
    rho = np.hypot(layout.uv[:, 0], layout.uv[:, 1])
    np.testing.assert_allclose(np.sin(np.radians(layout.scan_angle_deg)), rho, rtol=0, atol=1e-15)
    np.testing.assert_allclose(layout.uv[1], [s, 0.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("reuse, min_same_colour_distance", [(3, math.sqrt(3.0)), (4, 2.0)])
def test_reuse_colouring(reuse, min_same_colour_distance):
    s = math.sin(math.radians(SPACING_DEG))
    layout = hex_beam_layout(10, SPACING_DEG)
    colours = layout.colors(reuse)
    assert colours.shape == (layout.nbeam,) and colours.dtype.kind == "i"
    assert set(colours.tolist()) == set(range(reuse))
    d = _pair_distances(layout.uv) / s
    same = colours[:, None] == colours[None, :]
    np.fill_diagonal(same, False)
    neighbours = np.abs(d - 1.0) < 1e-9
    assert neighbours.sum() == 2 * 3 * 10 * (3 * 10 + 1)  # 3 R (3R + 1) edges, both ways
    assert not np.any(same & neighbours)
    assert d[same].min() == pytest.approx(min_same_colour_distance, rel=1e-12)
    # equal use up to edge effects: a colour's excess over nbeam / reuse is at most the
    # outer ring's share (6 R / reuse beams) ...
    for rings in (3, 10, 30):
        lay = hex_beam_layout(rings, 1.0)
        counts = np.bincount(lay.colors(reuse), minlength=reuse)
        assert np.abs(counts - lay.nbeam / reuse).max() <= 6 * rings / reuse, counts
    # ... and exactly equal on a periodic patch of the lattice (a 12 x 12 parallelogram)
    ij = np.array([(i, j) for i in range(-6, 6) for j in range(-6, 6)])
    patch = BeamLayout(uv=np.zeros((144, 2)), scan_angle_deg=np.zeros(144), lattice_ij=ij)
    np.testing.assert_array_equal(np.bincount(patch.colors(reuse)), 144 // reuse)


def test_reuse_1_and_bad_reuse():
    layout = hex_beam_layout(2, SPACING_DEG)
    np.testing.assert_array_equal(layout.colors(1), 0)
    with pytest.raises(InputError, match="1, 3 or 4"):
        layout.colors(7)


def test_layouts_outside_the_visible_region_are_rejected():
    s = math.sin(math.radians(20.0))  # 0.342: 2 rings fit, 3 reach 1.026
    assert hex_beam_layout(2, 20.0).scan_angle_deg.max() == pytest.approx(
        math.degrees(math.asin(2 * s))
    )
    with pytest.raises(InputError, match="at most 2 rings"):
        hex_beam_layout(3, 20.0)
    with pytest.raises(InputError, match="rings"):
        hex_beam_layout(-1, 4.0)
    with pytest.raises(InputError, match="rings"):
        hex_beam_layout(2.5, 4.0)
    with pytest.raises(InputError, match="spacing_deg"):
        hex_beam_layout(2, 0.0)
    with pytest.raises(InputError, match="spacing_deg"):
        hex_beam_layout(2, 90.0)


def test_layout_arrays_are_read_only():
    layout = hex_beam_layout(1, SPACING_DEG)
    with pytest.raises(ValueError):
        layout.uv[0, 0] = 0.1
    with pytest.raises(InputError, match="shapes"):
        BeamLayout(uv=np.zeros((3, 2)), scan_angle_deg=np.zeros(2), lattice_ij=np.zeros((3, 2)))


def _states():
    """A few LEO states (ITRS-like km, km/s): equatorial, inclined, and a random batch."""
    rng = np.random.default_rng(3)
    r0 = np.array([6731.0, 0.0, 0.0])
    v0 = np.array([0.0, 7.6, 0.0])
    r = rng.normal(size=(5, 3))
    r = 6900.0 * r / np.linalg.norm(r, axis=1, keepdims=True)
    v = np.cross(rng.normal(size=(5, 3)), r)
    v = 7.5 * v / np.linalg.norm(v, axis=1, keepdims=True) + 0.3 * r / 6900.0  # a little radial
    return np.vstack([r0, r]), np.vstack([v0, v])


def test_boresights_in_the_body_frame():
    layout = hex_beam_layout(3, SPACING_DEG)
    pos, vel = _states()
    d = boresight_unit_vectors(layout, pos, vel)
    assert d.shape == (len(pos), layout.nbeam, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0, rtol=0, atol=1e-14)
    nadir = -pos / np.linalg.norm(pos, axis=1, keepdims=True)
    np.testing.assert_allclose(d[:, 0], nadir, rtol=0, atol=1e-14)  # centre beam at nadir
    cos_angle = np.einsum("snk,sk->sn", d, nadir)
    sin_angle = np.linalg.norm(np.cross(d, nadir[:, None, :]), axis=-1)
    angle = np.degrees(np.arctan2(sin_angle, cos_angle))  # well conditioned near 0
    scan = np.broadcast_to(layout.scan_angle_deg, angle.shape)
    np.testing.assert_allclose(angle, scan, rtol=0, atol=1e-12)
    # the along-track beam (v = 0, u > 0) tilts toward the velocity
    along = np.flatnonzero((np.abs(layout.uv[:, 1]) < 1e-15) & (layout.uv[:, 0] > 0))
    assert along.size == 3
    v_perp = vel - np.einsum("sk,sk->s", vel, nadir)[:, None] * nadir
    v_hat = v_perp / np.linalg.norm(v_perp, axis=1, keepdims=True)
    for b in along:
        tilt = d[:, b] - nadir * np.einsum("sk,sk->s", d[:, b], nadir)[:, None]
        np.testing.assert_allclose(
            np.einsum("sk,sk->s", tilt, v_hat), layout.uv[b, 0], rtol=0, atol=1e-14
        )
        np.testing.assert_allclose(np.einsum("sk,sk->s", d[:, b], vel) > 0, True)
    # equatorial prograde orbit: +v beams (y axis) lie to the right of the track, i.e. south
    y_beam = np.flatnonzero((np.abs(layout.uv[:, 0]) < 1e-12) & (layout.uv[:, 1] > 0))[0]
    assert d[0, y_beam, 2] < 0


def test_body_axes_are_a_right_handed_orthonormal_frame():
    pos, vel = _states()
    axes = satellite_body_axes(pos, vel)
    assert axes.shape == (len(pos), 3, 3)
    gram = axes @ np.swapaxes(axes, -1, -2)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(3), axes.shape), atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(axes), 1.0, atol=1e-14)
    np.testing.assert_allclose(axes[0], [[0, 1, 0], [0, 0, -1], [-1, 0, 0]], atol=1e-15)


def test_boresights_broadcast_over_leading_axes():
    layout = hex_beam_layout(2, SPACING_DEG)
    pos, vel = _states()
    pos4 = np.broadcast_to(pos[:4], (2, 4, 3))
    d = boresight_unit_vectors(layout, pos4, vel[:4])  # velocities broadcast against (2, 4, 3)
    assert d.shape == (2, 4, layout.nbeam, 3)
    for k in range(4):
        one = boresight_unit_vectors(layout, pos[k], vel[k])
        np.testing.assert_allclose(d[1, k], one, rtol=0, atol=1e-15)


def test_degenerate_states_are_rejected():
    layout = hex_beam_layout(1, SPACING_DEG)
    with pytest.raises(InputError, match="along-track"):
        boresight_unit_vectors(layout, [7000.0, 0, 0], [1.0, 0, 0])  # radial velocity
    with pytest.raises(InputError, match="along-track"):
        boresight_unit_vectors(layout, [7000.0, 0, 0], [0.0, 0, 0])
    with pytest.raises(InputError, match="centre"):
        boresight_unit_vectors(layout, [0.0, 0, 0], [0.0, 7.5, 0])
    with pytest.raises(InputError, match="last axis of 3"):
        boresight_unit_vectors(layout, [7000.0, 0], [0.0, 7.5])


def _off_nadir_by_triangle(el_deg, h_km, r_km=TR38811_EARTH_RADIUS_KM):
    """Off-nadir angle from the slant range (TR 38.811 eq. 6.6-3) and the law of cosines."""
    el = np.radians(el_deg)
    d = np.sqrt(r_km**2 * np.sin(el) ** 2 + h_km**2 + 2 * h_km * r_km) - r_km * np.sin(el)
    rs = r_km + h_km
    return np.degrees(np.arccos((rs**2 + d**2 - r_km**2) / (2 * rs * d)))


def test_off_nadir_angle_from_elevation():
    eta = off_nadir_angle_deg(25.0, 360.0)
    assert eta == pytest.approx(59.07, abs=0.01)  # ≈ 59.1 deg
    # sine rule: sin(eta) / R = sin(90 + el) / (R + h)
    assert math.sin(math.radians(eta)) / TR38811_EARTH_RADIUS_KM == pytest.approx(
        math.cos(math.radians(25.0)) / (TR38811_EARTH_RADIUS_KM + 360.0), rel=1e-14
    )
    el = np.array([0.0, 10.0, 25.0, 30.0, 60.0, 89.0])[:, None]
    h = np.array([360.0, 550.0, 1200.0])
    got = off_nadir_angle_deg(el, h)
    assert got.shape == (6, 3)
    np.testing.assert_allclose(got, _off_nadir_by_triangle(el, h), rtol=0, atol=1e-9)
    assert off_nadir_angle_deg(90.0, 550.0) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="elevation_deg"):
        off_nadir_angle_deg(-5.0, 550.0)
    with pytest.raises(InputError, match="altitude_km"):
        off_nadir_angle_deg(30.0, 0.0)


def _nearest_site_ring(points, rings_max):
    """Hexagonal ring of the nearest lattice site to each sine-space point (spacing 1)."""
    span = range(-rings_max, rings_max + 1)
    ij = np.array([(i, j) for i in span for j in span])
    ij = ij[_hex_ring(ij) <= rings_max]
    xy = np.column_stack([ij[:, 0] + 0.5 * ij[:, 1], 0.5 * math.sqrt(3.0) * ij[:, 1]])
    d2 = ((points[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
    return _hex_ring(ij)[d2.argmin(axis=1)]


@pytest.mark.parametrize("max_off_nadir_deg", [0.0, 1.0, 5.0, 9.0, 14.0, 20.0, 50.0])
def test_rings_to_cover_is_the_fewest_covering_rings(max_off_nadir_deg):
    spacing = 4.0 if max_off_nadir_deg < 30 else 12.0
    rings = rings_to_cover(max_off_nadir_deg, spacing)
    s = math.sin(math.radians(spacing))
    rho = math.sin(math.radians(max_off_nadir_deg)) / s  # cone radius in units of the spacing
    # brute force: every direction of the cone is nearest to a site of ring <= rings ...
    phi = np.linspace(0.0, 2 * np.pi, 2001)
    radii = np.linspace(0.0, rho, 11)
    pts = (radii[:, None, None] * np.stack([np.cos(phi), np.sin(phi)], axis=-1)).reshape(-1, 2)
    ring = _nearest_site_ring(pts, rings + 2)
    assert ring.max() <= rings
    # ... and with one ring fewer some direction (on the rim) is not
    if rings > 0:
        assert ring[-phi.size :].max() == rings
    hex_beam_layout(rings, spacing)  # and the layout is valid


def test_rings_to_cover_examples_and_errors():
    assert rings_to_cover(0.0, 4.0) == 0
    # the lone nadir beam covers up to half a spacing (its cell's inradius)
    half_spacing_deg = math.degrees(math.asin(0.5 * math.sin(math.radians(4.0))))
    assert rings_to_cover(half_spacing_deg - 1e-9, 4.0) == 0
    assert rings_to_cover(half_spacing_deg + 1e-9, 4.0) == 1
    # 40 deg elevation mask from 550 km (44.8 deg off nadir) with 4.4127 deg beams:
    # sin(44.8) / sin(4.4127) = 9.17 spacings; 10 rings cover 8.96, 11 rings 9.81
    eta = float(off_nadir_angle_deg(40.0, 550.0))
    assert rings_to_cover(eta, SPACING_DEG) == 11
    # a 25 deg mask from 360 km (59.07 deg) needs 13 rings, whose corners reach
    # 13 sin(4.4127) = 1.0002 > 1: no such layout
    with pytest.raises(InputError, match="visible region"):
        rings_to_cover(float(off_nadir_angle_deg(25.0, 360.0)), SPACING_DEG)
    with pytest.raises(InputError, match="visible region"):
        rings_to_cover(85.0, 40.0)
    with pytest.raises(InputError, match="max_off_nadir_deg"):
        rings_to_cover(90.0, 4.0)
    with pytest.raises(InputError, match="spacing_deg"):
        rings_to_cover(10.0, -1.0)


def test_cone_layout_covers_the_field_of_view():
    from satsim.link.beams import cone_beam_layout, off_nadir_angle_deg

    eta = off_nadir_angle_deg(25.0, 360.0)
    spacing = 8.83
    layout = cone_beam_layout(eta, spacing)
    s = np.sin(np.radians(spacing))
    # every direction of the cone is within one spacing (sine space) of a beam
    rng = np.random.default_rng(0)
    rho = np.sin(np.radians(eta)) * np.sqrt(rng.random(4000))
    phi = rng.uniform(0, 2 * np.pi, 4000)
    pts = np.column_stack([rho * np.cos(phi), rho * np.sin(phi)])
    d = np.linalg.norm(pts[:, None, :] - layout.uv[None, :, :], axis=2).min(axis=1)
    assert d.max() <= s / np.sqrt(3) + 1e-9  # hex cell circumradius
    # and it is a trimmed hexagonal layout: nadir beam first, no beam outside the visible region
    assert np.allclose(layout.uv[0], 0) and (np.hypot(*layout.uv.T) < 1).all()
    assert layout.nbeam < 1 + 3 * 7 * 8
