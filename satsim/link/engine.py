"""The link engine: from ephemerides and handsets to :class:`~satsim.link.timeline.LinkChunk`.

``iter_link_chunks`` streams a run's link timeline one chunk of time steps at
a time (propagation, geometry, path loss, the serving kernel, CQI, beam load
and handover events); ``serve_links`` concatenates the chunks of a short run.

The serving kernel (:func:`satsim.link._kernels.serve`) takes a handful of
named records (namedtuples of arrays and floats, which numba reads by field
name): per run, :class:`BeamSet`, :class:`BeamPattern`, :class:`RadioTerms`
and :class:`ServingRules`, derived once from a
:class:`~satsim.link.config.LinkConfig` by ``prepare`` (held in
:class:`Prepared`); per chunk, :class:`LinkGeometry` and the
:class:`LinkOutputs` it fills; and :class:`ServingState`, the arrays of
:class:`HandoverState`, which carries each handset's serving beam and
handover timer across chunks. A new setting of the kernel is a new field of
one record, set in ``prepare``.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..constants import BOLTZMANN_DBW_K_HZ, SPEED_OF_LIGHT_KM_S
from ..orbits.constellation import Constellation
from ..orbits.geometry import visible_links
from ..orbits.handsets import Handsets
from ..orbits.propagation import DEFAULT_MAX_EPOCH_AGE_DAYS, iter_ephemeris
from ..orbits.timegrid import TimeGrid
from . import _kernels, _timeline_kernels, atmosphere, losses, substeps
from .antenna import (
    PATTERN_FLOOR_LIN,
    pattern_table,
    payload_aperture_radius_m,
    scan_loss_db,
)
from .beams import BeamLayout
from .cell_engine import (
    CellState,
    assign_cells_chunk,
    check_doppler_rate_cells,
    prepare_cells,
    serve_cells_chunk,
)
from .config import LinkConfig, Propagation
from .cqi import CQI_EFFICIENCY, CQI_MIN_SINR_DB
from .losses import channel_draws
from .timeline import PER_HANDSET_FIELDS, SERVED, LinkChunk, coverage_holes_s, service_edges_s


class LinkGeometry(NamedTuple):
    """Per chunk: the ephemeris, the handsets and the links of every (step, handset).

    The serving kernel's geometry record (:func:`satsim.link._kernels.serve`);
    build it with :meth:`of`. ``nsat`` satellites, ``nt`` steps, ``nh`` handsets.
    """

    #: (nsat, nt, 3) satellite positions, ITRS, km.
    sat_pos_km: np.ndarray
    #: (nsat, nt, 3) satellite velocities, ITRS, km/s.
    sat_vel_km_s: np.ndarray
    #: (nh, 3) handset positions, ITRS, km.
    handset_pos_km: np.ndarray
    #: (nt * nh + 1,) CSR offsets: the links of (t, h) are ``offsets[t*nh+h] : offsets[t*nh+h+1]``.
    offsets: np.ndarray
    #: Per link: satellite index.
    sat: np.ndarray
    #: Per link: slant range, km.
    range_km: np.ndarray
    #: Per link: range rate, km/s (positive when the satellite recedes).
    range_rate_km_s: np.ndarray
    #: Per link: elevation of the satellite seen from the handset, deg.
    elevation_deg: np.ndarray
    #: Per link: total path loss at the downlink frequency, dB.
    loss_db: np.ndarray

    @classmethod
    def of(cls, ephemeris, handsets: Handsets, links, loss_db: np.ndarray) -> LinkGeometry:
        """From an ephemeris chunk, the handsets, their ``VisibleLinks`` and per-link loss (dB)."""
        return cls(ephemeris.position_km, ephemeris.velocity_km_s, handsets.position_km,
                   links.offsets, links.sat, links.range_km, links.range_rate_km_s,
                   links.elevation_deg, loss_db)


class BeamSet(NamedTuple):
    """Per run: the beams every satellite carries (one layout for all), ``nb`` of them."""

    #: (nb,) boresight body-frame components (x along-track, y, z nadir), unit vectors.
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    #: (nb,) int64 reuse colour, 0 .. colours - 1: beams of one colour share a carrier.
    color: np.ndarray
    #: (nb,) EIRP at the beam peak over the beam's bandwidth, dBW, scan loss included.
    eirp_dbw: np.ndarray
    #: (nb,) the same in W, ``10^(eirp_dbw / 10)`` (set together by :func:`prepare`).
    eirp_lin: np.ndarray


class BeamPattern(NamedTuple):
    """Per run: the normalised beam pattern (:class:`~satsim.link.antenna.PatternTable`)."""

    #: (n,) normalised linear gain at ``u = i * u_step``, ``u = k a sin(theta)``.
    gain_lin: np.ndarray
    #: Grid step in u.
    u_step: float
    #: ``k a`` of the aperture (u at theta = 90 deg).
    ka: float
    #: Normalised gain at or beyond 90 deg off boresight, linear.
    floor_lin: float


class RadioTerms(NamedTuple):
    """Per run: the link-budget terms that are the same for every link."""

    #: Downlink noise referred to the handset's antenna input before its G/T:
    #: ``k + 10 log10 B - G/T_ue + handset losses``, dB(W); SNR = P - this.
    dl_noise_db: float
    #: The same in W, ``10^(dl_noise_db / 10)`` (set together by :func:`prepare`).
    dl_noise_lin: float
    #: Uplink SNR of a link = this + the beam's normalised gain (dB) - the
    #: link's downlink loss (dB): handset EIRP, satellite G/T, k, bandwidth and
    #: the free-space loss scaled to the uplink frequency.
    ul_offset_db: float
    #: Downlink carrier frequency, Hz (residual Doppler).
    dl_freq_hz: float
    #: Uplink interference over noise at the satellite from one phone, per unit
    #: of the receive beam's normalised gain toward it, over its range in km
    #: squared: ``uplink_activity x 10^((ul_offset_db - FSPL(1 km)) / 10)`` with the
    #: links' free-space loss at the downlink frequency (the Earth-fixed kernel;
    #: 0: no uplink interference).
    ul_interf_coeff: float = 0.0


class ServingRules(NamedTuple):
    """Per run: which beams a phone may camp on, and when the serving beam changes."""

    #: Serving mask: links below it interfere but do not serve, deg.
    min_elevation_deg: float
    #: A handset is inside a beam when its normalised gain is at least this
    #: (linear, ``10^(-beam_edge_db / 10)``).
    beam_edge_lin: float
    #: The phone's residual-Doppler tolerance, Hz.
    max_doppler_hz: float
    #: The phone's differential-delay tolerance, s.
    max_delay_s: float
    #: A serving link below this SINR has status LOW_SINR (CQI 1's threshold), dB.
    min_sinr_db: float
    #: Rank beams by SINR (True) or by received power (False).
    use_sinr_metric: bool
    #: A candidate must beat the serving beam's metric by this factor
    #: (``10^(hysteresis_db / 10)``; 1.0: no hysteresis) ...
    hysteresis_lin: float
    #: ... for this many consecutive steps (time-to-trigger; 1: at once).
    ttt_steps: int
    #: The satellite receiver's uplink residual-Doppler tolerance, Hz.
    max_ul_doppler_hz: float = math.inf
    #: Uplink over downlink carrier frequency (the uplink residual scales with it).
    ul_over_dl: float = 1.0
    #: The phone's tolerance of a changing residual Doppler, Hz/s.
    max_doppler_rate_hz_s: float = math.inf
    #: No residual Doppler rate of the run can exceed this, Hz/s
    #: (:func:`doppler_rate_bound_hz_s`): at or below the phone's tolerance the
    #: kernels skip computing the rate (inf: always compute).
    doppler_rate_bound_hz_s: float = math.inf


class ServingState(NamedTuple):
    """Per handset, carried across chunks and updated in place by the kernel
    (the arrays of a :class:`HandoverState`, int64, -1 for none)."""

    #: Serving satellite and beam.
    sat: np.ndarray
    beam: np.ndarray
    #: Handover candidate (satellite, beam) and for how many consecutive steps
    #: it has beaten the serving beam by more than the hysteresis.
    cand_sat: np.ndarray
    cand_beam: np.ndarray
    timer: np.ndarray


class LinkOutputs(NamedTuple):
    """Per chunk: what the kernel writes for every (step, handset), shape (nt, nh).

    -1 / NaN where nothing serves (status NO_SATELLITE); see
    :class:`~satsim.link.timeline.LinkChunk` for the meaning of each.
    """

    sat: np.ndarray
    beam: np.ndarray
    snr_db: np.ndarray
    sinr_db: np.ndarray
    ul_snr_db: np.ndarray
    elevation_deg: np.ndarray
    delay_s: np.ndarray
    resid_doppler_hz: np.ndarray
    diff_delay_s: np.ndarray
    status: np.ndarray
    ul_sinr_db: np.ndarray

    @classmethod
    def empty(cls, nt: int, nh: int, index_dtype=np.int32, value_dtype=np.float32) -> LinkOutputs:
        """Uninitialised outputs; the kernel computes in float64 and stores into
        ``value_dtype`` (float32 by default: compact chunks)."""
        return cls(*(np.empty((nt, nh), dtype=index_dtype) for _ in range(2)),
                   *(np.empty((nt, nh), dtype=value_dtype) for _ in range(7)),
                   np.empty((nt, nh), dtype=np.uint8), np.empty((nt, nh), dtype=value_dtype))


class LossModel(NamedTuple):
    """Per run: the path-loss model of :func:`satsim.link._kernels.link_losses`
    (TR 38.811 §6.6, as ``losses.link_loss_db``): the channel draws, the
    environment's tables on the 10, 20, ..., 90 degree elevation grid, which
    terms are modelled or fixed, and for carriers from 6 GHz the per-carrier
    terms of gaseous absorption (ITU-R P.676-12) and tropospheric
    scintillation (ITU-R P.618-13), both per link by elevation."""

    #: (nh, nsat) uniform draws: a link is LOS while ``u_los < p_los(elevation)``.
    u_los: np.ndarray
    #: (nh, nsat) standard normal draws: shadow fading ``sigma * z_shadow``, dB.
    z_shadow: np.ndarray
    #: (9,) LOS probability per elevation row.
    p_los: np.ndarray
    #: (9,) shadow-fading standard deviation of LOS and NLOS links, dB.
    sigma_los_db: np.ndarray
    sigma_nlos_db: np.ndarray
    #: (9,) clutter loss of NLOS links, dB.
    clutter_loss_db: np.ndarray
    #: Draw the LOS state (False: every link is LOS).
    draw_los: bool
    #: Shadow fading from the table and draws (True) or ``shadow_fixed_db``.
    shadow_from_table: bool
    shadow_fixed_db: float
    #: Clutter loss of NLOS links from the table (True) or ``clutter_fixed_db``.
    clutter_from_table: bool
    clutter_fixed_db: float
    #: Atmospheric loss ``zenith / sin(elevation)`` (True) or ``atmospheric_fixed_db``.
    atmospheric_from_model: bool
    atmospheric_fixed_db: float
    #: Zenith atmospheric loss, dB, and the elevation below which it is held, deg.
    atmospheric_zenith_db: float
    atmospheric_min_elevation_deg: float
    #: Every term the same for all links: free-space constant
    #: ``32.45 + 20 log10(f / GHz) + 60`` (range in km), scintillation below
    #: 6 GHz (ionospheric: no elevation), margins, dB.
    common_db: float
    #: From 6 GHz, the modelled atmospheric loss is P.676-12's slant path
    #: (``_atmosphere_kernels.gas_slant_loss_db``) instead of ``atmospheric_zenith_db``
    #: over sin(elevation), with these zenith attenuations (dB) and equivalent
    #: heights (km) of oxygen and water vapour (``atmosphere.GasPathTerms``).
    gas_from_p676: bool = False
    gas_zenith_oxygen_db: float = 0.0
    gas_zenith_water_db: float = 0.0
    gas_h_oxygen_km: float = 1.0
    gas_h_water_km: float = 1.0
    #: From 6 GHz, the modelled scintillation is P.618-13's tropospheric fade
    #: depth per link (``_atmosphere_kernels.tropo_scintillation_db``) with the
    #: carrier (GHz), N_wet, the effective antenna diameter sqrt(efficiency) x
    #: diameter (m) and the time factor a(p).
    tropo_scintillation: bool = False
    scint_freq_ghz: float = 0.0
    scint_nwet: float = 0.0
    scint_effective_diameter_m: float = 0.0
    scint_time_factor: float = 0.0


def _lin_from_db(x_db):
    """``10^(x / 10)``, one Python float at a time: the C library's ``pow``, as in
    the kernels' own arithmetic (numpy's SIMD ``power`` differs from it in the
    last bit for some inputs), so the kernels' results do not depend on where
    the conversion is done."""
    if np.ndim(x_db):
        return np.array([10.0 ** (x / 10.0) for x in np.asarray(x_db, dtype=np.float64).tolist()])
    return 10.0 ** (float(x_db) / 10.0)


@dataclass(frozen=True)
class Prepared:
    """Per-run constants of the serving kernel, derived once from a LinkConfig
    by :func:`prepare`: the beam layout and the kernel's per-run records."""

    layout: BeamLayout
    beams: BeamSet
    pattern: BeamPattern
    radio: RadioTerms
    rules: ServingRules


#: Bounds of the residual Doppler rate (:func:`doppler_rate_bound_hz_s`): the
#: fastest a satellite moves in ITRS, km/s (a circular orbit at 150 km, 7.8, plus
#: the Earth's rotation at the equator, 0.47, with margin), and its largest
#: acceleration there, km/s^2 (gravity 0.0095 plus the rotating-frame terms).
_V_MAX_KM_S = 8.5
_A_MAX_KM_S2 = 0.012


def doppler_rate_bound_hz_s(dl_freq_hz: float, altitude_km: float | None) -> float:
    """An upper bound of any residual Doppler rate of the run, Hz/s (inf when
    the altitude is unknown).

    A ground point's range acceleration is ``(|v|² + rho.a - rdot²) / rho <=
    v²/rho + |a|``; the residual is the handset's minus the compensated
    point's (a cell centre: the same bound; a moving beam's centre: ``|b.a +
    W.(b x v)| <= |a| + v²/r``), so ``|rate| <= f/c (2 v²/h + 3 |a|)`` with the
    range at least the altitude ``h`` (taken at 90 % for eccentric orbits)."""
    if altitude_km is None or not altitude_km > 0:
        return math.inf
    h = 0.9 * altitude_km
    return dl_freq_hz / SPEED_OF_LIGHT_KM_S * (2.0 * _V_MAX_KM_S ** 2 / h + 3.0 * _A_MAX_KM_S2)


def uplink_interference_coeff(config: LinkConfig, ul_offset_db: float) -> float:
    """``RadioTerms.ul_interf_coeff``: with Earth-fixed cells, each co-channel
    cell's phone (at the handset's EIRP, free-space loss to the satellite at
    the downlink frequency, scaled to the uplink's by ``ul_offset_db``) times
    ``beams.uplink_activity``; 0 for moving beams (no uplink interference)."""
    if config.beams.mode != "earth_fixed":
        return 0.0
    # the links' own free-space formula (TR 38.811 §6.6.2) at 1 km: then / r² at r km
    fspl_1km_db = float(losses.fspl_db(1.0, config.carrier.dl_center_hz))
    return float(config.beams.uplink_activity) * 10.0 ** ((ul_offset_db - fspl_1km_db) / 10.0)


def prepare(config: LinkConfig, step_s: float, altitude_km: float | None = None) -> Prepared:
    """Derive the kernel's per-run records (beams, pattern, radio terms,
    serving rules) from ``config``; ``step_s`` sets the time-to-trigger in steps."""
    c, pl, hs = config.carrier, config.payload, config.handset
    layout = config.beam_layout(altitude_km)
    uv = layout.uv
    w = np.sqrt(1.0 - (uv ** 2).sum(axis=1))
    scan = scan_loss_db(layout.scan_angle_deg, pl.scan_loss_exponent)
    beam_bw = c.beam_bandwidth_hz
    eirp = pl.eirp_dbw(beam_bw) - scan
    a = payload_aperture_radius_m(pl, c.dl_center_hz)
    pat = pattern_table(a, c.dl_center_hz, pl.max_gain_dbi)
    handset_losses = config.propagation.handset_loss_db
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
    eirp_dbw = np.ascontiguousarray(eirp, dtype=np.float64)
    return Prepared(
        layout=layout,
        beams=BeamSet(
            u=np.ascontiguousarray(uv[:, 0]),
            v=np.ascontiguousarray(uv[:, 1]),
            w=np.ascontiguousarray(w),
            color=np.ascontiguousarray(layout.colors(c.reuse), dtype=np.int64),
            eirp_dbw=eirp_dbw,
            eirp_lin=_lin_from_db(eirp_dbw),
        ),
        pattern=BeamPattern(
            gain_lin=np.ascontiguousarray(pat.gain_lin, dtype=np.float64),
            u_step=float(pat.u_step),
            ka=float(pat.ka),
            floor_lin=float(PATTERN_FLOOR_LIN),
        ),
        radio=RadioTerms(
            dl_noise_db=dl_noise_db,
            dl_noise_lin=_lin_from_db(dl_noise_db),
            ul_offset_db=ul_offset_db,
            dl_freq_hz=float(c.dl_center_hz),
            ul_interf_coeff=uplink_interference_coeff(config, ul_offset_db),
        ),
        rules=ServingRules(
            min_elevation_deg=float(config.min_elevation_deg),
            beam_edge_lin=10.0 ** (-config.beams.edge_db / 10.0),
            max_doppler_hz=float(config.max_residual_doppler_hz),
            max_delay_s=float(config.max_differential_delay_s),
            min_sinr_db=float(CQI_MIN_SINR_DB[1]),
            use_sinr_metric=config.serving_metric == "sinr",
            hysteresis_lin=_lin_from_db(config.hysteresis_db),
            ttt_steps=int(ttt),
            max_ul_doppler_hz=float(config.max_uplink_residual_doppler_hz),
            ul_over_dl=float(c.ul_center_hz / c.dl_center_hz),
            max_doppler_rate_hz_s=float(config.max_doppler_rate_hz_s),
            doppler_rate_bound_hz_s=doppler_rate_bound_hz_s(c.dl_center_hz, altitude_km),
        ),
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
        #: The previous chunk's last sample (time, then the (1, nh) rows
        #: :func:`~satsim.link.timeline.service_edges_s` reads), None before the first.
        self.last_sample: tuple | None = None
        #: The same for :func:`~satsim.link.timeline.coverage_holes_s`: (time, rows
        #: of served, sat, elevation and its rate at the serving point).
        self.last_hole_sample: tuple | None = None

    @property
    def serving(self) -> ServingState:
        """The kernel's view of this state (the same arrays, updated in place)."""
        return ServingState(self.sat, self.beam, self.cand_sat, self.cand_beam, self.timer)


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


def _above_6ghz_terms(p: Propagation, freq_hz: float) -> dict:
    """The :class:`LossModel` fields of the above-6 GHz models for a carrier of
    ``freq_hz`` (none below 6 GHz, where the sub-6 GHz models hold)."""
    terms = {}
    if freq_hz < losses.SUB6_MAX_FREQ_HZ:
        return terms
    if p.atmospheric is True:
        gas = atmosphere.gas_path_terms(freq_hz, p.surface_pressure_hpa, p.surface_temperature_k,
                                        p.water_vapour_density_g_m3)
        terms.update(gas_from_p676=True, gas_zenith_oxygen_db=gas.zenith_oxygen_db,
                     gas_zenith_water_db=gas.zenith_water_db, gas_h_oxygen_km=gas.h_oxygen_km,
                     gas_h_water_km=gas.h_water_km)
    if p.scintillation is True:
        terms.update(
            tropo_scintillation=True, scint_freq_ghz=freq_hz / 1e9,
            scint_nwet=float(atmosphere.wet_refractivity(p.water_vapour_density_g_m3,
                                                         p.surface_temperature_k)),
            scint_effective_diameter_m=math.sqrt(p.terminal_antenna_efficiency)
            * p.terminal_antenna_diameter_m,
            scint_time_factor=float(atmosphere.scintillation_time_factor(
                p.scintillation_percent_time)))
    return terms


def link_losses_db(links, n_handsets: int, propagation: Propagation, freq_hz: float,
                   draws) -> np.ndarray:
    """Path loss of every link in dB (TR 38.811), by the numba twin of
    :func:`satsim.link.losses.link_loss_db` (tested equal to it)."""
    p = propagation
    losses.check_carrier(p, freq_hz)
    tab = losses.channel_table(p.environment)
    if not np.array_equal(tab.elevation_deg, np.arange(10.0, 91.0, 10.0)):
        raise AssertionError("the loss kernel assumes tables on the 10, 20, ..., 90 degree grid")
    if p.scintillation is not True:
        scint = losses._fixed_db(p.scintillation)
    elif freq_hz < losses.SUB6_MAX_FREQ_HZ:
        scint = float(losses.scintillation_loss_db(freq_hz))  # ionospheric: every link alike
    else:
        scint = 0.0  # tropospheric: per link, by elevation, in the kernel
    const_db = (32.45 + 20.0 * math.log10(freq_hz / 1e9) + 60.0 + scint
                + p.shadow_margin_db + p.additional_loss_db)
    model = LossModel(
        u_los=draws.u_los, z_shadow=draws.z_shadow,
        p_los=tab.p_los, sigma_los_db=tab.sigma_los_db, sigma_nlos_db=tab.sigma_nlos_db,
        clutter_loss_db=tab.clutter_loss_db,
        draw_los=bool(p.los_probability),
        shadow_from_table=p.shadow_fading is True,
        shadow_fixed_db=0.0 if p.shadow_fading is True else losses._fixed_db(p.shadow_fading),
        clutter_from_table=p.clutter_loss is True,
        clutter_fixed_db=0.0 if p.clutter_loss is True else losses._fixed_db(p.clutter_loss),
        atmospheric_from_model=p.atmospheric is True,
        atmospheric_fixed_db=0.0 if p.atmospheric is True else losses._fixed_db(p.atmospheric),
        atmospheric_zenith_db=losses.ATMOSPHERIC_ZENITH_LOSS_DB,
        atmospheric_min_elevation_deg=losses.ATMOSPHERIC_MIN_ELEVATION_DEG,
        common_db=const_db,
        **_above_6ghz_terms(p, freq_hz),
    )
    out = np.empty(links.range_km.size)
    _kernels.link_losses(links.offsets, n_handsets, links.sat, links.elevation_deg, links.range_km,
                         model, out)
    return out


def visible_links_for(ephemeris, handsets: Handsets, config: LinkConfig,
                      cells: CellState | None, keep: np.ndarray | None = None):
    """The links :func:`serve_chunk` evaluates: every satellite above the
    interference mask; with Earth-fixed cells the satellite serving a cell is
    chosen at its centre, so the phones' links are found a little lower
    (``CellState.link_mask_margin_deg``), where it is always among them.
    ``keep`` ((nt, nh) bool): only those (t, h) keep their links."""
    mask = config.interference_mask_deg - (cells.link_mask_margin_deg if cells else 0.0)
    links = visible_links(ephemeris, handsets, max(mask, 0.0), config.carrier.dl_center_hz,
                          azimuth=False)
    if keep is None:
        return links
    keep = np.asarray(keep, dtype=bool).ravel()
    counts = np.diff(links.offsets)
    per_link = np.repeat(keep, counts)
    offsets = np.zeros_like(links.offsets)
    np.cumsum(np.where(keep, counts, 0), out=offsets[1:])
    return dataclasses.replace(
        links, offsets=offsets,
        **{f: getattr(links, f)[per_link] for f in ("sat", "elevation_deg", "range_km",
                                                    "range_rate_km_s")})


def serve_chunk(ephemeris, handsets: Handsets, config: LinkConfig, prepared: Prepared,
                draws, state: HandoverState, timings: dict | None = None,
                cells: CellState | None = None, fine: tuple | None = None) -> LinkChunk:
    """Evaluate the link timeline for one ephemeris chunk (updates ``state``, and
    ``cells``: the Earth-fixed cells' state, None for moving beams).

    ``fine`` (``link.substep_s``, with cells): ``(fine ephemeris, rows of the
    samples in it, points per step)`` from
    :func:`~satsim.link.substeps.fine_ephemerides`: the cells are assigned on
    the fine grid, and the phones whose serving satellite changes within a
    step are evaluated on it (:mod:`satsim.link.substeps`).

    ``timings``, if given, accumulates wall seconds under "geometry" and "link"."""
    c = config.carrier
    t0 = time.perf_counter()
    links = visible_links_for(ephemeris, handsets, config, cells)
    t1 = time.perf_counter()
    loss = link_losses_db(links, len(handsets), config.propagation, c.dl_center_hz, draws)
    nt, nh = len(ephemeris.times), len(handsets)
    prev_sat, prev_beam = state.sat.copy(), state.beam.copy()
    prev_served = state.served.copy()
    p = prepared
    out = LinkOutputs.empty(nt, nh)
    geometry = LinkGeometry.of(ephemeris, handsets, links, loss)
    assigned = fine_assigned = None      # fine_assigned: the cells on the fine grid
    if cells is None:
        _kernels.serve(geometry, p.beams, p.pattern, p.radio, p.rules, state.serving, out)
    else:
        if fine is not None:
            fine_assigned = assign_cells_chunk(fine[0], config, cells)
            assigned = tuple(a[fine[1]] for a in fine_assigned)
        serve_cells_chunk(ephemeris, geometry, config, cells, p.radio, p.rules, out,
                          assigned=assigned)
    _check_doppler_rate(ephemeris, handsets, p, cells, out)
    sat, beam, status = out.sat, out.beam, out.status
    cqi = np.empty((nt, nh), dtype=np.int8)
    eff = np.empty((nt, nh), dtype=np.float32)
    _kernels.cqi_and_efficiency(out.sinr_db, status, CQI_MIN_SINR_DB, CQI_EFFICIENCY, cqi, eff)
    served = status == SERVED
    state.served = served[-1].copy()
    edges = _service_edges(ephemeris, handsets, out, p.rules, state)
    prev_hole = state.last_hole_sample
    hole_start, hole_end = _coverage_holes(ephemeris, handsets, out, p.rules, state, cells)
    if fine_assigned is not None:
        kk, hh = substeps.changed_pairs(out, prev_hole)
        substeps.refine_holes(fine[0], fine[1], fine_assigned, fine[2], handsets, config, p,
                              draws, cells, kk, hh, hole_start, hole_end)
    # satellites above the serving mask per (t, h): a count over each row of the CSR links
    elev = links.elevation_deg  # the mask in the links' dtype, as numpy compared them
    n_visible = _timeline_kernels.count_at_or_above(links.offsets, elev,
                                                    elev.dtype.type(p.rules.min_elevation_deg))
    if timings is not None:
        timings["geometry"] = timings.get("geometry", 0.0) + (t1 - t0)
        timings["link"] = timings.get("link", 0.0) + (time.perf_counter() - t1)
    return LinkChunk(
        times=ephemeris.times,
        serving_sat=sat, serving_beam=beam, dl_snr_db=out.snr_db, dl_sinr_db=out.sinr_db,
        ul_snr_db=out.ul_snr_db, ul_sinr_db=out.ul_sinr_db, cqi=cqi, spectral_eff=eff,
        elevation_deg=out.elevation_deg,
        delay_s=out.delay_s, residual_doppler_hz=out.resid_doppler_hz,
        differential_delay_s=out.diff_delay_s,
        status=status, n_visible=n_visible.reshape(nt, nh),
        service_edge_s=edges, hole_start_s=hole_start, hole_end_s=hole_end,
        handovers=_handover_events(ephemeris.times, prev_sat, prev_beam, prev_served, sat, beam,
                                   served),
    )


def _check_doppler_rate(ephemeris, handsets: Handsets, p: Prepared, cells, out) -> None:
    """Served links whose residual Doppler changes faster than the phone follows
    become DOPPLER_RATE; skipped when no rate of the run can exceed the
    tolerance (``ServingRules.doppler_rate_bound_hz_s``)."""
    rules = p.rules
    if not rules.max_doppler_rate_hz_s < rules.doppler_rate_bound_hz_s:
        return
    pos, vel = ephemeris.position_km, ephemeris.velocity_km_s
    if cells is None:
        _kernels.doppler_rate_check(out.status, out.sat, out.beam, pos, vel,
                                    _kernels.body_frames(pos, vel), handsets.position_km,
                                    p.beams.u, p.beams.v, p.beams.w, p.radio.dl_freq_hz,
                                    rules.max_doppler_rate_hz_s)
    else:
        check_doppler_rate_cells(ephemeris, handsets, cells, p.radio.dl_freq_hz,
                                 rules.max_doppler_rate_hz_s, out)


def elevation_rate_deg_s(r, v, p) -> np.ndarray:
    """Rate of change of a satellite's elevation seen from ground points ``p``
    (ITRS, km, (..., 3); satellite at ``r`` with velocity ``v``, km and km/s),
    deg/s: with ``rho = r - p`` and the geocentric up ``n``, ``sin e = n.rho_hat``
    and ``d(sin e)/dt = n.(v - rho_hat (rho_hat.v)) / |rho|`` (the geodetic up
    differs by under 0.2 deg: a rate error under 0.4 %)."""
    n = p / np.linalg.norm(p, axis=-1, keepdims=True)
    d = r - p
    rng = np.linalg.norm(d, axis=-1, keepdims=True)
    d = d / rng
    rv = (d * v).sum(axis=-1, keepdims=True)
    dsin = (n * (v - d * rv)).sum(axis=-1) / rng[..., 0]
    sin_e = (n * d).sum(axis=-1)
    return np.degrees(dsin / np.sqrt(np.maximum(1.0 - sin_e ** 2, 1e-12)))


def _elevation_rates(ephemeris, handsets: Handsets, out: LinkOutputs,
                     prev_served: np.ndarray) -> np.ndarray:
    """(nt, nh) elevation rate of the serving satellite, deg/s, where
    :func:`~satsim.link.timeline.service_edges_s` may need it: served samples
    next to a change of service, and the chunk's last row; NaN elsewhere."""
    served = out.status == SERVED
    before = np.vstack([prev_served[None, :], served[:-1]])
    after = np.vstack([served[1:], np.ones((1, served.shape[1]), dtype=bool)])
    need = served & ((before != served) | (after != served))
    need[-1] |= served[-1]
    rate = np.full(served.shape, np.nan, dtype=np.float32)
    tt, hh = np.nonzero(need)
    if tt.size:
        ss = out.sat[tt, hh]
        rate[tt, hh] = elevation_rate_deg_s(ephemeris.position_km[ss, tt],
                                            ephemeris.velocity_km_s[ss, tt],
                                            handsets.position_km[hh])
    return rate


def _across_chunks(state, attr: str, times_s: np.ndarray, rows: tuple, compute) -> tuple:
    """``compute(times, rows)`` over a chunk's samples with the previous chunk's
    last sample in front (kept in ``state.<attr>`` as ``(time, rows)``, each row
    (1, nh); updated here to this chunk's last), so that each output has a row
    per sample of the chunk: the step ending at it; NaN on the run's first
    sample. ``compute`` returns a tuple of (steps, nh) arrays."""
    prev = getattr(state, attr)
    setattr(state, attr, (float(times_s[-1]), tuple(r[-1:].copy() for r in rows)))
    if prev is None:        # nothing before the run's first sample
        return tuple(np.vstack([np.full((1, o.shape[1]), np.nan, dtype=o.dtype), o])
                     for o in compute(times_s, rows))
    t = np.concatenate([[prev[0]], times_s])
    return compute(t, [np.concatenate([p_, r]) for p_, r in zip(prev[1], rows)])


def _service_edges(ephemeris, handsets: Handsets, out: LinkOutputs, rules: ServingRules,
                   state: HandoverState) -> np.ndarray:
    """``LinkChunk.service_edge_s`` of a chunk: the previous chunk's last sample
    (kept in ``state.last_sample``) and this chunk's, through
    :func:`~satsim.link.timeline.service_edges_s` (:func:`_across_chunks`)."""
    prev = state.last_sample
    prev_status = out.status[0] if prev is None else prev[1][0][0]
    rates = _elevation_rates(ephemeris, handsets, out, prev_status == SERVED)
    rows = (out.status, out.sinr_db, out.resid_doppler_hz, out.diff_delay_s, out.elevation_deg,
            rates, out.sat, out.beam)
    (edges,) = _across_chunks(state, "last_sample", ephemeris.times.offsets_s, rows,
                              lambda t, full: (service_edges_s(t, *full[:6], rules, sat=full[6],
                                                               beam=full[7]),))
    return edges


def _serving_points(handsets: Handsets, cells: CellState | None):
    """Where the mask decides service, per handset: ``(position_km, geodetic up)``,
    each (nh, 3): its cell's centre with Earth-fixed cells (the cell keeps its
    satellite while that one is above the mask there), else the handset."""
    if cells is None:
        return handsets.position_km, handsets.enu_basis[2]
    centres = cells.grid.centres
    return (centres.position_km[cells.handset_cell],
            centres.enu_basis[2][cells.handset_cell])


def _coverage_holes(ephemeris, handsets: Handsets, out: LinkOutputs, rules: ServingRules,
                    state: HandoverState, cells: CellState | None):
    """``LinkChunk.hole_start_s`` / ``hole_end_s`` of a chunk
    (:func:`~satsim.link.timeline.coverage_holes_s`, across the border with the
    previous chunk's last sample, kept in ``state.last_hole_sample``:
    :func:`_across_chunks`): the serving satellite's elevation and rate at the
    serving point are computed only next to a change of satellite between
    served samples, and on the chunk's last row."""
    served, sat = out.status == SERVED, out.sat
    prev = state.last_hole_sample
    p_served = served[0] if prev is None else prev[1][0][0]
    p_sat = sat[0] if prev is None else prev[1][1][0]
    # the step ending at each sample changes satellite between served samples
    change = (np.vstack([p_served[None, :], served[:-1]]) & served
              & (np.vstack([p_sat[None, :], sat[:-1]]) != sat))
    need = change.copy()            # the sample after the change, the one before (the
    need[:-1] |= change[1:]         # previous chunk's last: computed there, being served)
    need[-1] |= served[-1]
    elev = np.full(served.shape, np.nan)
    rate = np.full(served.shape, np.nan)
    tt, hh = np.nonzero(need)
    if tt.size:
        ss = sat[tt, hh]
        pos, up = _serving_points(handsets, cells)
        r, v = ephemeris.position_km[ss, tt], ephemeris.velocity_km_s[ss, tt]
        d = r - pos[hh]
        sin_e = (d * up[hh]).sum(axis=1) / np.linalg.norm(d, axis=1)
        elev[tt, hh] = np.degrees(np.arcsin(np.clip(sin_e, -1.0, 1.0)))
        rate[tt, hh] = elevation_rate_deg_s(r, v, pos[hh])
    return _across_chunks(state, "last_hole_sample", ephemeris.times.offsets_s,
                          (served, sat, elev, rate),
                          lambda t, full: coverage_holes_s(t, *full, rules.min_elevation_deg))


def prepare_cells_for(config: LinkConfig, handsets: Handsets,
                      constellation) -> CellState | None:
    """The Earth-fixed cells of a run (``beams.mode: earth_fixed``), else None."""
    if config.beams.mode != "earth_fixed":
        return None
    return prepare_cells(config, handsets, float(np.min(constellation.altitude_km)))


def iter_chunk_ephemerides(constellation, times: TimeGrid, config: LinkConfig, chunk_steps: int,
                           *, processes: int = 1,
                           max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
                           knot_step_s: float | None = None) -> Iterator[tuple]:
    """Per chunk, ``(ephemeris of the samples, fine)`` as :func:`serve_chunk`
    takes them: ``fine`` None, or with ``link.substep_s`` (Earth-fixed cells)
    ``(fine ephemeris, rows of the samples in it, points per step)``
    (:func:`satsim.link.substeps.fine_ephemerides`: SGP4 at the samples,
    Hermite between, whatever ``knot_step_s``)."""
    n = substeps.substeps_per_step(config.substep_s, times)   # earth_fixed only (LinkConfig)
    if n > 1:
        for eph, fine, rows in substeps.fine_ephemerides(
                constellation, times, chunk_steps, n, processes=processes,
                max_epoch_age_days=max_epoch_age_days):
            yield eph, (fine, rows, n)
        return
    for _, eph in iter_ephemeris(constellation, times, chunk_steps, processes=processes,
                                 max_epoch_age_days=max_epoch_age_days,
                                 knot_step_s=knot_step_s):
        yield eph, None


def iter_link_chunks(
    constellation: Constellation,
    handsets: Handsets,
    times: TimeGrid,
    config: LinkConfig | None = None,
    *,
    chunk_steps: int = 360,
    processes: int = 1,
    timings: dict | None = None,
    max_epoch_age_days: float | None = DEFAULT_MAX_EPOCH_AGE_DAYS,
    knot_step_s: float | None = None,
) -> Iterator[LinkChunk]:
    """The link timeline of a run, one chunk of ``chunk_steps`` time steps at a time.

    ``max_epoch_age_days``: warn when the run reaches further than this from an
    element set's epoch; ``knot_step_s``: SGP4 knots with Hermite between them
    (both :func:`satsim.orbits.propagation.iter_ephemeris`).

    Handover state carries across chunks, so the concatenated chunks equal
    an unchunked run exactly. ``timings``, if given, accumulates wall seconds
    per stage: "propagation", "geometry", "link".
    """
    config = config or LinkConfig()
    prepared = prepare(config, times.step_s, float(np.min(constellation.altitude_km)))
    draws = channel_draws(config.seed, len(handsets), len(constellation))
    state = HandoverState(len(handsets))
    cells = prepare_cells_for(config, handsets, constellation)
    ephemerides = iter_chunk_ephemerides(constellation, times, config, chunk_steps,
                                         processes=processes,
                                         max_epoch_age_days=max_epoch_age_days,
                                         knot_step_s=knot_step_s)
    while True:
        t0 = time.perf_counter()
        item = next(ephemerides, None)
        if timings is not None:
            timings["propagation"] = timings.get("propagation", 0.0) + time.perf_counter() - t0
        if item is None:
            return
        yield serve_chunk(item[0], handsets, config, prepared, draws, state, timings, cells,
                          fine=item[1])


def serve_links(constellation, handsets, times, config=None, *, chunk_steps=360,
                processes=1) -> LinkChunk:
    """The whole link timeline in memory (chunks concatenated); for short runs."""
    chunks = list(iter_link_chunks(constellation, handsets, times, config,
                                   chunk_steps=chunk_steps, processes=processes))
    cat = {name: np.concatenate([getattr(ch, name) for ch in chunks])
           for name in PER_HANDSET_FIELDS}
    return LinkChunk(times=times, handovers=pd.concat([ch.handovers for ch in chunks],
                                                      ignore_index=True), **cat)
