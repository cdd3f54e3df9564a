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
# # Quick start: the default scenario through the Python API
#
# satsim's embedded default scenario is 648 Starlink-Direct-to-Cell-like satellites (two
# Walker shells at about 360 km, 53° and 43°, fitted to CelesTrak's 2025-10-27 `[DTC]`
# snapshot) over a grid of phones across the contiguous US, sending SMS through the
# satellites' beams. The full scenario is one day at 10 s steps over ~3,000 handsets and
# takes a couple of minutes; here we **shorten it to 3 hours and a 150 km handset grid**
# so the notebook runs in seconds. Everything else is the default.
#
# The same run from the command line would be
# `satsim run --set duration_s=10800 --set handsets.spacing_km=150`.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

import satsim
from satsim.results.plots import plot_coverage_map

print("satsim", satsim.__version__)

# %% [markdown]
# ## Load and run
#
# `load_scenario(None)` is the embedded default (`scenarios/default.yaml` spells it out);
# `overrides` take any key path of the scenario, as `--set` does on the command line.

# %%
sc = satsim.load_scenario(None, overrides={"duration_s": 3 * 3600, "handsets.spacing_km": 150})
print(sc.name, "|", sc.duration_s / 3600, "h at", sc.step_s, "s steps |",
      sum(shell.satellites for shell in sc.constellation.walker), "satellites")

res = satsim.run(sc, seed=0)
res

# %% [markdown]
# ## The summary
#
# `res.summary` is the content of `summary.json`: plain numbers, the same for the same
# scenario and seed. *Availability* is the fraction of handset-time served by a beam;
# *visible* only asks for a satellite above the 25° elevation mask. The link status
# fractions say why a visible satellite did not serve: outside every beam, SINR too low,
# or residual Doppler / differential delay beyond what an unmodified phone tolerates.

# %%
s = res.summary
cov, sms = s["coverage"], s["sms"]
print(f"{s['run']['satellites']} satellites, {s['run']['handsets']} handsets "
      f"({s['run']['handsets_label']}), {s['run']['steps']} time steps")
print(f"availability (served by a beam): {cov['availability']:.1%}")
print(f"a satellite above the mask:      {cov['visible']:.1%}"
      f"  (on average {cov['mean_visible']:.1f} in view)")
print(f"service gaps: {cov['gaps']:,}; p50 {cov['gap_s']['p50']:.0f} s, "
      f"p95 {cov['gap_s']['p95']:.0f} s, longest {cov['gap_s']['max']:.0f} s")
print("link status:", {k: round(v, 3) for k, v in s["link"]["status_fraction"].items()})
print("downlink SINR of served samples, dB:", s["link"]["dl_sinr_db"])
print(f"SMS: {sms['offered']} offered, delivery ratio {sms['delivery_ratio']:.1%}; latency "
      + ", ".join(f"{k} {v:.0f} s" for k, v in sms["latency_s"].items() if k != "mean"))

# %% [markdown]
# ## The tables
#
# Every table is a pandas DataFrame: one row per handset, per time step, per gap, per
# message... Times are seconds since the run's epoch (`res.summary["run"]["epoch"]`).

# %%
display(res.handsets.head())
display(res.timeseries.head())
display(res.sms.head())
print("tables:", ", ".join(f"{name} ({len(df):,} rows)" for name, df in res.tables.items()))

# %% [markdown]
# Tables answer questions the summary does not, for instance how MO (phone to network)
# and MT (network to phone) messages differ: an MO message waits on the phone only until
# a beam is overhead; an MT message waits for the network's next retry (every 300 s by
# default) to find the phone served.

# %%
delivered = res.sms[res.sms["outcome"] == "delivered"]
display(delivered.groupby("direction")["latency_s"].describe(percentiles=[0.5, 0.9, 0.99]))

# %% [markdown]
# ## Two plots
#
# First, where the service is: the fraction of time each place was served, drawn by
# satsim's own results plot (the one `satsim run` writes to `plots/`).

# %%
fig = plot_coverage_map(res.tables)
display(fig)

# %% [markdown]
# Second, how it varies in time and what a text waits: satellites in view and the share of
# handsets served at each step, and the distribution of SMS delivery latency by direction.

# %%
ts = res.timeseries
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
hours = ts["time_s"] / 3600
ax1.plot(hours, ts["mean_visible"], label="satellites in view (mean over handsets)")
ax1.set_xlabel("time since epoch (h)")
ax1.set_ylabel("satellites above 25°")
ax1.set_ylim(0, 1.25 * ts["mean_visible"].max())
ax1b = ax1.twinx()
ax1b.plot(hours, 100 * ts["served_fraction"], color="C1", lw=0.8, label="handsets served")
ax1b.set_ylabel("handsets served (%)")
ax1b.set_ylim(0, 100)
ax1.set_title("Satellites in view and handsets served, per 10 s step")
ax1.legend(handles=ax1.get_lines() + ax1b.get_lines(), loc="lower right", fontsize=8)

for direction, grp in delivered.groupby("direction"):
    lat = np.sort(grp["latency_s"].to_numpy())
    ax2.step(lat, np.arange(1, lat.size + 1) / lat.size, where="post",
             label=f"{direction} ({lat.size} delivered)")
ax2.set_xscale("log")
ax2.set_xlabel("delivery latency (s)")
ax2.set_ylabel("fraction of delivered messages")
ax2.set_title("SMS delivery latency (CDF)")
ax2.grid(True, which="both", alpha=0.3)
ax2.legend()
plt.show()

# %% [markdown]
# ## Next
#
# * `res.write("results/my-run")` writes the results folder (`summary.json`, Parquet
#   tables, plots, `report.html`), as `satsim run` does; `satsim.Results.load` reads it back.
# * `02_link_budget` opens the radio link, `03_coverage_gaps` the geometry of gaps against
#   latitude, `04_rollout` what each service needs as the constellation grows.
