"""Single-precision interference sums (``link.interference_precision: float32``):
a run's link timeline against the float64 run's, with the tolerances issue 14
sets for a fast path (SINR max 0.02 dB, p99 0.005 dB; serving equal in >= 99.99
% of handset-steps; SNR within 1e-3 dB). The sums' terms against the closed
form: tests/test_cells_serve.py."""

from __future__ import annotations

import numpy as np
import pytest

import satsim
from satsim.errors import InputError
from satsim.link.config import LinkConfig
from satsim.link.engine import iter_link_chunks
from satsim.scenario.build import build

SHORT = {"duration_s": 1200, "step_s": 10, "handsets.spacing_km": 75.0,
         "services.sms.enabled": False}


def _timeline(precision: str):
    inp = build(satsim.load_scenario(None, overrides={
        **SHORT, "link.interference_precision": precision}))
    chunks = list(iter_link_chunks(inp.constellation, inp.handsets, inp.times, inp.link,
                                   chunk_steps=60))
    return {name: np.concatenate([getattr(c, name) for c in chunks])
            for name in ("status", "serving_sat", "serving_beam", "dl_snr_db", "ul_snr_db",
                         "dl_sinr_db", "ul_sinr_db")}


def test_a_single_precision_run_matches_the_float64_run():
    """The Earth-fixed default (20 min at 10 s, handsets every 75 km, so
    several per cell and the uplink terms shared): statuses and serving
    (satellite, beam) identical in every handset-step here (issue 14 asks
    >= 99.99 %), SNR identical (the sums do not enter it), SINR both ways
    within 0.02 dB at most and 0.005 dB at the 99th percentile (measured: max
    6e-5 dB)."""
    exact, fast = _timeline("float64"), _timeline("float32")
    assert exact["status"].size > 50_000
    served = exact["status"] == 0
    assert served.mean() > 0.8
    for name in ("status", "serving_sat", "serving_beam"):
        assert np.array_equal(exact[name], fast[name])
    for name in ("dl_snr_db", "ul_snr_db"):
        assert np.array_equal(exact[name], fast[name], equal_nan=True)
    for name in ("dl_sinr_db", "ul_sinr_db"):
        err = np.abs(exact[name][served].astype(np.float64) - fast[name][served])
        assert err.max() <= 0.02
        assert np.percentile(err, 99) <= 0.005
    # the sums did run in float32: not bit-identical
    assert not np.array_equal(exact["dl_sinr_db"][served], fast["dl_sinr_db"][served])


def test_single_precision_is_refused_where_it_has_no_sums():
    with pytest.raises(InputError, match="interference_precision.*float64"):
        LinkConfig(interference_precision="float32", beams={"mode": "moving"})
    with pytest.raises(InputError, match="rectangular"):
        LinkConfig(interference_precision="float32", payload={"antenna": "circular"})
