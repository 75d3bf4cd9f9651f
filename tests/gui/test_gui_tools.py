"""The CLI's therapist tools in the window (export, report, assessment, participants) and the compare screen's
within-session comparison, dyad trend and same-protocol filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt5.QtWidgets import QWidget

WAIT_MS = 60_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dyads(tmp_path_factory):
    """Two sessions of one simulated dyad (the client follows the therapist) and one person's session."""
    from biotrainer.wiring import SessionPlan, build_session, parse_device_specs

    root = str(tmp_path_factory.mktemp("gui-tools"))
    ids = []
    for seed in (1, 2):
        plan = SessionPlan(devices=parse_device_specs(["therapist=sim", "client=sim:follow=therapist,coupling=0.6"]),
                           protocol="resting-baseline", participants={"therapist": "T01", "client": "C01"}, seed=seed,
                           speed=None, library=root)
        session = build_session(plan)
        session.run()
        ids.append(session.session_id)
    plan = SessionPlan(devices=parse_device_specs(["sim"]), protocol="reset",
                       participants={"self": "P05"}, seed=3, speed=None, library=root)
    session = build_session(plan)
    session.run()
    ids.append(session.session_id)
    return root, ids


class _Window(QWidget):
    """What the tools need of a main window."""

    def __init__(self, library: str) -> None:
        super().__init__()
        self.library = library
        self.notices: list[str] = []
        self.library_screen = None
        self.replay_screen = None

    def show_notice(self, text: str) -> None:
        self.notices.append(text)


@pytest.mark.slow
def test_export_and_report_from_the_window_write_files(qtbot, dyads, tmp_path):
    from biotrainer.gui.tools import Tools

    root, ids = dyads
    win = _Window(root)
    tools = Tools(win)  # type: ignore[arg-type]
    written = tools.export([ids[2]], "csv", str(tmp_path / "out"))
    names = sorted(p.name for p in written)
    assert "beats.csv" in names or any(n.endswith(".csv") for n in names)
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    assert win.notices[-1].startswith("Exported 1 session(s) as csv")
    report = tools.report([ids[2]], str(tmp_path / "report.html"))
    assert report is not None and "<html" in report.read_text(encoding="utf-8").lower()
    assert (tmp_path / "out").stat().st_mode & 0o077 == 0  # owner-only folder


def test_the_assessment_from_the_window_picks_a_rate(qtbot, tmp_path):
    from biotrainer.gui.tools import Tools

    win = _Window(str(tmp_path / "lib"))
    out = Tools(win).assess(str(ROOT / "recordings" / "synthetic-resonance-assessment.sqlite"),  # type: ignore[arg-type]
                            show=False)
    assert out is not None and out["pick_rate_per_min"] == pytest.approx(5.5, abs=0.51)


def test_the_assessment_of_a_session_that_is_none_says_why(qtbot, dyads):
    from biotrainer.gui.tools import Tools

    root, ids = dyads
    win = _Window(root)
    assert Tools(win).assess(ids[2], show=False) is None  # type: ignore[arg-type]
    assert "not a resonance assessment" in win.notices[-1]


def test_participants_dialog_lists_the_pseudonyms(qtbot, dyads):
    from biotrainer.gui.tools import Tools

    root, _ids = dyads
    win = _Window(root)
    qtbot.addWidget(win)
    tools = Tools(win)  # type: ignore[arg-type]
    assert tools.add_participant("P05") and tools.add_participant("T01", role="therapist")
    assert not tools.add_participant("P05")  # already there: said in one line
    dlg = tools.participants()
    rows = {(dlg.table.item(r, 0).text(), dlg.table.item(r, 1).text()) for r in range(dlg.table.rowCount())}
    assert rows == {("P05", "self"), ("T01", "therapist")}


@pytest.mark.slow
def test_compare_one_session_shows_its_phases_against_the_first(qtbot, dyads):
    from biotrainer.gui.compare_screen import CompareScreen

    root, ids = dyads
    screen = CompareScreen(library=root)
    qtbot.addWidget(screen)
    screen.set_checked([ids[2]])
    screen.compare()
    qtbot.waitUntil(lambda: not screen.busy, timeout=WAIT_MS)
    assert screen.result["mode"] == "phase"
    headers = [screen.table.horizontalHeaderItem(i).text() for i in range(screen.table.columnCount())]
    phases = [ph["name"] for ph in screen.result["sessions"][0]["phases"]]
    assert headers[:len(phases)] == phases
    assert headers[len(phases):] == [f"{p}\n− {phases[0]}" for p in phases[1:]]
    assert phases == ["settle", "paced", "door"]
    assert len(screen.hr_plot.listDataItems()) == len(phases)


@pytest.mark.slow
def test_compare_two_sessions_of_a_dyad_shows_the_attunement_trend_and_the_protocol_filter(qtbot, dyads):
    from PyQt5.QtCore import Qt

    from biotrainer.gui.compare_screen import CompareScreen

    root, ids = dyads
    screen = CompareScreen(library=root)
    qtbot.addWidget(screen)
    screen.set_checked(ids[:2])
    screen.compare()
    qtbot.waitUntil(lambda: not screen.busy, timeout=WAIT_MS)
    trend = screen.result["dyad_trend"]
    assert [r["session_id"] for r in trend["sessions"]] == ids[:2]
    assert trend["trend"]["n_sessions"] == 2
    assert screen.dyad_plot.isVisible()
    (curve,) = screen.dyad_plot.listDataItems()
    assert list(curve.getData()[1]) == pytest.approx([r["effect_size"] for r in trend["sessions"]])
    # headers: two short lines, the whole title as tooltip
    assert screen.table.horizontalHeaderItem(0).text().startswith("A\n")
    assert all(r["effect_size"] is not None for r in trend["sessions"])
    # same protocol only: the reset session is hidden while resting-baseline sessions are ticked
    screen.same_protocol_box.setChecked(True)
    hidden = {screen.session_list.item(i).data(Qt.UserRole): screen.session_list.item(i).isHidden()
              for i in range(screen.session_list.count())}
    assert hidden == {ids[0]: False, ids[1]: False, ids[2]: True}
