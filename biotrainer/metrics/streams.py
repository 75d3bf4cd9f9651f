"""Raw streams of one participant as arrays, and the cut of one analysis window from them.

Both the live engine (over its bounded buffers) and offline analysis (over a whole session) build their windows
with :func:`build_window` from a :class:`Streams`, so the same raw data gives the same window inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from biotrainer.core.events import (
    SESSION,
    AccFrame,
    Beat,
    Connection,
    Contact,
    EcgFrame,
    Event,
    PacerMarker,
    PhaseMarker,
)
from biotrainer.core.phases import PhaseSpan, PhaseSpanBuilder
from biotrainer.metrics.coherence import WINDOW_S as COHERENCE_WINDOW_S
from biotrainer.metrics.window import WindowData

#: Pacer markers this long before a window start are kept so the breath in progress at the start is known.
PACER_LOOKBACK_S = 30.0
#: ECG and ACC samples reach the bus in frames, seconds after they were taken (a Polar H10 sends ~0.5 s frames;
#: the simulator finalises them 2.5 s late). A window's ECG/ACC part is therefore the same length shifted back by
#: this much, so the live engine has all of it when it computes the window and offline analysis uses the same span.
SENSOR_LAG_S = 3.0


@dataclass
class Streams:
    """One participant's raw data as arrays (session time, s).

    ``beat_t_s``/``rr_ms``: beats in time order; ``pacer``: ``(t_s, segment, duration_s, rate_per_min)``;
    ``phases``: protocol phases (:mod:`biotrainer.core.phases`; a running phase ends at inf); ``acc_t_s``/``acc_mg``: per-sample times and (n, 3) samples at ``acc_fs_hz``;
    ``ecg_t_s``/``ecg_uv`` likewise at ``ecg_fs_hz``; ``no_contact``: ``(start_s, end_s)`` spans without skin
    contact or connection (end inf while ongoing).
    """

    beat_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rr_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pacer: list[tuple[float, str, float, float]] = field(default_factory=list)
    phases: list[PhaseSpan] = field(default_factory=list)
    acc_t_s: np.ndarray | None = None
    acc_mg: np.ndarray | None = None
    acc_fs_hz: float | None = None
    ecg_t_s: np.ndarray | None = None
    ecg_uv: np.ndarray | None = None
    ecg_fs_hz: float | None = None
    no_contact: list[tuple[float, float]] = field(default_factory=list)

    @property
    def end_s(self) -> float:
        return float(self.beat_t_s[-1]) if self.beat_t_s.size else 0.0

    def phase_at(self, t_s: float) -> PhaseSpan | None:
        """The phase a window ending at ``t_s`` belongs to (``start < t <= end``; a phase that starts exactly at
        ``t_s`` has no data in that window yet)."""
        for ph in reversed(self.phases):
            if ph.start_s < t_s <= ph.end_s:
                return ph
        for ph in self.phases:
            if ph.start_s == t_s:
                return ph
        return None


def build_window(streams: Streams, start_s: float, end_s: float, *, with_ecg: bool = True) -> WindowData:
    """Cut the inputs of the window ``(start_s, end_s]`` from ``streams``.

    Pacer markers count only inside the paced phase running at ``end_s`` (from ``PACER_LOOKBACK_S`` before the
    window). ECG and ACC samples are taken from ``(start_s − SENSOR_LAG_S, end_s − SENSOR_LAG_S]``. ECG R-peaks
    are detected on the window's own ECG samples (so live and offline agree exactly).
    """
    from biotrainer.metrics.window import LOOKAHEAD_BEATS, WindowData, select

    sl = select(streams.beat_t_s, start_s, end_s)
    pacer: list[tuple[float, str, float, float]] = []
    phase = streams.phase_at(end_s)
    if phase is not None and phase.paced:
        lo = max(phase.start_s, start_s - PACER_LOOKBACK_S) - 1e-9
        # markers of this phase only: the next phase's first marker can fall exactly on this phase's end
        pacer = [p for p in streams.pacer if lo <= p[0] <= end_s and p[0] < phase.end_s]
    data = WindowData(start_s=start_s, end_s=end_s, beat_t_s=streams.beat_t_s[sl], rr_ms=streams.rr_ms[sl],
                      pacer=pacer)
    csl = select(streams.beat_t_s, min(start_s, end_s - COHERENCE_WINDOW_S), end_s)
    # the correction context runs up to LOOKAHEAD_BEATS beats past the window end (when they exist), so the
    # window's last beats are classified with the beats that follow them (see biotrainer.metrics.window)
    csl = slice(csl.start, min(csl.stop + LOOKAHEAD_BEATS, streams.beat_t_s.size))
    data.context_beat_t_s = streams.beat_t_s[csl]
    data.context_rr_ms = streams.rr_ms[csl]
    if streams.acc_t_s is not None and streams.acc_mg is not None and streams.acc_t_s.size:
        asl = select(streams.acc_t_s, start_s - SENSOR_LAG_S, end_s - SENSOR_LAG_S)
        if asl.stop - asl.start > 0:
            data.acc_mg = streams.acc_mg[asl]
            data.acc_fs_hz = streams.acc_fs_hz
            data.acc_t0_s = float(streams.acc_t_s[asl.start])
    if with_ecg and streams.ecg_t_s is not None and streams.ecg_uv is not None and streams.ecg_t_s.size:
        esl = select(streams.ecg_t_s, start_s - SENSOR_LAG_S, end_s - SENSOR_LAG_S)
        fs = float(streams.ecg_fs_hz or 130.0)
        if esl.stop - esl.start > fs * 10:
            from biotrainer.metrics.breathing import qrs_areas, r_apex_amplitudes
            from biotrainer.metrics.rpeaks import highpass, rpeaks_s

            x = streams.ecg_uv[esl].astype(float)
            peaks = rpeaks_s(x, fs)
            if peaks.size:
                data.ecg_peak_t_s = float(streams.ecg_t_s[esl.start]) + peaks
                hp = highpass(x, fs)
                data.ecg_r_amplitude = r_apex_amplitudes(hp, peaks, fs)
                data.ecg_qrs_area = qrs_areas(hp, peaks, fs)
    data.contact_lost_s = _contact_lost_s(streams.no_contact, data.beat_t_s, data.rr_ms, start_s, end_s)
    return data


def _contact_lost_s(no_contact: list[tuple[float, float]], beat_t_s: np.ndarray, rr_ms: np.ndarray, start_s: float,
                    end_s: float) -> float:
    """Seconds of ``(start_s, end_s]`` without contact or connection *that still hold beats' intervals*: where the
    loss left no beats, the window already counts that time as a gap (:func:`biotrainer.metrics.window.
    compute_window`), and counting it twice withheld windows with half the allowed loss."""
    from biotrainer.metrics import artifacts as art

    free: list[tuple[float, float]] = []  # beat-free spans compute_window counts as missing
    if beat_t_s.size:
        free = [(float(beat_t_s[i - 1]), float(beat_t_s[i] - rr_ms[i] / 1000.0))
                for i in np.flatnonzero(art.find_gaps(rr_ms, beat_t_s))]
        free.append((start_s + art.GAP_TOLERANCE_S, float(beat_t_s[0] - rr_ms[0] / 1000.0)))
        free.append((float(beat_t_s[-1]) + 2.0, end_s))
    lost = 0.0
    for a, b in no_contact:
        lo, hi = max(a, start_s), min(b, end_s)
        if hi > lo:
            lost += (hi - lo) - sum(max(0.0, min(hi, fb) - max(lo, fa)) for fa, fb in free)
    return max(0.0, lost)


class StreamBuffer:
    """Collects one participant's events into :class:`Streams`, optionally keeping only the last ``keep_s``.

    Beats: only those of ``beat_source`` are used once one has been seen (strap RR is preferred to ECG-derived RR;
    ECG-derived beats are used when no strap beat arrives).
    """

    def __init__(self, keep_s: float | None = None, beat_source: str = "strap") -> None:
        self.keep_s = keep_s
        self.beat_source = beat_source
        self._seen_preferred = False
        self._beat_t: list[float] = []
        self._rr: list[float] = []
        self._pacer: list[tuple[float, str, float, float]] = []
        self._phases = PhaseSpanBuilder()
        self._acc: list[tuple[np.ndarray, np.ndarray]] = []
        self.acc_fs_hz: float | None = None
        self._ecg: list[tuple[np.ndarray, np.ndarray]] = []
        self.ecg_fs_hz: float | None = None
        self.no_contact: list[tuple[float, float]] = []
        self._lost_since: float | None = None
        self._down = {"contact": False, "connection": False}

    # --- feeding ----------------------------------------------------------------------------------------------

    def add_beat(self, e: Beat) -> bool:
        """Add a beat; returns True when it was used."""
        if e.source == self.beat_source:
            if not self._seen_preferred:
                self._seen_preferred = True
                self._beat_t, self._rr = [], []
        elif self._seen_preferred:
            return False
        if self._beat_t and e.beat_t_s <= self._beat_t[-1]:
            return False  # duplicate or out of order
        self._beat_t.append(float(e.beat_t_s))
        self._rr.append(float(e.rr_ms))
        return True

    def add_pacer(self, e: PacerMarker) -> None:
        self._pacer.append((float(e.t_s), e.segment, float(e.duration_s), float(e.rate_per_min)))

    def add_phase(self, e: PhaseMarker) -> None:
        self._phases.add(e)

    def add_acc(self, e: AccFrame) -> None:
        self.acc_fs_hz = float(e.fs_hz)
        self._acc.append((e.sample_times_s(), np.asarray(e.samples_mg, dtype=float).reshape(-1, 3)))

    def add_ecg(self, e: EcgFrame) -> None:
        self.ecg_fs_hz = float(e.fs_hz)
        self._ecg.append((e.sample_times_s(), np.asarray(e.samples_uv, dtype=float)))

    def set_down(self, what: str, down: bool, t_s: float) -> None:
        """Contact or connection lost (``down``) or back."""
        was = any(self._down.values())
        self._down[what] = down
        now = any(self._down.values())
        if now and not was:
            self._lost_since = t_s
        elif was and not now and self._lost_since is not None:
            self.no_contact.append((self._lost_since, t_s))
            self._lost_since = None

    def add(self, e: Event) -> bool:
        """Dispatch any event; returns True when it was a used beat."""
        if isinstance(e, Beat):
            return self.add_beat(e)
        if isinstance(e, PacerMarker):
            self.add_pacer(e)
        elif isinstance(e, PhaseMarker):
            self.add_phase(e)
        elif isinstance(e, AccFrame):
            self.add_acc(e)
        elif isinstance(e, EcgFrame):
            self.add_ecg(e)
        elif isinstance(e, Contact):
            self.set_down("contact", not e.contact, e.t_s)
        elif isinstance(e, Connection):
            if e.state in ("disconnected", "failed", "reconnecting"):
                self.set_down("connection", True, e.t_s)
            elif e.state == "connected":
                self.set_down("connection", False, e.t_s)
        return False

    def trim(self, now_s: float) -> None:
        """Drop data older than ``keep_s`` before ``now_s`` (bounded memory for live use)."""
        if self.keep_s is None:
            return
        cut = now_s - self.keep_s
        if self._beat_t and self._beat_t[0] < cut:
            i = int(np.searchsorted(self._beat_t, cut))
            del self._beat_t[:i], self._rr[:i]
        cut_p = cut - PACER_LOOKBACK_S
        while self._pacer and self._pacer[0][0] < cut_p:
            self._pacer.pop(0)
        for buf in (self._acc, self._ecg):
            while buf and buf[0][0][-1] < cut:
                buf.pop(0)
        self.no_contact = [(a, b) for a, b in self.no_contact if b >= cut]
        self._phases.drop_ended_before(cut_p)

    # --- reading ----------------------------------------------------------------------------------------------

    @property
    def n_beats(self) -> int:
        return len(self._beat_t)

    @property
    def last_beat_t_s(self) -> float | None:
        return self._beat_t[-1] if self._beat_t else None

    def beat_t_back(self, k: int) -> float | None:
        """Time of the beat ``k`` beats before the newest (0: the newest), None when fewer are buffered."""
        return self._beat_t[-1 - k] if len(self._beat_t) > k else None

    def streams(self, samples: bool = True) -> Streams:
        """The buffered data as :class:`Streams`; ``samples=False`` leaves out ECG and ACC (cheaper)."""
        no_contact = list(self.no_contact)
        if self._lost_since is not None:
            no_contact.append((self._lost_since, math.inf))
        s = Streams(np.asarray(self._beat_t, dtype=float), np.asarray(self._rr, dtype=float), list(self._pacer),
                    self._phases.spans(), no_contact=no_contact)
        if samples and self._acc:
            s.acc_t_s = np.concatenate([a for a, _ in self._acc])
            s.acc_mg = np.concatenate([b for _, b in self._acc])
            s.acc_fs_hz = self.acc_fs_hz
        if samples and self._ecg:
            s.ecg_t_s = np.concatenate([a for a, _ in self._ecg])
            s.ecg_uv = np.concatenate([b for _, b in self._ecg])
            s.ecg_fs_hz = self.ecg_fs_hz
        return s


def streams_from_events(events: Iterable[Event], participant: str | None = None,
                        beat_source: str = "strap") -> Streams:
    """Whole-session :class:`Streams` of one participant (session markers are shared by everyone).

    ``participant`` None takes the first participant that has beats.
    """
    events = list(events)
    if participant is None:
        participant = next((e.participant for e in events if isinstance(e, Beat)), None)
    buf = StreamBuffer(None, beat_source)
    for e in events:
        if e.participant == participant or (e.participant == SESSION and isinstance(e, (PacerMarker, PhaseMarker))):
            buf.add(e)
    return buf.streams()
