"""XDF imports checked against pyxdf itself: ECG sample times are pyxdf's synchronised, dejittered times (not the
raw, jittery LSL stamps), so beats found in the ECG land on its R-peaks; a truncated file says what is missing;
damaged timestamps are one line, not ``OverflowError``."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import Beat, EcgFrame
from tests.exchange.test_exchange_import import _chunk, _footer, _samples, _stream_header

FS = 130.0
TRUE_FS = 130.02  # the strap's real clock


def jittery_ecg_xdf(path, seconds=120.0, seed=4, truncate=False, stamp_scale=1.0):
    """One ECG stream (no RR stream): QRS spikes at known beats, delivered in 73-sample chunks whose LSL stamps
    jitter by 10–80 ms (the last sample of a chunk stamped at its arrival, the others back-computed at 130 Hz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * TRUE_FS)
    true_t = 1000.0 + np.arange(n) / TRUE_FS
    beats = 1000.5 + np.cumsum(rng.uniform(0.75, 0.95, int(seconds * 1.5)))
    beats = beats[beats < true_t[-1] - 1]
    ecg = rng.normal(0, 15, n)
    for b in beats:
        k = int(np.searchsorted(true_t, b))
        ecg[k - 2:k + 3] += [300, 900, 1600, 900, 300]
    stamps = np.empty(n)
    for start in range(0, n, 73):
        stop = min(start + 73, n)
        arrival = true_t[stop - 1] + rng.uniform(0.010, 0.080)
        stamps[start:stop] = arrival - (stop - 1 - np.arange(start, stop)) / FS
    stamps = stamps * stamp_scale
    out = bytearray(b"XDF:")
    out += _chunk(1, b"<?xml version=\"1.0\"?><info><version>1.0</version>"
                     b"<datetime>2026-11-20T10:00:00+00:00</datetime></info>")
    out += _stream_header(1, "PolarECG", "ECG", 1, FS, "int32", "microvolts")
    for start in range(0, n, 730):  # one chunk per ~5.6 s
        stop = min(start + 730, n)
        out += _samples(1, stamps[start:stop].tolist(), [[int(v)] for v in ecg[start:stop]], "int32")
    full = len(out)
    out += _footer(1, float(stamps[0]), float(stamps[-1]), n)
    data = bytes(out[: full // 2]) if truncate else bytes(out)
    path.write_bytes(data)
    k_beats = np.searchsorted(true_t, beats)
    return path, stamps, k_beats


def _pyxdf_times(path):
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=True, verbose=False)
    return np.asarray(streams[0]["time_stamps"], dtype=float)


def test_ecg_sample_times_are_pyxdfs_dejittered_times_and_beats_land_on_r_peaks(tmp_path):
    from biotrainer.exchange.library import import_path

    path, stamps, k_beats = jittery_ecg_xdf(tmp_path / "ecg.xdf")
    raw_back = np.sum(np.diff(stamps) < 0)
    assert raw_back > 10  # the raw stamps do run backwards (the defect's cause)
    s = import_path(path)
    frames = sorted((e for e in s.events if isinstance(e, EcgFrame)), key=lambda f: f.last_sample_t_s)
    times = np.concatenate([f.sample_times_s() for f in frames])
    dejittered = _pyxdf_times(path)
    ref = dejittered - dejittered[0]
    assert len(times) == len(ref)
    assert np.all(np.diff(times) > 0)  # was: backwards thousands of times
    assert np.max(np.abs(times - ref)) < 0.5 / FS  # was: up to 0.33 s off
    beats = np.array(sorted(e.beat_t_s for e in s.events if isinstance(e, Beat)))
    peaks = ref[k_beats]  # the true R-peaks on pyxdf's time base
    nearest = np.abs(beats[:, None] - peaks[None, :]).min(axis=1)
    assert len(beats) >= len(peaks) - 1  # every R-peak but the first ends an interval
    assert np.max(nearest) < 0.016  # every beat within two samples of an R-peak (was −80…+210 ms)


def test_a_truncated_xdf_imports_what_is_there_and_says_what_is_missing(tmp_path, capsys):
    from biotrainer.cli import main
    from biotrainer.exchange.library import import_path

    path, _, _ = jittery_ecg_xdf(tmp_path / "cut.xdf", truncate=True)
    s = import_path(path)
    (warning,) = s.meta["imported_from"]["warnings"]
    assert "'PolarECG'" in warning and "no footer" in warning and "truncated" in warning
    n = sum(len(e.samples_uv) for e in s.events if isinstance(e, EcgFrame))
    assert f"the {n} samples present" in warning
    assert main(["import", str(path), "--library", str(tmp_path / "lib")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("biotrainer: warning: cut.xdf: stream 'PolarECG' (ECG) has no footer") and \
        err.count("\n") == 1
    from biotrainer.store import Library

    [info] = Library(tmp_path / "lib").list_sessions()
    with Library(tmp_path / "lib").open(info.id) as reader:
        assert reader.meta.to_dict()["imported_from"]["warnings"] == [warning]  # kept with the session


def test_a_footer_counting_more_samples_than_present_is_named(tmp_path):
    from biotrainer.exchange.library import import_path

    out = bytearray(b"XDF:") + _chunk(1, b"<?xml version=\"1.0\"?><info><version>1.0</version></info>")
    out += _stream_header(1, "RR", "RR", 1, 0.0, "float32", "ms")
    out += _samples(1, [1.0, 1.8, 2.6], [[800.0], [800.0], [800.0]], "float32")
    out += _footer(1, 1.0, 5.0, 6)
    (tmp_path / "short.xdf").write_bytes(bytes(out))
    s = import_path(tmp_path / "short.xdf")
    assert s.meta["imported_from"]["warnings"] == [
        "short.xdf: stream 'RR' (RR): 3 of 6 samples present (damaged or truncated file), up to 1.6 s"]


@pytest.mark.parametrize("stamp", [1e300, float("inf")])
def test_damaged_timestamps_are_one_line(tmp_path, stamp):
    from biotrainer.exchange.library import import_path

    out = bytearray(b"XDF:") + _chunk(1, b"<?xml version=\"1.0\"?><info><version>1.0</version></info>")
    out += _stream_header(1, "RR", "RR", 1, 0.0, "float32", "ms")
    out += _samples(1, [1.0, stamp], [[800.0], [800.0]], "float32")
    out += _footer(1, 1.0, 2.0, 2)
    (tmp_path / "bad.xdf").write_bytes(bytes(out))
    with pytest.raises(ImportFormatError) as err:  # was: OverflowError: timestamp out of range
        import_path(tmp_path / "bad.xdf")
    assert str(err.value).startswith(f"{tmp_path / 'bad.xdf'}: damaged XDF file") and "\n" not in str(err.value)
    assert struct  # (the writer packs doubles)
