#!/usr/bin/env python3
"""Runs the workloads of `kanvas-cli bench` and `kanvas-cli bench --scale` in Kanvas and in
pykan, one after the other on the same machine, and appends one JSON line per figure to a
record file.

Usage:
  pykan-side-by-side.py --pykan DIR --out RECORD.jsonl [--kanvas-cli PATH] [--quick]
  pykan-side-by-side.py --kanvas-only --out RECORD.jsonl [--kanvas-cli PATH] [--quick]

DIR is a pykan checkout (git clone https://github.com/KindXiaoming/pykan; the figures of issue
14 are from pykan 0.2.8) in a Python with torch, numpy, sympy, scikit-learn, pandas, pyyaml,
tqdm and matplotlib installed. The workloads, with the sizes Kanvas reports in its --json
output (--quick makes both sides small; the ratios then mean little):

  T1           exp(sin(pi*x1)+x2^2), create_dataset's 1000/1000 rows (seed 0), width [2,5,1], G=5,
               k=3, model seed 1: 50 L-BFGS steps (fit, lamb 0), seconds and test RMSE.
  Adam         width [10,10,10,1], G=5, k=3, 1000/1000 rows of a 10-variable formula: 100 Adam
               steps at lr 0.01 (fit's other defaults), milliseconds per step.
  fwd+bwd      width [784,64,10], G=5, k=3: forward and backward of the MSE loss over 1024 rows
               of inputs uniform on [-1,1], in float64 and float32 (pykan) and float64 (Kanvas).
  extension    width [2,1,1], T1's data: G = 3, 10, 20, 50, 100 (pykan's Example 1), 200 L-BFGS
               steps at each, refined from the previous model; total seconds, best test RMSE.

Each record line: {"date", "machine", "figure", "unit", "kanvas", "pykan", "pykan_source",
"ratio", "quick", ...}, where ratio = pykan / kanvas (above 1: Kanvas is faster, or more
accurate for an RMSE). With --kanvas-only, "pykan" is the figure issue 14 gives for this machine
kind (pykan_source "issue 14") where there is one.

Exit status: 0 when the record was written, 1 when a run failed, 2 for a usage error (among
them: no --pykan and no --kanvas-only).
"""
import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
T1_FORMULA = "exp(sin(pi*x1)+x2^2)"
# The issue's figures for pykan 0.2.8 on this machine kind (12.0 s for T1 is cli-bench.c's).
ISSUE_PYKAN = {
    "t1_lbfgs_seconds": 12.0,
    "adam_ms_per_step": 394.0,
    "fwd_bwd_float64_seconds": 6.8,
    "fwd_bwd_float32_seconds": 2.4,
    "extension_seconds": 204.0,
    "extension_best_test_rmse": 2.7e-6,
}


def find_kanvas_cli(given):
    if given:
        return given
    for build in ("build", "build-release"):
        path = os.path.join(HERE, "..", build, "app", "kanvas-cli")
        if os.access(path, os.X_OK):
            return os.path.normpath(path)
    return "kanvas-cli"


def run_json(cmd):
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    except OSError as e:
        sys.exit(f"pykan-side-by-side: cannot run {cmd[0]}: {e}")
    if proc.returncode != 0:
        sys.exit(f"pykan-side-by-side: {' '.join(cmd)} failed with exit status {proc.returncode}")
    return json.loads(proc.stdout)


def machine():
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "arch": platform.machine(),
        "cpu": model,
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "system": platform.platform(),
    }


def kanvas_figures(cli, quick):
    """The figures and the workload sizes from `bench --json` and `bench --scale --json`."""
    extra = ["--quick"] if quick else []
    bench = run_json([cli, "bench", "--json"] + extra)
    scale = run_json([cli, "bench", "--scale", "--json"] + extra)
    t1 = next(r for r in bench["rows"]
              if r["optimizer"] == "lbfgs" and r["threads"] == 1 and "time to" not in r["name"])
    ext = scale["grid_extension"]
    sizes = {
        "t1_steps": t1["steps"],
        "adam_steps": scale["adam"]["steps"],
        "adam_lr": scale["adam"]["lr"],
        "adam_formula": scale["adam"]["formula"],
        "fwd_bwd_rows": scale["forward_backward"]["rows"],
        "grids": [g["grid"] for g in ext["grids"]],
        "extension_steps": ext["steps_per_grid"],
    }
    figures = {
        "t1_lbfgs_seconds": t1["seconds"],
        "t1_test_rmse": t1["test_rmse"],
        "adam_ms_per_step": scale["adam"]["ms_per_step"],
        "fwd_bwd_float64_seconds": scale["forward_backward"]["seconds"],
        "extension_seconds": ext["seconds"],
        "extension_best_test_rmse": ext["best_test_rmse"],
    }
    return sizes, figures


def formula_to_torch(formula, torch):
    """A lambda over x (N × n) for the formulas above ("^" is a power, x1 is column 0)."""
    import re
    expr = formula.replace("^", "**")
    expr = re.sub(r"\bx(\d+)\b", lambda m: f"x[:,[{int(m.group(1)) - 1}]]", expr)
    names = {"exp": torch.exp, "sin": torch.sin, "cos": torch.cos, "pi": math.pi}
    return lambda x: eval(expr, {"__builtins__": {}}, dict(names, x=x))


def pykan_version(pykan_dir):
    """The version in the checkout's setup.py, and its git commit when it is a clone."""
    import re
    version = None
    try:
        with open(os.path.join(pykan_dir, "setup.py"), encoding="utf-8") as f:
            m = re.search(r"version\s*=\s*[\"']([^\"']+)", f.read())
            version = m.group(1) if m else None
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", pykan_dir, "rev-parse", "--short", "HEAD"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = ""
    return f"{version} ({commit})" if commit else version


def pykan_figures(pykan_dir, sizes):
    sys.path.insert(0, os.path.abspath(pykan_dir))
    try:
        import torch
        from kan import KAN, create_dataset
    except ImportError as e:
        sys.exit(f"pykan-side-by-side: cannot import pykan from {pykan_dir}: {e} "
                 "(it needs torch, numpy, sympy, scikit-learn, pandas, pyyaml, tqdm, matplotlib)")
    # pykan's fit saves checkpoints under ./model; keep them out of the caller's folder.
    os.chdir(tempfile.mkdtemp(prefix="pykan-side-by-side."))
    torch.set_default_dtype(torch.float64)

    def model(width, grid, dtype=torch.float64):
        torch.set_default_dtype(dtype)
        try:
            return KAN(width=width, grid=grid, k=3, seed=1, device="cpu", auto_save=False)
        except TypeError:  # pykan before auto_save
            return KAN(width=width, grid=grid, k=3, seed=1, device="cpu")

    def dataset(formula, n_var):
        return create_dataset(formula_to_torch(formula, torch), n_var=n_var, device="cpu")

    out = {"pykan_version": pykan_version(pykan_dir), "torch_version": torch.__version__,
           "torch_threads": torch.get_num_threads()}

    t1 = dataset(T1_FORMULA, 2)
    m = model([2, 5, 1], 5)
    start = time.perf_counter()
    res = m.fit(t1, opt="LBFGS", steps=sizes["t1_steps"], lamb=0.0)
    out["t1_lbfgs_seconds"] = time.perf_counter() - start
    out["t1_test_rmse"] = float(res["test_loss"][-1])

    data = dataset(sizes["adam_formula"], 10)
    m = model([10, 10, 10, 1], 5)
    start = time.perf_counter()
    m.fit(data, opt="Adam", steps=sizes["adam_steps"], lr=sizes["adam_lr"])
    out["adam_ms_per_step"] = 1e3 * (time.perf_counter() - start) / sizes["adam_steps"]

    for dtype, key in ((torch.float64, "fwd_bwd_float64_seconds"),
                       (torch.float32, "fwd_bwd_float32_seconds")):
        m = model([784, 64, 10], 5, dtype)
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(sizes["fwd_bwd_rows"], 784, generator=gen, dtype=dtype) * 2 - 1
        y = torch.rand(sizes["fwd_bwd_rows"], 10, generator=gen, dtype=dtype)
        times = []
        for rep in range(4):  # the first one warms up
            m.zero_grad()
            start = time.perf_counter()
            loss = torch.mean((m(x) - y) ** 2)
            loss.backward()
            times.append(time.perf_counter() - start)
        out[key] = sum(times[1:]) / len(times[1:])
    torch.set_default_dtype(torch.float64)

    m = None
    best = math.inf
    start = time.perf_counter()
    for q, grid in enumerate(sizes["grids"]):
        m = model([2, 1, 1], grid) if q == 0 else m.refine(grid)
        res = m.fit(t1, opt="LBFGS", steps=sizes["extension_steps"])
        best = min(best, min(float(v) for v in res["test_loss"]))
    out["extension_seconds"] = time.perf_counter() - start
    out["extension_best_test_rmse"] = best
    return out


UNITS = {
    "t1_lbfgs_seconds": "s",
    "t1_test_rmse": "rmse",
    "adam_ms_per_step": "ms",
    "fwd_bwd_float64_seconds": "s",
    "fwd_bwd_float32_seconds": "s",
    "extension_seconds": "s",
    "extension_best_test_rmse": "rmse",
}


def main():
    parser = argparse.ArgumentParser(
        description="Kanvas and pykan side by side on the workloads of kanvas-cli bench "
                    "(--scale); appends JSON lines to a record file.")
    parser.add_argument("--pykan", metavar="DIR", help="a pykan checkout to run")
    parser.add_argument("--kanvas-only", action="store_true",
                        help="record Kanvas's figures alone, beside issue 14's pykan figures")
    parser.add_argument("--out", metavar="FILE", required=True,
                        help="record file to append JSON lines to")
    parser.add_argument("--kanvas-cli", metavar="PATH",
                        help="kanvas-cli to run (default: build/app/kanvas-cli, then PATH)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes on both sides (a smoke test)")
    args = parser.parse_args()
    if args.pykan is None and not args.kanvas_only:
        parser.error("no pykan checkout given: pass --pykan DIR (git clone "
                     "https://github.com/KindXiaoming/pykan) to run pykan side by side, or "
                     "--kanvas-only to record Kanvas's figures alone")
    if args.pykan is not None and args.kanvas_only:
        parser.error("--pykan and --kanvas-only exclude each other")
    if args.pykan is not None and not os.path.isfile(os.path.join(args.pykan, "kan", "__init__.py")):
        parser.error(f"{args.pykan} is not a pykan checkout (no kan/__init__.py in it)")
    out_path = os.path.abspath(args.out)

    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    host = machine()
    sizes, kanvas = kanvas_figures(find_kanvas_cli(args.kanvas_cli), args.quick)
    if args.pykan is not None:
        pykan = pykan_figures(args.pykan, sizes)
        source = "measured"
    else:
        pykan = dict(ISSUE_PYKAN)
        source = "issue 14"

    lines = []
    for figure, unit in UNITS.items():
        k = kanvas.get(figure)
        if figure == "fwd_bwd_float32_seconds":
            k = kanvas["fwd_bwd_float64_seconds"]  # Kanvas computes in float64 only
        p = pykan.get(figure)
        ratio = p / k if p is not None and k else None
        record = {"date": date, "machine": host, "figure": figure, "unit": unit,
                  "kanvas": k, "pykan": p, "pykan_source": source if p is not None else None,
                  "ratio": ratio, "quick": args.quick, "sizes": sizes}
        for key in ("pykan_version", "torch_version", "torch_threads"):
            if key in pykan:
                record[key] = pykan[key]
        lines.append(json.dumps(record, sort_keys=True))
    with open(out_path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    for line in lines:
        r = json.loads(line)
        p = f"{r['pykan']:.4g} ({r['pykan_source']})" if r["pykan"] is not None else "-"
        ratio = f"{r['ratio']:.3g}x" if r["ratio"] is not None else "-"
        print(f"{r['figure']:26} kanvas {r['kanvas']:<11.4g} pykan {p:<24} {ratio}")
    print(f"appended {len(lines)} records to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
