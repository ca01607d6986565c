"""Tests of src/tools/gate.py on synthetic Google Benchmark result sets (ctest label `perf`).

    python3 -m unittest -v test_gate        (in src/tools/)
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

import gate

GATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gate.py")
REPETITIONS = 7

# name -> (median seconds, FLOP per byte): two calibrations, memory-bound and compute-bound benchmarks.
BENCHMARKS = {
    "calibration/copy/openmp/quick/N:4000000/manual_time": (0.010, 0.0),
    "calibration/dgemm/openmp/quick/N:256/manual_time": (0.002, 10.7),
    "elementwise/add/openmp/quick/N:100000/manual_time": (0.0001, 1 / 24),
    "solvebak/residual/openmp/quick/obs:5000/vars:200/manual_time": (0.004, 0.25),
    "matmul/kokkos-kernels/openmp/quick/N:256/manual_time": (0.002, 10.7),
    "ann/outer/openmp/quick/obs:10000/neurons:100/manual_time": (0.010, 15.0),
}
SLOWED = "solvebak/residual/openmp/quick/obs:5000/vars:200/manual_time"


def result_set(seed, noise=0.05, scale=None, suite="solvebak"):
    """A Google Benchmark JSON document: every benchmark's repetitions uniform within ±noise of its
    median times scale[name] (default 1), plus the aggregates Google Benchmark adds."""
    rng = random.Random(seed)
    entries = []
    for name, (median, intensity) in BENCHMARKS.items():
        factor = (scale or {}).get(name, 1.0)
        times = [median * factor * (1 + rng.uniform(-noise, noise)) for _ in range(REPETITIONS)]
        for index, seconds in enumerate(times):
            bytes_per_second = 1e9
            entries.append({"name": name, "run_name": name, "run_type": "iteration", "repetitions": REPETITIONS,
                            "repetition_index": index, "iterations": 10, "real_time": seconds * 1e3,
                            "cpu_time": seconds * 1e3, "time_unit": "ms", "bytes/s": bytes_per_second,
                            "FLOP/s": bytes_per_second * intensity, "suite": suite})
        entries.append({"name": name + "_median", "run_name": name, "run_type": "aggregate",
                        "aggregate_name": "median", "real_time": sorted(times)[REPETITIONS // 2] * 1e3,
                        "time_unit": "ms", "suite": suite})
    return {"context": {"host_name": "synthetic"}, "benchmarks": entries}


class GateRun(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)

    def write(self, name, document):
        path = os.path.join(self.directory.name, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(document if isinstance(document, str) else json.dumps(document))
        return path

    def run_gate(self, baseline, new, *options):
        """(exit status, {benchmark name: verdict}, stderr) of the gate on two documents."""
        completed = subprocess.run(
            [sys.executable, GATE, self.write("baseline.json", baseline), self.write("new.json", new), *options],
            capture_output=True, text=True, check=False)
        verdicts = {}
        for line in completed.stdout.splitlines()[1:]:
            fields = line.split()
            if fields and not line.startswith("gate:"):
                verdicts[fields[-1].split(":", 1)[1]] = fields[0]
        return completed.returncode, verdicts, completed.stderr

    def test_a_30_percent_slowdown_is_a_regression(self):
        status, verdicts, _ = self.run_gate(result_set(1), result_set(2, scale={SLOWED: 1.3}))
        self.assertEqual(status, 1)
        self.assertEqual(verdicts[SLOWED], "REGRESSION")
        others = {name: verdict for name, verdict in verdicts.items() if name != SLOWED}
        self.assertNotIn("REGRESSION", others.values())

    def test_noise_alone_passes(self):
        for seed in range(5):
            status, verdicts, _ = self.run_gate(result_set(10 + seed), result_set(20 + seed))
            self.assertEqual(status, 0, verdicts)
            self.assertNotIn("REGRESSION", verdicts.values())

    def test_a_machine_twice_as_slow_passes_thanks_to_the_calibration(self):
        everything_slower = {name: 2.0 for name in BENCHMARKS}
        status, verdicts, _ = self.run_gate(result_set(3), result_set(4, scale=everything_slower))
        self.assertEqual(status, 0, verdicts)
        self.assertEqual(set(verdicts.values()), {"ok", "calibration"})
        # Without the calibration the same slow-down is a regression of every benchmark.
        uncalibrated = {k: v for k, v in BENCHMARKS.items() if not k.startswith("calibration/")}
        baseline, new = result_set(3), result_set(4, scale=everything_slower)
        for document in (baseline, new):
            document["benchmarks"] = [e for e in document["benchmarks"] if e["name"].split("_median")[0] in uncalibrated]
        status, verdicts, _ = self.run_gate(baseline, new)
        self.assertEqual(status, 1)
        self.assertEqual(set(verdicts.values()), {"REGRESSION"})

    def test_a_faster_calibration_alone_does_not_make_unchanged_benchmarks_regressions(self):
        # The calibrations 30 % faster, the benchmarks unchanged: by default only a slower
        # calibration is divided out; dividing by this one too flags every benchmark.
        scale = {name: 0.7 for name in BENCHMARKS if name.startswith("calibration/")}
        status, verdicts, _ = self.run_gate(result_set(13), result_set(14, scale=scale))
        self.assertEqual(status, 0, verdicts)
        status, verdicts, _ = self.run_gate(result_set(13), result_set(14, scale=scale), "--calibration", "both")
        self.assertEqual(status, 1)
        self.assertEqual(verdicts[SLOWED], "REGRESSION")

    def test_compute_bound_benchmarks_follow_the_dgemm_and_memory_bound_ones_the_copy(self):
        # The dgemm calibration and every benchmark 2x slower, the copy calibration unchanged: the
        # compute-bound benchmarks are normalised away, the memory-bound ones are regressions.
        scale = {name: 2.0 for name in BENCHMARKS if not name.startswith("calibration/copy")}
        status, verdicts, _ = self.run_gate(result_set(5), result_set(6, scale=scale))
        self.assertEqual(status, 1)
        for name, (_, intensity) in BENCHMARKS.items():
            if not name.startswith("calibration/"):
                self.assertEqual(verdicts[name], "REGRESSION" if intensity < 4 else "ok", name)

    def test_a_speedup_is_reported_as_faster_and_passes(self):
        status, verdicts, _ = self.run_gate(result_set(7), result_set(8, scale={SLOWED: 0.5}))
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "faster")

    def test_missing_and_new_benchmarks_are_reported_without_failing(self):
        baseline, new = result_set(9), result_set(10)
        new["benchmarks"] = [e for e in new["benchmarks"] if not e["name"].startswith(SLOWED)]
        new["benchmarks"].append(dict(new["benchmarks"][-1], name="gd/sgd/openmp/quick/obs:4000/vars:16/manual_time",
                                      run_name="gd/sgd/openmp/quick/obs:4000/vars:16/manual_time",
                                      run_type="iteration"))
        status, verdicts, _ = self.run_gate(baseline, new)
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "missing")
        self.assertEqual(verdicts["gd/sgd/openmp/quick/obs:4000/vars:16/manual_time"], "new")

    def test_a_higher_threshold_tolerates_the_slowdown(self):
        status, verdicts, _ = self.run_gate(result_set(1), result_set(2, scale={SLOWED: 1.3}), "--threshold", "0.4")
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "ok")

    def test_malformed_input_exits_2_with_one_line_naming_the_file(self):
        good = result_set(11)
        broken_time = result_set(12)
        broken_time["benchmarks"][0]["real_time"] = "fast"
        cases = {
            "not JSON": "{\"benchmarks\": [",
            "no \"benchmarks\" list": {"context": {}},
            "\"real_time\" is not a non-negative number": broken_time,
            "no benchmark samples": {"benchmarks": [{"name": "x_median", "run_type": "aggregate", "real_time": 1}]},
        }
        for expected, document in cases.items():
            status, _, stderr = self.run_gate(good, document)
            self.assertEqual(status, 2, expected)
            self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
            self.assertIn("new.json", stderr)
            self.assertIn(expected, stderr)
        completed = subprocess.run([sys.executable, GATE, os.path.join(self.directory.name, "absent.json"),
                                    self.write("new.json", good)], capture_output=True, text=True, check=False)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("absent.json: cannot read", completed.stderr)


class MannWhitney(unittest.TestCase):
    def test_separated_samples(self):
        # 5 against 5, fully separated: U = 25, z = (25 - 12.5 - 0.5) / sqrt(25 * 11 / 12).
        self.assertAlmostEqual(gate.mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]), 0.00609, places=4)
        self.assertGreater(gate.mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 0.99)

    def test_ties_reduce_the_variance(self):
        # Ranks 1.5, 1.5, 3, 4 | 5, 6.5, 6.5, 8: U_x = 16, the tie term 12 of 56 lowers the variance.
        p = gate.mann_whitney_greater([5, 6, 7, 7], [1, 1, 2, 3])
        z = (16 - 8 - 0.5) / ((16 / 12 * (9 - 12 / 56)) ** 0.5)
        self.assertAlmostEqual(p, gate.normal_upper_tail(z), places=12)

    def test_identical_samples_give_no_evidence(self):
        self.assertEqual(gate.mann_whitney_greater([1.0] * 5, [1.0] * 5), 1.0)
        self.assertGreater(gate.mann_whitney_greater([1, 2, 3], [1, 2, 3]), 0.5)


if __name__ == "__main__":
    unittest.main()
