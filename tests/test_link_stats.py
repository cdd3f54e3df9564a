"""The running statistics' one-pass kernel (``satsim.results._stats_kernels.
chunk_sums``) against the numpy passes it replaced (``chunk_sums_numpy``):
the same bits for every per-handset sum, count and histogram, with the cases
that decide a sum or a bin (values on the histogram's edges, outside it, NaN
and infinite; unknown and infinite service edges; holes NaN or infinite;
handset counts across the parallel blocks)."""

from __future__ import annotations

import numpy as np
import pytest

from satsim.link.timeline import SERVED, STATUS_NAMES
from satsim.results._stats_kernels import BLOCK_HANDSETS, chunk_sums, chunk_sums_numpy
from satsim.results.summary import SINR_EDGES_DB

N_STATUS = max(STATUS_NAMES) + 1


def chunk(nt, nh, seed, dtype=np.float32, edges=True, holes=True):
    """A random chunk's arrays in the argument order of ``chunk_sums``, with
    the hard values planted."""
    rng = np.random.default_rng(seed)
    status = rng.choice([SERVED, SERVED, SERVED, 1, 2, N_STATUS - 1], size=(nt, nh)
                        ).astype(np.uint8)
    nvis = rng.integers(0, 6, size=(nt, nh)).astype(np.int16)
    w = rng.uniform(0.5, 1.5, nt)
    w[0] *= 0.5
    values = []
    for _ in range(4):
        v = rng.uniform(-45.0, 65.0, size=(nt, nh))
        flat = v.ravel()
        k = min(flat.size, 64)
        # on the edges (first, last, interior, the near-zero one), just below them,
        # outside, NaN and infinite
        hard = np.concatenate([SINR_EDGES_DB[[0, -1, 1, 800, 1000, 1999]],
                               np.nextafter(SINR_EDGES_DB[[1, 800, -1]], -np.inf),
                               np.nextafter(SINR_EDGES_DB[[0, -1]], np.inf),
                               [-40.0, 60.0, 59.99999999999431, np.nan, np.inf, -np.inf]])
        idx = rng.choice(flat.size, size=min(k, hard.size), replace=False)
        flat[idx] = hard[:idx.size]
        values.append(v.astype(dtype))
    none2 = np.zeros((0, 0), dtype=np.float32)
    half = rng.uniform(0.2, 0.8, nt)
    if edges:
        edge = rng.uniform(0.0, 1.0, size=(nt, nh)).astype(np.float32)
        edge[rng.random((nt, nh)) < 0.5] = np.nan
        edge.ravel()[:min(3, edge.size)] = [np.inf, -np.inf, 0.0][:min(3, edge.size)]
    else:
        edge = none2
    if holes:
        start = np.full((nt, nh), np.nan, dtype=np.float32)
        pick = rng.random((nt, nh)) < 0.1
        start[pick] = rng.uniform(0.1, 1.0, pick.sum())
        end = np.where(pick, start * 0.5, np.nan).astype(np.float32)
        if nh:
            start.ravel()[-2:] = [np.inf, -np.inf]
            end.ravel()[-2:] = [0.25, 0.25]
    else:
        start = end = none2
    return (status, SERVED, w, nvis, *values, edge, half, start, end, SINR_EDGES_DB, N_STATUS)


def assert_same(got, expected):
    names = ("served_s", "edge_s", "hole_s", "visible_s", "visible_sum_s", "sinr_sum", "sinr_n",
             "status_count", "hists")
    for name, a, b in zip(names, got, expected):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name
        if a.dtype.kind == "f":  # the same bits, signs of zero included
            assert np.array_equal(np.signbit(a), np.signbit(b)), name


@pytest.mark.parametrize("nt, nh, dtype, edges, holes", [
    (7, 1, np.float32, True, True),
    (37, BLOCK_HANDSETS + 3, np.float32, True, True),
    (120, 2 * BLOCK_HANDSETS + 500, np.float32, False, False),
    (5, 300, np.float64, True, False),
    (3, 0, np.float32, True, True),
])
def test_one_pass_gives_the_numpy_passes_bits(nt, nh, dtype, edges, holes):
    args = chunk(nt, nh, seed=nt * 1000 + nh, dtype=dtype, edges=edges, holes=holes)
    got = chunk_sums(*args)
    expected = chunk_sums_numpy(*args)
    assert_same(got, expected)
    if nh:
        assert got[8].sum() > 0 and got[7].sum() == nt * nh


def test_histogram_bins_follow_the_edges_not_their_spacing():
    """A value on an edge counts in the bin it opens (the last edge closes the
    last bin); just below an edge, in the bin before; outside or NaN, nowhere:
    ``np.histogram``'s rule on edges that ``np.arange`` left uneven."""
    e = SINR_EDGES_DB
    v = np.array([[e[0], e[800], np.nextafter(e[800], -np.inf), e[-1], np.nextafter(e[-1], -np.inf),
                   np.nextafter(e[0], -np.inf), np.nextafter(e[-1], np.inf), np.nan, e[1999]]])
    nh = v.shape[1]
    status = np.full((1, nh), SERVED, dtype=np.uint8)
    none2 = np.zeros((0, 0), dtype=np.float32)
    hists = chunk_sums(status, SERVED, np.ones(1), np.ones((1, nh), np.int16), v, v, v, v,
                       none2, np.zeros(1), none2, none2, e, N_STATUS)[8]
    counted = {int(i): int(c) for i in np.flatnonzero(hists[0]) for c in [hists[0][i]]}
    assert counted == {0: 1, 800: 1, 799: 1, 1999: 3}


def _row_percentiles_partitioned(x, n, qs):
    """Reference: each row's two order statistics per percentile placed by
    np.partition (NaN last), interpolated linearly as numpy's default."""
    out = [np.full(x.shape[0], np.nan) for _ in qs]
    with np.errstate(invalid="ignore"):
        for r in np.flatnonzero(n > 0) if x.shape[1] else ():
            last = int(n[r]) - 1
            pos = [q / 100.0 * last for q in qs]
            lo = [int(np.floor(p)) for p in pos]
            hi = [min(k + 1, last) for k in lo]
            row = np.partition(np.asarray(x[r], dtype=np.float64), sorted(set(lo + hi)))
            for i, p in enumerate(pos):
                out[i][r] = row[lo[i]] + (row[hi[i]] - row[lo[i]]) * (p - lo[i])
    return out


def test_row_percentiles_by_partition_equal_the_sorted_rows():
    """The time series' percentiles per step (every row sorted) equal the order
    statistics np.partition places (NaN where not served, rows of 0, 1 and 2
    values, ties, infinities)."""
    from satsim.results.summary import _row_percentiles

    rng = np.random.default_rng(5)
    x = rng.normal(5.0, 8.0, (40, 301)).astype(np.float32)
    x[:, ::7] = np.round(x[:, ::7])  # ties
    x[3, 5], x[4, 9] = np.inf, -np.inf
    served = rng.random(x.shape) < 0.8
    served[0] = False
    served[1] = False
    served[1, 17] = True
    served[2] = False
    served[2, [4, 250]] = True
    xs = np.where(served, x, np.nan)
    n = served.sum(axis=1)
    qs = (10, 50, 90, 0, 100, 37.5)
    got, want = _row_percentiles(xs, n, qs), _row_percentiles_partitioned(xs, n, qs)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.isnan(got[0][0]) and got[1][1] == x[1, 17]
    assert got[1][2] == np.float64(x[2, 4]) + (np.float64(x[2, 250]) - x[2, 4]) * 0.5 \
        or got[1][2] == np.float64(x[2, 250]) + (np.float64(x[2, 4]) - x[2, 250]) * 0.5
    empty = _row_percentiles(np.empty((3, 0)), np.zeros(3, int), (50,))
    assert np.isnan(empty[0]).all()


# -- the time series' reduction: exact sums that blocks add up in any order ----------
def series_chunk(nt, nh, seed):
    """A chunk's fields the time series read: served flags, satellites in view and a
    float32 SINR with the hard values planted (tiny, subnormal, large, negative,
    zero; one step with +inf, one with +inf and -inf)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    served = rng.random((nt, nh)) < 0.9
    sinr = rng.normal(3.0, 9.0, (nt, nh)).astype(np.float32)
    sinr[0, :5] = [1e-30, -3e-39, 1e30, -0.0, 0.0]
    served[0, :5] = True
    sinr[1, 7], served[1, 7] = np.inf, True
    sinr[2, 3], sinr[2, 4], served[2, 3], served[2, 4] = np.inf, -np.inf, True, True
    nvis = rng.integers(0, 5, (nt, nh)).astype(np.uint8)
    return SimpleNamespace(served=served, n_visible=nvis, dl_sinr_db=sinr,
                           times=SimpleNamespace(offsets_s=np.arange(nt, dtype=float)))


def test_series_sums_are_exact_and_blocks_add_up_to_the_whole():
    """Each step's served SINR sum is the exact sum rounded once (Fraction
    reference), so blocks of handsets in any order give the whole chunk's series
    bit for bit; the other columns equal numpy's means."""
    from fractions import Fraction
    from types import SimpleNamespace

    import pandas as pd

    from satsim.results.summary import (
        LinkStats,
        _exact_sinr_sums,
        joined_series,
        series_columns,
    )

    nt, nh = 6, 701
    ch = series_chunk(nt, nh, 3)
    cols = series_columns(ch)
    sums = _exact_sinr_sums(cols)
    for t in range(nt):
        vals = ch.dl_sinr_db[t][ch.served[t]].astype(np.float64)
        if not np.all(np.isfinite(vals)):
            with np.errstate(invalid="ignore"):
                np.testing.assert_array_equal(sums[t], vals[~np.isfinite(vals)].sum())
            continue
        assert sums[t] == float(sum((Fraction(float(v)) for v in vals), Fraction(0)))
    assert np.isposinf(sums[1]) and np.isnan(sums[2])

    def table(parts):
        stats = LinkStats(SimpleTimes(nt), nh, np.empty(0, dtype=np.int64))
        stats.add_series(joined_series(parts))
        return stats.series[0]

    whole = table([cols])
    rng = np.random.default_rng(8)
    order = rng.permutation(nh)
    blocks = [np.sort(order[:300]), np.sort(order[300:310]), np.sort(order[310:])]
    parts = []
    for b in reversed(blocks):  # blocks of any handsets, in any order
        parts.append(series_columns(SimpleNamespace(
            served=ch.served[:, b], n_visible=ch.n_visible[:, b], dl_sinr_db=ch.dl_sinr_db[:, b],
            times=ch.times)))
    pd.testing.assert_frame_equal(table(parts), whole, check_exact=True)
    np.testing.assert_array_equal(whole["served_fraction"], ch.served.mean(axis=1))
    np.testing.assert_array_equal(whole["mean_visible"], ch.n_visible.mean(axis=1))
    np.testing.assert_array_equal(whole["visible_fraction"], (ch.n_visible > 0).mean(axis=1))
    finite = [t for t in range(nt) if t not in (1, 2)]
    with np.errstate(invalid="ignore"):
        pairwise = np.where(ch.served, ch.dl_sinr_db, 0.0).astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(whole["mean_sinr_db"].to_numpy()[finite],
                               (pairwise / ch.served.sum(axis=1))[finite], rtol=1e-12)
    for t in finite:  # the percentiles: numpy's linear ones of the served values
        vals = ch.dl_sinr_db[t][ch.served[t]].astype(np.float64)
        for q in (10, 50, 90):
            np.testing.assert_allclose(whole[f"p{q}_sinr_db"][t], np.percentile(vals, q),
                                       rtol=1e-12, atol=1e-12)


class SimpleTimes:
    """The time grid a LinkStats needs for its series alone: ``offsets_s``."""

    def __init__(self, n):
        self.offsets_s = np.arange(n, dtype=float)
