// Ratios, crossovers, the results formats and atomic writes.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/report.hpp"

namespace {

klab::ResultRecord timed(const std::string& space, double size, double median) {
  klab::ResultRecord r;
  r.stage = "s";
  r.stage_type = "elementwise";
  r.variant = "kernel";
  r.space = space;
  r.case_label = "N=" + std::to_string(static_cast<long long>(size));
  r.size = size;
  r.time = klab::summarize({median});
  r.bytes = 24 * size;
  r.passed = true;
  return r;
}

// A sweep where the "device" loses at small sizes and wins from N=1000 on.
std::vector<klab::ResultRecord> sweep() {
  return {timed("host", 10, 1e-6), timed("device", 10, 8e-6),     timed("host", 100, 2e-6),
          timed("device", 100, 8e-6), timed("host", 1000, 2e-5), timed("device", 1000, 9e-6),
          timed("host", 10000, 2e-4), timed("device", 10000, 1e-5)};
}

}  // namespace

TEST(Report, SpeedupIsBaselineTimeOverSpaceTime) {
  const auto records = sweep();
  const auto ratio = klab::speedups(records, "host");
  EXPECT_DOUBLE_EQ(ratio[0], 1.0);
  EXPECT_DOUBLE_EQ(ratio[1], 1e-6 / 8e-6);
  EXPECT_DOUBLE_EQ(ratio[7], 2e-4 / 1e-5);
  EXPECT_TRUE(std::isnan(klab::speedups(records, "absent")[0]));
}

TEST(Report, CrossoverIsTheSizeFromWhichTheWinnerStaysFaster) {
  const auto crossovers = klab::find_crossovers(sweep(), "host");
  ASSERT_EQ(crossovers.size(), 1u);
  EXPECT_EQ(crossovers[0].winner, "device");
  EXPECT_EQ(crossovers[0].loser, "host");
  EXPECT_EQ(crossovers[0].verdict, "from");
  ASSERT_TRUE(crossovers[0].from_case);
  EXPECT_EQ(*crossovers[0].from_case, "N=1000");
}

TEST(Report, CrossoverWhenTheBaselineWinsOrOneSpaceAlwaysWins) {
  auto records = sweep();
  // The baseline loses at N=10 only, then wins from N=100 on.
  for (auto& r : records)
    if (r.space == "device") r.time = klab::summarize({r.size == 10 ? 1e-9 : 1.0});
  auto c = klab::find_crossovers(records, "host");
  EXPECT_EQ(c[0].winner, "host");
  EXPECT_EQ(c[0].verdict, "from");
  EXPECT_EQ(*c[0].from_case, "N=100");
  for (auto& r : records)
    if (r.space == "device") r.time = klab::summarize({1e-9});
  c = klab::find_crossovers(records, "host");
  EXPECT_EQ(c[0].winner, "device");
  EXPECT_EQ(c[0].verdict, "always");
  EXPECT_FALSE(c[0].from_case);
}

TEST(Report, TableHasOneLinePerRecordAndFlagsFailures) {
  auto records = sweep();
  records[3].passed = false;
  records[3].failure = "validation error is not a number";
  std::ostringstream out;
  klab::print_table(out, records, "host");
  const std::string table = out.str();
  EXPECT_NE(table.find("host/space"), std::string::npos);
  EXPECT_NE(table.find("FAILED s N=100 kernel on device: validation error is not a number"), std::string::npos);
  EXPECT_NE(table.find("crossover s/kernel: device is faster than host from N=1000 up"), std::string::npos);
  EXPECT_NE(table.find("20.00x"), std::string::npos);  // 2e-4 / 1e-5
}

TEST(Report, JsonParsesAndCarriesTheSchema) {
  klab::RunDescription run{"t", "host", klab::Json::object().set("cpu_model", "x"),
                           klab::Json::object().set("text", "run:\n  name: \"t\"\n")};
  auto records = sweep();
  records[0].error = std::nan("");
  const YAML::Node doc = YAML::Load(klab::results_json(run, records).dump());
  EXPECT_EQ(doc["schema"].as<std::string>(), "klab-results");
  EXPECT_EQ(doc["schema_version"].as<int>(), klab::results_schema_version);
  EXPECT_EQ(doc["deck"]["text"].as<std::string>(), "run:\n  name: \"t\"\n");
  ASSERT_EQ(doc["records"].size(), records.size());
  EXPECT_TRUE(doc["records"][0]["error"].IsNull());  // NaN is written as null
  EXPECT_DOUBLE_EQ(doc["records"][7]["speedup_vs_baseline"].as<double>(), 20.0);
  EXPECT_EQ(doc["crossovers"][0]["from_case"].as<std::string>(), "N=1000");
}

TEST(Report, CsvHasHeaderAndOneRowPerRecord) {
  const auto records = sweep();
  const std::string csv = klab::results_csv(records, "host");
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("stage,stage_type,variant,space,case,size,", 0), 0u);
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, static_cast<int>(records.size()));
}

TEST(Report, SecondsAreFormattedWithUnits) {
  EXPECT_EQ(klab::format_seconds(5e-9), "5.0 ns");
  EXPECT_EQ(klab::format_seconds(7.8e-6), "7.80 us");
  EXPECT_EQ(klab::format_seconds(0.281e-3), "281.00 us");
  EXPECT_EQ(klab::format_seconds(0.0196), "19.600 ms");
  EXPECT_EQ(klab::format_seconds(2.5), "2.500 s");
}

TEST(Report, AScalingStudyHasSpeedupAndEfficiencyAgainstItsFewestRanks) {
  const auto on = [](int ranks, const std::string& space, double median) {
    klab::ResultRecord r = timed(space, 1000, median);
    r.ranks = ranks;
    return r;
  };
  std::vector<klab::ResultRecord> records = {on(2, "host", 4.0), on(4, "host", 2.5), on(1, "device", 1.0),
                                             on(2, "host", 8.0)};
  records[3].case_label = "N=2000";  // on one rank count only: no study
  klab::note_scaling(records);
  EXPECT_EQ(records[0].scaling_base_ranks, 2);
  EXPECT_DOUBLE_EQ(records[0].speedup, 1.0);
  EXPECT_DOUBLE_EQ(records[0].efficiency, 1.0);
  EXPECT_DOUBLE_EQ(records[1].speedup, 1.6);
  EXPECT_DOUBLE_EQ(records[1].efficiency, 0.8);
  EXPECT_LT(records[2].speedup, 0);  // another space
  EXPECT_LT(records[3].speedup, 0);

  // Ratios between spaces and crossovers compare records of the same rank count only.
  std::ostringstream table;
  klab::print_table(table, records, "host");
  EXPECT_NE(table.str().find("ranks"), std::string::npos);
  EXPECT_NE(table.str().find("1.60x 80%"), std::string::npos) << table.str();
  const auto ratio = klab::speedups(records, "host");
  EXPECT_TRUE(std::isnan(ratio[2]));  // no host record on one rank
}
