// What `query`, `export` and `list` write (issue 10): one set of column names (the database's)
// in every format, --from/--to with a time of day for intraday, JSON with ISO 8601 times and
// the zone, `list` within 100 columns, `export --all` naming what it left out, and --output
// that replaces only regular files. Exact output, virtual time, the simulator on loopback.
#include "cli_output.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "full_device.h"
#include "sim_fixture.h"

namespace mdfetch {
namespace {

using Json = nlohmann::json;

const SeriesKey kIbmAdjusted{"IBM", Function::kDailyAdjusted, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min"};
const SeriesKey kAaplRaw{"AAPL", Function::kIntraday, "5min", false, false};

class CliOutputTest : public SimStoreTest {
 protected:
  CliResult Cli(std::vector<std::string> args) {
    args.push_back("--db");
    args.push_back(db_);
    return RunCliCaptured(clock_, std::move(args));
  }
  void Refresh(const std::string& list) {
    StartSim();
    WriteSymbols(list);
    auto run = RunCliCaptured(clock_,
                              {"refresh", "--symbols", symbols_, "--db", db_, "--sim", "--base-url",
                               sim_->BaseUrl(), "--api-key", "K", "--rate", "unlimited"});
    ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  }
  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

TEST_F(CliOutputTest, EveryFormatNamesTheColumnsAsTheDatabaseDoes) {
  Refresh("IBM daily_adjusted\n");
  const Bar b = Served(kIbmAdjusted).back();
  auto csv =
      Cli({"query", "IBM", "--function", "daily_adjusted", "--last", "1", "--format", "csv"});
  ASSERT_EQ(csv.code, kExitOk) << csv.err;
  EXPECT_EQ(csv.out, fmt::format("ts,open,high,low,close,volume,adjusted_close,dividend,"
                                 "split_coefficient\r\n{},{},{},{},{},{},{},{},{}\r\n",
                                 b.ts, b.open, b.high, b.low, b.close, *b.volume, *b.adjusted_close,
                                 *b.dividend, *b.split_coefficient));
  auto exported = Cli({"export", "IBM", "--function", "daily_adjusted", "--from", "2026-11-20"});
  EXPECT_EQ(Lines(exported.out).front(),
            "symbol,ts,open,high,low,close,volume,adjusted_close,dividend,split_coefficient\r");
  auto table = Cli({"query", "IBM", "--function", "daily_adjusted", "--last", "1"});
  EXPECT_EQ(Lines(table.out).front(),
            "ts                          open         high          low        close         "
            "volume adjusted_close   dividend split_coefficient");
  auto json =
      Cli({"query", "IBM", "--function", "daily_adjusted", "--last", "1", "--format", "json"});
  auto doc = Json::parse(json.out);
  std::vector<std::string> keys;
  for (const auto& [key, value] : doc["bars"][0].items()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"adjusted_close", "close", "dividend", "high", "low", "open",
                                      "provisional", "split_coefficient", "ts", "volume"}));
}

TEST_F(CliOutputTest, JsonTimesAreIso8601WithTheOffsetOfTheSeriesZone) {
  Refresh("IBM\nAAPL intraday:5min\n");
  auto intraday = Cli({"query", "AAPL intraday:5min", "--last", "1", "--format", "json"});
  ASSERT_EQ(intraday.code, kExitOk) << intraday.err;
  const Bar last = Served(kAapl5).back();
  ASSERT_EQ(last.ts, "2026-11-20 19:55:00");
  auto doc = Json::parse(intraday.out);
  EXPECT_EQ(doc["time_zone"], "US/Eastern");
  EXPECT_EQ(doc["function"], "intraday");
  EXPECT_EQ(doc["interval"], "5min");
  EXPECT_EQ(doc["bars"][0]["ts"], "2026-11-20T19:55:00-05:00");
  EXPECT_EQ(doc["bars"][0]["volume"], static_cast<int64_t>(*last.volume));
  EXPECT_EQ(doc["bars"][0]["open"], last.open);
  auto daily = Json::parse(Cli({"query", "IBM", "--last", "1", "--format", "json"}).out);
  EXPECT_EQ(daily["bars"][0]["ts"], "2026-11-20");
  EXPECT_EQ(daily["time_zone"], "US/Eastern");
  EXPECT_EQ(daily["bars"][0]["provisional"], false);
}

TEST_F(CliOutputTest, FromLaterThanToIsAUsageErrorNamingBoth) {
  Refresh("IBM\n");
  auto run = Cli({"query", "IBM", "--from", "2026-11-20", "--to", "2026-11-18"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, "mdfetch: --from 2026-11-20 is later than --to 2026-11-18\n");
  EXPECT_EQ(run.out, "");
  auto exported = Cli({"export", "IBM", "--from", "2026-11-20", "--to", "2026-11-18"});
  EXPECT_EQ(exported.code, kExitUsage);
  EXPECT_EQ(exported.out, "");
  auto same_day = Cli({"query", "IBM", "--from", "2026-11-20", "--to", "2026-11-20"});
  EXPECT_EQ(same_day.code, kExitOk) << same_day.err;
}

TEST_F(CliOutputTest, AMalformedBoundNamesItsOption) {
  Refresh("IBM\n");
  auto month = Cli({"query", "IBM", "--to", "2026-13-01"});
  EXPECT_EQ(month.code, kExitUsage);
  EXPECT_EQ(month.err,
            "mdfetch: bad --to '2026-13-01': expected YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] for "
            "intraday\n");
  auto hour = Cli({"query", "AAPL intraday:5min", "--from", "2026-11-20T24:00"});
  EXPECT_EQ(hour.code, kExitUsage);
  EXPECT_EQ(hour.err,
            "mdfetch: bad --from '2026-11-20T24:00': expected YYYY-MM-DD, or "
            "YYYY-MM-DDTHH:MM[:SS] for intraday\n");
  auto daily = Cli({"query", "IBM", "--from", "2026-11-20T10:00"});
  EXPECT_EQ(daily.code, kExitUsage);
  EXPECT_EQ(daily.err,
            "mdfetch: bad --from '2026-11-20T10:00': a time of day applies to intraday series "
            "only\n");
}

TEST_F(CliOutputTest, IntradayBoundsTakeATimeOfDayInTheExchangeZone) {
  Refresh("AAPL intraday:5min\n");
  auto run = Cli({"query", "AAPL intraday:5min", "--from", "2026-11-20T15:30", "--to",
                  "2026-11-20 15:45:00", "--format", "csv"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  auto lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 5u) << run.out;
  EXPECT_TRUE(lines[1].starts_with("2026-11-20 15:30:00,")) << lines[1];
  EXPECT_TRUE(lines[4].starts_with("2026-11-20 15:45:00,")) << lines[4];
  // A date alone still means its whole day, from 04:00 to 19:55.
  auto day = Cli({"query", "AAPL intraday:5min", "--from", "2026-11-20", "--to", "2026-11-20",
                  "--format", "csv"});
  auto all = Lines(day.out);
  EXPECT_TRUE(all[1].starts_with("2026-11-20 04:00:00,")) << all[1];
  EXPECT_TRUE(all.back().starts_with("2026-11-20 19:55:00,")) << all.back();
  EXPECT_EQ(all.size(), 1u + 16 * 12);
}

TEST_F(CliOutputTest, ListFitsOneHundredColumnsAndGivesEveryFieldAsJsonOrCsv) {
  Refresh("IBM\nAAPL intraday:5min adjusted=false extended_hours=false\nEUR/USD fx_daily\n");
  auto table = Cli({"list"});
  ASSERT_EQ(table.code, kExitOk) << table.err;
  const auto raw = Served(kAaplRaw);
  const auto ibm = Served("IBM");
  for (const auto& line : Lines(table.out)) EXPECT_LE(line.size(), 100u) << line;
  const auto fx = Served(SeriesKey{"EUR/USD", Function::kFxDaily, ""});
  EXPECT_EQ(
      table.out,
      fmt::format("series                               bar_count first_ts         last_ts"
                  "          last_outcome\n"
                  "AAPL intraday:5min raw regular-hours {:>9} {} {} stored 2026-11-20\n"
                  "EUR/USD fx_daily                     {:>9} {}       {}       stored "
                  "2026-11-20\n"
                  "IBM                                  {:>9} {}       {}       stored "
                  "2026-11-20\n"
                  "raw: adjusted=false; regular-hours: extended_hours=false\n",
                  raw.size(), raw.front().ts.substr(0, 16), raw.back().ts.substr(0, 16), fx.size(),
                  fx.front().ts, fx.back().ts, ibm.size(), ibm.front().ts, ibm.back().ts));

  auto json = Json::parse(Cli({"list", "--format", "json"}).out);
  ASSERT_EQ(json["series"].size(), 3u);
  const Json* aapl = nullptr;
  for (const auto& s : json["series"]) {
    if (s["symbol"] == "AAPL") aapl = &s;
  }
  ASSERT_NE(aapl, nullptr);
  EXPECT_EQ((*aapl)["options"], "adjusted=false extended_hours=false");
  EXPECT_EQ((*aapl)["time_zone"], "US/Eastern");
  EXPECT_EQ((*aapl)["bar_count"], raw.size());
  EXPECT_EQ((*aapl)["last_ts"], "2026-11-20T15:55:00-05:00");
  EXPECT_EQ((*aapl)["last_attempt_at"], "2026-11-20T22:00:00Z");
  EXPECT_EQ((*aapl)["last_outcome"], "stored");
  EXPECT_EQ((*aapl)["history_limited"], false);

  auto csv = Lines(Cli({"list", "--format", "csv"}).out);
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0],
            "symbol,function,interval,options,time_zone,bar_count,first_ts,last_ts,"
            "provisional_ts,last_refreshed,history_limited,needs_full,deferred,last_attempt_at,"
            "last_success_at,last_outcome,last_error\r");
  EXPECT_NE(std::find(csv.begin(), csv.end(),
                      fmt::format("IBM,daily,,,US/Eastern,{},{},{},,{},false,false,false,"
                                  "2026-11-20T22:00:00Z,2026-11-20T22:00:00Z,stored,\r",
                                  ibm.size(), ibm.front().ts, ibm.back().ts, ibm.back().ts)),
            csv.end())
      << csv[1] << "\n"
      << csv[2] << "\n"
      << csv[3];
}

TEST_F(CliOutputTest, ExportAllSaysWhatItLeftOutAndTheCommandThatExportsIt) {
  Refresh("IBM\nMSFT\nIBM weekly\nAAPL intraday:5min adjusted=false\n");
  const std::string file = (dir_ / "bars.csv").string();
  auto run = Cli({"export", "--all", "--output", file});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  const std::string weekly_file = (dir_ / "bars.weekly.csv").string();
  const std::string intraday_file = (dir_ / "bars.intraday-5min-raw.csv").string();
  EXPECT_EQ(run.err,
            "mdfetch: export --all wrote 2 daily series; 2 other stored series are not in it (a "
            "CSV holds one kind), each kind exported by:\n"
            "  weekly (1 series): mdfetch export --all --db " +
                db_ + " --function weekly --output " + weekly_file +
                "\n"
                "  intraday:5min adjusted=false (1 series): mdfetch export --all --db " +
                db_ +
                " --function intraday --interval 5min --adjusted false --extended-hours true "
                "--output " +
                intraday_file + "\n");
  // The commands it names do what it says.
  auto weekly = Cli({"export", "--all", "--function", "weekly", "--output", weekly_file});
  ASSERT_EQ(weekly.code, kExitOk) << weekly.err;
  EXPECT_EQ(weekly.err,
            "mdfetch: export --all wrote 1 weekly series; 3 other stored series are "
            "not in it (a CSV holds one kind), each kind exported by:\n"
            "  daily (2 series): mdfetch export --all --db " +
                db_ + " --function daily --output " + (dir_ / "bars.weekly.daily.csv").string() +
                "\n  intraday:5min adjusted=false (1 series): mdfetch export --all "
                "--db " +
                db_ +
                " --function intraday --interval 5min --adjusted false "
                "--extended-hours true --output " +
                (dir_ / "bars.weekly.intraday-5min-raw.csv").string() + "\n");
  EXPECT_EQ(Lines(ReadFileBytes(weekly_file)).size(), 1 + Served("IBM", Function::kWeekly).size());
  auto intraday = Cli({"export", "--all", "--function", "intraday", "--interval", "5min",
                       "--adjusted", "false", "--extended-hours", "true"});
  ASSERT_EQ(intraday.code, kExitOk) << intraday.err;
  EXPECT_EQ(Lines(intraday.out).size(),
            1 + Served(SeriesKey{"AAPL", Function::kIntraday, "5min", false, true}).size());
}

TEST_F(CliOutputTest, ExportAllToStdoutNamesTheCommandWithItsRange) {
  Refresh("IBM\nIBM weekly\n");
  auto run = Cli({"export", "--all", "--from", "2026-11-02", "--final-only"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.err,
            "mdfetch: export --all wrote 1 daily series; 1 other stored series is not in "
            "it (a CSV holds one kind), each kind exported by:\n"
            "  weekly (1 series): mdfetch export --all --db " +
                db_ + " --function weekly --from 2026-11-02 --final-only\n");
  EXPECT_EQ(Lines(run.out).size(), 1u + 15);  // the header and 15 sessions of November
}

TEST_F(CliOutputTest, ExportToAFullDeviceFailsAndLeavesTheDevice) {
  const std::optional<std::string> full = FullDevice(dir_);
  if (!full) GTEST_SKIP() << "no full device here (as root: mknod refused)";
  Refresh("IBM\n");
  auto run = Cli({"export", "IBM", "--output", *full});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.err,
            "mdfetch: export failed: cannot write '" + *full + "': No space left on device\n");
  EXPECT_TRUE(std::filesystem::is_character_file(*full));
}

TEST_F(CliOutputTest, ExportThroughALinkReplacesItsTargetAndIntoAPipeWritesInPlace) {
  Refresh("IBM\n");
  const std::string expected = Cli({"export", "IBM"}).out;
  const std::string target = (dir_ / "target.csv").string();
  const std::string link = (dir_ / "link.csv").string();
  std::ofstream(target) << "old";
  std::filesystem::create_symlink(target, link);
  ASSERT_EQ(Cli({"export", "IBM", "--output", link}).code, kExitOk);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(ReadFileBytes(target), expected);

  const std::string fifo = (dir_ / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = ReadFileBytes(fifo); });
  auto run = Cli({"export", "IBM", "--output", fifo});
  reader.join();
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(received, expected);
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
}

TEST(CliOutputFormatTest, IsoTimestampsCarryTheOffsetInForceThatDay) {
  EXPECT_EQ(IsoTimestamp("2026-11-27 19:55:00", "US/Eastern"), "2026-11-27T19:55:00-05:00");
  EXPECT_EQ(IsoTimestamp("2026-07-02 09:30:00", "US/Eastern"), "2026-07-02T09:30:00-04:00");
  // The spring switch (2026-03-08 02:00 local): before it standard time, after it daylight.
  EXPECT_EQ(IsoTimestamp("2026-03-08 01:59:00", "America/New_York"), "2026-03-08T01:59:00-05:00");
  EXPECT_EQ(IsoTimestamp("2026-03-08 04:00:00", "America/New_York"), "2026-03-08T04:00:00-04:00");
  EXPECT_EQ(IsoTimestamp("2026-11-27 19:55:00", "UTC"), "2026-11-27T19:55:00+00:00");
  EXPECT_EQ(IsoTimestamp("2026-11-27 19:55:00", "Asia/Tokyo"), "2026-11-27T19:55:00");
  EXPECT_EQ(IsoTimestamp("2026-11-27", "US/Eastern"), "2026-11-27");
}

TEST(CliOutputFormatTest, BoundsCompareWithStoredTimestamps) {
  auto day = MakeBarFilter("2026-11-20", "2026-11-20", true);
  ASSERT_TRUE(day);
  EXPECT_EQ(day->from, "2026-11-20");
  EXPECT_EQ(day->to, "2026-11-20 23:59:59");
  auto times = MakeBarFilter("2026-11-20 09:30", "2026-11-20T16:00:30", true);
  ASSERT_TRUE(times);
  EXPECT_EQ(times->from, "2026-11-20 09:30:00");
  EXPECT_EQ(times->to, "2026-11-20 16:00:30");
  auto inverted = MakeBarFilter("2026-11-20T10:00", "2026-11-20T09:59:59", true);
  ASSERT_FALSE(inverted);
  EXPECT_EQ(inverted.error().message,
            "--from 2026-11-20T10:00 is later than --to 2026-11-20T09:59:59");
  for (const char* bad : {"2026-11-20T9:30", "2026-11-20T09:60", "2026-11-20X09:30", "20261120",
                          "2026-11-20T09:30:00Z"}) {
    EXPECT_FALSE(MakeBarFilter(bad, "", true)) << bad;
  }
}

}  // namespace
}  // namespace mdfetch
