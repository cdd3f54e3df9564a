"""satsim: a simulator of satellite direct-to-cell service.

One import gives the public API::

    from satsim import default_constellation, default_handsets, TimeGrid, coverage
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    DecayWarning,
    EpochWarning,
    InputError,
    SatsimError,
    SatsimWarning,
    SkippedEntriesWarning,
)
from .orbits import *  # noqa: F401,F403  (the orbit layer's public names)
from .orbits import __all__ as _orbits_all

try:
    __version__ = version("satsim")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "DecayWarning", "EpochWarning", "InputError", "SatsimError", "SatsimWarning",
    "SkippedEntriesWarning", "__version__", *_orbits_all,
]
