"""Device profiles: shipped as package data, the user device folder beside them (overriding by file name)."""

from __future__ import annotations

import argparse
import json
import os
from importlib.resources import files
from pathlib import Path

import pytest

from biotrainer.core.errors import DeviceError
from biotrainer.sources.ble.profiles import load_profiles, shipped_devices_dir, user_devices_dir

SHIPPED = {"polar_h10", "polar_h9", "polar_oh1", "polar_verity_sense", "garmin_hrm_pro", "wahoo_tickr",
           "decathlon_hrm", "generic"}

ACME = """id = "acme_pulse"
model = "Acme Pulse"
vendor = "Acme"
kind = "arm band"
name_patterns = ["^Acme Pulse\\\\b"]
capabilities = ["hr"]
"""


@pytest.fixture
def user_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "devices"
    folder.mkdir()
    monkeypatch.setenv("BIOTRAINER_DEVICES", str(folder))
    return folder


def _my_h9(folder: Path) -> None:
    text = (shipped_devices_dir() / "polar_h9.toml").read_text(encoding="utf-8")
    assert 'model = "Polar H9"' in text
    (folder / "polar_h9.toml").write_text(text.replace('model = "Polar H9"', 'model = "My H9"'), encoding="utf-8")


def test_shipped_profiles_are_found_with_importlib_resources():
    resource = files("biotrainer.sources.ble") / "devices"
    assert {e.name for e in resource.iterdir() if e.name.endswith(".toml")} == {f"{i}.toml" for i in SHIPPED}
    assert shipped_devices_dir() == Path(str(resource))
    profiles = load_profiles(use_cache=False).profiles
    assert {p.id for p in profiles} == SHIPPED and {p.origin for p in profiles} == {"shipped"}
    assert {Path(p.path).parent for p in profiles} == {shipped_devices_dir()}


def test_user_file_replaces_the_shipped_one_of_its_name_and_new_files_add_models(user_folder):
    assert user_devices_dir() == user_folder
    _my_h9(user_folder)
    (user_folder / "acme_pulse.toml").write_text(ACME, encoding="utf-8")
    ps = load_profiles()
    assert {p.id for p in ps.profiles} == SHIPPED | {"acme_pulse"}
    assert ps.profiles[-1].id == "generic"
    h9 = ps.get("polar_h9")
    assert (h9.model, h9.origin, h9.path) == ("My H9", "user", str(user_folder / "polar_h9.toml"))
    assert ps.get("polar_h10").origin == "shipped" and ps.get("polar_h10").model == "Polar H10"
    assert ps.match("Acme Pulse 7").id == "acme_pulse" and ps.match("Polar H9 1234").model == "My H9"


def test_a_new_or_edited_user_file_is_seen_by_the_next_load(user_folder):
    assert "acme_pulse" not in {p.id for p in load_profiles().profiles}
    path = user_folder / "acme_pulse.toml"
    path.write_text(ACME, encoding="utf-8")
    assert load_profiles().get("acme_pulse").origin == "user"
    path.write_text(ACME.replace('model = "Acme Pulse"', 'model = "Acme Pulse 2"'), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))  # a later edit
    assert load_profiles().get("acme_pulse").model == "Acme Pulse 2"


def test_an_invalid_user_file_is_one_line_naming_it(user_folder):
    bad = user_folder / "acme_pulse.toml"
    bad.write_text(ACME.replace('capabilities = ["hr"]', 'capabilities = ["rr"]'), encoding="utf-8")
    with pytest.raises(DeviceError) as err:
        load_profiles(use_cache=False)
    assert str(bad) in str(err.value) and "must include 'hr'" in str(err.value) and "\n" not in str(err.value)


def test_an_explicit_folder_is_read_alone(tmp_path, user_folder):
    _my_h9(user_folder)
    with pytest.raises(DeviceError, match="device profile folder not found"):
        load_profiles(tmp_path / "nope")
    ps = load_profiles(shipped_devices_dir(), use_cache=False)
    assert {p.id for p in ps.profiles} == SHIPPED and ps.get("polar_h9").model == "Polar H9"
    assert {p.origin for p in ps.profiles} == {"shipped"}


def test_devices_command_says_which_profiles_are_the_users(user_folder, capsys):
    from biotrainer.cli import devices as devices_cli

    _my_h9(user_folder)
    assert devices_cli.run(argparse.Namespace(dir=None, json=False)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "polar_h9             My H9 [hr, rr, battery]  (user)  (not verified on hardware)" in lines
    assert "polar_h10            Polar H10 [hr, rr, ecg, acc, battery]  (not verified on hardware)" in lines
    assert lines[-1] == f"user device folder: {user_folder}"
    assert devices_cli.run(argparse.Namespace(dir=None, json=True)) == 0
    origins = {d["id"]: d["origin"] for d in json.loads(capsys.readouterr().out)}
    assert origins == {**dict.fromkeys(SHIPPED, "shipped"), "polar_h9": "user"}
