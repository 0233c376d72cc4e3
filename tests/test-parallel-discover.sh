#!/bin/bash
# test-parallel-discover.sh — docs/parallel-discover.sh runs discover on two small CSV files
# with GNU Parallel on two jobs: one JSON per file with the right formula, a summary line per
# file (a file discover refuses is listed as failed, the others still run), and the job log.
#
# Usage: test-parallel-discover.sh /path/to/kanvas-cli /path/to/docs/parallel-discover.sh
# Exits 77 (Meson: SKIP) when GNU Parallel is not installed.

set -u
export OPENBLAS_NUM_THREADS=1
command -v parallel >/dev/null 2>&1 || { echo "GNU Parallel is not installed"; exit 77; }
SCRIPT=${2:?usage: $(basename "$0") /path/to/kanvas-cli /path/to/parallel-discover.sh}
case $SCRIPT in /*) ;; *) SCRIPT=$PWD/$SCRIPT ;; esac

. "$(dirname "$0")/tap.sh"
tap_begin parallel-discover "$@"

# y = a·b and y = x² + 1 on 200 rows each (deterministic), and a file without a y column.
awk 'BEGIN { print "a,b,y"; for (i = 0; i < 200; i++) { a = 1 + (i % 20) / 19; b = 1 + int(i / 20) / 9;
             printf "%.17g,%.17g,%.17g\n", a, b, a * b } }' >prod.csv
awk 'BEGIN { print "x,y"; for (i = 0; i < 200; i++) { x = -1 + 2 * i / 199;
             printf "%.17g,%.17g\n", x, x * x + 1 } }' >"sq one.csv"
printf 'a,b\n1,2\n2,3\n' >bad.csv

KANVAS_CLI=$CLI "$SCRIPT" -j2 out prod.csv "sq one.csv" bad.csv >stdout.txt 2>stderr.txt
rc=$?
if [ "$rc" -eq 0 ]; then pass "the script exits 0 with one file refused"
else fail "the script exits 0 with one file refused" "exit $rc" "$(head -c 400 stderr.txt)"; fi

check_json () {  # FILE FORMULA-PYTHON-CHECK
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1" 2>py.txt; then
    pass "$1 holds the formula"
  else fail "$1 holds the formula" "$(head -c 400 py.txt)" "$(head -c 400 "$1")"; fi
}
check_json out/prod.json 'assert d["formula"] in ("a*b", "b*a"), d["formula"]; assert d["test_rmse"] < 1e-6'
check_json "out/sq one.json" 'assert d["formula"] in ("x^2 + 1", "1 + x^2"), d["formula"]'

if [ "$(wc -l <out/summary.tsv)" -eq 4 ] \
   && grep -q $'^prod.csv\tok\t' out/summary.tsv && grep -q $'^sq one.csv\tok\t' out/summary.tsv \
   && grep -q $'^bad.csv\tfailed' out/summary.tsv && grep -q "no column named 'y'" out/bad.log; then
  pass "summary.tsv has one line per file, in order, the refused one as failed"
else fail "summary.tsv has one line per file, in order, the refused one as failed" \
          "$(cat out/summary.tsv)"; fi

# GNU Parallel's job log: three jobs, two succeeded.
if [ "$(awk -F'\t' 'NR > 1 && $7 == 0' out/joblog.tsv | wc -l)" -eq 2 ] \
   && [ "$(awk 'NR > 1' out/joblog.tsv | wc -l)" -eq 3 ]; then
  pass "the job log lists three jobs, two succeeded"
else fail "the job log lists three jobs, two succeeded" "$(cat out/joblog.tsv)"; fi

tap_end
