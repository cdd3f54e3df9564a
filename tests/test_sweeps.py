"""Sweeps on dask.distributed: equal to serial runs, resumable after a kill,
failing points recorded, bad sweep files refused before anything runs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

import satsim
from satsim.cli.sweep import sweep_command
from satsim.scenario import ScenarioError, load_scenario, with_overrides
from satsim.scenario.build import build
from satsim.sweeps import METRICS, MetricWarning, engine, load_sweep, sweep
from satsim.sweeps.store import metric_value

pytest.importorskip("distributed")

#: A run of ~0.1-0.5 s: 60 satellites over a dozen handsets for half an hour.
BASE = {
    "duration_s": 1800, "step_s": 30,
    "constellation": {"walker": [{"satellites": 60, "planes": 6, "phasing": 1,
                                  "inclination_deg": 53, "altitude_km": 550}]},
    "handsets": {"placement": "grid", "spacing_km": 400,
                 "box": {"lat_min_deg": 30, "lat_max_deg": 45,
                         "lon_min_deg": -110, "lon_max_deg": -90}},
    "services": {"voice": {"enabled": True}},
}


def spec(grid=None, seeds=2, **extra):
    return {"base": BASE, "grid": grid or {"link.min_elevation_deg": [20, 30]},
            "seeds": seeds, **extra}


def _numba_threads() -> int:
    import numba

    return numba.get_num_threads()


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes, as `satsim sweep` starts."""
    threads_env = os.environ.get("NUMBA_NUM_THREADS")
    with engine.open_client(workers=2) as c:
        assert set(c.run(_numba_threads).values()) == {1}  # no oversubscription
        assert all(n == 1 for n in c.nthreads().values())
        # ... set for the workers only (distributed's nannies put it into this
        # process' environment; left there, numba's next compile here refused)
        assert os.environ.get("NUMBA_NUM_THREADS") == threads_env
        yield c
    assert os.environ.get("NUMBA_NUM_THREADS") == threads_env


def metrics_of(table: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    cols = ["point", "key", "seed", *metrics, "status"]
    return table[cols].sort_values(["point", "seed"]).reset_index(drop=True)


# -- the sweep file -------------------------------------------------------

def test_grid_zip_and_seeds_expand_into_points(tmp_path):
    s = load_sweep(spec(grid={"link.min_elevation_deg": [20, 25, 30],
                              "handsets.spacing_km": [300, 500]},
                        zip={"duration_s": [600, 1200], "step_s": [30, 60]}, seeds=3))
    assert len(s.points) == 3 * 2 * 2
    assert s.seeds == (0, 1, 2)
    assert s.parameters == ["link.min_elevation_deg", "handsets.spacing_km", "duration_s",
                            "step_s"]
    last = s.points[-1]
    assert last.params == {"link.min_elevation_deg": 30, "handsets.spacing_km": 500,
                           "duration_s": 1200, "step_s": 60}
    assert last.scenario.link.min_elevation_deg == 30 and last.scenario.step_s == 60
    runs = s.runs()
    assert len({r.key for r in runs}) == len(runs) == 36
    # the resolved copy loads again to the same runs
    (tmp_path / "sweep.yaml").write_text(s.to_yaml())
    assert [r.key for r in load_sweep(tmp_path / "sweep.yaml").runs()] == [r.key for r in runs]
    assert load_sweep({"seeds": [5, 9]}).seeds == (5, 9)
    assert len(load_sweep({}).points) == 1  # the default scenario, no parameter


def test_base_file_is_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "sub" / "sweep.yaml").write_text("base: base.yaml\ngrid:\n  step_s: [30, 60]\n")
    s = load_sweep(tmp_path / "sub" / "sweep.yaml")
    assert [p.scenario.step_s for p in s.points] == [30, 60]
    assert s.base.duration_s == 1800 and s.name == "sweep"


@pytest.mark.parametrize("text, expected", [
    ("grid:\n  link.min_elevaton_deg: [20, 30]\n",
     ["line 2", "grid.link.min_elevaton_deg", "did you mean `min_elevation_deg`"]),
    ("gird:\n  step_s: [10]\n", ["line 1", "unknown key 'gird'", "did you mean `grid`"]),
    ("grid:\n  link.min_elevation_deg: [20, 95]\n",
     ["line 2", "grid.link.min_elevation_deg", "less than 90", "point 1"]),
    ("zip:\n  duration_s: [600, 1200]\n  step_s: [30]\n", ["line 1", "one length"]),
    ("grid:\n  step_s: []\n", ["line 2", "at least one value"]),
    ("seeds: 0\n", ["line 1", "seeds"]),
    ("metrics: [coverag.availability]\n", ["line 1", "did you mean `coverage`"]),
    ("base: nowhere.yaml\n", ["line 1", "nowhere.yaml", "does not exist"]),
    ("base:\n  handsets: {placement: points, points: [{lat_deg: 1, lon_deg: 2, alt: 3}]}\n",
     ["(base), line 2", "did you mean `alt_m`"]),
    ("grid:\n  step_s: [10]\nzip:\n  step_s: [20]\n", ["in both grid and zip"]),
])
def test_bad_sweep_files_are_refused_with_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    for fragment in expected:
        assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_cli_bad_input_exits_2_before_running(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "run_point", lambda *a: pytest.fail("a point ran"))
    path = tmp_path / "bad.yaml"
    path.write_text("grid:\n  link.min_elevaton_deg: [20, 30]\n")
    res = CliRunner().invoke(sweep_command, [str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    path.write_text("grid:\n  link.min_elevation_deg: [20, 30]\n")
    res = CliRunner().invoke(sweep_command, [str(path), "--out", str(tmp_path / "o"),
                                             "--scheduler", "tcp://127.0.0.1:1", "--workers",
                                             "2"])
    assert res.exit_code == 2 and "--workers" in res.stderr


# -- running --------------------------------------------------------------

def test_sweep_on_a_cluster_equals_serial_runs(tmp_path, client):
    s = load_sweep(spec(grid={"link.min_elevation_deg": [20, 25, 30]}, seeds=2))
    table = sweep(s, tmp_path / "out", client=client, progress=False)
    assert list(table.columns[:4]) == ["point", "key", "seed", "link.min_elevation_deg"]
    assert len(table) == 6 and (table["status"] == "ok").all()
    base = load_scenario(BASE)
    for row in table.itertuples():
        scenario = with_overrides(base, {"link.min_elevation_deg": row[4]})
        serial = satsim.run(scenario, seed=row.seed).summary
        for m in METRICS:
            expected = metric_value(serial, m)
            got = table.at[row.Index, m]
            assert got == expected or (math.isnan(got) and math.isnan(expected)), m
    assert table["coverage.availability"].notna().all()
    assert table["voice.block_ratio"].notna().all()  # voice is on in BASE
    assert table["data.throughput_kbps.p50"].isna().all()  # data is off
    # the files: the same table on disk, an aggregate and plots
    out = tmp_path / "out"
    pd.testing.assert_frame_equal(pd.read_parquet(out / "table.parquet"), table)
    assert len(list((out / "points").glob("*.json"))) == 6
    agg = pd.read_parquet(out / "aggregate.parquet")
    assert list(agg["link.min_elevation_deg"]) == [20, 25, 30]
    v = table.loc[table["point"] == 1, "coverage.availability"].to_numpy()
    a = agg.loc[1]
    assert a["coverage.availability.mean"] == pytest.approx(v.mean(), rel=1e-12)
    assert a["coverage.availability.std"] == pytest.approx(v.std(ddof=1), rel=1e-12, abs=1e-15)
    assert a["coverage.availability.n"] == 2 and a["n_ok"] == 2 and a["n_failed"] == 0
    half = stats.t.ppf(0.975, 1) * v.std(ddof=1) / np.sqrt(2)
    assert a["coverage.availability.ci95"] == pytest.approx(half, rel=1e-12, abs=1e-15)
    assert (out / "plots" / "coverage.availability__vs__link.min_elevation_deg.png").is_file()
    assert not (out / "plots" / "data.throughput_kbps.p50__vs__link.min_elevation_deg.png") \
        .exists()  # no data: no plot
    assert [r.key for r in load_sweep(out / "sweep.yaml").runs()] == list(table["key"])


def test_a_failing_point_is_recorded_and_the_others_complete(tmp_path, client):
    # 100 GHz is outside the loss tables: the scenario validates, the run fails
    s = spec(grid={"carrier.dl_center_mhz": [1992.5, 100000.0, 1990.0]}, seeds=1)
    table = sweep(s, tmp_path / "out", client=client, progress=False)
    assert list(table["status"]) == ["ok", "failed", "ok"]
    failed = table.iloc[1]
    assert failed["error"].startswith("InputError: ") and "GHz" in failed["error"]
    assert math.isnan(failed["coverage.availability"])
    rec = json.loads((tmp_path / "out" / "points" / f"{failed['key']}.json").read_text())
    assert rec["status"] == "failed" and "Traceback" in rec["error"]["traceback"]
    agg = pd.read_parquet(tmp_path / "out" / "aggregate.parquet")
    assert list(agg["n_failed"]) == [0, 1, 0] and list(agg["n_ok"]) == [1, 0, 1]


def test_scheduler_address_runs_on_that_cluster(tmp_path, client):
    table = sweep(spec(grid={"step_s": [60]}, seeds=1), tmp_path / "out",
                  scheduler=client.scheduler.address, progress=False)
    assert list(table["status"]) == ["ok"]
    assert table["wall_time_s"].iloc[0] > 0


def test_rerun_skips_finished_points_and_retries_failed_ones(tmp_path, monkeypatch):
    s = spec(grid={"carrier.dl_center_mhz": [1992.5, 100000.0]}, seeds=2)
    first = sweep(s, tmp_path / "out", workers=0, progress=False)
    assert list(first["status"]) == ["ok", "ok", "failed", "failed"]
    ran = []
    real = engine.run_point
    monkeypatch.setattr(engine, "run_point", lambda sc, seed: ran.append(seed) or real(sc, seed))
    again = sweep(s, tmp_path / "out", workers=0, progress=False)
    assert ran == [0, 1]  # only the failed point's two seeds ran again
    cols = ["key", "seed", "coverage.availability", "status"]
    pd.testing.assert_frame_equal(again[cols], first[cols])


def test_parameters_of_mixed_types_are_tabulated_as_text(tmp_path):
    table = sweep(spec(grid={"beams.rings": [1, "cover"]}, seeds=1), tmp_path / "out",
                  workers=0, progress=False)
    assert list(table["beams.rings"]) == ["1", "cover"] and (table["status"] == "ok").all()
    assert list(pd.read_parquet(tmp_path / "out" / "aggregate.parquet")["beams.rings"]) == \
        ["1", "cover"]
    assert (tmp_path / "out" / "plots" / "coverage.availability__vs__beams.rings.png").is_file()


def test_a_metric_found_in_no_summary_warns(tmp_path):
    s = spec(grid={"step_s": [60]}, seeds=1,
             metrics=["coverage.availability", "coverage.availabilty"])
    with pytest.warns(MetricWarning, match="coverage.availabilty"):
        table = sweep(s, tmp_path / "out", workers=0, progress=False)
    assert table["coverage.availabilty"].isna().all()
    assert table["coverage.availability"].notna().all()


def test_cli_writes_the_folder_and_prints_progress(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec(grid={"step_s": [30, 60]}, seeds=1)))
    res = CliRunner().invoke(sweep_command, [str(path), "--out", str(tmp_path / "o"),
                                             "--workers", "0"])
    assert res.exit_code == 0, res.output
    assert "[2/2] point 1 seed 0: ok" in res.stderr and "ETA" in res.stderr
    assert (tmp_path / "o" / "table.parquet").is_file()
    res = CliRunner().invoke(sweep_command, [str(path), "--out", str(tmp_path / "o"),
                                             "--workers", "0", "--quiet"])
    assert res.exit_code == 0 and res.stderr == ""


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path, client):
    s = spec(grid={"link.min_elevation_deg": [20, 25, 30], "handsets.spacing_km": [400, 600]},
             seeds=2, metrics=["coverage.availability", "sms.delivery_ratio"])
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(s))
    out = tmp_path / "killed"
    total = 12
    proc = subprocess.Popen([sys.executable, "-m", "satsim.sweeps", str(path), "--out",
                             str(out), "--workers", "2", "--quiet"],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "points").glob("*.json"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep wrote no point in 120 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its local cluster
        proc.wait()
        proc.stderr.close()
    kept = {p.name: p.read_bytes() for p in (out / "points").glob("*.json")}
    assert 3 <= len(kept) < total, "the sweep finished before it could be killed"
    assert all(json.loads(b)["status"] == "ok" for b in kept.values())
    assert not (out / "table.parquet").exists()

    resumed = sweep(path, out, client=client, progress=False)
    assert {p.name: p.read_bytes() for p in (out / "points").glob("*.json")
            if p.name in kept} == kept  # finished points were not run again
    whole = sweep(path, tmp_path / "whole", client=client, progress=False)
    assert (resumed["status"] == "ok").all() and len(resumed) == total
    metrics = ["coverage.availability", "sms.delivery_ratio"]
    pd.testing.assert_frame_equal(metrics_of(resumed, metrics), metrics_of(whole, metrics))


# -- one large run in handset blocks ----------------------------------------

BLOCKS_SCENARIO = {  # the default constellation over 34 handsets, 3 time chunks
    "duration_s": 1200, "step_s": 10, "run": {"chunk_steps": 50},
    "handsets": BASE["handsets"] | {"spacing_km": 300},
}


def assert_same_chunks(got, expected):
    from satsim.distributed import PER_HANDSET

    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert np.array_equal(a.times.offsets_s, b.times.offsets_s)
        for name in PER_HANDSET:
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
        pd.testing.assert_frame_equal(a.handovers, b.handovers)
        pd.testing.assert_frame_equal(a.beam_load(), b.beam_load())


@pytest.fixture(scope="module")
def blocks_run():
    from satsim.link import iter_link_chunks
    from satsim.scenario.build import build

    sc = load_scenario(BLOCKS_SCENARIO)
    inputs = build(sc)
    serial = list(iter_link_chunks(inputs.constellation, inputs.handsets, inputs.times,
                                   inputs.link, chunk_steps=sc.run.chunk_steps))
    assert sum(len(ch.handovers) for ch in serial) > 10  # the merge's ordering is exercised
    return sc, inputs, serial


def test_handset_blocks_give_the_unblocked_chunks(blocks_run):
    from satsim.distributed import handset_blocks, iter_link_chunks_blocked

    assert handset_blocks(34, 13) == [slice(0, 13), slice(13, 26), slice(26, 34)]
    assert handset_blocks(34, None) == [slice(0, 34)]
    with pytest.raises(satsim.InputError, match="block_handsets"):
        handset_blocks(34, 0)
    sc, inputs, serial = blocks_run
    got = list(iter_link_chunks_blocked(inputs.constellation, inputs.handsets, inputs.times,
                                        inputs.link, chunk_steps=sc.run.chunk_steps,
                                        block_handsets=13))
    assert_same_chunks(got, serial)


def test_blocks_on_a_cluster_give_the_serial_chunks(blocks_run, client):
    from satsim.distributed import iter_link_chunks_dask

    sc, _, serial = blocks_run  # 7 blocks: several actors per worker
    assert_same_chunks(list(iter_link_chunks_dask(sc, client, block_handsets=5)), serial)


def test_a_whole_run_with_its_link_stage_on_a_cluster_equals_the_serial_run(blocks_run, client):
    from satsim.distributed import link_chunks_on

    sc, _, _ = blocks_run
    serial = satsim.run(sc)
    spread = satsim.run(sc, link_chunks=link_chunks_on(client, block_handsets=7))
    assert spread.summary == serial.summary
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(spread.tables[name], table, check_dtype=True, obj=name)


def test_a_whole_run_with_its_statistics_and_view_built_on_a_cluster_equals_the_serial_run(
        blocks_run, client):
    """``link_stage_on``: the workers also fold their blocks into statistics and views;
    the driver gets series columns per chunk and joins the blocks at the end."""
    from satsim.distributed import link_stage_on

    sc, _, _ = blocks_run
    serial = satsim.run(sc)
    seen = []
    spread = satsim.run(sc, link_stage=link_stage_on(client, block_handsets=7),
                        progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert spread.summary == serial.summary
    assert sorted(spread.tables) == sorted(serial.tables)
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(spread.tables[name], table, check_dtype=True,
                                      check_exact=True, obj=name)
    steps = len(build(sc).times)
    assert [d for s, d, t in seen if s == "link"] == [0, 50, 100, steps]
    with pytest.raises(ValueError, match="not both"):
        satsim.run(sc, link_stage=link_stage_on(client), link_chunks=lambda inputs: iter(()))
