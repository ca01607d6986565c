// What keeps a run honest at its limits: the memory budget a case is checked against before it
// allocates, the stages' estimates of what they allocate, and index arithmetic past 2^31.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/machine.hpp"
#include "core/random.hpp"
#include "core/stage.hpp"
#include "stages/ann.hpp"
#include "stages/elementwise.hpp"
#include "stages/gd.hpp"
#include "stages/matmul.hpp"
#include "stages/solvebak.hpp"

namespace {

struct ContextWithRecords {
  std::vector<klab::ResultRecord> records;
  std::vector<std::string> lines;
  klab::StageContext context{"big",   "elementwise", klab::RepeatSettings{}, 1, false,
                             [this](const std::string& line) { lines.push_back(line); }, records};
};

TEST(MemoryBudget, HostMemoryAvailableIsKnown) {
  const klab::AvailableMemory host = klab::available_memory(false);
  EXPECT_GT(host.bytes, 0u);
  EXPECT_FALSE(host.source.empty());
}

TEST(MemoryBudget, ACaseThatFitsAddsNothing) {
  ContextWithRecords c;
  EXPECT_TRUE(c.context.fits_in_memory("serial", false, "N=1000", 1000, 24e3));
  EXPECT_TRUE(c.records.empty());
  EXPECT_TRUE(c.lines.empty());
}

TEST(MemoryBudget, ACaseThatCannotFitIsAFailedRecordNamingTheEstimate) {
  ContextWithRecords c;
  // N = 1e10 doubles three times over: 240 GB; 1e18 bytes exceeds any machine.
  const double bytes = klab::stages::elementwise_bytes(10'000'000'000) * 1e7;
  EXPECT_FALSE(c.context.fits_in_memory("serial", false, "N=10000000000", 1e10, bytes));
  ASSERT_EQ(c.records.size(), 1u);
  const klab::ResultRecord& r = c.records[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.stage, "big");
  EXPECT_EQ(r.case_label, "N=10000000000");
  EXPECT_EQ(r.space, "serial");
  EXPECT_GT(r.error, 1.0);
  EXPECT_EQ(r.failure.rfind("big N=10000000000 on serial needs an estimated 2400000000.00 GB, more than the ", 0), 0u)
      << r.failure;
  EXPECT_NE(r.failure.find(" GB available ("), std::string::npos) << r.failure;
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "skipped: " + r.failure);
}

TEST(MemoryEstimates, CountTheLargestViewsOfACase) {
  using namespace klab::stages;
  EXPECT_DOUBLE_EQ(elementwise_bytes(10'000'000'000), 2.4e11);
  const MatmulShape big{1'000'000, 1'000'000, 1'000'000};
  EXPECT_DOUBLE_EQ(matmul_bytes(big, {MatmulVariant::naive, MatmulVariant::zip_reduce}), 3.2e13);
  const MatmulShape small{64, 64, 64};  // zip-reduce's M·K·N products count only where it runs
  EXPECT_DOUBLE_EQ(matmul_bytes(small, {MatmulVariant::zip_reduce}) - matmul_bytes(small, {MatmulVariant::naive}),
                   8.0 * 64 * 64 * 64);

  SolveBakParams solvebak;
  solvebak.obs = 1'000'000'000;
  solvebak.vars = 1000;
  solvebak.forms = {"residual"};
  EXPECT_GE(solvebak_bytes(solvebak), 8e12);  // X alone
  solvebak.forms = {"gram"};
  EXPECT_GE(solvebak_bytes(solvebak), 8e12 + 8e6);

  AnnParams ann;
  ann.obs = 1'000'000'000;
  ann.neurons = 1000;
  EXPECT_GE(ann_bytes(ann), 8.0 * 1e9 * 1001);  // the hidden layer L

  GdParams gd;
  gd.obs = 1'000'000'000;
  gd.vars = 4096;
  EXPECT_GE(gd_bytes(gd), 2 * 8.0 * 1e9 * 4096);  // X and a batch buffer as large
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
