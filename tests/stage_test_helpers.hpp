#pragma once
// What the stage tests share: a deck of one entry of the stage under test, parsed with a registry
// of that stage alone, and cases run through the harness on one space.
#include <string>
#include <vector>

#include "core/deck.hpp"
#include "core/harness.hpp"

namespace klab::testing {

// `entry` holds the entry's keys after `stage:`, indented by four spaces; `run` extra keys of the
// run section, indented by two.
inline Deck parse_stage(const StageDefinition& definition, const std::string& entry, const std::string& run = "") {
  return parse_deck("run:\n  name: t\n" + run + "stages:\n  - stage: " + definition.name + "\n" + entry, "deck.yaml",
                    StageRegistry{definition});
}

// The records of `cases` of `stage`, run by the harness on `space`; `log` collects the progress lines.
inline std::vector<ResultRecord> run_cases(const StageIdentity& stage, const std::vector<Case>& cases,
                                           const std::string& space, std::vector<std::string>* log = nullptr) {
  std::vector<ResultRecord> records;
  Harness harness(
      records, [&](const std::string& line) { if (log) log->push_back(line); }, false);
  for (const Case& c : cases) harness.run_case(stage, c, space);
  return records;
}

// The records of every case of the deck's first entry on `space`.
inline std::vector<ResultRecord> run_stage(const Deck& deck, const std::string& space,
                                           std::vector<std::string>* log = nullptr) {
  const StageEntry& entry = deck.stages.at(0);
  return run_cases({entry.label, entry.type}, entry.cases, space, log);
}

}  // namespace klab::testing
