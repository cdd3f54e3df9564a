"""Shared test fixtures.

Real TLE snapshots live outside the repository (the project may not ship
them): in ``../shared/data/tle/`` beside the checkout, or wherever the
``SATSIM_TLE_DATA`` environment variable points. Tests that need them skip
with a clear reason when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests draw the same examples on every run (reproducible CI, no flaky seeds);
# run with HYPOTHESIS_PROFILE=explore to search afresh.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_tle_dir() -> Path:
    env = os.environ.get("SATSIM_TLE_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "tle"


SHARED_TLE_DIR = _shared_tle_dir()


@pytest.fixture(scope="session")
def shared_tle_dir() -> Path:
    """Folder of the real, dated CelesTrak TLE snapshots (skips if absent)."""
    if not (SHARED_TLE_DIR / "starlink_dtc_2025-300.tle").is_file():
        pytest.skip(
            f"real TLE snapshots not found in {SHARED_TLE_DIR}; set SATSIM_TLE_DATA "
            "to the folder holding starlink_dtc_2025-300.tle to run this test"
        )
    return SHARED_TLE_DIR
