"""CSV export: beats, heart rate, markers, ECG and accelerometer of one session (SCIENCE.md §8).

One folder per session, files ``<id>_beats.csv``, ``_hr.csv``, ``_markers.csv``, ``_ecg.csv``, ``_acc.csv`` and
``_meta.json``. Every CSV starts with one ``#`` comment line naming biotrainer, its version and the session (read
with ``pandas.read_csv(path, comment="#")``); units are in the column names; times are seconds since session start
(``started_at`` in the comment and in ``_meta.json`` is the ISO-8601 wall clock of time 0). Files are 0600.

Beats are lossless: ``rr_1024`` is the raw value in 1/1024 s as the strap sent it; ``rr_ms`` = rr_1024·1000/1024;
``flag`` is the artifact class (0 normal, 1 ectopic, 2 missed, 3 extra, 4 long/short) and ``rr_corrected_ms`` the
corrected interval ending at that beat (empty where correction removed or moved the beat). Markers keep every field
as the event's JSON in ``data``, so :mod:`biotrainer.exchange.import_csv` rebuilds them exactly.

A therapist–client session exported with its synchrony (the JSON of ``biotrainer synchrony --json``, computed by
the caller: exchange sits below the analysis layer) also gets ``<id>_synchrony.csv``, one row per window
(:data:`SYNCHRONY_COLUMNS`; empty cells where a window has no value, ``above_chance`` true/false), and the
session-level numbers, settings and the columns with their units under ``synchrony`` in ``_meta.json``. That file
has no ``#`` line, so a plain ``pandas.read_csv(path)`` reads it (as does ``comment="#"``). **A positive lag means the client follows
the therapist.**
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.core.events import to_record
from biotrainer.exchange.model import ExchangeSession, Segment
from biotrainer.store.paths import make_private_dirs, open_private

log = logging.getLogger(__name__)

BEAT_COLUMNS = ("participant", "device", "source", "arrival_t_s", "beat_t_s", "rr_1024", "rr_ms", "flag",
                "rr_corrected_ms")
MARKER_COLUMNS = ("t_s", "kind", "participant", "label", "data")
HR_COLUMNS = ("t_s", "participant", "device", "hr_bpm", "contact")
ECG_COLUMNS = ("t_s", "participant", "device", "fs_hz", "ecg_uv")
ACC_COLUMNS = ("t_s", "participant", "device", "fs_hz", "acc_x_mg", "acc_y_mg", "acc_z_mg")

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


def export_csv(session: ExchangeSession, out_dir: Path, synchrony: dict[str, Any] | None = None) -> list[Path]:
    """Write the CSV files of ``session`` into ``out_dir`` (created); returns the written paths.

    Parameters
    ----------
    session : ExchangeSession
        The session (participants are written as their pseudonyms).
    out_dir : Path
        Destination folder.
    synchrony : dict, optional
        The session's synchrony JSON (:func:`biotrainer.analysis.synchrony.synchrony_of_events`); adds
        ``<id>_synchrony.csv`` and the ``synchrony`` block of ``_meta.json``.

    Returns
    -------
    list of Path
    """
    out_dir = Path(out_dir)
    make_private_dirs(out_dir)
    base = out_dir / session.id
    written = [_write_beats(session, Path(f"{base}_beats.csv")), _write_markers(session, Path(f"{base}_markers.csv")),
               _write_hr(session, Path(f"{base}_hr.csv"))]
    for kind, cols in (("ecg", ECG_COLUMNS), ("acc", ACC_COLUMNS)):
        segs = session.segments(kind)
        if segs:
            written.append(_write_signal(session, segs, cols, Path(f"{base}_{kind}.csv")))
    meta = export_meta(session)
    if synchrony is not None:
        sync_path = _write_synchrony(synchrony["windows"], Path(f"{base}_synchrony.csv"))
        written.append(sync_path)
        meta["synchrony"] = synchrony_header(synchrony, sync_path.name)
    meta_path = Path(f"{base}_meta.json")
    with open_private(meta_path, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2, default=str)
    written.append(meta_path)
    log.info("CSV export of %s: %d files in %s", session.id, len(written), out_dir)
    return written


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


def _write_synchrony(windows: list[dict[str, Any]], path: Path) -> Path:
    with open_private(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SYNCHRONY_COLUMNS)
        for win in windows:
            w.writerow([synchrony_cell(win[c]) for c in SYNCHRONY_COLUMNS])
    return path


def _writer(path: Path, session: ExchangeSession, columns: tuple[str, ...]):
    fh = open_private(path, "w", encoding="utf-8", newline="")
    fh.write(f"# {session.header_line()}\n")
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(columns)
    return fh, w


def _write_beats(session: ExchangeSession, path: Path) -> Path:
    beats = session.beats()
    fh, w = _writer(path, session, BEAT_COLUMNS)
    with fh:
        rr_ms = beats.rr_ms
        for i in range(len(beats)):
            corr = beats.rr_corrected_ms[i]
            w.writerow((session.pseudonym(beats.participant[i]), beats.device[i], beats.source[i],
                        repr(float(beats.arrival_t_s[i])), repr(float(beats.beat_t_s[i])), int(beats.rr_1024[i]),
                        repr(float(rr_ms[i])), int(beats.flags[i]),
                        "" if np.isnan(corr) else repr(float(corr))))
    return path


def _write_markers(session: ExchangeSession, path: Path) -> Path:
    fh, w = _writer(path, session, MARKER_COLUMNS)
    with fh:
        for e in session.markers():
            kind, t_s, participant, _device, data, _blob = to_record(e)
            w.writerow((repr(t_s), kind, participant, marker_label(e), data))
    return path


def _write_hr(session: ExchangeSession, path: Path) -> Path:
    fh, w = _writer(path, session, HR_COLUMNS)
    with fh:
        for e in session.heart_rates():
            w.writerow((repr(e.t_s), session.pseudonym(e.participant), e.device, e.hr_bpm,
                        "" if e.contact is None else int(e.contact)))
    return path


def _write_signal(session: ExchangeSession, segments: list[Segment], columns: tuple[str, ...], path: Path) -> Path:
    fh, _ = _writer(path, session, columns)
    with fh:
        for seg in segments:
            t = np.round(seg.times_s(), 6)
            values = seg.samples.reshape(seg.n, -1)
            pseud = session.pseudonym(seg.participant).replace(",", "_")
            device = seg.device.replace(",", "_")
            prefix = f"{pseud},{device},{seg.fs_hz:g}"
            lines = [f"{ti!r},{prefix}," + ",".join(map(str, row)) for ti, row in zip(t.tolist(), values.tolist(),
                                                                                     strict=True)]
            fh.write("\n".join(lines))
            fh.write("\n")
    return path
