"""Settings of the scheduler: SMS, voice and data traffic and behaviour, beam access
resources, and the whole :class:`SchedulerConfig`.

Defaults and their sources: SMS and beam access in :mod:`satsim.scheduler.model`,
voice in :mod:`satsim.scheduler.voice`, data in :mod:`satsim.scheduler.data`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from ..errors import InputError
from ..link.config import Carrier
from ..link.cqi import CQI_MIN_SINR_DB, MAX_CQI, rate_bps_per_rb
from ._checks import check_choice, check_number, check_whole, checked_profile, is_real
from .sharing import SHARING_POLICIES

SERVICE_TIME_MODELS = ("rate", "exponential", "fixed")
MT_RETRY_SCHEDULES = ("fixed", "backoff", "alert")
#: Voice holding-time distributions.
HOLDING_DISTRIBUTIONS = ("exponential", "fixed")
#: Data session size distributions.
SIZE_DISTRIBUTIONS = ("lognormal", "pareto", "choice")

_RATE_BPS_PER_RB = rate_bps_per_rb(np.arange(MAX_CQI + 1))
_U_MIN, _U_MAX = 1e-300, 1.0 - 1e-16


def _z(x: float, mu: float, s: float) -> float:
    """Standard-normal quantile of size ``x`` for a lognormal (mu, s); +-inf at 0 and inf."""
    if x <= 0.0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    return (math.log(x) - mu) / s


@dataclass(frozen=True)
class SmsConfig:
    """SMS traffic and behaviour (defaults and sources: module docstring).

    Attributes
    ----------
    mo_per_hour, mt_per_hour : float
        Poisson arrivals per handset per hour, MO and MT.
    daily_profile : tuple of 24 float or None
        Relative weight of each UTC hour of day (normalised to mean 1).
    validity_s : float
        Validity period: undelivered messages expire this long after arrival.
    payload_bytes, overhead_bytes : int
        Message size and the signalling sent with it, bytes.
    rb_per_sms : int
        Resource blocks one transfer uses.
    service_time : {"rate", "exponential", "fixed"}
        Transfer-time model: bytes over the RBs at the handset's CQI rate,
        or exponential / fixed of mean ``service_mean_s``.
    service_mean_s : float or None
        Needed by "exponential" and "fixed".
    ground_delay_s : float
        One-way delay between the satellite beam and the SMS centre.
    mo_retry_s : float
        Wait after a failed MO attempt.
    mt_retry : {"fixed", "backoff", "alert"}
    mt_retry_s, mt_backoff_factor, mt_retry_max_s : float
        MT retry interval, backoff growth and cap.
    failure_prob : float
        Probability an attempt fails at random (radio link failure,
        collision), in [0, 1).
    """

    mo_per_hour: float = 0.5
    mt_per_hour: float = 0.5
    daily_profile: tuple[float, ...] | None = None
    validity_s: float = 86400.0
    payload_bytes: int = 140
    overhead_bytes: int = 100
    rb_per_sms: int = 1
    service_time: str = "rate"
    service_mean_s: float | None = None
    ground_delay_s: float = 0.5
    mo_retry_s: float = 40.0
    mt_retry: str = "fixed"
    mt_retry_s: float = 300.0
    mt_backoff_factor: float = 2.0
    mt_retry_max_s: float = 3600.0
    failure_prob: float = 0.0

    def __post_init__(self):
        o = "sms"
        for name in ("mo_per_hour", "mt_per_hour", "ground_delay_s", "mo_retry_s"):
            check_number(o, name, getattr(self, name))
        for name in ("validity_s", "mt_retry_s", "mt_retry_max_s"):
            check_number(o, name, getattr(self, name), strict=True)
        check_number(o, "mt_backoff_factor", self.mt_backoff_factor, minimum=1.0)
        check_whole(o, "payload_bytes", self.payload_bytes, 0)
        check_whole(o, "overhead_bytes", self.overhead_bytes, 0)
        check_whole(o, "rb_per_sms", self.rb_per_sms, 1)
        check_number(o, "failure_prob", self.failure_prob)
        if not self.failure_prob < 1.0:
            raise InputError(f"sms.failure_prob must be in [0, 1), got {self.failure_prob!r}")
        if self.service_time not in SERVICE_TIME_MODELS:
            raise InputError(f"sms.service_time must be one of {', '.join(SERVICE_TIME_MODELS)}, "
                             f"got {self.service_time!r}")
        if self.service_time == "rate":
            if self.payload_bytes + self.overhead_bytes <= 0:
                raise InputError("sms.payload_bytes + sms.overhead_bytes must be > 0 for the "
                                 "'rate' service time")
        elif self.service_mean_s is None:
            raise InputError(f"sms.service_mean_s is needed by service_time="
                             f"{self.service_time!r}; give the mean transfer time in seconds")
        if self.service_mean_s is not None:
            check_number(o, "service_mean_s", self.service_mean_s)
        if self.mt_retry not in MT_RETRY_SCHEDULES:
            raise InputError(f"sms.mt_retry must be one of {', '.join(MT_RETRY_SCHEDULES)}, "
                             f"got {self.mt_retry!r}")
        object.__setattr__(self, "daily_profile", checked_profile(o, self.daily_profile))


@dataclass(frozen=True)
class BeamConfig:
    """Resources of every satellite beam, shared by all services.

    Attributes
    ----------
    carrier : Carrier
        Its ``beam_n_rb`` resource blocks per direction per beam.
    rach_per_s, paging_per_s : float
        Random-access grants and paging records per second per beam (inf: no limit).
    access_delay_s : float
        Random access and connection set-up after the RACH grant.
    paging_cycle_s : float
        Paging (DRX) cycle; 0 pages at once.
    """

    carrier: Carrier = field(default_factory=Carrier)
    rach_per_s: float = 100.0
    paging_per_s: float = 1600.0
    access_delay_s: float = 0.1
    paging_cycle_s: float = 1.28

    def __post_init__(self):
        if not isinstance(self.carrier, Carrier):
            raise InputError(f"beams.carrier must be a satsim.link.Carrier, got {self.carrier!r}")
        check_number("beams", "rach_per_s", self.rach_per_s, strict=True, allow_inf=True)
        check_number("beams", "paging_per_s", self.paging_per_s, strict=True, allow_inf=True)
        check_number("beams", "access_delay_s", self.access_delay_s)
        check_number("beams", "paging_cycle_s", self.paging_cycle_s)

    @property
    def n_rb(self) -> int:
        """Resource blocks per beam and direction."""
        return self.carrier.beam_n_rb


@dataclass(frozen=True)
class VoiceConfig:
    """Voice traffic and behaviour (model, defaults and sources: module docstring).

    Attributes
    ----------
    calls_per_hour : float
        Poisson call attempts per handset per hour.
    daily_profile : tuple of 24 float or None
        Relative weight of each UTC hour of day (normalised to mean 1).
    mean_holding_s : float
        Mean holding time (intended call duration), seconds.
    holding : {"exponential", "fixed"}
    codec_rate_bps : float
        Speech codec bit rate, bit/s.
    frame_s : float
        Speech frame (packet) interval, seconds.
    overhead_bytes_per_frame : int
        Protocol overhead added to each frame, bytes.
    rbs_per_call : float or None
        Fixed RB-equivalents per call (None: from the bearer rate and the CQI).
    max_rbs_per_call : float
        Most RBs a call may use; sets the CQI the call needs.
    min_sinr_db : float or None
        Raises the voice SINR threshold to this value, dB.
    handover_interruption_s : float
        Silence at each handover, seconds.
    t310_s : float
        Radio-link-failure timer: an outage longer than this drops the call.
    max_calls_per_beam : int or None
        Most calls a beam carries at once (None: only the RBs limit).
    """

    calls_per_hour: float = 0.5
    daily_profile: tuple[float, ...] | None = None
    mean_holding_s: float = 120.0
    holding: str = "exponential"
    codec_rate_bps: float = 12650.0
    frame_s: float = 0.02
    overhead_bytes_per_frame: int = 10
    rbs_per_call: float | None = None
    max_rbs_per_call: float = 1.0
    min_sinr_db: float | None = None
    handover_interruption_s: float = 0.05
    t310_s: float = 1.0
    max_calls_per_beam: int | None = None

    def __post_init__(self):
        o = "voice"
        check_number(o, "calls_per_hour", self.calls_per_hour)
        object.__setattr__(self, "daily_profile", checked_profile(o, self.daily_profile))
        check_number(o, "mean_holding_s", self.mean_holding_s, strict=True)
        check_choice(o, "holding", self.holding, HOLDING_DISTRIBUTIONS)
        check_number(o, "codec_rate_bps", self.codec_rate_bps, strict=True)
        check_number(o, "frame_s", self.frame_s, strict=True)
        check_whole(o, "overhead_bytes_per_frame", self.overhead_bytes_per_frame, 0)
        if self.rbs_per_call is not None:
            check_number(o, "rbs_per_call", self.rbs_per_call, strict=True)
        check_number(o, "max_rbs_per_call", self.max_rbs_per_call, strict=True)
        if self.min_sinr_db is not None and not (is_real(self.min_sinr_db)
                                                 and math.isfinite(self.min_sinr_db)):
            raise InputError(f"voice.min_sinr_db must be a finite number (dB) or None, got "
                             f"{self.min_sinr_db!r}")
        check_number(o, "handover_interruption_s", self.handover_interruption_s)
        check_number(o, "t310_s", self.t310_s)
        if self.max_calls_per_beam is not None:
            check_whole(o, "max_calls_per_beam", self.max_calls_per_beam, 1)
        if self.min_cqi > MAX_CQI:
            field = "rbs_per_call" if self.rbs_per_call is not None else "max_rbs_per_call"
            raise InputError(
                f"voice.{field} = {getattr(self, field)!r} RB cannot carry the "
                f"{self.bearer_rate_bps:.0f} bit/s bearer even at CQI 15 "
                f"({_RATE_BPS_PER_RB[MAX_CQI]:.0f} bit/s per RB); allow more RBs per call")

    @property
    def bearer_rate_bps(self) -> float:
        """Codec rate plus per-frame overhead, bit/s."""
        return self.codec_rate_bps + 8.0 * self.overhead_bytes_per_frame / self.frame_s

    @property
    def min_cqi(self) -> int:
        """Lowest CQI at which the bearer fits in the RBs a call may use (16 if none)."""
        limit = self.rbs_per_call if self.rbs_per_call is not None else self.max_rbs_per_call
        fits = np.flatnonzero(_RATE_BPS_PER_RB[1:] * limit >= self.bearer_rate_bps)
        return int(fits[0]) + 1 if fits.size else MAX_CQI + 1

    @property
    def threshold_sinr_db(self) -> float:
        """SINR a handset needs for voice, dB."""
        thr = float(CQI_MIN_SINR_DB[min(self.min_cqi, MAX_CQI)])
        return thr if self.min_sinr_db is None else max(thr, float(self.min_sinr_db))


@dataclass(frozen=True)
class DataConfig:
    """Data traffic and behaviour (model, defaults and sources: module docstring).

    Attributes
    ----------
    sessions_per_hour : float
        Poisson session arrivals per handset per hour.
    daily_profile : tuple of 24 float or None
        Relative weight of each UTC hour of day (normalised to mean 1).
    size_distribution : {"lognormal", "pareto", "choice"}
    size_median_bytes, size_sigma : float
        Lognormal median (bytes) and shape (sigma of the log).
    size_pareto_alpha : float
        Pareto shape.
    size_min_bytes, size_max_bytes : float
        Truncation (lognormal), scale and truncation (Pareto), bytes;
        ``size_max_bytes`` may be inf.
    sizes_bytes, size_weights : tuple of float or None
        The sizes of "choice" and their relative weights.
    sharing : {"round_robin", "proportional_fair"}
        How sessions share the RBs left by voice (:mod:`~satsim.scheduler.sharing`).
    gap_timeout_s : float
        A pause longer than this aborts the session (inf: never).
    handover_interruption_s : float
        Transfer stopped at each handover, seconds.
    """

    sessions_per_hour: float = 1.0
    daily_profile: tuple[float, ...] | None = None
    size_distribution: str = "lognormal"
    size_median_bytes: float = math.exp(8.37)
    size_sigma: float = 1.37
    size_pareto_alpha: float = 1.2
    size_min_bytes: float = 100.0
    size_max_bytes: float = 2e6
    sizes_bytes: tuple[float, ...] | None = None
    size_weights: tuple[float, ...] | None = None
    sharing: str = "round_robin"
    gap_timeout_s: float = 60.0
    handover_interruption_s: float = 0.05

    def __post_init__(self):
        o = "data"
        check_number(o, "sessions_per_hour", self.sessions_per_hour)
        object.__setattr__(self, "daily_profile", checked_profile(o, self.daily_profile))
        check_choice(o, "size_distribution", self.size_distribution, SIZE_DISTRIBUTIONS)
        check_choice(o, "sharing", self.sharing, SHARING_POLICIES)
        check_number(o, "gap_timeout_s", self.gap_timeout_s, allow_inf=True)
        check_number(o, "handover_interruption_s", self.handover_interruption_s)
        dist = self.size_distribution
        if dist == "choice":
            self._check_choice()
            return
        check_number(o, "size_min_bytes", self.size_min_bytes, strict=dist == "pareto")
        check_number(o, "size_max_bytes", self.size_max_bytes, minimum=self.size_min_bytes,
                     strict=True, allow_inf=True)
        if dist == "lognormal":
            check_number(o, "size_median_bytes", self.size_median_bytes, strict=True)
            check_number(o, "size_sigma", self.size_sigma)
            if self.size_sigma == 0 and not (self.size_min_bytes <= self.size_median_bytes
                                             <= self.size_max_bytes):
                raise InputError("data.size_median_bytes must lie in [size_min_bytes, "
                                 "size_max_bytes] when size_sigma is 0")
        else:
            check_number(o, "size_pareto_alpha", self.size_pareto_alpha, strict=True)
            if self.size_pareto_alpha <= 1.0 and math.isinf(self.size_max_bytes):
                raise InputError(
                    f"data.size_pareto_alpha = {self.size_pareto_alpha!r} <= 1 gives sizes of "
                    "infinite mean; give a finite size_max_bytes or alpha > 1")

    def _check_choice(self) -> None:
        sizes = self.sizes_bytes
        if (sizes is None or len(sizes) == 0
                or not all(is_real(s) and math.isfinite(s) and s > 0 for s in sizes)):
            raise InputError("data.sizes_bytes must be one or more finite sizes > 0 (bytes) for "
                             f"size_distribution 'choice', got {sizes!r}")
        object.__setattr__(self, "sizes_bytes", tuple(float(s) for s in sizes))
        w = self.size_weights
        if w is not None:
            if (len(w) != len(sizes) or not all(is_real(x) and math.isfinite(x) and x >= 0
                                                for x in w) or sum(w) <= 0):
                raise InputError(f"data.size_weights must be {len(sizes)} finite weights >= 0 "
                                 f"(one per size, not all zero), got {w!r}")
            object.__setattr__(self, "size_weights", tuple(float(x) for x in w))

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


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything the scheduler needs besides the coverage view and the seed.

    ``voice`` and ``data`` are off (None) unless given; SMS is always on
    (``SmsConfig(mo_per_hour=0, mt_per_hour=0)`` sends none).
    """

    beams: BeamConfig = field(default_factory=BeamConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    voice: VoiceConfig | None = None
    data: DataConfig | None = None

    def __post_init__(self):
        if not isinstance(self.beams, BeamConfig):
            raise InputError(f"scheduler.beams must be a BeamConfig, got {self.beams!r}")
        if not isinstance(self.sms, SmsConfig):
            raise InputError(f"scheduler.sms must be an SmsConfig, got {self.sms!r}")
        if self.voice is not None and not isinstance(self.voice, VoiceConfig):
            raise InputError(f"scheduler.voice must be a VoiceConfig or None, got {self.voice!r}")
        if self.data is not None and not isinstance(self.data, DataConfig):
            raise InputError(f"scheduler.data must be a DataConfig or None, got {self.data!r}")
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
