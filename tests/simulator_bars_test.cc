// Simulator::History: the deterministic bars the simulator serves (no server involved).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
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
  // Pinned so that a change of hash or walk (e.g. std::hash sneaking in) is noticed. Re-pinned
  // when the calendar learnt the NYSE special closures (2001-09-11 to 2025-01-09): the walk
  // has a step less for each.
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.back().ts, "2026-05-15");
  EXPECT_EQ(a.back().close, 132.1482);
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

TEST(SimulatorBarsTest, AdjustedDailyHasQuarterlyDividends) {
  int dividends = 0;
  for (const std::string symbol : {"IBM", "MSFT", "KO", "T"}) {
    for (const Bar& b : H(symbol, Function::kDailyAdjusted)) {
      ASSERT_TRUE(b.adjusted_close && b.dividend && b.split_coefficient) << b.ts;
      EXPECT_EQ(ThroughText(*b.dividend, 4), *b.dividend);
      EXPECT_EQ(ThroughText(*b.adjusted_close, 4), *b.adjusted_close);
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

SeriesKey IntradayKey(std::string symbol, std::string interval, bool adjusted = true,
                      bool extended_hours = true) {
  SeriesKey key{std::move(symbol), Function::kIntraday, std::move(interval)};
  key.adjusted = adjusted;
  key.extended_hours = extended_hours;
  return key;
}

std::vector<Bar> Intraday(const SeriesKey& key, std::string_view month = {}, Date last = kLast) {
  return Simulator::History(key, last, month);
}

// The distinct "YYYY-MM-DD" days of intraday bars, oldest first.
std::vector<std::string> DaysOf(const std::vector<Bar>& bars) {
  std::vector<std::string> out;
  for (const Bar& b : bars) {
    if (out.empty() || out.back() != b.ts.substr(0, 10)) out.push_back(b.ts.substr(0, 10));
  }
  return out;
}

// The trading days from `first` through `last`, by the project's market calendar.
std::vector<std::string> TradingDays(Date first, Date last) {
  std::vector<std::string> out;
  for (sys_days d{first}; d <= sys_days{last}; d += days(1)) {
    if (IsTradingDay(Date{d})) out.push_back(FormatDate(Date{d}));
  }
  return out;
}

double Round4(double v) { return std::round(v * 1e4) / 1e4; }

// day -> the product of (1 - dividend / previous daily close) over the ex-dividend days after
// it, from what TIME_SERIES_DAILY_ADJUSTED serves up to `last`: what adjusted intraday
// prices of that day are multiplied by.
std::map<std::string, double> DividendFactors(const std::string& symbol, Date last = kLast) {
  const auto daily = H(symbol, Function::kDailyAdjusted, last);
  std::map<std::string, double> out;
  double factor = 1.0;
  for (size_t i = daily.size(); i-- > 0;) {
    out[daily[i].ts] = factor;
    if (*daily[i].dividend > 0) factor *= 1.0 - *daily[i].dividend / daily[i - 1].close;
  }
  return out;
}

TEST(SimulatorBarsTest, IntradayMonthCoversExactlyItsTradingDays) {
  ASSERT_FALSE(IsTradingDay(D(2024, 3, 29)));  // Good Friday
  const auto march = Intraday(IntradayKey("KO", "5min"), "2024-03");
  ASSERT_FALSE(march.empty());
  EXPECT_EQ(march.front().ts, "2024-03-01 04:00:00");
  EXPECT_EQ(march.back().ts, "2024-03-28 19:55:00");
  const auto march_days = TradingDays(D(2024, 3, 1), D(2024, 3, 31));
  EXPECT_EQ(DaysOf(march), march_days);
  EXPECT_EQ(march.size(), march_days.size() * 192);
  // The month in progress ends with the last session.
  const auto may = Intraday(IntradayKey("KO", "60min"), "2026-05");
  ASSERT_FALSE(may.empty());
  EXPECT_EQ(may.front().ts, "2026-05-01 04:00:00");
  EXPECT_EQ(may.back().ts, "2026-05-15 19:00:00");
  EXPECT_EQ(DaysOf(may), TradingDays(D(2026, 5, 1), kLast));
  EXPECT_EQ(Intraday(IntradayKey("KO", "5min"), "2000-01").front().ts, "2000-01-03 04:00:00");
  for (const std::string_view none : {"2026-06", "1999-12", "2024-13", "2024-3", "2024-03-01"}) {
    EXPECT_TRUE(Intraday(IntradayKey("KO", "5min"), none).empty()) << none;
  }
}

TEST(SimulatorBarsTest, IntradayMonthsAgreeWithTheTrailing30Days) {
  const SeriesKey key = IntradayKey("KO", "15min");
  const auto trailing = Intraday(key);
  ASSERT_EQ(trailing.front().ts, "2026-04-16 04:00:00");
  std::vector<Bar> months;
  for (const Bar& b : Intraday(key, "2026-04")) {
    if (b.ts >= trailing.front().ts) months.push_back(b);
  }
  const auto may = Intraday(key, "2026-05");
  months.insert(months.end(), may.begin(), may.end());
  EXPECT_EQ(months, trailing);
}

TEST(SimulatorBarsTest, RegularHoursAreTheExtendedBarsFrom0930To1600) {
  for (const std::string interval : {"1min", "5min", "15min", "30min", "60min"}) {
    const auto extended = Intraday(IntradayKey("KO", interval), "2024-03");
    std::vector<Bar> in_session;
    for (const Bar& b : extended) {
      const std::string time = b.ts.substr(11);
      if (time >= "09:30:00" && time < "16:00:00") in_session.push_back(b);
    }
    const auto regular = Intraday(IntradayKey("KO", interval, true, false), "2024-03");
    ASSERT_FALSE(regular.empty()) << interval;
    EXPECT_EQ(regular, in_session) << interval;
    EXPECT_EQ(DaysOf(regular), DaysOf(extended)) << interval;
  }
  const auto five = Intraday(IntradayKey("KO", "5min", false, false), "2024-03");
  EXPECT_EQ(five.front().ts, "2024-03-01 09:30:00");
  EXPECT_EQ(five.back().ts, "2024-03-28 15:55:00");
  EXPECT_EQ(five.size(), DaysOf(five).size() * 78);
  // Hourly bars start on the hour, so the session has the 10:00 to 15:00 bars.
  const auto hourly = Intraday(IntradayKey("KO", "60min", true, false), "2024-03");
  EXPECT_EQ(hourly.front().ts, "2024-03-01 10:00:00");
  EXPECT_EQ(hourly.back().ts, "2024-03-28 15:00:00");
  EXPECT_EQ(hourly.size(), DaysOf(hourly).size() * 6);
}

// KO pays quarterly; its latest ex-dividend day before kLast is Monday 2026-05-11.
TEST(SimulatorBarsTest, AdjustedIntradayIsRawScaledByTheLaterDividends) {
  const auto factors = DividendFactors("KO");
  ASSERT_LT(factors.at("2026-05-08"), 1.0);
  ASSERT_EQ(factors.at("2026-05-11"), 1.0);
  for (const std::string_view month : {"", "2024-03"}) {
    const auto adjusted = Intraday(IntradayKey("KO", "5min"), month);
    const auto raw = Intraday(IntradayKey("KO", "5min", false), month);
    ASSERT_EQ(adjusted.size(), raw.size());
    int scaled = 0, equal = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      const Bar& a = adjusted[i];
      const Bar& r = raw[i];
      ASSERT_EQ(a.ts, r.ts);
      EXPECT_EQ(a.volume, r.volume) << a.ts;
      EXPECT_LE(a.low, std::min(a.open, a.close)) << a.ts;
      EXPECT_GE(a.high, std::max(a.open, a.close)) << a.ts;
      const double f = factors.at(a.ts.substr(0, 10));
      if (a.ts >= "2026-05-11") {
        EXPECT_EQ(a, r);
        ++equal;
        continue;
      }
      ++scaled;
      EXPECT_NE(a.close, r.close) << a.ts;
      EXPECT_EQ(a.open, Round4(r.open * f)) << a.ts;
      EXPECT_EQ(a.high, Round4(r.high * f)) << a.ts;
      EXPECT_EQ(a.low, Round4(r.low * f)) << a.ts;
      EXPECT_EQ(a.close, Round4(r.close * f)) << a.ts;
    }
    EXPECT_GT(scaled, 0) << month;
    EXPECT_EQ(equal > 0, month.empty()) << month;
  }
}

TEST(SimulatorBarsTest, AdjustedIntradayIsRewrittenAtEachExDividendDay) {
  // 2024-05-10 was KO's first ex-dividend day after March 2024.
  const SeriesKey adjusted = IntradayKey("KO", "30min");
  const SeriesKey raw = IntradayKey("KO", "30min", false);
  EXPECT_EQ(Intraday(raw, "2024-03", D(2024, 5, 9)), Intraday(raw, "2024-03", D(2024, 5, 10)));
  EXPECT_EQ(Intraday(adjusted, "2024-03", D(2024, 5, 9)), Intraday(raw, "2024-03"));
  EXPECT_NE(Intraday(adjusted, "2024-03", D(2024, 5, 10)), Intraday(raw, "2024-03"));
}

TEST(SimulatorBarsTest, SymbolWithoutDividendsHasEqualAdjustedAndRawIntraday) {
  for (const Bar& b : H("IBM", Function::kDailyAdjusted)) ASSERT_EQ(*b.dividend, 0.0) << b.ts;
  EXPECT_EQ(Intraday(IntradayKey("IBM", "5min")), Intraday(IntradayKey("IBM", "5min", false)));
  EXPECT_EQ(Intraday(IntradayKey("IBM", "1min"), "2024-03"),
            Intraday(IntradayKey("IBM", "1min", false), "2024-03"));
}

TEST(SimulatorBarsTest, IntradayIsPinned) {
  // Raw values as the simulator served them before it modelled `adjusted`, when it served
  // only raw prices: adjusted=false must keep serving exactly those. IBM pays no dividend, so
  // its default (adjusted) series keeps its values too. Re-pinned when the calendar learnt the
  // NYSE special closures (2001-09-11 to 2025-01-09), which take a step out of each day walk.
  const auto raw = Intraday(IntradayKey("KO", "5min", false));
  const Bar* ko = Find(raw, "2026-04-20 10:00:00");
  ASSERT_NE(ko, nullptr);
  EXPECT_EQ(*ko, (Bar{"2026-04-20 10:00:00", 399.8329, 403.6541, 399.5037, 403.1881, 27738.0}));
  const auto ibm = Intraday(IntradayKey("IBM", "5min"));
  const Bar* bar = Find(ibm, "2026-05-15 10:00:00");
  ASSERT_NE(bar, nullptr);
  EXPECT_EQ(*bar, (Bar{"2026-05-15 10:00:00", 120.2909, 120.9915, 120.0357, 120.9348, 10765.0}));
  // KO's default series changed with `adjusted`: its one ex-dividend day after 2026-04-20 up
  // to kLast is 2026-05-11 (dividend 2.6428, previous close 386.6764), so this bar is the raw
  // one times 1 - 2.6428 / 386.6764 = 0.99316..., rounded to 4 decimals.
  const auto adjusted = Intraday(IntradayKey("KO", "5min"));
  const Bar* ko_adjusted = Find(adjusted, "2026-04-20 10:00:00");
  ASSERT_NE(ko_adjusted, nullptr);
  EXPECT_EQ(*ko_adjusted,
            (Bar{"2026-04-20 10:00:00", 397.1002, 400.8953, 396.7732, 400.4324, 27738.0}));
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
  const std::string body = sim::RenderSeries(key, OutputSize::kCompact, std::span(bars).last(100));
  const std::string sample = Sample("01_TIME_SERIES_DAILY.json");
  EXPECT_EQ(Layout(body, 24), Layout(sample, 24));
  EXPECT_TRUE(body.ends_with("        }\n    }\n}"));
  EXPECT_TRUE(sample.ends_with("        }\n    }\n}"));
}

TEST(SimulatorRenderTest, IntradayAnswerIsLaidOutLikeTheRecordedSample) {
  const SeriesKey key{"MSFT", Function::kIntraday, "1min"};
  const auto bars = Simulator::History(key, kLast);
  const std::string body = sim::RenderSeries(key, OutputSize::kCompact, std::span(bars).last(100));
  EXPECT_EQ(Layout(body, 24), Layout(Sample("03_TIME_SERIES_INTRADAY_1min.json"), 24));
}

TEST(SimulatorRenderTest, RefusalBodiesAreEscapedJson) {
  EXPECT_NE(sim::DailyLimitBody(R"(K"1)", 25).find(R"(API key as K\"1 and)"), std::string::npos);
  EXPECT_EQ(sim::RenderMessage("Note", "a\\b\n"), "{\n    \"Note\": \"a\\\\b\\u000a\"\n}");
}

}  // namespace
}  // namespace mdfetch
