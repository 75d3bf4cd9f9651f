#!/usr/bin/env bash
# Regenerate the example sessions shipped in recordings/. All are SYNTHETIC: made with biotrainer's simulated strap
# (seeded, so the files are reproducible), never with a real person's data.
set -euo pipefail
cd "$(dirname "$0")"
lib="$(mktemp -d)"
trap 'rm -rf "$lib"' EXIT
rec() {  # rec OUTPUT_NAME ARGS...
    local out="$1"; shift
    id=$(biotrainer record --library "$lib" --speed max --quiet --no-metrics "$@" | tail -1)
    cp "$lib/sessions/$id.sqlite" "$out.sqlite"
    chmod 0644 "$out.sqlite"
    echo "$out.sqlite  ($id)"
}
rec synthetic-reset-ecg-acc --device "sim:ecg,acc" --protocol reset --seed 1 --participant demo \
    --title "Synthetic: pre-session reset with ECG and accelerometer"
rec synthetic-resonance-assessment --device "sim:acc,ectopic=0.5" --protocol resonance-assessment --seed 2 \
    --participant P01 --title "Synthetic: resonance assessment (simulated resonance 5.5/min, some ectopic beats)"
rec synthetic-two-straps-extended-exhale --device "client=sim:hr=78" --device "therapist=sim:hr=62" \
    --protocol extended-exhale --seed 3 --participant client=C01 --participant therapist=T01 \
    --title "Synthetic: client and therapist straps, extended exhale"
rec synthetic-faults-baseline --device "sim:ectopic=2,missed=0.5,extra=0.5,drop=0.05,contact=120-135,disconnect=200-210" \
    --protocol resting-baseline --seed 4 --participant P02 \
    --title "Synthetic: resting baseline with ectopic/missed/extra beats, dropped packets, contact loss, a disconnect"
