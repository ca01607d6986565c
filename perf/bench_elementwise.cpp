// Google Benchmark of the elementwise kernel (C = A + B) on every compiled space: 24 N bytes and
// N FLOPs per call.
//   build/openmp/perf/bench_elementwise --benchmark_filter=/quick/ --benchmark_format=json
#include "bench_common.hpp"
#include "stages/elementwise.hpp"

namespace {

namespace stages = klab::stages;

template <class ExecSpace>
void bench_add(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  stages::Vector<ExecSpace> a("a", n), b("b", n), c("c", n);
  klab::fill_uniform(space, a, klab::perf::bench_seed, stages::elementwise_stream_a, 0.0, 1.0);
  klab::fill_uniform(space, b, klab::perf::bench_seed, stages::elementwise_stream_b, 0.0, 1.0);
  const double size = static_cast<double>(n);
  klab::perf::time_iterations(state, space, {24.0 * size, size}, [&] { stages::add_vectors(space, a, b, c); });
}

}  // namespace

int main(int argc, char* argv[]) {
  return klab::perf::run_benchmarks(argc, argv, [] {
    klab::for_each_compiled_space([](auto tag) {
      using ExecSpace = typename decltype(tag)::type;
      // Quick at N = 1e6 (24 MB, past the caches, like the copy calibration): at 1e5 a call took
      // 20-140 µs, mostly the OpenMP fork and join, which other processes on a shared machine
      // slowed by up to 4x between runs while the calibration did not move.
      klab::perf::register_benchmark(klab::perf::benchmark_name("elementwise", "add", tag), {"N"},
                                     {{{1'000'000}}, {{1000}, {100'000}, {10'000'000}}}, benchmark::kMicrosecond,
                                     bench_add<ExecSpace>);
    });
  });
}
