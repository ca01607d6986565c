// klab's command line (core/command.hpp): its own options, and the Kokkos options and thread
// counts of the environment that would make Kokkos::initialize throw or crash, refused before
// Kokkos starts.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/command.hpp"
#include "core/kokkos_core_compat.hpp"

namespace {

// The Kokkos option that sets the host threads in this Kokkos version.
#if KOKKOS_VERSION >= 30700
const std::string threads_option = "--kokkos-num-threads";
#else
const std::string threads_option = "--kokkos-threads";
#endif

klab::Command parse(const std::vector<std::string>& args, const std::map<std::string, std::string>& environment = {}) {
  return klab::parse_command(args, [&](const char* name) -> const char* {
    const auto found = environment.find(name);
    return found == environment.end() ? nullptr : found->second.c_str();
  });
}

// The message of the usage error `args` (and `environment`) make, or "accepted".
std::string error_of(const std::vector<std::string>& args, const std::map<std::string, std::string>& environment = {}) {
  try {
    parse(args, environment);
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  return "accepted";
}

TEST(Command, ReadsVerbsAndOptions) {
  const klab::Command run = parse({"run", "d.yaml", "--json", "r.json", "--csv", "r.csv", "--spaces", "serial", "-v"});
  EXPECT_EQ(run.verb, "run");
  EXPECT_EQ(run.deck, "d.yaml");
  EXPECT_EQ(run.options.json_path, "r.json");
  EXPECT_EQ(run.options.csv_path, "r.csv");
  EXPECT_EQ(run.spaces, "serial");
  EXPECT_TRUE(run.options.verbose);
  EXPECT_EQ(parse({"plot", "r.json", "--out", "p"}).out_dir, "p");
  EXPECT_EQ(parse({"--help"}).verb, "help");
  EXPECT_EQ(parse({"info", threads_option + "=4"}).verb, "info");
}

TEST(Command, EmptyAndRepeatedValuesAreErrors) {
  EXPECT_EQ(error_of({"run", "d.yaml", "--json", ""}), "--json needs a value, and '' is empty");
  EXPECT_EQ(error_of({"run", "d.yaml", "--spaces", ""}), "--spaces needs a value, and '' is empty");
  EXPECT_EQ(error_of({"run", "d.yaml", "--csv"}), "--csv needs a value");
  EXPECT_EQ(error_of({"run", "d.yaml", "--json", "a", "--json", "b"}), "--json is given twice");
  EXPECT_EQ(error_of({"run", ""}), "run: the file name is empty");
  EXPECT_EQ(error_of({"validate", "d.yaml", "--json", "a"}), "--json, --csv, --spaces and --collectives apply to run only");
  EXPECT_EQ(error_of({"validate", "d.yaml", "--collectives", "mpi"}),
            "--json, --csv, --spaces and --collectives apply to run only");
  EXPECT_EQ(error_of({"run", "d.yaml", "--collectives", "gloo"}), "--collectives takes mpi or nccl, not 'gloo'");
  EXPECT_EQ(parse({"run", "d.yaml", "--collectives", "nccl"}).collectives, "nccl");
  // Found by tests/fuzz: a quoted argument with a line break made a two-line message.
  EXPECT_EQ(error_of({"info\nrun"}), "unknown command 'info\\nrun'");
}

TEST(Command, KokkosThreadCountsAreCheckedBeforeKokkosStarts) {
  const std::string max = std::to_string(klab::compat::openmp_max_threads);
  EXPECT_EQ(error_of({"info", threads_option}), threads_option + " needs a value: " + threads_option + "=N");
  EXPECT_EQ(error_of({"info", threads_option + "="}), threads_option + " needs a value: " + threads_option + "=N");
  for (const std::string bad : {"abc", "-5", "0", "4x", " 4", "99999999999999999999"})
    EXPECT_EQ(error_of({"info", threads_option + "=" + bad}),
              threads_option + ": '" + bad + "' is not a number of threads (a whole number, 1 or more)");
  EXPECT_EQ(error_of({"info", threads_option + "=2", threads_option + "=3"}), threads_option + " is given twice");
  if (klab::compat::openmp_max_threads == 0) GTEST_SKIP() << "no OpenMP space: no thread limit";
  EXPECT_EQ(error_of({"info", threads_option + "=" + max}), "accepted");
  const std::string above = std::to_string(klab::compat::openmp_max_threads + 1);
  EXPECT_EQ(error_of({"info", threads_option + "=" + above}),
            threads_option + ": " + above + " threads are more than Kokkos's OpenMP space can run (" + max + ")");
  EXPECT_EQ(error_of({"info"}, {{"OMP_NUM_THREADS", above}}),
            "OMP_NUM_THREADS: " + above + " threads are more than Kokkos's OpenMP space can run (" + max + ")");
  EXPECT_EQ(error_of({"info"}, {{"KOKKOS_NUM_THREADS", "1000"}}),
            "KOKKOS_NUM_THREADS: 1000 threads are more than Kokkos's OpenMP space can run (" + max + ")");
  EXPECT_EQ(error_of({"info"}, {{"OMP_NUM_THREADS", "4,x"}}),
            "OMP_NUM_THREADS: '4,x' is not a list of thread counts (e.g. 4 or 4,2)");
  EXPECT_EQ(error_of({"info"}, {{"OMP_NUM_THREADS", "2,2"}}), "accepted");
  EXPECT_EQ(error_of({"info"}, {{"OMP_NUM_THREADS", ""}}), "accepted");  // set but empty: unset
  // Kokkos takes its own count over OMP_NUM_THREADS, which then does not matter.
  EXPECT_EQ(error_of({"info"}, {{"OMP_NUM_THREADS", above}, {"KOKKOS_NUM_THREADS", "2"}}), "accepted");
  EXPECT_EQ(error_of({"info", threads_option + "=2"}, {{"KOKKOS_NUM_THREADS", "3"}}),
            "KOKKOS_NUM_THREADS=3 and the Kokkos thread option (2) disagree: set one of them");
}

TEST(Command, UnknownKokkosOptionsAndMisshapenValuesAreErrors) {
  EXPECT_EQ(error_of({"info", "--kokkos-devic-id=0"}),
            "unknown Kokkos option '--kokkos-devic-id' (did you mean '--kokkos-device-id'?); klab --help lists how to "
            "set threads and devices");
  EXPECT_EQ(error_of({"info", "--kokkos-device-id=-1"}), "--kokkos-device-id: '-1' is not a whole number (0 or more)");
  EXPECT_EQ(error_of({"info", "--kokkos-disable-warnings=1"}), "--kokkos-disable-warnings takes no value");
  EXPECT_EQ(error_of({"info", "--kokkos-tools-args"}), "--kokkos-tools-args needs a value: --kokkos-tools-args=VALUE");
  EXPECT_EQ(error_of({"info", "--kokkos-device-id=0", "--kokkos-disable-warnings"}), "accepted");
}

}  // namespace
