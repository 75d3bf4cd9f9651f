"""Headless live view: one status line with HR, last RR, phase, pacer and time left.

A bus listener. On a terminal it rewrites one line in place (about 4 times a second); when the output is not a
terminal (a log file, CI) it writes a full line every ``log_every_s`` seconds of session time instead.
Phase changes and cues are printed on their own lines so the guidance stays readable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from biotrainer.core.events import (
    Annotation,
    Beat,
    Connection,
    Contact,
    Cue,
    Event,
    HeartRate,
    MetricUpdate,
    PacerMarker,
    PhaseMarker,
    SessionState,
)
from biotrainer.metrics.catalogue import CATALOGUE, format_value

#: The metrics of the status line: (catalogue key, label, unit as written after the number).
STATUS_METRICS = (("hrv.ln_rmssd", "lnRMSSD", ""), ("rsa.p2t_ms", "RSA", f" {CATALOGUE['rsa.p2t_ms'].unit}"),
                  ("breathing.rate_per_min", "breath", CATALOGUE["breathing.rate_per_min"].unit))
_SEGMENT_LABELS = {"inhale": "breathe in ", "hold_in": "hold       ", "exhale": "breathe out",
                   "hold_out": "rest       "}


class TerminalView:
    def __init__(self, stream: TextIO | None = None, *, time_left_s: Callable[[float], float | None] | None = None,
                 live: bool | None = None, log_every_s: float = 10.0, refresh_s: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.time_left_s = time_left_s
        self.log_every_s = log_every_s
        self.refresh_s = refresh_s
        self.hr: dict[str, int] = {}
        self.rr_ms: dict[str, float] = {}
        self.contact: dict[str, bool] = {}
        self.connection: dict[str, str] = {}
        self.metrics: dict[str, dict[str, float | None]] = {}
        self.reasons: dict[str, dict[str, str]] = {}
        self.phase = ""
        self.segment = ""
        self.rate_per_min: float | None = None
        self.paused = False
        self._last_draw = -1e9
        self._line_open = False

    def __call__(self, event: Event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_heart_rate(self, event: HeartRate) -> None:
        self.hr[event.participant] = event.hr_bpm

    def _on_beat(self, event: Beat) -> None:
        self.rr_ms[event.participant] = event.rr_ms

    def _on_contact(self, event: Contact) -> None:
        who = event.participant
        self.contact[who] = event.contact
        if not event.contact:
            self._say(f"[{event.t_s:7.1f} s] {who}: no skin contact — moisten the strap electrodes")

    def _on_connection(self, event: Connection) -> None:
        self.connection[event.participant] = event.state
        if event.state != "connected" or event.t_s > 1.0:
            reason = f" ({event.reason})" if event.reason else ""
            self._say(f"[{event.t_s:7.1f} s] {event.participant} strap {event.device}: {event.state}{reason}")

    def _on_phase(self, event: PhaseMarker) -> None:
        if event.state != "start":
            return
        self.phase = event.name
        pace = f", pacer {event.rate_per_min:g}/min" if event.paced and event.rate_per_min else ""
        self._say(f"[{event.t_s:7.1f} s] phase: {event.name} ({event.duration_s:.0f} s{pace})")
        if not event.paced:
            self.segment, self.rate_per_min = "", None

    def _on_pacer(self, event: PacerMarker) -> None:
        self.segment = event.segment
        self.rate_per_min = event.rate_per_min

    def _on_cue(self, event: Cue) -> None:
        self._say(f"[{event.t_s:7.1f} s] » {event.text}")

    def _on_annotation(self, event: Annotation) -> None:
        self._say(f"[{event.t_s:7.1f} s] annotation: {event.text or '(mark)'}")

    def _on_session_state(self, event: SessionState) -> None:
        if event.state in ("pause", "resume"):
            self.paused = event.state == "pause"
            self._say(f"[{event.t_s:7.1f} s] session {event.state}d")

    def _on_metrics(self, event: MetricUpdate) -> None:
        who = event.participant
        self.metrics.setdefault(who, {}).update(event.values)
        reasons = self.reasons.setdefault(who, {})
        for key in event.values:
            if key in event.reasons:
                reasons[key] = event.reasons[key]
            else:
                reasons.pop(key, None)

    _HANDLERS: dict[type, Callable[[TerminalView, Any], None]] = {
        HeartRate: _on_heart_rate, Beat: _on_beat, Contact: _on_contact, Connection: _on_connection,
        PhaseMarker: _on_phase, PacerMarker: _on_pacer, Cue: _on_cue, Annotation: _on_annotation,
        SessionState: _on_session_state, MetricUpdate: _on_metrics,
    }

    def tick(self, t_s: float) -> None:
        if self.live:
            if t_s - self._last_draw >= self.refresh_s or t_s < self._last_draw:
                self._last_draw = t_s
                self.stream.write("\r\x1b[2K" + self.status_line(t_s))
                self.stream.flush()
                self._line_open = True
        elif t_s - self._last_draw >= self.log_every_s:
            self._last_draw = t_s
            self.stream.write(self.status_line(t_s) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def status_line(self, t_s: float) -> str:
        parts = [f"{_clock(t_s)}"]
        for who in sorted(set(self.hr) | set(self.rr_ms)):
            prefix = f"{who} " if len(self.hr) > 1 else ""
            hr = self.hr.get(who)
            rr = self.rr_ms.get(who)
            text = f"{prefix}HR {hr:3d} bpm" if hr is not None else f"{prefix}HR  — "
            text += f"  RR {rr:6.1f} ms" if rr is not None else "  RR   —   "
            if self.contact.get(who) is False:
                text += "  NO CONTACT"
            m = self.metrics.get(who, {})
            if m.get("quality.ok") == 0.0:
                why = self.reasons.get(who, {}).get("hrv.rmssd_ms", "poor signal")
                text += f"  (metrics withheld: {why})"
            else:
                text += _metric_text(m)
            parts.append(text)
        if not self.hr:
            parts.append("waiting for heart data")
        if self.phase:
            parts.append(self.phase)
        if self.segment and self.rate_per_min:
            parts.append(f"{_SEGMENT_LABELS.get(self.segment, self.segment)} @ {self.rate_per_min:g}/min")
        if self.paused:
            parts.append("PAUSED")
        if self.time_left_s is not None:
            left = self.time_left_s(t_s)
            if left is not None:
                parts.append(f"{_clock(left)} left")
        return " | ".join(parts)

    def _say(self, text: str) -> None:
        if self._line_open:
            self.stream.write("\r\x1b[2K")
            self._line_open = False
        self.stream.write(text + "\n")
        self.stream.flush()


def _metric_text(values: dict[str, float | None]) -> str:
    """``  lnRMSSD 3.71  RSA 98.4 ms  breath 6.0/min``: the metrics that have a value, catalogue decimals (RSA in
    ms, as in the window and the reports)."""
    out = ""
    for key, label, unit in STATUS_METRICS:
        v = values.get(key)
        if v is not None:
            out += f"  {label} {format_value(key, v)}{unit}"
    return out


def _clock(t_s: float) -> str:
    t = max(0, int(t_s))
    return f"{t // 60:02d}:{t % 60:02d}"
