"""The phone's and the satellite's Doppler tolerances, split into what they are
(issue "A service model an engineer would believe"): the downlink residual the
phone acquires, the uplink residual the satellite's receiver sees, and the rate
at which the residual changes.

The rate kernels are checked against a centred finite difference of the
residual Doppler along an exact two-body orbit (no J2: the kernels' gravity
model), expressed in ITRS by rotating the inertial orbit with the Earth.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.link import _kernels
from satsim.link.config import (
    LTE_HST_MAX_DOPPLER_RATE_HZ_S,
    PHONE_DL_DOPPLER_TOLERANCE_HZ,
    SATELLITE_UL_DOPPLER_TOLERANCE_HZ,
    LinkConfig,
)
from satsim.link.engine import ServingRules

MU = 398600.4418          # km^3/s^2, WGS 84
OMEGA = 7.292115e-5       # rad/s
C_KM_S = 299792.458
F_DL_HZ = 1992.5e6
R_EARTH_KM = 6371.0


def _orbit_itrs(t_s, altitude_km=360.0, incl_deg=53.0):
    """Position (km) and velocity (km/s) in ITRS at ``t_s`` of a circular
    two-body orbit whose inertial frame coincides with ITRS at t = 0."""
    a = R_EARTH_KM + altitude_km
    n = math.sqrt(MU / a ** 3)
    i = math.radians(incl_deg)
    u = n * t_s
    r_eci = a * np.array([math.cos(u), math.sin(u) * math.cos(i), math.sin(u) * math.sin(i)])
    v_eci = a * n * np.array([-math.sin(u), math.cos(u) * math.cos(i), math.cos(u) * math.sin(i)])
    th = OMEGA * t_s                       # Earth's rotation angle since t = 0
    rot = np.array([[math.cos(th), math.sin(th), 0.0], [-math.sin(th), math.cos(th), 0.0],
                    [0.0, 0.0, 1.0]])
    r = rot @ r_eci
    w = np.array([0.0, 0.0, OMEGA])
    v = rot @ v_eci - np.cross(w, r)
    return r, v


def _ground(lat_deg, lon_deg):
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    return R_EARTH_KM * np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo),
                                  math.sin(la)])


def _range_rate(r, v, p):
    d = r - p
    return float(d @ v / np.linalg.norm(d))


def _resid_fixed(t_s, h, c):
    """Residual Doppler, Hz, of a handset at ``h`` after pre-compensation for ``c``."""
    r, v = _orbit_itrs(t_s)
    return -F_DL_HZ * (_range_rate(r, v, h) - _range_rate(r, v, c)) / C_KM_S


def test_satellite_acceleration_in_itrs_matches_the_rotated_two_body_orbit():
    """Against a centred difference of the ITRS velocity: the Coriolis and
    centrifugal terms are right (without them the error is ~1e-3 km/s^2)."""
    for t in (0.0, 400.0, 1300.0):
        r, v = _orbit_itrs(t)
        dt = 0.01
        fd = (_orbit_itrs(t + dt)[1] - _orbit_itrs(t - dt)[1]) / (2 * dt)
        assert np.allclose(_kernels.sat_accel_itrs(r, v), fd, rtol=0, atol=1e-9)


@pytest.mark.parametrize("t_s", [60.0, 100.0, 140.0, 180.0])
def test_residual_doppler_rate_of_an_earth_fixed_cell_equals_the_finite_difference(t_s):
    """A handset 8 km from its cell centre, under a satellite passing nearby:
    the kernel's rate equals d(residual)/dt to 0.05 Hz/s."""
    r0, v0 = _orbit_itrs(120.0)
    sub = r0 / np.linalg.norm(r0) * R_EARTH_KM          # a cell under the track at t = 120 s
    along = v0 - (v0 @ sub) * sub / (sub @ sub)          # along-track, on the ground
    c = sub
    h = sub + 8.0 * along / np.linalg.norm(along)
    h *= R_EARTH_KM / np.linalg.norm(h)
    r, v = _orbit_itrs(t_s)
    got = _kernels.resid_doppler_rate_fixed(r, v, h, c, F_DL_HZ)
    dt = 0.05
    want = (_resid_fixed(t_s + dt, h, c) - _resid_fixed(t_s - dt, h, c)) / (2 * dt)
    assert abs(got - want) < 0.05
    assert abs(want) > 1.0            # a real rate, not 0 = 0


def test_residual_doppler_rate_of_a_moving_beam_equals_the_finite_difference():
    """A handset near the centre of a beam fixed in the body frame: the
    compensation follows the beam centre (boresight ``b`` turns with the
    frame), so the residual is ``-f/c (rdot_h + b.v)``; its finite difference
    matches the kernel to 2 Hz/s (the kernel neglects the frame's roll about
    nadir) out of hundreds."""
    h = _ground(30.0, 20.0)
    b_body = np.array([0.05, -0.03, math.sqrt(1 - 0.05 ** 2 - 0.03 ** 2)])

    def frame(t):
        r, v = _orbit_itrs(t)
        return np.asarray(_kernels.body_frame(r, v))

    def resid(t):
        r, v = _orbit_itrs(t)
        ax = frame(t)
        b = b_body[0] * ax[0:3] + b_body[1] * ax[3:6] + b_body[2] * ax[6:9]
        return -F_DL_HZ * (_range_rate(r, v, h) + float(b @ v)) / C_KM_S

    # find a time the satellite is high over the handset
    ts = np.arange(0.0, 5400.0, 5.0)
    elev = [float((_orbit_itrs(t)[0] - h) @ h) / np.linalg.norm(_orbit_itrs(t)[0] - h)
            / np.linalg.norm(h) for t in ts]
    t0 = float(ts[int(np.argmax(elev))])
    r, v = _orbit_itrs(t0)
    got = _kernels.resid_doppler_rate_moving(frame(t0), r, v, h, *b_body, F_DL_HZ)
    dt = 0.05
    want = (resid(t0 + dt) - resid(t0 - dt)) / (2 * dt)
    assert abs(want) > 100.0
    assert abs(got - want) < 2.0


def test_uplink_residual_is_twice_the_downlink_scaled_to_the_uplink_frequency():
    rules = ServingRules(0.0, 0.0, 1e9, 1e9, -99.0, True, 1.0, 1, max_ul_doppler_hz=7500.0,
                         ul_over_dl=1912.5 / 1992.5)
    assert _kernels.uplink_resid_doppler_hz(1000.0, rules) == pytest.approx(
        2 * 1000.0 * 1912.5 / 1992.5, abs=1e-9)
    # the uplink binds first: a 3.9 kHz downlink residual leaves 7.49 kHz uplink
    assert _kernels.within_tolerances(3900.0, 0.0, rules)
    assert not _kernels.within_tolerances(3910.0, 0.0, rules)


def test_default_tolerances_and_their_sources():
    cfg = LinkConfig()
    assert cfg.max_residual_doppler_hz == PHONE_DL_DOPPLER_TOLERANCE_HZ == 5000.0
    assert cfg.max_uplink_residual_doppler_hz == SATELLITE_UL_DOPPLER_TOLERANCE_HZ == 7500.0
    # TS 36.101 Table B.3-1: f_d 750 Hz, v 300 km/h, D_min 2 m; steepest d/dt of
    # f_d cos(theta(t)) is f_d v / D_min
    assert cfg.max_doppler_rate_hz_s == pytest.approx(31250.0, abs=0.01)
    assert LTE_HST_MAX_DOPPLER_RATE_HZ_S == pytest.approx(31250.0, abs=0.01)


def test_rate_bound_holds_over_whole_passes():
    """``engine.doppler_rate_bound_hz_s`` (which lets the kernels skip the rate
    when the phone's tolerance is above it) bounds every residual rate of a
    satellite at 360 km over handsets and cell centres up to 1,500 km apart."""
    from satsim.link.engine import doppler_rate_bound_hz_s

    bound = doppler_rate_bound_hz_s(F_DL_HZ, 360.0)
    rng = np.random.default_rng(3)
    worst = 0.0
    for t in np.arange(0.0, 5400.0, 60.0):
        r, v = _orbit_itrs(t)
        sub = r / np.linalg.norm(r) * R_EARTH_KM
        for _ in range(20):
            pts = [sub + rng.normal(0, 500.0, 3) for _ in range(2)]
            h, c = (p * R_EARTH_KM / np.linalg.norm(p) for p in pts)
            worst = max(worst, abs(_kernels.resid_doppler_rate_fixed(r, v, h, c, F_DL_HZ)))
            ax = np.asarray(_kernels.body_frame(r, v))
            b = rng.normal(0, 0.3, 3)
            b[2] = abs(b[2]) + 1.0
            b /= np.linalg.norm(b)
            worst = max(worst, abs(_kernels.resid_doppler_rate_moving(ax, r, v, h, *b, F_DL_HZ)))
    assert 500.0 < worst < bound


def test_elevation_rate_equals_the_finite_difference_of_the_elevation():
    """``engine.elevation_rate_deg_s`` (used to time a satellite setting or rising
    between samples) against d(elevation)/dt on the two-body orbit, geocentric up."""
    from satsim.link.engine import elevation_rate_deg_s

    h = _ground(20.0, 10.0)

    def elev(t):
        r, _ = _orbit_itrs(t)
        d = r - h
        return math.degrees(math.asin(float(d @ h) / np.linalg.norm(d) / np.linalg.norm(h)))

    checked = 0
    for t in np.arange(0.0, 5400.0, 30.0):
        if elev(t) < 10.0:
            continue
        r, v = _orbit_itrs(t)
        want = (elev(t + 0.01) - elev(t - 0.01)) / 0.02
        assert float(elevation_rate_deg_s(r, v, h)) == pytest.approx(want, abs=2e-4)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("mode, tight_hz_s", [("moving", 20.0), ("earth_fixed", 2.0)])
def test_a_phone_that_cannot_follow_the_doppler_rate_is_not_served(mode, tight_hz_s):
    """Below the run's rate bound, served links whose residual Doppler changes
    faster than link.max_doppler_rate_hz_s become status doppler_rate; at the
    default (31,250 Hz/s, above any LEO residual rate) none do. (Within a
    9.6 km cell the residual rate stays under ~15 Hz/s: f/c x (v²/R) x d/R.)"""
    import satsim

    base = {"duration_s": 600, "step_s": 10, "handsets.spacing_km": 300.0,
            "services.sms.enabled": False, "beams.mode": mode}
    default = satsim.run(satsim.load_scenario(None, overrides=base), seed=0).summary["link"]
    tight = satsim.run(satsim.load_scenario(None, overrides={
        **base, "link.max_doppler_rate_hz_s": tight_hz_s}), seed=0).summary["link"]
    assert default["status_fraction"]["doppler_rate"] == 0.0
    assert tight["status_fraction"]["doppler_rate"] > 0.05
    assert (tight["status_fraction"]["served"] + tight["status_fraction"]["doppler_rate"]
            == pytest.approx(default["status_fraction"]["served"], abs=1e-12))
