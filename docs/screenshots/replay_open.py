"""Screenshots of opening a session in the replay screen: the overview as soon as it is drawn (the recording:
heart rate, RR, pacer, phases) and once its metrics are in: ``xvfb-run -a -s "-screen 0 1366x768x24" python
docs/screenshots/replay_open.py``. Writes ``1366x768-replay-open-overview.png`` and ``…-open-metrics.png``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent


def main() -> None:
    from PyQt5.QtWidgets import QApplication

    app = QApplication(["biotrainer"])
    from biotrainer.gui.replay_screen import ReplayScreen
    from biotrainer.gui.theme import apply_theme

    palette = apply_theme(app, "dark", 1.0)
    s = ReplayScreen(palette)
    s.summary_on_end = False
    s.resize(1366, 740)
    s.show()
    s.open_session(str(ROOT / "recordings" / "synthetic-resonance-assessment.sqlite"))
    c = s.controller
    for name, busy in (("overview", lambda: c.seeking), ("metrics", lambda: c.metrics_pending)):
        while busy():
            app.processEvents()
            time.sleep(0.002)
        s.tick()
        app.processEvents()
        path = OUT / f"1366x768-replay-open-{name}.png"
        s.grab().save(str(path))
        print(path, file=sys.stderr)
    s.shutdown()


if __name__ == "__main__":
    main()
