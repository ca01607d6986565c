#!/usr/bin/env bash
# Sets klab up on Debian 12 (as cmake/run.sh does), builds the preset and runs the test suite.
#   bash cmake/test.sh [ctest options...]        e.g. -L deck, -R Cli
# KLAB_PRESET picks the preset (default openmp; debug runs the suite under ASan + UBSan).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRESET=${KLAB_PRESET:-openmp}
bash "$ROOT/cmake/bootstrap.sh" --backend "${PRESET/debug/openmp}"
cd "$ROOT"
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET"
ctest --preset "$PRESET" "$@"
