"""Plain numpy reference of the link kernel (``satsim.link._kernels.serve``).

Written independently of the kernel, from the same models: the body frame
and beam boresights from ``satsim.link.beams.boresight_unit_vectors``, the
pattern from ``PatternTable.gain_db`` (np.interp), the path loss given per
link. :func:`reference_beams` evaluates every beam of every satellite in the
link list of one (time, handset); :func:`reference_serve` picks, for every
(time, handset), the best by SINR among the usable beams (inside the beam,
residual Doppler and differential delay within tolerance), or the best
regardless when none is usable, which is what the kernel does with zero
hysteresis and a one-step time-to-trigger.

The per-run inputs are those of ``satsim.link.engine.prepare``: EIRP and
colours from ``prepared.beams``, noise, uplink offset and carrier from
``prepared.radio``, serving mask, beam edge and tolerances from
``prepared.rules`` (its metric, hysteresis and time-to-trigger are not used).
"""

from __future__ import annotations

import numpy as np

from satsim.link.beams import boresight_unit_vectors

C_KM_S = 299792.458


def reference_beams(eph, handsets, links, loss_db, prepared, pattern, t, h) -> dict | None:
    """Every (link, beam) of handset ``h`` at step ``t``; None when it has no link.

    Returns a dict: ``sats`` (L,) satellite of each link; ``p_db``, ``p`` (L, nb)
    received power (dBW, W, before the handset's G/T); ``g_db`` (L, nb)
    normalised gain, dB; ``totals`` (colours,) power of every beam of each
    colour, W; ``sinr`` (L, nb) linear; ``eligible`` (L,) at or above the
    serving mask; ``resid_doppler_hz``, ``diff_delay_s`` (L, nb) against the
    beam centre; ``usable`` (L, nb) eligible, inside the beam and within the
    tolerances.
    """
    sl = links.of(t, h)
    sats = links.sat[sl]
    if sats.size == 0:
        return None
    beams, radio, rules = prepared.beams, prepared.radio, prepared.rules
    colors = beams.color
    r = eph.position_km[sats, t]                       # (L, 3)
    v = eph.velocity_km_s[sats, t]
    bore = boresight_unit_vectors(prepared.layout, r, v)  # (L, nb, 3)
    d = handsets.position_km[h] - r
    rng = np.linalg.norm(d, axis=1)
    dhat = d / rng[:, None]
    cos_t = np.einsum("lbk,lk->lb", bore, dhat)
    theta = np.arccos(np.clip(cos_t, -1, 1))
    g_db = pattern.gain_db(theta) - pattern.max_gain_dbi   # relative gain, dB
    p_db = beams.eirp_dbw[None, :] + g_db - loss_db[sl][:, None]
    p = 10 ** (p_db / 10)
    totals = np.array([p[:, colors == c].sum() for c in range(colors.max() + 1)])
    noise = 10 ** (radio.dl_noise_db / 10)
    sinr = p / (noise + totals[colors][None, :] - p)
    eligible = links.elevation_deg[sl] >= rules.min_elevation_deg
    # beam centres on a sphere through the handset, every (link, beam)
    rb = np.einsum("lbk,lk->lb", bore, r)
    rh2 = handsets.position_km[h] @ handsets.position_km[h]
    disc = rb ** 2 - ((r * r).sum(axis=1)[:, None] - rh2)
    with np.errstate(invalid="ignore"):                # a centre off the Earth: NaN
        tc = -rb - np.sqrt(disc)
    rate_c = -np.einsum("lbk,lk->lb", bore, v)
    rate_h = links.range_rate_km_s[sl]
    resid = -radio.dl_freq_hz * (rate_h[:, None] - rate_c) / C_KM_S
    ddel = (rng[:, None] - tc) / C_KM_S
    usable = (eligible[:, None] & (10 ** (g_db / 10) >= rules.beam_edge_lin)
              & (np.abs(resid) <= rules.max_doppler_hz)
              & (np.abs(2.0 * rules.ul_over_dl * resid) <= rules.max_ul_doppler_hz)
              & (np.abs(ddel) <= rules.max_delay_s))
    return {"sats": sats, "p_db": p_db, "p": p, "g_db": g_db, "totals": totals, "sinr": sinr,
            "eligible": eligible, "resid_doppler_hz": resid, "diff_delay_s": ddel,
            "usable": usable}


def reference_serve(eph, handsets, links, loss_db, prepared, pattern):
    """Returns dict of (ntime, nh) arrays: sat, beam, snr_db, sinr_db, ul_snr_db,
    resid_doppler_hz, diff_delay_s (NaN / -1 where nothing serves)."""
    nt, nh = links.counts.shape
    out = {k: np.full((nt, nh), np.nan) for k in
           ("snr_db", "sinr_db", "ul_snr_db", "resid_doppler_hz", "diff_delay_s")}
    out["sat"] = np.full((nt, nh), -1)
    out["beam"] = np.full((nt, nh), -1)
    for t in range(nt):
        for h in range(nh):
            ev = reference_beams(eph, handsets, links, loss_db, prepared, pattern, t, h)
            if ev is None or not ev["eligible"].any():
                continue
            usable, sinr = ev["usable"], ev["sinr"]
            pick = usable if usable.any() else ev["eligible"][:, None] & np.ones_like(usable)
            li, b = np.unravel_index(np.argmax(np.where(pick, sinr, -np.inf)), sinr.shape)
            out["sat"][t, h], out["beam"][t, h] = ev["sats"][li], b
            out["snr_db"][t, h] = ev["p_db"][li, b] - prepared.radio.dl_noise_db
            out["sinr_db"][t, h] = 10 * np.log10(sinr[li, b])
            out["ul_snr_db"][t, h] = (prepared.radio.ul_offset_db + ev["g_db"][li, b]
                                      - loss_db[links.of(t, h)][li])
            out["resid_doppler_hz"][t, h] = ev["resid_doppler_hz"][li, b]
            out["diff_delay_s"][t, h] = ev["diff_delay_s"][li, b]
    return out
