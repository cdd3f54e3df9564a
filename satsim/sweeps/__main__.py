"""``python -m satsim.sweeps SWEEP.yaml --out DIR`` (same as ``satsim sweep``)."""

from ..cli.sweep import sweep_command

sweep_command(prog_name="satsim sweep")
