"""The wiring's single rules: one ``--speed`` parser, one metrics-engine factory for live, replay and tests."""

from __future__ import annotations

import pytest

from biotrainer.core.errors import UsageError
from biotrainer.wiring import SPEED_WORDS, parse_speed


@pytest.mark.parametrize("word", [*SPEED_WORDS, "MAX", " fastest "])
def test_every_spelling_of_as_fast_as_possible_is_none(word):
    assert parse_speed(word) is None


@pytest.mark.parametrize(("text", "speed"), [("1", 1.0), ("4", 4.0), ("0.5", 0.5), (2.0, 2.0), (None, 1.0)])
def test_a_positive_factor_is_the_speed(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("bad", ["0", "-2", "nan", "1e999", "infinity", "fast-ish", "", "2x"])
def test_anything_else_is_a_usage_error_naming_the_value(bad):
    with pytest.raises(UsageError, match="--speed"):
        parse_speed(bad)


def test_the_window_needs_a_finite_speed():
    assert parse_speed("3", allow_max=False) == 3.0
    with pytest.raises(UsageError, match="--speed 'max'"):
        parse_speed("max", allow_max=False)


def test_record_demo_replay_and_gui_use_the_one_parser(tmp_path, capsys):
    """``record`` accepted ``fast`` and ``replay`` ``fastest``: now every command takes every spelling."""
    import json

    from biotrainer.cli import main

    lib = str(tmp_path / "lib")
    assert main(["record", "--speed", "fastest", "--duration", "3", "--no-metrics", "--quiet", "--json",
                 "--library", lib]) == 0
    sid = json.loads(capsys.readouterr().out)["id"]
    assert main(["replay", sid, "--speed", "fast", "--json", "--library", lib]) == 0
    assert json.loads(capsys.readouterr().out)["speed"] == "max"
    for argv in (["record", "--speed", "2x"], ["demo", "--terminal", "--speed", "2x"],
                 ["replay", sid, "--speed", "2x"], ["gui", "--speed", "2x"]):
        assert main([*argv, "--library", lib]) == 2
        assert "--speed '2x': expected a positive number" in capsys.readouterr().err


def _settings(engine) -> tuple:
    return (engine.feedback_signal, engine.baseline_phases, engine.settings, engine.update_s, engine.per_beat,
            engine.with_ecg)


@pytest.mark.parametrize("protocol", ["reset", "resonance-assessment", None])
def test_live_session_replay_and_tests_get_the_same_engine(tmp_path, protocol):
    from biotrainer.metrics.engine import MetricsEngine
    from biotrainer.protocols import load_protocol
    from biotrainer.store import Library
    from biotrainer.wiring import SessionPlan, build_replay, build_session, parse_device_specs

    lib = str(tmp_path / "lib")
    plan = SessionPlan(devices=parse_device_specs(["sim"]), protocol=protocol, seed=1, speed=None, duration_s=4.0,
                       library=lib)
    live = build_session(plan)
    live.run()
    with Library(lib).open(live.session_id) as reader:
        replay = build_replay(reader, speed=None, metrics=True)
    loaded = load_protocol(protocol) if protocol else None
    in_tests = MetricsEngine.for_protocol(lambda e: None, loaded)
    assert _settings(live.metrics_engine) == _settings(replay.metrics_engine) == _settings(in_tests)
    if loaded is not None:
        assert live.metrics_engine.feedback_signal == loaded.feedback_signal
        assert live.metrics_engine.baseline_phases == {loaded.baseline_phase.name}
    else:  # no protocol: the engine's own defaults
        assert _settings(in_tests) == _settings(MetricsEngine(lambda e: None))
