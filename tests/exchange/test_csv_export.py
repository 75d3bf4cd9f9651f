"""The CSV export opened as a researcher does: plain ``pandas.read_csv`` (no comment line), metadata in the JSON
sidecar, gaps and connection events visible, both people of a dyad in one session, ``synthetic`` kept."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.report.dyad import record


@pytest.fixture(scope="module")
def disconnected(tmp_path_factory):
    """A simulated strap with ECG and ACC that drops its link from 20 to 30 s."""
    library = tmp_path_factory.mktemp("csv") / "lib"
    sid = record(library, ("--device", "sim:ecg,acc,disconnect=20-30", "--duration", "60", "--seed", "3"))
    return library, sid


def _export(library, sid, out):
    from biotrainer.exchange.csv_export import export_csv
    from biotrainer.exchange.library import load_session
    from biotrainer.store import Library

    session = load_session(Library(library), sid)
    return session, export_csv(session, out)


def test_every_file_reads_with_plain_read_csv_and_metadata_is_in_the_sidecar(disconnected, tmp_path):
    import pandas as pd

    library, sid = disconnected
    session, files = _export(library, sid, tmp_path)
    names = sorted(p.name.removeprefix(sid) for p in files)
    assert names == ["_acc.csv", "_beats.csv", "_ecg.csv", "_hr.csv", "_markers.csv", "_meta.json"]
    for f in files:
        if f.suffix == ".csv":
            table = pd.read_csv(f)
            assert len(table.columns) > 3 and not table.columns[0].startswith("#"), f.name
    beats = pd.read_csv(tmp_path / f"{sid}_beats.csv")
    assert beats.rr_1024.tolist() == [e.rr_1024 for e in sorted(
        (e for e in session.events if e.KIND == "beat"), key=lambda b: b.beat_t_s)]
    meta = json.loads((tmp_path / f"{sid}_meta.json").read_text())
    assert meta["software"] == "biotrainer" and meta["session"]["id"] == sid
    assert meta["session"]["synthetic"] is True and meta["session"]["participants"] == {"self": "me"}
    assert meta["units"]["rr_1024"] == "1/1024 s" and f"{sid}_beats.csv" in meta["files"]


def test_gaps_and_connection_events_are_visible(disconnected, tmp_path):
    import pandas as pd

    library, sid = disconnected
    _export(library, sid, tmp_path)
    beats = pd.read_csv(tmp_path / f"{sid}_beats.csv")
    gap = beats.gap_before_s.dropna()
    assert len(gap) == 1 and 8.0 < gap.iloc[0] < 12.0  # the beats jump over the 10-s disconnection, now said
    start = beats.beat_t_s[gap.index[0]] - beats.rr_ms[gap.index[0]] / 1000 - gap.iloc[0]
    assert 19.0 < start < 22.0
    markers = pd.read_csv(tmp_path / f"{sid}_markers.csv", keep_default_na=False)
    conn = markers[markers.kind == "connection"]
    assert "disconnected" in conn.label.tolist() and conn.participant.eq("me").all()
    gaps = markers[markers.kind == "gap"]
    assert sorted(gaps.label) == ["acc", "beats", "ecg"]
    assert all(8.0 < float(d) < 12.0 for d in gaps.duration_s)


def test_reimport_keeps_connection_events_roles_and_synthetic(disconnected, tmp_path):
    from biotrainer.core.events import Connection
    from biotrainer.exchange.library import import_path

    library, sid = disconnected
    session, _ = _export(library, sid, tmp_path)
    back = import_path(tmp_path)
    assert back.meta["synthetic"] is True and back.meta["participants"] == {"self": "me"}
    assert [e for e in back.events if isinstance(e, Connection)] == session.connections()
    got, want = back.gaps(), session.gaps()  # (ECG/ACC times are written to the microsecond)
    assert [(g.stream, g.participant) for g in got] == [(g.stream, g.participant) for g in want]
    assert np.allclose([(g.start_s, g.end_s) for g in got], [(g.start_s, g.end_s) for g in want], atol=1e-5)


def test_exports_of_earlier_versions_with_a_comment_line_still_import(tmp_path):
    from biotrainer.exchange.library import import_path

    (tmp_path / "s_beats.csv").write_text(
        "# biotrainer 0.1.0 export; session s; started_at 2026-09-21T14:13:20; times in s since session start\n"
        "participant,device,source,arrival_t_s,beat_t_s,rr_1024,rr_ms,flag,rr_corrected_ms\n"
        "P1,AA,strap,1.0,0.9,922,900.390625,0,\nP1,AA,strap,2.0,1.8,921,899.4140625,0,\n")
    (tmp_path / "s_meta.json").write_text(json.dumps({"session": {"id": "s", "participants": {"self": "P1"},
                                                                  "anchor_unix_s": 1_790_000_000.0}}))
    back = import_path(tmp_path)
    assert [(e.participant, e.rr_1024) for e in back.events if e.KIND == "beat"] == [("self", 922), ("self", 921)]
    assert back.anchor_unix_s == 1_790_000_000.0


def test_a_dyad_is_one_session_with_both_roles(tmp_path):
    import pandas as pd

    from tests.exchange.test_bids_validator import dyad_session
    from tests.helpers import tmp_library

    lib = tmp_library(tmp_path)
    sid = dyad_session(lib)
    _export(lib.root, sid, tmp_path / "out")
    for kind in ("beats", "ecg", "acc", "hr"):
        table = pd.read_csv(tmp_path / "out" / f"{sid}_{kind}.csv")
        assert sorted(set(zip(table.participant, table.role, strict=True))) == [("C-12", "client"),
                                                                                ("T3", "therapist")], kind
    ecg = pd.read_csv(tmp_path / "out" / f"{sid}_ecg.csv")
    assert np.all(np.diff(ecg[ecg.role == "client"].t_s) > 0)
