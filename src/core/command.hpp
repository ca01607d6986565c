#pragma once
// klab's command line: its verbs and options, and the Kokkos options and environment that would
// make Kokkos::initialize throw or crash, checked before Kokkos starts.
#include <functional>
#include <string>
#include <vector>

#include "core/runner.hpp"

namespace klab {

struct Command {
  std::string verb;     // run, validate, deck, plot, info or help
  std::string deck;
  std::string results;  // the results file of `klab deck` and `klab plot`
  std::string out_dir;  // --out of `klab plot`
  std::string spaces;   // comma-separated override of the deck's run.spaces
  std::string collectives;  // override of the deck's run.collectives (mpi or nccl)
  RunOptions options;
  bool kokkos_sets_threads = false;  // a Kokkos option or KOKKOS_NUM_THREADS / OMP_NUM_THREADS sets them
  bool kokkos_sets_device = false;   // a Kokkos option or KOKKOS_DEVICE_ID picks the GPU
};

// Reads a variable of the environment: nullptr when it is not set.
using EnvironmentLookup = std::function<const char*(const char*)>;

// Parses the arguments after the program's name. Kokkos's own (--kokkos-*) are checked (a known
// option with a value of the right kind, a thread count Kokkos can run) and left for Kokkos, as
// are the thread counts of the environment (KOKKOS_NUM_THREADS, OMP_NUM_THREADS). Throws
// std::invalid_argument, its message one line, on any misuse.
Command parse_command(const std::vector<std::string>& args, const EnvironmentLookup& environment);

}  // namespace klab
