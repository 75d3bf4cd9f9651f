"""Screenshots of every screen at one screen size: ``xvfb-run -a -s "-screen 0 WxHx24" python
docs/screenshots/make_screenshots.py NAME`` (``QT_SCALE_FACTOR`` for high-DPI). The window opens as it would for a
user (its own default size on that screen); the example sessions of ``recordings/`` (synthetic) are the library.
Writes ``docs/screenshots/NAME-SCREEN.png``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent


def main() -> None:
    name = sys.argv[1]
    only = set(sys.argv[2:])
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from biotrainer.store import Library, SessionReader

    tmp = Path(tempfile.mkdtemp(prefix="biotrainer-shots-"))
    lib = Library(tmp / "library")
    lib.root.mkdir(parents=True, exist_ok=True)
    (lib.root / "sessions").mkdir(exist_ok=True)
    for f in sorted((ROOT / "recordings").glob("*.sqlite")):
        with SessionReader(f) as r:
            sid = r.id
        shutil.copy(f, lib.session_path(sid))
    app = QApplication(["biotrainer"])
    settings = QSettings(str(tmp / "settings.ini"), QSettings.IniFormat)
    from biotrainer.gui.app import _fill_pickers, _show_screen
    from biotrainer.gui.main_window import MainWindow

    w = MainWindow(settings, library=str(lib.root))
    _fill_pickers(w)
    w.show()

    def settle(ms: int) -> None:
        import time

        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(screen: str, target=None) -> None:  # noqa: ANN001
        settle(300)
        path = OUT / f"{name}-{screen}.png"
        (target or w).grab().save(str(path))
        print(path, (target or w).width(), (target or w).height())

    settle(300)
    if not only or "first" in only:
        shot("first-run")
    if not only or "live" in only:
        from biotrainer.gui.app import demo_config

        w.live.before_start = None
        w.live.speed = 8.0
        w.live.start(demo_config("reset", "sim", library=str(lib.root), speed=8.0))
        settle(9000)
        shot("live")
        if not only or "client" in only:
            w.live.toggle_client_view()
            settle(500)
            shot("client", w.live.client_window)
            w.live.client_window.close()
        w.live.stop()
        settle(1500)
    if not only or "overview" in only:
        from biotrainer.store import Library as _L

        newest = max((x for x in _L(lib.root).list_sessions() if not x.error), key=lambda x: x.duration_s)
        replay = w.show_screen("Replay")
        replay.open_session(newest.id)
        settle(5000)
        shot("replay-overview")
        replay.zoom(0.25)
        settle(500)
        shot("replay-zoomed")
        faults = next(x for x in _L(lib.root).list_sessions() if x.protocol == "resting-baseline")
        replay.open_session(faults.id)
        settle(4000)
        replay.plots.plots["hr"].setXRange(150, 260, padding=0)
        replay.plots.redraw()
        shot("replay-disconnect")
    for screen in ("library", "replay", "compare"):
        if only and screen not in only:
            continue
        _show_screen(w, screen)
        settle(6000)
        shot(screen)
    w.close()
    app.quit()


if __name__ == "__main__":
    main()
