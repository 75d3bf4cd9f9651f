"""The synchrony result in words: the one wording ``biotrainer synchrony`` prints and the replay screen's card shows.

Every function reads the documented dict of :func:`biotrainer.analysis.synchrony.synchrony_of_events` (or one of
its windows) and returns plain text; none computes anything. The sign convention is the engine's: **a positive lag
means the client follows the therapist**.
"""

from __future__ import annotations

from typing import Any, Final

from biotrainer.metrics.synchrony import LEAD_DEADBAND_S

#: What the numbers are for, said wherever they are shown.
CAVEAT: Final = ("Positive lag: the client follows the therapist. Synchrony effects in the literature are small and "
                 "vary between dyads: an awareness aid for reflection and supervision, not a score to optimise.")


def _num(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def is_above_chance(out: dict[str, Any]) -> bool | None:
    """Whether the whole session is above chance (p < 0.05); None when the chance test was not possible."""
    p = out["session"]["p_value"]
    return None if p is None else p < 0.05


def headline(out: dict[str, Any]) -> str:
    """``Heart-rate synchrony above chance`` (or ``not above chance``, or ``not testable against chance``)."""
    above = is_above_chance(out)
    words = "not testable against chance" if above is None else "above chance" if above else "not above chance"
    return f"Heart-rate synchrony {words}"


def measure_line(out: dict[str, Any]) -> str:
    """``heart-rate synchrony: mean z 0.69 over 72 windows of 30 s (step 5 s, lags ±5 s)``."""
    return (f"heart-rate synchrony: mean z {_num(out['session']['mean_z'], '.2f')} over {out['n_windows']} windows "
            f"of {out['window_s']:g} s (step {out['step_s']:g} s, lags ±{out['lag_s']:g} s)")


def chance_line(out: dict[str, Any]) -> str:
    """The whole-session chance test: effect size, p and the verdict, or why it was not possible."""
    s = out["session"]
    above = is_above_chance(out)
    if above is None:
        return f"chance test: not possible ({s['reason']})"
    verdict = "above chance" if above else "not above chance"
    return (f"against {s['n_surrogates']} surrogates: effect size {s['effect_size']:+.2f}, "
            f"p = {s['p_value']:.3f} → {verdict}")


def lead_line(out: dict[str, Any]) -> str:
    """Who follows whom, by the peak of the mean lag curve and the median of the windows' lags."""
    lead = out["lead_lag"]
    lag = f"{_num(lead['curve_lag_s'], '+.2f')} s at the peak of the mean lag curve, median over windows " \
          f"{_num(lead['median_lag_s'], '+.2f')} s"
    if lead["leader"] == "none":
        return f"lead/lag: nobody leads ({lag}; {lead['basis']})"
    follower = "client" if lead["leader"] == "therapist" else "therapist"
    return f"lead/lag: the {follower} follows the {lead['leader']} ({lag}; {lead['basis']})"


def slope_line(out: dict[str, Any]) -> str | None:
    """The slope-concordance test, or None when it has no p-value."""
    slope = out.get("slope_concordance")
    if slope and slope["p_value"] is not None:
        return f"slope concordance: effect size {slope['effect_size']:+.2f}, p = {slope['p_value']:.3f}"
    return None


def pseudo_line(out: dict[str, Any]) -> str | None:
    """The pseudo-dyad test (the therapist with other sessions' clients), or None when it was not asked for."""
    pseudo = out.get("pseudo_dyads")
    if not pseudo:
        return None
    if pseudo["p_value"] is None:
        return f"against pseudo-dyads: not possible ({pseudo['reason']})"
    n = pseudo["n_surrogates"]
    verdict = "above" if pseudo["p_value"] < 0.05 else "not above"
    floor = f"; with {n} p cannot be below {1 / (n + 1):.3f}" if 1 / (n + 1) >= 0.05 else ""
    return (f"against {n} pseudo-dyads (the therapist with other sessions' clients): effect size "
            f"{pseudo['effect_size']:+.2f}, p = {pseudo['p_value']:.3f} → {verdict} them{floor}")


def concordance_lines(out: dict[str, Any]) -> list[str]:
    """Per-60-s RSA and breathing-rate concordance: r and permutation p, or why there is none."""
    conc = out.get("concordance")
    if not conc:
        return []
    lines = []
    for name, words in (("rsa", "RSA"), ("breathing_rate", "breathing rate")):
        c = conc[name]
        if c["r"] is None:
            lines.append(f"{words} per {conc['window_s']:g} s: no concordance ({c['reason']})")
        else:
            kept = ", within each pacer rate: the shared pacer removed" if c.get("pacer_kept") else ""
            lines.append(f"{words} per {conc['window_s']:g} s: r = {c['r']:+.2f} over {c['n_windows']} windows, "
                         f"p = {c['p_value']:.3f} (permutations{kept})")
    return lines


def phase_lines(out: dict[str, Any]) -> list[str]:
    """One line per phase with its verdict (``above chance``, ``driven by the shared pacer``, ...)."""
    lines = []
    for p in out["phases"]:
        paced = " (paced)" if p["paced"] else ""
        lines.append(f"phase {p['name']}{paced}: mean z {_num(p['mean_z'], '.2f')}, effect size "
                     f"{_num(p['effect_size'], '+.2f')}, p {_num(p['p_value'], '.3f')} → {p['verdict']}")
    return lines


def result_lines(out: dict[str, Any]) -> list[str]:
    """The result in words, without the session header and the caveat: measure, chance test, lead/lag, slope
    concordance, phases and notes (the body of ``biotrainer synchrony`` and of the replay screen's card)."""
    lines = [measure_line(out), chance_line(out)]
    lines += [x for x in (pseudo_line(out),) if x]
    lines.append(lead_line(out))
    slope = slope_line(out)
    if slope:
        lines.append(slope)
    lines += concordance_lines(out)
    return lines + phase_lines(out) + [f"note: {r}" for r in out["reasons"]]


def window_follower(lag_s: float | None) -> str | None:
    """Who follows in a window with this peak lag: ``client`` (positive lag), ``therapist`` (negative), or None
    (in step, within ±0.5 s, or no value)."""
    if lag_s is None or abs(lag_s) <= LEAD_DEADBAND_S:
        return None
    return "client" if lag_s > 0 else "therapist"


def window_lag_words(lag_s: float | None) -> str:
    """One window's lag: ``client follows by 2.8 s``, ``therapist follows by 1.0 s``, ``in step`` (within
    ±0.5 s) or ``no lag`` (no value)."""
    if lag_s is None:
        return "no lag"
    who = window_follower(lag_s)
    return "in step" if who is None else f"{who} follows by {abs(lag_s):.1f} s"
