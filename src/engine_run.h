// Private to the engine: the state of one Engine::Run().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mdfetch/av_codec.h"
#include "mdfetch/engine.h"

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

// Why a backfill month cannot be fetched on this key.
inline constexpr const char* kMonthNeedsFull =
    "a whole month needs outputsize=full, which is premium for this key";

class EngineRun {
 public:
  EngineRun(Clock& clock, const TransportFactory& transports, Store& store,
            const EngineOptions& options, std::atomic<bool>& stop,
            const std::function<void(const Progress&)>& on_progress);
  ~EngineRun();
  RefreshSummary Execute(const std::vector<SeriesKey>& series);

 private:
  // One series still to fetch.
  struct Job {
    size_t index = 0;  // into summary_.results
    SeriesKey key;
    std::string month;  // "YYYY-MM" of an intraday backfill, "" for the latest bars
    OutputSize outputsize = OutputSize::kNone;
    bool history_limited = false;
    int attempts = 0;        // transient failures so far
    std::string known_last;  // the newest bar stored before this run ("" if none)
    bool restated = false;   // already refetched in full after a corporate action
    bool forced = false;     // up to date, queued only by --force
    SteadyTime not_before{};
  };

  enum class Kind { kStored, kStoreFailed, kAnswer, kTransient, kHttpPermanent, kWrongSource };

  // What a worker (or the writer, for stored answers) reports back to the dispatcher.
  struct Completion {
    Job job;
    Kind kind = Kind::kTransient;
    AnswerKind answer = AnswerKind::kMalformed;
    std::string message;  // redacted
    StoreCounts counts;
    bool new_corporate_action = false;  // a dividend or split among the bars just added
  };

  void Plan(const std::vector<SeriesKey>& series);
  bool PlanJob(Job& job, WallTime now);
  bool PlanMonth(Job& job, WallTime now);
  void Dispatch();
  void DispatchOne();
  void Send(Job job);
  void Work(Job job, int64_t fetch_id);
  void Complete(Completion completion);
  void Handle(Completion& completion);
  void HandleAnswer(Completion& completion);
  void HandlePremium(Completion& completion);
  void Retry(Job job, const std::string& reason);
  void Settle(const Job& job, SeriesStatus status, std::string reason);
  void Halt(std::string reason, bool quota);
  void DeferOrFailQueued();
  bool DrainCompletions();
  void WaitForCompletion();
  void SleepTowards(SteadyTime deadline);
  bool QuotaAllows();
  std::optional<std::string> Fact(const std::string& key, std::chrono::hours memory);
  void Report(const std::string& last);
  void SeedLimiter(WallTime now);
  bool WakeUp() const { return !completions_.empty() || (stop_.load() && !cancel_sent_); }

  Clock& clock_;
  Store& store_;
  const EngineOptions& options_;
  std::atomic<bool>& stop_;
  const std::function<void(const Progress&)>& on_progress_;
  const TransportFactory& transport_factory_;

  RefreshSummary summary_;
  RateLimiter limiter_;
  std::deque<Job> queue_;
  std::deque<WallTime> quota_window_;  // our calls in the last 24 h, oldest first
  int in_flight_ = 0;
  int64_t settled_ = 0;
  std::optional<SteadyTime> throttle_streak_start_;
  std::optional<SteadyTime> cooling_until_;  // a throttle's cool-down in progress
  std::set<Function> full_refused_;          // outputsize=full is premium for these
  bool cancel_sent_ = false;
  bool halted_ = false;
  bool halt_is_quota_ = false;
  std::string halt_reason_;
  std::mt19937_64 rng_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Completion> completions_;

  asio::thread_pool* pool_ = nullptr;
  std::unique_ptr<TransportPool> transports_;
  std::unique_ptr<Writer> writer_;
};

}  // namespace mdfetch
