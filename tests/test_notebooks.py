"""Every notebook in ``notebooks/`` runs top to bottom without an error or a warning.

The notebooks are jupytext percent-format ``.py`` files (small diffs, no
outputs in git). Each is read with jupytext and executed by nbclient in a
fresh ``python3`` kernel (ipykernel), with a temporary folder as its working
directory so nothing is written into the repository. A cell that raises
fails the test with the cell's traceback; so does any output on stderr, which
is where a kernel prints warnings (they never reach pytest's own
``filterwarnings = error``). Notebooks check their own results with
``assert`` (e.g. the TR 38.821 reproduction in ``02_link_budget``).

The real-snapshot parts of a notebook read ``$SATSIM_TLE_DATA`` (set here to
the folder the rest of the suite uses, ``tests/conftest.py``) and print a note
and skip that part when the snapshot is absent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jupytext
import nbclient
import pytest

from conftest import REPO_ROOT, SHARED_TLE_DIR

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
#: Longest a single cell may run before the test fails, s.
CELL_TIMEOUT_S = 600


def test_notebooks_are_found():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"], NOTEBOOKS


def _stderr_of(nb) -> list[str]:
    """Text the notebook's cells wrote to stderr (warnings land there)."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                found.append(f"cell {i}: {out['text'].strip()}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    if "SATSIM_TLE_DATA" not in os.environ and SHARED_TLE_DIR.is_dir():
        monkeypatch.setenv("SATSIM_TLE_DATA", str(SHARED_TLE_DIR))

    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback
    elapsed = time.perf_counter() - start
    stderr = _stderr_of(nb)
    assert not stderr, f"{path.name} wrote to stderr:\n" + "\n".join(stderr)
    print(f"{path.name}: {elapsed:.1f} s")
    assert list(tmp_path.iterdir()) == [], "notebooks should not write files"
