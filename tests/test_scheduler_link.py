"""The scheduler on a real link timeline (Walker shell, handsets in a box)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from satsim.link import LinkConfig, iter_link_chunks, serve_links
from satsim.orbits import DEFAULT_EPOCH, Handsets, TimeGrid
from satsim.orbits.walker import WalkerShell, walker_constellation
from satsim.scheduler import (
    CoverageView,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    simulate,
)
from satsim.scheduler.uplink import ul_cqi_from_sinr_db

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


def test_uplink_view_over_a_link_timeline():
    """With the carrier's RBs the view reads the uplink: chunked equals whole; runs split
    further only by the uplink's class (same coverage); SMS and data, which do not read
    the uplink, give the same tables; each run's class is its one-RB uplink CQI."""
    times = TimeGrid.from_duration(DEFAULT_EPOCH, 3600, 10.0)
    h = Handsets.random_in_box(12, 30, 45, -110, -80, seed=4)
    cfg = LinkConfig()
    n_rb = cfg.carrier.beam_n_rb
    chunk = serve_links(SHELL, h, times, cfg)
    whole = CoverageView.from_link_chunk(chunk, n_rb=n_rb)
    view = CoverageView.from_link_chunks(iter_link_chunks(SHELL, h, times, cfg, chunk_steps=97),
                                         n_rb=n_rb)
    for name in ("offsets", "start", "end", "sat", "beam", "cqi", "cover_end", "serve_end",
                 "ul_cqi"):
        np.testing.assert_array_equal(getattr(view, name), getattr(whole, name), err_msg=name)
    np.testing.assert_allclose(view.ul_sinr_db, whole.ul_sinr_db, rtol=0, atol=1e-4)
    plain = CoverageView.from_link_chunk(chunk)
    assert plain.ul_cqi is None and view.n_runs >= plain.n_runs
    np.testing.assert_array_equal(view.served_fraction(), plain.served_fraction())
    # every run's class is the one-RB uplink CQI of each of its samples (a run holds the
    # times of its samples; the view's last instant, the last sample's, is its end)
    t = chunk.times.offsets_s
    run_h = np.repeat(np.arange(view.n_handsets), np.diff(view.offsets))
    first = np.searchsorted(t, view.start)
    last = np.where(view.end == t[-1], t.size - 1, np.searchsorted(t, view.end) - 1)
    assert np.all(first <= last)
    for i in (first, last):
        np.testing.assert_array_equal(
            view.ul_cqi, ul_cqi_from_sinr_db(chunk.ul_sinr_db[i, run_h], n_rb))
    config = SchedulerConfig(sms=SmsConfig(mo_per_hour=4.0, mt_per_hour=4.0),
                             # downloads only: uploads read the uplink
                             data=DataConfig(sessions_per_hour=4.0, upload_fraction=0.0))
    a, b = simulate(view, config, 2), simulate(plain, config, 2)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    pd.testing.assert_frame_equal(a.sessions, b.sessions, check_exact=True)
    assert len(a.sessions) > 20
