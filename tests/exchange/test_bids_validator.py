"""The BIDS export opened with the researchers' tool: the official BIDS validator (``bids-validator-deno``, BIDS 1.10,
bundled with its schema: it runs without the network), on one-person, gap and therapist–client sessions, the
synchrony derivative included; labels are injective; a dyad comes back as one session; start times are exact."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ListSource, record, synthetic_session, tmp_library

VALIDATOR = shutil.which("bids-validator-deno") or str(Path(sys.executable).with_name("bids-validator-deno"))
needs_validator = pytest.mark.skipif(not Path(VALIDATOR).exists(),
                                     reason="bids-validator-deno is not installed (pip install -e '.[test]')")
#: warnings the export must not cause (the issue's list); others are "recommended" keys a user adds (License…)
FORBIDDEN_WARNINGS = {"NO_AUTHORS", "TSV_ADDITIONAL_COLUMNS_UNDEFINED", "CUSTOM_COLUMN_WITHOUT_DESCRIPTION",
                      "GZIP_HEADER_FILENAME", "GZIP_HEADER_MTIME", "SIDECAR_KEY_REQUIRED", "NOT_INCLUDED"}


def validate(root: Path) -> dict:
    """The validator's JSON report (derivatives included)."""
    proc = subprocess.run([VALIDATOR, "-r", "--format", "json", str(root)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout)


def problems(report: dict) -> list[tuple[str, str, str]]:
    issues = list(report["issues"]["issues"])
    for sub in (report.get("derivativesSummary") or {}).values():
        issues.extend(sub["issues"]["issues"])
    return [(i["severity"], i["code"], i.get("location", "")) for i in issues
            if i["severity"] == "error" or i["code"] in FORBIDDEN_WARNINGS]


def dyad_session(lib, seconds: float = 40.0, participants=None, anchor: float = 1_790_000_000.52) -> str:
    from biotrainer.sources.sim.synthetic import SyntheticStrap

    events = []
    for role, device, seed, markers in (("client", "AA:01", 3, True), ("therapist", "BB:02", 4, False)):
        strap = SyntheticStrap(seconds, seed=seed, participant=role, device=device, markers=markers)
        t = 0.0
        while not strap.finished:
            t += 1.0
            events.extend(strap.events_until(t))
    return record(lib, [ListSource(events)], participants=participants or {"client": "C-12", "therapist": "T3"},
                  anchor=anchor)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    lib = tmp_library(tmp_path_factory.mktemp("bids"))
    return lib, dyad_session(lib), synthetic_session(lib, 60.0, seed=6, gap=(20.0, 32.0),
                                                     participants={"self": "P02"}, anchor=1_790_000_500.37)


def _load(lib, sid):
    from biotrainer.exchange.library import load_session

    return load_session(lib, sid)


@needs_validator
@pytest.mark.slow
def test_export_of_single_gap_and_dyad_sessions_passes_the_official_validator(recorded, tmp_path):
    from biotrainer.exchange.bids import export_bids

    lib, dyad, gap = recorded
    export_bids([_load(lib, dyad), _load(lib, gap)], tmp_path / "bids")
    report = validate(tmp_path / "bids")
    assert problems(report) == []
    assert sorted(report["summary"]["subjects"]) == ["C12", "P02", "T3"]
    # an export into the same dataset later keeps what is there and stays valid
    export_bids([_load(lib, gap)], tmp_path / "bids")
    assert problems(validate(tmp_path / "bids")) == []


@needs_validator
@pytest.mark.slow
def test_synchrony_derivative_passes_the_validator(tmp_path):
    from tests.report.dyad import cli_json, record

    library = tmp_path / "lib"
    dyad = record(library, ("--device", "therapist=sim", "--device", "client=sim:follow=therapist,coupling=0.6",
                            "--duration", "200", "--seed", "2"))
    out = cli_json("export", "--library", str(library), "--format", "bids", "--out", str(tmp_path / "bids"), dyad)
    assert any("derivatives/biotrainer-synchrony" in f and f.endswith("_desc-synchrony_beh.tsv")
               for f in out["files"])
    report = validate(tmp_path / "bids")
    assert list(report["derivativesSummary"]) == ["/derivatives/biotrainer-synchrony/"]
    assert report["derivativesSummary"]["/derivatives/biotrainer-synchrony/"]["summary"]["totalFiles"] == 4
    assert problems(report) == []


def test_a_dyad_is_one_session_with_roles_and_comes_back_as_one(recorded, tmp_path):
    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.library import import_path

    lib, dyad, _ = recorded
    session = _load(lib, dyad)
    export_bids([session], tmp_path / "bids")
    root = tmp_path / "bids"
    ses = f"ses-{dyad.replace('-', '')}"
    rows = {}
    for sub in ("C12", "T3"):
        head, row = (root / f"sub-{sub}" / f"sub-{sub}_sessions.tsv").read_text().splitlines()
        rows[sub] = dict(zip(head.split("\t"), row.split("\t"), strict=True))
    assert rows["C12"]["session_id"] == rows["T3"]["session_id"] == ses
    assert (rows["C12"]["role"], rows["C12"]["partners"]) == ("client", "therapist=sub-T3")
    assert (rows["T3"]["role"], rows["T3"]["partners"]) == ("therapist", "client=sub-C12")
    assert rows["C12"]["synthetic"] == "true"
    sidecar = json.loads((root / "sub-C12" / "sub-C12_sessions.json").read_text())
    assert all(sidecar[c]["Description"] for c in ("role", "partners", "synthetic", "protocol"))

    back = import_path(root / "sub-T3" / ses / "beh")  # either person's folder gives the whole session
    assert back.meta["participants"] == {"therapist": "T3", "client": "C-12"}  # the pseudonyms, '-' kept

    def beats(evs):
        return sorted((e.participant, e.beat_t_s, e.rr_1024) for e in evs if e.KIND == "beat")

    assert beats(back.events) == beats(session.events)
    assert sorted(back.markers(), key=lambda e: (e.t_s, e.KIND)) == sorted(session.markers(),
                                                                           key=lambda e: (e.t_s, e.KIND))
    assert back.meta["synthetic"] is True
    assert back.anchor_unix_s == pytest.approx(session.anchor_unix_s, abs=1e-6)  # was 0.52 s off
    for kind in ("ecg", "acc"):
        got = {(s.participant, round(s.t0_s, 6)): s.samples for s in back.segments(kind)}
        for seg in session.segments(kind):
            assert np.array_equal(got[(seg.participant, round(seg.t0_s, 6))], seg.samples)


@pytest.mark.parametrize("names", [("P-07", "P07"), ("P_07", "P07"), ("a/b", "ab")])
def test_labels_are_injective_and_collisions_name_both(tmp_path, names):
    from biotrainer.core.errors import ExportError
    from biotrainer.exchange.bids import export_bids

    lib = tmp_library(tmp_path)
    first = synthetic_session(lib, 20.0, seed=1, participants={"self": names[0]})
    second = synthetic_session(lib, 20.0, seed=2, participants={"self": names[1]})
    with pytest.raises(ExportError) as err:
        export_bids([_load(lib, first), _load(lib, second)], tmp_path / "bids")
    msg = str(err.value)
    assert "\n" not in msg and repr(names[0]) in msg and repr(names[1]) in msg and "sub-" in msg
    assert not (tmp_path / "bids").exists()  # nothing written
    # also against a dataset already holding the other person
    export_bids([_load(lib, first)], tmp_path / "bids")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "bids").rglob("*"))
    with pytest.raises(ExportError):
        export_bids([_load(lib, second)], tmp_path / "bids")
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "bids").rglob("*")) == before


def test_gaps_and_connection_events_are_rows_of_the_events_file(tmp_path):
    import pandas as pd

    from biotrainer.core.events import Beat, Connection
    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.library import import_path
    from biotrainer.exchange.model import ExchangeSession

    t = np.cumsum(np.full(60, 0.8))
    t[30:] += 10.0  # 10 s without beats while the strap was away
    events = [Beat(t_s=float(x), participant="self", device="AA", rr_1024=819, beat_t_s=float(x), source="strap")
              for x in t]
    events += [Connection(t_s=24.5, device="AA", state="disconnected", reason="link lost"),
               Connection(t_s=34.0, device="AA", state="connected")]
    session = ExchangeSession({"id": "s1", "anchor_unix_s": 1_790_000_000.0, "participants": {"self": "P5"}},
                              events)
    export_bids([session], tmp_path / "bids")
    (ev,) = (tmp_path / "bids").rglob("*_events.tsv")
    table = pd.read_csv(ev, sep="\t", na_values="n/a", keep_default_na=False)
    gaps = table[table.trial_type == "gap"]
    assert gaps.value.tolist() == ["beats"] and gaps.duration.iloc[0] == pytest.approx(10.0, abs=1e-3)
    assert table[table.trial_type == "connection"].value.tolist() == ["disconnected", "connected"]
    back = import_path(ev)
    assert [(e.t_s, e.state, e.reason, e.device) for e in back.events if isinstance(e, Connection)] == \
        [(24.5, "disconnected", "link lost", "AA"), (34.0, "connected", "", "AA")]
