#!/bin/bash
# test-cli.sh — smoke tests of kanvas-cli: exit codes, outputs and files.
#
# Usage: test-cli.sh /path/to/kanvas-cli
# Prints one line per check ("ok - …" or "not ok - …") and exits non-zero if any check failed.
# Works in a temporary folder that it removes.

set -u

. "$(dirname "$0")/tap.sh"
tap_begin cli-test "$@"

# check DESCRIPTION COMMAND… — passes if the command exits 0. On failure it shows what the
# command printed, then the stderr and stdout of the last `run`, which most checks look at.
check () {
  local what=$1 status; shift
  if "$@" >check.txt 2>&1; then pass "$what"
  else
    status=$?
    fail "$what" "exit $status: $*" "output: $(head -c 300 check.txt)" \
         "last run's stderr: $(head -c 300 err.txt 2>/dev/null)" \
         "last run's stdout: $(head -c 300 out.txt 2>/dev/null)"
  fi
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
            "eval:--points:--csv" "info:--input" "bench:--quick:--json" \
            "scores:--input:--json" "prune:--node-th:--edge-th:--nodes" \
            "suggest:--edge:--lib:--top" "lock:--edge:--fn" "unlock:--edge" \
            "symbolic:--lib:--r2" "formula:--style:--no-snap:--json" \
            "discover:--formula:--csv:--pareto:--widths:--json:--output"; do
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

# pykan's optimiser, whose 5 steps (up to 25 evaluations each) already fit the demo; the
# default (auto: LM here, one iteration a step) is checked below.
run fit --opt lbfgs --steps 5 -o a.kanvas
if [ "$rc" -eq 0 ] && [ -s a.kanvas ] && grep -q 'step 5/5: train RMSE' out.txt \
   && grep -q 'built-in demo' err.txt; then pass "fit --steps 5 -o a.kanvas (demo)"
else fail "fit --steps 5 -o a.kanvas (demo)" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi

run fit --opt lbfgs --steps 5 --json
json_check "fit --json prints JSON with 5 steps" \
  'assert d["steps"]==5; assert d["train_rmse"] < 0.1; assert d["evals"] > 0;
assert len(d["losses"]) == 6 and d["losses"][0]["step"] == 0 and d["losses"][-1]["step"] == 5'

run fit --steps 15 --json
json_check "the default fit (auto) reaches train RMSE 1e-2 on the demo in 15 steps" \
  'assert d["optimizer"]=="auto" and d["steps"]==15 and d["train_rmse"] < 1e-2'

if grep -q $'\r' out.txt err.txt; then fail "no progress bar when piped"
else pass "no progress bar when piped"; fi

# File names that are not UTF-8 (Latin-1 "é" is the byte E9): --json output and the session
# stay valid UTF-8 JSON, each bad byte written as U+FFFD. Decoded strictly, not by the locale.
l1_csv=$(printf 'd\xe9.csv') l1_out=$(printf 'caf\xe9.kanvas')
printf 'x,y\n' >"$l1_csv"; for q in $(seq 1 40); do echo "$q,$((q * 3))" >>"$l1_csv"; done
strict_json='import json,sys; d=json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))'
run fit --csv "$l1_csv" --target y --width 1,2,1 --steps 2 --json -o "$l1_out"
check "fit --json with a Latin-1 output path is valid JSON" \
  python3 -c "$strict_json; assert d['output']=='caf\ufffd.kanvas', d['output']" out.txt
check "a session naming a Latin-1 CSV path is valid JSON" \
  python3 -c "$strict_json; assert d['data']['path']=='d\ufffd.csv', d['data']" "$l1_out"
run info -i "$l1_out" --json
check "info --json of that session is valid JSON" \
  python3 -c "$strict_json; assert 'd\ufffd.csv' in d['data'], d['data']" out.txt
rm -f "$l1_csv" "$l1_out"

run fit --opt lbfgs --steps 5 -o a2.kanvas
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

# --- interpretability: scores, prune, suggest, lock, unlock, symbolic, formula -------------

run fit --width 2,5,1 --steps 20 --lamb 1e-3 -o w.kanvas
check "fit a sparse 2,5,1 network" test "$rc" -eq 0 -a -s w.kanvas

run scores -i w.kanvas
if [ "$rc" -eq 0 ] && grep -q '^inputs:' out.txt && grep -q '(1,4,0)' out.txt; then pass "scores prints inputs, nodes and edges"
else fail "scores prints inputs, nodes and edges" "exit $rc" "$(head -c 600 err.txt)"; fi
run scores -i w.kanvas --json
json_check "scores --json" \
  'assert [x["name"] for x in d["inputs"]]==["x1","x2"]; assert len(d["edges"])==15;
assert d["nodes"][2]==[1]; assert all(e["mode"]=="spline" and e["score"]>=0 for e in d["edges"])'

run prune -i w.kanvas -o pr.kanvas
if [ "$rc" -eq 0 ] && grep -q '^width 2,5,1 -> ' out.txt && grep -q 'removed .* hidden node' out.txt; then
  pass "prune prints what it removed ($(head -1 out.txt))"
else fail "prune prints what it removed" "exit $rc" "$(head -c 600 err.txt)"; fi
run info -i pr.kanvas --json
json_check "pruned session is smaller and has a prune entry" \
  'assert d["width"]!="2,5,1"; assert d["history"][-1]["op"]=="prune"'
run prune -i w.kanvas --nodes "1:0,3" --edge-th 0 --json
json_check "prune --nodes keeps exactly the listed nodes" \
  'assert d["width"]=="2,2,1" and d["nodes_removed"]==3 and d["edges_removed"]==0, d'
# The preview (--dry-run) names exactly what the prune then removes, and changes nothing.
w_sum=$(cksum <w.kanvas)
run prune -i w.kanvas --node-th 0.01 --edge-th 0.5 --dry-run --json
cp out.txt preview.json
run prune -i w.kanvas --node-th 0.01 --edge-th 0.5 --json -o pv.kanvas
json_check "prune removes what its --dry-run preview said" \
  'p=json.load(open("preview.json")); assert p["dry_run"] and not d["dry_run"];
assert p["nodes_removed"]+p["edges_removed"]>0, p;
assert all(p[k]==d[k] for k in ("width","nodes","edges","nodes_removed","edges_removed","train_rmse","test_rmse")), (p,d)'
run info -i pv.kanvas --json
json_check "the pruned session has the previewed width" \
  'p=json.load(open("preview.json")); assert d["width"]==p["width"], (d["width"],p["width"])'
check "--dry-run leaves the session untouched" test "$(cksum <w.kanvas)" = "$w_sum"
rm -f preview.json
expect_fail "prune --dry-run with -o"           prune -i w.kanvas --dry-run
run prune -i w.kanvas --edge-th 0.5 -o cut.kanvas
run scores -i cut.kanvas --json
pruned_edge=$(python3 -c 'import json; d=json.load(open("out.txt")); print(next("%d,%d,%d"%(e["l"],e["i"],e["j"]) for e in d["edges"] if e["mode"]=="pruned"))' 2>/dev/null)
check "prune --edge-th 0.5 turns edges off ($pruned_edge)" test -n "$pruned_edge"

run suggest -i w.kanvas --edge 0,0,3 --lib x,x^2,sin --top 2
if [ "$rc" -eq 0 ] && [ "$(wc -l <out.txt)" -eq 3 ] && grep -q 'c·f(a·x+b)+d' out.txt; then pass "suggest prints a ranked table"
else fail "suggest prints a ranked table" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi
run suggest -i w.kanvas --edge 0,0,3 --json
json_check "suggest --json: 5 ranked fits with the written-out function" \
  'assert len(d["suggestions"])==5; s=d["suggestions"]; assert all(a["score"]<=b["score"] or b["name"]=="0" for a,b in zip(s,s[1:]));
assert all(k in s[0] for k in ("name","r2","complexity","score","fit"))'

# The manual session on pykan's example: fit, lock all, fine-tune, read the formula.
run fit --width 2,1,1 --opt lm --steps 100 --seed 2 -o m.kanvas
check "fit 2,1,1 with LM" test "$rc" -eq 0
run formula -i m.kanvas
if [ "$rc" -eq 1 ] && grep -q '^kanvas-cli: 3 edges are still splines: (0,0,0), (0,1,0), (1,0,0)$' err.txt; then
  pass "formula with splines left exits 1 naming the edges"
else fail "formula with splines left exits 1 naming the edges" "exit $rc" "$(head -c 300 err.txt)"; fi
run lock -i m.kanvas --edge 0,0,0 --fn sin -o m1.kanvas
if [ "$rc" -eq 0 ] && grep -q 'edge (0,0,0) locked to sin: ' out.txt; then pass "lock --edge 0,0,0 --fn sin"
else fail "lock --edge 0,0,0 --fn sin" "exit $rc" "$(head -c 300 err.txt)"; fi
run formula -i m1.kanvas
if [ "$rc" -eq 1 ] && grep -q '2 edges are still splines: (0,1,0), (1,0,0)' err.txt; then pass "a locked edge is no longer named"
else fail "a locked edge is no longer named" "exit $rc" "$(head -c 300 err.txt)"; fi
run scores -i m1.kanvas --json
json_check "scores calls a locked edge \"locked\", as the workbench does" \
  'm={(e["l"],e["i"],e["j"]):e["mode"] for e in d["edges"]}; assert m[(0,0,0)]=="locked" and m[(0,1,0)]=="spline", m'
run unlock -i m1.kanvas --edge 0,0,0 -o m2.kanvas --json
json_check "unlock --json" 'assert d["edge"]=="0,0,0" and d["output"]=="m2.kanvas"'
run info -i m2.kanvas --json
json_check "lock and unlock are in the history" \
  'assert [h["op"] for h in d["history"]][-2:]==["lock","unlock"]'
run formula -i m2.kanvas
check "after unlock the edge is a spline again" grep -q '3 edges are still splines' err.txt
run symbolic -i m.kanvas --lib x,x^2,sin,exp -o s.kanvas
if [ "$rc" -eq 0 ] && grep -q '(0,0,0) locked to sin' out.txt && grep -q '(1,0,0) locked to exp' out.txt \
   && grep -q '^locked 3 edges' out.txt; then pass "symbolic locks every edge and prints its log"
else fail "symbolic locks every edge and prints its log" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi
run fit -i s.kanvas --opt lm --steps 10 -o s2.kanvas
check "fine-tune the locked network with LM" test "$rc" -eq 0
run formula -i s2.kanvas
if [ "$rc" -eq 0 ] && [ "$(cat out.txt)" = "exp(sin(pi*x1) + x2^2)" ]; then pass "formula: exp(sin(pi*x1) + x2^2)"
else fail "formula: exp(sin(pi*x1) + x2^2)" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi
run formula -i s2.kanvas --json
json_check "formula --json: every style and the RMSEs of the printed formula" \
  'assert d["formula"]=="exp(sin(pi*x1) + x2^2)" and d["sympy"]=="exp(sin(pi*x1) + x2**2)";
assert d["c"].startswith("exp(") and d["python"].startswith("np.exp(") and "\\pi" in d["latex"];
assert d["train_rmse"] < 1e-12 and d["test_rmse"] < 1e-12'
run formula -i s2.kanvas --style all
check "formula --style all prints five styles" test "$(wc -l <out.txt)" -eq 5
run formula -i s2.kanvas --no-snap
check "formula --no-snap keeps the fitted constants" grep -q 'e-' out.txt

# --- discover -------------------------------------------------------------------------------

run discover --formula 'x1*x2' --json -o disc.kanvas
json_check "discover x1*x2 --json" \
  'assert d["formula"]=="x1*x2" and d["exact"] and d["test_rmse"] < 1e-12, d["formula"];
assert d["stages"][0]["stage"]=="fit" and d["stages"][0]["width"]=="2,1";
assert any(s["stage"]=="monomial" for s in d["stages"]); assert d["seconds"] > 0;
assert d["pareto"][-1]["best"] and d["output"]=="disc.kanvas"'
run info -i disc.kanvas --json
json_check "discover -o saves the locked network and a discover entry" \
  'assert d["width"]=="2,[0,1],1" and d["history"][-1]["op"]=="discover"'
run formula -i disc.kanvas
check "the saved session gives the same formula" test "$(cat out.txt)" = "x1*x2"

# Constants with errors, the noise estimate, and units (header and --units).
run discover --formula '0.7231*x1 + x2^2' --json --threads 2
json_check "discover --json gives the free constants with standard errors" \
  'assert d["exact"] and len(d["constants"])==1 and abs(d["constants"][0]["value"]-0.7231)<1e-9;
assert d["constants"][0]["stderr"] >= 0 and "±" in d["formula_with_errors"];
assert d["noise"] >= 0 and "within_noise" in d'
python3 -c "
import random
random.seed(2)
with open('units.csv','w') as f:
    f.write('m [kg],v [m/s],E [J]\n')
    for i in range(400):
        m=random.uniform(0.5,2); v=random.uniform(-1,1)
        f.write('%r,%r,%r\n'%(m,v,0.5*m*v*v))
with open('nounits.csv','w') as f:
    f.write(open('units.csv').read().replace(' [kg]','').replace(' [m/s]','').replace(' [J]',''))
"
run discover --csv units.csv --target E --json
json_check "discover with header units works on the groups and answers in the variables" \
  'assert d["exact"], d["formula"]; assert d["stages"][0]["stage"]=="units";
assert "m" in d["formula"] and "v" in d["formula"], d["formula"]'
run discover --csv nounits.csv --target E --units 'm=kg,v=m/s,E=J'
check "discover --units gives the same answer" test "$(head -1 out.txt)" = "0.5*m*v^2"
expect_fail "discover --units with a unit E cannot be made of" \
  discover --csv nounits.csv --target E --units 'm=kg,v=m/s,E=K'
grep -q "cannot be made" err.txt && pass "the units error says why" \
  || fail "the units error says why" "$(cat err.txt)" ""
run discover --formula 'sin(pi*x1)+x2^2' --pareto
if [ "$rc" -eq 0 ] && [ "$(head -1 out.txt)" = "sin(pi*x1) + x2^2" ] && grep -q '^exact: ' out.txt \
   && grep -q '<- best' out.txt; then pass "discover --pareto prints the formula and the front"
else fail "discover --pareto prints the formula and the front" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi
run discover --csv prod.csv --target y --widths '2,1;2,[0,1],1' --seeds 1
if [ "$rc" -eq 0 ] && [ "$(head -1 out.txt)" = "a*b" ]; then pass "discover on a CSV file names the columns (a*b)"
else fail "discover on a CSV file names the columns (a*b)" "exit $rc" "$(cat out.txt err.txt | head -c 600)"; fi

# --- interpretability errors ----------------------------------------------------------------

expect_fail "lock with an unknown --fn"      lock -i m.kanvas --edge 0,0,0 --fn nope
expect_fail "lock with a list as --fn (sin,)"  lock -i m.kanvas --edge 0,0,0 --fn 'sin,'
expect_fail "lock without --fn"              lock -i m.kanvas --edge 0,0,0
expect_fail "lock: edge out of range"        lock -i m.kanvas --edge 2,0,0 --fn x
expect_fail "suggest: edge out of range"     suggest -i m.kanvas --edge 0,5,0
expect_fail "suggest: malformed edge"        suggest -i m.kanvas --edge 0,1
expect_fail "suggest on a pruned edge"       suggest -i cut.kanvas --edge "${pruned_edge:-0,0,0}"
expect_fail "lock of a pruned edge"          lock -i cut.kanvas --edge "${pruned_edge:-0,0,0}" --fn x
expect_fail "unlock of an edge not locked"   unlock -i m.kanvas --edge 0,0,0
expect_fail "formula with splines left"      formula -i m.kanvas
expect_fail "formula with an unknown style"  formula -i s2.kanvas --style nope
expect_fail "prune --nodes of a missing layer" prune -i w.kanvas --nodes 5:0
expect_fail "prune --nodes out of range"     prune -i w.kanvas --nodes 1:9
expect_fail "prune with a negative threshold" prune -i w.kanvas --node-th -1
expect_fail "symbolic with an unknown --lib" symbolic -i m.kanvas --lib x,nope
expect_fail "scores of a missing session"    scores -i nonexistent.kanvas
expect_fail "discover without data"          discover
expect_fail "discover with a width for 3 inputs" discover --formula 'x1*x2' --widths 3,1
run lock -i m.kanvas --edge 0,0,0 --fn nope
[ "$rc" -eq 2 ] && grep -q 'the library: x, x^2' err.txt && pass "unknown --fn is a usage error that lists the library" \
  || fail "unknown --fn is a usage error that lists the library" "exit $rc"
run suggest -i m.kanvas --edge 0,5,0
[ "$rc" -eq 1 ] && grep -q 'edge (0,5,0) does not exist in this network (width 2,1,1)' err.txt \
  && pass "an edge out of range is named with the width" || fail "an edge out of range is named with the width" "exit $rc"
run suggest -i cut.kanvas --edge "${pruned_edge:-0,0,0}"
[ "$rc" -eq 1 ] && grep -q 'is pruned' err.txt && pass "suggest on a pruned edge says so" \
  || fail "suggest on a pruned edge says so" "exit $rc"

# --- plot -----------------------------------------------------------------------------------

run plot -i a.kanvas -o net.png
if [ "$rc" -eq 0 ] && [ "$(head -c 8 net.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
  pass "plot writes a PNG"
else fail "plot writes a PNG" "exit $rc" "$(head -c 300 err.txt)"; fi
run plot -i a.kanvas -o net.svg --dark --beta 100 --width 640 --height 480
if [ "$rc" -eq 0 ] && head -c 200 net.svg | grep -q '<svg' && head -c 200 net.svg | grep -q 'width="640pt"'; then
  pass "plot writes an SVG of the size asked for"
else fail "plot writes an SVG of the size asked for" "exit $rc" "$(head -c 300 err.txt)"; fi
run plot -i a.kanvas -o edge.pdf --edge 0,1,2
if [ "$rc" -eq 0 ] && [ "$(head -c 5 edge.pdf)" = "%PDF-" ]; then pass "plot --edge writes a PDF"
else fail "plot --edge writes a PDF" "exit $rc" "$(head -c 300 err.txt)"; fi
if [ -z "$(ls -A | grep '^\.')" ]; then pass "plot leaves no temporary files"
else fail "plot leaves no temporary files" "$(ls -A | grep '^\.')"; fi
run plot -i a.kanvas -o net.jpg
[ "$rc" -eq 1 ] && [ ! -e net.jpg ] && grep -q '^kanvas-cli: net.jpg: unknown picture format' err.txt \
  && pass "plot to an unknown extension fails with exit 1 and no file" \
  || fail "plot to an unknown extension fails with exit 1 and no file" "exit $rc" "$(head -c 300 err.txt)"
run plot -i a.kanvas -o nodir/net.png
[ "$rc" -eq 1 ] && [ ! -e nodir ] && grep -q '^kanvas-cli: nodir/net.png: ' err.txt \
  && pass "plot into a missing folder fails naming the file" \
  || fail "plot into a missing folder fails naming the file" "exit $rc" "$(head -c 300 err.txt)"
run plot -i a.kanvas -o e.png --edge 1,5,0
[ "$rc" -eq 1 ] && [ ! -e e.png ] && grep -q 'edge (1,5,0) does not exist in this network (width 2,5,1)' err.txt \
  && pass "plot --edge out of range names the width" \
  || fail "plot --edge out of range names the width" "exit $rc" "$(head -c 300 err.txt)"
run plot -i a.kanvas -o e.png --edge 1,5
[ "$rc" -eq 2 ] && [ ! -e e.png ] && pass "plot --edge with two indices is a usage error" \
  || fail "plot --edge with two indices is a usage error" "exit $rc"
run plot -i a.kanvas -o e.png --width 0
[ "$rc" -eq 2 ] && [ ! -e e.png ] && pass "plot --width 0 is a usage error" \
  || fail "plot --width 0 is a usage error" "exit $rc"
run plot -o e.png
[ "$rc" -eq 2 ] && pass "plot without -i is a usage error" || fail "plot without -i is a usage error" "exit $rc"
rm -f net.png net.svg edge.pdf

# --- bench ----------------------------------------------------------------------------------

run bench --quick
if [ "$rc" -eq 0 ] && grep -q '^lbfgs 5 steps ' out.txt && grep -q 'G=200' out.txt; then
  pass "bench --quick prints the lbfgs row"
else fail "bench --quick prints the lbfgs row" "exit $rc" "$(head -c 600 err.txt)"; fi
run bench --quick --json
json_check "bench --quick --json" \
  'assert d["rows"][0]["optimizer"]=="lbfgs" and d["rows"][0]["evals"] > 0; assert len(d["eval_cost"])==2'

# --- hardening round two: names, separators, numbers, long formulas, poles, terminals ------

# Variable names: refused where they enter, with a suggestion; target columns are labels.
printf 'a-1,pi,y\n1,2,3\n2,3,4\n3,4,6\n' >names.csv
expect_fail "a CSV input named a-1 is refused" discover --csv names.csv --target y
grep -q "input column 1 'a-1' is not an identifier.*rename it, e.g. to a_1" err.txt \
  && pass "the name is refused with a suggestion" || fail "the name is refused with a suggestion" "$(cat err.txt)"
for v in 'x1,,x2' 'x1,x1' 'x1,x2,pi' 'x1,x2,e' 'x1,a-b'; do
  expect_fail "--vars $v is refused" fit --formula 'x1+x2' --vars "$v"
done
# Reserved words of an output language name variables all the same; each style renames them.
run discover --formula 'gamma*lambda*E' --vars gamma,lambda,E --range 1,2 --train 200 \
  --test 100 --json
python3 - out.txt <<'PY' && pass "gamma, lambda, E as names: every style reads them back" \
  || fail "gamma, lambda, E as names: every style reads them back" "$(cat out.txt err.txt)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["exact"] and sorted(j["formula"].replace(" ", "").split("*")) == ["E", "gamma", "lambda"], j["formula"]
assert "lambda_" in j["python"], j["python"]
assert "Symbol('lambda', real=True)" in j["sympy"] and "Symbol('E', real=True)" in j["sympy"], j["sympy"]
try:
    import sympy
    e = sympy.sympify(j["sympy"])
    assert sorted(s.name for s in e.free_symbols) == ["E", "gamma", "lambda"], e
except ImportError:
    pass
PY
run fit --formula 'x1+x2' --vars x1,x1
grep -q "variable 2 'x1' is a duplicate" err.txt && pass "--vars x1,x1 is reported as a duplicate" \
  || fail "--vars x1,x1 is reported as a duplicate" "$(cat err.txt)"

# Safe names print the same in every style, and SymPy reads them back as plain symbols.
awk 'BEGIN { srand(3); print "mass,v_max,\"speed (m/s)\""; for (i = 0; i < 200; i++) { a = 2*rand()-1; b = 2*rand()-1; printf "%.6f,%.6f,%.6f\n", a, b, a*b } }' >named.csv
run discover --csv named.csv --target 'speed (m/s)' --widths '2,1;2,[0,1],1' --seeds 1 --json
json_check "discover keeps safe names in every style" \
  'f = d["formula"]; assert sorted(f.replace(" ","").split("*")) == ["mass","v_max"], f
for k in ("sympy", "c", "python"): assert "mass" in d[k] and "v_max" in d[k], (k, d[k])
assert "\\mathrm{mass}" in d["latex"] and "v_{max}" in d["latex"], d["latex"]'
if python3 -c 'import sympy' 2>/dev/null; then
  json_check "the SymPy form has the symbols mass and v_max" \
    'import sympy; e = sympy.sympify(d["sympy"]); assert {str(s) for s in e.free_symbols} == {"mass", "v_max"}, e'
fi

# CSV files with another separator say so.
printf 'a\tb\ty\n1\t2\t3\n' >tabs.csv
run fit --csv tabs.csv --target y
[ "$rc" -eq 1 ] && grep -q "tabs.csv:1:1: line 1 has 1 field; the file looks tab-separated — Kanvas reads comma-separated values" err.txt \
  && pass "a tab-separated file is named as such" || fail "a tab-separated file is named as such" "$(cat err.txt)"

# Hexadecimal numbers are refused in options, formulas, ranges and CSV files alike.
for args in "--lr 0x1p3" "--steps 0x10" "--formula 0x1p3*x1" "--formula x1 --range 0x1,2"; do
  # shellcheck disable=SC2086
  run fit $args
  grep -q "hexadecimal number; numbers are read in decimal only" err.txt \
    && pass "fit $args: hexadecimal is refused" || fail "fit $args: hexadecimal is refused" "$(cat err.txt)"
done

# A flat sum of 11 000 terms: the real limit, named; the formula quoted in part.
sum=$(awk 'BEGIN { s = "x1"; for (i = 1; i < 11000; i++) s = s "+x1"; print s }')
run fit --formula "$sum"
if [ "$rc" -eq 1 ] && [ "$(wc -c <err.txt)" -lt 400 ] && grep -q 'KAN_EXPR_MAX_HEIGHT' err.txt \
   && grep -q "formula '…" err.txt && grep -q 'position 6000' err.txt && ! grep -q 'nest' err.txt; then
  pass "an 11 000-term sum names the height limit ($(wc -c <err.txt) bytes)"
else fail "an 11 000-term sum names the height limit" "$(head -c 400 err.txt)"; fi

# Long arguments are quoted in part: every error stays one short line.
long=$(head -c 5000 /dev/zero | tr '\0' q)
for args in "fit --opt $long" "fit --$long" "fit -i $long" "lock -i m.kanvas --edge 0,0,0 --fn $long" \
            "fit --width 2,$long,1" "fit --formula x1 --range 0,$long" "fit --steps 9$long"; do
  # shellcheck disable=SC2086
  run $args
  if [ "$rc" -ne 0 ] && [ "$(wc -l <err.txt)" -eq 1 ] && [ "$(wc -c <err.txt)" -lt 500 ]; then
    pass "${args:0:24}…: a short error line ($(wc -c <err.txt) bytes)"
  else fail "${args:0:24}…: a short error line" "exit $rc, $(wc -c <err.txt) bytes"; fi
done

# Numbers too large for an option are too large, not out of range or wrapped.
run fit --seed "$(printf '9%.0s' $(seq 401))"
[ "$rc" -eq 2 ] && grep -q 'is too large (at most 9223372036854775807)' err.txt && [ "$(wc -c <err.txt)" -lt 300 ] \
  && pass "a 401-digit --seed is too large" || fail "a 401-digit --seed is too large" "$(head -c 300 err.txt)"
run discover --formula x1 --seeds 4 --seed 9223372036854775806
[ "$rc" -eq 2 ] && grep -q 'at most 9223372036854775804' err.txt \
  && pass "discover --seed leaves room for --seeds" || fail "discover --seed leaves room for --seeds" "$(cat err.txt)"
run fit --range -1e308,1e308 --formula x1
[ "$rc" -eq 2 ] && grep -q 'is too wide' err.txt && pass "--range -1e308,1e308 is blamed on the range" \
  || fail "--range -1e308,1e308 is blamed on the range" "$(cat err.txt)"

# Every option's range in --help is what the code accepts.
run fit --help
grep -q -- '--k=K .*1 … 10' out.txt && grep -q -- '--grid=G .*1 … 100000' out.txt \
  && pass "fit --help gives the ranges of --k and --grid" || fail "fit --help gives the ranges of --k and --grid"
run fit --formula x1 --train 20 --test 5 --k 10 --grid 2 --steps 1
check "--k 10 (the largest in --help) is accepted" test "$rc" -eq 0
run fit --formula x1 --k 11
check "--k 11 is refused as too large" grep -q 'too large (at most 10)' err.txt

# An empty option value is a usage error, for every option that takes one.
for args in "eval -i a.kanvas --points=" "fit -i a.kanvas -o ''" "prune -i w.kanvas --nodes ''" \
            "plot -i a.kanvas -o ''" "discover --formula x1*x2 --widths ''" "info -i ''"; do
  eval "run $args"
  [ "$rc" -eq 2 ] && grep -q 'the value is empty' err.txt && pass "$args: a usage error" \
    || fail "$args: a usage error" "exit $rc" "$(cat err.txt)"
done

# eval --points: no points is a usage error; a pole is an error, not -nan.
for p in '' ':' '0.5,0.5:'; do
  run eval -i a.kanvas --points "$p"
  [ "$rc" -eq 2 ] && grep -q -- '--points: ' err.txt && pass "eval --points '$p' is a usage error" \
    || fail "eval --points '$p' is a usage error" "exit $rc" "$(cat out.txt err.txt)"
done
run fit --formula '1/x1' --range 0.5,2 --width 1,1 --steps 2 --train 30 --test 5 -o inv.kanvas
run lock -i inv.kanvas --edge 0,0,0 --fn 1/x -o inv-locked.kanvas
python3 -c 'import json; d = json.load(open("inv-locked.kanvas")); d["model"]["layers"][0]["sym"] = [1.0, 0.0, 1.0, 0.0]; json.dump(d, open("pole.kanvas", "w"))'
run eval -i pole.kanvas --points 2
check "the locked 1/x evaluates at 2" test "$rc" -eq 0 -a "$(cat out.txt)" = 0.5
for j in "" --json; do
  run eval -i pole.kanvas --points 0 $j
  if [ "$rc" -eq 1 ] && [ ! -s out.txt ] && grep -q 'at point 1 (0) output 1 of the model is +infinity' err.txt; then
    pass "eval --points at the pole of 1/x fails $j"
  else fail "eval --points at the pole of 1/x fails $j" "exit $rc" "$(cat out.txt err.txt)"; fi
done
printf 'x1,y\n0,1\n1,1\n2,1\n' >pole.csv
run eval -i pole.kanvas --csv pole.csv --target y --test-fraction 0
[ "$rc" -eq 1 ] && grep -q 'not finite at train row' err.txt && pass "eval on data through the pole fails" \
  || fail "eval on data through the pole fails" "exit $rc" "$(cat out.txt err.txt)"

# info shows text from the session escaped: no escape sequence reaches the terminal.
python3 - <<'PY'
import json
d = json.load(open("a.kanvas"))
d["history"][0]["detail"] = "\x1b[31mred\x07 \x9b2J \u202eevil\u202c end"
d["history"][0]["op"] = "new\x1b]0;title\x07"
json.dump(d, open("evil.kanvas", "w"))
PY
run info -i evil.kanvas
if [ "$rc" -eq 0 ] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' out.txt \
   && ! grep -q $'\xc2[\x80-\x9f]\|\xe2\x80[\xaa-\xae]' out.txt && grep -q '\\x1b\[31mred\\x07' out.txt \
   && grep -q '\\u009b2J \\u202eevil' out.txt; then pass "info escapes control and bidi characters"
else fail "info escapes control and bidi characters" "exit $rc" "$(cat -v out.txt err.txt | head -c 600)"; fi
run info -i evil.kanvas --json
if ! grep -q $'\xc2[\x80-\x9f]\|\xe2\x80[\xaa-\xae]\|\x1b' out.txt; then pass "info --json escapes them too"
else fail "info --json escapes them too" "$(cat -v out.txt | head -c 400)"; fi
json_check "info --json keeps the text" \
  'assert d["history"][0]["detail"] == "\x1b[31mred\x07 \x9b2J \u202eevil\u202c end", d["history"][0]'
run fit -i "$(printf 'no\033[2Jsuch.kanvas')"
if [ "$rc" -eq 1 ] && ! grep -q $'\x1b' err.txt && grep -q 'no\\x1b\[2Jsuch' err.txt; then
  pass "error messages escape what they quote"
else fail "error messages escape what they quote" "$(cat -v err.txt)"; fi

# --- summary --------------------------------------------------------------------------------

tap_end
