#include "mdfetch/market_calendar.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cstddef>

namespace mdfetch {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::sys_days;

sys_days NthWeekday(std::chrono::year y, std::chrono::month m, std::chrono::weekday wd,
                    unsigned n) {
  return sys_days{y / m / wd[n]};
}

sys_days LastWeekday(std::chrono::year y, std::chrono::month m, std::chrono::weekday wd) {
  return sys_days{y / m / wd[std::chrono::last]};
}

// Anonymous Gregorian computus (Meeus/Jones/Butcher).
sys_days EasterSunday(std::chrono::year y) {
  const int year = static_cast<int>(y);
  const int a = year % 19, b = year / 100, c = year % 100;
  const int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return sys_days{y / std::chrono::month(static_cast<unsigned>(month)) /
                  std::chrono::day(static_cast<unsigned>(day))};
}

// A fixed-date holiday moved off the weekend: Saturday to the Friday before, Sunday to the
// Monday after.
sys_days Observed(sys_days holiday) {
  const std::chrono::weekday wd{holiday};
  if (wd == std::chrono::Saturday) return holiday - days(1);
  if (wd == std::chrono::Sunday) return holiday + days(1);
  return holiday;
}

constexpr Date Ymd(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

// Full-day closures outside the holiday rules, since 1999 (NYSE's closings list).
constexpr Date kSpecialClosures[] = {
    Ymd(2001, 9, 11),  Ymd(2001, 9, 12),  Ymd(2001, 9, 13), Ymd(2001, 9, 14),  // September 11
    Ymd(2004, 6, 11),                                                          // Reagan
    Ymd(2007, 1, 2),                                                           // Ford
    Ymd(2012, 10, 29), Ymd(2012, 10, 30),                                      // Hurricane Sandy
    Ymd(2018, 12, 5),                                                          // G.H.W. Bush
    Ymd(2025, 1, 9),                                                           // Carter
};

// Early closes outside the rules of SessionClose: the Friday after Christmas 2003.
constexpr Date kSpecialEarlyCloses[] = {Ymd(2003, 12, 26)};

// A year's closures or early closes: at most a dozen dates.
struct DayList {
  std::array<sys_days, 16> days{};
  size_t size = 0;

  void Add(sys_days d) { days[size++] = d; }
  bool Has(sys_days d) const {
    return std::find(days.begin(), days.begin() + size, d) != days.begin() + size;
  }
};

// The weekdays of year `y` the market is closed (each falls inside `y`).
DayList ClosuresOf(std::chrono::year y) {
  using namespace std::chrono;
  DayList out;
  // NYSE rule 7.2: New Year's Day on a Saturday is not moved back into the old year, so only
  // the Sunday case moves it.
  const sys_days new_year{y / January / 1};
  if (weekday{new_year} == Sunday) {
    out.Add(new_year + days(1));
  } else if (weekday{new_year} != Saturday) {
    out.Add(new_year);
  }
  out.Add(NthWeekday(y, January, Monday, 3));   // Martin Luther King Jr.
  out.Add(NthWeekday(y, February, Monday, 3));  // Washington's Birthday
  out.Add(EasterSunday(y) - days(2));           // Good Friday
  out.Add(LastWeekday(y, May, Monday));         // Memorial Day
  if (y >= year(2022)) out.Add(Observed(sys_days{y / June / 19}));
  out.Add(Observed(sys_days{y / July / 4}));
  out.Add(NthWeekday(y, September, Monday, 1));   // Labor Day
  out.Add(NthWeekday(y, November, Thursday, 4));  // Thanksgiving
  out.Add(Observed(sys_days{y / December / 25}));
  for (const Date& closed : kSpecialClosures) {
    if (closed.year() == y) out.Add(sys_days{closed});
  }
  return out;
}

// The days of year `y` that close early if they are trading days (see SessionClose).
DayList EarlyClosesOf(std::chrono::year y) {
  using namespace std::chrono;
  DayList out;
  out.Add(NthWeekday(y, November, Thursday, 4) + days(1));  // the day after Thanksgiving
  out.Add(sys_days{y / December / 24});
  // Before 2013 a Thursday Independence Day moved the early close to Friday July 5.
  const bool july_fifth = weekday{sys_days{y / July / 4}} == Thursday && y < year(2013);
  out.Add(sys_days{y / July / (july_fifth ? 5 : 3)});
  for (const Date& early : kSpecialEarlyCloses) {
    if (early.year() == y) out.Add(sys_days{early});
  }
  return out;
}

// The calendar of the years most asked about, computed once (a few microseconds): a bit per
// day of the year, so that IsTradingDay costs a lookup. Other years are computed on each call.
constexpr int kFirstTableYear = 1950;
constexpr int kTableYears = 200;

struct YearBits {
  std::bitset<366> closed;
  std::bitset<366> early;
};

// 0 for January 1, from the date's fields (IsTradingDay's hot path).
size_t DayOfYear(Date d) {
  static constexpr unsigned kBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  const unsigned month = static_cast<unsigned>(d.month());
  const unsigned leap = month > 2 && d.year().is_leap() ? 1 : 0;
  return kBefore[month - 1] + leap + static_cast<unsigned>(d.day()) - 1;
}

const std::array<YearBits, kTableYears>& Table() {
  static const std::array<YearBits, kTableYears> table = [] {
    std::array<YearBits, kTableYears> t;
    for (int i = 0; i < kTableYears; ++i) {
      const std::chrono::year y{kFirstTableYear + i};
      const DayList closures = ClosuresOf(y), early = EarlyClosesOf(y);
      for (size_t k = 0; k < closures.size; ++k) t[i].closed.set(DayOfYear(Date{closures.days[k]}));
      for (size_t k = 0; k < early.size; ++k) t[i].early.set(DayOfYear(Date{early.days[k]}));
    }
    return t;
  }();
  return table;
}

// The year's bits of `d` when the table holds its year.
const YearBits* BitsOf(Date d) {
  const int index = static_cast<int>(d.year()) - kFirstTableYear;
  return index >= 0 && index < kTableYears ? &Table()[static_cast<size_t>(index)] : nullptr;
}

// A weekday the market is closed.
bool IsClosure(Date d) {
  if (const YearBits* bits = BitsOf(d)) return bits->closed[DayOfYear(d)];
  return ClosuresOf(d.year()).Has(sys_days{d});
}

// The rules of SessionClose, for a trading day.
bool IsEarlyClose(Date d) {
  if (const YearBits* bits = BitsOf(d)) return bits->early[DayOfYear(d)];
  return EarlyClosesOf(d.year()).Has(sys_days{d});
}

// The New York close of trading day `d`.
WallTime CloseOf(sys_days d) { return NewYorkTime(Date{d}, SessionClose(Date{d})); }

// The trading day whose close is the latest at or before `now`.
sys_days LastSessionDay(WallTime now) {
  const auto local = std::chrono::floor<days>(now + NewYorkOffset(now));
  sys_days d{local};
  while (!IsTradingDay(Date{d}) || CloseOf(d) > now) d -= days(1);
  return d;
}

bool AllDigits(std::string_view s) {
  for (const char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

int ToInt(std::string_view s) {
  int v = 0;
  for (const char c : s) v = v * 10 + (c - '0');
  return v;
}

// "HH:MM:SS" with hours < 24, minutes and seconds < 60.
bool IsTimeOfDay(std::string_view t) {
  if (t.size() != 8 || t[2] != ':' || t[5] != ':') return false;
  const auto hh = t.substr(0, 2), mm = t.substr(3, 2), ss = t.substr(6, 2);
  if (!AllDigits(hh) || !AllDigits(mm) || !AllDigits(ss)) return false;
  return ToInt(hh) < 24 && ToInt(mm) < 60 && ToInt(ss) < 60;
}

}  // namespace

bool IsTradingDay(Date d) {
  if (!d.ok()) return false;
  const sys_days day{d};
  const std::chrono::weekday wd{day};
  if (wd == std::chrono::Saturday || wd == std::chrono::Sunday) return false;
  return !IsClosure(d);
}

std::chrono::minutes SessionClose(Date d) {
  return IsTradingDay(d) && IsEarlyClose(d) ? kEarlyClose : kRegularClose;
}

std::chrono::minutes ExtendedClose(Date d) {
  return IsTradingDay(d) && IsEarlyClose(d) ? kEarlyExtendedClose : kExtendedClose;
}

std::chrono::hours NewYorkOffset(WallTime t) {
  using namespace std::chrono;
  const year y = year_month_day{floor<days>(t)}.year();
  WallTime start, end;
  if (y >= year(2007)) {
    // Second Sunday of March 02:00 EST = 07:00 UTC; first Sunday of November 02:00 EDT =
    // 06:00 UTC.
    start = WallTime{NthWeekday(y, March, Sunday, 2)} + hours(7);
    end = WallTime{NthWeekday(y, November, Sunday, 1)} + hours(6);
  } else {
    // 1987-2006: first Sunday of April to the last Sunday of October.
    start = WallTime{NthWeekday(y, April, Sunday, 1)} + hours(7);
    end = WallTime{LastWeekday(y, October, Sunday)} + hours(6);
  }
  return (t >= start && t < end) ? hours(-4) : hours(-5);
}

WallTime NewYorkTime(Date d, std::chrono::minutes local) {
  // DST switches at 02:00 local on a Sunday; judge the offset at the local time taken as
  // standard time (at most an hour off, which only matters inside the switch hour itself).
  const WallTime as_standard = WallTime{sys_days{d}} + local + hours(5);
  return WallTime{sys_days{d}} + local - NewYorkOffset(as_standard);
}

WallTime LastMarketClose(WallTime now) { return CloseOf(LastSessionDay(now)); }

Date LastSessionDate(WallTime now) { return Date{LastSessionDay(now)}; }

int TradingDaysBetween(Date from, Date to) {
  int count = 0;
  for (sys_days d = sys_days{from} + days(1); d <= sys_days{to}; d += days(1)) {
    if (IsTradingDay(Date{d})) ++count;
  }
  return count;
}

std::string FormatDate(Date d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::optional<Date> ParseDate(std::string_view text) {
  if (text.size() == 19) {
    if (text[10] != ' ' || !IsTimeOfDay(text.substr(11))) return std::nullopt;
    text = text.substr(0, 10);
  }
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto y = text.substr(0, 4), m = text.substr(5, 2), d = text.substr(8, 2);
  if (!AllDigits(y) || !AllDigits(m) || !AllDigits(d)) return std::nullopt;
  const Date date{std::chrono::year(ToInt(y)), std::chrono::month(static_cast<unsigned>(ToInt(m))),
                  std::chrono::day(static_cast<unsigned>(ToInt(d)))};
  if (!date.ok()) return std::nullopt;
  return date;
}

int64_t ToUnixMillis(WallTime t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime FromUnixMillis(int64_t ms) { return WallTime{std::chrono::milliseconds(ms)}; }

std::string FormatUtc(WallTime t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<days>(secs);
  const std::chrono::hh_mm_ss tod{secs - day};
  return fmt::format("{} {:02}:{:02}:{:02}Z", FormatDate(Date{day}), tod.hours().count(),
                     tod.minutes().count(), tod.seconds().count());
}

}  // namespace mdfetch
