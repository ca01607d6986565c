#include "core/command.hpp"

#include <cstdint>
#include <stdexcept>

#include "core/kokkos_core_compat.hpp"
#include "core/params.hpp"

namespace klab {

namespace {

bool listed(const char* const* names, const std::string& name) {
  for (; *names; ++names)
    if (name == *names) return true;
  return false;
}

std::vector<std::string> known_kokkos_options() {
  std::vector<std::string> known;
  for (const char* const* list : {compat::kokkos_count_options, compat::kokkos_index_options,
                                  compat::kokkos_text_options, compat::kokkos_flag_options})
    for (const char* const* name = list; *name; ++name) known.emplace_back(*name);
  return known;
}

// A whole number written with digits only (no sign, no spaces), or -1.
std::int64_t whole_number(const std::string& text) {
  if (text.empty() || text.size() > 9) return -1;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// A thread count from `where` (an option or a variable): 1 up to what Kokkos's OpenMP space can
// run, which it does not check itself (more threads write past its fixed per-thread slots).
std::int64_t thread_count(const std::string& text, const std::string& where) {
  const std::int64_t count = whole_number(text);
  if (count < 1) throw std::invalid_argument(where + ": '" + text + "' is not a number of threads (a whole number, 1 or more)");
  if (compat::openmp_max_threads > 0 && count > compat::openmp_max_threads)
    throw std::invalid_argument(where + ": " + text + " threads are more than Kokkos's OpenMP space can run (" +
                                std::to_string(compat::openmp_max_threads) + ")");
  return count;
}

// Checks one --kokkos-* argument; returns its thread count, or 0 when it sets none.
std::int64_t check_kokkos_option(const std::string& arg) {
  const std::size_t equals = arg.find('=');
  const std::string name = arg.substr(0, equals);
  const bool has_value = equals != std::string::npos;
  const std::string value = has_value ? arg.substr(equals + 1) : "";
  const auto needs_value = [&](const char* what) {
    if (!has_value || value.empty()) throw std::invalid_argument(name + " needs a value: " + name + "=" + what);
  };
  if (listed(compat::kokkos_count_options, name)) {
    needs_value("N");
    return thread_count(value, name);
  }
  if (listed(compat::kokkos_index_options, name)) {
    needs_value("N");
    if (whole_number(value) < 0) throw std::invalid_argument(name + ": '" + value + "' is not a whole number (0 or more)");
  } else if (listed(compat::kokkos_text_options, name)) {
    needs_value("VALUE");
  } else if (listed(compat::kokkos_flag_options, name)) {
    if (has_value) throw std::invalid_argument(name + " takes no value");
  } else {
    const std::string near = nearest_word(name, known_kokkos_options());
    throw std::invalid_argument("unknown Kokkos option '" + name + "'" +
                                (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                                "; klab --help lists how to set threads and devices");
  }
  return 0;
}

// The thread counts of the environment that Kokkos and the OpenMP runtime read at start-up.
void check_thread_environment(const EnvironmentLookup& environment, std::int64_t option_threads) {
  const char* kokkos = environment("KOKKOS_NUM_THREADS");
  if (kokkos) {
    const std::int64_t count = thread_count(kokkos, "KOKKOS_NUM_THREADS");
    if (option_threads > 0 && option_threads != count)  // Kokkos refuses the pair
      throw std::invalid_argument("KOKKOS_NUM_THREADS=" + std::string(kokkos) + " and the Kokkos thread option (" +
                                  std::to_string(option_threads) + ") disagree: set one of them");
  }
  // OMP_NUM_THREADS, a list of counts per nesting level, sets the OpenMP space's threads when no
  // other count is given; the runtime itself only warns about a value it cannot read.
  const char* omp = environment("OMP_NUM_THREADS");
  if (compat::openmp_max_threads == 0 || !omp || !*omp) return;
  const std::string list = omp;
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string level = list.substr(start, comma - start);
    if (whole_number(level) < 1)
      throw std::invalid_argument("OMP_NUM_THREADS: '" + list + "' is not a list of thread counts (e.g. 4 or 4,2)");
    if (start == 0 && !kokkos && option_threads == 0) thread_count(level, "OMP_NUM_THREADS");
    start = comma + 1;
  }
}

Command parse_arguments(const std::vector<std::string>& args, const EnvironmentLookup& environment) {
  Command command;
  std::vector<std::string> positional, kokkos_seen;
  std::vector<std::string> given;  // klab's options seen, each allowed once
  std::int64_t option_threads = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--kokkos-", 0) == 0) {
      const std::string name = arg.substr(0, arg.find('='));
      for (const auto& seen : kokkos_seen)
        if (seen == name) throw std::invalid_argument(name + " is given twice");
      kokkos_seen.push_back(name);
      if (const std::int64_t threads = check_kokkos_option(arg)) option_threads = threads;
      continue;
    }
    const auto value = [&](std::string& into) {
      for (const auto& seen : given)
        if (seen == arg) throw std::invalid_argument(arg + " is given twice");
      given.push_back(arg);
      if (i + 1 >= args.size()) throw std::invalid_argument(arg + " needs a value");
      into = args[++i];
      if (into.empty()) throw std::invalid_argument(arg + " needs a value, and '' is empty");
    };
    if (arg == "--help" || arg == "-h") {
      command.verb = "help";
    } else if (arg == "--json") {
      value(command.options.json_path);
    } else if (arg == "--csv") {
      value(command.options.csv_path);
    } else if (arg == "--spaces") {
      value(command.spaces);
    } else if (arg == "--collectives") {
      value(command.collectives);
      if (command.collectives != "mpi" && command.collectives != "nccl")
        throw std::invalid_argument("--collectives takes mpi or nccl, not '" + command.collectives + "'");
    } else if (arg == "--out") {
      value(command.out_dir);
    } else if (arg == "--verbose" || arg == "-v") {
      command.options.verbose = true;
    } else if (!arg.empty() && arg[0] == '-') {
      throw std::invalid_argument("unknown option '" + arg + "'");
    } else {
      positional.push_back(arg);
    }
  }
  check_thread_environment(environment, option_threads);
  const auto set = [&](const char* name) {
    const char* value = environment(name);
    return value && *value;
  };
  command.kokkos_sets_threads = option_threads > 0 || set("KOKKOS_NUM_THREADS") || set("OMP_NUM_THREADS");
  command.kokkos_sets_device = set("KOKKOS_DEVICE_ID");
  for (const auto& name : kokkos_seen)
    if (name == "--kokkos-device-id" || name == "--kokkos-device" || name == "--kokkos-num-devices" ||
        name == "--kokkos-ndevices" || name == "--kokkos-map-device-id-by")
      command.kokkos_sets_device = true;
  if (command.verb == "help") return command;
  if (positional.empty()) throw std::invalid_argument("missing command (run, validate, deck, plot or info)");
  command.verb = positional[0];
  if (command.verb == "run" || command.verb == "validate") {
    if (positional.size() != 2) throw std::invalid_argument(command.verb + " takes exactly one DECK");
    command.deck = positional[1];
  } else if (command.verb == "deck" || command.verb == "plot") {
    if (positional.size() != 2) throw std::invalid_argument(command.verb + " takes exactly one RESULTS.json");
    command.results = positional[1];
  } else if (command.verb == "info") {
    if (positional.size() != 1) throw std::invalid_argument("info takes no arguments");
  } else {
    throw std::invalid_argument("unknown command '" + command.verb + "'");
  }
  if (command.verb != "run" && (!command.options.json_path.empty() || !command.options.csv_path.empty() ||
                                !command.spaces.empty() || !command.collectives.empty()))
    throw std::invalid_argument("--json, --csv, --spaces and --collectives apply to run only");
  if (command.verb != "plot" && !command.out_dir.empty()) throw std::invalid_argument("--out applies to plot only");
  if (positional.size() == 2 && positional[1].empty()) throw std::invalid_argument(command.verb + ": the file name is empty");
  return command;
}

}  // namespace

Command parse_command(const std::vector<std::string>& args, const EnvironmentLookup& environment) {
  try {
    return parse_arguments(args, environment);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(one_line(e.what()));  // it quotes arguments, which may hold line breaks
  }
}

}  // namespace klab
