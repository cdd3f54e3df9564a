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
# # Coverage gaps against latitude
#
# A direct-to-cell constellation in inclined orbits covers the Earth unevenly: satellites
# crowd towards the latitude of their inclination, thin out at the equator, and never rise
# high enough beyond it. Here we count, for phones spread over latitude, how often at
# least one satellite is above the 25° elevation mask, and how long the gaps between
# passes last, for
#
# * satsim's default constellation: 648 satellites in two Walker shells at about 360 km,
#   53° and 43° (fitted to CelesTrak's Starlink `[DTC]` satellites of 2025-10-27,
#   `satsim/orbits/defaults.py`);
# * the real snapshot of those satellites, `starlink_dtc_2025-300.tle`, when it is at hand
#   (it is not shipped with satsim; see the note printed below if it is missing).
#
# This is geometry only (`satsim.coverage`): a satellite in view, not yet a beam that
# serves. The last section compares the two.

# %%
# %matplotlib inline
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import satsim
from satsim import Handsets, TimeGrid, coverage, default_constellation, load_tle

# %% [markdown]
# ## Phones along the latitudes, twelve hours
#
# Handsets every 2° of latitude from the equator to 70° N, on 12 meridians 30° apart (the
# constellation is symmetric north-south, so the southern hemisphere mirrors this), for
# one day at 10 s steps from the snapshot's epoch, 2025-10-27 00:00 UTC. Gaps are resolved
# to the 10 s step.

# %%
EPOCH = "2025-10-27T00:00:00Z"
MIN_ELEVATION_DEG = 25.0
lat_deg = np.arange(0.0, 70.1, 2.0)
lon_deg = np.arange(-180.0, 180.0, 30.0)
grid_lat, grid_lon = np.meshgrid(lat_deg, lon_deg, indexing="ij")
handsets = Handsets.from_points(grid_lat.ravel(), grid_lon.ravel(), label="meridians")
times = TimeGrid.from_duration(EPOCH, duration_s=24 * 3600, step_s=10)
print(f"{len(handsets)} handsets, {len(times)} time steps")

# %% [markdown]
# ## The real snapshot, if present
#
# Looked for in `$SATSIM_TLE_DATA`, then in `../shared/data/tle/` beside the repository
# (as the test suite does).


# %%
def find_snapshot(name="starlink_dtc_2025-300.tle"):
    folders = []
    if os.environ.get("SATSIM_TLE_DATA"):
        folders.append(Path(os.environ["SATSIM_TLE_DATA"]))
    repo = Path(satsim.__file__).resolve().parents[1]          # an editable install
    folders += [repo.parent / "shared" / "data" / "tle",
                Path.cwd().resolve().parent.parent / "shared" / "data" / "tle"]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


constellations = {"default (Walker fit)": default_constellation()}
snapshot = find_snapshot()
if snapshot is None:
    print("NOTE: starlink_dtc_2025-300.tle not found (set SATSIM_TLE_DATA to its folder); "
          "showing the default constellation only.")
else:
    constellations["real [DTC] snapshot 2025-10-27"] = load_tle(snapshot, name_contains="[DTC]")
for name, c in constellations.items():
    print(f"{name}: {len(c)} satellites, altitude {np.min(c.altitude_km):.0f}-"
          f"{np.max(c.altitude_km):.0f} km, inclinations "
          f"{sorted({int(round(x)) for x in c.inclination_deg})} deg")

# %%
covs = {name: coverage(c, handsets, times, min_elevation_deg=MIN_ELEVATION_DEG)
        for name, c in constellations.items()}
for name, cov in covs.items():
    s = cov.summary()
    print(f"{name}: availability {s['availability']:.1%} over all handsets, "
          f"{s['mean_visible']:.2f} satellites in view on average, {s['gaps']:,} gaps")

# %% [markdown]
# ## Availability against latitude
#
# The fraction of time a satellite is in view, averaged over the 12 meridians, and the
# mean number in view.

# %%
def by_latitude(cov):
    ph = cov.per_handset()
    return ph.groupby("lat_deg")[["availability", "mean_visible"]].mean()


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for i, (name, cov) in enumerate(covs.items()):
    t = by_latitude(cov)
    ax1.plot(t.index, 100 * t["availability"], "o-", ms=3, color=f"C{i}", label=name)
    ax2.plot(t.index, t["mean_visible"], "o-", ms=3, color=f"C{i}", label=name)
for ax in (ax1, ax2):
    for inc in (43, 53):
        ax.axvline(inc, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("latitude (° N)")
    ax.grid(alpha=0.3)
ax1.set_ylabel("time with a satellite above 25° (%)")
ax1.set_title("Availability against latitude (geometric)")
ax2.set_ylabel("satellites above 25°, time average")
ax2.set_title("Satellites in view against latitude")
ax1.legend(fontsize=8)
plt.show()
table = pd.concat({name: cov.by_latitude(10.0) for name, cov in covs.items()}, axis=1)
display(table.round(3))

# %% [markdown]
# ## Gap durations against latitude
#
# Every gap of every phone, pooled per latitude: median, 95th percentile and longest.
# Gaps cut by the start or end of the run (*censored*) are left out of the percentiles;
# where no satellite ever rises above the mask the whole run is one censored gap and the
# latitude has no finite gap statistics (the grey band); latitudes where every phone had a
# satellite in view all day have no gap at all (crosses).

# %%
def gap_stats(cov):
    g = cov.gaps.copy()
    g["lat_deg"] = cov.handsets.lat_deg[g["handset"].to_numpy()]
    full = g[~g["censored"]]
    stats = full.groupby("lat_deg")["duration_s"].agg(
        p50=lambda d: np.percentile(d, 50), p95=lambda d: np.percentile(d, 95), max="max",
        gaps="size")
    return stats.reindex(lat_deg)


fig, axes = plt.subplots(1, len(covs), figsize=(5.5 * len(covs), 4), layout="constrained",
                         sharey=True, squeeze=False)
for ax, (name, cov) in zip(axes[0], covs.items()):
    st = gap_stats(cov)
    ax.fill_between(st.index, st["p50"], st["p95"], alpha=0.3, label="median to p95")
    ax.plot(st.index, st["p50"], "o-", ms=3, label="median")
    ax.plot(st.index, st["max"], "k.", ms=4, label="longest")
    avail = by_latitude(cov)["availability"]
    never, always = avail == 0, avail == 1
    ax.plot(always[always].index, np.full(always.sum(), 7.0), "x", color="C2",
            label="no gap all day")
    if never.any():
        ax.axvspan(never[never].index.min() - 1, lat_deg.max() + 1, color="gray", alpha=0.2,
                   label="never in view")
    ax.set_yscale("log")
    ax.set_xlabel("latitude (° N)")
    ax.set_title(name)
    ax.grid(alpha=0.3, which="both")
axes[0, 0].set_ylabel("gap duration (s)")
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=5,
           fontsize=8)
fig.suptitle("Coverage gaps against latitude (satellite above 25°, 24 h)")
plt.show()

# %% [markdown]
# And the whole distribution at a few latitudes: the share of gaps no longer than a given
# duration (empirical CDF), for the default constellation.

# %%
cov = covs["default (Walker fit)"]
g = cov.gaps[~cov.gaps["censored"]].copy()
g["lat_deg"] = cov.handsets.lat_deg[g["handset"].to_numpy()]
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for lat in (0.0, 20.0, 30.0, 50.0, 58.0):
    d = np.sort(g.loc[g["lat_deg"] == lat, "duration_s"].to_numpy())
    if d.size:
        ax.step(d, np.arange(1, d.size + 1) / d.size, where="post",
                label=f"{lat:.0f}° N ({d.size} gaps)")
    else:
        print(f"{lat:.0f}° N: no complete gap in the run")
ax.set_xscale("log")
ax.set_xlabel("gap duration (s)")
ax.set_ylabel("fraction of gaps")
ax.set_title("Gap-duration CDF at selected latitudes, default constellation")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## In view is not served
#
# A satellite above the mask still has to put a usable beam on the phone: inside a beam,
# SINR above the lowest CQI, residual Doppler and differential delay within what an
# unmodified phone tolerates. The full simulation (`satsim.run`) over the same
# latitudes on one meridian, two hours, SMS only, separates the two.

# %%
points = [{"lat_deg": float(la), "lon_deg": -100.0} for la in lat_deg]
sim = satsim.run(satsim.load_scenario(None, overrides={
    "duration_s": 2 * 3600, "handsets.placement": "points", "handsets.points": points}), seed=0)
hs = sim.handsets
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.plot(hs["lat_deg"], 100 * hs["visible_fraction"], "o-", ms=3, label="satellite above 25°")
ax.plot(hs["lat_deg"], 100 * hs["served_fraction"], "o-", ms=3, label="served by a beam")
ax.set_xlabel("latitude (° N), at 100° W")
ax.set_ylabel("time (%)")
ax.set_ylim(0, 105)
ax.set_title("Default scenario, 2 h: in view against served")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()
print("why visible satellites did not serve (share of all samples):",
      {k: round(v, 3) for k, v in sim.summary["link"]["status_fraction"].items()})
