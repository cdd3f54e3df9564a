"""Walker shells land where the Walker formula puts them, and round-trip as TLEs.

Walker delta i:T/P/F (J. G. Walker, JBIS 37, 1984): plane p at
RAAN_0 + p*360/P, satellite k of plane p at argument of latitude
k*360/S + p*F*360/T. Osculating elements at epoch differ from SGP4's mean
elements by J2 short-period terms of order 0.05 degrees at LEO, so angles are
checked to 0.1 degrees.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from satsim import InputError
from satsim.orbits import TimeGrid, load_tle, parse_tle, propagate
from satsim.orbits.propagation import propagate_teme
from satsim.orbits.walker import WalkerShell, walker_constellation, walker_shell

EPOCH = datetime(2025, 10, 27, 6, 0, 0, tzinfo=timezone.utc)


def _osculating_raan_u_incl(c):
    """RAAN, argument of latitude and inclination (deg) from TEME states at epoch."""
    jd = np.array([s.jdsatepoch for s in c.satrecs])
    fr = np.array([s.jdsatepochF for s in c.satrecs])
    e, r, v = propagate_teme(c.satrecs, jd[:1], fr[:1])
    r, v = r[:, 0], v[:, 0]
    h = np.cross(r, v)
    incl = np.degrees(np.arccos(h[:, 2] / np.linalg.norm(h, axis=1)))
    node = np.column_stack([-h[:, 1], h[:, 0], np.zeros(len(h))])
    raan = np.degrees(np.arctan2(node[:, 1], node[:, 0])) % 360
    cos_u = np.einsum("ij,ij->i", node, r) / (np.linalg.norm(node, axis=1) * np.linalg.norm(r, axis=1))
    u = np.degrees(np.arccos(np.clip(cos_u, -1, 1)))
    u = np.where(r[:, 2] < 0, 360 - u, u)
    return raan, u, incl


def _angle_diff(a, b):
    return (a - b + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize(
    "shell",
    [
        WalkerShell(312, 24, 1, 53.0, 360.0),
        WalkerShell(336, 24, 5, 43.0, 358.0, raan0_deg=10.0, u0_deg=3.0),
        WalkerShell(66, 6, 2, 86.4, 780.0, pattern="star"),
    ],
)
def test_walker_geometry(shell):
    c = walker_shell(shell, EPOCH)
    assert len(c) == shell.satellites
    raan, u, incl = _osculating_raan_u_incl(c)
    P, S, T, F = shell.planes, shell.per_plane, shell.satellites, shell.phasing
    raan, u = raan.reshape(P, S), u.reshape(P, S)
    spread = 360.0 if shell.pattern == "delta" else 180.0
    # plane RAAN spacing
    assert np.abs(_angle_diff(np.diff(raan[:, 0]), spread / P)).max() < 0.1
    assert abs(_angle_diff(raan[0, 0], shell.raan0_deg)) < 0.1
    # in-plane spacing
    assert np.abs(_angle_diff(np.diff(u, axis=1), 360.0 / S)).max() < 0.1
    # phasing between adjacent planes: F * 360 / T
    assert np.abs(_angle_diff(u[1:, 0] - u[:-1, 0], F * 360.0 / T)).max() < 0.1
    np.testing.assert_allclose(incl, shell.inclination_deg, atol=0.1)


def test_altitude_is_the_mean_semi_major_axis():
    c = walker_shell(WalkerShell(10, 1, 0, 53.0, 360.0), EPOCH)
    # Brouwer mean semi-major axis that SGP4 uses, to well under 1 m
    np.testing.assert_allclose(c.altitude_km, 360.0, atol=1e-3)
    # and the orbit-averaged geocentric radius is within a few km of it (J2)
    times = TimeGrid.from_duration(EPOCH, 92 * 60, 10)
    eph = propagate(c, times)
    mean_r = np.linalg.norm(eph.position_km, axis=2).mean()
    assert abs(mean_r - (6378.137 + 360.0)) < 10.0


def test_generated_shell_round_trips_through_tle(tmp_path):
    shells = [WalkerShell(24, 4, 1, 53.0, 540.0), WalkerShell(12, 3, 2, 97.6, 560.0, pattern="star")]
    c = walker_constellation(shells, EPOCH)
    path = tmp_path / "walker.tle"
    c.write_tle(path)
    back = load_tle(path)
    assert back.names == c.names
    assert np.array_equal(back.norad_ids, c.norad_ids)
    times = TimeGrid.from_duration(EPOCH, 6 * 3600, 600)
    a, b = propagate(c, times), propagate(back, times)
    # TLE fields are rounded (1e-4 deg angles, 1e-8 rev/day): tens of metres
    dist = np.linalg.norm(a.position_km - b.position_km, axis=2)
    assert dist.max() < 0.2
    # every exported line has a valid checksum (the loader would refuse it otherwise)
    assert len(parse_tle(c.to_tle())) == len(c)


def test_star_and_delta_differ_in_raan_spread():
    delta = walker_shell(WalkerShell(8, 4, 0, 90.0, 700.0), EPOCH)
    star = walker_shell(WalkerShell(8, 4, 0, 90.0, 700.0, pattern="star"), EPOCH)
    assert np.ptp(delta.raan_deg) == pytest.approx(270.0)
    assert np.ptp(star.raan_deg) == pytest.approx(135.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(satellites=100, planes=24, phasing=1, inclination_deg=53, altitude_km=360), "must divide satellites"),
        (dict(satellites=24, planes=24, phasing=24, inclination_deg=53, altitude_km=360), "must be less than planes"),
        (dict(satellites=24, planes=24, phasing=1, inclination_deg=190, altitude_km=360), r"inclination_deg: Input should be less than or equal to 180"),
        (dict(satellites=24, planes=24, phasing=1, inclination_deg=53, altitude_km=50), "altitude_km: Input should be greater than or equal to 150"),
        (dict(satellites=24, planes=24, phasing=1, inclination_deg=53, altitude_km=360, pattern="rosette"), "'delta' or 'star'"),
    ],
)
def test_bad_shell_parameters_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        WalkerShell(**kwargs)


def test_combined_shells_need_distinct_catalog_numbers():
    a = walker_shell(WalkerShell(4, 1, 0, 53.0, 550.0), EPOCH)
    with pytest.raises(InputError, match="duplicate catalog numbers"):
        a + a
    assert len(walker_constellation([WalkerShell(4, 1, 0, 53.0, 550.0)] * 2, EPOCH)) == 8
