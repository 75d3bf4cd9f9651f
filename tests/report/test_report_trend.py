"""The trend section of a comparison report: plots over dates with the robust slope, and the slope in words."""

from __future__ import annotations

import base64
import re

import pytest

from tests.analysis.journey_helpers import rr_session


@pytest.fixture(scope="module")
def weekly():
    return [rr_session(f"w{i}", 7.0 * i, 60.0 + 2.0 * i, seed=i) for i in range(4)]


def test_comparison_report_has_trend_plots_and_slopes_in_words(weekly, tmp_path):
    from matplotlib.image import imread

    from biotrainer.report import write_report

    html = write_report(weekly, tmp_path / "t.html").read_text(encoding="utf-8")
    pngs = [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]
    assert len(pngs) == 2  # phase bars, trend over dates
    (tmp_path / "trend.png").write_bytes(pngs[1])
    img = imread(tmp_path / "trend.png")
    assert img.shape[1] > 900 and img.std() > 0.05  # a drawn figure, not a blank page
    assert "<h2>Trend</h2>" in html and "Theil-Sen slope over sittings" in html
    row = re.search(r"<td>paced</td><td>Heart rate \(bpm\)</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    assert row is not None
    assert row.group(1) == "60.0 → 62.1 → 64.1 → 66.0"  # seeded noise on 60 + 2 bpm a week
    assert row.group(2).startswith("+2.0") and row.group(2).endswith(": rising")
    from biotrainer.analysis.compare import compare
    from biotrainer.report.pdf import _chunks
    from biotrainer.report.tables import comparison_table, trend_table

    result = compare(weekly)
    pdf = write_report(weekly, tmp_path / "t.pdf").read_bytes()
    tables = len(_chunks(comparison_table(result))) + len(_chunks(trend_table(result)))
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == tables + 1 + 1 + 4  # bars, trend plot, sessions


def test_trend_panels_of_sessions_too_close_say_no_slope(tmp_path):
    from biotrainer.analysis.compare import compare
    from biotrainer.report import figures

    close = [rr_session(f"c{i}", i / 1440.0, 60.0 + i, seed=i) for i in range(3)]
    panels = figures.comparison_trend_panels(compare(close))
    hr = dict(panels)["Heart rate (bpm)"]["paced"]
    assert hr["fit"] is None and hr["slope_per_week"] is None
    fig = figures.trend_panels(panels)
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert not any("/week" in t for t in legends)


def test_report_rows_carry_the_catalogue_description_and_a_glossary(tmp_path):
    from biotrainer.metrics.catalogue import CATALOGUE
    from biotrainer.report import write_report

    html = write_report([rr_session("a", 0.0, 60.0, seed=1)], tmp_path / "r.html").read_text(encoding="utf-8")
    desc = CATALOGUE["hrv.ln_rmssd"].description
    assert f'<td title="lnRMSSD (ln(ms)): {desc}">lnRMSSD (ln(ms))</td>' in html.replace("&#x27;", "'")
    assert "<summary>What these numbers mean</summary>" in html
    assert "<dt><b>Breathing rate (/min)</b></dt>" in html
