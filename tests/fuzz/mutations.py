"""Seeded mutations of biotrainer session files for the fuzz suite.

Each mutation changes one thing a damaged, hand-edited or hostile file could hold: an event's time or field
(null, wrong type, out of range, missing, unknown), its JSON or text encoding, its blob, its kind; a header value
(invalid JSON or UTF-8, wrong type, absurd number); a missing table or row; flipped or cut bytes. The mutation of
case ``n`` depends only on ``n``, so a failing case is reproduced by its id.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

WILD_NUMBERS = (1e12, -1e12, -1.0, 0.0, 1e308, -1e308, 2**63 - 1, -(2**63), 2**70, 0.5, 1e-300)
WILD_VALUES = (None, "", "x", "\u202e\x1b[31m", [], {}, [1, 2], {"a": 1}, True, False, "1e12", "nan")
HEADER_KEYS = ("format", "format_version", "id", "title", "notes", "participants", "devices", "protocol",
               "app_version", "settings", "started_at", "anchor_unix_s", "synthetic", "writer", "completed",
               "heartbeat_unix_s")


def _event_row(conn: sqlite3.Connection, rng: random.Random, kind: str | None = None) -> tuple[int, str, str]:
    sql = "SELECT seq, kind, data FROM events" + (" WHERE kind = ?" if kind else "")
    rows = conn.execute(sql, (kind,) if kind else ()).fetchall()
    if not rows:
        rows = conn.execute("SELECT seq, kind, data FROM events").fetchall()
    return rows[rng.randrange(len(rows))]


def _set_field(conn: sqlite3.Connection, rng: random.Random, kind: str | None, value: object) -> str:
    seq, kind, data = _event_row(conn, rng, kind)
    fields = json.loads(data)
    if not fields:
        fields = {"unknown_field": 1}
    name = rng.choice(sorted(fields))
    fields[name] = value
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(fields), seq))
    return f"{kind}#{seq}.{name}={value!r}"[:120]


def m_field_wild(conn, rng):
    kind = rng.choice(("beat", "beat", "hr", "ecg", "acc", "phase", "pacer", "session", "cue", None))
    return _set_field(conn, rng, kind, rng.choice(WILD_NUMBERS + WILD_VALUES))


def m_beat_rr_null(conn, rng):
    return _set_field_named(conn, rng, "beat", "rr_1024", rng.choice((None, -5, 0, 1e12, "853", 853.5)))


def m_fs_bad(conn, rng):
    return _set_field_named(conn, rng, rng.choice(("ecg", "acc")), "fs_hz",
                            rng.choice((-130.0, 0, None, 1e12, "130", 1e-9)))


def _set_field_named(conn, rng, kind, name, value):
    seq, kind, data = _event_row(conn, rng, kind)
    fields = json.loads(data)
    fields[name] = value
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(fields), seq))
    return f"{kind}#{seq}.{name}={value!r}"


def m_field_missing(conn, rng):
    seq, kind, data = _event_row(conn, rng)
    fields = json.loads(data)
    if fields:
        fields.pop(rng.choice(sorted(fields)))
    else:
        fields["surprise"] = 1
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(fields), seq))
    return f"{kind}#{seq} field removed/added"


def m_t_s(conn, rng):
    seq, kind, _ = _event_row(conn, rng, rng.choice(("beat", "ecg", "phase", None)))
    value = rng.choice((1e12, -1e12, -5.0, 1e308, float("inf"), float("-inf"), 3e9))
    conn.execute("UPDATE events SET t_s = ? WHERE seq = ?", (value, seq))
    return f"{kind}#{seq}.t_s={value}"


def m_t_s_text(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    conn.execute("UPDATE events SET t_s = ? WHERE seq = ?", (rng.choice(("abc", "", "12")), seq))
    return f"{kind}#{seq}.t_s text"


def m_data_bad_json(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    value = rng.choice(("{", "[1,2]", "null", "42", "\"s\"", "{\"rr_1024\": NaN}", ""))
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", (value, seq))
    return f"{kind}#{seq}.data={value!r}"


def m_data_bad_utf8(conn, rng):
    seq, kind, _ = _event_row(conn, rng, rng.choice(("beat", "cue", "phase", None)))
    conn.execute("UPDATE events SET data = CAST(X'7B2274657874223A22FF22' AS TEXT) WHERE seq = ?", (seq,))
    return f"{kind}#{seq}.data bad UTF-8"


def m_data_blob(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    conn.execute("UPDATE events SET data = ? WHERE seq = ?", (b"\xff\xfe{}", seq))
    return f"{kind}#{seq}.data is a blob"


def m_blob(conn, rng):
    seq, kind, _ = _event_row(conn, rng, rng.choice(("ecg", "acc", "hr_packet", "pmd_packet")))
    value = rng.choice((None, b"\x01", b"\x01\x02\x03", "text instead of bytes", 12, b"\x00" * 7))
    conn.execute("UPDATE events SET blob = ? WHERE seq = ?", (value, seq))
    return f"{kind}#{seq}.blob={value!r}"


def m_kind(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    value = rng.choice(("beat", "ecg", "acc", "hr", "phase", "session", "x" * 300, "", "metrics", "annotation"))
    conn.execute("UPDATE events SET kind = ? WHERE seq = ?", (value, seq))
    return f"{kind}#{seq}.kind={value[:20]!r}"


def m_participant(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    value = rng.choice((12, "", "client", "x" * 5000, b"\xff", "Jane Doe", "session"))
    col = rng.choice(("participant", "device"))
    conn.execute(f"UPDATE events SET {col} = ? WHERE seq = ?", (value, seq))
    return f"{kind}#{seq}.{col}={str(value)[:20]!r}"


def m_participant_bad_utf8(conn, rng):
    seq, kind, _ = _event_row(conn, rng)
    conn.execute("UPDATE events SET participant = CAST(X'C3' AS TEXT) WHERE seq = ?", (seq,))
    return f"{kind}#{seq}.participant bad UTF-8"


def m_header_value(conn, rng):
    key = rng.choice(HEADER_KEYS)
    value = rng.choice(WILD_VALUES + WILD_NUMBERS)
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(value), key))
    return f"meta.{key}={value!r}"


def m_header_bad_json(conn, rng):
    key = rng.choice(HEADER_KEYS)
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (rng.choice(("{", "", "NaN", "nul")), key))
    return f"meta.{key} bad JSON"


def m_header_bad_utf8(conn, rng):
    key = rng.choice(("title", "notes", "id", "participants", "protocol", "started_at"))
    conn.execute("UPDATE meta SET value = CAST(X'2248C3A46CFF6F22' AS TEXT) WHERE key = ?", (key,))
    return f"meta.{key} bad UTF-8"


def m_header_blob(conn, rng):
    key = rng.choice(HEADER_KEYS)
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (b'"\xff\xfe"', key))
    return f"meta.{key} is a blob"


def m_header_missing(conn, rng):
    key = rng.choice(HEADER_KEYS)
    conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    return f"meta.{key} deleted"


def m_header_nested(conn, rng):
    key = rng.choice(("participants", "devices", "completed", "protocol", "settings", "writer"))
    value = rng.choice(({"client": 7}, [{"id": None}], {"duration_s": "long", "counts": [1]},
                        {"name": 3, "toml": ["x"]}, {"seed": {"a": 1}}, {"pid": "x", "host": None},
                        {"duration_s": 1e308, "end_reason": None}, ["not", "a", "dict"], {"\x1b": "\x00"}))
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(value), key))
    return f"meta.{key}={value!r}"


def m_protocol_toml(conn, rng):
    value = {"name": "reset", "toml": rng.choice(("[[phases]]\nname = 3", "\x00\x01", "x = [", "a" * 10000))}
    conn.execute("UPDATE meta SET value = ? WHERE key = 'protocol'", (json.dumps(value),))
    return "meta.protocol toml garbage"


def m_drop(conn, rng):
    what = rng.choice(("DROP VIEW beats", "DROP TABLE meta", "DELETE FROM events", "DROP INDEX events_time",
                       "DELETE FROM events WHERE kind = 'beat'", "DELETE FROM events WHERE kind = 'session'"))
    conn.execute(what)
    return what


def m_duplicate_time(conn, rng):
    conn.execute("UPDATE events SET t_s = 5.0 WHERE kind = 'beat'")
    return "all beats at t=5 s"


SQL_MUTATIONS: tuple[Callable[[sqlite3.Connection, random.Random], str], ...] = (
    m_field_wild, m_field_wild, m_beat_rr_null, m_fs_bad, m_field_missing, m_t_s, m_t_s, m_t_s_text,
    m_data_bad_json, m_data_bad_utf8, m_data_blob, m_blob, m_blob, m_kind, m_participant, m_participant_bad_utf8,
    m_header_value, m_header_value, m_header_bad_json, m_header_bad_utf8, m_header_blob, m_header_missing,
    m_header_nested, m_header_nested, m_protocol_toml, m_drop, m_duplicate_time,
)


def mutate(src: Path, dest: Path, case: int) -> str:
    """Write a mutated copy of session file ``src`` to ``dest``; returns what was changed."""
    rng = random.Random(case)
    data = src.read_bytes()
    if case % 10 == 9:  # byte-level damage: flipped bytes or a cut file
        buf = bytearray(data)
        if rng.random() < 0.3:
            cut = rng.randrange(100, len(buf))
            dest.write_bytes(bytes(buf[:cut]))
            return f"cut at byte {cut}"
        for _ in range(rng.randint(1, 20)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        dest.write_bytes(bytes(buf))
        return "bytes flipped"
    dest.write_bytes(data)
    conn = sqlite3.connect(str(dest), isolation_level=None)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        done = [rng.choice(SQL_MUTATIONS)(conn, rng) for _ in range(1 + (case % 3 == 0))]
    finally:
        conn.close()
    return "; ".join(done)
