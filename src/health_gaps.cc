// The health check against the calendar: which bars a series should have between its first
// and last bar (kGap), and bars the calendar has no place for (kOffCalendar).
#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <string_view>

#include "health_internal.h"
#include "mdfetch/market_calendar.h"

namespace mdfetch::health {
namespace {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;

// How often a series has a bar.
enum class Cadence { kSessions, kWeekdays, kDays, kWeeks, kMonths, kIntraday };

Cadence CadenceOf(Function f) {
  switch (f) {
    case Function::kDaily:
    case Function::kDailyAdjusted:
      return Cadence::kSessions;
    case Function::kWeekly:
    case Function::kWeeklyAdjusted:
      return Cadence::kWeeks;
    case Function::kMonthly:
    case Function::kMonthlyAdjusted:
      return Cadence::kMonths;
    case Function::kIntraday:
      return Cadence::kIntraday;
    case Function::kFxDaily:
      return Cadence::kWeekdays;  // holidays included
    case Function::kCryptoDaily:
      return Cadence::kDays;  // every UTC day
  }
  return Cadence::kDays;
}

bool IsTrading(sys_days d) { return IsTradingDay(Date{d}); }

// "missing session 2024-03-05", "missing 3 sessions 2024-03-04..2024-03-06".
std::string Missing(int count, std::string_view unit, std::string_view first,
                    std::string_view last) {
  if (count == 1) return fmt::format("missing {} {}", unit, first);
  return fmt::format("missing {} {}s {}..{}", count, unit, first, last);
}

void ClosedDay(std::string_view ts, Findings& out) {
  out.Add(FindingKind::kOffCalendar, std::string(ts), std::string(ts),
          fmt::format("bar on {}, a day the market was closed", ts));
}

// Daily cadences: every trading day, weekday or day between two bars needs one.
void CheckDays(Cadence cadence, std::span<const Point> points, Findings& out) {
  auto expected = [cadence](sys_days d) {
    if (cadence == Cadence::kSessions) return IsTrading(d);
    if (cadence == Cadence::kWeekdays) return std::chrono::weekday{d}.iso_encoding() <= 5;
    return true;
  };
  const std::string_view unit = cadence == Cadence::kSessions   ? "session"
                                : cadence == Cadence::kWeekdays ? "weekday"
                                                                : "day";
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (cadence == Cadence::kSessions && !IsTrading(p.day)) ClosedDay(p.bar->ts, out);
    if (i == 0) continue;
    sys_days first{}, last{};
    int count = 0;
    for (sys_days d = points[i - 1].day + days(1); d < p.day; d += days(1)) {
      if (!expected(d)) continue;
      if (count++ == 0) first = d;
      last = d;
    }
    if (count > 0) {
      const std::string a = DayText(first), b = DayText(last);
      out.Add(FindingKind::kGap, a, b, Missing(count, unit, a, b));
    }
  }
}

// ---- weekly and monthly: one bar per period, keyed by its last trading day ----

sys_days PeriodStart(Cadence cadence, sys_days d) {
  if (cadence == Cadence::kWeeks) return d - days(std::chrono::weekday{d}.iso_encoding() - 1);
  const Date ymd{d};
  return sys_days{ymd.year() / ymd.month() / 1};
}

sys_days NextPeriod(Cadence cadence, sys_days start) {
  if (cadence == Cadence::kWeeks) return start + days(7);
  const Date ymd{start};
  return sys_days{(ymd.year() / ymd.month() + std::chrono::months(1)) / 1};
}

std::optional<sys_days> LastTradingDay(Cadence cadence, sys_days start) {
  for (sys_days d = NextPeriod(cadence, start) - days(1); d >= start; d -= days(1)) {
    if (IsTrading(d)) return d;
  }
  return std::nullopt;  // no session at all in the period
}

// How a period is named in a message: its key day for a week, "YYYY-MM" for a month.
std::string PeriodName(Cadence cadence, sys_days key) {
  const std::string day = DayText(key);
  return cadence == Cadence::kWeeks ? day : day.substr(0, 7);
}

void CheckPeriods(Cadence cadence, std::span<const Point> points, Findings& out) {
  const std::string_view unit = cadence == Cadence::kWeeks ? "week" : "month";
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    const sys_days start = PeriodStart(cadence, p.day);
    const std::optional<sys_days> key = LastTradingDay(cadence, start);
    if (!IsTrading(p.day)) {
      ClosedDay(p.bar->ts, out);
    } else if (i + 1 < points.size() && key && p.day != *key) {
      // The newest bar may be the period in progress, keyed by its latest session so far.
      out.Add(FindingKind::kOffCalendar, p.bar->ts, p.bar->ts,
              fmt::format("{}ly bar {} is not keyed by the last trading day of its {} ({})", unit,
                          p.bar->ts, unit, DayText(*key)));
    }
    if (i == 0) continue;
    sys_days first{}, last{};
    int count = 0;
    for (sys_days s = NextPeriod(cadence, PeriodStart(cadence, points[i - 1].day)); s < start;
         s = NextPeriod(cadence, s)) {
      const std::optional<sys_days> missing = LastTradingDay(cadence, s);
      if (!missing) continue;
      if (count++ == 0) first = *missing;
      last = *missing;
    }
    if (count > 0) {
      out.Add(FindingKind::kGap, DayText(first), DayText(last),
              Missing(count, unit, PeriodName(cadence, first), PeriodName(cadence, last)));
    }
  }
}

// ---- intraday: the intervals of the regular session ----

std::string TimeText(minutes m) {
  return fmt::format("{:02}:{:02}", m.count() / 60, m.count() % 60);
}

std::string IntradayTs(sys_days day, minutes m) {
  return fmt::format("{} {}:00", DayText(day), TimeText(m));
}

// Missing intervals of one trading day whose bars are `day` (at least one). Only the
// intervals from `from` to `to` (inclusive) are expected: the first and last day of a series
// are partial.
void CheckSession(sys_days d, std::span<const Point> day, minutes step, minutes from, minutes to,
                  Findings& out) {
  const minutes end = SessionClose(Date{d});  // exclusive
  minutes slot = (kRegularOpen + step - minutes(1)) / step * step;
  size_t next = 0;
  minutes first{0}, last{0};
  int count = 0;
  auto flush = [&] {
    if (count == 0) return;
    const std::string day_text = DayText(d);
    out.Add(FindingKind::kGap, IntradayTs(d, first), IntradayTs(d, last),
            count == 1 ? fmt::format("missing interval {} {}", day_text, TimeText(first))
                       : fmt::format("missing {} intervals {} {}..{}", count, day_text,
                                     TimeText(first), TimeText(last)));
    count = 0;
  };
  for (; slot < end; slot += step) {
    if (slot < from || slot > to) continue;
    while (next < day.size() && day[next].time < slot) ++next;
    if (next < day.size() && day[next].time == slot) {
      flush();
      continue;
    }
    if (count++ == 0) first = slot;
    last = slot;
  }
  flush();
}

void CheckIntraday(const SeriesKey& key, std::span<const Point> points, Findings& out) {
  if (!IsValidInterval(key.interval)) return;
  const minutes step{std::atoi(key.interval.c_str())};  // "5min": 5
  sys_days first_missing{}, last_missing{};
  int missing = 0;
  auto flush = [&] {
    if (missing == 0) return;
    const std::string a = DayText(first_missing), b = DayText(last_missing);
    out.Add(FindingKind::kGap, a, b, Missing(missing, "session", a, b));
    missing = 0;
  };
  const sys_days first_day = points.front().day, last_day = points.back().day;
  size_t i = 0;
  for (sys_days d = first_day; d <= last_day; d += days(1)) {
    size_t j = i;
    while (j < points.size() && points[j].day == d) ++j;
    const std::span<const Point> day = points.subspan(i, j - i);
    i = j;
    if (!IsTrading(d)) {
      if (!day.empty()) {
        flush();
        out.Add(FindingKind::kOffCalendar, day.front().bar->ts, day.back().bar->ts,
                fmt::format("{} bar{} on {}, a day the market was closed", day.size(),
                            day.size() == 1 ? "" : "s", DayText(d)));
      }
      continue;
    }
    if (day.empty()) {
      if (missing++ == 0) first_missing = d;
      last_missing = d;
      continue;
    }
    flush();
    const minutes from = d == first_day ? points.front().time : minutes(0);
    const minutes to = d == last_day ? points.back().time : minutes(24 * 60);
    CheckSession(d, day, step, from, to, out);
  }
  flush();
}

}  // namespace

void CheckCalendar(const SeriesKey& key, std::span<const Point> points, Findings& out) {
  if (points.empty()) return;
  const Cadence cadence = CadenceOf(key.function);
  switch (cadence) {
    case Cadence::kSessions:
    case Cadence::kWeekdays:
    case Cadence::kDays:
      CheckDays(cadence, points, out);
      return;
    case Cadence::kWeeks:
    case Cadence::kMonths:
      CheckPeriods(cadence, points, out);
      return;
    case Cadence::kIntraday:
      CheckIntraday(key, points, out);
      return;
  }
}

}  // namespace mdfetch::health
