"""``satsim coverage`` (geometric coverage only) and the console entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from satsim.cli import main


def test_coverage_json_summary_of_default():
    res = CliRunner().invoke(main, ["coverage", "--hours", "1", "--step-s", "60", "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.stdout)
    assert s["satellites"] == 648
    assert 2500 < s["handsets"] < 3500
    # geometric coverage is "visible", as in `satsim run`'s summary, where
    # "availability" means served by a beam
    assert 0.5 < s["visible"] <= 1.0 and s["visible_min"] <= s["visible_p5"] <= s["visible"]
    assert "availability" not in s
    assert s["gap_s"]["max"] >= s["gap_s"]["p95"] >= s["gap_s"]["p50"] >= 0
    assert s["satsim_version"]


def test_coverage_prints_a_report():
    res = CliRunner().invoke(main, ["coverage", "--hours", "0.5", "--step-s", "60"])
    assert res.exit_code == 0, res.output
    assert "Coverage report" in res.stdout and "By latitude band" in res.stdout
    assert "availability" not in res.stdout and "a satellite above the mask" in res.stdout


def test_coverage_with_a_tle_file_and_filter(tmp_path):
    from satsim.orbits import default_constellation

    path = tmp_path / "c.tle"
    default_constellation()[:100].write_tle(path)
    res = CliRunner().invoke(
        main, ["coverage", "--tle", str(path), "--name-contains", "S1-0", "--hours", "0.5",
               "--step-s", "60", "--json"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["satellites"] == 100


def test_bad_input_exits_2_with_a_message(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["coverage", "--step-s", "-5"])
    assert res.exit_code == 2 and "step_s must be > 0" in res.stderr
    res = runner.invoke(main, ["coverage", "--tle", str(tmp_path / "missing.tle")])
    assert res.exit_code == 2 and "file not found" in res.stderr
    bad = tmp_path / "bad.tle"
    bad.write_text("SAT\n1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753\n")
    res = runner.invoke(main, ["coverage", "--tle", str(bad)])
    assert res.exit_code == 2 and "bad.tle" in res.stderr and "Traceback" not in res.stderr
    res = runner.invoke(main, ["coverage", "--epoch", "yesterday"])
    assert res.exit_code == 2 and "ISO 8601" in res.stderr


def test_console_script_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "satsim.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "satsim" in out.stdout
