"""Device profiles (devices/*.toml): schema, matching by advertised name, CLI listing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from biotrainer.core.errors import DeviceError
from biotrainer.sources.ble.profiles import CAPABILITIES, load_profile_file, load_profiles

SHIPPED = {"polar_h10", "polar_h9", "polar_oh1", "polar_verity_sense", "garmin_hrm_pro", "wahoo_tickr",
           "decathlon_hrm", "generic"}

GOOD = """id = "{id}"
model = "Model"
vendor = "Vendor"
kind = "chest strap"
name_patterns = ["^Model\\\\b"]
capabilities = ["hr", "rr"]
"""


def test_every_shipped_profile_loads_and_generic_is_last():
    profiles = load_profiles(use_cache=False).profiles
    assert {p.id for p in profiles} == SHIPPED
    assert profiles[-1].id == "generic"
    for p in profiles:
        assert "hr" in p.capabilities and p.capabilities <= set(CAPABILITIES)
        assert set(p.pmd_streams) <= p.capabilities | {"ecg", "acc"}
        assert Path(p.path).stem == p.id


@pytest.mark.parametrize("name, profile_id", [
    ("Polar H10 0A1B2C3D", "polar_h10"),
    ("Polar H9 12345678", "polar_h9"),
    ("Polar OH1 A1B2C3D4", "polar_oh1"),
    ("Polar Sense B5C6D7E8", "polar_verity_sense"),
    ("HRM-Pro:123456", "garmin_hrm_pro"),
    ("TICKR 4F2A", "wahoo_tickr"),
    ("Decathlon Dual HR", "decathlon_hrm"),
    ("Polar H100 (not a product)", "generic"),
    ("Unknown strap", "generic"),
    ("", "generic"),
    (None, "generic"),
])
def test_name_picks_profile_unknown_is_generic(name, profile_id):
    assert load_profiles().match(name).id == profile_id


def test_no_name_matches_two_specific_profiles():
    profiles = [p for p in load_profiles().profiles if p.id != "generic"]
    names = ["Polar H10 0A1B2C3D", "Polar H9 1", "Polar OH1 1", "Polar Sense 1", "HRM-Pro:1", "TICKR 1",
             "Decathlon Dual HR"]
    for name in names:
        assert sum(p.matches(name) for p in profiles) == 1, name


def test_only_h10_and_generic_start_pmd_and_h10_needs_mtu():
    ps = load_profiles()
    assert {p.id for p in ps.profiles if p.pmd_streams} == {"polar_h10", "generic"}
    assert ps.get("polar_h10").min_mtu == 232
    assert "rr" not in ps.get("polar_oh1").capabilities  # optical: no RR over the Heart Rate Service


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, words", [
    (GOOD.format(id="x") + "colour = 'red'\n", "unknown field 'colour'"),
    (GOOD.format(id="x").replace('model = "Model"\n', ""), "missing required field 'model'"),
    (GOOD.format(id="x").replace('["hr", "rr"]', '["hr", "spo2"]'), "unknown value 'spo2'"),
    (GOOD.format(id="x").replace('["hr", "rr"]', '["rr"]'), "must include 'hr'"),
    (GOOD.format(id="x").replace('"chest strap"', '"ring"'), "field 'kind'"),
    (GOOD.format(id="x").replace('["^Model\\\\b"]', '["("]'), "invalid regular expression"),
    (GOOD.format(id="x") + "[quirks]\nmin_mtu = 5\n", "quirks.min_mtu"),
    (GOOD.format(id="x") + "[quirks]\nmin_mtu = true\n", "quirks.min_mtu"),
    (GOOD.format(id="x") + "[quirks]\nsneeze = 1\n", "unknown field 'quirks.sneeze'"),
    (GOOD.format(id="y"), "file is named 'x.toml'"),
    ("id = [", "not valid TOML"),
])
def test_schema_errors_are_one_line_naming_file_and_field(tmp_path, text, words):
    path = write(tmp_path, "x.toml", text)
    with pytest.raises(DeviceError) as err:
        load_profile_file(path)
    message = str(err.value)
    assert words in message and str(path) in message and "\n" not in message


def test_folder_needs_generic_and_unique_ids(tmp_path):
    write(tmp_path, "x.toml", GOOD.format(id="x"))
    with pytest.raises(DeviceError, match="no 'generic.toml'"):
        load_profiles(tmp_path, use_cache=False)
    write(tmp_path, "generic.toml", GOOD.format(id="generic").replace('"chest strap"', '"generic"'))
    ps = load_profiles(tmp_path, use_cache=False)
    assert [p.id for p in ps.profiles] == ["x", "generic"]
    assert ps.match("Model 12").id == "x" and ps.match("Other").id == "generic"
    with pytest.raises(DeviceError, match="unknown device profile 'nope'"):
        ps.get("nope")


def test_adding_a_model_is_adding_a_file(tmp_path):
    for p in load_profiles().profiles:
        write(tmp_path, Path(p.path).name, Path(p.path).read_text())
    assert load_profiles(tmp_path, use_cache=False).match("Acme Pulse 3").id == "generic"
    write(tmp_path, "acme_pulse.toml", GOOD.format(id="acme_pulse").replace("^Model", "^Acme Pulse"))
    assert load_profiles(tmp_path, use_cache=False).match("Acme Pulse 3").id == "acme_pulse"


def test_devices_cli_json_lists_every_profile(capsys):
    from biotrainer.cli import devices as devices_cli

    assert devices_cli.run(argparse.Namespace(dir=None, json=True)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in listed} == SHIPPED
    h10 = next(d for d in listed if d["id"] == "polar_h10")
    assert h10["capabilities"] == ["hr", "rr", "ecg", "acc", "battery"] and h10["quirks"]["min_mtu"] == 232
