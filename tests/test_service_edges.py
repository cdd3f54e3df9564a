"""Service edges timed within the step (``satsim.link.timeline.service_edges_s``):
where the quantity that decided a change of service crosses its limit,
interpolated between the two samples; the midpoint when nothing says better."""

from __future__ import annotations

import math

import numpy as np
import pytest

import satsim
from satsim.link.engine import ServingRules
from satsim.link.timeline import (
    DOPPLER,
    LOW_SINR,
    NO_BEAM,
    NO_SATELLITE,
    SERVED,
    UPLINK_DOPPLER,
    coverage_holes_s,
    service_edges_s,
)
from satsim.scenario.build import build
from satsim.link.engine import iter_link_chunks

RULES = ServingRules(min_elevation_deg=25.0, beam_edge_lin=0.5, max_doppler_hz=5000.0,
                     max_delay_s=1e-3, min_sinr_db=-7.0, use_sinr_metric=True,
                     hysteresis_lin=1.0, ttt_steps=1, max_ul_doppler_hz=7500.0, ul_over_dl=1.0)


def _edge(status, sinr=(0.0, 0.0), resid=(0.0, 0.0), elev=(40.0, 40.0), rate=(0.0, 0.0),
          times=(0.0, 10.0)):
    col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
    return float(service_edges_s(np.asarray(times), np.asarray(status, np.uint8)[:, None],
                                 col(sinr), col(resid), col([0.0, 0.0]), col(elev), col(rate),
                                 RULES)[0, 0])


def test_sinr_crossing_is_interpolated():
    # margins +4 dB then -2 dB: crossing 4/6 of the way, 3.333 s before the second sample
    assert _edge([SERVED, LOW_SINR], sinr=(-3.0, -9.0)) == pytest.approx(10 / 3, abs=1e-5)
    # and back: -2 then +4 -> crossing 1/3 of the way, 6.667 s before
    assert _edge([LOW_SINR, SERVED], sinr=(-9.0, -3.0)) == pytest.approx(20 / 3, abs=1e-5)


def test_doppler_crossings_use_the_tolerance_that_failed():
    assert _edge([SERVED, DOPPLER], resid=(4000.0, -6000.0)) == pytest.approx(5.0, abs=1e-5)
    # uplink: 2 x 1.0 x resid against 7,500 Hz: margins 1,500 and -500 -> 3/4 of the way
    assert _edge([SERVED, UPLINK_DOPPLER], resid=(3000.0, 4000.0)) == pytest.approx(2.5,
                                                                                 abs=1e-5)


def test_a_setting_or_rising_satellite_is_extrapolated_to_the_mask():
    # 26 deg falling at 0.2 deg/s reaches 25 deg after 5 s
    assert _edge([SERVED, NO_SATELLITE], elev=(26.0, math.nan),
                 rate=(-0.2, math.nan)) == pytest.approx(5.0, abs=1e-5)
    # 25.4 deg rising at 0.1 deg/s was at 25 deg 4 s before the sample
    assert _edge([NO_SATELLITE, SERVED], elev=(math.nan, 25.4),
                 rate=(math.nan, 0.1)) == pytest.approx(4.0, abs=1e-5)


def test_midpoint_when_nothing_says_better():
    assert _edge([SERVED, NO_BEAM]) == 5.0
    assert _edge([SERVED, LOW_SINR], sinr=(-3.0, -3.0)) == 5.0          # no crossing in the step
    assert _edge([SERVED, NO_SATELLITE], elev=(26.0, math.nan),
                 rate=(0.1, math.nan)) == 5.0                             # rising: not a set
    assert math.isnan(_edge([SERVED, SERVED]))
    assert math.isnan(_edge([LOW_SINR, NO_SATELLITE]))


SHORT = {"duration_s": 1200, "step_s": 10, "handsets.spacing_km": 300.0,
         "services.sms.enabled": False}


def test_edges_do_not_depend_on_the_chunking():
    inp = build(satsim.load_scenario(None, overrides=SHORT))

    def edges(chunk_steps):
        chunks = list(iter_link_chunks(inp.constellation, inp.handsets, inp.times, inp.link,
                                       chunk_steps=chunk_steps))
        return tuple(np.concatenate([getattr(c, name) for c in chunks])
                     for name in ("service_edge_s", "hole_start_s", "hole_end_s"))

    (a, a_start, a_end), (b, b_start, b_end) = edges(7), edges(200)
    assert np.isfinite(a).sum() > 10
    assert np.array_equal(a, b, equal_nan=True)
    assert np.array_equal(a_start, b_start, equal_nan=True)
    assert np.array_equal(a_end, b_end, equal_nan=True)
    assert np.all(np.isnan(a[0]))                      # nothing before the first sample
    fin = a[np.isfinite(a)]
    assert np.all((fin >= 0) & (fin <= 10.0))



@pytest.mark.slow
def test_a_10_s_run_agrees_with_a_1_s_run():
    """Issue 13's agreement between step sizes, on the Earth-fixed default (1 h,
    handsets on a 200 km grid, voice at 2 calls per handset-hour): availability
    within 0.5 percentage points, SMS latency p50 within 2 s, call drop ratio
    within 10 % relative, gap p50 within 2 s. Measured 2026-12-04 evening (1 s /
    10 s / 10 s with ``link.substep_s: 1``): availability 95.73 / 95.71 / 95.62
    %, SMS p50 0.67 s each, drop ratio 0.141 / 0.140 / 0.143 of the same 359
    calls, gap p50 15.0 / 18.3 / 16.6 s. The gap p50 holds with substeps only:
    without them the 10 s run predicts the no-satellite holes between two
    satellites (``coverage_holes_s``) but not the 1-9 s SINR dips around a
    change of satellite, which the substeps evaluate (``satsim.link.substeps``;
    the dips within a step that keeps its satellite stay unseen)."""
    base = {"duration_s": 3600, "handsets.spacing_km": 200.0,
            "services.voice.enabled": True, "services.voice.calls_per_hour": 2.0}
    runs = {key: satsim.run(satsim.load_scenario(None, overrides={**base, **ov}),
                            seed=0).summary
            for key, ov in (("1 s", {"step_s": 1}), ("10 s", {"step_s": 10}),
                            ("10 s + substeps", {"step_s": 10, "link.substep_s": 1.0}))}
    fine = runs["1 s"]
    for key in ("10 s", "10 s + substeps"):
        coarse = runs[key]
        assert abs(fine["coverage"]["availability"]
                   - coarse["coverage"]["availability"]) < 0.005, key
        assert abs(fine["sms"]["latency_s"]["p50"] - coarse["sms"]["latency_s"]["p50"]) < 2.0
        assert fine["voice"]["offered"] == coarse["voice"]["offered"] >= 300
        assert abs(coarse["voice"]["drop_ratio"] / fine["voice"]["drop_ratio"] - 1.0) < 0.10
        # the edges are timed: gaps are no longer whole steps at 10 s
        assert coarse["coverage"]["gap_s"]["p50"] % 10 != 0
    sub = runs["10 s + substeps"]
    assert abs(sub["coverage"]["gap_s"]["p50"] - fine["coverage"]["gap_s"]["p50"]) < 2.0


def test_margins_of_different_beams_are_not_interpolated():
    """A served sample in one beam and an unserved one reported against another:
    their margins are of different links, so the midpoint stands."""
    col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
    args = (np.asarray([0.0, 10.0]), np.asarray([SERVED, DOPPLER], np.uint8)[:, None],
            col([0.0, 0.0]), col([4500.0, 6000.0]), col([0.0, 0.0]), col([40.0, 40.0]),
            col([0.0, 0.0]), RULES)
    same = service_edges_s(*args, sat=np.array([[1], [1]]), beam=np.array([[3], [3]]))
    other = service_edges_s(*args, sat=np.array([[1], [1]]), beam=np.array([[3], [4]]))
    # margins +500 Hz and -1,000 Hz: a third of the way, 6.667 s before the second sample
    assert same[0, 0] == pytest.approx(20 / 3, abs=1e-5) and other[0, 0] == 5.0


def _hole(served=(True, True), sat=(3, 7), elev=(26.0, 26.5), rate=(-0.5, 0.5)):
    col = lambda v: np.asarray(v)[:, None]  # noqa: E731
    start, end = coverage_holes_s(np.asarray([0.0, 10.0]), col(served), col(sat), col(elev),
                                  col(rate), 25.0)
    return float(start[0, 0]), float(end[0, 0])


def test_a_hole_between_two_satellites_is_found_inside_the_step():
    """Satellite 3 at 26 deg sinking 0.5 deg/s sets 2 s after the first sample;
    satellite 7 at 26.5 deg rising 0.5 deg/s rose 3 s before the second: no
    satellite from 2 s to 7 s, i.e. from 8 s to 3 s before the second sample."""
    assert _hole() == pytest.approx((8.0, 3.0), abs=1e-6)


def test_no_hole_when_the_next_satellite_rose_first_or_nothing_changed():
    assert all(map(math.isnan, _hole(elev=(26.0, 29.0))))           # rose 8 s before: overlap
    assert all(map(math.isnan, _hole(sat=(3, 3))))                  # the same satellite
    assert all(map(math.isnan, _hole(served=(True, False))))        # a service edge instead
    assert all(map(math.isnan, _hole(rate=(0.5, 0.5))))             # the first one was rising
    assert all(map(math.isnan, _hole(elev=(35.0, 26.5))))           # sets after the step


def test_holes_become_gaps_and_leave_the_served_time():
    """A hole between two served samples is a gap of its own in the gaps table,
    timed by its two edges."""
    from satsim.results.summary import GapTracker

    g = GapTracker(2)
    served = np.ones((3, 2), dtype=bool)
    g.add(served, 0)
    start = np.full((3, 2), np.nan, dtype=np.float32)
    end = start.copy()
    start[2, 1], end[2, 1] = 8.0, 3.0
    g.add_holes(0, start, end)
    table = g.table(np.array([0.0, 5.0, 15.0, 20.0]), np.array([0.0, 10.0, 20.0]))
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.handset, row.start_s, row.end_s, row.duration_s, row.censored) == (
        1, 12.0, 17.0, 5.0, False)


def test_a_10_s_run_finds_the_holes_a_1_s_run_sees():
    """On the Earth-fixed default (20 min, 200 km grid), the holes a 10 s run
    predicts inside its steps are the 1 s run's no-satellite gaps between two
    different satellites that no 10 s sample sees (or its own holes inside a
    1 s step): about as many, of about the same total length (measured: 43
    holes of 131 s in all against 35 of 105 s; the 1 s gaps are whole samples,
    and a third satellite can fill a hole the two-satellite test predicts)."""
    ov = {**SHORT, "handsets.spacing_km": 200.0}

    def chunks(step):
        inp = build(satsim.load_scenario(None, overrides={**ov, "step_s": step}))
        return list(iter_link_chunks(inp.constellation, inp.handsets, inp.times, inp.link,
                                     chunk_steps=2000))

    coarse = np.concatenate([(c.hole_start_s - c.hole_end_s)[np.isfinite(c.hole_start_s)]
                             for c in chunks(10.0)])
    (fine,) = chunks(1.0)
    found = list((fine.hole_start_s - fine.hole_end_s)[np.isfinite(fine.hole_start_s)])
    st, sat = fine.status, fine.serving_sat
    for h in range(st.shape[1]):
        run_start = None
        for k in range(1, st.shape[0]):
            if st[k, h] != SERVED and st[k - 1, h] == SERVED:
                run_start = k
            elif st[k, h] == SERVED and st[k - 1, h] != SERVED and run_start is not None:
                unseen = not any(j % 10 == 0 for j in range(run_start, k))
                if (unseen and np.all(st[run_start:k, h] == NO_SATELLITE)
                        and sat[run_start - 1, h] != sat[k, h]):
                    found.append(float(k - run_start))
                run_start = None
    assert coarse.size >= 10
    assert abs(coarse.size - len(found)) <= 0.3 * len(found)
    assert abs(coarse.sum() - sum(found)) <= 0.3 * sum(found)
    assert np.all((coarse > 0) & (coarse < 10))


def test_the_schedulers_view_ends_and_starts_runs_at_a_hole():
    """A hole inside the step between two served samples: the scheduler's run on
    the first satellite ends where the hole starts, the next one's starts where
    it ends (not both at the midpoint)."""
    from types import SimpleNamespace

    from satsim.orbits.timegrid import TimeGrid
    from satsim.scheduler import CoverageView

    times = TimeGrid.from_duration("2025-10-27T00:00:00Z", 20.0, 10.0)
    col = lambda v, dt=np.float32: np.asarray(v, dtype=dt)[:, None]  # noqa: E731
    nan = math.nan
    chunk = SimpleNamespace(
        times=times, served=col([True, True, True], bool), serving_sat=col([1, 1, 2], np.int32),
        serving_beam=col([5, 5, 5], np.int32), dl_sinr_db=col([3.0, 3.0, 3.0]),
        cqi=col([7, 7, 7], np.int8), delay_s=None, service_edge_s=col([nan, nan, nan]),
        hole_start_s=col([nan, nan, 8.0]), hole_end_s=col([nan, nan, 3.0]))
    view = CoverageView.from_link_chunks([chunk])
    assert view.n_runs == 2
    assert (view.start.tolist(), view.end.tolist()) == ([0.0, 17.0], [12.0, 20.0])
    without = CoverageView.from_link_chunks([SimpleNamespace(**{
        **vars(chunk), "hole_start_s": None, "hole_end_s": None})])
    assert (without.start.tolist(), without.end.tolist()) == ([0.0, 15.0], [15.0, 20.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_beams", [False, True])
def test_edges_kernel_equals_the_numpy_form_bit_for_bit(dtype, with_beams):
    """The one-pass kernel gives exactly the numpy form it replaced, on samples mixing
    every status, NaNs, zero and infinite margins, uneven steps and beam changes."""
    from satsim.link.timeline import (DELAY, DOPPLER_RATE, _service_edges_numpy)

    rng = np.random.default_rng(11)
    n, nh = 40, 57
    codes = np.array([SERVED] * 6 + [LOW_SINR, DOPPLER, UPLINK_DOPPLER, DELAY, NO_SATELLITE,
                                     NO_BEAM, DOPPLER_RATE], np.uint8)
    status = rng.choice(codes, size=(n + 1, nh))
    times = np.cumsum(rng.uniform(0.5, 12.0, n + 1))

    def field(scale, offset=0.0):
        x = (rng.normal(offset, scale, (n + 1, nh))).astype(dtype)
        x[rng.random((n + 1, nh)) < 0.05] = np.nan
        x[rng.random((n + 1, nh)) < 0.03] = 0.0
        return x

    sinr, resid = field(5.0, -7.0), field(4000.0)
    ddel, elev, rate = field(1e-3), field(5.0, 25.0), field(0.2)
    rate[rng.random((n + 1, nh)) < 0.02] = np.inf
    sat = rng.integers(0, 3, (n + 1, nh)).astype(np.int32) if with_beams else None
    beam = rng.integers(0, 2, (n + 1, nh)).astype(np.int32) if with_beams else None
    args = (times, status, sinr, resid, ddel, elev, rate, RULES)
    got = service_edges_s(*args, sat=sat, beam=beam)
    want = _service_edges_numpy(*args, sat=sat, beam=beam)
    assert got.dtype == want.dtype == np.float32 and got.shape == (n, nh)
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).sum() > 100  # the case exercises the interpolations


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_holes_kernel_equals_the_numpy_form_bit_for_bit(dtype):
    """Coverage holes: the one-pass kernel against the numpy form it replaced, with
    setting, rising, flat and missing elevation rates, on uneven steps."""
    from satsim.link.timeline import _coverage_holes_numpy

    rng = np.random.default_rng(12)
    n, nh = 50, 45
    times = np.cumsum(rng.uniform(0.5, 12.0, n + 1))
    served = rng.random((n + 1, nh)) < 0.8
    sat = rng.integers(0, 3, (n + 1, nh)).astype(np.int32)
    elev = rng.uniform(24.0, 26.5, (n + 1, nh)).astype(dtype)
    rate = rng.normal(0.0, 0.3, (n + 1, nh)).astype(dtype)
    rate[rng.random((n + 1, nh)) < 0.05] = np.nan
    rate[rng.random((n + 1, nh)) < 0.03] = 0.0
    got = coverage_holes_s(times, served, sat, elev, rate, 25.0)
    want = _coverage_holes_numpy(times, served, sat, elev, rate, 25.0)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == (n, nh)
        np.testing.assert_array_equal(g, w)
    assert np.isfinite(got[0]).sum() > 20  # holes were found


def test_visible_count_per_row_of_links():
    """``n_visible``'s count of links at or above the mask per (step, handset) row
    equals the prefix-sum form, including empty rows and links exactly at the mask."""
    from satsim.link._timeline_kernels import count_at_or_above

    rng = np.random.default_rng(13)
    counts = rng.integers(0, 6, 500)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    elev = rng.choice(np.array([10.0, 24.9, 25.0, 25.1, 60.0], np.float32), offsets[-1])
    above = np.concatenate([[0], np.cumsum(elev >= np.float32(25.0))])
    want = above[offsets[1:]] - above[offsets[:-1]]
    got = count_at_or_above(offsets, elev, np.float32(25.0))
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, want)
