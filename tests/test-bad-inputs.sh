#!/bin/sh
# test-bad-inputs.sh — runs the bad-input corpus of tests/bad-inputs/cases.txt.
#
#   test-bad-inputs.sh KANVAS_CLI [BAD_INPUTS_DIR]
#
# Every case runs in a fresh empty folder with "-o out.kanvas" added. A refused input must
# exit with the expected status, print exactly one line "kanvas-cli: …" on stderr naming the
# file (or the formula) and containing the expected text, and leave the folder as it was (no
# output, no temporary file). An accepted input must exit 0 and write out.kanvas.
set -u

cli=$1
dir=${2:-$(cd "$(dirname "$0")" && pwd)/bad-inputs}
case $cli in /*) ;; *) cli=$(pwd)/$cli ;; esac
root=$(mktemp -d "${TMPDIR:-/tmp}/kanvas-bad-inputs.XXXXXX")
trap 'rm -rf "$root"' EXIT
gen=$root/gen
mkdir -p "$gen" "$root/base"

# Inputs written at test time: two small valid sessions and the bad sessions made from them,
# and a CSV file with a line longer than 1 MiB (a million-digit number).
(
  cd "$root/base" || exit 1
  printf 'a,b,y\n1,2,3\n2,3,5\n3,1,4\n0,0,0\n1,1,2\n' > d.csv
  "$cli" fit --formula 'x1*x2' --train 6 --test 2 --width 2,1,1 --grid 2 --k 1 --steps 1 \
    -o f.kanvas >/dev/null &&
  "$cli" fit --csv d.csv --target y --width 2,1 --grid 2 --k 1 --steps 1 -o c.kanvas >/dev/null &&
  python3 "$dir/make-sessions.py" f.kanvas c.kanvas "$gen"
) || { echo "FAIL: cannot make the session cases"; exit 1; }
{
  printf 'x1,y\n1,2\n3,'
  head -c 1200000 /dev/zero | tr '\0' '7'
  printf '\n'
} > "$gen/c-long-line.csv"

pass=0
fail=0
failed=""

# check ID COND MESSAGE: counts a failed condition.
bad () {
  echo "FAIL $1: $2"
  ok=0
}

while IFS= read -r line; do
  case $line in ''|'#'*) continue ;; esac
  # Fields are separated by " | "; surrounding blanks are trimmed.
  id=$(echo "$line" | awk -F' [|] ' '{gsub(/^ +| +$/, "", $1); print $1}')
  kind=$(echo "$line" | awk -F' [|] ' '{gsub(/^ +| +$/, "", $2); print $2}')
  args=$(echo "$line" | awk -F' [|] ' '{gsub(/^ +| +$/, "", $3); print $3}')
  expect=$(echo "$line" | awk -F' [|] ' '{gsub(/^ +| +$/, "", $4); print $4}')
  code=$(echo "$line" | awk -F' [|] ' '{gsub(/^ +| +$/, "", $5); print $5}')

  work=$root/case-$id
  mkdir -p "$work"
  input=""
  for f in "$dir/$id".csv "$dir/$id".kanvas "$gen/$id".csv "$gen/$id".kanvas; do
    if [ -e "$f" ]; then input=$f; break; fi
  done
  if [ -n "$input" ]; then
    cp "$input" "$work/"
    args=$(echo "$args" | sed "s|@IN@|$(basename "$input")|g")
  elif echo "$args" | grep -q '@IN@'; then
    echo "FAIL $id: no input file $id.csv or $id.kanvas"
    fail=$((fail + 1)); failed="$failed $id"
    continue
  fi
  before=$(cd "$work" && ls -A)

  (cd "$work" && eval "set -- $args" && exec "$cli" "$@" -o out.kanvas) \
    > "$root/stdout" 2> "$root/stderr" < /dev/null
  rc=$?
  ok=1
  if [ "$code" = 0 ]; then
    [ "$rc" = 0 ] || bad "$id" "exit status $rc, expected 0: $(cat "$root/stderr")"
    [ -s "$work/out.kanvas" ] || bad "$id" "out.kanvas was not written"
  else
    # The file the message must name: the value of --csv or -i, else the formula.
    name=$(eval "set -- $args"; while [ $# -gt 1 ]; do
             case $1 in --csv|-i|--input) basename "$2"; break ;; esac; shift; done)
    [ -n "$name" ] || name="formula '"
    # An option refused before any file is read names the option (in EXPECTED) instead.
    [ "$kind" = cli ] && name="kanvas-cli: "
    msg=$(cat "$root/stderr")
    [ "$rc" = "$code" ] || bad "$id" "exit status $rc, expected $code"
    [ "$(wc -l < "$root/stderr")" -eq 1 ] \
      || bad "$id" "stderr has $(wc -l < "$root/stderr") lines, expected 1: $msg"
    case $msg in "kanvas-cli: "*) ;; *) bad "$id" "stderr does not start with 'kanvas-cli: ': $msg" ;; esac
    case $msg in *"$name"*) ;; *) bad "$id" "the message does not name $name: $msg" ;; esac
    case $msg in *"$expect"*) ;; *) bad "$id" "the message lacks '$expect': $msg" ;; esac
    [ ! -e "$work/out.kanvas" ] || bad "$id" "out.kanvas was written"
    after=$(cd "$work" && ls -A)
    [ "$before" = "$after" ] || bad "$id" "files left behind: $(echo "$after" | tr '\n' ' ')"
  fi
  if [ $ok = 1 ]; then
    echo "ok   $id ($kind)"
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); failed="$failed $id"
  fi
done < "$dir/cases.txt"

echo "bad inputs: $pass passed, $fail failed${failed:+ (}${failed# }${failed:+)}"
[ $fail = 0 ] && [ $pass -ge 30 ]
