"""The runs of docs/calibration.md: the default (Earth-fixed cells) and its variants, 2 h over CONUS.

Usage: python docs/calibration_runs.py OUT.json  (about 3 minutes on a 2-core machine)
"""
import json, sys, time
import numpy as np
import satsim
from satsim.link.cqi import cqi_from_sinr_db, rate_bps_per_rb

BASE = {"duration_s": 7200, "step_s": 10}
#: The old default: TR 38.821 Set-2 beams fixed to the satellite body.
MOVING = {"beams.mode": "moving", "satellite.antenna": "circular",
          "satellite.eirp_density_dbw_mhz": 28.0, "satellite.max_gain_dbi": 24.0}
CASES = {
    "default: Earth-fixed, every cell lit, activity 0.1": {},
    "Earth-fixed, every cell lit, activity 1 (fully loaded)": {"beams.activity": 1.0},
    "Earth-fixed, occupied cells only": {"beams.cell_fill_km": None},
    "Earth-fixed, every cell lit, 1 kW payload shared": {"satellite.total_power_dbw": 30.0},
    "Earth-fixed, every cell lit, cosine taper": {"satellite.taper": "cosine"},
    "Earth-fixed, every cell lit, 52 km handset grid": {"handsets.spacing_km": 52.0,
                                                        "beams.cell_fill_km": 36.8},
    "Earth-fixed, the filing's 3 x 1.4 MHz plan at reuse 3 (-2.33 dBW/Hz)": {
        "carrier.bandwidth_mhz": 4.2, "carrier.n_rb": 18, "carrier.reuse": 3,
        "satellite.eirp_density_dbw_mhz": 57.67},
    "moving Set-2 beams (the old default)": MOVING,
    "moving Set-2 beams, 750 Hz test envelope": {**MOVING, "link.max_residual_doppler_hz": 750},
}
out = {}
for name, ov in CASES.items():
    sc = satsim.load_scenario(None, overrides={**BASE, **ov})
    t0 = time.time()
    res = satsim.run(sc, seed=0)
    s = res.summary
    sinr50 = s["link"]["dl_sinr_db"]["p50"]
    cqi = int(cqi_from_sinr_db(np.array([sinr50]))[0]) if sinr50 is not None else 0
    rate = float(rate_bps_per_rb(np.array([cqi]))[0]) * 25 / 1e6
    out[name] = {"wall_s": round(time.time() - t0, 1), "handsets": s["run"]["handsets"],
                 "cells": s["run"].get("cells"), "served": s["coverage"]["availability"],
                 "visible": s["coverage"]["visible"], "status": s["link"]["status_fraction"],
                 "sinr_db": s["link"]["dl_sinr_db"], "snr_db": s["link"].get("dl_snr_db"),
                 "rate_at_median_mbps_5mhz": rate,
                 "handovers_per_hour": s["coverage"].get("handovers_per_handset_hour"),
                 "gap_s": s["coverage"]["gap_s"], "sms_latency_s": s["sms"]["latency_s"] if s["sms"] else None}
    print(name, json.dumps(out[name]), flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
