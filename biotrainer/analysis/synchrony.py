"""Therapist–client heart-rate synchrony of one recorded session (the use case behind ``biotrainer synchrony``).

Takes each person's beats from the session, corrects them (:func:`biotrainer.metrics.artifacts.correct_rr`, the same
correction every other analysis uses), puts both heart rates on one 4 Hz grid over the time both were recorded,
and runs :func:`biotrainer.metrics.synchrony.dyad_synchrony` with the session's phases and, for paced phases, the
pacer's cycle. The sign convention is the engine's: **a positive lag means the client follows the therapist**.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from biotrainer.core.errors import UsageError
from biotrainer.core.events import Beat, PacerMarker
from biotrainer.metrics import synchrony as sync

#: The two roles a synchrony analysis relates (x = therapist, y = client).
LEADER_ROLE, FOLLOWER_ROLE = "therapist", "client"


@dataclass(frozen=True)
class SynchronyOptions:
    """What ``biotrainer synchrony`` lets the user choose (defaults: SCIENCE.md §11)."""

    window_s: float = sync.WINDOW_S
    step_s: float = sync.STEP_S
    lag_s: float = sync.LAG_S
    n_surrogates: int = sync.N_SURROGATES
    seed: int = 0
    #: How many of the therapist's other sessions (newest first) to pair with for the pseudo-dyad test.
    max_pseudo_dyads: int = 40
    #: Per-window RSA and breathing-rate concordance (each person's window metrics every :data:`METRIC_WINDOW_S`).
    concordance: bool = True


#: Window (and step) of the per-window metrics whose concordance is reported (SCIENCE.md §11: "per-60-s RSA").
METRIC_WINDOW_S = 60.0
#: The window metrics related between the two people: key in the metrics engine → name in the JSON.
CONCORDANCE_KEYS = {"rsa.p2t_ms": "rsa", "breathing.rate_per_min": "breathing_rate"}


def _nn_of(events: list[Any], role: str) -> tuple[np.ndarray, np.ndarray]:
    beats = [e for e in events if isinstance(e, Beat) and e.participant == role]
    return sync.corrected_nn(np.array([b.beat_t_s for b in beats], dtype=float),
                             np.array([b.rr_ms for b in beats], dtype=float))


def dyad_heart_rates(events: list[Any]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Therapist's and client's heart rate on one 4 Hz grid over the time both have beats: ``(x, y, start_s,
    end_s)``."""
    tx, nnx = _nn_of(events, LEADER_ROLE)
    ty, nny = _nn_of(events, FOLLOWER_ROLE)
    start, end = max(tx[0], ty[0]), min(tx[-1], ty[-1])
    return sync.hr_on_grid(tx, nnx, None, start, end), sync.hr_on_grid(ty, nny, None, start, end), start, end


def metric_concordance(events: list[Any], start_s: float, end_s: float, seed: int) -> dict[str, Any]:
    """Per-60-s RSA (peak–trough) and breathing rate of each person over the time both have beats, and their
    concordance (:func:`biotrainer.metrics.synchrony.series_concordance`); the window metrics are the ones every
    other analysis computes (:func:`biotrainer.metrics.offline.analyze_window`)."""
    from biotrainer.metrics.offline import analyze_window
    from biotrainer.metrics.streams import streams_from_events

    starts = np.arange(start_s, end_s - METRIC_WINDOW_S + 1e-9, METRIC_WINDOW_S)
    values: dict[str, dict[str, list[float]]] = {}
    for role in (LEADER_ROLE, FOLLOWER_ROLE):
        streams = streams_from_events(events, role)
        per_key: dict[str, list[float]] = {k: [] for k in CONCORDANCE_KEYS}
        for a in starts:
            got = analyze_window(streams, float(a), float(a) + METRIC_WINDOW_S).values
            for k in CONCORDANCE_KEYS:
                v = got.get(k)
                per_key[k].append(float(v) if isinstance(v, int | float) and np.isfinite(v) else np.nan)
        values[role] = per_key
    out: dict[str, Any] = {"window_s": METRIC_WINDOW_S}
    groups = pacer_rate_groups(events, starts, METRIC_WINDOW_S)
    for k, name in CONCORDANCE_KEYS.items():
        out[name] = sync.series_concordance(np.array(values[LEADER_ROLE][k]), np.array(values[FOLLOWER_ROLE][k]),
                                            seed=seed, groups=groups)
    return out


def pacer_rate_groups(events: list[Any], starts: np.ndarray, window_s: float) -> np.ndarray | None:
    """The pacer rate (/min, 0.01 steps) each window lies in, 0 where no pacer ran; None when no pacer ran at all.

    Used as the concordance's groups: two people following one pacer share its rate steps by design."""
    inhales = np.array(sorted(e.t_s for e in events if isinstance(e, PacerMarker) and e.segment == "inhale"))
    if inhales.size < 2:
        return None
    cycle = np.diff(inhales)
    out = np.zeros(starts.size)
    for i, a in enumerate(starts):
        inside = (inhales[:-1] >= a) & (inhales[1:] <= a + window_s) & (cycle <= 2 * np.median(cycle))
        if inside.any():
            out[i] = round(60.0 / float(np.median(cycle[inside])), 2)
    return out


def pacer_phase_on_grid(events: list[Any], grid_t_s: np.ndarray) -> np.ndarray:
    """Position (0..1) of the grid times within the pacer's breath cycle (inhale start to inhale start); NaN
    where no pacer ran (before its first inhale, after its last complete cycle, or across a pause > 2 cycles)."""
    starts = np.array(sorted(e.t_s for e in events if isinstance(e, PacerMarker) and e.segment == "inhale"))
    out = np.full(grid_t_s.size, np.nan)
    if starts.size < 2:
        return out
    k = np.searchsorted(starts, grid_t_s, side="right") - 1
    ok = (k >= 0) & (k < starts.size - 1)
    cycle = np.diff(starts)
    kk = k[ok]
    length = cycle[kk]
    typical = np.median(cycle)
    good = length <= 2 * typical  # a long pause is not a breath cycle
    phase = (grid_t_s[ok] - starts[kk]) / length
    out[np.flatnonzero(ok)[good]] = phase[good]
    return out


def _check_roles(session_id: str, people: dict[str, str], events: list[Any]) -> None:
    from biotrainer.analysis.participants import describe, roles_with_beats

    roles = roles_with_beats(events)
    missing = [r for r in (LEADER_ROLE, FOLLOWER_ROLE) if r not in roles]
    if missing:
        have = describe(people, roles) or "nobody"
        raise UsageError(f"session {session_id}: synchrony needs beats of a therapist and a client; it has beats "
                         f"of {have} (record with --device therapist=... --device client=...)")


def synchrony_of_events(session_id: str, events: list[Any], people: dict[str, str],
                        opts: SynchronyOptions) -> dict[str, Any]:
    """The documented synchrony JSON for a session's events (see :meth:`SynchronyResult.to_dict`), plus
    ``session`` id and ``participants`` (role → pseudonym)."""
    _check_roles(session_id, people, events)
    return _synchrony(session_id, events, people, opts, dyad_heart_rates(events))


def _synchrony(session_id: str, events: list[Any], people: dict[str, str], opts: SynchronyOptions,
               heart_rates: tuple[np.ndarray, np.ndarray, float, float]) -> dict[str, Any]:
    from biotrainer.core.phases import phase_spans

    x, y, start, end = heart_rates
    grid = start + np.arange(x.size) / sync.FS_HZ
    spans = phase_spans(events, open_end_s=end)
    phases = [sync.PhaseSpanInput(p.label, p.start_s - start, p.end_s - start, p.paced) for p in spans
              if p.end_s > start and p.start_s < end]
    pacer = pacer_phase_on_grid(events, grid) if any(p.paced for p in phases) else None
    try:
        result = sync.dyad_synchrony(x, y, window_s=opts.window_s, step_s=opts.step_s, lag_s=opts.lag_s,
                                     n_surrogates=opts.n_surrogates, seed=opts.seed, phases=phases,
                                     pacer_phase=pacer)
    except sync.SynchronyInputError as exc:
        raise UsageError(f"session {session_id}: {exc}") from None
    out = result.to_dict(offset_s=float(start))
    if opts.concordance:
        out["concordance"] = metric_concordance(events, float(start), float(end), opts.seed)
    out["session_id"] = session_id
    out["participants"] = {r: people.get(r) or r for r in (LEADER_ROLE, FOLLOWER_ROLE)}
    out["seed"] = opts.seed
    return out


def _client_hr(reader: Any) -> np.ndarray | None:
    """The client's heart rate on the 4 Hz grid from the client's first beat, or None without a client."""
    beats = reader.beats(FOLLOWER_ROLE)  # the beat columns only, not every event of the session
    t, nn = sync.corrected_nn(beats.beat_t_s, beats.rr_ms)
    if t.size < 3:
        return None
    return sync.hr_on_grid(t, nn, None, t[0], t[-1])


def pseudo_dyads(library: Any, session_id: str, therapist: str, opts: SynchronyOptions) -> list[np.ndarray]:
    """Clients' heart rates from the library's *other* sessions with the same therapist pseudonym (newest first)."""
    others = [s for s in library.list_sessions() if s.id != session_id and not s.error
              and (s.participants or {}).get(LEADER_ROLE) == therapist and FOLLOWER_ROLE in (s.participants or {})]
    out = []
    for summary in sorted(others, key=lambda s: s.started_at, reverse=True)[:opts.max_pseudo_dyads]:
        with library.open(summary.path) as reader:
            hr = _client_hr(reader)
        if hr is not None:
            out.append(hr)
    return out


def _read(library: Any, ref: str) -> tuple[str, list[Any], dict[str, str], str]:
    with library.open(ref) as reader:
        return reader.id, list(reader.events()), dict(reader.meta.participants), reader.meta.started_at


def _with_pseudo_dyads(library: Any, session_id: str, events: list[Any], people: dict[str, str],
                       opts: SynchronyOptions) -> dict[str, Any]:
    _check_roles(session_id, people, events)
    heart_rates = dyad_heart_rates(events)  # once, for the session's own analysis and its pseudo-dyads
    out = _synchrony(session_id, events, people, opts, heart_rates)
    therapist = people.get(LEADER_ROLE) or LEADER_ROLE
    test = sync.pseudo_dyad_test(heart_rates[0], heart_rates[1], pseudo_dyads(library, session_id, therapist, opts),
                                 window_s=opts.window_s, lag_s=opts.lag_s)
    out["pseudo_dyads"] = {**sync.chance_test_dict(test),
                           "method": f"the therapist ({therapist}) with the clients of their other sessions in the "
                                     f"library, from the start of each"}
    return out


def session_synchrony(library: Any, ref: str, opts: SynchronyOptions) -> dict[str, Any]:
    """Synchrony of the session ``ref`` (id, unique prefix or path) in ``library``, with the pseudo-dyad test
    against the same therapist's other sessions in the library."""
    session_id, events, people, _ = _read(library, ref)
    return _with_pseudo_dyads(library, session_id, events, people, opts)


#: A slope per week needs sessions spread over at least this many days (closer ones give absurd slopes).
MIN_TREND_SPAN_DAYS = 14.0


def synchrony_trend(library: Any, refs: list[str], opts: SynchronyOptions) -> dict[str, Any]:
    """The same dyad over several sessions (week 1 vs week 8): one row per session, oldest first, and the change.

    Rows hold the session's date, pseudonyms, mean z, effect size and p against surrogates, leader and lag. The
    change is last − first effect size; a least-squares slope of the effect size per week is given only when the
    sessions span at least :data:`MIN_TREND_SPAN_DAYS` days. Sessions of different dyads are refused: a trend
    compares a dyad with itself.
    """
    from datetime import datetime

    rows = []
    for ref in refs:
        session_id, events, people, started = _read(library, ref)
        out = synchrony_of_events(session_id, events, people, opts)  # rows need no pseudo-dyads: no 40 reads each
        rows.append({"session_id": out["session_id"], "started_at": started, "participants": out["participants"],
                     "mean_z": out["session"]["mean_z"], "effect_size": out["session"]["effect_size"],
                     "p_value": out["session"]["p_value"], "leader": out["lead_lag"]["leader"],
                     "curve_lag_s": out["lead_lag"]["curve_lag_s"], "n_windows": out["n_windows"]})
    dyads = {tuple(sorted(r["participants"].items())) for r in rows}
    if len(dyads) > 1:
        names = "; ".join(", ".join(f"{k} {v}" for k, v in d) for d in sorted(dyads))
        raise UsageError(f"these sessions are of different dyads ({names}): a synchrony trend compares one dyad "
                         f"with itself")
    rows.sort(key=lambda r: r["started_at"])
    days = [datetime.fromisoformat(r["started_at"]).timestamp() / 86400 for r in rows]
    have = [(d, r["effect_size"]) for d, r in zip(days, rows, strict=True) if r["effect_size"] is not None]
    trend: dict[str, Any] = {"n_sessions": len(rows), "span_days": days[-1] - days[0] if days else 0.0,
                             "change_effect_size": None, "slope_effect_size_per_week": None, "reason": ""}
    if len(have) >= 2:
        trend["change_effect_size"] = have[-1][1] - have[0][1]
    if len(have) >= 3 and have[-1][0] - have[0][0] >= MIN_TREND_SPAN_DAYS:
        d = np.array([h[0] for h in have])
        e = np.array([h[1] for h in have])
        trend["slope_effect_size_per_week"] = float(np.polyfit(d / 7.0, e, 1)[0])
    else:
        trend["reason"] = (f"a slope per week needs 3 sessions with a value over at least {MIN_TREND_SPAN_DAYS:g} "
                           f"days")
    return {"sessions": rows, "trend": trend}
