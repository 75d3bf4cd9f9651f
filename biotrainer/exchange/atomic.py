"""Atomic file writing for every export and report: complete files or none.

:class:`AtomicWrites` is the one way exports (CSV, BIDS, EDF+) and reports (HTML, PDF) write files. Each file is
written under a temporary name beside its target (``.<name>.part-<random><suffix>``, 0600), and only when the whole
export is done are the files flushed to disk (``fsync``), renamed onto their targets and their folders synced. If
anything fails before that — a full disk (``ENOSPC``), a permission problem, an exception of the exporter — every
temporary file is removed, the folders the export created are removed again when empty, no target is touched, and
:class:`~biotrainer.core.errors.ExportError` says in one line which file failed and why::

    with AtomicWrites() as out:
        with out.open(folder / "a.csv", "w", encoding="utf-8") as fh:
            fh.write(...)
        writer = pyedflib.EdfWriter(str(out.path(folder / "b.edf")), ...)  # a library that opens the file itself

:func:`atomic_open` is the one-file shorthand; exporters take ``writes=`` (an :class:`AtomicWrites` of the caller,
see :func:`joined`) so that ``biotrainer export`` of many sessions is all or nothing too.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from biotrainer.core.errors import ExportError
from biotrainer.store.paths import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

log = logging.getLogger(__name__)


def _fsync(fd: int) -> None:
    """``os.fsync`` (a module-level name so tests can inject a full disk)."""
    os.fsync(fd)


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)


class AtomicWrites:
    """A set of files written under temporary names and renamed into place together (see the module docstring).

    Use as a context manager: leaving the block normally commits, an exception aborts (and is re-raised; an
    ``OSError`` as an :class:`ExportError` naming the file).
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self._created_dirs: list[Path] = []
        self._done = False

    # --- writing -------------------------------------------------------------------------------------------------

    def mkdirs(self, folder: Path) -> Path:
        """Create ``folder`` and its missing parents owner-only (0700); they are removed on abort when empty."""
        folder = Path(folder)
        missing = []
        p = folder
        while not p.exists() and p != p.parent:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise ExportError(f"{d}: cannot create the folder ({_why(exc)})") from None
            self._created_dirs.append(d)
            if os.name == "posix":
                os.chmod(d, PRIVATE_DIR_MODE)
        if not folder.is_dir():
            raise ExportError(f"{folder}: cannot create the folder: part of that path is a file, not a folder")
        return folder

    def path(self, target: Path) -> Path:
        """A new, empty, owner-only temporary file beside ``target`` (same suffix) that becomes ``target`` on
        commit; for libraries that open the file themselves (pyedflib, matplotlib)."""
        target = Path(target)
        self.mkdirs(target.parent)
        if target.is_dir():
            raise ExportError(f"{target}: is a folder, cannot write a file there")
        tmp = target.with_name(f".{target.stem}.part-{secrets.token_hex(4)}{target.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except OSError as exc:
            raise ExportError(f"{target}: cannot write ({_why(exc)})") from None
        os.close(fd)
        if os.name == "posix":
            os.chmod(tmp, PRIVATE_FILE_MODE)
        self._pending.append((tmp, target))
        return tmp

    def open(self, target: Path, mode: str = "w", **kwargs: Any) -> Any:
        """Open a temporary file for ``target`` (``open`` arguments); it becomes ``target`` on commit."""
        return open(self.path(target), mode, **kwargs)  # noqa: SIM115 - the caller closes it

    @property
    def targets(self) -> list[Path]:
        return [t for _, t in self._pending]

    # --- the end ---------------------------------------------------------------------------------------------------

    def commit(self) -> list[Path]:
        """Flush every file to disk, rename each onto its target, sync the folders; returns the targets.

        Raises
        ------
        ExportError
            A file could not be flushed (e.g. the disk is full); nothing was renamed and every temporary file
            is gone.
        """
        current = None
        try:
            for tmp, target in self._pending:
                current = target
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    _fsync(fd)
                finally:
                    os.close(fd)
            for tmp, target in self._pending:
                current = target
                os.replace(tmp, target)
        except OSError as exc:
            self.abort()
            raise ExportError(f"{current}: cannot write ({_why(exc)}); nothing was written") from None
        for folder in dict.fromkeys(t.parent for _, t in self._pending):
            _sync_dir(folder)
        self._done = True
        return self.targets

    def abort(self) -> None:
        """Remove every temporary file (and the folders this export created, when empty)."""
        for tmp, _ in self._pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for d in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                d.rmdir()
        self._done = True

    def __enter__(self) -> AtomicWrites:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._done:
            return
        if exc_type is None:
            self.commit()
            return
        self.abort()
        if isinstance(exc, OSError):
            where = exc.filename or (self._pending[-1][1] if self._pending else "export")
            for tmp, target in self._pending:  # name the target, never the temporary file
                if exc.filename is not None and Path(exc.filename) == tmp:
                    where = target
            raise ExportError(f"{where}: cannot write ({_why(exc)}); nothing was written") from None


def _sync_dir(folder: Path) -> None:
    """fsync a folder so the renames inside it survive a crash (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # the files are complete and renamed; only their durability is in doubt
        log.warning("%s: cannot sync the folder (%s)", folder, _why(exc))
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(target: Path, mode: str = "w", **kwargs: Any) -> Iterator[Any]:
    """Write one file atomically: ``with atomic_open(path, "w", encoding="utf-8") as fh: ...``."""
    with AtomicWrites() as out, out.open(target, mode, **kwargs) as fh:
        yield fh


@contextlib.contextmanager
def joined(writes: AtomicWrites | None) -> Iterator[AtomicWrites]:
    """``writes`` when the caller runs a larger all-or-nothing export (it commits), else a new batch committed at
    the end of the block: how each exporter takes an optional ``writes=`` argument."""
    if writes is not None:
        yield writes
        return
    with AtomicWrites() as out:
        yield out
