"""How much memory and work a scenario needs, estimated before anything is built.

A run holds, at once (``satsim.run``'s chunked link stage, design notes):

* a fixed base: the interpreter, numpy / numba / pandas and compiled kernels;
* the chunk working set: the ephemeris of a chunk (satellites x chunk steps x
  position and velocity) and, per (time step, handset) of the chunk, the
  link-layer arrays and one record per satellite in view; the scheduler's view
  holds two chunks at once;
* what grows with the run (in memory; with ``run.spool`` and Earth-fixed cells
  on disk, but for the summary's columns of the services' tables and one bucket of
  the view at a time): runs of the serving timeline, gaps and handovers,
  about :data:`OUTPUT_BYTES_PER_HANDSET_STEP` per (time step, handset); with
  Earth-fixed cells at most :data:`OUTPUT_BYTES_PER_HANDSET_HOUR_CELLS` per
  handset-hour however fine the steps (their changes follow the satellites and
  the cells' reassignment, not the step); and per step a row of the time series
  and one of each sampled handset (:data:`OUTPUT_BYTES_PER_STEP`,
  :data:`OUTPUT_BYTES_PER_SAMPLE_ROW`).

The per-item sizes were measured on the embedded default of 2026-12-03 (648
satellites, 2,958 handsets, moving beams, 10 s steps: 0.45 GB for half an hour,
0.56 GB for two hours; the whole day 4.73 GB peak since its phones were served
94 % of the time), the Earth-fixed cells' on the default of 2026-12-04 (362
handsets, 35,515 lit cells: 768 MB peak for the day), and are rounded up; the
figure is an estimate to catch
runs that cannot fit (a typo in ``step_s`` or ``spacing_km``), not an exact
bound. Satellites in view are estimated from each shell's coverage cap with a
factor :data:`CONCENTRATION` for inclined shells crowding near their inclination.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..constants import IUGG_MEAN_RADIUS_KM
from ..errors import InputError
from ..link.substeps import substeps_in
from .model import Scenario

#: Interpreter, libraries and compiled kernels, bytes.
BASE_BYTES = 300e6

#: Link-layer arrays per (time step, handset) of a chunk, bytes (108 since the
#: coverage holes' two float32 fields, ``LinkChunk.hole_start_s`` / ``hole_end_s``).
CHUNK_BYTES_PER_HANDSET_STEP = 108.0

#: Per link (satellite in view of a handset at a time step) of a chunk, bytes.
CHUNK_BYTES_PER_LINK = 60.0

#: Ephemeris per (satellite, time step) of a chunk: position, velocity, status.
CHUNK_BYTES_PER_SATELLITE_STEP = 56.0

#: What stays for the whole run per (time step, handset): timeline runs, gaps,
#: handovers. Measured ~162 on the default day after issue 12's Doppler tolerances
#: (94 % served, ~260 beam changes per handset-hour: 4.73 GB peak RSS, 2026-12-03);
#: ~70 when it served 39 %.
OUTPUT_BYTES_PER_HANDSET_STEP = 170.0

#: Earth-fixed cells: what stays per handset-hour, bytes, whatever the step. Measured
#: 2026-12-04 (every service on): ~28 KiB per handset-hour at 1 s steps (811 handsets,
#: 0.25 h against 1 h: peak memory 455 / 472 MiB; 100,000 handsets, 72 s: coverage
#: view 40 MiB and tables 12 MiB, 26.5 KiB per handset-hour), ~30 KiB at the default's
#: 10 s (its day); rounded up to about twice that. Until 2026-12-04 the per-step figure
#: above applied at any step, which put a 1 h national slice at 1 s (101,254 handsets)
#: at 71 GB and refused it, where it needs ~10 GB.
OUTPUT_BYTES_PER_HANDSET_HOUR_CELLS = 64e3

#: Per time step: its row of the ``timeseries`` table (64 B measured, 2026-12-04).
OUTPUT_BYTES_PER_STEP = 100.0

#: Per time step and sampled handset (``run.sample_handsets``): its row of the
#: ``samples`` table (35 B measured, 2026-12-04).
OUTPUT_BYTES_PER_SAMPLE_ROW = 50.0

#: Earth-fixed cells, per (lit cell, time step) of a chunk: the cell's satellite and
#: reason, and its beam's cell, EIRP, colour, interfering power, pointing and steering.
CHUNK_BYTES_PER_CELL_STEP = 80.0

#: Fine points evaluated together with ``link.substep_s``
#: (``satsim.link.substeps.BATCH_POINTS``).
SUBSTEP_BATCH_POINTS = 48

#: Inclined shells crowd near their inclination: satellites in view over the
#: uniform-sphere figure (the default's CONUS handsets see 1.7 x).
CONCENTRATION = 2.0

#: Area of the coarse CONUS outline the ``conus`` placement fills, km².
CONUS_AREA_KM2 = 8.1e6

#: Fraction of the available memory a run may plan to use.
MEMORY_SHARE = 0.8

#: ``run.spool`` with Earth-fixed cells: what stays in memory per handset-hour, bytes:
#: the columns of the services' tables the summary reads back
#: (``satsim.scheduler.model.SUMMARY_COLUMNS``; the tables themselves are on disk).
#: Measured 2026-12-05: 350 B per handset-hour (2,958 handsets x 30 min at 1 s, every
#: service on; the beams table's 208 of it; 938 for the whole tables); rounded up.
SPOOL_MEMORY_BYTES_PER_HANDSET_HOUR = 8e2

#: ``run.spool``: memory of one window of the services' tables sorted at the end of the
#: run, per handset-hour of the window (``satsim.scheduler.spool.
#: SERVICE_WINDOW_HANDSET_HOURS``): the rows (938 B per handset-hour measured, above)
#: read, concatenated and sorted, about three copies; rounded up.
SPOOL_WINDOW_BYTES_PER_HANDSET_HOUR = 3e3

#: ``run.spool``: memory of one bucket of the view read back with its services, per
#: handset-step of the bucket (``satsim.scheduler.spool.BUCKET_CHUNKS`` chunks' worth):
#: measured ~12.5 B at 1 s (2,958 handsets, 4 h in one bucket: 530 MiB for 4.3 M runs),
#: rounded up.
SPOOL_BYTES_PER_BUCKET_HANDSET_STEP = 25.0

#: ``run.spool`` with Earth-fixed cells: bytes written per handset-hour, whatever the
#: step: the view's runs before they are joined across chunks (54 B each,
#: ``satsim.scheduler.spool``; 363 per handset-hour at 1 s, measured 2026-12-05 on
#: 2,958 handsets x 4 h: 19.1 KiB), gaps (40 B, ~7 per handset-hour), the
#: handovers' Parquet (~61 rows per handset-hour) and the services' tables' (378 B,
#: measured on 2,958 handsets x 30 min); ~21.4 KiB, rounded up by a quarter (the
#: national day at 100,000 handsets: ~67 GB).
SPOOL_DISK_BYTES_PER_HANDSET_HOUR_CELLS = 28e3

#: ``run.spool`` with moving beams: bytes on disk per byte such a run keeps in memory
#: without it (its per-step figure above), rounded up.
SPOOL_DISK_FACTOR = 1.25

#: Fraction of the free disk space a spooled run may plan to use.
DISK_SHARE = 0.9


@dataclass(frozen=True)
class Estimate:
    """Sizes of a run (counts, and bytes of memory)."""

    steps: int
    handsets: int
    satellites: int
    visible_per_handset: float
    chunk_steps: int
    chunk_bytes: float
    output_bytes: float
    #: ``run.spool``: bytes written to the temporary folder (0 without it)
    disk_bytes: float = 0.0
    spool: bool = False

    @property
    def handset_steps(self) -> float:
        return float(self.steps) * self.handsets

    @property
    def links(self) -> float:
        """(time step, handset, satellite in view) triples the link layer evaluates."""
        return self.handset_steps * self.visible_per_handset

    @property
    def total_bytes(self) -> float:
        return BASE_BYTES + self.chunk_bytes + self.output_bytes

    def describe(self) -> str:
        """One line for ``satsim validate`` and ``satsim run``."""
        return (f"estimate: {self.steps:,} steps x {self.handsets:,} handsets x "
                f"~{self.visible_per_handset:.1f} satellites in view = {self.links:,.3g} "
                f"links; memory ~{_gb(self.total_bytes)} (chunks of {self.chunk_steps} steps "
                f"~{_gb(self.chunk_bytes)}, outputs ~{_gb(self.output_bytes)})"
                + (f"; spooled to disk ~{_gb(self.disk_bytes)}" if self.spool else ""))

    def problem(self, available_bytes: float | None,
                free_disk_bytes: float | None = None, force_hint: str = "--force") -> str | None:
        """Why the run does not fit in ``available_bytes`` of memory (or, with
        ``run.spool``, its files in ``free_disk_bytes`` of the temporary folder's
        disk) and what to change, or None; ``force_hint`` is how to run it anyway
        (the command line's flag, or ``satsim.run``'s argument)."""
        if (self.spool and free_disk_bytes is not None
                and self.disk_bytes > DISK_SHARE * free_disk_bytes):
            return (f"this run spools about {_gb(self.disk_bytes)} to disk (run.spool) and the "
                    f"temporary folder's disk has {_gb(free_disk_bytes)} free "
                    f"({self.describe()}).\n  How to fix: point TMPDIR to a disk with more "
                    "space; or fewer handsets, a shorter duration_s; or --set run.spool=false "
                    f"if it fits in memory. Pass {force_hint} to run it anyway")
        if available_bytes is None or self.total_bytes <= MEMORY_SHARE * available_bytes:
            return None
        knobs = []
        if self.chunk_bytes > 0.3 * (self.total_bytes - BASE_BYTES) and self.chunk_steps > 10:
            knobs.append(f"fewer steps per chunk (--set run.chunk_steps="
                         f"{max(10, self.chunk_steps // 4)})")
        if not self.spool and self.output_bytes > 0.3 * (self.total_bytes - BASE_BYTES):
            knobs.append("the growing outputs on disk (--set run.spool=true)")
        knobs += [("fewer handsets (a larger handsets.spacing_km, or a smaller "
                   "handsets.count)"), "a longer step_s", "a shorter duration_s"]
        return (f"this run needs about {_gb(self.total_bytes)} of memory and the machine has "
                f"{_gb(available_bytes)} available ({self.describe()}).\n  How to fix: "
                + "; or ".join(knobs) + f". Pass {force_hint} to run it anyway")


def check_resources(sc: Scenario, force: bool = False,
                    force_hint: str = "--force") -> Estimate:
    """The run's :class:`Estimate`; refuses (InputError) a run that does not fit in
    the machine's available memory (or, with ``run.spool``, whose files do not fit
    on the temporary folder's disk), naming what to change, unless ``force``. A
    constellation file is read for its satellites' altitudes."""
    alts = None
    if sc.constellation.file is not None:
        from .build import build_constellation

        alts = build_constellation(sc).altitude_km
    est = estimate(sc, alts)
    free_disk = None
    if sc.run.spool:
        import shutil
        import tempfile

        free_disk = float(shutil.disk_usage(tempfile.gettempdir()).free)
    problem = est.problem(available_memory_bytes(), free_disk, force_hint)
    if problem is not None and not force:
        raise InputError(problem)
    return est


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.3g} MB"


def available_memory_bytes() -> float | None:
    """Memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def steps_of(sc: Scenario) -> int:
    """Time steps of the run (both ends included)."""
    return math.floor(sc.duration_s / sc.step_s + 1e-9) + 1


def handset_count(sc: Scenario) -> int:
    """Handsets the placement makes, from the scenario alone (grids by area)."""
    from ..orbits.handsets import grid_count

    h = sc.handsets
    if h.placement == "points":
        return len(h.points)
    if h.placement in ("random", "cities"):
        return int(h.count)
    if h.placement == "conus":
        return max(1, round(CONUS_AREA_KM2 / h.spacing_km**2))
    b = h.box
    return max(1, round(grid_count(b.lat_min_deg, b.lat_max_deg, b.lon_min_deg,
                                   b.lon_max_deg, h.spacing_km)))


def visible_per_handset(satellites_altitude_km, min_elevation_deg: float) -> float:
    """Mean satellites above ``min_elevation_deg`` for satellites at these
    altitudes (spread evenly over the sphere, times :data:`CONCENTRATION`)."""
    eps = math.radians(min_elevation_deg)
    total = 0.0
    for alt in satellites_altitude_km:
        r = IUGG_MEAN_RADIUS_KM + max(float(alt), 100.0)
        lam = math.acos(min(1.0, IUGG_MEAN_RADIUS_KM * math.cos(eps) / r)) - eps
        total += 0.5 * (1.0 - math.cos(max(lam, 0.0)))
    return CONCENTRATION * total


def lit_cells(sc: Scenario, handsets: int, altitude_km: float) -> int:
    """Cells an Earth-fixed run lights: every cell within ``beams.cell_fill_km`` of a
    handset, or one per handset without a fill; 0 with moving beams. The lit area:
    grids, the area each handset stands for (at most a disc of the fill radius);
    cities, a disc of scatter radius + fill around each city; random, at most the box
    grown by the fill; points, a disc per handset."""
    b = sc.beams
    if b.mode != "earth_fixed":
        return 0
    if b.cell_fill_km is None:
        return handsets
    from ..link.cell_engine import cell_radius_km
    from .build import build_link

    fill, h = b.cell_fill_km, sc.handsets
    area_km2 = handsets * math.pi * fill ** 2
    if h.placement in ("conus", "grid"):
        area_km2 = handsets * min(math.pi * fill ** 2, max(h.spacing_km ** 2, 1.0))
    elif h.placement == "cities":
        area_km2 = min(area_km2, len(h.cities) * math.pi * (h.radius_km + fill) ** 2)
    elif h.placement == "random":
        box = h.box
        height = math.radians(box.lat_max_deg - box.lat_min_deg) * IUGG_MEAN_RADIUS_KM
        width = (math.radians(box.lon_max_deg - box.lon_min_deg) * IUGG_MEAN_RADIUS_KM
                 * math.cos(math.radians(0.5 * (box.lat_min_deg + box.lat_max_deg))))
        area_km2 = min(area_km2, (height + 2 * fill) * (width + 2 * fill))
    radius = cell_radius_km(build_link(sc), altitude_km)
    return max(handsets, round(area_km2 / (1.5 * math.sqrt(3.0) * radius ** 2)))


def estimate(sc: Scenario, satellites_altitude_km=None) -> Estimate:
    """The :class:`Estimate` of a scenario.

    ``satellites_altitude_km`` (one altitude per satellite) is needed for a
    constellation file; for Walker shells it comes from the scenario.
    """
    if satellites_altitude_km is None:
        shells = sc.constellation.walker or []
        satellites_altitude_km = [s.altitude_km for s in shells for _ in range(s.satellites)]
    alts = list(satellites_altitude_km)
    masks = [sc.link.min_elevation_deg,
             getattr(sc.link, "interference_min_elevation_deg", None)]
    mask = min(m for m in masks if m is not None)
    nsat, steps, nh = len(alts), steps_of(sc), handset_count(sc)
    vis = visible_per_handset(alts, mask)
    chunk = min(sc.run.chunk_steps, steps)
    cells = lit_cells(sc, nh, min(alts)) if alts else 0
    chunk_bytes = 2 * chunk * (nh * (CHUNK_BYTES_PER_HANDSET_STEP + vis * CHUNK_BYTES_PER_LINK)
                               + nsat * CHUNK_BYTES_PER_SATELLITE_STEP)
    chunk_bytes += chunk * cells * CHUNK_BYTES_PER_CELL_STEP
    sub = getattr(sc.link, "substep_s", None)
    n = substeps_in(sc.step_s, sub)
    if n > 1 and cells:
        # link.substep_s: the fine grid's ephemeris and cell assignment (int32
        # satellite and uint8 reason per cell) for the chunk, and one batch of
        # fine points' beams (satsim.link.substeps)
        chunk_bytes += chunk * n * (nsat * CHUNK_BYTES_PER_SATELLITE_STEP + cells * 5)
        chunk_bytes += SUBSTEP_BATCH_POINTS * cells * CHUNK_BYTES_PER_CELL_STEP
    per_handset = float(steps) * OUTPUT_BYTES_PER_HANDSET_STEP
    if cells:  # Earth-fixed: bounded per handset-hour as well
        hours = sc.duration_s / 3600.0
        per_handset = min(per_handset, hours * OUTPUT_BYTES_PER_HANDSET_HOUR_CELLS)
    sampled = min(sc.run.sample_handsets, nh)
    rows = float(steps) * (OUTPUT_BYTES_PER_STEP + sampled * OUTPUT_BYTES_PER_SAMPLE_ROW)
    disk_bytes = 0.0
    kept = nh * per_handset
    if sc.run.spool and cells:  # buckets of whole cells, one at a time; services' tables
        from ..scheduler.spool import BUCKET_CHUNKS, SERVICE_WINDOW_HANDSET_HOURS

        hours = sc.duration_s / 3600.0
        disk_bytes = nh * hours * SPOOL_DISK_BYTES_PER_HANDSET_HOUR_CELLS
        kept = (nh * hours * SPOOL_MEMORY_BYTES_PER_HANDSET_HOUR
                + min(nh * hours, SERVICE_WINDOW_HANDSET_HOURS)
                * SPOOL_WINDOW_BYTES_PER_HANDSET_HOUR
                + BUCKET_CHUNKS * chunk * nh * SPOOL_BYTES_PER_BUCKET_HANDSET_STEP)
    elif sc.run.spool:  # moving beams: buckets share beam numbers, read back whole
        disk_bytes = SPOOL_DISK_FACTOR * kept
    return Estimate(steps=steps, handsets=nh, satellites=nsat, visible_per_handset=vis,
                    chunk_steps=chunk, chunk_bytes=chunk_bytes, output_bytes=kept + rows,
                    disk_bytes=disk_bytes, spool=bool(sc.run.spool))
