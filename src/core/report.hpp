#pragma once
// Reports of a run: an aligned table for the terminal, a versioned JSON results file and CSV.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/results.hpp"

namespace klab {

// 2: records carry size_name, sampling, setup_s and transfer_s; the deck carries `resolved`.
constexpr int results_schema_version = 2;

// t(baseline) / t(record) for the record of the same stage, variant and case on the baseline
// space: the seed's "NumPy/CuPy Time" with the baseline in NumPy's place. NaN when absent.
std::vector<double> speedups(const std::vector<ResultRecord>& records, const std::string& baseline);

// Where, in a size sweep of one stage variant, the space that wins at the largest size (the
// "winner") starts to beat the other: the seed's "small N favours the CPU" made a number.
struct Crossover {
  std::string stage, variant, winner, loser;
  std::string verdict;                    // "from" or "always"
  std::optional<std::string> from_case;   // the smallest case from which the winner stays faster
  std::string summary;                    // one line for people
};
// One crossover for each space other than the baseline, against the baseline.
std::vector<Crossover> find_crossovers(const std::vector<ResultRecord>& records, const std::string& baseline);

// Fills speedup and efficiency of the records of each case (stage, case, variant, space) that ran
// on more than one rank count, against its fewest ranks (strong scaling: the same problem).
void note_scaling(std::vector<ResultRecord>& records);

void print_table(std::ostream& out, const std::vector<ResultRecord>& records, const std::string& baseline);

struct RunDescription {
  std::string name;
  std::string baseline;
  Json machine;
  Json deck;  // path, text and the parsed run settings
  std::string interrupted_by;  // the signal that stopped the run before its end ("SIGINT"), or empty
};
Json results_json(const RunDescription& run, const std::vector<ResultRecord>& records);
std::string results_csv(const std::vector<ResultRecord>& records, const std::string& baseline);

// "1.23 ms"-style duration.
std::string format_seconds(double seconds);

}  // namespace klab
