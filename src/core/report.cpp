#include "core/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace klab {

namespace {

bool same_case(const ResultRecord& a, const ResultRecord& b) {
  return a.stage == b.stage && a.variant == b.variant && a.case_label == b.case_label && a.ranks == b.ranks;
}

const ResultRecord* find_on(const std::vector<ResultRecord>& records, const ResultRecord& like, const std::string& space) {
  for (const auto& r : records)
    if (r.space == space && same_case(r, like) && r.time.count > 0) return &r;
  return nullptr;
}

std::string format_number(double value, const char* format) {
  if (!std::isfinite(value)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

// The rate that bounds the record: GB/s below one FLOP per byte (memory-bound on every machine
// klab runs on), GFLOP/s above.
std::string rate_text(const ResultRecord& r) {
  if (r.bytes > 0 && r.flops < r.bytes) return format_number(r.gigabytes_per_second(), "%.2f GB/s");
  if (r.flops > 0) return format_number(r.gigaflops_per_second(), "%.2f GFLOP/s");
  return "-";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds < 1e-6) return format_number(seconds * 1e9, "%.1f ns");
  if (seconds < 1e-3) return format_number(seconds * 1e6, "%.2f us");
  if (seconds < 1.0) return format_number(seconds * 1e3, "%.3f ms");
  return format_number(seconds, "%.3f s");
}

std::vector<double> speedups(const std::vector<ResultRecord>& records, const std::string& baseline) {
  std::vector<double> out;
  for (const auto& r : records) {
    const ResultRecord* base = find_on(records, r, baseline);
    out.push_back(base && r.time.median > 0 ? base->time.median / r.time.median
                                            : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

std::vector<Crossover> find_crossovers(const std::vector<ResultRecord>& records, const std::string& baseline) {
  // Groups (stage, variant, space, ranks) in order of first appearance.
  std::vector<std::tuple<std::string, std::string, std::string, int>> groups;
  for (const auto& r : records) {
    const auto key = std::make_tuple(r.stage, r.variant, r.space, r.ranks);
    if (r.space != baseline && std::find(groups.begin(), groups.end(), key) == groups.end()) groups.push_back(key);
  }
  std::vector<Crossover> out;
  for (const auto& [stage, variant, space, ranks] : groups) {
    // (size, case, space faster?) over the cases measured on both spaces.
    std::vector<std::tuple<double, std::string, bool>> sweep;
    for (const auto& r : records) {
      if (r.stage != stage || r.variant != variant || r.space != space || r.ranks != ranks || r.time.count == 0)
        continue;
      if (const ResultRecord* base = find_on(records, r, baseline))
        sweep.emplace_back(r.size, r.case_label, r.time.median < base->time.median);
    }
    std::sort(sweep.begin(), sweep.end());
    if (sweep.size() < 2) continue;
    const bool space_wins = std::get<2>(sweep.back());
    Crossover c{stage, variant, space_wins ? space : baseline, space_wins ? baseline : space, "", std::nullopt, ""};
    std::size_t first = sweep.size() - 1;  // the smallest index from which the winner stays faster
    while (first > 0 && std::get<2>(sweep[first - 1]) == space_wins) --first;
    const std::string range = "(" + std::get<1>(sweep.front()) + " .. " + std::get<1>(sweep.back()) + ")";
    if (first == 0) {
      c.verdict = "always";
      c.summary = c.winner + " is faster than " + c.loser + " at every size " + range;
    } else {
      c.verdict = "from";
      c.from_case = std::get<1>(sweep[first]);
      c.summary = c.winner + " is faster than " + c.loser + " from " + *c.from_case + " up " + range;
    }
    c.summary = stage + "/" + variant + (ranks > 1 ? " on " + std::to_string(ranks) + " ranks" : "") + ": " + c.summary;
    out.push_back(std::move(c));
  }
  return out;
}

void note_scaling(std::vector<ResultRecord>& records) {
  for (auto& r : records) {
    const ResultRecord* base = nullptr;
    bool several = false;
    for (const auto& other : records) {
      if (other.stage != r.stage || other.variant != r.variant || other.case_label != r.case_label ||
          other.space != r.space || other.time.count == 0)
        continue;
      several = several || other.ranks != r.ranks;
      if (!base || other.ranks < base->ranks) base = &other;
    }
    if (!several || !base || r.time.count == 0 || !(r.time.median > 0)) continue;
    r.scaling_base_ranks = base->ranks;
    const double ratio = base->time.median / r.time.median, added = static_cast<double>(r.ranks) / base->ranks;
    r.speedup = r.scaling == "weak" ? ratio * added : ratio;
    r.efficiency = r.scaling == "weak" ? ratio : ratio / added;
  }
}

void print_table(std::ostream& out, const std::vector<ResultRecord>& records, const std::string& baseline) {
  const std::vector<double> ratio = speedups(records, baseline);
  // Runs on several ranks show them, and a scaling study its speed-up and efficiency.
  const bool ranked = std::any_of(records.begin(), records.end(), [](const ResultRecord& r) { return r.ranks > 1; });
  const bool scaling = std::any_of(records.begin(), records.end(), [](const ResultRecord& r) { return r.speedup >= 0; });
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"stage", "case", "variant", "space", "min", "median", "max", "rate", baseline + "/space", "error",
                  "check"});
  if (scaling) rows.back().insert(rows.back().begin() + 9, "scaling");
  if (ranked) rows.back().insert(rows.back().begin() + 4, "ranks");
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ResultRecord& r = records[i];
    const bool timed = r.time.count > 0;
    rows.push_back({r.stage, r.case_label, r.variant, r.space, timed ? format_seconds(r.time.min) : "-",
                    timed ? format_seconds(r.time.median) : "-", timed ? format_seconds(r.time.max) : "-",
                    timed ? rate_text(r) : "-", format_number(ratio[i], "%.2fx"), format_number(r.error, "%.1e"),
                    r.passed ? "ok" : "FAILED"});
    if (scaling)
      rows.back().insert(rows.back().begin() + 9, r.speedup < 0 ? "-"
                                                                : format_number(r.speedup, "%.2fx ") +
                                                                      format_number(100 * r.efficiency, "%.0f%%") +
                                                                      (r.scaling == "weak" ? " weak" : ""));
    if (ranked) rows.back().insert(rows.back().begin() + 4, std::to_string(r.ranks));
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      // Text columns align left, numbers right.
      const bool left = c < 4 || c == rows[i].size() - 1;
      const std::string pad(width[c] - rows[i][c].size(), ' ');
      line += (c ? "  " : "") + (left ? rows[i][c] + pad : pad + rows[i][c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
    if (i == 0) out << std::string(line.size(), '-') << "\n";
  }
  for (const auto& r : records)
    if (!r.passed) out << "FAILED " << r.stage << " " << r.case_label << " " << r.variant << " on " << r.space << ": "
                       << r.failure << "\n";
  for (const auto& c : find_crossovers(records, baseline)) out << "crossover " << c.summary << "\n";
}

Json results_json(const RunDescription& run, const std::vector<ResultRecord>& records) {
  const std::vector<double> ratio = speedups(records, run.baseline);
  const auto known_seconds = [](double seconds) { return seconds < 0 ? Json() : Json(seconds); };  // < 0: none
  Json list = Json::array();
  bool all_passed = true;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ResultRecord& r = records[i];
    all_passed = all_passed && r.passed;
    Json notes = Json::object();
    for (const auto& [key, value] : r.notes) notes.set(key, value);
    Json metrics = Json::object();
    for (const auto& [key, value] : r.metrics) metrics.set(key, value);
    Json series = Json::object();
    for (const auto& [key, values] : r.series) series.set(key, Json::array(values));
    Json record = Json::object();
    record.set("stage", r.stage)
        .set("stage_type", r.stage_type)
        .set("variant", r.variant)
        .set("space", r.space)
        .set("case", r.case_label)
        .set("size_name", r.size_name)
        .set("size", r.size)
        .set("sampling", Json::object()
                             .set("unit", r.sampling.unit)
                             .set("count", r.sampling.count)
                             .set("warmups", r.sampling.warmups))
        .set("setup_s", r.setup_s)
        .set("transfer_s", known_seconds(r.transfer_s))
        .set("time_s", Json::object()
                           .set("count", r.time.count)
                           .set("min", r.time.min)
                           .set("median", r.time.median)
                           .set("mean", r.time.mean)
                           .set("max", r.time.max)
                           .set("stddev", r.time.stddev)
                           .set("samples", Json::array(r.time.samples)))
        .set("bytes", r.bytes)
        .set("flops", r.flops)
        .set("gb_per_s", r.gigabytes_per_second())
        .set("gflop_per_s", r.gigaflops_per_second())
        .set("speedup_vs_baseline", ratio[i])
        .set("check", r.check)
        .set("error", r.error)
        .set("tolerance", r.tolerance)
        .set("passed", r.passed)
        .set("failure", r.failure)
        .set("notes", std::move(notes))
        .set("metrics", std::move(metrics))
        .set("series", std::move(series));
    if (r.ranks > 1 || r.speedup >= 0) {
      Json ranks = Json::object().set("count", r.ranks);
      if (r.ranks > 1)
        ranks.set("fastest_rank_median_s", known_seconds(r.fastest_rank_median_s))
            .set("communication_s", known_seconds(r.communication_s))
            .set("collectives", r.collectives);
      if (r.speedup >= 0)
        ranks.set("scaling", Json::object()
                                 .set("kind", r.scaling)
                                 .set("base_ranks", r.scaling_base_ranks)
                                 .set("speedup", r.speedup)
                                 .set("efficiency", r.efficiency));
      record.set("ranks", std::move(ranks));
    }
    list.push(std::move(record));
  }
  Json crossovers = Json::array();
  for (const auto& c : find_crossovers(records, run.baseline))
    crossovers.push(Json::object()
                        .set("stage", c.stage)
                        .set("variant", c.variant)
                        .set("winner", c.winner)
                        .set("loser", c.loser)
                        .set("verdict", c.verdict)
                        .set("from_case", c.from_case ? Json(*c.from_case) : Json())
                        .set("summary", c.summary));
  return Json::object()
      .set("schema", "klab-results")
      .set("schema_version", results_schema_version)
      .set("created_utc", utc_now())
      .set("run", run.name)
      .set("baseline_space", run.baseline)
      // An interrupted run is not a passing one, whatever its completed records say.
      .set("all_passed", all_passed && run.interrupted_by.empty())
      .set("interrupted", !run.interrupted_by.empty())
      .set("interrupted_by", run.interrupted_by.empty() ? Json() : Json(run.interrupted_by))
      .set("machine", run.machine)
      .set("deck", run.deck)
      .set("records", std::move(list))
      .set("crossovers", std::move(crossovers));
}

std::string results_csv(const std::vector<ResultRecord>& records, const std::string& baseline) {
  const std::vector<double> ratio = speedups(records, baseline);
  std::ostringstream out;
  out.precision(17);
  out << "stage,stage_type,variant,space,case,size,sample_unit,count,setup_s,transfer_s,min_s,median_s,mean_s,max_s,stddev_s,bytes,flops,gb_per_s,"
         "gflop_per_s,speedup_vs_"
      << baseline << ",error,tolerance,passed,failure\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ResultRecord& r = records[i];
    out << csv_field(r.stage) << "," << csv_field(r.stage_type) << "," << csv_field(r.variant) << ","
        << csv_field(r.space) << "," << csv_field(r.case_label) << "," << r.size << "," << r.sampling.unit << "," << r.time.count << ","
        << r.setup_s << ",";
    if (r.transfer_s >= 0) out << r.transfer_s;
    out << ","
        << r.time.min << "," << r.time.median << "," << r.time.mean << "," << r.time.max << "," << r.time.stddev << ","
        << r.bytes << "," << r.flops << "," << r.gigabytes_per_second() << "," << r.gigaflops_per_second() << ","
        << (std::isfinite(ratio[i]) ? std::to_string(ratio[i]) : "") << "," << r.error << "," << r.tolerance << ","
        << (r.passed ? "true" : "false") << "," << csv_field(r.failure) << "\n";
  }
  return out.str();
}

}  // namespace klab
