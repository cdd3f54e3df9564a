"""Settings of the scheduler: SMS, voice and data traffic and behaviour, beam access
resources, and the whole :class:`SchedulerConfig`.

Each setting is declared once, here (default, unit in the name, range and
description); the scenario schema's ``services`` and ``beams`` sections are these
classes (``satsim._settings``). Defaults and their sources: SMS and beam access in
:mod:`satsim.scheduler.model`, voice in :mod:`satsim.scheduler.voice`, data in
:mod:`satsim.scheduler.data`, app calls in :mod:`satsim.scheduler.app_call`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.special import ndtr, ndtri

from .._settings import settings
from ..errors import InputError
from ..link.config import Carrier
from ..link.cqi import CQI_MIN_SINR_DB, MAX_CQI, RATE_BPS_PER_RB
from ._checks import checked_profile
from .sharing import SHARING_POLICIES

#: Transfer-time models of an SMS.
SERVICE_TIME_MODELS = ("rate", "exponential", "fixed")
#: Retry schedules of the SMS centre for mobile-terminated messages.
MT_RETRY_SCHEDULES = ("fixed", "backoff", "alert")
#: Voice holding-time distributions.
HOLDING_DISTRIBUTIONS = ("exponential", "fixed")
#: Data session size distributions.
SIZE_DISTRIBUTIONS = ("lognormal", "pareto", "choice")
#: Media of an app call.
APP_CALL_MEDIA = ("audio", "video")

_U_MIN, _U_MAX = 1e-300, 1.0 - 1e-16

_PROFILE = "Relative weight of each UTC hour of day (24 numbers; null: flat)."


def _profile(owner: str, obj) -> None:
    """Normalise ``obj.daily_profile`` to a tuple of 24 floats (or None), checked."""
    object.__setattr__(obj, "daily_profile", checked_profile(owner, obj.daily_profile))


def _z(x: float, mu: float, s: float) -> float:
    """Standard-normal quantile of size ``x`` for a lognormal (mu, s); +-inf at 0 and inf."""
    if x <= 0.0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    return (math.log(x) - mu) / s


def _lowest_cqi(rate_bps: float, rbs: float) -> int:
    """Lowest CQI at which ``rbs`` RBs carry ``rate_bps`` (``RATE_BPS_PER_RB``; 16 if
    none)."""
    fits = np.flatnonzero(RATE_BPS_PER_RB[1:] * rbs >= rate_bps)
    return int(fits[0]) + 1 if fits.size else MAX_CQI + 1


@settings("sms")
class SmsConfig:
    """SMS store-and-forward traffic and behaviour (defaults and sources:
    :mod:`satsim.scheduler.model`)."""

    mo_per_hour: float = Field(0.5, ge=0, description="Mobile-originated SMS per handset per "
                                                      "hour (Poisson).")
    mt_per_hour: float = Field(0.5, ge=0, description="Mobile-terminated SMS per handset per "
                                                      "hour (Poisson).")
    daily_profile: tuple[float, ...] | None = Field(None, description=_PROFILE)
    validity_s: float = Field(86400.0, gt=0, description="Validity period: undelivered "
                                                         "messages expire after it, s (TS 23.040 "
                                                         "TP-VP 167).")
    payload_bytes: int = Field(140, ge=0, description="Message size, bytes (TS 23.040 "
                                                      "§9.2.3.24: at most 140).")
    overhead_bytes: int = Field(100, ge=0, description="Signalling sent with each message, "
                                                       "bytes (estimate).")
    rb_per_sms: int = Field(1, ge=1, description="Resource blocks per transfer.")
    service_time: Literal[SERVICE_TIME_MODELS] = Field(
        "rate", description="Transfer time: bytes at the handset's CQI rate, or exponential / "
                            "fixed of mean service_mean_s.")
    service_mean_s: float | None = Field(None, ge=0, description="Mean transfer time, s "
                                                                 "(exponential, fixed).")
    ground_delay_s: float = Field(0.5, ge=0, description="Gateway + core + SMS centre, one way, "
                                                         "s (assumption).")
    tr1m_s: float = Field(40.0, gt=0, description="The phone's relay-layer timer TR1M, s: "
                                                  "an MO attempt not acknowledged (RP-ACK) "
                                                  "within it fails and the message is "
                                                  "resubmitted (TS 24.011 §10.1: 35 < TR1M < 45 "
                                                  "s).")
    mt_retry: Literal[MT_RETRY_SCHEDULES] = Field(
        "alert", description="MT retry schedule of the SMS centre: alert on return (the SC is "
                             "alerted when the phone is reachable again, TS 23.040 §10.3), a "
                             "fixed interval, or a growing backoff (operator policy).")
    mt_retry_s: float = Field(300.0, gt=0, description="MT retry interval of 'fixed', first "
                                                       "interval of 'backoff', s (assumption).")
    mt_backoff_factor: float = Field(2.0, ge=1, description="Growth of the 'backoff' interval "
                                                            "(assumption).")
    mt_retry_max_s: float = Field(3600.0, gt=0, description="Longest 'backoff' interval, s "
                                                            "(assumption).")
    failure_prob: float = Field(0.0, ge=0, lt=1, description="Probability an attempt fails at "
                                                             "random, unnoticed until the MO "
                                                             "phone's TR1M or the MT SC's next "
                                                             "retry (assumption).")

    def __post_init__(self):
        _profile("sms", self)
        if self.service_time == "rate":
            if self.payload_bytes + self.overhead_bytes <= 0:
                raise InputError("sms.payload_bytes + sms.overhead_bytes must be > 0 for the "
                                 "'rate' service time")
        elif self.service_mean_s is None:
            raise InputError(f"sms.service_mean_s is needed by service_time="
                             f"{self.service_time!r}; give the mean transfer time in seconds")


@settings("beams")
class BeamAccess:
    """Access resources of every satellite beam, shared by all services (defaults
    and sources: :mod:`satsim.scheduler.model`)."""

    rach_per_s: float = Field(100.0, gt=0, allow_inf_nan=True,
                              description="Random-access grants per second per beam (PRACH "
                                          "configuration 3; .inf: no limit).")
    paging_per_s: float = Field(1600.0, gt=0, allow_inf_nan=True,
                                description="Paging records per second per beam (.inf: no "
                                            "limit).")
    paging_cycle_s: float = Field(1.28, ge=0, description="Paging (DRX) cycle, s (rf128); 0 "
                                                          "pages at once.")
    access_delay_s: float = Field(0.1, ge=0, description="Random access and RRC set-up, s "
                                                         "(assumption).")

    def __post_init__(self):
        for name in ("rach_per_s", "paging_per_s"):
            if math.isnan(getattr(self, name)):
                raise InputError(f"beams.{name} must be a number > 0 (.inf for no limit), "
                                 "got nan")


@settings("beams")
class BeamConfig(BeamAccess):
    """A beam's access resources and the carrier whose resource blocks it shares out."""

    carrier: Carrier = Field(default_factory=Carrier,
                             description="The carrier (its beam_n_rb resource blocks per "
                                         "direction per beam).")

    @property
    def n_rb(self) -> int:
        """Resource blocks per beam and direction."""
        return self.carrier.beam_n_rb


@settings("voice")
class VoiceConfig:
    """Voice calls (model, defaults and sources: :mod:`satsim.scheduler.voice`)."""

    calls_per_hour: float = Field(0.5, ge=0, description="Call attempts per handset per hour "
                                                         "(Poisson).")
    daily_profile: tuple[float, ...] | None = Field(None, description=_PROFILE)
    mean_holding_s: float = Field(120.0, gt=0, description="Mean call duration, s.")
    holding: Literal[HOLDING_DISTRIBUTIONS] = Field("exponential",
                                                     description="Holding-time distribution.")
    codec_rate_bps: float = Field(12650.0, gt=0, description="Speech codec rate, bit/s "
                                                             "(AMR-WB 12.65).")
    frame_s: float = Field(0.02, gt=0, description="Speech frame interval, s.")
    overhead_bytes_per_frame: int = Field(10, ge=0, description="Header bytes per frame.")
    rbs_per_call: float | None = Field(None, gt=0, description="Fixed RBs per call (null: from "
                                                               "the rate and the CQI).")
    max_rbs_per_call: float = Field(1.0, gt=0, description="Most RBs a call may use; sets the "
                                                           "CQI a call needs.")
    min_sinr_db: float | None = Field(None, description="Raise the voice SINR threshold to "
                                                        "this, dB.")
    handover_interruption_s: float = Field(0.05, ge=0, description="Silence per handover, s.")
    t310_s: float = Field(1.0, ge=0, description="Outage longer than this is a radio-link "
                                                 "failure, s (T310, TS 36.331 §5.3.11.3; "
                                                 "default ms1000, §9.2.5).")
    t311_s: float = Field(10.0, ge=0, description="After a radio-link failure the call is "
                                                  "re-established if a usable link appears "
                                                  "within this, else dropped, s (T311, TS "
                                                  "36.331 §5.3.7, ms1000-ms30000; 10 s: "
                                                  "assumption, the srsRAN / OpenAirInterface "
                                                  "eNB default; 0: no re-establishment).")
    max_calls_per_beam: int | None = Field(None, ge=1, description="Most calls per beam (null: "
                                                                   "RBs only).")

    def __post_init__(self):
        _profile("voice", self)
        if self.min_cqi > MAX_CQI:
            field = "rbs_per_call" if self.rbs_per_call is not None else "max_rbs_per_call"
            raise InputError(
                f"voice.{field} = {getattr(self, field)!r} RB cannot carry the "
                f"{self.bearer_rate_bps:.0f} bit/s bearer even at CQI 15 "
                f"({RATE_BPS_PER_RB[MAX_CQI]:.0f} bit/s per RB); allow more RBs per call")

    @property
    def bearer_rate_bps(self) -> float:
        """Codec rate plus per-frame overhead, bit/s."""
        return self.codec_rate_bps + 8.0 * self.overhead_bytes_per_frame / self.frame_s

    @property
    def min_cqi(self) -> int:
        """Lowest CQI at which the bearer fits in the RBs a call may use (16 if none)."""
        limit = self.rbs_per_call if self.rbs_per_call is not None else self.max_rbs_per_call
        return _lowest_cqi(self.bearer_rate_bps, limit)

    @property
    def uplink_grants(self) -> tuple[tuple[float, int], ...]:
        """The uplink grants a call may use, ``(rbs, cqi)``: sending in ``rbs`` RBs (its
        power concentrated there) the phone carries the bearer from per-RB CQI ``cqi``
        on (16: never). A fixed ``rbs_per_call`` is one grant of that many RBs (at
        least one: a phone sends in whole RBs) needing :attr:`min_cqi`; otherwise
        ``1, 2, ...`` whole RBs up to ``max_rbs_per_call`` (at least one), each
        needing the lowest CQI at which the bearer fits in that many RBs (in
        ``max_rbs_per_call`` RB-equivalents below one). :mod:`satsim.scheduler.voice`,
        "Uplink"."""
        if self.rbs_per_call is not None:
            return ((max(1.0, float(self.rbs_per_call)), self.min_cqi),)
        limit = float(self.max_rbs_per_call)
        return tuple((float(m), _lowest_cqi(self.bearer_rate_bps, min(float(m), limit)))
                     for m in range(1, max(1, math.floor(limit)) + 1))

    @property
    def threshold_sinr_db(self) -> float:
        """SINR a handset needs for voice, dB (downlink SINR; the uplink's rule:
        :attr:`uplink_grants`)."""
        thr = float(CQI_MIN_SINR_DB[min(self.min_cqi, MAX_CQI)])
        return thr if self.min_sinr_db is None else max(thr, float(self.min_sinr_db))


@settings("data")
class DataConfig:
    """Data sessions (model, defaults and sources: :mod:`satsim.scheduler.data`)."""

    sessions_per_hour: float = Field(1.0, ge=0, description="Sessions per handset per hour "
                                                            "(Poisson).")
    daily_profile: tuple[float, ...] | None = Field(None, description=_PROFILE)
    size_distribution: Literal[SIZE_DISTRIBUTIONS] = Field(
        "lognormal", description="Session size distribution.")
    size_median_bytes: float = Field(math.exp(8.37), gt=0,
                                     description="Lognormal median size, bytes (e^8.37).")
    size_sigma: float = Field(1.37, ge=0, description="Lognormal sigma of log size.")
    size_pareto_alpha: float = Field(1.2, gt=0, description="Pareto shape.")
    size_min_bytes: float = Field(100.0, ge=0, description="Smallest size, bytes (the Pareto "
                                                           "scale).")
    size_max_bytes: float = Field(2e6, gt=0, allow_inf_nan=True,
                                  description="Largest size, bytes (.inf: no truncation).")
    sizes_bytes: tuple[float, ...] | None = Field(None, description="Sizes of 'choice', bytes.")
    size_weights: tuple[float, ...] | None = Field(None, description="Weights of 'choice' "
                                                                     "(null: equal).")
    sharing: Literal[SHARING_POLICIES] = Field(
        "round_robin", description="How sessions share a beam's RBs.")
    gap_timeout_s: float = Field(60.0, ge=0, allow_inf_nan=True,
                                 description="A pause longer than this aborts the session, s "
                                             "(.inf: never).")
    handover_interruption_s: float = Field(0.05, ge=0, description="Transfer stop per "
                                                                   "handover, s.")
    upload_fraction: float = Field(0.08, ge=0, le=1,
                                   description="Share of sessions that are uploads, sent on "
                                               "the beam's uplink at the phone's uplink rate "
                                               "(0.08: uplink share of mobile traffic volume, "
                                               "Ericsson Mobility Report; 0: downloads only).")

    def __post_init__(self):
        _profile("data", self)
        for name in ("size_max_bytes", "gap_timeout_s"):
            if math.isnan(getattr(self, name)):
                raise InputError(f"data.{name} must be a number (.inf for no limit), got nan")
        dist = self.size_distribution
        if dist == "choice":
            self._check_choice()
            return
        if dist == "pareto" and not self.size_min_bytes > 0:
            raise InputError(f"data.size_min_bytes must be > 0 for the Pareto distribution (its "
                             f"scale), got {self.size_min_bytes!r}")
        if not self.size_max_bytes > self.size_min_bytes:
            raise InputError(f"data.size_max_bytes ({self.size_max_bytes!r}) must exceed "
                             f"size_min_bytes ({self.size_min_bytes!r})")
        if dist == "lognormal":
            if self.size_sigma == 0 and not (self.size_min_bytes <= self.size_median_bytes
                                             <= self.size_max_bytes):
                raise InputError("data.size_median_bytes must lie in [size_min_bytes, "
                                 "size_max_bytes] when size_sigma is 0")
        elif self.size_pareto_alpha <= 1.0 and math.isinf(self.size_max_bytes):
            raise InputError(
                f"data.size_pareto_alpha = {self.size_pareto_alpha!r} <= 1 gives sizes of "
                "infinite mean; give a finite size_max_bytes or alpha > 1")

    def _check_choice(self) -> None:
        sizes = self.sizes_bytes
        if not sizes or not all(s > 0 for s in sizes):
            raise InputError("data.sizes_bytes must be one or more finite sizes > 0 (bytes) for "
                             f"size_distribution 'choice', got {sizes!r}")
        w = self.size_weights
        if w is not None and (len(w) != len(sizes) or not all(x >= 0 for x in w)
                              or sum(w) <= 0):
            raise InputError(f"data.size_weights must be {len(sizes)} finite weights >= 0 "
                             f"(one per size, not all zero), got {w!r}")

    @property
    def mean_size_bytes(self) -> float:
        """Mean session size of the (truncated) distribution, bytes."""
        lo, hi = float(self.size_min_bytes), float(self.size_max_bytes)
        if self.size_distribution == "choice":
            p = self._choice_probabilities()
            return float(np.dot(p, self.sizes_bytes))
        if self.size_distribution == "lognormal":
            mu, s = math.log(self.size_median_bytes), float(self.size_sigma)
            if s == 0:
                return float(self.size_median_bytes)
            a, b = _z(lo, mu, s), _z(hi, mu, s)
            return float(math.exp(mu + s * s / 2) * (ndtr(b - s) - ndtr(a - s))
                         / (ndtr(b) - ndtr(a)))
        alpha = float(self.size_pareto_alpha)
        tail = 0.0 if math.isinf(hi) else (lo / hi) ** alpha
        if alpha == 1.0:
            return lo * math.log(hi / lo) / (1.0 - tail)
        upper = 0.0 if math.isinf(hi) else hi ** (1.0 - alpha)
        return alpha * lo ** alpha * (lo ** (1.0 - alpha) - upper) / ((alpha - 1.0) * (1 - tail))

    def _choice_probabilities(self) -> np.ndarray:
        w = np.ones(len(self.sizes_bytes)) if self.size_weights is None else \
            np.asarray(self.size_weights, dtype=np.float64)
        return w / w.sum()

    def draw_uploads(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` directions from ``rng``: True for an upload, with probability
        ``upload_fraction`` (one uniform per session)."""
        return rng.random(n) < self.upload_fraction

    def draw_sizes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` session sizes from ``rng``, bytes."""
        dist = self.size_distribution
        if dist == "choice":
            return rng.choice(np.asarray(self.sizes_bytes), size=n,
                              p=self._choice_probabilities())
        lo, hi = float(self.size_min_bytes), float(self.size_max_bytes)
        u = rng.random(n)
        if dist == "lognormal":
            mu, s = math.log(self.size_median_bytes), float(self.size_sigma)
            if s == 0:
                return np.full(n, float(self.size_median_bytes))
            f_lo, f_hi = ndtr(_z(lo, mu, s)), ndtr(_z(hi, mu, s))
            q = np.clip(f_lo + (f_hi - f_lo) * u, _U_MIN, _U_MAX)
            return np.clip(np.exp(mu + s * ndtri(q)), lo, hi)
        alpha = float(self.size_pareto_alpha)
        tail = 0.0 if math.isinf(hi) else (lo / hi) ** alpha
        return np.minimum(lo / (1.0 - u * (1.0 - tail)) ** (1.0 / alpha), hi)


@settings("app_call")
class AppCallConfig:
    """Calls placed from an app over data (model, defaults and sources:
    :mod:`satsim.scheduler.app_call`)."""

    calls_per_hour: float = Field(0.5, ge=0, description="App call attempts per handset per "
                                                         "hour (Poisson; assumption: as voice).")
    daily_profile: tuple[float, ...] | None = Field(None, description=_PROFILE)
    mean_holding_s: float = Field(120.0, gt=0, description="Mean call duration, s "
                                                           "(assumption: as voice).")
    holding: Literal[HOLDING_DISTRIBUTIONS] = Field("exponential",
                                                     description="Holding-time distribution.")
    media: Literal[APP_CALL_MEDIA] = Field("audio", description="Audio calls, or video calls "
                                                                "(audio plus video_rate_bps).")
    codec_rate_bps: float = Field(28000.0, gt=0, description="Audio codec rate, bit/s (Opus; "
                                                             "RFC 7587 §3.1.1 recommends "
                                                             "28-40 kbit/s for fullband "
                                                             "speech: its lower end).")
    frame_s: float = Field(0.02, gt=0, description="Audio frame (packet) interval, s (20 ms: "
                                                   "the usual Opus VoIP frame, RFC 6716 frames "
                                                   "2.5-60 ms; RFC 7587 ptime default).")
    overhead_bytes_per_frame: int = Field(54, ge=0, description="Header bytes per audio packet: "
                                                                "IPv4 20 + UDP 8 + RTP 12 "
                                                                "(RFC 791 / 768 / 3550), SRTP "
                                                                "auth tag 10 (RFC 3711 "
                                                                "HMAC-SHA1-80), PDCP / RLC / "
                                                                "MAC ~4 (estimate); no ROHC on "
                                                                "a default data bearer "
                                                                "(assumption).")
    video_rate_bps: float = Field(250000.0, ge=0, description="Video stream rate of a video "
                                                              "call, bit/s, headers included "
                                                              "(assumption: low-rate mobile "
                                                              "video, 150-300 kbit/s).")
    handover_interruption_s: float = Field(0.05, ge=0, description="Media gap per handover, s "
                                                                   "(TS 36.133 §5.1.2.1, as "
                                                                   "voice).")
    t310_s: float = Field(1.0, ge=0, description="Outage longer than this is a radio-link "
                                                 "failure, s (T310, TS 36.331 §5.3.11.3; "
                                                 "default ms1000, §9.2.5).")
    t311_s: float = Field(10.0, ge=0, description="After a radio-link failure the call goes on "
                                                  "if a link appears within this, else it is "
                                                  "dropped, s (T311, TS 36.331 §5.3.7; 10 s: "
                                                  "assumption, the srsRAN / OpenAirInterface "
                                                  "eNB default; 0: no re-establishment).")
    feeder_delay_s: float | None = Field(None, ge=0, description="One-way satellite - gateway "
                                                                 "delay, s (null: equal to the "
                                                                 "service link's, a gateway "
                                                                 "seen at a similar range; "
                                                                 "assumption).")
    ground_delay_s: float = Field(0.03, ge=0, description="Gateway to the far party's phone, "
                                                          "one way, s (assumption: ~1,000 km "
                                                          "of fibre at ITU-T G.114's 5 us/km "
                                                          "plus a terrestrial mobile access "
                                                          "and core).")
    codec_delay_s: float = Field(0.0265, ge=0, description="Codec delay, s (Opus: the 20 ms "
                                                           "frame plus the encoder's 6.5 ms "
                                                           "look-ahead, libopus "
                                                           "OPUS_GET_LOOKAHEAD at 48 kHz).")
    jitter_buffer_s: float = Field(0.05, ge=0, description="Receiver jitter-buffer delay, s "
                                                           "(assumption: 40-60 ms, typical "
                                                           "adaptive VoIP playout).")

    def __post_init__(self):
        _profile("app_call", self)

    @property
    def bearer_rate_bps(self) -> float:
        """Audio codec rate plus per-packet headers, bit/s."""
        return self.codec_rate_bps + 8.0 * self.overhead_bytes_per_frame / self.frame_s

    @property
    def demand_bps(self) -> float:
        """The rate a call needs: the audio bearer, plus the video stream of a video
        call, bit/s."""
        video = self.video_rate_bps if self.media == "video" else 0.0
        return self.bearer_rate_bps + video

    @property
    def frame_bits(self) -> float:
        """Bits of one audio packet, headers included."""
        return self.bearer_rate_bps * self.frame_s

    @property
    def fixed_delay_s(self) -> float:
        """Delay terms that do not depend on the link: ground + codec + jitter buffer, s."""
        return self.ground_delay_s + self.codec_delay_s + self.jitter_buffer_s


@settings("scheduler")
class SchedulerConfig:
    """Everything the scheduler needs besides the coverage view and the seed.

    ``voice``, ``data`` and ``app_call`` are off (None) unless given; SMS is
    always on (``SmsConfig(mo_per_hour=0, mt_per_hour=0)`` sends none).
    """

    beams: BeamConfig = Field(default_factory=BeamConfig, description="Beam access resources.")
    sms: SmsConfig = Field(default_factory=SmsConfig, description="SMS traffic.")
    voice: VoiceConfig | None = Field(None, description="Voice calls (None: off).")
    data: DataConfig | None = Field(None, description="Data sessions (None: off).")
    app_call: AppCallConfig | None = Field(None, description="Calls from an app over data "
                                                             "(None: off).")

    def __post_init__(self):
        n_rb = self.beams.n_rb
        if self.sms.rb_per_sms > n_rb:
            raise InputError(
                f"sms.rb_per_sms ({self.sms.rb_per_sms}) exceeds the beam's "
                f"{n_rb} resource blocks (carrier n_rb / reuse)")
        if self.voice is not None:
            for name in ("rbs_per_call", "max_rbs_per_call"):
                v = getattr(self.voice, name)
                if v is not None and v > n_rb:
                    raise InputError(
                        f"voice.{name} ({v}) exceeds the beam's {n_rb} resource blocks "
                        "(carrier n_rb / reuse): no call could be admitted")
