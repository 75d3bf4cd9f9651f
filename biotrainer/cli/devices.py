"""``biotrainer devices``: the strap models biotrainer knows (``devices/*.toml``) and their quirks.

Shipped profiles come with the package; files in the user device folder (``$BIOTRAINER_DEVICES`` or the per-user
config folder's ``devices``) replace a shipped profile of the same file name or add a model.
"""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("devices", help="list known strap models, their capabilities and quirks",
                              description="List the device profiles (devices/*.toml): the shipped ones and those in "
                                          "the user device folder ($BIOTRAINER_DEVICES or the per-user config "
                                          "folder's 'devices'; a file there replaces the shipped one of the same "
                                          "name). Any device advertising the Heart Rate Service works; the "
                                          "profile only adds what the model offers.")
    p.add_argument("--dir", metavar="DIR", help="read only this profile folder (default: the shipped profiles and "
                                                "the user device folder)")
    finish_command(p, run, library=False)


def run(args: argparse.Namespace) -> int:
    from biotrainer.sources.ble.profiles import CAPABILITIES, USER, load_profiles, user_devices_dir

    profiles = load_profiles(args.dir).profiles
    if args.json:
        print_json([p.to_dict() for p in profiles])
        return 0
    for p in profiles:
        caps = ", ".join(c for c in CAPABILITIES if p.has(c))
        print(f"{p.id:20s} {p.model} [{caps}]" + ("  (user)" if p.origin == USER else "")
              + ("" if p.verified_with_hardware else "  (not verified on hardware)"))
        if p.pmd_streams:
            print(f"{'':20s}   PMD streams: {', '.join(p.pmd_streams)}"
                  + (f"; needs ATT MTU >= {p.min_mtu}" if p.min_mtu else ""))
        if p.rr_missing:
            print(f"{'':20s}   RR missing: {p.rr_missing}")
        for note in p.notes:
            print(f"{'':20s}   - {note}")
    if args.dir is None:
        print(f"\nuser device folder: {user_devices_dir()}")
    return 0
