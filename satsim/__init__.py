"""satsim: a simulator of satellite direct-to-cell service."""
