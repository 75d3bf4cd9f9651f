"""The practice journey: one participant's metrics over dates, per protocol and phase, with a robust slope per week
and a practice calendar (``biotrainer trend``, the library's Journey view, the trend section of reports).

A point is comparable only with points of the **same protocol and phase** (breathing, posture and task differ
between phases), so one journey is one participant × one protocol × one phase. Each session's value is the phase
value of :func:`biotrainer.analysis.compare.phase_stats` (the metrics engine over the whole phase, the same number
``compare`` shows), with its within-phase SD.

Slope per week (design choice): sessions less than :data:`SITTING_H` hours after the first session of a sitting
are one sitting (the median of their values at their mean time), so two sessions minutes apart never make a
slope. The slope is the Theil–Sen estimator (the median of the pairwise slopes; Sen 1968) over the sittings, in the
metric's unit per week, with its 95 % interval (:func:`scipy.stats.theilslopes`). It is given only with at least
:data:`MIN_SESSIONS` sittings spanning at least :data:`MIN_SPAN_DAYS` days; otherwise the reason says "not enough
sessions yet". A guide to the direction of practice, not a test of an effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from biotrainer.core.errors import UsageError
from biotrainer.metrics.catalogue import CATALOGUE

#: The journey's metrics, breathing rate first (it is shown beside every vagal index).
TREND_METRIC_KEYS: tuple[str, ...] = ("breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms",
                                      "coherence.ratio")
#: Self-reports stored with a session (``self_report`` in its header), 0-10.
SELF_REPORT_KEYS: tuple[str, ...] = ("self_report.calm", "self_report.present")
#: The breath counting task's score (:mod:`biotrainer.analysis.breath_counting`), in sessions with presses.
COUNTING_KEYS: tuple[str, ...] = ("breath_counting.accuracy_pct", "breath_counting.resets")
MIN_SESSIONS = 3
MIN_SPAN_DAYS = 7.0
SITTING_H = 12.0
DAY_S = 86400.0
#: The protocol name of the short reset (counted as "resets" in the practice calendar).
RESET_PROTOCOL = "reset"
#: How the title of a reset tagged with its client begins (:func:`biotrainer.wiring.reset.reset_title`).
BEFORE_TITLE = "Reset before "
#: The ``--protocol`` name of sessions without a protocol (imports).
NO_PROTOCOL = "none"
NOT_ENOUGH = "not enough sessions yet"
RULE = (f"Theil-Sen slope over sittings (sessions within {SITTING_H:g} h are one sitting, median value), in the "
        f"metric's unit per week with its 95 % interval; only with >= {MIN_SESSIONS} sittings spanning >= "
        f"{MIN_SPAN_DAYS:g} days. Points compare only within one protocol and phase.")


@dataclass(frozen=True)
class Slope:
    """A slope per week with its 95 % interval, or the reason there is none."""

    slope_per_week: float | None
    ci95: tuple[float, float] | None
    n_sittings: int
    span_days: float
    reason: str | None = None
    #: The fitted line at the first and the last sitting: ``((day, value), (day, value))``, days since the epoch.
    line: tuple[tuple[float, float], tuple[float, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        fit = None
        if self.line is not None:
            fit = {"dates": [iso_of_day(d) for d, _ in self.line], "values": [v for _, v in self.line]}
        return {"slope_per_week": self.slope_per_week, "ci95": list(self.ci95) if self.ci95 else None,
                "n_sittings": self.n_sittings, "span_days": self.span_days, "reason": self.reason, "fit": fit}


def sittings(days: Sequence[float], values: Sequence[float]) -> list[tuple[float, float]]:
    """``(day, value)`` per sitting: sessions within :data:`SITTING_H` h of a sitting's first session are merged
    (mean time, median value). ``days`` are days since any epoch; the output is sorted by time."""
    import numpy as np

    pts = sorted((float(d), float(v)) for d, v in zip(days, values, strict=True)
                 if math.isfinite(d) and math.isfinite(v))
    groups: list[list[tuple[float, float]]] = []
    for d, v in pts:
        if groups and d - groups[-1][0][0] < SITTING_H / 24.0:
            groups[-1].append((d, v))
        else:
            groups.append([(d, v)])
    return [(float(np.mean([g[0] for g in grp])), float(np.median([g[1] for g in grp]))) for grp in groups]


def _not_enough(n_sessions: int, n_sittings: int, span_days: float) -> str:
    have = f"{n_sessions} session{'s' if n_sessions != 1 else ''}"
    if n_sittings != n_sessions:
        have += f" in {n_sittings} sitting{'s' if n_sittings != 1 else ''}"
    if n_sessions > 1:
        have += f" over {span_days:.1f} days"
    return (f"{NOT_ENOUGH} ({have}; a slope per week needs {MIN_SESSIONS} sessions at least {SITTING_H:g} h apart "
            f"spanning {MIN_SPAN_DAYS:g} days)")


def robust_slope(days: Sequence[float], values: Sequence[float]) -> Slope:
    """The Theil–Sen slope per week of ``values`` over ``days`` (days, any epoch) with its 95 % interval, over
    sittings; None with the reason when there are too few sittings or they span too few days.

    >>> robust_slope([0, 7, 14], [60, 61, 62]).slope_per_week
    1.0
    >>> robust_slope([0, 0.001, 0.002], [60, 70, 80]).reason.startswith("not enough sessions yet")
    True
    """
    from scipy.stats import theilslopes

    n_sessions = sum(1 for d, v in zip(days, values, strict=True) if math.isfinite(d) and math.isfinite(v))
    pts = sittings(days, values)
    span = pts[-1][0] - pts[0][0] if pts else 0.0
    if len(pts) < MIN_SESSIONS or span < MIN_SPAN_DAYS:
        return Slope(None, None, len(pts), span, _not_enough(n_sessions, len(pts), span))
    x = [p[0] - pts[0][0] for p in pts]
    y = [p[1] for p in pts]
    res = theilslopes(y, x, alpha=0.95)
    slope, lo, hi = (float(res[0]) * 7.0, float(res[2]) * 7.0, float(res[3]) * 7.0)
    if not all(math.isfinite(v) for v in (slope, lo, hi, float(res[1]))):
        return Slope(None, None, len(pts), span, "no slope (the values are not finite)")
    line = ((pts[0][0], float(res[1])), (pts[-1][0], float(res[1]) + float(res[0]) * x[-1]))
    return Slope(slope, (lo, hi), len(pts), span, line=line)


def day_of(iso: str) -> float | None:
    """Days since the Unix epoch of an ISO-8601 time (None when it is not one)."""
    try:
        return datetime.fromisoformat(iso).timestamp() / DAY_S
    except (TypeError, ValueError):
        return None


def iso_of_day(day: float) -> str:
    """The ISO-8601 time (UTC) of ``day`` days since the Unix epoch."""
    from datetime import timezone

    return datetime.fromtimestamp(day * DAY_S, tz=timezone.utc).isoformat()


# --- one participant, one protocol, one phase ------------------------------------------------------------------

def protocol_of(meta: dict[str, Any]) -> str:
    """The protocol name of a session header (:data:`NO_PROTOCOL` when it has none)."""
    return str(meta.get("protocol_name") or "") or NO_PROTOCOL


def default_phase(session: Any) -> str:
    """The phase a journey shows by default: the longest paced phase (the one the library's key metrics use),
    else the first phase (the whole session when there are none)."""
    from biotrainer.analysis.compare import WHOLE
    from biotrainer.core.events import PhaseMarker
    from biotrainer.core.phases import phase_spans as spans_from_markers

    markers = sorted((e for e in session.events if isinstance(e, PhaseMarker)), key=lambda e: e.t_s)
    spans = spans_from_markers(markers, open_end_s=session.duration_s)
    if not spans:
        return WHOLE
    paced = [s for s in spans if s.paced]
    return max(paced, key=lambda s: s.duration_s).label if paced else spans[0].label


def session_point(session: Any, participant: str | None, phase: str) -> dict[str, Any]:
    """The values (and within-phase SDs) of ``phase`` of one session, or why there are none."""
    from biotrainer.analysis.compare import phase_spans, phase_stats
    from biotrainer.analysis.participants import role_for_comparison
    from biotrainer.metrics.streams import streams_from_events

    meta = session.meta
    report = meta.get("self_report") or {}
    point: dict[str, Any] = {"id": session.id, "started_at": session.started_at,
                             "duration_s": float(session.duration_s), "intention": str(meta.get("intention") or ""),
                             "values": {}, "sd": {}, "reasons": {}}
    for key in SELF_REPORT_KEYS:
        v = report.get(key.split(".", 1)[1]) if isinstance(report, dict) else None
        point["values"][key] = float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
    _counting_values(session, point)
    span = next(((s, e) for name, s, e in phase_spans(session) if name == phase), None)
    if span is None:
        point["reasons"] = {k: f"no phase {phase!r} in this session" for k in TREND_METRIC_KEYS}
        return point
    role = role_for_comparison(session, participant)
    ps = phase_stats(streams_from_events(session.events, role), phase, span[0], span[1])
    for key in TREND_METRIC_KEYS:
        point["values"][key] = _finite(ps.values.get(key))
        point["sd"][key] = _finite(ps.sd.get(key))
        if point["values"][key] is None:
            point["reasons"][key] = ps.reasons.get(key, "no value")
    return point


def _counting_values(session: Any, point: dict[str, Any]) -> None:
    from biotrainer.analysis.breath_counting import presses_of, score_presses

    presses = presses_of(session.events)
    score = score_presses(k for _, k in presses) if presses else None
    accuracy = score.accuracy if score is not None else None
    point["values"]["breath_counting.accuracy_pct"] = 100.0 * accuracy if accuracy is not None else None
    point["values"]["breath_counting.resets"] = float(score.resets) if score is not None else None


def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def metric_series(points: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """Values, ISO dates, session ids and within-phase SDs of ``key`` over ``points`` (sessions without a value
    are listed under ``missing`` with the reason), with the slope per week."""
    m = CATALOGUE.get(key)
    out: dict[str, Any] = {"label": m.label if m else key, "unit": m.unit if m else "", "values": [], "dates": [],
                           "sessions": [], "sd": [], "missing": []}
    for p in points:
        v = p["values"].get(key)
        if v is None:
            if key in p["reasons"]:
                out["missing"].append({"session": p["id"], "date": p["started_at"], "reason": p["reasons"][key]})
            continue
        out["values"].append(v)
        out["dates"].append(p["started_at"])
        out["sessions"].append(p["id"])
        out["sd"].append(p["sd"].get(key))
    days = [day_of(d) for d in out["dates"]]
    keep = [i for i, d in enumerate(days) if d is not None]
    slope = robust_slope([days[i] for i in keep], [out["values"][i] for i in keep])  # type: ignore[misc]
    out.update(slope.to_dict())
    out["n_sessions"] = len(out["values"])
    return out


def journey_of_sessions(sessions: Sequence[Any], *, participant: str | None = None, phase: str | None = None,
                        protocol: str | None = None) -> dict[str, Any]:
    """The journey over loaded sessions (:class:`~biotrainer.exchange.model.ExchangeSession`) of one participant
    and protocol, oldest first: per metric its values, ISO dates and slope per week (``metrics``), per session
    its values, intention and self-report (``sessions``).

    Raises
    ------
    UsageError
        No sessions; sessions of several protocols; ``phase`` is in none of them.
    """
    if not sessions:
        raise UsageError("no sessions for a trend")
    protocols = sorted({protocol_of(s.meta) for s in sessions})
    if len(protocols) > 1:
        raise UsageError(f"the sessions use {len(protocols)} protocols ({', '.join(protocols)}); a trend compares "
                         "one protocol and phase: give --protocol NAME")
    sessions = sorted(sessions, key=lambda s: day_of(s.started_at) or 0.0)
    from biotrainer.analysis.compare import phase_spans

    names = list(dict.fromkeys(name for s in sessions for name, _, _ in phase_spans(s)))
    phase = phase or default_phase(sessions[0])
    if phase not in names:
        raise UsageError(f"no phase {phase!r} in these sessions of protocol {protocols[0]}; phases: "
                         + ", ".join(names))
    points = [session_point(s, participant, phase) for s in sessions]
    keys = TREND_METRIC_KEYS + tuple(k for k in SELF_REPORT_KEYS + COUNTING_KEYS
                                     if any(p["values"][k] is not None for p in points))
    return {"participant": participant or "", "protocol": protocol or protocols[0], "phase": phase,
            "phases": names, "sessions": points, "metrics": {k: metric_series(points, k) for k in keys},
            "rule": RULE}


# --- the library: choosing sessions, the calendar ---------------------------------------------------------------

def _participant(library: Any, participant: str | None, summaries: list[Any]) -> str:
    people = sorted({p or r for s in summaries for r, p in s.participants.items()})
    if participant is None:
        if len(people) == 1:
            return people[0]
        if not people:
            raise UsageError(f"no sessions in library {library.root}")
        raise UsageError(f"the library has sessions of {len(people)} participants ({', '.join(people)}): give "
                         "--participant P")
    if not any(participant in s.participants.values() or participant in s.participants for s in summaries):
        raise UsageError(f"no sessions of participant {participant!r} in library {library.root}"
                         + (f" (participants: {', '.join(people)})" if people else ""))
    return participant


def _protocol(participant: str, protocol: str | None, summaries: list[Any]) -> str:
    counts: dict[str, int] = {}
    for s in summaries:
        name = s.protocol or NO_PROTOCOL
        counts[name] = counts.get(name, 0) + 1
    listed = ", ".join(f"{n}: {c} session{'s' if c != 1 else ''}" for n, c in sorted(counts.items()))
    if protocol is None:
        if len(counts) == 1:
            return next(iter(counts))
        raise UsageError(f"participant {participant} has sessions of {len(counts)} protocols ({listed}); a trend "
                         "compares one protocol and phase: give --protocol NAME")
    if protocol not in counts:
        raise UsageError(f"participant {participant} has no sessions of protocol {protocol!r} ({listed})")
    return protocol


def practice_calendar(summaries: Sequence[Any]) -> dict[str, Any]:
    """Days practised, sessions, resets and minutes per local date (every protocol), oldest first."""
    days: dict[str, dict[str, Any]] = {}
    for s in summaries:
        try:
            date = datetime.fromisoformat(s.started_at).date().isoformat()
        except (TypeError, ValueError):
            continue
        d = days.setdefault(date, {"date": date, "sessions": 0, "resets": 0, "before_clients": 0, "minutes": 0.0})
        d["sessions"] += 1
        d["resets"] += int(s.protocol == RESET_PROTOCOL)
        # a reset tagged with the client it came before ('biotrainer reset --before C07', Reset now in the window)
        d["before_clients"] += int(s.protocol == RESET_PROTOCOL and (s.title or "").startswith(BEFORE_TITLE))
        d["minutes"] += float(s.duration_s) / 60.0
    rows = [days[k] for k in sorted(days)]
    return {"days": rows, "days_practised": len(rows), "sessions": sum(r["sessions"] for r in rows),
            "resets": sum(r["resets"] for r in rows), "before_clients": sum(r["before_clients"] for r in rows), "minutes": sum(r["minutes"] for r in rows),
            "first": rows[0]["date"] if rows else None, "last": rows[-1]["date"] if rows else None}


def journey(library: Any, *, participant: str | None = None, protocol: str | None = None,
            phase: str | None = None) -> dict[str, Any]:
    """The journey of ``participant`` (pseudonym or role; the only one when None) in ``library``
    (:class:`biotrainer.store.Library`) for one protocol (the only one when None) and phase (the longest paced
    phase when None), with the practice calendar over all of the participant's sessions.

    Raises
    ------
    UsageError
        Unknown participant or protocol, several participants or protocols and none chosen, unknown phase.
    """
    from biotrainer.exchange.library import load_session

    readable = [s for s in library.list_sessions() if not s.error]
    participant = _participant(library, participant, readable)
    mine = [s for s in readable if participant in s.participants.values() or participant in s.participants]
    protocol = _protocol(participant, protocol, mine)
    chosen = [s for s in mine if (s.protocol or NO_PROTOCOL) == protocol]
    result = journey_of_sessions([load_session(library, s.id) for s in chosen], participant=participant,
                                 phase=phase, protocol=protocol)
    result["calendar"] = practice_calendar(mine)
    result["protocols"] = sorted({s.protocol or NO_PROTOCOL for s in mine})
    return result


# --- words -----------------------------------------------------------------------------------------------------

def slope_words(key: str, series: dict[str, Any]) -> str:
    """The slope of one metric in words: "+0.05 ln(ms) per week (95 % interval +0.01 to +0.09): rising", or the
    reason there is none."""
    from biotrainer.metrics.catalogue import format_number

    if series.get("slope_per_week") is None:
        return str(series.get("reason") or NOT_ENOUGH)
    m = CATALOGUE.get(key)
    lo, hi = series["ci95"]
    largest = max(abs(series["slope_per_week"]), abs(lo), abs(hi))
    # one decimal more than the metric's, or two significant digits of a small slope (at most 4 decimals)
    decimals = min(4, max((m.decimals + 1) if m else 2, 1 - math.floor(math.log10(largest)) if largest > 0 else 0))
    unit = f" {m.unit}" if m and m.unit else ""
    verdict = ("rising" if lo > 0 else "falling" if hi < 0 else
               "no clear change (the interval includes zero)")
    return (f"{format_number(series['slope_per_week'], decimals, signed=True)}{unit} per week (95 % interval "
            f"{format_number(lo, decimals, signed=True)} to {format_number(hi, decimals, signed=True)}): {verdict}")


def calendar_words(calendar: dict[str, Any]) -> str:
    """"Practised on 5 days (7 sessions, 2 resets, 64 min), 2026-03-02 to 2026-03-23"."""
    if not calendar.get("days_practised"):
        return "no practice recorded yet"
    n, s, r = calendar["days_practised"], calendar["sessions"], calendar["resets"]
    before = calendar.get("before_clients", 0)
    resets = f"{r} reset{'s' if r != 1 else ''}" + (f" ({before} before a client)" if before else "")
    return (f"practised on {n} day{'s' if n != 1 else ''} ({s} session{'s' if s != 1 else ''}, {resets}, "
            f"{calendar['minutes']:.0f} min), {calendar['first']} to {calendar['last']}")


def journey_lines(result: dict[str, Any]) -> list[str]:
    """The journey as plain text lines (the ``trend`` command, the Journey view's summary)."""
    from biotrainer.metrics.catalogue import format_value

    n = len(result["sessions"])
    lines = [f"Journey of {result['participant']} · protocol {result['protocol']} · phase {result['phase']} "
             f"({n} session{'s' if n != 1 else ''})"]
    if "calendar" in result:
        lines.append("Practice: " + calendar_words(result["calendar"]))
    lines.append("")
    for key, s in result["metrics"].items():
        label = s["label"] + (f" ({s['unit']})" if s["unit"] else "")
        values = " → ".join(format_value(key, v) if key in CATALOGUE else f"{v:g}" for v in s["values"][-8:])
        if len(s["values"]) > 8:
            values = "… → " + values
        lines.append(f"  {label}: {values or 'no values'}")
        lines.append(f"      {slope_words(key, s)}")
        for miss in s["missing"][:3]:
            lines.append(f"      withheld in {miss['session']}: {miss['reason']}")
    intentions = [(p["started_at"][:10], p["intention"]) for p in result["sessions"] if p.get("intention")]
    if intentions:
        lines += ["", "Intentions:"] + [f"  {d}: {t}" for d, t in intentions[-5:]]
    others = [p for p in result["phases"] if p != result["phase"]]
    lines += ["", "Each point compares only with the same protocol and phase"
              + (f" (other phases: {', '.join(others)}; --phase NAME)." if others else "."),
              "Read lnRMSSD, RMSSD and RSA beside the breathing rate; a practice tool, not a diagnosis."]
    return lines
