"""The attunement section in plain words, shared by the HTML and PDF renderers.

From the synchrony JSON (:class:`biotrainer.report.data.Attunement`): the session verdict, who follows whom, the
per-phase table, the chance test in two sentences and the caveat (docs/attunement.md says the same at length).
Sign convention of every lag: **positive = the client follows the therapist**.
"""

from __future__ import annotations

from typing import Any

from biotrainer.metrics.catalogue import format_number
from biotrainer.metrics.synchrony import LEAD_DEADBAND_S
from biotrainer.report.data import Attunement, ReportData
from biotrainer.report.tables import Table

CAVEAT = ("An awareness aid for reflection and supervision, not a score to optimise: synchrony effects in the "
          "psychotherapy literature are small and vary between dyads, so a session above chance is not a good "
          "session and one not above chance is not a bad one. Positive lag: the client follows the therapist.")


def _signed(v: float | None) -> str:
    return format_number(v, 2, signed=True)


def session_verdict(result: dict[str, Any]) -> str:
    """Above chance or not, with the effect size, p and the windows it rests on."""
    s = result["session"]
    over = (f"mean z {format_number(s['mean_z'], 2)} over {result['n_windows']} windows of {result['window_s']:g} s "
            f"(step {result['step_s']:g} s, lags ±{result['lag_s']:g} s)")
    if s["p_value"] is None:
        return f"No chance test was possible ({s['reason'] or 'too few segments'}); {over}."
    if s["p_value"] < 0.05:
        head = "The two heart rates moved together more than chance would give"
    else:
        head = "The two heart rates did not move together more than chance would give"
    return (f"{head}: effect size {_signed(s['effect_size'])} against {s['n_surrogates']} surrogates, "
            f"p = {s['p_value']:.3f}; {over}.")


def lead_lag_words(result: dict[str, Any]) -> str:
    """Who follows whom, by how much (the peak of the mean lag curve), or why nobody is said to lead."""
    lead = result["lead_lag"]
    lag, median = lead["curve_lag_s"], lead["median_lag_s"]
    detail = (f"peak of the mean lag curve at {_signed(lag)} s, median over {lead['basis'].split(';')[0]} "
              f"{_signed(median)} s")
    if lead["leader"] == "therapist":
        return f"The client's heart rate follows the therapist's by about {abs(lag):.1f} s ({detail})."
    if lead["leader"] == "client":
        return f"The therapist's heart rate follows the client's by about {abs(lag):.1f} s ({detail})."
    if lag is None:
        return "Nobody is said to lead: no window has a value."
    if result["session"]["p_value"] is None or result["session"]["p_value"] >= 0.05:
        return f"Nobody is said to lead, because the session is not above chance ({detail})."
    return f"Nobody is said to lead: the typical lag is within ±{LEAD_DEADBAND_S:g} s ({detail})."


def chance_words(result: dict[str, Any]) -> str:
    """The chance test in two plain sentences (a third when a phase was paced)."""
    s = result["session"]
    text = (f"Two heart rates always correlate a little, even for two people who never met, so the real synchrony "
            f"is compared with surrogates: the therapist's {result['window_s']:g}-s segments paired with the "
            f"client's segments from other moments of the same session, {s['n_surrogates']} times at random "
            f"(seed {result.get('seed', 0)}). The effect size is how many surrogate standard deviations the real "
            "value lies above them and p the share of surrogates at least as high; a window is marked above "
            "chance when its z beats 95 % of the surrogate pairs.")
    if any(p["paced"] for p in result["phases"]):
        text += (" In paced phases the surrogate partners start at the same point of the breath cycle, so "
                 "breathing to one pacer alone is reported as \"driven by the shared pacer\", not as attunement.")
    return text


def phase_rows(result: dict[str, Any]) -> Table:
    """One row per protocol phase: paced, mean z, effect size, p and the verdict (with its reason)."""
    rows = []
    for p in result["phases"]:
        verdict = p["verdict"] + (f" ({p['reason']})" if p["reason"] and p["verdict"] == "not testable" else "")
        rows.append([p["name"], "yes" if p["paced"] else "no", format_number(p["mean_z"], 2),
                     _signed(p["effect_size"]), format_number(p["p_value"], 3), verdict])
    return ["phase", "paced", "mean z", "effect size", "p", "verdict"], rows


def dyad_names(d: ReportData) -> str:
    """``therapist T01 and client C01``: the two people the section relates."""
    from biotrainer.analysis.participants import describe
    from biotrainer.analysis.synchrony import FOLLOWER_ROLE, LEADER_ROLE

    people = d.session.meta.get("participants") or {}
    return " and ".join(describe(people, [role]) for role in (LEADER_ROLE, FOLLOWER_ROLE))


def summary_lines(att: Attunement) -> list[str]:
    """The verdict paragraphs: session, lead/lag, notes; or why synchrony could not be computed."""
    if att.result is None:
        return [f"Synchrony could not be computed: {att.reason}"]
    result = att.result
    paced = [p["name"] for p in result["phases"] if p["paced"]]
    lines = [session_verdict(result), lead_lag_words(result)]
    if paced and not result["session"]["pacer_kept"]:
        lines.append(f"Both followed one pacer in {', '.join(paced)}: the whole-session test does not allow for "
                     "that, the phase verdicts below do.")
    return lines + [f"Note: {r}" for r in result["reasons"]]
