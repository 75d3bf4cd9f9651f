"""A recorder on a failing disk: bounded retry, then the session ends with a true summary and a readable file."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest

import biotrainer.store.writer as writer_module
from biotrainer.cli import main
from biotrainer.core import events as ev
from biotrainer.core.bus import Bus
from biotrainer.store import Library, SessionReader
from biotrainer.store.library import free_space_warning, summarize
from biotrainer.store.writer import WRITE_RETRY_S, failure_message


@pytest.fixture
def lib(tmp_path) -> Library:
    return Library(tmp_path / "lib")


@pytest.fixture
def wall(monkeypatch):
    """The writer's wall clock for its retry window, moved by hand: ``wall[0] += 10``."""
    now = [1000.0]
    monkeypatch.setattr(writer_module, "_wall_s", lambda: now[0])
    return now


def packets(start: int, stop: int) -> list:
    return [ev.HrPacket(t_s=i * 0.1, raw=bytes([i % 256]) * 64) for i in range(start, stop)]


def fill_disk(w) -> None:
    """The "disk" is full from now on: SQLite answers SQLITE_FULL ("database or disk is full")."""
    (pages,) = w._conn.execute("PRAGMA page_count").fetchone()
    w._conn.execute(f"PRAGMA max_page_count = {pages}")


def test_failure_message_names_what_was_saved_and_lost():
    assert failure_message(True, 39.7, 24766, "x") == \
        "disk full: session saved up to 00:39, 24 766 events could not be written"
    assert failure_message(False, 3725.0, 3, "/a/b.sqlite: disk I/O error") == \
        "write failed (/a/b.sqlite: disk I/O error): session saved up to 1:02:05, 3 events could not be written"


def test_full_disk_gives_up_after_bounded_retry_and_leaves_a_readable_incomplete_file(lib, wall):
    w = lib.new_session(anchor_unix_s=1_795_000_000.0)
    told: list[str] = []
    w.on_failure = told.append
    bus = Bus()
    bus.subscribe(w)
    bus.publish(ev.SessionState(t_s=0.0, participant=ev.SESSION, state="start"))
    bus.publish_all(packets(1, 100))
    bus.tick(10.0)
    assert w.healthy and w.saved_up_to_s == pytest.approx(9.9)
    fill_disk(w)
    bus.publish_all(packets(100, 200))
    bus.tick(12.0)
    wall[0] += WRITE_RETRY_S / 2
    bus.tick(100.0)  # session time does not count (a sped-up session), wall time does
    assert not w.healthy and w.failure is None and w.pending_events == 100  # still retrying
    wall[0] += WRITE_RETRY_S / 2
    bus.tick(101.0)  # failing for the whole retry window: give up
    assert told == ["disk full: session saved up to 00:09, 100 events could not be written"]
    assert w.failure == told[0] and w.failure_reason == "disk full" and w.pending_events == 0
    bus.publish_all(packets(200, 250))  # arrives after giving up: counted, not kept
    bus.publish(ev.SessionState(t_s=25.0, participant=ev.SESSION, state="stop", reason="disk full"))
    assert w.pending_events == 0 and w.events_lost == 151
    bus.close()
    assert w.failure == "disk full: session saved up to 00:09, 151 events could not be written"
    with SessionReader(w.path) as r:
        assert not r.complete
        assert r.count("hr_packet") == 99 and r.duration_s == pytest.approx(9.9)
    assert summarize(w.path).state == "interrupted"


def test_buffer_is_bounded_in_memory_while_the_disk_is_full(lib, monkeypatch):
    monkeypatch.setattr(writer_module, "MAX_BUFFERED_BYTES_ON_FAILURE", 20_000)
    w = lib.new_session(anchor_unix_s=1_795_000_000.0)
    w(ev.HrPacket(t_s=0.0, raw=b"\x00\x40"))
    w.tick(1.0)
    fill_disk(w)
    for e in packets(20, 2000):
        w(e)
        assert w.pending_events * 64 <= 20_000  # never more than the bound (64-byte payloads)
    w.tick(1.5)
    assert w.failure is not None and w.failure.startswith("disk full: session saved up to 00:00, ")
    w.close()
    assert w.events_lost == 1980
    with SessionReader(w.path) as r:
        assert r.count("hr_packet") == 1 and not r.complete


class _NoSpaceConnection:
    """A connection whose writes fail like write(2) on a full disk: OSError(ENOSPC)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.in_transaction = False

    def execute(self, sql, *args):
        if sql.startswith("PRAGMA") or sql == "ROLLBACK":
            return self._conn.execute(sql, *args)
        raise OSError(errno.ENOSPC, "No space left on device")

    def executemany(self, sql, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        self._conn.close()


def test_injected_enospc_is_a_full_disk_too(lib, wall):
    w = lib.new_session(anchor_unix_s=1_795_000_000.0)
    w(ev.HrPacket(t_s=0.0, raw=b"\x00\x40"))
    w.tick(0.5)
    w._conn = _NoSpaceConnection(w._conn)
    for e in packets(10, 60):
        w(e)
    w.tick(2.0)
    assert not w.healthy and "No space left on device" in w.error
    wall[0] += WRITE_RETRY_S
    w.tick(3.0)
    assert w.failure == "disk full: session saved up to 00:00, 50 events could not be written"
    w.close()
    with SessionReader(w.path) as r:
        assert r.count("hr_packet") == 1 and not r.complete


def test_a_short_failure_inside_the_retry_window_loses_nothing(lib, wall):
    w = lib.new_session(anchor_unix_s=1_795_000_000.0)
    w(ev.HrPacket(t_s=0.0, raw=b"\x00\x40"))
    w.tick(0.5)
    fill_disk(w)
    for e in packets(1, 200):
        w(e)
    w.tick(20.0)
    assert not w.healthy
    w._conn.execute("PRAGMA max_page_count = 1073741823")
    wall[0] += WRITE_RETRY_S / 2
    w.tick(20.5)
    assert w.healthy and w.failure is None and w.events_written == 200
    w.close()
    with SessionReader(w.path) as r:
        assert r.complete and r.count("hr_packet") == 200


def test_low_free_space_is_warned_at_start(lib, monkeypatch, caplog):
    assert free_space_warning(lib.root.parent, low_bytes=1) is None
    warning = free_space_warning(lib.root.parent, low_bytes=1 << 62)
    assert warning.startswith("only ") and "MB free on the disk of" in warning
    import biotrainer.store.library as library_module

    monkeypatch.setattr(library_module, "LOW_SPACE_BYTES", 1 << 62)
    w = lib.new_session()
    assert w.warnings and w.warnings[0].startswith("only ") and w.status()["warnings"] == w.warnings
    assert any("MB free" in r.getMessage() for r in caplog.records)
    w.close()


def test_record_on_a_full_disk_stops_says_so_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    """The full-disk scenario end to end: the session ends soon after the disk fills, the summary says what the
    file holds (never more), the command fails with one line, and show/sessions read the file as incomplete."""
    real_connect = writer_module.connect_for_writing

    def small_disk(path):
        conn = real_connect(path)
        conn.execute("PRAGMA max_page_count = 60")  # about 240 kB for this session file
        return conn

    monkeypatch.setattr(writer_module, "connect_for_writing", small_disk)
    monkeypatch.setattr(writer_module, "WRITE_RETRY_S", 0.0)  # a simulated run is too fast for 10 s of wall time
    lib = str(tmp_path / "lib")
    code, out, err = _run(capsys, "record", "--device", "sim:ecg", "--duration", "1800", "--speed", "max",
                          "--seed", "3", "--no-metrics", "--library", lib, "--json", "--quiet")
    assert code == 1
    summary = json.loads(out)
    assert summary["end_reason"] == "disk full" and summary["complete"] is False
    assert err.strip().splitlines()[-1].startswith("biotrainer: error: disk full: session saved up to ")
    assert "Traceback" not in err and summary["events_lost"] > 0
    with Library(lib).open(summary["id"]) as r:
        held = r.duration_s
        assert not r.complete and r.count("ecg") > 0
    assert summary["duration_s"] == pytest.approx(held, abs=1e-3) and held < 600  # not the 1800 s asked for
    monkeypatch.setattr(writer_module, "connect_for_writing", real_connect)
    code, out, err = _run(capsys, "show", summary["id"], "--library", lib)
    assert code == 0 and "INCOMPLETE" in out


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
