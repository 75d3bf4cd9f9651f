"""The terminal's end-of-session summary and the optional self-report stored with the session."""

from __future__ import annotations

import io

from tests.analysis.journey_helpers import rr_session


def test_summary_then_self_report_is_stored_with_the_session(tmp_path):
    from biotrainer.cli.session_summary import ask_self_report, print_summary
    from biotrainer.exchange.library import save_session
    from biotrainer.store import Library

    lib = Library(tmp_path / "lib")
    sid = save_session(lib, rr_session("a", 0.0, 60.0, paced_hr_bpm=66.0, seed=4))
    out = io.StringIO()
    summary = print_summary(lib, sid, out)
    text = out.getvalue()
    assert text.startswith("\nSummary\n  In your settle phase you breathed at")
    assert "Your heart rate rose from your settle phase to the paced phase, more than its minute-to-minute" in text
    answers = iter(["11", "7", "", "felt settled after the second minute"])
    got = ask_self_report(lib, sid, ask=lambda _p: next(answers), out=out, interactive=True)
    assert got == {"calm": 7, "present": None, "note": "felt settled after the second minute"}
    assert "a whole number from 0 to 10" in out.getvalue()
    with lib.open(sid) as reader:
        assert reader.meta.self_report == {"calm": 7, "note": "felt settled after the second minute"}
    assert summary is not None and ask_self_report(lib, sid, interactive=False) is None


def test_no_summary_for_a_session_that_cannot_be_read(tmp_path):
    from biotrainer.cli.session_summary import print_summary
    from biotrainer.store import Library

    out = io.StringIO()
    assert print_summary(Library(tmp_path / "lib"), "nope", out) is None
    assert out.getvalue().startswith("No summary of session nope: no session 'nope' in library")


def test_the_terminal_status_line_writes_rsa_in_ms_like_the_window_and_the_reports():
    from biotrainer.cli.terminal_view import _metric_text

    assert _metric_text({"hrv.ln_rmssd": 3.712, "rsa.p2t_ms": 98.44, "rsa.p2t_bpm": 9.8,
                         "breathing.rate_per_min": 6.04}) == "  lnRMSSD 3.71  RSA 98.4 ms  breath 6.0/min"
