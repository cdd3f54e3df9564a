"""Tests of the CCSDS OMM reader (satsim.orbits.omm)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sgp4.exporter import export_omm

from satsim.errors import InputError, SkippedEntriesWarning
from satsim.orbits.omm import REQUIRED_FIELDS, OmmFormatError, load_omm
from satsim.orbits.tle import load_tle, parse_tle

DTC_FILE = "starlink_dtc_2025-300.tle"

# The same two (fictional, realistic) satellites as TLE lines and as OMM
# records: the OMM values are the TLE fields written out in full.
TLE_TEXT = """TESTSAT-1 [DTC]
1 90001U 25001A   25299.50000000  .00016717  00000+0  30000-3 0  9997
2 90001  53.0540 120.1234 0001234  90.0000 270.0000 15.70000000 12343
TESTSAT-3
1 90003U 24100C   25298.75000000  .00000500  00000+0  45000-4 0  9994
2 90003  97.6000  10.5000 0011000 200.0000 160.0000 15.20000000 98761
"""

HANDMADE_RECORDS = [
    {   # numbers, as CelesTrak writes them; epoch without fractional seconds
        "OBJECT_NAME": "TESTSAT-1 [DTC]",
        "OBJECT_ID": "2025-001A",
        "EPOCH": "2025-10-26T12:00:00",
        "MEAN_MOTION": 15.7,
        "ECCENTRICITY": 0.0001234,
        "INCLINATION": 53.054,
        "RA_OF_ASC_NODE": 120.1234,
        "ARG_OF_PERICENTER": 90,
        "MEAN_ANOMALY": 270.0,
        "EPHEMERIS_TYPE": 0,
        "CLASSIFICATION_TYPE": "U",
        "NORAD_CAT_ID": 90001,
        "ELEMENT_SET_NO": 999,
        "REV_AT_EPOCH": 1234,
        "BSTAR": 0.0003,
        "MEAN_MOTION_DOT": 0.00016717,
        "MEAN_MOTION_DDOT": 0,
    },
    {   # every value a string; epoch with a trailing 'Z'
        "OBJECT_NAME": "TESTSAT-3",
        "OBJECT_ID": "2024-100C",
        "EPOCH": "2025-10-25T18:00:00.000Z",
        "MEAN_MOTION": "15.2",
        "ECCENTRICITY": "0.0011",
        "INCLINATION": "97.6",
        "RA_OF_ASC_NODE": "10.5",
        "ARG_OF_PERICENTER": "200",
        "MEAN_ANOMALY": "160.0",
        "EPHEMERIS_TYPE": "0",
        "CLASSIFICATION_TYPE": "U",
        "NORAD_CAT_ID": "90003",
        "ELEMENT_SET_NO": "999",
        "REV_AT_EPOCH": "9876",
        "BSTAR": "4.5e-05",
        "MEAN_MOTION_DOT": "0.000005",
        "MEAN_MOTION_DDOT": "0",
    },
]

_METADATA = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
             "MEAN_ELEMENT_THEORY")
_MEAN_ELEMENTS = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                  "ARG_OF_PERICENTER", "MEAN_ANOMALY")
_TLE_PARAMETERS = ("EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO",
                   "REV_AT_EPOCH", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")


# ---------------------------------------------------------------------------
# fixture writers
# ---------------------------------------------------------------------------
def _text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def write_json(path, records):
    path.write_text(json.dumps(records, indent=1))
    return path


def write_csv(path, records):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(REQUIRED_FIELDS), extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _text(v) for k, v in record.items()})
    return path


def write_xml(path, records, *, drop=()):
    """Minimal CCSDS NDM/OMM XML, one <segment> per record."""
    ndm = ET.Element("ndm")
    omm = ET.SubElement(ndm, "omm", id="CCSDS_OMM_VERS", version="2.0")
    header = ET.SubElement(omm, "header")
    ET.SubElement(header, "CREATION_DATE").text = "2025-10-27T00:00:00"
    ET.SubElement(header, "ORIGINATOR").text = "satsim tests"
    body = ET.SubElement(omm, "body")
    for record in records:
        record = {"CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC",
                  "MEAN_ELEMENT_THEORY": "SGP4", **record}
        segment = ET.SubElement(body, "segment")
        metadata = ET.SubElement(segment, "metadata")
        data = ET.SubElement(segment, "data")
        groups = [(metadata, _METADATA),
                  (ET.SubElement(data, "meanElements"), _MEAN_ELEMENTS)]
        if "tleParameters" not in drop:
            groups.append((ET.SubElement(data, "tleParameters"), _TLE_PARAMETERS))
        for parent, names in groups:
            for name in names:
                if name in record:
                    ET.SubElement(parent, name).text = _text(record[name])
    ET.ElementTree(ndm).write(path, encoding="UTF-8", xml_declaration=True)
    return path


WRITERS = {"json": write_json, "csv": write_csv, "xml": write_xml}


def max_distance_km(a, b, days: float) -> float:
    """Largest position difference of two constellations at a's epochs + days."""
    worst = 0.0
    for sa, sb in zip(a.satrecs, b.satrecs):
        ea, ra, _ = sa.sgp4(sa.jdsatepoch + days, sa.jdsatepochF)
        eb, rb, _ = sb.sgp4(sa.jdsatepoch + days, sa.jdsatepochF)
        assert ea == eb == 0
        worst = max(worst, float(np.linalg.norm(np.subtract(ra, rb))))
    return worst


def raise_error(path, **kwargs) -> OmmFormatError:
    with pytest.raises(OmmFormatError) as info:
        load_omm(path, **kwargs)
    return info.value


# ---------------------------------------------------------------------------
# hand-made data (always run)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv", "xml"])
def test_handmade_records_match_the_tle(tmp_path, fmt):
    path = WRITERS[fmt](tmp_path / f"hand.{fmt}", HANDMADE_RECORDS)
    c = load_omm(path)
    tle = parse_tle(TLE_TEXT)
    assert c.names == ("TESTSAT-1 [DTC]", "TESTSAT-3")
    assert c.norad_ids.tolist() == [90001, 90003]
    assert c.source == str(path)
    np.testing.assert_allclose(c.epoch_jd, tle.epoch_jd, rtol=0, atol=1e-9)
    for days in (0.0, 1.0):
        assert max_distance_km(tle, c, days) < 1e-3


def test_format_argument_and_extension_case(tmp_path):
    odd = write_json(tmp_path / "elements.txt", HANDMADE_RECORDS)
    assert len(load_omm(odd, format="json")) == 2
    assert len(load_omm(odd, format="JSON")) == 2
    upper = write_csv(tmp_path / "ELEMENTS.CSV", HANDMADE_RECORDS)
    assert len(load_omm(upper)) == 2


def test_single_json_object_and_filters(tmp_path):
    path = write_json(tmp_path / "one.json", HANDMADE_RECORDS[0])
    assert load_omm(path).names == ("TESTSAT-1 [DTC]",)
    both = write_json(tmp_path / "two.json", HANDMADE_RECORDS)
    assert load_omm(both, name_contains="[dtc]").norad_ids.tolist() == [90001]
    assert load_omm(both, norad_ids=[90003]).names == ("TESTSAT-3",)
    with pytest.raises(InputError, match="no satellite matches"):
        load_omm(both, norad_ids=[1])


def test_alpha5_catalog_number_and_blank_name(tmp_path):
    record = dict(HANDMADE_RECORDS[1], NORAD_CAT_ID="A0003", OBJECT_NAME="")
    c = load_omm(write_json(tmp_path / "a5.json", [record]))
    assert c.norad_ids.tolist() == [100003]
    assert c.names == ("NORAD 100003",)


def test_xml_with_namespace(tmp_path):
    path = write_xml(tmp_path / "plain.xml", HANDMADE_RECORDS)
    text = path.read_text().replace("<ndm>", '<ndm xmlns="urn:ccsds:recommendation:navigation:schema:ndmxml">')
    assert "xmlns=" in text
    ns = tmp_path / "ns.xml"
    ns.write_text(text)
    assert load_omm(ns).names == load_omm(path).names


# ---------------------------------------------------------------------------
# real snapshot (skips when the shared data is absent)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv", "xml"])
def test_real_snapshot_as_omm_matches_tle(shared_tle_dir, tmp_path, fmt):
    tle = load_tle(shared_tle_dir / DTC_FILE)
    records = [export_omm(sat, name) for sat, name in zip(tle.satrecs, tle.names)]
    c = load_omm(WRITERS[fmt](tmp_path / f"dtc.{fmt}", records))
    assert len(c) == 653
    assert c.names == tle.names
    np.testing.assert_array_equal(c.norad_ids, tle.norad_ids)
    assert max_distance_km(tle, c, 0.0) < 1e-3
    assert max_distance_km(tle, c, 1.0) < 1e-3


# ---------------------------------------------------------------------------
# bad records
# ---------------------------------------------------------------------------
def _bad_records():
    good = HANDMADE_RECORDS[0]
    no_mean_motion = {k: v for k, v in good.items() if k != "MEAN_MOTION"}
    no_mean_motion.update(OBJECT_NAME="NO-MM", NORAD_CAT_ID=90011)
    bad_ecc = dict(good, OBJECT_NAME="BAD-ECC", NORAD_CAT_ID=90012, ECCENTRICITY="0.0o1")
    bad_epoch = dict(good, OBJECT_NAME="BAD-EPOCH", NORAD_CAT_ID=90013, EPOCH="2025-13-40T00:00:00")
    return [HANDMADE_RECORDS[1], no_mean_motion, bad_ecc, good, bad_epoch]


def test_json_bad_records_are_all_listed(tmp_path):
    path = write_json(tmp_path / "bad.json", _bad_records())
    err = raise_error(path)
    assert [p.field for p in err.problems] == ["MEAN_MOTION", "ECCENTRICITY", "EPOCH"]
    msg = str(err)
    assert str(path) in msg and "3 bad OMM records" in msg and "2 good records" in msg
    missing, ecc, epoch = (p.message for p in err.problems)
    assert "record index 1 (OBJECT_NAME 'NO-MM')" in missing
    assert "missing field MEAN_MOTION" in missing and ", ".join(REQUIRED_FIELDS) in missing
    assert "record index 2 (OBJECT_NAME 'BAD-ECC')" in ecc
    assert "field ECCENTRICITY has value '0.0o1', which is not a number" in ecc
    assert "record index 4 (OBJECT_NAME 'BAD-EPOCH')" in epoch
    assert "field EPOCH has value '2025-13-40T00:00:00'" in epoch
    for problem in err.problems:
        assert problem.message in msg


def test_json_skip_mode(tmp_path):
    path = write_json(tmp_path / "bad.json", _bad_records())
    with pytest.warns(SkippedEntriesWarning) as rec:
        c = load_omm(path, on_error="skip")
    assert len(rec) == 1
    text = str(rec[0].message)
    assert "skipped 3 bad OMM records, loaded 2 satellites" in text
    assert "record index 1" in text and "record index 2" in text and "record index 4" in text
    assert c.names == ("TESTSAT-3", "TESTSAT-1 [DTC]")


def test_csv_bad_records_give_line_numbers(tmp_path):
    records = _bad_records()
    records[1]["MEAN_MOTION"] = ""  # an empty cell is a missing value
    path = write_csv(tmp_path / "bad.csv", records)
    err = raise_error(path)
    assert [p.record for p in err.problems] == ["line 3", "line 4", "line 6"]
    assert "line 3: missing field MEAN_MOTION" in err.problems[0].message
    assert "ECCENTRICITY" in err.problems[1].message and "EPOCH" in err.problems[2].message


def test_csv_header_missing_a_column(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("OBJECT_NAME,EPOCH\nX,2025-10-26T12:00:00\n")
    err = raise_error(path)
    assert "line 1 (header)" in str(err) and "MEAN_MOTION" in str(err)


def test_csv_row_with_extra_values(tmp_path):
    path = write_csv(tmp_path / "extra.csv", HANDMADE_RECORDS)
    lines = path.read_text().splitlines()
    lines[1] += ",surplus"
    path.write_text("\n".join(lines) + "\n")
    err = raise_error(path)
    assert [p.record for p in err.problems] == ["line 2"]
    assert "18 values but the header has 17 columns" in str(err)


def test_xml_bad_segments(tmp_path):
    records = _bad_records()
    path = write_xml(tmp_path / "bad.xml", records)
    err = raise_error(path)
    assert [p.field for p in err.problems] == ["MEAN_MOTION", "ECCENTRICITY", "EPOCH"]
    assert "segment index 1 (OBJECT_NAME 'NO-MM')" in err.problems[0].message
    assert "segment index 4 (OBJECT_NAME 'BAD-EPOCH')" in err.problems[2].message
    lacking = write_xml(tmp_path / "lacking.xml", HANDMADE_RECORDS, drop=("tleParameters",))
    err = raise_error(lacking)
    assert len(err.problems) == 2 and "no valid OMM record" in str(err)
    assert "segment index 0" in str(err) and "lacks <tleParameters>" in str(err)


def test_out_of_range_and_theory_checks(tmp_path):
    good = HANDMADE_RECORDS[0]
    records = [
        dict(good, NORAD_CAT_ID=1, ECCENTRICITY=1.2),
        dict(good, NORAD_CAT_ID=2, INCLINATION="-3"),
        dict(good, NORAD_CAT_ID=3, MEAN_MOTION=0),
        dict(good, NORAD_CAT_ID=4, MEAN_ELEMENT_THEORY="SGP4-XP"),
        dict(good, NORAD_CAT_ID=5, ELEMENT_SET_NO="12.5"),
        dict(good, NORAD_CAT_ID=6),
    ]
    err = raise_error(write_json(tmp_path / "range.json", records))
    fields = [p.field for p in err.problems]
    assert fields == ["ECCENTRICITY", "INCLINATION", "MEAN_MOTION", "MEAN_ELEMENT_THEORY",
                      "ELEMENT_SET_NO"]
    assert "which must be >= 0 and < 1" in err.problems[0].message
    assert "SGP4-XP" in err.problems[3].message


def test_sgp4_error_and_duplicates(tmp_path):
    good = HANDMADE_RECORDS[0]
    underground = dict(good, NORAD_CAT_ID=7, ECCENTRICITY=0.9, MEAN_ANOMALY=0.0)
    err = raise_error(write_json(tmp_path / "dup.json", [good, underground, good]))
    assert len(err.problems) == 2
    assert "SGP4 rejects the elements (error 6" in err.problems[0].message
    assert "record index 2" in err.problems[1].message
    assert "duplicate NORAD_CAT_ID 90001" in err.problems[1].message
    assert "record index 0" in err.problems[1].message


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"OBJECT_NAME": "X",\n   "EPOCH" "2025"}\n]\n')
    with pytest.raises(InputError, match=r"invalid JSON at line 3, column 12") as info:
        load_omm(path)
    assert str(path) in str(info.value)


def test_invalid_xml_names_line(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<ndm>\n<omm>\n</ndm>\n")
    with pytest.raises(InputError, match=r"invalid XML at line 3"):
        load_omm(path)


def test_unknown_extension_and_format(tmp_path):
    path = write_json(tmp_path / "elements.kvn", HANDMADE_RECORDS)
    with pytest.raises(InputError, match=r"supported formats: json \(\.json\), csv"):
        load_omm(path)
    with pytest.raises(InputError, match="unknown OMM format 'kvn'"):
        load_omm(path, format="kvn")


def test_missing_file_empty_file_and_on_error(tmp_path):
    with pytest.raises(InputError, match="file not found: .*nope.json; check the path"):
        load_omm(tmp_path / "nope.json")
    with pytest.raises(InputError, match="no OMM records found"):
        load_omm(write_json(tmp_path / "empty.json", []))
    with pytest.raises(InputError, match="must be one of 'raise', 'skip'"):
        load_omm(write_json(tmp_path / "ok.json", HANDMADE_RECORDS), on_error="warn")
    with pytest.raises(InputError, match="not a list of OMM records"):
        load_omm(write_json(tmp_path / "str.json", "hello"))
