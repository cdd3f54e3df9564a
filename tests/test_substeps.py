"""Service between samples (``link.substep_s``, ``satsim.link.substeps``): the
cells assigned on the fine grid, the phones whose serving satellite changes
within a step evaluated on it, against a run at the fine step itself."""

from __future__ import annotations

import numpy as np
import pytest

import satsim
from satsim.errors import InputError
from satsim.link.config import LinkConfig
from satsim.link.engine import iter_link_chunks
from satsim.link.substeps import fine_ephemerides, substeps_per_step
from satsim.link.timeline import SERVED
from satsim.orbits import DEFAULT_EPOCH, TimeGrid, propagate
from satsim.orbits.walker import WalkerShell, walker_constellation
from satsim.scenario.build import build


def test_the_substep_divides_the_step():
    grid = TimeGrid.from_duration(DEFAULT_EPOCH, 600, 10.0)
    assert substeps_per_step(1.0, grid) == 10
    assert substeps_per_step(2.5, grid) == 4
    assert substeps_per_step(None, grid) == 1
    assert substeps_per_step(10.0, grid) == substeps_per_step(30.0, grid) == 1   # no finer
    with pytest.raises(InputError, match=r"link.substep_s \(3 s\) must divide step_s \(10 s\)"):
        substeps_per_step(3.0, grid)
    with pytest.raises(InputError, match="uniform"):
        substeps_per_step(1.0, TimeGrid(DEFAULT_EPOCH, np.array([0.0, 10.0, 30.0])))


def test_a_scenario_whose_substep_does_not_divide_its_step_is_refused_at_load():
    from satsim.scenario.loader import ScenarioError

    with pytest.raises(ScenarioError, match=r"link.substep_s \(3 s\) must divide step_s"):
        satsim.load_scenario(None, overrides={"link.substep_s": 3.0})
    assert satsim.load_scenario(None, overrides={"link.substep_s": 2.5}).link.substep_s == 2.5


def test_substeps_exist_for_earth_fixed_cells_only():
    assert LinkConfig(substep_s=1.0).substep_s == 1.0
    with pytest.raises(InputError, match="substep_s exists for earth_fixed"):
        LinkConfig(substep_s=1.0, beams={"mode": "moving"})


def test_the_fine_grid_is_sgp4_at_the_samples_and_hermite_between():
    """Chunk by chunk, the samples' states are SGP4's exactly (they are the
    knots), the fine grid runs from the first sample to the last without a gap
    or a repeat, and between samples the positions are within 1 mm of SGP4
    (measured 0.26 mm at a 10 s step)."""
    c = walker_constellation([WalkerShell(24, 6, 1, 53.0, 360.0)], DEFAULT_EPOCH)
    times = TimeGrid.from_duration(DEFAULT_EPOCH, 600, 10.0)
    parts = list(fine_ephemerides(c, times, 25, 10))
    exact = propagate(c, times)
    coarse = np.concatenate([p[0].position_km for p in parts], axis=1)
    assert np.array_equal(coarse, exact.position_km)
    fine_t = np.concatenate([p[1].times.offsets_s for p in parts])
    assert np.allclose(np.diff(fine_t), 1.0) and fine_t[0] == 0.0 and fine_t[-1] == 600.0
    for coarse_eph, fine, rows in parts:
        assert np.array_equal(fine.position_km[:, rows], coarse_eph.position_km)
    sgp4 = propagate(c, TimeGrid(DEFAULT_EPOCH, fine_t))
    fine = np.concatenate([p[1].position_km for p in parts], axis=1)
    assert np.abs(fine - sgp4.position_km).max() < 1e-6                      # km


def _chunks(step_s, substep_s=None, chunk_steps=60):
    ov = {"duration_s": 1200, "step_s": step_s, "handsets.spacing_km": 200.0,
          "services.sms.enabled": False}
    if substep_s is not None:
        ov["link.substep_s"] = substep_s
    inp = build(satsim.load_scenario(None, overrides=ov))
    chunks = list(iter_link_chunks(inp.constellation, inp.handsets, inp.times, inp.link,
                                   chunk_steps=chunk_steps))
    return {name: np.concatenate([getattr(c, name) for c in chunks])
            for name in ("status", "serving_sat", "serving_beam", "hole_start_s",
                         "hole_end_s")}


@pytest.mark.slow
def test_a_10_s_run_with_1_s_substeps_sees_what_a_1_s_run_sees():
    """The Earth-fixed default, 20 min, handsets on a 200 km grid, chunks of 60
    samples: with ``link.substep_s: 1`` a 10 s run's samples are the 1 s run's
    at the same times (status, satellite, beam), and in every step where a
    phone is served by two different satellites its hole is exactly the 1 s
    run's unserved seconds there (edges at the midpoints), or none where the 1 s
    run has none (measured: 2,365 such steps, 63 with a dip; the prediction
    without substeps found 43 holes)."""
    fine, coarse = _chunks(1.0, chunk_steps=600), _chunks(10.0, 1.0)
    for name in ("status", "serving_sat", "serving_beam"):
        assert np.array_equal(coarse[name], fine[name][::10]), name
    st, sat = coarse["status"], coarse["serving_sat"]
    pairs = (st[:-1] == SERVED) & (st[1:] == SERVED) & (sat[:-1] != sat[1:])
    kk, hh = np.nonzero(pairs)
    kk = kk + 1
    assert kk.size > 1000 and np.isin([60, 120], kk).any()      # across chunk borders too
    dips = 0
    for k, h in zip(kk, hh):
        unserved = np.flatnonzero(fine["status"][10 * (k - 1) + 1:10 * k, h] != SERVED)
        if unserved.size:
            dips += 1
            t0, t1 = 10 * (k - 1) + 1 + unserved[0] - 0.5, 10 * (k - 1) + 1 + unserved[-1] + 0.5
            assert coarse["hole_start_s"][k, h] == pytest.approx(10 * k - t0, abs=1e-6)
            assert coarse["hole_end_s"][k, h] == pytest.approx(10 * k - t1, abs=1e-6)
        else:
            assert np.isnan(coarse["hole_start_s"][k, h]) and np.isnan(coarse["hole_end_s"][k, h])
    assert dips > 30


def test_handset_blocks_with_substeps_give_the_serial_timeline():
    """In handset blocks (``satsim.distributed``: each block assigns every cell
    the same way) the substeps give exactly the unblocked run."""
    from satsim.distributed import iter_link_chunks_blocked

    ov = {"duration_s": 600, "step_s": 10, "handsets.spacing_km": 300.0,
          "services.sms.enabled": False, "link.substep_s": 2.0}
    inp = build(satsim.load_scenario(None, overrides=ov))
    args = (inp.constellation, inp.handsets, inp.times, inp.link)
    whole = list(iter_link_chunks(*args, chunk_steps=25))
    blocks = list(iter_link_chunks_blocked(*args, chunk_steps=25, block_handsets=30))
    assert len(inp.handsets) > 60
    holes = 0
    for name in ("status", "serving_sat", "dl_sinr_db", "hole_start_s", "hole_end_s"):
        a = np.concatenate([getattr(c, name) for c in whole])
        b = np.concatenate([getattr(c, name) for c in blocks])
        assert np.array_equal(a, b, equal_nan=True), name
        if name == "hole_start_s":
            holes = np.isfinite(a).sum()
    assert holes > 0


def test_the_memory_estimate_counts_the_fine_grid():
    """The pre-run estimate adds the fine grid's ephemeris and assignment and a
    batch of fine points' beams (a run that cannot fit is refused before it
    starts)."""
    from satsim.link.substeps import BATCH_POINTS
    from satsim.scenario.estimate import SUBSTEP_BATCH_POINTS, estimate

    assert SUBSTEP_BATCH_POINTS == BATCH_POINTS
    plain = estimate(satsim.load_scenario(None))
    fine = estimate(satsim.load_scenario(None, overrides={"link.substep_s": 1.0}))
    assert fine.chunk_bytes > plain.chunk_bytes + 100e6
    assert fine.output_bytes == plain.output_bytes
