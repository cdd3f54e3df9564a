"""The embedded default: a Starlink-Direct-to-Cell-like constellation over CONUS.

Nothing here reads a file or the network; ``satsim run`` with no arguments
uses these.

Constellation. Two Walker delta shells modelled on the Starlink direct-to-cell
satellites in CelesTrak's catalogue of 2025-10-27 (653 satellites; see
``shared/data/tle/PROVENANCE.md`` of the project): 317 at 53.16 degrees and
336 at 43.00 degrees inclination, mean altitudes about 360 km and 358 km,
their RAANs clustered in 24 planes 15 degrees apart in each shell (our own
analysis of that snapshot). Hence 53 deg: 312/24/1 at 360 km and
43 deg: 336/24/1 at 358 km, 648 satellites. The phasing factor F = 1 is our
choice (the real shells are not phased uniformly). SpaceX's authorisation
mentions up to 28 planes at 53 and 43 degrees (FCC, 26 Nov 2024).

Handsets. An equal-area grid over the contiguous United States (where the
T-Mobile / Starlink texting service runs), about 3,000 points at the default
52 km spacing. The outline is a coarse 90-vertex polygon of the CONUS border
and coastline (accurate to a few tens of km; it includes the Great Lakes),
written for this project from public geography.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from .constellation import Constellation
from .handsets import Handsets
from .walker import WalkerShell, walker_constellation

#: Default scenario epoch: the date of the real DTC snapshot, so the default
#: and the real constellation can be compared at the same time.
DEFAULT_EPOCH = datetime(2025, 10, 27, 0, 0, 0, tzinfo=timezone.utc)
#: Minimum elevation for a usable link, degrees. SpaceX's FCC filings use
#: 25 degrees for Starlink user links; no public figure for direct-to-cell
#: was found, so this is an assumption (configurable everywhere).
DEFAULT_MIN_ELEVATION_DEG = 25.0
#: Default handset spacing over CONUS, km (about 3,000 handsets).
DEFAULT_HANDSET_SPACING_KM = 52.0

DTC_SHELLS = (
    WalkerShell(satellites=312, planes=24, phasing=1, inclination_deg=53.0, altitude_km=360.0),
    WalkerShell(satellites=336, planes=24, phasing=1, inclination_deg=43.0, altitude_km=358.0),
)

#: Coarse outline of the contiguous United States, (lon, lat) degrees,
#: clockwise from Cape Flattery.
CONUS_OUTLINE_LON_LAT = np.array([
    (-124.7, 48.4), (-123.3, 48.3), (-123.0, 49.0), (-110.0, 49.0), (-95.2, 49.0),
    (-95.2, 49.4), (-94.8, 49.3), (-94.6, 48.7), (-93.0, 48.6), (-91.0, 48.2),
    (-89.6, 48.0), (-88.4, 48.3), (-86.5, 47.5), (-84.8, 46.9), (-84.6, 46.4),
    (-83.6, 46.1), (-83.4, 45.2), (-82.4, 43.0), (-83.1, 42.3), (-82.5, 41.7),
    (-81.0, 42.2), (-79.8, 42.5), (-79.0, 42.9), (-79.2, 43.4), (-78.0, 43.4),
    (-76.5, 43.6), (-76.3, 44.2), (-75.3, 44.9), (-74.7, 45.0), (-71.5, 45.0),
    (-71.1, 45.3), (-70.3, 46.0), (-70.0, 46.7), (-69.2, 47.5), (-68.2, 47.3),
    (-67.8, 47.0), (-67.8, 45.7), (-67.0, 44.8), (-68.5, 44.2), (-70.2, 43.6),
    (-70.6, 42.7), (-70.0, 41.7), (-71.4, 41.4), (-72.9, 41.2), (-74.0, 40.6),
    (-74.0, 39.8), (-74.9, 38.9), (-75.1, 38.3), (-75.9, 37.1), (-75.9, 36.6),
    (-75.5, 35.2), (-76.5, 34.7), (-77.9, 33.9), (-79.2, 33.2), (-80.9, 32.0),
    (-81.4, 30.7), (-80.6, 28.4), (-80.0, 26.7), (-80.4, 25.2), (-81.1, 25.1),
    (-81.8, 26.1), (-82.6, 27.8), (-82.8, 29.0), (-84.0, 30.0), (-85.4, 29.7),
    (-86.5, 30.4), (-88.0, 30.4), (-89.4, 30.2), (-89.4, 29.0), (-90.5, 29.1),
    (-92.0, 29.6), (-93.9, 29.7), (-94.8, 29.3), (-96.5, 28.3), (-97.4, 27.2),
    (-97.2, 25.95), (-99.1, 26.4), (-99.5, 27.5), (-101.4, 29.8), (-102.4, 29.8),
    (-103.1, 29.0), (-104.5, 29.6), (-106.5, 31.8), (-108.2, 31.8), (-108.2, 31.33),
    (-111.1, 31.33), (-114.8, 32.5), (-117.1, 32.5), (-117.3, 33.1), (-118.4, 33.8),
    (-120.6, 34.6), (-121.9, 36.6), (-122.5, 37.8), (-123.8, 39.8), (-124.4, 40.4),
    (-124.2, 42.0), (-124.1, 44.5), (-124.0, 46.2),
])


def default_constellation(epoch: datetime = DEFAULT_EPOCH) -> Constellation:
    """The embedded default constellation (648 satellites; module docstring)."""
    c = walker_constellation(list(DTC_SHELLS), epoch, name_prefix="SATSIM-DTC")
    return Constellation(c.satrecs, c.names, source="default: Starlink-DTC-like Walker shells " +
                         ", ".join(s.label() for s in DTC_SHELLS))


def conus_handsets(spacing_km: float = DEFAULT_HANDSET_SPACING_KM) -> Handsets:
    """Handsets on an equal-area grid over the contiguous United States."""
    return Handsets.grid_in_polygon(CONUS_OUTLINE_LON_LAT, spacing_km, label="CONUS")


def default_handsets() -> Handsets:
    """The embedded default handsets: :func:`conus_handsets` at 52 km (~3,000)."""
    return conus_handsets(DEFAULT_HANDSET_SPACING_KM)
