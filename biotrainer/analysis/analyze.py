"""Analyse a file or a session: HRV, artifacts, breathing, RSA and coherence of an RR file, an ECG file or a recorded
session (what ``biotrainer analyze`` prints; the CLI only parses the options and writes the result).

- :func:`guess_kind`: what a path is (``.sqlite`` or a reference that is no file → session; ``.npy`` or a sampling
  rate → ECG; otherwise RR).
- :func:`analyze_path`: read, choose whose beats (:mod:`biotrainer.analysis.participants`), run
  :mod:`biotrainer.metrics.offline` and return the JSON-ready result (never NaN: a null value has its reason).

Long inputs: memory grows linearly with the beats (about 0.4 GB for a week of Holter, ``benchmarks/bench_long.py``).
An RR file with more lines than :data:`MAX_BEATS`, an ECG file with more than :data:`MAX_ECG_SAMPLES` samples
(counted before anything is read) or a session with more beats per participant is refused with one line; a session
longer than :data:`MAX_SIGNAL_S` is analysed without its ECG and ACC (a warning says so).

Options that do not apply to the input (a sampling rate for a session, a column for a session, a participant for
an ECG file) are one-line :class:`~biotrainer.core.errors.UsageError`\\ s, not ignored; their messages name the
command-line options, which is where a user meets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biotrainer.core.errors import UsageError

KINDS = ("rr", "ecg", "session")
#: The most beats one analysis takes (about three weeks at 65 bpm; a week of Holter is ~1 M beats and needs about
#: 0.4 GB): memory grows linearly with the beats (benchmarks/bench_long.py), so a longer file is refused before it
#: is read, instead of running out of memory half-way.
MAX_BEATS = 2_000_000
#: The most ECG samples one ECG file may hold (24 h at 130 Hz, the Polar H10 rate: measured 0.56 GB and ~1 min;
#: the samples and their times are held whole, R-peaks found in 1-h blocks, :func:`~biotrainer.metrics.offline.
#: ecg_peaks_s`).
MAX_ECG_SAMPLES = 24 * 3600 * 130
#: A session longer than this is analysed from its beats and markers only: its ECG and ACC are left out (with a
#: warning), so a week-long recording fits in memory; breathing then comes from the RR intervals.
MAX_SIGNAL_S = 24 * 3600.0
#: Suffixes that name a data file even when it does not exist (so the error says "no such file").
DATA_SUFFIXES = (".txt", ".csv", ".tsv", ".npy", ".rr", ".dat")


@dataclass(frozen=True)
class AnalyzeOptions:
    """What to analyse and how (the ``analyze`` command's options, already checked for sane numbers)."""

    path: str
    kind: str | None = None
    fs_hz: float | None = None
    column: str | None = None
    window_s: float | None = None
    correction: bool = True
    max_corrected_pct: float = 5.0
    participant: str | None = None
    library: str | None = None

    def settings(self) -> Any:
        """The metrics engine's :class:`~biotrainer.metrics.window.Settings` for these options."""
        from biotrainer.metrics.window import Settings

        share = self.max_corrected_pct / 100.0
        return Settings(correction=self.correction, max_corrected_time=share, max_corrected_spectral=share)


def guess_kind(path: str, fs_hz: float | None) -> str:
    """``session`` for ``.sqlite`` or a reference that is no file (and has no data-file suffix), ``ecg`` for
    ``.npy`` or with a sampling rate, else ``rr``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".sqlite" or (not p.is_file() and suffix not in DATA_SUFFIXES):
        return "session"
    if suffix == ".npy" or fs_hz is not None:
        return "ecg"
    return "rr"


def _rr_of_participant(opts: AnalyzeOptions, rrf: Any) -> tuple[Any, Any]:
    """RR and beat times of the file, of one participant when the file has a participant column."""
    import numpy as np

    rr, beat_t = rrf.rr_ms, rrf.beat_t_s
    if opts.participant and not rrf.participant:
        raise UsageError(f"--participant {opts.participant}: {opts.path} has no participant column (all its "
                         "intervals are one person's): leave --participant out")
    if rrf.participant:
        who = sorted(set(rrf.participant))
        if opts.participant or len(who) > 1:
            if opts.participant not in who:
                raise UsageError(f"{opts.path}: intervals of participant(s) {', '.join(who)}; choose one with "
                                 "--participant")
            keep = np.array([p == opts.participant for p in rrf.participant])
            rr, beat_t = rr[keep], (beat_t[keep] if beat_t is not None else None)
    return rr, beat_t


def count_lines(path: str | Path, stop_after: int) -> int:
    """Lines of a regular file (counted in 1-MB blocks, nothing kept), stopping once above ``stop_after``; 0 for
    what is not a regular file (the reader then says what it is)."""
    p = Path(path)
    if not p.is_file():
        return 0
    n = 0
    try:
        with p.open("rb") as fh:
            while n <= stop_after and (block := fh.read(1 << 20)):
                n += block.count(b"\n")
    except OSError:
        return 0  # the reader gives the one-line error
    return n


def check_beats(path: str, n: int, what: str = "lines") -> None:
    """UsageError when ``n`` (beats, or lines of an RR file: one beat each at most) exceeds :data:`MAX_BEATS`."""
    if n > MAX_BEATS:
        found = f"more than {MAX_BEATS:,} lines" if what == "lines" else f"{n:,} {what}"
        raise UsageError(f"{path}: {found}; analyze takes at most {MAX_BEATS:,} beats (about "
                         f"{MAX_BEATS * 60 / 65 / 86400:.0f} days at 65 bpm): analyse the recording in parts")


def analyze_rr_file(opts: AnalyzeOptions) -> dict[str, Any]:
    """Metrics of an RR file (:func:`biotrainer.analysis.inputs.read_rr_file`); a file with more lines than
    :data:`MAX_BEATS` is refused before it is read."""
    from biotrainer.analysis.inputs import read_rr_file
    from biotrainer.metrics import offline

    check_beats(opts.path, count_lines(opts.path, MAX_BEATS + 1))
    rr, beat_t = _rr_of_participant(opts, read_rr_file(opts.path, opts.column))
    return offline.analyze_rr(rr, opts.settings(), opts.window_s, beat_t_s=beat_t)


def analyze_ecg_file(opts: AnalyzeOptions) -> dict[str, Any]:
    """Metrics of an ECG file sampled at ``opts.fs_hz`` (:func:`biotrainer.analysis.inputs.read_ecg_file`)."""
    from biotrainer.analysis.inputs import read_ecg_file
    from biotrainer.metrics import offline

    if opts.fs_hz is None:
        raise UsageError(f"{opts.path}: an ECG file needs its sampling rate: --fs HZ")
    if opts.participant:
        raise UsageError(f"--participant {opts.participant}: an ECG file is one person's recording: leave "
                         "--participant out")
    n = _npy_length(opts.path) if Path(opts.path).suffix.lower() == ".npy" else count_lines(
        opts.path, MAX_ECG_SAMPLES + 1)
    if n > MAX_ECG_SAMPLES:
        found = f"{n:,} ECG samples" if opts.path.lower().endswith(".npy") else f"more than {MAX_ECG_SAMPLES:,} lines"
        raise UsageError(f"{opts.path}: {found}; "
                         f"analyze takes at most {MAX_ECG_SAMPLES:,} (24 h at 130 Hz): analyse the ECG in parts, "
                         "or its RR intervals")
    ecg = read_ecg_file(opts.path, opts.column)
    return offline.analyze_ecg(ecg, opts.fs_hz, opts.settings(), opts.window_s)


def _npy_length(path: str) -> int:
    """Values in a ``.npy`` file, from its header (memory-mapped: nothing read); 0 when it cannot tell (the reader
    then says why)."""
    import numpy as np

    try:
        return int(np.load(path, mmap_mode="r", allow_pickle=False).size)
    except (OSError, ValueError, EOFError, TypeError):
        return 0


#: The event kinds a participant's :class:`~biotrainer.metrics.streams.Streams` are built from (what
#: ``StreamBuffer.add`` uses): raw packets, heart-rate packets and the rest are not read.
STREAM_KINDS = ("beat", "pacer", "phase", "acc", "ecg", "contact", "connection")


@dataclass
class SessionData:
    """What analysis reads of a recorded (or imported) session: its id, participants (role → pseudonym), the
    events streams are built from (:data:`STREAM_KINDS`) and the roles with beats, in the order of their first
    beat."""

    session_id: str
    people: dict[str, str]
    events: list[Any]
    roles: list[str]
    #: ``started_at`` (ISO time), ``protocol`` and ``synthetic`` of the session header
    info: dict[str, Any] = field(default_factory=dict)
    #: what was left out of the analysis and why (added to each result's ``warnings``)
    warnings: list[str] = field(default_factory=list)


def read_session(ref: str, library: str | None = None) -> SessionData:
    """Read session ``ref`` (id, id prefix or ``.sqlite`` path) of ``library`` for analysis."""
    from biotrainer.analysis.participants import roles_with_beats
    from biotrainer.store import Library

    with Library(library).open(ref) as reader:
        m = reader.meta
        check_beats(str(reader.path), reader.count("beat") // max(1, len(m.participants)), "beats per participant")
        kinds = STREAM_KINDS
        warnings = []
        if reader.duration_s > MAX_SIGNAL_S and (reader.count("ecg") or reader.count("acc")):
            kinds = tuple(k for k in STREAM_KINDS if k not in ("ecg", "acc"))
            warnings.append(f"ECG and ACC left out: the session is {reader.duration_s / 3600:.0f} h long, more "
                            f"than {MAX_SIGNAL_S / 3600:.0f} h (breathing from the RR intervals)")
        events = list(reader.events(kinds=kinds))
        data = SessionData(reader.id, dict(m.participants), events, [],
                           {"started_at": m.started_at, "protocol": m.protocol_name, "synthetic": bool(m.synthetic)},
                           warnings)
    data.roles = roles_with_beats(events)
    return data


def analyze_session_role(opts: AnalyzeOptions, data: SessionData, role: str) -> dict[str, Any]:
    """Metrics of ``role``'s beats in a read session, with ``session`` and ``participant`` (role, pseudonym and the
    others with beats) added."""
    from biotrainer.metrics import offline
    from biotrainer.metrics.streams import streams_from_events

    people = data.people
    out = offline.analyze_streams(streams_from_events(data.events, role), opts.settings(), opts.window_s)
    out["warnings"] = [*data.warnings, *out["warnings"]]
    out["session"] = data.session_id
    out["participant"] = {"role": role, "pseudonym": people.get(role) or None,
                          "others": [{"role": r, "pseudonym": people.get(r) or None} for r in data.roles
                                     if r != role]}
    return out


def analyze_session(opts: AnalyzeOptions) -> dict[str, Any]:
    """Metrics of one participant's beats in a recorded session (:func:`analyze_session_role` of the participant
    the participant rule chooses)."""
    from biotrainer.analysis.participants import choose_role

    if opts.column is not None:
        raise UsageError(f"--column is for CSV files; {opts.path} is a recorded session: leave --column out")
    data = read_session(opts.path, opts.library)
    role = choose_role(data.session_id, data.roles, data.people, opts.participant)
    return analyze_session_role(opts, data, role)


_ANALYZERS = {"rr": analyze_rr_file, "ecg": analyze_ecg_file, "session": analyze_session}


def analyze_path(opts: AnalyzeOptions) -> dict[str, Any]:
    """Analyse ``opts.path`` as ``opts.kind`` (default :func:`guess_kind`).

    Returns
    -------
    dict
        :func:`biotrainer.metrics.offline.analyze_rr` output (``beats``, ``artifacts``, ``quality``, ``hrv``,
        ``breathing``, ``rsa``, ``coherence``, ``reasons``, ``warnings``, ``phases``/``windows`` when present)
        plus ``kind``, ``settings`` and, for a session, ``session`` and ``participant``.

    Raises
    ------
    UsageError
        An option that does not apply to the input, a window longer than the recording, or the participant rule.
    ImportFormatError
        An unreadable RR or ECG file.
    """
    kind = opts.kind or guess_kind(opts.path, opts.fs_hz)
    if opts.fs_hz is not None and kind != "ecg":
        what = "a recorded session" if kind == "session" else "an RR file (--kind rr)"
        raise UsageError(f"--fs is the sampling rate of an ECG file; {opts.path} is {what}: leave --fs out")
    return finish_result(_ANALYZERS[kind](opts), opts, kind)


def finish_result(out: dict[str, Any], opts: AnalyzeOptions, kind: str) -> dict[str, Any]:
    """Add ``kind``, ``participant`` and ``settings`` to an analysis (what :func:`analyze_path` returns); a window
    longer than the recording is a UsageError."""
    participant = out.pop("participant", None)
    duration_s = out["quality"].get("duration_s")
    if opts.window_s is not None and duration_s is not None and opts.window_s > duration_s + 1e-6:
        raise UsageError(f"--window-s {opts.window_s:g}: longer than the recording ({duration_s:.0f} s of beats); "
                         f"use at most {math.floor(duration_s):.0f} s or leave --window-s out")
    out["kind"] = kind
    if participant is not None:
        out["participant"] = participant
    out["settings"] = {"correction": opts.correction, "max_corrected_pct": opts.max_corrected_pct,
                       "window_s": opts.window_s}
    return out
