"""What the commands share: bad input exits with code 2, its message and no traceback."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from ..errors import InputError

SET_HELP = ("Override a scenario key, e.g. --set duration_s=3600 --set "
            "link.min_elevation_deg=30 (repeatable; values are read as YAML).")


def fail_input(exc: Exception) -> None:
    """Print ``error: <message>`` to stderr and exit 2."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@contextmanager
def readable_warnings():
    """Show each distinct warning once, as ``warning: <message>`` on stderr (no
    source line; a chunked run would otherwise repeat it once per chunk)."""
    import warnings

    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        key = (category, str(message))
        if key not in seen:
            seen.add(key)
            click.echo(f"warning: {message}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


@contextmanager
def input_errors():
    """Turn bad input into exit code 2 with the message and no traceback."""
    try:
        yield
    except InputError as exc:
        fail_input(exc)
