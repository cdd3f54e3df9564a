"""One self-contained HTML report of a run: summary, plots, scenario, metadata.

The page needs no other file and no network: the PNG plots are embedded as
base64 ``data:`` URIs, the style sheet is inline and there is no script. Every
string from the summary, the scenario or the metadata is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from .._atomic import atomic_write_text

#: Plot name -> one-line caption, in the order the report shows them.
CAPTIONS = {
    "coverage_map": "Share of the run's time in which handsets at each place were served by "
                    "a beam; the colour scale spans the data's range (read the colour bar); "
                    "coastlines from the GLOBE land/sea mask.",
    "gap_cdf": "Distribution of service gaps (no beam serving the handset, whatever the "
               "reason: no satellite above the mask, no usable beam, low SINR, Doppler or "
               "delay): gaps inside the run, and all gaps including those cut by its start "
               "or end (drawn at their observed, shorter length).",
    "sms_latency_cdf": "Delivery latency of the delivered SMS, by direction and by whether "
                       "the handset was covered when the message arrived; legends give the "
                       "share not delivered.",
    "samples": "Top: the share of all handsets served by a beam (and with a satellite above "
               "the mask), and the downlink SINR of served handsets (10th-90th percentile band "
               "and median), over the whole run. Below: a few sampled handsets step by step "
               "over a short window (shaded above): SINR coloured by serving satellite, "
               "handovers dotted, and a strip giving why each step was or was not served.",
    "visible_over_time": "Satellites above the mask (mean over handsets) and the share of "
                         "handsets with a satellite in view and served by a beam, over the run.",
    "voice_data": "Voice calls by outcome, and the throughput of completed data sessions.",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
p.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 0.2em 0.8em; text-align: left; vertical-align: top; }
tr.section th { background: #eef2f6; font-size: 1.05em; padding-top: 0.5em; }
td.value { font-variant-numeric: tabular-nums; }
table.meta td { font-family: ui-monospace, monospace; font-size: 0.85em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #444; font-size: 0.95em; margin-top: 0.3em; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


def write_report(summary: dict, metadata: dict, plots: Mapping[str, str | os.PathLike],
                 path: str | os.PathLike, scenario_yaml: str | None = None) -> Path:
    """Write the HTML report of a run, atomically, and return its path.

    Parameters
    ----------
    summary : dict
        The run summary (scenario, run, coverage, link, sms, voice, data, ...);
        missing keys and None values show as "n/a", a None sms/voice/data
        section as "off".
    metadata : dict
        Versions, seed, model editions, input hash...; nested dicts are shown
        with dotted keys.
    plots : mapping of str to path
        Plot name to PNG file, as returned by :func:`satsim.results.plots.make_plots`.
    path : path
        The HTML file to write (its folder must exist).
    scenario_yaml : str, optional
        The resolved scenario, shown verbatim.
    """
    path = Path(path)
    atomic_write_text(path, render_report(summary, metadata, plots, scenario_yaml))
    return path


def render_report(summary: dict, metadata: dict, plots: Mapping[str, str | os.PathLike],
                  scenario_yaml: str | None = None) -> str:
    """The HTML text of :func:`write_report`."""
    summary = summary or {}
    scenario = summary.get("scenario") or "unnamed scenario"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>satsim report: {_esc(scenario)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>satsim report: {_esc(scenario)}</h1>",
        f'<p class="sub">{_esc(_subtitle(summary))}</p>',
        "<h2>Summary</h2>",
        _summary_table(summary, metadata),
        "<h2>Plots</h2>",
        _figures(plots),
        "<h2>Scenario</h2>",
        f"<pre>{_esc(scenario_yaml)}</pre>" if scenario_yaml else "<p>Not recorded.</p>",
        "<h2>Metadata</h2>",
        _metadata_table(metadata),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- number formats


def format_number(value) -> str:
    """A number for people: thousands separated from 1,000 up, else 3 significant digits."""
    value = _finite(value)
    if value is None:
        return "n/a"
    if abs(value) >= 1000.0:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_count(value) -> str:
    """A whole count with thousands separators (``12,345``)."""
    value = _finite(value)
    return "n/a" if value is None else f"{round(value):,}"


def format_percent(fraction) -> str:
    """A fraction 0..1 as a percentage with one decimal (``28.0 %``; ``<0.1 %`` if tiny)."""
    fraction = _finite(fraction)
    if fraction is None:
        return "n/a"
    if 0.0 < fraction < 0.0005:
        return "<0.1 %"
    return f"{100.0 * fraction:.1f} %"


def format_seconds(seconds) -> str:
    """A duration in seconds, with minutes or hours added when long (``300 s (5.0 min)``)."""
    seconds = _finite(seconds)
    if seconds is None:
        return "n/a"
    text = f"{format_number(seconds)} s"
    if abs(seconds) >= 7200.0:
        return f"{text} ({seconds / 3600.0:.1f} h)"
    if abs(seconds) >= 120.0:
        return f"{text} ({seconds / 60.0:.1f} min)"
    return text


def format_db(value) -> str:
    """A level in dB with one decimal."""
    value = _finite(value)
    return "n/a" if value is None else f"{value:.1f} dB"


def format_kbps(value) -> str:
    """A throughput in kbit/s."""
    value = _finite(value)
    return "n/a" if value is None else f"{format_number(value)} kbit/s"


def _finite(value) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- summary table


def _text(value) -> str:
    return "n/a" if value is None else str(value)


def _percentiles(keys: tuple[str, ...], fmt):
    """Formatter of a dict of percentiles, e.g. ``{"p50": .., "p95": ..}``, joined by ' / '."""
    def format_dict(value) -> str:
        value = value if isinstance(value, Mapping) else {}
        return " / ".join(fmt(value.get(k)) for k in keys)
    return format_dict


#: Section title, summary key (None: top level), then (label, key path, formatter) rows.
SUMMARY_ROWS = (
    ("Run", None, (
        ("scenario", ("scenario",), _text),
        ("seed", ("seed",), _text),
        ("epoch (UTC)", ("run", "epoch"), _text),
        ("duration", ("run", "duration_s"), format_seconds),
        ("time step", ("run", "step_s"), format_seconds),
        ("satellites", ("run", "satellites"), format_count),
        ("handsets", ("run", "handsets"), format_count),
        ("beams per satellite", ("run", "beams_per_satellite"), format_count),
        ("Earth-fixed cells", ("run", "cells"), format_count),
        ("cell radius (km)", ("run", "cell_radius_km"), format_number),
        ("satsim version", ("satsim_version",), _text),
        ("element sets: age from the run, least / most (days)", ("run", "element_age_days"),
         _percentiles(("min", "max"), format_number)),
        ("satellites SGP4 failed for (decayed)", ("run", "satellites_failed"), format_count),
        ("wall time", ("wall_time_s",), format_seconds),
    )),
    ("Coverage", "coverage", (
        ("availability: time served by a beam", ("availability",), format_percent),
        ("time with a satellite above the mask", ("visible",), format_percent),
        ("satellites in view, mean", ("mean_visible",), format_number),
        ("service gap: median / 95th percentile / longest", ("gap_s",),
         _percentiles(("p50", "p95", "max"), format_seconds)),
        ("service gaps (not served by a beam)", ("gaps",), format_count),
        ("handovers per handset-hour", ("handovers_per_handset_hour",), format_number),
    )),
    ("Link", "link", (
        ("DL SINR when served: 10th / 50th / 90th percentile", ("dl_sinr_db",),
         _percentiles(("p10", "p50", "p90"), format_db)),
        ("DL SNR when served: 10th / 50th / 90th percentile", ("dl_snr_db",),
         _percentiles(("p10", "p50", "p90"), format_db)),
        ("UL SNR when served, whole carrier: 10th / 50th / 90th percentile", ("ul_snr_db",),
         _percentiles(("p10", "p50", "p90"), format_db)),
        ("UL SINR when served, whole carrier (other cells' phones interfering): 10th / 50th / "
         "90th percentile", ("ul_sinr_db",), _percentiles(("p10", "p50", "p90"), format_db)),
    )),
    ("SMS", "sms", (
        ("offered", ("offered",), format_count),
        ("delivered", ("delivered",), format_count),
        ("expired", ("expired",), format_count),
        ("in flight at the end", ("in_flight",), format_count),
        ("delivery ratio", ("delivery_ratio",), format_percent),
        ("latency: median / 90th / 99th percentile / longest", ("latency_s",),
         _percentiles(("p50", "p90", "p99", "max"), format_seconds)),
    )),
    ("Voice", "voice", (
        ("calls offered", ("offered",), format_count),
        ("blocked", ("blocked",), format_count),
        ("dropped", ("dropped",), format_count),
        ("completed", ("completed",), format_count),
        ("block ratio (of offered calls)", ("block_ratio",), format_percent),
        ("drop ratio (of admitted calls: offered - blocked)", ("drop_ratio",), format_percent),
        ("by the uplink alone (downlink usable): blocked / dropped", ("by_reason",),
         _percentiles(("low_uplink", "uplink_outage"), format_count)),
    )),
    ("Data", "data", (
        ("sessions", ("sessions",), format_count),
        ("completed", ("completed",), format_count),
        ("throughput: median / mean", ("throughput_kbps",),
         _percentiles(("p50", "mean"), format_kbps)),
        ("uploads (on the phone's uplink): sessions / completed", ("uploads",),
         _percentiles(("sessions", "completed"), format_count)),
        ("upload throughput: 10th percentile / median", ("uploads", "throughput_kbps"),
         _percentiles(("p10", "p50"), format_kbps)),
    )),
)


def summary_rows(summary: dict, metadata: dict | None = None) -> list[tuple[str, str, str]]:
    """The headline numbers as (section, label, formatted value) rows.

    A section whose summary entry is None reads "off"; a missing one "not
    reported". The link section adds one row per status in
    ``link.status_fraction`` (share of handset time steps). The wall time is
    read from ``metadata["timings_s"]["total"]`` (summary.json holds no timings).
    """
    summary = dict(summary or {})
    timings = (metadata or {}).get("timings_s") if isinstance(metadata, Mapping) else None
    if isinstance(timings, Mapping) and "wall_time_s" not in summary:
        summary["wall_time_s"] = timings.get("total")
    rows = []
    for section, key, entries in SUMMARY_ROWS:
        if key is not None and not isinstance(summary.get(key), Mapping):
            state = "off" if key in summary and summary[key] is None else "not reported"
            rows.append((section, "—", state))
            continue
        source = summary if key is None else summary[key]
        rows += [(section, label, fmt(_lookup(source, keys))) for label, keys, fmt in entries]
        if key == "link":
            status = source.get("status_fraction")
            for name, fraction in (status.items() if isinstance(status, Mapping) else ()):
                rows.append((section, f"handset time steps: {name}",
                             format_percent(fraction)))
    return rows


def _lookup(source, keys: tuple[str, ...]):
    """``source[k0][k1]...``, or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(source, Mapping):
            return None
        source = source.get(key)
    return source


def _summary_table(summary: dict, metadata: dict | None = None) -> str:
    lines, section = ['<table class="summary">'], None
    for name, label, value in summary_rows(summary, metadata):
        if name != section:
            section = name
            lines.append(f'<tr class="section"><th colspan="2">{_esc(name)}</th></tr>')
        lines.append(f'<tr><td>{_esc(label)}</td><td class="value">{_esc(value)}</td></tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _subtitle(summary: dict) -> str:
    """One line: seed, epoch, duration and step, satsim version (what is known of them)."""
    run = summary.get("run") if isinstance(summary.get("run"), Mapping) else {}
    known = (("seed", summary.get("seed"), _text), ("epoch", run.get("epoch"), _text),
             ("duration", run.get("duration_s"), format_seconds),
             ("step", run.get("step_s"), format_seconds),
             ("satsim", summary.get("satsim_version"), _text))
    return ", ".join(f"{label} {fmt(value)}" for label, value, fmt in known if value is not None)


# --------------------------------------------------------------------------- plots, metadata


def _figures(plots: Mapping[str, str | os.PathLike]) -> str:
    """``<figure>`` elements embedding each PNG as a data URI.

    Known plots first, in :data:`CAPTIONS` order, then any others by name.
    """
    plots = dict(plots or {})
    if not plots:
        return "<p>No plots.</p>"
    names = [n for n in CAPTIONS if n in plots] + sorted(set(plots) - set(CAPTIONS))
    figures = []
    for name in names:
        path = Path(plots[name])
        if not path.is_file():
            raise FileNotFoundError(
                f"plot {name!r}: {path} does not exist; pass the dict make_plots returned "
                "for the same results folder"
            )
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = CAPTIONS.get(name, name.replace("_", " "))
        figures.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(name)}">'
                       f"<figcaption>{_esc(caption)}</figcaption></figure>")
    return "\n".join(figures)


def _metadata_table(metadata: dict) -> str:
    rows = _flatten(metadata or {})
    if not rows:
        return "<p>Not recorded.</p>"
    body = "\n".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta">\n{body}\n</table>'


def _flatten(mapping: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as (dotted key, text) rows; lists and other values as JSON or str."""
    rows = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _flatten(value, name + ".")
        elif isinstance(value, str):
            rows.append((name, value))
        else:
            rows.append((name, json.dumps(value, default=str)))
    return rows


def _esc(value) -> str:
    return html.escape(str(value), quote=True)
