"""Numba kernel of the running statistics (:class:`satsim.results.summary.LinkStats`).

One pass over a link chunk's ``(steps, handsets)`` arrays gives every
per-handset sum, the status counts and the four SNR / SINR histograms that
``LinkStats`` folds in per chunk; before, a dozen numpy passes did (each
building ``(steps, handsets)`` float64 temporaries: ~100 ns per handset-step
at 100,000 handsets, the driver's largest share when the link stage runs on
a cluster). The results are bit-identical to those numpy passes, kept as
:func:`chunk_sums_numpy`, the reference of tests/test_link_stats.py:

* a handset's sums over the chunk's steps are accumulated in step order, as
  numpy's ``sum(axis=0)`` of a C-ordered array does, and combined in the same
  order (``(served + edge correction) - holes``);
* a histogram bin ``i`` counts ``edges[i] <= v < edges[i + 1]`` (the last bin
  also ``v == edges[-1]``), values below, above or NaN are not counted, the
  comparisons in float64, as ``np.histogram`` with explicit edges;
* ``nan_to_num`` of a hole (NaN 0, infinities the largest finite float).

Handsets run in parallel blocks (each block's rows are contiguous); the counts
of each block are summed at the end (integers: in any order).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import njit

#: Handsets per parallel block (its rows stay contiguous in every array).
BLOCK_HANDSETS = 1024

_BIG = np.finfo(np.float64).max


@njit(inline="always")
def _bin(v, edges, e0, inv_step):
    """Histogram bin of ``v`` (float64) among ``edges`` (ascending), -1 outside
    or NaN: ``np.histogram``'s rule with explicit edges. A first guess from
    the (near-uniform) spacing, then corrected by comparing with the edges
    themselves, so the answer is the edges', not the guess's."""
    n = edges.size - 1
    if not (v >= edges[0] and v <= edges[n]):
        return -1
    i = int(math.floor((v - e0) * inv_step))
    i = min(max(i, 0), n - 1)
    while i > 0 and v < edges[i]:
        i -= 1
    while i < n - 1 and v >= edges[i + 1]:
        i += 1
    return i


@njit(parallel=True)
def chunk_sums(status, served_code, w, nvis, dl_sinr, dl_snr, ul_snr, ul_sinr, edge, half,
               hole_start, hole_end, edges, n_status):
    """Per-handset sums and counts of one chunk ``(nt, nh)``.

    ``w`` (nt,): each sample's weight, s; ``served_code``: the status value
    of a served sample; ``edge`` / ``half`` (``service_edge_s`` and the
    sample's half-weight before it, (nt,)) and ``hole_start`` / ``hole_end``
    may be empty ``(0, 0)`` arrays (not known). Returns ``(served_s,
    edge_s, hole_s, visible_s, visible_sum_s, sinr_sum, sinr_n,
    status_count, hists)``: per handset the weighted served time, the
    service-edge correction, the seconds of holes, the time with a satellite
    visible, the visible count times the weight, the sum of served SINRs
    (float64) and their number; the counts of each status; ``hists`` (4,
    nbin): served downlink SINR, downlink SNR, uplink SNR, uplink SINR."""
    nt, nh = status.shape
    nbin = edges.size - 1
    e0 = edges[0]
    inv_step = nbin / (edges[nbin] - edges[0])
    has_edge = edge.shape[0] > 0
    has_holes = hole_start.shape[0] > 0
    served_s = np.zeros(nh)
    edge_s = np.zeros(nh)
    hole_s = np.zeros(nh)
    visible_s = np.zeros(nh)
    visible_sum_s = np.zeros(nh)
    sinr_sum = np.zeros(nh)
    sinr_n = np.zeros(nh, dtype=np.int64)
    nblock = (nh + BLOCK_HANDSETS - 1) // BLOCK_HANDSETS
    counts = np.zeros((nblock, n_status), dtype=np.int64)
    hists = np.zeros((nblock, 4, nbin), dtype=np.int64)
    for blk in prange(nblock):
        h0 = blk * BLOCK_HANDSETS
        h1 = min(h0 + BLOCK_HANDSETS, nh)
        for t in range(nt):
            wt = w[t]
            for h in range(h0, h1):
                st = status[t, h]
                counts[blk, st] += 1
                served = st == served_code
                nv = nvis[t, h]
                served_s[h] += wt if served else 0.0
                visible_s[h] += wt if nv > 0 else 0.0
                visible_sum_s[h] += nv * wt
                if has_edge:
                    e = edge[t, h]
                    if math.isfinite(e):
                        edge_s[h] += (e - half[t]) if served else (half[t] - e)
                if has_holes:
                    d = np.float64(hole_start[t, h]) - np.float64(hole_end[t, h])
                    if math.isnan(d):
                        d = 0.0
                    elif d > _BIG:
                        d = _BIG
                    elif d < -_BIG:
                        d = -_BIG
                    hole_s[h] += d
                if served:
                    s = np.float64(dl_sinr[t, h])
                    sinr_sum[h] += s
                    sinr_n[h] += 1
                    i = _bin(s, edges, e0, inv_step)
                    if i >= 0:
                        hists[blk, 0, i] += 1
                    i = _bin(np.float64(dl_snr[t, h]), edges, e0, inv_step)
                    if i >= 0:
                        hists[blk, 1, i] += 1
                    i = _bin(np.float64(ul_snr[t, h]), edges, e0, inv_step)
                    if i >= 0:
                        hists[blk, 2, i] += 1
                    i = _bin(np.float64(ul_sinr[t, h]), edges, e0, inv_step)
                    if i >= 0:
                        hists[blk, 3, i] += 1
    return (served_s, edge_s, hole_s, visible_s, visible_sum_s, sinr_sum, sinr_n,
            counts.sum(axis=0), hists.sum(axis=0))


def chunk_sums_numpy(status, served_code, w, nvis, dl_sinr, dl_snr, ul_snr, ul_sinr, edge,
                     half, hole_start, hole_end, edges, n_status):
    """:func:`chunk_sums` in the numpy passes ``LinkStats`` used before it (the
    reference of the bit-for-bit tests)."""
    served = status == served_code
    wc = np.asarray(w, dtype=np.float64)[:, None]
    nh = status.shape[1]
    if edge.shape[0]:
        known = np.isfinite(edge)
        hc = np.asarray(half, dtype=np.float64)[:, None]
        delta = np.where(served, edge - hc, hc - edge)
        edge_s = np.where(known, delta, 0.0).sum(axis=0)
    else:
        edge_s = np.zeros(nh)
    if hole_start.shape[0]:
        hole_s = np.nan_to_num(np.asarray(hole_start, np.float64) - hole_end, nan=0.0).sum(axis=0)
    else:
        hole_s = np.zeros(nh)
    hists = np.stack([np.histogram(x[served], bins=edges)[0]
                      for x in (dl_sinr, dl_snr, ul_snr, ul_sinr)])
    return ((served * wc).sum(axis=0), edge_s, hole_s, ((nvis > 0) * wc).sum(axis=0),
            (nvis * wc).sum(axis=0),
            np.where(served, dl_sinr, 0.0).astype(np.float64).sum(axis=0), served.sum(axis=0),
            np.bincount(status.ravel(), minlength=n_status), hists)


#: Binary exponents of float32 values as ``math.frexp`` gives them (-148 for the
#: smallest subnormal .. 128), offset to bin indices 0..SINR_EXPONENT_BINS - 1.
SINR_EXPONENT_OFFSET = 150
SINR_EXPONENT_BINS = 280


@njit
def sinr_exponent_sums(sinr, served, bins, special):
    """The served values of ``sinr`` ((nt, nh) float32, ``served`` bool) summed
    exactly per step: each finite value ``x = m 2^e`` (``math.frexp``) adds its
    integer mantissa ``m 2^24`` (exact: a float32 has 24 bits) to ``bins[t, e +
    SINR_EXPONENT_OFFSET]`` (int64: up to 2^39 values per bin without overflow);
    non-finite values are added to ``special[t]`` (their sum, inf or NaN, does
    not depend on the order). Integer sums: the same in any order, so blocks of
    handsets add up to the whole exactly
    (:func:`satsim.results.summary.joined_series`)."""
    nt, nh = sinr.shape
    for t in range(nt):
        for h in range(nh):
            if not served[t, h]:
                continue
            x = np.float64(sinr[t, h])
            if not math.isfinite(x):
                special[t] += x
            elif x != 0.0:
                m, e = math.frexp(x)
                bins[t, e + SINR_EXPONENT_OFFSET] += np.int64(m * 16777216.0)
