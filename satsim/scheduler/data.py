"""Data sessions over the satellite beams: elastic downloads and uploads that pause in
gaps.

Model
-----
Sessions arrive Poisson per handset (``sessions_per_hour``), each with a size
drawn at arrival (``size_distribution``) and a direction: an **upload** with
probability ``upload_fraction``, else a **download**. A download is carried on
the serving beam's downlink: it shares the RBs that voice calls leave with the
beam's other downloads (:mod:`satsim.scheduler.sharing`, round robin or
proportional fair), at the rate of its own CQI. An upload is carried on the
beam's uplink, at the phone's uplink rate (see "Uploads" below). A session's
rate changes whenever its beam's membership, the calls or its CQI change
(event-driven processor sharing, no time steps).

* **Gap**: when the handset is not served the session pauses; it resumes when
  coverage returns, or is **aborted** once a single pause has lasted
  ``gap_timeout_s``. A session that arrives in a gap starts paused. For an
  upload, a served run whose uplink is unusable (not even one RB reaches
  CQI 1) is part of the gap.
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

Downloads' uplink
-----------------
A download's uplink is not modelled: it carries the requests and the TCP
acknowledgements, one ACK of 52 B (IPv4 20 + TCP 20 + timestamps 12) per two
full segments of 1,448 B with delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681
§4.2), 1.8 % of the downloaded bytes (1-3 % with other segment sizes and ACK
ratios). At the default scenario's median session throughput (about
2.6 Mbit/s) that is about 47 kbit/s, within the uplink capacity of a phone at
the 10th percentile of the carrier-wide uplink SINR (-10.8 dB: about
180 kbit/s, :func:`satsim.scheduler.uplink.capacity_bps`); ACKs could pace a
download only where the phone's uplink is near its floor (one RB at CQI 1,
18 kbit/s: a downlink above about 1 Mbit/s). The coverage view's runs split
by the uplink alone (same satellite, beam and CQI) are one run for a
download, so the uplink leaves downloads as they were. Likewise an upload's
ACKs on the downlink (1.8 % of its bytes) are neglected: uploads take no
downlink RBs.

Uploads
-------
With uplink data in the view (:class:`~satsim.scheduler.CoverageView`, the
link timeline's carrier-wide ``ul_sinr_db`` per run), an upload is a flow on
the beam's **uplink share**: one :class:`~satsim.scheduler.sharing.ElasticShare`
per beam, of the RBs the voice calls leave (a call holds the same RBs on the
uplink as on the downlink, :mod:`satsim.scheduler.resources`), shared by the
beam's uploads with the same policy (``sharing``) as downloads share the
downlink.

*The phone's power limit.* A phone at a satellite's path loss sends at
``P_CMAX`` (23 dBm, TS 36.101 §6.2.2) whatever the number ``M`` of RBs it is
granted (TS 36.213 §5.1.1.1), so its per-RB SINR is ``ul_sinr_db + 10
log10(n_rb / M)`` (:func:`satsim.scheduler.uplink.per_rb_sinr_db`). Its rate
on ``x`` RBs (:class:`UplinkRate`, per run, from the run's mean uplink SINR)::

    G(M) = max over M' in 1..M of M' x rate(CQI(ul_sinr_db + 10 log10(n_rb / M')))
    G(x) = linear between whole numbers of RBs, G(0) = 0

(the phone uses the best number of the RBs it is given; a share of
``x = 12.5`` RBs is 12 and 13 RBs in turn). CQI thresholds and rate per RB
of :mod:`satsim.link.cqi` are the proxy for the uplink's MCS / TBS of
TS 36.213 §8.6.1, as in :mod:`satsim.scheduler.uplink`. Its most,
``capacity = G(n_rb)``, is :func:`satsim.scheduler.uplink.capacity_bps`;
``M*`` is the fewest RBs reaching it, and more give the phone nothing.

*Sharing.* An upload joins the uplink share as a flow that needs ``M*``
RBs, of rate ``G(x)`` on ``x`` RBs (:mod:`~satsim.scheduler.sharing`, "Rates
not linear in the RBs"). The RBs are split max-min fair (Bertsekas and
Gallager, *Data Networks*, 2nd ed., §6.5.2): an upload gets ``min(M*, L)``
RBs, ``L`` the common level (``capacity_rb / n`` when no upload is
power-limited), and sends at ``G(min(M*, L))``. So an upload alone on a
beam without calls sends at exactly its ``capacity``; two uploads that
need all the RBs get half each, as two downloads do, each at its own rate
on its half; the RBs a power-limited phone cannot use go to the others.
RBs are shared in frequency, every subframe, as the LTE uplink's SC-FDMA
allocates a phone a set of contiguous RBs per subframe (TS 36.213 §8.1.1,
uplink resource allocation type 0), so a phone with fewer RBs keeps its
whole power for them. With proportional fair the gain ``H_n`` multiplies
the rate, at most the capacity.

A session's **power-limited time** (``power_limited_s``) is its time in a
share while it got its whole ``capacity`` (its ``M*`` RBs, ``M* <= L``): the
phone's power, not the beam's RBs, set its rate.

The calls' RBs are read from the beam when an upload joins its share (the
voice pool updates only the downlink share at a call's admission or
release): between two joins, a call's admission or release leaves the
uploads' RBs as they were. The uplink shares' RBs are not in the beams table.

Sessions given to :func:`~satsim.scheduler.simulate` (``sessions=``) say
their direction in a ``direction`` column ("download" / "upload"); without
it every one is a download.

*Views without uplink data* (no ``ul_sinr_db``, e.g. the synthetic
:meth:`~satsim.scheduler.CoverageView.always_covered` and
:meth:`~satsim.scheduler.CoverageView.periodic`): the link is taken as
symmetric, as before the uplink was read, and an upload is carried exactly
as a download of its size (the downlink share, at the downlink CQI): every
result is the one of downloads only; the summary marks the uploads'
``uplink_modelled: false``.

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
* ``upload_fraction = 0.08``: uplink traffic is "on average, around 8
  percent of total traffic volume" in a sample of mobile networks (Ericsson
  Mobility Report, article "Analysis of traffic profiles",
  ericsson.com/en/reports-and-papers/mobility-report/dataforecasts/analysis-traffic-profiles).
  Uploads and downloads draw their sizes from one distribution, so the share
  of sessions is the expected share of bytes. The measured 8 % includes the
  downloads' requests and ACKs, which are not sessions here (about 1.8 % of
  the downloaded bytes, above), so uploads proper are nearer 6 %; messaging
  and calls are more two-way (23-26 % uplink in the networks where they lead
  the uplink, same article). 0 gives downloads only, exactly as before
  uploads existed (the direction is then not drawn).
* Direction: one uniform per session from its own stream (``data/directions``,
  block by block: ``scheduler.arrivals``), so drawing it changes no other draw.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from ..link.cqi import RATE_BPS_PER_RB, cqi_from_sinr_db
from .arrivals import at, handset_arrivals, handset_draws
from .config import DataConfig
from .coverage_view import CoverageView, per_run
from .resources import Beams
from .sharing import DONE, ElasticShare
from .uplink import checked_n_rb, rb_offsets_db
from .voice import usable_runs

#: Outcome codes and names.
COMPLETED, ABORTED, IN_PROGRESS = 0, 1, 2
OUTCOMES = ("completed", "aborted", "in_progress")
#: Directions of a session (``DataContext.upload``: False / True).
DIRECTIONS = ("download", "upload")

#: :data:`~satsim.link.cqi.RATE_BPS_PER_RB` as floats, for the per-event look-up.
_RATE_BPS_PER_RB = RATE_BPS_PER_RB.tolist()


def data_sessions(seed: int, view: CoverageView, data: DataConfig, day_offset_s: float,
                  blocks=None):
    """Poisson sessions of every handset: ``(handset int32, t_s, size_bytes, upload bool)``,
    by handset then time; sizes and directions from their own streams
    (``data/sizes``, ``data/directions``; no direction is drawn when
    ``upload_fraction`` is 0: all downloads); ``blocks``: only those traffic blocks'
    handsets (``arrivals.handset_arrivals``)."""
    handset, t = handset_arrivals(seed, "data/sessions", view.n_handsets, data.sessions_per_hour,
                                  view.start_s, view.end_s, data.daily_profile, day_offset_s,
                                  blocks)
    sizes = handset_draws(seed, "data/sizes", handset, view.n_handsets, data.draw_sizes)
    if data.upload_fraction > 0.0 and handset.size:
        upload = handset_draws(seed, "data/directions", handset, view.n_handsets,
                               data.draw_uploads).astype(bool)
    else:
        upload = np.zeros(handset.size, dtype=bool)
    return handset, t, sizes, upload


class UplinkRate:
    """The rate a phone sends at when granted ``x`` RBs of the beam's uplink (module
    docstring, "Uploads"): its uplink operating point from the carrier-wide uplink
    SINR ``ul_sinr_db`` (dB) over a band of ``n_rb`` RBs.

    ``G(M) = max over M' in 1..M of M' x RATE_BPS_PER_RB[CQI(ul_sinr_db + 10
    log10(n_rb / M'))]`` for whole ``M`` (power at ``P_CMAX`` over ``M'`` RBs,
    TS 36.213 §5.1.1.1; ``G(0) = 0``), linear in between (the scheduler
    alternates ``floor(x)`` and ``ceil(x)`` RBs), ``G(n_rb)`` beyond.

    Attributes
    ----------
    capacity_bps : float
        ``G(n_rb)``: :func:`satsim.scheduler.uplink.capacity_bps`, bit/s.
    m_rb : int
        ``M*``, the smallest ``M`` with ``G(M) = capacity_bps`` (0 if it is 0).
    rate_per_rb_bps : float
        ``capacity_bps / M*``: the rate of one RB at ``M*``, bit/s (0 if none).
    """

    __slots__ = ("g", "capacity_bps", "m_rb", "rate_per_rb_bps")

    def __init__(self, ul_sinr_db: float, n_rb: int):
        # every M at once: per_rb_sinr_db(ul_sinr_db, n_rb, M) is ul_sinr_db + the M-th
        # offset, bit for bit; rates are >= 0, so G is their running maximum
        offsets = rb_offsets_db(checked_n_rb(n_rb))
        cqi = cqi_from_sinr_db(np.float64(ul_sinr_db) + offsets)
        rates = np.arange(1, offsets.size + 1) * RATE_BPS_PER_RB[cqi]
        g = [0.0] + np.maximum.accumulate(rates).tolist()
        best = g[-1]
        self.g = g
        self.capacity_bps = best
        self.m_rb = g.index(best) if best > 0.0 else 0
        self.rate_per_rb_bps = best / self.m_rb if self.m_rb else 0.0

    def __call__(self, x_rb: float) -> float:
        """``G(x_rb)``, bit/s, for ``x_rb >= 0`` RBs."""
        g = self.g
        k = int(x_rb)
        if k >= len(g) - 1:
            return g[-1]
        return g[k] + (x_rb - k) * (g[k + 1] - g[k])


class DataContext:
    """Everything the session processes share, and the per-session log.

    Per session ``i`` (ids in arrival order): ``handset[i]``, ``t_arrival[i]``,
    ``size_bytes[i]``, ``upload[i]`` (True: an upload); written by the
    processes: ``outcome``, ``t_end`` (completion or abort, NaN while in
    progress), ``remaining_bits``, ``active_s`` (time in a beam's share),
    ``paused_s`` (time in gaps), ``power_limited_s`` (an upload's time in a
    share at its whole uplink capacity), ``handovers``, ``sat`` / ``beam``
    of the first serving beam and ``last_sat`` / ``last_beam``; ``t_join``
    while in a share (else NaN).

    ``uplink_modelled``: uploads go on the uplink (the view has uplink data);
    else they are carried as downloads (module docstring). Then, per run of
    the view: ``ul_ok`` (the uplink carries data: one RB reaches CQI 1),
    ``ul_capacity_bps`` and ``ul_rate_per_rb_bps`` (the operating point's
    capacity and ``r*``), ``ul_next_ok`` (first ``ul_ok`` run of the handset
    at or after the run, -1); ``ul_shares`` the beams' uplink shares by
    ``(sat, beam)``. The per-run sequences are compact
    (:func:`~satsim.scheduler.coverage_view.per_run`).
    """

    def __init__(self, view: CoverageView, beams: Beams, data: DataConfig, handset, t_arrival,
                 size_bytes, upload=None):
        self.view, self.beams, self.config = view, beams, data
        self.handset = handset.tolist()
        self.t_arrival = t_arrival.tolist()
        self.size_bytes = size_bytes.tolist()
        n = len(self.t_arrival)
        self.upload = [False] * n if upload is None else np.asarray(upload, dtype=bool).tolist()
        self.outcome = [IN_PROGRESS] * n
        self.t_end = [math.nan] * n
        self.remaining_bits = [8.0 * s for s in self.size_bytes]
        self.active_s = [0.0] * n
        self.paused_s = [0.0] * n
        self.power_limited_s = [0.0] * n
        self.handovers = [0] * n
        self.sat = [-1] * n
        self.beam = [-1] * n
        self.last_sat = [-1] * n
        self.last_beam = [-1] * n
        self.t_join = [math.nan] * n
        self.gap_timeout_s = data.gap_timeout_s
        self.interruption_s = data.handover_interruption_s
        # last run of the runs the uplink alone split (None: no uplink data, no split)
        self.dl_last = (per_run(view.chain_last(view.same_serving_next()))
                        if view.has_uplink else None)
        self.uplink_modelled = view.has_uplink
        self.ul_shares: dict[tuple[int, int], ElasticShare] = {}
        self.ul_ok = self.ul_next_ok = None
        self._ul_rates: dict[int, UplinkRate] = {}
        if view.has_uplink and any(self.upload):
            ok = (view.ul_cqi >= 1) & (view.ul_capacity_bps() > 0.0)
            self.ul_ok = per_run(ok)
            self.ul_next_ok = per_run(usable_runs(view, ok)[1])

    def uplink_rate(self, j: int) -> UplinkRate:
        """The phone's :class:`UplinkRate` in run ``j`` (from the run's mean uplink SINR)."""
        rate = self._ul_rates.get(j)
        if rate is None:
            rate = self._ul_rates[j] = UplinkRate(float(self.view.ul_sinr_db[j]), self.view.n_rb)
        return rate

    def uplink_back(self, h: int, t: float, j: int) -> float:
        """When handset ``h``'s uplink carries data again after ``t`` (``j``: its run at
        ``t``, -1 in a gap): the start of its next ``ul_ok`` run (inf: never)."""
        view, hi = self.view, int(self.view.offsets[h + 1])
        nxt = j if j >= 0 else bisect_left(view.start, t, int(view.offsets[h]), hi)
        m = self.ul_next_ok[nxt] if nxt < hi else -1
        return float(view.start[m]) if m >= 0 else math.inf

    def uplink_share(self, sat: int, beam: int) -> ElasticShare:
        """The beam's uplink share of uploads (created on first use), its RBs those the
        beam's calls leave now."""
        free_rb = self.beams.get(sat, beam).voice.free_rb
        share = self.ul_shares.get((sat, beam))
        if share is None:
            share = self.ul_shares[(sat, beam)] = ElasticShare(
                self.beams.env, free_rb, self.config.sharing, self.beams.end_s)
        elif share.capacity_rb != free_rb:
            share.set_capacity(free_rb)
        return share

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
        for share in self.ul_shares.values():  # uploads only
            share.sync(end_s)
            for key, flow in share.flows.items():
                self.remaining_bits[key] = max(flow.remaining_bits, 0.0)
                self.active_s[key] += end_s - self.t_join[key]
                self.power_limited_s[key] += flow.satisfied_s


def data_session(env, ctx: DataContext, i: int):
    """Process: one session, through gaps and handovers, to completion or abort; an
    upload on the beam's uplink share when the view has uplink data (module
    docstring), paused where the uplink is unusable too."""
    view, beams = ctx.view, ctx.beams
    up = ctx.upload[i] and ctx.uplink_modelled
    h = ctx.handset[i]
    hi = view.offsets[h + 1]
    t = ctx.t_arrival[i]
    bits = ctx.remaining_bits[i]
    while True:
        j = view.run_at(h, t)
        if j < 0 or (up and not ctx.ul_ok[j]):  # in a gap: pause until it ends, or give up
            t_back = ctx.uplink_back(h, t, j) if up else view.gap_end(h, t)
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
        ctx.t_join[i] = env.now
        if up:  # on the uplink until the run ends (its uplink class changes, or more)
            k, rate, share = j, ctx.uplink_rate(j), ctx.uplink_share(sat, b)
            event = share.join(i, bits, rate.rate_per_rb_bps, float(view.end[k]),
                               demand_bps=rate.capacity_bps, rate_of_rb=rate)
            flow = share.flows[i]
        else:  # on the downlink until the last of the runs the uplink alone split
            k = j if ctx.dl_last is None else ctx.dl_last[j]
            event = beams.data_share(sat, b).join(i, bits, _RATE_BPS_PER_RB[int(view.cqi[j])],
                                                  float(view.end[k]))
            flow = None
        status, bits = yield event
        ctx.active_s[i] += env.now - ctx.t_join[i]
        if flow is not None:
            ctx.power_limited_s[i] += flow.satisfied_s
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
