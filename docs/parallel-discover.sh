#!/bin/sh
# parallel-discover.sh — many `kanvas-cli discover` runs, one per CSV file, fanned out with
# GNU Parallel: each file is an independent process, so the same pattern scales from the two
# cores of a laptop (-j2) to many machines (parallel -S host1,host2, or one Slurm array task per
# file). Nothing here is Kanvas-specific cluster code.
#
#   docs/parallel-discover.sh [-j JOBS] [-t TARGET] [-a 'DISCOVER ARGS'] OUTDIR FILE.csv…
#
# For every FILE.csv it writes OUTDIR/FILE.json (the `discover --json` result) and
# OUTDIR/FILE.log (its error output), and at the end OUTDIR/summary.tsv: one line per file with
# its exit status, formula, test RMSE and seconds, plus GNU Parallel's job log in
# OUTDIR/joblog.tsv. JOBS defaults to 2 (both cores here); each discover runs on one thread, so
# the jobs do not fight over the cores. TARGET is the label column (default y). The kanvas-cli
# used is $KANVAS_CLI, or the one on PATH.
#
# Example (two cores, a time limit of 60 s per file):
#   docs/parallel-discover.sh -j2 -a '--time-limit=60' results/ data/*.csv
#   column -t -s "$(printf '\t')" results/summary.tsv
set -eu

jobs=2
target=y
extra=
while getopts j:t:a:h opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    t) target=$OPTARG ;;
    a) extra=$OPTARG ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
  echo "usage: $0 [-j JOBS] [-t TARGET] [-a 'DISCOVER ARGS'] OUTDIR FILE.csv…" >&2
  exit 2
fi
outdir=$1
shift
cli=${KANVAS_CLI:-kanvas-cli}
command -v parallel >/dev/null 2>&1 || { echo "$0: GNU Parallel is not installed" >&2; exit 1; }
command -v "$cli" >/dev/null 2>&1 || { echo "$0: $cli not found (set KANVAS_CLI)" >&2; exit 1; }
mkdir -p "$outdir"

# One job per file: {} is the file, {/.} its name without directory and extension. A failed
# discover does not stop the others (its status is in the job log and the summary).
export OPENBLAS_NUM_THREADS=1
parallel --will-cite -j "$jobs" --joblog "$outdir/joblog.tsv" --halt never \
  "\"$cli\" discover --csv {} --target \"$target\" --threads 1 --json $extra \
     >\"$outdir\"/{/.}.json 2>\"$outdir\"/{/.}.log" ::: "$@" || true

# The summary, in the order the files were given.
python3 - "$outdir" "$@" <<'EOF'
import json, os, sys
out, files = sys.argv[1], sys.argv[2:]
with open(os.path.join(out, "summary.tsv"), "w") as s:
    s.write("file\tstatus\tformula\ttest_rmse\tseconds\n")
    for f in files:
        name = os.path.splitext(os.path.basename(f))[0]
        try:
            with open(os.path.join(out, name + ".json")) as j:
                d = json.load(j)
            s.write(f"{f}\tok\t{d['formula']}\t{d['test_rmse']:.3g}\t{d['seconds']:.2f}\n")
        except (OSError, ValueError, KeyError):
            s.write(f"{f}\tfailed (see {name}.log)\t\t\t\n")
EOF
cat "$outdir/summary.tsv"
