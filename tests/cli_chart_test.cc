// `mdfetch chart` end to end (issue 12): series fetched from the in-process simulator into a
// store on disk, drawn to a file or stdout, and every bad input refused with its exact message.
// Virtual time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "sim_fixture.h"
#include "svg_check.h"

namespace mdfetch {
namespace {

using test::CountClass;
using test::WellFormed;

class CliChartTest : public SimStoreTest {
 protected:
  CliResult Cli(std::vector<std::string> args) {
    return RunCliCaptured(clock_, std::move(args), {{"ALPHAVANTAGE_API_KEY", "K3Y"}});
  }
  // `fetch` from the running simulator into db_.
  void Fetch(std::vector<std::string> args) {
    args.insert(args.begin(), "fetch");
    for (std::string extra : {"--db", db_.c_str(), "--sim", "--base-url"}) args.push_back(extra);
    args.push_back(sim_->BaseUrl());
    auto fetched = Cli(std::move(args));
    ASSERT_EQ(fetched.code, kExitOk) << fetched.err;
  }
  // `chart ARGS... --db db_`.
  CliResult Chart(std::vector<std::string> args) {
    args.insert(args.begin(), "chart");
    args.push_back("--db");
    args.push_back(db_);
    return Cli(std::move(args));
  }
  static size_t InRange(const std::vector<Bar>& bars, const std::string& from,
                        const std::string& to) {
    return static_cast<size_t>(std::count_if(
        bars.begin(), bars.end(), [&](const Bar& b) { return b.ts >= from && b.ts <= to; }));
  }
};

TEST_F(CliChartTest, DrawsAWholeHistoryAsALineIntoAFile) {
  StartSim();
  Fetch({"IBM"});
  const std::vector<Bar> served = Served("IBM");
  const std::string out = (dir_ / "ibm.svg").string();
  auto chart = Chart({"IBM", "--output", out});
  ASSERT_EQ(chart.code, kExitOk) << chart.err;
  EXPECT_EQ(chart.out, "");
  EXPECT_EQ(chart.err, "");
  const std::string doc = ReadFileBytes(out);
  EXPECT_TRUE(WellFormed(doc));
  EXPECT_NE(doc.find(fmt::format(R"(data-mode="line" data-bars="{}")", served.size())),
            std::string::npos);
  EXPECT_NE(doc.find(fmt::format(">symbol IBM · function daily · time zone US/Eastern · range "
                                 "{}..{} ({} bars) · source simulator</text>",
                                 served.front().ts, served.back().ts, served.size())),
            std::string::npos)
      << doc.substr(0, 1500);
  EXPECT_EQ(CountClass(doc, "path", "close-line"), 1u);
  EXPECT_EQ(CountClass(doc, "path", "volume"), 1u);
}

TEST_F(CliChartTest, DrawsACandlePerBarInTheRangeOnStdout) {
  StartSim();
  Fetch({"IBM"});
  auto chart = Chart({"IBM", "--from", "2026-09-01", "--to", "2026-11-19", "--size", "1200x600",
                      "--title", "IBM & co"});
  ASSERT_EQ(chart.code, kExitOk) << chart.err;
  const size_t bars = InRange(Served("IBM"), "2026-09-01", "2026-11-19");
  EXPECT_EQ(bars, 57u);  // the sessions of those dates (2026-09-07 was Labor Day)
  EXPECT_TRUE(WellFormed(chart.out));
  EXPECT_EQ(CountClass(chart.out, "path", "candle"), bars);
  EXPECT_NE(chart.out.find(R"(width="1200" height="600")"), std::string::npos);
  EXPECT_NE(chart.out.find(">IBM &amp; co</text>"), std::string::npos);
  EXPECT_NE(chart.out.find("range 2026-09-01..2026-11-19 (57 bars)"), std::string::npos);
}

TEST_F(CliChartTest, ComparesSeveralSeriesNormalisedTo100) {
  StartSim();
  Fetch({"IBM", "MSFT"});
  Fetch({"AAPL", "--function", "weekly"});
  auto chart = Chart({"IBM", "MSFT", "AAPL weekly", "--from", "2026-01-01", "--log"});
  ASSERT_EQ(chart.code, kExitOk) << chart.err;
  EXPECT_TRUE(WellFormed(chart.out));
  EXPECT_EQ(CountClass(chart.out, "path", "series-line"), 3u);
  // The first week's bar of 2026 (keyed by its last session, Friday 2026-01-02) is the first
  // date all three have.
  EXPECT_NE(chart.out.find(">IBM daily, MSFT daily, AAPL weekly: normalised to 100 at "
                           "2026-01-02</text>"),
            std::string::npos)
      << chart.out.substr(0, 1500);
}

// The simulator's PEP pays a quarterly dividend and splits 3:1 on 2004-04-14, 2:1 on 2010-06-14
// and 2:1 on 2020-06-11.
TEST_F(CliChartTest, MarksDividendsAndSplitsOfAnAdjustedSeries) {
  StartSim();
  Fetch({"PEP daily_adjusted"});
  const std::vector<Bar> served = Served(SeriesKey{"PEP", Function::kDailyAdjusted, ""});
  const auto dividends = std::count_if(served.begin(), served.end(),
                                       [](const Bar& b) { return b.dividend.value_or(0) > 0; });
  const auto splits = std::count_if(served.begin(), served.end(), [](const Bar& b) {
    return b.split_coefficient.value_or(1) != 1;
  });
  ASSERT_GT(dividends, 80);
  ASSERT_EQ(splits, 3);
  auto chart = Chart({"pep daily_adjusted", "--adjusted"});
  ASSERT_EQ(chart.code, kExitOk) << chart.err;
  EXPECT_EQ(CountClass(chart.out, "circle", "dividend"), static_cast<size_t>(dividends));
  EXPECT_EQ(CountClass(chart.out, "g", "split"), static_cast<size_t>(splits));
  EXPECT_NE(chart.out.find("<title>split 3:1 on 2004-04-14</title>"), std::string::npos);
  EXPECT_NE(chart.out.find(">PEP daily_adjusted</text>"), std::string::npos);
  EXPECT_NE(chart.out.find(" · adjusted prices · source simulator</text>"), std::string::npos);
}

TEST_F(CliChartTest, MarksAGapInTheStore) {
  // A store written by hand with the session of 2026-11-18 missing.
  std::vector<Bar> served = Served("IBM");
  served.erase(std::find_if(served.begin(), served.end(),
                            [](const Bar& b) { return b.ts == "2026-11-18"; }));
  {
    auto store = Store::Open(db_, OpenMode::kReadWrite);
    ASSERT_TRUE(store);
    SeriesState state{.key = SeriesKey{"IBM", Function::kDaily, ""},
                      .time_zone = "US/Eastern",
                      .last_refreshed = "2026-11-20",
                      .last_success_at = FridayEvening(),
                      .last_outcome = "stored"};
    ASSERT_TRUE((*store)->ImportSeries(state));
    ASSERT_TRUE((*store)->ImportBars(state.key, served));
    ASSERT_TRUE((*store)->SetFact("origin", "alphavantage"));
  }
  auto chart = Chart({"IBM", "--from", "2026-11-01"});
  ASSERT_EQ(chart.code, kExitOk) << chart.err;
  EXPECT_EQ(CountClass(chart.out, "line", "gap"), 1u);
  EXPECT_NE(chart.out.find("<title>gap: missing session 2026-11-18</title>"), std::string::npos)
      << chart.out;
  EXPECT_NE(chart.out.find("source Alpha Vantage</text>"), std::string::npos);
}

TEST_F(CliChartTest, RefusesEveryBadInputWithAnExactMessage) {
  StartSim();
  Fetch({"IBM"});
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string err;
  };
  const std::string size_help =
      "expected WIDTHxHEIGHT in pixels, e.g. 960x540 (width 200-10000, height 150-10000)";
  const std::vector<Case> cases = {
      {{"NOPE"}, kExitFailed,
       fmt::format("no bars for NOPE in {} (fetch it first: mdfetch fetch NOPE)", db_)},
      {{"IBM", "--function", "weekly"}, kExitFailed,
       fmt::format("no IBM weekly in {}; stored for IBM: daily (mdfetch chart IBM --function "
                   "daily --db {})",
                   db_, db_)},
      {{"IBM", "--from", "2030-01-01"}, kExitFailed,
       fmt::format("no bars of IBM daily in {} from 2030-01-01 (its bars run {}..{})", db_,
                   Served("IBM").front().ts, Served("IBM").back().ts)},
      {{"IBM", "--from", "2026-11-20", "--to", "2026-11-18"}, kExitUsage,
       "--from 2026-11-20 is later than --to 2026-11-18"},
      {{"IBM", "--from", "2026-11-20T10:00"}, kExitUsage,
       "bad --from '2026-11-20T10:00': a time of day applies to intraday series only"},
      {{"IBM", "--size", "12x"}, kExitUsage, "bad --size '12x': " + size_help},
      {{"IBM", "--size", "960"}, kExitUsage, "bad --size '960': " + size_help},
      {{"IBM", "--size", "100x100"}, kExitUsage, "bad --size '100x100': " + size_help},
      {{"IBM", "--size", "960x540x2"}, kExitUsage, "bad --size '960x540x2': " + size_help},
      {{"IBM", "--adjusted"}, kExitUsage,
       "--adjusted: IBM daily has no adjusted closes (daily_adjusted, weekly_adjusted and "
       "monthly_adjusted series have)"},
      {{"IBM", "--extended-hours", "false"}, kExitUsage,
       "--extended-hours applies to intraday series only, not to daily"},
      {{"IBM", "--output", dir_.string()}, kExitUsage,
       fmt::format("cannot write '{}': is a directory", dir_.string())},
  };
  for (const Case& c : cases) {
    auto chart = Chart(c.args);
    EXPECT_EQ(chart.code, c.code) << c.args[0] << " " << chart.err;
    EXPECT_EQ(chart.err, "mdfetch: " + c.err + "\n");
    EXPECT_EQ(chart.out, "");
  }
}

TEST_F(CliChartTest, HelpNamesEveryOption) {
  auto help = Cli({"help", "chart"});
  ASSERT_EQ(help.code, kExitOk);
  for (std::string option : {"--db", "--from", "--to", "--output", "--adjusted", "--log",
                             "--size", "--title", "--function", "--interval",
                             "--extended-hours"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace mdfetch
