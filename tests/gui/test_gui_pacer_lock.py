"""The therapist's 'Lock pacer rate' box: ticked before Start, the adaptive pacer is locked from the start."""

from __future__ import annotations

WAIT_MS = 60000


def test_lock_ticked_before_start_locks_the_adaptive_pacer_from_the_start(live, qtbot) -> None:
    live.lock_box.setChecked(True)  # no session yet: nothing to lock, the box is remembered
    cfg = live.config()
    assert cfg.pacer_locked
    from dataclasses import replace

    assert live.start(replace(cfg, protocol="resonance-adaptive", source="sim:seed=1", virtual=True, record=False))
    qtbot.waitUntil(lambda: live.controller.parts is not None, timeout=WAIT_MS)
    runner = live.controller.parts.protocol_runner
    assert runner.locked
    assert runner.change_rate(200.0, 5.8, "x") is None
    live.lock_box.setChecked(False)  # unticked during the session: unlocked
    assert not runner.locked


def test_lock_unticked_leaves_the_pacer_free() -> None:
    from biotrainer.gui.controller import LiveConfig, build_live_session

    parts = build_live_session(LiveConfig(protocol="resonance-adaptive", virtual=True, record=False), [])
    assert parts.protocol_runner is not None and not parts.protocol_runner.locked
    parts = build_live_session(LiveConfig(protocol="resonance-adaptive", virtual=True, record=False,
                                          pacer_locked=True), [])
    assert parts.protocol_runner.locked


def test_the_lock_box_shows_only_for_a_protocol_whose_pacer_adapts(live) -> None:
    live.set_protocols([("reset", "Three-minute reset"), ("resonance-adaptive", "Adaptive resonance")], "reset")
    live.show()
    assert not live.lock_box.isVisible()  # a fixed pacer has no rate to lock
    live.protocol_box.setCurrentIndex(live.protocol_box.findData("resonance-adaptive"))
    assert live.lock_box.isVisible()
    live.protocol_box.setCurrentIndex(live.protocol_box.findData("reset"))
    assert not live.lock_box.isVisible()
