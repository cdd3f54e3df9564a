"""Moved to :mod:`satsim.streams` (the whole run's registry, not only the scheduler's).

A temporary re-export for importers not yet switched (``satsim/scenario/build.py``);
to be removed once they import ``satsim.streams``.
"""

from ..streams import *  # noqa: F401,F403  -- temporary re-export, to be removed
