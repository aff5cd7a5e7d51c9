// Proxy: which HTTP proxy a call to the service goes through, chosen from the environment
// the way curl chooses it.
//
//   https://... base URL  https_proxy, else HTTPS_PROXY (a lower-case variable that is set
//                         wins, even when empty)
//   http://...  base URL  http_proxy only: like curl, upper-case HTTP_PROXY is ignored, since
//                         a CGI program gets the request's "Proxy:" header as HTTP_PROXY
//                         ("httpoxy")
//   either                no_proxy, else NO_PROXY: a host it names is contacted directly
//
// An empty value means no proxy. ALL_PROXY is not read (it usually names a SOCKS proxy,
// which the transport cannot use). The proxy is `http://[user:password@]HOST[:PORT][/]` or
// `HOST[:PORT]`; the port defaults to 1080, as in curl, so that one value means the same to
// both. User and password may be percent-encoded (`%40` for '@'). For an https:// base URL
// the proxy is asked to CONNECT a tunnel, so it never sees the API key in clear.
//
// Pure functions of their arguments (the environment comes through a lookup function, so
// tests pass a fake one); thread-safe. No message ever holds the proxy's password.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/result.h"

namespace mdfetch {

inline constexpr int kDefaultProxyPort = 1080;

struct ProxySettings {
  std::string host;  // "proxy.example.com", "10.0.0.1" or "::1" (no brackets)
  int port = kDefaultProxyPort;
  std::string user;      // empty: no credentials
  std::string password;  // non-empty when `user` is (ParseProxyUrl refuses a user without one)

  // "HOST:PORT" ("[::1]:3128"): how transport errors name the proxy.
  std::string Address() const;
  // "http://HOST:PORT", or "http://***@HOST:PORT" with credentials: how messages show it.
  std::string Display() const;
};

// Reads one environment variable: its value, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// The proxy for calls to `base_url` ("https://www.alphavantage.co"), or nullopt to connect
// directly: no variable for its scheme is set or it is empty, no_proxy/NO_PROXY names its
// host, or the URL is neither http:// nor https:// (MakeHttpTransportFactory reports that).
// A null `getenv` is an empty environment. Fails on a value it cannot use, naming the
// variable, with any credentials in it shown as "***": "bad https_proxy 'ftp://x': expected
// http://[user:password@]HOST[:PORT]".
Result<std::optional<ProxySettings>> ResolveProxy(std::string_view base_url,
                                                  const EnvLookup& getenv);

// Parses the value of the proxy variable `variable` (for messages), as ResolveProxy does.
Result<ProxySettings> ParseProxyUrl(std::string_view variable, std::string_view value);

// Whether the no_proxy list `no_proxy` names `host` (a URL's host, without port or brackets):
// a comma (or space) separated list of entries, each
//  - `*`: every host;
//  - a host name or domain (`example.com`, `.example.com`, case-insensitive, a trailing dot
//    ignored): that host and every host under it, never `badexample.com`;
//  - an IP address (`10.1.2.3`, `::1`, `[::1]`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`):
//    a host written as an address in it. Names are not resolved: `127.0.0.1` does not
//    exempt `localhost`.
bool NoProxyMatches(std::string_view no_proxy, std::string_view host);

// The host of a URL as transport errors name it ("www.alphavantage.co", "127.0.0.1:8080"):
// what follows "://" up to the path; the whole text when it has no "://".
std::string_view UrlAuthority(std::string_view url);

}  // namespace mdfetch
