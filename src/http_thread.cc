#include "http_thread.h"

#include <fmt/format.h>

namespace mdfetch {

Result<int> HttpThread::Start(const std::string& host, int port,
                              const std::function<void()>& after_bind) {
  {
    std::lock_guard lock(mu_);
    const int bound = thread_.joinable()                 ? -1
                      : port == 0                        ? server_.bind_to_any_port(host)
                      : server_.bind_to_port(host, port) ? port
                                                         : -1;
    if (bound <= 0) return Fail(fmt::format("cannot listen on {}:{}", host, port));
    if (after_bind) after_bind();
    port_ = bound;
    serving_ = true;
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      std::lock_guard serving_lock(mu_);
      serving_ = false;
      cv_.notify_all();
    });
  }
  while (!server_.is_running()) {
    std::lock_guard lock(mu_);
    if (!serving_) return Fail(fmt::format("cannot listen on {}:{}", host, port));
  }
  return port_;
}

void HttpThread::Stop() {
  server_.stop();
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

void HttpThread::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !serving_; });
}

}  // namespace mdfetch
