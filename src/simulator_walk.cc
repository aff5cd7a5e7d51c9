// The simulator's daily walk and the events of equities. Each series is a random walk from
// 2000-01-03 whose step on a day depends only on (symbol, day) and the previous close. Prices
// are rounded to the decimals the service prints, so the served text parses back to exactly
// these doubles. Events are drawn from streams of their own, so a symbol without splits walks
// exactly as it did before splits were modelled.
#include "simulator_walk.h"

#include <algorithm>
#include <cmath>

namespace mdfetch::sim {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

constexpr Date kFirstSession{std::chrono::year(2000), std::chrono::January, std::chrono::day(3)};
constexpr double kReversion = 0.002;  // keeps a 26-year walk within sane prices
constexpr double kDividendPayers = 0.75;
constexpr double kSplitters = 0.25;
// A splitter splits on about one in 2000 trading days on which its price is at least
// kSplitPrice: companies split shares that have become expensive.
constexpr double kSplitChance = 1.0 / 2000;
constexpr double kSplitPrice = 150;

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

// Ex-dividend days: the first trading day on or after the 10th of Feb, May, Aug and Nov.
// `prev` is the trading day before `day`: it is before that 10th exactly when no trading day
// between the 10th and `day` comes first.
bool IsExDividendDay(sys_days prev, sys_days day) {
  const Date ymd{day};
  if (static_cast<unsigned>(ymd.month()) % 3 != 2 || static_cast<unsigned>(ymd.day()) < 10) {
    return false;
  }
  const Date before{prev};
  return before.month() != ymd.month() || static_cast<unsigned>(before.day()) < 10;
}

// A symbol's events: whether and how much it pays, and whether it ever splits.
struct Events {
  double quarterly_yield = 0;  // 0: pays no dividend
  uint64_t split_seed = 0;     // 0: never splits
};

Events EventsOf(std::string_view symbol) {
  Events events;
  Draws dividends(Finalize(Fnv1a(symbol) ^ 0xd1d1d1d1ull));
  const bool pays = dividends.Unit() < kDividendPayers;
  const double yield = 0.002 + 0.006 * dividends.Unit();
  if (pays) events.quarterly_yield = yield;
  const uint64_t split_seed = Finalize(Fnv1a(symbol) ^ 0x73706c6974ull);
  if (Draws(split_seed).Unit() < kSplitters) events.split_seed = split_seed;
  return events;
}

// The coefficient of a split taking effect on `day`, else 1.
double SplitOn(const Events& events, sys_days day, double prev_close, bool ex_dividend) {
  if (events.split_seed == 0 || prev_close < kSplitPrice || ex_dividend) return 1;
  Draws draws(DaySeed(events.split_seed, day));
  if (draws.Unit() >= kSplitChance) return 1;
  return draws.Unit() < 0.6 ? 2 : 3;
}

}  // namespace

double Round(double value, int decimals) {
  static constexpr double kScale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  return std::round(value * kScale[decimals]) / kScale[decimals];
}

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

std::vector<DayBar> Walk(const Model& m, std::string_view symbol, Date last) {
  const uint64_t symbol_hash = Fnv1a(symbol);
  Draws symbol_draws(symbol_hash);
  const double start = m.start_low + (m.start_high - m.start_low) * symbol_draws.Unit();
  // Shares: log-uniform 2e5..3e7 a day; coins: 10..5000.
  const double volume_base = m.days == Days::kEveryDay ? 10 * std::pow(500.0, symbol_draws.Unit())
                                                       : 2e5 * std::pow(150.0, symbol_draws.Unit());
  const Events events = m.days == Days::kTradingDays ? EventsOf(symbol) : Events{};
  std::vector<DayBar> out;
  const auto span = (sys_days{last} - sys_days{kFirstSession}).count() + 1;
  out.reserve(static_cast<size_t>(std::max<decltype(span)>(span, 0)));
  double prev_close = Round(start, m.decimals);
  double shares = 1;  // the product of the split coefficients so far
  for (sys_days d{kFirstSession}; d <= sys_days{last}; d += days(1)) {
    if (!Trades(m.days, d)) continue;
    DayBar day_bar{d, {}};
    // Only equities have events; the first day (2000-01-03) is no ex-dividend day.
    const bool ex_dividend =
        m.days == Days::kTradingDays && !out.empty() && IsExDividendDay(out.back().day, d);
    day_bar.split = SplitOn(events, d, prev_close, ex_dividend);
    shares *= day_bar.split;
    if (events.quarterly_yield > 0 && ex_dividend) {
      day_bar.dividend = Round(prev_close * events.quarterly_yield, 4);
    }
    // After a split the walk goes on from the split-divided close, with as many more shares
    // traded, and still tends towards its usual price level, as the shares of a company that
    // splits them once they are expensive tend to grow again. Without splits, the divisor
    // and the factor are exactly 1.
    Draws draws(DaySeed(symbol_hash, d));
    day_bar.bar = NextBar(m, draws, prev_close / day_bar.split, start, volume_base * shares);
    day_bar.bar.ts = DateText(d);
    prev_close = day_bar.bar.close;
    out.push_back(std::move(day_bar));
  }
  return out;
}

std::vector<double> AdjustmentFactors(const std::vector<DayBar>& daily) {
  std::vector<double> factors(daily.size());
  double running = 1.0;
  for (size_t i = daily.size(); i-- > 0;) {
    factors[i] = running;
    // The first day has no dividend, so daily[i - 1] exists whenever one is paid.
    if (daily[i].dividend > 0) running *= 1.0 - daily[i].dividend / daily[i - 1].bar.close;
    if (daily[i].split != 1.0) running /= daily[i].split;
  }
  return factors;
}

}  // namespace mdfetch::sim
