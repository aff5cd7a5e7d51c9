// The simulator's corporate events and adjusted series: dividends and splits, and adjusted
// closes that really are adjusted for them (no server involved: Simulator::History is what
// is served, as simulator_test.cc checks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "mdfetch/simulator.h"

namespace mdfetch {
namespace {

using namespace std::chrono;

Date D(int y, unsigned m, unsigned d) { return Date{year(y), month(m), day(d)}; }

const Date kLast = D(2026, 5, 15);

std::vector<Bar> H(const std::string& symbol, Function f, Date last = kLast) {
  return Simulator::History(SeriesKey{symbol, f, ""}, last);
}

size_t IndexOf(const std::vector<Bar>& bars, std::string_view ts) {
  const auto it = std::find_if(bars.begin(), bars.end(), [&](const Bar& b) { return b.ts == ts; });
  EXPECT_NE(it, bars.end()) << ts;
  return static_cast<size_t>(it - bars.begin());
}

double Round4(double v) { return std::round(v * 1e4) / 1e4; }

// The adjustment factor of bar i of `daily` (daily adjusted bars), by hand: over every later
// day D, newest first, (1 - dividend_D / close of the day before D) for a dividend and
// 1 / coefficient_D for a split.
double FactorByHand(const std::vector<Bar>& daily, size_t i) {
  double factor = 1.0;
  for (size_t d = daily.size() - 1; d > i; --d) {
    if (*daily[d].dividend > 0) factor *= 1.0 - *daily[d].dividend / daily[d - 1].close;
    if (*daily[d].split_coefficient != 1.0) factor /= *daily[d].split_coefficient;
  }
  return factor;
}

// PEP pays a quarterly dividend and splits 3:1 on 2004-04-14, 2:1 on 2010-06-14 and 2:1 on
// 2020-06-11.
TEST(SimulatorAdjustTest, AdjustedCloseIsTheCloseTimesTheLaterDividendAndSplitFactors) {
  const auto daily = H("PEP", Function::kDailyAdjusted);
  std::map<std::string, double> splits;
  int dividends_after = 0;
  const size_t i = IndexOf(daily, "2003-06-02");
  for (size_t d = i + 1; d < daily.size(); ++d) {
    if (*daily[d].split_coefficient != 1.0) splits[daily[d].ts] = *daily[d].split_coefficient;
    if (*daily[d].dividend > 0) ++dividends_after;
  }
  ASSERT_EQ(splits, (std::map<std::string, double>{
                        {"2004-04-14", 3.0}, {"2010-06-14", 2.0}, {"2020-06-11", 2.0}}));
  ASSERT_EQ(dividends_after, 92);  // 2003-08 .. 2026-05, four a year
  const Bar& bar = daily[i];
  const double factor = FactorByHand(daily, i);
  EXPECT_LT(factor, 1.0 / 12 * 0.9);  // the splits' 1/12, and the dividends' share
  EXPECT_EQ(*bar.adjusted_close, Round4(bar.close * factor));
  EXPECT_LT(*bar.adjusted_close, bar.close / 12);
}

TEST(SimulatorAdjustTest, EveryAdjustedCloseFollowsTheRule) {
  for (const std::string symbol : {"PEP", "KO", "AAPL", "IBM"}) {
    const auto daily = H(symbol, Function::kDailyAdjusted);
    double factor = 1.0;  // FactorByHand(daily, i), built from the newest bar down
    for (size_t i = daily.size(); i-- > 0;) {
      ASSERT_EQ(*daily[i].adjusted_close, Round4(daily[i].close * factor)) << symbol << daily[i].ts;
      if (*daily[i].dividend > 0) factor *= 1.0 - *daily[i].dividend / daily[i - 1].close;
      if (*daily[i].split_coefficient != 1.0) factor /= *daily[i].split_coefficient;
    }
    EXPECT_EQ(daily.back().adjusted_close, daily.back().close) << symbol;
  }
  // IBM has neither dividends nor splits: its adjusted close is its close.
  for (const Bar& b : H("IBM", Function::kDailyAdjusted)) ASSERT_EQ(*b.adjusted_close, b.close);
}

TEST(SimulatorAdjustTest, ASplitDividesThePriceAndMultipliesTheVolume) {
  const auto daily = H("PEP", Function::kDailyAdjusted);
  const size_t s = IndexOf(daily, "2004-04-14");
  ASSERT_EQ(*daily[s].split_coefficient, 3.0);
  // The day opens near a third of the previous close (the open moves at most ~2.1% from it).
  EXPECT_NEAR(daily[s].open / daily[s - 1].close, 1.0 / 3, 0.01);
  // The adjusted closes run on as if nothing happened; the raw ones drop to a third.
  EXPECT_NEAR(*daily[s].adjusted_close / *daily[s - 1].adjusted_close, 1.0, 0.1);
  EXPECT_NEAR(daily[s].close / daily[s - 1].close, 1.0 / 3, 0.04);
  double before = 0, after = 0;
  for (size_t k = 1; k <= 20; ++k) {
    before += *daily[s - k].volume;
    after += *daily[s + k - 1].volume;
  }
  EXPECT_GT(after / before, 2.2);
  EXPECT_LT(after / before, 4.0);
}

TEST(SimulatorAdjustTest, SplitsAreRareAndForAFewSymbols) {
  int splitters = 0, splits = 0;
  const int kSymbols = 200;
  for (int n = 0; n < kSymbols; ++n) {
    const std::string symbol{static_cast<char>('A' + n % 26), static_cast<char>('A' + n / 26), 'Q'};
    int own = 0;
    for (const Bar& b : H(symbol, Function::kDailyAdjusted)) {
      const double k = *b.split_coefficient;
      if (k == 1.0) continue;
      ++own;
      EXPECT_TRUE(k == 2.0 || k == 3.0) << symbol << b.ts << " " << k;
      EXPECT_EQ(*b.dividend, 0.0) << symbol << b.ts;  // never on an ex-dividend day
    }
    EXPECT_LE(own, 8) << symbol;
    splitters += own > 0;
    splits += own;
  }
  EXPECT_GE(splitters, kSymbols / 20);
  EXPECT_LE(splitters, kSymbols / 4);
  EXPECT_GE(splits, splitters);
  // The symbols whose values other tests pin never split.
  for (const std::string symbol : {"IBM", "KO", "MSFT", "ZZZZ"}) {
    for (const Bar& b : H(symbol, Function::kDailyAdjusted)) {
      ASSERT_EQ(*b.split_coefficient, 1.0) << symbol << b.ts;
    }
  }
}

TEST(SimulatorAdjustTest, RawBarsOfSymbolsWithoutSplitsAreAsBefore) {
  // Values from the simulator before splits were modelled (on the calendar with the NYSE's
  // special closures, which shifted every walk after 2001-09-11).
  const auto ko = H("KO", Function::kDaily);
  EXPECT_EQ(ko.back(), (Bar{"2026-05-15", 392.8803, 395.3673, 378.7332, 379.67, 5228206.0}));
  // PEP's bars before its first split are as before too.
  const auto pep = H("PEP", Function::kDaily);
  EXPECT_EQ(pep[IndexOf(pep, "2004-04-13")],
            (Bar{"2004-04-13", 263.5738, 264.243, 261.8982, 263.3505, 19533314.0}));
  // ... and on its split day (3:1 on 2004-04-14) the raw price falls to about a third.
  const size_t split = IndexOf(pep, "2004-04-14");
  const double ratio = pep[split].open / pep[split - 1].close;
  EXPECT_GT(ratio, 0.9 / 3.0);
  EXPECT_LT(ratio, 1.1 / 3.0);
}

// KO's ex-dividend day 2026-05-11; AAPL's 2:1 split 2021-08-23.
TEST(SimulatorAdjustTest, EachNewEventRestatesEveryOlderAdjustedClose) {
  const auto before = H("KO", Function::kDailyAdjusted, D(2026, 5, 8));
  const auto after = H("KO", Function::kDailyAdjusted, D(2026, 5, 11));
  ASSERT_EQ(after.size(), before.size() + 1);
  ASSERT_GT(*after.back().dividend, 0);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].close, before[i].close) << before[i].ts;
    EXPECT_LT(*after[i].adjusted_close, *before[i].adjusted_close) << before[i].ts;
  }
  const auto unsplit = H("AAPL", Function::kDailyAdjusted, D(2021, 8, 20));
  const auto split = H("AAPL", Function::kDailyAdjusted, D(2021, 8, 23));
  ASSERT_EQ(*split.back().split_coefficient, 2.0);
  for (size_t i = 0; i < unsplit.size(); ++i) {
    EXPECT_EQ(split[i].close, unsplit[i].close) << unsplit[i].ts;
    EXPECT_NEAR(*split[i].adjusted_close * 2, *unsplit[i].adjusted_close, 1.6e-4) << split[i].ts;
  }
}

// Weekly and monthly adjusted bars carry the daily adjustment of their last day (splits
// included) and the sum of their days' dividends, and no split coefficient.
TEST(SimulatorAdjustTest, WeeklyAndMonthlyAdjustedCarryTheDailyAdjustment) {
  const auto daily = H("PEP", Function::kDailyAdjusted);
  for (const Function f : {Function::kWeeklyAdjusted, Function::kMonthlyAdjusted}) {
    const auto periods = H("PEP", f);
    ASSERT_GT(periods.size(), 300u);
    size_t d = 0;
    for (const Bar& period : periods) {
      double dividends = 0;
      for (; d < daily.size() && daily[d].ts <= period.ts; ++d) dividends += *daily[d].dividend;
      const Bar& last_day = daily[d - 1];
      ASSERT_EQ(last_day.ts, period.ts);
      EXPECT_EQ(period.close, last_day.close) << period.ts;
      EXPECT_EQ(period.adjusted_close, last_day.adjusted_close) << period.ts;
      EXPECT_NEAR(*period.dividend, dividends, 1e-9) << period.ts;
      EXPECT_FALSE(period.split_coefficient) << period.ts;
    }
    EXPECT_EQ(d, daily.size());
  }
}

// Adjusted intraday prices of a day are the raw ones times that day's factor, which includes
// AAPL's split of 2021-08-23 for the bars before it.
TEST(SimulatorAdjustTest, AdjustedIntradayIncludesSplits) {
  const Date last = D(2021, 9, 3);
  const auto daily = H("AAPL", Function::kDailyAdjusted, last);
  std::map<std::string, double> factors;
  for (size_t i = 0; i < daily.size(); ++i) factors[daily[i].ts] = FactorByHand(daily, i);
  ASSERT_EQ(factors.at("2021-08-20"), 0.5);  // no dividend after it up to `last`
  ASSERT_LT(factors.at("2021-08-09"), 0.5);  // the ex-dividend day 2021-08-10 too
  ASSERT_EQ(factors.at("2021-08-23"), 1.0);
  SeriesKey key{"AAPL", Function::kIntraday, "15min"};
  const auto adjusted = Simulator::History(key, last);
  key.adjusted = false;
  const auto raw = Simulator::History(key, last);
  ASSERT_EQ(adjusted.size(), raw.size());
  int split_adjusted = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    const double f = factors.at(raw[i].ts.substr(0, 10));
    EXPECT_EQ(adjusted[i].open, Round4(raw[i].open * f)) << raw[i].ts;
    EXPECT_EQ(adjusted[i].close, Round4(raw[i].close * f)) << raw[i].ts;
    EXPECT_EQ(adjusted[i].volume, raw[i].volume) << raw[i].ts;
    split_adjusted += f <= 0.5;
  }
  EXPECT_GT(split_adjusted, 0);
}

}  // namespace
}  // namespace mdfetch
