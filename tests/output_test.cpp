// Results files (core/output.hpp): what may be written to, and how. Everything happens in a
// scratch folder: a FIFO and, where this process may make one, a private null device stand in for
// /dev's, which no test touches.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/interrupt.hpp"
#include "core/json.hpp"
#include "core/output.hpp"
#include "core/utf8.hpp"
#include "unix_socket.hpp"

namespace {

namespace fs = std::filesystem;

class Output : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("klab_output_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The message of check_output_path for `file`, or "accepted".
  static std::string refusal(const std::string& file) {
    try {
      klab::check_output_path(file, "--json");
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  }
  // Nothing but `names` in the scratch folder: no temporary file stayed.
  void expect_only(std::set<std::string> names) const {
    std::set<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_)) found.insert(entry.path().filename().string());
    EXPECT_EQ(found, names);
  }
  fs::path dir_;
};

TEST_F(Output, AFileIsReplacedWholeAndKeepsItsPermissions) {
  const std::string file = path("r.json");
  std::ofstream(file) << "old";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(refusal(file), "accepted");
  klab::write_output_file(file, "new");
  EXPECT_EQ(read(file), "new");
  EXPECT_EQ(fs::status(file).permissions(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  klab::write_output_file(path("made/here/r.csv"), "csv");  // missing folders are made
  EXPECT_EQ(read(path("made/here/r.csv")), "csv");
  EXPECT_THROW(klab::write_output_file(path("made"), "x"), std::runtime_error);  // a folder
  expect_only({"r.json", "made"});
  EXPECT_EQ(std::distance(fs::directory_iterator(path("made/here")), fs::directory_iterator()), 1);
}

TEST_F(Output, ALinkStaysAndItsTargetIsWritten) {
  fs::create_symlink("target.json", path("link.json"));  // dangling: the target is made
  klab::write_output_file(path("link.json"), "linked");
  EXPECT_TRUE(fs::is_symlink(path("link.json")));
  EXPECT_EQ(read(path("target.json")), "linked");
}

// A FIFO (or /dev/stdout on a pipe) is written, never renamed over.
TEST_F(Output, AFifoIsWrittenDirectly) {
  const std::string fifo = path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(refusal(fifo), "accepted");
  std::string received;
  std::thread reader([&] { received = read(fifo); });
  klab::write_output_file(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  expect_only({"fifo"});
}

// A private character device stands for /dev/null and /dev/full: written directly, the device
// stays a device, and a full one is an error. Making device nodes needs CAP_MKNOD.
TEST_F(Output, ACharacterDeviceIsWrittenDirectly) {
  const std::string null = path("null"), full = path("full");
  if (::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0 ||
      ::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0)
    GTEST_SKIP() << "cannot make device nodes here";
  if (refusal(null) != "accepted") GTEST_SKIP() << "devices cannot be opened here (nodev): " << refusal(null);
  klab::write_output_file(null, "discarded");
  EXPECT_TRUE(fs::is_character_file(null));
  try {
    klab::write_output_file(full, "no room");
    ADD_FAILURE() << "writing a full device succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write " + full + ": No space left on device");
  }
  EXPECT_TRUE(fs::is_character_file(full));
  klab::check_distinct_paths({{"--json", null}, {"--csv", null}});  // a device may take both
  expect_only({"null", "full"});
}

TEST_F(Output, WhatCannotTakeAResultsFileIsRefusedUpFront) {
  EXPECT_EQ(refusal(path("sub/")), "--json: ends in '/': name a file, not a folder");
  fs::create_directories(path("folder"));
  EXPECT_EQ(refusal(path("folder")), "--json: is a folder");
  std::ofstream(path("file")) << "x";
  EXPECT_EQ(refusal(path("file/r.json")), "--json: a part of the path is a file, not a folder");
  fs::permissions(path("file"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  EXPECT_EQ(refusal(path("file")), "--json: is read-only: make it writable, remove it or choose another path");
  const klab::testing::UnixSocket socket(path("socket"));
  EXPECT_EQ(refusal(path("socket")), "--json: is neither a file nor a device klab can write to (a socket?)");
  EXPECT_EQ(refusal(path("new/deeper/r.json")), "accepted");
  EXPECT_FALSE(fs::exists(path("new")));  // checking makes nothing
  EXPECT_EQ(read(path("file")), "x");
}

TEST_F(Output, TheSameFileTwiceIsRefused) {
  std::ofstream(path("deck.yaml")) << "run:";
  fs::create_hard_link(path("deck.yaml"), path("hard.yaml"));
  const auto refusal_of = [](const std::vector<std::pair<std::string, std::string>>& paths) {
    try {
      klab::check_distinct_paths(paths);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal_of({{"the deck", path("deck.yaml")}, {"--json", path("./deck.yaml")}}),
            "--json and the deck are the same file, " + path("./deck.yaml") + ": one would overwrite the other");
  EXPECT_EQ(refusal_of({{"the deck", path("deck.yaml")}, {"--csv", path("hard.yaml")}}),
            "--csv and the deck are the same file, " + path("hard.yaml") + ": one would overwrite the other");
  EXPECT_EQ(refusal_of({{"--json", path("r")}, {"--csv", path("sub/../r")}}),
            "--csv and --json are the same file, " + path("sub/../r") + ": one would overwrite the other");
  EXPECT_EQ(refusal_of({{"the deck", path("deck.yaml")}, {"--json", path("r.json")}, {"--csv", ""}}), "accepted");
}

// A second SIGINT while a results file is written ends klab at once (the signal's default
// action), and takes the temporary file with it. In a child process: it dies of the signal.
TEST_F(Output, ASecondSignalRemovesTheTemporaryFileBeforeEndingKlab) {
  const std::string temporary = path("r.json.tmp.123456");
  const pid_t child = ::fork();
  if (child == 0) {
    klab::install_interrupt_handlers();
    const int fd = ::open(temporary.c_str(), O_CREAT | O_WRONLY, 0644);
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    ::sigprocmask(SIG_BLOCK, &block, &previous);
    klab::remove_on_forced_exit(temporary.c_str());
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    ::raise(SIGINT);  // the first: recorded, klab carries on writing
    if (::access(temporary.c_str(), F_OK) != 0) ::_exit(3);
    ::raise(SIGINT);  // the second
    ::close(fd);
    ::_exit(4);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_FALSE(fs::exists(temporary));
}

TEST(Utf8, InvalidBytesAreFoundAndReplacedInJson) {
  EXPECT_EQ(klab::invalid_utf8_at("plain ascii, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x99\x82"), std::string::npos);
  EXPECT_EQ(klab::invalid_utf8_at("caf\xe9"), 3u);               // Latin-1
  EXPECT_EQ(klab::invalid_utf8_at("\xc0\xaf"), 0u);              // overlong '/'
  EXPECT_EQ(klab::invalid_utf8_at("a\xed\xa0\x80"), 1u);         // a surrogate
  EXPECT_EQ(klab::invalid_utf8_at("\xf4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(klab::invalid_utf8_at("ok\xe2\x82"), 2u);            // truncated
  const std::string json = klab::Json::object().set("path", "/tmp/caf\xe9.yaml").dump();
  EXPECT_EQ(klab::invalid_utf8_at(json), std::string::npos) << json;
  EXPECT_NE(json.find("caf\xef\xbf\xbd.yaml"), std::string::npos) << json;  // U+FFFD
}

TEST(Json, IntegersAreWrittenExactly) {
  const std::string json = klab::Json::object()
                               .set("seed", 9007199254740993ULL)
                               .set("big", 18446744073709551615ULL)
                               .set("negative", -3)
                               .set("real", 0.5)
                               .dump(0);
  EXPECT_EQ(json, "{\n\"seed\": 9007199254740993,\n\"big\": 18446744073709551615,\n\"negative\": -3,\n\"real\": 0.5\n}\n");
}

}  // namespace
