"""Soft pacer tones: a short rising tone at each inhale, a falling one at each exhale.

Tones are generated once (sine glide with slow fade in and out) and played through QtMultimedia's ``QSoundEffect``.
When QtMultimedia or an audio output is missing, :class:`TonePlayer` reports it once through ``on_notice`` and stays
silent for the rest of the run.

:func:`render_tones` plays a pacer through the same :class:`TonePlayer` decisions into a sample buffer instead of a
sound card (a WAV with :func:`write_wav`), so tests measure the tones and their timing against the pacer.
"""

from __future__ import annotations

import logging
import tempfile
import wave
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ: Final = 44_100
TONE_S: Final = 0.7
TONES_HZ: Final = {"inhale": (330.0, 440.0), "exhale": (330.0, 247.0)}


def tone_samples(f_start_hz: float, f_end_hz: float, duration_s: float = TONE_S,
                 fs_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """A soft sine glide from ``f_start_hz`` to ``f_end_hz`` as int16, raised-cosine faded (no clicks)."""
    n = int(duration_s * fs_hz)
    t = np.arange(n) / fs_hz
    f = np.linspace(f_start_hz, f_end_hz, n)
    phase = 2 * np.pi * np.cumsum(f) / fs_hz
    envelope = np.sin(np.pi * t / duration_s) ** 2
    return (0.35 * 32767 * envelope * np.sin(phase - phase[0] + t * 0)).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, fs_hz: int = SAMPLE_RATE_HZ) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(fs_hz)
        w.writeframes(samples.astype("<i2").tobytes())


class TonePlayer:
    """Plays a tone when the pacer enters inhale or exhale, at ``volume_0_1``; silent without audio output."""

    def __init__(self, on_notice: Callable[[str], None] | None = None, volume_0_1: float = 0.4,
                 enabled: bool = False, sink: Callable[[str, float], None] | None = None) -> None:
        self.on_notice = on_notice
        self.sink = sink  # instead of the sound card: sink(segment, volume) for every tone played
        self.volume_0_1 = volume_0_1
        self.enabled = enabled
        self.available: bool | None = None  # None: not tried yet
        self.unavailable_reason = ""
        self._effects: dict[str, object] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._last_segment_key: tuple[int, str] | None = None
        self.played = 0

    def _init(self) -> None:
        if self.sink is not None:
            self.available = True
            return
        try:
            from PyQt5.QtCore import QUrl
            from PyQt5.QtMultimedia import QAudio, QAudioDeviceInfo, QSoundEffect
        except Exception as exc:  # noqa: BLE001 - missing libpulse etc.
            self._unavailable(f"audio support is not installed ({exc})")
            return
        if QAudioDeviceInfo.defaultOutputDevice().isNull() and not QAudioDeviceInfo.availableDevices(
                QAudio.AudioOutput):
            self._unavailable("no audio output device")
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="biotrainer-tones-")
        for segment, (f0, f1) in TONES_HZ.items():
            path = Path(self._tmp.name) / f"{segment}.wav"
            write_wav(path, tone_samples(f0, f1))
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(self.volume_0_1)
            self._effects[segment] = effect
        self.available = True

    def _unavailable(self, reason: str) -> None:
        self.available = False
        self.unavailable_reason = reason
        log.info("pacer tones off: %s", reason)
        if self.on_notice is not None:
            self.on_notice(f"No audio output: pacer tones are off ({reason}).")

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled and self.available is None:
            self._init()

    def set_volume(self, volume_0_1: float) -> None:
        self.volume_0_1 = max(0.0, min(1.0, volume_0_1))
        for effect in self._effects.values():
            effect.setVolume(self.volume_0_1)  # type: ignore[attr-defined]

    def on_segment(self, breath_index: int, segment: str) -> None:
        """Call every frame with the pacer's breath and segment; plays once per new inhale/exhale."""
        key = (breath_index, segment)
        if key == self._last_segment_key:
            return
        self._last_segment_key = key
        if not self.enabled or segment not in TONES_HZ:
            return
        if self.available is None:
            self._init()
        if not self.available or self.volume_0_1 <= 0:
            return
        if self.sink is not None:
            self.sink(segment, self.volume_0_1)
        else:
            self._effects[segment].play()  # type: ignore[attr-defined]
        self.played += 1


def render_tones(frames: Iterable[tuple[float, object]], duration_s: float, volume_0_1: float = 0.4,
                 fs_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The sound a :class:`TonePlayer` makes for a pacer, as int16 samples of ``duration_s``.

    ``frames`` are ``(t_s, PacerPoint or None)`` as the screen's redraw timer sees them; each tone starts at the
    frame that started its segment and is scaled by the volume (QSoundEffect's linear volume).
    """
    out = np.zeros(int(duration_s * fs_hz), dtype=np.float64)
    now = {"t": 0.0}

    def sink(segment: str, volume: float) -> None:
        tone = tone_samples(*TONES_HZ[segment], fs_hz=fs_hz).astype(np.float64) * volume
        i = int(round(now["t"] * fs_hz))
        n = max(0, min(len(tone), len(out) - i))
        out[i:i + n] += tone[:n]

    player = TonePlayer(volume_0_1=volume_0_1, enabled=True, sink=sink)
    for t_s, point in frames:
        now["t"] = t_s
        if point is not None:
            player.on_segment(point.breath_index, point.segment)  # type: ignore[attr-defined]
    return np.clip(out, -32768, 32767).astype(np.int16)
