"""``python -m satsim.cli`` runs the command line, as ``satsim`` and ``python -m satsim`` do."""

from . import main

main()
