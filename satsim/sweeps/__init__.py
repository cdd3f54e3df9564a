"""Parameter sweeps and Monte Carlo replications on dask.distributed.

::

    from satsim.sweeps import sweep
    table = sweep("sweep.yaml", "out/")                   # a local cluster, one worker per core
    table = sweep(spec, "out/", client=Client("tcp://..."))   # an existing cluster

The sweep file and the folder layout: :mod:`satsim.sweeps.spec`,
:mod:`satsim.sweeps.store`; how tasks run: :mod:`satsim.sweeps.engine`.
"""

from .engine import MetricWarning, run_point, sweep
from .spec import METRICS, Sweep, load_sweep, run_key

__all__ = ["METRICS", "MetricWarning", "Sweep", "load_sweep", "run_key", "run_point", "sweep"]
