#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the CUDA toolkit: builds the `cuda` preset (bootstrapping
# the CUDA Kokkos prefix first), runs the whole test suite on the GPU, then runs decks on every
# space and writes perf/results/<gpu>-<deck>.json and .csv.
#
#   bash perf/run-gpu.sh [DECK...]            default: inputs/seed-notebook.yaml
#   KLAB_RUN_ARGS="--spaces openmp,cuda"      extra options for each `klab run`
#
# Without network (as on a lent GPU machine), hand over what apt would install (perf/gpu-env.sh:
# KLAB_DEBS, KLAB_MPI_DEBS) and the Kokkos sources in $KLAB_CACHE/src (cmake/bootstrap.sh keeps
# them there as a small tarball).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "run-gpu: $*" >&2; }

BOOTSTRAP_ARGS=(--backend cuda)
# shellcheck source=perf/gpu-env.sh
source "$ROOT/perf/gpu-env.sh"
[ -n "${KLAB_DEBS:-}" ] && BOOTSTRAP_ARGS+=(--no-apt)

bash cmake/bootstrap.sh "${BOOTSTRAP_ARGS[@]}"
say "configuring and building preset cuda"
cmake --preset cuda >/dev/null
cmake --build --preset cuda
say "running the test suite"
CTEST_ARGS=(--preset cuda)
# plot_test runs the Python the build was configured with (KLAB_PLOT_PYTHON), which needs
# matplotlib; GPU images often lack it.
PLOT_PYTHON=$(sed -n 's/^KLAB_PLOT_PYTHON:FILEPATH=//p' build/cuda/CMakeCache.txt)
if ! "${PLOT_PYTHON:-/usr/bin/python3}" -c "import matplotlib" 2>/dev/null; then
  say "${PLOT_PYTHON:-/usr/bin/python3} cannot import matplotlib: plot_test left out (-LE plot)"
  CTEST_ARGS+=(-LE plot)
fi
ctest "${CTEST_ARGS[@]}"

GPU=$(gpu_env_gpu_name)
build/cuda/src/klab info
[ $# -gt 0 ] || set -- inputs/seed-notebook.yaml
status=0
for deck in "$@"; do
  name=$(basename "$deck" .yaml)
  say "running $deck"
  # shellcheck disable=SC2086 # KLAB_RUN_ARGS is a list of options
  build/cuda/src/klab run "$deck" --json "perf/results/$GPU-$name.json" --csv "perf/results/$GPU-$name.csv" \
    ${KLAB_RUN_ARGS:-} || status=$?
done
exit "$status"
