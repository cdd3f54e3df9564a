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
from collections.abc import Callable, Mapping
from pathlib import Path
from textwrap import shorten

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .._atomic import atomic_write_with
from . import coastlines
from .report import format_number, format_percent

#: Columns each plot reads from a table; other columns are ignored.
TABLE_COLUMNS = {
    "handsets": ("lat_deg", "lon_deg", "served_fraction"),
    "timeseries": ("time_s", "mean_visible", "served_fraction", "visible_fraction"),
    # (the samples plot also reads p10_sinr_db, p50_sinr_db, p90_sinr_db if present)
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
               out_dir: str | os.PathLike, removed: list | None = None) -> dict[str, Path]:
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
        The PNG of a plot that has no data now is removed (an older run's
        picture must not pass for this one's).
    removed : list, optional
        Receives the names of the plots whose old PNG was removed.

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
            stale = out_dir / f"{name}.png"
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
                if removed is not None:
                    removed.append(name)
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
    gridded = regular and len(lat) >= MIN_HANDSETS_FOR_GRID
    if gridded:
        verts, means = _cell_means(lat, lon, served, cell_deg)
    lo, hi = _colour_range(means if gridded else served)
    style = {"cmap": "viridis", "norm": Normalize(lo, hi)}
    if gridded:
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
    fig.colorbar(art, ax=ax, shrink=0.8, extend="neither",
                 label=f"time served (%), scale {lo:g} to {hi:g} % (the data's range)")
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
    for (label, values), style in zip(
            ((f"{int((~censored).sum()):,} gaps inside the run", duration[~censored]),
             ((f"{int(censored.sum()):,} gaps cut by the run's start or end (observed "
               "length, truly longer)"), duration[censored])), _CURVE_STYLES):
        if len(values):
            _ecdf(ax, values, label, median_unit="s", **style)
    ax.set_xscale("log")
    ax.set_xlabel("gap duration (s)")
    ax.set_ylabel("fraction of gaps ≤ duration")
    fig.suptitle(f"Service gap durations (no beam serving the handset): {len(duration):,} "
                 "gaps")
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
        for (label, member), style in zip(pair, _CURVE_STYLES):
            n = int(member.sum())
            if n == 0:
                continue
            lost = 1.0 - delivered[member].mean()
            _ecdf(ax, latency[member & delivered],
                  f"{label}: {n:,} messages, {format_percent(lost)} undelivered", **style)
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
    """What service looks like over the run, and up close for a few handsets.

    Top: the share of all handsets served by a beam (and with a satellite above
    the mask) over the run; below it the downlink SINR of the served handsets,
    10th to 90th percentile band and median (from the ``timeseries`` table,
    smoothed over :data:`SMOOTH_S`; the mean when the table has no
    percentiles). Then one panel per sampled handset (at most
    :data:`MAX_SAMPLE_PANELS`) over a window of :data:`WINDOW_STEPS` steps
    (the whole run if shorter), placed where the sampled handsets' service
    changes most and shaded on the top panels: SINR coloured by serving
    satellite (a colour change is a handover, also marked by a dotted line)
    and a strip coloured by why the handset was not served.
    """
    df = _table(tables, "samples")
    if df is None:
        return None
    series = (tables or {}).get("timeseries")
    if series is not None and (len(series) == 0 or not {"time_s", "served_fraction"}
                               <= set(series.columns)):
        series = None
    handsets = np.unique(df["handset"].to_numpy())[:MAX_SAMPLE_PANELS]
    positions = _handset_positions(tables)
    rows = {h: df[df["handset"].to_numpy() == h].sort_values("time_s") for h in handsets}
    window = _busiest_window(list(rows.values()))
    n_top = 2 if series is not None else 0
    fig = Figure(figsize=(10.0, 1.2 + 2.3 * n_top + 1.9 * len(handsets)), layout="constrained")
    axes = fig.subplots(n_top + len(handsets), 1, squeeze=False)[:, 0]
    if series is not None:
        _population_panels(axes[0], axes[1], series.sort_values("time_s"), window)
    for k, (ax, h) in enumerate(zip(axes[n_top:], handsets)):
        _sample_panel(ax, rows[h], h, positions.get(h), window, legend=k == 0)
        if k > 0:
            ax.sharex(axes[n_top])
    axes[-1].set_xlabel("time since epoch (h:mm)")
    span = (window[1] - window[0]) / 60.0
    fig.suptitle("Service over the run (all handsets) and up close for "
                 f"{len(handsets)} sampled handset{'s' if len(handsets) > 1 else ''} "
                 f"({span:,.0f} min window)")
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


#: Steps shown in each sampled handset's panel (20 minutes at 10 s: every step
#: stays a few pixels wide).
WINDOW_STEPS = 120
#: Smoothing of the all-handset curves of the samples plot, seconds.
SMOOTH_S = 600.0
#: Colours of the reasons a handset is not served (link.timeline status codes).
STATUS_COLOURS = {0: ("served", "C2"), 1: ("no satellite", "0.55"), 2: ("no beam", "C1"), 3: ("low SINR", "C4"),
                  4: ("Doppler", "C6"), 5: ("delay", "C5"), 6: ("uplink Doppler", "C9"),
                  7: ("Doppler rate", "C8")}


def _busiest_window(panels: list) -> tuple[float, float]:
    """(start_s, end_s) of :data:`WINDOW_STEPS` steps where the sampled handsets'
    serving satellite or status changes most (the whole run if it is shorter)."""
    times = np.unique(np.concatenate([_floats(r, "time_s") for r in panels]))
    if len(times) <= WINDOW_STEPS:
        return float(times[0]), float(times[-1])
    changes = np.zeros(len(times))
    for r in panels:
        t = _floats(r, "time_s")
        sat, status = _floats(r, "serving_sat"), _floats(r, "status")
        flip = np.r_[False, (np.diff(sat) != 0) | (np.diff(status) != 0)]
        np.add.at(changes, np.searchsorted(times, t[flip]), 1.0)
    counts = np.convolve(changes, np.ones(WINDOW_STEPS), mode="valid")
    start = int(np.argmax(counts))
    return float(times[start]), float(times[start + WINDOW_STEPS - 1])


def _smooth(values: np.ndarray, steps: int, how: str = "mean") -> np.ndarray:
    """Centred rolling mean / median over ``steps`` samples (NaN ignored)."""
    if steps <= 1:
        return values
    roll = pd.Series(values).rolling(steps, center=True, min_periods=1)
    return (roll.median() if how == "median" else roll.mean()).to_numpy()


def _population_panels(top, bottom, series: pd.DataFrame, window) -> None:
    """Share of handsets served / with a satellite in view, and SINR percentiles."""
    t = _floats(series, "time_s")
    hours = t / _HOUR_S
    step = float(np.median(np.diff(t))) if len(t) > 1 else SMOOTH_S
    k = max(1, round(SMOOTH_S / step)) if t[-1] - t[0] > 6 * SMOOTH_S else 1
    smoothed = f" ({SMOOTH_S / 60:g} min mean)" if k > 1 else ""
    for col, label, style in (("visible_fraction", "a satellite above the mask",
                               _CURVE_STYLES[1]),
                              ("served_fraction", "served by a beam", _CURVE_STYLES[0])):
        if col in series.columns:
            top.plot(hours, 100.0 * _smooth(_floats(series, col), k), label=label + smoothed,
                     **style)
    top.set_ylim(0, 100)
    top.yaxis.set_major_formatter(PercentFormatter())
    top.set_ylabel("handsets")
    top.legend(loc="lower left", fontsize=8, ncols=2)
    cols = ("p10_sinr_db", "p50_sinr_db", "p90_sinr_db")
    if set(cols) <= set(series.columns):
        p10, p50, p90 = (_smooth(_floats(series, c), k, "median") for c in cols)
        bottom.fill_between(hours, p10, p90, color="C0", alpha=0.25, lw=0,
                            label="10th to 90th percentile")
        bottom.plot(hours, p50, color="C0", lw=1.4, label="median")
    elif "mean_sinr_db" in series.columns:
        bottom.plot(hours, _smooth(_floats(series, "mean_sinr_db"), k, "median"), color="C0",
                    lw=1.4, label="mean")
    bottom.set_ylabel("DL SINR of served\nhandsets (dB)")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(loc="lower left", fontsize=8, ncols=2)
    for ax in (top, bottom):
        ax.axvspan(window[0] / _HOUR_S, window[1] / _HOUR_S, color="0.85", zorder=0,
                   label=None)
        ax.grid(alpha=0.3)
        ax.set_xlim(hours[0], hours[-1])
        ax.xaxis.set_major_formatter(FuncFormatter(_hours_minutes))
    top.set_title(f"all handsets, whole run{smoothed}; shaded: the window of the panels "
                  "below", fontsize=9)


def _hours_minutes(x: float, _pos=None) -> str:
    minutes = round(x * 60.0)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _sample_panel(ax, rows: pd.DataFrame, handset, position, window, legend: bool) -> None:
    """One handset over ``window``: SINR coloured by serving satellite, handovers
    dotted, and a strip coloured by why it was not served."""
    t_all = _floats(rows, "time_s")
    served_all = _floats(rows, "status") == 0
    inside = (t_all >= window[0]) & (t_all <= window[1])
    rows = rows[inside]
    hours = _floats(rows, "time_s") / _HOUR_S
    sinr = _floats(rows, "dl_sinr_db")
    sat = _floats(rows, "serving_sat")
    status = _floats(rows, "status")
    served = status == 0
    step_h = float(np.median(np.diff(hours))) if len(hours) > 1 else 1.0 / 360.0
    sat_served = np.where(served & (sat >= 0), sat, np.nan)
    seen = [s_ for s_ in pd.unique(sat_served[np.isfinite(sat_served)])]
    for j, sid in enumerate(seen):
        y = np.where(sat_served == sid, sinr, np.nan)
        ax.plot(hours, y, lw=1.3, marker=".", ms=4, color=f"C{j % 10}", label=None)
    finite_sats = sat_served[np.isfinite(sat_served)]
    change = np.flatnonzero(np.diff(finite_sats) != 0)
    t_served = hours[np.isfinite(sat_served)]
    for i in change:
        ax.axvline(0.5 * (t_served[i] + t_served[i + 1]), color="0.4", lw=0.6, ls=":",
                   alpha=0.7)
    for code, (name, colour) in STATUS_COLOURS.items():
        starts, stops = _runs(status == code)
        if len(starts):
            ax.broken_barh([(hours[a], hours[b - 1] - hours[a] + step_h)
                            for a, b in zip(starts, stops)], (0.0, 0.12),
                           transform=ax.get_xaxis_transform(), color=colour,
                           label=name if code == 0 else f"not served: {name}")
    if not np.isfinite(sinr[served]).any():
        _no_data(ax, "not served in this window")
    ax.set_ylabel("DL SINR (dB)")
    ax.grid(alpha=0.3)
    ax.set_xlim(window[0] / _HOUR_S, window[1] / _HOUR_S + step_h)
    ax.xaxis.set_major_formatter(FuncFormatter(_hours_minutes))
    ax.margins(y=0.25)
    where = "" if position is None else f" at {_lat_text(position[0])} {_lon_text(position[1])}"
    sats = ", ".join(str(int(x)) for x in seen[:6]) + (", ..." if len(seen) > 6 else "")
    ax.set_title(f"handset {handset}{where}: served {format_percent(served.mean())} of this "
                 f"window ({format_percent(served_all.mean())} of the run); {len(change)} "
                 f"handovers between satellites {sats or '(none)'}", fontsize=9)
    if legend:
        ax.plot([], [], color="0.3", lw=0.7, ls=":", label="handover")
        ax.plot([], [], color="C0", lw=1.3, label="SINR (colour: serving satellite)")
        ax.legend(loc="upper right", fontsize=7, ncols=3)


def _call_outcomes(ax, calls: pd.DataFrame) -> None:
    """Bar chart of voice call counts by outcome, labelled with their shares."""
    counts = calls["outcome"].astype(str).value_counts()
    order = [o for o in ("completed", "blocked", "dropped", "in_progress") if o in counts.index]
    order += sorted(set(counts.index) - set(order))
    values = counts[order].to_numpy()
    colors = {"completed": "C2", "blocked": "C1", "dropped": "C3", "in_progress": "C7"}
    bars = ax.bar(order, values, color=[colors.get(o, "C0") for o in order])
    # the summary's ratios: blocked of offered, dropped of admitted (offered - blocked)
    offered = int(values.sum())
    admitted = offered - int(counts.get("blocked", 0))
    shares = [f"{v:,} ({format_percent(v / admitted)} of admitted)" if o == "dropped" and admitted
              else f"{v:,} ({format_percent(v / offered)} of offered)"
              for o, v in zip(order, values)]
    ax.bar_label(bars, labels=shares, fontsize=8)
    ax.set_ylabel("calls")
    ax.set_xlabel("outcome")
    ax.set_title(f"Voice calls by outcome ({offered:,} offered, {admitted:,} admitted); drop "
                 "ratio = dropped / admitted", fontsize=10)
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
    """The named table, or None when it is missing or empty; checks its columns. A
    table kept in a file (``run.spool``: ``tables.path_of``) is read for the plot's
    columns only (the gaps of a national day are ~17 M rows)."""
    path = tables.path_of(name) if hasattr(tables, "path_of") else None
    if path is not None:
        have = pq.read_schema(path).names
        df = pd.read_parquet(path, columns=[c for c in TABLE_COLUMNS[name] if c in have])
    else:
        df = (tables or {}).get(name)
        have = [] if df is None else list(df.columns)
    if df is None or len(df) == 0:
        return None
    missing = [c for c in TABLE_COLUMNS[name] if c not in have]
    if missing:
        raise ValueError(
            f"results table {name!r} lacks column(s) {missing} needed for its plot "
            f"(it has {have}); write the table with columns "
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
    """Save ``fig`` as PNG through a temporary file and ``os.replace`` (mode
    0666 & ~umask, like every other file of a results folder)."""
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=_DPI))
    return path


#: Most points an empirical CDF is drawn with.
_ECDF_POINTS = 5000


#: Line styles of the curves compared in one panel: colour, dash and width differ,
#: so overlapping curves stay apart (and apart in grey print).
_CURVE_STYLES = ({"color": "C0", "linestyle": "-", "linewidth": 1.8},
                 {"color": "C3", "linestyle": "--", "linewidth": 1.4},
                 {"color": "C2", "linestyle": ":", "linewidth": 1.6})


def _colour_range(values_pct: np.ndarray) -> tuple[float, float]:
    """A colour scale that follows the data (percent): its min and max rounded
    outward, at least 1 point wide, within 0..100."""
    v = np.asarray(values_pct, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 100.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1.0:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5, mid + 0.5
    step = 10.0 ** np.floor(np.log10(max(hi - lo, 1e-9))) / 2.0
    lo, hi = np.floor(lo / step) * step, np.ceil(hi / step) * step
    lo, hi = max(lo, 0.0), min(hi, 100.0)
    if hi - lo < 1.0:
        lo, hi = (max(hi - 1.0, 0.0), hi) if hi >= 1.0 else (0.0, 1.0)
    return float(round(lo, 6)), float(round(hi, 6))


def _ecdf(ax, values: np.ndarray, label: str, median_unit: str | None = None,
          **style) -> None:
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
    ax.step(np.r_[x[:1], x], np.r_[[0.0] * min(len(x), 1), y], where="post", label=label,
            **style)
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
