"""Lab Streaming Layer inlet as a session source: ``--device lsl:NAME`` (SCIENCE.md §8).

Another lab tool's heart stream drives a session. :class:`LslInletSource` resolves every stream whose name *or*
source id is ``NAME`` and turns its samples into the usual events, by LSL stream type (case-insensitive):

- ``RR`` / ``IBI`` / ``RRI``: one RR interval per sample (ms; seconds when the channel unit says ``s``) →
  :class:`~biotrainer.core.events.Beat` with ``rr_1024`` rounded to 1/1024 s, ``beat_t_s`` the sample's timestamp,
  ``source="lsl"``;
- ``HR``: heart rate in bpm → :class:`~biotrainer.core.events.HeartRate`;
- ``ECG``: first channel, µV (mV/V scaled by the channel unit) → :class:`~biotrainer.core.events.EcgFrame` per chunk;
- ``ACC``: first three channels in milli-g (``g`` scaled) → :class:`~biotrainer.core.events.AccFrame` per chunk;
- ``Markers``: a biotrainer marker JSON (see :func:`biotrainer.exchange.lsl_outlet.marker_text`) becomes the original event,
  any other string an :class:`~biotrainer.core.events.Annotation`.

Streams of other types are ignored with a log message. Time: LSL timestamps are clock-corrected by pylsl
(``proc_clocksync``) to this machine's ``local_clock``, then mapped to session time with the offset
``local_clock() - now_s()`` taken at :meth:`start` (or an explicit ``lsl_offset_s``). Events are stamped with
their arrival session time (``t_s``) like every device source; beat and sample times come from LSL.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.core.events import (
    SESSION,
    AccFrame,
    Annotation,
    Beat,
    Connection,
    EcgFrame,
    Event,
    HeartRate,
    from_record,
    rr_ms_to_1024,
)
from biotrainer.core.source import PushSource

log = logging.getLogger(__name__)

RR_TYPES = frozenset({"rr", "ibi", "rri", "nn"})
UNIT_TO_UV = {"uv": 1.0, "microvolts": 1.0, "µv": 1.0, "mv": 1000.0, "millivolts": 1000.0, "v": 1e6, "volts": 1e6}
UNIT_TO_MG = {"mg": 1.0, "milli-g": 1.0, "millig": 1.0, "g": 1000.0}


def _channel_units(info: Any) -> list[str]:
    units = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        units.append(ch.child_value("unit").strip().lower())
        ch = ch.next_sibling()
    return units


LSL_CONFIG_ENV = "LSLAPICFG"


def quiet_liblsl() -> None:
    """Keep liblsl's INFO lines off the terminal when the user has no LSL configuration of their own.

    liblsl logs at INFO level to stderr by default. When neither ``$LSLAPICFG`` nor one of liblsl's standard
    config files (``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``) exists, point
    ``$LSLAPICFG`` at a config that only lowers the log level; a lab's own configuration always wins. Must run
    before the first pylsl call of the process (liblsl reads its configuration once).
    """
    import os
    import tempfile
    from pathlib import Path

    if os.environ.get(LSL_CONFIG_ENV):
        return
    standard = (Path("lsl_api.cfg"), Path.home() / "lsl_api" / "lsl_api.cfg", Path("/etc/lsl_api/lsl_api.cfg"))
    if any(p.is_file() for p in standard):
        return
    cfg = Path(tempfile.gettempdir()) / f"biotrainer-lsl-{os.getuid() if hasattr(os, 'getuid') else 0}.cfg"
    try:
        if not cfg.is_file():
            cfg.write_text("[log]\nlevel = -3\n", encoding="ascii")
    except OSError:
        return
    os.environ[LSL_CONFIG_ENV] = str(cfg)


class LslInletSource(PushSource):
    """Push source reading heart data from Lab Streaming Layer streams named ``name``.

    Parameters
    ----------
    name : str
        Stream name or source id to resolve (``NAME`` in ``--device lsl:NAME``).
    participant : str
        Participant the events belong to.
    resolve_timeout_s : float
        How long :meth:`connect` waits for the stream to appear.
    lsl_offset_s : float, optional
        LSL time of session time 0; default measured at :meth:`start`.
    poll_s : float
        Sleep between pulls when no data is waiting.
    """

    def __init__(self, name: str, *, participant: str = "self", resolve_timeout_s: float = 5.0,
                 lsl_offset_s: float | None = None, poll_s: float = 0.02) -> None:
        if not name:
            raise DeviceError("LSL stream name is empty: use --device lsl:NAME")
        self.stream_name = name
        self.name = f"lsl:{name}"
        self.participant = participant
        self.resolve_timeout_s = resolve_timeout_s
        self.lsl_offset_s = lsl_offset_s
        self.poll_s = poll_s
        self._inlets: list[tuple[str, Any, dict[str, Any]]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.samples_received = 0

    # --- connection -------------------------------------------------------------------------------------------

    def connect(self) -> list[str]:
        """Resolve and open the streams; returns their LSL types. Raises DeviceError when none is found."""

        quiet_liblsl()
        import pylsl

        if self._inlets:
            return [t for t, _, _ in self._inlets]
        pred = f"name='{self.stream_name}' or source_id='{self.stream_name}'"
        infos = pylsl.resolve_bypred(pred, 1, self.resolve_timeout_s)
        if not infos:
            raise DeviceError(f"no Lab Streaming Layer stream named {self.stream_name!r} found within "
                              f"{self.resolve_timeout_s:g} s", DeviceErrorReason.NOT_FOUND)
        for info in infos:
            stype = info.type().strip().lower()
            if stype not in RR_TYPES and stype not in {"hr", "ecg", "acc", "markers"}:
                log.info("LSL stream %r has type %r: ignored", info.name(), info.type())
                continue
            inlet = pylsl.StreamInlet(info, max_buflen=360, processing_flags=pylsl.proc_clocksync)
            full = inlet.info(timeout=self.resolve_timeout_s)
            inlet.open_stream(timeout=self.resolve_timeout_s)
            meta = {"units": _channel_units(full), "fs_hz": full.nominal_srate(),
                    "channels": full.channel_count(), "source_id": full.source_id()}
            self._inlets.append((stype, inlet, meta))
        if not self._inlets:
            raise DeviceError(f"Lab Streaming Layer stream {self.stream_name!r} carries no heart data "
                              f"(types: {', '.join(sorted({i.type() for i in infos}))})",
                              DeviceErrorReason.NOT_SUPPORTED)
        return [t for t, _, _ in self._inlets]

    # --- PushSource -------------------------------------------------------------------------------------------

    def start(self, emit: Callable[[Event], None], now_s: Callable[[], float]) -> None:
        import pylsl

        self.connect()
        if self.lsl_offset_s is None:
            self.lsl_offset_s = pylsl.local_clock() - now_s()
        emit(Connection(t_s=now_s(), participant=self.participant, device=self.name, state="connected"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(emit, now_s), name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for _, inlet, _ in self._inlets:
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001 - closing must not raise
                log.debug("closing LSL inlet failed", exc_info=True)
        self._inlets.clear()

    def _run(self, emit: Callable[[Event], None], now_s: Callable[[], float]) -> None:
        while not self._stop.is_set():
            got = 0
            for stype, inlet, meta in self._inlets:
                try:
                    samples, stamps = inlet.pull_chunk(timeout=0.0)
                except Exception as exc:  # noqa: BLE001 - a lost stream must not kill the thread silently
                    log.warning("LSL stream %s: %s", self.stream_name, exc)
                    emit(Connection(t_s=now_s(), participant=self.participant, device=self.name,
                                    state="disconnected", reason=str(exc)))
                    self._stop.set()
                    break
                if stamps:
                    got += len(stamps)
                    for event in self.convert(stype, meta, samples, stamps, now_s()):
                        emit(event)
            self.samples_received += got
            if not got:
                self._stop.wait(self.poll_s)

    # --- conversion (pure, tested by hand) ----------------------------------------------------------------------

    def convert(self, stype: str, meta: dict[str, Any], samples: Any, stamps: Any, arrival_t_s: float) -> list[Event]:
        """Turn one pulled chunk into events. ``stamps`` are clock-corrected LSL times."""
        offset = self.lsl_offset_s or 0.0
        who = {"participant": self.participant, "device": self.name}
        times_s = np.asarray(stamps, dtype=float) - offset
        units = meta.get("units") or [""]
        out: list[Event] = []
        if stype in RR_TYPES:
            scale = 1000.0 if units[0] in {"s", "seconds"} else 1.0
            for row, beat_t in zip(samples, times_s, strict=True):
                rr_ms = float(row[0]) * scale
                if not np.isfinite(rr_ms) or rr_ms <= 0:
                    continue
                out.append(Beat(t_s=arrival_t_s, rr_1024=int(rr_ms_to_1024(rr_ms)), beat_t_s=float(beat_t),
                                source="lsl", **who))
        elif stype == "hr":
            for row in samples:
                out.append(HeartRate(t_s=arrival_t_s, hr_bpm=int(round(float(row[0]))), **who))
        elif stype == "ecg":
            scale = UNIT_TO_UV.get(units[0], 1.0)
            values = np.asarray(samples, dtype=float)[:, 0] * scale
            fs = meta.get("fs_hz") or _estimate_fs(times_s)
            out.append(EcgFrame(t_s=arrival_t_s, fs_hz=float(fs), samples_uv=np.rint(values).astype(np.int32),
                                last_sample_t_s=float(times_s[-1]), **who))
        elif stype == "acc":
            scale = UNIT_TO_MG.get(units[0], 1.0)
            values = np.asarray(samples, dtype=float)[:, :3] * scale
            fs = meta.get("fs_hz") or _estimate_fs(times_s)
            out.append(AccFrame(t_s=arrival_t_s, fs_hz=float(fs), samples_mg=np.rint(values).astype(np.int16),
                                last_sample_t_s=float(times_s[-1]), **who))
        elif stype == "markers":
            for row, t in zip(samples, times_s, strict=True):
                out.append(parse_marker(str(row[0]), float(t)))
        return out


def parse_marker(text: str, t_s: float) -> Event:
    """A marker string back to an event: biotrainer JSON markers round-trip, anything else is an Annotation."""
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and "kind" in obj:
            kind = obj.pop("kind")
            participant = obj.pop("participant", SESSION)
            if kind in {"phase", "pacer", "cue", "annotation", "session"}:
                return from_record(kind, t_s, participant, "", json.dumps(obj), None)
    except (ValueError, TypeError, KeyError):
        pass
    return Annotation(t_s=t_s, participant=SESSION, text=text)


def _estimate_fs(times_s: np.ndarray) -> float:
    if len(times_s) < 2:
        return 0.0
    span = float(times_s[-1] - times_s[0])
    return (len(times_s) - 1) / span if span > 0 else 0.0
