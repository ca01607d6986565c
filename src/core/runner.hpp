#pragma once
// Runs a validated deck: every stage on every space of its run section, then the reports.
#include <iosfwd>
#include <string>

#include "core/deck.hpp"

namespace klab {

struct RunOptions {
  std::string json_path;  // overrides the deck's run.output.json when not empty
  std::string csv_path;
  bool verbose = false;
  bool log_is_terminal = false;  // progress lines are rewritten in place, not added
};

// Exit status of a run: 0 when every record passed, 1 when any failed, 128 + the signal's number
// when SIGINT or SIGTERM interrupted it (the records of the cases that completed are written,
// marked "interrupted"; see core/interrupt.hpp).
int run_deck(const Deck& deck, const RunOptions& options, std::ostream& out, std::ostream& log);

}  // namespace klab
