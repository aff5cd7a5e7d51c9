// WriterLock: flock() on "<db>.lock". The kernel drops the lock with the last descriptor of
// the open file description, so a killed refresh never leaves a stale lock behind; the pid
// written into the file only serves to name the holder.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "mdfetch/store.h"

namespace mdfetch {
namespace {

std::optional<long> ReadPid(int fd) {
  std::array<char, 32> buffer{};
  ssize_t n = ::pread(fd, buffer.data(), buffer.size(), 0);
  if (n <= 0) return std::nullopt;
  long pid = 0;
  const char* end = buffer.data() + n;
  auto [ptr, ec] = std::from_chars(buffer.data(), end, pid);
  if (ec != std::errc() || ptr == buffer.data() || pid <= 0) return std::nullopt;
  return pid;
}

void WritePid(int fd) {
  std::string pid = fmt::format("{}\n", ::getpid());
  // Best effort: the lock is held whether or not the pid can be written.
  if (::ftruncate(fd, 0) == 0) {
    if (::pwrite(fd, pid.data(), pid.size(), 0) < 0) return;
  }
}

}  // namespace

Result<WriterLock> WriterLock::Acquire(const std::string& db_path) {
  if (db_path == ":memory:") return WriterLock(-1);  // nobody else can reach it
  std::string lock_path = db_path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(fmt::format("cannot create lock file '{}': {}", lock_path, std::strerror(errno)));
  }
  WriterLock lock(fd);  // closes the file on every path below
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    if (error != EWOULDBLOCK) {
      return Fail(fmt::format("cannot lock '{}': {}", lock_path, std::strerror(error)));
    }
    std::optional<long> pid = ReadPid(fd);
    return Fail(
        fmt::format("{} is being refreshed by another mdfetch{}; try again when it finishes",
                    db_path, pid ? fmt::format(" (pid {})", *pid) : ""));
  }
  WritePid(fd);
  return lock;
}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

WriterLock& WriterLock::operator=(WriterLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mdfetch
