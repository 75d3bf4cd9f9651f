"""Headless Qt for the GUI tests: offscreen platform, private settings and library per test."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="biotrainer-xdg-"))

import pytest  # noqa: E402


@pytest.fixture
def library_dir(tmp_path, monkeypatch):
    path = tmp_path / "library"
    monkeypatch.setenv("BIOTRAINER_LIBRARY", str(path))
    return str(path)


@pytest.fixture
def settings(tmp_path):
    from PyQt5.QtCore import QSettings

    s = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    s.setValue("safety_confirmed", True)
    return s


@pytest.fixture
def live(qtbot, library_dir):
    """A shown live screen recording to the test's library; its session is stopped at the end."""
    from biotrainer.gui.live_screen import LiveScreen

    screen = LiveScreen(library=library_dir)
    qtbot.addWidget(screen)
    screen.resize(1400, 900)
    screen.show()
    yield screen
    screen.shutdown()


@pytest.fixture(autouse=True)
def no_bluetooth_strap_check(monkeypatch):
    """The background look for remembered straps never touches a real adapter in tests: it finds nothing.
    Tests of the real look (against emulated straps) call :func:`real_strap_check`."""
    from biotrainer.gui import controller

    real = controller._check_one

    async def nothing_found(address, backend_spec, timeout_s):
        return "missing", controller.NOT_FOUND_WORDS

    monkeypatch.setattr(controller, "_check_one", nothing_found)
    yield lambda: monkeypatch.setattr(controller, "_check_one", real)
