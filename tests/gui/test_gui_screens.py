"""Replay, library and compare screens on real recordings; the app entry point and its command line."""

from __future__ import annotations

import pytest

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A library with two recorded reset sessions (simulated strap, virtual clock) and one annotation."""
    from biotrainer.store import Library
    from biotrainer.wiring import SessionPlan, build_session, parse_device_specs

    root = str(tmp_path_factory.mktemp("gui-library"))
    ids = []
    for seed, spec in ((1, "sim"), (2, "sim:hr=72,rsa=3,gain=4")):
        plan = SessionPlan(devices=parse_device_specs([spec]), protocol="reset", participants={"self": "P07"},
                           seed=seed, speed=None, library=root, title=f"day {seed}")
        session = build_session(plan)
        session.run()
        ids.append(session.session_id)
    Library(root).annotate(ids[0], 100.0, "shoulders dropped")
    return root, ids


@pytest.mark.slow
def test_replay_plays_every_recorded_beat_and_shows_the_annotation(qtbot, recorded):
    from biotrainer.gui.replay_screen import ReplayScreen
    from biotrainer.store import Library

    root, ids = recorded
    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    assert screen.open_session(ids[0])
    with Library(root).open(ids[0]) as reader:
        n_beats = len(reader.beats())
        duration_s = reader.duration_s
    assert screen.timeline.annotations == [(100.0, "shoulders dropped")]
    assert [p.name for p in screen.timeline.phases] == ["settle", "paced", "door"]
    screen.speed_box.setCurrentText("max")
    screen.toggle_play()
    qtbot.waitUntil(lambda: not screen.controller.playing, timeout=WAIT_MS)  # pauses itself at the end
    qtbot.waitUntil(lambda: screen.model.counts.beats == n_beats, timeout=WAIT_MS)
    assert screen.controller.position_s() == pytest.approx(duration_s)
    assert screen.model.annotations == [(100.0, "shoulders dropped")]
    assert screen.model.counts.metric_updates > 50  # the metrics engine ran on the replayed beats
    screen.shutdown()


def test_replay_seek_lands_on_the_target_with_context_before_it(qtbot, recorded):
    from biotrainer.gui.replay_screen import SEEK_CONTEXT_S, ReplayScreen

    root, ids = recorded
    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    assert screen.open_session(ids[0])
    target = 150.0
    screen.seek(target)
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    screen.tick()
    qtbot.wait(200)
    screen.tick()
    beat_t = screen.model.rr.t_s
    assert not screen.controller.playing
    assert screen.controller.position_s() == pytest.approx(target, abs=0.06)
    assert beat_t.max() <= target + 0.06  # nothing after the target while paused
    assert beat_t.min() >= target - SEEK_CONTEXT_S - 1.5  # context starts before the target ...
    assert beat_t.min() <= target - SEEK_CONTEXT_S + 1.5
    # seeking back resets the screen: no beat from the later position survives
    screen.seek(30.0)
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    qtbot.wait(200)
    screen.tick()
    assert screen.model.rr.t_s.max() <= 30.06
    assert screen.model.phase.name == "settle"
    screen.shutdown()


def test_library_lists_searches_renames_and_deletes_with_confirmation(qtbot, recorded, tmp_path, monkeypatch):
    import shutil

    from PyQt5.QtWidgets import QInputDialog, QMessageBox

    from biotrainer.gui.library_screen import LibraryScreen

    root = str(tmp_path / "lib")
    shutil.copytree(recorded[0], root)
    screen = LibraryScreen(library=root)
    qtbot.addWidget(screen)
    assert screen.table.rowCount() == 2
    assert {screen.table.item(r, 2).text() for r in range(2)} == {"reset"}
    # key metrics arrive from a worker thread: breathing rate of the paced phase follows the 6/min pacer
    qtbot.waitUntil(lambda: len(screen.metrics_cache) == 2, timeout=WAIT_MS)
    col = [screen.table.horizontalHeaderItem(c).text() for c in range(screen.table.columnCount())]
    rates = [float(screen.table.item(r, col.index("Breathing /min")).text()) for r in range(2)]
    assert all(abs(rate - 6.0) < 0.5 for rate in rates)
    screen.search.setText("day 2")
    assert screen.table.rowCount() == 1
    sid = screen.selected_id()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("calm Tuesday", True))
    screen.rename_selected()
    screen.search.setText("calm")
    assert screen.table.rowCount() == 1 and screen.table.item(0, screen.table.columnCount() - 1).text() == \
        "calm Tuesday"
    opened = []
    screen.open_requested.connect(opened.append)
    screen.open_selected()
    assert opened == [sid]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.No)
    assert not screen.delete_selected()
    assert screen.table.rowCount() == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    assert screen.delete_selected()
    screen.search.clear()
    assert screen.table.rowCount() == 1 and screen.selected_id() != sid


def test_compare_shows_both_sessions_and_their_differences(qtbot, recorded):
    from biotrainer.gui.compare_screen import CompareScreen

    root, ids = recorded
    screen = CompareScreen(library=root)
    qtbot.addWidget(screen)
    screen.set_checked(ids)
    screen.compare()
    qtbot.waitUntil(lambda: bool(screen.result) and not screen.busy, timeout=WAIT_MS)
    assert [screen.phase_box.itemText(i) for i in range(screen.phase_box.count())] == ["settle", "paced", "door"]
    assert screen.phase_box.currentText() == "paced"
    assert screen.table.columnCount() == 3  # A, B, B − A
    rows = [screen.table.verticalHeaderItem(r).text() for r in range(screen.table.rowCount())]
    assert rows[0].startswith("Breathing rate")  # always beside the vagal indices
    hr = rows.index("Heart rate (bpm)")
    a = float(screen.table.item(hr, 0).text().split(" ±")[0])
    b = float(screen.table.item(hr, 1).text().split(" ±")[0])
    diff = float(screen.table.item(hr, 2).text().split()[0])
    assert diff == pytest.approx(b - a, abs=0.11)
    assert b > a  # session B was simulated with a higher heart rate
    assert len(screen.hr_plot.listDataItems()) == 2


@pytest.mark.slow
def test_gui_command_saves_a_screenshot_and_exits(tmp_path):
    """``biotrainer gui --demo --exit-after S --screenshot PATH`` in its own process (its own event loop)."""
    import os
    import subprocess
    import sys

    from PyQt5.QtGui import QImage

    shot = tmp_path / "shots" / "live.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIOTRAINER_GUI_SETTINGS=str(tmp_path / "s.ini"))
    args = ["gui", "--demo", "--speed", "30", "--exit-after", "3", "--screenshot", str(shot),
            "--library", str(tmp_path / "lib")]
    code = f"import sys; from biotrainer.cli import main; sys.exit(main({args!r}))"
    proc = subprocess.run([sys.executable, "-c", code],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    img = QImage(str(shot))
    # the offscreen platform's screen is 800×600: the window opens fitting it (it used to open 1602 px wide)
    assert not img.isNull() and (img.width(), img.height()) == (800, 600)
    from biotrainer.store import Library

    (summary,) = Library(str(tmp_path / "lib")).list_sessions()  # the demo recorded, and closed cleanly
    assert summary.protocol == "reset" and summary.n_beats > 10 and summary.state != "recording"


def test_gui_command_line_checks_its_options():
    from biotrainer.cli import main

    assert main(["gui", "--screenshot", "x.png"]) == 2  # needs --exit-after
    assert main(["gui", "--exit-after", "-1"]) == 2
