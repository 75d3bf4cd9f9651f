"""The session model the screens render: a bus listener on the runner's thread, state on the GUI thread.

:class:`SessionModel` is subscribed to the session bus. Calling it (from any thread) only queues the event; the GUI
thread calls :meth:`SessionModel.drain` from its redraw timer, which applies queued events to preallocated ring
buffers and plain state (phase, cue, metrics with reasons, devices, annotations) and emits Qt signals for the
discrete changes. Views read the model; they never touch the bus or the runner.

Artifact marks are the beats the metrics engine flagged (``artifacts.end_beat_flag`` of its updates: each beat as
the window that ended on it classified it), so the tachogram marks exactly the beats the metrics corrected.

The pacer shown on screen is rebuilt from the protocol's :class:`~biotrainer.core.events.PacerMarker` events and the
session clock (``progress = (now - segment start) / planned duration``), so live sessions and replays draw the same
pacer from the same events, and a pause freezes it where it stopped.
"""

from __future__ import annotations

import logging
import math
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from biotrainer.core.events import (
    SESSION,
    Annotation,
    Battery,
    Beat,
    Connection,
    Contact,
    Cue,
    DecodeError,
    Event,
    HeartRate,
    MetricUpdate,
    PacerMarker,
    PhaseMarker,
    SessionState,
)
from biotrainer.core.pacer import PacerPoint, segment_volume
from biotrainer.gui.ring import Ring
from biotrainer.metrics.catalogue import metric

log = logging.getLogger(__name__)

BEAT_CAPACITY: Final = 24_000  # ≈ 4 h at 100 bpm
SERIES_CAPACITY: Final = 20_000  # metric updates, HR packets
PACER_CURVE_STEP_S: Final = 0.2  # resolution of the pacer curve drawn under the heart rate
PACER_CURVE_CAPACITY: Final = 80_000  # ≈ 4.4 h at 0.2 s
STALE_AFTER_S: Final = 4.0  # no beat for this long: the signal is called stale
OWN_BREATH_SPAN_S: Final = 30.0  # free breathing: the pacer follows the RSA wave of the last 30 s

# Metrics shown on the live screen, with display names and units, and the MetricUpdate keys they come from.
FEEDBACK_KEY: Final = "feedback_0_1"
SOURCE_KEYS: Final[dict[str, str]] = {
    "hr_bpm": "hrv.hr_bpm",
    "rsa_p2t_ms": "rsa.p2t_ms",
    "ln_rmssd": "hrv.ln_rmssd",
    "coherence_ratio": "coherence.ratio",
    "breathing_rate_per_min": "breathing.rate_per_min",
    FEEDBACK_KEY: "feedback.value",
}
#: The live tiles and plots: key → (label, unit) as the catalogue says the live screen shows them.
METRICS: Final[dict[str, tuple[str, str]]] = {k: metric(v).on_screen for k, v in SOURCE_KEYS.items()
                                              if k != FEEDBACK_KEY}
FLAG_KEY: Final = "artifacts.end_beat_flag"
QUALITY_KEYS: Final = ("quality.n_beats", "quality.corrected_pct", "quality.missing_pct", "quality.ok")


@dataclass
class DeviceState:
    """What the screen shows about one sensor."""

    device: str
    participant: str
    state: str = "unknown"
    reason: str = ""
    battery_percent: int | None = None
    contact: bool | None = None
    last_beat_t_s: float | None = None
    hr_bpm: int | None = None
    decode_errors: int = 0


@dataclass
class PhaseState:
    name: str = ""
    index: int = -1
    start_t_s: float = 0.0
    duration_s: float = 0.0
    paced: bool = False
    rate_per_min: float | None = None
    feedback: bool = True
    active: bool = False


@dataclass
class MetricState:
    """The newest value of one metric, or None with the reason it could not be computed."""

    value: float | None = None
    reason: str = "waiting for data"
    t_s: float | None = None


@dataclass
class _Segment:
    t_s: float
    segment: str
    duration_s: float
    rate_per_min: float
    breath_index: int


@dataclass
class ModelSnapshotCounts:
    """Counters for tests and the status bar."""

    events: int = 0
    beats: int = 0
    metric_updates: int = 0
    pacer_markers: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class SessionModel(QObject):
    """State of one running or replayed session for one participant, fed by the bus.

    Parameters
    ----------
    participant : str or None
        Whose physiology the plots show; None takes the first participant seen in sensor events.
    now_s : callable or None
        The session clock (thread-safe ``now_s()``); None uses the newest event time.
    """

    phase_changed = pyqtSignal(str)
    cue_changed = pyqtSignal(str)
    state_changed = pyqtSignal(str)  # idle, running, paused, stopped
    annotation_added = pyqtSignal(float, str)
    devices_changed = pyqtSignal()
    drained = pyqtSignal(int)  # number of events applied

    def __init__(self, participant: str | None = None, now_s: Callable[[], float] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.participant = participant
        self.now_fn = now_s
        self.end_s: float | None = None  # a replay's duration: the drawn "now" never runs past it
        self.phase_titles: dict[str, str] = {}  # phase name → the protocol's title for it (set by the screen)
        self.reset()

    # --- bus side (any thread) ----------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        self._inbox.put(event)

    # --- GUI side -----------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (a new session, or a replay seeking backwards)."""
        while True:
            try:
                self._inbox.get_nowait()
            except queue.Empty:
                break
        self.hr = Ring(SERIES_CAPACITY)
        self.rr = Ring(BEAT_CAPACITY)  # rr_ms at the beat time
        self.artifacts = Ring(BEAT_CAPACITY)  # rr_ms of the beats the metrics engine flagged
        self.pacer_curve = Ring(PACER_CURVE_CAPACITY)
        self.pacer_rate = Ring(SERIES_CAPACITY)
        self.attunement: dict[str, float | None] | None = None  # latest live synchrony of a dyad (opt-in)
        self.series: dict[str, Ring] = {k: Ring(SERIES_CAPACITY) for k in (*METRICS, FEEDBACK_KEY)}
        self.metrics: dict[str, MetricState] = {k: MetricState() for k in (*METRICS, FEEDBACK_KEY)}
        self.devices: dict[str, DeviceState] = {}
        self.phase = PhaseState()
        self.cue = ""
        self.state = "idle"
        self.stop_reason = ""
        self.annotations: list[tuple[float, str]] = []
        self.last_t_s = 0.0
        self.counts = ModelSnapshotCounts()
        self._segment: _Segment | None = None
        self._pause_t_s: float | None = None
        self.quality: dict[str, float | None] = {}
        self.rsa_breaths = Ring(SERIES_CAPACITY)  # per-breath RSA at the end time of each breath
        self._curve_until_s = -math.inf
        #: ``[start_s, end_s or None]`` of each time the shown person's strap was disconnected (drawn as a band)
        self.disconnects: list[list[float | None]] = []

    def now(self) -> float:
        """Session time to draw at: the clock while running, frozen while paused or stopped, never past
        :attr:`end_s` (a replay clock at max speed runs on after the last event)."""
        if self.state == "paused" and self._pause_t_s is not None:
            t = self._pause_t_s
        elif self.state == "stopped" or self.now_fn is None:
            t = self.last_t_s
        else:
            try:
                t = max(self.now_fn(), 0.0)
            except Exception:  # noqa: BLE001 - a clock that fails must not break drawing
                t = self.last_t_s
        return t if self.end_s is None else min(t, self.end_s)

    def drain(self, max_events: int = 100_000) -> int:
        """Apply up to ``max_events`` queued events (GUI thread). Returns how many were applied."""
        n = 0
        while n < max_events:
            try:
                event = self._inbox.get_nowait()
            except queue.Empty:
                break
            try:
                self.apply(event)
            except Exception:  # noqa: BLE001 - one odd event must not stop the screen
                log.exception("could not show event %r", event)
            n += 1
        if n:
            self.drained.emit(n)
        return n

    def apply(self, e: Event) -> None:
        """Apply one event (GUI thread; :meth:`drain` calls this)."""
        c = self.counts
        c.events += 1
        c.by_kind[e.KIND] = c.by_kind.get(e.KIND, 0) + 1
        if e.t_s > self.last_t_s:
            self.last_t_s = e.t_s
        if isinstance(e, (Beat, HeartRate, MetricUpdate)) and e.participant != SESSION and self.participant is None:
            self.participant = e.participant
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            handler(self, e)

    # --- derived views ------------------------------------------------------------------------------------------

    def pacer_point(self, t_s: float | None = None) -> PacerPoint | None:
        """The pacer at session time ``t_s`` (default :meth:`now`), or None outside paced phases."""
        seg = self._segment
        if seg is None or not self.phase.active or not self.phase.paced:
            return None
        t = self.now() if t_s is None else t_s
        progress = (t - seg.t_s) / seg.duration_s if seg.duration_s > 0 else 1.0
        progress = min(1.0, max(0.0, progress))
        period_s = 60.0 / seg.rate_per_min if seg.rate_per_min > 0 else 0.0
        return PacerPoint(seg.rate_per_min, seg.breath_index, seg.segment, progress, seg.t_s, seg.duration_s,
                          segment_volume(seg.segment, progress),
                          seg.breath_index + (progress * seg.duration_s / period_s if period_s else 0.0))

    @property
    def artifact_t_s(self) -> np.ndarray:
        """Beat times of the beats the metrics engine flagged as artifacts, oldest first."""
        return self.artifacts.t_s

    @property
    def artifact_rr_ms(self) -> np.ndarray:
        """Their RR intervals (ms)."""
        return self.artifacts.values()

    def quality_text(self) -> str:
        """One line about the current analysis window, e.g. ``58 beats · 1.7 % corrected · 0 % missing``."""
        q = self.quality
        if not q:
            return ""
        parts = []
        if q.get("quality.n_beats") is not None:
            parts.append(f"{q['quality.n_beats']:.0f} beats in window")
        if q.get("quality.corrected_pct") is not None:
            parts.append(f"{q['quality.corrected_pct']:.1f} % corrected")
        if q.get("quality.missing_pct") is not None:
            parts.append(f"{q['quality.missing_pct']:.0f} % missing")
        if q.get("quality.ok") is not None:
            parts.append("window good" if q["quality.ok"] >= 0.5 else "window poor")
        return " · ".join(parts)

    def own_breath(self, span_s: float = OWN_BREATH_SPAN_S) -> float | None:
        """The person's own breathing now (0 empty .. 1 full) from their heart rhythm: the RSA waveform
        (:func:`biotrainer.metrics.breathing.respiration_from_rr`, RR lengthens as one breathes out) over the last
        ``span_s`` seconds, scaled to its range; None with too few beats or a flat rhythm."""
        t, rr = self.rr.window(self.now() - span_s)
        ok = np.isfinite(rr)
        t, rr = t[ok], rr[ok]
        if len(t) < 12 or t[-1] - t[0] < 0.5 * span_s:
            return None
        from biotrainer.metrics.breathing import respiration_from_rr

        y, _fs = respiration_from_rr(t, rr)
        if len(y) < 8:
            return None
        lo, hi = float(np.min(y)), float(np.max(y))
        if hi - lo < 5.0:  # under 5 ms of RSA: nothing to follow
            return None
        return float(np.clip((hi - y[-1]) / (hi - lo), 0.0, 1.0))

    def phase_display(self, name: str | None = None) -> str:
        """The title of phase ``name`` (default: the running one) as the protocol words it ("Slow breathing"), or
        the name made readable when the protocol has no title for it."""
        name = self.phase.name if name is None else name
        return self.phase_titles.get(name) or name.replace("_", " ").capitalize()

    def phase_time_left_s(self) -> float | None:
        if not self.phase.active:
            return None
        return max(0.0, self.phase.start_t_s + self.phase.duration_s - self.now())

    def signal_status(self, device: DeviceState) -> tuple[str, str]:
        """``(level, text)`` for a device: level is ``good``, ``warning`` or ``error``."""
        if device.state in ("disconnected", "failed"):
            return "error", f"{device.state}{': ' + device.reason if device.reason else ''}"
        if device.state in ("connecting", "reconnecting"):
            return "warning", device.state
        if device.contact is False:
            return "warning", "no skin contact — moisten the strap electrodes"
        if device.last_beat_t_s is None:
            return "warning", "waiting for beats"
        if self.now() - device.last_beat_t_s > STALE_AFTER_S and self.state == "running":
            return "warning", f"no beats for {self.now() - device.last_beat_t_s:.0f} s"
        return "good", "receiving beats"

    # --- event handlers (GUI thread; :meth:`apply` dispatches by event type) ---------------------------------

    def _device(self, e: Event) -> DeviceState:
        key = e.device or e.participant
        d = self.devices.get(key)
        if d is None:
            d = self.devices[key] = DeviceState(device=key, participant=e.participant)
        return d


    def _on_beat(self, e: Beat) -> None:
        d = self._device(e)
        d.last_beat_t_s = e.t_s
        if d.state == "unknown":
            d.state = "connected"
        if e.participant != self.participant:
            return
        self.counts.beats += 1
        self.rr.append(e.beat_t_s, e.rr_ms)


    def _on_hr(self, e: HeartRate) -> None:
        d = self._device(e)
        d.hr_bpm = e.hr_bpm
        if e.contact is not None and e.contact != d.contact:
            d.contact = e.contact
            self.devices_changed.emit()
        if e.participant == self.participant:  # 0 bpm is "no heart rate" (a strap without contact): a gap
            self.hr.append(e.t_s, float(e.hr_bpm) if e.hr_bpm > 0 else math.nan)


    def _on_contact(self, e: Contact) -> None:
        self._device(e).contact = e.contact
        self.devices_changed.emit()


    def _on_battery(self, e: Battery) -> None:
        self._device(e).battery_percent = e.percent
        self.devices_changed.emit()


    def _on_connection(self, e: Connection) -> None:
        d = self._device(e)
        d.state, d.reason = e.state, e.reason
        if e.participant == self.participant or self.participant is None:
            self._track_disconnect(e)
        self.devices_changed.emit()

    def _track_disconnect(self, e: Connection) -> None:
        """Open a disconnect band (and break the lines) when the strap is lost; close it when it is back."""
        lost = e.state in ("disconnected", "failed", "reconnecting")
        open_band = bool(self.disconnects) and self.disconnects[-1][1] is None
        if lost and not open_band:
            self.disconnects.append([e.t_s, None])
            self.hr.append(e.t_s, math.nan)
            self.rr.append(e.t_s, math.nan)
        elif e.state == "connected" and open_band:
            self.disconnects[-1][1] = e.t_s


    def _on_decode_error(self, e: DecodeError) -> None:
        self._device(e).decode_errors += 1


    def _on_metrics(self, e: MetricUpdate) -> None:
        if e.participant == SESSION and "synchrony.above_chance" in e.values:
            self.attunement = dict(e.values)  # the dyad's recent synchrony (metrics/live_synchrony.py)
            return
        if e.participant != self.participant:
            return
        self.counts.metric_updates += 1
        values = e.values
        self._apply_metrics(e)
        for key in QUALITY_KEYS:
            if key in values:
                self.quality[key] = values[key]
        # per-breath RSA: one point at the end of each complete breath
        end_s, last = values.get("rsa.last_breath_end_s"), values.get("rsa.p2t_ms_last")
        if end_s is not None and last is not None and (not len(self.rsa_breaths) or end_s > self.rsa_breaths.t_s[-1]):
            self.rsa_breaths.append(end_s, last)
        if values.get(FLAG_KEY) and values.get("window.end_s") is not None:
            self._mark_artifact(values["window.end_s"])

    def _apply_metrics(self, e: MetricUpdate) -> None:
        """The shown metrics (and their series) that this update carries, each with its reason when None."""
        for key, state in self.metrics.items():
            source = SOURCE_KEYS[key]
            if source not in e.values:
                continue  # not part of this update (e.g. spectral values only come with full updates)
            value = e.values[source]
            if value is not None and not math.isfinite(value):
                value = None
            state.value = value
            state.t_s = e.t_s
            state.reason = "" if value is not None else (e.reasons.get(source) or "not enough clean data")
            if key != "rsa_p2t_ms":
                self.series[key].append(e.t_s, value)

    def _mark_artifact(self, beat_t_s: float) -> None:
        """Mark the beat at ``beat_t_s`` (a flagged beat the engine's window ended on)."""
        t = self.rr.t_s
        i = int(np.searchsorted(t, beat_t_s))
        if i < len(t) and t[i] == beat_t_s and (not len(self.artifacts) or beat_t_s > self.artifacts.t_s[-1]):
            self.artifacts.append(beat_t_s, float(self.rr.values()[i]))


    def _on_pacer(self, e: PacerMarker) -> None:
        self.counts.pacer_markers += 1
        self._segment = _Segment(e.t_s, e.segment, e.duration_s, e.rate_per_min, e.breath_index)
        if self.pacer_rate.last() != e.rate_per_min:
            self.pacer_rate.append(e.t_s, e.rate_per_min)
        # the planned breath curve for the segment, drawn under the heart rate
        t0 = max(e.t_s, self._curve_until_s)
        n = max(1, int(round(e.duration_s / PACER_CURVE_STEP_S)))
        for k in range(n + 1):
            t = e.t_s + k * e.duration_s / n
            if t < t0:
                continue
            self.pacer_curve.append(t, segment_volume(e.segment, k / n))
        self._curve_until_s = e.t_s + e.duration_s + 1e-9


    def _on_phase(self, e: PhaseMarker) -> None:
        if e.state == "start":
            self.phase = PhaseState(e.name, e.index, e.t_s, e.duration_s, e.paced, e.rate_per_min, e.feedback, True)
            self._segment = None
            self.cue = ""
            self.cue_changed.emit("")
            if not e.paced:
                self.pacer_rate.append(e.t_s, None)
            elif e.rate_per_min is not None:
                self.pacer_rate.append(e.t_s, e.rate_per_min)
        else:
            self.phase.active = False
            self._segment = None
            self.pacer_curve.append(e.t_s, None)
            self.pacer_rate.append(e.t_s, None)
            self._curve_until_s = e.t_s
        self.phase_changed.emit(self.phase.name if self.phase.active else "")


    def _on_cue(self, e: Cue) -> None:
        self.cue = e.text
        self.cue_changed.emit(e.text)


    def _on_annotation(self, e: Annotation) -> None:
        text = e.text or "(mark)"
        self.annotations.append((e.t_s, text))
        self.annotation_added.emit(e.t_s, text)


    def _on_session(self, e: SessionState) -> None:
        if e.state == "start":
            self.state = "running"
        elif e.state == "pause":
            self.state = "paused"
            self._pause_t_s = e.t_s
        elif e.state == "resume":
            if self._pause_t_s is not None:
                gap = e.t_s - self._pause_t_s
                if self._segment is not None:  # the protocol resumes the segment where it paused
                    self._segment.t_s += gap
                if self.phase.active:
                    self.phase.start_t_s += gap
            self._pause_t_s = None
            self.state = "running"
        elif e.state == "stop":
            self.state = "stopped"
            self.stop_reason = e.reason
            self.phase.active = False
        self.state_changed.emit(self.state)


_HANDLERS: dict[type, Callable[[SessionModel, Event], None]] = {
    Beat: SessionModel._on_beat, HeartRate: SessionModel._on_hr, Contact: SessionModel._on_contact,
    Battery: SessionModel._on_battery, Connection: SessionModel._on_connection,
    DecodeError: SessionModel._on_decode_error, MetricUpdate: SessionModel._on_metrics,
    PacerMarker: SessionModel._on_pacer, PhaseMarker: SessionModel._on_phase, Cue: SessionModel._on_cue,
    Annotation: SessionModel._on_annotation, SessionState: SessionModel._on_session,
}
