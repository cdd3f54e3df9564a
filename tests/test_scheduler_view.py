"""CoverageView: sample convention, runs, scalar and vectorised look-ups."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from satsim.errors import InputError
from satsim.link.cqi import cqi_from_sinr_db, rate_bps_per_rb
from satsim.link.timeline import LinkChunk
from satsim.orbits.timegrid import TimeGrid
from satsim.scheduler import CoverageView

T = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])


def two_handset_view():
    # handset 0: served at samples 1-4 by (sat 3, beam 1), beam changes to 2 at sample 3;
    # handset 1: served at samples 0 and 4-5
    served = np.array([[0, 1], [1, 0], [1, 0], [1, 0], [1, 1], [0, 1]], dtype=bool)
    sat = np.where(served, 3, -1)
    beam = np.array([[-1, 7], [1, -1], [1, -1], [2, -1], [2, 7], [-1, 7]])
    sinr = np.where(served, 5.0, np.nan)
    sinr[2, 0] = 7.0  # 5 dB is CQI 7, 7 dB CQI 8: a run of its own
    return CoverageView.from_arrays(T, served, sat, beam, sinr)


def test_midpoint_convention_edges():
    v = two_handset_view()
    assert v.start_s == 0.0 and v.end_s == 50.0
    # handset 0 served from the midpoint 5 s to the midpoint 45 s
    assert not v.is_served(0, 4.999)
    assert v.is_served(0, 5.0)
    assert v.is_served(0, 44.999)
    assert not v.is_served(0, 45.0)
    assert v.gap_end(0, 0.0) == 5.0
    assert v.gap_end(0, 20.0) == 20.0  # served: the gap has already ended
    assert v.gap_end(0, 45.0) == math.inf
    assert v.coverage_end(0, 6.0) == 45.0  # across the beam change at 25 s
    assert v.serving_end(0, 6.0) == 25.0  # the beam change
    assert v.serving_end(0, 30.0) == 45.0
    assert v.coverage_end(0, 0.0) == 0.0  # not served: coverage "ends" now
    # handset 1: first sample cut at the start, last at the end of the view
    assert v.is_served(1, 0.0) and not v.is_served(1, 5.0)
    assert v.gap_end(1, 5.0) == 35.0
    assert v.coverage_end(1, 40.0) == 50.0
    assert not v.is_served(1, 50.0)


def test_runs_split_on_cqi_and_beam_and_sinr_is_run_mean():
    v = two_handset_view()
    # handset 0: CQI 7 (5 dB) at sample 1, CQI 8 (7 dB) at 2, beam 2 from sample 3
    assert cqi_from_sinr_db(5.0) == 7 and cqi_from_sinr_db(7.0) == 8
    lo, hi = v.offsets[0], v.offsets[1]
    assert hi - lo == 3
    np.testing.assert_array_equal(v.start[lo:hi], [5.0, 15.0, 25.0])
    np.testing.assert_array_equal(v.end[lo:hi], [15.0, 25.0, 45.0])
    np.testing.assert_array_equal(v.beam[lo:hi], [1, 1, 2])
    np.testing.assert_array_equal(v.cqi[lo:hi], [7, 8, 7])
    s = v.serving(0, 16.0)
    assert (s.sat, s.beam, s.cqi) == (3, 1, 8)
    assert s.sinr_db == pytest.approx(7.0)
    assert s.rate_bps_per_rb == pytest.approx(float(rate_bps_per_rb(8)))
    assert v.serving(0, 2.0) is None
    # the mean SINR of a run covering several samples
    served = np.ones((3, 1), dtype=bool)
    w = CoverageView.from_arrays([0.0, 1.0, 2.0], served, np.zeros((3, 1)), np.zeros((3, 1)),
                                 np.array([[12.4], [12.5], [13.0]]))
    assert w.n_runs == 1 and w.sinr_db[0] == pytest.approx(12.633333, rel=1e-6)


def test_vectorised_lookup_matches_scalar():
    rng = np.random.default_rng(3)
    nt, nh = 200, 7
    times = np.cumsum(rng.uniform(1, 20, nt))
    served = rng.random((nt, nh)) < 0.6
    sat = rng.integers(0, 3, (nt, nh))
    beam = rng.integers(0, 2, (nt, nh))
    sinr = rng.uniform(-5, 25, (nt, nh))
    v = CoverageView.from_arrays(times, served, sat, beam, sinr)
    h = rng.integers(0, nh, 5000)
    t = rng.uniform(times[0] - 50, times[-1] + 50, 5000)
    t[:50] = v.start[rng.integers(0, v.n_runs, 50)]  # exactly on run edges
    t[50:100] = v.end[rng.integers(0, v.n_runs, 50)]
    got = v.run_index(h, t)
    want = np.array([v.run_at(int(a), float(b)) for a, b in zip(h, t)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(v.is_served_many(h, t), want >= 0)
    # every served run agrees with the sample it came from
    mid = times[1:-1]
    for k in range(nh):
        j = v.run_index(np.full(mid.size, k), mid)
        np.testing.assert_array_equal(j >= 0, served[1:-1, k])
        s = served[1:-1, k]
        np.testing.assert_array_equal(v.sat[j[s]], sat[1:-1, k][s])
        np.testing.assert_array_equal(v.beam[j[s]], beam[1:-1, k][s])


def test_chunked_timeline_gives_the_same_view():
    rng = np.random.default_rng(8)
    nt, nh = 300, 6
    times = np.cumsum(rng.uniform(1, 20, nt))
    # slowly changing states, so that many runs cross chunk borders
    served = np.repeat(rng.random((30, nh)) < 0.7, 10, axis=0)
    sat = np.repeat(rng.integers(0, 2, (30, nh)), 10, axis=0)
    beam = np.repeat(rng.integers(0, 2, (60, nh)), 5, axis=0)
    sinr = np.where(served, rng.uniform(4.8, 6.6, (nt, nh)), np.nan)  # CQI 7 throughout
    cqi = np.where(served, cqi_from_sinr_db(sinr), 0)
    whole = CoverageView.from_arrays(times, served, sat, beam, sinr, cqi)
    cuts = [0, 1, 2, 37, 38, 150, 151, 299, 300]  # chunks of 1, 1, 35, 1, 112, 1, 148, 1
    epoch = datetime(2025, 10, 27, tzinfo=timezone.utc)
    chunks = (SimpleNamespace(times=SimpleNamespace(offsets_s=times[a:b], epoch=epoch),
                              served=served[a:b], serving_sat=sat[a:b], serving_beam=beam[a:b],
                              dl_sinr_db=sinr[a:b], cqi=cqi[a:b])
              for a, b in zip(cuts[:-1], cuts[1:]))
    chunked = CoverageView.from_link_chunks(chunks)
    assert chunked.epoch == epoch and whole.n_runs < nt * nh / 5
    for name in ("offsets", "start", "end", "cover_end", "serve_end", "sat", "beam", "cqi"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
    np.testing.assert_allclose(chunked.sinr_db, whole.sinr_db, rtol=1e-6)
    with pytest.raises(InputError, match="follow each other"):
        CoverageView.from_link_chunks([SimpleNamespace(
            times=SimpleNamespace(offsets_s=times[5:9], epoch=None), served=served[5:9],
            serving_sat=sat[5:9], serving_beam=beam[5:9], dl_sinr_db=sinr[5:9], cqi=cqi[5:9])] * 2)


def test_served_fraction_matches_sampled_availability():
    rng = np.random.default_rng(4)
    served = rng.random((101, 5)) < 0.5
    times = np.arange(101) * 10.0
    v = CoverageView.from_arrays(times, served, np.zeros_like(served, int),
                                 np.zeros_like(served, int), np.full(served.shape, 3.0))
    # midpoint weights: half a step for the first and last samples
    w = np.full(101, 10.0)
    w[[0, -1]] = 5.0
    np.testing.assert_allclose(v.served_fraction(), (served * w[:, None]).sum(0) / 1000.0)


def test_from_link_chunk():
    grid = TimeGrid(datetime(2025, 10, 27, 6, tzinfo=timezone.utc), np.array([0.0, 10.0, 20.0]))
    nt, nh = 3, 2
    status = np.array([[0, 1], [0, 0], [2, 0]], dtype=np.uint8)
    f32 = np.zeros((nt, nh), np.float32)
    chunk = LinkChunk(
        times=grid, serving_sat=np.array([[4, -1], [4, 5], [-1, 5]], np.int32),
        serving_beam=np.array([[0, -1], [1, 2], [-1, 2]], np.int32), dl_snr_db=f32,
        dl_sinr_db=np.full((nt, nh), 10.0, np.float32), ul_snr_db=f32,
        cqi=np.where(status == 0, 9, 0).astype(np.int8), spectral_eff=f32, elevation_deg=f32,
        delay_s=f32, residual_doppler_hz=f32, differential_delay_s=f32, status=status,
        handovers=pd.DataFrame())
    v = CoverageView.from_link_chunk(chunk)
    assert v.epoch == grid.epoch
    assert v.serving(0, 1.0)[:3] == (4, 0, 9)
    assert v.serving(0, 6.0)[:3] == (4, 1, 9)
    assert not v.is_served(0, 15.0)
    assert v.gap_end(1, 0.0) == 5.0
    assert v.serving(1, 19.0)[:2] == (5, 2)


def test_periodic_and_always_covered():
    v = CoverageView.periodic(3, on_s=300.0, off_s=600.0, duration_s=2000.0,
                              phase_s=[0.0, 100.0, -250.0], n_beams=2)
    lo, hi = v.offsets[0], v.offsets[1]
    np.testing.assert_array_equal(v.start[lo:hi], [0.0, 900.0, 1800.0])
    np.testing.assert_array_equal(v.end[lo:hi], [300.0, 1200.0, 2000.0])
    lo, hi = v.offsets[2], v.offsets[3]
    np.testing.assert_array_equal(v.start[lo:hi], [0.0, 650.0, 1550.0])
    np.testing.assert_array_equal(v.end[lo:hi], [50.0, 950.0, 1850.0])
    assert v.serving(1, 150.0).beam == 1 and v.serving(2, 0.0).beam == 0
    assert v.gap_end(0, 300.0) == 900.0
    np.testing.assert_allclose(v.served_fraction()[:2], [800 / 2000, 700 / 2000])
    a = CoverageView.always_covered(4, 3600.0, n_beams=2, sinr_db=20.0)
    assert a.n_runs == 4 and np.all(a.cqi == 15)
    assert a.coverage_end(3, 10.0) == 3600.0 and a.gap_end(3, 10.0) == 10.0
    assert a.nbytes == a.offsets.nbytes + 4 * (8 + 8 + 8 + 8 + 4 + 4 + 1 + 4)


def test_view_errors_name_the_problem():
    with pytest.raises(InputError, match="strictly increasing"):
        CoverageView.from_arrays([0.0, 0.0], np.ones((2, 1), bool), np.zeros((2, 1)),
                                 np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(InputError, match="serving_beam must have the shape"):
        CoverageView.from_arrays([0.0, 1.0], np.ones((2, 1), bool), np.zeros((2, 1)),
                                 np.zeros((2, 2)), np.zeros((2, 1)))
    with pytest.raises(InputError, match="CQI in 1..15"):
        CoverageView.from_arrays([0.0, 1.0], np.ones((2, 1), bool), np.zeros((2, 1)),
                                 np.zeros((2, 1)), cqi=np.zeros((2, 1), int))
    with pytest.raises(InputError, match="on_s"):
        CoverageView.periodic(1, 0.0, 10.0, 100.0)
    with pytest.raises(InputError, match="n_handsets"):
        CoverageView.periodic(0, 10.0, 10.0, 100.0)


@pytest.mark.parametrize("in_order", [True, False])
def test_merge_orders_runs_by_handset_then_start_and_joins_chunk_borders(in_order):
    """``_merge_runs`` sorts by handset alone when the runs come chunk by chunk
    in (handset, start) order, and by both keys otherwise: the (handset, start)
    order of a two-key sort either way, runs split only by a chunk border
    joined (count-weighted SINR)."""
    from satsim.scheduler.coverage_view import _merge_runs

    rng = np.random.default_rng(3)
    # two chunks [0, 50) and [50, 100) of 40 handsets: up to 3 runs per handset in each
    handset, start, end = [], [], []
    for c0 in (0.0, 50.0):
        for h in range(40):
            cuts = np.sort(rng.choice(np.arange(1, 50), size=rng.integers(1, 4) * 2,
                                      replace=False)) + c0
            if h % 5 == 0:      # a run that goes on across the border
                cuts[-1 if c0 == 0.0 else 0] = 50.0
            handset += [h] * (cuts.size // 2)
            start += list(cuts[::2])
            end += list(cuts[1::2])
    n = len(handset)
    cols = [np.array(handset, dtype=np.int64), np.array(start), np.array(end),
            np.full(n, 3, np.int32), np.full(n, 9, np.int32), np.full(n, 7, np.int8),
            rng.uniform(0, 10, n).astype(np.float32), rng.integers(1, 5, n),
            np.full(n, np.nan, np.float32), np.zeros(n, np.int64), None, None, None]
    if not in_order:  # the same runs, shuffled
        perm = rng.permutation(n)
        cols = [None if c is None else c[perm] for c in cols]
    ref = np.lexsort((cols[1], cols[0]))
    expected_h, expected_s = cols[0][ref], cols[1][ref]
    joined = ~np.r_[False, (expected_h[1:] == expected_h[:-1])
                    & (expected_s[1:] == cols[2][ref][:-1])]
    got = _merge_runs(list(cols))
    np.testing.assert_array_equal(got[0], expected_h[joined])
    np.testing.assert_array_equal(got[1], expected_s[joined])
    assert 0 < joined.size - joined.sum() <= 8      # the border runs, joined
    assert np.all(np.diff(got[0]) >= 0)
    first = np.flatnonzero(joined)
    w = cols[7][ref].astype(np.float64)
    sums = np.add.reduceat(cols[6][ref] * w, first) / np.add.reduceat(w, first)
    np.testing.assert_allclose(got[6], sums, rtol=1e-6)
