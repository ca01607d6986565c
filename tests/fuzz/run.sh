#!/usr/bin/env bash
# Fuzzes klab's deck parser and validator (deck_fuzz) and its command line (command_fuzz) with
# libFuzzer, under AddressSanitizer and UBSan, one target after the other.
#
#   bash tests/fuzz/run.sh                 # 60 seconds per target
#   bash tests/fuzz/run.sh --seconds 600
#   bash tests/fuzz/run.sh --runs 100000
#
# Configures build/fuzz with clang++ (Debian: clang, libclang-rt-14-dev for libFuzzer and the
# sanitizer runtimes, libomp-14-dev for clang's -fopenmp) against the same Kokkos prefix as the
# other presets, builds the fuzz targets only, and runs deck_fuzz from a seed corpus of
# inputs/*.yaml and command_fuzz from tests/fuzz/command-seeds (NUL-separated command lines).
# New inputs that reach new code are kept in build/fuzz/corpus-TARGET; a crash, sanitizer report
# or hang stops the run with a non-zero status and leaves the input in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

limit=(-max_total_time=60)
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "fuzz: unknown option '$1' (--seconds N or --runs N)" >&2; exit 2 ;;
  esac
done

build=build/fuzz
clang=${KLAB_FUZZ_CXX:-clang++}
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$clang" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DKLAB_BUILD_FUZZ=ON -DKLAB_BUILD_PERF=OFF >/dev/null
fi
cmake --build "$build" --target deck_fuzz command_fuzz

mkdir -p "$build/seeds-deck" "$build/artifacts"
cp inputs/*.yaml "$build/seeds-deck/"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for target in deck command; do
  seeds=$build/seeds-deck
  [ "$target" = command ] && seeds=tests/fuzz/command-seeds
  mkdir -p "$build/corpus-$target"
  echo "fuzz: $target" >&2
  "$build/tests/fuzz/${target}_fuzz" "${limit[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="tests/fuzz/$target.dict" -artifact_prefix="$build/artifacts/$target-" "$build/corpus-$target" "$seeds"
done
