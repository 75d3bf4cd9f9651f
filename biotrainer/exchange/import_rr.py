"""Import RR-interval files written by other apps, and biotrainer's own CSV exports.

Accepted RR files:

- plain text, one interval per line, in ms (Kubios, Elite HRV, HRV Logger exports); values that all lie below 10
  are taken as seconds. Blank lines and lines starting with ``#`` are skipped; any other non-number line is an
  error naming the file and line.
- CSV/TSV with a header and an RR column: ``rr_1024`` (raw 1/1024 s, exact), else the first column whose name is
  ``rr``/``ibi``/``nn``/``rri`` optionally followed by a unit (``rr_ms``, ``RR (ms)``, ``ibi_s``…), else the only
  column. A ``beat_t_s`` column gives the beat times; a ``participant`` column is kept when it names a role.
  Another column can be named (``column=``, the ``analyze --column`` option). Parsing and this column choice are
  :mod:`biotrainer.exchange.table`'s, the same for ECG tables. Errors give the file's physical line number.

:func:`read_rr` is the one RR-file reader: :func:`import_rr` (``import``) and offline analysis (``analyze``, via
:mod:`biotrainer.analysis.inputs`) both use it; the analysis keeps the intervals in ms as written (or exact from
``rr_1024``), the import stores them as 1/1024 s.

Beat times, when the file has none, are the cumulative sum of the intervals (the first beat ends the first
interval). Intervals are stored as the nearest 1/1024 s (``rr_1024``), like every beat biotrainer records; a value
given in ms is therefore reproduced to within 0.5/1024 s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import (
    PARTICIPANT_ROLES,
    SELF,
    Beat,
    Event,
    from_record,
    rr_1024_to_ms,
    rr_ms_to_1024,
)
from biotrainer.exchange.model import ExchangeSession, frames_from_samples
from biotrainer.exchange.table import (
    TextTable,
    choose_column,
    ecg_name,
    ecg_scale_to_uv,
    number,
    read_table,
    read_text,
)

RR_NAME = re.compile(r"^\s*(rr|ibi|nn|rri|rr[-_ ]?interval|interval)s?\s*[_ (\[]*\s*(ms|s|sec|msec)?\s*[)\]]?\s*$",
                     re.IGNORECASE)
#: a wall-clock column: ``date`` (HRV Logger), ``Phone timestamp`` (Polar Sensor Logger), ``time``, ``datetime``…
TIME_NAME = re.compile(r"^\s*(phone[ _]?)?(date[ _]?time|date|time[ _]?stamp|time)\s*$", re.IGNORECASE)
RR_COLUMN_RULES = (lambda h: h.lower() == "rr_1024", RR_NAME.match)  # exact 1/1024 s first
RR_FILE = "an RR file"


def imported_meta(path: Path, fmt: str, *, anchor_unix_s: float | None = None, participant: str | None = None,
                  duration_s: float = 0.0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Session header for imported data: start time from the file when known, else its mtime minus duration."""
    from datetime import datetime, timezone

    start_known = anchor_unix_s is not None
    if anchor_unix_s is None:
        anchor_unix_s = path.stat().st_mtime - duration_s
    try:
        started = datetime.fromtimestamp(anchor_unix_s, tz=timezone.utc).astimezone().isoformat()
    except (OverflowError, OSError, ValueError):  # a damaged time (e.g. an XDF timestamp of 1e300)
        raise ImportFormatError(f"{path}: damaged file: start time {anchor_unix_s:.6g} s (unix) is out of range "
                                f"(data span {duration_s:.6g} s)") from None
    meta: dict[str, Any] = {"started_at": started, "anchor_unix_s": float(anchor_unix_s),
                            "title": f"imported {path.name}", "participants": {SELF: participant or SELF},
                            "app_version": __version__, "synthetic": False,
                            "imported_from": {"file": path.name, "format": fmt},
                            "start_known": start_known}  # in memory only: a dyad import aligns by it
    meta.update(extra or {})
    return meta


def _beats_from_rr(rr_ms: np.ndarray, beat_t_s: np.ndarray | None, participants: list[str] | None,
                   device: str) -> list[Event]:
    if beat_t_s is None:
        beat_t_s = np.cumsum(rr_ms) / 1000.0
    rr_1024 = rr_ms_to_1024(np.asarray(rr_ms, dtype=float))
    out: list[Event] = []
    for i, (r, t) in enumerate(zip(rr_1024.tolist(), beat_t_s.tolist(), strict=True)):
        who = participants[i] if participants else SELF
        out.append(Beat(t_s=float(t), participant=who, device=device, rr_1024=int(r), beat_t_s=float(t),
                        source="import"))
    return out


MAX_RR_MS = 60_000.0  # a longer 'interval' is a recording gap or a wrong unit, never a heartbeat


def _check_rr(path: Path, rr_ms: np.ndarray) -> None:
    if rr_ms.size == 0:
        raise ImportFormatError(f"{path}: no RR intervals found")
    bad = np.flatnonzero(~np.isfinite(rr_ms) | (rr_ms <= 0))
    if bad.size:
        raise ImportFormatError(f"{path}: RR value {float(rr_ms[bad[0]]):g} ms (interval {bad[0] + 1}) is not a "
                                "positive number")
    too_long = np.flatnonzero(rr_ms > MAX_RR_MS)
    if too_long.size:
        raise ImportFormatError(f"{path}: RR value {float(rr_ms[too_long[0]]):g} ms (interval {too_long[0] + 1}) "
                                f"is longer than {MAX_RR_MS / 1000:g} s: not a heartbeat interval")


@dataclass
class RrFile:
    """What an RR file holds: ``rr_ms`` (float, ms) always; ``rr_1024`` when the file has that exact column,
    ``beat_t_s`` and ``participant`` (one per interval) when it has those columns or beat times; ``start_unix_s``
    when a wall-clock column dates the beats; ``fmt`` ``rr-text``/``rr-csv``."""

    rr_ms: np.ndarray
    rr_1024: np.ndarray | None = None
    beat_t_s: np.ndarray | None = None
    participant: list[str] | None = None
    fmt: str = "rr-text"
    start_unix_s: float | None = None  # wall clock of time 0 (the start of the first interval), from a time column


def read_rr(path: str | Path, column: str | None = None) -> RrFile:
    """Read an RR file: a plain list or a CSV/TSV with an RR column (see the module docstring).

    The one RR reader: the ``import`` command (:func:`import_rr`) and offline analysis (``analyze``) both use it.

    Parameters
    ----------
    path : str or Path
        The file.
    column : str, optional
        Name of the column holding the intervals (case-insensitive); the file must then have a header row.
        Without it the column is found by name (``rr_1024``, else ``rr``/``ibi``/``nn``/``rri`` with an optional
        unit).

    Raises
    ------
    ImportFormatError
        Naming the file and the problem: a missing file, a text line or cell that is not a number (with its line
        number in the file), no RR column, non-positive or impossible intervals.
    """
    path = Path(path)
    text = read_text(path, RR_FILE)
    if column is not None or _looks_tabular(text):
        return read_rr_table(path, text, column)
    return read_rr_numbers(path, text)


def read_rr_text(path: Path, text: str | None = None) -> np.ndarray:
    """RR intervals (ms) from a plain text file (see :func:`read_rr_numbers`). Raises ImportFormatError naming
    the bad line."""
    return read_rr_numbers(path, text).rr_ms


def read_rr_numbers(path: Path, text: str | None = None) -> RrFile:
    """A text file of numbers only: one interval per line (Kubios, HRV Logger), a comma list (Elite HRV: a line
    with two or more commas, or every line with one when the file has such a line), or two columns separated by
    tabs, spaces or ``;`` — beat time and interval, as Kubios reads and writes RR text. Values all below 10 are
    seconds. Raises ImportFormatError naming the bad line."""
    text = read_text(path, RR_FILE) if text is None else text
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.lstrip().startswith("#")]
    comma_list = any(ln.count(",") >= 2 for _, ln in lines)
    rows: list[list[float]] = []
    for lineno, line in lines:
        cells = [c for c in re.split(r"[,\s;]+" if comma_list else r"[\s;]+", line) if c]
        try:
            values = [number(c) for c in cells]
        except ValueError:
            raise ImportFormatError(f"{path}: line {lineno} is not an RR interval: {line[:40]!r}") from None
        if comma_list:
            rows.extend([v] for v in values)
        elif len(values) in (1, 2) and (not rows or len(values) == len(rows[0])):
            rows.append(values)
        else:
            raise ImportFormatError(f"{path}: line {lineno} has {len(values)} numbers, expected "
                                    f"{len(rows[0]) if rows else '1 or 2'} (interval, or beat time and interval)")
    if rows and len(rows[0]) == 2:  # Kubios: time, RR
        t, rr = np.asarray(rows, dtype=float).T
        _check_rr(path, rr)
        rr_in_s = np.nanmax(rr) < 10
        rr_ms = rr * 1000.0 if rr_in_s else rr
        step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        t_s = t / 1000.0 if step > 0 and step > 50 * float(np.median(rr_ms)) / 1000.0 else t  # times in ms
        return RrFile(rr_ms, beat_t_s=t_s, fmt="rr-text")
    rr = np.asarray([r[0] for r in rows], dtype=float)
    _check_rr(path, rr)
    if np.nanmax(rr) < 10:  # seconds
        rr = rr * 1000.0
    return RrFile(rr, fmt="rr-text")


def _looks_tabular(text: str) -> bool:
    """The first non-comment line is a header: it has a letter and is not a number (``rr``, ``time,RR (ms)``)."""
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            if not any(c.isalpha() for c in s):
                return False
            try:
                number(s)
            except ValueError:
                return True
            return False
    return False


def read_rr_table(path: Path, text: str | None = None, column: str | None = None) -> RrFile:
    """Columns of an RR CSV/TSV: ``rr_ms`` (float array), ``rr_1024`` (exact, if present), ``beat_t_s``,
    ``participant``; ``column`` names the RR column, else :func:`biotrainer.exchange.table.choose_column` finds it.
    Errors give the file's line number."""
    table = read_table(path, text, RR_FILE)
    i = choose_column(table, column, RR_COLUMN_RULES, "RR", "rr, rr_ms, ibi, RR (ms) or rr_1024")
    name = table.name(i)
    result = RrFile(rr_ms=np.zeros(0), fmt="rr-csv")
    if name.lower() == "rr_1024":
        result.rr_1024 = _whole_numbers(table, i)
        result.rr_ms = rr_1024_to_ms(result.rr_1024)
    else:
        rr = table.values(i)
        is_s = bool(re.search(r"[_ (\[]s(ec)?[)\]]?$", name.lower())) or bool(rr.size and np.nanmax(rr) < 10)
        result.rr_ms = rr * 1000.0 if is_s else rr
    _check_rr(path, result.rr_ms)
    lower = [h.lower() for h in table.header]
    if "beat_t_s" in lower:
        result.beat_t_s = table.values(lower.index("beat_t_s"))
    elif (clock := next((j for j, h in enumerate(table.header) if TIME_NAME.match(h)), None)) is not None:
        dated = _dated_beats(table, clock, result.rr_ms)
        if dated is not None:
            result.beat_t_s, result.start_unix_s = dated
    if "participant" in lower:
        result.participant = table.strings(lower.index("participant"))
    return result


def wall_times(table: TextTable, i: int) -> np.ndarray | None:
    """Column ``i`` as unix seconds when every cell is an ISO date and time (``2026-06-01T21:17:07.832``, a space
    instead of ``T``, an optional offset; without one it is local time); None when the column is not dates."""
    from datetime import datetime

    out = np.empty(len(table.rows))
    for r, cell in enumerate(table.strings(i)):
        try:
            out[r] = datetime.fromisoformat(cell).timestamp()
        except (ValueError, OverflowError, OSError):
            return None
    return out if len(out) and np.all(np.isfinite(out)) else None


BEAT_CLOCK_GAP_S = 2.0  # the wall clock runs ahead of the summed intervals by more than this: beats were lost


def _dated_beats(table: TextTable, i: int, rr_ms: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Beat times (s since the start of the first interval) and that start's wall clock from a date column.

    The intervals are exact, the phone's clock is not (it stamps arrival, late and in bursts): beat times are the
    summed intervals, placed on the wall clock by the smallest offset between the two (the 2nd percentile: the
    beats that arrived soonest); where the clock jumps ahead by more
    than :data:`BEAT_CLOCK_GAP_S` (beats lost, e.g. the strap was out of range) the following beats move with it,
    so the gap stays a gap."""
    wall = wall_times(table, i)
    if wall is None or len(wall) != len(rr_ms):
        return None
    summed = np.cumsum(rr_ms) / 1000.0
    offset = wall - summed
    starts = np.flatnonzero(np.diff(offset) > BEAT_CLOCK_GAP_S) + 1
    placed = np.empty_like(summed)
    for run in np.split(np.arange(len(summed)), starts):
        placed[run] = summed[run] + np.percentile(offset[run], 2)
    anchor = float(placed[0] - rr_ms[0] / 1000.0)
    return placed - anchor, anchor


def _whole_numbers(table: TextTable, i: int) -> np.ndarray:
    """Column ``i`` as int64; an error naming the line of a value that is not a whole number."""
    raw = table.values(i)
    bad = np.flatnonzero(~np.isfinite(raw) | (raw != np.round(raw)))
    if bad.size:
        raise ImportFormatError(f"{table.path}: line {table.linenos[bad[0]]}: rr_1024 {raw[bad[0]]:g} is not a "
                                "whole number")
    return raw.astype(np.int64)


def import_rr(path: Path, *, participant: str | None = None, column: str | None = None) -> ExchangeSession:
    """Read an RR file (plain list or CSV with an RR column) into an :class:`ExchangeSession`.

    The session starts at the wall clock of a date column (HRV Logger ``date``, Polar Sensor Logger ``Phone
    timestamp``) when the file has one, else at the file's time minus its length (``start_known`` False).

    Parameters
    ----------
    path : Path
        The file.
    participant : str, optional
        Pseudonym of the person measured (stored for the ``self`` role).
    column : str, optional
        The RR column's name (``import --column``), as :func:`read_rr` takes it.

    Raises
    ------
    ImportFormatError
        With the file name and the problem, for text lines, missing columns or non-positive values.
    """
    path = Path(path)
    text = read_text(path, RR_FILE)
    if column is None and _looks_tabular(text):
        table = read_table(path, text, RR_FILE)
        if _is_ecg_table(table):
            return import_ecg_table(path, table, participant=participant)
    rr = read_rr(path, column)
    roles = [p if p in PARTICIPANT_ROLES else SELF for p in rr.participant] if rr.participant else None
    rr_ms = rr_1024_to_ms(rr.rr_1024) if rr.rr_1024 is not None else rr.rr_ms
    events = _beats_from_rr(rr_ms, rr.beat_t_s, roles, f"import:{path.name}")
    duration = max((e.beat_t_s for e in events), default=0.0)  # type: ignore[attr-defined]
    return ExchangeSession(imported_meta(path, rr.fmt, participant=participant, duration_s=duration,
                                         anchor_unix_s=rr.start_unix_s), events)


def _is_ecg_table(table: TextTable) -> bool:
    """An ECG text file (Polar Sensor Logger ``…;ecg [uV]``): an ECG column and no RR column."""
    return any(ecg_name(h) for h in table.header) and not any(
        rule(h) for rule in RR_COLUMN_RULES for h in table.header)


def import_ecg_table(path: Path, table: TextTable, *, participant: str | None = None) -> ExchangeSession:
    """An ECG text file (Polar Sensor Logger: ``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]``):
    ECG frames at the rate of its ``timestamp [ms]`` (or ``sensor timestamp [ns]``) column, beats from R-peaks,
    the start from the first ``Phone timestamp``. Runs split where the sample clock jumps (lost samples)."""
    from biotrainer.exchange.import_edf import beats_from_ecg

    i = next(j for j, h in enumerate(table.header) if ecg_name(h))
    uv = np.rint(table.values(i) * ecg_scale_to_uv(table.header[i])).astype(np.int64)
    t = _sample_clock_s(table)
    if t is None or len(t) < 2:
        raise ImportFormatError(f"{path}: ECG file without a sample clock column (timestamp [ms] or sensor "
                                "timestamp [ns])")
    dt = np.diff(t)
    if not np.all(dt > 0):
        raise ImportFormatError(f"{path}: line {table.linenos[int(np.argmin(dt)) + 1]}: the sample clock goes "
                                "backwards")
    fs = float(np.round((len(t) - 1) / (t[-1] - t[0]), 3))  # over the whole file: the column is rounded
    device = f"import:{path.name}"
    events: list[Event] = []
    for run in np.split(np.arange(len(t)), np.flatnonzero(dt > 1.5 / fs) + 1):
        events.extend(frames_from_samples("ecg", participant=SELF, device=device, fs_hz=fs,
                                          t0_s=float(t[run[0]] - t[0]), samples=uv[run[0]:run[-1] + 1]))
    events.extend(beats_from_ecg(events, device))
    events.sort(key=lambda e: e.t_s)
    clock = next((j for j, h in enumerate(table.header) if TIME_NAME.match(h)), None)
    wall = wall_times(table, clock) if clock is not None else None
    anchor = float(np.median(wall - (t - t[0]))) if wall is not None else None
    return ExchangeSession(imported_meta(path, "ecg-text", participant=participant, anchor_unix_s=anchor,
                                         duration_s=float(t[-1] - t[0])), events)


def _sample_clock_s(table: TextTable) -> np.ndarray | None:
    """Sample times (s) from a ``timestamp [ms]`` or ``sensor timestamp [ns]`` column."""
    lower = [h.lower().replace(" ", "") for h in table.header]
    for name, scale in (("timestamp[ms]", 1e-3), ("sensortimestamp[ns]", 1e-9)):
        if name in lower:
            return table.values(lower.index(name)) * scale
    return None


def import_csv_export(folder: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read a biotrainer CSV export folder (``*_beats.csv`` + ``*_markers.csv`` + ``*_meta.json`` + signals)."""
    folder = Path(folder)
    beats_files = sorted(folder.glob("*_beats.csv"))
    if not beats_files:
        raise ImportFormatError(f"{folder}: no *_beats.csv file (not a biotrainer CSV export)")
    base = str(beats_files[0])[: -len("_beats.csv")]
    session_meta = _export_meta(Path(base + "_meta.json"))
    pseudonyms = dict(session_meta.get("participants") or {})
    role_of = {v: k for k, v in pseudonyms.items()}
    if participant:
        pseudonyms[SELF] = participant
    events = _export_events(base, beats_files[0], role_of)
    events.sort(key=lambda e: e.t_s)
    anchor = session_meta.get("anchor_unix_s")
    meta = imported_meta(folder, "biotrainer-csv", anchor_unix_s=float(anchor) if anchor is not None else None,
                         participant=participant)
    meta["participants"] = pseudonyms or meta["participants"]
    for key in ("title", "protocol_name", "devices", "synthetic"):
        if key in session_meta:
            meta[key] = session_meta[key]
    meta["imported_from"]["session_id"] = session_meta.get("id")
    return ExchangeSession(meta, events)


def _export_meta(meta_path: Path) -> dict[str, Any]:
    """The ``session`` header of an export's ``*_meta.json`` ({} when the file is missing)."""
    if not meta_path.exists():
        return {}
    try:
        return json.loads(meta_path.read_text(encoding="utf-8")).get("session", {})
    except ValueError as exc:
        raise ImportFormatError(f"{meta_path}: not valid JSON ({exc})") from None


def _export_table(base: str, suffix: str, **kw: Any) -> Any:
    """One CSV file of the export as a pandas table (None when the export has no such file); the ``#`` line of
    exports before version 0.2 is skipped."""
    import pandas as pd

    p = Path(base + suffix)
    if not p.exists():
        return None
    try:
        with open(p, encoding="utf-8") as fh:
            legacy = fh.readline().startswith("# biotrainer")
        return pd.read_csv(p, skiprows=1 if legacy else 0, keep_default_na=False, **kw)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ImportFormatError(f"{p}: not a biotrainer CSV ({str(exc).splitlines()[0]})") from None


def _role(row: Any, role_of: dict[str, str]) -> str:
    """A row's role: its ``role`` column, else the role of its pseudonym (exports before the role column)."""
    role = getattr(row, "role", "")
    return role if role else role_of.get(row.participant, row.participant)


def _export_events(base: str, beats_file: Path, role_of: dict[str, str]) -> list[Event]:
    """Beats, markers, connection events, heart rate and ECG/ACC frames of an export, participants as roles
    (publish order lost; gap rows are derived and skipped)."""
    from biotrainer.core.events import HeartRate

    events: list[Event] = []
    text = {"participant": str, "device": str, "source": str, "role": str}
    beats = _export_table(base, "_beats.csv", dtype=text)
    for col in ("rr_1024", "beat_t_s", "arrival_t_s"):
        if col not in beats.columns:
            raise ImportFormatError(f"{beats_file}: column {col!r} missing")
    for row in beats.itertuples(index=False):
        events.append(Beat(t_s=float(row.arrival_t_s), participant=_role(row, role_of), device=str(row.device),
                           rr_1024=int(row.rr_1024), beat_t_s=float(row.beat_t_s), source=str(row.source)))
    markers = _export_table(base, "_markers.csv", dtype={**text, "data": str, "kind": str})
    if markers is not None:
        for row in markers.itertuples(index=False):
            if row.kind == "gap":
                continue
            who = "session" if row.participant == "session" else _role(row, role_of)
            events.append(from_record(row.kind, float(row.t_s), who, str(getattr(row, "device", "")), row.data,
                                      None))
    hr = _export_table(base, "_hr.csv", dtype=text)
    if hr is not None:
        for row in hr.itertuples(index=False):
            contact = None if row.contact == "" else bool(int(row.contact))
            events.append(HeartRate(t_s=float(row.t_s), participant=_role(row, role_of), device=str(row.device),
                                    hr_bpm=int(row.hr_bpm), contact=contact))
    for kind in ("ecg", "acc"):
        sig = _export_table(base, f"_{kind}.csv", dtype=text)
        if sig is not None:
            if "role" not in sig.columns:
                sig["role"] = [role_of.get(p, p) for p in sig["participant"]]
            events.extend(_export_frames(kind, sig))
    return events


def _export_frames(kind: str, sig: Any) -> list[Event]:
    """ECG/ACC frames from an export's signal table, one run per gap-free segment (the export wrote them so)."""
    events: list[Event] = []
    cols = ["ecg_uv"] if kind == "ecg" else ["acc_x_mg", "acc_y_mg", "acc_z_mg"]
    for (role, d, fs), grp in sig.groupby(["role", "device", "fs_hz"], sort=False):
        t = grp["t_s"].to_numpy(float)
        # split where the sample clock jumps (the export wrote one run per gap-free segment)
        breaks = np.flatnonzero(np.abs(np.diff(t) - 1.0 / fs) > 0.5 / fs) + 1
        for chunk in np.split(np.arange(len(t)), breaks):
            samples = grp[cols].to_numpy(np.int64)[chunk]
            events.extend(frames_from_samples(kind, participant=role, device=d, fs_hz=float(fs),
                                              t0_s=float(t[chunk[0]]),
                                              samples=samples[:, 0] if kind == "ecg" else samples))
    return events
