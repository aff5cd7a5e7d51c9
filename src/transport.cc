#include "mdfetch/transport.h"

#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <charconv>

namespace mdfetch {
namespace {

// Whether the name of `host` ("name" or "name:port") resolves: httplib reports a failed
// lookup and a refused connection alike.
bool Resolves(std::string_view host) {
  if (const size_t colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  const std::string name(host);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (found != nullptr) ::freeaddrinfo(found);
  return rc == 0;
}

// Blocks SIGPIPE in the calling thread while it lives, and discards one raised meanwhile.
// OpenSSL writes with write(), not send(MSG_NOSIGNAL): a peer (or a proxy's tunnel) that
// hangs up during a TLS handshake must fail the call, not kill the process.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    already_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!already_pending_) {
      const timespec now{};
      while (sigtimedwait(&pipe_, nullptr, &now) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool already_pending_ = false;
};

// The status of an HTTP answer's head ("HTTP/1.0 403 Forbidden\r\n..."), or 0.
int StatusOf(std::string_view head) {
  if (!head.starts_with("HTTP/")) return 0;
  const size_t space = head.find(' ');
  if (space == std::string_view::npos || head.size() < space + 4) return 0;
  int status = 0;
  auto [end, ec] = std::from_chars(head.data() + space + 1, head.data() + space + 4, status);
  return ec == std::errc{} && end == head.data() + space + 4 ? status : 0;
}

// An SSLClient that reaches its host through a CONNECT tunnel it opens itself on a new
// connection to the proxy. httplib 0.11's own CONNECT deadlocks on its socket mutex when the
// proxy answers with "Connection: close" or HTTP/1.0 (yhirose/cpp-httplib#1590, fixed in
// 0.13), as proxies do when they refuse credentials, and after any other refusal it goes
// on to a TLS handshake with the proxy.
class TunnelClient final : public httplib::SSLClient {
 public:
  TunnelClient(const std::string& host, int port, ProxySettings proxy)
      : httplib::SSLClient(host, port), proxy_(std::move(proxy)) {}

  // Why the last new connection got no tunnel ("the proxy refused the tunnel (HTTP 403)"),
  // or "" when it got one or when the proxy could not be reached at all.
  const std::string& TunnelFailure() const { return failure_; }

 private:
  // httplib calls it, under its socket mutex, for each new connection; TLS follows.
  bool create_and_connect_socket(Socket& socket, httplib::Error& error) override {
    failure_.clear();
    if (!is_valid()) return false;
    const socket_t sock = httplib::detail::create_client_socket(
        proxy_.host, std::string(), proxy_.port, address_family_, tcp_nodelay_, socket_options_,
        connection_timeout_sec_, connection_timeout_usec_, read_timeout_sec_, read_timeout_usec_,
        write_timeout_sec_, write_timeout_usec_, interface_, error);
    if (sock == INVALID_SOCKET) return false;
    if (!OpenTunnel(sock)) {
      httplib::detail::close_socket(sock);
      error = httplib::Error::Connection;
      return false;
    }
    socket.sock = sock;
    return true;
  }

  bool OpenTunnel(socket_t sock) {
    std::string request = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", host_and_port_);
    if (!proxy_.user.empty()) {
      const auto [name, value] =
          httplib::make_basic_authentication_header(proxy_.user, proxy_.password, true);
      request += fmt::format("{}: {}\r\n", name, value);
    }
    request += "\r\n";
    std::string head;
    httplib::detail::process_client_socket(
        sock, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_, write_timeout_usec_,
        [&](httplib::Stream& stream) { return ReadAnswer(stream, request, head); });
    if (!failure_.empty()) return false;
    const int status = StatusOf(head);
    if (status >= 200 && status <= 299) return true;
    if (status == 407) {
      failure_ = proxy_.user.empty() ? "the proxy asks for credentials (HTTP 407)"
                                     : "the proxy refused the credentials (HTTP 407)";
    } else if (status == 0) {
      failure_ = "the proxy's answer to CONNECT is not HTTP";
    } else {
      failure_ = fmt::format("the proxy refused the tunnel (HTTP {})", status);
    }
    return false;
  }

  // Sends CONNECT and reads the answer's head: a tunnel's answer has no body, and nothing
  // comes after it before the TLS handshake begins.
  bool ReadAnswer(httplib::Stream& stream, const std::string& request, std::string& head) {
    if (stream.write(request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      failure_ = "connection reset while asking for a tunnel";
      return false;
    }
    char buffer[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = stream.read(buffer, sizeof buffer);
      if (n <= 0) {
        failure_ = n == 0 ? "the proxy closed the connection without answering"
                          : "the proxy did not answer";
        return false;
      }
      head.append(buffer, static_cast<size_t>(n));
      if (head.size() > 64 * 1024) {
        failure_ = "the proxy's answer to CONNECT is not HTTP";
        return false;
      }
    }
    return true;
  }

  ProxySettings proxy_;
  std::string failure_;
};

// What the message of a failed call says, beyond httplib's error.
struct CallContext {
  const std::string& host;  // "www.alphavantage.co": the service, as errors name it
  const std::optional<ProxySettings>& proxy;
  int64_t max_body_bytes = 0;
  bool too_large = false;  // the answer was refused for its size
};

// The error of a failed call, classified by whether the request can have left this machine:
// a call that never did costs no quota (ErrorCode::kNotSent), and its message names the
// host (and the proxy) so that an outage is reported as what it is.
Error DescribeError(httplib::Error error, const CallContext& call) {
  if (call.too_large) {
    return {ErrorCode::kPermanent,
            fmt::format("answer over {} MiB refused", call.max_body_bytes >> 20)};
  }
  // Through a proxy, httplib connects to the proxy in place of the service.
  const std::string unreached =
      call.proxy ? fmt::format("proxy {}", call.proxy->Address()) : call.host;
  const std::string through =
      call.proxy ? fmt::format("{} through proxy {}", call.host, call.proxy->Address()) : call.host;
  const auto not_sent = [&](std::string_view what, std::string_view why) {
    return Error{ErrorCode::kNotSent, fmt::format("cannot reach {}: {}", what, why)};
  };
  switch (error) {
    case httplib::Error::Connection:
      return Resolves(call.proxy ? call.proxy->Address() : call.host)
                 ? not_sent(unreached, "connection refused or host unreachable")
                 : not_sent(unreached, "name resolution failed");
    case httplib::Error::ConnectionTimeout:
      return not_sent(unreached, "timed out connecting");
    case httplib::Error::SSLConnection:
      return not_sent(through, "TLS handshake failed");
    case httplib::Error::SSLServerVerification:
      return not_sent(through, "TLS certificate verification failed");
    case httplib::Error::SSLLoadingCerts:
      return not_sent(through, "cannot load the system's CA certificates");
    case httplib::Error::Write:
      // The request was not sent whole: the service cannot have acted on it.
      return not_sent(through, "connection reset while sending the request");
    case httplib::Error::Read:
      return {ErrorCode::kTransient, "connection closed before the answer was complete"};
    case httplib::Error::ExceedRedirectCount:
      return {ErrorCode::kPermanent, "too many redirects"};
    case httplib::Error::Canceled:
      return {ErrorCode::kCancelled, "call cancelled"};
    default:
      return {ErrorCode::kTransient,
              fmt::format("HTTP transport error: {}", httplib::to_string(error))};
  }
}

// Where a base URL points.
struct Endpoint {
  bool https = true;
  std::string host;  // "www.alphavantage.co", "::1"
  int port = 443;
  std::string authority;  // "www.alphavantage.co", "[::1]:8080": how errors name it
};

std::optional<Endpoint> ParseBaseUrl(std::string_view url) {
  Endpoint endpoint;
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
    endpoint = Endpoint{.https = false, .port = 80};
  } else {
    return std::nullopt;
  }
  if (url.ends_with('/')) url.remove_suffix(1);
  if (url.empty() || url.find_first_of("/?#@ ") != std::string_view::npos) return std::nullopt;
  endpoint.authority = url;
  if (url.starts_with('[')) {
    const size_t close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    endpoint.host = url.substr(1, close - 1);
    url.remove_prefix(close + 1);
    if (!url.empty() && !url.starts_with(':')) return std::nullopt;
  } else {
    const size_t colon = url.find(':');
    endpoint.host = url.substr(0, colon);
    url.remove_prefix(colon == std::string_view::npos ? url.size() : colon);
  }
  if (endpoint.host.empty()) return std::nullopt;
  if (!url.empty()) {
    const std::string_view port = url.substr(1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
        endpoint.port < 1 || endpoint.port > 65535) {
      return std::nullopt;
    }
  }
  return endpoint;
}

std::unique_ptr<httplib::ClientImpl> MakeClient(const Endpoint& endpoint,
                                                const TransportOptions& options) {
  if (endpoint.https && options.proxy) {
    return std::make_unique<TunnelClient>(endpoint.host, endpoint.port, *options.proxy);
  }
  if (endpoint.https) return std::make_unique<httplib::SSLClient>(endpoint.host, endpoint.port);
  auto client = std::make_unique<httplib::ClientImpl>(endpoint.host, endpoint.port);
  if (options.proxy) {
    // Plain HTTP needs no tunnel: httplib sends the proxy the absolute URL.
    client->set_proxy(options.proxy->host, options.proxy->port);
    if (!options.proxy->user.empty()) {
      client->set_proxy_basic_auth(options.proxy->user, options.proxy->password);
    }
  }
  return client;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(const Endpoint& endpoint, const TransportOptions& options)
      : client_(MakeClient(endpoint, options)),
        tunnel_(dynamic_cast<TunnelClient*>(client_.get())),
        host_(endpoint.authority),
        options_(options) {
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);
    client_->set_connection_timeout(options.connect_timeout);
    client_->set_read_timeout(options.read_timeout);
    client_->set_write_timeout(options.read_timeout);
    client_->set_follow_location(false);
  }
  ~HttpTransport() override {
    SigpipeGuard no_sigpipe;  // closing a TLS connection writes to it
    client_.reset();
  }
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  Result<HttpResponse> Get(const std::string& target) override {
    if (cancelled_.load()) return Fail(ErrorCode::kCancelled, "call cancelled");
    SigpipeGuard no_sigpipe;
    HttpResponse response;
    bool too_large = false;
    auto result = client_->Get(
        target, httplib::Headers{},
        [&](const httplib::Response& head) {
          response.status = head.status;
          response.simulated = head.has_header(std::string(kSimulatorHeader).c_str());
          if (auto it = head.headers.find("Content-Length"); it != head.headers.end()) {
            int64_t length = std::strtoll(it->second.c_str(), nullptr, 10);
            if (length > options_.max_body_bytes) {
              too_large = true;
              return false;
            }
            if (length > 0) response.body.reserve(static_cast<size_t>(length));
          }
          return true;
        },
        [&](const char* data, size_t size) {
          if (static_cast<int64_t>(response.body.size() + size) > options_.max_body_bytes) {
            too_large = true;
            return false;
          }
          response.body.append(data, size);
          return true;
        });
    if (!result) {
      // A failed call may leave the connection half-read: start the next one afresh.
      client_->stop();
      if (cancelled_.load()) return Fail(ErrorCode::kCancelled, "call cancelled");
      if (tunnel_ != nullptr && !tunnel_->TunnelFailure().empty()) {
        return NotSentByProxy(tunnel_->TunnelFailure());
      }
      return std::unexpected(
          DescribeError(result.error(), {.host = host_,
                                         .proxy = options_.proxy,
                                         .max_body_bytes = options_.max_body_bytes,
                                         .too_large = too_large}));
    }
    // A 407 is the proxy's answer, not the service's: the call went no further.
    if (result->status == 407 && options_.proxy) {
      client_->stop();
      return NotSentByProxy(options_.proxy->user.empty()
                                ? "the proxy asks for credentials (HTTP 407)"
                                : "the proxy refused the credentials (HTTP 407)");
    }
    response.status = result->status;
    return response;
  }

  void Cancel() override {
    cancelled_.store(true);
    SigpipeGuard no_sigpipe;
    client_->stop();
  }

 private:
  Result<HttpResponse> NotSentByProxy(std::string_view why) const {
    return Fail(ErrorCode::kNotSent, fmt::format("cannot reach {} through proxy {}: {}", host_,
                                                 options_.proxy->Address(), why));
  }

  std::atomic<bool> cancelled_{false};
  std::unique_ptr<httplib::ClientImpl> client_;
  TunnelClient* tunnel_;  // client_, when it is one
  std::string host_;      // "www.alphavantage.co" or "127.0.0.1:8080": how errors name it
  TransportOptions options_;
};

}  // namespace

Result<TransportFactory> MakeHttpTransportFactory(const std::string& base_url,
                                                  const TransportOptions& options) {
  auto endpoint = ParseBaseUrl(base_url);
  if (!endpoint) {
    return Fail(fmt::format(
        "bad --base-url '{}': expected http://HOST[:PORT] or https://HOST[:PORT]", base_url));
  }
  return TransportFactory([endpoint = *endpoint, options]() -> std::unique_ptr<Transport> {
    return std::make_unique<HttpTransport>(endpoint, options);
  });
}

}  // namespace mdfetch
