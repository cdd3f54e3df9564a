"""The link timeline: what every handset experiences at every time step.

This is the link layer's contract with the scheduler. For a chunk of time
steps, :class:`LinkChunk` holds arrays of shape ``(ntime, nh)``:

==========================  =======  ==============================================
field                       dtype    meaning
==========================  =======  ==============================================
``serving_sat``             int32    satellite index (constellation order), -1 none
``serving_beam``            int32    beam index of that satellite, -1 none
``dl_snr_db``               float32  downlink SNR of the serving beam, dB
``dl_sinr_db``              float32  downlink SINR (co-channel beams interfere), dB
``ul_snr_db``               float32  uplink SNR at the serving beam, dB (the
                                     phone's EIRP over the whole carrier)
``ul_sinr_db``              float32  uplink SINR: Earth-fixed cells add the
                                     phones of other co-channel cells at the
                                     satellite; moving beams: equal to the SNR
``cqi``                     int8     TS 36.213 CQI from the SINR (0: out of range)
``spectral_eff``            float32  bits per resource element of that CQI
``elevation_deg``           float32  elevation of the serving satellite
``delay_s``                 float32  one-way delay to the serving satellite
``residual_doppler_hz``     float32  Doppler left after the satellite pre-compensates
                                     for its beam centre
``differential_delay_s``    float32  delay relative to the beam centre, one way
``status``                  uint8    :data:`LINK_STATUS` code; 0 = served
``n_visible``               int16    satellites at or above the serving elevation
                                     mask (served or not)
``service_edge_s``          float32  where service began or ended between the
                                     previous sample and this one: seconds before
                                     this sample (:func:`service_edges_s`); NaN
                                     where service did not change
``hole_start_s``            float32  a coverage hole inside the step before this
``hole_end_s``                       sample, both samples served by different
                                     satellites: seconds before this sample where
                                     the old one set and the new one rose
                                     (:func:`coverage_holes_s`); NaN where none
==========================  =======  ==============================================

plus ``handovers``: one row per change of a served handset's (satellite,
beam) between consecutive steps at which it was served, and
:meth:`LinkChunk.beam_load`: how many handsets each (step, satellite, beam)
serves, as a table of the beams in use (sparse: never a dense steps x
satellites x beams array). Values are NaN / -1 where no satellite serves. With
Earth-fixed cells (``beams.mode: earth_fixed``) the beam index is the cell's. ``satsim.link.serve_links`` / ``iter_link_chunks`` produce
them from the orbit layer, one chunk of time at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..orbits.timegrid import TimeGrid
from . import _kernels, _timeline_kernels
from .cqi import rate_bps_per_rb

#: Status codes per (time step, handset) (the kernel's integers, named).
SERVED = _kernels.SERVED
NO_SATELLITE = _kernels.NO_SATELLITE
NO_BEAM = _kernels.NO_BEAM
LOW_SINR = _kernels.LOW_SINR
DOPPLER = _kernels.DOPPLER
DELAY = _kernels.DELAY
UPLINK_DOPPLER = _kernels.UPLINK_DOPPLER
DOPPLER_RATE = _kernels.DOPPLER_RATE

#: Status code -> meaning, per (time step, handset).
LINK_STATUS = {
    SERVED: "served",
    NO_SATELLITE: "no satellite at or above the elevation mask",
    NO_BEAM: "outside every beam: the best beam's gain toward the handset is more than "
             "beam_edge_db below its peak",
    LOW_SINR: "downlink SINR below the lowest CQI threshold",
    DOPPLER: "downlink residual Doppler beyond what an unmodified phone acquires and tracks",
    DELAY: "differential delay beyond what an unmodified phone tolerates",
    UPLINK_DOPPLER: "uplink residual Doppler (twice the downlink's, scaled) beyond what the "
                    "satellite's receiver accepts",
    DOPPLER_RATE: "residual Doppler changing faster than an unmodified phone follows",
}

#: Short names of the status codes, for summaries and tables.
STATUS_NAMES = {SERVED: "served", NO_SATELLITE: "no_satellite", NO_BEAM: "no_beam",
                LOW_SINR: "low_sinr", DOPPLER: "doppler", DELAY: "delay",
                UPLINK_DOPPLER: "uplink_doppler", DOPPLER_RATE: "doppler_rate"}


#: The (ntime, nh) arrays of a :class:`LinkChunk`, in field order: what joins
#: chunks in time or handset blocks side by side.
PER_HANDSET_FIELDS = ("serving_sat", "serving_beam", "dl_snr_db", "dl_sinr_db", "ul_snr_db",
                      "cqi", "spectral_eff", "elevation_deg", "delay_s", "residual_doppler_hz",
                      "differential_delay_s", "status", "n_visible", "service_edge_s",
                      "ul_sinr_db", "hole_start_s", "hole_end_s")


@dataclass(frozen=True, eq=False)
class LinkChunk:
    """The link timeline for one chunk of time steps (see the module docstring)."""

    times: TimeGrid
    serving_sat: np.ndarray
    serving_beam: np.ndarray
    dl_snr_db: np.ndarray
    dl_sinr_db: np.ndarray
    ul_snr_db: np.ndarray
    cqi: np.ndarray
    spectral_eff: np.ndarray
    elevation_deg: np.ndarray
    delay_s: np.ndarray
    residual_doppler_hz: np.ndarray
    differential_delay_s: np.ndarray
    status: np.ndarray
    handovers: pd.DataFrame
    n_visible: np.ndarray | None = None
    service_edge_s: np.ndarray | None = None
    ul_sinr_db: np.ndarray | None = None
    hole_start_s: np.ndarray | None = None
    hole_end_s: np.ndarray | None = None

    @property
    def rate_per_rb_bps(self) -> np.ndarray:
        """Downlink bit rate one resource block carries at the serving CQI, bit/s
        (``satsim.link.cqi.rate_bps_per_rb``, default LTE overhead), ``(ntime, nh)``."""
        return rate_bps_per_rb(self.cqi)

    @property
    def served(self) -> np.ndarray:
        """True where the handset is served (status 0), ``(ntime, nh)``."""
        return self.status == SERVED

    def beam_load(self) -> pd.DataFrame:
        """Handsets served by each beam in use: one row per (step, satellite, beam)
        with at least one, columns ``time_s``, ``sat``, ``beam``, ``handsets``, by
        step, satellite and beam."""
        tt, hh = np.nonzero(self.served)
        keys = np.stack([tt, self.serving_sat[tt, hh], self.serving_beam[tt, hh]], axis=1)
        rows, counts = (np.unique(keys, axis=0, return_counts=True) if len(keys)
                        else (np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=np.int64)))
        return pd.DataFrame({"time_s": self.times.offsets_s[rows[:, 0]],
                             "sat": rows[:, 1].astype(np.int32),
                             "beam": rows[:, 2].astype(np.int32),
                             "handsets": counts.astype(np.int32)})



def service_edges_s(times_s, status, sinr_db, resid_doppler_hz, diff_delay_s, elevation_deg,
                    elevation_rate_deg_s, rules, sat=None, beam=None) -> np.ndarray:
    """When service began or ended between consecutive samples, timed within the step.

    Inputs are the samples ``0 .. n`` of a stretch of the timeline (``times_s``,
    (n + 1,); the other arrays (n + 1, nh), as in :class:`LinkChunk`); returns
    (n, nh) float32: for sample ``k + 1``, how many seconds before it service
    changed since sample ``k`` (served to not, or back), NaN where it did not.

    The change is placed where the quantity that decided it crosses its limit,
    interpolated linearly between the two samples when both were reported
    against the same satellite and beam (``sat``, ``beam``; the unserved
    sample's status names the quantity): LOW_SINR the SINR against ``rules.min_sinr_db``; DOPPLER,
    UPLINK_DOPPLER and DELAY the residual Doppler (downlink, or uplink at
    ``2 rules.ul_over_dl`` times it) or the differential delay against their
    tolerances; NO_SATELLITE the served sample's elevation, extrapolated with
    its rate to ``rules.min_elevation_deg`` (the satellite sets or rises).
    Anything else (NO_BEAM, DOPPLER_RATE, another beam, values missing, a
    crossing outside the step) falls back to the midpoint, the rule of
    :func:`satsim.orbits.coverage.sample_bounds_s`.

    One pass in numba (:func:`._timeline_kernels.service_edge_before_s`), bit-identical
    to the numpy form it replaced (:func:`_service_edges_numpy`, kept as the reference
    it is tested against).
    """
    t = np.ascontiguousarray(times_s, dtype=np.float64)
    status = np.asarray(status)
    has = sat is not None and beam is not None
    sat = np.asarray(sat) if has else np.zeros((1, 1), np.int32)
    beam = np.asarray(beam) if has else np.zeros((1, 1), np.int32)
    codes = np.array([SERVED, LOW_SINR, DOPPLER, UPLINK_DOPPLER, DELAY, NO_SATELLITE],
                     dtype=status.dtype)
    limits = np.array([rules.min_sinr_db, rules.max_doppler_hz, rules.max_ul_doppler_hz,
                       rules.max_delay_s], dtype=np.float64)
    return _timeline_kernels.service_edge_before_s(
        t, status, np.asarray(sinr_db), np.asarray(resid_doppler_hz), np.asarray(diff_delay_s),
        np.asarray(elevation_deg), np.asarray(elevation_rate_deg_s), sat, beam, has, codes,
        limits, 2.0 * rules.ul_over_dl, float(rules.min_elevation_deg))


def _service_edges_numpy(times_s, status, sinr_db, resid_doppler_hz, diff_delay_s,
                         elevation_deg, elevation_rate_deg_s, rules, sat=None,
                         beam=None) -> np.ndarray:
    """:func:`service_edges_s` in numpy (the reference of its kernel's tests)."""
    t = np.asarray(times_s, dtype=np.float64)
    st = np.asarray(status)
    served = st == SERVED
    a, b = slice(0, -1), slice(1, None)
    change = served[a] != served[b]
    dt = np.diff(t)[:, None]
    frac = np.full(change.shape, 0.5)            # where in the step, from sample k
    unserved_st = np.where(served[a], st[b], st[a])
    sinr = np.asarray(sinr_db, dtype=np.float64)
    resid = np.abs(np.asarray(resid_doppler_hz, dtype=np.float64))
    ddel = np.abs(np.asarray(diff_delay_s, dtype=np.float64))
    margins = {
        LOW_SINR: sinr - rules.min_sinr_db,
        DOPPLER: rules.max_doppler_hz - resid,
        UPLINK_DOPPLER: rules.max_ul_doppler_hz - 2.0 * rules.ul_over_dl * resid,
        DELAY: rules.max_delay_s - ddel,
    }
    same = np.ones(change.shape, dtype=bool)
    if sat is not None and beam is not None:
        same = (np.asarray(sat)[a] == np.asarray(sat)[b]) & (np.asarray(beam)[a]
                                                             == np.asarray(beam)[b])
    with np.errstate(invalid="ignore", divide="ignore"):
        for code, m in margins.items():
            sel = change & same & (unserved_st == code)
            if sel.any():
                m0, m1 = m[a], m[b]
                f = m0 / (m0 - m1)
                ok = sel & np.isfinite(f) & (f >= 0.0) & (f <= 1.0)
                frac = np.where(ok, f, frac)
        sel = change & (unserved_st == NO_SATELLITE)
        if sel.any():
            e = np.asarray(elevation_deg, dtype=np.float64)
            r = np.asarray(elevation_rate_deg_s, dtype=np.float64)
            # service ends: the satellite of sample k sets; begins: that of k + 1 rises
            f_end = (e[a] - rules.min_elevation_deg) / (-r[a]) / dt
            f_begin = 1.0 - (e[b] - rules.min_elevation_deg) / r[b] / dt
            f = np.where(served[a], f_end, f_begin)
            ok = sel & np.isfinite(f) & (f >= 0.0) & (f <= 1.0)
            frac = np.where(ok, f, frac)
    before = np.where(change, (1.0 - frac) * dt, np.nan)
    return before.astype(np.float32)


def coverage_holes_s(times_s, served, sat, elevation_deg, elevation_rate_deg_s,
                     min_elevation_deg: float):
    """Coverage holes inside a step: consecutive samples served by different
    satellites, where the first one set below the mask before the second rose
    above it, so that for a while no satellite served.

    Inputs are the samples ``0 .. n`` (``times_s`` (n + 1,); the rest
    (n + 1, nh)): ``served``, the serving satellite ``sat``, and the elevation
    of the serving satellite and its rate, deg and deg/s, seen from the point
    whose mask decides service (the cell centre with Earth-fixed cells, else
    the handset; needed only where the satellite changes). The set and rise
    times are the elevations extrapolated linearly to ``min_elevation_deg``
    (``t_set = t_k + (e_k - mask) / -rate_k``, ``t_rise = t_k+1 - (e_k+1 -
    mask) / rate_k+1``); a hole is ``[t_set, t_rise]`` where ``t_k <= t_set <
    t_rise <= t_k+1``. Another satellite that might cover part of it (above
    the mask inside the step but serving at neither sample) is not looked for.

    Returns ``(start, end)``, each (n, nh) float32: for sample ``k + 1``, the
    seconds before it where the hole began and ended (start > end), NaN where
    there is none. One pass in numba (:func:`._timeline_kernels.coverage_hole_before_s`),
    bit-identical to the numpy form it replaced (:func:`_coverage_holes_numpy`)."""
    t = np.ascontiguousarray(times_s, dtype=np.float64)
    return _timeline_kernels.coverage_hole_before_s(
        t, np.asarray(served, dtype=bool), np.asarray(sat), np.asarray(elevation_deg),
        np.asarray(elevation_rate_deg_s), float(min_elevation_deg))


def _coverage_holes_numpy(times_s, served, sat, elevation_deg, elevation_rate_deg_s,
                          min_elevation_deg: float):
    """:func:`coverage_holes_s` in numpy (the reference of its kernel's tests)."""
    t = np.asarray(times_s, dtype=np.float64)
    served = np.asarray(served, dtype=bool)
    sat = np.asarray(sat)
    a, b = slice(0, -1), slice(1, None)
    change = served[a] & served[b] & (sat[a] != sat[b])
    dt = np.diff(t)[:, None]
    e = np.asarray(elevation_deg, dtype=np.float64)
    r = np.asarray(elevation_rate_deg_s, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_set = (e[a] - min_elevation_deg) / (-r[a])          # after sample k
        t_rise = dt - (e[b] - min_elevation_deg) / r[b]        # after sample k
        hole = (change & (r[a] < 0.0) & (r[b] > 0.0) & (t_set >= 0.0) & (t_set < t_rise)
                & (t_rise <= dt))
    start = np.where(hole, dt - t_set, np.nan).astype(np.float32)
    end = np.where(hole, dt - t_rise, np.nan).astype(np.float32)
    return start, end
