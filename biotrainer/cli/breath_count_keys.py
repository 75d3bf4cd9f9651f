"""The terminal's keys while ``biotrainer record`` runs (the one key reader of the terminal view):

- the breath counting task (``--protocol breath-counting``): Down (or ``c``) on breaths 1-8, Right (or ``n``) on
  breath 9, Up (or ``r``) when you lost count. Each press becomes an annotation by ``breath-count``
  (:mod:`biotrainer.analysis.breath_counting`);
- the therapist's lock of an adaptive pacer (``resonance-adaptive``): ``l`` locks the rate, ``l`` again unlocks
  it (:meth:`biotrainer.protocols.runner.ProtocolRunner.set_locked`, recorded with author ``therapist``).

Keys are read without Enter while the terminal is interactive; the terminal is restored when the session ends."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from biotrainer.analysis.breath_counting import AUTHOR, COUNT, NINE, RESET

PROTOCOL = "breath-counting"
SEQUENCES = {b"\x1b[B": COUNT, b"\x1b[C": NINE, b"\x1b[A": RESET, b"c": COUNT, b"n": NINE, b"r": RESET}
LOCK = "lock"  # the therapist's lock key's meaning (toggles)
LOCK_SEQUENCES = {b"l": LOCK, b"L": LOCK}


def keys_from_bytes(read: Callable[[int], bytes], sequences: Mapping[bytes, str] = SEQUENCES) -> Iterator[str]:
    """The keys of ``sequences`` in what ``read(1)`` returns, until it returns b"" (arrow keys are escape
    sequences)."""
    buf = b""
    while True:
        ch = read(1)
        if not ch:
            return
        buf = buf + ch if buf or ch == b"\x1b" else ch
        if buf in sequences:
            yield sequences[buf]
            buf = b""
        elif not any(s.startswith(buf) for s in sequences):
            buf = b""


def read_presses(stream: BinaryIO, press: Callable[[str], None], sequences: Mapping[bytes, str] = SEQUENCES) -> None:
    """Call ``press(key)`` for every key of ``sequences`` read from ``stream`` until it ends."""
    for key in keys_from_bytes(stream.read, sequences):
        press(key)


def session_keys(session: Any) -> tuple[dict[bytes, str], list[str]]:
    """The keys that ``session`` (a live session) listens to, and one help line per task."""
    runner = session.protocol_runner
    keys: dict[bytes, str] = {}
    help_lines: list[str] = []
    if runner is None:
        return keys, help_lines
    if runner.protocol.name == PROTOCOL:
        keys.update(SEQUENCES)
        help_lines.append("Breath counting: Down (c) on breaths 1-8, Right (n) on breath 9, Up (r) when you lost "
                          "count.")
    if runner.has_adaptive_phase:
        keys.update(LOCK_SEQUENCES)
        help_lines.append("Adaptive pacer: l locks the pacer rate, l again unlocks it.")
    return keys, help_lines


def press_handler(session: Any) -> Callable[[str], None]:
    """What a key does in ``session``: the lock key toggles the therapist's lock at the session's time, the
    breath counting keys become annotations."""
    def press(key: str) -> None:
        runner = session.protocol_runner
        if key == LOCK:
            runner.set_locked(session.clock.now_s(), not runner.locked)
        else:
            session.annotate(key, AUTHOR)

    return press


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
    """Read the session's keys (:func:`session_keys`) from an interactive terminal on a thread; returns the
    function that stops the thread and restores the terminal (before anything else reads the terminal, e.g. the
    self-report), or None when stdin is not a terminal or the session has no keys."""
    keys, help_lines = session_keys(session)
    if not keys or not sys.stdin.isatty():
        return None
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    stop = threading.Event()
    reader = _poll_reader(fd, stop)
    press = press_handler(session)
    thread = threading.Thread(target=lambda: [press(k) for k in keys_from_bytes(reader, keys)],
                              name="biotrainer-terminal-keys", daemon=True)
    thread.start()
    sys.stderr.write("".join(f"{line}\n" for line in help_lines))

    def restore() -> None:
        stop.set()
        thread.join(timeout=1.0)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return restore
