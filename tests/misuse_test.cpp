// The klab executable against careless and hostile use: outputs that are not plain files, paths
// that collide or cannot be written, signals at the worst moment, a reader that goes away, thread
// counts Kokkos cannot run, memory limits. Nothing costs data or crashes. Everything happens in a
// scratch folder: FIFOs, private device nodes and a private mount namespace stand in for /dev and
// read-only mounts, which no test touches.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "cli_helpers.hpp"
#include "sanitizers.hpp"
#include "core/utf8.hpp"
#include "unix_socket.hpp"

namespace {

using namespace cli_testing;
using cli_testing::klab;  // over namespace klab
namespace fs = std::filesystem;

using klab::testing::address_sanitizer;

std::string read_file(const std::string& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The read end of a FIFO, opened before its writer (which then never blocks): what a writer puts
// there waits in the pipe's buffer (64 KiB on Linux) until drain().
int open_fifo_reader(const std::string& fifo) { return ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK); }

std::string drain(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
  ::close(fd);
  return text;
}

class Misuse : public Cli {
 protected:
  // A one-case deck on the serial space: elementwise at N = 100, two repetitions.
  std::string small_deck() const {
    return write("small.yaml", "run:\n  name: small\n  spaces: [serial]\n  repetitions: 2\nstages:\n"
                               "  - stage: elementwise\n    sizes: [100]\n");
  }
  // Expects a usage error before anything ran: exit 2, one "klab: error:" line with `message`.
  static void expect_refused_up_front(const Outcome& out, const std::string& message) {
    EXPECT_EQ(out.status, 2) << out.output;
    EXPECT_NE(out.output.find("klab: error: " + message + "\n"), std::string::npos) << out.output;
    EXPECT_EQ(out.output.find("[1/"), std::string::npos) << "something ran:\n" << out.output;
  }
};

// Finding: --json /dev/null was renamed over, leaving a regular file in place of the device.
TEST_F(Misuse, AFifoOrDeviceTargetIsWrittenNeverReplaced) {
  const std::string deck = small_deck(), fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = open_fifo_reader(fifo);
  const Outcome out = klab("run " + deck + " --json " + fifo);
  const std::string received = drain(reader);
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(YAML::Load(received)["records"].size(), 1u) << received;

  // /dev/full: the JSON cannot be written (exit 1, said), the CSV still is.
  const std::string full = path("full");
  if (::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) GTEST_SKIP() << "cannot make device nodes here";
  const Outcome no_room = klab("run " + deck + " --json " + full + " --csv " + path("r.csv"));
  if (no_room.output.find("cannot be written: Permission denied") != std::string::npos) GTEST_SKIP() << "nodev";
  EXPECT_EQ(no_room.status, 1) << no_room.output;
  EXPECT_NE(no_room.output.find("klab: error: cannot write " + full + ": No space left on device\n"), std::string::npos)
      << no_room.output;
  EXPECT_TRUE(fs::is_character_file(full));
  EXPECT_NE(read_file(path("r.csv")).find("elementwise"), std::string::npos);
}

// Findings: a folder, socket or read-only file was found only after the whole run (or replaced).
TEST_F(Misuse, OutputsThatCannotBeWrittenAreRefusedBeforeAnythingRuns) {
  const std::string deck = small_deck();
  expect_refused_up_front(klab("run " + deck + " --json " + path("out/")),
                          "--json " + path("out/") + ": ends in '/': name a file, not a folder");
  fs::create_directories(path("folder"));
  expect_refused_up_front(klab("run " + deck + " --csv " + path("folder")), "--csv " + path("folder") + ": is a folder");
  const klab::testing::UnixSocket socket(path("socket"));
  expect_refused_up_front(klab("run " + deck + " --json " + path("socket")),
                          "--json " + path("socket") + ": is neither a file nor a device klab can write to (a socket?)");
  const std::string kept = write("kept.out", "precious");
  fs::permissions(kept, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  expect_refused_up_front(klab("run " + deck + " --json " + kept),
                          "--json " + kept + ": is read-only: make it writable, remove it or choose another path");
  EXPECT_EQ(read_file(kept), "precious");
  fs::permissions(kept, fs::perms::owner_write, fs::perm_options::add);

  // chattr +i needs a file system that has the flag (not tmpfs) and CAP_LINUX_IMMUTABLE.
  const std::string frozen = write("frozen.out", "frozen");
  if (run_command("chattr +i " + frozen).status == 0) {
    const Outcome out = klab("run " + deck + " --json " + frozen);
    run_command("chattr -i " + frozen);
    expect_refused_up_front(out, "--json " + frozen + ": is immutable or append-only (chattr +i or +a)");
  }
  // A read-only bind mount, in a mount namespace of its own (unshare needs the privilege).
  fs::create_directories(path("ro"));
  const Outcome read_only = run_command("unshare -m sh -c 'mount --bind " + path("ro") + " " + path("ro") +
                                        " && mount -o remount,ro,bind " + path("ro") + " && " + KLAB_EXE + " run " +
                                        deck + " --json " + path("ro/r.json") + "'");
  if (read_only.output.find("klab: ") != std::string::npos)  // klab ran: the mount worked
    expect_refused_up_front(read_only,
                            "--json " + path("ro/r.json") + ": cannot create files in " + path("ro") + ": Read-only file system");
}

// Finding: one results file failing at the end cost the other one too.
TEST_F(Misuse, AResultsFileThatFailsAtTheEndDoesNotCostTheOther) {
  const std::string deck = write("slow.yaml", "run:\n  name: slow\n  spaces: [serial]\n  warmups: 0\n  repetitions: 50\n"
                                              "stages:\n  - stage: elementwise\n    sizes: [1000000]\n");
  const Outcome out = klab_at({"run", deck, "--json", path("gone/r.json"), "--csv", path("r.csv")}, "N=1000000 kernel",
                              [&](pid_t) { std::ofstream(path("gone")) << "a file where the folder was to be"; });
  EXPECT_EQ(out.status, 1) << out.output;
  EXPECT_NE(out.output.find("klab: error: cannot write " + path("gone/r.json") + ": cannot create folder "),
            std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("wrote " + path("r.csv")), std::string::npos) << out.output;
  EXPECT_NE(read_file(path("r.csv")).find("elementwise"), std::string::npos);
}

// Finding: --json X --csv X let the CSV overwrite the JSON; --json DECK overwrote the deck.
TEST_F(Misuse, CollidingPathsAreRefused) {
  const std::string deck = small_deck();
  expect_refused_up_front(klab("run " + deck + " --json " + path("r") + " --csv " + path("./r")),
                          "--csv and --json are the same file, " + path("./r") + ": one would overwrite the other");
  const std::string text = read_file(deck);
  expect_refused_up_front(klab("run " + deck + " --json " + deck),
                          "--json and the deck are the same file, " + deck + ": one would overwrite the other");
  EXPECT_EQ(read_file(deck), text);
}

// Finding: a signal during the last, long sample of the last case was lost (exit 0). Here the one
// sample of a serial naive matmul (about 0.4 s on 2 cores) has started when the signal comes.
TEST_F(Misuse, ASignalAfterTheLastSafePointStillEndsTheRunAsInterrupted) {
  const std::string deck = write("long.yaml", "run:\n  name: long\n  spaces: [serial]\n  warmups: 0\n  repetitions: 1\n"
                                              "stages:\n  - stage: matmul\n    sizes: [600]\n    variants: [naive]\n");
  const Outcome out = klab_at({"run", deck, "--json", path("r.json")}, "N=600 naive\n", [](pid_t child) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(child, SIGINT);
  });
  EXPECT_EQ(out.status, 130) << out.output;
  const YAML::Node results = YAML::LoadFile(path("r.json"));
  EXPECT_TRUE(results["interrupted"].as<bool>());
  EXPECT_EQ(results["records"].size(), 0u);  // the case in progress is dropped: records are whole measurements
}

// Finding: klab run | head died of SIGPIPE before writing any results file. Here stdout is a pipe
// nobody reads, under the signal's default action as in a shell.
TEST_F(Misuse, AClosedStandardOutputCostsTheTableNotTheResults) {
  const std::string deck = small_deck(), json = path("r.json"), err = path("err.txt");
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[0]);
  std::vector<char*> argv{const_cast<char*>(KLAB_EXE), const_cast<char*>("run"), const_cast<char*>(deck.c_str()),
                          const_cast<char*>("--json"), const_cast<char*>(json.c_str()), nullptr};
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    const int log = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, STDERR_FILENO);
    ::execv(KLAB_EXE, argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  int raw = 0;
  ASSERT_EQ(::waitpid(child, &raw, 0), child);
  const std::string log = read_file(err);
  ASSERT_TRUE(WIFEXITED(raw)) << "ended by signal " << WTERMSIG(raw) << "\n" << log;
  EXPECT_EQ(WEXITSTATUS(raw), 1) << log;
  EXPECT_NE(log.find("klab: error: the standard output was closed, the table is incomplete"), std::string::npos) << log;
  EXPECT_NE(log.find("wrote " + json), std::string::npos) << log;
  EXPECT_EQ(YAML::LoadFile(json)["records"].size(), 1u);
}

// Finding: OMP_NUM_THREADS=519 and --kokkos-threads=1000 crashed Kokkos; abc, a bare option and -5
// aborted with an uncaught exception; an unknown --kokkos-* option was ignored.
TEST_F(Misuse, ThreadCountsKokkosCannotRunAreUsageErrors) {
#if KOKKOS_VERSION >= 30700
  const std::string option = "--kokkos-num-threads";
#else
  const std::string option = "--kokkos-threads";
#endif
  for (const std::string value : {"=1000", "=abc", "", "=-5"}) {
    const Outcome out = klab("info " + option + value);
    EXPECT_EQ(out.status, 2) << option << value << "\n" << out.output;
    EXPECT_EQ(out.output.rfind("klab: error: " + option, 0), 0u) << out.output;
  }
  const Outcome omp = klab("info", "OMP_NUM_THREADS=519");
  EXPECT_EQ(omp.status, 2) << omp.output;
  EXPECT_EQ(omp.output.rfind("klab: error: OMP_NUM_THREADS: 519 threads are more than", 0), 0u) << omp.output;
  const Outcome unknown = klab("info --kokkos-thread=2");
  EXPECT_EQ(unknown.status, 2) << unknown.output;
  EXPECT_EQ(unknown.output.rfind("klab: error: unknown Kokkos option '--kokkos-thread'", 0), 0u) << unknown.output;
}

// Finding: under ulimit -v an allocation failure dropped the rest of the stage. The memory budget
// now counts what the address-space limit leaves, so the big case is skipped and the next runs.
// (AddressSanitizer reserves terabytes of address space: it cannot run under ulimit -v.)
TEST_F(Misuse, UnderAnAddressSpaceLimitTheBigCaseFailsAloneAndTheRestRuns) {
  if (address_sanitizer) GTEST_SKIP() << "AddressSanitizer cannot run under ulimit -v";
  const std::string deck = write("big.yaml", "run:\n  name: big\n  spaces: [serial]\n  warmups: 0\n  repetitions: 1\n"
                                             "stages:\n  - stage: elementwise\n    sizes: [300000000, 100]\n");
  const Outcome out = run_command("ulimit -v 3000000 && " + std::string(KLAB_EXE) + " run " + deck + " --json " +
                                  path("r.json"));
  EXPECT_EQ(out.status, 1) << out.output;
  const YAML::Node records = YAML::LoadFile(path("r.json"))["records"];
  ASSERT_EQ(records.size(), 2u) << out.output;
  EXPECT_FALSE(records[0]["passed"].as<bool>());
  EXPECT_NE(records[0]["failure"].as<std::string>().find("(what the address-space limit (ulimit -v) leaves)"),
            std::string::npos)
      << records[0]["failure"].as<std::string>();
  EXPECT_TRUE(records[1]["passed"].as<bool>());
}

// Findings: a deck path that is not UTF-8 made a results file that is not JSON (Python's json.load
// failed); a seed above 2^53 was written rounded.
TEST_F(Misuse, ResultsAreValidUtf8AndKeepLargeSeedsExact) {
  const std::string deck = write("caf\xe9.yaml", "run:\n  name: t\n  spaces: [serial]\n  repetitions: 2\n"
                                                 "  seed: 9007199254740993\nstages:\n  - stage: elementwise\n"
                                                 "    sizes: [100]\n");
  const Outcome out = klab("run '" + deck + "' --json " + path("r.json"));
  ASSERT_EQ(out.status, 0) << out.output;
  const std::string json = read_file(path("r.json"));
  EXPECT_EQ(klab::invalid_utf8_at(json), std::string::npos);
  EXPECT_NE(json.find("\"seed\": 9007199254740993\n"), std::string::npos) << json;
}

TEST_F(Misuse, EmptyValuesAreUsageErrors) {
  const std::string deck = small_deck();
  expect_refused_up_front(klab("run " + deck + " --spaces ''"), "--spaces needs a value, and '' is empty");
  expect_refused_up_front(klab("run " + deck + " --json ''"), "--json needs a value, and '' is empty");
  const Outcome folder = klab("validate " + path(""));
  EXPECT_EQ(folder.status, 2);
  EXPECT_NE(folder.output.find("is a folder, not a deck file"), std::string::npos) << folder.output;
}

}  // namespace
