"""BIDS physiological recordings export for a set of sessions (SCIENCE.md §8; BIDS "Physiological recordings").

Layout (one subject per participant pseudonym, one BIDS session per biotrainer session)::

    OUT/dataset_description.json, participants.tsv, participants.json, README
    OUT/sub-<pseudonym>/sub-<pseudonym>_sessions.tsv                   (session_id, acq_time, protocol)
    OUT/sub-<pseudonym>/ses-<id>/beh/sub-…_ses-…_task-<protocol>_recording-ecg_physio.tsv.gz (+ .json)
                                    …_recording-acc_physio.tsv.gz (+ .json)
                                    …_physioevents.tsv.gz (+ .json)  beats and markers

Physio files have no header row; their sidecars give ``SamplingFrequency``, ``StartTime`` (s, session time of the
first sample, i.e. relative to session start = ``acq_time``), ``Columns`` and per-column ``Units``. Each sampling
rate gets its own ``recording-<label>`` file. Gaps inside a recording are written as ``n/a`` rows so the rows stay
on the nominal sample grid. Beats (irregular) and markers go to ``*_physioevents.tsv.gz``: ``onset`` (s, session
time), ``duration``, ``trial_type`` (``beat`` or the marker kind), ``value`` (RR in ms for beats, the marker label
otherwise), ``rr_1024`` (raw 1/1024 s), ``source``, ``data`` (the marker's JSON fields). No resampled RR is
written (it would be a derivative).

Therapist–client sessions exported with their synchrony (the JSON of ``biotrainer synchrony --json``, computed by
the caller) also get a BIDS-derivatives dataset (``DatasetType`` ``derivative``, ``GeneratedBy`` biotrainer)::

    OUT/derivatives/biotrainer-synchrony/dataset_description.json, README
    OUT/derivatives/biotrainer-synchrony/sub-<client>/ses-<id>/beh/
        sub-<client>_ses-<id>_task-<protocol>_desc-synchrony_timeseries.tsv (+ .json)

filed under the client (the person the default analysis is about; the sidecar names both), one row per window
with a header row (columns of :data:`biotrainer.exchange.csv_export.SYNCHRONY_COLUMNS`, ``n/a`` where a window has
no value); the sidecar describes every column with its units, the sign convention (**positive lag: the client
follows the therapist**), the method, the settings (window, step, lag, surrogates, seed) and the session-level
results. Exports without a dyad write no ``derivatives`` folder.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.events import rr_1024_to_ms, to_record
from biotrainer.exchange.csv_export import SYNCHRONY_COLUMNS, marker_label, synchrony_cell
from biotrainer.exchange.model import ExchangeSession, Segment
from biotrainer.store.paths import make_private_dirs, open_private

log = logging.getLogger(__name__)

BIDS_VERSION = "1.10.0"
ECG_COLUMNS = ("cardiac",)
ACC_COLUMNS = ("accel_x", "accel_y", "accel_z")
EVENT_COLUMNS = ("onset", "duration", "trial_type", "value", "rr_1024", "source", "data")


def bids_label(text: str) -> str:
    """A BIDS entity label: letters and digits only (``20261126-114233-ab12`` → ``20261126114233ab12``)."""
    label = re.sub(r"[^A-Za-z0-9]", "", text)
    return label or "unknown"


def _write_json(path: Path, obj: Any) -> Path:
    with open_private(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return path


def _write_tsv_gz(path: Path, lines: list[str]) -> Path:
    with open_private(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz:
        if lines:
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _dataset_header(root: Path, description: dict[str, Any], readme: str) -> list[Path]:
    """``root`` (created) with its ``dataset_description.json`` and ``README``; the two files."""
    make_private_dirs(root)
    path = root / "README"
    with open_private(path, "w", encoding="utf-8") as fh:
        fh.write(readme)
    return [_write_json(root / "dataset_description.json", description), path]


def _signal_lines(segments: Sequence[Segment]) -> tuple[list[str], float]:
    """Rows of one recording (segments of one sensor and rate), ``n/a`` rows over gaps; returns (rows, t0)."""
    fs = segments[0].fs_hz
    t0 = segments[0].t0_s
    width = segments[0].samples.reshape(segments[0].n, -1).shape[1]
    na_row = "\t".join(["n/a"] * width)
    out: list[str] = []
    pos = 0
    for seg in segments:
        start = int(round((seg.t0_s - t0) * fs))
        if start > pos:
            out.extend([na_row] * (start - pos))
            pos = start
        elif start < pos:  # overlapping frame times (clock jitter): continue right after the previous segment
            start = pos
        values = seg.samples.reshape(seg.n, -1)
        if width == 1:
            out.extend(map(str, values[:, 0].tolist()))
        else:
            out.extend("\t".join(map(str, row)) for row in values.tolist())
        pos = start + seg.n
    return out, t0


def _physio_sidecar(session: ExchangeSession, kind: str, seg: Segment, t0: float) -> dict[str, Any]:
    common = {"SamplingFrequency": seg.fs_hz, "StartTime": round(t0, 6),
              "Manufacturer": "biotrainer (chest strap via Bluetooth)", "SoftwareVersions": f"biotrainer {__version__}",
              "DeviceSerialNumber": seg.device,
              "TimeReference": f"seconds since session start ({session.started_at})"}
    if kind == "ecg":
        return {**common, "Columns": list(ECG_COLUMNS),
                "cardiac": {"Description": "single-lead ECG from the chest strap", "Units": "uV"}}
    return {**common, "Columns": list(ACC_COLUMNS),
            **{c: {"Description": f"chest accelerometer {c[-1]} axis, milli-g (1/1000 of 9.80665 m/s^2)",
                   "Units": "mg"} for c in ACC_COLUMNS}}


def _event_lines(session: ExchangeSession, role: str) -> list[str]:
    rows: list[tuple[float, str]] = []
    beats = session.beats(correct=False)
    sel = beats.participant == role
    for t, r, src in zip(beats.beat_t_s[sel].tolist(), beats.rr_1024[sel].tolist(), beats.source[sel].tolist(),
                         strict=True):
        rows.append((t, f"{t!r}\t0\tbeat\t{rr_1024_to_ms(r)!r}\t{r}\t{src}\tn/a"))
    for e in session.markers():
        if e.participant not in (role, "session"):
            continue
        kind, t_s, _p, _d, data, _b = to_record(e)
        duration = getattr(e, "duration_s", None) if kind in ("pacer", "phase") else None
        dur = "n/a" if duration is None or (kind == "phase" and getattr(e, "state", "") == "end") else repr(duration)
        label = marker_label(e).replace("\t", " ").replace("\n", " ") or "n/a"
        rows.append((t_s, f"{t_s!r}\t{dur}\t{kind}\t{label}\tn/a\tn/a\t{data}"))
    rows.sort(key=lambda r: r[0])
    return [r for _, r in rows]


EVENTS_SIDECAR = {
    "Columns": list(EVENT_COLUMNS),
    "Description": "Heartbeats (irregular) and protocol markers. onset: seconds since session start.",
    "onset": {"Description": "beat time (the beat ending the interval) or marker time, s since session start",
              "Units": "s"},
    "duration": {"Description": "planned duration of a pacer segment or phase, s; 0 for beats", "Units": "s"},
    "trial_type": {"Description": "beat, phase, pacer, cue, annotation or session"},
    "value": {"Description": "RR interval in ms for beats; the marker label otherwise", "Units": "ms"},
    "rr_1024": {"Description": "raw RR interval as sent by the strap", "Units": "1/1024 s"},
    "source": {"Description": "strap (sent by the strap), ecg (from R-peaks), lsl or import"},
    "data": {"Description": "all fields of the marker event as JSON"},
}


def export_bids(sessions: Sequence[ExchangeSession], out_dir: Path,
                progress: Callable[[int, int], None] | None = None,
                synchrony: Mapping[str, dict[str, Any]] | None = None) -> list[Path]:
    """Write ``sessions`` as one BIDS dataset in ``out_dir``; returns the written files.

    Parameters
    ----------
    sessions : sequence of ExchangeSession
    out_dir : Path
        Dataset root (created; existing subjects are kept, files of the same session overwritten).
    progress : callable, optional
        Called with ``(done, total)`` after each session.
    synchrony : mapping, optional
        Session id → that dyad session's synchrony JSON (:func:`biotrainer.analysis.synchrony.synchrony_of_events`):
        written to ``derivatives/biotrainer-synchrony``.
    """
    out_dir = Path(out_dir)
    make_private_dirs(out_dir)
    written = _dataset_header(
        out_dir, {"Name": "biotrainer breath practice recordings", "BIDSVersion": BIDS_VERSION,
                  "DatasetType": "raw", "GeneratedBy": [{"Name": "biotrainer", "Version": __version__}]},
        f"Exported by biotrainer {__version__}. Subjects are pseudonyms. Physio: ECG in uV, "
        "accelerometer in milli-g; physioevents hold heartbeats (RR in ms and raw 1/1024 s) and protocol "
        "markers. Times are seconds since each session's start (acq_time in the sessions file).\n")
    subjects: dict[str, list[tuple[str, str, str]]] = {}
    for done, session in enumerate(sessions, 1):
        written.extend(_export_session(session, out_dir, subjects))
        if progress is not None:
            progress(done, len(sessions))
    participants_tsv = out_dir / "participants.tsv"
    existing = set()
    if participants_tsv.exists():
        existing = {ln.split("\t")[0] for ln in participants_tsv.read_text(encoding="utf-8").splitlines()[1:]}
    with open_private(participants_tsv, "w", encoding="utf-8") as fh:
        fh.write("participant_id\n")
        for sub in sorted(existing | {f"sub-{s}" for s in subjects}):
            fh.write(f"{sub}\n")
    written.append(participants_tsv)
    written.append(_write_json(out_dir / "participants.json", {
        "participant_id": {"Description": "pseudonym of the participant as stored by biotrainer"}}))
    for sub, rows in subjects.items():
        path = out_dir / f"sub-{sub}" / f"sub-{sub}_sessions.tsv"
        with open_private(path, "w", encoding="utf-8") as fh:
            fh.write("session_id\tacq_time\tprotocol\n")
            for row in sorted(rows):
                fh.write("\t".join(row) + "\n")
        written.append(path)
    dyads = [(s, synchrony[s.id]) for s in sessions if synchrony and s.id in synchrony]
    if dyads:
        written.extend(_export_synchrony(dyads, out_dir / "derivatives" / SYNCHRONY_PIPELINE))
    return written


SYNCHRONY_PIPELINE = "biotrainer-synchrony"


def _export_synchrony(dyads: list[tuple[ExchangeSession, dict[str, Any]]], root: Path) -> list[Path]:
    """The synchrony derivative dataset: its description and README, then one timeseries + sidecar per dyad."""
    written = _dataset_header(
        root, {"Name": "biotrainer therapist–client heart-rate synchrony", "BIDSVersion": BIDS_VERSION,
               "DatasetType": "derivative",
               "GeneratedBy": [{"Name": "biotrainer", "Version": __version__,
                                "Description": "biotrainer synchrony: windowed lagged cross-correlation of the "
                                               "two heart rates, tested against segment-shuffle surrogates"}]},
        f"Therapist–client heart-rate synchrony by biotrainer {__version__}, one timeseries per dyad session, "
        "filed under the client. One row per window; a positive lag means the client follows the therapist. "
        "An awareness aid for reflection and supervision, not a score.\n")
    for session, result in dyads:
        written.extend(_write_synchrony_timeseries(session, result, root))
    return written


def _write_synchrony_timeseries(session: ExchangeSession, result: dict[str, Any], root: Path) -> list[Path]:
    sub = bids_label(session.pseudonym("client"))
    ses = bids_label(session.id)
    task = bids_label(str(session.meta.get("protocol_name") or "practice"))
    folder = root / f"sub-{sub}" / f"ses-{ses}" / "beh"
    make_private_dirs(folder)
    stem = folder / f"sub-{sub}_ses-{ses}_task-{task}_desc-synchrony_timeseries"
    tsv = Path(f"{stem}.tsv")
    with open_private(tsv, "w", encoding="utf-8") as fh:
        fh.write("\t".join(SYNCHRONY_COLUMNS) + "\n")
        for win in result["windows"]:
            fh.write("\t".join(synchrony_cell(win[c]) or "n/a" for c in SYNCHRONY_COLUMNS) + "\n")
    return [tsv, _write_json(Path(f"{stem}.json"), synchrony_sidecar(session, result))]


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


def _export_session(session: ExchangeSession, out_dir: Path, subjects: dict[str, list[tuple[str, str, str]]]
                    ) -> list[Path]:
    written: list[Path] = []
    ses = bids_label(session.id)
    task = bids_label(str(session.meta.get("protocol_name") or "practice"))
    acq_time = session.started_at[:19] if session.started_at else "n/a"
    for role in session.roles:
        sub = bids_label(session.pseudonym(role))
        subjects.setdefault(sub, []).append((f"ses-{ses}", acq_time, str(session.meta.get("protocol_name") or "n/a")))
        folder = out_dir / f"sub-{sub}" / f"ses-{ses}" / "beh"
        make_private_dirs(folder)
        stem = f"sub-{sub}_ses-{ses}_task-{task}"
        for kind in ("ecg", "acc"):
            segs = [s for s in session.segments(kind) if s.participant == role]
            by_key: dict[tuple[str, float], list[Segment]] = {}
            for s in segs:
                by_key.setdefault((s.device, s.fs_hz), []).append(s)
            for i, group in enumerate(by_key.values()):
                label = kind if i == 0 else f"{kind}{i + 1}"
                lines, t0 = _signal_lines(group)
                written.append(_write_tsv_gz(folder / f"{stem}_recording-{label}_physio.tsv.gz", lines))
                written.append(_write_json(folder / f"{stem}_recording-{label}_physio.json",
                                           _physio_sidecar(session, kind, group[0], t0)))
        written.append(_write_tsv_gz(folder / f"{stem}_physioevents.tsv.gz", _event_lines(session, role)))
        written.append(_write_json(folder / f"{stem}_physioevents.json",
                                   {**EVENTS_SIDECAR, "SoftwareVersions": f"biotrainer {__version__}"}))
    log.info("BIDS export of %s: %d files", session.id, len(written))
    return written


def read_physio(tsv_gz: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Read one exported physio file and its sidecar (for tests and users): (sidecar, float array with NaN gaps)."""
    sidecar = json.loads(Path(str(tsv_gz).replace(".tsv.gz", ".json")).read_text(encoding="utf-8"))
    with gzip.open(tsv_gz, "rt", encoding="utf-8") as fh:
        rows = [[np.nan if v == "n/a" else float(v) for v in ln.rstrip("\n").split("\t")] for ln in fh]
    return sidecar, np.asarray(rows, dtype=float).reshape(len(rows), len(sidecar["Columns"]))


def import_bids(path: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read one exported BIDS session back: ``path`` is its ``*_physioevents.tsv.gz`` or the folder holding it.

    Beats (exact ``rr_1024``) and markers (from their JSON ``data``) come from the physioevents file; ECG/ACC from
    the ``*_physio.tsv.gz`` files next to it (``n/a`` rows are gaps). Raises ImportFormatError naming the file.
    """
    from biotrainer.core.errors import ImportFormatError
    from biotrainer.core.events import SELF, Beat, Event, from_record
    from biotrainer.exchange.import_rr import imported_meta
    from biotrainer.exchange.model import frames_from_samples

    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*_physioevents.tsv.gz"))
        if len(found) != 1:
            raise ImportFormatError(f"{path}: expected one *_physioevents.tsv.gz file, found {len(found)}")
        path = found[0]
    m = re.search(r"sub-([A-Za-z0-9]+)_ses-([A-Za-z0-9]+)", path.name)
    if not m:
        raise ImportFormatError(f"{path}: not a BIDS physioevents file name (sub-<label>_ses-<label>_…)")
    subject = m.group(1)
    events: list[Event] = []
    device = f"import:{path.name}"
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                cols = line.rstrip("\n").split("\t")
                if len(cols) != len(EVENT_COLUMNS):
                    raise ImportFormatError(f"{path}: line {lineno} has {len(cols)} columns, expected "
                                            f"{len(EVENT_COLUMNS)}")
                onset, _dur, kind, _value, rr_1024, source, data = cols
                if kind == "beat":
                    events.append(Beat(t_s=float(onset), participant=SELF, device=device, rr_1024=int(rr_1024),
                                       beat_t_s=float(onset), source=source))
                else:
                    events.append(from_record(kind, float(onset), "session", "", data, None))
        for physio in sorted(path.parent.glob(path.name.split("_physioevents")[0] + "_recording-*_physio.tsv.gz")):
            sidecar, values = read_physio(physio)
            kind = "ecg" if sidecar["Columns"] == list(ECG_COLUMNS) else "acc"
            fs, t0 = float(sidecar["SamplingFrequency"]), float(sidecar["StartTime"])
            ok = ~np.isnan(values[:, 0])
            idx = np.flatnonzero(ok)
            for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if idx.size else []:
                samples = values[run[0]:run[-1] + 1].astype(np.int64)
                events.extend(frames_from_samples(kind, participant=SELF, device=str(sidecar.get(
                    "DeviceSerialNumber", device)), fs_hz=fs, t0_s=t0 + run[0] / fs,
                    samples=samples[:, 0] if kind == "ecg" else samples))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise ImportFormatError(f"{path}: cannot read BIDS physio data ({exc})") from None
    events.sort(key=lambda e: e.t_s)
    anchor, protocol = _sessions_row(path, subject, m.group(2))
    meta = imported_meta(path, "bids", participant=participant or subject, anchor_unix_s=anchor,
                         duration_s=max((e.t_s for e in events), default=0.0),
                         extra={"protocol_name": protocol} if protocol else None)
    return ExchangeSession(meta, events)


def _sessions_row(path: Path, subject: str, session_label: str) -> tuple[float | None, str]:
    """The session start (unix s) and protocol from ``sub-<label>_sessions.tsv`` (acq_time is local time unless
    it has an offset); (None, "") when that file or row is missing (the importer then uses the file time)."""
    from datetime import datetime

    table = path.parent.parent.parent / f"sub-{subject}_sessions.tsv"
    try:
        rows = [line.rstrip("\n").split("\t") for line in table.read_text(encoding="utf-8").splitlines()]
        col = rows[0].index("acq_time")
        pcol = rows[0].index("protocol") if "protocol" in rows[0] else None
        for row in rows[1:]:
            if row and row[0] == f"ses-{session_label}" and len(row) > col:
                protocol = row[pcol] if pcol is not None and len(row) > pcol and row[pcol] != "n/a" else ""
                return datetime.fromisoformat(row[col].replace("Z", "+00:00")).timestamp(), protocol
    except (OSError, ValueError, IndexError):
        return None, ""
    return None, ""
