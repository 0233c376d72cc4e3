#!/bin/sh
# fuzz.sh — build the libFuzzer targets of tests/fuzz/ with clang and run each for a while.
#
#   tools/fuzz.sh [-b BUILD_DIR] [-t SECONDS] [TARGET…]  (TARGET: csv, formula, session, cli-args,
#                                                         session-struct)
#
# The core is compiled with -fsanitize=fuzzer-no-link,address,undefined and linked into one
# executable per target (BUILD_DIR, default build-fuzz/). Each target then runs for SECONDS
# (default 60) on a scratch corpus seeded from tests/fuzz/corpus-TARGET/, which is never
# written to. A crash leaves its input as BUILD_DIR/crash-TARGET-* and fails the script.
# cli-args also links kanvas-cli's own files (app/, with main renamed) and the renderer (ui/),
# with the core functions where work or files begin wrapped (see tests/fuzz/fuzz-cli-args.c).
# session-struct edits numbers, sizes and strings of valid sessions, then uses what loads
# (see tests/fuzz/fuzz-session-struct.c).
# Exits 77 (the test harness's "skipped") when clang or the libFuzzer runtime
# (libclang-rt-14-dev) is missing.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/build-fuzz"
seconds=60
while getopts b:t: opt; do
  case $opt in
    b) build=$OPTARG ;;
    t) seconds=$OPTARG ;;
    *) echo "usage: $0 [-b BUILD_DIR] [-t SECONDS] [csv|formula|session|cli-args|session-struct…]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=${*:-csv formula session cli-args session-struct}

CC=${CC_FUZZ:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "SKIP: $CC is not installed (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$build/obj"
probe="$build/probe.c"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput (const uint8_t *d, size_t n) { return 0; }\n' > "$probe"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe" -o "$build/probe" 2>/dev/null; then
  echo "SKIP: $CC cannot link libFuzzer programs (apt-get install libclang-rt-14-dev)"
  exit 77
fi

pkgs="glib-2.0 gio-2.0 json-glib-1.0 gsl openblas"
cflags="-std=c11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE \
 -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
 -DG_LOG_USE_STRUCTURED=1 -fno-math-errno -I$src/core $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm -lpthread"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# Objects of the core, rebuilt when their source or any core header is newer.
newest_header=$(ls -t "$src"/core/*.h | head -n 1)
objs=""
jobs=$(nproc 2>/dev/null || echo 2)
running=0
for c in "$src"/core/kan-*.c; do
  o="$build/obj/$(basename "$c" .c).o"
  if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
    rm -f "$o"
    # The numeric kernels (blocks of rows, written for the vectoriser) take clang minutes to
    # optimise with the sanitizers on, and no fuzz target is about their speed: -O0 there.
    opt=""
    case "$(basename "$c")" in kan-forward.c|kan-backward.c) opt="-O0" ;; esac
    # shellcheck disable=SC2086
    "$CC" $cflags $opt $san -fsanitize=fuzzer-no-link -c "$c" -o "$o" &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
      wait
      running=0
    fi
  fi
  objs="$objs $o"
done
wait
for o in $objs; do
  [ -e "$o" ] || { echo "fuzz.sh: compiling $(basename "$o" .o).c failed" >&2; exit 1; }
done

# kanvas-cli's files and the renderer, for cli-args only (cairo: the plot command).
cli_objs=""
cli_flags="-I$src/app -I$src/ui $(pkg-config --cflags cairo)"
cli_libs="$(pkg-config --libs cairo)"
cli_wraps=""
for w in kan_session_load kan_session_save kan_dataset_from_csv kan_dataset_from_formula \
         kan_model_new kan_trainer_new kan_model_refine kan_discover kan_render_to_file \
         kan_render_edge_to_file; do
  cli_wraps="$cli_wraps -Wl,--wrap=$w"
done
case " $targets " in *" cli-args "*)
  newest_cli=$(ls -t "$src"/core/*.h "$src"/app/*.h "$src"/ui/kan-*.h | head -n 1)
  for c in "$src"/app/kanvas-cli.c "$src"/app/cli-*.c "$src"/ui/kan-snapshot.c "$src"/ui/kan-render.c; do
    o="$build/obj/cli-$(basename "$c" .c).o"
    if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ "$newest_cli" -nt "$o" ]; then
      rm -f "$o"
      # shellcheck disable=SC2086
      "$CC" $cflags $cli_flags $san -fsanitize=fuzzer-no-link -Dmain=kanvas_cli_main \
        -DKANVAS_VERSION='"fuzz"' -c "$c" -o "$o" || { echo "fuzz.sh: compiling $c failed" >&2; exit 1; }
    fi
    cli_objs="$cli_objs $o"
  done ;;
esac

status=0
for t in $targets; do
  exe="$build/fuzz-$t"
  seeds="$src/tests/fuzz/corpus-$t"
  work="$build/corpus-$t"
  extra=""
  [ "$t" = cli-args ] && extra="$cli_flags $cli_objs $cli_libs $cli_wraps"
  # shellcheck disable=SC2086
  "$CC" $cflags $san -fsanitize=fuzzer "$src/tests/fuzz/fuzz-$t.c" $objs $extra $libs -o "$exe"
  mkdir -p "$work"
  echo "fuzz-$t: $seconds s on $seeds"
  # New inputs go to the scratch corpus (the first directory); the seeds stay as they are.
  # -timeout: an input that takes this long is reported as a failure (a hang).
  if OPENBLAS_NUM_THREADS=1 G_DEBUG=fatal-criticals \
     ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
            ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
            -artifact_prefix="$build/crash-$t-" "$work" "$seeds" > "$build/fuzz-$t.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$build/fuzz-$t.log" | tail -n 2
  else
    echo "fuzz-$t FAILED (log: $build/fuzz-$t.log):"
    tail -n 40 "$build/fuzz-$t.log"
    status=1
  fi
done
exit $status
