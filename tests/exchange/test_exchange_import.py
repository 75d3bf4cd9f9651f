"""Imports from other tools (RR files, LabRecorder XDF, foreign EDF) and their one-line errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import SESSION, Annotation, Beat, PhaseMarker

# --- a minimal XDF writer (the format LabRecorder writes), for test files ----------------------------------------

def _chunk(tag: int, content: bytes) -> bytes:
    n = len(content) + 2
    return bytes([4]) + struct.pack("<I", n) + struct.pack("<H", tag) + content


def _stream_header(sid: int, name: str, stype: str, n_ch: int, srate: float, fmt: str, unit: str) -> bytes:
    chans = "".join(f"<channel><label>c{i}</label><unit>{unit}</unit></channel>" for i in range(n_ch))
    xml = (f"<?xml version=\"1.0\"?><info><name>{name}</name><type>{stype}</type><channel_count>{n_ch}"
           f"</channel_count><nominal_srate>{srate}</nominal_srate><channel_format>{fmt}</channel_format>"
           f"<source_id>{name}</source_id><created_at>0</created_at><desc><channels>{chans}</channels></desc>"
           "</info>")
    return _chunk(2, struct.pack("<I", sid) + xml.encode())


def _samples(sid: int, stamps, values, fmt: str) -> bytes:
    body = bytearray(struct.pack("<I", sid)) + bytes([4]) + struct.pack("<I", len(stamps))
    for t, row in zip(stamps, values, strict=True):
        body += bytes([8]) + struct.pack("<d", t)
        for v in row:
            if fmt == "string":
                b = v.encode()
                body += bytes([4]) + struct.pack("<I", len(b)) + b
            elif fmt == "float32":
                body += struct.pack("<f", v)
            else:
                body += struct.pack("<i", int(v))
    return _chunk(3, bytes(body))


def _footer(sid: int, first: float, last: float, n: int) -> bytes:
    xml = (f"<?xml version=\"1.0\"?><info><first_timestamp>{first}</first_timestamp><last_timestamp>{last}"
           f"</last_timestamp><sample_count>{n}</sample_count></info>")
    return _chunk(6, struct.pack("<I", sid) + xml.encode())


def write_xdf(path, rr_ms, beat_ts, ecg_uv, ecg_t0, markers):
    out = bytearray(b"XDF:")
    out += _chunk(1, b"<?xml version=\"1.0\"?><info><version>1.0</version>"
                     b"<datetime>2026-11-20T10:00:00+00:00</datetime></info>")
    out += _stream_header(1, "PolarRR", "RR", 1, 0.0, "float32", "ms")
    out += _stream_header(2, "PolarECG", "ECG", 1, 130.0, "int32", "microvolts")
    out += _stream_header(3, "Stim", "Markers", 1, 0.0, "string", "")
    out += _samples(1, beat_ts, [[r] for r in rr_ms], "float32")
    ecg_t = ecg_t0 + np.arange(len(ecg_uv)) / 130.0
    out += _samples(2, ecg_t.tolist(), [[v] for v in ecg_uv], "int32")
    out += _samples(3, [t for t, _ in markers], [[m] for _, m in markers], "string")
    out += _footer(1, beat_ts[0], beat_ts[-1], len(beat_ts))
    out += _footer(2, float(ecg_t[0]), float(ecg_t[-1]), len(ecg_uv))
    out += _footer(3, markers[0][0], markers[-1][0], len(markers))
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def xdf_file(tmp_path):
    from biotrainer.exchange.lsl_outlet import marker_text

    rng = np.random.default_rng(11)
    rr_1024 = rng.integers(800, 1000, size=40)
    rr_ms = (rr_1024 * 1000.0 / 1024.0).tolist()  # exactly representable in float32
    beat_ts = (1000.0 + np.cumsum(rr_1024) / 1024.0).tolist()
    ecg = rng.integers(-1500, 1500, size=130 * 20).astype(int).tolist()
    phase = PhaseMarker(t_s=0.0, participant=SESSION, name="baseline", index=0, state="start", duration_s=30.0)
    markers = [(1000.5, marker_text(phase)), (1010.25, "eyes closed")]
    return write_xdf(tmp_path / "lab.xdf", rr_ms, beat_ts, ecg, 1000.0, markers), rr_1024, beat_ts, ecg


def test_xdf_streams_become_beats_ecg_and_markers(xdf_file):
    from biotrainer.exchange.library import import_path

    path, rr_1024, beat_ts, ecg = xdf_file
    s = import_path(path, participant="P9")
    beats = [e for e in s.events if isinstance(e, Beat)]
    assert [b.rr_1024 for b in beats] == rr_1024.tolist()
    t0 = 1000.0  # earliest timestamp (the ECG's first sample) is session time 0
    np.testing.assert_allclose([b.beat_t_s for b in beats], np.array(beat_ts) - t0, atol=1e-6)
    segs = s.segments("ecg")
    assert len(segs) == 1 and segs[0].fs_hz == 130.0
    assert np.array_equal(segs[0].samples, ecg)
    phase = [e for e in s.events if isinstance(e, PhaseMarker)]
    assert phase and phase[0].name == "baseline" and phase[0].t_s == pytest.approx(0.5)
    assert Annotation(t_s=pytest.approx(10.25), participant=SESSION, text="eyes closed") in s.events
    assert s.meta["participants"] == {"self": "P9"}
    assert s.meta["started_at"].startswith("2026-11-20")


def test_truncated_xdf_is_a_one_line_error_naming_the_file(xdf_file, tmp_path):
    from biotrainer.exchange.library import import_path

    path = xdf_file[0]
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(path.read_bytes()[:700])
    with pytest.raises(ImportFormatError) as err:
        import_path(cut)
    msg = str(err.value)
    assert msg.startswith(str(cut)) and "\n" not in msg
    not_xdf = tmp_path / "fake.xdf"
    not_xdf.write_bytes(b"hello")
    with pytest.raises(ImportFormatError, match="fake.xdf: not an XDF file"):
        import_path(not_xdf)


def test_plain_rr_file_in_ms_and_in_seconds(tmp_path):
    from biotrainer.exchange.import_rr import import_rr

    p = tmp_path / "kubios.txt"
    p.write_text("812\n# comment\n\n845.5\n790\n")
    s = import_rr(p)
    beats = [e for e in s.events if isinstance(e, Beat)]
    assert [b.rr_1024 for b in beats] == [round(812 * 1.024), round(845.5 * 1.024), round(790 * 1.024)]
    np.testing.assert_allclose([b.beat_t_s for b in beats], np.cumsum([812, 845.5, 790]) / 1000.0)
    p2 = tmp_path / "seconds.txt"
    p2.write_text("0.812\n0.8455\n")
    assert [e.rr_1024 for e in import_rr(p2).events] == [831, 866]


def test_rr_file_with_a_text_line_names_file_and_line(tmp_path):
    from biotrainer.exchange.import_rr import import_rr

    p = tmp_path / "elite.txt"
    p.write_text("812\n845\nsensor lost\n790\n")
    with pytest.raises(ImportFormatError, match=r"elite.txt: line 3 is not an RR interval: 'sensor lost'"):
        import_rr(p)


def test_csv_with_rr_column_and_exact_rr_1024(tmp_path):
    from biotrainer.exchange.import_rr import import_rr

    p = tmp_path / "hrvlogger.csv"
    p.write_text("timestamp,RR (ms),hr\n1,812.5,74\n2,900,67\n")
    assert [e.rr_1024 for e in import_rr(p).events] == [832, 922]
    p2 = tmp_path / "raw.csv"
    p2.write_text("beat_t_s,rr_1024\n1.5,800\n2.3,819\n")
    events = import_rr(p2).events
    assert [(e.beat_t_s, e.rr_1024) for e in events] == [(1.5, 800), (2.3, 819)]
    p3 = tmp_path / "norr.csv"
    p3.write_text("time,value\n1,2\n")
    with pytest.raises(ImportFormatError, match="norr.csv: no RR column"):
        import_rr(p3)


def test_edf_without_ecg_channel_or_beats_is_rejected_with_its_channels(tmp_path):
    import pyedflib

    from biotrainer.exchange.library import import_path

    p = tmp_path / "eeg.edf"
    w = pyedflib.EdfWriter(str(p), 1, pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": "EEG Fz", "dimension": "uV", "sample_frequency": 100, "physical_min": -500,
                         "physical_max": 500, "digital_min": -32768, "digital_max": 32767}])
    w.writeSamples([np.zeros(300)])
    w.close()
    with pytest.raises(ImportFormatError, match=r"eeg.edf: no ECG channel and no beat annotations \(channels: "
                                                r"EEG Fz\)"):
        import_path(p)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0" * 100)
    with pytest.raises(ImportFormatError, match="bad.edf: not a readable EDF"):
        import_path(bad)


@pytest.mark.slow  # R-peak detection (neurokit2) on 30 s of ECG
def test_foreign_edf_ecg_without_annotations_gets_beats_from_r_peaks(tmp_path):
    import pyedflib

    from biotrainer.exchange.library import import_path

    fs = 250
    t = np.arange(fs * 30) / fs
    beat_times = np.arange(0.5, 30, 0.8)  # 75 bpm
    ecg_mv = sum(1.2 * np.exp(-((t - bt) ** 2) / (2 * 0.01 ** 2)) for bt in beat_times)
    p = tmp_path / "holter.edf"
    w = pyedflib.EdfWriter(str(p), 1, pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": "ECG II", "dimension": "mV", "sample_frequency": fs, "physical_min": -5,
                         "physical_max": 5, "digital_min": -32768, "digital_max": 32767}])
    w.writeSamples([ecg_mv])
    w.close()
    s = import_path(p)
    assert s.segments("ecg")[0].samples.max() == pytest.approx(1200, abs=2)  # mV → µV
    beats = [e for e in s.events if isinstance(e, Beat)]
    assert len(beats) >= len(beat_times) - 3
    np.testing.assert_allclose(np.median([b.rr_ms for b in beats]), 800.0, atol=5.0)


def test_missing_file_is_a_one_line_error(tmp_path):
    from biotrainer.exchange.library import import_path

    with pytest.raises(ImportFormatError, match="nothere.txt: file not found"):
        import_path(tmp_path / "nothere.txt")


def test_truncated_edf_is_a_one_line_error(tmp_path):
    import pyedflib

    from biotrainer.exchange.library import import_path

    p = tmp_path / "full.edf"
    w = pyedflib.EdfWriter(str(p), 1, pyedflib.FILETYPE_EDFPLUS)
    w.setSignalHeaders([{"label": "ECG", "dimension": "uV", "sample_frequency": 130, "physical_min": -32768,
                         "physical_max": 32767, "digital_min": -32768, "digital_max": 32767}])
    w.writeSamples([np.zeros(130 * 10)])
    w.close()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(p.read_bytes()[:-500])
    with pytest.raises(ImportFormatError) as err:
        import_path(cut)
    assert str(err.value).startswith(f"{cut}: ") and "\n" not in str(err.value)
