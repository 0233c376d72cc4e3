#!/bin/sh
# test-cli-class.sh — kanvas-cli on a classifier and on an 8-input data set: `plot --regions`
# writes a valid PNG (and refuses a regression network), `prune --inputs` keeps the two inputs
# that matter. Usage: test-cli-class.sh KANVAS_CLI
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
