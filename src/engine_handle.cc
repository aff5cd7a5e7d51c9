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

std::string_view OutcomeName(AnswerKind kind) {
  switch (kind) {
    case AnswerKind::kData:
      return "stored";
    case AnswerKind::kErrorMessage:
      return "error";
    case AnswerKind::kThrottle:
      return "throttled";
    case AnswerKind::kDailyLimit:
      return "daily_limit";
    case AnswerKind::kPremium:
      return "premium";
    case AnswerKind::kKeyRejected:
      return "key_rejected";
    case AnswerKind::kMalformed:
      return "malformed";
    case AnswerKind::kPremiumFull:
      return "premium";
    case AnswerKind::kIncomplete:
      return "incomplete";
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

}  // namespace

// On a worker thread: one call, decoded here so the writer never waits for parsing.
void EngineRun::Work(Job job, int64_t fetch_id) {
  Result<HttpResponse> response = Fail("call cancelled");
  if (!stop_.load()) {
    Transport* transport = transports_->Borrow();
    response =
        transport->Get(BuildTarget(Request{job.key, job.outputsize, job.month}, options_.api_key));
    transports_->Return(transport);
  }

  Completion c;
  c.job = std::move(job);
  CallRecord record;
  if (!response) {
    c.kind = response.error().message.starts_with(kAnswerTooLarge) ? Kind::kHttpPermanent
                                                                   : Kind::kTransient;
    c.message = Redact(response.error().message, options_.api_key);
    record.outcome = c.kind == Kind::kTransient ? "transient" : "error";
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
      c.kind = Kind::kHttpPermanent;
      record.outcome = "error";
    }
  } else {
    record.http_status = 200;
    record.bytes = static_cast<int64_t>(response->body.size());
    Answer answer = DecodeAnswer(Request{c.job.key, c.job.outputsize, c.job.month}, response->body);
    response->body = std::string();  // the bars are all that is kept from here on
    if (answer.kind == AnswerKind::kData) {
      record.outcome = "stored";
      c.new_corporate_action = IsAdjusted(c.job.key.function) &&
                               c.job.outputsize == OutputSize::kCompact &&
                               HasNewCorporateAction(answer.bars, c.job.known_last);
      writer_->Post([this, c = std::move(c), answer = std::move(answer), record, fetch_id,
                     wall = clock_.WallNow()](Store& store) mutable {
        auto counts = store.StoreAnswer(
            fetch_id, c.job.key, answer.meta, answer.bars, c.job.history_limited, record, wall,
            c.job.month.empty() ? StoreScope::kLatest : StoreScope::kBackfill);
        if (counts) {
          c.kind = Kind::kStored;
          c.counts = *counts;
        } else {
          c.kind = Kind::kStoreFailed;
          c.message = counts.error().message;
        }
        Complete(std::move(c));
      });
      return;
    }
    c.kind = IsTransient(answer.kind) && answer.kind != AnswerKind::kThrottle ? Kind::kTransient
                                                                              : Kind::kAnswer;
    c.answer = answer.kind;
    c.message = Redact(answer.message, options_.api_key);
    record.outcome = OutcomeName(answer.kind);
  }
  record.error = c.message;
  writer_->Post([fetch_id, key = c.job.key, record](Store& store) {
    (void)store.FinishCall(fetch_id, key, record);
  });
  Complete(std::move(c));
}

void EngineRun::Handle(Completion& c) {
  switch (c.kind) {
    case Kind::kWrongSource:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      Halt(c.message, false);
      return;
    case Kind::kStored: {
      throttle_streak_start_.reset();
      StoreCounts& counts = summary_.results[c.job.index].counts;
      counts.added += c.counts.added;
      counts.changed += c.counts.changed;
      counts.unchanged += c.counts.unchanged;
      if (c.new_corporate_action && !c.job.restated &&
          !full_refused_.contains(c.job.key.function)) {
        // Every older adjusted close is now stale: restate the whole history, now if the
        // quota allows, else first thing next run (needs_full is persisted).
        writer_->Post([key = c.job.key](Store& store) { (void)store.SetNeedsFull(key, true); });
        c.job.outputsize = OutputSize::kFull;
        c.job.restated = true;
        c.job.attempts = 0;
        c.job.not_before = SteadyTime{};
        queue_.push_front(std::move(c.job));
        return;
      }
      Settle(c.job, SeriesStatus::kStored, "");
      return;
    }
    case Kind::kStoreFailed:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      Halt(fmt::format("stopped: {}", c.message), false);
      return;
    case Kind::kHttpPermanent:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      return;
    case Kind::kTransient:
      Retry(std::move(c.job), c.message);
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
      if (c.job.outputsize == OutputSize::kFull && !c.job.restated && c.job.month.empty()) {
        // Some listings fail `full` (deep history that fails the service's QA) while
        // compact works: try compact once before calling the symbol invalid.
        c.job.outputsize = OutputSize::kCompact;
        c.job.history_limited = true;
        c.job.not_before = SteadyTime{};
        queue_.push_front(std::move(c.job));
        return;
      }
      Settle(c.job, SeriesStatus::kFailed, c.message);
      return;
    case AnswerKind::kThrottle: {
      ++summary_.throttled;
      SteadyTime now = clock_.Now();
      if (!throttle_streak_start_) throttle_streak_start_ = now;
      if (now - *throttle_streak_start_ >= options_.throttle_give_up) {
        Halt(
            fmt::format(
                "the service kept answering \"slow down\" for {} s: today's calls "
                "are spent ({})",
                std::chrono::duration_cast<std::chrono::seconds>(options_.throttle_give_up).count(),
                c.message),
            true);
        queue_.push_front(std::move(c.job));
        return;
      }
      // Calls in flight during a cool-down meet the same throttle: slow down once per
      // cool-down, not once per answer.
      if (!cooling_until_ || now >= *cooling_until_) {
        cooling_until_ = now + limiter_.OnThrottle(now);
      }
      c.job.not_before = SteadyTime{};
      queue_.push_front(std::move(c.job));
      return;
    }
    case AnswerKind::kDailyLimit:
      Halt(fmt::format("the service's daily limit is reached: {}", c.message), true);
      queue_.push_front(std::move(c.job));
      return;
    case AnswerKind::kPremium:
    case AnswerKind::kPremiumFull:
      HandlePremium(c);
      return;
    case AnswerKind::kKeyRejected:
      Settle(c.job, SeriesStatus::kFailed, c.message);
      Halt(fmt::format("the service rejected the API key: {}", c.message), false);
      return;
    case AnswerKind::kData:
    case AnswerKind::kIncomplete:
    case AnswerKind::kMismatch:
    case AnswerKind::kMalformed:
      Retry(std::move(c.job), c.message);
      return;
  }
}

// A premium refusal is permanent for this key: `outputsize=full` falls back to compact (and
// so does every other queued full call of that function); a premium function stops at once.
void EngineRun::HandlePremium(Completion& c) {
  std::string now_ms = std::to_string(ToUnixMillis(clock_.WallNow()));
  Function function = c.job.key.function;
  // "The outputsize=full parameter value is a premium feature" refuses the parameter;
  // "This is a premium endpoint" refuses the function, whatever the parameters.
  if (c.answer == AnswerKind::kPremiumFull && c.job.outputsize == OutputSize::kFull) {
    writer_->Post([key = FactKey("full_refused", function), now_ms](Store& store) {
      (void)store.SetFact(key, now_ms);
    });
    full_refused_.insert(function);
    auto to_compact = [](Job& job) {
      job.outputsize = OutputSize::kCompact;
      job.history_limited = true;
    };
    // A backfill month is nothing without the whole month: it fails instead.
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->key.function != function || it->outputsize != OutputSize::kFull) {
        ++it;
      } else if (!it->month.empty()) {
        Settle(*it, SeriesStatus::kFailed, kMonthNeedsFull);
        it = queue_.erase(it);
      } else {
        to_compact(*it++);
      }
    }
    if (!c.job.month.empty()) {
      Settle(c.job, SeriesStatus::kFailed, kMonthNeedsFull);
      return;
    }
    to_compact(c.job);
    c.job.not_before = SteadyTime{};
    queue_.push_front(std::move(c.job));
    return;
  }
  writer_->Post([key = FactKey("premium", function), now_ms](Store& store) {
    (void)store.SetFact(key, now_ms);
  });
  std::string reason =
      fmt::format("{} is premium-only for this key: {}", ShortName(function), c.message);
  Settle(c.job, SeriesStatus::kFailed, reason);
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->key.function == function) {
      Settle(*it, SeriesStatus::kFailed, reason);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

// Capped exponential backoff with full jitter: the n-th retry waits a uniform time in
// [0, min(cap, base * 2^(n-1))].
void EngineRun::Retry(Job job, const std::string& reason) {
  if (halted_) {
    // Stopping: a call that failed now is not retried but left for the next run.
    queue_.push_front(std::move(job));
    return;
  }
  ++job.attempts;
  if (job.attempts > options_.retries) {
    std::string why = fmt::format("failed after {} attempts: {}", job.attempts, reason);
    Settle(job, SeriesStatus::kFailed, why);
    return;
  }
  ++summary_.retries;
  Nanos ceiling = options_.backoff_base;
  for (int i = 1; i < job.attempts && ceiling < options_.backoff_cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options_.backoff_cap);
  std::uniform_int_distribution<int64_t> jitter(0, ceiling.count());
  job.not_before = clock_.Now() + Nanos(jitter(rng_));
  queue_.push_back(std::move(job));
}

}  // namespace mdfetch
