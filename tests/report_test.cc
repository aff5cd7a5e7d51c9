// Running it every night (issue 10): the run report (--report), --quiet and --verbose, the
// progress line on a narrow terminal, and the exact messages of a run. The CLI in-process
// against the simulator on loopback, virtual time.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "full_device.h"
#include "sim_fixture.h"

namespace mdfetch {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "SECRETKEY4d2e9b";

class ReportTest : public SimStoreTest {
 protected:
  std::vector<std::string> Args(const std::string& command, std::vector<std::string> extra) {
    std::vector<std::string> args = {command, "--db", db_, "--sim", "--base-url", sim_->BaseUrl()};
    if (command == "refresh") args.insert(args.end(), {"--symbols", symbols_});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  CliResult Refresh(std::vector<std::string> extra) {
    return RunCliCaptured(clock_, Args("refresh", std::move(extra)),
                          {{"ALPHAVANTAGE_API_KEY", kKey}});
  }
  CliResult Fetch(std::vector<std::string> extra) {
    return RunCliCaptured(clock_, Args("fetch", std::move(extra)),
                          {{"ALPHAVANTAGE_API_KEY", kKey}});
  }
  Json ReadReport(const std::string& path) {
    const std::string text = ReadFileBytes(path);
    EXPECT_EQ(text.find(kKey), std::string::npos) << text;
    return Json::parse(text);
  }
  int64_t Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
  }
  std::string report_ = (std::filesystem::path(::testing::TempDir()) /
                         ("mdfetch_report_" + std::to_string(::getpid()) + ".json"))
                            .string();
  void TearDown() override {
    std::filesystem::remove(report_);
    SimStoreTest::TearDown();
  }
};

Json SeriesOf(const std::string& symbol, const std::string& function,
              const std::string& description) {
  return Json{{"symbol", symbol},          {"function", function}, {"interval", nullptr},
              {"market", nullptr},         {"adjusted", true},     {"extended_hours", true},
              {"description", description}};
}

TEST_F(ReportTest, TheReportOfAKnownRunHoldsEveryDocumentedFieldAndNeverTheKey) {
  StartSim();
  WriteSymbols("IBM\nIBM monthly\nBTC/EUR crypto_daily\nINVALIDX\nBAD$\n");
  auto run = Refresh({"--rate", "1/s", "--report", report_});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  const Json r = ReadReport(report_);
  EXPECT_EQ(r["report_version"], 1);
  EXPECT_EQ(r["mdfetch_version"], MDFETCH_VERSION);
  EXPECT_EQ(r["command"], "refresh");
  EXPECT_EQ(r["started_at"], "2026-11-20T22:00:00Z");
  EXPECT_EQ(r["ended_at"], "2026-11-20T22:00:03Z");  // four calls, one a second
  EXPECT_EQ(r["options"], (Json{{"db", db_},
                                {"symbols_file", symbols_},
                                {"symbols", nullptr},
                                {"rate", "1/s"},
                                {"concurrency", 4},
                                {"retries", 4},
                                {"force", false},
                                {"full", false},
                                {"sim", true},
                                {"months", Json::array()}}));
  ASSERT_EQ(r["series"].size(), 4u) << r.dump(2);
  const auto ibm = static_cast<int64_t>(Served("IBM").size());
  const auto monthly = static_cast<int64_t>(Served("IBM", Function::kMonthly).size());
  EXPECT_EQ(r["series"][0], (Json{{"series", SeriesOf("IBM", "daily", "IBM")},
                                  {"month", nullptr},
                                  {"status", "stored"},
                                  {"calls", 1},
                                  {"outputsize", "full"},
                                  {"bars", {{"new", ibm}, {"changed", 0}, {"unchanged", 0}}},
                                  {"history_limited", false},
                                  {"reason", nullptr}}));
  EXPECT_EQ(r["series"][1]["series"], SeriesOf("IBM", "monthly", "IBM monthly"));
  EXPECT_EQ(r["series"][1]["outputsize"], nullptr);  // monthly takes none
  EXPECT_EQ(r["series"][1]["bars"]["new"], monthly);
  Json crypto = SeriesOf("BTC/EUR", "crypto_daily", "BTC/EUR crypto_daily");
  crypto["market"] = "EUR";
  EXPECT_EQ(r["series"][2]["series"], crypto);
  EXPECT_EQ(r["series"][3]["status"], "failed");
  EXPECT_EQ(r["series"][3]["calls"], 1);
  EXPECT_EQ(r["series"][3]["outputsize"], "full");
  EXPECT_EQ(r["series"][3]["reason"].get<std::string>().rfind("unknown to the service: ", 0), 0u);
  EXPECT_EQ(r["invalid_lines"],
            Json::array({symbols_ + ":5: 'BAD$' is not a valid symbol (letters, digits, '.', "
                                    "'-' only)"}))
      << r["invalid_lines"];
  const int64_t crypto_bars = r["series"][2]["bars"]["new"];
  EXPECT_EQ(r["totals"], (Json{{"series", 4},
                               {"stored", 3},
                               {"up_to_date", 0},
                               {"failed", 1},
                               {"deferred", 0},
                               {"calls", 4},
                               {"retries", 0},
                               {"throttled", 0},
                               {"bars_new", ibm + monthly + crypto_bars},
                               {"bars_changed", 0}}));
  EXPECT_EQ(r["stop"], (Json{{"cause", "none"}, {"reason", nullptr}, {"detail", nullptr}}));
  EXPECT_EQ(r["exit_status"], kExitFailed);
  const std::vector<std::string> fields = {
      "report_version", "mdfetch_version", "command", "started_at", "ended_at",   "options",
      "series",         "invalid_lines",   "totals",  "stop",       "exit_status"};
  std::vector<std::string> keys;
  for (const auto& [key, value] : r.items()) keys.push_back(key);
  EXPECT_EQ(keys.size(), fields.size());

  // The next run the same evening: up to date, no call, and the file replaced whole.
  WriteSymbols("IBM\n");
  ASSERT_EQ(Refresh({"--report", report_}).code, kExitOk);
  const Json again = ReadReport(report_);
  EXPECT_EQ(again["series"][0]["status"], "up_to_date");
  EXPECT_EQ(again["series"][0]["calls"], 0);
  EXPECT_EQ(again["series"][0]["outputsize"], nullptr);
  EXPECT_EQ(again["exit_status"], kExitOk);
}

TEST_F(ReportTest, ARunStoppedByTheQuotaIsReportedWithItsStopAndExitStatus) {
  StartSim();
  WriteSymbols("IBM\nMSFT\nAAPL\n");
  auto run = Refresh({"--rate", "1000/min,1/day", "--concurrency", "1", "--report", report_});
  EXPECT_EQ(run.code, kExitQuota) << run.out << run.err;
  const Json r = ReadReport(report_);
  EXPECT_EQ(r["series"][0]["status"], "stored");
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(r["series"][i]["status"], "deferred");
    EXPECT_EQ(r["series"][i]["calls"], 0);
    EXPECT_EQ(r["series"][i]["reason"], "the daily quota is spent");
  }
  EXPECT_EQ(r["totals"]["deferred"], 2);
  EXPECT_EQ(r["totals"]["calls"], 1);
  EXPECT_EQ(r["stop"], (Json{{"cause", "quota"},
                             {"reason",
                              "daily quota of 1 call spent; next call allowed at "
                              "2026-11-21 22:00:00Z"},
                             {"detail", nullptr}}));
  EXPECT_EQ(r["exit_status"], kExitQuota);
  EXPECT_EQ(run.out,
            db_ +
                ": 3 series: 1 stored, 0 up to date, 0 failed, 2 deferred; 1 call (0 throttled, "
                "0 retried); " +
                std::to_string(Served("IBM").size()) +
                " bars added, 0 changed\n"
                "  deferred MSFT: the daily quota is spent\n"
                "  deferred AAPL: the daily quota is spent\n"
                "mdfetch: stopped: daily quota of 1 call spent; next call allowed at 2026-11-21 "
                "22:00:00Z\n"
                "(simulated data from the built-in simulator, not Alpha Vantage)\n");
}

TEST_F(ReportTest, ARunStoppedByAnOutageIsReportedToo) {
  WriteSymbols("IBM\nMSFT\n");
  auto run = RunCliCaptured(clock_,
                            {"refresh", "--symbols", symbols_, "--db", db_, "--sim", "--base-url",
                             "http://127.0.0.1:1", "--rate", "10/s", "--report", report_},
                            {{"ALPHAVANTAGE_API_KEY", kKey}});
  EXPECT_EQ(run.code, kExitUnreachable) << run.out << run.err;
  const Json r = ReadReport(report_);
  EXPECT_EQ(r["stop"]["cause"], "unreachable");
  EXPECT_EQ(r["stop"]["reason"],
            "cannot reach 127.0.0.1:1: connection refused or host unreachable");
  EXPECT_EQ(r["totals"]["deferred"], 2);
  EXPECT_EQ(r["totals"]["calls"], 0);
  EXPECT_EQ(r["series"][0]["reason"], "the service could not be reached");
  // No call left this machine: none is counted, and no outputsize is given for one.
  ASSERT_EQ(r["series"].size(), 2u);
  for (const Json& series : r["series"]) {
    EXPECT_EQ(series["calls"], 0) << series;
    EXPECT_EQ(series["outputsize"], nullptr) << series;
  }
  EXPECT_EQ(r["exit_status"], kExitUnreachable);
}

TEST_F(ReportTest, AReportOnStdoutIsTheOnlyThingThereAndTheSummaryGoesToStderr) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  auto run = Refresh({"--report", "-"});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  const Json r = Json::parse(run.out);
  EXPECT_EQ(r["series"][0]["status"], "stored");
  EXPECT_NE(run.err.find(db_ + ": 1 series: 1 stored"), std::string::npos) << run.err;

  auto fetch = Fetch({"MSFT weekly", "--report", "-"});
  EXPECT_EQ(fetch.code, kExitOk) << fetch.err;
  const Json f = Json::parse(fetch.out);
  EXPECT_EQ(f["command"], "fetch");
  EXPECT_EQ(f["options"]["symbols"], Json::array({"MSFT weekly"}));
  EXPECT_EQ(f["options"]["symbols_file"], nullptr);
  EXPECT_EQ(f["series"][0]["series"]["description"], "MSFT weekly");
}

TEST_F(ReportTest, AReportThatCannotBeWrittenIsAnError) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  const std::string nowhere = (dir_ / "no" / "report.json").string();
  auto missing = Refresh({"--report", nowhere});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_EQ(missing.err, "mdfetch: cannot write the report '" + nowhere + "': no folder '" +
                             (dir_ / "no").string() + "'\n");
  EXPECT_EQ(sim_->Stats().calls, 0);  // nothing fetched
  // A folder where the file should be: found only when the report is renamed into place.
  const std::string folder = (dir_ / "db").string();
  auto run = Refresh({"--report", folder});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.err, "mdfetch: cannot write the report '" + folder + "': is a directory\n");
  EXPECT_EQ(sim_->Stats().calls, 1);
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "db")) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  // A write that fails (a device that is always full): the run's calls are made, the report
  // is not, and the run says so (exit status 1 when the run itself went well).
  const std::optional<std::string> device = FullDevice(dir_);
  if (!device) GTEST_SKIP() << "no full device here (as root: mknod refused)";
  auto full = Refresh({"--force", "--report", *device});
  EXPECT_EQ(full.code, kExitFailed) << full.out;
  EXPECT_EQ(full.err,
            "mdfetch: cannot write the report '" + *device + "': No space left on device\n");
  EXPECT_TRUE(std::filesystem::is_character_file(*device));
  EXPECT_EQ(sim_->Stats().calls, 2);
}

TEST_F(ReportTest, ASymlinkedReportKeepsTheLinkAndReplacesItsTarget) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  const std::filesystem::path target = dir_ / "last-run.json";
  std::ofstream(target) << "old\n";
  std::filesystem::create_symlink(target, report_);
  ASSERT_EQ(Refresh({"--report", report_}).code, kExitOk);
  EXPECT_TRUE(std::filesystem::is_symlink(report_));
  EXPECT_EQ(std::filesystem::read_symlink(report_), target);
  EXPECT_EQ(ReadReport(target.string())["series"][0]["status"], "stored");
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(ReportTest, TextThatIsNotUtf8IsWrittenWithReplacementCharacters) {
  StartSim();
  // An argument as typed (`fetch IBM $'\xff'`): IBM is fetched, the other is an invalid line,
  // and the report still gets written, the byte replaced by U+FFFD.
  auto run = Fetch({"IBM monthly", "A\xff", "--report", report_});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  const Json r = ReadReport(report_);
  EXPECT_EQ(r["options"]["symbols"], Json::array({"IBM monthly", "A\xEF\xBF\xBD"}));
  EXPECT_EQ(r["series"][0]["status"], "stored");
  EXPECT_EQ(r["invalid_lines"].size(), 1u) << r["invalid_lines"];
  EXPECT_EQ(sim_->Stats().calls, 1);

  // A symbol list whose name is not UTF-8 (options.symbols_file, the invalid lines' prefix).
  const std::string list = (dir_ / "list\xfe.txt").string();
  std::ofstream(list) << "IBM monthly\nBAD$\n";
  auto refresh = RunCliCaptured(clock_,
                                {"refresh", "--symbols", list, "--db", db_, "--sim", "--base-url",
                                 sim_->BaseUrl(), "--report", report_},
                                {{"ALPHAVANTAGE_API_KEY", kKey}});
  EXPECT_EQ(refresh.code, kExitFailed) << refresh.out << refresh.err;
  const Json again = ReadReport(report_);
  const std::string replaced = (dir_ / "list\xEF\xBF\xBD.txt").string();
  EXPECT_EQ(again["options"]["symbols_file"], replaced);
  EXPECT_EQ(again["invalid_lines"],
            Json::array({replaced + ":2: 'BAD$' is not a valid symbol (letters, digits, '.', "
                                    "'-' only)"}));
}

TEST_F(ReportTest, QuietSaysNothingWhenAllIsWellAndOnlyTheProblemsOtherwise) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  auto fine = Refresh({"--quiet"});
  EXPECT_EQ(fine.code, kExitOk);
  EXPECT_EQ(fine.out, "");
  EXPECT_EQ(fine.err, "");
  auto again = Refresh({"--quiet"});  // up to date
  EXPECT_EQ(again.out + again.err, "");

  WriteSymbols("IBM monthly\nINVALIDQ\nMSFT\n");
  auto bad = Refresh({"--quiet", "--rate", "1000/min,2/day", "--concurrency", "1"});
  EXPECT_EQ(bad.code, kExitQuota);
  EXPECT_EQ(bad.err, "");
  EXPECT_EQ(bad.out,
            "mdfetch: failed INVALIDQ: unknown to the service: Invalid API call. Please retry or "
            "visit the documentation (https://www.alphavantage.co/documentation/) for "
            "TIME_SERIES_DAILY.\n"
            "mdfetch: deferred MSFT: the daily quota is spent\n"
            "mdfetch: stopped: daily quota of 2 calls spent; next call allowed at 2026-11-21 "
            "22:00:00Z\n");

  auto both = Refresh({"--quiet", "--verbose"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_EQ(both.err, "mdfetch: --quiet and --verbose exclude each other\n");
}

TEST_F(ReportTest, VerboseTellsEveryCallAndNeverTheKey) {
  SimOptions options;
  options.daily_limit = 1;
  StartSim(options);
  WriteSymbols("IBM\nIBM monthly\n");
  auto run = Refresh({"--verbose", "--rate", "1/s", "--concurrency", "1"});
  EXPECT_EQ(run.code, kExitQuota) << run.out << run.err;
  const int64_t bytes = Sql("SELECT bytes FROM fetches WHERE outcome = 'stored'");
  const int64_t refused = Sql("SELECT bytes FROM fetches WHERE outcome = 'daily_limit'");
  EXPECT_EQ(run.err,
            fmt::format("mdfetch: 2026-11-20T22:00:00Z IBM outputsize=full: stored, {} "
                        "bytes, 0 ms\n",
                        bytes) +
                fmt::format("mdfetch: 2026-11-20T22:00:01Z IBM monthly: daily_limit ({}), {} "
                            "bytes, 0 ms\n",
                            "We have detected your API key as *** and our standard API rate "
                            "limit is 1 requests per day. Please subscribe to any of the "
                            "premium plans at https://www.alphavantage.co/premium/ to instantly "
                            "remove all daily rate limits.",
                            refused))
      << run.err;
  EXPECT_EQ(run.err.find(kKey), std::string::npos);
}

TEST_F(ReportTest, TheProgressLineFitsANarrowTerminalAndIsClearedWhole) {
  StartSim();
  WriteSymbols("AAPL intraday:5min adjusted=false extended_hours=false\nIBM monthly\n");
  // stderr a terminal 60 columns wide.
  auto run = RunCliCaptured(clock_,
                            {"refresh", "--symbols", symbols_, "--db", db_, "--sim", "--base-url",
                             sim_->BaseUrl(), "--api-key", "K"},
                            {.err_is_terminal = true, .err_columns = 60});
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  const std::string warning =
      "mdfetch: other users of this machine can see --api-key in the process list; prefer "
      "--api-key-file or ALPHAVANTAGE_API_KEY\n";
  ASSERT_EQ(run.err.rfind(warning, 0), 0u) << run.err;
  // Every draw starts at the line's start, clears it, and stays within 59 columns; the last
  // clear leaves nothing behind.
  const std::string clear = "\r\x1b[K";
  std::string rest = run.err.substr(warning.size());
  ASSERT_GE(rest.size(), clear.size());
  EXPECT_EQ(rest.substr(rest.size() - clear.size()), clear);
  size_t draws = 0;
  for (size_t at = 0; at < rest.size();) {
    ASSERT_EQ(rest.compare(at, clear.size(), clear), 0) << rest;
    at += clear.size();
    const size_t next = std::min(rest.find(clear, at), rest.size());
    const std::string line = rest.substr(at, next - at);
    EXPECT_LE(line.size(), 59u) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    draws += line.empty() ? 0 : 1;
    at = next;
  }
  EXPECT_GE(draws, 4u);  // two calls and two settled series
  EXPECT_NE(
      rest.find(clear + "0/2 series, 1 call: AAPL intraday:5min adjusted=false exten" + clear),
      std::string::npos)
      << rest;
}

TEST_F(ReportTest, QuietDrawsNoProgressLineEvenOnATerminal) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  auto run = RunCliCaptured(
      clock_,
      {"refresh", "--quiet", "--symbols", symbols_, "--db", db_, "--sim", "--base-url",
       sim_->BaseUrl()},
      {.err_is_terminal = true, .err_columns = 80, .env = {{"ALPHAVANTAGE_API_KEY", kKey}}});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(sim_->Stats().calls, 1);
}

TEST_F(ReportTest, PluralsAreRightForOneOfEach) {
  SimOptions options;
  options.fail_first = {{"MSFT", 5}};
  StartSim(options);
  auto run = Fetch({"AAPL intraday:5min", "--month", "2026-10", "--rate", "unlimited"});
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  const int64_t bars = Sql("SELECT COUNT(*) FROM bars");
  EXPECT_EQ(run.out, fmt::format("{}: 1 month of 1 series: 1 stored, 0 up to date, 0 failed, 0 "
                                 "deferred; 1 call (0 throttled, 0 retried); {} bars added, 0 "
                                 "changed\n(simulated data from the built-in simulator, not "
                                 "Alpha Vantage)\n",
                                 db_, bars));
  auto failed = Fetch({"MSFT", "--retries", "0", "--rate", "unlimited"});
  EXPECT_EQ(failed.code, kExitFailed);
  EXPECT_NE(failed.out.find("; 1 call (0 throttled, 0 retried); 0 bars added, 0 changed\n"
                            "  failed MSFT: failed after 1 attempt: HTTP 503\n"),
            std::string::npos)
      << failed.out;
}

TEST_F(ReportTest, TheServicesDailyLimitTextIsShownOnceAndReferredToAfter) {
  SimOptions options;
  options.daily_limit = 1;
  StartSim(options);
  WriteSymbols("IBM\nMSFT\nAAPL\n");
  auto run = Refresh({"--rate", "unlimited", "--concurrency", "1", "--report", report_});
  EXPECT_EQ(run.code, kExitQuota) << run.out << run.err;
  const std::string text =
      "We have detected your API key as *** and our standard API rate limit is 1 requests per "
      "day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
      "to instantly remove all daily rate limits.";
  EXPECT_EQ(run.out, fmt::format("{}: 3 series: 1 stored, 0 up to date, 0 failed, 2 deferred; 2 "
                                 "calls (0 throttled, 0 retried); {} bars added, 0 changed\n"
                                 "  deferred MSFT: the daily quota is spent\n"
                                 "  deferred AAPL: the daily quota is spent\n"
                                 "mdfetch: the service said: {}\n"
                                 "mdfetch: stopped: the service's daily limit is reached (its "
                                 "answer above)\n"
                                 "(simulated data from the built-in simulator, not Alpha "
                                 "Vantage)\n",
                                 db_, Served("IBM").size(), text));
  const Json r = ReadReport(report_);
  EXPECT_EQ(r["stop"], (Json{{"cause", "quota"},
                             {"reason", "the service's daily limit is reached"},
                             {"detail", text}}));
}

TEST_F(ReportTest, AFullDiskEndsWithOneCleanMessage) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  ASSERT_EQ(Refresh({}).code, kExitOk);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TRIGGER full BEFORE INSERT ON bars BEGIN "
                         "SELECT RAISE(ABORT, 'database or disk is full'); END;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  WriteSymbols("IBM monthly\nIBM\nMSFT\nAAPL\n");
  auto run = Refresh({"--rate", "unlimited", "--concurrency", "1", "--report", report_});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_EQ(run.out, db_ +
                         ": 4 series: 0 stored, 1 up to date, 3 failed, 0 deferred; 1 call (0 "
                         "throttled, 0 retried); 0 bars added, 0 changed\n"
                         "  failed IBM: not stored: cannot write the store\n"
                         "  2 series not called (the run stopped)\n"
                         "mdfetch: stopped: cannot write the store: storing IBM failed: database "
                         "or disk is full\n"
                         "(simulated data from the built-in simulator, not Alpha Vantage)\n");
  EXPECT_EQ(ReadReport(report_)["stop"]["cause"], "error");
}

TEST_F(ReportTest, FullWithoutForceOnSeriesUpToDateSaysSoOnce) {
  StartSim();
  WriteSymbols("IBM\nIBM monthly\n");
  ASSERT_EQ(Refresh({"--rate", "unlimited"}).code, kExitOk);
  auto run = Refresh({"--full", "--rate", "unlimited"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_EQ(run.out, db_ +
                         ": 2 series: 0 stored, 2 up to date, 0 failed, 0 deferred; 0 calls (0 "
                         "throttled, 0 retried); 0 bars added, 0 changed\n"
                         "mdfetch: 2 series up to date; --full applies when they are next due, "
                         "or now with --force\n"
                         "(simulated data from the built-in simulator, not Alpha Vantage)\n");
  EXPECT_EQ(sim_->Stats().calls, 2);
}

}  // namespace
}  // namespace mdfetch
