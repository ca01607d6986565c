// The harness on synthetic cases: how samples are taken, what a record holds, and how a failing
// setup, variant or check, or a case too large for memory, is recorded without stopping the rest.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>

#include <Kokkos_Core.hpp>

#include "core/harness.hpp"
#include "stage_test_helpers.hpp"

namespace {

struct Counts {
  int start = 0, body = 0, after = 0, check = 0, setup = 0;
};

// A case on "serial"-like host work whose variants count their calls; `error` is what checks report.
klab::Case counting_case(Counts& counts, klab::Sampling sampling, int variants, double error = 0) {
  klab::Case c;
  c.label = "n=4";
  c.size_name = "n";
  c.size = 4;
  c.sampling = sampling;
  for (int v = 0; v < variants; ++v) c.variants.push_back({"v" + std::to_string(v), {8.0 * (v + 1), 2.0}});
  c.setup = [&counts, variants, error](const std::string&, const klab::CaseContext&) {
    ++counts.setup;
    klab::CaseSetup setup;
    setup.fence = [] {};
    for (int v = 0; v < variants; ++v) {
      klab::VariantRun run;
      run.start = [&counts] { ++counts.start; };
      run.body = [&counts, v] {
        ++counts.body;
        volatile double x = 0;
        for (int i = 0; i < 1000 * (v + 1); ++i) x = x + 1.0;
      };
      run.after_sample = [&counts](int) { return ++counts.after > 0; };
      run.check = [&counts, error] {
        ++counts.check;
        return klab::Check{"synthetic", error, 1e-12, "", {}, {{"m", 1.0}}, {}};
      };
      setup.variants.push_back(run);
    }
    return setup;
  };
  return c;
}

std::vector<klab::ResultRecord> run(const klab::Case& c) {
  return klab::testing::run_cases({"label", "type"}, {c}, klab::compiled_space_names().front());
}

TEST(Harness, RepetitionsRunWarmupsThenTimedSamplesAndFillTheRecord) {
  Counts counts;
  const auto records = run(counting_case(counts, {"repetition", 2, 5}, 2));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(counts.setup, 1);
  EXPECT_EQ(counts.start, 2);  // once per variant: repetitions do not restart
  EXPECT_EQ(counts.body, 2 * 7);
  EXPECT_EQ(counts.check, 2);
  for (const auto& r : records) {
    EXPECT_TRUE(r.passed) << r.failure;
    EXPECT_EQ(r.stage, "label");
    EXPECT_EQ(r.stage_type, "type");
    EXPECT_EQ(r.size_name, "n");
    EXPECT_EQ(r.time.count, 5);
    EXPECT_EQ(r.sampling.unit, "repetition");
    EXPECT_EQ(r.sampling.count, 5);
    EXPECT_GE(r.setup_s, 0.0);
    EXPECT_LT(r.transfer_s, 0.0);
    EXPECT_EQ(r.check, "synthetic");
    ASSERT_EQ(r.metrics.size(), 1u);
  }
  EXPECT_DOUBLE_EQ(records[1].bytes, 16.0);
  EXPECT_DOUBLE_EQ(records[1].flops, 2.0);
}

TEST(Harness, IterationsRestartAfterTheWarmupsAndMayEndEarly) {
  Counts counts;
  klab::Case c = counting_case(counts, {"sweep", 3, 4}, 1);
  EXPECT_EQ(run(c)[0].time.count, 4);
  EXPECT_EQ(counts.start, 2);
  EXPECT_EQ(counts.body, 7);
  EXPECT_EQ(counts.after, 4);

  // after_sample returning false ends the sampling (e.g. a diverged method).
  Counts stopped;
  klab::Case early = counting_case(stopped, {"epoch", 0, 10}, 1);
  const auto setup = early.setup;
  early.setup = [setup, &stopped](const std::string& space, const klab::CaseContext& context) {
    klab::CaseSetup s = setup(space, context);
    s.variants[0].after_sample = [&stopped](int sample) { return ++stopped.after, sample < 2; };
    return s;
  };
  EXPECT_EQ(run(early)[0].time.count, 3);
  EXPECT_EQ(stopped.start, 1);  // no warm-ups: no restart
}

TEST(Harness, ANaNOrLargeErrorFailsTheRecord) {
  Counts counts;
  EXPECT_FALSE(run(counting_case(counts, {"repetition", 0, 1}, 1, std::numeric_limits<double>::quiet_NaN()))[0].passed);
  EXPECT_FALSE(run(counting_case(counts, {"repetition", 0, 1}, 1, 1e-3))[0].passed);
}

TEST(Harness, AFailingSetupFailsEveryVariantOfItsCaseAlone) {
  Counts counts;
  klab::Case c = counting_case(counts, {"repetition", 0, 1}, 2);
  c.setup = [](const std::string&, const klab::CaseContext&) -> klab::CaseSetup {
    throw std::runtime_error("no memory");
  };
  const auto records = run(c);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    EXPECT_FALSE(r.passed);
    EXPECT_NE(r.failure.find("no memory"), std::string::npos);
  }
}

// An allocation that fails (Kokkos throws a std::bad_alloc) fails its case; the smaller ones
// after it still run.
TEST(Harness, AnAllocationFailureFailsItsCaseAndTheNextCaseRuns) {
  Counts counts;
  klab::Case huge = counting_case(counts, {"repetition", 0, 1}, 2);
  huge.label = "n=1e12";
  huge.setup = [](const std::string&, const klab::CaseContext&) -> klab::CaseSetup { throw std::bad_alloc(); };
  const klab::Case small = counting_case(counts, {"repetition", 0, 1}, 2);
  const auto records = klab::testing::run_cases({"label", "type"}, {huge, small}, klab::compiled_space_names().front());
  ASSERT_EQ(records.size(), 4u);
  for (int v = 0; v < 2; ++v) {
    EXPECT_EQ(records[v].case_label, "n=1e12");
    EXPECT_FALSE(records[v].passed);
    EXPECT_EQ(records[v].failure, "setup failed: std::bad_alloc");
    EXPECT_EQ(records[2 + v].case_label, "n=4");
    EXPECT_TRUE(records[2 + v].passed) << records[2 + v].failure;
  }
}

TEST(Harness, AThrowingVariantFailsAndTheVariantsAfterItDoNotRun) {
  Counts counts;
  klab::Case c = counting_case(counts, {"repetition", 0, 2}, 3);
  const auto setup = c.setup;
  c.setup = [setup](const std::string& space, const klab::CaseContext& context) {
    klab::CaseSetup s = setup(space, context);
    s.variants[1].check = []() -> klab::Check { throw std::runtime_error("singular"); };
    return s;
  };
  const auto records = run(c);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[0].passed);
  EXPECT_FALSE(records[1].passed);
  EXPECT_NE(records[1].failure.find("singular"), std::string::npos);
  EXPECT_FALSE(records[2].passed);
  EXPECT_NE(records[2].failure.find("not run"), std::string::npos);
  EXPECT_EQ(counts.body, 4);  // the third variant never ran
}

TEST(Harness, ACaseBeyondTheMemoryBudgetIsSkippedWithItsEstimate) {
  Counts counts;
  klab::Case c = counting_case(counts, {"repetition", 0, 1}, 1);
  c.memory_bytes = 1e30;
  const auto records = run(c);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].passed);
  EXPECT_EQ(counts.setup, 0);
  EXPECT_NE(records[0].failure.find("not run"), std::string::npos);
}

TEST(Harness, VariantsOfTheSameResultNoteTheirShareOfTheFastest) {
  Counts counts;
  klab::Case c = counting_case(counts, {"repetition", 0, 3}, 2);
  c.same_result = true;
  for (const auto& r : run(c)) {
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_EQ(r.notes[0].first, "share_of_fastest_variant");
  }
}

TEST(Harness, ALongVariantReportsItsProgressAfterEachStep) {
  Counts counts;
  std::vector<std::string> progress;
  std::vector<klab::ResultRecord> records;
  const auto report = [&](const std::string& line) { progress.push_back(line); };
  klab::Harness after_zero(records, [](const std::string&) {}, false, report, 0.0);
  after_zero.run_case({"label", "type"}, counting_case(counts, {"repetition", 1, 2}, 1), klab::compiled_space_names().front());
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress[0].rfind("n=4 v0: 1/3 samples and warm-ups, 0 s, about ", 0), 0u) << progress[0];
  EXPECT_EQ(progress[2].rfind("n=4 v0: 3/3 samples and warm-ups, ", 0), 0u) << progress[2];
  EXPECT_NE(progress[2].find(", about 0 s left"), std::string::npos) << progress[2];

  progress.clear();  // a variant done within the threshold says nothing
  klab::Harness after_an_hour(records, [](const std::string&) {}, false, report, 3600.0);
  after_an_hour.run_case({"label", "type"}, counting_case(counts, {"repetition", 1, 2}, 1), klab::compiled_space_names().front());
  EXPECT_TRUE(progress.empty());
}

// What a profiling tool saw: "+NAME" for each region pushed, "-" for each popped.
std::vector<std::string> region_events;

TEST(Harness, ProfilersSeeARegionPerCaseSetupAndVariant) {
  Kokkos::Tools::Experimental::set_push_region_callback([](const char* name) { region_events.push_back(std::string("+") + name); });
  Kokkos::Tools::Experimental::set_pop_region_callback([] { region_events.push_back("-"); });
  Counts counts;
  const auto records = run(counting_case(counts, {"repetition", 0, 1}, 2));
  Kokkos::Tools::Experimental::set_push_region_callback(nullptr);
  Kokkos::Tools::Experimental::set_pop_region_callback(nullptr);
  ASSERT_EQ(records.size(), 2u);
  const std::string region = "label:n=4:" + klab::compiled_space_names().front();
  EXPECT_EQ(region_events, (std::vector<std::string>{"+" + region, "+" + region + ":setup", "-", "+" + region + ":v0",
                                                     "-", "+" + region + ":v1", "-", "-"}));
}

}  // namespace
