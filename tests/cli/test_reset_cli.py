"""``biotrainer reset``: the three-minute reset at once with the last strap, tagged "before client"."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_reset_uses_the_last_strap_and_stores_the_label_and_intention(tmp_path, capsys):
    from biotrainer.cli import main
    from biotrainer.store import Library

    lib = str(tmp_path / "lib")
    assert main(["reset", "--library", lib]) == 2
    assert capsys.readouterr().err.strip() == (
        f"biotrainer: error: no strap used yet in library {tmp_path / 'lib'}: give --device ADDRESS (or --device "
        "sim to try the reset with the simulator)")
    assert main(["record", "--device", "sim:hr=70", "--participant", "T1", "--duration", "20", "--speed", "max",
                 "--quiet", "--library", lib]) == 0
    capsys.readouterr()
    assert main(["reset", "--before", "C07", "--intention", "soft belly", "--speed", "max", "--quiet", "--json",
                 "--library", lib]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"] == "reset" and out["participants"] == {"self": "T1"} and out["beats"] > 150
    with Library(lib).open(out["id"]) as reader:
        meta = reader.meta
        assert meta.title == "Reset before C07" and meta.settings["before_client"] == "C07"
        assert meta.devices[0]["spec"] == "sim:hr=70" and meta.intention == "soft belly"
    assert main(["reset", "--before", "a\nb", "--library", lib]) == 2
    assert "--before: a short label on one line" in capsys.readouterr().err
