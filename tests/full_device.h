// A device that refuses every write with ENOSPC, as /dev/full does, for the tests of a full
// disk. Run as root (CI), a node of the test's own in `dir` (mknod c 1 7): an implementation
// that wrongly replaces the path then replaces that node, never the machine's /dev/full (which
// root could rename over, and once did). Otherwise /dev/full itself, which a user cannot
// replace. nullopt: no such device can be had here.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

namespace mdfetch {

inline std::optional<std::string> FullDevice(const std::filesystem::path& dir) {
  if (geteuid() == 0) {
    const std::filesystem::path node = dir / "full-device";
    if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) return std::nullopt;
    return node.string();
  }
  if (!std::filesystem::is_character_file("/dev/full")) return std::nullopt;
  return std::string("/dev/full");
}

}  // namespace mdfetch
