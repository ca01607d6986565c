// libFuzzer target over klab's command line: the bytes are NUL-separated strings, the first two
// the values of OMP_NUM_THREADS and KOKKOS_NUM_THREADS (empty: unset), the rest the arguments.
// Any of them either parse into a command or raise std::invalid_argument whose message is one
// line; a parsed run's paths then go through the collision check. Any other exception, crash,
// sanitizer report or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/command.hpp"
#include "core/output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> strings(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\0')
      strings.emplace_back();
    else
      strings.back() += static_cast<char>(data[i]);
  }
  strings.resize(std::max<std::size_t>(strings.size(), 2));
  const std::string omp = strings[0], kokkos = strings[1];
  const std::vector<std::string> args(strings.begin() + 2, strings.end());
  const auto environment = [&](const char* name) -> const char* {
    const std::string& value = std::string(name) == "OMP_NUM_THREADS" ? omp : kokkos;
    return std::string(name) == "OMP_NUM_THREADS" || std::string(name) == "KOKKOS_NUM_THREADS"
               ? (value.empty() ? nullptr : value.c_str())
               : nullptr;
  };
  try {
    const klab::Command command = klab::parse_command(args, environment);
    if (command.verb == "run")
      klab::check_distinct_paths(
          {{"the deck", command.deck}, {"--json", command.options.json_path}, {"--csv", command.options.csv_path}});
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
