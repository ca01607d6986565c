#!/usr/bin/python3
"""klab's A/B performance gate: times two builds' benchmarks alternately in one run, and judges
each benchmark on the ratios of the pairs.

    python3 src/tools/ab_gate.py run BASE_BENCH CANDIDATE_BENCH [--filter REGEX] [--rounds 15]
            [--min-time 0.03] [--realtime auto|on|off] [--seed S] [--out PAIRS.json]
            [--base-label L] [--candidate-label L] [--threshold 0.15] [--alpha 0.01]
    python3 src/tools/ab_gate.py judge PAIRS.json [--threshold 0.15] [--alpha 0.01]

BASE_BENCH and CANDIDATE_BENCH are two builds of perf/bench_klab (perf/regression.sh ab builds
the base commit's). src/tools/gate.py compares a run with a baseline recorded at another time and
can only divide out the part of a busier machine that its calibration benchmarks see; here both
builds are timed in the same run, so that whatever the machine does hits both alike.

The run. Rounds (--rounds, default 15): each round takes the benchmarks that both binaries have
(matching --filter) in a random order and runs each in both binaries, one after the other, which
one first drawn at random for every benchmark and round: one process per benchmark and side, one
repetition of --min-time seconds of iterations (Google Benchmark's mean time per iteration). The
two samples of a pair are thus a fraction of a second apart, and a burst of load that hits one
side of one pair is one pair out of --rounds. Benchmarks in one binary only are reported as
missing (base only) or new (candidate only), and not run. --seed fixes the orders (printed, and
stored with the samples); --out keeps the samples, which `judge` judges again.

Scheduling. Where permitted (root, or an RLIMIT_RTPRIO), each sample's process runs under
SCHED_FIFO at the lowest real-time priority (chrt -f 1; --realtime auto, the default): the
machine's other processes then wait while it runs, instead of taking turns with its threads,
which stalls a whole OpenMP parallel region whenever one of its threads is preempted (README,
"Performance regression suite", for what pairing achieved with and without it). What remains (a
serial benchmark shares the caches and memory with whatever runs on the other cores; the host
of a virtual machine) the pairing divides out. A sample's process is stopped after
PROCESS_TIMEOUT seconds; the kernel leaves other processes a share of each second meanwhile.
--realtime off times under the normal scheduler; on, where not permitted, is bad input.

The judgement, per benchmark, on the n = rounds ratios candidate/base of its pairs:
    ratio     the median of the paired ratios;
    interval  a distribution-free confidence interval of that median, from the order statistics
              of the ratios (the level, the binomial one, is printed: 96 % for 15 rounds);
    p         the one-sided Wilcoxon signed-rank test's p-value that the log-ratios tend to be
              positive (candidate slower), exact: the signed-rank sum's distribution over all 2^n
              signs, with tied ranks averaged (enumerated on doubled ranks, so ties stay exact)
              and zero differences dropped;
    spread    the slowest over the fastest sample of the base side: how much the machine's
              speed varied for this benchmark during the run, which the pairing divides out.
The verdicts and exit statuses are those of src/tools/gate.py:
    REGRESSION  p < alpha and ratio > 1 + threshold
    faster      the mirror image: p(faster) < alpha and ratio < 1 / (1 + threshold)
    ok          anything else
    missing     in the base binary only
    new         in the candidate binary only
alpha = 0.01: with fewer than 7 rounds no p-value reaches it (the smallest is 2^-n). The paired
ratios need no calibration; the calibration benchmarks (calibration/..., the same code in both
builds) are judged as a health check of the machine: their ratio should be 1, and one outside
the threshold is a warning that the two sides did not see the same machine, not a regression.

Exit status: 0 no regression, 1 a regression, 2 bad input or a benchmark that failed to run
(one line naming the file or the benchmark).
"""

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time

from gate import CALIBRATION, TIME_UNITS, InputError, format_number, judge_ratio, read_json

FORMAT = "klab-ab-pairs-1"
MIN_ROUNDS = 7  # 2^-7 < 0.01: the fewest rounds whose Wilcoxon p-value can reach alpha = 0.01
PROCESS_TIMEOUT = 300  # seconds for one sample's process: a benchmark that hangs, at real-time priority


def wilcoxon_greater(differences):
    """One-sided p-value that the differences tend to be positive: the Wilcoxon signed-rank test,
    exact. Zeros are dropped; tied absolute values share their average rank. The sum of the
    doubled ranks (integers even with ties) of the positive differences is compared with its
    distribution over all 2^n sign assignments."""
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    order = sorted(range(n), key=lambda k: abs(nonzero[k]))
    doubled_rank = [0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(nonzero[order[j + 1]]) == abs(nonzero[order[i]]):
            j += 1
        for k in range(i, j + 1):
            doubled_rank[order[k]] = i + j + 2  # twice the average of ranks i + 1 .. j + 1
        i = j + 1
    observed = sum(rank for rank, d in zip(doubled_rank, nonzero) if d > 0)
    total = sum(doubled_rank)
    ways = [1] + [0] * total  # ways[s]: sign assignments whose positive doubled ranks sum to s
    for rank in doubled_rank:
        for s in range(total, rank - 1, -1):
            ways[s] += ways[s - rank]
    return sum(ways[observed:]) / 2**n


def median_interval(values, level=0.95):
    """(low, high, achieved level) of the distribution-free confidence interval of the median:
    order statistics k and n + 1 - k, k the largest with 2 P(Binomial(n, 1/2) < k) <= 1 - level
    (the whole range when no k qualifies)."""
    ordered, n = sorted(values), len(values)

    def outside(k):  # 2 P(Binomial(n, 1/2) <= k - 1): the chance the median is not in [x_k, x_n+1-k]
        return 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = max([k for k in range(1, n // 2 + 1) if outside(k) <= 1 - level], default=1)
    achieved = 1 - outside(k)
    return ordered[k - 1], ordered[n - k], achieved


class Pairs:
    """The samples (seconds) of one A/B run: {name: {"base": [...], "candidate": [...]}}, round
    by round, and the benchmarks only one side has."""

    def __init__(self, samples, missing=(), new=(), meta=None):
        self.samples, self.missing, self.new = samples, list(missing), list(new)
        self.meta = meta or {}

    def to_json(self):
        return {"format": FORMAT, **self.meta, "missing": self.missing, "new": self.new, "samples": self.samples}

    @classmethod
    def load(cls, path):
        document = read_json(path)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise InputError(f"{path}: not the samples of an A/B run (no \"format\": \"{FORMAT}\")")
        samples = document.get("samples")
        if not isinstance(samples, dict) or not samples:
            raise InputError(f"{path}: no \"samples\"")
        for name, sides in samples.items():
            pairs = [sides.get(side) if isinstance(sides, dict) else None for side in ("base", "candidate")]
            if not all(isinstance(p, list) for p in pairs) or len(pairs[0]) != len(pairs[1]) or not pairs[0]:
                raise InputError(f"{path}: {name}: \"base\" and \"candidate\" are not two lists of one length")
            if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t > 0
                       for t in pairs[0] + pairs[1]):
                raise InputError(f"{path}: {name}: a sample that is not a positive number")
        meta = {key: value for key, value in document.items() if key not in ("format", "samples", "missing", "new")}
        return cls(samples, document.get("missing", []), document.get("new", []), meta)


def judge(pairs, threshold, alpha):
    """Rows (verdict, ratio, interval low, interval high, p, spread, name), sorted by name; the
    calibration benchmarks' verdict is "calibration"."""
    rows = []
    for name in sorted(set(pairs.samples) | set(pairs.missing) | set(pairs.new)):
        if name not in pairs.samples:
            rows.append(("missing" if name in pairs.missing else "new", None, None, None, None, None, name))
            continue
        base, candidate = pairs.samples[name]["base"], pairs.samples[name]["candidate"]
        logs = [math.log(c / b) for b, c in zip(base, candidate)]
        ratio = math.exp(statistics.median(logs))
        low, high, _ = median_interval(logs)
        spread = max(base) / min(base)
        p_slower, p_faster = wilcoxon_greater(logs), wilcoxon_greater([-d for d in logs])
        if name.split("/")[0] == CALIBRATION:
            verdict, p = "calibration", min(p_slower, p_faster)
        else:
            verdict, p = judge_ratio(ratio, p_slower, p_faster, threshold, alpha)
        rows.append((verdict, ratio, math.exp(low), math.exp(high), p, spread, name))
    return rows


def report(pairs, threshold, alpha, out=sys.stdout):
    """Prints the table and the summary; returns the exit status (1 on a regression)."""
    rows = judge(pairs, threshold, alpha)
    rounds = max((len(sides["base"]) for sides in pairs.samples.values()), default=0)
    level = median_interval([0.0] * rounds)[2] if rounds else 0.0
    for key in ("base", "candidate", "scheduling"):
        if pairs.meta.get(key):
            print(f"{key + ':':<12}{pairs.meta[key]}", file=out)
    print(f"{'verdict':<12}{'ratio':>8}  {f'interval ({level:.0%})':<16}{'p':>9}{'spread':>8}  benchmark", file=out)
    for verdict, ratio, low, high, p, spread, name in rows:
        interval = "-" if low is None else f"{low:.3f}-{high:.3f}"
        print(f"{verdict:<12}{format_number(ratio, '8.3f')}  {interval:<16}{format_number(p, '9.2g')}"
              f"{format_number(spread, '8.2f')}  {name}", file=out)
    counts = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    gated = [row for row in rows if row[0] in ("ok", "REGRESSION", "faster")]
    worst = max(gated, key=lambda row: row[1]) if gated else None
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    print(f"ab: {summary}; threshold {threshold:.0%}, alpha {alpha:g}, {rounds} rounds"
          + (f"; worst ratio {worst[1]:.3f} ({worst[6]})" if worst else ""), file=out)
    uneven = [row for row in rows if row[0] == "calibration" and not 1 / (1 + threshold) <= row[1] <= 1 + threshold]
    for row in uneven:
        print(f"ab: warning: calibration {row[6]}: paired ratio {row[1]:.3f}, the same code on both sides: "
              "the two sides did not see the same machine", file=sys.stderr)
    if rounds < MIN_ROUNDS:
        print(f"ab: warning: {rounds} rounds; with fewer than {MIN_ROUNDS} no p-value reaches alpha = 0.01",
              file=sys.stderr)
    return 1 if counts.get("REGRESSION") else 0


def regex_quoted(name):
    """The benchmark name as a POSIX extended regular expression (Google Benchmark's filter)."""
    return re.sub(r"([.\[\](){}*+?|^$\\])", r"\\\1", name)


def list_benchmarks(binary, pattern):
    completed = subprocess.run([binary, "--benchmark_list_tests=true", f"--benchmark_filter={pattern}"],
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise InputError(f"{binary}: cannot list its benchmarks: {completed.stderr.strip()[-300:]}")
    # Kokkos may print warnings among the names.
    return [line for line in completed.stdout.splitlines() if re.match(r"^[a-z0-9_-]+/", line)]


def realtime_prefix():
    """["chrt", "-f", "1"] where this process may start real-time ones (root, or an RLIMIT_RTPRIO),
    else []."""
    try:
        allowed = subprocess.run(["chrt", "-f", "1", "true"], capture_output=True, check=False).returncode == 0
    except OSError:
        allowed = False
    return ["chrt", "-f", "1"] if allowed else []


def time_once(binary, name, min_time, prefix=()):
    """Seconds per iteration of one repetition of benchmark `name` in its own process, started
    with `prefix` (the scheduling policy)."""
    command = [*prefix, binary, f"--benchmark_filter=^{regex_quoted(name)}$", f"--benchmark_min_time={min_time}",
               "--benchmark_format=json"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise InputError(f"{binary}: benchmark {name} ran longer than {PROCESS_TIMEOUT} s") from error
    try:
        entries = [e for e in json.loads(completed.stdout)["benchmarks"] if e.get("run_name", e.get("name")) == name]
    except (ValueError, KeyError, TypeError):
        entries = []
    if completed.returncode != 0 or len(entries) != 1 or entries[0].get("error_occurred"):
        detail = entries[0].get("error_message", "") if entries else completed.stderr.strip()[-300:]
        raise InputError(f"{binary}: benchmark {name} failed (exit {completed.returncode}): {detail}")
    return entries[0]["real_time"] * TIME_UNITS[entries[0].get("time_unit", "ns")]


def run_rounds(base, candidate, pattern, rounds, min_time, seed, prefix=(), log=sys.stderr):
    """Pairs of the benchmarks both binaries have, measured in `rounds` rounds (see the module
    documentation for the order), each sample's process started with `prefix`."""
    base_names, candidate_names = list_benchmarks(base, pattern), list_benchmarks(candidate, pattern)
    both = sorted(set(base_names) & set(candidate_names))
    if not both:
        raise InputError(f"no benchmark matching {pattern!r} in both {base} and {candidate}")
    rng = random.Random(seed)
    samples = {name: {"base": [], "candidate": []} for name in both}
    binaries = {"base": base, "candidate": candidate}
    start = time.monotonic()
    for number in range(1, rounds + 1):
        round_start = time.monotonic()
        order = list(both)
        rng.shuffle(order)
        for name in order:
            sides = ["base", "candidate"]
            rng.shuffle(sides)
            for side in sides:
                samples[name][side].append(time_once(binaries[side], name, min_time, prefix))
        print(f"ab: round {number}/{rounds}: {len(both)} pairs in {time.monotonic() - round_start:.0f} s", file=log)
    print(f"ab: {rounds} rounds in {time.monotonic() - start:.0f} s", file=log)
    missing = sorted(set(base_names) - set(candidate_names))
    new = sorted(set(candidate_names) - set(base_names))
    return Pairs(samples, missing, new)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="time two bench_klab binaries alternately, then judge")
    run.add_argument("base", help="the base build's bench_klab")
    run.add_argument("candidate", help="the candidate build's bench_klab")
    run.add_argument("--filter", default="/", help="benchmarks to run (regex; /quick/ for the quick set)")
    run.add_argument("--rounds", type=int, default=15, help="pairs per benchmark (default 15)")
    run.add_argument("--min-time", type=float, default=0.03,
                     help="seconds of iterations per sample (default 0.03)")
    run.add_argument("--seed", type=int, help="seed of the orders (default: drawn, and printed)")
    run.add_argument("--out", help="write the samples here (JSON), for `judge`")
    run.add_argument("--realtime", choices=("auto", "on", "off"), default="auto",
                     help="run each sample under SCHED_FIFO (chrt -f 1): auto (default) where permitted")
    run.add_argument("--base-label", default="", help="what the base is, for the report")
    run.add_argument("--candidate-label", default="", help="what the candidate is, for the report")
    again = commands.add_parser("judge", help="judge the samples of an earlier run")
    again.add_argument("pairs", help="samples written by `run --out`")
    for command in (run, again):
        command.add_argument("--threshold", type=float, default=0.15,
                             help="paired slow-down that counts as a regression (default 0.15: 15%%)")
        command.add_argument("--alpha", type=float, default=0.01,
                             help="significance level of the one-sided Wilcoxon signed-rank test (default 0.01)")
    args = parser.parse_args(argv)
    if not args.threshold >= 0 or not 0 < args.alpha < 1:
        parser.error("--threshold must be >= 0 and --alpha in (0, 1)")
    try:
        if args.command == "judge":
            pairs = Pairs.load(args.pairs)
        else:
            if args.rounds < 1 or not args.min_time > 0:
                parser.error("--rounds must be >= 1 and --min-time > 0")
            for binary in (args.base, args.candidate):
                if not os.access(binary, os.X_OK):
                    raise InputError(f"{binary}: not an executable")
            seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
            prefix = realtime_prefix() if args.realtime != "off" else []
            if args.realtime == "on" and not prefix:
                raise InputError("--realtime on: chrt -f 1 is not permitted here (root or an RLIMIT_RTPRIO needed)")
            scheduling = " ".join(prefix) or "normal scheduling"
            print(f"ab: {args.rounds} rounds of {args.filter!r}, min time {args.min_time:g} s, seed {seed}, "
                  f"{scheduling}", file=sys.stderr)
            pairs = run_rounds(args.base, args.candidate, args.filter, args.rounds, args.min_time, seed, prefix)
            pairs.meta = {"base": args.base_label or args.base, "candidate": args.candidate_label or args.candidate,
                          "rounds": args.rounds, "min_time": args.min_time, "seed": seed, "filter": args.filter,
                          "scheduling": scheduling}
            if args.out:
                temporary = args.out + ".tmp"
                with open(temporary, "w", encoding="utf-8") as handle:
                    json.dump(pairs.to_json(), handle, indent=1)
                    handle.write("\n")
                os.replace(temporary, args.out)
    except InputError as error:
        print(f"ab: {error}", file=sys.stderr)
        return 2
    return report(pairs, args.threshold, args.alpha)


if __name__ == "__main__":
    sys.exit(main())
