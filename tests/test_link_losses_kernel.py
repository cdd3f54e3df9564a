"""The numba path-loss kernel equals the numpy reference ``losses.link_loss_db``
(S-band and, from 6 GHz, the ITU-R P.676-12 / P.618-13 terms per link)."""

from __future__ import annotations

import numpy as np
import pytest

from satsim.errors import InputError
from satsim.link.config import Propagation
from satsim.link.engine import link_losses_db
from satsim.link.losses import channel_draws, link_loss_db
from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid, propagate, visible_links
from satsim.orbits.walker import WalkerShell, walker_constellation

SHELL = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], DEFAULT_EPOCH)


@pytest.fixture(scope="module")
def links():
    eph = propagate(SHELL, TimeGrid.from_duration(DEFAULT_EPOCH, 600, 60.0))
    h = Handsets.random_in_box(300, -60, 60, -180, 180, seed=1)
    return visible_links(eph, h, 0.0), len(h)


@pytest.mark.parametrize("environment", ["dense_urban", "urban", "suburban", "rural"])
@pytest.mark.parametrize(
    "terms",
    [
        {},
        dict(los_probability=False),
        dict(shadow_fading=False, clutter_loss=False, atmospheric=False, scintillation=False),
        dict(shadow_fading=2.5, clutter_loss=12.0, atmospheric=0.3, scintillation=1.0,
             shadow_margin_db=3.0, additional_loss_db=1.5),
    ],
)
def test_kernel_equals_numpy_reference(links, environment, terms):
    vl, nh = links
    prop = Propagation(environment=environment, **terms)
    draws = channel_draws(5, nh, len(SHELL))
    h = vl.handset_index
    ref, _ = link_loss_db(vl.elevation_deg, vl.range_km, 1992.5e6, prop,
                          draws.u_los[h, vl.sat], draws.z_shadow[h, vl.sat])
    got = link_losses_db(vl, nh, prop, 1992.5e6, draws)
    assert len(vl) > 1000 and (vl.elevation_deg < 10).any()  # below-grid elevations too
    np.testing.assert_allclose(got, np.broadcast_to(ref, got.shape), rtol=0, atol=1e-9)


@pytest.mark.parametrize("freq_hz", [6e9, 20e9, 30e9, 50e9])
@pytest.mark.parametrize(
    "terms",
    [
        {},
        {"clutter_loss": 12.0, "terminal_antenna_diameter_m": 0.6,
         "terminal_antenna_efficiency": 0.7, "scintillation_percent_time": 0.1,
         "water_vapour_density_g_m3": 20.0, "surface_temperature_k": 300.0,
         "surface_pressure_hpa": 950.0},
        {"atmospheric": 0.3, "los_probability": False},
        {"scintillation": 1.0, "additional_loss_db": 1.5},
    ],
)
def test_kernel_equals_numpy_reference_from_6_ghz(links, freq_hz, terms):
    """From 6 GHz (tables off): the per-link P.676-12 gas and P.618-13 scintillation of the
    kernel equal the numpy reference, at every elevation of the links, below 5 deg too."""
    vl, nh = links
    prop = Propagation(**{"shadow_fading": False, "clutter_loss": False, **terms})
    draws = channel_draws(5, nh, len(SHELL))
    h = vl.handset_index
    ref, _ = link_loss_db(vl.elevation_deg, vl.range_km, freq_hz, prop,
                          draws.u_los[h, vl.sat], draws.z_shadow[h, vl.sat])
    got = link_losses_db(vl, nh, prop, freq_hz, draws)
    assert (vl.elevation_deg < 5).any() and (vl.elevation_deg > 60).any()
    np.testing.assert_allclose(got, np.broadcast_to(ref, got.shape), rtol=0, atol=1e-9)


def test_kernel_refuses_s_band_tables_from_6_ghz(links):
    vl, nh = links
    with pytest.raises(InputError, match="losses.shadow_fading and losses.clutter_loss"):
        link_losses_db(vl, nh, Propagation(), 20e9, channel_draws(5, nh, len(SHELL)))
