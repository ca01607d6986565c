#!/usr/bin/env bash
# Sets klab up on Debian 12 and runs a deck (default: inputs/seed-notebook.yaml).
#   bash cmake/run.sh [DECK] [klab run options...]
# The first run installs Debian packages and builds Kokkos + Kokkos Kernels (about 6 minutes on
# 2 cores, progress shown); later runs reuse the cached build. Results go to results/<deck>.json
# and .csv; set KLAB_PRESET to run another preset's build (e.g. cuda).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRESET=${KLAB_PRESET:-openmp}
DECK=$ROOT/inputs/seed-notebook.yaml
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  DECK=$(realpath "$1")
  shift
fi
[ -f "$DECK" ] || { echo "run.sh: no deck at $DECK" >&2; exit 2; }

bash "$ROOT/cmake/bootstrap.sh" --backend "${PRESET/debug/openmp}"
cd "$ROOT"
echo "run.sh: configuring and building preset '$PRESET'" >&2
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET"
NAME=$(basename "$DECK" .yaml)
exec "$ROOT/build/$PRESET/src/klab" run "$DECK" --json "$ROOT/results/$NAME.json" --csv "$ROOT/results/$NAME.csv" "$@"
