// Serve: a read-only local web view of a store (`mdfetch serve`), on cpp-httplib.
//
// Pages (plain HTML and CSS rendered on the server; no script, nothing from the network):
//   /                        every stored series: freshness, bars, first/last bar, last outcome,
//                            health findings; sortable (?sort=COLUMN&order=asc|desc); the quota
//                            spent in the last 24 h and the last run as the call log shows it
//   /series?s=SERIES         one series: its chart, range links, the last bars, a CSV link and
//                            its call log (SERIES as a symbol-list line writes it: "IBM",
//                            "EUR/USD fx_daily", "AAPL intraday:5min")
//   /series.csv?s=SERIES     the bars of the range as CSV (the columns of `query --format csv`)
//   /compare?s=A&s=B...      several series normalised to 100 at their first common bar
//   /chart.svg?s=A[&s=B...]  the chart of those pages alone
//   /style.css               the stylesheet
//   /api/status, /api/series, /api/bars, /api/calls, /api/compare: the same data as JSON
//   (README, "mdfetch serve").
// The range of a series is ?range=1M|6M|1Y|5Y|all (counted back from its newest bar; default
// 1Y) or ?from=YYYY-MM-DD&to=YYYY-MM-DD; at most kMaxRangeBars bars (the newest) are read.
// Every parameter is checked before the store is asked: an unknown parameter, a value that is
// not what it should be, a repeated single parameter is a 400 page; an unknown path or a series
// that is not stored a 404 page; any method but GET and HEAD a 405. Values reach the store only
// through the Store interface (bound parameters). Everything shown is HTML-escaped; the API key
// is never in the store, so never shown; the store's location is shown as Store::Location().
//
// Thread-safety: Start() and Stop() from one thread. Requests are answered on a small pool of
// threads, each taking a read-only Store from a pool of its own (a Store is one connection and
// not thread-safe), so requests read a consistent snapshot each while a refresh writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mdfetch/clock.h"
#include "mdfetch/result.h"

namespace mdfetch {

class Store;

// Bars read for one range at most (the newest ones in range).
inline constexpr int64_t kMaxRangeBars = 10'000;
// Series on one comparison at most.
inline constexpr size_t kMaxCompared = 8;

// Opens the store read-only (OpenMode::kReadOnly); called again whenever every opened Store is
// busy, so at most once per worker thread.
using StoreOpener = std::function<Result<std::unique_ptr<Store>>()>;

struct ServeOptions {
  std::string host = "127.0.0.1";  // the address to listen on: loopback unless told otherwise
  int port = 8765;                 // 0: any free port (tests)
  StoreOpener open_store;          // required
  Clock* clock = nullptr;          // required: wall time for freshness, health and the quota
  // The --rate the quota is counted against when no refresh recorded one (kDefaultRate).
  std::string default_rate = "5/min,25/day";
  int threads = 4;  // requests answered at once
};

// The server as `mdfetch serve` drives it, through the HTTP module (mdfetch/net.h).
class ViewServer {
 public:
  virtual ~ViewServer() = default;
  // Listens on options.host:port and answers on threads of its own; returns the port (the one
  // chosen for port 0). Fails "cannot listen on HOST:PORT" (in use, not an address here).
  virtual Result<int> Start() = 0;
  // Stops listening and waits for the requests in progress; idempotent.
  virtual void Stop() = 0;
  // "http://HOST:PORT" once started.
  virtual std::string BaseUrl() const = 0;
};

class Server final : public ViewServer {
 public:
  explicit Server(ServeOptions options);
  ~Server() override;  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Result<int> Start() override;
  void Stop() override;
  std::string BaseUrl() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mdfetch
