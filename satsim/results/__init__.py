"""Results of a run: the folder layout, writing it atomically, reading it back,
plots and the HTML report."""

from .folder import TABLES, Results

__all__ = ["TABLES", "Results"]
