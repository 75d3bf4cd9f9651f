"""Data files shipped with the code, and the user's own files beside them (protocols, device profiles).

Shipped files are package data found with :mod:`importlib.resources`, so the same code finds them from a checkout,
an installed wheel (``pip install .``, pipx) or a frozen desktop bundle. Each kind of file also has a user folder:
``$ENV`` when set, else ``platformdirs.user_config_dir("biotrainer")/KIND`` (it may not exist). A user file with the
same name as a shipped one takes its place (and says so in the log); other user files are added.

This is the one rule for both ``biotrainer/protocols/shipped/*.toml`` and ``biotrainer/sources/ble/devices/*.toml``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["SHIPPED", "USER", "data_files", "shipped_dir", "user_dir"]

log = logging.getLogger(__name__)

SHIPPED = "shipped"
USER = "user"


def shipped_dir(package: str, folder: str) -> Path:
    """The folder ``folder`` of package data inside ``package`` (e.g. ``"biotrainer.protocols"``, ``"shipped"``)."""
    from importlib.resources import files

    return Path(str(files(package) / folder))


def user_dir(kind: str, env: str) -> Path:
    """``$env`` (``~`` expanded) if set, else the per-user config folder's ``kind`` subfolder (may not exist)."""
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("biotrainer")) / kind


def data_files(shipped: Path, user: Path, pattern: str = "*.toml") -> dict[str, tuple[str, Path]]:
    """Every file matching ``pattern`` by name (file stem): ``{name: (origin, path)}``, user files overriding shipped.

    ``origin`` is :data:`SHIPPED` or :data:`USER`. A missing folder contributes nothing.
    """
    found: dict[str, tuple[str, Path]] = {}
    for origin, folder in ((SHIPPED, shipped), (USER, user)):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(pattern)):
            if path.stem in found:
                log.info("user file %s overrides the shipped one", path)
            found[path.stem] = (origin, path)
    return found
