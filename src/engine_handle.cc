// What each answer means: the workers' side (Work) and the dispatcher's (Handle*).
#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "engine_run.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/redact.h"
#include "writer.h"

namespace mdfetch {
namespace {

// The call log's outcome of an answer that stored nothing. An `Error Message` for the latest
// bars means the service does not know the series: the planner remembers "unknown".
std::string_view OutcomeName(AnswerKind kind, bool backfill) {
  switch (kind) {
    case AnswerKind::kData:
      return "stored";
    case AnswerKind::kErrorMessage:
      return backfill ? "error" : "unknown";
    case AnswerKind::kThrottle:
      return "throttled";
    case AnswerKind::kDailyLimit:
      return "daily_limit";
    case AnswerKind::kPremium:
    case AnswerKind::kPremiumFull:
      return "premium";
    case AnswerKind::kKeyRejected:
      return "key_rejected";
    case AnswerKind::kIncomplete:
      return "incomplete";
    case AnswerKind::kMalformed:
      return "malformed";
    case AnswerKind::kMismatch:
      return "mismatch";
  }
  return "?";
}

// A dividend or a split on a bar newer than what was stored: the service has restated every
// older adjusted close.
bool HasNewCorporateAction(const std::vector<Bar>& bars, const std::string& known_last) {
  return std::any_of(bars.begin(), bars.end(), [&](const Bar& bar) {
    bool action = bar.dividend.value_or(0) != 0 || bar.split_coefficient.value_or(1) != 1;
    return action && bar.ts > known_last;
  });
}

std::string Times(int n, std::string_view what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

}  // namespace

// On a worker thread: one call, decoded here so the writer never waits for parsing.
void EngineRun::Work(Job job, int64_t fetch_id) {
  const Request request{job.key, job.outputsize, job.month};
  Completion c;
  c.job = std::move(job);
  if (stop_.load()) {
    // Stopped before sending: no call.
    c.kind = Kind::kCancelled;
    c.sent = false;
    c.message = "call cancelled";
    writer_->Post(
        [fetch_id, key = c.job.key](Store& store) { return store.ForgetCall(fetch_id, key); });
    Complete(std::move(c));
    return;
  }
  // Timed only for on_call: the clock may take a lock (a test's) or a syscall.
  const bool timed = static_cast<bool>(options_.on_call);
  const SteadyTime started = timed ? clock_.Now() : SteadyTime{};
  Transport* transport = transports_->Borrow();
  Result<HttpResponse> response = transport->Get(BuildTarget(request, options_.api_key));
  transports_->Return(transport);
  if (timed) c.elapsed = clock_.Now() - started;

  CallRecord record;
  if (!response) {
    static constexpr auto kKinds = [] {
      std::array<Kind, 5> kinds{};
      kinds[static_cast<size_t>(ErrorCode::kPermanent)] = Kind::kPermanent;
      kinds[static_cast<size_t>(ErrorCode::kTransient)] = Kind::kTransient;
      kinds[static_cast<size_t>(ErrorCode::kNotSent)] = Kind::kNotSent;
      kinds[static_cast<size_t>(ErrorCode::kCancelled)] = Kind::kCancelled;
      kinds[static_cast<size_t>(ErrorCode::kNoStore)] = Kind::kPermanent;  // not a transport's
      return kinds;
    }();
    c.kind = kKinds[static_cast<size_t>(response.error().code)];
    c.message = Redact(response.error().message, options_.api_key);
    if (c.kind == Kind::kNotSent) {
      c.outcome = "not sent";
      writer_->Post(
          [fetch_id, key = c.job.key](Store& store) { return store.ForgetCall(fetch_id, key); });
      Complete(std::move(c));
      return;
    }
    record.outcome = c.kind == Kind::kPermanent ? "error" : "transient";
  } else if (response->simulated != options_.simulated) {
    c.kind = Kind::kWrongSource;
    c.message = response->simulated
                    ? "the answer came from the mdfetch simulator: simulated bars never go "
                      "into a real store (use --sim, which stores into data/demo.db)"
                    : "the answer did not come from the mdfetch simulator, but --sim was given";
    record.outcome = "error";
  } else if (response->status != 200) {
    record.http_status = response->status;
    record.bytes = static_cast<int64_t>(response->body.size());
    c.message = fmt::format("HTTP {}", response->status);
    if (response->status == 429) {
      c.kind = Kind::kAnswer;
      c.answer = AnswerKind::kThrottle;
      record.outcome = "throttled";
    } else if (response->status >= 500) {
      c.kind = Kind::kTransient;
      record.outcome = "transient";
    } else {
      c.kind = Kind::kPermanent;
      record.outcome = "error";
    }
  } else {
    record.http_status = 200;
    record.bytes = static_cast<int64_t>(response->body.size());
    Answer answer = DecodeAnswer(request, response->body);
    response->body = std::string();  // the bars are all that is kept from here on
    if (answer.kind == AnswerKind::kData) {
      record.outcome = "stored";
      c.outcome = record.outcome;
      c.bytes = record.bytes;
      c.new_corporate_action = IsAdjusted(c.job.key.function) &&
                               c.job.outputsize == OutputSize::kCompact &&
                               HasNewCorporateAction(answer.bars, c.job.known_last);
      // The latest bars go on an answer lane when the store has them (writer.h: why that
      // order is safe). A backfill month stays on the main thread, in order: the run claims
      // the series' other months there, and ClaimSeries skips a series row that a lane has
      // locked (SKIP LOCKED), which would send that month back to the queue for a while.
      const bool backfill = !c.job.month.empty();
      Writer::Task store_it = [this, c = std::move(c), answer = std::move(answer), record, fetch_id,
                               wall = clock_.WallNow()](Store& store) mutable {
        auto counts = store.StoreAnswer(
            fetch_id, c.job.key, answer.meta, answer.bars, c.job.history_limited, record, wall,
            c.job.month.empty() ? StoreScope::kLatest : StoreScope::kBackfill,
            answer.newest_provisional ? NewestBar::kProvisional : NewestBar::kFinal);
        if (counts) {
          c.kind = Kind::kStored;
          c.counts = *counts;
        } else {
          c.kind = Kind::kStoreFailed;
          c.outcome = "not stored";
          c.message = counts.error().message;
        }
        Complete(std::move(c));
        return Status{};  // a failure is the completion's to report
      };
      if (backfill) {
        writer_->Post(std::move(store_it));
      } else {
        writer_->PostAnswer(std::move(store_it));
      }
      return;
    }
    c.kind = answer.kind == AnswerKind::kIncomplete ? Kind::kTransient : Kind::kAnswer;
    c.answer = answer.kind;
    c.message = Redact(answer.message, options_.api_key);
    record.outcome = OutcomeName(answer.kind, !c.job.month.empty());
  }
  record.error = c.message;
  c.outcome = record.outcome;
  c.bytes = record.bytes;
  writer_->Post([fetch_id, key = c.job.key, record](Store& store) {
    return store.FinishCall(fetch_id, key, record);
  });
  Complete(std::move(c));
}

// For --verbose: what became of one call. A request cancelled before it was sent is none.
void EngineRun::TellCall(const Completion& c) {
  if (!options_.on_call || !c.sent) return;
  options_.on_call(CallEvent{.sent_at = c.job.sent_at,
                             .series = Describe(summary_.results[c.job.item]),
                             .outputsize = c.job.outputsize,
                             .outcome = c.outcome,
                             .message = c.kind == Kind::kStored ? std::string() : c.message,
                             .bytes = c.bytes,
                             .elapsed = c.elapsed});
}

void EngineRun::Handle(Completion& c) {
  TellCall(c);
  // Anything but a call that never left shows the service can be reached.
  if (c.kind != Kind::kNotSent && c.kind != Kind::kCancelled) {
    unreachable_since_.reset();
    reach_retry_at_.reset();
  }
  switch (c.kind) {
    case Kind::kWrongSource:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      Halt(c.message, StopCause::kError);
      return;
    case Kind::kStored: {
      throttle_streak_start_.reset();
      if (c.job.outputsize == OutputSize::kFull) full_proven_.insert(c.job.key.function);
      stored_items_.insert(c.job.item);
      StoreCounts& counts = summary_.results[c.job.item].counts;
      counts.added += c.counts.added;
      counts.changed += c.counts.changed;
      counts.unchanged += c.counts.unchanged;
      if (c.new_corporate_action && !c.job.restated &&
          !full_refused_.contains(c.job.key.function)) {
        // Every older adjusted close is now stale: restate the whole history, now if the
        // quota allows, else first thing next run (needs_full is persisted).
        writer_->Post([key = c.job.key](Store& store) { return store.SetNeedsFull(key, true); });
        c.job.outputsize = OutputSize::kFull;
        c.job.restated = true;
        c.job.transient_failures = 0;
        c.job.permanent_failures = 0;
        Requeue(std::move(c.job));
        return;
      }
      Settle(c.job, SeriesStatus::kStored, "");
      return;
    }
    case Kind::kStoreFailed:
      // The store's error is the run's stop reason, said once; the series only points to it.
      Settle(c.job, SeriesStatus::kFailed, "not stored: cannot write the store");
      Halt(fmt::format("cannot write the store: {}", c.message), StopCause::kError);
      return;
    case Kind::kPermanent:
      RetryPermanent(std::move(c.job), c.message);
      return;
    case Kind::kCancelled:
      if (!c.sent) Unsend(c.job);
      Retry(std::move(c.job), c.message);
      return;
    case Kind::kTransient:
      Retry(std::move(c.job), c.message);
      return;
    case Kind::kNotSent:
      HandleNotSent(c);
      return;
    case Kind::kAnswer:
      HandleAnswer(c);
      return;
  }
}

void EngineRun::HandleAnswer(Completion& c) {
  // Any answer but a throttle shows the service is taking calls again.
  if (c.answer != AnswerKind::kThrottle) throttle_streak_start_.reset();
  switch (c.answer) {
    case AnswerKind::kErrorMessage:
      // The same call would get the same answer: one call, and for the latest bars the
      // store remembers the series as unknown (OutcomeName). `full` refused this way is not
      // a reason to ask `compact`: only the premium answer is.
      Settle(
          c.job, SeriesStatus::kFailed,
          c.job.month.empty() ? fmt::format("unknown to the service: {}", c.message) : c.message);
      return;
    case AnswerKind::kThrottle:
      HandleThrottle(c);
      return;
    case AnswerKind::kDailyLimit:
      // The service's long text is the summary's to show once (stop_detail).
      Halt("the service's daily limit is reached", StopCause::kQuota, c.message);
      queue_.push_front(std::move(c.job));
      return;
    case AnswerKind::kPremium:
      HandlePremium(c);
      return;
    case AnswerKind::kPremiumFull:
      HandlePremiumFull(c);
      return;
    case AnswerKind::kKeyRejected:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      Halt(fmt::format("the service rejected the API key: {}", c.message), StopCause::kError);
      return;
    case AnswerKind::kMismatch:
      RetryPermanent(std::move(c.job), c.message);
      return;
    case AnswerKind::kMalformed:
      RetryPermanent(std::move(c.job), fmt::format("unusable answer: {}", c.message));
      return;
    case AnswerKind::kData:
    case AnswerKind::kIncomplete:
      Retry(std::move(c.job), c.message);
      return;
  }
}

void EngineRun::HandleThrottle(Completion& c) {
  ++summary_.throttled;
  SteadyTime now = clock_.Now();
  if (!throttle_streak_start_) throttle_streak_start_ = now;
  if (now - *throttle_streak_start_ >= options_.throttle_give_up) {
    Halt(fmt::format(
             "the service kept answering \"slow down\" for {} s: today's calls are spent ({})",
             std::chrono::duration_cast<std::chrono::seconds>(options_.throttle_give_up).count(),
             c.message),
         StopCause::kQuota);
    queue_.push_front(std::move(c.job));
    return;
  }
  // Calls in flight during a cool-down meet the same throttle: slow down once per cool-down,
  // not once per answer.
  if (!cooling_until_ || now >= *cooling_until_) cooling_until_ = now + limiter_.OnThrottle(now);
  Requeue(std::move(c.job));
}

// The request never left this machine: it is no call (Unsend). The outage is waited out with
// a doubling pause for all calls; when nothing has reached the service for
// unreachable_give_up, the run stops and what is left is deferred with its quota intact.
void EngineRun::HandleNotSent(Completion& c) {
  Unsend(c.job);
  const SteadyTime now = clock_.Now();
  if (!unreachable_since_) {
    unreachable_since_ = now;
    reach_delay_ = options_.reach_retry_first;
  }
  if (now - *unreachable_since_ >= options_.unreachable_give_up) {
    Halt(c.message, StopCause::kUnreachable);
    queue_.push_front(std::move(c.job));
    return;
  }
  // The calls in flight when the outage began fail together: one pause for all of them.
  if (!reach_retry_at_ || now >= *reach_retry_at_) {
    reach_retry_at_ = now + reach_delay_;
    reach_delay_ *= 2;
    limiter_.CoolDown(*reach_retry_at_);
  }
  Requeue(std::move(c.job));
}

// "This is a premium endpoint": the function is refused to this key, whatever the
// parameters. It stops at once, and the store remembers it.
void EngineRun::HandlePremium(Completion& c) {
  const Function function = c.job.key.function;
  Remember(FactKey("premium", function));
  std::string reason =
      fmt::format("{} is premium-only for this key: {}", ShortName(function), c.message);
  Settle(c.job, SeriesStatus::kFailed, reason);
  premium_refused_.emplace(function, reason);  // for the slices still to plan
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->key.function == function) {
      Settle(*it, SeriesStatus::kFailed, reason);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

// "The outputsize=full parameter value is a premium feature": every call of the function
// falls back from `full` (FallBackFromFull: compact, or a month fails), and the store
// remembers it.
void EngineRun::HandlePremiumFull(Completion& c) {
  if (c.job.outputsize != OutputSize::kFull) {
    HandlePremium(c);  // refused without asking `full`: the function is what is refused
    return;
  }
  const Function function = c.job.key.function;
  Remember(FactKey("full_refused", function));
  full_refused_.insert(function);
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->key.function == function && !FallBackFromFull(*it)) {
      Settle(*it, SeriesStatus::kFailed, std::string(kMonthNeedsFull));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  if (!FallBackFromFull(c.job)) {
    Settle(c.job, SeriesStatus::kFailed, std::string(kMonthNeedsFull));
    return;
  }
  Requeue(std::move(c.job));
}

void EngineRun::Remember(std::string fact) {
  writer_->Post([fact = std::move(fact), now_ms = ToUnixMillis(clock_.WallNow())](Store& store) {
    return store.SetFact(fact, std::to_string(now_ms));
  });
}

// First in line, due at once: a call that was answered with "not now" or changed its request.
void EngineRun::Requeue(Job job) {
  job.not_before = SteadyTime::min();
  queue_.push_front(std::move(job));
}

// Capped exponential backoff with full jitter: the n-th retry waits a uniform time in
// [0, min(cap, base * 2^(n-1))].
void EngineRun::Retry(Job job, const std::string& reason) {
  if (halted_) {
    // Stopping: a call that failed now is not retried but left for the next run.
    queue_.push_front(std::move(job));
    return;
  }
  ++job.transient_failures;
  if (job.transient_failures > options_.retries) {
    Settle(job, SeriesStatus::kFailed,
           fmt::format("failed after {}: {}", Times(job.transient_failures, "attempt"), reason));
    return;
  }
  Nanos ceiling = options_.backoff_base;
  for (int i = 1; i < job.transient_failures && ceiling < options_.backoff_cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options_.backoff_cap);
  std::uniform_int_distribution<int64_t> jitter(0, ceiling.count());
  job.not_before = clock_.Now() + Nanos(jitter(rng_));
  queue_.push_back(std::move(job));
}

// A permanent failure (the same call would most likely fail the same way) gets one more call
// after the backoff's first pause, in case it came from something between us and the
// service; then the series fails and nothing from it is stored.
void EngineRun::RetryPermanent(Job job, const std::string& reason) {
  if (halted_) {
    queue_.push_front(std::move(job));
    return;
  }
  if (++job.permanent_failures > 1) {
    Settle(job, SeriesStatus::kFailed, fmt::format("{}: nothing stored", reason));
    return;
  }
  job.not_before = clock_.Now() + options_.backoff_base;
  queue_.push_back(std::move(job));
}

}  // namespace mdfetch
