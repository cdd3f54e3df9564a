"""The time axis of a run: a UTC epoch and offsets in seconds from it.

Inside satsim every time is ``t`` seconds since the scenario epoch (UTC), as
a float64 array; SimPy's ``env.now`` uses the same unit. This module turns
that axis into what the libraries need: UTC Julian dates split into whole and
fraction for python-sgp4 (which takes element-set epochs as UTC, per
AIAA 2006-6753), and Skyfield ``Time`` objects from Skyfield's builtin
timescale (leap seconds and Delta T ship with Skyfield: no downloads).

A leap second inside a run is not modelled: offsets are counted in SI
seconds of UTC as if none occurred.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np

from ..errors import InputError

#: Julian date of 1970-01-01T00:00:00 UTC.
JD_UNIX_EPOCH = 2440587.5
SECONDS_PER_DAY = 86400.0


@lru_cache(maxsize=1)
def timescale():
    """Skyfield's builtin timescale (bundled leap seconds and Delta T; no download)."""
    from skyfield.api import load

    return load.timescale(builtin=True)


def as_utc(epoch: datetime | str) -> datetime:
    """A timezone-aware UTC datetime from a datetime or an ISO 8601 string.

    Naive datetimes and strings without an offset are taken as UTC.
    """
    if isinstance(epoch, str):
        text = epoch.strip().replace("Z", "+00:00")
        try:
            epoch = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"epoch {epoch!r} is not an ISO 8601 date-time; write it like "
                "2025-10-27T00:00:00Z"
            ) from None
    if epoch.tzinfo is None:
        return epoch.replace(tzinfo=timezone.utc)
    return epoch.astimezone(timezone.utc)


@dataclass(frozen=True, eq=False)
class TimeGrid:
    """Sample times of a run.

    Attributes
    ----------
    epoch : datetime
        The run's epoch, timezone-aware UTC.
    offsets_s : numpy.ndarray
        Seconds since ``epoch``, shape ``(ntime,)``, float64, increasing.
    """

    epoch: datetime
    offsets_s: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "epoch", as_utc(self.epoch))
        offsets = np.ascontiguousarray(self.offsets_s, dtype=np.float64)
        if offsets.ndim != 1 or offsets.size == 0:
            raise InputError("TimeGrid offsets_s must be a non-empty 1-D array of seconds")
        if offsets.size > 1 and not np.all(np.diff(offsets) > 0):
            raise InputError("TimeGrid offsets_s must be strictly increasing")
        object.__setattr__(self, "offsets_s", offsets)

    @classmethod
    def from_duration(
        cls, epoch: datetime | str, duration_s: float, step_s: float
    ) -> TimeGrid:
        """Times ``0, step_s, 2 step_s, ...`` up to and including ``duration_s``.

        Raises
        ------
        InputError
            If ``step_s`` is not positive or longer than ``duration_s``.
        """
        if not step_s > 0:
            raise InputError(f"step_s must be > 0 seconds, got {step_s!r}")
        if not duration_s > 0:
            raise InputError(f"duration_s must be > 0 seconds, got {duration_s!r}")
        if step_s > duration_s:
            raise InputError(
                f"step_s ({step_s} s) is longer than duration_s ({duration_s} s); "
                "shorten the step or lengthen the run"
            )
        n = int(np.floor(duration_s / step_s + 1e-9)) + 1
        return cls(as_utc(epoch), np.arange(n, dtype=np.float64) * float(step_s))

    def __len__(self) -> int:
        return self.offsets_s.size

    def __getitem__(self, index) -> TimeGrid:
        return TimeGrid(self.epoch, np.atleast_1d(self.offsets_s[index]))

    @property
    def step_s(self) -> float:
        """The sample spacing (median difference), seconds; 0 for one sample."""
        if len(self) < 2:
            return 0.0
        return float(np.median(np.diff(self.offsets_s)))

    @property
    def duration_s(self) -> float:
        return float(self.offsets_s[-1] - self.offsets_s[0])

    def jd_utc(self) -> tuple[np.ndarray, np.ndarray]:
        """UTC Julian dates as ``(whole, fraction)`` arrays for python-sgp4.

        ``whole`` is the Julian date of the epoch's preceding UTC midnight
        (ending in .5) and ``fraction`` the days since then, which keeps full
        float64 precision in the fraction (~1e-11 s).
        """
        midnight = self.epoch.replace(hour=0, minute=0, second=0, microsecond=0)
        whole = JD_UNIX_EPOCH + (midnight - datetime(1970, 1, 1, tzinfo=timezone.utc)).days
        sec_of_day = (self.epoch - midnight).total_seconds()
        fraction = (sec_of_day + self.offsets_s) / SECONDS_PER_DAY
        return np.full(len(self), float(whole)), fraction

    def skyfield(self):
        """The sample times as one vectorised Skyfield ``Time``."""
        e = self.epoch
        seconds = e.second + e.microsecond * 1e-6 + self.offsets_s
        return timescale().utc(e.year, e.month, e.day, e.hour, e.minute, seconds)

    def datetimes(self) -> np.ndarray:
        """The sample times as numpy ``datetime64[us]`` (UTC), for tables and plots."""
        base = np.datetime64(self.epoch.replace(tzinfo=None), "us")
        return base + (self.offsets_s * 1e6).astype("timedelta64[us]")
