"""Screenshots of both people's heart rates on one plot, live and in replay, and of a theme change taking effect at
once: ``xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/overlay.py``. Writes
``1366x768-live-both.png``, ``1366x768-replay-both.png`` and ``1366x768-replay-light-at-once.png``."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from biotrainer.gui.app import _fill_pickers
    from biotrainer.gui.controller import LiveConfig, Wearer
    from biotrainer.gui.main_window import MainWindow

    app = QApplication(["biotrainer"])
    tmp = Path(tempfile.mkdtemp(prefix="biotrainer-shots-"))
    settings = QSettings(str(tmp / "s.ini"), QSettings.IniFormat)
    settings.setValue("safety_confirmed", True)
    w = MainWindow(settings, library=str(tmp / "library"))
    _fill_pickers(w)
    w.show()

    def settle(until, limit_s=120.0) -> None:  # noqa: ANN001
        end = time.monotonic() + limit_s
        while not until() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)

    def shot(name: str) -> None:
        path = OUT / f"1366x768-{name}.png"
        w.grab().save(str(path))
        print(path)

    live = w.live
    cfg = LiveConfig(protocol="reset", library=str(tmp / "library"), record=False, virtual=True, speed=None,
                     wearers=(Wearer("therapist", "sim:hr=62", "T01"), Wearer("client", "sim:hr=82", "C07")))
    live.start(cfg)
    settle(lambda: live.model.last_t_s > 150)
    live.show_person("both")
    live.stop()
    settle(lambda: not live.controller.running)
    live.tick()
    live.plots.redraw()
    settle(lambda: True, 0)
    shot("live-both")

    w.open_session(str(ROOT / "recordings" / "synthetic-two-straps-extended-exhale.sqlite"))
    rs = w.replay_screen
    settle(lambda: not rs.controller.seeking)
    rs.show_person("both")
    settle(lambda: not rs.controller.seeking)
    rs.tick()
    shot("replay-both")
    w.set_theme("light")
    rs.tick()
    settle(lambda: True, 0)
    shot("replay-light-at-once")
    live.shutdown()
    rs.shutdown()


if __name__ == "__main__":
    main()
