"""Progress of a sweep on stderr: points done / running / failed and the ETA.

A live rich display on a terminal; one plain line per finished point
otherwise (logs, CI); nothing when disabled.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Reporter:
    """Prints the sweep's progress (module docstring)."""

    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.live = None
        self.done = self.failed = self.ran = 0
        self.total = self.skipped = 0
        self.t0 = time.perf_counter()

    def start(self, sweep, *, total: int, skipped: int, where: str) -> None:
        self.total, self.skipped, self.done = total, skipped, skipped
        self.t0 = time.perf_counter()
        if not self.enabled:
            return
        n_points = len(sweep.points)
        self.console.print(
            f"sweep '{sweep.name}': {n_points} point{'s' * (n_points != 1)} x "
            f"{len(sweep.seeds)} seed{'s' * (len(sweep.seeds) != 1)} = {total} runs; "
            f"{skipped} already done; running {where}", highlight=False, soft_wrap=True)
        if self.console.is_terminal:
            self.live = Progress(
                TextColumn("[bold]points"), BarColumn(), MofNCompleteColumn(),
                TextColumn("running {task.fields[running]}"),
                TextColumn("[red]failed {task.fields[failed]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=self.console, transient=False)
            self.live.start()
            self.task = self.live.add_task("sweep", total=total, completed=skipped,
                                           running=min(total - skipped, 1), failed=0)

    def advance(self, run, record: dict, *, running: int) -> None:
        self.done += 1
        self.ran += 1
        self.failed += record["status"] == "failed"
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(self.task, completed=self.done, running=running,
                             failed=self.failed)
            return
        elapsed = time.perf_counter() - self.t0
        left = self.total - self.done
        eta = _clock(elapsed / self.ran * left) if left else "0:00:00"
        status = record["status"]
        if status == "failed":
            status += f" ({record['error']['type']}: {record['error']['message']})"
        self.console.print(
            f"[{self.done}/{self.total}] point {run.point.index} seed {run.seed}: {status}; "
            f"running {running}, failed {self.failed}, ETA {eta}",
            highlight=False, markup=False, soft_wrap=True)

    def stop(self, interrupted: bool = False) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if not self.enabled:
            return
        ok = self.done - self.failed - self.skipped
        head = "interrupted" if interrupted else "done"
        self.console.print(
            f"{head}: {self.done} of {self.total} runs finished ({self.skipped} skipped as "
            f"done before, {ok} ok, {self.failed} failed) in "
            f"{_clock(time.perf_counter() - self.t0)}", highlight=False)
        sys.stderr.flush()
