"""A constellation: a named, ordered set of SGP4 satellites.

Every source of satellites (TLE files, OMM files, generated Walker shells)
produces a :class:`Constellation`. It holds one python-sgp4 ``Satrec`` per
satellite, in a fixed order that every array downstream follows (axis 0 of
an ephemeris is this order), plus the satellite names and catalog numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sgp4.api import Satrec
from sgp4.exporter import export_tle

from ..constants import WGS72_EQUATORIAL_RADIUS_KM, WGS84_EQUATORIAL_RADIUS_KM
from ..errors import InputError

#: Julian date of the Unix epoch 1970-01-01T00:00:00 UTC.
_JD_UNIX_EPOCH = 2440587.5


@dataclass(frozen=True, eq=False)
class Constellation:
    """An ordered set of SGP4 satellites.

    Attributes
    ----------
    satrecs : tuple of sgp4.api.Satrec
        One initialised SGP4 model per satellite (WGS72 constants, as TLEs
        are fitted with them).
    names : tuple of str
        Satellite names, e.g. ``"STARLINK-11072 [DTC]"``.
    source : str
        Where the satellites came from (file path, or a description of the
        generated shells), for reports and run metadata.
    """

    satrecs: tuple[Satrec, ...]
    names: tuple[str, ...]
    source: str = "<unknown>"
    _norad: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if len(self.satrecs) != len(self.names):
            raise ValueError(
                f"Constellation got {len(self.satrecs)} satellites but "
                f"{len(self.names)} names; give one name per satellite"
            )
        object.__setattr__(self, "satrecs", tuple(self.satrecs))
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(
            self, "_norad", np.array([s.satnum for s in self.satrecs], dtype=np.int64)
        )

    # -- basic container behaviour ------------------------------------
    def __len__(self) -> int:
        return len(self.satrecs)

    def __repr__(self) -> str:
        return f"Constellation({len(self)} satellites from {self.source})"

    def __add__(self, other: Constellation) -> Constellation:
        return combine(self, other)

    def __getitem__(self, index) -> Constellation:
        """Subset by an integer array, a boolean mask or a slice."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return Constellation(
            tuple(self.satrecs[i] for i in idx),
            tuple(self.names[i] for i in idx),
            source=self.source,
        )

    # -- derived per-satellite arrays ----------------------------------
    @property
    def norad_ids(self) -> np.ndarray:
        """Catalog numbers, shape ``(nsat,)``, int64."""
        return self._norad.copy()

    @property
    def epoch_jd(self) -> np.ndarray:
        """Element-set epochs as UTC Julian dates, shape ``(nsat,)``."""
        return np.array([s.jdsatepoch + s.jdsatepochF for s in self.satrecs])

    @property
    def inclination_deg(self) -> np.ndarray:
        """Mean inclination of each satellite in degrees, shape ``(nsat,)``."""
        return np.degrees([s.inclo for s in self.satrecs])

    @property
    def raan_deg(self) -> np.ndarray:
        """Right ascension of the ascending node (TEME, at each epoch), degrees."""
        return np.degrees([s.nodeo for s in self.satrecs])

    @property
    def altitude_km(self) -> np.ndarray:
        """Mean altitude: Brouwer mean semi-major axis minus 6378.137 km.

        SGP4 keeps the semi-major axis in WGS72 earth radii (6378.135 km);
        the altitude is referred to the WGS84 equatorial radius, the usual
        convention for quoting shell altitudes.
        """
        return np.array([s.a * WGS72_EQUATORIAL_RADIUS_KM - WGS84_EQUATORIAL_RADIUS_KM
                         for s in self.satrecs])

    def epoch_datetimes(self) -> list[datetime]:
        """Element-set epochs as timezone-aware UTC datetimes."""
        base = datetime(1970, 1, 1, tzinfo=timezone.utc)
        return [
            base + timedelta(days=(s.jdsatepoch - _JD_UNIX_EPOCH) + s.jdsatepochF)
            for s in self.satrecs
        ]

    # -- selection -----------------------------------------------------
    def select(
        self,
        name_contains: str | Sequence[str] | None = None,
        norad_ids: Iterable[int] | None = None,
    ) -> Constellation:
        """Keep the satellites that match every filter given.

        Parameters
        ----------
        name_contains : str or list of str, optional
            Keep names containing this text (any of the texts, for a list),
            case-insensitive, e.g. ``"[DTC]"``.
        norad_ids : iterable of int, optional
            Keep these catalog numbers.

        Raises
        ------
        InputError
            If the filters leave no satellite, naming the filters and what
            the constellation holds, so the user can correct a typo.
        """
        keep = np.ones(len(self), dtype=bool)
        if name_contains is not None:
            texts = [name_contains] if isinstance(name_contains, str) else list(name_contains)
            lowered = [t.lower() for t in texts]
            keep &= np.array(
                [any(t in n.lower() for t in lowered) for n in self.names], dtype=bool
            )
        if norad_ids is not None:
            wanted = np.asarray(list(norad_ids), dtype=np.int64)
            keep &= np.isin(self._norad, wanted)
        if not keep.any():
            sample = ", ".join(self.names[:3]) + (", ..." if len(self) > 3 else "")
            raise InputError(
                f"{self.source}: no satellite matches name_contains={name_contains!r}, "
                f"norad_ids={None if norad_ids is None else list(norad_ids)!r}; the file "
                f"holds {len(self)} satellites (e.g. {sample}). Check the filter text "
                "(matching is case-insensitive) or the catalog numbers."
            )
        return self[np.flatnonzero(keep)]

    # -- export ----------------------------------------------------------
    def to_tle(self) -> str:
        """The constellation as 3-line TLE text (name line, line 1, line 2).

        Uses python-sgp4's exporter, so checksums are correct and the text
        loads back with :func:`satsim.orbits.load_tle`. TLE fields carry
        limited precision (angles to 1e-4 degree, mean motion to 1e-8
        rev/day), so a reloaded satellite agrees with the original to a few
        tens of metres near epoch, not bit for bit.
        """
        out = []
        for name, sat in zip(self.names, self.satrecs):
            line1, line2 = export_tle(sat)
            out.extend((name, line1, line2))
        return "\n".join(out) + "\n"

    def write_tle(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_tle` to ``path`` atomically (no half-written file)."""
        from .._atomic import atomic_write_text

        atomic_write_text(path, self.to_tle())


def combine(*constellations: Constellation) -> Constellation:
    """Join constellations in order.

    Raises
    ------
    InputError
        If a catalog number appears twice: positions and results are keyed by
        satellite, so each must be unique. Renumber a generated shell with its
        ``first_norad_id`` argument.
    """
    satrecs: list[Satrec] = []
    names: list[str] = []
    for c in constellations:
        satrecs.extend(c.satrecs)
        names.extend(c.names)
    ids = np.array([s.satnum for s in satrecs], dtype=np.int64)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][:5].tolist()
        raise InputError(
            f"combining constellations gives duplicate catalog numbers {dup}; each "
            "satellite needs its own number (for generated shells, pass a different "
            "first_norad_id to each shell)"
        )
    source = " + ".join(c.source for c in constellations)
    return Constellation(tuple(satrecs), tuple(names), source=source)
