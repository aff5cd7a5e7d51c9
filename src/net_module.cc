// The HTTP module's table (mdfetch/net.h), and the entry point the mdfetch binary looks up
// in mdfetch-net.so.
#include <memory>

#include "mdfetch/net.h"

namespace mdfetch {

const NetApi& LinkedNet() {
  static const NetApi api{
      MDFETCH_VERSION,
      [](const std::string& base_url, const TransportOptions& options) {
        return MakeHttpTransportFactory(base_url, options);
      },
      [](SimOptions options) -> std::unique_ptr<SimServer> {
        return std::make_unique<Simulator>(std::move(options));
      },
      [](ServeOptions options) -> std::unique_ptr<ViewServer> {
        return std::make_unique<Server>(std::move(options));
      },
  };
  return api;
}

}  // namespace mdfetch

// Looked up by name (src/net_load.cc): one symbol, not mangled.
extern "C" __attribute__((visibility("default"))) const mdfetch::NetApi* mdfetch_net_api() {
  return &mdfetch::LinkedNet();
}
