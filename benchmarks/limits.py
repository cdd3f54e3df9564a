"""Speed limits checked on every run: ratio floors (and a few ceilings).

CI runs ``python -m benchmarks all --quick`` on every submission and fails
when a correctness check fails or a ratio below falls past its limit; never
on an absolute time, which moves with whatever else the shared machine runs.

Every limit is a *ratio measured in one run*: satsim against its reference
implementation in the same process (round-robin, best of N), or a cost ratio
between two sizes of the same job. Each bound is set well inside the measured
value (about half of it, or twice it for a ceiling) because a ratio that needs
both cores can halve when another process takes one; the "measured" text
gives the figures the bound comes from (``--quick`` on this repository's
2-core machine, see ``benchmarks/README.md``). The same limits apply to full
runs, whose ratios are at least as good (larger sizes amortise fixed costs).

A ceiling (``<=``) bounds a slow-down or a growth: satsim's time over its
reference's, or the cost of a doubled input over the base input; it is a
floor on the inverse ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks import Section


@dataclass
class Limit:
    """One bound on one figure; ``ok`` is None when the figure was not measured."""

    key: str
    op: str
    bound: float
    measured: str
    value: float | None = None
    ok: bool | None = None
    note: str = ""

    def text(self) -> str:
        return f"{'floor' if self.op == '>=' else 'ceiling'} {self.bound:g}"


#: ``{section: [(figure key, op, bound, measured), ...]}``.
LIMITS: dict[str, list[tuple[str, str, float, str]]] = {}


def apply(sec: Section) -> list[Limit]:
    """Compare ``sec``'s figures with its limits; store and return them.

    A figure that is NaN (not measurable here, e.g. 2 threads on 1 core) is
    reported as not checked. A figure missing from a section that ran is a
    failure: the limit would otherwise go quietly unchecked after a rename.
    """
    out = []
    for key, op, bound, measured in LIMITS.get(sec.name, ()):
        lim = Limit(key, op, bound, measured)
        fig = sec.figure(key)
        if fig is None:
            lim.ok, lim.note = False, "figure missing from the section"
        elif not math.isfinite(float(fig.value)):
            lim.value, lim.note = float(fig.value), "not measured here"
        else:
            lim.value = float(fig.value)
            lim.ok = lim.value >= bound if op == ">=" else lim.value <= bound
        out.append(lim)
    sec.limits = out
    return out
