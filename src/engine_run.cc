// The dispatcher of one refresh. Everything here runs on the caller's thread except Work()
// (on an asio::thread_pool worker) and the tasks posted to the Writer (on its thread); the
// two talk back only through Complete(), which queues a Completion for the dispatcher.
#include "engine_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <set>
#include <span>
#include <unordered_set>

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

std::string QuotaSpent(int64_t per_day, WallTime next_free) {
  return fmt::format("daily quota of {} call{} spent; next call allowed at {}", per_day,
                     per_day == 1 ? "" : "s", FormatUtc(next_free));
}

// A series another fetcher holds is asked for again after this long at most (sooner when
// its lease ends): the other fetcher may store it, or die.
constexpr auto kClaimRetry = std::chrono::seconds(2);
constexpr auto kClaimPause = milliseconds(200);

// "host:pid:start-millis": who holds a lease or sent a call, for people reading the store.
std::string DefaultHolder(WallTime started) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}:{}", host[0] != '\0' ? host : "localhost", getpid(),
                     std::chrono::duration_cast<milliseconds>(started.time_since_epoch()).count());
}
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
      shared_(store.SharedFetching()),
      limiter_(options.rate.windows),
      rng_(options.jitter_seed != 0
               ? options.jitter_seed
               : static_cast<uint64_t>(clock.Now().time_since_epoch().count())) {}

EngineRun::~EngineRun() = default;

namespace {

// Up to this many series, each is looked up on its own; past it, one listing of the store
// serves them all: one statement instead of one per series, each of which took and dropped
// SQLite's shared lock (two fcntl calls; 17% of a nothing-due refresh of 100,000 series).
constexpr size_t kFindEachUpTo = 64;

// The keys asked for, looked up by value (a listed series' key is parsed from the same
// columns Store::Find matches, byte for byte, so equal keys name the same row). The hash is
// not noexcept so that the set keeps each one (a probe then compares hashes before keys).
struct KeyOf {
  size_t operator()(const SeriesKey* key) const { return SeriesKeyHash{}(*key); }
  bool operator()(const SeriesKey* a, const SeriesKey* b) const noexcept { return *a == *b; }
};

// Each of `series` the store holds, looked up one by one, or, past kFindEachUpTo, found in
// one listing of the store (the store's other series are never held: each wanted one is moved
// into place). Positions are into `all`, the series planned.
Status ReadStates(Store& store, const std::vector<SeriesKey>& all, std::span<const size_t> series,
                  StoreSnapshot& snapshot) {
  if (series.size() <= kFindEachUpTo) {
    for (size_t i : series) {
      Result<std::optional<SeriesState>> state = store.Find(all[i]);
      if (!state) return std::unexpected(state.error());
      if (*state) snapshot.series.emplace(all[i], std::move(**state));
    }
    return {};
  }
  std::unordered_set<const SeriesKey*, KeyOf, KeyOf> asked;
  asked.reserve(series.size());
  for (size_t i : series) asked.insert(&all[i]);
  snapshot.series.reserve(series.size());
  return store.ForEachSeries([&](SeriesState& state) {
    if (asked.contains(&state.key)) snapshot.series.emplace(state.key, std::move(state));
  });
}

// A series' mark (EngineRun::marks_): its UpToDateMark, and whether an earlier run left it
// deferred.
constexpr uint8_t kUpToDateBits = 0x3;
constexpr uint8_t kDeferredBit = 0x4;

// The digest and position of each series asked for, sorted by digest.
using AskedIndex = std::vector<std::pair<KeyDigest, uint32_t>>;

// One listing of the store without the bar span marks each series asked for, by position
// (`marks` holds one per position): up to date at `due_at` (none without it) and left
// deferred. A key asked twice gets the same marks at both positions; a stored series not
// asked for is passed over.
Status MarkListed(Store& store, const AskedIndex& asked, std::optional<WallTime> due_at,
                  std::vector<uint8_t>& marks) {
  return store.ForEachSeriesWithoutBarSpan([&](SeriesState& state) {
    const KeyDigest digest = DigestOf(state.key);
    auto it = std::ranges::lower_bound(asked, std::pair(digest, uint32_t{0}));
    if (it == asked.end() || it->first != digest) return;
    const bool up_to_date =
        due_at && state.last_outcome != "unknown" && IsUpToDate(state.key, state, *due_at);
    for (; it != asked.end() && it->first == digest; ++it) {
      uint8_t& mark = marks[it->second];
      if (state.deferred) mark |= kDeferredBit;
      if (up_to_date) {
        mark |= static_cast<uint8_t>(state.history_limited ? UpToDateMark::kYesHistoryLimited
                                                           : UpToDateMark::kYes);
      }
    }
  });
}

// For a refresh at `due_at` of more than kFindEachUpTo series: the marks a refresh makes
// (MarkListed) say which series are up to date then (snapshot.up_to_date); only the others are
// read whole (none on a nothing-due run, every one on the evening's).
Status ReadStatesForRefresh(Store& store, const std::vector<SeriesKey>& series, WallTime due_at,
                            StoreSnapshot& snapshot) {
  AskedIndex asked;
  asked.reserve(series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    asked.emplace_back(DigestOf(series[i]), static_cast<uint32_t>(i));
  }
  std::ranges::sort(asked);
  std::vector<uint8_t> marks(series.size(), 0);
  if (Status listed = MarkListed(store, asked, due_at, marks); !listed) return listed;
  snapshot.up_to_date.resize(series.size());
  std::vector<size_t> rest;
  for (size_t i = 0; i < series.size(); ++i) {
    snapshot.up_to_date[i] = static_cast<UpToDateMark>(marks[i] & kUpToDateBits);
    if (snapshot.up_to_date[i] == UpToDateMark::kNo) rest.push_back(i);
  }
  return ReadStates(store, series, rest, snapshot);
}

// When each of `months` of each series was last stored (a backfill).
Status ReadMonths(Store& store, std::span<const SeriesKey> series,
                  const std::vector<std::string>& months, StoreSnapshot& snapshot) {
  for (const SeriesKey& key : series) {
    for (const std::string& month : months) {
      Result<std::optional<WallTime>> stored_at = store.MonthStoredAt(key, month);
      if (!stored_at) return std::unexpected(stored_at.error());
      if (*stored_at) snapshot.months_stored.emplace(std::pair(key, month), **stored_at);
    }
  }
  return {};
}

// The refusals the store remembers about the key, for `functions`.
Status ReadLearnt(Store& store, const std::set<Function>& functions, StoreSnapshot& snapshot) {
  for (Function f : functions) {
    for (auto [kind, learnt] : {std::pair("premium", &snapshot.premium_since),
                                std::pair("full_refused", &snapshot.full_refused_since)}) {
      Result<std::optional<std::string>> value = store.GetFact(FactKey(kind, f));
      if (!value) return std::unexpected(value.error());
      if (*value) learnt->emplace(f, FromUnixMillis(std::strtoll((*value)->c_str(), nullptr, 10)));
    }
  }
  return {};
}

}  // namespace

// The store's view for the planner: the series asked for, their backfill months, and the
// refusals learnt about the key.
Result<StoreSnapshot> ReadSnapshot(Store& store, const std::vector<SeriesKey>& series,
                                   const std::vector<std::string>& months,
                                   std::optional<WallTime> due_at) {
  StoreSnapshot snapshot;
  Status read;
  if (due_at && series.size() > kFindEachUpTo) {
    read = ReadStatesForRefresh(store, series, *due_at, snapshot);
  } else {
    std::vector<size_t> all(series.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    read = ReadStates(store, series, all, snapshot);
  }
  if (!read) {
    return std::unexpected(read.error());
  }
  std::set<Function> functions;
  for (const SeriesKey& key : series) functions.insert(key.function);
  if (Status months_read = ReadMonths(store, series, months, snapshot); !months_read) {
    return std::unexpected(months_read.error());
  }
  if (Status learnt = ReadLearnt(store, functions, snapshot); !learnt) {
    return std::unexpected(learnt.error());
  }
  return snapshot;
}

PlanOptions PlanOptionsOf(const EngineOptions& options) {
  return PlanOptions{.force = options.force,
                     .full = options.full,
                     .months = options.months,
                     .memory = options.premium_memory};
}

// What the run learns of the store before its first slice: the refusals remembered about the
// key (for every function the list names) and, past kFindEachUpTo series, one listing without
// the bar span that marks each series (by position) up to date at `started_` (unless forced)
// and left deferred. A slice then reads whole only the series it may call.
Status EngineRun::Begin() {
  std::set<Function> functions;
  AskedIndex asked;
  const bool index = source_->size() > kFindEachUpTo;
  if (index) asked.reserve(source_->size());
  source_->Rewind();
  SeriesKey key;
  for (uint32_t i = 0; source_->Next(key); ++i) {
    functions.insert(key.function);
    if (index) asked.emplace_back(DigestOf(key), i);
  }
  if (Status learnt = ReadLearnt(store_, functions, learnt_); !learnt) return learnt;
  if (!index) return {};
  std::ranges::sort(asked);
  marks_.assign(asked.size(), 0);
  return MarkListed(store_, asked,
                    options_.force ? std::nullopt : std::optional<WallTime>(started_), marks_);
}

// The store's view of one slice: the marks of the listing, the states of the series not marked
// up to date, their backfill months, the refusals learnt before the run.
Result<StoreSnapshot> EngineRun::ReadSlice(Store& store, const std::vector<SeriesKey>& slice,
                                           const std::vector<size_t>& positions) const {
  StoreSnapshot snapshot;
  snapshot.premium_since = learnt_.premium_since;
  snapshot.full_refused_since = learnt_.full_refused_since;
  if (!marks_.empty() && !options_.force) {
    snapshot.up_to_date.resize(slice.size());
    for (size_t i = 0; i < slice.size(); ++i) {
      snapshot.up_to_date[i] = static_cast<UpToDateMark>(marks_[positions[i]] & kUpToDateBits);
    }
  }
  for (size_t i = 0; i < slice.size(); ++i) {
    if (!snapshot.up_to_date.empty() && snapshot.up_to_date[i] != UpToDateMark::kNo) continue;
    Result<std::optional<SeriesState>> state = store.Find(slice[i]);
    if (!state) return std::unexpected(state.error());
    if (*state) snapshot.series.emplace(slice[i], std::move(**state));
  }
  if (Status months = ReadMonths(store, slice, options_.months, snapshot); !months) {
    return std::unexpected(months.error());
  }
  return snapshot;
}

// Plans one slice at `started_` (as the listing's marks were made): its items become the
// slice's results, what the plan settles is recorded, its calls are queued.
Status EngineRun::PlanSlice(const std::vector<SeriesKey>& slice,
                            const std::vector<size_t>& positions) {
  // Once the writer runs, the store is its alone: the slice is read on its thread.
  auto read = [&](Store& store) { return ReadSlice(store, slice, positions); };
  Result<StoreSnapshot> snapshot = writer_ ? writer_->Call(read) : read(store_);
  if (!snapshot) return Fail(fmt::format("cannot read the store: {}", snapshot.error().message));
  mdfetch::Plan plan = MakePlan(slice, *snapshot, started_, PlanOptionsOf(options_));
  summary_.results.reserve(plan.items.size());
  for (auto& [key, month] : plan.items) {
    SeriesResult& result = summary_.results.emplace_back();
    result.key = std::move(key);
    result.month = std::move(month);
  }
  // What the plan settles is drawn once, not once a series: 100,000 series up to date are one
  // progress line a slice, not 100,000.
  for (const Settled& settled : plan.settled) {
    Record(settled.item,
           settled.verdict == Verdict::kUpToDate ? SeriesStatus::kUpToDate : SeriesStatus::kFailed,
           settled.reason, settled.history_limited);
  }
  if (!plan.settled.empty()) Report(Describe(summary_.results[plan.settled.back().item]));
  full_refused_.insert(plan.full_refused.begin(), plan.full_refused.end());
  for (const PlannedCall& call : plan.calls) {
    Job job;
    static_cast<PlannedCall&>(job) = call;
    // What an earlier slice learnt of the key holds for this one: a function refused as premium
    // is not called again, nor `full` where it was refused.
    if (auto refused = premium_refused_.find(job.key.function); refused != premium_refused_.end()) {
      Settle(job, SeriesStatus::kFailed, refused->second);
      continue;
    }
    if (full_refused_.contains(job.key.function) && !FallBackFromFull(job)) {
      Settle(job, SeriesStatus::kFailed, std::string(kMonthNeedsFull));
      continue;
    }
    queue_.push_back(std::move(job));
  }
  if (queue_.empty() || paced_) return {};
  paced_ = true;
  if (options_.rate.per_day) {
    auto times = store_.CallTimesSince(started_ - kQuotaWindow);
    // Without the call log the quota cannot be kept: send nothing.
    if (!times) {
      return Fail(
          fmt::format("cannot read the call log for the daily quota: {}", times.error().message));
    }
    quota_window_.assign(times->begin(), times->end());
  }
  SeedLimiter(started_);
  return {};
}

// The calls of earlier runs still count against the --rate windows: a `fetch` started right
// after a refresh must not burst.
void EngineRun::SeedLimiter(WallTime now) {
  auto times = store_.CallTimesSince(now - kLongestWindow);
  if (!times) return;  // PlanSlice() read the same log a moment ago; pacing starts afresh
  SteadyTime steady_now = clock_.Now();
  for (WallTime t : *times) {
    if (t > now) continue;
    (void)limiter_.TryAcquire(steady_now - std::chrono::duration_cast<Nanos>(now - t));
  }
}

RefreshSummary EngineRun::Execute(SeriesSource& source, const Engine::EachResult& each) {
  source_ = &source;
  each_ = &each;
  started_ = clock_.WallNow();
  holder_ = options_.holder.empty() ? DefaultHolder(started_) : options_.holder;
  total_items_ = static_cast<int64_t>(source.size() * std::max<size_t>(1, options_.months.size()));
  if (Status begun = Begin(); !begun) {
    Halt(fmt::format("cannot read the store: {}", begun.error().message), StopCause::kError);
    unreadable_ = true;
  }
  // Series an earlier run left deferred go first: when the listing found any, a first pass
  // over the list takes them alone, a second the rest.
  const bool deferred_first =
      std::ranges::any_of(marks_, [](uint8_t m) { return m & kDeferredBit; });
  std::vector<SeriesKey> slice;
  std::vector<size_t> positions;
  for (int pass = deferred_first ? 0 : 1; pass < 2; ++pass) {
    source.Rewind();
    size_t position = 0;
    SeriesKey key;
    for (bool more = true; more;) {
      slice.clear();
      positions.clear();
      while (slice.size() < kSliceSeries && (more = source.Next(key))) {
        const bool deferred = !marks_.empty() && (marks_[position] & kDeferredBit) != 0;
        if (!deferred_first || deferred == (pass == 0)) {
          slice.push_back(std::move(key));
          positions.push_back(position);
        }
        ++position;
      }
      if (!slice.empty()) RunSlice(slice, positions);
    }
  }
  if (writer_) {
    pool_->join();
    // What this run still holds (series it claimed and left, backfill months) is free again.
    if (shared_) writer_->Post([this](Store& store) { return store.ReleaseLeases(holder_); });
    writer_->Close();
    for (const Error& error : writer_->TakeErrors()) {
      Halt(fmt::format("cannot write the store: {}", error.message), StopCause::kError);
    }
  }
  if (stop_.load() && halt_cause_ == StopCause::kInterrupted) halt_reason_ = "interrupted";
  summary_.stop = halt_cause_;
  summary_.stop_reason = halt_reason_;
  summary_.stop_detail = halt_detail_;
  return std::move(summary_);
}

// Plans one slice, makes its calls, and hands its results on.
void EngineRun::RunSlice(const std::vector<SeriesKey>& slice,
                         const std::vector<size_t>& positions) {
  const size_t per_series = std::max<size_t>(1, options_.months.size());
  item_positions_.clear();
  for (size_t position : positions) {
    for (size_t m = 0; m < per_series; ++m) item_positions_.push_back(position * per_series + m);
  }
  if (Status planned = unreadable_ ? Fail(halt_reason_) : PlanSlice(slice, positions); !planned) {
    // Nothing can be planned: every series and month is left as it was (failed, no call).
    if (summary_.results.empty()) {
      const std::vector<std::string> latest{""};
      for (const SeriesKey& key : slice) {
        for (const std::string& month : options_.months.empty() ? latest : options_.months) {
          summary_.results.push_back(SeriesResult{.key = key, .month = month});
        }
      }
    }
    Halt(planned.error().message, StopCause::kError);
    for (size_t i = 0; i < summary_.results.size(); ++i) {
      if (summary_.results[i].reason.empty() &&
          summary_.results[i].status == SeriesStatus::kFailed) {
        Settle(i, SeriesStatus::kFailed, halt_reason_, false);
      }
    }
    queue_.clear();
  }
  if (!queue_.empty()) {
    if (!writer_) {
      transports_ = std::make_unique<TransportPool>(transport_factory_);
      writer_ = std::make_unique<Writer>(store_);
      pool_ = std::make_unique<asio::thread_pool>(
          static_cast<size_t>(std::max(1, options_.concurrency)));
    }
    Dispatch();
  }
  // Every item of the slice is settled: its results go, in the slice's order.
  for (size_t i = 0; i < summary_.results.size(); ++i) {
    SeriesResult& result = summary_.results[i];
    ++summary_.items;
    ++summary_.by_status[static_cast<size_t>(result.status)];
    summary_.bars_added += result.counts.added;
    summary_.bars_changed += result.counts.changed;
    (*each_)(item_positions_[i], std::move(result));
  }
  summary_.results.clear();
  stored_items_.clear();
}

void EngineRun::Dispatch() {
  for (;;) {
    DrainCompletions();
    if (stop_.load() && !cancel_sent_) {
      cancel_sent_ = true;
      Halt("interrupted", StopCause::kInterrupted);
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
  auto ready = std::find_if(queue_.begin(), queue_.end(),
                            [&](const Job& j) { return j.not_before <= now && !Blocked(j); });
  if (ready == queue_.end()) {
    if (in_flight_ > 0) {
      WaitForCompletion();
    } else {
      // Nothing is in flight, so no job is blocked by a probe: the earliest one is due next.
      SleepTowards(std::min_element(queue_.begin(), queue_.end(), [](const Job& a, const Job& b) {
                     return a.not_before < b.not_before;
                   })->not_before);
    }
    return;
  }
  if (!QuotaAllows()) return;  // slept towards the next free slot, or halted
  if (shared_ && now < reserve_after_) {
    SleepTowards(reserve_after_);  // the shared windows are full: other fetchers' calls
    return;
  }
  if (auto wait = limiter_.TryAcquire(now)) {
    SleepTowards(*wait);
    return;
  }
  Job job = std::move(*ready);
  queue_.erase(ready);
  if (shared_ && !job.claimed && !Claim(job)) {
    limiter_.Refund();  // no call goes now: the token is given back
    return;
  }
  Send(std::move(job));
}

// A shared store: the series is this run's before its call is sent, and is planned again on
// what the store holds now (another fetcher may have stored it since the run began). True when
// the call is to go now; otherwise the job is settled, or back in the queue: a series another
// fetcher holds goes to the back and is asked for again later.
bool EngineRun::Claim(Job& job) {
  const WallTime wall = clock_.WallNow();
  auto claim = writer_->Call(
      [&](Store& store) { return store.ClaimSeries(job.key, holder_, wall, options_.lease); });
  if (!claim) {
    Settle(job, SeriesStatus::kFailed, claim.error().message);
    Halt(fmt::format("cannot claim a series: {}", claim.error().message), StopCause::kError);
    return false;
  }
  if (!claim->granted) {
    // Not before kClaimPause: a row another fetcher is storing is free only when that
    // transaction commits.
    const Nanos until_free =
        std::max(Nanos(kClaimPause),
                 std::chrono::duration_cast<Nanos>(claim->expires - wall + milliseconds(1)));
    job.not_before = clock_.Now() + std::min(until_free, Nanos(kClaimRetry));
    queue_.push_back(std::move(job));
    return false;
  }
  Hold(job);
  StoreSnapshot now_stored = learnt_;
  std::optional<WallTime> stored_at;
  if (claim->state) {
    stored_at = claim->state->last_success_at;
    now_stored.series.emplace(job.key, *claim->state);
  }
  PlanOptions plan_options = PlanOptionsOf(options_);
  if (!job.month.empty()) {
    plan_options.months = {job.month};
    auto month =
        writer_->Call([&](Store& store) { return store.MonthStoredAt(job.key, job.month); });
    if (!month) {
      Settle(job, SeriesStatus::kFailed, month.error().message);
      Halt(fmt::format("cannot read the store: {}", month.error().message), StopCause::kError);
      return false;
    }
    stored_at = *month;
    if (*month) now_stored.months_stored.emplace(std::pair(job.key, job.month), **month);
  }
  // Stored during this run (by another fetcher, even under --force): not fetched twice.
  if (StoredByAnother(job, stored_at)) {
    Settle(job, SeriesStatus::kUpToDate, "stored by another mdfetch during this run");
    return false;
  }
  const mdfetch::Plan plan = MakePlan({job.key}, now_stored, wall, plan_options);
  if (!plan.settled.empty()) {
    const Settled& settled = plan.settled.front();
    Settle(job.item,
           settled.verdict == Verdict::kUpToDate ? SeriesStatus::kUpToDate : SeriesStatus::kFailed,
           settled.reason, settled.history_limited);
    Unhold(job);
    return false;
  }
  if (!job.Repeat() && !job.restated && !plan.calls.empty()) {
    PlannedCall call = plan.calls.front();
    call.item = job.item;
    if (full_refused_.contains(call.key.function) && !FallBackFromFull(call)) {
      Settle(job, SeriesStatus::kFailed, std::string(kMonthNeedsFull));
      return false;
    }
    static_cast<PlannedCall&>(job) = std::move(call);
  }
  // Planned again as a `full` call while one is in flight unproven: it waits for the answer.
  if (Blocked(job)) {
    queue_.push_front(std::move(job));
    return false;
  }
  return true;
}

// Until a `full` call of a function has been answered with data, a second one waits for the
// first: when `full` is premium for the key, one call learns it, at any concurrency.
bool EngineRun::Blocked(const Job& job) const {
  const Function f = job.key.function;
  return job.outputsize == OutputSize::kFull && !full_proven_.contains(f) &&
         full_probing_.contains(f);
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
  Halt(QuotaSpent(*options_.rate.per_day, next_free), StopCause::kQuota);
  return false;
}

// Logs the call before it is sent; on a shared store, reserves it against the calls of every
// fetcher. False when it is not to be sent now: the job is back in the queue (the shared
// windows are full, or the series' lease was lost and is claimed again), the daily quota is
// spent, or the store failed.
bool EngineRun::Reserve(Job& job, WallTime& wall, int64_t& fetch_id) {
  // The call's time is read when the store logs it: the writer may be busy storing an answer
  // before it gets to this, and every fetcher spaces its calls from the logged times.
  if (!shared_) {
    auto id = writer_->Call([&](Store& store) {
      wall = clock_.WallNow();
      return store.BeginCall(job.key, job.outputsize, wall, job.month);
    });
    if (!id) {
      Settle(job, SeriesStatus::kFailed, id.error().message);
      Halt(fmt::format("cannot log the call: {}", id.error().message), StopCause::kError);
      return false;
    }
    fetch_id = *id;
    return true;
  }
  auto reserved = writer_->Call([&](Store& store) {
    wall = clock_.WallNow();
    return store.ReserveCall(job.key, job.outputsize, wall, job.month, options_.rate, holder_,
                             options_.lease);
  });
  if (!reserved) {
    Settle(job, SeriesStatus::kFailed, reserved.error().message);
    Halt(fmt::format("cannot log the call: {}", reserved.error().message), StopCause::kError);
    return false;
  }
  if (reserved->kind == Reservation::Kind::kReserved) {
    fetch_id = reserved->fetch_id;
    return true;
  }
  limiter_.Refund();  // the token paid for a call that is not sent
  switch (reserved->kind) {
    case Reservation::Kind::kWait:
      reserve_after_ = clock_.Now() + std::chrono::duration_cast<Nanos>(reserved->retry_at - wall);
      break;
    case Reservation::Kind::kDaySpent:
      // As QuotaAllows: a slot that frees within a minute is waited for.
      if (reserved->retry_at - wall <= kQuotaWaitAtMost) {
        reserve_after_ =
            clock_.Now() + std::chrono::duration_cast<Nanos>(reserved->retry_at - wall);
      } else {
        Halt(QuotaSpent(options_.rate.per_day.value_or(0), reserved->retry_at), StopCause::kQuota);
      }
      break;
    case Reservation::Kind::kLeaseLost:
      Unhold(job);  // the lease is another's now: nothing of this run's to end
      job.claimed = false;
      break;
    case Reservation::Kind::kReserved:
      break;
  }
  queue_.push_front(std::move(job));
  return false;
}

void EngineRun::Send(Job job) {
  WallTime wall = clock_.WallNow();
  int64_t fetch_id = 0;
  if (!Reserve(job, wall, fetch_id)) return;
  const Function f = job.key.function;
  job.probe = job.outputsize == OutputSize::kFull && !full_proven_.contains(f);
  if (job.probe) full_probing_.insert(f);
  job.sent_at = wall;
  ++in_flight_;
  ++summary_.calls;
  if (job.Repeat()) ++summary_.retries;
  ++summary_.results[job.item].calls;
  summary_.results[job.item].outputsize = job.outputsize;
  if (options_.rate.per_day) quota_window_.push_back(wall);
  Report(Describe(summary_.results[job.item]));
  asio::post(*pool_,
             [this, job = std::move(job), id = fetch_id]() mutable { Work(std::move(job), id); });
}

// A call that never left this machine is no call: what Send() counted is given back. A
// series left with no call has no outputsize either; one with an earlier call keeps the
// value Send() set (the same as that call's unless a restatement or a fallback from `full`
// changed it in between, which the job does not record).
void EngineRun::Unsend(const Job& job) {
  --summary_.calls;
  if (job.Repeat()) --summary_.retries;
  SeriesResult& result = summary_.results[job.item];
  if (--result.calls == 0) result.outputsize = OutputSize::kNone;
  if (options_.rate.per_day) {
    auto it = std::find(quota_window_.rbegin(), quota_window_.rend(), job.sent_at);
    if (it != quota_window_.rend()) quota_window_.erase(std::next(it).base());
  }
  limiter_.Refund();
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

void EngineRun::DrainCompletions() {
  std::deque<Completion> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(completions_);
  }
  for (auto& c : batch) {
    --in_flight_;
    if (c.job.probe) {
      full_probing_.erase(c.job.key.function);
      c.job.probe = false;
    }
    Handle(c);
  }
  // A store that cannot record calls cannot keep the quota honest: stop.
  for (const Error& error : writer_->TakeErrors()) {
    Halt(fmt::format("cannot write the store: {}", error.message), StopCause::kError);
  }
}

void EngineRun::Report(const std::string& last) {
  if (!on_progress_) return;
  on_progress_(
      Progress{.settled = settled_, .total = total_items_, .calls = summary_.calls, .last = last});
}

void EngineRun::Settle(const Job& job, SeriesStatus status, std::string reason) {
  Settle(job.item, status, std::move(reason), job.history_limited);
  Unhold(job);
}

// A shared store: the job holds its series' lease (with the other claimed jobs of the series).
void EngineRun::Hold(Job& job) {
  if (job.claimed) return;
  job.claimed = true;
  ++holds_[job.key];
}

// The job (settled, or told its lease was lost) holds the lease no more; the lease ends with
// the series' last claimed job.
void EngineRun::Unhold(const Job& job) {
  if (!job.claimed) return;
  auto it = holds_.find(job.key);
  if (it == holds_.end() || --it->second > 0) return;
  holds_.erase(it);
  writer_->Post([this, key = job.key](Store& store) { return store.ReleaseSeries(key, holder_); });
}

// Stored since this run began, and not by this run: another fetcher's work, not to repeat
// (even under --force, even after a failed attempt of this run's own).
bool EngineRun::StoredByAnother(const Job& job, const std::optional<WallTime>& stored_at) const {
  return stored_at && *stored_at >= started_ && !stored_items_.contains(job.item);
}

void EngineRun::Settle(size_t item, SeriesStatus status, std::string reason, bool history_limited) {
  Record(item, status, std::move(reason), history_limited);
  if (on_progress_) Report(Describe(summary_.results[item]));
}

void EngineRun::Record(size_t item, SeriesStatus status, std::string reason, bool history_limited) {
  SeriesResult& result = summary_.results[item];
  result.status = status;
  result.reason = std::move(reason);
  if (history_limited) result.history_limited = true;
  ++settled_;
}

void EngineRun::Halt(std::string reason, StopCause cause, std::string detail) {
  if (halted_) return;
  halted_ = true;
  halt_cause_ = cause;
  halt_reason_ = std::move(reason);
  halt_detail_ = std::move(detail);
}

// A shared store: whether `job`, left by a halt, is this run's to mark deferred. A series
// another fetcher holds is its business (it is settled deferred here, the store untouched); one
// stored by another fetcher during this run is up to date. Settles the job unless it is kept.
bool EngineRun::KeepForNextRun(Job& job) {
  const WallTime wall = clock_.WallNow();
  auto claim = writer_->Call(
      [&](Store& store) { return store.ClaimSeries(job.key, holder_, wall, options_.lease); });
  if (!claim || claim->granted) {
    if (!claim) return true;
    Hold(job);
    if (!claim->state || !StoredByAnother(job, claim->state->last_success_at)) return true;
    Settle(job, SeriesStatus::kUpToDate, "stored by another mdfetch during this run");
    return false;
  }
  Settle(job, SeriesStatus::kDeferred, std::string(StopCauseText(halt_cause_)));
  return false;
}

// After a halt nothing more is sent: what is queued is deferred (first next run), or failed
// when the halt means no call with this key can succeed. The cause is in the summary once;
// each series only says it was left.
void EngineRun::DeferOrFailQueued() {
  const bool defer = halt_cause_ == StopCause::kQuota || halt_cause_ == StopCause::kUnreachable ||
                     halt_cause_ == StopCause::kInterrupted;
  std::string why = std::string(StopCauseText(halt_cause_));
  while (!queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    if (defer && shared_ && job.month.empty() && !KeepForNextRun(job)) continue;
    if (defer) {
      // A series queued only by --force was up to date: it does not jump the next run's
      // queue ahead of series that are really behind. A backfill month is not the series'
      // business: the same `fetch --month` again picks up the months left.
      if (!job.forced && job.month.empty()) {
        writer_->Post(
            [key = job.key, why](Store& store) { return store.SetDeferred(key, true, why); });
      }
      Settle(job, SeriesStatus::kDeferred, why);
    } else {
      Settle(job, SeriesStatus::kFailed, why);
    }
  }
}

}  // namespace mdfetch
