"""Earth-fixed cells: the equal-area hexagonal grid and the cell-to-satellite assignment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.constants import IUGG_MEAN_RADIUS_KM as EARTH_MEAN_RADIUS_KM
from satsim.errors import InputError
from satsim.link._cell_kernels import (
    CELL_NO_BEAM,
    CELL_NO_SATELLITE,
    CELL_SERVED,
    assign_cells,
)
from satsim.link.beams import hex_colors
from satsim.link.cells import (
    cell_grid,
    hex_centre_km,
    hex_of_point,
    laea_forward_km,
    laea_inverse_deg,
)
from satsim.orbits import Handsets


def test_equal_area_projection_round_trips():
    rng = np.random.default_rng(1)
    lat = rng.uniform(20, 55, 500)
    lon = rng.uniform(-125, -65, 500)
    x, y = laea_forward_km(lat, lon, 39.0, -96.0)
    lat2, lon2 = laea_inverse_deg(x, y, 39.0, -96.0)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)


def test_equal_area_projection_keeps_area():
    """A 1 deg x 1 deg patch at 47 N, 2,000 km from the centre, keeps its spherical
    area R^2 dlon (sin phi2 - sin phi1) to 0.01 % (Snyder 1987 §24: equal-area)."""
    lat1, lat2, lon1, lon2 = 47.0, 48.0, -120.0, -119.0
    n = 400
    lats = np.concatenate([np.full(n, lat1), np.linspace(lat1, lat2, n), np.full(n, lat2),
                           np.linspace(lat2, lat1, n)])
    lons = np.concatenate([np.linspace(lon1, lon2, n), np.full(n, lon2),
                           np.linspace(lon2, lon1, n), np.full(n, lon1)])
    x, y = laea_forward_km(lats, lons, 39.0, -96.0)
    area_plane = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    area_sphere = EARTH_MEAN_RADIUS_KM ** 2 * math.radians(1.0) * (
        math.sin(math.radians(lat2)) - math.sin(math.radians(lat1)))
    assert area_plane == pytest.approx(area_sphere, rel=1e-4)


def test_every_point_lies_in_its_hexagon_and_nearest_centre():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-300, 300, (2, 5000))
    radius = 12.0
    ij = hex_of_point(x, y, radius)
    cx, cy = hex_centre_km(ij, radius)
    d = np.hypot(x - cx, y - cy)
    assert np.all(d <= radius * (1 + 1e-12))
    # nearest centre among the cell and its six neighbours
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)):
        nx, ny = hex_centre_km(ij + np.array([di, dj]), radius)
        assert np.all(np.hypot(x - nx, y - ny) >= d - 1e-9)


@pytest.mark.parametrize("reuse", [3, 4])
def test_neighbouring_cells_never_share_a_colour(reuse):
    i, j = np.meshgrid(np.arange(-6, 7), np.arange(-6, 7))
    i, j = i.ravel(), j.ravel()
    c = hex_colors(i, j, reuse)
    assert set(np.unique(c)) == set(range(reuse))
    for di, dj in ((1, 0), (0, 1), (1, -1)):
        assert np.all(c != hex_colors(i + di, j + dj, reuse))


def test_cell_grid_over_handsets():
    h = Handsets.grid_in_box(38.0, 42.0, -100.0, -95.0, 15.0)
    g = cell_grid(h, 20.0)
    # every handset within one radius of its cell centre (great-circle)
    lat1, lon1 = np.radians(h.lat_deg), np.radians(h.lon_deg)
    lat2 = np.radians(g.centres.lat_deg[g.handset_cell])
    lon2 = np.radians(g.centres.lon_deg[g.handset_cell])
    cosd = (np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(lon1 - lon2))
    dist_km = EARTH_MEAN_RADIUS_KM * np.arccos(np.clip(cosd, -1, 1))
    assert dist_km.max() <= 20.0 * 1.02
    assert g.handsets_per_cell().sum() == len(h) and g.handsets_per_cell().min() >= 1
    with pytest.raises(InputError, match="cell_radius_km"):
        cell_grid(h, -1.0)


def _links(per_step):
    """CSR arrays from ``per_step[t][c] = [(sat, elev), ...]``."""
    offsets, sats, elevs = [0], [], []
    for step in per_step:
        for cell in step:
            for s, e in cell:
                sats.append(s)
                elevs.append(e)
            offsets.append(len(sats))
    return (np.array(offsets, dtype=np.int64), np.array(sats, dtype=np.int64),
            np.array(elevs, dtype=np.float64))


def _assign(per_step, nsat=3, cap=10, hyst=5.0, reeval=1, state=None, order=None):
    nt, ncell = len(per_step), len(per_step[0])
    offsets, sats, elevs = _links(per_step)
    state = np.full(ncell, -1, dtype=np.int64) if state is None else state
    order = np.arange(ncell, dtype=np.int64) if order is None else np.asarray(order)
    out = np.empty((nt, ncell), dtype=np.int32)
    why = np.empty((nt, ncell), dtype=np.uint8)
    every = np.arange(nt) % reeval == 0          # re-evaluate every ``reeval`` steps
    assign_cells(offsets, sats, elevs, order, nsat, 25.0, cap, hyst, every, state, out, why)
    return out, why, state


def test_assignment_takes_the_highest_and_sticks_within_hysteresis():
    steps = [
        [[(0, 60.0), (1, 40.0)]],
        [[(0, 50.0), (1, 53.0)]],   # 1 is higher, but by less than 5 deg: stay
        [[(0, 40.0), (1, 62.0)]],   # 1 higher by 22 deg: switch
        [[(0, 20.0), (1, 70.0)]],
    ]
    out, why, state = _assign(steps)
    assert out[:, 0].tolist() == [0, 0, 1, 1] and np.all(why == CELL_SERVED)
    assert state.tolist() == [1]


def test_assignment_reevaluates_only_at_its_interval():
    steps = [[[(0, 60.0), (1, 40.0)]], [[(0, 40.0), (1, 70.0)]], [[(0, 35.0), (1, 75.0)]]]
    out, _, _ = _assign(steps, reeval=2)  # re-evaluation at steps 0 and 2
    assert out[:, 0].tolist() == [0, 0, 1]


def test_assignment_leaves_a_satellite_below_the_mask():
    steps = [[[(0, 30.0), (1, 26.0)]], [[(0, 24.0), (1, 27.0)]], [[(2, 10.0)]]]
    out, why, _ = _assign(steps, hyst=50.0, reeval=100)
    assert out[:, 0].tolist() == [0, 1, -1]
    assert why[2, 0] == CELL_NO_SATELLITE


def test_beam_cap_per_satellite_is_respected_busiest_cells_first():
    # four cells all seeing satellite 0 high and satellite 1 low; cap 2 beams
    step = [[(0, 80.0), (1, 30.0)] for _ in range(4)]
    out, why, _ = _assign([step], cap=2, order=[3, 2, 1, 0])
    assert out[0].tolist() == [1, 1, 0, 0]
    assert np.all(np.bincount(out[0], minlength=2) <= 2)
    out, why, _ = _assign([[[(0, 80.0)] for _ in range(3)]], cap=2)
    assert out[0].tolist() == [0, 0, -1] and why[0, 2] == CELL_NO_BEAM


def test_assignment_state_carries_across_chunks():
    steps = [[[(0, 60.0), (1, 40.0)]], [[(0, 50.0), (1, 53.0)]], [[(0, 40.0), (1, 62.0)]]]
    whole, _, _ = _assign(steps)
    first, _, state = _assign(steps[:1])
    second, _, _ = _assign(steps[1:], state=state)
    assert np.concatenate([first, second]).tolist() == whole.tolist()


def test_fill_lights_the_cells_of_the_region_the_handsets_stand_for():
    h = Handsets.grid_in_box(38.0, 40.0, -100.0, -97.0, 50.0)
    occupied = cell_grid(h, 10.0)
    filled = cell_grid(h, 10.0, fill_km=35.0)
    assert len(filled) > 5 * len(occupied)
    # every handset keeps a cell that holds it, and the extra cells hold none
    assert filled.handsets_per_cell().sum() == len(h)
    assert (filled.handsets_per_cell() > 0).sum() == len(occupied)
    # every filled cell centre lies within the fill distance of some handset (plane)
    x, y = laea_forward_km(h.lat_deg, h.lon_deg, filled.origin_lat_deg, filled.origin_lon_deg)
    cx, cy = hex_centre_km(filled.lattice_ij, 10.0)
    d = np.hypot(cx[:, None] - x[None, :], cy[:, None] - y[None, :]).min(axis=1)
    assert d.max() <= 35.0 + 1e-9
    # and every lattice cell that close is there
    near = hex_of_point(x, y, 10.0)
    assert {tuple(c) for c in near} <= {tuple(c) for c in filled.lattice_ij}


@pytest.mark.parametrize("cap, reeval", [(10_000, 2), (3, 1), (5, 3)])
def test_a_run_finds_the_same_assignment_from_the_sky_as_from_every_link(cap, reeval):
    """``assign_cells_in_sky`` (what runs use: links found step by step, only
    those the choice reads) chooses exactly what ``assign_cells`` chooses given
    every link from every cell centre, with and without a beam cap."""
    from satsim.link._cell_kernels import assign_cells_in_sky
    from satsim.orbits import DEFAULT_EPOCH, TimeGrid, propagate, visible_links
    from satsim.orbits.geometry import sky_grid
    from satsim.orbits.walker import WalkerShell, walker_constellation

    c = walker_constellation([WalkerShell(240, 12, 1, 53.0, 360.0)], DEFAULT_EPOCH)
    eph = propagate(c, TimeGrid(DEFAULT_EPOCH, np.arange(0.0, 1800.0, 20.0)))
    grid = cell_grid(Handsets.grid_in_box(36.0, 42.0, -104.0, -96.0, 150.0), 25.0, fill_km=80.0)
    centres, nt, ncell, mask = grid.centres, eph.shape[1], grid.ncell, 25.0
    order = np.arange(ncell, dtype=np.int64)[::-1].copy()
    links = visible_links(eph, centres, mask)
    want = np.empty((nt, ncell), dtype=np.int32), np.empty((nt, ncell), dtype=np.uint8)
    state = np.full(ncell, -1, dtype=np.int64)
    assign_cells(links.offsets, links.sat.astype(np.int64), links.elevation_deg, order,
                 eph.shape[0], mask, cap, 5.0, np.arange(nt) % reeval == 0, state, *want)
    got = np.empty((nt, ncell), dtype=np.int32), np.empty((nt, ncell), dtype=np.uint8)
    state = np.full(ncell, -1, dtype=np.int64)
    sky = sky_grid(eph.position_km, centres, mask)
    east, north, up = centres.enu_basis
    assign_cells_in_sky(eph.position_km, centres.position_km, sky.h_unit, east, north, up,
                        sky.point_cells, sky.n, *sky.bin_satellites(eph.position_km),
                        sky.cos_lam, order, mask, cap, 5.0, np.arange(nt) % reeval == 0, state,
                        *got)
    served = want[0] >= 0
    assert served.mean() > 0.02 and len(np.unique(want[0][served])) > 3   # a real case
    assert (cap > 100) == (want[1] != CELL_NO_BEAM).all()   # the cap binds where set
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
