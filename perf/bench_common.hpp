#pragma once
// What every klab Google Benchmark shares: the timed loop (warm-up, then manual time with a fence
// inside the timed region), the bytes/s and FLOP/s counters, the registration of a benchmark at
// the quick sizes and at the full suite's sizes, and the calibration benchmarks (a memory copy and
// a dgemm on every space) that perf/gate.py divides the other timings by, so that a slower or
// busier machine does not read as a regression.
//
// Names are "<stage>/<variant>/<space>[/quick]/<arg>:<value>...": the quick set, which the CI gate
// runs, is --benchmark_filter=/quick/; the full suite is every benchmark.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/kokkos_compat.hpp"
#include "core/random.hpp"
#include "core/results.hpp"
#include "core/spaces.hpp"
#include "core/views.hpp"

namespace klab::perf {

// Inputs of every benchmark come from this seed: never zeros, the same numbers on every space.
constexpr std::uint64_t bench_seed = 20240901;
constexpr std::uint64_t calibration_stream_a = 91, calibration_stream_b = 92;

// Calls body() once untimed (first touch, BLAS thread start-up, first-launch costs), then once per
// iteration, each timed with a fence of `space` inside the timed region, so asynchronous device
// work counts. Sets the bytes/s and FLOP/s counters from `work` (a zero leaves its counter out).
template <class ExecSpace, class Body>
void time_iterations(benchmark::State& state, const ExecSpace& space, const klab::Work& work, Body&& body) {
  body();
  space.fence();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    body();
    space.fence();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double iterations = static_cast<double>(state.iterations());
  if (work.bytes > 0)
    state.counters["bytes/s"] = benchmark::Counter(work.bytes * iterations, benchmark::Counter::kIsRate);
  if (work.flops > 0)
    state.counters["FLOP/s"] = benchmark::Counter(work.flops * iterations, benchmark::Counter::kIsRate);
}

using Args = std::vector<std::int64_t>;

// A benchmark's argument lists: `quick` ones run as "<name>/quick/..." (the quick set), `full`
// ones as "<name>/..." in the full suite only.
struct Sizes {
  std::vector<Args> quick, full;
};

template <class Function>
void register_benchmark(const std::string& name, const std::vector<std::string>& arg_names, const Sizes& sizes,
                        benchmark::TimeUnit unit, Function function) {
  const auto add = [&](const std::string& registered_name, const std::vector<Args>& arg_lists) {
    if (arg_lists.empty()) return;
    auto* bench = benchmark::RegisterBenchmark(registered_name.c_str(), function);
    bench->ArgNames(arg_names)->UseManualTime()->Unit(unit);
    for (const Args& args : arg_lists) bench->Args(args);
  };
  add(name + "/quick", sizes.quick);
  add(name, sizes.full);
}

template <class Tag>
std::string benchmark_name(const std::string& stage, const std::string& variant, Tag) {
  return stage + "/" + variant + "/" + Tag::name;
}

// Calibration: a copy of N doubles (bandwidth: 16 N bytes) and a dgemm N × N × N through
// Kokkos Kernels (OpenBLAS on the host, cuBLAS on CUDA), on `ExecSpace`.
template <class ExecSpace>
void bench_copy(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  SpaceVector<ExecSpace> source("calibration::source", n), target("calibration::target", n);
  fill_uniform(space, source, bench_seed, calibration_stream_a, 0.0, 1.0);
  time_iterations(state, space, {16.0 * static_cast<double>(n), 0.0},
                  [&] { Kokkos::deep_copy(space, target, source); });
}

template <class ExecSpace>
void bench_dgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  SpaceMatrix<ExecSpace> a("calibration::a", n, n), b("calibration::b", n, n), c("calibration::c", n, n);
  fill_uniform(space, a, bench_seed, calibration_stream_a, 0.0, 1.0);
  fill_uniform(space, b, bench_seed, calibration_stream_b, 0.0, 1.0);
  const double size = static_cast<double>(n);
  time_iterations(state, space, {24.0 * size * size, 2.0 * size * size * size},
                  [&] { compat::gemm(space, "N", "N", 1.0, a, b, 0.0, c); });
}

// Every binary measures the calibration in its own run (interleaved with its benchmarks when run
// with --benchmark_enable_random_interleaving), so its benchmarks are divided by the machine's
// speed during that run. 4M doubles (32 MiB per array) leave the caches; N = 256 is a short gemm.
inline void register_calibration_benchmarks() {
  for_each_compiled_space([](auto tag) {
    using ExecSpace = typename decltype(tag)::type;
    register_benchmark(benchmark_name("calibration", "copy", tag), {"N"}, {{{4'000'000}}, {}},
                       benchmark::kMillisecond, bench_copy<ExecSpace>);
    register_benchmark(benchmark_name("calibration", "dgemm", tag), {"N"}, {{{256}}, {}}, benchmark::kMillisecond,
                       bench_dgemm<ExecSpace>);
  });
}

// The main() of every benchmark binary: Kokkos, Google Benchmark, the calibration, then the
// binary's own benchmarks, registered by register_stage_benchmarks().
template <class RegisterStageBenchmarks>
int run_benchmarks(int argc, char* argv[], RegisterStageBenchmarks&& register_stage_benchmarks) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kokkos_version", std::to_string(KOKKOS_VERSION));
  benchmark::AddCustomContext("kokkos_concurrency",
                              std::to_string(Kokkos::DefaultHostExecutionSpace().concurrency()));
  register_calibration_benchmarks();
  register_stage_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace klab::perf
