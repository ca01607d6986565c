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
message(STATUS "klab: Kokkos Kernels from ${KokkosKernels_DIR}")

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
