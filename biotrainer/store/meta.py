"""The session header (``meta`` table): what a session is, who took part, with which devices and protocol."""

from __future__ import annotations

import json
import math
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from biotrainer.core.errors import UsageError
from biotrainer.store.schema import FORMAT_NAME, FORMAT_VERSION


def new_session_id(anchor_unix_s: float) -> str:
    """A sortable, human-readable session id: local start time plus 4 random hex digits.

    >>> len(new_session_id(0.0))
    20
    """
    local = datetime.fromtimestamp(anchor_unix_s, tz=timezone.utc).astimezone()
    return f"{local:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def iso_from_unix(unix_s: float) -> str:
    """ISO-8601 local time with UTC offset, e.g. ``2026-11-26T11:42:33.120000+01:00``."""
    return datetime.fromtimestamp(unix_s, tz=timezone.utc).astimezone().isoformat()


@dataclass
class SessionMeta:
    """The session header.

    ``participants`` maps role (``self``/``client``/``therapist``) to pseudonym; ``devices`` is a list of
    ``{"id", "name", "model", "participant"}`` dicts; ``protocol_toml`` is the full protocol file text as run;
    ``started_at`` is ISO-8601 with offset and ``anchor_unix_s`` the matching Unix time of session time 0.
    ``completed`` is None until the session ends normally, then holds ``ended_at``, ``end_t_s``, ``duration_s``,
    ``end_reason``, ``counts`` (events per kind). ``heartbeat_unix_s`` is refreshed by the recording process every
    few seconds (a stale heartbeat means the recording process is gone); ``write_failure`` is set when the recorder
    gave up on a failing disk (``reason``, ``error``, ``saved_up_to_s``, ``events_lost``). ``intention`` is the
    person's optional one-line intention before starting; ``self_report`` their optional answers afterwards (``calm`` and ``present``, 0-10, and a ``note``).
    """

    id: str
    started_at: str
    anchor_unix_s: float
    title: str = ""
    notes: str = ""
    participants: dict[str, str] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    protocol_name: str = ""
    protocol_toml: str = ""
    app_version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    writer: dict[str, Any] = field(default_factory=dict)
    completed: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    heartbeat_unix_s: float | None = None
    write_failure: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    intention: str = ""
    self_report: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.completed is not None

    @property
    def end_reason(self) -> str | None:
        return None if self.completed is None else self.completed.get("end_reason")

    @property
    def ended_at(self) -> str | None:
        return None if self.completed is None else self.completed.get("ended_at")

    def to_rows(self) -> dict[str, Any]:
        """The ``meta`` table content: key → JSON-able value."""
        rows: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "id": self.id,
            "title": self.title,
            "notes": self.notes,
            "participants": dict(self.participants),
            "devices": list(self.devices),
            "protocol": {"name": self.protocol_name, "toml": self.protocol_toml},
            "app_version": self.app_version,
            "settings": dict(self.settings),
            "started_at": self.started_at,
            "anchor_unix_s": self.anchor_unix_s,
            "synthetic": bool(self.synthetic),
            "writer": dict(self.writer),
        }
        if self.completed is not None:
            rows["completed"] = dict(self.completed)
        if self.heartbeat_unix_s is not None:
            rows["heartbeat_unix_s"] = self.heartbeat_unix_s
        if self.write_failure is not None:
            rows["write_failure"] = dict(self.write_failure)
        if self.intention:
            rows["intention"] = self.intention
        if self.self_report:
            rows["self_report"] = dict(self.self_report)
        rows.update(self.extra)
        return rows

    @classmethod
    def from_rows(cls, rows: dict[str, Any]) -> SessionMeta:
        """Build from the ``meta`` table (values already JSON-decoded). Raises KeyError if a required key is
        missing, ValueError (naming the key) if a value has the wrong type or an impossible value."""
        known = {"format", "format_version", "id", "title", "notes", "participants", "devices", "protocol",
                 "app_version", "settings", "started_at", "anchor_unix_s", "synthetic", "writer", "completed",
                 "heartbeat_unix_s", "write_failure", "intention", "self_report"}
        _check_header(rows)
        protocol = rows.get("protocol") or {}
        return cls(
            id=str(rows["id"]),
            started_at=str(rows["started_at"]),
            anchor_unix_s=float(rows["anchor_unix_s"]),
            title=str(rows.get("title") or ""),
            notes=str(rows.get("notes") or ""),
            participants=dict(rows.get("participants") or {}),
            devices=list(rows.get("devices") or []),
            protocol_name=str(protocol.get("name") or ""),
            protocol_toml=str(protocol.get("toml") or ""),
            app_version=str(rows.get("app_version") or ""),
            settings=dict(rows.get("settings") or {}),
            synthetic=bool(rows.get("synthetic", False)),
            writer=dict(rows.get("writer") or {}),
            completed=rows.get("completed"),
            format_version=int(rows.get("format_version", FORMAT_VERSION)),
            heartbeat_unix_s=_number_or_none(rows.get("heartbeat_unix_s")),
            write_failure=rows.get("write_failure") if isinstance(rows.get("write_failure"), dict) else None,
            intention=rows["intention"] if isinstance(rows.get("intention"), str) else "",
            self_report=dict(rows["self_report"]) if isinstance(rows.get("self_report"), dict) else {},
            extra={k: v for k, v in rows.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for ``show --json`` and exports."""
        d = self.to_rows()
        d.pop("protocol")
        d["protocol_name"] = self.protocol_name
        d["protocol_toml"] = self.protocol_toml
        d["complete"] = self.complete
        d.pop("format", None)
        return d


MAX_TITLE_CHARS = 200
MAX_NOTES_CHARS = 20_000


def validate_title(title: str) -> str:
    """A session title: one line of at most :data:`MAX_TITLE_CHARS` characters without control characters."""
    import unicodedata

    if not isinstance(title, str):
        raise UsageError("the title must be text")
    if len(title) > MAX_TITLE_CHARS:
        raise UsageError(f"title {title[:20]!r}... is {len(title)} characters long; at most {MAX_TITLE_CHARS}")
    if any(unicodedata.category(c).startswith("C") for c in title):
        raise UsageError(f"title {title[:40]!r} contains control characters (it is one line)")
    return title


def validate_notes(notes: str) -> str:
    """Session notes: at most :data:`MAX_NOTES_CHARS` characters; line breaks and tabs allowed, other control
    characters not."""
    import unicodedata

    if not isinstance(notes, str):
        raise UsageError("the notes must be text")
    if len(notes) > MAX_NOTES_CHARS:
        raise UsageError(f"notes of {len(notes)} characters; at most {MAX_NOTES_CHARS}")
    if any(unicodedata.category(c).startswith("C") and c not in "\n\t" for c in notes):
        raise UsageError("the notes contain control characters")
    return notes


def writer_identity() -> dict[str, Any]:
    """Who is writing the file (to tell a live recording from an interrupted one)."""
    import os

    return {"pid": os.getpid(), "host": socket.gethostname()}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


MAX_HEADER_TEXT_CHARS = 1_000_000  # the protocol TOML is the longest header text
_HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "started_at": (str,), "title": (str,), "notes": (str,), "app_version": (str,),
    "participants": (dict,), "devices": (list,), "protocol": (dict,), "settings": (dict,), "writer": (dict,),
    "completed": (dict,), "synthetic": (bool,), "format_version": (int,), "anchor_unix_s": (int, float),
}
_COMPLETED_NUMBERS = ("end_t_s", "duration_s")


def _check_header(rows: dict[str, Any]) -> None:
    """Types and ranges of the header values (the file may be damaged or hand-edited)."""
    for key in ("id", "started_at", "anchor_unix_s"):
        if key not in rows:
            raise KeyError(key)
    for key, types in _HEADER_TYPES.items():
        value = rows.get(key)
        if value is None and key not in ("id", "started_at", "anchor_unix_s"):
            continue
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise ValueError(f"header {key!r} is {_shown(value)}")
        if isinstance(value, str) and len(value) > MAX_HEADER_TEXT_CHARS:
            raise ValueError(f"header {key!r} is {len(value)} characters long")
    if not rows["id"] or len(rows["id"]) > 200 or any(c in rows["id"] for c in "/\\\x00"):
        raise ValueError(f"header 'id' {rows['id'][:40]!r} is not a session id")
    anchor = rows["anchor_unix_s"]
    if not (math.isfinite(anchor) and -1e11 < anchor < 1e11):
        raise ValueError(f"header 'anchor_unix_s' = {anchor!r} is not a time")
    _check_nested(rows)


def _check_nested(rows: dict[str, Any]) -> None:
    people = rows.get("participants") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in people.items()):
        raise ValueError("header 'participants' must map roles to pseudonyms (text)")
    if not all(isinstance(d, dict) for d in rows.get("devices") or []):
        raise ValueError("header 'devices' must be a list of objects")
    protocol = rows.get("protocol") or {}
    if not all(isinstance(protocol.get(k) or "", str) for k in ("name", "toml")):
        raise ValueError("header 'protocol' name and toml must be text")
    completed = rows.get("completed")
    if completed is not None:
        for key in _COMPLETED_NUMBERS:
            value = completed.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > 1e7:
                raise ValueError(f"header 'completed' {key} is {_shown(value)}")
        for key in ("end_reason", "ended_at"):
            if not isinstance(completed.get(key, ""), str):
                raise ValueError(f"header 'completed' {key} is {_shown(completed.get(key))}")
        if not isinstance(completed.get("counts", {}), dict):
            raise ValueError("header 'completed' counts is not an object")


def _shown(value: Any) -> str:
    return "missing or null" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
