"""The simulated chest strap: a physiologically faithful stand-in for a Polar H10, for tests, demos and benchmarks.

What it emits (all through the same decoders a real strap uses)
---------------------------------------------------------------
- ``Connection('connected')`` and ``Battery`` at t = 0 (and again after each simulated disconnect).
- Every ~``packet_interval_s`` a Heart Rate Measurement notification built with
  :func:`~biotrainer.sources.codecs.hrs.encode_heart_rate_measurement` carrying the RR values (1/1024 s) of the beats the
  strap detected since the previous notification (0..n): an :class:`~biotrainer.core.events.HrPacket` with the raw bytes,
  then what :class:`~biotrainer.sources.codecs.hrs.HrsDecoder` makes of it (``HeartRate``, ``Contact``, ``Beat``).
  Notifications go out on a ~1-s schedule, right after the last beat they carry: arrival = that beat + 10-30 ms
  latency. A window without a beat is merged into the next one while there is skin contact (unless none came for
  two intervals); without contact, beat-less notifications (HR 0, contact false) keep the schedule.
- With ``ecg``: Polar PMD ECG frames (73 samples at 130 Hz, µV), with ``acc``: ACC frames (36 samples at 200 Hz,
  milli-g), built with :mod:`~biotrainer.sources.codecs.pmd` encoders (timestamps in ns since 2000-01-01 of the last sample
  on the strap's clock, which is offset from true time by ``strap_clock_offset_s``) and decoded by
  :class:`~biotrainer.sources.codecs.pmd.PmdDecoder`: a ``PmdPacket`` then an ``EcgFrame`` / ``AccFrame``.

The body (breathing, heart rate, beats, waveforms) is described in :mod:`biotrainer.sources.sim.body`; the
settings in :mod:`biotrainer.sources.sim.config`.

How it runs
-----------
A :class:`~biotrainer.core.source.ScheduledSource`. Internally it simulates fixed 1-s blocks in order, with one
seeded random stream per part (breathing, heart, faults, notifications, ECG, ACC; so switching ECG on does not
change the beats), and builds a packet or frame once everything it depends on is final (≈ 2.5 s after the fact,
so a premature beat can still move earlier). ``events_until(t_s)`` simulates as many blocks as needed and returns
the events with ``t_s`` up to ``t_s``. Output therefore does not depend on how often or with which times it is
called: real time under ``RealClock`` and as-fast-as-possible under ``VirtualClock`` give identical events.
The simulation runs ≈ 3-5 s ahead of the returned events; the pacer callable is asked at each breath onset (minus
the lag) and over the pacer cycle that breath follows, so a pause or phase change reaches the simulated person
within about one breath, as it would a real one.

Ground truth
------------
:attr:`SimulatedStrap.truth` (a :class:`SimTruth` snapshot of numpy arrays): true beat times and RR before
quantisation, what the strap reported (with merged/split/garbage intervals) and which of it was delivered, the
injected faults, the breathing signal (time, phase, volume on a 20 Hz grid) and each breath's rate, pacer rate
and phase error. :func:`simulate` runs a strap to a time and returns the events and the truth up to it.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from biotrainer.core.events import Battery, Connection, Event, HrPacket, PmdPacket
from biotrainer.core.pacer import PacerPoint
from biotrainer.core.source import ScheduledSource
from biotrainer.sources.codecs.hrs import HrsDecoder, encode_heart_rate_measurement
from biotrainer.sources.codecs.pmd import (
    ACC_FS_HZ,
    ECG_FS_HZ,
    PmdDecoder,
    encode_acc_frame,
    encode_ecg_frame,
    unix_to_polar_ns,
)
from biotrainer.sources.sim.body import (
    GRID_FS_HZ,
    Breather,
    Heart,
    synthesize_acc,
    synthesize_ecg,
    synthesize_motion,
)
from biotrainer.sources.sim.config import Adherence, Faults, SimConfig

__all__ = ["Adherence", "Faults", "SimConfig", "SimFault", "SimTruth", "SimulatedStrap", "simulate"]

log = logging.getLogger(__name__)

BLOCK_S = 1.0
FINAL_MARGIN_S = 2.5
ECG_FRAME_SAMPLES = 73
ACC_FRAME_SAMPLES = 36
R_AMPLITUDE_UV = 1000.0
EDR_DEPTH = 0.15  # R amplitude ×(1 ± 7.5 %) over a breath
#: S-wave depth ×(1 ∓ 15 %) over a breath, opposite to R (the axis turns with breathing): QRS area ×(1 ± ~13 %)
EDR_S_DEPTH = 0.3
ECG_LIMIT_UV = (1 << 23) - 1

# fault codes per true beat
_NONE, _ECTOPIC, _MISSED, _EXTRA = 0, 1, 2, 3
_FAULT_NAMES = {_ECTOPIC: "ectopic", _MISSED: "missed", _EXTRA: "extra"}
_MIN_BEATS_BETWEEN_FAULTS = 4

PacerFn = Callable[[float], PacerPoint | None]


@dataclass(frozen=True, slots=True)
class SimFault:
    """One injected fault.

    ``kind``: ``ectopic``, ``missed``, ``extra`` (``beat_index`` = the true beat concerned; for ``extra`` the beat
    whose interval was split), ``dropped`` (a lost notification; ``beat_index`` = its first true beat or -1),
    ``contact_loss`` / ``disconnect`` (``t_s`` = start, ``detail`` = ``"start-end"``; ``beat_index`` -1).
    ``t_s`` is the session time of the beat (of the spurious detection for ``extra``; of the would-be arrival for
    ``dropped``).
    """

    kind: str
    beat_index: int
    t_s: float
    detail: str = ""


@dataclass(frozen=True)
class SimTruth:
    """Ground truth of a simulated strap (a snapshot: numpy arrays, time in session seconds).

    True beats: ``beat_t_s``, ``rr_ms`` (to the previous true beat, before quantisation), ``beat_fault`` ('' or
    ``ectopic`` / ``missed`` / ``extra``).

    Strap-reported intervals, in time order: ``reported_t_s`` (time of the detection), ``reported_rr_ms`` (exact),
    ``reported_rr_1024`` (as sent), ``reported_kind`` (``normal``; ``merged`` = spans a missed beat; ``extra`` =
    ends at a spurious detection; ``split`` = the rest of a split interval; ``garbage`` = sent during contact
    loss), ``reported_beat_index`` (true beat or -1), ``reported_packet_t_s`` (arrival of its notification, sent
    or not), ``reported_delivered`` (False when the notification was dropped or the link was down).

    Breathing on the 20 Hz grid: ``breath_t_s``, ``breath_phase`` (0..1 within the breath), ``breath_volume``
    (0..≈1), and the true ``hr_bpm``. Per breath: ``breath_onset_s``, ``breath_duration_s``,
    ``breath_rate_per_min`` (60/duration), ``breath_depth`` (peak volume), ``breath_pacer_rate_per_min`` (NaN when spontaneous),
    ``breath_pacer_phase`` (phase error to the pacer at onset, cycles), ``breath_missed`` (merged pacer cycles).

    Notifications: ``packet_t_s`` (arrival), ``packet_delivered``, ``packet_n_rr``. ECG/ACC sample clocks:
    sample ``i`` was taken at ``ecg_first_sample_t_s + i / ecg_fs_hz`` (likewise ACC), including lost samples.
    """

    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    beat_fault: np.ndarray
    reported_t_s: np.ndarray
    reported_rr_ms: np.ndarray
    reported_rr_1024: np.ndarray
    reported_kind: np.ndarray
    reported_beat_index: np.ndarray
    reported_packet_t_s: np.ndarray
    reported_delivered: np.ndarray
    breath_t_s: np.ndarray
    breath_phase: np.ndarray
    breath_volume: np.ndarray
    hr_bpm: np.ndarray
    breath_onset_s: np.ndarray
    breath_duration_s: np.ndarray
    breath_depth: np.ndarray
    breath_pacer_rate_per_min: np.ndarray
    breath_pacer_phase: np.ndarray
    breath_missed: np.ndarray
    packet_t_s: np.ndarray
    packet_delivered: np.ndarray
    packet_n_rr: np.ndarray
    faults: tuple[SimFault, ...]
    ecg_first_sample_t_s: float
    ecg_fs_hz: float
    acc_first_sample_t_s: float
    acc_fs_hz: float

    @property
    def breath_rate_per_min(self) -> np.ndarray:
        return 60.0 / self.breath_duration_s

    @property
    def beat_ectopic(self) -> np.ndarray:
        return self.beat_fault == "ectopic"

    def faults_of(self, kind: str) -> list[SimFault]:
        return [f for f in self.faults if f.kind == kind]

    def until(self, t_s: float) -> SimTruth:
        """The truth up to session time ``t_s`` (reported intervals by the arrival of their notification)."""
        groups = {
            "beat_t_s": ("beat_t_s", "rr_ms", "beat_fault"),
            "reported_packet_t_s": ("reported_t_s", "reported_rr_ms", "reported_rr_1024", "reported_kind",
                                    "reported_beat_index", "reported_packet_t_s", "reported_delivered"),
            "breath_t_s": ("breath_t_s", "breath_phase", "breath_volume", "hr_bpm"),
            "breath_onset_s": ("breath_onset_s", "breath_duration_s", "breath_depth", "breath_pacer_rate_per_min",
                               "breath_pacer_phase", "breath_missed"),
            "packet_t_s": ("packet_t_s", "packet_delivered", "packet_n_rr"),
        }
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, names in groups.items():
            keep = values[key] <= t_s
            for name in names:
                values[name] = values[name][keep]
        values["faults"] = tuple(f for f in self.faults if f.t_s <= t_s)
        return SimTruth(**values)


class _Buffer:
    """A growing 1-D numpy array (amortised appends, O(1) view)."""

    def __init__(self, dtype: object = np.float64) -> None:
        self._data = np.empty(1024, dtype=dtype)  # type: ignore[call-overload]
        self.n = 0

    def extend(self, values: np.ndarray | list) -> None:
        values = np.asarray(values, dtype=self._data.dtype)
        need = self.n + len(values)
        if need > len(self._data):
            new = np.empty(max(need, 2 * len(self._data)), dtype=self._data.dtype)
            new[: self.n] = self._data[: self.n]
            self._data = new
        self._data[self.n: need] = values
        self.n = need

    def append(self, value: object) -> None:
        self.extend([value])

    def view(self) -> np.ndarray:
        return self._data[: self.n]

    def __getitem__(self, i: int) -> object:
        return self._data[i]

    def __setitem__(self, i: int, value: object) -> None:
        self._data[i] = value


def _in_ranges(t_s: float, ranges: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t_s < b for a, b in ranges)


def _mask_ranges(times_s: np.ndarray, ranges: tuple[tuple[float, float], ...]) -> np.ndarray:
    mask = np.zeros(len(times_s), dtype=bool)
    for a, b in ranges:
        mask |= (times_s >= a) & (times_s < b)
    return mask


class SimulatedStrap(ScheduledSource):
    """A simulated chest strap (see the module docstring). ``pacer(t_s)`` → PacerPoint or None (no pacer now)."""

    name = "simulator"

    def __init__(self, config: SimConfig | None = None, pacer: PacerFn | None = None) -> None:
        self.config = cfg = config or SimConfig()
        streams = np.random.SeedSequence(cfg.seed).spawn(6)
        rb, rh, rf, rp, re, ra = (np.random.Generator(np.random.PCG64(s)) for s in streams)
        self._rng_fault, self._rng_packet, self._rng_ecg, self._rng_acc = rf, rp, re, ra
        self.pacer = pacer
        self._breather = Breather(cfg, pacer, rb)
        self._heart = Heart(cfg, rh)
        self._who = {"participant": cfg.participant, "device": cfg.device}
        self._hrs = HrsDecoder(cfg.participant, cfg.device)
        self._pmd_ecg = PmdDecoder(cfg.participant, cfg.device)
        self._pmd_acc = PmdDecoder(cfg.participant, cfg.device)
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = 0
        self._grid_n = 0  # grid samples simulated
        self._final_t_s = -math.inf
        # true beats
        self._beat_t = _Buffer()
        self._beat_rr = _Buffer()
        self._beat_code = _Buffer(np.int8)
        self._beat_aux = _Buffer()
        self._since_fault = _MIN_BEATS_BETWEEN_FAULTS
        self._prev_beat_t = self._heart.previous_beat_t_s
        # strap detection
        self._det_i = 0
        self._last_detect_t: float | None = self._prev_beat_t
        self._after_missed = False
        self._rep_t = _Buffer()
        self._rep_rr_s = _Buffer()
        self._rep_1024 = _Buffer(np.int64)
        self._rep_kind: list[str] = []
        self._rep_beat = _Buffer(np.int64)
        self._rep_packet_t = _Buffer()
        self._rep_delivered = _Buffer(bool)
        self._rep_packed = 0
        self._recent_rr_ms: deque[float] = deque(maxlen=4)
        # packets
        self._pkt_k = 0
        self._next_send_t = self._draw_send_time(0)
        self._hr_bound = -math.inf
        self._last_hr_arrival = -math.inf
        self._last_send_t = 0.0
        self._last_send_contact = True
        self._hr_epoch = 0
        self._pkt_t = _Buffer()
        self._pkt_delivered = _Buffer(bool)
        self._pkt_n = _Buffer(np.int64)
        # grid truth
        self._g_t = _Buffer()
        self._g_phase = _Buffer()
        self._g_vol = _Buffer()
        self._g_hr = _Buffer()
        self._faults: list[SimFault] = []
        for kind, ranges in (("contact_loss", cfg.faults.contact_loss), ("disconnect", cfg.faults.disconnects)):
            for a, b in ranges:
                self._faults.append(SimFault(kind, -1, float(a), f"{a:g}-{b:g}"))
        # PMD streams
        self._polar_base_ns = unix_to_polar_ns(cfg.start_unix_s + cfg.strap_clock_offset_s)
        self._ecg_t0 = float(re.uniform(0.0, 1.0 / ECG_FS_HZ))
        self._acc_t0 = float(ra.uniform(0.0, 1.0 / ACC_FS_HZ))
        self._ecg_n = 0
        self._acc_n = 0
        self._ecg_bound = -math.inf if cfg.ecg else math.inf
        self._acc_bound = -math.inf if cfg.acc else math.inf
        self._ecg_epoch = 0
        self._acc_epoch = 0
        self._last_ecg_arrival = -math.inf
        self._last_acc_arrival = -math.inf
        # connection events
        self._push(Connection(t_s=0.0, state="connected", **self._who))
        self._push(Battery(t_s=0.0, percent=cfg.battery_percent, **self._who))
        for a, b in ((float(a), float(b)) for a, b in cfg.faults.disconnects):
            self._push(Connection(t_s=a, state="disconnected", reason="link lost (simulated)", **self._who))
            self._push(Connection(t_s=b, state="connected", **self._who))
            self._push(Battery(t_s=b, percent=cfg.battery_percent, **self._who))
        self._truth_cache: SimTruth | None = None

    # --- ScheduledSource --------------------------------------------------------------------------------------

    def events_until(self, t_s: float) -> list[Event]:
        """Events with ``t_s`` up to ``t_s`` not returned before, in time order."""
        while min(self._hr_bound, self._ecg_bound, self._acc_bound) < t_s:
            self._advance()
        out: list[Event] = []
        heap = self._heap
        while heap and heap[0][0] <= t_s:
            out.append(heapq.heappop(heap)[2])
        return out

    @property
    def truth(self) -> SimTruth:
        """Ground truth of everything simulated so far (may run a few seconds ahead of the returned events)."""
        if self._truth_cache is None:
            self._truth_cache = self._snapshot()
        return self._truth_cache

    # --- simulation -------------------------------------------------------------------------------------------

    def add_heart_rate_drive(self, drive: Callable[[np.ndarray], np.ndarray]) -> None:
        """Add ``drive(grid times) → bpm`` to this person's heart rate (a dyad's shared waves; before any events)."""
        self._heart.drives.append(drive)

    def _push(self, event: Event) -> None:
        heapq.heappush(self._heap, (event.t_s, self._seq, event))
        self._seq += 1

    def _advance(self) -> None:
        """Simulate one more block and build every packet/frame that became final."""
        self._truth_cache = None
        n_block = int(round(BLOCK_S * GRID_FS_HZ))
        t0 = self._grid_n / GRID_FS_HZ
        t1 = (self._grid_n + n_block) / GRID_FS_HZ
        self._breather.ensure_until(t1 + 1.0)
        grid_t = (self._grid_n + np.arange(n_block)) / GRID_FS_HZ
        volume, phase = self._breather.volume(grid_t)
        hr, beats = self._heart.step(t0, volume)
        self._grid_n += n_block
        self._g_t.extend(grid_t)
        self._g_phase.extend(phase)
        self._g_vol.extend(volume)
        self._g_hr.extend(hr)
        self._add_beats(beats)
        self._final_t_s = t1 - FINAL_MARGIN_S
        self._detect_until(self._final_t_s)
        self._packets_until(self._final_t_s)
        if self.config.ecg:
            self._ecg_until(self._final_t_s)
        if self.config.acc:
            self._acc_until(self._final_t_s)

    def _add_beats(self, beats: np.ndarray) -> None:
        faults = self.config.faults
        n = len(beats)
        u = self._rng_fault.uniform(size=n)
        aux = self._rng_fault.uniform(size=n)
        per_beat = 1.0 / max(self.config.hr_bpm, 1.0)  # faults per minute → probability per beat
        p_ect = faults.ectopic_per_min * per_beat
        p_mis = faults.missed_per_min * per_beat
        p_ext = faults.extra_per_min * per_beat
        for i in range(n):
            t = float(beats[i])
            code = _NONE
            if self._since_fault >= _MIN_BEATS_BETWEEN_FAULTS:
                if u[i] < p_ect:
                    code = _ECTOPIC
                elif u[i] < p_ect + p_mis:
                    code = _MISSED
                elif u[i] < p_ect + p_mis + p_ext:
                    code = _EXTRA
            if code == _ECTOPIC:  # premature beat at 55-70 % of the interval; the next sinus beat keeps its time
                t = self._prev_beat_t + (0.55 + 0.15 * aux[i]) * (t - self._prev_beat_t)
                t = max(t, self._final_t_s + 1e-3)
            if code != _NONE:
                self._since_fault = 0
                if code != _EXTRA:
                    self._faults.append(SimFault(_FAULT_NAMES[code], self._beat_t.n, t))
            else:
                self._since_fault += 1
            self._beat_t.append(t)
            self._beat_rr.append(t - self._prev_beat_t)
            self._beat_code.append(code)
            self._beat_aux.append(aux[i])
            self._prev_beat_t = t

    def _report(self, t: float, rr_s: float, kind: str, beat_index: int) -> None:
        self._rep_t.append(t)
        self._rep_rr_s.append(rr_s)
        self._rep_1024.append(max(1, min(65535, int(round(rr_s * 1024.0)))))
        self._rep_kind.append(kind)
        self._rep_beat.append(beat_index)
        self._rep_packet_t.append(math.nan)
        self._rep_delivered.append(False)

    def _detect_until(self, final_t_s: float) -> None:
        """What the strap's beat detector makes of the true beats up to ``final_t_s``."""
        contact_loss = self.config.faults.contact_loss
        beat_t = self._beat_t
        while self._det_i < beat_t.n and beat_t[self._det_i] <= final_t_s:
            j = self._det_i
            self._det_i += 1
            t = float(beat_t[j])  # type: ignore[arg-type]
            code = int(self._beat_code[j])  # type: ignore[call-overload]
            if _in_ranges(t, contact_loss):
                self._last_detect_t = None  # the detector starts over when contact returns
                self._after_missed = False
                continue
            last = self._last_detect_t
            if code == _MISSED:
                self._after_missed = True
                continue
            if last is None:
                self._last_detect_t = t
                self._after_missed = False
                continue
            if code == _EXTRA:
                t_extra = last + (0.3 + 0.4 * float(self._beat_aux[j])) * (t - last)  # type: ignore[arg-type]
                self._faults.append(SimFault("extra", j, t_extra))
                self._report(t_extra, t_extra - last, "extra", -1)
                self._report(t, t - t_extra, "split", j)
            else:
                self._report(t, t - last, "merged" if self._after_missed else "normal", j)
            self._after_missed = False
            self._last_detect_t = t

    def _draw_send_time(self, k: int) -> float:
        interval = self.config.packet_interval_s
        return (k + 1) * interval + float(self._rng_packet.uniform(-0.02, 0.02)) * interval

    def _packets_until(self, final_t_s: float) -> None:
        cfg = self.config
        faults = cfg.faults
        rep_t = self._rep_t
        while self._next_send_t <= final_t_s:
            send_t = self._next_send_t
            self._pkt_k += 1
            self._next_send_t = self._draw_send_time(self._pkt_k)
            u_drop, u_lat, u_n, u_v1, u_v2 = self._rng_packet.uniform(size=5)
            i0 = self._rep_packed
            i1 = i0
            while i1 < rep_t.n and rep_t[i1] <= send_t:  # type: ignore[operator]
                i1 += 1
            contact = not _in_ranges(send_t, faults.contact_loss)
            self._hr_bound = send_t
            if (i1 == i0 and contact and contact == self._last_send_contact
                    and send_t - self._last_send_t < 2 * cfg.packet_interval_s):
                continue  # no beat yet: the strap waits for one (it sends beat-less notifications only if none come)
            self._rep_packed = i1
            self._last_send_t = send_t
            self._last_send_contact = contact
            rr = [int(v) for v in self._rep_1024.view()[i0:i1]]
            last_event_t = float(rep_t[i1 - 1]) if i1 > i0 else send_t  # type: ignore[arg-type]
            arrival = max(last_event_t + 0.01 + 0.02 * float(u_lat), self._last_hr_arrival + 1e-6)
            self._last_hr_arrival = arrival
            if not contact and faults.garbage_rr:
                for u_value in (u_v1, u_v2)[: 1 + int(u_n < 0.5)]:
                    self._report(arrival, 0.25 + 1.75 * float(u_value), "garbage", -1)  # 0.25-2 s
                    rr.append(int(self._rep_1024[self._rep_1024.n - 1]))  # type: ignore[call-overload]
                self._rep_packed = self._rep_t.n
                i1 = self._rep_t.n
            if contact:
                self._recent_rr_ms.extend(self._rep_rr_s.view()[i0:i1] * 1000.0)
            hr_bpm = int(round(60000.0 / (sum(self._recent_rr_ms) / len(self._recent_rr_ms)))) \
                if contact and self._recent_rr_ms else 0
            hr_bpm = min(hr_bpm, 255)
            self._rep_packet_t.view()[i0:i1] = arrival
            delivered = True
            if _in_ranges(send_t, faults.disconnects):
                delivered = False
            elif u_drop < faults.drop_prob:
                delivered = False
                first = int(self._rep_beat[i0]) if i1 > i0 else -1  # type: ignore[call-overload]
                self._faults.append(SimFault("dropped", first, arrival, f"{i1 - i0} RR lost"))
            self._pkt_t.append(arrival)
            self._pkt_delivered.append(delivered)
            self._pkt_n.append(len(rr))
            if not delivered:
                continue
            self._rep_delivered.view()[i0:i1] = True
            epoch = sum(1 for _, b in faults.disconnects if b <= send_t)
            if epoch != self._hr_epoch:  # reconnected: a new connection starts a new beat timeline
                self._hr_epoch = epoch
                self._hrs.timeline.reset()
            raw = encode_heart_rate_measurement(hr_bpm, rr[:9] if len(rr) > 9 else rr,
                                                contact=contact if cfg.contact_supported else None)
            self._push(HrPacket(t_s=arrival, raw=raw, **self._who))
            for e in self._hrs.decode(arrival, raw):
                self._push(e)

    def _beats_between(self, t_from: float, t_to: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bt = self._beat_t.view()
        i0 = int(np.searchsorted(bt, t_from, side="left"))
        i1 = int(np.searchsorted(bt, t_to, side="right"))
        return bt[i0:i1], self._beat_rr.view()[i0:i1], self._beat_code.view()[i0:i1] == _ECTOPIC

    def _ecg_until(self, final_t_s: float) -> None:
        fs, size = ECG_FS_HZ, ECG_FRAME_SAMPLES
        frames_total = int(math.floor(((final_t_s - self._ecg_t0) * fs + 1) / size))
        first_frame = self._ecg_n // size
        if frames_total <= first_frame:
            return
        i0, i1 = self._ecg_n, frames_total * size
        self._ecg_n = i1
        rng = self._rng_ecg
        n = i1 - i0
        t_first = self._ecg_t0 + i0 / fs
        times = t_first + np.arange(n) / fs
        volume, _ = self._breather.volume(times)
        bt, brr, bect = self._beats_between(times[0] - 0.7, times[-1] + 0.4)
        beat_volume, _ = self._breather.volume(bt)
        r_amp = R_AMPLITUDE_UV * (1.0 + EDR_DEPTH * (beat_volume - 0.5))
        s_scale = 1.0 - EDR_S_DEPTH * (beat_volume - 0.5)
        ecg = synthesize_ecg(t_first, fs, n, bt, brr, bect, r_amp, volume, rng, s_scale)
        lost = _mask_ranges(times, self.config.faults.contact_loss)
        if lost.any():  # no skin contact: electrode noise, no QRS
            ecg[lost] = rng.normal(0.0, 400.0, int(lost.sum()))
        samples = np.clip(np.rint(ecg), -ECG_LIMIT_UV, ECG_LIMIT_UV).astype(np.int32)
        latency = 0.012 + np.minimum(rng.exponential(0.006, size=frames_total - first_frame), 0.2)
        for m in range(frames_total - first_frame):
            chunk = samples[m * size:(m + 1) * size]
            last_t = float(times[(m + 1) * size - 1])
            arrival = max(last_t + float(latency[m]), self._last_ecg_arrival + 1e-6)
            self._last_ecg_arrival = arrival
            self._ecg_bound = last_t
            if _in_ranges(arrival, self.config.faults.disconnects):
                continue
            epoch = sum(1 for _, b in self.config.faults.disconnects if b <= arrival)
            if epoch != self._ecg_epoch:
                self._ecg_epoch = epoch
                self._pmd_ecg = PmdDecoder(self.config.participant, self.config.device)
            raw = encode_ecg_frame(self._polar_base_ns + int(round(last_t * 1e9)), chunk)
            self._push(PmdPacket(t_s=arrival, raw=raw, **self._who))
            for e in self._pmd_ecg.decode(arrival, raw):
                self._push(e)

    def _acc_until(self, final_t_s: float) -> None:
        fs, size = ACC_FS_HZ, ACC_FRAME_SAMPLES
        frames_total = int(math.floor(((final_t_s - self._acc_t0) * fs + 1) / size))
        first_frame = self._acc_n // size
        if frames_total <= first_frame:
            return
        i0, i1 = self._acc_n, frames_total * size
        self._acc_n = i1
        rng = self._rng_acc
        n = i1 - i0
        times = self._acc_t0 + (i0 + np.arange(n)) / fs
        volume, _ = self._breather.volume(times)
        bt, _, _ = self._beats_between(times[0] - 0.4, times[-1])
        acc = synthesize_acc(times, volume, bt, rng)
        if self.config.faults.motion:
            acc += synthesize_motion(times, self.config.faults.motion)
        samples = np.clip(np.rint(acc), -32768, 32767).astype(np.int16)
        latency = 0.012 + np.minimum(rng.exponential(0.006, size=frames_total - first_frame), 0.15)
        for m in range(frames_total - first_frame):
            chunk = samples[m * size:(m + 1) * size]
            last_t = float(times[(m + 1) * size - 1])
            arrival = max(last_t + float(latency[m]), self._last_acc_arrival + 1e-6)
            self._last_acc_arrival = arrival
            self._acc_bound = last_t
            if _in_ranges(arrival, self.config.faults.disconnects):
                continue
            epoch = sum(1 for _, b in self.config.faults.disconnects if b <= arrival)
            if epoch != self._acc_epoch:
                self._acc_epoch = epoch
                self._pmd_acc = PmdDecoder(self.config.participant, self.config.device)
            raw = encode_acc_frame(self._polar_base_ns + int(round(last_t * 1e9)), chunk)
            self._push(PmdPacket(t_s=arrival, raw=raw, **self._who))
            for e in self._pmd_acc.decode(arrival, raw):
                self._push(e)

    def _snapshot(self) -> SimTruth:
        tb = self._breather.table
        n_breaths = len(tb.onset_s)
        codes = self._beat_code.view()
        names = np.array(["", "ectopic", "missed", "extra"], dtype=object)
        return SimTruth(
            beat_t_s=self._beat_t.view().copy(),
            rr_ms=self._beat_rr.view() * 1000.0,
            beat_fault=names[codes.astype(np.int64)],
            reported_t_s=self._rep_t.view().copy(),
            reported_rr_ms=self._rep_rr_s.view() * 1000.0,
            reported_rr_1024=self._rep_1024.view().copy(),
            reported_kind=np.array(self._rep_kind, dtype=object),
            reported_beat_index=self._rep_beat.view().copy(),
            reported_packet_t_s=self._rep_packet_t.view().copy(),
            reported_delivered=self._rep_delivered.view().copy(),
            breath_t_s=self._g_t.view().copy(),
            breath_phase=self._g_phase.view().copy(),
            breath_volume=self._g_vol.view().copy(),
            hr_bpm=self._g_hr.view().copy(),
            breath_onset_s=np.asarray(tb.onset_s[:n_breaths]),
            breath_duration_s=np.asarray(tb.duration_s[:n_breaths]),
            breath_depth=np.asarray(tb.depth[:n_breaths]),
            breath_pacer_rate_per_min=np.asarray(tb.pacer_rate_per_min[:n_breaths]),
            breath_pacer_phase=np.asarray(tb.pacer_phase[:n_breaths]),
            breath_missed=np.asarray(tb.missed[:n_breaths], dtype=bool),
            packet_t_s=self._pkt_t.view().copy(),
            packet_delivered=self._pkt_delivered.view().copy(),
            packet_n_rr=self._pkt_n.view().copy(),
            faults=tuple(sorted(self._faults, key=lambda f: f.t_s)),
            ecg_first_sample_t_s=self._ecg_t0,
            ecg_fs_hz=ECG_FS_HZ,
            acc_first_sample_t_s=self._acc_t0,
            acc_fs_hz=ACC_FS_HZ,
        )


def simulate(config: SimConfig | None = None, duration_s: float = 60.0,
             pacer: PacerFn | None = None) -> tuple[list[Event], SimTruth]:
    """Run a simulated strap from 0 to ``duration_s`` as fast as possible.

    Returns
    -------
    events : list of Event
        Every event with ``t_s <= duration_s``, in time order (exactly what a session would publish).
    truth : SimTruth
        The ground truth up to ``duration_s`` (:meth:`SimTruth.until`).
    """
    strap = SimulatedStrap(config, pacer)
    events = strap.events_until(duration_s)
    return events, strap.truth.until(duration_s)
