"""Scoring of the breath counting task (Levinson, Stoll, Kindy, Merry & Davidson 2014, "A mind you can count on:
validating breath counting as a behavioral measure of mindfulness", Frontiers in Psychology 5:1202).

The task: breathing naturally, the person presses one key on breaths 1 to 8 (:data:`COUNT`) and another key on
breath 9 (:data:`NINE`), then starts again at 1; on noticing they have lost count, they press a third key
(:data:`RESET`) and start again at 1.

Scoring as in the paper: a **count** is the run of presses from the start (or the previous nine / reset press) up
to a nine press. It is **correct** when exactly eight count presses came before the nine press and a
**miscount** otherwise (too few: the nine came early; too many: the nine came late). Pressing the count key a 9th
time and more without a nine is an overcount: the run is a miscount when it ends (design choice: a run that keeps
going is one miscount, however long, and so is one still open at the end with more than eight presses). A run
ended by the reset key is a **reset**: a self-caught lapse, reported separately and neither correct nor a
miscount. **Accuracy** = correct / (correct + miscounts). An open run with eight presses or fewer at the end is
incomplete and not scored.

Presses are compared with the breaths detected from the strap when there are any (:func:`press_agreement`): the
number of presses against the number of breaths, and the share of presses that fall in a breath of their own.

In a session the presses are annotations (author :data:`AUTHOR`, text one of :data:`KEYS`), so they are recorded,
replayed and exported like every other mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from biotrainer.core.errors import UsageError

COUNT = "count"  # breaths 1-8
NINE = "nine"  # breath 9
RESET = "reset"  # lost count: start again
KEYS = (COUNT, NINE, RESET)
AUTHOR = "breath-count"
CYCLE = 9


@dataclass
class CountScore:
    """The scored task: correct counts, miscounts (too early / too late), resets, accuracy."""

    correct: int = 0
    miscounts: int = 0
    early: int = 0
    late: int = 0
    resets: int = 0
    incomplete_presses: int = 0
    presses: int = 0
    #: Every scored run: ``{"end": "nine"|"reset"|"end", "presses": count presses, "verdict": ...}``.
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> int:
        return self.correct + self.miscounts

    @property
    def accuracy(self) -> float | None:
        """Correct / (correct + miscounts); None before the first count."""
        return self.correct / self.counts if self.counts else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts, "accuracy": self.accuracy}


def _close(score: CountScore, presses: int, end: str) -> None:
    if end == RESET:
        verdict = "reset"
        score.resets += 1
    elif end == NINE and presses == CYCLE - 1:
        verdict = "correct"
        score.correct += 1
    elif end == NINE or presses > CYCLE - 1:
        verdict = "miscount: nine too early" if presses < CYCLE - 1 else "miscount: past nine"
        score.miscounts += 1
        if presses < CYCLE - 1:
            score.early += 1
        else:
            score.late += 1
    else:
        score.incomplete_presses = presses
        return
    score.runs.append({"end": end, "presses": presses, "verdict": verdict})


def score_presses(keys: Iterable[str]) -> CountScore:
    """Score a sequence of key presses (:data:`COUNT`, :data:`NINE`, :data:`RESET`) in the order pressed.

    >>> s = score_presses(["count"] * 8 + ["nine"] + ["count"] * 3 + ["nine"])
    >>> (s.correct, s.miscounts, s.accuracy)
    (1, 1, 0.5)

    Raises
    ------
    UsageError
        An unknown key.
    """
    score = CountScore()
    run = 0
    for key in keys:
        if key not in KEYS:
            raise UsageError(f"breath counting: unknown key {key!r} (expected one of {', '.join(KEYS)})")
        score.presses += 1
        if key == COUNT:
            run += 1
            continue
        _close(score, run, key)
        run = 0
    _close(score, run, "end")
    return score


def press_agreement(press_t_s: Sequence[float], breath_t_s: Sequence[float]) -> dict[str, Any]:
    """Presses against the breaths detected from the strap (breath start times, session seconds): counts of both
    over the span of the presses and the share of presses that fall alone in a breath (one press per breath).

    >>> press_agreement([1.0, 5.0, 9.0], [0.0, 4.0, 8.0, 12.0])["one_press_per_breath_pct"]
    100.0
    """
    import numpy as np

    presses = np.sort(np.asarray(press_t_s, dtype=float))
    breaths = np.sort(np.asarray(breath_t_s, dtype=float))
    out: dict[str, Any] = {"presses": int(presses.size), "breaths": None, "one_press_per_breath_pct": None}
    if presses.size == 0 or breaths.size < 2:
        out["reason"] = "no presses" if presses.size == 0 else "no breaths detected from the strap"
        return out
    inside = (presses >= breaths[0]) & (presses < breaths[-1])
    which = np.searchsorted(breaths, presses[inside], side="right") - 1
    per_breath = np.bincount(which, minlength=breaths.size - 1)
    first, last = (int(which.min()), int(which.max())) if which.size else (0, -1)
    span = per_breath[first:last + 1]
    out["breaths"] = int(span.size)
    out["one_press_per_breath_pct"] = 100.0 * float(np.count_nonzero(span == 1)) / span.size if span.size else None
    out["presses_outside_breaths"] = int(np.count_nonzero(~inside))
    return out


def presses_of(events: Iterable[Any]) -> list[tuple[float, str]]:
    """``(t_s, key)`` of the breath-counting presses among a session's events (annotations by :data:`AUTHOR`)."""
    return [(float(e.t_s), str(e.text)) for e in events
            if getattr(e, "KIND", "") == "annotation" and getattr(e, "author", "") == AUTHOR and e.text in KEYS]


def score_session(events: Sequence[Any], breath_t_s: Sequence[float] | None = None) -> dict[str, Any]:
    """The score of a recorded session's presses, with the agreement with the strap's breaths when given."""
    presses = presses_of(events)
    out = score_presses(k for _, k in presses).to_dict()
    if breath_t_s is not None:
        out["strap"] = press_agreement([t for t, k in presses if k != RESET], breath_t_s)
    return out


def score_words(score: dict[str, Any]) -> str:
    """"7 of 9 counts correct (78 %), 2 miscounts (1 early, 1 past nine), 1 reset"."""
    if not score["counts"]:
        return ("no complete count yet" + (f", {score['resets']} reset{'s' if score['resets'] != 1 else ''}"
                                           if score["resets"] else ""))
    return (f"{score['correct']} of {score['counts']} counts correct ({100 * score['accuracy']:.0f} %), "
            f"{score['miscounts']} miscount{'s' if score['miscounts'] != 1 else ''} ({score['early']} early, "
            f"{score['late']} past nine), {score['resets']} reset{'s' if score['resets'] != 1 else ''}")
