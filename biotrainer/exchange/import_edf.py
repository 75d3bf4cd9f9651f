"""Import EDF/EDF+ (EDF+C and EDF+D) files: ECG and accelerometer channels, beats and markers from annotations.

Channels are found by label: ECG = a label containing ``ECG`` or ``EKG``; accelerometer = labels ``MISC X``/``Y``/``Z``
(biotrainer's), ``ACC X`` or ``accel_x``…; a last word ``client``/``therapist`` names the person. ECG physical units ``uV``/``mV``/``V`` are converted to integer µV,
accelerometer ``mg``/``g`` to integer milli-g. Annotations written by :mod:`biotrainer.exchange.edf`
(``beat rr_1024=…``, ``phase start …``, ``pacer inhale 6/min``, ``cue …``, ``note …``, ``session …``) come back
as the events they were; any other annotation text becomes an :class:`~biotrainer.core.events.Annotation`. A file with
ECG but no beat annotations gets beats from R-peaks (:func:`biotrainer.metrics.rpeaks.rpeaks_s`, ``source="ecg"``).

EDF+D: each data record's onset is read from its time-keeping annotation, so samples after a gap keep their true
time. Session time 0 is the file's start (header start date/time, taken as local time).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import (
    SELF,
    SESSION,
    AccFrame,
    Annotation,
    Beat,
    Connection,
    Cue,
    EcgFrame,
    Event,
    PacerMarker,
    PhaseMarker,
    SessionState,
    rr_ms_to_1024,
)
from biotrainer.exchange.edf import record_layout
from biotrainer.exchange.model import ExchangeSession, frames_from_samples

GAP_RE = re.compile(r"^gap (ecg|acc|beats)(?: p=(\w+))?$")
CONNECTION_RE = re.compile(r"^connection (\w+)(?: p=(\w+))?$")
BEAT_RE = re.compile(r"^beat rr_1024=(\d+)(?: p=(\w+))?$")
PHASE_RE = re.compile(r"^phase (start|end) (.+)$")
PACER_RE = re.compile(r"^pacer (inhale|hold_in|exhale|hold_out) ([0-9.]+)/min$")
ECG_SCALE = {"uv": 1.0, "µv": 1.0, "mv": 1000.0, "v": 1e6}
ACC_SCALE = {"mg": 1.0, "g": 1000.0}


def _is_edf_plus_d(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: file not found") from None
    return len(head) == 256 and head[192:197] == b"EDF+D"


class RawEdfReader:
    """A minimal EDF+ reader (16-bit EDF+C/EDF+D) with the few pyedflib ``EdfReader`` methods the importer uses.

    Signals are returned concatenated over data records (like pyedflib); record onsets come from
    :func:`_record_onsets`. Annotations are parsed from every TAL of every record (time-keeping TALs skipped).
    """

    def __init__(self, path: Path) -> None:
        raw = Path(path).read_bytes()
        if len(raw) < 256:
            raise OSError("file shorter than an EDF header")
        try:
            n_header = int(raw[184:192])
            self._n_records = int(raw[236:244])
            self._record_s = float(raw[244:252])
            ns = int(raw[252:256])
            field = _header_fields(raw, ns)
            self._labels = [v.strip() for v in field(0, 16)]
            self._dims = [v.strip() for v in field(16 + 80, 8)]
            pmin = [float(v) for v in field(16 + 80 + 8, 8)]
            pmax = [float(v) for v in field(16 + 80 + 16, 8)]
            dmin = [float(v) for v in field(16 + 80 + 24, 8)]
            dmax = [float(v) for v in field(16 + 80 + 32, 8)]
            self._spr = [int(v) for v in field(16 + 80 + 40 + 80, 8)]
            self._patient = raw[8:88].decode("latin-1")
            self._recording = raw[88:168].decode("latin-1")
            date, time_ = raw[168:176].decode("ascii"), raw[176:184].decode("ascii")
        except (ValueError, UnicodeDecodeError) as exc:
            raise OSError(f"damaged EDF header ({exc})") from None
        dd, mm, yy = (int(x) for x in date.split("."))
        hh, mi, ss = (int(x) for x in time_.split("."))
        self._start = datetime(2000 + yy if yy < 85 else 1900 + yy, mm, dd, hh, mi, ss)
        rec_bytes = 2 * sum(self._spr)
        body = raw[n_header:n_header + rec_bytes * self._n_records]
        if len(body) < rec_bytes * self._n_records:
            raise OSError(f"truncated: {len(body) // max(1, rec_bytes)} of {self._n_records} data records present")
        records = np.frombuffer(body, dtype="<i2").reshape(self._n_records, -1)
        self._signals: list[np.ndarray] = []
        self._annotations: list[tuple[float, float, str]] = []
        col = 0
        for i, n in enumerate(self._spr):
            block = records[:, col:col + n]
            col += n
            if self._labels[i] == "EDF Annotations":
                self._parse_tals(block)
                self._signals.append(np.zeros(0))
                continue
            gain = (pmax[i] - pmin[i]) / (dmax[i] - dmin[i])
            self._signals.append((block.reshape(-1).astype(float) - dmin[i]) * gain + pmin[i])
        # like pyedflib: signal indices count data signals only
        self._data = [i for i, lab in enumerate(self._labels) if lab != "EDF Annotations"]

    def _parse_tals(self, block: np.ndarray) -> None:
        for rec in block:
            text = rec.tobytes()
            for tal in text.split(b"\x00"):
                if not tal.strip(b"\x00"):
                    continue
                parts = tal.split(b"\x14")
                head = parts[0].split(b"\x15")
                onset = float(head[0])
                duration = float(head[1]) if len(head) > 1 and head[1] else -1.0
                for desc in parts[1:]:
                    if desc:
                        self._annotations.append((onset, duration, desc.decode("utf-8", "replace")))

    def getSignalLabels(self) -> list[str]:  # noqa: N802 - pyedflib's names
        return [self._labels[i] for i in self._data]

    def getStartdatetime(self) -> datetime:  # noqa: N802
        return self._start

    def getRecordingAdditional(self) -> str:  # noqa: N802
        return self._recording

    def getPatientCode(self) -> str:  # noqa: N802
        return self._patient.split(" ")[0] if self._patient.strip() else ""

    def readAnnotations(self) -> tuple[np.ndarray, np.ndarray, list[str]]:  # noqa: N802
        a = sorted(self._annotations, key=lambda x: x[0])
        return (np.array([x[0] for x in a]), np.array([x[1] for x in a]), [x[2] for x in a])

    def getPhysicalDimension(self, i: int) -> str:  # noqa: N802
        return self._dims[self._data[i]]

    def readSignal(self, i: int) -> np.ndarray:  # noqa: N802
        return self._signals[self._data[i]]

    def getSampleFrequency(self, i: int) -> float:  # noqa: N802
        return self._spr[self._data[i]] / self._record_s

    def getFileDuration(self) -> float:  # noqa: N802
        return self._n_records * self._record_s

    def close(self) -> None:
        pass


def _header_fields(raw: bytes, ns: int):
    """``field(offset, width)``: the ``ns`` values of one per-signal header field (offset within a signal's
    header block of 256 bytes, counted as EDF lays the fields out one field for all signals at a time)."""

    def field(offset: int, width: int) -> list[str]:
        # fields are stored field-major: all labels, then all transducers, ... so offset counts whole fields
        base = 256 + ns * offset
        return [raw[base + width * k: base + width * (k + 1)].decode("latin-1") for k in range(ns)]

    return field


def _record_onsets(path: Path) -> tuple[np.ndarray, float] | None:
    """Onsets (s) of every data record of an EDF+D file, from the time-keeping TALs; None for other files."""
    with open(path, "rb") as fh:
        if fh.read(256)[192:197] != b"EDF+D":
            return None
        layout = record_layout(fh)
        span = layout.annotation_span()
        if span is None:
            raise ValueError("EDF+D file without an EDF Annotations signal")
        a_off, a_len = span
        onsets = np.empty(layout.n_records)
        for k in range(layout.n_records):
            fh.seek(layout.header_bytes + k * layout.record_bytes + a_off)
            block = fh.read(a_len)
            tal = block.split(b"\x14", 1)[0]
            try:
                onsets[k] = float(tal.decode("ascii"))
            except ValueError:
                raise ImportFormatError(f"{path}: record {k} has no valid EDF+D time-keeping annotation") from None
    return onsets, layout.record_s


def marker_from_text(text: str, onset_s: float, duration_s: float, counters: dict[str, int]) -> Event | None:
    """An event from an annotation text written by the EDF exporter (None for beats, handled separately)."""
    if m := PHASE_RE.match(text):
        state, name = m.groups()
        index = counters.setdefault("phase", 0)
        if state == "end":
            counters["phase"] = index + 1
        return PhaseMarker(t_s=onset_s, participant=SESSION, name=name, index=index, state=state,
                           duration_s=max(0.0, duration_s))
    if m := PACER_RE.match(text):
        segment, rate = m.groups()
        if segment == "inhale":
            counters["breath"] = counters.get("breath", -1) + 1
        return PacerMarker(t_s=onset_s, participant=SESSION, segment=segment, rate_per_min=float(rate),
                           breath_index=max(0, counters.get("breath", 0)), duration_s=max(0.0, duration_s))
    if m := CONNECTION_RE.match(text):
        return Connection(t_s=onset_s, participant=m.group(2) or SELF, state=m.group(1))
    if text.startswith("cue "):
        return Cue(t_s=onset_s, participant=SESSION, text=text[4:])
    if text == "note" or text.startswith("note "):
        return Annotation(t_s=onset_s, participant=SESSION, text=text[5:])
    if text.startswith("session ") and text[8:] in ("start", "pause", "resume", "stop"):
        return SessionState(t_s=onset_s, participant=SESSION, state=text[8:])
    return Annotation(t_s=onset_s, participant=SESSION, text=text)


def import_edf(path: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read an EDF/EDF+ file into an :class:`ExchangeSession`.

    Raises
    ------
    ImportFormatError
        Not an EDF file, truncated, or without ECG channel and without beat annotations.
    """
    from biotrainer.exchange.import_rr import imported_meta

    path = Path(path)
    reader = _open_edf(path)
    try:
        start = reader.getStartdatetime()
        patient, recording, synthetic = _identification(path)
        events = _edf_events(path, reader, f"import:{path.name}")
        duration_s = float(reader.getFileDuration())
    except ImportFormatError:
        raise
    except (OSError, ValueError, IndexError) as exc:
        raise ImportFormatError(f"{path}: cannot read EDF data ({exc})") from None
    finally:
        reader.close()
    t0_s = _session_t0(recording)
    if t0_s:
        events = [_shifted(e, t0_s) for e in events]
    events.sort(key=lambda e: e.t_s)
    anchor = start.timestamp() - t0_s if isinstance(start, datetime) else None
    meta = imported_meta(path, "edf", anchor_unix_s=anchor, participant=participant, duration_s=duration_s)
    people = _participants(events, participant, patient)
    if people:
        meta["participants"] = people
    fields = recording.split()
    if len(fields) >= 5 and fields[0] == "Startdate" and T0_RE.search(recording):  # written by biotrainer
        meta["synthetic"] = synthetic
        meta["imported_from"]["session_id"] = fields[2]
    return ExchangeSession(meta, events)


def _identification(path: Path) -> tuple[str, str, bool]:
    """The patient code (first subfield of the patient field), the whole recording field of the header, and
    whether the patient field marks the data synthetic (as biotrainer writes it)."""
    with open(path, "rb") as fh:
        head = fh.read(168)
    patient = head[8:88].decode("latin-1").split()
    return (patient[0] if patient else ""), head[88:168].decode("latin-1").strip(), "synthetic" in patient[4:]


def _open_edf(path: Path) -> Any:
    """pyedflib's reader, or :class:`RawEdfReader` for EDF+D (which pyedflib refuses)."""
    import pyedflib

    try:
        if _is_edf_plus_d(path):
            return RawEdfReader(path)
        return pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise ImportFormatError(f"{path}: not a readable EDF/EDF+ file ({exc})") from None


def _edf_events(path: Path, reader: Any, device: str) -> list[Event]:
    """Beats and markers from the annotations, ECG/ACC frames from the channels, R-peak beats when no beats."""
    labels = reader.getSignalLabels()
    discontinuous = _record_onsets(path)
    events, gaps = _annotation_events(reader, device)
    has_beats = any(isinstance(e, Beat) for e in events)
    ecg_idx = [i for i, lab in enumerate(labels) if re.search(r"ECG|EKG", lab, re.IGNORECASE)]
    if not ecg_idx and not has_beats:
        raise ImportFormatError(f"{path}: no ECG channel and no beat annotations "
                                f"(channels: {', '.join(labels) or 'none'})")
    for i in ecg_idx:
        dim = reader.getPhysicalDimension(i)
        scale = ECG_SCALE.get(dim.strip().lower())
        if scale is None:
            raise ImportFormatError(f"{path}: ECG channel {labels[i]!r} has unit {dim!r}, expected uV, mV or V")
        uv = np.rint(reader.readSignal(i) * scale).astype(np.int64)
        fs = float(reader.getSampleFrequency(i))
        role = _role_of(labels[i])
        events.extend(_frames("ecg", uv, fs, role, device, discontinuous, gaps.get(("ecg", role), [])))
    for acc_idx in _acc_channels(labels):
        scale = ACC_SCALE.get(reader.getPhysicalDimension(acc_idx[0]).strip().lower(), 1.0)
        mg = np.stack([np.rint(reader.readSignal(i) * scale) for i in acc_idx], axis=1).astype(np.int64)
        fs = float(reader.getSampleFrequency(acc_idx[0]))
        role = _role_of(labels[acc_idx[0]])
        events.extend(_frames("acc", mg, fs, role, device, discontinuous, gaps.get(("acc", role), [])))
    if not has_beats and ecg_idx:
        events.extend(beats_from_ecg(events, device))
    return events


def _annotation_events(reader: Any, device: str) -> tuple[list[Event], dict[tuple[str, str],
                                                                              list[tuple[float, float]]]]:
    """Beats and markers from the annotations, and the gaps (start, end) the exporter marked per signal."""
    onsets, durations, texts = reader.readAnnotations()
    events: list[Event] = []
    counters: dict[str, int] = {}
    gaps: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for onset, duration, text in zip(onsets.tolist(), durations.tolist(), list(texts), strict=True):
        if m := GAP_RE.match(text):
            gaps.setdefault((m.group(1), m.group(2) or SELF), []).append((float(onset), float(onset) + float(duration)))
        elif m := BEAT_RE.match(text):
            events.append(Beat(t_s=float(onset), participant=m.group(2) or SELF, device=device,
                               rr_1024=int(m.group(1)), beat_t_s=float(onset), source="import"))
        else:
            marker = marker_from_text(str(text), float(onset), float(duration), counters)
            if marker is not None:
                events.append(marker)
    return events, gaps


def _participants(events: list[Event], participant: str | None, patient: str) -> dict[str, str]:
    """Role → pseudonym for every role with data (a two-strap export has client/therapist beats, not 'self'): from
    the patient code (``P07``, or ``client=C12,therapist=T3`` as a biotrainer export writes it)."""
    roles = list(dict.fromkeys(e.participant for e in events if isinstance(e, (Beat, EcgFrame, AccFrame))))
    coded = dict(item.partition("=")[::2] for item in patient.split(",")) if "=" in patient else {}
    people = {r: coded.get(r) or r for r in roles}
    if len(roles) == 1:
        people[roles[0]] = participant or coded.get(roles[0]) or (patient if patient not in ("", "X") and not coded
                                                                  else roles[0])
    return people


T0_RE = re.compile(r"\bt0_s=(-?[0-9.]+)")


def _session_t0(recording: str) -> float:
    """Session time of the file start, as written by the biotrainer exporter (0 for other files)."""
    m = T0_RE.search(recording or "")
    return float(m.group(1)) if m else 0.0


def _shifted(e: Event, dt: float) -> Event:
    import dataclasses

    changes: dict[str, float] = {"t_s": e.t_s + dt}
    for name in ("beat_t_s", "last_sample_t_s"):
        if hasattr(e, name):
            changes[name] = getattr(e, name) + dt
    return dataclasses.replace(e, **changes)


def _role_of(label: str) -> str:
    last = label.split()[-1].lower() if label.split() else ""
    return last if last in ("client", "therapist") else SELF


ACC_LABEL = re.compile(r"^(?:acc(?:el)?[ _]?([xyz])|misc ([xyz]))(?:\b|$)\s*(.*)$", re.IGNORECASE)


def _acc_channels(labels: list[str]) -> list[list[int]]:
    """The accelerometer channel triples (x, y, z) per person: ``ACC X``, ``accel_y``, ``MISC Z client``…"""
    axes: dict[str, dict[str, int]] = {}
    for i, lab in enumerate(labels):
        if m := ACC_LABEL.match(lab.strip()):
            axis = (m.group(1) or m.group(2)).lower()
            axes.setdefault(_role_of(lab), {}).setdefault(axis, i)
    return [[found[a] for a in "xyz"] for found in axes.values() if len(found) == 3]


def _frames(kind: str, values: np.ndarray, fs: float, role: str, device: str,
            discontinuous: tuple[np.ndarray, float] | None, gaps: list[tuple[float, float]]) -> list[Event]:
    """Frames of the gap-free runs of one channel: sample times from the record onsets (EDF+D) or the file start,
    the zero-filled stretches the exporter marked with ``gap`` annotations cut out (EDF+C and EDF+D)."""
    n = len(values)
    if discontinuous is None:
        t = np.arange(n) / fs
    else:
        onsets, record_s = discontinuous
        spr = int(round(fs * record_s))
        t = (np.repeat(onsets, spr) + np.tile(np.arange(spr) / fs, len(onsets)))[:n]
    keep = np.ones(n, dtype=bool)
    for start_s, end_s in gaps:
        keep &= ~((t >= start_s - 0.5 / fs) & (t < end_s - 0.5 / fs))
    idx = np.flatnonzero(keep)
    out: list[Event] = []
    if len(idx) == 0:
        return out
    for run in np.split(idx, np.flatnonzero(np.diff(t[idx]) > 1.5 / fs) + 1):
        out.extend(frames_from_samples(kind, participant=role, device=device, fs_hz=fs, t0_s=float(t[run[0]]),
                                       samples=values[run[0]:run[-1] + 1]))
    return out


def beats_from_ecg(events: list[Event], device: str) -> list[Event]:
    """Beats (``source="ecg"``) from the R-peaks of every gap-free ECG segment among ``events``, for files
    without RR data (EDF+, XDF)."""
    from biotrainer.metrics.rpeaks import rpeaks_s

    out: list[Event] = []
    for seg in ExchangeSession({}, events).segments("ecg"):
        peaks = seg.t0_s + np.asarray(rpeaks_s(seg.samples.astype(float), seg.fs_hz))
        for prev, cur in zip(peaks[:-1], peaks[1:], strict=True):
            out.append(Beat(t_s=float(cur), participant=seg.participant, device=device,
                            rr_1024=int(rr_ms_to_1024((cur - prev) * 1000.0)), beat_t_s=float(cur), source="ecg"))
    return out
