"""The ``satsim`` command line (a thin layer over the Python API).

One module per command group, each listing its commands in ``COMMANDS``:

* :mod:`satsim.cli.run`: ``run``, ``validate``, ``plot`` (a scenario to a
  results folder, and its plots again);
* :mod:`satsim.cli.inspect`: ``schema``, ``tle``, ``budget``, ``coverage``
  (quick looks at inputs and models, no full run);
* :mod:`satsim.cli.sweep`: ``sweep`` (grids of scenarios x seeds on Dask).

Exit codes: 0 success, 2 bad input (a clear message, no traceback),
1 internal error, 130 interrupted.
"""

from __future__ import annotations

import click

from .. import __version__
from . import inspect, run, sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="satsim")
def main():
    """satsim: satellite direct-to-cell service simulator."""


for _command in (*run.COMMANDS, *inspect.COMMANDS, *sweep.COMMANDS):
    main.add_command(_command)
