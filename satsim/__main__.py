"""``python -m satsim`` runs the command line, as the ``satsim`` script does."""

from .cli import main

main()
