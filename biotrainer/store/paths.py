"""Where the library lives, and private (owner-only) files and folders for health data.

The library folder is, in order of precedence: the ``--library DIR`` option, the ``BIOTRAINER_LIBRARY``
environment variable, or ``platformdirs.user_data_dir("biotrainer")/library``. Recordings are health data:
folders are created ``0700`` and files ``0600`` (on POSIX; Windows keeps per-user ACLs of the profile folder).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from biotrainer.core.errors import RecordingError

log = logging.getLogger(__name__)

LIBRARY_ENV = "BIOTRAINER_LIBRARY"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def default_library_dir() -> Path:
    """The per-user library folder (``user_data_dir("biotrainer")/library``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("biotrainer", appauthor=False)) / "library"


def library_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the library folder: ``override`` (``--library``), else ``$BIOTRAINER_LIBRARY``, else the default."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser()
    return default_library_dir()


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; a folder biotrainer creates is owner-only (0700).

    An existing folder is left as it is (``--library ~/Documents/study`` must not change the user's folder);
    the ``sessions`` folder inside it, which biotrainer creates, is 0700 and the files 0600, which is what protects
    the recordings.
    """
    try:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
            if os.name == "posix":
                os.chmod(path, PRIVATE_DIR_MODE)
        elif os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            log.debug("%s is readable by others; the session files inside are owner-only", path)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot create the library folder ({exc.strerror or exc})") from exc
    return path


def create_private_file(path: Path) -> None:
    """Create an empty file readable by the owner only (0600); fails if it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError as exc:
        raise RecordingError(f"{path}: already exists, refusing to overwrite a recording") from exc
    except OSError as exc:
        raise RecordingError(f"{path}: cannot create ({exc.strerror or exc})") from exc
    os.close(fd)
    if os.name == "posix":
        os.chmod(path, PRIVATE_FILE_MODE)  # in case a umask stripped bits we want; never adds group/other


# --- exports and reports (moved from exchange.model: report/ and cli export use them too) ---------------------

def make_private_dirs(path: Path) -> Path:
    """Create ``path`` and any missing parents as owner-only folders (0700); existing folders are left as they are."""
    missing = []
    p = Path(path)
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, PRIVATE_DIR_MODE)
    if not Path(path).is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    return Path(path)


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> Any:
    """Open ``path`` for writing, created owner-only (0600) — exports are health data."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    if os.name == "posix":
        os.chmod(path, PRIVATE_FILE_MODE)
    return os.fdopen(fd, mode, **kwargs)


def make_private(paths: Iterable[Path]) -> None:
    """chmod 0600 files written by a library that creates them itself (pyedflib, gzip)."""
    if os.name != "posix":
        return
    for p in paths:
        os.chmod(p, PRIVATE_FILE_MODE)
