// How an answer's bars meet the stored ones (store_bars.h).
#include "store_bars.h"

#include <algorithm>
#include <chrono>

#include "mdfetch/market_calendar.h"

namespace mdfetch {
namespace {

// The first day of the ISO week (Monday) or of the month holding `d`.
std::chrono::sys_days PeriodStart(bool weekly, Date d) {
  const std::chrono::sys_days day{d};
  if (!weekly) return std::chrono::sys_days{d.year() / d.month() / 1};
  return day - std::chrono::days(std::chrono::weekday{day}.iso_encoding() - 1);
}

}  // namespace

size_t AppendFrom(std::span<const Bar> bars, const std::optional<std::string>& newest) {
  // std::string compares bytes like SQLite's BINARY collation, the collation of ts (and as
  // PostgreSQL's timestamps order, in the text both stores give them).
  const auto is_new = [&](const Bar& bar) { return !newest || bar.ts > *newest; };
  size_t from = bars.size();
  while (from > 0 && is_new(bars[from - 1]) &&
         (from == bars.size() || bars[from - 1].ts < bars[from].ts)) {
    --from;
  }
  const bool clash = std::any_of(bars.begin(), bars.begin() + static_cast<ptrdiff_t>(from), is_new);
  return clash ? bars.size() : from;
}

std::optional<std::string> SupersededPeriodBar(Function function,
                                               const std::optional<std::string>& newest,
                                               std::span<const Bar> bars) {
  const bool weekly = function == Function::kWeekly || function == Function::kWeeklyAdjusted;
  const bool monthly = function == Function::kMonthly || function == Function::kMonthlyAdjusted;
  if ((!weekly && !monthly) || !newest) return std::nullopt;
  const std::optional<Date> stored = ParseDate(*newest);
  if (!stored) return std::nullopt;
  const auto period = PeriodStart(weekly, *stored);
  bool later_in_period = false;
  for (const Bar& bar : bars) {
    if (bar.ts == *newest) return std::nullopt;  // the answer still has it: nothing replaced
    if (bar.ts <= *newest) continue;
    const std::optional<Date> day = ParseDate(bar.ts);
    if (day && PeriodStart(weekly, *day) == period) later_in_period = true;
  }
  if (!later_in_period) return std::nullopt;
  return newest;
}

}  // namespace mdfetch
