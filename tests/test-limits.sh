#!/bin/bash
# test-limits.sh — large requests stay within their limits: the largest grid the options admit,
# the training memory budget under `ulimit -v`, and Ctrl-C or a time limit stopping fit and
# discover within a second.
#
# Usage: test-limits.sh /path/to/kanvas-cli
# Prints one line per check ("ok - …" or "not ok - …") and exits non-zero if any check failed.
# The budget checks run at KANVAS_MEMORY_BUDGET=256M so that they take seconds; with
# KANVAS_TEST_FULL_BUDGET=1 they also run at the default 4 GiB (minutes, and 4 GiB of memory).

set -u
# OpenBLAS's own threads retry a failed buffer allocation forever: none here.
export OPENBLAS_NUM_THREADS=1

. "$(dirname "$0")/tap.sh"
tap_begin limits-test "$@"

now () { date +%s.%N; }
elapsed () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# less A B — A < B for decimals.
less () { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# AddressSanitizer reserves terabytes of address space for its shadow: no `ulimit -v` then.
if ldd "$CLI" 2>/dev/null | grep -q libasan; then
  sanitized=1
  aslimit () { :; }
  within=""
else
  sanitized=0
  aslimit () { ulimit -v "$1"; }
  within=" within 2 GB of address space"
fi

# --- the largest grid ----------------------------------------------------------------------

# The maximum the options admit, as the help states it. Two edges keep the session files (and
# the seconds spent writing and reading 200000 coefficients) small; the fits are per edge.
G=$("$CLI" fit --help | sed -n 's/.*--grid=G .*1 … \([0-9]*\).*/\1/p')
G=${G:-100000}
t0=$(now)
( aslimit 2000000; timeout 120 "$CLI" fit --formula 'sin(x1)*x2' --train 1000 --test 200 \
    --width 2,1 --grid "$G" --steps 1 -o big.kanvas > out.txt 2> err.txt )
rc=$? s=$(elapsed "$t0")
if [ $rc -eq 0 ] && [ -s big.kanvas ] && less "$s" 60; then
  pass "fit --grid $G --steps 1$within: $s s"
else fail "fit --grid $G --steps 1$within" "exit $rc after $s s" "$(head -c 300 err.txt)"; fi

"$CLI" fit --formula 'sin(x1)*x2' --train 1000 --test 200 --width 2,1 --steps 3 -o coarse.kanvas \
  > /dev/null 2>&1
for from in coarse big; do
  t0=$(now)
  ( aslimit 2000000; timeout 120 "$CLI" refine -i $from.kanvas --grid "$G" -o fine.kanvas \
      > out.txt 2> err.txt )
  rc=$? s=$(elapsed "$t0")
  if [ $rc -eq 0 ] && grep -q "after (G=$G)" out.txt && less "$s" 60; then
    pass "refine --grid $G from the $from grid$within: $s s"
  else fail "refine --grid $G from the $from grid" "exit $rc after $s s" "$(head -c 300 err.txt)"; fi
done
"$CLI" fit --formula x1 --grid $((G + 1)) --steps 0 > /dev/null 2> err.txt
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--grid" err.txt; then pass "--grid $((G + 1)) is a usage error"
else fail "--grid $((G + 1)) is a usage error" "exit $rc" "$(head -c 300 err.txt)"; fi

# --- the memory budget ---------------------------------------------------------------------

# The smallest address space (KiB, to 1 MiB) in which "$@" exits 0: the process's baseline.
baseline () {
  local lo=16384 hi=4194304 mid
  while [ $((hi - lo)) -gt 1024 ]; do
    mid=$(((lo + hi) / 2))
    if ( ulimit -v $mid; timeout 20 "$@" > /dev/null 2>&1 ) 2> /dev/null; then hi=$mid
    else lo=$mid; fi
  done
  echo $hi
}

# budget_check LABEL BUDGET_BYTES ROWS HI: finds the widest 2,W,1 (W < HI) the budget admits for
# ROWS train and ROWS/2 test rows, runs it for one step in baseline + budget + 2% of address
# space, and checks that the next width is refused with KAN_ERROR_BUDGET's message.
budget_check () {
  local label=$1 budget=$2 rows=$3 lo=1 hi=$4 mid base limit rc s t0
  local data=(--formula 'x1*x2' --train "$rows" --test $((rows / 2)))
  refused () {
    KANVAS_MEMORY_BUDGET=$budget "$CLI" fit "${data[@]}" --width "2,$1,1" --steps 0 \
      > /dev/null 2> refused.txt
    [ $? -eq 1 ] && grep -q 'GiB budget' refused.txt
  }
  if refused 1 || ! refused $hi; then
    fail "$label: the budget admits width 2,1,1 and refuses 2,$hi,1" "$(head -c 300 refused.txt)"
    return
  fi
  while [ $((hi - lo)) -gt 1 ]; do
    mid=$(((lo + hi) / 2))
    if refused $mid; then hi=$mid; else lo=$mid; fi
  done
  base=$(baseline "$CLI" fit "${data[@]}" --width 2,1,1 --steps 1)
  limit=$((base + budget / 1024 + budget / 1024 / 50))
  t0=$(now)
  ( ulimit -v $limit; KANVAS_MEMORY_BUDGET=$budget timeout 300 "$CLI" fit "${data[@]}" \
      --width "2,$lo,1" --steps 1 -o wide.kanvas > out.txt 2> err.txt )
  rc=$? s=$(elapsed "$t0")
  if [ $rc -eq 0 ] && [ -s wide.kanvas ]; then
    pass "$label: the widest admitted width 2,$lo,1 trains in baseline $((base / 1024)) MiB + budget + 2% ($s s)"
  else
    fail "$label: the widest admitted width 2,$lo,1 trains in baseline $((base / 1024)) MiB + budget + 2%" \
      "exit $rc (134: an allocation failed) after $s s" "$(head -c 300 err.txt)"
  fi
  if refused $((lo + 1)); then pass "$label: width 2,$((lo + 1)),1 is refused: $(cat refused.txt)"
  else fail "$label: width 2,$((lo + 1)),1 is refused" "$(head -c 300 refused.txt)"; fi
}
if [ $sanitized = 1 ]; then
  skip "the widest width a 256 MiB budget admits trains within it" "ulimit -v under ASan"
else
  budget_check "256 MiB budget" 268435456 40 65536
fi
if [ "${KANVAS_TEST_FULL_BUDGET:-0}" = 1 ] && [ $sanitized = 0 ]; then
  budget_check "4 GiB budget" 4294967296 40 524288
fi

# --- Ctrl-C and time limits ----------------------------------------------------------------

# interrupt SECONDS ARGS… — starts kanvas-cli ARGS, sends SIGINT after SECONDS; $rc is its exit
# status and $s the seconds it took to exit after the signal. A background job of a script
# ignores SIGINT unless the program installs its own handler: these must.
interrupt () {
  local after=$1 pid t0
  shift
  "$CLI" "$@" > out.txt 2> err.txt &
  pid=$!
  sleep "$after"
  t0=$(now)
  kill -INT $pid
  wait $pid
  rc=$? s=$(elapsed "$t0")
}

# An L-BFGS step here takes seconds (50000 rows, 30 edges, 25 evaluations).
rm -f int.kanvas
interrupt 1 fit --formula 'sin(x1)*x2' --train 50000 --test 1000 --width 2,10,1 --steps 1000 \
  -o int.kanvas
if [ $rc -eq 130 ] && less "$s" 3 && grep -q 'stopped at step' err.txt \
   && "$CLI" info -i int.kanvas > info.txt 2>&1 && grep -q 'stopped=' info.txt; then
  pass "Ctrl-C stops fit in $s s (exit 130) and saves a session that loads ($(grep -o 'stopped at step [0-9]*' err.txt))"
else fail "Ctrl-C stops fit within a second or so" "exit $rc after $s s" "$(head -c 300 err.txt)"; fi

# A 2,300,1 candidate sparsifies for half a minute or more; 2,1 takes under a second.
slow=(discover --formula 'sin(x1)*x2+x1' --train 1000 --test 200 --seeds 1)
t0=$(now)
"$CLI" "${slow[@]}" --widths '2,1;2,300,1' --time-limit 2 > out.txt 2> err.txt
rc=$? s=$(elapsed "$t0")
if [ $rc -eq 0 ] && less "$s" 5 && [ -s out.txt ] && grep -q 'stopped after .* (time limit)' err.txt; then
  pass "discover --time-limit 2 stops in $s s with the best formula so far: $(head -1 out.txt)"
else fail "discover --time-limit 2 stops with the best formula so far" "exit $rc after $s s" "$(cat out.txt err.txt | head -c 300)"; fi
t0=$(now)
"$CLI" "${slow[@]}" --widths '2,300,1' --time-limit 2 > out.txt 2> err.txt
rc=$? s=$(elapsed "$t0")
if [ $rc -eq 1 ] && less "$s" 5 && grep -q 'no formula within its time limit of 2 s' err.txt; then
  pass "discover --time-limit 2 without a formula yet says so in $s s (exit 1)"
else fail "discover --time-limit 2 without a formula yet says so" "exit $rc after $s s" "$(cat out.txt err.txt | head -c 300)"; fi

rm -f disc.kanvas
interrupt 2 "${slow[@]}" --widths '2,1;2,300,1' -o disc.kanvas
if [ $rc -eq 130 ] && less "$s" 2 && [ -s out.txt ] && grep -q 'stopped after .* (Ctrl-C)' err.txt \
   && "$CLI" formula -i disc.kanvas > /dev/null 2>&1; then
  pass "Ctrl-C stops discover in $s s with the best formula so far, saved (exit 130)"
else fail "Ctrl-C stops discover with the best formula so far" "exit $rc after $s s" "$(cat out.txt err.txt | head -c 300)"; fi
interrupt 1 "${slow[@]}" --widths '2,300,1'
if [ $rc -eq 130 ] && less "$s" 2 && grep -q 'stopped before it found a formula' err.txt; then
  pass "Ctrl-C stops discover in $s s without a formula yet and says so (exit 130)"
else fail "Ctrl-C stops discover without a formula yet and says so" "exit $rc after $s s" "$(cat out.txt err.txt | head -c 300)"; fi

tap_end
