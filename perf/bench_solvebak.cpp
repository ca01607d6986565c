// Google Benchmark of one SolveBak sweep per form (residual, gram, batched) on every compiled
// space, through the stage's own sweep functions; bytes and FLOPs per sweep from the stage's
// solvebak_sweep_work. Setup (X, y, the gram form's G = XᵀX) is outside the timing; the sweeps
// continue from each other, as in a solve.
//   build/openmp/perf/bench_solvebak --benchmark_filter=/quick/ --benchmark_format=json
#include "bench_common.hpp"
#include "stages/solvebak.hpp"

namespace {

namespace stages = klab::stages;
using klab::SpaceMatrix;
using klab::SpaceVector;

template <class ExecSpace>
stages::SolveBakState<ExecSpace> residual_state(const stages::SolveBakProblem<ExecSpace>& problem) {
  stages::SolveBakState<ExecSpace> s{SpaceVector<ExecSpace>("a", problem.x.extent(1)),
                                     SpaceVector<ExecSpace>("e", problem.y.extent(0))};
  Kokkos::deep_copy(s.residual, problem.y);
  return s;
}

template <class ExecSpace>
void bench_residual(benchmark::State& state) {
  const ExecSpace space;
  const auto problem = stages::make_solvebak_problem(space, state.range(0), state.range(1), klab::perf::bench_seed);
  stages::ResidualSweeps<ExecSpace> sweeps(space, problem, residual_state(problem));
  klab::perf::time_iterations(state, space, stages::solvebak_sweep_work("residual", state.range(0), state.range(1)),
                              [&] { sweeps.sweep(); });
}

template <class ExecSpace>
void bench_gram(benchmark::State& state) {
  const ExecSpace space;
  const std::int64_t vars = state.range(1);
  const auto problem = stages::make_solvebak_problem(space, state.range(0), vars, klab::perf::bench_seed);
  const stages::SolveBakState<ExecSpace> s{SpaceVector<ExecSpace>("a", vars), SpaceVector<ExecSpace>("r", vars)};
  const SpaceMatrix<ExecSpace> gram("gram", vars, vars);
  const SpaceVector<ExecSpace> work("r_next", vars);
  klab::compat::gemm(space, "T", "N", 1.0, problem.x, problem.x, 0.0, gram);
  klab::compat::gemv(space, "T", 1.0, problem.x, problem.y, 0.0, s.residual);
  klab::perf::time_iterations(state, space, stages::solvebak_sweep_work("gram", state.range(0), vars),
                              [&] { stages::gram_sweep(space, gram, s, work); });
}

template <class ExecSpace>
void bench_batched(benchmark::State& state) {
  const ExecSpace space;
  const std::int64_t batch = state.range(2);
  const auto problem = stages::make_solvebak_problem(space, state.range(0), state.range(1), klab::perf::bench_seed);
  const auto s = residual_state(problem);
  const SpaceVector<ExecSpace> da("da", std::min(batch, state.range(1)));
  klab::perf::time_iterations(state, space, stages::solvebak_sweep_work("batched", state.range(0), state.range(1)),
                              [&] { stages::batched_sweep(space, problem, s, batch, da); });
}

}  // namespace

int main(int argc, char* argv[]) {
  return klab::perf::run_benchmarks(argc, argv, [] {
    klab::for_each_compiled_space([](auto tag) {
      using ExecSpace = typename decltype(tag)::type;
      klab::perf::register_benchmark(klab::perf::benchmark_name("solvebak", "residual", tag), {"obs", "vars"},
                                     {{{5000, 200}}, {{100'000, 1000}}}, benchmark::kMillisecond,
                                     bench_residual<ExecSpace>);
      // A gram sweep costs vars² whatever obs is, while its setup XᵀX costs 2·obs·vars², redone at
      // every repetition: obs stays small. At vars = 200 a sweep took 10-40 µs, and on a shared
      // machine other processes' use of the caches changed it by up to 4x between runs.
      klab::perf::register_benchmark(klab::perf::benchmark_name("solvebak", "gram", tag), {"obs", "vars"},
                                     {{{1000, 500}}, {{2000, 1000}}}, benchmark::kMillisecond, bench_gram<ExecSpace>);
      klab::perf::register_benchmark(klab::perf::benchmark_name("solvebak", "batched", tag), {"obs", "vars", "batch"},
                                     {{{5000, 200, 50}}, {{100'000, 1000, 100}}}, benchmark::kMillisecond,
                                     bench_batched<ExecSpace>);
    });
  });
}
