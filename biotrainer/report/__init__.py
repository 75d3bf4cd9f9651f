"""Session and comparison reports: self-contained HTML (embedded PNG plots) and PDF (matplotlib PdfPages).

Public API::

    write_report(sessions, out_path, fmt=None, participant=None) -> Path

One session gives a session report (HR with the pacer, RSA per breath, lnRMSSD/coherence/breathing rate over time,
phase table, artifacts, resonance assessment table when present, the therapist–client attunement of a dyad
session, annotations); two or more give a comparison
report (:func:`biotrainer.analysis.compare.compare` table and bar charts, trend, then each session's phase table).
``fmt`` is ``html`` or ``pdf`` (default: from the file suffix). Files are written 0600 (health data).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from biotrainer.core.errors import ExportError, UsageError
from biotrainer.exchange.model import ExchangeSession
from biotrainer.store.paths import make_private_dirs

REPORT_FORMATS = ("html", "pdf")
#: ``research``: every plot and table with the analysis parameters and a reason for every missing value;
#: ``handout``: one page for the person themselves in plain words (one session; no ids, no jargon).
REPORT_STYLES = ("research", "handout")


def write_report(sessions: Sequence[ExchangeSession], out_path: Path, fmt: str | None = None,
                 participant: str | None = None, style: str = "research") -> Path:
    """Render the report of ``sessions`` to ``out_path``; returns the path.

    Raises
    ------
    UsageError
        Unknown format or no sessions.
    """
    out_path = Path(out_path)
    fmt = (fmt or out_path.suffix.lstrip(".")).lower()
    if fmt not in REPORT_FORMATS:
        raise UsageError(f"{out_path}: report format {fmt or '(none)'!r} unknown; use a .html or .pdf file name "
                         "or --format html|pdf")
    if not sessions:
        raise UsageError("no sessions to report")
    if style not in REPORT_STYLES:
        raise UsageError(f"report style {style!r} unknown; use {' or '.join(REPORT_STYLES)}")
    if style == "handout" and len(sessions) != 1:
        raise UsageError(f"a client handout is of one session, not {len(sessions)}: give one session id")
    if out_path.is_dir():
        raise ExportError(f"{out_path}: is a folder; give the report file name, e.g. {out_path / ('report.' + fmt)}")
    try:  # before the (slow) analysis, so a bad --out fails at once
        make_private_dirs(out_path.parent)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"{out_path}: cannot create the folder {out_path.parent}: part of that path is a file, "
                          "not a folder") from None
    except OSError as exc:
        raise ExportError(f"{out_path}: cannot create the folder {out_path.parent} "
                          f"({exc.strerror or exc})") from None
    if not out_path.parent.is_dir():
        raise ExportError(f"{out_path}: {out_path.parent} is not a folder")
    from biotrainer.report.data import build_report_data

    if style == "handout":
        return _write_handout(build_report_data(sessions[0], participant, attunement=False), out_path, fmt)
    datas = [build_report_data(s, participant, attunement=len(sessions) == 1) for s in sessions]
    result = None
    if len(sessions) > 1:
        from biotrainer.analysis.compare import compare

        result = compare(list(sessions), by="session", participant=participant)
    try:
        if fmt == "html":  # both write atomically: a complete file or none
            from biotrainer.report.html import write_html

            write_html(datas, result, out_path)
        else:
            from biotrainer.report.pdf import render_pdf

            render_pdf(datas, result, out_path)
    except OSError as exc:
        raise ExportError(f"{out_path}: cannot write the report ({exc.strerror or exc})") from None
    return out_path


def _write_handout(data: object, out_path: Path, fmt: str) -> Path:
    from biotrainer.report.handout import render_handout_html, render_handout_pdf

    try:
        if fmt == "pdf":
            return render_handout_pdf(data, out_path)  # type: ignore[arg-type]
        from biotrainer.store.paths import open_private

        with open_private(out_path, "w", encoding="utf-8") as fh:
            fh.write(render_handout_html(data))  # type: ignore[arg-type]
    except OSError as exc:
        raise ExportError(f"{out_path}: cannot write the handout ({exc.strerror or exc})") from None
    return out_path
