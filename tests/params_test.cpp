// The scalar parsers and the typo suggestions behind the deck's error messages.
#include <gtest/gtest.h>

#include "core/params.hpp"

TEST(Params, IntegersAcceptUnderscoresAndExactExponents) {
  EXPECT_EQ(klab::parse_integer("1000"), 1000);
  EXPECT_EQ(klab::parse_integer("100_000_000"), 100000000);
  EXPECT_EQ(klab::parse_integer("1e8"), 100000000);
  EXPECT_EQ(klab::parse_integer("-7"), -7);
  EXPECT_FALSE(klab::parse_integer("1.5"));
  EXPECT_FALSE(klab::parse_integer("1e-3"));
  EXPECT_FALSE(klab::parse_integer("_1"));
  EXPECT_FALSE(klab::parse_integer("ten"));
  EXPECT_FALSE(klab::parse_integer(""));
  EXPECT_FALSE(klab::parse_integer("1e30"));  // beyond 64 bits
}

TEST(Params, RealsRejectNonFiniteAndTrailingText) {
  EXPECT_EQ(klab::parse_real("0.25"), 0.25);
  EXPECT_EQ(klab::parse_real("1e-3"), 1e-3);
  EXPECT_FALSE(klab::parse_real("nan"));
  EXPECT_FALSE(klab::parse_real("inf"));
  EXPECT_FALSE(klab::parse_real("1.0x"));
}

TEST(Params, BooleansAreYamlWords) {
  EXPECT_EQ(klab::parse_boolean("true"), true);
  EXPECT_EQ(klab::parse_boolean("off"), false);
  EXPECT_FALSE(klab::parse_boolean("1"));
}

TEST(Params, NearestWordSuggestsOnlyCloseMatches) {
  const std::vector<std::string> keys = {"sizes", "repetitions", "warmups", "include_transfers"};
  EXPECT_EQ(klab::nearest_word("size", keys), "sizes");
  EXPECT_EQ(klab::nearest_word("repetiton", keys), "repetitions");
  EXPECT_EQ(klab::nearest_word("include_transfer", keys), "include_transfers");
  EXPECT_EQ(klab::nearest_word("colour", keys), "");
}
