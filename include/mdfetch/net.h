// What speaks HTTP: the transport to the service, the simulator's server and serve's web
// server, on cpp-httplib and OpenSSL. The `mdfetch` binary does not link them: they are in a
// module, `mdfetch-net.so` (installed in lib/mdfetch/ beside bin/), loaded with dlopen by the
// commands that need it (refresh, fetch, sim, serve), because loading cpp-httplib, OpenSSL and
// their libraries costs every start about 12 ms, more than a read command's own work
// (issue 13: read commands start like the sqlite3 shell; docs/performance.md).
//
// Tests and benchmarks link the same code into their binary (mdfetch_lib): LoadNet() gives
// it without loading anything.
#pragma once

#include <memory>
#include <string>

#include "mdfetch/result.h"
#include "mdfetch/serve.h"
#include "mdfetch/simulator.h"
#include "mdfetch/transport.h"

namespace mdfetch {

// The functions of the module. A module built from another version of mdfetch is refused
// (these are C++ types: both sides must be the same build).
struct NetApi {
  const char* version;  // MDFETCH_VERSION of the module
  Result<TransportFactory> (*make_transport_factory)(const std::string& base_url,
                                                     const TransportOptions& options);
  std::unique_ptr<SimServer> (*make_simulator)(SimOptions options);
  std::unique_ptr<ViewServer> (*make_view_server)(ServeOptions options);
};

// The module's functions: loaded once (thread-safe) in the mdfetch binary, where a module that
// cannot be found or loaded fails with "cannot load mdfetch's HTTP module 'PATH': WHY"; linked
// in tests and benchmarks.
Result<const NetApi*> LoadNet();

// The table the module gives (src/net_module.cc), for LoadNet in a binary that links it.
const NetApi& LinkedNet();

}  // namespace mdfetch
