// The plan: for one series and what the store knows of it, is a call due, and with which
// `outputsize`? Skipping what is fresh is how a daily refresh spends no call on a series that
// cannot have a new bar. Pure functions of their arguments (time is passed in).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/clock.h"
#include "mdfetch/series.h"
#include "mdfetch/store.h"

namespace mdfetch {

// Bars a compact answer holds (the service's "latest 100 data points").
inline constexpr int kCompactBars = 100;
// How long after the close the service may take to publish a session's final daily bar.
inline constexpr auto kPublicationLag = std::chrono::hours(1);

// The instant after which the service can have a bar for `key` that an answer fetched at or
// before it could not have held:
//  - daily, daily_adjusted: the latest US market close (16:00 New York, trading days);
//  - weekly / monthly (and adjusted): the close of the last trading day of the latest
//    finished week / month (the in-progress period's bar is not worth a call every evening);
//  - fx_daily: the latest 22:00 UTC on a weekday; crypto_daily: the latest 00:00 UTC;
//  - intraday: the start of the current interval during the series' hours (04:00-20:00 New
//    York on trading days with extended hours, else 09:30-16:00), else the end of the
//    latest session.
WallTime LatestPossibleBar(const SeriesKey& key, WallTime now);

// True when a call cannot bring anything new: the series was fetched successfully after
// LatestPossibleBar(key, now) (for daily series: at least kPublicationLag after the close,
// or its answer already held the session's final bar).
bool IsUpToDate(const SeriesKey& key, const SeriesState& state, WallTime now);

// For an intraday backfill of `month` ("YYYY-MM") last stored at `stored_at`: true when that
// answer already held every bar the month can have, i.e. it was stored after the month ended
// (midnight New York after its last day) or, for the month in progress, after
// LatestPossibleBar(key, now).
bool IsMonthUpToDate(const SeriesKey& key, std::string_view month, WallTime stored_at,
                     WallTime now);

// kCompact or kFull for functions that take `outputsize`, kNone for the others. Full when
// asked (`force_full`), when the series is new or has no bars, when it is marked needs_full,
// or when the newest stored bar is older than a compact answer reaches; compact otherwise.
OutputSize ChooseOutputSize(const SeriesKey& key, const std::optional<SeriesState>& state,
                            WallTime now, bool force_full);

}  // namespace mdfetch
