// Stage `ann`: its deck keys and case (see ann.hpp for the three layers).
#include "stages/ann/ann.hpp"

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/stage.hpp"

namespace klab::stages {

namespace {

// What the variants of one case share on a space: this rank's rows of the train and test data,
// the host's copy of its train rows for the checks, and each layer's result, which the next
// variant builds on.
template <class ExecSpace>
struct AnnCase {
  AnnCase(const ExecSpace& on, const AnnParams& ann, std::uint64_t data_seed, const Communicator& ranks)
      : space(on),
        params(ann),
        comm(ranks),
        train(make_ann_data(on, ann, data_seed, ann_stream_x, ranks)),
        test(make_ann_data(on, ann, data_seed, ann_stream_test_x, ranks)),
        host_train(host_ann_data(train.source, train.first, train.x.extent(0))),
        inner{SpaceMatrix<ExecSpace>("ann::w", ann.neurons, ann.vars), SpaceVector<ExecSpace>("ann::b", ann.neurons),
              SpaceVector<ExecSpace>("ann::condition", ann.neurons)},
        hidden(make_layer_and_target(on, ann.outer_unknowns(), train.y)),
        outer(ann.outer_unknowns(), ann.block, ann.gram_blocks, ranks) {}

  ExecSpace space;
  AnnParams params;
  Communicator comm;
  AnnData<ExecSpace> train, test;
  HostAnnData host_train;
  InnerWeights<ExecSpace> inner;
  LayerAndTarget<ExecSpace> hidden;  // [L | y] of the train set; L holds the test set's after the outer check
  OuterLayer<ExecSpace> outer;
};

// Throws when a neuron's normal equations were too ill-conditioned for Cholesky: the weights of
// the rest would be compared, and the failure missed, otherwise.
template <class ExecSpace>
Check check_inner(const AnnCase<ExecSpace>& c) {
  const auto condition = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c.inner.condition);
  std::int64_t worst = 0;
  for (std::int64_t k = 0; k < c.params.neurons; ++k)
    if (!(condition(k) <= condition(worst))) worst = k;
  if (!(condition(worst) <= ann_inner_condition_limit)) {
    std::ostringstream why;
    why << "inner layer: the normal equations of neuron " << worst
        << " are singular or too ill-conditioned for Cholesky (condition estimate " << std::setprecision(3)
        << condition(worst) << ", limit " << ann_inner_condition_limit << ")";
    throw std::runtime_error(why.str());
  }
  return {"max relative error of " + std::to_string(std::min<std::int64_t>(c.params.neurons, ann_checked_neurons)) +
              " neurons' weights vs host Householder QR",
          inner_weights_error(c.train.source, c.params, c.inner),
          1e-8,
          "",
          {},
          {{"condition_max", condition(worst)},
           {"rows_per_neuron", static_cast<double>(c.params.rows_per_neuron())}},
          {}};
}

template <class ExecSpace>
Check check_hidden(const AnnCase<ExecSpace>& c) {
  return {"max |L - tanh(x·w + b)| on " + std::to_string(ann_checked_columns) + " columns vs host",
          hidden_layer_error(c.host_train, c.inner, c.hidden.layer, c.comm), 1e-12, "", {}, {}, {}};
}

// Throws when the factorisation failed, naming the ridge term that regularises it. Otherwise
// judges the fit on the test set, whose hidden layer then overwrites L: nothing runs after it.
template <class ExecSpace>
Check check_outer(const AnnCase<ExecSpace>& c) {
  const AnnParams& params = c.params;
  const linalg::CholeskyReport factor = c.outer.report();
  if (!factor.ok())
    throw std::runtime_error("outer layer: " + factor.describe_failure() +
                             (params.lambda > 0 ? "" : "; a ridge term (lambda > 0) regularises it"));
  const SpaceVector<ExecSpace> prediction("ann::prediction", c.train.x.extent(0));
  const FitQuality train_fit = predict(c.space, c.hidden.layer, c.outer, c.train.y, prediction, c.comm);
  const double equation_residual =
      normal_equation_residual(c.space, c.hidden.layer, c.outer, c.train.y, params.lambda, c.comm);
  hidden_layer(c.space, c.test.x, c.inner, c.hidden.layer);
  const FitQuality test_fit = predict(c.space, c.hidden.layer, c.outer, c.test.y, prediction, c.comm);
  Check check{"1 - test correlation",
              1.0 - test_fit.correlation,
              1.0 - params.min_correlation,
              "",
              {{"outer_solve", c.outer.method()}},
              {{"train_correlation", train_fit.correlation},
               {"test_correlation", test_fit.correlation},
               {"train_rmse", train_fit.rmse},
               {"test_rmse", test_fit.rmse},
               {"normal_equation_residual", equation_residual},
               {"min_pivot", factor.min_pivot},
               {"condition_estimate", factor.condition_estimate()}},
              {}};
  if (params.sample > 0) {
    const auto predicted = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), prediction);
    const auto target = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c.test.y);
    // This rank's sampled rows of the whole test set, then every rank's, in rank order: row order.
    const std::int64_t first = c.test.first, end = first + static_cast<std::int64_t>(c.test.x.extent(0));
    std::vector<double> sample_prediction, sample_target;
    for (const std::int64_t i : spread_indices(params.obs, params.sample)) {
      if (i < first || i >= end) continue;
      sample_prediction.push_back(predicted(i - first));
      sample_target.push_back(target(i - first));
    }
    check.series = {{"test_prediction_sample", c.comm.gather(sample_prediction.data(), sample_prediction.size())},
                    {"test_target_sample", c.comm.gather(sample_target.data(), sample_target.size())}};
  }
  return check;
}

// The case on one space: this rank's data generated there (and regenerated on the host for the
// checks), and the variants inner, hidden and outer, each reading the result of the one before.
template <class ExecSpace>
CaseSetup setup_ann(const ExecSpace& space, const AnnParams& params, std::uint64_t seed, const Communicator& comm) {
  const auto c = std::make_shared<AnnCase<ExecSpace>>(space, params, seed, comm);
  VariantRun inner, hidden, outer;
  inner.body = [c] { fit_inner_layer(c->space, c->train, c->params, c->inner, c->comm); };
  inner.check = [c] { return check_inner(*c); };
  hidden.body = [c] { hidden_layer(c->space, c->train.x, c->inner, c->hidden.layer); };
  hidden.check = [c] { return check_hidden(*c); };
  outer.body = [c] { c->outer.solve(c->space, c->hidden.both, c->params.lambda); };
  outer.check = [c] { return check_outer(*c); };
  CaseSetup setup;
  setup.variants = {inner, hidden, outer};
  return setup;
}

}  // namespace

StageDefinition ann_stage() {
  return {"ann", "least-squares random-feature network: batched inner fits, hidden layer, normal-equation outer layer",
          "", [](ParamReader& reader, const StageSettings& settings) {
            AnnParams params;
            params.obs = settings.split_extent(reader.integer("obs", std::nullopt, {1, 1'000'000'000}));
            params.vars = reader.integer("vars", 10, {1, 40});
            params.neurons = reader.integer("neurons", 1000, {1, 46'000});
            params.bias = reader.boolean("bias", true);
            params.amplitude = reader.real("amplitude", 0.5, {0.0, 1e300});
            params.lambda = reader.real("lambda", 0.0, {0.0, 1e300});
            params.block = reader.integer("block", 32, {1, linalg::cholesky_max_block});
            params.gram_blocks = static_cast<int>(reader.integer("gram_blocks", 8, {1, 64}));
            params.min_correlation = reader.real("min_correlation", 0.999, {-1.0, 1.0});
            params.sample = reader.integer("sample", std::min<std::int64_t>(500, params.obs), {0, params.obs});
            if (!(params.amplitude < 1))
              reader.fail("amplitude", "below 1: the inner layer fits arctanh(y), undefined for |y| >= 1");
            if (params.neurons > params.obs) reader.fail("neurons", "at most obs (" + std::to_string(params.obs) + ")");
            if (params.rows_per_neuron() < params.inner_unknowns())
              reader.fail("neurons", "at most obs / " + std::to_string(params.inner_unknowns()) +
                                         ": each neuron fits " + std::to_string(params.inner_unknowns()) +
                                         " unknowns to obs/neurons = " + std::to_string(params.rows_per_neuron()) +
                                         " rows");
            const AnnWork work = ann_work(params);
            Case c;
            c.label = "obs=" + std::to_string(params.obs) + " vars=" + std::to_string(params.vars) +
                      " neurons=" + std::to_string(params.neurons);
            c.size_name = "obs";
            c.size = static_cast<double>(params.obs);
            c.memory_bytes = ann_bytes(params);
            c.replicated_bytes = ann_replicated_bytes(params);
            c.sampling = settings.repetitions();
            c.distributed = true;
            c.variants = {{"inner", work.inner}, {"hidden", work.hidden}, {"outer", work.outer}};
            c.setup = on_every_space([params, seed = settings.seed](const auto& space, const CaseContext& context) {
              return setup_ann(space, params, seed, context.comm);
            });
            return std::vector<Case>{std::move(c)};
          }};
}

}  // namespace klab::stages
