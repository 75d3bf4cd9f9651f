"""The EDF+ export opened with pyedflib and MNE: every participant's pseudonym, channels typed (ECG ``ecg``,
accelerometer ``misc`` in milli-g), every channel placed at its recorded time to within half a sample, the session
id whole, ``synthetic`` kept, EDF+D re-imported without its zero fill and with the pseudonyms."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.core.events import AccFrame, Beat, EcgFrame
from biotrainer.exchange.model import ExchangeSession

ANCHOR = 1_790_000_000.52
FS_ECG = 130.0


def _frames(cls, role, device, t0, fs, n_frames, per_frame, seed, skip=()):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_frames):
        if k in skip:
            continue
        last = t0 + ((k + 1) * per_frame - 1) / fs
        if cls is EcgFrame:  # smooth (MNE resamples it) with a random phase and noise
            t = last - np.arange(per_frame - 1, -1, -1) / fs
            uv = 1500 * np.sin(2 * np.pi * 1.1 * t + seed) + rng.integers(-20, 20, per_frame)
            out.append(EcgFrame(t_s=last + 0.03, participant=role, device=device, fs_hz=fs, last_sample_t_s=last,
                                samples_uv=uv.astype(np.int32)))
        else:
            out.append(AccFrame(t_s=last + 0.03, participant=role, device=device, fs_hz=fs, last_sample_t_s=last,
                                samples_mg=rng.integers(-1000, 1000, (per_frame, 3)).astype(np.int16)))
    return out


def make_dyad(all_gap: bool = False) -> ExchangeSession:
    """Two people, sub-sample offsets between all channels, a 5-s ECG gap for the therapist (``all_gap``: every
    channel stops from about 22.5 to 28 s)."""
    ecg_gap, acc_gap = range(40, 49), range(63, 78)
    events = [*_frames(EcgFrame, "client", "AA", 0.3137, 130.0, 120, 73, 1, skip=ecg_gap if all_gap else ()),
              *_frames(EcgFrame, "therapist", "BB", 0.0021, 130.0, 120, 73, 2, skip=ecg_gap),
              *_frames(AccFrame, "client", "AA", 0.1234, 200.0, 140, 72, 3, skip=acc_gap if all_gap else ()),
              *_frames(AccFrame, "therapist", "BB", 0.4567, 200.0, 140, 72, 4, skip=acc_gap if all_gap else ())]
    for role, dev, rr in (("client", "AA", 800), ("therapist", "BB", 900)):
        t = 1.0
        while t < 60:
            t += rr / 1024
            events.append(Beat(t_s=t, participant=role, device=dev, rr_1024=rr, beat_t_s=t, source="strap"))
    return ExchangeSession({"id": "20260921-141320-e26a", "anchor_unix_s": ANCHOR, "synthetic": True,
                            "participants": {"client": "C-12", "therapist": "T3"}}, events)


@pytest.fixture
def dyad():
    return make_dyad()


def _placed_at(sig, samples, start_s, fs):
    """File time of the first occurrence of ``samples`` in a channel."""
    n = 30
    hits = [i for i in range(len(sig) - n) if np.array_equal(sig[i:i + n], samples[:n])]
    assert len(hits) == 1
    return start_s + hits[0] / fs


def test_every_channel_sits_at_its_recorded_time_to_half_a_sample(dyad, tmp_path):
    import pyedflib

    from biotrainer.exchange.edf import export_edf

    path = export_edf(dyad, tmp_path / "d.edf")
    with pyedflib.EdfReader(str(path)) as r:
        start = r.getStartdatetime().timestamp() - ANCHOR  # session time of the file start
        labels = r.getSignalLabels()
        signals = {lab: (r.readSignal(i, digital=True), r.getSampleFrequency(i)) for i, lab in enumerate(labels)}
    checked = 0
    for kind in ("ecg", "acc"):
        for seg in dyad.segments(kind):
            label = f"ECG {seg.participant}" if kind == "ecg" else f"MISC X {seg.participant}"
            sig, fs = signals[label]
            first = seg.samples if kind == "ecg" else seg.samples[:, 0]
            offset = (_placed_at(sig, first, start, fs) - seg.t0_s) * fs
            assert abs(offset) <= 0.5 + 1e-6, (label, seg.t0_s, offset)
            checked += 1
    assert checked == 5  # the therapist's ECG is two segments


def test_header_names_everyone_keeps_the_session_id_and_synthetic(dyad, tmp_path):
    import pyedflib

    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path

    path = export_edf(dyad, tmp_path / "d.edf")
    with pyedflib.EdfReader(str(path)) as r:
        assert r.getPatientCode() == "client=C-12,therapist=T3"  # was: the therapist only
        assert r.getAdmincode() == "20260921-141320-e26a"  # was cut to '20260921-1'
    header = path.read_bytes()[:256]
    assert b"synthetic" in header[8:88] and b"t0_s=-0.52" in header[88:168]
    back = import_path(path)
    assert back.meta["participants"] == {"client": "C-12", "therapist": "T3"}
    assert back.meta["synthetic"] is True
    assert back.meta["imported_from"]["session_id"] == "20260921-141320-e26a"
    assert back.anchor_unix_s == pytest.approx(ANCHOR, abs=1e-6)


def test_mne_types_ecg_and_misc_and_keeps_the_scales(dyad, tmp_path):
    import mne

    from biotrainer.exchange.edf import export_edf

    path = export_edf(dyad, tmp_path / "d.edf")
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error", infer_types=True)
    types = dict(zip(raw.ch_names, raw.get_channel_types(), strict=True))
    assert types == {"client": "ecg", "therapist": "ecg", "X client": "misc", "Y client": "misc",
                     "Z client": "misc", "X therapist": "misc", "Y therapist": "misc", "Z therapist": "misc"}
    assert raw._orig_units["client"] in ("uV", "µV")
    ecg = np.concatenate([e.samples_uv for e in dyad.events if isinstance(e, EcgFrame) and e.participant == "client"])
    acc = np.concatenate([e.samples_mg for e in dyad.events if isinstance(e, AccFrame) and e.participant == "client"])
    assert np.max(np.abs(raw.get_data(picks=["client"])[0])) == pytest.approx(np.max(np.abs(ecg)) * 1e-6, rel=0.05)
    assert np.max(np.abs(raw.get_data(picks=["X client"])[0])) == pytest.approx(np.max(np.abs(acc[:, 0])), rel=0.05)


@pytest.mark.parametrize("plus_d", [False, True])
def test_reimport_keeps_pseudonyms_and_adds_no_zero_samples(tmp_path, plus_d):
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path

    dyad = make_dyad(all_gap=True)
    path = export_edf(dyad, tmp_path / "d.edf", discontinuous=plus_d)
    assert (path.read_bytes()[192:197] == b"EDF+D") is plus_d
    back = import_path(path)
    assert back.meta["participants"] == {"client": "C-12", "therapist": "T3"}  # was: roles only, for EDF+D
    for kind in ("ecg", "acc"):
        for role in ("client", "therapist"):
            want = [s for s in dyad.segments(kind) if s.participant == role]
            got = [s for s in back.segments(kind) if s.participant == role]
            assert sum(s.n for s in got) == sum(s.n for s in want), (kind, role)  # no zero fill taken as data
            assert np.array_equal(np.concatenate([s.samples for s in got]),
                                  np.concatenate([s.samples for s in want]))
            for g, w in zip(got, want, strict=True):
                assert abs(g.t0_s - w.t0_s) <= 0.5 / w.fs_hz + 1e-6


def test_connection_events_and_beat_gaps_are_annotations(tmp_path):
    import pyedflib

    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import import_path, load_session
    from biotrainer.store import Library
    from tests.report.dyad import record

    library = tmp_path / "lib"
    sid = record(library, ("--device", "sim:ecg,acc,disconnect=20-30", "--duration", "60", "--seed", "3"))
    session = load_session(Library(library), sid)
    path = export_edf(session, tmp_path / "s.edf")
    with pyedflib.EdfReader(str(path)) as r:
        onsets, durations, texts = r.readAnnotations()
    texts = list(texts)
    assert "connection disconnected" in texts and "connection connected" in texts
    i = texts.index("gap beats")
    assert 8.0 < durations[i] < 12.0 and 19.0 < onsets[i] < 23.0
    back = import_path(path)
    assert [e.state for e in back.events if e.KIND == "connection"] == [e.state for e in session.connections()]


def test_a_damaged_event_time_is_refused_without_allocating_the_span(tmp_path):
    from biotrainer.core.errors import ExportError
    from biotrainer.exchange.edf import export_edf

    dyad = make_dyad()
    dyad.events.append(Beat(t_s=1e12, participant="client", device="AA", rr_1024=800, beat_t_s=1e12, source="strap"))
    with pytest.raises(ExportError, match="damaged event time") as err:  # was: a 931 GiB allocation
        export_edf(dyad, tmp_path / "d.edf")
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())


def test_a_beats_only_session_has_a_misc_heart_rate_channel_in_mne(tmp_path):
    import mne

    from biotrainer.exchange.edf import export_edf

    dyad = make_dyad()
    beats_only = ExchangeSession(dyad.meta, [e for e in dyad.events if isinstance(e, Beat)])
    raw = mne.io.read_raw_edf(export_edf(beats_only, tmp_path / "b.edf"), infer_types=True, verbose="error")
    assert raw.ch_names == ["HR derived"] and raw.get_channel_types() == ["misc"]  # was: eeg


def test_a_strap_whose_first_frames_are_timed_late_is_placed_by_its_settled_frames(tmp_path):
    """Was: the channel was anchored at the first frame, stamped before the strap's clock offset had settled, and
    every later sample sat ~2 samples late (the reported 'client ECG 2 samples late')."""
    import dataclasses

    import pyedflib

    from biotrainer.exchange.edf import export_edf

    frames = _frames(EcgFrame, "self", "AA", 0.2, FS_ECG, 100, 73, 7)
    frames[:3] = [dataclasses.replace(f, last_sample_t_s=f.last_sample_t_s + 2 / FS_ECG) for f in frames[:3]]
    session = ExchangeSession({"id": "s", "anchor_unix_s": ANCHOR, "participants": {"self": "P1"}}, frames)
    path = export_edf(session, tmp_path / "s.edf")
    with pyedflib.EdfReader(str(path)) as r:
        start = r.getStartdatetime().timestamp() - ANCHOR
        sig = r.readSignal(0, digital=True)
    for f in (frames[10], frames[50], frames[99]):
        first_t = f.last_sample_t_s - (len(f.samples_uv) - 1) / FS_ECG
        assert abs(_placed_at(sig, f.samples_uv, start, FS_ECG) - first_t) * FS_ECG <= 0.5 + 1e-6
