"""Run benchmarks against an earlier revision and this checkout in one go, and print the ratios.

Machines here are shared and noisy, so two versions are only comparable when measured in the same run: this script
exports ``REV`` (``git archive``) into a temporary folder and runs each benchmark script alternately with that tree
and with this checkout first on ``PYTHONPATH`` (``--rounds`` times each, ABAB…). Every number a benchmark prints is
matched by its line (the line with its numbers blanked out) and its position in that line; the table shows the
median of each side and new/old.

Run: ``python benchmarks/compare_revisions.py REV bench_metrics.py bench_replay.py [--rounds 2] [-- ARGS...]``.
Which direction is better depends on the number (a time: lower; a "× real time": higher); the script does not guess.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def export_revision(rev: str, into: Path) -> None:
    """Write the tree of ``rev`` into ``into`` (nothing in the checkout changes)."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")


def run_once(tree: Path, script: Path, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, str(tree / "benchmarks" / script.name), *args], env=env,
                          capture_output=True, text=True, cwd=str(tree))
    if proc.returncode != 0:
        raise SystemExit(f"{script.name} failed with {tree}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def numbers_by_line(text: str) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], float] = {}
    for line in text.splitlines():
        key = NUMBER.sub("#", line.strip())
        for i, m in enumerate(NUMBER.finditer(line)):
            out[(key, i)] = float(m.group())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the earlier revision (commit, tag, branch)")
    ap.add_argument("scripts", nargs="+", help="benchmark scripts in benchmarks/")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each version (alternating)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # after --: arguments for every script
    ns = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as tmp:
        old_tree = Path(tmp)
        export_revision(ns.rev, old_tree)
        for name in ns.scripts:
            script = Path(name)
            runs: dict[str, list[dict[tuple[str, int], float]]] = {"old": [], "new": []}
            for _ in range(ns.rounds):
                runs["old"].append(numbers_by_line(run_once(old_tree, script, extra)))
                runs["new"].append(numbers_by_line(run_once(ROOT, script, extra)))
            print(f"== {script.name}: {ns.rev} (old) vs this checkout (new), median of {ns.rounds} runs each")
            keys = [k for k in runs["new"][0] if all(k in r for r in runs["old"] + runs["new"])]
            same = 0
            for key in keys:
                old = statistics.median(r[key] for r in runs["old"])
                new = statistics.median(r[key] for r in runs["new"])
                if all(r[key] == old for r in runs["old"] + runs["new"]):
                    same += 1  # a count or a setting, not a measurement
                    continue
                ratio = f"{new / old:6.2f}" if old else "   n/a"
                print(f"  new/old {ratio}   old {old:<12g} new {new:<12g}  {key[0][:80]}  [#{key[1] + 1}]")
            print(f"  ({same} numbers equal in every run, e.g. event counts, not shown)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
