// End to end against the simulator on loopback: the CLI in-process, a real Store in a temp
// folder, and virtual time (FakeClock) for pacing, so no test waits for a rate limit.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

class IntegrationTest : public SimStoreTest {
 protected:
  CliResult Refresh(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"refresh",    "--symbols",     symbols_, "--db",  db_,
                                     "--base-url", sim_->BaseUrl(), "--rate", "5/min", "--retries",
                                     "6",          "--sim"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCliCaptured(clock_, args, {{"ALPHAVANTAGE_API_KEY", "TESTKEY-0123456789"}});
  }

  CliResult Cli(std::vector<std::string> args) { return RunCliCaptured(clock_, args); }
};

TEST_F(IntegrationTest, RefreshStoresEveryValidSeriesBarForBar) {
  StartSim();
  WriteSymbols("IBM\nmsft\nBRK-B # class B\n\nINVALIDX\nBAD$\n");
  auto run = Refresh();
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  for (const char* s : {"IBM", "MSFT", "BRK-B"}) {
    auto stored = Stored(s);
    EXPECT_GT(stored.size(), 6000u);
    EXPECT_EQ(stored, Served(s)) << s;
  }
  EXPECT_NE(run.err.find(symbols_ + ":6: 'BAD$' is not a valid symbol"), std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("failed INVALIDX: unknown to the service: Invalid API call"),
            std::string::npos)
      << run.out;
  // INVALIDX: one call (the same call would get the same answer), then it is named.
  EXPECT_NE(run.out.find("4 series: 3 stored, 0 up to date, 1 failed, 0 deferred; 4 calls"),
            std::string::npos)
      << run.out;
  // The invalid line never reached the service.
  EXPECT_EQ(sim_->Stats().calls, 4);
  EXPECT_EQ(sim_->Stats().calls_by_symbol.count("BAD$"), 0u);
}

TEST_F(IntegrationTest, ABadLeaseTimeIsAUsageErrorBeforeTheStoreIsTouched) {
  StartSim();
  WriteSymbols("IBM\n");
  for (const char* bad : {"0", "-5", "ten", "90000", "5s"}) {
    auto run = RunCliCaptured(
        clock_,
        {"refresh", "--symbols", symbols_, "--db", db_, "--base-url", sim_->BaseUrl(), "--sim"},
        {{"ALPHAVANTAGE_API_KEY", "K"}, {"MDFETCH_LEASE_SECONDS", bad}});
    EXPECT_EQ(run.code, kExitUsage) << bad;
    EXPECT_EQ(run.err, fmt::format("mdfetch: MDFETCH_LEASE_SECONDS must be a whole number of "
                                   "seconds from 1 to 86400, not '{}'\n",
                                   bad));
    EXPECT_FALSE(std::filesystem::exists(db_)) << bad;
  }
  EXPECT_EQ(sim_->Stats().calls, 0);
  auto run = RunCliCaptured(
      clock_,
      {"refresh", "--symbols", symbols_, "--db", db_, "--base-url", sim_->BaseUrl(), "--sim"},
      {{"ALPHAVANTAGE_API_KEY", "K"}, {"MDFETCH_LEASE_SECONDS", "30"}});
  EXPECT_EQ(run.code, kExitOk) << run.err;
}

TEST_F(IntegrationTest, SecondRefreshTheSameDayMakesNoCallAndChangesNothing) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  ASSERT_EQ(Refresh().code, kExitOk);
  auto before = Cli({"export", "--all", "--db", db_});
  int64_t calls = sim_->Stats().calls;
  clock_.Advance(2h);
  auto second = Refresh();
  EXPECT_EQ(second.code, kExitOk) << second.out << second.err;
  EXPECT_EQ(sim_->Stats().calls, calls);
  EXPECT_NE(second.out.find("2 series: 0 stored, 2 up to date"), std::string::npos) << second.out;
  EXPECT_EQ(Cli({"export", "--all", "--db", db_}).out, before.out);
}

TEST_F(IntegrationTest, ForceFetchesEverySeriesAgain) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  ASSERT_EQ(Refresh().code, kExitOk);
  auto forced = Refresh({"--force"});
  EXPECT_EQ(forced.code, kExitOk);
  EXPECT_EQ(sim_->Stats().calls, 4);
  EXPECT_NE(forced.out.find("2 stored"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("0 bars added, 0 changed"), std::string::npos) << forced.out;
  EXPECT_EQ(Stored("IBM"), Served("IBM"));
}

TEST_F(IntegrationTest, QueryListAndExportReadBackWhatWasStored) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  ASSERT_EQ(Refresh().code, kExitOk);
  auto served = Served("IBM");

  auto csv = Cli({"query", "IBM", "--db", db_, "--last", "2", "--format", "csv"});
  ASSERT_EQ(csv.code, kExitOk) << csv.err;
  auto row = [](const Bar& b) {
    return fmt::format("{},{},{},{},{},{}\r\n", b.ts, b.open, b.high, b.low, b.close, *b.volume);
  };
  EXPECT_EQ(csv.out, "ts,open,high,low,close,volume\r\n" + row(served[served.size() - 2]) +
                         row(served.back()));

  auto ranged = Cli({"query", "--db", db_, "IBM", "--from", "2026-11-16", "--to", "2026-11-18",
                     "--format", "csv"});
  EXPECT_EQ(std::count(ranged.out.begin(), ranged.out.end(), '\n'), 4);

  auto json = Cli({"query", "IBM", "--db", db_, "--last", "1", "--format", "json"});
  EXPECT_NE(json.out.find("\"ts\":\"2026-11-20\""), std::string::npos) << json.out;

  auto exported = Cli({"export", "MSFT", "IBM", "--db", db_});
  ASSERT_EQ(exported.code, kExitOk);
  std::string expected = "symbol,ts,open,high,low,close,volume\r\n";
  for (const char* s : {"IBM", "MSFT"}) {
    for (const auto& b : Served(s)) expected += std::string(s) + "," + row(b);
  }
  EXPECT_EQ(exported.out, expected);

  std::string file = (dir_ / "out.csv").string();
  ASSERT_EQ(Cli({"export", "--all", "--db", db_, "--output", file}).code, kExitOk);
  EXPECT_EQ(ReadFileBytes(file), expected);

  auto list = Cli({"list", "--db", db_});
  EXPECT_NE(list.out.find(fmt::format("{:<6} {:>9} {} {} stored 2026-11-20\n", "IBM", served.size(),
                                      served.front().ts, served.back().ts)),
            std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find("stored"), std::string::npos);
}

TEST_F(IntegrationTest, QueryOfASymbolNotInTheStoreFails) {
  StartSim();
  WriteSymbols("IBM\n");
  ASSERT_EQ(Refresh().code, kExitOk);
  auto q = Cli({"query", "NOPE", "--db", db_});
  EXPECT_EQ(q.code, kExitFailed);
  EXPECT_EQ(q.err,
            "mdfetch: no bars for NOPE in " + db_ + " (fetch it first: mdfetch fetch NOPE)\n");
}

TEST_F(IntegrationTest, FetchTakesNamedSymbolsOnly) {
  StartSim();
  auto run =
      RunCliCaptured(clock_, {"fetch", "ibm", "BAD&X", "--db", db_, "--base-url", sim_->BaseUrl(),
                              "--api-key", "K", "--rate", "unlimited", "--sim"});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_NE(run.err.find("'BAD&X' is not a valid symbol"), std::string::npos) << run.err;
  EXPECT_EQ(Stored("IBM"), Served("IBM"));
  EXPECT_EQ(sim_->Stats().calls, 1);
}

TEST_F(IntegrationTest, FreeKeyGetsCompactAndTheSummarySaysTheHistoryIsLimited) {
  SimOptions options;
  options.free_key = true;
  StartSim(options);
  WriteSymbols("IBM\nMSFT\n");
  auto run = Refresh();
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  auto served = Served("IBM");
  EXPECT_EQ(Stored("IBM"), std::vector<Bar>(served.end() - 100, served.end()));
  EXPECT_NE(run.out.find("limited IBM: only the latest 100 bars"), std::string::npos) << run.out;
  EXPECT_EQ(sim_->Stats().premium, 1);  // full is asked once, then never again
}

TEST_F(IntegrationTest, UsageErrorsExit2AndNameTheProblem) {
  StartSim();
  auto missing = Cli({"refresh", "--symbols", "/nonexistent/list.txt", "--db", db_, "--api-key",
                      "K", "--base-url", sim_->BaseUrl()});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_EQ(missing.err,
            "mdfetch: cannot read symbol file '/nonexistent/list.txt': No such file or "
            "directory\n");
  WriteSymbols("IBM\n");
  auto rate = Cli(
      {"refresh", "--symbols", symbols_, "--db", db_, "--api-key", "K", "--rate", "5/fortnight"});
  EXPECT_EQ(rate.code, kExitUsage);
  EXPECT_NE(rate.err.find("bad --rate '5/fortnight'"), std::string::npos) << rate.err;
  auto db = Cli({"refresh", "--symbols", symbols_, "--db", "/proc/nope/x.db", "--api-key", "K"});
  EXPECT_EQ(db.code, kExitUsage);
  EXPECT_NE(db.err.find("/proc/nope/x.db"), std::string::npos) << db.err;
  auto range =
      Cli({"refresh", "--symbols", symbols_, "--db", db_, "--api-key", "K", "--concurrency", "0"});
  EXPECT_EQ(range.code, kExitUsage);
  EXPECT_NE(range.err.find("--concurrency"), std::string::npos) << range.err;
  auto nokey = Cli({"refresh", "--symbols", symbols_, "--db", db_});
  EXPECT_EQ(nokey.code, kExitUsage);
  EXPECT_NE(nokey.err.find("no API key"), std::string::npos);
  EXPECT_EQ(sim_->Stats().calls, 0);
}

TEST_F(IntegrationTest, SimulatedBarsNeverGoIntoARealStore) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  // Without --sim the store is a real one: the simulator's first answer stops the run.
  auto real = Cli({"refresh", "--symbols", symbols_, "--db", db_, "--api-key", "K", "--base-url",
                   sim_->BaseUrl(), "--rate", "unlimited", "--concurrency", "1"});
  EXPECT_EQ(real.code, kExitFailed);
  EXPECT_NE(real.out.find("the answer came from the mdfetch simulator: simulated bars never go "
                          "into a real store"),
            std::string::npos)
      << real.out;
  EXPECT_TRUE(Stored("IBM").empty());
  EXPECT_TRUE(Stored("MSFT").empty());
  EXPECT_EQ(sim_->Stats().calls, 1);
  // A store that holds simulated bars refuses real ones, and the other way round.
  ASSERT_EQ(Refresh().code, kExitOk);
  auto mixed = Cli({"refresh", "--symbols", symbols_, "--db", db_, "--api-key", "K"});
  EXPECT_EQ(mixed.code, kExitUsage);
  EXPECT_NE(mixed.err.find("holds simulated bars; real bars do not go into it"), std::string::npos)
      << mixed.err;
}

}  // namespace
}  // namespace mdfetch
