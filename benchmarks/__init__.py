"""Speed benchmarks of satsim's orbit layer (propagation and handset geometry).

Run ``python -m benchmarks [propagation|geometry|all] [--quick] [--out FILE]``
from the repository root; see ``benchmarks/README.md`` for what each figure
means. This module holds what the benchmarks share: machine information,
timing, peak-memory probes, the figure records and the subprocess runner.

Nothing here asserts on timings: a figure that misses its goal is reported
as such, it does not fail the run. Correctness checks (equal results between
the compared code paths) do: a speed ratio between two computations that
disagree would be meaningless.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

#: The ``benchmarks`` folder and the repository root above it.
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
#: Default folder of the JSON results (git-ignored).
RESULTS_DIR = BENCH_DIR / "results"


# -- figures -------------------------------------------------------------------
@dataclass
class Figure:
    """One measured number, with an optional goal.

    ``goal`` is ``(op, bound)`` with ``op`` one of ``"<="`` / ``">="``; ``ok``
    is filled in from it (None when there is no goal).
    """

    key: str
    label: str
    value: float
    unit: str = ""
    goal: tuple[str, float] | None = None
    note: str = ""
    ok: bool | None = None

    def __post_init__(self):
        if self.goal is not None:
            op, bound = self.goal
            if op == "<=":
                self.ok = bool(self.value <= bound)
            elif op == ">=":
                self.ok = bool(self.value >= bound)
            else:  # pragma: no cover - programming error
                raise ValueError(f"unknown goal operator {op!r}")

    def goal_text(self) -> str:
        return "" if self.goal is None else f"{self.goal[0]} {self.goal[1]:g}"


@dataclass
class Check:
    """A correctness check done inside a benchmark.

    A failed ``fatal`` check (a wrong result) fails the run; a failed
    non-fatal one is a warning about the measurement itself (e.g. satsim's
    source changed while the benchmark ran), shown but not an error.
    """

    name: str
    ok: bool
    detail: str = ""
    fatal: bool = True


@dataclass
class Section:
    """The result of one benchmark: its configuration, figures and checks."""

    name: str
    config: dict = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    wall_s: float = 0.0
    #: The section's headline figures for the summary table: keys of
    #: ``figures`` under "time", "memory", "throughput", "ratio".
    headline: dict = field(default_factory=dict)
    #: Why the section did not run (e.g. an API it needs is missing), or "".
    skipped: str = ""
    #: Speed limits applied to its figures (filled in by :mod:`benchmarks.limits`).
    limits: list = field(default_factory=list)

    def add(self, *args, **kwargs) -> Figure:
        fig = Figure(*args, **kwargs)
        self.figures.append(fig)
        return fig

    def check(self, name: str, ok: bool, detail: str = "", fatal: bool = True) -> Check:
        c = Check(name, bool(ok), detail, fatal)
        self.checks.append(c)
        return c

    def figure(self, key: str) -> Figure | None:
        """The figure named ``key``, or None."""
        return next((f for f in self.figures if f.key == key), None)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "wall_s": self.wall_s,
            "skipped": self.skipped,
            "headline": self.headline,
            "config": self.config,
            "figures": [asdict(f) for f in self.figures],
            "checks": [asdict(c) for c in self.checks],
            "limits": [asdict(x) for x in self.limits],
            "raw": self.raw,
        }


# -- timing ----------------------------------------------------------------------
def moving_set2_link(**kw):
    """``LinkConfig`` of moving TR 38.821 Set-2 beams (the default before issue 12),
    the configuration the link, scaling and scheduler sections time and document;
    the default's Earth-fixed cells are timed by the cells and e2e sections.
    ``beam_rings`` and the other keywords as in ``LinkConfig`` / ``BeamSettings``."""
    from satsim.link import LinkConfig
    from satsim.link.config import TR38821_SET2, BeamSettings

    rings = kw.pop("beam_rings", "cover")
    kw.setdefault("payload", TR38821_SET2)
    return LinkConfig(beams=BeamSettings(mode="moving", rings=rings), **kw)


def timed(fn, *args, **kwargs):
    """``(seconds, result)`` of one call, wall clock (``perf_counter``)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def interleaved_best(cases: dict, repeats: int, log=None, keep=None) -> dict[str, list[float]]:
    """Time each case ``repeats`` times, round-robin, discarding results
    unless ``keep(name, result)`` is given (it is called after every timing,
    e.g. to copy the result of a kernel that overwrites its outputs).

    Round-robin (A B C, A B C, ...) instead of (A A A, B B B, ...) so slow
    drifts of a shared machine hit every case alike; the ratios then use the
    best time of each case. Returns the list of samples per case.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(repeats):
        for name, fn in cases.items():
            gc.collect()
            dt, out = timed(fn)
            if keep is not None:
                keep(name, out)
            del out
            samples[name].append(dt)
        if log:
            log(
                f"  repeat {r + 1}/{repeats}: "
                + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in samples.items())
            )
    return samples


def best(samples: list[float]) -> float:
    return min(samples)


def median(samples: list[float]) -> float:
    s = sorted(samples)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


# -- memory ------------------------------------------------------------------------
def _proc_status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mib() -> float:
    """Current resident set size, MiB (``VmRSS``)."""
    kib = _proc_status_kib("VmRSS")
    if kib is None:  # pragma: no cover - non-Linux
        return float("nan")
    return kib / 1024.0


def peak_rss_mib() -> float:
    """Peak resident set size, MiB: ``VmHWM`` (resettable), else ``ru_maxrss``."""
    kib = _proc_status_kib("VmHWM")
    if kib is None:  # pragma: no cover - non-Linux
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0


def cpu_s() -> float:
    """CPU time (user + sys) of this process so far, all threads, seconds."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def peak_added(fn, cpu: dict | None = None):
    """``(seconds, result, MiB)``: one call of ``fn()`` in this process, and
    the peak RSS it added on top of the RSS before it (``VmHWM`` reset first;
    NaN MiB when the mark cannot be reset). If ``cpu`` is a dict, its
    ``"cpu_s"`` is set to the call's CPU time (user + sys, all threads)."""
    gc.collect()
    ok = reset_peak_rss()
    base = rss_mib()
    c0 = cpu_s()
    dt, out = timed(fn)
    if cpu is not None:
        cpu["cpu_s"] = cpu_s() - c0
    return dt, out, (peak_rss_mib() - base) if ok else float("nan")


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0, ``clear_refs`` 5).

    Returns False when that is not possible; the peak then also covers what
    happened before (set-up, warm-up), which the caller must say.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# -- machine -------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def _git_head() -> dict:
    """Commit and whether satsim/ differs from it (read-only git calls)."""
    out = {}
    try:
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
            timeout=10,
        ).stdout.strip() or None
        changed = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "satsim"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.split("\n")
        out["satsim_uncommitted_changes"] = sorted(
            line[3:] for line in changed if line.strip()
        )
    except Exception:  # pragma: no cover - git missing
        pass
    return out


def machine_info() -> dict:
    """CPU, core count, library versions and the date, for the JSON header."""
    import numba
    import sgp4.api

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        affinity = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = None
    now = datetime.now(timezone.utc)
    return {
        "date_utc": now.isoformat(timespec="seconds"),
        "date_local": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "mem_total_gib": _mem_total_gib(),
        "load_average_at_start": load,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "sgp4": _version("sgp4"),
        "sgp4_accelerated": bool(sgp4.api.accelerated),
        "skyfield": _version("skyfield"),
        "satsim": _version("satsim"),
        "git": _git_head(),
    }


# -- subprocess workers ---------------------------------------------------------------
def worker_main(jobs: dict, argv=None) -> None:
    """Entry point of a worker module: ``python -m MODULE '{"kind": ..., ...}'``.

    Runs ``jobs[spec["kind"]](spec)`` and prints one ``RESULT {json}`` line,
    which :func:`run_worker` reads.
    """
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    result = jobs[spec["kind"]](spec)
    result["kind"] = spec["kind"]
    print("RESULT " + json.dumps(result, default=float), flush=True)


def run_worker(spec: dict, *, env_extra: dict | None = None, timeout: float = 900.0,
               module: str = "benchmarks._worker") -> dict:
    """Run one job of :mod:`benchmarks._worker` in a fresh interpreter.

    A fresh process per configuration makes its peak RSS its own. The worker
    prints one ``RESULT {json}`` line; its other output is dropped unless it
    fails, in which case the error names the job and shows its stderr tail.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    if env_extra:
        env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-m", module, json.dumps(spec)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    if proc.returncode != 0 or result is None:
        tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
        raise RuntimeError(
            f"benchmark worker {spec.get('kind')!r} failed (exit code {proc.returncode}):\n{tail}"
        )
    return result


#: A ``--quick`` run leaves each section's compile-time jobs to the ``jit``
#: section, which compiles every kernel of the pipeline once (CI's time budget).
QUICK_JIT_NOTE = "quick run: numba compile and cache-load times are in the jit section"


def jit_jobs(spec: dict, quick: bool) -> tuple[dict, dict] | None:
    """``(cold, warm)``: the job ``spec`` in a fresh process with an empty
    temporary ``NUMBA_CACHE_DIR`` (compiles), then with satsim's own cache
    (loads). None in a quick run (see :data:`QUICK_JIT_NOTE`)."""
    if quick:
        return None
    with tempfile.TemporaryDirectory(prefix="satsim-bench-numba-") as cache:
        cold = run_worker(spec, env_extra={"NUMBA_CACHE_DIR": cache})
    return cold, run_worker(spec)
