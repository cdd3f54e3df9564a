"""The scenario schema: one pydantic model per YAML section.

Every key carries its unit in its name and a description (shown by
``satsim schema`` and in editors that read JSON Schema). ``Scenario()``
with no arguments *is* the embedded default scenario; ``scenarios/default.yaml``
spells out the same values.

The sections that configure a layer are that layer's own settings classes
(``satsim._settings``): ``carrier``, ``satellite``, ``beams`` (with the
scheduler's access resources), ``link``, ``losses``, ``environment`` and
``handsets.radio`` from :mod:`satsim.link.config`; ``services`` from
:mod:`satsim.scheduler.config`; ``constellation.walker`` entries are
:class:`satsim.orbits.walker.WalkerShell`. Defaults, units, ranges and sources
are written once, there. The sections declared here (constellation, handsets,
run, the top level) have no runtime counterpart: ``satsim.scenario.build`` turns
them into the run's objects.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .._settings import settings
from ..orbits.defaults import (
    DEFAULT_EPOCH,
    DTC_SHELLS,
)
from ..orbits.propagation import DEFAULT_MAX_EPOCH_AGE_DAYS
from ..orbits.walker import WalkerShell
from ..link.config import (
    DEFAULT_ENVIRONMENT,
    BeamSettings,
    Carrier,
    Environment,
    HandsetRadio,
    LinkSettings,
    Losses,
    SatellitePayload,
)
from ..scheduler.config import AppCallConfig, BeamAccess, DataConfig, SmsConfig, VoiceConfig

#: The default scenario's handset grid, km: coarser than ``satsim.orbits``' 52 km
#: geometry default, because every Earth-fixed cell of the region is lit and each
#: handset evaluates every lit beam of every satellite above its mask.
SCENARIO_HANDSET_SPACING_KM = 150.0

#: Model editions recorded in every run's metadata.
MODEL_EDITIONS = {
    "orbits": "SGP4 (python-sgp4, Vallado et al. AIAA 2006-6753 rev. 2); TEME->ITRS by GMST1982",
    "antenna": "rectangular planar aperture, separable illumination (Balanis, Antenna "
               "Theory 4th ed. §12.5); or 3GPP TR 38.811 v15.4.0 §6.4.1 circular aperture",
    "cells": "Earth-fixed hexagonal cells, beams steered to their centres, Doppler and delay "
             "pre-compensated there (FCC SAT-MOD-20230207-00021)",
    "propagation": "3GPP TR 38.811 v15.4.0 §6.6 (Tables 6.6.1-1, 6.6.2-1..3)",
    "link_budget": "3GPP TR 38.821 v16.1.0 §6.1 (Tables 6.1.1.1-1..3)",
    "cqi": "3GPP TS 36.213 Table 7.2.3-1; SINR thresholds: Vienna LTE SL simulator, 10% BLER",
    "sms": "3GPP TS 23.040 (validity, alert), TS 24.011 (TR1M retry)",
    "paging": "3GPP TS 36.304 §7.1, TS 36.331",
    "voice": "AMR-WB 12.65 kbit/s over LTE RBs; T310 radio-link failure, T311 RRC "
             "re-establishment (TS 36.331)",
    "app_call": "Opus over RTP/UDP/IP (RFC 6716, RFC 7587) on the beam's data share; "
                "mouth-to-ear delay against ITU-T G.114",
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
    max_epoch_age_days: float | None = Field(
        DEFAULT_MAX_EPOCH_AGE_DAYS, gt=0,
        description="Warn when the run reaches further than this from a satellite's element-set "
                    "epoch, days (SGP4 errors grow by about a km per day); null: never.")

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
# The carrier, satellite, beams, link, losses and handsets.radio sections are the
# link layer's own settings classes (satsim.link.config): declared once there.

@settings("beams")
class BeamsSpec(BeamSettings, BeamAccess):
    """Beams of every satellite (layout or Earth-fixed cells) and the per-beam
    access resources."""


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
      of the contiguous US (the default: 150 km, 362 handsets);
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
        SCENARIO_HANDSET_SPACING_KM, gt=0, description=(
            "Grid spacing, km (conus, grid). The default, 150 km, samples the contiguous US "
            "with 362 handsets: a 2 h run on a 52 km grid (2,958) gave the same served time "
            "(95.9 %) and SINR quantiles (within 0.05 dB) at 3x the cost (docs/calibration.md)."))
    count: int | None = Field(None, ge=1, description="Number of handsets (random, cities).")
    box: BoxSpec | None = Field(None, description="Latitude / longitude box (grid, random).")
    points: list[PointSpec] | None = Field(None, description="Explicit handsets (points).")
    cities: list[CitySpec] | None = Field(None, description="Cities with populations (cities).")
    radius_km: float = Field(20.0, gt=0, le=500, description="Scatter radius around each city "
                                                             "centre, km (cities).")
    radio: HandsetRadio = Field(default_factory=HandsetRadio, description="The phones' radio.")

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


@settings("services.app_call")
class AppCallSpec(AppCallConfig):
    """Calls from an app over data (model and sources: satsim.scheduler.app_call)."""

    enabled: bool = Field(False, description="Simulate app calls over data.")


class ServicesSpec(Section):
    """The services the scheduler runs over the link timeline."""

    sms: SmsSpec = Field(default_factory=SmsSpec)
    voice: VoiceSpec = Field(default_factory=VoiceSpec)
    data: DataSpec = Field(default_factory=DataSpec)
    app_call: AppCallSpec = Field(default_factory=AppCallSpec)


class RunSpec(Section):
    """How the run is executed (does not change the results)."""

    processes: int = Field(1, ge=1, le=256, description="Processes for SGP4 propagation.")
    chunk_steps: int = Field(120, ge=1, description="Time steps per geometry / link chunk "
                                                    "(bounds memory).")
    sample_handsets: int = Field(4, ge=0, le=64, description="Handsets whose full timeline is "
                                                             "kept for plots.")
    knot_step_s: float = Field(
        0.0, ge=0, le=40,
        description="Propagation knots, s: SGP4 every knot_step_s seconds from the epoch and "
                    "cubic Hermite between (satsim.orbits.interpolation); 0: exact SGP4 at every "
                    "step; ignored when step_s >= knot_step_s. 30 s moves positions by at most "
                    "0.022 m and velocities by 0.17 mm/s (measured on Starlink DTC elements, "
                    "tests/test_interpolation.py) and is 10-17x faster than SGP4 at 1 s steps.")
    spool: bool = Field(
        False,
        description="Keep the scheduler's coverage view on disk (a temporary folder under "
                    "TMPDIR, removed after the run), in buckets of handsets, and run the "
                    "services one group of buckets at a time: memory no longer holds the "
                    "whole run's view (~1.7 GiB per simulated hour at 100,000 phones and 1 s "
                    "steps); the gaps and handovers tables go to temporary Parquet files too. Same "
                    "results (satsim.scheduler.spool). Bounded only with Earth-fixed cells: "
                    "moving beams share beam numbers and run whole. For runs in this process "
                    "(with --workers each worker holds its own blocks' views instead).")


# -- the scenario ---------------------------------------------------------

class Scenario(Section):
    """A satsim scenario: what to simulate, for how long, with which seed."""

    name: str = Field("default", min_length=1, description="Short name (used in output "
                                                           "folder names).")
    description: str = Field(
        "The embedded default: 648 Starlink-Direct-to-Cell-like satellites (Walker shells "
        "fitted to the 2025-10-27 snapshot) serving Earth-fixed cells over the contiguous US, "
        "362 handsets on a 150 km grid for one day; SMS at 0.5 MO + 0.5 MT per handset-hour.",
        description="Free text shown in the report.")
    epoch: datetime = Field(DEFAULT_EPOCH, description="Start of the run, ISO 8601 UTC.")
    duration_s: float = Field(86400.0, gt=0, le=366 * 86400,
                              description="Length of the run, s.")
    step_s: float = Field(10.0, gt=0, description="Time step of geometry and link, s.")
    seed: int = Field(0, ge=0, lt=2**63, description="Seeds every random stream.")
    constellation: ConstellationSpec = Field(default_factory=ConstellationSpec)
    satellite: SatellitePayload = Field(default_factory=SatellitePayload)
    carrier: Carrier = Field(default_factory=Carrier)
    beams: BeamsSpec = Field(default_factory=BeamsSpec)
    link: LinkSettings = Field(default_factory=LinkSettings)
    handsets: HandsetsSpec = Field(default_factory=HandsetsSpec)
    environment: Environment = DEFAULT_ENVIRONMENT
    losses: Losses = Field(default_factory=Losses)
    services: ServicesSpec = Field(default_factory=ServicesSpec)
    run: RunSpec = Field(default_factory=RunSpec)

    @field_validator("epoch", mode="after")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _substeps(self):
        from ..link.substeps import substeps_in

        # raises (InputError, a ValueError) where the substep does not divide the step
        substeps_in(self.step_s, getattr(self.link, "substep_s", None))
        return self

    @field_validator("step_s", mode="after")
    @classmethod
    def _step(cls, v: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration_s")
        if duration is not None and v > duration:
            raise ValueError(f"step_s ({v:g}) is longer than duration_s ({duration:g}); use a "
                             "shorter step or a longer run")
        return v

