// The klab executable end to end: run the quickstart deck, parse its JSON, check the records;
// deck errors exit 2 with file:line:column and write nothing; klab plot finds a Python with
// matplotlib and writes the report; an interrupted run writes the completed records and exits
// 128 + the signal; a case too large for memory, a diverging iteration or a failed factorisation
// fails its records and the run goes on.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "core/spaces.hpp"

namespace {

using namespace cli_testing;
using cli_testing::klab;  // over namespace klab
namespace fs = std::filesystem;

TEST_F(Cli, QuickstartRunsEveryStageOnEverySpaceAndWritesParsableResults) {
  const std::string deck = std::string(KLAB_SOURCE_DIR) + "/inputs/quickstart.yaml";
  const Outcome run = klab("run " + deck + " --json " + path("r.json") + " --csv " + path("r.csv"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("[1/6] elementwise on "), std::string::npos) << run.output;  // progress
  EXPECT_NE(run.output.find("/space"), std::string::npos) << run.output;                 // the table

  const YAML::Node doc = YAML::LoadFile(path("r.json"));
  EXPECT_EQ(doc["schema"].as<std::string>(), "klab-results");
  EXPECT_TRUE(doc["all_passed"].as<bool>());
  EXPECT_FALSE(doc["machine"]["kokkos_version"].as<std::string>().empty());
  const std::vector<std::string> spaces = klab::compiled_space_names();
  std::set<std::string> seen_spaces;
  const YAML::Node records = doc["records"];
  // quickstart, per space: elementwise 3 sizes x 2 variants, matmul 2 sizes x 3 variants and
  // 1 size x 4 variants, solvebak 4 forms, ann 3 layers, gd 2 strategies.
  ASSERT_EQ(records.size(), 25 * spaces.size());
  for (const auto& r : records) {
    seen_spaces.insert(r["space"].as<std::string>());
    EXPECT_TRUE(r["passed"].as<bool>());
    EXPECT_EQ(r["time_s"]["count"].as<int>(), r["stage_type"].as<std::string>() == "ann" ? 3 : 10);
    EXPECT_GT(r["time_s"]["median"].as<double>(), 0.0);
    const double size = r["size"].as<double>();
    if (r["stage_type"].as<std::string>() == "elementwise") {
      EXPECT_EQ(r["error"].as<double>(), 0.0);
      EXPECT_GT(r["gb_per_s"].as<double>(), 0.0);
      EXPECT_DOUBLE_EQ(r["bytes"].as<double>(), 24 * size);
    } else if (r["stage_type"].as<std::string>() == "solvebak") {
      EXPECT_LT(r["error"].as<double>(), 1e-6);
      EXPECT_EQ(r["series"]["error_after_sweep"].size(), 10u);
      EXPECT_LT(r["metrics"]["relative_residual"].as<double>(), 1e-6);
    } else if (r["stage_type"].as<std::string>() == "gd") {
      EXPECT_EQ(r["series"]["loss_after_epoch"].size(), 10u);
    } else if (r["stage_type"].as<std::string>() == "ann") {
      if (r["variant"].as<std::string>() == "outer") {
        EXPECT_GE(r["metrics"]["test_correlation"].as<double>(), 0.999);
        EXPECT_EQ(r["series"]["test_prediction_sample"].size(), r["series"]["test_target_sample"].size());
      }
    } else {
      EXPECT_EQ(r["stage_type"].as<std::string>(), "matmul");
      EXPECT_GT(r["gflop_per_s"].as<double>(), 0.0);
      EXPECT_NEAR(r["flops"].as<double>(), 2 * size * size * size, 1e-9 * size * size * size);
    }
  }
  EXPECT_EQ(seen_spaces, std::set<std::string>(spaces.begin(), spaces.end()));
  std::ifstream csv(path("r.csv"));
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + static_cast<int>(records.size()));
}

// (stage, variant, space, case, check, passed, sampling) of every record of a results file.
std::vector<std::string> record_identities(const YAML::Node& results) {
  std::vector<std::string> out;
  for (const auto& r : results["records"])
    out.push_back(r["stage"].as<std::string>() + "|" + r["variant"].as<std::string>() + "|" +
                  r["space"].as<std::string>() + "|" + r["case"].as<std::string>() + "|" + r["check"].as<std::string>() +
                  "|" + r["passed"].as<std::string>() + "|" + r["sampling"]["unit"].as<std::string>() + "x" +
                  r["sampling"]["count"].as<std::string>());
  return out;
}

TEST_F(Cli, TheResolvedDeckOfAResultsFileRunsTheSameCasesAndChecks) {
  const std::string deck = write("small.yaml",
                                 "run:\n  name: small\n  repetitions: 2\n  warmups: 0\nstages:\n"
                                 "  - stage: elementwise\n    sizes: [100, 1000]\n"
                                 "  - stage: matmul\n    sizes: 16\n    variants: [naive, tiled]\n"
                                 "  - stage: solvebak\n    obs: 200\n    vars: 5\n    sweeps: 3\n    tolerance: 1\n"
                                 "  - stage: gd\n    obs: 40\n    vars: 2\n    learning_rate: 0.05\n    epochs: 3\n"
                                 "    tolerance: 10\n");
  const Outcome first = klab("run " + deck + " --json " + path("r1.json"));
  ASSERT_EQ(first.status, 0) << first.output;
  // The deck alone, on stdout: whatever the environment makes a process say on stderr stays out.
  const std::string again = path("resolved.yaml");
  ASSERT_EQ(std::system((std::string(KLAB_EXE) + " deck " + path("r1.json") + " > " + again + " 2> " +
                         path("deck.err")).c_str()),
            0);
  std::ifstream in(again);
  const std::string resolved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(resolved.find("include_transfers: false"), std::string::npos) << resolved;  // a default
  const Outcome valid = klab("validate " + again);
  ASSERT_EQ(valid.status, 0) << valid.output << "\n" << resolved;
  const Outcome second = klab("run " + again + " --json " + path("r2.json"));
  ASSERT_EQ(second.status, 0) << second.output;
  const auto before = record_identities(YAML::LoadFile(path("r1.json")));
  EXPECT_EQ(record_identities(YAML::LoadFile(path("r2.json"))), before);
  EXPECT_FALSE(before.empty());
  for (const auto& r : YAML::LoadFile(path("r1.json"))["records"]) EXPECT_GT(r["setup_s"].as<double>(), 0.0);

  const Outcome no_results = klab("deck " + deck);
  EXPECT_EQ(no_results.status, 2);
  EXPECT_NE(no_results.output.find("no resolved deck"), std::string::npos) << no_results.output;
}

TEST_F(Cli, TypoInDeckExitsTwoWithLocationAndWritesNothing) {
  const std::string deck =
      write("typo.yaml", "run:\n  name: t\n  output:\n    json: " + path("r.json") +
                             "\nstages:\n  - stage: elementwise\n    sizes: [10]\n    include_transfer: true\n");
  for (const std::string verb : {"validate", "run"}) {
    const Outcome out = klab(verb + " " + deck);
    EXPECT_EQ(out.status, 2) << out.output;
    EXPECT_NE(out.output.find(deck + ":8:5: stages[0].include_transfer: unknown key 'include_transfer' (did you mean "
                                      "'include_transfers'?)"),
              std::string::npos)
        << out.output;
    EXPECT_FALSE(fs::exists(path("r.json")));
  }
}

TEST_F(Cli, ValidateAcceptsAGoodDeck) {
  const Outcome out = klab("validate " + std::string(KLAB_SOURCE_DIR) + "/inputs/seed-notebook.yaml");
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_NE(out.output.find(": ok ("), std::string::npos) << out.output;
}

TEST_F(Cli, InfoNamesKokkosSpacesAndMachine) {
  const Outcome out = klab("info");
  ASSERT_EQ(out.status, 0) << out.output;
  for (const char* field :
       {"Kokkos:", "Execution spaces:", "CPU:", "Logical cores:", "RAM:", "GPU:", "Host code flags:", "Ranks:"})
    EXPECT_NE(out.output.find(field), std::string::npos) << field << "\n" << out.output;
  for (const auto& space : klab::compiled_space_names())
    EXPECT_NE(out.output.find(space + " (concurrency "), std::string::npos) << out.output;
}

// The OpenMP runtime reads OMP_PROC_BIND when it loads, so klab sets it and restarts itself; the
// binding must then be in effect (the initial thread on one CPU), unless OpenBLAS runs threads of
// its own, which would inherit that CPU: then OMP_PROC_BIND=false. A binding the user chose is kept.
TEST_F(Cli, BindsOpenMpThreadsBeforeTheRuntimeLoadsUnlessOpenBlasRunsItsOwnThreads) {
  const Outcome out = klab("info", "-u OMP_PROC_BIND -u OMP_PLACES");
  ASSERT_EQ(out.status, 0) << out.output;
  // The variables in effect, as klab info lists them (Kokkos's own warning also names them).
  const std::string variable = "Environment:       ";
  const std::string bound_to_one_cpu = "Initial thread:    may run on 1 of them";
  const bool blas_pthreads = out.output.find("threads: pthreads") != std::string::npos;
  cpu_set_t allowed;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  const bool several_cpus = CPU_COUNT(&allowed) > 1;  // the CPUs this process may run on
  if (blas_pthreads) {
    EXPECT_NE(out.output.find(variable + "OMP_PROC_BIND=false"), std::string::npos) << out.output;
    if (several_cpus)
      EXPECT_EQ(out.output.find(bound_to_one_cpu), std::string::npos) << out.output;
  } else {
    EXPECT_NE(out.output.find(variable + "OMP_PROC_BIND=spread"), std::string::npos) << out.output;
    EXPECT_NE(out.output.find(variable + "OMP_PLACES=threads"), std::string::npos) << out.output;
    EXPECT_NE(out.output.find(bound_to_one_cpu), std::string::npos) << out.output;
  }
  const Outcome chosen = klab("info", "-u OMP_PLACES OMP_PROC_BIND=false");
  ASSERT_EQ(chosen.status, 0) << chosen.output;
  EXPECT_NE(chosen.output.find(variable + "OMP_PROC_BIND=false"), std::string::npos) << chosen.output;
  if (several_cpus)
    EXPECT_EQ(chosen.output.find(bound_to_one_cpu), std::string::npos) << chosen.output;
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(klab("").status, 2);
  EXPECT_EQ(klab("frobnicate").status, 2);
  EXPECT_EQ(klab("run").status, 2);
  EXPECT_EQ(klab("validate a.yaml --json x.json").status, 2);
  EXPECT_EQ(klab("run " + path("missing.yaml")).status, 2);
  const Outcome help = klab("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("elementwise"), std::string::npos);
}

TEST_F(Cli, SpacesOptionNarrowsTheRun) {
  const std::string deck = write("small.yaml", "run:\n  name: t\n  repetitions: 2\nstages:\n  - stage: elementwise\n"
                                               "    sizes: [100]\n");
  const Outcome out = klab("run " + deck + " --spaces serial --json " + path("r.json"));
  ASSERT_EQ(out.status, 0) << out.output;
  const YAML::Node records = YAML::LoadFile(path("r.json"))["records"];
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["space"].as<std::string>(), "serial");
  EXPECT_EQ(klab("run " + deck + " --spaces serial,serial").status, 2);
  const Outcome unknown = klab("run " + deck + " --spaces serial,hip");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.output.find("--spaces: 'hip' is not a space compiled into this build"), std::string::npos)
      << unknown.output;
}

// Kokkos's own options reach Kokkos (the thread count's spelling changed in Kokkos 3.7), and so
// does KOKKOS_NUM_THREADS, which every version reads.
TEST_F(Cli, KokkosArgumentsPassThrough) {
#if KOKKOS_VERSION >= 30700
  const std::string one_thread = "--kokkos-num-threads=1";
#else
  const std::string one_thread = "--kokkos-threads=1";
#endif
  const std::string deck = write("small.yaml", "run:\n  name: t\n  repetitions: 2\nstages:\n  - stage: elementwise\n"
                                               "    sizes: [100]\n");
  const Outcome run = klab("run " + deck + " " + one_thread);
  EXPECT_EQ(run.status, 0) << run.output;
  const std::string openmp_on_one = "openmp (concurrency 1)";
  if (klab::SpaceTag<Kokkos::DefaultHostExecutionSpace>::name != std::string("openmp")) GTEST_SKIP();
  const Outcome option = klab("info " + one_thread);
  EXPECT_NE(option.output.find(openmp_on_one), std::string::npos) << option.output;
  const Outcome variable = klab("info", "KOKKOS_NUM_THREADS=1");
  EXPECT_NE(variable.output.find(openmp_on_one), std::string::npos) << variable.output;
}

// klab plot runs src/tools/plot.py on the Python CMake configured before python3 on PATH (under
// pyenv or a venv often one without matplotlib). The python3 first on PATH here succeeds at
// everything and writes nothing: were it tried first, there would be no report.
TEST_F(Cli, PlotWritesTheReportBesideTheResultsOrIntoOut) {
  const std::string deck = write("small.yaml", "run:\n  name: t\n  spaces: [serial]\n  repetitions: 2\nstages:\n"
                                               "  - stage: elementwise\n    sizes: [100]\n");
  const Outcome run = klab("run " + deck + " --json " + path("r.json"));
  ASSERT_EQ(run.status, 0) << run.output;
  fs::create_directories(dir_ / "bin");
  fs::create_symlink("/bin/true", dir_ / "bin" / "python3");
  const char* search_path = std::getenv("PATH");
  const std::string idle_python3_first =
      "-u KLAB_PLOT_PYTHON 'PATH=" + path("bin") + ":" + (search_path ? search_path : "") + "'";

  const Outcome beside = klab("plot " + path("r.json"), idle_python3_first);
  ASSERT_EQ(beside.status, 0) << beside.output;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "r-plots" / "index.md")) << beside.output;
  EXPECT_NE(beside.output.find("wrote " + path("r-plots/index.md")), std::string::npos) << beside.output;
  const Outcome into = klab("plot " + path("r.json") + " --out " + path("report"), idle_python3_first);
  ASSERT_EQ(into.status, 0) << into.output;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "report" / "index.md")) << into.output;

  // $KLAB_PLOT_PYTHON, when set, is the only Python tried: the configured one, which works, is not.
  const Outcome none = klab("plot " + path("r.json") + " --out " + path("none"), "KLAB_PLOT_PYTHON=/bin/false");
  EXPECT_EQ(none.status, 2) << none.output;
  EXPECT_NE(none.output.find("klab: error: no Python with matplotlib found (tried: /bin/false); install "
                             "python3-matplotlib or set KLAB_PLOT_PYTHON\n"),
            std::string::npos)
      << none.output;
  EXPECT_FALSE(fs::exists(path("none")));
}

TEST_F(Cli, PlotUsageErrorsExitTwoAndPlotPyErrorsPassThrough) {
  EXPECT_EQ(klab("plot").status, 2);
  EXPECT_EQ(klab("plot a.json b.json").status, 2);
  EXPECT_EQ(klab("plot a.json --out").status, 2);
  EXPECT_EQ(klab("plot a.json --json b.json").status, 2);
  EXPECT_EQ(klab("run a.yaml --out plots").status, 2);
  EXPECT_NE(klab("--help").output.find("klab plot RESULTS.json [--out DIR]"), std::string::npos);
  // plot.py's own message and exit status come through klab.
  const Outcome missing = klab("plot " + path("missing.json"), "-u KLAB_PLOT_PYTHON");
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("plot.py: " + path("missing.json") + ": no such file"), std::string::npos)
      << missing.output;
}

// Six cases of about 0.3 s each on one space; the signal comes as the second starts.
class InterruptedRun : public Cli, public ::testing::WithParamInterface<int> {};

TEST_P(InterruptedRun, WritesTheCompletedCasesAndExitsWith128PlusTheSignal) {
  const int signal = GetParam();
  const std::string deck =
      write("slow.yaml", "run:\n  name: slow\n  spaces: [serial]\n  warmups: 0\n  repetitions: 300\nstages:\n"
                         "  - stage: elementwise\n    sizes: [1000000, 1000001, 1000002, 1000003, 1000004, 1000005]\n"
                         "  - stage: elementwise\n    name: never\n    sizes: [10]\n");
  const Outcome out = klab_interrupted({"run", deck, "--json", path("r.json"), "--csv", path("r.csv")},
                                       "elementwise on serial: N=1000001\n", signal);
  EXPECT_EQ(out.status, 128 + signal) << out.output;
  const std::string name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  EXPECT_NE(out.output.find("INTERRUPTED by " + name), std::string::npos) << out.output;

  const YAML::Node doc = YAML::LoadFile(path("r.json"));  // whole: it parses
  EXPECT_TRUE(doc["interrupted"].as<bool>());
  EXPECT_EQ(doc["interrupted_by"].as<std::string>(), name);
  EXPECT_FALSE(doc["all_passed"].as<bool>());
  const YAML::Node records = doc["records"];
  ASSERT_GE(records.size(), 1u) << out.output;
  EXPECT_LT(records.size(), 6u) << out.output;
  EXPECT_EQ(records[0]["case"].as<std::string>(), "N=1000000");
  for (const auto& r : records) {
    EXPECT_TRUE(r["passed"].as<bool>()) << r["failure"].as<std::string>();  // only completed cases
    EXPECT_EQ(r["time_s"]["count"].as<int>(), 300);
    EXPECT_NE(r["stage"].as<std::string>(), "never");
  }
  std::ifstream csv(path("r.csv"));
  std::string line;
  std::size_t lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 1 + records.size());
  std::set<std::string> files;  // no temporary file left behind
  for (const auto& entry : fs::directory_iterator(dir_)) files.insert(entry.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"slow.yaml", "r.json", "r.csv"}));
}

INSTANTIATE_TEST_SUITE_P(Cli, InterruptedRun, ::testing::Values(SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

TEST_F(Cli, ACaseTooLargeForMemoryFailsItsRecordAndTheRunGoesOn) {
  // N = 1e6: A, B, C and the reference are 4e12 doubles, 32 TB.
  const FailedRun run = run_failing("huge.yaml", "run:\n  name: huge\n  spaces: [serial]\n  repetitions: 2\nstages:\n"
                                                "  - stage: matmul\n    sizes: [1e6, 8]\n    variants: [naive]\n"
                                                "  - stage: elementwise\n    sizes: [100]\n");
  const YAML::Node records = run.results["records"];
  ASSERT_EQ(records.size(), 3u) << run.output;
  EXPECT_EQ(records[0]["case"].as<std::string>(), "N=1000000");
  EXPECT_FALSE(records[0]["passed"].as<bool>());
  const std::string failure = records[0]["failure"].as<std::string>();
  EXPECT_EQ(failure.rfind("matmul N=1000000 on serial needs an estimated 32000.00 GB, more than the ", 0), 0u)
      << failure;
  EXPECT_NE(failure.find(" available (host "), std::string::npos) << failure;
  EXPECT_DOUBLE_EQ(records[0]["metrics"]["estimated_bytes"].as<double>(), 3.2e13);
  EXPECT_EQ(records[1]["case"].as<std::string>(), "N=8");  // the next case ran
  EXPECT_TRUE(records[1]["passed"].as<bool>());
  EXPECT_EQ(records[2]["stage"].as<std::string>(), "elementwise");  // and the next stage
  EXPECT_TRUE(records[2]["passed"].as<bool>());
}

TEST_F(Cli, ADivergingStageFailsItsRecordAndTheNextStageStillRuns) {
  const FailedRun run = run_failing("diverge.yaml", "run:\n  name: diverge\n  spaces: [serial]\n  repetitions: 2\n"
                                                   "stages:\n  - stage: gd\n    obs: 100\n    vars: 3\n"
                                                   "    learning_rate: 1e3\n    epochs: 1000\n    strategies: [batch]\n"
                                                   "  - stage: elementwise\n    sizes: [100]\n");
  EXPECT_NE(run.output.find("FAILED gd "), std::string::npos) << run.output;
  EXPECT_FALSE(run.results["all_passed"].as<bool>());
  EXPECT_FALSE(run.results["interrupted"].as<bool>());
  const YAML::Node records = run.results["records"];
  ASSERT_EQ(records.size(), 2u) << run.output;
  EXPECT_EQ(records[0]["stage"].as<std::string>(), "gd");
  EXPECT_FALSE(records[0]["passed"].as<bool>());
  EXPECT_EQ(records[0]["failure"].as<std::string>().rfind("diverged at epoch ", 0), 0u);
  EXPECT_EQ(records[1]["stage"].as<std::string>(), "elementwise");
  EXPECT_TRUE(records[1]["passed"].as<bool>());
}

TEST_F(Cli, AFailedFactorisationFailsItsVariantAndTheNextStageStillRuns) {
  // 400 tanh features of 2 inputs are numerically dependent: without a ridge the outer layer's
  // Cholesky factorisation meets a non-positive pivot and the outer variant throws.
  const FailedRun run = run_failing("singular.yaml", "run:\n  name: singular\n  spaces: [serial]\n  warmups: 0\n"
                                                    "  repetitions: 1\nstages:\n  - stage: ann\n    obs: 4000\n"
                                                    "    vars: 2\n    neurons: 400\n"
                                                    "  - stage: elementwise\n    sizes: [100]\n");
  const YAML::Node records = run.results["records"];
  ASSERT_EQ(records.size(), 4u) << run.output;
  EXPECT_TRUE(records[0]["passed"].as<bool>());  // inner
  EXPECT_TRUE(records[1]["passed"].as<bool>());  // hidden
  EXPECT_EQ(records[2]["stage"].as<std::string>(), "ann");
  EXPECT_FALSE(records[2]["passed"].as<bool>());
  EXPECT_EQ(records[2]["failure"].as<std::string>().rfind("variant failed: outer layer: Cholesky pivot ", 0), 0u)
      << records[2]["failure"].as<std::string>();
  EXPECT_EQ(records[3]["stage"].as<std::string>(), "elementwise");
  EXPECT_TRUE(records[3]["passed"].as<bool>());
}

}  // namespace
