"""Propagation: ITRS positions and velocities for S satellites x T times.

The path is vectorised end to end, with no Python loop over satellites or
times:

1. python-sgp4's ``SatrecArray.sgp4`` (Vallado's C++ SGP4, AIAA 2006-6753)
   evaluates every satellite at every time in TEME, km and km/s;
2. TEME is rotated to ITRS by ``rot_z(-theta_GMST1982(UT1))``, the rotation
   of AIAA 2006-6753 Appendix C. This is exactly what Skyfield does for an
   ``EarthSatellite`` (its TEME->GCRS and GCRS->ITRS rotations cancel down
   to this one when, as with Skyfield's builtin timescale, no polar-motion
   table is loaded), and the test suite checks the two agree within 1 m.
   The velocity adds Earth rotation, ``v_ITRS = R v_TEME - omega x r_ITRS``,
   with Skyfield's angular velocity ``ANGVEL = 7.2921150e-5 rad/s``.

Satellites are axis 0 in the constellation's order. A time at which SGP4
fails for a satellite (status code != 0, see :data:`SGP4_STATUS`) gets NaN
positions; decayed satellites (code 6) are named in a :class:`DecayWarning`
and so left out of every geometry downstream. Runs far from an element
set's epoch raise an :class:`EpochWarning` (SGP4 errors grow by km per day).

With ``knot_step_s`` set (and the run's step shorter than it), SGP4 runs only
every ``knot_step_s`` seconds from the epoch and the times between get cubic
Hermite states (:mod:`satsim.orbits.interpolation`): at 30 s knots, within
0.1 m and 1 mm/s of SGP4 in low orbit, for a fraction of the cost at 1 s
steps. ``None`` (or 0) keeps exact SGP4 at every time.
"""

from __future__ import annotations

import math
import mmap
import multiprocessing
import os
import warnings
from dataclasses import dataclass

import numpy as np
from sgp4.api import SGP4_ERRORS, SatrecArray
from sgp4.earth_gravity import wgs72

from ..constants import EARTH_ROTATION_RAD_S
from ..errors import DecayWarning, EpochWarning, InputError, SatsimWarning
from . import _kernels
from .constellation import Constellation
from .interpolation import (
    gravity_accel_rotating,
    hermite_states,
    knot_plan,
    position_slopes,
)
from .timegrid import TimeGrid

#: Status codes of an ephemeris sample, python-sgp4's error codes
#: (``sgp4.api.SGP4_ERRORS``) plus 0 for success.
SGP4_STATUS = {0: "ok", **SGP4_ERRORS}
#: Default limit on |run time - element-set epoch| before warning, days.
DEFAULT_MAX_EPOCH_AGE_DAYS = 3.0


@dataclass(frozen=True, eq=False)
class Ephemeris:
    """Positions and velocities of a constellation over a time grid.

    Attributes
    ----------
    constellation : Constellation
        The satellites, in axis-0 order.
    times : TimeGrid
        The sample times, axis 1.
    position_km : numpy.ndarray
        ITRS (Earth-fixed) positions, shape ``(nsat, ntime, 3)``, km, float64;
        NaN where ``status != 0``.
    velocity_km_s : numpy.ndarray
        ITRS velocities (relative to the rotating Earth), same shape, km/s.
    status : numpy.ndarray
        SGP4 status per sample, shape ``(nsat, ntime)``, uint8; codes in
        :data:`SGP4_STATUS`. An interpolated sample carries the code of the
        knot that failed, if either of its two knots did.
    knot_step_s : float or None
        None: SGP4 at every time. Otherwise the spacing of the SGP4 knots,
        seconds, between which the states were Hermite-interpolated.
    """

    constellation: Constellation
    times: TimeGrid
    position_km: np.ndarray
    velocity_km_s: np.ndarray
    status: np.ndarray
    knot_step_s: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(nsat, ntime)``."""
        return self.status.shape

    @property
    def valid(self) -> np.ndarray:
        """True where SGP4 succeeded, shape ``(nsat, ntime)``."""
        return self.status == 0


def gmst1982_rad(times: TimeGrid) -> np.ndarray:
    """Greenwich mean sidereal angle (IAU 1982 model) at each time, radians.

    Evaluated with Skyfield's ``theta_GMST1982`` on UT1 from its builtin
    timescale; this is the angle of the TEME -> PEF rotation
    (AIAA 2006-6753 Appendix C).
    """
    from skyfield.sgp4lib import theta_GMST1982

    t = times.skyfield()
    theta, _ = theta_GMST1982(t.whole, t.ut1_fraction)
    return np.ascontiguousarray(np.broadcast_to(theta, (len(times),)), dtype=np.float64)


def propagate_teme(
    satrecs, jd_whole: np.ndarray, jd_fraction: np.ndarray, processes: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SGP4 over satellites x times in TEME.

    Parameters
    ----------
    satrecs : sequence of sgp4.api.Satrec
    jd_whole, jd_fraction : numpy.ndarray
        UTC Julian dates, shape ``(ntime,)``.
    processes : int
        Split the satellites over this many processes (Linux ``fork``; SGP4
        holds the GIL, so threads would not help). 1 runs in this process.

    Returns
    -------
    status, position_km, velocity_km_s
        Shapes ``(nsat, ntime)`` uint8, ``(nsat, ntime, 3)`` float64 twice.
    """
    jd_whole = np.ascontiguousarray(jd_whole, dtype=np.float64)
    jd_fraction = np.ascontiguousarray(jd_fraction, dtype=np.float64)
    nsat = len(satrecs)
    processes = max(1, min(int(processes), nsat))
    if processes == 1 or "fork" not in multiprocessing.get_all_start_methods():
        e, r, v = SatrecArray(list(satrecs)).sgp4(jd_whole, jd_fraction)
        return e, r, v
    return _propagate_forked(list(satrecs), jd_whole, jd_fraction, processes)


def _propagate_forked(satrecs, jd_whole, jd_fraction, processes):
    """SGP4 with satellite blocks in forked children writing to shared memory.

    The parent computes the first block itself; each child inherits the
    ``Satrec`` objects through ``fork`` (they cannot be pickled) and writes
    its block straight into an anonymous shared mapping, so nothing is
    copied back.
    """
    nsat, ntime = len(satrecs), jd_whole.size
    nbytes_rv = nsat * ntime * 3 * 8
    buf = mmap.mmap(-1, 2 * nbytes_rv + nsat * ntime)
    r = np.frombuffer(buf, dtype=np.float64, count=nsat * ntime * 3).reshape(nsat, ntime, 3)
    v = np.frombuffer(
        buf, dtype=np.float64, count=nsat * ntime * 3, offset=nbytes_rv
    ).reshape(nsat, ntime, 3)
    e = np.frombuffer(buf, dtype=np.uint8, count=nsat * ntime, offset=2 * nbytes_rv).reshape(
        nsat, ntime
    )
    bounds = np.linspace(0, nsat, processes + 1).astype(int)

    def work(lo, hi):
        ee, rr, vv = SatrecArray(satrecs[lo:hi]).sgp4(jd_whole, jd_fraction)
        r[lo:hi], v[lo:hi], e[lo:hi] = rr, vv, ee

    ctx = multiprocessing.get_context("fork")
    children = []
    with warnings.catch_warnings():
        # Python >= 3.12 warns that fork() in a multi-threaded process may
        # deadlock the child; ours only runs SGP4's C++ code and never touches
        # the parent's (numba) threads or locks.
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        for i in range(1, processes):
            p = ctx.Process(target=_child_main, args=(work, bounds[i], bounds[i + 1]), daemon=True)
            p.start()
            children.append(p)
    work(bounds[0], bounds[1])
    for p in children:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(
                f"a propagation worker process failed (exit code {p.exitcode}); "
                "rerun with processes=1 to see the error"
            )
    return e, r, v


def _child_main(work, lo, hi):
    try:
        work(lo, hi)
    except BaseException:  # pragma: no cover - reported by the parent via exit code
        os._exit(1)


def propagate(
    constellation: Constellation,
    times: TimeGrid,
    *,
    processes: int = 1,
    max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
    knot_step_s: float | None = None,
) -> Ephemeris:
    """ITRS positions and velocities of every satellite at every time.

    Parameters
    ----------
    constellation : Constellation
        The satellites.
    times : TimeGrid
        Sample times.
    processes : int
        Number of processes for the SGP4 step (see :func:`propagate_teme`).
    max_epoch_age_days : float or None
        Warn (:class:`EpochWarning`) for satellites whose element-set epoch is
        more than this many days from any sample time; None disables it.
    knot_step_s : float or None
        Run SGP4 only at the knots ``k * knot_step_s`` seconds from the
        grid's epoch and Hermite-interpolate the times between (see
        :mod:`satsim.orbits.interpolation`). None or 0: SGP4 at every time,
        as also when the grid's step is not shorter than the knot step
        (interpolating would then save nothing).

    Returns
    -------
    Ephemeris
        ``position_km`` / ``velocity_km_s`` of shape ``(nsat, ntime, 3)``.
    """
    if len(constellation) == 0:
        raise InputError("the constellation is empty: load or generate some satellites first")
    knot_step_s = knots_for(times, knot_step_s)
    if max_epoch_age_days is not None:
        check_epoch_age(constellation, times, max_epoch_age_days)
    if knot_step_s is None:
        status, r, v = _sgp4_itrs(constellation, times, processes)
    else:
        status, r, v = _hermite_itrs(constellation, times, knot_step_s, processes)
    _warn_failures(constellation, status)
    return Ephemeris(constellation, times, r, v, status, knot_step_s)


def knots_for(times: TimeGrid, knot_step_s: float | None) -> float | None:
    """The knot step :func:`propagate` uses on ``times``: None for exact SGP4.

    None when ``knot_step_s`` is None or 0, or when ``times`` has a step
    (median spacing) at least ``knot_step_s``; a one-sample grid keeps the
    knots, so the chunks of a uniform grid all decide alike.

    Raises
    ------
    InputError
        If ``knot_step_s`` is negative or not finite.
    """
    if knot_step_s is None:
        return None
    try:
        h = float(knot_step_s)
    except (TypeError, ValueError):
        h = float("nan")
    if not (math.isfinite(h) and h >= 0):
        raise InputError(
            f"knot_step_s must be a number of seconds >= 0 (0 or None: exact SGP4 at every "
            f"step), got {knot_step_s!r}; 30 s keeps positions within 0.1 m of SGP4 in low orbit"
        )
    if h == 0 or (len(times) > 1 and times.step_s >= h):
        return None
    return h


def _sgp4_itrs(constellation: Constellation, times: TimeGrid, processes: int):
    """SGP4 at every time, rotated to ITRS, NaN where it failed: (status, r, v)."""
    jd_whole, jd_fraction = times.jd_utc()
    status, r, v = propagate_teme(constellation.satrecs, jd_whole, jd_fraction, processes)
    status = np.ascontiguousarray(status, dtype=np.uint8)
    r = np.ascontiguousarray(r)
    v = np.ascontiguousarray(v)
    _kernels.teme_to_itrs_inplace(r, v, gmst1982_rad(times), EARTH_ROTATION_RAD_S)
    _kernels.mask_failed_inplace(r, v, status)
    return status, r, v


def _hermite_itrs(constellation: Constellation, times: TimeGrid, knot_step_s: float,
                  processes: int):
    """SGP4 at the knots around ``times``, Hermite between: (status, r, v)."""
    h = float(knot_step_s)
    knot_number, left, frac = knot_plan(times.offsets_s, h)
    knot_status, rk, vk = _sgp4_itrs(
        constellation, TimeGrid(times.epoch, knot_number * h), processes)
    ak = gravity_accel_rotating(rk, vk, wgs72.mu, wgs72.radiusearthkm, wgs72.j2,
                                EARTH_ROTATION_RAD_S)
    mk = position_slopes(rk, vk, ak, knot_status, knot_number, h)
    nsat, ntime = len(constellation), len(times)
    r = np.empty((nsat, ntime, 3))
    v = np.empty((nsat, ntime, 3))
    status = np.empty((nsat, ntime), dtype=np.uint8)
    hermite_states(rk, mk, vk, ak, knot_status, left, frac, h, r, v, status)
    return status, r, v


def iter_ephemeris(
    constellation: Constellation,
    times: TimeGrid,
    chunk_steps: int,
    *,
    processes: int = 1,
    max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
    knot_step_s: float | None = None,
):
    """Propagate one chunk of at most ``chunk_steps`` time steps at a time.

    Yields ``(slice_of_times, Ephemeris)``, so memory stays bounded however
    long the run; the epoch-age check runs once, over the whole run. With
    ``knot_step_s`` (see :func:`propagate`), whether to interpolate is decided
    once on the whole grid, and the knots are counted from the grid's epoch,
    not the chunk's start, so the states do not depend on ``chunk_steps``.
    """
    if int(chunk_steps) != chunk_steps or chunk_steps < 1:
        raise InputError(f"chunk_steps must be a whole number >= 1, got {chunk_steps!r}")
    knot_step_s = knots_for(times, knot_step_s)
    if max_epoch_age_days is not None:
        check_epoch_age(constellation, times, max_epoch_age_days)
    for lo in range(0, len(times), int(chunk_steps)):
        sl = slice(lo, min(lo + int(chunk_steps), len(times)))
        yield sl, propagate(constellation, times[sl], processes=processes,
                            max_epoch_age_days=None, knot_step_s=knot_step_s)


def check_epoch_age(constellation: Constellation, times: TimeGrid, max_days: float) -> np.ndarray:
    """Warn about satellites used more than ``max_days`` from their epoch.

    Returns the largest |sample time - epoch| of each satellite, days.
    """
    jd_whole, jd_fraction = times.jd_utc()
    first = jd_whole[0] + jd_fraction[0]
    last = jd_whole[-1] + jd_fraction[-1]
    epochs = constellation.epoch_jd
    age = np.maximum(np.abs(first - epochs), np.abs(last - epochs))
    old = np.flatnonzero(age > max_days)
    if old.size:
        worst = old[np.argsort(-age[old])][:5]
        listed = ", ".join(f"{constellation.names[i]} ({age[i]:.1f} d)" for i in worst)
        warnings.warn(
            f"{old.size} of {len(constellation)} satellites are propagated more than "
            f"{max_days:g} days from their element-set epoch (worst: {listed}); SGP4 "
            "errors grow by kilometres per day, so use fresher TLEs or move the run "
            "epoch closer (or raise the limit to accept this: the scenario key "
            "constellation.max_epoch_age_days, max_epoch_age_days= in Python).",
            EpochWarning,
            stacklevel=3,
        )
    return age


#: Samples :func:`element_health` propagates at most (start, end and evenly between).
HEALTH_SAMPLES = 49


def element_health(constellation: Constellation, times: TimeGrid,
                   samples: int = HEALTH_SAMPLES) -> dict:
    """How usable the element sets are over a run: their age and failures.

    Propagates every satellite at up to ``samples`` times (the first, the last
    and evenly between; cheap next to the run) and returns, JSON-ready::

        {"element_age_days": {"min": .., "max": ..},   # |run time - epoch|, worst
                                                        # of each satellite
         "satellites_failed": n,                       # SGP4 failed at some sample
         "satellites_decayed": n,                      # of which decayed (error 6)
         "failed": [names, at most 20]}

    A decayed satellite stays decayed, so decays are all found; other SGP4
    failures only if they last longer than the gap between samples.
    """
    n = len(times)
    idx = np.unique(np.linspace(0, n - 1, min(n, max(int(samples), 2))).round().astype(int))
    jd_whole, jd_fraction = times.jd_utc()
    first = jd_whole[0] + jd_fraction[0]
    last = jd_whole[-1] + jd_fraction[-1]
    epochs = constellation.epoch_jd
    age = np.maximum(np.abs(first - epochs), np.abs(last - epochs))
    sat_status, _, _ = propagate_teme(constellation.satrecs, jd_whole[idx], jd_fraction[idx], 1)
    failed = (np.asarray(sat_status) != 0).any(axis=1)
    decayed = (np.asarray(sat_status) == 6).any(axis=1)
    names = [constellation.names[i] for i in np.flatnonzero(failed)[:20]]
    return {"element_age_days": {"min": round(float(age.min()), 3),
                                 "max": round(float(age.max()), 3)},
            "satellites_failed": int(failed.sum()), "satellites_decayed": int(decayed.sum()),
            "failed": names}


def decaying(constellation: Constellation, days: float = 7.0,
             step_days: float = 0.25) -> list[tuple[int, float, int]]:
    """Satellites whose SGP4 fails within ``days`` after their own element-set
    epoch, sampled every ``step_days``: ``(index, days after epoch, error code)``
    of the first failure, for ``satsim tle``."""
    offsets = np.arange(0.0, days + 1e-9, step_days)
    out = []
    for i, sat in enumerate(constellation.satrecs):
        jd = np.full(offsets.size, float(sat.jdsatepoch))
        e, _, _ = sat.sgp4_array(jd, sat.jdsatepochF + offsets)
        bad = np.flatnonzero(np.asarray(e) != 0)
        if bad.size:
            out.append((i, float(offsets[bad[0]]), int(e[bad[0]])))
    return out


def _warn_failures(constellation: Constellation, status: np.ndarray) -> None:
    failed = status != 0
    if not failed.any():
        return
    for code in np.unique(status[failed]):
        sats = np.flatnonzero((status == code).any(axis=1))
        names = [constellation.names[i] for i in sats]
        listed = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        if code == 6:
            warnings.warn(
                f"{len(names)} satellite(s) decayed during the run (SGP4 error 6: "
                f"{SGP4_STATUS[6]}) and are dropped from geometry from then on: {listed}",
                DecayWarning,
                stacklevel=3,
            )
        else:
            warnings.warn(
                f"SGP4 failed (error {int(code)}: {SGP4_STATUS.get(int(code), 'unknown')}) for "
                f"{len(names)} satellite(s), which are dropped from geometry at those "
                f"times: {listed}",
                SatsimWarning,
                stacklevel=3,
            )
