"""The one schema for protocol files, written as data, and the small validator that checks a document against it.

:data:`PROTOCOL_SCHEMA` describes every key a protocol TOML file may contain: its kind, whether it is required,
its default, its range or allowed values. :func:`validate_document` walks a parsed document against it, fills the
defaults, and raises :class:`~biotrainer.core.errors.ProtocolError` on the first problem with a one-line message naming
the file, the field path and what was expected::

    protocols/x.toml: phases[1].pacer.inhale_share: expected a number between 0.1 and 0.9, got 1.5

Unknown keys are errors, so a typo never silently falls back to a default. Rules that involve several fields
(cue times inside their phase, holds that leave time to breathe, unique phase names…) live in
:mod:`biotrainer.protocols.model`, which reports them in the same format.

The file layout (see ``protocols/*.toml`` for complete examples)::

    schema_version = 1
    name = "reset"                       # must equal the file name without .toml
    title = "Three-minute reset"
    description = "..."
    intended_use = "..."
    safety_note = "..."                  # optional
    feedback_signal = "rsa_vs_baseline"  # rsa_vs_baseline | coherence | ln_rmssd | hr | none

    [[phases]]
    name = "settle"
    duration_s = 60
    baseline = true                      # the participant's own reference for metrics
    feedback = false                     # show the feedback signal during this phase
    [[phases.cues]]
    at_s = 0
    text = "Sit comfortably..."

    [[phases]]
    name = "paced"
    duration_s = 90
    pacer = { rate_per_min = 6.0, inhale_share = 0.4 }   # or rate_per_min = "personal"
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from biotrainer.core.errors import ProtocolError

SCHEMA_VERSION = 1

FEEDBACK_SIGNALS: tuple[str, ...] = ("rsa_vs_baseline", "coherence", "ln_rmssd", "hr", "none")
"""Feedback a protocol can ask for. ``rsa_vs_baseline``: per-breath RSA relative to the protocol's baseline phase;
``coherence``: coherence ratio (SCIENCE.md §4); ``ln_rmssd``: live lnRMSSD; ``hr``: heart rate; ``none``."""

PERSONAL_RATE = "personal"
"""``pacer.rate_per_min = "personal"``: the participant's personal resonance rate, else ``fallback_rate_per_min``."""

DEFAULT_FALLBACK_RATE_PER_MIN = 6.0

RATE_MIN_PER_MIN = 1.0
RATE_MAX_PER_MIN = 30.0
MAX_PHASE_DURATION_S = 4 * 3600.0
MAX_HOLD_S = 30.0
MAX_CUE_CHARS = 300


@dataclass(frozen=True)
class Field:
    """One key of the schema.

    Attributes
    ----------
    kind
        ``string``, ``number`` (int or float, stored as float), ``integer``, ``boolean``, ``rate`` (a number or
        ``"personal"``), ``table`` (with ``fields``) or ``tables`` (an array of tables with ``fields``).
    required
        The key must be present. Otherwise a missing key gets ``default``.
    default
        Value filled in when the key is missing (None means "absent": the model decides).
    minimum, maximum
        Inclusive bounds for numbers; ``exclusive_minimum`` makes the lower bound exclusive.
    choices
        Allowed string values.
    max_chars
        Longest allowed string.
    fields
        Keys of a ``table`` or of each table in ``tables``.
    min_items
        Fewest tables in ``tables``.
    doc
        What the key means (shown in "missing key" errors and by ``biotrainer protocols``).
    """

    kind: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] | None = None
    max_chars: int | None = None
    fields: Mapping[str, Field] | None = None
    min_items: int = 0
    doc: str = ""


#: Closed-loop resonance pacer (``pacer.adaptive``): limits the controller keeps (SCIENCE.md §3).
ADAPTIVE_RATE_RANGE_PER_MIN = (4.5, 7.0)
ADAPTIVE_SCHEMA: dict[str, Field] = {
    "settle_s": Field("number", default=120.0, minimum=30.0, maximum=600.0,
                      doc="seconds at the start rate before the first change"),
    "step_per_min": Field("number", default=0.25, minimum=0.1, maximum=0.25,
                          doc="largest change of the rate at one step, breaths/min"),
    "interval_s": Field("number", default=90.0, minimum=60.0, maximum=120.0,
                        doc="seconds between changes at the least"),
    "min_rate_per_min": Field("number", default=ADAPTIVE_RATE_RANGE_PER_MIN[0],
                              minimum=ADAPTIVE_RATE_RANGE_PER_MIN[0], maximum=ADAPTIVE_RATE_RANGE_PER_MIN[1],
                              doc="slowest rate the pacer may reach"),
    "max_rate_per_min": Field("number", default=ADAPTIVE_RATE_RANGE_PER_MIN[1],
                              minimum=ADAPTIVE_RATE_RANGE_PER_MIN[0], maximum=ADAPTIVE_RATE_RANGE_PER_MIN[1],
                              doc="fastest rate the pacer may reach"),
}

PACER_SCHEMA: dict[str, Field] = {
    "rate_per_min": Field("rate", required=True, minimum=RATE_MIN_PER_MIN, maximum=RATE_MAX_PER_MIN,
                          doc='breaths per minute, or "personal" for the participant\'s resonance rate'),
    "fallback_rate_per_min": Field("number", minimum=RATE_MIN_PER_MIN, maximum=RATE_MAX_PER_MIN,
                                   doc='rate used when rate_per_min = "personal" and no personal rate is known '
                                       f'(default {DEFAULT_FALLBACK_RATE_PER_MIN})'),
    "inhale_share": Field("number", default=0.4, minimum=0.1, maximum=0.9,
                          doc="share of the moving part of a breath (inhale + exhale) spent inhaling"),
    "hold_in_s": Field("number", default=0.0, minimum=0.0, maximum=MAX_HOLD_S,
                       doc="hold after the inhale, seconds"),
    "hold_out_s": Field("number", default=0.0, minimum=0.0, maximum=MAX_HOLD_S,
                        doc="hold after the exhale, seconds"),
    "adaptive": Field("table", fields=ADAPTIVE_SCHEMA,
                      doc="closed loop: move the rate in small steps toward the largest heart-rate swing "
                          "(leave out for a fixed rate)"),
}

CUE_SCHEMA: dict[str, Field] = {
    "at_s": Field("number", required=True, minimum=0.0, doc="seconds after the phase start"),
    "text": Field("string", required=True, max_chars=MAX_CUE_CHARS, doc="the cue shown on screen"),
}

PHASE_SCHEMA: dict[str, Field] = {
    "name": Field("string", required=True, max_chars=60, doc="short unique phase name, e.g. \"baseline\""),
    "title": Field("string", max_chars=120, doc="label shown on screen (default: the name)"),
    "duration_s": Field("number", required=True, minimum=0.0, exclusive_minimum=True,
                        maximum=MAX_PHASE_DURATION_S, doc="phase length in seconds"),
    "pacer": Field("table", fields=PACER_SCHEMA, doc="breathing pacer; leave out for natural breathing"),
    "feedback": Field("boolean", default=True, doc="show the protocol's feedback signal during this phase"),
    "baseline": Field("boolean", default=False,
                      doc="this phase is the participant's own reference for the metrics"),
    "assessment_step": Field("boolean", default=False,
                             doc="a step of a resonance-rate assessment (needs a numeric pacer rate)"),
    "analysis_skip_s": Field("number", default=0.0, minimum=0.0, maximum=MAX_PHASE_DURATION_S,
                             doc="seconds at the phase start that metrics skip while breathing adjusts"),
    "cues": Field("tables", default=(), fields=CUE_SCHEMA, doc="on-screen cue texts ([[phases.cues]])"),
}

PROTOCOL_SCHEMA: dict[str, Field] = {
    "schema_version": Field("integer", default=SCHEMA_VERSION, choices=(SCHEMA_VERSION,),
                            doc="version of this file format"),
    "name": Field("string", required=True, max_chars=60, doc="the file name without .toml, e.g. \"reset\""),
    "title": Field("string", required=True, max_chars=120, doc="title shown in lists"),
    "description": Field("string", required=True, doc="what the protocol does"),
    "intended_use": Field("string", required=True, doc="who it is for and when"),
    "safety_note": Field("string", default="", doc="shown before the protocol starts"),
    "feedback_signal": Field("string", default="none", choices=FEEDBACK_SIGNALS,
                             doc="which feedback signal the protocol wants"),
    "roles": Field("roles", default=(), choices=("self", "client", "therapist"),
                   doc='the participants the protocol is for, e.g. ["therapist", "client"] (default: anyone)'),
    "phases": Field("tables", required=True, min_items=1, fields=PHASE_SCHEMA, doc="the phases, in order"),
}


def describe_schema(fields: Mapping[str, Field] | None = None, prefix: str = "") -> list[dict[str, Any]]:
    """Every key of the schema as plain data, depth first: ``path`` (``phases[].pacer.inhale_share``), ``kind``,
    ``required``, ``default``, ``expected`` (the phrase used in error messages) and ``doc``."""
    out: list[dict[str, Any]] = []
    for key, spec in (PROTOCOL_SCHEMA if fields is None else fields).items():
        path = f"{prefix}{key}"
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        out.append({"path": path + ("[]" if spec.kind == "tables" else ""), "kind": spec.kind,
                    "required": spec.required, "default": default, "expected": _expected(spec), "doc": spec.doc})
        if spec.fields is not None:
            out.extend(describe_schema(spec.fields, path + ("[]." if spec.kind == "tables" else ".")))
    return out


def validate_document(doc: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check a parsed protocol document against :data:`PROTOCOL_SCHEMA` and fill the defaults.

    Parameters
    ----------
    doc
        The document as returned by ``tomllib.loads``.
    where
        The file name (or another label) that starts every error message.

    Returns
    -------
    dict
        A new document: numbers as float, tables as dicts, arrays of tables as lists, missing keys with defaults.

    Raises
    ------
    ProtocolError
        ``"<where>: <field path>: expected …, got …"`` for the first problem found.
    """
    return _check_table(doc, PROTOCOL_SCHEMA, "", where)


def _check_table(value: Any, fields: Mapping[str, Field], path: str, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{_label(where, path)}expected a table, got {show_value(value)}")
    for key in value:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), list(fields), n=1)
            maybe = f"did you mean {hint[0]!r}? " if hint else ""
            raise ProtocolError(f"{_label(where, _join(path, key))}unknown key ({maybe}allowed here: "
                                f"{', '.join(fields)})")
    out: dict[str, Any] = {}
    for key, spec in fields.items():
        sub = _join(path, key)
        if key not in value:
            if spec.required:
                raise ProtocolError(f"{_label(where, sub)}missing required key: expected {_expected(spec)}"
                                    + (f" ({spec.doc})" if spec.doc else ""))
            out[key] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            continue
        out[key] = _check_value(value[key], spec, sub, where)
    return out


def _check_value(value: Any, spec: Field, path: str, where: str) -> Any:
    if spec.kind == "table":
        assert spec.fields is not None
        return _check_table(value, spec.fields, path, where)
    if spec.kind == "tables":
        return _check_tables(value, spec, path, where)
    check = _SCALAR_CHECKS.get(spec.kind)
    if check is None:  # pragma: no cover - schema bug
        raise AssertionError(f"schema field kind {spec.kind!r} is not known")
    out = check(value, spec)
    if out is _INVALID:
        raise ProtocolError(f"{_label(where, path)}expected {_expected(spec)}, got {show_value(value)}")
    return out


def _check_tables(value: Any, spec: Field, path: str, where: str) -> list[dict[str, Any]]:
    assert spec.fields is not None
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ProtocolError(f"{_label(where, path)}expected {_expected(spec)}, got {show_value(value)}")
    if len(value) < spec.min_items:
        raise ProtocolError(f"{_label(where, path)}expected at least {spec.min_items} "
                            f"{'entry' if spec.min_items == 1 else 'entries'}, got none")
    return [_check_table(v, spec.fields, f"{path}[{i}]", where) for i, v in enumerate(value)]


_INVALID = object()  # what a scalar check returns for a value the field does not accept


def _check_string(value: Any, spec: Field) -> Any:
    if not isinstance(value, str) or not value.strip():
        return _INVALID
    if spec.max_chars is not None and len(value) > spec.max_chars:
        return _INVALID
    return value if spec.choices is None or value in spec.choices else _INVALID


def _check_boolean(value: Any, spec: Field) -> Any:
    return value if isinstance(value, bool) else _INVALID


def _check_integer(value: Any, spec: Field) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return _INVALID
    return value if spec.choices is None or value in spec.choices else _INVALID


def _check_number(value: Any, spec: Field) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _INVALID
    return float(value) if _in_range(float(value), spec) else _INVALID


def _check_rate(value: Any, spec: Field) -> Any:
    return value if value == PERSONAL_RATE else _check_number(value, spec)


def _check_roles(value: Any, spec: Field) -> Any:
    """An array of distinct participant roles."""
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        return _INVALID
    if not all(isinstance(v, str) and spec.choices is not None and v in spec.choices for v in value):
        return _INVALID
    return list(value)


_SCALAR_CHECKS: dict[str, Callable[[Any, Field], Any]] = {
    "string": _check_string, "boolean": _check_boolean, "integer": _check_integer, "number": _check_number,
    "rate": _check_rate, "roles": _check_roles,
}


def _in_range(x: float, spec: Field) -> bool:
    if spec.minimum is not None and (x <= spec.minimum if spec.exclusive_minimum else x < spec.minimum):
        return False
    return spec.maximum is None or x <= spec.maximum


def _expected(spec: Field) -> str:
    kind = spec.kind
    if kind == "table":
        return "a table"
    if kind == "tables":
        return "an array of tables"
    if kind == "boolean":
        return "true or false"
    if kind == "roles":
        return "an array of distinct roles from " + ", ".join(json.dumps(c) for c in spec.choices or ())
    if kind == "integer":
        if spec.choices is not None:
            return " or ".join(str(c) for c in spec.choices)
        return "an integer"
    if kind == "string":
        if spec.choices is not None:
            return "one of " + ", ".join(json.dumps(c) for c in spec.choices)
        limit = f" of at most {spec.max_chars} characters" if spec.max_chars is not None else ""
        return f"a non-empty string{limit}"
    number = _number_range(spec)
    if kind == "rate":
        return f'{number} or "{PERSONAL_RATE}"'
    return number


def _number_range(spec: Field) -> str:
    lo, hi = spec.minimum, spec.maximum
    if lo is not None and hi is not None and not spec.exclusive_minimum:
        return f"a number between {_num(lo)} and {_num(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if spec.exclusive_minimum else '>='} {_num(lo)}")
    if hi is not None:
        parts.append(f"<= {_num(hi)}")
    return "a number" + (" " + " and ".join(parts) if parts else "")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def show_value(value: Any) -> str:
    """A value as it would look in TOML, for error messages (``"text"``, ``true``, ``1.5``, ``a table``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '…"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{value} ({type(value).__name__})"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _label(where: str, path: str) -> str:
    return f"{where}: {path}: " if path else f"{where}: "
