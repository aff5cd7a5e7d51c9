// Simulator::History: the deterministic bars the simulator serves (no server involved).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <span>
#include <sstream>
#include <string>

#include "mdfetch/simulator.h"
#include "simulator_internal.h"

namespace mdfetch {
namespace {

using namespace std::chrono;

Date D(int y, unsigned m, unsigned d) { return Date{year(y), month(m), day(d)}; }

const Date kLast = D(2026, 5, 15);  // a Friday

std::vector<Bar> H(std::string symbol, Function f, Date last = kLast, std::string interval = "") {
  return Simulator::History(SeriesKey{std::move(symbol), f, std::move(interval)}, last);
}

const Bar* Find(const std::vector<Bar>& bars, std::string_view ts) {
  auto it = std::find_if(bars.begin(), bars.end(), [&](const Bar& b) { return b.ts == ts; });
  return it == bars.end() ? nullptr : &*it;
}

// The double that the service's "%.<decimals>f" text of `v` parses back to.
double ThroughText(double v, int decimals) {
  return std::stod(fmt::format("{:.{}f}", v, decimals));
}

TEST(SimulatorBarsTest, HistoryIsDeterministicAndPinned) {
  const auto a = H("IBM", Function::kDaily);
  EXPECT_EQ(a, H("IBM", Function::kDaily));
  // Pinned so that a change of hash or walk (e.g. std::hash sneaking in) is noticed.
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.back().ts, "2026-05-15");
  EXPECT_EQ(a.back().close, 130.0145);
  EXPECT_NE(a, H("MSFT", Function::kDaily));
}

TEST(SimulatorBarsTest, DayBarDoesNotChangeWhenLastSessionMovesForward) {
  const auto earlier = H("AAPL", Function::kDaily);
  const auto later = H("AAPL", Function::kDaily, D(2026, 6, 30));
  ASSERT_GT(later.size(), earlier.size());
  EXPECT_TRUE(std::equal(earlier.begin(), earlier.end(), later.begin()));
}

TEST(SimulatorBarsTest, DailyBarsCoverEveryTradingDaySince2000) {
  const auto bars = H("IBM", Function::kDaily);
  EXPECT_EQ(static_cast<int>(bars.size()), TradingDaysBetween(D(1999, 12, 31), kLast));
  EXPECT_EQ(bars.front().ts, "2000-01-03");
  EXPECT_EQ(Find(bars, "2025-04-18"), nullptr);  // Good Friday
  EXPECT_NE(Find(bars, "2025-04-17"), nullptr);
}

TEST(SimulatorBarsTest, BarsAreConsistentAndRoundTripThroughText) {
  for (const Bar& b : H("ZZZZ", Function::kDaily)) {
    EXPECT_LE(b.low, std::min(b.open, b.close)) << b.ts;
    EXPECT_GE(b.high, std::max(b.open, b.close)) << b.ts;
    EXPECT_GT(b.low, 0) << b.ts;
    ASSERT_TRUE(b.volume);
    EXPECT_GE(*b.volume, 1e5) << b.ts;
    EXPECT_LE(*b.volume, 5e7) << b.ts;
    EXPECT_EQ(*b.volume, std::floor(*b.volume)) << b.ts;
    for (double v : {b.open, b.high, b.low, b.close}) EXPECT_EQ(ThroughText(v, 4), v) << b.ts;
    EXPECT_FALSE(b.adjusted_close || b.dividend || b.split_coefficient);
  }
}

TEST(SimulatorBarsTest, WeekWithGoodFridayIsKeyedByThursday) {
  const auto weekly = H("IBM", Function::kWeekly);
  const auto daily = H("IBM", Function::kDaily);
  EXPECT_EQ(Find(weekly, "2025-04-18"), nullptr);
  const Bar* week = Find(weekly, "2025-04-17");
  ASSERT_NE(week, nullptr);
  // Monday 2025-04-14 .. Thursday 2025-04-17.
  const Bar* first = Find(daily, "2025-04-14");
  ASSERT_NE(first, nullptr);
  const auto begin = daily.begin() + (first - daily.data());
  const auto end = begin + 4;
  EXPECT_EQ(week->open, begin->open);
  EXPECT_EQ(week->close, (end - 1)->close);
  double high = 0, low = 1e18, volume = 0;
  for (auto it = begin; it != end; ++it) {
    high = std::max(high, it->high);
    low = std::min(low, it->low);
    volume += *it->volume;
  }
  EXPECT_EQ(week->high, high);
  EXPECT_EQ(week->low, low);
  EXPECT_EQ(*week->volume, volume);
  EXPECT_EQ(weekly.back().ts, "2026-05-15");
}

TEST(SimulatorBarsTest, MonthIsKeyedByItsLastTradingDay) {
  const auto monthly = H("IBM", Function::kMonthly);
  EXPECT_NE(Find(monthly, "2018-03-29"), nullptr);  // March 30, 2018 was Good Friday
  EXPECT_NE(Find(monthly, "2026-04-30"), nullptr);
  EXPECT_EQ(monthly.back().ts, "2026-05-15");  // the month in progress
  EXPECT_EQ(monthly.front().ts, "2000-01-31");
}

TEST(SimulatorBarsTest, AdjustedDailyHasQuarterlyDividendsAndUnitSplits) {
  int dividends = 0;
  for (const std::string symbol : {"IBM", "MSFT", "KO", "T"}) {
    for (const Bar& b : H(symbol, Function::kDailyAdjusted)) {
      ASSERT_TRUE(b.adjusted_close && b.dividend && b.split_coefficient) << b.ts;
      EXPECT_EQ(*b.adjusted_close, b.close);
      EXPECT_EQ(*b.split_coefficient, 1.0);
      EXPECT_EQ(ThroughText(*b.dividend, 4), *b.dividend);
      if (*b.dividend > 0) {
        ++dividends;
        const int month = std::stoi(b.ts.substr(5, 2));
        EXPECT_EQ(month % 3, 2) << b.ts;
      }
    }
  }
  EXPECT_GT(dividends, 100);
}

TEST(SimulatorBarsTest, WeeklyAdjustedSumsDividendsWithoutSplit) {
  const auto daily = H("KO", Function::kDailyAdjusted);
  const auto weekly = H("KO", Function::kWeeklyAdjusted);
  double daily_total = 0, weekly_total = 0;
  for (const Bar& b : daily) daily_total += *b.dividend;
  for (const Bar& b : weekly) {
    EXPECT_FALSE(b.split_coefficient);
    weekly_total += *b.dividend;
  }
  EXPECT_GT(weekly_total, 0);
  EXPECT_NEAR(weekly_total, daily_total, 1e-6);
}

TEST(SimulatorBarsTest, FxTradesOnUsHolidaysButNotWeekends) {
  const auto fx = H("EUR/USD", Function::kFxDaily);
  EXPECT_NE(Find(fx, "2025-12-25"), nullptr);
  EXPECT_NE(Find(fx, "2025-04-18"), nullptr);
  EXPECT_EQ(Find(fx, "2025-12-27"), nullptr);  // Saturday
  for (const Bar& b : fx) {
    EXPECT_FALSE(b.volume);
    EXPECT_GT(b.close, 0.2);
    EXPECT_LT(b.close, 5.0);
    EXPECT_EQ(ThroughText(b.close, 5), b.close);
  }
}

TEST(SimulatorBarsTest, CryptoIsTheLast350CalendarDays) {
  const auto crypto = H("BTC/EUR", Function::kCryptoDaily);
  ASSERT_EQ(crypto.size(), 350u);
  EXPECT_EQ(crypto.back().ts, "2026-05-15");
  EXPECT_EQ(crypto.front().ts, FormatDate(Date{sys_days{kLast} - days(349)}));
  for (const Bar& b : crypto) {
    ASSERT_TRUE(b.volume);
    EXPECT_EQ(ThroughText(*b.volume, 8), *b.volume);
    EXPECT_EQ(ThroughText(b.high, 8), b.high);
  }
}

TEST(SimulatorBarsTest, IntradayCoversExtendedHoursOfTheLast30Days) {
  const auto bars = H("IBM", Function::kIntraday, kLast, "5min");
  const int days_covered = TradingDaysBetween(Date{sys_days{kLast} - days(30)}, kLast);
  ASSERT_EQ(static_cast<int>(bars.size()), days_covered * 192);
  EXPECT_EQ(bars.back().ts, "2026-05-15 19:55:00");
  EXPECT_EQ(bars[bars.size() - 192].ts, "2026-05-15 04:00:00");
  EXPECT_EQ(H("IBM", Function::kIntraday, kLast, "60min").back().ts, "2026-05-15 19:00:00");
  for (const Bar& b : bars) EXPECT_LE(b.low, std::min(b.open, b.close)) << b.ts;
}

// The first `count` lines of `text` with every run of digits shown as '#' and the free-text
// "1. Information" value dropped: the layout of an answer without its values.
std::vector<std::string> Layout(const std::string& text, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; lines.size() < count && std::getline(in, line);) {
    if (line.find("\"1. Information\"") != std::string::npos) line = "<information>";
    std::string masked;
    for (size_t i = 0; i < line.size(); ++i) {
      bool digit = std::isdigit(static_cast<unsigned char>(line[i])) != 0;
      bool run_continues = digit && i > 0 && std::isdigit(static_cast<unsigned char>(line[i - 1]));
      if (!digit) masked += line[i];
      if (digit && !run_continues) masked += '#';
    }
    lines.push_back(masked);
  }
  return lines;
}

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(MDFETCH_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SimulatorRenderTest, DailyAnswerIsLaidOutLikeTheRecordedSample) {
  const SeriesKey key{"MSFT", Function::kDaily, ""};
  const auto bars = Simulator::History(key, kLast);
  const std::string body =
      sim::RenderSeries(key, sim::OutputSize::kCompact, std::span(bars).last(100));
  const std::string sample = Sample("01_TIME_SERIES_DAILY.json");
  EXPECT_EQ(Layout(body, 24), Layout(sample, 24));
  EXPECT_TRUE(body.ends_with("        }\n    }\n}"));
  EXPECT_TRUE(sample.ends_with("        }\n    }\n}"));
}

TEST(SimulatorRenderTest, IntradayAnswerIsLaidOutLikeTheRecordedSample) {
  const SeriesKey key{"MSFT", Function::kIntraday, "1min"};
  const auto bars = Simulator::History(key, kLast);
  const std::string body =
      sim::RenderSeries(key, sim::OutputSize::kCompact, std::span(bars).last(100));
  EXPECT_EQ(Layout(body, 24), Layout(Sample("03_TIME_SERIES_INTRADAY_1min.json"), 24));
}

TEST(SimulatorRenderTest, RefusalBodiesAreEscapedJson) {
  EXPECT_NE(sim::DailyLimitBody(R"(K"1)", 25).find(R"(API key as K\"1 and)"), std::string::npos);
  EXPECT_EQ(sim::RenderMessage("Note", "a\\b\n"), "{\n    \"Note\": \"a\\\\b\\u000a\"\n}");
}

}  // namespace
}  // namespace mdfetch
