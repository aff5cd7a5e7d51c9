// Intraday end to end against the simulator: the adjusted= and extended_hours= switches as
// separate series, and `fetch --month` backfills (issue 4).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

const SeriesKey kAapl{"AAPL", Function::kIntraday, "5min"};
const SeriesKey kAaplRawRegular{"AAPL", Function::kIntraday, "5min", false, false};

class IntradayTest : public SimStoreTest {
 protected:
  std::vector<std::string> Common() {
    return {"--db", db_,      "--base-url", sim_->BaseUrl(), "--api-key",
            "K",    "--rate", "unlimited",  "--sim"};
  }
  CliResult Refresh(const std::string& list) {
    WriteSymbols(list);
    std::vector<std::string> args = {"refresh", "--symbols", symbols_};
    for (auto& a : Common()) args.push_back(a);
    return RunCliCaptured(clock_, args);
  }
  CliResult Fetch(std::vector<std::string> args) {
    args.insert(args.begin(), "fetch");
    for (auto& a : Common()) args.push_back(a);
    return RunCliCaptured(clock_, args);
  }
  std::optional<SeriesState> State(const SeriesKey& key) {
    auto store = Store::Open(db_, OpenMode::kReadOnly);
    if (!store) return std::nullopt;
    auto state = (*store)->Find(key);
    return state ? *state : std::nullopt;
  }
  static std::vector<Bar> Months(const SeriesKey& key, std::initializer_list<const char*> months) {
    std::vector<Bar> bars;
    for (const char* month : months) {
      auto part = Simulator::History(key, kLastSession, month);
      bars.insert(bars.end(), part.begin(), part.end());
    }
    return bars;
  }
};

TEST_F(IntradayTest, SwitchesAreSentAndStoredAsSeparateSeries) {
  StartSim();
  auto run =
      Refresh("AAPL intraday:5min\nAAPL intraday:5min adjusted=false extended_hours=false\n");
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(sim_->Stats().calls, 2);
  auto adjusted = Stored(kAapl);
  auto raw = Stored(kAaplRawRegular);
  EXPECT_EQ(adjusted, Served(kAapl));
  EXPECT_EQ(raw, Served(kAaplRawRegular));
  ASSERT_FALSE(raw.empty());
  // Regular hours only: 09:30 to 15:55.
  for (const Bar& bar : raw) {
    ASSERT_GE(bar.ts.substr(11), "09:30:00") << bar.ts;
    ASSERT_LE(bar.ts.substr(11), "15:55:00") << bar.ts;
  }
  EXPECT_GT(adjusted.size(), raw.size());

  // Both are listed, named the way the symbol list writes them.
  auto list = RunCliCaptured(clock_, {"list", "--db", db_});
  EXPECT_NE(list.out.find("AAPL intraday:5min raw regular-hours"), std::string::npos) << list.out;

  // Read back by the line's own words, or by options.
  auto by_line = RunCliCaptured(clock_, {"query",
                                         "AAPL intraday:5min adjusted=false "
                                         "extended_hours=false",
                                         "--db", db_, "--last", "1", "--format", "csv"});
  auto by_options =
      RunCliCaptured(clock_, {"query", "AAPL", "--db", db_, "--function", "intraday", "--interval",
                              "5min", "--adjusted", "false", "--extended-hours", "false", "--last",
                              "1", "--format", "csv"});
  ASSERT_EQ(by_line.code, kExitOk) << by_line.err;
  const Bar& last = raw.back();
  const std::string want =
      fmt::format("ts,open,high,low,close,volume\r\n{},{},{},{},{},{}\r\n", last.ts, last.open,
                  last.high, last.low, last.close, *last.volume);
  EXPECT_EQ(by_line.out, want);
  EXPECT_EQ(by_options.out, want);

  // One CSV cannot mix them; narrowed by a switch it can.
  auto mixed = RunCliCaptured(clock_, {"export", "--all", "--db", db_, "--function", "intraday"});
  EXPECT_EQ(mixed.code, kExitUsage);
  EXPECT_NE(mixed.err.find("several kinds (5min, 5min adjusted=false extended_hours=false)"),
            std::string::npos)
      << mixed.err;
  auto one = RunCliCaptured(
      clock_, {"export", "--all", "--db", db_, "--function", "intraday", "--adjusted", "false"});
  ASSERT_EQ(one.code, kExitOk) << one.err;
  EXPECT_EQ(static_cast<size_t>(std::count(one.out.begin(), one.out.end(), '\n')), raw.size() + 1);
}

TEST_F(IntradayTest, MonthsAreBackfilledWholeAndNotFetchedAgain) {
  StartSim();
  auto run = Fetch({"AAPL", "--function", "intraday", "--month", "2026-08..2026-09"});
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(sim_->Stats().calls, 2);
  auto months = Months(kAapl, {"2026-08", "2026-09"});
  ASSERT_FALSE(months.empty());
  EXPECT_EQ(months.front().ts, "2026-08-03 04:00:00");  // August 1 was a Saturday
  EXPECT_EQ(Stored(kAapl), months);
  EXPECT_NE(run.out.find("2 stored"), std::string::npos) << run.out;
  // A backfill does not make the series fresh.
  EXPECT_FALSE(State(kAapl)->last_success_at.has_value());

  // Both months ended before they were stored: nothing to fetch, however often it is asked.
  auto again = Fetch({"AAPL intraday:5min", "--month", "2026-09", "--month", "2026-08"});
  EXPECT_EQ(again.code, kExitOk) << again.out;
  EXPECT_EQ(sim_->Stats().calls, 2);
  EXPECT_NE(again.out.find("2 up to date"), std::string::npos) << again.out;
  auto forced = Fetch({"AAPL intraday:5min", "--month", "2026-09", "--force"});
  EXPECT_EQ(forced.code, kExitOk);
  EXPECT_EQ(sim_->Stats().calls, 3);
  EXPECT_NE(forced.out.find("0 bars added, 0 changed"), std::string::npos) << forced.out;

  // The next refresh still fetches the newest bars, beside the backfilled ones.
  ASSERT_EQ(Refresh("AAPL intraday:5min\n").code, kExitOk);
  EXPECT_EQ(sim_->Stats().calls, 4);
  auto all = months;
  auto latest = Served(kAapl);
  all.insert(all.end(), latest.begin(), latest.end());
  EXPECT_EQ(Stored(kAapl), all);
}

TEST_F(IntradayTest, TheMonthInProgressIsDueAgainAfterItsNextBar) {
  StartSim();
  ASSERT_EQ(Fetch({"AAPL intraday:5min", "--month", "2026-11"}).code, kExitOk);
  EXPECT_EQ(Stored(kAapl), Months(kAapl, {"2026-11"}));
  EXPECT_EQ(Stored(kAapl).back().ts, "2026-11-20 19:55:00");
  // Friday 17:03 New York: the 17:00 interval has not ended, no bar can be new.
  clock_.Advance(3min);
  ASSERT_EQ(Fetch({"AAPL intraday:5min", "--month", "2026-11"}).code, kExitOk);
  EXPECT_EQ(sim_->Stats().calls, 1);
  clock_.Advance(72h);  // Monday evening
  ASSERT_EQ(Fetch({"AAPL intraday:5min", "--month", "2026-11"}).code, kExitOk);
  EXPECT_EQ(sim_->Stats().calls, 2);
}

TEST_F(IntradayTest, AMonthThatFullRefusesFailsWithoutACompactCall) {
  SimOptions options;
  options.full_refused_symbols = {"AAPL"};
  StartSim(options);
  auto run = Fetch({"AAPL intraday:5min", "--month", "2026-09"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(sim_->Stats().calls, 1);
  EXPECT_NE(run.out.find("failed AAPL intraday:5min month=2026-09: "), std::string::npos)
      << run.out;
  EXPECT_TRUE(Stored(kAapl).empty());
}

TEST_F(IntradayTest, BadMonthsAreUsageErrorsAndSpendNothing) {
  StartSim();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"AAPL intraday:5min", "--month", "2024-13"},
       "mdfetch: bad --month '2024-13': expected YYYY-MM or YYYY-MM..YYYY-MM\n"},
      {{"AAPL intraday:5min", "--month", "2024-06..2024-01"},
       "mdfetch: --month 2024-06..2024-01 runs backwards\n"},
      {{"AAPL intraday:5min", "--month", "1999-12"},
       "mdfetch: --month 1999-12: intraday history starts at 2000-01\n"},
      {{"AAPL intraday:5min", "--month", "2026-10..2026-12"},
       "mdfetch: --month 2026-10..2026-12: 2026-12 has not begun\n"},
      {{"IBM", "--month", "2026-10"},
       "mdfetch: --month backfills intraday series; IBM is not one (name it like \"IBM "
       "intraday:5min\", or pass --function intraday)\n"},
  };
  for (const auto& c : cases) {
    auto run = Fetch(c.args);
    EXPECT_EQ(run.code, kExitUsage) << c.args[2];
    EXPECT_EQ(run.err, c.message);
  }
  EXPECT_EQ(sim_->Stats().calls, 0);
}

}  // namespace
}  // namespace mdfetch
