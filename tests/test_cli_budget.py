"""``satsim budget``: TR 38.821 SC9 through the command line, and bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from satsim.cli import main

# TR 38.821 Table 6.1.3.3-1 SC9 (LEO-600, S-band, handheld, 30 deg), with the
# TR's printed atmospheric (0.1 dB) and scintillation (2.2 dB) rows as fixed values.
SC9_ARGS = ["budget", "--json", "--altitude-km", "600", "--elevation-deg", "30",
            "--bandwidth-mhz", "30", "--shadow-margin-db", "3", "--dl-freq-mhz", "2000",
            "--ul-freq-mhz", "2000", "--atmospheric-loss-db", "0.1",
            "--scintillation-loss-db", "2.2"]


def test_sc9_downlink_cnr_via_json():
    res = CliRunner().invoke(main, SC9_ARGS)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    dl = out["downlink"]
    assert dl["cnr_db"] == pytest.approx(6.6, abs=0.1)
    assert round(dl["eirp_dbw"] + 30.0, 1) == 78.8
    assert round(dl["fspl_db"], 1) == 159.1
    assert out["uplink"]["direction"] == "uplink"
    rows = {r["quantity"]: r for r in out["table"]}
    assert rows["CNR"]["downlink"] == "6.6"
    assert rows["Transmit EIRP"]["unit"] == "dBm (dBW)"


def test_defaults_print_a_table():
    res = CliRunner().invoke(main, ["budget"])
    assert res.exit_code == 0, res.output
    for text in ("Link budget", "Transmit EIRP", "Free-space path loss", "CNR", "Downlink",
                 "Uplink", "1.9925"):
        assert text in res.stdout


def test_help_has_an_example():
    res = CliRunner().invoke(main, ["budget", "--help"])
    assert res.exit_code == 0 and "Example" in res.stdout and "satsim budget" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["--bandwidth-mhz", "-5"], "--bandwidth-mhz must be a positive number"),
    (["--elevation-deg", "120"], "--elevation-deg must be in (0, 90]"),
    (["--shadow-margin-db", "-1"], "--shadow-margin-db must be a number of dB >= 0"),
    (["--altitude-km", "0"], "--altitude-km must be a positive number"),
    (["--eirp-density-dbw-mhz", "nan"], "eirp_density_dbw_mhz: Input should be a finite number"),
])
def test_bad_value_exits_2_with_a_message(args, message):
    res = CliRunner().invoke(main, ["budget", *args])
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr
