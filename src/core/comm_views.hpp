#pragma once
// Collectives on Kokkos Views of a space: what a distributed stage combines across its ranks.
// Memory the host cannot reach is summed in place by NCCL when the communicator has it, else goes
// through a host mirror (Debian's Open MPI is not CUDA-aware); the copies count as communication
// time, as the collective itself does (CommunicationScope).
#include <Kokkos_Core.hpp>

#include <stdexcept>
#include <type_traits>
#include <utility>

#include "core/comm.hpp"
#include "core/spaces.hpp"

namespace klab {

// The host memory a space's sums go through, grown as needed and kept until Kokkos ends: pinned
// memory for a GPU costs milliseconds to allocate, more than the sum of a few doubles it serves.
template <class ExecSpace>
Kokkos::View<double*, typename SpaceTraits<ExecSpace>::host_staging_space> staging_buffer(std::size_t count) {
  using Buffer = Kokkos::View<double*, typename SpaceTraits<ExecSpace>::host_staging_space>;
  static Buffer buffer;
  static const bool released_at_finalize = (Kokkos::push_finalize_hook([] { buffer = Buffer(); }), true);
  (void)released_at_finalize;
  if (buffer.extent(0) < count) {
    buffer = Buffer();
    buffer = Buffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, "klab::staging"), count);
  }
  return buffer;
}

// Sums `values` element-wise over the ranks of `comm`, in place, after the work queued on `space`
// (which wrote them) is done. `values` must be contiguous (any layout, any rank).
template <class ExecSpace, class View>
void sum_over_ranks(const Communicator& comm, const ExecSpace& space, const View& values) {
  if (comm.size() == 1) return;
  if (!values.span_is_contiguous()) throw std::logic_error("sum_over_ranks needs a contiguous View");
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
    if (comm.on_device()) {  // queued behind the writes on the space's stream; nothing waits
      comm.sum_on_device(values.data(), values.span(), space.cuda_stream());
      return;
    }
  }
#endif
  space.fence();  // the work that wrote `values` is compute, not communication
  const CommunicationScope counted(comm);
  if constexpr (!SpaceTraits<ExecSpace>::is_device) {
    comm.sum(values.data(), values.span());
  } else {
    using Flat = Kokkos::View<double*, typename View::memory_space, Kokkos::MemoryUnmanaged>;
    const Flat flat(values.data(), values.span());
    const auto host = Kokkos::subview(staging_buffer<ExecSpace>(values.span()),
                                      std::make_pair(std::size_t(0), values.span()));
    Kokkos::deep_copy(space, host, flat);
    space.fence();
    comm.sum(host.data(), host.extent(0));
    Kokkos::deep_copy(space, flat, host);
    space.fence();
  }
}

}  // namespace klab
