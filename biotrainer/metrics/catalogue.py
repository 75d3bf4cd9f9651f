"""The metric catalogue: for every key the metrics engine and offline analysis emit, its label, unit, decimals and a
plain-language description. GUI, terminal, CLI text, report, compare and exports read labels, units and decimals
here instead of typing them out again.

Keys are the engine's dotted names (``hrv.ln_rmssd``, ``breathing.rate_per_min``; see
:mod:`biotrainer.metrics.window`), plus the whole-recording summary keys of :mod:`biotrainer.metrics.offline`
(``rsa.p2t_ms_mean``, ``coherence.ratio_mean``, …).

Several views write the same metric differently today, and the catalogue holds each form explicitly rather than
changing any output: ``label`` (tables, compare, report: "Heart rate"), ``short_label`` (the ``analyze`` text line:
"HR"), ``column_label`` (the library list header: "HR bpm"), ``screen_label``/``screen_unit`` (the live screen:
"RSA peak–trough", "ln ms"); ``decimals`` (tables and text) and per-view overrides
in ``view_decimals`` (:data:`GLANCE`: live tiles and the library list show whole bpm and ms;
:data:`COMPARE_SCREEN`: the GUI compare table). Missing values are :data:`MISSING` ("–") in tables and the
comparison text, :data:`MISSING_EM` ("—") on screens and in the ``analyze``/``assess`` text.

Example::

    >>> format_value("hrv.ln_rmssd", 3.14159)
    '3.14'
    >>> format_value("hrv.hr_bpm", 64.6, view=GLANCE, unit=True)
    '65 bpm'
    >>> format_value("hrv.rmssd_ms", None)
    '–'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Missing value in tables, reports and the comparison text.
MISSING = "–"
#: Missing value on the GUI screens and in the ``analyze``/``assess`` text (a longer dash, kept as it is).
MISSING_EM = "—"
#: View: a number read at a glance (live tiles, the library list): whole bpm and ms.
GLANCE = "glance"
#: View: the GUI compare table (RSA in whole ms, heart rate to 0.1 bpm).
COMPARE_SCREEN = "compare_screen"

_VAGAL = ("A within-person index of cardiac vagal (parasympathetic) modulation: compare it with your own earlier "
          "values under the same posture and breathing, not with other people or norms.")
_SYNC = ("An awareness aid for reflection and supervision, not a score to chase: effects are small and vary between "
         "dyads.")
_BREATH_DEPENDS = ("It changes with breathing rate even when RSA stays the same, so read it beside the breathing "
                   "rate.")


@dataclass(frozen=True)
class Metric:
    """One metric: how it is named, in which unit, with how many decimals, and what it means."""

    key: str
    label: str
    unit: str
    decimals: int
    description: str
    short_label: str = ""
    column_label: str = ""
    #: The label and unit as the live screen writes them, when they differ (``ln ms`` for ``ln(ms)``).
    screen_label: str = ""
    screen_unit: str = ""
    view_decimals: Mapping[str, int] = field(default_factory=dict)
    #: False for keys whose value is a word (``breathing.source``), not a number.
    numeric: bool = True

    def decimals_for(self, view: str | None = None) -> int:
        """Decimals in ``view`` (:data:`GLANCE`, :data:`COMPARE_SCREEN`; None: tables and text)."""
        return self.view_decimals.get(view, self.decimals) if view else self.decimals

    @property
    def on_screen(self) -> tuple[str, str]:
        """``(label, unit)`` as the live screen shows them."""
        return self.screen_label or self.label, self.screen_unit or self.unit

    @property
    def label_with_unit(self) -> str:
        """``Heart rate (bpm)``; the label alone for a unitless metric."""
        return self.label + (f" ({self.unit})" if self.unit else "")


def _m(key: str, label: str, unit: str, decimals: int, description: str, **kw: Any) -> Metric:
    return Metric(key, label, unit, decimals, description, **kw)


_ENTRIES: tuple[Metric, ...] = (
    # --- time domain (Task Force 1996) ---
    _m("hrv.hr_bpm", "Heart rate", "bpm", 1,
       "Mean heart rate over the window, from the beat-to-beat (NN) intervals. It rises with effort, stress, "
       "caffeine and on standing, and swings with every breath.",
       short_label="HR", column_label="HR bpm", view_decimals={GLANCE: 0}),
    _m("hrv.mean_nn_ms", "Mean NN interval", "ms", 1,
       "Mean time between normal heartbeats (60000 / heart rate): longer when the heart beats slower.",
       short_label="MeanNN"),
    _m("hrv.sdnn_ms", "SDNN", "ms", 1,
       "Standard deviation of the NN intervals: overall heart-rate variability, from slow and fast rhythms "
       "together. Needs at least 30 s; it grows with the length of the recording and with slow, deep breathing.",
       short_label="SDNN"),
    _m("hrv.rmssd_ms", "RMSSD", "ms", 1,
       "Root mean square of successive differences between NN intervals: the beat-to-beat variability. "
       f"{_VAGAL} {_BREATH_DEPENDS}", short_label="RMSSD"),
    _m("hrv.ln_rmssd", "lnRMSSD", "ln(ms)", 2,
       "Natural logarithm of RMSSD (the live screen shows it over a sliding 60-s window); the log makes day-to-day "
       f"changes comparable. {_VAGAL} {_BREATH_DEPENDS}",
       short_label="lnRMSSD", column_label="lnRMSSD", screen_unit="ln ms"),
    _m("hrv.pnn50_pct", "pNN50", "%", 1,
       "Share of successive NN intervals that differ by more than 50 ms; moves with RMSSD but saturates.",
       short_label="pNN50"),
    # --- frequency domain ---
    _m("hrv.vlf_ms2", "VLF power", "ms²", 0,
       "Heart-rate power at 0.0033-0.04 Hz; from recordings of 5 minutes or less it is not interpretable.",
       short_label="VLF"),
    _m("hrv.lf_ms2", "LF power", "ms²", 0,
       "Heart-rate power at 0.04-0.15 Hz (2.4-9 per minute). Slow breathing near 6/min moves the breathing "
       "rhythm (RSA) into this band, so LF grows a lot during resonance breathing; needs about 2 minutes.",
       short_label="LF"),
    _m("hrv.hf_ms2", "HF power", "ms²", 0,
       "Heart-rate power at 0.15-0.40 Hz (9-24 per minute), the respiratory band of normal breathing. "
       f"{_VAGAL} Only while breathing faster than 9/min: at slower breathing the RSA leaves this band and HF "
       "falls although vagal activity does not.", short_label="HF"),
    _m("hrv.lf_hf", "LF/HF ratio", "", 2,
       "LF power divided by HF power. It follows the breathing rate; it is not a measure of sympathovagal "
       "balance.", short_label="LF/HF"),
    _m("hrv.total_power_ms2", "Total power", "ms²", 0,
       "Heart-rate power from 0.0033 to 0.40 Hz (VLF + LF + HF).", short_label="total power"),
    _m("hrv.lf_peak_hz", "LF peak frequency", "Hz", 3,
       "Frequency of the largest heart-rate oscillation in the LF band; near the breathing rate when breathing "
       "slowly.", short_label="LF peak"),
    _m("hrv.hf_peak_hz", "HF peak frequency", "Hz", 3,
       "Frequency of the largest heart-rate oscillation in the HF band; near the breathing rate at normal "
       "breathing.", short_label="HF peak"),
    # --- breathing ---
    _m("breathing.rate_per_min", "Breathing rate", "/min", 1,
       "Breaths per minute, estimated from the heart-rate rhythm (RR), chest movement (ACC) or the ECG, and "
       "accepted only when the estimators agree (the pacer is the prior when paced). Shown beside every vagal "
       "index because those change with breathing rate.",
       short_label="breathing", column_label="Breathing /min"),
    _m("breathing.rr_rate_per_min", "Breathing rate from RR", "/min", 1,
       "Breathing rate counted from the breathing rhythm in the beat-to-beat intervals."),
    _m("breathing.acc_rate_per_min", "Breathing rate from chest movement", "/min", 1,
       "Breathing rate from the strap's accelerometer (chest rising and falling); movement swamps it."),
    _m("breathing.ecg_rate_per_min", "Breathing rate from ECG", "/min", 1,
       "Breathing rate from the ECG's R-wave amplitude, which changes as the chest moves."),
    _m("breathing.qrs_rate_per_min", "Breathing rate from ECG QRS area", "/min", 1,
       "Breathing rate from the area of the ECG's QRS complex, which changes as the heart's axis turns with "
       "breathing."),
    _m("breathing.pacer_rate_per_min", "Pacer rate", "/min", 1,
       "The rate the breathing pacer asked for; none in unpaced phases."),
    _m("breathing.adherence_per_min", "Pacer adherence", "/min", 2,
       "Estimated breathing rate minus the pacer's rate: near 0 when following the pacer."),
    _m("breathing.confidence", "Breathing-rate confidence", "", 2,
       "How well the breathing-rate estimators agree (0 to 1); it means agreement, not peak sharpness."),
    _m("breathing.hr_phase_deg", "HR-breath phase", "°", 0,
       "Timing of the heart-rate swing against the breath: 0° when heart rate rises and falls in step with "
       "breathing, as at resonance breathing."),
    _m("breathing.windows", "Breathing-rate windows", "", 0,
       "How many 60-s windows had a breathing rate (the whole-recording rate is their median)."),
    _m("breathing.source", "Breathing-rate source", "", 0,
       "Which signals the breathing rate came from: one (rr, acc, ecg = R amplitude, qrs = QRS area) or several "
       "that agreed (e.g. acc+rr).",
       numeric=False),
    # --- RSA ---
    _m("rsa.p2t_ms", "RSA peak-to-trough", "ms", 1,
       "Respiratory sinus arrhythmia per breath (Grossman): longest RR interval in the exhalation minus the "
       "shortest in the inhalation, averaged over the window's breaths. Grows with slow, deep breathing and is "
       f"stable across breathing rates. {_VAGAL}",
       column_label="RSA ms", screen_label="RSA peak–trough", view_decimals={GLANCE: 0, COMPARE_SCREEN: 0}),
    _m("rsa.p2t_bpm", "RSA peak-to-trough (heart rate)", "bpm", 1,
       "The heart-rate rise and fall within each breath (highest minus lowest heart rate), averaged over the "
       "window's breaths."),
    _m("rsa.p2t_ms_last", "RSA of the last breath", "ms", 1, "Peak-to-trough RSA of the most recent breath."),
    _m("rsa.p2t_bpm_last", "RSA of the last breath (heart rate)", "bpm", 1,
       "Heart-rate rise and fall within the most recent breath."),
    _m("rsa.p2t_ms_mean", "RSA peak-to-trough (mean over windows)", "ms", 1,
       "Peak-to-trough RSA of the whole recording: the mean of its 60-s windows.", short_label="RSA (ms)"),
    _m("rsa.p2t_bpm_mean", "RSA peak-to-trough, heart rate (mean over windows)", "bpm", 1,
       "Per-breath heart-rate swing of the whole recording: the mean of its 60-s windows.",
       short_label="RSA (bpm)"),
    _m("rsa.n_breaths", "Breaths with RSA", "", 0, "How many complete breaths in the window gave an RSA value."),
    _m("rsa.last_breath_end_s", "End of the last breath", "s", 1, "Session time at which the newest breath ended."),
    _m("rsa.hr_lag_s", "Heart-rate lag", "s", 2,
       "Delay between the breath and the heart-rate response used to assign beats to breath phases."),
    _m("rsa.pacer_band_ms2", "Power at the pacing rate", "ms²", 0,
       "Heart-rate power in a narrow band around the pacer's rate (RSA during paced breathing)."),
    _m("rsa.porges_bohrer_ln_ms2", "RSA (Porges-Bohrer)", "ln(ms²)", 2,
       "Log variance of the heart period in the adult breathing band (0.12-0.40 Hz). At slow breathing the RSA "
       "is outside that band and this value falls although RSA does not: do not read it during resonance "
       "breathing."),
    _m("rsa.windows", "RSA windows", "", 0, "How many 60-s windows had an RSA value."),
    _m("rsa.breath_source", "Breath phases from", "", 0,
       "Which signal gave the breath phases for RSA (pacer, chest movement, …).", numeric=False),
    # --- coherence ---
    _m("coherence.ratio", "Coherence ratio", "", 2,
       "Power in the peak of the heart-rate spectrum (0.04-0.26 Hz, ±0.015 Hz around it) divided by the rest: "
       "high when heart rate swings as one smooth wave, as in slow even breathing. One uncorrected ectopic beat "
       "collapses it. A practice signal, not an emotional or health score."),
    _m("coherence.peak_hz", "Coherence peak frequency", "Hz", 3,
       "Frequency of the peak used for the coherence ratio (near the breathing rate when breathing slowly)."),
    _m("coherence.ratio_mean", "Coherence ratio (mean over windows)", "", 2,
       "Coherence ratio of the whole recording: the mean of its 64-s windows.", short_label="coherence"),
    _m("coherence.windows", "Coherence windows", "", 0, "How many windows had a coherence ratio."),
    # --- feedback ---
    _m("feedback.value", "Feedback", "", 2,
       "The live feedback signal (0 to 1) from the protocol's feedback metric against the baseline of this "
       "session: a practice signal, not a score."),
    # --- artifacts and quality ---
    _m("artifacts.corrected", "Corrected beats", "", 0,
       "Beats the artifact correction changed (ectopic, missed, extra, long/short; Lipponen & Tarvainen 2019)."),
    _m("artifacts.corrected_pct", "Corrected beats", "%", 1,
       "Share of beats the artifact correction changed; windows with more than 5 % have their metrics withheld."),
    _m("artifacts.ectopic", "Ectopic beats", "", 0, "Premature beats (a short interval followed by a long one)."),
    _m("artifacts.missed", "Missed beats", "", 0, "Beats the strap did not detect (an interval about twice as long)."),
    _m("artifacts.extra", "Extra beats", "", 0, "Spurious detections that split an interval in two."),
    _m("artifacts.long_short", "Long/short intervals", "", 0,
       "Intervals too long or too short for their neighbours without another explanation."),
    _m("artifacts.end_beat_flag", "Artifact class of the newest beat", "", 0,
       "How the artifact classification of this window labelled its newest beat (0 normal; ectopic, missed, extra "
       "or long/short otherwise): the marks on the live tachogram."),
    _m("quality.n_beats", "Beats in the window", "", 0, "Number of beats in the analysis window."),
    _m("quality.corrected_pct", "Corrected beats", "%", 1, "Share of the window's beats that were corrected."),
    _m("quality.missing_pct", "Missing data", "%", 1,
       "Share of the window (or recording) without beats: gaps, lost contact.", view_decimals={GLANCE: 0}),
    _m("quality.ok", "Signal quality ok", "", 0, "1 when the window is clean enough for metrics, 0 when withheld."),
    _m("quality.duration_s", "Duration", "s", 0, "Length of the analysed beats."),
    _m("quality.segments", "Segments", "", 0, "Gap-free stretches of beats in the recording."),
    _m("quality.valid_s", "Valid data", "s", 0, "Seconds of the recording with usable beats."),
    _m("quality.spectral_start_s", "Spectral segment start", "s", 1,
       "Start of the longest gap-free stretch used for the spectrum."),
    _m("quality.spectral_end_s", "Spectral segment end", "s", 1,
       "End of the longest gap-free stretch used for the spectrum."),
    _m("ecg.rr_median_abs_diff_ms", "ECG vs strap RR difference", "ms", 1,
       "Median absolute difference between ECG-derived and strap RR intervals (a check of the R-peak detector)."),
    _m("ecg.rr_within_10ms_pct", "ECG RR within 10 ms of the strap", "%", 1,
       "Share of ECG-derived intervals within 10 ms of the strap's."),
    _m("window.start_s", "Window start", "s", 1, "Session time where the analysis window starts."),
    _m("window.end_s", "Window end", "s", 1, "Session time where the analysis window ends."),
    _m("update.full", "Full update", "", 0,
       "1 for a full metrics update (spectral, breathing, RSA, coherence, feedback), 0 for a per-beat update."),
    # --- self-report after a session (store/meta.py ``self_report``; the journey, analysis/trend.py) ---
    _m("self_report.calm", "Calm (self-report)", "/10", 0,
       "How calm the person felt at the end of the session, in their own words on a 0-10 scale (0 not at all, 10 "
       "completely). A personal rating: compare it with your own earlier ratings, not with anyone else's."),
    _m("self_report.present", "Present (self-report)", "/10", 0,
       "How present (here, with the breath and the body) the person felt during the session, rated 0-10 by "
       "themselves afterwards. A personal rating: compare it with your own earlier ratings."),
    # --- the breath counting task (analysis/breath_counting.py; Levinson et al. 2014) ---
    _m("breath_counting.accuracy_pct", "Breath counting accuracy", "%", 0,
       "Share of the counts of nine breaths that were right (eight presses, then the nine key) among all counts; "
       "self-caught resets are not miscounts. A behavioural measure of attention to the breath: compare it with "
       "your own earlier sessions."),
    _m("breath_counting.resets", "Breath counting resets", "", 0,
       "How often the person noticed they had lost count and started again at one: noticing is part of the "
       "practice, not a failure."),
    # --- live attunement (metrics/live_synchrony.py; the therapist's opt-in indicator) ---
    _m("synchrony.mean_z", "Heart-rate synchrony", "z", 2,
       f"Mean Fisher z of the windowed, lagged correlation of the therapist's and the client's heart rate over the "
       f"last minutes (see docs/attunement.md). {_SYNC}"),
    _m("synchrony.p_value", "Synchrony against chance (p)", "", 3,
       f"Share of segment-shuffled surrogates at least as synchronous as the real pair over the same minutes. {_SYNC}"),
    _m("synchrony.above_chance", "Synchrony above chance", "", 0,
       f"1 when the recent synchrony is above chance (p < 0.05), else 0: the only thing the indicator colours. {_SYNC}"),
    _m("synchrony.curve_lag_s", "Synchrony lag", "s", 1,
       f"The typical delay between the two heart rates; positive: the client follows the therapist. {_SYNC}"),
)

#: key → :class:`Metric`, in the order above.
CATALOGUE: Mapping[str, Metric] = MappingProxyType({m.key: m for m in _ENTRIES})


def metric(key: str) -> Metric:
    """The catalogue entry of ``key``.

    Raises
    ------
    KeyError
        ``key`` is not in the catalogue.
    """
    return CATALOGUE[key]


def tooltip(key: str) -> str:
    """The plain-language tooltip of metric ``key`` for tiles, plots and report rows: "Label (unit): description"
    (empty for a key not in the catalogue)."""
    m = CATALOGUE.get(key)
    return f"{m.label_with_unit}: {m.description}" if m else ""


def format_number(value: Any, decimals: int, *, unit: str = "", signed: bool = False,
                  missing: str = MISSING) -> str:
    """``value`` with ``decimals`` decimals (and `` unit``); ``missing`` for None or NaN.

    >>> format_number(4.0, 1, unit="/min")
    '4.0 /min'
    >>> format_number(float("nan"), 2)
    '–'
    """
    if value is None:
        return missing
    v = float(value)
    if math.isnan(v):
        return missing
    text = f"{v:+.{decimals}f}" if signed else f"{v:.{decimals}f}"
    return f"{text} {unit}" if unit else text


def format_value(key: str, value: Any, *, view: str | None = None, unit: bool = False, signed: bool = False,
                 missing: str = MISSING) -> str:
    """``value`` of metric ``key`` as text with the catalogue's decimals for ``view`` (and its unit).

    Parameters
    ----------
    key
        Catalogue key, e.g. ``hrv.ln_rmssd``.
    value
        The number; None or NaN give ``missing``.
    view
        None (tables, text), :data:`GLANCE` or :data:`COMPARE_SCREEN`.
    unit
        Append the unit after a space (nothing for a unitless metric).
    signed
        Always write the sign (differences).
    missing
        Text for a missing value: :data:`MISSING` or :data:`MISSING_EM`.

    Returns
    -------
    str
        e.g. ``"3.14"``, ``"65 bpm"``, ``"+1.2"``, ``"–"``.
    """
    m = CATALOGUE[key]
    return format_number(value, m.decimals_for(view), unit=m.unit if unit else "", signed=signed, missing=missing)
