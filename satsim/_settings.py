"""One declaration per setting: the ``settings`` class decorator.

Every setting of satsim (a default, its unit in its name, its range and its
description) is written once, as a field of a frozen pydantic dataclass in the
layer that uses it (``satsim.link.config``, ``satsim.scheduler.config``,
``satsim.orbits.walker``). The scenario schema (``satsim.scenario.model``)
composes those same classes into YAML sections, so ``satsim schema``, the
loader's line-numbered errors and the runtime objects cannot drift apart.

A settings class built in Python (``SmsConfig(mo_per_hour=-1)``) raises
:class:`~satsim.errors.InputError` naming ``owner.field``, the rule, the value
and the field's description; inside a scenario the same checks surface as the
loader's messages with file, line and key path. Cross-field rules go in
``__post_init__`` and raise ``InputError`` (a ``ValueError``, so pydantic
reports it at the section's key path).
"""

from __future__ import annotations

import dataclasses
import functools

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass as _pydantic_dataclass

from .errors import InputError

#: Unknown keys are refused; NaN and inf are refused unless a field allows them
#: (``Field(allow_inf_nan=True)``, for "no limit" values such as ``inf``).
SETTINGS_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True,
                             arbitrary_types_allowed=False)


def settings(owner: str):
    """Class decorator: a frozen, validated pydantic dataclass whose errors,
    when built directly, are :class:`InputError` messages naming ``owner.field``.

    ``owner`` is the name users know the section by (``"sms"``, ``"carrier"``).
    Subclasses must be decorated again (with their own owner name).
    """

    def wrap(cls):
        cls = _pydantic_dataclass(frozen=True, config=SETTINGS_CONFIG)(cls)
        validated_init = cls.__init__

        @functools.wraps(validated_init)
        def __init__(self, *args, **kwargs):
            try:
                validated_init(self, *args, **kwargs)
            except ValidationError as exc:
                raise InputError(error_message(owner, type(self), exc)) from None

        cls.__init__ = __init__
        cls.__settings_owner__ = owner
        return cls

    return wrap


def fields_of(cls) -> dict:
    """``{name: pydantic FieldInfo}`` of a settings class or a pydantic model."""
    found = getattr(cls, "__pydantic_fields__", None)
    return dict(found) if found is not None else {}


def is_settings(obj) -> bool:
    """True for a settings class or instance (made by :func:`settings`)."""
    return hasattr(obj, "__settings_owner__") and dataclasses.is_dataclass(obj)


def as_dict(obj) -> dict:
    """The fields of a settings instance, one level deep (nested settings stay objects)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


#: Names pydantic adds to an error's location for the member of a union it tried.
_UNION_TAGS = {"int", "float", "bool", "str", "none", "datetime", "path", "list[float]",
               "list[int]", "literal['cover']"}


def is_union_tag(part) -> bool:
    """True for a location part that names a union member pydantic tried ("bool",
    "constrained-float", "literal['cover']"), not a key."""
    return isinstance(part, str) and (
        part in _UNION_TAGS or part.startswith(("function-", "literal[", "lax-or-strict",
                                                "list[", "tuple[", "json-or-python",
                                                "constrained-")))


def is_scalar(value) -> bool:
    """True for a value worth quoting in an error message (not a section or list)."""
    return isinstance(value, (str, int, float, bool)) or value is None


def error_message(owner: str, cls, exc: ValidationError) -> str:
    """One line per problem: ``owner.field: rule (got value)`` and the field's meaning."""
    fields = fields_of(cls)
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if isinstance(p, int) or not is_union_tag(p)]
        name = loc[0] if loc else ""
        key = ".".join([owner, *loc]) if loc else owner
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            msg = f"unknown setting; valid: {', '.join(fields)}"
        elif is_scalar(err.get("input")) and err["type"] not in ("missing", "value_error"):
            msg += f" (got {err.get('input')!r})"
        desc = fields[name].description if name in fields else None
        lines.append(f"{key}: {msg}" + (f" [{name}: {desc}]" if desc else ""))
    return "; ".join(lines)
