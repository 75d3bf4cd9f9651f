"""The practice journey: robust slope per week (Theil-Sen over sittings), the "not enough sessions yet" rule, the
practice calendar, the ``trend`` command and its bad inputs, and ``import --started-at``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biotrainer.analysis.trend import (
    NOT_ENOUGH,
    journey_of_sessions,
    practice_calendar,
    robust_slope,
    sittings,
)
from tests.analysis.journey_helpers import START_UNIX_S, rr_session

MINUTE_D = 1.0 / 1440.0


def test_theil_sen_slope_per_week_and_its_interval_on_literal_points():
    s = robust_slope([0, 7, 14, 21], [60.0, 61.0, 62.0, 63.0])
    assert s.slope_per_week == pytest.approx(1.0) and s.ci95 == pytest.approx((1.0, 1.0))
    assert s.n_sittings == 4 and s.span_days == 14 * 1.5 and s.reason is None
    # one wild session does not move a robust slope (least squares would give +1.9/week)
    s = robust_slope([0, 7, 14, 21, 28], [60.0, 61.0, 62.0, 63.0, 80.0])
    assert s.slope_per_week == pytest.approx(1.0)
    lo, hi = s.ci95
    assert lo <= 1.0 <= hi


def test_sessions_minutes_apart_never_give_a_slope_per_week():
    # today's bug: three sessions two minutes apart gave -9.93e+04 bpm/week
    s = robust_slope([0.0, 2 * MINUTE_D, 4 * MINUTE_D], [70.0, 68.0, 66.0])
    assert s.slope_per_week is None and s.ci95 is None and s.n_sittings == 1
    assert s.reason.startswith(NOT_ENOUGH) and "3 sessions in 1 sitting" in s.reason
    # two sittings (one of two sessions minutes apart) over 8 days: still not enough
    s = robust_slope([0.0, 2 * MINUTE_D, 8.0], [70.0, 60.0, 65.0])
    assert s.slope_per_week is None and s.n_sittings == 2
    # three sittings but only 5 days
    s = robust_slope([0.0, 2.0, 5.0], [70.0, 60.0, 65.0])
    assert s.slope_per_week is None and "over 5.0 days" in s.reason
    assert robust_slope([], []).reason.startswith(NOT_ENOUGH)
    assert robust_slope([3.0], [60.0]).reason == (
        "not enough sessions yet (1 session; a slope per week needs 3 sessions at least 12 h apart spanning 7 days)")


def test_sessions_of_one_sitting_are_merged_at_their_median():
    assert sittings([0.0, 0.01, 0.02, 1.0], [1.0, 5.0, 2.0, 7.0]) == [(pytest.approx(0.01), 2.0), (1.0, 7.0)]


@pytest.fixture(scope="module")
def weekly_sessions():
    # heart rate rises by 1.5 bpm per week over five weeks, seven sessions at varying times of day
    days = [0.0, 3.3, 7.1, 12.6, 18.0, 25.4, 33.2]
    return [rr_session(f"s{i}", d, 62.0 + 1.5 * d / 7.0, seed=i, self_report={"calm": 4 + i % 3, "present": 6})
            for i, d in enumerate(days)]


def test_known_weekly_change_is_recovered_within_15_percent(weekly_sessions):
    result = journey_of_sessions(weekly_sessions, participant="P01")
    assert result["phase"] == "paced" and result["phases"] == ["settle", "paced"] and result["protocol"] == "reset"
    hr = result["metrics"]["hrv.hr_bpm"]
    assert hr["slope_per_week"] == pytest.approx(1.5, rel=0.15)
    lo, hi = hr["ci95"]
    assert lo < 1.5 < hi and hr["n_sessions"] == 7 and hr["unit"] == "bpm"
    assert hr["dates"][0].startswith("2026-03-02T") and len(hr["dates"]) == len(hr["values"]) == 7
    # breathing at the pacer's 6/min does not change over the weeks
    rate = result["metrics"]["breathing.rate_per_min"]
    assert np.allclose(rate["values"], 6.0, atol=0.3) and abs(rate["slope_per_week"]) < 0.1
    assert list(result["metrics"])[0] == "breathing.rate_per_min"  # beside every vagal index
    assert result["metrics"]["self_report.calm"]["values"] == [4.0, 5.0, 6.0, 4.0, 5.0, 6.0, 4.0]
    settle = journey_of_sessions(weekly_sessions, participant="P01", phase="settle")
    assert settle["metrics"]["hrv.hr_bpm"]["slope_per_week"] == pytest.approx(1.5, rel=0.15)
    json.dumps(result, allow_nan=False)


def test_bad_inputs_give_one_clear_line(weekly_sessions):
    from biotrainer.core.errors import UsageError

    other = rr_session("x", 40.0, 60.0, protocol="resonance-training")
    with pytest.raises(UsageError, match=r"2 protocols \(reset, resonance-training\).*--protocol"):
        journey_of_sessions([*weekly_sessions[:2], other])
    with pytest.raises(UsageError, match="no phase 'door'.*phases: settle, paced"):
        journey_of_sessions(weekly_sessions[:2], phase="door")
    one = journey_of_sessions(weekly_sessions[:1])
    for series in one["metrics"].values():
        assert series["slope_per_week"] is None and series["reason"].startswith(NOT_ENOUGH)


def test_practice_calendar_counts_days_resets_and_minutes():
    from types import SimpleNamespace as S

    rows = [S(started_at="2026-03-02T07:30:00+01:00", protocol="reset", duration_s=180.0, title="Reset before C07"),
            S(started_at="2026-03-02T18:00:00+01:00", protocol="resonance-training", duration_s=1200.0, title=""),
            S(started_at="2026-03-04T07:30:00+01:00", protocol="reset", duration_s=180.0, title=""),
            S(started_at="", protocol="reset", duration_s=60.0, title="")]
    cal = practice_calendar(rows)
    assert cal["days_practised"] == 2 and cal["sessions"] == 3 and cal["resets"] == 2 and cal["before_clients"] == 1
    assert cal["minutes"] == pytest.approx(26.0) and (cal["first"], cal["last"]) == ("2026-03-02", "2026-03-04")
    assert cal["days"][0] == {"date": "2026-03-02", "sessions": 2, "resets": 1, "before_clients": 1,
                              "minutes": pytest.approx(23.0)}
    from biotrainer.analysis.trend import calendar_words

    assert calendar_words(cal) == ("practised on 2 days (3 sessions, 2 resets (1 before a client), 26 min), "
                                   "2026-03-02 to 2026-03-04")


def test_compare_trend_uses_the_robust_slope_and_withholds_close_sessions():
    from biotrainer.analysis.compare import compare

    close = [rr_session(f"c{i}", i * 2 * MINUTE_D, 60.0 + 5 * i, seed=i) for i in range(3)]
    result = compare(close)
    hr = next(t for t in result["trend"] if t["phase"] == "paced" and t["metric"] == "hrv.hr_bpm")
    assert hr["slope_per_week"] is None and hr["reason"].startswith(NOT_ENOUGH)
    from biotrainer.cli.compare import format_text

    assert "-9.93e+04" not in format_text(result) and NOT_ENOUGH in format_text(result)


def _rr_file(path, hr_bpm, seed):
    rng = np.random.default_rng(seed)
    n = int(hr_bpm * 3.2)
    t = np.arange(n)
    rr = 60000.0 / hr_bpm + 30.0 * np.sin(2 * np.pi * t / 10.0) + rng.normal(0, 5, n)
    path.write_text("\n".join(f"{v:.0f}" for v in rr))
    return path


@pytest.mark.slow
def test_trend_command_on_imported_files_with_started_at(tmp_path, capsys):
    from biotrainer.cli import main

    lib = str(tmp_path / "lib")
    weeks = [0, 1, 2, 3, 4]
    for w in weeks:
        f = _rr_file(tmp_path / f"elite{w}.txt", 64.0 - 2.0 * w, seed=w)
        day = 2 + 7 * w
        assert main(["import", str(f), "--participant", "P05", "--started-at", f"2026-03-{day:02d}T07:30",
                     "--library", lib]) == 0
    capsys.readouterr()
    assert main(["trend", "--json", "--library", lib]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["participant"] == "P05" and out["protocol"] == "none" and out["phase"] == "whole session"
    hr = out["metrics"]["hrv.hr_bpm"]
    assert [d[:16] for d in hr["dates"]] == [f"2026-03-{2 + 7 * w:02d}T07:30" for w in weeks]
    assert hr["slope_per_week"] == pytest.approx(-2.0, rel=0.15)
    assert out["calendar"]["days_practised"] == 5 and out["calendar"]["resets"] == 0
    assert main(["trend", "--library", lib]) == 0
    text = capsys.readouterr().out
    assert "Journey of P05" in text and "per week (95 % interval" in text and "falling" in text
    # bad input: unknown participant, bad --started-at
    assert main(["trend", "--participant", "NOPE", "--library", lib]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"biotrainer: error: no sessions of participant 'NOPE' in library {tmp_path / 'lib'} "
                   "(participants: P05)"]
    assert main(["import", str(tmp_path / "elite0.txt"), "--started-at", "last tuesday", "--library", lib]) == 2
    assert "--started-at 'last tuesday'" in capsys.readouterr().err


@pytest.mark.slow
def test_trend_command_one_session_and_mixed_protocols(tmp_path, capsys):
    from biotrainer.cli import main
    from biotrainer.exchange.library import save_session
    from biotrainer.store import Library

    lib = Library(tmp_path / "lib")
    save_session(lib, rr_session("a", 0.0, 60.0))
    assert main(["trend", "--library", str(lib.root)]) == 0
    text = capsys.readouterr().out
    assert "Journey of P01 · protocol reset · phase paced (1 session)" in text and NOT_ENOUGH in text
    save_session(lib, rr_session("b", 1.0, 60.0, protocol="box-breathing"))
    assert main(["trend", "--library", str(lib.root)]) == 2
    assert capsys.readouterr().err.strip() == (
        "biotrainer: error: participant P01 has sessions of 2 protocols (box-breathing: 1 session, reset: 1 "
        "session); a trend compares one protocol and phase: give --protocol NAME")
    assert main(["trend", "--protocol", "reset", "--json", "--library", str(lib.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["hrv.hr_bpm"]["slope_per_week"] is None
    assert out["calendar"]["sessions"] == 2 and out["calendar"]["resets"] == 1
    assert START_UNIX_S < 1_800_000_000
