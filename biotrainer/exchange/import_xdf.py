"""Import XDF files written by LabRecorder (via pyxdf): RR, HR, ECG, accelerometer and marker streams.

Streams are recognised by their LSL type (case-insensitive), as the LSL inlet does
(:mod:`biotrainer.sources.lsl_inlet`): ``RR``/``IBI``/``RRI``/``NN`` → beats (value in ms, or s when the channel
unit says so; the sample timestamp is the beat time), ``HR`` → heart rate, ``ECG`` → ECG frames (unit from the
channel metadata, µV/mV/V), ``ACC`` → accelerometer frames, ``Markers`` → biotrainer marker JSON back to events,
other strings as annotations. Streams of other types are skipped. A file with ECG but no RR stream gets beats from
R-peaks (``source="ecg"``). Session time 0 is the earliest timestamp of the imported streams; the wall clock comes
from the file header's ``datetime`` when present.

Times: pyxdf synchronises the streams' clocks and **dejitters** the regular streams (ECG, ACC: a linear fit of the
sample times per gap-free stretch), so every imported ECG/ACC frame is stamped with pyxdf's dejittered time of its
last sample and the samples inside it follow at the nominal rate (never the raw LSL arrival stamps, which jitter
and run backwards); irregular streams (RR, HR, markers) keep their synchronised timestamps.

Damaged files: a file that ends early (a stream without its footer, or with fewer samples than its footer counts)
imports what is there and says so: ``imported_from.warnings`` in the header names each stream, the samples
present and where it stops (the ``import`` command prints them). Timestamps that are not finite or span more than
:data:`MAX_SPAN_S` are a one-line error.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import SELF, Beat, Event, HeartRate, rr_ms_to_1024
from biotrainer.exchange.model import ExchangeSession

log = logging.getLogger(__name__)

RR_TYPES = {"rr", "ibi", "rri", "nn"}
HEART_TYPES = RR_TYPES | {"hr", "ecg", "acc", "markers"}


def _first(d: Any, key: str, default: Any = None) -> Any:
    v = d.get(key, default) if isinstance(d, dict) else default
    if isinstance(v, list):
        return v[0] if v else default
    return v


def _units(info: dict[str, Any]) -> list[str]:
    desc = _first(info, "desc")
    channels = _first(desc, "channels") if desc else None
    chans = (channels or {}).get("channel", []) if isinstance(channels, dict) else []
    return [str(_first(ch, "unit", "") or "").strip().lower() for ch in chans]


def import_xdf(path: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read a LabRecorder XDF file into an :class:`ExchangeSession`.

    Raises
    ------
    ImportFormatError
        The file is not XDF, is truncated or damaged, or holds no RR, HR or ECG stream.
    """
    from biotrainer.exchange.import_rr import imported_meta

    path = Path(path)
    streams, header = _load_xdf(path)
    usable = _usable_streams(path, streams)
    t_zero = _check_times(path, usable)
    device = f"import:{path.name}"
    events: list[Event] = []
    for s in usable:
        events.extend(_stream_events(s, t_zero, device))
    warnings = _truncation_warnings(path, streams, t_zero)
    has_rr = any(_stream_type(s) in RR_TYPES for s in usable)
    if not has_rr and any(e.KIND == "ecg" for e in events):
        from biotrainer.exchange.import_edf import beats_from_ecg

        events.extend(beats_from_ecg(events, device))
    events.sort(key=lambda e: e.t_s)
    anchor = _header_datetime(header)
    meta = imported_meta(path, "xdf", anchor_unix_s=anchor, participant=participant,
                         duration_s=max((e.t_s for e in events), default=0.0))
    if warnings:
        meta["imported_from"]["warnings"] = warnings
        for w in warnings:
            log.info("%s", w)
    return ExchangeSession(meta, events)


MAX_SPAN_S = 8 * 86400  # a week-long recording fits; a damaged timestamp does not


def _check_times(path: Path, usable: list[dict[str, Any]]) -> float:
    """The earliest timestamp (session time 0); an error for timestamps that are not finite or span too long."""
    firsts, lasts = [], []
    for s in usable:
        t = np.asarray(s["time_stamps"], dtype=float)
        if not np.all(np.isfinite(t)):
            raise ImportFormatError(f"{path}: damaged XDF file: stream {_name(s)!r} has timestamps that are not "
                                    "numbers")
        firsts.append(float(t.min()))
        lasts.append(float(t.max()))
    span = max(lasts) - min(firsts)
    if span > MAX_SPAN_S:
        raise ImportFormatError(f"{path}: damaged XDF file: timestamps span {span:.3g} s (more than "
                                f"{MAX_SPAN_S // 86400} days)")
    return min(float(s["time_stamps"][0]) for s in usable)


def _name(stream: dict[str, Any]) -> str:
    return str(_first(stream["info"], "name", "?"))


def _truncation_warnings(path: Path, streams: list[dict[str, Any]], t_zero: float) -> list[str]:
    """What is missing from a file that ends early: streams without footer or with fewer samples than counted."""
    out = []
    for s in streams:
        n = len(s.get("time_stamps", []))
        last = f", up to {float(s['time_stamps'][-1]) - t_zero:.1f} s" if n else ""
        footer = (s.get("footer") or {}).get("info") if isinstance(s.get("footer"), dict) else None
        if not footer:
            out.append(f"{path.name}: stream {_name(s)!r} ({_first(s['info'], 'type', '?')}) has no footer: the file "
                       f"ends early (truncated); imported the {n} samples present{last}")
            continue
        try:
            counted = int(float(_first(footer, "sample_count", n)))
        except (TypeError, ValueError):
            counted = n
        if counted > n:
            out.append(f"{path.name}: stream {_name(s)!r} ({_first(s['info'], 'type', '?')}): {n} of {counted} "
                       f"samples present (damaged or truncated file){last}")
    return out


def _load_xdf(path: Path) -> tuple[list[dict[str, Any]], Any]:
    """pyxdf's streams and header, clocks synchronised; a one-line error for a file that is not (intact) XDF."""
    import pyxdf

    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"XDF:":
        raise ImportFormatError(f"{path}: not an XDF file (no 'XDF:' signature)")
    # pyxdf logs a traceback for each damaged chunk it skips (and sets its logger's level itself); our one-line
    # error says what matters, -v shows them
    pyxdf_log = logging.getLogger("pyxdf.pyxdf")
    quiet = logging.Filter("-no-such-logger-")  # passes nothing
    if not log.isEnabledFor(logging.DEBUG):
        pyxdf_log.addFilter(quiet)
    try:
        return pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=True, verbose=False)
    except Exception as exc:  # noqa: BLE001 - pyxdf raises many kinds on damaged files
        raise ImportFormatError(f"{path}: damaged or truncated XDF file ({type(exc).__name__}: {exc})") from None
    finally:
        pyxdf_log.removeFilter(quiet)


def _stream_type(stream: dict[str, Any]) -> str:
    return str(_first(stream["info"], "type", "")).lower()


def _usable_streams(path: Path, streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The heart, signal and marker streams with data; an error when none holds RR, HR or ECG."""
    usable = [s for s in streams if _stream_type(s) in HEART_TYPES and len(s.get("time_stamps", [])) > 0]
    if not any(_stream_type(s) in RR_TYPES | {"hr", "ecg"} for s in usable):
        kinds = ", ".join(f"{_first(s['info'], 'name', '?')} ({_first(s['info'], 'type', '?')})" for s in streams)
        raise ImportFormatError(f"{path}: no RR, HR or ECG stream with data (streams: {kinds or 'none'}); "
                                "the file may be truncated")
    return usable


def _stream_events(stream: dict[str, Any], t_zero: float, device: str) -> list[Event]:
    """The events of one usable stream, timed from ``t_zero``."""
    info = stream["info"]
    stype = _stream_type(stream)
    units = _units(info) or [""]
    t = np.asarray(stream["time_stamps"], dtype=float) - t_zero
    data = stream["time_series"]
    dev = f"{device}:{_first(info, 'name', '')}"
    if stype in RR_TYPES:
        return _rr_events(t, data, units[0], dev)
    if stype == "hr":
        return [HeartRate(t_s=ti, participant=SELF, device=dev, hr_bpm=int(round(v)))
                for ti, v in zip(t.tolist(), np.asarray(data, dtype=float)[:, 0].tolist(), strict=True)]
    if stype in ("ecg", "acc"):
        fs = float(_first(info, "nominal_srate", 0) or 0) or ((len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else 1.0)
        return _signal_events(stype, t, data, units[0], fs, dev)
    from biotrainer.sources.lsl_inlet import parse_marker

    return [parse_marker(str(row[0]), float(ti)) for ti, row in zip(t.tolist(), data, strict=True)]


def _rr_events(t: np.ndarray, data: Any, unit: str, dev: str) -> list[Event]:
    """Beats from an RR stream (ms, or s when the channel unit says so); the sample time is the beat time."""
    scale = 1000.0 if unit in ("s", "seconds") else 1.0
    rr = np.asarray(data, dtype=float)[:, 0] * scale
    return [Beat(t_s=ti, participant=SELF, device=dev, rr_1024=int(rr_ms_to_1024(r)), beat_t_s=ti, source="import")
            for ti, r in zip(t.tolist(), rr.tolist(), strict=True) if np.isfinite(r) and r > 0]


def _signal_events(stype: str, t: np.ndarray, data: Any, unit: str, fs: float, dev: str,
                   frame_s: float = 0.5) -> list[Event]:
    """ECG/ACC frames from a signal stream, scaled to µV / milli-g: about ``frame_s`` long, each stamped with the
    (dejittered) time of its last sample, never across a jump of the timestamps (dropped samples)."""
    from biotrainer.core.events import AccFrame, EcgFrame
    from biotrainer.sources.lsl_inlet import UNIT_TO_MG, UNIT_TO_UV

    scale = (UNIT_TO_UV if stype == "ecg" else UNIT_TO_MG).get(unit, 1.0)
    values = np.rint(np.asarray(data, dtype=float) * scale).astype(np.int64)
    values = values[:, 0] if stype == "ecg" else values[:, :3]
    breaks = np.flatnonzero((np.diff(t) > 1.5 / fs) | (np.diff(t) <= 0)) + 1
    step = max(1, int(round(frame_s * fs)))
    events: list[Event] = []
    for run in np.split(np.arange(len(t)), breaks):
        for start in range(run[0], run[-1] + 1, step):
            stop = min(start + step, run[-1] + 1)
            last = float(t[stop - 1])
            if stype == "ecg":
                events.append(EcgFrame(t_s=last, participant=SELF, device=dev, fs_hz=fs, last_sample_t_s=last,
                                       samples_uv=np.ascontiguousarray(values[start:stop], dtype=np.int32)))
            else:
                events.append(AccFrame(t_s=last, participant=SELF, device=dev, fs_hz=fs, last_sample_t_s=last,
                                       samples_mg=np.ascontiguousarray(values[start:stop], dtype=np.int16)))
    return events


def _header_datetime(header: Any) -> float | None:
    try:
        text = str(_first(header.get("info", {}), "datetime"))
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError, AttributeError):
        return None
