// The command line as a whole (issue 10): the command table's --version, help and the
// suggestion for a mistyped command; `plan` (no call) and `check` on a store filled from the
// simulator. Exact output, virtual time.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

class CliTest : public SimStoreTest {
 protected:
  CliResult Cli(std::vector<std::string> args) {
    return RunCliCaptured(clock_, std::move(args), {{"ALPHAVANTAGE_API_KEY", "K3Y"}});
  }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
};

TEST_F(CliTest, VersionComesFromTheProject) {
  auto run = Cli({"--version"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_EQ(run.out, std::string("mdfetch ") + MDFETCH_VERSION + "\n");
}

TEST_F(CliTest, AMistypedCommandIsNamedWithTheClosestOne) {
  auto run = Cli({"refrsh"});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, "mdfetch: unknown command 'refrsh'; did you mean 'refresh'?\n");
  EXPECT_EQ(run.out, "");
  auto far = Cli({"xyzzy"});
  EXPECT_EQ(far.code, kExitUsage);
  EXPECT_EQ(far.err,
            "mdfetch: unknown command 'xyzzy' (commands: refresh, plan, fetch, query, export, "
            "chart, check, list, quota, info, remove, vacuum, copy, serve, sim, help)\n");
}

TEST_F(CliTest, HelpNamesACommandsOptions) {
  auto run = Cli({"help", "export"});
  EXPECT_EQ(run.code, kExitOk);
  EXPECT_NE(run.out.find("Usage: mdfetch export"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("--final-only"), std::string::npos) << run.out;
  auto bad = Cli({"help", "exprt"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(bad.err, "mdfetch: help: unknown command 'exprt'\n");
}

TEST_F(CliTest, PlanCountsTheCallsFitsThemToTheQuotaAndTimesThemWithNoCall) {
  WriteSymbols("IBM\nMSFT\nIBM monthly\n");
  auto run = Cli({"plan", "--symbols", symbols_, "--db", db_, "--rate", "5/min,2/day"});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out,
            "series       plan              when        why\n"
            "IBM          full              this run    not stored yet\n"
            "MSFT         full              this run    not stored yet\n"
            "IBM monthly  call              2026-11-21  not stored yet\n" +
                db_ +
                ": 3 series: 3 calls (0 compact, 2 full), 0 settled without a call\n"
                "quota 2/day: 0 spent in the last 24 h, 2 left: 2 in this run, the rest "
                "deferred: 1 on 2026-11-21\n"
                "at 5/min,2/day the 2 calls of this run take 12 s (one every 12 s)\n");
  EXPECT_FALSE(std::filesystem::exists(db_));  // planning wrote nothing
}

TEST_F(CliTest, PlanAfterARefreshSaysWhatIsUpToDateAndRefreshDryRunIsTheSame) {
  StartSim();
  WriteSymbols("IBM\n");
  ASSERT_EQ(
      Cli({"refresh", "--symbols", symbols_, "--db", db_, "--sim", "--base-url", sim_->BaseUrl()})
          .code,
      kExitOk);
  auto plan = Cli({"plan", "--symbols", symbols_, "--db", db_, "--rate", "5/min,25/day"});
  EXPECT_NE(plan.out.find("IBM     up to date        -           fetched 2026-11-20 22:00:00Z"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("quota 25/day: 1 spent in the last 24 h, 24 left: nothing to spend\n"),
            std::string::npos)
      << plan.out;
  auto dry =
      Cli({"refresh", "--dry-run", "--symbols", symbols_, "--db", db_, "--rate", "5/min,25/day"});
  EXPECT_EQ(dry.out, plan.out);
  // The JSON plan too, with the symbol lines that name no series, each said with mdfetch:.
  WriteSymbols("IBM\nbad$\n");
  auto json_plan = Cli({"plan", "--symbols", symbols_, "--db", db_, "--format", "json"});
  auto json_dry =
      Cli({"refresh", "--dry-run", "--symbols", symbols_, "--db", db_, "--format", "json"});
  EXPECT_EQ(json_plan.code, kExitFailed);
  EXPECT_EQ(json_dry.code, kExitFailed);
  EXPECT_EQ(json_dry.out, json_plan.out);
  EXPECT_EQ(json_dry.err, json_plan.err);
  EXPECT_TRUE(json_plan.err.starts_with("mdfetch: " + symbols_ + ":2: 'bad$' is not a valid"))
      << json_plan.err;
  auto doc = nlohmann::json::parse(json_plan.out);
  EXPECT_EQ(doc["at"], "2026-11-20T22:00:00Z");
  ASSERT_EQ(doc["invalid_lines"].size(), 1u);
  EXPECT_TRUE(doc["invalid_lines"][0].get<std::string>().starts_with(symbols_ + ":2: 'bad$'"));
  EXPECT_EQ(doc["series"][0]["series"], "IBM");
  // --format belongs to the plan: a run refuses it rather than ignore it.
  auto run_format = Cli({"refresh", "--symbols", symbols_, "--db", db_, "--format", "json"});
  EXPECT_EQ(run_format.code, kExitUsage);
  EXPECT_EQ(run_format.err,
            "mdfetch: --format is the format of --dry-run's plan; a run prints no table\n");
  EXPECT_EQ(sim_->Stats().calls, 1);
}

TEST_F(CliTest, CheckFindsADeletedBarAHighBelowLowAndAMissingMonthByDate) {
  StartSim();
  WriteSymbols("IBM\nIBM monthly\n");
  ASSERT_EQ(Cli({"refresh", "--symbols", symbols_, "--db", db_, "--sim", "--base-url",
                 sim_->BaseUrl(), "--rate", "unlimited"})
                .code,
            kExitOk);
  auto clean = Cli({"check", "--db", db_});
  EXPECT_EQ(clean.code, kExitOk) << clean.out;
  EXPECT_EQ(clean.out, db_ + ": 2 series checked: nothing found\n");
  Sql("DELETE FROM bars WHERE ts = '2024-03-05' AND series_id = (SELECT id FROM series WHERE "
      "function = 'daily'); "
      "UPDATE bars SET high = low - 1 WHERE ts = '2024-06-03' AND series_id = (SELECT id FROM "
      "series WHERE function = 'daily'); "
      "DELETE FROM bars WHERE ts = '2023-05-31' AND series_id = (SELECT id FROM series WHERE "
      "function = 'monthly');");
  auto run = Cli({"check", "--db", db_});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_NE(run.out.find("IBM: gap: missing session 2024-03-05\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("IBM: ohlc: 2024-06-03: high "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("IBM monthly: gap: missing month 2023-05\n"), std::string::npos)
      << run.out;
  // With no series named, --function narrows what is checked (never ignored).
  auto monthly = Cli({"check", "--function", "monthly", "--db", db_});
  EXPECT_EQ(monthly.code, kExitFailed);
  EXPECT_NE(monthly.out.find("IBM monthly: gap: missing month 2023-05\n"), std::string::npos)
      << monthly.out;
  EXPECT_EQ(monthly.out.find("IBM: "), std::string::npos) << monthly.out;
  EXPECT_NE(monthly.out.find(": 1 series checked"), std::string::npos) << monthly.out;
  auto missing = Cli({"check", "IBM", "NOPE", "GONE", "--db", db_});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_EQ(missing.err, "mdfetch: no bars for NOPE, GONE in " + db_ +
                             " (fetch them first: mdfetch fetch NOPE GONE)\n");
}

TEST_F(CliTest, AKeyFileReadableByOthersIsRefusedAndAPrivateOneIsUsed) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  const std::string key_file = (dir_ / "key").string();
  std::ofstream(key_file) << "  FILEKEY123  \n";
  std::filesystem::permissions(key_file, std::filesystem::perms(0644));
  const std::vector<std::string> args = {
      "refresh", "--symbols",  symbols_,        "--db",           db_,
      "--sim",   "--base-url", sim_->BaseUrl(), "--api-key-file", key_file};
  auto open = RunCliCaptured(clock_, args);
  EXPECT_EQ(open.code, kExitUsage);
  EXPECT_EQ(open.err, "mdfetch: --api-key-file '" + key_file +
                          "' is readable by other users; make it private: chmod 600 " + key_file +
                          "\n");
  // plan says it too, rather than leave it to the night's run.
  auto plan = RunCliCaptured(
      clock_, {"plan", "--symbols", symbols_, "--db", db_, "--api-key-file", key_file});
  EXPECT_EQ(plan.code, kExitUsage);
  EXPECT_EQ(plan.err, open.err);
  std::filesystem::permissions(key_file, std::filesystem::perms(0600));
  auto run = RunCliCaptured(clock_, args);
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_EQ(run.out.find("FILEKEY123"), std::string::npos);
  EXPECT_EQ(run.err.find("FILEKEY123"), std::string::npos);
  EXPECT_EQ(sim_->Stats().calls, 1);
}

TEST_F(CliTest, AnEmptyKeyFileOrAFolderIsNamedForWhatItIs) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  const std::string key_file = (dir_ / "key").string();
  std::ofstream(key_file) << "";
  std::filesystem::permissions(key_file, std::filesystem::perms(0600));
  const std::string folder = (dir_ / "keys").string();
  std::filesystem::create_directory(folder);
  std::filesystem::permissions(folder, std::filesystem::perms(0700));
  for (const auto& [file, why] :
       {std::pair{key_file, "'" + key_file + "' holds no key"},
        std::pair{folder, "cannot read --api-key-file '" + folder + "': it is a folder"}}) {
    std::string expected = why;
    if (expected.starts_with("'")) expected = "--api-key-file " + expected;
    auto run = RunCliCaptured(clock_, {"refresh", "--symbols", symbols_, "--db", db_, "--sim",
                                       "--base-url", sim_->BaseUrl(), "--api-key-file", file});
    EXPECT_EQ(run.code, kExitUsage) << file;
    EXPECT_EQ(run.err, "mdfetch: " + expected + "\n");
  }
  EXPECT_EQ(sim_->Stats().calls, 0);
}

TEST_F(CliTest, ASymbolListWithNoSeriesIsAUsageError) {
  WriteSymbols("# nothing here yet\n\n");
  for (const char* command : {"refresh", "plan"}) {
    auto run = Cli({command, "--symbols", symbols_, "--db", db_, "--sim"});
    EXPECT_EQ(run.code, kExitUsage) << command;
    EXPECT_EQ(run.err, "mdfetch: symbol file '" + symbols_ +
                           "' names no series (only blank lines and comments)\n")
        << command;
  }
}

TEST_F(CliTest, AKeyOnTheCommandLineWorksButSaysOthersCanSeeIt) {
  StartSim();
  WriteSymbols("IBM monthly\n");
  auto run = RunCliCaptured(clock_, {"refresh", "--symbols", symbols_, "--db", db_, "--sim",
                                     "--base-url", sim_->BaseUrl(), "--api-key", "CLIKEY"});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_NE(run.err.find("mdfetch: other users of this machine can see --api-key in the process "
                         "list"),
            std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace mdfetch
