"""Service scheduler (issue "Service scheduler"): SMS, voice and data over coverage gaps.

Not built yet.
"""
