"""The terminal's keys while ``record`` runs (cli/breath_count_keys.py): breath counting and the therapist's lock
of the adaptive pacer, one reader. No terminal needed: the bytes come from a stream."""

from __future__ import annotations

import io
from types import SimpleNamespace

from biotrainer.analysis.breath_counting import AUTHOR, COUNT, NINE
from biotrainer.cli.breath_count_keys import LOCK, keys_from_bytes, press_handler, read_presses, session_keys
from biotrainer.core.clock import VirtualClock
from biotrainer.core.events import Annotation
from biotrainer.core.pacer import LOCK_AUTHOR
from biotrainer.protocols import ProtocolRunner, load_protocol


def _session(protocol: str) -> SimpleNamespace:
    clock = VirtualClock(anchor_unix_s=0.0)
    notes: list[tuple[str, str]] = []
    runner = ProtocolRunner(load_protocol(protocol))
    return SimpleNamespace(protocol_runner=runner, clock=clock, notes=notes,
                           annotate=lambda text, author: notes.append((text, author)))


def test_the_adaptive_pacer_listens_to_the_lock_key_only_and_it_toggles_the_recorded_lock() -> None:
    session = _session("resonance-adaptive")
    keys, help_lines = session_keys(session)
    assert set(keys.values()) == {LOCK} and help_lines == ["Adaptive pacer: l locks the pacer rate, l again "
                                                           "unlocks it."]
    assert list(keys_from_bytes(io.BytesIO(b"cxl\x1b[BL").read, keys)) == [LOCK, LOCK]  # counting keys ignored
    runner = session.protocol_runner
    runner.events_until(200.0)
    session.clock.sleep_until(200.0)
    read_presses(io.BytesIO(b"l"), press_handler(session), keys)
    assert runner.locked and runner.change_rate(200.0, 5.8, "x") is None
    session.clock.sleep_until(260.0)
    read_presses(io.BytesIO(b"l"), press_handler(session), keys)
    assert not runner.locked and runner.change_rate(260.0, 5.8, "x") is not None
    notes = [(e.author, e.text) for e in runner.events_until(2000.0) if isinstance(e, Annotation)
             and e.author == LOCK_AUTHOR]
    assert [text for _, text in notes] == ["pacer locked at 6/min", "pacer unlocked at 6/min"]
    assert session.notes == []  # the lock is the runner's record, not a free annotation


def test_breath_counting_keys_become_annotations_and_have_no_lock() -> None:
    session = _session("breath-counting")
    keys, help_lines = session_keys(session)
    assert LOCK not in keys.values() and len(help_lines) == 1 and help_lines[0].startswith("Breath counting")
    read_presses(io.BytesIO(b"c\x1b[Cl"), press_handler(session), keys)
    assert session.notes == [(COUNT, AUTHOR), (NINE, AUTHOR)]


def test_a_session_without_a_protocol_reads_no_keys() -> None:
    assert session_keys(SimpleNamespace(protocol_runner=None)) == ({}, [])
