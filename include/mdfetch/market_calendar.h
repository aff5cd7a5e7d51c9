// The US equity market calendar: trading days (NYSE holidays, weekends) and the 16:00
// America/New_York close, with US daylight-saving rules (since 2007) computed by hand because
// GCC 12's libstdc++ has no time-zone database. Pure functions of their arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/clock.h"

namespace mdfetch {

using Date = std::chrono::year_month_day;

// True for Monday-Friday dates that are not NYSE full-day holidays (New Year's Day, Martin
// Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day, Juneteenth from 2022,
// Independence Day, Labor Day, Thanksgiving, Christmas; Saturday holidays observed on Friday,
// Sunday holidays on Monday).
bool IsTradingDay(Date d);

// The UTC offset of America/New_York at UTC instant `t`: -4 h during DST, else -5 h.
std::chrono::hours NewYorkOffset(WallTime t);

// The UTC instant of New York wall-clock time `local` (since midnight) on day `d`. Exact for
// every local time except the hour skipped or repeated at the 02:00 DST switch.
WallTime NewYorkTime(Date d, std::chrono::minutes local);

// The instant of the most recent US market close (16:00 New York time on a trading day) at
// or before `now`.
WallTime LastMarketClose(WallTime now);

// The date of the most recent daily bar the service can have at `now`: the trading day of
// LastMarketClose(now).
Date LastSessionDate(WallTime now);

// Trading days d with from < d <= to (0 when to <= from).
int TradingDaysBetween(Date from, Date to);

// "YYYY-MM-DD" <-> Date. ParseDate accepts a "YYYY-MM-DD HH:MM:SS" timestamp too (takes the
// date part) and returns nullopt for anything else.
std::string FormatDate(Date d);
std::optional<Date> ParseDate(std::string_view text);

// Unix milliseconds <-> WallTime, the representation stored in the database.
int64_t ToUnixMillis(WallTime t);
WallTime FromUnixMillis(int64_t ms);
// "2026-11-23 21:05:00Z": a WallTime as a person reads it in UTC.
std::string FormatUtc(WallTime t);

}  // namespace mdfetch
