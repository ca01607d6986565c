# Finds Kokkos, Kokkos Kernels, yaml-cpp (and, where asked for, GoogleTest and Google Benchmark).
#
# An installed Kokkos named by Kokkos_ROOT / KokkosKernels_ROOT (variable or environment) is used
# as is. Otherwise the prefix built by cmake/bootstrap.sh is searched: $KLAB_CACHE/<backend>, with
# KLAB_CACHE defaulting to ~/.cache/klab, and <backend> from KLAB_BACKEND (set by the presets).
set(KLAB_BACKEND "openmp" CACHE STRING "Kokkos prefix built by cmake/bootstrap.sh to search (openmp or cuda)")
if(DEFINED ENV{KLAB_CACHE})
  set(_klab_cache "$ENV{KLAB_CACHE}")
else()
  set(_klab_cache "$ENV{HOME}/.cache/klab")
endif()
set(KLAB_BOOTSTRAP_PREFIX "${_klab_cache}/${KLAB_BACKEND}" CACHE PATH "Prefix installed by cmake/bootstrap.sh")

# One's own Kokkos Kernels comes with one's own Kokkos: KokkosKernels_ROOT defaults to Kokkos_ROOT.
if(NOT KokkosKernels_ROOT AND NOT DEFINED ENV{KokkosKernels_ROOT})
  if(Kokkos_ROOT)
    set(KokkosKernels_ROOT "${Kokkos_ROOT}")
  elseif(DEFINED ENV{Kokkos_ROOT})
    set(KokkosKernels_ROOT "$ENV{Kokkos_ROOT}")
  endif()
endif()
# A _ROOT given now wins over the package an earlier configure of this build folder found.
foreach(_klab_package Kokkos KokkosKernels)
  set(_klab_root "${${_klab_package}_ROOT}")
  if(NOT _klab_root AND DEFINED ENV{${_klab_package}_ROOT})
    set(_klab_root "$ENV{${_klab_package}_ROOT}")
  endif()
  if(_klab_root AND ${_klab_package}_DIR)
    file(REAL_PATH "${_klab_root}" _klab_root)
    file(REAL_PATH "${${_klab_package}_DIR}" _klab_dir)
    string(FIND "${_klab_dir}/" "${_klab_root}/" _klab_at)
    if(NOT _klab_at EQUAL 0)
      message(STATUS "klab: ${_klab_package}_ROOT ${_klab_root} replaces ${${_klab_package}_DIR} of an earlier configure")
      unset(${_klab_package}_DIR CACHE)
    endif()
  endif()
endforeach()

if(NOT Kokkos_ROOT AND NOT DEFINED ENV{Kokkos_ROOT})
  list(APPEND CMAKE_PREFIX_PATH "${KLAB_BOOTSTRAP_PREFIX}")
endif()
if(NOT KokkosKernels_ROOT AND NOT DEFINED ENV{KokkosKernels_ROOT})
  list(APPEND CMAKE_PREFIX_PATH "${KLAB_BOOTSTRAP_PREFIX}")
endif()

if(KLAB_BACKEND STREQUAL "cuda")
  include(cuda-toolkit-first)
endif()
find_package(Kokkos QUIET)
if(NOT Kokkos_FOUND)
  message(FATAL_ERROR "Kokkos not found. Run `bash cmake/bootstrap.sh` (builds it into ${KLAB_BOOTSTRAP_PREFIX}) "
                      "or point Kokkos_ROOT / KokkosKernels_ROOT at an existing install.")
endif()
find_package(KokkosKernels REQUIRED)
message(STATUS "klab: Kokkos ${Kokkos_VERSION} from ${Kokkos_DIR}")
message(STATUS "klab: Kokkos Kernels ${KokkosKernels_VERSION} from ${KokkosKernels_DIR}")
# Kokkos Kernels is built for one Kokkos release: another one fails only at link time.
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _klab_kokkos_release "${Kokkos_VERSION}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _klab_kernels_release "${KokkosKernels_VERSION}")
if(NOT _klab_kokkos_release STREQUAL _klab_kernels_release)
  message(FATAL_ERROR "klab: Kokkos Kernels ${KokkosKernels_VERSION} (${KokkosKernels_DIR}) does not go with Kokkos "
                      "${Kokkos_VERSION} (${Kokkos_DIR}): give a Kokkos Kernels of the same major.minor as "
                      "KokkosKernels_ROOT (it defaults to Kokkos_ROOT)")
endif()

find_package(yaml-cpp REQUIRED)
# yaml-cpp 0.7 (Debian 12) exports `yaml-cpp`; 0.8 and later `yaml-cpp::yaml-cpp`.
if(TARGET yaml-cpp::yaml-cpp)
  set(KLAB_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(KLAB_YAML_TARGET yaml-cpp)
endif()

# Debian's OpenBLAS comes in a pthreads build (the default alternative) and an OpenMP build
# (libopenblas0-openmp). The OpenMP one runs its dgemm on the OpenMP threads Kokkos binds to the
# cores, instead of on threads of its own that would inherit the first core's binding (see
# restart_with_run_environment in src/core/machine.hpp). Where it is installed and g++ builds
# klab (its OpenMP runtime is the one that OpenBLAS build uses, libgomp), klab's programs load it
# first: a run path to its folder; the library has the same ABI, libopenblas.so.0.
find_path(KLAB_OPENBLAS_OPENMP_DIR libopenblas.so.0
          PATHS "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp" NO_DEFAULT_PATH
          DOC "Folder of OpenBLAS's OpenMP build, loaded in place of the default OpenBLAS (empty: the default)")
if(KLAB_OPENBLAS_OPENMP_DIR AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND CMAKE_BUILD_RPATH "${KLAB_OPENBLAS_OPENMP_DIR}")
  message(STATUS "klab: OpenBLAS's OpenMP build from ${KLAB_OPENBLAS_OPENMP_DIR}")
else()
  message(STATUS "klab: OpenBLAS's OpenMP build not used (Debian: libopenblas0-openmp, with g++); the default BLAS runs")
endif()

# MPI (Debian's Open MPI, libopenmpi-dev): `mpirun -np R klab run DECK` spreads a run over R
# ranks (src/core/comm.hpp). Optional: a build without it is one rank, as is a klab run without
# mpirun in a build with it.
option(KLAB_ENABLE_MPI "Build with MPI when it is found" ON)
if(KLAB_ENABLE_MPI)
  find_package(MPI COMPONENTS CXX)
endif()
if(MPI_CXX_FOUND)
  message(STATUS "klab: MPI ${MPI_CXX_VERSION} (${MPIEXEC_EXECUTABLE}): runs on many ranks under mpirun")
else()
  message(STATUS "klab: MPI not used (Debian: libopenmpi-dev openmpi-bin): klab runs on one rank")
endif()

# NCCL, for collectives on device memory in CUDA builds with MPI (core/comm.hpp; a deck picks it
# with run.collectives: nccl). Optional: from NCCL_ROOT, the CUDA toolkit, or the nvidia-nccl pip
# wheel of the Python on PATH.
option(KLAB_ENABLE_NCCL "Build with NCCL when it is found (CUDA builds with MPI)" ON)
set(KLAB_NCCL_FOUND FALSE)
if(KLAB_ENABLE_NCCL AND Kokkos_ENABLE_CUDA AND MPI_CXX_FOUND)
  set(_klab_nccl_hints $ENV{NCCL_ROOT} ${NCCL_ROOT})
  if(CUDAToolkit_LIBRARY_ROOT)
    list(APPEND _klab_nccl_hints ${CUDAToolkit_LIBRARY_ROOT})
  endif()
  list(APPEND _klab_nccl_hints /usr/local/cuda)
  execute_process(COMMAND python3 -c "import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])"
                  OUTPUT_VARIABLE _klab_nccl_wheel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_klab_nccl_wheel)
    list(APPEND _klab_nccl_hints ${_klab_nccl_wheel})
  endif()
  find_path(KLAB_NCCL_INCLUDE_DIR nccl.h HINTS ${_klab_nccl_hints} PATH_SUFFIXES include)
  find_library(KLAB_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_klab_nccl_hints} PATH_SUFFIXES lib lib64)
  if(KLAB_NCCL_INCLUDE_DIR AND KLAB_NCCL_LIBRARY)
    set(KLAB_NCCL_FOUND TRUE)
    message(STATUS "klab: NCCL ${KLAB_NCCL_LIBRARY}: collectives on device memory (run.collectives: nccl)")
  endif()
endif()
if(Kokkos_ENABLE_CUDA AND NOT KLAB_NCCL_FOUND)
  message(STATUS "klab: NCCL not used (needs MPI and nccl.h + libnccl: NCCL_ROOT, the CUDA toolkit or the "
                 "nvidia-nccl pip wheel): collectives go through host memory")
endif()
