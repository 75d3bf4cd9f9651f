"""Session library commands: ``sessions``, ``show``, ``rename``, ``annotate``, ``delete``.

- ``biotrainer sessions [--participant P] [--json]``: one line per session (oldest first).
- ``biotrainer show ID [--json]``: header, events per kind, phases, annotations. ID is a session id, a unique
  id prefix, or a path to a session file (e.g. a shipped example in ``recordings/``).
- ``biotrainer rename ID TITLE``; ``biotrainer annotate ID --at S TEXT`` / ``--notes TEXT``;
  ``biotrainer delete ID [--yes] [--force]`` (asks for confirmation otherwise; ``--force`` deletes a session that
  still looks as if it is being recorded).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from biotrainer.cli.common import finish_command, print_json
from biotrainer.core.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sessions", help="list recorded sessions",
                              description="List the sessions in the library, oldest first.")
    p.add_argument("--participant", metavar="P", help="only sessions of this participant (pseudonym or role)")
    finish_command(p, run_list)

    p = subparsers.add_parser("show", help="show one session: header, event counts, phases",
                              description="Show a session's header, events per kind, phases and annotations.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path to a session file")
    finish_command(p, run_show)

    p = subparsers.add_parser("rename", help="set a session's title")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path")
    p.add_argument("title", metavar="TITLE")
    finish_command(p, run_rename, json=False)

    p = subparsers.add_parser("annotate", help="add an annotation at a session time, or set the notes",
                              description="Append an annotation at session time --at (seconds), and/or replace "
                                          "the session's notes with --notes.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path")
    p.add_argument("text", metavar="TEXT", nargs="?", default=None, help="annotation text (with --at)")
    p.add_argument("--at", nargs="+", metavar=("S", "TEXT"),
                   help="session time of the annotation in seconds, optionally followed by the text")
    p.add_argument("--author", default="", help="who annotates (optional)")
    p.add_argument("--notes", metavar="TEXT", help="replace the session notes")
    finish_command(p, run_annotate, json=False)

    p = subparsers.add_parser("delete", help="delete a session",
                              description="Delete a session file. Asks for confirmation unless --yes.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--force", action="store_true",
                   help="delete even a session that looks as if it is still being recorded")
    finish_command(p, run_delete, json=False)


def _library(args: argparse.Namespace) -> Any:
    from biotrainer.store import Library

    return Library(getattr(args, "library", None))


def format_duration(duration_s: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    t = max(0, int(round(duration_s)))
    h, rest = divmod(t, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def run_list(args: argparse.Namespace) -> int:
    lib = _library(args)
    sessions = lib.list_sessions(participant=args.participant)
    if args.json:
        print_json([s.to_dict() for s in sessions])
        return 0
    if not sessions:
        sys.stdout.write(f"no sessions in {lib.root}\n")
        return 0
    rows = [("ID", "STARTED", "DURATION", "PARTICIPANT", "PROTOCOL", "STATE", "BEATS", "TITLE")]
    for s in sessions:
        if s.error:
            rows.append((s.id, "", "", "", "", "unreadable", "", s.error))
            continue
        state = s.state + (" (synthetic)" if s.synthetic else "")
        rows.append((s.id, s.started_at[:16].replace("T", " "), format_duration(s.duration_s),
                     s.participant or "-", s.protocol or "-", state, str(s.n_beats), s.title))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] + "\n")
    return 0


def _header_lines(info: dict[str, Any]) -> list[str]:
    state = "complete" if info["complete"] else "INCOMPLETE (interrupted or still recording)"
    failure = info.get("write_failure")
    if not info["complete"] and isinstance(failure, dict):
        state = (f"INCOMPLETE (the recording stopped: {failure.get('reason', 'write failed')}, "
                 f"{failure.get('events_lost', '?')} events could not be written)")
    lines = [f"session   {info['id']}{'  (synthetic: simulated data)' if info['synthetic'] else ''}"]
    if info["title"]:
        lines.append(f"title     {info['title']}")
    lines += [f"file      {info['path']}", f"started   {info['started_at']}",
              f"duration  {format_duration(info['duration_s'])} ({info['duration_s']:.1f} s), {state}"]
    if info["complete"]:
        reason = info["completed"].get("end_reason") or ""
        lines.append(f"ended     {info['completed'].get('ended_at', '')}{f' ({reason})' if reason else ''}")
    people = ", ".join(f"{role}: {name or '-'}" for role, name in info["participants"].items())
    lines.append(f"people    {people or '-'}")
    for d in info["devices"]:
        lines.append(f"device    {d.get('participant', '')} {d.get('name', '')} {d.get('model', '')} "
                     f"{d.get('id', '')}".rstrip())
    lines += [f"protocol  {info['protocol_name'] or '-'}", f"app       biotrainer {info['app_version']}"]
    if info["notes"]:
        lines.append(f"notes     {info['notes']}")
    return lines


def _detail_lines(info: dict[str, Any]) -> list[str]:
    lines = ["events", *(f"  {kind:<13} {n:>8}" for kind, n in info["counts"].items())]
    if info["phases"]:
        lines.append("phases")
        for ph in info["phases"]:
            pace = f" paced {ph['rate_per_min']:g}/min" if ph["paced"] and ph["rate_per_min"] else ""
            end = "" if ph["ended"] else " (not finished)"
            lines.append(f"  {ph['index']:>2} {ph['name']:<20} {ph['start_s']:8.1f}-{ph['end_s']:8.1f} s{pace}{end}")
    if info["annotations"]:
        lines.append("annotations")
        for a in info["annotations"]:
            by = f" ({a['author']})" if a["author"] else ""
            lines.append(f"  {a['t_s']:8.1f} s  {a['text']}{by}")
    return lines


def run_show(args: argparse.Namespace) -> int:
    lib = _library(args)
    with lib.open(args.session) as reader:
        info = reader.summary()
    if args.json:
        print_json(info)
        return 0
    damaged = [f"  {line}" for line in info.get("damaged") or []]
    if damaged:
        damaged.insert(0, f"damaged   the file has damaged rows (the first {len(damaged)} listed); analyses, "
                          f"exports and replay refuse it")
    sys.stdout.write("".join(line + "\n" for line in (*_header_lines(info), *damaged, *_detail_lines(info))))
    return 0


def run_rename(args: argparse.Namespace) -> int:
    lib = _library(args)
    s = lib.rename(str(lib.resolve_own(args.session)), args.title)
    sys.stdout.write(f"{s.id}: title set to {s.title!r}\n")
    return 0


def run_annotate(args: argparse.Namespace) -> int:
    at_s, text = _parse_at(args.at, args.text)
    if at_s is None and text is not None:
        raise UsageError(f"annotation text {text!r} needs --at S (session time in seconds)")
    if at_s is None and args.notes is None:
        raise UsageError("annotate needs --at S TEXT (an annotation) and/or --notes TEXT")
    if at_s is not None and not (text or "").strip():
        raise UsageError(f"--at {at_s:g} needs the annotation text, e.g. --at {at_s:g} \"coughed\"")
    lib = _library(args)
    path = str(lib.resolve_own(args.session))
    if at_s is not None:
        e = lib.annotate(path, at_s, text or "", author=args.author)
        sys.stdout.write(f"annotation added at {e.t_s:.1f} s\n")
    if args.notes is not None:
        s = lib.set_notes(path, args.notes)
        sys.stdout.write(f"{s.id}: notes set\n")
    return 0


def _parse_at(at: list[str] | None, text: str | None) -> tuple[float | None, str | None]:
    """``--at S [TEXT...]`` plus the optional positional TEXT → (seconds, text)."""
    if at is None:
        return None, text
    try:
        at_s = float(at[0])
    except ValueError:
        raise UsageError(f"--at {at[0]!r} is not a session time in seconds") from None
    words = [w for w in (text, " ".join(at[1:])) if w]
    return at_s, " ".join(words) if words else None


def run_delete(args: argparse.Namespace) -> int:
    from biotrainer.store import summarize

    lib = _library(args)
    path = lib.resolve_own(args.session)
    if not args.yes:
        s = summarize(path)
        what = f"{s.started_at[:16].replace('T', ' ')}, {format_duration(s.duration_s)}"
        if s.error:
            what = "unreadable file"
        if s.participant:
            what += f", {s.participant}"
        if s.title:
            what += f", {s.title!r}"
        if sys.stdin is None or sys.stdin.closed:
            raise UsageError(f"not deleting session {s.id}: no stdin to confirm; pass --yes")
        sys.stderr.write(f"Delete session {s.id} ({what})? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer:
            sys.stderr.write("\n")
            raise UsageError(f"not deleting session {s.id}: no answer on stdin; pass --yes to delete without asking")
        if answer.strip().lower() not in ("y", "yes"):
            sys.stdout.write("kept\n")
            return 1
    deleted = lib.delete(str(path), force=args.force)
    sys.stdout.write(f"deleted {deleted}\n")
    return 0
