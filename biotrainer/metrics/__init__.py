"""Metrics engine: pure functions over numpy arrays plus an incremental, bus-listening engine.

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
- :mod:`.window` — all metrics of one window (the one function live and offline share).
- :mod:`.engine` — the incremental bus listener publishing :class:`biotrainer.events.MetricUpdate`.
- :mod:`.offline` — whole-session / file analysis, windowed analysis.
- :mod:`.io` — reading RR and ECG files.

neurokit2 is imported lazily (it takes seconds to import); nothing here imports it at module import time.
Every output that cannot be computed is ``None`` with a reason, never NaN.
"""
