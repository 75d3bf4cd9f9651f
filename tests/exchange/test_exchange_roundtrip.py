"""Export formats (CSV, BIDS physio, EDF+) and their round trips through import, on recorded sessions."""

from __future__ import annotations

import gzip
import json
import os
import stat

import numpy as np
import pytest

from biotrainer.core.events import Beat, EcgFrame
from tests.helpers import ecg_concat, synthetic_session, tmp_library

MARKER_KINDS = ("phase", "pacer", "cue", "annotation", "session")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    lib = tmp_library(tmp_path_factory.mktemp("rt"))
    sid = synthetic_session(lib, 90.0, seed=5)
    gap_sid = synthetic_session(lib, 60.0, seed=6, gap=(20.0, 32.0), participants={"self": "P02"},
                                anchor=1_790_000_500.37)  # a fractional anchor: EDF starts on a whole second
    return lib, sid, gap_sid


def _load(lib, sid):
    from biotrainer.exchange.library import load_session

    return load_session(lib, sid)


def _beats(events):
    return sorted((e.beat_t_s, e.rr_1024) for e in events if isinstance(e, Beat))


def _markers(events):
    return sorted(((e.t_s, e.KIND, getattr(e, "name", "") or getattr(e, "segment", "") or getattr(e, "text", "")
                    or getattr(e, "state", "")) for e in events if e.KIND in MARKER_KINDS), key=str)


def _samples_at(segments, t_s, n):
    """The n samples starting at session time t_s, from whichever segment holds them."""
    for seg in segments:
        i = int(round((t_s - seg.t0_s) * seg.fs_hz))
        if 0 <= i and i + n <= seg.n:
            return seg.samples[i:i + n]
    raise AssertionError(f"no segment holds {n} samples at {t_s} s")


def test_csv_export_then_import_gives_identical_beats_markers_and_ecg(recorded, tmp_path):
    from biotrainer.exchange.csv_export import export_csv
    from biotrainer.exchange.library import import_path, save_session

    lib, sid, _ = recorded
    session = _load(lib, sid)
    files = export_csv(session, tmp_path / "csv")
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)
    beats_csv = next(f for f in files if f.name.endswith("_beats.csv"))
    first = beats_csv.read_text().splitlines()[:2]
    assert first[0].startswith("participant,role,") and "rr_1024" in first[0] and "rr_ms" in first[0]
    assert first[1].startswith("P01,self,")  # pseudonym and role, never a name

    back = import_path(tmp_path / "csv")
    assert _beats(back.events) == _beats(session.events)  # exact to the raw 1/1024 s unit and beat time
    orig_markers = [e for e in session.events if e.KIND in MARKER_KINDS]
    assert sorted((e for e in back.events if e.KIND in MARKER_KINDS), key=lambda e: (e.t_s, e.KIND)) == \
        sorted(orig_markers, key=lambda e: (e.t_s, e.KIND))
    assert np.array_equal(ecg_concat(back.events), ecg_concat(session.events))
    assert back.meta["participants"] == {"self": "P01"}

    # and it becomes a normal, complete session in the library
    new_id = save_session(lib, back)
    with lib.open(new_id) as reader:
        assert reader.complete
        assert np.array_equal(reader.beats().rr_1024, np.array([r for _, r in _beats(session.events)]))


def test_beats_csv_has_flags_and_corrected_values(recorded, tmp_path):
    import pandas as pd

    from biotrainer.exchange.csv_export import export_csv

    lib, sid, _ = recorded
    session = _load(lib, sid)
    export_csv(session, tmp_path)
    df = pd.read_csv(tmp_path / f"{sid}_beats.csv")  # plain: no comment line
    assert list(df.columns) == ["participant", "role", "device", "source", "arrival_t_s", "beat_t_s", "rr_1024",
                                "rr_ms", "flag", "rr_corrected_ms", "gap_before_s"]
    np.testing.assert_allclose(df.rr_ms, df.rr_1024 * 1000 / 1024)
    normal = df.flag == 0
    assert normal.mean() > 0.9
    # corrected values are the raw ones for nearly every beat (flags describe the first correction pass; later
    # passes may still move a few beats)
    same = np.isclose(df.rr_corrected_ms, df.rr_ms)
    assert same.mean() > 0.95 and df.rr_corrected_ms.notna().mean() > 0.95


def test_bids_tree_sidecars_and_headerless_files(recorded, tmp_path):
    from biotrainer.exchange.bids import export_bids, read_physio

    lib, sid, gap_sid = recorded
    sessions = [_load(lib, sid), _load(lib, gap_sid)]
    progress = []
    files = export_bids(sessions, tmp_path / "bids", progress=lambda d, n: progress.append((d, n)))
    assert progress == [(1, 2), (2, 2)]
    root = tmp_path / "bids"
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["BIDSVersion"] and desc["GeneratedBy"][0] == {"Name": "biotrainer", "Version": "0.1.0"}
    assert (root / "participants.tsv").read_text().splitlines() == ["participant_id\tpseudonym", "sub-P01\tP01",
                                                                      "sub-P02\tP02"]
    ses = sid.replace("-", "")
    stem = root / "sub-P01" / f"ses-{ses}" / "beh" / f"sub-P01_ses-{ses}_task-practice"
    ecg_file = stem.parent / (stem.name + "_recording-ecg_physio.tsv.gz")
    acc_file = stem.parent / (stem.name + "_recording-acc_physio.tsv.gz")
    sidecar, ecg = read_physio(ecg_file)
    for key in ("SamplingFrequency", "StartTime", "Columns"):
        assert key in sidecar
    assert sidecar["SamplingFrequency"] == 130.0 and sidecar["cardiac"]["Units"] == "uV"
    assert json.loads(acc_file.with_name(acc_file.name.replace(".tsv.gz", ".json")).read_text())[
        "SamplingFrequency"] == 200.0
    with gzip.open(ecg_file, "rt") as fh:
        first_line = fh.readline()
    float(first_line.split("\t")[0])  # no header row: the first line is data
    assert np.array_equal(ecg[:, 0], ecg_concat(sessions[0].events))
    import pandas as pd

    ev_file = stem.parent / (stem.name + "_events.tsv")
    ev_sidecar = json.loads(ev_file.with_suffix(".json").read_text())
    table = pd.read_csv(ev_file, sep="\t", na_values="n/a", keep_default_na=False)
    assert list(table.columns[:3]) == ["onset", "duration", "trial_type"]
    beat_rows = table[table.trial_type == "beat"]
    assert beat_rows.rr_1024.astype(int).tolist() == [r for _, r in _beats(sessions[0].events)]
    assert np.allclose(beat_rows.rr_ms, beat_rows.rr_1024 * 1000 / 1024)
    assert ev_sidecar["rr_ms"]["Units"] == "ms" and "Units" not in ev_sidecar["value"]  # value holds text
    assert ((table.trial_type == "annotation") & (table.value == "client coughed")).sum() == 1
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)

    # gaps stay gaps: n/a rows keep later samples on the nominal grid
    gses = gap_sid.replace("-", "")
    g_sidecar, gap_ecg = read_physio(root / "sub-P02" / f"ses-{gses}" / "beh" /
                                     f"sub-P02_ses-{gses}_task-practice_recording-ecg_physio.tsv.gz")
    missing = np.isnan(gap_ecg[:, 0])
    assert 10 * 130 < missing.sum() < 14 * 130
    assert np.array_equal(gap_ecg[~missing, 0], ecg_concat(sessions[1].events))


def test_edf_opens_in_pyedflib_and_mne_with_rates_units_and_annotations(recorded, tmp_path):
    import mne
    import pyedflib

    from biotrainer.exchange.edf import export_edf

    lib, sid, _ = recorded
    session = _load(lib, sid)
    path = export_edf(session, tmp_path / f"{sid}.edf")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    ecg = ecg_concat(session.events)
    with pyedflib.EdfReader(str(path)) as r:
        labels = r.getSignalLabels()
        assert labels == ["ECG chest", "MISC X chest", "MISC Y chest", "MISC Z chest"]
        assert r.getSampleFrequency(0) == 130 and r.getSampleFrequency(1) == 200
        assert r.getPhysicalDimension(0) == "uV" and r.getPhysicalDimension(1) == "mg"
        assert "biotrainer" in r.getEquipment()
        sig = r.readSignal(0, digital=True)
        seg = session.segments("ecg")[0]
        start = int(round(seg.t0_s * 130))  # file starts at session time 0 (markers at 0)
        assert np.array_equal(sig[start:start + len(ecg)], ecg)
        onsets, durations, texts = r.readAnnotations()
    beat_texts = [t for t in texts if t.startswith("beat ")]
    assert len(beat_texts) == sum(isinstance(e, Beat) for e in session.events)
    assert "note client coughed" in list(texts)
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error", infer_types=True)
    assert raw.info["sfreq"] == 200.0  # MNE brings every channel to the highest rate
    assert raw.ch_names == ["chest", "X chest", "Y chest", "Z chest"]
    assert raw.get_channel_types() == ["ecg", "misc", "misc", "misc"]  # was: eeg for every channel
    ecg_v = raw.get_data(picks=["chest"])[0]
    assert raw._orig_units["chest"] in ("uV", "µV")
    acc = np.concatenate([e.samples_mg for e in session.events if e.KIND == "acc"])
    # the accelerometer stays in milli-g (scale 1, not read as µV→V); MNE has no acceleration unit for misc
    assert np.max(np.abs(raw.get_data(picks=["X chest"])[0])) == pytest.approx(np.max(np.abs(acc[:, 0])), rel=0.05)
    # 1 µV per digital step: MNE's volts times 1e6 are the integer µV values (resampled 130→200 Hz)
    assert np.max(np.abs(ecg_v)) * 1e6 == pytest.approx(np.max(np.abs(ecg)), rel=0.05)
    assert any(d.startswith("phase start") for d in raw.annotations.description)


def test_edf_export_then_import_gives_same_beats_and_markers(recorded, tmp_path):
    from biotrainer.exchange.edf import annotation_text, export_edf
    from biotrainer.exchange.library import import_path

    lib, sid, _ = recorded
    session = _load(lib, sid)
    path = export_edf(session, tmp_path / "s.edf")
    back = import_path(path)
    a, b = _beats(session.events), _beats(back.events)
    assert [r for _, r in a] == [r for _, r in b]  # raw 1/1024 s units exactly
    np.testing.assert_allclose([t for t, _ in a], [t for t, _ in b], atol=1e-4)  # EDF+ onsets: 100 µs
    orig = sorted((round(e.t_s, 3), annotation_text(e)) for e in session.markers())
    got = sorted((round(e.t_s, 3), annotation_text(e)) for e in back.markers())
    assert got == orig
    for seg in session.segments("ecg"):
        assert np.array_equal(_samples_at(back.segments("ecg"), seg.t0_s, seg.n), seg.samples)


def test_edf_with_gap_marks_the_gap_and_import_restores_segments_at_true_times(recorded, tmp_path):
    import pyedflib

    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path

    lib, _, gap_sid = recorded
    session = _load(lib, gap_sid)
    path = export_edf(session, tmp_path / "gap.edf")
    with pyedflib.EdfReader(str(path)) as r:
        assert r.getSampleFrequency(0) == 130
        onsets, durations, texts = r.readAnnotations()
    gaps = [(o, d) for o, d, t in zip(onsets, durations, texts, strict=True) if t == "gap ecg"]
    inner = [(o, d) for o, d in gaps if d > 2.0]  # the others pad the file's first and last data record
    assert len(inner) == 1 and 11.0 < inner[0][1] < 13.5 and 19.0 < inner[0][0] < 21.0
    assert len(gaps) <= 3 and all(d < 1.2 for o, d in gaps if d <= 2.0)
    back = import_path(path)
    # samples after the gap come back at their true times
    segs_in, segs_out = session.segments("ecg"), back.segments("ecg")
    assert len(segs_out) >= 2
    for seg in segs_in:
        assert np.array_equal(_samples_at(segs_out, seg.t0_s, seg.n), seg.samples)
    a, b = _beats(session.events), _beats(back.events)
    assert [r for _, r in a] == [r for _, r in b]
    np.testing.assert_allclose([t for t, _ in a], [t for t, _ in b], atol=1e-4)  # session time base restored
    assert back.anchor_unix_s == pytest.approx(session.anchor_unix_s, abs=1e-3)


def test_edf_plus_d_option_leaves_out_records_without_data(recorded, tmp_path):
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.import_edf import _record_onsets
    from biotrainer.exchange.library import import_path

    lib, _, gap_sid = recorded
    session = _load(lib, gap_sid)
    path = export_edf(session, tmp_path / "gapd.edf", discontinuous=True)
    assert path.read_bytes()[192:197] == b"EDF+D"
    onsets, record_s = _record_onsets(path)
    left_out = (onsets[-1] + record_s - onsets[0]) / record_s - len(onsets)
    assert record_s == 1.0 and 9 <= left_out <= 13  # about 11 s of records without data left out
    jumps = np.diff(onsets)
    assert np.sum(jumps > 1.0) == 1 and 10.0 < jumps.max() < 14.0
    # pyedflib refuses EDF+D; our importer reads it and puts samples after the gap at their true time
    back = import_path(path)
    for seg in session.segments("ecg"):
        assert np.array_equal(_samples_at(back.segments("ecg"), seg.t0_s, seg.n), seg.samples)
    a, b = _beats(session.events), _beats(back.events)
    assert [r for _, r in a] == [r for _, r in b]
    np.testing.assert_allclose([t for t, _ in a], [t for t, _ in b], atol=1e-4)
    assert _markers(back.events) and {k for _, k, _ in _markers(back.events)} >= {"phase", "pacer", "annotation"}


def test_raw_reader_agrees_with_pyedflib_on_a_continuous_file(recorded, tmp_path):
    import pyedflib

    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.import_edf import RawEdfReader

    lib, sid, _ = recorded
    path = export_edf(_load(lib, sid), tmp_path / "c.edf")
    raw = RawEdfReader(path)
    with pyedflib.EdfReader(str(path)) as r:
        assert raw.getSignalLabels() == r.getSignalLabels()
        for i in range(len(raw.getSignalLabels())):
            assert raw.getSampleFrequency(i) == r.getSampleFrequency(i)
            np.testing.assert_allclose(raw.readSignal(i), r.readSignal(i))
        o1, d1, t1 = raw.readAnnotations()
        o2, d2, t2 = r.readAnnotations()
        a1 = sorted(zip(np.round(o1, 4).tolist(), map(str, t1), strict=True))
        a2 = sorted(zip(np.round(o2, 4).tolist(), map(str, t2), strict=True))
        assert a1 == a2 and len(a1) > 100
        assert raw.getStartdatetime() == r.getStartdatetime()


def test_imported_ecg_frames_are_stamped_at_their_last_sample(recorded, tmp_path):
    from biotrainer.exchange.model import frames_from_samples

    frames = frames_from_samples("ecg", participant="self", device="d", fs_hz=130.0, t0_s=2.0,
                                 samples=np.arange(200))
    assert all(isinstance(f, EcgFrame) for f in frames)
    assert np.array_equal(np.concatenate([f.samples_uv for f in frames]), np.arange(200))
    assert frames[0].sample_times_s()[0] == pytest.approx(2.0)
    assert frames[-1].last_sample_t_s == pytest.approx(2.0 + 199 / 130)


def test_two_participants_keep_their_roles_and_pseudonyms_in_every_format(tmp_path):
    import pyedflib

    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.csv_export import export_csv
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path
    from biotrainer.sources.sim.synthetic import SyntheticStrap
    from tests.helpers import ListSource, record

    lib = tmp_library(tmp_path)
    events = []
    for role, device, seed, markers in (("client", "AA:01", 3, True), ("therapist", "BB:02", 4, False)):
        strap = SyntheticStrap(40.0, seed=seed, participant=role, device=device, markers=markers)
        t = 0.0
        while not strap.finished:
            t += 1.0
            events.extend(strap.events_until(t))
    sid = record(lib, [ListSource(events)], participants={"client": "C12", "therapist": "T3"})
    session = _load(lib, sid)

    def beats(evs):
        return sorted((e.participant, e.beat_t_s, e.rr_1024) for e in evs if isinstance(e, Beat))

    edf = export_edf(session, tmp_path / "two.edf")
    with pyedflib.EdfReader(str(edf)) as r:
        assert r.getSignalLabels()[:2] == ["ECG client", "ECG therapist"]
    back = import_path(edf)
    assert [(p, r) for p, _, r in beats(back.events)] == [(p, r) for p, _, r in beats(session.events)]
    export_csv(session, tmp_path / "csv")
    back_csv = import_path(tmp_path / "csv")
    assert beats(back_csv.events) == beats(session.events)
    assert back_csv.meta["participants"] == {"client": "C12", "therapist": "T3"}
    import pandas as pd

    table = pd.read_csv(tmp_path / "csv" / f"{sid}_beats.csv")  # one session, both people, pseudonym + role
    assert sorted(set(zip(table.participant, table.role, strict=True))) == [("C12", "client"), ("T3", "therapist")]
    export_bids([session], tmp_path / "bids")
    assert sorted(p.name for p in (tmp_path / "bids").glob("sub-*")) == ["sub-C12", "sub-T3"]


def test_a_drifting_strap_clock_loses_no_sample_and_keeps_times_close(tmp_path):
    """ECG really sampled at 130.3 Hz but labelled 130 Hz: segments re-anchor, formats keep every sample."""
    import pyedflib

    from biotrainer.exchange.bids import export_bids, read_physio
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path
    from biotrainer.exchange.model import ExchangeSession

    true_fs, n_frames, per_frame = 130.3, 700, 73  # ~6.5 min
    rng = np.random.default_rng(9)
    samples = rng.integers(-3000, 3000, size=n_frames * per_frame).astype(np.int32)
    events = []
    for k in range(n_frames):
        last_t = 0.5 + ((k + 1) * per_frame - 1) / true_fs
        events.append(EcgFrame(t_s=last_t + 0.02, fs_hz=130.0, last_sample_t_s=last_t,
                               samples_uv=samples[k * per_frame:(k + 1) * per_frame]))
    session = ExchangeSession({"id": "drift", "anchor_unix_s": 1_790_000_000.0, "started_at": "2026-09-21T14:13:20"},
                              events)
    segs = session.segments("ecg")
    assert len(segs) > 3  # re-anchored as the drift grows
    assert np.array_equal(np.concatenate([s.samples for s in segs]), samples)
    true_t = 0.5 + np.arange(samples.size) / true_fs
    exported_t = np.concatenate([s.times_s() for s in segs])
    assert np.max(np.abs(exported_t - true_t)) <= 0.25 + 1 / 130

    path = export_edf(session, tmp_path / "drift.edf")
    with pyedflib.EdfReader(str(path)) as r:
        sig = r.readSignal(0, digital=True).astype(np.int64)
    assert np.array_equal(sig[np.flatnonzero(sig)], samples[samples != 0])  # every sample, in order
    back = import_path(path)
    assert np.array_equal(np.concatenate([s.samples for s in back.segments("ecg")]), samples)

    export_bids([session], tmp_path / "bids")
    physio = next((tmp_path / "bids").rglob("*_recording-ecg_physio.tsv.gz"))
    _, values = read_physio(physio)
    assert np.array_equal(values[~np.isnan(values[:, 0]), 0].astype(np.int64), samples)


def test_bids_export_then_import_gives_same_beats_markers_and_signals(recorded, tmp_path):
    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.library import import_path

    lib, _, gap_sid = recorded
    session = _load(lib, gap_sid)
    export_bids([session], tmp_path / "bids")
    folder = next((tmp_path / "bids" / "sub-P02").glob("ses-*/beh"))
    back = import_path(folder)
    assert _beats(back.events) == _beats(session.events)
    assert sorted(back.markers(), key=lambda e: (e.t_s, e.KIND)) == \
        sorted(session.markers(), key=lambda e: (e.t_s, e.KIND))
    assert back.meta["participants"] == {"self": "P02"}
    for kind in ("ecg", "acc"):
        for seg in session.segments(kind):
            assert np.array_equal(_samples_at(back.segments(kind), seg.t0_s, seg.n), seg.samples)
