"""Numba kernels of the link layer, on plain float arrays (km, s, Hz, dB, linear W).

The hot path: for every (time step, handset), every beam of every satellite
in view gives a received power through the tabulated TR 38.811 §6.4.1
circular-aperture pattern; the serving beam is chosen with hysteresis and
time-to-trigger, and its SNR / SINR / uplink SNR, residual Doppler and
differential delay are written out. ``satsim.link.timeline`` prepares the
arrays and documents the conventions; ``tests/link_reference.py`` holds the
plain numpy reference these kernels are tested against.

Satellite body frame (as ``satsim.link.beams``): z toward nadir (-r/|r|),
x along-track (velocity made orthogonal to z), y = z cross x. A beam's
boresight has body components (u, v, w), w = sqrt(1 - u^2 - v^2).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit

#: Status codes per (time step, handset); see ``timeline.LINK_STATUS``.
SERVED = 0
NO_SATELLITE = 1
NO_BEAM = 2
LOW_SINR = 3
DOPPLER = 4
DELAY = 5

_C_KM_S = 299792.458


@njit
def body_frame(r, v):
    """Unit vectors (x along-track, y, z nadir) of the body frame for ITRS r, v."""
    rn = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    z0, z1, z2 = -r[0] / rn, -r[1] / rn, -r[2] / rn
    vz = v[0] * z0 + v[1] * z1 + v[2] * z2
    x0, x1, x2 = v[0] - vz * z0, v[1] - vz * z1, v[2] - vz * z2
    xn = math.sqrt(x0 * x0 + x1 * x1 + x2 * x2)
    x0, x1, x2 = x0 / xn, x1 / xn, x2 / xn
    y0 = z1 * x2 - z2 * x1
    y1 = z2 * x0 - z0 * x2
    y2 = z0 * x1 - z1 * x0
    return x0, x1, x2, y0, y1, y2, z0, z1, z2


@njit
def pattern_gain_lin(cos_theta, ka_over_step, table, floor_lin):
    """Normalised gain |2 J1(u)/u|^2, u = ka sin(theta), by linear interpolation
    in ``table`` (uniform in u from 0 with step ``ka / ka_over_step``);
    ``floor_lin`` at or beyond 90 degrees."""
    if cos_theta <= 0.0:
        return floor_lin
    s2 = 1.0 - cos_theta * cos_theta
    sin_theta = math.sqrt(s2) if s2 > 0.0 else 0.0
    x = ka_over_step * sin_theta
    i = int(x)
    if i >= table.size - 1:
        return table[table.size - 1]
    f = x - i
    return table[i] + f * (table[i + 1] - table[i])


@njit
def _beam_centre_rate_and_range(r, v, bx, by, bz, earth_radius_km):
    """Range rate (km/s) and range (km) from the satellite to where the beam
    boresight (ITRS unit vector bx, by, bz) meets a sphere of ``earth_radius_km``;
    (nan, nan) if it misses the Earth."""
    rb = r[0] * bx + r[1] * by + r[2] * bz
    disc = rb * rb - (r[0] * r[0] + r[1] * r[1] + r[2] * r[2] - earth_radius_km * earth_radius_km)
    if disc < 0.0:
        return np.nan, np.nan
    t = -rb - math.sqrt(disc)
    # p = r + t b; range vector satellite->p is t b; range rate = (r - p).v/|r - p| = -(b.v)
    return -(bx * v[0] + by * v[1] + bz * v[2]), t


@njit
def _beam_offsets(ax, sat_r, sat_v, h_r, b_u, b_v, b_w, link_rate_km_s, link_range_km, dl_freq_hz):
    """Residual Doppler (Hz) and differential delay (s) of a handset in a beam:
    the handset's Doppler and delay minus those of the beam centre, where the
    beam boresight (body frame ``ax``) meets a sphere through the handset."""
    bx = b_u * ax[0] + b_v * ax[3] + b_w * ax[6]
    by = b_u * ax[1] + b_v * ax[4] + b_w * ax[7]
    bz = b_u * ax[2] + b_v * ax[5] + b_w * ax[8]
    r_h = math.sqrt(h_r[0] ** 2 + h_r[1] ** 2 + h_r[2] ** 2)
    rate_c, range_c = _beam_centre_rate_and_range(sat_r, sat_v, bx, by, bz, r_h)
    resid = -dl_freq_hz * (link_rate_km_s - rate_c) / _C_KM_S
    ddel = (link_range_km - range_c) / _C_KM_S
    return resid, ddel


@njit(parallel=True)
def serve(
    sat_pos, sat_vel, h_pos, offsets, link_sat, link_range_km, link_rate_km_s,
    link_elev_deg, link_loss_db, serve_min_elev_deg,
    beam_u, beam_v, beam_w, beam_color, beam_eirp_dbw,
    table, u_step, ka, floor_lin, beam_edge_lin,
    dl_noise_db, ul_offset_db, dl_freq_hz, min_sinr_db, max_doppler_hz, max_delay_s,
    use_sinr_metric, hysteresis_db, ttt_steps,
    state_sat, state_beam, state_cand_sat, state_cand_beam, state_timer,
    out_sat, out_beam, out_snr_db, out_sinr_db, out_ul_snr_db, out_elev_deg,
    out_delay_s, out_resid_doppler_hz, out_diff_delay_s, out_status,
):
    """Choose serving beams and evaluate the links for one chunk of time steps.

    Per link (CSR over (t, h) by ``offsets``): satellite, range, range rate,
    elevation and the total propagation loss (dB, downlink frequency).
    Per beam: body-frame boresight (u, v, w), reuse colour, EIRP at the beam
    peak (dBW, scan loss included). Received power of beam b of satellite s
    at the handset, in dB relative to 1 W before the handset's G/T:
    ``P = EIRP_b + 10 log10 g(theta) - loss``, and
    ``SNR = P - dl_noise_db`` with ``dl_noise_db = k + 10 log10 B - G/T_ue +
    handset losses``; SINR adds every other beam of the same colour of every
    satellite in the link list to the noise. Uplink SNR of the serving beam:
    ``ul_offset_db + 10 log10 g(theta) - loss`` (``ul_offset_db`` carries the
    handset EIRP, the satellite G/T, k, the uplink bandwidth and the
    frequency scaling of the free-space loss).

    Cell selection: a phone can only camp on a beam it can use, so the
    candidates are the (satellite, beam) pairs at or above
    ``serve_min_elev_deg`` that the handset is inside (gain at least
    ``beam_edge_lin`` of the peak) with residual Doppler and differential
    delay within ``max_doppler_hz`` / ``max_delay_s``; the best by metric
    (SINR, or received power when ``use_sinr_metric`` is false) wins. When no
    beam qualifies, the best beam regardless is reported with the reason it
    fails (status NO_BEAM, DOPPLER or DELAY).

    Handover: the best candidate replaces the serving beam when it is better
    by more than ``hysteresis_db`` for ``ttt_steps`` consecutive steps, or at
    once when the serving beam is gone or no longer qualifies. ``state_*``
    (per handset) carry this across chunks and are updated in place.
    """
    nt = out_sat.shape[0]
    nh = h_pos.shape[0]
    nb = beam_u.shape[0]
    ncolor = 0
    for b in range(nb):
        ncolor = max(ncolor, beam_color[b] + 1)
    maxlinks = 0
    for k in range(offsets.size - 1):
        maxlinks = max(maxlinks, offsets[k + 1] - offsets[k])
    eirp_lin = np.empty(nb)
    for b in range(nb):
        eirp_lin[b] = 10.0 ** (beam_eirp_dbw[b] / 10.0)
    noise_lin = 10.0 ** (dl_noise_db / 10.0)
    ka_over_step = ka / u_step
    hyst_lin = 10.0 ** (hysteresis_db / 10.0)
    # body frame of every satellite at every step, once (many handsets see each)
    nsat = sat_pos.shape[0]
    axes = np.empty((nsat, nt, 9))
    for s in prange(nsat):
        for t in range(nt):
            if sat_pos[s, t, 0] == sat_pos[s, t, 0]:  # not NaN
                a = body_frame(sat_pos[s, t], sat_vel[s, t])
                for i in range(9):
                    axes[s, t, i] = a[i]
    for h in prange(nh):
        power = np.empty(max(maxlinks, 1) * nb)
        total = np.zeros(max(ncolor, 1))
        col_best_p = np.zeros(max(ncolor, 1))
        col_best_k = np.zeros(max(ncolor, 1), dtype=np.int64)
        col_best_b = np.zeros(max(ncolor, 1), dtype=np.int64)
        cur_s, cur_b = state_sat[h], state_beam[h]
        cand_s, cand_b, timer = state_cand_sat[h], state_cand_beam[h], state_timer[h]
        for t in range(nt):
            k0 = offsets[t * nh + h]
            k1 = offsets[t * nh + h + 1]
            for c in range(ncolor):
                total[c] = 0.0
                col_best_p[c] = -1.0
                col_best_k[c] = -1
            # -- received power of every beam of every satellite in view;
            # the strongest beam of each colour among satellites that may serve
            for k in range(k0, k1):
                s = link_sat[k]
                ax = axes[s, t]
                rng = link_range_km[k]
                d0 = (h_pos[h, 0] - sat_pos[s, t, 0]) / rng
                d1 = (h_pos[h, 1] - sat_pos[s, t, 1]) / rng
                d2 = (h_pos[h, 2] - sat_pos[s, t, 2]) / rng
                du = d0 * ax[0] + d1 * ax[1] + d2 * ax[2]
                dv = d0 * ax[3] + d1 * ax[4] + d2 * ax[5]
                dw = d0 * ax[6] + d1 * ax[7] + d2 * ax[8]
                att = 10.0 ** (-link_loss_db[k] / 10.0)
                base = (k - k0) * nb
                can_serve = link_elev_deg[k] >= serve_min_elev_deg
                for b in range(nb):
                    cos_t = du * beam_u[b] + dv * beam_v[b] + dw * beam_w[b]
                    p = eirp_lin[b] * att * pattern_gain_lin(cos_t, ka_over_step, table, floor_lin)
                    power[base + b] = p
                    c = beam_color[b]
                    total[c] += p
                    if can_serve and p > col_best_p[c]:
                        col_best_p[c] = p
                        col_best_k[c] = k
                        col_best_b[c] = b
            # -- best usable beam: inside it, Doppler and delay within the
            # phone's tolerance; the offsets are computed only for beams that
            # would beat the best so far
            best_k, best_b, best_m = -1, -1, -1.0
            for k in range(k0, k1):
                if link_elev_deg[k] < serve_min_elev_deg:
                    continue
                s = link_sat[k]
                att = 10.0 ** (-link_loss_db[k] / 10.0)
                base = (k - k0) * nb
                for b in range(nb):
                    p = power[base + b]
                    if p / (eirp_lin[b] * att) < beam_edge_lin:
                        continue
                    c = beam_color[b]
                    m = p / (noise_lin + total[c] - p) if use_sinr_metric else p
                    if m <= best_m:
                        continue
                    resid, ddel = _beam_offsets(axes[s, t], sat_pos[s, t], sat_vel[s, t],
                                                h_pos[h], beam_u[b], beam_v[b], beam_w[b],
                                                link_rate_km_s[k], link_range_km[k],
                                                dl_freq_hz)
                    if abs(resid) <= max_doppler_hz and abs(ddel) <= max_delay_s:
                        best_k, best_b, best_m = k, b, m
            usable = best_k >= 0
            if not usable:
                # none usable: the best regardless (within a colour the SINR
                # p / (N + total - p) grows with p, so the strongest beam of
                # some colour is the best), reported with why it fails
                for c in range(ncolor):
                    if col_best_k[c] < 0:
                        continue
                    p = col_best_p[c]
                    m = p / (noise_lin + total[c] - p) if use_sinr_metric else p
                    if m > best_m:
                        best_k, best_b, best_m = col_best_k[c], col_best_b[c], m
            # -- the current serving beam's metric, if it can still serve
            # (and, when some beam is usable, is usable itself)
            cur_k, cur_m = -1, -1.0
            if cur_s >= 0:
                for k in range(k0, k1):
                    if link_sat[k] == cur_s and link_elev_deg[k] >= serve_min_elev_deg:
                        p = power[(k - k0) * nb + cur_b]
                        c = beam_color[cur_b]
                        m = p / (noise_lin + total[c] - p) if use_sinr_metric else p
                        if usable:
                            att = 10.0 ** (-link_loss_db[k] / 10.0)
                            resid, ddel = _beam_offsets(
                                axes[cur_s, t], sat_pos[cur_s, t], sat_vel[cur_s, t], h_pos[h],
                                beam_u[cur_b], beam_v[cur_b], beam_w[cur_b], link_rate_km_s[k],
                                link_range_km[k], dl_freq_hz)
                            if (p / (eirp_lin[cur_b] * att) < beam_edge_lin
                                    or not abs(resid) <= max_doppler_hz
                                    or not abs(ddel) <= max_delay_s):
                                break
                        cur_k, cur_m = k, m
                        break
            # -- handover decision
            if best_k < 0:
                cur_s, cur_b, cur_k = -1, -1, -1
                timer = 0
            elif cur_k < 0:
                cur_s, cur_b, cur_k = link_sat[best_k], best_b, best_k
                timer = 0
            elif (link_sat[best_k] != cur_s or best_b != cur_b) and best_m > cur_m * hyst_lin:
                if link_sat[best_k] == cand_s and best_b == cand_b:
                    timer += 1
                else:
                    cand_s, cand_b, timer = link_sat[best_k], best_b, 1
                if timer >= ttt_steps:
                    cur_s, cur_b, cur_k = link_sat[best_k], best_b, best_k
                    timer = 0
            else:
                timer = 0
            # -- outputs for the serving beam
            if cur_k < 0:
                out_sat[t, h] = -1
                out_beam[t, h] = -1
                out_snr_db[t, h] = np.nan
                out_sinr_db[t, h] = np.nan
                out_ul_snr_db[t, h] = np.nan
                out_elev_deg[t, h] = np.nan
                out_delay_s[t, h] = np.nan
                out_resid_doppler_hz[t, h] = np.nan
                out_diff_delay_s[t, h] = np.nan
                out_status[t, h] = NO_SATELLITE
                continue
            s = cur_s
            p = power[(cur_k - k0) * nb + cur_b]
            g = p / (eirp_lin[cur_b] * 10.0 ** (-link_loss_db[cur_k] / 10.0))
            snr = 10.0 * math.log10(p) - dl_noise_db
            sinr = 10.0 * math.log10(p / (noise_lin + total[beam_color[cur_b]] - p))
            out_sat[t, h] = s
            out_beam[t, h] = cur_b
            out_snr_db[t, h] = snr
            out_sinr_db[t, h] = sinr
            out_ul_snr_db[t, h] = ul_offset_db + 10.0 * math.log10(g) - link_loss_db[cur_k]
            out_elev_deg[t, h] = link_elev_deg[cur_k]
            out_delay_s[t, h] = link_range_km[cur_k] / _C_KM_S
            # residual Doppler and differential delay against the beam centre
            resid, ddel = _beam_offsets(axes[s, t], sat_pos[s, t], sat_vel[s, t], h_pos[h],
                                        beam_u[cur_b], beam_v[cur_b], beam_w[cur_b],
                                        link_rate_km_s[cur_k], link_range_km[cur_k], dl_freq_hz)
            out_resid_doppler_hz[t, h] = resid
            out_diff_delay_s[t, h] = ddel
            if g < beam_edge_lin:
                out_status[t, h] = NO_BEAM
            elif sinr < min_sinr_db:
                out_status[t, h] = LOW_SINR
            elif not abs(resid) <= max_doppler_hz:
                out_status[t, h] = DOPPLER
            elif not abs(ddel) <= max_delay_s:
                out_status[t, h] = DELAY
            else:
                out_status[t, h] = SERVED
        state_sat[h], state_beam[h] = cur_s, cur_b
        state_cand_sat[h], state_cand_beam[h], state_timer[h] = cand_s, cand_b, timer


@njit(parallel=True)
def cqi_and_efficiency(sinr_db, status, thresholds_db, efficiency, out_cqi, out_eff):
    """CQI (highest index whose SINR threshold is met; 0 when not served or
    below CQI 1) and its spectral efficiency per (time, handset).
    ``thresholds_db[c]`` is the minimum SINR of CQI c (index 0 unused)."""
    nt, nh = sinr_db.shape
    ncqi = thresholds_db.size
    for t in prange(nt):
        for h in range(nh):
            c = 0
            if status[t, h] == SERVED:
                x = sinr_db[t, h]
                while c + 1 < ncqi and x >= thresholds_db[c + 1]:
                    c += 1
            out_cqi[t, h] = c
            out_eff[t, h] = efficiency[c]


@njit
def _interp10(elev, column):
    """Linear interpolation on the 10, 20, ..., 90 degree grid, held at the ends
    (as ``numpy.interp`` on ``losses.ELEVATION_GRID_DEG``)."""
    if elev <= 10.0:
        return column[0]
    if elev >= 90.0:
        return column[8]
    x = (elev - 10.0) / 10.0
    i = int(x)
    if i >= 8:
        return column[8]
    f = x - i
    return column[i] + f * (column[i + 1] - column[i])


@njit(parallel=True)
def link_losses(
    offsets, nh, link_sat, link_elev_deg, link_range_km, u_los, z_shadow,
    p_los, sigma_los, sigma_nlos, clutter, use_los, sf_model, sf_fixed_db,
    cl_model, cl_fixed_db, atm_model, atm_fixed_db, atm_zenith_db, atm_min_elev_deg,
    const_db, out_loss_db,
):
    """Total path loss per link (dB), the kernel twin of ``losses.link_loss_db``.

    ``const_db`` holds every term that is the same for all links:
    ``32.45 + 20 log10(f / GHz) + 60`` (FSPL with the range in km) plus
    scintillation and the fixed margins. The handset of each link comes from
    the CSR ``offsets`` over (time, handset); its draws are
    ``u_los[h, sat]``, ``z_shadow[h, sat]``. Tables on the 10-90 degree grid.
    """
    nt = (offsets.size - 1) // nh
    for t in prange(nt):
        for h in range(nh):
            for k in range(offsets[t * nh + h], offsets[t * nh + h + 1]):
                s = link_sat[k]
                e = link_elev_deg[k]
                los = True
                if use_los:
                    los = u_los[h, s] < _interp10(e, p_los)
                loss = const_db + 20.0 * math.log10(link_range_km[k])
                if sf_model:
                    sig = _interp10(e, sigma_los) if los else _interp10(e, sigma_nlos)
                    loss += sig * z_shadow[h, s]
                else:
                    loss += sf_fixed_db
                if not los:
                    loss += _interp10(e, clutter) if cl_model else cl_fixed_db
                if atm_model:
                    ea = min(max(e, atm_min_elev_deg), 90.0)
                    loss += atm_zenith_db / math.sin(math.radians(ea))
                else:
                    loss += atm_fixed_db
                out_loss_db[k] = loss
