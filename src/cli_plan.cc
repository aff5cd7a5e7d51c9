// `mdfetch plan` (and `refresh --dry-run`): what a refresh would do now, with no call. For
// each series: due or not and why, compact or full; then the calls, how many fit today's
// quota and when the rest will go, and how long the calls take at the rate.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/engine.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/redact.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

using std::chrono::hours;

// One row of the plan.
struct Row {
  std::string series;  // Describe(), with " month=YYYY-MM" for a backfill
  std::string action;  // "compact", "full", "call" (no outputsize), "up to date", "failed"
  std::string why;
  std::string when;  // "today", or the day (UTC) the quota lets the call go
};

// Why a call is planned, from what the store knew.
std::string WhyCall(const PlannedCall& call, const std::optional<SeriesState>& state,
                    WallTime now) {
  if (!call.month.empty()) return "backfill month";
  if (call.forced) return "up to date, but --force";
  if (!state || state->bar_count == 0) return "not stored yet";
  if (state->needs_full) return "a dividend or split restated the history: fetch it whole";
  if (state->deferred) return "deferred by an earlier run";
  if (!state->provisional_ts.empty()) {
    return fmt::format("its newest bar ({}) was provisional; its session has closed",
                       state->provisional_ts);
  }
  return fmt::format("a bar can have come since {} (last fetched {})",
                     FormatUtc(LatestPossibleBar(call.key, now)),
                     state->last_success_at ? FormatUtc(*state->last_success_at) : "never");
}

std::string Action(const PlannedCall& call) {
  if (call.outputsize == OutputSize::kNone) return "call";
  std::string action(OutputSizeName(call.outputsize));
  if (call.history_limited) action += " (limited)";
  return action;
}

// The pace the engine keeps: one call per the longest period/count of the windows.
Nanos Interval(const RateSpec& rate) {
  Nanos interval{0};
  for (const Rate& r : rate.windows) {
    interval = std::max(interval, Nanos(r.period.count() / std::max<int64_t>(r.count, 1)));
  }
  return interval;
}

std::string Duration(Nanos d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  return fmt::format("{} h {} min", s / 3600, (s % 3600) / 60);
}

constexpr std::string_view kThisRun = "this run";

// When each of `calls` calls can go: in this run, or (once the daily quota is spent, which
// stops a run) on the UTC day a slot frees, 24 h after each call, ours included.
std::vector<std::string> CallDays(size_t calls, const RateSpec& rate,
                                  const std::vector<WallTime>& logged, WallTime now) {
  std::vector<std::string> days(calls, std::string(kThisRun));
  if (!rate.per_day) return days;
  const auto limit = static_cast<size_t>(*rate.per_day);
  std::deque<WallTime> window(logged.begin(), logged.end());
  const auto interval = std::chrono::duration_cast<WallTime::duration>(Interval(rate));
  WallTime at = now;
  bool deferred = false;
  for (size_t i = 0; i < calls; ++i) {
    while (!window.empty() && window.front() + hours(24) <= at) window.pop_front();
    if (window.size() >= limit) {
      at = std::max(at, window[window.size() - limit] + hours(24));
      deferred = true;
    }
    if (deferred) days[i] = FormatDate(std::chrono::floor<std::chrono::days>(at));
    window.push_back(at);
    at += interval;
  }
  return days;
}

std::vector<Row> Rows(const DryRun& dry, const RateSpec& rate, WallTime now) {
  std::vector<Row> rows(dry.plan.items.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [key, month] = dry.plan.items[i];
    rows[i].series = Describe(key) + (month.empty() ? "" : " month=" + month);
  }
  auto state_of = [&](const SeriesKey& key) -> std::optional<SeriesState> {
    auto it = dry.snapshot.series.find(key);
    if (it == dry.snapshot.series.end()) return std::nullopt;
    return it->second;
  };
  for (const Settled& s : dry.plan.settled) {
    Row& row = rows[s.item];
    if (s.verdict == Verdict::kUpToDate) {
      row.action = "up to date";
      const auto state = state_of(dry.plan.items[s.item].first);
      row.why = state && state->last_success_at
                    ? fmt::format("fetched {}: no bar can have come since",
                                  FormatUtc(*state->last_success_at))
                    : "stored whole";
    } else {
      row.action = "not called";
      row.why = s.reason;
    }
  }
  const std::vector<std::string> days =
      CallDays(dry.plan.calls.size(), rate, dry.calls_last_day, now);
  for (size_t i = 0; i < dry.plan.calls.size(); ++i) {
    const PlannedCall& call = dry.plan.calls[i];
    Row& row = rows[call.item];
    row.action = Action(call);
    row.why = WhyCall(call, state_of(call.key), now);
    row.when = days[i];
  }
  return rows;
}

std::string TableText(const std::string& db, const DryRun& dry, const std::vector<Row>& rows,
                      const RateSpec& rate, const std::string& rate_text) {
  size_t width = 6;
  for (const Row& r : rows) width = std::max(width, r.series.size());
  std::string out =
      fmt::format("{:<{}}  {:<17} {:<10}  {}\n", "series", width, "plan", "when", "why");
  for (const Row& r : rows) {
    out += fmt::format("{:<{}}  {:<17} {:<10}  {}\n", r.series, width, r.action,
                       r.when.empty() ? "-" : r.when, r.why);
  }
  size_t compact = 0, full = 0, today = 0;
  for (const PlannedCall& c : dry.plan.calls) {
    compact += c.outputsize == OutputSize::kCompact ? 1 : 0;
    full += c.outputsize == OutputSize::kFull ? 1 : 0;
  }
  for (const Row& r : rows) today += r.when == kThisRun ? 1 : 0;
  const size_t calls = dry.plan.calls.size();
  const size_t settled = dry.plan.settled.size();
  out += fmt::format("{}: {} series: {} {} ({} compact, {} full), {} settled without a call\n", db,
                     rows.size(), calls, calls == 1 ? "call" : "calls", compact, full, settled);
  if (rate.per_day) {
    const auto spent = static_cast<int64_t>(dry.calls_last_day.size());
    const int64_t left = std::max<int64_t>(0, *rate.per_day - spent);
    out += fmt::format("quota {}/day: {} spent in the last 24 h, {} left: ", *rate.per_day, spent,
                       left);
    if (today == calls) {
      out += calls == 0 ? "nothing to spend\n"
                        : fmt::format("{} fit{}\n", calls == 1 ? "the call" : "all calls",
                                      calls == 1 ? "s" : "");
    } else {
      std::map<std::string, int> later;
      for (const Row& r : rows) {
        if (!r.when.empty() && r.when != kThisRun) ++later[r.when];
      }
      std::string when;
      for (const auto& [day, n] : later) {
        when += fmt::format("{}{} on {}", when.empty() ? "" : ", ", n, day);
      }
      out += fmt::format("{} in this run, the rest deferred: {}\n", today, when);
    }
  }
  const Nanos interval = Interval(rate);
  if (calls > 0) {
    if (interval > Nanos(0)) {
      out += fmt::format(
          "at {} the {} of this run take{} {} (one every {})\n", rate_text,
          today == 1 ? "1 call" : fmt::format("{} calls", today), today == 1 ? "s" : "",
          Duration(interval * static_cast<int64_t>(today > 0 ? today - 1 : 0)), Duration(interval));
    } else {
      out += fmt::format("at {} the calls go as fast as the service answers\n", rate_text);
    }
  }
  return out;
}

std::string PlanJson(const std::string& db, const DryRun& dry, const std::vector<Row>& rows,
                     const RateSpec& rate, WallTime now, const std::vector<std::string>& problems) {
  nlohmann::ordered_json doc;
  doc["version"] = 1;
  doc["database"] = db;
  doc["at"] = IsoUtc(now);
  doc["series"] = nlohmann::ordered_json::array();
  for (const Row& r : rows) {
    doc["series"].push_back({{"series", r.series},
                             {"plan", r.action},
                             {"when", r.when.empty() ? nullptr : nlohmann::ordered_json(r.when)},
                             {"why", r.why}});
  }
  size_t today = 0;
  for (const Row& r : rows) today += r.when == kThisRun ? 1 : 0;
  doc["calls"] = dry.plan.calls.size();
  doc["calls_this_run"] = today;
  doc["quota_per_day"] = rate.per_day ? nlohmann::ordered_json(*rate.per_day) : nullptr;
  doc["spent_last_24h"] = dry.calls_last_day.size();
  doc["seconds_this_run"] = std::chrono::duration_cast<std::chrono::seconds>(
                                Interval(rate) * static_cast<int64_t>(today > 0 ? today - 1 : 0))
                                .count();
  doc["invalid_lines"] = problems;  // as the run report says them
  return JsonText(doc, 2) + "\n";
}

}  // namespace

Outcome RunPlan(const RefreshArgs& args, CliEnv& env) {
  auto rate =
      ParseRateSpec(args.rate.empty() ? (args.sim ? kDefaultSimRate : kDefaultRate) : args.rate);
  if (!rate) return Exit(kExitUsage, "{}", rate.error().message);
  auto target = CollectSeries(args, env);
  if (!target) return Exit(kExitUsage, "{}", target.error().message);
  const WallTime now = env.clock->WallNow();
  auto months = ExpandMonths(args.months, now);
  if (!months) return Exit(kExitUsage, "{}", months.error().message);
  // A key file the run would refuse is said now, not by tonight's run.
  if (!args.sim) {
    if (auto key = ResolveApiKey(args, env); !key) {
      return Exit(kExitUsage, "{}", key.error().message);
    }
  }
  for (const auto& problem : target->problems) fmt::print(env.err, "mdfetch: {}\n", problem);
  const std::string location = ResolveDb(args.db, env, args.sim ? kDemoDb : kDefaultDb);
  // A store that holds nothing yet (no SQLite file, a database without mdfetch's schema)
  // plans as an empty one: everything is new.
  auto store = OpenStoreForReading(location, env);
  if (!store && store.error().code == ErrorCode::kNoStore) {
    store = Store::Open(":memory:", OpenMode::kReadWrite);
  }
  if (!store) return Exit(kExitFailed, "{}", store.error().message);
  const std::string db = RedactDb(location);
  EngineOptions options{.rate = *rate, .force = args.force, .full = args.full, .months = *months};
  Engine engine(*env.clock, TransportFactory{}, **store, options);
  auto dry = engine.Plan(target->All());
  if (!dry) return Exit(kExitFailed, "{}", dry.error().message);
  const std::vector<Row> rows = Rows(*dry, *rate, now);
  const std::string rate_text =
      args.rate.empty() ? (args.sim ? kDefaultSimRate : kDefaultRate) : args.rate;
  const std::string text = args.format == "json"
                               ? PlanJson(db, *dry, rows, *rate, now, target->problems)
                               : TableText(db, *dry, rows, *rate, rate_text);
  std::fputs(text.c_str(), env.out);
  return target->problems.empty() ? kExitOk : kExitFailed;
}

}  // namespace mdfetch
