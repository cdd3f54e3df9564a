"""One-geometry link budget, laid out like 3GPP TR 38.821 Table 6.1.3.3-1.

For one elevation angle and orbit altitude, :func:`link_budget` lists the
terms of the carrier-to-noise ratio of TR 38.821 §6.1.3.1::

    CNR = EIRP + G/T - FSPL - L_atm - L_shadow - L_scint - L_pol - L_add - k - 10 log10(B)

(EIRP dBW, G/T dB/K, losses dB, k = Boltzmann's constant in dBW/K/Hz, B the
noise bandwidth in Hz). It is the sizing view of a link, not the simulator's
per-link model: the slant range is that of TR 38.811 eq. 6.6-3 over a
spherical Earth, the satellite beam is taken at boresight, and the handset
at the given elevation.

How :class:`~satsim.link.config.Propagation` terms enter
---------------------------------------------------------
* ``atmospheric``: a number is that loss in dB; ``True`` is, below 6 GHz,
  the cosecant law of TR 38.811 eq. 6.6-8 with the S-band zenith attenuation
  of about 0.035 dB (ITU-R P.676 at 2 GHz, TR 38.811 §6.6.4), i.e. 0.07 dB
  at 30°; from 6 GHz, ITU-R P.676-12 for the surface weather of
  ``propagation`` (:func:`satsim.link.losses.atmospheric_loss_db`; 0.49 dB at
  30° and 20 GHz at the ITU-R P.835-6 reference atmosphere).
* ``scintillation``: a number is that loss in dB; ``True`` is, below 6 GHz,
  the ionospheric model of TR 38.811 §6.6.6.1.4 for 20-60° latitude,
  1.1 (f / 4 GHz)^-1.5 / sqrt(2) dB (2.2 dB at 2 GHz), elevation-independent;
  from 6 GHz, the tropospheric fade depth of ITU-R P.618-13 §2.4.1
  (TR 38.811 §6.6.6.2) for the terminal antenna, time percentage and weather
  of ``propagation`` (:func:`satsim.link.losses.scintillation_loss_db`;
  0.33 dB at 30° and 20 GHz for a handset, 1 % of the time).
* ``shadow_margin_db``, ``additional_loss_db``: fixed margins, as TR 38.821
  budgets them (3 dB shadow margin for LEO at S-band).
* ``shadow_fading``, ``clutter_loss`` (and ``los_probability``) are
  statistical: they belong to the per-link simulation, not to a one-geometry
  budget, and do not enter here, not even as fixed numbers. A budget
  accounts for them only through ``shadow_margin_db``.

The handset's losses (fields of ``propagation``) enter both directions: ``polarization_loss_db`` is the
polarization row; ``indoor_loss_db`` is added to the additional-loss row;
``body_loss_db`` is charged to the handset's own row (it lowers the uplink
EIRP and the downlink G/T).

Each direction's terms are evaluated at its own carrier (a Ka-band budget:
20 GHz down, 30 GHz up). The atmospheric model holds up to 350 GHz and the
scintillation model up to 55 GHz (``satsim.link.losses``); give fixed values
in dB above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..constants import BOLTZMANN_DBW_K_HZ, fspl_db
from ..errors import InputError
from . import losses
from .config import Carrier, HandsetRadio, Propagation, SatellitePayload
from .losses import slant_range_km

#: Zenith gaseous attenuation at S-band (about 2 GHz), dB: ITU-R P.676 as used
#: by TR 38.811 §6.6.4; scaled by 1 / sin(elevation).
ZENITH_ATMOSPHERIC_LOSS_S_BAND_DB = 0.035
#: Ionospheric scintillation amplitude at 4 GHz, 20-60° latitude, dB
#: (TR 38.811 §6.6.6.1.4, from ITU-R P.531).
SCINTILLATION_A_4GHZ_DB = 1.1
#: Highest carrier for which each ``True`` (model) loss term is defined, Hz.
MODEL_MAX_FREQ_HZ = {"atmospheric": losses.ATMOSPHERIC_FREQ_RANGE_HZ[1],
                     "scintillation": losses.SCINTILLATION_FREQ_RANGE_HZ[1]}

DIRECTIONS = ("downlink", "uplink")
#: The loss rows of a :class:`LinkBudget`, in TR 38.821 Table 6.1.3.3-1's order.
_LOSS_ROWS = ("fspl_db", "atmospheric_loss_db", "shadow_margin_db", "scintillation_loss_db",
             "polarization_loss_db", "additional_loss_db")


def _atmospheric_model_db(elevation_deg: float, freq_hz: float,
                          propagation: Propagation) -> float:
    """Below 6 GHz the S-band zenith value over sin(elevation); from 6 GHz
    ITU-R P.676-12 (``losses.atmospheric_loss_db``) for the propagation's weather."""
    if freq_hz < losses.SUB6_MAX_FREQ_HZ:
        return ZENITH_ATMOSPHERIC_LOSS_S_BAND_DB / math.sin(math.radians(elevation_deg))
    return float(losses.atmospheric_loss_db(elevation_deg, freq_hz,
                                            **losses.atmospheric_conditions(propagation)))


def _scintillation_model_db(freq_hz: float, elevation_deg: float,
                            propagation: Propagation) -> float:
    """Below 6 GHz ionospheric (TR 38.811 §6.6.6.1.4); from 6 GHz tropospheric,
    ITU-R P.618-13 (``losses.scintillation_loss_db``)."""
    if freq_hz < losses.SUB6_MAX_FREQ_HZ:
        return SCINTILLATION_A_4GHZ_DB * (freq_hz / 4e9) ** -1.5 / math.sqrt(2.0)
    return float(losses.scintillation_loss_db(freq_hz, elevation_deg,
                                              **losses.scintillation_conditions(propagation)))


def _total_loss_db(rows) -> float:
    """Sum of the loss rows (``_LOSS_ROWS``) of a mapping of rows, dB."""
    return sum(rows[name] for name in _LOSS_ROWS)


@dataclass(frozen=True)
class LinkBudget:
    """The rows of one direction of a TR 38.821 Table 6.1.3.3-1 link budget.

    All losses are positive numbers of dB that are subtracted.

    Attributes
    ----------
    direction : {"downlink", "uplink"}
    frequency_hz : float
        Carrier centre frequency, Hz.
    elevation_deg : float
        Elevation of the satellite seen from the handset, degrees.
    slant_range_km : float
        Satellite-to-handset distance, km.
    eirp_dbw : float
        Transmitter EIRP over ``bandwidth_hz``, dBW.
    gt_db_k : float
        Receiver G/T, dB/K.
    fspl_db, atmospheric_loss_db, shadow_margin_db, scintillation_loss_db,
    polarization_loss_db, additional_loss_db : float
        The loss rows, dB.
    bandwidth_hz : float
        Noise bandwidth, Hz.
    cnr_db : float
        Carrier-to-noise ratio, dB.
    """

    direction: str
    frequency_hz: float
    elevation_deg: float
    slant_range_km: float
    eirp_dbw: float
    gt_db_k: float
    fspl_db: float
    atmospheric_loss_db: float
    shadow_margin_db: float
    scintillation_loss_db: float
    polarization_loss_db: float
    additional_loss_db: float
    bandwidth_hz: float
    cnr_db: float

    @property
    def total_loss_db(self) -> float:
        """Sum of the loss rows, dB (FSPL included)."""
        return _total_loss_db(vars(self))


def _model_term(value, model) -> float:
    """A Propagation term: True -> model(), False -> 0, number -> that fixed dB."""
    if value is True:
        return model()
    if value is False:
        return 0.0
    return float(value)


def _checked_arguments(direction, elevation_deg, altitude_km, bandwidth_hz,
                       carrier: Carrier) -> tuple[float, float, float]:
    """Check :func:`link_budget`'s direction, geometry and bandwidth (None: the
    carrier's); return ``(elevation_deg, altitude_km, bandwidth_hz)`` as floats."""
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be 'downlink' or 'uplink', got {direction!r}")
    if not (isinstance(elevation_deg, (int, float)) and 0.0 < elevation_deg <= 90.0):
        raise InputError(f"elevation_deg must be in (0, 90] degrees, got {elevation_deg!r}")
    if not (isinstance(altitude_km, (int, float)) and math.isfinite(altitude_km)
            and altitude_km > 0.0):
        raise InputError(f"altitude_km must be a positive number of km, got {altitude_km!r}")
    if bandwidth_hz is None:
        bandwidth_hz = carrier.bandwidth_hz
    if not (isinstance(bandwidth_hz, (int, float)) and math.isfinite(bandwidth_hz)
            and bandwidth_hz > 0.0):
        raise InputError(f"bandwidth_hz must be a positive number of Hz, got {bandwidth_hz!r}")
    return float(elevation_deg), float(altitude_km), float(bandwidth_hz)


def _direction_terms(direction: str, carrier: Carrier, payload: SatellitePayload,
                     handset: HandsetRadio, propagation: Propagation,
                     bandwidth_hz: float) -> tuple[float, float, float]:
    """``(freq_hz, eirp_dbw, gt_db_k)`` of one direction: the carrier, the
    transmitter's EIRP over ``bandwidth_hz`` and the receiver's G/T, the
    handset's body loss charged to its own side."""
    if direction == "downlink":
        return (carrier.dl_center_hz, payload.eirp_dbw(bandwidth_hz),
                handset.gt_db_k - propagation.body_loss_db)
    return (carrier.ul_center_hz, handset.eirp_dbw - propagation.body_loss_db,
            payload.gt_db_k)


def _check_models_hold(propagation: Propagation, direction: str, freq_hz: float) -> None:
    """The atmospheric and scintillation models (``True``) need a carrier up to
    :data:`MODEL_MAX_FREQ_HZ` (350 and 55 GHz)."""
    for term, max_hz in MODEL_MAX_FREQ_HZ.items():
        if getattr(propagation, term) is True and freq_hz > max_hz:
            raise InputError(
                f"the {term} model of the link budget holds up to {max_hz / 1e9:g} GHz, but "
                f"the {direction} carrier is {freq_hz / 1e9:g} GHz: give a fixed value in dB "
                f"(propagation.{term}, losses.{term} in a scenario)"
            )


def _loss_rows(propagation: Propagation, elevation_deg: float, slant_km: float,
               freq_hz: float) -> dict[str, float]:
    """The loss rows of TR 38.821 Table 6.1.3.3-1, dB, by :class:`LinkBudget`
    field, in the table's order (``_LOSS_ROWS``)."""
    return dict(
        fspl_db=fspl_db(slant_km, freq_hz),
        atmospheric_loss_db=_model_term(
            propagation.atmospheric,
            lambda: _atmospheric_model_db(elevation_deg, freq_hz, propagation)),
        shadow_margin_db=float(propagation.shadow_margin_db),
        scintillation_loss_db=_model_term(
            propagation.scintillation,
            lambda: _scintillation_model_db(freq_hz, elevation_deg, propagation)),
        polarization_loss_db=float(propagation.polarization_loss_db),
        additional_loss_db=float(propagation.additional_loss_db + propagation.indoor_loss_db),
    )


def _check_rows(rows: dict) -> None:
    """Every numeric row is finite, and every ``*_loss_db`` row a loss >= 0 dB."""
    for name, value in rows.items():
        if name != "direction" and not math.isfinite(value):
            raise InputError(f"link budget term {name} must be a finite number, got {value!r}")
        if name.endswith("_loss_db") and value < 0.0:
            raise InputError(f"link budget term {name} must be a loss >= 0 dB, got {value!r}")


def _cnr_db(rows: dict) -> float:
    """Carrier-to-noise ratio of TR 38.821 §6.1.3.1 from the rows, dB."""
    return (rows["eirp_dbw"] + rows["gt_db_k"] - _total_loss_db(rows)
            - BOLTZMANN_DBW_K_HZ - 10.0 * math.log10(rows["bandwidth_hz"]))


def link_budget(
    elevation_deg: float,
    altitude_km: float,
    carrier: Carrier,
    payload: SatellitePayload,
    handset: HandsetRadio,
    propagation: Propagation,
    direction: str = "downlink",
    bandwidth_hz: float | None = None,
) -> LinkBudget:
    """Link budget of one direction at one geometry (TR 38.821 §6.1.3.1).

    Parameters
    ----------
    elevation_deg : float
        Elevation angle at the handset, degrees, in (0, 90].
    altitude_km : float
        Satellite altitude above the spherical Earth, km (> 0).
    carrier, payload, handset, propagation
        The radio parameters (:mod:`satsim.link.config`).
    direction : {"downlink", "uplink"}
        Downlink: satellite EIRP from ``payload.eirp_dbw(bandwidth)`` at
        ``carrier.dl_center_hz``, handset G/T. Uplink: handset EIRP (transmit
        power + antenna gain - body loss) at ``carrier.ul_center_hz``,
        satellite ``payload.gt_db_k``.
    bandwidth_hz : float, optional
        Noise bandwidth, Hz; default ``carrier.bandwidth_hz``. The downlink
        EIRP is the payload's EIRP density over this bandwidth; the handset's
        uplink power is spread over it.

    Returns
    -------
    LinkBudget

    Raises
    ------
    InputError
        For a value out of range, or a model (``True``) loss term with a
        carrier above its range (atmospheric 350 GHz, scintillation 55 GHz).
    """
    elevation_deg, altitude_km, bandwidth_hz = _checked_arguments(
        direction, elevation_deg, altitude_km, bandwidth_hz, carrier)
    freq_hz, eirp_dbw, gt_db_k = _direction_terms(
        direction, carrier, payload, handset, propagation, bandwidth_hz)
    _check_models_hold(propagation, direction, freq_hz)
    # TR 38.811 eq. 6.6-3 over its spherical Earth (R = 6371 km)
    slant_km = float(slant_range_km(elevation_deg, altitude_km))
    rows = dict(
        direction=direction,
        frequency_hz=float(freq_hz),
        elevation_deg=elevation_deg,
        slant_range_km=slant_km,
        eirp_dbw=float(eirp_dbw),
        gt_db_k=float(gt_db_k),
        **_loss_rows(propagation, elevation_deg, slant_km, freq_hz),
        bandwidth_hz=bandwidth_hz,
    )
    _check_rows(rows)
    return LinkBudget(**rows, cnr_db=_cnr_db(rows))


def budget_table(dl: LinkBudget, ul: LinkBudget) -> list[tuple[str, str, str, str]]:
    """Rows ``(quantity, unit, downlink, uplink)`` for printing, as in TR 38.821.

    Values are formatted to TR 38.821's precision (0.1 dB); the EIRP row shows
    dBm and, in brackets, dBW, as the TR does ("78.8 (48.8)").
    """
    for b, want in ((dl, "downlink"), (ul, "uplink")):
        if b.direction != want:
            raise InputError(f"budget_table needs a {want} budget there, got a {b.direction} one")

    def both(fmt, attr, scale=1.0):
        return (fmt(getattr(dl, attr) * scale), fmt(getattr(ul, attr) * scale))

    def tenth(x: float) -> str:
        return f"{x:.1f}"

    def plain(x: float) -> str:
        # up to 4 decimals, at least 1: 2.0, 1.9925, 0.36, 30.0
        s = f"{x:.4f}".rstrip("0")
        return s + "0" if s.endswith(".") else s

    def eirp(b: LinkBudget) -> str:
        return f"{b.eirp_dbw + 30.0:.1f} ({b.eirp_dbw:.1f})"

    rows = [
        ("Frequency", "GHz", *both(plain, "frequency_hz", 1e-9)),
        ("Elevation angle", "deg", *both(tenth, "elevation_deg")),
        ("Slant range", "km", *both(tenth, "slant_range_km")),
        ("Transmit EIRP", "dBm (dBW)", eirp(dl), eirp(ul)),
        ("Receiver G/T", "dB/K", *both(tenth, "gt_db_k")),
        ("Bandwidth", "MHz", *both(plain, "bandwidth_hz", 1e-6)),
        ("Free-space path loss", "dB", *both(tenth, "fspl_db")),
        ("Atmospheric loss", "dB", *both(tenth, "atmospheric_loss_db")),
        ("Shadowing margin", "dB", *both(tenth, "shadow_margin_db")),
        ("Scintillation loss", "dB", *both(tenth, "scintillation_loss_db")),
        ("Polarization loss", "dB", *both(tenth, "polarization_loss_db")),
        ("Additional losses", "dB", *both(tenth, "additional_loss_db")),
        ("CNR", "dB", *both(tenth, "cnr_db")),
    ]
    return rows
