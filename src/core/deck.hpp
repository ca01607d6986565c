#pragma once
// The input deck: a `run` section and a list of `stages`, validated strictly before anything runs.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "core/stage.hpp"
#include "core/timing.hpp"

namespace klab {

struct RunSettings {
  std::string name;
  std::vector<std::string> spaces;  // in the order the report shows them
  std::string baseline;             // the space ratios are taken against
  RepeatSettings repeat;
  std::uint64_t seed = 0;
  std::string json_path;            // empty: not written
  std::string csv_path;
};

struct StageEntry {
  std::string label;   // unique within the deck
  std::string type;    // registered stage name
  std::string where;   // file:line:column of the entry
  RepeatSettings repeat;
  std::unique_ptr<Stage> stage;
};

struct Deck {
  std::string path;
  std::string text;
  RunSettings run;
  std::vector<StageEntry> stages;
};

// Throws DeckError naming file:line:column, the key path and what was expected.
Deck parse_deck(const std::string& text, const std::string& path, const StageRegistry& registry);
Deck load_deck(const std::string& path, const StageRegistry& registry);

}  // namespace klab
