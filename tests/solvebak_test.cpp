// The solvebak stage on every compiled space: each form against a host transcription of the
// seed's loops, the forms against each other, convergence, and its deck and data errors.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "stage_test_helpers.hpp"
#include "stages/solvebak/solvebak.hpp"
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

// The seed's sequential loop as the old gram form ran it, on the host: G = XᵀX and r = Xᵀy, then
// per sweep and column j, da = r_j / G_jj, r -= da G_j, a_j += da (Gauss–Seidel on G a = Xᵀy).
std::vector<double> host_gram_gauss_seidel(const std::vector<double>& x, const std::vector<double>& y,
                                           std::int64_t obs, std::int64_t vars, int sweeps) {
  std::vector<double> g(vars * vars, 0.0), r(vars, 0.0), a(vars, 0.0);
  for (std::int64_t j = 0; j < vars; ++j) {
    for (std::int64_t i = 0; i < obs; ++i) r[j] += x[i + j * obs] * y[i];
    for (std::int64_t k = 0; k <= j; ++k) {
      double sum = 0;
      for (std::int64_t i = 0; i < obs; ++i) sum += x[i + j * obs] * x[i + k * obs];
      g[j + k * vars] = g[k + j * vars] = sum;
    }
  }
  for (int s = 0; s < sweeps; ++s)
    for (std::int64_t j = 0; j < vars; ++j) {
      const double da = r[j] / g[j + j * vars];
      for (std::int64_t i = 0; i < vars; ++i) r[i] -= da * g[i + j * vars];
      a[j] += da;
    }
  return a;
}

// a after `sweeps` sweeps of `form` from its start, `columns` per block for the batched and blocked
// forms; `errors` collects mean |a_true - a| after each.
template <class ExecSpace>
std::vector<double> solve(const SolveBakProblem<ExecSpace>& p, const std::string& form, int sweeps,
                          std::int64_t columns = 1, std::vector<double>* errors = nullptr) {
  klab::stages::SolveBakSweeps<ExecSpace> solver(ExecSpace(), p, {form}, columns, columns);
  solver.start(form);
  for (int s = 0; s < sweeps; ++s) {
    solver.sweep();
    if (errors) errors->push_back(klab::stages::mean_abs_error(p, solver.state()));
  }
  return to_vector(solver.state().a);
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
  EXPECT_LE(relative_difference(solve(p, "blocked", 3, 5), sequential), same_iterates) << "seed " << seed;
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

// The blocked and gram forms take the residual form's steps in other arithmetic: after the seed's 10
// sweeps a agrees to 1e-12 relative, rounding apart. Blocks of 8 leave a shorter last one of 37
// columns; 1 is the column loop; 37 and 50 make one block of all columns. 601 columns make a
// triangle that trsm inverts in blocks, as one block (blocked, 601) or all of G (gram).
constexpr double agree_after_ten_sweeps = 1e-12;

TYPED_TEST(SolveBakOnSpace, BlockedTakesTheResidualFormsStepsForAnyBlock) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 211, 37, seed);
  const auto residual = solve(p, "residual", 10);
  for (const std::int64_t block : {8, 1, 37, 50})
    EXPECT_LE(relative_difference(solve(p, "blocked", 10, block), residual), agree_after_ten_sweeps)
        << "block " << block << ", seed " << seed;
  const auto wide = klab::stages::make_solvebak_problem(ExecSpace(), 1503, 601, seed);
  const auto wide_residual = solve(wide, "residual", 10);
  for (const std::int64_t block : {601, 100})
    EXPECT_LE(relative_difference(solve(wide, "blocked", 10, block), wide_residual), agree_after_ten_sweeps)
        << "601 columns, block " << block << ", seed " << seed;
}

TYPED_TEST(SolveBakOnSpace, GramTriangularSolveIsTheColumnByColumnSweep) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  for (const auto& [obs, vars] : {std::pair<std::int64_t, std::int64_t>{97, 13}, {1503, 601}, {40, 1}}) {
    const auto p = klab::stages::make_solvebak_problem(ExecSpace(), obs, vars, seed);
    const auto reference = host_gram_gauss_seidel(to_vector(p.x), to_vector(p.y), obs, vars, 10);
    EXPECT_LE(relative_difference(solve(p, "gram", 10), reference), agree_after_ten_sweeps)
        << obs << "x" << vars << ", seed " << seed;
  }
}

// Rows over several teams of a device's kernel (which takes 256 rows a team) and blocks wider than
// one of its passes (64 columns), the last block shorter: the seed's batched loop still.
TYPED_TEST(SolveBakOnSpace, BatchedMatchesTheSeedLoopOverManyRowsAndWideBlocks) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  const std::int64_t obs = 1503, vars = 251;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), obs, vars, seed);
  const auto reference = host_solvebak(to_vector(p.x), to_vector(p.y), obs, vars, 3, 100);
  EXPECT_LE(relative_difference(solve(p, "batched", 3, 100), reference), same_iterates) << "seed " << seed;
}

TYPED_TEST(SolveBakOnSpace, BatchedConvergesWithAShortLastBlock) {
  using ExecSpace = TypeParam;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 1500, 45, 7);
  std::vector<double> errors;
  solve(p, "batched", 10, 10, &errors);
  EXPECT_LT(errors.back(), errors.front() * 1e-3);
}

// On one rank every sum over ranks returns at once (no collective, no staging copy, no fence), so
// nothing counts as communication: one rank's sweeps are the kernels alone.
TYPED_TEST(SolveBakOnSpace, OneRankCommunicatesNothing) {
  using ExecSpace = TypeParam;
  const klab::Communicator comm;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 101, 7, 3, comm);
  klab::stages::SolveBakSweeps<ExecSpace> solver(ExecSpace(), p, {"residual", "gram", "batched", "blocked"}, 3, 4);
  for (const char* form : {"residual", "gram", "batched", "blocked"}) {
    solver.start(form);
    solver.sweep();
    EXPECT_LT(klab::stages::relative_residual(ExecSpace(), p, solver.state()), 1.0) << form;
  }
  EXPECT_EQ(comm.communication_s(), 0.0);
}

TYPED_TEST(SolveBakOnSpace, ZeroColumnIsAClearError) {
  using ExecSpace = TypeParam;
  const auto p = klab::stages::make_solvebak_problem(ExecSpace(), 50, 6, 1);
  Kokkos::deep_copy(Kokkos::subview(p.x, Kokkos::ALL, 3), 0.0);
  klab::stages::compute_column_norms(ExecSpace(), p.x, p.column_norms);
  for (const char* form : {"residual", "gram", "batched", "blocked"}) {
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
  // Block Jacobi (batched) converges slower than the sequential forms: tolerance 1e-4.
  const klab::Deck deck = klab::testing::parse_stage(
      klab::stages::solvebak_stage(),
      "    name: sb\n    obs: 800\n    vars: 30\n    sweeps: 6\n    batch: 7\n    block: 8\n    tolerance: 1e-4\n"
      "    history: true\n    warmups: 1\n");
  std::vector<std::string> log;
  const auto records = klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name, &log);
  EXPECT_EQ(log, (std::vector<std::string>{"800x30", "800x30 residual", "800x30 gram", "800x30 batched",
                                            "800x30 blocked"}));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].variant, "residual");
  EXPECT_EQ(records[1].variant, "gram");
  EXPECT_EQ(records[2].variant, "batched");
  EXPECT_EQ(records[3].variant, "blocked");
  for (const auto& r : records) {
    SCOPED_TRACE(r.variant);
    EXPECT_TRUE(r.passed) << r.failure;
    EXPECT_EQ(r.stage, "sb");
    EXPECT_EQ(r.case_label, "800x30");
    EXPECT_EQ(r.size_name, "obs");
    EXPECT_EQ(r.size, 800.0);
    EXPECT_EQ(r.sampling.unit, "sweep");
    EXPECT_EQ(r.check, "mean |a_true - a| after 6 sweeps");
    EXPECT_EQ(r.tolerance, 1e-4);
    EXPECT_EQ(r.time.count, 6);
    EXPECT_GT(r.setup_s, 0.0);
    const klab::Work work = klab::stages::solvebak_sweep_work(r.variant, 800, 30);
    EXPECT_DOUBLE_EQ(r.bytes, work.bytes);
    EXPECT_DOUBLE_EQ(r.flops, work.flops);
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].first, "error_after_sweep");
    EXPECT_EQ(r.series[0].second.size(), 6u);
    EXPECT_DOUBLE_EQ(r.series[0].second.back(), r.error);
    std::vector<std::string> metrics;
    for (const auto& [name, value] : r.metrics) {
      metrics.push_back(name);
      EXPECT_GE(value, 0.0) << name;
    }
    std::vector<std::string> expected_metrics{"relative_residual", "mean_abs_error"};
    if (r.variant == "gram") expected_metrics.insert(expected_metrics.begin(), "gram_setup_s");
    if (r.variant == "blocked") expected_metrics.insert(expected_metrics.begin(), "block_gram_setup_s");
    EXPECT_EQ(metrics, expected_metrics);
    EXPECT_LT(r.metrics.at(metrics.size() - 2).second, 1e-3);
    EXPECT_EQ(r.metrics.back().second, r.error);
    decltype(r.notes) expected_notes;
    if (r.variant == "batched") expected_notes = {{"batch", "7"}};
    if (r.variant == "blocked") expected_notes = {{"block", "8"}};
    EXPECT_EQ(r.notes, expected_notes);
  }
}

// start() puts a form back at a = 0: warm-up sweeps leave the timed sweeps' errors unchanged.
TYPED_TEST(SolveBakOnSpace, WarmupSweepsDoNotCarryIntoTheTimedOnes) {
  using ExecSpace = TypeParam;
  const auto history = [](int warmups) {
    const klab::Deck deck = klab::testing::parse_stage(
        klab::stages::solvebak_stage(), "    obs: 300\n    vars: 12\n    sweeps: 4\n    batch: 5\n    history: true\n"
                                        "    tolerance: 1\n    warmups: " + std::to_string(warmups) + "\n");
    std::vector<std::vector<double>> errors;
    for (const auto& r : klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name))
      errors.push_back(r.series.at(0).second);
    return errors;
  };
  const auto cold = history(0), warm = history(3);
  ASSERT_EQ(cold.size(), 4u);
  ASSERT_EQ(warm.size(), 4u);
  for (std::size_t form = 0; form < cold.size(); ++form) {
    ASSERT_EQ(warm[form].size(), 4u);
    for (std::size_t s = 0; s < cold[form].size(); ++s)
      EXPECT_NEAR(warm[form][s], cold[form][s], 1e-9 * cold[form][s]) << "form " << form << ", sweep " << s + 1;
  }
}

// With vars > obs, X·a = y has many solutions: a converges to one of them, not to a_true, so the
// relative residual decides, and both are reported.
TYPED_TEST(SolveBakOnSpace, MoreVarsThanObsIsJudgedByTheResidual) {
  using ExecSpace = TypeParam;
  const klab::Deck deck = klab::testing::parse_stage(klab::stages::solvebak_stage(),
                                                     "    obs: 10\n    vars: 20\n    sweeps: 200\n    forms: [residual]\n");
  std::vector<std::string> log;
  const auto records = klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name, &log);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(log, (std::vector<std::string>{
                     "10x20", "warning: vars > obs, so X·a = y has many solutions: the relative residual is checked, not a_true",
                     "10x20 residual"}));
  const klab::ResultRecord& r = records[0];
  EXPECT_TRUE(r.passed) << r.failure;
  EXPECT_EQ(r.check, "relative residual |y - X·a| / |y| after 200 sweeps (vars > obs: a_true is not unique)");
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].first, "relative_residual");
  EXPECT_EQ(r.metrics[0].second, r.error);
  EXPECT_LT(r.error, r.tolerance);
  EXPECT_EQ(r.metrics[1].first, "mean_abs_error");
  EXPECT_GT(r.metrics[1].second, 1e3 * r.tolerance);  // a_true would have failed a correct solve
}

TEST(SolveBak, EveryKeyChangesWhatRuns) {
  const auto cases = [](const std::string& entry) {
    return klab::testing::parse_stage(klab::stages::solvebak_stage(), entry).stages.at(0).cases;
  };
  const auto plain = cases("    obs: 200\n    vars: 8\n");
  ASSERT_EQ(plain.size(), 1u);
  const klab::Case& c = plain[0];
  EXPECT_EQ(c.label, "200x8");
  EXPECT_EQ(c.size_name, "obs");
  EXPECT_EQ(c.size, 200.0);
  EXPECT_EQ(c.sampling.unit, "sweep");
  EXPECT_EQ(c.sampling.count, 10);
  EXPECT_EQ(c.sampling.warmups, 1);
  ASSERT_EQ(c.variants.size(), 4u);
  EXPECT_EQ(c.variants[1].name, "gram");
  EXPECT_EQ(c.variants[3].name, "blocked");
  EXPECT_DOUBLE_EQ(c.variants[1].work.flops, klab::stages::solvebak_sweep_work("gram", 200, 8).flops);
  // X, 3 vectors of obs, 7 of vars, G and its triangle's inverse, and the blocked form's inverses
  // of the G_BB triangles (vars × min(64, vars)).
  EXPECT_DOUBLE_EQ(c.memory_bytes, 8.0 * (200 * 8 + 3 * 200 + 7 * 8 + 2 * 8 * 8 + 8 * 8));

  EXPECT_EQ(cases("    obs: 300\n    vars: 8\n")[0].size, 300.0);
  EXPECT_EQ(cases("    obs: 200\n    vars: 9\n")[0].label, "200x9");
  const auto sampled = cases("    obs: 200\n    vars: 8\n    sweeps: 7\n    warmups: 4\n")[0].sampling;
  EXPECT_EQ(sampled.count, 7);
  EXPECT_EQ(sampled.warmups, 4);
  const auto residual = cases("    obs: 200\n    vars: 8\n    forms: [residual]\n")[0];
  ASSERT_EQ(residual.variants.size(), 1u);
  EXPECT_EQ(residual.variants[0].name, "residual");
  EXPECT_LT(residual.memory_bytes, c.memory_bytes);  // no G, no G_BB
  const auto blocks_of = [&](int block) {
    return cases("    obs: 200\n    vars: 8\n    forms: [blocked]\n    block: " + std::to_string(block) + "\n")[0];
  };
  EXPECT_DOUBLE_EQ(blocks_of(8).memory_bytes - blocks_of(3).memory_bytes, 8.0 * 8 * (8 - 3));

  // batch, block, tolerance and history change the records: run them.
  const auto records = [](const std::string& keys, const std::string& form = "batched") {
    const klab::Deck deck = klab::testing::parse_stage(
        klab::stages::solvebak_stage(),
        "    obs: 60\n    vars: 6\n    sweeps: 2\n    forms: [" + form + "]\n" + keys);
    const auto out = klab::testing::run_stage(deck, klab::compiled_space_names().front());
    EXPECT_EQ(out.size(), 1u);
    return out.at(0);
  };
  const klab::ResultRecord defaults = records("");
  EXPECT_EQ(defaults.notes, (decltype(defaults.notes){{"batch", "6"}}));
  EXPECT_EQ(defaults.tolerance, 1e-6);
  EXPECT_TRUE(defaults.series.empty());
  const klab::ResultRecord blocks_of_two = records("    batch: 2\n");
  EXPECT_EQ(blocks_of_two.notes, (decltype(defaults.notes){{"batch", "2"}}));
  EXPECT_NE(blocks_of_two.error, defaults.error);
  // The blocked form's blocks change how it computes, not what: the same iterates.
  const klab::ResultRecord blocked = records("", "blocked"), blocked_by_four = records("    block: 4\n", "blocked");
  EXPECT_EQ(blocked.notes, (decltype(defaults.notes){{"block", "6"}}));
  EXPECT_EQ(blocked_by_four.notes, (decltype(defaults.notes){{"block", "4"}}));
  EXPECT_NEAR(blocked_by_four.error, blocked.error, 1e-12 * blocked.error);
  EXPECT_EQ(records("    tolerance: 0.5\n").tolerance, 0.5);
  EXPECT_EQ(records("    history: true\n").series.at(0).second.size(), 2u);
}

TEST(SolveBak, DeckErrors) {
  const auto parse = [](const std::string& entry) {
    return klab::testing::parse_stage(klab::stages::solvebak_stage(), entry);
  };
  EXPECT_NO_THROW(parse("    obs: 100\n    vars: 40\n    batch: 40\n    block: 40\n"));
  const auto expect_error = [&](const std::string& entry, const std::string& where, const std::string& what) {
    try {
      parse(entry);
      ADD_FAILURE() << "accepted: " << entry;
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), where) << e.what();
      EXPECT_EQ(e.detail(), what) << e.what();
    }
  };
  expect_error("    obs: 100\n    vars: 40\n    batch: 0\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 0");
  expect_error("    obs: 100\n    vars: 40\n    batch: 41\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 41");
  expect_error("    obs: 100\n    vars: 40\n    forms: [residual, gram]\n    batch: 10\n", "deck.yaml:8:12",
               "only the batched form takes a batch: add 'batched' to forms or drop 'batch'");
  expect_error("    obs: 100\n    vars: 40\n    block: 0\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 0");
  expect_error("    obs: 100\n    vars: 40\n    block: 41\n", "deck.yaml:7:12",
               "out of range: expected an integer in [1, 40], got 41");
  expect_error("    obs: 100\n    vars: 40\n    block: 2.5\n", "deck.yaml:7:12",
               "expected an integer in [1, 40], got '2.5'");
  expect_error("    obs: 100\n    vars: 40\n    forms: [residual, batched]\n    block: 10\n", "deck.yaml:8:12",
               "only the blocked form takes a block: add 'blocked' to forms or drop 'block'");
  expect_error("    obs: 100\n    vars: 40\n    forms: [residual, grams]\n", "deck.yaml:7:23",
               "expected one of 'residual', 'gram', 'batched', 'blocked', got 'grams' (did you mean 'gram'?)");
  expect_error("    obs: 100\n    vars: 50000\n    forms: [gram]\n", "deck.yaml:6:11",
               "the gram form stores vars x vars doubles: at most 46000 vars (drop 'gram' from forms)");
  expect_error("    obs: 100\n    vars: 40\n    repetitions: 3\n", "deck.yaml:7:18",
               "solvebak: samples are sweeps; set 'sweeps' instead of 'repetitions'");
  expect_error("    vars: 40\n", "deck.yaml:4:5", "missing required key (expected an integer)");
}

}  // namespace
