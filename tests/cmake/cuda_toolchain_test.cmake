# ctest cuda_toolchain: the cuda preset's toolchain (cmake/KlabCudaToolchain.cmake) takes the
# nvcc_wrapper of $KLAB_CACHE/cuda, or of Kokkos_ROOT when given, and stops with a clear error
# when there is none. Fake prefixes under WORK stand in for the CUDA Kokkos installs.
#   cmake -DTOOLCHAIN=cmake/KlabCudaToolchain.cmake -DWORK=<scratch folder> -P tests/cmake/cuda_toolchain_test.cmake
file(REMOVE_RECURSE "${WORK}")
foreach(prefix cache/cuda kokkos)
  file(MAKE_DIRECTORY "${WORK}/${prefix}/bin")
  file(TOUCH "${WORK}/${prefix}/bin/nvcc_wrapper")
endforeach()

function(expect_compiler expected)
  unset(CMAKE_CXX_COMPILER)
  unset(ENV{KLAB_CUDA_TOOLCHAIN_CXX})
  include("${TOOLCHAIN}")
  if(NOT CMAKE_CXX_COMPILER STREQUAL expected)
    message(FATAL_ERROR "expected ${expected}, got ${CMAKE_CXX_COMPILER}")
  endif()
endfunction()

set(ENV{HOME} "${WORK}/home")
unset(ENV{Kokkos_ROOT})
set(ENV{KLAB_CACHE} "${WORK}/cache")
expect_compiler("${WORK}/cache/cuda/bin/nvcc_wrapper")
set(Kokkos_ROOT "${WORK}/kokkos")
expect_compiler("${WORK}/kokkos/bin/nvcc_wrapper")
unset(Kokkos_ROOT)
set(ENV{Kokkos_ROOT} "${WORK}/kokkos")
expect_compiler("${WORK}/kokkos/bin/nvcc_wrapper")
unset(ENV{Kokkos_ROOT})

# No wrapper where the cache says: a configure error naming the path and the bootstrap.
execute_process(COMMAND ${CMAKE_COMMAND} -E env HOME=${WORK}/home --unset=KLAB_CACHE --unset=Kokkos_ROOT
                        --unset=KLAB_CUDA_TOOLCHAIN_CXX
                        ${CMAKE_COMMAND} -P "${TOOLCHAIN}"
                RESULT_VARIABLE status ERROR_VARIABLE error)
string(REGEX REPLACE "[ \n]+" " " error "${error}")  # CMake wraps the message
if(status EQUAL 0 OR NOT error MATCHES "no nvcc_wrapper at ${WORK}/home/.cache/klab/cuda/bin/nvcc_wrapper")
  message(FATAL_ERROR "expected an error naming the missing wrapper, got status ${status}: ${error}")
endif()
file(REMOVE_RECURSE "${WORK}")
message(STATUS "the cuda toolchain picks the wrapper of KLAB_CACHE or Kokkos_ROOT")
