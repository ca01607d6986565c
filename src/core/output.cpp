#include "core/output.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/interrupt.hpp"

namespace klab {

namespace {

namespace fs = std::filesystem;

std::string last_error() { return std::strerror(errno); }

// The file `path` names, symbolic links followed (also one to a file yet to be made): writing
// replaces the file linked to, not the link.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path file = fs::absolute(fs::path(path), ec);
  for (int links = 0; links < 40 && fs::is_symlink(file, ec); ++links) {
    const fs::path next = fs::read_symlink(file, ec);
    if (ec) break;
    file = next.is_absolute() ? next : file.parent_path() / next;
  }
  const fs::path canonical = fs::weakly_canonical(file, ec);
  return ec ? file : canonical;
}

bool written_directly(mode_t mode) { return S_ISCHR(mode) || S_ISFIFO(mode); }

// chattr +i or +a: a rename over the file would fail after the run.
bool immutable_or_append_only(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  const bool known = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  ::close(fd);
  return known && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0;
}

void write_all(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t wrote = ::write(fd, content.data() + done, content.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) throw std::runtime_error(last_error());
    done += static_cast<std::size_t>(wrote);
  }
}

// Creates an empty file named like `target` in its folder, for write_output_file, and names it
// for removal should klab be ended at once; SIGINT and SIGTERM wait meanwhile, so that the name is
// known to the handler before the file exists.
class TemporaryFile {
 public:
  TemporaryFile(const fs::path& target, mode_t mode) : name_(target.string() + ".tmp.XXXXXX") {
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &block, &previous);
    fd_ = ::mkostemp(name_.data(), O_CLOEXEC);
    const int error = errno;
    if (fd_ >= 0) remove_on_forced_exit(name_.c_str());
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (fd_ < 0) throw std::runtime_error("cannot create a file in " + target.parent_path().string() + ": " +
                                          std::strerror(error));
    ::fchmod(fd_, mode);
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(name_.c_str());
    remove_on_forced_exit(nullptr);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  // Writes, syncs and closes the file, then renames it to `target`.
  void commit(const std::string& content, const fs::path& target) {
    write_all(fd_, content);
    if (::fsync(fd_) != 0) throw std::runtime_error(last_error());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw std::runtime_error(last_error());
    if (::rename(name_.c_str(), target.c_str()) != 0) throw std::runtime_error("cannot replace it: " + last_error());
    kept_ = true;
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool kept_ = false;
};

mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

void check_output_path(const std::string& path, const std::string& what) {
  const auto fail = [&](const std::string& why) { throw std::invalid_argument(what + ": " + why); };
  if (path.empty()) fail("the file name is empty");
  if (path.back() == '/') fail("ends in '/': name a file, not a folder");
  const fs::path target = resolved(path);
  struct stat status {};
  if (::stat(target.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) fail("is a folder");
    if (written_directly(status.st_mode)) {
      if (::access(target.c_str(), W_OK) != 0) fail("cannot be written: " + last_error());
      return;
    }
    if (!S_ISREG(status.st_mode)) fail("is neither a file nor a device klab can write to (a socket?)");
    if (immutable_or_append_only(target)) fail("is immutable or append-only (chattr +i or +a)");
    if ((status.st_mode & 0222) == 0 || ::access(target.c_str(), W_OK) != 0)
      fail("is read-only: make it writable, remove it or choose another path");
  } else if (errno == ENOTDIR) {
    fail("a part of the path is a file, not a folder");
  } else if (errno != ENOENT) {
    fail(last_error());  // EACCES: a folder on the way is closed
  }
  // The folder it goes in, or the nearest one that exists, where the rest would be created.
  fs::path folder = target.parent_path();
  while (::stat(folder.c_str(), &status) != 0) {
    if (errno != ENOENT || !folder.has_relative_path()) fail("cannot reach " + folder.string() + ": " + last_error());
    folder = folder.parent_path();
  }
  if (!S_ISDIR(status.st_mode)) fail(folder.string() + " is not a folder");
  std::string probe = (folder / ".klab-probe.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("cannot create files in " + folder.string() + ": " + last_error());
  ::close(fd);
  ::unlink(probe.c_str());
}

void check_distinct_paths(const std::vector<std::pair<std::string, std::string>>& paths) {
  for (std::size_t i = 0; i < paths.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (paths[i].second.empty() || paths[j].second.empty()) continue;
      const fs::path a = resolved(paths[i].second), b = resolved(paths[j].second);
      std::error_code ec;
      const bool same = a == b || fs::equivalent(a, b, ec);  // equivalent: hard links too
      struct stat status {};
      if (!same || (::stat(a.c_str(), &status) == 0 && S_ISCHR(status.st_mode))) continue;
      throw std::invalid_argument(paths[i].first + " and " + paths[j].first + " are the same file, " +
                                  paths[i].second + ": one would overwrite the other");
    }
  }
}

void write_output_file(const std::string& path, const std::string& content) {
  const fs::path target = resolved(path);
  try {
    struct stat status {};
    const bool exists = ::stat(target.c_str(), &status) == 0;
    if (exists && written_directly(status.st_mode)) {
      const int fd = ::open(target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error(last_error());
      try {
        write_all(fd, content);
      } catch (...) {
        ::close(fd);
        throw;
      }
      if (::close(fd) != 0) throw std::runtime_error(last_error());
      return;
    }
    if (exists && !S_ISREG(status.st_mode)) throw std::runtime_error("not a regular file");
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create folder " + target.parent_path().string() + ": " + ec.message());
    TemporaryFile temporary(target, exists ? (status.st_mode & 07777) : new_file_mode());
    temporary.commit(content, target);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("cannot write " + path + ": " + e.what());
  }
}

}  // namespace klab
