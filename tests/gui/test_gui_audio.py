"""The audio pacer rendered to a WAV (no sound card) and measured: tone pitches and onsets against the pacer."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from biotrainer.core.pacer import Pacer
from biotrainer.gui.audio import SAMPLE_RATE_HZ, TONE_S, TONES_HZ, render_tones, write_wav

FRAME_S = 1 / 25  # the live screen's redraw timer


def _pitch_hz(x: np.ndarray, fs: int) -> float:
    """Frequency of ``x`` from its rising zero crossings (linearly interpolated)."""
    i = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    t = i + (-x[i]) / (x[i + 1] - x[i])
    return (len(t) - 1) / ((t[-1] - t[0]) / fs)


def _onsets_s(x: np.ndarray, fs: int) -> np.ndarray:
    """Start times of the tones: the first sound after at least 0.5 s of silence."""
    loud = np.flatnonzero(x != 0)
    starts = loud[np.insert(np.diff(loud) > fs // 2, 0, True)]
    return starts / fs


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    pacer = Pacer(6.0, inhale_share=0.4)  # 4 s in, 6 s out
    duration_s = 60.0
    frames = [(k * FRAME_S, pacer.at(k * FRAME_S)) for k in range(int(duration_s / FRAME_S))]
    path = tmp_path_factory.mktemp("tones") / "pacer.wav"
    write_wav(path, render_tones(frames, duration_s, volume_0_1=0.5))
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE_HZ)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pacer, x


def test_one_tone_per_breath_segment_at_the_pacer_segment_starts(wav):
    pacer, x = wav
    onsets = _onsets_s(x, SAMPLE_RATE_HZ)
    expected = [t for t, seg, _k, _d in pacer.segment_starts(0.0, 60.0) if seg in TONES_HZ]
    assert len(onsets) == len(expected) == 12  # 6 breaths a minute: an inhale and an exhale tone each
    # the tone starts within one redraw frame (plus its raised-cosine fade-in reaching 1 %) of the segment start
    lag = onsets - np.array(expected)
    assert np.all(lag >= 0) and np.all(lag < FRAME_S + 0.005)  # the first audible sample is ~3 ms in
    assert np.diff(onsets)[:4] == pytest.approx([4.0, 6.0, 4.0, 6.0], abs=FRAME_S)


def test_inhale_rises_and_exhale_falls_in_pitch_at_the_volume_chosen(wav):
    _pacer, x = wav
    fs = SAMPLE_RATE_HZ
    onsets = _onsets_s(x, fs)
    half = int(0.03 * fs)  # 60-ms windows at a quarter and three quarters of each 0.7-s glide
    for i, t in enumerate(onsets[:4]):
        a = int(round(t * fs))
        seg = x[a:a + int(TONE_S * fs)].astype(float)
        (f0, f1) = TONES_HZ["inhale" if i % 2 == 0 else "exhale"]
        for share in (0.25, 0.75):
            c = int(share * TONE_S * fs)
            assert _pitch_hz(seg[c - half:c + half], fs) == pytest.approx(f0 + (f1 - f0) * share, abs=3)
    assert TONES_HZ["inhale"][1] > TONES_HZ["inhale"][0] and TONES_HZ["exhale"][1] < TONES_HZ["exhale"][0]
    peak = np.abs(x).max()
    assert peak == pytest.approx(0.35 * 32767 * 0.5, rel=0.02)  # tone amplitude × volume 0.5
    # silence between tones
    gap = x[int((onsets[0] + TONE_S + 0.1) * fs):int((onsets[1] - 0.05) * fs)]
    assert np.abs(gap).max() == 0
