#!/usr/bin/env bash
# klab's performance regression suite, two ways of asking "has the code become slower?":
#
#   bash perf/regression.sh ab BASE_REF [--quick] [--build DIR] [--preset NAME] [--out FILE] [gate options]
#   bash perf/regression.sh record NAME [--quick] [--build DIR]     -> perf/baselines/NAME.json
#   bash perf/regression.sh check NAME [--quick] [--build DIR] [--out FILE] [gate options]
#
# ab (the gate for code changes; CI runs it): builds perf/bench_klab of the commit BASE_REF into a
# cache ($KLAB_CACHE/ab/<commit>-<preset>, KLAB_CACHE defaulting to ~/.cache/klab: the source as
# `git archive` exports it, configured with the same preset, only bench_klab built; the 4 most
# recently used are kept), then times its benchmarks and the working tree's build (--build,
# default build/<preset>) alternately in one run and judges the paired ratios with
# src/tools/ab_gate.py (its documentation says how). KLAB_PERF_ROUNDS (default 15) rounds of
# KLAB_PERF_MIN_TIME (default 0.03) seconds per sample, under SCHED_FIFO where permitted
# (KLAB_PERF_REALTIME=auto, on or off). --out keeps the samples (default
# DIR/perf/ab-<commit>.json); ab_gate.py judge judges them again.
#
# record / check (comparisons across machines or over time): run the benchmarks of a build one
# stage at a time, each run with the calibration benchmarks, merge their JSON into one result set
# (a suite per stage), and record it as a baseline or check it against one with
# src/tools/gate.py, which divides by the calibration. A machine busier during one of the two
# runs than during the other is only partly divided out (README, "Performance regression
# suite"); ab has no such gap between its two sides.
#
# --quick runs the quick set (--benchmark_filter=/quick/), otherwise the full suite. --build
# defaults to build/openmp; build the binaries first:
#   cmake --build build/openmp --target bench_klab klab
# Gate options (--threshold, --alpha; for check also --intensity, --calibration) go to the gate;
# the exit status is its: 0 no regression, 1 a regression, 2 bad input (or a base that cannot be
# built). check writes the new result set to --out (default DIR/perf/regression-NAME.json).
# KLAB_PERF_REPETITIONS (default 10) and KLAB_PERF_MIN_TIME (seconds of timed iterations per
# repetition, default 0.1) set check's and record's sampling.
set -euo pipefail

perf_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$perf_dir")

usage() {
  sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^#   /usage: /' >&2
  exit 2
}
fail() {
  echo "regression.sh: $*" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
mode=$1 name=$2
shift 2
case $mode in
  record | check) [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || fail "baseline name '$name': letters, digits, . _ - only" ;;
  ab) ;;
  *) usage ;;
esac
preset=openmp build="" quick=false out="" gate_args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=true ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    --preset) [[ $mode == ab ]] || usage; preset=${2:?--preset needs a name}; shift ;;
    --out) out=${2:?--out needs a file}; shift ;;
    *) gate_args+=("$1") ;;
  esac
  shift
done
[[ $mode != record || ${#gate_args[@]} -eq 0 ]] || fail "record takes no gate options: ${gate_args[*]}"
build=${build:-$root/build/$preset}
[[ -d $build ]] || fail "no build folder $build"
build=$(cd "$build" && pwd)

baseline=$perf_dir/baselines/$name.json
if [[ $mode == check && ! -f $baseline ]]; then
  fail "no baseline $baseline; record one with: bash perf/regression.sh record $name"
fi
for binary in perf/bench_klab src/klab; do
  [[ -x $build/$binary ]] || fail "$build/$binary is not built; run: cmake --build $build --target bench_klab klab"
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

# Builds bench_klab of commit $1 with $preset into the cache (incrementally: a warm cache only
# checks that it is up to date) and prints its path. The source is exported, not a worktree, so
# that the cache outlives the clone it came from.
build_base() {
  local commit=$1 cache=${KLAB_CACHE:-$HOME/.cache/klab}/ab
  local entry=$cache/$commit-$preset
  if [[ ! -d $entry/src ]]; then
    rm -rf "$entry"
    mkdir -p "$entry/src.partial"
    git -C "$root" archive "$commit" | tar -x -C "$entry/src.partial" || fail "cannot export $commit"
    mv "$entry/src.partial" "$entry/src"
  fi
  touch "$entry"
  if ! grep -q '^-- Build files have been written to: ' "$entry/configure.log" 2>/dev/null; then
    (cd "$entry/src" && cmake --preset "$preset") >"$entry/configure.log" 2>&1 ||
      { tail -20 "$entry/configure.log" >&2; fail "cannot configure $commit (log: $entry/configure.log)"; }
  fi
  local binary_dir
  binary_dir=$(sed -n 's/^-- Build files have been written to: //p' "$entry/configure.log" | tail -1)
  cmake --build "$binary_dir" --target bench_klab >"$entry/build.log" 2>&1 ||
    { tail -20 "$entry/build.log" >&2; fail "cannot build bench_klab of $commit (log: $entry/build.log)"; }
  # The 4 most recently used base builds stay.
  find "$cache" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- |
    while read -r old; do rm -rf "$old"; done
  echo "$binary_dir/perf/bench_klab"
}

if [[ $mode == ab ]]; then
  if ! commit=$(git -C "$root" rev-parse --verify --quiet "$name^{commit}"); then
    [[ $(git -C "$root" rev-parse --is-shallow-repository 2>/dev/null) == true ]] &&
      fail "'$name' is not a commit of this clone, a shallow one: fetch the history (git fetch --unshallow)"
    fail "'$name' is not a commit of this clone"
  fi
  short=$(git -C "$root" rev-parse --short "$commit")
  build_start=$SECONDS
  echo "regression.sh: ab: building bench_klab of $short ($name) with preset $preset" >&2
  base_bench=$(build_base "$commit")
  echo "regression.sh: ab: base built in $((SECONDS - build_start)) s: $base_bench" >&2
  changes=""
  [[ -z $(git -C "$root" status --porcelain --untracked-files=no) ]] || changes=" with uncommitted changes"
  exec python3 "$root/src/tools/ab_gate.py" run "$base_bench" "$bench" --filter "$set_filter" \
    --rounds "${KLAB_PERF_ROUNDS:-15}" --min-time "${KLAB_PERF_MIN_TIME:-0.03}" \
    --realtime "${KLAB_PERF_REALTIME:-auto}" \
    --out "${out:-$build/perf/ab-$short.json}" \
    --base-label "$(git -C "$root" log -1 --format='%h %s' "$commit") [$name]" \
    --candidate-label "working tree of $(git -C "$root" rev-parse --short HEAD)$changes, built in $build" \
    "${gate_args[@]}"
fi

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
