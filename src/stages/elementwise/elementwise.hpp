#pragma once
// Stage `elementwise`: C = A + B over N doubles, the seed notebook's element-wise addition.
//
//   for (i = 0; i < n; ++i) c[i] = a[i] + b[i];
//
// Work per call: 24 N bytes (two reads, one write) and N additions; it is bandwidth-bound.
// Inputs are uniform in [0, 1) like NumPy's random.rand, generated on the space itself from a
// counter-based generator; C starts as NaN so an element the kernel misses fails validation.
// With `include_transfers: true` a second variant also times copying A and B to the space and C
// back (the seed's point about transfers at small N), from page-locked host memory on a device;
// on host spaces those copies are no-ops, since a host mirror of host memory is the View itself.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/spaces.hpp"
#include "core/stage.hpp"

namespace klab::stages {

// The stage's deck keys (`sizes`, `include_transfers`) and cases: elementwise.cpp.
StageDefinition elementwise_stage();

template <class ExecSpace>
using Vector = Kokkos::View<double*, Kokkos::LayoutLeft, typename ExecSpace::memory_space>;

// Streams of the counter-based generator for A and B.
constexpr std::uint64_t elementwise_stream_a = 1, elementwise_stream_b = 2;

// Work item i adds elements i, i + stride, ... (PerItem of them, those below n): c = a + b.
template <class ExecSpace, int PerItem>
struct AddVectors {
  static constexpr std::int64_t per_item = PerItem;

  Vector<ExecSpace> a, b, c;
  std::int64_t n, stride;

  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const {
    for (std::int64_t r = 0; r < per_item; ++r) {
      const std::int64_t k = i + r * stride;
      // With one element per item k < n always holds; an unconditional store lets a CPU
      // compiler vectorise the loop (README, "Results on a GPU", has what each choice measured).
      if (per_item == 1 || k < n) c(k) = a(k) + b(k);
    }
  }
};

// On a GPU each work item adds 4 elements a quarter of the vector apart: every load of a warp
// stays coalesced, each thread has 8 loads in flight instead of 2, and the grid is 4x smaller;
// perf/cuda_elementwise_probe times this against one per item, a raw CUDA kernel and cudaMemcpy
// (its numbers on an H200: README, "Results on a GPU"). On a CPU one element per item streams
// best. The probe times other counts through PerItem.
template <class ExecSpace, int PerItem = SpaceTraits<ExecSpace>::is_device ? 4 : 1>
void add_vectors(const ExecSpace& space, const Vector<ExecSpace>& a, const Vector<ExecSpace>& b,
                 const Vector<ExecSpace>& c) {
  constexpr std::int64_t per_item = AddVectors<ExecSpace, PerItem>::per_item;
  const std::int64_t n = c.extent(0), stride = (n + per_item - 1) / per_item;
  Kokkos::parallel_for(
      "elementwise::add", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, stride),
      AddVectors<ExecSpace, PerItem>{a, b, c, n, stride});
}

// max_i |c_i - (a_i + b_i)| and max_i |a_i + b_i| over c, elements first, first + 1, ... of the
// whole vector, with A and B regenerated on the host: an independent check that the inputs
// reached the space and every output was written.
struct ElementwiseDeviation {
  double max_diff = 0, max_ref = 0;
  // The relative error: max_diff / max_ref.
  double error() const { return max_ref > 0 ? max_diff / max_ref : max_diff; }
};

template <class HostView>
ElementwiseDeviation elementwise_deviation(const HostView& c, std::uint64_t seed, std::uint64_t first = 0) {
  ElementwiseDeviation d;
  for (std::size_t i = 0; i < c.extent(0); ++i) {
    const double ref =
        uniform01(seed, elementwise_stream_a, first + i) + uniform01(seed, elementwise_stream_b, first + i);
    const double diff = std::fabs(c(i) - ref);
    if (!(diff <= d.max_diff)) d.max_diff = diff;  // keeps NaN once seen
    d.max_ref = std::max(d.max_ref, std::fabs(ref));
  }
  return d;
}

// Bytes a case allocates on the space (A, B and C), and moves per call of add_vectors.
inline double elementwise_bytes(std::int64_t n) { return 24.0 * static_cast<double>(n); }

}  // namespace klab::stages
