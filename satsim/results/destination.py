"""Where a results folder goes, claimed safely: satsim never deletes or writes
over anything it did not write.

Rules (README, "The results folder"):

* every folder satsim writes holds a marker file, :data:`MARKER`; ``overwrite``
  replaces only a folder with that marker and nothing but satsim's own entries
  (:data:`ENTRIES`), anything else is refused with the reason;
* a run claims its destination before the slow simulation: a lock file
  ``.<name>.satsim-lock`` next to it, held with ``flock`` (released by the kernel if the
  process dies, even on ``kill -9``), so two runs on one folder cannot both go
  on: the second is refused at once with the PID of the first. The checks are
  repeated under the lock just before the final rename;
* the folder is written into a hidden sibling ``.<name>.partial-<pid>`` (marked
  at once) and renamed into place when complete; with ``overwrite`` the old
  folder is first renamed to ``.<name>.old-<pid>`` and removed after. Signals are
  blocked during those two renames, so an interruption leaves the old folder or
  the new one in place, never neither;
* partial and old folders of processes that are gone (PID not alive, lock
  free, marker inside) are cleaned when the next run claims a folder in the same
  parent; an old folder whose results folder is missing (a crash between the
  two renames) is renamed back instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

from ..errors import InputError

#: Marker file inside every folder satsim writes (results or a failed run's log).
MARKER = ".satsim-results"

#: Marker file of an output folder left by a failed run.
INCOMPLETE = "INCOMPLETE"

#: What satsim writes at the top of a results folder.
ENTRIES = frozenset({"summary.json", "metadata.json", "scenario.yaml", "tables", "plots",
                     "report.html", MARKER, INCOMPLETE, "error.log"})

#: Suffix of the files satsim writes in its sub-folders.
_SUBFOLDER_SUFFIX = {"tables": ".parquet", "plots": ".png"}

_HIDDEN = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")

_LOCK = re.compile(r"^\..+\.satsim-lock$")

_SIGNALS = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP")
                 if hasattr(signal, s))


def marker_text() -> str:
    from .. import __version__

    return (f"This folder was written by satsim {__version__}. `satsim run --overwrite` may "
            "replace it; files you add here make it refuse to.\n")


def normalise(out) -> Path:
    """``out`` as an absolute path without ``.``, ``..``, ``~`` or trailing slashes."""
    text = os.fspath(out)
    if not str(text).strip():
        raise InputError("--out is empty; give a folder path, e.g. --out results/run1")
    path = Path(os.path.abspath(os.path.expanduser(text)))
    if path.parent == path:
        raise InputError(f"--out {text}: the filesystem root cannot be a results folder; "
                         "give a new folder, e.g. --out results/run1")
    return path


def foreign_entries(folder: Path) -> list[str]:
    """What in ``folder`` satsim did not write (all of it without the marker)."""
    names = sorted(p.name for p in folder.iterdir())
    if MARKER not in names:
        return names or ["(no satsim marker)"]
    foreign = [n for n in names if n not in ENTRIES]
    for sub, suffix in _SUBFOLDER_SUFFIX.items():
        d = folder / sub
        if d.is_symlink() or (d.exists() and not d.is_dir()):
            foreign.append(sub)
        elif d.is_dir():
            foreign += [f"{sub}/{p.name}" for p in sorted(d.iterdir())
                        if not (p.is_file() and not p.is_symlink() and p.suffix == suffix)]
    return foreign


def is_satsim_folder(folder) -> bool:
    """True if ``folder`` is a folder satsim wrote with nothing added to it."""
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and not foreign_entries(folder)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def _lock_free(lock: Path) -> bool:
    """True if no process holds ``lock`` (or it does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return True
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _remove_free_lock(lock: Path) -> None:
    """Remove a lock file nobody holds (left by a killed run)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino == os.stat(lock).st_ino:
            lock.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)


def clean_stale(parent: Path, keep: Path | None = None) -> list[str]:
    """Remove (or restore) hidden partial / old folders of dead satsim runs in
    ``parent``, and lock files nobody holds (but ``keep``); returns what was
    done, one line each."""
    done = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return done
    for p in entries:
        if _LOCK.match(p.name) and p != keep and p.is_file() and not p.is_symlink():
            _remove_free_lock(p)
            continue
        m = _HIDDEN.match(p.name)
        if m is None or p.is_symlink() or not p.is_dir():
            continue
        pid = int(m["pid"])
        if _pid_alive(pid) or not _lock_free(parent / f".{m['name']}.satsim-lock"):
            continue
        try:
            contents = list(p.iterdir())
        except OSError:
            continue
        if contents and not (p / MARKER).is_file():
            continue  # not ours: leave it
        target = parent / m["name"]
        try:
            if m["kind"] == "old" and not target.exists() and not target.is_symlink():
                os.rename(p, target)
                done.append(f"restored {target} (a run was stopped while replacing it)")
            else:
                shutil.rmtree(p)
                done.append(f"removed {p.name} (left by stopped run PID {pid})")
        except OSError:
            continue
    return done


class _SignalsBlocked:
    """Defer SIGINT / SIGTERM / SIGHUP while a few renames run."""

    def __enter__(self):
        self.old = None
        if hasattr(signal, "pthread_sigmask") and _SIGNALS:
            self.old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


class Destination:
    """A results folder to be written, checked and claimed (module docstring).

    Use as a context manager around the whole run: entering claims the folder
    (raising :class:`~satsim.errors.InputError` if it cannot be had), leaving
    releases it and removes parent folders it created if they stayed empty.

    Parameters
    ----------
    out : path
        The results folder (normalised: ``..``, ``.``, ``~`` and trailing
        slashes are resolved against the current folder).
    overwrite : bool
        Replace an existing folder, if satsim wrote it.
    """

    def __init__(self, out, overwrite: bool = False):
        self.path = normalise(out)
        self.overwrite = overwrite
        self.cleaned: list[str] = []
        self._fd: int | None = None
        self._created: list[Path] = []
        self._committed = False

    @property
    def committed(self) -> bool:
        """True once the complete folder is in place."""
        return self._committed

    @property
    def lock_path(self) -> Path:
        return self.path.parent / f".{self.path.name}.satsim-lock"

    # -- checks -------------------------------------------------------------

    def check(self) -> Path:
        """Refuse a destination that cannot be used; no side effects."""
        out = self.path
        if out.is_symlink() or out.exists():
            if not out.is_dir() or out.is_symlink():
                raise InputError(f"{out} exists and is not a folder; choose another --out")
            if not self.overwrite:
                raise InputError(f"results folder {out} already exists; choose another --out "
                                 "folder or pass --overwrite to replace it")
            foreign = foreign_entries(out)
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise InputError(
                    f"--overwrite refused: {out} is not a folder satsim wrote, or holds files "
                    f"it did not write ({shown}); satsim replaces only its own results "
                    f"folders (marked by {MARKER}). Choose another --out, or move those "
                    "files away yourself")
        anc = out.parent
        while not anc.exists():
            anc = anc.parent
        if not anc.is_dir():
            raise InputError(f"--out {out}: {anc} is a file, not a folder; choose another --out")
        if not os.access(anc, os.W_OK | os.X_OK):
            raise InputError(f"--out {out}: cannot write in {anc} (permission denied); "
                             "choose an --out in a folder you can write")
        return out

    # -- claim ----------------------------------------------------------------

    def __enter__(self) -> Destination:  # noqa: PYI034 (a claim, not a subclassable value)
        self.claim()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _make_parents(self) -> None:
        missing = []
        p = self.path.parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise InputError(f"--out {self.path}: cannot create {p}: {exc.strerror}; "
                                 "choose an --out in a folder you can write") from None
            self._created.append(p)

    def claim(self) -> Destination:
        """Check, create the parent, take the lock, clean stale leftovers, check again."""
        self.check()
        try:
            self._make_parents()
            self._lock()
        except BaseException:
            self.release()
            raise
        self.cleaned = clean_stale(self.path.parent, keep=self.lock_path)
        try:
            self.check()
        except BaseException:
            self.release()
            raise
        return self

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        for _ in range(20):
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise InputError(f"--out {self.path}: cannot write in {self.path.parent} "
                                 f"({exc.strerror}); choose an --out in a folder you can "
                                 "write") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
                finally:
                    os.close(fd)
                raise InputError(f"another satsim run (PID {pid}) is writing {self.path}; "
                                 "wait for it to finish or choose another --out") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # its holder removed it as we opened it: take the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        raise InputError(f"could not lock {self.lock_path}; try again")  # pragma: no cover

    def release(self) -> None:
        """Give up the claim: remove the lock file and parents created for nothing."""
        if self._fd is not None:
            try:
                self.lock_path.unlink(missing_ok=True)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
        if not self._committed:
            for p in reversed(self._created):
                try:
                    p.rmdir()
                except OSError:
                    break
        self._created = []

    # -- writing ----------------------------------------------------------------

    def _partial(self) -> Path:
        tmp = self.path.parent / f".{self.path.name}.partial-{os.getpid()}"
        if tmp.exists() and (tmp / MARKER).is_file():
            shutil.rmtree(tmp)
        tmp.mkdir()
        (tmp / MARKER).write_text(marker_text(), encoding="utf-8")
        return tmp

    def write(self, fill) -> Path:
        """``fill(folder)`` writes the content into a hidden partial folder, which
        then replaces the destination (module docstring). Returns the path."""
        own_claim = self._fd is None
        if own_claim:
            self.claim()
        tmp = None
        try:
            tmp = self._partial()
            fill(tmp)
            self.check()
            self._commit(tmp)
            tmp = None
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            if own_claim:
                self.release()
        return self.path

    def _commit(self, tmp: Path) -> None:
        out = self.path
        with _SignalsBlocked():
            if out.exists():
                old = out.parent / f".{out.name}.old-{os.getpid()}"
                os.rename(out, old)
                try:
                    os.rename(tmp, out)
                except BaseException:
                    os.rename(old, out)
                    raise
                self._committed = True
            else:
                os.rename(tmp, out)
                self._committed = True
                old = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def write_failure(self, log_text: str) -> Path | None:
        """Keep an internal error's traceback in ``<out>/error.log`` (marked
        INCOMPLETE), or in ``<out>.error`` when ``out`` holds something else;
        never over anything satsim did not write. Returns the log's path."""
        for folder in (self.path, self.path.with_name(self.path.name + ".error")):
            if folder.exists() and not (is_satsim_folder(folder)
                                        and (folder / INCOMPLETE).exists()
                                        and not (folder / "summary.json").exists()):
                continue
            try:
                failed = Destination(folder, overwrite=True)
                failed._fd = self._fd if folder == self.path else None

                def fill(tmp):
                    (tmp / INCOMPLETE).write_text(
                        "This run failed with an internal error; no results were written. "
                        "See error.log and report it with the scenario.\n", encoding="utf-8")
                    (tmp / "error.log").write_text(log_text, encoding="utf-8")

                failed.write(fill)
                if folder == self.path:
                    failed._fd = None
                    self._committed = True
                return folder / "error.log"
            except (OSError, InputError):
                continue
        return None
