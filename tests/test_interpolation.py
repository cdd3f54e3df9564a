"""SGP4 knots + cubic Hermite ephemerides against exact SGP4 at every step.

The reference is satsim's exact path (python-sgp4, AIAA 2006-6753 Rev. 2,
checked in test_propagation.py against Vallado's verification vectors and
Skyfield). The tolerances:

* positions within 0.1 m: the check of issue 14 ("interpolated positions
  within 0.1 m of SGP4");
* velocities within 1 mm/s: a Doppler shift of 1 mm/s / c x 2.2 GHz =
  0.007 Hz at S-band, a fourteenth of the issue's 0.1 Hz residual-Doppler
  tolerance. The expected error at 30 s knots is a few tenths of a mm/s: the
  Hermite truncation ``h^4 |v''''| / 384`` (~0.03 mm/s) plus the force-model
  error of the knot accelerations (J3, J4 and SGP4's periodic terms left out,
  ~5e-5 m/s^2) times at most ``h (|h10| + |h11|) <= 30 s x 6/27``, i.e.
  <= 0.33 mm/s (see satsim.orbits.interpolation).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from satsim import DecayWarning, InputError, SatsimWarning
from satsim.orbits import Constellation, TimeGrid, combine, load_tle, propagate
from satsim.orbits.interpolation import (
    gravity_accel_rotating,
    hermite_states,
    knot_plan,
    position_slopes,
)
from satsim.orbits.propagation import iter_ephemeris
from satsim.orbits.walker import WalkerShell, walker_shell

EPOCH = datetime(2025, 10, 27, tzinfo=timezone.utc)
KNOT_S = 30.0
#: Issue 14's check, m.
MAX_POSITION_ERROR_M = 0.1
#: See the module docstring, mm/s.
MAX_VELOCITY_ERROR_MM_S = 1.0


def _errors(approx, exact):
    """Max |dr| in m and max |dv| in mm/s over the valid samples."""
    ok = exact.status == 0
    dr_m = np.linalg.norm(approx.position_km - exact.position_km, axis=2)[ok] * 1e3
    dv_mm_s = np.linalg.norm(approx.velocity_km_s - exact.velocity_km_s, axis=2)[ok] * 1e6
    return dr_m.max(), dv_mm_s.max()


@pytest.mark.parametrize("altitude_km", [360.0, 550.0])
def test_walker_shell_two_hours_at_1_s_within_tolerance(altitude_km):
    c = walker_shell(WalkerShell(40, 8, 1, 53.0, altitude_km), EPOCH)
    times = TimeGrid.from_duration(EPOCH, 7200, 1.0)
    exact = propagate(c, times)
    approx = propagate(c, times, knot_step_s=KNOT_S)
    assert approx.knot_step_s == KNOT_S
    assert np.array_equal(approx.status, exact.status)
    dr_m, dv_mm_s = _errors(approx, exact)
    # the interpolation did run: off-knot states are not SGP4's bit for bit
    assert dr_m > 0
    assert dr_m < MAX_POSITION_ERROR_M
    assert dv_mm_s < MAX_VELOCITY_ERROR_MM_S


def test_real_starlink_dtc_elements_with_drag_within_tolerance(shared_tle_dir):
    # CelesTrak Starlink Direct-to-Cell snapshot of 2025-10-27 (day 300): real
    # eccentricities and BSTAR drag terms, not just circular generated orbits.
    c = load_tle(shared_tle_dir / "starlink_dtc_2025-300.tle")
    c = c[np.linspace(0, len(c) - 1, 24).astype(int)]
    times = TimeGrid.from_duration(EPOCH, 7200, 1.0)
    exact = propagate(c, times, max_epoch_age_days=None)
    approx = propagate(c, times, max_epoch_age_days=None, knot_step_s=KNOT_S)
    dr_m, dv_mm_s = _errors(approx, exact)
    assert dr_m < MAX_POSITION_ERROR_M
    assert dv_mm_s < MAX_VELOCITY_ERROR_MM_S


def test_times_on_knots_are_exact_and_times_off_the_knot_grid_are_close():
    c = walker_shell(WalkerShell(12, 3, 1, 53.0, 550.0), EPOCH)
    # a 7 s grid from 3.3 s after the epoch never meets a knot (3.3 + 7 n is
    # never a multiple of 30): add three times that are on knots
    offsets = np.sort(np.concatenate([3.3 + 7.0 * np.arange(500), [0.0, 900.0, 3000.0]]))
    times = TimeGrid(EPOCH, offsets)
    exact = propagate(c, times)
    approx = propagate(c, times, knot_step_s=KNOT_S)
    assert approx.knot_step_s == KNOT_S
    dr_m, dv_mm_s = _errors(approx, exact)
    assert dr_m < MAX_POSITION_ERROR_M
    assert dv_mm_s < MAX_VELOCITY_ERROR_MM_S
    on = np.isin(offsets, [0.0, 900.0, 3000.0])
    assert np.array_equal(approx.position_km[:, on], exact.position_km[:, on])
    assert np.array_equal(approx.velocity_km_s[:, on], exact.velocity_km_s[:, on])
    assert not np.array_equal(approx.position_km[:, ~on], exact.position_km[:, ~on])


@pytest.mark.parametrize("step_s", [30.0, 60.0, 45.0])
def test_step_not_shorter_than_knot_step_runs_exact_sgp4(step_s):
    c = walker_shell(WalkerShell(6, 2, 1, 53.0, 550.0), EPOCH)
    times = TimeGrid.from_duration(EPOCH, 3600, step_s)
    exact = propagate(c, times)
    approx = propagate(c, times, knot_step_s=KNOT_S)
    assert approx.knot_step_s is None
    assert np.array_equal(approx.position_km, exact.position_km)
    assert np.array_equal(approx.velocity_km_s, exact.velocity_km_s)


@pytest.mark.parametrize("knot_step_s", [None, 0, 0.0])
def test_none_or_zero_knot_step_is_exact_sgp4(knot_step_s):
    c = walker_shell(WalkerShell(6, 2, 1, 53.0, 550.0), EPOCH)
    times = TimeGrid.from_duration(EPOCH, 120, 1.0)
    approx = propagate(c, times, knot_step_s=knot_step_s)
    exact = propagate(c, times)
    assert approx.knot_step_s is None
    assert np.array_equal(approx.position_km, exact.position_km)


@pytest.mark.parametrize("bad", [-30.0, float("nan"), float("inf"), "thirty"])
def test_bad_knot_step_is_refused_with_the_value(bad):
    c = walker_shell(WalkerShell(2, 1, 0, 53.0, 550.0), EPOCH)
    times = TimeGrid.from_duration(EPOCH, 60, 1.0)
    with pytest.raises(InputError, match=r"knot_step_s must be .* >= 0.*got"):
        propagate(c, times, knot_step_s=bad)


def _sinker():
    """A 250 km orbit with a large BSTAR: SGP4 reports it decayed (error 6)
    within two days of its epoch."""
    sat = Satrec()
    n = math.sqrt(398600.8 / (6378.135 + 250.0) ** 3) * 60.0
    epoch_days = (EPOCH - datetime(1949, 12, 31, tzinfo=timezone.utc)).total_seconds() / 86400
    sat.sgp4init(WGS72, "i", 99000, epoch_days, 0.01, 0.0, 0.0, 0.001, 0.0,
                 math.radians(51.6), 0.0, n, 0.0)
    return sat


def test_decayed_samples_stay_nan_and_are_never_interpolated_across():
    healthy = walker_shell(WalkerShell(2, 1, 0, 53.0, 550.0), EPOCH, name_prefix="OK")
    c = combine(healthy, Constellation((_sinker(),), ("SINKER",), source="test"))
    # find the decay on a coarse grid, then look at 1 s steps around it
    coarse = TimeGrid.from_duration(EPOCH, 2 * 86400, 60)
    with pytest.warns(DecayWarning):
        first_bad = coarse.offsets_s[np.flatnonzero(propagate(c, coarse).status[2] != 0)[0]]
    times = TimeGrid(EPOCH, first_bad - 300.5 + np.arange(600.0))
    with pytest.warns(DecayWarning, match=r"SINKER"):
        exact = propagate(c, times, max_epoch_age_days=None)
    with pytest.warns(DecayWarning, match=r"SINKER"):
        approx = propagate(c, times, max_epoch_age_days=None, knot_step_s=KNOT_S)
    bad_exact = exact.status[2] != 0
    bad_approx = approx.status[2] != 0
    assert bad_exact.any() and not bad_exact.all()
    # wherever SGP4 fails, the interpolated ephemeris fails too, and is NaN
    assert bad_approx[bad_exact].all()
    assert np.isnan(approx.position_km[2][bad_approx]).all()
    assert np.isnan(approx.velocity_km_s[2][bad_approx]).all()
    assert (approx.status[2][bad_approx] == 6).all()
    # the satellite leaves at the last good knot before the failure, never
    # later than SGP4 says. (No position tolerance for it here: in its last
    # ~20 minutes before SGP4's decay flag it is within a few km of the
    # ground, where SGP4's drag polynomials make the interpolation err by
    # tens of metres; at 90 km altitude it was still within 0.03 m.)
    assert np.isfinite(approx.position_km[2][~bad_approx]).all()
    t_fail = times.offsets_s[np.flatnonzero(bad_exact)[0]]
    last_good_knot = (math.ceil(t_fail / KNOT_S) - 1) * KNOT_S
    assert np.array_equal(bad_approx, times.offsets_s > last_good_knot)
    # the healthy satellites are untouched
    assert (approx.status[:2] == 0).all()
    dr_m = np.linalg.norm(approx.position_km[:2] - exact.position_km[:2], axis=2) * 1e3
    assert dr_m.max() < MAX_POSITION_ERROR_M


def test_satellite_failed_throughout_stays_nan():
    healthy = walker_shell(WalkerShell(2, 1, 0, 53.0, 550.0), EPOCH, name_prefix="OK")
    c = combine(healthy, Constellation((_sinker(),), ("SINKER",), source="test"))
    # three days on, long after its decay (SGP4 then reports error 1 or 6)
    late = TimeGrid(EPOCH, 3 * 86400 + 0.5 + np.arange(100.0))
    with pytest.warns(SatsimWarning, match=r"SINKER"):
        approx = propagate(c, late, max_epoch_age_days=None, knot_step_s=KNOT_S)
    assert approx.knot_step_s == KNOT_S
    assert (approx.status[2] != 0).all()
    assert np.isnan(approx.position_km[2]).all()
    assert np.isnan(approx.velocity_km_s[2]).all()
    assert np.isfinite(approx.position_km[:2]).all()


@pytest.mark.parametrize("chunk_steps", [1, 7, 100, 1000])
def test_chunking_does_not_change_the_states(chunk_steps):
    c = walker_shell(WalkerShell(8, 2, 1, 53.0, 360.0), EPOCH)
    # 601 times from 0.5 s: chunk ends fall between knots and on them, and
    # chunk_steps=100 leaves a last chunk of one sample
    times = TimeGrid(EPOCH, 0.5 + np.arange(601.0))
    whole = propagate(c, times, knot_step_s=KNOT_S)
    r = np.full_like(whole.position_km, -1.0)
    v = np.full_like(whole.velocity_km_s, -1.0)
    for sl, eph in iter_ephemeris(c, times, chunk_steps, knot_step_s=KNOT_S):
        assert eph.knot_step_s == KNOT_S
        r[:, sl], v[:, sl] = eph.position_km, eph.velocity_km_s
    assert np.array_equal(r, whole.position_km)
    assert np.array_equal(v, whole.velocity_km_s)


def test_chunked_run_with_coarse_step_stays_exact():
    c = walker_shell(WalkerShell(4, 2, 1, 53.0, 550.0), EPOCH)
    times = TimeGrid.from_duration(EPOCH, 3600, 60.0)
    for sl, eph in iter_ephemeris(c, times, 7, knot_step_s=KNOT_S):
        assert eph.knot_step_s is None
        assert np.array_equal(eph.position_km, propagate(c, times[sl]).position_km)


def test_knot_plan_brackets_every_time():
    offsets = np.array([-31.0, -30.0, 0.0, 1.0, 29.999, 30.0, 59.0, 3600.0 + 1e-12, 3601.5])
    knot_number, left, frac = knot_plan(offsets, KNOT_S)
    knots = knot_number * KNOT_S
    assert np.all(np.diff(knot_number) > 0)
    assert np.all((frac >= 0) & (frac < 1))
    np.testing.assert_allclose(knots[left] + frac * KNOT_S, offsets, rtol=0, atol=1e-9)
    off = frac > 0
    # a time between knots has both neighbours of its two knots too
    for d in (-1, 1, 2):
        assert np.array_equal(knot_number[left[off] + d], knot_number[left[off]] + d)
    # on-knot times (within 1e-9 s) are flagged by frac == 0
    assert np.array_equal(frac == 0, np.isin(np.round(offsets, 6), [-30.0, 0.0, 30.0, 3600.0]))


def _polynomial_path(coef, t):
    """Positions, velocities and accelerations of sum_p coef[:, p] t^p, shape (nsat, nt, 3)."""
    t = np.asarray(t, dtype=np.float64)[None, :, None]
    deg = coef.shape[1]
    r = sum(coef[:, p][:, None, :] * t ** p for p in range(deg))
    v = sum(p * coef[:, p][:, None, :] * t ** (p - 1) for p in range(1, deg))
    a = sum(p * (p - 1) * coef[:, p][:, None, :] * t ** (p - 2) for p in range(2, deg))
    return r, v, a


def test_hermite_reproduces_cubic_motion_exactly():
    # Cubic Hermite interpolation is exact for cubic polynomials (Burden &
    # Faires, Numerical Analysis, 9th ed., section 3.4: the error term holds
    # f^(4)), so positions on a cubic path with its velocity as slope, and
    # velocities (a quadratic) with the acceleration, come back to round-off.
    rng = np.random.default_rng(1)
    coef = rng.normal(size=(3, 4, 3)) * np.array([7000.0, 7.0, 1e-3, 1e-6])[None, :, None]
    offsets = np.linspace(0.0, 30.0, 31)[1:-1] + 0.25
    knot_number, left, frac = knot_plan(offsets, KNOT_S)
    rk, vk, ak = _polynomial_path(coef, knot_number * KNOT_S)
    r, v, _ = _polynomial_path(coef, offsets)
    r_out = np.empty_like(r)
    v_out = np.empty_like(v)
    status = np.empty(r.shape[:2], dtype=np.uint8)
    hermite_states(rk, vk, vk, ak, np.zeros(rk.shape[:2], np.uint8), left, frac, KNOT_S,
                   r_out, v_out, status)
    assert (status == 0).all()
    np.testing.assert_allclose(r_out, r, rtol=0, atol=1e-9)  # km: 1 micrometre
    np.testing.assert_allclose(v_out, v, rtol=0, atol=1e-12)


def test_position_slopes_exact_for_quartic_motion_and_fall_back_at_failures():
    # (r[k+1] - r[k-1]) / 2h - h (a[k+1] - a[k-1]) / 12 = r' + O(h^4 r^(5)):
    # by Taylor expansion its h^2 terms cancel, so it is exact for quartics.
    rng = np.random.default_rng(2)
    coef = rng.normal(size=(2, 5, 3)) * np.array([7000.0, 7.0, 1e-3, 1e-6, 1e-9])[None, :, None]
    knot_number = np.array([-1, 0, 1, 2, 3, 5, 6, 7], dtype=np.int64)  # knot 4 missing
    r, v, a = _polynomial_path(coef, knot_number * KNOT_S)
    status = np.zeros(r.shape[:2], dtype=np.uint8)
    status[1, 2] = 6  # satellite 1 fails at knot 1
    biased = v + 1e-5  # stands for SGP4's velocity, off dr/dt by 1 cm/s
    m = position_slopes(r, biased, a, status, knot_number, KNOT_S)
    inner = [1, 2, 6]  # knots 0, 1, 6: both neighbours present
    np.testing.assert_allclose(m[0, inner], v[0, inner], rtol=0, atol=1e-12)
    # no neighbour (ends, knots 3 and 5 next to the gap) or a failed one: v
    for i, k in ((0, 0), (0, 4), (0, 5), (0, 7), (1, 1), (1, 2), (1, 3)):
        assert np.array_equal(m[i, k], biased[i, k])
    np.testing.assert_allclose(m[1, 6], v[1, 6], rtol=0, atol=1e-12)


def test_knot_accelerations_match_the_rate_of_change_of_sgp4_velocity():
    # The force model (point mass + J2 on WGS72 constants, Coriolis and
    # centrifugal terms of ITRS) against the central difference of SGP4's own
    # ITRS velocity: leaving out J2 would err by ~1e-2 m/s^2 and the Coriolis
    # term by ~1 m/s^2; J3, J4 and SGP4's periodic terms stay below 1e-4 m/s^2.
    c = walker_shell(WalkerShell(12, 3, 1, 70.0, 360.0), EPOCH)
    offsets = np.arange(0.0, 5400.0, 97.0)
    dt = 0.5
    eph = propagate(c, TimeGrid(EPOCH, np.sort(np.concatenate([offsets - dt, offsets,
                                                                offsets + dt])) + dt))
    r, v = eph.position_km[:, 1::3], eph.velocity_km_s[:, 1::3]
    fd = (eph.velocity_km_s[:, 2::3] - eph.velocity_km_s[:, 0::3]) / (2 * dt)
    from sgp4.earth_gravity import wgs72

    from satsim.constants import EARTH_ROTATION_RAD_S

    a = gravity_accel_rotating(np.ascontiguousarray(r), np.ascontiguousarray(v), wgs72.mu,
                               wgs72.radiusearthkm, wgs72.j2, EARTH_ROTATION_RAD_S)
    err_m_s2 = np.linalg.norm(a - fd, axis=2).max() * 1e3
    assert err_m_s2 < 1e-4
