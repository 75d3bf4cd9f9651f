"""The simulated body: breathing, heart period, ECG and chest accelerometer (used by the simulated strap).

Model
-----
**Breathing.** A sequence of breaths, each planned at its onset: onset, duration, segment durations
(inhale, hold-in, exhale, hold-out) and depth. The lung volume within a breath follows the pacer's shape (raised
cosine up over the inhale, flat in holds, raised cosine down over the exhale), times the breath's depth.

- *Spontaneous* (no pacer, or the pacer callable returns None): breath rate = ``spontaneous_rate_per_min`` ×
  exp(AR(1) noise + slow wander): breath-to-breath SD ``spontaneous_cv`` (lag-1 correlation 0.5) and a slow
  wander of SD ``rate_wander`` (≈ 10-breath memory), the factor clipped to 0.6-1.7; inhale 45 % of the moving
  part, a short end-expiratory pause. A **sigh** every ``sigh_interval_s`` × U(0.5, 1.6): 1.7-2.4× deeper and
  1.4-1.9× longer, then a 1-6 s pause; its heart-rate response is the reflex paths' answer to the deep breath.
  **Pauses**: with probability ``pause_prob`` per breath a 6-10 s end-expiratory pause. Defaults: breath-length
  CV ≈ 0.4 (SCIENCE.md §5); ``sim:regular`` (:data:`~biotrainer.sources.sim.config.REGULAR_BREATHING`) the old,
  metronome-like breather. The irregular parts draw from their own stream (seeded by ``seed``), so a regular or
  paced breather keeps its breath-by-breath stream.
- *Adherence lapses* (``adherence.lapse_per_min``): while paced, the person forgets the pacer for 2-5 breaths and
  breathes on their own, then rejoins it (phase-corrected).
- *Paced*: at a breath onset ``s`` the person looks at the pacer at ``s − lag``. The pacer point gives the rate and
  the phase error ``φ`` (cycles, −0.5..0.5) between the person and the pacer. With no drift the person is
  phase-locked: the breath lasts ``period·(1 − 0.7·φ)`` + N(0, jitter) (errors are corrected, never accumulate).
  With a drift the breath lasts ``60/(rate + drift)`` + N(0, jitter) and slides through the pacer. A missed
  breath merges two pacer cycles into one long breath. The segment shares are the pacer's own.

**Heart rate.** On a 20 Hz grid, in bpm::

    HR(t) = hr_bpm + drift(t) + G_res·B_res{v}(t) + G_rsa·B_rsa{v}(t) + mayer(t)

- ``v`` is lung volume (0 empty … depth full; per-breath peak-to-trough ≈ 1).
- ``B_res`` is a second-order band-pass (damped resonator) at the resonance frequency f₀ with damping ζ::

      B(s) = 2ζω₀·s / (s² + 2ζω₀·s + ω₀²),   ω₀ = 2π·f₀

  Its gain is 1 with phase 0 at f₀, falls off on both sides, and the phase goes from +90° (slower breathing, HR
  leads) to −90° (faster breathing, HR lags). This is the baroreflex resonance of Lehrer & Vaschillo's model.
- ``B_rsa`` is the same form with ζ = 1.5 (a broad, over-damped band-pass), also centred on f₀: the direct
  respiratory (vagal) path that gives ordinary RSA at 12-18/min (≈ 0.8 of its peak at 15/min, phase ≈ −40°),
  then low-passed at ``rsa_corner_hz`` (first order, 0.35 Hz): RSA weakens at fast rates.
- Both paths peak with zero phase at f₀, so the per-breath HR swing peaks exactly at the configured resonance rate,
  where HR and lung volume are in phase (SCIENCE.md §3). With the defaults (ζ = 0.2) the swing is ≈ 15 bpm at
  5.5/min, ≈ 14 at 5.0 and 6.0, ≈ 11.6 at 4.5, ≈ 12.3 at 6.5 and ≈ 6 at 15/min; the HR-volume phase is ≈ +27° at
  4.5/min, 0° at 5.5, ≈ −24° at 6.5 and ≈ −48° at 15/min.
- ``mayer`` is white noise through ``B_res`` (the baroreflex rings at its own resonance: Mayer waves ~0.1 Hz),
  scaled to SD ``mayer_bpm`` (defaults give LF ≈ 350 ms² and HF ≈ 900 ms² at rest, 15/min); ``drift`` an Ornstein-Uhlenbeck process (SD ``hr_drift_bpm``, time constant
  ``hr_drift_tau_s``). HR is clipped to 30-220 bpm.
- The filters are discretised with the bilinear transform and run with carried state, block by block.

**Beats** by integral pulse frequency modulation: a beat fires each time ∫HR/60 dt has grown by ``1 + ε_k`` since
the last one, ``ε_k ~ N(0, rr_noise_ms / mean RR)``: independent beat-to-beat interval noise of ≈ ``rr_noise_ms``.

**ECG** (130 Hz, µV): per beat a sum of Gaussians (P, Q, R, S, T as in McSharry et al. 2003 ECGSYN), R ≈ 1000 µV at
the beat time, T-wave position scaled by √RR; R amplitude modulated ±7.5 % by lung volume (so ECG-derived
respiration works), baseline wander with breathing (≈ 40 µV) and white noise (6 µV). Ectopic (ventricular) beats
have no P wave, a wide tall QRS and an inverted T wave.

**ACC** (200 Hz, milli-g): gravity on −x (upright wearer), breathing tilts the chest so ≈ 20 mg per unit volume move
between x and z, a small seismocardiographic ripple after each beat, and white noise (3 mg).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from biotrainer.core.pacer import EXHALE, HOLD_IN, HOLD_OUT, INHALE, SEGMENTS, PacerPoint, breath_volume
from biotrainer.sources.sim.config import SimConfig

GRID_FS_HZ = 20.0
PHASE_CORRECTION = 0.7  # share of the phase error a locked breather corrects per breath
RSA_DAMPING = 1.5  # ζ of the broad direct respiratory path
HR_MIN_BPM, HR_MAX_BPM = 30.0, 220.0
SPONTANEOUS_AR = 0.5
SPONTANEOUS_CLIP = (0.6, 1.7)  # breath rate factor limits around the mean rate
SLOW_RHO = 0.9  # breath-to-breath correlation of the slow wander of the rate (≈ 10 breaths)
SIGH_LENGTH = (1.4, 1.9)  # a sigh lasts this many times an ordinary breath
SIGH_DEPTH = (1.7, 2.4)  # and is this many times deeper
SIGH_PAUSE_S = (1.0, 6.0)  # the pause after it
SIGH_SPREAD = (0.5, 1.6)  # next sigh after sigh_interval_s times this
PAUSE_S = (6.0, 10.0)  # an end-expiratory pause
LAPSE_BREATHS = (2, 5)  # paced breathing: an adherence lapse lasts this many breaths

PacerFn = Callable[[float], PacerPoint | None]


# --- breathing ----------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _BreathTable:
    onset_s: list[float]
    duration_s: list[float]
    inhale_s: list[float]
    hold_in_s: list[float]
    exhale_s: list[float]
    depth: list[float]
    pacer_rate_per_min: list[float]
    pacer_phase: list[float]
    missed: list[bool]


class Breather:
    """Plans breaths one at a time (spontaneous or following a pacer) and evaluates lung volume at any time.

    Deterministic for its generator. ``ensure_until(t_s)`` plans breaths until one ends after ``t_s``; the pacer is
    consulted only at breath onsets (minus the lag) and over the one pacer cycle the breath follows.
    """

    def __init__(self, config: SimConfig, pacer: PacerFn | None, rng: np.random.Generator) -> None:
        self.config = config
        self.pacer = pacer
        self.rng = rng
        self.table = _BreathTable([], [], [], [], [], [], [], [], [])
        self._ar = 0.0
        self._slow = 0.0
        self._lapse_left = 0
        # Draws of the irregular parts (rate wander, sighs, pauses, lapses) come from their own stream, so a
        # regular breather (``sim:regular``) and a paced one keep the breath-by-breath stream they always had.
        self._rng2 = np.random.default_rng([config.seed, 0xB5EA7])
        self._next_sigh_s = config.sigh_interval_s * float(self._rng2.uniform(0.25, 1.0))
        self._end_s = 0.0
        self._arrays: tuple[np.ndarray, ...] | None = None
        if self._pacer(0.0) is None:  # breathing on its own: the session starts somewhere in a breath
            period = 60.0 / config.spontaneous_rate_per_min
            self._end_s = -float(rng.uniform(0.0, period))

    def _pacer(self, t_s: float) -> PacerPoint | None:
        return None if self.pacer is None else self.pacer(t_s)

    def ensure_until(self, t_s: float) -> None:
        while self._end_s <= t_s:
            self._plan_one(self._end_s)
            self._arrays = None

    def _plan_one(self, onset: float) -> None:
        cfg, rng = self.config, self.rng
        adh = cfg.adherence
        # Fixed draws per breath, whatever the branch, so the random stream does not depend on the pacer.
        z_rate, z_jitter, z_depth, z_share = rng.standard_normal(4)
        u_missed = float(rng.uniform())
        look_s = max(onset - adh.lag_s, 0.0)
        point = self._pacer(look_s) if onset >= 0 else None
        missed = False
        if point is None or self._in_lapse(point):
            inhale, hold_in, exhale, duration, depth = self._spontaneous_breath(onset, z_rate, z_depth, z_share)
            pacer_rate = math.nan if point is None else point.rate_per_min
            phase = math.nan
        else:
            period = 60.0 / point.rate_per_min
            phase = point.cycle_position - round(point.cycle_position)
            pacer_start = look_s - phase * period
            seg_in, seg_hold_in, seg_ex, _ = _pacer_breath_shape(self.pacer, pacer_start, point)  # type: ignore[arg-type]
            if adh.drift_per_min != 0.0:
                rate = max(point.rate_per_min + adh.drift_per_min, 0.5)
                nominal = 60.0 / rate
            else:
                nominal = period * (1.0 - PHASE_CORRECTION * phase)
                if u_missed < adh.missed_breath_prob:
                    nominal += period
                    missed = True
            duration = nominal + adh.jitter_s * z_jitter
            duration = min(max(duration, 0.5 * nominal), 2.5 * period)
            scale = duration / period
            inhale, hold_in, exhale = seg_in * scale, seg_hold_in * scale, seg_ex * scale
            depth = math.exp(0.06 * z_depth)
            pacer_rate = point.rate_per_min
        self._record(onset, duration, inhale, hold_in, exhale, depth, pacer_rate, phase, missed)

    def _in_lapse(self, point: PacerPoint) -> bool:
        """Paced breathing: is this breath part of an adherence lapse (a few breaths on one's own)?"""
        adh = self.config.adherence
        if self._lapse_left > 0:
            self._lapse_left -= 1
            return True
        if adh.lapse_per_min <= 0:
            return False
        if float(self._rng2.uniform()) < adh.lapse_per_min / point.rate_per_min:
            self._lapse_left = int(self._rng2.integers(LAPSE_BREATHS[0], LAPSE_BREATHS[1] + 1)) - 1
            return True
        return False

    def _spontaneous_breath(self, onset: float, z_rate: float, z_depth: float,
                            z_share: float) -> tuple[float, float, float, float, float]:
        """One breath on one's own: ``(inhale, hold_in, exhale, duration, depth)`` (module docstring)."""
        cfg, r2 = self.config, self._rng2
        self._ar = SPONTANEOUS_AR * self._ar + math.sqrt(1 - SPONTANEOUS_AR ** 2) * cfg.spontaneous_cv * z_rate
        self._slow = SLOW_RHO * self._slow + math.sqrt(1 - SLOW_RHO ** 2) * cfg.rate_wander * float(
            r2.standard_normal())
        factor = min(max(math.exp(self._ar + self._slow), SPONTANEOUS_CLIP[0]), SPONTANEOUS_CLIP[1])
        duration = 60.0 / (cfg.spontaneous_rate_per_min * factor)
        moving, rest = duration * 0.88, duration * 0.12
        share = min(max(0.45 + 0.03 * z_share, 0.3), 0.6)
        depth = math.exp(0.12 * z_depth)
        pause = 0.0
        u_pause = float(r2.uniform())
        if cfg.sigh_interval_s > 0 and onset >= self._next_sigh_s:
            # a sigh: a deep, long breath (its heart-rate response comes through the same reflex paths), often
            # followed by a pause
            moving *= float(r2.uniform(*SIGH_LENGTH))
            depth *= float(r2.uniform(*SIGH_DEPTH))
            pause = float(r2.uniform(*SIGH_PAUSE_S))
            self._next_sigh_s = onset + cfg.sigh_interval_s * float(r2.uniform(*SIGH_SPREAD))
        elif u_pause < cfg.pause_prob:
            pause = float(r2.uniform(*PAUSE_S))
        inhale, exhale = moving * share, moving * (1 - share)
        return inhale, 0.0, exhale, moving + rest + pause, depth

    def _record(self, onset: float, duration: float, inhale: float, hold_in: float, exhale: float, depth: float,
                pacer_rate: float, phase: float, missed: bool) -> None:
        t = self.table
        t.onset_s.append(onset)
        t.duration_s.append(duration)
        t.inhale_s.append(inhale)
        t.hold_in_s.append(hold_in)
        t.exhale_s.append(exhale)
        t.depth.append(depth)
        t.pacer_rate_per_min.append(pacer_rate)
        t.pacer_phase.append(phase)
        t.missed.append(missed)
        self._end_s = onset + duration

    def arrays(self) -> tuple[np.ndarray, ...]:
        if self._arrays is None:
            t = self.table
            self._arrays = (np.asarray(t.onset_s), np.asarray(t.duration_s), np.asarray(t.inhale_s),
                            np.asarray(t.hold_in_s), np.asarray(t.exhale_s), np.asarray(t.depth))
        return self._arrays

    def volume(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lung volume (0..depth) and breath phase (0..1 within the breath) at ``times_s`` (planned range only)."""
        onset, duration, inhale, hold_in, exhale, depth = self.arrays()
        idx = np.searchsorted(onset, times_s, side="right") - 1
        idx = np.clip(idx, 0, len(onset) - 1)
        local = times_s - onset[idx]
        b1 = inhale[idx]
        b2 = b1 + hold_in[idx]
        b3 = b2 + exhale[idx]
        segment = np.where(local < b1, INHALE, np.where(local < b2, HOLD_IN, np.where(local < b3, EXHALE, HOLD_OUT)))
        with np.errstate(divide="ignore", invalid="ignore"):
            progress = np.where(segment == INHALE, local / b1, (local - b2) / exhale[idx])
        vol = breath_volume(segment, progress)
        phase = np.clip(local / duration[idx], 0.0, 1.0 - 1e-12)
        return vol * depth[idx], phase


def _pacer_breath_shape(pacer: PacerFn, start_s: float, point: PacerPoint) -> tuple[float, float, float, float]:
    """Durations (inhale, hold_in, exhale, hold_out) of the pacer breath starting at ``start_s`` (caller's time).

    Walks the pacer's segments; falls back to a 40:60 breath without holds if the pacer changes rate or stops
    within the breath (a protocol step boundary).
    """
    period = 60.0 / point.rate_per_min
    eps = 1e-4 * period
    durations = dict.fromkeys(SEGMENTS, 0.0)
    t = start_s + eps
    last_order = -1
    total = 0.0
    while total < period * (1 - 1e-6):
        q = pacer(t)
        if q is None or abs(q.rate_per_min - point.rate_per_min) > 1e-9 or q.segment_duration_s <= 0:
            break
        order = SEGMENTS.index(q.segment)
        if order <= last_order:
            break
        durations[q.segment] = q.segment_duration_s
        total += q.segment_duration_s
        last_order = order
        t = start_s + total + eps
    if abs(total - period) > 1e-3 * period or durations["inhale"] <= 0 or durations["exhale"] <= 0:
        return 0.4 * period, 0.0, 0.6 * period, 0.0
    return durations["inhale"], durations["hold_in"], durations["exhale"], durations["hold_out"]


# --- heart ---------------------------------------------------------------------------------------------------------

def _bandpass_ba(f0_hz: float, damping: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear-transform coefficients of B(s) = 2ζω₀s / (s² + 2ζω₀s + ω₀²), pre-warped at f₀ (gain 1 there)."""
    w0 = 2 * fs_hz * math.tan(math.pi * f0_hz / fs_hz)  # pre-warped
    k = 2 * fs_hz
    bw = 2 * damping * w0
    a0 = k * k + bw * k + w0 * w0
    b = np.array([bw * k, 0.0, -bw * k]) / a0
    a = np.array([a0, 2 * (w0 * w0 - k * k), k * k - bw * k + w0 * w0]) / a0
    return b, a


def _lowpass_ba(corner_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear-transform coefficients of the first-order low-pass 1 / (1 + s/ωc), pre-warped at the corner."""
    wc = 2 * fs_hz * math.tan(math.pi * min(corner_hz, 0.45 * fs_hz) / fs_hz)
    k = 2 * fs_hz
    return np.array([wc, wc]) / (k + wc), np.array([1.0, (wc - k) / (k + wc)])


class _Filter:
    """A direct-form IIR filter with carried state (scipy.signal.lfilter, state kept between blocks)."""

    def __init__(self, b: np.ndarray, a: np.ndarray) -> None:
        self.b, self.a = b, a
        self.zi = np.zeros(max(len(a), len(b)) - 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        y, self.zi = lfilter(self.b, self.a, x, zi=self.zi)
        return y


class Heart:
    """Heart rate on a 20 Hz grid and beat times by integral pulse frequency modulation (see module docstring)."""

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        fs = GRID_FS_HZ
        self.dt_s = 1.0 / fs
        f0 = config.resonance_rate_per_min / 60.0
        self._res = _Filter(*_bandpass_ba(f0, config.resonance_damping, fs))
        self._rsa = _Filter(*_bandpass_ba(f0, RSA_DAMPING, fs))
        self._rsa_lowpass = _Filter(*_lowpass_ba(config.rsa_corner_hz, fs))
        self._mayer = _Filter(*_bandpass_ba(f0, config.resonance_damping, fs))
        # White noise of SD 1 through the resonator has SD sqrt(sum h^2): scale it to mayer_bpm.
        impulse = np.zeros(int(fs * 600))
        impulse[0] = 1.0
        from scipy.signal import lfilter

        h = lfilter(self._mayer.b, self._mayer.a, impulse)
        self._mayer_scale = config.mayer_bpm / math.sqrt(float(np.sum(h * h)))
        tau = max(config.hr_drift_tau_s, 1e-3)
        self._rho = math.exp(-self.dt_s / tau)
        self._drift = float(rng.standard_normal()) * config.hr_drift_bpm
        mayer_warm = rng.standard_normal(int(fs * 120))  # start the Mayer waves in their steady state
        self._mayer(mayer_warm)
        self._rr0_s = 60.0 / config.hr_bpm
        self._sigma_rel = config.rr_noise_ms / 1000.0 / self._rr0_s
        self._phase = float(rng.uniform(0.0, 1.0))  # beats accumulated since the last beat
        self._next_threshold = 1.0 + self._sigma_rel * float(rng.standard_normal())
        self.previous_beat_t_s = -self._phase * self._rr0_s  # virtual beat before the session (first RR)
        self._primed = False
        self.drives: list[Callable[[np.ndarray], np.ndarray]] = []

    def step(self, t0_s: float, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance over grid samples ``t0_s + i·dt`` with lung ``volume``; return (HR at the grid, beat times)."""
        cfg, rng = self.config, self.rng
        n = len(volume)
        if not self._primed:  # start the breathing filters in their steady state for the first volume
            from scipy.signal import lfilter_zi

            self._res.zi = lfilter_zi(self._res.b, self._res.a) * volume[0]
            self._rsa.zi = lfilter_zi(self._rsa.b, self._rsa.a) * volume[0]
            self._primed = True
        rsa = cfg.resonance_gain_bpm * self._res(volume) + cfg.rsa_swing_bpm * self._rsa_lowpass(self._rsa(volume))
        mayer = self._mayer_scale * self._mayer(rng.standard_normal(n))
        from scipy.signal import lfilter

        innov = cfg.hr_drift_bpm * math.sqrt(1 - self._rho ** 2) * rng.standard_normal(n)
        drift, _ = lfilter([1.0], [1.0, -self._rho], innov, zi=[self._rho * self._drift])
        self._drift = float(drift[-1])
        hr = cfg.hr_bpm + drift + rsa + mayer
        for drive in self.drives:  # a dyad's shared slow waves (sources/sim/dyad.py)
            hr = hr + drive(t0_s + self.dt_s * np.arange(n))
        hr = np.clip(hr, HR_MIN_BPM, HR_MAX_BPM)
        # cumulative beat phase at the grid edges t0, t0+dt, ..., t0+n*dt
        cum = np.empty(n + 1)
        cum[0] = self._phase
        np.cumsum(hr * (self.dt_s / 60.0), out=cum[1:])
        cum[1:] += self._phase
        edges = t0_s + self.dt_s * np.arange(n + 1)
        thresholds = []
        thr = self._next_threshold
        end = cum[-1]
        while thr <= end:
            thresholds.append(thr)
            thr += 1.0 + self._sigma_rel * float(rng.standard_normal())
            thr = max(thr, thresholds[-1] + 0.3)
        if thresholds:
            beats = np.interp(np.asarray(thresholds), cum, edges)
            # re-reference: the phase is counted from the last beat
            last = thresholds[-1]
            self._phase = end - last
            self._next_threshold = thr - last
        else:
            beats = np.empty(0)
            self._phase = end
            self._next_threshold = thr
        return hr, beats


# --- waveforms -----------------------------------------------------------------------------------------------------

# (offset_s at RR = 1 s, amplitude relative to R, width_s); offsets and widths of P and T scale with sqrt(RR)
_NORMAL_WAVES = ((-0.17, 0.12, 0.025, True), (-0.028, -0.10, 0.008, False), (0.0, 1.0, 0.0085, False),
                 (0.028, -0.22, 0.009, False), (0.27, 0.25, 0.045, True))
_S_WAVE = 3  # index of the S wave in _NORMAL_WAVES
_ECTOPIC_WAVES = ((-0.03, -0.05, 0.02, False), (0.0, 1.4, 0.02, False), (0.05, -0.45, 0.02, False),
                  (0.30, -0.35, 0.06, True))
_ECG_BEFORE_S = 0.35
_ECG_AFTER_S = 0.65


def synthesize_ecg(t0_s: float, fs_hz: float, n: int, beat_t_s: np.ndarray, beat_rr_s: np.ndarray, beat_ectopic: np.ndarray,
                   r_amp_uv: np.ndarray, volume: np.ndarray, rng: np.random.Generator,
                   s_scale: np.ndarray | None = None) -> np.ndarray:
    """ECG in µV (float) at the ``n`` samples ``t0_s + i / fs_hz`` from the beats that overlap them.

    ``r_amp_uv`` is each beat's R amplitude (already modulated by breathing), ``volume`` the lung volume at the
    samples (baseline wander). ``s_scale``: each beat's S-wave depth relative to the R wave (default 1): the
    electrical axis turns with breathing and moves R and S in opposite directions, so the QRS area changes more
    than R alone (Moody et al. 1985; Charlton et al. 2016). Vectorised over beats × samples of one beat's window.
    """
    out = 40.0 * (volume - 0.5) + 6.0 * rng.standard_normal(n)
    if n == 0 or len(beat_t_s) == 0:
        return out
    fs, t0 = fs_hz, t0_s
    width = int(math.ceil((_ECG_BEFORE_S + _ECG_AFTER_S) * fs)) + 2
    first = np.ceil((beat_t_s - _ECG_BEFORE_S - t0) * fs).astype(np.int64)
    idx = first[:, None] + np.arange(width)[None, :]
    rel = t0 + idx / fs - beat_t_s[:, None]
    scale = np.sqrt(np.clip(beat_rr_s, 0.3, 2.0))[:, None]
    values = np.zeros_like(rel)
    for waves, mask in ((_NORMAL_WAVES, ~beat_ectopic), (_ECTOPIC_WAVES, beat_ectopic)):
        if not mask.any():
            continue
        r = rel[mask]
        sc = scale[mask]
        amp = r_amp_uv[mask][:, None]
        s_wave = 1.0 if s_scale is None or waves is _ECTOPIC_WAVES else s_scale[mask][:, None]
        acc = np.zeros_like(r)
        for k, (offset, rel_amp, width_s, scaled) in enumerate(waves):
            mu = offset * sc if scaled else offset
            sd = width_s * sc if scaled else width_s
            acc += rel_amp * (s_wave if k == _S_WAVE else 1.0) * np.exp(-0.5 * ((r - mu) / sd) ** 2)
        values[mask] = amp * acc
    ok = (idx >= 0) & (idx < n)
    out += np.bincount(idx[ok], weights=values[ok], minlength=n)
    return out


_GRAVITY_MG = np.array([-985.0, 60.0, 150.0])  # upright wearer, strap slightly tilted
_BREATH_TILT_MG = np.array([-3.0, 4.0, 20.0])  # per unit lung volume
_SCG_MG = np.array([1.0, 0.5, 4.0])


def synthesize_acc(times_s: np.ndarray, volume: np.ndarray, beat_t_s: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Chest accelerometer in milli-g, shape (n, 3): gravity + breathing tilt + heartbeat ripple + noise."""
    n = len(times_s)
    out = _GRAVITY_MG[None, :] + volume[:, None] * _BREATH_TILT_MG[None, :] + 3.0 * rng.standard_normal((n, 3))
    if n and len(beat_t_s):
        # seismocardiographic ripple: a 15 Hz damped sinusoid from 50 ms after each beat
        k = np.searchsorted(beat_t_s, times_s, side="right") - 1
        valid = k >= 0
        dt = np.where(valid, times_s - beat_t_s[np.clip(k, 0, None)] - 0.05, -1.0)
        ripple = np.where((dt >= 0) & (dt < 0.25), np.exp(-dt / 0.05) * np.sin(2 * np.pi * 15.0 * dt), 0.0)
        out += ripple[:, None] * _SCG_MG[None, :]
    return out


def synthesize_motion(times_s: np.ndarray, ranges: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Accelerometer change (mg, shape (n, 3)) while the wearer moves in ``ranges``: steps at 1.8 Hz (±200 mg
    vertical), sway at 0.9 Hz (±80 mg) and the strap tilting slowly (±150 mg at 0.15-0.4 Hz, inside the breathing
    band: what makes motion dangerous for a breathing count). Smooth on and off over 0.5 s; deterministic."""
    t = np.asarray(times_s, dtype=float)
    out = np.zeros((t.size, 3))
    for start, end in ranges:
        inside = (t >= start) & (t < end)
        if not inside.any():
            continue
        u = t[inside] - start
        env = np.clip(np.minimum(u, end - t[inside]) / 0.5, 0.0, 1.0)
        phase = 0.37 * start  # each movement its own phases
        steps = 200.0 * np.sin(2 * np.pi * 1.8 * u + phase)
        sway = 80.0 * np.sin(2 * np.pi * 0.9 * u + 2 * phase)
        tilt = 100.0 * np.sin(2 * np.pi * 0.15 * u + phase) + 50.0 * np.sin(2 * np.pi * 0.4 * u + 3 * phase)
        out[inside] = env[:, None] * np.column_stack((steps + 0.3 * tilt, sway + tilt, 0.5 * steps - tilt))
    return out
