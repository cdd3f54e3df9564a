"""Handset geometry against Skyfield and against brute force.

Reference: Skyfield's ``(satellite - topos).at(t).altaz()`` (geodetic
east-north-up, WGS84), evaluated per satellite; tolerances 1 m in range and
1e-5 degrees in elevation and azimuth.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from satsim.orbits import Handsets, TimeGrid, load_tle, propagate, visible_counts, visible_links
from satsim.constants import SPEED_OF_LIGHT_KM_S
from satsim.orbits.walker import WalkerShell, walker_constellation

EPOCH = datetime(2025, 10, 27, tzinfo=timezone.utc)

SITES = Handsets.from_points(
    # Kansas, Seattle (hill), Miami, Anchorage, Svalbard, south of NZ, on the antimeridian
    [38.5, 47.6, 25.8, 61.2, 78.2, -48.0, 10.0],
    [-98.0, -122.3, -80.2, -149.9, 15.6, 170.0, 180.0],
    [400.0, 150.0, 2.0, 30.0, 10.0, 0.0, 0.0],
)


def _skyfield_altaz(satrec, site_index, times):
    from skyfield.api import EarthSatellite, wgs84

    from satsim.orbits.timegrid import timescale

    sat = EarthSatellite.from_satrec(satrec, timescale())
    topos = wgs84.latlon(
        SITES.lat_deg[site_index], SITES.lon_deg[site_index], elevation_m=SITES.alt_m[site_index]
    )
    alt, az, dist = (sat - topos).at(times.skyfield()).altaz()
    return alt.degrees, az.degrees, dist.km


def test_handset_positions_match_skyfield_wgs84():
    from skyfield.api import wgs84

    ref = wgs84.latlon(SITES.lat_deg, SITES.lon_deg, elevation_m=SITES.alt_m).itrs_xyz.km.T
    np.testing.assert_allclose(SITES.position_km, ref, rtol=0, atol=1e-9)


def test_elevation_azimuth_range_match_skyfield_altaz(shared_tle_dir):
    c = load_tle(shared_tle_dir / "starlink_dtc_2025-300.tle")
    times = TimeGrid.from_duration(EPOCH, 3 * 3600, 30.0)
    eph = propagate(c, times)
    links = visible_links(eph, SITES, min_elevation_deg=10.0)
    assert len(links) > 1000
    t_idx, h_idx = links.time_index, links.handset_index
    pairs = np.unique(np.column_stack([links.sat, h_idx]), axis=0)
    for s, h in pairs[:: max(1, len(pairs) // 60)]:  # ~60 satellite-site pairs
        alt, az, dist = _skyfield_altaz(c.satrecs[s], h, times)
        sel = (links.sat == s) & (h_idx == h)
        t = t_idx[sel]
        np.testing.assert_allclose(links.elevation_deg[sel], alt[t], rtol=0, atol=1e-5)
        daz = (links.azimuth_deg[sel] - az[t] + 180.0) % 360.0 - 180.0
        assert np.abs(daz).max() < 1e-5
        np.testing.assert_allclose(links.range_km[sel], dist[t], rtol=0, atol=1e-3)
        # every sample above the mask in Skyfield is a link here, and no other
        above = np.flatnonzero(alt >= 10.0)
        assert np.array_equal(np.sort(t), above)


def test_range_rate_delay_and_doppler():
    c = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], EPOCH)
    dt = 0.05
    base = np.arange(10.0, 7200.0, 60.0)
    offsets = np.sort(np.concatenate([base - dt, base, base + dt]))
    eph = propagate(c, TimeGrid(EPOCH, offsets))
    site = SITES[[0]]
    links = visible_links(eph, site, min_elevation_deg=0.0, carrier_hz=2.0e9)
    rng = np.linalg.norm(eph.position_km - site.position_km[0], axis=2)  # (nsat, ntime)
    t = links.time_index
    mid = t % 3 == 1
    s, tm = links.sat[mid], t[mid]
    assert s.size > 50
    fd = (rng[s, tm + 1] - rng[s, tm - 1]) / (2 * dt)
    # SGP4's own velocity is consistent with its position to ~1 cm/s (see
    # test_propagation); 5 cm/s is 0.33 Hz of Doppler at 2 GHz.
    np.testing.assert_allclose(links.range_rate_km_s[mid], fd, rtol=0, atol=5e-5)
    np.testing.assert_allclose(links.delay_s, links.range_km / SPEED_OF_LIGHT_KM_S)
    np.testing.assert_allclose(
        links.doppler_hz[mid], -2.0e9 * fd / SPEED_OF_LIGHT_KM_S, rtol=0, atol=0.35
    )
    # an approaching satellite (range shrinking) raises the received frequency
    assert (links.doppler_hz[links.range_rate_km_s < 0] > 0).all()
    # a 550 km LEO seen from the ground: |Doppler| at 2 GHz stays below ~48 kHz
    assert np.abs(links.doppler_hz).max() < 50e3


def _brute_force_counts(eph, handsets, min_el):
    east, north, up = handsets.enu_basis
    d = eph.position_km[None, :, :, :] - handsets.position_km[:, None, None, :]
    with np.errstate(invalid="ignore"):
        sin_el = np.einsum("hstk,hk->hst", d, up) / np.linalg.norm(d, axis=3)
    return (sin_el >= np.sin(np.radians(min_el))).sum(axis=1).T  # (ntime, nh)


@pytest.mark.parametrize(
    "shells, min_el",
    [
        ([WalkerShell(648, 24, 1, 53.0, 360.0)], 25.0),
        ([WalkerShell(66, 6, 2, 86.4, 780.0, pattern="star")], 0.0),  # Iridium-like
        ([WalkerShell(40, 8, 3, 52.0, 1414.0)], 10.0),  # Globalstar-like, wide footprints
        ([WalkerShell(24, 3, 1, 56.0, 23222.0)], 5.0),  # MEO: footprint larger than a cell
    ],
)
def test_pruned_counts_equal_brute_force(shells, min_el):
    c = walker_constellation(shells, EPOCH)
    times = TimeGrid.from_duration(EPOCH, 1800, 120.0)
    eph = propagate(c, times)
    rng = np.random.default_rng(7)
    n = 400
    z = rng.uniform(-1, 1, n)
    h = Handsets(
        np.degrees(np.arcsin(z)),
        rng.uniform(-180, 180, n),
        rng.uniform(-100, 3000, n),
    )
    h = Handsets(  # add both poles and the antimeridian
        np.r_[h.lat_deg, 90.0, -90.0, 0.0], np.r_[h.lon_deg, 0.0, 0.0, 180.0],
        np.r_[h.alt_m, 0.0, 0.0, 0.0],
    )
    got = visible_counts(eph, h, min_el)
    ref = _brute_force_counts(eph, h, min_el)
    assert ref.sum() > 0
    assert np.array_equal(got, ref)
    links = visible_links(eph, h, min_el)
    assert np.array_equal(links.counts, ref)
    # links of each (t, h) are listed in increasing satellite order
    key = links.time_index.astype(np.int64) * 10**6 + links.handset_index * 10**3
    order = np.lexsort((links.sat, key))
    assert np.array_equal(order, np.arange(len(links)))
    # without azimuths (the link layer's call): every other field the same
    bare = visible_links(eph, h, min_el, azimuth=False)
    assert bare.azimuth_deg is None
    for f in ("offsets", "sat", "elevation_deg", "range_km", "range_rate_km_s"):
        assert np.array_equal(getattr(bare, f), getattr(links, f)), f


def test_invalid_satellites_are_skipped():
    c = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], EPOCH)
    eph = propagate(c, TimeGrid.from_duration(EPOCH, 600, 60))
    eph.position_km[::2] = np.nan  # as after a decay
    links = visible_links(eph, SITES, 0.0)
    assert len(links) > 0 and (links.sat % 2 == 1).all()


def test_bad_elevation_mask_is_refused():
    from satsim import InputError

    c = walker_constellation([WalkerShell(12, 3, 1, 53.0, 550.0)], EPOCH)
    eph = propagate(c, TimeGrid.from_duration(EPOCH, 600, 60))
    with pytest.raises(InputError, match=r"min_elevation_deg must be in \[-5, 90\)"):
        visible_counts(eph, SITES, 95.0)
