// klab: runs the stages of a YAML deck on every execution space compiled in, side by side.
//
// Exit status: 0 success; 1 a stage failed validation or a run error; 2 a deck or usage error
// (nothing is run or written); 130 / 143 the run was interrupted by SIGINT / SIGTERM (the records
// of the cases that completed are written, marked "interrupted"). `klab plot` exits with
// plot.py's status (0, or 2 on an error), or 2 when no Python with matplotlib is found.
#include <Kokkos_Core.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "core/comm.hpp"
#include "core/command.hpp"
#include "core/deck.hpp"
#include "core/interrupt.hpp"
#include "core/machine.hpp"
#include "core/runner.hpp"
#include "core/spaces.hpp"
#include "stages/registry.hpp"

extern char** environ;  // the environment klab passes on to Python

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

void print_usage(std::ostream& out) {
  out << "usage: klab run DECK [--json PATH] [--csv PATH] [--spaces LIST] [--collectives mpi|nccl] [--verbose]\n"
         "       klab validate DECK\n"
         "       klab deck RESULTS.json      prints the deck a results file ran, every default filled in\n"
         "       klab plot RESULTS.json [--out DIR]\n"
         "                                   PNGs and a report, DIR/index.md (default DIR: <stem>-plots/ beside it)\n"
         "       klab info [--verbose]\n"
         "       klab --help\n"
         "\n"
         "--spaces openmp,cuda runs only those spaces (compiled in) instead of the deck's.\n"
         "--collectives nccl sums GPU memory over MPI ranks with NCCL (where compiled in) instead of the deck's\n"
         "run.collectives (mpi: through host memory).\n"
         "Kokkos options (--kokkos-num-threads=N, on Kokkos 3.4 --kokkos-threads=N; --kokkos-device-id=N, ...)\n"
         "pass through to Kokkos; KOKKOS_NUM_THREADS=N in the environment works with every version.\n"
         "plot runs src/tools/plot.py on the first Python that has matplotlib: $KLAB_PLOT_PYTHON alone if set,\n"
         "else " KLAB_CONFIGURED_PLOT_PYTHON ", else python3 on PATH.\n"
         "Kokkos options, KOKKOS_NUM_THREADS and OMP_NUM_THREADS are checked first: an unknown option or a count\n"
         "Kokkos cannot run is a usage error. Results files are checked before the run (a folder, a read-only\n"
         "file, the deck itself: usage errors); /dev/null or a FIFO is written directly, a file replaced whole.\n"
         "Exit status: 0 ok, 1 a stage failed its check or could not run, a results file could not be written\n"
         "or stdout was closed, 2 a deck or usage error (nothing runs), 130 or 143 interrupted by SIGINT or\n"
         "SIGTERM at any time (completed cases are written, marked \"interrupted\");\n"
         "plot: plot.py's status (0, or 2 on an error), 2 when no Python has matplotlib.\n"
         "\nstages:\n";
  for (const auto& stage : klab::stage_registry()) out << "  " << stage.name << "  " << stage.summary << "\n";
}

// Replaces the deck's spaces with a comma-separated list; the baseline stays if still listed.
void override_spaces(klab::Deck& deck, const std::string& list) {
  const std::vector<std::string> compiled = klab::compiled_space_names();
  std::vector<std::string> spaces;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    if (std::find(compiled.begin(), compiled.end(), name) == compiled.end())
      throw std::invalid_argument("--spaces: '" + name + "' is not a space compiled into this build");
    if (std::find(spaces.begin(), spaces.end(), name) != spaces.end())
      throw std::invalid_argument("--spaces: '" + name + "' is listed twice");
    spaces.push_back(name);
    start = comma + 1;
  }
  if (std::find(spaces.begin(), spaces.end(), deck.run.baseline) == spaces.end()) deck.run.baseline = spaces.front();
  deck.run.spaces = spaces;
}

// What the command line changes in the deck's run section: --spaces and --collectives.
void override_run(klab::Deck& deck, const klab::Command& command) {
  if (!command.spaces.empty()) override_spaces(deck, command.spaces);
  if (command.collectives.empty()) return;
  if (command.collectives == "nccl" && !klab::nccl_compiled())
    throw std::invalid_argument("--collectives nccl: NCCL is not compiled into this build (klab info, 'Ranks')");
  deck.run.collectives = command.collectives;
}

// Runs `program` (a path, or a name looked up on PATH) with `args` and klab's environment, its
// output discarded when `quiet`, and waits for it. Returns its exit status, 128 + the signal that
// ended it, or 127 when it could not be started (as a shell would). No shell: paths pass as they are.
int run_program(const std::string& program, const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  pid_t child = 0;
  const int error = posix_spawnp(&child, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return 127;
  int raw = 0;
  while (::waitpid(child, &raw, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

// `klab plot`: src/tools/plot.py on the first Python that can import matplotlib, so that a pyenv
// or venv python3 first on PATH, which usually has none, is no obstacle. $KLAB_PLOT_PYTHON, when
// set, is the only one tried: a Python chosen on purpose is not silently replaced by another.
// Otherwise the one CMake configured (KLAB_PLOT_PYTHON, /usr/bin/python3 by default), then
// python3 on PATH. Returns plot.py's exit status; its output is klab's.
int plot_results(const std::string& results, const std::string& out_dir) {
  if (!std::filesystem::exists(KLAB_PLOT_SCRIPT)) {
    std::cerr << "klab: error: " << KLAB_PLOT_SCRIPT
              << " is missing: klab plots with the source tree it was built from\n";
    return exit_usage;
  }
  const char* chosen = std::getenv("KLAB_PLOT_PYTHON");
  const std::vector<std::string> pythons =
      chosen && *chosen ? std::vector<std::string>{chosen}
                        : std::vector<std::string>{KLAB_CONFIGURED_PLOT_PYTHON, "python3"};
  std::string tried;
  for (const auto& python : pythons) {
    if (run_program(python, {"-c", "import matplotlib"}, true) == 0) {
      std::vector<std::string> args{KLAB_PLOT_SCRIPT, results};
      if (!out_dir.empty()) args.insert(args.end(), {"--out", out_dir});
      return run_program(python, args, false);
    }
    tried += (tried.empty() ? "" : ", ") + python;
  }
  std::cerr << "klab: error: no Python with matplotlib found (tried: " << tried
            << "); install python3-matplotlib or set KLAB_PLOT_PYTHON\n";
  return exit_usage;
}

}  // namespace

int main(int argc, char* argv[]) {
  klab::Command command;
  try {
    command = klab::parse_command(std::vector<std::string>(argv + 1, argv + argc), std::getenv);
  } catch (const std::exception& e) {
    std::cerr << "klab: error: " << e.what() << "\n";
    print_usage(std::cerr);
    return exit_usage;
  }
  if (command.verb == "help") {
    print_usage(std::cout);
    return 0;
  }
  // plot and deck start no Kokkos, so they come before the restart below: Python gets the
  // user's environment, not the OpenMP binding of a run, and neither pays for a second start.
  if (command.verb == "plot") return plot_results(command.results, command.out_dir);
  if (command.verb == "deck") {
    try {
      std::cout << klab::resolved_deck_of_results(command.results);
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "klab: error: " << e.what() << "\n";
      return exit_usage;
    }
  }
  // Under mpirun, one process per rank: each takes its GPU and its share of the cores before the
  // restart (whose OpenMP binding would hide how the launcher placed it) and before Kokkos starts.
  if (klab::MpiSession::launched_ranks() > 1)
    klab::MpiSession::assign_node_resources(command.kokkos_sets_threads, command.kokkos_sets_device);
  klab::restart_with_run_environment(argv);  // results record the OMP_* and OPENBLAS_* in effect
  // MPI starts. Rank 0 reads the deck and checks the outputs; the others take the deck's text
  // from it, and every rank ends with its verdict.
  const klab::MpiSession mpi(argc, argv);
  const klab::Communicator world = klab::Communicator::world();

  // Decks are validated before Kokkos starts: a bad deck costs nothing and writes nothing.
  klab::Deck deck;
  if (!command.deck.empty()) {
    int status = 0;
    std::string text;
    if (world.root()) {
      try {
        deck = klab::load_deck(command.deck, klab::stage_registry());
        override_run(deck, command);
        if (command.verb == "run" && !deck.run.ranks_beyond_job.empty()) {
          std::cerr << "klab: deck error: " << deck.run.ranks_beyond_job << "\n";
          status = exit_usage;
        } else if (command.verb == "run") {
          klab::check_outputs(deck, command.options);
        }
        text = deck.text;
      } catch (const klab::DeckError& e) {
        std::cerr << "klab: deck error: " << e.what() << "\n";
        status = exit_usage;
      } catch (const std::invalid_argument& e) {
        std::cerr << "klab: error: " << e.what() << "\n";
        status = exit_usage;
      } catch (const std::exception& e) {
        // Every deck error should be a DeckError with its location; this keeps any other a clean exit.
        std::cerr << "klab: deck error: " << command.deck << ": " << e.what() << "\n";
        status = exit_usage;
      }
    }
    world.broadcast(status);
    if (status != 0) return status;
    world.broadcast(text);
    if (!world.root()) {
      deck = klab::parse_deck(text, command.deck, klab::stage_registry());
      override_run(deck, command);
    }
  }
  if (command.verb == "validate") {
    if (world.root())
      std::cout << command.deck << ": ok (" << deck.stages.size() << " stage" << (deck.stages.size() == 1 ? "" : "s")
                << " on " << deck.run.spaces.size() << " space" << (deck.run.spaces.size() == 1 ? "" : "s") << ")\n";
    return 0;
  }

  Kokkos::ScopeGuard kokkos(argc, argv);
  try {
    std::ostream discarded(nullptr);  // what ranks other than 0 print
    std::ostream& out = world.root() ? std::cout : discarded;
    std::ostream& log = world.root() ? std::cerr : discarded;
    if (command.verb == "info") {
      klab::print_machine_info(out, klab::collect_machine_info(), command.options.verbose);
      return 0;
    }
    klab::install_interrupt_handlers();
    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout must not cost the results files (run_deck)
    command.options.log_is_terminal = ::isatty(STDERR_FILENO) == 1;
    return klab::run_deck(deck, command.options, out, log, world);
  } catch (const std::exception& e) {
    std::cerr << "klab: error: " << e.what() << "\n";
    return exit_failure;
  }
}
