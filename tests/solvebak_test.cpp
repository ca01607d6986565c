// The solvebak stage on every compiled space: each form against a host transcription of the
// seed's loops, the forms against each other, convergence, and its deck and data errors.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "core/deck.hpp"
#include "stages/registry.hpp"
#include "stages/solvebak.hpp"
#include "test_helpers.hpp"
#include "test_spaces.hpp"

namespace {

using klab::stages::SolveBakProblem;
using klab::stages::SolveBakState;
using klab::testing::relative_difference;
using klab::testing::to_vector;

// The seed's algorithm on the host, literally: per block of `batch` columns (1: the sequential
// form), da = X_Bᵀe / diag computed from the same e, then e -= X_B da, a_B += da.
std::vector<double> host_solvebak(const std::vector<double>& x, const std::vector<double>& y, std::int64_t obs,
                                  std::int64_t vars, int sweeps, std::int64_t batch) {
  std::vector<double> a(vars, 0.0), e = y, norms(vars, 0.0), da;
  for (std::int64_t j = 0; j < vars; ++j)
    for (std::int64_t i = 0; i < obs; ++i) norms[j] += x[i + j * obs] * x[i + j * obs];
  for (int s = 0; s < sweeps; ++s) {
    for (std::int64_t first = 0; first < vars; first += batch) {
      const std::int64_t width = std::min(batch, vars - first);
      da.assign(width, 0.0);
      for (std::int64_t k = 0; k < width; ++k) {
        for (std::int64_t i = 0; i < obs; ++i) da[k] += x[i + (first + k) * obs] * e[i];
        da[k] /= norms[first + k];
      }
      for (std::int64_t k = 0; k < width; ++k) {
        for (std::int64_t i = 0; i < obs; ++i) e[i] -= da[k] * x[i + (first + k) * obs];
        a[first + k] += da[k];
      }
    }
  }
  return a;
}

template <class ExecSpace>
std::vector<double> solve(const SolveBakProblem<ExecSpace>& p, const std::string& form, int sweeps,
                          std::int64_t batch = 1, std::vector<double>* errors = nullptr) {
  double setup_s = 0;
  const auto state = klab::stages::solve_bak(ExecSpace(), p, form, sweeps, batch, setup_s,
                                             [&](double, const SolveBakState<ExecSpace>& s) {
                                               if (errors) errors->push_back(klab::stages::mean_abs_error(p, s));
                                             });
  return to_vector(state.a);
}

template <class ExecSpace>
class SolveBakOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(SolveBakOnSpace, klab::testing::CompiledSpaces);

// Tolerance for a form against the host loops: the same arithmetic in other summation orders,
// a few sweeps of a well-conditioned problem, so rounding differences stay near 1e-13.
constexpr double same_iterates = 1e-11;

TYPED_TEST(SolveBakOnSpace, EachFormMatchesTheSeedLoopsOnTheHost) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  const std::int64_t obs = 301, vars = 23;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), obs, vars, seed);
  const std::vector<double> x = to_vector(p.x), y = to_vector(p.y);
  const auto sequential = host_solvebak(x, y, obs, vars, 3, 1);
  EXPECT_LE(relative_difference(solve(p, "residual", 3), sequential), same_iterates) << "seed " << seed;
  EXPECT_LE(relative_difference(solve(p, "gram", 3), sequential), same_iterates) << "seed " << seed;
  EXPECT_LE(relative_difference(solve(p, "batched", 3, 1), sequential), same_iterates) << "seed " << seed;
  // Blocks of 5: the last of the 23 columns form a shorter block.
  EXPECT_LE(relative_difference(solve(p, "batched", 3, 5), host_solvebak(x, y, obs, vars, 3, 5)), same_iterates)
      << "seed " << seed;
}

TYPED_TEST(SolveBakOnSpace, ResidualAndGramAgreeAfterTenSweepsAndConverge) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = 20240901;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 2000, 50, seed);
  std::vector<double> errors;
  const auto residual = solve(p, "residual", 10, 1, &errors);
  EXPECT_LE(relative_difference(solve(p, "gram", 10), residual), 1e-10);
  ASSERT_EQ(errors.size(), 10u);
  for (std::size_t s = 1; s < errors.size(); ++s) EXPECT_LT(errors[s], errors[s - 1]) << "sweep " << s + 1;
  EXPECT_LT(errors.back(), 1e-10);
  // The check itself: a_true solves the system to rounding.
  EXPECT_LT(klab::stages::relative_residual(ExecSpace(), p, SolveBakState<ExecSpace>{p.a_true, {}}), 1e-14);
}

TYPED_TEST(SolveBakOnSpace, BatchedConvergesWithAShortLastBlock) {
  using ExecSpace = TypeParam;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 1500, 45, 7);
  std::vector<double> errors;
  solve(p, "batched", 10, 10, &errors);
  EXPECT_LT(errors.back(), errors.front() * 1e-3);
}

TYPED_TEST(SolveBakOnSpace, ZeroColumnIsAClearError) {
  using ExecSpace = TypeParam;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 50, 6, 1);
  Kokkos::deep_copy(Kokkos::subview(p.x, Kokkos::ALL, 3), 0.0);
  klab::stages::compute_column_norms(ExecSpace(), p.x, p.column_norms);
  for (const char* form : {"residual", "gram", "batched"}) {
    try {
      solve(p, form, 1);
      ADD_FAILURE() << form << ": no error";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "column 3 of X is zero: coordinate descent divides by <X_j, X_j> = 0");
    }
  }
}

TYPED_TEST(SolveBakOnSpace, StageRecordsEveryFormWithHistory) {
  using ExecSpace = TypeParam;
  std::vector<klab::ResultRecord> records;
  std::vector<std::string> announced;
  klab::StageContext context("sb", "solvebak", klab::RepeatSettings{1, 10}, 3, false,
                             [&](const std::string& what) { announced.push_back(what); }, records);
  klab::stages::SolveBakParams params;
  params.obs = 800;
  params.vars = 30;
  params.sweeps = 6;
  params.forms = {"residual", "gram", "batched"};
  params.batch = 7;
  params.tolerance = 1e-4;  // block Jacobi (batched) converges slower than the sequential forms
  params.history = true;
  klab::stages::run_solvebak(ExecSpace(), params, context);
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) {
    SCOPED_TRACE(r.variant);
    EXPECT_TRUE(r.passed) << r.failure;
    EXPECT_EQ(r.time.count, 6);
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].second.size(), 6u);
    EXPECT_DOUBLE_EQ(r.series[0].second.back(), r.error);
  }
}

TEST(SolveBak, DeckErrorsForTheBatch) {
  const auto parse = [](const std::string& stage) {
    return klab::parse_deck("run:\n  name: t\nstages:\n  - stage: solvebak\n" + stage, "deck.yaml",
                            klab::stage_registry());
  };
  EXPECT_NO_THROW(parse("    obs: 100\n    vars: 40\n    batch: 40\n"));
  const auto expect_error = [&](const std::string& stage, const std::string& where, const std::string& what) {
    try {
      parse(stage);
      ADD_FAILURE() << "accepted: " << stage;
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), where) << e.what();
      EXPECT_EQ(e.detail(), what) << e.what();
    }
  };
  expect_error("    obs: 100\n    vars: 40\n    batch: 0\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 0");
  expect_error("    obs: 100\n    vars: 40\n    batch: 41\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 41");
  expect_error("    obs: 100\n    vars: 40\n    forms: [residual, grams]\n", "deck.yaml:7:23",
               "expected one of 'residual', 'gram', 'batched', got 'grams' (did you mean 'gram'?)");
  expect_error("    vars: 40\n", "deck.yaml:4:5", "missing required key (expected an integer)");
}

}  // namespace
