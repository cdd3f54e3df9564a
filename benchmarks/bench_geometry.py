"""Geometry benchmark: coverage and full link geometry for a day over CONUS.

Scenario: satsim's default constellation (648 satellites, two Walker delta
shells), ~10,000 handsets on the CONUS grid (``conus_handsets`` at the
spacing that gives the count closest to 10,000), one day at 10 s (8,641
steps), 25 degree mask. Every configuration runs in a fresh interpreter
(:mod:`benchmarks._worker`), so its peak RSS is its own:

* ``coverage``: :func:`satsim.orbits.coverage` (propagation + visibility
  counts, ``n_visible`` of shape (steps, handsets));
* ``links``: every link (elevation, azimuth, range, range rate) via
  :func:`satsim.orbits.iter_links` in chunks of ``chunk_steps``;
* the same with twice the handsets (~20,000) and with twice the satellites
  (a second copy of the default shells with RAAN + 7.5 degrees, half the
  15 degree plane spacing, so the copy's planes fall between the originals);
* ``naive``: brute-force numpy visibility (all satellites x all handsets,
  broadcasting) vs ``visible_counts`` on 20 time steps, one process.

``--quick`` keeps the code paths and shrinks the sizes (2 hours, ~5,000
handsets) so the whole benchmark takes well under a minute.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

from benchmarks import QUICK_JIT_NOTE, Section, best, jit_jobs, run_worker

MIN_ELEVATION_DEG = 25.0
STEP_S = 10.0
DURATION_FULL_S, DURATION_QUICK_S = 86400.0, 7200.0
HANDSETS_FULL, HANDSETS_QUICK = 10_000, 5_000
#: Time steps per chunk (satsim's default, ``coverage.DEFAULT_CHUNK_STEPS``).
CHUNK_STEPS = 720
NAIVE_STEPS = 20
#: Timed runs per configuration (in its one process); the best is reported.
#: Fresh memory for each chunk costs the kernel a varying 0.05-0.8 s per
#: ~0.5 GB on this machine, so one run is too noisy for the ratios.
RUNS = 2
#: Jobs a --quick run leaves out (see ``run``).
QUICK_SKIPPED = ("links_plain", "coverage_h2", "links_h2", "coverage_s2", "links_s2")
#: RAAN offset of the second copy of the shells in the doubled constellation.
RAAN_OFFSET_DEG = 7.5
#: Spacings are searched on this grid, km (reproducible choice).
SPACING_RESOLUTION_KM = 0.05


def _cpu_ratio(a: dict, b: dict) -> float:
    """User-CPU-time ratio of two jobs: less sensitive than wall time to other
    processes taking a core, and blind to the kernel's page-provisioning time."""
    return a["cpu_user_s"] / b["cpu_user_s"]


def build_constellation(kind: str = "base"):
    """``"base"``: the default 648; ``"double"`` (or ``"x2"``): plus a RAAN-shifted copy
    (1,296); ``"xN"``: N copies, copy i with every plane's RAAN + i x 15 deg / N (the
    planes are 15 deg apart, so the copies' planes fall evenly between the originals)."""
    from satsim.orbits import DEFAULT_EPOCH, combine, default_constellation, walker_constellation
    from satsim.orbits.defaults import DTC_SHELLS

    base = default_constellation()
    if kind == "base":
        return base
    factor = 2 if kind == "double" else int(kind[1:]) if kind[:1] == "x" else 0
    if factor < 2:
        raise ValueError(f"unknown constellation kind {kind!r}: 'base', 'double' or 'xN'")
    parts, first_id = [base], int(base.norad_ids.max()) + 1
    for i in range(1, factor):
        shifted = [replace(s, raan0_deg=s.raan0_deg + i * 360.0 / s.planes / factor)
                   for s in DTC_SHELLS]
        copy = walker_constellation(shifted, DEFAULT_EPOCH, first_norad_id=first_id,
                                    name_prefix=f"SATSIM-DTC-{chr(ord('A') + i)}")
        parts.append(copy)
        first_id += len(copy)
    return combine(*parts)


def spacing_for(target: int) -> tuple[float, int]:
    """The CONUS grid spacing (multiple of 0.05 km) whose handset count is
    closest to ``target``, and that count.

    The count falls roughly as 1/spacing^2 but not monotonically (grid rows
    shift against the outline), so scan +-3 % around the 1/s^2 estimate.
    """
    from satsim.orbits import conus_handsets

    ref = 52.0
    n_ref = len(conus_handsets(ref))
    s0 = ref * math.sqrt(n_ref / target)
    lo = math.floor(0.97 * s0 / SPACING_RESOLUTION_KM)
    hi = math.ceil(1.03 * s0 / SPACING_RESOLUTION_KM)
    found = []
    for k in range(lo, hi + 1):
        s = round(k * SPACING_RESOLUTION_KM, 2)
        n = len(conus_handsets(s))
        found.append((abs(n - target), -s, n))
    err, neg_s, n = min(found)
    return -neg_s, n


def run(quick: bool = False, repeats: int | None = None, log=print) -> Section:
    duration = DURATION_QUICK_S if quick else DURATION_FULL_S
    target = HANDSETS_QUICK if quick else HANDSETS_FULL
    sec = Section("geometry", headline={"time": "links_s", "memory": "links_added_mib",
                                        "throughput": "links_per_s",
                                        "ratio": "naive_over_visible_counts"})
    spacing, nh = spacing_for(target)
    spacing2, nh2 = spacing_for(2 * target)
    steps = int(round(duration / STEP_S)) + 1
    base = {
        "runs": RUNS, "sats": "base", "spacing_km": spacing, "duration_s": duration, "step_s": STEP_S,
        "chunk_steps": CHUNK_STEPS, "min_elevation_deg": MIN_ELEVATION_DEG,
    }
    sec.config = {
        "constellation": "default_constellation() (648: 53 deg 312/24/1 @ 360 km + "
                         "43 deg 336/24/1 @ 358 km)",
        "handsets_target": target, "handset_spacing_km": spacing, "handsets": nh,
        "handsets_x2_spacing_km": spacing2, "handsets_x2": nh2,
        "satellites_x2": f"default + copy with raan0_deg += {RAAN_OFFSET_DEG}",
        "duration_s": duration, "step_s": STEP_S, "steps": steps,
        "chunk_steps": CHUNK_STEPS, "min_elevation_deg": MIN_ELEVATION_DEG,
        "naive_steps": NAIVE_STEPS,
        "processes": 1,
        "timing": f"best of {RUNS} runs per configuration, each configuration in a fresh "
                  "process after a warm-up on 3 steps; peak RSS = VmHWM (reset after "
                  "warm-up) minus RSS then",
    }
    log(f"geometry: {nh} handsets (spacing {spacing} km), {steps} steps of {STEP_S:g} s, "
        f"x2 handsets: {nh2} ({spacing2} km)")

    jobs = {
        "coverage": dict(base, kind="coverage"),
        "links": dict(base, kind="links"),
        # two full chunks are enough to show the plain-loop peak
        "links_plain": dict(base, kind="links", hold_previous=True, runs=1,
                            duration_s=(2 * CHUNK_STEPS - 1) * STEP_S),
        "coverage_h2": dict(base, kind="coverage", spacing_km=spacing2, propagation_alone=False),
        "links_h2": dict(base, kind="links", spacing_km=spacing2),
        "coverage_s2": dict(base, kind="coverage", sats="double"),
        "links_s2": dict(base, kind="links", sats="double"),
        "naive": dict(base, kind="naive", naive_steps=NAIVE_STEPS,
                      naive_repeats=2 if not quick else 1),
    }
    if quick:
        # CI's time budget: the scaling section doubles handsets and satellites
        # over the whole pipeline; the plain-loop peak is a full-run figure
        for name in QUICK_SKIPPED:
            del jobs[name]
        sec.config["quick_skipped"] = list(QUICK_SKIPPED)
    res = {}
    if not quick:
        log("  numba compile time (fresh process, empty NUMBA_CACHE_DIR) ...")
    jit = jit_jobs({"kind": "jit", "what": ["geometry"]}, quick)
    if jit:
        res["jit_cold"], res["jit_warm"] = jit
    for name, spec in jobs.items():
        t0 = time.perf_counter()
        res[name] = run_worker(spec)
        r = res[name]
        if name == "naive":
            what = f"naive {best(r['naive_s']):.2f} s, visible_counts {best(r['visible_counts_s']):.4f} s"
        else:
            what = f"run {r['wall_s']:.2f} s, +{r['rss_added_mib']:.0f} MiB"
        log(f"  {name:12s} done in {time.perf_counter() - t0:5.1f} s ({what})")
    sec.raw = res

    # -- checks --------------------------------------------------------------------
    for suffix, what in (("", "base"), ("_h2", "x2 handsets"), ("_s2", "x2 satellites")):
        if "links" + suffix not in res:
            continue
        cov, lk = res["coverage" + suffix], res["links" + suffix]
        sec.check(
            f"{what}: links from iter_links == sum of coverage counts",
            cov["n_visible_max"] < 255 and cov["n_visible_sum"] == lk["links"],
            f"{lk['links']:,} links vs {cov['n_visible_sum']:,}",
        )
        sec.check(
            f"{what}: every link at or above the mask",
            lk["min_elevation_deg"] >= MIN_ELEVATION_DEG - 1e-9,
            f"min elevation {lk['min_elevation_deg']:.6f} deg",
        )
    nv = res["naive"]
    sec.check(
        "naive numpy counts == visible_counts (also with 1 numba thread)",
        nv["counts_equal"],
        f"{nv['mismatched_cells']} mismatched (step, handset) cells of "
        f"{nv['steps'] * nv['handsets']:,}; {nv['total_visible']:,} visible pairs",
    )

    # -- figures ---------------------------------------------------------------------
    c, lk = res["coverage"], res["links"]
    hs = c["handsets"] * c["steps"]
    sec.add("coverage_s", "coverage(): wall time", c["wall_s"], "s")
    sec.add("coverage_propagation_s", "  of which propagation (same chunks, alone)",
            c["propagation_s"], "s")
    sec.add("coverage_rate", "  handset-steps per second", hs / c["wall_s"], "1/s")
    sec.add("coverage_added_mib", "coverage(): peak memory added", c["rss_added_mib"], "MiB",
            note=f"baseline {c['rss_baseline_mib']:.0f} MiB after imports + warm-up")
    sec.add("links_s", "iter_links(): all links, wall time", lk["wall_s"], "s",
            note=f"chunks of {CHUNK_STEPS} steps")
    sec.add("links_total", "  links (elev, az, range, range rate)", lk["links"], "")
    sec.add("links_per_s", "  links per second", lk["links_per_s"], "1/s")
    sec.add("links_mean_per_handset", "  mean satellites in view per handset-step",
            lk["links"] / hs, "")
    sec.add("links_added_mib", "iter_links(): peak memory added", lk["rss_added_mib"], "MiB",
            note=f"largest chunk {lk['max_chunk_links']:,} links; each chunk dropped "
                 "before the next is built")
    sec.add("links_bytes_per_link", "  peak bytes added per link of the largest chunk",
            lk["rss_added_mib"] * 2**20 / max(lk["max_chunk_links"], 1), "B")
    lp = res.get("links_plain")
    if lp:
        sec.add("links_plain_added_mib", "  same in a plain for loop", lp["rss_added_mib"], "MiB",
                note=f"the loop variable holds the previous chunk while the next is built "
                     f"(run over {lp['steps']} steps = {lp['chunks']} chunks)")
    sec.add("links_cpu_util", "  CPU use, (user + sys) / wall",
            (lk["cpu_user_s"] + lk["cpu_sys_s"]) / lk["wall_s"], "cores")
    sec.add("links_cpu_sys_s", "  kernel (sys) CPU time", lk["cpu_sys_s"], "s",
            note="runs: " + ", ".join(f"{w:.2f} s wall / {y:.2f} s sys" for w, y in
                                      zip(lk["wall_runs_s"], lk["cpu_sys_runs_s"]))
                 + "; sys = the kernel providing fresh pages for each chunk")
    for suffix, what in (("_h2", "x2 handsets"), ("_s2", "x2 satellites")):
        if "links" + suffix not in res:
            continue
        c2, l2 = res["coverage" + suffix], res["links" + suffix]
        tag = f"{c2['satellites']} sats x {c2['handsets']} handsets"
        sec.add(f"coverage{suffix}_time_ratio", f"{what}: coverage time ratio",
                c2["wall_s"] / c["wall_s"], "x",
                note=f"{tag}: {c2['wall_s']:.2f} s; user-CPU ratio {_cpu_ratio(c2, c):.2f}")
        sec.add(f"coverage{suffix}_mem_ratio", f"{what}: coverage memory ratio",
                c2["rss_added_mib"] / c["rss_added_mib"], "x",
                note=f"{c2['rss_added_mib']:.0f} MiB")
        sec.add(f"links{suffix}_time_ratio", f"{what}: links time ratio",
                l2["wall_s"] / lk["wall_s"], "x",
                note=f"{l2['wall_s']:.2f} s; user-CPU ratio {_cpu_ratio(l2, lk):.2f}")
        sec.add(f"links{suffix}_count_ratio", f"{what}: links count ratio",
                l2["links"] / lk["links"], "x", note=f"{l2['links']:,} links")
        sec.add(f"links{suffix}_mem_ratio", f"{what}: links memory ratio",
                l2["rss_added_mib"] / lk["rss_added_mib"], "x",
                note=f"{l2['rss_added_mib']:.0f} MiB")
    b_naive, b_fast, b_fast1 = (best(nv["naive_s"]), best(nv["visible_counts_s"]),
                                best(nv["visible_counts_1thread_s"]))
    tag = f"{nv['satellites']} x {nv['handsets']} x {nv['steps']} steps"
    sec.add("naive_s", "naive numpy brute force, best", b_naive, "s", note=tag)
    sec.add("visible_counts_s", f"visible_counts ({nv['numba_threads']} threads), best",
            b_fast, "s")
    sec.add("naive_over_visible_counts", "visible_counts faster than naive",
            b_naive / b_fast, "x")
    sec.add("naive_over_visible_counts_1t", "  same, visible_counts on 1 thread",
            b_naive / b_fast1, "x")
    if not jit:
        sec.config["jit"] = QUICK_JIT_NOTE
        return sec
    cold, warm = res["jit_cold"], res["jit_warm"]
    c_first = max(0.0, cold["visible_counts_first_s"] - cold["visible_counts_second_s"])
    l_first = max(0.0, cold["visible_links_first_s"] - cold["visible_links_second_s"])
    sec.add("jit_compile_s", "numba compile, geometry kernels (empty cache)",
            c_first + l_first, "s", note=f"first visible_counts call {c_first:.2f} s, "
            f"first visible_links call after it {l_first:.2f} s (each minus a second call)")
    sec.add("jit_cache_load_s", "numba cache load, geometry kernels (fresh process)",
            warm["visible_counts_first_s"] - warm["visible_counts_second_s"]
            + warm["visible_links_first_s"] - warm["visible_links_second_s"], "s")
    return sec
