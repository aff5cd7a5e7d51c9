// Server: serve's HTTP side on cpp-httplib (the only file of serve that includes httplib.h).
// Each request borrows a read-only Store from a pool and hands it to Site::Handle.
#include "mdfetch/serve.h"

#include <fmt/format.h>
#include <httplib.h>

#include <mutex>
#include <thread>

#include "http_thread.h"
#include "mdfetch/store.h"
#include "serve_internal.h"

namespace mdfetch {
namespace serve {

// The read-only Stores of the workers: a request takes one (or opens one when all are busy)
// and gives it back when it is answered.
class StorePool {
 public:
  explicit StorePool(StoreOpener open) : open_(std::move(open)) {}
  Result<std::unique_ptr<Store>> Take() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<Store> store = std::move(free_.back());
        free_.pop_back();
        return store;
      }
    }
    return open_();
  }
  void Give(std::unique_ptr<Store> store) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(store));
  }

 private:
  StoreOpener open_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Store>> free_;
};

}  // namespace serve

namespace {

void Answer(const serve::Reply& reply, httplib::Response& res) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  // Nothing of ours comes from elsewhere, and nothing runs: inline SVG and styles only.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
  if (!reply.filename.empty()) {
    res.set_header("Content-Disposition",
                   fmt::format("attachment; filename=\"{}\"", reply.filename));
  }
}

}  // namespace

struct Server::Impl {
  explicit Impl(ServeOptions o)
      : options(std::move(o)),
        pool(options.open_store),
        site(*options.clock, options.default_rate) {}

  void Handle(const httplib::Request& req, httplib::Response& res) {
    if (!serve::Site::Known(req.path)) {
      return Answer({.status = 404,
                     .body = req.path.starts_with("/api/")
                                 ? serve::ErrorJson("no such route")
                                 : serve::ErrorPage(404, fmt::format("no page at {}", req.path))},
                    res);
    }
    serve::Params params(req.params.begin(), req.params.end());
    auto store = pool.Take();
    if (!store) {
      return Answer({.status = 503, .body = serve::ErrorPage(503, store.error().message)}, res);
    }
    Answer(site.Handle(req.path, params, **store), res);
    pool.Give(std::move(*store));
  }

  ServeOptions options;
  serve::StorePool pool;
  serve::Site site;
  httplib::Server server;
  HttpThread http{server};
};

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& server = impl_->server;
  server.set_tcp_nodelay(true);
  // httplib's default adds SO_REUSEPORT, which lets a second server bind the same port and
  // take half of its connections: only SO_REUSEADDR (a restart while old connections linger).
  server.set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // A browser keeps connections open; Stop() waits for each worker's keep-alive to run out.
  server.set_keep_alive_timeout(1);
  server.set_payload_max_length(1 << 16);
  const int threads = std::max(1, impl_->options.threads);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.Get(".*", [impl = impl_.get()](const httplib::Request& req, httplib::Response& res) {
    impl->Handle(req, res);
  });
  auto refuse = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET, HEAD");
    Answer({.status = 405, .body = serve::ErrorPage(405, "this server only reads: GET or HEAD")},
           res);
  };
  server.Post(".*", refuse);
  server.Put(".*", refuse);
  server.Patch(".*", refuse);
  server.Delete(".*", refuse);
  server.Options(".*", refuse);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Answer({.status = 500, .body = serve::ErrorPage(500, "internal error")}, res);
      });
}

Server::~Server() { Stop(); }

Result<int> Server::Start() { return impl_->http.Start(impl_->options.host, impl_->options.port); }

void Server::Stop() { impl_->http.Stop(); }

std::string Server::BaseUrl() const {
  const std::string& host = impl_->options.host;
  return fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host,
                     impl_->http.port());
}

}  // namespace mdfetch
