#pragma once
// Interruption of a run by SIGINT or SIGTERM. The handler only records the signal; the run checks
// for it where stopping is safe (as a case starts, between timed repetitions) and unwinds with
// Interrupted, so the records of the cases that completed are still written, whole.
#include <stdexcept>
#include <string>

namespace klab {

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Installs the handlers for SIGINT and SIGTERM. A second signal after the first ends the
// process at once, as the signal's default action would, after removing the file named by
// remove_on_forced_exit.
void install_interrupt_handlers();

// Names the file a second signal removes before it ends klab (a results file's temporary while
// it is written); nullptr: none. Call it with SIGINT and SIGTERM blocked, so that the handler
// never reads half a name.
void remove_on_forced_exit(const char* path);

// The signal received since the handlers were installed, or 0.
int interrupt_signal();

// Throws Interrupted when a signal was received.
void throw_if_interrupted();

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

// The exit status of a run that a signal interrupted: 128 + the signal's number (130 for SIGINT,
// 143 for SIGTERM), what a shell reports for a process the signal killed.
int interrupted_exit_status(int signal);

}  // namespace klab
