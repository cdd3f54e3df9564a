"""Service scheduler: SMS, voice and data over the satellite beams, driven by coverage gaps.

``env.now`` is seconds since the scenario epoch. The scheduler sees only the
link timeline, through a :class:`CoverageView`, so it runs just as well on a
synthetic timeline (always covered, periodic on / off) where queueing theory
gives the answer::

    from satsim.scheduler import CoverageView, SchedulerConfig, simulate

    view = CoverageView.periodic(1000, on_s=300, off_s=600, duration_s=86400)
    # or the link layer's timeline, one chunk at a time:
    # view = CoverageView.from_link_chunks(satsim.link.iter_link_chunks(...),
    #                                      n_rb=link_config.carrier.beam_n_rb)
    result = simulate(view, SchedulerConfig(), seed=1)
    result.events          # one row per SMS
    result.summary()       # offered / delivered / expired / in flight, latency, beams

    # voice and data are off unless configured:
    config = SchedulerConfig(voice=VoiceConfig(), data=DataConfig())
    result = simulate(view, config, seed=1)
    result.calls           # one row per call attempt
    result.sessions        # one row per data session
    result.summary()["voice"], result.summary()["data"]
    # app calls over data (audio or video, on the beams' data share):
    # SchedulerConfig(app_call=AppCallConfig()) -> result.app_calls, summary()["app_call"]

Modules: ``coverage_view`` (look-ups into the timeline; with ``n_rb`` /
``ul_sinr_db`` it carries the uplink too), ``uplink`` (the phone's per-RB
uplink SINR and capacity: what voice and app calls need of the uplink),
``resources`` (per-beam resource blocks, RACH and paging limits, the voice
calls' GBR pool, service-time models), ``sms`` (the MO and MT processes),
``voice`` (calls: admission, handovers, fades against T310, on both links),
``data`` (sessions: sizes, gaps,
aborts), ``app_call`` (calls from an app over data: a real-time flow on the
data share, degraded time, mouth-to-ear delay), ``sharing`` (processor
sharing of a beam among data sessions and app calls),
``arrivals`` (Poisson traffic, daily profile, the source process that
releases it), ``config`` (the settings), ``model`` (``simulate``, results), ``parts``
(a run split exactly into parts whose handsets share no beam). Design notes:

* **Processes are plain generators** ``f(env, ctx, i)`` and sleep with one
  timeout to the next instant that matters: the end of a gap or of a beam's
  service (from the view), a grant, the end of a transfer, a retry, expiry.
  Nothing polls the time steps.
* **Traffic is generated up front** (vectorised per handset) and released by
  one source process; a message is an integer id into per-message lists.
* **Beam resources compute FCFS starts directly** (workload recursion)
  instead of SimPy request / release events; exact because every request is
  made at ``env.now`` (checked). See ``resources``.
* **Randomness**: one seed; streams keyed by name and index (per service and
  per block of 256 handsets, registered in ``satsim.streams``; traffic is
  drawn block by block, ``scheduler.arrivals``), so adding a service or a
  handset never shifts another's draws.
* **Voice is a loss system, data is elastic.** A call reserves its RBs at
  once or is blocked (no queue: Erlang B on one always-covered beam); data
  sessions share what calls leave by processor sharing, with rates
  recomputed only when a beam's membership or capacity changes. SMS rides
  the signalling bearers ahead of both and is not slowed by them (see
  ``resources``), so switching voice or data on leaves SMS results unchanged.
"""

from .config import (
    AppCallConfig,
    BeamConfig,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
)
from .coverage_view import CoverageView, CoverageViewBuilder, Serving
from .model import SchedulerResult, simulate
from .resources import BeamResources, GbrPool, RateLimiter, RbPool, next_paging_occasion
from .sharing import ElasticShare

__all__ = [
    "AppCallConfig", "BeamConfig", "BeamResources", "CoverageView", "CoverageViewBuilder",
    "DataConfig", "ElasticShare", "GbrPool",
    "RateLimiter", "RbPool", "SchedulerConfig", "SchedulerResult", "Serving", "SmsConfig",
    "VoiceConfig", "next_paging_occasion", "simulate",
]
