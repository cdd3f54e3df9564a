"""Fault injection: whatever happens to a run (a signal in any stage or while
writing, kill -9, a second run on the same folder, a full disk, a read-only
folder), nothing of the user's is lost and nothing half-written stays visible.

A run is a child process that patches one stage to hurt itself at a known
point (it sends itself the signal), so the tests need no timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from satsim.cli import main
from satsim.results import Results
from satsim.results.destination import MARKER

FAST = ["--set", "duration_s=600", "--set", "step_s=60", "--set", "handsets.spacing_km=300"]

CHILD = r'''
import os, signal, sys, time
from pathlib import Path

import satsim.runner as runner
from satsim.results.folder import Results

stage, how, sync = sys.argv[1], sys.argv[2], Path(sys.argv[3])


def fault():
    if how == "wait":
        (sync / "ready").touch()
        while not (sync / "go").exists():
            time.sleep(0.02)
        return
    os.kill(os.getpid(), getattr(signal, how))
    time.sleep(30)  # SIGKILL ends us here; the others raise at once


if stage == "build":
    orig_build = runner.build

    def build(*a, **k):
        fault()
        return orig_build(*a, **k)

    runner.build = build
elif stage == "link":
    orig_chunks = runner.iter_link_chunks

    def chunks(*a, **k):
        for ch in orig_chunks(*a, **k):
            fault()
            yield ch

    runner.iter_link_chunks = chunks
elif stage == "scheduler":
    orig_simulate = runner.simulate

    def simulate(*a, **k):
        fault()
        return orig_simulate(*a, **k)

    runner.simulate = simulate
elif stage == "writing":
    orig_write = Results._write_into

    def write_into(self, folder, plots):
        (folder / "summary.json").write_text("{half")
        fault()
        orig_write(self, folder, plots)

    Results._write_into = write_into
elif stage == "swap":  # between renaming the old folder away and the new one in
    real_rename = os.rename

    def rename(a, b, *rest, **kw):
        real_rename(a, b, *rest, **kw)
        if ".old-" in str(b):
            fault()

    os.rename = rename

from satsim.cli import main

main(sys.argv[4:], prog_name="satsim")
'''


def child(tmp_path: Path, stage: str, how: str, *args) -> subprocess.Popen:
    sync = tmp_path / "sync"
    sync.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", CHILD, stage, how, str(sync), "run",
                             *FAST, "--no-plots", "-q", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def earlier_run(out: Path) -> str:
    res = invoke("run", *FAST, "--no-plots", "-q", "--out", out)
    assert res.exit_code == 0, res.output
    return (out / "summary.json").read_text()


EXIT = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["build", "link", "scheduler", "writing"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_in_any_stage_keeps_the_earlier_folder_and_leaves_nothing(tmp_path, stage,
                                                                         sig):
    parent = tmp_path / "res"
    out = parent / "r"
    before = earlier_run(out)
    proc = child(tmp_path, stage, sig, "--out", out, "--overwrite", "--seed", 5)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT[sig], err
    assert "no results folder was written" in err and "Traceback" not in err
    assert (out / "summary.json").read_text() == before
    assert hidden(parent) == []


def test_sigterm_while_writing_a_new_folder_leaves_nothing(tmp_path):
    out = tmp_path / "res" / "r"
    proc = child(tmp_path, "writing", "SIGTERM", "--out", out)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err, err
    # nothing visible, and the parent created for the run is gone again
    assert not (tmp_path / "res").exists()


def test_kill_9_while_writing_is_cleaned_by_the_next_run(tmp_path):
    parent = tmp_path / "res"
    out = parent / "r"
    before = earlier_run(out)
    proc = child(tmp_path, "writing", "SIGKILL", "--out", out, "--overwrite", "--seed", 5)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert (out / "summary.json").read_text() == before
    left = hidden(parent)
    assert any(".partial-" in n for n in left), left
    # the next run into the same parent removes the dead run's partial folder
    res = invoke("run", *FAST, "--no-plots", "--out", parent / "other")
    assert res.exit_code == 0, res.output
    assert hidden(parent) == []
    assert (out / "summary.json").read_text() == before


def test_kill_9_between_the_renames_restores_the_earlier_folder(tmp_path):
    parent = tmp_path / "res"
    out = parent / "r"
    before = earlier_run(out)
    proc = child(tmp_path, "swap", "SIGKILL", "--out", out, "--overwrite", "--seed", 5)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # the earlier folder sits renamed away, the new one partial
    res = invoke("run", *FAST, "--no-plots", "--out", parent / "other")
    assert res.exit_code == 0, res.output
    assert (out / "summary.json").read_text() == before
    assert hidden(parent) == []


def test_a_partial_folder_of_a_live_or_foreign_owner_is_kept(tmp_path):
    parent = tmp_path / "res"
    parent.mkdir()
    live = parent / f".x.partial-{os.getppid()}"   # a live process
    live.mkdir()
    (live / MARKER).write_text("")
    foreign = parent / ".y.partial-999999999"       # dead PID, but not satsim's
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    earlier_run(parent / "r")
    assert live.is_dir() and (foreign / "notes.txt").read_text() == "mine"


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child never reached the stage"
        time.sleep(0.05)


def test_two_runs_on_one_folder_the_second_is_refused_at_once(tmp_path):
    out = tmp_path / "r"
    first = child(tmp_path, "link", "wait", "--out", out)
    try:
        _wait_for(tmp_path / "sync" / "ready", first)
        res = invoke("run", *FAST, "--no-plots", "--out", out)
        assert res.exit_code == 2
        assert f"another satsim run (PID {first.pid}) is writing" in res.stderr
        res = invoke("run", *FAST, "--no-plots", "--out", out, "--overwrite")
        assert res.exit_code == 2 and "another satsim run" in res.stderr
    finally:
        (tmp_path / "sync" / "go").touch()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads((out / "summary.json").read_text())["scenario"] == "default"
    assert hidden(tmp_path) == []


def test_a_folder_created_during_the_run_is_not_replaced(tmp_path):
    out = tmp_path / "r"
    proc = child(tmp_path, "scheduler", "wait", "--out", out)
    try:
        _wait_for(tmp_path / "sync" / "ready", proc)
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    finally:
        (tmp_path / "sync" / "go").touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "already exists" in err, err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert hidden(tmp_path) == []


def test_full_disk_while_writing_keeps_the_earlier_folder(tmp_path, monkeypatch):
    import errno

    import pandas as pd

    out = tmp_path / "r"
    before = earlier_run(out)
    real = pd.DataFrame.to_parquet
    calls = []

    def to_parquet(self, path, *a, **k):
        calls.append(path)
        if len(calls) == 3:
            Path(path).write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    res = invoke("run", *FAST, "--no-plots", "--out", out, "--overwrite", "--seed", 2)
    assert res.exit_code == 1
    assert "No space left on device" in res.stderr and "nothing was written" in res.stderr
    assert (out / "summary.json").read_text() == before
    assert Results.load(out).summary == json.loads(before)
    assert hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_parent_is_refused_before_the_run(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = invoke("run", *FAST, "--out", ro / "r")
        assert res.exit_code == 2 and "cannot write in" in res.stderr
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_unwritable_out_is_refused_before_the_run(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("mine")
    res = invoke("run", *FAST, "--out", blocker / "r")
    assert res.exit_code == 2 and "is a file, not a folder" in res.stderr
    assert blocker.read_text() == "mine"
    # a place nobody can create folders in, even root
    res = invoke("run", *FAST, "--out", "/proc/satsim-test/r")
    assert res.exit_code == 2 and "cannot create" in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
