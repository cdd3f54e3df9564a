"""Tests of the TLE reader (satsim.orbits.tle)."""

from __future__ import annotations

import numpy as np
import pytest

from satsim.errors import InputError, SkippedEntriesWarning
from satsim.orbits.tle import TleFormatError, TleProblem, load_tle, parse_tle

DTC_FILE = "starlink_dtc_2025-300.tle"
SAMPLE_FILE = "starlink_sample_2025-300.tle"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def with_checksum(line68: str) -> str:
    """Append the modulo-10 checksum to a 68-column TLE line."""
    assert len(line68) == 68, (len(line68), line68)
    total = sum(int(c) for c in line68 if c.isdigit()) + line68.count("-")
    return line68 + str(total % 10)


def fix_checksum(line: str) -> str:
    return with_checksum(line[:68])


# Hand-made, realistic element sets (fictional catalog numbers 90001-90003):
# a 53 deg and a 43 deg Starlink-like orbit and a sun-synchronous one.
SAT_A = (
    "TESTSAT-1 [DTC]",
    with_checksum("1 90001U 25001A   25299.50000000  .00016717  00000+0  30000-3 0  999"),
    with_checksum("2 90001  53.0540 120.1234 0001234  90.0000 270.0000 15.70000000 1234"),
)
SAT_B = (
    "TESTSAT-2 [DTC]",
    with_checksum("1 90002U 25001B   25299.19616402 -.00000667  00000+0 -64530-6 0  999"),
    with_checksum("2 90002  43.0030 217.0269 0001476 111.2163 248.9013 15.69707814 5319"),
)
SAT_C = (
    "TESTSAT-3",
    with_checksum("1 90003U 24100C   25298.75000000  .00000500  00000+0  45000-4 0  999"),
    with_checksum("2 90003  97.6000  10.5000 0011000 200.0000 160.0000 15.20000000 9876"),
)
HANDMADE = (SAT_A, SAT_B, SAT_C)


def three_line(*sats) -> str:
    return "".join(f"{n}\n{a}\n{b}\n" for n, a, b in sats)


def positions_at_epoch(constellation, days: float = 0.0) -> np.ndarray:
    out = []
    for sat in constellation.satrecs:
        err, r, _ = sat.sgp4(sat.jdsatepoch + days, sat.jdsatepochF)
        assert err == 0
        out.append(r)
    return np.array(out)


def write(tmp_path, name: str, text: str, newline: str = "\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("ascii"))
    return path


def raise_error(path) -> TleFormatError:
    with pytest.raises(TleFormatError) as info:
        load_tle(path)
    return info.value


def test_handmade_lines_are_tle_shaped():
    for _, l1, l2 in HANDMADE:
        assert len(l1) == len(l2) == 69


# ---------------------------------------------------------------------------
# real snapshots (skip when the shared data is absent)
# ---------------------------------------------------------------------------
def test_load_real_dtc_snapshot(shared_tle_dir):
    path = shared_tle_dir / DTC_FILE
    c = load_tle(path)
    assert len(c) == 653
    assert c.source == str(path)
    assert all("[DTC]" in n for n in c.names)
    assert all(n == n.strip() for n in c.names)
    assert c.names[0] == "STARLINK-11072 [DTC]"
    ids = c.norad_ids
    assert ids.min() == 58705 and ids.max() == 64382
    assert len(np.unique(ids)) == 653
    assert all(s.error == 0 for s in c.satrecs)


def test_two_line_and_three_line_files_give_identical_satellites(shared_tle_dir, tmp_path):
    lines = (shared_tle_dir / DTC_FILE).read_text().splitlines()
    two = write(tmp_path, "dtc2.tle", "\n".join(l for l in lines if l[:2] in ("1 ", "2 ")) + "\n")
    c3 = load_tle(shared_tle_dir / DTC_FILE)
    c2 = load_tle(two)
    assert len(c2) == len(c3) == 653
    np.testing.assert_array_equal(c2.norad_ids, c3.norad_ids)
    assert c2.names[0] == "NORAD 58705"
    np.testing.assert_array_equal(positions_at_epoch(c2), positions_at_epoch(c3))


def test_crlf_blank_lines_and_trailing_whitespace(shared_tle_dir, tmp_path):
    lines = (shared_tle_dir / DTC_FILE).read_text().splitlines()
    messy = []
    for k, line in enumerate(lines):
        messy.append(line + ("   " if k % 2 else "\t "))
        if k % 7 == 0:
            messy.append("")
    path = write(tmp_path, "dtc_crlf.tle", "\n\n" + "\n".join(messy) + "\n\n", newline="\r\n")
    assert b"\r\n" in path.read_bytes()
    c = load_tle(path)
    ref = load_tle(shared_tle_dir / DTC_FILE)
    assert c.names == ref.names
    np.testing.assert_array_equal(positions_at_epoch(c), positions_at_epoch(ref))


def test_name_and_norad_filters(shared_tle_dir, tmp_path):
    text = (shared_tle_dir / SAMPLE_FILE).read_text() + (shared_tle_dir / DTC_FILE).read_text()
    path = write(tmp_path, "mixed.tle", text)
    everything = load_tle(path)
    assert len(everything) == 953
    dtc = load_tle(path, name_contains="[DTC]")
    assert len(dtc) == 653 and all("[DTC]" in n for n in dtc.names)
    assert load_tle(path, name_contains="[dtc]").names == dtc.names  # case-insensitive
    picked = load_tle(path, norad_ids=[56029, 58705, 64382])
    assert picked.norad_ids.tolist() == [56029, 58705, 64382]
    both = load_tle(path, name_contains="[DTC]", norad_ids=[56029, 58705])
    assert both.norad_ids.tolist() == [58705]
    with pytest.raises(InputError, match="no satellite matches"):
        load_tle(path, name_contains="[NOPE]")


def test_to_tle_round_trip(shared_tle_dir):
    c = load_tle(shared_tle_dir / DTC_FILE)
    back = parse_tle(c.to_tle(), "roundtrip")
    assert back.names == c.names
    np.testing.assert_array_equal(back.norad_ids, c.norad_ids)
    for attr in ("inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar"):
        np.testing.assert_allclose([getattr(s, attr) for s in back.satrecs],
                                   [getattr(s, attr) for s in c.satrecs], rtol=0, atol=1e-12)
    dist_km = np.linalg.norm(positions_at_epoch(back) - positions_at_epoch(c), axis=1)
    assert dist_km.max() < 1e-3


def test_mutated_real_file_lists_every_problem(shared_tle_dir, tmp_path):
    lines = (shared_tle_dir / DTC_FILE).read_text().splitlines()
    assert "-64530-6" in lines[1]  # STARLINK-11072 [DTC], 58705
    lines[1] = lines[1].replace("-64530-6", "-64530x6")
    lines[5] = lines[5][:-1] + str((int(lines[5][-1]) + 1) % 10)  # flip a checksum
    lines[8] = lines[8][:60]  # truncate
    path = write(tmp_path, "mutated.tle", "\n".join(lines) + "\n")
    err = raise_error(path)
    msg = str(err)
    assert "3 bad TLE entries" in msg and "650 good entries" in msg
    assert {p.line for p in err.problems} == {2, 6, 9}
    assert "bad exponent field" in msg and "'-64530x6'" in msg
    assert "STARLINK-11072 [DTC]" in msg
    with pytest.warns(SkippedEntriesWarning, match="skipped 3 bad TLE entries") as rec:
        c = load_tle(path, on_error="skip")
    assert len(c) == 650
    assert len(rec) == 1


# ---------------------------------------------------------------------------
# accepted variants (hand-made data, always run)
# ---------------------------------------------------------------------------
def test_parse_three_line_handmade():
    c = parse_tle(three_line(*HANDMADE))
    assert c.names == ("TESTSAT-1 [DTC]", "TESTSAT-2 [DTC]", "TESTSAT-3")
    assert c.norad_ids.tolist() == [90001, 90002, 90003]
    assert c.source == "<string>"
    np.testing.assert_allclose(c.inclination_deg, [53.054, 43.003, 97.6])
    np.testing.assert_allclose(c.satrecs[1].bstar, -0.64530e-6)
    assert c.satrecs[0].jdsatepoch + c.satrecs[0].jdsatepochF == pytest.approx(
        2460975.0)  # 2025-10-26T12:00:00 UTC = day 299.5 of 2025


def test_two_line_names_and_space_track_zero_prefix():
    two = "".join(f"{a}\n{b}\n" for _, a, b in HANDMADE)
    c2 = parse_tle(two)
    assert c2.names == ("NORAD 90001", "NORAD 90002", "NORAD 90003")
    space_track = "".join(f"0 {n}   \n{a}\n{b}\n" for n, a, b in HANDMADE)
    c0 = parse_tle(space_track)
    assert c0.names == ("TESTSAT-1 [DTC]", "TESTSAT-2 [DTC]", "TESTSAT-3")
    np.testing.assert_array_equal(positions_at_epoch(c0), positions_at_epoch(c2))


def test_mixed_named_and_unnamed_entries_crlf():
    text = f"{SAT_A[1]}\r\n{SAT_A[2]}\r\n\r\n{SAT_B[0]}  \r\n{SAT_B[1]} \r\n{SAT_B[2]}\r\n"
    c = parse_tle(text)
    assert c.names == ("NORAD 90001", "TESTSAT-2 [DTC]")


def test_alpha5_catalog_number():
    l1 = fix_checksum(SAT_A[1].replace("90001", "A0001"))
    l2 = fix_checksum(SAT_A[2].replace("90001", "A0001"))
    c = parse_tle(f"{l1}\n{l2}\n")
    assert c.norad_ids.tolist() == [100001]
    assert c.names == ("NORAD A0001",)
    ref = parse_tle(three_line(SAT_A))
    np.testing.assert_array_equal(positions_at_epoch(c), positions_at_epoch(ref))


def test_load_tle_from_str_path(tmp_path):
    path = write(tmp_path, "hand.tle", three_line(*HANDMADE))
    c = load_tle(str(path), norad_ids=[90002])
    assert c.names == ("TESTSAT-2 [DTC]",) and c.source == str(path)


# ---------------------------------------------------------------------------
# each kind of problem (hand-made or mutated entries)
# ---------------------------------------------------------------------------
def _only_problem(tmp_path, sats, name="bad.tle") -> tuple[TleProblem, str]:
    path = write(tmp_path, name, three_line(*sats))
    err = raise_error(path)
    assert len(err.problems) == 1, str(err)
    problem = err.problems[0]
    assert problem.source == str(path)
    assert str(path) in problem.message and str(path) in str(err)
    assert f"line {problem.line}" in problem.message
    return problem, str(err)


def test_checksum_flip(tmp_path):
    bad = SAT_A[2][:-1] + str((int(SAT_A[2][-1]) + 3) % 10)
    problem, msg = _only_problem(tmp_path, [SAT_B, (SAT_A[0], SAT_A[1], bad)])
    assert problem.line == 6 and problem.text == bad
    expected = SAT_A[2][-1]
    assert f"expected {expected}" in problem.message and f"found {bad[-1]}" in problem.message
    assert "checksum" in problem.message and "recompute the checksum" in problem.message
    # the user's line is printed under the column layout of line 2
    layout = "2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNK"
    assert layout in problem.message and bad in problem.message
    lines = problem.message.splitlines()
    row = next(k for k, l in enumerate(lines) if l.endswith(bad))
    assert lines[row - 1].index(layout) == lines[row].index(bad)
    assert "1 bad TLE entry" in msg and "1 good entry" in msg


def test_truncated_line(tmp_path):
    problem, _ = _only_problem(tmp_path, [(SAT_A[0], SAT_A[1][:66], SAT_A[2])])
    assert problem.line == 2
    assert "66 characters long, expected exactly 69" in problem.message
    assert "truncated" in problem.message


def test_line_with_extra_characters(tmp_path):
    problem, _ = _only_problem(tmp_path, [(SAT_A[0], SAT_A[1], SAT_A[2] + " 42")])
    assert problem.line == 3 and "72 characters long" in problem.message


def test_mismatched_catalog_numbers(tmp_path):
    l2 = fix_checksum(SAT_A[2].replace("90001", "90009"))
    problem, _ = _only_problem(tmp_path, [SAT_C, (SAT_A[0], SAT_A[1], l2)])
    assert problem.line == 6
    assert "catalog number 90009 on line 2 differs from 90001 on line 1 (line 5)" in problem.message


def test_bad_exponent_field(tmp_path):
    l1 = SAT_B[1].replace("-64530-6", "-64530x6")
    path = write(tmp_path, "exp.tle", three_line(SAT_A, (SAT_B[0], l1, SAT_B[2])))
    err = raise_error(path)
    # the corruption also breaks the checksum ('6' counted 6, 'x' counts 0)
    messages = [p.message for p in err.problems]
    assert len(messages) == 2 and all(p.line == 5 for p in err.problems)
    exp = next(m for m in messages if "bad exponent field" in m)
    assert "BSTAR" in exp and "'-64530x6'" in exp and "columns 54-61" in exp
    assert any("checksum mismatch" in m for m in messages)
    # a corrupted nddot field with a valid checksum: only the exponent problem
    l1 = fix_checksum(SAT_A[1].replace(" 00000+0", " 00000 0"))
    problem, _ = _only_problem(tmp_path, [(SAT_A[0], l1, SAT_A[2])], "nddot.tle")
    assert "bad exponent field" in problem.message and "nddot" in problem.message


def test_swapped_line_order(tmp_path):
    problem, _ = _only_problem(tmp_path, [SAT_A, (SAT_B[0], SAT_B[2], SAT_B[1]), SAT_C])
    assert problem.line == 5
    assert "wrong order" in problem.message and "line 6" in problem.message


def test_duplicate_entry(tmp_path):
    problem, _ = _only_problem(tmp_path, [SAT_A, SAT_B, SAT_A])
    assert problem.line == 8
    assert "duplicate catalog number 90001" in problem.message
    assert "line 2" in problem.message and "line 8" in problem.message


def test_dangling_name_and_missing_line2(tmp_path):
    text = three_line(SAT_A) + "ORPHAN NAME\n" + three_line(SAT_B) + f"{SAT_C[0]}\n{SAT_C[1]}\n"
    path = write(tmp_path, "dangling.tle", text)
    err = raise_error(path)
    assert [p.line for p in err.problems] == [4, 9]
    assert "ORPHAN NAME" in err.problems[0].message
    assert "name line is not followed by TLE line 1 and line 2" in err.problems[0].message
    assert "line 1 is not followed by its line 2 (the file ends)" in err.problems[1].message


def test_line2_without_line1(tmp_path):
    text = three_line(SAT_A) + f"{SAT_B[0]}\n{SAT_B[2]}\n" + three_line(SAT_C)
    err = raise_error(write(tmp_path, "noline1.tle", text))
    assert [p.line for p in err.problems] == [5]
    assert "line 2 where a name line or a line 1 was expected" in err.problems[0].message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("25299.50000000", "25299.5000000x", "epoch field"),
        ("25299.50000000", "25399.50000000", "day of year 399.5 is out of range"),
        (" .00016717", " .0001x717", "first derivative of mean motion"),
    ],
)
def test_bad_line1_fields(tmp_path, old, new, words):
    l1 = fix_checksum(SAT_A[1].replace(old, new))
    problem, _ = _only_problem(tmp_path, [(SAT_A[0], l1, SAT_A[2])])
    assert problem.line == 2 and words in problem.message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (" 53.0540", "190.0000", "inclination 190 is out of range"),
        ("120.1234", "120.12x4", "right ascension of the ascending node field"),
        ("0001234", "0.01234", "eccentricity field '0.01234'"),
        (" 90.0000", " 9O.0000", "argument of perigee field"),
        ("270.0000", "270,0000", "mean anomaly field"),
        ("15.70000000", "00.00000000", "mean motion 0 is out of range"),
        ("15.70000000", "15.7000000-", "mean motion field"),
    ],
)
def test_bad_line2_fields(tmp_path, old, new, words):
    l2 = fix_checksum(SAT_A[2].replace(old, new))
    problem, _ = _only_problem(tmp_path, [(SAT_A[0], SAT_A[1], l2)])
    assert problem.line == 3 and words in problem.message


def test_sgp4_error_is_reported(tmp_path):
    # eccentricity 0.9 at perigee on a 15.7 rev/day orbit: below the surface
    l2 = fix_checksum(SAT_A[2].replace("0001234", "9000000").replace("270.0000", "000.0000"))
    problem, _ = _only_problem(tmp_path, [SAT_B, (SAT_A[0], SAT_A[1], l2)])
    assert problem.line == 6 and "SGP4 rejects the elements (error 6" in problem.message


def test_every_bad_entry_is_listed_at_once(tmp_path):
    bad_checksum = SAT_A[1][:-1] + str((int(SAT_A[1][-1]) + 1) % 10)
    bad_catalog = fix_checksum(SAT_C[2].replace("90003", "90004"))
    sats = [(SAT_A[0], bad_checksum, SAT_A[2]), SAT_B, (SAT_C[0], SAT_C[1], bad_catalog)]
    err = raise_error(write(tmp_path, "many.tle", three_line(*sats) + three_line(SAT_B)))
    assert [p.line for p in err.problems] == [2, 9, 11]
    msg = str(err)
    for problem in err.problems:
        assert problem.message in msg
    assert "3 bad TLE entries" in msg and "1 good entry" in msg


def test_skip_mode_warns_and_loads_the_good_entries(tmp_path):
    bad = SAT_A[2][:40]
    path = write(tmp_path, "skip.tle", three_line((SAT_A[0], SAT_A[1], bad), SAT_B, SAT_C)
                 + "LEFTOVER\n")
    with pytest.warns(SkippedEntriesWarning) as rec:
        c = load_tle(path, on_error="skip")
    assert len(rec) == 1
    text = str(rec[0].message)
    assert "skipped 2 bad TLE entries, loaded 2 satellites" in text
    assert "line 3" in text and "line 10" in text and str(path) in text
    assert c.names == ("TESTSAT-2 [DTC]", "TESTSAT-3")


def test_skip_mode_with_no_valid_entry_raises(tmp_path):
    bad = SAT_A[2][:40]
    path = write(tmp_path, "allbad.tle", three_line((SAT_A[0], SAT_A[1], bad)))
    with pytest.raises(InputError, match="no valid TLE entry"):
        load_tle(path, on_error="skip")


def test_empty_file_is_an_input_error(tmp_path):
    path = write(tmp_path, "empty.tle", "\n\n  \n")
    with pytest.raises(InputError, match="no TLE entries found"):
        load_tle(path)


def test_invalid_on_error():
    with pytest.raises(InputError, match="'raise', 'skip'"):
        parse_tle(three_line(SAT_A), on_error="ignore")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.tle"
    with pytest.raises(InputError, match="file not found") as info:
        load_tle(path)
    assert str(path) in str(info.value) and "check the path" in str(info.value)
    assert not isinstance(info.value, FileNotFoundError)


def test_non_ascii_character_in_line(tmp_path):
    l2 = SAT_A[2].replace(" 53.0540", " 53\u00b70540")
    path = tmp_path / "utf8.tle"
    path.write_text(three_line((SAT_A[0], SAT_A[1], l2)), encoding="utf-8")
    err = raise_error(path)
    assert any("non-ASCII" in p.message for p in err.problems)


def test_a_character_in_a_separator_column_is_refused():
    """Column 18 of line 1 must be blank: with a stray character python-sgp4 reads
    the epoch shifted and loads BSTAR as NaN without an error."""
    l1 = fix_checksum(SAT_A[1][:17] + "A" + SAT_A[1][18:])
    with pytest.raises(TleFormatError) as err:
        parse_tle("\n".join([SAT_A[0], l1, SAT_A[2]]))
    msg = str(err.value)
    assert "column 18 must be blank" in msg, msg
