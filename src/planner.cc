#include "mdfetch/planner.h"

#include <fmt/format.h>

#include "mdfetch/market_calendar.h"

namespace mdfetch {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::sys_days;

// The close of trading day `d`: 16:00 New York, 13:00 on early-close days.
WallTime CloseOf(Date d) { return NewYorkTime(d, SessionClose(d)); }

Date PreviousTradingDay(Date d) {
  Date p = sys_days(d) - days(1);
  while (!IsTradingDay(p)) p = sys_days(p) - days(1);
  return p;
}

Date NextTradingDay(Date d) {
  Date n = sys_days(d) + days(1);
  while (!IsTradingDay(n)) n = sys_days(n) + days(1);
  return n;
}

// Monday of the ISO week holding `d`.
sys_days WeekStart(Date d) {
  sys_days s = sys_days(d);
  auto wd = std::chrono::weekday(s).iso_encoding();  // 1 = Monday
  return s - days(wd - 1);
}

bool EndsPeriod(Date d, Function f) {
  Date next = NextTradingDay(d);
  bool weekly = f == Function::kWeekly || f == Function::kWeeklyAdjusted;
  if (weekly) return WeekStart(next) != WeekStart(d);
  return next.month() != d.month() || next.year() != d.year();
}

WallTime LatestPeriodClose(Function f, WallTime now) {
  Date d = LastSessionDate(now);
  while (!EndsPeriod(d, f)) d = PreviousTradingDay(d);
  return CloseOf(d);
}

WallTime LatestUtcTime(WallTime now, hours at_utc, bool weekdays_only) {
  sys_days day = std::chrono::floor<days>(now);
  for (;;) {
    WallTime candidate = day + at_utc;
    bool weekday = std::chrono::weekday(day).iso_encoding() <= 5;
    if (candidate <= now && (!weekdays_only || weekday)) return candidate;
    day -= days(1);
  }
}

minutes IntervalLength(const SeriesKey& key) {
  int n = std::atoi(key.interval.c_str());
  return minutes(n > 0 ? n : 5);
}

// The New York hours an intraday series has bars for on trading day `d`: 04:00-20:00 with
// extended hours, else the regular session 09:30-16:00; on early-close days the regular
// session ends at 13:00 and the extended hours at 17:00 (market_calendar.h).
struct Session {
  minutes open;
  minutes close;
};

Session SessionOf(const SeriesKey& key, Date d) {
  if (key.extended_hours) return {kExtendedOpen, ExtendedClose(d)};
  return {kRegularOpen, SessionClose(d)};
}

WallTime LatestIntradayBoundary(const SeriesKey& key, WallTime now) {
  Date today = std::chrono::floor<days>(now + NewYorkOffset(now));
  if (IsTradingDay(today)) {
    const Session session = SessionOf(key, today);
    WallTime open = NewYorkTime(today, session.open);
    WallTime close = NewYorkTime(today, session.close);
    if (now >= open && now < close) {
      auto step = IntervalLength(key);
      return open + std::chrono::floor<minutes>(now - open) / step * step;
    }
    if (now >= close) return close;
  }
  Date previous = PreviousTradingDay(today);
  return NewYorkTime(previous, SessionOf(key, previous).close);
}

// Intervals of the series' session (trading days) that started after the bar `last_ts`
// ("YYYY-MM-DD HH:MM:SS", New York time) and have ended by `now`.
int IntradayBarsSince(const SeriesKey& key, const std::string& last_ts, WallTime now) {
  auto day = ParseDate(last_ts);
  if (!day || last_ts.size() < 16) return kCompactBars;  // unknown: ask full
  minutes step = IntervalLength(key);
  minutes last_local = hours(std::atoi(last_ts.substr(11, 2).c_str())) +
                       minutes(std::atoi(last_ts.substr(14, 2).c_str()));
  int64_t bars = 0;
  for (sys_days d = sys_days(*day); d <= std::chrono::floor<days>(now) && bars < kCompactBars;
       d += days(1)) {
    if (!IsTradingDay(Date{d})) continue;
    const Session session = SessionOf(key, Date{d});
    WallTime open = NewYorkTime(Date{d}, session.open);
    WallTime close = NewYorkTime(Date{d}, session.close);
    if (d == sys_days(*day)) open = NewYorkTime(Date{d}, std::max(session.open, last_local + step));
    WallTime end = std::min(close, now);
    if (end > open) bars += std::chrono::floor<minutes>(end - open) / step;
  }
  return static_cast<int>(bars);
}

}  // namespace

WallTime LatestPossibleBar(const SeriesKey& key, WallTime now) {
  switch (key.function) {
    case Function::kDaily:
    case Function::kDailyAdjusted:
      return LastMarketClose(now);
    case Function::kWeekly:
    case Function::kWeeklyAdjusted:
    case Function::kMonthly:
    case Function::kMonthlyAdjusted:
      return LatestPeriodClose(key.function, now);
    case Function::kFxDaily:
      return LatestUtcTime(now, hours(22), true);
    case Function::kCryptoDaily:
      return LatestUtcTime(now, hours(0), false);
    case Function::kIntraday:
      return LatestIntradayBoundary(key, now);
  }
  return now;
}

bool IsUpToDate(const SeriesKey& key, const SeriesState& state, WallTime now) {
  if (!state.last_success_at || state.needs_full || state.bar_count == 0) return false;
  // The newest bar was taken while its session was open: once it has closed, the final bar
  // replaces it.
  if (auto session = ParseDate(state.provisional_ts); session && now >= CloseOf(*session)) {
    return false;
  }
  WallTime latest = LatestPossibleBar(key, now);
  if (*state.last_success_at < latest) return false;
  if (key.function != Function::kDaily && key.function != Function::kDailyAdjusted) return true;
  // Right after the close the service may not have the session's final bar yet: a fetch then
  // counts only if its answer already held that bar as final (a plain date in "Last
  // Refreshed"; during the session it is a date and time).
  if (*state.last_success_at >= latest + kPublicationLag) return true;
  return state.last_ts >= FormatDate(LastSessionDate(now)) && state.last_refreshed.size() == 10;
}

bool IsMonthUpToDate(const SeriesKey& key, std::string_view month, WallTime stored_at,
                     WallTime now) {
  auto ym = ParseMonth(month);
  if (!ym) return false;
  Date next_first = (*ym + std::chrono::months(1)) / std::chrono::day(1);
  WallTime month_end = NewYorkTime(next_first, hours(0));
  return stored_at >= std::min(month_end, LatestPossibleBar(key, now));
}

namespace {

OutputSize OutputSizeFor(const SeriesKey& key, const SeriesState* state, WallTime now,
                         bool force_full) {
  if (!TakesOutputSize(key.function)) return OutputSize::kNone;
  if (force_full || !state || state->bar_count == 0 || state->needs_full) return OutputSize::kFull;
  auto last = ParseDate(state->last_ts);
  if (!last) return OutputSize::kFull;
  Date latest = LastSessionDate(now);
  int missing = 0;
  switch (key.function) {
    case Function::kIntraday:
      missing = IntradayBarsSince(key, state->last_ts, now);
      break;
    case Function::kFxDaily: {
      // FX has a bar every weekday, holidays included.
      for (sys_days d = sys_days(*last) + days(1); d <= std::chrono::floor<days>(now);
           d += days(1)) {
        if (std::chrono::weekday(d).iso_encoding() <= 5) ++missing;
      }
      break;
    }
    default:
      missing = TradingDaysBetween(*last, latest);
  }
  // Leave a margin: the service's calendar and ours may differ by a day or two.
  return missing <= kCompactBars - 5 ? OutputSize::kCompact : OutputSize::kFull;
}

}  // namespace

OutputSize ChooseOutputSize(const SeriesKey& key, const std::optional<SeriesState>& state,
                            WallTime now, bool force_full) {
  return OutputSizeFor(key, state ? &*state : nullptr, now, force_full);
}

namespace {

std::string DayOf(WallTime at) { return FormatDate(std::chrono::floor<days>(at)); }

// When a refusal learnt at `at` is still trusted.
bool Remembered(std::optional<WallTime> at, WallTime now, const PlanOptions& options) {
  return at && !options.force && now - *at <= options.memory;
}

// The value stored under `key`, or nullptr: no copy (a plan of 100,000 series looks up each).
template <typename Map, typename Key>
const typename Map::mapped_type* Lookup(const Map& map, const Key& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

template <typename Map, typename Key>
std::optional<typename Map::mapped_type> LookupValue(const Map& map, const Key& key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

// A call for the latest bars of `key`, or the series settled without one. `call.key` is not
// set yet (most series of a big list settle; their key is not copied).
std::optional<Settled> PlanLatest(const SeriesKey& key, PlannedCall& call, const SeriesState* state,
                                  UpToDateMark mark, bool full_refused, WallTime now,
                                  const PlanOptions& options) {
  if (mark != UpToDateMark::kNo && !options.force) {
    return Settled{call.item, Verdict::kUpToDate, "", mark == UpToDateMark::kYesHistoryLimited};
  }
  const bool up_to_date = state && IsUpToDate(key, *state, now);
  if (up_to_date && !options.force) {
    return Settled{call.item, Verdict::kUpToDate, "", state->history_limited};
  }
  call.forced = up_to_date;
  call.outputsize = OutputSizeFor(key, state, now, options.full);
  if (state) {
    call.known_last = state->last_ts;
    // Limited stays limited until a full answer is stored.
    call.history_limited = state->history_limited && call.outputsize != OutputSize::kFull;
  }
  if (full_refused && !options.full) FallBackFromFull(call);
  return std::nullopt;
}

// A backfill month is asked whole (outputsize=full); once stored after the month's last
// possible bar it cannot change, so it is never called again without --force.
std::optional<Settled> PlanMonth(const SeriesKey& key, PlannedCall& call,
                                 std::optional<WallTime> stored_at, bool full_refused, WallTime now,
                                 const PlanOptions& options) {
  const bool up_to_date = stored_at && IsMonthUpToDate(key, call.month, *stored_at, now);
  if (up_to_date && !options.force) return Settled{call.item, Verdict::kUpToDate, "", false};
  call.forced = up_to_date;
  call.outputsize = OutputSize::kFull;
  if (full_refused && !FallBackFromFull(call)) {
    return Settled{call.item, Verdict::kMonthNeedsFull, std::string(kMonthNeedsFull), false};
  }
  return std::nullopt;
}

}  // namespace

bool FallBackFromFull(PlannedCall& call) {
  if (call.outputsize != OutputSize::kFull) return true;
  if (!call.month.empty()) return false;
  call.outputsize = OutputSize::kCompact;
  call.history_limited = true;
  return true;
}

Plan MakePlan(const std::vector<SeriesKey>& series, const StoreSnapshot& snapshot, WallTime now,
              const PlanOptions& options) {
  Plan plan;
  std::vector<PlannedCall> later;
  const std::vector<std::string> latest{""};
  const std::vector<std::string>& months = options.months.empty() ? latest : options.months;
  for (const auto& [function, at] : snapshot.full_refused_since) {
    if (Remembered(at, now, options)) plan.full_refused.insert(function);
  }
  plan.items.reserve(series.size() * months.size());
  for (size_t i = 0; i < series.size(); ++i) {
    const SeriesKey& key = series[i];
    const UpToDateMark mark =
        i < snapshot.up_to_date.size() ? snapshot.up_to_date[i] : UpToDateMark::kNo;
    const SeriesState* state = mark == UpToDateMark::kNo ? Lookup(snapshot.series, key) : nullptr;
    const std::optional<WallTime> premium = LookupValue(snapshot.premium_since, key.function);
    const bool full_refused = plan.full_refused.contains(key.function);
    const bool unknown = state && state->last_outcome == "unknown" &&
                         Remembered(state->last_attempt_at, now, options);
    for (const std::string& month : months) {
      PlannedCall call{.item = plan.items.size(), .month = month};
      plan.items.emplace_back(key, month);
      std::optional<Settled> settled;
      if (Remembered(premium, now, options)) {
        settled = Settled{call.item, Verdict::kPremium,
                          fmt::format("{} is premium-only for this key (answered {}); not "
                                      "called, --force tries again",
                                      ShortName(key.function), DayOf(*premium))};
      } else if (unknown) {
        settled = Settled{call.item, Verdict::kUnknown,
                          fmt::format("unknown to the service since {}; not called, --force "
                                      "tries again",
                                      DayOf(*state->last_attempt_at))};
      } else if (month.empty()) {
        settled = PlanLatest(key, call, state, mark, full_refused, now, options);
      } else {
        settled = PlanMonth(key, call, LookupValue(snapshot.months_stored, std::pair(key, month)),
                            full_refused, now, options);
      }
      if (settled) {
        plan.settled.push_back(std::move(*settled));
        continue;
      }
      call.key = key;
      if (state && state->deferred && month.empty()) {
        plan.calls.push_back(std::move(call));
      } else {
        later.push_back(std::move(call));
      }
    }
  }
  for (PlannedCall& call : later) plan.calls.push_back(std::move(call));
  return plan;
}

}  // namespace mdfetch
