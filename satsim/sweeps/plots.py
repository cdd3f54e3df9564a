"""Plots of a sweep: each metric against each swept parameter, the mean over
seeds with its 95 % confidence interval as error bars; one line per
combination of the other parameters. Built on :class:`matplotlib.figure.Figure`
(no pyplot state); each PNG is written atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .store import replace_atomically

#: Lines drawn per plot at most (combinations of the other parameters); more
#: are drawn without a legend.
MAX_LEGEND_LINES = 10
_DPI = 110


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _is_numeric(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def plot_metric(agg: pd.DataFrame, metric: str, param: str, others: list[str]) -> Figure | None:
    """``metric`` (mean and CI over seeds) against ``param``, or None without data."""
    mean, ci = agg[f"{metric}.mean"], agg[f"{metric}.ci95"]
    if not np.isfinite(mean.to_numpy(dtype=float)).any():
        return None
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    numeric = _is_numeric(agg[param])
    categories = list(dict.fromkeys(agg[param].tolist()))
    groups = agg.groupby(others, sort=False, dropna=False) if others else [((), agg)]
    n_lines = 0
    for label, g in groups:
        g = g.sort_values(param) if numeric else g
        x = (g[param].to_numpy(dtype=float) if numeric
             else np.array([categories.index(v) for v in g[param]], dtype=float))
        label = label if isinstance(label, tuple) else (label,)
        text = ", ".join(f"{k}={v}" for k, v in zip(others, label)) or None
        ax.errorbar(x, g[f"{metric}.mean"].to_numpy(dtype=float),
                    yerr=np.nan_to_num(g[f"{metric}.ci95"].to_numpy(dtype=float)),
                    marker="o", capsize=3, label=text)
        n_lines += 1
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories],
                      rotation=20 if max(len(str(c)) for c in categories) > 8 else 0)
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    has_ci = np.isfinite(ci.to_numpy(dtype=float)).any()
    ax.set_title(f"{metric} vs {param}" + (" (mean, 95% CI over seeds)" if has_ci
                                            else " (mean over seeds)"), fontsize=10)
    ax.grid(True, alpha=0.3)
    if others and 1 < n_lines <= MAX_LEGEND_LINES:
        ax.legend(fontsize=8)
    return fig


def write_plots(agg: pd.DataFrame, metrics, params: list[str], out: Path) -> list[Path]:
    """Every metric against every swept parameter into ``out/plots``, each PNG
    replaced atomically; PNGs of an earlier build that this one lacks are removed."""
    folder = Path(out) / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for param in params:
        others = [p for p in params if p != param]
        for metric in metrics:
            fig = plot_metric(agg, metric, param, others)
            if fig is not None:
                path = folder / f"{_safe(metric)}__vs__{_safe(param)}.png"
                replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=_DPI))
                made.append(path)
    for stale in set(folder.glob("*.png")) - set(made):
        stale.unlink(missing_ok=True)
    return made
