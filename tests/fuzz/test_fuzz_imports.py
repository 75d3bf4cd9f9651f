"""Fuzz: mutated RR lists, EDF and XDF files through ``analyze`` and ``import``.

Every case must end with an exit code and at most one error line, never a traceback or a hang (each case runs
under a timeout). Seeded: case ``n``'s file depends only on ``n``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from biotrainer.cli import main
from tests.exchange.test_exchange_import import write_xdf

N_RR, N_EDF, N_XDF = 80, 80, 80

RR_LINES = ("800", "812,5", "-5", "0", "1e12", "nan", "inf", "", "   ", "abc", "800 810", "9" * 400, "\x00",
            "rr_ms", "RR (ms)", "rr_1024,participant", "1;2;3", "0.8", "\ufeff800", "800\r", "1e-300")


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    assert isinstance(code, int) and code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err
    if code != 0:
        lines = [line for line in err.splitlines() if line.startswith("biotrainer: error: ")]
        assert len(lines) == 1, err
    return code, out, err


def _flip(data: bytes, rng: random.Random, header: int | None = None) -> bytes:
    buf = bytearray(data)
    if rng.random() < 0.3:
        return bytes(buf[: rng.randrange(1, len(buf))])
    top = header if header and rng.random() < 0.6 else len(buf)
    for _ in range(rng.randint(1, 12)):
        buf[rng.randrange(min(top, len(buf)))] = rng.choice((0, 32, 45, 48, 57, 255, rng.randrange(256)))
    return bytes(buf)


@pytest.fixture(scope="module")
def rr_lines():
    rng = np.random.default_rng(3)
    return [f"{v:.0f}" for v in 900 + 40 * np.sin(np.arange(300) / 3) + rng.normal(0, 5, 300)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", range(N_RR), ids=lambda n: f"rr_{n:03d}")
def test_mutated_rr_file(case, rr_lines, tmp_path, capsys):
    rng = random.Random(1000 + case)
    lines = list(rr_lines)
    for _ in range(rng.randint(1, 6)):
        lines[rng.randrange(len(lines))] = rng.choice(RR_LINES)
    if case % 5 == 0:
        lines = lines[: rng.randrange(1, 4)]
    text = "\n".join(lines)
    path = tmp_path / rng.choice(("rr.txt", "rr.csv", "rr.tsv"))
    if case % 7 == 0:
        path.write_bytes(_flip(text.encode(), rng))
    else:
        path.write_text(text, encoding=rng.choice(("utf-8", "utf-8", "latin-1", "utf-16")), errors="replace")
    _run(capsys, ["analyze", str(path), "--json"])
    _run(capsys, ["import", str(path), "--library", str(tmp_path / "lib"), "--json"])


@pytest.fixture(scope="module")
def edf_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("edf")
    lib = root / "lib"
    assert main(["record", "--device", "sim:ecg,acc", "--protocol", "reset", "--duration", "20", "--speed", "max",
                 "--seed", "4", "--no-metrics", "--library", str(lib), "--quiet", "--json"]) == 0
    (session,) = (lib / "sessions").glob("*.sqlite")
    assert main(["export", str(session), "--format", "edf", "--out", str(root / "out"), "--library", str(lib)]) == 0
    (edf,) = (root / "out").rglob("*.edf")
    return edf.read_bytes()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", range(N_EDF), ids=lambda n: f"edf_{n:03d}")
def test_mutated_edf_file(case, edf_file, tmp_path, capsys):
    rng = random.Random(2000 + case)
    n_signals = int(edf_file[252:256].decode().strip())
    path = tmp_path / "rec.edf"
    path.write_bytes(_flip(edf_file, rng, header=256 * (1 + n_signals)))
    _run(capsys, ["import", str(path), "--library", str(tmp_path / "lib"), "--json"])


@pytest.fixture(scope="module")
def xdf_bytes(tmp_path_factory):
    rng = np.random.default_rng(11)
    rr_1024 = rng.integers(800, 1000, size=60)
    beat_ts = (1000.0 + np.cumsum(rr_1024) / 1024.0).tolist()
    ecg = rng.integers(-1500, 1500, size=130 * 10).astype(int).tolist()
    path = write_xdf(tmp_path_factory.mktemp("xdf") / "lab.xdf", (rr_1024 * 1000.0 / 1024.0).tolist(), beat_ts,
                     ecg, 1000.0, [(1000.5, "start"), (1010.25, "eyes closed")])
    return path.read_bytes()


@pytest.mark.timeout(30)
# import_xdf subtracts non-finite time stamps with a numpy RuntimeWarning (exchange/import_xdf.py, reported to its
# owner); what is asserted here is the outcome: one line, no traceback.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("case", range(N_XDF), ids=lambda n: f"xdf_{n:03d}")
def test_mutated_xdf_file(case, xdf_bytes, tmp_path, capsys):
    rng = random.Random(3000 + case)
    path = tmp_path / "lab.xdf"
    path.write_bytes(_flip(xdf_bytes, rng))
    _run(capsys, ["import", str(path), "--library", str(tmp_path / "lib"), "--json"])
