#include "mdfetch/engine.h"

#include <fmt/format.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "engine_run.h"
#include "mdfetch/av_codec.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"
#include "mdfetch/redact.h"
#include "writer.h"

namespace mdfetch {

std::string_view SeriesStatusName(SeriesStatus status) {
  switch (status) {
    case SeriesStatus::kStored:
      return "stored";
    case SeriesStatus::kUpToDate:
      return "up to date";
    case SeriesStatus::kFailed:
      return "failed";
    case SeriesStatus::kDeferred:
      return "deferred";
  }
  return "?";
}

std::string_view StopCauseText(StopCause cause) {
  switch (cause) {
    case StopCause::kNone:
      return "";
    case StopCause::kQuota:
      return "the daily quota is spent";
    case StopCause::kUnreachable:
      return "the service could not be reached";
    case StopCause::kInterrupted:
      return "interrupted";
    case StopCause::kError:
      return "not called: the run stopped";
  }
  return "";
}

int64_t RefreshSummary::Count(SeriesStatus status) const {
  return by_status[static_cast<size_t>(status)];
}

int64_t RefreshSummary::BarsAdded() const { return bars_added; }

int64_t RefreshSummary::BarsChanged() const { return bars_changed; }

Engine::Engine(Clock& clock, TransportFactory transports, Store& store, EngineOptions options)
    : clock_(clock),
      transports_(std::move(transports)),
      store_(store),
      options_(std::move(options)) {}

void Engine::RequestStop() { stop_.store(true); }

std::string Describe(const SeriesResult& result) {
  std::string out = Describe(result.key);
  if (!result.month.empty()) out += " month=" + result.month;
  return out;
}

Result<DryRun> Engine::Plan(const std::vector<SeriesKey>& series) {
  const WallTime now = clock_.WallNow();
  Result<StoreSnapshot> snapshot = ReadSnapshot(store_, series, options_.months);
  if (!snapshot) return Fail(fmt::format("cannot read the store: {}", snapshot.error().message));
  Result<std::vector<WallTime>> calls = store_.CallTimesSince(now - std::chrono::hours(24));
  if (!calls) return Fail(fmt::format("cannot read the call log: {}", calls.error().message));
  DryRun dry{.snapshot = std::move(*snapshot), .plan = {}, .calls_last_day = std::move(*calls)};
  dry.plan = MakePlan(series, dry.snapshot, now, PlanOptionsOf(options_));
  return dry;
}

RefreshSummary Engine::Run(const std::vector<SeriesKey>& series,
                           const std::function<void(const Progress&)>& on_progress) {
  VectorSource source(series);
  std::vector<SeriesResult> results(series.size() * std::max<size_t>(1, options_.months.size()));
  RefreshSummary summary = Run(
      source,
      [&](size_t position, SeriesResult&& result) { results[position] = std::move(result); },
      on_progress);
  summary.results = std::move(results);
  return summary;
}

RefreshSummary Engine::Run(SeriesSource& series, const EachResult& each,
                           const std::function<void(const Progress&)>& on_progress) {
  EngineRun run(clock_, transports_, store_, options_, stop_, on_progress);
  return run.Execute(series, each);
}

}  // namespace mdfetch
