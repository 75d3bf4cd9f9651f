"""Small helpers for tests against emulated straps: collect events, wait for a condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from biotrainer.core.events import Event
from tests.emulated.backend import make_backend
from tests.emulated.radio import Radio

WAIT_LIMIT_S = 15.0  # a generous bound for "this should happen": failing it means it did not happen


class Collector:
    """Thread-safe event sink with a session clock starting at creation."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def now_s(self) -> float:
        return time.monotonic() - self._t0

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: str, participant: str | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.KIND == kind and (participant is None or e.participant == participant)]

    def states(self) -> list[str]:
        return [e.state for e in self.of("connection")]  # type: ignore[attr-defined]


def wait_until(predicate: Callable[[], bool], what: str, limit_s: float = WAIT_LIMIT_S) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.01)


@contextmanager
def emulated_radio() -> Iterator[tuple[Radio, tuple[type, type]]]:
    radio = Radio()
    try:
        yield radio, make_backend(radio)
    finally:
        radio.close()
