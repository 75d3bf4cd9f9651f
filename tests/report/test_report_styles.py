"""Two report styles: the research report (spectrum, Poincaré plot, analysis parameters, a reason for every missing
value) and the one-page client handout (plain words, one picture, no ids, no jargon)."""

from __future__ import annotations

import re

import pytest

from tests.analysis.journey_helpers import rr_session


@pytest.fixture(scope="module")
def session():
    s = rr_session("20260302-073000-ab12", 0.0, 62.0, paced_hr_bpm=66.0, seed=7, participant="P09",
                   intention="let the out-breath be long", self_report={"calm": 7, "present": 6})
    s.meta["protocol_name"] = "reset"
    return s


def test_handout_is_plain_words_without_ids(session, tmp_path):
    from biotrainer.report import write_report

    html = write_report([session], tmp_path / "h.html", style="handout").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>|src=\"[^\"]+\"", "", html, flags=re.S))
    for jargon in ("RMSSD", "RSA", "ms", "bpm", "P09", "20260302-073000-ab12", "lnRMSSD", "coherence"):
        assert not re.search(rf"\b{re.escape(jargon)}\b", text), jargon
    assert "<h1>Three-minute reset before a session</h1>" in html and "2 March 2026, " in html
    assert "Your intention was: “let the out-breath be long”." in html
    assert "Your heart rate rose (about 62 → 66 beats a minute)." in html
    assert "You felt calm 7 out of 10 and present 6 out of 10." in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 1


def test_handout_pdf_is_one_page_and_several_sessions_are_refused(session, tmp_path):
    from biotrainer.core.errors import UsageError
    from biotrainer.report import write_report

    pdf = write_report([session], tmp_path / "h.pdf", style="handout").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    with pytest.raises(UsageError, match="a client handout is of one session, not 2"):
        write_report([session, session], tmp_path / "x.html", style="handout")
    with pytest.raises(UsageError, match="report style 'fancy' unknown"):
        write_report([session], tmp_path / "x.html", style="fancy")


def test_research_report_states_parameters_spectrum_and_why_values_are_missing(tmp_path):
    from biotrainer.report import write_report

    short = rr_session("r", 0.0, 62.0, seed=8, settle_s=1.5, paced_s=150.0)
    html = write_report([short], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h2>Spectrum and Poincaré plot</h2>" in html and "<h2>Analysis parameters</h2>" in html
    assert "Lipponen &amp; Tarvainen 2019" in html and "LF 0.04-0.15 Hz" in html
    assert "<h3>Missing values and why</h3>" in html
    assert "<td>settle</td><td>Heart rate (bpm)</td><td>1 beats in the phase</td>" in html
