"""Plots and the HTML report of a results folder, on small synthetic tables."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import imread

from satsim.results import coastlines
from satsim.results.plots import PLOTTERS, make_plots
from satsim.results.report import (
    format_percent,
    format_seconds,
    render_report,
    summary_rows,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: A box around the contiguous US and the eastern Pacific, degrees: south, north, west, east.
CONUS_BOX = (24.0, 50.0, -145.0, -66.0)


def _handsets(rng) -> pd.DataFrame:
    """270 handsets on a 1.5° grid over Europe, served more in the north.

    Northern, so that the map streams little of the land mask (the tests stay fast).
    """
    lat, lon = np.meshgrid(np.arange(44.0, 59.0, 1.5), np.arange(-10.0, 30.0, 1.5),
                           indexing="ij")
    lat, lon = lat.ravel(), lon.ravel()
    served = np.clip((lat - 44.0) / 14.0 + rng.normal(0, 0.05, lat.size), 0, 1)
    sinr = np.where(served > 0.05, rng.normal(0.0, 3.0, lat.size), np.nan)
    return pd.DataFrame({
        "handset": np.arange(lat.size, dtype=np.int64), "lat_deg": lat, "lon_deg": lon,
        "served_fraction": served, "visible_fraction": np.minimum(1.0, served + 0.5),
        "mean_visible": 3.0 * served, "gaps": rng.integers(0, 20, lat.size),
        "max_gap_s": rng.uniform(0, 3600, lat.size), "mean_sinr_db": sinr,
    })


def _timeseries(n_steps: int = 360, step_s: float = 60.0) -> pd.DataFrame:
    t = np.arange(n_steps) * step_s
    served = 0.3 + 0.2 * np.sin(t / 3600.0)
    sinr = np.where(served > 0.15, -2.0 + served, np.nan)
    return pd.DataFrame({"time_s": t, "mean_visible": 3.0 + np.sin(t / 1800.0),
                         "served_fraction": served, "visible_fraction": served + 0.4,
                         "mean_sinr_db": sinr})


def _samples(rng, handsets=(3, 40, 77), n_steps: int = 360, step_s: float = 60.0):
    rows = []
    for h in handsets:
        t = np.arange(n_steps) * step_s
        status = np.where((t // 900) % 3 == 0, 1, 0).astype(np.uint8)
        served = status == 0
        rows.append(pd.DataFrame({
            "time_s": t, "handset": h,
            "serving_sat": np.where(served, (t // 1800).astype(np.int32) + 10 * h, -1),
            "dl_sinr_db": np.where(served, rng.normal(0, 2, n_steps), np.nan).astype(np.float32),
            "elevation_deg": rng.uniform(25, 90, n_steps), "status": status,
        }))
    return pd.concat(rows, ignore_index=True)


def _gaps(rng, n: int = 400) -> pd.DataFrame:
    start = rng.uniform(0, 86400, n)
    duration = rng.lognormal(4.0, 1.2, n)
    return pd.DataFrame({"handset": rng.integers(0, 300, n), "start_s": start,
                         "end_s": start + duration, "duration_s": duration,
                         "censored": rng.random(n) < 0.05})


def _sms(rng, n: int = 500) -> pd.DataFrame:
    outcome = rng.choice(["delivered", "expired", "in_flight"], n, p=[0.9, 0.08, 0.02])
    latency = np.where(outcome == "delivered", rng.lognormal(3.0, 1.5, n), np.nan)
    arrival = rng.uniform(0, 86400, n)
    return pd.DataFrame({
        "id": np.arange(n), "direction": rng.choice(["MO", "MT"], n),
        "handset": rng.integers(0, 300, n), "t_arrival_s": arrival,
        "t_delivered_s": arrival + latency, "latency_s": latency, "outcome": outcome,
        "covered_at_arrival": rng.random(n) < 0.4, "attempts": rng.integers(1, 4, n),
        "sat": rng.integers(-1, 600, n), "beam": rng.integers(-1, 139, n),
    })


def _calls(rng, n: int = 200) -> pd.DataFrame:
    return pd.DataFrame({"id": np.arange(n), "handset": rng.integers(0, 300, n),
                         "outcome": rng.choice(["completed", "blocked", "dropped"], n,
                                               p=[0.7, 0.2, 0.1])})


def _sessions(rng, n: int = 150) -> pd.DataFrame:
    outcome = rng.choice(["completed", "aborted"], n, p=[0.8, 0.2])
    return pd.DataFrame({"id": np.arange(n), "outcome": outcome,
                         "throughput_kbps": np.where(outcome == "completed",
                                                     rng.lognormal(4, 1, n), np.nan)})


SUMMARY = {
    "scenario": "<script>alert(1)</script> test",
    "seed": 7, "satsim_version": "0.1.0",
    "run": {"epoch": "2025-10-27T00:00:00+00:00", "duration_s": 86400.0, "step_s": 10.0,
            "satellites": 648, "handsets": 2958, "beams_per_satellite": 139},
    "coverage": {"availability": 0.2834, "visible": 0.98, "mean_visible": 2.95,
                 "gap_s": {"p50": 40.0, "p95": 300.0, "max": None}, "gaps": 12345,
                 "handovers_per_handset_hour": 1.7},
    "link": {"dl_sinr_db": {"p10": -5.0, "p50": -2.0, "p90": 3.0},
             "status_fraction": {"served": 0.28, "no satellite": 0.015, "delay": 0.0001}},
    "sms": {"offered": 500, "delivered": 450, "expired": 40, "in_flight": 10,
            "delivery_ratio": 0.9, "latency_s": {"p50": 20.0, "p90": 600.0, "p99": float("nan"),
                                                 "max": 7300.0}},
    "voice": None,
    "wall_time_s": 95.2,
}


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(1)
    return {"handsets": _handsets(rng), "timeseries": _timeseries(), "samples": _samples(rng),
            "gaps": _gaps(rng), "sms": _sms(rng), "calls": _calls(rng),
            "sessions": _sessions(rng)}


@pytest.fixture(scope="module")
def plots(tables, tmp_path_factory):
    return make_plots(SUMMARY, tables, tmp_path_factory.mktemp("plots"))


def test_every_plot_is_a_readable_png(plots):
    assert list(plots) == list(PLOTTERS)
    for name, path in plots.items():
        assert path.name == f"{name}.png"
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = imread(path)
        assert image.ndim == 3 and 300 <= image.shape[0] <= 2000 and 400 <= image.shape[1] <= 2000
        assert image[..., :3].std() > 0.05, f"{name} looks blank"
    assert not list(path.parent.glob("*.tmp")), "temporary files left behind"


def test_missing_and_empty_tables_skip_their_plots(tables, tmp_path):
    partial = {"gaps": tables["gaps"], "sms": tables["sms"].iloc[:0],
               "timeseries": tables["timeseries"].iloc[:0], "calls": tables["calls"]}
    assert list(make_plots({}, partial, tmp_path)) == ["gap_cdf", "voice_data"]
    assert make_plots({}, {}, tmp_path / "none") == {}


def test_all_nan_columns_do_not_warn_or_crash(tables, tmp_path):
    nan = {
        "handsets": tables["handsets"].assign(served_fraction=np.nan),
        "timeseries": tables["timeseries"].assign(mean_sinr_db=np.nan, mean_visible=np.nan),
        "samples": tables["samples"].assign(dl_sinr_db=np.nan, serving_sat=-1, status=1),
        "gaps": tables["gaps"].assign(censored=True),
        "sms": tables["sms"].assign(latency_s=np.nan, outcome="expired"),
        "sessions": tables["sessions"].assign(throughput_kbps=np.nan),
    }
    written = make_plots({"scenario": None}, nan, tmp_path)
    assert set(written) == {"coverage_map", "gap_cdf", "sms_latency_cdf", "samples",
                            "visible_over_time", "voice_data"}


def test_a_few_irregular_handsets_are_dots(tmp_path, monkeypatch):
    monkeypatch.setattr(coastlines, "mask_path", lambda: None)  # coastlines tested apart
    handsets = pd.DataFrame({"lat_deg": [59.9, 60.4, 63.4, 69.6],
                             "lon_deg": [10.7, 5.3, 10.4, 18.9],
                             "served_fraction": [0.1, 0.5, 0.9, np.nan]})
    assert list(make_plots({}, {"handsets": handsets}, tmp_path)) == ["coverage_map"]


def test_missing_column_error_names_table_and_column(tables, tmp_path):
    with pytest.raises(ValueError, match=r"'gaps' lacks column\(s\) \['censored'\]"):
        make_plots({}, {"gaps": tables["gaps"].drop(columns="censored")}, tmp_path)


def test_map_without_mask_package_says_so(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(coastlines, "mask_path", lambda: None)
    fig = PLOTTERS["coverage_map"](tables)
    assert "no coastlines: pip install global-land-mask" in fig.axes[0].get_title()


def test_report_embeds_plots_numbers_and_escapes(plots, tmp_path):
    scenario_yaml = "name: <script>alert('x')</script>\nhours: 24\n"
    metadata = {"versions": {"satsim": "0.1.0", "numpy": np.__version__},
                "models": ["3GPP TR 38.811 v15.4.0"], "input_hash": "abc&def"}
    path = write_report(SUMMARY, metadata, plots, tmp_path / "report.html", scenario_yaml)
    text = path.read_text(encoding="utf-8")
    assert text.count('src="data:image/png;base64,') == len(plots)
    for number in ("28.3 %", "98.0 %", "2.95", "12,345", "300 s (5.0 min)", "-2.0 dB",
                   "86,400 s (24.0 h)", "90.0 %", "<0.1 %".replace("<", "&lt;"), "648"):
        assert number in text, number
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "versions.numpy" in text and "abc&amp;def" in text
    assert not re.search(r"https?:", text), "report must not reference external resources"
    assert not list(tmp_path.glob("*.tmp"))


def test_summary_rows_handle_missing_and_off_sections():
    rows = {(s, label): value for s, label, value in summary_rows(SUMMARY)}
    assert rows[("Voice", "—")] == "off"
    assert rows[("Data", "—")] == "not reported"
    assert rows[("Coverage", "service gap: median / 95th percentile / longest")] == \
        "40 s / 300 s (5.0 min) / n/a"
    assert rows[("Link", "handset time steps: no satellite")] == "1.5 %"
    assert summary_rows({})[0] == ("Run", "scenario", "n/a")
    assert "n/a" in render_report({"coverage": {"availability": "junk"}}, {}, {})


def test_report_names_a_missing_plot_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_plots"):
        render_report(SUMMARY, {}, {"gap_cdf": tmp_path / "nope.png"})


@pytest.mark.parametrize("fraction, text", [(0.2834, "28.3 %"), (0.0, "0.0 %"), (1e-5, "<0.1 %"),
                                            (None, "n/a"), (float("nan"), "n/a")])
def test_format_percent(fraction, text):
    assert format_percent(fraction) == text


def test_format_seconds():
    assert [format_seconds(s) for s in (40, 95.2, 300, 7200, None)] == \
        ["40 s", "95.2 s", "300 s (5.0 min)", "7,200 s (2.0 h)", "n/a"]


needs_mask = pytest.mark.skipif(coastlines.mask_path() is None,
                                reason="global-land-mask is not installed")


@needs_mask
def test_conus_coastlines_lie_inside_the_box():
    south, north, west, east = CONUS_BOX
    segments = coastlines.coastline_segments(*CONUS_BOX)
    assert len(segments) > 10
    points = np.concatenate(segments)
    assert points.shape[1] == 2
    assert (points[:, 0] >= west).all() and (points[:, 0] <= east).all()
    assert (points[:, 1] >= south).all() and (points[:, 1] <= north).all()
    # The Pacific coast (Vancouver Island reaches ~127°W below 50°N), Maine's (~67°W).
    assert -129.0 < points[:, 0].min() < -123.0 and points[:, 0].max() > -70.0
    # Streamed from the package's file: its import would inflate 0.9 GB.
    assert "global_land_mask" not in sys.modules


@needs_mask
def test_land_mask_points():
    """Kansas (38.5°N, 98°W) is land, the Pacific at (30°N, 140°W) sea, from the same box."""
    lat, lon, land = coastlines.land_fraction(*CONUS_BOX)
    assert np.all(np.diff(lat) > 0) and np.all(np.diff(lon) > 0)
    assert land.shape == (lat.size, lon.size)

    def at(lat_deg, lon_deg):
        return land[np.argmin(abs(lat - lat_deg)), np.argmin(abs(lon - lon_deg))]

    assert at(38.5, -98.0) == 1.0
    assert at(30.0, -140.0) == 0.0


@needs_mask
def test_coastlines_across_the_antimeridian():
    """The Aleutians and Kamchatka in a 170°E..200°E (160°W) box keep that frame."""
    points = np.concatenate(coastlines.coastline_segments(50.0, 60.0, 170.0, 200.0, 400))
    assert points[:, 0].min() < 180.0 < points[:, 0].max()


def test_bad_box_error_says_what_to_give():
    with pytest.raises(ValueError, match="south < north and west < east"):
        coastlines.land_fraction(50.0, 40.0, -10.0, 10.0)



def test_unreadable_mask_leaves_a_note_not_a_crash(tmp_path, monkeypatch):
    bad = tmp_path / "globe_combined_mask_compressed.npz"
    bad.write_bytes(b"not a zip file")
    monkeypatch.setattr(coastlines, "mask_path", lambda: bad)
    fig = Figure()
    note = coastlines.draw_coastlines(fig.add_subplot(), 10.0, 11.5, 20.0, 21.5)
    assert note.startswith("no coastlines:")
    monkeypatch.setattr(coastlines, "mask_path", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install global-land-mask"):
        coastlines.land_fraction(10.0, 11.25, 20.0, 21.25)


# --------------------------------------------------------------------------- readable plots


def test_coverage_map_colour_scale_follows_the_data(tables):
    from satsim.results.plots import plot_coverage_map

    narrow = tables["handsets"].assign(
        served_fraction=0.40 + 0.03 * (tables["handsets"]["lat_deg"] - 44.0) / 14.0)
    fig = plot_coverage_map({"handsets": narrow})
    norm = fig.axes[0].collections[0].norm
    assert 38.0 <= norm.vmin <= 40.0 and 43.0 <= norm.vmax <= 45.0
    # the full range still shows as 0..100
    full = plot_coverage_map(tables).axes[0].collections[0].norm
    assert full.vmin == 0.0 and full.vmax == 100.0


def test_gap_cdf_curves_are_distinct_sets_drawn_distinctly(tables):
    from satsim.results.plots import plot_gap_cdf

    ax = plot_gap_cdf(tables).axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")]
    assert len(lines) == 2
    a, b = lines
    assert a.get_color() != b.get_color() and a.get_linestyle() != b.get_linestyle()
    n_in = int((~tables["gaps"]["censored"]).sum())
    n_cut = int(tables["gaps"]["censored"].sum())
    assert a.get_label().startswith(f"{n_in:,} gaps inside")
    assert b.get_label().startswith(f"{n_cut:,} gaps cut")
    assert "Service gap" in ax.figure.get_suptitle()


def test_samples_plot_shows_the_run_and_a_resolving_window(tables):
    from satsim.results.plots import WINDOW_STEPS, plot_samples

    rng = np.random.default_rng(3)
    step_s = 10.0
    samples = _samples(rng, n_steps=8641, step_s=step_s)
    series = _timeseries(n_steps=8641, step_s=step_s).assign(
        p10_sinr_db=-6.0, p50_sinr_db=-2.0, p90_sinr_db=2.0)
    fig = plot_samples({"samples": samples, "timeseries": series})
    axes = fig.axes
    assert len(axes) == 2 + 3  # all handsets: served share, SINR band; then 3 handsets
    top, sinr = axes[0], axes[1]
    assert top.get_xlim()[1] - top.get_xlim()[0] >= 23.9  # the whole day, hours
    assert any(isinstance(c, PolyCollection) for c in sinr.collections)  # the p10-p90 band
    for ax in axes[2:]:
        lo, hi = ax.get_xlim()
        assert (hi - lo) * 3600.0 <= (WINDOW_STEPS + 1) * step_s  # a window, not the day
        assert "of this window" in ax.get_title()
    assert "up close" in fig.get_suptitle()
    # without a timeseries table: only the handsets
    assert len(plot_samples({"samples": samples}).axes) == 3
