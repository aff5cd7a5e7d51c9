// The dispatcher of one refresh. Everything here runs on the caller's thread except Work()
// (on an asio::thread_pool worker) and the tasks posted to the Writer (on its thread); the
// two talk back only through Complete(), which queues a Completion for the dispatcher.
#include "engine_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <set>

#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"
#include "mdfetch/redact.h"
#include "writer.h"

namespace mdfetch {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr auto kSlice = milliseconds(100);  // longest uninterrupted wait of the dispatcher
constexpr auto kQuotaWindow = hours(24);
constexpr auto kQuotaWaitAtMost = std::chrono::seconds(60);

constexpr auto kLongestWindow = hours(1);  // the longest --rate window a bucket holds
}  // namespace

EngineRun::EngineRun(Clock& clock, const TransportFactory& transports, Store& store,
                     const EngineOptions& options, std::atomic<bool>& stop,
                     const std::function<void(const Progress&)>& on_progress)
    : clock_(clock),
      store_(store),
      options_(options),
      stop_(stop),
      on_progress_(on_progress),
      transport_factory_(transports),
      limiter_(options.rate.windows),
      rng_(options.jitter_seed != 0
               ? options.jitter_seed
               : static_cast<uint64_t>(clock.Now().time_since_epoch().count())) {}

EngineRun::~EngineRun() = default;

std::optional<std::string> EngineRun::Fact(const std::string& key, std::chrono::hours memory) {
  auto value = store_.GetFact(key);
  if (!value || !*value) return std::nullopt;
  int64_t at_ms = std::strtoll((*value)->c_str(), nullptr, 10);
  WallTime at = FromUnixMillis(at_ms);
  if (clock_.WallNow() - at > memory) return std::nullopt;
  return FormatDate(std::chrono::floor<std::chrono::days>(at));
}

void EngineRun::Plan(const std::vector<SeriesKey>& series) {
  WallTime now = clock_.WallNow();
  std::set<SeriesKey> deferred;
  if (auto d = store_.DeferredSeries()) deferred.insert(d->begin(), d->end());
  std::vector<Job> first, rest;
  const std::vector<std::string> latest{""};
  const std::vector<std::string>& months = options_.months.empty() ? latest : options_.months;
  for (const SeriesKey& key : series) {
    for (const std::string& month : months) {
      Job job;
      job.index = summary_.results.size();
      job.key = key;
      job.month = month;
      SeriesResult& result = summary_.results.emplace_back();
      result.key = key;
      result.month = month;
      if (!PlanJob(job, now)) continue;
      (deferred.contains(key) && month.empty() ? first : rest).push_back(std::move(job));
    }
  }
  for (auto* part : {&first, &rest}) {
    for (auto& job : *part) queue_.push_back(std::move(job));
  }
  if (queue_.empty()) return;
  if (options_.rate.per_day) {
    auto times = store_.CallTimesSince(now - kQuotaWindow);
    if (!times) {
      // Without the call log the quota cannot be kept: send nothing.
      Halt(fmt::format("cannot read the call log for the daily quota: {}", times.error().message),
           false);
      return;
    }
    quota_window_.assign(times->begin(), times->end());
  }
  SeedLimiter(now);
}

// Decides whether `job` needs a call, and with which outputsize; settles it when it does not.
bool EngineRun::PlanJob(Job& job, WallTime now) {
  const SeriesKey& key = job.key;
  auto state = store_.Find(key);
  if (!state) {
    Settle(job, SeriesStatus::kFailed, state.error().message);
    return false;
  }
  if (!options_.force) {
    if (auto learnt = Fact(FactKey("premium", key.function), options_.premium_memory)) {
      Settle(job, SeriesStatus::kFailed,
             fmt::format("{} is premium-only for this key (answered {}); not called, "
                         "--force tries again",
                         ShortName(key.function), *learnt));
      return false;
    }
  }
  if (!full_refused_.contains(key.function) &&
      Fact(FactKey("full_refused", key.function), options_.premium_memory)) {
    full_refused_.insert(key.function);
  }
  if (!job.month.empty()) return PlanMonth(job, now);
  bool up_to_date = *state && IsUpToDate(key, **state, now);
  if (up_to_date && !options_.force) {
    summary_.results[job.index].history_limited = (*state)->history_limited;
    Settle(job, SeriesStatus::kUpToDate, "");
    return false;
  }
  job.forced = up_to_date;
  job.outputsize = ChooseOutputSize(key, *state, now, options_.full);
  if (*state) {
    job.known_last = (*state)->last_ts;
    // Limited stays limited until a full answer is stored.
    job.history_limited = (*state)->history_limited && job.outputsize != OutputSize::kFull;
  }
  if (job.outputsize == OutputSize::kFull && !options_.full &&
      full_refused_.contains(key.function)) {
    job.outputsize = OutputSize::kCompact;
    job.history_limited = true;
  }
  return true;
}

// A backfill month is asked whole (outputsize=full); once stored after the month's last
// possible bar it cannot change, so it is never fetched again without --force.
bool EngineRun::PlanMonth(Job& job, WallTime now) {
  auto stored_at = store_.MonthStoredAt(job.key, job.month);
  if (!stored_at) {
    Settle(job, SeriesStatus::kFailed, stored_at.error().message);
    return false;
  }
  bool up_to_date = *stored_at && IsMonthUpToDate(job.key, job.month, **stored_at, now);
  if (up_to_date && !options_.force) {
    Settle(job, SeriesStatus::kUpToDate, "");
    return false;
  }
  job.forced = up_to_date;
  job.outputsize = OutputSize::kFull;
  if (!options_.force && full_refused_.contains(job.key.function)) {
    Settle(job, SeriesStatus::kFailed, kMonthNeedsFull);
    return false;
  }
  return true;
}

// The calls of earlier runs still count against the --rate windows: a `fetch` started right
// after a refresh must not burst.
void EngineRun::SeedLimiter(WallTime now) {
  auto times = store_.CallTimesSince(now - kLongestWindow);
  if (!times) return;
  SteadyTime steady_now = clock_.Now();
  for (WallTime t : *times) {
    if (t > now) continue;
    (void)limiter_.TryAcquire(steady_now - std::chrono::duration_cast<Nanos>(now - t));
  }
}

RefreshSummary EngineRun::Execute(const std::vector<SeriesKey>& series) {
  Plan(series);
  if (halted_) {
    for (Job& job : queue_) Settle(job, SeriesStatus::kFailed, halt_reason_);
    queue_.clear();
  }
  if (!queue_.empty()) {
    transports_ = std::make_unique<TransportPool>(transport_factory_);
    writer_ = std::make_unique<Writer>(store_);
    {
      asio::thread_pool pool(static_cast<size_t>(std::max(1, options_.concurrency)));
      pool_ = &pool;
      Dispatch();
      pool.join();
      pool_ = nullptr;
    }
    writer_->Close();
  }
  summary_.interrupted = stop_.load();
  if (halted_) summary_.stop_reason = halt_reason_;
  summary_.quota_stopped = halt_is_quota_;
  return std::move(summary_);
}

void EngineRun::Dispatch() {
  for (;;) {
    DrainCompletions();
    if (stop_.load() && !cancel_sent_) {
      cancel_sent_ = true;
      Halt("interrupted", false);
      transports_->CancelAll();
    }
    if (halted_) DeferOrFailQueued();
    if (queue_.empty() && in_flight_ == 0) return;
    if (in_flight_ >= std::max(1, options_.concurrency) || queue_.empty()) {
      WaitForCompletion();
      continue;
    }
    DispatchOne();
  }
}

// Sends the first ready job if the limits allow it now; otherwise waits a little towards the
// moment they will.
void EngineRun::DispatchOne() {
  SteadyTime now = clock_.Now();
  auto ready =
      std::find_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.not_before <= now; });
  if (ready == queue_.end()) {
    SteadyTime earliest =
        std::min_element(queue_.begin(), queue_.end(), [](const Job& a, const Job& b) {
          return a.not_before < b.not_before;
        })->not_before;
    if (in_flight_ > 0) {
      WaitForCompletion();
    } else {
      SleepTowards(earliest);
    }
    return;
  }
  if (!QuotaAllows()) return;  // slept towards the next free slot, or halted
  if (auto wait = limiter_.TryAcquire(now)) {
    SleepTowards(*wait);
    return;
  }
  Job job = std::move(*ready);
  queue_.erase(ready);
  Send(std::move(job));
}

// True when the daily quota has room for a call now. Otherwise it sleeps towards the next
// free slot (when that is less than a minute away) or halts the run.
bool EngineRun::QuotaAllows() {
  if (!options_.rate.per_day) return true;
  WallTime wall = clock_.WallNow();
  while (!quota_window_.empty() && quota_window_.front() <= wall - kQuotaWindow) {
    quota_window_.pop_front();
  }
  auto limit = static_cast<size_t>(*options_.rate.per_day);
  if (quota_window_.size() < limit) return true;
  WallTime next_free = quota_window_[quota_window_.size() - limit] + kQuotaWindow;
  if (next_free - wall <= kQuotaWaitAtMost) {
    SleepTowards(clock_.Now() + std::chrono::duration_cast<Nanos>(next_free - wall));
    return false;
  }
  Halt(fmt::format("daily quota of {} calls spent; next call allowed at {}", *options_.rate.per_day,
                   FormatUtc(next_free)),
       true);
  return false;
}

void EngineRun::Send(Job job) {
  WallTime wall = clock_.WallNow();
  auto fetch_id = writer_->Call(
      [&](Store& store) { return store.BeginCall(job.key, job.outputsize, wall, job.month); });
  if (!fetch_id) {
    Settle(job, SeriesStatus::kFailed, fetch_id.error().message);
    Halt(fmt::format("cannot log the call: {}", fetch_id.error().message), false);
    return;
  }
  ++in_flight_;
  ++summary_.calls;
  ++summary_.results[job.index].calls;
  if (options_.rate.per_day) quota_window_.push_back(wall);
  Report(Describe(summary_.results[job.index]));
  asio::post(*pool_,
             [this, job = std::move(job), id = *fetch_id]() mutable { Work(std::move(job), id); });
}

// While calls are in flight the wait ends early when one of them completes, so an answer
// that changes the plan (a throttle, the daily limit, a premium refusal) is acted on before
// the next call goes. The clock only advances when nothing is in flight: on virtual time this
// models answers that arrive before the next token, which is what a real pace gives.
void EngineRun::SleepTowards(SteadyTime deadline) {
  SteadyTime now = clock_.Now();
  if (deadline <= now) return;
  Nanos wait = std::min(deadline - now, std::chrono::duration_cast<Nanos>(kSlice));
  if (in_flight_ > 0) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return WakeUp(); });
    return;
  }
  clock_.SleepUntil(now + wait);
}

void EngineRun::WaitForCompletion() {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, kSlice, [&] { return WakeUp(); });
}

void EngineRun::Complete(Completion completion) {
  {
    std::lock_guard lock(mu_);
    completions_.push_back(std::move(completion));
  }
  cv_.notify_one();
}

bool EngineRun::DrainCompletions() {
  std::deque<Completion> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(completions_);
  }
  for (auto& c : batch) {
    --in_flight_;
    Handle(c);
  }
  return !batch.empty();
}

void EngineRun::Report(const std::string& last) {
  if (!on_progress_) return;
  on_progress_(Progress{.settled = settled_,
                        .total = static_cast<int64_t>(summary_.results.size()),
                        .calls = summary_.calls,
                        .last = last});
}

void EngineRun::Settle(const Job& job, SeriesStatus status, std::string reason) {
  SeriesResult& result = summary_.results[job.index];
  result.status = status;
  result.reason = std::move(reason);
  if (job.history_limited) result.history_limited = true;
  ++settled_;
  Report(Describe(result));
}

void EngineRun::Halt(std::string reason, bool quota) {
  if (halted_) return;
  halted_ = true;
  halt_is_quota_ = quota;
  halt_reason_ = std::move(reason);
}

// After a halt nothing more is sent: what is queued is deferred (first next run), or failed
// when the halt means no call with this key can succeed.
void EngineRun::DeferOrFailQueued() {
  while (!queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    if (halt_is_quota_ || stop_.load()) {
      // A series queued only by --force was up to date: it does not jump the next run's
      // queue ahead of series that are really behind. A backfill month is not the series'
      // business: the same `fetch --month` again picks up the months left.
      if (!job.forced && job.month.empty()) {
        writer_->Post([key = job.key, reason = halt_reason_](Store& store) {
          (void)store.SetDeferred(key, true, reason);
        });
      }
      Settle(job, SeriesStatus::kDeferred, halt_reason_);
    } else {
      Settle(job, SeriesStatus::kFailed, halt_reason_);
    }
  }
}

}  // namespace mdfetch
