"""The scheduler's per-run work at scale (issue 14, "National scale at 1 s steps").

``CoverageView.run_index`` searches each query in its own handset's runs instead of
sorting all runs with the queries, and the voice stretches (``usable_runs``) and
``CoverageView.chain_last`` are linear passes instead of a search over all runs.
These tests check the new code against plain-Python definitions and that cutting
runs into touching pieces of one serving changes no result. (That ``simulate``
gave the same tables and summaries as before the change on six views was checked
once, when it was made; it is not kept as recorded numbers, which any later
change of behaviour would have to re-record.) No timing here: the cost is
measured by ``benchmarks/bench_scheduler.py`` (``runs_doubling_ratio``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from satsim.scheduler import (
    CoverageView,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
    simulate,
)
from satsim.scheduler.coverage_view import next_true
from satsim.scheduler.voice import VoiceContext, usable_runs


def random_view(nh=60, nt=900, step_s=2.0, seed=3, uplink=True) -> CoverageView:
    """Runs of random serving (4 satellites, 3 beams, SINR -6.5 dB and up, 80 % served
    in blocks of 5 samples); handset 0 is never served (no runs)."""
    rng = np.random.default_rng(seed)
    t = np.arange(nt) * step_s
    served = np.repeat(rng.random((nt // 5 + 1, nh)) < 0.8, 5, axis=0)[:nt]
    served[:, 0] = False
    sat = np.repeat(rng.integers(0, 4, (nt // 7 + 1, nh)), 7, axis=0)[:nt]
    beam = np.repeat(rng.integers(0, 3, (nt // 11 + 1, nh)), 11, axis=0)[:nt]
    sinr = np.where(served, np.maximum(rng.normal(2, 6, (nt, nh)), -6.5), np.nan)
    delay = rng.uniform(0.002, 0.004, (nt, nh))
    ul = np.where(served, rng.normal(-12, 6, (nt, nh)), np.nan) if uplink else None
    return CoverageView.from_arrays(t, served, sat, beam, sinr_db=sinr, delay_s=delay,
                                    ul_sinr_db=ul, n_rb=25 if uplink else None)


def periodic_view() -> CoverageView:
    phase = np.random.default_rng(1).uniform(0, 90, 40)
    return CoverageView.periodic(40, 40.0, 50.0, 3600.0, phase_s=phase, n_beams=4)


def cut_runs(view: CoverageView, pieces: int) -> CoverageView:
    """``view`` with every run cut into ``pieces`` touching runs of one serving."""
    handset = np.repeat(np.arange(view.n_handsets), np.diff(view.offsets))
    edges = view.start[:, None] + (view.end - view.start)[:, None] * (
        np.arange(pieces + 1) / pieces)
    edges[:, -1] = view.end

    def rep(a):
        return None if a is None else np.repeat(a, pieces)

    return CoverageView(view.n_handsets, rep(handset), edges[:, :-1].ravel(),
                        edges[:, 1:].ravel(), rep(view.sat), rep(view.beam), rep(view.cqi),
                        rep(view.sinr_db), start_s=view.start_s, end_s=view.end_s,
                        delay_s=rep(view.delay_s), ul_sinr_db=rep(view.ul_sinr_db),
                        n_rb=view.n_rb, ul_cqi=rep(view.ul_cqi))


VIEWS = {"random_uplink": lambda: random_view(),
         "random": lambda: random_view(seed=4, uplink=False),
         "periodic": periodic_view}


# ------------------------------------------------------------------ look-ups and passes
def test_next_true_is_the_first_true_at_or_after():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 7, 300):
        for p in (0.0, 0.2, 1.0):
            b = rng.random(n) < p
            want = [next((k for k in range(j, n) if b[k]), n) for j in range(n)]
            got = next_true(b)
            assert got.dtype == np.int64
            assert got.tolist() == want


@pytest.mark.parametrize("name", VIEWS)
def test_run_index_equals_run_at(name):
    """The per-handset binary search answers as the scalar look-up, at run starts and
    ends (ties), inside runs, in gaps and at the span's edges."""
    view = VIEWS[name]()
    rng = np.random.default_rng(2)
    h_run = np.repeat(np.arange(view.n_handsets), np.diff(view.offsets))
    h = np.concatenate([h_run, h_run, h_run, rng.integers(0, view.n_handsets, 3000),
                        [0, 0, view.n_handsets - 1]])
    t = np.concatenate([view.start, view.end, 0.5 * (view.start + view.end),
                        rng.uniform(view.start_s, view.end_s, 3000),
                        [view.start_s, view.end_s, view.end_s + 1.0]])
    want = [view.run_at(int(a), float(b)) for a, b in zip(h, t)]
    assert view.run_index(h, t).tolist() == want
    assert view.run_index([], []).size == 0
    assert view.run_index([3], [np.nan]).tolist() == [-1]


@pytest.mark.parametrize("name", VIEWS)
def test_chain_last_and_voice_stretches_follow_their_definitions(name):
    """``chain_last``, ``stretch_last`` and ``next_ok`` against loops over the runs."""
    view = VIEWS[name]()
    n = view.n_runs
    h_run = np.repeat(np.arange(view.n_handsets), np.diff(view.offsets))
    touch = [j + 1 < n and h_run[j + 1] == h_run[j] and view.start[j + 1] == view.end[j]
             for j in range(n)]
    assert view.touching().tolist() == touch
    rng = np.random.default_rng(5)
    link = rng.random(n) < 0.7
    ok = rng.random(n) < 0.6

    def last_of_chain(j, joins):
        while joins(j):
            j += 1
        return j

    assert view.chain_last(link).tolist() == [
        last_of_chain(j, lambda k: touch[k] and link[k]) for j in range(n)]
    same_beam = [touch[k] and view.sat[k + 1] == view.sat[k] and view.beam[k + 1] == view.beam[k]
                 for k in range(n)]
    stretch_last, next_ok = usable_runs(view, ok)
    assert stretch_last.tolist() == [
        last_of_chain(j, lambda k: same_beam[k] and ok[k] and ok[k + 1]) for j in range(n)]
    hi = view.offsets[h_run + 1] if n else []
    assert next_ok.tolist() == [next((k for k in range(j, hi[j]) if ok[k]), -1)
                                for j in range(n)]


def test_voice_context_runs_match_the_threshold_rule():
    """``ok`` / ``dl_ok`` per run: CQI and SINR at or above the voice threshold (a run
    without SINR: its CQI's lower bound), and the uplink's class."""
    from satsim.link.cqi import CQI_MIN_SINR_DB

    view = random_view()
    sinr = view.sinr_db.copy()
    sinr[::7] = np.nan  # runs known by their CQI only
    view = CoverageView(view.n_handsets, np.repeat(np.arange(view.n_handsets),
                                                   np.diff(view.offsets)),
                        view.start, view.end, view.sat, view.beam, view.cqi, sinr,
                        start_s=view.start_s, end_s=view.end_s, ul_sinr_db=view.ul_sinr_db,
                        n_rb=view.n_rb)
    for voice in (VoiceConfig(), VoiceConfig(min_sinr_db=2.0), VoiceConfig(rbs_per_call=0.5)):
        ctx = VoiceContext(view, None, voice, np.zeros(0, int), np.zeros(0), np.zeros(0))
        thr = voice.threshold_sinr_db
        want = [int(c) >= voice.min_cqi
                and (float(CQI_MIN_SINR_DB[c]) if np.isnan(s) else float(s)) >= thr
                for c, s in zip(view.cqi, view.sinr_db)]
        assert ctx.dl_ok.tolist() == want
        assert not np.any(ctx.ok & ~ctx.dl_ok)
        assert ctx.ok.sum() < ctx.dl_ok.sum()  # the uplink blocks some runs


# ------------------------------------------------------------------ results
def _config() -> SchedulerConfig:
    return SchedulerConfig(sms=SmsConfig(mo_per_hour=4, mt_per_hour=4),
                           voice=VoiceConfig(calls_per_hour=20))


@pytest.mark.parametrize("name", VIEWS)
def test_cutting_runs_changes_no_result(name):
    """Twice or five times the runs, the same coverage: the same SMS and calls."""
    view = VIEWS[name]()
    cfg = _config()
    base = simulate(view, cfg, seed=3)
    assert base.calls["handovers"].sum() > 0 or name == "periodic"
    for pieces in (2, 5):
        cut = cut_runs(view, pieces)
        assert cut.n_runs == pieces * view.n_runs
        res = simulate(cut, cfg, seed=3)
        pd.testing.assert_frame_equal(res.events, base.events, check_exact=True)
        pd.testing.assert_frame_equal(res.calls, base.calls, check_exact=True)




def test_per_run_sequences_index_like_lists():
    """``per_run`` (the scheduler's compact per-run look-ups) gives, item by item, the
    values a list of the same array gave: Python floats, ints, and truthy / falsy
    bools, at 8 bytes per run or less."""
    from satsim.scheduler.coverage_view import per_run

    rng = np.random.default_rng(9)
    floats = np.r_[rng.normal(0, 1e-3, 200), np.nan, np.inf, -0.0]
    ints = np.r_[rng.integers(-1, 10**9, 200), -1, 2**40]
    bools = rng.random(200) < 0.5
    for values in (floats, floats.astype(np.float32), ints, ints.astype(np.int32), bools):
        got = per_run(values)
        want = values.tolist()
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(w, bool):
                assert bool(g) is w
            elif isinstance(w, float) and math.isnan(w):
                assert isinstance(g, float) and math.isnan(g)
            else:
                assert type(g) is type(w) and g == w
                assert math.copysign(1, g) == math.copysign(1, w) if isinstance(w, float) else True
        nbytes = got.itemsize * len(got) if hasattr(got, "itemsize") else len(got)
        assert nbytes <= 8 * len(want)
    with pytest.raises(TypeError):
        per_run(np.array(["a"]))


@pytest.mark.parametrize("with_ul", [False, True])
def test_run_extraction_kernels_equal_the_numpy_forms(with_ul):
    """The coverage view's per-block run finding and run means (numba) give exactly
    the numpy forms: every change of service, satellite, beam, CQI and uplink class,
    NaN and infinite values inside runs, float32 and float64 inputs."""
    from satsim.scheduler.coverage_view import (_prefix_means, _run_means_numpy,
                                                _served_runs, _served_runs_numpy)

    rng = np.random.default_rng(21)
    nt, nb = 37, 60
    served = rng.random((nt, nb)) < 0.8
    served[:, 0] = True      # one column always served, one never
    served[:, 1] = False
    sat = rng.integers(0, 2, (nt, nb)).astype(np.int32)
    sat[:, 2] = 1            # a column that only changes CQI
    beam = rng.integers(0, 2, (nt, nb)).astype(np.int32)
    cqi = rng.integers(1, 4, (nt, nb)).astype(np.int8)
    ul_cqi = (rng.integers(0, 3, (nt, nb)) if with_ul else np.zeros((nt, nb))).astype(np.int8)
    got = _served_runs(served, sat, beam, cqi, ul_cqi)
    want = _served_runs_numpy(served, sat, beam, cqi, ul_cqi)
    for g, w in zip(got, want):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g, w)
    assert got[0].size > 200
    for dtype in (np.float32, np.float64):
        x = rng.normal(-3.0, 7.0, (nt, nb)).astype(dtype)
        x[rng.random((nt, nb)) < 0.05] = np.nan
        x[rng.random((nt, nb)) < 0.02] = np.inf
        m, c = _prefix_means(x, served, *got)
        mw, cw = _run_means_numpy(x, served, *want)
        np.testing.assert_array_equal(c, cw)
        np.testing.assert_array_equal(m, mw)
        assert m.dtype == np.float32
