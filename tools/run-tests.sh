#!/usr/bin/env bash
# Runs the whole test suite of the build folder given (default: build).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
meson test -C "$build" --print-errorlogs
rc=$?
python3 tools/meson-summary.py "$build/meson-logs/testlog.json" || true
exit $rc
