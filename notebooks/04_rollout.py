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
# usable rate. So how many satellites does each service need, and does the answer depend
# on where the phones are?
#
# We grow one Walker shell like the default's 53° shell (360 km, 24 planes) **from 48 to
# 720 satellites**, put phones in two boxes of the same size, around **40° N** in the
# central US and around **30° N** along the Gulf coast, switch on SMS, voice, data and app
# calls, and run each size for **2 hours** (short, so the notebook stays around a minute;
# a real study would run days and several seeds). The radio is the embedded default's:
# Earth-fixed cells served by the Starlink DTC array (`docs/calibration.md`). For each
# service we then pick an **illustrative** threshold, not a standard or an operator's
# figure:
#
# | service | metric | threshold (illustrative) |
# | --- | --- | --- |
# | SMS | 90th percentile of delivery latency (messages still undelivered count as late) | ≤ 10 min |
# | native voice | call block ratio | ≤ 2 % (the classic grade of service) |
# | native voice | good calls: completed, at most 5 % of the time silent | ≥ 95 % of attempts |
# | app call | good calls: as voice, and a mouth-to-ear delay within ITU-T G.114's 150 ms | ≥ 95 % of attempts |
# | data | median effective rate (download size / time from request to completion; aborted = 0) | ≥ 100 kbit/s |
#
# The last section asks the question behind app calling: a call placed from a messaging
# app over data (Opus audio, no phone number) against the operator's native voice, on the
# same runs: which one works first as the constellation grows?

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
# **The radio** is the embedded default's cell model: hexagonal cells of 9.6 km radius
# fixed on the ground, each served by one beam of the flown 2.7 m x 2.3 m array at the
# filing's 58 dBW per 5 MHz, steered to the cell's centre, with Doppler and delay
# pre-compensated for that centre. Every cell within 106 km of a phone is lit
# (`beams.cell_fill_km`: the whole box and a fringe around it, the cells of all the users
# the phones stand for), and the beams interfering with a phone's carry only reference
# signals (`beams.activity` 0.1, an idle LTE cell). Residual Doppler no longer decides
# service: at a cell's edge it is about 1.4 kHz, within the phone's 5 kHz downlink and the
# satellite receiver's 7.5 kHz uplink tolerances (both assumptions, stated in the
# schema). What decides it is geometry (a satellite above the 25° mask) and the SINR
# against the neighbouring cells' beams.
#
# **The phones** sit on a 75 km grid, one in every twenty-odd cells and never two in one,
# so these runs measure coverage and link quality, not cell capacity: the load of the
# other cells is the stated activity, not this traffic. Traffic per phone is set higher
# than the defaults (2 texts, 4 native calls, 4 app calls and 2 data sessions an hour) so
# that two hours over about 120 phones give hundreds of events per service.
#
# **Two latitudes.** A satellite on an inclined circular orbit spends more of its time
# near its turning latitude (53° here) than near the equator: the density of its ground
# track per unit area goes as 1 / √(sin² 53° − sin² φ), 1.3 times as high at 40° N as at
# 30° N. The boxes are 5° of latitude by 15° of longitude: 37.5-42.5° N, 105-90° W
# (Colorado to Illinois) and 27.5-32.5° N, 100-85° W (south Texas to the Florida
# panhandle; the southern phones stand in the Gulf of Mexico, where the model sees the
# same open rural site as on land).
#
# **The old model** for comparison, at 40° N: the default before issue 12, moving
# TR 38.821 Set-2 beams (a lattice fixed to the satellite, 24 dBi circular aperture,
# 28 dBW/MHz, every beam on), Doppler pre-compensated for the beam's centre, with the same
# phone tolerances.

# %%
SIZES = [48, 120, 240, 360, 480, 600, 720]
DURATION_H = 2
BASE = {
    "duration_s": DURATION_H * 3600,
    "handsets.placement": "grid",
    "handsets.spacing_km": 75,
    "services.sms.mo_per_hour": 1.0,
    "services.sms.mt_per_hour": 1.0,
    "services.sms.mt_retry": "alert",      # the network pages the phone when it is back
    "services.voice.enabled": True,
    "services.voice.calls_per_hour": 4.0,
    "services.data.enabled": True,
    "services.data.sessions_per_hour": 2.0,
    "services.app_call.enabled": True,     # app calls over data (Opus audio, 49.6 kbit/s)
    "services.app_call.calls_per_hour": 4.0,
}
BOX_40N = {"lat_min_deg": 37.5, "lat_max_deg": 42.5, "lon_min_deg": -105.0, "lon_max_deg": -90.0}
BOX_30N = {"lat_min_deg": 27.5, "lat_max_deg": 32.5, "lon_min_deg": -100.0, "lon_max_deg": -85.0}
#: The default before issue 12: moving TR 38.821 Set-2 beams.
OLD_MODEL = {"beams.mode": "moving", "satellite.antenna": "circular",
             "satellite.eirp_density_dbw_mhz": 28.0, "satellite.max_gain_dbi": 24.0}
SERIES = {  # name: (handset box, further overrides)
    "40° N": (BOX_40N, {}),
    "30° N": (BOX_30N, {}),
    "40° N, old model (moving beams)": (BOX_40N, OLD_MODEL),
}
#: Cell-model series: the two latitudes the answers are about.
LATITUDES = ["40° N", "30° N"]
STYLE = {"40° N": ("C0", "o-"), "30° N": ("C1", "s-"),
         "40° N, old model (moving beams)": ("0.5", "^--")}


def shell(satellites):
    return [{"satellites": satellites, "planes": 24, "phasing": 1,
             "inclination_deg": 53.0, "altitude_km": 360.0}]


def sms_p90_s(sms):
    """90th percentile latency of all offered messages; undelivered ones count as infinite."""
    latency = sms["latency_s"].where(sms["outcome"] == "delivered", np.inf)
    return float(np.quantile(latency, 0.9, method="inverted_cdf"))


#: A call is good if it completes with at most this share of its time without its rate
#: (fades, handover interruptions, and for an app call a congested share), an app call
#: also with a mouth-to-ear delay within ITU-T G.114's 150 ms (illustrative thresholds).
GOOD_DEGRADED_FRACTION = 0.05
G114_GOOD_S = 0.150


def voice_good_ratio(calls):
    """Share of finished call attempts that completed with at most
    GOOD_DEGRADED_FRACTION of their time in fades or handover interruptions."""
    done = calls[calls["outcome"] != "in_progress"]
    silent = (done["outage_s"] + done["interruption_s"]) / done["duration_s"]
    good = (done["outcome"] == "completed") & (silent <= GOOD_DEGRADED_FRACTION)
    return float(good.mean())


def app_call_good_ratio(app):
    """Share of finished app call attempts that completed, degraded at most
    GOOD_DEGRADED_FRACTION of the time, with a delay within G.114's 150 ms."""
    done = app[app["outcome"] != "in_progress"]
    good = ((done["outcome"] == "completed")
            & (done["degraded_fraction"] <= GOOD_DEGRADED_FRACTION)
            & (done["delay_s"] <= G114_GOOD_S))
    return float(good.mean())


def effective_rate_kbps(sessions):
    """Per session: size / (completion - request), kbit/s; aborted sessions 0; in progress out."""
    done = sessions[sessions["outcome"] != "in_progress"]
    return done["throughput_incl_pauses_kbps"].where(done["outcome"] == "completed", 0.0)


rows = []
start = time.perf_counter()
for series, (box, extra) in SERIES.items():
    for n in SIZES:
        sc = satsim.load_scenario(None, overrides=BASE | extra | {
            "handsets.box": box, "constellation.walker": shell(n)})
        res = satsim.run(sc, seed=0)
        s = res.summary
        rows.append({
            "series": series, "satellites": n,
            "handsets": s["run"]["handsets"],
            "availability": s["coverage"]["availability"],
            "visible": s["coverage"]["visible"],
            "mean_visible": s["coverage"]["mean_visible"],
            "sinr_p50_db": s["link"]["dl_sinr_db"]["p50"],
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
            "voice_good_ratio": voice_good_ratio(res.calls),
            "app_calls_offered": s["app_call"]["offered"],
            "app_call_good_ratio": app_call_good_ratio(res.tables["app_calls"]),
            "app_call_block_ratio": s["app_call"]["block_ratio"],
            "app_call_drop_ratio": s["app_call"]["drop_ratio"],
            "app_call_degraded_fraction": s["app_call"]["degraded_fraction"],
            "app_call_delay_p95_ms": 1000 * (s["app_call"]["delay_s"]["p95"] or np.nan),
            "status": s["link"]["status_fraction"],
        })
runs = pd.DataFrame(rows)
phones = runs.groupby("series", sort=False)["handsets"].first()
print(f"{len(runs)} runs x {DURATION_H} h in {time.perf_counter() - start:.0f} s; handsets: "
      + ", ".join(f"{k} {v}" for k, v in phones.items()))
display(runs.drop(columns=["handsets", "status"]).round(3))

# Mechanisms, not numbers: at each latitude more satellites put more of them in view on
# average, and the sparser ground tracks at 30° N put fewer in view there than at 40° N.
for series, t in runs.groupby("series", sort=False):
    assert (np.diff(t["mean_visible"]) > 0).all(), (series, t["mean_visible"].tolist())
vis = runs.pivot(index="satellites", columns="series", values="mean_visible")
assert (vis["30° N"] < vis["40° N"]).all(), vis

# %% [markdown]
# `visible` is the share of time a satellite is above the 25° mask, `mean_visible` how
# many are on average: at every size the 30° N phones see fewer than the 40° N ones, as
# the orbit's geometry says, and `availability` (served) follows `visible` until the
# constellation is dense. Three things the table shows that are not simply "more is
# better":
#
# * **Served time levels off at about 97.5 %.** From about 480 satellites a satellite is
#   in view nearly always, and what is left is low SINR: phones near the edge of their
#   cell, between co-channel cells that every satellite in view lights (the `low_sinr`
#   status below). More satellites do not remove it, so served time stops growing (and
#   moves by a few samples either way).
# * **The SINR rises with the constellation** in the cell model (`sinr_p50_db`): a cell
#   is served by its highest satellite, so with more satellites its beam comes from
#   higher up, where the neighbouring cells' centres are further apart in angle as the
#   satellite sees them and their beams reach the phone further down their pattern. The
#   old model goes the other way: every satellite lights all its moving beams, so more
#   satellites are more interferers. `data_active_p50_kbps` (the rate while a session
#   holds a share of its beam, pauses excluded) follows the SINR; the effective rate also
#   counts the time a download spends paused in a gap, or aborted after 60 s of it.
# * **At 30° N, 600 satellites serve less than 480.** A Walker shell of 600 is not 480
#   plus 120: with 25 satellites per plane and phasing 1 the planes' satellites line up
#   so that the pattern leaves recurring holes around 30° N. Another phasing of the same
#   600 satellites closes them (the cell below). The rollout answer at one latitude can
#   hang on the shell's phasing, not only its size.

# %%
check = []
for phasing in (1, 6):
    walker = shell(600)
    walker[0]["phasing"] = phasing
    s = satsim.run(satsim.load_scenario(None, overrides=BASE | {
        "handsets.box": BOX_30N, "constellation.walker": walker}), seed=0).summary
    check.append({"shell at 30° N": f"53°:600/24/{phasing}",
                  "visible": s["coverage"]["visible"],
                  "availability": s["coverage"]["availability"],
                  "mean_visible": s["coverage"]["mean_visible"]})
display(pd.DataFrame(check).set_index("shell at 30° N").round(3))

# %% [markdown]
# ## How many satellites does each service need?

# %%
THRESHOLDS = [
    # (service, column, threshold, "below" or "above" is good)
    ("SMS: p90 latency ≤ 10 min", "sms_p90_s", 600.0, "below"),
    ("native voice: block ratio ≤ 2 %", "voice_block_ratio", 0.02, "below"),
    ("native voice: ≥ 95 % good calls", "voice_good_ratio", 0.95, "above"),
    ("app call: ≥ 95 % good calls", "app_call_good_ratio", 0.95, "above"),
    ("data: median effective rate ≥ 100 kbit/s", "data_rate_p50_kbps", 100.0, "above"),
]
PLOTS = [
    # (column, title, y label, scale)
    ("sms_p90_s", "SMS: 90th percentile latency", "latency (min)", 1 / 60),
    ("voice_block_ratio", "Voice: call block ratio", "blocked calls (%)", 100),
    ("data_rate_p50_kbps", "Data: median effective rate", "rate (kbit/s)", 1),
]


def wilson_interval(k, n, z=1.96):
    """95 % Wilson score interval of a binomial proportion k / n."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def satellites_needed(t, column, threshold, good):
    """The smallest size from which every larger size also meets the threshold (None: not
    met at the largest size)."""
    ok = t[column] <= threshold if good == "below" else t[column] >= threshold
    needed = None
    for n, passed in zip(t["satellites"][::-1], ok[::-1]):
        if not passed:
            break
        needed = int(n)
    return needed


needed = {series: {svc: satellites_needed(t, col, thr, good)
                   for svc, col, thr, good in THRESHOLDS}
          for series, t in runs.groupby("series", sort=False)}

fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), layout="constrained")
for ax, (col, title, ylabel, scale) in zip(axes, PLOTS):
    svc, _, thr, _ = next(x for x in THRESHOLDS if x[1] == col)
    for series, t in runs.groupby("series", sort=False):
        color, style = STYLE[series]
        ax.plot(t["satellites"], t[col] * scale, style, color=color, label=series)
        n = needed[series][svc]
        if n is not None:
            y = float(t.loc[t["satellites"] == n, col].iloc[0]) * scale
            ax.plot(n, y, "*", ms=16, color=color, mec="k")
        if col == "voice_block_ratio" and series in LATITUDES:
            lo, hi = wilson_interval(t["calls_blocked"], t["calls_offered"])
            ax.fill_between(t["satellites"], lo * scale, hi * scale, color=color, alpha=0.15,
                            label="95 % interval of the block ratio (Wilson)"
                            if series == LATITUDES[0] else None)
            ax.plot(t["satellites"], t["voice_drop_ratio"] * scale, ":", color=color,
                    label="drop ratio of admitted calls" if series == LATITUDES[0] else None)
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
fig.suptitle("Rollout at 40° N and 30° N, each service against constellation size "
             "(stars: the satellites needed)")
plt.show()


def needed_text(n):
    return f"> {SIZES[-1]}" if n is None else str(n)


answer = pd.DataFrame({series: {svc: needed_text(n) for svc, n in by.items()}
                       for series, by in needed.items()})
answer.index.name = "satellites needed (illustrative thresholds)"
display(answer)
for series in LATITUDES:
    t = runs[runs["series"] == series]
    n = needed[series]["native voice: block ratio ≤ 2 %"]
    if n is not None:
        row = t[t["satellites"] == n].iloc[0]
        lo, hi = wilson_interval(row["calls_blocked"], row["calls_offered"])
        print(f"{series}: voice block ratio at {n} satellites "
              f"{row['voice_block_ratio']:.1%} ({row['calls_blocked']} of "
              f"{row['calls_offered']} attempts; 95 % interval {lo:.1%}-{hi:.1%})")

# Mechanisms, not numbers: a text can wait for the next pass, a call cannot, so at each
# latitude SMS never needs more satellites than native voice's grade of service.
for series in LATITUDES:
    sms = needed[series]["SMS: p90 latency ≤ 10 min"]
    voice = needed[series]["native voice: block ratio ≤ 2 %"]
    assert (sms or np.inf) <= (voice or np.inf), (series, sms, voice)

# %% [markdown]
# "Satellites needed" is the smallest size of the grid from which every larger size also
# meets the threshold, so the answer is good to one step of the grid (48, 120, then
# 120 more each), and "> 720" says the largest run missed it.
#
# Reading the plot: SMS is the first service a small constellation can carry, since a
# text only has to wait for the next pass. A call needs a served cell at the moment it is
# placed and for its whole length, so blocking falls only once coverage is nearly
# continuous, and the dotted drop ratio shows how often an admitted call is lost to a gap
# or a fade longer than T310 (1 s, TS 36.331). The link is sampled every 10 s; the edges
# of a gap are timed between samples, but a fade seen at one sample lasts about a step,
# far longer than T310, so that ratio is a pessimistic reading at this time resolution.
# Data needs less than voice at this threshold: the median download is a few kilobytes
# and finishes in any served stretch.
#
# The voice answer needs care. On the cell model the block ratio levels off at about the
# share of time at low SINR (a couple of per cent, the cell edges), which no number of
# satellites removes, and the illustrative 2 % sits right on that floor: whether a size
# meets it is decided by a handful of calls, inside the block ratio's 95 % interval. So
# read the voice row as "once coverage is continuous, about as good as the cell edges
# allow": the block ratio reaches that floor at about 480 satellites at 40° N and only at
# 720 at 30° N (where 600 loses ground to the phasing holes above), and whether the table
# then says "met" is decided by a handful of calls. The 30° N phones need more satellites for
# every service, as the sparser ground tracks there say. The old model's series shows how
# much of the answer hangs on the beam model. The status breakdown below says how much of
# the time the link model serves at the largest size, and why not the rest.

# %%
status = pd.DataFrame([r["status"] for _, r in runs.iterrows()],
                      index=pd.MultiIndex.from_frame(runs[["series", "satellites"]]))
status = status.loc[:, (status > 0).any()]
display((100 * status.xs(SIZES[-1], level="satellites")).round(1).rename_axis(
    f"link status at {SIZES[-1]} satellites (% of samples)", axis=1))

# %% [markdown]
# ## Native voice or an app call: which works first?
#
# The same runs carried app calls: Opus audio at 28 kbit/s (RFC 7587's fullband speech
# range) with its IP / UDP / RTP / SRTP headers, 49.6 kbit/s on the cell's best-effort
# data share, where native voice (AMR-WB, 16.65 kbit/s with compressed headers) holds
# reserved RBs. An app call is set up only if the data share gives it its rate at once; it
# is *degraded* while it gets less (a congested share, a handover, a gap) and dropped on a
# radio-link failure by the same T310 / T311 rules as voice. Its mouth-to-ear delay is the
# propagation (service + feeder link) plus the beam's scheduling delay plus a stated
# budget: 30 ms ground segment, 26.5 ms Opus frame and look-ahead, 50 ms jitter buffer
# (`satsim.scheduler.app_call`).
#
# The yardstick is the same for both (illustrative, not a standard): the share of
# attempts that give a **good call**, at least 95 %. A call is good if it completes with
# at most 5 % of its time silent (fades, handover interruptions; for the app call also a
# share too congested for its rate); an app call also needs a mouth-to-ear delay within
# ITU-T G.114's 150 ms.

# %%
GOOD_SHARE = 0.95
fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
for series, t in runs.groupby("series", sort=False):
    color = STYLE[series][0]
    for col, name, style in (("voice_good_ratio", "native voice", "o-"),
                             ("app_call_good_ratio", "app call (audio over data)", "s--")):
        ax.plot(t["satellites"], 100 * t[col], style, color=color, label=f"{name}, {series}")
        n = satellites_needed(t, col, GOOD_SHARE, "above")
        if n is not None:
            y = 100 * float(t.loc[t["satellites"] == n, col].iloc[0])
            ax.plot(n, y, "*", ms=14, color=color, mec="k")
ax.axhline(100 * GOOD_SHARE, color="r", lw=1.2, label="threshold (illustrative)")
ax.set_xlabel("satellites in the 53° shell")
ax.set_ylabel("good calls (% of attempts)")
ax.set_xticks(SIZES)
ax.set_ylim(0, 100)
ax.grid(alpha=0.3)
ax.legend(fontsize=7, loc="lower right")
ax.set_title("Good calls: native voice against an app call over data")
plt.show()
display(answer.loc[["native voice: ≥ 95 % good calls", "app call: ≥ 95 % good calls"]])
cols = ["series", "satellites", "voice_good_ratio", "app_call_good_ratio",
        "app_call_block_ratio", "app_call_drop_ratio", "app_call_degraded_fraction",
        "app_call_delay_p95_ms"]
display(runs[cols].round(3))
# a mechanism: a 360 km orbit adds a few ms to the stated 106.5 ms budget
assert (runs["app_call_delay_p95_ms"].dropna() < 1000 * G114_GOOD_S).all()

# %% [markdown]
# Reading it: with a cell to itself (one phone per 75 km here) the app call needs
# nothing native voice does not. Its 49.6 kbit/s fit in the RBs a beam leaves to data even
# at CQI 1, and its mouth-to-ear delay is about 110 ms at every size: propagation over a
# 360 km orbit is a few milliseconds, the rest is the stated codec, jitter-buffer and
# ground budget, well inside G.114's 150 ms (a geostationary hop alone would take about
# 250 ms). So the two curves rise together with coverage: the gaps that block and drop
# native calls block and drop app calls too (same T310 / T311), and a fade that silences
# more than 5 % of a call spoils either; a 10 s fade is already 8 % of a 2-minute call.
# That is why neither reaches 95 % good calls by 720 satellites at either latitude here:
# the low-SINR fades at cell edges, a couple of per cent of the time, spoil a call in
# every dozen or so whatever the constellation's size (and at 10 s steps each one seen
# counts as a whole step).
# Where the two services part is load: native voice holds reserved RBs with compressed
# headers (16.65 kbit/s), the app call shares the best-effort RBs with every download at
# three times that rate, so in a busy cell it is refused or degraded first; these
# light-load runs do not reach that (see `tests/test_app_call.py` for the mechanism on a
# synthetic beam).
