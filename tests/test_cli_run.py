"""``satsim run / validate / plot / schema / tle``: the engineer's workflow end to end,
bad input (exit 2, a message, nothing written) and interrupted runs (nothing partial)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from satsim.cli import main
from satsim.results import Results

REPO = Path(__file__).resolve().parents[1]

#: A short, small version of any scenario: half an hour at 30 s over few handsets.
SHORT = ["--set", "duration_s=1800", "--set", "step_s=30"]
FEW_HANDSETS = ["--set", "handsets.spacing_km=250"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def leftovers(folder: Path) -> list[str]:
    """Hidden partial / old folders next to a results folder."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))


def test_run_writes_the_results_folder(tmp_path):
    out = tmp_path / "r"
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--set", "services.voice.enabled=true",
                 "--set", "services.data.enabled=true", "--out", out, "--seed", 3, "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s == json.loads((out / "summary.json").read_text())
    assert s["scenario"] == "default" and s["seed"] == 3 and s["satsim_version"]
    cov = s["coverage"]
    assert 0.0 < cov["availability"] <= cov["visible"] <= 1.0
    assert cov["gap_s"]["max"] >= cov["gap_s"]["p95"] >= cov["gap_s"]["p50"] > 0
    sms = s["sms"]
    assert sms["offered"] == sms["delivered"] + sms["expired"] + sms["in_flight"] > 0
    for k in ("p50", "p90", "p99", "max"):
        assert sms["latency_s"][k] >= 0
    v = s["voice"]
    assert v["offered"] >= v["blocked"] + v["dropped"] + v["completed"]
    assert set(v) >= {"block_ratio", "drop_ratio"}
    assert set(s["data"]) >= {"sessions", "completed", "throughput_kbps"}
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["seed"] == 3 and len(meta["input_sha256"]) == 64
    assert meta["versions"]["numpy"] and "TR 38.811" in meta["model_editions"]["propagation"]
    for t in ("handsets", "timeseries", "gaps", "samples", "handovers", "sms", "calls",
              "sessions", "beams"):
        assert (out / "tables" / f"{t}.parquet").is_file(), t
    handsets = pd.read_parquet(out / "tables" / "handsets.parquet")
    assert handsets["served_fraction"].between(0, 1).all()
    assert abs(handsets["served_fraction"].mean() - cov["availability"]) < 1e-9
    for plot in ("coverage_map", "gap_cdf", "sms_latency_cdf", "visible_over_time"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 1000, plot
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html
    # the resolved scenario reproduces the run
    res2 = invoke("run", out / "scenario.yaml", "--out", tmp_path / "again", "--no-plots")
    assert res2.exit_code == 0, res2.output
    assert (tmp_path / "again" / "summary.json").read_text() == (out / "summary.json").read_text()
    assert leftovers(out) == []
    loaded = Results.load(out)
    assert loaded.summary == s and loaded.scenario.seed == 3
    pd.testing.assert_frame_equal(loaded.sms, pd.read_parquet(out / "tables" / "sms.parquet"))


def test_same_seed_same_bytes_other_seed_other_traffic(tmp_path):
    args = ["run", *SHORT, *FEW_HANDSETS, "--no-plots", "--quiet"]
    assert invoke(*args, "--out", tmp_path / "a").exit_code == 0
    assert invoke(*args, "--out", tmp_path / "b").exit_code == 0
    assert invoke(*args, "--out", tmp_path / "c", "--seed", 1).exit_code == 0
    a, b, c = ((tmp_path / x / "summary.json").read_text() for x in "abc")
    assert a == b and a != c


@pytest.mark.slow
@pytest.mark.parametrize("name", ["default", "sms_only", "sms_voice_data", "high_latitude",
                                  "sparse_store_and_forward", "starlink_dtc_conus",
                                  "tr38821_set1", "tr38821_set2"])
def test_shipped_scenarios_run_shortened(name, tmp_path, request):
    path = REPO / "scenarios" / f"{name}.yaml"
    if name == "starlink_dtc_conus":
        tle_dir = request.getfixturevalue("shared_tle_dir")
        extra = ["--set", f"constellation.file={tle_dir / 'starlink_dtc_2025-300.tle'}"]
    else:
        extra = []
    sets = ["--set", "duration_s=3600", "--set", "step_s=30"]
    if name in ("default", "starlink_dtc_conus"):
        sets += FEW_HANDSETS
    if name in ("sms_only", "sms_voice_data"):
        sets += ["--set", "handsets.count=300"]
    out = tmp_path / name
    res = invoke("run", path, *sets, *extra, "--out", out, "--no-plots", "--quiet")
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    cov = s["coverage"]
    assert s["scenario"] == name
    assert 0 <= cov["availability"] <= cov["visible"] <= 1
    assert s["sms"]["offered"] > 0
    if name == "sms_voice_data":
        assert s["voice"]["offered"] > 0 and s["data"]["sessions"] > 0
    if name == "sms_only":
        assert s["voice"] is None and s["data"] is None
    if name == "sparse_store_and_forward":
        # 12 satellites: a handset sees one a small fraction of the time,
        # and most messages arrive in a gap and wait for a pass
        assert cov["visible"] < 0.2
        assert s["sms"]["by_group"]["arrived_in_gap"]["offered"] > \
            4 * s["sms"]["by_group"]["covered_at_arrival"]["offered"]
    if name == "high_latitude":
        h = pd.read_parquet(out / "tables" / "handsets.parquet")
        north, south = h[h.lat_deg > 66], h[h.lat_deg < 58]
        assert north.visible_fraction.mean() < south.visible_fraction.mean()


def test_validate_schema_and_tle_commands(tmp_path, shared_tle_dir):
    res = invoke("validate", REPO / "scenarios" / "high_latitude.yaml")
    assert res.exit_code == 0 and "ok" in res.stdout and "648 satellites" in res.stdout
    res = invoke("schema")
    schema = json.loads(res.stdout)
    assert res.exit_code == 0 and "duration_s" in schema["properties"]
    res = invoke("tle", shared_tle_dir / "starlink_dtc_2025-300.tle", "--json")
    info = json.loads(res.stdout)
    assert res.exit_code == 0 and info["satellites"] > 600 and info["problems"] == []
    top = {(round(sh["inclination_deg"]), sh["altitude_km"]) for sh in info["shells"][:2]}
    assert {53, 43} == {i for i, _ in top}
    # problems are listed, not fatal
    text = (shared_tle_dir / "iridium-NEXT_2025-300.tle").read_text().splitlines()
    text[2] = text[2][:-1] + str((int(text[2][-1]) + 1) % 10)  # break a checksum
    bad = tmp_path / "bad.tle"
    bad.write_text("\n".join(text) + "\n")
    res = invoke("tle", bad)
    assert res.exit_code == 0 and "checksum" in res.stdout and "problems found" in res.stdout


def test_plot_redraws_a_results_folder(tmp_path):
    out = tmp_path / "r"
    assert invoke("run", *SHORT, *FEW_HANDSETS, "--out", out, "--no-plots", "-q").exit_code == 0
    assert not (out / "report.html").exists()
    res = invoke("plot", out)
    assert res.exit_code == 0, res.output
    assert (out / "report.html").is_file() and (out / "plots" / "coverage_map.png").is_file()
    res = invoke("plot", tmp_path)
    assert res.exit_code == 2 and "not a satsim results folder" in res.stderr


@pytest.mark.parametrize("args, message", [
    (["--set", "duration_s=-1"], "duration_s: Input should be greater than 0"),
    (["--set", "link.min_elevaton_deg=30"], "did you mean `min_elevation_deg`?"),
    (["--set", "step_s=100000"], "longer than duration_s"),
    (["--set", "handsets.points=[{lat_deg: 91, lon_deg: 0}]", "--set",
      "handsets.placement=points"], "less than or equal to 90"),
    (["--set", "constellation.file=nowhere.tle"], "does not exist"),
    (["--set", "services.sms.mo_per_hour=often"], "valid number"),
    (["--set", "duration_s"], "expected KEY.PATH=VALUE"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "r"
    res = invoke("run", *args, "--out", out)
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_scenario_file_names_file_line_and_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nhandsets:\n  placement: grid\n  spacing_km: 50\n  box: {lat_min_deg: 10,"
                 " lat_max_deg: 5, lon_min_deg: 0, lon_max_deg: 10}\n")
    res = invoke("validate", p)
    assert res.exit_code == 2
    assert f"{p}, line 5: handsets.box: lat_min_deg must be less than lat_max_deg" in res.stderr
    res = invoke("run", tmp_path / "nope.yaml")
    assert res.exit_code == 2 and "no such scenario file" in res.stderr


def test_existing_folder_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--out", out, "-q")
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert (out / "mine.txt").read_text() == "keep me"


def test_failure_while_writing_keeps_the_earlier_run(tmp_path, monkeypatch):
    out = tmp_path / "r"
    assert invoke("run", *SHORT, *FEW_HANDSETS, "--out", out, "--no-plots", "-q").exit_code == 0
    before = (out / "summary.json").read_text()

    def broken(self, folder, plots):
        (folder / "summary.json").write_text("{half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Results, "_write_into", broken)
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--seed", 9, "--out", out, "--overwrite", "-q")
    assert res.exit_code == 130 and "no results folder was written" in res.stderr
    assert (out / "summary.json").read_text() == before
    assert leftovers(out) == []


def test_internal_error_exits_1_with_a_log(tmp_path, monkeypatch):
    import satsim.runner

    def boom(*a, **k):
        raise RuntimeError("scheduler exploded")

    monkeypatch.setattr(satsim.runner, "simulate", boom)
    out = tmp_path / "r"
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--out", out, "-q")
    assert res.exit_code == 1
    assert "internal error: RuntimeError: scheduler exploded" in res.stderr
    assert "scheduler exploded" in (out / "error.log").read_text()
    assert (out / "INCOMPLETE").is_file() and not (out / "summary.json").exists()
    with pytest.raises(Exception, match="not a satsim results folder"):
        Results.load(out)
    monkeypatch.undo()
    # a rerun replaces the failed run's leftovers
    assert invoke("run", *SHORT, *FEW_HANDSETS, "--out", out, "-q", "--no-plots").exit_code == 0
    assert not (out / "INCOMPLETE").exists() and (out / "summary.json").is_file()


def test_a_full_disk_while_spooling_exits_1_and_leaves_nothing(tmp_path, monkeypatch):
    """The temporary folder's disk fills up during a spooled run (another process
    took the space the pre-run check saw): exit 1 with what to do, the spool
    removed, no results folder, no internal-error log."""
    import errno
    import tempfile

    from satsim.scheduler.spool import SpooledView

    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    real = SpooledView.add_chunk
    calls = []

    def filling(self, ch):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, ch)

    monkeypatch.setattr(SpooledView, "add_chunk", filling)
    out = tmp_path / "r"
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--set", "run.spool=true", "--set",
                 "run.chunk_steps=20", "--out", out, "-q")
    assert res.exit_code == 1, res.output
    assert "filled up while the run spooled" in res.stderr and "TMPDIR" in res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    assert list(spool_root.iterdir()) == [] and not out.exists()


@pytest.mark.slow
def test_interrupted_run_leaves_no_results(tmp_path):
    """Ctrl-C in the middle of the link stage: exit 130, no folder, no partial folder."""
    out = tmp_path / "r"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "satsim", "run", "--set", "duration_s=86400", "--set",
         "run.chunk_steps=60", "--out", str(out)],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if "orbits + geometry + link" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "no results folder was written" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_link_stage_on_a_local_cluster_gives_the_same_results(tmp_path, monkeypatch):
    """``--workers 2``: the link stage in handset blocks of whole cells on two worker
    processes, each also building its handsets' statistics and coverage-view runs,
    then running its handsets' services (satsim.distributed.on_cluster); the
    results folder's summary and every table are those of the run in this
    process."""
    from satsim import distributed

    blocks, ran = [], []
    cluster_on, simulate_blocks = distributed.on_cluster, distributed.BlockViews.simulate

    def spy(client, block_handsets=None):   # the stage ran on the cluster's workers
        blocks.append(len(client.scheduler_info(n_workers=-1)["workers"]))
        return cluster_on(client, block_handsets)

    def simulate_spy(self, config, seed):   # and the services on the blocks' actors
        out = simulate_blocks(self, config, seed)
        ran.append((self.ran, len(self.blocks)))
        return out

    monkeypatch.setattr(distributed, "on_cluster", spy)
    monkeypatch.setattr(distributed.BlockViews, "simulate", simulate_spy)
    args = ["run", *SHORT, *FEW_HANDSETS, "--set", "services.voice.enabled=true",
            "--set", "run.sample_handsets=5", "--no-plots", "-q", "--json"]
    here = invoke(*args, "--out", tmp_path / "here")
    assert blocks == []
    threads_env = os.environ.get("NUMBA_NUM_THREADS")
    spread = invoke(*args, "--out", tmp_path / "spread", "--workers", 2)
    assert here.exit_code == 0 and spread.exit_code == 0, spread.output
    assert blocks == [2] and ran == [("blocks", 2)]
    # the workers' 1 thread is theirs: this process' numba setting is left as it was
    assert os.environ.get("NUMBA_NUM_THREADS") == threads_env
    assert json.loads(spread.stdout) == json.loads(here.stdout)
    tables = sorted(p.name for p in (tmp_path / "here" / "tables").glob("*.parquet"))
    assert {"handsets.parquet", "timeseries.parquet", "gaps.parquet", "handovers.parquet",
            "samples.parquet", "sms.parquet", "calls.parquet"} <= set(tables)
    assert sorted(p.name for p in (tmp_path / "spread" / "tables").glob("*.parquet")) == tables
    for table in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "spread" / "tables" / table),
                                      pd.read_parquet(tmp_path / "here" / "tables" / table),
                                      obj=table, check_exact=True)


@pytest.mark.slow
def test_moving_beams_on_a_local_cluster_run_the_services_from_the_joined_view(
        tmp_path, monkeypatch):
    """Beams that move with the satellite serve handsets of every block: the blocks
    are consecutive handsets, their views are joined on the driver and the services
    run in parts there (satsim.distributed.BlockViews falls back); same results."""
    from satsim import distributed

    ran = []
    simulate_blocks = distributed.BlockViews.simulate

    def simulate_spy(self, config, seed):
        out = simulate_blocks(self, config, seed)
        ran.append(self.ran)
        return out

    monkeypatch.setattr(distributed.BlockViews, "simulate", simulate_spy)
    args = ["run", *SHORT, *FEW_HANDSETS, "--set", "beams.mode=moving", "--no-plots", "-q",
            "--json"]
    here = invoke(*args, "--out", tmp_path / "here")
    spread = invoke(*args, "--out", tmp_path / "spread", "--workers", 2)
    assert here.exit_code == 0 and spread.exit_code == 0, spread.output
    assert ran == ["parts"]
    assert json.loads(spread.stdout) == json.loads(here.stdout)
    for table in sorted(p.name for p in (tmp_path / "here" / "tables").glob("*.parquet")):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "spread" / "tables" / table),
                                      pd.read_parquet(tmp_path / "here" / "tables" / table),
                                      obj=table, check_exact=True)


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers must be at least 1"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--workers", "2", "--set", "run.spool=true"], "set run.spool=false there"),
    (["--scheduler", "tcp://127.0.0.1:1", "--set", "run.spool=true"], "with a cluster"),
])
def test_bad_cluster_options_exit_2_and_write_nothing(tmp_path, args, message):
    res = invoke("run", *SHORT, *FEW_HANDSETS, *args, "--out", tmp_path / "r")
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path):
    """Nothing listens on port 1: the run stops with the address and what to
    check (after Dask's 20 s connection timeout), and leaves no folder."""
    res = invoke("run", *SHORT, *FEW_HANDSETS, "--scheduler", "tcp://127.0.0.1:1",
                 "--out", tmp_path / "r")
    assert res.exit_code == 2, res.output
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in res.stderr
    assert "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []
