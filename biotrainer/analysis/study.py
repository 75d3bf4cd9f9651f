"""Study-scale analysis: every session of a library or a BIDS dataset into one tidy table (``biotrainer study``).

- :func:`find_tasks`: the sessions of a source, one :class:`StudyTask` each: a library folder (its
  ``sessions/*.sqlite``), a folder of ``.sqlite`` files, or a BIDS dataset (one task per ``ses-<id>``, read
  with the BIDS importer, :func:`biotrainer.exchange.bids.import_bids`).
- :func:`analyze_task`: one session, every participant with beats, analysed exactly as ``biotrainer analyze
  --json --participant ROLE`` analyses it (:func:`biotrainer.analysis.analyze.analyze_session_role`), turned into
  rows (:func:`rows_of`). A top-level function of picklable arguments, so a spawned process or a Dask worker can
  run it; a session that fails gives its one-line error instead of rows.
- :func:`run_study`: the tasks in this process (``workers=0``), on local processes (``ProcessPoolExecutor``,
  spawn) or on a Dask cluster (``scheduler="tcp://HOST:PORT"``, ``dask.distributed`` imported only then); results
  reported to a ``progress`` callback as they finish.
- :func:`write_table`: CSV (plain ``pandas.read_csv`` reads it) or Parquet (pyarrow), written atomically and
  owner-only, with a sidecar ``<out>.json``: settings, column units and labels from the metric catalogue, and the
  sessions that failed.

Rows: one per session × participant × phase. A ``whole`` row holds the whole-recording summary (every catalogue
metric ``analyze`` reports); a session with a protocol adds one row per phase with the phase values ``analyze``
reports per phase (breathing rate, pacer rate, HR, lnRMSSD, RSA; other metric columns empty). Columns: the
identifying columns (:data:`ID_COLUMNS`), the settings (:data:`SETTING_COLUMNS`), then metric columns named by
their catalogue key (``hrv.rmssd_ms``) in catalogue order.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biotrainer.core.errors import BiotrainerError, UsageError

log = logging.getLogger(__name__)

ID_COLUMNS = ("source", "session", "started_at", "protocol", "synthetic", "role", "participant", "phase",
              "phase_start_s", "phase_end_s", "beats")
SETTING_COLUMNS = ("correction", "max_corrected_pct")
#: The row of the whole recording (phase rows carry the phase's name).
WHOLE = "whole"
#: Phase values of ``analyze`` (``phases[]``) → the catalogue column they fill (the phase's RSA is the mean of its
#: windows' per-breath RSA, as the whole recording's ``rsa.p2t_ms_mean``).
PHASE_COLUMNS = {"hr_bpm": "hrv.hr_bpm", "ln_rmssd": "hrv.ln_rmssd", "breathing_rate_per_min":
                 "breathing.rate_per_min", "pacer_rate_per_min": "breathing.pacer_rate_per_min",
                 "rsa_p2t_ms": "rsa.p2t_ms_mean", "breathing_source": "breathing.source"}
FORMATS = (".csv", ".parquet")


@dataclass(frozen=True)
class StudyTask:
    """One session to analyse: ``kind`` ``session`` (a ``.sqlite`` file) or ``bids`` (a BIDS session's ``*_events.tsv``
    file), its ``path`` and the analysis settings."""

    kind: str
    path: str
    correction: bool = True
    max_corrected_pct: float = 5.0


@dataclass
class TaskResult:
    """Rows of one session, or its one-line ``error``; the worker's process id, its peak memory (MB) and the CPU
    seconds it has used so far (for benchmarks)."""

    task: StudyTask
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    pid: int = 0
    peak_mb: float = 0.0
    cpu_s: float = 0.0


def metric_columns() -> list[str]:
    """Metric columns: the catalogue keys a whole-recording analysis reports, in catalogue order."""
    from biotrainer.metrics.catalogue import CATALOGUE

    reported = set(_SUMMARY_KEYS) | set(PHASE_COLUMNS.values())
    return [k for k in CATALOGUE if k in reported]


#: The keys of ``analyze``'s summary (group.name) that are metrics in the catalogue (filled in by :func:`rows_of`).
_SUMMARY_KEYS = (
    "hrv.hr_bpm", "hrv.mean_nn_ms", "hrv.sdnn_ms", "hrv.rmssd_ms", "hrv.ln_rmssd", "hrv.pnn50_pct", "hrv.vlf_ms2",
    "hrv.lf_ms2", "hrv.hf_ms2", "hrv.lf_hf", "hrv.total_power_ms2", "hrv.lf_peak_hz", "hrv.hf_peak_hz",
    "breathing.rate_per_min", "breathing.windows", "breathing.source", "rsa.p2t_ms_mean", "rsa.p2t_bpm_mean",
    "rsa.windows", "rsa.breath_source", "coherence.ratio_mean", "coherence.windows", "artifacts.corrected",
    "artifacts.corrected_pct", "artifacts.ectopic", "artifacts.missed", "artifacts.extra", "artifacts.long_short",
    "quality.missing_pct", "quality.ok", "quality.duration_s", "quality.segments", "quality.valid_s",
    "quality.spectral_start_s", "quality.spectral_end_s")


def columns() -> list[str]:
    """Every column of the table, in order."""
    return [*ID_COLUMNS, *SETTING_COLUMNS, *metric_columns()]


# --- finding the sessions ---------------------------------------------------------------------------------------

def find_tasks(source: str | os.PathLike[str], *, correction: bool = True,
               max_corrected_pct: float = 5.0) -> list[StudyTask]:
    """The sessions of ``source``: a BIDS dataset (``dataset_description.json``; each ``*_physioevents.tsv.gz``),
    a library folder (its ``sessions/*.sqlite``) or a folder of ``.sqlite`` files. UsageError when it is none of
    these or holds no session."""
    root = Path(source)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder (expected a session library or a BIDS dataset)")
    if (root / "dataset_description.json").is_file():
        paths, kind = _bids_sessions(root), "bids"
        what = "BIDS dataset without any biotrainer events file (sub-*/ses-*/beh/*_events.tsv)"
    else:
        folder = root / "sessions" if (root / "sessions").is_dir() else root
        paths, kind = sorted(folder.glob("*.sqlite")), "session"
        what = "no session files (*.sqlite) in it or in its sessions/ folder"
    if not paths:
        raise UsageError(f"{root}: {what}")
    return [StudyTask(kind, str(p), correction, max_corrected_pct) for p in paths]


def _bids_sessions(root: Path) -> list[Path]:
    """One events file per BIDS session (``ses-<id>``): importing it brings the session's partners along, so a
    therapist–client session is one task with both people, as in the library."""
    import re

    from biotrainer.exchange.bids import is_bids_events_file

    first: dict[str, Path] = {}
    for path in sorted(root.glob("sub-*/ses-*/beh/*")):
        m = re.search(r"_ses-([A-Za-z0-9]+)_", path.name)
        if m and is_bids_events_file(path):
            first.setdefault(m.group(1), path)
    return sorted(first.values())


# --- one session ------------------------------------------------------------------------------------------------

def _options(task: StudyTask) -> Any:
    from biotrainer.analysis.analyze import AnalyzeOptions

    return AnalyzeOptions(path=task.path, kind="session", correction=task.correction,
                          max_corrected_pct=task.max_corrected_pct)


def _bids_session(path: str) -> Any:
    """A BIDS session (one of its events files) as :class:`~biotrainer.analysis.analyze.SessionData`, named by its
    biotrainer session id when the dataset records it, else ``ses-<id>``."""
    from biotrainer.analysis.analyze import STREAM_KINDS, SessionData
    from biotrainer.analysis.participants import roles_with_beats
    from biotrainer.exchange.bids import import_bids

    imported = import_bids(Path(path))
    meta = imported.meta
    events = [e for e in imported.events if e.KIND in STREAM_KINDS]
    label = (meta.get("imported_from") or {}).get("session_id") or "ses-" + Path(path).name.split("_ses-")[1].split("_")[0]
    return SessionData(label, {k: str(v) for k, v in (meta.get("participants") or {}).items()}, events,
                       roles_with_beats(events), {"started_at": meta.get("started_at", ""),
                                                  "protocol": meta.get("protocol_name", ""),
                                                  "synthetic": bool(meta.get("synthetic", False))})


def analyze_task(task: StudyTask) -> TaskResult:
    """Analyse one session for every participant with beats (see the module docstring); never raises for a bad
    session: its error is one line in the result."""
    import resource

    from biotrainer.analysis.analyze import analyze_session_role, finish_result, read_session

    out = TaskResult(task, pid=os.getpid())
    try:
        opts = _options(task)
        data = _bids_session(task.path) if task.kind == "bids" else read_session(task.path)
        if not data.roles:
            raise UsageError(f"{task.path}: no beats recorded")
        for role in data.roles:
            result = finish_result(analyze_session_role(opts, data, role), opts, "session")
            out.rows.extend(rows_of(result, task.kind, data.info))
    except BiotrainerError as exc:
        out.error, out.rows = str(exc), []
    except Exception as exc:  # noqa: BLE001 - one session's bug must not stop a study; reported with its type
        log.debug("study: %s failed", task.path, exc_info=True)
        out.error, out.rows = f"{Path(task.path).name}: {type(exc).__name__}: {exc}".splitlines()[0], []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.peak_mb, out.cpu_s = usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime
    return out


def rows_of(result: dict[str, Any], source: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows of one ``analyze --json`` result (a session's participant): the whole recording, then each
    phase."""
    p = result.get("participant") or {}
    settings = result.get("settings") or {}
    base = {"source": source, "session": result.get("session", ""), "started_at": info.get("started_at", ""),
            "protocol": info.get("protocol", ""), "synthetic": bool(info.get("synthetic", False)),
            "role": p.get("role", ""), "participant": p.get("pseudonym") or p.get("role", ""),
            "correction": bool(settings.get("correction", True)),
            "max_corrected_pct": float(settings.get("max_corrected_pct", 5.0))}
    metrics = metric_columns()
    whole = {**base, "phase": WHOLE, "phase_start_s": None, "phase_end_s": None, "beats": result["beats"]}
    whole.update(dict.fromkeys(metrics))
    for key in metrics:
        group, _, name = key.partition(".")
        if key in _SUMMARY_KEYS:
            whole[key] = (result.get(group) or {}).get(name)
    rows = [whole]
    for ph in result.get("phases") or []:
        row = {**base, "phase": ph["name"], "phase_start_s": ph["start_s"], "phase_end_s": ph["end_s"],
               "beats": None}
        row.update(dict.fromkeys(metrics))
        for name, key in PHASE_COLUMNS.items():
            row[key] = ph.get(name)
        rows.append(row)
    return rows


# --- many sessions ----------------------------------------------------------------------------------------------

Progress = Callable[[TaskResult, int, int], None]


def run_study(tasks: list[StudyTask], *, workers: int = 0, scheduler: str | None = None,
              progress: Progress | None = None) -> list[TaskResult]:
    """Analyse every task; results in the order of ``tasks``. ``workers`` 0: in this process; N ≥ 1: N local
    processes (spawned); ``scheduler``: the address of a running Dask scheduler (``tcp://HOST:PORT``; its
    workers must have biotrainer installed and see the session files at the same paths). ``progress(result,
    done, total)`` is called as each session finishes."""
    if scheduler:
        done_iter = _on_dask(tasks, scheduler)
    elif workers > 0:
        done_iter = _on_processes(tasks, workers)
    else:
        done_iter = (analyze_task(t) for t in tasks)
    results: dict[StudyTask, TaskResult] = {}
    for n, r in enumerate(done_iter, 1):
        results[r.task] = r
        if progress is not None:
            progress(r, n, len(tasks))
    return [results[t] for t in tasks]


#: Worker processes run their numerical libraries on one thread each: the parallelism is the processes (N workers
#: with a BLAS thread per core each would oversubscribe the cores). Set only where the user has not set them.
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _on_processes(tasks: list[StudyTask], workers: int) -> Iterable[TaskResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    added = [k for k in ONE_THREAD_ENV if k not in os.environ]
    os.environ.update({k: ONE_THREAD_ENV[k] for k in added})  # inherited by the spawned workers
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
            futures = {pool.submit(analyze_task, t): t for t in tasks}
            for fut in as_completed(futures):
                yield _result_of(fut, futures[fut])
    finally:
        for k in added:
            os.environ.pop(k, None)


def _on_dask(tasks: list[StudyTask], scheduler: str) -> Iterable[TaskResult]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'biotrainer[study]'") from None
    try:
        client = Client(scheduler, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        futures = client.map(analyze_task, tasks, pure=False)
        by_future = dict(zip(futures, tasks, strict=True))
        for fut in as_completed(futures):
            yield _result_of(fut, by_future[fut])
    finally:
        client.close()


def _result_of(fut: Any, task: StudyTask) -> TaskResult:
    """A finished future's result; a worker that died or could not run the task is that session's error."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a lost worker (killed, out of memory) fails its session only
        return TaskResult(task, error=f"{Path(task.path).name}: worker failed: {type(exc).__name__}: "
                                      f"{exc}".splitlines()[0])


# --- the table --------------------------------------------------------------------------------------------------

def check_output(out: str | os.PathLike[str]) -> Path:
    """``out`` as a path with a known suffix (``.csv`` or ``.parquet``, whose writer must be installed)."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--out {path}: expected a .csv or .parquet file name")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError(f"--out {path}: Parquet needs pyarrow: pip install 'biotrainer[study]' "
                             "(or write .csv)") from None
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: folder {path.parent} does not exist")
    return path


def write_table(results: list[TaskResult], out: str | os.PathLike[str],
                settings: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write the rows of ``results`` to ``out`` (CSV or Parquet) and the sidecar ``<out>.json``; returns both
    paths. Each file is written beside its target under a temporary name and renamed when complete."""
    path = check_output(out)
    cols = columns()
    rows = [r for res in results for r in res.rows]
    if path.suffix.lower() == ".parquet":
        _atomic(path, lambda tmp: _write_parquet(tmp, rows, cols))
    else:
        _atomic(path, lambda tmp: _write_csv(tmp, rows, cols))
    sidecar = path.with_name(path.name + ".json")
    doc = sidecar_document(results, settings or {})
    _atomic(sidecar, lambda tmp: tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n",
                                                encoding="utf-8"))
    return path, sidecar


def sidecar_document(results: list[TaskResult], settings: dict[str, Any]) -> dict[str, Any]:
    """What the sidecar JSON says: the tool, the settings, each metric column's label and unit, the failures."""
    from biotrainer import __version__
    from biotrainer.metrics.catalogue import CATALOGUE

    return {"generated_by": f"biotrainer {__version__} study", "settings": settings,
            "rows": "one per session x participant x phase; phase 'whole' = the whole recording",
            "columns": {k: {"label": CATALOGUE[k].label, "unit": CATALOGUE[k].unit} for k in metric_columns()},
            "sessions": len(results), "failed": [{"path": r.task.path, "error": r.error} for r in results
                                                  if r.error]}


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return v


def _write_csv(path: Path, rows: list[dict[str, Any]], cols: list[str]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for row in rows:
            w.writerow([_cell(row.get(c)) for c in cols])
        fh.flush()
        os.fsync(fh.fileno())


def _write_parquet(path: Path, rows: list[dict[str, Any]], cols: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from biotrainer.metrics.catalogue import CATALOGUE

    def kind(c: str) -> Any:
        if c in ("synthetic", "correction"):
            return pa.bool_()
        if c in ("phase_start_s", "phase_end_s", "max_corrected_pct") or (c in CATALOGUE and CATALOGUE[c].numeric):
            return pa.float64()
        if c == "beats":
            return pa.int64()
        return pa.string()

    schema = pa.schema([(c, kind(c)) for c in cols])
    table = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows], schema=schema)
    pq.write_table(table, path)


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` via a temporary owner-only file beside it, renamed when complete; nothing left on failure."""
    from biotrainer.store.paths import create_private_file

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        create_private_file(tmp)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise BiotrainerError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
