#!/usr/bin/env bash
# klab's performance regression suite: runs the benchmarks of a build (perf/bench_klab), one stage
# at a time, each run with the calibration benchmarks, merges their JSON into one result set (a
# suite per stage), and records it as a baseline or checks it against one with src/tools/gate.py.
#
#   bash perf/regression.sh record NAME [--quick] [--build DIR]     -> perf/baselines/NAME.json
#   bash perf/regression.sh check NAME [--quick] [--build DIR] [--out FILE] [gate options]
#
# --quick runs the quick set (--benchmark_filter=/quick/, about 2 minutes on 2 cores), otherwise
# the full suite. --build defaults to build/openmp; build the binaries first:
#   cmake --build build/openmp --target bench_klab klab
# Gate options (--threshold, --alpha, --intensity) go to src/tools/gate.py; check exits with its
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
for binary in perf/bench_klab src/klab; do
  if [[ ! -x $build/$binary ]]; then
    echo "regression.sh: $build/$binary is not built; run: cmake --build $build --target bench_klab klab" >&2
    exit 2
  fi
done

repetitions=${KLAB_PERF_REPETITIONS:-10}
min_time=${KLAB_PERF_MIN_TIME:-0.1}
set_filter=/
$quick && set_filter=/quick/
# The thread placement klab uses (it sets these unless they are set), so the numbers compare:
# bound, unless OpenBLAS runs threads of its own, which the binding would crowd onto one core
# (see restart_with_run_environment in src/core/machine.hpp). The benchmarks start bound or not
# from the outset: they do not restart themselves.
if "$build/src/klab" info 2>/dev/null | grep -q "threads: pthreads"; then
  export OMP_PROC_BIND=${OMP_PROC_BIND:-false}
else
  export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
fi
bench=$build/perf/bench_klab
# The stages with benchmarks: the first component of every benchmark's name but the calibration's
# (Kokkos may print warnings among the names).
mapfile -t stages < <("$bench" --benchmark_list_tests=true | grep -E '^[a-z0-9_-]+/' | cut -d/ -f1 |
  grep -vx calibration | sort -u)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "regression.sh: $mode $name: $($quick && echo quick set || echo full suite), $repetitions repetitions," \
  "min time ${min_time}s, stages ${stages[*]} of $build" >&2
start=$SECONDS
for stage in "${stages[@]}"; do
  stage_start=$SECONDS
  # Repetitions interleaved at random across the stage's benchmarks and the calibration: a burst
  # of load on a shared machine then spreads over all of them instead of hitting one.
  if ! "$bench" --benchmark_filter="^($stage|calibration)/.*$set_filter" --benchmark_repetitions="$repetitions" \
      --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true \
      --benchmark_enable_random_interleaving=true --benchmark_min_time="$min_time" \
      --benchmark_out="$work/$stage.json" --benchmark_out_format=json >"$work/$stage.log" 2>&1; then
    tail -20 "$work/$stage.log" >&2
    echo "regression.sh: the $stage benchmarks failed" >&2
    exit 2
  fi
  echo "regression.sh: $stage: $((SECONDS - stage_start)) s" >&2
done
echo "regression.sh: benchmarks ran in $((SECONDS - start)) s" >&2

if [[ $mode == record ]]; then
  mkdir -p "$perf_dir/baselines"
  python3 "$root/src/tools/merge.py" "$baseline" "$work"/*.json
  echo "regression.sh: recorded $baseline" >&2
  exit 0
fi
out=${out:-$build/perf/regression-$name.json}
python3 "$root/src/tools/merge.py" "$out" "$work"/*.json
echo "regression.sh: new results in $out" >&2
exec python3 "$root/src/tools/gate.py" "$baseline" "$out" "${gate_args[@]}"
