#!/usr/bin/env bash
# Runs the training worker's stress test under ThreadSanitizer and fails on any TSan report.
#
#   tools/tsan-stress.sh [BUILD_DIR]      (default: build-tsan)
#
# Configures BUILD_DIR with gcc's -Db_sanitize=thread (no GUI: the worker is GLib-only), builds
# the worker suite and runs its "stress" case (200 random start/pause/step/resume/stop/free
# operations while the main context iterates and draws every snapshot) in one process
# (CK_FORK=no). GLib itself is not instrumented; ui/kan-worker.c tells TSan about its GMutex and
# GCond (futex-based, invisible to TSan) with __tsan_acquire/__tsan_release. tools/tsan.supp
# suppresses only the lazy initialisation inside GLib's GRWLock (explained there); TSAN_SUPP=file
# uses another suppressions file instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Db_sanitize=thread -Dgui=disabled -Dtests=true
fi
ninja -C "$build" tests/test-worker

log=$(mktemp)
trap 'rm -f "$log"' EXIT
opts="halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4"
opts="$opts suppressions=$(realpath "${TSAN_SUPP:-tools/tsan.supp}")"

set +e
TSAN_OPTIONS="$opts" CK_FORK=no CK_RUN_CASE=${CK_RUN_CASE:-stress} OPENBLAS_NUM_THREADS=1 \
  G_DEBUG=fatal-criticals "$build/tests/test-worker" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

reports=$(grep -c '^WARNING: ThreadSanitizer' "$log" || true)
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
  echo "tsan-stress: FAILED (exit $rc, $reports ThreadSanitizer reports)" >&2
  exit 1
fi
echo "tsan-stress: OK (no ThreadSanitizer report)"
