"""SMS over the satellite beams: mobile-originated (MO) and mobile-terminated (MT).

Processes are plain generator functions ``f(env, ctx, i)``: ``env`` is the
``simpy.Environment`` (``env.now`` in seconds since the scenario epoch),
``ctx`` an :class:`SmsContext` (coverage view, beams, configuration, random
streams and the per-message log) and ``i`` the message's id. A process sleeps
with one timeout to the next thing that can change its fate (coverage
returns, a random-access grant, the end of a transfer, a retry, expiry):
gap ends and coverage ends come from the :class:`CoverageView`, never from
polling the time steps.

MO (TS 24.011 relay and control layers): the phone holds the message until
it is served (no connection can be set up in a gap), then makes an
*attempt*: its relay layer hands RP-DATA down and starts TR1M (TS 24.011
§6.2.1.2, "wait for RP-ACK"; 35 < TR1M < 45 s, §10.1), then random access on
the serving beam (RACH grant, then ``access_delay_s``), uplink transfer of
payload + signalling over the beam's RBs, then ``ground_delay_s`` to the SMS
centre (delivered = accepted by the SC). The attempt fails, and the phone
resubmits the message, in three ways:

* the beam is lost before the transfer ends: a lower-layer failure the phone
  sees at once (the connection is released, and the control layer reports an
  error up, TS 24.011 §5.3); it tries again at once on the next beam, or when
  coverage returns;
* the transfer has not ended when TR1M expires (a congested beam: the
  transfer still queued at ``t_attempt + tr1m_s`` takes no RBs): it tries
  again at TR1M expiry;
* the message or its acknowledgement is lost at random (``failure_prob``):
  the phone hears nothing and tries again when TR1M expires,
  ``t_attempt + tr1m_s`` (if then in a gap, when coverage returns).

TS 24.011 has no relay-layer retransmission of RP-DATA (only of RP-SMMA, on
TRAM); resubmission is the transfer layer's, with TP-Reject-Duplicates
(TS 23.040 §9.2.3.25). How often a phone resubmits is implementation
(Android's SMSDispatcher tries up to 3 times, 2 s apart, then reports "not
sent" to the user); here the phone keeps trying until the validity period
ends, which folds in the user's own resends (assumption). The control
layer's CP-DATA retransmissions (TC1*, §5.3.2.1) happen inside TR1M and are
not modelled apart: ``failure_prob`` is the chance an attempt fails after
them. The RP-ACK's way back (one ground delay and a downlink message) is
neglected against TR1M.

MT: the SMS centre (SC) makes a delivery attempt at arrival: ``ground_delay_s``
to the beam, paging (beam paging limit, then the handset's paging occasion),
random access, downlink transfer; delivered = received by the phone. An
attempt fails when the handset is not served at paging time or leaves the
beam before the transfer ends; the SC then stores the message and retries on
its schedule, ``mt_retry``:

* ``"alert"`` (the default): alert on return. The failed delivery leaves the
  HLR / HSS's "mobile station not reachable" flag (MNRF) set; when the phone
  is reachable again (the MSC / MME's "mobile station present" indication)
  the HLR sends the alert to the SC, which retries at once (TS 23.040
  §10.3, "alert service centre"). The retry reaches the beam one ground delay
  for the alert plus one for the message after the first served instant
  after the gap, ``t_back``: delivered at ``t_back + 2 ground_delay_s +
  paging + access + transfer``. A failure while the phone stays reachable
  (the transfer lost at random, or a handover mid-transfer) is retried the
  same way, one ground delay after it (the SC hears of it at once).
* ``"fixed"``: every ``mt_retry_s`` from the arrival.
* ``"backoff"``: ``mt_retry_s x mt_backoff_factor^(k-1)`` after the k-th
  failure, at most ``mt_retry_max_s``.

Fixed and backoff are common operator shapes, not a standard; their values
are assumptions. On a timeline sampled every ``step_s`` the first served
instant after a gap is the bound of its first served sample (the midpoint
between samples, see :mod:`satsim.scheduler.coverage_view`), so ``t_back``
is known to half a step.

Both give up at ``t_arrival + validity_s`` (TS 23.040 §9.2.3.12: the SC
discards an undelivered message when its validity period ends; for MO the
phone's outbox is given the same period, an assumption). An attempt started
before expiry runs to its end. Each message is sent on its own (several
messages waiting in one phone do not share a connection).

Clocks: a process keeps the intended time of its next step in ``t`` and
works with it (``env.now`` can differ by round-off); MT retries fall on
``t_arrival + (sum of waits)`` exactly. Resources are asked for at ``t``: the
rate limiters (RACH, paging) accept requests for future times, so an MT
attempt computes its page, paging occasion and random-access grant at once;
the resource-block pools are asked at ``env.now`` (after a timeout to the
random-access grant), which keeps their first-come-first-served recursion
exact (see ``resources``).
"""

from __future__ import annotations

import math

from ..streams import stream
from .arrivals import at
from .coverage_view import CoverageView
from .resources import Beams, next_paging_occasion, service_time_model

#: Direction codes and names.
MO, MT = 0, 1
DIRECTIONS = ("MO", "MT")
#: Outcome codes and names.
DELIVERED, EXPIRED, IN_FLIGHT = 0, 1, 2
OUTCOMES = ("delivered", "expired", "in_flight")


class SmsContext:
    """Everything the SMS processes share, and the per-message log.

    Per message ``i`` (ids in arrival order): ``direction[i]``,
    ``handset[i]``, ``t_arrival[i]``; written by the processes:
    ``t_done[i]`` (delivery or expiry time), ``outcome[i]``, ``attempts[i]``
    and ``sat[i]`` / ``beam[i]`` of the latest attempt.
    """

    def __init__(self, view: CoverageView, beams: Beams, sms, beam_config, seed: int,
                 direction, handset, t_arrival):
        self.view, self.beams = view, beams
        self.direction = direction.tolist()
        self.handset = handset.tolist()
        self.t_arrival = t_arrival.tolist()
        n = len(self.t_arrival)
        self.t_done = [math.nan] * n
        self.outcome = [IN_FLIGHT] * n
        self.attempts = [0] * n
        self.sat = [-1] * n
        self.beam = [-1] * n
        self.validity_s = sms.validity_s
        self.ground_delay_s = sms.ground_delay_s
        self.rb_per_sms = sms.rb_per_sms
        self.tr1m_s = sms.tr1m_s
        self.mt_retry = sms.mt_retry
        self.mt_retry_s = sms.mt_retry_s
        self.mt_backoff_factor = sms.mt_backoff_factor
        self.mt_retry_max_s = sms.mt_retry_max_s
        self.failure_prob = sms.failure_prob
        self.access_delay_s = beam_config.access_delay_s
        self.paging_cycle_s = beam_config.paging_cycle_s
        bits = 8.0 * (sms.payload_bytes + sms.overhead_bytes)
        self.ul_time = service_time_model(sms.service_time, bits=bits, n_rb=sms.rb_per_sms,
                                          mean_s=sms.service_mean_s,
                                          rng=stream(seed, "sms/mo/service"))
        self.dl_time = service_time_model(sms.service_time, bits=bits, n_rb=sms.rb_per_sms,
                                          mean_s=sms.service_mean_s,
                                          rng=stream(seed, "sms/mt/service"))
        self._fail_rng = (stream(seed, "sms/mo/failures"), stream(seed, "sms/mt/failures"))
        self._fail_buf: tuple[list[float], list[float]] = ([], [])

    # ------------------------------------------------------------ helpers
    def lost(self, direction: int) -> bool:
        """Draw whether an attempt in ``direction`` (MO / MT) fails at random (``failure_prob``)."""
        if self.failure_prob <= 0.0:
            return False
        buf = self._fail_buf[direction]
        if not buf:
            buf.extend(self._fail_rng[direction].random(4096).tolist()[::-1])
        return buf.pop() < self.failure_prob

    def next_mt_attempt(self, h: int, t0: float, offset: float, retry: int,
                        t_fail: float) -> tuple[float, float]:
        """The SC's next attempt after its ``retry``-th failure (known at ``t_fail``).

        Returns the attempt time and the new offset from the arrival ``t0``:
        "fixed" and "backoff" wait from the previous attempt (never before
        ``t_fail``); "alert" tries when the SC is alerted that the phone is
        reachable again (TS 23.040 §10.3): one ground delay (the alert's way to
        the SC) after the first served instant at or after ``t_fail``; the
        attempt then needs one more ground delay to reach the beam.
        """
        if self.mt_retry == "alert":
            return self.view.gap_end(h, t_fail) + self.ground_delay_s, offset
        if self.mt_retry == "fixed":
            offset += self.mt_retry_s
        else:
            offset += min(self.mt_retry_s * self.mt_backoff_factor ** (retry - 1),
                          self.mt_retry_max_s)
        t = t0 + offset
        return (t if t > t_fail else t_fail), offset

    def transfer(self, pool, time_of_cqi, h: int, j: int, t: float,
                 deadline: float) -> tuple[float, float]:
        """Reserve the message's RBs on ``pool`` (a beam's ``ul`` or ``dl``) from ``t``.

        ``j`` is the handset's run at random access; if it has ended by ``t``
        the transfer runs in the next run (same beam, another CQI). Returns
        ``(start, finish)`` of the transfer at that run's CQI.
        """
        view = self.view
        if t >= view.end[j]:  # same beam, next CQI run
            j = view.run_at(h, t)
        return pool.reserve(t, self.rb_per_sms, time_of_cqi(int(view.cqi[j])), deadline)


def sms_message(env, ctx: SmsContext, i: int):
    """Process: message ``i``, mobile-originated or mobile-terminated."""
    return (mo_sms if ctx.direction[i] == MO else mt_sms)(env, ctx, i)


def mo_sms(env, ctx: SmsContext, i: int):
    """Process: one mobile-originated SMS, from the phone's outbox to the SMS centre.

    Each attempt starts TR1M at ``t`` (the phone hands RP-DATA down) and is
    bounded by it: the transfer must end by ``min(beam lost, t + tr1m_s)``.
    """
    view, beams = ctx.view, ctx.beams
    h = ctx.handset[i]
    t = ctx.t_arrival[i]
    expiry = t + ctx.validity_s
    while t < expiry:
        j = view.run_at(h, t)
        if j < 0:  # in a gap: sleep until coverage returns
            t = view.gap_end(h, t)
            if t >= expiry:
                break
            yield at(env, t)
            continue
        ctx.attempts[i] += 1
        sat, b = int(view.sat[j]), int(view.beam[j])
        ctx.sat[i], ctx.beam[i] = sat, b
        beam = beams.get(sat, b)
        t_tr1m = t + ctx.tr1m_s  # TR1M expires: the attempt has failed
        deadline = min(float(view.serve_end[j]), t_tr1m)
        t_access = beam.rach.grant(t, t) + ctx.access_delay_s
        if t_access >= deadline:  # lost the beam (or TR1M ran out) during random access
            yield at(env, deadline)
            t = deadline
            continue
        if t_access > t:
            yield at(env, t_access)
            t = t_access
        start, finish = ctx.transfer(beam.ul, ctx.ul_time, h, j, t, deadline)
        if finish > deadline:  # lost the beam, or TR1M ran out, before the transfer ended
            yield at(env, deadline)
            t = deadline
            continue
        if ctx.lost(MO):  # no RP-ACK: the phone finds out when TR1M expires
            t = t_tr1m
            if t >= expiry:
                break
            yield at(env, t)
            continue
        done = finish + ctx.ground_delay_s
        yield at(env, done)
        ctx.t_done[i], ctx.outcome[i] = done, DELIVERED
        return
    yield at(env, expiry)
    ctx.t_done[i], ctx.outcome[i] = expiry, EXPIRED


def mt_sms(env, ctx: SmsContext, i: int):
    """Process: one mobile-terminated SMS, stored at the SMS centre and forwarded.

    An SC attempt at ``t`` reaches the beam at ``t + ground_delay_s``. The
    attempts that find the phone unreachable there touch no resource, so they
    are counted without waking the process for each one (no event); the
    process wakes at the first attempt that finds the phone served.
    """
    view, beams = ctx.view, ctx.beams
    h = ctx.handset[i]
    g = ctx.ground_delay_s
    t = now = t0 = ctx.t_arrival[i]
    expiry = t0 + ctx.validity_s
    horizon = view.end_s
    retry = 0
    offset = 0.0  # attempt times are t0 + offset: exact sums of the waits, free of round-off
    while True:
        j = -1
        while t < expiry and t < horizon:
            j = view.run_at(h, t + g)
            if j >= 0:
                break
            ctx.attempts[i] += 1  # the phone is absent
            retry += 1
            t, offset = ctx.next_mt_attempt(h, t0, offset, retry, t + g)
        if j < 0 or t >= expiry or t >= horizon:
            break
        if t > now:
            yield at(env, t)
            now = t
        # reachable: page, then the phone's random access, then the transfer
        ctx.attempts[i] += 1
        sat, b = int(view.sat[j]), int(view.beam[j])
        ctx.sat[i], ctx.beam[i] = sat, b
        beam = beams.get(sat, b)
        deadline = t_fail = float(view.serve_end[j])
        t_page = next_paging_occasion(beam.paging.grant(t + g, now), h, ctx.paging_cycle_s)
        t_access = beam.rach.grant(t_page, now) + ctx.access_delay_s
        if t_access < deadline:
            if t_access > now:
                yield at(env, t_access)
                now = t_access
            start, finish = ctx.transfer(beam.dl, ctx.dl_time, h, j, now, deadline)
            if finish <= deadline:
                if not ctx.lost(MT):
                    yield at(env, finish)
                    ctx.t_done[i], ctx.outcome[i] = finish, DELIVERED
                    return
                t_fail = finish
        retry += 1
        t, offset = ctx.next_mt_attempt(h, t0, offset, retry, t_fail)
    if t >= expiry:
        yield at(env, expiry)
        ctx.t_done[i], ctx.outcome[i] = expiry, EXPIRED
    # else: the run ends first; the message stays in flight
