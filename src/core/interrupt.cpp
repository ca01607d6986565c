#include "core/interrupt.hpp"

#include <signal.h>

#include <csignal>

namespace klab {

namespace {

volatile std::sig_atomic_t received_signal = 0;

void record_signal(int signal) {
  if (received_signal != 0) {
    // Asked twice: stop waiting for a safe point.
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
