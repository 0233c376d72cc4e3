#!/bin/bash
# test-bench-scale.sh — smoke tests of `kanvas-cli bench --scale` and of
# tools/pykan-side-by-side.py: the keys and finite numbers of the JSON output, one verdict per
# target in the text output, the script's refusal without a pykan checkout, and its record file
# with --kanvas-only. No timings are asserted.
#
# Usage: test-bench-scale.sh /path/to/kanvas-cli /path/to/pykan-side-by-side.py

set -u

. "$(dirname "$0")/tap.sh"
tap_begin bench-scale "$@"
SCRIPT=${2:?usage: $(basename "$0") /path/to/kanvas-cli /path/to/pykan-side-by-side.py}

# check_json FILE PYTHON-CODE — runs the code with `d` bound to FILE's JSON; it prints what is
# wrong, nothing when all is well.
check_json () {
  python3 - "$1" "$2" <<'EOF'
import json, math, sys
problems = []
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
except (OSError, ValueError) as e:
    print(f"no JSON in {sys.argv[1]}: {e}")
    sys.exit(0)
def number(obj, key, where):
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        problems.append(f"{where}.{key} is {v!r}, not a finite number")
    return v
exec(sys.argv[2])
print("; ".join(problems))
EOF
}

"$CLI" bench --scale --quick --json >scale.json 2>err.txt
rc=$?
if [ "$rc" -eq 0 ]; then pass "bench --scale --quick --json exits 0"
else fail "bench --scale --quick --json exits 0" "exit $rc: $(head -c 300 err.txt)"; fi

problems=$(check_json scale.json '
sections = {
    "adam": ["steps", "seconds", "cpu_seconds", "ms_per_step", "test_rmse", "pykan_ms_per_step",
             "speedup_vs_pykan", "target_speedup"],
    "forward_backward": ["rows", "evals", "seconds", "cpu_seconds", "pykan_seconds_float64",
                         "pykan_seconds_float32", "speedup_vs_pykan_float64",
                         "speedup_vs_pykan_float32", "target_speedup"],
    "grid_extension": ["steps_per_grid", "seconds", "cpu_seconds", "best_test_rmse",
                       "pykan_seconds", "pykan_best_test_rmse", "speedup_vs_pykan",
                       "target_speedup"],
    "grid_extension_uniform": ["steps_per_grid", "seconds", "cpu_seconds", "best_test_rmse",
                               "speedup_vs_pykan"],
    "grid_cost": ["ns_per_sample_g5", "ns_per_sample_g200", "ratio", "target_ratio"],
    "stream": ["rows", "n_in", "file_mb", "read_seconds", "read_mb_per_s", "batch", "steps",
               "train_seconds", "test_rmse", "peak_rss_kb", "target_read_mb_per_s"],
}
if d.get("quick") is not True:
    problems.append("quick is not true")
for name, keys in sections.items():
    s = d.get(name)
    if not isinstance(s, dict):
        problems.append(f"no object {name}")
        continue
    for k in keys:
        v = number(s, k, name)
        if k in ("seconds", "ms_per_step", "rows", "evals", "read_mb_per_s", "ns_per_sample_g5",
                 "ns_per_sample_g200", "file_mb", "peak_rss_kb") and isinstance(v, (int, float)) \
           and not v > 0:
            problems.append(f"{name}.{k} = {v} is not positive")
    if not isinstance(s.get("target_met"), bool) and name != "grid_extension_uniform":
        problems.append(f"{name}.target_met is not a boolean")
for name in ("grid_extension", "grid_extension_uniform"):
    grids = d.get(name, {}).get("grids", [])
    if len(grids) < 2 or grids[0].get("grid") != 3:
        problems.append(f"{name}.grids does not start at G=3 with a refinement after it")
    for g in grids:
        number(g, "best_test_rmse", name + ".grids[]")
    if d.get(name, {}).get("update_grid") is not (name == "grid_extension"):
        problems.append(f"{name}.update_grid is wrong")
if d.get("forward_backward", {}).get("rows") not in (64, 1024):
    problems.append("forward_backward.rows is neither the quick 64 nor 1024")
if d.get("stream", {}).get("rows") != 100000:
    problems.append("stream.rows is not the quick 100000")
')
if [ "$rc" -eq 0 ] && [ -z "$problems" ]; then
  pass "bench --scale --json has every figure, each a finite number"
else
  fail "bench --scale --json has every figure, each a finite number" "$problems"
fi

"$CLI" bench --scale --quick >scale.txt 2>err.txt
rc=$?
verdicts=$(grep -cE '\): (met|missed)$' scale.txt)
if [ "$rc" -eq 0 ] && [ "$verdicts" -eq 6 ]; then
  pass "bench --scale prints a verdict for each of its 6 targets"
else
  fail "bench --scale prints a verdict for each of its 6 targets" "exit $rc, $verdicts verdicts" \
       "$(head -c 600 scale.txt)" "$(head -c 300 err.txt)"
fi

# The side-by-side script: without a pykan checkout it refuses (exit 2) and says what to pass.
python3 "$SCRIPT" --out record.jsonl >out.txt 2>err.txt
rc=$?
if [ "$rc" -eq 2 ] && grep -q -- '--pykan DIR' err.txt && grep -q -- '--kanvas-only' err.txt \
   && [ ! -e record.jsonl ]; then
  pass "pykan-side-by-side.py without --pykan exits 2 and names --pykan and --kanvas-only"
else
  fail "pykan-side-by-side.py without --pykan exits 2 and names --pykan and --kanvas-only" \
       "exit $rc: $(head -c 300 err.txt)"
fi

mkdir not-pykan
python3 "$SCRIPT" --pykan not-pykan --out record.jsonl >out.txt 2>err.txt
rc=$?
if [ "$rc" -eq 2 ] && grep -q 'not a pykan checkout' err.txt && [ ! -e record.jsonl ]; then
  pass "pykan-side-by-side.py refuses a folder that is not a pykan checkout"
else
  fail "pykan-side-by-side.py refuses a folder that is not a pykan checkout" \
       "exit $rc: $(head -c 300 err.txt)"
fi

# Its Kanvas half alone, twice: the record file gets one line per figure each time.
ok=1
for run in 1 2; do
  python3 "$SCRIPT" --kanvas-only --quick --kanvas-cli "$CLI" --out record.jsonl >out.txt 2>err.txt \
    || { ok=0; fail "pykan-side-by-side.py --kanvas-only --quick (run $run) exits 0" \
                    "$(tail -c 400 err.txt)"; }
done
if [ "$ok" -eq 1 ]; then
  problems=$(python3 - record.jsonl <<'EOF'
import json, math, sys
problems = []
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
figures = ["t1_lbfgs_seconds", "t1_test_rmse", "adam_ms_per_step", "fwd_bwd_float64_seconds",
           "fwd_bwd_float32_seconds", "extension_seconds", "extension_best_test_rmse"]
if len(lines) != 2 * len(figures):
    problems.append(f"{len(lines)} lines, not {2 * len(figures)}")
for line in lines:
    r = json.loads(line)
    for k in ("date", "machine", "figure", "unit", "kanvas", "pykan", "ratio", "quick"):
        if k not in r:
            problems.append(f"{r.get('figure')}: no {k}")
    if r.get("figure") not in figures:
        problems.append(f"unknown figure {r.get('figure')}")
    k = r.get("kanvas")
    if not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 0:
        problems.append(f"{r.get('figure')}: kanvas = {k!r}")
    if r.get("pykan") is not None and r.get("pykan_source") != "issue 14":
        problems.append(f"{r.get('figure')}: pykan figure from {r.get('pykan_source')!r}")
    if r.get("pykan") is not None and abs(r["ratio"] - r["pykan"] / k) > 1e-9 * r["ratio"]:
        problems.append(f"{r.get('figure')}: ratio {r['ratio']} is not pykan / kanvas")
    if r.get("quick") is not True or not r.get("machine", {}).get("cpus"):
        problems.append(f"{r.get('figure')}: quick or machine missing")
print("; ".join(problems))
EOF
)
  if [ -z "$problems" ]; then
    pass "pykan-side-by-side.py --kanvas-only appends one record line per figure"
  else
    fail "pykan-side-by-side.py --kanvas-only appends one record line per figure" "$problems"
  fi
fi

tap_end
