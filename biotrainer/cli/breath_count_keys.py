"""The breath counting task's keys in the terminal (``biotrainer record --protocol breath-counting``): Down (or
``c``) on breaths 1-8, Right (or ``n``) on breath 9, Up (or ``r``) when you lost count. Each press becomes an
annotation by ``breath-count`` (:mod:`biotrainer.analysis.breath_counting`). Keys are read without Enter while the
terminal is interactive; the terminal is restored when the session ends."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from biotrainer.analysis.breath_counting import AUTHOR, COUNT, NINE, RESET

PROTOCOL = "breath-counting"
SEQUENCES = {b"\x1b[B": COUNT, b"\x1b[C": NINE, b"\x1b[A": RESET, b"c": COUNT, b"n": NINE, b"r": RESET}


def keys_from_bytes(read: Callable[[int], bytes]) -> Iterator[str]:
    """The task's keys in what ``read(1)`` returns, until it returns b"" (arrow keys are escape sequences)."""
    buf = b""
    while True:
        ch = read(1)
        if not ch:
            return
        buf = buf + ch if buf or ch == b"\x1b" else ch
        if buf in SEQUENCES:
            yield SEQUENCES[buf]
            buf = b""
        elif not any(s.startswith(buf) for s in SEQUENCES):
            buf = b""


def read_presses(stream: BinaryIO, press: Callable[[str], None]) -> None:
    """Call ``press(key)`` for every task key read from ``stream`` until it ends."""
    for key in keys_from_bytes(stream.read):
        press(key)


def _poll_reader(fd: int, stop: threading.Event) -> Callable[[int], bytes]:
    """``read(1)`` on ``fd`` that returns b"" once ``stop`` is set (polled every 0.2 s), so the thread ends."""
    import os
    import select

    def read(n: int) -> bytes:
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                return os.read(fd, n)
        return b""

    return read


def start_key_reader(session: Any) -> Callable[[], None] | None:
    """Read the task's keys from an interactive terminal into ``session`` (a live session with ``annotate``) on a
    thread; returns the function that stops the thread and restores the terminal (before anything else reads the
    terminal, e.g. the self-report), or None when stdin is not a terminal."""
    if not sys.stdin.isatty():
        return None
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    stop = threading.Event()
    reader = _poll_reader(fd, stop)
    thread = threading.Thread(target=lambda: [session.annotate(k, AUTHOR) for k in keys_from_bytes(reader)],
                              name="biotrainer-breath-keys", daemon=True)
    thread.start()
    sys.stderr.write("Breath counting: Down (c) on breaths 1-8, Right (n) on breath 9, Up (r) when you lost count.\n")

    def restore() -> None:
        stop.set()
        thread.join(timeout=1.0)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore
