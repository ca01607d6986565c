// The elementwise stage on every compiled space against a host reference.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "stage_test_helpers.hpp"
#include "stages/elementwise/elementwise.hpp"
#include "test_spaces.hpp"

namespace {

template <class ExecSpace>
class ElementwiseOnSpace : public ::testing::Test {};
TYPED_TEST_SUITE(ElementwiseOnSpace, klab::testing::CompiledSpaces);

TYPED_TEST(ElementwiseOnSpace, KernelMatchesHostSumOnFreshRandomInputs) {
  using ExecSpace = TypeParam;
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(-1e3, 1e3);
  for (const std::int64_t n : {1, 13, 1000, 65537}) {
    klab::stages::Vector<ExecSpace> a("a", n), b("b", n), c("c", n);
    auto ha = Kokkos::create_mirror_view(a);
    auto hb = Kokkos::create_mirror_view(b);
    for (std::int64_t i = 0; i < n; ++i) {
      ha(i) = uniform(engine);
      hb(i) = uniform(engine);
    }
    Kokkos::deep_copy(a, ha);
    Kokkos::deep_copy(b, hb);
    Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN());
    klab::stages::add_vectors(ExecSpace(), a, b, c);
    auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c);
    double max_rel = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double ref = ha(i) + hb(i);
      const double rel = std::fabs(hc(i) - ref) / std::max(std::fabs(ref), 1e-300);
      if (!(rel <= max_rel)) max_rel = rel;
    }
    // Addition is exactly rounded: the tolerance is one ulp.
    EXPECT_LE(max_rel, std::numeric_limits<double>::epsilon()) << "n " << n << ", seed " << seed;
  }
}

TYPED_TEST(ElementwiseOnSpace, StageRecordsEveryCaseAndVariantAndPasses) {
  using ExecSpace = TypeParam;
  const klab::Deck deck = klab::testing::parse_stage(
      klab::stages::elementwise_stage(),
      "    name: ew\n    sizes: [1, 17, 100000]\n    include_transfers: true\n    warmups: 1\n    repetitions: 3\n");
  std::vector<std::string> log;
  const auto records = klab::testing::run_stage(deck, klab::SpaceTraits<ExecSpace>::name, &log);

  EXPECT_EQ(log, (std::vector<std::string>{"N=1", "N=1 kernel", "N=1 kernel+transfers", "N=17", "N=17 kernel",
                                           "N=17 kernel+transfers", "N=100000", "N=100000 kernel",
                                           "N=100000 kernel+transfers"}));
  ASSERT_EQ(records.size(), 6u);
  for (const auto& r : records) {
    SCOPED_TRACE(r.case_label + " " + r.variant);
    EXPECT_TRUE(r.passed) << r.failure;
    EXPECT_EQ(r.error, 0.0);
    EXPECT_EQ(r.space, klab::SpaceTraits<ExecSpace>::name);
    EXPECT_EQ(r.stage, "ew");
    EXPECT_EQ(r.size_name, "N");
    EXPECT_EQ(r.time.count, 3);
    EXPECT_EQ(r.sampling.unit, "repetition");
    EXPECT_GT(r.time.min, 0.0);
    EXPECT_GT(r.setup_s, 0.0);
    EXPECT_EQ(r.transfer_s >= 0, klab::SpaceTraits<ExecSpace>::is_device);
    EXPECT_DOUBLE_EQ(r.bytes, 24.0 * r.size);
    EXPECT_DOUBLE_EQ(r.flops, r.size);
  }
  EXPECT_EQ(records[0].variant, "kernel");
  EXPECT_EQ(records[1].variant, "kernel+transfers");
}

TEST(Elementwise, EveryKeyChangesWhatRuns) {
  const auto cases = [](const std::string& entry) {
    return klab::testing::parse_stage(klab::stages::elementwise_stage(), entry).stages.at(0).cases;
  };
  const auto plain = cases("    sizes: [10, 20]\n");
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[1].label, "N=20");
  EXPECT_EQ(plain[0].variants.size(), 1u);
  EXPECT_EQ(cases("    sizes: [10]\n    include_transfers: true\n")[0].variants.size(), 2u);
  const auto sampled = cases("    sizes: [10]\n    warmups: 4\n    repetitions: 7\n");
  EXPECT_EQ(sampled[0].sampling.warmups, 4);
  EXPECT_EQ(sampled[0].sampling.count, 7);
}

TEST(Elementwise, ValidationCatchesAWrongOrMissingElement) {
  const std::uint64_t seed = 5;
  const std::size_t n = 100;
  Kokkos::View<double*, Kokkos::HostSpace> c("c", n);
  for (std::size_t i = 0; i < n; ++i)
    c(i) = klab::uniform01(seed, klab::stages::elementwise_stream_a, i) +
           klab::uniform01(seed, klab::stages::elementwise_stream_b, i);
  EXPECT_EQ(klab::stages::elementwise_deviation(c, seed).error(), 0.0);

  c(37) += 1e-9;
  klab::ResultRecord wrong;
  wrong.error = klab::stages::elementwise_deviation(c, seed).error();
  wrong.tolerance = std::numeric_limits<double>::epsilon();
  klab::judge(wrong);
  EXPECT_FALSE(wrong.passed);

  c(99) = std::numeric_limits<double>::quiet_NaN();  // an element never written
  klab::ResultRecord unwritten;
  unwritten.error = klab::stages::elementwise_deviation(c, seed).error();
  unwritten.tolerance = 1.0;
  klab::judge(unwritten);
  EXPECT_FALSE(unwritten.passed);
  EXPECT_NE(unwritten.failure.find("not a number"), std::string::npos);
}

}  // namespace
