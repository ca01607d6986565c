#include "core/interrupt.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace klab {

namespace {

volatile std::sig_atomic_t received_signal = 0;
char forced_exit_removes[PATH_MAX + 16] = {};  // empty: nothing

void record_signal(int signal) {
  if (received_signal != 0) {
    // Asked twice: stop waiting for a safe point. unlink is async-signal-safe.
    if (forced_exit_removes[0]) ::unlink(forced_exit_removes);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  received_signal = signal;
}

}  // namespace

Interrupted::Interrupted(int signal)
    : std::runtime_error("interrupted by " + signal_name(signal)), signal_(signal) {}

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a blocking write or read in progress carries on
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void remove_on_forced_exit(const char* path) {
  if (!path || std::strlen(path) >= sizeof forced_exit_removes) {
    forced_exit_removes[0] = '\0';
    return;
  }
  std::strcpy(forced_exit_removes, path);
}

int interrupt_signal() { return received_signal; }

void throw_if_interrupted() {
  if (const int signal = received_signal) throw Interrupted(signal);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal " + std::to_string(signal);
  }
}

int interrupted_exit_status(int signal) { return 128 + signal; }

}  // namespace klab
