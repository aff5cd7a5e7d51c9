// A forward HTTP proxy on 127.0.0.1 for the proxy tests, on plain sockets, that records what
// it is asked. One request per connection, served in turn on one thread:
//  - `GET http://127.0.0.1:PORT/path HTTP/1.1` is passed on to that loopback port with
//    "Connection: close", and the answer relayed as it came (it says "Connection: close", so
//    the client opens a new connection for its next call);
//  - `CONNECT host:port` is answered with `connect_answer` (hung up on when empty): no tunnel
//    is ever made;
//  - with `required_authorization` set, a request whose Proxy-Authorization differs is
//    answered 407.
// The destructor stops accepting and joins the thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mdfetch {

class LoggingProxy {
 public:
  struct Options {
    std::string required_authorization;  // "Basic ..."; empty: any, or none
    std::string connect_answer;          // "HTTP/1.1 403 Forbidden"; empty: hang up
  };
  struct Seen {
    std::string request_line;  // "GET http://127.0.0.1:8080/query?... HTTP/1.1"
    std::string proxy_authorization;
  };

  explicit LoggingProxy(Options options = {}) : options_(std::move(options)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;  // Port() stays 0
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoggingProxy() {
    // Wakes the accept() in progress with an error: the loop ends.
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  LoggingProxy(const LoggingProxy&) = delete;
  LoggingProxy& operator=(const LoggingProxy&) = delete;

  int Port() const { return port_; }
  std::vector<Seen> Requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void Serve() {
    for (;;) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) {
        if (errno == EINTR) continue;
        return;
      }
      // A client that never sends must fail the test, not hang it.
      timeval timeout{.tv_sec = 30, .tv_usec = 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      Handle(client);
      ::close(client);
    }
  }

  void Handle(int client) {
    const std::string head = ReadHead(client);
    if (head.empty()) return;
    Seen seen{.request_line = head.substr(0, head.find("\r\n")),
              .proxy_authorization = Header(head, "proxy-authorization")};
    {
      std::lock_guard lock(mu_);
      seen_.push_back(seen);
    }
    if (!options_.required_authorization.empty() &&
        seen.proxy_authorization != options_.required_authorization) {
      SendAll(client,
              "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
              "realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    if (seen.request_line.starts_with("CONNECT ")) {
      if (!options_.connect_answer.empty()) {
        SendAll(client, options_.connect_answer + "\r\nContent-Length: 0\r\n\r\n");
      }
      return;
    }
    Forward(client, seen.request_line);
  }

  void Forward(int client, std::string_view request_line) {
    constexpr std::string_view kPrefix = "GET http://127.0.0.1:";
    const size_t path = request_line.find('/', kPrefix.size());
    const size_t version = request_line.rfind(' ');
    if (!request_line.starts_with(kPrefix) || path == std::string_view::npos || version < path) {
      SendAll(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const std::string port(request_line.substr(kPrefix.size(), path - kPrefix.size()));
    const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      SendAll(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    } else {
      SendAll(upstream, "GET " + std::string(request_line.substr(path, version - path)) +
                            " HTTP/1.1\r\nHost: 127.0.0.1:" + port +
                            "\r\nConnection: close\r\n\r\n");
      char buffer[1 << 14];
      ssize_t n;
      while ((n = ::recv(upstream, buffer, sizeof buffer, 0)) > 0) {
        SendAll(client, std::string_view(buffer, static_cast<size_t>(n)));
      }
    }
    ::close(upstream);
  }

  // The request up to its blank line (a GET or CONNECT has no body); empty on EOF first.
  static std::string ReadHead(int socket) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(socket, buffer, sizeof buffer, 0);
      if (n <= 0) return {};
      head.append(buffer, static_cast<size_t>(n));
    }
    return head;
  }

  // The value of header `name` (lower-case) in `head`, or "".
  static std::string Header(const std::string& head, std::string_view name) {
    size_t line = head.find("\r\n");
    while (line != std::string::npos && line + 2 < head.size()) {
      const size_t start = line + 2;
      line = head.find("\r\n", start);
      const std::string text = head.substr(start, line - start);
      const size_t colon = text.find(':');
      std::string key = text.substr(0, colon);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const size_t value = text.find_first_not_of(' ', colon + 1);
      if (colon != std::string::npos && key == name && value != std::string::npos) {
        return text.substr(value);
      }
    }
    return {};
  }

  static void SendAll(int socket, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(socket, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  Options options_;
  int listener_ = -1;
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

}  // namespace mdfetch
