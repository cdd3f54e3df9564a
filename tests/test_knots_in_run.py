"""``run.knot_step_s``: a run propagated with SGP4 knots and Hermite between them
gives the exact run's answers (positions within 0.022 m, tests/test_interpolation.py),
through every path that propagates: the runner and handset blocks."""

from __future__ import annotations

import numpy as np

import satsim
from satsim.distributed import iter_link_chunks_blocked
from satsim.scenario.build import build

SHORT = {"duration_s": 600, "step_s": 2, "handsets.spacing_km": 400.0,
         "services.sms.enabled": False}


def _link(overrides):
    return satsim.run(satsim.load_scenario(None, overrides={**SHORT, **overrides}),
                      seed=0).summary["link"]


def test_a_run_with_knots_equals_the_exact_run_to_sinr_rounding():
    exact, knots = _link({}), _link({"run.knot_step_s": 30.0})
    assert knots["status_fraction"] == exact["status_fraction"]
    for q in ("p10", "p50", "p90"):
        assert abs(knots["dl_sinr_db"][q] - exact["dl_sinr_db"][q]) <= 0.05  # histogram bin


def test_blocked_link_chunks_with_knots_equal_the_unblocked_ones():
    inp = build(satsim.load_scenario(None, overrides=SHORT))
    kw = dict(chunk_steps=100, knot_step_s=30.0)
    one = list(iter_link_chunks_blocked(inp.constellation, inp.handsets, inp.times, inp.link,
                                        **kw))
    two = list(iter_link_chunks_blocked(inp.constellation, inp.handsets, inp.times, inp.link,
                                        block_handsets=17, **kw))
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a.serving_sat, b.serving_sat)
        assert np.array_equal(a.dl_sinr_db, b.dl_sinr_db, equal_nan=True)
