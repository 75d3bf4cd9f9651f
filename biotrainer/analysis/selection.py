"""Which sessions a command works on: the given ids, or a participant's (and protocol's) sessions of the library.

Participants are matched by role or pseudonym, as everywhere (:func:`biotrainer.analysis.participants.find_role`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biotrainer.core.errors import UsageError


def sessions_to_compare(library: Any, ids: list[str], participant: str | None, protocol: str | None) -> list[str]:
    """Session ids to compare: the given ones, or a participant's (and protocol's) sessions oldest first.

    Raises
    ------
    UsageError
        Neither ids nor a participant; no session of the participant (and protocol).
    """
    if ids:
        return ids
    if not participant:
        raise UsageError("give session ids, or --participant P for all sessions of a participant"
                         + (" (--protocol only narrows those down)" if protocol else ""))
    refs = [s.id for s in library.list_sessions(participant=participant)
            if not getattr(s, "error", None) and (protocol is None or s.protocol == protocol)]
    if not refs:
        raise UsageError(f"no sessions of participant {participant!r}"
                         + (f" with protocol {protocol!r}" if protocol else "") + f" in library {library.root}")
    return refs


def sessions_to_export(library: Any, ids: list[str], participant: str | None, every: bool,
                       skipped: Callable[[str], None] = lambda why: None) -> list[str]:
    """Session references to export: every readable session (of ``participant``) with ``every`` or without ids,
    else the given ones that are ``participant``'s. ``skipped`` is told why each unreadable session of the
    library is left out (a researcher exporting "all" must know what is missing).

    Raises
    ------
    UsageError
        Nothing to export; no given session is the participant's (the message names who is in them).
    """
    from biotrainer.analysis.participants import describe, find_role
    from biotrainer.store import summarize

    if every or (participant and not ids):
        listed = library.list_sessions(participant=participant)
        for s in listed:
            if s.error:
                skipped(s.error)
        refs = [s.id for s in listed if not s.error]
        if not refs:
            raise UsageError(f"no sessions to export in library {library.root}"
                             + (f" for participant {participant!r}" if participant else ""))
        return refs
    if not ids:
        raise UsageError("give session ids or --all")
    if not participant:
        return list(ids)
    people = {ref: summarize(library.resolve(ref)).participants for ref in ids}
    refs = [r for r in ids if find_role(people[r], participant) is not None]
    if not refs:
        there = "; ".join(dict.fromkeys(describe(p, p) for p in people.values() if p))
        raise UsageError(f"none of the given sessions is of participant {participant!r}"
                         + (f" (participants: {there})" if there else ""))
    return refs
