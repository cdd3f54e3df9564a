"""The inspect commands: ``satsim schema``, ``tle``, ``budget`` and ``coverage``,
quick looks at inputs and models without a full run.

A thin layer over the Python API. Exit codes: 0 success, 2 bad input (a
clear message, no traceback), 1 internal error.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import click
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..errors import InputError
from ..orbits import (
    DEFAULT_EPOCH,
    DEFAULT_MIN_ELEVATION_DEG,
    TimeGrid,
    conus_handsets,
    coverage,
    default_constellation,
    load_constellation,
)
from ..orbits.defaults import DEFAULT_HANDSET_SPACING_KM
from ._common import input_errors


@click.command("schema")
@click.option("--indent", type=int, default=2, show_default=True, help="JSON indentation.")
def schema_command(indent):
    """Print the JSON Schema of scenario files (for editor completion and checks).

    \b
    Example:
        satsim schema > satsim-scenario.schema.json
    """
    from ..scenario import Scenario

    schema = Scenario.model_json_schema()
    schema["title"] = "satsim scenario"
    click.echo(json.dumps(schema, indent=indent))


def _shells(constellation) -> list[tuple[float, float, int]]:
    """Group satellites into shells: altitude to 10 km, inclination to 0.5 degrees."""
    import numpy as np

    alt = np.round(constellation.altitude_km / 10.0) * 10.0
    inc = np.round(constellation.inclination_deg * 2.0) / 2.0
    keys, counts = np.unique(np.column_stack([alt, inc]), axis=0, return_counts=True)
    return sorted(((float(a), float(i), int(n)) for (a, i), n in zip(keys, counts)),
                  key=lambda x: -x[2])


#: ``satsim tle`` reports satellites that fail in SGP4 (decay) this soon after their epoch.
DECAY_HORIZON_DAYS = 7.0


def _decay_problems(con, days: float) -> list[str]:
    from ..orbits.propagation import SGP4_STATUS, decaying

    return [f"{con.names[i]}: SGP4 error {code} ({SGP4_STATUS.get(code, 'unknown')}) "
            f"{after:g} days after its epoch" for i, after, code in decaying(con, days)]


@click.command("tle")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--name-contains", default=None, help='Keep satellites whose name contains this.')
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def tle_command(file, name_contains, as_json):
    """What a TLE / OMM file holds: count, epochs, shells, problems found.

    Bad entries are listed (and skipped) rather than refused.

    \b
    Example:
        satsim tle starlink_dtc.tle --name-contains "[DTC]"
    """
    from ..errors import SkippedEntriesWarning

    with input_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = {"on_error": "skip"}
        if name_contains:
            kwargs["name_contains"] = name_contains
        con = load_constellation(file, **kwargs)
    problems = [str(w.message) for w in caught if issubclass(w.category, SkippedEntriesWarning)]
    decay = _decay_problems(con, DECAY_HORIZON_DAYS) if len(con) else []
    epochs = sorted(con.epoch_datetimes()) if len(con) else []
    shells = _shells(con) if len(con) else []
    info = {"file": str(file), "satellites": len(con),
            "epoch_first": epochs[0].isoformat() if epochs else None,
            "epoch_last": epochs[-1].isoformat() if epochs else None,
            "shells": [{"altitude_km": a, "inclination_deg": i, "satellites": n}
                       for a, i, n in shells],
            "problems": problems, "decaying": decay}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    console = Console()
    console.print(f"[bold]{file}[/]: {len(con)} satellites"
                  + (f", epochs {info['epoch_first']} .. {info['epoch_last']}" if epochs else ""))
    if shells:
        t = Table(title="Shells (altitude to 10 km, inclination to 0.5°)", title_justify="left")
        for col in ("altitude km", "inclination °", "satellites"):
            t.add_column(col, justify="right")
        for a, i, n in shells:
            t.add_row(f"{a:g}", f"{i:g}", f"{n}")
        console.print(t)
    if problems:
        console.print("[bold red]problems found[/] (entries skipped):")
        for p in problems:
            console.print(p, markup=False)
    if decay:
        console.print(f"[bold red]problems found[/]: {len(decay)} satellite(s) fail in SGP4 "
                      f"within {DECAY_HORIZON_DAYS:g} days of their epoch (a run after that "
                      "leaves them out):")
        for p in decay[:20]:
            console.print(f"  {p}", markup=False)
        if len(decay) > 20:
            console.print(f"  ... and {len(decay) - 20} more", markup=False)
    if not problems and not decay:
        console.print("no problems found")


@click.command("coverage")
@click.option("--tle", "tle_path", type=click.Path(dir_okay=False), default=None,
              help="Constellation file (TLE, or OMM .json/.csv/.xml) instead of the default.")
@click.option("--name-contains", default=None, help='Keep satellites whose name contains this, e.g. "[DTC]".')
@click.option("--epoch", default=None, help="Run start, ISO 8601 UTC (default 2025-10-27T00:00:00Z).")
@click.option("--hours", type=float, default=24.0, show_default=True, help="Run length, hours.")
@click.option("--step-s", type=float, default=10.0, show_default=True, help="Time step, seconds.")
@click.option("--min-elevation-deg", type=float, default=DEFAULT_MIN_ELEVATION_DEG,
              show_default=True, help="Elevation mask, degrees.")
@click.option("--handset-spacing-km", type=float, default=DEFAULT_HANDSET_SPACING_KM,
              show_default=True, help="Grid spacing of the handsets over CONUS, km.")
@click.option("--processes", type=int, default=1, show_default=True,
              help="Processes for SGP4 propagation.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def coverage_command(tle_path, name_contains, epoch, hours, step_s, min_elevation_deg,
                     handset_spacing_km, processes, as_json):
    """Geometric coverage only (satellites above the mask; no beams, no services).

    A quick look at a constellation over handsets across the contiguous US.
    With no options: the embedded default constellation (648
    Starlink-DTC-like satellites, ~3,000 handsets over CONUS, one day at 10 s).

    \b
    Example:
        satsim coverage --hours 6 --min-elevation-deg 30
        satsim coverage --tle starlink.tle --name-contains "[DTC]" --epoch 2025-10-27T00:00:00Z
    """
    console = Console(stderr=True, quiet=as_json)
    try:
        t_start = time.perf_counter()
        if tle_path:
            constellation = load_constellation(tle_path, name_contains=name_contains)
        else:
            if name_contains:
                raise InputError("--name-contains needs --tle FILE (the default is generated)")
            constellation = default_constellation()
        times = TimeGrid.from_duration(epoch or DEFAULT_EPOCH, hours * 3600.0, step_s)
        handsets = conus_handsets(handset_spacing_km)
        console.print(
            f"[bold]satsim {__version__}[/]: {len(constellation)} satellites, "
            f"{len(handsets)} handsets, {len(times)} steps of {step_s:g} s"
        )
        with console.status("propagating and computing visibility..."):
            cov = coverage(constellation, handsets, times, min_elevation_deg,
                           processes=processes)
        elapsed = time.perf_counter() - t_start
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    summary = _visible_names(cov.summary())
    summary.update(
        satsim_version=__version__,
        constellation=constellation.source,
        handsets_label=handsets.label,
        epoch=times.epoch.isoformat(),
        wall_time_s=round(elapsed, 3),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_report(Console(), summary, cov)


def _visible_names(summary: dict) -> dict:
    """The orbit layer's summary with its geometric "availability" keys named
    ``visible`` (a satellite above the mask), as in ``satsim run``'s summary,
    where ``availability`` is the fraction of handset-time served by a beam."""
    return {(k.replace("availability", "visible", 1) if k.startswith("availability") else k): v
            for k, v in summary.items()}


def _print_report(console: Console, s: dict, cov) -> None:
    head = Table(title="Coverage report", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    rows = [
        ("constellation", f"{s['satellites']} satellites: {s['constellation']}"),
        ("handsets", f"{s['handsets']} ({s['handsets_label']})"),
        ("run", f"{s['epoch']} + {s['duration_s'] / 3600:.3g} h, step {s['step_s']:g} s"),
        ("elevation mask", f"{s['min_elevation_deg']:g}°"),
        ("visible", (f"a satellite above the mask {100 * s['visible']:.2f} % of handset-time "
                     f"on average, {100 * s['visible_p5']:.2f} % at the 5th percentile "
                     f"handset, {100 * s['visible_min']:.2f} % worst (geometry only; `satsim "
                     "run` gives the share served by a beam)")),
        ("satellites in view", f"{s['mean_visible']:.2f} on average"),
        ("visibility gaps", (f"{s['gaps']} gaps; duration p50 {s['gap_s']['p50']:.0f} s, "
                             f"p95 {s['gap_s']['p95']:.0f} s, max {s['gap_s']['max']:.0f} s")),
        ("wall time", f"{s['wall_time_s']:.1f} s"),
    ]
    for k, v in rows:
        head.add_row(k, v)
    console.print(head)
    bands = cov.by_latitude(5.0)
    t = Table(title="By latitude band", title_justify="left")
    for col in ("latitude", "handsets", "visible", "sats in view", "longest gap"):
        t.add_column(col, justify="right")
    for band, row in bands.iterrows():
        t.add_row(f"{band}°", f"{int(row['handsets'])}", f"{100 * row['availability']:.2f} %",
                  f"{row['mean_visible']:.2f}", f"{row['max_gap_s']:.0f} s")
    console.print(t)


def _require(option: str, value, ok: bool, rule: str) -> None:
    if value is not None and not ok:
        raise InputError(f"{option} must be {rule}, got {value:g}")


@click.command("budget")
@click.option("--elevation-deg", type=float, default=30.0, show_default=True,
              help="Elevation of the satellite at the handset, degrees (TR 38.821 LEO: 30).")
@click.option("--altitude-km", type=float, default=600.0, show_default=True,
              help="Satellite altitude, km.")
@click.option("--bandwidth-mhz", type=float, default=None,
              help="Noise bandwidth, MHz  [default: the carrier's, 5 MHz].")
@click.option("--ul-bandwidth-mhz", type=float, default=None,
              help="Uplink noise bandwidth, MHz  [default: --bandwidth-mhz].")
@click.option("--dl-freq-mhz", type=float, default=None,
              help="Downlink carrier centre, MHz  [default: 1992.5, PCS G block].")
@click.option("--ul-freq-mhz", type=float, default=None,
              help="Uplink carrier centre, MHz  [default: 1912.5, PCS G block].")
@click.option("--eirp-density-dbw-mhz", type=float, default=None,
              help="Satellite EIRP density per beam, dBW/MHz  "
                   "[default: 34, TR 38.821 LEO-600 Set-1].")
@click.option("--gt-db-k", type=float, default=None,
              help="Satellite receive G/T (uplink), dB/K  [default: 1.1, TR 38.821 Set-1].")
@click.option("--shadow-margin-db", type=float, default=None,
              help="Shadowing margin, dB  [default: 0; TR 38.821 uses 3].")
@click.option("--atmospheric-loss-db", type=float, default=None,
              help="Fixed atmospheric loss, dB  [default: model, 0.035 dB / sin(elevation) below "
                   "6 GHz (TR 38.811), ITU-R P.676-12 from 6 GHz].")
@click.option("--scintillation-loss-db", type=float, default=None,
              help="Fixed scintillation loss, dB  [default: model, ionospheric below 6 GHz (2.2 dB "
                   "at 2 GHz, TR 38.811), ITU-R P.618-13 tropospheric from 6 GHz].")
@click.option("--polarization-loss-db", type=float, default=None,
              help="Handset polarization loss, dB  [default: 0].")
@click.option("--additional-loss-db", type=float, default=None,
              help="Additional losses, dB  [default: 0].")
@click.option("--json", "as_json", is_flag=True, help="Print the budget as JSON.")
def budget(elevation_deg, altitude_km, bandwidth_mhz, ul_bandwidth_mhz, dl_freq_mhz,
           ul_freq_mhz, eirp_density_dbw_mhz, gt_db_k, shadow_margin_db, atmospheric_loss_db,
           scintillation_loss_db, polarization_loss_db, additional_loss_db, as_json):
    """Downlink and uplink link budget at one geometry, laid out like TR 38.821 Table 6.1.3.3-1.

    Defaults: TR 38.821 LEO-600 Set-1 S-band satellite and handheld UE over
    the 5 MHz PCS G-block carrier, at 30 degrees elevation.

    \b
    Example:
        satsim budget
        satsim budget --bandwidth-mhz 30 --ul-bandwidth-mhz 0.36 --shadow-margin-db 3 \\
            --dl-freq-mhz 2000 --ul-freq-mhz 2000 --json
    """
    import dataclasses
    from dataclasses import asdict

    from ..link.budget import budget_table, link_budget
    from ..link.config import TR38821_SET1, Carrier, HandsetRadio, Propagation

    try:
        for option, value in (("--bandwidth-mhz", bandwidth_mhz),
                              ("--ul-bandwidth-mhz", ul_bandwidth_mhz),
                              ("--dl-freq-mhz", dl_freq_mhz), ("--ul-freq-mhz", ul_freq_mhz)):
            _require(option, value, value is not None and 0.0 < value < float("inf"),
                     "a positive number")
        for option, value in (("--shadow-margin-db", shadow_margin_db),
                              ("--atmospheric-loss-db", atmospheric_loss_db),
                              ("--scintillation-loss-db", scintillation_loss_db),
                              ("--polarization-loss-db", polarization_loss_db),
                              ("--additional-loss-db", additional_loss_db)):
            _require(option, value, value is not None and 0.0 <= value < float("inf"),
                     "a number of dB >= 0")
        _require("--elevation-deg", elevation_deg, 0.0 < elevation_deg <= 90.0, "in (0, 90]")
        _require("--altitude-km", altitude_km, 0.0 < altitude_km < float("inf"),
                 "a positive number")

        carrier_kw = {}
        if dl_freq_mhz is not None:
            carrier_kw["dl_center_mhz"] = dl_freq_mhz
        if ul_freq_mhz is not None:
            carrier_kw["ul_center_mhz"] = ul_freq_mhz
        carrier = Carrier(**carrier_kw)
        payload_kw = {}
        if eirp_density_dbw_mhz is not None:
            payload_kw["eirp_density_dbw_mhz"] = eirp_density_dbw_mhz
        if gt_db_k is not None:
            payload_kw["gt_db_k"] = gt_db_k
        payload = dataclasses.replace(TR38821_SET1, **payload_kw)
        handset = HandsetRadio()
        propagation = Propagation(
            polarization_loss_db=polarization_loss_db or 0.0,
            atmospheric=True if atmospheric_loss_db is None else atmospheric_loss_db,
            scintillation=True if scintillation_loss_db is None else scintillation_loss_db,
            shadow_margin_db=shadow_margin_db or 0.0,
            additional_loss_db=additional_loss_db or 0.0,
        )
        dl_bw_hz = None if bandwidth_mhz is None else bandwidth_mhz * 1e6
        ul_bw_hz = dl_bw_hz if ul_bandwidth_mhz is None else ul_bandwidth_mhz * 1e6
        args = (elevation_deg, altitude_km, carrier, payload, handset, propagation)
        dl = link_budget(*args, direction="downlink", bandwidth_hz=dl_bw_hz)
        ul = link_budget(*args, direction="uplink", bandwidth_hz=ul_bw_hz)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    rows = budget_table(dl, ul)
    if as_json:
        click.echo(json.dumps({
            "satsim_version": __version__,
            "altitude_km": altitude_km,
            "downlink": asdict(dl),
            "uplink": asdict(ul),
            "table": [dict(zip(("quantity", "unit", "downlink", "uplink"), r)) for r in rows],
        }, indent=2))
        return
    table = Table(title="Link budget (TR 38.821 Table 6.1.3.3-1 layout)", title_justify="left",
                  caption=f"{altitude_km:g} km orbit, {elevation_deg:g}° elevation, "
                          "TR 38.821 §6.1.3.1 CNR",
                  caption_justify="left")
    table.add_column("Quantity")
    table.add_column("Unit")
    table.add_column("Downlink", justify="right")
    table.add_column("Uplink", justify="right")
    for quantity, unit, down, up in rows:
        table.add_row(quantity, unit, down, up, style="bold" if quantity == "CNR" else None)
    Console().print(table)


COMMANDS = (schema_command, tle_command, budget, coverage_command)
