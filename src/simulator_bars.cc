// The bars the simulator serves, built on the daily walk of simulator_walk.h: daily bars as
// walked, weekly and monthly bars aggregated from them, adjusted series with their closes
// adjusted for every later dividend and split, crypto's latest 350 days, and intraday.
//
// Intraday bars walk within each day from that day's daily open; the served series is either
// those raw prices (adjusted=false) or them scaled by the dividends and splits after the
// bar's day (adjusted=true), computed from the same daily walk and events that the adjusted
// daily, weekly and monthly series serve.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mdfetch/simulator.h"
#include "simulator_internal.h"
#include "simulator_walk.h"

namespace mdfetch {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

using sim::DayBar;
using sim::Draws;
using sim::Round;

constexpr int kCryptoDays = 350;                 // DIGITAL_CURRENCY_DAILY's depth in 2026
constexpr days kIntradayDepth{30};               // intraday `full` without `month`
constexpr int kExtendedOpenMinute = 4 * 60;      // 04:00 New York
constexpr int kExtendedCloseMinute = 20 * 60;    // 20:00; bars are labelled by their start
constexpr int kRegularOpenMinute = 9 * 60 + 30;  // 09:30, the regular session
constexpr int kRegularCloseMinute = 16 * 60;     // 16:00

// The adjusted fields of an adjusted series: the close adjusted for every later dividend and
// split, the day's dividend, and (daily only: weekly and monthly have none) its split
// coefficient.
void AddAdjustment(std::vector<DayBar>& daily, bool with_split) {
  const std::vector<double> factors = sim::AdjustmentFactors(daily);
  for (size_t i = 0; i < daily.size(); ++i) {
    Bar& bar = daily[i].bar;
    bar.adjusted_close = Round(bar.close * factors[i], 4);
    bar.dividend = daily[i].dividend;
    if (with_split) bar.split_coefficient = daily[i].split;
  }
}

sys_days WeekOf(sys_days day) { return day - days(std::chrono::weekday{day}.iso_encoding() - 1); }

sys_days MonthOf(sys_days day) {
  const Date ymd{day};
  return sys_days{ymd.year() / ymd.month() / 1};
}

// One bar per period, keyed by the period's last bar (its last trading day so far).
std::vector<Bar> Aggregate(const std::vector<DayBar>& daily, sys_days (*period)(sys_days)) {
  std::vector<Bar> out;
  for (size_t i = 0; i < daily.size(); ++i) {
    const Bar& day = daily[i].bar;
    if (i == 0 || period(daily[i].day) != period(daily[i - 1].day)) {
      out.push_back(day);
      continue;
    }
    Bar& agg = out.back();
    agg.ts = day.ts;
    agg.high = std::max(agg.high, day.high);
    agg.low = std::min(agg.low, day.low);
    agg.close = day.close;
    agg.volume = *agg.volume + *day.volume;
    if (day.adjusted_close) agg.adjusted_close = day.adjusted_close;
    if (day.dividend) agg.dividend = Round(*agg.dividend + *day.dividend, 4);
  }
  return out;
}

std::vector<Bar> Bars(std::vector<DayBar> daily) {
  std::vector<Bar> out;
  out.reserve(daily.size());
  for (auto& d : daily) out.push_back(std::move(d.bar));
  return out;
}

int IntervalMinutes(std::string_view interval) {
  int minutes = 0;
  for (const char c : interval) {
    if (c < '0' || c > '9') break;
    minutes = minutes * 10 + (c - '0');
  }
  return minutes > 0 ? minutes : 5;
}

// The days an intraday answer covers, both ends included: the 30 calendar days up to `last`
// without a month, else the days of `month` up to `last`. nullopt for a malformed month.
struct DayRange {
  sys_days first, last;
};

std::optional<DayRange> IntradayDays(Date last, std::string_view month) {
  if (month.empty()) return DayRange{sys_days{last} - kIntradayDepth + days(1), sys_days{last}};
  const auto ym = ParseMonth(month);
  if (!ym) return std::nullopt;
  const sys_days month_end{ym->year() / ym->month() / std::chrono::last};
  return DayRange{sys_days{ym->year() / ym->month() / 1}, std::min(month_end, sys_days{last})};
}

// Rounding is monotonic and `factor` positive, so low <= open, close <= high survives.
void Adjust(Bar& bar, double factor) {
  bar.open = Round(bar.open * factor, 4);
  bar.high = Round(bar.high * factor, 4);
  bar.low = Round(bar.low * factor, 4);
  bar.close = Round(bar.close * factor, 4);
}

struct IntradayDay {
  int step;             // minutes per bar
  uint64_t seed;        // of (symbol, interval)
  bool extended_hours;  // 04:00-20:00, else only bars starting in [09:30, 16:00)
  double factor;        // dividend and split adjustment of this day's prices, 1 for raw
};

// One day's bars, walking from the day's daily open through every extended-hours bar: the
// regular-hours series skips bars but not steps of the walk, so its bars equal the
// extended-hours ones at the same times (for 60min bars, 10:00 to 15:00).
void AppendDay(const IntradayDay& how, const DayBar& day, std::vector<Bar>& out) {
  const sim::Model model{0, 0, 0.002 * std::sqrt(how.step), 4, sim::Days::kTradingDays};
  double price = day.bar.open;
  const double volume_base =
      *day.bar.volume * how.step / (kExtendedCloseMinute - kExtendedOpenMinute);
  for (int minute = kExtendedOpenMinute; minute < kExtendedCloseMinute; minute += how.step) {
    Draws draws(sim::DaySeed(how.seed, day.day) ^ sim::Finalize(static_cast<uint64_t>(minute)));
    Bar bar = sim::NextBar(model, draws, price, price, volume_base);
    price = bar.close;  // the walk goes on in raw prices
    if (!how.extended_hours && (minute < kRegularOpenMinute || minute >= kRegularCloseMinute)) {
      continue;
    }
    bar.ts = fmt::format("{} {:02}:{:02}:00", day.bar.ts, minute / 60, minute % 60);
    if (how.factor != 1.0) Adjust(bar, how.factor);
    out.push_back(std::move(bar));
  }
}

// Intraday bars on the trading days of IntradayDays(last, month). Not reconciled with the
// daily high/low.
std::vector<Bar> Intraday(const SeriesKey& key, Date last, std::string_view month) {
  const auto range = IntradayDays(last, month);
  if (!range) return {};
  const std::vector<DayBar> daily = sim::Walk(sim::kEquity, key.symbol, last);
  // Dividends and splits up to `last` adjust every served month, as the service rewrites old
  // prices.
  const std::vector<double> factors =
      key.adjusted ? sim::AdjustmentFactors(daily) : std::vector<double>();
  IntradayDay how{IntervalMinutes(key.interval),
                  sim::Fnv1a(key.symbol) ^ sim::Finalize(sim::Fnv1a(key.interval)),
                  key.extended_hours, 1.0};
  const auto before = [](const DayBar& d, sys_days day) { return d.day < day; };
  const auto begin = std::lower_bound(daily.begin(), daily.end(), range->first, before);
  const auto end = std::lower_bound(begin, daily.end(), range->last + days(1), before);
  const int minutes = key.extended_hours ? kExtendedCloseMinute - kExtendedOpenMinute
                                         : kRegularCloseMinute - kRegularOpenMinute;
  std::vector<Bar> out;
  out.reserve(static_cast<size_t>(end - begin) * static_cast<size_t>(minutes / how.step + 1));
  for (auto it = begin; it != end; ++it) {
    if (key.adjusted) how.factor = factors[static_cast<size_t>(it - daily.begin())];
    AppendDay(how, *it, out);
  }
  return out;
}

}  // namespace

std::vector<Bar> Simulator::History(const SeriesKey& key, Date last_session,
                                    std::string_view month) {
  if (!last_session.ok()) return {};
  switch (key.function) {
    case Function::kDaily:
      return Bars(sim::Walk(sim::kEquity, key.symbol, last_session));
    case Function::kDailyAdjusted: {
      auto daily = sim::Walk(sim::kEquity, key.symbol, last_session);
      AddAdjustment(daily, /*with_split=*/true);
      return Bars(std::move(daily));
    }
    case Function::kWeekly:
    case Function::kWeeklyAdjusted:
    case Function::kMonthly:
    case Function::kMonthlyAdjusted: {
      auto daily = sim::Walk(sim::kEquity, key.symbol, last_session);
      if (IsAdjusted(key.function)) AddAdjustment(daily, /*with_split=*/false);
      const bool weekly =
          key.function == Function::kWeekly || key.function == Function::kWeeklyAdjusted;
      return Aggregate(daily, weekly ? &WeekOf : &MonthOf);
    }
    case Function::kIntraday:
      return Intraday(key, last_session, month);
    case Function::kFxDaily:
      return Bars(sim::Walk(sim::kFx, key.symbol, last_session));
    case Function::kCryptoDaily: {
      auto daily = sim::Walk(sim::kCrypto, key.symbol, last_session);
      if (daily.size() > kCryptoDays) daily.erase(daily.begin(), daily.end() - kCryptoDays);
      return Bars(std::move(daily));
    }
  }
  return {};
}

}  // namespace mdfetch
