"""Participants: pseudonymous people whose sessions are recorded.

A participant is identified by a pseudonym (:func:`validate_pseudonym`, the one rule), with a role (``self``,
``client``, ``therapist``), free notes, and a personal resonance breathing rate (breaths/min) set by the resonance
assessment, with the date and the id of the session it came from. An optional ``display_name`` (a real name, if
the user wants one on screen) lives in this register only: session files, exports and reports never read the
register, so it stays local by construction. The register is one SQLite file
(``<library>/participants.sqlite``, 0600), so the GUI and the CLI can edit it at the same time safely.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from biotrainer.core.errors import RecordingError, UsageError
from biotrainer.core.events import PARTICIPANT_ROLES, SELF
from biotrainer.store.paths import create_private_file, ensure_private_dir

log = logging.getLogger(__name__)

MAX_PSEUDONYM_CHARS = 64
RESONANCE_RATE_RANGE_PER_MIN = (2.0, 15.0)  # sanity bounds; adults typically 4.5-6.5/min (SCIENCE.md §3)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    pseudonym                  TEXT PRIMARY KEY,
    role                       TEXT NOT NULL,
    notes                      TEXT NOT NULL DEFAULT '',
    created_at                 TEXT NOT NULL,
    resonance_rate_per_min     REAL,
    resonance_assessed_at      TEXT,
    resonance_session_id       TEXT,
    display_name               TEXT NOT NULL DEFAULT ''
);
"""
_COLUMNS = ("pseudonym", "role", "notes", "created_at", "resonance_rate_per_min", "resonance_assessed_at",
            "resonance_session_id", "display_name")
MAX_DISPLAY_NAME_CHARS = 100


class ParticipantNotFoundError(UsageError):
    """No participant with that pseudonym."""


@dataclass(frozen=True)
class Participant:
    """One participant. ``resonance_rate_per_min`` is None until assessed."""

    pseudonym: str
    role: str = SELF
    notes: str = ""
    created_at: str = ""
    resonance_rate_per_min: float | None = None
    resonance_assessed_at: str | None = None
    resonance_session_id: str | None = None
    display_name: str = ""  # local only: never written to a session, an export or a report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


PSEUDONYM_CHARS = "letters, digits, '-', '_' and '.'"


def validate_pseudonym(pseudonym: str, what: str = "pseudonym") -> str:
    """The one pseudonym rule (``participants add``, ``record --participant``, the GUI, imports): strip, then
    1-64 characters, no control characters, only letters, digits, ``-``, ``_`` and ``.`` starting with a letter or
    digit; so no spaces, which refuses the usual shape of a real name (``Jane Doe``). Returns the pseudonym."""
    if not isinstance(pseudonym, str):
        raise UsageError(f"{what} must be text")
    p = pseudonym.strip()
    if not p:
        raise UsageError(f"{what} must not be empty")
    if len(p) > MAX_PSEUDONYM_CHARS:
        raise UsageError(f"{what} {p[:20]!r}... is longer than {MAX_PSEUDONYM_CHARS} characters")
    if any(unicodedata.category(c).startswith("C") for c in p):
        raise UsageError(f"{what} {p!r} contains control characters")
    if any(c.isspace() for c in p):
        raise UsageError(f"{what} {p!r} looks like a real name: biotrainer stores pseudonyms only; use a code such "
                         f"as P07 ({PSEUDONYM_CHARS}, no spaces)")
    if not (p[0].isalnum() and all(c.isalnum() or c in "-_." for c in p)):
        raise UsageError(f"{what} {p!r} may hold only {PSEUDONYM_CHARS}, starting with a letter or digit")
    return p


def validate_display_name(name: str) -> str:
    """A display name (local only): at most 100 characters, no control characters; may be empty."""
    n = name.strip()
    if len(n) > MAX_DISPLAY_NAME_CHARS:
        raise UsageError(f"display name of {len(n)} characters; at most {MAX_DISPLAY_NAME_CHARS}")
    if any(unicodedata.category(c).startswith("C") for c in n):
        raise UsageError("the display name contains control characters")
    return n


def validate_role(role: str) -> str:
    if role not in PARTICIPANT_ROLES:
        raise UsageError(f"role {role!r} is not one of {', '.join(PARTICIPANT_ROLES)}")
    return role


class ParticipantStore:
    """The participants register of a library (add/get/list/update/set_resonance_rate)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not self.path.exists():
            if not create:
                return None
            ensure_private_dir(self.path.parent)
            create_private_file(self.path)
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=5.0)
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(participants)")}
            if "display_name" not in columns:  # a register from before display names
                conn.execute("ALTER TABLE participants ADD COLUMN display_name TEXT NOT NULL DEFAULT ''")
            return conn
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: not a participants register ({exc})") from None

    def _run(self, sql: str, params: tuple = (), create: bool = False) -> list[tuple]:
        conn = self._connect(create)
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: {exc}") from None
        finally:
            conn.close()

    def add(self, pseudonym: str, role: str = SELF, notes: str = "", display_name: str = "") -> Participant:
        """Register a participant; the pseudonym must be new. ``display_name`` stays in this register."""
        p = Participant(pseudonym=validate_pseudonym(pseudonym), role=validate_role(role), notes=notes,
                        created_at=_now_iso(), display_name=validate_display_name(display_name))
        try:
            self._run(f"INSERT INTO participants ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                      tuple(getattr(p, c) for c in _COLUMNS), create=True)
        except sqlite3.IntegrityError:
            raise UsageError(f"participant {p.pseudonym!r} already exists") from None
        return p

    def get(self, pseudonym: str) -> Participant:
        rows = self._run(f"SELECT {', '.join(_COLUMNS)} FROM participants WHERE pseudonym = ?", (pseudonym,))
        if not rows:
            raise ParticipantNotFoundError(f"no participant {pseudonym!r} in {self.path}")
        return Participant(*rows[0])

    def find(self, pseudonym: str) -> Participant | None:
        try:
            return self.get(pseudonym)
        except ParticipantNotFoundError:
            return None

    def list(self, role: str | None = None) -> list[Participant]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM participants"
        params: tuple = ()
        if role is not None:
            sql += " WHERE role = ?"
            params = (role,)
        return [Participant(*r) for r in self._run(sql + " ORDER BY pseudonym COLLATE NOCASE", params)]

    def update(self, pseudonym: str, *, role: str | None = None, notes: str | None = None,
               display_name: str | None = None) -> Participant:
        """Change a participant's role, notes and/or (local) display name."""
        current = self.get(pseudonym)
        new_role = validate_role(role) if role is not None else current.role
        new_notes = notes if notes is not None else current.notes
        new_name = validate_display_name(display_name) if display_name is not None else current.display_name
        self._run("UPDATE participants SET role = ?, notes = ?, display_name = ? WHERE pseudonym = ?",
                  (new_role, new_notes, new_name, pseudonym))
        return self.get(pseudonym)

    def set_resonance_rate(self, pseudonym: str, rate_per_min: float, *, session_id: str | None = None,
                           assessed_at: str | None = None) -> Participant:
        """Store the personal resonance breathing rate (breaths/min) from an assessment.

        Parameters
        ----------
        rate_per_min
            Breaths per minute, within 2-15.
        session_id
            The assessment session it came from.
        assessed_at
            ISO-8601 date/time of the assessment; default now.
        """
        rate = float(rate_per_min)
        lo, hi = RESONANCE_RATE_RANGE_PER_MIN
        if not math.isfinite(rate) or not (lo <= rate <= hi):
            raise UsageError(f"resonance rate {rate_per_min}/min is outside {lo:g}-{hi:g}/min")
        self.get(pseudonym)
        self._run("UPDATE participants SET resonance_rate_per_min = ?, resonance_assessed_at = ?, "
                  "resonance_session_id = ? WHERE pseudonym = ?",
                  (rate, assessed_at or _now_iso(), session_id, pseudonym))
        return self.get(pseudonym)
