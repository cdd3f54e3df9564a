"""The scheduler on a real link timeline (Walker shell, handsets in a box)."""

from __future__ import annotations

import numpy as np

from satsim.link import LinkConfig, iter_link_chunks, serve_links
from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid
from satsim.orbits.walker import WalkerShell, walker_constellation
from satsim.scheduler import CoverageView, SchedulerConfig, SmsConfig, simulate

SHELL = walker_constellation([WalkerShell(120, 12, 1, 53.0, 550.0)], DEFAULT_EPOCH)


def test_sms_over_a_link_timeline():
    times = TimeGrid.from_duration(DEFAULT_EPOCH, 2 * 3600, 10.0)
    h = Handsets.random_in_box(20, 30, 45, -110, -80, seed=4)
    cfg = LinkConfig()
    whole = CoverageView.from_link_chunk(serve_links(SHELL, h, times, cfg))
    view = CoverageView.from_link_chunks(iter_link_chunks(SHELL, h, times, cfg, chunk_steps=97))
    for name in ("offsets", "start", "end", "sat", "beam", "cqi", "cover_end", "serve_end"):
        np.testing.assert_array_equal(getattr(view, name), getattr(whole, name), err_msg=name)
    frac = view.served_fraction()
    assert 0.05 < frac.mean() < 0.95  # a sparse shell: gaps and coverage both occur
    res = simulate(view, SchedulerConfig(sms=SmsConfig(mo_per_hour=4.0, mt_per_hour=4.0)), 1)
    ev = res.events
    s = res.summary()["sms"]
    assert s["all"]["offered"] == s["all"]["delivered"] + s["all"]["expired"] + \
        s["all"]["in_flight"]
    assert s["all"]["delivered"] > 0.5 * s["all"]["offered"]
    # every message was delivered by the satellite and beam serving its handset then
    done = ev[ev["outcome"] == "delivered"]
    mo = (done["direction"] == "MO").to_numpy()
    # MO: the transfer ended before the ground delay (0.5 s) at the SMS centre
    t_radio = done["t_delivered_s"].to_numpy() - np.where(mo, 0.5, 0.0) - 1e-6
    j = view.run_index(done["handset"], t_radio)
    assert (j >= 0).all()
    np.testing.assert_array_equal(view.sat[j], done["sat"])
    np.testing.assert_array_equal(view.beam[j], done["beam"])
    assert set(zip(res.beams["sat"], res.beams["beam"])) >= set(zip(done["sat"], done["beam"]))
