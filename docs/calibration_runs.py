"""The runs of docs/calibration.md: the default and the Earth-fixed option, 2 h over CONUS.

Usage: python docs/calibration_runs.py OUT.json  (about 6 minutes on a 2-core machine)
"""
import json, sys, time
import numpy as np
import satsim
from satsim.link.cqi import cqi_from_sinr_db, rate_bps_per_rb

BASE = {"duration_s": 7200, "step_s": 10}
EF = {"beams.mode": "earth_fixed", "satellite.antenna": "rectangular",
      "satellite.beamwidth_3db_deg": None, "satellite.aperture_radius_m": None,
      "satellite.eirp_density_dbw_mhz": 51.0, "satellite.max_gain_dbi": 35.4}
LIT = {"handsets.spacing_km": 150.0, "beams.cell_fill_km": 106.0}
CASES = {
    "default (moving Set-2 beams; phone DL 5 kHz, satellite UL 7.5 kHz)": {},
    "moving beams, 750 Hz test envelope (the old default)": {"link.max_residual_doppler_hz": 750},
    "earth-fixed 2.7x2.3 m, 58 dBW/beam, occupied cells, activity 0.1": EF,
    "earth-fixed, occupied cells, activity 1": {**EF, "beams.activity": 1.0},
    "earth-fixed, occupied cells, 1 kW payload shared": {**EF, "satellite.total_power_dbw": 30.0},
    "earth-fixed, every cell lit (150 km grid), activity 0.1": {**EF, **LIT},
    "earth-fixed, every cell lit (150 km grid), activity 1": {**EF, **LIT, "beams.activity": 1.0},
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
    out[name] = {"wall_s": round(time.time() - t0, 1), "served": s["coverage"]["availability"],
                 "visible": s["coverage"]["visible"], "status": s["link"]["status_fraction"],
                 "sinr_db": s["link"]["dl_sinr_db"], "rate_at_median_mbps_5mhz": rate,
                 "handovers_per_hour": s["coverage"].get("handovers_per_handset_hour"),
                 "gap_s": s["coverage"]["gap_s"], "sms_latency_s": s["sms"]["latency_s"] if s["sms"] else None}
    print(name, json.dumps(out[name]), flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
