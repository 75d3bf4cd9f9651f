"""The end-of-session summary in the terminal (after ``record``, ``demo``, ``reset`` and ``replay``), then the
optional self-report (calm, present 0-10, a note) when the terminal is interactive."""

from __future__ import annotations

import sys
from typing import Any, TextIO


def print_summary(library: Any, session_id: str, out: TextIO | None = None) -> dict[str, Any] | None:
    """Print the summary of a saved session (:func:`biotrainer.analysis.summary.library_summary`); a session that
    cannot be summarised gets one line saying why, never a traceback."""
    from biotrainer.analysis.summary import library_summary
    from biotrainer.core.errors import BiotrainerError

    out = out or sys.stderr  # looked up at call time (a default bound at import would outlive a replaced stderr)
    try:
        summary = library_summary(library, session_id)
    except (BiotrainerError, ValueError) as exc:
        out.write(f"No summary of session {session_id}: {exc}\n")
        return None
    out.write("\nSummary\n" + "".join(f"  {line}\n" for line in summary["lines"]))
    return summary


def _ask(prompt: str, ask: Any, out: TextIO) -> str:
    """The answer to ``prompt``, asked on ``out`` (stderr: stdout carries the session id for scripts)."""
    out.write(prompt)
    out.flush()
    return str(ask("")).strip()


def _rating(prompt: str, ask: Any, out: TextIO) -> int | None:
    while True:
        text = _ask(prompt, ask, out)
        if not text:
            return None
        if text.isdigit() and 0 <= int(text) <= 10:
            return int(text)
        out.write("  a whole number from 0 to 10, or Enter to skip\n")


def ask_self_report(library: Any, session_id: str, *, ask: Any = input, out: TextIO | None = None,
                    interactive: bool | None = None) -> dict[str, Any] | None:
    """Ask for the optional self-report and note and store them with the session (nothing is asked when the
    terminal is not interactive; Enter skips a question)."""
    out = out or sys.stderr
    if interactive is None:
        interactive = sys.stdin.isatty() and out.isatty()
    if not interactive:
        return None
    out.write("How was it? (optional; Enter skips)\n")
    try:
        calm = _rating("  calm, 0-10: ", ask, out)
        present = _rating("  present, 0-10: ", ask, out)
        note = _ask("  a note: ", ask, out)
    except EOFError:
        return None
    if calm is None and present is None and not note:
        return None
    library.set_reflection(session_id, calm=calm, present=present, note=note or None)
    out.write("  saved with the session\n")
    return {"calm": calm, "present": present, "note": note}
