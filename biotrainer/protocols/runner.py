"""The protocol runner: a scheduled source that turns a protocol into phase, pacer and cue markers.

Design
------
At construction the whole protocol is laid out once in *protocol time* (seconds since the protocol started,
not counting pauses): for each phase a ``PhaseMarker`` start, the ``PacerMarker`` of every breath segment
(from :meth:`biotrainer.core.pacer.Pacer.segment_starts`, so markers and the drawn pacer agree exactly), the cues, and a
``PhaseMarker`` end. :meth:`ProtocolRunner.events_until` hands out the entries whose *session* time has come:
``session time = start_s + protocol time + the length of the pauses before it``. Times are computed from the
schedule, never by adding up tick lengths, so calling ``events_until`` in many small steps or one big step yields
exactly the same events with exactly the same ``t_s`` (the scheduled time, not the time of the call).

**Adaptive phases** (``pacer.adaptive``; the controller is :mod:`biotrainer.metrics.adaptive_pacer`): the pacer of
such a phase is a sequence of pacers, each from a breath boundary on. :meth:`ProtocolRunner.change_rate` adds one
from the next inhale start (so the pacer never jumps mid-breath), replaces the not-yet-emitted pacer markers of
the phase and schedules an :class:`~biotrainer.core.events.Annotation` (author ``adaptive-pacer``) that records the
change and its reason. :meth:`ProtocolRunner.set_locked` is the therapist's lock (also recorded). Changes and
queries are serialised by a lock: the GUI thread may lock while the session loop runs.

Pausing stops the protocol clock: entries due by the pause are still handed out, later ones shift by the pause
length. :meth:`pacer_at`, :meth:`phase_at`, :meth:`time_left_s` and :meth:`current_cue` answer for any session time
from the same pause record, so views and the simulator follow the same clock.

All markers carry ``participant=SESSION``.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import threading
from dataclasses import dataclass

from biotrainer.core.errors import ProtocolError, UsageError
from biotrainer.core.events import SESSION, Annotation, Cue, Event, PacerMarker, PhaseMarker
from biotrainer.core.pacer import ADAPTIVE_AUTHOR, LOCK_AUTHOR, LOCKED_TEXT, UNLOCKED_TEXT, Pacer, PacerPoint
from biotrainer.core.source import ScheduledSource
from biotrainer.protocols.model import (
    AdaptiveSpec,
    CueSpec,
    PhaseSpec,
    Protocol,
    check_pacer_fits,
    format_number,
)
from biotrainer.protocols.schema import RATE_MAX_PER_MIN, RATE_MIN_PER_MIN

log = logging.getLogger(__name__)

#: A rate change starts at an inhale at least this far after the call (the simulator and the screen plan ahead).
CHANGE_LEAD_S = 1.0

END_TOLERANCE_S = 1e-6
"""A pacer segment starting this close to its phase end is float round-off (e.g. 11 breaths at 5.5/min end at
119.99999999999999 s), not a real segment: it is not emitted."""


@dataclass(frozen=True, slots=True)
class PhaseState:
    """Where the protocol is within a phase at one moment (protocol clock: pauses excluded)."""

    index: int
    phase: PhaseSpec
    start_s: float  # protocol time the phase started
    elapsed_s: float
    remaining_s: float
    rate_per_min: float | None  # resolved pacer rate, None for unpaced phases


class ProtocolRunner(ScheduledSource):
    """Run a :class:`~biotrainer.protocols.model.Protocol` as a scheduled source (``SessionRunner(protocol=…)``).

    Parameters
    ----------
    protocol
        The loaded protocol.
    personal_rate_per_min
        The participant's personal resonance rate, used by phases with ``rate_per_min = "personal"``. None uses
        each phase's ``fallback_rate_per_min``; that is logged as a warning and announced by a :class:`Cue` at
        the start of the first such phase (see :attr:`rate_note`).
    start_s
        Session time at which the protocol starts (default 0: with the session).

    Raises
    ------
    UsageError
        ``personal_rate_per_min`` outside the allowed range.
    ProtocolError
        The personal rate leaves no time to breathe with a phase's holds.
    """

    name = "protocol"

    def __init__(self, protocol: Protocol, personal_rate_per_min: float | None = None, *,
                 start_s: float = 0.0) -> None:
        if personal_rate_per_min is not None and not (
                math.isfinite(personal_rate_per_min)
                and RATE_MIN_PER_MIN <= personal_rate_per_min <= RATE_MAX_PER_MIN):
            raise UsageError(f"personal resonance rate {personal_rate_per_min}/min is outside "
                             f"{format_number(RATE_MIN_PER_MIN)}-{format_number(RATE_MAX_PER_MIN)}/min")
        self.protocol = protocol
        self.personal_rate_per_min = personal_rate_per_min
        self.start_s = float(start_s)
        self.rate_note: str | None = None
        self._phase_starts_s = protocol.phase_starts_s
        self._pacers: list[Pacer | None] = []
        where = protocol.source or protocol.name
        for i, phase in enumerate(protocol.phases):
            if phase.pacer is None:
                self._pacers.append(None)
                continue
            rate = phase.pacer.resolve_rate_per_min(personal_rate_per_min)

            def err(at: str, what: str) -> ProtocolError:
                return ProtocolError(f"{where}: {at}: {what} (personal rate)")

            check_pacer_fits(phase.pacer, rate, f"phases[{i}].pacer", err)
            self._pacers.append(phase.pacer.pacer(personal_rate_per_min))
            if phase.pacer.personal and personal_rate_per_min is None and self.rate_note is None:
                self.rate_note = (f"No personal breathing rate is saved yet, so the pacer uses "
                                  f"{format_number(rate)} breaths per minute.")
                log.warning("protocol %s: no personal resonance rate given; pacing at the fallback %s/min",
                            protocol.name, format_number(rate))
        self._cues: list[tuple[CueSpec, ...]] = []
        note_pending = self.rate_note is not None
        for phase in protocol.phases:
            cues = phase.cues
            if note_pending and phase.pacer is not None and phase.pacer.personal:
                cues = (CueSpec(0.0, self.rate_note or ""), *cues)
                note_pending = False
            self._cues.append(cues)
        # per phase: the pacers in force, each from a phase-relative time on, with the breaths before it
        self._segments: list[list[tuple[float, Pacer, int]]] = [
            [] if pacer is None else [(0.0, pacer, 0)] for pacer in self._pacers]
        self.locked = False
        self._lock = threading.RLock()
        self._schedule: list[tuple[float, Event]] = self._build_schedule()
        self._next = 0
        # Offsets: events from index `from_index` on are shifted by `offset_s` (sum of the pauses before them).
        self._offset_from: list[int] = [0]
        self._offset_s: list[float] = [0.0]
        self._pauses: list[list[float]] = []  # [pause_t_s, resume_t_s (inf while paused)]
        self._pause_boundary: int | None = None  # first schedule index held back by the running pause

    # --- schedule ------------------------------------------------------------------------------------------

    def _build_schedule(self) -> list[tuple[float, Event]]:
        out: list[tuple[float, Event]] = []
        protocol = self.protocol
        for i, (phase, start) in enumerate(zip(protocol.phases, self._phase_starts_s, strict=True)):
            pacer = self._pacers[i]
            rate = pacer.rate_per_min if pacer is not None else None
            common = dict(participant=SESSION, name=phase.name, index=i, duration_s=phase.duration_s,
                          paced=pacer is not None, rate_per_min=rate, feedback=protocol.shows_feedback(phase))
            out.append((start, PhaseMarker(t_s=start, state="start", **common)))  # type: ignore[arg-type]
            inner: list[tuple[float, int, Event]] = []
            if pacer is not None:
                starts = pacer.segment_starts(0.0, phase.duration_s - END_TOLERANCE_S)
                for rel_s, segment, breath_index, duration_s in starts:
                    inner.append((rel_s, 0, PacerMarker(t_s=start + rel_s, participant=SESSION, segment=segment,
                                                        rate_per_min=pacer.rate_per_min, breath_index=breath_index,
                                                        duration_s=duration_s)))
            for cue in self._cues[i]:
                inner.append((cue.at_s, 1, Cue(t_s=start + cue.at_s, participant=SESSION, text=cue.text)))
            inner.sort(key=lambda item: (item[0], item[1]))  # stable: same-time cues keep their order
            out.extend((start + rel_s, ev) for rel_s, _, ev in inner)
            end = self._phase_starts_s[i + 1] if i + 1 < len(self._phase_starts_s) else protocol.total_duration_s
            out.append((end, PhaseMarker(t_s=end, state="end", **common)))  # type: ignore[arg-type]
        return out

    @property
    def schedule(self) -> list[Event]:
        """Every marker of the protocol with ``t_s`` in protocol time (no start offset, no pauses)."""
        return [ev for _, ev in self._schedule]

    def _session_time(self, index: int) -> float:
        k = bisect.bisect_right(self._offset_from, index) - 1
        return self.start_s + self._schedule[index][0] + self._offset_s[k]

    # --- ScheduledSource ------------------------------------------------------------------------------------

    def events_until(self, t_s: float) -> list[Event]:
        """Markers with scheduled session time ``<= t_s`` not returned yet, in time order (``t_s`` = scheduled)."""
        with self._lock:
            return self._events_until(t_s)

    def _events_until(self, t_s: float) -> list[Event]:
        out: list[Event] = []
        n = len(self._schedule)
        while self._next < n:
            i = self._next
            if self._pause_boundary is not None and i >= self._pause_boundary:
                break
            s = self._session_time(i)
            if s > t_s:
                break
            out.append(dataclasses.replace(self._schedule[i][1], t_s=s))
            self._next += 1
        return out

    @property
    def finished(self) -> bool:
        """True once the last phase's end marker has been handed out."""
        return self._next >= len(self._schedule)

    @property
    def paused(self) -> bool:
        return self._pause_boundary is not None

    def pause(self, t_s: float) -> None:
        """Stop the protocol clock at session time ``t_s`` (no-op when already paused or finished)."""
        if self.paused or self.finished:
            return
        boundary = self._next
        while boundary < len(self._schedule) and self._session_time(boundary) <= t_s:
            boundary += 1
        self._pause_boundary = boundary
        self._pauses.append([float(t_s), math.inf])

    def resume(self, t_s: float) -> None:
        """Restart the protocol clock at session time ``t_s``; later markers shift by the pause length."""
        if not self.paused:
            return
        pause = self._pauses[-1]
        pause[1] = max(float(t_s), pause[0])
        self._offset_from.append(self._pause_boundary or 0)
        self._offset_s.append(self._offset_s[-1] + (pause[1] - pause[0]))
        self._pause_boundary = None

    # --- queries for views and the simulator ----------------------------------------------------------------

    @property
    def total_duration_s(self) -> float:
        """Length of the protocol without pauses."""
        return self.protocol.total_duration_s

    def protocol_time_s(self, t_s: float) -> float:
        """Protocol time at session time ``t_s``: seconds since the start minus time spent paused."""
        paused_s = 0.0
        for begin, end in self._pauses:
            if begin < t_s:
                paused_s += min(t_s, end) - begin
        return t_s - self.start_s - paused_s

    def phase_at(self, t_s: float) -> PhaseState | None:
        """The phase running at session time ``t_s``, or None before the start and after the end."""
        p = self.protocol_time_s(t_s)
        if p < 0 or p >= self.total_duration_s:
            return None
        i = bisect.bisect_right(self._phase_starts_s, p) - 1
        phase = self.protocol.phases[i]
        start = self._phase_starts_s[i]
        elapsed = p - start
        with self._lock:
            point = self._pacer_point(i, elapsed)
        return PhaseState(index=i, phase=phase, start_s=start, elapsed_s=elapsed,
                          remaining_s=max(0.0, phase.duration_s - elapsed),
                          rate_per_min=point.rate_per_min if point is not None else None)

    def pacer_at(self, t_s: float) -> PacerPoint | None:
        """The pacer at session time ``t_s``; None outside paced phases (and before the start / after the end)."""
        state = self.phase_at(t_s)
        if state is None:
            return None
        with self._lock:
            return self._pacer_point(state.index, state.elapsed_s)

    def _pacer_point(self, index: int, elapsed_s: float) -> PacerPoint | None:
        segments = self._segments[index]
        if not segments:
            return None
        k = bisect.bisect_right([seg[0] for seg in segments], elapsed_s) - 1
        start, pacer, breaths = segments[max(k, 0)]
        point = pacer.at(elapsed_s - start)
        if start == 0.0:
            return point
        return dataclasses.replace(point, breath_index=point.breath_index + breaths,
                                   cycle_position=point.cycle_position + breaths,
                                   segment_start_s=point.segment_start_s + start)

    def current_cue(self, t_s: float) -> CueSpec | None:
        """The cue on screen at ``t_s``: the latest cue of the current phase that has started, or None."""
        state = self.phase_at(t_s)
        if state is None:
            return None
        current = None
        for cue in self._cues[state.index]:
            if cue.at_s <= state.elapsed_s:
                current = cue
            else:
                break
        return current

    def time_left_s(self, t_s: float) -> float:
        """Protocol seconds left at session time ``t_s`` (does not run down while paused)."""
        return min(self.total_duration_s, max(0.0, self.total_duration_s - self.protocol_time_s(t_s)))

    # --- the adaptive pacer -----------------------------------------------------------------------------------

    def adaptive_at(self, t_s: float) -> tuple[PhaseState, AdaptiveSpec] | None:
        """The running phase and its adaptive settings when the phase at ``t_s`` has an adaptive pacer."""
        state = self.phase_at(t_s)
        if state is None or state.phase.pacer is None or state.phase.pacer.adaptive is None:
            return None
        return state, state.phase.pacer.adaptive

    @property
    def has_adaptive_phase(self) -> bool:
        return any(p.pacer is not None and p.pacer.adaptive is not None for p in self.protocol.phases)

    def note(self, t_s: float, text: str, author: str = ADAPTIVE_AUTHOR) -> None:
        """Record ``text`` as an :class:`Annotation` at session time ``t_s`` (or at the next marker, if later)."""
        with self._lock:
            p = self.protocol_time_s(t_s)
            if self._next:
                p = max(p, self._schedule[self._next - 1][0])
            self._insert([(p, Annotation(t_s=self.start_s + p, participant=SESSION, text=text, author=author))])

    def set_locked(self, t_s: float, locked: bool, author: str = LOCK_AUTHOR) -> None:
        """The therapist's lock: while locked the adaptive pacer keeps the rate. Recorded as an annotation."""
        with self._lock:
            if locked == self.locked:
                return
            self.locked = locked
            point = self.pacer_at(t_s)
            rate = f" at {format_number(round(point.rate_per_min, 2))}/min" if point is not None else ""
            self.note(t_s, f"{LOCKED_TEXT if locked else UNLOCKED_TEXT}{rate}", author)

    def change_rate(self, t_s: float, rate_per_min: float, reason: str) -> float | None:
        """Pace an adaptive phase at ``rate_per_min`` from the next inhale start at least ``CHANGE_LEAD_S`` after
        session time ``t_s``; returns that session time, or None (not adaptive, locked, paused, or no breath left
        in the phase). The change is recorded with ``reason``."""
        with self._lock:
            found = self.adaptive_at(t_s)
            if found is None or self.locked or self.paused or self._offset_from[-1] > self._next:
                return None
            state, spec = found
            rate = min(max(float(rate_per_min), spec.min_rate_per_min), spec.max_rate_per_min)
            segments = self._segments[state.index]
            start, pacer, breaths = segments[-1]
            emitted = self._schedule[self._next - 1][0] - state.start_s if self._next else 0.0
            earliest = max(state.elapsed_s + CHANGE_LEAD_S, emitted + 1e-9)
            k = max(1, math.ceil((earliest - start) / pacer.period_s - 1e-9))
            boundary = start + k * pacer.period_s
            phase = state.phase
            new = dataclasses.replace(pacer, rate_per_min=rate)
            if boundary + new.period_s > phase.duration_s or abs(rate - pacer.rate_per_min) < 1e-9:
                return None
            segments.append((boundary, new, breaths + k))
            self._replace_pacer_markers(state.index, state.start_s, boundary, new, breaths + k)
            old = format_number(round(pacer.rate_per_min, 2))
            text = f"pacer {old} -> {format_number(round(rate, 2))}/min: {reason}"
            self._insert([(state.start_s + boundary,
                           Annotation(t_s=self.start_s + state.start_s + boundary, participant=SESSION, text=text,
                                      author=ADAPTIVE_AUTHOR))])
            return self._session_time_of(state.start_s + boundary)

    def _session_time_of(self, protocol_t_s: float) -> float:
        return self.start_s + protocol_t_s + self._offset_s[-1]

    def _replace_pacer_markers(self, index: int, phase_start_s: float, boundary_s: float, pacer: Pacer,
                               breath_offset: int) -> None:
        """Drop the phase's pacer markers from ``boundary_s`` on (not emitted yet) and schedule ``pacer``'s."""
        cut = phase_start_s + boundary_s - END_TOLERANCE_S
        head, tail = self._schedule[:self._next], self._schedule[self._next:]
        tail = [(p, ev) for p, ev in tail if not (isinstance(ev, PacerMarker) and p >= cut
                                                  and self._phase_index_at(p) == index)]
        self._schedule = head + tail
        duration = self.protocol.phases[index].duration_s
        entries = []
        for rel_s, segment, breath_index, duration_s in pacer.segment_starts(0.0, duration - boundary_s
                                                                             - END_TOLERANCE_S):
            p = phase_start_s + boundary_s + rel_s
            entries.append((p, PacerMarker(t_s=self.start_s + p, participant=SESSION, segment=segment,
                                           rate_per_min=pacer.rate_per_min, breath_index=breath_index + breath_offset,
                                           duration_s=duration_s)))
        self._insert(entries)

    def _phase_index_at(self, protocol_t_s: float) -> int:
        return max(0, bisect.bisect_right(self._phase_starts_s, protocol_t_s) - 1)

    def _insert(self, entries: list[tuple[float, Event]]) -> None:
        """Insert scheduled entries after the emitted ones, in time order (after entries of the same time, but
        before a phase's end marker at that time)."""
        for p, ev in entries:
            times = [q for q, _ in self._schedule]
            i = max(bisect.bisect_right(times, p), self._next)
            while i > self._next and isinstance(self._schedule[i - 1][1], PhaseMarker) and times[i - 1] == p:
                i -= 1
            self._schedule.insert(i, (p, ev))
            if self._pause_boundary is not None and self._pause_boundary >= i:
                self._pause_boundary += 1  # a note made while paused is handed out now
            self._offset_from = [k + 1 if k > i else k for k in self._offset_from]
