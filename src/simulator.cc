// The Alpha Vantage simulator's server. What is modelled:
// - GET /query with function, symbol (from_symbol/to_symbol for FX_DAILY, symbol/market for
//   DIGITAL_CURRENCY_DAILY), outputsize, interval and apikey; answers are HTTP 200 JSON in the
//   service's layout, the refusals carry the service's exact texts (ALPHAVANTAGE.md §4.1).
// - Intraday `adjusted`, `extended_hours` and `month` as simulator.h describes (compact = the
//   newest 100 bars of the month, full = all of it); the meta data does not mention them.
// - Checks in the service's order: apikey, then injected faults, then the sliding-window
//   throttle, the daily cap, premium functions (those of the free key included), the free
//   key's outputsize=full refusal, an unknown function or symbol, and finally data. Throttled
//   calls do not count toward the window or the cap; faults and a missing key count toward
//   neither.
// - Faults: HTTP 500, HTTP 503 with Heroku's "Application Error" page, a connection closed
//   before any body byte (reset), a body cut mid-way as the connection closes (truncation), a
//   complete HTTP 200 whose JSON is cut short (malformed), a slow answer, and fixed latency.
//   cpp-httplib 0.11 writes the status line and headers before any content provider runs, so
//   "reset" and "truncation" both send headers promising the full Content-Length, then make
//   the provider fail, which closes the socket: a cpp-httplib client sees Error::Read.
// - Time from the injected clock (simulator.h), and the request log: each line is written
//   once the answer is decided and built, before it is sent.
// Not modelled: datatype=csv, GLOBAL_QUOTE/SYMBOL_SEARCH and other functions (they get the
// unknown-function error), intraday `entitlement`, and the demo key.
#include "mdfetch/simulator.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "http_thread.h"
#include "mdfetch/transport.h"
#include "simulator_internal.h"

namespace mdfetch {
namespace {

using sim::Call;
using sim::ContentKind;
using sim::Outcome;

constexpr size_t kCompactBars = 100;
// Each keep-alive connection holds a worker thread for its lifetime, so the pool must be
// larger than any client's concurrency; and connections should not be recycled every 5 calls.
constexpr size_t kWorkerThreads = 64;
constexpr size_t kKeepAliveMaxCount = 100000;

// What one call gets, and how long it waits for it.
struct Verdict {
  Outcome outcome = Outcome::kContent;
  ContentKind content = ContentKind::kData;  // for kContent, kMalformed, kReset, kTruncate
  std::chrono::milliseconds delay{0};
  bool slow = false;
};

// What was sent, for the log.
struct Sent {
  int status = 200;
  size_t bytes = 0;
};

// What a free key is refused as a premium endpoint (README, "Which functions a free key
// gets"); `outputsize=full` of TIME_SERIES_DAILY is refused apart, as a premium feature.
bool PremiumForFreeKey(Function f) {
  return f == Function::kDailyAdjusted || f == Function::kIntraday;
}

}  // namespace

struct Simulator::Impl {
  explicit Impl(SimOptions o)
      : options(std::move(o)),
        owned_clock(options.clock != nullptr ? nullptr : std::make_unique<RealClock>()),
        clock(options.clock != nullptr ? options.clock : owned_clock.get()),
        rng(options.seed) {
    for (const auto& [symbol, n] : options.fail_first) fail_first_left[sim::Upper(symbol)] = n;
    for (const auto& s : options.unknown_symbols) unknown_symbols.insert(sim::Upper(s));
  }

  void Handle(const httplib::Request& req, httplib::Response& res);
  Verdict Decide(const Call& call);
  std::optional<Outcome> DrawFault(const Call& call, Verdict& verdict);
  bool Throttled();
  bool DailyLimited(Date utc_today);
  ContentKind Classify(const Call& call) const;
  std::string ContentBody(const Call& call, ContentKind kind) const;
  Sent Respond(const Call& call, const Verdict& verdict, httplib::Response& res) const;
  void Log(WallTime at, const httplib::Request& req, const Verdict& verdict, Sent sent);

  const SimOptions options;
  const std::unique_ptr<Clock> owned_clock;  // when options.clock is nullptr
  Clock* const clock;
  std::set<std::string> unknown_symbols;  // upper-case
  httplib::Server server;
  HttpThread http{server};
  socket_t listen_fd = -1;

  mutable std::mutex mu;  // guards everything below
  SimStats stats;
  std::mt19937_64 rng;
  std::deque<SteadyTime> window_calls;
  std::chrono::sys_days daily_day{};  // the UTC day `daily_calls` counts
  int64_t daily_calls = 0;
  std::map<std::string, int> fail_first_left;

  std::mutex log_mu;  // serializes whole lines of options.log
};

void Simulator::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  const WallTime now = clock->WallNow();
  const Date utc_today{std::chrono::floor<std::chrono::days>(now)};
  const Call call =
      sim::ParseCall(req, options.last_session.value_or(LastSessionDate(now)), utc_today);
  const Verdict verdict = Decide(call);
  // A real sleep whatever the clock: it stands for the network, not for the service's time.
  if (verdict.delay > std::chrono::milliseconds(0)) std::this_thread::sleep_for(verdict.delay);
  const Sent sent = Respond(call, verdict, res);
  if (options.log != nullptr) Log(now, req, verdict, sent);
}

Verdict Simulator::Impl::Decide(const Call& call) {
  std::lock_guard lock(mu);
  ++stats.calls;
  if (!call.key.symbol.empty()) ++stats.calls_by_symbol[call.key.symbol];
  Verdict verdict;
  verdict.delay = options.latency;
  if (call.apikey.empty()) {
    ++stats.errors;
    verdict.outcome = Outcome::kMissingKey;
    return verdict;
  }
  verdict.content = Classify(call);
  if (const auto fault = DrawFault(call, verdict)) {
    ++stats.faults;
    verdict.outcome = *fault;
    return verdict;
  }
  if (Throttled()) {
    ++stats.throttled;
    verdict.outcome = Outcome::kThrottled;
    return verdict;
  }
  if (DailyLimited(call.utc_today)) {
    ++stats.daily_limited;
    verdict.outcome = Outcome::kDailyLimited;
    return verdict;
  }
  switch (verdict.content) {
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
  return verdict;
}

std::optional<Outcome> Simulator::Impl::DrawFault(const Call& call, Verdict& verdict) {
  // Every call draws all six numbers, so one fault's probability does not shift the
  // sequence the others see.
  auto hit = [this](double p) { return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p; };
  const bool http500 = hit(options.p_http500), http503 = hit(options.p_http503);
  const bool reset = hit(options.p_reset), truncate = hit(options.p_truncate);
  const bool malformed = hit(options.p_malformed), slow = hit(options.p_slow);
  if (slow) {
    verdict.delay += options.slow_delay;
    verdict.slow = true;
  }
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
  const SteadyTime now = clock->Now();
  while (!window_calls.empty() && now - window_calls.front() >= options.window) {
    window_calls.pop_front();
  }
  if (static_cast<int64_t>(window_calls.size()) >= options.window_limit) return true;
  window_calls.push_back(now);
  return false;
}

// Counts the call when it is within the cap of its UTC day.
bool Simulator::Impl::DailyLimited(Date utc_today) {
  if (const std::chrono::sys_days day{utc_today}; day != daily_day) {
    daily_day = day;
    daily_calls = 0;
  }
  if (options.daily_limit > 0 && daily_calls >= options.daily_limit) return true;
  ++daily_calls;
  return false;
}

ContentKind Simulator::Impl::Classify(const Call& call) const {
  if (!call.function) return ContentKind::kUnknownFunction;
  const Function f = *call.function;
  if (options.premium_functions.contains(f) || (options.free_key && PremiumForFreeKey(f))) {
    return ContentKind::kPremium;
  }
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

std::string Simulator::Impl::ContentBody(const Call& call, ContentKind kind) const {
  switch (kind) {
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
  // Crypto trades every day: its series runs to the simulator's UTC day, not the last session.
  const Date last =
      call.key.function == Function::kCryptoDaily ? call.utc_today : call.last_session;
  const std::vector<Bar> bars = History(call.key, last, call.month);
  std::span<const Bar> served(bars);
  if (TakesOutputSize(call.key.function) && call.size == OutputSize::kCompact &&
      served.size() > kCompactBars) {
    served = served.last(kCompactBars);
  }
  const OutputSize shown = TakesOutputSize(call.key.function) ? call.size : OutputSize::kFull;
  return sim::RenderSeries(call.key, shown, served);
}

Sent Simulator::Impl::Respond(const Call& call, const Verdict& verdict,
                              httplib::Response& res) const {
  // Every answer says it is simulated, so a client can keep simulated bars out of a real store.
  res.set_header(std::string(kSimulatorHeader), "1");
  constexpr const char* kJson = "application/json";
  std::string body;
  const char* type = kJson;
  int status = 200;
  switch (verdict.outcome) {
    case Outcome::kMissingKey:
      body = sim::MissingKeyBody();
      break;
    case Outcome::kHttp500:
      status = 500;
      body = sim::Http500Page();
      type = "text/html";
      break;
    case Outcome::kHttp503:
      status = 503;
      body = sim::Http503Page();
      type = "text/html";
      break;
    case Outcome::kThrottled:
      body = sim::ThrottleBody(options.note_style);
      break;
    case Outcome::kDailyLimited:
      body = sim::DailyLimitBody(call.apikey, options.daily_limit);
      break;
    case Outcome::kContent:
      body = ContentBody(call, verdict.content);
      break;
    case Outcome::kMalformed:
      body = ContentBody(call, verdict.content);
      body.resize(body.size() / 2);  // any proper prefix of a JSON object is invalid JSON
      break;
    case Outcome::kReset:
    case Outcome::kTruncate: {
      auto whole = std::make_shared<const std::string>(ContentBody(call, verdict.content));
      const size_t sent = verdict.outcome == Outcome::kReset ? 0 : whole->size() / 2;
      // The provider's `false` makes cpp-httplib close the socket before the promised
      // Content-Length has been sent.
      res.set_content_provider(whole->size(), kJson,
                               [whole, sent](size_t, size_t, httplib::DataSink& sink) {
                                 if (sent > 0) sink.write(whole->data(), sent);
                                 return false;
                               });
      return Sent{200, sent};
    }
  }
  res.status = status;
  const size_t bytes = body.size();
  res.set_content(body, type);
  return Sent{status, bytes};
}

void Simulator::Impl::Log(WallTime at, const httplib::Request& req, const Verdict& verdict,
                          Sent sent) {
  const std::vector<std::pair<std::string, std::string>> params(req.params.begin(),
                                                                req.params.end());
  const std::string line =
      sim::LogLine({at, params, sim::OutcomeName(verdict.outcome, verdict.content), sent.status,
                    sent.bytes, verdict.slow});
  std::lock_guard lock(log_mu);
  std::fputs(line.c_str(), options.log);
  std::fflush(options.log);
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
  // httplib listens with a backlog of 5: a burst of connects would overflow it and wait for
  // SYN retransmits (1 s). Listening again on Linux only resizes the queue.
  return impl_->http.Start("127.0.0.1", port,
                           [impl = impl_.get()] { (void)::listen(impl->listen_fd, SOMAXCONN); });
}

void Simulator::Wait() { impl_->http.Wait(); }

// httplib closes the listening socket at once, but a worker serving an idle keep-alive
// connection only notices after its keep-alive timeout (5 s): clients should close first.
void Simulator::Stop() { impl_->http.Stop(); }

std::string Simulator::BaseUrl() const {
  return fmt::format("http://127.0.0.1:{}", impl_->http.port());
}

SimStats Simulator::Stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace mdfetch
