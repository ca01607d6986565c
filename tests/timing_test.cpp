// Timing statistics and the timed region.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>

#include "core/timing.hpp"

TEST(Timing, SummaryOfOddCount) {
  const klab::TimeStats s = klab::summarize({3.0, 1.0, 2.0, 10.0, 4.0});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  // Sample standard deviation: sum of squares 9 + 1 + 4 + 36 + 0 = 50 over 4.
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(12.5));
  EXPECT_EQ(s.samples, (std::vector<double>{3.0, 1.0, 2.0, 10.0, 4.0}));  // in measured order
}

TEST(Timing, SummaryOfEvenCountAndSingleSample) {
  EXPECT_DOUBLE_EQ(klab::summarize({4.0, 1.0, 3.0, 2.0}).median, 2.5);
  const klab::TimeStats one = klab::summarize({0.5});
  EXPECT_DOUBLE_EQ(one.median, 0.5);
  EXPECT_DOUBLE_EQ(one.stddev, 0.0);
  EXPECT_EQ(klab::summarize({}).count, 0);
}

TEST(Timing, FencedTimeIncludesTheFences) {
  int fences = 0;
  const double seconds = klab::time_fenced([&] { ++fences; }, [] {
    volatile double x = 0;
    for (int i = 0; i < 100000; ++i) x = x + 1.0;
  });
  EXPECT_EQ(fences, 2);
  EXPECT_GT(seconds, 0.0);
}
