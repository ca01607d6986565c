#!/usr/bin/env bash
# On a machine with GPUs: a scaling study (strong, or weak where the deck says), one launch per
# way of summing GPU memory over ranks, each measuring 1 and 2 ranks (one GPU each) side by side,
# and the results files
# perf/results/<gpu>x<GPUs>-<deck>-<collectives>.json and .csv.
#
#   bash perf/run-gpu-scaling.sh [DECK]        default: inputs/gpu-scaling.yaml
#   KLAB_EXE=path/to/klab                      default: build/cuda/src/klab (cmake --preset cuda)
#   KLAB_RANKS=2                               mpirun -np (the deck's run.ranks must fit in it)
#   KLAB_COLLECTIVES="mpi nccl"                the launches (nccl: where klab info lists it)
#   KLAB_RUN_ARGS="--spaces cuda"              options for each `klab run` (default: the GPU alone)
#
# Without network, hand over Debian's runtime packages and Open MPI (perf/gpu-env.sh: KLAB_DEBS,
# KLAB_MPI_DEBS). mpirun gives each rank the local rank's GPU (klab sets KOKKOS_DEVICE_ID); with
# more ranks than GPUs they share.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "run-gpu-scaling: $*" >&2; }
# shellcheck source=perf/gpu-env.sh
source "$ROOT/perf/gpu-env.sh"

DECK=${1:-inputs/gpu-scaling.yaml}
RANKS=${KLAB_RANKS:-2}
gpu_env_klab

nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader
nvidia-smi topo -m 2>/dev/null | head -5 || true
GPUS=$(nvidia-smi -L | grep -c '^GPU ')
GPU=$(gpu_env_gpu_name)
"$KLAB" info
name=$(basename "$DECK" .yaml)
mkdir -p perf/results
status=0
for collectives in ${KLAB_COLLECTIVES:-mpi nccl}; do
  out=perf/results/${GPU}x$GPUS-$name-$collectives
  say "mpirun -np $RANKS: $DECK with --collectives $collectives"
  # shellcheck disable=SC2086 # KLAB_RUN_ARGS is a list of options
  mpirun -np "$RANKS" "$KLAB" run "$DECK" --collectives "$collectives" \
    --json "$out.json" --csv "$out.csv" ${KLAB_RUN_ARGS:---spaces cuda} || status=$?
done
exit "$status"
