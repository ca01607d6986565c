#pragma once
// What klab's Google Benchmarks share: the timed loop (warm-up, then manual time with a fence
// inside the timed region), the work counters, and the calibration benchmarks (a memory copy and
// a dgemm on every space) that src/tools/gate.py divides the other timings by, so that a slower or
// busier machine does not read as a regression.
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
// iteration, each timed with fence() inside the timed region, so asynchronous device work counts.
// Sets the bytes/s and FLOP/s counters from `work` (a zero leaves its counter out), and the work
// per iteration itself ("bytes", "flops") for comparison with klab's records.
template <class Fence, class Body>
void time_iterations(benchmark::State& state, Fence&& fence, const klab::Work& work, Body&& body) {
  body();
  fence();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    body();
    fence();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double iterations = static_cast<double>(state.iterations());
  if (work.bytes > 0)
    state.counters["bytes/s"] = benchmark::Counter(work.bytes * iterations, benchmark::Counter::kIsRate);
  if (work.flops > 0)
    state.counters["FLOP/s"] = benchmark::Counter(work.flops * iterations, benchmark::Counter::kIsRate);
  state.counters["bytes"] = work.bytes;
  state.counters["flops"] = work.flops;
}

// Calibration: a copy of N doubles (bandwidth: 16 N bytes) and a dgemm N × N × N through
// Kokkos Kernels (OpenBLAS on the host, cuBLAS on CUDA), on `ExecSpace`.
template <class ExecSpace>
void bench_copy(benchmark::State& state, std::int64_t n) {
  const ExecSpace space;
  SpaceVector<ExecSpace> source("calibration::source", n), target("calibration::target", n);
  fill_uniform(space, source, bench_seed, calibration_stream_a, 0.0, 1.0);
  time_iterations(state, [&] { space.fence(); }, {16.0 * static_cast<double>(n), 0.0},
                  [&] { Kokkos::deep_copy(space, target, source); });
}

template <class ExecSpace>
void bench_dgemm(benchmark::State& state, std::int64_t n) {
  const ExecSpace space;
  SpaceMatrix<ExecSpace> a("calibration::a", n, n), b("calibration::b", n, n), c("calibration::c", n, n);
  fill_uniform(space, a, bench_seed, calibration_stream_a, 0.0, 1.0);
  fill_uniform(space, b, bench_seed, calibration_stream_b, 0.0, 1.0);
  const double size = static_cast<double>(n);
  time_iterations(state, [&] { space.fence(); }, {24.0 * size * size, 2.0 * size * size * size},
                  [&] { compat::gemm(space, "N", "N", 1.0, a, b, 0.0, c); });
}

// Measured in the same run as the stages' benchmarks (interleaved with them when run with
// --benchmark_enable_random_interleaving), so that they are divided by the machine's speed during
// that run. 4M doubles (32 MiB per array) leave the caches; N = 256 is a short gemm.
inline void register_calibration_benchmarks() {
  for_each_compiled_space([](auto tag) {
    using ExecSpace = typename decltype(tag)::type;
    const std::string space = decltype(tag)::name;
    benchmark::RegisterBenchmark(("calibration/copy/" + space + "/quick/N=4000000").c_str(), [](benchmark::State& s) {
      bench_copy<ExecSpace>(s, 4'000'000);
    })->UseManualTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("calibration/dgemm/" + space + "/quick/N=256").c_str(), [](benchmark::State& s) {
      bench_dgemm<ExecSpace>(s, 256);
    })->UseManualTime()->Unit(benchmark::kMillisecond);
  });
}

}  // namespace klab::perf
