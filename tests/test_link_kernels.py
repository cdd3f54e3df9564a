"""The serving kernel's pieces, one by one, against the numpy reference.

``satsim.link._kernels.serve`` is a thin loop over small kernels (received
power, best usable beam, best beam regardless, the serving beam's metric,
the handover decision, the outputs and their status). Each is called here on
its own for chosen (step, handset) pairs and compared with
``tests/link_reference.py`` (``reference_beams``: every beam of every
satellite of one (step, handset) in plain numpy, the pattern by
``np.interp``), or, for the handover rule, with a crafted sequence whose
outcome is worked out by hand. Tolerances are in the quantities' own units:
1e-6 dB on powers, SNR and SINR (the two pattern look-ups differ at
round-off), 1e-6 Hz on residual Doppler, 1e-12 s on differential delay.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from satsim.link import _kernels
from satsim.link.antenna import payload_aperture_radius_m, pattern_table
from satsim.link.beams import boresight_unit_vectors
from satsim.link.config import BeamSettings, Carrier, LinkConfig, SatellitePayload
from satsim.link.engine import HandoverState, LinkGeometry, LinkOutputs, ServingRules, prepare
from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid, propagate, visible_links
from satsim.orbits.walker import WalkerShell, walker_constellation

from link_reference import reference_beams

SHELL = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], DEFAULT_EPOCH)
TIMES = TimeGrid.from_duration(DEFAULT_EPOCH, 60, 30.0)   # 3 steps
DB_TOL = 1e-6


def _config(**kw):
    base = dict(
        payload=SatellitePayload(max_gain_dbi=24.0, beamwidth_3db_deg=8.83,
                                 eirp_density_dbw_mhz=28.0, scan_loss_exponent=1.0),
        # tolerances that bite: some handsets have beams they cannot use
        beams=BeamSettings(rings=2, edge_db=20.0),
        carrier=Carrier(reuse=3, n_rb=24),
        min_elevation_deg=20.0,
        interference_min_elevation_deg=10.0,
        max_residual_doppler_hz=500.0,
        max_differential_delay_s=1e-3,
    )
    base.update(kw)
    return LinkConfig(**base)


def _work(case):
    """Fresh per-(t, h) work arrays, as ``serve_handsets`` allocates them."""
    nb = case.prep.beams.u.size
    ncolor = int(case.prep.beams.color.max()) + 1
    nlinks = int(np.diff(case.links.offsets).max())
    return (np.empty(nlinks * nb), np.zeros(ncolor), np.zeros(ncolor),
            np.zeros(ncolor, dtype=np.int64))


@pytest.fixture(scope="module")
def case():
    """Three steps of a 120-satellite shell over random handsets plus handsets
    spread under one satellite at the middle step (inside its beams), and
    everything the kernels and the reference need."""
    cfg = _config()
    eph = propagate(SHELL, TIMES)
    rng = np.random.default_rng(21)
    r = eph.position_km[0, 1]
    lat0 = math.degrees(math.asin(r[2] / np.linalg.norm(r)))
    lon0 = math.degrees(math.atan2(r[1], r[0]))
    h = Handsets(np.r_[rng.uniform(-50, 50, 120), lat0 + rng.uniform(-1.5, 1.5, 120)],
                 np.r_[rng.uniform(-180, 180, 120), lon0 + rng.uniform(-1.5, 1.5, 120)])
    prep = prepare(cfg, TIMES.step_s)
    links = visible_links(eph, h, cfg.interference_mask_deg, cfg.carrier.dl_center_hz)
    loss = 160.0 + 20.0 * rng.random(len(links))
    geometry = LinkGeometry.of(eph, h, links, loss)
    frames = _kernels.body_frames(eph.position_km, eph.velocity_km_s)
    pat = pattern_table(payload_aperture_radius_m(cfg.payload, cfg.carrier.dl_center_hz),
                        cfg.carrier.dl_center_hz, cfg.payload.max_gain_dbi)
    pairs = [(t, hh) for t in range(len(TIMES)) for hh in range(len(h))
             if links.of(t, hh).stop > links.of(t, hh).start]
    return SimpleNamespace(cfg=cfg, eph=eph, h=h, prep=prep, links=links, loss=loss,
                           geometry=geometry, frames=frames, pat=pat, pairs=pairs)


def _reference(case, t, h, prep=None):
    return reference_beams(case.eph, case.h, case.links, case.loss, prep or case.prep, case.pat,
                           t, h)


def _powers(case, t, h, rules=None):
    """``beam_powers`` for (t, h): power as (links, beams), totals, strongest, strongest_at."""
    power, totals, strongest, strongest_at = _work(case)
    p = case.prep
    _kernels.beam_powers(case.geometry, case.frames, p.beams, p.pattern, rules or p.rules, t, h,
                         power, totals, strongest, strongest_at)
    nlink = case.links.of(t, h).stop - case.links.of(t, h).start
    return power[:nlink * p.beams.u.size].reshape(nlink, -1), totals, strongest, strongest_at


def test_body_frames_point_the_beams_as_the_reference(case):
    """Boresights built from ``body_frames`` agree with ``boresight_unit_vectors``
    to 1e-12 (unit vectors: about 1e-12 rad)."""
    b = case.prep.beams
    uvw = np.stack([b.u, b.v, b.w], axis=1)                        # (nb, 3) body frame
    axes = case.frames.reshape(*case.frames.shape[:2], 3, 3)        # rows x, y, z (ITRS)
    ours = np.einsum("bj,stjk->stbk", uvw, axes)
    ref = boresight_unit_vectors(case.prep.layout, case.eph.position_km, case.eph.velocity_km_s)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_beam_powers_and_colour_totals_equal_the_reference(case):
    checked_strongest = 0
    for t, h in case.pairs:
        power, totals, strongest, strongest_at = _powers(case, t, h)
        ref = _reference(case, t, h)
        np.testing.assert_allclose(10 * np.log10(power), ref["p_db"], rtol=0, atol=DB_TOL)
        np.testing.assert_allclose(10 * np.log10(totals), 10 * np.log10(ref["totals"]),
                                   rtol=0, atol=DB_TOL)
        # the strongest beam of each colour among the links that may serve
        colors = case.prep.beams.color
        for c in range(totals.size):
            cand = np.where(ref["eligible"][:, None] & (colors == c)[None, :], ref["p"], -np.inf)
            if not ref["eligible"].any():
                assert strongest_at[c] == -1 and strongest[c] == -1.0
                continue
            assert strongest_at[c] == np.argmax(cand)           # flat (link, beam), first on ties
            assert abs(10 * np.log10(strongest[c]) - 10 * np.log10(cand.max())) < DB_TOL
            checked_strongest += 1
    assert checked_strongest > 100


def test_best_usable_beam_is_the_reference_choice(case):
    seen = {"usable": 0, "none usable": 0, "not the best above the mask": 0}
    p = case.prep
    for t, h in case.pairs:
        power, totals, *_ = _powers(case, t, h)
        k, b, m = _kernels.best_usable_beam(case.geometry, case.frames, p.beams, p.radio, p.rules,
                                            t, h, power.ravel(), totals)
        ref = _reference(case, t, h)
        k0 = case.links.of(t, h).start
        if not ref["usable"].any():
            assert (k, b, m) == (-1, -1, -1.0)
            seen["none usable"] += 1
            continue
        li, rb = np.unravel_index(np.argmax(np.where(ref["usable"], ref["sinr"], -np.inf)),
                                  ref["sinr"].shape)
        assert (k - k0, b) == (li, rb)
        assert abs(10 * np.log10(m) - 10 * np.log10(ref["sinr"][li, rb])) < DB_TOL
        seen["usable"] += 1
        eligible_sinr = np.where(ref["eligible"][:, None], ref["sinr"], -np.inf)
        seen["not the best above the mask"] += int(ref["sinr"][li, rb] < eligible_sinr.max())
    assert all(n > 10 for n in seen.values()), seen


@pytest.mark.parametrize("metric", ["sinr", "rsrp"])
def test_best_beam_regardless_is_the_best_beam_above_the_mask(case, metric):
    prep = prepare(_config(serving_metric=metric), TIMES.step_s)
    found = 0
    for t, h in case.pairs:
        _, totals, strongest, strongest_at = _powers(case, t, h, prep.rules)
        k, b, m = _kernels.best_beam_regardless(case.geometry, prep.beams, prep.radio, prep.rules,
                                                t, h, totals, strongest, strongest_at)
        ref = _reference(case, t, h, prep)
        if not ref["eligible"].any():
            assert (k, b, m) == (-1, -1, -1.0)
            continue
        score = ref["sinr"] if metric == "sinr" else ref["p"]
        best = np.where(ref["eligible"][:, None], score, -np.inf)
        li, rb = np.unravel_index(np.argmax(best), best.shape)
        assert (k - case.links.of(t, h).start, b) == (li, rb)
        assert abs(10 * np.log10(m) - 10 * np.log10(best.max())) < DB_TOL
        found += 1
    assert found > 100


def test_current_beam_metric_keeps_a_beam_only_while_it_can_serve(case):
    p = case.prep
    g, fr = case.geometry, case.frames
    kept = dropped = 0
    for t, h in case.pairs:
        ref = _reference(case, t, h)
        if not ref["eligible"].any():
            continue
        power, totals, *_ = _powers(case, t, h)
        flat = power.ravel()
        k0 = case.links.of(t, h).start
        for li in np.flatnonzero(ref["eligible"]):
            s = int(ref["sats"][li])
            for b in (int(np.argmax(ref["p"][li])), int(np.argmin(ref["p"][li]))):
                # without the usability condition: the serving beam's metric (SINR)
                k, m = _kernels.current_beam_metric(g, fr, p.beams, p.radio, p.rules, t, h, s, b,
                                                    False, flat, totals)
                assert k == k0 + li
                assert abs(10 * np.log10(m) - 10 * np.log10(ref["sinr"][li, b])) < DB_TOL
                # with it: kept only while usable
                k, m = _kernels.current_beam_metric(g, fr, p.beams, p.radio, p.rules, t, h, s, b,
                                                    True, flat, totals)
                if ref["usable"][li, b]:
                    assert k == k0 + li
                    kept += 1
                else:
                    assert (k, m) == (-1, -1.0)
                    dropped += 1
        # a satellite not in the link list, and no serving beam at all
        gone = int(np.setdiff1d(np.arange(len(SHELL)), ref["sats"])[0])
        for s in (gone, -1):
            assert _kernels.current_beam_metric(g, fr, p.beams, p.radio, p.rules, t, h, s, 0,
                                                False, flat, totals) == (-1, -1.0)
    assert kept > 10 and dropped > 10
    # a link below the serving mask (but above the interference mask) cannot serve
    below = np.flatnonzero(case.links.elevation_deg < p.rules.min_elevation_deg)
    assert below.size
    k = int(below[0])
    t, h = int(case.links.time_index[k]), int(case.links.handset_index[k])
    power, totals, *_ = _powers(case, t, h)
    assert _kernels.current_beam_metric(g, fr, p.beams, p.radio, p.rules, t, h,
                                        int(case.links.sat[k]), 0, False, power.ravel(),
                                        totals) == (-1, -1.0)


def _rules(hysteresis_db, ttt_steps):
    return ServingRules(min_elevation_deg=25.0, beam_edge_lin=0.5, max_doppler_hz=1e3,
                        max_delay_s=1e-3, min_sinr_db=-7.0, use_sinr_metric=True,
                        hysteresis_lin=10 ** (hysteresis_db / 10), ttt_steps=ttt_steps,
                        max_ul_doppler_hz=2e3, ul_over_dl=1.0, max_doppler_rate_hz_s=500.0)


def _run_handover(steps, rules):
    """Feed ``decide_handover`` a sequence of (best (sat, beam) or None, best metric in dB,
    whether the serving beam can still serve, its metric in dB); the link index of a beam
    is taken as 10 * sat + beam. Returns the serving (sat, beam) and timer after each step."""
    current, candidate = (-1, -1, -1), (-1, -1, 0)
    seen = []
    for best, best_db, serving_ok, serving_db in steps:
        s, b = best if best is not None else (-1, -1)
        bk = 10 * s + b if best is not None else -1
        ck = 10 * current[0] + current[1] if serving_ok and current[0] >= 0 else -1
        current, candidate = _kernels.decide_handover(
            (s, b, bk, 10 ** (best_db / 10)), (current[0], current[1], ck),
            10 ** (serving_db / 10) if ck >= 0 else -1.0, candidate, rules)
        seen.append(((current[0], current[1]), candidate[2]))
    return seen


def test_handover_waits_for_hysteresis_and_time_to_trigger():
    """3 dB hysteresis, a 3-step time-to-trigger; metrics (SINR) in dB."""
    A, B, C, D = (1, 2), (1, 5), (2, 0), (3, 4)
    steps = [
        (A, 0.0, False, 0.0),  # nothing serves yet: A at once
        (B, 2.0, True, 0.0),   # B better by 2 dB < 3 dB: stay on A, no count
        (B, 4.0, True, 0.0),   # B better by 4 dB: count 1
        (B, 4.0, True, 0.0),   # count 2
        (C, 5.0, True, 0.0),   # another candidate: its count starts at 1
        (C, 5.0, True, 0.0),   # 2
        (C, 5.0, True, 0.0),   # 3 = time-to-trigger: hand over to C
        (C, 5.0, True, 5.0),   # C is the best and serves
        (D, -3.0, False, 0.0),  # C can no longer serve: D at once, however weak
        (None, 0.0, True, 0.0),  # no beam at all: nothing serves
    ]
    got = _run_handover(steps, _rules(3.0, 3))
    assert got == [(A, 0), (A, 0), (A, 1), (A, 2), (A, 1), (A, 2), (C, 0), (C, 0), (D, 0),
                   ((-1, -1), 0)]


def test_handover_count_restarts_when_the_candidate_stops_winning():
    A, B = (1, 2), (1, 5)
    steps = [(A, 0.0, False, 0.0), (B, 4.0, True, 0.0), (B, 4.0, True, 0.0),
             (B, 2.9, True, 0.0),                      # within the hysteresis: count reset
             (B, 4.0, True, 0.0), (B, 4.0, True, 0.0), (B, 4.0, True, 0.0)]
    got = _run_handover(steps, _rules(3.0, 3))
    assert [c for c, _ in got] == [A, A, A, A, A, A, B]
    assert [n for _, n in got] == [0, 1, 2, 0, 1, 2, 0]
    # exactly at the hysteresis is not better (strictly more is needed)
    at_edge = _run_handover([(A, 0.0, False, 0.0), (B, 3.0, True, 0.0)], _rules(3.0, 1))
    assert at_edge[-1][0] == A
    # without hysteresis and time-to-trigger the best beam always serves
    got = _run_handover([(A, 0.0, False, 0.0), (B, 0.1, True, 0.0), (A, 0.2, True, 0.1)],
                        _rules(0.0, 1))
    assert [c for c, _ in got] == [A, B, A]


@pytest.mark.parametrize("gain_lin, sinr_db, resid_hz, ddel_s, ul_over_dl, status", [
    (0.9, 3.0, 100.0, 1e-4, 1.0, _kernels.SERVED),
    (0.4, -20.0, 1e4, 1.0, 1.0, _kernels.NO_BEAM),      # outside the beam first
    (0.9, -7.5, 1e4, 1.0, 1.0, _kernels.LOW_SINR),      # then SINR
    (0.9, 3.0, -1001.0, 1.0, 1.0, _kernels.DOPPLER),    # then Doppler (either sign)
    (0.9, 3.0, float("nan"), 0.0, 1.0, _kernels.DOPPLER),  # beam centre off the Earth
    # downlink 950 Hz within 1 kHz; uplink 2 x 1.1 x 950 = 2,090 Hz beyond 2 kHz
    (0.9, 3.0, -950.0, 1.0, 1.1, _kernels.UPLINK_DOPPLER),
    (0.9, 3.0, 999.0, -2e-3, 1.0, _kernels.DELAY),
    (0.5, -7.0, 1e3, 1e-3, 1.0, _kernels.SERVED),   # every limit is inclusive
])
def test_link_status_is_the_first_check_that_fails(gain_lin, sinr_db, resid_hz, ddel_s,
                                                    ul_over_dl, status):
    rules = _rules(0.0, 1)._replace(ul_over_dl=ul_over_dl)
    assert _kernels.link_status(gain_lin, sinr_db, resid_hz, ddel_s, rules) == status


def test_outputs_of_any_serving_beam_equal_the_reference(case):
    """``write_serving_link`` for the strongest and the weakest beam of every link
    that may serve, not only the one cell selection picks."""
    p = case.prep
    nt, nh = len(TIMES), len(case.h)
    out = LinkOutputs.empty(nt, nh, index_dtype=np.int64, value_dtype=np.float64)
    n = 0
    for t, h in case.pairs[::3]:
        ref = _reference(case, t, h)
        power, totals, *_ = _powers(case, t, h)
        k0 = case.links.of(t, h).start
        for li in range(ref["sats"].size):
            for b in (int(np.argmax(ref["p"][li])), int(np.argmin(ref["p"][li]))):
                _kernels.write_serving_link(case.geometry, case.frames, p.beams, p.radio, p.rules,
                                            t, h, k0 + li, b, power.ravel(), totals, out)
                assert (out.sat[t, h], out.beam[t, h]) == (ref["sats"][li], b)
                assert abs(out.snr_db[t, h] - (ref["p_db"][li, b] - p.radio.dl_noise_db)) < DB_TOL
                assert abs(out.sinr_db[t, h] - 10 * np.log10(ref["sinr"][li, b])) < DB_TOL
                ul = p.radio.ul_offset_db + ref["g_db"][li, b] - case.loss[k0 + li]
                assert abs(out.ul_snr_db[t, h] - ul) < DB_TOL
                assert abs(out.resid_doppler_hz[t, h] - ref["resid_doppler_hz"][li, b]) < 1e-6
                assert abs(out.diff_delay_s[t, h] - ref["diff_delay_s"][li, b]) < 1e-12
                assert out.elevation_deg[t, h] == case.links.elevation_deg[k0 + li]
                assert out.delay_s[t, h] == case.links.range_km[k0 + li] / 299792.458
                expected = _kernels.link_status(10 ** (ref["g_db"][li, b] / 10),
                                                out.sinr_db[t, h], out.resid_doppler_hz[t, h],
                                                out.diff_delay_s[t, h], p.rules)
                assert out.status[t, h] == expected
                n += 1
    assert n > 200
    _kernels.write_no_link(out, 0, 0)
    assert (out.sat[0, 0], out.beam[0, 0], out.status[0, 0]) == (-1, -1, _kernels.NO_SATELLITE)
    assert all(np.isnan(a[0, 0]) for a in out[2:9])


def test_serve_equals_its_pieces_with_hysteresis_and_time_to_trigger(case):
    """The whole kernel over the chunk equals the pieces driven step by step in
    Python (here with 2 dB hysteresis and a 2-step time-to-trigger, which the
    numpy reference does not model)."""
    p = case.prep
    rules = p.rules._replace(hysteresis_lin=10 ** 0.2, ttt_steps=2)
    nt, nh = len(TIMES), len(case.h)
    out = LinkOutputs.empty(nt, nh, index_dtype=np.int64, value_dtype=np.float64)
    state = HandoverState(nh)
    _kernels.serve(case.geometry, p.beams, p.pattern, p.radio, rules, state.serving, out)
    mine = LinkOutputs.empty(nt, nh, index_dtype=np.int64, value_dtype=np.float64)
    g, fr = case.geometry, case.frames
    for h in range(nh):
        current, candidate = (-1, -1, -1), (-1, -1, 0)
        for t in range(nt):
            power, totals, strongest, strongest_at = _work(case)
            _kernels.beam_powers(g, fr, p.beams, p.pattern, rules, t, h, power, totals, strongest,
                                 strongest_at)
            bk, bb, bm = _kernels.best_usable_beam(g, fr, p.beams, p.radio, rules, t, h, power,
                                                   totals)
            usable = bk >= 0
            if not usable:
                bk, bb, bm = _kernels.best_beam_regardless(g, p.beams, p.radio, rules, t, h, totals,
                                                           strongest, strongest_at)
            k, m = _kernels.current_beam_metric(g, fr, p.beams, p.radio, rules, t, h, current[0],
                                                current[1], usable, power, totals)
            bs = int(g.sat[bk]) if bk >= 0 else -1
            current, candidate = _kernels.decide_handover((bs, bb, bk, bm), (*current[:2], k), m,
                                                          candidate, rules)
            if current[2] < 0:
                _kernels.write_no_link(mine, t, h)
            else:
                _kernels.write_serving_link(g, fr, p.beams, p.radio, rules, t, h, current[2],
                                            current[1], power, totals, mine)
        assert (state.sat[h], state.beam[h]) == current[:2]
        assert (state.cand_sat[h], state.cand_beam[h], state.timer[h]) == candidate
    for a, b in zip(out, mine):
        assert np.array_equal(a, b, equal_nan=True)
    assert (out.status == _kernels.SERVED).sum() > 10


def test_prepare_derives_the_linear_terms_from_the_db_ones():
    """The records carry both forms where the kernel needs both; they agree."""
    prep = prepare(_config(hysteresis_db=2.5), TIMES.step_s)
    np.testing.assert_allclose(10 * np.log10(prep.beams.eirp_lin), prep.beams.eirp_dbw,
                               rtol=0, atol=1e-12)
    assert abs(10 * math.log10(prep.radio.dl_noise_lin) - prep.radio.dl_noise_db) < 1e-12
    assert abs(10 * math.log10(prep.rules.hysteresis_lin) - 2.5) < 1e-12
    assert prep.rules.ttt_steps >= 1 and prep.rules.use_sinr_metric
