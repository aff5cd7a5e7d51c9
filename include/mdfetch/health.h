// Health: what is wrong with one stored series, judged from its bars and its state against the
// market calendar. The caller reads the bars (from the store, oldest first); this module never
// touches the store, the network or the clock (`now` is passed in). Pure functions of their
// arguments, thread-safe. Suspect values are reported, never repaired.
//
// What CheckSeries finds, one FindingKind each:
//  - kFailing: the series is due (planner.h's IsUpToDate is false), its last call did not
//    store ("error", "transient", "throttled", "deferred", ...), and it has been due for more
//    than CheckOptions::failing_for; or it was never stored and its last call failed. A
//    series that is stale only because no refresh ran is not failing;
//  - kLimited: history_limited: outputsize=full was refused, the history starts at the oldest
//    bar of a compact answer;
//  - kOrder: duplicate timestamps, timestamps out of order, unreadable timestamps (the other
//    checks see the readable bars sorted, each timestamp once);
//  - kGap: a missing bar between the series' first and last bar: an NYSE session (daily,
//    daily adjusted), a week or a month with a trading day (weekly, monthly; keyed by the
//    period's last trading day), a weekday (FX: Monday-Friday, holidays included), a UTC day
//    (crypto), or an interval of the regular session of an intraday series (09:30 to 16:00,
//    13:00 on early-close days; intervals on the series' grid, labelled by their start).
//    Intraday data has no bar for an interval without trades, which is common in the
//    pre-market and the post-market: extended-hours series are checked in the regular session
//    only. A trading day with no intraday bar at all is a missing session. Consecutive missing
//    bars make one finding ("missing 3 sessions 2024-03-04..2024-03-06", "missing month
//    2024-03", "missing 3 intervals 2024-03-05 10:00..10:10");
//  - kOffCalendar: an equity bar (daily, weekly, monthly, intraday) on a day the market was
//    closed ("bar on 2012-10-29, a day the market was closed"); a weekly or monthly bar other
//    than the newest (the period in progress) not keyed by its period's last trading day.
//    Weekend FX bars and intraday bars outside the session are not reported;
//  - kOhlc: low above open or close, high below open or close, low above high, a price that is
//    not positive, a negative volume ("2024-03-05: high 244 is below low 246");
//  - kSuspectMove (all but intraday, whose returns are too heavy-tailed): a close-to-close log
//    return more than suspect_sigmas robust standard deviations (1.4826 x the median absolute
//    deviation of the series' log returns, at least min_scale) from their median, on a bar
//    with no dividend or split recorded (weekly and monthly adjusted series, which record no
//    split: the adjusted closes). A ratio near a split ratio or 100 is named ("close
//    245.39 -> 2.4539 on 2024-03-05: a factor of 1/100", "...: a factor of 1/2, like a 2:1
//    split with none recorded"); one bar off both neighbours is one finding ("close 2.4539
//    on 2024-03-05 is a factor of 1/100 off its neighbours ...");
//  - kSuspectAdjusted (daily, weekly and monthly adjusted): an adjusted close that disagrees
//    with the recorded dividends and splits. adjusted_close / close must stay constant between
//    bars without an event and change across an event day by its factor, (close_prev -
//    dividend) / close_prev for a dividend and 1 / split for a split, within
//    adjusted_tolerance plus the rounding of adjusted closes to 4 decimals ("adjusted close
//    245397 on 2024-03-05 disagrees with close 245.4 and no event: ..."). Weekly and monthly
//    bars record no split and not the close before each ex-day: there a split ratio is
//    accepted and a quarter of a dividend's effect is tolerated.
// Each finding names its bars' timestamps; messages are lower-case.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/series.h"

namespace mdfetch {

// In the order CheckSeries reports them.
enum class FindingKind {
  kFailing,
  kLimited,
  kOrder,
  kGap,
  kOffCalendar,
  kOhlc,
  kSuspectMove,
  kSuspectAdjusted,
};

// "failing", "limited", "order", "gap", "off-calendar", "ohlc", "suspect-move",
// "suspect-adjusted".
std::string_view FindingKindName(FindingKind kind);

struct Finding {
  FindingKind kind = FindingKind::kGap;
  // The bars concerned, as the series writes them ("2024-03-05" or "2024-03-05 10:30:00"),
  // oldest first; last_ts == first_ts for one bar. For kGap the first and last missing bar
  // (for weeks and months their last trading day, for whole intraday sessions their day). For
  // kFailing the newest stored bar, for kLimited the oldest; empty when there is none.
  std::string first_ts;
  std::string last_ts;
  std::string message;  // lower-case, e.g. "missing 3 sessions 2024-03-04..2024-03-06"

  bool operator==(const Finding&) const = default;
};

struct CheckOptions {
  // How long a due series may keep failing before it is reported.
  std::chrono::hours failing_for{3 * 24};
  // A move is suspect when |log return| exceeds suspect_sigmas robust standard deviations of
  // the series' log returns (1.4826 x their median absolute deviation), and never below
  // suspect_sigmas x min_scale. Series with fewer than min_returns returns are not judged.
  double suspect_sigmas = 10;
  double min_scale = 0.005;
  size_t min_returns = 20;
  // How far adjusted_close / close may drift between bars without an event (relative), on top
  // of the service's rounding of the adjusted close to 4 decimals.
  double adjusted_tolerance = 1e-4;
  // At most this many findings of one kind; the rest are summed up in one more finding of that
  // kind ("and 212 more gap findings up to 2024-03-05"). 0: no limit.
  size_t max_per_kind = 20;
};

// Everything wrong with the series `state` describes (state.key says which function and
// interval) whose bars are `bars` (oldest first, as the store reads them; any order is checked),
// at `now`. Findings come in FindingKind order, then oldest first. Empty for a healthy series.
std::vector<Finding> CheckSeries(const SeriesState& state, std::span<const Bar> bars, WallTime now,
                                 const CheckOptions& options = {});

}  // namespace mdfetch
