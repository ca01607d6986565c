#pragma once
// Stage `elementwise`: C = A + B over N doubles, the seed notebook's element-wise addition.
//
//   for (i = 0; i < n; ++i) c[i] = a[i] + b[i];
//
// Bytes per run: 24 N (two reads, one write); no FLOP count is reported (it is bandwidth-bound).
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
#include "core/timing.hpp"

namespace klab::stages {

struct ElementwiseParams {
  std::vector<std::int64_t> sizes;
  bool include_transfers = false;
};

template <class ExecSpace>
using Vector = Kokkos::View<double*, Kokkos::LayoutLeft, typename ExecSpace::memory_space>;

// Streams of the counter-based generator for A and B.
constexpr std::uint64_t elementwise_stream_a = 1, elementwise_stream_b = 2;

// On a GPU each work item adds 4 elements a quarter of the vector apart: every load of a warp
// stays coalesced, each thread has 8 loads in flight instead of 2, and the grid is 4x smaller.
// Measured on an H200 at N = 1e8 (perf/cuda_elementwise_probe): one element per item 0.951 ms
// (2.52 TB/s), four 0.571 ms (4.20 TB/s), a raw 256-thread kernel 0.591 ms, cudaMemcpy 0.603 ms.
// On a CPU one element per item streams best. The probe times other counts through PerItem.
template <class ExecSpace, int PerItem = SpaceTraits<ExecSpace>::is_device ? 4 : 1>
void add_vectors(const ExecSpace& space, const Vector<ExecSpace>& a, const Vector<ExecSpace>& b,
                 const Vector<ExecSpace>& c) {
  constexpr std::int64_t per_item = PerItem;
  const std::int64_t n = c.extent(0), stride = (n + per_item - 1) / per_item;
  Kokkos::parallel_for(
      "elementwise::add", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, stride),
      KOKKOS_LAMBDA(std::int64_t i) {
        for (std::int64_t r = 0; r < per_item; ++r) {
          const std::int64_t k = i + r * stride;
          // With one element per item k < n always holds; an unconditional store lets a CPU
          // compiler vectorise the loop (bench_elementwise quick, openmp: 403 µs with the test,
          // 280 µs without).
          if (per_item == 1 || k < n) c(k) = a(k) + b(k);
        }
      });
}

// max_i |c_i - (a_i + b_i)| / max_i |a_i + b_i|, with A and B regenerated on the host: an
// independent check that the inputs reached the space and every output was written.
template <class HostView>
double elementwise_error(const HostView& c, std::uint64_t seed) {
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < c.extent(0); ++i) {
    const double ref = uniform01(seed, elementwise_stream_a, i) + uniform01(seed, elementwise_stream_b, i);
    const double diff = std::fabs(c(i) - ref);
    if (!(diff <= max_diff)) max_diff = diff;  // keeps NaN once seen
    max_ref = std::max(max_ref, std::fabs(ref));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

// Bytes a case allocates on the space: A, B and C.
inline double elementwise_bytes(std::int64_t n) { return 24.0 * static_cast<double>(n); }

template <class ExecSpace>
void run_elementwise(const ExecSpace& space, const ElementwiseParams& params, StageContext& context) {
  const std::string space_name = SpaceTraits<ExecSpace>::name;
  // Addition is exactly rounded in IEEE arithmetic on every space: any difference is a bug.
  const double tolerance = std::numeric_limits<double>::epsilon();
  for (const std::int64_t n : params.sizes) {
    const std::string case_label = "N=" + std::to_string(n);
    context.announce(case_label);
    if (!context.fits_in_memory<ExecSpace>(case_label, static_cast<double>(n), elementwise_bytes(n))) continue;
    Vector<ExecSpace> a("elementwise::a", n), b("elementwise::b", n), c("elementwise::c", n);
    fill_uniform(space, a, context.seed(), elementwise_stream_a, 0.0, 1.0);
    fill_uniform(space, b, context.seed(), elementwise_stream_b, 0.0, 1.0);
    using HostStaging = typename SpaceTraits<ExecSpace>::host_staging_space;
    auto host_a = Kokkos::create_mirror_view(HostStaging(), a);
    auto host_b = Kokkos::create_mirror_view(HostStaging(), b);
    auto host_c = Kokkos::create_mirror_view(HostStaging(), c);
    Kokkos::deep_copy(host_a, a);
    Kokkos::deep_copy(host_b, b);

    const auto measure = [&](const std::string& variant, bool with_transfers) {
      Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN());
      ResultRecord record = context.record(space_name, variant, case_label, static_cast<double>(n));
      record.time = time_region(space, context.repeat(), [&] {
        if (with_transfers) {
          Kokkos::deep_copy(space, a, host_a);
          Kokkos::deep_copy(space, b, host_b);
        }
        add_vectors(space, a, b, c);
        if (with_transfers) Kokkos::deep_copy(space, host_c, c);
      });
      Kokkos::deep_copy(host_c, c);
      record.bytes = 24.0 * static_cast<double>(n);
      record.check = "max relative error vs host a+b";
      record.error = elementwise_error(host_c, context.seed());
      record.tolerance = tolerance;
      if (with_transfers)
        record.notes.emplace_back("transfers", SpaceTraits<ExecSpace>::is_device
                                                   ? "A, B host to device and C device to host (pinned host memory), inside the timing"
                                                   : "none: host memory is used in place");
      context.add(std::move(record));
    };
    measure("kernel", false);
    if (params.include_transfers) measure("kernel+transfers", true);
  }
}

inline StageDefinition elementwise_stage() {
  return {"elementwise", "C = A + B over N doubles (bandwidth-bound)", [](ParamReader& reader) {
            ElementwiseParams params;
            params.sizes = reader.integer_list("sizes", std::nullopt, {1, 10'000'000'000});
            params.include_transfers = reader.boolean("include_transfers", false);
            return make_stage(std::move(params), [](const auto& space, const ElementwiseParams& p, StageContext& c) {
              run_elementwise(space, p, c);
            });
          }};
}

}  // namespace klab::stages
