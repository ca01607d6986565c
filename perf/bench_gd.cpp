// Google Benchmark of one gradient-descent epoch per strategy (sgd: steps of 1 row, minibatch:
// of 32 rows, batch: of all rows) on every compiled space, through the stage's GdEpoch; bytes and
// FLOPs per epoch from the stage's gd_epoch_work. Synthetic data, vars inputs,
// a learning rate that converges; the epochs continue from each other, as in training.
//   build/openmp/perf/bench_gd --benchmark_filter=/quick/ --benchmark_format=json
#include "bench_common.hpp"
#include "stages/gd.hpp"

namespace {

namespace stages = klab::stages;

constexpr std::int64_t minibatch_rows = 32;

template <class ExecSpace>
void bench_epoch(benchmark::State& state, const std::string& strategy) {
  const ExecSpace space;
  stages::GdParams params;
  params.obs = state.range(0);
  params.vars = state.range(1);
  params.noise = 0.01;  // the residual stays away from zero (and from denormals) as w converges
  params.learning_rate = 0.05;
  const std::int64_t batch = strategy == "sgd" ? 1 : strategy == "minibatch" ? minibatch_rows : params.obs;
  const auto data = stages::make_gd_data(space, params, klab::perf::bench_seed);
  const stages::GdEpoch<ExecSpace> epoch(data, batch, params.learning_rate);
  const klab::SpaceVector<ExecSpace> w("w", params.vars);
  klab::perf::time_iterations(state, space, stages::gd_epoch_work(params.obs, params.vars),
                              [&] { epoch.run(space, w, -1); });
}

}  // namespace

int main(int argc, char* argv[]) {
  return klab::perf::run_benchmarks(argc, argv, [] {
    klab::for_each_compiled_space([](auto tag) {
      using ExecSpace = typename decltype(tag)::type;
      for (const std::string strategy : {"sgd", "minibatch", "batch"})
        klab::perf::register_benchmark(
            klab::perf::benchmark_name("gd", strategy, tag), {"obs", "vars"}, {{{4000, 16}}, {{100'000, 16}}},
            benchmark::kMillisecond,
            [strategy](benchmark::State& state) { bench_epoch<ExecSpace>(state, strategy); });
    });
  });
}
