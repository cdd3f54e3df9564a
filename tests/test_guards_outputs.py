"""Quiet wrongness in outputs: each number and file says what it is, wherever
the folder is, whatever was there before."""

from __future__ import annotations

import datetime
import json
import math
import os
import shutil
import stat

import pandas as pd
import pytest
from click.testing import CliRunner

from satsim.cli import main
from satsim.orbits import default_constellation
from satsim.results import Results
from satsim.results.plots import plot_voice_data
from satsim.results.report import render_report

FAST = ["--set", "duration_s=600", "--set", "step_s=60", "--set", "handsets.spacing_km=300"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def run_fast(out, *args):
    res = invoke("run", *FAST, "-q", "--out", out, *args)
    assert res.exit_code == 0, res.output
    return out


def decaying_tle(path):
    """One satellite at ~180 km with a large drag term: SGP4 gives up within a day."""
    from sgp4.api import WGS72, Satrec
    from sgp4.exporter import export_tle

    s = Satrec()
    epoch = (datetime.datetime(2025, 10, 27) - datetime.datetime(1949, 12, 31)).days
    s.sgp4init(WGS72, "i", 99999, epoch, 5e-3, 0.0, 0.0, 0.0005, 0.0, math.radians(53), 0.0,
               16.35 * 2 * math.pi / 1440, 0.0)
    l1, l2 = export_tle(s)
    path.write_text(f"DECAYER\n{l1}\n{l2}\n")
    return path


def test_summary_bytes_do_not_depend_on_where_the_files_are(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    default_constellation()[:80].write_tle(a / "c.tle")
    (a / "s.yaml").write_text("name: moved\nconstellation: {file: c.tle}\n")
    res = invoke("run", a / "s.yaml", *FAST, "-q", "--no-plots", "--out", tmp_path / "ra")
    assert res.exit_code == 0, res.output
    b = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(a, b)
    res = invoke("run", b / "s.yaml", *FAST, "-q", "--no-plots", "--out", tmp_path / "rb")
    assert res.exit_code == 0, res.output
    sa = (tmp_path / "ra" / "summary.json").read_text()
    assert sa == (tmp_path / "rb" / "summary.json").read_text()
    assert str(tmp_path) not in sa and json.loads(sa)["run"]["constellation"] == "c.tle"


def test_voice_drop_ratio_is_of_admitted_calls_in_table_and_plot(tmp_path):
    out = run_fast(tmp_path / "r", "--no-plots", "--set", "services.voice.enabled=true",
                   "--set", "services.voice.calls_per_hour=3")
    res = Results.load(out)
    v = res.summary["voice"]
    assert v["drop_ratio"] == pytest.approx(v["dropped"] / (v["offered"] - v["blocked"]))
    calls = pd.DataFrame({"outcome": ["completed"] * 6 + ["blocked"] * 2 + ["dropped"] * 2})
    fig = plot_voice_data({"calls": calls})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "2 (25.0 % of admitted)" in texts          # 2 of 8 admitted, as drop_ratio
    assert "2 (20.0 % of offered)" in texts           # blocked: 2 of 10 offered
    res = invoke("run", *FAST, "--out", tmp_path / "r2", "--no-plots",
                 "--set", "services.voice.enabled=true")
    assert "of admitted" in res.stderr


@pytest.mark.parametrize("text", ["{}", "[]", "null", "{\"scenario\": \"x\"}", "{half"])
def test_plot_on_a_damaged_summary_exits_2(tmp_path, text):
    out = run_fast(tmp_path / "r", "--no-plots")
    (out / "summary.json").write_text(text)
    res = invoke("plot", out)
    assert res.exit_code == 2, res.output
    assert "summary" in res.stderr or "damaged" in res.stderr
    assert not (out / "report.html").exists()


def test_plot_removes_the_png_of_a_table_that_is_gone(tmp_path):
    out = run_fast(tmp_path / "r")
    assert (out / "plots" / "sms_latency_cdf.png").is_file()
    (out / "tables" / "sms.parquet").unlink()
    res = invoke("plot", out)
    assert res.exit_code == 0, res.output
    assert "sms_latency_cdf: no data" in res.stdout and "removed its old PNG" in res.stdout
    assert not (out / "plots" / "sms_latency_cdf.png").exists()
    assert "sms_latency_cdf" not in (out / "report.html").read_text()


def test_report_shows_the_recorded_wall_time(tmp_path):
    out = run_fast(tmp_path / "r")
    meta = json.loads((out / "metadata.json").read_text())
    html = (out / "report.html").read_text()
    assert "wall time</td><td class=\"value\">n/a" not in html
    assert "<td>wall time</td>" in html
    page = render_report({"scenario": "x", "run": {}}, {"timings_s": {"total": 12.5}}, {})
    assert "<td>wall time</td><td class=\"value\">12.5 s</td>" in page
    assert meta["timings_s"]["total"] > 0


def test_every_file_satsim_writes_has_the_same_mode(tmp_path):
    old = os.umask(0o022)
    try:
        out = run_fast(tmp_path / "r")
        invoke("plot", out)
        default_constellation()[:3].write_tle(tmp_path / "x.tle")
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()] + [tmp_path / "x.tle"]
    modes = {p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert set(modes.values()) == {0o644}, modes
    assert "r/report.html" in modes and "r/plots/coverage_map.png" in modes


def test_decayed_satellites_are_counted_and_shown(tmp_path):
    tle = decaying_tle(tmp_path / "decay.tle")
    both = tmp_path / "both.tle"
    default_constellation()[:40].write_tle(both)
    both.write_text(both.read_text() + tle.read_text())
    res = invoke("tle", tle)
    assert res.exit_code == 0 and "problems found" in res.stdout and "DECAYER" in res.stdout
    info = json.loads(invoke("tle", tle, "--json").stdout)
    assert len(info["decaying"]) == 1
    # a run two days after the elements' epoch: the satellite is counted as failed
    sets = [*FAST, "--set", f"constellation.file={both}", "--set", "constellation.walker=null",
            "--set", "epoch=2025-10-29T00:00:00Z"]
    p = tmp_path / "s.yaml"
    p.write_text("name: decay\n")
    res = invoke("validate", p, *sets)
    assert res.exit_code == 0, res.output
    assert "1 satellite(s) fail in SGP4" in res.stdout and "DECAYER" in res.stdout
    out = tmp_path / "r"
    res = invoke("run", p, *sets, "--no-plots", "--out", out)
    assert res.exit_code == 0, res.output
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["satellites"] == 41 and run["satellites_failed"] == 1
    assert run["element_age_days"]["max"] >= 2.0
    assert res.stderr.count("DECAYER") <= 2  # said once, not once per chunk


def test_epoch_age_warning_names_the_scenario_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: old\n")
    c = tmp_path / "c.tle"
    default_constellation()[:30].write_tle(c)  # elements of 2025-10-27
    res = invoke("validate", p, *FAST, "--set", f"constellation.file={c}",
                 "--set", "constellation.walker=null", "--set", "epoch=2025-11-20T00:00:00Z")
    assert res.exit_code == 0, res.output
    assert "warning:" in res.stderr and "constellation.max_epoch_age_days" in res.stderr
    assert "24" in res.stdout  # days from the run, shown
