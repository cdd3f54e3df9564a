"""From a validated :class:`~satsim.scenario.Scenario` to the objects of a run:
constellation, handsets, time grid, link and scheduler configurations."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._settings import as_dict
from ..constants import IUGG_MEAN_RADIUS_KM
from ..errors import InputError
from ..link.config import BeamSettings, Carrier, LinkConfig, Propagation
from ..orbits.constellation import Constellation
from ..orbits.defaults import CONUS_OUTLINE_LON_LAT
from ..orbits.handsets import Handsets
from ..orbits.sources import load_constellation
from ..orbits.timegrid import TimeGrid
from ..orbits.walker import walker_constellation
from ..scheduler.config import (
    AppCallConfig,
    BeamAccess,
    BeamConfig,
    DataConfig,
    SchedulerConfig,
    SmsConfig,
    VoiceConfig,
)
from ..streams import stream
from .loader import ScenarioError, step_problem
from .model import Scenario


@dataclass(frozen=True, eq=False)
class RunInputs:
    """Everything a run needs, built from a scenario."""

    scenario: Scenario
    times: TimeGrid
    constellation: Constellation
    handsets: Handsets
    link: LinkConfig
    scheduler: SchedulerConfig
    services: tuple[str, ...]

    @property
    def beams_per_satellite(self) -> int | None:
        """Beams of every satellite with moving beams ("cover" layouts depend on the
        lowest altitude); None with Earth-fixed cells (a satellite serves a varying
        number of cells: :attr:`cells`)."""
        if self.link.beams.mode == "earth_fixed":
            return None
        return self.link.beam_layout(float(np.min(self.constellation.altitude_km))).uv.shape[0]

    @cached_property
    def cells(self) -> tuple[int, float] | None:
        """Earth-fixed runs: ``(number of cells, cell radius km)``; else None
        (the cell grid is built once, on first use)."""
        if self.link.beams.mode != "earth_fixed":
            return None
        from ..link.cell_engine import cell_radius_km
        from ..link.cells import cell_grid

        radius = cell_radius_km(self.link, float(np.min(self.constellation.altitude_km)))
        return cell_grid(self.handsets, radius, self.link.beams.cell_fill_km).ncell, radius

    @property
    def beams_text(self) -> str:
        """How the satellites' beams are laid out, in words (the summary's
        ``run.beams``, which the CLI and the benchmarks print)."""
        if self.cells is None:
            return f"{self.beams_per_satellite} beams"
        n, radius = self.cells
        return f"{n:,} Earth-fixed cells of {radius:.1f} km"


def _section(key: str, fn, *args, **kwargs):
    """Call a constructor; re-raise its InputError as a ScenarioError at ``key``."""
    try:
        return fn(*args, **kwargs)
    except ScenarioError:
        raise
    except InputError as exc:
        problem = ("scenario", key, str(exc))
        raise ScenarioError(f"problem in the scenario at {key}: {exc}", [problem]) from None


def build_constellation(sc: Scenario) -> Constellation:
    c = sc.constellation
    if c.file is not None:
        kwargs = {"on_error": c.on_error}
        if c.name_contains is not None:
            kwargs["name_contains"] = c.name_contains
        if c.norad_ids is not None:
            kwargs["norad_ids"] = c.norad_ids
        con = _section("constellation.file", load_constellation, c.file, **kwargs)
        if len(con) == 0:
            raise ScenarioError(f"constellation: no satellite of {c.file} matches the filters "
                                f"(name_contains={c.name_contains!r}, norad_ids={c.norad_ids!r})"
                                "; loosen them")
        return con
    return _section("constellation.walker", walker_constellation, list(c.walker),
                    c.elements_epoch or sc.epoch, name_prefix="SATSIM")


def _scatter_around(lat_deg, lon_deg, radius_km, n, rng):
    """``n`` points uniform in area within ``radius_km`` of a centre (small-disc
    approximation on a sphere of the mean Earth radius)."""
    r = radius_km * np.sqrt(rng.uniform(0.0, 1.0, n))
    bearing = rng.uniform(0.0, 2.0 * np.pi, n)
    dlat = np.degrees(r * np.cos(bearing) / IUGG_MEAN_RADIUS_KM)
    coslat = max(math.cos(math.radians(lat_deg)), 1e-6)
    dlon = np.degrees(r * np.sin(bearing) / (IUGG_MEAN_RADIUS_KM * coslat))
    return np.clip(lat_deg + dlat, -90.0, 90.0), lon_deg + dlon


def shares_by_population(count: int, population) -> np.ndarray:
    """``count`` split in proportion to ``population`` (largest remainder)."""
    w = np.asarray(population, dtype=np.float64)
    exact = count * w / w.sum()
    n = np.floor(exact).astype(np.int64)
    rest = count - int(n.sum())
    n[np.argsort(-(exact - n), kind="stable")[:rest]] += 1
    return n


def build_handsets(sc: Scenario) -> Handsets:
    h = sc.handsets
    p = h.placement
    if p == "conus":
        return _section("handsets", Handsets.grid_in_polygon, CONUS_OUTLINE_LON_LAT,
                        h.spacing_km, label="CONUS")
    if p == "grid":
        b = h.box
        return _section("handsets", Handsets.grid_in_box, b.lat_min_deg, b.lat_max_deg,
                        b.lon_min_deg, b.lon_max_deg, h.spacing_km)
    rng = stream(sc.seed, "handsets/placement")
    if p == "random":
        b = h.box
        return _section("handsets", Handsets.random_in_box, h.count, b.lat_min_deg,
                        b.lat_max_deg, b.lon_min_deg, b.lon_max_deg, seed=rng)
    if p == "points":
        pts = h.points
        return _section("handsets.points", Handsets.from_points, [q.lat_deg for q in pts],
                        [q.lon_deg for q in pts], [q.alt_m for q in pts],
                        label=f"{len(pts)} points")
    # cities
    n = shares_by_population(h.count, [c.population for c in h.cities])
    lats, lons = [], []
    for city, k in zip(h.cities, n):
        la, lo = _scatter_around(city.lat_deg, city.lon_deg, h.radius_km, int(k), rng)
        lats.append(la)
        lons.append(lo)
    return _section("handsets.cities", Handsets.from_points, np.concatenate(lats),
                    np.concatenate(lons),
                    label=f"{h.count} handsets in {len(h.cities)} cities")


def build_link(sc: Scenario) -> LinkConfig:
    """The link layer's configuration: the scenario's own settings objects, composed."""
    propagation = _section("losses", Propagation, environment=sc.environment,
                           **as_dict(sc.losses))
    return _section("link", LinkConfig, **as_dict(sc.link), carrier=sc.carrier,
                    payload=sc.satellite, handset=sc.handsets.radio, propagation=propagation,
                    beams=runtime_part(sc.beams, BeamSettings), seed=sc.seed)


def runtime_part(section, cls):
    """The ``cls`` part of a scenario section that extends the settings class ``cls``
    (e.g. the SmsConfig of ``services.sms``, without its ``enabled`` switch)."""
    return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})


def build_scheduler(sc: Scenario, carrier: Carrier) -> SchedulerConfig:
    sv = sc.services
    beams = _section("beams", BeamConfig, carrier=carrier,
                     **as_dict(runtime_part(sc.beams, BeamAccess)))
    sms = (runtime_part(sv.sms, SmsConfig) if sv.sms.enabled
           else SmsConfig(mo_per_hour=0.0, mt_per_hour=0.0))
    voice = runtime_part(sv.voice, VoiceConfig) if sv.voice.enabled else None
    data = runtime_part(sv.data, DataConfig) if sv.data.enabled else None
    app_call = runtime_part(sv.app_call, AppCallConfig) if sv.app_call.enabled else None
    return _section("services", SchedulerConfig, beams=beams, sms=sms, voice=voice, data=data,
                    app_call=app_call)


def build(sc: Scenario) -> RunInputs:
    """Build and check every object of a run (errors name the scenario key)."""
    msg = step_problem(sc.duration_s, sc.step_s)
    if msg is not None:
        raise ScenarioError(f"problem in the scenario at step_s: {msg}",
                            [("scenario", "step_s", msg)])
    times = _section("duration_s", TimeGrid.from_duration, sc.epoch, sc.duration_s, sc.step_s)
    link = build_link(sc)
    scheduler = build_scheduler(sc, link.carrier)
    services = tuple(name for name in ("sms", "voice", "data", "app_call")
                     if getattr(sc.services, name).enabled)
    return RunInputs(scenario=sc, times=times, constellation=build_constellation(sc),
                     handsets=build_handsets(sc), link=link, scheduler=scheduler,
                     services=services)
