"""Sweep files: a base scenario, a grid of parameters, seeds, and the metrics
to tabulate; validated up front so a typo fails before anything runs.

A sweep file (YAML)::

    base: scenario.yaml          # a scenario file (relative to this file), an
                                 # inline scenario mapping, or absent (the default)
    grid:                        # cartesian product of every key's values
      link.min_elevation_deg: [20, 25, 30]
      handsets.spacing_km: [100, 200]
    zip:                         # equal-length lists varied together,
      duration_s: [3600, 7200]   # crossed with the grid
      step_s: [10, 20]
    seeds: 3                     # base seed .. base seed + 2, or a list [1, 7, 9]
    metrics:                     # summary key paths to tabulate (default: METRICS)
      - coverage.availability
      - sms.latency_s.p90

Every key of ``grid`` and ``zip`` is a scenario key path, as for
``satsim run --set``; every point (base + its parameters) is validated
against the :class:`~satsim.scenario.Scenario` schema when the sweep is
loaded.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..results.folder import input_hash
from ..scenario import Scenario, ScenarioError, load_scenario, with_overrides
from ..scenario.loader import read_yaml, validate

#: Metrics tabulated when the sweep file names none: summary key paths.
METRICS = (
    "coverage.availability",
    "coverage.availability_p5",
    "coverage.gap_s.p95",
    "coverage.handovers_per_handset_hour",
    "link.dl_sinr_db.p50",
    "sms.delivery_ratio",
    "sms.latency_s.p50",
    "sms.latency_s.p90",
    "voice.block_ratio",
    "voice.drop_ratio",
    "data.throughput_kbps.p50",
)

#: Top-level sections of a run's summary that hold metrics.
SUMMARY_SECTIONS = ("run", "coverage", "link", "sms", "voice", "data", "app_call", "beams")


class SweepFile(BaseModel):
    """The keys of a sweep file (module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, description="A label for the sweep "
                                                             "(default: the file's name).")
    base: str | dict[str, Any] | None = Field(
        None, description="The base scenario: a file (relative to the sweep file), an inline "
                          "scenario mapping, or absent for the embedded default.")
    grid: dict[str, list[Any]] = Field(
        default_factory=dict, description="Scenario key path -> list of values; every "
                                          "combination is a point.")
    zip: dict[str, list[Any]] = Field(
        default_factory=dict, description="Scenario key path -> list of values, all lists of "
                                          "one length, varied together and crossed with grid.")
    seeds: int | list[int] = Field(
        1, description="Replications: a count (base seed, base seed + 1, ...) or a list.")
    metrics: list[str] | None = Field(
        None, description="Summary key paths to tabulate (default: satsim.sweeps.METRICS).")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if isinstance(v, int):
            if v < 1:
                raise ValueError("seeds: give a count >= 1 or a list of seeds")
        else:
            if not v or len(set(v)) != len(v) or min(v) < 0:
                raise ValueError("seeds: a list of distinct whole numbers >= 0")
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v):
        for m in v or []:
            head = m.split(".")[0]
            if head not in SUMMARY_SECTIONS:
                close = difflib.get_close_matches(head, SUMMARY_SECTIONS, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise ValueError(f"metric {m!r}: {hint}a metric is a key path into the run "
                                 f"summary, starting with one of {', '.join(SUMMARY_SECTIONS)}")
        return v


@dataclass(frozen=True, eq=False)
class Point:
    """One combination of the swept parameters."""

    index: int
    params: dict
    scenario: Scenario


@dataclass(frozen=True, eq=False)
class PointRun:
    """One point at one seed: the unit of work, keyed by :func:`run_key`."""

    point: Point
    seed: int
    key: str


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep: the base scenario, its points, seeds and metrics."""

    name: str
    base: Scenario
    grid: dict
    zip: dict
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    points: tuple[Point, ...]

    @property
    def parameters(self) -> list[str]:
        """The swept key paths, grid first, in file order."""
        return [*self.grid, *self.zip]

    def runs(self) -> list[PointRun]:
        """Every (point, seed), point-major."""
        return [PointRun(p, s, run_key(p.scenario, s)) for p in self.points for s in self.seeds]

    def to_yaml(self) -> str:
        """The resolved sweep (base scenario in full, seeds listed); loadable again."""
        data = {"name": self.name, "base": self.base.model_dump(mode="json"),
                "grid": self.grid, "zip": self.zip, "seeds": list(self.seeds),
                "metrics": list(self.metrics)}
        head = (f"# satsim sweep '{self.name}', resolved: the base scenario in full and the "
                "seeds listed.\n# Rerun it with `satsim sweep THIS_FILE --out FOLDER`.\n")
        return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def run_key(scenario: Scenario, seed: int) -> str:
    """SHA-256 of the resolved scenario with ``seed`` (and of its constellation
    file's bytes, as :func:`satsim.results.folder.input_hash`)."""
    return input_hash(scenario.model_copy(update={"seed": int(seed)}))


# -- loading --------------------------------------------------------------

def _where(source: str, lines: Mapping, loc: tuple) -> str:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return f"{source}, line {lines[loc[:n]]}"
    return source


def _fail(problems: list[tuple[str, str, str]]) -> ScenarioError:
    head = f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the sweep:"
    body = "\n".join(f"  {where}: {key}: {msg}" for where, key, msg in problems)
    return ScenarioError(f"{head}\n{body}\n  How to fix: correct the keys above; a sweep file "
                         "has base, grid, zip, seeds, metrics and name (satsim.sweeps.spec).",
                         problems)


def _check_file(data: dict, source: str, lines: Mapping) -> SweepFile:
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not str(p).startswith(("str", "dict[",
                                                                        "int", "list[")))
            key = ".".join(str(p) for p in loc[:1]) or "(top level)"
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(loc[0]), list(SweepFile.model_fields),
                                                  n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`? " if close else ""
                msg = (f"unknown key '{loc[0]}': {hint}valid keys: "
                       f"{', '.join(SweepFile.model_fields)}")
            else:
                msg = err["msg"].removeprefix("Value error, ")
            problems.append((_where(source, lines, loc), key, msg))
        raise _fail(problems) from None


def _base_scenario(spec: SweepFile, source: str, lines: Mapping,
                   base_dir: Path) -> Scenario:
    if spec.base is None:
        return Scenario()
    if isinstance(spec.base, str):
        path = Path(os.path.expanduser(os.path.expandvars(spec.base)))
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise _fail([(_where(source, lines, ("base",)), "base",
                          f"the base scenario file {spec.base!r} does not exist (looked for "
                          f"{path}); paths are relative to the sweep file")])
        return load_scenario(path)
    sub = {k[1:]: v for k, v in lines.items() if k[:1] == ("base",)}
    return validate(dict(spec.base), source=f"{source} (base)", lines=sub, base_dir=base_dir)


def _point(index: int, base: Scenario, params: dict, zipped: set, source: str,
           lines: Mapping) -> Point:
    """A point's scenario; a problem names the grid / zip key that caused it."""
    try:
        return Point(index, params, with_overrides(base, params))
    except ScenarioError as exc:
        at = ", ".join(f"{k}={v!r}" for k, v in params.items())
        problems = []
        for where, key, msg in exc.problems or [("", "", str(exc).removeprefix("--set "))]:
            param = where.removeprefix("--set ") if where.startswith("--set ") else None
            if param is None:
                problems.append((source, key or "(point)", f"{msg} (at point {index}: {at})"))
                continue
            section = "zip" if param in zipped else "grid"
            detail = f"{key}: " if key != param else ""
            problems.append((_where(source, lines, (section, param)), f"{section}.{param}",
                             f"{detail}{msg} (at point {index}: {at})"))
        raise _fail(problems) from None


def load_sweep(source: str | os.PathLike | Mapping | Sweep) -> Sweep:
    """Load and validate a sweep.

    Parameters
    ----------
    source : path, mapping or Sweep
        A sweep YAML file, a mapping with the same keys, or an already loaded
        :class:`Sweep` (returned as is).

    Raises
    ------
    satsim.scenario.ScenarioError
        An :class:`~satsim.errors.InputError` naming the file, line and key,
        for an unknown key, a bad value, or a grid value that makes a point
        an invalid scenario.
    """
    if isinstance(source, Sweep):
        return source
    if isinstance(source, Mapping):
        data, lines, name, base_dir = dict(source), {}, "<sweep mapping>", Path.cwd()
        label = "sweep"
    else:
        path = Path(source)
        data, lines = read_yaml(path)
        name, base_dir, label = str(path), path.resolve().parent, path.stem
    spec = _check_file(data, name, lines)
    problems = [(_where(name, lines, (section, key)), f"{section}.{key}", msg)
                for section in ("grid", "zip") for key, values in getattr(spec, section).items()
                for msg in [("give at least one value" if not values else None),
                            (None if all(key.split(".")) else
                             "not a key path like link.min_elevation_deg")] if msg]
    if problems:
        raise _fail(problems)
    overlap = set(spec.grid) & set(spec.zip)
    if overlap:
        raise _fail([(_where(name, lines, ("zip",)), "zip",
                      f"{', '.join(sorted(overlap))} is in both grid and zip; keep it in one")])
    lengths = {len(v) for v in spec.zip.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in spec.zip.items())
        raise _fail([(_where(name, lines, ("zip",)), "zip",
                      f"zipped lists must have one length, got {sizes}")])
    base = _base_scenario(spec, name, lines, base_dir)
    grid_rows = list(itertools.product(*spec.grid.values()))
    n_zip = lengths.pop() if lengths else 1
    points = []
    for row in grid_rows:
        for z in range(n_zip):
            params = dict(zip(spec.grid, row)) | {k: v[z] for k, v in spec.zip.items()}
            points.append(_point(len(points), base, params, set(spec.zip), name, lines))
    seeds = (tuple(range(base.seed, base.seed + spec.seeds)) if isinstance(spec.seeds, int)
             else tuple(spec.seeds))
    if max(seeds) >= 2**63:
        raise _fail([(_where(name, lines, ("seeds",)), "seeds", "seeds must be < 2**63")])
    return Sweep(name=spec.name or label, base=base, grid=dict(spec.grid), zip=dict(spec.zip),
                 seeds=seeds, metrics=tuple(spec.metrics or METRICS), points=tuple(points))


def param_label(value: Any) -> Any:
    """A table cell for a parameter value: scalars as they are, others as JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
