#!/usr/bin/env bash
# On a GPU machine: klab's seed deck on the host and the GPU beside its peers, in one lease: the
# seed notebook's NumPy and CuPy code (with the device ceilings), SolveBak's blocked and gram
# forms written in NumPy and CuPy (perf/solvebak_peer.py), and BabelStream's OpenMP and CUDA
# models built from source. The peers are not part of klab: give their folder.
#
#   KLAB_PEERS=../shared/peers bash perf/run-gpu-peers.sh [DECK]   default: inputs/seed-notebook.yaml
#   KLAB_EXE=path/to/klab            default: build/cuda/src/klab (cmake --preset cuda)
#   KLAB_RUN_ARGS="--spaces openmp,cuda"
#   KLAB_PEER_STEPS="klab solvebak notebook babelstream"   which to run (one lease may not hold all)
#
# Writes perf/results/<gpu>-<deck>.json and .csv (klab) and <gpu>-peers-{notebook,solvebak}.jsonl
# and <gpu>-peers-babelstream.txt. klab's host space and BabelStream's OpenMP model run with the
# same thread placement (OMP_PROC_BIND=spread, OMP_PLACES=cores, every core).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { echo "run-gpu-peers: $*" >&2; }
# shellcheck source=perf/gpu-env.sh
source "$ROOT/perf/gpu-env.sh"

DECK=${1:-inputs/seed-notebook.yaml}
PEERS=${KLAB_PEERS:?set KLAB_PEERS to the peers folder (seed_notebook.py, babelstream/)}
gpu_env_klab
GPU=$(gpu_env_gpu_name)
out=perf/results/$GPU
mkdir -p perf/results
export OMP_PROC_BIND=spread OMP_PLACES=cores OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
status=0

for step in ${KLAB_PEER_STEPS:-klab solvebak notebook babelstream}; do
  case $step in
    klab)
      say "klab: $DECK"
      "$KLAB" info
      # shellcheck disable=SC2086 # KLAB_RUN_ARGS is a list of options
      "$KLAB" run "$DECK" --json "$out-$(basename "$DECK" .yaml).json" --csv "$out-$(basename "$DECK" .yaml).csv" \
        ${KLAB_RUN_ARGS:---spaces openmp,cuda} || status=$? ;;
    solvebak)
      say "SolveBak's blocked and gram forms in NumPy and CuPy"
      python3 perf/solvebak_peer.py | tee "$out-peers-solvebak.jsonl" || status=$? ;;
    notebook)
      say "the seed notebook's NumPy and CuPy code"
      python3 "$PEERS/seed_notebook.py" | tee "$out-peers-notebook.jsonl" || status=$? ;;
    babelstream)
      say "BabelStream"
      OUT='' bash "$PEERS/babelstream/build-and-run.sh" || status=$?
      cp "${BS_BUILD_ROOT:-/tmp/babelstream}/results/summary.txt" "$out-peers-babelstream.txt" || status=$? ;;
    *) say "unknown step $step"; status=2 ;;
  esac
done
exit "$status"
