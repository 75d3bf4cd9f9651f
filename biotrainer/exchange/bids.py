"""BIDS export of a set of sessions (SCIENCE.md §8; BIDS 1.10 "Behavioral experiments" with "Physiological
recordings"), valid for the official BIDS validator (``bids-validator-deno``), and its re-import.

Layout (one subject per person, one BIDS session per biotrainer session; the people of a therapist–client session
are two subjects sharing that session label)::

    OUT/dataset_description.json, README, participants.tsv (+ .json: participant_id, pseudonym)
    OUT/sub-<label>/sub-<label>_sessions.tsv (+ .json)
        session_id, acq_time (UTC, microseconds), protocol, role, partners, synthetic, biotrainer_session
    OUT/sub-<label>/ses-<id>/beh/sub-…_ses-…_task-<protocol>_events.tsv (+ .json)     beats, markers, gaps, …
                                   …_recording-ecg_physio.tsv.gz (+ .json)             ECG, µV
                                   …_recording-acc_physio.tsv.gz (+ .json)             accelerometer, milli-g

**Labels** keep letters and digits only (``20261126-114233-ab12`` → ``20261126114233ab12``); two different
pseudonyms that would get the same label (``P-07`` and ``P07``) are refused with an :class:`ExportError` naming both,
also against the subjects already in ``OUT`` (their pseudonyms are in ``participants.tsv``).

**Roles**: ``role`` is the person's role in that session (``self``, ``therapist``, ``client``) and ``partners`` the
other participants of the same session (``therapist=sub-T3``), so a dyad stays one session; importing either
person's folder brings back the one session with both people.

**Events** (``*_events.tsv``, with a header row, one row per beat and per marker, onsets in s since the session
start = ``acq_time``): ``trial_type`` is ``beat``, ``phase``, ``pacer``, ``cue``, ``annotation``, ``session``,
``connection`` (a sensor's connection state) or ``gap`` (a stretch without data: ``value`` names the stream,
``duration`` its length); ``value`` is the marker's label (text; ``n/a`` for beats); beats have ``rr_ms`` and the
exact ``rr_1024`` (1/1024 s) and ``source``; ``data`` holds every field of a marker or connection event as JSON,
so the import rebuilds them exactly.

**Physio** files have no header row; their sidecars give ``SamplingFrequency``, ``StartTime`` (s, session time of
the first sample), ``Columns`` and per-column ``Units``. Each sensor and rate gets its own ``recording-<label>``
file; gaps inside a recording are ``n/a`` rows so the rows stay on the nominal sample grid.

Therapist–client sessions exported with their synchrony (the JSON of ``biotrainer synchrony --json``, computed by
the caller) also get a BIDS-derivatives dataset (``DatasetType`` ``derivative``, ``GeneratedBy`` biotrainer)::

    OUT/derivatives/biotrainer-synchrony/dataset_description.json, README
    OUT/derivatives/biotrainer-synchrony/sub-<client>/ses-<id>/beh/
        sub-<client>_ses-<id>_task-<protocol>_desc-synchrony_beh.tsv (+ .json)

filed under the client (the person the default analysis is about; the sidecar names both), one row per window
with a header row (columns of :data:`biotrainer.exchange.csv_export.SYNCHRONY_COLUMNS`, ``n/a`` where a window has
no value); the sidecar describes every column with its units, the sign convention (**positive lag: the client
follows the therapist**), the method, the settings (window, step, lag, surrogates, seed) and the session-level
results. Exports without a dyad write no ``derivatives`` folder.

Every file of one export is written through :class:`biotrainer.exchange.atomic.AtomicWrites`: all or nothing.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.errors import ExportError
from biotrainer.core.events import SELF, rr_1024_to_ms, to_record
from biotrainer.exchange.atomic import AtomicWrites, joined
from biotrainer.exchange.csv_export import SYNCHRONY_COLUMNS, marker_label, synchrony_cell
from biotrainer.exchange.model import ExchangeSession, Segment

log = logging.getLogger(__name__)

BIDS_VERSION = "1.10.0"
ECG_COLUMNS = ("cardiac",)
ACC_COLUMNS = ("accel_x", "accel_y", "accel_z")
EVENT_COLUMNS = ("onset", "duration", "trial_type", "value", "rr_ms", "rr_1024", "source", "data")
SESSION_COLUMNS = ("session_id", "acq_time", "protocol", "role", "partners", "synthetic", "biotrainer_session")
SYNCHRONY_PIPELINE = "biotrainer-synchrony"


def bids_label(text: str) -> str:
    """A BIDS entity label: letters and digits only (``20261126-114233-ab12`` → ``20261126114233ab12``)."""
    label = re.sub(r"[^A-Za-z0-9]", "", text)
    return label or "unknown"


class _Labels:
    """Label → the pseudonym it stands for; a second pseudonym with the same label is refused."""

    def __init__(self, known: Mapping[str, str] | None = None) -> None:
        self.of: dict[str, str] = dict(known or {})

    def __call__(self, pseudonym: str) -> str:
        label = bids_label(pseudonym)
        other = self.of.setdefault(label, pseudonym)
        if other != pseudonym:
            raise ExportError(f"BIDS subject label sub-{label} would stand for both participants {other!r} and "
                              f"{pseudonym!r} (labels keep letters and digits only); rename one of them")
        return label


def acq_time(anchor_unix_s: float) -> str:
    """``acq_time`` of a session: its start in UTC to the microsecond (``2026-09-21T12:13:20.520000Z``)."""
    return datetime.fromtimestamp(anchor_unix_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def _write_text(out: AtomicWrites, path: Path, text: str) -> Path:
    with out.open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def _write_tsv_gz(out: AtomicWrites, path: Path, lines: list[str]) -> Path:
    # no file name in the gzip header (BIDS: it could leak; and it would be the temporary name)
    with out.open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0,
                                                    compresslevel=6) as gz:
        if lines:
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _dataset_header(out: AtomicWrites, root: Path, description: dict[str, Any], readme: str) -> list[Path]:
    """``root`` (created) with its ``dataset_description.json`` and ``README``; the two files."""
    out.mkdirs(root)
    return [_write_text(out, root / "dataset_description.json", _json_text(description)),
            _write_text(out, root / "README", readme)]


def _signal_lines(segments: Sequence[Segment]) -> tuple[list[str], float]:
    """Rows of one recording (segments of one sensor and rate), ``n/a`` rows over gaps; returns (rows, t0)."""
    fs = segments[0].fs_hz
    t0 = segments[0].t0_s
    width = segments[0].samples.reshape(segments[0].n, -1).shape[1]
    na_row = "\t".join(["n/a"] * width)
    rows: list[str] = []
    pos = 0
    for seg in segments:
        start = int(round((seg.t0_s - t0) * fs))
        if start > pos:
            rows.extend([na_row] * (start - pos))
            pos = start
        elif start < pos:  # overlapping frame times (clock jitter): continue right after the previous segment
            start = pos
        values = seg.samples.reshape(seg.n, -1)
        if width == 1:
            rows.extend(map(str, values[:, 0].tolist()))
        else:
            rows.extend("\t".join(map(str, row)) for row in values.tolist())
        pos = start + seg.n
    return rows, t0


def _task(session: ExchangeSession) -> str:
    return bids_label(str(session.meta.get("protocol_name") or "practice"))


def _physio_sidecar(session: ExchangeSession, kind: str, seg: Segment, t0: float) -> dict[str, Any]:
    common = {"TaskName": _task(session), "PhysioType": "generic", "SamplingFrequency": seg.fs_hz, "StartTime": round(t0, 6),
              "Manufacturer": "biotrainer (chest strap via Bluetooth)", "SoftwareVersions": f"biotrainer {__version__}",
              "DeviceSerialNumber": seg.device,
              "TimeReference": f"seconds since session start ({session.started_at})"}
    if kind == "ecg":
        return {**common, "Columns": list(ECG_COLUMNS),
                "cardiac": {"Description": "single-lead ECG from the chest strap", "Units": "uV"}}
    return {**common, "Columns": list(ACC_COLUMNS),
            **{c: {"Description": f"chest accelerometer {c[-1]} axis, milli-g (1/1000 of 9.80665 m/s^2)",
                   "Units": "mg"} for c in ACC_COLUMNS}}


def _cell(text: str) -> str:
    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return text or "n/a"


def _event_rows(session: ExchangeSession, role: str) -> list[str]:
    """The events.tsv rows of ``role``: beats, session markers and the person's own, connections and gaps."""
    rows: list[tuple[float, str]] = []
    beats = session.beats(correct=False)
    sel = beats.participant == role
    for t, r, src in zip(beats.beat_t_s[sel].tolist(), beats.rr_1024[sel].tolist(), beats.source[sel].tolist(),
                         strict=True):
        rows.append((t, f"{t!r}\t0\tbeat\tn/a\t{rr_1024_to_ms(r)!r}\t{r}\t{_cell(src)}\tn/a"))
    for e in [*session.markers(), *session.connections()]:
        if e.participant not in (role, "session"):
            continue
        kind, t_s, _p, device, data, _b = to_record(e)
        duration = getattr(e, "duration_s", None) if kind in ("pacer", "phase") else None
        dur = "n/a" if duration is None or (kind == "phase" and getattr(e, "state", "") == "end") else repr(duration)
        label = _cell(marker_label(e))
        if kind == "connection":
            data = json.dumps({**json.loads(data), "device": device}, separators=(",", ":"))
        rows.append((t_s, f"{t_s!r}\t{dur}\t{kind}\t{label}\tn/a\tn/a\tn/a\t{_cell(data)}"))
    for g in session.gaps():
        if g.participant == role:
            rows.append((g.start_s, f"{g.start_s!r}\t{g.duration_s!r}\tgap\t{g.stream}\tn/a\tn/a\tn/a\t"
                                    f"{_cell(json.dumps({'device': g.device}))}"))
    rows.sort(key=lambda r: r[0])
    return ["\t".join(EVENT_COLUMNS)] + [r for _, r in rows]


EVENTS_SIDECAR = {
    "Description": "Heartbeats (irregular), protocol markers, sensor connection states and data gaps. onset: "
                   "seconds since session start (acq_time in the sessions file).",
    "onset": {"Description": "beat time (the beat ending the interval), marker time or gap start, s since session "
                             "start", "Units": "s"},
    "duration": {"Description": "planned duration of a pacer segment or phase, length of a gap, 0 for beats",
                 "Units": "s"},
    "trial_type": {"Description": "what the row is",
                   "Levels": {"beat": "a heartbeat", "phase": "a protocol phase started or ended",
                              "pacer": "the breathing pacer entered a breath segment", "cue": "an on-screen cue",
                              "annotation": "a moment marked by the therapist or researcher",
                              "session": "session start, pause, resume or stop",
                              "connection": "a sensor's connection state changed",
                              "gap": "no data from the stream named in value for duration seconds"}},
    "value": {"Description": "text label: phase name, pacer segment, cue or annotation text, session or connection "
                             "state, the stream of a gap (beats, ecg, acc); n/a for beats"},
    "rr_ms": {"Description": "RR interval ending at this beat (rr_1024 * 1000 / 1024)", "Units": "ms"},
    "rr_1024": {"Description": "raw RR interval as sent by the strap, in units of 1/1024 s"},
    "source": {"Description": "where a beat came from",
               "Levels": {"strap": "sent by the strap", "ecg": "R-peaks of the ECG", "lsl": "a Lab Streaming "
                          "Layer stream", "import": "an imported file"}},
    "data": {"Description": "all fields of a marker or connection event as JSON (biotrainer re-imports them "
                            "exactly)"},
}

SESSIONS_SIDECAR = {
    "acq_time": {"Description": "wall clock of session time 0 (UTC, to the microsecond); every onset and StartTime "
                                "counts from it"},
    "protocol": {"Description": "the biotrainer protocol of the session (n/a: none)"},
    "role": {"Description": "this person's role in the session",
             "Levels": {"self": "practising alone", "therapist": "the therapist of a therapy session",
                        "client": "the client of a therapy session"}},
    "partners": {"Description": "the other participants of the same session as role=participant_id, comma "
                                "separated (n/a: none)"},
    "synthetic": {"Description": "whether the data were simulated",
                  "Levels": {"true": "simulated data, not a person", "false": "recorded from a person"}},
    "biotrainer_session": {"Description": "the biotrainer session id"},
}

PARTICIPANTS_SIDECAR = {
    "participant_id": {"Description": "BIDS subject label: the pseudonym's letters and digits"},
    "pseudonym": {"Description": "the participant's pseudonym as stored by biotrainer"},
}


def _read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a TSV file with a header as dicts ([] when the file is missing)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        return []
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"), strict=False)) for ln in lines[1:] if ln.strip()]


def _tsv_text(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    return "\n".join(["\t".join(columns), *("\t".join(r.get(c) or "n/a" for c in columns) for r in rows)]) + "\n"


def export_bids(sessions: Sequence[ExchangeSession], out_dir: Path,
                progress: Callable[[int, int], None] | None = None,
                synchrony: Mapping[str, dict[str, Any]] | None = None, *,
                writes: AtomicWrites | None = None) -> list[Path]:
    """Write ``sessions`` as one BIDS dataset in ``out_dir``; returns the written files.

    Parameters
    ----------
    sessions : sequence of ExchangeSession
    out_dir : Path
        Dataset root (created; existing subjects and sessions are kept, files of the same session overwritten).
    progress : callable, optional
        Called with ``(done, total)`` after each session.
    synchrony : mapping, optional
        Session id → that dyad session's synchrony JSON (:func:`biotrainer.analysis.synchrony.synchrony_of_events`):
        written to ``derivatives/biotrainer-synchrony``.
    writes : AtomicWrites, optional
        The caller's batch (it commits); default: this export's own.

    Raises
    ------
    ExportError
        Two pseudonyms with one label, or a file that cannot be written (then nothing was written).
    """
    out_dir = Path(out_dir)
    existing = _read_tsv(out_dir / "participants.tsv")
    labels = _Labels({r["participant_id"][4:]: r["pseudonym"] for r in existing
                      if r.get("pseudonym") not in (None, "", "n/a")})
    known_subjects = {r["participant_id"]: r for r in existing}
    with joined(writes) as out:
        written = _dataset_header(
            out, out_dir, {"Name": "biotrainer breath practice recordings", "BIDSVersion": BIDS_VERSION,
                           "DatasetType": "raw", "Authors": ["biotrainer users (replace with the study's authors)",
                                                             "biotrainer"],
                           "GeneratedBy": [{"Name": "biotrainer", "Version": __version__}]},
            f"Exported by biotrainer {__version__}. Subjects are pseudonyms. Physio: ECG in uV, accelerometer in "
            "milli-g; events files hold heartbeats (RR in ms and raw 1/1024 s), protocol markers, sensor "
            "connection states and data gaps. Times are seconds since each session's start (acq_time in the "
            "sessions files). People of one therapist-client session share its session label; the sessions "
            "files name each person's role and partners.\n")
        subjects: dict[str, list[dict[str, str]]] = {}
        pseudonyms: dict[str, str] = {}
        for done, session in enumerate(sessions, 1):
            written.extend(_export_session(out, session, out_dir, labels, subjects, pseudonyms))
            if progress is not None:
                progress(done, len(sessions))
        for sub, pseudonym in pseudonyms.items():
            known_subjects[f"sub-{sub}"] = {"participant_id": f"sub-{sub}", "pseudonym": pseudonym}
        rows = [known_subjects[k] for k in sorted(known_subjects)]
        written.append(_write_text(out, out_dir / "participants.tsv", _tsv_text(("participant_id", "pseudonym"),
                                                                                rows)))
        written.append(_write_text(out, out_dir / "participants.json", _json_text(PARTICIPANTS_SIDECAR)))
        for sub, new_rows in subjects.items():
            written.extend(_write_sessions_table(out, out_dir / f"sub-{sub}", sub, new_rows))
        dyads = [(s, synchrony[s.id]) for s in sessions if synchrony and s.id in synchrony]
        if dyads:
            written.extend(_export_synchrony(out, dyads, out_dir / "derivatives" / SYNCHRONY_PIPELINE, labels))
    return written


def _write_sessions_table(out: AtomicWrites, folder: Path, sub: str, new_rows: list[dict[str, str]]) -> list[Path]:
    """``sub-<label>_sessions.tsv`` (rows already there kept, the same session replaced) and its sidecar."""
    path = folder / f"sub-{sub}_sessions.tsv"
    rows = {r["session_id"]: r for r in _read_tsv(path)}
    rows.update({r["session_id"]: r for r in new_rows})
    return [_write_text(out, path, _tsv_text(SESSION_COLUMNS, [rows[k] for k in sorted(rows)])),
            _write_text(out, path.with_suffix(".json"), _json_text(SESSIONS_SIDECAR))]


def _export_synchrony(out: AtomicWrites, dyads: list[tuple[ExchangeSession, dict[str, Any]]], root: Path,
                      labels: _Labels) -> list[Path]:
    """The synchrony derivative dataset: its description and README, then one timeseries + sidecar per dyad."""
    written = _dataset_header(
        out, root, {"Name": "biotrainer therapist–client heart-rate synchrony", "BIDSVersion": BIDS_VERSION,
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "biotrainer", "Version": __version__,
                                     "Description": "biotrainer synchrony: windowed lagged cross-correlation of the "
                                                    "two heart rates, tested against segment-shuffle surrogates"}]},
        f"Therapist–client heart-rate synchrony by biotrainer {__version__}, one timeseries per dyad session, "
        "filed under the client. One row per window; a positive lag means the client follows the therapist. "
        "An awareness aid for reflection and supervision, not a score.\n")
    for session, result in dyads:
        written.extend(_write_synchrony_timeseries(out, session, result, root, labels))
    return written


def _write_synchrony_timeseries(out: AtomicWrites, session: ExchangeSession, result: dict[str, Any], root: Path,
                                labels: _Labels) -> list[Path]:
    sub = labels(session.pseudonym("client"))
    ses = bids_label(session.id)
    task = _task(session)
    folder = out.mkdirs(root / f"sub-{sub}" / f"ses-{ses}" / "beh")
    stem = folder / f"sub-{sub}_ses-{ses}_task-{task}_desc-synchrony_beh"
    lines = ["\t".join(SYNCHRONY_COLUMNS)] + [
        "\t".join(synchrony_cell(win[c]) or "n/a" for c in SYNCHRONY_COLUMNS) for win in result["windows"]]
    return [_write_text(out, Path(f"{stem}.tsv"), "\n".join(lines) + "\n"),
            _write_text(out, Path(f"{stem}.json"), _json_text(synchrony_sidecar(session, result)))]


def synchrony_sidecar(session: ExchangeSession, result: dict[str, Any]) -> dict[str, Any]:
    """The timeseries' sidecar: every column with its units, the sign convention, method, settings, results."""
    columns = {c: {"Description": d, "Units": u} for c, (d, u) in SYNCHRONY_COLUMNS.items()}
    columns["above_chance"] = {"Description": SYNCHRONY_COLUMNS["above_chance"][0],
                               "Levels": {"true": "above chance", "false": "not above chance (or no value)"}}
    return {
        "Description": "Therapist–client heart-rate synchrony per window (biotrainer synchrony).",
        "Columns": list(SYNCHRONY_COLUMNS), **columns,
        "SignConvention": result["sign_convention"],
        "Method": result["session"]["method"],
        "Participants": {"therapist": session.pseudonym("therapist"), "client": session.pseudonym("client")},
        "Settings": {"WindowLength": result["window_s"], "WindowStep": result["step_s"], "MaxLag": result["lag_s"],
                     "HeartRateSamplingFrequency": result["fs_hz"], "Surrogates": result["session"]["n_surrogates"],
                     "Seed": result.get("seed", 0), "Units": "s (WindowLength, WindowStep, MaxLag), Hz "
                                                            "(HeartRateSamplingFrequency)"},
        "Session": result["session"], "LeadLag": result["lead_lag"],
        "SlopeConcordance": result["slope_concordance"], "Phases": result["phases"], "Reasons": result["reasons"],
        "TimeReference": f"seconds since session start ({session.started_at})",
        "SoftwareVersions": f"biotrainer {__version__}",
    }


def _export_session(out: AtomicWrites, session: ExchangeSession, out_dir: Path, labels: _Labels,
                    subjects: dict[str, list[dict[str, str]]], pseudonyms: dict[str, str]) -> list[Path]:
    written: list[Path] = []
    ses = bids_label(session.id)
    task = _task(session)
    roles = [r for r in session.roles if r != "session"]
    subs = {role: labels(session.pseudonym(role)) for role in roles}
    if len(set(subs.values())) < len(subs):
        raise ExportError(f"session {session.id}: two participants have the same pseudonym label "
                          f"({', '.join(f'{r}={session.pseudonym(r)}' for r in roles)})")
    for role in roles:
        sub = subs[role]
        pseudonyms[sub] = session.pseudonym(role)
        partners = ",".join(f"{r}=sub-{s}" for r, s in subs.items() if r != role) or "n/a"
        subjects.setdefault(sub, []).append({
            "session_id": f"ses-{ses}", "acq_time": acq_time(session.anchor_unix_s),
            "protocol": str(session.meta.get("protocol_name") or "n/a"), "role": role, "partners": partners,
            "synthetic": "true" if session.meta.get("synthetic") else "false", "biotrainer_session": session.id})
        folder = out.mkdirs(out_dir / f"sub-{sub}" / f"ses-{ses}" / "beh")
        stem = f"sub-{sub}_ses-{ses}_task-{task}"
        written.extend(_write_physio(out, session, role, folder, stem))
        written.append(_write_text(out, folder / f"{stem}_events.tsv", "\n".join(_event_rows(session, role)) + "\n"))
        written.append(_write_text(out, folder / f"{stem}_events.json", _json_text(
            {"TaskName": task, "TaskDescription": _task_description(session), **EVENTS_SIDECAR, "SoftwareVersions": f"biotrainer {__version__}"})))
    log.info("BIDS export of %s: %d files", session.id, len(written))
    return written


def _task_description(session: ExchangeSession) -> str:
    protocol = session.meta.get("protocol_name")
    what = f"the biotrainer protocol {protocol!r}" if protocol else "free practice (no protocol)"
    return (f"Breath practice with physiological feedback: {what}; heartbeats from a chest strap"
            + (" (simulated data)" if session.meta.get("synthetic") else ""))


def _write_physio(out: AtomicWrites, session: ExchangeSession, role: str, folder: Path, stem: str) -> list[Path]:
    written: list[Path] = []
    for kind in ("ecg", "acc"):
        by_key: dict[tuple[str, float], list[Segment]] = {}
        for s in session.segments(kind):
            if s.participant == role:
                by_key.setdefault((s.device, s.fs_hz), []).append(s)
        for i, group in enumerate(by_key.values()):
            label = kind if i == 0 else f"{kind}{i + 1}"
            lines, t0 = _signal_lines(group)
            written.append(_write_tsv_gz(out, folder / f"{stem}_recording-{label}_physio.tsv.gz", lines))
            written.append(_write_text(out, folder / f"{stem}_recording-{label}_physio.json",
                                       _json_text(_physio_sidecar(session, kind, group[0], t0))))
    return written


def read_physio(tsv_gz: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Read one exported physio file and its sidecar (for tests and users): (sidecar, float array with NaN gaps)."""
    sidecar = json.loads(Path(str(tsv_gz).replace(".tsv.gz", ".json")).read_text(encoding="utf-8"))
    with gzip.open(tsv_gz, "rt", encoding="utf-8") as fh:
        rows = [[np.nan if v == "n/a" else float(v) for v in ln.rstrip("\n").split("\t")] for ln in fh]
    return sidecar, np.asarray(rows, dtype=float).reshape(len(rows), len(sidecar["Columns"]))


# --- import ------------------------------------------------------------------------------------------------------

EVENTS_GLOB = "*_events.tsv"
LEGACY_EVENTS_GLOB = "*_physioevents.tsv.gz"  # exports of biotrainer before the events files
LEGACY_COLUMNS = ("onset", "duration", "trial_type", "value", "rr_1024", "source", "data")


def is_bids_events_file(path: Path) -> bool:
    return path.name.endswith("_events.tsv") or path.name.endswith("_physioevents.tsv.gz")


def events_files(folder: Path) -> list[Path]:
    """The biotrainer events files in ``folder`` (and the legacy physioevents files)."""
    return sorted([*folder.glob(EVENTS_GLOB), *folder.glob(LEGACY_EVENTS_GLOB)])


def import_bids(path: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read one exported BIDS session back: ``path`` is a person's ``*_events.tsv`` (or the legacy
    ``*_physioevents.tsv.gz``) or the folder holding it.

    Beats (exact ``rr_1024``), markers and connection events (from their JSON ``data``) come from the events file;
    ECG/ACC from the ``*_physio.tsv.gz`` files next to it (``n/a`` rows are gaps). The session's partners (the
    ``partners`` column of the sessions file) come along: a therapist–client session is one session again, each
    person under their role and pseudonym. Start time, protocol and ``synthetic`` come from the sessions file.
    Raises ImportFormatError naming the file.
    """
    from biotrainer.core.errors import ImportFormatError, UsageError
    from biotrainer.exchange.import_rr import imported_meta

    path = _events_file(Path(path))
    m = re.search(r"sub-([A-Za-z0-9]+)_ses-([A-Za-z0-9]+)", path.name)
    if not m:
        raise ImportFormatError(f"{path}: not a BIDS events file name (sub-<label>_ses-<label>_…)")
    subject, ses = m.groups()
    root = path.parent.parent.parent.parent
    row = _sessions_row(root, subject, ses)
    pseudonym_of = {r["participant_id"][4:]: r.get("pseudonym") for r in _read_tsv(root / "participants.tsv")}
    role = row.get("role") if row.get("role") not in (None, "", "n/a") else SELF
    people = {role: (subject, path)}
    for item in (row.get("partners") or "n/a").split(","):
        r, _, sub = item.partition("=sub-")
        if sub:
            found = events_files(root / f"sub-{sub}" / f"ses-{ses}" / "beh")
            if len(found) != 1:
                raise ImportFormatError(f"{path}: the session's {r} sub-{sub} has {len(found)} events files in "
                                        f"ses-{ses}, expected one")
            people[r] = (sub, found[0])
    if participant is not None and len(people) > 1:
        raise UsageError(f"{path}: session ses-{ses} has several participants ({', '.join(people)}); "
                         "--participant cannot say whose pseudonym it is")
    events: list[Any] = []
    for i, (r, (_sub, file)) in enumerate(people.items()):
        events.extend(_person_events(file, r, session_markers=i == 0))
    events.sort(key=lambda e: e.t_s)
    anchor = _parse_acq_time(row.get("acq_time"))
    protocol = row.get("protocol") if row.get("protocol") not in (None, "", "n/a") else ""
    meta = imported_meta(path, "bids", participant=participant, anchor_unix_s=anchor,
                         duration_s=max((e.t_s for e in events), default=0.0),
                         extra={"protocol_name": protocol} if protocol else None)
    meta["participants"] = {r: (participant if participant and r == role else
                                pseudonym_of.get(sub) or sub) for r, (sub, _f) in people.items()}
    meta["synthetic"] = row.get("synthetic") == "true"
    if row.get("biotrainer_session"):
        meta["imported_from"]["session_id"] = row["biotrainer_session"]
    return ExchangeSession(meta, events)


def _events_file(path: Path) -> Path:
    from biotrainer.core.errors import ImportFormatError

    if path.is_dir():
        found = events_files(path)
        if len(found) != 1:
            raise ImportFormatError(f"{path}: expected one *_events.tsv file, found {len(found)}")
        return found[0]
    return path


def _person_events(path: Path, role: str, *, session_markers: bool) -> list[Any]:
    """One person's beats, markers, connection events (events file) and ECG/ACC frames (physio files)."""
    from biotrainer.core.errors import ImportFormatError

    device = f"import:{path.name}"
    try:
        events = _events_of(path, role, device, session_markers)
        prefix = re.split(r"_(?:physio)?events\.tsv", path.name)[0]
        for physio in sorted(path.parent.glob(prefix + "_recording-*_physio.tsv.gz")):
            events.extend(_physio_frames(physio, role, device))
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ImportFormatError(f"{path}: cannot read BIDS data ({exc})") from None
    return events


def _events_of(path: Path, role: str, device: str, session_markers: bool) -> list[Any]:
    from biotrainer.core.errors import ImportFormatError
    from biotrainer.core.events import Beat, from_record

    legacy = path.name.endswith(".gz")
    with (gzip.open(path, "rt", encoding="utf-8") if legacy else open(path, encoding="utf-8")) as fh:
        lines = fh.read().splitlines()
    columns = LEGACY_COLUMNS if legacy else tuple(lines[0].split("\t")) if lines else ()
    body = lines if legacy else lines[1:]
    missing = [c for c in ("onset", "trial_type", "rr_1024", "source", "data") if c not in columns]
    if missing:
        raise ImportFormatError(f"{path}: not a biotrainer events file (no column {missing[0]!r})")
    events: list[Any] = []
    for lineno, line in enumerate(body, 1 if legacy else 2):
        cells = dict(zip(columns, line.split("\t"), strict=False))
        if len(cells) != len(columns):
            raise ImportFormatError(f"{path}: line {lineno} has {len(line.split(chr(9)))} columns, expected "
                                    f"{len(columns)}")
        kind, onset = cells["trial_type"], float(cells["onset"])
        if kind == "beat":
            events.append(Beat(t_s=onset, participant=role, device=device, rr_1024=int(cells["rr_1024"]),
                               beat_t_s=onset, source=cells["source"]))
        elif kind == "connection":
            data = json.loads(cells["data"])
            events.append(from_record(kind, onset, role, str(data.pop("device", "")), json.dumps(data), None))
        elif kind != "gap" and session_markers:  # every person's file has the session markers: keep one copy
            events.append(from_record(kind, onset, "session", "", cells["data"], None))
    return events


def _physio_frames(physio: Path, role: str, device: str) -> list[Any]:
    from biotrainer.exchange.model import frames_from_samples

    sidecar, values = read_physio(physio)
    kind = "ecg" if sidecar["Columns"] == list(ECG_COLUMNS) else "acc"
    fs, t0 = float(sidecar["SamplingFrequency"]), float(sidecar["StartTime"])
    idx = np.flatnonzero(~np.isnan(values[:, 0]))
    events: list[Any] = []
    for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if idx.size else []:
        samples = values[run[0]:run[-1] + 1].astype(np.int64)
        events.extend(frames_from_samples(kind, participant=role, device=str(sidecar.get("DeviceSerialNumber",
                                                                                             device)),
                                          fs_hz=fs, t0_s=t0 + run[0] / fs,
                                          samples=samples[:, 0] if kind == "ecg" else samples))
    return events


def _sessions_row(root: Path, subject: str, ses: str) -> dict[str, str]:
    """The row of ``ses-<ses>`` in ``sub-<subject>_sessions.tsv`` ({} when that file or row is missing)."""
    try:
        rows = _read_tsv(root / f"sub-{subject}" / f"sub-{subject}_sessions.tsv")
    except (OSError, UnicodeDecodeError):
        return {}
    return next((r for r in rows if r.get("session_id") == f"ses-{ses}"), {})


def _parse_acq_time(text: str | None) -> float | None:
    """Unix time of an ``acq_time`` (UTC with ``Z``, or with an offset; local time without either); None if
    missing or not a date (the importer then uses the file time)."""
    if not text or text == "n/a":
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
