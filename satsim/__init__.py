"""satsim: a simulator of satellite direct-to-cell service.

One import gives the public API::

    from satsim import load_scenario, run, Results      # scenario -> results
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
    "Results", "Scenario", "ScenarioError", "load_scenario", "run", "sweep",
]

#: Names imported on first use (they pull in the link and scheduler layers).
_LAZY = {"Results": "satsim.results", "Scenario": "satsim.scenario",
         "ScenarioError": "satsim.scenario", "load_scenario": "satsim.scenario",
         "run": "satsim.runner", "sweep": "satsim.sweeps"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'satsim' has no attribute {name!r}")
