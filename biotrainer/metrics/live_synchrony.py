"""Live attunement awareness: the therapist–client synchrony of the last minutes, as a session bus listener.

Opt-in and for the therapist only (issue 10; SCIENCE.md §11: an awareness aid, never a score to chase). Every
:data:`UPDATE_S` of beat time, once both people have :data:`MIN_SPAN_S` of beats, it runs the same analysis as
``biotrainer synchrony`` (:func:`~biotrainer.metrics.synchrony.dyad_synchrony`: corrected NN, 4 Hz heart rate,
windowed lagged correlation, segment-shuffle surrogates) over the last :data:`SPAN_S` and publishes one
``MetricUpdate`` for the session (``participant="session"``) with:

- ``synchrony.mean_z``: mean Fisher z of the windows' in-phase peaks over that span;
- ``synchrony.p_value``: against :data:`N_SURROGATES` surrogates from the same span;
- ``synchrony.above_chance``: 1 when p < 0.05, else 0 — the only thing an indicator should colour;
- ``synchrony.curve_lag_s``: the typical lag (positive: the client follows the therapist).

Nothing is recorded: like every metric it can be recomputed from the raw beats.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from biotrainer.core.bus import Bus
from biotrainer.core.events import SESSION, Beat, Event, MetricUpdate
from biotrainer.metrics import synchrony as sync

SPAN_S = 300.0
MIN_SPAN_S = 120.0
UPDATE_S = 30.0
N_SURROGATES = 200
KEYS = ("synchrony.mean_z", "synchrony.p_value", "synchrony.above_chance", "synchrony.curve_lag_s")


class LiveSynchrony:
    """Bus listener publishing the recent synchrony of ``leader`` (therapist) and ``follower`` (client)."""

    def __init__(self, publish: Bus | Callable[[Event], None], leader: str = "therapist", follower: str = "client",
                 span_s: float = SPAN_S, update_s: float = UPDATE_S, n_surrogates: int = N_SURROGATES,
                 seed: int = 0) -> None:
        self._publish = publish.publish if isinstance(publish, Bus) else publish
        self.roles = (leader, follower)
        self.span_s, self.update_s, self.n_surrogates, self.seed = span_s, update_s, n_surrogates, seed
        self._beats: dict[str, deque[tuple[float, float]]] = {r: deque() for r in self.roles}
        self._next_s: float | None = None
        self.updates = 0

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Beat) or event.participant not in self._beats:
            return
        beats = self._beats[event.participant]
        beats.append((event.beat_t_s, event.rr_ms))
        while beats and beats[0][0] < event.beat_t_s - self.span_s - 60.0:
            beats.popleft()
        if self._next_s is None:
            self._next_s = event.beat_t_s + MIN_SPAN_S
        if event.beat_t_s >= self._next_s:
            self._next_s = event.beat_t_s + self.update_s
            self._update(event.t_s)

    def _series(self, role: str, start: float, end: float) -> np.ndarray:
        beats = self._beats[role]
        t, nn = sync.corrected_nn(np.array([b[0] for b in beats]), np.array([b[1] for b in beats]))
        return sync.hr_on_grid(t, nn, None, start, end)

    def _update(self, t_s: float) -> None:
        lead, follow = (self._beats[r] for r in self.roles)
        if len(lead) < 3 or len(follow) < 3:
            return
        end = min(lead[-1][0], follow[-1][0])
        start = max(lead[0][0], follow[0][0], end - self.span_s)
        if end - start < MIN_SPAN_S:
            return
        values: dict[str, float | None] = dict.fromkeys(KEYS)
        reasons: dict[str, str] = {}
        try:
            res = sync.dyad_synchrony(self._series(self.roles[0], start, end), self._series(self.roles[1], start, end),
                                      n_surrogates=self.n_surrogates, seed=self.seed, slope_s=None)
        except sync.SynchronyInputError as exc:
            reasons = dict.fromkeys(KEYS, str(exc))
        else:
            p = res.session.p_value
            values["synchrony.mean_z"] = res.mean_z if np.isfinite(res.mean_z) else None
            values["synchrony.p_value"] = p if np.isfinite(p) else None
            values["synchrony.above_chance"] = (1.0 if p < 0.05 else 0.0) if np.isfinite(p) else None
            values["synchrony.curve_lag_s"] = res.curve_lag_s if np.isfinite(res.curve_lag_s) else None
            reasons = {k: res.session.reason for k in KEYS if values[k] is None and res.session.reason}
        self.updates += 1
        self._publish(MetricUpdate(t_s=t_s, participant=SESSION, values=values, reasons=reasons))
