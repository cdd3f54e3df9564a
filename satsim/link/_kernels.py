"""Numba kernels of the link layer, on plain float arrays (km, s, Hz, dB, linear W).

The hot path: for every (time step, handset), every beam of every satellite
in view gives a received power through the tabulated TR 38.811 §6.4.1
circular-aperture pattern; the serving beam is chosen with hysteresis and
time-to-trigger, and its SNR / SINR / uplink SNR, residual Doppler and
differential delay are written out. ``satsim.link.engine`` builds the
named records the kernels take (see the section above :func:`body_frames`);
``tests/link_reference.py`` holds the plain numpy reference these kernels
are tested against, the whole and piece by piece.

Satellite body frame (as ``satsim.link.beams``): z toward nadir (-r/|r|),
x along-track (velocity made orthogonal to z), y = z cross x. A beam's
boresight has body components (u, v, w), w = sqrt(1 - u^2 - v^2).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit
from ._atmosphere_kernels import gas_slant_loss_db, tropo_scintillation_db

#: Status codes per (time step, handset); see ``timeline.LINK_STATUS``.
SERVED = 0
NO_SATELLITE = 1
NO_BEAM = 2
LOW_SINR = 3
DOPPLER = 4
DELAY = 5
UPLINK_DOPPLER = 6
DOPPLER_RATE = 7

_C_KM_S = 299792.458
#: Earth's gravitational parameter, km^3/s^2 (WGS 84), and rotation rate, rad/s
#: (IERS nominal): the satellite's acceleration in ITRS for Doppler rates.
_MU_KM3_S2 = 398600.4418
_OMEGA_EARTH_RAD_S = 7.292115e-5
#: Handsets per task of the parallel loop (one set of work arrays each).
HANDSETS_PER_BLOCK = 64


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


@njit
def sat_accel_itrs(r, v):
    """A satellite's acceleration in ITRS, km/s^2: two-body gravity
    ``-mu r / |r|^3`` plus the Coriolis and centrifugal terms of the rotating
    frame, ``-2 w x v - w x (w x r)`` with ``w`` along z (J2 and drag, under
    0.2 % of gravity at LEO, are left out)."""
    rn = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    g = -_MU_KM3_S2 / (rn * rn * rn)
    w = _OMEGA_EARTH_RAD_S
    return (g * r[0] + 2.0 * w * v[1] + w * w * r[0],
            g * r[1] - 2.0 * w * v[0] + w * w * r[1],
            g * r[2])


@njit
def range_accel_km_s2(r, v, a, p):
    """Second time derivative of the range from a ground point ``p`` (fixed in
    ITRS) to a satellite at ``r`` with velocity ``v`` and acceleration ``a``
    (ITRS), km/s^2: ``(|v|^2 + rho.a - rdot^2) / |rho|`` with ``rho = r - p``."""
    d0, d1, d2 = r[0] - p[0], r[1] - p[1], r[2] - p[2]
    rng = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    rdot = (d0 * v[0] + d1 * v[1] + d2 * v[2]) / rng
    vv = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    return (vv + d0 * a[0] + d1 * a[1] + d2 * a[2] - rdot * rdot) / rng


@njit
def resid_doppler_rate_fixed(r, v, h_r, c_r, dl_freq_hz):
    """Rate of change of the residual Doppler of a handset at ``h_r`` when the
    satellite pre-compensates for the ground point ``c_r`` (an Earth-fixed
    cell's centre), Hz/s: ``-f (rdd_h - rdd_c) / c`` (all ITRS, km)."""
    a = sat_accel_itrs(r, v)
    return -dl_freq_hz * (range_accel_km_s2(r, v, a, h_r)
                          - range_accel_km_s2(r, v, a, c_r)) / _C_KM_S


@njit
def resid_doppler_rate_moving(ax, r, v, h_r, b_u, b_v, b_w, dl_freq_hz):
    """Rate of change of the residual Doppler of a handset at ``h_r`` in a beam
    fixed in the satellite's body frame (``ax``, boresight ``b``), Hz/s.

    The satellite pre-compensates the beam centre's Doppler, ``f (b.v) / c``
    (the range rate toward the boresight is ``-b.v``); that term changes as
    ``b.a + bdot.v``, where the body frame turns with the orbit at
    ``W = r x v / |r|^2`` (its slow roll about nadir is neglected), so
    ``bdot.v = W.(b x v)``. Residual rate: ``-f (rdd_h + b.a + W.(b x v)) / c``."""
    bx = b_u * ax[0] + b_v * ax[3] + b_w * ax[6]
    by = b_u * ax[1] + b_v * ax[4] + b_w * ax[7]
    bz = b_u * ax[2] + b_v * ax[5] + b_w * ax[8]
    a = sat_accel_itrs(r, v)
    r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2]
    w0 = (r[1] * v[2] - r[2] * v[1]) / r2
    w1 = (r[2] * v[0] - r[0] * v[2]) / r2
    w2 = (r[0] * v[1] - r[1] * v[0]) / r2
    bxv0 = by * v[2] - bz * v[1]
    bxv1 = bz * v[0] - bx * v[2]
    bxv2 = bx * v[1] - by * v[0]
    comp_rate = bx * a[0] + by * a[1] + bz * a[2] + w0 * bxv0 + w1 * bxv1 + w2 * bxv2
    return -dl_freq_hz * (range_accel_km_s2(r, v, a, h_r) + comp_rate) / _C_KM_S


# -----------------------------------------------------------------------------
# The serving kernel, one small function per job. Their inputs are the named
# records of ``satsim.link.engine`` (namedtuples, read here by field name):
#
#   geometry  LinkGeometry  per chunk: ephemeris (nsat, nt, 3), handset
#                           positions (nh, 3), the links of every (t, h) as
#                           CSR (``offsets``) and each link's satellite,
#                           range, range rate, elevation and loss
#   beams     BeamSet       per run: boresights (u, v, w), reuse colour, EIRP
#   pattern   BeamPattern   per run: the normalised gain table
#   radio     RadioTerms    per run: downlink noise, uplink offset, carrier
#   rules     ServingRules  per run: serving mask, beam edge, phone tolerances,
#                           minimum SINR, metric, hysteresis, time-to-trigger
#   state     ServingState  per handset, carried across chunks (updated in place)
#   out       LinkOutputs   per chunk: (nt, nh) arrays the kernel writes
#
# ``frames`` is the body frame of every (satellite, step), (nsat, nt, 9), from
# ``body_frames``. Received powers are in W at the handset antenna before its
# G/T (EIRP x normalised gain x 10^(-loss/10)); the per-(t, h) work arrays
# ``power`` ((links x beams) of the step, link-major), ``totals``,
# ``strongest`` and ``strongest_at`` (one entry per reuse colour) belong to
# one task of the parallel loop (a block of ``HANDSETS_PER_BLOCK`` handsets).
#
# Speed: the kernels called once per (t, h) are inlined (``inline="always"``):
# a real call passes every array of every record (hundreds of words), and
# the kernel ran at 0.7x its speed. And their loops have no ``break`` or
# ``return`` inside: once inlined, one left every array of its records
# reference-counted on every step (atomic operations both threads contend
# for; about 0.9x). A task serves a block of handsets, so the records are
# reference-counted and the work arrays allocated once per block (2-4 % on
# 2 threads against a task per handset).
# -----------------------------------------------------------------------------
@njit(parallel=True)
def body_frames(sat_pos_km, sat_vel_km_s):
    """Body frame of every satellite at every step, shape (nsat, nt, 9): the
    ITRS components of x (along-track), y and z (nadir), as :func:`body_frame`.
    Steps where a satellite's position is NaN (propagation failed) are left
    unset; no link refers to them."""
    nsat, nt = sat_pos_km.shape[0], sat_pos_km.shape[1]
    frames = np.empty((nsat, nt, 9))
    for s in prange(nsat):
        for t in range(nt):
            if sat_pos_km[s, t, 0] == sat_pos_km[s, t, 0]:  # not NaN
                a = body_frame(sat_pos_km[s, t], sat_vel_km_s[s, t])
                for i in range(9):
                    frames[s, t, i] = a[i]
    return frames


@njit
def links_of(geometry, t, h):
    """The links of handset ``h`` at step ``t``: indices ``k0 <= k < k1`` into
    the link arrays of ``geometry``, returned as (k0, k1)."""
    i = t * geometry.handset_pos_km.shape[0] + h
    return geometry.offsets[i], geometry.offsets[i + 1]


@njit
def attenuation(loss_db):
    """The power ratio (linear, <= 1 for a loss >= 0) of a loss in dB."""
    return 10.0 ** (-loss_db / 10.0)


@njit
def sinr_lin(p, colour_total, noise_lin):
    """Linear SINR of a beam received at ``p`` (W) when ``colour_total`` (W) is
    the power of every beam of its colour, itself included, and ``noise_lin``
    (W) the noise: ``p / (N + total - p)``."""
    return p / (noise_lin + colour_total - p)


@njit
def serving_metric(p, colour_total, radio, rules):
    """What cell selection ranks beams by: the linear SINR
    (``rules.use_sinr_metric``), else the received power ``p`` (W)."""
    if rules.use_sinr_metric:
        return sinr_lin(p, colour_total, radio.dl_noise_lin)
    return p


@njit
def within_tolerances(resid_doppler_hz, diff_delay_s, rules):
    """Whether a phone can synchronise to a beam and be heard: the downlink
    residual Doppler (Hz) within the phone's ``rules.max_doppler_hz``, the
    uplink residual the satellite receives (:func:`uplink_resid_doppler_hz`)
    within ``rules.max_ul_doppler_hz``, and the differential delay (s) within
    ``rules.max_delay_s`` (NaN, a beam centre off the Earth: no)."""
    return (abs(resid_doppler_hz) <= rules.max_doppler_hz
            and abs(uplink_resid_doppler_hz(resid_doppler_hz, rules)) <= rules.max_ul_doppler_hz
            and abs(diff_delay_s) <= rules.max_delay_s)


@njit
def doppler_rate_check(status, sat, beam, sat_pos_km, sat_vel_km_s, frames, handset_pos_km,
                       beam_u, beam_v, beam_w, dl_freq_hz, max_rate_hz_s):
    """Served links (status SERVED) of moving beams whose residual Doppler
    changes faster than ``max_rate_hz_s`` (:func:`resid_doppler_rate_moving`)
    become DOPPLER_RATE, in place; (nt, nh) arrays. Run after the serving
    kernel, only when the rate can exceed the tolerance (kept out of the
    kernel: its code there cost 16 % of the kernel's speed at 37 beams)."""
    nt, nh = status.shape
    for t in range(nt):
        for h in range(nh):
            if status[t, h] != SERVED:
                continue
            s, b = sat[t, h], beam[t, h]
            rate = resid_doppler_rate_moving(frames[s, t], sat_pos_km[s, t], sat_vel_km_s[s, t],
                                             handset_pos_km[h], beam_u[b], beam_v[b], beam_w[b],
                                             dl_freq_hz)
            if not abs(rate) <= max_rate_hz_s:
                status[t, h] = DOPPLER_RATE


@njit
def uplink_resid_doppler_hz(resid_doppler_hz, rules):
    """Uplink residual Doppler at the satellite's receiver, Hz, from the
    downlink residual ``d`` the phone sees: the phone transmits locked to the
    downlink it receives (within 0.1 ppm, TS 36.101 §6.5.1), so its uplink
    carries ``d f_ul / f_dl``, and the uplink path adds the same range-rate
    difference again (``d f_ul / f_dl``) after the satellite's compensation
    for the cell or beam centre: ``2 d f_ul / f_dl`` (``rules.ul_over_dl`` is
    ``f_ul / f_dl``)."""
    return 2.0 * rules.ul_over_dl * resid_doppler_hz


@njit
def beam_offsets(geometry, frames, beams, radio, t, h, k, b):
    """Residual Doppler (Hz) and differential delay (s) of handset ``h`` at
    step ``t`` in beam ``b`` of the satellite of link ``k``: the handset's
    Doppler and delay minus those of the beam centre, where the boresight
    meets a sphere through the handset (the satellite pre-compensates the
    beam centre's)."""
    s = geometry.sat[k]
    return _beam_offsets(frames[s, t], geometry.sat_pos_km[s, t], geometry.sat_vel_km_s[s, t],
                         geometry.handset_pos_km[h], beams.u[b], beams.v[b], beams.w[b],
                         geometry.range_rate_km_s[k], geometry.range_km[k], radio.dl_freq_hz)


@njit(inline="always")
def beam_powers(geometry, frames, beams, pattern, rules, t, h, power, totals, strongest,
                strongest_at):
    """Received power of every beam of every satellite in view of handset
    ``h`` at step ``t``, and the per-colour sums interference needs.

    For the links ``k0 <= k < k1`` of (t, h) (:func:`links_of`) and every beam
    ``b`` it writes ``power[(k - k0) * nb + b] = EIRP_b g(theta) 10^(-loss_k/10)``
    (W), theta the angle between beam b's boresight and the handset as seen
    from the satellite of link k (:func:`pattern_gain_lin`). Per reuse colour
    ``c``: ``totals[c]``, the power of every beam of that colour (W), and
    ``strongest[c]`` / ``strongest_at[c]``, the largest power of colour c on a
    link at or above the serving mask and its index in ``power`` (-1.0 / -1
    if none); ties keep the first in (link, beam) order.
    """
    k0, k1 = links_of(geometry, t, h)
    nb = beams.u.size
    ka_over_step = pattern.ka / pattern.u_step
    for c in range(totals.size):
        totals[c] = 0.0
        strongest[c] = -1.0
        strongest_at[c] = -1
    h_pos, sat_pos = geometry.handset_pos_km, geometry.sat_pos_km
    for k in range(k0, k1):
        s = geometry.sat[k]
        ax = frames[s, t]
        rng = geometry.range_km[k]
        # unit vector satellite -> handset, in the body frame
        d0 = (h_pos[h, 0] - sat_pos[s, t, 0]) / rng
        d1 = (h_pos[h, 1] - sat_pos[s, t, 1]) / rng
        d2 = (h_pos[h, 2] - sat_pos[s, t, 2]) / rng
        du = d0 * ax[0] + d1 * ax[1] + d2 * ax[2]
        dv = d0 * ax[3] + d1 * ax[4] + d2 * ax[5]
        dw = d0 * ax[6] + d1 * ax[7] + d2 * ax[8]
        att = attenuation(geometry.loss_db[k])
        base = (k - k0) * nb
        can_serve = geometry.elevation_deg[k] >= rules.min_elevation_deg
        for b in range(nb):
            cos_t = du * beams.u[b] + dv * beams.v[b] + dw * beams.w[b]
            p = beams.eirp_lin[b] * att * pattern_gain_lin(cos_t, ka_over_step, pattern.gain_lin,
                                                            pattern.floor_lin)
            power[base + b] = p
            c = beams.color[b]
            totals[c] += p
            if can_serve and p > strongest[c]:
                strongest[c] = p
                strongest_at[c] = base + b


@njit(inline="always")
def best_usable_beam(geometry, frames, beams, radio, rules, t, h, power, totals):
    """The best beam handset ``h`` can camp on at step ``t``, as (link k,
    beam b, metric), or (-1, -1, -1.0) when there is none.

    Usable: on a link at or above ``rules.min_elevation_deg``, the handset
    inside the beam (normalised gain ``p / (EIRP_b 10^(-loss/10))`` at least
    ``rules.beam_edge_lin``), and residual Doppler and differential delay
    within the phone's tolerances (:func:`within_tolerances`). Best by
    :func:`serving_metric`; ties keep the first in (link, beam) order. The
    offsets are computed only for beams that would beat the best so far.
    ``power`` and ``totals`` are those of :func:`beam_powers`.
    """
    k0, k1 = links_of(geometry, t, h)
    nb = beams.u.size
    best_k, best_b, best_m = -1, -1, -1.0
    for k in range(k0, k1):
        if geometry.elevation_deg[k] < rules.min_elevation_deg:
            continue
        att = attenuation(geometry.loss_db[k])
        base = (k - k0) * nb
        for b in range(nb):
            p = power[base + b]
            if p / (beams.eirp_lin[b] * att) < rules.beam_edge_lin:
                continue
            m = serving_metric(p, totals[beams.color[b]], radio, rules)
            if m <= best_m:
                continue
            resid, ddel = beam_offsets(geometry, frames, beams, radio, t, h, k, b)
            if within_tolerances(resid, ddel, rules):
                best_k, best_b, best_m = k, b, m
    return best_k, best_b, best_m


@njit(inline="always")
def best_beam_regardless(geometry, beams, radio, rules, t, h, totals, strongest, strongest_at):
    """The best beam of a link at or above the serving mask whether usable or
    not, as (link k, beam b, metric), or (-1, -1, -1.0) when no link is above
    the mask: what a handset with no usable beam is reported against.

    Within a colour the SINR ``p / (N + total - p)`` grows with ``p``, so the
    best beam is the strongest of some colour (``strongest``, ``strongest_at``
    of :func:`beam_powers`); ties keep the lowest colour.
    """
    k0 = links_of(geometry, t, h)[0]
    nb = beams.u.size
    best_k, best_b, best_m = -1, -1, -1.0
    for c in range(totals.size):
        i = strongest_at[c]
        if i < 0:
            continue
        m = serving_metric(strongest[c], totals[c], radio, rules)
        if m > best_m:
            best_k, best_b, best_m = k0 + i // nb, i % nb, m
    return best_k, best_b, best_m


@njit(inline="always")
def current_beam_metric(geometry, frames, beams, radio, rules, t, h, serving_sat, serving_beam,
                        must_be_usable, power, totals):
    """The link and metric of the serving (satellite, beam) at step ``t``, as
    (link k, metric), or (-1, -1.0) when it can no longer serve: no serving
    beam, its satellite gone or below the serving mask, or, when
    ``must_be_usable`` (some beam is usable this step), the beam no longer
    usable itself (see :func:`best_usable_beam`)."""
    cur_k, cur_m = -1, -1.0
    found = False
    k0, k1 = links_of(geometry, t, h)
    b = serving_beam
    for k in range(k0, k1):
        if (not found and geometry.sat[k] == serving_sat
                and geometry.elevation_deg[k] >= rules.min_elevation_deg):
            found = True
            p = power[(k - k0) * beams.u.size + b]
            m = serving_metric(p, totals[beams.color[b]], radio, rules)
            usable = True
            if must_be_usable:
                att = attenuation(geometry.loss_db[k])
                resid, ddel = beam_offsets(geometry, frames, beams, radio, t, h, k, b)
                inside = not p / (beams.eirp_lin[b] * att) < rules.beam_edge_lin
                usable = inside and within_tolerances(resid, ddel, rules)
            if usable:
                cur_k, cur_m = k, m
    return cur_k, cur_m


@njit
def decide_handover(best, current, current_metric, candidate, rules):
    """One step of the handover rule, with hysteresis and time-to-trigger.

    ``best`` = (satellite, beam, link k, metric) of this step's best beam
    (k < 0: none); ``current`` = (satellite, beam, link k) of the serving
    beam (k < 0: it cannot serve this step, see :func:`current_beam_metric`)
    and ``current_metric`` its metric; ``candidate`` = (satellite, beam,
    timer), the beam that has beaten the serving one and for how many
    consecutive steps. The best beam takes over at once when the serving
    beam cannot serve; otherwise when its metric exceeds the serving one's
    times ``rules.hysteresis_lin`` for ``rules.ttt_steps`` consecutive steps.
    Nothing serves when there is no best beam. Returns the new (current,
    candidate).
    """
    best_s, best_b, best_k, best_m = best
    cur_s, cur_b, cur_k = current
    cand_s, cand_b, timer = candidate
    if best_k < 0:
        cur_s, cur_b, cur_k = -1, -1, -1
        timer = 0
    elif cur_k < 0:
        cur_s, cur_b, cur_k = best_s, best_b, best_k
        timer = 0
    elif (best_s != cur_s or best_b != cur_b) and best_m > current_metric * rules.hysteresis_lin:
        if best_s == cand_s and best_b == cand_b:
            timer += 1
        else:
            cand_s, cand_b, timer = best_s, best_b, 1
        if timer >= rules.ttt_steps:
            cur_s, cur_b, cur_k = best_s, best_b, best_k
            timer = 0
    else:
        timer = 0
    return (cur_s, cur_b, cur_k), (cand_s, cand_b, timer)


@njit
def link_status(gain_lin, sinr_db, resid_doppler_hz, diff_delay_s, rules):
    """Status code of a serving link, the first check it fails: NO_BEAM
    (normalised gain below ``rules.beam_edge_lin``), LOW_SINR (below
    ``rules.min_sinr_db``), DOPPLER (downlink residual beyond the phone's
    ``rules.max_doppler_hz``), UPLINK_DOPPLER (uplink residual beyond the
    satellite receiver's ``rules.max_ul_doppler_hz``), DELAY; else SERVED.
    (DOPPLER_RATE is checked afterwards on served links, :func:`doppler_rate_check`.)"""
    if gain_lin < rules.beam_edge_lin:
        return NO_BEAM
    if sinr_db < rules.min_sinr_db:
        return LOW_SINR
    if not abs(resid_doppler_hz) <= rules.max_doppler_hz:
        return DOPPLER
    if not abs(uplink_resid_doppler_hz(resid_doppler_hz, rules)) <= rules.max_ul_doppler_hz:
        return UPLINK_DOPPLER
    if not abs(diff_delay_s) <= rules.max_delay_s:
        return DELAY
    return SERVED


@njit
def write_no_link(out, t, h, status=NO_SATELLITE):
    """Nothing serves handset ``h`` at step ``t``: -1 indices, NaN values and
    ``status`` (NO_SATELLITE unless said: the Earth-fixed cells also report
    NO_BEAM, a cell no satellite had a free beam for)."""
    out.sat[t, h] = -1
    out.beam[t, h] = -1
    out.snr_db[t, h] = np.nan
    out.sinr_db[t, h] = np.nan
    out.ul_snr_db[t, h] = np.nan
    out.ul_sinr_db[t, h] = np.nan
    out.elevation_deg[t, h] = np.nan
    out.delay_s[t, h] = np.nan
    out.resid_doppler_hz[t, h] = np.nan
    out.diff_delay_s[t, h] = np.nan
    out.status[t, h] = status


@njit
def write_serving_link(geometry, frames, beams, radio, rules, t, h, k, b, power, totals, out):
    """The serving link k, beam b of handset ``h`` at step ``t`` into ``out``:
    satellite and beam, downlink SNR and SINR (dB), uplink SNR (dB:
    ``ul_offset_db`` + the beam's normalised gain in dB - loss), elevation
    (deg), one-way delay (s), residual Doppler (Hz), differential delay (s)
    and status (:func:`link_status`)."""
    k0 = links_of(geometry, t, h)[0]
    p = power[(k - k0) * beams.u.size + b]
    g = p / (beams.eirp_lin[b] * attenuation(geometry.loss_db[k]))
    sinr = 10.0 * math.log10(sinr_lin(p, totals[beams.color[b]], radio.dl_noise_lin))
    resid, ddel = beam_offsets(geometry, frames, beams, radio, t, h, k, b)
    write_link(out, t, h, geometry, k, b, p, g, sinr, resid, ddel, radio,
               link_status(g, sinr, resid, ddel, rules))


@njit
def write_link(out, t, h, geometry, k, beam, p, g, sinr, resid, ddel, radio, status):
    """Handset ``h`` served at step ``t`` over link ``k`` of ``geometry`` by
    ``beam`` (a lattice beam or, Earth-fixed, a cell) received at ``p`` W with
    normalised gain ``g``: the record's values (uplink SNR = ``ul_offset_db`` +
    gain in dB - loss, and the uplink SINR equal to it: the lattice beams model
    no uplink interference, the Earth-fixed kernel overwrites both; delay from
    the range) and ``status``."""
    out.sat[t, h] = geometry.sat[k]
    out.beam[t, h] = beam
    out.snr_db[t, h] = 10.0 * math.log10(p) - radio.dl_noise_db
    out.sinr_db[t, h] = sinr
    out.ul_snr_db[t, h] = radio.ul_offset_db + 10.0 * math.log10(g) - geometry.loss_db[k]
    out.ul_sinr_db[t, h] = out.ul_snr_db[t, h]
    out.elevation_deg[t, h] = geometry.elevation_deg[k]
    out.delay_s[t, h] = geometry.range_km[k] / _C_KM_S
    out.resid_doppler_hz[t, h] = resid
    out.diff_delay_s[t, h] = ddel
    out.status[t, h] = status


@njit
def colour_count(beams):
    """Number of reuse colours: the largest colour index + 1 (0 for no beams)."""
    n = 0
    for b in range(beams.color.size):
        n = max(n, beams.color[b] + 1)
    return n


@njit
def max_links_per_step(geometry):
    """The most links any (step, handset) has: the size of the power buffer, in links."""
    n = 0
    for i in range(geometry.offsets.size - 1):
        n = max(n, geometry.offsets[i + 1] - geometry.offsets[i])
    return n


@njit
def serve_handsets(geometry, frames, beams, pattern, radio, rules, state, out, h_first, h_stop,
                   n_colors, max_links):
    """Every step of the chunk for handsets ``h_first <= h < h_stop``, each in
    time order: received powers, the best usable beam (else the best
    regardless), the serving beam's metric, the handover decision and the
    outputs. ``state[h]`` is read at the start and written back at the end."""
    power = np.empty(max(max_links, 1) * beams.u.size)
    totals = np.zeros(max(n_colors, 1))
    strongest = np.zeros(max(n_colors, 1))
    strongest_at = np.zeros(max(n_colors, 1), dtype=np.int64)
    for h in range(h_first, h_stop):
        current = (state.sat[h], state.beam[h], -1)
        candidate = (state.cand_sat[h], state.cand_beam[h], state.timer[h])
        for t in range(out.sat.shape[0]):
            beam_powers(geometry, frames, beams, pattern, rules, t, h, power, totals, strongest,
                        strongest_at)
            best_k, best_b, best_m = best_usable_beam(geometry, frames, beams, radio, rules, t, h,
                                                      power, totals)
            usable = best_k >= 0
            if not usable:
                best_k, best_b, best_m = best_beam_regardless(geometry, beams, radio, rules, t, h,
                                                              totals, strongest, strongest_at)
            cur_k, cur_m = current_beam_metric(geometry, frames, beams, radio, rules, t, h,
                                               current[0], current[1], usable, power, totals)
            best_s = geometry.sat[best_k] if best_k >= 0 else -1
            current, candidate = decide_handover((best_s, best_b, best_k, best_m),
                                                 (current[0], current[1], cur_k), cur_m,
                                                 candidate, rules)
            if current[2] < 0:
                write_no_link(out, t, h)
            else:
                write_serving_link(geometry, frames, beams, radio, rules, t, h, current[2],
                                   current[1], power, totals, out)
        state.sat[h], state.beam[h] = current[0], current[1]
        state.cand_sat[h], state.cand_beam[h], state.timer[h] = candidate


@njit(parallel=True)
def serve(geometry, beams, pattern, radio, rules, state, out):
    """Choose serving beams and evaluate the links for one chunk of time steps.

    The inputs are the records described above (built by
    ``satsim.link.engine``); ``out`` is written for every (t, h) and ``state``
    updated in place. Received power of beam b of satellite s at the handset,
    in dB relative to 1 W before the handset's G/T:
    ``P = EIRP_b + 10 log10 g(theta) - loss``, and ``SNR = P - dl_noise_db``
    with ``dl_noise_db = k + 10 log10 B - G/T_ue + handset losses``; SINR adds
    every other beam of the same colour of every satellite in the link list
    to the noise. Uplink SNR of the serving beam: ``ul_offset_db + 10 log10
    g(theta) - loss`` (``ul_offset_db`` carries the handset EIRP, the
    satellite G/T, k, the uplink bandwidth and the frequency scaling of the
    free-space loss).

    Cell selection: a phone can only camp on a beam it can use, so the
    candidates are the (satellite, beam) pairs at or above the serving mask
    that the handset is inside with residual Doppler and differential delay
    within tolerance (:func:`best_usable_beam`); the best by metric (SINR,
    or received power) wins. When no beam qualifies, the best beam
    regardless (:func:`best_beam_regardless`) is reported with the reason it
    fails (status NO_BEAM, DOPPLER or DELAY).

    Handover (:func:`decide_handover`): the best candidate replaces the
    serving beam when it is better by more than the hysteresis for
    ``rules.ttt_steps`` consecutive steps, or at once when the serving beam
    is gone or no longer qualifies.

    Parallel over blocks of handsets (each handset's steps run in time order
    in one task, :func:`serve_handsets`), so the results do not depend on the
    number of threads.
    """
    frames = body_frames(geometry.sat_pos_km, geometry.sat_vel_km_s)
    n_colors = colour_count(beams)
    max_links = max_links_per_step(geometry)
    nh = geometry.handset_pos_km.shape[0]
    n_blocks = (nh + HANDSETS_PER_BLOCK - 1) // HANDSETS_PER_BLOCK
    for i in prange(n_blocks):
        block = np.int64(i)  # the parallel loop's index is unsigned
        serve_handsets(geometry, frames, beams, pattern, radio, rules, state, out,
                       block * HANDSETS_PER_BLOCK, min((block + 1) * HANDSETS_PER_BLOCK, nh),
                       n_colors, max_links)


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


@njit(inline="always")
def link_loss_db(elev_deg, range_km, u_los, z_shadow, model):
    """Total path loss of one link, dB: ``model.common_db + 20 log10(range_km)``
    plus shadow fading (``sigma(elevation, LOS state) * z_shadow``, or a fixed
    margin), clutter loss when NLOS (``u_los >= p_los(elevation)``),
    atmospheric loss (zenith loss / sin(elevation); from 6 GHz, ITU-R P.676-12's
    slant path, ``model.gas_from_p676``; or fixed) and, from 6 GHz, the
    tropospheric scintillation fade depth of ITU-R P.618-13 at the link's
    elevation (``model.tropo_scintillation``; below 6 GHz scintillation is in
    ``common_db``). Tables on the 10-90 degree grid (:func:`_interp10`)."""
    los = True
    if model.draw_los:
        los = u_los < _interp10(elev_deg, model.p_los)
    loss = model.common_db + 20.0 * math.log10(range_km)
    if model.shadow_from_table:
        sig = _interp10(elev_deg, model.sigma_los_db) if los else _interp10(elev_deg, model.sigma_nlos_db)
        loss += sig * z_shadow
    else:
        loss += model.shadow_fixed_db
    if not los:
        loss += _interp10(elev_deg, model.clutter_loss_db) if model.clutter_from_table else model.clutter_fixed_db
    if model.atmospheric_from_model:
        if model.gas_from_p676:
            loss += gas_slant_loss_db(elev_deg, model.gas_zenith_oxygen_db,
                                      model.gas_zenith_water_db, model.gas_h_oxygen_km,
                                      model.gas_h_water_km)
        else:
            ea = min(max(elev_deg, model.atmospheric_min_elevation_deg), 90.0)
            loss += model.atmospheric_zenith_db / math.sin(math.radians(ea))
    else:
        loss += model.atmospheric_fixed_db
    if model.tropo_scintillation:
        loss += tropo_scintillation_db(elev_deg, model.scint_freq_ghz, model.scint_nwet,
                                       model.scint_effective_diameter_m, model.scint_time_factor)
    return loss


@njit(parallel=True)
def link_losses(offsets, n_handsets, link_sat, link_elev_deg, link_range_km, model, out_loss_db):
    """Total path loss per link (dB) into ``out_loss_db``, the kernel twin of
    ``losses.link_loss_db``: :func:`link_loss_db` for every link of the CSR
    ``offsets`` over (time, handset), with the draws ``model.u_los[h, sat]``,
    ``model.z_shadow[h, sat]`` of its handset and satellite. ``model`` is the
    run's ``satsim.link.engine.LossModel``.

    Handsets outermost, steps inside: a handset's two rows of draws stay in cache
    over the chunk's steps instead of being fetched again at every step (at
    100,000 handsets the draws are two 0.5 GB arrays: 3x faster than steps
    outermost, measured on a 37-step chunk, 12.2 M links; same values)."""
    nt = (offsets.size - 1) // n_handsets
    for h in prange(n_handsets):
        for t in range(nt):
            i = t * n_handsets + h
            for k in range(offsets[i], offsets[i + 1]):
                s = link_sat[k]
                out_loss_db[k] = link_loss_db(link_elev_deg[k], link_range_km[k], model.u_los[h, s],
                                              model.z_shadow[h, s], model)
