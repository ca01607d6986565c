// Google Benchmark of the elementwise kernel (C = A + B) on every compiled space, manual time
// with a fence inside the timed region, bytes/s counted as 24 N.
//   build/openmp/perf/bench_elementwise --benchmark_format=json
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <chrono>
#include <string>

#include "core/random.hpp"
#include "core/spaces.hpp"
#include "stages/elementwise.hpp"

namespace {

template <class ExecSpace>
void bench_add(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  klab::stages::Vector<ExecSpace> a("a", n), b("b", n), c("c", n);
  klab::fill_uniform(space, a, 1, klab::stages::elementwise_stream_a, 0.0, 1.0);
  klab::fill_uniform(space, b, 1, klab::stages::elementwise_stream_b, 0.0, 1.0);
  space.fence();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    klab::stages::add_vectors(space, a, b, c);
    space.fence();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 24 * n);
}

}  // namespace

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kokkos_version", std::to_string(KOKKOS_VERSION));
  klab::for_each_compiled_space([](auto tag) {
    using ExecSpace = typename decltype(tag)::type;
    benchmark::RegisterBenchmark((std::string("elementwise/") + tag.name).c_str(), bench_add<ExecSpace>)
        ->RangeMultiplier(100)
        ->Range(1000, 10'000'000)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
