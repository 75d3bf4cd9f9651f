"""Replay a recorded session into a :class:`~biotrainer.gui.model.SessionModel`: play/pause, seek and speed.

:class:`ReplayController` holds no widgets. Each run is wired by :func:`biotrainer.wiring.build_replay` (the same
bus, runner and metrics engine as ``biotrainer replay`` and the live session) and runs on a worker thread. Play/pause
and speed are the :class:`~biotrainer.sources.replay.ReplayClock`'s own thread-safe controls. A seek starts a fresh
run a little before the target (:data:`SEEK_CONTEXT_S`) and fast-forwards the clock to the target
(:meth:`ReplayClock.fast_forward_to`), so the plots and the metric windows have their context; there the clock
continues at the chosen speed, or stays paused.

Opening a session shows its whole-session overview, paused at the end, without replaying it: a worker thread reads
the recording once and hands the model its events (beats, heart rate, connection gaps, pacer, phases, cues,
annotations: on screen at once), then the metrics of the analysis layer's whole-session series
(:func:`overview_stages`; :mod:`biotrainer.analysis.series`). The metrics engine at full rate runs only when the
replay is played or sought (``python benchmarks/bench_gui.py --replay``: a 50-min session's overview in 0.3 s, its
metrics in 1.8 s, against 8.2 s for replaying it at max speed).

Opening a session also asks the analysis layer, on a worker thread, for the therapist–client synchrony of a session
with beats of two people (:func:`biotrainer.analysis.synchrony.synchrony_of_events`, the dict ``biotrainer synchrony
--json`` prints; about 0.3 s for a 50-min dyad). :attr:`~ReplayController.attunement_changed` says when it is there
(or :attr:`~ReplayController.synchrony_reason` says in one line why it cannot be computed); a result that arrives
after another session was opened is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from biotrainer.core.events import (
    Annotation,
    Battery,
    Beat,
    Connection,
    Contact,
    Cue,
    HeartRate,
    PacerMarker,
    PhaseMarker,
    SessionState,
)
from biotrainer.gui.model import QUALITY_KEYS, SOURCE_KEYS, SessionModel

MODEL_KINDS: Final = (Annotation, Battery, Beat, Connection, Contact, Cue, HeartRate, PacerMarker, PhaseMarker,
                      SessionState)

log = logging.getLogger(__name__)

SEEK_CONTEXT_S: Final = 90.0  # replayed at full speed before a seek target, so windows have context
SPEEDS: Final[dict[str, float | None]] = {"0.5×": 0.5, "1×": 1.0, "2×": 2.0, "4×": 4.0, "8×": 8.0, "16×": 16.0,
                                          "max": None}


class ReplayController(QObject):
    """Replays one session file into a model; all controls from the GUI thread."""

    problem = pyqtSignal(str)
    attunement_changed = pyqtSignal()  # dyad, synchrony and synchrony_reason are those of the open session
    _attunement_done = pyqtSignal(int, object)  # (generation, (dyad, synchrony, reason)) from the worker
    overview_shown = pyqtSignal()  # the whole-session overview is in the model(s)
    _overview_done = pyqtSignal(int, object)  # (generation, Overview or error text) from the worker

    def __init__(self, model: SessionModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.extra_models: list[SessionModel] = []  # more views of the same replay (a dyad's other person)
        self.path: Path | None = None
        self.duration_s = 0.0
        self.annotations: list[tuple[float, str]] = []
        self.phases: list = []
        self.markers: list = []
        self.title = ""
        self.protocol_name = ""
        self.people: dict[str, str] = {}  # role → pseudonym of the people with beats
        self.disconnects: list[tuple[float, float]] = []  # (start_s, end_s) of every strap disconnect
        self.anchor_unix_s: float | None = None
        self.dyad = False  # beats of two or more people: the screen shows attunement
        self.synchrony: dict[str, Any] | None = None
        self.synchrony_reason = ""
        self.synchrony_pending = False
        self._attunement_generation = 0
        self._attunement_thread: threading.Thread | None = None
        self._attunement_done.connect(self._set_attunement)
        self._overview_generation = 0
        self._overview_thread: threading.Thread | None = None
        self._overview_done.connect(self._set_overview)
        self.overview_pending = False  # the overview is being computed (the screen says "loading")
        self.at_end = False  # the overview is shown: the play head stands at the end, no replay run
        self.metrics_pending = False  # the overview's metric series are still being computed
        self.speed: float | None = 1.0
        self.playing = False
        self.clock = None
        self.runner = None
        self.thread: threading.Thread | None = None

    # --- opening ------------------------------------------------------------------------------------------------

    def open(self, ref: str, library: str | None = None) -> None:
        """Open a session by id (in the library) or path and show its start, paused."""
        from biotrainer.store import Library, SessionReader

        self.close_run()
        p = Path(ref)
        path = p if p.suffix == ".sqlite" and p.exists() else Library(library).resolve(ref)
        with SessionReader(path) as reader:
            self.duration_s = float(reader.duration_s)
            self.annotations = [(a.t_s, a.text or "(mark)") for a in reader.annotations()]
            self.phases = reader.phases()
            self.markers = [e for e in reader.markers(("phase", "cue", "annotation"))]
            self.disconnects = disconnect_spans(reader.events(kinds=["connection"]), self.duration_s)
            meta = reader.meta
            who = ", ".join(v or k for k, v in meta.participants.items())
            self.title = ("SIMULATED · " if meta.synthetic else "") + (
                f"{meta.protocol_name or 'session'} · {who} · {meta.started_at[:16].replace('T', ' ')}")
            self.protocol_name = meta.protocol_name or ""
            roles = reader.participants()
            self.people = {r: meta.participants.get(r) or r for r in roles}
            self.anchor_unix_s = meta.anchor_unix_s
        self.path = path
        self.model.end_s = self.duration_s
        if self.model.participant not in self.people:
            self.model.participant = next(iter(self.people), None)
        self._start_attunement(path)
        self.playing = False
        self.load_all()

    def load_all(self) -> None:
        """The whole session, paused at its end: the overview a researcher zooms into (Play then starts again at
        0:00). Computed on a worker thread from the recorded events with the analysis layer's whole-session series
        (:func:`overview_of`), not by replaying the metrics engine beat by beat; the full-rate pipeline runs when
        the replay is played or sought."""
        if self.path is None:
            return
        self.playing = False
        self.close_run()
        self._overview_generation += 1
        generation, path = self._overview_generation, self.path
        people = [m.participant for m in (self.model, *self.extra_models)]
        self.overview_pending = True

        def work() -> None:
            try:
                for stage in overview_stages(path, people):  # the recording at once, then its metrics
                    self._overview_done.emit(generation, stage)
            except RuntimeError:  # the controller was deleted meanwhile
                pass
            except Exception as exc:  # noqa: BLE001 - say it on the screen, keep the window
                log.exception("overview of %s failed", path)
                self._overview_done.emit(generation, f"The session could not be shown: {exc}")

        self._overview_thread = threading.Thread(target=work, name="biotrainer-overview", daemon=True)
        self._overview_thread.start()

    def _set_overview(self, generation: int, result: Any) -> None:
        if generation != self._overview_generation or self.runner is not None:  # superseded by a seek or open
            return
        if isinstance(result, str):
            self.overview_pending = self.metrics_pending = False
            self.problem.emit(result)
            return
        first = not result.metrics
        for m in (self.model, *self.extra_models):
            (result.apply_events if first else result.apply_metrics)(m, self.duration_s)
        if first:  # the recording is on screen; its metrics follow from the same worker
            self.overview_pending, self.metrics_pending, self.at_end = False, True, True
        else:
            self.metrics_pending = False
        self.overview_shown.emit()

    def wait_overview(self, timeout_s: float = 30.0) -> None:
        """Wait (bounded) for the overview worker (shutdown, tests); its result still arrives as a signal."""
        if self._overview_thread is not None:
            self._overview_thread.join(timeout_s)

    def set_person(self, role: str, other: SessionModel | None = None) -> None:
        """Show ``role``'s physiology (a dyad): the same position, replayed for that person; with ``other`` (a
        model whose participant is the other person) both are replayed, for an overlay."""
        extra = [other] if other is not None else []
        if (role == self.model.participant and extra == self.extra_models) or role not in self.people:
            return
        at = self.position_s()
        self.model.participant = role
        self.extra_models = extra
        if at >= self.duration_s - 1e-6:
            self.load_all()
        else:
            self.seek(at)

    def _start_attunement(self, path: Path) -> None:
        """Compute the attunement of ``path`` on a worker thread; :meth:`_set_attunement` takes the result."""
        self._attunement_generation += 1
        generation = self._attunement_generation
        self.dyad, self.synchrony, self.synchrony_reason = False, None, ""
        self.synchrony_pending = True

        def work() -> None:
            from biotrainer.store import SessionReader

            try:
                with SessionReader(path) as reader:
                    result = attunement_of(reader.id, list(reader.events()), dict(reader.meta.participants))
            except Exception as exc:  # noqa: BLE001 - say it on the screen, keep the replay
                log.exception("synchrony of %s failed", path)
                result = (True, None, f"synchrony could not be computed: {exc}")
            try:
                self._attunement_done.emit(generation, result)
            except RuntimeError:  # the controller was deleted meanwhile
                pass

        self._attunement_thread = threading.Thread(target=work, name="biotrainer-synchrony", daemon=True)
        self._attunement_thread.start()

    def _set_attunement(self, generation: int, result: tuple) -> None:
        if generation != self._attunement_generation:  # another session was opened since
            return
        self.dyad, self.synchrony, self.synchrony_reason = result
        self.synchrony_pending = False
        self.attunement_changed.emit()

    def wait_attunement(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) for the synchrony worker to finish (shutdown, tests)."""
        if self._attunement_thread is not None:
            self._attunement_thread.join(timeout_s)

    # --- running ------------------------------------------------------------------------------------------------

    def _start_run(self, start_s: float, target_s: float) -> None:
        from biotrainer.sources.replay import ReplayClock
        from biotrainer.store import SessionReader
        from biotrainer.wiring import build_replay

        assert self.path is not None
        self._overview_generation += 1  # an overview still being computed is dropped
        self.overview_pending = self.metrics_pending = self.at_end = False
        models = [self.model, *self.extra_models]
        for m in models:
            m.reset()
            for e in self.markers:  # phase, cue and annotations before the start: the state at start_s
                if e.t_s < start_s and isinstance(e, (PhaseMarker, Cue, Annotation)):
                    m.apply(e)
        reader = SessionReader(self.path)
        clock = ReplayClock(self.speed, start_s=start_s, anchor_unix_s=self.anchor_unix_s)
        if not self.playing:
            clock.pause()
        if target_s > start_s:
            clock.fast_forward_to(target_s)
        replay = build_replay(reader, start_s=start_s, clock=clock, listeners=models, metrics=True,
                              stay_open=True)
        self.clock, self.runner = clock, replay.runner
        for m in models:
            m.now_fn = clock.now_s
            m.end_s = self.duration_s

        def run() -> None:
            try:
                replay.run()
            except Exception as exc:  # noqa: BLE001 - keep the window
                log.exception("replay failed")
                self.problem.emit(f"Replay stopped because of an error: {exc}")
            finally:
                reader.close()

        self.thread = threading.Thread(target=run, name="biotrainer-replay", daemon=True)
        self.thread.start()

    def close_run(self) -> None:
        """Stop the running replay (bounded wait)."""
        if self.runner is not None:
            self.runner.stop("replay closed")
            if self.clock is not None:
                self.clock.resume()
        if self.thread is not None:
            self.thread.join(5.0)
        self.runner = self.thread = self.clock = None

    def poll(self) -> None:
        """Called by the screen timer: pause at the end of the recording."""
        if self.clock is None:
            return
        if self.playing and not self.seeking and self.clock.now_s() >= self.duration_s:
            self.set_playing(False)

    def position_s(self) -> float:
        if self.clock is None:
            return self.duration_s if self.at_end else 0.0
        target = self.clock.forwarding_to_s
        if target is not None:
            return target
        return min(self.clock.now_s(), self.duration_s)

    @property
    def seeking(self) -> bool:
        """Loading: a seek fast-forwarding to its target, or the overview being computed."""
        return self.overview_pending or (self.clock is not None and self.clock.forwarding_to_s is not None)

    # --- controls -----------------------------------------------------------------------------------------------

    def seek(self, t_s: float) -> None:
        if self.path is None:
            return
        t_s = max(0.0, min(float(t_s), self.duration_s))
        self.close_run()
        self._start_run(max(0.0, t_s - SEEK_CONTEXT_S), t_s)

    def set_playing(self, playing: bool) -> None:
        if self.path is None:
            return
        if playing and (self.clock is None or self.position_s() >= self.duration_s - 1e-6):
            self.seek(0.0)  # from the overview (or while it loads): the replay starts at 0:00
        self.playing = playing
        if self.clock is not None:
            (self.clock.resume if playing else self.clock.pause)()

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        if self.clock is not None:
            self.clock.set_speed(speed)


#: Recorded kinds the overview applies to the model as they are (the metrics come from the analysis layer).
OVERVIEW_METRIC_KEYS: Final = tuple(dict.fromkeys((*SOURCE_KEYS.values(), *QUALITY_KEYS)))


@dataclass
class Overview:
    """A whole session for the replay's overview: the recorded events (beats, heart rate, connection, pacer,
    phases, cues, annotations) and per person the metrics of the analysis layer's whole-session series."""

    events: list
    metrics: dict[str | None, tuple[np.ndarray, dict[str, np.ndarray]]]  # person -> (window end s, key -> values)
    rsa: dict[str | None, tuple[np.ndarray, np.ndarray]]  # person -> (breath end s, peak-trough ms)
    flagged: dict[str | None, np.ndarray]  # person -> beat times of the beats artifact correction flagged

    def apply_events(self, m: SessionModel, duration_s: float) -> None:
        """Fill ``m`` (GUI thread) with the recording for ``m.participant``: beats, heart rate, connection bands,
        pacer, phases, cues and annotations, as a replay to the end would have."""
        m.reset()
        m.end_s = duration_s
        m.now_fn = None
        for e in self.events:
            m.apply(e)
        m.last_t_s = max(m.last_t_s, duration_s)
        for state in m.metrics.values():
            state.reason = "computing the whole session…"

    def apply_metrics(self, m: SessionModel, _duration_s: float = 0.0) -> None:
        """Add the metric series, the tiles' values at the end, per-breath RSA and artifact marks to ``m``."""
        who = m.participant
        ends, values = self.metrics.get(who, (np.zeros(0), {}))
        for key, source in SOURCE_KEYS.items():
            v = values.get(source)
            if v is None:
                continue
            if key != "rsa_p2t_ms":
                for t, x in zip(ends, v, strict=True):
                    m.series[key].append(float(t), None if not np.isfinite(x) else float(x))
            finite = np.flatnonzero(np.isfinite(v))
            state = m.metrics[key]
            if finite.size:
                state.value, state.t_s, state.reason = float(v[finite[-1]]), float(ends[finite[-1]]), ""
            else:
                state.reason = "not enough clean data"
        for key in QUALITY_KEYS:
            if key in values and len(values[key]):
                x = values[key][-1]
                m.quality[key] = None if not np.isfinite(x) else float(x)
        for t, x in zip(*self.rsa.get(who, (np.zeros(0), np.zeros(0))), strict=True):
            m.rsa_breaths.append(float(t), float(x))
        for t in self.flagged.get(who, np.zeros(0)):
            m._mark_artifact(float(t))  # noqa: SLF001 - the model's own rule for a flagged beat


def overview_stages(path: Path, people: list[str | None]) -> Iterator[Overview]:
    """The :class:`Overview` of the session file ``path`` for ``people`` (worker thread), in two stages: first the
    recorded events alone (one read of the file; metrics empty), then with the metrics: per person
    :func:`biotrainer.metrics.streams.streams_from_events` and the analysis layer's whole-session series
    (:func:`~biotrainer.analysis.series.window_trend`, :func:`~biotrainer.analysis.series.breath_rsa`,
    :func:`~biotrainer.analysis.series.beat_series`), so the numbers are those of analysis and reports."""
    from biotrainer.store import SessionReader

    with SessionReader(path) as reader:
        events = list(reader.events())
    shown = [e for e in events if type(e) in MODEL_KINDS]
    yield Overview(shown, {}, {}, {})
    yield overview_metrics(Overview(shown, {}, {}, {}), events, people)


def overview_of(path: Path, people: list[str | None]) -> Overview:
    """Both stages of :func:`overview_stages` at once: the whole :class:`Overview`."""
    *_first, whole = overview_stages(path, people)
    return whole


def overview_metrics(out: Overview, events: list, people: list[str | None]) -> Overview:
    """Fill ``out``'s metric series for ``people`` from all recorded ``events`` (the analysis layer's series)."""
    from biotrainer.analysis import series
    from biotrainer.metrics.streams import streams_from_events

    for who in dict.fromkeys(people):
        streams = streams_from_events(events, who)
        out.metrics[who] = series.window_trend(streams, OVERVIEW_METRIC_KEYS)
        try:
            out.rsa[who] = series.breath_rsa(streams)
        except Exception:  # noqa: BLE001 - no breaths (too short): no RSA points
            log.debug("no per-breath RSA for %s", who, exc_info=True)
        beats = series.beat_series(streams)
        out.flagged[who] = beats.beat_t_s[beats.flags != 0]
    return out


def disconnect_spans(events, duration_s: float) -> list[tuple[float, float]]:  # noqa: ANN001
    """``(start_s, end_s)`` of each time a strap was lost, from its connection events (a span still open at the
    end ends at ``duration_s``)."""
    spans: list[tuple[float, float]] = []
    lost_at: dict[str, float] = {}
    for e in events:
        key = e.device or e.participant
        if e.state in ("disconnected", "failed", "reconnecting"):
            lost_at.setdefault(key, e.t_s)
        elif e.state == "connected" and key in lost_at:
            spans.append((lost_at.pop(key), e.t_s))
    spans.extend((t, duration_s) for t in lost_at.values())
    return sorted(spans)


def attunement_of(session_id: str, events: list, people: dict[str, str]) -> tuple[bool, dict[str, Any] | None, str]:
    """``(dyad, synchrony, reason)`` of a session's events: whether two or more people have beats, the synchrony
    dict from the analysis layer for a dyad, and the one-line reason when it cannot be computed."""
    from biotrainer.analysis.participants import roles_with_beats
    from biotrainer.analysis.synchrony import SynchronyOptions, synchrony_of_events
    from biotrainer.core.errors import BiotrainerError

    if len(roles_with_beats(events)) < 2:
        return False, None, ""
    try:
        return True, synchrony_of_events(session_id, events, people, SynchronyOptions()), ""
    except BiotrainerError as exc:
        return True, None, str(exc).removeprefix(f"session {session_id}: ")
