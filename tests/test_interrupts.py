"""Ctrl-C / SIGTERM during a run stop it at a safe point and are never lost.

The failure this guards against (seen in CI and reproduced with a cold numba
cache): a Ctrl-C that landed in numba's compiler was raised inside llvmlite's
ctypes callback, printed as "Exception ignored" and swallowed, so the run went
on to exit 0; or it broke LLVM's state and the process died with SIGSEGV.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

import pytest

from satsim.cli.interrupts import SafeStop, Stopped, in_unsafe_code

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"),
                                reason="needs POSIX signals and setitimer")


def _in_module(module_name: str, source: str, name: str):
    """A function compiled as if it were defined in ``module_name``."""
    namespace = {"__name__": module_name, "os": os, "signal": signal, "time": time}
    exec(compile(source, f"<{module_name}>", "exec"), namespace)
    return namespace[name]


_SIGNAL_THEN_WORK = """
def work(signum, seconds, done):
    os.kill(os.getpid(), signum)
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:   # bytecodes run: the handler is called in here
        pass
    done.append(time.monotonic())
    return 0
"""


def _wait_for_signal(seconds=3.0):
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        time.sleep(0.01)


def test_the_stack_check_names_the_compiler_modules():
    frame_of = _in_module("llvmlite.binding._probe", "import sys\ndef f():\n    return sys._getframe()\n", "f")
    assert in_unsafe_code(frame_of())
    nested = _in_module("numba.core._probe", "def g(h):\n    return h()\n", "g")
    assert in_unsafe_code(nested(lambda: __import__("sys")._getframe()))
    assert not in_unsafe_code(__import__("sys")._getframe())


def test_ctrl_c_in_a_compiler_callback_is_raised_after_it_returns():
    """The real failure: the signal arrives inside a ctypes callback of llvmlite."""
    work = _in_module("llvmlite.binding._probe", _SIGNAL_THEN_WORK, "work")
    done: list[float] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int)
    callback = callback_type(lambda: work(signal.SIGINT, 0.3, done))
    with pytest.raises(KeyboardInterrupt) as caught:
        with SafeStop():
            callback()   # called from C, as LLVM calls llvmlite
            assert done, "the callback was cut short"
            _wait_for_signal()
    assert not isinstance(caught.value, Stopped)
    assert len(done) == 1


def test_ctrl_c_in_compiler_code_waits_for_it_then_comes_promptly():
    work = _in_module("numba.core._probe", _SIGNAL_THEN_WORK, "work")
    done: list[float] = []
    with pytest.raises(KeyboardInterrupt):
        with SafeStop():
            work(signal.SIGINT, 0.3, done)
            _wait_for_signal()
    raised_at = time.monotonic()
    assert done and raised_at - done[0] < 0.5, "raised too late after the compiler returned"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_terminate_and_hangup_raise_stopped_with_their_number(signum):
    with pytest.raises(Stopped) as caught:
        with SafeStop():
            os.kill(os.getpid(), signum)
            _wait_for_signal()
    assert caught.value.signum == signum


def test_ctrl_c_in_ordinary_code_is_immediate():
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with SafeStop():
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for_signal()
    assert time.monotonic() - t0 < 0.5


def test_a_second_signal_during_clean_up_is_ignored_and_handlers_are_restored():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    cleaned = False
    with SafeStop():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for_signal()
        except KeyboardInterrupt:
            os.kill(os.getpid(), signal.SIGINT)    # impatient second Ctrl-C
            os.kill(os.getpid(), signal.SIGTERM)
            _wait_for_signal(0.2)
            cleaned = True
    assert cleaned
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
