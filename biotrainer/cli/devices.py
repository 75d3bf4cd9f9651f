"""``biotrainer devices``: the strap models biotrainer knows (``devices/*.toml``) and their quirks."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("devices", help="list known strap models, their capabilities and quirks",
                              description="List the device profiles in devices/*.toml. Any device advertising the "
                                          "Heart Rate Service works; the profile only adds what the model offers.")
    p.add_argument("--dir", metavar="DIR", help="profile folder (default: $BIOTRAINER_DEVICES_DIR or devices/)")
    finish_command(p, run, library=False)


def run(args: argparse.Namespace) -> int:
    from biotrainer.sources.ble.profiles import CAPABILITIES, load_profiles

    profiles = load_profiles(args.dir).profiles
    if args.json:
        print_json([p.to_dict() for p in profiles])
        return 0
    for p in profiles:
        caps = ", ".join(c for c in CAPABILITIES if p.has(c))
        print(f"{p.id:20s} {p.model} [{caps}]" + ("" if p.verified_with_hardware else "  (not verified on hardware)"))
        if p.pmd_streams:
            print(f"{'':20s}   PMD streams: {', '.join(p.pmd_streams)}"
                  + (f"; needs ATT MTU >= {p.min_mtu}" if p.min_mtu else ""))
        if p.rr_missing:
            print(f"{'':20s}   RR missing: {p.rr_missing}")
        for note in p.notes:
            print(f"{'':20s}   - {note}")
    return 0
