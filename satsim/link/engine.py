"""The link engine: from ephemerides and handsets to :class:`~satsim.link.timeline.LinkChunk`.

``iter_link_chunks`` streams a run's link timeline one chunk of time steps at
a time (propagation, geometry, path loss, the serving kernel, CQI, beam load
and handover events); ``serve_links`` concatenates the chunks of a short run.
``prepare`` derives the kernel's per-run constants from a
:class:`~satsim.link.config.LinkConfig` once, and :class:`HandoverState`
carries each handset's serving beam and handover timer across chunks.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..orbits.constellation import Constellation
from ..orbits.geometry import visible_links
from ..orbits.handsets import Handsets
from ..orbits.propagation import iter_ephemeris
from ..orbits.timegrid import TimeGrid
from . import _kernels
from .antenna import PATTERN_FLOOR_LIN, payload_aperture_radius_m, pattern_table, scan_loss_db
from .beams import BeamLayout
from .cqi import CQI_EFFICIENCY, CQI_MIN_SINR_DB
from . import losses
from .config import BOLTZMANN_DBW_K_HZ, LinkConfig, Propagation
from .losses import channel_draws
from .timeline import SERVED, LinkChunk


@dataclass(frozen=True)
class _Prepared:
    """Per-run constants of the kernel, derived once from a LinkConfig."""

    layout: BeamLayout
    beam_u: np.ndarray
    beam_v: np.ndarray
    beam_w: np.ndarray
    beam_color: np.ndarray
    beam_eirp_dbw: np.ndarray
    table: np.ndarray
    u_step: float
    ka: float
    floor_lin: float
    beam_edge_lin: float
    dl_noise_db: float
    ul_offset_db: float
    ttt_steps: int


def prepare(config: LinkConfig, step_s: float, altitude_km: float | None = None) -> _Prepared:
    """Derive the kernel's constants (beam EIRPs, noise terms, pattern table)."""
    c, pl, hs = config.carrier, config.payload, config.handset
    layout = config.beam_layout(altitude_km)
    uv = layout.uv
    w = np.sqrt(1.0 - (uv ** 2).sum(axis=1))
    scan = scan_loss_db(layout.scan_angle_deg, pl.scan_loss_exponent)
    beam_bw = c.beam_bandwidth_hz
    eirp = pl.eirp_dbw(beam_bw) - scan
    a = payload_aperture_radius_m(pl, c.dl_center_hz)
    pat = pattern_table(a, c.dl_center_hz, pl.max_gain_dbi)
    handset_losses = hs.body_loss_db + hs.polarization_loss_db + hs.indoor_loss_db
    dl_noise_db = BOLTZMANN_DBW_K_HZ + 10 * math.log10(beam_bw) - hs.gt_db_k + handset_losses
    # uplink: handset EIRP + satellite G/T (at beam peak; the pattern term is
    # added per link) - k - 10 log10 B; the link loss is computed at the
    # downlink frequency, so add back 20 log10(f_dl / f_ul) of free-space loss
    ul_offset_db = (
        hs.eirp_dbw - handset_losses + pl.gt_db_k - BOLTZMANN_DBW_K_HZ
        - 10 * math.log10(beam_bw)
        - 20 * math.log10(c.dl_center_hz / c.ul_center_hz)
    )
    ttt = max(1, math.ceil(config.time_to_trigger_s / step_s - 1e-9)) if step_s > 0 else 1
    return _Prepared(
        layout=layout,
        beam_u=np.ascontiguousarray(uv[:, 0]),
        beam_v=np.ascontiguousarray(uv[:, 1]),
        beam_w=np.ascontiguousarray(w),
        beam_color=np.ascontiguousarray(layout.colors(c.reuse), dtype=np.int64),
        beam_eirp_dbw=np.ascontiguousarray(eirp, dtype=np.float64),
        table=np.ascontiguousarray(pat.gain_lin, dtype=np.float64),
        u_step=float(pat.u_step),
        ka=float(pat.ka),
        floor_lin=float(PATTERN_FLOOR_LIN),
        beam_edge_lin=10.0 ** (-config.beam_edge_db / 10.0),
        dl_noise_db=dl_noise_db,
        ul_offset_db=ul_offset_db,
        ttt_steps=int(ttt),
    )



class HandoverState:
    """Serving beam and handover timer per handset, carried across chunks."""

    def __init__(self, n_handsets: int):
        self.sat = np.full(n_handsets, -1, dtype=np.int64)
        self.beam = np.full(n_handsets, -1, dtype=np.int64)
        self.cand_sat = np.full(n_handsets, -1, dtype=np.int64)
        self.cand_beam = np.full(n_handsets, -1, dtype=np.int64)
        self.timer = np.zeros(n_handsets, dtype=np.int64)
        self.served = np.zeros(n_handsets, dtype=bool)


def _handover_events(times, prev_sat, prev_beam, prev_served, sat, beam, served) -> pd.DataFrame:
    """Rows where a served handset's serving (satellite, beam) differs from the
    previous step, at which it was served too (the nominal best beam of a
    handset outside every beam is not a handover)."""
    nt = sat.shape[0]
    rows_t, rows_h, from_s, from_b = [], [], [], []
    for t in range(nt):  # one vectorised comparison per time step of the chunk
        ps, pb, pv = (prev_sat, prev_beam, prev_served) if t == 0 else (sat[t - 1], beam[t - 1],
                                                                        served[t - 1])
        h = np.flatnonzero(served[t] & pv & ((sat[t] != ps) | (beam[t] != pb)))
        if h.size:
            rows_t.append(np.full(h.size, t))
            rows_h.append(h)
            from_s.append(ps[h])
            from_b.append(pb[h])
    if rows_t:
        t_idx, h_idx = np.concatenate(rows_t), np.concatenate(rows_h)
        fs, fb = np.concatenate(from_s), np.concatenate(from_b)
    else:
        t_idx = h_idx = fs = fb = np.empty(0, dtype=np.int64)
    to_s, to_b = sat[t_idx, h_idx], beam[t_idx, h_idx]
    return pd.DataFrame(
        {
            "time_s": times.offsets_s[t_idx],
            "handset": h_idx.astype(np.int64),
            "from_sat": fs.astype(np.int32),
            "from_beam": fb.astype(np.int32),
            "to_sat": to_s.astype(np.int32),
            "to_beam": to_b.astype(np.int32),
            "kind": pd.Categorical.from_codes((fs != to_s).astype(np.int8),
                                              categories=["beam", "satellite"]),
        }
    )


def link_losses_db(links, n_handsets: int, propagation: Propagation, freq_hz: float,
                   draws) -> np.ndarray:
    """Path loss of every link in dB (TR 38.811), by the numba twin of
    :func:`satsim.link.losses.link_loss_db` (tested equal to it)."""
    p = propagation
    if p.shadow_fading is True or p.clutter_loss is True or p.atmospheric is True:
        losses.atmospheric_loss_db(45.0, freq_hz)  # refuses frequencies outside the tables' band
    tab = losses.channel_table(p.environment)
    if not np.array_equal(tab.elevation_deg, np.arange(10.0, 91.0, 10.0)):
        raise AssertionError("the loss kernel assumes tables on the 10, 20, ..., 90 degree grid")
    scint = (float(losses.scintillation_loss_db(freq_hz)) if p.scintillation is True
             else losses._fixed_db(p.scintillation))
    const_db = (32.45 + 20.0 * math.log10(freq_hz / 1e9) + 60.0 + scint
                + p.shadow_margin_db + p.additional_loss_db)
    out = np.empty(links.range_km.size)
    _kernels.link_losses(
        links.offsets, n_handsets, links.sat, links.elevation_deg, links.range_km,
        draws.u_los, draws.z_shadow, tab.p_los, tab.sigma_los_db, tab.sigma_nlos_db,
        tab.clutter_loss_db, bool(p.los_probability),
        p.shadow_fading is True, 0.0 if p.shadow_fading is True else losses._fixed_db(p.shadow_fading),
        p.clutter_loss is True, 0.0 if p.clutter_loss is True else losses._fixed_db(p.clutter_loss),
        p.atmospheric is True, 0.0 if p.atmospheric is True else losses._fixed_db(p.atmospheric),
        losses.ATMOSPHERIC_ZENITH_LOSS_DB, losses.ATMOSPHERIC_MIN_ELEVATION_DEG, const_db, out,
    )
    return out


def serve_chunk(ephemeris, handsets: Handsets, config: LinkConfig, prepared: _Prepared,
                draws, state: HandoverState, timings: dict | None = None) -> LinkChunk:
    """Evaluate the link timeline for one ephemeris chunk (updates ``state``).

    ``timings``, if given, accumulates wall seconds under "geometry" and "link"."""
    c = config.carrier
    t0 = time.perf_counter()
    links = visible_links(ephemeris, handsets, config.interference_mask_deg, c.dl_center_hz)
    t1 = time.perf_counter()
    loss = link_losses_db(links, len(handsets), config.propagation, c.dl_center_hz, draws)
    nt, nh = len(ephemeris.times), len(handsets)
    # the kernel computes in float64 and stores into these compact arrays
    out_i = [np.empty((nt, nh), dtype=np.int32) for _ in range(2)]
    out_f = [np.empty((nt, nh), dtype=np.float32) for _ in range(7)]
    status = np.empty((nt, nh), dtype=np.uint8)
    prev_sat, prev_beam = state.sat.copy(), state.beam.copy()
    prev_served = state.served.copy()
    p = prepared
    _kernels.serve(
        ephemeris.position_km, ephemeris.velocity_km_s, handsets.position_km, links.offsets,
        links.sat, links.range_km, links.range_rate_km_s, links.elevation_deg, loss,
        float(config.min_elevation_deg),
        p.beam_u, p.beam_v, p.beam_w, p.beam_color, p.beam_eirp_dbw,
        p.table, p.u_step, p.ka, p.floor_lin, p.beam_edge_lin,
        p.dl_noise_db, p.ul_offset_db, float(c.dl_center_hz), float(CQI_MIN_SINR_DB[1]),
        float(config.max_residual_doppler_hz), float(config.max_differential_delay_s),
        config.serving_metric == "sinr", float(config.hysteresis_db), p.ttt_steps,
        state.sat, state.beam, state.cand_sat, state.cand_beam, state.timer,
        *out_i, *out_f, status,
    )
    sat, beam = out_i
    snr, sinr, ul, elev, delay, resid, ddel = out_f
    cqi = np.empty((nt, nh), dtype=np.int8)
    eff = np.empty((nt, nh), dtype=np.float32)
    _kernels.cqi_and_efficiency(sinr, status, CQI_MIN_SINR_DB, CQI_EFFICIENCY, cqi, eff)
    nsat, nbeam = ephemeris.shape[0], p.beam_u.size
    served = status == SERVED
    state.served = served[-1].copy()
    tt, hh = np.nonzero(served)
    flat = (tt * nsat + sat[tt, hh]) * nbeam + beam[tt, hh]
    # count into int32 directly (np.bincount would allocate int64 for every
    # (step, satellite, beam), twice the size of the result)
    cells, counts = np.unique(flat, return_counts=True)
    load = np.zeros(nt * nsat * nbeam, dtype=np.int32)
    load[cells] = counts
    load = load.reshape(nt, nsat, nbeam)
    # satellites above the serving mask per (t, h): a prefix sum over the CSR links
    above = np.concatenate([[0], np.cumsum(links.elevation_deg >= config.min_elevation_deg)])
    n_visible = (above[links.offsets[1:]] - above[links.offsets[:-1]]).astype(np.int16)
    if timings is not None:
        timings["geometry"] = timings.get("geometry", 0.0) + (t1 - t0)
        timings["link"] = timings.get("link", 0.0) + (time.perf_counter() - t1)
    return LinkChunk(
        times=ephemeris.times,
        serving_sat=sat, serving_beam=beam, dl_snr_db=snr, dl_sinr_db=sinr, ul_snr_db=ul,
        cqi=cqi, spectral_eff=eff, elevation_deg=elev, delay_s=delay,
        residual_doppler_hz=resid, differential_delay_s=ddel,
        status=status, beam_load=load, n_visible=n_visible.reshape(nt, nh),
        handovers=_handover_events(ephemeris.times, prev_sat, prev_beam, prev_served, sat, beam,
                                   served),
    )


def iter_link_chunks(
    constellation: Constellation,
    handsets: Handsets,
    times: TimeGrid,
    config: LinkConfig | None = None,
    *,
    chunk_steps: int = 360,
    processes: int = 1,
    timings: dict | None = None,
) -> Iterator[LinkChunk]:
    """The link timeline of a run, one chunk of ``chunk_steps`` time steps at a time.

    Handover state carries across chunks, so the concatenated chunks equal
    an unchunked run exactly. ``timings``, if given, accumulates wall seconds
    per stage: "propagation", "geometry", "link".
    """
    config = config or LinkConfig()
    prepared = prepare(config, times.step_s, float(np.min(constellation.altitude_km)))
    draws = channel_draws(config.seed, len(handsets), len(constellation))
    state = HandoverState(len(handsets))
    ephemerides = iter(iter_ephemeris(constellation, times, chunk_steps, processes=processes))
    while True:
        t0 = time.perf_counter()
        item = next(ephemerides, None)
        if timings is not None:
            timings["propagation"] = timings.get("propagation", 0.0) + time.perf_counter() - t0
        if item is None:
            return
        yield serve_chunk(item[1], handsets, config, prepared, draws, state, timings)


def serve_links(constellation, handsets, times, config=None, *, chunk_steps=360,
                processes=1) -> LinkChunk:
    """The whole link timeline in memory (chunks concatenated); for short runs."""
    chunks = list(iter_link_chunks(constellation, handsets, times, config,
                                   chunk_steps=chunk_steps, processes=processes))
    cat = {name: np.concatenate([getattr(ch, name) for ch in chunks]) for name in (
        "serving_sat", "serving_beam", "dl_snr_db", "dl_sinr_db", "ul_snr_db", "cqi",
        "spectral_eff", "elevation_deg", "delay_s", "residual_doppler_hz",
        "differential_delay_s", "status", "beam_load", "n_visible")}
    return LinkChunk(times=times, handovers=pd.concat([ch.handovers for ch in chunks],
                                                      ignore_index=True), **cat)
