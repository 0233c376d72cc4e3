#!/usr/bin/env bash
# Runs the whole test suite of the build folder given (default: build).
# The GUI suite needs a display and its own D-Bus session bus: when the build has it, the tests
# run under `dbus-run-session -- xvfb-run …` (without those tools, or with no GUI built, plain
# `meson test`; the GUI suite then skips and says so).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
wrap=()
if [ -x "$build/tests/test-gui" ] && command -v dbus-run-session >/dev/null; then
  wrap=(dbus-run-session --)
  if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
    wrap+=(xvfb-run -a -s '-screen 0 1280x800x24')
  fi
fi
"${wrap[@]}" meson test -C "$build" --print-errorlogs
rc=$?
python3 tools/meson-summary.py "$build/meson-logs/testlog.json" || true
exit $rc
