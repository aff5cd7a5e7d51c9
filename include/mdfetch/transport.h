// Transport: one blocking HTTP GET at a time over a kept-alive connection.
//
// The engine holds one Transport per call in flight; a Transport is not thread-safe except
// for Cancel(), which any thread may call to abort the call in progress (used on SIGINT).
// The real transport wraps cpp-httplib (HTTPS for the real service, with timeouts and a cap
// on the body size, through an HTTP proxy when TransportOptions::proxy says so); tests use a
// fake that records every request. The only module that includes httplib.h (besides the
// simulator).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/proxy.h"
#include "mdfetch/result.h"

namespace mdfetch {

struct HttpResponse {
  int status = 0;
  std::string body;
  bool simulated = false;  // the answer carries the mdfetch simulator's header
};

// The header the mdfetch simulator puts on every answer.
inline constexpr std::string_view kSimulatorHeader = "X-Mdfetch-Simulator";

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{30000};
  // Answers over this size are refused, not buffered without bound (a full daily history is
  // about 1 MB; a full intraday month about 10 MB).
  int64_t max_body_bytes = 64 << 20;
  // The HTTP proxy every call goes through (ResolveProxy chooses it); none: connect directly.
  // An https:// base URL is reached through a CONNECT tunnel (the proxy sees the host name,
  // never the query), an http:// one by sending the proxy the absolute URL. The proxy's
  // credentials, if any, go in Proxy-Authorization (basic); no error message holds them.
  std::optional<ProxySettings> proxy;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // GETs `target` ("/query?function=...") from the base URL. Any HTTP status is a response
  // but a proxy's 407 (a proxy's own 5xx to an http:// URL cannot be told from the
  // service's: it is a response). Failures are errors whose text never contains the
  // target's query (it holds the API key) nor the proxy's credentials, and whose code says
  // whether the request can have reached the service:
  //  - kNotSent: it never left this machine ("cannot reach HOST: name resolution failed",
  //    "... connection refused or host unreachable", "... timed out connecting", "... TLS
  //    handshake failed", "... connection reset while sending the request"), or the proxy
  //    did not pass it on. Through a proxy, a failure to connect names the proxy ("cannot
  //    reach proxy 10.0.0.1:3128: connection refused or host unreachable"), and the rest
  //    name both ("cannot reach HOST through proxy 10.0.0.1:3128: " and "TLS handshake
  //    failed", "the proxy refused the tunnel (HTTP 403)", "the proxy closed the connection
  //    without answering", "the proxy did not answer", "the proxy refused the credentials
  //    (HTTP 407)", "the proxy asks for credentials (HTTP 407)", ...);
  //  - kTransient: sent, but no whole answer came ("connection closed before the answer was
  //    complete", a read timeout);
  //  - kPermanent: "answer over 64 MiB refused", "too many redirects";
  //  - kCancelled: "call cancelled" (Cancel()).
  virtual Result<HttpResponse> Get(const std::string& target) = 0;
  // Aborts the call in progress, and fails every later Get() at once with "call cancelled".
  virtual void Cancel() = 0;
};

using TransportFactory = std::function<std::unique_ptr<Transport>()>;

// A transport to `base_url` ("https://www.alphavantage.co", "http://127.0.0.1:8080").
// Fails on a URL it cannot use: "bad --base-url 'X': expected http://HOST[:PORT] or
// https://HOST[:PORT]".
Result<TransportFactory> MakeHttpTransportFactory(const std::string& base_url,
                                                  const TransportOptions& options);

}  // namespace mdfetch
