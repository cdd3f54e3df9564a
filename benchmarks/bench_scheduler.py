"""Scheduler speed: SMS delivered per wall-clock second, against a bare heapq loop.

Issue "Service scheduler", speed section: 10,000 handsets over one day, SMS at
1 per handset-hour (half mobile-originated, half mobile-terminated), and a
mixed run with voice and data on. Measured in one process:

* ``satsim``: :func:`satsim.scheduler.simulate` (arrival generation, the
  SimPy run with beam resources, RACH / paging limits, retries, and the event
  table).
* ``heapq``: a bare ``heapq`` event loop doing the same arrivals (taken from
  satsim's own event table) against the same :class:`CoverageView`: deliver
  at ``t + access + ground`` when served, otherwise wait for the gap's end
  (MO) or retry on the fixed MT grid; no resources, no SimPy. It is the
  floor of any event-driven SMS model on this coverage, so the ratio says
  what satsim's modelling costs.

Coverage is either ``CoverageView.periodic`` (5 min on / 10 min off, random
phase, 16 beams: fast to build) or, with ``--link``, the link layer's
timeline of the default constellation over ``conus_handsets`` (slow to build:
the link stage of the day runs first and is timed apart). The figures are
best of ``--repeats``; the load average is printed because the machine may be
shared. Run: ``python -m benchmarks.bench_scheduler [--quick] [--link]``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import time

import numpy as np

from satsim.scheduler import CoverageView, DataConfig, SchedulerConfig, SmsConfig, VoiceConfig
from satsim.scheduler import simulate

GOAL_SMS_PER_S = 50_000.0


def heapq_sms(view: CoverageView, events, sms: SmsConfig) -> int:
    """Deliver the same SMS arrivals with a bare heapq loop; returns the count delivered."""
    queue = [(float(t), i) for i, t in enumerate(events["t_arrival_s"].to_numpy())]
    heapq.heapify(queue)
    handset = events["handset"].to_numpy()
    mt = (events["direction"] == "MT").to_numpy()
    arrival = events["t_arrival_s"].to_numpy()
    end = view.end_s
    delivered = 0
    push, pop = heapq.heappush, heapq.heappop
    while queue:
        t, i = pop(queue)
        if t > end or t - arrival[i] > sms.validity_s:
            continue
        h = int(handset[i])
        if view.is_served(h, t):
            delivered += 1
            continue
        if mt[i]:
            push(queue, (t + sms.mt_retry_s, i))
        else:
            nxt = view.gap_end(h, t)
            if nxt != float("inf"):
                push(queue, (nxt, i))
    return delivered


def run_case(view, config, repeats):
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        res = simulate(view, config, seed=r)
        times.append(time.perf_counter() - t0)
    return res, min(times)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1,000 handsets x 6 h")
    p.add_argument("--link", action="store_true", help="coverage from the link layer")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    nh, dur = (1000, 6 * 3600.0) if args.quick else (10_000, 86400.0)
    out = {"load_avg_start": os.getloadavg()[0], "handsets": nh, "duration_s": dur}
    t0 = time.perf_counter()
    if args.link:
        from satsim.link import LinkConfig, iter_link_chunks
        from satsim.orbits import DEFAULT_EPOCH, TimeGrid, conus_handsets, default_constellation

        spacing = 28.3 if nh == 10_000 else 89.0
        h = conus_handsets(spacing)
        times = TimeGrid.from_duration(DEFAULT_EPOCH, dur, 10.0)
        view = CoverageView.from_link_chunks(
            iter_link_chunks(default_constellation(), h, times, LinkConfig()))
        nh = len(h)
        out.update(handsets=nh, coverage="link layer, default constellation, LinkConfig()")
    else:
        phase = np.random.default_rng(12345).uniform(0, 900.0, nh)
        view = CoverageView.periodic(nh, 300.0, 600.0, dur, phase_s=phase, n_beams=16)
        out["coverage"] = "periodic 5 min on / 10 min off, 16 beams"
    out["view_build_s"] = time.perf_counter() - t0
    out["served_fraction"] = float(np.mean(view.served_fraction()))

    sms = SmsConfig(mo_per_hour=0.5, mt_per_hour=0.5)
    res, best = run_case(view, SchedulerConfig(sms=sms), args.repeats)
    s = res.summary()["sms"]["all"]
    out.update(sms_offered=s["offered"], sms_delivered=s["delivered"], satsim_s=best,
               satsim_sms_per_s=s["delivered"] / best)
    hq = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        n_hq = heapq_sms(view, res.events, sms)
        hq.append(time.perf_counter() - t0)
    out.update(heapq_s=min(hq), heapq_delivered=n_hq, heapq_sms_per_s=n_hq / min(hq),
               heapq_over_satsim=(n_hq / min(hq)) / (s["delivered"] / best))
    mixed = SchedulerConfig(sms=sms, voice=VoiceConfig(), data=DataConfig())
    res_m, best_m = run_case(view, mixed, max(1, args.repeats - 1))
    sm = res_m.summary()
    n_events = len(res_m.events) + len(res_m.calls) + len(res_m.sessions)
    out.update(mixed_s=best_m, mixed_records=n_events, mixed_records_per_s=n_events / best_m,
               mixed_voice=sm["voice"], mixed_data=sm["data"])
    out["goal_met"] = out["satsim_sms_per_s"] >= GOAL_SMS_PER_S
    print(json.dumps(out, indent=2, default=float))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=float)
    return out


if __name__ == "__main__":
    main()
