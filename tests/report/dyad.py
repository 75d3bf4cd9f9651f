"""A recorded dyad (therapist + client following with coupling 0.6, seed 2) and a one-person session, through the
CLI, for the report and export tests of synchrony."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DYAD_ARGS = ("--device", "therapist=sim", "--device", "client=sim:follow=therapist,coupling=0.6", "--duration", "400",
             "--seed", "2")
SINGLE_ARGS = ("--duration", "200", "--seed", "3")


@dataclass(frozen=True)
class Recorded:
    library: Path
    dyad: str
    single: str


def record(library: Path, args: tuple[str, ...]) -> str:
    from biotrainer.cli import main

    before = {p.stem for p in (library / "sessions").glob("*.sqlite")}
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["record", "--library", str(library), "--speed", "max", "--quiet", "--no-metrics", *args]) == 0
    (new,) = {p.stem for p in (library / "sessions").glob("*.sqlite")} - before
    return new


def record_dyad_and_single(folder: Path) -> Recorded:
    library = folder / "lib"
    return Recorded(library, record(library, DYAD_ARGS), record(library, SINGLE_ARGS))


def cli_json(*args: str) -> Any:
    """``biotrainer ARGS --json`` parsed."""
    from biotrainer.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*args, "--json"]) == 0
    return json.loads(out.getvalue())


def synchrony_json(rec: Recorded) -> dict[str, Any]:
    """``biotrainer synchrony DYAD --json`` (default window, step, lag, surrogates and seed) without its
    ``pseudo_dyads`` test, which needs the rest of the library: reports and exports are of one session."""
    out = cli_json("synchrony", "--library", str(rec.library), rec.dyad)
    out.pop("pseudo_dyads")
    return out
