"""Whose data: the one participant rule of ``analyze``, ``assess``, ``compare``, ``report`` and ``export``.

A session names its participants by role (``self``, ``client``, ``therapist``) with a pseudonym each. The rule:

1. ``wanted`` (``--participant``) is a role or a pseudonym; it picks that participant, whose beats must be in the
   session. A name that is nobody's is a one-line :class:`~biotrainer.core.errors.UsageError` naming those available;
   a participant without beats is one too.
2. Without ``wanted``: a session with one participant with beats needs no choice. With several, the default is the
   client (the person practising, in a session guided by a therapist), else ``self``, else the first with beats
   (pinned by ``tests/cli/test_analyze_assess_cli.py::test_analyze_session_participant_by_role_or_pseudonym``).
3. A session without beats has no one to choose: :func:`choose_role` raises, the comparison reports the default
   role's empty phases (:func:`role_for_comparison`).

``export --participant`` asks a different question with the same name matching: is this participant in the session
at all (:func:`find_role` over the recorded participants, beats or not)?
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from biotrainer.core.errors import UsageError

#: Without ``--participant``: the first of these with beats, else the first participant with beats.
DEFAULT_ROLES = ("client", "self")


def roles_with_beats(events: Iterable[Any]) -> list[str]:
    """Roles that have beats in ``events``, in the order of their first beat."""
    roles: dict[str, None] = {}
    for e in events:
        if e.KIND == "beat":
            roles.setdefault(e.participant, None)
    return list(roles)


def find_role(people: Mapping[str, str], wanted: str) -> str | None:
    """The role ``wanted`` names in ``people`` (role → pseudonym): itself when a role, else the pseudonym's role."""
    if wanted in people:
        return wanted
    return next((r for r, p in people.items() if p and p == wanted), None)


def describe(people: Mapping[str, str], roles: Iterable[str]) -> str:
    """``client C01, therapist T01``: each role with its pseudonym (when it has one other than the role)."""
    def named(role: str) -> str:
        pseudonym = people.get(role)
        return f"{role} {pseudonym}" if pseudonym and pseudonym != role else role

    return ", ".join(named(r) for r in roles)


def default_role(roles: list[str]) -> str:
    """The client, else ``self``, else the first of ``roles`` (roles with beats, in order)."""
    return next((r for r in DEFAULT_ROLES if r in roles), roles[0])


def choose_role(session_id: str, roles: list[str], people: Mapping[str, str], wanted: str | None) -> str:
    """The role whose beats to use (the rule in the module docstring).

    Parameters
    ----------
    session_id
        For the messages.
    roles
        Roles with beats, in order of their first beat (:func:`roles_with_beats`).
    people
        The session's participants, role → pseudonym.
    wanted
        ``--participant``: a role or pseudonym, or None for the default.

    Returns
    -------
    str
        A role of ``roles``.

    Raises
    ------
    UsageError
        No beats in the session; ``wanted`` names nobody there (the message lists the participants with beats);
        ``wanted`` names a participant without beats.
    """
    if not roles:
        listed = describe(people, people) or "none recorded"
        raise UsageError(f"session {session_id}: no beats recorded (participants: {listed})")
    if wanted is None:
        return default_role(roles)
    role = wanted if wanted in roles else find_role(people, wanted)
    if role in roles:
        return role
    have = describe(people, roles)
    if role is not None:
        raise UsageError(f"session {session_id}: participant {wanted!r} has no beats recorded (participants with "
                         f"beats: {have})")
    raise UsageError(f"session {session_id} has no participant {wanted!r} (participants with beats, as role and "
                     f"pseudonym: {have})")


def choose_participant(session_id: str, events: list[Any], people: Mapping[str, str], wanted: str | None) -> str:
    """:func:`choose_role` for a session's events (roles with beats taken from them)."""
    return choose_role(session_id, roles_with_beats(events), people, wanted)


def role_for_comparison(session: Any, wanted: str | None) -> str:
    """:func:`choose_role` for an :class:`~biotrainer.exchange.model.ExchangeSession`; a session without beats
    (nothing to compare) gives its default role, so its phases show "0 beats" instead of failing the comparison."""
    people = dict(session.meta.get("participants") or {})
    roles = roles_with_beats(session.events)
    if not roles and wanted is None:
        candidates = list(session.roles)
        return default_role(candidates) if candidates else "self"
    if not roles:
        return find_role(people, wanted) or wanted
    return choose_role(session.id, roles, people, wanted)


def participant_beats(reader: Any, wanted: str | None = None) -> Any:
    """The beats (:class:`~biotrainer.store.reader.BeatArrays`) of the participant the rule picks in an open
    session (``reader``): never two people's beats in one series."""
    beats = reader.beats()
    roles = list(dict.fromkeys(beats.participant.tolist()))
    if len(roles) <= 1 and wanted is None:
        return beats
    return reader.beats(participant=choose_role(reader.id, roles, dict(reader.meta.participants), wanted))
