#pragma once
// The Views stages compute with on an execution space. Their device type is
// Kokkos::Device<ExecSpace, memory space>, not the bare memory space: Kokkos Kernels 3.4 runs its
// BLAS on the View's execution space, which must be the space being measured (a HostSpace View
// alone would run Serial's BLAS calls on OpenMP).
#include <Kokkos_Core.hpp>

namespace klab {

template <class ExecSpace>
using SpaceDevice = Kokkos::Device<ExecSpace, typename ExecSpace::memory_space>;

template <class ExecSpace>
using SpaceVector = Kokkos::View<double*, Kokkos::LayoutLeft, SpaceDevice<ExecSpace>>;

template <class ExecSpace>
using SpaceMatrix = Kokkos::View<double**, Kokkos::LayoutLeft, SpaceDevice<ExecSpace>>;

// A scalar that stays on the space, so reductions into it need no host round trip.
template <class ExecSpace>
using SpaceScalar = Kokkos::View<double, SpaceDevice<ExecSpace>>;

}  // namespace klab
