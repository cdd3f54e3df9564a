"""Access windows and gaps.

Reference: Skyfield's ``EarthSatellite.find_events`` rise / set times (root
finding, not sampling). Our windows come from samples, so each edge may be
off by up to half a step (see ``satsim.orbits.coverage``); we require one
step, as the issue asks.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from satsim.orbits import (
    Constellation,
    Coverage,
    Handsets,
    TimeGrid,
    coverage,
    default_constellation,
    default_handsets,
    load_tle,
)

EPOCH = datetime(2025, 10, 27, tzinfo=timezone.utc)


def _union(intervals, min_gap_s):
    """Merge intervals (start, end) that overlap or are closer than ``min_gap_s``."""
    merged = []
    for a, b in sorted(intervals):
        if merged and a - merged[-1][1] < min_gap_s:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _skyfield_windows(c: Constellation, lat, lon, times: TimeGrid, min_el):
    from skyfield.api import EarthSatellite, wgs84

    from satsim.orbits.timegrid import timescale

    ts = timescale()
    topos = wgs84.latlon(lat, lon)
    t_all = times.skyfield()
    t0, t1 = t_all[0], t_all[-1]
    span = times.offsets_s[-1]
    intervals = []
    for satrec in c.satrecs:
        sat = EarthSatellite.from_satrec(satrec, ts)
        t, events = sat.find_events(topos, t0, t1, altitude_degrees=min_el)
        sec = (t.tt - t0.tt) * 86400.0
        start = 0.0 if (sat - topos).at(t0).altaz()[0].degrees >= min_el else None
        for s, e in zip(sec, events):
            if e == 0:
                start = s
            elif e == 2 and start is not None:
                intervals.append((start, s))
                start = None
        if start is not None:
            intervals.append((start, span))
    return intervals


def test_windows_match_skyfield_find_events(shared_tle_dir):
    c = load_tle(shared_tle_dir / "starlink_dtc_2025-300.tle")
    c = c[::6]  # ~110 satellites: coverage with real gaps
    step = 10.0
    times = TimeGrid.from_duration(EPOCH, 6 * 3600, step)
    site = Handsets.from_points([38.5], [-98.0])
    cov = coverage(c, site, times, 25.0)
    ref = _union(_skyfield_windows(c, 38.5, -98.0, times, 25.0), min_gap_s=step)
    # sampling cannot see a window shorter than a step; drop those from the reference
    ref = [(a, b) for a, b in ref if b - a >= step]
    got = cov.windows[["start_s", "end_s"]].to_numpy()
    assert len(ref) >= 5, "the test needs several windows to mean anything"
    assert len(got) == len(ref)
    np.testing.assert_allclose(got, np.array(ref), rtol=0, atol=step)


def _synthetic(pattern, step=10.0):
    n_visible = np.asarray(pattern, dtype=np.uint8).reshape(-1, 1)
    times = TimeGrid(EPOCH, np.arange(n_visible.shape[0]) * step)
    return Coverage(default_constellation()[:1], Handsets.from_points([0.0], [0.0]), times, 25.0, n_visible)


def test_windows_and_gaps_on_a_known_pattern():
    # samples at 0..90 s: covered at 20-40 s and 70 s
    cov = _synthetic([0, 0, 1, 2, 1, 0, 0, 1, 0, 0])
    w = cov.windows
    np.testing.assert_allclose(w[["start_s", "end_s"]].to_numpy(), [[15, 45], [65, 75]])
    g = cov.gaps
    np.testing.assert_allclose(g[["start_s", "end_s"]].to_numpy(), [[0, 15], [45, 65], [75, 90]])
    assert g["censored"].tolist() == [True, False, True]
    assert cov.availability[0] == pytest.approx(40 / 90)
    assert cov.mean_visible[0] == pytest.approx((10 * 1 + 10 * 2 + 10 * 1 + 10 * 1) / 90)
    s = cov.summary()
    assert s["gaps"] == 3 and s["gap_s"]["max"] == pytest.approx(20.0)


def test_always_and_never_covered():
    always = _synthetic([3] * 10)
    assert always.availability[0] == 1.0 and len(always.gaps) == 0
    assert always.summary()["gap_s"] == {"p50": 0.0, "p95": 0.0, "max": 0.0}
    never = _synthetic([0] * 10)
    assert never.availability[0] == 0.0 and len(never.windows) == 0
    assert never.gaps["duration_s"].tolist() == [90.0]


def test_windows_and_gaps_partition_the_run():
    c = default_constellation()
    h = default_handsets()[::40]
    times = TimeGrid.from_duration(EPOCH, 2 * 3600, 20.0)
    cov = coverage(c, h, times, 25.0, chunk_steps=97)  # odd chunking on purpose
    whole = coverage(c, h, times, 25.0)
    assert np.array_equal(cov.n_visible, whole.n_visible)  # chunking changes nothing
    per = cov.windows.groupby("handset")["duration_s"].sum().reindex(range(len(h)), fill_value=0)
    gap = cov.gaps.groupby("handset")["duration_s"].sum().reindex(range(len(h)), fill_value=0)
    np.testing.assert_allclose(per + gap, cov.span_s)
    np.testing.assert_allclose(per / cov.span_s, cov.availability)
    ph = cov.per_handset()
    assert len(ph) == len(h)
    assert (ph["availability"].between(0, 1)).all()
    bands = cov.by_latitude(5.0)
    assert bands["handsets"].sum() == len(h)
