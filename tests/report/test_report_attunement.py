"""The attunement section of a dyad session's report: the numbers of ``biotrainer synchrony --json``, in HTML and
PDF; a one-person session's report has none of it."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.report.dyad import record_dyad_and_single, synchrony_json


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_dyad_and_single(tmp_path_factory.mktemp("dyad"))


def _report(library, ref: str, out):
    from biotrainer.cli import main

    assert main(["report", "--library", str(library), ref, "--out", str(out)]) == 0
    return out


def _pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


@pytest.mark.slow
def test_dyad_report_data_is_the_synchrony_command_json(recorded):
    from biotrainer.exchange.library import load_session
    from biotrainer.report.data import build_report_data
    from biotrainer.store import Library

    d = build_report_data(load_session(Library(recorded.library), recorded.dyad))
    assert d.attunement is not None and d.attunement.reason == ""
    assert json.loads(json.dumps(d.attunement.result)) == synchrony_json(recorded)


@pytest.mark.slow
def test_dyad_html_has_the_attunement_section_with_the_command_numbers(recorded, tmp_path, capsys):
    html = _report(recorded.library, recorded.dyad, tmp_path / "r.html").read_text(encoding="utf-8")
    capsys.readouterr()
    sync = synchrony_json(recorded)
    s, lead = sync["session"], sync["lead_lag"]
    section = html[html.index("<h2>Attunement</h2>"):]
    assert f"effect size {s['effect_size']:+.2f} against {s['n_surrogates']} surrogates" in section
    assert f"p = {s['p_value']:.3f}" in section and "more than chance" in section
    assert s["p_value"] < 0.05 and lead["leader"] == "therapist"  # coupling 0.6: the client follows
    assert f"follows the therapist&#x27;s by about {abs(lead['curve_lag_s']):.1f} s" in section
    assert "surrogates" in section and "not a score" in section and "small and vary" in section
    assert "Heart-rate synchrony of therapist and client." in section  # the two people related
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) == 5 and base64.b64decode(pngs[-1]).startswith(b"\x89PNG")  # + spectrum, + the timeline
    assert html.index("<h2>Attunement</h2>") > html.index("<h2>Artifacts</h2>")


@pytest.mark.slow
def test_dyad_pdf_has_an_attunement_page(recorded, tmp_path):
    assert _pdf_pages(_report(recorded.library, recorded.dyad, tmp_path / "r.pdf")) == \
        _research_pages(recorded.library, recorded.dyad) + 1


def _research_pages(library, ref) -> int:
    """Tables, HR + RSA, trends, spectrum + Poincaré, parameters, and the missing-values pages."""
    from biotrainer.exchange.library import load_session
    from biotrainer.report.data import build_report_data
    from biotrainer.report.pdf import _chunks
    from biotrainer.report.tables import withheld_table
    from biotrainer.store import Library

    withheld = withheld_table(build_report_data(load_session(Library(library), ref), attunement=False))
    return 5 + (len(_chunks(withheld)) if withheld else 0)


@pytest.mark.slow
def test_one_person_report_has_no_attunement(recorded, tmp_path):
    html = _report(recorded.library, recorded.single, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Attunement" not in html and "synchrony" not in html
    assert len(re.findall(r"data:image/png;base64,", html)) == 4
    assert _pdf_pages(_report(recorded.library, recorded.single, tmp_path / "r.pdf")) == \
        _research_pages(recorded.library, recorded.single)


def test_phase_verdicts_and_chance_words_in_plain_words():
    from biotrainer.report.attunement import chance_words, lead_lag_words, phase_rows, session_verdict

    result = {"window_s": 30.0, "step_s": 5.0, "lag_s": 5.0, "n_windows": 40, "seed": 0, "reasons": [],
              "session": {"mean_z": 0.9, "effect_size": 0.4, "p_value": 0.31, "n_surrogates": 500, "reason": ""},
              "lead_lag": {"median_lag_s": 1.0, "curve_lag_s": 2.0, "leader": "none",
                           "basis": "all windows (fewer than three above chance); the session is not above chance"},
              "phases": [{"name": "paced", "paced": True, "mean_z": 1.8, "effect_size": 0.2, "p_value": 0.4,
                          "verdict": "driven by the shared pacer", "reason": ""},
                         {"name": "talk", "paced": False, "mean_z": None, "effect_size": None, "p_value": None,
                          "verdict": "not testable", "reason": "too few segments"}]}
    assert session_verdict(result).startswith("The two heart rates did not move together more than chance")
    assert "effect size +0.40" in session_verdict(result) and "p = 0.310" in session_verdict(result)
    assert lead_lag_words(result).startswith("Nobody is said to lead, because the session is not above chance")
    header, rows = phase_rows(result)
    assert rows[0] == ["paced", "yes", "1.80", "+0.20", "0.400", "driven by the shared pacer"]
    assert rows[1][-1] == "not testable (too few segments)" and rows[1][2:5] == ["–", "–", "–"]
    words = chance_words(result)
    assert "500 times at random (seed 0)" in words and "driven by the shared pacer" in words
    assert words.count(". ") == 2  # two sentences, a third for the paced phase
    from biotrainer.report.attunement import summary_lines
    from biotrainer.report.data import Attunement

    result["session"]["pacer_kept"] = False
    assert summary_lines(Attunement(result))[2].startswith("Both followed one pacer in paced: the whole-session")
    assert summary_lines(Attunement(None, "session x: too short")) == [
        "Synchrony could not be computed: session x: too short"]
    result["lead_lag"] = {**result["lead_lag"], "leader": "client", "curve_lag_s": -2.5}
    assert lead_lag_words(result).startswith("The therapist's heart rate follows the client's by about 2.5 s")


@pytest.mark.slow
def test_a_dyad_too_short_for_synchrony_says_why_in_report_and_export(tmp_path, capsys):
    from biotrainer.cli import main
    from tests.report.dyad import record

    library = tmp_path / "lib"
    sid = record(library, ("--device", "therapist=sim", "--device", "client=sim", "--duration", "50", "--seed", "4"))
    html = _report(library, sid, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h2>Attunement</h2>" in html and "Synchrony could not be computed" in html
    assert "shorter than three 30-s windows" in html and "not a score" in html
    assert main(["export", "--library", str(library), "--format", "csv", "--out", str(tmp_path / "csv"), sid]) == 0
    assert "warning: no synchrony exported" in capsys.readouterr().err
    assert not list((tmp_path / "csv").rglob("*synchrony*"))


@pytest.mark.slow
def test_the_attunement_section_is_only_an_insertion(recorded):
    import dataclasses

    from biotrainer.exchange.library import load_session
    from biotrainer.report.data import build_report_data
    from biotrainer.report.html import render_html
    from biotrainer.store import Library

    d = build_report_data(load_session(Library(recorded.library), recorded.dyad))
    with_section = render_html([d], None)
    without = render_html([dataclasses.replace(d, attunement=None)], None)
    start = with_section.index("<h2>Attunement</h2>")
    end = with_section.index("\n", with_section.index("not a score to optimise", start)) + 1
    assert with_section[:start] + with_section[end:] == without
