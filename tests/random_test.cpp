// The counter-based generator: same numbers on every space, uniform in [0, 1).
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

#include "core/random.hpp"
#include "test_spaces.hpp"

template <class ExecSpace>
class RandomOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(RandomOnSpace, klab::testing::CompiledSpaces);

TYPED_TEST(RandomOnSpace, FillMatchesHostFormulaAndIsUniform) {
  using ExecSpace = TypeParam;
  const std::int64_t n = 200001;
  const std::uint64_t seed = 12345, stream = 7;
  Kokkos::View<double*, typename ExecSpace::memory_space> v("v", n);
  klab::fill_uniform(ExecSpace(), v, seed, stream, -0.5, 0.5);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  double sum = 0, sum_sq = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(host(i), -0.5 + klab::uniform01(seed, stream, static_cast<std::uint64_t>(i))) << "seed " << seed << " i " << i;
    ASSERT_GE(host(i), -0.5);
    ASSERT_LT(host(i), 0.5);
    sum += host(i);
    sum_sq += host(i) * host(i);
  }
  // Mean 0 and variance 1/12 within several standard errors.
  EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(sum_sq / n, 1.0 / 12, 5 * std::sqrt(1.0 / 180 / n));
}

TEST(Random, StreamsAndSeedsDiffer) {
  EXPECT_NE(klab::uniform01(1, 1, 0), klab::uniform01(1, 2, 0));
  EXPECT_NE(klab::uniform01(1, 1, 0), klab::uniform01(2, 1, 0));
  EXPECT_NE(klab::uniform01(1, 1, 0), klab::uniform01(1, 1, 1));
}
