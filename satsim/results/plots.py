"""PNG plots of a run's results tables.

:func:`make_plots` takes the run summary (a dict) and the results tables
(pandas DataFrames, described in :data:`TABLE_COLUMNS`) and writes one PNG per
plot it has data for. Figures are built on :class:`matplotlib.figure.Figure`
directly, never through pyplot, so nothing global is touched and the code runs
headless. Times on plot axes are hours since the run's epoch; durations and
latencies are seconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from textwrap import shorten

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from . import coastlines
from .report import format_number, format_percent

#: Columns each plot reads from a table; other columns are ignored.
TABLE_COLUMNS = {
    "handsets": ("lat_deg", "lon_deg", "served_fraction"),
    "timeseries": ("time_s", "mean_visible", "served_fraction", "visible_fraction"),
    "samples": ("time_s", "handset", "serving_sat", "dl_sinr_db", "status"),
    "gaps": ("duration_s", "censored"),
    "sms": ("direction", "latency_s", "outcome", "covered_at_arrival"),
    "calls": ("outcome",),
    "sessions": ("outcome", "throughput_kbps"),
}

#: Handsets drawn in the samples plot, at most.
MAX_SAMPLE_PANELS = 4
#: Fewer handsets than this are drawn as dots, not binned onto a grid.
MIN_HANDSETS_FOR_GRID = 50
_DPI = 110
_HOUR_S = 3600.0


def make_plots(summary: dict, tables: Mapping[str, pd.DataFrame],
               out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the plots the tables have data for, as PNG files in ``out_dir``.

    Parameters
    ----------
    summary : dict
        The run summary; only ``summary["scenario"]`` (a name for titles) is read.
    tables : mapping of str to pandas.DataFrame
        Results tables by name (see :data:`TABLE_COLUMNS`); any may be missing
        or empty, and the plots needing it are skipped.
    out_dir : path
        Folder for the PNGs, created if missing. Files are written atomically.

    Returns
    -------
    dict of str to pathlib.Path
        Plot name (``"coverage_map"``, ``"gap_cdf"``, ``"sms_latency_cdf"``,
        ``"samples"``, ``"visible_over_time"``, ``"voice_data"``) to the file
        written, in that order, for the plots that had data.

    Raises
    ------
    ValueError
        When a table lacks a column its plot needs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scenario = (summary or {}).get("scenario")
    written = {}
    for name, draw in PLOTTERS.items():
        fig = draw(tables)
        if fig is None:
            continue
        if scenario:
            fig.suptitle(f"{fig.get_suptitle()}\nscenario: {shorten(str(scenario), 80)}")
        written[name] = _save_png(fig, out_dir / f"{name}.png")
    return written


# --------------------------------------------------------------------------- plots


def plot_coverage_map(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Map of the fraction of time each place is served by a beam, with coastlines.

    Handsets on a regular layout are averaged into cells about 1.5 handset
    spacings tall and as wide in kilometres (so wider in longitude toward the
    poles); few or irregular handsets are drawn as coloured dots. Longitudes
    are unwrapped across the antimeridian.
    """
    df = _table(tables, "handsets")
    if df is None:
        return None
    lat, lon, served = (_floats(df, c) for c in ("lat_deg", "lon_deg", "served_fraction"))
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon, served = lat[ok], _unwrap_lon(lon[ok]), 100.0 * served[ok]
    if len(lat) == 0:
        return None
    fig, ax = _figure(8.0, 5.2)
    spacing_deg, regular = _handset_spacing_deg(lat, lon)
    cell_deg = 1.5 * spacing_deg
    style = {"cmap": "viridis", "norm": Normalize(0.0, 100.0)}
    if regular and len(lat) >= MIN_HANDSETS_FOR_GRID:
        verts, means = _cell_means(lat, lon, served, cell_deg)
        art = ax.add_collection(PolyCollection(verts, array=means, edgecolors="face",
                                               linewidths=0.3, **style))
        how = f"mean in {cell_deg:.2g}° cells"
        lon, lat = verts[..., 0].ravel(), verts[..., 1].ravel()
    else:
        art = ax.scatter(lon, lat, c=served, s=18, edgecolors="none", plotnonfinite=False,
                         **style)
        how = "one dot each"
    margin = max(0.3 * cell_deg, 0.5)
    box = (max(lat.min() - margin, -90.0), min(lat.max() + margin, 90.0),
           lon.min() - margin, min(lon.max() + margin, lon.min() - margin + 360.0))
    note = coastlines.draw_coastlines(ax, *box)
    _map_axes(ax, box)
    fig.suptitle(f"Time served by a beam, {len(served):,} handsets ({how})")
    if note:
        ax.set_title(note, fontsize=9)
    fig.colorbar(art, ax=ax, label="time served (%)", shrink=0.8)
    return fig


def plot_gap_cdf(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """CDF of coverage gap durations (no satellite above the mask), log time axis.

    Two curves: gaps that start and end inside the run, and all gaps including
    those cut by the run's start or end (censored, so their true length is
    longer than drawn).
    """
    df = _table(tables, "gaps")
    if df is None:
        return None
    duration = _floats(df, "duration_s")
    censored = _bools(df, "censored")
    if not np.any(duration > 0):
        return None
    fig, ax = _figure(7.0, 4.5)
    for label, values in (("gaps inside the run", duration[~censored]),
                          ("all gaps, incl. cut by run start/end", duration)):
        _ecdf(ax, values, label, median_unit="s")
    ax.set_xscale("log")
    ax.set_xlabel("gap duration (s)")
    ax.set_ylabel("fraction of gaps ≤ duration")
    fig.suptitle(f"Coverage gap durations: {len(duration):,} gaps, "
                 f"{int(censored.sum()):,} cut by the run's start or end")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_sms_latency_cdf(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """CDFs of delivered SMS latency: MO vs MT, and covered at arrival vs arrived in a gap.

    Each curve is over the delivered messages of its group; its legend gives
    the group's size and the share not delivered (expired or still in flight
    at the end of the run).
    """
    df = _table(tables, "sms")
    if df is None:
        return None
    latency = _floats(df, "latency_s")
    delivered = (df["outcome"].astype(str).to_numpy() == "delivered") & np.isfinite(latency)
    direction = df["direction"].astype(str).to_numpy()
    covered = _bools(df, "covered_at_arrival")
    fig = Figure(figsize=(11.0, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    groups = (
        (("MO (phone to network)", direction == "MO"),
         ("MT (network to phone)", direction == "MT")),
        (("covered at arrival", covered), ("arrived in a coverage gap", ~covered)),
    )
    positive = latency[delivered & (latency > 0)]
    for ax, pair in zip(axes, groups):
        for label, member in pair:
            n = int(member.sum())
            if n == 0:
                continue
            lost = 1.0 - delivered[member].mean()
            _ecdf(ax, latency[member & delivered],
                  f"{label}: {n:,} messages, {format_percent(lost)} undelivered")
        _log_or_symlog(ax, positive, len(positive) < delivered.sum())
        if not delivered.any():
            _no_data(ax, "no message delivered")
        ax.set_xlabel("delivery latency (s)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("fraction of delivered messages ≤ latency")
    axes[0].set_title("by direction", fontsize=10)
    axes[1].set_title("by coverage when the message arrived", fontsize=10)
    fig.suptitle(f"SMS delivery latency: {int(delivered.sum()):,} of {len(df):,} delivered "
                 f"({format_percent(1.0 - delivered.mean())} undelivered)")
    return fig


def plot_samples(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Downlink SINR and serving satellite over time for a few sampled handsets.

    One panel per handset (at most :data:`MAX_SAMPLE_PANELS`): SINR in dB on
    the left axis, the serving satellite's index as dots on the right axis (a
    jump is a handover), and time steps without service shaded grey.
    """
    df = _table(tables, "samples")
    if df is None:
        return None
    handsets = np.unique(df["handset"].to_numpy())[:MAX_SAMPLE_PANELS]
    positions = _handset_positions(tables)
    fig = Figure(figsize=(10.0, 1.0 + 2.4 * len(handsets)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(handsets), 1, sharex=True, squeeze=False)[:, 0])
    twins = []
    for ax, handset in zip(axes, handsets):
        rows = df[df["handset"].to_numpy() == handset].sort_values("time_s")
        twins.append(_sample_panel(ax, rows, handset, positions.get(handset)))
    handles, labels = (a + b for a, b in zip(axes[0].get_legend_handles_labels(),
                                             twins[0].get_legend_handles_labels()))
    axes[0].legend(handles, labels, loc="upper right", fontsize=8, ncols=3)
    axes[-1].set_xlabel("time since epoch (h)")
    fig.suptitle("Sampled handsets: downlink SINR and serving satellite")
    return fig


def plot_visible_over_time(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Satellites in view and the share of handsets served, over the run."""
    df = _table(tables, "timeseries")
    if df is None:
        return None
    df = df.sort_values("time_s")
    hours = _floats(df, "time_s") / _HOUR_S
    fig = Figure(figsize=(10.0, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(hours, _floats(df, "mean_visible"), lw=0.9, color="C0")
    top.set_ylabel("satellites above the mask\n(mean over handsets)")
    top.set_ylim(bottom=0)
    bottom.plot(hours, 100.0 * _floats(df, "visible_fraction"), lw=0.9, color="C1",
                label="a satellite above the mask")
    bottom.plot(hours, 100.0 * _floats(df, "served_fraction"), lw=0.9, color="C2",
                label="served by a beam")
    bottom.set_ylim(0, 100)
    bottom.yaxis.set_major_formatter(PercentFormatter())
    bottom.set_ylabel("handsets (%)")
    bottom.set_xlabel("time since epoch (h)")
    bottom.legend(loc="lower right", fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.suptitle("Satellites in view and handsets served over time")
    return fig


def plot_voice_data(tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Voice call outcomes (bars) and data session throughput (CDF), whichever exist."""
    calls, sessions = _table(tables, "calls"), _table(tables, "sessions")
    if calls is None and sessions is None:
        return None
    panels = [p for p in (calls, sessions) if p is not None]
    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, len(panels))))
    if calls is not None:
        _call_outcomes(axes.pop(0), calls)
    if sessions is not None:
        _session_throughput(axes.pop(0), sessions)
    fig.suptitle("Voice calls and data sessions")
    return fig


#: Plot name -> function drawing it from the tables (None when it has no data).
PLOTTERS: dict[str, Callable[[Mapping[str, pd.DataFrame]], Figure | None]] = {
    "coverage_map": plot_coverage_map,
    "gap_cdf": plot_gap_cdf,
    "sms_latency_cdf": plot_sms_latency_cdf,
    "samples": plot_samples,
    "visible_over_time": plot_visible_over_time,
    "voice_data": plot_voice_data,
}


# --------------------------------------------------------------------------- panels


def _sample_panel(ax, rows: pd.DataFrame, handset, position):
    """One handset's SINR, serving satellite and unserved steps on ``ax``.

    Returns the twin Axes holding the serving satellite.
    """
    hours = _floats(rows, "time_s") / _HOUR_S
    sinr = _floats(rows, "dl_sinr_db")
    sat = _floats(rows, "serving_sat")
    served = _floats(rows, "status") == 0
    step_h = float(np.median(np.diff(hours))) if len(hours) > 1 else 1.0 / 360.0
    starts, stops = _runs(~served)
    ax.broken_barh([(hours[a], hours[b - 1] - hours[a] + step_h) for a, b in zip(starts, stops)],
                   (0, 1), transform=ax.get_xaxis_transform(), color="0.88", zorder=0,
                   label="not served")
    ax.plot(hours, sinr, lw=0.8, color="C0", label="DL SINR")
    ax.set_ylabel("DL SINR (dB)")
    right = ax.twinx()
    sat = np.where(served & (sat >= 0), sat, np.nan)
    right.plot(hours, sat, ".", ms=2.0, color="C3", label="serving satellite")
    right.set_ylabel("serving satellite (index)")
    if not np.isfinite(sat).any():
        right.set_yticks([])
    ax.grid(alpha=0.3)
    where = "" if position is None else f" at {_lat_text(position[0])} {_lon_text(position[1])}"
    changes = int(np.sum(np.diff(sat[np.isfinite(sat)]) != 0))
    ax.set_title(f"handset {handset}{where}: served {format_percent(served.mean())} of steps, "
                 f"{changes} serving-satellite changes", fontsize=9)
    return right


def _call_outcomes(ax, calls: pd.DataFrame) -> None:
    """Bar chart of voice call counts by outcome, labelled with their shares."""
    counts = calls["outcome"].astype(str).value_counts()
    order = [o for o in ("completed", "blocked", "dropped", "in_progress") if o in counts.index]
    order += sorted(set(counts.index) - set(order))
    values = counts[order].to_numpy()
    colors = {"completed": "C2", "blocked": "C1", "dropped": "C3", "in_progress": "C7"}
    bars = ax.bar(order, values, color=[colors.get(o, "C0") for o in order])
    shares = [f"{v:,} ({format_percent(v / values.sum())})" for v in values]
    ax.bar_label(bars, labels=shares, fontsize=8)
    ax.set_ylabel("calls")
    ax.set_xlabel("outcome")
    ax.set_title(f"Voice calls by outcome ({values.sum():,} offered)", fontsize=10)
    ax.margins(y=0.15)


def _session_throughput(ax, sessions: pd.DataFrame) -> None:
    """CDF of the throughput of completed data sessions."""
    tput = _floats(sessions, "throughput_kbps")
    completed = sessions["outcome"].astype(str).to_numpy() == "completed"
    values = tput[completed & (tput > 0)]
    if len(values) == 0:
        _no_data(ax, "no completed session")
    else:
        _ecdf(ax, values, f"{len(values):,} completed sessions", median_unit="kbit/s")
        ax.set_xscale("log")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("session throughput (kbit/s)")
    ax.set_ylabel("fraction of completed sessions ≤ throughput")
    ax.set_title(f"Data sessions: {int(completed.sum()):,} of {len(sessions):,} completed",
                 fontsize=10)


# --------------------------------------------------------------------------- helpers


def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The named table, or None when it is missing or empty; checks its columns."""
    df = (tables or {}).get(name)
    if df is None or len(df) == 0:
        return None
    missing = [c for c in TABLE_COLUMNS[name] if c not in df.columns]
    if missing:
        raise ValueError(
            f"results table {name!r} lacks column(s) {missing} needed for its plot "
            f"(it has {list(df.columns)}); write the table with columns "
            f"{list(TABLE_COLUMNS[name])}"
        )
    return df


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64, with NaN for missing or non-numeric values."""
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _bools(df: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column as a numpy bool array, missing values False."""
    return df[column].astype("boolean").to_numpy(dtype=bool, na_value=False)


def _figure(width_in: float, height_in: float):
    """A new Figure with one Axes, constrained layout."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig, fig.add_subplot()


def _save_png(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG through a temporary file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=_DPI)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: Most points an empirical CDF is drawn with.
_ECDF_POINTS = 5000


def _ecdf(ax, values: np.ndarray, label: str, median_unit: str | None = None) -> None:
    """Draw the empirical CDF of the finite ``values`` as a step line.

    With ``median_unit`` the label gets the median in that unit. With no
    finite value the line is empty but keeps its legend entry.
    """
    finite = values[np.isfinite(values)]
    # one step per distinct value (gap durations are whole steps: a day's
    # millions of gaps become a few dozen points), then at most _ECDF_POINTS
    # points, every k-th (the drawn CDF is off by at most k / n)
    x, counts = np.unique(finite, return_counts=True)
    y = np.cumsum(counts) / max(len(finite), 1)
    if len(x) > _ECDF_POINTS:
        keep = np.unique(np.r_[np.arange(0, len(x), -(-len(x) // _ECDF_POINTS)), len(x) - 1])
        x, y = x[keep], y[keep]
    if median_unit and len(finite):
        label += f", median {format_number(float(np.median(finite)))} {median_unit}"
    ax.step(np.r_[x[:1], x], np.r_[[0.0] * min(len(x), 1), y], where="post", label=label)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, which="both")


def _no_data(ax, text: str) -> None:
    """Say in the middle of an empty panel why it is empty."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.3")


def _log_or_symlog(ax, positive: np.ndarray, has_zeros: bool) -> None:
    """Log x axis for positive data; symmetric-log (linear below 1) when zeros occur."""
    if has_zeros:
        ax.set_xscale("symlog", linthresh=1.0)
    elif len(positive):
        ax.set_xscale("log")


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the runs of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _unwrap_lon(lon_deg: np.ndarray) -> np.ndarray:
    """Longitudes shifted by 360° where that makes a set spanning the antimeridian compact."""
    if len(lon_deg) == 0 or np.ptp(lon_deg) <= 180.0:
        return lon_deg
    shifted = np.where(lon_deg < 0.0, lon_deg + 360.0, lon_deg)
    return shifted if np.ptp(shifted) < np.ptp(lon_deg) else lon_deg


def _handset_spacing_deg(lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[float, bool]:
    """Median nearest-neighbour spacing of handsets (degrees of arc), and whether regular.

    Regular means the nearest-neighbour distances vary by less than 30 %
    (coefficient of variation), as on a grid; random layouts give ~50 %.
    """
    from scipy.spatial import cKDTree

    if len(lat_deg) < 2:
        return 1.0, False
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    chord, _ = cKDTree(xyz).query(xyz, k=2)
    arc_deg = np.degrees(2.0 * np.arcsin(np.clip(chord[:, 1] / 2.0, 0.0, 1.0)))
    arc_deg = arc_deg[arc_deg > 0]
    if len(arc_deg) == 0:
        return 1.0, False
    spacing = float(np.median(arc_deg))
    return spacing, float(np.std(arc_deg) / np.mean(arc_deg)) < 0.3


def _cell_means(lat_deg: np.ndarray, lon_deg: np.ndarray, value: np.ndarray, cell_deg: float):
    """Mean of ``value`` over handsets in near-square cells ``cell_deg`` tall.

    Cells lie in latitude bands; each band's cells are ``cell_deg / cos(lat)``
    wide in longitude so that they are as wide as tall on the ground. Returns
    cell corners, shape ``(k, 4, 2)`` (lon, lat), and the means ``(k,)``, NaN
    for cells whose handsets have no finite value.
    """
    band = np.floor((lat_deg - lat_deg.min()) / cell_deg + 0.25)
    south = lat_deg.min() + (band - 0.25) * cell_deg
    width = cell_deg / np.maximum(np.cos(np.radians(south + 0.5 * cell_deg)), 0.05)
    column = np.floor((lon_deg - lon_deg.min()) / width + 0.25)
    cells = pd.DataFrame({"band": band, "column": column, "south": south, "width": width,
                          "value": value}).groupby(["band", "column"])
    means = cells["value"].mean().to_numpy()
    first = cells[["south", "width"]].first()
    south, width = first["south"].to_numpy(), first["width"].to_numpy()
    west = lon_deg.min() + (first.index.get_level_values("column").to_numpy() - 0.25) * width
    corners = np.stack([np.column_stack([west, south]),
                        np.column_stack([west + width, south]),
                        np.column_stack([west + width, south + cell_deg]),
                        np.column_stack([west, south + cell_deg])], axis=1)
    return corners, means


def _map_axes(ax, box: tuple[float, float, float, float]) -> None:
    """Limits, aspect (1/cos of the mid latitude) and degree tick labels of a map."""
    south, north, west, east = box
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / max(np.cos(np.radians(0.5 * (south + north))), 0.2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _lon_text(x, "g")))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: _lat_text(y, "g")))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")


def _handset_positions(tables: Mapping[str, pd.DataFrame]) -> dict:
    """Handset id -> (lat_deg, lon_deg) from the handsets table, if it has ids."""
    df = (tables or {}).get("handsets")
    if df is None or len(df) == 0 or not {"handset", "lat_deg", "lon_deg"} <= set(df.columns):
        return {}
    return {h: (la, lo) for h, la, lo in zip(df["handset"], _floats(df, "lat_deg"),
                                             _floats(df, "lon_deg"))}


def _lat_text(lat_deg: float, fmt: str = ".1f") -> str:
    """``38.5°N`` style latitude."""
    letter = "" if lat_deg == 0.0 else "S" if lat_deg < 0 else "N"
    return f"{abs(lat_deg):{fmt}}°{letter}"


def _lon_text(lon_deg: float, fmt: str = ".1f") -> str:
    """``98°W`` style longitude, wrapped into [-180, 180)."""
    lon_deg = (lon_deg + 180.0) % 360.0 - 180.0
    letter = "" if lon_deg in (0.0, -180.0) else "W" if lon_deg < 0 else "E"
    return f"{abs(lon_deg):{fmt}}°{letter}"
