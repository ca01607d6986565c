#!/usr/bin/python3
"""Merges the Google Benchmark JSON files of several benchmark runs into one result set.

    python3 src/tools/merge.py OUT.json matmul.json gd.json ...

Each entry gets "suite": the file's name without ".json" (perf/regression.sh runs bench_klab once
per stage, into a file named after the stage), so that src/tools/gate.py divides a benchmark by
the calibration measured in the same run. The context is the first file's, with each run's
"date" and "executable" kept under "suites".
"""

import json
import os
import sys


def main(argv):
    if len(argv) < 3:
        print("usage: merge.py OUT.json RESULT.json...", file=sys.stderr)
        return 2
    out_path, merged = argv[1], {"context": None, "suites": {}, "benchmarks": []}
    for path in argv[2:]:
        suite = os.path.basename(path)[: -len(".json")] if path.endswith(".json") else os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as error:
            print(f"merge: {path}: {error}", file=sys.stderr)
            return 2
        if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
            print(f"merge: {path}: not a Google Benchmark result: no \"benchmarks\" list", file=sys.stderr)
            return 2
        context = document.get("context", {})
        merged["context"] = merged["context"] or context
        merged["suites"][suite] = {key: context.get(key) for key in ("date", "executable")}
        merged["benchmarks"] += [dict(entry, suite=suite) for entry in document["benchmarks"]]
    temporary = out_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(merged, handle, indent=1)
        handle.write("\n")
    os.replace(temporary, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
