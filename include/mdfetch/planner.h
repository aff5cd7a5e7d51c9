// The plan: for each series and what the store knows of it, is a call due, and with which
// `outputsize`; or is the series settled without a call (up to date, premium for this key,
// unknown to the service)? Skipping what is fresh and remembering what cannot change is how a
// daily refresh spends no call that cannot bring a bar. Pure functions of their arguments:
// the store is read by the caller into a StoreSnapshot, and time is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/series.h"

namespace mdfetch {

// Bars a compact answer holds (the service's "latest 100 data points").
inline constexpr int kCompactBars = 100;
// How long after the close the service may take to publish a session's final daily bar.
inline constexpr auto kPublicationLag = std::chrono::hours(1);

// The instant after which the service can have a bar for `key` that an answer fetched at or
// before it could not have held:
//  - daily, daily_adjusted: the latest US market close (16:00 New York on trading days, 13:00
//    on early-close days: SessionClose in market_calendar.h);
//  - weekly / monthly (and adjusted): the close of the last trading day of the latest
//    finished week / month (the in-progress period's bar is not worth a call every evening);
//  - fx_daily: the latest 22:00 UTC on a weekday; crypto_daily: the latest 00:00 UTC;
//  - intraday: the start of the current interval during the series' hours (04:00-20:00 New
//    York on trading days with extended hours, else 09:30-16:00; 04:00-17:00 and 09:30-13:00
//    on early-close days), else the end of the latest session.
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

// ---- The plan of one run ----

// What the store knew when the run began: all the planner sees of it.
enum class UpToDateMark : uint8_t { kNo, kYes, kYesHistoryLimited };

struct StoreSnapshot {
  // The stored ones among the series planned, but those marked in `up_to_date`.
  std::unordered_map<SeriesKey, SeriesState, SeriesKeyHash> series;
  // Empty, or one mark for each series planned, by position: a store read for a refresh
  // (ReadSnapshot with `due_at`) marks each series that was stored and up to date then
  // (IsUpToDate) and not remembered as unknown, instead of holding its state in `series`: a
  // nothing-due refresh of 100,000 series then holds 100 KB, not 40 MB. MakePlan settles a
  // marked series up to date (unless forced), so it must be given the same series and `now`.
  std::vector<UpToDateMark> up_to_date;
  // When each intraday backfill month ("YYYY-MM") of a series was last stored.
  std::map<std::pair<SeriesKey, std::string>, WallTime> months_stored;
  std::map<Function, WallTime> premium_since;       // refused as a premium endpoint
  std::map<Function, WallTime> full_refused_since;  // outputsize=full refused as premium
};

struct PlanOptions {
  bool force = false;  // call even what is up to date or remembered as refused or unknown
  bool full = false;   // outputsize=full for every series that takes it
  // Intraday months to backfill ("YYYY-MM"), each series once per month; empty: the latest
  // bars of each series.
  std::vector<std::string> months;
  // How long a premium refusal or an unknown symbol is trusted before it is tried again.
  std::chrono::hours memory{24 * 7};
};

// One call the run is to make.
struct PlannedCall {
  size_t item = 0;  // into Plan::items
  SeriesKey key;
  std::string month;  // "YYYY-MM" of a backfill, "" for the latest bars
  OutputSize outputsize = OutputSize::kNone;
  bool history_limited = false;  // the answer can only be the latest 100 bars
  std::string known_last;        // the newest bar stored before the run ("" if none)
  bool forced = false;           // up to date, called only because of --force
};

enum class Verdict {
  kUpToDate,        // no bar can have come since the last fetch
  kPremium,         // the function is premium for this key (learnt earlier)
  kUnknown,         // the service does not know the series (learnt earlier)
  kMonthNeedsFull,  // a backfill month, but outputsize=full is premium for this key
};

// A series (and month) settled without a call.
struct Settled {
  size_t item = 0;
  Verdict verdict = Verdict::kUpToDate;
  std::string reason;  // empty for kUpToDate
  bool history_limited = false;
};

struct Plan {
  // Every series and month planned, in the order given (series by series, each with its
  // months): each is either one of `settled` or the first call of one of `calls`.
  std::vector<std::pair<SeriesKey, std::string>> items;
  std::vector<PlannedCall> calls;  // series left deferred by an earlier run first
  std::vector<Settled> settled;
  // Functions whose outputsize=full the key is remembered to be refused (the run asks
  // compact for them, and no full probe is sent).
  std::set<Function> full_refused;
};

// Why a backfill month is not called when outputsize=full is premium for the key.
inline constexpr std::string_view kMonthNeedsFull =
    "a whole month needs outputsize=full, which is premium for this key";

// Plans `series` (no duplicates) against what the store knew at `now`.
Plan MakePlan(const std::vector<SeriesKey>& series, const StoreSnapshot& snapshot, WallTime now,
              const PlanOptions& options);

// The one rule for a call whose outputsize=full the key is refused: the latest bars fall back
// to compact (the latest 100 bars: the history is limited); a backfill month cannot (only the
// whole month will do). Returns false when the call cannot be made at all. A call that does
// not ask `full` is left as it is.
bool FallBackFromFull(PlannedCall& call);

}  // namespace mdfetch
