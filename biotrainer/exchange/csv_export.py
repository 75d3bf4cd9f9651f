"""CSV export: beats, heart rate, markers, ECG and accelerometer of one session (SCIENCE.md §8).

One folder per session, files ``<id>_beats.csv``, ``_hr.csv``, ``_markers.csv``, ``_ecg.csv``, ``_acc.csv`` and the
JSON sidecar ``_meta.json`` (software, version, the session header with ``started_at``, ``anchor_unix_s``,
``synthetic`` and role → pseudonym, units, what each file holds). Every CSV starts with its header row, so a plain
``pandas.read_csv(path)`` reads it; units are in the column names; times are seconds since session start
(``started_at`` in ``_meta.json`` is the ISO-8601 wall clock of time 0). Files are 0600, written all or none
(:class:`~biotrainer.exchange.atomic.AtomicWrites`). Each row names the person twice: ``participant`` (the
pseudonym) and ``role`` (``self``, ``therapist``, ``client``), so both people of a therapist–client session are
in the same files of one session.

Beats are lossless: ``rr_1024`` is the raw value in 1/1024 s as the strap sent it; ``rr_ms`` = rr_1024·1000/1024;
``flag`` is the artifact class (0 normal, 1 ectopic, 2 missed, 3 extra, 4 long/short) and ``rr_corrected_ms`` the
corrected interval ending at that beat (empty where correction removed or moved the beat); ``gap_before_s`` is the
time without beats before this beat's interval (empty when the beats are contiguous: lost beats, e.g. while the
strap was disconnected, are visible here). ``_markers.csv`` holds the protocol markers, the annotations, the
sensors' connection changes (``kind`` ``connection``, ``label`` the state) and the data gaps (``kind`` ``gap``,
``label`` the stream ``beats``/``ecg``/``acc``, ``duration_s`` its length); markers keep every field as the event's
JSON in ``data``, so :func:`biotrainer.exchange.import_rr.import_csv_export` rebuilds them exactly. Exports of
earlier versions (a ``#`` comment line first) are still imported.

A therapist–client session exported with its synchrony (the JSON of ``biotrainer synchrony --json``, computed by
the caller: exchange sits below the analysis layer) also gets ``<id>_synchrony.csv``, one row per window
(:data:`SYNCHRONY_COLUMNS`; empty cells where a window has no value, ``above_chance`` true/false), and the
session-level numbers, settings and the columns with their units under ``synchrony`` in ``_meta.json``. **A positive lag means
the client follows the therapist.**
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.core.events import to_record
from biotrainer.exchange.atomic import AtomicWrites, joined
from biotrainer.exchange.model import ExchangeSession, Segment

log = logging.getLogger(__name__)

BEAT_COLUMNS = ("participant", "role", "device", "source", "arrival_t_s", "beat_t_s", "rr_1024", "rr_ms", "flag",
                "rr_corrected_ms", "gap_before_s")
MARKER_COLUMNS = ("t_s", "kind", "participant", "role", "device", "label", "duration_s", "data")
HR_COLUMNS = ("t_s", "participant", "role", "device", "hr_bpm", "contact")
ECG_COLUMNS = ("t_s", "participant", "role", "device", "fs_hz", "ecg_uv")
ACC_COLUMNS = ("t_s", "participant", "role", "device", "fs_hz", "acc_x_mg", "acc_y_mg", "acc_z_mg")

#: The synchrony windows' columns: (description, unit), for the CSV export's header and the BIDS sidecar.
SYNCHRONY_COLUMNS: dict[str, tuple[str, str]] = {
    "start_s": ("window start, seconds since session start", "s"),
    "end_s": ("window end, seconds since session start", "s"),
    "peak_r": ("largest in-phase (positive) correlation of the two detrended heart rates over the lags tried", "1"),
    "peak_lag_s": ("lag of that peak; positive: the client follows the therapist, negative: the therapist "
                   "follows the client", "s"),
    "z": ("Fisher z of peak_r (artanh); empty / n/a when more than half of the window's data is missing", "1"),
    "above_chance": ("z above the 95th percentile of the surrogate (non-matching segment) pairs", "true/false"),
}


def marker_label(event: object) -> str:
    for attr in ("segment", "name", "text", "state"):
        value = getattr(event, attr, None)
        if value:
            return str(value)
    return ""


def export_csv(session: ExchangeSession, out_dir: Path, synchrony: dict[str, Any] | None = None, *,
               writes: AtomicWrites | None = None) -> list[Path]:
    """Write the CSV files of ``session`` into ``out_dir`` (created); returns the written paths.

    All files are written through :class:`~biotrainer.exchange.atomic.AtomicWrites`: all of them or none.

    Parameters
    ----------
    session : ExchangeSession
        The session (participants are written as their pseudonyms, with their role).
    out_dir : Path
        Destination folder.
    synchrony : dict, optional
        The session's synchrony JSON (:func:`biotrainer.analysis.synchrony.synchrony_of_events`); adds
        ``<id>_synchrony.csv`` and the ``synchrony`` block of ``_meta.json``.
    writes : AtomicWrites, optional
        The caller's batch (it commits); default: this export's own.

    Returns
    -------
    list of Path

    Raises
    ------
    ExportError
        A file could not be written (nothing is left behind).
    """
    out_dir = Path(out_dir)
    with joined(writes) as out:
        out.mkdirs(out_dir)
        base = out_dir / session.id
        written = [_write_beats(out, session, Path(f"{base}_beats.csv")),
                   _write_markers(out, session, Path(f"{base}_markers.csv")),
                   _write_hr(out, session, Path(f"{base}_hr.csv"))]
        for kind, cols in (("ecg", ECG_COLUMNS), ("acc", ACC_COLUMNS)):
            segs = session.segments(kind)
            if segs:
                written.append(_write_signal(out, session, segs, cols, Path(f"{base}_{kind}.csv")))
        meta = export_meta(session)
        meta["files"] = {p.name: "one row per " + what for p, what in zip(written, FILE_ROWS, strict=False)}
        if synchrony is not None:
            sync_path = _write_synchrony(out, synchrony["windows"], Path(f"{base}_synchrony.csv"))
            written.append(sync_path)
            meta["synchrony"] = synchrony_header(synchrony, sync_path.name)
        meta_path = Path(f"{base}_meta.json")
        with out.open(meta_path, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2, default=str)
        written.append(meta_path)
    log.info("CSV export of %s: %d files in %s", session.id, len(written), out_dir)
    return written


FILE_ROWS = ("beat", "marker, sensor connection change or data gap", "heart-rate notification of a strap",
             "ECG sample", "accelerometer sample")


def export_meta(session: ExchangeSession) -> dict:
    """The header every export carries: software, version, units and the session header (pseudonyms only)."""
    from biotrainer import __version__

    meta = {k: v for k, v in session.meta.items() if k not in {"writer", "protocol_toml", "settings"}}
    return {"software": "biotrainer", "software_version": __version__, "session": meta,
            "time_reference": "t_s = seconds since session start; started_at is its wall clock (ISO-8601)",
            "units": {"rr_1024": "1/1024 s", "rr_ms": "ms", "hr_bpm": "beats/min", "ecg_uv": "microvolts",
                      "acc_mg": "milli-g", "t_s": "s"}}


def synchrony_header(synchrony: dict[str, Any], file_name: str) -> dict[str, Any]:
    """The session-level synchrony numbers and settings (everything but the windows), the windows' file and
    its columns with their units."""
    return {"file": file_name,
            "columns": {c: {"description": d, "unit": u} for c, (d, u) in SYNCHRONY_COLUMNS.items()},
            **{k: v for k, v in synchrony.items() if k != "windows"}}


def synchrony_cell(value: Any) -> str:
    """A window value as text: ``repr`` of floats (lossless), ``true``/``false``, empty for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value))


def _write_synchrony(out: AtomicWrites, windows: list[dict[str, Any]], path: Path) -> Path:
    with out.open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SYNCHRONY_COLUMNS)
        for win in windows:
            w.writerow([synchrony_cell(win[c]) for c in SYNCHRONY_COLUMNS])
    return path


def _writer(out: AtomicWrites, path: Path, columns: tuple[str, ...]):
    """The open file and a csv writer, the header row written (no comment line: plain ``pandas.read_csv``)."""
    fh = out.open(path, "w", encoding="utf-8", newline="")
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(columns)
    return fh, w


def _write_beats(out: AtomicWrites, session: ExchangeSession, path: Path) -> Path:
    beats = session.beats()
    gap_before = session.beat_gap_before_s(beats)
    fh, w = _writer(out, path, BEAT_COLUMNS)
    with fh:
        rr_ms = beats.rr_ms
        for i in range(len(beats)):
            corr = beats.rr_corrected_ms[i]
            role = beats.participant[i]
            w.writerow((session.pseudonym(role), role, beats.device[i], beats.source[i],
                        repr(float(beats.arrival_t_s[i])), repr(float(beats.beat_t_s[i])), int(beats.rr_1024[i]),
                        repr(float(rr_ms[i])), int(beats.flags[i]),
                        "" if np.isnan(corr) else repr(float(corr)), repr(float(gap_before[i])) if gap_before[i]
                        else ""))
    return path


def _who(session: ExchangeSession, participant: str) -> str:
    return "session" if participant == "session" else session.pseudonym(participant)


def _write_markers(out: AtomicWrites, session: ExchangeSession, path: Path) -> Path:
    rows: list[tuple[float, tuple[Any, ...]]] = []
    for e in [*session.markers(), *session.connections()]:
        kind, t_s, participant, device, data, _blob = to_record(e)
        duration = getattr(e, "duration_s", None) if kind in ("pacer", "phase") else None
        rows.append((t_s, (repr(t_s), kind, _who(session, participant), participant, device, marker_label(e),
                           "" if duration is None else repr(float(duration)), data)))
    for g in session.gaps():
        rows.append((g.start_s, (repr(g.start_s), "gap", _who(session, g.participant), g.participant, g.device,
                                 g.stream, repr(g.duration_s), "")))
    rows.sort(key=lambda r: r[0])
    fh, w = _writer(out, path, MARKER_COLUMNS)
    with fh:
        w.writerows(r for _, r in rows)
    return path


def _write_hr(out: AtomicWrites, session: ExchangeSession, path: Path) -> Path:
    fh, w = _writer(out, path, HR_COLUMNS)
    with fh:
        for e in session.heart_rates():
            w.writerow((repr(e.t_s), session.pseudonym(e.participant), e.participant, e.device, e.hr_bpm,
                        "" if e.contact is None else int(e.contact)))
    return path


def _write_signal(out: AtomicWrites, session: ExchangeSession, segments: list[Segment], columns: tuple[str, ...],
                  path: Path) -> Path:
    fh, _ = _writer(out, path, columns)
    with fh:
        for seg in segments:
            t = np.round(seg.times_s(), 6)
            values = seg.samples.reshape(seg.n, -1)
            pseud = session.pseudonym(seg.participant).replace(",", "_")
            device = seg.device.replace(",", "_")
            prefix = f"{pseud},{seg.participant},{device},{seg.fs_hz:g}"
            lines = [f"{ti!r},{prefix}," + ",".join(map(str, row)) for ti, row in zip(t.tolist(), values.tolist(),
                                                                                     strict=True)]
            fh.write("\n".join(lines))
            fh.write("\n")
    return path
