// Charts (issue 12): ticks of the value and time axes, scales, and what RenderChart draws for
// one series (candles or a line, events, gaps, exact labels) and for several (normalised to 100
// at their first common timestamp). Pure functions: no store, no clock.
#include "chart.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "chart_axes.h"
#include "svg_check.h"
#include "test_times.h"

namespace mdfetch {
namespace {

using test::CountClass;
using test::WellFormed;

TEST(ChartAxesTest, NiceTicksAreOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_EQ(NiceStep(0, 100, 5), 20);
  EXPECT_EQ(NiceTicks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(NiceTicks(12.3, 18.7, 5), (std::vector<double>{14, 16, 18}));
  EXPECT_DOUBLE_EQ(NiceStep(0, 1, 10), 0.1);
  EXPECT_DOUBLE_EQ(NiceStep(100, 101, 4), 0.5);
  EXPECT_EQ(NiceTicks(-3, 3, 3), (std::vector<double>{-2, 0, 2}));
  EXPECT_TRUE(NiceTicks(5, 5, 5).empty());
  EXPECT_TRUE(NiceTicks(6, 5, 5).empty());
}

TEST(ChartAxesTest, LogTicksArePowersOfTenWithTheirTwosAndFives) {
  EXPECT_EQ(LogTicks(1, 1000, 10),
            (std::vector<double>{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}));
  EXPECT_EQ(LogTicks(1, 1000, 5), (std::vector<double>{1, 10, 100, 1000}));
  EXPECT_EQ(LogTicks(0.5, 1e6, 4), (std::vector<double>{1, 100, 1e4, 1e6}));
  // Within a decade: linear nice ticks.
  EXPECT_EQ(LogTicks(20, 80, 5), (std::vector<double>{20, 40, 60, 80}));
  EXPECT_TRUE(LogTicks(0, 10, 5).empty());
}

TEST(ChartAxesTest, TickLabelsHaveTheDecimalsTheStepNeeds) {
  EXPECT_EQ(TickLabel(12.35, 0.05), "12.35");
  EXPECT_EQ(TickLabel(1250, 50), "1250");
  EXPECT_EQ(TickLabel(0.2, 0.2), "0.2");
  EXPECT_EQ(TickLabel(-0.0001, 0.1), "0.0");
  std::vector<std::string> labels;
  for (const ValueTick& t : ValueTicks(0.5, 100, 10, true)) labels.push_back(t.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"0.5", "1", "2", "5", "10", "20", "50", "100"}));
  EXPECT_EQ(ShortCount(950), "950");
  EXPECT_EQ(ShortCount(12345), "12.3K");
  EXPECT_EQ(ShortCount(4.5e6), "4.5M");
  EXPECT_EQ(ShortCount(2e9), "2B");
}

TEST(ChartAxesTest, ScaleMapsTheEndsOfTheDataToThoseOfThePlot) {
  const Scale linear{10, 30, 516, 48};
  EXPECT_DOUBLE_EQ(linear.Map(10), 516);
  EXPECT_DOUBLE_EQ(linear.Map(30), 48);
  EXPECT_DOUBLE_EQ(linear.Map(20), 282);
  const Scale log{1, 100, 0, 200, true};
  EXPECT_DOUBLE_EQ(log.Map(1), 0);
  EXPECT_DOUBLE_EQ(log.Map(10), 100);
  EXPECT_DOUBLE_EQ(log.Map(100), 200);
  EXPECT_DOUBLE_EQ(log.Map(-5), 0);  // drawn at the smallest value
  EXPECT_DOUBLE_EQ((Scale{7, 7, 0, 10}.Map(7)), 5);
}

// Monday-Friday dates from `first` for `n` weekdays ("YYYY-MM-DD").
std::vector<std::string> Weekdays(std::chrono::sys_days first, int n) {
  std::vector<std::string> out;
  for (auto d = first; static_cast<int>(out.size()) < n; d += std::chrono::days(1)) {
    const std::chrono::weekday wd{d};
    if (wd == std::chrono::Saturday || wd == std::chrono::Sunday) continue;
    const std::chrono::year_month_day ymd{d};
    out.push_back(fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day())));
  }
  return out;
}

std::vector<std::string> Labels(const std::vector<TimeTick>& ticks) {
  std::vector<std::string> out;
  for (const TimeTick& t : ticks) out.push_back(t.label);
  return out;
}

TEST(ChartAxesTest, TimeTicksChooseTheFinestCalendarPeriodThatFits) {
  using std::chrono::January;
  using std::chrono::March;
  using std::chrono::year;
  const auto days = Weekdays(std::chrono::sys_days{year{2022} / January / 3}, 3 * 260);
  // Six months would give 5 ticks: at most 3 leaves years.
  const auto years = TimeTicks(days, 3);
  EXPECT_EQ(Labels(years), (std::vector<std::string>{"2023", "2024"}));
  EXPECT_EQ(days[years[0].index], "2023-01-02");
  EXPECT_EQ(days[years[0].index - 1], "2022-12-30");  // no weekend slot between them
  EXPECT_EQ(Labels(TimeTicks(days, 12)),
            (std::vector<std::string>{"Apr 2022", "Jul", "Oct", "Jan 2023", "Apr", "Jul", "Oct",
                                      "Jan 2024", "Apr", "Jul", "Oct"}));
  const auto weeks = Weekdays(std::chrono::sys_days{year{2024} / March / 4}, 20);
  EXPECT_EQ(TimeTicks(weeks, 5), (std::vector<TimeTick>{{5, "Mar 11"}, {10, "Mar 18"},
                                                        {15, "Mar 25"}}));
}

TEST(ChartAxesTest, IntradayTicksAreHoursAndDays) {
  std::vector<std::string> bars;
  for (std::string day : {"2024-03-05", "2024-03-06"}) {
    for (int m = 9 * 60 + 30; m < 16 * 60; m += 5) {
      bars.push_back(fmt::format("{} {:02}:{:02}:00", day, m / 60, m % 60));
    }
  }
  EXPECT_EQ(Labels(TimeTicks(bars, 8)), (std::vector<std::string>{"10:00", "12:00", "14:00",
                                                                  "Mar 6", "10:00", "12:00",
                                                                  "14:00"}));
  EXPECT_EQ(Labels(TimeTicks(bars, 2)), (std::vector<std::string>{"Mar 6"}));
}

// ---- RenderChart ----

Bar MakeBar(std::string ts, double open, double high, double low, double close,
            std::optional<double> volume = 1000) {
  return Bar{.ts = std::move(ts), .open = open, .high = high, .low = low, .close = close,
             .volume = volume};
}

ChartSeries Series(const std::string& symbol, std::vector<Bar> bars,
                   Function function = Function::kDaily) {
  ChartSeries s;
  s.state.key = SeriesKey{symbol, function, ""};
  s.state.time_zone = "US/Eastern";
  s.state.bar_count = static_cast<int64_t>(bars.size());
  s.bars = std::move(bars);
  return s;
}

// `n` daily bars on weekdays from 2024-01-02, rising.
std::vector<Bar> Rising(int n, double start = 100) {
  std::vector<Bar> bars;
  const auto days = Weekdays(std::chrono::sys_days{std::chrono::year{2024} / std::chrono::January / 2}, n);
  for (int i = 0; i < n; ++i) {
    const double c = start + i;
    bars.push_back(MakeBar(days[static_cast<size_t>(i)], c - 0.5, c + 1, c - 1, c));
  }
  return bars;
}

TEST(ChartRenderTest, DrawsOneCandlePerBarWithExactLabels) {
  const std::vector<ChartSeries> s = {Series("IBM", Rising(60))};
  const std::string doc = RenderChart(s, ChartOptions{.source = "simulator"});
  EXPECT_TRUE(WellFormed(doc));
  EXPECT_EQ(CountClass(doc, "path", "candle"), 60u);
  EXPECT_EQ(CountClass(doc, "path", "close-line"), 0u);
  EXPECT_EQ(CountClass(doc, "path", "volume"), 1u);
  EXPECT_NE(doc.find(R"(data-mode="candles" data-bars="60")"), std::string::npos);
  EXPECT_NE(doc.find(">IBM daily</text>"), std::string::npos);
  EXPECT_NE(doc.find(">symbol IBM · function daily · time zone US/Eastern · range "
                     "2024-01-02..2024-03-25 (60 bars) · source simulator</text>"),
            std::string::npos)
      << doc.substr(0, 1200);
  EXPECT_NE(doc.find("<title>2024-01-02 open 99.5 high 101 low 99 close 100 volume 1000</title>"),
            std::string::npos);
  EXPECT_EQ(doc.find("<script"), std::string::npos);
  EXPECT_EQ(doc.find(" id="), std::string::npos);
}

TEST(ChartRenderTest, IntradayLabelsNameTheIntervalAndTheSwitches) {
  ChartSeries s = Series("AAPL", {MakeBar("2024-03-05 09:30:00", 1, 2, 1, 2)}, Function::kIntraday);
  s.state.key.interval = "5min";
  s.state.key.adjusted = false;
  const std::string doc = RenderChart(std::span(&s, 1), ChartOptions{.source = "Alpha Vantage"});
  EXPECT_NE(doc.find(">AAPL intraday:5min adjusted=false</text>"), std::string::npos);
  EXPECT_NE(doc.find(">symbol AAPL · function intraday · interval 5min · adjusted=false · time "
                     "zone US/Eastern · range 2024-03-05 09:30:00..2024-03-05 09:30:00 (1 bar) · "
                     "source Alpha Vantage</text>"),
            std::string::npos);
}

TEST(ChartRenderTest, ScalingPutsTheLowestLowAtTheBottomAndTheHighestHighAtTheTop) {
  // No volume: the price panel is the whole plot, y 48 (top) to 516 (bottom) at 960x540;
  // two slots of 443 px from x 10.
  const std::vector<ChartSeries> s = {Series(
      "X", {MakeBar("2024-01-02", 12, 20, 10, 18, std::nullopt),
            MakeBar("2024-01-03", 16, 30, 15, 28, std::nullopt)})};
  const std::string doc = RenderChart(s, ChartOptions{});
  EXPECT_NE(doc.find(R"(d="M231.5 282V516)"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"(d="M674.5 48V399)"), std::string::npos) << doc;
  EXPECT_EQ(CountClass(doc, "path", "volume"), 0u);
}

TEST(ChartRenderTest, MoreBarsThanPixelsMakeALineOverTheHighLowBand) {
  const std::vector<ChartSeries> s = {Series("IBM", Rising(500))};
  // 400 px wide: 326 px of plot.
  const std::string narrow = RenderChart(s, ChartOptions{.width = 400, .height = 300});
  EXPECT_TRUE(WellFormed(narrow));
  EXPECT_EQ(CountClass(narrow, "path", "candle"), 0u);
  EXPECT_EQ(CountClass(narrow, "path", "close-line"), 1u);
  EXPECT_EQ(CountClass(narrow, "path", "band"), 1u);
  EXPECT_NE(narrow.find(R"(data-mode="line")"), std::string::npos);
  // 960 px: 886 px of plot, candles again.
  EXPECT_EQ(CountClass(RenderChart(s, ChartOptions{}), "path", "candle"), 500u);
}

TEST(ChartRenderTest, ComparisonNormalisesClosesTo100AtTheFirstCommonDate) {
  const std::vector<ChartSeries> s = {
      Series("AAA", {MakeBar("2024-01-02", 10, 10, 10, 10), MakeBar("2024-01-03", 20, 20, 20, 20),
                     MakeBar("2024-01-04", 30, 30, 30, 30)}),
      Series("BBB", {MakeBar("2024-01-03", 50, 50, 50, 50), MakeBar("2024-01-04", 25, 25, 25, 25),
                     MakeBar("2024-01-05", 75, 75, 75, 75)})};
  EXPECT_EQ(FirstCommonTs(s), "2024-01-03");
  const std::string doc = RenderChart(s, ChartOptions{.source = "simulator"});
  EXPECT_TRUE(WellFormed(doc));
  EXPECT_EQ(CountClass(doc, "path", "series-line"), 2u);
  EXPECT_EQ(CountClass(doc, "text", "legend-entry"), 2u);
  EXPECT_NE(doc.find(">AAA daily, BBB daily: normalised to 100 at 2024-01-03</text>"),
            std::string::npos);
  // AAA: 20 -> 100, 30 -> 150; BBB: 50 -> 100, 25 -> 50, 75 -> 150.
  EXPECT_NE(doc.find(">AAA daily 150</text>"), std::string::npos) << doc;
  EXPECT_NE(doc.find(">BBB daily 150</text>"), std::string::npos);
  // Values 50..150 from y 516 up to 48; three slots of 295.33 px from x 10.
  EXPECT_NE(doc.find(R"(d="M157.67 282L453 48")"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"(d="M157.67 282L453 516L748.33 48")"), std::string::npos);
  EXPECT_NE(doc.find("range 2024-01-03..2024-01-05"), std::string::npos);
}

TEST(ChartRenderTest, SeriesWithNoCommonDateSaySo) {
  const std::vector<ChartSeries> s = {Series("A", {MakeBar("2024-01-02", 1, 1, 1, 1)}),
                                      Series("B", {MakeBar("2024-01-03", 1, 1, 1, 1)})};
  EXPECT_EQ(FirstCommonTs(s), std::nullopt);
  const std::string doc = RenderChart(s, ChartOptions{});
  EXPECT_NE(doc.find("no timestamp common to every series"), std::string::npos);
  EXPECT_TRUE(WellFormed(doc));
}

TEST(ChartRenderTest, MarksSplitsAndDividendsAndDrawsAdjustedPrices) {
  std::vector<Bar> bars = Rising(10);
  for (Bar& b : bars) {
    b.adjusted_close = b.close / 2;
    b.dividend = 0;
    b.split_coefficient = 1;
  }
  bars[3].dividend = 0.52;
  bars[6].split_coefficient = 4;
  const std::vector<ChartSeries> s = {Series("MSFT", bars, Function::kDailyAdjusted)};
  for (bool adjusted : {false, true}) {
    const std::string doc = RenderChart(s, ChartOptions{.adjusted = adjusted});
    EXPECT_TRUE(WellFormed(doc));
    EXPECT_EQ(CountClass(doc, "circle", "dividend"), 1u);
    EXPECT_EQ(CountClass(doc, "g", "split"), 1u);
    EXPECT_NE(doc.find("<title>dividend 0.52 on 2024-01-05</title>"), std::string::npos);
    EXPECT_NE(doc.find("<title>split 4:1 on 2024-01-10</title>"), std::string::npos);
    EXPECT_EQ(doc.find("adjusted prices") != std::string::npos, adjusted);
    // Every price halved with --adjusted.
    EXPECT_NE(doc.find(adjusted ? "<title>2024-01-02 open 49.75 high 50.5 low 49.5 close 50"
                                : "<title>2024-01-02 open 99.5 high 101 low 99 close 100"),
              std::string::npos);
  }
}

TEST(ChartRenderTest, MarksTheGapsTheHealthCheckFinds) {
  // 2024-01-05 (a Friday session) is missing.
  std::vector<Bar> bars;
  for (std::string ts : {"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-08", "2024-01-09"}) {
    bars.push_back(MakeBar(ts, 10, 11, 9, 10.5));
  }
  ChartSeries s = Series("IBM", bars);
  s.state.last_outcome = "stored";
  s.findings = CheckSeries(s.state, s.bars, FridayEvening());
  ASSERT_EQ(s.findings.size(), 1u);
  ASSERT_EQ(s.findings[0].kind, FindingKind::kGap);
  const std::string doc = RenderChart(std::span(&s, 1), ChartOptions{});
  EXPECT_TRUE(WellFormed(doc));
  EXPECT_EQ(CountClass(doc, "line", "gap"), 1u);
  // Between the third and fourth bars: x = 10 + 3 x 886 / 5.
  EXPECT_NE(doc.find(R"(<line class="gap" x1="541.6" x2="541.6")"), std::string::npos) << doc;
  EXPECT_NE(doc.find("<title>gap: " + s.findings[0].message + "</title>"), std::string::npos);
}

TEST(ChartRenderTest, EscapesATitleAndASymbol) {
  ChartSeries s = Series("AT&T", Rising(3));
  const std::string doc =
      RenderChart(std::span(&s, 1), ChartOptions{.source = "<sim>", .title = "\"<b>'x'</b>"});
  EXPECT_TRUE(WellFormed(doc)) << doc;
  EXPECT_NE(doc.find(">&quot;&lt;b&gt;&#39;x&#39;&lt;/b&gt;</text>"), std::string::npos);
  EXPECT_NE(doc.find("symbol AT&amp;T · "), std::string::npos);
  EXPECT_NE(doc.find("source &lt;sim&gt;</text>"), std::string::npos);
}

TEST(ChartRenderTest, LogScaleTicksAndNoBars) {
  std::vector<Bar> bars = {MakeBar("2024-01-02", 1, 1, 1, 1), MakeBar("2024-01-03", 1000, 1000, 1000, 1000)};
  ChartSeries s = Series("X", bars);
  const std::string doc = RenderChart(std::span(&s, 1), ChartOptions{.log_scale = true});
  for (std::string label : {">1<", ">10<", ">100<", ">1000<"}) {
    EXPECT_NE(doc.find("dy=\"0.32em\"" + label), std::string::npos) << label;
  }
  const std::string empty = RenderChart({}, ChartOptions{});
  EXPECT_TRUE(WellFormed(empty));
  EXPECT_NE(empty.find(">no bars</text>"), std::string::npos);
}

}  // namespace
}  // namespace mdfetch
