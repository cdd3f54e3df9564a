"""The sweep folder: one JSON file per finished point and seed, and the tables
rebuilt from them.

::

    sweep.yaml          the resolved sweep (base scenario in full, seeds listed)
    points/<key>.json   one per (point, seed), written atomically as each finishes;
                        key = satsim.sweeps.spec.run_key (SHA-256 of the resolved
                        scenario with the seed)
    table.parquet       one row per point and seed: point, key, seed, each swept
                        parameter, each metric, status, error, wall_time_s,
                        cpu_time_s
    aggregate.parquet   one row per point: each parameter, n_ok, n_failed and,
                        per metric, <metric>.mean / .std / .n / .ci95 across seeds
    plots/*.png         each metric against each swept parameter

A point's file records ``status`` "ok" (with the run's whole summary, so the
table can be rebuilt with other metrics without running again) or "failed"
(with the error's type, message and traceback). Rows of points not run yet
have status "pending".
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_write_text
from ..results.folder import dumps
from .spec import PointRun, Sweep, param_label

#: Confidence level of the aggregate's ``.ci95`` columns.
CONFIDENCE = 0.95


def replace_atomically(path: Path, write) -> None:
    """``write(tmp)`` to a temporary sibling of ``path``, then rename it over ``path``
    (a reader sees the old file or the new one, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def point_path(out: Path, key: str) -> Path:
    return Path(out) / "points" / f"{key}.json"


def write_point(out: Path, run: PointRun, record: dict) -> None:
    """Write one finished (point, seed) as ``points/<key>.json``, atomically."""
    doc = {"key": run.key, "point": run.point.index, "seed": run.seed,
           "params": run.point.params} | record
    atomic_write_text(point_path(out, run.key), dumps(doc))


def read_point(out: Path, key: str) -> dict | None:
    """A point's record, or None when it has not finished (or its file is damaged)."""
    try:
        return json.loads(point_path(out, key).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def is_done(out: Path, key: str) -> bool:
    """True when the point's file exists with status "ok" (failed points are retried)."""
    rec = read_point(out, key)
    return rec is not None and rec.get("status") == "ok"


def metric_value(summary: dict | None, path: str) -> float:
    """The number at a dotted key path of a summary; NaN when absent or null."""
    node = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return math.nan
        node = node[part]
    if isinstance(node, numbers.Real):
        return float(node)
    return math.nan


def metric_found(summaries: list[dict], path: str) -> bool:
    """True unless no summary has ``path`` although some has its parent section."""
    parent, _, _ = path.rpartition(".")
    has_parent = False
    for s in summaries:
        node = s
        for part in parent.split(".") if parent else []:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            has_parent = True
            if path.rpartition(".")[2] in node:
                return True
    return not has_parent


def build_table(sweep: Sweep, out: Path) -> pd.DataFrame:
    """One row per (point, seed) of ``sweep``, read from ``out/points``."""
    rows = []
    for run in sweep.runs():
        rec = read_point(out, run.key) or {}
        summary = rec.get("summary")
        error = rec.get("error")
        row = {"point": run.point.index, "key": run.key, "seed": run.seed}
        row |= {p: param_label(v) for p, v in run.point.params.items()}
        row |= {m: metric_value(summary, m) for m in sweep.metrics}
        row |= {"status": rec.get("status", "pending"),
                "error": f"{error['type']}: {error['message']}" if error else None,
                "wall_time_s": rec.get("wall_time_s", math.nan),
                "cpu_time_s": rec.get("cpu_time_s", math.nan)}
        rows.append(row)
    table = pd.DataFrame(rows, columns=["point", "key", "seed", *sweep.parameters,
                                        *sweep.metrics, "status", "error", "wall_time_s",
                                        "cpu_time_s"])
    for m in (*sweep.metrics, "wall_time_s", "cpu_time_s"):
        table[m] = table[m].astype(np.float64)
    table["error"] = table["error"].astype(object)
    return uniform_params(table, sweep.parameters)


def uniform_params(df: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Parameter columns of mixed types (``[3, "cover"]``) as text, so Parquet takes them."""
    for p in params:
        kinds = {type(v) for v in df[p] if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            df[p] = [None if v is None else str(v) for v in df[p]]
    return df


def ci_half_width(std: float, n: int, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t confidence interval of a mean of ``n`` samples."""
    if n < 2 or not math.isfinite(std):
        return math.nan
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n))


def aggregate(sweep: Sweep, table: pd.DataFrame) -> pd.DataFrame:
    """Per point: mean, standard deviation (ddof 1), count and 95 % CI half-width
    of each metric over the seeds that finished ok."""
    rows = []
    for point in sweep.points:
        mine = table[table["point"] == point.index]
        ok = mine[mine["status"] == "ok"]
        row = {"point": point.index}
        row |= {p: param_label(v) for p, v in point.params.items()}
        row |= {"n_ok": int(len(ok)), "n_failed": int((mine["status"] == "failed").sum())}
        for m in sweep.metrics:
            v = ok[m].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            n = int(v.size)
            std = float(np.std(v, ddof=1)) if n > 1 else math.nan
            row |= {f"{m}.mean": float(v.mean()) if n else math.nan, f"{m}.std": std,
                    f"{m}.n": n, f"{m}.ci95": ci_half_width(std, n)}
        rows.append(row)
    return uniform_params(pd.DataFrame(rows), sweep.parameters)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """``df`` as Parquet at ``path``, atomically."""
    replace_atomically(path, lambda tmp: df.to_parquet(tmp, index=False))
