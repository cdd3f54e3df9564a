"""Orbit layer: constellations, propagation, handset geometry, coverage.

Data flows one way: a :class:`Constellation` (from TLE / OMM files or
generated Walker shells) is propagated over a :class:`TimeGrid` to an
:class:`Ephemeris` (ITRS, ``(nsat, ntime, 3)`` km); geometry against
:class:`Handsets` gives the visible links, and :func:`coverage` the access
windows and gaps.
"""

from .constellation import Constellation, combine
from .coverage import Coverage, coverage, iter_links
from .defaults import (
    DEFAULT_EPOCH,
    DEFAULT_MIN_ELEVATION_DEG,
    conus_handsets,
    default_constellation,
    default_handsets,
)
from .geometry import VisibleLinks, visible_counts, visible_links
from .handsets import Handsets
from .omm import load_omm
from .propagation import SGP4_STATUS, Ephemeris, propagate
from .sources import load_constellation
from .timegrid import TimeGrid
from .tle import load_tle, parse_tle
from .walker import WalkerShell, walker_constellation, walker_shell

__all__ = [
    "Constellation", "combine", "Coverage", "coverage", "iter_links", "DEFAULT_EPOCH",
    "DEFAULT_MIN_ELEVATION_DEG", "conus_handsets", "default_constellation",
    "default_handsets", "VisibleLinks", "visible_counts", "visible_links", "Handsets",
    "load_omm", "SGP4_STATUS", "Ephemeris", "propagate", "load_constellation", "TimeGrid",
    "load_tle", "parse_tle", "WalkerShell", "walker_constellation", "walker_shell",
]
