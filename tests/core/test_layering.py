"""The folders are rooms of the data flow, and a lower room never imports a higher one (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "biotrainer"

#: Rooms from low to high. Rooms of one rank do not import each other either: each uses only what is below it.
RANKS: dict[str, int] = {
    "core": 0,
    "sources": 1, "metrics": 1, "protocols": 1, "store": 1,
    "exchange": 2,
    "analysis": 3,
    "wiring": 4,
    "report": 5,
    "gui": 6,
    "cli": 7,
}


def _imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "biotrainer" and len(parts) > 1 and parts[1] in RANKS:
                rooms.add(parts[1])
    return rooms


def test_every_folder_of_the_package_has_a_rank() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(RANKS)


@pytest.mark.parametrize("room", sorted(RANKS))
def test_a_room_imports_only_rooms_below_it(room: str) -> None:
    bad = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for other in _imported_rooms(path) - {room}:
            if RANKS[other] >= RANKS[room]:
                bad.append(f"{path.relative_to(PACKAGE)} imports biotrainer.{other}")
    assert not bad, bad


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


def test_report_takes_no_helpers_from_exchange_model() -> None:
    for module, found in _imports("report").items():
        names = {n for m, n in found if m == "biotrainer.exchange.model"}
        assert names <= {"ExchangeSession"}, f"report/{module} imports {sorted(names)} from exchange.model"
        assert not any(m.startswith("biotrainer.metrics.offline") for m, _ in found), \
            f"report/{module} computes metrics itself instead of asking biotrainer.analysis"
