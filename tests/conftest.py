"""Fixtures shared by several test modules."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def rr_file(tmp_path_factory) -> Path:
    """A 400-s RR text export (one interval in ms per line) with 0.25-Hz RSA and one premature beat."""
    rng = np.random.default_rng(5)
    t, rr = 0.0, []
    while t < 400:
        r = 900 + 50 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 8)
        rr.append(r)
        t += r / 1000
    rr[100] *= 0.6  # one premature beat
    path = tmp_path_factory.mktemp("rr") / "export.txt"
    path.write_text("\n".join(f"{x:.0f}" for x in rr) + "\n")
    return path


RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


@pytest.fixture
def recording(tmp_path):
    """A copy of a shipped example recording (reading must not touch the repository's files)."""
    import shutil

    def copy(name: str) -> str:
        dest = tmp_path / name
        shutil.copyfile(RECORDINGS / name, dest)
        return str(dest)

    return copy


@pytest.fixture
def private_library(tmp_path, monkeypatch) -> Path:
    """``$BIOTRAINER_LIBRARY`` set to an empty folder of the test (``pytestmark = usefixtures(...)``)."""
    path = tmp_path / "library"
    monkeypatch.setenv("BIOTRAINER_LIBRARY", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_user_data_folders(tmp_path_factory, monkeypatch):
    """The user protocol and device folders are empty folders of the test run, never the developer's own."""
    empty = tmp_path_factory.getbasetemp() / "empty-user-folder"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("BIOTRAINER_PROTOCOLS", str(empty))
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(empty))
