#!/usr/bin/env python3
"""make-sessions.py — writes the bad session files of the bad-input corpus.

    make-sessions.py FORMULA.kanvas CSV.kanvas OUTDIR

The two inputs are small valid sessions that kanvas-cli has just written (one with formula
data, one with CSV rows), so the corpus follows the current format: each case changes one
thing. The file of case ID is OUTDIR/ID.kanvas.
"""
import copy
import json
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
edit("s-wrong-version", lambda d: setitem(d, "version", 2))
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
