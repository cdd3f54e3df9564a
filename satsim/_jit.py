"""The one place where satsim's numba options are set.

Every kernel is compiled with ``cache=True`` (a second process loads the
machine code from ``__pycache__`` instead of recompiling), and
``error_model="numpy"`` (division by zero gives inf/nan as in numpy instead of
raising, which also lets numba vectorise loops). ``fastmath`` stays off:
results must match the numpy reference implementations to round-off. One
exception, on that function alone: ``link._cell_kernels.pattern_sum`` may
reassociate its sum (and fuse multiply-adds), so the sum over beams runs in
SIMD lanes; it changes the sums at round-off level only.
"""

from __future__ import annotations

import numba

_OPTIONS = dict(cache=True, error_model="numpy", nogil=True)


def njit(*args, **kwargs):
    """``numba.njit`` with satsim's fixed options (see module docstring)."""
    options = {**_OPTIONS, **kwargs}
    if args and callable(args[0]):
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)
