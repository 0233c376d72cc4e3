#!/bin/sh
# test-cli-class.sh — kanvas-cli on a classifier and on an 8-input data set: `plot --regions`
# writes a valid PNG (and refuses a regression network), `prune --inputs` keeps the two inputs
# that matter; a CSV with text labels gives named classes (fit, eval, --json, the session).
# Usage: test-cli-class.sh KANVAS_CLI
set -eu
K="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail () { echo "FAIL: $*"; exit 1; }

# Two classes inside and outside a circle.
awk 'BEGIN { srand(3); print "a,b,cls";
  for (i = 0; i < 300; i++) { a = 2*rand()-1; b = 2*rand()-1;
    printf "%.4f,%.4f,%d\n", a, b, (a*a+b*b < 0.5) ? 1 : 0 } }' > "$T/c.csv"
"$K" fit --csv "$T/c.csv" --target cls --loss ce --width 2,4,2 --steps 30 -o "$T/c.kanvas" > /dev/null
"$K" eval -i "$T/c.kanvas" | grep -q 'accuracy' || fail "eval prints no accuracy"
"$K" plot -i "$T/c.kanvas" --regions -o "$T/r.png" --width 640 --height 480 | grep -q 'wrote' \
  || fail "plot --regions"
head -c 8 "$T/r.png" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$' \
  || fail "not a PNG"
[ "$(od -An -tu1 -j16 -N4 "$T/r.png" | awk '{ print $1*16777216+$2*65536+$3*256+$4 }')" = 640 ] \
  || fail "PNG width"
"$K" plot -i "$T/c.kanvas" --regions -o "$T/r.svg" > /dev/null && grep -q '<svg' "$T/r.svg" \
  || fail "plot --regions SVG"
"$K" fit --steps 1 -o "$T/reg.kanvas" > /dev/null 2>&1
if "$K" plot -i "$T/reg.kanvas" --regions -o "$T/no.png" 2> "$T/err"; then
  fail "regions of a regression network"
fi
grep -q 'two inputs' "$T/err" || fail "message: $(cat "$T/err")"
[ ! -e "$T/no.png" ] || fail "a picture was written"

# Text labels: the classes are named by the CSV (sorted), cross-entropy by default, the names in
# eval's per-class lines, the JSON and the session (version 2); a regression loss is refused
# naming the file, line and column of the first text label.
D=$(dirname "$0")/data
"$K" fit --csv "$D/species.csv" --target species --width 2,4,3 --steps 20 -o "$T/s.kanvas" \
  > "$T/fit" || fail "fit on text labels: $(cat "$T/fit")"
grep -q 'cross-entropy' "$T/fit" || fail "text labels did not default to cross-entropy"
grep -q '^  class setosa: train [0-9.]*% of [0-9]*, test' "$T/fit" || fail "fit: $(cat "$T/fit")"
grep -q '"version": 2,' "$T/s.kanvas" || fail "session version"
grep -q '"class_names": \["setosa", "versicolor", "virginica"\]' "$T/s.kanvas" \
  || fail "class names in the session"
"$K" eval -i "$T/s.kanvas" > "$T/ev"
[ "$(grep -c '^  class ' "$T/ev")" = 3 ] || fail "eval: $(cat "$T/ev")"
sed -n 2p "$T/ev" | grep -q '^  class setosa: ' || fail "eval order: $(cat "$T/ev")"
sed -n 4p "$T/ev" | grep -q '^  class virginica: ' || fail "eval order: $(cat "$T/ev")"
# The train and test rows of the classes add up to the data's.
rows=$(awk '/^  class / { gsub(",", ""); t += $6 + $10 } END { print t }' "$T/ev")
[ "$rows" = 150 ] || fail "eval counts $rows rows: $(cat "$T/ev")"
"$K" eval -i "$T/s.kanvas" --json > "$T/ev.json"
python3 - "$T/ev.json" <<'PY' || fail "eval --json: $(cat "$T/ev.json")"
import json, sys
r = json.load(open(sys.argv[1]))
names = [c["name"] for c in r["classes"]]
assert names == ["setosa", "versicolor", "virginica"], names
assert sum(c["train_rows"] + c["test_rows"] for c in r["classes"]) == 150
assert all(0 <= c["train_accuracy"] <= 1 for c in r["classes"])
# The share of rows right over all classes is the accuracy eval reports.
hits = sum(c["train_accuracy"] * c["train_rows"] for c in r["classes"])
rows = sum(c["train_rows"] for c in r["classes"])
assert abs(hits / rows - r["train_accuracy"]) < 1e-12, (hits / rows, r["train_accuracy"])
PY
# Other data of the same classes, in another order, evaluate by name; unknown classes fail.
{ echo "species,x1,x2"; awk -F, 'NR > 1 && $3 == "virginica" { print $3 "," $1 "," $2 }' \
  "$D/species.csv"; } > "$T/virginica.csv"
"$K" eval -i "$T/s.kanvas" --csv "$T/virginica.csv" --target species --test-fraction 0 \
  > "$T/ev2" || fail "eval on other data: $(cat "$T/ev2")"
grep -q '^  class virginica: train [0-9.]*% of 50, ' "$T/ev2" || fail "other data: $(cat "$T/ev2")"
grep -q '^  class setosa: train n/a of 0, ' "$T/ev2" || fail "other data: $(cat "$T/ev2")"
printf 'x1,x2,species\n0,0,rose\n1,1,setosa\n' > "$T/rose.csv"
if "$K" eval -i "$T/s.kanvas" --csv "$T/rose.csv" --target species 2> "$T/err"; then
  fail "eval with an unknown class"
fi
grep -q "class 'rose' of column 'species' is not one of the model's classes" "$T/err" \
  || fail "message: $(cat "$T/err")"
printf 'x1,x2,species\n0,0,1\n1,1,2\n' > "$T/numbers.csv"
if "$K" eval -i "$T/s.kanvas" --csv "$T/numbers.csv" --target species 2> "$T/err"; then
  fail "eval with numeric labels on a model of named classes"
fi
grep -q "the labels of column 'species' are numbers, but the model was trained on the classes" \
  "$T/err" || fail "message: $(cat "$T/err")"
if "$K" fit --csv "$D/species.csv" --target species --loss mse --steps 1 -o "$T/m.kanvas" \
  2> "$T/err"; then
  fail "a regression loss on text labels"
fi
grep -q "species.csv:2:14: 'virginica' (column 'species') is not a number; text labels name \
classes, which need the cross-entropy loss" "$T/err" || fail "message: $(cat "$T/err")"
"$K" plot -i "$T/s.kanvas" --regions -o "$T/s.png" > /dev/null || fail "plot --regions (text)"

# Eight inputs, two of which matter.
"$K" fit --formula 'sin(pi*x3)+x6^2' --vars x1,x2,x3,x4,x5,x6,x7,x8 --width 8,3,1 --steps 30 \
  --lamb 0.01 --train 300 --test 100 -o "$T/e.kanvas" > /dev/null
"$K" prune -i "$T/e.kanvas" --inputs 0.01 -o "$T/p.kanvas" > "$T/out"
grep -q '^removed 6 inputs: x1,x2,x4,x5,x7,x8$' "$T/out" || fail "prune --inputs: $(cat "$T/out")"
grep -q '^kept x3,x6$' "$T/out" || fail "kept: $(cat "$T/out")"
"$K" eval -i "$T/p.kanvas" > /dev/null || fail "the pruned session does not load"
if "$K" prune -i "$T/e.kanvas" --inputs 0.01 --edge-th 0.1 2> /dev/null; then
  fail "--inputs with --edge-th"
fi
echo "ok"
