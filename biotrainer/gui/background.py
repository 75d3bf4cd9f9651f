"""Work off the GUI thread: the one way a screen computes something slow and gets the answer back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def compute_in_background(work: Callable[[], Any], deliver: Callable[[Any], None], name: str,
                          failed: Callable[[Exception], Any] = str) -> threading.Thread:
    """Run ``work()`` on a daemon thread and hand its result to ``deliver`` (a function emitting a Qt signal, queued
    to the GUI thread); an exception is handed over as ``failed(exc)`` instead (by default its text), never raised.

    ``deliver`` must look the signal up when it is called (``lambda out: self.ready.emit(out)``, not
    ``self.ready.emit``): a screen closed meanwhile then raises RuntimeError, and the result is dropped, where a
    bound signal of a deleted object would crash the process."""

    def run() -> None:
        try:
            out = work()
        except Exception as exc:  # noqa: BLE001 - shown by the screen
            log.debug("%s failed", name, exc_info=True)
            out = failed(exc)
        try:
            deliver(out)
        except RuntimeError:  # the screen was closed and deleted meanwhile
            log.debug("%s: its screen is gone, result dropped", name)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
