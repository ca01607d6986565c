// Stage `gd`: its deck keys and cases (see gd.hpp for the kernels). A case is one run of one
// strategy at one batch size, labelled "OBSxVARS b=BATCH", whose one variant is the strategy; its
// samples are epochs.
#include "stages/gd/gd.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/stage.hpp"

namespace klab::stages {

namespace {

// What one run's samples leave for its check: the index of the next epoch (it keys the shuffle),
// the loss after each timed epoch, and the divergence when a loss was not finite.
struct GdProgress {
  int next_epoch = 0;
  std::vector<double> losses;
  std::string divergence;
};

// The case of one strategy and batch size on one space: the setup makes the data there and solves
// the closed-form weights there; the variant trains from the initial weights, an epoch a sample.
// `announce` gives the seed's first SGD step in verbose runs (once per stage entry, not per case).
template <class ExecSpace>
CaseSetup setup_gd(const ExecSpace& space, const GdParams& params, std::int64_t batch, std::uint64_t seed,
                   bool announce, const CaseContext& context) {
  const GdData<ExecSpace> data = make_gd_data(space, params, seed);
  const std::vector<double> target = host_values(closed_form_weights(space, data));
  double target_norm = 0;
  for (const double t : target) target_norm += t * t;
  target_norm = std::sqrt(target_norm);
  if (announce && context.verbose) announce_first_step(context, params, data, space);

  const SpaceVector<ExecSpace> initial("gd::initial_weights", params.vars), w("gd::w", params.vars),
      work("gd::work", params.obs);
  Kokkos::deep_copy(initial, Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                                 params.initial_weights.data(), params.initial_weights.size()));
  const GdEpoch<ExecSpace> epoch(data, batch, params.learning_rate, context.comm);
  const auto progress = std::make_shared<GdProgress>();
  const bool shuffle = params.shuffle;
  const int epochs = params.epochs;
  const double tolerance = params.tolerance, steps_per_epoch = std::ceil(static_cast<double>(params.obs) /
                                                                         static_cast<double>(batch));

  VariantRun run;
  run.start = [=] {
    Kokkos::deep_copy(space, w, initial);
    *progress = GdProgress{};
  };
  run.body = [=] {
    const int e = progress->next_epoch++;
    epoch.run(space, w, shuffle ? std::int64_t(permutation_key(seed, gd_stream_shuffle, e) >> 1) : -1);
  };
  run.after_sample = [=](int sample) {
    const double loss = mean_squared_error(space, data, w, work);
    progress->losses.push_back(loss);
    if (std::isfinite(loss)) return true;
    progress->divergence = "diverged at epoch " + std::to_string(sample + 1) + " (loss " + std::to_string(loss) +
                           "); a smaller learning_rate may converge";
    return false;
  };
  run.check = [=] {
    const std::vector<double> weights = host_values(w);
    double distance = 0;
    for (std::size_t j = 0; j < weights.size(); ++j) distance += (weights[j] - target[j]) * (weights[j] - target[j]);
    Check check;
    check.name = "||w - w_closed_form|| / ||w_closed_form|| after " + std::to_string(epochs) + " epochs";
    check.error = target_norm > 0 ? std::sqrt(distance) / target_norm : std::sqrt(distance);
    check.tolerance = tolerance;
    check.failure = progress->divergence;
    check.notes.emplace_back("weights", format_vector(weights));
    check.metrics = {{"final_loss", progress->losses.empty() ? 0.0 : progress->losses.back()},
                     {"steps_per_epoch", steps_per_epoch}};
    check.series.emplace_back("loss_after_epoch", progress->losses);
    return check;
  };
  CaseSetup setup;
  setup.variants.push_back(std::move(run));
  return setup;
}

// Under weak scaling the synthetic rows and the minibatch sizes are per rank: each step's rows,
// split over the ranks, stay as many per rank.
GdParams read_gd_params(ParamReader& reader, const StageSettings& settings) {
  GdParams params;
  const bool weak = settings.weak_ranks > 0;
  if (reader.has("rows")) {
    if (weak) reader.fail("scaling", "weak scaling grows synthetic data with the ranks; the data here are 'rows'");
    for (const std::string key : {"obs", "vars", "noise"})
      if (reader.has(key)) reader.fail(key, "'" + key + "' describes synthetic data; the data here are 'rows'");
    params.rows = reader.real_table("rows", 2);
    params.obs = static_cast<std::int64_t>(params.rows.size());
    params.vars = static_cast<std::int64_t>(params.rows[0].size()) - 1;
  } else {
    params.obs = reader.integer("obs", std::nullopt, {1, 1'000'000'000});
    params.vars = reader.integer("vars", std::nullopt, {1, 4096});
    params.noise = reader.real("noise", 0.0, {0.0, 1e300});
  }
  params.initial_weights = reader.real_list("weights", std::vector<double>(params.vars, 0.0));
  if (static_cast<std::int64_t>(params.initial_weights.size()) != params.vars)
    reader.fail("weights", "expected " + std::to_string(params.vars) + " numbers (one per input)");
  params.learning_rate = reader.real("learning_rate", std::nullopt, {0.0, 1e300});
  if (!(params.learning_rate > 0)) reader.fail("learning_rate", "a number above 0");
  params.epochs = static_cast<int>(reader.integer("epochs", 100, {1, 10'000'000}));
  params.strategies = reader.choice_list("strategies", std::vector<std::string>{"sgd", "minibatch", "batch"},
                                         {"sgd", "minibatch", "batch"});
  if (weak && std::find(params.strategies.begin(), params.strategies.end(), "sgd") != params.strategies.end())
    reader.fail("strategies", "sgd steps on one row, which cannot grow with the ranks under weak scaling: list "
                              "minibatch or batch");
  if (std::find(params.strategies.begin(), params.strategies.end(), "minibatch") != params.strategies.end()) {
    params.batch_sizes = reader.integer_list(
        "batch_sizes", std::vector<std::int64_t>{std::min<std::int64_t>(32, params.obs)}, {1, params.obs});
    for (std::int64_t& b : params.batch_sizes) b = settings.split_extent(b);
  } else if (reader.has("batch_sizes"))
    reader.fail("batch_sizes", "batch sizes are for the minibatch strategy, which 'strategies' does not list");
  params.obs = settings.split_extent(params.obs);
  params.shuffle = reader.boolean("shuffle", false);
  params.tolerance = reader.real("tolerance", 1e-6, {0.0, 1e300});
  return params;
}

}  // namespace

StageDefinition gd_stage() {
  return {"gd", "gradient descent for a linear neuron: sgd, minibatch and batch as matrix products", "epochs",
          [](ParamReader& reader, const StageSettings& settings) {
            const auto params = std::make_shared<const GdParams>(read_gd_params(reader, settings));
            std::vector<std::pair<std::string, std::int64_t>> runs;  // (strategy, batch size)
            for (const std::string& strategy : params->strategies) {
              if (strategy == "sgd") runs.emplace_back(strategy, 1);
              if (strategy == "batch") runs.emplace_back(strategy, params->obs);
              if (strategy == "minibatch")
                for (const std::int64_t b : params->batch_sizes) runs.emplace_back(strategy, b);
            }
            const std::string data_label = std::to_string(params->obs) + "x" + std::to_string(params->vars);
            std::vector<Case> cases;
            for (const auto& [strategy, batch] : runs) {
              Case c;
              c.label = data_label + " b=" + std::to_string(batch);
              c.size_name = "batch";
              c.size = static_cast<double>(batch);
              c.memory_bytes = gd_bytes(*params);
              c.replicated_bytes = c.memory_bytes;  // every rank holds the data
              c.distributed = true;
              c.sampling = settings.iterations("epoch", params->epochs);
              c.variants = {{strategy, gd_epoch_work(params->obs, params->vars)}};
              c.setup = on_every_space([params, batch = batch, seed = settings.seed, announce = cases.empty()](
                                           const auto& space, const CaseContext& context) {
                return setup_gd(space, *params, batch, seed, announce, context);
              });
              cases.push_back(std::move(c));
            }
            return cases;
          }};
}

}  // namespace klab::stages
