"""Run a live session for the GUI: the session runner on a worker thread, the model on the bus.

:class:`LiveController` builds the session (sources, protocol runner, recorder, metrics engine over one bus) with
the same assembly the CLI uses (:func:`biotrainer.wiring.build_session`), subscribes the
:class:`~biotrainer.gui.model.SessionModel`, and runs :meth:`SessionRunner.run` on a daemon thread. Pause, stop
and annotations go through the runner's thread-safe controls. The end of the run comes back to the GUI thread as
the ``finished`` signal (Qt queues signals emitted from other threads). BLE sources run their own asyncio loop
thread, so a stalled strap never blocks this thread nor the window.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PyQt5.QtCore import QObject, pyqtSignal

from biotrainer.core.errors import BiotrainerError, UsageError
from biotrainer.gui.model import SessionModel

if TYPE_CHECKING:
    from biotrainer.wiring import LiveSession

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0

#: What a scan problem means and what to do, in plain words (chosen by the error's reason, never its text).
SCAN_WORDS: dict[str, str] = {
    "no_adapter": "This computer has no Bluetooth, or Bluetooth is not running. Plug in a Bluetooth adapter or "
                  "turn Bluetooth on in the system settings, then press Scan again.",
    "no_ble_central": "This computer's Bluetooth cannot talk to heart-rate straps (it needs Bluetooth 4.0 or "
                      "newer). Use a newer Bluetooth adapter, then press Scan again.",
    "adapter_off": "Bluetooth is turned off. Turn it on in the system settings, then press Scan again.",
    "permission": "biotrainer is not allowed to use Bluetooth. Allow it in the system settings (privacy or "
                  "Bluetooth permissions), then press Scan again.",
    "bluetooth_unavailable": "Bluetooth cannot be used right now. Turn Bluetooth off and on again, then press "
                             "Scan again.",
    "timeout": "The scan took too long. Move closer to the strap and press Scan again.",
}
NO_STRAP_FOUND = ("No strap found. Put the strap on, wet its electrodes so it wakes up, keep it within a few "
                  "metres (and not connected to a phone app), then press Scan again.")
SCAN_FAILED = "The scan did not work. Turn Bluetooth off and on again, then press Scan again."
NOT_FOUND_WORDS = "not found — is it on and moist? Press Scan again"
CHECK_TIMEOUT_S = 4.0  # the background look for a remembered strap (the session's own search takes 10 s)


def strap_ready_words(found: Any) -> str:
    """``Polar H10 ready · battery 80 %`` for a found strap (a FoundStrap)."""
    words = f"{found.model if found.model and found.profile_id != 'generic' else (found.name or 'Strap')} ready"
    return words + (f" · battery {found.battery_percent} %" if found.battery_percent is not None else "")


async def _check_one(address: str, backend_spec: Any, timeout_s: float) -> tuple[str, str]:
    """(state, words) of one remembered strap: ready, missing or the scan failed (in plain words)."""
    try:
        from biotrainer.sources.ble.scan import find_strap_async
    except ImportError:
        return "failed", "Bluetooth support is not installed with this copy of biotrainer."
    try:
        _dev, found = await find_strap_async(address, timeout_s, backend_spec, read_battery=True)
    except BiotrainerError as exc:
        if getattr(getattr(exc, "reason", None), "value", "") in ("not_found", "in_use"):
            return "missing", NOT_FOUND_WORDS
        return "failed", scan_words(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. a backend without an adapter
        log.info("strap check failed: %s", exc)
        return "failed", scan_words(exc)
    return "ready", strap_ready_words(found)


def scan_words(exc: BaseException) -> str:
    """The plain-words line for a scan that failed with ``exc``."""
    reason = getattr(getattr(exc, "reason", None), "value", "")
    return SCAN_WORDS.get(reason, SCAN_FAILED)


@dataclass(frozen=True)
class Wearer:
    """One person of a session and the strap they wear: participant role, device spec, pseudonym."""

    role: str
    spec: str
    pseudonym: str


@dataclass
class LiveConfig:
    """What the live screen asks for.

    ``source`` is a device spec: ``sim`` / ``sim:key=value,...`` for the simulated strap, otherwise a BLE address or
    name. ``speed`` speeds the session clock up (demos, tests); ``virtual`` runs it as fast as the CPU allows.
    ``wearers`` (two people, e.g. therapist and client) replaces ``participant``/``role``/``source``: one strap per
    role, each with its pseudonym.
    """

    protocol: str = "reset"
    participant: str = "me"
    role: str = "self"
    source: str = "sim"
    ble_backend: str | None = None
    library: str | None = None
    record: bool = True
    speed: float = 1.0
    virtual: bool = False
    seed: int = 0
    wearers: tuple[Wearer, ...] = field(default_factory=tuple)
    attunement: bool = False  # the therapist's opt-in live synchrony indicator (two people only)
    pacer_locked: bool = False  # the therapist's lock of an adaptive pacer from the start (SessionPlan.pacer_locked)

    @property
    def people(self) -> str:
        """Who the session is with: ``P01``, or ``T01 and C07``."""
        return " and ".join(w.pseudonym for w in self.wearers) if self.wearers else self.participant

    def device_args(self) -> tuple[list[str], dict[str, str]]:
        """The ``--device [ROLE=]SPEC`` values and the role → pseudonym participants of this config."""
        if not self.wearers:
            return [self.source], {self.role: self.participant}
        return [f"{w.role}={w.spec}" for w in self.wearers], {w.role: w.pseudonym for w in self.wearers}


def check_live_config(config: LiveConfig) -> None:
    """Refuse two people on the same real strap (two simulated straps are two simulations). Raises UsageError."""
    real = [w for w in config.wearers if w.spec != "sim" and not w.spec.startswith("sim:")]
    specs = [w.spec for w in real]
    if len(set(specs)) != len(specs):
        raise UsageError("Therapist and client need two different straps: pick another strap for one of them.")


def build_live_session(config: LiveConfig, listeners: list) -> LiveSession:
    """Assemble a session for ``config`` with ``listeners`` on its bus, via :func:`biotrainer.wiring.build_session`
    (the same assembly as ``biotrainer record``)."""
    from biotrainer.wiring import SessionPlan, build_session, parse_device_specs

    check_live_config(config)
    specs, participants = config.device_args()
    plan = SessionPlan(devices=parse_device_specs(specs, default_role=config.role),
                       protocol=config.protocol, participants=participants, seed=config.seed,
                       speed=None if config.virtual else config.speed, library=config.library,
                       record=config.record, ble_backend=config.ble_backend,
                       attunement=config.attunement and len(config.wearers) > 1, pacer_locked=config.pacer_locked)
    return build_session(plan, listeners=listeners)


class LiveController(QObject):
    """Start, steer and stop one live session at a time, off the GUI thread."""

    finished = pyqtSignal(str, str)  # reason, saved session id ("" when not recorded)
    problem = pyqtSignal(str)
    scan_done = pyqtSignal(list, str)  # [(address, label)], error text
    strap_checked = pyqtSignal(str, str, str)  # address, state ("ready" | "missing" | "failed"), words

    def __init__(self, model: SessionModel, parent: QObject | None = None,
                 build: Any = build_live_session) -> None:
        super().__init__(parent)
        self.model = model
        self.extra_models: list[SessionModel] = []  # more views of the same bus (a dyad's other person)
        self.build = build
        self.parts: LiveSession | None = None
        self.thread: threading.Thread | None = None
        self.result: Any = None
        self.last_error = ""
        self._stop_early = False
        self._active = False
        self._check: tuple[Any, Any] | None = None  # (loop, task) of the background strap check
        self._check_lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the session has ended (set before ``finished`` is emitted)."""
        return self._active

    def start(self, config: LiveConfig) -> bool:
        """Build and run a session on a worker thread (building imports the analysis modules, which can take
        seconds, so it never happens on the GUI thread). A failure arrives as ``problem`` then ``finished``."""
        if self.running:
            return False
        self.parts = None
        self.result = None
        self.last_error = ""
        self._stop_early = False
        self._active = True
        self.thread = threading.Thread(target=self._build_and_run, args=(config,), name="biotrainer-session",
                                       daemon=True)
        self.thread.start()
        return True

    def _build_and_run(self, config: LiveConfig) -> None:
        try:
            import biotrainer.metrics.engine  # noqa: F401 - slow first import, before the session clock starts
        except ImportError:
            pass
        try:
            parts = self.build(config, [self.model, *self.extra_models])
        except BiotrainerError as exc:
            self._problem(str(exc))
            self._active = False
            self.finished.emit("failed", "")
            return
        except Exception as exc:  # noqa: BLE001 - never close the window over a failed start
            log.exception("could not start the session")
            self._problem(f"Could not start the session: {exc}")
            self._active = False
            self.finished.emit("failed", "")
            return
        self.parts = parts
        for m in (self.model, *self.extra_models):
            m.now_fn = parts.runner.clock.now_s
        for warning in getattr(parts.writer, "warnings", None) or ():  # e.g. little free disk space
            self._problem(warning)
        if self._stop_early:
            parts.runner.stop("stopped")
        self._run()

    def _run(self) -> None:
        parts = self.parts
        assert parts is not None
        reason = "failed"
        try:
            self.result = parts.runner.run()
            reason = self.result.reason
            if self.result.listener_errors:
                self.problem.emit("Some live calculations failed during the session (the recording is "
                                  f"unaffected): {', '.join(self.result.listener_errors)}")
        except Exception as exc:  # noqa: BLE001 - report, keep the window
            log.exception("session runner failed")
            self.problem.emit(f"The session stopped because of an error: {exc}")
        failure = getattr(parts.writer, "failure", None)
        if failure:  # the recorder gave up (full disk): the session ended early and the file is incomplete
            self._problem(f"The recording stopped: {failure}")
        saved = parts.session_id or ""
        self._active = False
        self.finished.emit(reason, saved)

    # --- steering (GUI thread; the runner's controls are thread-safe) -------------------------------------------

    def stop(self) -> None:
        self._stop_early = self.parts is None  # asked to stop while the session was still being built
        if self.parts is not None:
            self.parts.runner.stop("stopped")

    def toggle_pause(self) -> None:
        if self.parts is None:
            return
        if self.parts.runner.paused or self.model.state == "paused":
            self.parts.runner.resume()
        else:
            self.parts.runner.pause()

    def annotate(self, text: str = "", author: str = "") -> None:
        if self.parts is not None:
            self.parts.runner.annotate(text, author)

    def time_left_s(self) -> float | None:
        """Whole-session time left from the protocol runner, or None."""
        p = self.parts
        if p is None or p.protocol_runner is None or not self.running:
            return None
        try:
            return float(p.protocol_runner.time_left_s(p.runner.clock.now_s()))
        except Exception:  # noqa: BLE001
            return None

    def writer_problem(self) -> str:
        """The recorder's current write error (full disk…), or ``""``."""
        w = self.parts.writer if self.parts is not None else None
        if w is not None and not getattr(w, "healthy", True) and not getattr(w, "failure", None):
            return str(getattr(w, "error", "") or "the recording cannot be written")
        return ""

    def wait(self, timeout_s: float = STOP_WAIT_S) -> bool:
        if self.thread is not None:
            self.thread.join(timeout_s)
        return self.thread is None or not self.thread.is_alive()

    def shutdown(self) -> None:
        """Stop the session and wait (bounded) so the recording is closed cleanly."""
        if self.running:
            self.stop()
            if not self.wait():
                log.warning("session thread did not stop within %.0f s", STOP_WAIT_S)

    # --- scanning -----------------------------------------------------------------------------------------------

    def scan(self, backend_spec: str | None = None, timeout_s: float = 5.0) -> None:
        """Scan for straps on a worker thread; the result arrives as ``scan_done``."""
        threading.Thread(target=self._scan, args=(backend_spec, timeout_s), name="biotrainer-scan",
                         daemon=True).start()

    def _scan(self, backend_spec: str | None, timeout_s: float) -> None:
        try:
            from biotrainer.sources import ble

            found = ble.scan(timeout_s=timeout_s, backend=backend_spec)
            devices = []
            for d in found:
                parts = [d.name or "strap", d.model if d.model and d.model != d.name else "", d.address]
                if d.rssi_dbm is not None:
                    parts.append(f"{d.rssi_dbm} dBm")
                if d.battery_percent is not None:
                    parts.append(f"battery {d.battery_percent} %")
                devices.append((d.address, "  ".join(p for p in parts if p)))
            self.scan_done.emit(devices, "" if devices else NO_STRAP_FOUND)
        except ImportError:
            self.scan_done.emit([], "Bluetooth support is not installed with this copy of biotrainer. Install it "
                                    "with the 'ble' extra, or use the simulated strap.")
        except Exception as exc:  # noqa: BLE001 - e.g. no adapter
            log.info("scan failed: %s", exc)
            self.scan_done.emit([], scan_words(exc))

    # --- the remembered straps, reached in the background on open -------------------------------------------

    def check_straps(self, addresses: list[str], backend_spec: Any = None,
                     timeout_s: float = CHECK_TIMEOUT_S) -> None:
        """Look for each remembered strap by its address (a short targeted scan through
        :func:`biotrainer.sources.ble.scan.find_strap_async`, battery read if not advertised) on a worker thread;
        each result arrives as ``strap_checked``. :meth:`cancel_check` ends it (window closing, Scan, Start)."""
        self.cancel_check()
        threading.Thread(target=self._check_all, args=(list(addresses), backend_spec, timeout_s),
                         name="biotrainer-strap-check", daemon=True).start()

    def cancel_check(self) -> None:
        """Cancel a running strap check; no result of it is emitted afterwards."""
        with self._check_lock:
            check, self._check = self._check, None
        if check is not None:
            loop, task = check
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has just finished
                pass

    def _check_all(self, addresses: list[str], backend_spec: Any, timeout_s: float) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(self._check_each(addresses, backend_spec, timeout_s))
            with self._check_lock:
                self._check = (loop, task)
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                log.debug("strap check cancelled")
        finally:
            with self._check_lock:
                if self._check is not None and self._check[0] is loop:
                    self._check = None
            loop.close()

    def _current(self) -> bool:
        import asyncio

        with self._check_lock:
            return self._check is not None and self._check[1] is asyncio.current_task()

    async def _check_each(self, addresses: list[str], backend_spec: Any, timeout_s: float) -> None:
        for address in addresses:
            state, words = await _check_one(address, backend_spec, timeout_s)
            if not self._current():
                return
            try:
                self.strap_checked.emit(address, state, words)
            except RuntimeError:  # the window was deleted meanwhile
                return

    def _problem(self, text: str) -> None:
        self.last_error = text
        self.problem.emit(text)
