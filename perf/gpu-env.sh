# shellcheck shell=bash
# Sourced by the GPU scripts (perf/run-gpu.sh, perf/run-gpu-scaling.sh) on a machine without
# network: what apt would install, from .deb files unpacked into private prefixes, never into /.
#   KLAB_DEBS=folder of Debian 12 .debs klab builds and runs with (yaml-cpp, googletest, benchmark,
#     openblas, ...), unpacked into $KLAB_DEBS_PREFIX (default /opt/klab-debs)
#   KLAB_MPI_DEBS=folder of Debian 12's Open MPI runtime .debs (openmpi-bin, libopenmpi3 and what
#     they depend on), unpacked into $KLAB_MPI_PREFIX (default /opt/klab-mpi) and relocated there
# and NCCL's library from the nvidia-nccl pip wheel of python3 when the dynamic loader lacks it.
gpu_env_say() { echo "gpu-env: $*" >&2; }
# gpu_env_unpack FOLDER PREFIX: every .deb of FOLDER unpacked into PREFIX.
gpu_env_unpack() {
  gpu_env_say "unpacking $(ls "$1"/*.deb | wc -l) packages from $1 into $2"
  mkdir -p "$2"
  for deb in "$1"/*.deb; do dpkg-deb -x "$deb" "$2"; done
}

if [ -n "${KLAB_DEBS:-}" ]; then
  DEBS_PREFIX=${KLAB_DEBS_PREFIX:-/opt/klab-debs}
  gpu_env_unpack "$KLAB_DEBS" "$DEBS_PREFIX"
  lib=$DEBS_PREFIX/usr/lib/x86_64-linux-gnu
  export CMAKE_PREFIX_PATH=$DEBS_PREFIX/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export CPATH=$DEBS_PREFIX/usr/include:$DEBS_PREFIX/usr/include/x86_64-linux-gnu/openblas-pthread${CPATH:+:$CPATH}
  export LIBRARY_PATH=$lib:$lib/openblas-pthread${LIBRARY_PATH:+:$LIBRARY_PATH}
  # OpenBLAS on OpenMP threads where its package came (klab's host spaces are OpenMP too).
  export LD_LIBRARY_PATH=$lib:$lib/openblas-openmp:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export KLAB_BLAS_DIR=$lib/openblas-pthread
fi

if [ -n "${KLAB_MPI_DEBS:-}" ]; then
  MPI_PREFIX=${KLAB_MPI_PREFIX:-/opt/klab-mpi}
  gpu_env_unpack "$KLAB_MPI_DEBS" "$MPI_PREFIX"
  mpi_lib=$MPI_PREFIX/usr/lib/x86_64-linux-gnu
  # What Debian's maintainer scripts would make (update-alternatives), and the system's libudev first.
  ln -sf orterun "$MPI_PREFIX/usr/bin/mpirun"
  [ -e "$MPI_PREFIX/usr/lib/libpsm1/libpsm_infinipath.so.1.16" ] &&
    ln -sf ../libpsm1/libpsm_infinipath.so.1.16 "$mpi_lib/libpsm_infinipath.so.1"
  if ldconfig -p 2>/dev/null | grep -q 'libudev\.so\.1 '; then rm -f "$mpi_lib"/libudev.so.1*; fi
  # Relocation: Open MPI and PMIx look for their files under the prefix they were built for.
  export OPAL_PREFIX=$MPI_PREFIX/usr OPAL_SYSCONFDIR=$MPI_PREFIX/etc/openmpi
  export PMIX_PREFIX=$mpi_lib/pmix2 PMIX_MCA_mca_base_component_path=$mpi_lib/pmix2/lib/pmix
  export PATH=$MPI_PREFIX/usr/bin:$PATH
  export LD_LIBRARY_PATH=$mpi_lib/openmpi/lib:$mpi_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # One node, in a container: no ssh, no cross-memory attach, no binding by Open MPI.
  export OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_hwloc_base_binding_policy=none
  export OMPI_MCA_btl_base_warn_component_unused=0 HWLOC_HIDE_ERRORS=2
  mkdir -p "$MPI_PREFIX/hwloc-no-plugins"
  export HWLOC_PLUGINS_PATH=$MPI_PREFIX/hwloc-no-plugins
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libnccl\.so\.2 '; then
  nccl_wheel=$(python3 -c "import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])" 2>/dev/null || true)
  if [ -n "$nccl_wheel" ] && [ -d "$nccl_wheel/lib" ]; then
    gpu_env_say "NCCL from the pip wheel: $nccl_wheel/lib"
    export LD_LIBRARY_PATH=$nccl_wheel/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
fi
# The first GPU's name as a part of a file name (results files are named after it); "gpu" without one.
gpu_env_gpu_name() {
  local name
  name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9\n' '-' | sed 's/-*$//')
  echo "${name:-gpu}"
}

# Sets KLAB to the klab to run ($KLAB_EXE, by default the cuda preset's); exits 2 when it is not
# there or lacks shared libraries.
gpu_env_klab() {
  KLAB=${KLAB_EXE:-build/cuda/src/klab}
  [ -x "$KLAB" ] || { gpu_env_say "no klab at $KLAB: build the cuda preset first, or set KLAB_EXE"; exit 2; }
  local missing
  missing=$(ldd "$KLAB" | grep 'not found' || true)
  [ -z "$missing" ] || { gpu_env_say "$KLAB lacks shared libraries:"; echo "$missing" >&2; exit 2; }
}

# The machines lent for klab must not use NVLink SHARP (CUDA multicast).
export NCCL_NVLS_ENABLE=0
