// The Alpha Vantage simulator's server. What is modelled:
// - GET /query with function, symbol (from_symbol/to_symbol for FX_DAILY, symbol/market for
//   DIGITAL_CURRENCY_DAILY), outputsize, interval and apikey; answers are HTTP 200 JSON in the
//   service's layout, the refusals carry the service's exact texts (ALPHAVANTAGE.md §4.1).
// - Intraday `adjusted`, `extended_hours` and `month` as simulator.h describes (compact = the
//   newest 100 bars of the month, full = all of it); the meta data does not mention them.
// - Checks in the service's order: apikey, then injected faults, then the sliding-window
//   throttle, the daily cap, premium functions, the free key's outputsize=full refusal, an
//   unknown function or symbol, and finally data. Throttled calls do not count toward the
//   window or the cap; faults and a missing key count toward neither.
// - Faults: HTTP 500, HTTP 503 with Heroku's "Application Error" page, a connection closed
//   before any body byte (reset), a body cut mid-way as the connection closes (truncation), a
//   complete HTTP 200 whose JSON is cut short (malformed), a slow answer, and fixed latency.
//   cpp-httplib 0.11 writes the status line and headers before any content provider runs, so
//   "reset" and "truncation" both send headers promising the full Content-Length, then make
//   the provider fail, which closes the socket: a cpp-httplib client sees Error::Read.
// Not modelled: datatype=csv, GLOBAL_QUOTE/SYMBOL_SEARCH and other functions (they get the
// unknown-function error), intraday `entitlement`, the demo key, and a daily reset of the cap.
#include "mdfetch/simulator.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "mdfetch/transport.h"
#include "simulator_internal.h"

namespace mdfetch {
namespace {

using Steady = std::chrono::steady_clock;

constexpr size_t kCompactBars = 100;
// Each keep-alive connection holds a worker thread for its lifetime, so the pool must be
// larger than any client's concurrency; and connections should not be recycled every 5 calls.
constexpr size_t kWorkerThreads = 64;
constexpr size_t kKeepAliveMaxCount = 100000;

// What one call gets. Decided under the lock; the body is built outside it.
enum class Outcome {
  kMissingKey,
  kHttp500,
  kHttp503,
  kReset,
  kTruncate,
  kMalformed,
  kThrottled,
  kDailyLimited,
  kContent,  // the answer that depends on the request alone: data, Error Message or premium
};

// The request-only answers, in the order the service checks them.
enum class ContentKind { kUnknownFunction, kPremium, kPremiumFull, kInvalidCall, kData };

struct Call {
  std::string function_name;
  std::optional<Function> function;
  SeriesKey key;  // symbol upper-case, "FROM/TO" for FX and crypto
  OutputSize size = OutputSize::kCompact;
  std::string apikey;
  Date last_session;          // of the simulator when the call arrived
  std::string month;          // intraday `month`, empty when absent
  bool valid_options = true;  // intraday `adjusted`, `extended_hours` and `month`
};

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Pair(const httplib::Request& req, const char* from, const char* to) {
  const std::string a = req.get_param_value(from), b = req.get_param_value(to);
  return a.empty() || b.empty() ? std::string() : Upper(a) + "/" + Upper(b);
}

// An intraday switch: absent = true (the service's default), else true/false in any case.
bool ParseSwitch(const httplib::Request& req, const char* name, bool& value) {
  if (!req.has_param(name)) return true;
  const std::string text = Upper(req.get_param_value(name));
  if (text != "TRUE" && text != "FALSE") return false;
  value = text == "TRUE";
  return true;
}

// The service takes any month since 2000-01; the simulator has none after its last session.
bool ValidMonth(const httplib::Request& req, Date last_session) {
  if (!req.has_param("month")) return true;
  const auto month = ParseMonth(req.get_param_value("month"));
  return month && *month >= std::chrono::year(2000) / std::chrono::January &&
         *month <= last_session.year() / last_session.month();
}

void ParseIntradayOptions(const httplib::Request& req, Call& call) {
  call.key.interval = req.get_param_value("interval");
  call.month = req.get_param_value("month");
  call.valid_options = ParseSwitch(req, "adjusted", call.key.adjusted) &&
                       ParseSwitch(req, "extended_hours", call.key.extended_hours) &&
                       ValidMonth(req, call.last_session);
}

Call ParseCall(const httplib::Request& req, Date last_session) {
  Call call;
  call.last_session = last_session;
  call.function_name = req.get_param_value("function");
  call.apikey = req.get_param_value("apikey");
  call.size =
      Upper(req.get_param_value("outputsize")) == "FULL" ? OutputSize::kFull : OutputSize::kCompact;
  const std::string upper = Upper(call.function_name);
  call.function = ParseFunction(upper);
  if (call.function && ApiName(*call.function) != upper) call.function.reset();
  const Function f = call.function.value_or(Function::kDaily);
  call.key.function = f;
  if (f == Function::kFxDaily) {
    call.key.symbol = Pair(req, "from_symbol", "to_symbol");
  } else if (f == Function::kCryptoDaily) {
    call.key.symbol = Pair(req, "symbol", "market");
  } else {
    call.key.symbol = Upper(req.get_param_value("symbol"));
  }
  if (f == Function::kIntraday) ParseIntradayOptions(req, call);
  return call;
}

}  // namespace

struct Simulator::Impl {
  explicit Impl(SimOptions o) : options(std::move(o)), rng(options.seed) {
    for (const auto& [symbol, n] : options.fail_first) fail_first_left[Upper(symbol)] = n;
    for (const auto& s : options.unknown_symbols) unknown_symbols.insert(Upper(s));
  }

  void Handle(const httplib::Request& req, httplib::Response& res);
  Outcome Decide(const Call& call, std::chrono::milliseconds& delay);
  std::optional<Outcome> DrawFault(const Call& call, std::chrono::milliseconds& delay);
  bool Throttled();
  ContentKind Classify(const Call& call) const;
  std::string ContentBody(const Call& call) const;
  void Respond(const Call& call, Outcome outcome, httplib::Response& res) const;

  const SimOptions options;
  std::set<std::string> unknown_symbols;  // upper-case
  httplib::Server server;
  std::thread thread;
  int port = 0;
  socket_t listen_fd = -1;

  mutable std::mutex mu;  // guards everything below
  SimStats stats;
  std::mt19937_64 rng;
  std::deque<Steady::time_point> window_calls;
  int64_t daily_calls = 0;
  std::map<std::string, int> fail_first_left;

  std::mutex run_mu;  // guards `serving` and joining `thread`
  std::condition_variable run_cv;
  bool serving = false;
};

void Simulator::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  const Call call = ParseCall(
      req, options.last_session.value_or(LastSessionDate(std::chrono::system_clock::now())));
  std::chrono::milliseconds delay{0};
  const Outcome outcome = Decide(call, delay);
  if (delay > std::chrono::milliseconds(0)) std::this_thread::sleep_for(delay);
  Respond(call, outcome, res);
}

Outcome Simulator::Impl::Decide(const Call& call, std::chrono::milliseconds& delay) {
  std::lock_guard lock(mu);
  ++stats.calls;
  if (!call.key.symbol.empty()) ++stats.calls_by_symbol[call.key.symbol];
  delay = options.latency;
  if (call.apikey.empty()) {
    ++stats.errors;
    return Outcome::kMissingKey;
  }
  if (const auto fault = DrawFault(call, delay)) {
    ++stats.faults;
    return *fault;
  }
  if (Throttled()) {
    ++stats.throttled;
    return Outcome::kThrottled;
  }
  if (options.daily_limit > 0 && daily_calls >= options.daily_limit) {
    ++stats.daily_limited;
    return Outcome::kDailyLimited;
  }
  ++daily_calls;
  switch (Classify(call)) {
    case ContentKind::kUnknownFunction:
    case ContentKind::kInvalidCall:
      ++stats.errors;
      break;
    case ContentKind::kPremium:
    case ContentKind::kPremiumFull:
      ++stats.premium;
      break;
    case ContentKind::kData:
      ++stats.served;
      break;
  }
  return Outcome::kContent;
}

std::optional<Outcome> Simulator::Impl::DrawFault(const Call& call,
                                                  std::chrono::milliseconds& delay) {
  // Every call draws all six numbers, so one fault's probability does not shift the
  // sequence the others see.
  auto hit = [this](double p) { return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p; };
  const bool http500 = hit(options.p_http500), http503 = hit(options.p_http503);
  const bool reset = hit(options.p_reset), truncate = hit(options.p_truncate);
  const bool malformed = hit(options.p_malformed), slow = hit(options.p_slow);
  if (slow) delay += options.slow_delay;
  if (auto it = fail_first_left.find(call.key.symbol); it != fail_first_left.end()) {
    if (it->second > 0) {
      --it->second;
      return Outcome::kHttp503;
    }
  }
  if (http500) return Outcome::kHttp500;
  if (http503) return Outcome::kHttp503;
  if (reset) return Outcome::kReset;
  if (truncate) return Outcome::kTruncate;
  if (malformed) return Outcome::kMalformed;
  return std::nullopt;
}

bool Simulator::Impl::Throttled() {
  if (options.window_limit <= 0) return false;
  const auto now = Steady::now();
  while (!window_calls.empty() && now - window_calls.front() >= options.window) {
    window_calls.pop_front();
  }
  if (static_cast<int64_t>(window_calls.size()) >= options.window_limit) return true;
  window_calls.push_back(now);
  return false;
}

ContentKind Simulator::Impl::Classify(const Call& call) const {
  if (!call.function) return ContentKind::kUnknownFunction;
  const Function f = *call.function;
  if (options.premium_functions.contains(f)) return ContentKind::kPremium;
  if (options.free_key && f == Function::kDaily && call.size == OutputSize::kFull) {
    return ContentKind::kPremiumFull;
  }
  const std::string& symbol = call.key.symbol;
  if (symbol.empty() || symbol.starts_with("INVALID") || unknown_symbols.contains(symbol)) {
    return ContentKind::kInvalidCall;
  }
  // Deep history that fails the service's QA: `full` is an invalid call, compact works.
  if (call.size == OutputSize::kFull && options.full_refused_symbols.contains(symbol)) {
    return ContentKind::kInvalidCall;
  }
  if (f == Function::kIntraday && (!IsValidInterval(call.key.interval) || !call.valid_options)) {
    return ContentKind::kInvalidCall;
  }
  return ContentKind::kData;
}

std::string Simulator::Impl::ContentBody(const Call& call) const {
  switch (Classify(call)) {
    case ContentKind::kUnknownFunction:
      return sim::UnknownFunctionBody(call.function_name);
    case ContentKind::kInvalidCall:
      return sim::InvalidCallBody(call.key.function);
    case ContentKind::kPremium:
      return sim::PremiumBody();
    case ContentKind::kPremiumFull:
      return sim::PremiumFullBody();
    case ContentKind::kData:
      break;
  }
  const std::vector<Bar> bars = History(call.key, call.last_session, call.month);
  std::span<const Bar> served(bars);
  if (TakesOutputSize(call.key.function) && call.size == OutputSize::kCompact &&
      served.size() > kCompactBars) {
    served = served.last(kCompactBars);
  }
  const OutputSize shown = TakesOutputSize(call.key.function) ? call.size : OutputSize::kFull;
  return sim::RenderSeries(call.key, shown, served);
}

void Simulator::Impl::Respond(const Call& call, Outcome outcome, httplib::Response& res) const {
  // Every answer says it is simulated, so a client can keep simulated bars out of a real store.
  res.set_header(std::string(kSimulatorHeader), "1");
  constexpr const char* kJson = "application/json";
  switch (outcome) {
    case Outcome::kMissingKey:
      return res.set_content(sim::MissingKeyBody(), kJson);
    case Outcome::kHttp500:
      res.status = 500;
      return res.set_content(std::string(sim::Http500Page()), "text/html");
    case Outcome::kHttp503:
      res.status = 503;
      return res.set_content(std::string(sim::Http503Page()), "text/html");
    case Outcome::kThrottled:
      return res.set_content(sim::ThrottleBody(options.note_style), kJson);
    case Outcome::kDailyLimited:
      return res.set_content(sim::DailyLimitBody(call.apikey, options.daily_limit), kJson);
    case Outcome::kContent:
      return res.set_content(ContentBody(call), kJson);
    case Outcome::kMalformed: {
      std::string body = ContentBody(call);
      body.resize(body.size() / 2);  // any proper prefix of a JSON object is invalid JSON
      return res.set_content(body, kJson);
    }
    case Outcome::kReset:
    case Outcome::kTruncate: {
      auto body = std::make_shared<const std::string>(ContentBody(call));
      const size_t sent = outcome == Outcome::kReset ? 0 : body->size() / 2;
      // The provider's `false` makes cpp-httplib close the socket before the promised
      // Content-Length has been sent.
      return res.set_content_provider(body->size(), kJson,
                                      [body, sent](size_t, size_t, httplib::DataSink& sink) {
                                        if (sent > 0) sink.write(body->data(), sent);
                                        return false;
                                      });
    }
  }
}

Simulator::Simulator(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& server = impl_->server;
  server.set_tcp_nodelay(true);  // without it each keep-alive answer waits ~26 ms (Nagle)
  server.set_keep_alive_max_count(kKeepAliveMaxCount);
  // httplib's default options add SO_REUSEPORT, which would let a second simulator bind the
  // same port and silently share its calls. Keep SO_REUSEADDR only, and note the listening
  // socket to widen its backlog after bind.
  server.set_socket_options([impl = impl_.get()](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl->listen_fd = sock;
  });
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.Get("/query", [impl = impl_.get()](const httplib::Request& req, httplib::Response& res) {
    impl->Handle(req, res);
  });
}

Simulator::~Simulator() { Stop(); }

Result<int> Simulator::Start(int port) {
  auto& server = impl_->server;
  {
    std::lock_guard lock(impl_->run_mu);
    const int bound = impl_->thread.joinable() ? -1
                      : port == 0              ? server.bind_to_any_port("127.0.0.1")
                      : server.bind_to_port("127.0.0.1", port) ? port
                                                               : -1;
    if (bound <= 0) return Fail(fmt::format("cannot listen on 127.0.0.1:{}", port));
    // httplib listens with a backlog of 5: a burst of connects would overflow it and wait
    // for SYN retransmits (1 s). Listening again on Linux only resizes the queue.
    (void)::listen(impl_->listen_fd, SOMAXCONN);
    impl_->port = bound;
    impl_->serving = true;
    impl_->thread = std::thread([impl = impl_.get()] {
      impl->server.listen_after_bind();
      std::lock_guard serving_lock(impl->run_mu);
      impl->serving = false;
      impl->run_cv.notify_all();
    });
  }
  // The socket already listens; wait until the accept loop runs too, because
  // httplib::Server::stop() is a no-op before that and Stop() would then hang.
  while (!server.is_running()) {
    std::lock_guard lock(impl_->run_mu);
    if (!impl_->serving) return Fail(fmt::format("cannot listen on 127.0.0.1:{}", port));
  }
  return impl_->port;
}

void Simulator::Wait() {
  std::unique_lock lock(impl_->run_mu);
  impl_->run_cv.wait(lock, [this] { return !impl_->serving; });
}

void Simulator::Stop() {
  // httplib closes the listening socket at once, but a worker serving an idle keep-alive
  // connection only notices after its keep-alive timeout (5 s): clients should close first.
  impl_->server.stop();
  std::thread thread;
  {
    std::lock_guard lock(impl_->run_mu);
    thread = std::move(impl_->thread);
  }
  if (thread.joinable()) thread.join();
}

std::string Simulator::BaseUrl() const { return fmt::format("http://127.0.0.1:{}", impl_->port); }

SimStats Simulator::Stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace mdfetch
