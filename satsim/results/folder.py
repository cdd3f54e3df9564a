"""The results folder: the contract researchers and scripts rely on.

A results folder holds::

    summary.json        headline metrics (same scenario + seed: identical bytes)
    metadata.json       versions, seed, model editions, input hash, timings
    scenario.yaml       the resolved scenario, every default filled in
    tables/*.parquet    handsets, timeseries, gaps, samples, handovers,
                        sms, calls, sessions, beams (those the run produced)
    plots/*.png         coverage map, CDFs, time series
    report.html         one self-contained page with the summary and plots

It is written atomically: everything goes to a hidden sibling folder that
is renamed into place only when complete, so a failed or interrupted run
leaves no partial folder and never touches an earlier run's folder
(``overwrite=True`` swaps the old folder out only after the new one is
complete).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .destination import Destination

#: Tables a run may write, in report order.
TABLES = ("handsets", "timeseries", "gaps", "samples", "handovers", "sms", "calls", "app_calls",
          "sessions", "beams")

#: Packages whose versions go into metadata.json.
PACKAGES = ("satsim", "numpy", "scipy", "sgp4", "skyfield", "numba", "simpy", "pandas",
            "pyarrow", "pydantic", "PyYAML", "matplotlib")


def _clean(x):
    """JSON-safe copy: NaN / inf become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps(obj) -> str:
    """The JSON text satsim writes (2-space indent, no NaN)."""
    return json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def input_hash(scenario) -> str:
    """SHA-256 of the resolved scenario (and of the constellation file's bytes)."""
    h = hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode())
    f = scenario.constellation.file
    if f is not None:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def metadata_for(scenario, timings_s: dict) -> dict:
    """metadata.json of a run: versions, seed, model editions, input hash, timings."""
    from ..scenario.model import MODEL_EDITIONS

    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "input_sha256": input_hash(scenario),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {p: _version(p) for p in PACKAGES} | {"python": platform.python_version()},
        "platform": platform.platform(),
        "model_editions": dict(MODEL_EDITIONS),
        "max_epoch_age_days": _epoch_age_limit(scenario),
        "timings_s": {k: round(v, 3) for k, v in timings_s.items()},
    }


def _epoch_age_limit(scenario):
    """The scenario's limit on |run time - element epoch| (days) that warns."""
    from ..orbits.propagation import DEFAULT_MAX_EPOCH_AGE_DAYS

    return getattr(scenario.constellation, "max_epoch_age_days", DEFAULT_MAX_EPOCH_AGE_DAYS)


@dataclass(eq=False)
class Results:
    """What :func:`satsim.run` returns and :meth:`load` reads back.

    Attributes
    ----------
    summary : dict
        The content of summary.json (README, "Results folder").
    tables : mapping of str -> pandas.DataFrame
        See :data:`TABLES`; also reachable as attributes (``results.sms``). A
        dict, or with ``run.spool`` a :class:`~satsim.results.table_spool.
        SpooledTables` that reads the gaps and handovers from files when asked.
    scenario_yaml : str
        The resolved scenario.
    metadata : dict
        The content of metadata.json.
    timings_s : dict
        Wall time per stage, seconds: "build", "link" (the chunked stage as a
        whole) and its parts "propagation", "geometry", "link_kernel" (losses,
        beams, SINR, handover), then "scheduler" and "total".
    path : Path or None
        Where the folder was written or loaded from.
    """

    summary: dict
    tables: dict
    scenario_yaml: str
    metadata: dict
    timings_s: dict = field(default_factory=dict)
    path: Path | None = None

    def __getattr__(self, name):
        if name in TABLES:
            return self.tables.get(name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        cov = self.summary.get("coverage") or {}
        a = cov.get("availability")
        return (f"Results({self.summary.get('scenario')!r}, seed {self.summary.get('seed')}, "
                f"availability {a:.3f}, tables: {', '.join(self.tables)})" if a is not None
                else f"Results({self.summary.get('scenario')!r}, tables: {', '.join(self.tables)})")

    @property
    def scenario(self):
        """The resolved scenario as a :class:`~satsim.scenario.Scenario`."""
        import yaml

        from ..scenario.loader import validate

        return validate(yaml.safe_load(self.scenario_yaml), source="scenario.yaml")

    @staticmethod
    def check_destination(out, overwrite: bool = False) -> Path:
        """Refuse a destination that cannot be used (see
        :class:`~satsim.results.destination.Destination`); its normalised path."""
        return Destination(out, overwrite).check()

    def write(self, out, *, overwrite: bool = False, plots: bool = True) -> Path:
        """Write the results folder atomically (module docstring) and return its path.

        ``out`` is a path or a :class:`~satsim.results.destination.Destination`
        already claimed (the CLI claims it before the simulation)."""
        dest = out if isinstance(out, Destination) else Destination(out, overwrite)
        self.path = dest.write(lambda folder: self._write_into(folder, plots))
        if hasattr(self.tables, "reading_from"):  # spooled: read from the folder now
            self.tables = self.tables.reading_from(self.path / "tables")
        return self.path

    def _write_into(self, folder: Path, plots: bool) -> None:
        (folder / "summary.json").write_text(dumps(self.summary), encoding="utf-8")
        (folder / "metadata.json").write_text(dumps(self.metadata), encoding="utf-8")
        (folder / "scenario.yaml").write_text(self.scenario_yaml, encoding="utf-8")
        tdir = folder / "tables"
        tdir.mkdir()
        for name in TABLES:
            path = self.tables.path_of(name) if hasattr(self.tables, "path_of") else None
            if path is not None:  # spooled (satsim.results.table_spool): the file as it is
                shutil.copyfile(path, tdir / f"{name}.parquet")
                continue
            t = self.tables.get(name)
            if t is not None:
                t.to_parquet(tdir / f"{name}.parquet", index=False)
        if plots:
            self.write_plots(folder)

    def write_plots(self, folder, removed: list | None = None) -> dict:
        """PNG plots into ``folder/plots`` and ``folder/report.html``; the names of
        plots without data whose old PNG was removed go into ``removed``."""
        from .plots import make_plots
        from .report import write_report

        folder = Path(folder)
        made = make_plots(self.summary, self.tables, folder / "plots", removed=removed)
        write_report(self.summary, self.metadata, made, folder / "report.html",
                     scenario_yaml=self.scenario_yaml)
        return made

    @classmethod
    def load(cls, folder) -> Results:
        """Read a results folder written by :meth:`write`."""
        folder = Path(folder)
        if not (folder / "summary.json").is_file():
            raise InputError(f"{folder} is not a satsim results folder (no summary.json); "
                             "give the folder `satsim run --out` wrote")
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
            scenario_text = (folder / "scenario.yaml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{folder}: damaged results folder ({exc}); run the scenario "
                             "again") from None
        if not (isinstance(summary, dict) and isinstance(summary.get("run"), dict)
                and "scenario" in summary):
            raise InputError(f"{folder / 'summary.json'}: not a satsim summary (expected a "
                             "mapping with 'scenario' and 'run'); the folder is damaged or "
                             "not a results folder: run the scenario again")
        if not isinstance(metadata, dict):
            raise InputError(f"{folder / 'metadata.json'}: not a satsim metadata mapping; "
                             "run the scenario again")
        tables = {p.stem: pd.read_parquet(p) for name in TABLES
                  for p in [folder / "tables" / f"{name}.parquet"] if p.is_file()}
        return cls(summary=summary, tables=tables, scenario_yaml=scenario_text,
                   metadata=metadata, timings_s=metadata.get("timings_s", {}), path=folder)
