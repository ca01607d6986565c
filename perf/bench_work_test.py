#!/usr/bin/python3
"""The benchmarks time what `klab run` measures: for every benchmark of the quick set on one space,
the work per iteration (bytes, FLOPs) equals the work per sample of klab's record of the same
stage, variant, space and case, and every stage has at least one benchmark.

    python3 perf/bench_work_test.py BENCH_KLAB KLAB [SPACE]
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH, KLAB = sys.argv[1], sys.argv[2]
SPACE = sys.argv[3] if len(sys.argv) > 3 else "serial"


def run(*args):
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class BenchmarkWorkTest(unittest.TestCase):
    def test_every_benchmark_counts_the_work_of_its_record(self):
        with tempfile.TemporaryDirectory() as folder:
            deck = os.path.join(folder, "quick.yaml")
            with open(deck, "w", encoding="utf-8") as handle:
                handle.write(run(BENCH, "--print_deck=quick"))
            results = os.path.join(folder, "klab.json")
            run(KLAB, "run", deck, "--spaces", SPACE, "--json", results)
            bench = os.path.join(folder, "bench.json")
            run(BENCH, f"--benchmark_filter=^[a-z-]+/[^/]+/{SPACE}/quick/", "--benchmark_min_time=0.001",
                f"--benchmark_out={bench}", "--benchmark_out_format=json")
            with open(results, encoding="utf-8") as handle:
                records = json.load(handle)["records"]
            with open(bench, encoding="utf-8") as handle:
                benchmarks = json.load(handle)["benchmarks"]

        work = {}
        for r in records:
            key = "/".join([r["stage_type"], r["variant"], r["space"], "quick",
                            r["case"].replace(" ", ",").replace("/", ",")])
            work[key] = (r["bytes"], r["flops"])
        stages = set()
        for b in benchmarks:
            name = b["name"].removesuffix("/manual_time")
            if name.startswith("calibration/"):
                continue
            with self.subTest(benchmark=name):
                self.assertIn(name, work, "no klab record for this benchmark")
                self.assertEqual((b["bytes"], b["flops"]), work[name])
                self.assertGreater(b["bytes"] + b["flops"], 0)
            stages.add(name.split("/")[0])
        self.assertEqual(stages, {r["stage_type"] for r in records})
        self.assertEqual(len([b for b in benchmarks if not b["name"].startswith("calibration/")]), len(work))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
