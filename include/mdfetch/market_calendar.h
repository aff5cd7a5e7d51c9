// The US equity market calendar: trading days (NYSE holidays, special closures, weekends) and
// each session's close (16:00 America/New_York, 13:00 on early-close days), with US
// daylight-saving rules (since 2007, and 1987-2006) computed by hand because GCC 12's libstdc++
// has no time-zone database. Pure functions of their arguments, thread-safe. The rules are
// those in force since 1999; earlier dates get today's rules.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/clock.h"

namespace mdfetch {

using Date = std::chrono::year_month_day;

// True for Monday-Friday dates that are not NYSE full-day closures:
//  - the holidays of NYSE Rule 7.2: New Year's Day, Martin Luther King Jr. Day, Washington's
//    Birthday, Good Friday, Memorial Day, Juneteenth (from 2022), Independence Day, Labor
//    Day, Thanksgiving, Christmas. A holiday on a Sunday is observed on the Monday after, one
//    on a Saturday on the Friday before, except New Year's Day: a Saturday January 1 is not
//    observed at all (December 31 is the last trading day of the year, e.g. 2021-12-31);
//  - the special closures since 1999: 2001-09-11..14 (September 11), 2004-06-11 (Reagan),
//    2007-01-02 (Ford), 2012-10-29..30 (Hurricane Sandy), 2018-12-05 (G.H.W. Bush),
//    2025-01-09 (Carter).
bool IsTradingDay(Date d);

// New York wall-clock times (since midnight) of the sessions. The regular session opens at
// 09:30 and closes at 16:00, or at 13:00 on early-close days; the extended hours (pre-market
// and post-market, what the intraday service's extended_hours covers) run from 04:00 to 20:00,
// or to 17:00 on early-close days.
inline constexpr std::chrono::minutes kRegularOpen{9 * 60 + 30};
inline constexpr std::chrono::minutes kRegularClose{16 * 60};
inline constexpr std::chrono::minutes kEarlyClose{13 * 60};
inline constexpr std::chrono::minutes kExtendedOpen{4 * 60};
inline constexpr std::chrono::minutes kExtendedClose{20 * 60};
inline constexpr std::chrono::minutes kEarlyExtendedClose{17 * 60};

// The close of the regular session of trading day `d`: kEarlyClose (13:00) on NYSE early-close
// days, else kRegularClose (16:00). The early closes (NYSE's annual holiday calendars; the
// history since 1999 as pandas_market_calendars records it from the NYSE closings list):
//  - the day after Thanksgiving;
//  - Christmas Eve, December 24, when it is a trading day (Monday-Thursday; on a Friday it is
//    the observed Christmas holiday);
//  - the day before Independence Day, July 3, when it is a trading day (July 4 on a
//    Tuesday-Friday; July 4 on a Saturday makes July 3 the observed holiday, on a Sunday or a
//    Monday July 3 is a weekend day). Before 2013, when July 4 was a Thursday, the early close
//    was Friday July 5 instead and July 3 was a full day (2002);
//  - one ad hoc early close since 1999: 2003-12-26, the Friday after Christmas.
// Unscheduled early closes (2005-06-01 at 15:56 after a systems problem) are not modelled.
// For a day that is not a trading day, kRegularClose (there is no session to close).
std::chrono::minutes SessionClose(Date d);

// The end of the extended hours of trading day `d`: kEarlyExtendedClose (17:00) on early-close
// days (NYSE's holiday calendar: "NYSE Arca ... late trading sessions will close at 5:00
// p.m."; Nasdaq's post-market runs 13:00-17:00 on those days), else kExtendedClose (20:00).
std::chrono::minutes ExtendedClose(Date d);

// The UTC offset of America/New_York at UTC instant `t`: -4 h during DST, else -5 h.
std::chrono::hours NewYorkOffset(WallTime t);

// The UTC instant of New York wall-clock time `local` (since midnight) on day `d`. Exact for
// every local time except the hour skipped or repeated at the 02:00 DST switch.
WallTime NewYorkTime(Date d, std::chrono::minutes local);

// The instant of the most recent US market close (SessionClose of a trading day, New York
// time) at or before `now`.
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
