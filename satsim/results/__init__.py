"""Results of a run: the folder layout, writing it atomically, reading it back,
plots and the HTML report."""

from .folder import TABLES, Results
from .plots import make_plots
from .report import render_report, write_report

__all__ = ["TABLES", "Results", "make_plots", "render_report", "write_report"]
