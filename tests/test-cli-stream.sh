#!/bin/sh
# test-cli-stream.sh — `kanvas-cli stream`: trains on a CSV read a batch at a time, saves a
# session whose data are the held-out sample, draws no progress when stderr is not a terminal,
# reports a bad row by file, line and column as `fit` does, and refuses bad options (status 2).
# Usage: test-cli-stream.sh KANVAS_CLI
set -eu
K="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail () { echo "FAIL: $*"; exit 1; }

awk 'BEGIN { srand(5); print "x1,x2,y";
  for (i = 0; i < 5000; i++) { a = 2*rand()-1; b = 2*rand()-1;
    printf "%.6f,%.6f,%.6f\n", a, b, sin(2*a) + b*b } }' > "$T/d.csv"
"$K" stream --csv "$T/d.csv" --batch 250 --epochs 4 --sample 500 --width 2,4,1 \
  -o "$T/s.kanvas" --json > "$T/out" 2> "$T/err" || fail "stream: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "stderr not a terminal, yet: $(cat "$T/err")"
grep -q '"rows" : 5000' "$T/out" || grep -q '"rows": 5000' "$T/out" || fail "rows: $(cat "$T/out")"
grep -q '"steps": 72' "$T/out" || grep -q '"steps" : 72' "$T/out" || fail "steps: $(cat "$T/out")"
rmse=$(sed -n 's/.*"test_rmse": *\([0-9.e+-]*\).*/\1/p' "$T/out")
awk -v r="$rmse" 'BEGIN { exit !(r > 0 && r < 0.1) }' || fail "held-out RMSE $rmse"
"$K" info -i "$T/s.kanvas" > "$T/info" || fail "info"
grep -q '500 train / 0 test rows' "$T/info" || fail "session data: $(cat "$T/info")"
grep -q 'streamed: 5000 rows' "$T/info" || fail "history: $(cat "$T/info")"

# The same error as fit's reader, naming the line.
{ cat "$T/d.csv"; echo "1,2"; } > "$T/bad.csv"
if "$K" stream --csv "$T/bad.csv" -o "$T/no.kanvas" 2> "$T/e1"; then fail "bad row accepted"; fi
"$K" fit --csv "$T/bad.csv" --target y --steps 1 2> "$T/e2" > /dev/null && fail "fit read it"
grep -q 'bad.csv:5002:4: line 5002 has 2 fields, the header has 3' "$T/e1" \
  || fail "message: $(cat "$T/e1")"
cmp -s "$T/e1" "$T/e2" || fail "stream and fit differ: $(cat "$T/e1") / $(cat "$T/e2")"
[ ! -e "$T/no.kanvas" ] || fail "a session was written"

set +e
"$K" stream --csv "$T/d.csv" --batch 0 2> /dev/null; [ $? = 2 ] || fail "--batch 0"
"$K" stream 2> /dev/null; [ $? = 2 ] || fail "no --csv"
"$K" stream --csv "$T/none.csv" 2> /dev/null; [ $? = 1 ] || fail "missing file"
set -e
echo "ok"
