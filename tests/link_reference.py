"""Plain numpy reference of the link kernel (``satsim.link._kernels.serve``).

Written independently of the kernel, from the same models: the body frame
and beam boresights from ``satsim.link.beams.boresight_unit_vectors``, the
pattern from ``PatternTable.gain_db`` (np.interp), the path loss given per
link. For every (time, handset) it evaluates every beam of every satellite
in the link list and picks the best by SINR among the usable beams (inside
the beam, residual Doppler and differential delay within tolerance), or the
best regardless when none is usable, which is what the kernel does with zero
hysteresis and a one-step time-to-trigger.
"""

from __future__ import annotations

import numpy as np

from satsim.link.beams import boresight_unit_vectors

C_KM_S = 299792.458


def reference_serve(eph, handsets, links, loss_db, prepared, pattern, dl_freq_hz, min_elev_deg,
                    beam_edge_db=np.inf, max_doppler_hz=np.inf, max_delay_s=np.inf):
    """Returns dict of (ntime, nh) arrays: sat, beam, snr_db, sinr_db, ul_snr_db,
    resid_doppler_hz, diff_delay_s (NaN / -1 where nothing serves)."""
    nt, nh = links.counts.shape
    layout = prepared.layout
    out = {k: np.full((nt, nh), np.nan) for k in
           ("snr_db", "sinr_db", "ul_snr_db", "resid_doppler_hz", "diff_delay_s")}
    out["sat"] = np.full((nt, nh), -1)
    out["beam"] = np.full((nt, nh), -1)
    noise = 10 ** (prepared.dl_noise_db / 10)
    colors = prepared.beam_color
    for t in range(nt):
        for h in range(nh):
            sl = links.of(t, h)
            sats = links.sat[sl]
            if sats.size == 0:
                continue
            r = eph.position_km[sats, t]                       # (L, 3)
            v = eph.velocity_km_s[sats, t]
            bore = boresight_unit_vectors(layout, r, v)         # (L, nb, 3)
            d = handsets.position_km[h] - r
            rng = np.linalg.norm(d, axis=1)
            dhat = d / rng[:, None]
            cos_t = np.einsum("lbk,lk->lb", bore, dhat)
            theta = np.arccos(np.clip(cos_t, -1, 1))
            g_db = pattern.gain_db(theta) - pattern.max_gain_dbi   # relative gain, dB
            p_db = prepared.beam_eirp_dbw[None, :] + g_db - loss_db[sl][:, None]
            p = 10 ** (p_db / 10)
            totals = np.array([p[:, colors == c].sum() for c in range(colors.max() + 1)])
            sinr = p / (noise + totals[colors][None, :] - p)
            ok = links.elevation_deg[sl] >= min_elev_deg
            if not ok.any():
                continue
            # beam centres on a sphere through the handset, every (link, beam)
            rb = np.einsum("lbk,lk->lb", bore, r)
            rh2 = handsets.position_km[h] @ handsets.position_km[h]
            disc = rb ** 2 - ((r * r).sum(axis=1)[:, None] - rh2)
            tc = -rb - np.sqrt(disc)
            rate_c = -np.einsum("lbk,lk->lb", bore, v)
            rate_h = links.range_rate_km_s[sl]
            resid = -dl_freq_hz * (rate_h[:, None] - rate_c) / C_KM_S
            ddel = (rng[:, None] - tc) / C_KM_S
            usable = (ok[:, None] & (g_db >= -beam_edge_db) & (np.abs(resid) <= max_doppler_hz)
                      & (np.abs(ddel) <= max_delay_s))
            pick = usable if usable.any() else ok[:, None] & np.ones_like(usable)
            li, b = np.unravel_index(np.argmax(np.where(pick, sinr, -np.inf)), sinr.shape)
            out["sat"][t, h], out["beam"][t, h] = sats[li], b
            out["snr_db"][t, h] = p_db[li, b] - prepared.dl_noise_db
            out["sinr_db"][t, h] = 10 * np.log10(sinr[li, b])
            out["ul_snr_db"][t, h] = prepared.ul_offset_db + g_db[li, b] - loss_db[sl][li]
            out["resid_doppler_hz"][t, h] = resid[li, b]
            out["diff_delay_s"][t, h] = ddel[li, b]
    return out
