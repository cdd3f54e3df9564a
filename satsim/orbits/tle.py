"""Read two-line element sets (TLEs) into a :class:`Constellation`.

Format
------
A TLE is two fixed-width, 69-column lines (optionally preceded by a name
line) that give the mean elements of one satellite as fitted by the SGP4
theory. The column layout used by the checks below follows

* CelesTrak, "FAQs: Two-Line Element Set Format" (T.S. Kelso,
  https://celestrak.org/columns/v04n03/) and the Space-Track.org
  "Basic Description of the Two Line Element Set Format"
  (https://www.space-track.org/documentation#/tle);
* D.A. Vallado, P. Crawford, R. Hujsak and T.S. Kelso, "Revisiting
  Spacetrack Report #3", AIAA/AAS Astrodynamics Specialist Conference,
  AIAA 2006-6753 (2006), whose reference code python-sgp4 implements.

Both 2-line files (no name lines) and 3-line files (CelesTrak names such as
``STARLINK-11072 [DTC]``, or Space-Track 3LE names with a leading ``"0 "``)
are accepted, with LF or CRLF endings, blank lines and trailing whitespace.
Alpha-5 catalog numbers (``A0001`` = 100001) are accepted.

Validation
----------
python-sgp4's compiled ``Satrec.twoline2rv`` reads columns blindly: a
truncated line or a corrupted field can silently give a wrong orbit. So every
entry is checked here first (structure, line length, checksum, catalog
numbers, every numeric field, physical ranges, duplicates) and each problem
is reported with the file name, the line number, the line itself under the
column layout, and a suggested fix. A file is loaded whole or refused
(``on_error="raise"``), or its bad entries are skipped with one
:class:`~satsim.errors.SkippedEntriesWarning` (``on_error="skip"``).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass

from sgp4.api import SGP4_ERRORS, Satrec

from ..errors import FileFormatError, InputError, SkippedEntriesWarning
from .constellation import Constellation

__all__ = ["TleFormatError", "TleProblem", "load_tle", "parse_tle"]

#: Valid values of the ``on_error`` argument of the loaders.
ON_ERROR_VALUES = ("raise", "skip")

#: Length of a TLE data line (column 69 is the checksum).
TLE_LINE_LENGTH = 69

# Column layout of the two data lines, one character per column. Legend:
# N digit, s sign ('+', '-' or blank), C classification letter, A launch-piece
# letters, E ephemeris type, K checksum digit, '.' decimal point.
_LAYOUT = {
    1: "1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN s.NNNNNNNN sNNNNNsN sNNNNNsN E NNNNK",
    2: "2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNK",
}
_LEGEND = "N = digit, s = sign or blank, K = checksum digit, '.' = decimal point"
_RULER = (
    "".join(str(c // 10) if c % 10 == 0 else " " for c in range(1, TLE_LINE_LENGTH + 1)).rstrip(),
    "".join(str(c % 10) for c in range(1, TLE_LINE_LENGTH + 1)),
)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EXPONENT_FIELD_RE = re.compile(r"[ +-]\d{5}[+-]\d")
_CATALOG_RE = re.compile(r"[A-HJ-NP-Z]\d{4}| *\d+")
_OPTIONAL_INT_RE = re.compile(r" *\d*")

_FIX_REDOWNLOAD = "re-download the element set from its source"
_FIX_STRUCTURE = (
    "each satellite is an optional name line followed by its line 1 and then "
    "its line 2; restore the missing line or delete the leftover one"
)


@dataclass(frozen=True)
class TleProblem:
    """One problem found in a TLE file.

    Attributes
    ----------
    source : str
        The file (or ``"<string>"``) the text came from.
    line : int
        1-based line number of the offending line in the file.
    message : str
        Full explanation: file, line, what is wrong, the line under the
        column layout, and how to fix it.
    text : str
        The offending line as found (trailing whitespace removed).
    """

    source: str
    line: int
    message: str
    text: str

    @property
    def summary(self) -> str:
        """First line of :attr:`message`: file, line number and problem."""
        return self.message.split("\n", 1)[0]

    def __str__(self) -> str:
        return self.message


class TleFormatError(FileFormatError):
    """A TLE file has bad entries; ``.problems`` lists every one of them."""


# ---------------------------------------------------------------------------
# shared helpers (also used by the OMM reader)
# ---------------------------------------------------------------------------
def check_on_error(on_error) -> None:
    """Raise :class:`InputError` unless ``on_error`` is a valid value."""
    if on_error not in ON_ERROR_VALUES:
        raise InputError(
            f"on_error must be one of {', '.join(repr(v) for v in ON_ERROR_VALUES)} "
            f"('raise' refuses a file with any bad entry, 'skip' loads the good "
            f"entries and warns), got {on_error!r}"
        )


def source_name(path) -> str:
    """``path`` as text (a bytes path decoded), for messages and ``Constellation.source``."""
    source = os.fspath(path)
    return source if isinstance(source, str) else os.fsdecode(source)


def read_text_file(path) -> str:
    """Read a text file, turning OS errors into :class:`InputError`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError(f"file not found: {os.fspath(path)}; check the path") from None
    except IsADirectoryError:
        raise InputError(
            f"{os.fspath(path)} is a directory, not a file; give the path of the file"
        ) from None
    except PermissionError:
        raise InputError(
            f"cannot read {os.fspath(path)}: permission denied; check the file's permissions"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Names in old files may be Latin-1; data lines are ASCII either way
        # and non-ASCII characters in them are reported by the checks.
        return data.decode("latin-1")


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


# ---------------------------------------------------------------------------
# message building
# ---------------------------------------------------------------------------
def _problem(
    source: str,
    lineno: int,
    text: str,
    what: str,
    fix: str,
    *,
    kind: int | None = None,
    columns: tuple[int, int] | None = None,
    entry: str | None = None,
) -> TleProblem:
    """Build a :class:`TleProblem` with a full, self-explaining message.

    ``kind`` (1 or 2) prints the column layout of that line above the user's
    line; ``columns`` (0-based, end exclusive) marks the offending columns.
    """
    where = f"{source}, line {lineno}"
    if entry:
        where += f" (entry {entry!r})"
    out = [f"{where}: {what}"]
    pad = "    "
    if kind in _LAYOUT:
        out.append(
            f"{pad}TLE lines are fixed-width: every field must sit in its own columns. "
            f"Layout of line {kind} ({_LEGEND}), then your line:"
        )
        out.append(f"{pad}{'':11}{_RULER[0]}")
        out.append(f"{pad}{'column':11}{_RULER[1]}")
        out.append(f"{pad}{'layout':11}{_LAYOUT[kind]}")
    out.append(f"{pad}{'your line':11}{text}")
    if columns is not None:
        start, end = columns
        end = max(end, start + 1)
        out.append(f"{pad}{'':11}{' ' * start}{'^' * (end - start)}")
    out.append(f"{pad}How to fix: {fix}.")
    return TleProblem(source=source, line=lineno, message="\n".join(out), text=text)


def checksum(line: str) -> int:
    """Modulo-10 checksum of columns 1-68: digits add their value, '-' adds 1."""
    total = 0
    for ch in line[: TLE_LINE_LENGTH - 1]:
        if ch.isdigit() and ch.isascii():
            total += int(ch)
        elif ch == "-":
            total += 1
    return total % 10


def catalog_number(field: str) -> int | None:
    """Catalog number of a columns 3-7 field (alpha-5 aware), or None."""
    if not _CATALOG_RE.fullmatch(field):
        return None
    field = field.strip()
    if field[0].isalpha():
        letter = ord(field[0]) - ord("A") + 10
        letter -= (field[0] > "I") + (field[0] > "O")  # I and O are not used
        return letter * 10000 + int(field[1:])
    return int(field)


# ---------------------------------------------------------------------------
# structure: split the file into entries
# ---------------------------------------------------------------------------
@dataclass
class _Entry:
    name_line: tuple[int, str] | None
    line1: tuple[int, str]
    line2: tuple[int, str]

    @property
    def name(self) -> str | None:
        return _name_of(self.name_line)


def _name_of(name_line: tuple[int, str] | None) -> str | None:
    """Satellite name from a name line (None if absent or empty)."""
    if name_line is None:
        return None
    name = name_line[1]
    if name.startswith("0 "):  # Space-Track 3LE name line
        name = name[2:]
    return name.strip() or None


def _kind(text: str) -> int:
    """1 or 2 for a data line, 0 for anything else (a name line)."""
    if text.startswith("1 "):
        return 1
    if text.startswith("2 "):
        return 2
    return 0


def _kind_at(rows: list[tuple[int, str]], i: int) -> int | None:
    """:func:`_kind` of row ``i``, or None past the end of the file."""
    return _kind(rows[i][1]) if i < len(rows) else None


def _nonblank_rows(text: str) -> list[tuple[int, str]]:
    """(1-based line number, line) of every non-blank line, trailing whitespace removed."""
    rows = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if line:
            rows.append((number, line))
    return rows


def _split_entries(text: str, source: str) -> tuple[list[_Entry], list[list[TleProblem]]]:
    """Group the lines into entries; each misplaced line is a problem group of its own."""
    rows = _nonblank_rows(text)
    entries: list[_Entry] = []
    problems: list[list[TleProblem]] = []
    pending: tuple[int, str] | None = None  # a name line waiting for its line 1
    i = 0
    while i < len(rows):
        lineno, line = rows[i]
        kind = _kind(line)
        if kind == 0:
            if pending is not None:
                problems.append([_orphan_name(source, pending,
                                              f"line {lineno} is another name line")])
            pending = rows[i]
            i += 1
            continue
        if kind == 1 and _kind_at(rows, i + 1) == 2:
            entries.append(_Entry(pending, rows[i], rows[i + 1]))
            i += 2
        elif kind == 1:
            problems.append([_lone_line1(source, rows, i, _name_of(pending))])
            i += 1
        elif _kind_at(rows, i + 1) == 1 and rows[i + 1][1][2:7] == line[2:7]:
            problems.append([_swapped_lines(source, rows[i], rows[i + 1][0], _name_of(pending))])
            i += 2
        else:
            problems.append([_stray_line2(source, rows[i], pending)])
            i += 1
        pending = None
    if pending is not None:
        problems.append([_orphan_name(source, pending, "the file ends")])
    return entries, problems


def _orphan_name(source: str, name_line: tuple[int, str], after: str) -> TleProblem:
    """A name line not followed by its line 1 and line 2 (``after`` says what follows)."""
    return _problem(source, *name_line,
                    f"name line is not followed by TLE line 1 and line 2 ({after})",
                    _FIX_STRUCTURE)


def _lone_line1(source: str, rows: list[tuple[int, str]], i: int, name: str | None) -> TleProblem:
    """A line 1 (row ``i``) not followed by a line 2."""
    if i + 1 < len(rows):
        kinds = {0: "a name line", 1: "a line 1", 2: "a line 2"}
        after = f"line {rows[i + 1][0]} is {kinds[_kind(rows[i + 1][1])]}"
    else:
        after = "the file ends"
    return _problem(source, *rows[i], f"line 1 is not followed by its line 2 ({after})",
                    _FIX_STRUCTURE, kind=1, entry=name)


def _swapped_lines(source: str, line2: tuple[int, str], line1_no: int,
                   name: str | None) -> TleProblem:
    """A line 2 directly followed by the line 1 of the same satellite."""
    return _problem(
        source, *line2,
        f"line 2 comes before its line 1 (line {line1_no}): the two lines are "
        "in the wrong order",
        "put line 1 (starting '1 ') before line 2 (starting '2 '), or " + _FIX_REDOWNLOAD,
        kind=2, columns=(0, 1), entry=name,
    )


def _stray_line2(source: str, line2: tuple[int, str],
                 pending: tuple[int, str] | None) -> TleProblem:
    """A line 2 where a name line or a line 1 was expected."""
    what = "line 2 where a name line or a line 1 was expected"
    if pending is not None:
        what += f" (the name line {pending[0]} is not followed by a line 1)"
    else:
        what += " (no line 1 before it)"
    return _problem(source, *line2, what, _FIX_STRUCTURE,
                    kind=2, columns=(0, 1), entry=_name_of(pending))


# ---------------------------------------------------------------------------
# per-entry checks
# ---------------------------------------------------------------------------
# Each check takes ``report(what, fix, columns=None)``, made by _reporter for
# one data line, and calls it once per problem found.
_FIX_CHECKSUM = (
    "re-download the element set, or recompute the checksum (sum of the "
    "digits in columns 1-68, each '-' counting 1, modulo 10)"
)
_ECCENTRICITY_RE = re.compile(r"[ \d]*\d[ \d]*")


def _check_entry(entry: _Entry, source: str) -> list[TleProblem]:
    """Every problem of one entry: each line's form, the catalog numbers, then the fields."""
    problems: list[TleProblem] = []
    report1 = _reporter(problems, source, entry, 1)
    report2 = _reporter(problems, source, entry, 2)
    line1, line2 = entry.line1[1], entry.line2[1]
    full1 = _check_line_form(line1, 1, report1)
    full2 = _check_line_form(line2, 2, report2)
    _check_catalog_numbers(entry, report1, report2)
    if full1:
        _check_line1_fields(line1, report1)
    if full2:
        _check_line2_fields(line2, report2)
    return problems


def _reporter(problems: list[TleProblem], source: str, entry: _Entry, kind: int):
    """``report(what, fix, columns=None)``, adding a problem of line ``kind`` to ``problems``."""
    lineno, text = entry.line1 if kind == 1 else entry.line2
    name = entry.name

    def report(what: str, fix: str, columns: tuple[int, int] | None = None) -> None:
        problems.append(_problem(source, lineno, text, what, fix,
                                 kind=kind, columns=columns, entry=name))

    return report


def _check_line_form(line: str, kind: int, report) -> bool:
    """Characters, length and checksum of a data line; True if it is 69 columns long."""
    _check_ascii(line, kind, report)
    if not _check_length(line, kind, report):
        return False
    _check_checksum(line, report)
    return True


def _check_ascii(line: str, kind: int, report) -> None:
    """Report non-ASCII characters (e.g. a word processor's typographic marks)."""
    bad = [k for k, ch in enumerate(line) if not ch.isascii()]
    if bad:
        report(f"line {kind} contains non-ASCII character(s) {''.join(line[k] for k in bad)!r}",
               "TLE lines hold only ASCII letters, digits, spaces, '.', '+' and '-'; "
               "the file may have been converted by a word processor; " + _FIX_REDOWNLOAD,
               (bad[0], bad[-1] + 1))


def _check_length(line: str, kind: int, report) -> bool:
    """Report a line that is not exactly 69 columns long; True if it is."""
    if len(line) == TLE_LINE_LENGTH:
        return True
    short = len(line) < TLE_LINE_LENGTH
    report(f"line {kind} is {len(line)} characters long, expected exactly "
           f"{TLE_LINE_LENGTH} ({'truncated' if short else 'extra characters at the end'})",
           "TLE lines are exactly 69 columns (column 69 is the checksum); the line "
           "may have been cut, wrapped or joined; " + _FIX_REDOWNLOAD,
           (len(line), TLE_LINE_LENGTH) if short else (TLE_LINE_LENGTH, len(line)))
    return False


def _check_checksum(line: str, report) -> None:
    """Report a column 69 that is not the checksum of columns 1-68."""
    found = line[TLE_LINE_LENGTH - 1]
    expected = checksum(line)
    if not (found.isascii() and found.isdigit()):
        report(f"checksum column 69 holds {found!r}, not a digit (expected {expected})",
               _FIX_CHECKSUM, (68, 69))
    elif int(found) != expected:
        report(f"checksum mismatch: expected {expected} (computed from columns 1-68), "
               f"found {found} in column 69",
               _FIX_CHECKSUM + " if you edited the line on purpose", (68, 69))


def _check_catalog_numbers(entry: _Entry, report1, report2) -> None:
    """Report a malformed catalog number (columns 3-7) and lines of two satellites."""
    (lineno1, line1), (_, line2) = entry.line1, entry.line2
    number1 = _checked_catalog_number(line1, report1)
    number2 = _checked_catalog_number(line2, report2)
    if number1 is not None and number2 is not None and number1 != number2:
        report2(f"catalog number {line2[2:7].strip()} on line 2 differs from "
                f"{line1[2:7].strip()} on line 1 (line {lineno1}): the two lines belong to "
                "different satellites",
                "make sure each line 1 is directly followed by the line 2 of the same "
                "satellite; " + _FIX_REDOWNLOAD, (2, 7))


def _checked_catalog_number(line: str, report) -> int | None:
    """Catalog number in columns 3-7, reporting a malformed one (None if bad or absent)."""
    if len(line) < 7:
        return None
    field = line[2:7]
    number = catalog_number(field)
    if number is None:
        report(f"catalog number field {field!r} (columns 3-7) is not a catalog number",
               "columns 3-7 hold the catalog number: 5 digits, or a letter and 4 digits "
               "(alpha-5); " + _FIX_REDOWNLOAD, (2, 7))
    return number


#: Columns that must be blank (1-based; NORAD two-line element format, as in
#: CelesTrak's "NORAD Two-Line Element Set Format" and python-sgp4's template).
_BLANK_COLUMNS = {1: (2, 9, 18, 33, 44, 53, 62, 64), 2: (2, 8, 17, 26, 34, 43, 52)}


def _check_blank_columns(line: str, kind: int, report) -> None:
    """Report a character where the format has a blank separator: the fields on
    either side would be read shifted (python-sgp4 may then load NaN silently)."""
    for col in _BLANK_COLUMNS[kind]:
        if line[col - 1] != " ":
            report(f"column {col} must be blank (a field separator), found {line[col - 1]!r}",
                   "align the fields to the official column template (a character has "
                   "slipped into a separator)", columns=(col, col))


def _check_line1_fields(line: str, report) -> None:
    """Report malformed fields of a 69-column line 1."""
    _check_blank_columns(line, 1, report)
    _check_epoch(line, report)
    _check_decimal(line, 33, 43, "first derivative of mean motion (ndot/2)", report)
    _check_exponent(line, 44, 52, "second derivative of mean motion (nddot/6)", report)
    _check_exponent(line, 53, 61, "BSTAR drag term", report)
    _check_integer(line, 64, 68, "element set number", report)


def _check_line2_fields(line: str, report) -> None:
    """Report malformed or unphysical fields of a 69-column line 2."""
    _check_blank_columns(line, 2, report)
    _check_decimal(line, 8, 16, "inclination", report, low=0.0, high=180.0,
                   rule="0 <= inclination <= 180 degrees")
    _check_decimal(line, 17, 25, "right ascension of the ascending node", report)
    _check_eccentricity(line, report)
    _check_decimal(line, 34, 42, "argument of perigee", report)
    _check_decimal(line, 43, 51, "mean anomaly", report)
    _check_decimal(line, 52, 63, "mean motion", report, low=0.0, low_open=True,
                   rule="mean motion must be > 0 revolutions per day")
    _check_integer(line, 63, 68, "revolution number", report)


def _check_epoch(line: str, report) -> None:
    """Report an epoch (columns 19-32) that is not YYDDD.DDDDDDDD with 1 <= day < 367."""
    epoch = line[18:32]
    if not (epoch[:2].isdigit() and epoch[:2].isascii()
            and _NUMBER_RE.fullmatch(epoch[2:].strip())):
        report(f"epoch field {epoch!r} (columns 19-32) is not YYDDD.DDDDDDDD",
               "the epoch is a 2-digit year then the day of the year with its "
               "fraction; " + _FIX_REDOWNLOAD, (18, 32))
        return
    day = float(epoch[2:])
    if not 1.0 <= day < 367.0:
        report(f"epoch day of year {day:g} is out of range (1 <= day < 367)",
               "the epoch's day of the year counts from 1 on 1 January; " + _FIX_REDOWNLOAD,
               (20, 32))


def _check_decimal(line: str, start: int, end: int, label: str, report, *,
                   low=None, high=None, low_open=False, rule="") -> None:
    """Report a field that is not a decimal number, or is outside ``low``-``high``."""
    field = line[start:end]
    value_text = field.strip()
    if not _NUMBER_RE.fullmatch(value_text):
        report(f"{label} field {field!r} is not a number",
               f"the {label} must be a decimal number in these columns; " + _FIX_REDOWNLOAD,
               (start, end))
        return
    value = float(value_text)
    if not math.isfinite(value):  # pragma: no cover - regex excludes inf/nan
        return
    bad = (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and value > high
    )
    if bad:
        report(f"{label} {value:g} is out of range ({rule})",
               f"the element set is not physical; {_FIX_REDOWNLOAD}", (start, end))


def _check_exponent(line: str, start: int, end: int, label: str, report) -> None:
    """Report a field that is not in the ±NNNNN±N form (implied decimal point, exponent)."""
    field = line[start:end]
    if not _EXPONENT_FIELD_RE.fullmatch(field):
        report(f"bad exponent field for the {label}: {field!r} in columns "
               f"{start + 1}-{end} does not match the form ±NNNNN±N "
               "(sign or blank, 5 digits of mantissa with an implied leading "
               "decimal point, sign and 1 digit of exponent)",
               "write the value as e.g. ' 12345-4' for 0.12345e-4 or ' 00000+0' "
               "for zero; " + _FIX_REDOWNLOAD, (start, end))


def _check_integer(line: str, start: int, end: int, label: str, report) -> None:
    """Report a field that is not a right-aligned whole number (blank is allowed)."""
    field = line[start:end]
    if not _OPTIONAL_INT_RE.fullmatch(field):
        report(f"{label} {field!r} (columns {start + 1}-{end}) is not a number",
               _FIX_REDOWNLOAD, (start, end))


def _check_eccentricity(line: str, report) -> None:
    """Report an eccentricity (columns 27-33) that is not 7 digits with an implied '0.'."""
    field = line[26:33]
    if not (_ECCENTRICITY_RE.fullmatch(field) and field.isascii()):
        report(f"eccentricity field {field!r} (columns 27-33) is not 7 digits",
               "the eccentricity is written as 7 digits with an implied leading "
               "decimal point (0001476 = 0.0001476), no '.' or sign; " + _FIX_REDOWNLOAD,
               (26, 33))


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def parse_tle(text: str, source: str = "<string>", *, on_error: str = "raise") -> Constellation:
    """Parse TLE text (2-line or 3-line entries) into a :class:`Constellation`.

    Parameters
    ----------
    text : str
        The file contents. LF or CRLF endings, blank lines and trailing
        whitespace are fine.
    source : str
        Name of the file, used in messages and as ``Constellation.source``.
    on_error : {"raise", "skip"}
        ``"raise"`` refuses the whole text if any entry is bad;
        ``"skip"`` loads the good entries and issues one
        :class:`~satsim.errors.SkippedEntriesWarning` listing the bad ones.

    Returns
    -------
    Constellation
        Satellites in file order. Entries without a name line are named
        ``"NORAD <catalog number>"``.

    Raises
    ------
    TleFormatError
        With ``on_error="raise"`` if any entry is bad, or if no entry is
        valid; its message and ``.problems`` list every problem.
    InputError
        If the text holds no TLE at all, or ``on_error`` is invalid.
    """
    check_on_error(on_error)
    return _parse(text, source, on_error, stacklevel=3)


def _parse(text: str, source: str, on_error: str, stacklevel: int) -> Constellation:
    """Split and check the entries, load the good ones, then refuse or warn as asked."""
    entries, structure_problems = _split_entries(text, source)
    entry_problems = [_check_entry(e, source) for e in entries]  # empty = good
    _report_duplicates(entries, entry_problems, source)
    satrecs, names = _load_good_entries(entries, entry_problems, source)
    bad_groups = structure_problems + [p for p in entry_problems if p]
    _raise_or_warn(source, bad_groups, len(satrecs), on_error, stacklevel + 1)
    return Constellation(tuple(satrecs), tuple(names), source=source)


def _report_duplicates(entries: list[_Entry], entry_problems: list[list[TleProblem]],
                       source: str) -> None:
    """Add a problem to each entry whose catalog number an earlier entry already has."""
    seen: dict[int, int] = {}
    for k, entry in enumerate(entries):
        number = catalog_number(entry.line1[1][2:7])
        if number is None:
            continue
        if number not in seen:
            seen[number] = k
            continue
        first = entries[seen[number]]
        lineno, line = entry.line1
        entry_problems[k].append(_problem(
            source, lineno, line,
            f"duplicate catalog number {line[2:7].strip()}: the same satellite "
            f"already appears at line {first.line1[0]}",
            "keep one element set per satellite (usually the newer epoch) and "
            "delete the other, or load the two sets from separate files",
            kind=1, columns=(2, 7), entry=entry.name,
        ))


def _load_good_entries(entries: list[_Entry], entry_problems: list[list[TleProblem]],
                       source: str) -> tuple[list[Satrec], list[str]]:
    """Satrecs and names of the entries without problems; SGP4's refusals become problems."""
    satrecs, names = [], []
    for entry, probs in zip(entries, entry_problems):
        if probs:
            continue
        (n1, l1), (n2, l2) = entry.line1, entry.line2
        try:
            sat = Satrec.twoline2rv(l1, l2)
        except (ValueError, RuntimeError) as exc:  # pragma: no cover - checked above
            probs.append(_problem(source, n1, l1, f"sgp4 could not read the entry: {exc}",
                                  _FIX_REDOWNLOAD, kind=1, entry=entry.name))
            continue
        if sat.error != 0:
            reason = SGP4_ERRORS.get(sat.error, "unknown error")
            probs.append(_problem(
                source, n2, l2,
                f"SGP4 rejects the elements (error {sat.error}: {reason})",
                "the element set is not physical or has decayed; " + _FIX_REDOWNLOAD,
                kind=2, entry=entry.name,
            ))
            continue
        satrecs.append(sat)
        names.append(entry.name or f"NORAD {l1[2:7].strip()}")
    return satrecs, names


def _raise_or_warn(source: str, bad_groups: list[list[TleProblem]], n_good: int,
                   on_error: str, stacklevel: int) -> None:
    """Raise if nothing loads or ``on_error="raise"`` meets a bad entry; else warn of skips."""
    all_problems = sorted((p for group in bad_groups for p in group), key=lambda p: p.line)
    n_bad = len(bad_groups)
    if not n_good and not all_problems:
        raise InputError(
            f"{source}: no TLE entries found; a TLE file holds, per satellite, an "
            "optional name line and two 69-column lines starting with '1 ' and '2 '"
        )
    if all_problems and (on_error == "raise" or not n_good):
        if n_good:
            head = (f"{source}: {plural(n_bad, 'bad TLE entry', 'bad TLE entries')} "
                    f"({plural(len(all_problems), 'problem')}); the whole file was "
                    f"refused. Fix them, or pass on_error='skip' to load the "
                    f"{plural(n_good, 'good entry', 'good entries')} without them.")
        else:
            head = (f"{source}: no valid TLE entry; "
                    f"{plural(n_bad, 'bad entry', 'bad entries')} "
                    f"({plural(len(all_problems), 'problem')}):")
        body = "\n\n".join(p.message for p in all_problems)
        raise TleFormatError(f"{head}\n\n{body}", all_problems)
    if all_problems:
        listing = "\n".join(f"  {p.summary}" for p in all_problems)
        warnings.warn(
            SkippedEntriesWarning(
                f"{source}: skipped {plural(n_bad, 'bad TLE entry', 'bad TLE entries')}, "
                f"loaded {plural(n_good, 'satellite')}:\n{listing}"
            ),
            stacklevel=stacklevel,
        )


def load_tle(
    path: str | os.PathLike,
    *,
    on_error: str = "raise",
    name_contains=None,
    norad_ids=None,
) -> Constellation:
    """Load a TLE file into a :class:`Constellation`.

    Parameters
    ----------
    path : str or path-like
        The TLE file (2-line or 3-line entries).
    on_error : {"raise", "skip"}
        See :func:`parse_tle`.
    name_contains : str or list of str, optional
        Keep only satellites whose name contains this text (case-insensitive),
        e.g. ``"[DTC]"``.
    norad_ids : iterable of int, optional
        Keep only these catalog numbers.

    Raises
    ------
    InputError
        If the file is missing or unreadable, has no valid entry, or the
        filters leave no satellite; :class:`TleFormatError` (an
        ``InputError``) if an entry is bad and ``on_error="raise"``.
    """
    check_on_error(on_error)
    source = source_name(path)
    text = read_text_file(path)
    constellation = _parse(text, source, on_error, stacklevel=3)
    if name_contains is not None or norad_ids is not None:
        constellation = constellation.select(name_contains=name_contains, norad_ids=norad_ids)
    return constellation
