// LoadNet for the mdfetch binary: mdfetch-net.so is loaded with dlopen the first time a
// command needs HTTP (mdfetch/net.h), from beside the binary: lib/mdfetch/ under the
// installation prefix, or the binary's own folder in a build tree.
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/net.h"

namespace mdfetch {
namespace {

constexpr std::string_view kModule = "mdfetch-net.so";

// The folder of the running binary ("" when /proc does not say).
std::string BinaryFolder() {
  std::array<char, PATH_MAX> path{};
  const ssize_t n = readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) return "";
  std::string_view exe(path.data(), static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(exe.substr(0, slash));
}

// Where the module is looked for, in order: installed, then in a build tree.
std::vector<std::string> Candidates() {
  const std::string folder = BinaryFolder();
  if (folder.empty()) return {};
  return {fmt::format("{}/../lib/mdfetch/{}", folder, kModule),
          fmt::format("{}/{}", folder, kModule)};
}

Result<const NetApi*> Load() {
  const std::vector<std::string> candidates = Candidates();
  if (candidates.empty()) {
    return Fail(
        fmt::format("cannot load mdfetch's HTTP module {}: /proc/self/exe does not say "
                    "where mdfetch is",
                    kModule));
  }
  for (const std::string& path : candidates) {
    if (access(path.c_str(), F_OK) != 0) continue;
    // RTLD_LOCAL: cpp-httplib's and OpenSSL's symbols stay the module's own. The handle stays
    // open for the life of the process (transports and servers live until the end).
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      return Fail(fmt::format("cannot load mdfetch's HTTP module '{}': {}", path,
                              why != nullptr ? why : "dlopen failed"));
    }
    using Entry = const NetApi* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "mdfetch_net_api"));
    const NetApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr) {
      return Fail(
          fmt::format("cannot load mdfetch's HTTP module '{}': it has no mdfetch_net_api", path));
    }
    if (std::string_view(api->version) != MDFETCH_VERSION) {
      return Fail(
          fmt::format("cannot load mdfetch's HTTP module '{}': it is of mdfetch {}, "
                      "this is mdfetch {} (reinstall mdfetch)",
                      path, api->version, MDFETCH_VERSION));
    }
    return api;
  }
  return Fail(
      fmt::format("cannot load mdfetch's HTTP module: no {} (looked for {} and {}); "
                  "reinstall mdfetch",
                  kModule, candidates[0], candidates[1]));
}

}  // namespace

Result<const NetApi*> LoadNet() {
  static const Result<const NetApi*> loaded = Load();  // thread-safe initialisation
  return loaded;
}

}  // namespace mdfetch
