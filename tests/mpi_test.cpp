// klab under mpirun: each distributed stage gives on 1, 2 and 3 ranks (oversubscribed, one OpenMP
// thread each) the records of a plain run; solvebak's gram sweeps communicate nothing; a deck error
// is reported once and every rank exits 2. (tests/ranks_test.cpp has the harness's side: slowest
// rank, non-distributed cases, budgets.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace {

using namespace cli_testing;
using cli_testing::klab;  // over namespace klab

class MpiRun : public Cli {
 protected:
  void SetUp() override {
    if (std::string(KLAB_MPIEXEC).empty()) GTEST_SKIP() << "klab was built without MPI";
    Cli::SetUp();
  }
  // mpirun and its options for `ranks` ranks of this machine, one OpenMP thread each (env(1) sets
  // its environment; it execs mpirun in its place). Open MPI refuses root unless told; the
  // single-copy mechanism needs ptrace rights that containers often lack.
  static std::vector<std::string> launcher(int ranks) {
    return {"/usr/bin/env", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMP_NUM_THREADS=1",
            KLAB_MPIEXEC, "-np", std::to_string(ranks), "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism",
            "none"};
  }
  // klab on `ranks` ranks of this machine.
  static Outcome mpirun(int ranks, const std::string& args) {
    std::string command_line;
    for (const std::string& word : launcher(ranks)) command_line += word + " ";
    return run_command(command_line + KLAB_EXE + " " + args);
  }
};

// Each deck in tests/data/mpi/ (one per distributed stage) on 1, 2 and 3 ranks gives the records of
// a plain run: every record passes its check against the whole problem's host reference, and its
// error equals the plain run's within kSameAnswer (relative) or kRounding (absolute): the ranks
// compute the same iterates, summed in another order.
constexpr double kSameAnswer = 1e-6, kRounding = 1e-13;

class MpiDeck : public MpiRun, public ::testing::WithParamInterface<std::string> {};

TEST_P(MpiDeck, GivesTheAnswersOfOneRank) {
  const std::string deck = std::string(KLAB_SOURCE_DIR) + "/tests/data/mpi/" + GetParam() + ".yaml";
  const Outcome plain = klab("run " + deck + " --json " + path("plain.json"), "OMP_NUM_THREADS=1");
  ASSERT_EQ(plain.status, 0) << plain.output;
  const YAML::Node reference = YAML::LoadFile(path("plain.json"))["records"];
  for (const int ranks : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string json = path("r" + std::to_string(ranks) + ".json");
    const Outcome run = mpirun(ranks, "run " + deck + " --json " + json);
    ASSERT_EQ(run.status, 0) << run.output;
    // Rank 0 alone prints: one table.
    EXPECT_EQ(run.output.find("ratios are"), run.output.rfind("ratios are")) << run.output;
    const YAML::Node records = YAML::LoadFile(json)["records"];
    ASSERT_EQ(records.size(), reference.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      const YAML::Node r = records[i], expected = reference[i];
      const std::string what = r["case"].as<std::string>() + " " + r["variant"].as<std::string>() + " on " +
                               r["space"].as<std::string>();
      EXPECT_EQ(r["case"].as<std::string>(), expected["case"].as<std::string>());
      EXPECT_EQ(r["space"].as<std::string>(), expected["space"].as<std::string>());
      EXPECT_EQ(r["variant"].as<std::string>(), expected["variant"].as<std::string>());
      EXPECT_TRUE(r["passed"].as<bool>()) << what << ": " << r["failure"].as<std::string>();
      const double error = r["error"].as<double>(), plain_error = expected["error"].as<double>();
      EXPECT_LE(std::fabs(error - plain_error), kSameAnswer * std::fabs(plain_error) + kRounding)
          << what << ": " << error << " on " << ranks << " ranks, " << plain_error << " on one";
      EXPECT_EQ(r["ranks"].IsDefined(), ranks > 1);
      if (ranks > 1) {
        EXPECT_EQ(r["ranks"]["count"].as<int>(), ranks);
        EXPECT_LE(r["ranks"]["fastest_rank_median_s"].as<double>(), r["time_s"]["median"].as<double>());
      }
    }
  }
}

std::vector<std::string> mpi_decks() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(KLAB_SOURCE_DIR) / "tests/data/mpi"))
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryDistributedStage, MpiDeck, ::testing::ValuesIn(mpi_decks()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// solvebak's gram form sweeps from G and Xᵀy summed over the ranks at setup: its sweeps spend no
// time in collectives, while the residual, batched and blocked forms sum over the ranks in every sweep.
TEST_F(MpiRun, SolveBakGramSweepsDoNotCommunicate) {
  const std::string deck = std::string(KLAB_SOURCE_DIR) + "/tests/data/mpi/solvebak.yaml";
  const Outcome run = mpirun(2, "run " + deck + " --json " + path("r.json"));
  ASSERT_EQ(run.status, 0) << run.output;
  const YAML::Node records = YAML::LoadFile(path("r.json"))["records"];
  ASSERT_EQ(records.size(), 8u);  // 4 forms on 2 spaces
  for (const YAML::Node& r : records) {
    const std::string variant = r["variant"].as<std::string>();
    const double communication_s = r["ranks"]["communication_s"].as<double>();
    if (variant == "gram")
      EXPECT_EQ(communication_s, 0.0) << r["space"].as<std::string>();
    else
      EXPECT_GT(communication_s, 0.0) << variant << " on " << r["space"].as<std::string>();
  }
}

TEST_F(MpiRun, ADeckErrorIsReportedOnceAndEveryRankExitsTwo) {
  const std::string deck = write("bad.yaml", "run:\n  name: bad\nstages:\n  - stage: elementwise\n    size: [10]\n");
  const Outcome run = mpirun(2, "run " + deck + " --json " + path("r.json"));
  EXPECT_EQ(run.status, 2) << run.output;
  const std::string error = "klab: deck error: " + deck + ":5:5:";
  EXPECT_NE(run.output.find(error), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(error), run.output.rfind(error)) << run.output;
  EXPECT_FALSE(fs::exists(path("r.json")));
}

TEST_F(MpiRun, AScalingStudyMeasuresEachRankCountInOneLaunch) {
  const std::string deck = write("s.yaml", "run:\n  name: s\n  spaces: [serial]\n  ranks: [1, 3]\n  repetitions: 2\n"
                                           "stages:\n  - stage: elementwise\n    sizes: [1000, 20000]\n");
  const Outcome run = mpirun(3, "run " + deck + " --json " + path("r.json"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("scaling"), std::string::npos) << run.output;  // the table's column
  const YAML::Node records = YAML::LoadFile(path("r.json"))["records"];
  ASSERT_EQ(records.size(), 4u);  // each case on 1, then on 3 ranks
  for (std::size_t i = 0; i < records.size(); ++i) {
    const YAML::Node r = records[i];
    const int ranks = i % 2 == 0 ? 1 : 3;
    EXPECT_TRUE(r["passed"].as<bool>());
    EXPECT_EQ(r["ranks"]["count"].as<int>(), ranks);
    const YAML::Node scaling = r["ranks"]["scaling"];
    EXPECT_EQ(scaling["kind"].as<std::string>(), "strong");
    EXPECT_EQ(scaling["base_ranks"].as<int>(), 1);
    const double base = records[i - i % 2]["time_s"]["median"].as<double>();
    EXPECT_DOUBLE_EQ(scaling["speedup"].as<double>(), base / r["time_s"]["median"].as<double>());
    EXPECT_DOUBLE_EQ(scaling["efficiency"].as<double>(), scaling["speedup"].as<double>() / ranks);
  }
}

// Weak scaling: 3 ranks run 3 times each case's size, and the study compares it with one rank's
// time on one share: efficiency is that time over this one's, speed-up the efficiency times 3.
TEST_F(MpiRun, AWeakScalingStudyGrowsTheCasesWithTheRanks) {
  const std::string deck = write("w.yaml", "run:\n  name: w\n  spaces: [serial]\n  ranks: [1, 3]\n  repetitions: 2\n"
                                           "stages:\n  - stage: elementwise\n    sizes: [1000]\n    scaling: weak\n");
  const Outcome run = mpirun(3, "run " + deck + " --json " + path("r.json"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find(" weak"), std::string::npos) << run.output;  // the table's scaling column
  const YAML::Node records = YAML::LoadFile(path("r.json"))["records"];
  ASSERT_EQ(records.size(), 2u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const YAML::Node r = records[i];
    const int ranks = i == 0 ? 1 : 3;
    EXPECT_TRUE(r["passed"].as<bool>());
    EXPECT_EQ(r["case"].as<std::string>(), "N=1000 per rank");
    EXPECT_EQ(r["size"].as<double>(), 1000.0 * ranks);
    const YAML::Node scaling = r["ranks"]["scaling"];
    EXPECT_EQ(scaling["kind"].as<std::string>(), "weak");
    const double base = records[0]["time_s"]["median"].as<double>();
    EXPECT_DOUBLE_EQ(scaling["efficiency"].as<double>(), base / r["time_s"]["median"].as<double>());
    EXPECT_DOUBLE_EQ(scaling["speedup"].as<double>(), scaling["efficiency"].as<double>() * ranks);
  }
}

TEST_F(MpiRun, MoreRanksThanTheJobHasIsADeckError) {
  const std::string deck = write("s.yaml", "run:\n  name: s\n  ranks: [1, 2]\nstages:\n"
                                           "  - stage: elementwise\n    sizes: [10]\n");
  const Outcome run = klab("run " + deck + " --json " + path("r.json"));
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find(deck + ":3:14: run.ranks[1]: asks for 2 ranks, this job has 1"), std::string::npos)
      << run.output;
  EXPECT_FALSE(fs::exists(path("r.json")));
}

// mpirun passes SIGINT on to the ranks as SIGTERM: they agree to stop, and rank 0 writes the
// records of the cases that completed. mpirun kills the ranks a second later (its
// odls_base_sigkill_timeout, which also delays the SIGTERM), so the samples here are short (a few
// milliseconds, tens under AddressSanitizer).
TEST_F(MpiRun, AnInterruptedJobWritesTheCompletedRecords) {
  const std::string deck = write("long.yaml", "run:\n  name: long\n  spaces: [serial]\n  warmups: 0\n"
                                              "  repetitions: 5000\nstages:\n  - stage: elementwise\n    sizes: [1000]\n"
                                              "  - stage: matmul\n    sizes: [150]\n    variants: [naive]\n");
  const Outcome out = klab_at({"run", deck, "--json", path("r.json")}, "N=150 naive\n",
                              [](pid_t mpirun) {
                                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                                ::kill(mpirun, SIGINT);
                              },
                              std::chrono::seconds(300),
                              launcher(2));
  EXPECT_NE(out.status, 0) << out.output;
  ASSERT_TRUE(fs::exists(path("r.json"))) << out.output;
  const YAML::Node results = YAML::LoadFile(path("r.json"));
  EXPECT_TRUE(results["interrupted"].as<bool>()) << out.output;
  ASSERT_EQ(results["records"].size(), 1u) << out.output;
  EXPECT_EQ(results["records"][0]["stage"].as<std::string>(), "elementwise");
}

// A rank that dies (here killed) ends the job: mpirun ends the other ranks instead of leaving them
// waiting for it in a collective.
TEST_F(MpiRun, ARankThatDiesEndsTheJob) {
  const std::string deck = write("long.yaml", "run:\n  name: long\n  spaces: [serial]\n  warmups: 0\n"
                                              "  repetitions: 100\nstages:\n  - stage: matmul\n    sizes: [800]\n"
                                              "    variants: [naive]\n");
  const auto start = std::chrono::steady_clock::now();
  const Outcome out = klab_at({"run", deck, "--json", path("r.json")}, "N=800 naive\n",
                              [&](pid_t) {
                                // The newest klab running this deck ([k] keeps the pattern from matching this shell).
                                const Outcome killed = run_command("pkill -KILL -n -f '[k]lab run " + deck + "'");
                                EXPECT_EQ(killed.status, 0) << killed.output;
                              },
                              std::chrono::seconds(120),
                              launcher(2));
  EXPECT_NE(out.status, 0) << out.output;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60)) << out.output;
  EXPECT_FALSE(fs::exists(path("r.json")));
}

}  // namespace
