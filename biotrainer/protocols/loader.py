"""Finding and loading protocol files.

Two folders are searched by name (the one rule of :mod:`biotrainer.core.data_files`):

- the user protocol folder: ``$BIOTRAINER_PROTOCOLS`` if set, else ``platformdirs.user_config_dir("biotrainer")``
  ``/protocols``. A user file with the same name as a shipped one takes precedence (and says so in the log).
- the shipped folder: ``biotrainer/protocols/shipped/``, package data found with :mod:`importlib.resources`, so
  it works the same from a checkout, a wheel, pipx or a frozen bundle.

:func:`load_protocol` also accepts a path to any ``.toml`` file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from biotrainer.core.data_files import SHIPPED, USER, data_files, shipped_dir, user_dir
from biotrainer.core.errors import ProtocolError
from biotrainer.protocols.model import Protocol, read_protocol_file

log = logging.getLogger(__name__)

ENV_USER_PROTOCOLS = "BIOTRAINER_PROTOCOLS"

__all__ = ["ENV_USER_PROTOCOLS", "SHIPPED", "USER", "ProtocolSummary", "list_protocols", "load_protocol",
           "protocol_files", "shipped_protocols_dir", "user_protocols_dir"]


def shipped_protocols_dir() -> Path:
    """The protocols shipped as package data: ``biotrainer/protocols/shipped/``."""
    return shipped_dir("biotrainer.protocols", "shipped")


def user_protocols_dir() -> Path:
    """``$BIOTRAINER_PROTOCOLS``, else the per-user config folder's ``protocols`` (may not exist)."""
    return user_dir("protocols", ENV_USER_PROTOCOLS)


@dataclass(frozen=True, slots=True)
class ProtocolSummary:
    """One line of ``biotrainer protocols``: where a protocol is and what it does."""

    name: str
    title: str
    duration_s: float
    phase_count: int
    phases: str  # one-line phase summary
    feedback_signal: str
    uses_personal_rate: bool
    origin: str  # "shipped" or "user"
    path: Path

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "duration_s": self.duration_s,
                "phase_count": self.phase_count, "phases": self.phases, "feedback_signal": self.feedback_signal,
                "uses_personal_rate": self.uses_personal_rate, "origin": self.origin, "path": str(self.path)}


def protocol_files() -> dict[str, tuple[str, Path]]:
    """Every protocol file by name: ``{name: (origin, path)}``, user files overriding shipped ones."""
    return data_files(shipped_protocols_dir(), user_protocols_dir())


def load_protocol(name_or_path: str | os.PathLike[str]) -> Protocol:
    """Load and validate a protocol by shipped name (``"reset"``), user-folder name, or file path.

    A value that contains a path separator or ends in ``.toml`` is a path; otherwise it is looked up in the user
    folder first, then the shipped folder.

    Raises
    ------
    ProtocolError
        Unknown name, missing file, or a file that does not validate (message names file and field).
    """
    text = os.fspath(name_or_path)
    is_path = (isinstance(name_or_path, os.PathLike) or text.endswith(".toml") or os.sep in text
               or (os.altsep is not None and os.altsep in text))
    if is_path:
        return read_protocol_file(Path(text).expanduser())
    files = protocol_files()
    if text not in files:
        known = ", ".join(sorted(files)) or "none found"
        raise ProtocolError(f"no protocol named {text!r} (known: {known}; or give the path to a .toml file)")
    return read_protocol_file(files[text][1])


def list_protocols() -> list[ProtocolSummary]:
    """Summaries of every valid protocol in the shipped and user folders, sorted by name.

    Files that do not validate are skipped with a logged warning naming the problem
    (``biotrainer protocols validate`` shows them too).
    """
    out = []
    for name, (origin, path) in sorted(protocol_files().items()):
        try:
            p = read_protocol_file(path)
        except ProtocolError as exc:
            log.warning("skipping invalid protocol: %s", exc)
            continue
        out.append(ProtocolSummary(name=name, title=p.title, duration_s=p.total_duration_s,
                                   phase_count=len(p.phases), phases=p.phase_summary(),
                                   feedback_signal=p.feedback_signal, uses_personal_rate=p.uses_personal_rate,
                                   origin=origin, path=path))
    return out
