"""Checks of configuration fields, shared by the service configurations.

Every check raises :class:`~satsim.errors.InputError` naming the field as
``owner.name`` (``sms.validity_s``, ``voice.t310_s``), the rule and the value.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

_REAL = (int, float, np.integer, np.floating)


def is_real(value) -> bool:
    """True for an int or float (numpy's too), False for bool and anything else."""
    return isinstance(value, _REAL) and not isinstance(value, bool)


def check_number(owner: str, name: str, value, *, minimum: float = 0.0, strict: bool = False,
                 allow_inf: bool = False) -> None:
    """``value`` is a real number >= ``minimum`` (> if ``strict``), finite unless ``allow_inf``."""
    ok = (is_real(value) and not math.isnan(value) and (allow_inf or math.isfinite(value))
          and (value > minimum if strict else value >= minimum))
    if not ok:
        rule = f"{'>' if strict else '>='} {minimum:g}"
        extra = " (inf for no limit)" if allow_inf else ""
        raise InputError(f"{owner}.{name} must be a number {rule}{extra}, got {value!r}")


def check_whole(owner: str, name: str, value, minimum: int) -> None:
    """``value`` is a whole number (not bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{owner}.{name} must be a whole number >= {minimum}, got {value!r}")


def check_choice(owner: str, name: str, value, choices: tuple[str, ...]) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise InputError(f"{owner}.{name} must be one of {', '.join(choices)}, got {value!r}")


def checked_profile(owner: str, profile) -> tuple[float, ...] | None:
    """A daily profile as 24 floats (one weight per UTC hour), or None."""
    if profile is None:
        return None
    p = tuple(profile)
    if (len(p) != 24 or not all(is_real(w) and math.isfinite(w) and w >= 0 for w in p)
            or sum(p) <= 0):
        raise InputError(
            f"{owner}.daily_profile must be 24 finite weights >= 0 (one per UTC hour, "
            f"not all zero), got {profile!r}")
    return tuple(float(w) for w in p)
