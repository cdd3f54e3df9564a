"""The numba path-loss kernel equals the numpy reference ``losses.link_loss_db``."""

from __future__ import annotations

import numpy as np
import pytest

from satsim.link.losses import channel_draws, link_loss_db
from satsim.link.config import Propagation
from satsim.link.engine import link_losses_db
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
