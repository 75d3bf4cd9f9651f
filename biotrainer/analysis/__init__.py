"""Session-level use cases that the CLI and the GUI both call, so neither holds analysis logic.

Use cases (one module each):

- **Choose participant** (:mod:`.participants`): whose beats a session's analysis uses — one rule for
  ``analyze``, ``assess``, ``compare``, ``report`` and ``export`` (:func:`choose_participant`, :func:`choose_role`,
  :func:`find_role`).
- **Analyse a file or a session** (:mod:`.analyze`): HRV, artifacts, breathing, RSA and coherence of an RR file,
  an ECG file or a recorded session (:func:`analyze_path` with :class:`AnalyzeOptions`).
- **Assess resonance** (:mod:`.assess`): the resonance-frequency assessment of a session and storing its pick
  (:func:`assess_resonance`, :func:`save_pick`).
- **Compare** (:mod:`.compare`): phases within a session and sessions against each other, matched by phase name,
  with a verdict against within-phase variability and a trend over 3+ sessions (:func:`compare_sessions`;
  :func:`biotrainer.analysis.compare.compare` for loaded sessions; :func:`session_stats`).
- **Key metrics** (:mod:`.key_metrics`): the numbers of the library list (:func:`key_metrics`).
- **Series** (:mod:`.series`): heart rate, pacer, RSA per breath and sliding-window metrics of a session for plots
  and reports (:func:`beat_series`, :func:`window_trend`, …).
- **Select sessions** (:mod:`.selection`): which sessions ``compare`` and ``export`` work on.
- **Inputs** (:mod:`.inputs`): reading RR and ECG files for analysis.
- **Synchrony** (:mod:`.synchrony`): therapist–client heart-rate synchrony of a recorded dyad
  (:func:`session_synchrony`, :func:`synchrony_of_events`).
- **Journey** (:mod:`.trend`): one participant's sessions of one protocol and phase over dates with a robust slope
  per week and the practice calendar (:func:`journey`, :func:`robust_slope`).
- **Summary** (:mod:`.summary`): the end-of-session summary in plain words (:func:`summarize_session`).
- **Breath counting** (:mod:`.breath_counting`): scoring of the breath counting task (:func:`score_presses`).

Labels, units and decimals of every metric are in :mod:`biotrainer.metrics.catalogue`.

The names below are imported on first use (``biotrainer --help`` stays fast)::

    from biotrainer.analysis import compare_sessions, key_metrics
"""

from __future__ import annotations

from biotrainer.core.lazy import lazy_face

#: public name → module of this package that defines it (no name equals a module's: ``compare`` and ``assess``
#: are the modules)
_WHERE = {
    "AnalyzeOptions": "analyze", "analyze_path": "analyze", "guess_kind": "analyze",
    "assess_resonance": "assess", "save_pick": "assess",
    "compare_sessions": "compare", "session_stats": "compare", "SessionStats": "compare",
    "PhaseStats": "compare", "METRIC_KEYS": "compare",
    "key_metrics": "key_metrics", "KEY_METRIC_KEYS": "key_metrics",
    "choose_participant": "participants", "choose_role": "participants", "find_role": "participants",
    "roles_with_beats": "participants", "participant_beats": "participants",
    "beat_series": "series", "pacer_curve": "series", "breath_rsa": "series", "window_trend": "series",
    "resonance_assessment": "series",
    "sessions_to_compare": "selection", "sessions_to_export": "selection",
    "read_rr_file": "inputs", "read_ecg_file": "inputs",
    "SynchronyOptions": "synchrony", "session_synchrony": "synchrony", "synchrony_of_events": "synchrony",
    "journey": "trend", "robust_slope": "trend", "summarize_session": "summary", "library_summary": "summary",
    "score_presses": "breath_counting",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_face(__name__, _WHERE, globals())
