// `mdfetch serve`: the read-only web view (serve.h) in the foreground, until SIGINT or SIGTERM.

#include <charconv>
#include <optional>

#include "cli_commands.h"
#include "mdfetch/net.h"
#include "mdfetch/store.h"
#include "stop_signals.h"

namespace mdfetch {

Result<Listen> ParseListen(std::string_view text) {
  const size_t colon = text.rfind(':');
  auto bad = [&](std::string_view why) {
    return Fail(fmt::format("bad --listen '{}': {} (expected HOST:PORT, e.g. 127.0.0.1:8765)",
                            Printable(text), why));
  };
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8765
  }
  if (host.empty()) return bad("no host");
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  return Listen{std::string(host), port};
}

Outcome RunServe(const ServeArgs& args, CliEnv& env) {
  auto listen = ParseListen(args.listen);
  if (!listen) return Exit(kExitUsage, "{}", listen.error().message);
  // Opened once here, so that a missing store is a usage error before anything listens.
  std::string db;
  auto first = OpenReadDb(args.db, env, db);
  if (!first) return Exit(kExitUsage, "{}", first.error().message);
  first->reset();
  const std::string location = ResolveDb(args.db, env, kDefaultDb);

  auto net = LoadNet();
  if (!net) return Exit(kExitFailed, "{}", net.error().message);

  std::optional<StopSignals> signals;
  if (env.handle_signals) signals.emplace();  // before the server's threads start

  std::unique_ptr<ViewServer> server = (*net)->make_view_server(
      ServeOptions{.host = listen->host,
                   .port = listen->port,
                   .open_store = [location] { return Store::Open(location, OpenMode::kReadOnly); },
                   .clock = env.clock,
                   .default_rate = kDefaultRate});
  auto port = server->Start();
  if (!port) return Exit(kExitUsage, "{}", port.error().message);
  fmt::print(env.out, "serving {} read-only on {}/ ; Ctrl-C stops it\n", db, server->BaseUrl());
  std::fflush(env.out);
  if (!signals) return kExitOk;  // tests: started and stopped
  signals->Wait();
  server->Stop();
  fmt::print(env.out, "stopped\n");
  return kExitOk;
}

}  // namespace mdfetch
