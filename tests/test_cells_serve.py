"""The Earth-fixed serving kernel on hand-built geometry, against closed forms.

Geometry: a spherical Earth of radius R, a satellite straight above the cell
centre at altitude H moving along +y at v km/s (ITRS), handsets on the
equator offset along-track. Then the range rate of a handset at central
angle ``a`` is ``-R sin(a) v / d`` (``d`` its range) and the cell centre's is
0, so the residual Doppler after pre-compensation to the centre is
``f R sin(a) v / (c d)``, about ``f v x / (c H)`` for a small offset ``x``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satsim.link import _cell_kernels as ck
from satsim.link._kernels import DOPPLER, LOW_SINR, NO_BEAM, NO_SATELLITE, SERVED
from satsim.link.cell_engine import ActiveBeams, CellServing, rect_args
from satsim.link.engine import LinkGeometry, LinkOutputs, RadioTerms, ServingRules

R_KM, H_KM, V_KM_S = 6371.0, 360.0, 7.6
F_HZ = 1992.5e6
C_KM_S = 299792.458
NOISE_DB = -130.0
UL_OFFSET_DB = -140.0


def _setup(offsets_km, cell_of, cells_xyz, n_sats=1, eirp_w=(100.0,), activity=(1.0,),
           beam_cells=None, colors=None, cell_sat=None, reason=None, loss_db=150.0,
           max_doppler_hz=1e9, min_sinr_db=-10.0, pattern=ck.PATTERN_RECT, ul_coeff=0.0,
           scan_lin=None, beam_sats=None, sum_dtype=np.float64):
    """Run serve_cells for one step; handsets at along-track offsets (km) on the
    equator, the satellite above the origin."""
    a = np.asarray(offsets_km, dtype=np.float64) / R_KM
    h_pos = np.stack([R_KM * np.cos(a), R_KM * np.sin(a), np.zeros_like(a)], axis=1)
    sat_pos = np.zeros((n_sats, 1, 3))
    sat_pos[:, 0, 0] = R_KM + H_KM
    sat_vel = np.zeros((n_sats, 1, 3))
    sat_vel[:, 0, 1] = V_KM_S
    axes = ck.body_axes(sat_pos, sat_vel)
    nh = len(a)
    # every handset sees every satellite
    offsets = np.arange(nh + 1, dtype=np.int64) * n_sats
    link_sat = np.tile(np.arange(n_sats, dtype=np.int64), nh)
    d = h_pos[np.repeat(np.arange(nh), n_sats)] - sat_pos[link_sat, 0]
    link_range = np.linalg.norm(d, axis=1)
    link_rate = -(d @ np.array([0.0, V_KM_S, 0.0])) / link_range
    link_elev = np.full(link_sat.size, 80.0)
    link_loss = np.full(link_sat.size, loss_db)
    cell_pos = np.asarray(cells_xyz, dtype=np.float64)
    ncell = cell_pos.shape[0]
    beam_cells = list(range(ncell)) if beam_cells is None else beam_cells
    beam_offsets = np.array([0, len(beam_cells)], dtype=np.int64) if n_sats == 1 else \
        np.array([0] + [len(beam_cells)] * n_sats, dtype=np.int64)
    if beam_sats is not None:   # the satellite of each beam (ascending)
        beam_offsets = np.concatenate([[0], np.cumsum(np.bincount(beam_sats,
                                                                  minlength=n_sats))])
    beam_cell = np.asarray(beam_cells, dtype=np.int64)
    nb = beam_cell.size
    beam_dir = np.empty((nb, 3))
    beam_uv = np.empty((2, nb))
    beam_inv_r2 = np.empty(nb)
    ck.beam_pointing(beam_offsets, beam_cell, sat_pos, axes, cell_pos, n_sats, beam_dir, beam_uv,
                     beam_inv_r2)
    cells = CellServing(
        np.asarray(cell_of, dtype=np.int64),
        np.zeros(ncell, dtype=np.int64) if colors is None else np.asarray(colors, np.int64),
        cell_pos,
        np.zeros((1, ncell), dtype=np.int32) if cell_sat is None else np.asarray(cell_sat,
                                                                                 np.int32),
        np.zeros((1, ncell), dtype=np.uint8) if reason is None else np.asarray(reason, np.uint8))
    lam = C_KM_S * 1e3 / F_HZ
    rect = rect_args(math.pi * 2.7 / lam, math.pi * 2.3 / lam, 0, 1e-8)
    beams = ActiveBeams.of(beam_offsets, beam_cell, eirp_w, activity, beam_dir, beam_uv,
                           cells.color, beam_inv_r2, scan_lin)
    radio = RadioTerms(NOISE_DB, 10.0 ** (NOISE_DB / 10.0), UL_OFFSET_DB, F_HZ, ul_coeff)
    rules = ServingRules(0.0, 0.0, max_doppler_hz, 1e9, min_sinr_db, True, 1.0, 1)
    circ = (np.ones(4), 1.0, 1e-8)
    out = LinkOutputs.empty(1, nh, value_dtype=np.float64)
    geo = LinkGeometry(sat_pos, sat_vel, h_pos, offsets, link_sat, link_range, link_rate,
                       link_elev, link_loss)
    ck.serve_cells(geo, axes, cells, beams, radio, rules, pattern, circ, rect, out,
                   np.zeros(0, dtype=sum_dtype))
    return out, link_range


def _ground(x_km):
    a = x_km / R_KM
    return [R_KM * math.cos(a), R_KM * math.sin(a), 0.0]


def test_at_the_cell_centre_doppler_delay_vanish_and_sinr_is_snr():
    out, rng = _setup([0.0], [0], [_ground(0.0)])
    sat, cell, snr, sinr, ul, elev, delay, resid, ddel, status, ul_sinr = out
    assert sat[0, 0] == 0 and cell[0, 0] == 0 and status[0, 0] == SERVED
    assert resid[0, 0] == pytest.approx(0.0, abs=1e-9)
    assert ddel[0, 0] == pytest.approx(0.0, abs=1e-15)
    # one beam, peak gain toward its own centre: SNR = EIRP - loss - noise, and SINR = SNR
    assert snr[0, 0] == pytest.approx(20.0 - 150.0 - NOISE_DB, abs=1e-9)
    assert sinr[0, 0] == pytest.approx(snr[0, 0], abs=1e-9)
    assert delay[0, 0] == pytest.approx(H_KM / C_KM_S, rel=1e-12)
    # uplink: the offset + 0 dB gain - loss, and no other cell: SINR = SNR
    assert ul[0, 0] == pytest.approx(UL_OFFSET_DB - 150.0, abs=1e-9)
    assert ul_sinr[0, 0] == pytest.approx(ul[0, 0], abs=1e-9)


@pytest.mark.parametrize("x_km", [1.0, 5.0, 10.0, 20.0])
def test_residual_doppler_grows_toward_the_edge_as_the_closed_form(x_km):
    out, rng = _setup([x_km], [0], [_ground(0.0)])
    resid, ddel = out[7][0, 0], out[8][0, 0]
    a = x_km / R_KM
    exact = F_HZ * R_KM * math.sin(a) * V_KM_S / (C_KM_S * rng[0])
    assert resid == pytest.approx(exact, abs=1e-6)
    # small offsets: f v x / (c H) within 1 %; about 142 Hz per km at 360 km (NTN_REFERENCE §4a)
    assert resid == pytest.approx(F_HZ * V_KM_S * x_km / (C_KM_S * H_KM), rel=0.01)
    assert ddel == pytest.approx((rng[0] - H_KM) / C_KM_S, rel=1e-9)


def test_doppler_beyond_the_tolerance_is_reported():
    out, _ = _setup([0.0, 8.0], [0, 0], [_ground(0.0)], max_doppler_hz=1000.0)
    assert out[9][0].tolist() == [SERVED, DOPPLER]


@pytest.mark.parametrize("sum_dtype", [np.float64, np.float32])
def test_idle_interferers_vanish_and_active_ones_add_as_computed(sum_dtype):
    """Also with the single-precision sums (``link.interference_precision``)."""
    cells = [_ground(0.0), _ground(30.0)]
    quiet, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), activity=(1.0, 0.0),
                      sum_dtype=sum_dtype)
    assert quiet[3][0, 0] == pytest.approx(quiet[2][0, 0], abs=1e-9)
    busy, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), activity=(1.0, 0.5),
                     sum_dtype=sum_dtype)
    # interference: the second beam, steered 30 km away, at the handset
    from satsim.link.aperture import rect_gain_dbi
    sat = np.array([R_KM + H_KM, 0.0, 0.0])
    to_h = (np.array(_ground(0.0)) - sat) / np.linalg.norm(np.array(_ground(0.0)) - sat)
    to_c = (np.array(_ground(30.0)) - sat) / np.linalg.norm(np.array(_ground(30.0)) - sat)
    # body frame: x along-track (+y ITRS), y = z cross x, z nadir (-x ITRS)
    ax_x, ax_z = np.array([0.0, 1.0, 0.0]), np.array([-1.0, 0.0, 0.0])
    ax_y = np.cross(ax_z, ax_x)
    lam = C_KM_S * 1e3 / F_HZ
    g_peak = rect_gain_dbi(0.0, 0.0, 2.7, 2.3, F_HZ)
    g = rect_gain_dbi(to_h @ ax_x, to_h @ ax_y, 2.7, 2.3, F_HZ, steer_u=to_c @ ax_x,
                      steer_v=to_c @ ax_y) - g_peak
    assert lam > 0
    p_lin = 100.0 * 10 ** (-150.0 / 10)
    i_lin = 0.5 * 100.0 * 10 ** (g / 10) * 10 ** (-150.0 / 10)
    expected = 10 * math.log10(p_lin / (10 ** (NOISE_DB / 10) + i_lin))
    assert busy[3][0, 0] == pytest.approx(expected, abs=1e-6)
    assert busy[3][0, 0] < quiet[3][0, 0]


def test_other_colours_do_not_interfere():
    cells = [_ground(0.0), _ground(30.0)]
    out, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), activity=(1.0, 1.0),
                    colors=[0, 1])
    assert out[3][0, 0] == pytest.approx(out[2][0, 0], abs=1e-9)


def test_unserved_cell_reports_why():
    out, _ = _setup([0.0, 0.0], [0, 1], [_ground(0.0), _ground(30.0)], beam_cells=[0],
                    eirp_w=(100.0,), cell_sat=[[0, -1]], reason=[[0, ck.CELL_NO_BEAM]])
    assert out[9][0].tolist() == [SERVED, NO_BEAM]
    out, _ = _setup([0.0], [0], [_ground(0.0)], beam_cells=[], eirp_w=(), activity=(),
                    cell_sat=[[-1]], reason=[[ck.CELL_NO_SATELLITE]])
    assert out[9][0].tolist() == [NO_SATELLITE] and np.isnan(out[3][0, 0])


def test_low_sinr_is_reported():
    out, _ = _setup([0.0], [0], [_ground(0.0)], loss_db=190.0, min_sinr_db=0.0)
    assert out[9][0, 0] == LOW_SINR


def _sphere_probes(taper):
    """A 2.7 m x 2.3 m array at 1992.5 MHz probed at (0.25, -0.1) in sine space
    against 20,000 beam directions over the whole sphere, some at the probe
    itself, near it, at a null of one axis and right beside it: ``(kx, ky, u0,
    v0, us, vs, weights, closed-form terms)``."""
    from satsim.link._aperture_kernels import rect_pattern_lin
    lam = C_KM_S * 1e3 / F_HZ
    kx, ky = math.pi * 2.7 / lam, math.pi * 2.3 / lam
    rng = np.random.default_rng(1)
    n = 20000
    u0, v0 = 0.25, -0.1
    us, vs = rng.uniform(-1.0, 1.0, n), rng.uniform(-1.0, 1.0, n)
    us[:3], vs[:3] = u0, v0               # the probe direction itself: the peak
    us[3:9] = u0 + np.array([1e-9, -1e-7, 1e-5, 3e-4, 1e-3, -2e-3])   # near the peak in u
    vs[3:9] = v0 + np.array([2e-9, 1e-6, -1e-4, 5e-4, 0.0, 1e-2])
    us[9], vs[9] = u0 - math.pi / kx, v0 + 0.05                        # a null in x, then
    us[10], vs[10] = u0 - math.pi / kx * (1 + 1e-6), v0 + 0.05         # right beside it
    ws = rng.uniform(0.1, 1.0, n)
    want = np.array([rect_pattern_lin(u0 - us[i], v0 - vs[i], kx, ky, taper)
                     for i in range(n)])
    return kx, ky, u0, v0, us, vs, ws, want


@pytest.mark.parametrize("taper", [0, 1])
def test_interference_sums_use_the_closed_form_pattern(taper):
    """The interference sums (``pattern_sum``) evaluate sinc² without calling sin
    per term (the angle-difference identity on phases computed once, so the
    loop runs in SIMD lanes): against ``_aperture_kernels.rect_pattern_lin``
    (the closed form with the library's sin) every term is within 1e-12 of the
    peak over the whole sphere (offsets up to 2 in sine space, 2.7 m x 2.3 m at
    1992.5 MHz), within 1e-9 relative wherever it is above the floor (near the
    peak, at a null of one axis, close to a beam's own direction), and a sum
    equals the sum of closed-form terms to 1e-12 relative."""
    kx, ky, u0, v0, us, vs, ws, want = _sphere_probes(taper)
    n = us.size
    phase = ck.beam_phase(us, vs, kx, ky)
    probe = ck.probe_phase(u0, v0, kx, ky)
    one = np.array([ck.pattern_sum(us, vs, phase, 0, np.ones(n), i, i + 1, u0, v0, probe, kx, ky,
                                   taper, 0.0) for i in range(n)])
    assert np.max(np.abs(one - want)) <= 1e-12
    assert one[0] == pytest.approx(1.0, abs=1e-12)
    above = want > 1e-8
    assert np.max(np.abs(one[above] / want[above] - 1.0)) <= 1e-9
    floor = 1e-8
    total = ck.pattern_sum(us, vs, phase, 0, ws, 0, n, u0, v0, probe, kx, ky, taper, floor)
    assert total == pytest.approx(np.sum(ws * np.maximum(want, floor)), rel=1e-12)
    # a negative weight marks a direction behind the array: floor x |w|
    assert ck.pattern_sum(us, vs, phase, 0, -ws, 0, n, u0, v0, probe, kx, ky, taper, floor) == \
        pytest.approx(floor * ws.sum(), rel=1e-12)


@pytest.mark.parametrize("taper", [0, 1])
def test_single_precision_sums_follow_the_closed_form(taper):
    """``pattern_sum_f32`` (``link.interference_precision: float32``) on the same
    directions against the float64 closed form: every term within 1e-5 of the
    peak, within 5e-5 relative (2e-4 dB) wherever it is above 1e-8 of the peak
    (measured: 3.4e-6 and 1.8e-5); a weighted sum within 2e-5 relative
    (measured 4e-6), the same whether or not the loop tests the weights' sign;
    behind-the-array weights add the floor."""
    kx, ky, u0, v0, us, vs, ws, want = _sphere_probes(taper)
    n = us.size
    f32 = np.float32
    kus, kvs, ws32 = np.empty(n, f32), np.empty(n, f32), ws.astype(f32)
    ck.scaled_copy(us, kx, kus)
    ck.scaled_copy(vs, ky, kvs)
    phase32 = ck.beam_phase(us, vs, kx, ky).astype(f32)
    probe = ck.probe_phase(u0, v0, kx, ky)
    ones = np.ones(n, dtype=f32)
    one = np.array([ck.pattern_sum_f32(kus, kvs, phase32, ones, i, i + 1, u0, v0, probe, kx,
                                       ky, taper, 0.0) for i in range(n)])
    assert np.max(np.abs(one - want)) <= 1e-5
    above = want > 1e-8
    assert np.max(np.abs(one[above] / want[above] - 1.0)) <= 5e-5
    floor = 1e-8
    for signed in (True, False):
        total = ck.pattern_sum_f32(kus, kvs, phase32, ws32, 0, n, u0, v0, probe, kx, ky, taper,
                                   floor, signed)
        assert total == pytest.approx(np.sum(ws * np.maximum(want, floor)), rel=2e-5)
    behind = ck.pattern_sum_f32(kus, kvs, phase32, -ws32, 0, n, u0, v0, probe, kx, ky, taper,
                                floor)
    assert behind == pytest.approx(floor * ws.sum(), rel=1e-5)


def test_beams_are_grouped_by_colour_within_each_row():
    """``ActiveBeams.of`` puts each (step, satellite) row's beams in colour order
    (stably) and bounds each colour's group; with one colour nothing moves."""
    offsets = np.array([0, 4, 7], dtype=np.int64)
    cell = np.array([0, 1, 2, 3, 4, 5, 6])
    cell_color = np.array([2, 0, 1, 0, 2, 2, 0])
    uv = np.vstack([np.arange(7.0), -np.arange(7.0)])
    beams = ActiveBeams.of(offsets, cell, np.arange(1.0, 8.0), 0.5, np.zeros((7, 3)), uv,
                           cell_color, np.ones(7))
    assert beams.cell.tolist() == [1, 3, 2, 0, 6, 4, 5]
    assert beams.color.tolist() == [0, 0, 1, 2, 0, 2, 2]
    assert beams.color_offsets.tolist() == [0, 2, 3, 4, 5, 5, 7]
    assert beams.u.tolist() == [1.0, 3.0, 2.0, 0.0, 6.0, 4.0, 5.0]
    assert beams.interf_w.tolist() == [1.0, 2.0, 1.5, 0.5, 3.5, 2.5, 3.0]
    one = ActiveBeams.of(offsets, cell, np.arange(1.0, 8.0), 0.5, np.zeros((7, 3)), uv,
                         np.zeros(7, dtype=np.int64), np.ones(7))
    assert one.cell.tolist() == cell.tolist() and one.color_offsets.tolist() == [0, 4, 7]


def _rect_gain_toward(target_km, steer_km):
    """Normalised gain (dB) of the rectangular beam steered at ground point
    ``steer_km`` toward ground point ``target_km`` (along-track offsets, km),
    from ``satsim.link.aperture.rect_gain_dbi``, and the range to the target, km."""
    from satsim.link.aperture import rect_gain_dbi
    sat = np.array([R_KM + H_KM, 0.0, 0.0])

    def unit(x):
        d = np.array(_ground(x)) - sat
        return d / np.linalg.norm(d), np.linalg.norm(d)
    (to_t, r_t), (to_s, _) = unit(target_km), unit(steer_km)
    ax_x, ax_z = np.array([0.0, 1.0, 0.0]), np.array([-1.0, 0.0, 0.0])
    ax_y = np.cross(ax_z, ax_x)
    g = rect_gain_dbi(to_t @ ax_x, to_t @ ax_y, 2.7, 2.3, F_HZ, steer_u=to_s @ ax_x,
                      steer_v=to_s @ ax_y) - rect_gain_dbi(0.0, 0.0, 2.7, 2.3, F_HZ)
    return g, r_t


@pytest.mark.parametrize("sum_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_interferer_km", [25.0, 60.0])
def test_uplink_sinr_counts_the_other_cells_phone_through_the_serving_beam(x_interferer_km,
                                                                          sum_dtype):
    """The phone of the other co-channel cell, at its centre, reaches the
    satellite through the serving (receive) beam's pattern: I/N = coefficient x
    g / r², so SINR = SNR - 10 log10(1 + I/N) (float64 or float32 sums)."""
    cells = [_ground(0.0), _ground(x_interferer_km)]
    coeff = 30.0 * H_KM ** 2          # I/N ~ 30 x g x (H / r)²: of order 1 here
    out, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), activity=(1.0, 1.0),
                    ul_coeff=coeff, sum_dtype=sum_dtype)
    g_db, r_km = _rect_gain_toward(x_interferer_km, 0.0)
    i_over_n = coeff * 10 ** (g_db / 10) / r_km ** 2
    ul_snr = out[4][0, 0]
    assert ul_snr == pytest.approx(UL_OFFSET_DB - 150.0, abs=1e-9)
    assert 0.005 < i_over_n < 20
    # the kernel reads |F|² from its table (within 1.34e-6 of the peak): 1e-3 dB here
    assert out[10][0, 0] == pytest.approx(ul_snr - 10 * math.log10(1 + i_over_n), abs=1e-3)


def test_no_uplink_interference_without_activity_or_from_other_colours():
    cells = [_ground(0.0), _ground(25.0)]
    idle, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), ul_coeff=0.0)
    assert idle[10][0, 0] == pytest.approx(idle[4][0, 0], abs=1e-12)
    other, _ = _setup([0.0], [0], cells, eirp_w=(100.0, 100.0), colors=[0, 1], ul_coeff=1e30)
    assert other[10][0, 0] == pytest.approx(other[4][0, 0], abs=1e-12)


def test_a_cell_below_the_satellites_horizon_does_not_interfere_on_the_uplink():
    # another satellite's beam (however odd) for a cell 5,000 km away: the serving
    # satellite at 360 km is below that cell's horizon (about 2,100 km away)
    cells = [_ground(0.0), _ground(5000.0)]
    out, _ = _setup([0.0], [0], cells, n_sats=2, eirp_w=(100.0, 100.0), ul_coeff=1e30,
                    beam_sats=[0, 1])
    assert out[10][0, 0] == pytest.approx(out[4][0, 0], abs=1e-12)


@pytest.mark.parametrize("x_interferer_km", [25.0, 140.0])
def test_the_serving_satellites_own_cells_count_as_any_others(x_interferer_km):
    """The kernel reads the serving satellite's own cells from their beams'
    steering and range, the other satellites' cells from their centres: with a
    second satellite at the same place serving the interfering cell, the
    uplink SINR is the same."""
    cells = [_ground(0.0), _ground(x_interferer_km)]
    args = dict(eirp_w=(100.0, 100.0), activity=(1.0, 1.0), ul_coeff=30.0 * H_KM ** 2,
                n_sats=2)
    own, _ = _setup([0.0], [0], cells, beam_sats=[0, 0], **args)
    other, _ = _setup([0.0], [0], cells, beam_sats=[0, 1], **args)
    assert own[10][0, 0] < own[4][0, 0] - 1e-4
    assert own[10][0, 0] == pytest.approx(other[10][0, 0], abs=1e-9)
    # the same through the single-precision sums (own beams' buffers, other pairs')
    own32, _ = _setup([0.0], [0], cells, beam_sats=[0, 0], sum_dtype=np.float32, **args)
    other32, _ = _setup([0.0], [0], cells, beam_sats=[0, 1], sum_dtype=np.float32, **args)
    assert own32[10][0, 0] == pytest.approx(own[10][0, 0], abs=1e-4)
    assert other32[10][0, 0] == pytest.approx(other[10][0, 0], abs=1e-4)


def test_the_receive_beams_scan_loss_lowers_the_uplink_as_the_downlink():
    flat, _ = _setup([0.0], [0], [_ground(0.0)])
    scanned, _ = _setup([0.0], [0], [_ground(0.0)], scan_lin=[0.5])
    assert flat[4][0, 0] - scanned[4][0, 0] == pytest.approx(10 * math.log10(2), abs=1e-9)


def test_the_uplink_coefficient_is_one_phone_at_free_space_loss():
    """``RadioTerms.ul_interf_coeff`` / r² is the uplink I/N of one phone at range
    r at the beam's peak: the uplink offset minus the free-space loss (TR 38.811
    §6.6.2, ``losses.fspl_db``) at the downlink frequency, times the activity."""
    import satsim
    from satsim.link.engine import prepare
    from satsim.link.losses import fspl_db
    from satsim.scenario.build import build
    inp = build(satsim.load_scenario(None, overrides={"beams.uplink_activity": 0.25}))
    radio = prepare(inp.link, 10.0, 360.0).radio
    r_km = 700.0
    want_db = (10 * math.log10(0.25) + radio.ul_offset_db
               - float(fspl_db(r_km, inp.link.carrier.dl_center_hz)))
    assert 10 * math.log10(radio.ul_interf_coeff / r_km ** 2) == pytest.approx(want_db,
                                                                              abs=1e-6)
    moving = build(satsim.load_scenario(None, overrides={"beams.mode": "moving"}))
    assert prepare(moving.link, 10.0, 600.0).radio.ul_interf_coeff == 0.0


def test_phones_of_one_cell_get_what_each_would_get_alone():
    """The phones of a cell share their serving beam's uplink interference
    terms (computed once per cell and satellite): each phone's downlink and
    uplink are still exactly what it gets served alone, wherever it is in the
    cell, and a phone of another cell in the same step is unaffected."""
    cells = [_ground(0.0), _ground(25.0), _ground(60.0)]
    args = dict(n_sats=2, eirp_w=(100.0, 100.0, 100.0), activity=(1.0, 0.5, 1.0),
                beam_sats=[0, 0, 1], cell_sat=[[0, 0, 1]], ul_coeff=30.0 * H_KM ** 2)
    offsets, cell_of = [0.0, 3.0, -4.0, 26.0, 6.5], [0, 0, 0, 1, 0]
    together, _ = _setup(offsets, cell_of, cells, **args)
    assert together[10][0, 0] < together[4][0, 0] - 1e-4      # the uplink sees interference
    for h, (x, c) in enumerate(zip(offsets, cell_of)):
        alone, _ = _setup([x], [c], cells, **args)
        for field in (3, 4, 10):                 # DL SINR, UL SNR, UL SINR
            assert together[field][0, h] == alone[field][0, 0]
    # the phones of cell 0 differ on the downlink (their offsets), not in the shared term
    assert len({float(together[3][0, h]) for h in (0, 1, 2, 4)}) == 4
