#pragma once
// The execution spaces compiled into this build, as a GoogleTest type list: one test body runs
// on each of them.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

namespace klab::testing {

using CompiledSpaces = ::testing::Types<
#ifdef KOKKOS_ENABLE_OPENMP
    Kokkos::OpenMP,
#endif
#ifdef KOKKOS_ENABLE_CUDA
    Kokkos::Cuda,
#endif
#ifdef KOKKOS_ENABLE_SERIAL
    Kokkos::Serial
#endif
    >;

}  // namespace klab::testing
