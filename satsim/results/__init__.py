"""Results of a run: the folder layout, writing it atomically, reading it back,
plots and the HTML report; the summary and its running statistics are in
:mod:`satsim.results.summary` (imported by the runner, not here: it needs the
link layer, which ``satsim plot`` does not)."""

from .folder import TABLES, Results
from .plots import make_plots
from .report import render_report, write_report

__all__ = ["TABLES", "Results", "make_plots", "render_report", "write_report"]
