"""Inputs that would exhaust the machine, and input mistakes that used to end
as internal errors: each is refused with exit 2, a message naming the file,
line and key with a fix, and nothing written."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from satsim.cli import main
from satsim.scenario import estimate as est_module
from satsim.scenario import load_scenario
from satsim.scenario.estimate import estimate
from satsim.scenario.loader import ScenarioError, read_yaml

FAST = ["--set", "duration_s=600", "--set", "step_s=60", "--set", "handsets.spacing_km=300"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(res, *fragments):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    for f in fragments:
        assert f in res.stderr, (f, res.stderr)


def alias_bomb(levels: int = 10) -> str:
    lines = ["name: bomb", "l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_naming_the_line(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(alias_bomb())
    res = invoke("validate", p)
    refused(res, f"{p}, line 10:", "expand the file", "alias")
    res = invoke("run", p, "--out", tmp_path / "r")
    refused(res, "expand the file")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["bomb.yaml"]


def test_small_aliases_still_work(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("name: a\nbox: &b {lat_min_deg: 30, lat_max_deg: 40, lon_min_deg: -100, "
                 "lon_max_deg: -90}\n")
    with pytest.raises(ScenarioError, match="unknown key 'box'"):
        load_scenario(p)  # parsed fine; only the extra key is refused
    p.write_text("name: a\nhandsets:\n  placement: grid\n  spacing_km: 200\n  box: &b "
                 "{lat_min_deg: 30, lat_max_deg: 40, lon_min_deg: -100, lon_max_deg: -90}\n")
    assert load_scenario(p).handsets.box.lat_max_deg == 40


def test_large_points_file_keeps_line_numbers(tmp_path):
    rows = "".join(f"    - {{lat_deg: {10 + i * 1e-4:.4f}, lon_deg: 20}}\n" for i in range(20000))
    p = tmp_path / "pts.yaml"
    p.write_text("name: pts\nhandsets:\n  placement: points\n  points:\n" + rows
                 + "    - {lat_deg: 95, lon_deg: 20}\n")
    data, lines = read_yaml(p)
    assert len(data["handsets"]["points"]) == 20001
    assert lines[("handsets", "points", 20000)] == 20005
    with pytest.raises(ScenarioError, match=f"{p}, line 20005: handsets.points.20000.lat_deg"):
        load_scenario(p)


def test_run_that_cannot_fit_is_refused_naming_the_knobs(tmp_path):
    res = invoke("run", "--set", "step_s=0.001", "--out", tmp_path / "r")
    refused(res, "of memory", "step_s", "--force")
    assert list(tmp_path.iterdir()) == []
    p = tmp_path / "many.yaml"
    p.write_text("name: many\nhandsets:\n  placement: random\n  count: 5000000\n  box: "
                 "{lat_min_deg: 25, lat_max_deg: 49, lon_min_deg: -124, lon_max_deg: -67}\n")
    refused(invoke("validate", p), "5,000,000 handsets", "handsets.count")


def test_estimate_limit_follows_the_available_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(est_module, "available_memory_bytes", lambda: 1e8)
    p = tmp_path / "s.yaml"
    p.write_text("name: s\n")
    refused(invoke("validate", p, *FAST), "machine has 100 MB available", "--force")
    res = invoke("validate", p, *FAST, "--force")
    assert res.exit_code == 0 and "estimate:" in res.stdout
    refused(invoke("run", p, *FAST, "--out", tmp_path / "r"), "--force")
    assert not (tmp_path / "r").exists()
    res = invoke("run", p, *FAST, "--no-plots", "-q", "--force", "--out", tmp_path / "r")
    assert res.exit_code == 0, res.output


def test_python_run_that_cannot_fit_is_refused_unless_forced(monkeypatch):
    """``satsim.run`` refuses, before building anything, what ``satsim run`` refuses
    (a Jupyter kernel killed hours into a run is worse than an error), naming the
    knobs and its own override; ``force=True`` runs it."""
    import satsim
    from satsim.errors import InputError
    from satsim.scenario import with_overrides

    sc = with_overrides(load_scenario(), {"duration_s": 600, "step_s": 60,
                                          "handsets.spacing_km": 300})
    built = []
    monkeypatch.setattr("satsim.runner.build", lambda s: built.append(s) or 1 / 0)
    monkeypatch.setattr(est_module, "available_memory_bytes", lambda: 1e8)
    with pytest.raises(InputError, match=r"(?s)machine has 100 MB available.*force=True"):
        satsim.run(sc)
    assert built == []
    with pytest.raises(ZeroDivisionError):      # forced: it goes on to build the run
        satsim.run(sc, force=True)
    assert len(built) == 1
    monkeypatch.setattr(est_module, "available_memory_bytes", lambda: 1e12)
    with pytest.raises(ZeroDivisionError):      # fits: not refused
        satsim.run(sc)


def test_estimate_scales_with_steps_and_handsets():
    base = estimate(load_scenario(overrides={"duration_s": 3600}))
    longer = estimate(load_scenario(overrides={"duration_s": 7200}))
    denser = estimate(load_scenario(overrides={"duration_s": 3600,
                                               "handsets.spacing_km": 75}))
    assert longer.steps == 2 * base.steps - 1
    assert longer.output_bytes == pytest.approx(2 * base.output_bytes, rel=0.01)
    assert denser.handsets == pytest.approx(4 * base.handsets, rel=0.01)
    assert denser.total_bytes > longer.total_bytes > base.total_bytes
    # the default's handsets and satellites in view, as built and measured
    assert base.handsets == pytest.approx(362, rel=0.05)
    assert 2.95 <= base.visible_per_handset <= 6.0


def test_estimate_of_earth_fixed_outputs_is_bounded_per_handset_hour():
    """Earth-fixed cells: what a run keeps per handset follows the hours, not the steps
    (measured ~28-30 KiB per handset-hour at 1 s and at 10 s), so 1 s steps cost no
    more than the per-hour bound; moving beams keep the per-step figure; each step
    adds its time-series row and one row per sampled handset."""
    from satsim.scenario.estimate import (OUTPUT_BYTES_PER_HANDSET_HOUR_CELLS,
                                          OUTPUT_BYTES_PER_HANDSET_STEP, OUTPUT_BYTES_PER_SAMPLE_ROW,
                                          OUTPUT_BYTES_PER_STEP)

    def per_step_rows(e, sampled=4):
        return e.steps * (OUTPUT_BYTES_PER_STEP + sampled * OUTPUT_BYTES_PER_SAMPLE_ROW)

    fine = estimate(load_scenario(overrides={"duration_s": 3600, "step_s": 1}))
    assert fine.output_bytes == pytest.approx(
        fine.handsets * OUTPUT_BYTES_PER_HANDSET_HOUR_CELLS + per_step_rows(fine))
    coarse = estimate(load_scenario(overrides={"duration_s": 3600, "step_s": 60}))
    assert coarse.output_bytes == pytest.approx(
        coarse.handsets * coarse.steps * OUTPUT_BYTES_PER_HANDSET_STEP + per_step_rows(coarse))
    moving = estimate(load_scenario(overrides={"duration_s": 3600, "step_s": 1,
                                               "beams.mode": "moving"}))
    assert moving.output_bytes == pytest.approx(
        moving.handsets * moving.steps * OUTPUT_BYTES_PER_HANDSET_STEP + per_step_rows(moving))
    assert moving.output_bytes > 8 * fine.output_bytes


@pytest.mark.parametrize("text, where", [
    ("name: d\nepoch: 2025-02-30\n", "line 2: epoch"),
    ("name: d\nepoch: 2025-02-30T10:00:00Z\n", "line 2: epoch"),
])
def test_impossible_date_in_a_file_is_an_input_error(tmp_path, text, where):
    p = tmp_path / "d.yaml"
    p.write_text(text)
    refused(invoke("validate", p), f"{p}, {where}", "day value is outside expected range")
    # and a --set replaces it
    res = invoke("validate", p, *FAST, "--set", "epoch=2025-03-01")
    assert res.exit_code == 0, res.output


def test_impossible_date_in_set_is_an_input_error(tmp_path):
    refused(invoke("run", "--set", "epoch=2025-13-40", "--out", tmp_path / "r"),
            "--set epoch", "month value is outside expected range")
    assert list(tmp_path.iterdir()) == []


def test_grid_with_no_handsets_is_refused_by_validate_and_run(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("name: g\nhandsets:\n  placement: grid\n  spacing_km: 500\n  box: "
                 "{lat_min_deg: 10, lat_max_deg: 11, lon_min_deg: 0, lon_max_deg: 1}\n")
    refused(invoke("validate", p), f"{p}, line 2: handsets:", "no grid point",
            "spacing_km below")
    refused(invoke("run", p, "--out", tmp_path / "r"), "no grid point")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_scenario_file_is_an_error_showing_a_minimal_one(tmp_path, text):
    p = tmp_path / "e.yaml"
    p.write_text(text)
    refused(invoke("validate", p), "is empty", "name: my_study")
    refused(invoke("run", p, "--out", tmp_path / "r"), "is empty")


def test_step_that_does_not_divide_the_duration_is_refused_with_valid_values(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nduration_s: 100\nstep_s: 30\n")
    refused(invoke("validate", p), f"{p}, line 3: step_s", "must divide duration_s",
            "step_s 25 or 33.3333", "duration_s 90 or 120")
    refused(invoke("run", *FAST, "--set", "step_s=70", "--out", tmp_path / "r"),
            "--set step_s", "must divide")


@pytest.mark.parametrize("path", ["default.yaml", "sms_only.yaml", "sparse_store_and_forward.yaml",
                                  "high_latitude.yaml"])
def test_lit_cells_estimate_is_close_to_the_cells_a_run_builds(path):
    """The memory estimate counts the Earth-fixed cells a run lights (grids, city
    clusters, random boxes) within 30 % of the cell grid the run builds."""
    from pathlib import Path

    from satsim.scenario.build import build
    from satsim.scenario.estimate import lit_cells

    sc = load_scenario(Path(__file__).parent.parent / "scenarios" / path)
    inputs = build(sc)
    built, _ = inputs.cells
    alt = float(np.min(inputs.constellation.altitude_km))
    assert lit_cells(sc, len(inputs.handsets), alt) == pytest.approx(built, rel=0.3)


def test_spooled_estimate_keeps_memory_flat_and_counts_the_disk(tmp_path, monkeypatch):
    """``run.spool`` with Earth-fixed cells: memory nearly flat in the duration (the
    chunk, one bucket, the services' tables), the disk growing per handset-hour; a
    run whose spool would not fit on the temporary folder's disk is refused, naming
    TMPDIR, before anything is built."""
    from satsim.scenario.estimate import SPOOL_DISK_BYTES_PER_HANDSET_HOUR_CELLS

    def est(hours, spool=True, **more):
        return estimate(load_scenario(overrides={
            "duration_s": hours * 3600, "step_s": 1, "run.spool": spool, **more}))

    one, four = est(1), est(4)
    assert four.total_bytes < 1.2 * one.total_bytes
    assert est(4, spool=False).output_bytes > 5 * four.output_bytes
    assert four.disk_bytes == pytest.approx(
        4 * four.handsets * SPOOL_DISK_BYTES_PER_HANDSET_HOUR_CELLS)
    assert "spooled to disk" in four.describe() and est(1, spool=False).disk_bytes == 0
    moving = est(1, **{"beams.mode": "moving"})     # read back whole: not bounded
    assert moving.total_bytes == pytest.approx(est(1, False, **{"beams.mode": "moving"})
                                               .total_bytes)
    assert "TMPDIR" in four.problem(1e12, free_disk_bytes=1e6)
    assert four.problem(1e12, free_disk_bytes=1e12) is None

    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(1e7, 0, 1e5))
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nrun:\n  spool: true\n")
    refused(invoke("run", p, "--out", tmp_path / "r"), "TMPDIR", "--force")
    assert not (tmp_path / "r").exists()
