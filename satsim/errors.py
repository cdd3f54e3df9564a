"""Exceptions and warnings raised by satsim.

Every error a user can cause (a malformed TLE, an out-of-range value) is an
:class:`InputError`: its message names the file, line or field, the rule that
was broken and how to fix it. The CLI turns an ``InputError`` into exit code 2
with the message and no traceback.
"""

from __future__ import annotations


class SatsimError(Exception):
    """Base class of every exception satsim raises on purpose."""


class InputError(SatsimError, ValueError):
    """Bad input from the user: a file, a scenario field or an argument."""


class FileFormatError(InputError):
    """An input file has bad entries; ``.problems`` lists every one of them.

    The message already names each problem (file, line or record, rule, fix);
    ``problems`` keeps them as objects for programs.
    """

    def __init__(self, message: str, problems):
        super().__init__(message)
        self.problems = list(problems)


class SatsimWarning(UserWarning):
    """Base class of satsim's warnings (filter them with this category)."""


class EpochWarning(SatsimWarning):
    """A run reaches too far from a satellite's element-set epoch."""


class DecayWarning(SatsimWarning):
    """A satellite decayed during the run (sgp4 error 6) and was dropped."""


class SkippedEntriesWarning(SatsimWarning):
    """Bad entries of an input file were skipped (``on_error="skip"``)."""
