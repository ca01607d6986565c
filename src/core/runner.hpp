#pragma once
// Runs a validated deck: every stage on every space of its run section, then the reports.
#include <iosfwd>
#include <string>

#include "core/comm.hpp"
#include "core/deck.hpp"

namespace klab {

struct RunOptions {
  std::string json_path;  // overrides the deck's run.output.json when not empty
  std::string csv_path;
  bool verbose = false;
  bool log_is_terminal = false;  // progress lines are rewritten in place, not added
};

// The results files a run writes: the command line's, else the deck's; empty: none.
struct OutputPaths {
  std::string json, csv;
};
OutputPaths output_paths(const Deck& deck, const RunOptions& options);

// Checks before anything runs that the results files can be written (core/output.hpp) and that
// neither is the deck or the other; throws std::invalid_argument.
void check_outputs(const Deck& deck, const RunOptions& options);

// Exit status of a run: 0 when every record passed; 1 when any failed, a results file could not be
// written (the other one still is) or the standard output was closed before the table was
// printed; 128 + the signal's number when SIGINT or SIGTERM arrived at any time before the files
// were written (the records of the cases that completed are written, marked "interrupted"; see
// core/interrupt.hpp).
// On several ranks (`comm`), every rank runs the deck in step and rank 0 alone prints (give the
// others streams that discard) and writes the results files.
int run_deck(const Deck& deck, const RunOptions& options, std::ostream& out, std::ostream& log,
             const Communicator& comm = {});

}  // namespace klab
