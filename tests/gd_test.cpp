// The gd stage on every compiled space: the seed's first step, convergence of batch gradient
// descent to the closed form, the strategies' equivalences, divergence, and deck errors.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <random>
#include <string>
#include <vector>

#include "stage_test_helpers.hpp"
#include "stages/gd/gd.hpp"
#include "test_spaces.hpp"

namespace {

using klab::stages::GdParams;

template <class ExecSpace>
class GdOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(GdOnSpace, klab::testing::CompiledSpaces);

klab::Deck gd_deck(const std::string& entry, std::uint64_t seed) {
  return klab::testing::parse_stage(klab::stages::gd_stage(), entry, "  seed: " + std::to_string(seed) + "\n");
}

// The records of a gd entry (keys after `stage: gd`, indented by four) on the space.
template <class ExecSpace>
std::vector<klab::ResultRecord> run_gd(const std::string& entry, std::uint64_t seed) {
  return klab::testing::run_stage(gd_deck(entry, seed), klab::SpaceTraits<ExecSpace>::name);
}

// Synthetic data of obs rows and vars inputs with noise 0.1, plus the `more` keys (one warm-up by default).
std::string synthetic(std::int64_t obs, std::int64_t vars, const std::string& more) {
  return "    obs: " + std::to_string(obs) + "\n    vars: " + std::to_string(vars) + "\n    noise: 0.1\n" + more;
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

TYPED_TEST(GdOnSpace, VerboseSetupAnnouncesTheFirstSgdStepOnce) {
  const auto cases =
      gd_deck("    rows: [[2, 5, 10], [1, 3, 4]]\n    weights: [0.5, 0.7]\n    learning_rate: 0.01\n"
              "    strategies: [sgd, batch]\n",
              1)
          .stages.at(0)
          .cases;
  ASSERT_EQ(cases.size(), 2u);
  const std::string space = klab::SpaceTraits<TypeParam>::name;
  std::vector<std::string> lines;
  const klab::CaseContext verbose{true, [&](const std::string& line) { lines.push_back(line); }};
  cases[0].setup(space, verbose);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "first SGD step: x = (2, 5), y = 10, w = (0.5, 0.7); forward w·x = 4.5, error 4.5 - 10 = -5.5, "
                       "gradient 2·error·x = (-22, -55), updated w = w - 0.01·gradient = (0.72, 1.25)"}));
  cases[1].setup(space, verbose);  // the entry's other cases do not repeat it
  EXPECT_EQ(lines.size(), 1u);
  cases[0].setup(space, {false, verbose.announce});
  EXPECT_EQ(lines.size(), 1u);
}

TYPED_TEST(GdOnSpace, BatchGradientDescentReachesTheClosedForm) {
  const std::uint64_t seed = std::random_device{}();
  const auto records = run_gd<TypeParam>(
      synthetic(500, 4, "    learning_rate: 2.0\n    epochs: 300\n    strategies: [batch]\n    tolerance: 1e-8\n"),
      seed);
  ASSERT_EQ(records.size(), 1u);
  const klab::ResultRecord& r = records[0];
  EXPECT_TRUE(r.passed) << r.failure << ", seed " << seed;
  EXPECT_LE(r.error, 1e-8);
  EXPECT_EQ(r.case_label, "500x4 b=500");
  EXPECT_EQ(r.variant, "batch");
  EXPECT_EQ(r.size_name, "batch");
  EXPECT_EQ(r.size, 500.0);
  EXPECT_EQ(r.sampling.unit, "epoch");
  EXPECT_EQ(r.time.count, 300);
  EXPECT_DOUBLE_EQ(r.bytes, 16.0 * 500 * 4);
  EXPECT_DOUBLE_EQ(r.flops, 4.0 * 500 * 4);
  EXPECT_EQ(r.metrics.at(1), (std::pair<std::string, double>{"steps_per_epoch", 1.0}));
  EXPECT_EQ(r.notes.at(0).first, "weights");
  ASSERT_EQ(r.series.at(0).first, "loss_after_epoch");
  const auto& losses = r.series.at(0).second;
  ASSERT_EQ(losses.size(), 300u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_EQ(r.metrics.at(0), (std::pair<std::string, double>{"final_loss", losses.back()}));
}

TYPED_TEST(GdOnSpace, MinibatchOfAllRowsIsBatchAndOfOneRowIsSgd) {
  const auto records = run_gd<TypeParam>(synthetic(60, 3,
                                                   "    learning_rate: 0.05\n    epochs: 4\n"
                                                   "    strategies: [sgd, minibatch, batch]\n"
                                                   "    batch_sizes: [60, 1]\n    tolerance: 1e300\n"),
                                         11);
  ASSERT_EQ(records.size(), 4u);  // sgd, minibatch b=60, minibatch b=1, batch
  std::vector<std::string> runs;
  for (const auto& r : records) runs.push_back(r.case_label + " " + r.variant);
  EXPECT_EQ(runs, (std::vector<std::string>{"60x3 b=1 sgd", "60x3 b=60 minibatch", "60x3 b=1 minibatch",
                                            "60x3 b=60 batch"}));
  const auto losses = [&](std::size_t i) { return records[i].series.at(0).second; };
  EXPECT_EQ(losses(2), losses(0));  // b = 1 without shuffling: the SGD iterates
  EXPECT_EQ(losses(1), losses(3));  // b = obs: the batch iterates
  EXPECT_NE(losses(0), losses(3));
  EXPECT_EQ(records[0].metrics.at(1).second, 60.0);  // steps per epoch
  EXPECT_EQ(records[1].metrics.at(1).second, 1.0);
}

TYPED_TEST(GdOnSpace, WarmupEpochsDoNotCarryIntoTheTimedOnes) {
  // The timed epochs start again from the initial weights, with the shuffle of epoch 1.
  const std::string entry = "    learning_rate: 0.5\n    epochs: 5\n    strategies: [minibatch]\n"
                            "    batch_sizes: [16]\n    shuffle: true\n    tolerance: 1e300\n";
  const auto none = run_gd<TypeParam>(synthetic(100, 3, entry + "    warmups: 0\n"), 7);
  const auto three = run_gd<TypeParam>(synthetic(100, 3, entry + "    warmups: 3\n"), 7);
  EXPECT_EQ(none[0].sampling.warmups, 0);
  EXPECT_EQ(three[0].sampling.warmups, 3);
  EXPECT_EQ(none[0].series.at(0).second, three[0].series.at(0).second);
}

TYPED_TEST(GdOnSpace, ShuffleIsKeyedByTheEpoch) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = 9;
  const auto records = run_gd<ExecSpace>(
      synthetic(100, 3,
                "    learning_rate: 0.5\n    epochs: 3\n    strategies: [minibatch]\n    batch_sizes: [16]\n"
                "    shuffle: true\n    tolerance: 1e300\n"),
      seed);
  GdParams p;
  p.obs = 100;
  p.vars = 3;
  p.noise = 0.1;
  const ExecSpace space;
  const auto data = klab::stages::make_gd_data(space, p, seed);
  const klab::stages::GdEpoch<ExecSpace> epoch(data, 16, 0.5);
  const klab::SpaceVector<ExecSpace> w("w", 3), work("work", 100);
  std::vector<double> losses;
  for (int e = 0; e < 3; ++e) {
    epoch.run(space, w, std::int64_t(klab::permutation_key(seed, klab::stages::gd_stream_shuffle, e) >> 1));
    losses.push_back(klab::stages::mean_squared_error(space, data, w, work));
  }
  EXPECT_EQ(records.at(0).series.at(0).second, losses);
}

TYPED_TEST(GdOnSpace, ShuffledMinibatchesStillConverge) {
  const std::string entry = synthetic(400, 3,
                                      "    learning_rate: 0.5\n    epochs: 40\n    strategies: [minibatch]\n"
                                      "    batch_sizes: [16]\n    tolerance: 1e300\n");
  const auto in_order = run_gd<TypeParam>(entry, 5);
  const auto shuffled = run_gd<TypeParam>(entry + "    shuffle: true\n", 5);
  const auto& a = in_order[0].series.at(0).second;
  const auto& b = shuffled[0].series.at(0).second;
  EXPECT_NE(a, b);                     // another order of rows, other iterates ...
  EXPECT_LT(shuffled[0].error, 0.05);  // ... near the least-squares weights all the same
}

TYPED_TEST(GdOnSpace, DivergenceIsAFailedRecordWithTheEpoch) {
  const auto records = run_gd<TypeParam>(
      synthetic(100, 3, "    learning_rate: 1e3\n    epochs: 1000\n    strategies: [batch]\n"), 3);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].passed);
  EXPECT_NE(records[0].failure.find("diverged at epoch "), std::string::npos) << records[0].failure;
  const auto& losses = records[0].series.at(0).second;
  EXPECT_LT(losses.size(), 1000u);  // it stopped there
  EXPECT_EQ(records[0].time.count, static_cast<int>(losses.size()));
}

TEST(Gd, EveryKeyChangesWhatRuns) {
  const auto cases = [](const std::string& entry) { return gd_deck(entry, 1).stages.at(0).cases; };
  const auto labels = [&](const std::string& entry) {
    std::vector<std::string> out;
    for (const auto& c : cases(entry)) out.push_back(c.label + " " + c.variants.at(0).name);
    return out;
  };
  const std::string base = "    obs: 40\n    vars: 2\n    learning_rate: 0.1\n    epochs: 3\n";
  EXPECT_EQ(labels(base), (std::vector<std::string>{"40x2 b=1 sgd", "40x2 b=32 minibatch", "40x2 b=40 batch"}));
  EXPECT_EQ(labels(base + "    strategies: [batch, sgd]\n"),
            (std::vector<std::string>{"40x2 b=40 batch", "40x2 b=1 sgd"}));
  EXPECT_EQ(labels(base + "    strategies: [minibatch]\n    batch_sizes: [4, 8]\n"),
            (std::vector<std::string>{"40x2 b=4 minibatch", "40x2 b=8 minibatch"}));
  EXPECT_EQ(labels("    obs: 7\n    vars: 3\n    learning_rate: 0.1\n    strategies: [batch]\n"),
            (std::vector<std::string>{"7x3 b=7 batch"}));
  EXPECT_EQ(labels("    rows: [[1, 2], [3, 4], [5, 7]]\n    learning_rate: 0.1\n    strategies: [batch]\n"),
            (std::vector<std::string>{"3x1 b=3 batch"}));
  EXPECT_LT(cases(base)[0].memory_bytes, cases("    obs: 80\n    vars: 2\n    learning_rate: 0.1\n")[0].memory_bytes);
  EXPECT_EQ(cases(base)[0].sampling.warmups, 1);
  EXPECT_EQ(cases(base + "    warmups: 4\n")[0].sampling.warmups, 4);
  EXPECT_EQ(cases(base)[0].sampling.count, 3);
  EXPECT_EQ(cases("    obs: 40\n    vars: 2\n    learning_rate: 0.1\n    epochs: 9\n")[0].sampling.count, 9);

  // The keys that change the data, the training or the check, seen in the records of a run.
  const std::string space = klab::compiled_space_names().at(0);
  const auto run = [&](const std::string& entry, std::uint64_t seed = 1) {
    return klab::testing::run_stage(gd_deck(entry, seed), space).at(0);
  };
  const auto training = [](const std::string& noise, const std::string& learning_rate) {
    return "    obs: 40\n    vars: 2\n    noise: " + noise + "\n    learning_rate: " + learning_rate +
           "\n    epochs: 3\n    strategies: [sgd]\n";
  };
  const std::string sgd = training("0.1", "0.1");
  const auto plain = run(sgd);
  const auto losses = [](const klab::ResultRecord& r) { return r.series.at(0).second; };
  EXPECT_NE(losses(plain), losses(run(sgd, 2)));                                     // seed
  EXPECT_NE(losses(plain), losses(run(sgd + "    shuffle: true\n")));                // shuffle
  EXPECT_NE(losses(plain), losses(run(sgd + "    weights: [1, -1]\n")));             // weights
  EXPECT_NE(losses(plain), losses(run(training("0.1", "0.2"))));                     // learning_rate
  EXPECT_NE(losses(plain), losses(run(training("0.3", "0.1"))));                     // noise
  EXPECT_EQ(plain.tolerance, 1e-6);
  EXPECT_EQ(run(sgd + "    tolerance: 0.5\n").tolerance, 0.5);
}

TEST(Gd, DeckErrors) {
  const auto expect_error = [](const std::string& stage, const std::string& where, const std::string& what) {
    try {
      klab::testing::parse_stage(klab::stages::gd_stage(), stage);
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
  expect_error("    rows: [[2]]\n    learning_rate: 0.1\n", "deck.yaml:5:12",
               "expected a list of at least 2 numbers, got a list of 1");
  expect_error("    rows: [[2, 5]]\n    noise: 0.1\n    learning_rate: 0.1\n", "deck.yaml:6:12",
               "'noise' describes synthetic data; the data here are 'rows'");
  expect_error("    obs: 10\n    vars: 2\n    learning_rate: 0.1\n    strategies: [sgd]\n    batch_sizes: [4]\n",
               "deck.yaml:9:18", "batch sizes are for the minibatch strategy, which 'strategies' does not list");
  expect_error("    obs: 10\n    vars: 2\n    learning_rate: 0.1\n    repetitions: 5\n", "deck.yaml:8:18",
               "gd: samples are epochs; set 'epochs' instead of 'repetitions'");
}

}  // namespace
