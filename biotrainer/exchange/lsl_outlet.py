"""Lab Streaming Layer outlets: publish a running session to other lab machines (SCIENCE.md §8).

:class:`LslOutlets` is a bus listener. For every sensor (``event.device``) it opens, on first use or eagerly via
:meth:`LslOutlets.declare`, one outlet per kind of data:

=========  ==========  ========  =============  =========  ==================================================
kind       LSL type    channels  nominal rate   format     values and timestamps
=========  ==========  ========  =============  =========  ==================================================
``hr``     ``HR``      1         irregular      float32    bpm, stamped at packet arrival
``rr``     ``RR``      1         irregular      float32    RR interval in ms, stamped at the beat itself
``ecg``    ``ECG``     1         ``fs_hz``      int32      µV, one timestamp per sample
``acc``    ``ACC``     3         ``fs_hz``      int16      x, y, z in milli-g, one timestamp per sample
``markers``  ``Markers``  1      irregular      string     one JSON object per phase/pacer/cue/annotation/
                                                           session event (``{"kind": ..., fields...}``)
=========  ==========  ========  =============  =========  ==================================================

Each stream's ``source_id`` is the strap's serial (``serials[device]``, falling back to the device address), so a
recorder can re-attach after a restart; the markers stream uses ``source_id`` ``biotrainer-markers-<session>``.
Channel metadata (``desc/channels/channel/{label,unit,type}``) and ``desc/acquisition`` (manufacturer, biotrainer
version, participant, device) follow the XDF meta-data conventions.

Timestamps: LSL time = session time + ``lsl_offset_s``. The offset is ``pylsl.local_clock() - now_s()`` when the
listener is built with the session clock's ``now_s`` (the way to use it live), an explicit ``lsl_offset_s`` (tests,
replays that must land on a known LSL time), or, failing both, taken from the first event's arrival time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.events import (
    AccFrame,
    Annotation,
    Beat,
    Cue,
    EcgFrame,
    Event,
    HeartRate,
    PacerMarker,
    PhaseMarker,
    SessionState,
    to_record,
)

log = logging.getLogger(__name__)

STREAM_KINDS = ("hr", "rr", "ecg", "acc")
MARKER_EVENTS = (PhaseMarker, PacerMarker, Cue, Annotation, SessionState)

#: LSL stream type, channel labels, unit, channel type and sample format per kind.
STREAM_LAYOUT: dict[str, dict[str, Any]] = {
    "hr": {"type": "HR", "labels": ("HR",), "unit": "bpm", "ch_type": "HR", "format": "float32"},
    "rr": {"type": "RR", "labels": ("RR",), "unit": "ms", "ch_type": "RR", "format": "float32"},
    "ecg": {"type": "ECG", "labels": ("ECG",), "unit": "microvolts", "ch_type": "ECG", "format": "int32"},
    "acc": {"type": "ACC", "labels": ("ACC_X", "ACC_Y", "ACC_Z"), "unit": "milli-g", "ch_type": "ACC",
            "format": "int16"},
    "markers": {"type": "Markers", "labels": ("Marker",), "unit": "", "ch_type": "Marker", "format": "string"},
}


def marker_text(event: Event) -> str:
    """The JSON string a marker stream carries for ``event``: its kind, participant and fields.

    The same text is parsed back by the XDF importer, so a LabRecorder file of a biotrainer session keeps its
    phases and annotations.
    """
    kind, _t_s, participant, _device, data_json, _blob = to_record(event)
    obj = {"kind": kind, "participant": participant, **json.loads(data_json)}
    return json.dumps(obj, separators=(",", ":"))


def make_stream_info(kind: str, *, name: str, source_id: str, fs_hz: float = 0.0,
                     participant: str = "", device: str = "") -> Any:
    """Build a ``pylsl.StreamInfo`` for ``kind`` (one of ``hr rr ecg acc markers``) with channel metadata.

    Parameters
    ----------
    kind : str
        Which layout of :data:`STREAM_LAYOUT` to use.
    name : str
        LSL stream name.
    source_id : str
        LSL source id (strap serial).
    fs_hz : float
        Nominal sampling rate; 0 (``pylsl.IRREGULAR_RATE``) for irregular streams.
    participant, device : str
        Written to ``desc/acquisition``.

    Returns
    -------
    pylsl.StreamInfo
    """
    import pylsl

    layout = STREAM_LAYOUT[kind]
    fmt = {"float32": pylsl.cf_float32, "int32": pylsl.cf_int32, "int16": pylsl.cf_int16,
           "string": pylsl.cf_string}[layout["format"]]
    info = pylsl.StreamInfo(name, layout["type"], len(layout["labels"]), float(fs_hz), fmt, source_id)
    desc = info.desc()
    channels = desc.append_child("channels")
    for label in layout["labels"]:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", layout["unit"])
        ch.append_child_value("type", layout["ch_type"])
    acq = desc.append_child("acquisition")
    acq.append_child_value("manufacturer", "biotrainer")
    acq.append_child_value("software_version", __version__)
    acq.append_child_value("participant", participant)
    acq.append_child_value("device", device)
    return info


class LslOutlets:
    """Bus listener that streams HR, RR, ECG, ACC and markers of a session over Lab Streaming Layer.

    Parameters
    ----------
    now_s : callable, optional
        The session clock (``clock.now_s``); used once to map session time to ``pylsl.local_clock()``.
    lsl_offset_s : float, optional
        Explicit LSL time of session time 0 (overrides ``now_s``).
    serials : mapping, optional
        Device address → strap serial, used as ``source_id``.
    session_id : str
        Put in the markers stream's name and source id.
    name_prefix : str
        Stream names are ``"<prefix> <kind> <participant>"``, e.g. ``biotrainer RR self``.

    Examples
    --------
    >>> bus.subscribe(LslOutlets(now_s=clock.now_s, serials={"AA:BB": "C0680226"}))  # doctest: +SKIP
    """

    def __init__(self, *, now_s: Callable[[], float] | None = None, lsl_offset_s: float | None = None,
                 serials: Mapping[str, str] | None = None, session_id: str = "",
                 name_prefix: str = "biotrainer") -> None:
        from biotrainer.sources.lsl_inlet import quiet_liblsl

        quiet_liblsl()
        import pylsl

        self._pylsl = pylsl
        if lsl_offset_s is None and now_s is not None:
            lsl_offset_s = pylsl.local_clock() - now_s()
        self.lsl_offset_s = lsl_offset_s
        self.serials = dict(serials or {})
        self.session_id = session_id
        self.name_prefix = name_prefix
        self._outlets: dict[tuple[str, str], Any] = {}
        self.samples_pushed: dict[str, int] = {k: 0 for k in (*STREAM_KINDS, "markers")}

    # --- outlets ---------------------------------------------------------------------------------------------

    def declare(self, device: str, participant: str, kinds: Iterable[str] = ("hr", "rr"), *,
                ecg_fs_hz: float = 130.0, acc_fs_hz: float = 200.0, markers: bool = True,
                serial: str | None = None) -> None:
        """Open outlets before data flows (so a LabRecorder sees them at session start).

        ``kinds`` lists which of ``hr rr ecg acc`` the sensor delivers; ``serial`` (the strap's serial number,
        e.g. from the Device Information service) becomes the streams' ``source_id``.
        """
        if serial:
            self.serials[device] = serial
        for kind in kinds:
            fs = {"ecg": ecg_fs_hz, "acc": acc_fs_hz}.get(kind, 0.0)
            self._outlet(kind, device, participant, fs)
        if markers:
            self._outlet("markers", "", "session", 0.0)

    def _push_frame(self, kind: str, event: EcgFrame | AccFrame, samples: np.ndarray) -> None:
        """One ECG or ACC frame as one chunk, every sample with its own LSL timestamp."""
        if not len(samples):
            return
        out = self._outlet(kind, event.device, event.participant, event.fs_hz)
        out.push_chunk(samples, self._lsl_time(event.sample_times_s()).tolist())
        self.samples_pushed[kind] += len(samples)

    def _outlet(self, kind: str, device: str, participant: str, fs_hz: float) -> Any:
        key = (kind, device)
        outlet = self._outlets.get(key)
        if outlet is None:
            if kind == "markers":
                name = f"{self.name_prefix} markers" + (f" {self.session_id}" if self.session_id else "")
                source_id = f"biotrainer-markers-{self.session_id or 'session'}"
            else:
                name = f"{self.name_prefix} {kind.upper()} {participant}"
                source_id = self.serials.get(device, device) or "biotrainer"
            info = make_stream_info(kind, name=name, source_id=source_id, fs_hz=fs_hz,
                                    participant=participant, device=device)
            outlet = self._pylsl.StreamOutlet(info)
            self._outlets[key] = outlet
            log.info("LSL outlet %r (%s, source_id %s) open", name, STREAM_LAYOUT[kind]["type"], source_id)
        return outlet

    # --- listener --------------------------------------------------------------------------------------------

    def _lsl_time(self, t_s: float | np.ndarray) -> Any:
        if self.lsl_offset_s is None:
            raise RuntimeError("LSL offset not set")
        return t_s + self.lsl_offset_s

    def __call__(self, event: Event) -> None:
        if self.lsl_offset_s is None:
            self.lsl_offset_s = self._pylsl.local_clock() - event.t_s
        if isinstance(event, Beat):
            out = self._outlet("rr", event.device, event.participant, 0.0)
            out.push_sample([event.rr_ms], self._lsl_time(event.beat_t_s))
            self.samples_pushed["rr"] += 1
        elif isinstance(event, HeartRate):
            out = self._outlet("hr", event.device, event.participant, 0.0)
            out.push_sample([float(event.hr_bpm)], self._lsl_time(event.t_s))
            self.samples_pushed["hr"] += 1
        elif isinstance(event, EcgFrame):
            self._push_frame("ecg", event, np.asarray(event.samples_uv, dtype=np.int32).reshape(-1, 1))
        elif isinstance(event, AccFrame):
            self._push_frame("acc", event, np.asarray(event.samples_mg, dtype=np.int16).reshape(-1, 3))
        elif isinstance(event, MARKER_EVENTS):
            out = self._outlet("markers", "", "session", 0.0)
            out.push_sample([marker_text(event)], self._lsl_time(event.t_s))
            self.samples_pushed["markers"] += 1

    def close(self) -> None:
        """Close every outlet (receivers see the streams disappear)."""
        self._outlets.clear()  # pylsl destroys an outlet when it is garbage collected
