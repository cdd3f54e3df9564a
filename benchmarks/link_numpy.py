"""A vectorised numpy version of the link kernel, for the link benchmark.

:func:`numpy_serve` does what ``satsim.link._kernels.serve`` does with zero
hysteresis and a one-step time-to-trigger (the serving beam is the best
beam of each step): from the same inputs (ephemeris chunk, handsets,
``VisibleLinks``, per-link loss in dB and the per-run records of
``satsim.link.engine.prepare``) it evaluates every beam of every satellite
in view of every (time step, handset), all links at once:

1. the satellite body frame of every (satellite, step): z toward nadir, x the
   velocity made orthogonal to z, y = z x x;
2. per link, the unit direction satellite -> handset in that frame, and its
   cosine with each beam boresight (one ``(links, 3) @ (3, beams)`` product);
3. the normalised pattern gain ``np.interp(ka sin(theta), u_grid, table)``
   on ``prepared.pattern.gain_lin``, the floor at or beyond 90 degrees;
4. received power ``EIRP_b * gain * 10^(-loss/10)``;
5. per (t, h) and reuse colour, the total received power (``np.bincount``
   over the CSR groups);
6. the SINR ``p / (N + total_colour - p)`` of every (link, beam);
7. cell selection, as the kernel since commit 1751265: the usable beams are
   those of links at or above the serving mask that the handset is inside
   (normalised gain at least ``rules.beam_edge_lin``) with residual Doppler and
   differential delay against the beam centre (where the boresight meets a
   sphere through the handset) within the tolerances; these offsets are
   computed only for the (link, beam) pairs inside the beam edge. The best
   usable beam per (t, h) serves; when none is usable, the best beam of a
   link at or above the mask regardless (ties: the first in link-major,
   beam-minor order, as the kernel); then its SNR, SINR and uplink SNR.

No Python loop over links, handsets or time steps: only over blocks of time
steps (to bound memory at about ``block_evals`` link-beam evaluations per
block) and over the reuse colours. This is the "plain numpy" side of the
speed comparison, written independently of the kernel and of
``tests/link_reference.py`` (which loops over (t, h) and is far slower).
"""

from __future__ import annotations

import numpy as np

#: Default block size, in link-beam evaluations (each float64 temporary of a
#: block is 8 bytes per evaluation: 4 MiB at 2**19, about the L2 cache). On
#: the benchmark machine 2**17 .. 2**19 are equally fast; 2**21 is 7 %
#: (np.interp) to 70 % (index lookup) slower, 2**22 15-85 % slower. Blocks
#: hold whole time steps, so a block is at least one step's links.
BLOCK_EVALS = 2**19


def body_axes(position_km: np.ndarray, velocity_km_s: np.ndarray) -> np.ndarray:
    """Body-frame unit axes of every (satellite, step), shape ``(..., 3, 3)``.

    Rows: x (along-track), y, z (nadir); ``axes @ d`` gives the body
    components of an ITRS direction ``d``.
    """
    z = -position_km / np.linalg.norm(position_km, axis=-1, keepdims=True)
    x = velocity_km_s - np.sum(velocity_km_s * z, axis=-1, keepdims=True) * z
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-2)


def numpy_serve(eph, handsets, links, loss_db, prepared, block_evals: int = BLOCK_EVALS,
                lookup: str = "interp") -> dict:
    """Best-SINR serving beam and its SNR / SINR / UL SNR for every (t, h).

    Parameters
    ----------
    eph : Ephemeris
        The chunk's ephemeris (``position_km``, ``velocity_km_s``: (nsat, nt, 3)).
    handsets : Handsets
        ``position_km`` (nh, 3).
    links : VisibleLinks
        Links of the chunk (CSR over (t, h) by ``offsets``).
    loss_db : ndarray (nlinks,)
        Total path loss per link, dB.
    prepared : satsim.link.engine.Prepared
        The kernel's per-run records: ``beams`` (boresights, colours, EIRPs),
        ``pattern`` (the gain table), ``radio`` (noise, UL offset, downlink
        frequency) and ``rules``: the serving mask (links below it interfere
        but do not serve), the beam edge, and the phone's residual-Doppler
        (Hz) and differential-delay (s) tolerances of the usable-beam rule.
        Its metric (always SINR here), hysteresis and time-to-trigger are
        not used.
    block_evals : int
        Approximate link-beam evaluations per block of time steps.
    lookup : {"interp", "index"}
        How the pattern table is read. ``"interp"``: ``np.interp`` (a binary
        search per value, the obvious numpy spelling and the reference of the
        benchmark). ``"index"``: ``i = int(u / u_step)`` and a gather of
        ``table[i]``, ``table[i + 1]``, the kernel's own arithmetic; about 4x
        faster for this step, reported by the benchmark as the stronger
        numpy baseline.

    Returns
    -------
    dict of (nt, nh) arrays: ``sat``, ``beam`` (int64, -1 where nothing
    serves), ``snr_db``, ``sinr_db``, ``ul_snr_db`` (float64, NaN there).
    """
    pos = np.asarray(eph.position_km, dtype=np.float64)
    vel = np.asarray(eph.velocity_km_s, dtype=np.float64)
    nt = pos.shape[1]
    nh = links.n_handsets
    h_pos = np.asarray(handsets.position_km, dtype=np.float64)
    beams, pat, radio = prepared.beams, prepared.pattern, prepared.radio
    nb = beams.u.size
    colors = np.asarray(beams.color, dtype=np.int64)
    ncolor = int(colors.max()) + 1
    boresight = np.stack([beams.u, beams.v, beams.w])               # (3, nb) body frame
    eirp_lin = 10.0 ** (np.asarray(beams.eirp_dbw) / 10.0)          # (nb,)
    noise_lin = 10.0 ** (radio.dl_noise_db / 10.0)
    table = np.asarray(pat.gain_lin, dtype=np.float64)
    u_grid = np.arange(table.size) * pat.u_step
    axes = body_axes(pos, vel)                                       # (nsat, nt, 3, 3)
    offsets = links.offsets

    out = {
        "sat": np.full((nt, nh), -1, dtype=np.int64),
        "beam": np.full((nt, nh), -1, dtype=np.int64),
        "snr_db": np.full((nt, nh), np.nan),
        "sinr_db": np.full((nt, nh), np.nan),
        "ul_snr_db": np.full((nt, nh), np.nan),
    }
    flat = {k: v.reshape(-1) for k, v in out.items()}

    # blocks of whole time steps, about block_evals link-beam pairs each
    step_links = np.diff(offsets[::nh]) if nh else np.zeros(nt, dtype=np.int64)
    t0 = 0
    while t0 < nt:
        t1 = t0 + 1
        acc = int(step_links[t0])
        while t1 < nt and (acc + int(step_links[t1])) * nb <= block_evals:
            acc += int(step_links[t1])
            t1 += 1
        _serve_block(t0, t1, nh, nb, ncolor, colors, pos, vel, axes, h_pos, offsets, links,
                     loss_db, boresight, eirp_lin, noise_lin, table, u_grid, prepared, lookup,
                     flat)
        t0 = t1
    return out


def _serve_block(t0, t1, nh, nb, ncolor, colors, pos, vel, axes, h_pos, offsets, links,
                 loss_db, boresight, eirp_lin, noise_lin, table, u_grid, prepared, lookup, flat):
    pat, radio, rules = prepared.pattern, prepared.radio, prepared.rules
    g0, g1 = t0 * nh, t1 * nh                      # (t, h) groups of the block
    k0, k1 = int(offsets[g0]), int(offsets[g1])   # its links
    nlink = k1 - k0
    if nlink == 0:
        return
    ngroup = g1 - g0
    counts = np.diff(offsets[g0:g1 + 1])
    grp = np.repeat(np.arange(ngroup), counts)    # local group of each link
    t_idx = t0 + grp // nh
    h_idx = grp % nh
    s_idx = links.sat[k0:k1].astype(np.intp)
    rng = links.range_km[k0:k1]
    loss = loss_db[k0:k1]

    # -- direction satellite -> handset in the body frame, cosine with each beam
    d = (h_pos[h_idx] - pos[s_idx, t_idx]) / rng[:, None]              # (L, 3) ITRS
    d_body = np.einsum("lij,lj->li", axes[s_idx, t_idx], d)            # (L, 3) body
    cos_t = d_body @ boresight                                         # (L, nb)

    # -- pattern gain: u = ka sin(theta) interpolated in the table; floor behind
    behind = cos_t <= 0.0
    gain = np.multiply(cos_t, cos_t)
    np.subtract(1.0, gain, out=gain)
    np.maximum(gain, 0.0, out=gain)
    np.sqrt(gain, out=gain)
    if lookup == "interp":
        gain *= pat.ka
        gain = np.interp(gain, u_grid, table)        # beyond the grid: the last entry
    else:
        gain *= pat.ka / pat.u_step                  # x = u / u_step, as the kernel
        i = gain.astype(np.intp)
        np.minimum(i, table.size - 2, out=i)         # u <= ka: the table reaches past it
        gain -= i                                    # fraction
        lo = table[i]
        i += 1
        hi = table[i]
        del i
        hi -= lo
        gain *= hi
        gain += lo
        del lo, hi
    gain[behind] = pat.floor_lin
    del behind, cos_t

    # -- received power and per-(t, h) colour totals
    att = 10.0 ** (-loss / 10.0)
    power = gain * eirp_lin[None, :]
    power *= att[:, None]
    if ncolor == 1:
        total_link = power.sum(axis=1)[:, None]                      # (L, 1)
    else:
        onehot = (colors[:, None] == np.arange(ncolor)[None, :]).astype(np.float64)
        total_link = power @ onehot                                   # (L, ncolor)
    totals = np.empty((ngroup, ncolor))
    for c in range(ncolor):
        totals[:, c] = np.bincount(grp, weights=total_link[:, c], minlength=ngroup)
    del total_link

    # -- SINR of every (link, beam); the best per (t, h): among the usable
    # beams if the (t, h) has one, else among all beams of serving links
    interf = totals[grp][:, colors]                                   # (L, nb)
    interf += noise_lin
    interf -= power
    sinr = np.divide(power, interf, out=interf)
    eligible = links.elevation_deg[k0:k1] >= rules.min_elevation_deg
    usable = _usable(power, eirp_lin, att, eligible, boresight, axes, pos, vel, s_idx, t_idx,
                     h_pos[h_idx], rng, links.range_rate_km_s[k0:k1], radio, rules)
    has_usable = np.bincount(grp, weights=usable.any(axis=1), minlength=ngroup) > 0
    pick = np.where(has_usable[grp][:, None], usable, eligible[:, None])
    del usable
    metric = np.where(pick, sinr, -np.inf)
    del pick
    b_best = np.argmax(metric, axis=1)                                # first beam on ties
    rows = np.arange(nlink)
    m_best = metric[rows, b_best]
    del metric
    starts = offsets[g0:g1][counts > 0] - k0
    g_max = np.full(ngroup, -np.inf)
    g_max[counts > 0] = np.maximum.reduceat(m_best, starts)
    hit = np.flatnonzero((m_best == g_max[grp]) & (m_best > -np.inf))
    served_grp, first = np.unique(grp[hit], return_index=True)        # first link on ties
    kb = hit[first]
    bb = b_best[kb]
    p_s = power[kb, bb]
    cell = g0 + served_grp                                            # flat (t, h) index
    flat["sat"][cell] = s_idx[kb]
    flat["beam"][cell] = bb
    flat["snr_db"][cell] = 10.0 * np.log10(p_s) - radio.dl_noise_db
    flat["sinr_db"][cell] = 10.0 * np.log10(sinr[kb, bb])
    flat["ul_snr_db"][cell] = radio.ul_offset_db + 10.0 * np.log10(gain[kb, bb]) - loss[kb]


def _usable(power, eirp_lin, att, eligible, boresight, axes, pos, vel, s_idx, t_idx, h_r, rng,
            rate, radio, rules):
    """(L, nb) mask of the beams a phone may camp on (see module docstring, step 7).

    The beam-edge test is the kernel's ``p / (EIRP att) >= edge``; the
    residual Doppler and differential delay are then computed only for the
    (link, beam) pairs that pass it (a handset is inside few beams).
    """
    inside = power / (eirp_lin[None, :] * att[:, None]) >= rules.beam_edge_lin
    inside &= eligible[:, None]
    li, bi = np.nonzero(inside)
    ax = axes[s_idx[li], t_idx[li]]                                   # (n, 3, 3)
    bore = np.einsum("nji,nj->ni", ax, boresight[:, bi].T)            # boresight in ITRS
    r, v = pos[s_idx[li], t_idx[li]], vel[s_idx[li], t_idx[li]]
    rb = np.einsum("ni,ni->n", r, bore)
    r_h = np.sqrt(np.einsum("ni,ni->n", h_r[li], h_r[li]))
    with np.errstate(invalid="ignore"):
        range_c = -rb - np.sqrt(rb * rb - (np.einsum("ni,ni->n", r, r) - r_h * r_h))
    rate_c = -np.einsum("ni,ni->n", bore, v)
    c_km_s = 299792.458
    resid = -radio.dl_freq_hz * (rate[li] - rate_c) / c_km_s
    ddel = (rng[li] - range_c) / c_km_s
    ok = ((np.abs(resid) <= rules.max_doppler_hz)  # NaN: no
          & (np.abs(2.0 * rules.ul_over_dl * resid) <= rules.max_ul_doppler_hz)
          & (np.abs(ddel) <= rules.max_delay_s))
    inside[li[~ok], bi[~ok]] = False
    return inside
