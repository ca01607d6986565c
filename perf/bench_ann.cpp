// Google Benchmark of the ANN stage's three steps (inner fits, hidden layer, outer solve) on every
// compiled space, through the stage's own functions, vars = 10 with bias as in the seed; bytes
// and FLOPs per call from the stage's ann_work. Each step's inputs come from the steps
// before it, computed outside the timing.
//   build/openmp/perf/bench_ann --benchmark_filter=/quick/ --benchmark_format=json
#include "bench_common.hpp"
#include "stages/ann.hpp"

namespace {

namespace stages = klab::stages;
using klab::SpaceMatrix;
using klab::SpaceVector;

enum class AnnStep { inner, hidden, outer };

stages::AnnParams ann_params(const benchmark::State& state) {
  stages::AnnParams params;
  params.obs = state.range(0);
  params.neurons = state.range(1);
  params.lambda = 1e-6;  // as the seed deck: LᵀL is numerically singular without it
  return params;
}

klab::Work step_work(const stages::AnnParams& params, AnnStep step) {
  const stages::AnnWork work = stages::ann_work(params);
  switch (step) {
    case AnnStep::inner: return work.inner;
    case AnnStep::hidden: return work.hidden;
    case AnnStep::outer: break;
  }
  return work.outer;
}

template <class ExecSpace>
void bench_step(benchmark::State& state, AnnStep step) {
  const ExecSpace space;
  const stages::AnnParams params = ann_params(state);
  const auto train = stages::make_ann_data(space, params, klab::perf::bench_seed, stages::ann_stream_x);
  const stages::InnerWeights<ExecSpace> inner{SpaceMatrix<ExecSpace>("w", params.neurons, params.vars),
                                              SpaceVector<ExecSpace>("b", params.neurons),
                                              SpaceVector<ExecSpace>("condition", params.neurons)};
  const auto fit_inner = [&] { stages::fit_inner_layer(space, train, params, klab::perf::bench_seed, inner); };
  const SpaceMatrix<ExecSpace> layer("layer", params.obs, params.outer_unknowns());
  const auto fit_hidden = [&] { stages::hidden_layer(space, train.x, inner, layer); };
  const klab::Work work = step_work(params, step);
  if (step == AnnStep::inner) return klab::perf::time_iterations(state, space, work, fit_inner);
  fit_inner();
  if (step == AnnStep::hidden) return klab::perf::time_iterations(state, space, work, fit_hidden);
  fit_hidden();
  stages::OuterLayer<ExecSpace> outer(params.outer_unknowns(), params.block, params.gram_blocks);
  klab::perf::time_iterations(state, space, work, [&] { outer.solve(space, layer, train.y, params.lambda); });
}

}  // namespace

int main(int argc, char* argv[]) {
  return klab::perf::run_benchmarks(argc, argv, [] {
    const std::vector<std::pair<std::string, AnnStep>> steps = {
        {"inner", AnnStep::inner}, {"hidden", AnnStep::hidden}, {"outer", AnnStep::outer}};
    klab::for_each_compiled_space([&](auto tag) {
      using ExecSpace = typename decltype(tag)::type;
      for (const auto& [name, step] : steps)
        klab::perf::register_benchmark(
            klab::perf::benchmark_name("ann", name, tag), {"obs", "neurons"}, {{{10'000, 100}}, {{50'000, 500}}},
            benchmark::kMillisecond, [step = step](benchmark::State& state) { bench_step<ExecSpace>(state, step); });
    });
  });
}
