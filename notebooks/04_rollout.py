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
# # Rollout: SMS, then voice, then data, as the constellation grows
#
# Direct-to-cell services have launched in that order: texting first (T-Mobile's
# satellite texting went live in July 2025, data later; `NTN_REFERENCE.md` §4). Texts can
# wait in the network for the next satellite; a call cannot, and a download wants a
# usable rate. So how many satellites does each service need?
#
# We grow one Walker shell like the default's 53° shell (360 km, 24 planes) **from 48 to
# 720 satellites**, put phones around **40° N** in the central US, switch on SMS, voice and
# data, and run each size for **2 hours** (short, so the notebook stays under a minute; a
# real study would run days and several seeds). For each service we then pick an
# **illustrative** threshold, not a standard or an operator's figure:
#
# | service | metric | threshold (illustrative) |
# | --- | --- | --- |
# | SMS | 90th percentile of delivery latency (messages still undelivered count as late) | ≤ 10 min |
# | voice | call block ratio | ≤ 2 % (the classic grade of service) |
# | data | median effective rate (download size / time from request to completion; aborted = 0) | ≥ 100 kbit/s |

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import satsim

# %% [markdown]
# ## The runs
#
# Traffic per phone is set higher than the defaults (2 texts, 4 call attempts and 2 data
# sessions an hour) so that two hours over 120 phones give hundreds of events per
# service. The phones sit on a 75 km grid, about one per beam, so these runs measure
# coverage and link quality, not beam capacity.
#
# A second set of runs asks *what if* residual Doppler did not limit the service: by
# default a phone is served only where the Doppler left after the satellite's beam-centre
# pre-compensation is within 750 Hz (TS 36.101 Annex B.3, the largest shift LTE phones are
# specified against); the what-if lifts that limit.

# %%
SIZES = [48, 120, 240, 360, 480, 600, 720]
BASE = {
    "duration_s": 2 * 3600,
    "handsets.placement": "grid",
    "handsets.spacing_km": 75,
    "handsets.box": {"lat_min_deg": 37.5, "lat_max_deg": 42.5,
                     "lon_min_deg": -105.0, "lon_max_deg": -90.0},
    "services.sms.mo_per_hour": 1.0,
    "services.sms.mt_per_hour": 1.0,
    "services.sms.mt_retry": "alert",      # the network pages the phone when it is back
    "services.voice.enabled": True,
    "services.voice.calls_per_hour": 4.0,
    "services.data.enabled": True,
    "services.data.sessions_per_hour": 2.0,
}
ASSUMPTIONS = {
    "default link model (750 Hz Doppler tolerance)": {},
    "what-if: any residual Doppler tolerated": {"link.max_residual_doppler_hz": 1e6},
}


def shell(satellites):
    return [{"satellites": satellites, "planes": 24, "phasing": 1,
             "inclination_deg": 53.0, "altitude_km": 360.0}]


def sms_p90_s(sms):
    """90th percentile latency of all offered messages; undelivered ones count as infinite."""
    latency = sms["latency_s"].where(sms["outcome"] == "delivered", np.inf)
    return float(np.quantile(latency, 0.9, method="inverted_cdf"))


def effective_rate_kbps(sessions):
    """Per session: size / (completion - request), kbit/s; aborted sessions 0; in progress out."""
    done = sessions[sessions["outcome"] != "in_progress"]
    return done["throughput_incl_pauses_kbps"].where(done["outcome"] == "completed", 0.0)


rows = []
start = time.perf_counter()
for assumption, extra in ASSUMPTIONS.items():
    for n in SIZES:
        sc = satsim.load_scenario(None, overrides=BASE | extra
                                  | {"constellation.walker": shell(n)})
        res = satsim.run(sc, seed=0)
        s = res.summary
        rows.append({
            "assumption": assumption, "satellites": n,
            "handsets": s["run"]["handsets"],
            "availability": s["coverage"]["availability"],
            "visible": s["coverage"]["visible"],
            "sms_offered": s["sms"]["offered"],
            "sms_delivery_ratio": s["sms"]["delivery_ratio"],
            "sms_p90_s": sms_p90_s(res.sms),
            "calls_offered": s["voice"]["offered"],
            "calls_blocked": s["voice"]["blocked"],
            "voice_block_ratio": s["voice"]["block_ratio"],
            "voice_drop_ratio": s["voice"]["drop_ratio"],
            "sessions": s["data"]["sessions"],
            "data_rate_p50_kbps": effective_rate_kbps(res.sessions).median(),
            "data_active_p50_kbps": s["data"]["throughput_kbps"]["p50"],
            "status": s["link"]["status_fraction"],
        })
runs = pd.DataFrame(rows)
print(f"{len(runs)} runs of {runs['handsets'].iloc[0]} handsets x 2 h in "
      f"{time.perf_counter() - start:.0f} s")
display(runs.drop(columns=["handsets", "status"]).round(3))

# %% [markdown]
# `data_active_p50_kbps` is the summary's throughput: the rate while a session holds a
# share of its beam, pauses excluded, so it is set by the SINR (which more satellites do
# not improve: they also add interference). What a larger constellation changes is the
# time a download spends paused in a gap, or aborted after 60 s of it, which the effective
# rate counts.
#
# ## How many satellites does each service need?

# %%
SERVICES = [
    # (column, title, y label, threshold, "below" or "above" is good, scale)
    ("sms_p90_s", "SMS: 90th percentile latency", "latency (min)", 600.0, "below", 1 / 60),
    ("voice_block_ratio", "Voice: call block ratio", "blocked calls (%)", 0.02, "below", 100),
    ("data_rate_p50_kbps", "Data: median effective rate", "rate (kbit/s)", 100.0, "above", 1),
]


def wilson_interval(k, n, z=1.96):
    """95 % Wilson score interval of a binomial proportion k / n."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def satellites_needed(t, column, threshold, good):
    ok = t[column] <= threshold if good == "below" else t[column] >= threshold
    # the smallest size from which every larger size also meets the threshold
    needed = None
    for n, passed in zip(t["satellites"][::-1], ok[::-1]):
        if not passed:
            break
        needed = int(n)
    return needed


fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), layout="constrained")
answers = {}
for ax, (col, title, ylabel, thr, good, scale) in zip(axes, SERVICES):
    service = title.split(":")[0]
    for i, (assumption, t) in enumerate(runs.groupby("assumption", sort=False)):
        ax.plot(t["satellites"], t[col] * scale, "o-" if i == 0 else "s--", color=f"C{i}",
                label=assumption)
        needed = satellites_needed(t, col, thr, good)
        answers.setdefault(service, {})[assumption] = needed
        if needed is not None:
            y = float(t.loc[t["satellites"] == needed, col].iloc[0]) * scale
            ax.plot(needed, y, "*", ms=16, color=f"C{i}", mec="k")
        if col == "voice_block_ratio":
            lo, hi = wilson_interval(t["calls_blocked"], t["calls_offered"])
            ax.fill_between(t["satellites"], lo * scale, hi * scale, color=f"C{i}", alpha=0.15,
                            label="95 % interval of the block ratio (Wilson)" if i == 0 else None)
            ax.plot(t["satellites"], t["voice_drop_ratio"] * scale, ":", color=f"C{i}",
                    label="drop ratio of admitted calls" if i == 0 else None)
    ax.axhline(thr * scale, color="r", lw=1.2, label="threshold (illustrative)")
    ax.set_xlabel("satellites in the 53° shell")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_xticks(SIZES)
    ax.grid(alpha=0.3, which="both")
axes[0].set_yscale("log")
axes[1].set_yscale("log")
axes[2].set_yscale("symlog", linthresh=1.0)   # aborted downloads make the median 0
axes[2].set_ylim(0, None)
fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
fig.suptitle("Rollout at 40° N, each service against constellation size "
             "(stars: the satellites needed)")
plt.show()


def needed_text(n):
    if n is None:
        return f"not met by {SIZES[-1]}"
    smaller = [m for m in SIZES if m < n]
    return f"> {smaller[-1]}, ≤ {n}" if smaller else f"≤ {n} (the smallest run)"


answer = pd.DataFrame({svc: {a: needed_text(n) for a, n in by.items()}
                       for svc, by in answers.items()}).T
answer.index.name = "satellites needed"
display(answer)
for assumption, t in runs.groupby("assumption", sort=False):
    n = answers["Voice"][assumption]
    if n is not None:
        row = t[t["satellites"] == n].iloc[0]
        lo, hi = wilson_interval(row["calls_blocked"], row["calls_offered"])
        print(f"{assumption}: voice block ratio at {n} satellites "
              f"{row['voice_block_ratio']:.1%} ({row['calls_blocked']} of "
              f"{row['calls_offered']} attempts; 95 % interval {lo:.1%}-{hi:.1%})")

# %% [markdown]
# Reading the plot: SMS is the first service a small constellation can carry, since a
# text only has to wait for the next pass. A call needs a beam at the moment it is placed
# and for its whole length, so blocking falls only once coverage is nearly continuous,
# and the dotted drop ratio shows how often an admitted call is lost to a gap or a fade
# longer than T310 (1 s, TS 36.331). At 10 s steps every unserved step is an outage
# longer than T310, so that ratio is a pessimistic reading at this time resolution. The
# block ratio's interval is wide next to a 2 % threshold: the voice answer is good to
# about one step of the size grid. The status breakdown below says how much of the
# time the link model serves at the largest size, and why not the rest; the what-if shows
# how much of the answer hangs on the one Doppler tolerance.

# %%
status = pd.DataFrame([r["status"] for _, r in runs.iterrows()],
                      index=pd.MultiIndex.from_frame(runs[["assumption", "satellites"]]))
display((100 * status.xs(SIZES[-1], level="satellites")).round(1).rename_axis(
    f"link status at {SIZES[-1]} satellites (% of samples)", axis=1))
