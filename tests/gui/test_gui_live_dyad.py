"""Two people on the live screen: therapist and client, a strap and a pseudonym each, the quiet panel."""

from __future__ import annotations

import dataclasses

import pytest

from biotrainer.core.errors import UsageError
from biotrainer.gui.controller import LiveConfig, Wearer, check_live_config

WAIT_MS = 120_000
PROTOCOLS = [("reset", "Reset (3 min)"), ("therapy-session", "Therapy session (50 min)")]
STRAP = ("AA:BB:CC:DD:EE:01", "Polar H10 AA:BB:CC:DD:EE:01")


@pytest.fixture
def live(live):
    """The live screen (conftest) with a protocol for anyone and one for therapist and client."""
    live.set_protocols(PROTOCOLS, "reset")
    return live


def _choose(live, protocol: str) -> None:
    live.protocol_box.setCurrentIndex(live.protocol_box.findData(protocol))


def test_one_person_is_the_default_and_configures_as_before(live):
    assert not live.two_people and live.participant_box.isVisible()
    assert not live.therapist_box.isVisible() and not live.client_device_box.isVisible()
    cfg = live.config()
    assert cfg.wearers == () and cfg.device_args() == (["sim"], {"self": cfg.participant})
    assert live.tiles.isVisible() and not live.quiet_panel.isVisible()


def test_a_protocol_for_two_people_switches_to_therapist_and_client(live):
    from biotrainer.gui.live_screen import SIMULATED_CLIENT

    _choose(live, "therapy-session")
    assert live.two_people and live.people_box.currentText() == "Therapist and client"
    assert live.therapist_box.isVisible() and live.client_box.isVisible() and not live.participant_box.isVisible()
    assert live.client_device_box.isVisible() and live.strap_title.text() == "Therapist's strap"
    assert live.quiet_panel.isVisible() and not live.tiles.isVisible() and not live.plots.isVisible()
    assert not live.client_button.isVisible() and not live.tones_group.isVisible()
    live.therapist_box.setCurrentText("T01")
    live.client_box.setCurrentText("C07")
    cfg = live.config()
    assert cfg.wearers == (Wearer("therapist", "sim", "T01"), Wearer("client", SIMULATED_CLIENT, "C07"))
    assert cfg.device_args() == (["therapist=sim", f"client={SIMULATED_CLIENT}"],
                                 {"therapist": "T01", "client": "C07"})
    assert cfg.people == "T01 and C07"
    _choose(live, "reset")  # back to a protocol for anyone: the people stay, the screen is no longer quiet
    assert live.two_people and live.tiles.isVisible() and not live.quiet_panel.isVisible()


def test_the_same_real_strap_twice_is_refused_with_one_line(live):
    live._on_scan_done([STRAP], "")
    live.people_box.setCurrentIndex(1)
    live.client_device_box.setCurrentIndex(live.client_device_box.findData(STRAP[0]))
    assert [w.spec for w in live.config().wearers] == [STRAP[0], STRAP[0]]
    assert not live.start()
    assert not live.controller.running
    assert live.banner.isVisible() and "two different straps" in live.banner.text()
    assert "\n" not in live.banner.text()
    with pytest.raises(UsageError):
        check_live_config(live.config())
    check_live_config(LiveConfig(wearers=(Wearer("therapist", "sim", "T"), Wearer("client", "sim", "C"))))


def test_the_demo_config_takes_one_device_per_role():
    from biotrainer.gui.app import demo_config

    one = demo_config("reset", ["sim"])
    assert one.wearers == () and one.participant == "demo" and one.source == "sim"
    two = demo_config("therapy-session", ["therapist=sim", "client=sim:follow=therapist"], ["client=C07"])
    assert two.wearers == (Wearer("therapist", "sim", "therapist"),
                           Wearer("client", "sim:follow=therapist", "C07"))


@pytest.mark.slow
def test_a_dyad_records_both_roles_with_their_pseudonyms_behind_a_quiet_screen(live, qtbot):
    from biotrainer.store import Library

    _choose(live, "therapy-session")
    live.therapist_box.setCurrentText("T01")
    live.client_box.setCurrentText("C07")
    finished = []
    live.controller.finished.connect(lambda reason, saved: finished.append((reason, saved)))
    assert live.start(dataclasses.replace(live.config(), virtual=True, seed=5))
    qtbot.waitUntil(lambda: live.model.last_t_s > 240, timeout=WAIT_MS)  # four simulated minutes
    live.tick()
    assert live.quiet_panel.isVisible() and not live.tiles.isVisible() and not live.plots.isVisible()
    assert not live.pacer.isVisible()
    panel = live.quiet_panel
    assert panel.phase_label.text() in ("Session", "Arrival")
    assert panel.time_label.text().endswith(" left of the session")
    assert all("strap receiving" in label.text() for label in panel.strap_labels.values())
    assert "biotrainer\u00a0synchrony" in panel.note_label.text()
    lines = live.dyad_status_label.text().replace("\u00a0", " ").splitlines()
    assert [line.split(":")[0] for line in lines] == ["Therapist", "Client"]
    assert all("connected" in line and "contact good" in line for line in lines)
    live.toggle_client_view()
    assert live.client_window is None  # not offered for this protocol
    live.stop()
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS)
    reason, saved = finished[0]
    assert reason == "stopped" and saved
    assert saved in panel.note_label.text()
    lib = Library(live.library)
    (summary,) = lib.list_sessions()
    assert summary.id == saved and summary.protocol == "therapy-session"
    with lib.open(saved) as reader:
        assert reader.meta.participants == {"therapist": "T01", "client": "C07"}
        assert set(reader.participants()) == {"client", "therapist"}
        n_therapist, n_client = len(reader.beats("therapist")), len(reader.beats("client"))
    assert n_therapist > 150 and n_client > 150


def test_the_therapist_pseudonym_is_remembered(qtbot, settings, library_dir):
    from biotrainer.gui.main_window import MainWindow

    window = MainWindow(settings, library=library_dir)
    qtbot.addWidget(window)
    window.live.therapist_box.setCurrentText("T01")
    window.close()
    again = MainWindow(settings, library=library_dir)
    qtbot.addWidget(again)
    assert again.live.therapist_box.currentText() == "T01"
    again.close()


def test_the_attunement_indicator_is_opt_in_and_two_people_only(live):
    assert not live.attunement_box.isVisibleTo(live)  # one person: no such choice
    _choose(live, "therapy-session")
    assert live.attunement_box.isVisibleTo(live) and not live.attunement_box.isChecked()  # off by default
    assert not live.config().attunement
    live.attunement_box.setChecked(True)
    assert live.config().attunement


@pytest.mark.slow
def test_the_attunement_indicator_lights_only_when_switched_on(live, qtbot):
    _choose(live, "therapy-session")
    live.attunement_box.setChecked(True)
    cfg = dataclasses.replace(live.config(), virtual=True, seed=5)
    cfg = dataclasses.replace(cfg, wearers=(cfg.wearers[0], dataclasses.replace(
        cfg.wearers[1], spec="sim:follow=therapist,coupling=0.8")))
    assert live.start(cfg)
    qtbot.waitUntil(lambda: live.model.attunement is not None and live.model.last_t_s > 400, timeout=WAIT_MS)
    live.tick()
    label = live.quiet_panel.attunement_label
    assert label.isVisibleTo(live)
    above = live.model.attunement["synchrony.above_chance"] == 1.0
    assert ("in synchrony" in label.text()) == above and ("#5cc8b8" in label.text()) == above  # colour only then
    assert set(live.model.attunement) >= {"synchrony.above_chance", "synchrony.mean_z"}
    live.stop()
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)
    live.attunement_box.setChecked(False)
    assert live.start(dataclasses.replace(live.config(), virtual=True, seed=6))
    qtbot.waitUntil(lambda: live.model.last_t_s > 200, timeout=WAIT_MS)
    live.tick()
    assert not live.quiet_panel.attunement_label.isVisibleTo(live) and live.model.attunement is None
    live.stop()
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)


@pytest.mark.slow
def test_two_people_on_a_practice_protocol_switch_between_client_and_therapist(qtbot, live):
    import numpy as np

    cfg = LiveConfig(protocol="reset", library=live.library, record=False, virtual=True,
                     wearers=(Wearer("therapist", "sim:hr=58", "T01"), Wearer("client", "sim:hr=84", "C07")))
    assert live.start(cfg)
    assert live.person_row.isVisibleTo(live)
    assert [live.person_box.itemData(i) for i in range(live.person_box.count())] == ["client", "therapist", "both"]
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)
    live.tick()
    assert live.plots.model is live.model  # the client first
    client_hr = float(np.nanmean(live.plots.model.hr.values()))
    live.show_person("therapist")
    assert live.plots.model is live.therapist_model and live.tiles.model is live.therapist_model
    therapist_hr = float(np.nanmean(live.plots.model.hr.values()))
    assert client_hr == pytest.approx(84, abs=6) and therapist_hr == pytest.approx(58, abs=6)
    assert live.therapist_model.phase.name == live.model.phase.name  # both saw the whole protocol
    # both on one plot: the client's heart rate solid, the therapist's dashed in another Okabe-Ito colour
    from PyQt5.QtCore import Qt

    live.show_person("both")
    assert live.plots.model is live.model and live.plots.overlay is live.therapist_model
    _t, shown = live.plots.hr_curve.getData()
    _t, other = live.plots.hr_other_curve.getData()
    assert float(np.nanmean(shown)) == pytest.approx(84, abs=6) and float(np.nanmean(other)) == pytest.approx(58, abs=6)
    assert live.plots.hr_other_curve.opts["pen"].style() == Qt.DashLine
    assert live.plots.hr_other_curve.opts["pen"].color().name().upper() == live.palette_.hr_other.upper()
    title = live.plots.legend.text()  # the legend above the plots, covering no data
    assert "C07 (client)" in title and "T01 (therapist)" in title
    live.show_person("client")
    assert live.plots.overlay is None and live.plots.hr_other_curve.getData()[1] is None
    assert not live.plots.legend.isVisibleTo(live)
