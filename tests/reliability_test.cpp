// What keeps a run honest at its limits: the memory budget a case is checked against before it
// allocates, the stages' estimates of what they allocate, and index arithmetic past 2^31.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/deck.hpp"
#include "core/harness.hpp"
#include "core/machine.hpp"
#include "core/random.hpp"
#include "stages/matmul/matmul.hpp"
#include "stage_test_helpers.hpp"
#include "stages/registry.hpp"

namespace {

// The records and progress lines of one case, run by the harness on the first space compiled in.
struct HarnessRun {
  std::vector<std::string> lines;
  std::vector<klab::ResultRecord> records;
  explicit HarnessRun(const klab::Case& c)
      : records(klab::testing::run_cases({"big", "elementwise"}, {c}, klab::compiled_space_names().front(), &lines)) {}
};

// A case that allocates nothing and passes, with `bytes` as its memory estimate.
klab::Case case_needing(double bytes) {
  klab::Case c;
  c.label = "N=10000000000";
  c.size = 1e10;
  c.memory_bytes = bytes;
  c.sampling = {"repetition", 0, 1};
  c.variants = {{"kernel", {}}};
  c.setup = [](const std::string&, const klab::CaseContext&) {
    klab::CaseSetup setup;
    setup.fence = [] {};
    setup.variants.push_back({{}, [] {}, {}, [] { return klab::Check{"none", 0, 1, "", {}, {}, {}}; }});
    return setup;
  };
  return c;
}

TEST(MemoryBudget, HostMemoryAvailableIsKnown) {
  const klab::AvailableMemory host = klab::available_memory(false);
  EXPECT_GT(host.bytes, 0u);
  EXPECT_FALSE(host.source.empty());
}

TEST(MemoryBudget, ACaseThatFitsRuns) {
  const HarnessRun run(case_needing(24e3));
  ASSERT_EQ(run.records.size(), 1u);
  EXPECT_TRUE(run.records[0].passed) << run.records[0].failure;
  EXPECT_EQ(run.lines, (std::vector<std::string>{"N=10000000000", "N=10000000000 kernel"}));
}

TEST(MemoryBudget, ACaseThatCannotFitIsAFailedRecordNamingTheEstimate) {
  // 2.4e18 bytes exceeds any machine.
  const HarnessRun run(case_needing(2.4e18));
  ASSERT_EQ(run.records.size(), 1u);
  const klab::ResultRecord& r = run.records[0];
  const std::string space = klab::compiled_space_names().front();
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.stage, "big");
  EXPECT_EQ(r.case_label, "N=10000000000");
  EXPECT_EQ(r.space, space);
  EXPECT_GT(r.error, 1.0);
  EXPECT_EQ(r.failure.rfind("big N=10000000000 on " + space + " needs an estimated 2400000000.00 GB, more than the ", 0),
            0u)
      << r.failure;
  EXPECT_NE(r.failure.find(" GB available ("), std::string::npos) << r.failure;
  ASSERT_EQ(run.lines.size(), 2u);
  EXPECT_EQ(run.lines[1], "skipped: " + r.failure);
}

// The memory estimate of the first case of a deck entry (keys after `stage:`).
double estimate(const std::string& stage, const std::string& keys) {
  const klab::Deck deck = klab::parse_deck("run:\n  name: t\nstages:\n  - stage: " + stage + "\n" + keys, "deck.yaml",
                                           klab::stage_registry());
  return deck.stages.at(0).cases.at(0).memory_bytes;
}

TEST(MemoryEstimates, CountTheLargestViewsOfACase) {
  EXPECT_DOUBLE_EQ(estimate("elementwise", "    sizes: [1e10]\n"), 2.4e11);
  EXPECT_GE(estimate("matmul", "    sizes: [1000000]\n    variants: [naive]\n"), 3.2e13);  // A, B, C, reference
  // zip-reduce's M·K·N products count where it runs.
  EXPECT_DOUBLE_EQ(estimate("matmul", "    sizes: [64]\n    variants: [zip-reduce]\n") -
                       estimate("matmul", "    sizes: [64]\n    variants: [naive]\n"),
                   8.0 * 64 * 64 * 64);
  const std::string solvebak = "    obs: 1e9\n    vars: 1000\n";
  EXPECT_GE(estimate("solvebak", solvebak + "    forms: [residual]\n"), 8e12);  // X alone
  EXPECT_GE(estimate("solvebak", solvebak + "    forms: [gram]\n"), 8e12 + 8e6);
  EXPECT_GE(estimate("ann", "    obs: 1e9\n    neurons: 1000\n"), 8.0 * 1e9 * 1001);  // the hidden layer L
  // X and a batch buffer as large.
  EXPECT_GE(estimate("gd", "    obs: 1e9\n    vars: 4096\n    learning_rate: 0.1\n"), 2 * 8.0 * 1e9 * 4096);
}

TEST(LargeIndices, MatmulProductCountIsExactAtTheDeckLimit) {
  const klab::stages::MatmulShape largest{1'000'000, 1'000'000, 1'000'000};
  EXPECT_EQ(largest.products(), std::int64_t(1'000'000'000'000'000'000));
  const klab::stages::MatmulShape past_int{50'000, 50'000, 1};  // M·K > 2^31
  EXPECT_EQ(past_int.products(), std::int64_t(2'500'000'000));
}

TEST(LargeIndices, KeyedPermutationStaysInRangePast2To32) {
  const std::int64_t n = (std::int64_t(1) << 32) + 12345;
  const int half_bits = klab::permutation_half_bits(n);
  EXPECT_EQ(half_bits, 17);
  std::set<std::int64_t> seen;
  for (std::int64_t i = 0; i < 2000; ++i) {
    const std::int64_t index = klab::permuted_index(12345, n, half_bits, i);
    ASSERT_GE(index, 0);
    ASSERT_LT(index, n);
    seen.insert(index);
  }
  EXPECT_EQ(seen.size(), 2000u);  // distinct
  // The last positions map into range too: the cycle walk handles indices past 2^32.
  EXPECT_LT(klab::permuted_index(99, n, half_bits, n - 1), n);
}

TEST(LargeIndices, UniformNumbersPast2To32AreDistinctFromTheStart) {
  // Counter-based: element 2^32 + i is its own number, not element i again (no 32-bit wrap).
  const std::uint64_t past = std::uint64_t(1) << 32;
  EXPECT_NE(klab::uniform01(1, 2, past), klab::uniform01(1, 2, 0));
  EXPECT_NE(klab::uniform01(1, 2, past + 7), klab::uniform01(1, 2, 7));
}

}  // namespace
