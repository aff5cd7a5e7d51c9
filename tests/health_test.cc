#include "mdfetch/health.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "mdfetch/market_calendar.h"
#include "mdfetch/simulator.h"

namespace mdfetch {
namespace {

using namespace std::chrono;

Date D(int y, unsigned m, unsigned d) { return Date{year(y), month(m), day(d)}; }

WallTime Utc(Date d, minutes time) { return sys_days{d} + time; }

const WallTime kNow = Utc(D(2026, 12, 1), 22h);
const SeriesKey kDaily{"IBM", Function::kDaily, ""};

// The double nearest to `v` at 4 decimals, as the service prints prices.
double Round4(double v) { return std::round(v * 1e4) / 1e4; }

Bar MakeBar(std::string ts, double open, double close) {
  Bar b;
  b.ts = std::move(ts);
  b.open = open;
  b.close = close;
  b.high = Round4(std::max(open, close) * 1.004);
  b.low = Round4(std::min(open, close) * 0.996);
  b.volume = 1000;
  return b;
}

// Bars for `stamps`, closes wandering within about 1% a bar around 245.
std::vector<Bar> Walk(const std::vector<std::string>& stamps) {
  std::vector<Bar> bars;
  double previous = 245;
  for (size_t i = 0; i < stamps.size(); ++i) {
    const double close = Round4(245 + 3 * std::sin(0.9 * static_cast<double>(i)));
    bars.push_back(MakeBar(stamps[i], previous, close));
    previous = close;
  }
  return bars;
}

// Every day from..to (inclusive) that `keep` keeps, as "YYYY-MM-DD".
template <typename Keep>
std::vector<std::string> Days(Date from, Date to, Keep keep) {
  std::vector<std::string> out;
  for (sys_days d{from}; d <= sys_days{to}; d += days(1)) {
    if (keep(d)) out.push_back(FormatDate(Date{d}));
  }
  return out;
}

std::vector<std::string> Sessions(Date from, Date to) {
  return Days(from, to, [](sys_days d) { return IsTradingDay(Date{d}); });
}

SeriesState Stored(const SeriesKey& key, const std::vector<Bar>& bars) {
  SeriesState s;
  s.key = key;
  s.last_outcome = "stored";
  s.last_success_at = kNow - 1h;
  s.last_attempt_at = kNow - 1h;
  s.bar_count = static_cast<int64_t>(bars.size());
  if (!bars.empty()) {
    s.first_ts = bars.front().ts;
    s.last_ts = bars.back().ts;
  }
  return s;
}

std::vector<Finding> Check(const SeriesKey& key, const std::vector<Bar>& bars,
                           const CheckOptions& options = {}) {
  return CheckSeries(Stored(key, bars), bars, kNow, options);
}

Bar& At(std::vector<Bar>& bars, std::string_view ts) {
  auto it = std::find_if(bars.begin(), bars.end(), [&](const Bar& b) { return b.ts == ts; });
  if (it == bars.end()) throw std::runtime_error("no bar " + std::string(ts));
  return *it;
}

void Erase(std::vector<Bar>& bars, std::string_view ts) {
  bars.erase(bars.begin() + (&At(bars, ts) - bars.data()));
}

// Makes the bar at `ts` one price: open = close, high and low just around it.
void SetClose(std::vector<Bar>& bars, std::string_view ts, double close) {
  At(bars, ts) = MakeBar(std::string(ts), close, close);
}

// Multiplies the prices of every bar from `ts` on by `factor`.
void Scale(std::vector<Bar>& bars, std::string_view ts, double factor) {
  for (Bar& b : bars) {
    if (b.ts < ts) continue;
    for (double* v : {&b.open, &b.high, &b.low, &b.close}) *v = Round4(*v * factor);
  }
}

Finding F(FindingKind kind, std::string first, std::string last, std::string message) {
  return Finding{kind, std::move(first), std::move(last), std::move(message)};
}

using Findings = std::vector<Finding>;

std::string Describe(const Findings& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out +=
        fmt::format("{} {}..{}: {}\n", FindingKindName(f.kind), f.first_ts, f.last_ts, f.message);
  }
  return out;
}

// ---- whole series ----

TEST(HealthTest, WholeSimulatedHistoriesFindNothing) {
  const std::vector<SeriesKey> keys = {
      kDaily,
      {"IBM", Function::kWeekly, ""},
      {"IBM", Function::kMonthly, ""},
      {"EUR/USD", Function::kFxDaily, ""},
      {"BTC/USD", Function::kCryptoDaily, ""},
      {"IBM", Function::kIntraday, "5min"},
      {"IBM", Function::kIntraday, "15min", true, false},
  };
  for (const SeriesKey& key : keys) {
    const std::vector<Bar> bars = Simulator::History(key, D(2026, 11, 25));
    ASSERT_GT(bars.size(), 100u) << Describe(key);
    const Findings findings = Check(key, bars);
    EXPECT_TRUE(findings.empty()) << Describe(key) << "\n" << Describe(findings);
  }
}

// ---- gaps ----

TEST(HealthTest, ADeletedBarIsAGapByDate) {
  auto bars = Walk(Sessions(D(2024, 2, 1), D(2024, 4, 30)));
  ASSERT_EQ(Check(kDaily, bars), Findings{});
  Erase(bars, "2024-03-05");
  EXPECT_EQ(Check(kDaily, bars), Findings{F(FindingKind::kGap, "2024-03-05", "2024-03-05",
                                            "missing session 2024-03-05")});
}

TEST(HealthTest, ConsecutiveMissingSessionsAreOneFindingAcrossHolidays) {
  auto bars = Walk(Sessions(D(2024, 2, 1), D(2024, 4, 30)));
  for (const char* ts : {"2024-03-04", "2024-03-05", "2024-03-06", "2024-03-28", "2024-04-01"}) {
    Erase(bars, ts);
  }
  // Good Friday 2024-03-29 lies inside the second run: not a session, not counted.
  EXPECT_EQ(Check(kDaily, bars), (Findings{F(FindingKind::kGap, "2024-03-04", "2024-03-06",
                                             "missing 3 sessions 2024-03-04..2024-03-06"),
                                           F(FindingKind::kGap, "2024-03-28", "2024-04-01",
                                             "missing 2 sessions 2024-03-28..2024-04-01")}));
}

TEST(HealthTest, SandyClosureIsNoGapButABarOnItIsOffCalendar) {
  // Written out, not taken from the calendar: 2012-10-29 and 10-30 have no bar.
  const std::vector<std::string> days = {"2012-10-22", "2012-10-23", "2012-10-24", "2012-10-25",
                                         "2012-10-26", "2012-10-31", "2012-11-01", "2012-11-02"};
  auto bars = Walk(days);
  EXPECT_EQ(Check(kDaily, bars), Findings{});
  bars.insert(bars.begin() + 5, MakeBar("2012-10-29", 245, 245));
  EXPECT_EQ(Check(kDaily, bars), Findings{F(FindingKind::kOffCalendar, "2012-10-29", "2012-10-29",
                                            "bar on 2012-10-29, a day the market was closed")});
}

TEST(HealthTest, AMissingMonthIsFoundByMonth) {
  const SeriesKey monthly{"IBM", Function::kMonthly, ""};
  auto bars = Simulator::History(monthly, D(2026, 11, 25));
  Erase(bars, "2024-03-28");  // March 2024's last session: Good Friday was the 29th
  EXPECT_EQ(Check(monthly, bars),
            Findings{F(FindingKind::kGap, "2024-03-28", "2024-03-28", "missing month 2024-03")});
}

TEST(HealthTest, AMissingWeekIsFoundByItsLastSessionAndAWeekMustBeKeyedByIt) {
  const SeriesKey weekly{"IBM", Function::kWeekly, ""};
  auto bars = Simulator::History(weekly, D(2026, 11, 25));
  Erase(bars, "2024-03-08");
  Erase(bars, "2024-03-15");
  At(bars, "2024-03-28").ts = "2024-03-27";  // the week of Good Friday ends on Thursday the 28th
  EXPECT_EQ(Check(weekly, bars),
            (Findings{F(FindingKind::kGap, "2024-03-08", "2024-03-15",
                        "missing 2 weeks 2024-03-08..2024-03-15"),
                      F(FindingKind::kOffCalendar, "2024-03-27", "2024-03-27",
                        "weekly bar 2024-03-27 is not keyed by the last trading day of its week "
                        "(2024-03-28)")}));
}

TEST(HealthTest, FxNeedsEveryWeekdayHolidaysIncluded) {
  const SeriesKey fx{"EUR/USD", Function::kFxDaily, ""};
  auto bars = Walk(Days(D(2024, 12, 16), D(2025, 1, 10),
                        [](sys_days d) { return weekday{d} != Saturday && weekday{d} != Sunday; }));
  for (Bar& b : bars) b.volume.reset();
  EXPECT_EQ(Check(fx, bars), Findings{});
  Erase(bars, "2024-12-25");
  Erase(bars, "2025-01-01");
  EXPECT_EQ(
      Check(fx, bars),
      (Findings{F(FindingKind::kGap, "2024-12-25", "2024-12-25", "missing weekday 2024-12-25"),
                F(FindingKind::kGap, "2025-01-01", "2025-01-01", "missing weekday 2025-01-01")}));
}

TEST(HealthTest, CryptoNeedsEveryDay) {
  const SeriesKey crypto{"BTC/USD", Function::kCryptoDaily, ""};
  auto bars = Walk(Days(D(2024, 3, 1), D(2024, 3, 31), [](sys_days) { return true; }));
  EXPECT_EQ(Check(crypto, bars), Findings{});
  Erase(bars, "2024-03-09");
  Erase(bars, "2024-03-10");
  EXPECT_EQ(Check(crypto, bars), Findings{F(FindingKind::kGap, "2024-03-09", "2024-03-10",
                                            "missing 2 days 2024-03-09..2024-03-10")});
}

// ---- intraday ----

// 5-minute bars of `day` from `open` up to `close` (exclusive), New York time.
void AppendIntraday(std::vector<std::string>& out, std::string day, minutes open, minutes close) {
  for (minutes t = open; t < close; t += 5min) {
    out.push_back(fmt::format("{} {:02}:{:02}:00", day, t.count() / 60, t.count() % 60));
  }
}

TEST(HealthTest, TheDayAfterThanksgivingEndsAt13WithoutAGap) {
  const SeriesKey regular{"IBM", Function::kIntraday, "5min", true, false};
  std::vector<std::string> stamps;
  AppendIntraday(stamps, "2026-11-25", 9h + 30min, 16h);
  AppendIntraday(stamps, "2026-11-27", 9h + 30min, 13h);  // written out: the early close
  AppendIntraday(stamps, "2026-11-30", 9h + 30min, 16h);
  auto bars = Walk(stamps);
  EXPECT_EQ(Check(regular, bars), Findings{});
  Erase(bars, "2026-11-27 12:55:00");
  for (const char* ts : {"2026-11-25 10:00:00", "2026-11-25 10:05:00", "2026-11-25 10:10:00"}) {
    Erase(bars, ts);
  }
  EXPECT_EQ(Check(regular, bars),
            (Findings{F(FindingKind::kGap, "2026-11-25 10:00:00", "2026-11-25 10:10:00",
                        "missing 3 intervals 2026-11-25 10:00..10:10"),
                      F(FindingKind::kGap, "2026-11-27 12:55:00", "2026-11-27 12:55:00",
                        "missing interval 2026-11-27 12:55")}));
}

TEST(HealthTest, ExtendedHoursAreCheckedInTheRegularSessionOnly) {
  const SeriesKey extended{"IBM", Function::kIntraday, "5min"};
  std::vector<std::string> stamps;
  for (const char* day : {"2026-11-23", "2026-11-24", "2026-11-25"}) {
    AppendIntraday(stamps, day, 4h, 20h);
  }
  auto bars = Walk(stamps);
  // No trades, no bar: thin pre-market and post-market are no gap.
  for (const char* ts : {"2026-11-24 04:05:00", "2026-11-24 07:30:00", "2026-11-24 19:55:00"}) {
    Erase(bars, ts);
  }
  EXPECT_EQ(Check(extended, bars), Findings{});
  Erase(bars, "2026-11-24 15:55:00");
  EXPECT_EQ(Check(extended, bars),
            Findings{F(FindingKind::kGap, "2026-11-24 15:55:00", "2026-11-24 15:55:00",
                       "missing interval 2026-11-24 15:55")});
}

TEST(HealthTest, AnIntradayDayWithoutBarsIsAMissingSession) {
  const SeriesKey regular{"IBM", Function::kIntraday, "15min", true, false};
  std::vector<std::string> stamps;
  for (const char* day : {"2026-11-23", "2026-11-25"}) {  // nothing on the 24th
    for (minutes t = 9h + 30min; t < 16h; t += 15min) {
      stamps.push_back(fmt::format("{} {:02}:{:02}:00", day, t.count() / 60, t.count() % 60));
    }
  }
  EXPECT_EQ(Check(regular, Walk(stamps)), Findings{F(FindingKind::kGap, "2026-11-24", "2026-11-24",
                                                     "missing session 2026-11-24")});
}

// ---- bars ----

TEST(HealthTest, AHighBelowTheLowIsFoundByDate) {
  auto bars = Walk(Sessions(D(2024, 2, 1), D(2024, 4, 30)));
  Bar& bar = At(bars, "2024-03-05");
  bar.open = 245;
  bar.close = 245.5;
  bar.high = 244;
  bar.low = 246;
  At(bars, "2024-03-07").volume = -5;
  EXPECT_EQ(Check(kDaily, bars), (Findings{F(FindingKind::kOhlc, "2024-03-05", "2024-03-05",
                                             "2024-03-05: high 244 is below low 246"),
                                           F(FindingKind::kOhlc, "2024-03-07", "2024-03-07",
                                             "2024-03-07: volume -5 is negative")}));
}

TEST(HealthTest, OpenAndCloseOutsideTheRangeAndNonPositivePrices) {
  auto bars = Walk(Sessions(D(2024, 2, 1), D(2024, 4, 30)));
  Bar& bar = At(bars, "2024-03-05");
  bar = MakeBar("2024-03-05", 245, 246);
  bar.low = 245.5;
  bar.high = 245.8;
  At(bars, "2024-03-06").open = 0;
  EXPECT_EQ(Check(kDaily, bars),
            (Findings{F(FindingKind::kOhlc, "2024-03-05", "2024-03-05",
                        "2024-03-05: low 245.5 is above open 245, high 245.8 is below close 246"),
                      F(FindingKind::kOhlc, "2024-03-06", "2024-03-06",
                        "2024-03-06: open 0 is not positive, low " +
                            fmt::format("{}", At(bars, "2024-03-06").low) + " is above open 0")}));
}

TEST(HealthTest, DuplicateAndUnorderedTimestampsAreFound) {
  auto bars = Walk(Sessions(D(2024, 3, 1), D(2024, 3, 29)));
  std::swap(At(bars, "2024-03-06"), At(bars, "2024-03-07"));
  bars.insert(bars.begin() + 9, At(bars, "2024-03-13"));
  bars.push_back(MakeBar("2024-3-30", 245, 245));
  EXPECT_EQ(
      Check(kDaily, bars),
      (Findings{
          F(FindingKind::kOrder, "2024-03-06", "2024-03-07",
            "bar 2024-03-06 comes after 2024-03-07 (out of order)"),
          F(FindingKind::kOrder, "2024-03-13", "2024-03-13", "duplicate bar 2024-03-13"),
          F(FindingKind::kOrder, "2024-3-30", "2024-3-30", "unreadable timestamp '2024-3-30'")}));
}

TEST(HealthTest, ManyFindingsOfOneKindAreSummedUp) {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 3, 28)));
  std::vector<Bar> every_other;
  for (size_t i = 0; i < bars.size(); i += 2) every_other.push_back(bars[i]);
  CheckOptions options;
  options.max_per_kind = 3;
  const Findings findings = Check(kDaily, every_other, options);
  ASSERT_EQ(findings.size(), 4u) << Describe(findings);
  EXPECT_EQ(findings[0].message, "missing session 2024-01-03");
  EXPECT_EQ(findings[3], F(FindingKind::kGap, "2024-01-11", "2024-03-27",
                           "and 27 more gap findings 2024-01-11..2024-03-27"));
}

// ---- suspect values ----

TEST(HealthTest, AHundredfoldGlitchIsSuspect) {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 6, 28)));
  SetClose(bars, "2024-03-04", 245.39);
  SetClose(bars, "2024-03-05", 2.4539);
  SetClose(bars, "2024-03-06", 245.5);
  EXPECT_EQ(Check(kDaily, bars),
            Findings{F(FindingKind::kSuspectMove, "2024-03-05", "2024-03-05",
                       "close 2.4539 on 2024-03-05 is a factor of 1/100 off its neighbours "
                       "245.39 (2024-03-04) and 245.5 (2024-03-06)")});
}

TEST(HealthTest, AMisplacedDecimalPointFromADayOnIsSuspect) {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 6, 28)));
  SetClose(bars, "2024-03-04", 245.39);
  SetClose(bars, "2024-03-05", 245.39);
  Scale(bars, "2024-03-05", 0.01);
  EXPECT_EQ(Check(kDaily, bars),
            Findings{F(FindingKind::kSuspectMove, "2024-03-05", "2024-03-05",
                       "close 245.39 -> 2.4539 on 2024-03-05: a factor of 1/100")});
}

TEST(HealthTest, AnUnrecordedTwoForOneSplitIsSuspect) {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 6, 28)));
  SetClose(bars, "2024-03-04", 245.39);
  Scale(bars, "2024-03-05", 0.5);
  const double after = At(bars, "2024-03-05").close;
  EXPECT_EQ(Check(kDaily, bars),
            Findings{F(FindingKind::kSuspectMove, "2024-03-05", "2024-03-05",
                       fmt::format("close 245.39 -> {} on 2024-03-05: a factor of 1/2, like a 2:1 "
                                   "split with none recorded",
                                   after))});
}

TEST(HealthTest, AMoveFarOutsideTheSeriesReturnsIsSuspect) {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 6, 28)));
  SetClose(bars, "2024-03-04", 245.39);
  SetClose(bars, "2024-03-05", 245.39);
  Scale(bars, "2024-03-05", 1.3);
  // A price as a computation leaves it (an adjusted close): the message rounds it.
  At(bars, "2024-03-05").close = 319.007 + 1e-12;
  ASSERT_EQ(fmt::format("{}", At(bars, "2024-03-05").close), "319.007000000001");
  const Findings findings = Check(kDaily, bars);
  ASSERT_EQ(findings.size(), 1u) << Describe(findings);
  EXPECT_EQ(findings[0].kind, FindingKind::kSuspectMove);
  EXPECT_EQ(findings[0].first_ts, "2024-03-05");
  const std::string head = "close 245.39 -> 319.007 on 2024-03-05: a move of +30.";
  EXPECT_EQ(findings[0].message.substr(0, head.size()), head) << findings[0].message;
  // A larger multiple of the series' own spread makes it ordinary.
  CheckOptions lenient;
  lenient.suspect_sigmas = 1000;
  EXPECT_EQ(Check(kDaily, bars, lenient), Findings{});
}

// ---- adjusted closes ----

const SeriesKey kAdjusted{"IBM", Function::kDailyAdjusted, ""};

// A daily adjusted series: a dividend of 1.2 on 2024-02-09, a 2:1 split on 2024-04-01, a
// dividend of 0.6 on 2024-05-10, and the adjusted closes they make.
std::vector<Bar> AdjustedSeries() {
  auto bars = Walk(Sessions(D(2024, 1, 2), D(2024, 6, 28)));
  Scale(bars, "2024-04-01", 0.5);
  for (Bar& b : bars) {
    b.dividend = 0;
    b.split_coefficient = 1;
  }
  At(bars, "2024-02-09").dividend = 1.2;
  At(bars, "2024-04-01").split_coefficient = 2;
  At(bars, "2024-05-10").dividend = 0.6;
  double factor = 1;
  for (size_t i = bars.size(); i-- > 0;) {
    bars[i].adjusted_close = Round4(bars[i].close * factor);
    if (*bars[i].dividend > 0)
      factor *= (bars[i - 1].close - *bars[i].dividend) / bars[i - 1].close;
    factor /= *bars[i].split_coefficient;
  }
  return bars;
}

TEST(HealthTest, AnAdjustedSeriesThatAgreesWithItsEventsFindsNothing) {
  EXPECT_EQ(Check(kAdjusted, AdjustedSeries()), Findings{});
}

TEST(HealthTest, AnAdjustedCloseOffItsNeighboursIsFound) {
  auto bars = AdjustedSeries();
  Bar& bar = At(bars, "2024-05-07");
  bar.adjusted_close = Round4(bar.close * 1000);
  EXPECT_EQ(
      Check(kAdjusted, bars),
      Findings{
          F(FindingKind::kSuspectAdjusted, "2024-05-07", "2024-05-07",
            fmt::format("adjusted close {} on 2024-05-07 disagrees with close {} and no "
                        "event: adjusted/close is 1000 here against {:.6g} on 2024-05-06 "
                        "and {:.6g} on 2024-05-08",
                        *bar.adjusted_close, bar.close,
                        *At(bars, "2024-05-06").adjusted_close / At(bars, "2024-05-06").close,
                        *At(bars, "2024-05-08").adjusted_close / At(bars, "2024-05-08").close))});
}

TEST(HealthTest, AnAdjustedCloseThatIgnoresADividendIsFound) {
  auto bars = AdjustedSeries();
  // Recorded, but the adjusted closes before it were not lowered by it.
  const double before = *At(bars, "2024-02-09").adjusted_close / At(bars, "2024-02-09").close;
  for (Bar& b : bars) {
    if (b.ts < "2024-02-09") b.adjusted_close = Round4(b.close * before);
  }
  const Findings findings = Check(kAdjusted, bars);
  ASSERT_EQ(findings.size(), 1u) << Describe(findings);
  EXPECT_EQ(findings[0].kind, FindingKind::kSuspectAdjusted);
  EXPECT_EQ(findings[0].first_ts, "2024-02-09");
  const std::string head = fmt::format(
      "adjusted close {} on 2024-02-09 disagrees with close {} "
      "and the dividend 1.2: ",
      *At(bars, "2024-02-09").adjusted_close, At(bars, "2024-02-09").close);
  EXPECT_EQ(findings[0].message.substr(0, head.size()), head) << findings[0].message;
  const double previous = At(bars, "2024-02-08").close;
  const std::string tail = fmt::format("on 2024-02-08, where the dividend 1.2 would make it {:.6g}",
                                       before * (previous - 1.2) / previous);
  EXPECT_TRUE(findings[0].message.ends_with(tail)) << findings[0].message;
}

TEST(HealthTest, AnAdjustedStepWithoutAnEventIsFound) {
  auto bars = AdjustedSeries();
  At(bars, "2024-05-10").dividend = 0;  // the step in adjusted/close stays, its cause goes
  const Findings findings = Check(kAdjusted, bars);
  ASSERT_EQ(findings.size(), 1u) << Describe(findings);
  EXPECT_EQ(findings[0].kind, FindingKind::kSuspectAdjusted);
  const std::string head = fmt::format(
      "adjusted close {} on 2024-05-10 disagrees with close {} "
      "and no event: ",
      *At(bars, "2024-05-10").adjusted_close, At(bars, "2024-05-10").close);
  EXPECT_EQ(findings[0].message.substr(0, head.size()), head) << findings[0].message;
}

// The weekly adjusted series of `daily`: the last day's close and adjusted close of each
// week, its dividends summed, no split coefficient (the service's weekly adjusted fields).
std::vector<Bar> WeeklyOf(const std::vector<Bar>& daily) {
  auto monday = [](const std::string& ts) {
    const sys_days d{*ParseDate(ts)};
    return d - days(weekday{d}.iso_encoding() - 1);
  };
  std::vector<Bar> out;
  for (const Bar& d : daily) {
    if (out.empty() || monday(out.back().ts) != monday(d.ts)) {
      out.push_back(d);
      out.back().split_coefficient.reset();
      continue;
    }
    Bar& week = out.back();
    week.ts = d.ts;
    week.high = std::max(week.high, d.high);
    week.low = std::min(week.low, d.low);
    week.close = d.close;
    week.adjusted_close = d.adjusted_close;
    week.dividend = Round4(*week.dividend + *d.dividend);
  }
  return out;
}

TEST(HealthTest, AWeeklyAdjustedSeriesNeedsNoSplitRecord) {
  const SeriesKey weekly{"IBM", Function::kWeeklyAdjusted, ""};
  auto bars = WeeklyOf(AdjustedSeries());
  // The split week halves the close, its adjusted close runs on: neither is suspect.
  EXPECT_EQ(Check(weekly, bars), Findings{});
  Bar& week = At(bars, "2024-05-17");
  week.close = Round4(week.close / 100);
  week.open = week.low = week.high = week.close;
  const Findings findings = Check(weekly, bars);
  ASSERT_EQ(findings.size(), 1u) << Describe(findings);
  EXPECT_EQ(findings[0].kind, FindingKind::kSuspectAdjusted);
  EXPECT_EQ(findings[0].first_ts, "2024-05-17");
}

// ---- the series' state ----

TEST(HealthTest, ASeriesDueAndFailingForMoreThanThreeDaysIsFound) {
  auto bars = Walk(Sessions(D(2026, 10, 1), D(2026, 11, 20)));
  SeriesState state = Stored(kDaily, bars);
  state.last_success_at = Utc(D(2026, 11, 20), 22h);  // Friday evening
  state.last_attempt_at = Utc(D(2026, 12, 1), 21h + 30min);
  state.last_outcome = "error";
  state.last_error = "HTTP 500";
  // Due from Monday's close, 2026-11-23 21:00 UTC.
  EXPECT_EQ(CheckSeries(state, bars, Utc(D(2026, 11, 26), 21h)), Findings{});
  EXPECT_EQ(CheckSeries(state, bars, kNow),
            Findings{F(FindingKind::kFailing, "2026-11-20", "2026-11-20",
                       "due since 2026-11-23 21:00:00Z (8 days), last stored 2026-11-20 22:00:00Z; "
                       "the last call (2026-12-01 21:30:00Z) ended 'error': HTTP 500")});
  EXPECT_EQ(CheckSeries(state, bars, Utc(D(2026, 11, 26), 21h + 1min)).size(), 1u);
  // Stale but not failing: nobody ran a refresh.
  state.last_outcome = "stored";
  state.last_error.clear();
  EXPECT_EQ(CheckSeries(state, bars, kNow), Findings{});
}

TEST(HealthTest, ASeriesNeverStoredIsFailing) {
  SeriesState state;
  state.key = {"NOPE", Function::kDaily, ""};
  state.last_attempt_at = Utc(D(2026, 11, 30), 22h);
  state.last_outcome = "unknown";
  state.last_error = "the service does not know NOPE";
  EXPECT_EQ(CheckSeries(state, {}, kNow),
            Findings{F(FindingKind::kFailing, "", "",
                       "never stored: the last call (2026-11-30 22:00:00Z) ended 'unknown': the "
                       "service does not know NOPE")});
}

TEST(HealthTest, ALimitedHistoryIsFound) {
  auto bars = Walk(Sessions(D(2026, 7, 1), D(2026, 11, 30)));
  SeriesState state = Stored(kDaily, bars);
  state.history_limited = true;
  EXPECT_EQ(CheckSeries(state, bars, kNow),
            Findings{F(FindingKind::kLimited, "2026-07-01", "2026-07-01",
                       "history limited: it starts at 2026-07-01 because outputsize=full was "
                       "refused for this key (a compact answer holds the latest 100 bars)")});
}

TEST(HealthTest, FindingKindsHaveNames) {
  EXPECT_EQ(FindingKindName(FindingKind::kGap), "gap");
  EXPECT_EQ(FindingKindName(FindingKind::kOffCalendar), "off-calendar");
  EXPECT_EQ(FindingKindName(FindingKind::kSuspectAdjusted), "suspect-adjusted");
}

}  // namespace
}  // namespace mdfetch
