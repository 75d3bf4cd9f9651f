"""The incremental metrics engine: a session-bus listener publishing :class:`~biotrainer.core.events.MetricUpdate`.

Consumes ``Beat``, ``EcgFrame``, ``AccFrame``, ``PacerMarker``, ``PhaseMarker``, ``Contact`` and ``Connection``
events per participant (markers with ``participant="session"`` apply to everyone), keeps bounded buffers (the
analysis window plus 30 s), and on every used beat (from the third: see below) publishes one ``MetricUpdate``
for that participant:

- *per-beat update*: window, quality, artifact and time-domain keys (see :mod:`biotrainer.metrics.window`), and
  ``artifacts.end_beat_flag``: the artifact flag (:data:`~biotrainer.metrics.artifacts.FLAG_ECTOPIC` …, 0 for a
  normal beat) the window gave its newest beat, the one at ``window.end_s`` (views mark artifacts from it);
- *full update*, every ``update_s`` (5 s) of beat time once ``min_window_s`` of beats exist: all keys, plus
  ``feedback.value`` (0..1, see :mod:`biotrainer.metrics.feedback`) and ``update.full`` = 1.

Every update covers the window ``(end − window_s, end]`` where ``end`` is the time of the beat
:data:`~biotrainer.metrics.window.LOOKAHEAD_BEATS` (2) beats before the one that triggered it: the two newest beats
take part only in the artifact classification of the window's last beats (a premature beat is recognised by the pause
after it; without them each ectopic beat made lnRMSSD jump for one beat). This adds two beats (~2 s) of latency.
Early in a session, before ``window_s`` of data exist, the window is ``(start of the first interval, end]``: the data that
exists, at least ``min_window_s`` for metrics, and only gaps inside it count as missing) and carries
``window.start_s``/``window.end_s``: offline analysis of the same window (:func:`biotrainer.metrics.offline.
analyze_window`) gives the same numbers. Uses only the strap's RR when a strap sends it (ECG-derived beats
otherwise).

Wiring::

    engine = MetricsEngine(bus)            # publishes onto the bus it listens to
    bus.subscribe(engine, kinds=MetricsEngine.KINDS)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from biotrainer.core.bus import Bus
from biotrainer.core.events import SESSION, Beat, EcgFrame, Event, MetricUpdate, PacerMarker, PhaseMarker
from biotrainer.metrics import feedback as fb
from biotrainer.metrics.coherence import WINDOW_S as COHERENCE_WINDOW_S
from biotrainer.metrics.streams import PACER_LOOKBACK_S, StreamBuffer, build_window
from biotrainer.metrics.window import LOOKAHEAD_BEATS, Settings, compute_window

log = logging.getLogger(__name__)

DEFAULT_UPDATE_S = 5.0


def _warm_import() -> None:
    """Import neurokit2 (≈3 s) in the background when ECG starts arriving, so the first full update that runs
    R-peak detection does not stall the session loop."""
    try:
        import neurokit2  # noqa: F401
    except Exception:  # noqa: BLE001 - the full update will report the problem itself
        log.debug("background import of neurokit2 failed", exc_info=True)


@dataclass
class _Participant:
    buffer: StreamBuffer
    feedback: fb.FeedbackState
    next_full_s: float | None = None
    first_beat_s: float | None = None
    updates: int = 0
    full_updates: int = 0
    extra: dict = field(default_factory=dict)


class MetricsEngine:
    """Bus listener computing live metrics per participant.

    Parameters
    ----------
    publish : Bus or callable
        Where ``MetricUpdate`` events go (a bus's ``publish`` or any callable).
    settings : Settings, optional
        Window length, minimum, artifact policy.
    update_s : float
        Spacing of full updates (spectral, breathing, RSA, coherence, feedback) in beat time.
    feedback_signal : str
        One of :data:`biotrainer.metrics.feedback.SIGNALS` (the protocol's ``feedback_signal``).
    baseline_phases : iterable of str
        Names of the protocol phases that serve as the feedback baseline.
    per_beat : bool
        Publish the per-beat (time-domain) updates; False publishes only full updates.
    with_ecg : bool
        Run R-peak detection on ECG frames for ECG-derived respiration (costs ~10 ms per full update).
    """

    KINDS = ("beat", "ecg", "acc", "pacer", "phase", "contact", "connection")

    def __init__(self, publish: Bus | Callable[[Event], None], *, settings: Settings | None = None,
                 update_s: float = DEFAULT_UPDATE_S, feedback_signal: str = "rsa_vs_baseline",
                 baseline_phases: Iterable[str] = ("baseline",), per_beat: bool = True,
                 with_ecg: bool = True) -> None:
        self._publish = publish.publish if isinstance(publish, Bus) else publish
        self.settings = settings or Settings()
        self.update_s = float(update_s)
        if feedback_signal not in fb.SIGNALS:
            raise ValueError(f"feedback signal {feedback_signal!r} is not one of {', '.join(fb.SIGNALS)}")
        self.feedback_signal = feedback_signal
        self.baseline_phases = frozenset(baseline_phases)
        self.per_beat = per_beat
        self.with_ecg = with_ecg
        self.keep_s = max(self.settings.window_s, COHERENCE_WINDOW_S) + PACER_LOOKBACK_S
        self._people: dict[str, _Participant] = {}
        self._session_markers: list[Event] = []
        self._warming = False

    @classmethod
    def for_protocol(cls, publish: Bus | Callable[[Event], None], protocol: object | None,
                     **kwargs: object) -> MetricsEngine:
        """The engine for a session running ``protocol``: the one rule live sessions, replays and tests share.

        Feedback follows the protocol's ``feedback_signal`` and its ``baseline = true`` phase is the baseline;
        without a protocol (or without a baseline phase) the engine's defaults apply (``rsa_vs_baseline`` against
        a phase named ``baseline``). ``kwargs`` go to the constructor.
        """
        if protocol is not None:
            kwargs.setdefault("feedback_signal", str(getattr(protocol, "feedback_signal", "none") or "none"))
            baseline = tuple(p.name for p in getattr(protocol, "phases", ()) if getattr(p, "baseline", False))
            if baseline:
                kwargs.setdefault("baseline_phases", baseline)
        return cls(publish, **kwargs)  # type: ignore[arg-type]

    # --- bus listener -----------------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, MetricUpdate):
            return
        if event.participant == SESSION:
            if isinstance(event, (PacerMarker, PhaseMarker)):
                self._session_markers.append(event)
                if len(self._session_markers) > 4096:
                    self._session_markers = self._session_markers[-2048:]
                for p in self._people.values():
                    p.buffer.add(event)
            return
        if self.with_ecg and not self._warming and isinstance(event, EcgFrame):
            self._warming = True
            threading.Thread(target=_warm_import, name="metrics-warm-import", daemon=True).start()
        person = self._person(event.participant)
        used = person.buffer.add(event)
        if used and isinstance(event, Beat):
            self._on_beat(event.participant, person, event)

    def close(self) -> None:
        """Nothing to release; kept for the bus contract."""

    # --- internals --------------------------------------------------------------------------------------------

    def _person(self, participant: str) -> _Participant:
        p = self._people.get(participant)
        if p is None:
            buf = StreamBuffer(self.keep_s)
            for m in self._session_markers:
                buf.add(m)
            p = _Participant(buf, fb.FeedbackState(self.feedback_signal))
            self._people[participant] = p
        return p

    def _on_beat(self, participant: str, person: _Participant, beat: Beat) -> None:
        newest = float(beat.beat_t_s)
        buf = person.buffer
        buf.trim(newest)
        if person.first_beat_s is None:
            person.first_beat_s = newest - beat.rr_ms / 1000.0
        # The window ends LOOKAHEAD_BEATS beats back: the newest beats only help classify the window's last ones
        # (an ectopic beat is recognised by the pause after it), so no update includes an unclassified beat.
        back = buf.beat_t_back(LOOKAHEAD_BEATS)
        if back is None:
            return
        end = float(back)
        # Until a full window of data exists, the window is the data that exists (from the start of the first
        # interval): the not-yet-recorded part is not "missing" (SCIENCE.md: 60-s window, minimum 30 s).
        start = max(end - self.settings.window_s, person.first_beat_s)
        full = False
        if end - person.first_beat_s >= self.settings.min_window_s:
            if person.next_full_s is None or end >= person.next_full_s:
                full = True
                person.next_full_s = end + self.update_s
        if not full and not self.per_beat:
            return
        streams = buf.streams(samples=full)  # per-beat updates use beats only
        data = build_window(streams, start, end, with_ecg=self.with_ecg and full)
        result = compute_window(data, self.settings, spectral=full)
        values, reasons, labels = result.values, result.reasons, result.labels
        values["artifacts.end_beat_flag"] = float(result.flags[-1])  # newest beat's flag, as this window used it
        if full:
            values["update.full"] = 1.0
            phase = streams.phase_at(end)
            in_baseline = phase is not None and phase.name in self.baseline_phases
            fb.observe(person.feedback, values, end, in_baseline, values.get("rsa.last_breath_end_s"))
            value, why = fb.update(person.feedback, values, end)
            if phase is not None and not phase.feedback:
                value, why = None, f"phase {phase.name!r} shows no feedback"
            values["feedback.value"] = value
            if value is None:
                reasons["feedback.value"] = why
            labels["feedback.signal"] = self.feedback_signal
            _, base_src = person.feedback.baseline()
            if base_src:
                labels["feedback.baseline"] = base_src
            person.full_updates += 1
        else:
            values["update.full"] = 0.0
        person.updates += 1
        self._publish(MetricUpdate(t_s=beat.t_s, participant=participant, device=beat.device, values=values,
                                   reasons=reasons, labels=labels))

    # --- introspection ----------------------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        """Updates published per participant: ``{"self": {"updates": n, "full": m}}``."""
        return {k: {"updates": p.updates, "full": p.full_updates} for k, p in self._people.items()}
