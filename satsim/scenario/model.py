"""The scenario schema: one pydantic model per YAML section.

Every key carries its unit in its name and a description (shown by
``satsim schema`` and in editors that read JSON Schema). ``Scenario()``
with no arguments *is* the embedded default scenario; ``scenarios/default.yaml``
spells out the same values.

Default radio figures and their sources:

* satellite: TR 38.821 v16.1.0 Table 6.1.1.1-2, LEO-600 Set-2, S-band: EIRP
  density 28 dBW/MHz, maximum gain 24 dBi, G/T -4.9 dB/K, 3 dB beamwidth
  8.8320 deg (a 1 m equivalent aperture at 2 GHz). Set-2 rather than Set-1
  (4.4127 deg, 499 beams to cover the field of view) because its 139 beams
  per satellite keep the default day under two minutes on a laptop; switch
  with ``satellite.beamwidth_3db_deg: 4.4127``, ``max_gain_dbi: 30``,
  ``eirp_density_dbw_mhz: 34``, ``gt_db_k: 1.1``.
* carrier: PCS G block, 1910-1915 MHz up, 1990-1995 MHz down (LTE band 25),
  the spectrum of Starlink Direct to Cell in the US (FCC, 26 Nov 2024);
  25 resource blocks (5 MHz LTE).
* handset radio: TR 38.821 Table 6.1.1.1-3 (23 dBm, 0 dBi, NF 7 dB, 290 K).
* propagation: TR 38.811 v15.4.0 §6.6 (LOS probability, shadow fading,
  clutter loss, atmospheric and scintillation losses), rural.
* unmodified-phone tolerances: 750 Hz residual Doppler (TS 36.101 Annex B.3),
  0.333 ms differential delay (TS 36.213 timing advance).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .._settings import settings
from ..errors import InputError
from ..orbits.defaults import (
    DEFAULT_EPOCH,
    DEFAULT_HANDSET_SPACING_KM,
    DEFAULT_MIN_ELEVATION_DEG,
    DTC_SHELLS,
)
from ..orbits.walker import WalkerShell
from ..scheduler.config import BeamAccess, DataConfig, SmsConfig, VoiceConfig

#: Model editions recorded in every run's metadata.
MODEL_EDITIONS = {
    "orbits": "SGP4 (python-sgp4, Vallado et al. AIAA 2006-6753 rev. 2); TEME->ITRS by GMST1982",
    "antenna": "3GPP TR 38.811 v15.4.0 §6.4.1 circular aperture",
    "propagation": "3GPP TR 38.811 v15.4.0 §6.6 (Tables 6.6.1-1, 6.6.2-1..3)",
    "link_budget": "3GPP TR 38.821 v16.1.0 §6.1 (Tables 6.1.1.1-1..3)",
    "cqi": "3GPP TS 36.213 Table 7.2.3-1; SINR thresholds: Vienna LTE SL simulator, 10% BLER",
    "sms": "3GPP TS 23.040 (validity, alert), TS 24.011 (TR1M retry)",
    "paging": "3GPP TS 36.304 §7.1, TS 36.331",
    "voice": "AMR-WB 12.65 kbit/s over LTE RBs; T310 radio-link failure (TS 36.331)",
}

class Section(BaseModel):
    """Base of every section: unknown keys are refused, values are re-checked on change."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              populate_by_name=False)


# -- constellation --------------------------------------------------------

class ConstellationSpec(Section):
    """The satellites: a TLE / OMM file, or generated Walker shells (the default:
    648 Starlink-Direct-to-Cell-like satellites, 53 deg: 312/24/1 at 360 km and
    43 deg: 336/24/1 at 358 km, fitted to the CelesTrak DTC snapshot of 2025-10-27)."""

    file: Path | None = Field(
        None, description="TLE (2- or 3-line) or OMM (.json/.csv/.xml) file; relative paths "
                          "are relative to the scenario file; $VARS are expanded.")
    name_contains: str | None = Field(
        None, description='Keep satellites whose name contains this, e.g. "[DTC]" (file only).')
    norad_ids: list[int] | None = Field(None, description="Keep these catalog numbers (file only).")
    on_error: Literal["raise", "skip"] = Field(
        "raise", description="raise: refuse a file with bad entries; skip: load the good ones "
                             "and warn.")
    walker: list[WalkerShell] | None = Field(
        default_factory=lambda: list(DTC_SHELLS),
        description="Walker shells to generate (ignored when file is given).")
    elements_epoch: datetime | None = Field(
        None, description="Epoch of the generated elements, ISO 8601 UTC (default: the "
                          "scenario epoch).")

    @model_validator(mode="after")
    def _one_source(self):
        if self.file is not None:
            if "walker" in self.model_fields_set and self.walker:
                raise ValueError("give either file or walker, not both")
            self.__dict__["walker"] = None
        else:
            if not self.walker:
                raise ValueError("give either file (a TLE / OMM file) or walker (a list of "
                                 "shells)")
            if self.name_contains is not None or self.norad_ids is not None:
                raise ValueError("name_contains and norad_ids filter a file: give file too")
        return self


# -- radio ----------------------------------------------------------------

class SatelliteSpec(Section):
    """Satellite antenna and per-beam transmit / receive figures (default: TR 38.821
    v16.1.0 Table 6.1.1.1-2 LEO-600 Set-2, S-band)."""

    max_gain_dbi: float = Field(24.0, ge=0, le=70, description="Beam boresight gain, dBi.")
    beamwidth_3db_deg: float | None = Field(
        8.8320, gt=0, lt=90, description="Full 3 dB beamwidth, degrees (or aperture_radius_m).")
    aperture_radius_m: float | None = Field(
        None, gt=0, description="Equivalent circular aperture radius, m (instead of the "
                                "beamwidth).")
    eirp_density_dbw_mhz: float | None = Field(
        28.0, description="EIRP density per beam, dBW/MHz (or tx_power_dbw).")
    tx_power_dbw: float | None = Field(None, description="Transmit power per beam, dBW.")
    gt_db_k: float = Field(-4.9, description="Receive G/T (uplink), dB/K.")
    scan_loss_exponent: float = Field(
        0.0, ge=0, description="Phased-array scan loss cos(scan)^n; 0: none.")

    @model_validator(mode="after")
    def _either(self):
        if self.aperture_radius_m is not None and "beamwidth_3db_deg" not in \
                self.model_fields_set:
            self.__dict__["beamwidth_3db_deg"] = None
        if self.tx_power_dbw is not None and "eirp_density_dbw_mhz" not in self.model_fields_set:
            self.__dict__["eirp_density_dbw_mhz"] = None
        if (self.beamwidth_3db_deg is None) == (self.aperture_radius_m is None):
            raise ValueError("give exactly one of beamwidth_3db_deg and aperture_radius_m "
                             "(set the other to null)")
        if (self.eirp_density_dbw_mhz is None) == (self.tx_power_dbw is None):
            raise ValueError("give exactly one of eirp_density_dbw_mhz and tx_power_dbw "
                             "(set the other to null)")
        return self


class CarrierSpec(Section):
    """Downlink / uplink carriers (default: PCS G block, LTE band 25, 5 MHz)."""

    dl_center_mhz: float = Field(1992.5, gt=0, description="Downlink carrier centre, MHz.")
    ul_center_mhz: float = Field(1912.5, gt=0, description="Uplink carrier centre, MHz.")
    bandwidth_mhz: float = Field(5.0, gt=0, description="Channel bandwidth per direction, MHz.")
    n_rb: int = Field(25, ge=1, description="Resource blocks in the channel (25 for 5 MHz LTE).")
    reuse: Literal[1, 3, 4] = Field(
        1, description="Frequency reuse: the channel is split into this many sub-bands, one "
                       "per beam colour.")


@settings("beams")
class BeamsSpec(BeamAccess):
    """Beam layout of every satellite and the per-beam access resources."""

    rings: int | Literal["cover"] = Field(
        "cover", description='"cover": every lattice beam needed to cover the field of view '
                             "down to link.min_elevation_deg; or a number of hexagonal rings "
                             "around the nadir beam (1 + 3 r (r + 1) beams).")
    spacing_deg: float | None = Field(
        None, gt=0, description="Angle between neighbouring beams, degrees (null: the 3 dB "
                                "beamwidth).")
    edge_db: float = Field(6.0, ge=0, description="A handset more than this below its best "
                                                 "beam's peak gain is outside every beam, dB.")

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.rings, int) and self.rings < 0:
            raise InputError("rings must be >= 0 or 'cover'")


class LinkSpec(Section):
    """Serving-beam selection, handover and the tolerances of an unmodified phone."""

    min_elevation_deg: float = Field(
        DEFAULT_MIN_ELEVATION_DEG, ge=0, lt=90,
        description="Elevation mask: satellites below it neither serve nor count as visible, "
                    "degrees.")
    interference_min_elevation_deg: float | None = Field(
        None, ge=0, lt=90, description="Satellites at or above this interfere (null: the "
                                       "serving mask).")
    serving_metric: Literal["sinr", "rsrp"] = Field("sinr", description="What the best beam "
                                                                        "maximises.")
    hysteresis_db: float = Field(2.0, ge=0, description="Handover hysteresis, dB.")
    time_to_trigger_s: float = Field(0.32, ge=0, description="Handover time to trigger, s.")
    max_residual_doppler_hz: float = Field(
        750.0, ge=0, description="Largest Doppler left after the satellite's beam-centre "
                                 "pre-compensation that a phone tolerates, Hz (TS 36.101 "
                                 "B.3: 750).")
    max_differential_delay_s: float = Field(
        0.333e-3, ge=0, description="Largest one-way delay difference to the beam centre a "
                                    "phone absorbs, s (LTE timing advance).")

    @model_validator(mode="after")
    def _masks(self):
        imin = self.interference_min_elevation_deg
        if imin is not None and imin > self.min_elevation_deg:
            raise ValueError(f"interference_min_elevation_deg ({imin}) must not exceed "
                             f"min_elevation_deg ({self.min_elevation_deg})")
        return self


class LossesSpec(Section):
    """Propagation terms (TR 38.811 v15.4.0 §6.6): true = model, false = off, a number =
    a fixed loss in dB."""

    los_probability: bool = Field(True, description="Draw LOS / NLOS per link (Table "
                                                    "6.6.1-1); false: always LOS.")
    shadow_fading: bool | float = Field(True, description="Shadow fading: model / off / dB.")
    clutter_loss: bool | float = Field(True, description="Clutter loss of NLOS links: model / "
                                                         "off / dB.")
    atmospheric: bool | float = Field(True, description="Atmospheric absorption: model / off "
                                                        "/ dB.")
    scintillation: bool | float = Field(True, description="Ionospheric scintillation: model "
                                                          "/ off / dB.")
    shadow_margin_db: float = Field(0.0, ge=0, description="Fixed shadowing margin, dB "
                                                           "(TR 38.821 uses 3).")
    additional_loss_db: float = Field(0.0, ge=0, description="Other fixed losses, dB.")
    body_loss_db: float = Field(0.0, ge=0, description="Handset body loss, dB.")
    polarization_loss_db: float = Field(0.0, ge=0, description="Handset polarization loss, dB.")
    indoor_loss_db: float = Field(0.0, ge=0, description="Building entry loss, dB "
                                                         "(0: outdoor handsets).")

    @field_validator("shadow_fading", "clutter_loss", "atmospheric", "scintillation")
    @classmethod
    def _fixed_db(cls, v):
        if not isinstance(v, bool) and v < 0:
            raise ValueError("a fixed loss must be >= 0 dB (or true / false)")
        return v


# -- handsets -------------------------------------------------------------

class PointSpec(Section):
    lat_deg: float = Field(ge=-90, le=90, description="Geodetic latitude, degrees north.")
    lon_deg: float = Field(ge=-180, le=360, description="Longitude, degrees east.")
    alt_m: float = Field(0.0, ge=-500, le=20000, description="Height above WGS84, m.")
    name: str | None = Field(None, description="A label.")


class CitySpec(Section):
    name: str = Field(description="City name (a label).")
    lat_deg: float = Field(ge=-90, le=90, description="Centre latitude, degrees north.")
    lon_deg: float = Field(ge=-180, le=360, description="Centre longitude, degrees east.")
    population: float = Field(gt=0, description="Population; handsets are shared out in "
                                                "proportion.")


class RadioSpec(Section):
    """An ordinary phone (TR 38.821 Table 6.1.1.1-3)."""

    tx_power_dbm: float = Field(23.0, le=40, description="Transmit power, dBm.")
    antenna_gain_dbi: float = Field(0.0, description="Antenna gain, dBi.")
    noise_figure_db: float = Field(7.0, ge=0, description="Receiver noise figure, dB.")
    antenna_temp_k: float = Field(290.0, gt=0, description="Antenna temperature, K.")


class BoxSpec(Section):
    lat_min_deg: float = Field(ge=-90, le=90, description="South edge, degrees.")
    lat_max_deg: float = Field(ge=-90, le=90, description="North edge, degrees.")
    lon_min_deg: float = Field(ge=-180, le=360, description="West edge, degrees east.")
    lon_max_deg: float = Field(ge=-180, le=540, description="East edge, degrees east (> 180 "
                                                            "to cross the antimeridian).")

    @model_validator(mode="after")
    def _order(self):
        if not self.lat_min_deg < self.lat_max_deg:
            raise ValueError("lat_min_deg must be less than lat_max_deg")
        if not self.lon_min_deg < self.lon_max_deg:
            raise ValueError("lon_min_deg must be less than lon_max_deg (use lon_max_deg > 180 "
                             "to cross the antimeridian)")
        return self


class HandsetsSpec(Section):
    """Where the handsets are. ``placement`` picks one of:

    * ``conus``: an equal-area grid ``spacing_km`` apart inside a coarse outline
      of the contiguous US (the default: 52 km, 2,958 handsets);
    * ``grid``: an equal-area grid ``spacing_km`` apart over ``box``;
    * ``random``: ``count`` handsets uniform in area over ``box`` (seeded);
    * ``points``: the listed ``points``;
    * ``cities``: ``count`` handsets shared among ``cities`` by population,
      scattered uniformly within ``radius_km`` of each centre (seeded).

    Handsets are stationary (moving handsets are not modelled yet).
    """

    placement: Literal["conus", "grid", "random", "points", "cities"] = Field(
        "conus", description="How handsets are placed (see the section's description).")
    spacing_km: float | None = Field(
        DEFAULT_HANDSET_SPACING_KM, gt=0, description="Grid spacing, km (conus, grid).")
    count: int | None = Field(None, ge=1, description="Number of handsets (random, cities).")
    box: BoxSpec | None = Field(None, description="Latitude / longitude box (grid, random).")
    points: list[PointSpec] | None = Field(None, description="Explicit handsets (points).")
    cities: list[CitySpec] | None = Field(None, description="Cities with populations (cities).")
    radius_km: float = Field(20.0, gt=0, le=500, description="Scatter radius around each city "
                                                             "centre, km (cities).")
    radio: RadioSpec = Field(default_factory=RadioSpec, description="The phones' radio.")

    @model_validator(mode="after")
    def _needs(self):
        need = {"conus": ("spacing_km",), "grid": ("spacing_km", "box"),
                "random": ("count", "box"), "points": ("points",),
                "cities": ("count", "cities")}[self.placement]
        missing = [k for k in need if not getattr(self, k)]
        if missing:
            raise ValueError(f"placement '{self.placement}' needs {' and '.join(missing)}")
        return self


# -- services -------------------------------------------------------------
# The service sections are the scheduler's own settings classes plus an
# ``enabled`` switch: every setting is declared once, in satsim.scheduler.config.

@settings("services.sms")
class SmsSpec(SmsConfig):
    """SMS store-and-forward (defaults and sources: satsim.scheduler.model)."""

    enabled: bool = Field(True, description="Simulate SMS.")


@settings("services.voice")
class VoiceSpec(VoiceConfig):
    """Voice calls (model and sources: satsim.scheduler.voice)."""

    enabled: bool = Field(False, description="Simulate voice calls.")


@settings("services.data")
class DataSpec(DataConfig):
    """Data sessions (model and sources: satsim.scheduler.data)."""

    enabled: bool = Field(False, description="Simulate data sessions.")


class ServicesSpec(Section):
    """The services the scheduler runs over the link timeline."""

    sms: SmsSpec = Field(default_factory=SmsSpec)
    voice: VoiceSpec = Field(default_factory=VoiceSpec)
    data: DataSpec = Field(default_factory=DataSpec)


class RunSpec(Section):
    """How the run is executed (does not change the results)."""

    processes: int = Field(1, ge=1, le=256, description="Processes for SGP4 propagation.")
    chunk_steps: int = Field(120, ge=1, description="Time steps per geometry / link chunk "
                                                    "(bounds memory).")
    sample_handsets: int = Field(4, ge=0, le=64, description="Handsets whose full timeline is "
                                                             "kept for plots.")


# -- the scenario ---------------------------------------------------------

class Scenario(Section):
    """A satsim scenario: what to simulate, for how long, with which seed."""

    name: str = Field("default", min_length=1, description="Short name (used in output "
                                                           "folder names).")
    description: str = Field(
        "The embedded default: 648 Starlink-Direct-to-Cell-like satellites (Walker shells "
        "fitted to the 2025-10-27 snapshot) over ~3,000 handsets on a 52 km grid across the "
        "contiguous US for one day; SMS at 0.5 MO + 0.5 MT per handset-hour.",
        description="Free text shown in the report.")
    epoch: datetime = Field(DEFAULT_EPOCH, description="Start of the run, ISO 8601 UTC.")
    duration_s: float = Field(86400.0, gt=0, le=366 * 86400,
                              description="Length of the run, s.")
    step_s: float = Field(10.0, gt=0, description="Time step of geometry and link, s.")
    seed: int = Field(0, ge=0, lt=2**63, description="Seeds every random stream.")
    constellation: ConstellationSpec = Field(default_factory=ConstellationSpec)
    satellite: SatelliteSpec = Field(default_factory=SatelliteSpec)
    carrier: CarrierSpec = Field(default_factory=CarrierSpec)
    beams: BeamsSpec = Field(default_factory=BeamsSpec)
    link: LinkSpec = Field(default_factory=LinkSpec)
    handsets: HandsetsSpec = Field(default_factory=HandsetsSpec)
    environment: Literal["dense_urban", "urban", "suburban", "rural"] = Field(
        "rural", description="TR 38.811 clutter environment (LOS probability, shadow fading, "
                             "clutter loss tables).")
    losses: LossesSpec = Field(default_factory=LossesSpec)
    services: ServicesSpec = Field(default_factory=ServicesSpec)
    run: RunSpec = Field(default_factory=RunSpec)

    @field_validator("epoch", mode="after")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)

    @field_validator("step_s", mode="after")
    @classmethod
    def _step(cls, v: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration_s")
        if duration is not None and v > duration:
            raise ValueError(f"step_s ({v:g}) is longer than duration_s ({duration:g}); use a "
                             "shorter step or a longer run")
        return v

