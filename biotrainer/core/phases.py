"""Protocol phases as run: one :class:`PhaseSpan` per phase, built from :class:`~biotrainer.core.events.PhaseMarker`
events by one builder, with one rule for each question:

- **which end belongs to which start**: the ``end`` marker with the same ``index`` (the phase's position in the
  protocol, unique within a run);
- **where an unfinished phase ends**: at ``open_end_s``, given by the caller (``inf`` while a live session runs,
  the session's end for a recording) and never before the phase's start; such a span has ``ended`` False;
- **what a repeated phase is called**: ``name`` stays the protocol's name (baseline and feedback rules match it);
  ``label`` tells the occurrences apart: ``name`` for the first, ``"name (2)"`` for the second start of the same
  name, and so on;
- **order**: by start time, then index.

The protocol's *definition* of a phase is :class:`biotrainer.protocols.model.Phase`; this module only reads
markers (it imports nothing but :mod:`biotrainer.core.events`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from biotrainer.core.events import Event, PhaseMarker


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """One protocol phase as run: session times ``start_s``..``end_s`` and the start marker's settings.

    ``ended`` is False when no end marker was seen (``end_s`` is then the ``open_end_s`` the span was built with);
    ``occurrence`` numbers the spans of the same ``name`` in order (1 for the first).
    """

    name: str
    index: int
    start_s: float
    end_s: float
    planned_duration_s: float
    paced: bool
    rate_per_min: float | None
    feedback: bool
    ended: bool
    occurrence: int = 1

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def label(self) -> str:
        """The name that tells repeated phases apart: ``name``, then ``"name (2)"``, ``"name (3)"``, …"""
        return self.name if self.occurrence == 1 else f"{self.name} ({self.occurrence})"

    def to_dict(self) -> dict[str, Any]:
        """The span as the marker recorded it, plus ``duration_s`` (JSON-able; ``biotrainer show --json``)."""
        return {"name": self.name, "index": self.index, "start_s": self.start_s, "end_s": self.end_s,
                "planned_duration_s": self.planned_duration_s, "paced": self.paced,
                "rate_per_min": self.rate_per_min, "feedback": self.feedback, "ended": self.ended,
                "duration_s": self.duration_s}


class PhaseSpanBuilder:
    """Builds :class:`PhaseSpan` from phase markers fed one at a time (live) or all at once
    (:func:`phase_spans`)."""

    def __init__(self) -> None:
        self._done: list[PhaseSpan] = []
        self._open: dict[int, PhaseSpan] = {}
        self._dropped: Counter[str] = Counter()  # names of the spans drop_ended_before forgot
        self._cache: tuple[float, list[PhaseSpan]] | None = None  # the last spans() (live asks on every beat)

    def add(self, marker: PhaseMarker) -> None:
        """Take one marker: a ``start`` opens a span, an ``end`` closes the open span with its index (others are
        ignored)."""
        self._cache = None
        if marker.state == "start":
            self._open[marker.index] = PhaseSpan(
                name=marker.name, index=marker.index, start_s=float(marker.t_s), end_s=math.inf,
                planned_duration_s=marker.duration_s, paced=marker.paced, rate_per_min=marker.rate_per_min,
                feedback=marker.feedback, ended=False)
        elif marker.state == "end" and marker.index in self._open:
            span = self._open.pop(marker.index)
            self._done.append(replace(span, end_s=float(marker.t_s), ended=True))

    def spans(self, open_end_s: float = math.inf) -> list[PhaseSpan]:
        """Every span so far, in order; unfinished ones end at ``open_end_s`` (not before their start)."""
        if self._cache is not None and self._cache[0] == open_end_s:
            return list(self._cache[1])
        spans = self._done + [replace(s, end_s=max(open_end_s, s.start_s)) for s in self._open.values()]
        spans.sort(key=lambda s: (s.start_s, s.index))
        seen = Counter(self._dropped)
        out = []
        for span in spans:
            seen[span.name] += 1
            out.append(span if seen[span.name] == 1 else replace(span, occurrence=seen[span.name]))
        self._cache = (open_end_s, out)
        return list(out)

    def drop_ended_before(self, t_s: float) -> None:
        """Forget finished spans that ended before ``t_s`` (bounded memory for live use), keeping at least one
        span; later spans keep their occurrence numbers."""
        while self._done and self._done[0].end_s < t_s and len(self._done) + len(self._open) > 1:
            self._dropped[self._done.pop(0).name] += 1
            self._cache = None


def phase_spans(events: Iterable[Event], open_end_s: float = math.inf) -> list[PhaseSpan]:
    """The protocol phases of ``events`` (phase markers in publication order; other events are skipped).

    Parameters
    ----------
    events : iterable of Event
        The session's events or markers.
    open_end_s : float
        Where a phase without an end marker ends (default ``inf``: still running).

    Returns
    -------
    list of PhaseSpan
        In order of start time (then index); see the module docstring for the rules.
    """
    builder = PhaseSpanBuilder()
    for e in events:
        if isinstance(e, PhaseMarker):
            builder.add(e)
    return builder.spans(open_end_s)
