#pragma once
// What the CLI tests share: running the klab executable (plain, or with an action such as a signal
// once its output shows a trigger) and a fixture with a scratch folder whose results files are
// checked against their JSON Schema.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli_testing {

namespace fs = std::filesystem;

struct Outcome {
  int status;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, its stdout and stderr collected.
inline Outcome run_command(const std::string& command_line) {
  const fs::path log = fs::temp_directory_path() / ("klab_cli_" + std::to_string(::getpid()) + ".log");
  const int raw = std::system((command_line + " > " + log.string() + " 2>&1").c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(log);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, text.str()};
}

// Runs klab with `args`, its environment changed by `environment` (arguments of env(1)) if given.
inline Outcome klab(const std::string& args, const std::string& environment = "") {
  return run_command((environment.empty() ? "" : "env " + environment + " ") + std::string(KLAB_EXE) + " " + args);
}

// Starts klab with `args` (through `launcher`, e.g. mpirun and its options, if given) and calls
// `action` with its process id as soon as its output (stdout and stderr) holds `trigger`; returns
// its exit status and output. Kills it and fails the test if it runs for more than `limit`
// without finishing.
inline Outcome klab_at(const std::vector<std::string>& args, const std::string& trigger,
                       const std::function<void(pid_t)>& action, std::chrono::seconds limit = std::chrono::seconds(300),
                       const std::vector<std::string>& launcher = {}) {
  // Built before the fork: the child of a threaded process may only call async-signal-safe functions.
  std::vector<char*> argv;
  for (const auto& a : launcher) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(const_cast<char*>(KLAB_EXE));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string output;
  bool triggered = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pollfd readable{pipe_fds[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ADD_FAILURE() << "klab did not finish in time:\n" << output;
      break;
    }
    if (::poll(&readable, 1, 1000) <= 0) continue;
    char buffer[4096];
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got <= 0) break;  // klab closed its output: it ended
    output.append(buffer, static_cast<std::size_t>(got));
    if (!triggered && output.find(trigger) != std::string::npos) {
      action(child);
      triggered = true;
    }
  }
  ::close(pipe_fds[0]);
  int raw = 0;
  ::waitpid(child, &raw, 0);
  EXPECT_TRUE(triggered) << "never saw '" << trigger << "' in:\n" << output;
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, output};
}

// klab_at sending `signal`.
inline Outcome klab_interrupted(const std::vector<std::string>& args, const std::string& trigger, int signal,
                                std::chrono::seconds limit = std::chrono::seconds(300)) {
  return klab_at(args, trigger, [signal](pid_t child) { ::kill(child, signal); }, limit);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("klab_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  // Every results file a test wrote conforms to the published JSON Schema of its version.
  void TearDown() override {
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.path().extension() == ".json") expect_conforming_results(entry.path().string());
    fs::remove_all(dir_);
  }
  static void expect_conforming_results(const std::string& results) {
    if (std::string(KLAB_RESULTS_PYTHON).empty()) {
      std::cerr << "(" << results << " not checked against its schema: no Python with jsonschema at configure time)\n";
      return;
    }
    const Outcome check = run_command(std::string(KLAB_RESULTS_PYTHON) + " " + KLAB_CHECK_RESULTS + " " + results);
    EXPECT_EQ(check.status, 0) << check.output;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  struct FailedRun {
    std::string output;
    YAML::Node results;
  };
  // Runs a deck that must fail (exit 1, the results still written) and reads its results.
  FailedRun run_failing(const std::string& name, const std::string& text) const {
    const Outcome out = klab("run " + write(name, text) + " --json " + path("r.json"));
    EXPECT_EQ(out.status, 1) << out.output;
    return {out.output, fs::exists(path("r.json")) ? YAML::LoadFile(path("r.json")) : YAML::Node()};
  }
  fs::path dir_;
};

}  // namespace cli_testing
