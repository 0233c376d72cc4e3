#!/bin/bash
# test-cli.sh — smoke tests of kanvas-cli: exit codes, outputs and files.
#
# Usage: test-cli.sh /path/to/kanvas-cli
# Prints one line per check ("ok - …" or "not ok - …") and exits non-zero if any check failed.
# Works in a temporary folder that it removes.

set -u

CLI=${1:?usage: test-cli.sh /path/to/kanvas-cli}
case $CLI in /*) ;; *) CLI=$PWD/$CLI ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kanvas-cli-test.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

n=0
failed=0

pass () { n=$((n + 1)); echo "ok $n - $1"; }
fail () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# check DESCRIPTION COMMAND… — passes if the command exits 0.
check () {
  local what=$1; shift
  if "$@" >check.txt 2>&1; then pass "$what"
  else fail "$what" "exit $?: $*" "$(head -c 300 out.txt)" "$(head -c 300 err.txt)"; fi
  rm -f check.txt
}

# run … — runs kanvas-cli, output in out.txt and err.txt, exit status in $rc.
run () { "$CLI" "$@" >out.txt 2>err.txt; rc=$?; }

# expect_fail DESCRIPTION ARGS… — kanvas-cli must exit non-zero, say "kanvas-cli: …" on
# stderr in one line, and leave no out.kanvas behind.
expect_fail () {
  local what=$1; shift
  rm -f out.kanvas
  run "$@" -o out.kanvas
  local lines
  lines=$(grep -c '^kanvas-cli: ' err.txt)
  if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -e out.kanvas ] \
     && [ -z "$(ls -A | grep -v -e '^out.txt$' -e '^err.txt$' -e '\.kanvas$' -e '\.csv$')" ]; then
    pass "$what (exit $rc: $(grep '^kanvas-cli: ' err.txt | head -c 150))"
  else
    fail "$what" "exit $rc, $lines error line(s), out.kanvas $( [ -e out.kanvas ] && echo exists || echo absent)" \
         "$(head -c 600 err.txt)"
  fi
}

json_check () {  # json_check DESCRIPTION PYTHON-ASSERTIONS < JSON
  local what=$1 code=$2
  if python3 -c "import json,sys; d=json.load(sys.stdin); $code" <out.txt 2>py.txt; then pass "$what"
  else fail "$what" "$(head -c 400 py.txt)" "$(head -c 400 out.txt)"; fi
  rm -f py.txt
}

# --- help -----------------------------------------------------------------------------------

run --help
if [ "$rc" -eq 0 ] && grep -q 'fit' out.txt && grep -q 'bench' out.txt; then pass "--help lists the commands"
else fail "--help lists the commands" "exit $rc"; fi

for spec in "fit:--formula:--width:--opt:--steps:--json" "refine:--grid:--input" \
            "eval:--points:--csv" "info:--input" "bench:--quick:--json"; do
  IFS=: read -r cmd opts <<<"$spec"
  run "$cmd" --help
  missing=""
  for o in ${opts//:/ }; do grep -q -- "$o" out.txt || missing="$missing $o"; done
  if [ "$rc" -eq 0 ] && [ -z "$missing" ]; then pass "$cmd --help"
  else fail "$cmd --help" "exit $rc, missing:$missing"; fi
done

run frobnicate
if [ "$rc" -eq 2 ] && grep -q "unknown command" err.txt; then pass "unknown command exits 2"
else fail "unknown command exits 2" "exit $rc"; fi

# --- fit ------------------------------------------------------------------------------------

run fit --steps 5 -o a.kanvas
if [ "$rc" -eq 0 ] && [ -s a.kanvas ] && grep -q 'step 5/5: train RMSE' out.txt \
   && grep -q 'built-in demo' err.txt; then pass "fit --steps 5 -o a.kanvas (demo)"
else fail "fit --steps 5 -o a.kanvas (demo)" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi

run fit --steps 5 --json
json_check "fit --json prints JSON with 5 steps" \
  'assert d["steps"]==5; assert d["train_rmse"] < 0.1; assert d["evals"] > 0;
assert len(d["losses"]) == 6 and d["losses"][0]["step"] == 0 and d["losses"][-1]["step"] == 5'

if grep -q $'\r' out.txt err.txt; then fail "no progress bar when piped"
else pass "no progress bar when piped"; fi

run fit --steps 5 -o a2.kanvas
if cmp -s a.kanvas a2.kanvas; then pass "same seed twice gives byte-identical sessions"
else fail "same seed twice gives byte-identical sessions"; fi

run fit -i a.kanvas --steps 3 -o b.kanvas
check "fit -i a.kanvas --steps 3 -o b.kanvas" test "$rc" -eq 0 -a -s b.kanvas
run info -i b.kanvas --json
json_check "continued session has 8 steps done and two fits in its history" \
  'assert d["steps_done"]==8, d["steps_done"]; assert [h["op"] for h in d["history"]]==["new","fit","fit"]'
run info -i b.kanvas
check "info prints the model and history" grep -q 'width 2,5,1' out.txt

run refine -i a.kanvas --grid 10 -o c.kanvas
if [ "$rc" -eq 0 ] && [ -s c.kanvas ] && grep -q 'after (G=10)' out.txt; then pass "refine --grid 10"
else fail "refine --grid 10" "exit $rc" "$(head -c 600 err.txt)"; fi
run info -i c.kanvas --json
json_check "refined session has G=10 and a refine entry" \
  'assert d["grid"]==10; assert d["history"][-1]["op"]=="refine"'

run eval -i c.kanvas
if [ "$rc" -eq 0 ] && grep -q 'train RMSE .*test RMSE' out.txt; then pass "eval prints RMSE"
else fail "eval prints RMSE" "exit $rc" "$(head -c 600 err.txt)"; fi

run eval -i a.kanvas --json
json_check "eval --json" 'assert d["train_rmse"] < 0.1 and d["n_test"] == 1000'

run eval -i a.kanvas --points 0.5,0.2:0,0
if [ "$rc" -eq 0 ] && [ "$(wc -l <out.txt)" -eq 2 ] \
   && python3 -c "import math,sys
v=[float(l) for l in open('out.txt')]
ref=[math.exp(math.sin(math.pi*0.5)+0.04), 1.0]
assert all(abs(a-b) < 0.2 for a,b in zip(v,ref)), v"; then pass "eval --points prints one output per line"
else fail "eval --points prints one output per line" "$(cat out.txt err.txt | head -c 400)"; fi

run eval -i a.kanvas --formula 'exp(sin(pi*x1)+x2^2)' --train 10 --test 200 --data-seed 7
check "eval on fresh formula data" grep -q '10 train / 200 test rows' out.txt

for opt in adam lm; do
  run fit --opt "$opt" --steps 5 --json
  json_check "fit --opt $opt" "assert d['steps']==5 and d['optimizer']=='$opt'"
done

run fit --formula 'x1*x2' --range -2,2 --train 200 --test 100 --width 2,3,1 --grid 4 --steps 3 --json
json_check "fit with formula, range and model options" 'assert d["steps"]==3'

# Ctrl-C: the run stops after the current step, keeps what it has and exits 130.
rm -f int.kanvas
"$CLI" fit --grid 50 --steps 1000000 -o int.kanvas >int.out 2>int.err &
pid=$!
sleep 1
kill -INT "$pid"
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$pid" 2>/dev/null
wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && [ -s int.kanvas ] && grep -q 'stopped at step' int.err; then
  pass "SIGINT stops the fit and saves the session ($(grep -o 'stopped at step [0-9]*' int.err))"
else fail "SIGINT stops the fit and saves the session" "exit $rc" "$(head -c 300 int.err)"; fi
rm -f int.out int.err

# --- CSV ------------------------------------------------------------------------------------

awk 'BEGIN { srand(3); print "a,b,y"; for (i = 0; i < 200; i++) { a = 2*rand()-1; b = 2*rand()-1; printf "%.6f,%.6f,%.6f\n", a, b, a*b } }' >prod.csv
run fit --csv prod.csv --target y --steps 5 -o csv.kanvas
if [ "$rc" -eq 0 ] && [ -s csv.kanvas ]; then pass "fit on a CSV file (y = a*b)"
else fail "fit on a CSV file (y = a*b)" "exit $rc" "$(head -c 600 err.txt)"; fi
run eval -i csv.kanvas --json
json_check "eval of the CSV session" 'assert d["n_train"] + d["n_test"] == 200 and d["train_rmse"] < 0.2'

# --- errors: non-zero exit, one clear line, no output file -----------------------------------

printf 'a,b,y\n1,2,3\n4,5\n6,7,8\n' >ragged.csv
head -c 2000 a.kanvas >truncated.kanvas

expect_fail "unbalanced formula"      fit --formula 'sin(x1'
expect_fail "unknown function"        fit --formula 'foo(x1)'
expect_fail "missing CSV file"        fit --csv missing.csv --target y
expect_fail "ragged CSV row"          fit --csv ragged.csv --target y
expect_fail "missing session"         fit -i nonexistent.kanvas
expect_fail "truncated session"       fit -i truncated.kanvas
expect_fail "bad width"               fit --width 2,x,1
expect_fail "negative steps"          fit --steps -3
expect_fail "non-numeric steps"       fit --steps abc
expect_fail "unknown optimiser"       fit --opt nope
expect_fail "zero grid"               fit --grid 0
expect_fail "unknown option"          fit --no-such-option
expect_fail "--csv without --target"  fit --csv prod.csv
expect_fail "width against the data"  fit --formula 'x1*x2' --width 3,5,1
expect_fail "refine without --grid"   refine -i a.kanvas
expect_fail "refine of a bad session" refine -i truncated.kanvas --grid 10

grep -q 'ragged.csv' <("$CLI" fit --csv ragged.csv --target y 2>&1) \
  && pass "CSV errors name the file" || fail "CSV errors name the file"

run fit --steps abc
[ "$rc" -eq 2 ] && grep -q -- '--help' err.txt && pass "usage errors exit 2 with a hint to --help" \
  || fail "usage errors exit 2 with a hint to --help" "exit $rc"
run fit --formula 'foo(x1)'
[ "$rc" -eq 1 ] && pass "data errors exit 1" || fail "data errors exit 1" "exit $rc"

# --- bench ----------------------------------------------------------------------------------

run bench --quick
if [ "$rc" -eq 0 ] && grep -q '^lbfgs 5 steps ' out.txt && grep -q 'G=200' out.txt; then
  pass "bench --quick prints the lbfgs row"
else fail "bench --quick prints the lbfgs row" "exit $rc" "$(head -c 600 err.txt)"; fi
run bench --quick --json
json_check "bench --quick --json" \
  'assert d["rows"][0]["optimizer"]=="lbfgs" and d["rows"][0]["evals"] > 0; assert len(d["eval_cost"])==2'

# --- summary --------------------------------------------------------------------------------

echo "1..$n"
if [ "$failed" -ne 0 ]; then
  echo "# $failed of $n checks failed"
  exit 1
fi
echo "# all $n checks passed"
