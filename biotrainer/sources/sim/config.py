"""Configuration of the simulated strap: physiology, breathing adherence, faults, streams.

Everything is a frozen dataclass with defaults that give a calm, healthy adult at rest (HR 65 bpm, breathing
15/min, resonance at 5.5/min), so ``SimConfig()`` is a good demo strap and tests change only what they study.

:meth:`SimConfig.from_spec` parses CLI device specs such as ``sim``, ``sim:seed=3,hr=70,ecg`` or
``sim:ectopic=2,disconnect=30-40+90-95``; see :data:`SPEC_KEYS` for the keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from biotrainer.core.errors import UsageError

TimeRange = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Adherence:
    """How faithfully the simulated person follows the pacer.

    Parameters
    ----------
    lag_s : float
        Breath onsets trail the pacer's inhale starts by this many seconds (reaction time).
    jitter_s : float
        SD of per-breath timing noise (s). Breaths stay phase-locked to the pacer: errors do not accumulate.
    drift_per_min : float
        Breathing-rate offset from the pacer (breaths/min). Non-zero drift means the person is *not* locked to the
        pacer's phase: every breath lasts ``60 / (pacer rate + drift)`` s (plus jitter) and slides through it.
    missed_breath_prob : float
        Probability per paced breath that the person skips one pacer cycle, merging two breaths into one long one.
    lapse_per_min : float
        Adherence lapses per minute of paced breathing: the person forgets the pacer for 2-5 breaths, breathing on
        their own (with the spontaneous breather's rate, variability and sighs), then rejoins it.
    """

    lag_s: float = 0.4
    jitter_s: float = 0.3
    drift_per_min: float = 0.0
    missed_breath_prob: float = 0.0
    lapse_per_min: float = 0.0

    @classmethod
    def perfect(cls) -> Adherence:
        """Breathing exactly on the pacer: no lag, jitter, drift or missed breaths."""
        return cls(lag_s=0.0, jitter_s=0.0, drift_per_min=0.0, missed_breath_prob=0.0)

    @classmethod
    def realistic(cls) -> Adherence:
        """A real person following a pacer: reaction lag, timing jitter, an occasional missed cycle and a lapse of
        a few breaths on their own every few minutes."""
        return cls(lag_s=0.5, jitter_s=0.4, drift_per_min=0.0, missed_breath_prob=0.01, lapse_per_min=0.3)

    def __post_init__(self) -> None:
        if self.lag_s < 0 or self.jitter_s < 0:
            raise UsageError(f"adherence lag_s={self.lag_s} and jitter_s={self.jitter_s} must not be negative")
        if not 0 <= self.missed_breath_prob < 1:
            raise UsageError(f"adherence missed_breath_prob={self.missed_breath_prob} must be in [0, 1)")
        if not 0 <= self.lapse_per_min <= 5:
            raise UsageError(f"adherence lapse_per_min={self.lapse_per_min} must be in 0-5")


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults injected on demand. Rates are per minute of session; ranges are session seconds ``(start, end)``.

    Parameters
    ----------
    ectopic_per_min : float
        Premature (ventricular) beats: the beat comes at 55-70 % of the expected interval and the following sinus
        beat keeps its time (full compensatory pause). Real heart beats: the ECG shows them too.
    missed_per_min : float
        Beats the strap fails to detect: two intervals are merged into one.
    extra_per_min : float
        Spurious detections: one interval is split in two.
    drop_prob : float
        Probability that a Heart Rate Measurement notification is lost; its RR values are lost with it.
    contact_loss : tuple of (start_s, end_s)
        Skin contact lost: contact flag false, HR 0 and no RR (or garbage RR, see ``garbage_rr``), ECG is noise.
    disconnects : tuple of (start_s, end_s)
        Link lost: no packets at all, ``Connection`` events ``disconnected`` / ``connected`` at the ends.
    garbage_rr : bool
        During contact loss send random RR values instead of none (some cheap straps do).
    motion : tuple of (start_s, end_s)
        The wearer moves (turns, reaches, walks a few steps): the accelerometer shows steps, sway and the strap's
        tilt changing (:func:`biotrainer.sources.sim.body.synthesize_motion`); heart and ECG go on.
    """

    ectopic_per_min: float = 0.0
    missed_per_min: float = 0.0
    extra_per_min: float = 0.0
    drop_prob: float = 0.0
    contact_loss: tuple[TimeRange, ...] = ()
    disconnects: tuple[TimeRange, ...] = ()
    garbage_rr: bool = False
    motion: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        for name in ("ectopic_per_min", "missed_per_min", "extra_per_min"):
            if getattr(self, name) < 0:
                raise UsageError(f"fault rate {name}={getattr(self, name)} must not be negative")
        if not 0 <= self.drop_prob < 1:
            raise UsageError(f"fault drop_prob={self.drop_prob} must be in [0, 1)")
        for name in ("contact_loss", "disconnects", "motion"):
            ranges = []
            for rng in getattr(self, name):
                if len(rng) != 2 or not rng[0] < rng[1] or rng[0] < 0:
                    raise UsageError(f"fault {name} range {rng!r} must be (start_s, end_s) with 0 <= start < end")
                ranges.append((float(rng[0]), float(rng[1])))
            object.__setattr__(self, name, tuple(sorted(ranges)))


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that defines one simulated strap. Same config + same pacer → identical events.

    Physiology (see :mod:`biotrainer.sources.sim.body` for the model):

    - ``hr_bpm``: mean heart rate; ``hr_drift_bpm``: SD of its slow drift (time constant ``hr_drift_tau_s``).
    - ``rsa_swing_bpm``: peak-to-trough HR swing per breath of the broad (direct vagal) respiratory path, at the
      resonance rate; ``resonance_gain_bpm``: extra swing from the baroreflex resonance at the resonance rate;
      ``resonance_rate_per_min`` and ``resonance_damping`` (ζ) shape the resonance curve.
    - ``mayer_bpm``: SD of spontaneous ~0.1 Hz Mayer waves; ``rr_noise_ms``: beat-to-beat interval noise (SD).
    - ``spontaneous_rate_per_min`` and ``spontaneous_cv``: unpaced breathing rate and its breath-to-breath
      variability (SD of the log rate, lag-1 correlation 0.5); ``rate_wander``: SD of its slow wander (log rate,
      ≈ 10-breath memory); ``sigh_interval_s``: mean time between sighs (0: none); ``pause_prob``: chance per
      breath of a 7-12 s end-expiratory pause. The defaults give a real resting breather (breath-length CV
      ≈ 0.3-0.4 with sighs and pauses, SCIENCE.md §5); :data:`REGULAR_BREATHING` (spec flag ``regular``) the
      old metronome-like one.
    - ``rsa_corner_hz``: the direct respiratory path is low-passed here (first order): RSA weakens at fast rates.
    """

    seed: int = 0
    participant: str = "self"
    device: str = "sim-0001"
    hr_bpm: float = 65.0
    hr_drift_bpm: float = 2.0
    hr_drift_tau_s: float = 90.0
    rsa_swing_bpm: float = 6.0
    resonance_gain_bpm: float = 9.0
    resonance_rate_per_min: float = 5.5
    resonance_damping: float = 0.2
    mayer_bpm: float = 1.3
    rr_noise_ms: float = 10.0
    spontaneous_rate_per_min: float = 15.0
    spontaneous_cv: float = 0.2
    rate_wander: float = 0.1
    sigh_interval_s: float = 150.0
    pause_prob: float = 0.015
    rsa_corner_hz: float = 0.35
    adherence: Adherence = field(default_factory=Adherence)
    faults: Faults = field(default_factory=Faults)
    ecg: bool = False
    acc: bool = False
    packet_interval_s: float = 1.0
    contact_supported: bool = True
    battery_percent: int = 87
    start_unix_s: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed so output does not depend on the wall clock
    strap_clock_offset_s: float = -2.345  # the strap's clock minus the true time
    follow: str = ""  # dyads (sources/sim/dyad.py): the role whose slow heart-rate waves this person follows
    coupling: float = 0.0  # share of the leader's waves that reach this person (0 = independent)
    follow_lag_s: float = 3.0  # how long after the leader they arrive (s)

    def __post_init__(self) -> None:
        if not 25 <= self.hr_bpm <= 200:
            raise UsageError(f"sim hr_bpm={self.hr_bpm} is outside 25-200 bpm")
        if not 2 <= self.resonance_rate_per_min <= 12:
            raise UsageError(f"sim resonance_rate_per_min={self.resonance_rate_per_min} is outside 2-12/min")
        if not 0.05 <= self.resonance_damping <= 2:
            raise UsageError(f"sim resonance_damping={self.resonance_damping} is outside 0.05-2")
        if not 4 <= self.spontaneous_rate_per_min <= 40:
            raise UsageError(f"sim spontaneous_rate_per_min={self.spontaneous_rate_per_min} is outside 4-40/min")
        if not 0.2 <= self.packet_interval_s <= 5:
            raise UsageError(f"sim packet_interval_s={self.packet_interval_s} is outside 0.2-5 s")
        if not 0 <= self.pause_prob < 1:
            raise UsageError(f"sim pause_prob={self.pause_prob} must be in [0, 1)")
        if self.sigh_interval_s != 0 and not 20 <= self.sigh_interval_s <= 3600:
            raise UsageError(f"sim sigh_interval_s={self.sigh_interval_s} must be 0 (no sighs) or 20-3600 s")
        if not 0.05 <= self.rsa_corner_hz <= 5:
            raise UsageError(f"sim rsa_corner_hz={self.rsa_corner_hz} is outside 0.05-5 Hz")
        for name in ("hr_drift_bpm", "rsa_swing_bpm", "resonance_gain_bpm", "mayer_bpm", "rr_noise_ms",
                     "spontaneous_cv", "rate_wander"):
            if getattr(self, name) < 0:
                raise UsageError(f"sim {name}={getattr(self, name)} must not be negative")
        if not 0 <= self.battery_percent <= 100:
            raise UsageError(f"sim battery_percent={self.battery_percent} is outside 0-100")
        if not 0 <= self.coupling <= 1:
            raise UsageError(f"sim coupling={self.coupling} is outside 0-1")
        if not 0 <= self.follow_lag_s <= 30:
            raise UsageError(f"sim follow_lag_s={self.follow_lag_s} is outside 0-30 s")

    def replace(self, **changes: object) -> SimConfig:
        """A copy with some fields changed (``adherence=`` and ``faults=`` take whole objects)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_spec(cls, spec: str, **defaults: object) -> SimConfig:
        """Parse a CLI device spec: ``sim`` or ``sim:key=value,flag,...``.

        ``defaults`` (e.g. ``seed=``, ``participant=``) apply before the spec's own keys. Keys are listed in
        :data:`SPEC_KEYS`; ranges are ``start-end`` seconds joined by ``+`` (``contact=60-70+120-125``).
        Raises :class:`~biotrainer.core.errors.UsageError` with a one-line message for anything it cannot use.
        """
        text = spec.strip()
        head, _, rest = text.partition(":")
        if head.strip().lower() != "sim":
            raise UsageError(f"device spec {spec!r} is not a simulator spec (expected 'sim' or 'sim:key=value,...')")
        top: dict[str, object] = dict(defaults)
        adherence: dict[str, object] = {}
        faults: dict[str, object] = {}
        for item in (p.strip() for p in rest.split(",")):
            if not item:
                continue
            key, eq, value = item.partition("=")
            key = key.strip().lower()
            if key not in SPEC_KEYS:
                raise UsageError(f"device spec {spec!r}: unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})")
            target, field_name, kind = SPEC_KEYS[key]
            if kind is bool:
                parsed: object = True if not eq else _parse_bool(spec, key, value)
            elif not eq:
                raise UsageError(f"device spec {spec!r}: key {key!r} needs a value ({key}=...)")
            else:
                parsed = _parse_value(spec, key, value.strip(), kind)
            if target == "preset":
                if parsed:
                    top.update(PRESETS[field_name])
                continue
            {"top": top, "adherence": adherence, "faults": faults}[target][field_name] = parsed
        try:
            if adherence:
                top["adherence"] = Adherence(**adherence)  # type: ignore[arg-type]
            if faults:
                top["faults"] = Faults(**faults)  # type: ignore[arg-type]
            return cls(**top)  # type: ignore[arg-type]
        except UsageError as exc:
            raise UsageError(f"device spec {spec!r}: {exc}") from None
        except TypeError as exc:
            raise UsageError(f"device spec {spec!r}: {exc}") from None


def _parse_bool(spec: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"device spec {spec!r}: {key}={value!r} is not a yes/no value")


def _parse_value(spec: str, key: str, value: str, kind: object) -> object:
    try:
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        if kind is str:
            if not value:
                raise ValueError
            return value
        if kind == "ranges":
            out = []
            for part in value.split("+"):
                a, sep, b = part.partition("-")
                if not sep:
                    raise ValueError
                out.append((float(a), float(b)))
            return tuple(out)
    except ValueError:
        expected = {int: "an integer", float: "a number", str: "a name", "ranges": "start-end[+start-end...]"}
        raise UsageError(f"device spec {spec!r}: {key}={value!r} is not {expected[kind]}") from None  # type: ignore[index]
    raise AssertionError(kind)


#: The old, metronome-like breather (breath-to-breath CV ≈ 0.08, no wander, sighs or pauses) and its RSA that does
#: not weaken at fast rates.
REGULAR_BREATHING: dict[str, object] = {"spontaneous_cv": 0.08, "rate_wander": 0.0, "sigh_interval_s": 0.0,
                                        "pause_prob": 0.0, "rsa_corner_hz": 5.0}
PRESETS: dict[str, dict[str, object]] = {"regular": REGULAR_BREATHING}

# spec key -> (where, field name, type)
SPEC_KEYS: dict[str, tuple[str, str, object]] = {
    "seed": ("top", "seed", int),
    "id": ("top", "device", str),
    "participant": ("top", "participant", str),
    "hr": ("top", "hr_bpm", float),
    "hr_drift": ("top", "hr_drift_bpm", float),
    "rsa": ("top", "rsa_swing_bpm", float),
    "gain": ("top", "resonance_gain_bpm", float),
    "resonance": ("top", "resonance_rate_per_min", float),
    "damping": ("top", "resonance_damping", float),
    "mayer": ("top", "mayer_bpm", float),
    "noise": ("top", "rr_noise_ms", float),
    "rate": ("top", "spontaneous_rate_per_min", float),
    "cv": ("top", "spontaneous_cv", float),
    "wander": ("top", "rate_wander", float),
    "sighs": ("top", "sigh_interval_s", float),
    "pauses": ("top", "pause_prob", float),
    "regular": ("preset", "regular", bool),
    "lapses": ("adherence", "lapse_per_min", float),
    "ecg": ("top", "ecg", bool),
    "acc": ("top", "acc", bool),
    "contact_supported": ("top", "contact_supported", bool),
    "battery": ("top", "battery_percent", int),
    "lag": ("adherence", "lag_s", float),
    "jitter": ("adherence", "jitter_s", float),
    "drift": ("adherence", "drift_per_min", float),
    "missed_breaths": ("adherence", "missed_breath_prob", float),
    "ectopic": ("faults", "ectopic_per_min", float),
    "missed": ("faults", "missed_per_min", float),
    "extra": ("faults", "extra_per_min", float),
    "drop": ("faults", "drop_prob", float),
    "contact": ("faults", "contact_loss", "ranges"),
    "disconnect": ("faults", "disconnects", "ranges"),
    "garbage_rr": ("faults", "garbage_rr", bool),
    "motion": ("faults", "motion", "ranges"),
    "follow": ("top", "follow", str),
    "coupling": ("top", "coupling", float),
    "follow_lag": ("top", "follow_lag_s", float),
}
