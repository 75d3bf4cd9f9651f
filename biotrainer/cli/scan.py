"""``biotrainer scan``: list heart-rate straps advertising the Heart Rate Service (0x180D)."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command, print_json


def add_ble_backend_option(parser: argparse.ArgumentParser) -> None:
    """``--ble-backend MODULE:FACTORY`` (shared with commands that open straps)."""
    parser.add_argument("--ble-backend", metavar="MODULE:FACTORY",
                        help="other bleak backend classes, e.g. tests.emulated.backend:factory for an emulated "
                             "strap (default: the system's Bluetooth)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scan", help="list heart-rate straps nearby (Bluetooth LE, service 0x180D)",
                              description="Scan for devices advertising the Bluetooth Heart Rate Service (0x180D) "
                                          "and list name, address, signal strength, battery and device profile.")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to listen (default 5)")
    p.add_argument("--no-battery", action="store_true",
                   help="do not connect to straps to read their battery level")
    add_ble_backend_option(p)
    finish_command(p, run, library=False)


def run(args: argparse.Namespace) -> int:
    from biotrainer.core.errors import UsageError
    from biotrainer.sources.ble import load_backend, scan

    if not args.timeout > 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    backends = load_backend(args.ble_backend) if args.ble_backend else None
    found = scan(args.timeout, backends, read_battery=not args.no_battery)
    if args.json:
        print_json([f.to_dict() for f in found])
        return 0
    if not found:
        print(f"No straps found in {args.timeout:g} s (looked for the Heart Rate Service 0x180D). "
              "Is the strap worn (most wake on skin contact) and not connected to another app?")
        return 0
    rows = [("NAME", "ADDRESS", "RSSI", "BATTERY", "PROFILE")]
    for f in found:
        rows.append((f.name or "?", f.address, f"{f.rssi_dbm} dBm" if f.rssi_dbm is not None else "?",
                     f"{f.battery_percent} %" if f.battery_percent is not None else "-", f.profile_id))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0
