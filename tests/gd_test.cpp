// The gd stage on every compiled space: the seed's first step, convergence of batch gradient
// descent to the closed form, the strategies' equivalences, divergence, and deck errors.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <random>
#include <vector>

#include "core/deck.hpp"
#include "stages/gd.hpp"
#include "stages/registry.hpp"
#include "test_spaces.hpp"

namespace {

using klab::stages::GdParams;

template <class ExecSpace>
class GdOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(GdOnSpace, klab::testing::CompiledSpaces);

template <class ExecSpace>
std::vector<klab::ResultRecord> run_stage(const GdParams& params, std::uint64_t seed) {
  std::vector<klab::ResultRecord> records;
  klab::StageContext context("gd", "gd", klab::RepeatSettings{1, 1}, seed, false, [](const std::string&) {}, records);
  klab::stages::run_gd(ExecSpace(), params, context);
  return records;
}

GdParams synthetic(std::int64_t obs, std::int64_t vars) {
  GdParams p;
  p.obs = obs;
  p.vars = vars;
  p.noise = 0.1;
  p.initial_weights.assign(vars, 0.0);
  p.learning_rate = 2.0;
  p.epochs = 300;
  p.strategies = {"batch"};
  p.batch_sizes = {obs};
  p.tolerance = 1e-8;
  return p;
}

TYPED_TEST(GdOnSpace, FirstSgdStepIsTheSeedsArithmetic) {
  using ExecSpace = TypeParam;
  GdParams p;
  p.rows = {{2, 5, 10}};
  p.obs = 1;
  p.vars = 2;
  const auto data = klab::stages::make_gd_data(ExecSpace(), p, 0);
  klab::SpaceVector<ExecSpace> w("w", 2);
  auto host = Kokkos::create_mirror_view(w);
  host(0) = 0.5;
  host(1) = 0.7;
  Kokkos::deep_copy(w, host);
  // forward 0.5·2 + 0.7·5 = 4.5, error -5.5, gradient 2·(-5.5)·(2, 5) = (-22, -55)
  klab::stages::GdEpoch<ExecSpace>(data, 1, 0.01).run(ExecSpace(), w, -1);
  Kokkos::deep_copy(host, w);
  EXPECT_NEAR(host(0), 0.72, 1e-15);
  EXPECT_NEAR(host(1), 1.25, 1e-15);
}

TYPED_TEST(GdOnSpace, BatchGradientDescentReachesTheClosedForm) {
  const std::uint64_t seed = std::random_device{}();
  const auto records = run_stage<TypeParam>(synthetic(500, 4), seed);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].passed) << records[0].failure << ", seed " << seed;
  EXPECT_LE(records[0].error, 1e-8);
  const auto& losses = records[0].series.at(0).second;
  ASSERT_EQ(losses.size(), 300u);
  EXPECT_LT(losses.back(), losses.front());
}

TYPED_TEST(GdOnSpace, MinibatchOfAllRowsIsBatchAndOfOneRowIsSgd) {
  GdParams p = synthetic(60, 3);
  p.learning_rate = 0.05;
  p.epochs = 4;
  p.strategies = {"sgd", "minibatch", "batch"};
  p.batch_sizes = {60, 1};
  p.tolerance = 1e300;
  const auto records = run_stage<TypeParam>(p, 11);
  ASSERT_EQ(records.size(), 4u);  // sgd, minibatch b=60, minibatch b=1, batch
  const auto losses = [&](std::size_t i) { return records[i].series.at(0).second; };
  EXPECT_EQ(losses(2), losses(0));  // b = 1 without shuffling: the SGD iterates
  EXPECT_EQ(losses(1), losses(3));  // b = obs: the batch iterates
  EXPECT_NE(losses(0), losses(3));
}

TYPED_TEST(GdOnSpace, ShuffledMinibatchesStillConverge) {
  GdParams p = synthetic(400, 3);
  p.learning_rate = 0.5;
  p.epochs = 40;
  p.strategies = {"minibatch"};
  p.batch_sizes = {16};
  p.tolerance = 1e300;
  const auto in_order = run_stage<TypeParam>(p, 5);
  p.shuffle = true;
  const auto shuffled = run_stage<TypeParam>(p, 5);
  const auto& a = in_order[0].series.at(0).second;
  const auto& b = shuffled[0].series.at(0).second;
  EXPECT_NE(a, b);  // another order of rows, other iterates ...
  EXPECT_LT(shuffled[0].error, 0.05);  // ... near the least-squares weights all the same
}

TYPED_TEST(GdOnSpace, DivergenceIsAFailedRecordWithTheEpoch) {
  GdParams p = synthetic(100, 3);
  p.learning_rate = 1e3;
  p.epochs = 1000;
  const auto records = run_stage<TypeParam>(p, 3);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].passed);
  EXPECT_NE(records[0].failure.find("diverged at epoch "), std::string::npos) << records[0].failure;
  EXPECT_LT(records[0].series.at(0).second.size(), 1000u);  // it stopped there
}

TEST(Gd, DeckErrors) {
  const auto expect_error = [](const std::string& stage, const std::string& where, const std::string& what) {
    try {
      klab::parse_deck("run:\n  name: t\nstages:\n  - stage: gd\n" + stage, "deck.yaml", klab::stage_registry());
      ADD_FAILURE() << "accepted: " << stage;
    } catch (const klab::DeckError& e) {
      EXPECT_EQ(e.where(), where) << e.what();
      EXPECT_EQ(e.detail(), what) << e.what();
    }
  };
  expect_error("    obs: 10\n    vars: 2\n    learning_rate: 0\n", "deck.yaml:7:20", "a number above 0");
  expect_error("    obs: 10\n    vars: 2\n    learning_rate: 0.1\n    batch_sizes: [4, 11]\n", "deck.yaml:8:22",
               "out of range: expected an integer in [1, 10], got 11");
  expect_error("    obs: 10\n    vars: 2\n    learning_rate: 0.1\n    weights: [1, 2, 3]\n", "deck.yaml:8:14",
               "expected 2 numbers (one per input)");
  expect_error("    rows: [[2, 5, 10], [3, 2]]\n    learning_rate: 0.1\n", "deck.yaml:5:24",
               "expected a list of 3 numbers, got a list of 2");
  expect_error("    rows: [[2, 5, x]]\n    learning_rate: 0.1\n", "deck.yaml:5:19",
               "expected a finite number, got 'x'");
}

}  // namespace
