"""Speed of the SMS scheduler (a measurement script, not a test).

Issue goal: at least 50,000 SMS delivered per wall-clock second in the
SMS-only case, 10,000 handsets, 1 SMS per handset-hour, one day. Run::

    python -m satsim.scheduler._bench            # 10,000 handsets x 1 day, 3 repeats
    python -m satsim.scheduler._bench --handsets 1000 --repeats 1

Coverage is ``CoverageView.periodic`` (5 min on / 10 min off, a random phase
per handset, 16 beams). The figure is delivered SMS / wall time of
``simulate`` (arrival generation, the SimPy run and the event table
included; building the view is reported apart). The verdict line states
whether the goal was met. The machine may be shared: the load average at
the start is printed, and the best of the repeats is the figure.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from .coverage_view import CoverageView
from .model import SchedulerConfig, SmsConfig, simulate

GOAL_SMS_PER_S = 50_000.0


def run(n_handsets: int, duration_s: float, repeats: int, mo_share: float) -> dict:
    phase = np.random.default_rng(12345).uniform(0, 900.0, n_handsets)
    t0 = time.perf_counter()
    view = CoverageView.periodic(n_handsets, 300.0, 600.0, duration_s, phase_s=phase,
                                 n_beams=16)
    build_s = time.perf_counter() - t0
    config = SchedulerConfig(sms=SmsConfig(mo_per_hour=mo_share, mt_per_hour=1.0 - mo_share))
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        result = simulate(view, config, seed=r)
        times.append(time.perf_counter() - t0)
    s = result.summary()["sms"]["all"]
    best = min(times)
    return {"handsets": n_handsets, "duration_s": duration_s, "mo_share": mo_share,
            "view_build_s": build_s, "view_mb": view.nbytes / 1e6, "simulate_s": times,
            "offered": s["offered"], "delivered": s["delivered"],
            "delivered_per_s": s["delivered"] / best, "offered_per_s": s["offered"] / best}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--handsets", type=int, default=10_000)
    p.add_argument("--days", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    for mo_share in (1.0, 0.5):
        f = run(args.handsets, args.days * 86400.0, args.repeats, mo_share)
        print(f"MO share {mo_share:.0%}: {f['handsets']} handsets x {args.days:g} d, "
              f"{f['offered']} offered, {f['delivered']} delivered; simulate "
              + ", ".join(f"{t:.2f}" for t in f["simulate_s"]) + " s; "
              f"view {f['view_build_s'] * 1e3:.0f} ms, {f['view_mb']:.1f} MB")
        verdict = "MET" if f["delivered_per_s"] >= GOAL_SMS_PER_S else "MISSED"
        print(f"  {f['delivered_per_s']:,.0f} SMS delivered per second "
              f"(goal {GOAL_SMS_PER_S:,.0f}: {verdict})")


if __name__ == "__main__":
    main()
