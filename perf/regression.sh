#!/usr/bin/env bash
# klab's performance regression suite: runs the Google Benchmark binaries of a build (every stage,
# each with its calibration benchmarks), merges their JSON into one result set, and records it as
# a baseline or checks it against one with perf/gate.py.
#
#   bash perf/regression.sh record NAME [--quick] [--build DIR]     -> perf/baselines/NAME.json
#   bash perf/regression.sh check NAME [--quick] [--build DIR] [--out FILE] [gate options]
#
# --quick runs the quick set (--benchmark_filter=/quick/, about 2 minutes on 2 cores), otherwise
# the full suite. --build defaults to build/openmp; build the binaries first:
#   cmake --build build/openmp --target bench_elementwise bench_matmul bench_solvebak bench_ann bench_gd
# Gate options (--threshold, --alpha, --intensity) go to perf/gate.py; check exits with its
# status: 0 no regression, 1 a regression, 2 bad input. check writes the new result set to --out
# (default DIR/perf/regression-NAME.json). KLAB_PERF_REPETITIONS (default 10) and
# KLAB_PERF_MIN_TIME (seconds of timed iterations per repetition, default 0.1) set the sampling.
# CI runs: bash perf/regression.sh check ci-2core --quick --threshold 1.0 (about 90-120 s). On the
# shared 2-core machine, with other builds running (load 2-8), unchanged code gave normalised
# ratios up to 1.9 with p < 0.01 between runs, so the CI gate flags slow-downs of 2x; on a machine
# of its own the default threshold, 15 %, applies.
set -euo pipefail

perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$perf_dir")
binaries=(bench_elementwise bench_matmul bench_solvebak bench_ann bench_gd)

usage() {
  sed -n '6,7p' "${BASH_SOURCE[0]}" | sed 's/^#   /usage: /' >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
mode=$1 name=$2
shift 2
[[ $mode == record || $mode == check ]] || usage
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "regression.sh: baseline name '$name': letters, digits, . _ - only" >&2; exit 2; }
build=$root/build/openmp quick=false out="" gate_args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=true ;;
    --build) build=$(cd "${2:?--build needs a directory}" && pwd); shift ;;
    --out) out=${2:?--out needs a file}; shift ;;
    *) gate_args+=("$1") ;;
  esac
  shift
done
[[ $mode == check || ${#gate_args[@]} -eq 0 ]] || { echo "regression.sh: record takes no gate options: ${gate_args[*]}" >&2; exit 2; }

baseline=$perf_dir/baselines/$name.json
if [[ $mode == check && ! -f $baseline ]]; then
  echo "regression.sh: no baseline $baseline; record one with: bash perf/regression.sh record $name" >&2
  exit 2
fi
for binary in "${binaries[@]}"; do
  if [[ ! -x $build/perf/$binary ]]; then
    echo "regression.sh: $build/perf/$binary is not built; run: cmake --build $build --target ${binaries[*]}" >&2
    exit 2
  fi
done

repetitions=${KLAB_PERF_REPETITIONS:-10}
min_time=${KLAB_PERF_MIN_TIME:-0.1}
filter=.
$quick && filter=/quick/
# The thread placement klab uses (it sets these unless they are set), so the numbers compare:
# bound, unless OpenBLAS runs threads of its own, which the binding would crowd onto one core
# (see restart_with_run_environment in src/core/machine.hpp). The benchmarks start bound or not
# from the outset: they do not restart themselves.
if "$build/src/klab" info 2>/dev/null | grep -q "threads: pthreads"; then
  export OMP_PROC_BIND=${OMP_PROC_BIND:-false}
else
  export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "regression.sh: $mode $name: $($quick && echo quick set || echo full suite), $repetitions repetitions," \
  "min time ${min_time}s, binaries of $build" >&2
start=$SECONDS
for binary in "${binaries[@]}"; do
  binary_start=$SECONDS
  # Repetitions interleaved at random across the binary's benchmarks: a burst of load on a shared
  # machine then spreads over every benchmark and the calibration instead of hitting one of them.
  if ! "$build/perf/$binary" --benchmark_filter="$filter" --benchmark_repetitions="$repetitions" \
      --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true \
      --benchmark_enable_random_interleaving=true --benchmark_min_time="$min_time" \
      --benchmark_out="$work/$binary.json" --benchmark_out_format=json >"$work/$binary.log" 2>&1; then
    tail -20 "$work/$binary.log" >&2
    echo "regression.sh: $binary failed" >&2
    exit 2
  fi
  echo "regression.sh: $binary: $((SECONDS - binary_start)) s" >&2
done
echo "regression.sh: benchmarks ran in $((SECONDS - start)) s" >&2

if [[ $mode == record ]]; then
  mkdir -p "$perf_dir/baselines"
  python3 "$perf_dir/merge.py" "$baseline" "$work"/*.json
  echo "regression.sh: recorded $baseline" >&2
  exit 0
fi
out=${out:-$build/perf/regression-$name.json}
python3 "$perf_dir/merge.py" "$out" "$work"/*.json
echo "regression.sh: new results in $out" >&2
exec python3 "$perf_dir/gate.py" "$baseline" "$out" "${gate_args[@]}"
