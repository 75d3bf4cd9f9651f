"""The session header (``meta`` table): what a session is, who took part, with which devices and protocol."""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

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
    ``end_reason``, ``counts`` (events per kind). ``intention`` is the person's optional one-line intention before
    starting; ``self_report`` their optional answers afterwards (``calm`` and ``present``, 0-10, and a ``note``).
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
        if self.intention:
            rows["intention"] = self.intention
        if self.self_report:
            rows["self_report"] = dict(self.self_report)
        rows.update(self.extra)
        return rows

    @classmethod
    def from_rows(cls, rows: dict[str, Any]) -> SessionMeta:
        """Build from the ``meta`` table (values already JSON-decoded). Raises KeyError if a required key is missing."""
        known = {"format", "format_version", "id", "title", "notes", "participants", "devices", "protocol",
                 "app_version", "settings", "started_at", "anchor_unix_s", "synthetic", "writer", "completed",
                 "intention", "self_report"}
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
            intention=str(rows.get("intention") or ""),
            self_report=dict(rows.get("self_report") or {}),
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


def writer_identity() -> dict[str, Any]:
    """Who is writing the file (to tell a live recording from an interrupted one)."""
    import os

    return {"pid": os.getpid(), "host": socket.gethostname()}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
