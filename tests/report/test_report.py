"""Session and comparison reports (HTML self-contained, PDF) and the report command."""

from __future__ import annotations

import base64
import os
import re
import stat

import numpy as np
import pytest

from biotrainer.core.errors import UsageError
from biotrainer.exchange.model import ExchangeSession


def _simulated(sid: str, protocol: str, seed: int, day: int = 0) -> ExchangeSession:
    from biotrainer.core.events import SESSION, Annotation
    from biotrainer.protocols.loader import load_protocol
    from biotrainer.sources.sim.config import Faults
    from biotrainer.sources.sim.strap import SimConfig
    from biotrainer.store.meta import iso_from_unix
    from biotrainer.wiring.simulate import run_simulated_session

    proto = load_protocol(protocol)
    events, _ = run_simulated_session(SimConfig(seed=seed, acc=True, faults=Faults(ectopic_per_min=0.5)),
                                      protocol=proto)
    events.append(Annotation(t_s=100.0, participant=SESSION, text="client yawned <b>", author="T1"))
    anchor = 1_790_000_000.0 + day * 86400.0
    return ExchangeSession({"id": sid, "started_at": iso_from_unix(anchor), "anchor_unix_s": anchor,
                            "participants": {"self": "P07"}, "protocol_name": proto.name,
                            "protocol_toml": proto.text, "synthetic": True}, events)


@pytest.fixture(scope="module")
def assessment():
    return _simulated("20261126-100000-abcd", "resonance-assessment", seed=5)


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


@pytest.mark.slow
def test_session_report_html_is_self_contained_with_plots_tables_and_resonance(assessment, tmp_path):
    from biotrainer.report import write_report

    out = write_report([assessment], tmp_path / "r.html")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:|//)", html) and "<script" not in html  # nothing external
    pngs = _pngs(html)
    assert len(pngs) == 4 and all(p.startswith(b"\x89PNG") and len(p) > 10_000 for p in pngs)  # + spectrum
    for phase in ("baseline", "step-6.5", "step-4.5", "recovery"):
        assert phase in html
    assert html.index("Breathing rate (/min)") < html.index("RMSSD (ms)")  # breathing rate beside vagal indices
    assert "Resonance assessment" in html and "★ pick" in html
    assert "client yawned &lt;b&gt;" in html  # annotations listed, escaped
    assert "P07" in html and "biotrainer 0.1.0" in html and "not a medical device" in html


@pytest.mark.slow
def test_session_report_pdf_has_table_page_and_plot_pages(assessment, tmp_path):
    from biotrainer.report import write_report

    out = write_report([assessment], tmp_path / "r.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    from biotrainer.report.data import build_report_data
    from biotrainer.report.pdf import _chunks
    from biotrainer.report.tables import withheld_table

    withheld = withheld_table(build_report_data(assessment))
    missing_pages = len(_chunks(withheld)) if withheld else 0
    # tables, HR + RSA, trends, spectrum + Poincaré, parameters, missing values
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 5 + missing_pages


def test_resonance_table_picks_a_rate_from_the_steps(assessment):
    from biotrainer.report.data import build_report_data
    from biotrainer.report.tables import resonance_table

    d = build_report_data(assessment)
    header, rows = resonance_table(d)
    assert [r[0] for r in rows] == ["step-6.5", "step-6.0", "step-5.5", "step-5.0", "step-4.5"]
    picks = [r for r in rows if "pick" in r[-1]]
    assert len(picks) == 1 and float(picks[0][1]) == d.resonance.pick_rate_per_min
    # RSA per breath in every phase: paced steps (pacer breaths, each step nearly every breath) and the
    # spontaneous baseline/recovery (RSA-derived breaths)
    for ph in d.stats.phases:
        inside = (d.breath_t_s > ph.start_s) & (d.breath_t_s <= ph.end_s + 1e-6)
        rate = 6.0 if ph.name.startswith("step-") else 15.0
        assert np.count_nonzero(inside) >= 0.7 * ph.duration_s / 60.0 * rate - 1, ph.name


@pytest.mark.slow
def test_comparison_report_html_and_pdf(tmp_path):
    from biotrainer.report import write_report

    a = _simulated("a", "reset", seed=1)
    b = _simulated("b", "reset", seed=2, day=7)
    html = write_report([a, b], tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Comparison of 2 sessions" in html and len(_pngs(html)) == 1
    assert html.count("<h2>Session ") == 2 and "Differences" in html
    assert re.search(r"<td>paced</td><td>b</td><td>Breathing rate \(/min\)</td>", html)
    pdf = write_report([a, b], tmp_path / "c.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 4


def test_unknown_report_format_is_a_usage_error(assessment, tmp_path):
    from biotrainer.report import write_report

    with pytest.raises(UsageError, match=r"r.docx: report format 'docx' unknown"):
        write_report([assessment], tmp_path / "r.docx")


def test_report_command_writes_the_file(tmp_path, capsys):
    from biotrainer.cli import main
    from tests.helpers import synthetic_session, tmp_library

    lib = tmp_library(tmp_path)
    sid = synthetic_session(lib, 120.0, seed=3)
    out = tmp_path / "rep.html"
    assert main(["report", sid, "--out", str(out), "--library", str(lib.root)]) == 0
    assert out.exists() and "wrote" in capsys.readouterr().out
    assert main(["report", "missing-id", "--out", str(out), "--library", str(lib.root)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing-id" in err
