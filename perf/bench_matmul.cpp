// Google Benchmark of the matmul variants (C = A·B, N×N doubles) on every compiled space, manual
// time with a fence inside the timed region, FLOP/s counted as 2 N^3; and, where OpenBLAS's CBLAS
// was found at configure time, cblas_dgemm called directly on host memory, so that the
// kokkos-kernels variant can be compared with the library it reaches in the same process.
//   build/openmp/perf/bench_matmul --benchmark_filter='N:1000' --benchmark_format=json
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "core/spaces.hpp"
#include "stages/matmul.hpp"

#ifdef KLAB_HAVE_CBLAS
#include <cblas.h>
#endif

namespace {

namespace stages = klab::stages;

// Times `multiply` on `space` once per iteration and counts 2 N^3 FLOPs per call.
template <class ExecSpace, class Multiply>
void time_product(benchmark::State& state, const ExecSpace& space, std::int64_t n, Multiply&& multiply) {
  multiply();  // warm-up: first-touch pages, BLAS thread start-up
  space.fence();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    multiply();
    space.fence();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  state.counters["FLOP/s"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

template <class ExecSpace>
void bench_variant(benchmark::State& state, stages::MatmulVariant variant) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  klab::SpaceMatrix<ExecSpace> a("a", n, n), b("b", n, n), c("c", n, n);
  klab::fill_uniform(space, a, 1, stages::matmul_stream_a, 0.0, 1.0);
  klab::fill_uniform(space, b, 1, stages::matmul_stream_b, 0.0, 1.0);
  const stages::TiledLaunch tiled = stages::plan_tiled<ExecSpace>(stages::TileShape{}, {n, n, n});
  const stages::Products<ExecSpace> products = variant == stages::MatmulVariant::zip_reduce
                                                   ? stages::Products<ExecSpace>("products", n, n, n)
                                                   : stages::Products<ExecSpace>();
  if (variant == stages::MatmulVariant::tiled) state.SetLabel(tiled.describe());
  time_product(state, space, n, [&] { stages::multiply(space, variant, a, b, c, tiled, products); });
}

#ifdef KLAB_HAVE_CBLAS
void bench_cblas_dgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Kokkos::DefaultHostExecutionSpace host;
  stages::HostMatrix a("a", n, n), b("b", n, n), c("c", n, n);
  klab::fill_uniform(host, a, 1, stages::matmul_stream_a, 0.0, 1.0);
  klab::fill_uniform(host, b, 1, stages::matmul_stream_b, 0.0, 1.0);
  const int dim = static_cast<int>(n);
  time_product(state, host, n, [&] {
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1.0, a.data(), dim, b.data(), dim, 0.0,
                c.data(), dim);
  });
}
#endif

// The sizes each variant is measured at: naive and zip-reduce are slow or memory-hungry.
struct VariantSizes {
  stages::MatmulVariant variant;
  std::vector<std::int64_t> sizes;
};

}  // namespace

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("kokkos_version", std::to_string(KOKKOS_VERSION));
  benchmark::AddCustomContext("kokkos_kernels_gemm_on_host", stages::gemm_path<Kokkos::DefaultHostExecutionSpace>());
  const std::vector<VariantSizes> plan = {{stages::MatmulVariant::kokkos_kernels, {500, 1000, 2000}},
                                          {stages::MatmulVariant::tiled, {500, 1000, 2000}},
                                          {stages::MatmulVariant::naive, {256, 1000}},
                                          {stages::MatmulVariant::zip_reduce, {64, 256}}};
  klab::for_each_compiled_space([&](auto tag) {
    using ExecSpace = typename decltype(tag)::type;
    for (const VariantSizes& entry : plan) {
      const stages::MatmulVariant variant = entry.variant;
      auto* bench = benchmark::RegisterBenchmark(
          ("matmul/" + stages::name_of(variant) + "/" + tag.name).c_str(),
          [variant](benchmark::State& state) { bench_variant<ExecSpace>(state, variant); });
      bench->ArgName("N")->UseManualTime()->Unit(benchmark::kMillisecond);
      for (const std::int64_t n : entry.sizes) bench->Arg(n);
    }
  });
#ifdef KLAB_HAVE_CBLAS
  benchmark::RegisterBenchmark("matmul/cblas_dgemm/host", bench_cblas_dgemm)
      ->ArgName("N")
      ->Arg(500)
      ->Arg(1000)
      ->Arg(2000)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
