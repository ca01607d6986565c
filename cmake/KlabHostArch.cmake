# Host code for the CPU it is built on. klab is built where it runs (cmake/run.sh, the presets),
# and its host kernels are written to vectorise: without AVX2/FMA the tiled matmul's 4x4
# register block runs on SSE2 pairs (N = 1000 on two cores of an AMD EPYC: 120 ms, 3.9x the
# naive kernel, without; 83-109 ms, 5.1-5.6x, with -march=native). Kokkos and Kokkos Kernels keep
# the flags they were built with; only klab's own code changes.
include(CheckCXXCompilerFlag)
set(KLAB_HOST_ARCH "native" CACHE STRING
    "-march value for klab's host code (native: the build machine's CPU; empty: the compiler's default)")
if(KLAB_HOST_ARCH)
  check_cxx_compiler_flag("-march=${KLAB_HOST_ARCH}" KLAB_HOST_ARCH_SUPPORTED)
  if(NOT KLAB_HOST_ARCH_SUPPORTED)
    message(FATAL_ERROR "klab: the compiler rejects -march=${KLAB_HOST_ARCH}; set KLAB_HOST_ARCH to another value or empty")
  endif()
  # nvcc_wrapper (the cuda preset's compiler) hands options it does not know to the host compiler.
  add_compile_options("-march=${KLAB_HOST_ARCH}")
  set(KLAB_HOST_ARCH_FLAGS "-march=${KLAB_HOST_ARCH}")
else()
  set(KLAB_HOST_ARCH_FLAGS "")
endif()
# Recorded in every results file (machine.host_code_flags) and printed by `klab info`.
add_compile_definitions(KLAB_HOST_CODE_FLAGS="${KLAB_HOST_ARCH_FLAGS}")
message(STATUS "klab: host code flags '${KLAB_HOST_ARCH_FLAGS}' (KLAB_HOST_ARCH)")
