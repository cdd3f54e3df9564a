"""The run summary's statistics (``satsim.results.summary``) and the one sampling
rule they share with the orbit layer and the scheduler
(``satsim.orbits.coverage.sample_bounds_s``): gaps and service runs agree to
the bit whoever computes them, and chunking does not change them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from satsim.orbits import Coverage, TimeGrid
from satsim.orbits.coverage import sample_bounds_s
from satsim.results.summary import GapTracker, sample_handsets
from satsim.scheduler import CoverageView

EPOCH = "2025-10-27T00:00:00Z"


def test_sample_bounds_are_the_midpoints_cut_at_the_run_ends():
    assert sample_bounds_s([0.0, 10.0, 20.0, 30.0]).tolist() == [0, 5, 15, 25, 30]
    assert sample_bounds_s([0.0, 10.0, 30.0]).tolist() == [0, 5, 20, 30]
    # weights: half a step at each end
    assert np.diff(sample_bounds_s(np.arange(5) * 7.5)).tolist() == [3.75, 7.5, 7.5, 7.5, 3.75]


@pytest.mark.parametrize("step_s", [10.0, 7.3, 0.1])
def test_sample_bounds_of_a_chunk_are_the_whole_runs(step_s):
    t = np.arange(50) * step_s
    whole = sample_bounds_s(t)
    for lo, hi in ((0, 17), (17, 33), (33, 50)):
        chunk = sample_bounds_s(t[lo:hi], t[lo - 1] if lo else None, t[hi] if hi < 50 else None)
        assert np.array_equal(chunk, whole[lo:hi + 1])


def _mask(nt=97, nh=23, seed=4):
    rng = np.random.default_rng(seed)
    served = rng.random((nt, nh)) < 0.6
    served[:, 0] = True    # never a gap
    served[:, 1] = False   # one gap, the whole run
    served[:3, 2] = False  # a gap cut by the start
    served[-2:, 3] = False  # and one cut by the end
    return served


@pytest.mark.parametrize("step_s", [10.0, 7.3])
@pytest.mark.parametrize("chunk_steps", [97, 40, 1])
def test_summary_gaps_equal_the_orbit_layers_in_any_chunking(step_s, chunk_steps):
    served = _mask()
    nt, nh = served.shape
    times = TimeGrid.from_duration(EPOCH, (nt - 1) * step_s, step_s)
    assert len(times) == nt
    tracker = GapTracker(nh)
    for k0 in range(0, nt, chunk_steps):
        tracker.add(served[k0:k0 + chunk_steps], k0)
    got = tracker.table(sample_bounds_s(times.offsets_s))
    cov = Coverage(None, None, times, 25.0, served.astype(np.uint8))
    pd.testing.assert_frame_equal(got, cov.gaps, check_exact=True)
    assert not (got.handset == 0).any()
    whole = got[got.handset == 1]
    assert len(whole) == 1 and whole.censored.all() and whole.duration_s.iloc[0] == times.duration_s
    assert got[got.handset == 2].censored.iloc[0] and got[got.handset == 3].censored.iloc[-1]


@pytest.mark.parametrize("step_s", [10.0, 7.3])
def test_scheduler_runs_tile_with_the_summary_gaps(step_s):
    """Served runs of the scheduler's view and the summary's gaps share their
    edges exactly: together they tile each handset's run, no overlap, no hole."""
    served = _mask()
    nt, nh = served.shape
    times = TimeGrid.from_duration(EPOCH, (nt - 1) * step_s, step_s)
    zeros = np.zeros((nt, nh), dtype=np.int32)
    view = CoverageView.from_arrays(times.offsets_s, served, zeros, zeros,
                                    cqi=np.ones((nt, nh), dtype=np.int8))
    tracker = GapTracker(nh)
    tracker.add(served, 0)
    gaps = tracker.table(sample_bounds_s(times.offsets_s))
    runs = pd.DataFrame({"handset": np.repeat(np.arange(nh), np.diff(view.offsets)),
                         "start_s": view.start, "end_s": view.end})
    for h in range(nh):
        pieces = pd.concat([runs[runs.handset == h], gaps[gaps.handset == h]]).sort_values(
            "start_s")
        starts, ends = pieces["start_s"].to_numpy(), pieces["end_s"].to_numpy()
        assert starts[0] == times.offsets_s[0] and ends[-1] == times.offsets_s[-1]
        assert np.array_equal(starts[1:], ends[:-1])  # bit-equal edges


def test_sample_handsets_spread_evenly():
    assert sample_handsets(0, 5).size == 0
    assert sample_handsets(10, 0).size == 0
    assert sample_handsets(3, 8).tolist() == [0, 1, 2]
    assert sample_handsets(101, 5).tolist() == [0, 25, 50, 75, 100]


def test_link_summary_percentiles_are_those_of_the_served_samples():
    """summary["link"]: DL SINR, DL SNR and UL SNR percentiles over the served
    samples of the run's own timeline, to the 0.05 dB histogram bin; the SNR is
    never below the SINR (interference only subtracts)."""
    import satsim
    from satsim.link import iter_link_chunks
    from satsim.scenario.build import build

    sc = satsim.load_scenario(None, overrides={"duration_s": 1200, "handsets.spacing_km": 300.0,
                                               "services.sms.enabled": False})
    link = satsim.run(sc, seed=0).summary["link"]
    inp = build(sc)
    chunks = list(iter_link_chunks(inp.constellation, inp.handsets, inp.times, inp.link))
    served = np.concatenate([c.served.ravel() for c in chunks])
    for key in ("dl_sinr_db", "dl_snr_db", "ul_snr_db", "ul_sinr_db"):
        values = np.concatenate([getattr(c, key).ravel() for c in chunks])[served]
        for q in (10, 50, 90):
            assert link[key][f"p{q}"] == pytest.approx(np.percentile(values, q), abs=0.05), key
    assert all(link["dl_snr_db"][p] >= link["dl_sinr_db"][p] for p in ("p10", "p50", "p90"))
    # the default's uplink has other cells' phones in it: SINR below SNR
    assert all(link["ul_snr_db"][p] > link["ul_sinr_db"][p] for p in ("p10", "p50", "p90"))
