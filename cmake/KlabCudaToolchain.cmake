# The cuda preset's toolchain: compile with the nvcc_wrapper of the CUDA Kokkos in use, which is
# Kokkos_ROOT's when given (variable or environment), else that of the prefix cmake/bootstrap.sh
# built in $KLAB_CACHE/cuda (KLAB_CACHE defaults to ~/.cache/klab, as in the bootstrap and
# cmake/KlabDependencies.cmake). A compiler given with -DCMAKE_CXX_COMPILER wins. The projects
# CMake makes to test the compiler read this file again without the cache: the choice is kept
# in the environment of the process for them.
if(NOT CMAKE_CXX_COMPILER)
  if(DEFINED ENV{KLAB_CUDA_TOOLCHAIN_CXX})
    set(_klab_wrapper "$ENV{KLAB_CUDA_TOOLCHAIN_CXX}")
  elseif(Kokkos_ROOT)
    set(_klab_wrapper "${Kokkos_ROOT}/bin/nvcc_wrapper")
  elseif(DEFINED ENV{Kokkos_ROOT})
    set(_klab_wrapper "$ENV{Kokkos_ROOT}/bin/nvcc_wrapper")
  elseif(DEFINED ENV{KLAB_CACHE})
    set(_klab_wrapper "$ENV{KLAB_CACHE}/cuda/bin/nvcc_wrapper")
  else()
    set(_klab_wrapper "$ENV{HOME}/.cache/klab/cuda/bin/nvcc_wrapper")
  endif()
  if(NOT EXISTS "${_klab_wrapper}")
    message(FATAL_ERROR "klab: no nvcc_wrapper at ${_klab_wrapper}: run `bash cmake/bootstrap.sh --backend cuda` "
                        "(with the same KLAB_CACHE), or give the CUDA Kokkos as -DKokkos_ROOT=PREFIX")
  endif()
  set(CMAKE_CXX_COMPILER "${_klab_wrapper}")
  set(ENV{KLAB_CUDA_TOOLCHAIN_CXX} "${_klab_wrapper}")
endif()
