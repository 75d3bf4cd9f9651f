"""Installing like real software: the wheel carries the shipped data, which is found with importlib.resources
(not beside a checkout), and ``biotrainer --version`` is the package's version."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import biotrainer
from biotrainer.cli import main
from biotrainer.protocols import list_protocols, protocol_files, shipped_protocols_dir

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = {"box-breathing", "breath-counting", "breath-meditation", "extended-exhale", "reset", "resonance-adaptive",
             "resonance-assessment",
             "resonance-training", "resting-baseline", "therapy-session"}
DEVICES = {"decathlon_hrm", "garmin_hrm_pro", "generic", "polar_h10", "polar_h9", "polar_oh1", "polar_verity_sense",
           "wahoo_tickr"}


def _pyproject_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def test_loader_finds_every_shipped_protocol_via_importlib_resources():
    resource = files("biotrainer.protocols") / "shipped"
    assert {e.name for e in resource.iterdir() if e.name.endswith(".toml")} == {f"{n}.toml" for n in PROTOCOLS}
    assert shipped_protocols_dir() == Path(str(resource))
    assert {name: origin for name, (origin, _) in protocol_files().items()} == dict.fromkeys(PROTOCOLS, "shipped")
    listed = {s.name: s for s in list_protocols()}  # every shipped file validates
    assert set(listed) == PROTOCOLS and listed["reset"].duration_s == 180.0


def test_version_is_the_package_metadata_version(capsys):
    expected = _pyproject_version()
    assert importlib.metadata.version("biotrainer") == expected
    assert biotrainer.__version__ == expected
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"biotrainer {expected}\n"


def test_version_of_a_checkout_that_is_not_installed_comes_from_pyproject(monkeypatch):
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert biotrainer._version() == _pyproject_version()


def test_version_from_another_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "biotrainer", "--version"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == f"biotrainer {_pyproject_version()}\n" and out.stderr == ""


def _build_wheel(out: Path) -> Path:
    """Build the wheel offline from a clean copy of what the build reads (no build/ left in the checkout)."""
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "biotrainer", src / "biotrainer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out / "dist"), str(src)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (out / "dist").glob("biotrainer-*.whl")
    return wheel


@pytest.mark.slow
def test_built_wheel_carries_every_module_protocol_and_device_profile(tmp_path):
    wheel = _build_wheel(tmp_path)
    version = _pyproject_version()
    assert wheel.name == f"biotrainer-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        protocols = {n.removeprefix("biotrainer/protocols/shipped/").removesuffix(".toml") for n in names
                     if n.startswith("biotrainer/protocols/shipped/") and n.endswith(".toml")}
        devices = {n.removeprefix("biotrainer/sources/ble/devices/").removesuffix(".toml") for n in names
                   if n.startswith("biotrainer/sources/ble/devices/") and n.endswith(".toml")}
        assert protocols == PROTOCOLS and devices == DEVICES
        for name in ("biotrainer/protocols/shipped/reset.toml", "biotrainer/sources/ble/devices/polar_h10.toml"):
            assert z.read(name) == (ROOT / name).read_bytes()
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "biotrainer").rglob("*.py")}
        assert modules <= names, sorted(modules - names)
        dist_info = f"biotrainer-{version}.dist-info"
        assert "biotrainer = biotrainer.cli:entry" in z.read(f"{dist_info}/entry_points.txt").decode()
        assert f"\nVersion: {version}\n" in z.read(f"{dist_info}/METADATA").decode()
    assert not {n for n in names if n.startswith(("tests/", "recordings/", "benchmarks/", "packaging/"))}
