"""Recording store: lossless round trips, crash safety, permissions, errors, library and participants."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import biotrainer.cli as cli
from biotrainer import __version__
from biotrainer.core import events as ev
from biotrainer.core.bus import Bus
from biotrainer.core.clock import VirtualClock
from biotrainer.core.errors import RecordingError, SessionNotFoundError, UsageError
from biotrainer.core.session_runner import SessionRunner
from biotrainer.sources.sim.synthetic import SyntheticStrap
from biotrainer.store import Library, ParticipantNotFoundError, SessionReader
from biotrainer.store.paths import LIBRARY_ENV, library_dir

RNG = np.random.default_rng(20261126)


def every_kind() -> list:
    """One or more events of every recorded kind, with edge values (all byte values, 24-bit ECG, int16 ACC)."""
    ecg = RNG.integers(-(1 << 23), 1 << 23, size=73).astype(np.int32)
    ecg[:2] = [-(1 << 23), (1 << 23) - 1]
    acc = RNG.integers(-32768, 32767, size=(36, 3)).astype(np.int16)
    acc[0] = [-32768, 32767, 0]
    return [
        ev.SessionState(t_s=0.0, participant=ev.SESSION, state="start"),
        ev.Connection(t_s=0.01, state="connected", device="AA:BB", reason=""),
        ev.HrPacket(t_s=0.5, raw=bytes(range(256)), device="AA:BB"),
        ev.HrPacket(t_s=0.6, raw=b"", device="AA:BB"),
        ev.PmdPacket(t_s=0.7, raw=b"\x00" * 10 + bytes([255, 0, 128]), device="AA:BB"),
        ev.Beat(t_s=1.0, rr_1024=853, beat_t_s=0.93, participant="client", device="AA:BB"),
        ev.Beat(t_s=1.0, rr_1024=65535, beat_t_s=1.0, source="ecg"),
        ev.HeartRate(t_s=1.0, hr_bpm=72, contact=None, energy_kj=12),
        ev.HeartRate(t_s=1.1, hr_bpm=300, contact=True),
        ev.Contact(t_s=1.2, contact=False),
        ev.Battery(t_s=1.3, percent=87),
        ev.DecodeError(t_s=1.4, stream="hr", reason="RR field has odd length (3 bytes)"),
        ev.EcgFrame(t_s=1.5, fs_hz=130.0, samples_uv=ecg, last_sample_t_s=1.49, sensor_ts_ns=2**62 + 7),
        ev.EcgFrame(t_s=1.6, fs_hz=130.0, samples_uv=np.zeros(0, np.int32), last_sample_t_s=1.6),
        ev.AccFrame(t_s=1.7, fs_hz=200.0, samples_mg=acc, last_sample_t_s=1.69, sensor_ts_ns=None),
        ev.PacerMarker(t_s=2.0, participant=ev.SESSION, segment="inhale", rate_per_min=5.5, breath_index=3,
                    duration_s=4.3636),
        ev.PhaseMarker(t_s=2.1, participant=ev.SESSION, name="paced", index=1, state="start", duration_s=300,
                    paced=True, rate_per_min=None, feedback=False),
        ev.Cue(t_s=2.2, participant=ev.SESSION, text="Atme ruhig · 呼吸 \u2014 \"quoted\"\n2nd line"),
        ev.Annotation(t_s=2.3, participant=ev.SESSION, text="", author="T1"),
        ev.SessionState(t_s=2.4, participant=ev.SESSION, state="pause"),
        ev.SessionState(t_s=2.5, participant=ev.SESSION, state="stop", reason="stopped"),
    ]


@pytest.fixture
def lib(tmp_path) -> Library:
    return Library(tmp_path / "lib")


def record(lib: Library, duration_s: float = 20.0, seed: int = 1, session_id: str | None = None, **meta):
    """Run a synthetic session through the runner into the library; returns (session id, published events)."""
    clock = VirtualClock(anchor_unix_s=1_795_000_000.0)
    bus = Bus()
    published: list = []
    bus.subscribe(published.append)
    writer = lib.new_session(clock=clock, session_id=session_id, **meta)
    bus.subscribe(writer)
    result = SessionRunner(bus, sources=[SyntheticStrap(duration_s, seed=seed)], clock=clock).run()
    assert result.listener_errors == {}
    return writer.meta.id, published


def run_cli(argv, monkeypatch, capsys, stdin_text: str | None = None):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sessions", "replay", "participants"))
    if stdin_text is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin_text))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- round trips -----------------------------------------------------------------------------------------------

def test_every_event_kind_round_trips_exactly_and_metrics_are_skipped(lib):
    events = every_kind()
    w = lib.new_session(participants={"client": "P07"}, anchor_unix_s=1_795_000_000.0)
    for e in events[:5]:
        w(e)
    w(ev.MetricUpdate(t_s=0.8, participant="client", values={"hr_bpm": 70.0}))
    for e in events[5:]:
        w(e)
    w.close()
    with lib.open(w.meta.id) as r:
        back = list(r.events())
    assert back == events
    assert len(back) == len(events)
    for a, b in zip(back, events, strict=True):
        assert type(a) is type(b)
        if isinstance(a, (ev.HrPacket, ev.PmdPacket)):
            assert a.raw == b.raw and isinstance(a.raw, bytes)
        if isinstance(a, ev.EcgFrame):
            assert a.samples_uv.dtype == np.int32 and np.array_equal(a.samples_uv, b.samples_uv)
        if isinstance(a, ev.AccFrame):
            assert a.samples_mg.dtype == np.int16 and a.samples_mg.shape == b.samples_mg.shape
            assert np.array_equal(a.samples_mg, b.samples_mg)


def test_session_run_records_every_published_event_and_header(lib):
    toml = 'name = "paced"\n[[phases]]\nname = "paced"\nduration_s = 20\n'
    sid, published = record(lib, participants={"self": "P01"}, protocol_name="paced", protocol_toml=toml,
                            settings={"window_s": 60}, devices=[{"id": "SYN", "name": "Sim", "model": "H10"}],
                            title="t", notes="n", synthetic=True)
    with lib.open(sid) as r:
        assert list(r.events()) == published
        m = r.meta
        assert r.complete and m.end_reason == "sources finished"
        assert m.participants == {"self": "P01"} and m.protocol_toml == toml and m.settings == {"window_s": 60}
        assert m.app_version == __version__ and m.synthetic and m.title == "t" and m.notes == "n"
        assert m.anchor_unix_s == 1_795_000_000.0
        assert m.started_at.endswith(("+00:00", "Z")) or m.started_at[-6] in "+-"
        stop = published[-1]
        assert r.duration_s == pytest.approx(stop.t_s - published[0].t_s)
        counts = r.counts()
        assert sum(counts.values()) == len(published)
        assert m.completed["counts"] == counts
        assert sid.startswith("2026") and len(sid) == 20


def test_bulk_accessors_equal_the_events(lib):
    sid, published = record(lib, duration_s=15)
    with lib.open(sid) as r:
        beats = [e for e in published if isinstance(e, ev.Beat)]
        b = r.beats()
        assert len(b) == len(beats) > 10
        assert np.array_equal(b.rr_1024, [e.rr_1024 for e in beats])
        assert np.array_equal(b.rr_ms, [e.rr_ms for e in beats])
        assert np.array_equal(b.beat_t_s, [e.beat_t_s for e in beats])
        assert np.array_equal(b.arrival_t_s, [e.t_s for e in beats])
        assert len(r.beats(participant="client")) == 0
        hrs = [e for e in published if isinstance(e, ev.HeartRate)]
        assert np.array_equal(r.hr().hr_bpm, [e.hr_bpm for e in hrs])
        frames = [e for e in published if isinstance(e, ev.EcgFrame)]
        ecg = r.ecg()
        assert np.array_equal(ecg.samples, np.concatenate([f.samples_uv for f in frames]))
        assert np.allclose(ecg.t_s, np.concatenate([f.sample_times_s() for f in frames]), rtol=0, atol=1e-9)
        assert ecg.fs_hz == 130.0 and ecg.samples.dtype == np.int32
        assert np.array_equal(ecg.frame_start, np.arange(len(frames)) * 73)
        acc_frames = [e for e in published if isinstance(e, ev.AccFrame)]
        acc = r.acc()
        assert acc.samples.shape == (36 * len(acc_frames), 3) and acc.samples.dtype == np.int16
        assert np.array_equal(acc.samples, np.concatenate([f.samples_mg for f in acc_frames]))
        assert np.allclose(acc.t_s, np.concatenate([f.sample_times_s() for f in acc_frames]), atol=1e-9)
        phases = r.phases()
        assert [(p.name, p.start_s, p.end_s, p.ended) for p in phases] == [("paced", 0.0, 15.0, True)]
        markers = r.markers()
        assert {e.KIND for e in markers} == {"phase", "pacer", "cue", "session"}
        assert markers == [e for e in published if e.KIND in {"phase", "pacer", "cue", "session"}]


def test_sql_views_give_the_same_numbers_without_biotrainer(lib):
    sid, published = record(lib, duration_s=10)
    path = lib.session_path(sid)
    con = sqlite3.connect(path)
    rows = con.execute("SELECT t_s, beat_t_s, rr_1024, rr_ms, source, participant FROM beats ORDER BY seq").fetchall()
    beats = [e for e in published if isinstance(e, ev.Beat)]
    assert [(r[2], r[3], r[4]) for r in rows] == [(e.rr_1024, e.rr_ms, e.source) for e in beats]
    blob, n, last_t, fs = con.execute(
        "SELECT samples_uv_int32le, n_samples, last_sample_t_s, fs_hz FROM ecg_frames ORDER BY seq").fetchone()
    first = next(e for e in published if isinstance(e, ev.EcgFrame))
    assert np.array_equal(np.frombuffer(blob, "<i4"), first.samples_uv) and n == 73
    assert (last_t, fs) == (first.last_sample_t_s, 130.0)
    acc_blob = con.execute("SELECT samples_mg_int16le_xyz FROM acc_frames ORDER BY seq").fetchone()[0]
    first_acc = next(e for e in published if isinstance(e, ev.AccFrame))
    assert np.array_equal(np.frombuffer(acc_blob, "<i2").reshape(-1, 3), first_acc.samples_mg)
    raw = con.execute("SELECT raw FROM packets WHERE kind = 'hr_packet' ORDER BY seq").fetchone()[0]
    assert raw == next(e for e in published if isinstance(e, ev.HrPacket)).raw
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["id"]) == sid and "completed" in meta
    hr_n = con.execute("SELECT count(*) FROM hr").fetchone()[0]
    assert hr_n == sum(isinstance(e, ev.HeartRate) for e in published)
    con.close()


# --- crash safety ------------------------------------------------------------------------------------------------

CRASH_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from biotrainer.core.clock import RealClock
    from biotrainer.core.events import EcgFrame, HrPacket, SessionState
    from biotrainer.store import Library

    clock = RealClock()
    w = Library(sys.argv[1]).new_session(participants={"self": "CRASH"}, clock=clock,
                                         session_id="20261126-000000-dead", protocol_name="crash")
    w(SessionState(t_s=0.0, participant="session", state="start"))
    k = 0
    while True:
        now = clock.now_s()
        while k * 0.02 <= now:
            t = k * 0.02
            w(HrPacket(t_s=t, raw=k.to_bytes(4, "little"), device="D"))
            if k % 10 == 0:
                w(EcgFrame(t_s=t, fs_hz=130.0, samples_uv=np.arange(73, dtype=np.int32) + k, last_sample_t_s=t))
            k += 1
        w.tick(now)
        print(f"{now:.6f}", flush=True)
        time.sleep(0.01)
""")


@pytest.mark.slow  # a real recording subprocess killed mid-session
def test_sigkill_mid_session_keeps_everything_but_the_last_second(lib):
    proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(lib.root)], stdout=subprocess.PIPE,
                            text=True)
    try:
        last_seen_s = 0.0
        for line in proc.stdout:
            last_seen_s = float(line)
            if last_seen_s >= 2.0:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert last_seen_s >= 2.0
    [summary] = lib.list_sessions()
    assert summary.id == "20261126-000000-dead"
    assert not summary.complete and summary.state == "interrupted"
    assert summary.participants == {"self": "CRASH"} and summary.protocol == "crash"
    with lib.open("20261126-000000-dead") as r:
        assert not r.complete
        packets = list(r.events(kinds=["hr_packet"]))
        ks = [int.from_bytes(p.raw, "little") for p in packets]
        assert ks == list(range(len(ks)))  # a gap-free prefix, bytes exact
        assert all(p.t_s == k * 0.02 for p, k in zip(packets, ks, strict=True))
        # the process printed last_seen_s after its tick, so the kill came later: at most 1 s may be lost
        assert packets[-1].t_s >= last_seen_s - 1.0
        ecg = r.ecg()
        assert len(ecg) == 73 * len([k for k in ks if k % 10 == 0])
        assert r.duration_s == pytest.approx(max(p.t_s for p in r.events()))


# --- write failures ---------------------------------------------------------------------------------------------

def test_full_disk_keeps_events_in_memory_flags_it_and_recovers(lib):
    w = lib.new_session(anchor_unix_s=1_795_000_000.0)
    bus = Bus()
    bus.subscribe(w)
    events = [ev.HrPacket(t_s=i * 0.1, raw=bytes([i % 256]) * 64) for i in range(400)]
    bus.publish_all(events[:100])
    bus.tick(10.0)
    assert w.healthy and w.pending_events == 0
    (pages,) = w._conn.execute("PRAGMA page_count").fetchone()
    w._conn.execute(f"PRAGMA max_page_count = {pages}")  # the "disk" is now full
    bus.publish_all(events[100:300])
    bus.tick(20.0)
    assert not w.healthy and "full" in w.error and w.pending_events == 200
    bus.publish_all(events[300:])
    bus.tick(21.0)
    assert not w.healthy and w.pending_events == 300 and bus.errors == {}
    with SessionReader(w.path) as r:  # committed data is still readable meanwhile
        assert r.count("hr_packet") == 100
    w._conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    bus.tick(22.0)
    assert w.healthy and w.error is None and w.pending_events == 0 and w.events_written == 400
    w.close()
    with SessionReader(w.path) as r:
        assert list(r.events()) == events and r.complete


# --- files, permissions, errors ---------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_library_files_are_private(lib):
    w = lib.new_session()
    w(ev.HrPacket(t_s=0.1, raw=b"\x00\x40"))
    w.tick(1.0)
    wal = w.path.with_name(w.path.name + "-wal")
    assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
    w.close()
    lib.participants.add("P1")
    assert stat.S_IMODE(lib.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(lib.sessions_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(w.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((lib.root / "participants.sqlite").stat().st_mode) == 0o600
    assert not wal.exists()  # a finished session is one self-contained file


def test_corrupt_and_foreign_files_give_one_line_recording_errors(tmp_path, lib, monkeypatch, capsys):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RecordingError) as err:
        SessionReader(junk)
    assert "junk.sqlite" in str(err.value) and "\n" not in str(err.value)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x (y)")
    con.close()
    with pytest.raises(RecordingError, match="other.sqlite: not a biotrainer session"):
        SessionReader(other)
    with pytest.raises(RecordingError, match="no such session file"):
        SessionReader(tmp_path / "missing.sqlite")
    # a session file cut in half: readable header or a clean error, never a traceback from the CLI
    sid, _ = record(lib, duration_s=10)
    data = lib.session_path(sid).read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 2])
    code, out, err = run_cli(["show", str(cut)], monkeypatch, capsys)
    assert code == 1 and err.count("\n") == 1 and "cut.sqlite" in err and "Traceback" not in err
    code, out, err = run_cli(["show", str(junk)], monkeypatch, capsys)
    assert code == 1 and err.startswith("biotrainer: error: ") and "junk.sqlite" in err and err.count("\n") == 1
    # listing never fails on a bad file in the library: it is listed as unreadable
    (lib.sessions_dir / "20200101-000000-bad0.sqlite").write_bytes(b"garbage" * 50)
    states = {s.id: s.state for s in lib.list_sessions()}
    assert states == {sid: "complete", "20200101-000000-bad0": "unreadable"}


def test_open_by_id_prefix_and_path(lib, tmp_path):
    a, _ = record(lib, duration_s=3, session_id="20261126-100000-aaaa")
    b, _ = record(lib, duration_s=3, session_id="20261126-110000-bbbb")
    assert lib.open("20261126-10").id == a
    assert lib.open(b).id == b
    assert lib.open(str(lib.session_path(b))).id == b
    with pytest.raises(UsageError, match="matches 2 sessions"):
        lib.resolve("20261126")
    with pytest.raises(SessionNotFoundError, match="no session 'zzz'"):
        lib.open("zzz")
    with pytest.raises(SessionNotFoundError):
        lib.open(str(tmp_path / "nope.sqlite"))
    assert [s.id for s in lib.list_sessions()] == [a, b]


def test_library_location_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv(LIBRARY_ENV, str(tmp_path / "env"))
    assert library_dir() == tmp_path / "env"
    assert library_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv(LIBRARY_ENV)
    assert library_dir().parts[-2:] == ("biotrainer", "library")


# --- library operations ---------------------------------------------------------------------------------------

def test_rename_annotate_notes_delete(lib):
    sid, published = record(lib, duration_s=10, participants={"client": "P2"})
    assert lib.rename(sid[:12], "Evening").title == "Evening"
    ann = lib.annotate(sid, 4.25, "coughed", author="T1")
    lib.set_notes(sid, "calm")
    with pytest.raises(UsageError, match="outside the session"):
        lib.annotate(sid, 99.0, "late")
    with lib.open(sid) as r:
        assert r.meta.title == "Evening" and r.meta.notes == "calm"
        assert r.annotations() == [ann]
        evs = list(r.events())
        assert evs[:-1] == published and evs[-1] == ann  # appended, nothing rewritten
        assert r.summary()["annotations"] == [{"t_s": 4.25, "text": "coughed", "author": "T1"}]
    assert [s.participant for s in lib.list_sessions(participant="P2")] == ["P2"]
    assert lib.list_sessions(participant="client")[0].id == sid
    assert lib.list_sessions(participant="P3") == []
    path = lib.delete(sid)
    assert not path.exists() and lib.list_sessions() == []
    with pytest.raises(SessionNotFoundError):
        lib.delete(sid)
    live = lib.new_session()  # written by this (alive) process: not deleted by accident
    live.tick(1.0)
    assert lib.list_sessions()[0].state == "recording"
    with pytest.raises(RecordingError, match="still being recorded"):
        lib.delete(live.meta.id)
    live.close()
    assert lib.list_sessions()[0].state == "complete"
    lib.delete(live.meta.id)
    assert lib.list_sessions() == []


def test_devices_known_later_are_written_into_the_header(lib):
    w = lib.new_session(participants={"self": "P1"})
    w(ev.SessionState(t_s=0.0, participant=ev.SESSION, state="start"))
    w.set_meta(devices=[{"id": "AA", "name": "Polar H10 1", "model": "H10", "participant": "self"}],
               custom_key=3)
    w.tick(1.0)
    with SessionReader(w.path) as r:
        assert r.meta.devices[0]["model"] == "H10" and r.meta.extra == {"custom_key": 3}
        assert not r.complete
    w(ev.SessionState(t_s=2.0, participant=ev.SESSION, state="stop", reason="stopped"))
    w.close()
    with SessionReader(w.path) as r:
        assert r.complete and r.meta.end_reason == "stopped" and r.duration_s == 2.0


# --- participants ------------------------------------------------------------------------------------------------

def test_participants_crud_and_resonance_rate(lib):
    ps = lib.participants
    assert ps.list() == []
    p = ps.add("P07", role="client", notes="first")
    assert p.created_at and p.resonance_rate_per_min is None
    ps.add("T1", role="therapist")
    with pytest.raises(UsageError, match="already exists"):
        ps.add("P07")
    with pytest.raises(UsageError, match="role 'boss'"):
        ps.add("X", role="boss")
    with pytest.raises(UsageError, match="empty"):
        ps.add("   ")
    with pytest.raises(ParticipantNotFoundError):
        ps.get("nobody")
    assert [q.pseudonym for q in ps.list()] == ["P07", "T1"]
    assert [q.pseudonym for q in ps.list(role="therapist")] == ["T1"]
    assert ps.update("P07", notes="second").notes == "second"
    assert ps.update("P07", role="self").role == "self"
    r = ps.set_resonance_rate("P07", 5.5, session_id="20261126-100000-aaaa", assessed_at="2026-11-26")
    assert (r.resonance_rate_per_min, r.resonance_session_id, r.resonance_assessed_at) == \
        (5.5, "20261126-100000-aaaa", "2026-11-26")
    assert ps.get("P07") == r
    with pytest.raises(UsageError, match="outside"):
        ps.set_resonance_rate("P07", 40.0)
    with pytest.raises(UsageError, match="outside"):
        ps.set_resonance_rate("P07", float("nan"))


# --- CLI ---------------------------------------------------------------------------------------------------------

def test_cli_sessions_show_rename_annotate_delete(lib, monkeypatch, capsys):
    sid, published = record(lib, duration_s=10, participants={"self": "P9"}, protocol_name="paced")
    L = ["--library", str(lib.root)]
    code, out, _ = run_cli(["sessions", "--json", *L], monkeypatch, capsys)
    [row] = json.loads(out)
    assert code == 0 and row["id"] == sid and row["participant"] == "P9" and row["protocol"] == "paced"
    assert row["complete"] is True and row["duration_s"] == pytest.approx(10.0, abs=0.1)
    code, out, _ = run_cli(["sessions", *L], monkeypatch, capsys)
    assert sid in out and "complete" in out
    code, out, _ = run_cli(["show", sid[:10], "--json", *L], monkeypatch, capsys)
    info = json.loads(out)
    assert info["counts"]["beat"] == sum(isinstance(e, ev.Beat) for e in published)
    assert info["phases"][0]["name"] == "paced"
    assert run_cli(["rename", sid, "New title", *L], monkeypatch, capsys)[0] == 0
    assert run_cli(["annotate", sid, "--at", "2.5", "a", "note", *L], monkeypatch, capsys)[0] == 0
    assert run_cli(["annotate", sid, "--notes", "slept badly", *L], monkeypatch, capsys)[0] == 0
    code, out, _ = run_cli(["show", sid, *L], monkeypatch, capsys)
    assert "New title" in out and "a note" in out and "slept badly" in out
    code, out, err = run_cli(["annotate", sid, "--at", "x", *L], monkeypatch, capsys)
    assert code == 2 and "'x'" in err
    code, out, err = run_cli(["delete", sid, *L], monkeypatch, capsys, stdin_text="")
    assert code == 2 and "pass --yes" in err and lib.session_path(sid).exists()
    code, out, err = run_cli(["delete", sid, *L], monkeypatch, capsys, stdin_text="n\n")
    assert code == 1 and f"Delete session {sid} (" in err and lib.session_path(sid).exists()
    code, out, err = run_cli(["delete", sid, *L], monkeypatch, capsys, stdin_text="y\n")
    assert code == 0 and not lib.session_path(sid).exists()
    code, out, err = run_cli(["show", sid, *L], monkeypatch, capsys)
    assert code == 1 and "no session" in err


def test_cli_participants(lib, monkeypatch, capsys):
    L = ["--library", str(lib.root)]
    assert run_cli(["participants", "add", "P1", "--role", "client", *L], monkeypatch, capsys)[0] == 0
    code, out, err = run_cli(["participants", "add", "P1", *L], monkeypatch, capsys)
    assert code == 2 and "already exists" in err
    sid, _ = record(lib, duration_s=3, participants={"client": "P1"})
    code, out, _ = run_cli(["participants", "set", "P1", "--resonance-rate", "5.5", "--session", sid[:10], *L],
                           monkeypatch, capsys)
    assert code == 0
    code, out, _ = run_cli(["participants", "show", "P1", "--json", *L], monkeypatch, capsys)
    d = json.loads(out)
    assert d["resonance_rate_per_min"] == 5.5 and d["resonance_session_id"] == sid and d["sessions"] == [sid]
    code, out, _ = run_cli(["participants", "--json", *L], monkeypatch, capsys)
    assert [p["pseudonym"] for p in json.loads(out)] == ["P1"]
    code, out, _ = run_cli(["participants", "list", *L], monkeypatch, capsys)
    assert "P1" in out and "5.5/min" in out


def test_unknown_event_kinds_from_a_newer_version_are_skipped(lib, caplog):
    sid, published = record(lib, duration_s=5)
    con = sqlite3.connect(lib.session_path(sid))
    con.execute("INSERT INTO events (kind, t_s, participant, device, data) VALUES ('future', 1.0, 'self', '', '{}')")
    con.commit()
    con.close()
    from biotrainer.sources.replay import ReplaySource

    with lib.open(sid) as r:
        assert list(r.events()) == published
        assert ReplaySource(r, include_lifecycle=True, batch=5).events_until(1e9) == published
        assert r.counts()["future"] == 1
    assert "unknown kind 'future'" in caplog.text


def test_two_straps_two_participants(lib, tmp_path):
    clock = VirtualClock(anchor_unix_s=1_795_000_000.0)
    bus = Bus()
    published: list = []
    bus.subscribe(published.append)
    w = lib.new_session(clock=clock, participants={"client": "P1", "therapist": "T1"})
    bus.subscribe(w)
    straps = [SyntheticStrap(8.0, seed=1, participant="client", device="C", markers=True),
              SyntheticStrap(8.0, seed=2, participant="therapist", device="T", markers=False, acc=False)]
    SessionRunner(bus, sources=straps, clock=clock).run()
    # a shipped example is opened by its path, from anywhere
    example = tmp_path / "examples" / "two.sqlite"
    example.parent.mkdir()
    example.write_bytes(w.path.read_bytes())
    with Library(tmp_path / "other-lib").open(str(example)) as r:
        assert list(r.events()) == published
        assert r.participants() == ["client", "therapist"]
        b = r.beats()
        assert set(b.participant) == {"client", "therapist"}
        assert len(r.beats("client")) + len(r.beats("therapist")) == len(b)
        with pytest.raises(UsageError, match="several sources"):
            r.ecg()
        client, therapist = r.ecg("client"), r.ecg("therapist")
        assert client.device == "C" and therapist.device == "T" and len(client) == len(therapist) > 0
        assert len(r.acc()) > 0 and r.acc().participant == "client"
        assert r.hr("therapist").participant.tolist() == ["therapist"] * len(r.hr("therapist"))


def test_damaged_and_foreign_files_are_named_by_their_sqlite_result_code(tmp_path):
    """The reader chooses its words by SQLite's result code (SQLITE_CORRUPT, SQLITE_NOTADB), not message text."""
    import shutil

    src = Path(__file__).resolve().parents[2] / "recordings" / "synthetic-faults-baseline.sqlite"
    damaged = tmp_path / "damaged.sqlite"
    shutil.copy(src, damaged)
    data = bytearray(damaged.read_bytes())
    data[4096:4096 * 6] = b"\x5a" * (4096 * 5)  # overwrite pages after the header page
    damaged.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="damaged.sqlite: the SQLite file is damaged"):
        reader = SessionReader(damaged)
        list(reader.events())
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_bytes(b"hello world " * 400)
    with pytest.raises(RecordingError, match="foreign.sqlite: not a SQLite file"):
        SessionReader(foreign)
