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


def _split_entries(text: str, source: str):
    rows = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if line:
            rows.append((number, line))

    entries: list[_Entry] = []
    problems: list[list[TleProblem]] = []
    pending: tuple[int, str] | None = None

    def describe(i: int) -> str:
        if i >= len(rows):
            return "the file ends"
        nxt_no, nxt = rows[i]
        kinds = {0: "a name line", 1: "a line 1", 2: "a line 2"}
        return f"line {nxt_no} is {kinds[_kind(nxt)]}"

    i = 0
    while i < len(rows):
        lineno, line = rows[i]
        kind = _kind(line)
        if kind == 0:
            if pending is not None:
                problems.append([_problem(
                    source, pending[0], pending[1],
                    "name line is not followed by TLE line 1 and line 2 "
                    f"(line {lineno} is another name line)",
                    _FIX_STRUCTURE,
                )])
            pending = (lineno, line)
            i += 1
            continue
        name = _name_of(pending)
        if kind == 1:
            if i + 1 < len(rows) and _kind(rows[i + 1][1]) == 2:
                entries.append(_Entry(pending, (lineno, line), rows[i + 1]))
                i += 2
            else:
                problems.append([_problem(
                    source, lineno, line,
                    f"line 1 is not followed by its line 2 ({describe(i + 1)})",
                    _FIX_STRUCTURE, kind=1, entry=name,
                )])
                i += 1
            pending = None
            continue
        # kind == 2 where a name line or a line 1 was expected
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if nxt is not None and _kind(nxt[1]) == 1 and nxt[1][2:7] == line[2:7]:
            problems.append([_problem(
                source, lineno, line,
                f"line 2 comes before its line 1 (line {nxt[0]}): the two lines are "
                "in the wrong order",
                "put line 1 (starting '1 ') before line 2 (starting '2 '), or "
                + _FIX_REDOWNLOAD,
                kind=2, columns=(0, 1), entry=name,
            )])
            i += 2
        else:
            what = "line 2 where a name line or a line 1 was expected"
            if pending is not None:
                what += f" (the name line {pending[0]} is not followed by a line 1)"
            else:
                what += " (no line 1 before it)"
            problems.append([_problem(
                source, lineno, line, what, _FIX_STRUCTURE,
                kind=2, columns=(0, 1), entry=name,
            )])
            i += 1
        pending = None

    if pending is not None:
        problems.append([_problem(
            source, pending[0], pending[1],
            "name line is not followed by TLE line 1 and line 2 (the file ends)",
            _FIX_STRUCTURE,
        )])
    return entries, problems


# ---------------------------------------------------------------------------
# per-entry checks
# ---------------------------------------------------------------------------
def _check_number(field: str, label: str, add, columns, *, low=None, high=None,
                  low_open=False, rule=""):
    """Check a plain decimal field; ``add(what, fix, columns)`` reports."""
    value_text = field.strip()
    if not _NUMBER_RE.fullmatch(value_text):
        add(f"{label} field {field!r} is not a number",
            f"the {label} must be a decimal number in these columns; " + _FIX_REDOWNLOAD,
            columns)
        return None
    value = float(value_text)
    if not math.isfinite(value):  # pragma: no cover - regex excludes inf/nan
        return None
    bad = (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and value > high
    )
    if bad:
        add(f"{label} {value:g} is out of range ({rule})",
            f"the element set is not physical; {_FIX_REDOWNLOAD}", columns)
    return value


def _check_entry(entry: _Entry, source: str) -> list[TleProblem]:
    problems: list[TleProblem] = []
    label = entry.name
    (n1, l1), (n2, l2) = entry.line1, entry.line2

    def adder(lineno, text, kind):
        def add(what, fix, columns=None):
            problems.append(_problem(source, lineno, text, what, fix,
                                     kind=kind, columns=columns, entry=label))
        return add

    add1, add2 = adder(n1, l1, 1), adder(n2, l2, 2)
    full = {}
    for kind, line, add in ((1, l1, add1), (2, l2, add2)):
        bad = [k for k, ch in enumerate(line) if not ch.isascii()]
        if bad:
            add(f"line {kind} contains non-ASCII character(s) {''.join(line[k] for k in bad)!r}",
                "TLE lines hold only ASCII letters, digits, spaces, '.', '+' and '-'; "
                "the file may have been converted by a word processor; " + _FIX_REDOWNLOAD,
                (bad[0], bad[-1] + 1))
        if len(line) != TLE_LINE_LENGTH:
            short = len(line) < TLE_LINE_LENGTH
            add(f"line {kind} is {len(line)} characters long, expected exactly "
                f"{TLE_LINE_LENGTH} ({'truncated' if short else 'extra characters at the end'})",
                "TLE lines are exactly 69 columns (column 69 is the checksum); the line "
                "may have been cut, wrapped or joined; " + _FIX_REDOWNLOAD,
                (len(line), TLE_LINE_LENGTH) if short else (TLE_LINE_LENGTH, len(line)))
            full[kind] = False
            continue
        full[kind] = True
        found = line[TLE_LINE_LENGTH - 1]
        expected = checksum(line)
        if not (found.isascii() and found.isdigit()):
            add(f"checksum column 69 holds {found!r}, not a digit (expected {expected})",
                "re-download the element set, or recompute the checksum (sum of the "
                "digits in columns 1-68, each '-' counting 1, modulo 10)",
                (68, 69))
        elif int(found) != expected:
            add(f"checksum mismatch: expected {expected} (computed from columns 1-68), "
                f"found {found} in column 69",
                "re-download the element set, or recompute the checksum (sum of the "
                "digits in columns 1-68, each '-' counting 1, modulo 10) if you edited "
                "the line on purpose",
                (68, 69))

    # catalog numbers (columns 3-7) on both lines
    cat = {}
    for kind, line, add in ((1, l1, add1), (2, l2, add2)):
        field = line[2:7]
        cat[kind] = catalog_number(field) if len(line) >= 7 else None
        if cat[kind] is None and len(line) >= 7:
            add(f"catalog number field {field!r} (columns 3-7) is not a catalog number",
                "columns 3-7 hold the catalog number: 5 digits, or a letter and 4 digits "
                "(alpha-5); " + _FIX_REDOWNLOAD, (2, 7))
    if cat[1] is not None and cat[2] is not None and cat[1] != cat[2]:
        add2(f"catalog number {l2[2:7].strip()} on line 2 differs from "
             f"{l1[2:7].strip()} on line 1 (line {n1}): the two lines belong to "
             "different satellites",
             "make sure each line 1 is directly followed by the line 2 of the same "
             "satellite; " + _FIX_REDOWNLOAD, (2, 7))

    if full.get(1):
        epoch = l1[18:32]
        if not (epoch[:2].isdigit() and epoch[:2].isascii()
                and _NUMBER_RE.fullmatch(epoch[2:].strip())):
            add1(f"epoch field {epoch!r} (columns 19-32) is not YYDDD.DDDDDDDD",
                 "the epoch is a 2-digit year then the day of the year with its "
                 "fraction; " + _FIX_REDOWNLOAD, (18, 32))
        else:
            day = float(epoch[2:])
            if not 1.0 <= day < 367.0:
                add1(f"epoch day of year {day:g} is out of range (1 <= day < 367)",
                     "the epoch's day of the year counts from 1 on 1 January; "
                     + _FIX_REDOWNLOAD, (20, 32))
        _check_number(l1[33:43], "first derivative of mean motion (ndot/2)", add1, (33, 43))
        for start, end, name in ((44, 52, "second derivative of mean motion (nddot/6)"),
                                 (53, 61, "BSTAR drag term")):
            field = l1[start:end]
            if not _EXPONENT_FIELD_RE.fullmatch(field):
                add1(f"bad exponent field for the {name}: {field!r} in columns "
                     f"{start + 1}-{end} does not match the form ±NNNNN±N "
                     "(sign or blank, 5 digits of mantissa with an implied leading "
                     "decimal point, sign and 1 digit of exponent)",
                     "write the value as e.g. ' 12345-4' for 0.12345e-4 or ' 00000+0' "
                     "for zero; " + _FIX_REDOWNLOAD, (start, end))
        if not _OPTIONAL_INT_RE.fullmatch(l1[64:68]):
            add1(f"element set number {l1[64:68]!r} (columns 65-68) is not a number",
                 _FIX_REDOWNLOAD, (64, 68))

    if full.get(2):
        _check_number(l2[8:16], "inclination", add2, (8, 16), low=0.0, high=180.0,
                      rule="0 <= inclination <= 180 degrees")
        _check_number(l2[17:25], "right ascension of the ascending node", add2, (17, 25))
        ecc = l2[26:33]
        if not re.fullmatch(r"[ \d]*\d[ \d]*", ecc) or not ecc.isascii():
            add2(f"eccentricity field {ecc!r} (columns 27-33) is not 7 digits",
                 "the eccentricity is written as 7 digits with an implied leading "
                 "decimal point (0001476 = 0.0001476), no '.' or sign; "
                 + _FIX_REDOWNLOAD, (26, 33))
        elif not float("0." + ecc.replace(" ", "0")) < 1.0:  # pragma: no cover
            add2("eccentricity must be < 1", _FIX_REDOWNLOAD, (26, 33))
        _check_number(l2[34:42], "argument of perigee", add2, (34, 42))
        _check_number(l2[43:51], "mean anomaly", add2, (43, 51))
        _check_number(l2[52:63], "mean motion", add2, (52, 63), low=0.0, low_open=True,
                      rule="mean motion must be > 0 revolutions per day")
        if not _OPTIONAL_INT_RE.fullmatch(l2[63:68]):
            add2(f"revolution number {l2[63:68]!r} (columns 64-68) is not a number",
                 _FIX_REDOWNLOAD, (63, 68))
    return problems


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
    entries, structure_problems = _split_entries(text, source)

    # per entry: list of problems (empty = good)
    entry_problems = [_check_entry(e, source) for e in entries]

    # duplicates (by catalog number), reported on the later entry
    seen: dict[int, int] = {}
    for k, entry in enumerate(entries):
        number = catalog_number(entry.line1[1][2:7])
        if number is None:
            continue
        if number in seen:
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
        else:
            seen[number] = k

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

    bad_groups = structure_problems + [p for p in entry_problems if p]
    all_problems = sorted((p for group in bad_groups for p in group), key=lambda p: p.line)
    n_bad = len(bad_groups)

    if not satrecs and not all_problems:
        raise InputError(
            f"{source}: no TLE entries found; a TLE file holds, per satellite, an "
            "optional name line and two 69-column lines starting with '1 ' and '2 '"
        )
    if all_problems and (on_error == "raise" or not satrecs):
        if satrecs:
            head = (f"{source}: {plural(n_bad, 'bad TLE entry', 'bad TLE entries')} "
                    f"({plural(len(all_problems), 'problem')}); the whole file was "
                    f"refused. Fix them, or pass on_error='skip' to load the "
                    f"{plural(len(satrecs), 'good entry', 'good entries')} without them.")
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
                f"loaded {plural(len(satrecs), 'satellite')}:\n{listing}"
            ),
            stacklevel=stacklevel,
        )
    return Constellation(tuple(satrecs), tuple(names), source=source)


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
    source = os.fspath(path)
    source = source if isinstance(source, str) else os.fsdecode(source)
    text = read_text_file(path)
    constellation = _parse(text, source, on_error, stacklevel=3)
    if name_contains is not None or norad_ids is not None:
        constellation = constellation.select(name_contains=name_contains, norad_ids=norad_ids)
    return constellation
