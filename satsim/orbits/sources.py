"""One entry point for loading a constellation file of any supported format."""

from __future__ import annotations

import os
from pathlib import Path

from .constellation import Constellation

#: File extensions read as CCSDS OMM; anything else is read as TLE text.
OMM_SUFFIXES = (".json", ".csv", ".xml")


def load_constellation(path: str | os.PathLike, **kwargs) -> Constellation:
    """Load a TLE file (2- or 3-line) or an OMM file (.json, .csv, .xml).

    Keyword arguments (``on_error``, ``name_contains``, ``norad_ids``) go to
    :func:`satsim.orbits.tle.load_tle` or :func:`satsim.orbits.omm.load_omm`.
    """
    if Path(path).suffix.lower() in OMM_SUFFIXES:
        from .omm import load_omm

        return load_omm(path, **kwargs)
    from .tle import load_tle

    return load_tle(path, **kwargs)
