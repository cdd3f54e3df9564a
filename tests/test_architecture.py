"""The import contract of satsim's layers, checked on the source with ``ast``.

Rules (docs/design.md, "Rooms and layers"):

1. **Layers import only downward**: orbits -> link -> scheduler -> scenario
   -> results -> runner / distributed -> sweeps -> cli. A module may import
   its own layer and the layers below it, never one above. Package-level
   helper modules (:data:`HELPERS`: ``satsim/errors.py``, ``_jit.py``, ...) may
   be imported from anywhere and import only each other; ``__version__``
   comes from the package root; ``__main__`` modules are entry points, at the
   top with the cli. Lazy imports inside functions count too.
2. **Kernels are float-only**: kernel modules (``*/_kernels.py``, and
   ``*/_<what>_kernels.py``) import only math, numpy, numba, ``satsim._jit``
   and other kernel modules (which keep the same rule, so a kernel stays
   float-only however kernels compose).
3. **No private names across packages**: no module imports a name starting
   with ``_``, or a module whose path has a part starting with ``_``, from
   another subpackage (a top-level module such as ``runner.py`` is its own
   unit), nor reads such an attribute off a module it imported from one.
   The private helper modules in :data:`HELPERS` are package-level and fine.

Every top-level module and subpackage must be classified here, so a new one
is a decision, not an accident.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import satsim

SATSIM_DIR = Path(satsim.__file__).parent

#: Layer rank of each subpackage / top-level module: imports go to the same rank or lower.
LAYERS = {
    "orbits": 0,
    "link": 1,
    "scheduler": 2,
    "scenario": 3,   # the schema composes the link and scheduler settings
    "results": 4,    # metadata and Results.scenario read the scenario schema
    "runner": 5,
    "distributed": 5,
    "sweeps": 6,
    "cli": 7,
}
#: Rank of the entry points: ``satsim/__init__.py`` (the front door) and ``__main__`` modules.
TOP = max(LAYERS.values()) + 1

#: Package-level helper modules (``satsim/<name>.py``): importable from any layer.
HELPERS = {"errors", "_jit", "_atomic", "_settings", "constants", "streams"}

#: What a kernel module may import.
KERNEL_IMPORTS = {"__future__", "math", "numpy", "numba", "satsim._jit"}

#: Known violations in modules whose owners have not fixed them yet, as
#: ``(importing module, rule, imported thing): reason``. TODO: each entry is a
#: bug to fix in the importing module (then delete the entry: a stale entry
#: fails ``test_known_violations_still_exist``). Do not add entries to make a
#: new import pass; fix the import.
KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Violation:
    module: str
    rule: str       # "layer", "kernel", "private", "helper", "unclassified"
    target: str
    line: int
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.module, self.rule, self.target)

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: [{self.rule}] {self.target}: {self.detail}"


def module_name(path: Path, root: Path = SATSIM_DIR) -> str:
    """``satsim.link.engine`` for ``<root>/link/engine.py``; packages by their ``__init__``."""
    parts = ("satsim", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """The subpackage or top-level module a module belongs to ("satsim" for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "satsim"


def rank_of(module: str) -> int | None:
    """Layer rank of a satsim module: -1 for helpers, :data:`TOP` for entry points,
    None if unclassified."""
    if module == "satsim" or module.endswith(".__main__"):
        return TOP
    unit = unit_of(module)
    if unit in HELPERS:
        return -1
    return LAYERS.get(unit)


def _is_kernel(module: str) -> bool:
    """A numba kernel module of satsim: ``satsim.<pkg>._kernels`` or ``..._<what>_kernels``."""
    return module.startswith("satsim.") and module.rsplit(".", 1)[-1].endswith("_kernels")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` statement."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str, root: Path) -> bool:
    rel = Path(*name.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def imports_of(module: str, is_package: bool, tree: ast.AST, root: Path = SATSIM_DIR):
    """Every import of a module as ``(target module, imported name or None, line)``;
    ``from pkg import submodule`` gives the submodule as the target."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if target.split(".")[0] == "satsim" and _is_module(sub, root):
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def check_source(module: str, source: str, *, is_package: bool = False,
                 root: Path = SATSIM_DIR) -> list[Violation]:
    """The contract's violations in one module's source."""
    tree = ast.parse(source)
    found = []
    rank = rank_of(module)
    if rank is None:
        found.append(Violation(module, "unclassified", unit_of(module), 1,
                               "a new subpackage or top-level module: add it to LAYERS or "
                               "HELPERS in tests/test_architecture.py"))
        return found
    is_kernel = _is_kernel(module)
    bound = {}  # local name -> module of another unit it was imported as
    for target, name, line in imports_of(module, is_package, tree, root):
        top = target.split(".")[0]
        if is_kernel and not (top in KERNEL_IMPORTS or target in KERNEL_IMPORTS
                              or _is_kernel(target)):
            found.append(Violation(module, "kernel", target, line,
                                   "kernels import only math, numpy, numba and satsim._jit"))
        if top != "satsim":
            continue
        what = target if name is None else f"{target}.{name}"
        if target == "satsim" and name is not None and not _is_private(name) \
                and name.startswith("__"):
            continue  # __version__ from the package root
        t_rank = rank_of(target)
        if rank == -1 and t_rank != -1:
            found.append(Violation(module, "helper", what, line,
                                   "package-level helpers import only other helpers"))
        elif t_rank is not None and t_rank > rank:
            found.append(Violation(module, "layer", what, line,
                                   f"{unit_of(module)} (rank {rank}) imports "
                                   f"{unit_of(target)} (rank {t_rank}), a layer above it"))
        if unit_of(target) != unit_of(module):
            private_part = any(_is_private(p) for p in target.split(".")[1:])
            if private_part and unit_of(target) not in HELPERS:
                found.append(Violation(module, "private", what, line,
                                       "a private module of another package"))
            elif name is not None and _is_private(name):
                found.append(Violation(module, "private", what, line,
                                       "a private name of another package"))
            if name is None and unit_of(target) not in HELPERS:
                bound[target.split(".")[-1]] = target
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name.split(".")[0] == "satsim":
                    bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and _is_private(node.attr)
                and unit_of(bound[node.value.id]) != unit_of(module)):
            found.append(Violation(module, "private", f"{bound[node.value.id]}.{node.attr}",
                                   node.lineno, "a private attribute of another package"))
    return list(dict.fromkeys(found))


def all_violations(root: Path = SATSIM_DIR) -> list[Violation]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        found += check_source(module_name(path, root), path.read_text(encoding="utf-8"),
                              is_package=path.name == "__init__.py", root=root)
    return found


# -- the contract ------------------------------------------------------------------

def test_every_module_keeps_the_import_contract():
    new = [v for v in all_violations() if v.key not in KNOWN_VIOLATIONS]
    assert not new, "import contract broken (docs/design.md, 'Rooms and layers'):\n" + \
        "\n".join(map(str, new))


def test_known_violations_still_exist():
    keys = {v.key for v in all_violations()}
    stale = [k for k in KNOWN_VIOLATIONS if k not in keys]
    assert not stale, f"fixed, so delete these from KNOWN_VIOLATIONS: {stale}"


def test_every_top_level_module_and_subpackage_is_classified():
    units = {p.stem for p in SATSIM_DIR.glob("*.py")} | {
        p.parent.name for p in SATSIM_DIR.glob("*/__init__.py")}
    units -= {"__init__", "__main__"}
    assert not units - LAYERS.keys() - HELPERS, "add them to LAYERS or HELPERS"


# -- the checker itself: it must flag what it is meant to flag --------------------

@pytest.mark.parametrize("module, source, rule", [
    ("satsim.orbits.coverage", "from ..link.engine import HandoverState", "layer"),
    ("satsim.link.engine", "from ..scheduler import CoverageView", "layer"),
    ("satsim.scheduler.model", "import satsim.results.summary", "layer"),
    ("satsim.results.summary", "from ..runner import run", "layer"),
    ("satsim.runner", "def f():\n    from .cli import main", "layer"),
    ("satsim.scenario.build", "from ..sweeps import sweep", "layer"),
    ("satsim.link._kernels", "import pandas", "kernel"),
    ("satsim.link._kernels", "from ..orbits.geometry import visible_links", "kernel"),
    ("satsim.link._cell_kernels", "import scipy.special", "kernel"),
    ("satsim.link._cell_kernels", "from .engine import prepare", "kernel"),
    ("satsim.runner", "from .link._kernels import serve", "private"),
    ("satsim.distributed", "from .link.engine import _Prepared", "private"),
    ("satsim.scheduler.model", "from ..link import _kernels", "private"),
    ("satsim.runner", "from .link import engine\nx = engine._Prepared", "private"),
    ("satsim.errors", "from .orbits import TimeGrid", "helper"),
    ("satsim.newthing", "import numpy", "unclassified"),
])
def test_the_checker_flags_a_bad_import(module, source, rule):
    assert rule in {v.rule for v in check_source(module, source)}


@pytest.mark.parametrize("module, source", [
    ("satsim.scheduler.coverage_view", "from ..orbits.coverage import sample_bounds_s"),
    ("satsim.link.engine", "from . import _kernels\nfrom ._kernels import serve"),
    ("satsim.link._kernels", "import math\nimport numpy as np\nfrom .._jit import njit"),
    ("satsim.link._cell_kernels", "from ._kernels import SERVED\nfrom numba import prange"),
    ("satsim.orbits.geometry", "from .._jit import njit\nfrom ..errors import InputError"),
    ("satsim.results.summary", "from .. import __version__"),
    ("satsim.cli.run", "from ._common import input_errors\nfrom ..runner import run"),
    ("satsim.sweeps.__main__", "from ..cli.sweep import sweep_command"),
])
def test_the_checker_passes_a_good_import(module, source):
    assert check_source(module, source) == []
