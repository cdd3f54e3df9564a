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
    __slots__ = ("remaining_bits", "rate_per_rb_bps", "leave_s", "event", "rate_bps")

    def __init__(self, bits: float, rate_per_rb_bps: float, leave_s: float, event):
        self.remaining_bits = bits
        self.rate_per_rb_bps = rate_per_rb_bps
        self.leave_s = leave_s
        self.event = event
        self.rate_bps = 0.0


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
                 "_version", "_busy_rb_s", "_bits")

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

    # ------------------------------------------------------------ the services' calls
    def join(self, key: int, bits: float, rate_per_rb_bps: float, leave_s: float):
        """Start transferring ``bits`` now, at one RB's rate ``rate_per_rb_bps``, until
        ``leave_s`` at the latest (the end of the handset's run on this beam).

        Returns a SimPy event whose value is ``(DONE, 0.0)`` when the bits are
        through, or ``(MOVED, bits_left)`` at ``leave_s``.
        """
        now = self.env.now
        self._advance(now)
        event = self.env.event()
        self.flows[key] = _Flow(float(bits), float(rate_per_rb_bps), float(leave_s), event)
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

    def rate_bps(self, key: int) -> float:
        """Current rate of an active flow, bit/s."""
        return self.flows[key].rate_bps

    # ------------------------------------------------------------ accounting
    def _until_horizon(self, t: float) -> float:
        h = self.horizon_s
        return max((t if t < h else h) - min(self._t_last, h), 0.0)

    def busy_rb_s(self, t: float) -> float:
        """RB-seconds in use by data up to ``min(t, horizon_s)``: all of ``capacity_rb``
        whenever at least one flow is active (the scheduler is work-conserving)."""
        extra = self.capacity_rb * self._until_horizon(t) if self.flows else 0.0
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
            busy = self._until_horizon(t)
            if busy > 0.0:
                self._busy_rb_s += self.capacity_rb * busy
                self._bits += sent * (busy / dt)
        if t > self._t_last:
            self._t_last = t

    def _plan(self, now: float) -> None:
        """New rates for the flows; one timeout to the next completion or run end."""
        self._version += 1
        flows = self.flows
        n = len(flows)
        if n == 0:
            return
        share = self.capacity_rb / n
        gain = harmonic_number(n) if self.pf else 1.0
        nxt = math.inf
        for f in flows.values():
            r = f.rate_per_rb_bps
            if self.pf:
                r = min(r * gain, _MAX_RATE_BPS_PER_RB)
            rate = f.rate_bps = share * r
            finish = now + f.remaining_bits / rate if rate > 0.0 else math.inf
            if finish < nxt:
                nxt = finish
            if f.leave_s < nxt:
                nxt = f.leave_s
        if nxt < math.inf:
            timer = self.env.timeout(nxt - now if nxt > now else 0.0)
            timer.callbacks.append(partial(self._fire, self._version))

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
            self.flows.pop(key).event.succeed((status, left))
        self._plan(now)


def harmonic_number(n: int) -> float:
    """``H_n = 1 + 1/2 + ... + 1/n`` (0 for n = 0)."""
    return sum(1.0 / k for k in range(1, n + 1))
