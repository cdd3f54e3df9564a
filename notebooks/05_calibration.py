# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # satsim against the public record of Starlink Direct to Cell
#
# What does the real service deliver, and what does satsim say? This notebook runs the
# flagship case, Starlink's direct-to-cell (DTC) service over the contiguous US, under the
# two beam models satsim has, and puts each answer next to a public figure. Nothing here is
# fitted: every setting comes from a filing, a standard or a measurement paper, or is
# labelled an assumption in its schema description, and was chosen before these runs.
# `docs/calibration.md` has the same comparison on longer runs and the reasoning at length.
#
# | quantity | public figure | source |
# |---|---|---|
# | where the service works | "anywhere you can see the sky" | SpaceX / T-Mobile (press) |
# | downlink SINR of served phones | median about 0 dB | crowdsourced, arXiv 2506.00283 |
# | per-beam rate | ~3-4 Mbit/s (from the measured SINR); peak 18.3 Mbit/s per 5 MHz | same; FCC SAT-MOD-20230207-00021 |
# | beams | fixed on the ground, Doppler and timing compensated per cell | same filing |
#
# To keep the notebook to a minute the runs are **20 minutes at 10 s steps over a 150 km
# handset grid** (about 440 phones); the default scenario is otherwise unchanged.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import satsim
from satsim.link.cqi import cqi_from_sinr_db, rate_bps_per_rb

SHORT = {"duration_s": 1200, "step_s": 10, "handsets.spacing_km": 150.0}

# %% [markdown]
# ## The runs
#
# * **moving beams** — the embedded default: TR 38.821 Set-2 beams fixed to the satellite,
#   every beam on at full power on one 5 MHz carrier. The phone's tolerances are split into
#   what they are: 5 kHz of downlink Doppler acquired (an assumption: a phone's cell search
#   already resolves its own oscillator's error before lock, about ±2.5 ppm), the uplink
#   residual the satellite's receiver sees (twice the downlink's; 7.5 kHz, half a
#   subcarrier, an assumption) and the Doppler rate.
# * **Earth-fixed cells** (`beams.mode: earth_fixed`) with the flown array (`satellite.antenna:
#   rectangular`, 2.7 m x 2.3 m) at the filing's 58 dBW per beam: cells of half the beam's
#   3 dB footprint, each served by one steered beam, Doppler and delay pre-compensated for
#   the cell centre. First only the cells that hold one of the simulated phones are lit;
#   then every cell within 106 km of a phone (`beams.cell_fill_km`, the grid spacing / √2):
#   the cells of all the users the phones stand for. Interfering beams carry only their
#   reference signals (`beams.activity: 0.1`, TS 36.211), or are fully loaded (1).

# %%
EARTH_FIXED = {"beams.mode": "earth_fixed", "satellite.antenna": "rectangular",
               "satellite.beamwidth_3db_deg": None, "satellite.aperture_radius_m": None,
               "satellite.eirp_density_dbw_mhz": 51.0, "satellite.max_gain_dbi": 35.4}
CASES = {
    "moving beams (default)": {},
    "moving beams, 750 Hz test envelope": {"link.max_residual_doppler_hz": 750.0},
    "Earth-fixed, occupied cells": EARTH_FIXED,
    "Earth-fixed, every cell lit": {**EARTH_FIXED, "beams.cell_fill_km": 106.0},
    "Earth-fixed, every cell lit, full load": {**EARTH_FIXED, "beams.cell_fill_km": 106.0,
                                               "beams.activity": 1.0},
}


def rate_at_mbps(sinr_db):
    """Rate of a 5 MHz carrier (25 resource blocks) at the CQI of ``sinr_db``
    (TS 36.213 Table 7.2.3-1 via satsim.link.cqi), Mbit/s."""
    cqi = cqi_from_sinr_db(np.array([sinr_db]))
    return float(rate_bps_per_rb(cqi)[0]) * 25 / 1e6


rows, summaries = [], {}
for name, overrides in CASES.items():
    res = satsim.run(satsim.load_scenario(None, overrides={**SHORT, **overrides}), seed=0)
    s = summaries[name] = res.summary
    sinr = s["link"]["dl_sinr_db"]
    status = s["link"]["status_fraction"]
    rows.append({
        "run": name,
        "served %": 100 * s["coverage"]["availability"],
        "satellite above mask %": 100 * s["coverage"]["visible"],
        "Doppler (DL / UL) %": 100 * (status["doppler"] + status["uplink_doppler"]),
        "low SINR %": 100 * status["low_sinr"],
        "SINR p10": sinr["p10"], "SINR p50": sinr["p50"], "SINR p90": sinr["p90"],
        "Mbit/s at p50": rate_at_mbps(sinr["p50"]),
        "handovers / h": s["coverage"]["handovers_per_handset_hour"],
    })
table = pd.DataFrame(rows).set_index("run").round(1)
display(table)

# %% [markdown]
# ## What the numbers say
#
# Every run sees a satellite above the 25° mask nearly all the time: coverage geometry is not
# what separates them.

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
y = np.arange(len(table))
ax.hlines(y, table["SINR p10"], table["SINR p90"], color="C0", lw=3, alpha=0.5,
          label="p10-p90")
ax.plot(table["SINR p50"], y, "o", color="C0", label="median")
ax.axvline(0.0, color="C3", ls="--", label="measured median, arXiv 2506.00283")
ax.set_yticks(y, table.index)
ax.invert_yaxis()
ax.set_xlabel("downlink SINR of served phones (dB)")
ax.grid(alpha=0.3)
ax.legend(loc="lower right", fontsize=8)
plt.tight_layout()

# %% [markdown]
# * **Served time.** Moving beams at the 750 Hz high-speed-train *test* envelope lose most
#   of their time to Doppler: a phone near a moving 55 km beam's edge sees kHz of residual.
#   With the phone's acquisition range and the satellite's uplink receiver as the limits, the
#   same beams serve most of the time. Earth-fixed cells, pre-compensated for a 10 km cell's
#   centre, leave at most ~1.4 kHz at its edge (142 Hz per km from the centre at 360 km):
#   served whenever a satellite is above the mask, which is what "anywhere you can see the
#   sky" says.
# * **SINR.** Moving beams are interference-limited (every beam of every satellite in view at
#   full power on one carrier): their median is a few dB below the measured ~0 dB. Earth-fixed
#   cells with only the simulated phones' cells lit are far *above* it, because the nearest
#   co-channel cells, the ones that dominate reuse-1 interference, are dark. Lighting every
#   cell of the region with lightly loaded beams brings the median close to the measurement;
#   fully loaded everywhere would leave much of the time unserved, which the measured RSRQ
#   (3 dB better than terrestrial: a lightly loaded network) argues against.
# * **Handovers.** Moving beams sweep over the phone; Earth-fixed cells change only when the
#   cell's satellite changes (re-evaluated every 15 s with a 5° hysteresis).

# %%
moving = table.loc["moving beams (default)"]
lit = table.loc["Earth-fixed, every cell lit"]
occupied = table.loc["Earth-fixed, occupied cells"]
# the mechanisms above, as checks on this run (not targets: nothing was tuned to them)
assert moving["served %"] > table.loc["moving beams, 750 Hz test envelope"]["served %"]
assert occupied["SINR p50"] > lit["SINR p50"] > table.loc[
    "Earth-fixed, every cell lit, full load"]["SINR p50"]
assert lit["handovers / h"] < moving["handovers / h"]
print(f"every cell lit, light load: median SINR {lit['SINR p50']:.1f} dB against the measured "
      f"~0 dB; served {lit['served %']:.0f} % of handset-time")

# %% [markdown]
# ## Why the default still runs moving beams
#
# The Earth-fixed model with every user's cell lit is the one that matches the public record
# best, but two things keep it from being the default yet (`docs/calibration.md` has the
# details): the public record does not say how many beams a satellite forms at once (lighting
# every cell of CONUS needs hundreds per satellite), and evaluating every lit beam of every
# satellite in view for every phone costs far more than the default day's 2-minute budget;
# the interference tables of the national-scale work are the way to afford it.
