// Stage `solvebak`: its deck keys and case (see solvebak.hpp for the forms and their kernels).
#include "stages/solvebak/solvebak.hpp"

#include <algorithm>
#include <memory>

#include "core/stage.hpp"

namespace klab::stages {

namespace {

// The case on one space: X, a_true, y and the column norms generated there once, G = XᵀX too
// for the gram form and the blocks G_BB for the blocked form; a variant per form, each started
// afresh from a = 0. On several ranks each holds its share of the rows (see solvebak.hpp).
template <class ExecSpace>
CaseSetup setup_solvebak(const ExecSpace& space, const SolveBakParams& params, std::uint64_t seed,
                         const CaseContext& context) {
  // With vars > obs, X·a = y has many solutions and a need not approach a_true: the residual judges.
  const bool underdetermined = params.vars > params.obs;
  if (underdetermined)
    context.announce("warning: vars > obs, so X·a = y has many solutions: the relative residual is checked, not a_true");
  const SolveBakProblem<ExecSpace> problem = make_solvebak_problem(space, params.obs, params.vars, seed, context.comm);
  const auto sweeps =
      std::make_shared<SolveBakSweeps<ExecSpace>>(space, problem, params.forms, params.batch, params.block);
  CaseSetup setup;
  for (const std::string& form : params.forms) {
    // mean |a_true - a| after each timed sweep, with `history`.
    const auto errors = std::make_shared<std::vector<double>>();
    VariantRun run;
    run.start = [=] {
      sweeps->start(form);
      errors->clear();
    };
    run.body = [=] { sweeps->sweep(); };
    run.after_sample = [=](int) {
      if (params.history) errors->push_back(mean_abs_error(problem, sweeps->state()));
      return true;
    };
    run.check = [=] {
      const SolveBakState<ExecSpace>& state = sweeps->state();
      const double error = mean_abs_error(problem, state), residual = relative_residual(space, problem, state);
      const std::string after = " after " + std::to_string(params.sweeps) + " sweeps";
      Check check{underdetermined ? "relative residual |y - X·a| / |y|" + after + " (vars > obs: a_true is not unique)"
                                  : "mean |a_true - a|" + after,
                  underdetermined ? residual : error, params.tolerance, "", {}, {}, {}};
      if (form == "gram") check.metrics.emplace_back("gram_setup_s", sweeps->gram_setup_s());
      if (form == "blocked") check.metrics.emplace_back("block_gram_setup_s", sweeps->block_gram_setup_s());
      check.metrics.emplace_back("relative_residual", residual);
      check.metrics.emplace_back("mean_abs_error", error);
      if (form == "batched") check.notes.emplace_back("batch", std::to_string(params.batch));
      if (form == "blocked") check.notes.emplace_back("block", std::to_string(params.block));
      if (params.history) check.series.emplace_back("error_after_sweep", *errors);
      return check;
    };
    setup.variants.push_back(std::move(run));
  }
  return setup;
}

}  // namespace

StageDefinition solvebak_stage() {
  return {"solvebak", "SolveBak coordinate descent for X·a = y: residual, gram, batched and blocked forms", "sweeps",
          [](ParamReader& reader, const StageSettings& settings) {
            SolveBakParams params;
            params.obs = settings.split_extent(reader.integer("obs", std::nullopt, {1, 1'000'000'000}));
            params.vars = reader.integer("vars", std::nullopt, {1, 1'000'000});
            params.sweeps = static_cast<int>(reader.integer("sweeps", 10, {1, 100000}));
            const std::vector<std::string> forms{"residual", "gram", "batched", "blocked"};
            params.forms = reader.choice_list("forms", forms, forms);
            const auto runs = [&](const std::string& form) {
              return std::count(params.forms.begin(), params.forms.end(), form) > 0;
            };
            // Columns per block of the batched and blocked forms: a key of that form alone.
            const auto columns_per_block = [&](const std::string& key, const std::string& form,
                                               std::int64_t fallback) {
              if (runs(form)) return reader.integer(key, std::min(fallback, params.vars), {1, params.vars});
              if (reader.has(key))
                reader.fail(key, "only the " + form + " form takes a " + key + ": add '" + form +
                                     "' to forms or drop '" + key + "'");
              return fallback;
            };
            params.batch = columns_per_block("batch", "batched", params.batch);
            params.block = columns_per_block("block", "blocked", params.block);
            params.tolerance = reader.real("tolerance", 1e-6, {0.0, 1e300});
            params.history = reader.boolean("history", false);
            if (params.vars > 46'000 && runs("gram"))
              reader.fail("vars", "the gram form stores vars x vars doubles: at most 46000 vars (drop 'gram' from forms)");

            Case c;
            c.label = std::to_string(params.obs) + "x" + std::to_string(params.vars);
            c.size_name = "obs";
            c.size = static_cast<double>(params.obs);
            c.memory_bytes = solvebak_bytes(params);
            c.replicated_bytes = solvebak_replicated_bytes(params);
            c.sampling = settings.iterations("sweep", params.sweeps);
            c.distributed = true;
            for (const std::string& form : params.forms)
              c.variants.push_back({form, solvebak_sweep_work(form, params.obs, params.vars)});
            c.setup = on_every_space([params, seed = settings.seed](const auto& space, const CaseContext& context) {
              return setup_solvebak(space, params, seed, context);
            });
            return std::vector<Case>{std::move(c)};
          }};
}

}  // namespace klab::stages
