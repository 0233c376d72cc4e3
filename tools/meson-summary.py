#!/usr/bin/env python3
"""Prints the closing line CI reads, `meson: N passed, N failed, N skipped`, from Meson's
test log (one JSON object per line). Usage: meson-summary.py build/meson-logs/testlog.json..."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                result = json.loads(line).get("result", "")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        print(f"meson-summary: {path} not found (did the tests run?)", file=sys.stderr)
        failed += 1
print(f"meson: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
