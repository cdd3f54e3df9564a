"""Elastic data on a beam: processor sharing of the downlink RBs that calls leave.

A beam's data sessions ("flows") share the ``capacity_rb`` resource blocks
not held by voice calls. Sharing is a flow-level processor-sharing model
(Bonald and Proutière, "Wireless downlink data channels: user performance
and cell dimensioning", MobiCom 2003): between two changes of the beam's
membership every active flow transfers at a constant rate, so nothing is
simulated per subframe or per time step. The rates are recomputed when a
flow joins (a session starts, resumes after a gap, arrives by handover or
enters a run of another CQI), when one leaves (finished, or its handset
leaves the beam or changes CQI), and when the calls change the capacity.
One SimPy timeout per beam marks the next such instant (the earliest
completion or run end); a stale timeout is recognised by a version number.

Sharing policies, with ``n`` active flows and ``r_i`` the rate of one RB at
flow ``i``'s CQI (:func:`satsim.link.cqi.rate_bps_per_rb`):

``"round_robin"``
    Equal shares of the RBs (time-fair): ``rate_i = capacity_rb / n x r_i``.
    One flow alone gets the whole capacity; two flows of one CQI get half
    each, i.e. egalitarian processor sharing (M/G/1-PS for Poisson flows).
``"proportional_fair"``
    Proportional fair also gives each flow ``1 / n`` of the RBs when channels
    are static: its metric ``r_i(t) / R_i`` balances exactly at equal time
    shares. It gains only from fast fading, by serving a flow near its own
    peaks. With i.i.d. Rayleigh fading that multiuser-diversity gain is the
    harmonic number ``H_n = 1 + 1/2 + ... + 1/n`` on each flow's rate
    (Holtzman, "Asymptotic analysis of proportional fair algorithm", PIMRC
    2001, linear-rate approximation): ``rate_i = capacity_rb / n x
    min(H_n r_i, r_max)``, capped at the CQI 15 rate. Rayleigh is the
    optimistic end: a line-of-sight satellite channel (Rician, large K)
    fades less and gains less, down to the round-robin rates.

Flows of one handset are independent (two sessions are two flows, like two
TCP connections). Times are seconds (``env.now``), sizes bits, rates bit/s.

Real-time flows
---------------
A flow may carry a rate demand (``demand_bps``: an app call's media stream,
:mod:`satsim.scheduler.app_call`): it never needs more than
``demand_bps / r_i`` RBs, and what it leaves goes to the others. The
allocation is then max-min fair in RBs ("water filling", Bertsekas and
Gallager, *Data Networks*, 2nd ed., §6.5.2): a flow whose RB need is below
the common level ``L`` gets its need, the others get ``L``, with ``L`` set
so that the RBs add up to ``capacity_rb``; with no demand anywhere ``L =
capacity_rb / n``, the rule above. A rate-limited flow is *satisfied* while
it gets its demand, else *degraded*; the share integrates, per flow, the
time in each state and, over the satisfied time, the transmission time of
one of its frames (``frame_bits``) at the RBs it could use at once: ``L``
if some flow takes the level, else every RB the other flows do not use.
That is the scheduling delay of :mod:`~satsim.scheduler.app_call`. RBs in
use (``busy_rb_s``) are ``capacity_rb`` while any flow takes the level, else
the sum of the needs (the beam is then not saturated).

Rates not linear in the RBs
---------------------------
An upload's rate is not ``RBs x r_i``: the phone sends at its maximum power
whatever its RBs, so fewer RBs each get more power
(:mod:`satsim.scheduler.data`, "Uploads"). Such a flow gives its rate on
``x`` RBs, ``rate_of_rb(x)`` (non-decreasing), its most as ``demand_bps``
and, as ``r_i``, its rate per RB at the fewest RBs that reach that most
(so its need is that number of RBs). The RBs are split max-min fair as
above; the flow's rate is ``demand_bps`` when it gets its need, else
``min(rate_of_rb(L) x gain, demand_bps)`` (``gain``: 1 for round robin,
``H_n`` for proportional fair).
"""

from __future__ import annotations

import math
from functools import partial

from ..link.cqi import MAX_CQI, RATE_BPS_PER_RB

#: Sharing policies of the RBs left by voice.
SHARING_POLICIES = ("round_robin", "proportional_fair")
#: What a flow's event reports: finished, or left the beam (run ended) with bits left.
DONE, MOVED = 0, 1
#: A flow within this many seconds of its end counts as finished (round-off of the clock).
_FINISH_TOLERANCE_S = 1e-7
#: Rate of one RB at CQI 15, bit/s: the cap of the proportional-fair gain.
_MAX_RATE_BPS_PER_RB = float(RATE_BPS_PER_RB[MAX_CQI])


class _Flow:
    """One flow in a share. A rate-limited flow (``demand_bps`` finite) also carries
    ``satisfied_s`` / ``degraded_s`` (time with / without its demand) and
    ``frame_delay_s_s`` (the integral of its frame transmission time over the
    satisfied time, s x s), all since it joined."""

    __slots__ = ("remaining_bits", "rate_per_rb_bps", "leave_s", "event", "rate_bps",
                 "demand_bps", "frame_bits", "frame_delay_s", "satisfied_s", "degraded_s",
                 "frame_delay_s_s", "rate_of_rb")

    def __init__(self, bits: float, rate_per_rb_bps: float, leave_s: float, event,
                 demand_bps: float = math.inf, frame_bits: float = 0.0, rate_of_rb=None):
        self.remaining_bits = bits
        self.rate_per_rb_bps = rate_per_rb_bps
        self.leave_s = leave_s
        self.event = event
        self.rate_bps = 0.0
        self.demand_bps = demand_bps
        self.frame_bits = frame_bits
        self.frame_delay_s = math.inf  # of the current allocation; inf while degraded
        self.satisfied_s = self.degraded_s = self.frame_delay_s_s = 0.0
        self.rate_of_rb = rate_of_rb


class ElasticShare:
    """Processor sharing of one beam's downlink RBs among its active data flows.

    Parameters
    ----------
    env : simpy.Environment
        ``env.now`` in seconds; every call is made at ``env.now``.
    capacity_rb : float
        RBs left for data (the beam's RBs minus those held by calls).
    sharing : {"round_robin", "proportional_fair"}
        See the module docstring.
    horizon_s : float
        End of the run: RB-seconds and bits are counted up to it.

    Attributes
    ----------
    capacity_rb : float
    flows : dict
        Active flows by key.
    peak_flows : int
        Most flows active at once.
    """

    __slots__ = ("env", "capacity_rb", "pf", "horizon_s", "flows", "peak_flows", "_t_last",
                 "_version", "_busy_rb_s", "_bits", "_used_rb", "_limited")

    def __init__(self, env, capacity_rb: float, sharing: str = "round_robin",
                 horizon_s: float = math.inf):
        if sharing not in SHARING_POLICIES:
            raise ValueError(f"unknown sharing policy {sharing!r}")
        self.env = env
        self.capacity_rb = float(capacity_rb)
        self.pf = sharing == "proportional_fair"
        self.horizon_s = horizon_s
        self.flows: dict[int, _Flow] = {}
        self.peak_flows = 0
        self._t_last = env.now
        self._version = 0
        self._busy_rb_s = 0.0
        self._bits = 0.0
        self._used_rb = 0.0  # RBs in use under the current allocation
        self._limited = 0  # rate-limited flows in the share

    # ------------------------------------------------------------ the services' calls
    def join(self, key, bits: float, rate_per_rb_bps: float, leave_s: float, *,
             demand_bps: float = math.inf, frame_bits: float = 0.0, rate_of_rb=None):
        """Start transferring ``bits`` now, at one RB's rate ``rate_per_rb_bps``, until
        ``leave_s`` at the latest (the end of the handset's run on this beam).

        A real-time flow gives its ``demand_bps`` (and ``bits = inf``) and the
        bits of one frame, ``frame_bits``, for its scheduling delay (module
        docstring); its :class:`_Flow` is ``flows[key]`` until the event.
        A flow whose rate is not linear in its RBs (an upload: the phone's
        power is spread over them) gives ``rate_of_rb(x)``, its rate on
        ``x`` RBs, with a finite ``demand_bps`` (module docstring, "Rates
        not linear in the RBs").

        Returns a SimPy event whose value is ``(DONE, 0.0)`` when the bits are
        through, or ``(MOVED, bits_left)`` at ``leave_s``.
        """
        now = self.env.now
        self._advance(now)
        event = self.env.event()
        if rate_of_rb is not None and not demand_bps < math.inf:
            raise ValueError("a flow with rate_of_rb needs a finite demand_bps (its most)")
        self.flows[key] = _Flow(float(bits), float(rate_per_rb_bps), float(leave_s), event,
                                float(demand_bps), float(frame_bits), rate_of_rb)
        if demand_bps < math.inf:
            self._limited += 1
        if len(self.flows) > self.peak_flows:
            self.peak_flows = len(self.flows)
        self._plan(now)
        return event

    def set_capacity(self, capacity_rb: float) -> None:
        """The RBs left for data changed now (a call was admitted or released)."""
        now = self.env.now
        self._advance(now)
        self.capacity_rb = float(capacity_rb)
        self._plan(now)

    def sync(self, t: float) -> None:
        """Bring every flow's bits left up to ``t`` (e.g. the end of the run)."""
        self._advance(t)

    def rate_bps(self, key) -> float:
        """Current rate of an active flow, bit/s."""
        return self.flows[key].rate_bps

    def offered_rate_bps(self, rate_per_rb_bps: float, demand_bps: float) -> float:
        """The rate a new flow of that per-RB rate and demand would get if it joined
        now (the others' allocation recomputed with it), bit/s."""
        n = len(self.flows) + 1
        gain = harmonic_number(n) if self.pf else 1.0
        r_new = self._per_rb(rate_per_rb_bps, gain)
        needs = [f.demand_bps / self._per_rb(f.rate_per_rb_bps, gain)
                 for f in self.flows.values()]
        needs.append(demand_bps / r_new if r_new > 0.0 else math.inf)
        level, _ = _water_level(self.capacity_rb, needs)
        return min(needs[-1], level) * r_new

    # ------------------------------------------------------------ accounting
    def _until_horizon(self, t: float) -> float:
        h = self.horizon_s
        return max((t if t < h else h) - min(self._t_last, h), 0.0)

    def busy_rb_s(self, t: float) -> float:
        """RB-seconds in use by data up to ``min(t, horizon_s)``: all of ``capacity_rb``
        whenever at least one flow is active (the scheduler is work-conserving)."""
        extra = self._used_rb * self._until_horizon(t) if self.flows else 0.0
        return self._busy_rb_s + extra

    def bits_sent(self, t: float) -> float:
        """Bits transferred up to ``min(t, horizon_s)``."""
        dt = self._until_horizon(t)
        return self._bits + dt * sum(f.rate_bps for f in self.flows.values())

    # ------------------------------------------------------------ the model
    def _advance(self, t: float) -> None:
        """Move every flow's transfer on to ``t`` at its current rate."""
        dt = t - self._t_last
        if dt > 0.0 and self.flows:
            sent = 0.0
            for f in self.flows.values():
                d = f.rate_bps * dt
                f.remaining_bits -= d
                sent += d
            if self._limited:
                for f in self.flows.values():
                    if f.demand_bps < math.inf:
                        if f.frame_delay_s < math.inf:
                            f.satisfied_s += dt
                            f.frame_delay_s_s += f.frame_delay_s * dt
                        else:
                            f.degraded_s += dt
            busy = self._until_horizon(t)
            if busy > 0.0:
                self._busy_rb_s += self._used_rb * busy
                self._bits += sent * (busy / dt)
        if t > self._t_last:
            self._t_last = t

    def _plan(self, now: float) -> None:
        """New rates for the flows; one timeout to the next completion or run end."""
        self._version += 1
        flows = self.flows
        n = len(flows)
        if n == 0:
            self._used_rb = 0.0
            return
        gain = harmonic_number(n) if self.pf else 1.0
        if self._limited:
            self._plan_limited(gain)
        else:
            share = self.capacity_rb / n
            self._used_rb = self.capacity_rb
            for f in flows.values():
                f.rate_bps = share * self._per_rb(f.rate_per_rb_bps, gain)
        nxt = math.inf
        for f in flows.values():
            rate = f.rate_bps
            finish = now + f.remaining_bits / rate if rate > 0.0 else math.inf
            if finish < nxt:
                nxt = finish
            if f.leave_s < nxt:
                nxt = f.leave_s
        if nxt < math.inf:
            timer = self.env.timeout(nxt - now if nxt > now else 0.0)
            timer.callbacks.append(partial(self._fire, self._version))

    def _per_rb(self, rate_per_rb_bps: float, gain: float) -> float:
        """A flow's rate per RB under the policy (the proportional-fair gain, capped)."""
        return min(rate_per_rb_bps * gain, _MAX_RATE_BPS_PER_RB) if self.pf else rate_per_rb_bps

    def _plan_limited(self, gain: float) -> None:
        """Max-min fair RBs with rate-limited flows (module docstring): rates, RBs in
        use and each rate-limited flow's frame transmission time."""
        flows = list(self.flows.values())
        per_rb = [self._per_rb(f.rate_per_rb_bps, gain) for f in flows]
        needs = [f.demand_bps / r if r > 0.0 else math.inf for f, r in zip(flows, per_rb)]
        level, used = _water_level(self.capacity_rb, needs)
        self._used_rb = used
        for f, r, need in zip(flows, per_rb, needs):
            rb = need if need <= level else level
            if f.rate_of_rb is None:
                f.rate_bps = rb * r
            elif need <= level:
                f.rate_bps = f.demand_bps
            else:
                f.rate_bps = min(f.rate_of_rb(rb) * gain, f.demand_bps)
            if f.demand_bps < math.inf:
                if need <= level and r > 0.0:  # satisfied: a frame may use the level,
                    burst = level if level < math.inf else self.capacity_rb - used + need
                    f.frame_delay_s = f.frame_bits / (burst * r)  # or every idle RB
                else:
                    f.frame_delay_s = math.inf

    def _fire(self, version: int, _event) -> None:
        if version != self._version:  # the membership changed since: a newer timer rules
            return
        now = self.env.now
        self._advance(now)
        out = []
        for key, f in self.flows.items():
            if f.remaining_bits <= f.rate_bps * _FINISH_TOLERANCE_S:
                out.append((key, DONE, 0.0))
            elif f.leave_s <= now + _FINISH_TOLERANCE_S:
                out.append((key, MOVED, f.remaining_bits))
        for key, status, left in out:
            f = self.flows.pop(key)
            if f.demand_bps < math.inf:
                self._limited -= 1
            f.event.succeed((status, left))
        self._plan(now)


def _water_level(capacity_rb: float, needs: list[float]) -> tuple[float, float]:
    """Max-min fair split of ``capacity_rb`` among flows needing ``needs`` RBs (inf:
    elastic): the level ``L`` (each flow gets ``min(need, L)``; inf when every need
    fits) and the RBs in use."""
    remaining, k = capacity_rb, len(needs)
    for need in sorted(needs):
        if need * k > remaining:  # this flow and all larger ones take the level
            return remaining / k, capacity_rb
        remaining -= need
        k -= 1
    return math.inf, capacity_rb - remaining


def harmonic_number(n: int) -> float:
    """``H_n = 1 + 1/2 + ... + 1/n`` (0 for n = 0)."""
    return sum(1.0 / k for k in range(1, n + 1))
