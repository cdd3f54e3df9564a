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
from typing import Literal
from datetime import datetime, timezone

from pydantic import Field
from sgp4.api import WGS72, Satrec

from ..constants import WGS72_EQUATORIAL_RADIUS_KM, WGS72_MU_KM3_S2, WGS84_EQUATORIAL_RADIUS_KM
from .._settings import settings
from ..errors import InputError
from .constellation import Constellation, combine
from .timegrid import as_utc

#: The SGP4 epoch origin, 1949-12-31 00:00 UTC (AIAA 2006-6753, sgp4init).
_SGP4_EPOCH0 = datetime(1949, 12, 31, tzinfo=timezone.utc)


@settings("constellation.walker")
class WalkerShell:
    """One Walker shell ``inclination: satellites/planes/phasing`` at a mean
    altitude (see the module docstring)."""

    satellites: int = Field(ge=1, description="Satellites in the shell (Walker T).")
    planes: int = Field(ge=1, description="Orbital planes (Walker P); must divide satellites.")
    phasing: int = Field(ge=0, description="Walker phasing factor F, 0 <= F < planes.")
    inclination_deg: float = Field(ge=0, le=180, description="Inclination, degrees.")
    altitude_km: float = Field(ge=150, le=50000,
                               description="Mean altitude above the 6378.137 km equator, km "
                                           "(below ~150 km an orbit decays within days).")
    pattern: Literal["delta", "star"] = Field(
        "delta", description="delta: planes over 360 deg of RAAN; star: over 180 deg.")
    raan0_deg: float = Field(0.0, description="RAAN of plane 0, degrees.")
    u0_deg: float = Field(0.0, description="Argument of latitude of satellite 0 of plane 0, "
                                           "degrees.")

    def __post_init__(self):
        where = f"Walker shell {self.label()}"
        if self.satellites % self.planes:
            raise InputError(
                f"{where}: planes ({self.planes}) must divide satellites ({self.satellites}) "
                f"so each plane holds the same number; e.g. use satellites="
                f"{self.planes * max(1, round(self.satellites / self.planes))}")
        if self.phasing >= self.planes:
            raise InputError(f"{where}: phasing F must be less than planes ({self.planes}), "
                             f"got {self.phasing!r}")

    def label(self) -> str:
        """Walker notation, e.g. ``"53.0°:312/24/1 delta @ 360 km"``."""
        return (
            f"{self.inclination_deg:g}°:{self.satellites}/{self.planes}/{self.phasing} "
            f"{self.pattern} @ {self.altitude_km:g} km"
        )

    @property
    def per_plane(self) -> int:
        return self.satellites // self.planes

    def raan_deg(self, plane: int) -> float:
        """RAAN of plane ``plane`` at epoch, degrees in [0, 360)."""
        spread = 360.0 if self.pattern == "delta" else 180.0
        return (self.raan0_deg + plane * spread / self.planes) % 360.0

    def arg_latitude_deg(self, plane: int, slot: int) -> float:
        """Argument of latitude of satellite ``slot`` in ``plane`` at epoch, degrees."""
        return (
            self.u0_deg
            + slot * 360.0 / self.per_plane
            + plane * self.phasing * 360.0 / self.satellites
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
        ``shell.satellites`` satellites, ordered plane by plane.
    """
    epoch = as_utc(epoch)
    last = first_norad_id + shell.satellites - 1
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
        next_id += shell.satellites
    return combine(*parts)
