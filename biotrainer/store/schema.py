"""The session file format: one SQLite file per session (see docs/recording-format.md).

Tables:

- ``meta(key TEXT PRIMARY KEY, value TEXT)``: the session header, one JSON value per key (:data:`META_KEYS`).
  The key ``completed`` is written once, when the session ends normally; a file without it is *incomplete*.
- ``events(seq INTEGER PRIMARY KEY, kind, t_s, participant, device, data, blob)``: insert-only, one row per event,
  exactly :func:`biotrainer.core.events.to_record`; ``seq`` is the global order in which events were published.

Views (read-only conveniences for researchers, all derived from ``events`` with ``json_extract``): ``beats``,
``hr``, ``contact``, ``ecg_frames``, ``acc_frames``, ``packets``, ``markers``, ``pacer``, ``phases``,
``annotations``, ``session_states``.
"""

from __future__ import annotations

FORMAT_NAME = "biotrainer-session"
FORMAT_VERSION = 1
SESSION_SUFFIX = ".sqlite"

META_KEYS = (
    "format", "format_version", "id", "title", "notes", "participants", "devices", "protocol", "app_version",
    "settings", "started_at", "anchor_unix_s", "synthetic", "writer", "completed", "heartbeat_unix_s",
    "write_failure",
)

TABLES_SQL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    t_s         REAL NOT NULL,
    participant TEXT NOT NULL,
    device      TEXT NOT NULL,
    data        TEXT NOT NULL,
    blob        BLOB
);
CREATE INDEX events_kind ON events (kind, participant);
CREATE INDEX events_time ON events (t_s);
"""

VIEWS_SQL = """
CREATE VIEW beats AS
    SELECT seq, t_s, json_extract(data, '$.beat_t_s') AS beat_t_s,
           json_extract(data, '$.rr_1024') AS rr_1024,
           json_extract(data, '$.rr_1024') * 1000.0 / 1024 AS rr_ms,
           json_extract(data, '$.source') AS source, participant, device
    FROM events WHERE kind = 'beat';
CREATE VIEW hr AS
    SELECT seq, t_s, json_extract(data, '$.hr_bpm') AS hr_bpm, json_extract(data, '$.contact') AS contact,
           json_extract(data, '$.energy_kj') AS energy_kj, participant, device
    FROM events WHERE kind = 'hr';
CREATE VIEW contact AS
    SELECT seq, t_s, json_extract(data, '$.contact') AS contact, participant, device
    FROM events WHERE kind = 'contact';
CREATE VIEW ecg_frames AS
    SELECT seq, t_s, json_extract(data, '$.fs_hz') AS fs_hz,
           json_extract(data, '$.last_sample_t_s') AS last_sample_t_s,
           json_extract(data, '$.sensor_ts_ns') AS sensor_ts_ns,
           length(blob) / 4 AS n_samples, blob AS samples_uv_int32le, participant, device
    FROM events WHERE kind = 'ecg';
CREATE VIEW acc_frames AS
    SELECT seq, t_s, json_extract(data, '$.fs_hz') AS fs_hz,
           json_extract(data, '$.last_sample_t_s') AS last_sample_t_s,
           json_extract(data, '$.sensor_ts_ns') AS sensor_ts_ns,
           length(blob) / 6 AS n_samples, blob AS samples_mg_int16le_xyz, participant, device
    FROM events WHERE kind = 'acc';
CREATE VIEW packets AS
    SELECT seq, t_s, kind, blob AS raw, participant, device
    FROM events WHERE kind IN ('hr_packet', 'pmd_packet');
CREATE VIEW pacer AS
    SELECT seq, t_s, json_extract(data, '$.segment') AS segment,
           json_extract(data, '$.rate_per_min') AS rate_per_min,
           json_extract(data, '$.breath_index') AS breath_index,
           json_extract(data, '$.duration_s') AS duration_s, participant
    FROM events WHERE kind = 'pacer';
CREATE VIEW phases AS
    SELECT seq, t_s, json_extract(data, '$.name') AS name, json_extract(data, '$.index') AS phase_index,
           json_extract(data, '$.state') AS state, json_extract(data, '$.duration_s') AS duration_s,
           json_extract(data, '$.paced') AS paced, json_extract(data, '$.rate_per_min') AS rate_per_min,
           json_extract(data, '$.feedback') AS feedback, participant
    FROM events WHERE kind = 'phase';
CREATE VIEW annotations AS
    SELECT seq, t_s, json_extract(data, '$.text') AS text, json_extract(data, '$.author') AS author, participant
    FROM events WHERE kind = 'annotation';
CREATE VIEW session_states AS
    SELECT seq, t_s, json_extract(data, '$.state') AS state, json_extract(data, '$.reason') AS reason
    FROM events WHERE kind = 'session';
CREATE VIEW markers AS
    SELECT seq, t_s, kind,
           coalesce(json_extract(data, '$.segment'), json_extract(data, '$.name'),
                    json_extract(data, '$.text'), json_extract(data, '$.state')) AS label,
           data, participant
    FROM events WHERE kind IN ('pacer', 'phase', 'cue', 'annotation', 'session');
"""

CREATE_SQL = TABLES_SQL + VIEWS_SQL
