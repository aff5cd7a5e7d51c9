// Private to the simulator (simulator*.cc): the deterministic daily walk every served series
// is made of, and the corporate events (dividends, splits) of equities.
//
// Every value comes from a fixed hash (FNV-1a of the symbol, mixed with the day by splitmix64),
// never from std::hash or a seeded engine, so the same symbol gives the same bars in every
// build and process. A day's bar depends only on (symbol, day) and the days before it, so it
// does not change when the last day moves forward.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/market_calendar.h"
#include "mdfetch/series.h"

namespace mdfetch::sim {

// Which days an asset trades on.
enum class Days { kTradingDays, kWeekdays, kEveryDay };

struct Model {
  double start_low, start_high;  // start price range, chosen per symbol
  double sigma;                  // daily volatility
  int decimals;                  // as printed by the service
  Days days;
};

inline constexpr Model kEquity{20, 500, 0.02, 4, Days::kTradingDays};   // US trading days
inline constexpr Model kFx{0.7, 1.6, 0.006, 5, Days::kWeekdays};        // Monday-Friday
inline constexpr Model kCrypto{200, 60000, 0.035, 8, Days::kEveryDay};  // every UTC day

// One day of a walk: the raw (as traded) bar, and for equities the day's events.
struct DayBar {
  std::chrono::sys_days day;
  Bar bar;              // ts = "YYYY-MM-DD"; no adjusted fields
  double dividend = 0;  // the cash dividend with this ex-dividend day, else 0
  double split = 1;     // the split coefficient taking effect this day (2 = 2:1), else 1
};

// Daily bars for every day `m` trades from 2000-01-03 through `last`, oldest first.
//
// Equities have events: three symbols in four pay a quarterly dividend, a fixed yield of the
// previous close, on the first trading day on or after the 10th of Feb, May, Aug and Nov;
// one symbol in four may split 2:1 or 3:1 on rare days (never an ex-dividend day) on which
// its price is 150 or more, so about one in seven does over the years. From a split day on,
// prices continue from the split-divided level and volumes are multiplied by the
// coefficient, as traded shares are. Symbols without splits walk exactly as they did before
// splits were modelled.
std::vector<DayBar> Walk(const Model& m, std::string_view symbol, Date last);

// What the prices of day i of `daily` are multiplied by to adjust them (the standard backward
// adjustment): the product, over every event day D after day i up to the last day of `daily`,
// of (1 - dividend_D / close of the day before D) for a dividend and 1 / split_D for a split.
// 1 from the latest event day on.
std::vector<double> AdjustmentFactors(const std::vector<DayBar>& daily);

// `value` rounded to `decimals` (0..8) decimal places, as the service prints it.
double Round(double value, int decimals);

// The hashes behind the walk, also for the intraday walk that hangs off it.
inline uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

inline uint64_t Finalize(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline uint64_t DaySeed(uint64_t seed, std::chrono::sys_days day) {
  return Finalize(seed ^ Finalize(static_cast<uint64_t>(day.time_since_epoch().count())));
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

// The bar after `prev_close` in a walk of `m`, drawn from `draws`; the walk reverts slowly
// towards `start`, and the volume (shares and coins only) is around `volume_base`.
Bar NextBar(const Model& m, Draws& draws, double prev_close, double start, double volume_base);

}  // namespace mdfetch::sim
