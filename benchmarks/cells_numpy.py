"""A vectorised numpy version of the Earth-fixed cell serving kernel, for the cells benchmark.

:func:`numpy_serve_cells` computes what ``satsim.link._cell_kernels.serve_cells``
writes for the served fields of one chunk, from the same inputs (the
kernel's ``geo``, ``cells`` and ``beams`` records and its ``radio`` terms),
written from the kernel's docstrings and the closed-form pattern rather than
from its code:

1. the satellite body frame of every (satellite, step), from the ephemeris:
   z toward nadir, x the velocity made orthogonal to z, y = z x x
   (``satsim.link.beams``' convention);
2. each handset's serving satellite is its cell's (``cells.sat[t, cell]``),
   used only when it is among the handset's links; its serving beam is the
   active beam of that (step, satellite) whose cell is the handset's cell;
3. each active beam's sine-space steering ``(u0, v0)``: the body-frame x and y
   components of the unit vector from its satellite to its cell's centre
   (recomputed here from ``cells.centre_km``, not read from ``beams.u`` / ``beams.v``);
4. the normalised gain toward a handset at body-frame direction cosines
   ``(u, v, w)``: ``max(sinc²(X) sinc²(Y), floor)`` with ``X = π Lx / λ
   (u - u0)``, ``Y = π Ly / λ (v - v0)`` and ``sinc(x) = sin x / x`` (the
   uniformly illuminated rectangular aperture, Balanis, *Antenna Theory*, 4th
   ed., Wiley 2016, §12.5 and Table 12.1; ``satsim.link.aperture``), the
   floor where ``w <= 0`` (behind the array); evaluated in closed form with
   ``np.sinc`` (the kernel evaluates the same sinc² from sin X by the
   angle-difference identity, ``_aperture_kernels.sinc_sq_parts_from_sin``);
5. received power ``p = EIRP_bs g 10^(-loss/10)`` (``beams.eirp_w``: peak
   EIRP, scan loss included); SNR ``10 log10 p - N_dB``;
6. interference: every active beam of the handset's cell colour other than
   the serving beam, of every satellite in the handset's links, weighted by
   ``beams.interf_w`` (activity x EIRP) and its link's attenuation; SINR
   ``10 log10(p / (N + I))``; uplink SNR ``ul_offset_db + 10 log10 g - loss``.

The beams of a step are grouped by (satellite, colour), so each link meets
only the beams of its handset's colour: every (link, same-colour beam) pair
of a block of links is one row of flat arrays, summed per handset with
``np.bincount``. No Python loop over handsets, links or beams: only over the
steps of the chunk and over blocks of at most ``block_pairs`` pairs.

Only the rectangular pattern with uniform illumination is covered (the
default scenario's Starlink direct-to-cell array); the kernel's other
outputs (status, residual Doppler, differential delay) are not.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.link_numpy import body_axes  # the same frame as the link reference

#: Pairs (link x same-colour beam) per block: each float64 temporary of a
#: block is 8 bytes per pair (8 MiB at 2**20).
BLOCK_PAIRS = 2**20

def _sinc_sq(x: np.ndarray) -> np.ndarray:
    """``(sin x / x)²`` (x in rad; ``np.sinc`` is the normalised sin(πx)/(πx))."""
    s = np.sinc(x / math.pi)
    return s * s


def rect_gain_lin(du, dv, w, half_kl_x_rad: float, half_kl_y_rad: float, floor_lin: float):
    """Normalised gain ``max(sinc²(X) sinc²(Y), floor)`` of the uniform
    rectangular aperture at direction-cosine offsets ``(du, dv)`` from the beam
    steering (``X = half_kl_x_rad du``, ``Y = half_kl_y_rad dv``), the floor
    where ``w <= 0``."""
    x = half_kl_x_rad * du
    y = half_kl_y_rad * dv
    fx = _sinc_sq(x)
    fy = _sinc_sq(y)
    front = w > 0.0
    return np.where(front, np.maximum(fx * fy, floor_lin), floor_lin)


def _csr_rows(offsets: np.ndarray, first: int, n: int) -> np.ndarray:
    """Row index of every entry of rows ``first .. first + n - 1`` of a CSR."""
    counts = np.diff(offsets[first:first + n + 1])
    return np.repeat(np.arange(n), counts)


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, index)`` of the concatenated ranges ``starts[i] : starts[i] + counts[i]``."""
    row = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    idx = np.arange(row.size) - first[row] + starts[row]
    return row, idx


def numpy_serve_cells(geo, cells, beams, radio, half_kl_x_rad: float, half_kl_y_rad: float,
                      floor_lin: float, steps=None, block_pairs: int = BLOCK_PAIRS) -> dict:
    """Serving satellite and cell, SNR, SINR and uplink SNR of every handset at
    ``steps`` of a chunk, as ``_cell_kernels.serve_cells`` defines them.

    Parameters
    ----------
    geo : satsim.link.engine.LinkGeometry
        The chunk's ephemeris (``sat_pos_km``, ``sat_vel_km_s``: (nsat, nt, 3)),
        handset positions (nh, 3) and CSR links of every (t, h) (``offsets``,
        ``sat``, ``loss_db``: total path loss, dB).
    cells : satsim.link.cell_engine.CellServing
        ``handset_cell`` (nh,), ``color`` and ``centre_km`` per cell, and the
        serving satellite of each cell per step (``sat`` (nt, ncell), -1 none).
    beams : satsim.link.cell_engine.ActiveBeams
        CSR over (t, satellite) of the active beams: ``offsets``, ``cell``,
        ``eirp_w`` (W, peak, scan loss included), ``interf_w`` (W, activity x EIRP).
        Their steering and colour are derived here from their cells.
    radio : satsim.link.engine.RadioTerms
        ``dl_noise_db`` / ``dl_noise_lin`` (noise before the handset's G/T)
        and ``ul_offset_db``.
    half_kl_x_rad, half_kl_y_rad : float
        ``π Lx / λ``, ``π Ly / λ`` of the array (``aperture.rect_kernel_params``).
    floor_lin : float
        Pattern floor (``antenna.PATTERN_FLOOR_LIN``).
    steps : sequence of int, optional
        Steps of the chunk to compute (default all).
    block_pairs : int
        Bound on the (link, beam) pairs evaluated at once.

    Returns
    -------
    dict
        ``steps`` (the rows), ``sat`` / ``cell`` (rows x nh, int64, -1 where
        the cell's satellite is not among the handset's links), ``snr_db``,
        ``sinr_db``, ``ul_snr_db`` (NaN there), ``beam_visits`` (per row and
        handset: the active beams of its link satellites, 0 where unserved),
        ``pair_evaluations`` (same-colour beams evaluated, all rows).
    """
    nsat, nt = geo.sat_pos_km.shape[:2]
    nh = geo.handset_pos_km.shape[0]
    steps = np.arange(nt) if steps is None else np.asarray(steps, dtype=np.int64)
    if half_kl_x_rad <= 0.0 or half_kl_y_rad <= 0.0:
        raise ValueError(f"numpy_serve_cells: half_kl_x_rad ({half_kl_x_rad}) and half_kl_y_rad "
                         f"({half_kl_y_rad}) must be positive (π L / λ of the array)")
    handset_cell = np.asarray(cells.handset_cell, dtype=np.int64)
    cell_color = np.asarray(cells.color, dtype=np.int64)
    ncolor = int(cell_color.max()) + 1 if cell_color.size else 1
    ncell = cell_color.size
    hcolor = cell_color[handset_cell]
    noise_lin = float(radio.dl_noise_lin)
    ns = steps.size
    out = {"steps": steps,
           "sat": np.full((ns, nh), -1, dtype=np.int64),
           "cell": np.full((ns, nh), -1, dtype=np.int64),
           "snr_db": np.full((ns, nh), np.nan), "sinr_db": np.full((ns, nh), np.nan),
           "ul_snr_db": np.full((ns, nh), np.nan),
           "beam_visits": np.zeros((ns, nh), dtype=np.int64), "pair_evaluations": 0}
    hpos = np.asarray(geo.handset_pos_km)
    for row, t in enumerate(steps):
        spos = geo.sat_pos_km[:, t]
        axes = body_axes(spos, geo.sat_vel_km_s[:, t])              # (nsat, 3, 3)
        # -- the step's links and each handset's serving link
        k0 = geo.offsets[t * nh]
        lh = _csr_rows(geo.offsets, t * nh, nh)
        lk = k0 + np.arange(lh.size)
        lsat = np.asarray(geo.sat[lk], dtype=np.int64)
        s_h = np.asarray(cells.sat[t], dtype=np.int64)[handset_cell]
        match = np.flatnonzero(lsat == s_h[lh])
        hm, first = np.unique(lh[match], return_index=True)
        ks = np.full(nh, -1, dtype=np.int64)
        ks[hm] = match[first]                          # index into the step's links
        has = ks >= 0
        # -- the step's active beams: satellite, cell, colour, steering
        b0 = beams.offsets[t * nsat]
        bsat = _csr_rows(beams.offsets, t * nsat, nsat)
        bidx = b0 + np.arange(bsat.size)
        bcell = np.asarray(beams.cell[bidx], dtype=np.int64)
        bdir = cells.centre_km[bcell] - spos[bsat]
        bdir /= np.linalg.norm(bdir, axis=1, keepdims=True)
        u0 = np.einsum("ij,ij->i", axes[bsat, 0], bdir)
        v0 = np.einsum("ij,ij->i", axes[bsat, 1], bdir)
        eirp_w = np.asarray(beams.eirp_w[bidx])
        interf_w = np.asarray(beams.interf_w[bidx])
        scan_lin = np.asarray(beams.scan_lin[bidx])
        cell_beam = np.full(ncell, -1, dtype=np.int64)
        cell_beam[bcell] = np.arange(bcell.size)
        bs = cell_beam[handset_cell]                     # step-local serving beam
        bad = has & ((bs < 0) | (bsat[np.maximum(bs, 0)] != s_h))
        if bad.any():
            h = int(np.flatnonzero(bad)[0])
            raise ValueError(f"numpy_serve_cells: step {t}, handset {h}: cell "
                             f"{handset_cell[h]} has satellite {s_h[h]} but no active beam of "
                             "that satellite (beams.cell)")
        # -- per link: the handset's direction in its satellite's body frame, attenuation
        e = hpos[lh] - spos[lsat]
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        lu = np.einsum("ij,ij->i", axes[lsat, 0], e)
        lv = np.einsum("ij,ij->i", axes[lsat, 1], e)
        lw = np.einsum("ij,ij->i", axes[lsat, 2], e)
        loss_db = np.asarray(geo.loss_db[lk])
        att = 10.0 ** (-loss_db / 10.0)
        # -- serving beam: gain, power, SNR, uplink SNR
        hs = np.flatnonzero(has)
        k_s, b_s = ks[hs], bs[hs]
        g = rect_gain_lin(lu[k_s] - u0[b_s], lv[k_s] - v0[b_s], lw[k_s], half_kl_x_rad,
                          half_kl_y_rad, floor_lin)
        p = eirp_w[b_s] * g * att[k_s]
        # -- interference: the beams of each link's satellite in the handset's colour
        key_b = bsat * ncolor + cell_color[bcell]
        order = np.argsort(key_b, kind="stable")
        group_count = np.bincount(key_b, minlength=nsat * ncolor)
        group_start = np.cumsum(group_count) - group_count
        sat_count = np.bincount(bsat, minlength=nsat)
        served_link = np.flatnonzero(has[lh])
        key_l = lsat[served_link] * ncolor + hcolor[lh[served_link]]
        n_pairs = group_count[key_l]
        interf = np.zeros(nh)
        ends = np.cumsum(n_pairs)
        i = 0
        while i < served_link.size:
            # the next block of links: at most block_pairs pairs (at least one link)
            j = max(i + 1, int(np.searchsorted(ends, (ends[i] - n_pairs[i]) + block_pairs,
                                               side="right")))
            links = served_link[i:j]
            r, pos = _expand(group_start[key_l[i:j]], n_pairs[i:j])
            k = links[r]
            b = order[pos]
            h = lh[k]
            keep = b != bs[h]                              # every beam but the serving one
            k, b, h = k[keep], b[keep], h[keep]
            gi = rect_gain_lin(lu[k] - u0[b], lv[k] - v0[b], lw[k], half_kl_x_rad,
                               half_kl_y_rad, floor_lin)
            wgt = interf_w[b] * att[k]
            interf += np.bincount(h, weights=wgt * gi, minlength=nh)
            out["pair_evaluations"] += int(k.size)
            i = j
        out["sat"][row, hs] = s_h[hs]
        out["cell"][row, hs] = handset_cell[hs]
        out["snr_db"][row, hs] = 10.0 * np.log10(p) - radio.dl_noise_db
        out["sinr_db"][row, hs] = 10.0 * np.log10(p / (noise_lin + interf[hs]))
        # the uplink: the same array receives, with its scan factor (no uplink
        # interference in this reference: it checks the downlink kernel)
        out["ul_snr_db"][row, hs] = (radio.ul_offset_db + 10.0 * np.log10(g * scan_lin[b_s])
                                     - loss_db[k_s])
        out["beam_visits"][row] = np.bincount(lh, weights=sat_count[lsat],
                                              minlength=nh).astype(np.int64) * has
    return out
