#!/usr/bin/env python3
"""make-sessions.py — writes the bad session files of the bad-input corpus.

    make-sessions.py FORMULA.kanvas CSV.kanvas OUTDIR

The two inputs are small valid sessions that kanvas-cli has just written (one with formula
data, one with CSV rows), so the corpus follows the current format: each case changes one
thing. The file of case ID is OUTDIR/ID.kanvas.
"""
import copy
import json
import re
import sys

formula_path, csv_path, outdir = sys.argv[1:4]
with open(formula_path, encoding="utf-8") as f:
    base_text = f.read()
base = json.loads(base_text)
with open(csv_path, encoding="utf-8") as f:
    csv_base = json.loads(f.read())


def write_text(case, text):
    with open(f"{outdir}/{case}.kanvas", "w", encoding="utf-8") as f:
        f.write(text)


def write_bytes(case, data):
    with open(f"{outdir}/{case}.kanvas", "wb") as f:
        f.write(data)


def edit(case, change, doc=base):
    d = copy.deepcopy(doc)
    change(d)
    write_text(case, json.dumps(d, indent=1))


def layer(d, i=0):
    return d["model"]["layers"][i]


def setitem(obj, key, value):
    obj[key] = value


# Valid (accepted).
write_text("a-session", base_text)
# Not JSON, or not a session.
write_text("s-empty", "")
write_text("s-truncated", base_text[: len(base_text) // 2])
write_text("s-refine-truncated", base_text[: len(base_text) // 2])
write_text("s-not-json", "this is not a session\n")
write_bytes("s-binary", bytes(range(256)) * 4)
write_text("s-root-array", "[1, 2, 3]\n")
# Envelope.
edit("s-wrong-version", lambda d: setitem(d, "version", 3))
edit("s-wrong-format", lambda d: setitem(d, "format", "something-else"))
edit("s-unknown-field", lambda d: setitem(d, "colour", "blue"))
edit("s-missing-model-k", lambda d: d["model"].pop("k"))
# Types.
edit("s-string-grid", lambda d: setitem(d["model"], "grid", "2"))
edit("s-float-steps", lambda d: setitem(d["train"], "steps", 1.5))
edit("s-coef-string", lambda d: setitem(layer(d), "coef", "0.1 0.2"))
# Shapes and counts.
edit("s-width-mismatch", lambda d: setitem(d["model"], "width", "3,1,1"))
edit("s-coef-short", lambda d: layer(d)["coef"].pop())
edit("s-grid-row-short", lambda d: layer(d)["grid"][0].pop())
edit("s-mask-count", lambda d: layer(d)["mask"].append(1))
edit("s-layer-missing", lambda d: d["model"]["layers"].pop())
edit("s-negative-grid", lambda d: setitem(d["model"], "grid", -3))
edit("s-negative-ntrain", lambda d: setitem(d["data"], "n_train", -5))
# Sizes that would allocate gigabytes.
edit("s-absurd-ntrain", lambda d: setitem(d["data"], "n_train", 10 ** 12))
edit("s-absurd-width", lambda d: (setitem(d["model"], "width", "2,100000,100000,1"),
                                  setitem(d["model"], "grid", 1000)))
edit("s-absurd-grid", lambda d: setitem(d["model"], "grid", 2 ** 31 - 1))
# Values.
# JSON has no NaN; json-glib reads 1e400 as infinity.
for case, literal in (("s-nan-coef", "NaN"), ("s-inf-coef", "1e400")):
    d = copy.deepcopy(base)
    layer(d)["coef"][1] = 12345.678
    write_text(case, json.dumps(d, indent=1).replace("12345.678", literal, 1))
edit("s-unknown-symbolic", lambda d: setitem(layer(d)["sym_fn"], 0, "frobnicate"))
edit("s-empty-range", lambda d: setitem(d["data"]["ranges"], 0, [1.0, -1.0]))
edit("s-bad-formula", lambda d: setitem(d["data"], "formula", "x1*x2+"))
# Rows of CSV data.
edit("s-csv-ragged-row", lambda d: d["data"]["train_x"][0].append(7.0), csv_base)
edit("s-csv-count-mismatch", lambda d: d["data"]["train_y"].pop(), csv_base)

# sessions, round two: the strict JSON reader (every rule with its line and column), nesting
# far beyond the limit, and sizes and counts far beyond their ranges.
write_text("s2-deep-arrays", "[" * 100000 + "]" * 100000)
write_text("s2-deep-objects", '{"a":' * 100000 + "1" + "}" * 100000)
write_text("s2-trailing-garbage", base_text + "garbage\n")
write_text("s2-comment", "// edited by hand\n" + base_text)
write_text("s2-single-quotes", base_text.replace('"loss": "mse"', "\"loss\": 'mse'", 1))
write_text("s2-leading-zero", base_text.replace('"k": 1,', '"k": 01,', 1))
write_text("s2-trailing-comma", base_text.replace('"history": [', '"history": [1,]', 1))
write_text("s2-duplicate-key", base_text.replace('"k": 1,', '"k": 1, "k": 1,', 1))
write_text("s2-control-char", base_text.replace('"op": "fit"', '"op": "f\tit"', 1))
write_bytes("s2-invalid-utf8", base_text.replace('"op": "fit"', '"op": "f@t"', 1)
            .encode("utf-8").replace(b"f@t", b"f\xfft", 1))
write_text("s2-lone-surrogate", base_text.replace('"op": "fit"', '"op": "\\ud800"', 1))
for case, literal in (("s2-infinity-coef", "-Infinity"), ("s2-nan-literal", "nan")):
    d = copy.deepcopy(base)
    layer(d)["coef"][0] = 12345.678
    write_text(case, json.dumps(d, indent=1).replace("12345.678", literal, 1))
write_text("s2-version-1e30", re.sub(r'"version": [0-9]+', '"version": 1e30', base_text, count=1))
edit("s2-lbfgs-history", lambda d: setitem(d["train"], "lbfgs_history", 2 ** 31 - 1))
edit("s2-negative-history", lambda d: setitem(d["train"], "lbfgs_history", -5))
edit("s2-huge-max-iter", lambda d: setitem(d["train"], "lbfgs_max_iter", 2 ** 31 - 1))
edit("s2-negative-steps", lambda d: setitem(d["train"], "steps", -1))
edit("s2-huge-threads", lambda d: setitem(d["train"], "threads", 100000))
edit("s2-huge-batch", lambda d: setitem(d["train"], "batch", 2 ** 63))
edit("s2-negative-grid-updates", lambda d: setitem(d["train"], "grid_update_num", -1))
edit("s2-huge-stop-grid-update", lambda d: setitem(d["train"], "stop_grid_update_step", 2 ** 40))
edit("s2-huge-k", lambda d: setitem(d["model"], "k", 1000))
edit("s2-seed-401-digits", lambda d: setitem(d["model"], "seed", int("7" * 401)))
edit("s2-ntest-2e64", lambda d: setitem(d["data"], "n_test", 2 ** 64))
edit("s2-wide-no-arrays", lambda d: setitem(d["model"], "width", "2,1000000,1"))
