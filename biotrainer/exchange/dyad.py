"""One session from two people's files: ``biotrainer import --role therapist=FILE --role client=FILE``.

Each file is read by its own importer (:func:`biotrainer.exchange.library.import_path`, or a biotrainer session
file) and must hold one person. Their events are given the role they were imported for and put on one time base:

- **Alignment**: when both files carry their start time (EDF+, XDF, BIDS, biotrainer exports and sessions), the
  session starts at the earlier one and the other is shifted by the difference; otherwise both start at 0 s and
  the session header says so (``imported_from.alignment``).
- ``--offset-s ROLE=SECONDS`` shifts one person's data further (positive: later).
- Session markers (phases, pacer, cues, annotations) of both files are kept; their own start/stop states are
  replaced by the new session's.
- The session is ``synthetic`` when either file is (never mistake simulated data for a person's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from biotrainer.core.errors import ImportFormatError, UsageError
from biotrainer.core.events import SESSION, AccFrame, Beat, EcgFrame, Event, SessionState
from biotrainer.exchange.model import ExchangeSession

#: Attributes that hold session times besides ``t_s``.
_TIME_FIELDS = {Beat: ("beat_t_s",), EcgFrame: ("last_sample_t_s",), AccFrame: ("last_sample_t_s",)}


def read_one_person(path: Path) -> ExchangeSession:
    """The file's data as a session (any importable format, or a biotrainer session file)."""
    from biotrainer.exchange.library import import_path, is_session_file

    path = Path(path).expanduser()
    if is_session_file(path):
        from biotrainer.store import SessionReader

        with SessionReader(path) as reader:
            meta = reader.meta.to_dict()
            events = list(reader.events())
        meta["imported_from"] = {"file": path.name, "format": "biotrainer-session"}
        return ExchangeSession(meta, events)
    return import_path(path)


def _person_of(session: ExchangeSession, path: Path) -> str:
    roles = [r for r in session.roles if r != SESSION]
    if len(roles) != 1:
        raise ImportFormatError(f"{path}: holds {len(roles)} participants ({', '.join(roles) or 'none'}); a dyad "
                                f"import takes one person per file")
    return roles[0]


def _moved(e: Event, role: str | None, shift_s: float) -> Event:
    changes: dict[str, Any] = {"t_s": e.t_s + shift_s}
    if role is not None:
        changes["participant"] = role
    for name in _TIME_FIELDS.get(type(e), ()):
        changes[name] = getattr(e, name) + shift_s
    return dataclasses.replace(e, **changes)


def _shifts(parts: Mapping[str, ExchangeSession], offsets: Mapping[str, float]) -> tuple[dict[str, float], float,
                                                                                           str]:
    anchor = min(s.anchor_unix_s for s in parts.values())
    if all(s.meta.get("start_known", True) for s in parts.values()):
        shifts = {r: s.anchor_unix_s - anchor for r, s in parts.items()}
        how = "by the files' start times"
    else:
        shifts = dict.fromkeys(parts, 0.0)
        how = "both at 0 s (a file carries no start time)"
    for role, off in offsets.items():
        shifts[role] += off
    return shifts, anchor, how


def combine_dyad(paths: Mapping[str, Path], *, pseudonyms: Mapping[str, str] | None = None,
                 offsets_s: Mapping[str, float] | None = None) -> ExchangeSession:
    """Read one file per role and make them one session (see the module docstring).

    Parameters
    ----------
    paths : mapping
        Role (``therapist``, ``client``, ``self``) → file.
    pseudonyms : mapping, optional
        Role → pseudonym; default: the pseudonym in the file, else the role.
    offsets_s : mapping, optional
        Role → extra shift (s) of that person's data.

    Raises
    ------
    UsageError
        Fewer than two roles, or an offset for a role without a file.
    ImportFormatError
        A file cannot be read or holds more than one person.
    """
    if len(paths) < 2:
        raise UsageError("a dyad import needs two files: --role therapist=FILE --role client=FILE")
    offsets = dict(offsets_s or {})
    stray = sorted(set(offsets) - set(paths))
    if stray:
        raise UsageError(f"--offset-s {stray[0]}=...: no --role {stray[0]}=FILE")
    parts = {role: read_one_person(Path(p)) for role, p in paths.items()}
    shifts, anchor, how = _shifts(parts, offsets)
    events: list[Event] = []
    participants: dict[str, str] = {}
    devices: list[dict[str, Any]] = []
    for role, session in parts.items():
        person = _person_of(session, Path(paths[role]))
        own = session.pseudonym(person)
        participants[role] = (pseudonyms or {}).get(role) or (own if own != person else role)
        events += [_moved(e, role if e.participant == person else None, shifts[role]) for e in session.events
                   if not isinstance(e, SessionState)]
        devices += [{**d, "participant": role} for d in session.meta.get("devices") or []
                    if d.get("participant", person) == person]
    events.sort(key=lambda e: e.t_s)
    first = min((e.t_s for e in events), default=0.0)
    if first < 0:  # an offset moved data before the start: the session starts there
        events = [_moved(e, None, -first) for e in events]
        anchor += first
    meta = _dyad_meta(paths, parts, participants, devices, anchor, how, shifts)
    return ExchangeSession(meta, events)


def _dyad_meta(paths: Mapping[str, Path], parts: Mapping[str, ExchangeSession], participants: dict[str, str],
               devices: list[dict[str, Any]], anchor: float, how: str, shifts: dict[str, float]) -> dict[str, Any]:
    from datetime import datetime, timezone

    return {
        "started_at": datetime.fromtimestamp(anchor, tz=timezone.utc).astimezone().isoformat(),
        "anchor_unix_s": float(anchor), "participants": participants, "devices": devices,
        "title": "imported dyad: " + ", ".join(f"{r} {Path(p).name}" for r, p in paths.items()),
        "synthetic": any(bool(s.meta.get("synthetic")) for s in parts.values()),
        "protocol_name": next((str(s.meta.get("protocol_name")) for s in parts.values()
                               if s.meta.get("protocol_name")), ""),
        "imported_from": {"format": "dyad", "alignment": how, "offsets_s": {r: shifts[r] for r in parts},
                          "files": {r: {"file": Path(paths[r]).name,
                                        "format": (parts[r].meta.get("imported_from") or {}).get("format", "")}
                                    for r in parts}},
    }
