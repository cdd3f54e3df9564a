"""Settings of the link layer: carrier, satellite payload, handset, propagation, and
the whole :class:`LinkConfig`.

Plain frozen dataclasses with units in every field name, validated on
construction (an :class:`~satsim.errors.InputError` names the field, the rule
and a fix). Defaults and their sources:

* Carrier: PCS G block, 1990-1995 MHz down / 1910-1915 MHz up, 5 MHz (LTE
  band 25), the spectrum Starlink Direct to Cell uses in the US (FCC order of
  26 Nov 2024); 25 resource blocks of 180 kHz in 5 MHz (3GPP TS 36.101
  Table 5.6-1).
* Satellite: 3GPP TR 38.821 v16.1.0 Table 6.1.1.1-1, LEO-600 Set-1, S-band:
  EIRP density 34 dBW/MHz, maximum gain 30 dBi, 3 dB beamwidth 4.4127 deg,
  G/T 1.1 dB/K.
* Handset: TR 38.821 Table 6.1.1.1-3, handheld: 23 dBm, 0 dBi, noise
  figure 7 dB, antenna temperature 290 K (G/T -31.6 dB/K).

A loss term of :class:`Propagation` is ``True`` (use the model), ``False``
(off, 0 dB) or a number (that fixed value in dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import InputError
from .antenna import HALF_POWER_U, payload_aperture_radius_m, wavenumber_rad_m
from .beams import BeamLayout, cone_beam_layout, hex_beam_layout, off_nadir_angle_deg

#: Boltzmann's constant, dBW/K/Hz (10 log10 1.380649e-23).
BOLTZMANN_DBW_K_HZ = -228.5991
#: Reference temperature for noise figures, K.
T0_K = 290.0
#: Environments of TR 38.811 §6.6 tables.
ENVIRONMENTS = ("dense_urban", "urban", "suburban", "rural")


def _positive(owner: str, name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        raise InputError(f"{owner}.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Carrier:
    """Downlink and uplink carriers and the frequency reuse across beams.

    Attributes
    ----------
    dl_center_hz, ul_center_hz : float
        Carrier centre frequencies, Hz.
    bandwidth_hz : float
        Channel bandwidth per direction, Hz (noise bandwidth of the CNR, as
        in TR 38.821's link budgets).
    n_rb : int
        Resource blocks in the channel (25 for 5 MHz LTE).
    reuse : {1, 3, 4}
        Frequency reuse factor: the channel is split into ``reuse`` equal
        sub-bands and each beam uses one (its colour); only beams of the
        same colour interfere.
    """

    dl_center_hz: float = 1992.5e6
    ul_center_hz: float = 1912.5e6
    bandwidth_hz: float = 5.0e6
    n_rb: int = 25
    reuse: int = 1

    def __post_init__(self):
        for name in ("dl_center_hz", "ul_center_hz", "bandwidth_hz"):
            _positive("carrier", name, getattr(self, name))
        if self.reuse not in (1, 3, 4):
            raise InputError(f"carrier.reuse must be 1, 3 or 4, got {self.reuse!r}")
        if int(self.n_rb) != self.n_rb or self.n_rb < self.reuse:
            raise InputError(
                f"carrier.n_rb must be a whole number >= reuse ({self.reuse}), got {self.n_rb!r}"
            )

    @property
    def beam_bandwidth_hz(self) -> float:
        """Bandwidth of one beam's sub-band, Hz."""
        return self.bandwidth_hz / self.reuse

    @property
    def beam_n_rb(self) -> int:
        """Resource blocks of one beam's sub-band."""
        return self.n_rb // self.reuse


@dataclass(frozen=True)
class SatellitePayload:
    """Satellite antenna and transmit / receive figures (per beam).

    Attributes
    ----------
    max_gain_dbi : float
        Antenna boresight gain, dBi.
    beamwidth_3db_deg : float or None
        Full 3 dB beamwidth, degrees; the aperture follows from it
        (TR 38.811 §6.4.1). Give this or ``aperture_radius_m``.
    aperture_radius_m : float or None
        Radius of the equivalent circular aperture, m.
    eirp_density_dbw_mhz : float or None
        EIRP density per beam, dBW/MHz; beam EIRP = density + 10 log10(B/MHz).
    tx_power_dbw : float or None
        Alternative to the EIRP density: transmit power per beam, dBW;
        EIRP = power + max gain.
    gt_db_k : float
        Receive G/T for the uplink, dB/K.
    scan_loss_exponent : float
        Phased-array scan loss ``cos(scan)^n`` of a beam steered ``scan``
        off the array normal; 0 disables it.
    """

    max_gain_dbi: float = 30.0
    beamwidth_3db_deg: float | None = 4.4127
    aperture_radius_m: float | None = None
    eirp_density_dbw_mhz: float | None = 34.0
    tx_power_dbw: float | None = None
    gt_db_k: float = 1.1
    scan_loss_exponent: float = 0.0

    def __post_init__(self):
        if (self.beamwidth_3db_deg is None) == (self.aperture_radius_m is None):
            raise InputError(
                "satellite: give exactly one of beamwidth_3db_deg and aperture_radius_m "
                f"(got {self.beamwidth_3db_deg!r} and {self.aperture_radius_m!r})"
            )
        if self.beamwidth_3db_deg is not None and not 0 < self.beamwidth_3db_deg < 90:
            raise InputError(
                f"satellite.beamwidth_3db_deg must be in (0, 90), got {self.beamwidth_3db_deg!r}"
            )
        if self.aperture_radius_m is not None:
            _positive("satellite", "aperture_radius_m", self.aperture_radius_m)
        if (self.eirp_density_dbw_mhz is None) == (self.tx_power_dbw is None):
            raise InputError(
                "satellite: give exactly one of eirp_density_dbw_mhz and tx_power_dbw "
                f"(got {self.eirp_density_dbw_mhz!r} and {self.tx_power_dbw!r})"
            )
        if self.scan_loss_exponent < 0:
            raise InputError(
                f"satellite.scan_loss_exponent must be >= 0, got {self.scan_loss_exponent!r}"
            )

    def eirp_dbw(self, bandwidth_hz: float) -> float:
        """Beam EIRP at boresight over ``bandwidth_hz``, dBW."""
        if self.eirp_density_dbw_mhz is not None:
            return self.eirp_density_dbw_mhz + 10.0 * math.log10(bandwidth_hz / 1e6)
        return self.tx_power_dbw + self.max_gain_dbi


@dataclass(frozen=True)
class HandsetRadio:
    """An ordinary phone's radio (TR 38.821 Table 6.1.1.1-3 defaults).

    Losses (``body_loss_db``, ``polarization_loss_db``, ``indoor_loss_db``)
    apply to both directions.
    """

    tx_power_dbm: float = 23.0
    antenna_gain_dbi: float = 0.0
    noise_figure_db: float = 7.0
    antenna_temp_k: float = 290.0
    body_loss_db: float = 0.0
    polarization_loss_db: float = 0.0
    indoor_loss_db: float = 0.0

    def __post_init__(self):
        _positive("handset", "antenna_temp_k", self.antenna_temp_k)
        for name in ("noise_figure_db", "body_loss_db", "polarization_loss_db", "indoor_loss_db"):
            if getattr(self, name) < 0:
                raise InputError(f"handset.{name} must be >= 0 dB, got {getattr(self, name)!r}")

    @property
    def gt_db_k(self) -> float:
        """Receive G/T, dB/K: ``G - NF - 10 log10(T0 + (Ta - T0) 10^(-NF/10))``.

        The formula of the MathWorks NB-IoT NTN link-budget example, which
        gives TR 38.821's -31.6 dB/K for the defaults.
        """
        nf = self.noise_figure_db
        t_sys = T0_K + (self.antenna_temp_k - T0_K) * 10.0 ** (-nf / 10.0)
        return self.antenna_gain_dbi - nf - 10.0 * math.log10(t_sys)

    @property
    def eirp_dbw(self) -> float:
        """Uplink EIRP, dBW (transmit power + antenna gain)."""
        return self.tx_power_dbm - 30.0 + self.antenna_gain_dbi


def _loss_term(owner: str, name: str, value) -> None:
    if isinstance(value, bool):
        return
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(
            f"{owner}.{name} must be true (use the model), false (off) or a fixed loss in dB, "
            f"got {value!r}"
        )


@dataclass(frozen=True)
class Propagation:
    """Which propagation terms apply, and how (TR 38.811 §6.6).

    Each model term is ``True`` (model), ``False`` (off) or a number (fixed dB).

    Attributes
    ----------
    environment : {"dense_urban", "urban", "suburban", "rural"}
        Selects the TR 38.811 LOS-probability, shadow-fading and clutter tables.
    los_probability : bool
        Draw LOS / NLOS per link from TR 38.811 Table 6.6.1-1; False: always LOS.
    shadow_fading, clutter_loss, atmospheric, scintillation : bool or float
        The TR 38.811 terms (clutter loss applies to NLOS links only).
    shadow_margin_db, additional_loss_db : float
        Fixed margins, e.g. TR 38.821's 3 dB shadow margin.
    """

    environment: str = "rural"
    los_probability: bool = True
    shadow_fading: bool | float = True
    clutter_loss: bool | float = True
    atmospheric: bool | float = True
    scintillation: bool | float = True
    shadow_margin_db: float = 0.0
    additional_loss_db: float = 0.0

    def __post_init__(self):
        if self.environment not in ENVIRONMENTS:
            raise InputError(
                f"propagation.environment must be one of {', '.join(ENVIRONMENTS)}, "
                f"got {self.environment!r}"
            )
        if not isinstance(self.los_probability, bool):
            raise InputError(
                f"propagation.los_probability must be true or false, got {self.los_probability!r}"
            )
        for name in ("shadow_fading", "clutter_loss", "atmospheric", "scintillation"):
            _loss_term("propagation", name, getattr(self, name))
        for name in ("shadow_margin_db", "additional_loss_db"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise InputError(f"propagation.{name} must be a number of dB >= 0, got {v!r}")


#: Largest downlink Doppler shift LTE UE performance is specified against:
#: 750 Hz, high-speed-train scenario, 3GPP TS 36.101 Annex B.3 Table B.3-1.
LTE_MAX_DOPPLER_HZ = 750.0
#: Largest LTE timing advance, 1282 x 16 Ts = 0.667 ms round trip (TS 36.213
#: §4.2.3, TS 36.211 §8.1): a one-way differential delay of up to 0.333 ms
#: (about 100 km) can be absorbed by an unmodified phone.
LTE_MAX_DIFFERENTIAL_DELAY_S = 0.667e-3 / 2.0


@dataclass(frozen=True)
class LinkConfig:
    """Everything the link layer needs beyond the geometry.

    Attributes
    ----------
    carrier, payload, handset, propagation
        Radio parameters (``satsim.link.params``).
    beam_rings : int or "cover"
        Hexagonal rings of beams around the nadir beam (1 + 3 r (r+1) beams),
        or ``"cover"``: every lattice beam needed to cover the field of view
        down to ``min_elevation_deg`` from the constellation's lowest
        satellite (:func:`satsim.link.beams.cone_beam_layout`).
    beam_spacing_deg : float or None
        Angle between neighbouring beams; None: the 3 dB beamwidth (adjacent
        beams cross at -3 dB).
    min_elevation_deg : float
        Serving elevation mask; satellites below it do not serve.
    interference_min_elevation_deg : float or None
        Satellites at or above this elevation interfere (None: the serving
        mask). Lower values are more accurate and cost more links.
    serving_metric : {"sinr", "rsrp"}
        What the best beam maximises.
    hysteresis_db, time_to_trigger_s : float
        Handover: a better beam must win by ``hysteresis_db`` for
        ``time_to_trigger_s`` (rounded up to whole steps) before it takes over.
    beam_edge_db : float
        A handset whose serving beam gain is more than this below the beam
        peak is outside the beam (status "no beam").
    max_residual_doppler_hz, max_differential_delay_s : float
        Unmodified-phone tolerances (LTE defaults, see module constants).
    seed : int
        Seed of the channel's random draws (LOS state, shadow fading).
    """

    carrier: Carrier = field(default_factory=Carrier)
    payload: SatellitePayload = field(default_factory=SatellitePayload)
    handset: HandsetRadio = field(default_factory=HandsetRadio)
    propagation: Propagation = field(default_factory=Propagation)
    beam_rings: int | str = 3
    beam_spacing_deg: float | None = None
    min_elevation_deg: float = 25.0
    interference_min_elevation_deg: float | None = None
    serving_metric: str = "sinr"
    hysteresis_db: float = 2.0
    time_to_trigger_s: float = 0.32
    beam_edge_db: float = 6.0
    max_residual_doppler_hz: float = LTE_MAX_DOPPLER_HZ
    max_differential_delay_s: float = LTE_MAX_DIFFERENTIAL_DELAY_S
    seed: int = 0

    def __post_init__(self):
        if self.serving_metric not in ("sinr", "rsrp"):
            raise InputError(f"serving_metric must be 'sinr' or 'rsrp', got {self.serving_metric!r}")
        rings = self.beam_rings
        if rings != "cover" and (
            isinstance(rings, (bool, str)) or int(rings) != rings or rings < 0
        ):
            raise InputError(
                f"beam_rings must be a whole number >= 0 or 'cover', got {self.beam_rings!r}"
            )
        for name in ("hysteresis_db", "time_to_trigger_s", "beam_edge_db",
                     "max_residual_doppler_hz", "max_differential_delay_s"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        imin = self.interference_min_elevation_deg
        if imin is not None and imin > self.min_elevation_deg:
            raise InputError(
                f"interference_min_elevation_deg ({imin}) must not exceed min_elevation_deg "
                f"({self.min_elevation_deg}): every serving satellite also interferes"
            )

    @property
    def interference_mask_deg(self) -> float:
        imin = self.interference_min_elevation_deg
        return self.min_elevation_deg if imin is None else imin

    def beam_layout(self, altitude_km: float | None = None) -> BeamLayout:
        """The beam layout; ``altitude_km`` (lowest satellite) is needed for "cover"."""
        spacing = self.beam_spacing_deg
        if spacing is None:
            spacing = math.degrees(_beamwidth_rad(self))
        if self.beam_rings == "cover":
            if altitude_km is None:
                raise InputError("beam_rings='cover' needs the constellation's altitude_km")
            return cone_beam_layout(off_nadir_angle_deg(self.min_elevation_deg, altitude_km),
                                    spacing)
        return hex_beam_layout(int(self.beam_rings), spacing)


def _beamwidth_rad(config: LinkConfig) -> float:
    """3 dB beamwidth at the downlink frequency, radians (from the aperture)."""
    a = payload_aperture_radius_m(config.payload, config.carrier.dl_center_hz)
    k = wavenumber_rad_m(config.carrier.dl_center_hz)
    return 2.0 * math.asin(min(1.0, HALF_POWER_U / (k * a)))

