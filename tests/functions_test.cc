// Every supported function end to end: the simulator serves it with the service's shape, a
// refresh stores it, and query/export read it back (issue 4).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

class FunctionsTest : public SimStoreTest {
 protected:
  CliResult Refresh(const std::string& list, std::vector<std::string> extra = {}) {
    std::ofstream(symbols_) << list;
    std::vector<std::string> args = {"refresh", "--symbols",  symbols_,        "--db",
                                     db_,       "--base-url", sim_->BaseUrl(), "--api-key",
                                     "K",       "--rate",     "unlimited",     "--sim"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCliCaptured(clock_, args);
  }
  std::optional<SeriesState> State(const SeriesKey& key) {
    auto store = Store::Open(db_, OpenMode::kReadOnly);
    auto state = (*store)->Find(key);
    return state ? *state : std::nullopt;
  }
};

struct Case {
  std::string line;
  SeriesKey key;
  std::string time_zone;
};

TEST_F(FunctionsTest, EveryFunctionIsStoredBarForBarWithItsZone) {
  SimOptions options;
  options.clock = &clock_;  // crypto runs to the clock's UTC day: kLastSession's, as served below
  StartSim(options);
  const std::vector<Case> cases = {
      {"IBM", {"IBM", Function::kDaily, ""}, "US/Eastern"},
      {"IBM daily_adjusted", {"IBM", Function::kDailyAdjusted, ""}, "US/Eastern"},
      {"IBM weekly", {"IBM", Function::kWeekly, ""}, "US/Eastern"},
      {"IBM weekly_adjusted", {"IBM", Function::kWeeklyAdjusted, ""}, "US/Eastern"},
      {"IBM monthly", {"IBM", Function::kMonthly, ""}, "US/Eastern"},
      {"IBM monthly_adjusted", {"IBM", Function::kMonthlyAdjusted, ""}, "US/Eastern"},
      {"AAPL intraday:5min", {"AAPL", Function::kIntraday, "5min"}, "US/Eastern"},
      {"EUR/USD fx_daily", {"EUR/USD", Function::kFxDaily, ""}, "UTC"},
      {"BTC/EUR crypto_daily", {"BTC/EUR", Function::kCryptoDaily, ""}, "UTC"},
  };
  std::string list;
  for (const auto& c : cases) list += c.line + "\n";
  auto run = Refresh(list);
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(sim_->Stats().calls, static_cast<int64_t>(cases.size()));
  for (const auto& c : cases) {
    auto served = Simulator::History(c.key, kLastSession);
    ASSERT_FALSE(served.empty()) << c.line;
    EXPECT_EQ(Stored(c.key), served) << c.line;
    auto state = State(c.key);
    ASSERT_TRUE(state) << c.line;
    EXPECT_EQ(state->time_zone, c.time_zone) << c.line;
  }
  // The same symbol under several functions is several series.
  auto list_out = RunCliCaptured(clock_, {"list", "--db", db_});
  EXPECT_EQ(std::count(list_out.out.begin(), list_out.out.end(), '\n'), 1 + 9);
}

TEST_F(FunctionsTest, AdjustedSeriesExportTheAdjustedColumns) {
  StartSim();
  ASSERT_EQ(Refresh("IBM daily_adjusted\nMSFT weekly_adjusted\n").code, kExitOk);
  auto daily = RunCliCaptured(clock_, {"export", "IBM", "--db", db_, "--function", "daily_adjusted",
                                       "--from", "2026-11-20"});
  ASSERT_EQ(daily.code, kExitOk) << daily.err;
  auto bar = Simulator::History({"IBM", Function::kDailyAdjusted, ""}, kLastSession).back();
  EXPECT_EQ(daily.out, fmt::format("symbol,ts,open,high,low,close,volume,adjusted_close,"
                                   "dividend,split_coefficient\r\n"
                                   "IBM,2026-11-20,{},{},{},{},{},{},{},{}\r\n",
                                   bar.open, bar.high, bar.low, bar.close, *bar.volume,
                                   *bar.adjusted_close, *bar.dividend, *bar.split_coefficient));
  // Weekly adjusted has no split coefficient: the column is there, empty.
  auto weekly = RunCliCaptured(clock_, {"query", "MSFT", "--db", db_, "--function",
                                        "weekly_adjusted", "--last", "1", "--format", "csv"});
  auto w = Simulator::History({"MSFT", Function::kWeeklyAdjusted, ""}, kLastSession).back();
  EXPECT_EQ(weekly.out, fmt::format("ts,open,high,low,close,volume,adjusted_close,"
                                    "dividend,split_coefficient\r\n"
                                    "{},{},{},{},{},{},{},{},\r\n",
                                    w.ts, w.open, w.high, w.low, w.close, *w.volume,
                                    *w.adjusted_close, *w.dividend));
}

TEST_F(FunctionsTest, IntradayKeepsTheExchangeLocalTimestamps) {
  StartSim();
  ASSERT_EQ(Refresh("AAPL intraday:15min\n").code, kExitOk);
  auto q = RunCliCaptured(clock_, {"query", "AAPL", "--db", db_, "--function", "intraday",
                                   "--interval", "15min", "--last", "1", "--format", "csv"});
  ASSERT_EQ(q.code, kExitOk) << q.err;
  auto served = Simulator::History({"AAPL", Function::kIntraday, "15min"}, kLastSession);
  EXPECT_NE(q.out.find(served.back().ts + ","), std::string::npos) << q.out;
  EXPECT_EQ(served.back().ts.substr(0, 10), "2026-11-20");  // a New York wall-clock time
}

TEST_F(FunctionsTest, FxHasNoVolume) {
  StartSim();
  ASSERT_EQ(Refresh("EUR/USD fx_daily\n").code, kExitOk);
  auto q = RunCliCaptured(clock_, {"query", "EUR/USD", "--db", db_, "--function", "fx_daily",
                                   "--last", "1", "--format", "csv"});
  auto b = Simulator::History({"EUR/USD", Function::kFxDaily, ""}, kLastSession).back();
  EXPECT_FALSE(b.volume);
  EXPECT_EQ(q.out, fmt::format("ts,open,high,low,close,volume\r\n{},{},{},{},{},\r\n", b.ts, b.open,
                               b.high, b.low, b.close));
}

// Only the premium answer makes `full` fall back to compact: an `Error Message` would come
// again for compact too (the service's own QA refusals of deep history are a thing of the
// past, ALPHAVANTAGE.md §7.3), so the series is unknown to the service, and remembered.
TEST_F(FunctionsTest, ErrorMessageForFullCostsOneCallAndIsRemembered) {
  SimOptions options;
  options.full_refused_symbols = {"TSCO.LON"};
  StartSim(options);
  auto run = Refresh("TSCO.LON\nIBM\n");
  EXPECT_EQ(run.code, kExitFailed) << run.out;
  EXPECT_EQ(sim_->Stats().calls_by_symbol["TSCO.LON"], 1);
  EXPECT_TRUE(Stored(SeriesKey{"TSCO.LON", Function::kDaily, ""}).empty());
  EXPECT_NE(run.out.find("  failed TSCO.LON: unknown to the service: Invalid API call."),
            std::string::npos)
      << run.out;
  clock_.Advance(72h);  // Monday evening: IBM is due again, TSCO.LON is still unknown
  auto again = Refresh("TSCO.LON\nIBM\n");
  EXPECT_EQ(sim_->Stats().calls_by_symbol["TSCO.LON"], 1);
  EXPECT_EQ(sim_->Stats().calls_by_symbol["IBM"], 2);
  EXPECT_NE(again.out.find("  failed TSCO.LON: unknown to the service since 2026-11-20; not "
                           "called, --force tries again\n"),
            std::string::npos)
      << again.out;
}

TEST_F(FunctionsTest, PremiumFunctionIsReportedOnceAndNeverRetried) {
  SimOptions options;
  options.premium_functions = {Function::kDailyAdjusted};
  StartSim(options);
  auto run = Refresh("IBM daily_adjusted\nMSFT daily_adjusted\nIBM\n", {"--concurrency", "1"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(sim_->Stats().premium, 1);
  EXPECT_NE(run.out.find("failed MSFT daily_adjusted: daily_adjusted is premium-only for this "
                         "key"),
            std::string::npos)
      << run.out;
  // The next run spends no call on it.
  clock_.Advance(1h);
  auto again = Refresh("IBM daily_adjusted\n");
  EXPECT_EQ(sim_->Stats().premium, 1);
  EXPECT_EQ(again.code, kExitFailed);
  EXPECT_NE(again.out.find("not called, --force tries again"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace mdfetch
