// An httplib::Server's accept loop on a thread of its own, for the simulator and `serve`.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "mdfetch/result.h"

namespace mdfetch {

// Start binds and returns once the loop runs (httplib::Server::stop() does nothing before
// it, and a Stop() then would hang); Stop ends the loop and joins; Wait blocks until the loop
// has ended. The server must outlive this. Thread-safe.
class HttpThread {
 public:
  explicit HttpThread(httplib::Server& server) : server_(server) {}
  ~HttpThread() { Stop(); }
  HttpThread(const HttpThread&) = delete;
  HttpThread& operator=(const HttpThread&) = delete;

  // Binds host:port (0: any free port), runs `after_bind` on the bound socket's owner (e.g.
  // to resize the listen queue), starts the loop: the port bound, or "cannot listen on
  // HOST:PORT" (also when already started).
  Result<int> Start(const std::string& host, int port,
                    const std::function<void()>& after_bind = nullptr);
  void Stop();
  void Wait();
  // The port bound by the last Start that succeeded.
  int port() const { return port_; }

 private:
  httplib::Server& server_;
  std::mutex mu_;  // guards serving_ and joining thread_
  std::condition_variable cv_;
  bool serving_ = false;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace mdfetch
