"""Loaded protocols: immutable objects built from a validated document, with the cross-field rules.

:func:`parse_protocol` turns TOML text into a :class:`Protocol` (TOML syntax errors carry line and column; schema
errors name the field path). The raw text is kept on the object (``Protocol.text``): the recorder stores it in the
session metadata, so a session says exactly which protocol it followed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biotrainer.core.errors import ProtocolError
from biotrainer.core.pacer import Pacer
from biotrainer.protocols.schema import (
    DEFAULT_FALLBACK_RATE_PER_MIN,
    PERSONAL_RATE,
    RATE_MAX_PER_MIN,
    RATE_MIN_PER_MIN,
    show_value,
    validate_document,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)\s*$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class CueSpec:
    """A cue text shown ``at_s`` seconds after its phase starts (until the next cue or the phase end)."""

    at_s: float
    text: str


@dataclass(frozen=True, slots=True)
class AdaptiveSpec:
    """Closed-loop pacer limits (``pacer.adaptive``; the controller: :mod:`biotrainer.metrics.adaptive_pacer`)."""

    settle_s: float = 120.0
    step_per_min: float = 0.25
    interval_s: float = 90.0
    min_rate_per_min: float = 4.5
    max_rate_per_min: float = 7.0


@dataclass(frozen=True, slots=True)
class PacerSpec:
    """Pacer settings of a phase. ``rate_per_min`` is a number or ``"personal"``."""

    rate_per_min: float | str
    fallback_rate_per_min: float = DEFAULT_FALLBACK_RATE_PER_MIN
    inhale_share: float = 0.4
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0
    adaptive: AdaptiveSpec | None = None

    @property
    def personal(self) -> bool:
        """True when the phase paces at the participant's personal resonance rate."""
        return self.rate_per_min == PERSONAL_RATE

    def resolve_rate_per_min(self, personal_rate_per_min: float | None) -> float:
        """The rate to pace at: the fixed rate, else the personal rate, else the fallback rate."""
        if not self.personal:
            return float(self.rate_per_min)
        return self.fallback_rate_per_min if personal_rate_per_min is None else float(personal_rate_per_min)

    def pacer(self, personal_rate_per_min: float | None = None) -> Pacer:
        """The :class:`~biotrainer.core.pacer.Pacer` for this phase (raises ValueError if holds leave no time)."""
        return Pacer(self.resolve_rate_per_min(personal_rate_per_min), self.inhale_share, self.hold_in_s,
                     self.hold_out_s)

    def describe(self, personal_rate_per_min: float | None = None) -> str:
        """Short human description, e.g. ``6/min, in 4 s, out 6 s``."""
        rate = self.resolve_rate_per_min(personal_rate_per_min)
        inhale_s, hold_in_s, exhale_s, hold_out_s = Pacer(rate, self.inhale_share, self.hold_in_s,
                                                          self.hold_out_s).segment_durations_s
        parts = [f"in {format_number(inhale_s)} s"]
        if hold_in_s:
            parts.append(f"hold {format_number(hold_in_s)} s")
        parts.append(f"out {format_number(exhale_s)} s")
        if hold_out_s:
            parts.append(f"hold {format_number(hold_out_s)} s")
        if self.personal and personal_rate_per_min is None:
            head = f"personal rate (fallback {format_number(rate)}/min)"
        elif self.personal:
            head = f"personal rate {format_number(rate)}/min"
        else:
            head = f"{format_number(rate)}/min"
        tail = ""
        if self.adaptive is not None:
            tail = (f", adapting within {format_number(self.adaptive.min_rate_per_min)}-"
                    f"{format_number(self.adaptive.max_rate_per_min)}/min")
        return f"{head}, " + ", ".join(parts) + tail


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One phase of a protocol. ``pacer`` is None for natural (unpaced) breathing."""

    name: str
    title: str
    duration_s: float
    pacer: PacerSpec | None
    cues: tuple[CueSpec, ...]
    feedback: bool
    baseline: bool
    assessment_step: bool
    analysis_skip_s: float

    @property
    def paced(self) -> bool:
        return self.pacer is not None


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated protocol file.

    ``text`` is the raw TOML exactly as read, ``path`` the file it came from (None when parsed from a string),
    ``source`` the label that starts error messages about it.
    Phase ``feedback`` is as written; :meth:`shows_feedback` also honours ``feedback_signal = "none"``.
    """

    name: str
    title: str
    description: str
    intended_use: str
    safety_note: str
    feedback_signal: str
    phases: tuple[PhaseSpec, ...]
    schema_version: int
    text: str = field(repr=False)
    path: Path | None = None
    source: str = field(default="", compare=False)  # label used in messages: the file as the user named it
    roles: tuple[str, ...] = ()  # the participants it is for (e.g. therapist and client); empty: anyone

    @property
    def total_duration_s(self) -> float:
        return float(sum(p.duration_s for p in self.phases))

    @property
    def phase_starts_s(self) -> tuple[float, ...]:
        """Protocol time at which each phase starts (the last phase ends at :attr:`total_duration_s`)."""
        starts, t = [], 0.0
        for p in self.phases:
            starts.append(t)
            t += p.duration_s
        return tuple(starts)

    @property
    def baseline_phase(self) -> PhaseSpec | None:
        return next((p for p in self.phases if p.baseline), None)

    @property
    def assessment_steps(self) -> tuple[PhaseSpec, ...]:
        return tuple(p for p in self.phases if p.assessment_step)

    @property
    def uses_personal_rate(self) -> bool:
        return any(p.pacer is not None and p.pacer.personal for p in self.phases)

    @property
    def content_sha256(self) -> str:
        """SHA-256 of the raw TOML text (UTF-8), to tell protocol versions apart in recordings."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def shows_feedback(self, phase: PhaseSpec) -> bool:
        return phase.feedback and self.feedback_signal != "none"

    def phase_summary(self) -> str:
        """One line, e.g. ``settle 1:00, paced 6/min 1:30, door 0:30``."""
        parts = []
        for p in self.phases:
            if p.pacer is None:
                parts.append(f"{p.name} {format_duration(p.duration_s)}")
            else:
                rate = "personal" if p.pacer.personal else f"{format_number(float(p.pacer.rate_per_min))}/min"
                parts.append(f"{p.name} {rate} {format_duration(p.duration_s)}")
        return ", ".join(parts)

    def to_dict(self, personal_rate_per_min: float | None = None) -> dict[str, Any]:
        """Plain data for JSON output (no raw text). Paced phases also get the resolved pacer segment lengths."""
        phases = []
        for start_s, p in zip(self.phase_starts_s, self.phases, strict=True):
            entry: dict[str, Any] = {
                "name": p.name, "title": p.title, "start_s": start_s, "duration_s": p.duration_s,
                "feedback": self.shows_feedback(p), "baseline": p.baseline, "assessment_step": p.assessment_step,
                "analysis_skip_s": p.analysis_skip_s, "pacer": None,
                "cues": [{"at_s": c.at_s, "text": c.text} for c in p.cues],
            }
            if p.pacer is not None:
                pacer = p.pacer.pacer(personal_rate_per_min)
                inhale_s, hold_in_s, exhale_s, hold_out_s = pacer.segment_durations_s
                entry["pacer"] = {
                    "rate_per_min": p.pacer.rate_per_min,
                    "fallback_rate_per_min": p.pacer.fallback_rate_per_min if p.pacer.personal else None,
                    "resolved_rate_per_min": pacer.rate_per_min,
                    "inhale_share": p.pacer.inhale_share, "hold_in_s": hold_in_s, "hold_out_s": hold_out_s,
                    "inhale_s": inhale_s, "exhale_s": exhale_s, "period_s": pacer.period_s,
                    "adaptive": None if p.pacer.adaptive is None else dataclasses.asdict(p.pacer.adaptive),
                }
            phases.append(entry)
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "intended_use": self.intended_use, "safety_note": self.safety_note,
            "feedback_signal": self.feedback_signal, "schema_version": self.schema_version,
            "duration_s": self.total_duration_s, "path": str(self.path) if self.path else None,
            "sha256": self.content_sha256, "roles": list(self.roles), "phases": phases,
        }


def display_path(path: Path | str) -> str:
    """A path as short as possible for messages: relative to the working folder when inside it."""
    p = Path(path)
    try:
        rel = str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)
    return rel if rel != "." else str(p)


def read_protocol_file(path: Path | str) -> Protocol:
    """Read and validate one protocol file.

    Raises
    ------
    ProtocolError
        The file is missing or unreadable, is not valid TOML (message names line and column), or does not match
        the schema (message names the field path).
    """
    p = Path(path)
    where = display_path(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{where}: protocol file does not exist") from None
    except IsADirectoryError:
        raise ProtocolError(f"{where}: is a folder, not a protocol file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{where}: cannot read protocol file ({exc})") from None
    return parse_protocol(text, where=where, path=p)


def parse_protocol(text: str, *, where: str = "<protocol>", path: Path | None = None) -> Protocol:
    """Parse and validate protocol TOML text.

    Parameters
    ----------
    text
        The TOML text.
    where
        Label that starts error messages (normally the file name).
    path
        The file the text came from; when given, the protocol ``name`` must equal its stem.

    Raises
    ------
    ProtocolError
        One line naming ``where`` and the line/column (syntax) or field path (schema) and what is expected.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(_toml_error_message(where, exc)) from None
    data = validate_document(doc, where)
    return _build(data, text=text, where=where, path=path)


def _toml_error_message(where: str, exc: Exception) -> str:
    message = str(exc)
    line = getattr(exc, "lineno", None)  # Python >= 3.14 has lineno/colno
    col = getattr(exc, "colno", None)
    m = _TOML_POSITION.match(message)
    if m:
        message, line, col = m.group("msg"), int(m.group("line")), int(m.group("col"))
    elif hasattr(exc, "msg"):
        message = str(exc.msg)  # type: ignore[attr-defined]
    pos = f"line {line}, column {col}: " if line is not None else ""
    return f"{where}: {pos}invalid TOML: {message}"


def _build(data: Mapping[str, Any], *, text: str, where: str, path: Path | None) -> Protocol:
    def err(field_path: str, what: str) -> ProtocolError:
        return ProtocolError(f"{where}: {field_path}: {what}")

    name = data["name"]
    if not _NAME_RE.match(name):
        raise err("name", f"expected lower-case letters, digits, '-' or '_' (like \"reset\"), got {show_value(name)}")
    if path is not None and name != path.stem:
        raise err("name", f"expected {show_value(path.stem)} (the file name without .toml), got {show_value(name)}")

    phases: list[PhaseSpec] = []
    seen: dict[str, int] = {}
    for i, ph in enumerate(data["phases"]):
        at = f"phases[{i}]"
        if ph["name"] in seen:
            raise err(f"{at}.name", f"expected a name no other phase uses, got {show_value(ph['name'])} "
                                    f"(also phases[{seen[ph['name']]}])")
        seen[ph["name"]] = i
        duration_s = ph["duration_s"]
        pacer = _build_pacer(ph["pacer"], f"{at}.pacer", err)
        cues = []
        for j, cue in enumerate(ph["cues"]):
            if cue["at_s"] >= duration_s:
                raise err(f"{at}.cues[{j}].at_s", f"expected a time inside the phase (0 to below {format_number(duration_s)} s),"
                                                  f" got {show_value(cue['at_s'])}")
            cues.append(CueSpec(cue["at_s"], cue["text"].strip()))
        cues.sort(key=lambda c: c.at_s)  # stable: cues at the same time keep file order
        if ph["assessment_step"] and (pacer is None or pacer.personal):
            raise err(f"{at}.assessment_step", "expected only on a phase with a numeric pacer rate_per_min "
                                               "(the rate being assessed)")
        if ph["analysis_skip_s"] >= duration_s:
            raise err(f"{at}.analysis_skip_s", f"expected less than the phase duration {format_number(duration_s)} s, "
                                               f"got {show_value(ph['analysis_skip_s'])}")
        phases.append(PhaseSpec(name=ph["name"], title=(ph["title"] or ph["name"]).strip(), duration_s=duration_s,
                                pacer=pacer, cues=tuple(cues), feedback=ph["feedback"], baseline=ph["baseline"],
                                assessment_step=ph["assessment_step"], analysis_skip_s=ph["analysis_skip_s"]))

    baselines = [i for i, p in enumerate(phases) if p.baseline]
    if len(baselines) > 1:
        raise err(f"phases[{baselines[1]}].baseline", f"expected at most one baseline phase, but phases[{baselines[0]}]"
                                                      " is already the baseline")
    if data["feedback_signal"] == "rsa_vs_baseline" and not baselines:
        raise err("feedback_signal", '"rsa_vs_baseline" needs a phase with baseline = true')

    return Protocol(name=name, title=data["title"].strip(), description=data["description"].strip(),
                    intended_use=data["intended_use"].strip(), safety_note=(data["safety_note"] or "").strip(),
                    feedback_signal=data["feedback_signal"], phases=tuple(phases),
                    schema_version=data["schema_version"], text=text, path=path, source=where,
                    roles=tuple(data["roles"]))


def _build_pacer(raw: Mapping[str, Any] | None, at: str, err: Any) -> PacerSpec | None:
    if raw is None:
        return None
    personal = raw["rate_per_min"] == PERSONAL_RATE
    if raw["fallback_rate_per_min"] is not None and not personal:
        raise err(f"{at}.fallback_rate_per_min", 'expected only with rate_per_min = "personal" (it would be ignored)')
    fallback = raw["fallback_rate_per_min"]
    adaptive = _build_adaptive(raw.get("adaptive"), f"{at}.adaptive", err)
    spec = PacerSpec(rate_per_min=raw["rate_per_min"],
                     fallback_rate_per_min=DEFAULT_FALLBACK_RATE_PER_MIN if fallback is None else fallback,
                     inhale_share=raw["inhale_share"], hold_in_s=raw["hold_in_s"], hold_out_s=raw["hold_out_s"],
                     adaptive=adaptive)
    check_pacer_fits(spec, spec.resolve_rate_per_min(None), at, err)
    if adaptive is not None:
        check_pacer_fits(spec, adaptive.max_rate_per_min, at, err)
    return spec


def _build_adaptive(raw: Mapping[str, Any] | None, at: str, err: Any) -> AdaptiveSpec | None:
    if raw is None:
        return None
    spec = AdaptiveSpec(**raw)
    if spec.min_rate_per_min >= spec.max_rate_per_min:
        raise err(at, f"expected min_rate_per_min below max_rate_per_min, got {format_number(spec.min_rate_per_min)}"
                      f" and {format_number(spec.max_rate_per_min)}")
    return spec


def check_pacer_fits(spec: PacerSpec, rate_per_min: float, at: str, err: Any) -> None:
    """Raise ``err(at, …)`` when the holds leave no time to breathe at ``rate_per_min``."""
    period_s = 60.0 / rate_per_min
    holds_s = spec.hold_in_s + spec.hold_out_s
    if holds_s >= period_s:
        raise err(at, f"expected holds shorter than one breath: hold_in_s + hold_out_s = {format_number(holds_s)} s, but a "
                      f"breath at {format_number(rate_per_min)}/min lasts {format_number(period_s)} s")
    if not (RATE_MIN_PER_MIN <= rate_per_min <= RATE_MAX_PER_MIN):  # pragma: no cover - schema checks this
        raise err(at, f"expected a rate between {RATE_MIN_PER_MIN} and {RATE_MAX_PER_MIN}/min")


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``), rounding to whole seconds."""
    total = int(round(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_number(x: float) -> str:
    """Number without needless decimals: 6.0 → ``6``, 5.5 → ``5.5``, 4/3 → ``1.33``."""
    return f"{x:.2f}".rstrip("0").rstrip(".")
