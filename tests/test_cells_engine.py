"""Earth-fixed cells through the link engine: a real (Walker) constellation."""

from __future__ import annotations

import numpy as np
import pytest

from satsim.distributed import iter_link_chunks_blocked
from satsim.link import iter_link_chunks, serve_links
from satsim.link.cell_engine import beam_eirp_dbw, cell_radius_km, prepare_cells
from satsim.link.config import BeamSettings, LinkConfig, SatellitePayload
from satsim.link.timeline import NO_BEAM, SERVED
from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid
from satsim.orbits.walker import WalkerShell, walker_constellation

SHELL = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], DEFAULT_EPOCH)
TIMES = TimeGrid.from_duration(DEFAULT_EPOCH, 300, 10.0)
HANDSETS = Handsets.grid_in_box(30.0, 45.0, -110.0, -80.0, 150.0)
RECT = SatellitePayload(antenna="rectangular", eirp_density_dbw_mhz=51.0)


def _cfg(**beams):
    return LinkConfig(payload=RECT, beams=BeamSettings(mode="earth_fixed", **beams))


def test_default_cell_radius_is_half_the_nadir_footprint():
    # 2.7 x 2.3 m uniform array at 1992.5 MHz: 3 dB widths 2.83 and 3.32 deg (mean 3.08);
    # from 360 km, 360 tan(1.54 deg) = 9.7 km
    assert cell_radius_km(_cfg(), 360.0) == pytest.approx(9.7, abs=0.05)
    assert cell_radius_km(_cfg(cell_radius_km=24.0), 360.0) == 24.0


def test_power_sharing_conserves_the_payload_power():
    cfg = LinkConfig(payload=SatellitePayload(antenna="rectangular", eirp_density_dbw_mhz=51.0,
                                              total_power_dbw=30.0))
    n = np.array([1, 4, 40, 400])
    eirp = beam_eirp_dbw(cfg, n, np.ones(4))
    from satsim.link.cell_engine import peak_gain_dbi

    tx_w = 10 ** ((eirp - peak_gain_dbi(cfg)) / 10)
    assert np.all(tx_w * n <= 10 ** 3.0 * (1 + 1e-12))        # never above the payload's 1 kW
    full = 51.0 + 10 * np.log10(5.0)
    assert eirp[0] == pytest.approx(full)                      # one beam: capped at full EIRP
    assert tx_w[3] * 400 == pytest.approx(1000.0)              # many beams: all of it, shared


def test_chunks_and_handset_blocks_give_the_same_timeline():
    cfg = _cfg(reassign_interval_s=20.0)
    whole = serve_links(SHELL, HANDSETS, TIMES, cfg, chunk_steps=1000)
    chunked = serve_links(SHELL, HANDSETS, TIMES, cfg, chunk_steps=7)
    blocks = list(iter_link_chunks_blocked(SHELL, HANDSETS, TIMES, cfg, chunk_steps=10,
                                           block_handsets=13))
    for name in ("serving_sat", "serving_beam", "dl_sinr_db", "status", "residual_doppler_hz"):
        a = getattr(whole, name)
        assert np.array_equal(a, getattr(chunked, name), equal_nan=True), name
        assert np.array_equal(a, np.concatenate([getattr(b, name) for b in blocks]),
                              equal_nan=True), name


def test_a_cells_handsets_share_its_satellite_and_change_it_together():
    h = Handsets.from_points([40.0, 40.01, 40.02], [-100.0, -100.01, -99.99])
    ch = serve_links(SHELL, h, TimeGrid.from_duration(DEFAULT_EPOCH, 1800, 10.0),
                     _cfg(cell_radius_km=20.0))
    served = ch.served.all(axis=1)
    assert served.any()
    assert np.all(ch.serving_sat[served] == ch.serving_sat[served][:, :1])
    assert np.all(ch.serving_beam[served] == ch.serving_beam[served][:, :1])
    sat_changes = ch.handovers.groupby("time_s")["handset"].count()
    assert (sat_changes == 3).all() and (ch.handovers["kind"] == "satellite").all()


def test_beam_cap_leaves_cells_without_a_beam():
    capped = serve_links(SHELL, HANDSETS, TIMES, _cfg(max_beams_per_satellite=1))
    free = serve_links(SHELL, HANDSETS, TIMES, _cfg())
    assert (capped.status == NO_BEAM).any() and not (free.status == NO_BEAM).any()
    assert (capped.status == SERVED).sum() < (free.status == SERVED).sum()
    load = capped.beam_load()
    assert load.groupby(["time_s", "sat"]).size().max() == 1


def test_cells_are_prepared_once_per_run():
    state = prepare_cells(_cfg(), HANDSETS, 550.0)
    assert state.grid.handsets_per_cell().sum() == len(HANDSETS)
    assert state.reassign_interval_s == 15.0 and (state.sat == -1).all()
    assert len(list(iter_link_chunks(SHELL, HANDSETS, TIMES, _cfg(), chunk_steps=10))) == 4


def test_cells_reassign_on_the_networks_clock_not_the_step():
    """``beams.reassign_interval_s`` is simulated time: a sample re-evaluates
    when a multiple of the interval passed since the sample before, so a 10 s
    run re-evaluates 4 times a minute at a 15 s interval, as a 1 s run does
    (rounding to whole steps gave every 20 s), and a step longer than the
    interval re-evaluates at every sample."""
    from satsim.link.cell_engine import reevaluations

    fine = reevaluations(np.arange(0.0, 3600.0, 1.0), 15.0, None)
    assert np.array_equal(np.flatnonzero(fine), np.arange(0, 3600, 15))
    coarse_t = np.arange(0.0, 3600.0, 10.0)
    coarse = reevaluations(coarse_t, 15.0, None)
    assert list(coarse_t[coarse][:7]) == [0.0, 20.0, 30.0, 50.0, 60.0, 80.0, 90.0]
    assert coarse.sum() == fine.sum() == 240
    # chunk by chunk (the sample before carried) as in one piece
    parts = [reevaluations(coarse_t[:7], 15.0, None),
             reevaluations(coarse_t[7:], 15.0, float(coarse_t[6]))]
    assert np.array_equal(np.concatenate(parts), coarse)
    assert reevaluations(np.arange(0.0, 300.0, 30.0), 15.0, None).all()
    # offsets that are not exact in binary land on their multiple
    tenth = np.arange(31) * 0.1
    assert np.array_equal(np.flatnonzero(reevaluations(tenth, 0.3, None)), np.arange(0, 31, 3))


@pytest.mark.parametrize("scan_exponent", [1.2, 0.0])
def test_the_beams_are_built_as_the_step_by_step_record_lays_them_out(scan_exponent):
    """``build_beams`` (two numba passes) gives exactly the record
    ``ActiveBeams.of`` makes from ``active_beams`` and ``beam_pointing`` with
    the EIRP and scan factor applied in numpy: on the default's cells over
    10 minutes at 10 s, with a scan loss (powers within 1e-14 relative: the
    two libraries' ``x ** n``) and without (the default's: identical)."""
    import satsim
    from satsim.link import _cell_kernels as ck
    from satsim.link.cell_engine import ActiveBeams, active_beams, assign_cells_chunk, build_beams
    from satsim.link.engine import prepare_cells_for
    from satsim.orbits.propagation import propagate
    from satsim.scenario.build import build

    ov = {"duration_s": 600, "step_s": 10, "satellite.scan_loss_exponent": scan_exponent}
    inp = build(satsim.load_scenario(None, overrides=ov))
    cfg = inp.link
    eph = propagate(inp.constellation, inp.times)
    cells = prepare_cells_for(cfg, inp.handsets, inp.constellation)
    cell_sat, _ = assign_cells_chunk(eph, cfg, cells)
    axes = ck.body_axes(eph.position_km, eph.velocity_km_s)
    centres = cells.grid.centres.position_km
    offsets, beam_cell, per_sat = active_beams(cell_sat, eph.shape[0])
    nb = beam_cell.size
    direction, uv, inv_r2 = np.empty((nb, 3)), np.empty((2, nb)), np.empty(nb)
    ck.beam_pointing(offsets, beam_cell, eph.position_km, axes, centres, eph.shape[0], direction,
                     uv, inv_r2)
    eirp = np.repeat(10.0 ** (beam_eirp_dbw(cfg, per_sat, np.ones(per_sat.size)) / 10.0),
                     per_sat)
    scan = np.sqrt(np.clip(1.0 - (uv ** 2).sum(axis=0), 0.0, 1.0)) ** \
        cfg.payload.scan_loss_exponent
    want = ActiveBeams.of(offsets, beam_cell, eirp * scan, cfg.beams.activity, direction, uv,
                          cells.color, inv_r2, scan)
    got = build_beams(cfg, cell_sat, cells.color, eph.position_km, axes, centres)
    assert nb > 100_000 and (scan_exponent == 0.0) == bool(np.all(got.scan_lin == 1.0))
    for name in ActiveBeams._fields:
        if name in ("eirp_w", "interf_w", "scan_lin"):   # numba's pow against numpy's
            assert np.allclose(getattr(got, name), getattr(want, name), rtol=1e-14, atol=0)
        else:
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
