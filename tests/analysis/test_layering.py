"""The analysis layer sits above exchange and below wiring, report, GUI and CLI; report/ takes its data from it and
no file helpers from exchange.model (they live in store.paths)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "biotrainer"


def _imports(folder: str) -> dict[str, set[tuple[str, str]]]:
    """Per module of ``folder``: (imported module, name) pairs (name "" for ``import x``)."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((PACKAGE / folder).glob("*.py")):
        found: set[tuple[str, str]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {(node.module, a.name) for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {(a.name, "") for a in node.names}
        out[path.name] = found
    return out


def test_analysis_imports_no_higher_room() -> None:
    higher = ("biotrainer.wiring", "biotrainer.report", "biotrainer.gui", "biotrainer.cli")
    for module, found in _imports("analysis").items():
        bad = sorted(m for m, _ in found if m.startswith(higher))
        assert not bad, f"analysis/{module} imports {bad}"


def test_report_takes_no_helpers_from_exchange_model() -> None:
    for module, found in _imports("report").items():
        names = {n for m, n in found if m == "biotrainer.exchange.model"}
        assert names <= {"ExchangeSession"}, f"report/{module} imports {sorted(names)} from exchange.model"
        assert not any(m.startswith("biotrainer.metrics.offline") for m, _ in found), \
            f"report/{module} computes metrics itself instead of asking biotrainer.analysis"
