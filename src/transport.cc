#include "mdfetch/transport.h"

#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>

#include <atomic>

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

// The error of a failed call, classified by whether the request can have left this machine:
// a call that never did costs no quota (ErrorCode::kNotSent), and its message names the
// host so that an outage is reported as what it is.
Error DescribeError(httplib::Error error, const std::string& host, int64_t max_body_bytes,
                    bool too_large) {
  if (too_large) {
    return {ErrorCode::kPermanent, fmt::format("answer over {} MiB refused", max_body_bytes >> 20)};
  }
  const auto not_sent = [&](std::string_view why) {
    return Error{ErrorCode::kNotSent, fmt::format("cannot reach {}: {}", host, why)};
  };
  switch (error) {
    case httplib::Error::Connection:
      return Resolves(host) ? not_sent("connection refused or host unreachable")
                            : not_sent("name resolution failed");
    case httplib::Error::ConnectionTimeout:
      return not_sent("timed out connecting");
    case httplib::Error::SSLConnection:
      return not_sent("TLS handshake failed");
    case httplib::Error::SSLServerVerification:
      return not_sent("TLS certificate verification failed");
    case httplib::Error::SSLLoadingCerts:
      return not_sent("cannot load the system's CA certificates");
    case httplib::Error::Write:
      // The request was not sent whole: the service cannot have acted on it.
      return not_sent("connection reset while sending the request");
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

class HttpTransport final : public Transport {
 public:
  HttpTransport(const std::string& base_url, std::string host, const TransportOptions& options)
      : client_(base_url), host_(std::move(host)), options_(options) {
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    client_.set_connection_timeout(options.connect_timeout);
    client_.set_read_timeout(options.read_timeout);
    client_.set_write_timeout(options.read_timeout);
    client_.set_follow_location(false);
  }

  Result<HttpResponse> Get(const std::string& target) override {
    if (cancelled_.load()) return Fail(ErrorCode::kCancelled, "call cancelled");
    HttpResponse response;
    bool too_large = false;
    auto result = client_.Get(
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
      client_.stop();
      if (cancelled_.load()) return Fail(ErrorCode::kCancelled, "call cancelled");
      return std::unexpected(
          DescribeError(result.error(), host_, options_.max_body_bytes, too_large));
    }
    response.status = result->status;
    return response;
  }

  void Cancel() override {
    cancelled_.store(true);
    client_.stop();
  }

 private:
  std::atomic<bool> cancelled_{false};
  httplib::Client client_;
  std::string host_;  // "www.alphavantage.co" or "127.0.0.1:8080": how errors name it
  TransportOptions options_;
};

}  // namespace

Result<TransportFactory> MakeHttpTransportFactory(const std::string& base_url,
                                                  const TransportOptions& options) {
  auto bad = [&] {
    return Fail(fmt::format(
        "bad --base-url '{}': expected http://HOST[:PORT] or https://HOST[:PORT]", base_url));
  };
  std::string_view rest = base_url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad();
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return bad();
  std::string url = base_url;
  if (url.ends_with('/')) url.pop_back();
  std::string host(rest);
  return TransportFactory([url, host, options]() -> std::unique_ptr<Transport> {
    return std::make_unique<HttpTransport>(url, host, options);
  });
}

}  // namespace mdfetch
