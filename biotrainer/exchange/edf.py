"""EDF+ export via pyedflib: ECG and accelerometer channels, beats and markers as EDF annotations (SCIENCE.md §8).

Channels: ``ECG chest`` (µV) and ``MISC X chest``/``Y``/``Z`` (accelerometer, milli-g) per sensor; with several
people the role replaces ``chest`` (``ECG therapist``, ``MISC X client``). The labels follow the EDF+ "type
name" rule, so ``mne.io.read_raw_edf(path, infer_types=True)`` types ECG as ``ecg`` and the accelerometer as
``misc`` (ECG in V; the accelerometer keeps its values in milli-g: MNE has no unit for acceleration and shows
``n/a`` in ``raw._orig_units``, the EDF header says ``mg``). 16-bit samples with physical = digital scaling 1:1
(-32768…32767 µV / mg: lossless; larger values are an :class:`ExportError`). Data records last 1 s when every rate is a whole number of Hz. A session with only beats gets one ``MISC HR derived`` channel
(1 Hz, bpm, derived from the beats; MNE types it ``misc``) because EDF needs at least one signal.

Header: the patient field is ``<code> X X X`` (+ `` synthetic`` for simulated data), the code naming every
participant by pseudonym (``P07``, or ``client=C12,therapist=T3`` for several people; no names); the recording
field is ``Startdate <date> <session id> X biotrainer_<version> t0_s=<t0>``: the session id as the EDF+ admin
code, whole. Annotations (onset relative to the file start, 100 µs resolution). The file starts at session
time ``t0_s``: the first sample or marker, moved back to a whole wall-clock second (``startdate``/``starttime`` in
the header); ``t0_s`` lets the importer restore the session's own time base:

- ``beat rr_1024=<n>`` (and `` p=<role>`` for a non-``self`` participant): one per beat, at the beat time;
- ``phase start|end <name>`` (duration = planned phase length), ``pacer <segment> <rate>/min`` (duration = segment
  length), ``cue <text>``, ``note <text>`` (annotations), ``session <state>``;
- ``connection <state>`` (a sensor's connection change) and ``gap ecg|acc|beats`` (a stretch without data, with its
  duration), with `` p=<role>`` for a non-``self`` participant.

Gaps: when the recording has gaps (a run of ≥1 whole data record without any sample, inside the recording) those
records are left out and the file is written as **EDF+D**: pyedflib writes the kept records as EDF+C, then
:func:`_make_discontinuous` sets the header's reserved field to ``EDF+D`` and rewrites each record's time-keeping
annotation to its true onset. Samples missing inside a kept record are 0 and covered by ``gap`` annotations (in
EDF+C and EDF+D alike), so the importer never takes them for data. Note: MNE reads EDF+D as if continuous (it
ignores record onsets); pyedflib and EDFbrowser honour them.

The file is written under a temporary name, checked to be complete (its length matches its header: pyedflib
does not report a full disk) and renamed only then (:class:`~biotrainer.exchange.atomic.AtomicWrites`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.errors import ExportError
from biotrainer.core.events import SELF, Annotation, Connection, Cue, PacerMarker, PhaseMarker, SessionState
from biotrainer.exchange.atomic import AtomicWrites, joined
from biotrainer.exchange.model import BeatTable, ExchangeSession, Segment

log = logging.getLogger(__name__)

DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
MAX_ANNOTATION_CHARS = 40
ANNOTATION_LABEL = "EDF Annotations"


def annotation_text(event: Any) -> str | None:
    """The EDF annotation text of a marker event (None for events that are not exported)."""
    if isinstance(event, PhaseMarker):
        text = f"phase {event.state} {event.name}"
    elif isinstance(event, PacerMarker):
        text = f"pacer {event.segment} {event.rate_per_min:g}/min"
    elif isinstance(event, Cue):
        text = f"cue {event.text}"
    elif isinstance(event, Annotation):
        text = f"note {event.text}" if event.text else "note"
    elif isinstance(event, SessionState):
        text = f"session {event.state}"
    elif isinstance(event, Connection):
        text = f"connection {event.state}" + ("" if event.participant == SELF else f" p={event.participant}")
    else:
        return None
    return text.replace("\x14", " ").replace("\x15", " ").replace("\x00", " ")[:MAX_ANNOTATION_CHARS]


def _beat_text(rr_1024: int, role: str) -> str:
    return f"beat rr_1024={rr_1024}" + ("" if role == SELF else f" p={role}")


class _Channel:
    def __init__(self, label: str, unit: str, fs_hz: float, segments: list[Segment], column: int | None,
                 transducer: str) -> None:
        self.label, self.unit, self.fs_hz, self.segments, self.column = label, unit, fs_hz, segments, column
        self.transducer = transducer

    def values(self, seg: Segment) -> np.ndarray:
        return seg.samples if self.column is None else seg.samples[:, self.column]


def _channels(session: ExchangeSession) -> list[_Channel]:
    channels: list[_Channel] = []
    roles = session.roles
    for kind in ("ecg", "acc"):
        groups: dict[tuple[str, str], list[Segment]] = {}
        for s in session.segments(kind):
            groups.setdefault((s.participant, s.device), []).append(s)
        for (role, _device), segs in groups.items():
            where = "chest" if len(roles) <= 1 else role
            if kind == "ecg":
                channels.append(_Channel(f"ECG {where}", "uV", segs[0].fs_hz, segs, None,
                                         f"chest strap ECG ({role})"))
            else:
                for i, axis in enumerate("XYZ"):
                    channels.append(_Channel(f"MISC {axis} {where}", "mg", segs[0].fs_hz, segs, i,
                                             f"chest strap accelerometer {axis} axis ({role})"))
    return channels


def _record_duration(rates: list[float]) -> float:
    if all(float(r).is_integer() for r in rates):
        return 1.0
    from pyedflib.edfwriter import _calculate_record_duration

    return float(_calculate_record_duration(rates))


def export_edf(session: ExchangeSession, path: Path, *, discontinuous: bool = False,
               writes: AtomicWrites | None = None) -> Path:
    """Write ``session`` as one EDF+ file; returns the path (mode 0600).

    Parameters
    ----------
    session : ExchangeSession
    path : Path
    discontinuous : bool
        Write recordings with gaps as EDF+D (records without data left out). Default False: EDF+C with the gaps
        filled with 0 and marked by ``gap ecg``/``gap acc`` annotations (onset, duration), because pyedflib
        refuses to open EDF+D files and MNE reads them as if continuous.
    writes : AtomicWrites, optional
        The caller's batch (it commits); default: this export's own.

    Raises
    ------
    ExportError
        When the file cannot be written.
    """
    path = Path(path)
    channels = _channels(session)
    beats = session.beats(correct=False)
    markers = [(e, annotation_text(e)) for e in [*session.markers(), *session.connections()]]
    markers = [(e, t) for e, t in markers if t]
    t0, t_end, last_annot = _file_span(session, path, channels, beats, markers)
    hr_signal = None if channels else _derived_hr(beats, t0, t_end)
    rates = [c.fs_hz for c in channels] or [1.0]
    record_s = _record_duration(rates)
    placements = [_placements(c, t0) for c in channels]
    data_end_s = max([t0] + [t0 + (st + n) / c.fs_hz for c, pl in zip(channels, placements, strict=True)
                             for st, n in pl])
    span_s = max(t_end, data_end_s, last_annot + 1e-3) - t0
    if span_s > MAX_SPAN_S:
        raise ExportError(f"{path}: session {session.id} spans {span_s:.0f} s (more than {MAX_SPAN_S // 86400} days "
                          "from its first to its last event): a damaged event time, not exported")
    n_records = max(1, int(math.ceil(span_s / record_s)))
    per_record = [int(round(c.fs_hz * record_s)) for c in channels]  # (no entry for a derived HR channel)
    data, has_data = _record_grid(channels, per_record, placements, n_records, hr_signal)
    keep = _records_to_keep(has_data) if discontinuous else np.ones(n_records, dtype=bool)
    discontinuous = not keep.all()
    markers = markers + _gap_annotations(channels, placements, t0, n_records * record_s) + [
        (_Gap(g.start_s, g.duration_s), "gap beats" + ("" if g.participant == SELF else f" p={g.participant}"))
        for g in session.gaps() if g.stream == "beats"]

    headers = []
    for c, arr in zip(channels, data, strict=False):
        headers.append(_signal_header(c.label, c.unit, c.fs_hz, c.transducer, arr))
    if hr_signal is not None:
        headers.append(_signal_header("MISC HR derived", "bpm", 1.0, "derived from RR intervals", data[-1]))
    spr_all = per_record if hr_signal is None else per_record[: len(channels)] + [1]
    kept = [_kept_samples(arr, spr, keep) for arr, spr in zip(data, spr_all, strict=True)]
    n_annotations = len(beats) + len(markers)
    n_kept = int(keep.sum())
    annot_signals = min(64, max(1, int(math.ceil(n_annotations / max(1, n_kept))) + 1))
    with joined(writes) as out:
        tmp = out.path(path)
        _write_edf(tmp, session, headers, kept, record_s, annot_signals, t0, beats, markers)
        _check_complete(tmp, path)
        _write_identification(tmp, session, t0)
        if discontinuous:
            _make_discontinuous(tmp, np.flatnonzero(keep) * record_s)
    log.info("EDF%s export of %s: %d channels, %d records, %d annotations", "+D" if discontinuous else "+",
             session.id, len(headers), n_kept, n_annotations)
    return path


MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MAX_SPAN_S = 8 * 86400  # a week-long Holter recording fits; a damaged time far in the future does not


def _check_complete(tmp: Path, path: Path) -> None:
    """The file is as long as its header says (pyedflib ignores a failed write, e.g. on a full disk)."""
    with open(tmp, "rb") as fh:
        try:
            layout = record_layout(fh)
        except ValueError:
            layout = None
        size = fh.seek(0, 2)
    if layout is None or size != layout.header_bytes + layout.n_records * layout.record_bytes:
        raise ExportError(f"{path}: cannot write (the EDF file came out incomplete: {size} bytes; disk full?); "
                          "nothing was written")


def patient_code(session: ExchangeSession) -> str:
    """The EDF+ patient code: the pseudonym of the one participant, or ``role=pseudonym,…`` for several."""
    roles = [r for r in session.roles if r != "session"] or [SELF]
    if len(roles) == 1:
        return _ascii(session.pseudonym(roles[0]))
    return ",".join(f"{r}={_ascii(session.pseudonym(r))}" for r in roles)


def _write_identification(path: Path, session: ExchangeSession, t0: float) -> None:
    """Write the patient and recording fields (80 ASCII characters each) as the EDF+ rules lay them out; pyedflib
    (edflib) cuts the recording field short, so it is written here."""
    start = datetime.fromtimestamp(round(session.anchor_unix_s + t0), tz=timezone.utc).astimezone()
    patient = f"{patient_code(session)} X X X" + (" synthetic" if session.meta.get("synthetic") else "")
    date = f"{start.day:02d}-{MONTHS[start.month - 1]}-{start.year}"  # English months, whatever the locale
    recording = (f"Startdate {date} {_ascii(session.id)} X "
                 f"{_ascii('biotrainer ' + __version__)} t0_s={f'{t0:.6f}'.rstrip('0').rstrip('.')}")
    for name, text in (("patient", patient), ("recording", recording)):
        if len(text) > 80:
            raise ExportError(f"{path}: the EDF {name} field would be {len(text)} characters (80 at most): "
                              f"{text[:60]!r}…; use shorter pseudonyms")
    with open(path, "r+b") as fh:
        fh.seek(8)
        fh.write(patient.ljust(80).encode("ascii") + recording.ljust(80).encode("ascii"))


def _file_span(session: ExchangeSession, path: Path, channels: list[_Channel], beats: BeatTable,
               markers: list[tuple[Any, str]]) -> tuple[float, float, float]:
    """``(t0, t_end, last_annotation)`` session times: the file starts at the first sample or annotation, moved
    back to a whole wall-clock second; it ends at the last sample (beats only: a second after the last beat)."""
    if channels:
        t0 = min(s.t0_s for c in channels for s in c.segments)
        t_end = max(s.end_s for c in channels for s in c.segments)
    elif len(beats):  # beats only: a derived 1 Hz HR channel
        t0 = float(beats.beat_t_s[0] - beats.rr_ms[0] / 1000.0)
        t_end = float(beats.beat_t_s[-1]) + 1.0
    else:
        raise ExportError(f"{path}: session {session.id} has no ECG, accelerometer or beats to write as EDF")
    annot_times = ([float(beats.beat_t_s[0]), float(beats.beat_t_s[-1])] if len(beats) else []) + \
        [e.t_s for e, _ in markers]
    first_annot = min(annot_times, default=t0)
    last_annot = max(annot_times, default=t_end)
    t0 = min(t0, first_annot)  # annotations before the data would need negative onsets
    # the file starts on a whole wall-clock second (no sub-second start time for readers to get wrong);
    # t0_s in the header's recording field lets the importer restore the session time base
    t0 = math.floor(session.anchor_unix_s + t0 + 1e-9) - session.anchor_unix_s
    return t0, t_end, last_annot


def _derived_hr(beats: BeatTable, t0: float, t_end: float) -> np.ndarray:
    """A 1 Hz heart rate (bpm) from one person's beats (the client's when a therapist wore a strap too), never
    beats of two straps mixed."""
    roles = list(dict.fromkeys(beats.participant.tolist()))
    hr_role = next((r for r in ("client", SELF) if r in roles), roles[0])
    mine = beats.participant == hr_role
    beat_t, rr_ms = beats.beat_t_s[mine], beats.rr_ms[mine]
    grid = t0 + np.arange(int(math.ceil(t_end - t0)))
    idx = np.clip(np.searchsorted(beat_t, grid), 0, len(beat_t) - 1)
    return np.rint(60000.0 / rr_ms[idx]).astype(np.int64)


def _record_grid(channels: list[_Channel], per_record: list[int], placements: list[list[tuple[int, int]]],
                 n_records: int, hr_signal: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Each channel's samples placed on the record grid (0 where none), and which records hold data."""
    data: list[np.ndarray] = []
    has_data = np.zeros(n_records, dtype=bool)
    for c, spr, pl in zip(channels, per_record, placements, strict=True):
        arr = np.zeros(n_records * spr, dtype=np.int64)
        for seg, (start, n) in zip(c.segments, pl, strict=True):
            arr[start:start + n] = c.values(seg)
            r0, r1 = start // spr, (start + n - 1) // spr
            has_data[r0:r1 + 1] = True
        data.append(arr)
    if hr_signal is not None:
        arr = np.zeros(n_records, dtype=np.int64)
        arr[: len(hr_signal)] = hr_signal[:n_records]
        data.append(arr)
        has_data[:] = True
    return data, has_data


def _kept_samples(arr: np.ndarray, spr: int, keep: np.ndarray) -> np.ndarray:
    """The samples of the kept records (``spr`` samples per record), as the int32 pyedflib writes."""
    kept_idx = np.flatnonzero(keep)
    sel = (kept_idx[:, None] * spr + np.arange(spr)[None, :]).ravel()
    return np.ascontiguousarray(arr[sel], dtype=np.int32)


def _write_edf(path: Path, session: ExchangeSession, headers: list[dict[str, Any]], samples: list[np.ndarray],
               record_s: float, annot_signals: int, t0: float, beats: BeatTable,
               markers: list[tuple[Any, str]]) -> None:
    """Write the header, the kept records and the annotations (onsets relative to the file start) with pyedflib."""
    import pyedflib

    start_dt = datetime.fromtimestamp(round(session.anchor_unix_s + t0), tz=timezone.utc).astimezone()
    start_dt = start_dt.replace(tzinfo=None)
    try:
        writer = pyedflib.EdfWriter(str(path), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    except OSError as exc:
        raise ExportError(f"{path}: cannot create EDF file ({exc})") from None
    try:
        writer.setEquipment(_ascii(f"biotrainer {__version__}")[:30])  # the identification: _write_identification
        writer.setStartdatetime(start_dt)
        writer.setSignalHeaders(headers)
        if record_s != 1.0:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                writer.setDatarecordDuration(record_s)
        writer.set_number_of_annotation_signals(annot_signals)
        writer.writeSamples(samples, digital=True)
        # annotation onsets are relative to the file start: in EDF+D, to the first record's (t0) wall clock
        for t, r, role in zip(beats.beat_t_s.tolist(), beats.rr_1024.tolist(), beats.participant.tolist(),
                              strict=True):
            writer.writeAnnotation(max(0.0, t - t0), -1, _beat_text(int(r), role))
        for e, text in markers:
            dur = getattr(e, "duration_s", -1) if isinstance(e, (PacerMarker, PhaseMarker, _Gap)) else -1
            if isinstance(e, PhaseMarker) and e.state == "end":
                dur = -1
            writer.writeAnnotation(max(0.0, e.t_s - t0), dur, text)
    finally:
        writer.close()


class _Gap:
    """A data gap of one sensor stream, written as a ``gap <kind>`` annotation with a duration."""

    def __init__(self, t_s: float, duration_s: float) -> None:
        self.t_s, self.duration_s = t_s, duration_s


def _placements(c: _Channel, t0: float) -> list[tuple[int, int]]:
    """``(start_index, n)`` of each segment on the channel's sample grid from ``t0``: at the segment's own time,
    but never over the previous segment's samples (a re-anchored segment that overlaps by clock jitter or drift
    continues right after it, so no sample is lost)."""
    out: list[tuple[int, int]] = []
    end = 0
    for seg in c.segments:
        start = max(end, int(round((seg.t0_s - t0) * c.fs_hz)))
        out.append((start, seg.n))
        end = start + seg.n
    return out


def _gap_annotations(channels: list[_Channel], placements: list[list[tuple[int, int]]],
                     t0: float, file_s: float) -> list[tuple[Any, str]]:
    """A ``gap <kind>`` annotation over every zero-filled stretch of a channel — before its first sample, between
    placed segments and after its last sample (exact sample spans, so the importer cuts exactly the fill)."""
    out: list[tuple[Any, str]] = []
    seen: set[tuple[str, str]] = set()
    for c, pl in zip(channels, placements, strict=True):
        kind = "ecg" if c.label.startswith("ECG") else "acc"
        key = (kind, c.segments[0].device)
        if key in seen:
            continue
        seen.add(key)
        role = c.segments[0].participant
        text = f"gap {kind}" + ("" if role == SELF else f" p={role}")  # the importer cuts exactly these
        total = int(round(file_s * c.fs_hz))
        bounds = [(0, 0), *pl, (total, 0)]
        for (s0, n0), (s1, _) in zip(bounds[:-1], bounds[1:], strict=True):
            if s1 > s0 + n0:
                out.append((_Gap(t0 + (s0 + n0) / c.fs_hz, (s1 - s0 - n0) / c.fs_hz), text))
    return out


def _records_to_keep(has_data: np.ndarray) -> np.ndarray:
    """Keep records with data plus everything before the first and after the last (no gaps at the ends)."""
    keep = np.ones_like(has_data)
    idx = np.flatnonzero(has_data)
    if len(idx):
        keep[idx[0]:idx[-1] + 1] = has_data[idx[0]:idx[-1] + 1]
    return keep


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii").replace(" ", "_")


def _signal_header(label: str, unit: str, fs_hz: float, transducer: str, values: np.ndarray) -> dict[str, Any]:
    lo, hi = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    if lo >= DIGITAL_MIN and hi <= DIGITAL_MAX:
        pmin, pmax = DIGITAL_MIN, DIGITAL_MAX  # 1 digital step = 1 unit: lossless
    else:
        raise ExportError(f"channel {label}: values {lo}..{hi} {unit} exceed the 16-bit EDF range")
    return {"label": label, "dimension": unit, "sample_frequency": fs_hz, "physical_min": pmin,
            "physical_max": pmax, "digital_min": DIGITAL_MIN, "digital_max": DIGITAL_MAX,
            "transducer": transducer, "prefilter": ""}


@dataclass(frozen=True)
class RecordLayout:
    """Where the data records of an EDF file are: header size, record count and length, per-signal labels and
    samples per record (16-bit samples)."""

    header_bytes: int
    n_records: int
    record_s: float
    labels: list[str]
    samples_per_record: list[int]

    @property
    def record_bytes(self) -> int:
        return 2 * sum(self.samples_per_record)

    def annotation_span(self) -> tuple[int, int] | None:
        """``(offset, length)`` in bytes of the first ``EDF Annotations`` signal within a record (None if none)."""
        if ANNOTATION_LABEL not in self.labels:
            return None
        i = self.labels.index(ANNOTATION_LABEL)
        return 2 * sum(self.samples_per_record[:i]), 2 * self.samples_per_record[i]


def record_layout(fh: Any) -> RecordLayout:
    """The :class:`RecordLayout` from the header of an EDF file open for binary reading (read from its start)."""
    fh.seek(0)
    head = fh.read(256)
    header_bytes, ns = int(head[184:192]), int(head[252:256])
    fh.seek(0)
    header = fh.read(header_bytes)
    labels = [header[256 + 16 * i: 256 + 16 * (i + 1)].decode("ascii", "replace").strip() for i in range(ns)]
    spr_off = 256 + ns * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80)  # after label … prefiltering
    spr = [int(header[spr_off + 8 * i: spr_off + 8 * (i + 1)]) for i in range(ns)]
    return RecordLayout(header_bytes, int(head[236:244]), float(head[244:252]), labels, spr)


def _make_discontinuous(path: Path, onsets_s: np.ndarray) -> None:
    """Turn an EDF+C file whose records are not contiguous in time into EDF+D (see module docstring)."""
    with open(path, "r+b") as fh:
        layout = record_layout(fh)
        span = layout.annotation_span()
        if span is None:
            raise ExportError(f"{path}: no EDF Annotations signal to mark the record onsets")
        a_off, a_len = span
        fh.seek(192)
        fh.write(b"EDF+D".ljust(44))
        for k, onset in enumerate(onsets_s):
            pos = layout.header_bytes + k * layout.record_bytes + a_off
            fh.seek(pos)
            block = fh.read(a_len)
            end = block.index(b"\x00") + 1  # first TAL: "+onset\x14\x14\x00"
            rest = block[end:].rstrip(b"\x00")
            new = f"+{_fmt_onset(onset)}\x14\x14\x00".encode("ascii") + rest
            if rest:
                new += b"\x00"
            if len(new) > a_len:
                raise ExportError(f"{path}: record {k} has no room for its EDF+D onset")
            fh.seek(pos)
            fh.write(new.ljust(a_len, b"\x00"))


def _fmt_onset(onset_s: float) -> str:
    text = f"{onset_s:.7f}".rstrip("0").rstrip(".")
    return text or "0"
