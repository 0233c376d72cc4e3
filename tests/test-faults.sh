#!/bin/sh
# test-faults.sh — kanvas-cli under faults: killed while saving, unwritable places, a full
# disk, diverging training and requests over the memory budget.
#
#   test-faults.sh KANVAS_CLI [KILLS]
#
# Saving replaces the file by renaming a fsynced temporary file ".NAME.XXXXXX.tmp" (a new, random
# name created with O_EXCL|O_NOFOLLOW) over it, so after any SIGKILL the session file is the old
# one or the new one, whole, and at most one temporary file is left (the next save removes it).
# Outputs that are devices, FIFOs or links to them are refused, planted links are not followed,
# a replaced file keeps its mode, and inputs that never end (/dev/zero) are bounded. Cases that need privileges this run does
# not have (chmod does not stop root; mounting a small tmpfs needs root) say so and are skipped.
set -u

cli=$1
kills=${2:-60}
case $cli in /*) ;; *) cli=$(pwd)/$cli ;; esac
root=$(mktemp -d "${TMPDIR:-/tmp}/kanvas-faults.XXXXXX")
full=""
cleanup () {
  [ -n "$full" ] && umount "$full" 2>/dev/null
  chmod -R u+w "$root" 2>/dev/null
  rm -rf "$root"
}
trap cleanup EXIT
fail=0
check () {  # check CONDITION-STATUS MESSAGE
  if [ "$1" -eq 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi
}
cd "$root" || exit 1

# A model large enough (about 1 MB) that a good share of each run is spent saving.
"$cli" fit --formula 'sin(x1)*x2' --train 100 --test 20 --width 2,40,1 --grid 300 --steps 0 \
  -o s.kanvas > /dev/null || { echo "FAIL: cannot make a session"; exit 1; }
# Kills land anywhere in 0 … 1.2 × the time of one run.
t0=$(date +%s%N)
"$cli" fit --steps 0 -i s.kanvas -o s.kanvas > /dev/null || { echo "FAIL: cannot save"; exit 1; }
span=$(( ($(date +%s%N) - t0) / 1000000 * 12 / 10 + 1 ))

# (a) SIGKILL at random moments of "fit --steps 0 -i s.kanvas -o s.kanvas" (load, then save).
tmp_seen=0
bad=0
i=0
while [ $i -lt "$kills" ]; do
  i=$((i + 1))
  "$cli" fit --steps 0 -i s.kanvas -o s.kanvas > /dev/null 2>&1 &
  pid=$!
  ms=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % span ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  if ! "$cli" info -i s.kanvas > /dev/null 2> info.err; then
    echo "after kill $i (at $ms ms): s.kanvas does not load: $(cat info.err)"
    bad=$((bad + 1))
  fi
  ntmp=$(ls -A | grep -c -x -e '\.s\.kanvas\.[A-Za-z0-9]\{6\}\.tmp')
  [ "$ntmp" -gt 0 ] && tmp_seen=$((tmp_seen + 1))
  others=$(ls -A | grep -v -x -e s.kanvas -e '\.s\.kanvas\.[A-Za-z0-9]\{6\}\.tmp' -e info.err)
  if [ "$ntmp" -gt 1 ]; then
    echo "after kill $i: $ntmp temporary files: $(ls -A)"
    bad=$((bad + 1))
  fi
  if [ -n "$others" ]; then
    echo "after kill $i: unexpected files: $others"
    bad=$((bad + 1))
  fi
done
check $bad "atomic save: $kills SIGKILLs in 0 … $span ms, s.kanvas loads after each, no stray files ($tmp_seen kills left one temporary file .s.kanvas.XXXXXX.tmp)"
"$cli" fit --steps 1 -i s.kanvas -o s.kanvas > /dev/null 2>&1
check $? "a save after the kills succeeds"
[ "$(ls -A | grep -c '^\.s\.kanvas\..*\.tmp$')" -eq 0 ]
check $? "and removes the temporary file of the killed save"
rm -f info.err
cp s.kanvas keep.kanvas

# (b) Places that cannot be written. The old file must stay as it was.
expect_save_error () {  # expect_save_error NAME OUTPUT EXPECTED
  "$cli" fit --steps 1 -i s.kanvas -o "$2" > /dev/null 2> err
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "kanvas-cli: $2: cannot save: .*$3" err
  check $? "$1: exit 1 and one line naming the file ($(cat err))"
}
expect_save_error "non-directory parent" s.kanvas/out.kanvas "Not a directory"
expect_save_error "missing folder" no-such-folder/out.kanvas "No such file or directory"
expect_save_error "/proc" /proc/kanvas-test.kanvas "No such file or directory"
cmp -s s.kanvas keep.kanvas
check $? "s.kanvas unchanged"

if [ "$(id -u)" = 0 ]; then
  echo "SKIP read-only folder: running as root, where chmod 0555 does not stop writes"
else
  mkdir ro && cp keep.kanvas ro/s.kanvas && chmod 0555 ro
  "$cli" fit --steps 1 -i ro/s.kanvas -o ro/s.kanvas > /dev/null 2> err
  [ $? -eq 1 ] && grep -q "ro/s.kanvas: cannot save: .*Permission denied" err
  check $? "read-only folder: exit 1 ($(cat err))"
  cmp -s ro/s.kanvas keep.kanvas && [ "$(ls -A ro)" = s.kanvas ]
  check $? "read-only folder: the old file unchanged, nothing left"
fi

# A full disk: a 64 KiB tmpfs holds a small session, but not the larger one saved over it.
mkdir full
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k kanvas-test "$root/full" 2>/dev/null; then
  full=$root/full
  "$cli" fit --formula 'x1*x2' --train 20 --test 5 --width 2,2,1 --grid 3 --steps 1 \
    -o full/s.kanvas > /dev/null
  cp full/s.kanvas small.kanvas
  "$cli" fit --formula 'x1*x2' --train 20 --test 5 --width 2,12,1 --grid 80 --steps 1 \
    -o full/s.kanvas > /dev/null 2> err
  rc=$?
  [ $rc -eq 1 ] && grep -q "full/s.kanvas: cannot save: .*No space left on device" err
  check $? "full disk: exit 1 ($(cat err))"
  cmp -s full/s.kanvas small.kanvas && [ "$(ls -A full)" = s.kanvas ]
  check $? "full disk: the old file unchanged, no temporary file left"
  "$cli" info -i full/s.kanvas > /dev/null
  check $? "full disk: the old file loads"
  umount "$full" && full=""
else
  echo "SKIP full disk: cannot mount a small tmpfs (needs root)"
fi

# (b2) Hostile outputs and inputs.
# A link planted at the old fixed temporary name (and at every name a save could pick is
# impossible, so at the fixed one) is never followed: the victim stays, the output is a regular
# file.
mkdir hostile && cd hostile || exit 1
echo victim > victim
ln -s victim .out.kanvas.tmp
"$cli" fit --steps 0 -i ../s.kanvas -o out.kanvas > /dev/null 2>&1
[ $? -eq 0 ] && [ "$(cat victim)" = victim ] && [ -f out.kanvas ] && [ ! -L out.kanvas ] \
  && "$cli" info -i out.kanvas > /dev/null
check $? "a symbolic link planted as .out.kanvas.tmp is not followed: the victim is unchanged"
# A link as the output itself is replaced by the file, never written through.
ln -s victim link.kanvas
"$cli" fit --steps 0 -i ../s.kanvas -o link.kanvas > /dev/null 2>&1
[ $? -eq 0 ] && [ "$(cat victim)" = victim ] && [ -f link.kanvas ] && [ ! -L link.kanvas ]
check $? "an output that is a symbolic link is replaced, not written through"
# Special files as outputs are refused before any work, and left as they were.
expect_special () {  # expect_special NAME OUTPUT EXPECTED
  "$cli" fit --steps 1 -i ../s.kanvas -o "$2" > /dev/null 2> err
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "$2: cannot save: .*$3" err
  check $? "$1: refused with exit 1 ($(cat err))"
}
mkfifo fifo.kanvas
expect_special "a FIFO as output" fifo.kanvas "a FIFO"
[ -p fifo.kanvas ]
check $? "the FIFO is still a FIFO"
ln -s fifo.kanvas to-fifo.kanvas
expect_special "a link to a FIFO as output" to-fifo.kanvas "symbolic link to a FIFO"
mkdir dir.kanvas
expect_special "a folder as output" dir.kanvas "a folder"
if [ "$(id -u)" = 0 ] && mknod null.kanvas c 1 3 2>/dev/null; then
  expect_special "a character device as output (root)" null.kanvas "a character device"
  [ -c null.kanvas ]
  check $? "the device node is still a character device"
  "$cli" plot -i ../s.kanvas -o null.png > /dev/null 2>&1; rm -f null.png
  mknod null.png c 1 3 && { "$cli" plot -i ../s.kanvas -o null.png > /dev/null 2> err; \
    [ $? -ne 0 ] && [ -c null.png ]; }
  check $? "plot onto a device node is refused too ($(cat err))"
else
  echo "SKIP device node as output: needs root (mknod)"
fi
# A replaced file keeps its mode: a private session stays private.
cp ../s.kanvas private.kanvas && chmod 0600 private.kanvas
"$cli" fit --steps 0 -i private.kanvas -o private.kanvas > /dev/null 2>&1
[ "$(stat -c %a private.kanvas)" = 600 ]
check $? "saving over a 0600 session keeps mode 0600 (now $(stat -c %a private.kanvas))"
chmod 0640 private.kanvas
"$cli" plot -i ../s.kanvas -o private.kanvas.png > /dev/null 2>&1 && chmod 0604 private.kanvas.png \
  && "$cli" plot -i ../s.kanvas -o private.kanvas.png > /dev/null 2>&1
[ "$(stat -c %a private.kanvas.png)" = 604 ]
check $? "a re-exported picture keeps its mode 0604 (now $(stat -c %a private.kanvas.png))"
# Inputs that never end are read through a counting limit, not until memory runs out.
expect_bounded () {  # expect_bounded NAME EXPECTED ARGS…
  name=$1 expect=$2
  shift 2
  # AddressSanitizer reserves terabytes of address space for its shadow: no `ulimit -v` there.
  if ldd "$cli" 2>/dev/null | grep -q libasan; then
    ( timeout 120 "$cli" "$@" > /dev/null 2> err )
  else
    ( ulimit -v 3000000; timeout 120 "$cli" "$@" > /dev/null 2> err )
  fi
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "$expect" err
  check $? "$name: exit $rc, bounded ($(cat err))"
}
expect_bounded "-i /dev/zero" "/dev/zero: the file is larger than 256 MiB" info -i /dev/zero
expect_bounded "--csv /dev/zero" "/dev/zero: the file is larger than 1 GiB" \
  fit --csv /dev/zero --target y
expect_bounded "--csv /dev/urandom" "/dev/urandom: the file is larger than 1 GiB" \
  fit --csv /dev/urandom --target y
expect_bounded "-i a folder" "cannot read: it is a folder" info -i dir.kanvas
cd .. || exit 1

# (c) Diverging training is rolled back and reported; nothing is written.
"$cli" fit --formula 'x1*x2' --train 100 --test 20 --opt adam --lr 1e200 -o div.kanvas \
  > /dev/null 2> err
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < err)" -eq 1 ] && grep -q "^kanvas-cli: step 1: .*non-finite.*restored" err \
  && [ ! -e div.kanvas ]
check $? "divergence (adam, lr 1e200): exit 1, rolled back and said so, no file ($(cat err))"
"$cli" fit -i s.kanvas --opt adam --lr 1e200 -o s.kanvas > /dev/null 2> err
[ $? -eq 1 ] && cmp -s s.kanvas keep.kanvas
check $? "divergence from a session: exit 1, the session file unchanged"

# (d) The memory budget refuses, with KAN_ERROR_BUDGET's message, before allocating.
expect_budget () {  # expect_budget NAME EXPECTED ARGS…
  name=$1 expect=$2
  shift 2
  "$cli" fit "$@" -o budget.kanvas > /dev/null 2> err
  rc=$?
  [ $rc -eq 1 ] && grep -q "$expect" err && [ ! -e budget.kanvas ]
  check $? "budget, $name: exit $rc ($(cat err))"
}
expect_budget "2e9 rows" "more than the 4 GiB memory budget" --formula x1 --train 2000000000
expect_budget "2e7 rows to train on" "more than the 4 GiB budget" --formula x1 --train 20000000
expect_budget "width 2,100000,100000,1 G=1000" "would need more than .* MiB (limit" \
  --width 2,100000,100000,1 --grid 1000

exit $fail
