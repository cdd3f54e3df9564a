"""Ka-band user links end to end: gaseous absorption (ITU-R P.676-12) and tropospheric
scintillation (ITU-R P.618-13) through the run's code path (TR 38.811 §6.6.4, §6.6.6.2).

Oracles:

* The terms themselves are ``satsim.link.atmosphere``'s, validated against the ITU-R
  Study Group 3 examples in ``tests/test_atmosphere.py``. Here the run's path (the loss
  kernel ``engine.link_losses_db`` and the serving kernel) must give the closed-form
  budget of TR 38.821 §6.1.3.1 with those terms, ``CNR = EIRP + G/T - FSPL - A_gas -
  A_scint - k - 10 log10 B``, to 0.01 dB (the kernel stores float32).
* FSPL at 20 GHz, 600 km, 30 deg: 179.1 dB, TR 38.821 Table 6.1.3.3-1 row SC6 DL (as
  transcribed in OpenNTN's tests/Link_Budget_test.py, see tests/test_budget.py).

TR 38.821's VSAT terminal and Ka-band payload figures (its Tables 6.1.1.1-x) are not in
the project's reference (``NTN_REFERENCE.md``), so the radio below is an assumption for
these checks, not the TR's case: the default S-band Set-2 payload figures at 20 GHz and a
terminal with a 0.6 m dish of 40 dBi (``10 log10(0.65 (pi D / lambda)^2)`` at 20 GHz).
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

import satsim
from satsim.constants import (
    BOLTZMANN_DBW_K_HZ,
    TR38811_EARTH_RADIUS_KM,
    WGS72_MU_KM3_S2,
)
from satsim.errors import InputError
from satsim.link import _kernels, atmosphere
from satsim.link.budget import link_budget
from satsim.link.config import Carrier, HandsetRadio, LinkConfig, Propagation
from satsim.link.engine import (
    HandoverState,
    LinkGeometry,
    LinkOutputs,
    link_losses_db,
    prepare,
    serve_links,
)
from satsim.link.losses import channel_draws, fspl_db, slant_range_km
from satsim.link.timeline import SERVED
from satsim.scenario.build import build

ALTITUDE_KM, ELEVATION_DEG = 600.0, 30.0
DL_HZ, UL_HZ = 20e9, 30e9
KA_CARRIER = Carrier(dl_center_mhz=DL_HZ / 1e6, ul_center_mhz=UL_HZ / 1e6, bandwidth_mhz=400.0)
#: A 0.6 m dish: 10 log10(0.65 (pi 0.6 / 0.015 m)^2) = 40.1 dBi at 20 GHz (assumption).
DISH_D_M = 0.6
KA_TERMINAL = HandsetRadio(antenna_gain_dbi=40.0)
#: The tables stay S-band: shadow fading and clutter off for a Ka-band carrier.
KA_LOSSES = Propagation(shadow_fading=False, clutter_loss=False,
                        terminal_antenna_diameter_m=DISH_D_M)


def _beam_centre_snr_db(link: LinkConfig) -> tuple[float, int]:
    """Downlink SNR and status the run's kernels give one handset on the nadir beam's
    boresight of one satellite at 600 km, seen at 30 deg elevation (TR 38.811's slant
    range); the path loss from ``engine.link_losses_db``, as in a run."""
    prepared = prepare(link, 10.0, ALTITUDE_KM)
    range_km = float(slant_range_km(ELEVATION_DEG, ALTITUDE_KM))
    r_sat = TR38811_EARTH_RADIUS_KM + ALTITUDE_KM
    v_circ = math.sqrt(WGS72_MU_KM3_S2 / r_sat)
    links = SimpleNamespace(offsets=np.array([0, 1], dtype=np.int64),
                            sat=np.array([0], dtype=np.int32),
                            elevation_deg=np.array([ELEVATION_DEG]),
                            range_km=np.array([range_km]))
    loss_db = link_losses_db(links, 1, link.propagation, link.carrier.dl_center_hz,
                             channel_draws(link.seed, 1, 1))
    geometry = LinkGeometry(np.array([[[r_sat, 0.0, 0.0]]]), np.array([[[0.0, v_circ, 0.0]]]),
                            np.array([[r_sat - range_km, 0.0, 0.0]]), links.offsets, links.sat,
                            links.range_km, np.zeros(1), links.elevation_deg, loss_db)
    out = LinkOutputs.empty(1, 1)
    _kernels.serve(geometry, prepared.beams, prepared.pattern, prepared.radio, prepared.rules,
                   HandoverState(1).serving, out)
    assert out.beam[0, 0] == 0  # the nadir beam, at its peak
    return float(out.snr_db[0, 0]), int(out.status[0, 0])


def test_ka_beam_centre_snr_is_the_closed_form_budget():
    link = LinkConfig(carrier=KA_CARRIER, handset=KA_TERMINAL, propagation=KA_LOSSES)
    snr_db, status = _beam_centre_snr_db(link)
    range_km = float(slant_range_km(ELEVATION_DEG, ALTITUDE_KM))
    gas_db = float(atmosphere.gas_attenuation_db(ELEVATION_DEG, DL_HZ))
    scint_db = float(atmosphere.tropo_scintillation_db(ELEVATION_DEG, DL_HZ, DISH_D_M))
    # the P.835 reference atmosphere at 20 GHz, 30 deg: about 0.49 dB of gas, 0.33 dB of
    # scintillation for 1 % of the time (a 0.6 m dish barely averages it)
    assert gas_db == pytest.approx(0.49, abs=0.01)
    assert scint_db == pytest.approx(0.33, abs=0.01)
    fspl = float(fspl_db(range_km, DL_HZ))
    assert round(fspl, 1) == 179.1  # TR 38.821 SC6 DL
    bw_hz = KA_CARRIER.bandwidth_hz
    expected = (link.payload.eirp_dbw(bw_hz) + KA_TERMINAL.gt_db_k - fspl - gas_db - scint_db
                - BOLTZMANN_DBW_K_HZ - 10.0 * math.log10(bw_hz))
    assert snr_db == pytest.approx(expected, abs=0.01)
    assert status == SERVED
    # the same number as `satsim budget` with these settings (TR 38.821 §6.1.3.1)
    budget = link_budget(ELEVATION_DEG, ALTITUDE_KM, KA_CARRIER, link.payload, KA_TERMINAL,
                         KA_LOSSES)
    assert budget.atmospheric_loss_db == pytest.approx(gas_db, abs=1e-9)
    assert budget.scintillation_loss_db == pytest.approx(scint_db, abs=1e-9)
    assert snr_db == pytest.approx(budget.cnr_db, abs=0.01)


def test_ka_weather_and_terminal_reach_the_kernel():
    """A wetter atmosphere (20 g/m^3: more absorption near the 22 GHz water line, higher
    N_wet) and a larger dish (more aperture averaging) move the kernel's SNR by exactly
    the change of the closed-form terms."""
    base = LinkConfig(carrier=KA_CARRIER, handset=KA_TERMINAL, propagation=KA_LOSSES)
    wet = dataclasses.replace(KA_LOSSES, water_vapour_density_g_m3=20.0,
                              surface_temperature_k=303.15, terminal_antenna_diameter_m=2.4,
                              scintillation_percent_time=0.1)
    snr_base, _ = _beam_centre_snr_db(base)
    snr_wet, _ = _beam_centre_snr_db(dataclasses.replace(base, propagation=wet))
    terms_base = (atmosphere.gas_attenuation_db(ELEVATION_DEG, DL_HZ)
                  + atmosphere.tropo_scintillation_db(ELEVATION_DEG, DL_HZ, DISH_D_M))
    terms_wet = (atmosphere.gas_attenuation_db(ELEVATION_DEG, DL_HZ, 1013.25, 303.15, 20.0)
                 + atmosphere.tropo_scintillation_db(ELEVATION_DEG, DL_HZ, 2.4, 0.5, 0.1,
                                                     atmosphere.wet_refractivity(20.0, 303.15)))
    assert snr_base - snr_wet == pytest.approx(float(terms_wet - terms_base), abs=1e-4)
    assert snr_wet < snr_base


def test_ka_run_refuses_s_band_tables():
    with pytest.raises(InputError, match="losses.shadow_fading and losses.clutter_loss"):
        _beam_centre_snr_db(LinkConfig(carrier=KA_CARRIER, handset=KA_TERMINAL))


#: A few minutes of the default constellation over a dozen terminals, at Ka-band.
KA_RUN = {
    "duration_s": 300, "step_s": 10,
    "handsets.placement": "random", "handsets.count": 12,
    "handsets.box": {"lat_min_deg": 30, "lat_max_deg": 45,
                     "lon_min_deg": -110, "lon_max_deg": -80},
    "handsets.radio.antenna_gain_dbi": 40.0,
    "carrier.dl_center_mhz": 20000, "carrier.ul_center_mhz": 30000,
    "losses.shadow_fading": False, "losses.clutter_loss": False,
    "losses.terminal_antenna_diameter_m": DISH_D_M,
    # Doppler grows with the carrier (x10 from 2 GHz): the phone tolerances are S-band ones
    "link.max_residual_doppler_hz": 1e6, "link.max_uplink_residual_doppler_hz": 1e6,
}


def test_short_ka_band_run_completes_with_finite_snr():
    sc = satsim.load_scenario(None, overrides=KA_RUN)
    results = satsim.run(sc, seed=0)
    s = results.summary
    assert s["run"]["handsets"] == 12
    assert s["link"]["status_fraction"]["served"] > 0.5
    samples = results.tables["samples"]
    served = samples[samples["status"] == SERVED]
    assert len(served) > 0 and np.all(np.isfinite(served["dl_sinr_db"]))


def test_ka_run_snr_carries_gas_and_scintillation_per_link():
    """Through the run's link engine: every served sample's SNR is lower, with the models
    on, by exactly P.676-12 gas + P.618-13 scintillation at that sample's elevation."""
    inputs = build(satsim.load_scenario(None, overrides=KA_RUN))
    link = inputs.link
    off = dataclasses.replace(link, propagation=dataclasses.replace(
        link.propagation, atmospheric=False, scintillation=False))
    on_tl = serve_links(inputs.constellation, inputs.handsets, inputs.times, link)
    off_tl = serve_links(inputs.constellation, inputs.handsets, inputs.times, off)
    same = ((on_tl.status == SERVED) & (on_tl.serving_sat == off_tl.serving_sat)
            & (on_tl.serving_beam == off_tl.serving_beam))
    assert same.sum() > 0.5 * on_tl.status.size
    snr_on = on_tl.dl_snr_db[same].astype(np.float64)
    assert np.all(np.isfinite(snr_on))
    elev = on_tl.elevation_deg[same].astype(np.float64)
    terms = (atmosphere.gas_attenuation_db(elev, DL_HZ)
             + atmosphere.tropo_scintillation_db(elev, DL_HZ, DISH_D_M))
    drop = off_tl.dl_snr_db[same].astype(np.float64) - snr_on
    # float32 outputs of SNRs of tens of dB: about 1e-5 dB
    np.testing.assert_allclose(drop, terms, rtol=0, atol=1e-4)
    assert np.ptp(terms) > 0.05  # the terms follow the elevation, not one constant
