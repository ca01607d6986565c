#pragma once
// The input deck: a `run` section and a list of `stages`, validated strictly before anything runs.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"

namespace YAML {
class Node;
}
#include "core/stage.hpp"
#include "core/timing.hpp"

namespace klab {

struct RunSettings {
  std::string name;
  std::vector<std::string> spaces;  // in the order the report shows them
  std::string baseline;             // the space ratios are taken against
  RepeatSettings repeat;
  std::uint64_t seed = 0;
  // The rank counts each case runs on, in order (a scaling study: the first R ranks of the job for
  // each R); by default the job's.
  std::vector<int> ranks;
  // The deck error `klab run` reports when a rank count exceeds this job's ranks (empty: none);
  // `klab validate` accepts it, since a deck may be meant for a larger launch.
  std::string ranks_beyond_job;
  std::string collectives = "mpi";  // on several ranks, how a GPU's memory is summed: "mpi" or "nccl"
  std::string json_path;            // empty: not written
  std::string csv_path;
};

struct StageEntry {
  std::string label;   // unique within the deck
  std::string type;    // registered stage name
  std::string where;   // file:line:column of the entry
  RepeatSettings repeat;
  // "strong": every rank count runs the deck's sizes; "weak": the sizes are each rank's share, and
  // R ranks run cases R times as large (in the extent the stage splits over ranks).
  std::string scaling = "strong";
  std::vector<Case> cases;  // on the deck's sizes: one rank's under weak scaling
  std::map<int, std::vector<Case>> weak_cases;  // weak scaling: the cases of each rank count of the run

  // The cases that run on `ranks` ranks.
  const std::vector<Case>& cases_on(int ranks) const;
};

struct Deck {
  std::string path;
  std::string text;
  RunSettings run;
  std::vector<StageEntry> stages;
  std::shared_ptr<YAML::Node> resolved;  // the deck as read, every default filled in
};

// The deck as YAML with every default filled in, and the spaces and baseline it runs with:
// `klab run` on it runs the same cases.
std::string resolved_deck_yaml(const Deck& deck);

// The resolved deck kept in a results file (`klab deck RESULTS.json`). Throws std::runtime_error
// when the file holds none.
std::string resolved_deck_of_results(const std::string& results_path);

// Throws DeckError naming file:line:column, the key path and what was expected.
Deck parse_deck(const std::string& text, const std::string& path, const StageRegistry& registry);
Deck load_deck(const std::string& path, const StageRegistry& registry);

}  // namespace klab
