#include "mdfetch/transport.h"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>

namespace mdfetch {
namespace {

std::string DescribeError(httplib::Error error, int64_t max_body_bytes, bool too_large) {
  if (too_large) return fmt::format("{} {} MiB refused", kAnswerTooLarge, max_body_bytes >> 20);
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect (connection refused or host unreachable)";
    case httplib::Error::Read:
      return "connection closed before the answer was complete";
    case httplib::Error::Write:
      return "connection reset while sending the request";
    case httplib::Error::ExceedRedirectCount:
      return "too many redirects";
    case httplib::Error::Canceled:
      return "call cancelled";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS certificate verification failed";
    case httplib::Error::ConnectionTimeout:
      return "timed out connecting";
    default:
      return fmt::format("HTTP transport error: {}", httplib::to_string(error));
  }
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(const std::string& base_url, const TransportOptions& options)
      : client_(base_url), options_(options) {
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    client_.set_connection_timeout(options.connect_timeout);
    client_.set_read_timeout(options.read_timeout);
    client_.set_write_timeout(options.read_timeout);
    client_.set_follow_location(false);
  }

  Result<HttpResponse> Get(const std::string& target) override {
    if (cancelled_.load()) return Fail("call cancelled");
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
      if (cancelled_.load()) return Fail("call cancelled");
      return Fail(DescribeError(result.error(), options_.max_body_bytes, too_large));
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
  return TransportFactory([url, options]() -> std::unique_ptr<Transport> {
    return std::make_unique<HttpTransport>(url, options);
  });
}

}  // namespace mdfetch
