"""Screenshot of the live screen opening with a remembered strap found in the background (an emulated Polar H10
over bumble, no adapter): ``xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshots/strap_check.py``.
Writes ``docs/screenshots/1366x768-strap-ready.png`` and ``1366x768-strap-missing.png``."""

from __future__ import annotations

import json
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
    from biotrainer.gui.main_window import MainWindow
    from tests.emulated.backend import use_local_radio
    from tests.emulated.harness import emulated_radio

    app = QApplication(["biotrainer"])
    tmp = Path(tempfile.mkdtemp(prefix="biotrainer-shots-"))
    with emulated_radio() as (radio, _b):
        use_local_radio(radio)
        radio.add_strap(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01", battery_percent=80)
        for name, address in (("ready", "F0:00:00:00:00:01"), ("missing", "F0:00:00:00:00:07")):
            settings = QSettings(str(tmp / f"{name}.ini"), QSettings.IniFormat)
            settings.setValue("safety_confirmed", True)
            settings.setValue("straps", json.dumps({"self": [address, f"Polar H10 0A1B2C3D  {address}"]}))
            w = MainWindow(settings, library=str(tmp / "library"), ble_backend="tests.emulated.backend:local_factory")
            _fill_pickers(w)
            w.show()
            end = time.monotonic() + 15
            while "looking" in w.live.strap_state_label.text() and time.monotonic() < end:
                app.processEvents()
                time.sleep(0.01)
            app.processEvents()
            path = OUT / f"1366x768-strap-{name}.png"
            w.grab().save(str(path))
            print(path, w.live.strap_state_label.text())
            w.live.shutdown()
            w.close()


if __name__ == "__main__":
    main()
