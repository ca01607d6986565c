#!/usr/bin/env bash
# Installs what klab needs on Debian 12 and builds Kokkos + Kokkos Kernels 3.4.01 from Debian's
# `trilinos` source package into a cached prefix outside the clone.
#
#   bash cmake/bootstrap.sh [--backend openmp|cuda] [--no-apt] [--print-prefix]
#
# The prefix is $KLAB_CACHE/kokkos-3.4.01-<backend>-<compiler>[-cuda<version>] (KLAB_CACHE
# defaults to ~/.cache/klab) and a link $KLAB_CACHE/<backend> points at it; CMake finds it
# there (cmake/KlabDependencies.cmake). A second run finds the completed prefix and returns in
# seconds. A build goes into a `.partial` folder renamed only once complete, so no
# half-installed prefix is ever taken for a finished one.
# The cuda backend (CUDA + OpenMP + Serial, cuBLAS, Kokkos_ARCH_$KLAB_CUDA_ARCH, default
# AMPERE80: sm_80 code plus PTX that Hopper JITs) needs nvcc on PATH; with CUDA >= 12 it applies
# cmake/patches/kokkos-3.4.01-cuda13.patch to Kokkos. KLAB_BLAS names the host BLAS/LAPACK
# library for Kokkos Kernels' TPLs (default openblas), KLAB_BLAS_DIR its folder if not a system one.
set -euo pipefail

KOKKOS_VERSION=3.4.01
TRILINOS_VERSION=13.2.0
KLAB_CACHE=${KLAB_CACHE:-$HOME/.cache/klab}
HOST_BLAS=${KLAB_BLAS:-openblas}
BACKEND=openmp
USE_APT=1
PRINT_PREFIX=0
JOBS=${KLAB_JOBS:-$(nproc)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "bootstrap: error: $*" >&2; exit 1; }
say() { echo "bootstrap: $*" >&2; }
usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --backend) [ $# -ge 2 ] || die "--backend needs a value (openmp or cuda)"; BACKEND=$2; shift 2 ;;
    --backend=*) BACKEND=${1#*=}; shift ;;
    --no-apt) USE_APT=0; shift ;;
    --print-prefix) PRINT_PREFIX=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$BACKEND" in openmp|cuda) ;; *) die "--backend must be openmp or cuda, got '$BACKEND'" ;; esac

START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - START )) s"; }

# --- Debian packages ---------------------------------------------------------------------
PACKAGES=(g++ cmake ninja-build git ca-certificates patch python3 libyaml-cpp-dev libgtest-dev libgmock-dev
          libbenchmark-dev libbenchmark-tools libopenblas-dev libopenblas0-openmp liblapacke-dev python3-matplotlib
          python3-jsonschema libopenmpi-dev openmpi-bin)
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

if [ "$USE_APT" = 1 ]; then
  command -v dpkg-query >/dev/null || die "dpkg-query not found: this script supports Debian 12 only (or pass --no-apt)"
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
if [ "$BACKEND" = cuda ]; then
  command -v nvcc >/dev/null || die "--backend cuda needs nvcc on PATH (the CUDA toolkit)"
  CUDA_VERSION=$(nvcc --version | sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p')
  [ -n "$CUDA_VERSION" ] || die "cannot read the CUDA version from nvcc --version"
  KEY=$KEY-cuda$CUDA_VERSION
fi
PREFIX=$KLAB_CACHE/$KEY
STAMP=$PREFIX/.klab-complete
# What the prefix was built from; a prefix whose stamp differs (another patch, BLAS or
# architecture) is rebuilt.
PATCH=$HERE/patches/kokkos-$KOKKOS_VERSION-cuda13.patch
BUILD_ID="kokkos=$KOKKOS_VERSION backend=$BACKEND compiler=$CXX_KEY cuda=${CUDA_VERSION:-none} blas=$HOST_BLAS"
BUILD_ID+=" source=debian:trilinos_$TRILINOS_VERSION"
[ "$BACKEND" = cuda ] && BUILD_ID+=" arch=${KLAB_CUDA_ARCH:-AMPERE80} patch=$(sha256sum "$PATCH" | cut -c1-16)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$BUILD_ID" ]; then
  ln -sfn "$KEY" "$KLAB_CACHE/$BACKEND"
  say "Kokkos $KOKKOS_VERSION ($BACKEND) already installed at $PREFIX ($(elapsed))"
  [ "$PRINT_PREFIX" = 1 ] && echo "$PREFIX"
  exit 0
fi

# --- Sources: Debian's trilinos source package, kokkos + kokkos-kernels only -------------
# The two packages are kept as a small tarball beside the 166 MB original, so a machine
# without network (the GPU machine) can be handed just that file in $KLAB_CACHE/src.
SRC_CACHE=$KLAB_CACHE/src
ORIG=$SRC_CACHE/trilinos_$TRILINOS_VERSION.orig.tar.gz
SUBSET=$SRC_CACHE/kokkos-$KOKKOS_VERSION-from-trilinos_$TRILINOS_VERSION.tar.gz
TOP=Trilinos-trilinos-release-${TRILINOS_VERSION//./-}
mkdir -p "$SRC_CACHE"
if [ ! -f "$SUBSET" ] && [ ! -f "$ORIG" ]; then
  command -v apt-get >/dev/null || die "apt-get not found and $SUBSET absent: cannot obtain the trilinos source"
  if ! apt-cache showsrc trilinos 2>/dev/null | grep -q "^Version: $TRILINOS_VERSION"; then
    [ "$(id -u)" = 0 ] || die "no deb-src entry for bookworm and not root: add one, or rerun as root"
    say "adding a bookworm deb-src entry (/etc/apt/sources.list.d/klab-deb-src.sources)"
    printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: bookworm" "Components: main" \
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >/etc/apt/sources.list.d/klab-deb-src.sources
    apt-get update -q >&2 || die "apt-get update failed after adding deb-src (no network?)"
  fi
  say "downloading Debian source package trilinos ($TRILINOS_VERSION, ~166 MB)"
  tmpdl=$(mktemp -d "$SRC_CACHE/.download.XXXXXX")
  trap 'rm -rf "$tmpdl"' EXIT
  (cd "$tmpdl" && apt-get source --download-only trilinos >&2) \
    || die "apt-get source trilinos failed (no network, or no deb-src entry for bookworm?)"
  mv "$tmpdl"/trilinos_"$TRILINOS_VERSION".orig.tar.gz "$ORIG" || die "download incomplete: no orig tarball"
  rm -rf "$tmpdl"
  trap - EXIT
fi
if [ ! -f "$SUBSET" ]; then
  say "extracting packages/kokkos and packages/kokkos-kernels from $(basename "$ORIG")"
  tmpx=$(mktemp -d "${TMPDIR:-/tmp}/klab-extract.XXXXXX")
  trap 'rm -rf "$tmpx" "$SUBSET.partial"' EXIT
  tar -xzf "$ORIG" -C "$tmpx" --wildcards "$TOP/packages/kokkos/*" "$TOP/packages/kokkos-kernels/*" \
    || die "extraction failed: $ORIG is damaged (delete it and rerun)"
  tar -czf "$SUBSET.partial" -C "$tmpx" "$TOP" || die "cannot write $SUBSET"
  mv "$SUBSET.partial" "$SUBSET"
  rm -rf "$tmpx"
  trap - EXIT
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/klab-bootstrap.XXXXXX")
PARTIAL=$PREFIX.partial
cleanup() { rm -rf "$WORK" "$PARTIAL"; }
trap cleanup EXIT
rm -rf "$PARTIAL"

tar -xzf "$SUBSET" -C "$WORK" || die "cannot unpack $SUBSET (delete it and rerun)"
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
         -DKokkosKernels_ENABLE_TPL_BLAS=ON -DBLAS_LIBRARIES="$HOST_BLAS"
         -DKokkosKernels_ENABLE_TPL_LAPACK=ON -DLAPACK_LIBRARIES="$HOST_BLAS"
         -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF
         # OpenBLAS's Fortran symbols (dgemm_): given, so no Fortran compiler is needed to probe.
         "-DF77_BLAS_MANGLE=(name,NAME) name ## _")
[ -n "${KLAB_BLAS_DIR:-}" ] && KK_OPTS+=(-DBLAS_LIBRARY_DIRS="$KLAB_BLAS_DIR" -DLAPACK_LIBRARY_DIRS="$KLAB_BLAS_DIR")
if [ "$BACKEND" = cuda ]; then
  if [ "${CUDA_VERSION%%.*}" -ge 12 ]; then
    say "applying cmake/patches/kokkos-$KOKKOS_VERSION-cuda13.patch (CUDA $CUDA_VERSION)"
    patch -p1 -s -d "$KOKKOS_SRC" <"$PATCH" || die "the CUDA patch did not apply"
  fi
  export NVCC_WRAPPER_DEFAULT_COMPILER=$CXX_BIN NVCC_WRAPPER_DEFAULT_ARCH=sm_80
  KOKKOS_OPTS+=(-DCMAKE_CXX_COMPILER="$KOKKOS_SRC/bin/nvcc_wrapper" -DKokkos_ENABLE_CUDA=ON
                -DKokkos_ENABLE_CUDA_LAMBDA=ON "-DKokkos_ARCH_${KLAB_CUDA_ARCH:-AMPERE80}=ON")
  # cuBLAS on; cuSPARSE off (3.4 uses the legacy API that CUDA 12 removed). Kernels are
  # pre-instantiated for Cuda only: the host spaces instantiate what klab uses from headers.
  KK_OPTS+=(-DCMAKE_CXX_COMPILER="$PARTIAL/bin/nvcc_wrapper" -DKokkosKernels_ENABLE_TPL_CUBLAS=ON
            -DCMAKE_PROJECT_KokkosKernels_INCLUDE="$HERE/cuda-toolkit-first.cmake"
            -DKokkosKernels_ENABLE_TPL_CUSPARSE=OFF -DKokkosKernels_INST_EXECSPACE_CUDA=ON
            -DKokkosKernels_INST_MEMSPACE_CUDASPACE=ON -DKokkosKernels_INST_MEMSPACE_CUDAUVMSPACE=OFF
            -DKokkosKernels_INST_EXECSPACE_OPENMP=OFF -DKokkosKernels_INST_EXECSPACE_SERIAL=OFF)
else
  KK_OPTS+=(-DKokkosKernels_INST_EXECSPACE_SERIAL=ON -DKokkosKernels_INST_EXECSPACE_OPENMP=ON)
fi

# Configures and builds one package, showing every 25th of Ninja's [n/N] lines as progress.
build_package() {
  local name=$1 src=$2
  shift 2
  cmake -S "$src" -B "$WORK/build-$name" "${COMMON[@]}" "$@" >"$WORK/$name-configure.log" 2>&1 \
    || { tail -30 "$WORK/$name-configure.log" >&2; die "configuring $name failed"; }
  cmake --build "$WORK/build-$name" -j "$JOBS" 2>&1 | tee "$WORK/$name-build.log" | awk -v name="$name" '
    /^\[[0-9]+\/[0-9]+\]/ { split(substr($1, 2), a, "/"); if (a[1] % 25 == 0 || a[1] == a[2]) print "bootstrap: " name " " $1 > "/dev/stderr" }'
  [ "${PIPESTATUS[0]}" = 0 ] || { grep -B2 -A10 'error' "$WORK/$name-build.log" | head -40 >&2; die "building $name failed"; }
  cmake --install "$WORK/build-$name" >/dev/null || die "installing $name failed"
}

say "building Kokkos $KOKKOS_VERSION ($BACKEND, $CXX_KEY, $JOBS jobs)"
build_package kokkos "$KOKKOS_SRC" "${KOKKOS_OPTS[@]}"
say "Kokkos installed ($(elapsed)); building Kokkos Kernels $KOKKOS_VERSION (minutes on 2 cores)"
build_package kokkos-kernels "$KK_SRC" -DKokkos_ROOT="$PARTIAL" "${KK_OPTS[@]}"

echo "$BUILD_ID" >"$PARTIAL/.klab-complete"
rm -rf "$PREFIX"
mv "$PARTIAL" "$PREFIX"
ln -sfn "$KEY" "$KLAB_CACHE/$BACKEND"
say "Kokkos + Kokkos Kernels $KOKKOS_VERSION ($BACKEND) installed at $PREFIX in $(elapsed)"
[ "$PRINT_PREFIX" = 1 ] && echo "$PREFIX"
exit 0
