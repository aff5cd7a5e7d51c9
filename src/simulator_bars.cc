// The simulator's deterministic bars. Every value comes from a fixed hash (FNV-1a of the
// symbol, mixed with the day by splitmix64), never from std::hash or a seeded engine, so the
// same key gives the same bars in every build and process. Each series is a random walk from
// 2000-01-03 whose step on a day depends only on (symbol, day) and the previous close, so a
// day's bar does not change when the last session moves forward. Prices are rounded to the
// decimals the service prints, so the served text parses back to exactly these doubles.
//
// Intraday bars walk within each day from that day's daily open; the served series is either
// those raw prices (adjusted=false) or them scaled by the dividends paid after the bar's day
// (adjusted=true), computed from the same daily walk and dividend schedule that the adjusted
// daily, weekly and monthly series serve.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mdfetch/simulator.h"
#include "simulator_internal.h"

namespace mdfetch {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

constexpr Date kFirstSession{std::chrono::year(2000), std::chrono::January, std::chrono::day(3)};
constexpr int kCryptoDays = 350;                 // DIGITAL_CURRENCY_DAILY's depth in 2026
constexpr days kIntradayDepth{30};               // intraday `full` without `month`
constexpr int kExtendedOpenMinute = 4 * 60;      // 04:00 New York
constexpr int kExtendedCloseMinute = 20 * 60;    // 20:00; bars are labelled by their start
constexpr int kRegularOpenMinute = 9 * 60 + 30;  // 09:30, the regular session
constexpr int kRegularCloseMinute = 16 * 60;     // 16:00
constexpr double kReversion = 0.002;             // keeps a 26-year walk within sane prices

// Which days an asset trades on.
enum class Days { kTradingDays, kWeekdays, kEveryDay };

struct Model {
  double start_low, start_high;  // start price range, chosen per symbol
  double sigma;                  // daily volatility
  int decimals;                  // as printed by the service
  Days days;
};

constexpr Model kEquity{20, 500, 0.02, 4, Days::kTradingDays};
constexpr Model kFx{0.7, 1.6, 0.006, 5, Days::kWeekdays};
constexpr Model kCrypto{200, 60000, 0.035, 8, Days::kEveryDay};

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t Finalize(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A splitmix64 stream: independent uniforms from one seed.
class Draws {
 public:
  explicit Draws(uint64_t seed) : state_(seed) {}
  double Unit() {
    state_ += 0x9e3779b97f4a7c15ull;
    return static_cast<double>(Finalize(state_) >> 11) * 0x1.0p-53;
  }
  // Irwin-Hall(4) scaled to unit variance: close enough to normal, and bounded.
  double Normal() { return (Unit() + Unit() + Unit() + Unit() - 2.0) * std::sqrt(3.0); }

 private:
  uint64_t state_;
};

uint64_t DaySeed(uint64_t symbol_hash, sys_days day) {
  return Finalize(symbol_hash ^ Finalize(static_cast<uint64_t>(day.time_since_epoch().count())));
}

double Round(double value, int decimals) {
  static constexpr double kScale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  return std::round(value * kScale[decimals]) / kScale[decimals];
}

void PutDigits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}

// FormatDate without fmt's overhead: a full history formats ~9,000 of these per call.
std::string DateText(sys_days day) {
  const Date ymd{day};
  std::string text = "0000-00-00";
  PutDigits(&text[0], static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  PutDigits(&text[5], static_cast<unsigned>(ymd.month()), 2);
  PutDigits(&text[8], static_cast<unsigned>(ymd.day()), 2);
  return text;
}

bool Trades(Days which, sys_days day) {
  const std::chrono::weekday wd{day};
  switch (which) {
    case Days::kTradingDays:
      return IsTradingDay(Date{day});
    case Days::kWeekdays:
      return wd != std::chrono::Saturday && wd != std::chrono::Sunday;
    case Days::kEveryDay:
      return true;
  }
  return false;
}

struct DayBar {
  sys_days day;
  Bar bar;
};

Bar NextBar(const Model& m, Draws& draws, double prev_close, double start, double volume_base) {
  const double open = prev_close * (1 + 0.3 * m.sigma * draws.Normal());
  const double move = m.sigma * draws.Normal() - kReversion * (prev_close / start - 1);
  const double close = open * (1 + move);
  Bar bar;
  // Rounding is monotonic, so low <= open, close <= high survives it.
  bar.open = Round(open, m.decimals);
  bar.close = Round(close, m.decimals);
  bar.high = Round(std::max(open, close) * (1 + 0.5 * m.sigma * draws.Unit()), m.decimals);
  bar.low = Round(std::min(open, close) * (1 - 0.5 * m.sigma * draws.Unit()), m.decimals);
  const double factor = 0.5 + draws.Unit();
  if (m.days == Days::kTradingDays) bar.volume = std::floor(volume_base * factor);
  if (m.days == Days::kEveryDay) bar.volume = Round(volume_base * factor, 8);
  return bar;
}

// Daily bars for every day `m` trades from 2000-01-03 through `last`, oldest first.
std::vector<DayBar> Walk(const Model& m, std::string_view symbol, Date last) {
  const uint64_t symbol_hash = Fnv1a(symbol);
  Draws symbol_draws(symbol_hash);
  const double start = m.start_low + (m.start_high - m.start_low) * symbol_draws.Unit();
  // Shares: log-uniform 2e5..3e7 a day; coins: 10..5000.
  const double volume_base = m.days == Days::kEveryDay ? 10 * std::pow(500.0, symbol_draws.Unit())
                                                       : 2e5 * std::pow(150.0, symbol_draws.Unit());
  std::vector<DayBar> out;
  const auto span = (sys_days{last} - sys_days{kFirstSession}).count() + 1;
  out.reserve(static_cast<size_t>(std::max<decltype(span)>(span, 0)));
  double prev_close = Round(start, m.decimals);
  for (sys_days d{kFirstSession}; d <= sys_days{last}; d += days(1)) {
    if (!Trades(m.days, d)) continue;
    Draws draws(DaySeed(symbol_hash, d));
    DayBar day_bar{d, NextBar(m, draws, prev_close, start, volume_base)};
    day_bar.bar.ts = DateText(d);
    prev_close = day_bar.bar.close;
    out.push_back(std::move(day_bar));
  }
  return out;
}

// Ex-dividend days: the first trading day on or after the 10th of Feb, May, Aug and Nov.
bool IsExDividendDay(sys_days day) {
  const Date ymd{day};
  const unsigned month = static_cast<unsigned>(ymd.month());
  const unsigned dom = static_cast<unsigned>(ymd.day());
  if (month % 3 != 2 || dom < 10) return false;
  for (sys_days d = day - days(dom - 10); d < day; d += days(1)) {
    if (IsTradingDay(Date{d})) return false;
  }
  return true;
}

// The dividend paid on each day of `daily` (0 on most): a quarterly dividend for three
// symbols in four, a fixed yield of the previous close.
std::vector<double> Dividends(std::string_view symbol, const std::vector<DayBar>& daily) {
  Draws draws(Finalize(Fnv1a(symbol) ^ 0xd1d1d1d1ull));
  const bool pays = draws.Unit() < 0.75;
  const double quarterly_yield = 0.002 + 0.006 * draws.Unit();
  std::vector<double> out(daily.size(), 0.0);
  if (!pays) return out;
  for (size_t i = 1; i < daily.size(); ++i) {
    if (IsExDividendDay(daily[i].day)) out[i] = Round(daily[i - 1].bar.close * quarterly_yield, 4);
  }
  return out;
}

// Adjusted fields: adjusted close == close (no splits) and the dividends.
void AddAdjustment(std::string_view symbol, std::vector<DayBar>& bars, bool with_split) {
  const std::vector<double> dividends = Dividends(symbol, bars);
  for (size_t i = 0; i < bars.size(); ++i) {
    Bar& bar = bars[i].bar;
    bar.adjusted_close = bar.close;
    bar.dividend = dividends[i];
    if (with_split) bar.split_coefficient = 1.0;
  }
}

// What the prices of day i are multiplied by in an adjusted intraday series: the product over
// the ex-dividend days D after day i (up to the last day of `daily`) of
// 1 - dividend_D / close of the day before D. 1 from the latest ex-dividend day on.
std::vector<double> DividendFactors(std::string_view symbol, const std::vector<DayBar>& daily) {
  const std::vector<double> dividends = Dividends(symbol, daily);
  std::vector<double> factors(daily.size());
  double running = 1.0;
  for (size_t i = daily.size(); i-- > 0;) {
    factors[i] = running;
    // dividends[0] is 0, so daily[i - 1] exists whenever a dividend is paid.
    if (dividends[i] > 0) running *= 1.0 - dividends[i] / daily[i - 1].bar.close;
  }
  return factors;
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
  double factor;        // dividend adjustment of this day's prices, 1 for raw
};

// One day's bars, walking from the day's daily open through every extended-hours bar: the
// regular-hours series skips bars but not steps of the walk, so its bars equal the
// extended-hours ones at the same times (for 60min bars, 10:00 to 15:00).
void AppendDay(const IntradayDay& how, const DayBar& day, std::vector<Bar>& out) {
  const Model model{0, 0, 0.002 * std::sqrt(how.step), 4, Days::kTradingDays};
  double price = day.bar.open;
  const double volume_base =
      *day.bar.volume * how.step / (kExtendedCloseMinute - kExtendedOpenMinute);
  for (int minute = kExtendedOpenMinute; minute < kExtendedCloseMinute; minute += how.step) {
    Draws draws(DaySeed(how.seed, day.day) ^ Finalize(static_cast<uint64_t>(minute)));
    Bar bar = NextBar(model, draws, price, price, volume_base);
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
  const std::vector<DayBar> daily = Walk(kEquity, key.symbol, last);
  // Dividends up to `last` adjust every served month, as the service rewrites old prices.
  const std::vector<double> factors =
      key.adjusted ? DividendFactors(key.symbol, daily) : std::vector<double>();
  IntradayDay how{IntervalMinutes(key.interval), Fnv1a(key.symbol) ^ Finalize(Fnv1a(key.interval)),
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
      return Bars(Walk(kEquity, key.symbol, last_session));
    case Function::kDailyAdjusted: {
      auto daily = Walk(kEquity, key.symbol, last_session);
      AddAdjustment(key.symbol, daily, /*with_split=*/true);
      return Bars(std::move(daily));
    }
    case Function::kWeekly:
    case Function::kWeeklyAdjusted:
    case Function::kMonthly:
    case Function::kMonthlyAdjusted: {
      auto daily = Walk(kEquity, key.symbol, last_session);
      if (IsAdjusted(key.function)) AddAdjustment(key.symbol, daily, /*with_split=*/false);
      const bool weekly =
          key.function == Function::kWeekly || key.function == Function::kWeeklyAdjusted;
      return Aggregate(daily, weekly ? &WeekOf : &MonthOf);
    }
    case Function::kIntraday:
      return Intraday(key, last_session, month);
    case Function::kFxDaily:
      return Bars(Walk(kFx, key.symbol, last_session));
    case Function::kCryptoDaily: {
      auto daily = Walk(kCrypto, key.symbol, last_session);
      if (daily.size() > kCryptoDays) daily.erase(daily.begin(), daily.end() - kCryptoDays);
      return Bars(std::move(daily));
    }
  }
  return {};
}

}  // namespace mdfetch
