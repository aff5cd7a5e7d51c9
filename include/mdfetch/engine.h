// The refresh engine: plan, pace, fetch, decode, store.
//
//   plan ──> dispatcher ──> workers (asio::thread_pool) ──> writer thread ──> Store
//            (token bucket,  (Transport::Get, then        (one connection,
//             daily quota,    DecodeAnswer: parsing        one transaction
//             retries)        happens off the writer)      per series)
//
// The dispatcher runs on the caller's thread. It paces every call through the RateLimiter
// (waiting on the injected Clock, so tests run on virtual time) and the persisted daily
// quota, keeps at most `concurrency` calls in flight, and decides what each answer means
// (the plan itself is MakePlan's, planner.h):
//  - data that answers the request is stored;
//  - a throttle cools the whole limiter down and requeues the call; a daily-limit answer (or
//    a throttle that persists through a minute of cool-downs) stops all calls and defers the
//    rest;
//  - a premium refusal of `outputsize=full` falls back to compact and marks the history
//    limited (FallBackFromFull); until one `full` call of a function has been answered, no
//    second one is in flight, so the refusal is learnt from one call at any concurrency;
//    other premium refusals stop that function;
//  - transient faults (5xx, a connection dropped, an answer cut short) are retried with
//    capped exponential backoff and full jitter, up to `retries` times;
//  - permanent ones (HTTP 4xx, a malformed or mismatched answer) are retried once; an
//    `Error Message` not at all: the series is unknown to the service, which the store
//    remembers;
//  - a call that never left this machine (connection refused, DNS, TLS) is no call: it is
//    unlogged, and neither the daily quota nor the --rate windows count it. When no call
//    reaches the service for `unreachable_give_up`, the run stops and defers the rest.
// Nothing from a bad answer is stored, and no message from the service is kept without
// redacting the key.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/planner.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/series.h"
#include "mdfetch/store.h"
#include "mdfetch/transport.h"

namespace mdfetch {

// One call, as the dispatcher handles its answer. Never holds the key.
struct CallEvent {
  WallTime sent_at{};
  std::string series;  // Describe() of the series (and month)
  OutputSize outputsize = OutputSize::kNone;
  // The call log's word ("stored", "throttled", "daily_limit", "transient", "error", ...), or
  // "not sent" (the request never left: no call) and "not stored" (the store failed).
  std::string outcome;
  std::string message;  // what went wrong, redacted; empty when stored
  int64_t bytes = 0;    // of the answer's body; 0 when none came
  Nanos elapsed{0};     // from sending the request to its answer (or error)
};

struct EngineOptions {
  RateSpec rate;        // per-window limits and the daily quota
  int concurrency = 4;  // calls in flight at most
  int retries = 4;      // retries of a transient fault, per series
  bool force = false;   // fetch even series that are up to date
  bool full = false;    // ask outputsize=full for every series that takes it
  // Intraday months to backfill ("YYYY-MM"): each series (all intraday) is fetched once per
  // month with `month` and outputsize=full, its bars added without touching the series'
  // freshness; a month stored after it ended is not fetched again (unless `force`).
  // Empty: fetch each series' latest bars.
  std::vector<std::string> months;
  std::string api_key;  // sent as `apikey`, never shown, logged or stored
  // Where answers must come from: the mdfetch simulator (true) or the real service. An
  // answer from the other kind stops the run before anything from it is stored, so
  // simulated bars never go into a real store (and the other way round).
  bool simulated = false;
  Nanos backoff_base = std::chrono::seconds(1);
  Nanos backoff_cap = std::chrono::seconds(30);
  Nanos throttle_give_up = std::chrono::seconds(60);  // throttled this long in a row: day spent
  // Premium refusals learnt in earlier runs are trusted this long (then tried again).
  std::chrono::hours premium_memory{24 * 7};
  // While calls never reach the service, they are tried again after reach_retry_first, then
  // twice as long each time; after unreachable_give_up without any answer, the run stops.
  Nanos reach_retry_first = std::chrono::seconds(2);
  Nanos unreachable_give_up = std::chrono::seconds(60);
  uint64_t jitter_seed = 0;  // 0: seeded from the clock
  // Several fetchers on one store (Store::SharedFetching, PostgreSQL): this run's name in the
  // store's leases and call log ("": "host:pid:start"), and how long a series it claimed
  // stays its own (each call renews the lease). A fetcher that dies keeps its series until
  // their leases end; another fetcher, or the next run, then takes them over.
  std::string holder;
  Nanos lease = std::chrono::minutes(10);
  // Told of every call as its answer (or transport error) is handled, on Run()'s thread, one
  // at a time (for `--verbose`). Unset: nothing is measured for it.
  std::function<void(const CallEvent&)> on_call;
};

enum class SeriesStatus { kStored, kUpToDate, kFailed, kDeferred };

// Series planned and dispatched together: a run holds the plan, states and results of one
// slice at a time.
inline constexpr size_t kSliceSeries = 4096;

// Why a run stopped before settling every series.
enum class StopCause {
  kNone,
  kQuota,        // the daily quota (ours or the service's) is spent: the rest is deferred
  kUnreachable,  // no call reached the service: the rest is deferred
  kInterrupted,  // RequestStop(): the rest is deferred
  kError,        // the key was rejected, the store failed, answers from the wrong source
};

std::string_view SeriesStatusName(SeriesStatus status);

// What a series left by a stopped run is told: "the daily quota is spent", "the service could
// not be reached", "interrupted", "not called: the run stopped" (the cause itself is in
// RefreshSummary::stop_reason, once).
std::string_view StopCauseText(StopCause cause);

struct SeriesResult {
  SeriesKey key;
  std::string month;  // the month backfilled, "" for the latest bars
  SeriesStatus status = SeriesStatus::kFailed;
  std::string reason;  // why it failed or was deferred (redacted); empty otherwise
  StoreCounts counts;
  bool history_limited = false;  // only the compact window could be had
  int calls = 0;
  OutputSize outputsize = OutputSize::kNone;  // of the last call made; kNone without a call
};

// "AAPL intraday:5min" or, for a backfill, "AAPL intraday:5min month=2024-03".
std::string Describe(const SeriesResult& result);

struct RefreshSummary {
  // In the order the series (and months) were given; empty after the Run() that hands each
  // result to its caller instead.
  std::vector<SeriesResult> results;
  int64_t items = 0;                   // series (and months) settled: one each
  std::array<int64_t, 4> by_status{};  // items by SeriesStatus
  int64_t bars_added = 0;
  int64_t bars_changed = 0;
  int64_t calls = 0;      // calls that may have reached the service in this run
  int64_t throttled = 0;  // answers that said "slow down"
  int64_t retries = 0;    // of `calls`, those that repeated a call that failed
  StopCause stop = StopCause::kNone;
  std::string stop_reason;  // why the run stopped early, once (redacted)
  // The service's own words about the stop when it gave them (its daily-limit text), redacted;
  // stop_reason only names it. Empty otherwise.
  std::string stop_detail;

  int64_t Count(SeriesStatus status) const;
  int64_t BarsAdded() const;
  int64_t BarsChanged() const;
};

// Reported after each series is settled, and after each call, for a progress line; the
// series the plan settles without a call (up to date, ...) are reported once, together.
struct Progress {
  int64_t settled = 0;
  int64_t total = 0;
  int64_t calls = 0;
  std::string last;  // Describe() of the series just settled or called
};

// What a run would do now, read from the store without a call (`mdfetch plan`).
struct DryRun {
  StoreSnapshot snapshot;
  Plan plan;
  std::vector<WallTime> calls_last_day;  // calls logged in the last 24 h, oldest first
};

class Engine {
 public:
  // `store` must outlive the engine; during Run() it is used only by the writer thread.
  Engine(Clock& clock, TransportFactory transports, Store& store, EngineOptions options);

  // Refreshes `series` (duplicates already removed). Series the store marks deferred go
  // first. Returns when every series is settled, the quota stops the run, or RequestStop().
  RefreshSummary Run(const std::vector<SeriesKey>& series,
                     const std::function<void(const Progress&)>& on_progress = {});

  // The same, read from `series` a slice at a time: what the run holds is bounded by the
  // slice (kSliceSeries) and the calls in flight, not by the list. Each result is handed to
  // `each` once settled, with its position in the order given (series by series, each with its
  // months), a slice at a time: the series left deferred by an earlier run first, then the
  // rest in order. The summary's `results` stay empty.
  using EachResult = std::function<void(size_t position, SeriesResult&& result)>;
  RefreshSummary Run(SeriesSource& series, const EachResult& each,
                     const std::function<void(const Progress&)>& on_progress = {});

  // The plan Run() would execute now for `series`, and what it was made from. No call.
  Result<DryRun> Plan(const std::vector<SeriesKey>& series);

  // Asks a running Run() to stop: no new call is sent, calls in flight are cancelled, what
  // is stored stays stored, the rest is deferred. Thread-safe; callable from any thread.
  void RequestStop();

 private:
  Clock& clock_;
  TransportFactory transports_;
  Store& store_;
  EngineOptions options_;
  std::atomic<bool> stop_{false};
};

}  // namespace mdfetch
