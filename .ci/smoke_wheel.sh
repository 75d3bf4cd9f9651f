#!/usr/bin/env bash
# Smoke test of biotrainer as a user installs it: build the wheel from a clean copy of the sources, install it into
# a fresh virtual environment in a temporary folder OUTSIDE the checkout, and from another folder (no PYTHONPATH,
# empty user folders) run --version, protocols, devices, a --speed max reset recorded into a temporary library,
# analysed, and exported as CSV, BIDS and EDF+ (each export opened and checked). Fails loudly on the first failure.
#
# Usage: .ci/smoke_wheel.sh            (PYTHON=python3.X to choose the interpreter; KEEP=1 keeps the temp folder)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/biotrainer-smoke.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "smoke folder kept: $WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi

step() { printf '\n--> smoke: %s\n' "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }
case "$WORK" in "$ROOT"/*) fail "temporary folder $WORK is inside the checkout" ;; esac

step "build the wheel from a clean copy of the sources"
mkdir "$WORK/src"
cp -R "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/biotrainer" "$WORK/src/"
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} +
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$WORK/src" || fail "wheel build failed"
WHEEL="$(ls "$WORK"/dist/biotrainer-*.whl)" || fail "no wheel built"
VERSION="$(basename "$WHEEL" | cut -d- -f2)"
echo "$(basename "$WHEEL")"

step "install it into a fresh virtual environment outside the checkout"
"$PYTHON" -m venv "$WORK/venv" || fail "venv creation failed"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip || fail "pip upgrade failed"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL" || fail "installing the wheel failed"

# A user's shell: another folder, no PYTHONPATH, no library or user folders of this machine.
mkdir -p "$WORK/elsewhere" "$WORK/home"
cd "$WORK/elsewhere"
unset PYTHONPATH BIOTRAINER_LIBRARY BIOTRAINER_PROTOCOLS BIOTRAINER_DEVICES
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share" \
    XDG_CACHE_HOME="$WORK/home/.cache" MPLCONFIGDIR="$WORK/home/.mpl" QT_QPA_PLATFORM=offscreen
BT="$WORK/venv/bin/biotrainer"
PY="$WORK/venv/bin/python"
LIB="$WORK/library"
[ -x "$BT" ] || fail "the wheel installed no biotrainer command"

step "the installed package is the one imported (not the checkout)"
where="$("$PY" -c 'import biotrainer; print(biotrainer.__file__)')"
case "$where" in "$WORK/venv/"*) echo "$where" ;; *) fail "biotrainer imported from $where" ;; esac

step "biotrainer --version"
got="$("$BT" --version)" || fail "--version failed"
[ "$got" = "biotrainer $VERSION" ] || fail "--version printed '$got', expected 'biotrainer $VERSION'"
echo "$got"

step "biotrainer protocols: every shipped protocol listed"
expected="$(cd "$ROOT/biotrainer/protocols/shipped" && ls -- *.toml | sed 's/\.toml$//' | sort | tr '\n' ' ')"
"$BT" protocols --json >"$WORK/protocols.json" || fail "protocols failed"
listed="$("$PY" -c 'import json, sys; print(" ".join(sorted(p["name"] for p in json.load(open(sys.argv[1])) if p["origin"] == "shipped")), end=" ")' "$WORK/protocols.json")"
[ "$listed" = "$expected" ] || fail "protocols listed '$listed', expected '$expected'"
echo "$listed"

step "biotrainer devices: every shipped device profile listed"
expected="$(cd "$ROOT/biotrainer/sources/ble/devices" && ls -- *.toml | sed 's/\.toml$//' | sort | tr '\n' ' ')"
"$BT" devices --json >"$WORK/devices.json" || fail "devices failed"
listed="$("$PY" -c 'import json, sys; print(" ".join(sorted(p["id"] for p in json.load(open(sys.argv[1])))), end=" ")' "$WORK/devices.json")"
[ "$listed" = "$expected" ] || fail "devices listed '$listed', expected '$expected'"
"$BT" devices >/dev/null || fail "devices (text) failed"
echo "$listed"

step "record a --speed max reset with the simulated strap"
"$BT" record --device sim --protocol reset --speed max --seed 3 --library "$LIB" --json \
    >"$WORK/record.json" 2>"$WORK/record.log" || { tail -5 "$WORK/record.log" >&2; fail "record failed"; }
ID="$("$PY" - "$WORK/record.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["duration_s"] == 180.0 and r["end_reason"] == "protocol finished", r
assert 150 <= r["beats"] <= 260, r["beats"]  # 3 min at a resting heart rate
print(r["id"])
EOF
)" || fail "the recorded session is not a finished 3-minute reset"
echo "session $ID"

step "analyze it"
"$BT" analyze "$ID" --library "$LIB" --json >"$WORK/analyze.json" || fail "analyze failed"
"$PY" - "$WORK/analyze.json" <<'EOF' || fail "analysis results are not plausible"
import json, sys
a = json.load(open(sys.argv[1]))
assert 40 <= a["hrv"]["hr_bpm"] <= 120, a["hrv"]
assert [p["name"] for p in a["phases"]] == ["settle", "paced", "door"], a["phases"]
paced = a["phases"][1]
assert paced["pacer_rate_per_min"] == 6.0 and abs(paced["breathing_rate_per_min"] - 6.0) < 1.0, paced
print(f"HR {a['hrv']['hr_bpm']:.1f} bpm, paced breathing {paced['breathing_rate_per_min']:.2f}/min at pacer 6/min")
EOF

step "export as CSV, BIDS and EDF+ and open each"
for fmt in csv bids edf; do
    "$BT" export "$ID" --format "$fmt" --out "$WORK/export-$fmt" --library "$LIB" --json >"$WORK/export-$fmt.json" \
        || fail "export --format $fmt failed"
done
"$PY" - "$WORK" <<'EOF' || fail "an export does not open or holds the wrong data"
import csv, json, sys
from pathlib import Path

import pyedflib

work = Path(sys.argv[1])
for fmt in ("csv", "bids", "edf"):
    listed = json.load(open(work / f"export-{fmt}.json"))["files"]
    assert listed and all(Path(f).is_file() for f in listed), (fmt, listed)
beats = next((work / "export-csv").rglob("*_beats.csv"))
rows = [r for r in csv.reader(line for line in open(beats, newline="") if not line.startswith("#"))]
assert 150 <= len(rows) - 1 <= 260, len(rows)
description = json.load(open(work / "export-bids" / "dataset_description.json"))
assert description["BIDSVersion"] and list((work / "export-bids").rglob("sub-*")), description
(edf,) = (work / "export-edf").rglob("*.edf")
with pyedflib.EdfReader(str(edf)) as reader:
    # 180 s of data, rounded up to whole data records
    assert 180 <= reader.getFileDuration() <= 185 and reader.signals_in_file >= 1, reader.getFileDuration()
    labels = reader.getSignalLabels()
print(f"CSV {len(rows) - 1} beats; BIDS {description['BIDSVersion']}; EDF+ {reader.getFileDuration()} s, {labels}")
EOF

step "wheel smoke test passed"
