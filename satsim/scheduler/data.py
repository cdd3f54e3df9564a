"""Data sessions over the satellite beams: elastic downloads that pause in gaps.

Model
-----
Sessions arrive Poisson per handset (``sessions_per_hour``), each with a size
drawn at arrival (``size_distribution``). A session is a download on the
serving beam's downlink: it shares the RBs that voice calls leave with the
beam's other sessions (:mod:`satsim.scheduler.sharing`, round robin or
proportional fair), at the rate of its own CQI. Its rate changes whenever the
beam's membership, the calls or its CQI change (event-driven processor
sharing, no time steps).

* **Gap**: when the handset is not served the session pauses; it resumes when
  coverage returns, or is **aborted** once a single pause has lasted
  ``gap_timeout_s``. A session that arrives in a gap starts paused.
* **Handover**: where the timeline changes the serving (satellite, beam)
  without a break, the session leaves the old beam's share and joins the new
  one after ``handover_interruption_s``. A change of CQI on the same beam
  only changes the rate.
* **Completed** when its last bit is through; still going at the end of the
  run: **in progress**. ``sessions = completed + aborted + in_progress``.

Throughput of a completed session: ``size / active time`` (time in a beam's
share, whatever the rate there; pauses and handover interruptions excluded),
and ``size / (completion - arrival)`` with them. TCP slow start is
neglected: sessions are fluid flows that use their share at once (Bonald and
Proutière 2003, the flow-level model).

Uplink
------
Sessions are downloads, and their uplink is not modelled: it carries the
requests and the TCP acknowledgements, one ACK of 52 B (IPv4 20 + TCP 20 +
timestamps 12) per two full segments of 1,448 B with delayed ACKs (RFC 1122
§4.2.3.2, RFC 5681 §4.2), 1.8 % of the downloaded bytes (1-3 % with other
segment sizes and ACK ratios). At the default scenario's median session
throughput (about 2.6 Mbit/s) that is about 47 kbit/s, within the uplink
capacity of a phone at the 10th percentile of the carrier-wide uplink SINR
(-10.8 dB: about 180 kbit/s, :func:`satsim.scheduler.uplink.capacity_bps`);
ACKs could pace a download only where the phone's uplink is near its floor
(one RB at CQI 1, 18 kbit/s: a downlink above about 1 Mbit/s). The
coverage view's runs split by the uplink alone (same satellite, beam and
CQI) are one run for a session, so the uplink leaves sessions as they were.

Sizes and defaults
------------------
``size_distribution``:

``"lognormal"``
    Median ``size_median_bytes`` and shape ``size_sigma``, truncated to
    ``[size_min_bytes, size_max_bytes]`` (drawn by inverse CDF). Defaults are
    the HTTP main-object model of 3GPP2 C.R1002-0 (cdma2000 evaluation
    methodology; also in the IEEE 802.16m evaluation methodology):
    lognormal with mu = 8.37, sigma = 1.37, truncated to 100 B .. 2 MB.
    The median is e^8.37 = 4,316 B; the table quotes a mean of about 10.7 kB
    (standard deviation 25 kB), while mu and sigma as printed give 11.05 kB
    after truncation (``mean_size_bytes``), the difference being their
    rounding. A web page's main object or a
    messaging-app burst (text, a compressed thumbnail) is of this size.
``"pareto"``
    Shape ``size_pareto_alpha``, scale (smallest size) ``size_min_bytes``,
    truncated at ``size_max_bytes``. Web file sizes are heavy-tailed with
    alpha close to 1 (Crovella and Bestavros, "Self-similarity in World
    Wide Web traffic: evidence and possible causes", IEEE/ACM ToN 5(6),
    1997); default 1.2 (finite mean; ``size_max_bytes`` must be finite for
    alpha <= 1).
``"choice"``
    ``sizes_bytes`` with probabilities ``size_weights`` (equal if None), e.g.
    messaging traffic as ``(2_000, 150_000, 1_000_000)`` (text, photo, voice
    note) with weights ``(0.8, 0.15, 0.05)``; one size gives fixed sizes,
    e.g. the fixed 0.5 MB file of 3GPP's FTP traffic models (TR 36.814
    Annex A.2.1.3) is ``sizes_bytes=(500_000,)``.

* ``sessions_per_hour = 1.0``: an assumption (light use of a fall-back
  satellite service), not a 3GPP figure.
* ``gap_timeout_s = 60``: an assumption for the application's patience
  without progress. TCP alone would hold on far longer (Linux gives up after
  15 retransmissions, about 924.6 s; ``tcp_retries2`` in the kernel's
  ip-sysctl documentation). ``inf`` never aborts.
* ``handover_interruption_s = 0.05``: as for voice (TS 36.133 §5.1.2.1).
* ``sharing = "round_robin"``.
"""

from __future__ import annotations

import math

from ..link.cqi import RATE_BPS_PER_RB
from .arrivals import at, handset_arrivals, handset_draws
from .config import DataConfig
from .coverage_view import CoverageView
from .resources import Beams
from .sharing import DONE

#: Outcome codes and names.
COMPLETED, ABORTED, IN_PROGRESS = 0, 1, 2
OUTCOMES = ("completed", "aborted", "in_progress")

#: :data:`~satsim.link.cqi.RATE_BPS_PER_RB` as floats, for the per-event look-up.
_RATE_BPS_PER_RB = RATE_BPS_PER_RB.tolist()


def data_sessions(seed: int, view: CoverageView, data: DataConfig, day_offset_s: float):
    """Poisson sessions of every handset: ``(handset int32, t_s, size_bytes)``, by handset
    then time; sizes from the handset's own stream."""
    handset, t = handset_arrivals(seed, "data/sessions", view.n_handsets, data.sessions_per_hour,
                                  view.start_s, view.end_s, data.daily_profile, day_offset_s)
    sizes = handset_draws(seed, "data/sizes", handset, view.n_handsets, data.draw_sizes)
    return handset, t, sizes


class DataContext:
    """Everything the session processes share, and the per-session log.

    Per session ``i`` (ids in arrival order): ``handset[i]``, ``t_arrival[i]``,
    ``size_bytes[i]``; written by the processes: ``outcome``, ``t_end``
    (completion or abort, NaN while in progress), ``remaining_bits``,
    ``active_s`` (time in a beam's share), ``paused_s`` (time in gaps),
    ``handovers``, ``sat`` / ``beam`` of the first serving beam and
    ``last_sat`` / ``last_beam``; ``t_join`` while in a share (else NaN).
    """

    def __init__(self, view: CoverageView, beams: Beams, data: DataConfig, handset, t_arrival,
                 size_bytes):
        self.view, self.beams, self.config = view, beams, data
        self.handset = handset.tolist()
        self.t_arrival = t_arrival.tolist()
        self.size_bytes = size_bytes.tolist()
        n = len(self.t_arrival)
        self.outcome = [IN_PROGRESS] * n
        self.t_end = [math.nan] * n
        self.remaining_bits = [8.0 * s for s in self.size_bytes]
        self.active_s = [0.0] * n
        self.paused_s = [0.0] * n
        self.handovers = [0] * n
        self.sat = [-1] * n
        self.beam = [-1] * n
        self.last_sat = [-1] * n
        self.last_beam = [-1] * n
        self.t_join = [math.nan] * n
        self.gap_timeout_s = data.gap_timeout_s
        self.interruption_s = data.handover_interruption_s
        # last run of the runs the uplink alone split (None: no uplink data, no split)
        self.dl_last = (view.chain_last(view.same_serving_next()).tolist()
                        if view.has_uplink else None)

    def finalize(self, end_s: float) -> None:
        """At the end of the run: bits left and active time of the sessions still in a share."""
        for b in self.beams.all():
            share = b.data
            if share is None or not share.flows:
                continue
            share.sync(end_s)
            for key, flow in share.flows.items():
                if flow.demand_bps < math.inf:  # an app call's flow, not a session
                    continue
                self.remaining_bits[key] = max(flow.remaining_bits, 0.0)
                self.active_s[key] += end_s - self.t_join[key]


def data_session(env, ctx: DataContext, i: int):
    """Process: one session, through gaps and handovers, to completion or abort."""
    view, beams = ctx.view, ctx.beams
    h = ctx.handset[i]
    hi = view.offsets[h + 1]
    t = ctx.t_arrival[i]
    bits = ctx.remaining_bits[i]
    while True:
        j = view.run_at(h, t)
        if j < 0:  # in a gap: pause until coverage returns, or give up
            t_back = view.gap_end(h, t)
            if t_back - t > ctx.gap_timeout_s:
                t_abort = t + ctx.gap_timeout_s
                yield at(env, t_abort)
                ctx.t_end[i], ctx.outcome[i] = t_abort, ABORTED
                return
            if math.isinf(t_back):  # never served again, and never gives up
                return
            yield at(env, t_back)
            ctx.paused_s[i] += t_back - t
            t = t_back
            continue
        sat, b = int(view.sat[j]), int(view.beam[j])
        if ctx.sat[i] < 0:
            ctx.sat[i], ctx.beam[i] = sat, b
        ctx.last_sat[i], ctx.last_beam[i] = sat, b
        share = beams.data_share(sat, b)
        ctx.t_join[i] = env.now
        k = j if ctx.dl_last is None else ctx.dl_last[j]
        status, bits = yield share.join(i, bits, _RATE_BPS_PER_RB[int(view.cqi[j])],
                                        float(view.end[k]))
        ctx.active_s[i] += env.now - ctx.t_join[i]
        ctx.t_join[i] = math.nan
        ctx.remaining_bits[i] = bits
        if status == DONE:
            ctx.t_end[i], ctx.outcome[i] = env.now, COMPLETED
            return
        t = float(view.end[k])  # the run ended: same beam at another CQI, a handover or a gap
        nxt = k + 1
        if (nxt < hi and view.start[nxt] == t
                and (int(view.sat[nxt]), int(view.beam[nxt])) != (sat, b)):
            ctx.handovers[i] += 1
            if ctx.interruption_s > 0.0:
                t += ctx.interruption_s
                yield at(env, t)
