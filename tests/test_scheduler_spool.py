"""The coverage view spooled to disk in buckets of handsets (``run.spool``,
satsim.scheduler.spool): each bucket read back is the whole view's cut for its
handsets, array for array, and the services run group by group give the whole
view's result, table for table; moving beams, which share beam numbers, run as one
group; the spool removes only what it wrote."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import satsim.runner as runner
from satsim import run
from satsim.distributed import cell_blocks
from satsim.errors import InputError
from satsim.link.engine import iter_link_chunks
from satsim.results import plots
from satsim.results.table_spool import SERVICE_TABLES, ServiceSpool
from satsim.scenario import Scenario, with_overrides
from satsim.scenario.build import build
from satsim.scheduler import CoverageView, simulate
from satsim.scheduler.config import SchedulerConfig, SmsConfig
from satsim.scheduler import spool as spool_module
from satsim.scheduler.spool import SpooledView

VIEW_ARRAYS = ("offsets", "start", "end", "cover_end", "serve_end", "sat", "beam", "cqi",
               "sinr_db", "delay_s", "ul_cqi", "ul_sinr_db")
RESULT_TABLES = ("events", "beams", "calls", "sessions", "app_calls")
CITIES = [{"name": "a", "lat_deg": 40.0, "lon_deg": -100.0, "population": 3.0},
          {"name": "b", "lat_deg": 35.0, "lon_deg": -90.0, "population": 2.0},
          {"name": "c", "lat_deg": 44.0, "lon_deg": -75.0, "population": 1.0}]


def crowded_scenario(**more):
    """120 phones around three cities (several per Earth-fixed cell: a cell's phones
    contend for its beam), every service, 20 min at 10 s in 3 chunks of 50 steps."""
    return with_overrides(Scenario(), {
        "duration_s": 1200.0, "step_s": 10.0, "run.chunk_steps": 50,
        "run.sample_handsets": 5, "handsets.placement": "cities", "handsets.count": 120,
        "handsets.cities": CITIES, "handsets.radius_km": 20.0,
        "services.voice.enabled": True, "services.voice.calls_per_hour": 4.0,
        "services.data.enabled": True, "services.data.sessions_per_hour": 20.0,
        "services.app_call.enabled": True, "services.app_call.calls_per_hour": 4.0,
        **more})


def chunks_of(inputs):
    return list(iter_link_chunks(inputs.constellation, inputs.handsets, inputs.times,
                                 inputs.link, chunk_steps=inputs.scenario.run.chunk_steps))


def spooled(folder, inputs, chunks, buckets):
    spool = SpooledView(folder, len(inputs.handsets), buckets,
                        n_rb=inputs.link.carrier.beam_n_rb)
    for ch in chunks:
        spool.add_chunk(ch)
    spool.finish()
    return spool


@pytest.fixture(scope="module")
def crowded():
    inputs = build(crowded_scenario())
    chunks = chunks_of(inputs)
    view = CoverageView.from_link_chunks(chunks, n_rb=inputs.link.carrier.beam_n_rb)
    want = simulate(view, inputs.scheduler, inputs.scenario.seed)
    assert want.summary()["voice"]["offered"] > 5 and len(want.sessions) > 50
    return inputs, chunks, view, want


def assert_same_view(got, want):
    for name in VIEW_ARRAYS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
    assert (got.start_s, got.end_s, got.epoch, got.n_rb) == \
        (want.start_s, want.end_s, want.epoch, want.n_rb)


def assert_same_result(got, want):
    for name in RESULT_TABLES:
        a, b = getattr(got, name), getattr(want, name)
        if b is None:  # a service that was off
            assert a is None, name
            continue
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert got.summary() == want.summary()


def test_buckets_of_cells_read_back_as_the_whole_views_cuts(crowded, tmp_path):
    inputs, chunks, view, _ = crowded
    buckets = cell_blocks(inputs, 4)
    spool = spooled(tmp_path, inputs, chunks, buckets)
    assert spool.runs_written.sum() >= view.n_runs > 0     # runs cross the chunk borders
    groups = spool.groups(inputs.scheduler)
    assert [g.tolist() for g in groups] == [[0], [1], [2], [3]]  # cells share no beam
    for k, b in enumerate(buckets):
        assert_same_view(spool.view_of([k]), view.of_handsets(b))
    assert_same_view(spool.view_of(range(4)), view)


def test_services_by_groups_of_buckets_are_the_whole_runs(crowded, tmp_path):
    inputs, chunks, _, want = crowded
    spool = spooled(tmp_path, inputs, chunks, cell_blocks(inputs, 5))
    got = spool.simulate(inputs.scheduler, inputs.scenario.seed)
    assert spool.groups_run == 5
    assert_same_result(got, want)


def services_spooled(folder, spool, inputs, windows, config=None, seed=None):
    """The services of ``spool``'s groups through a ServiceSpool: (light result, files)."""
    services = ServiceSpool(folder, len(inputs.constellation), windows)
    spool.simulate(config or inputs.scheduler,
                   inputs.scenario.seed if seed is None else seed, sink=services.add)
    return services.finish()


@pytest.mark.parametrize("windows", [1, 4])
def test_services_tables_filed_group_by_group_are_the_whole_runs(crowded, tmp_path, windows):
    """Each group's tables go to files as the group finishes; sorted window by window
    they are the whole run's tables, row for row (ids renumbered across windows), and
    the summary's columns alone give the whole run's summary."""
    inputs, chunks, _, want = crowded
    (tmp_path / "view").mkdir()
    spool = spooled(tmp_path / "view", inputs, chunks, cell_blocks(inputs, 5))
    tables = tmp_path / "tables"
    tables.mkdir()
    light, files = services_spooled(tables, spool, inputs, windows)
    assert spool.groups_run == 5
    assert set(files) == {"sms", "calls", "sessions", "app_calls", "beams"}
    for name, attr in SERVICE_TABLES.items():
        got = pd.read_parquet(files[name])
        pd.testing.assert_frame_equal(got, getattr(want, attr), check_exact=True, obj=name)
        if windows > 1 and name != "beams":  # rows of several windows and groups
            assert pq.ParquetFile(files[name]).metadata.num_row_groups > 1
    assert light.summary() == want.summary()
    assert len(light.events.columns) < len(want.events.columns)
    assert sorted(p.name for p in tables.iterdir()) == sorted(p.name for p in files.values())


def test_services_of_one_group_are_written_as_they_come(crowded, tmp_path):
    """A run that cannot be split (here an SMS option drawn in simulation order)
    is one group: its tables are written as the whole run gives them, unsorted;
    ``keep`` drops a table's file."""
    inputs, chunks, view, _ = crowded
    config = dataclasses.replace(inputs.scheduler, sms=dataclasses.replace(
        inputs.scheduler.sms, failure_prob=0.05))
    want = simulate(view, config, 5)
    (tmp_path / "view").mkdir()
    spool = spooled(tmp_path / "view", inputs, chunks, cell_blocks(inputs, 3))
    services = ServiceSpool(tmp_path, len(inputs.constellation), 3)
    spool.simulate(config, 5, sink=services.add)
    assert spool.groups_run == 1
    light, files = services.finish(keep=["calls", "beams"])
    assert set(files) == {"calls", "beams"}
    for name in files:
        pd.testing.assert_frame_equal(pd.read_parquet(files[name]),
                                      getattr(want, SERVICE_TABLES[name]), check_exact=True)
    assert light.summary() == want.summary()
    assert not (tmp_path / "sms.parquet").exists()


def test_services_spool_refuses_a_folder_with_its_names_and_discards_only_its_own(
        crowded, tmp_path):
    inputs, chunks, _, _ = crowded
    (tmp_path / "calls-w00002.parquet").write_bytes(b"a user's file")
    with pytest.raises(InputError, match="already holds calls-w00002.parquet"):
        ServiceSpool(tmp_path, 10)
    assert (tmp_path / "calls-w00002.parquet").read_bytes() == b"a user's file"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (tmp_path / "view").mkdir()
    spool = spooled(tmp_path / "view", inputs, chunks, cell_blocks(inputs, 3))
    services = ServiceSpool(mine, len(inputs.constellation), 2)
    for g in spool.groups(inputs.scheduler)[:2]:   # a run that fails after two groups
        services.add(simulate(spool.view_of(g), inputs.scheduler, inputs.scenario.seed,
                              handsets=spool.handsets_of(g)), 3)
    assert len(list(mine.glob("*-w*.parquet"))) > 2
    services.discard()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_buckets_cutting_through_cells_are_simulated_together(crowded, tmp_path):
    """Consecutive handsets of the cities cut through cells: the buckets that share a
    cell's beam run as one group, and the result is still the whole run's."""
    inputs, chunks, _, want = crowded
    nh = len(inputs.handsets)
    buckets = np.array_split(np.random.default_rng(3).permutation(nh), 6)
    spool = spooled(tmp_path, inputs, chunks, [np.sort(b) for b in buckets])
    groups = spool.groups(inputs.scheduler)
    assert len(groups) < 6
    assert_same_result(spool.simulate(inputs.scheduler, inputs.scenario.seed), want)


def test_an_sms_option_drawn_in_simulation_order_runs_whole(crowded, tmp_path):
    inputs, chunks, view, _ = crowded
    config = SchedulerConfig(sms=SmsConfig(failure_prob=0.05))
    spool = spooled(tmp_path, inputs, chunks, cell_blocks(inputs, 3))
    assert len(spool.groups(config)) == 1
    assert_same_result(spool.simulate(config, 5), simulate(view, config, 5))


def test_moving_beams_share_their_numbers_and_run_as_one_group(tmp_path):
    inputs = build(crowded_scenario(**{"beams.mode": "moving", "duration_s": 600.0}))
    chunks = chunks_of(inputs)
    view = CoverageView.from_link_chunks(chunks, n_rb=inputs.link.carrier.beam_n_rb)
    nh = len(inputs.handsets)
    spool = spooled(tmp_path, inputs, chunks, np.array_split(np.arange(nh), 3))
    assert len(spool.groups(inputs.scheduler)) == 1
    assert_same_result(spool.simulate(inputs.scheduler, 2),
                       simulate(view, inputs.scheduler, 2))


def test_close_removes_what_the_spool_wrote_and_nothing_else(crowded, tmp_path):
    inputs, chunks, _, _ = crowded
    mine = tmp_path / "mine"
    mine.mkdir()
    spool = spooled(mine, inputs, chunks, cell_blocks(inputs, 3))
    (mine / "notes.txt").write_text("a user's file")
    assert len(list(mine.glob("runs-*.bin"))) == 3
    spool.owned = True
    spool.close()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]   # kept, and so its folder


def test_bad_buckets_are_refused(tmp_path):
    with pytest.raises(InputError, match="each once"):
        SpooledView(tmp_path, 4, [np.array([0, 1]), np.array([1, 2, 3])])
    with pytest.raises(InputError, match="each once"):
        SpooledView(tmp_path, 4, [np.array([0, 1])])
    with pytest.raises(InputError, match="not a folder"):
        SpooledView(tmp_path / "nowhere", 4, [np.arange(4)])
    (tmp_path / "runs-00000.bin").write_bytes(b"a user's file")
    with pytest.raises(InputError, match="already holds runs"):
        SpooledView(tmp_path, 4, [np.arange(4)])
    assert (tmp_path / "runs-00000.bin").read_bytes() == b"a user's file"


def test_a_spooled_run_gives_the_same_results_and_leaves_no_files(tmp_path, monkeypatch):
    """``run.spool`` through ``satsim.run``: every table and the summary identical to
    the run in memory, the services run in several groups, and the temporary
    folder is gone after the run."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sc = crowded_scenario()
    want = run(sc)
    made = []
    real = runner.spooled_view

    def watched(inputs, n_rb):
        made.append(real(inputs, n_rb))
        return made[-1]

    monkeypatch.setattr(spool_module, "BUCKET_CHUNKS", 0.5)  # 121 steps: 5 buckets
    monkeypatch.setattr(runner, "spooled_view", watched)
    got = run(with_overrides(sc, {"run.spool": True}))
    assert made and made[0].groups_run >= 3
    assert Path(made[0].directory).parent == tmp_path
    assert got.summary == want.summary
    assert set(got.tables) == set(want.tables)
    for name in want.tables:
        pd.testing.assert_frame_equal(got.tables[name], want.tables[name], check_exact=True,
                                      obj=name)
    # the view's spool is gone; the gaps and handovers are read from files until the
    # results are dropped
    left = list(tmp_path.iterdir())
    assert [p.name[:14] for p in left] == ["satsim-tables-"]
    for name in ("gaps", "handovers", "sms", "calls", "sessions", "app_calls", "beams"):
        assert got.tables.path_of(name).parent == left[0], name
    for name in ("gaps", "sms", "calls", "sessions"):   # plots read their columns alone
        cols = list(plots.TABLE_COLUMNS[name])
        pd.testing.assert_frame_equal(plots._table(got.tables, name), want.tables[name][cols],
                                      check_exact=True, obj=name)
    del got
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_spooled_tables_written_to_a_folder_are_read_from_it(tmp_path, monkeypatch):
    """Writing the results folder copies the spooled files; the results then read
    the folder's tables and the temporary files are gone. A run that fails leaves
    no spool behind."""
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    sc = crowded_scenario(**{"duration_s": 600.0, "run.spool": True})
    got = run(sc, out=tmp_path / "out")
    assert list(spool_root.iterdir()) == []
    assert got.tables.path_of("handovers") == tmp_path / "out" / "tables" / "handovers.parquet"
    want = run(with_overrides(sc, {"run.spool": False}))
    for name in ("gaps", "handovers", "handsets"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "out" / "tables" / f"{name}.parquet"),
            want.tables[name], check_exact=True, obj=name)

    def broken(*args, **kwargs):
        raise RuntimeError("scheduler failed")

    monkeypatch.setattr(runner, "simulate", broken)
    monkeypatch.setattr(SpooledView, "simulate", broken)
    with pytest.raises(RuntimeError, match="scheduler failed"):
        run(sc)
    assert list(spool_root.iterdir()) == []

    real_chunks = runner.iter_link_chunks

    def interrupted(*args, **kwargs):  # Ctrl-C after the first chunk was spooled
        chunks = real_chunks(*args, **kwargs)
        yield next(chunks)
        yield next(chunks)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "iter_link_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(with_overrides(sc, {"run.chunk_steps": 20}))
    assert list(spool_root.iterdir()) == []


def dead_pid() -> int:
    """The id of a process that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.skipif(os.name != "posix", reason="the sweep asks processes with POSIX signals")
@pytest.mark.parametrize("spool", [True, False], ids=["spooled", "in-memory"])
def test_a_killed_runs_spool_is_swept_by_the_next_run(tmp_path, monkeypatch, spool):
    """A run killed outright (SIGKILL) cannot remove its spool: the next run, spooled
    or not, removes the files spools write from folders of this machine whose
    process is gone, and the folder if that empties it; a user's file, a live run's
    folder, another machine's and other names are left alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    host, pid = runner._host_tag(), dead_pid()
    killed_view = tmp_path / f"satsim-spool-{host}-{pid}-ab12"
    killed_tables = tmp_path / f"satsim-tables-{host}-{pid}-cd34"
    live = tmp_path / f"satsim-spool-{host}-{os.getppid()}-ef56"
    elsewhere = tmp_path / f"satsim-spool-{'0' * 8 if host != '0' * 8 else '1' * 8}-{pid}-x"
    other = tmp_path / "satsim-spool-notes"
    for d in (killed_view, killed_tables, live, elsewhere, other):
        d.mkdir()
        (d / "runs-00000.bin").write_bytes(b"\0" * 54)
    (killed_view / "mine.txt").write_text("a user's file")
    for name in ("gaps-00001.bin", "gaps.parquet", "handovers.parquet", "sms-w00000.parquet",
                 "beams.parquet"):
        (killed_tables / name).write_bytes(b"x")
    (killed_tables / "runs-00000.bin").unlink()

    run(crowded_scenario(**{"duration_s": 300.0, "run.spool": spool}))
    assert sorted(p.name for p in killed_view.iterdir()) == ["mine.txt"]
    assert not killed_tables.exists()
    for d in (live, elsewhere, other):
        assert [p.name for p in d.iterdir()] == ["runs-00000.bin"], d.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        d.name for d in (killed_view, live, elsewhere, other))
    assert runner.sweep_stale_spools(tmp_path) == []     # nothing of a spool's left


def test_a_spooled_run_with_its_link_stage_elsewhere_is_refused():
    """``run.spool`` writes what the link stage makes on this machine: with the link
    stage on a cluster (``link_stage=``) it is refused, saying what to set."""
    def elsewhere(inputs, progress=None):
        raise AssertionError("not reached")

    with pytest.raises(InputError, match="set run.spool=false there"):
        run(crowded_scenario(**{"run.spool": True}), link_stage=elsewhere)


@pytest.mark.skipif(os.name != "posix", reason="the sweep asks processes with POSIX signals")
def test_a_folder_the_sweep_cannot_touch_is_left_and_the_run_goes_on(tmp_path, monkeypatch):
    """Another user's killed run (a folder this process may not read or empty): the
    sweep skips it instead of failing the run, and sweeps the others."""
    host, pid = runner._host_tag(), dead_pid()
    theirs = tmp_path / f"satsim-spool-{host}-{pid}-aa"
    mine = tmp_path / f"satsim-spool-{host}-{pid}-bb"
    for d in (theirs, mine):
        d.mkdir()
        (d / "runs-00000.bin").write_bytes(b"\0")
    real = runner.remove_spool

    def guarded(folder, *args):
        if Path(folder) == theirs:
            raise PermissionError(13, "Permission denied", str(folder))
        return real(folder, *args)

    monkeypatch.setattr(runner, "remove_spool", guarded)
    assert runner.sweep_stale_spools(tmp_path) == [mine]
    assert not mine.exists() and (theirs / "runs-00000.bin").exists()
