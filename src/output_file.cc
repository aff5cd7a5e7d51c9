#include "output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>

namespace mdfetch {
namespace {

namespace fs = std::filesystem;

std::string CannotWrite(const std::string& path, std::string_view reason) {
  return fmt::format("cannot write '{}': {}", path, reason);
}

// The descriptor a path names by number: /dev/stdout (1), /dev/stderr (2), /dev/fd/N,
// /proc/self/fd/N and /proc/PID/fd/N of this process. Those are written in place: following
// them would reach "pipe:[123]", a terminal, or a file the shell opened (perhaps to append),
// none of which may be replaced.
std::optional<int> DescriptorOf(std::string_view path) {
  if (path == "/dev/stdin") return 0;
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  std::string_view number;
  const std::string own = fmt::format("/proc/{}/fd/", ::getpid());
  for (std::string_view prefix :
       {std::string_view("/dev/fd/"), std::string_view("/proc/self/fd/"), std::string_view(own)}) {
    if (path.starts_with(prefix)) number = path.substr(prefix.size());
  }
  int fd = -1;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), fd);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    return std::nullopt;
  }
  return fd;
}

// Where a chain of symbolic links ends (the path itself when it is none); the target need
// not exist. Stops early at a path that names a descriptor.
Result<std::string> FollowLinks(const std::string& path) {
  fs::path current = path;
  for (int hops = 0; hops < 40; ++hops) {
    if (DescriptorOf(current.string())) return current.string();
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current.string();
    std::error_code ec;
    fs::path target = fs::read_symlink(current, ec);
    if (ec) return Fail(CannotWrite(path, ec.message()));
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  return Fail(CannotWrite(path, std::strerror(ELOOP)));
}

}  // namespace

OutputFile::OutputFile(std::string path, std::FILE* stream, bool owned, std::string final_path,
                       std::string temp_path)
    : path_(std::move(path)),
      stream_(stream),
      owned_(owned),
      final_path_(std::move(final_path)),
      temp_path_(std::move(temp_path)) {}

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path, std::FILE* std_out) {
  auto make = [&](std::FILE* stream, bool owned, std::string final_path, std::string temp) {
    return std::unique_ptr<OutputFile>(
        new OutputFile(path, stream, owned, std::move(final_path), std::move(temp)));
  };
  if (path == "-") return make(std_out, false, "", "");
  auto resolved = FollowLinks(path);
  if (!resolved) return std::unexpected(resolved.error());
  const std::string& target = *resolved;

  if (auto fd = DescriptorOf(target)) {
    if (*fd == 1) return make(std_out, false, "", "");
    const int copy = ::fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    std::FILE* stream = copy < 0 ? nullptr : ::fdopen(copy, "wb");
    if (stream == nullptr) {
      const int error = errno;
      if (copy >= 0) ::close(copy);
      return Fail(CannotWrite(path, std::strerror(error)));
    }
    return make(stream, true, "", "");
  }

  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Fail(CannotWrite(path, "is a directory"));
  if (exists && !S_ISREG(st.st_mode)) {
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
      return Fail(CannotWrite(path, "not a file, a named pipe or a device"));
    }
    // In place: no O_CREAT (never make a file where the node was), no O_TRUNC.
    const int fd = ::open(target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    std::FILE* stream = fd < 0 ? nullptr : ::fdopen(fd, "wb");
    if (stream == nullptr) {
      const int error = errno;
      if (fd >= 0) ::close(fd);
      return Fail(CannotWrite(path, std::strerror(error)));
    }
    return make(stream, true, "", "");
  }

  // A regular file, or none yet: a fresh temporary file beside it (O_EXCL: never through a
  // link someone else put there), with the mode of the file it replaces.
  for (int attempt = 0;; ++attempt) {
    std::string temp = fmt::format("{}.tmp-{}-{}", target, ::getpid(), attempt);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST && attempt < 100) continue;
    if (fd < 0) return Fail(CannotWrite(path, std::strerror(errno)));
    if (exists) (void)::fchmod(fd, st.st_mode & 07777);
    std::FILE* stream = ::fdopen(fd, "wb");
    if (stream == nullptr) {
      const int error = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return Fail(CannotWrite(path, std::strerror(error)));
    }
    return make(stream, true, target, std::move(temp));
  }
}

OutputFile::~OutputFile() {
  if (!done_) Abandon();
}

void OutputFile::Record(int error) {
  if (error_ == 0) error_ = error != 0 ? error : EIO;
}

bool OutputFile::Write(std::string_view data) {
  if (error_ != 0 || done_) return false;
  if (std::fwrite(data.data(), 1, data.size(), stream_) != data.size()) Record(errno);
  return error_ == 0;
}

Status OutputFile::Commit() {
  if (done_) return Fail(CannotWrite(path_, "already closed"));
  done_ = true;
  if (error_ == 0 && std::fflush(stream_) != 0) Record(errno);
  if (error_ == 0 && std::ferror(stream_)) Record(EIO);
  if (error_ == 0 && replaces() && ::fsync(::fileno(stream_)) != 0) Record(errno);
  if (owned_) {
    if (std::fclose(stream_) != 0) Record(errno);
    stream_ = nullptr;
  }
  if (error_ == 0 && replaces() && std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    Record(errno);
  }
  if (error_ != 0) {
    if (replaces()) ::unlink(temp_path_.c_str());
    return Fail(CannotWrite(path_, std::strerror(error_)));
  }
  return {};
}

void OutputFile::Abandon() {
  if (stream_ != nullptr && owned_) std::fclose(stream_);
  stream_ = nullptr;
  if (replaces() && !done_) ::unlink(temp_path_.c_str());
  done_ = true;
}

}  // namespace mdfetch
