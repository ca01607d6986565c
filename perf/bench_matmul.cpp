// Google Benchmark of the matmul variants (C = A·B, N×N doubles) on every compiled space, 2 N^3
// FLOPs and 24 N^2 bytes (A and B read, C written) per call; and, where OpenBLAS's CBLAS was found
// at configure time, cblas_dgemm called directly on host memory, so that the kokkos-kernels
// variant can be compared with the library it reaches in the same process.
//   build/openmp/perf/bench_matmul --benchmark_filter='N:1000' --benchmark_format=json
#include "bench_common.hpp"
#include "stages/matmul.hpp"

#ifdef KLAB_HAVE_CBLAS
#include <cblas.h>
#endif

namespace {

namespace stages = klab::stages;

klab::Work product_work(std::int64_t n) {
  const double size = static_cast<double>(n);
  return {24.0 * size * size, 2.0 * size * size * size};
}

template <class ExecSpace>
void bench_variant(benchmark::State& state, stages::MatmulVariant variant) {
  const std::int64_t n = state.range(0);
  const ExecSpace space;
  klab::SpaceMatrix<ExecSpace> a("a", n, n), b("b", n, n), c("c", n, n);
  klab::fill_uniform(space, a, klab::perf::bench_seed, stages::matmul_stream_a, 0.0, 1.0);
  klab::fill_uniform(space, b, klab::perf::bench_seed, stages::matmul_stream_b, 0.0, 1.0);
  const stages::TiledLaunch tiled = stages::plan_tiled<ExecSpace>(stages::TileShape{}, {n, n, n});
  const stages::Products<ExecSpace> products = variant == stages::MatmulVariant::zip_reduce
                                                   ? stages::Products<ExecSpace>("products", n, n, n)
                                                   : stages::Products<ExecSpace>();
  if (variant == stages::MatmulVariant::tiled) state.SetLabel(tiled.describe());
  klab::perf::time_iterations(state, space, product_work(n),
                              [&] { stages::multiply(space, variant, a, b, c, tiled, products); });
}

#ifdef KLAB_HAVE_CBLAS
void bench_cblas_dgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Kokkos::DefaultHostExecutionSpace host;
  stages::HostMatrix a("a", n, n), b("b", n, n), c("c", n, n);
  klab::fill_uniform(host, a, klab::perf::bench_seed, stages::matmul_stream_a, 0.0, 1.0);
  klab::fill_uniform(host, b, klab::perf::bench_seed, stages::matmul_stream_b, 0.0, 1.0);
  const int dim = static_cast<int>(n);
  klab::perf::time_iterations(state, host, product_work(n), [&] {
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1.0, a.data(), dim, b.data(), dim, 0.0,
                c.data(), dim);
  });
}
#endif

// The sizes each variant is measured at: naive and zip-reduce are slow or memory-hungry.
struct VariantSizes {
  stages::MatmulVariant variant;
  klab::perf::Sizes sizes;
};

}  // namespace

int main(int argc, char* argv[]) {
  return klab::perf::run_benchmarks(argc, argv, [] {
    const std::vector<VariantSizes> plan = {
        {stages::MatmulVariant::kokkos_kernels, {{{256}}, {{500}, {1000}, {2000}}}},
        {stages::MatmulVariant::tiled, {{{256}}, {{500}, {1000}, {2000}}}},
        {stages::MatmulVariant::naive, {{{128}}, {{256}, {1000}}}},
        {stages::MatmulVariant::zip_reduce, {{{64}}, {{256}}}}};
    klab::for_each_compiled_space([&](auto tag) {
      using ExecSpace = typename decltype(tag)::type;
      for (const VariantSizes& entry : plan) {
        const stages::MatmulVariant variant = entry.variant;
        klab::perf::register_benchmark(
            klab::perf::benchmark_name("matmul", stages::name_of(variant), tag), {"N"}, entry.sizes,
            benchmark::kMillisecond,
            [variant](benchmark::State& state) { bench_variant<ExecSpace>(state, variant); });
      }
    });
#ifdef KLAB_HAVE_CBLAS
    // Named after the default host space, whose threads and memory it uses, so that the gate
    // divides it by that space's calibration.
    klab::perf::register_benchmark(
        klab::perf::benchmark_name("matmul", "cblas_dgemm",
                                   klab::SpaceTag<Kokkos::DefaultHostExecutionSpace>{}),
        {"N"}, {{{256}}, {{500}, {1000}, {2000}}}, benchmark::kMillisecond, bench_cblas_dgemm);
#endif
  });
}
