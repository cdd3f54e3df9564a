"""The link stage in handset blocks, each block building its own statistics and
coverage-view runs (satsim.distributed.BlockStageActor, what the workers of
``satsim run --workers`` do): joined, they are the in-process stage's, array for
array and table for table. The actors run in this process here (a Dask actor is
a plain object); tests/test_sweeps.py runs them on a LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from satsim.distributed import BlockStageActor, cell_blocks, handset_blocks
from satsim.link.engine import prepare_cells_for
from satsim.results.summary import LinkStats, joined_series, sample_handsets
from satsim.runner import _link_stage
from satsim.scenario import Scenario, with_overrides
from satsim.scenario.build import build
from satsim.scheduler import CoverageView, simulate
from satsim.scheduler.parts import joined as parts_joined

VIEW_ARRAYS = ("offsets", "start", "end", "cover_end", "serve_end", "sat", "beam", "cqi",
               "sinr_db", "delay_s", "ul_cqi", "ul_sinr_db")


@pytest.fixture(scope="module")
def stage():
    """The Earth-fixed default over ~90 handsets, 20 min at 10 s in 3 chunks (runs and
    gaps cross the chunk borders), 7 sampled handsets spread over the blocks."""
    sc = with_overrides(Scenario(), {"duration_s": 1200.0, "step_s": 10.0,
                                     "run.chunk_steps": 50, "run.sample_handsets": 7,
                                     "handsets.spacing_km": 300.0})
    inputs = build(sc)
    stats, view = _link_stage(inputs, None, lambda *a: None, {})
    return sc, inputs, stats, view


def blocked_stage(sc, inputs, blocks):
    """The stage as link_stage_dask composes it, with its actors in this process:
    ``blocks`` consecutive handsets (slices) or any (index arrays)."""
    nh = len(inputs.handsets)
    indexed = not isinstance(blocks[0], slice)
    actors = [BlockStageActor(sc, b) for b in blocks]
    stats = LinkStats(inputs.times, nh, sample_handsets(nh, sc.run.sample_handsets))
    while True:
        parts = [a.next_series() for a in actors]
        if parts[0] is None:
            break
        stats.add_series(joined_series(parts))
    results = [a.result() for a in actors]
    stats.absorb((b if indexed else b.start, part) for b, (part, _) in zip(blocks, results))
    return stats, CoverageView.joined((v for _, v in results), blocks if indexed else None), \
        actors


@pytest.mark.parametrize("block_handsets", [37, 11])
def test_blocks_statistics_and_views_joined_are_the_whole_stages(stage, block_handsets):
    sc, inputs, stats, view = stage
    assert len(inputs.handsets) > 2 * block_handsets
    got_stats, got_view, _ = blocked_stage(sc, inputs,
                                           handset_blocks(len(inputs.handsets), block_handsets))
    want = stats.tables(inputs.handsets)
    got = got_stats.tables(inputs.handsets)
    assert sorted(got) == sorted(want)
    assert len(want["samples"]) and len(want["handovers"]) and len(want["gaps"])
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)
    assert got_stats.coverage_summary(got["gaps"], got["handovers"]) == \
        stats.coverage_summary(want["gaps"], want["handovers"])
    assert got_stats.link_summary() == stats.link_summary()
    assert view.n_runs > 3 * len(inputs.handsets) and view.has_uplink
    assert (got_view.n_handsets, got_view.start_s, got_view.end_s, got_view.epoch,
            got_view.n_rb) == (view.n_handsets, view.start_s, view.end_s, view.epoch, view.n_rb)
    for name in VIEW_ARRAYS:
        a, b = getattr(got_view, name), getattr(view, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name


def test_joining_refuses_what_is_not_blocks_of_one_run(stage):
    sc, inputs, stats, view = stage
    shifted = CoverageView.always_covered(3, view.end_s - view.start_s + 10.0,
                                          start_s=view.start_s)
    with pytest.raises(Exception, match="share their span"):
        CoverageView.joined([view, shifted])
    with pytest.raises(Exception, match="no views"):
        CoverageView.joined([])
    nh = len(inputs.handsets)
    whole = LinkStats(inputs.times, nh, sample_handsets(nh, 2))
    with pytest.raises(ValueError, match="cover handsets"):
        whole.absorb([(1, stats.block_part())])
    with pytest.raises(ValueError, match="same 0 steps"):  # no series folded in
        whole.absorb([(0, stats.block_part())])


# -- blocks of whole cells, each running its own services ---------------------------
@pytest.fixture(scope="module")
def crowded():
    """120 phones around three cities (several per Earth-fixed cell, so a cell's
    phones contend for its beam), every service, 20 min at 10 s in 3 chunks."""
    cities = [{"name": "a", "lat_deg": 40.0, "lon_deg": -100.0, "population": 3.0},
              {"name": "b", "lat_deg": 35.0, "lon_deg": -90.0, "population": 2.0},
              {"name": "c", "lat_deg": 44.0, "lon_deg": -75.0, "population": 1.0}]
    sc = with_overrides(Scenario(), {
        "duration_s": 1200.0, "step_s": 10.0, "run.chunk_steps": 50,
        "run.sample_handsets": 9, "handsets.placement": "cities", "handsets.count": 120,
        "handsets.cities": cities, "handsets.radius_km": 20.0,
        "services.voice.enabled": True, "services.voice.calls_per_hour": 4.0,
        "services.data.enabled": True, "services.data.sessions_per_hour": 20.0,
        "services.app_call.enabled": True, "services.app_call.calls_per_hour": 4.0})
    inputs = build(sc)
    stats, view = _link_stage(inputs, None, lambda *a: None, {})
    return sc, inputs, stats, view


def test_cell_blocks_hold_whole_cells(crowded):
    sc, inputs, _, _ = crowded
    blocks = cell_blocks(inputs, 3)
    assert len(blocks) == 3
    assert np.array_equal(np.sort(np.concatenate(blocks)), np.arange(len(inputs.handsets)))
    cell = prepare_cells_for(inputs.link, inputs.handsets, inputs.constellation).handset_cell
    owners = [set(cell[b].tolist()) for b in blocks]
    assert all(not (owners[i] & owners[j]) for i in range(3) for j in range(i + 1, 3))
    assert np.bincount(cell).max() >= 5          # crowded: several phones per cell
    assert max(b.size for b in blocks) - min(b.size for b in blocks) <= np.bincount(cell).max()
    assert cell_blocks(build(with_overrides(sc, {"beams.mode": "moving"})), 3) is None


def test_blocks_of_whole_cells_run_their_own_services_exactly(crowded):
    """The actors of blocks of whole cells (not consecutive handsets) joined give the
    in-process statistics and view, share no beam, and their own services joined
    are the whole view's, table for table."""
    sc, inputs, stats, view = crowded
    blocks = cell_blocks(inputs, 3)
    assert any(np.any(np.diff(b) > 1) for b in blocks)   # not consecutive ranges
    got, joined, actors = blocked_stage(sc, inputs, blocks)
    want_tables, got_tables = stats.tables(inputs.handsets), got.tables(inputs.handsets)
    assert len(want_tables["samples"]) and len(want_tables["handovers"])
    for name in want_tables:
        pd.testing.assert_frame_equal(got_tables[name], want_tables[name], check_exact=True,
                                      obj=name)
    for name in VIEW_ARRAYS:
        a, b = getattr(joined, name), getattr(view, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
    keys = np.concatenate([a.beam_keys() for a in actors])
    assert np.unique(keys).size == keys.size
    want = simulate(view, inputs.scheduler, inputs.scenario.seed)
    assert want.summary()["voice"]["offered"] > 5 and len(want.sessions) > 50
    result = parts_joined([a.services(inputs.scheduler, inputs.scenario.seed) for a in actors])
    for name in ("events", "beams", "calls", "sessions", "app_calls"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(want, name),
                                      check_exact=True, obj=name)
