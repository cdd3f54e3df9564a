"""Read CCSDS Orbit Mean-Elements Messages (OMM) into a :class:`Constellation`.

An OMM carries the same SGP4 mean elements as a TLE, as named fields rather
than fixed columns, and without the TLE's 5-digit catalog-number limit. The
format is CCSDS 502.0-B-3, "Orbit Data Messages" (Blue Book, 2023); CelesTrak
publishes its GP data as OMM in JSON, CSV and XML (CelesTrak, "A New Way to
Obtain GP Data", https://celestrak.org/NORAD/documentation/gp-data-formats.php).

Supported layouts, chosen by file extension or ``format=``:

* ``json``: a list of objects (one per satellite) keyed by the OMM field
  names, values as numbers or strings (CelesTrak ``FORMAT=JSON``);
* ``csv``: a header row of OMM field names, one row per satellite
  (CelesTrak ``FORMAT=CSV``);
* ``xml``: CCSDS NDM/OMM XML, one ``<segment>`` per satellite holding
  ``<metadata>`` and ``<data>`` with ``<meanElements>`` and
  ``<tleParameters>`` (CelesTrak ``FORMAT=XML``).

The element conversion is python-sgp4's (:mod:`sgp4.omm`); this module
checks every record first and reports each bad one with its position (JSON
record index, CSV line, XML segment index), the field and the value, with
the same whole-file-or-refuse discipline as :mod:`satsim.orbits.tle`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from sgp4 import omm as sgp4_omm
from sgp4.api import SGP4_ERRORS, Satrec

from ..errors import FileFormatError, InputError, SkippedEntriesWarning
from .constellation import Constellation
from .tle import catalog_number, check_on_error, plural, read_text_file, source_name

__all__ = ["OMM_FORMATS", "REQUIRED_FIELDS", "OmmFormatError", "OmmProblem", "load_omm"]

#: Supported formats and the file extensions that select them.
OMM_FORMATS = {"json": (".json",), "csv": (".csv",), "xml": (".xml",)}

_FLOAT_FIELDS = (
    "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER", "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT",
)
_INT_FIELDS = ("EPHEMERIS_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH")
_TEXT_FIELDS = ("OBJECT_NAME", "OBJECT_ID", "CLASSIFICATION_TYPE")

#: Fields every OMM record must have (CelesTrak's column order).
REQUIRED_FIELDS = (
    "OBJECT_NAME", "OBJECT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
    "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "BSTAR",
    "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT",
)

#: Optional metadata fields and the only value SGP4 elements can have.
_METADATA_EXPECTED = {
    "MEAN_ELEMENT_THEORY": "SGP4",
    "REF_FRAME": "TEME",
    "TIME_SYSTEM": "UTC",
    "CENTER_NAME": "EARTH",
}

_FLOAT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")
_EPOCH_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z|\+00:00)?"
)
_EPOCH_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # what sgp4.omm.initialize parses


@dataclass(frozen=True)
class OmmProblem:
    """One bad record of an OMM file.

    Attributes
    ----------
    source : str
        The file the record came from.
    record : str
        Where it is: ``"record index 3 (OBJECT_NAME 'X')"`` (JSON, 0-based),
        ``"line 5"`` (CSV) or ``"segment index 2 (...)"`` (XML, 0-based).
    message : str
        Full explanation: file, position, field, value and how to fix it.
    field : str or None
        The offending field name(s), if one is to blame.
    """

    source: str
    record: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return self.message


class OmmFormatError(FileFormatError):
    """An OMM file has bad records; ``.problems`` lists every one of them."""


# ---------------------------------------------------------------------------
# field conversion
# ---------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, field: str | None, what: str):
        super().__init__(what)
        self.field = field
        self.what = what


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_float(name: str, value) -> float:
    if isinstance(value, bool):
        raise _Bad(name, f"field {name} has value {value!r}, which is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise _Bad(name, f"field {name} has value {value!r}, which is not a number")
    if not math.isfinite(number):
        raise _Bad(name, f"field {name} has value {value!r}, which is not a finite number")
    return number


def _as_int(name: str, value) -> int:
    if isinstance(value, bool):
        raise _Bad(name, f"field {name} has value {value!r}, which is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            return int(text)
        if name == "NORAD_CAT_ID" and len(text) == 5:
            number = catalog_number(text)  # alpha-5, e.g. "A0001"
            if number is not None:
                return number
    raise _Bad(name, f"field {name} has value {value!r}, which is not an integer")


def _as_epoch(value) -> str:
    """EPOCH in the exact form sgp4.omm.initialize parses."""
    text = value.strip() if isinstance(value, str) else None
    match = _EPOCH_RE.fullmatch(text) if text else None
    if match is not None:
        date, time, fraction = match.groups()
        fraction = ((fraction or "") + "000000")[:6]
        normalised = f"{date}T{time}.{fraction}"
        try:
            datetime.strptime(normalised, _EPOCH_FORMAT)
            return normalised
        except ValueError:
            pass
    raise _Bad(
        "EPOCH",
        f"field EPOCH has value {value!r}, which is not a UTC date and time like "
        "'2025-10-26T18:24:53.123456' (ISO 8601; fractional seconds and a trailing "
        "'Z' are optional)",
    )


def _convert(fields: dict) -> tuple[dict, str]:
    """Check one record; return (fields for sgp4.omm.initialize, name).

    Raises ``_Bad`` listing every problem of the record at once (joined).
    """
    missing = [f for f in REQUIRED_FIELDS if fields.get(f) is None]
    missing += [f for f in REQUIRED_FIELDS
                if f not in _TEXT_FIELDS and f not in missing and _is_blank(fields.get(f))]
    bad: list[_Bad] = []
    if missing:
        bad.append(_Bad(
            ", ".join(missing),
            f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(an OMM record for SGP4 needs all of: {', '.join(REQUIRED_FIELDS)})",
        ))
    out: dict = {}
    for name in _FLOAT_FIELDS:
        if name not in missing:
            try:
                out[name] = _as_float(name, fields[name])
            except _Bad as exc:
                bad.append(exc)
    for name in _INT_FIELDS:
        if name not in missing:
            try:
                out[name] = _as_int(name, fields[name])
            except _Bad as exc:
                bad.append(exc)
    if "EPOCH" not in missing:
        try:
            out["EPOCH"] = _as_epoch(fields["EPOCH"])
        except _Bad as exc:
            bad.append(exc)
    for name in _TEXT_FIELDS:
        if name not in missing:
            value = fields[name]
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                bad.append(_Bad(name, f"field {name} has value {value!r}, which is not text"))
            else:
                out[name] = str(value).strip()

    # ranges
    checks = (
        ("ECCENTRICITY", lambda v: 0.0 <= v < 1.0, "must be >= 0 and < 1"),
        ("INCLINATION", lambda v: 0.0 <= v <= 180.0, "must be between 0 and 180 degrees"),
        ("MEAN_MOTION", lambda v: v > 0.0, "must be > 0 revolutions per day"),
        ("NORAD_CAT_ID", lambda v: 0 < v <= 339999, "must be between 1 and 339999"),
        ("EPHEMERIS_TYPE", lambda v: 0 <= v <= 9, "must be a single digit (0 for SGP4)"),
    )
    for name, ok, rule in checks:
        if name in out and not ok(out[name]):
            bad.append(_Bad(name, f"field {name} has value {fields[name]!r}, which {rule}"))
    if "CLASSIFICATION_TYPE" in out:
        cls = out["CLASSIFICATION_TYPE"] or "U"
        if len(cls) != 1:
            bad.append(_Bad("CLASSIFICATION_TYPE",
                            f"field CLASSIFICATION_TYPE has value {fields['CLASSIFICATION_TYPE']!r}, "
                            "which is not a single letter (U, C or S)"))
        out["CLASSIFICATION_TYPE"] = cls
    for name, expected in _METADATA_EXPECTED.items():
        value = fields.get(name)
        if not _is_blank(value) and str(value).strip().upper() != expected:
            bad.append(_Bad(name, f"field {name} is {value!r}, but SGP4 elements need "
                                  f"{expected}; these elements cannot be propagated with SGP4"))

    if bad:
        raise _Bad(
            ", ".join(b.field for b in bad if b.field),
            "; ".join(b.what for b in bad),
        )
    name = out["OBJECT_NAME"] or f"NORAD {out['NORAD_CAT_ID']}"
    return out, name


def _make_satrec(fields: dict) -> Satrec:
    sat = Satrec()
    try:
        sgp4_omm.initialize(sat, fields)
    except (ValueError, TypeError, KeyError) as exc:
        raise _Bad(None, f"sgp4 could not initialise the elements: {exc}") from None
    if sat.error != 0:
        reason = SGP4_ERRORS.get(sat.error, "unknown error")
        raise _Bad(None, f"SGP4 rejects the elements (error {sat.error}: {reason})")
    return sat


_FIX = ("correct the record (or re-download the file from its source), or pass "
        "on_error='skip' to load the other records without it")


# ---------------------------------------------------------------------------
# readers: each yields (position text, fields dict or _Bad)
# ---------------------------------------------------------------------------
def _json_records(text: str, source: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "an OMM JSON file is a list of objects keyed by OMM field names "
            "(as CelesTrak's FORMAT=JSON)"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(
            f"{source}: the JSON holds a {type(data).__name__}, not a list of OMM "
            "records; an OMM JSON file is a list of objects keyed by OMM field names"
        )
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            yield (f"record index {index}",
                   _Bad(None, f"record is a {type(record).__name__}, not an object of "
                              "OMM fields"))
            continue
        name = record.get("OBJECT_NAME")
        where = f"record index {index}"
        if isinstance(name, str) and name.strip():
            where += f" (OBJECT_NAME {name.strip()!r})"
        yield where, record


def _csv_records(text: str, source: str):
    reader = sgp4_omm.parse_csv(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise InputError(f"{source}: not a readable CSV file ({exc})") from None
    if not header:
        raise InputError(f"{source}: the CSV file is empty; it needs a header row of "
                         f"OMM field names ({', '.join(REQUIRED_FIELDS)})")
    header = [h.strip() if isinstance(h, str) else h for h in header]
    reader.fieldnames = header
    absent = [f for f in REQUIRED_FIELDS if f not in header]
    if absent:
        problem = OmmProblem(
            source, "line 1 (header)",
            f"{source}, line 1 (header): missing column{'s' if len(absent) > 1 else ''} "
            f"{', '.join(absent)}; an OMM CSV file needs a header row with all of: "
            f"{', '.join(REQUIRED_FIELDS)}. How to fix: export the file with CelesTrak's "
            "FORMAT=CSV, or add the columns.",
            ", ".join(absent),
        )
        raise OmmFormatError(problem.message, [problem])
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{source}, line {reader.line_num}: bad CSV ({exc})") from None
        where = f"line {reader.line_num}"
        if None in row:
            yield where, _Bad(None, f"the row has {len(header) + len(row[None])} values "
                                    f"but the header has {len(header)} columns")
            continue
        yield where, row


def _strip_namespace(element: ET.Element) -> None:
    for node in element.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]


def _xml_records(text: str, source: str):
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"{source}: invalid XML at line {line}, column {column + 1}: {exc}; an OMM "
            "XML file is a CCSDS NDM/OMM document (as CelesTrak's FORMAT=XML)"
        ) from None
    _strip_namespace(root)
    segments = root.findall(".//segment")
    if not segments:
        raise InputError(
            f"{source}: no <segment> element found; an OMM XML file holds one "
            "<segment> per satellite, each with <metadata> and <data> (containing "
            "<meanElements> and <tleParameters>)"
        )
    for index, segment in enumerate(segments):
        name = segment.findtext("metadata/OBJECT_NAME")
        where = f"segment index {index}"
        if name and name.strip():
            where += f" (OBJECT_NAME {name.strip()!r})"
        lacking = [
            tag for tag in ("metadata", "data", "data/meanElements", "data/tleParameters")
            if segment.find(tag) is None
        ]
        if lacking:
            yield where, _Bad(None, "the segment lacks "
                              + ", ".join(f"<{t.split('/')[-1]}>" for t in lacking)
                              + "; each segment needs <metadata> and <data> with "
                                "<meanElements> and <tleParameters>")
            continue
        # One segment at a time through python-sgp4's reader, so that one bad
        # segment cannot hide the others.
        wrapper = ET.Element("ndm")
        wrapper.append(segment)
        fields = next(iter(sgp4_omm.parse_xml(io.BytesIO(ET.tostring(wrapper)))))
        fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
        yield where, fields


_READERS = {"json": _json_records, "csv": _csv_records, "xml": _xml_records}


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def _format_of(path: str, format: str | None) -> str:
    supported = ", ".join(f"{k} ({', '.join(v)})" for k, v in OMM_FORMATS.items())
    if format is not None:
        key = str(format).lower().lstrip(".")
        if key not in OMM_FORMATS:
            raise InputError(f"unknown OMM format {format!r}; supported formats: {supported}")
        return key
    ext = os.path.splitext(path)[1].lower()
    for key, extensions in OMM_FORMATS.items():
        if ext in extensions:
            return key
    raise InputError(
        f"{path}: cannot tell the OMM format from the extension {ext or '(none)'!r}; "
        f"supported formats: {supported}. Rename the file or pass format='json', "
        "'csv' or 'xml'"
    )


def load_omm(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    on_error: str = "raise",
    name_contains=None,
    norad_ids=None,
) -> Constellation:
    """Load a CCSDS OMM file (JSON, CSV or XML) into a :class:`Constellation`.

    Parameters
    ----------
    path : str or path-like
        The OMM file.
    format : {"json", "csv", "xml"}, optional
        The layout; by default taken from the file extension.
    on_error : {"raise", "skip"}
        ``"raise"`` refuses the whole file if any record is bad;
        ``"skip"`` loads the good records and issues one
        :class:`~satsim.errors.SkippedEntriesWarning` listing the bad ones.
    name_contains : str or list of str, optional
        Keep only satellites whose name contains this text (case-insensitive).
    norad_ids : iterable of int, optional
        Keep only these catalog numbers.

    Raises
    ------
    OmmFormatError
        If a record is bad (with ``on_error="raise"``) or none is valid; the
        message and ``.problems`` list every bad record.
    InputError
        If the file is missing, unreadable, not valid JSON/CSV/XML, has an
        unsupported extension, or the filters leave no satellite.
    """
    check_on_error(on_error)
    source = source_name(path)
    fmt = _format_of(source, format)
    text = read_text_file(path)

    satrecs, names, problems = [], [], []
    seen: dict[int, str] = {}
    for where, fields in _READERS[fmt](text, source):
        try:
            if isinstance(fields, _Bad):
                raise fields
            converted, name = _convert(fields)
            number = converted["NORAD_CAT_ID"]
            if number in seen:
                raise _Bad("NORAD_CAT_ID",
                           f"duplicate NORAD_CAT_ID {number}: the same satellite is "
                           f"already at {seen[number]}; keep one record per satellite")
            sat = _make_satrec(converted)
        except _Bad as exc:
            problems.append(OmmProblem(
                source, where, f"{source}, {where}: {exc.what}. How to fix: {_FIX}.",
                exc.field,
            ))
            continue
        seen[number] = where
        satrecs.append(sat)
        names.append(name)

    if not satrecs and not problems:
        raise InputError(f"{source}: no OMM records found; the file holds no satellite")
    if problems and (on_error == "raise" or not satrecs):
        if satrecs:
            head = (f"{source}: {plural(len(problems), 'bad OMM record')}; the whole "
                    f"file was refused. Fix them, or pass on_error='skip' to load the "
                    f"{plural(len(satrecs), 'good record')} without them.")
        else:
            head = f"{source}: no valid OMM record; {plural(len(problems), 'bad record')}:"
        body = "\n".join(f"  {p.message}" for p in problems)
        raise OmmFormatError(f"{head}\n{body}", problems)
    if problems:
        listing = "\n".join(f"  {p.message}" for p in problems)
        warnings.warn(
            SkippedEntriesWarning(
                f"{source}: skipped {plural(len(problems), 'bad OMM record')}, loaded "
                f"{plural(len(satrecs), 'satellite')}:\n{listing}"
            ),
            stacklevel=2,
        )
    constellation = Constellation(tuple(satrecs), tuple(names), source=source)
    if name_contains is not None or norad_ids is not None:
        constellation = constellation.select(name_contains=name_contains, norad_ids=norad_ids)
    return constellation
