#!/usr/bin/env bash
# Build the desktop bundle: a PyInstaller one-folder build dist/biotrainer/ (executable dist/biotrainer/biotrainer,
# CLI and app in one) with the shipped protocols and device profiles, Qt plugins and the package metadata, then
# smoke-test it (--version, protocols, devices, a headless demo session into a temporary library) and add the
# desktop entry and icons. Run from any folder, in an environment where biotrainer is installed (e.g.
# pip install -e ".[bundle]"). Steps and the Windows/macOS notes: docs/install.md.
#
# Usage: packaging/build_bundle.sh [--no-smoke]          (output: dist/biotrainer/, work files: build/pyinstaller/)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python}"
SMOKE=1
[ "${1:-}" = "--no-smoke" ] && SMOKE=0

fail() { printf 'BUNDLE FAILED: %s\n' "$*" >&2; exit 1; }
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"  # bundle this checkout's code

"$PYTHON" -c 'import PyInstaller' 2>/dev/null || fail "PyInstaller is missing: pip install -e \".[bundle]\""
where="$("$PYTHON" -c 'import biotrainer; print(biotrainer.__file__)')"
case "$where" in "$ROOT/"*) ;; *) fail "biotrainer is imported from $where, not from $ROOT" ;; esac
"$PYTHON" -c 'import importlib.metadata as m; m.version("biotrainer")' 2>/dev/null \
    || fail "biotrainer is not installed (its metadata goes into the bundle): pip install -e \".[bundle]\""
"$PYTHON" - "$ROOT/pyproject.toml" <<'EOF' || fail "the installed biotrainer is not this checkout's version: pip install -e \".[bundle]\""
import importlib.metadata, sys
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
wanted = tomllib.load(open(sys.argv[1], "rb"))["project"]["version"]
sys.exit(importlib.metadata.version("biotrainer") != wanted)
EOF

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$ROOT/dist" \
    --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/biotrainer.spec" || fail "PyInstaller failed"
BUNDLE="$ROOT/dist/biotrainer"
[ -x "$BUNDLE/biotrainer" ] || [ -x "$BUNDLE/biotrainer.exe" ] || fail "no executable in $BUNDLE"

if [ "$(uname -s)" = Linux ]; then  # desktop entry and icons, for packagers and ~/.local/share/applications
    mkdir -p "$BUNDLE/share/applications" "$BUNDLE/share/icons/hicolor/256x256/apps" \
        "$BUNDLE/share/icons/hicolor/scalable/apps"
    cp "$ROOT/packaging/biotrainer.desktop" "$BUNDLE/share/applications/"
    cp "$ROOT/packaging/icons/biotrainer.png" "$BUNDLE/share/icons/hicolor/256x256/apps/"
    cp "$ROOT/packaging/icons/biotrainer.svg" "$BUNDLE/share/icons/hicolor/scalable/apps/"
fi
built=$(( $(date +%s) - start ))
echo "built $BUNDLE in ${built} s, $(du -sh "$BUNDLE" | cut -f1)"

[ "$SMOKE" = 1 ] || exit 0
exe="$BUNDLE/biotrainer"
[ -x "$exe" ] || exe="$BUNDLE/biotrainer.exe"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/biotrainer-bundle.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
    cd "$tmp"
    env -u PYTHONPATH -u PYTHONHOME -u VIRTUAL_ENV HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
        XDG_DATA_HOME="$tmp/home/.local/share" MPLCONFIGDIR="$tmp/home/.mpl" QT_QPA_PLATFORM=offscreen \
        PATH=/usr/bin:/bin bash -euo pipefail -c '
        exe="$1"; lib="$2/library"
        version="$("$exe" --version)"; echo "$version"
        [ "$version" = "biotrainer $3" ] || { echo "--version printed $version" >&2; exit 1; }
        n="$("$exe" protocols --json | grep -c "\"origin\": \"shipped\"")"
        [ "$n" -ge 8 ] || { echo "only $n shipped protocols" >&2; exit 1; }
        "$exe" devices | grep -q "^polar_h10 " || { echo "devices lists no polar_h10" >&2; exit 1; }
        "$exe" demo --terminal --speed max --library "$lib" >"$2/demo.out" 2>"$2/demo.err" \
            || { tail -5 "$2/demo.err" >&2; exit 1; }
        id="$(tail -1 "$2/demo.out")"
        "$exe" analyze "$id" --library "$lib" | head -3
        "$exe" export "$id" --format edf --out "$2/edf" --library "$lib"
        "$exe" report "$id" --out "$2/report.html" --library "$lib"
    ' smoke "$exe" "$tmp" "$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("biotrainer"))')"
) || fail "the bundle does not work (smoke test)"
echo "bundle smoke test passed"
