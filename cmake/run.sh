#!/usr/bin/env bash
# Sets klab up on Debian 12 and runs a deck (default: inputs/seed-notebook.yaml).
#   bash cmake/run.sh [DECK] [klab run options...]
# The first run installs Debian packages and builds Kokkos + Kokkos Kernels (about 6 minutes on
# 2 cores, progress shown); later runs reuse the cached build. Results go to results/<deck>.json
# and .csv, plots and a report to results/<deck>-plots/index.md (`klab plot`), and the last three
# lines name them. Exit status: klab run's, or klab plot's when the run passed and plotting failed.
# Set KLAB_PRESET to run another preset's build (e.g. cuda).
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
KLAB=$ROOT/build/$PRESET/src/klab
JSON=$ROOT/results/$NAME.json
CSV=$ROOT/results/$NAME.csv
# A --json or --csv among the options replaces these (klab takes the last), relative to $ROOT.
ARGS=("$@")
for ((i = 0; i + 1 < ${#ARGS[@]}; i++)); do
  case ${ARGS[i]} in
    --json) JSON=$(realpath -m "${ARGS[i + 1]}") ;;
    --csv) CSV=$(realpath -m "${ARGS[i + 1]}") ;;
  esac
done
PLOTS=$(dirname "$JSON")/$(basename "$JSON" .json)-plots

STARTED=$(date +%s)
STATUS=0
"$KLAB" run "$DECK" --json "$JSON" --csv "$CSV" "$@" || STATUS=$?
# klab writes the results when every check passed (0), one failed (1) or the run was interrupted
# (130, 143). After a deck error (2), a crash, or an error that stopped it before writing (also 1),
# a results file there is an older run's: it is not plotted.
case $STATUS in 0 | 1 | 130 | 143) ;; *) exit "$STATUS" ;; esac
if [ ! -f "$JSON" ] || [ "$(stat -c %Y "$JSON")" -lt "$STARTED" ]; then exit "$STATUS"; fi
PLOT_STATUS=0
"$KLAB" plot "$JSON" --out "$PLOTS" || PLOT_STATUS=$?
echo "JSON:   $JSON"
echo "CSV:    $CSV"
if [ "$PLOT_STATUS" -eq 0 ]; then
  echo "Report: $PLOTS/index.md"
else
  echo "Report: not written (klab plot exited $PLOT_STATUS)"
fi
if [ "$STATUS" -ne 0 ]; then exit "$STATUS"; fi
exit "$PLOT_STATUS"
