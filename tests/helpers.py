"""Shared helpers for the exchange/compare/report tests: record synthetic sessions into a temporary library."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biotrainer.core.bus import Bus
from biotrainer.core.clock import VirtualClock
from biotrainer.core.events import SESSION, Annotation, EcgFrame, Event
from biotrainer.core.session_runner import SessionRunner
from biotrainer.core.source import ScheduledSource

ANCHOR_UNIX_S = 1_790_000_000.0  # fixed wall clock of session time 0


class ListSource(ScheduledSource):
    """Replays a fixed list of events (time-ordered) as a scheduled source."""

    def __init__(self, events: list[Event]) -> None:
        self._events = sorted(events, key=lambda e: e.t_s)
        self._i = 0

    def events_until(self, t_s: float) -> list[Event]:
        out = []
        while self._i < len(self._events) and self._events[self._i].t_s <= t_s:
            out.append(self._events[self._i])
            self._i += 1
        return out

    @property
    def finished(self) -> bool:
        return self._i >= len(self._events)


def record(library, sources, *, participants=None, title="test", protocol_name="", anchor=ANCHOR_UNIX_S) -> str:
    """Run ``sources`` through a real SessionRunner into ``library``; returns the session id."""
    clock = VirtualClock(anchor_unix_s=anchor)
    writer = library.new_session(participants=participants or {"self": "P01"}, title=title, clock=clock,
                                 protocol_name=protocol_name, synthetic=True)
    bus = Bus()
    bus.subscribe(writer)
    SessionRunner(bus, sources=sources, clock=clock, tick_s=0.5).run()
    return writer.meta.id


def synthetic_session(library, duration_s: float = 90.0, seed: int = 3, *, gap: tuple[float, float] | None = None,
                      participants=None, anchor=ANCHOR_UNIX_S) -> str:
    """A SyntheticStrap session with an annotation; ``gap`` drops ECG/ACC frames in (start, end) seconds."""
    from biotrainer.sources.sim.synthetic import SyntheticStrap

    strap = SyntheticStrap(duration_s, seed=seed)
    events: list[Event] = []
    t = 0.0
    while not strap.finished:
        t += 1.0
        events.extend(strap.events_until(t))
    if gap is not None:
        events = [e for e in events
                  if not (e.KIND in ("ecg", "acc", "pmd_packet") and gap[0] <= e.t_s <= gap[1])]
    events.append(Annotation(t_s=33.3, participant=SESSION, text="client coughed", author="T1"))
    return record(library, [ListSource(events)], participants=participants, anchor=anchor)


def ecg_concat(events) -> np.ndarray:
    return np.concatenate([e.samples_uv for e in events if isinstance(e, EcgFrame)])


def tmp_library(tmp_path: Path):
    from biotrainer.store import Library

    return Library(tmp_path / "lib")
