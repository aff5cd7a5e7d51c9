// `mdfetch sim`: the simulator in the foreground, until SIGINT or SIGTERM.
#include <cerrno>
#include <cstring>
#include <memory>

#include "cli_commands.h"
#include "mdfetch/net.h"
#include "stop_signals.h"

namespace mdfetch {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Outcome RunSim(const SimArgs& args, CliEnv& env) {
  // Opened before anything starts, so a bad path is a usage error and no call goes unlogged.
  std::unique_ptr<std::FILE, FileCloser> log;
  if (!args.log.empty()) {
    log.reset(std::fopen(args.log.c_str(), "a"));
    if (!log) {
      return Exit(kExitUsage, "cannot open --log '{}': {}", args.log, std::strerror(errno));
    }
  }
  SimOptions options;
  options.window_limit = args.window_limit;
  options.window = std::chrono::seconds(args.window_seconds);
  options.daily_limit = args.daily_limit;
  options.free_key = args.free_key;
  options.p_http500 = options.p_http503 = options.p_reset = options.p_truncate =
      options.p_malformed = args.fault_rate;
  options.seed = args.seed;
  options.clock = env.clock;
  options.log = log.get();

  auto net = LoadNet();
  if (!net) return Exit(kExitFailed, "{}", net.error().message);

  StopSignals signals;  // before the server's threads start

  std::unique_ptr<SimServer> simulator = (*net)->make_simulator(options);
  auto port = simulator->Start(args.port);
  if (!port) {
    return Exit(kExitUsage, "{}", port.error().message);
  }
  fmt::print(env.out, "simulator listening on {} (GET /query?function=...); Ctrl-C stops it\n",
             simulator->BaseUrl());
  std::fflush(env.out);
  signals.Wait();
  simulator->Stop();
  SimStats stats = simulator->Stats();
  fmt::print(env.out, "simulator stopped: {} calls, {} served, {} throttled, {} faults\n",
             stats.calls, stats.served, stats.throttled, stats.faults);
  return kExitOk;
}

}  // namespace mdfetch
