"""Atomic file writes: a reader sees the old file or the new one, never half.

Files are created with mode ``0666 & ~umask`` (0644 under the usual umask), like
any file Python's ``open`` creates, not the 0600 of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import InputError


def _temporary_sibling(path: Path) -> tuple[int, Path]:
    """A new, exclusively created hidden file next to ``path`` (its fd and path)."""
    folder = path.parent if str(path.parent) else Path(".")
    for _ in range(100):
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file next to {path}")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    fd, tmp = _temporary_sibling(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_with(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` into a temporary sibling of ``path``, then rename it over
    ``path`` (for writers that want a path, e.g. ``savefig`` or ``to_parquet``)."""
    path = Path(path)
    fd, tmp = _temporary_sibling(path)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_own_files(folder, files) -> None:
    """Remove ``files`` (those a satsim spool wrote into ``folder``; missing ones are
    skipped), then ``folder`` if it is left empty: anything else put there, and so
    the folder, stays."""
    for f in files:
        Path(f).unlink(missing_ok=True)
    try:
        Path(folder).rmdir()
    except OSError:  # not empty (or already gone): left as it is
        pass


def check_spool_folder(folder, names: Iterable[str], patterns: Iterable[str] = ()) -> None:
    """Refuse (InputError) a spool folder that does not exist or already holds a file
    the spool would write and later remove: ``names`` or ``patterns``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"spool folder {folder} is not a folder")
    there = [n for n in names if (folder / n).exists()]
    there += [p.name for pat in patterns for p in folder.glob(pat)]
    if there:
        raise InputError(f"spool folder {folder} already holds {', '.join(sorted(there))}; "
                         "give an empty folder (the spool writes and removes those names)")
