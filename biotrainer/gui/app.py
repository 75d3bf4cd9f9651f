"""Start the desktop app: :func:`run_app` is the entry point for ``biotrainer``, ``biotrainer gui`` and
``biotrainer demo``.

Start-up order keeps the first paint fast: Qt and pyqtgraph are imported, the window is built and shown; only after
the first paint (``QTimer.singleShot(0, …)``) are the heavy analysis modules (neurokit2, scipy.signal) imported, on
a background thread, and the demo session started. ``biotrainer gui --demo --exit-after S --screenshot PATH`` saves
a picture of the main window after S seconds and exits.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

HEAVY_MODULES = ("scipy.signal", "neurokit2", "biotrainer.metrics.engine")
PROCESS_START_PERF_S = time.perf_counter()
DEMO_NOTE = ("Demo with a simulated strap. Not a medical device: HRV metrics are invalid with atrial fibrillation, "
             "a pacemaker or frequent ectopy; stop if dizzy or tingling and keep breaths small "
             "(Help ▸ Safety notes).")
DYAD_DEMO_NOTE = ("Demo with two simulated straps, therapist and client. A research and practice tool, not a "
                  "medical device: record a real client only with their informed consent.")


def warm_up_heavy_modules(done: Callable[[float], None] | None = None) -> threading.Thread:
    """Import :data:`HEAVY_MODULES` on a daemon thread; ``done(seconds)`` is called from that thread."""

    def work() -> None:
        import importlib

        t0 = time.perf_counter()
        for name in HEAVY_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the app works without them; metrics will say why
                log.warning("could not import %s", name, exc_info=True)
        if done is not None:
            done(time.perf_counter() - t0)

    thread = threading.Thread(target=work, name="biotrainer-warmup", daemon=True)
    thread.start()
    return thread


def run_app(demo: bool = False, exit_after_s: float | None = None, screenshot: str | None = None,
            library: str | None = None, ble_backend: str | None = None, *, protocol: str = "reset",
            device: str | list[str] = "sim", speed: float = 1.0, participants: list[str] | None = None, screen: str | None = None, settings_path: str | None = None,
            on_first_paint: Callable[[float], None] | None = None, argv: list[str] | None = None) -> int:
    """Open the app and run its event loop until the window closes (or ``exit_after_s`` passes).

    Parameters
    ----------
    demo : bool
        Start ``protocol`` with the simulated strap right after the window appears (no recording dialog; the
        safety notes are shown as a banner instead of a modal dialog).
    exit_after_s : float or None
        Close the app after this many seconds (with ``screenshot``: save it first).
    screenshot : str or None
        PNG path for a picture of the main window (or of ``screen``) taken just before exiting.
    library : str or None
        Session library folder (default: ``$BIOTRAINER_LIBRARY`` or the per-user folder).
    ble_backend : str or None
        ``MODULE:FACTORY`` of a bleak backend to use instead of the system's (tests, emulated straps).
    protocol, device, speed : str, str or list of str, float
        What the demo runs: protocol name, device spec (or ``ROLE=SPEC`` specs, one per person, e.g.
        ``therapist=sim`` and ``client=sim:follow=therapist``), session clock speed.
    participants : list of str or None
        Pseudonyms of the demo's people (``ROLE=PSEUDONYM`` with several devices).
    screen : str or None
        Tab to show: ``live``, ``client``, ``library``, ``replay``, ``compare``.
    settings_path : str or None
        An INI file for settings instead of the user's (tests, screenshots).
    on_first_paint : callable or None
        Called with seconds from module import to the first paint of the window.

    Returns
    -------
    int
        Process exit code.
    """
    from PyQt5.QtCore import QSettings, QTimer
    from PyQt5.QtWidgets import QApplication

    from biotrainer.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or ["biotrainer"])
    app.setApplicationName("biotrainer")
    app.setOrganizationName("biotrainer")
    if settings_path is None and os.environ.get("BIOTRAINER_GUI_SETTINGS"):
        settings_path = os.environ["BIOTRAINER_GUI_SETTINGS"]
    settings = (QSettings(settings_path, QSettings.IniFormat) if settings_path
                else QSettings("biotrainer", "biotrainer"))
    window = MainWindow(settings, library=library, ble_backend=ble_backend)
    _fill_pickers(window)
    state: dict[str, object] = {}

    def after_first_paint(perf_s: float) -> None:
        first_paint_s = perf_s - PROCESS_START_PERF_S
        state["first_paint_s"] = first_paint_s
        log.info("first paint %.0f ms after start-up", first_paint_s * 1000)
        if on_first_paint is not None:
            on_first_paint(first_paint_s)
        QTimer.singleShot(0, lambda: warm_up_heavy_modules(
            lambda s: log.info("analysis modules loaded in %.1f s", s)))
        if demo:
            QTimer.singleShot(50, start_demo)

    def start_demo() -> None:
        live = window.live
        live.speed = speed
        live.before_start = None
        from biotrainer.core.errors import BiotrainerError

        try:
            config = demo_config(protocol, device, participants, library=library, ble_backend=ble_backend,
                                 speed=speed)
        except BiotrainerError as exc:
            live.banner.setText(str(exc))
            live.banner.show()
            return
        if not live.start(config):
            return
        live.banner.setText(DYAD_DEMO_NOTE if config.wearers else DEMO_NOTE)
        live.banner.show()

    window.first_painted.connect(after_first_paint)
    window.show()
    if screen:
        QTimer.singleShot(0, lambda: _show_screen(window, screen))

    if exit_after_s is not None:
        def finish() -> None:
            if screenshot:
                save_screenshot(window, screenshot, screen)
            window.close()
            app.quit()

        QTimer.singleShot(int(exit_after_s * 1000), finish)
    code = app.exec_()
    window.live.shutdown()
    return int(code)


def demo_config(protocol: str, device: str | list[str], participants: list[str] | None = None,
                **options: object):  # noqa: ANN201 - LiveConfig (Qt-free module, imported lazily)
    """The demo's :class:`~biotrainer.gui.controller.LiveConfig`: one person (``demo``) on one device, or one
    person per ``ROLE=SPEC`` device with the pseudonyms of ``participants``."""
    from biotrainer.gui.controller import LiveConfig, Wearer
    from biotrainer.wiring import parse_device_specs, parse_participants

    specs = [device] if isinstance(device, str) else list(device)
    devices = parse_device_specs(specs)
    if len(devices) == 1 and not participants:
        return LiveConfig(protocol=protocol, source=devices[0].spec, participant="demo", role=devices[0].role,
                          record=True, **options)
    names = parse_participants(participants, [d.role for d in devices])
    wearers = tuple(Wearer(d.role, d.spec, names.get(d.role, d.role)) for d in devices)
    return LiveConfig(protocol=protocol, wearers=wearers, record=True, **options)


def _fill_pickers(window) -> None:  # noqa: ANN001
    try:
        from biotrainer.protocols import list_protocols

        protocols = [(p.name, f"{p.title or p.name} ({round(p.duration_s / 60)} min)") for p in list_protocols()]
    except Exception as exc:  # noqa: BLE001 - the app opens without protocols and says why
        log.warning("no protocols: %s", exc)
        protocols = []
    window.live.set_protocols(protocols, str(window.settings.value("protocol", "reset")))
    try:
        from biotrainer.store import Library

        names = [p.pseudonym for p in Library(window.library).participants.list()]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        names = []
    if names:
        window.live.set_participants(names)


def _show_screen(window, screen: str) -> None:  # noqa: ANN001
    """Show ``screen``; replay opens the newest (longest) session and plays it at 4×, compare ticks the newest
    sessions of one protocol, so ``--screen X --exit-after S --screenshot P`` shows each screen in use."""
    if screen == "client":
        window.live.toggle_client_view()
        return
    titles = {"live": "Live session", "library": "Library", "replay": "Replay", "compare": "Compare"}
    widget = window.show_screen(titles.get(screen, "Live session"))
    if screen not in ("replay", "compare"):
        return
    try:
        from biotrainer.store import Library

        sessions = [s for s in Library(window.library).list_sessions() if not s.error]
    except Exception:  # noqa: BLE001
        return
    if not sessions:
        return
    if screen == "replay":
        newest = max(sessions, key=lambda s: (s.duration_s, s.started_at))
        if widget.open_session(newest.id):
            widget.speed_box.setCurrentText("4×")
            widget.seek(newest.duration_s * 0.45)
            widget.toggle_play()
    else:
        by_protocol: dict[str, list] = {}
        for s in sessions:
            by_protocol.setdefault(s.protocol, []).append(s)
        group = max(by_protocol.values(), key=len)
        widget.set_checked([s.id for s in sorted(group, key=lambda s: s.started_at)[-3:]])
        widget.compare()


def save_screenshot(window, path: str, screen: str | None = None) -> Path:  # noqa: ANN001
    """Save the main window (or the client view for ``screen="client"``) as PNG; returns the path."""
    target = window
    if screen == "client" and window.live.client_window is not None:
        target = window.live.client_window
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pixmap = target.grab()
    if not pixmap.save(str(out), "PNG"):
        log.error("could not save screenshot to %s", out)
    else:
        log.info("screenshot saved to %s", out)
    return out
