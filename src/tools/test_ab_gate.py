"""Tests of src/tools/ab_gate.py on synthetic paired samples and a stand-in benchmark binary
(ctest label `perf`).

    python3 -m unittest -v test_ab_gate        (in src/tools/)
"""

import json
import os
import random
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

import ab_gate
import gate

AB_GATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ab_gate.py")
ROUNDS = 10
CI_THRESHOLD = "0.15"

BENCHMARKS = {  # name -> seconds per iteration
    "calibration/copy/openmp/quick/N=4000000/manual_time": 0.005,
    "calibration/dgemm/openmp/quick/N=256/manual_time": 0.002,
    "elementwise/kernel/openmp/quick/N=1000000/manual_time": 0.001,
    "matmul/tiled/openmp/quick/N=256/manual_time": 0.003,
    "solvebak/gram/serial/quick/1000x500/manual_time": 0.0001,
    "gd/sgd/openmp/quick/4000x16,b=1/manual_time": 0.0015,
}
SLOWED = "matmul/tiled/openmp/quick/N=256/manual_time"
FEW = {name: BENCHMARKS[name] for name in list(BENCHMARKS)[1:4]}  # for the stand-in binaries


def synthetic_pairs(seed, machine=2.0, jitter=0.05, scale=None, rounds=ROUNDS):
    """Samples of an A/B run on a noisy machine: in every round the machine is slower by a factor
    drawn from [1, machine] for each benchmark (what the two sides of a pair share), and each
    sample by a further factor from [1 - jitter, 1 + jitter] of its own; the candidate's times are
    multiplied by scale[name] (default 1)."""
    rng = random.Random(seed)
    samples = {}
    for name, seconds in BENCHMARKS.items():
        base, candidate = [], []
        for _ in range(rounds):
            load = rng.uniform(1.0, machine)
            base.append(seconds * load * rng.uniform(1 - jitter, 1 + jitter))
            candidate.append(seconds * load * rng.uniform(1 - jitter, 1 + jitter) * (scale or {}).get(name, 1.0))
        samples[name] = {"base": base, "candidate": candidate}
    return ab_gate.Pairs(samples, meta={"base": "abc1234 synthetic base", "candidate": "synthetic candidate"})


class Judgement(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)

    def judge(self, pairs, *options):
        """(exit status, {benchmark: verdict}, stdout, stderr) of `ab_gate.py judge` on the pairs."""
        path = os.path.join(self.directory.name, "pairs.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(pairs if isinstance(pairs, str) else json.dumps(pairs.to_json()))
        completed = subprocess.run([sys.executable, AB_GATE, "judge", path, *options],
                                   capture_output=True, text=True, check=False)
        verdicts = {line.split()[-1]: line.split()[0] for line in completed.stdout.splitlines()
                    if line.split() and line.split()[-1] in BENCHMARKS}
        return completed.returncode, verdicts, completed.stdout, completed.stderr

    def test_machine_noise_alone_passes(self):
        for seed in range(20):
            status, verdicts, _, _ = self.judge(synthetic_pairs(seed), "--threshold", CI_THRESHOLD)
            self.assertEqual(status, 0, (seed, verdicts))
            self.assertNotIn("REGRESSION", verdicts.values())

    def test_a_20_percent_slowdown_under_2x_machine_noise_is_flagged(self):
        for seed in range(20):
            status, verdicts, _, _ = self.judge(synthetic_pairs(100 + seed, scale={SLOWED: 1.2}),
                                                "--threshold", CI_THRESHOLD)
            self.assertEqual(status, 1, (seed, verdicts))
            self.assertEqual(verdicts[SLOWED], "REGRESSION")
            self.assertEqual(list(verdicts.values()).count("REGRESSION"), 1, verdicts)

    def test_the_same_samples_unpaired_hide_the_slowdown(self):
        # Without the pairing the 2x machine noise swamps the 20 %: base and candidate samples
        # overlap, and the Mann-Whitney test of src/tools/gate.py (on unpaired samples) sees
        # nothing significant at alpha = 0.01 in most runs.
        flagged = 0
        for seed in range(20):
            sides = synthetic_pairs(100 + seed, scale={SLOWED: 1.2}).samples[SLOWED]
            flagged += gate.mann_whitney_greater(sides["candidate"], sides["base"]) < 0.01
        self.assertLess(flagged, 10)

    def test_a_speedup_is_faster_and_passes(self):
        status, verdicts, _, _ = self.judge(synthetic_pairs(7, scale={SLOWED: 0.7}))
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "faster")

    def test_a_slowdown_below_the_threshold_passes(self):
        status, verdicts, _, _ = self.judge(synthetic_pairs(8, scale={SLOWED: 1.2}), "--threshold", "0.3")
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "ok")

    def test_calibration_is_a_health_check_not_a_regression(self):
        calibration = "calibration/copy/openmp/quick/N=4000000/manual_time"
        status, verdicts, _, stderr = self.judge(synthetic_pairs(9, scale={calibration: 1.5}))
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[calibration], "calibration")
        self.assertIn("did not see the same machine", stderr)

    def test_the_report_names_the_base(self):
        _, _, stdout, _ = self.judge(synthetic_pairs(10))
        self.assertIn("base:       abc1234 synthetic base", stdout)
        self.assertIn(f"{ROUNDS} rounds", stdout)

    def test_too_few_rounds_cannot_flag_and_say_so(self):
        status, verdicts, _, stderr = self.judge(synthetic_pairs(11, scale={SLOWED: 2.0}, rounds=5))
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "ok")
        self.assertIn("fewer than 7", stderr)

    def test_missing_and_new_benchmarks_are_reported_without_failing(self):
        pairs = synthetic_pairs(12)
        del pairs.samples[SLOWED]
        pairs.missing = [SLOWED]
        pairs.new = ["gd/sgd/openmp/quick/4000x16,b=1/manual_time"]
        del pairs.samples["gd/sgd/openmp/quick/4000x16,b=1/manual_time"]
        status, verdicts, _, _ = self.judge(pairs)
        self.assertEqual(status, 0)
        self.assertEqual(verdicts[SLOWED], "missing")
        self.assertEqual(verdicts["gd/sgd/openmp/quick/4000x16,b=1/manual_time"], "new")

    def test_malformed_input_exits_2_with_one_line_naming_the_file(self):
        uneven = synthetic_pairs(13).to_json()
        uneven["samples"][SLOWED]["candidate"].pop()
        negative = synthetic_pairs(14).to_json()
        negative["samples"][SLOWED]["base"][0] = -1.0
        cases = {
            "not JSON": "{\"samples\": [",
            "not the samples of an A/B run": json.dumps({"benchmarks": []}),
            "not two lists of one length": json.dumps(uneven),
            "not a positive number": json.dumps(negative),
        }
        for expected, text in cases.items():
            status, _, _, stderr = self.judge(text)
            self.assertEqual(status, 2, expected)
            self.assertEqual(len(stderr.strip().splitlines()), 1, stderr)
            self.assertIn("pairs.json", stderr)
            self.assertIn(expected, stderr)


class Statistics(unittest.TestCase):
    def test_wilcoxon_exact_values(self):
        self.assertEqual(ab_gate.wilcoxon_greater([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 1 / 1024)
        # Positive ranks 2 + 3 + 4 + 5 = 14: the sign assignments reaching 14 or 15 are 2 of 32.
        self.assertEqual(ab_gate.wilcoxon_greater([-1, 2, 3, 4, 5]), 2 / 32)
        self.assertEqual(ab_gate.wilcoxon_greater([-1, -2, -3]), 1.0)

    def test_wilcoxon_ties_and_zeros(self):
        # |d| = 1, 1, 1, 2: ranks 2, 2, 2, 4; positive sum 8, reached by 4 of the 16 assignments.
        self.assertEqual(ab_gate.wilcoxon_greater([1, 1, -1, 2]), 4 / 16)
        self.assertEqual(ab_gate.wilcoxon_greater([0, 0, 1, 2]), ab_gate.wilcoxon_greater([1, 2]))
        self.assertEqual(ab_gate.wilcoxon_greater([0.0] * 5), 1.0)

    def test_median_interval_order_statistics(self):
        low, high, level = ab_gate.median_interval(list(range(10)))
        self.assertEqual((low, high), (1, 8))
        self.assertAlmostEqual(level, 1 - 2 * 11 / 1024)
        self.assertEqual(ab_gate.median_interval([3.0])[:2], (3.0, 3.0))


FAKE_BENCH = """\
#!{python}
# A stand-in for bench_klab: Google Benchmark's listing and JSON output for a few names, each
# taking SECONDS[name] * FACTOR seconds; every run is logged to LOG as "<label> <name>".
import json, re, sys
SECONDS = {seconds!r}
FACTOR, LABEL, LOG = {factor!r}, {label!r}, {log!r}
options = dict(a[2:].split("=", 1) for a in sys.argv[1:])
pattern = re.compile(options.get("benchmark_filter", "."))
names = [n for n in SECONDS if pattern.search(n)]
if options.get("benchmark_list_tests") == "true":
    print("Kokkos::OpenMP::initialize WARNING: a warning among the names")
    print("\\n".join(names))
    sys.exit(0)
with open(LOG, "a") as log:
    log.write("".join(f"{{LABEL}} {{n}}\\n" for n in names))
print(json.dumps({{"context": {{}}, "benchmarks": [
    {{"name": n, "run_name": n, "run_type": "iteration", "real_time": SECONDS[n] * FACTOR * 1e3, "time_unit": "ms"}}
    for n in names]}}))
"""


class Run(unittest.TestCase):
    """`ab_gate.py run` against stand-in binaries: the alternation, the name quoting, failures."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)
        self.log = os.path.join(self.directory.name, "runs.log")

    def fake(self, label, factor, seconds=None):
        path = os.path.join(self.directory.name, label)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(FAKE_BENCH.format(python=sys.executable, seconds=seconds or FEW, factor=factor,
                                           label=label, log=self.log))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def run_gate(self, base, candidate, *options):
        command = [sys.executable, AB_GATE, "run", base, candidate, "--rounds", "8", "--min-time", "0.01",
                   "--seed", "5", "--realtime", "off", *options]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def test_both_binaries_alternate_and_a_slower_candidate_fails(self):
        out = os.path.join(self.directory.name, "pairs.json")
        completed = self.run_gate(self.fake("base", 1.0), self.fake("candidate", 1.3), "--out", out)
        self.assertEqual(completed.returncode, 1, completed.stderr)
        self.assertIn("seed 5", completed.stderr)
        with open(self.log, encoding="utf-8") as handle:
            runs = [line.split(" ", 1) for line in handle.read().splitlines()]
        self.assertEqual(len(runs), 2 * 8 * len(FEW))
        # Each benchmark runs in one binary straight after the other, the order drawn per pair.
        for first, second in zip(runs[::2], runs[1::2]):
            self.assertEqual(first[1], second[1])
            self.assertEqual({first[0], second[0]}, {"base", "candidate"})
        self.assertEqual(len({tuple(label for label, _ in runs[i:i + 2]) for i in range(0, len(runs), 2)}), 2)
        pairs = ab_gate.Pairs.load(out)
        self.assertEqual(pairs.meta["seed"], 5)
        self.assertAlmostEqual(pairs.samples[SLOWED]["candidate"][0] / pairs.samples[SLOWED]["base"][0], 1.3)

    def test_the_same_binary_passes_and_the_filter_selects(self):
        completed = self.run_gate(self.fake("base", 1.0), self.fake("candidate", 1.0), "--filter", "^matmul/")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("1 ok", completed.stdout)

    def test_benchmarks_of_one_side_only_are_missing_or_new(self):
        seconds = dict(FEW)
        del seconds[SLOWED]
        seconds["gd/new/openmp/quick/N=1/manual_time"] = 0.001
        completed = self.run_gate(self.fake("base", 1.0), self.fake("candidate", 1.0, seconds))
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertRegex(completed.stdout, r"missing .*" + SLOWED)
        self.assertRegex(completed.stdout, r"new .*gd/new/openmp")

    def test_a_failing_benchmark_or_binary_exits_2(self):
        broken = os.path.join(self.directory.name, "broken")
        with open(broken, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\nexit 3\n")
        os.chmod(broken, 0o755)
        completed = self.run_gate(self.fake("base", 1.0), broken)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("broken", completed.stderr)
        completed = self.run_gate(self.fake("base", 1.0), os.path.join(self.directory.name, "absent"))
        self.assertEqual(completed.returncode, 2)
        self.assertIn("not an executable", completed.stderr)

    def test_names_are_quoted_for_the_filter(self):
        self.assertEqual(ab_gate.regex_quoted("a/b.c(1)+[x]"), r"a/b\.c\(1\)\+\[x\]")


if __name__ == "__main__":
    unittest.main()
