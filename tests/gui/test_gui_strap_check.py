"""The remembered straps are looked for in the background on open (emulated straps over bumble, no adapter)."""

from __future__ import annotations

import json

import pytest

from tests.emulated.backend import use_local_radio
from tests.emulated.harness import emulated_radio

BACKEND = "tests.emulated.backend:local_factory"


@pytest.fixture
def radio(no_bluetooth_strap_check):
    no_bluetooth_strap_check()  # the real targeted scan, against the emulated radio
    with emulated_radio() as (r, _backends):
        use_local_radio(r)
        yield r
        use_local_radio(None)


def _window(qtbot, settings, library_dir, straps):
    from biotrainer.gui.main_window import MainWindow

    settings.setValue("straps", json.dumps(straps))
    w = MainWindow(settings, library=library_dir, ble_backend=BACKEND)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    return w


def test_a_remembered_strap_that_is_on_is_found_ready_with_its_battery(qtbot, settings, library_dir, radio):
    radio.add_strap(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01", battery_percent=80)
    w = _window(qtbot, settings, library_dir, {"self": ["F0:00:00:00:00:01", "Polar H10 0A1B2C3D  F0:00:00:00:00:01"]})
    label = w.live.strap_state_label
    assert label.isVisibleTo(w.live)
    assert "looking for it" in label.text()  # at once, while the scan runs on its own thread
    qtbot.waitUntil(lambda: "looking" not in label.text(), timeout=15_000)
    assert label.text() == "● Polar H10 ready · battery 80 %"
    assert w.live.selected_source() == "F0:00:00:00:00:01"  # Start connects to it at once
    assert w.live.connection_label.text() == "found: Start connects at once"
    w.live.shutdown()


def test_a_remembered_strap_that_is_off_says_so_in_plain_words(qtbot, settings, library_dir, radio):
    radio.add_strap(name="Polar H10 99999999", address="F0:00:00:00:00:09", battery_percent=50)  # another strap
    w = _window(qtbot, settings, library_dir, {"self": ["F0:00:00:00:00:01", "Polar H10 0A1B2C3D  F0:00:00:00:00:01"]})
    label = w.live.strap_state_label
    qtbot.waitUntil(lambda: "not found" in label.text(), timeout=15_000)
    assert label.text() == "✕ Polar H10 0A1B2C3D: not found — is it on and moist? Press Scan again"
    w.live.shutdown()


def test_closing_the_window_cancels_the_look_and_drops_its_result(qtbot, settings, library_dir):
    from biotrainer.gui import controller

    seen = []
    w = _window(qtbot, settings, library_dir, {"self": ["F0:00:00:00:00:01", "Polar H10 1  F0:00:00:00:00:01"]})
    w.live.controller.strap_checked.connect(lambda *a: seen.append(a))
    w.live.controller.check_straps(["F0:00:00:00:00:01"], None)
    w.live.shutdown()  # what closing the window does
    qtbot.wait(200)
    assert w.live.controller._check is None
    assert all(s[1] == "missing" for s in seen) and len(seen) <= 1  # the fake answers at once or not at all
    assert controller.NOT_FOUND_WORDS.startswith("not found")


def test_no_look_without_a_remembered_strap(qtbot, settings, library_dir):
    w = _window(qtbot, settings, library_dir, {})
    assert not w.live.strap_state_label.isVisibleTo(w.live)
    assert w.live.controller._check is None
