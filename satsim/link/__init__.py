"""Link layer (issue "Link-budget core"): beams, antenna patterns, losses, SNR/SINR.

Not built yet; the orbit layer's :class:`satsim.orbits.VisibleLinks` is its input.
"""
