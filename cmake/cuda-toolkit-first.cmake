# Finds the CUDA toolkit before a CUDA-enabled Kokkos 3.4 is found. Kokkos 3.4 re-creates
# CUDA::cudart in its installed config only when the target does not exist yet, and copies into
# it what FindCUDAToolkit of the CMake that built it defined (with CMake 4: a link to
# CUDA::cudart_static_deps and a cccl include folder), which a later configure cannot resolve.
find_package(CUDAToolkit REQUIRED)
