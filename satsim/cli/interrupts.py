"""Ctrl-C, SIGTERM and SIGHUP that stop a run only where stopping is safe.

Python raises ``KeyboardInterrupt`` at the next bytecode of the main thread,
wherever that is. During a run that can be inside numba's just-in-time
compiler, which calls back into Python from LLVM through ctypes: an exception
raised in such a callback is printed as "Exception ignored" and swallowed (the
run then carried on to the end, exit 0, as if nobody had pressed Ctrl-C), and
one raised half-way through an LLVM module leaves the process in a state that
crashed later with a segmentation fault (seen in CI, exit -11 instead of 130).

:class:`SafeStop` installs handlers that raise at once when the interrupted
frame is the project's or a library's ordinary Python code, and otherwise (any
frame of ``numba`` or ``llvmlite`` on the stack) remember the signal and look
again every :data:`RECHECK_S` seconds with a SIGALRM timer until the compiler
has returned; compiled kernels themselves run without Python frames, so the
signal is raised as soon as the kernel in flight returns. After the first
signal has been raised, further ones are ignored until the block exits, so the
clean-up of a half-written results folder cannot itself be interrupted.
"""

from __future__ import annotations

import signal
import sys
import threading

#: Seconds between looks at the stack while a signal waits for the compiler.
RECHECK_S = 0.05

#: Module prefixes inside which an exception must not be raised asynchronously.
UNSAFE_MODULES = ("numba", "llvmlite")

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP")


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C (a KeyboardInterrupt) but with
    its own exit code, 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def in_unsafe_code(frame) -> bool:
    """True when ``frame`` or any frame below it on the stack belongs to one of
    :data:`UNSAFE_MODULES` (or a submodule)."""
    while frame is not None:
        name = frame.f_globals.get("__name__", "") or ""
        if name.split(".", 1)[0] in UNSAFE_MODULES:
            return True
        frame = frame.f_back
    return False


class SafeStop:
    """While active (main thread only; elsewhere it does nothing): SIGINT raises
    ``KeyboardInterrupt``, SIGTERM and SIGHUP raise :class:`Stopped`, each at
    the first safe point (see the module docstring); ``notice`` is printed to
    stderr once when a signal has to wait. Restores the previous handlers and
    disarms its timer on exit."""

    def __init__(self, notice: str | None = "satsim: stopping as soon as numba's compiler "
                 "returns (up to ~30 s on a first run)"):
        self.old: dict = {}
        self.pending: int | None = None
        self.raised = False
        self.notice = notice

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in _NAMES:
            if hasattr(signal, name):
                sig = getattr(signal, name)
                self.old[sig] = signal.signal(sig, self._on_signal)
        if hasattr(signal, "SIGALRM"):
            self.old[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_alarm)
        return self

    def __exit__(self, *exc):
        if hasattr(signal, "setitimer") and signal.SIGALRM in self.old:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        self.old = {}

    def _on_signal(self, signum, frame):
        if self.raised:
            return
        if self.pending is None:
            self.pending = signum
        self._raise_if_safe(frame)

    def _on_alarm(self, signum, frame):
        if self.pending is not None and not self.raised:
            self._raise_if_safe(frame)

    def _raise_if_safe(self, frame):
        if in_unsafe_code(frame) and hasattr(signal, "setitimer"):
            if self.notice:
                print(self.notice, file=sys.stderr, flush=True)
                self.notice = None
            signal.setitimer(signal.ITIMER_REAL, RECHECK_S)
            return
        signum, self.pending, self.raised = self.pending, None, True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)
