"""Service scheduler: SMS over the satellite beams, driven by coverage gaps.

``env.now`` is seconds since the scenario epoch. The scheduler sees only the
link timeline, through a :class:`CoverageView`, so it runs just as well on a
synthetic timeline (always covered, periodic on / off) where queueing theory
gives the answer::

    from satsim.scheduler import CoverageView, SchedulerConfig, simulate

    view = CoverageView.periodic(1000, on_s=300, off_s=600, duration_s=86400)
    # or the link layer's timeline, one chunk at a time:
    # view = CoverageView.from_link_chunks(satsim.link.iter_link_chunks(...))
    result = simulate(view, SchedulerConfig(), seed=1)
    result.events          # one row per SMS
    result.summary()       # offered / delivered / expired / in flight, latency, beams

Modules: ``coverage_view`` (look-ups into the timeline), ``resources``
(per-beam resource blocks, RACH and paging limits, service-time models),
``sms`` (the MO and MT processes), ``arrivals`` (Poisson traffic, daily
profile), ``streams`` (named random streams), ``model`` (configuration,
``simulate``, results). Design notes:

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
  per handset), so adding a service or a handset never shifts another's draws.
"""

from .coverage_view import CoverageView, Serving
from .model import BeamConfig, SchedulerConfig, SchedulerResult, SmsConfig, simulate
from .resources import BeamResources, RateLimiter, RbPool, next_paging_occasion

__all__ = [
    "BeamConfig", "BeamResources", "CoverageView", "RateLimiter", "RbPool",
    "SchedulerConfig", "SchedulerResult", "Serving", "SmsConfig", "next_paging_occasion",
    "simulate",
]
