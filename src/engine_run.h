// Private to the engine: the state of one Engine::Run().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mdfetch/av_codec.h"
#include "mdfetch/engine.h"
#include "mdfetch/planner.h"

namespace asio {
class thread_pool;
}

namespace mdfetch {

class Writer;
class TransportPool;

// Keys of what the store remembers about the API key: "full_refused:daily", "premium:...".
inline std::string FactKey(std::string_view kind, Function f) {
  return std::string(kind) + ":" + std::string(ShortName(f));
}

// The store's view for the planner (planner.h): the series asked for, their backfill
// months, and the refusals learnt about the key (`plan` and `refresh --dry-run` plan on it).
// With `due_at`, past 64 series, a series up to date then (IsUpToDate) is only marked
// (snapshot.up_to_date), not held: the marks a refresh makes before its first slice
// (EngineRun::Begin), by the same code, so that a test can compare the plans of both.
Result<StoreSnapshot> ReadSnapshot(Store& store, const std::vector<SeriesKey>& series,
                                   const std::vector<std::string>& months,
                                   std::optional<WallTime> due_at = std::nullopt);
PlanOptions PlanOptionsOf(const EngineOptions& options);

class EngineRun {
 public:
  EngineRun(Clock& clock, const TransportFactory& transports, Store& store,
            const EngineOptions& options, std::atomic<bool>& stop,
            const std::function<void(const Progress&)>& on_progress);
  ~EngineRun();
  RefreshSummary Execute(SeriesSource& series, const Engine::EachResult& each);

 private:
  // One planned call still to make, and what became of its attempts so far.
  struct Job : PlannedCall {
    int transient_failures = 0;  // retried with backoff up to --retries
    int permanent_failures = 0;  // retried once
    bool restated = false;       // already refetched in full after a corporate action
    bool probe = false;          // the one `full` call of an unproven function in flight
    bool claimed = false;        // a shared store: this run holds the series' lease
    SteadyTime not_before = SteadyTime::min();  // due at once
    WallTime sent_at{};
    bool Repeat() const { return transient_failures + permanent_failures > 0; }
  };

  enum class Kind {
    kStored,       // the writer stored the answer
    kStoreFailed,  // the writer could not
    kAnswer,       // HTTP 200 that is no data (or 429): `answer` says what
    kTransient,    // may succeed later: 5xx, connection dropped, an answer cut short
    kPermanent,    // the same call would fail the same way: HTTP 4xx, an answer too large
    kNotSent,      // the request never left: no call
    kCancelled,    // abandoned on RequestStop()
    kWrongSource,  // simulator answer into a real store, or the other way round
  };

  // What a worker (or the writer, for stored answers) reports back to the dispatcher.
  struct Completion {
    Job job;
    Kind kind = Kind::kTransient;
    AnswerKind answer = AnswerKind::kMalformed;
    std::string message;  // redacted
    StoreCounts counts;
    bool new_corporate_action = false;  // a dividend or split among the bars just added
    bool sent = true;                   // false: cancelled before the request was sent
    // For EngineOptions::on_call: the call log's word, the body's size, the call's time.
    std::string outcome;
    int64_t bytes = 0;
    Nanos elapsed{0};
  };

  Status Begin();
  Result<StoreSnapshot> ReadSlice(Store& store, const std::vector<SeriesKey>& slice,
                                  const std::vector<size_t>& positions) const;
  Status PlanSlice(const std::vector<SeriesKey>& slice, const std::vector<size_t>& positions);
  void RunSlice(const std::vector<SeriesKey>& slice, const std::vector<size_t>& positions);
  void Dispatch();
  void DispatchOne();
  bool Blocked(const Job& job) const;
  void Send(Job job);
  void Unsend(const Job& job);
  void Work(Job job, int64_t fetch_id);
  void Complete(Completion completion);
  void Handle(Completion& completion);
  void HandleAnswer(Completion& completion);
  void HandleThrottle(Completion& completion);
  void HandleNotSent(Completion& completion);
  void HandlePremium(Completion& completion);
  void HandlePremiumFull(Completion& completion);
  void Retry(Job job, const std::string& reason);
  void RetryPermanent(Job job, const std::string& reason);
  void Requeue(Job job);
  void Settle(const Job& job, SeriesStatus status, std::string reason);
  void Settle(size_t item, SeriesStatus status, std::string reason, bool history_limited);
  // Settle() without drawing the progress line.
  void Record(size_t item, SeriesStatus status, std::string reason, bool history_limited);
  void Halt(std::string reason, StopCause cause, std::string detail = {});
  void TellCall(const Completion& completion);
  void DeferOrFailQueued();
  bool KeepForNextRun(Job& job);
  void Hold(Job& job);
  void Unhold(const Job& job);
  bool StoredByAnother(const Job& job, const std::optional<WallTime>& stored_at) const;
  void DrainCompletions();
  void WaitForCompletion();
  void SleepTowards(SteadyTime deadline);
  bool QuotaAllows();
  bool Claim(Job& job);
  bool Reserve(Job& job, WallTime& wall, int64_t& fetch_id);
  void Report(const std::string& last);
  void SeedLimiter(WallTime now);
  void Remember(std::string fact);
  bool WakeUp() const { return !completions_.empty() || (stop_.load() && !cancel_sent_); }

  Clock& clock_;
  Store& store_;
  const EngineOptions& options_;
  std::atomic<bool>& stop_;
  const std::function<void(const Progress&)>& on_progress_;
  const TransportFactory& transport_factory_;

  // The list, read a slice at a time, and where each result goes. Per position in the list:
  // its mark from the store's listing (EngineRun::Begin), empty for a short list. The slice's
  // results are summary_.results; item_positions_ holds their positions in the whole run.
  SeriesSource* source_ = nullptr;
  const Engine::EachResult* each_ = nullptr;
  std::vector<uint8_t> marks_;
  std::vector<size_t> item_positions_;
  int64_t total_items_ = 0;
  bool unreadable_ = false;  // the store could not be read before the first slice
  bool paced_ = false;       // the quota window and the limiter are seeded from the call log
  // Functions refused as premium during the run, with the reason their series are given.
  std::map<Function, std::string> premium_refused_;

  RefreshSummary summary_;
  // A shared store (Store::SharedFetching): series are claimed before their call, calls
  // reserved in the store; the facts learnt before the run, for planning a claimed series
  // again; no reservation is tried before reserve_after_ (the shared windows are full).
  bool shared_ = false;
  std::string holder_;
  WallTime started_{};
  StoreSnapshot learnt_;
  SteadyTime reserve_after_ = SteadyTime::min();
  // Claimed jobs per series (the months of a backfill share the series' lease, which ends
  // when the last of them is settled), and the items this run stored.
  std::map<SeriesKey, int> holds_;
  std::set<size_t> stored_items_;
  RateLimiter limiter_;
  std::deque<Job> queue_;
  std::deque<WallTime> quota_window_;  // our calls in the last 24 h, oldest first
  int in_flight_ = 0;
  int64_t settled_ = 0;
  std::optional<SteadyTime> throttle_streak_start_;
  std::optional<SteadyTime> cooling_until_;      // a throttle's cool-down in progress
  std::optional<SteadyTime> unreachable_since_;  // the first call of an outage that never left
  std::optional<SteadyTime> reach_retry_at_;     // when the next call may try again
  Nanos reach_delay_{0};
  std::set<Function> full_refused_;  // outputsize=full is premium for these
  std::set<Function> full_proven_;   // a `full` call of these was answered with data
  std::set<Function> full_probing_;  // a `full` call of these is in flight, unproven
  bool cancel_sent_ = false;
  bool halted_ = false;
  StopCause halt_cause_ = StopCause::kNone;
  std::string halt_reason_;
  std::string halt_detail_;  // the service's own words, when it gave them
  std::mt19937_64 rng_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> completions_;

  std::unique_ptr<asio::thread_pool> pool_;
  std::unique_ptr<TransportPool> transports_;
  std::unique_ptr<Writer> writer_;
};

}  // namespace mdfetch
