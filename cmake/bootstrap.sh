#!/usr/bin/env bash
# Installs what klab needs on Debian 12 and builds Kokkos + Kokkos Kernels 3.4.01 from Debian's
# `trilinos` source package into a cached prefix outside the clone.
#
#   bash cmake/bootstrap.sh [--backend openmp] [--no-apt] [--print-prefix]
#
# The prefix is $KLAB_CACHE/kokkos-3.4.01-<backend>-<compiler> and a link
# $KLAB_CACHE/<backend> points at it; CMake finds it there (cmake/KlabDependencies.cmake).
# A second run finds the completed prefix and returns in seconds. A build goes into a
# `.partial` folder that is renamed only once it is complete, so no half-installed prefix
# is ever taken for a finished one.
set -euo pipefail

KOKKOS_VERSION=3.4.01
TRILINOS_VERSION=13.2.0
KLAB_CACHE=${KLAB_CACHE:-$HOME/.cache/klab}
BACKEND=openmp
USE_APT=1
PRINT_PREFIX=0
JOBS=${KLAB_JOBS:-$(nproc)}

die() { echo "bootstrap: error: $*" >&2; exit 1; }
say() { echo "bootstrap: $*" >&2; }
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --backend) [ $# -ge 2 ] || die "--backend needs a value (openmp)"; BACKEND=$2; shift 2 ;;
    --backend=*) BACKEND=${1#*=}; shift ;;
    --no-apt) USE_APT=0; shift ;;
    --print-prefix) PRINT_PREFIX=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$BACKEND" in openmp) ;; *) die "--backend must be openmp, got '$BACKEND'" ;; esac

START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START )) s"; }

# --- Debian packages ---------------------------------------------------------------------
PACKAGES=(g++ cmake ninja-build git ca-certificates python3 libyaml-cpp-dev libgtest-dev libgmock-dev
          libbenchmark-dev libbenchmark-tools libopenblas-dev liblapacke-dev)
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

if [ "$USE_APT" = 1 ]; then
  command -v dpkg-query >/dev/null || die "dpkg-query not found: this script supports Debian 12 only"
  mapfile -t MISSING < <(missing_packages)
  if [ ${#MISSING[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"
    as_root=()
    if [ "$(id -u)" != 0 ]; then
      sudo -n true 2>/dev/null || die "packages missing (${MISSING[*]}) and not running as root: rerun as root, or install them and pass --no-apt"
      as_root=(sudo -n)
    fi
    say "installing Debian packages: ${MISSING[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed (no network or broken sources?)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${MISSING[@]}" >&2 \
      || die "apt-get install failed for: ${MISSING[*]}"
  fi
fi

# --- Prefix key: version, backend, compiler (and CUDA version) ---------------------------
CXX_BIN=${CXX:-g++}
command -v "$CXX_BIN" >/dev/null || die "C++ compiler '$CXX_BIN' not found"
CXX_KEY=$(basename "$CXX_BIN")-$("$CXX_BIN" -dumpfullversion -dumpversion 2>/dev/null | head -1)
KEY=kokkos-$KOKKOS_VERSION-$BACKEND-$CXX_KEY
PREFIX=$KLAB_CACHE/$KEY
STAMP=$PREFIX/.klab-complete

if [ -f "$STAMP" ]; then
  ln -sfn "$KEY" "$KLAB_CACHE/$BACKEND"
  say "Kokkos $KOKKOS_VERSION ($BACKEND) already installed at $PREFIX ($(elapsed))"
  [ "$PRINT_PREFIX" = 1 ] && echo "$PREFIX"
  exit 0
fi

# --- Sources: Debian's trilinos source package, kokkos + kokkos-kernels only -------------
SRC_CACHE=$KLAB_CACHE/src
ORIG=$SRC_CACHE/trilinos_$TRILINOS_VERSION.orig.tar.gz
TOP=Trilinos-trilinos-release-${TRILINOS_VERSION//./-}
mkdir -p "$SRC_CACHE"
if [ ! -f "$ORIG" ]; then
  command -v apt-get >/dev/null || die "apt-get not found and $ORIG absent: cannot obtain the trilinos source"
  if ! apt-cache showsrc trilinos 2>/dev/null | grep -q "^Version: $TRILINOS_VERSION"; then
    [ "$(id -u)" = 0 ] || die "no deb-src entry for bookworm and not root: add one, or rerun as root"
    say "adding a bookworm deb-src entry (/etc/apt/sources.list.d/klab-deb-src.sources)"
    cat > /etc/apt/sources.list.d/klab-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -q >&2 || die "apt-get update failed after adding deb-src (no network?)"
  fi
  say "downloading Debian source package trilinos ($TRILINOS_VERSION, ~166 MB)"
  tmpdl=$(mktemp -d "$SRC_CACHE/.download.XXXXXX")
  trap 'rm -rf "$tmpdl"' EXIT
  (cd "$tmpdl" && apt-get source --download-only trilinos >&2) \
    || die "apt-get source trilinos failed (no network, or no deb-src entry for bookworm?)"
  mv "$tmpdl"/trilinos_"$TRILINOS_VERSION".orig.tar.gz "$ORIG" || die "download incomplete: no orig tarball"
  rm -rf "$tmpdl"; trap - EXIT
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/klab-bootstrap.XXXXXX")
PARTIAL=$PREFIX.partial
cleanup() { rm -rf "$WORK" "$PARTIAL"; }
trap cleanup EXIT
rm -rf "$PARTIAL"

say "extracting packages/kokkos and packages/kokkos-kernels from $(basename "$ORIG")"
tar -xzf "$ORIG" -C "$WORK" --wildcards "$TOP/packages/kokkos/*" "$TOP/packages/kokkos-kernels/*" \
  || die "extraction failed: $ORIG is damaged (delete it and rerun)"
KOKKOS_SRC=$WORK/$TOP/packages/kokkos
KK_SRC=$WORK/$TOP/packages/kokkos-kernels
grep -q "tag:  $KOKKOS_VERSION" "$KOKKOS_SRC/master_history.txt" || die "the trilinos source does not carry Kokkos $KOKKOS_VERSION"

COMMON=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DCMAKE_INSTALL_PREFIX="$PARTIAL"
        -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON)
KOKKOS_OPTS=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_TESTS=OFF -DKokkos_ENABLE_EXAMPLES=OFF)
KK_OPTS=(-DKokkosKernels_INST_DOUBLE=ON -DKokkosKernels_INST_FLOAT=OFF
         -DKokkosKernels_INST_COMPLEX_DOUBLE=OFF -DKokkosKernels_INST_COMPLEX_FLOAT=OFF
         -DKokkosKernels_INST_LAYOUTLEFT=ON -DKokkosKernels_INST_LAYOUTRIGHT=OFF
         -DKokkosKernels_INST_ORDINAL_INT=ON -DKokkosKernels_INST_ORDINAL_INT64_T=OFF
         -DKokkosKernels_INST_OFFSET_INT=ON -DKokkosKernels_INST_OFFSET_SIZE_T=OFF
         -DKokkosKernels_INST_EXECSPACE_SERIAL=ON -DKokkosKernels_INST_EXECSPACE_OPENMP=ON
         -DKokkosKernels_ENABLE_TPL_BLAS=ON -DBLAS_LIBRARIES=openblas
         -DKokkosKernels_ENABLE_TPL_LAPACK=ON -DLAPACK_LIBRARIES=openblas
         -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF)

say "building Kokkos $KOKKOS_VERSION ($BACKEND, $CXX_KEY, $JOBS jobs)"
cmake -S "$KOKKOS_SRC" -B "$WORK/build-kokkos" "${COMMON[@]}" "${KOKKOS_OPTS[@]}" >"$WORK/kokkos-configure.log" 2>&1 \
  || { tail -30 "$WORK/kokkos-configure.log" >&2; die "configuring Kokkos failed"; }
cmake --build "$WORK/build-kokkos" -j "$JOBS" >"$WORK/kokkos-build.log" 2>&1 \
  || { tail -30 "$WORK/kokkos-build.log" >&2; die "building Kokkos failed"; }
cmake --install "$WORK/build-kokkos" >/dev/null || die "installing Kokkos failed"
say "Kokkos installed ($(elapsed)); building Kokkos Kernels $KOKKOS_VERSION (a few minutes on 2 cores)"

cmake -S "$KK_SRC" -B "$WORK/build-kk" "${COMMON[@]}" -DKokkos_ROOT="$PARTIAL" "${KK_OPTS[@]}" \
  >"$WORK/kk-configure.log" 2>&1 || { tail -30 "$WORK/kk-configure.log" >&2; die "configuring Kokkos Kernels failed"; }
# Ninja's own progress lines ([n/N]) go to the terminal, thinned so CI logs stay short.
cmake --build "$WORK/build-kk" -j "$JOBS" 2>&1 | tee "$WORK/kk-build.log" | awk '/^\[[0-9]+\/[0-9]+\]/ { split(substr($1,2),a,"/"); if (a[1] % 25 == 0 || a[1] == a[2]) { print "bootstrap: kokkos-kernels " $1 > "/dev/stderr" } }'
[ "${PIPESTATUS[0]}" = 0 ] || { grep -B2 -A10 'error' "$WORK/kk-build.log" | head -40 >&2; die "building Kokkos Kernels failed"; }
cmake --install "$WORK/build-kk" >/dev/null || die "installing Kokkos Kernels failed"

echo "kokkos=$KOKKOS_VERSION backend=$BACKEND compiler=$CXX_KEY source=debian:trilinos_$TRILINOS_VERSION" >"$PARTIAL/.klab-complete"
rm -rf "$PREFIX"
mv "$PARTIAL" "$PREFIX"
ln -sfn "$KEY" "$KLAB_CACHE/$BACKEND"
say "Kokkos + Kokkos Kernels $KOKKOS_VERSION ($BACKEND) installed at $PREFIX in $(elapsed)"
[ "$PRINT_PREFIX" = 1 ] && echo "$PREFIX"
exit 0
