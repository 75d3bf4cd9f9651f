"""The end-of-session summary in plain words: how each phase compares with the first one (the settle or baseline
phase), with the uncertainty, the breathing rate beside every vagal index, and what was withheld and why.

Shown at the end of a live session (terminal and window) and of a replay, before the optional self-report. The
numbers are :func:`biotrainer.analysis.compare.session_stats` (the metrics engine over each whole phase) and the
verdicts :func:`biotrainer.analysis.compare.difference` (the change against the metric's variation between the
phase's 60-s windows, "minute-to-minute variation" in words). Breathing slows in a paced phase, and slow breathing
by itself raises RMSSD and RSA: every vagal line carries the breathing rates of both phases.
"""

from __future__ import annotations

from typing import Any

from biotrainer.metrics.catalogue import CATALOGUE, format_value

#: The metrics of the summary, breathing rate first; the vagal ones carry the breathing rate.
SUMMARY_KEYS = ("breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms", "coherence.ratio")
VAGAL_KEYS = ("hrv.ln_rmssd", "rsa.p2t_ms")
BREATHING = "breathing.rate_per_min"
#: Metric → its name in plain words.
PLAIN_NAMES = {"breathing.rate_per_min": "your breathing rate", "hrv.hr_bpm": "your heart rate",
               "hrv.ln_rmssd": "heart-rate variability (lnRMSSD)",
               "rsa.p2t_ms": "the heart-rate swing with each breath (RSA)",
               "coherence.ratio": "the smoothness of the heart-rate wave (coherence)"}
#: A breathing-rate change (/min) above which a vagal line says that breathing alone moves the index.
BREATHING_CHANGE_PER_MIN = 2.0
CAVEAT = ("These are within-person practice signals, not a diagnosis: compare them with your own earlier sessions "
          "of the same protocol and phase.")


def _value(key: str, v: float | None) -> str:
    return format_value(key, v, unit=True)


def _verdict_words(verdict: str) -> str:
    if verdict.startswith("beyond"):
        return "more than its minute-to-minute variation"
    if verdict == "uncertain":
        return "but not clearly more than its minute-to-minute variation (it could be chance)"
    return "within its minute-to-minute variation"


def change_words(key: str, diff: dict[str, Any], ref: str, phase: str, breathing: dict[str, Any] | None) -> str:
    """One change in words: "heart-rate variability (lnRMSSD) rose from your settle phase to the paced phase,
    more than its minute-to-minute variation (2.95 → 3.40 ln(ms); breathing 12.0 → 6.0 /min)"."""
    name = PLAIN_NAMES.get(key, CATALOGUE[key].label)
    d = diff["difference"]
    within = diff["verdict"].startswith("within")
    verb = "stayed about the same" if within or d == 0 else ("rose" if d > 0 else "fell")
    numbers = f"{_value(key, diff['a'])} → {_value(key, diff['b'])}"
    if key in VAGAL_KEYS and breathing is not None:
        numbers += f"; breathing {_value(BREATHING, breathing['a'])} → {_value(BREATHING, breathing['b'])}"
    line = f"{name[0].upper() + name[1:]} {verb} from your {ref} phase to the {phase} phase"
    if diff["z"] is None:
        line += (f" ({numbers}); the phases are too short to tell whether that is more than its minute-to-minute "
                 "variation")
    else:
        line += (f" ({numbers})" if within else f", {_verdict_words(diff['verdict'])} ({numbers})")
    if key in VAGAL_KEYS and breathing is not None and breathing["difference"] is not None \
            and abs(breathing["difference"]) >= BREATHING_CHANGE_PER_MIN:
        slower = breathing["difference"] < 0
        line += (". Breathing was " + ("slower" if slower else "faster") + ", which by itself "
                 + ("raises" if slower else "lowers") + " this index")
    return line + "."


def _withheld(stats: Any) -> list[dict[str, str]]:
    out = []
    for ph in stats.phases:
        for key in SUMMARY_KEYS:
            if ph.values.get(key) is None:
                out.append({"phase": ph.name, "metric": key,
                            "reason": ph.reasons.get(key) or (f"{ph.beats} beats in the phase" if ph.beats < 3
                                                              else "no value")})
    return out


def summarize_session(session: Any, participant: str | None = None) -> dict[str, Any]:
    """The summary of a loaded session (:class:`~biotrainer.exchange.model.ExchangeSession`).

    Returns
    -------
    dict
        ``id``, ``participant``, ``protocol``, ``intention``, ``self_report``, ``phases`` (name, duration, values),
        ``changes`` (per later phase and metric: a, b, verdict, words), ``withheld`` (phase, metric, reason) and
        ``lines`` (the whole summary as plain sentences).
    """
    from biotrainer.analysis.compare import difference, session_stats

    stats = session_stats(session, participant)
    meta = session.meta
    out: dict[str, Any] = {
        "id": session.id, "participant": stats.participant, "protocol": stats.protocol,
        "intention": str(meta.get("intention") or ""), "self_report": dict(meta.get("self_report") or {}),
        "phases": [{"name": p.name, "duration_s": p.duration_s,
                    "values": {k: p.values.get(k) for k in SUMMARY_KEYS}} for p in stats.phases],
        "changes": [], "withheld": _withheld(stats)}
    ref = stats.phases[0]
    for ph in stats.phases[1:]:
        breathing = difference(ref, ph, BREATHING)
        for key in SUMMARY_KEYS:
            diff = difference(ref, ph, key)
            if diff["difference"] is None:
                continue
            out["changes"].append({"phase": ph.name, "reference": ref.name, "metric": key, "a": diff["a"],
                                   "b": diff["b"], "verdict": diff["verdict"],
                                   "words": change_words(key, diff, ref.name, ph.name, breathing)})
    counting = breath_counting_of(session, stats.role)
    if counting is not None:
        out["breath_counting"] = counting
    out["lines"] = summary_lines(out)
    return out


def breath_counting_of(session: Any, role: str) -> dict[str, Any] | None:
    """The breath counting score of a session with task presses (with the strap's breaths), else None."""
    from biotrainer.analysis.breath_counting import presses_of, score_session

    if not presses_of(session.events):
        return None
    from biotrainer.analysis.series import breath_rsa
    from biotrainer.metrics.streams import streams_from_events

    ends, _ = breath_rsa(streams_from_events(session.events, role))
    return score_session(session.events, ends.tolist())


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as plain sentences: intention, the first phase, the changes, what was withheld, the caveat."""
    lines = []
    if summary["intention"]:
        lines.append(f"Your intention: “{summary['intention']}”.")
    first = summary["phases"][0]
    v = first["values"]
    lines.append(f"In your {first['name']} phase you breathed at {_value(BREATHING, v.get(BREATHING))} with a heart "
                 f"rate of {_value('hrv.hr_bpm', v.get('hrv.hr_bpm'))}.")
    if len(summary["phases"]) == 1:
        lines.append("This session had one phase, so there is no before and after to compare.")
    for phase in dict.fromkeys(c["phase"] for c in summary["changes"]):
        lines += _phase_lines([c for c in summary["changes"] if c["phase"] == phase])
    if summary.get("breath_counting"):
        lines += _counting_lines(summary["breath_counting"])
    for w in summary["withheld"]:
        lines.append(f"Not shown: {CATALOGUE[w['metric']].label} in the {w['phase']} phase ({w['reason']}).")
    lines.append(CAVEAT)
    return lines


def _counting_lines(score: dict[str, Any]) -> list[str]:
    from biotrainer.analysis.breath_counting import score_words

    lines = [f"Breath counting: {score_words(score)}."]
    strap = score.get("strap") or {}
    if strap.get("one_press_per_breath_pct") is not None:
        lines.append(f"Your presses against the breaths the strap detected: {strap['presses']} presses over "
                     f"{strap['breaths']} breaths, one press per breath in {strap['one_press_per_breath_pct']:.0f} % "
                     "of them.")
    elif strap.get("reason"):
        lines.append(f"Presses not compared with the strap: {strap['reason']}.")
    return lines


def _phase_lines(changes: list[dict[str, Any]]) -> list[str]:
    """A sentence per change of one phase; one sentence for a phase too short for any variability estimate."""
    if any(not c["verdict"].startswith("no variability") for c in changes):
        return [c["words"] for c in changes]
    ref, phase = changes[0]["reference"], changes[0]["phase"]
    numbers = ", ".join(f"{PLAIN_NAMES.get(c['metric'], c['metric']).removeprefix('your ')} "
                        f"{_value(c['metric'], c['a'])} → {_value(c['metric'], c['b'])}" for c in changes)
    return [f"From your {ref} phase to the {phase} phase (too short to tell changes from minute-to-minute "
            f"variation): {numbers}."]


#: Metric → plain words without abbreviations or units, for the client handout.
HANDOUT_NAMES = {"breathing.rate_per_min": "your breathing", "hrv.hr_bpm": "your heart rate",
                 "hrv.ln_rmssd": "the variability of your heartbeat",
                 "rsa.p2t_ms": "how much your heart rate swung with each breath",
                 "coherence.ratio": "how smooth and wave-like your heart rhythm was"}


def _handout_change(c: dict[str, Any]) -> str:
    key, d = c["metric"], (c["b"] or 0.0) - (c["a"] or 0.0)
    same = c["verdict"].startswith("within") or d == 0
    if key == BREATHING:
        verb = "stayed about the same" if same else ("slowed" if d < 0 else "quickened")
        return (f"In the {c['phase']} part {HANDOUT_NAMES[key]} {verb}: from about {c['a']:.0f} to about "
                f"{c['b']:.0f} breaths a minute.")
    if key == "hrv.hr_bpm":
        verb = "stayed about the same" if same else ("rose" if d > 0 else "settled")
        return (f"{HANDOUT_NAMES[key][0].upper() + HANDOUT_NAMES[key][1:]} {verb} (about {c['a']:.0f} → "
                f"{c['b']:.0f} beats a minute).")
    name = HANDOUT_NAMES.get(key, CATALOGUE[key].label)
    if same:
        return f"{name[0].upper() + name[1:]} stayed about the same."
    sure = c["verdict"].startswith("beyond")
    return (f"{name[0].upper() + name[1:]} {'grew' if d > 0 else 'became smaller'}"
            + (", clearly more than its usual ups and downs." if sure else ", though not clearly more than its "
               "usual ups and downs."))


def handout_lines(summary: dict[str, Any]) -> list[str]:
    """The summary for the person themselves: plain words, no abbreviations, no ids; the changes from the first
    phase to the longest later phase with a verdict, and only where the phases were long enough to tell."""
    lines = [f"Your intention was: “{summary['intention']}”."] if summary["intention"] else []
    later = [p for p in summary["phases"][1:]]
    if not later:
        lines.append("This practice had one part, so there is no before and after to compare.")
    else:
        main = max(later, key=lambda p: p["duration_s"])["name"]
        changes = [c for c in summary["changes"] if c["phase"] == main]
        lines += [_handout_change(c) for c in changes if not c["verdict"].startswith("no variability")
                  or c["metric"] in (BREATHING, "hrv.hr_bpm")]
        if any(c["metric"] in VAGAL_KEYS for c in changes) and any(
                c["metric"] == BREATHING and c["b"] is not None and c["a"] is not None
                and c["b"] < c["a"] - BREATHING_CHANGE_PER_MIN for c in changes):
            lines.append("Slower breathing by itself makes the heart rate swing more with each breath: that is "
                         "the body following the breath, which is what this practice trains.")
    report = summary.get("self_report") or {}
    felt = [f"{name} {report[name]} out of 10" for name in ("calm", "present") if isinstance(report.get(name), int)]
    if felt:
        lines.append("You felt " + " and ".join(felt) + ".")
    if summary.get("breath_counting"):
        from biotrainer.analysis.breath_counting import score_words

        lines.append(f"Breath counting: {score_words(summary['breath_counting'])}.")
    lines.append("These signals are for noticing your own practice over time, not a health test.")
    return lines


def library_summary(library: Any, ref: str, participant: str | None = None) -> dict[str, Any]:
    """:func:`summarize_session` of session ``ref`` of ``library`` (a :class:`biotrainer.store.Library`)."""
    from biotrainer.exchange.library import load_session

    return summarize_session(load_session(library, ref), participant)
