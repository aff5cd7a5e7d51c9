#include "mdfetch/proxy.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

namespace mdfetch {
namespace {

constexpr std::string_view kExpected = "http://[user:password@]HOST[:PORT]";

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return Lower(x) == Lower(y); });
}

// The value as a message may show it: whatever precedes the last '@' of the authority (the
// user and password, well formed or not) becomes "***".
std::string RedactUserInfo(std::string_view value) {
  const size_t scheme_end = value.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t at = value.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(value);
  return fmt::format("{}***{}", value.substr(0, start), value.substr(at));
}

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

struct Address {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  int bits = 32;  // the address's length in bits
};

std::optional<Address> ParseAddress(std::string_view text) {
  const std::string s(text);
  Address address;
  if (::inet_pton(AF_INET, s.c_str(), address.bytes.data()) == 1) return address;
  address = Address{.family = AF_INET6, .bits = 128};
  if (::inet_pton(AF_INET6, s.c_str(), address.bytes.data()) == 1) return address;
  return std::nullopt;
}

// A host name ("Proxy.Example.COM.") or address ("[::1]") as it is compared: lower-case,
// without brackets or a trailing dot.
std::string Normalize(std::string_view name) {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string out(name);
  std::ranges::transform(out, out.begin(), Lower);
  return out;
}

// Whether `entry` ("10.0.0.1", "10.0.0.0/8", "fd00::/8") holds the address `host`.
bool AddressMatches(const Address& host, std::string_view entry) {
  const size_t slash = entry.find('/');
  auto net = ParseAddress(entry.substr(0, slash));
  if (!net || net->family != host.family) return false;
  int bits = net->bits;
  if (slash != std::string_view::npos) {
    std::string_view prefix = entry.substr(slash + 1);
    auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    if (ec != std::errc{} || end != prefix.data() + prefix.size() || bits < 0 || bits > net->bits) {
      return false;
    }
  }
  for (int bit = 0; bit < bits; ++bit) {
    const auto byte = static_cast<size_t>(bit / 8);
    const auto mask = static_cast<unsigned char>(0x80u >> (bit % 8));
    if ((host.bytes[byte] & mask) != (net->bytes[byte] & mask)) return false;
  }
  return true;
}

bool NameMatches(std::string_view host, std::string_view entry) {
  if (entry.starts_with('.')) entry.remove_prefix(1);
  if (entry.empty()) return false;
  if (host == entry) return true;
  return host.size() > entry.size() && host.ends_with(entry) &&
         host[host.size() - entry.size() - 1] == '.';
}

bool ValidHostName(std::string_view host) {
  return !host.empty() && std::ranges::all_of(host, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

// The first of `names` that is set, and its value: curl's order of precedence.
std::optional<std::pair<const char*, std::string>> FirstSet(const EnvLookup& getenv,
                                                            std::span<const char* const> names) {
  if (!getenv) return std::nullopt;
  for (const char* name : names) {
    if (auto value = getenv(name)) return std::pair{name, std::move(*value)};
  }
  return std::nullopt;
}

// "host" of "host:port" or "[::1]:port".
std::string_view HostOf(std::string_view authority) {
  if (authority.starts_with('[')) return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

}  // namespace

std::string ProxySettings::Address() const {
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port)
                                             : fmt::format("[{}]:{}", host, port);
}

std::string ProxySettings::Display() const {
  return fmt::format("http://{}{}", user.empty() ? "" : "***@", Address());
}

std::string_view UrlAuthority(std::string_view url) {
  if (const size_t sep = url.find("://"); sep != std::string_view::npos) {
    url.remove_prefix(sep + 3);
  }
  return url.substr(0, url.find_first_of("/?#"));
}

Result<ProxySettings> ParseProxyUrl(std::string_view variable, std::string_view value) {
  const auto bad = [&] {
    return Fail(
        fmt::format("bad {} '{}': expected {}", variable, RedactUserInfo(value), kExpected));
  };
  std::string_view rest = value;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    if (!EqualsIgnoringCase(rest.substr(0, sep), "http")) return bad();
    rest.remove_prefix(sep + 3);
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  ProxySettings proxy;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    auto password = PercentDecode(colon == std::string_view::npos ? std::string_view()
                                                                  : userinfo.substr(colon + 1));
    if (!user || !password || user->empty()) return bad();
    // cpp-httplib sends no credentials at all for a user without a password: say so rather
    // than let the proxy refuse calls for a reason nobody can see.
    if (password->empty()) {
      return Fail(fmt::format("bad {} '{}': the proxy user has no password (expected {})", variable,
                              RedactUserInfo(value), kExpected));
    }
    proxy.user = std::move(*user);
    proxy.password = std::move(*password);
    rest.remove_prefix(at + 1);
  }
  std::optional<std::string_view> port;  // after a ':'
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad();
    proxy.host = rest.substr(1, close - 1);
    if (auto address = ParseAddress(proxy.host); !address || address->family != AF_INET6) {
      return bad();
    }
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return bad();
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = rest.find(':');
    proxy.host = rest.substr(0, colon);
    if (!ValidHostName(proxy.host)) return bad();
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (port) {
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), proxy.port);
    if (port->empty() || ec != std::errc{} || end != port->data() + port->size() ||
        proxy.port < 1 || proxy.port > 65535) {
      return bad();
    }
  }
  return proxy;
}

bool NoProxyMatches(std::string_view no_proxy, std::string_view host) {
  const std::string name = Normalize(host);
  const std::optional<Address> address = ParseAddress(name);
  size_t pos = 0;
  while (pos < no_proxy.size()) {
    const size_t end = std::min(no_proxy.find_first_of(", \t", pos), no_proxy.size());
    const std::string_view entry = no_proxy.substr(pos, end - pos);
    pos = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (address ? AddressMatches(*address, Normalize(entry))
                : NameMatches(name, Normalize(entry))) {
      return true;
    }
  }
  return false;
}

Result<std::optional<ProxySettings>> ResolveProxy(std::string_view base_url,
                                                  const EnvLookup& getenv) {
  static constexpr std::array<const char*, 2> kHttps = {"https_proxy", "HTTPS_PROXY"};
  static constexpr std::array<const char*, 1> kHttp = {"http_proxy"};
  static constexpr std::array<const char*, 2> kNoProxy = {"no_proxy", "NO_PROXY"};
  std::span<const char* const> names;
  if (base_url.starts_with("https://")) {
    names = kHttps;
  } else if (base_url.starts_with("http://")) {
    names = kHttp;
  } else {
    return std::optional<ProxySettings>();
  }
  auto proxy = FirstSet(getenv, names);
  if (!proxy || proxy->second.empty()) return std::optional<ProxySettings>();
  if (auto no_proxy = FirstSet(getenv, kNoProxy);
      no_proxy && NoProxyMatches(no_proxy->second, HostOf(UrlAuthority(base_url)))) {
    return std::optional<ProxySettings>();
  }
  auto parsed = ParseProxyUrl(proxy->first, proxy->second);
  if (!parsed) return std::unexpected(parsed.error());
  return std::optional<ProxySettings>(std::move(*parsed));
}

}  // namespace mdfetch
