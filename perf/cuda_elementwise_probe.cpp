// C = A + B on a CUDA device, launched several ways side by side, to tell the cost of Kokkos's
// launch shape from the memory system's: the elementwise stage's own kernel (add_vectors) with 1,
// 2, 4 and 8 elements per work item (the stage uses 4), a raw CUDA kernel, cudaMemcpy, and the
// launch + sync floor at small N. Prints medians of fenced repetitions; bytes counted are 24 per
// element (two loads, one store; the copy counts 16 and is scaled to 24).
//
//   build/cuda/perf/cuda_elementwise_probe [N...]     default: 1000 1e8 1e9
#include <cuda_runtime.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "stages/elementwise/elementwise.hpp"

namespace {

using DeviceVector = klab::stages::Vector<Kokkos::Cuda>;
using Index = Kokkos::IndexType<std::int64_t>;

// Median seconds of `reps` runs of `launch` followed by `sync`, after three warm-up runs.
template <class Launch, class Sync>
double median_seconds(Launch&& launch, Sync&& sync, int reps) {
  for (int w = 0; w < 3; ++w) launch();
  sync();
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    launch();
    sync();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(seconds.begin(), seconds.begin() + reps / 2, seconds.end());
  return seconds[reps / 2];
}

__global__ void raw_add(const double* __restrict__ a, const double* __restrict__ b, double* __restrict__ c,
                        std::int64_t n) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

void probe(std::int64_t n) {
  DeviceVector a("a", n), b("b", n), c("c", n);
  // Non-zero inputs: zeros can run faster than real data.
  Kokkos::parallel_for(
      Kokkos::RangePolicy<Kokkos::Cuda, Index>(0, n), KOKKOS_LAMBDA(std::int64_t i) {
        a(i) = 0.5 + 1e-9 * i;
        b(i) = 0.25 + 1e-10 * i;
      });
  Kokkos::fence();
  const int reps = n > 100000 ? 30 : 200;
  const Kokkos::Cuda space;
  const cudaStream_t stream = space.cuda_stream();
  const auto fence = [space] { space.fence(); };
  const auto stream_sync = [stream] { cudaStreamSynchronize(stream); };
  const auto report = [n](const char* what, double seconds) {
    std::printf("N=%-11lld %-30s %11.3f us %9.1f GB/s\n", static_cast<long long>(n), what, seconds * 1e6,
                24.0 * n / seconds / 1e9);
  };
  using klab::stages::add_vectors;
  const auto time_add = [&](auto kernel) { return median_seconds([&] { kernel(space, a, b, c); }, fence, reps); };
  report("kokkos, 1 per item + fence", time_add(add_vectors<Kokkos::Cuda, 1>));
  report("kokkos, 2 per item + fence", time_add(add_vectors<Kokkos::Cuda, 2>));
  report("kokkos, 4 per item + fence", time_add(add_vectors<Kokkos::Cuda, 4>));
  report("kokkos, 8 per item + fence", time_add(add_vectors<Kokkos::Cuda, 8>));
  const auto blocks = static_cast<unsigned>((n + 255) / 256);
  report("raw 256 threads + stream sync",
         median_seconds([&] { raw_add<<<blocks, 256, 0, stream>>>(a.data(), b.data(), c.data(), n); }, stream_sync,
                        reps));
  report("cudaMemcpy d2d (x 24/16)",
         median_seconds([&] { cudaMemcpyAsync(c.data(), a.data(), n * sizeof(double), cudaMemcpyDeviceToDevice, stream); },
                        stream_sync, reps) * 24.0 / 16.0);
}

}  // namespace

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  std::vector<std::int64_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(static_cast<std::int64_t>(std::atof(argv[i])));
  if (sizes.empty()) sizes = {1000, 100000000, 1000000000};
  for (const std::int64_t n : sizes) {
    if (n <= 0) {
      std::fprintf(stderr, "cuda_elementwise_probe: sizes must be positive numbers, got %lld\n", static_cast<long long>(n));
      return 2;
    }
    probe(n);
  }
  return 0;
}
