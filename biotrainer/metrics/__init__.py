"""Metrics: pure functions over numpy arrays plus an incremental, bus-listening engine.

Modules (each holds one kind of thing):

- :mod:`.artifacts` — Lipponen & Tarvainen 2019 beat classification and correction, window quality.
- :mod:`.time_domain` — HR, MeanNN, SDNN, RMSSD, lnRMSSD, pNN50.
- :mod:`.frequency` — VLF/LF/HF power in ms² (4 Hz resampling, Welch, no normalisation), band power around a
  frequency, PSD helpers.
- :mod:`.breathing` — breathing rate from RR (RSA), chest accelerometer and ECG (EDR), pacer adherence and phase.
- :mod:`.rsa` — per-breath peak-to-trough RSA, pacer-centred band power, Porges-Bohrer (only inside its band).
- :mod:`.coherence` — coherence ratio (McCraty 2009 definition; ours, not HeartMath's).
- :mod:`.rpeaks` — R-peaks from ECG (works at 130 Hz) with sub-sample refinement.
- :mod:`.resonance` — resonance-frequency assessment: per-step criteria table and ranked pick.
- :mod:`.feedback` — the single 0..1 feedback value shown to the person breathing.
- :mod:`.streams` — one participant's raw streams as arrays and the cut of one window from them.
- :mod:`.window` — all metrics of one window (the one function live and offline share).
- :mod:`.engine` — the incremental bus listener publishing :class:`biotrainer.core.events.MetricUpdate`.
- :mod:`.offline` — whole-recording summary, per-phase summaries, windowed analysis.

Not here: reading RR and ECG files is :mod:`biotrainer.analysis.inputs`; simulated sessions are run by
:mod:`biotrainer.wiring.simulate`; protocol phases as run are :mod:`biotrainer.core.phases` and the breath curve is
:func:`biotrainer.core.pacer.breath_volume` (contracts the metrics share with the rest). This package imports only the
contracts (events, bus, pacer, phases, errors): never sources, protocols, store, exchange, analysis, wiring or a
view.

neurokit2 is imported lazily (it takes seconds to import); nothing here imports it at module import time.
Every output that cannot be computed is ``None`` with a reason, never NaN.
"""

from biotrainer.core.lazy import lazy_face

#: public name → the module defining it; imported on first use, so ``biotrainer --help`` loads no metrics module.
_WHERE = {
    "Correction": "artifacts",
    "MetricsEngine": "engine",
    "Settings": "window",
    "StreamBuffer": "streams",
    "Streams": "streams",
    "WindowData": "window",
    "WindowResult": "window",
    "analyze_ecg": "offline",
    "analyze_rr": "offline",
    "analyze_streams": "offline",
    "analyze_window": "offline",
    "breath_series": "offline",
    "build_window": "streams",
    "compute_window": "window",
    "correct_rr": "artifacts",
    "find_artifacts": "artifacts",
    "phase_summaries": "offline",
    "streams_from_events": "streams",
    "summarize_recording": "offline",
    "windows": "offline",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_face(__name__, _WHERE, globals())
