# Host code for the CPU it is built on. klab is built where it runs (cmake/run.sh, the presets),
# and its host kernels are written to vectorise: the tiled matmul's 8x8 register block is eight
# AVX-512 or sixteen AVX2 accumulators, but SSE2 pairs without (what each -march measured: README,
# "Building by hand"). Kokkos and Kokkos Kernels keep the flags they were built with; only klab's
# own code changes.
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
