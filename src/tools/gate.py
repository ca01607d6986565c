#!/usr/bin/python3
"""klab's performance regression gate: compares a Google Benchmark result set with a baseline.

    python3 src/tools/gate.py BASELINE.json NEW.json [--threshold 0.15] [--alpha 0.01]

Both files are Google Benchmark JSON (one run's --benchmark_out, or several merged by
src/tools/merge.py, which tags each entry with its run, a stage, as "suite"), run with
--benchmark_repetitions=N (N >= 5) and --benchmark_report_aggregates_only=false, so that every
repetition is a sample. Aggregate entries (mean, median, ...) are ignored.

Normalisation. Every run also measures calibration benchmarks, named
calibration/<kind>/<space>/...: a memory copy (kind "copy") and a dgemm ("dgemm") on each space.
A benchmark's new times are divided by its calibration's ratio new/baseline (medians), the
calibration of the same suite and space, so that a machine that is slower or busier during the
whole run does not read as a regression. Memory-bound benchmarks use the copy, compute-bound ones
the dgemm: a benchmark is compute-bound when its FLOP/s counter over its bytes/s counter, its
arithmetic intensity, is at least --intensity FLOP/byte (default 4, between the streaming kernels'
<= 2 and the products' >= 20). Without a calibration the times are compared as they are.
By default (--calibration slower) a calibration ratio below 1 counts as 1: only a slow-down that
the calibration shows too is excused. On a shared machine the calibration itself varies by
20-40 % between runs; dividing by a faster calibration turned that variation into false
regressions of benchmarks that had not changed (--calibration both), while a genuinely faster
machine class gets its own baseline. --calibration off compares raw times.

Per benchmark the gate reports the normalised ratio of medians new/baseline, the one-sided
Mann-Whitney U test's p-value that the normalised new samples are slower (normal approximation
with tie and continuity corrections; Debian's compare.py needs SciPy, which klab does not depend
on), and a verdict:
    REGRESSION  p < alpha and ratio > 1 + threshold
    faster      the mirror image: p(faster) < alpha and ratio < 1 / (1 + threshold)
    ok          anything else
    missing     in the baseline, not in the new results
    new         in the new results, not in the baseline
Both conditions are needed: the threshold ignores slow-downs too small to matter, the p-value
ignores a shifted median that a single disturbed repetition can cause. alpha = 0.01, one-sided:
the smallest p-value of 5 against 5 samples is 0.006, so 5 repetitions can flag; with ~30
benchmarks in a quick run, 0.05 would let a chance ordering of samples through about once a run.

Exit status: 0 no regression, 1 a regression, 2 bad input (one line naming the file).
"""

import argparse
import json
import math
import statistics
import sys

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
CALIBRATION = "calibration"


class InputError(Exception):
    """A result file the gate cannot read; the message names the file and the problem."""


class Series:
    """One benchmark's samples (seconds) in one result set, with what the gate needs to know."""

    def __init__(self, suite, name):
        self.suite, self.name = suite, name
        self.samples = []
        self.intensity = None  # FLOP per byte, from the rate counters

    @property
    def parts(self):
        return self.name.split("/")

    @property
    def is_calibration(self):
        return self.parts[0] == CALIBRATION

    @property
    def space(self):
        return self.parts[2] if len(self.parts) > 2 else ""


def read_json(path):
    """The JSON document in the file; InputError if it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not JSON: {error}") from error


def load_results(path):
    """{(suite, name): Series} of the per-repetition samples in a Google Benchmark JSON file."""
    document = read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise InputError(f"{path}: not a Google Benchmark result: no \"benchmarks\" list")
    series = {}
    for index, entry in enumerate(document["benchmarks"]):
        where = f"{path}: benchmarks[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{where}: an entry without a \"name\"")
        if entry.get("run_type", "iteration") != "iteration" or entry.get("error_occurred"):
            continue
        time, unit = entry.get("real_time"), entry.get("time_unit", "ns")
        if isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time) or time < 0:
            raise InputError(f"{where} ({entry['name']}): \"real_time\" is not a non-negative number")
        if unit not in TIME_UNITS:
            raise InputError(f"{where} ({entry['name']}): unknown time_unit {unit!r}")
        name = entry.get("run_name", entry["name"])
        key = (entry.get("suite", ""), name)
        current = series.setdefault(key, Series(*key))
        current.samples.append(time * TIME_UNITS[unit])
        flops, moved = entry.get("FLOP/s"), entry.get("bytes/s")
        if isinstance(flops, (int, float)) and isinstance(moved, (int, float)) and moved > 0:
            current.intensity = flops / moved
    if not series:
        raise InputError(f"{path}: no benchmark samples (only aggregates or errors?)")
    return series


def normal_upper_tail(z):
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_greater(xs, ys):
    """One-sided p-value that xs tend to be larger than ys: the Mann-Whitney U test, normal
    approximation with the tie correction of the variance and a continuity correction."""
    n1, n2 = len(xs), len(ys)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = sorted([(v, 0) for v in xs] + [(v, 1) for v in ys])
    n = n1 + n2
    rank_sum_x, tie_term, i = 0.0, 0.0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average_rank = (i + j) / 2.0 + 1.0
        rank_sum_x += average_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        tied = j - i + 1
        tie_term += tied**3 - tied
        i = j + 1
    u_x = rank_sum_x - n1 * (n1 + 1) / 2.0
    mean = n1 * n2 / 2.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return 1.0
    return min(1.0, normal_upper_tail((u_x - mean - 0.5) / math.sqrt(variance)))


def calibration_factors(baseline, new, mode):
    """{(suite, kind, space): median new / median baseline} of the calibration benchmarks; with
    mode "slower", factors below 1 count as 1; with "off", none."""
    factors = {}
    if mode == "off":
        return factors
    for key, base in baseline.items():
        if base.is_calibration and key in new and base.samples and new[key].samples:
            factor = statistics.median(new[key].samples) / statistics.median(base.samples)
            if factor > 0:
                factors[(base.suite, base.parts[1], base.space)] = max(factor, 1.0) if mode == "slower" else factor
    return factors


def compare(baseline, new, threshold, alpha, intensity, calibration="slower"):
    """Rows (verdict, ratio, p, raw ratio, calibration used, name) for every benchmark."""
    factors = calibration_factors(baseline, new, calibration)
    rows = []
    for key in sorted(set(baseline) | set(new), key=lambda k: (k[0], k[1])):
        suite, name = key
        label = f"{suite}:{name}" if suite else name
        if key not in new:
            rows.append(("missing", None, None, None, "", label))
            continue
        if key not in baseline:
            rows.append(("new", None, None, None, "", label))
            continue
        base, current = baseline[key], new[key]
        raw_ratio = statistics.median(current.samples) / statistics.median(base.samples)
        if base.is_calibration:
            rows.append(("calibration", None, None, raw_ratio, "", label))
            continue
        known_intensity = base.intensity if base.intensity is not None else current.intensity
        kind = "dgemm" if known_intensity is not None and known_intensity >= intensity else "copy"
        factor = factors.get((suite, kind, base.space))
        used = f"{kind}/{base.space} {factor:.2f}" if factor else "none"
        normalised = [t / (factor or 1.0) for t in current.samples]
        ratio = statistics.median(normalised) / statistics.median(base.samples)
        p_slower = mann_whitney_greater(normalised, base.samples)
        p_faster = mann_whitney_greater(base.samples, normalised)
        verdict, p = judge_ratio(ratio, p_slower, p_faster, threshold, alpha)
        rows.append((verdict, ratio, p, raw_ratio, used, label))
    return rows


def judge_ratio(ratio, p_slower, p_faster, threshold, alpha):
    """(verdict, p) of a benchmark whose times changed by `ratio` (new / old), with the one-sided
    p-values that it is slower and that it is faster: REGRESSION, faster or ok."""
    if p_slower < alpha and ratio > 1.0 + threshold:
        return "REGRESSION", p_slower
    if p_faster < alpha and ratio < 1.0 / (1.0 + threshold):
        return "faster", p_faster
    return "ok", p_slower


def format_number(value, pattern):
    return "-" if value is None else format(value, pattern)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline", help="baseline Google Benchmark JSON (perf/baselines/<name>.json)")
    parser.add_argument("new", help="new Google Benchmark JSON with per-repetition samples")
    parser.add_argument("--threshold", type=float, default=0.15,
                        help="normalised slow-down that counts as a regression (default 0.15: 15%%)")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="significance level of the one-sided Mann-Whitney U test (default 0.01)")
    parser.add_argument("--intensity", type=float, default=4.0,
                        help="FLOP/byte from which a benchmark is normalised by the dgemm calibration "
                             "instead of the copy (default 4)")
    parser.add_argument("--calibration", choices=("slower", "both", "off"), default="slower",
                        help="divide by the calibration's ratio only where it shows a slower machine "
                             "(default), in both directions, or not at all")
    args = parser.parse_args(argv)
    if not args.threshold >= 0 or not 0 < args.alpha < 1:
        parser.error("--threshold must be >= 0 and --alpha in (0, 1)")
    try:
        baseline, new = load_results(args.baseline), load_results(args.new)
    except InputError as error:
        print(f"gate: {error}", file=sys.stderr)
        return 2
    rows = compare(baseline, new, args.threshold, args.alpha, args.intensity, args.calibration)
    print(f"{'verdict':<12}{'ratio':>8}{'p':>10}{'raw':>8}  {'calibration':<19}benchmark")
    for verdict, ratio, p, raw, used, label in rows:
        print(f"{verdict:<12}{format_number(ratio, '8.3f')}{format_number(p, '10.2g')}"
              f"{format_number(raw, '8.3f')}  {used:<19}{label}")
    counts = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    gated = [row for row in rows if row[1] is not None]
    worst = max(gated, key=lambda row: row[1]) if gated else None
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    print(f"gate: {summary}; threshold {args.threshold:.0%}, alpha {args.alpha:g}"
          + (f"; worst normalised ratio {worst[1]:.3f} ({worst[5]})" if worst else ""))
    min_samples = min(len(series.samples) for series in list(baseline.values()) + list(new.values()))
    if min_samples < 5:
        print(f"gate: warning: a benchmark has only {min_samples} samples; with fewer than 5 "
              "repetitions per side no p-value reaches alpha = 0.01", file=sys.stderr)
    return 1 if counts.get("REGRESSION") else 0


if __name__ == "__main__":
    sys.exit(main())
