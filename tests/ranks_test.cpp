// The harness on however many ranks the test runs (ctest runs it plain and under mpirun -np 2 and
// 3): a distributed case's record is the slowest rank's, a case that does not split its work
// fails on more than one rank, and each rank's memory budget counts what it holds in full.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/harness.hpp"
#include "core/spaces.hpp"
#include "sanitizers.hpp"

namespace {

// A case of one variant whose body sleeps `rank_ms` milliseconds per rank index: rank 0 not at all.
klab::Case sleeping_case(bool distributed, int rank_ms) {
  klab::Case c;
  c.label = "n=1";
  c.size_name = "n";
  c.size = 1;
  c.sampling = {"repetition", 0, 3};
  c.distributed = distributed;
  c.variants = {{"sleep", {8.0, 1.0}}};
  c.setup = [rank_ms](const std::string&, const klab::CaseContext& context) {
    klab::CaseSetup setup;
    setup.fence = [] {};
    klab::VariantRun run;
    const int rank = context.comm.rank();
    run.body = [rank, rank_ms] { std::this_thread::sleep_for(std::chrono::milliseconds(rank * rank_ms)); };
    run.check = [] { return klab::Check{"synthetic", 0, 1e-12, "", {}, {}, {}}; };
    setup.variants.push_back(run);
    return setup;
  };
  return c;
}

std::vector<klab::ResultRecord> run_on_every_rank(const klab::Case& c) {
  std::vector<klab::ResultRecord> records;
  klab::Harness harness(records, [](const std::string&) {}, false, {}, klab::Harness::default_progress_after_s,
                        klab::Communicator::world());
  harness.run_case({"label", "type"}, c, klab::compiled_space_names().front());
  return records;
}

TEST(HarnessOnRanks, ADistributedCaseRecordsTheSlowestRanksTimes) {
  const klab::Communicator comm = klab::Communicator::world();
  const auto records = run_on_every_rank(sleeping_case(true, 20));
  ASSERT_EQ(records.size(), 1u);
  const klab::ResultRecord& r = records[0];
  EXPECT_TRUE(r.passed) << r.failure;
  EXPECT_EQ(r.ranks, comm.size());
  if (comm.size() == 1) {
    EXPECT_LT(r.fastest_rank_median_s, 0);  // one rank: no rank statistics
    return;
  }
  // Every rank holds the same record: the last rank's sleep, and rank 0's as the fastest.
  EXPECT_GE(r.time.min, 0.020 * (comm.size() - 1));
  EXPECT_LT(r.fastest_rank_median_s, 0.010);
  EXPECT_GE(r.communication_s, 0);
}

TEST(HarnessOnRanks, ACaseThatDoesNotSplitItsWorkFailsOnMoreThanOneRank) {
  const klab::Communicator comm = klab::Communicator::world();
  const auto records = run_on_every_rank(sleeping_case(false, 0));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].passed, comm.size() == 1) << records[0].failure;
  if (comm.size() > 1)
    EXPECT_EQ(records[0].failure, "type does not split its work over ranks: run it on one (without mpirun, or -np 1)");
}

TEST(HarnessOnRanks, EachRanksBudgetIsItsShareAndWhatItHoldsInFull) {
  const klab::Communicator comm = klab::Communicator::world();
  // Far more than any machine has when held in full, little when split over 3 ranks or fewer:
  // only the replicated part decides.
  for (const double replicated : {0.0, 1e18}) {
    klab::Case c = sleeping_case(true, 0);
    c.memory_bytes = 1e3 + replicated;
    c.replicated_bytes = replicated;
    const auto records = run_on_every_rank(c);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].passed, replicated == 0) << records[0].failure;
  }
}

// The last rank's address space is limited to what it has mapped plus 256 MiB, so that a 1 GiB
// case fits every rank but that one: every rank skips the case, naming that rank.
TEST(HarnessOnRanks, ARankShortOfMemorySkipsTheCaseOnEveryRank) {
  if (klab::testing::address_sanitizer) GTEST_SKIP() << "AddressSanitizer cannot run under an address-space limit";
  const klab::Communicator comm = klab::Communicator::world();
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &saved), 0);
  const bool limited = comm.rank() == comm.size() - 1;
  if (limited) {
    std::ifstream status("/proc/self/status");
    std::string line;
    double mapped_kib = 0;
    while (std::getline(status, line))
      if (line.rfind("VmSize:", 0) == 0) mapped_kib = std::stod(line.substr(7));
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(mapped_kib * 1024 + 256.0 * (1 << 20));
    ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
  }
  klab::Case c = sleeping_case(true, 0);
  c.memory_bytes = c.replicated_bytes = double(1 << 30);
  const auto records = run_on_every_rank(c);
  if (limited) ::setrlimit(RLIMIT_AS, &saved);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].passed);
  const std::string where = comm.size() > 1 ? " on rank " + std::to_string(comm.size() - 1) : "";
  EXPECT_NE(records[0].failure.find("label n=1 on " + klab::compiled_space_names().front() + where + " needs an"),
            std::string::npos)
      << records[0].failure;
}

// A setup that throws on one rank only (before any collective) fails the case on every rank,
// naming that rank and its reason; the next case runs on all of them.
TEST(HarnessOnRanks, ASetupFailingOnOneRankFailsTheCaseOnEveryRank) {
  const klab::Communicator comm = klab::Communicator::world();
  const int failing = comm.size() - 1;
  klab::Case c = sleeping_case(true, 0);
  const auto setup = c.setup;
  c.setup = [setup, failing](const std::string& space, const klab::CaseContext& context) {
    if (context.comm.rank() == failing) throw std::runtime_error("no device memory");
    return setup(space, context);
  };
  std::vector<klab::ResultRecord> records;
  klab::Harness harness(records, [](const std::string&) {}, false, {}, klab::Harness::default_progress_after_s, comm);
  harness.run_case({"label", "type"}, c, klab::compiled_space_names().front());
  harness.run_case({"label", "type"}, sleeping_case(true, 0), klab::compiled_space_names().front());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[0].passed);
  const std::string where = comm.size() > 1 ? "rank " + std::to_string(failing) + ": " : "";
  EXPECT_EQ(records[0].failure, where + "setup failed: no device memory");
  EXPECT_TRUE(records[1].passed) << records[1].failure;
}

// A variant that throws on every rank fails on every rank, and the ranks go on in step.
TEST(HarnessOnRanks, AVariantFailingOnEveryRankFailsItsRecordAndTheRunGoesOn) {
  const klab::Communicator comm = klab::Communicator::world();
  klab::Case c = sleeping_case(true, 0);
  const auto setup = c.setup;
  c.setup = [setup](const std::string& space, const klab::CaseContext& context) {
    klab::CaseSetup s = setup(space, context);
    s.variants[0].check = []() -> klab::Check { throw std::runtime_error("reference unavailable"); };
    return s;
  };
  const auto records = run_on_every_rank(c);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].failure, std::string(comm.size() > 1 ? "rank 0: " : "") + "variant failed: reference unavailable");
  EXPECT_EQ(run_on_every_rank(sleeping_case(true, 0)).size(), 1u);  // still in step
}

}  // namespace
