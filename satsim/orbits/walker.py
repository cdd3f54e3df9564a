"""Generated constellations: Walker delta and Walker star shells.

A Walker shell ``i: T/P/F`` has ``T`` satellites in ``P`` equally spaced
circular orbital planes of inclination ``i``, ``S = T/P`` satellites per
plane, and an integer phasing factor ``F`` in ``[0, P)``:

* plane ``p`` (``p = 0 .. P-1``) has right ascension of the ascending node
  ``RAAN_p = RAAN_0 + p * Delta``, with ``Delta = 360/P`` for a *delta*
  pattern (planes spread over the full circle) and ``180/P`` for a *star*
  pattern (near-polar planes spread over half a circle);
* satellite ``k`` of plane ``p`` has argument of latitude (here, mean anomaly
  with zero eccentricity and argument of perigee) at epoch
  ``u_pk = u_0 + k * 360/S + p * F * 360/T``.

Source: J. G. Walker, "Satellite constellations", Journal of the British
Interplanetary Society 37 (1984) 559-572; the star pattern after
R. D. Lüders / J. G. Walker (polar "streets of coverage"). The formulas are
also in Wertz & Larson, *Space Mission Analysis and Design*, 3rd ed., §7.6.

Each satellite is a real SGP4 model built with ``Satrec.sgp4init`` on the WGS72
constants that TLEs use, with no drag (``bstar = 0``), so a generated shell
propagates exactly like a TLE-loaded one and can be exported to a valid TLE
file with :meth:`Constellation.to_tle`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from sgp4.api import WGS72, Satrec

from ..constants import WGS72_EQUATORIAL_RADIUS_KM, WGS72_MU_KM3_S2, WGS84_EQUATORIAL_RADIUS_KM
from ..errors import InputError
from .constellation import Constellation, combine
from .timegrid import as_utc

#: The SGP4 epoch origin, 1949-12-31 00:00 UTC (AIAA 2006-6753, sgp4init).
_SGP4_EPOCH0 = datetime(1949, 12, 31, tzinfo=timezone.utc)


@dataclass(frozen=True)
class WalkerShell:
    """The parameters of one Walker shell (see the module docstring).

    Attributes
    ----------
    total : int
        Number of satellites ``T``.
    planes : int
        Number of orbital planes ``P`` (must divide ``total``).
    phasing : int
        Walker phasing factor ``F``, ``0 <= F < P``.
    inclination_deg : float
        Orbit inclination, degrees, in ``[0, 180]``.
    altitude_km : float
        Mean altitude: mean semi-major axis minus 6378.137 km.
    pattern : {"delta", "star"}
        Delta spreads the planes over 360 degrees of RAAN, star over 180.
    raan0_deg, u0_deg : float
        RAAN of plane 0 and argument of latitude of its satellite 0, degrees.
    """

    total: int
    planes: int
    phasing: int
    inclination_deg: float
    altitude_km: float
    pattern: str = "delta"
    raan0_deg: float = 0.0
    u0_deg: float = 0.0

    def __post_init__(self):
        where = f"Walker shell {self.label()}"
        if int(self.total) != self.total or self.total < 1:
            raise InputError(f"{where}: total must be a whole number >= 1, got {self.total!r}")
        if int(self.planes) != self.planes or self.planes < 1:
            raise InputError(f"{where}: planes must be a whole number >= 1, got {self.planes!r}")
        if self.total % self.planes:
            raise InputError(
                f"{where}: planes ({self.planes}) must divide total ({self.total}) so each "
                f"plane holds the same number of satellites; e.g. use total="
                f"{self.planes * max(1, round(self.total / self.planes))}"
            )
        if int(self.phasing) != self.phasing or not 0 <= self.phasing < self.planes:
            raise InputError(
                f"{where}: phasing F must be a whole number with 0 <= F < planes "
                f"({self.planes}), got {self.phasing!r}"
            )
        if not 0.0 <= self.inclination_deg <= 180.0:
            raise InputError(
                f"{where}: inclination_deg must be in [0, 180], got {self.inclination_deg!r}"
            )
        if not 150.0 <= self.altitude_km <= 50000.0:
            raise InputError(
                f"{where}: altitude_km must be in [150, 50000] (below ~150 km an orbit "
                f"decays within days), got {self.altitude_km!r}"
            )
        if self.pattern not in ("delta", "star"):
            raise InputError(
                f"{where}: pattern must be 'delta' or 'star', got {self.pattern!r}"
            )

    def label(self) -> str:
        """Walker notation, e.g. ``"53.0°:312/24/1 delta @ 360 km"``."""
        return (
            f"{self.inclination_deg:g}°:{self.total}/{self.planes}/{self.phasing} "
            f"{self.pattern} @ {self.altitude_km:g} km"
        )

    @property
    def per_plane(self) -> int:
        return self.total // self.planes

    def raan_deg(self, plane: int) -> float:
        """RAAN of plane ``plane`` at epoch, degrees in [0, 360)."""
        spread = 360.0 if self.pattern == "delta" else 180.0
        return (self.raan0_deg + plane * spread / self.planes) % 360.0

    def arg_latitude_deg(self, plane: int, slot: int) -> float:
        """Argument of latitude of satellite ``slot`` in ``plane`` at epoch, degrees."""
        return (
            self.u0_deg
            + slot * 360.0 / self.per_plane
            + plane * self.phasing * 360.0 / self.total
        ) % 360.0


def mean_motion_for_altitude(altitude_km: float, inclination_deg: float) -> float:
    """Kozai mean motion (rad/min) whose SGP4 mean semi-major axis gives ``altitude_km``.

    SGP4 converts the element set's Kozai mean motion to a Brouwer mean
    motion with a J2 term that depends on inclination and eccentricity, so
    the Keplerian ``n = sqrt(mu / a^3)`` lands a few km off. We start from it
    and correct with a fixed-point iteration on the semi-major axis that
    ``sgp4init`` itself computes (``satrec.a``), to well under 1 m.
    """
    # altitudes above the WGS84 equator; SGP4 keeps a in WGS72 Earth radii
    target_er = (WGS84_EQUATORIAL_RADIUS_KM + altitude_km) / WGS72_EQUATORIAL_RADIUS_KM
    a_km = WGS84_EQUATORIAL_RADIUS_KM + altitude_km
    n = math.sqrt(WGS72_MU_KM3_S2 / a_km**3) * 60.0  # rad/min
    probe = Satrec()
    for _ in range(8):
        probe.sgp4init(
            WGS72, "i", 1, 27000.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            math.radians(inclination_deg), 0.0, n, 0.0,
        )
        ratio = probe.a / target_er
        if abs(ratio - 1.0) < 1e-12:
            break
        n *= ratio**1.5  # n ~ a^(-3/2)
    return n


def walker_shell(
    shell: WalkerShell,
    epoch: datetime | str,
    *,
    first_norad_id: int = 90001,
    name_prefix: str = "SATSIM",
) -> Constellation:
    """Generate one Walker shell as SGP4 satellites.

    Parameters
    ----------
    shell : WalkerShell
        Shell geometry.
    epoch : datetime or str
        Element-set epoch, UTC (naive datetimes and ISO strings without an
        offset are taken as UTC).
    first_norad_id : int
        Catalog number of the first satellite; the rest follow in order
        (plane by plane). Numbers above 99999 are written in Alpha-5 form.
    name_prefix : str
        Names are ``{prefix}-{plane:02d}-{slot:02d}`` (1-based), e.g.
        ``SATSIM-53-03-07`` with prefix ``SATSIM-53``.

    Returns
    -------
    Constellation
        ``shell.total`` satellites, ordered plane by plane.
    """
    epoch = as_utc(epoch)
    last = first_norad_id + shell.total - 1
    if first_norad_id < 1 or last > 339999:
        raise InputError(
            f"Walker shell {shell.label()}: catalog numbers {first_norad_id}..{last} "
            "fall outside 1..339999 (the Alpha-5 TLE range); choose another first_norad_id"
        )
    epoch_days = (epoch - _SGP4_EPOCH0).total_seconds() / 86400.0
    n_rad_min = mean_motion_for_altitude(shell.altitude_km, shell.inclination_deg)
    incl = math.radians(shell.inclination_deg)
    satrecs, names = [], []
    satnum = first_norad_id
    for p in range(shell.planes):
        raan = math.radians(shell.raan_deg(p))
        for k in range(shell.per_plane):
            sat = Satrec()
            sat.sgp4init(
                WGS72, "i", satnum, epoch_days,
                0.0,  # bstar: no drag
                0.0, 0.0,  # ndot, nddot (unused by SGP4)
                0.0,  # eccentricity: circular
                0.0,  # argument of perigee
                incl,
                math.radians(shell.arg_latitude_deg(p, k)),  # mean anomaly = arg. of latitude
                n_rad_min,
                raan,
            )
            sat.classification = "U"
            satrecs.append(sat)
            names.append(f"{name_prefix}-{p + 1:02d}-{k + 1:02d}")
            satnum += 1
    return Constellation(
        tuple(satrecs), tuple(names), source=f"generated Walker shell {shell.label()}"
    )


def walker_constellation(
    shells: list[WalkerShell],
    epoch: datetime | str,
    *,
    first_norad_id: int = 90001,
    name_prefix: str = "SATSIM",
) -> Constellation:
    """Several Walker shells as one constellation, numbered consecutively.

    Satellites of shell ``j`` are named ``{prefix}-S{j+1}-{plane}-{slot}``.
    """
    parts = []
    next_id = first_norad_id
    for j, shell in enumerate(shells):
        parts.append(
            walker_shell(
                shell, epoch, first_norad_id=next_id, name_prefix=f"{name_prefix}-S{j + 1}"
            )
        )
        next_id += shell.total
    return combine(*parts)
