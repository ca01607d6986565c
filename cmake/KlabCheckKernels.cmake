# ctest kernels_are_functors: fails when a source under src/ launches a KOKKOS_LAMBDA.
# Every header there is compiled into several translation units of one binary (a stage's .cpp and
# its test; core/random.hpp and linalg/ into every stage). nvcc keeps the helpers of an extended
# lambda in an anonymous namespace, one set per translation unit, while the functions using them
# are weak symbols the linker may take from another: a CUDA build then calls a null pointer (seen
# on an H200: OpenMP tests jumped to address 0). Kernels are named functors instead.
#   cmake -DKLAB_SOURCE_DIR=<repo>/src -P cmake/KlabCheckKernels.cmake
file(GLOB_RECURSE klab_sources "${KLAB_SOURCE_DIR}/*.hpp" "${KLAB_SOURCE_DIR}/*.cpp")
set(klab_offenders "")
foreach(source IN LISTS klab_sources)
  file(STRINGS "${source}" lines REGEX "KOKKOS_LAMBDA *\\(")
  if(lines)
    list(APPEND klab_offenders "${source}")
  endif()
endforeach()
if(klab_offenders)
  list(JOIN klab_offenders "\n  " listed)
  message(FATAL_ERROR "KOKKOS_LAMBDA in (write the kernel as a functor):\n  ${listed}")
endif()
list(LENGTH klab_sources checked)
message(STATUS "${checked} sources under ${KLAB_SOURCE_DIR}: every kernel is a functor")
