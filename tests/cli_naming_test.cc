// One way to name a series, for every command (issue 10): --function as the symbol list
// writes it, any case; options that apply to no series refused; a series found by what the
// user types (BTC/EUR as `list` prints it), and when it is not stored, what is and how to read
// it; the demo's database pointed at; `--symbols -`. Exact messages, virtual time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

class CliNamingTest : public SimStoreTest {
 protected:
  CliResult Cli(std::vector<std::string> args) {
    return RunCliCaptured(clock_, std::move(args), {{"ALPHAVANTAGE_API_KEY", "K3Y"}});
  }
  // `fetch` (or `refresh`) from the running simulator into db_.
  CliResult FromSim(std::vector<std::string> args) {
    for (std::string extra : {"--db", db_.c_str(), "--sim", "--base-url"}) args.push_back(extra);
    args.push_back(sim_->BaseUrl());
    return Cli(std::move(args));
  }
  // The CLI with `input` on stdin, and no environment.
  CliResult WithStdin(const std::string& input, std::vector<std::string> args) {
    return RunCliCaptured(clock_, std::move(args), {.stdin_text = input});
  }
  // Crypto runs to the clock's UTC day: kLastSession's, as Served() has it.
  void StartSimOnTheClock() {
    SimOptions options;
    options.clock = &clock_;
    StartSim(options);
  }
  static SeriesKey Intraday(const std::string& symbol, bool adjusted, bool extended_hours) {
    return SeriesKey{symbol, Function::kIntraday, "5min", adjusted, extended_hours};
  }
};

TEST_F(CliNamingTest, FetchTakesTheFunctionAsTheSymbolListWritesItInAnyCase) {
  StartSimOnTheClock();
  auto colon = FromSim({"fetch", "AAPL", "--function", "intraday:5min"});
  ASSERT_EQ(colon.code, kExitOk) << colon.err;
  EXPECT_EQ(Stored(Intraday("AAPL", true, true)), Served(Intraday("AAPL", true, true)));
  auto upper = FromSim({"fetch", "MSFT", "--function", "INTRADAY:5MIN", "--adjusted", "False",
                        "--extended-hours", "FALSE"});
  ASSERT_EQ(upper.code, kExitOk) << upper.err;
  EXPECT_EQ(Stored(Intraday("MSFT", false, false)), Served(Intraday("MSFT", false, false)));
  auto crypto = FromSim({"fetch", "btc/eur", "--function", "digital_currency_daily"});
  ASSERT_EQ(crypto.code, kExitOk) << crypto.err;
  EXPECT_EQ(Stored("BTC/EUR", Function::kCryptoDaily), Served("BTC/EUR", Function::kCryptoDaily));
  EXPECT_EQ(sim_->Stats().calls, 3);
  // An interval that agrees with the function's is no contradiction.
  auto same = Cli({"fetch", "AAPL", "--function", "intraday:5min", "--interval", "5MIN",
                   "--dry-run", "--db", db_});
  EXPECT_EQ(same.code, kExitOk) << same.err;
}

// The name `list` prints for a series with its switches off is a name every command reads.
TEST_F(CliNamingTest, TheNameListPrintsForARawRegularHoursSeriesIsReadBack) {
  StartSimOnTheClock();
  ASSERT_EQ(FromSim({"fetch", "MSFT", "--function", "intraday:5min", "--adjusted", "false",
                     "--extended-hours", "false"})
                .code,
            kExitOk);
  auto list = Cli({"list", "--db", db_});
  EXPECT_NE(list.out.find("\nMSFT intraday:5min raw regular-hours "), std::string::npos)
      << list.out;
  const std::string name = "MSFT intraday:5min raw regular-hours";
  auto typed = Cli({"query", name, "--db", db_, "--last", "3", "--format", "csv"});
  auto spelled = Cli({"query", "MSFT", "--function", "intraday:5min", "--adjusted", "false",
                      "--extended-hours", "false", "--db", db_, "--last", "3", "--format", "csv"});
  ASSERT_EQ(typed.code, kExitOk) << typed.err;
  EXPECT_EQ(typed.out, spelled.out);
  EXPECT_EQ(Cli({"check", name, "--db", db_}).code, kExitOk);
  auto removed = Cli({"remove", name, "--yes", "--db", db_});
  EXPECT_EQ(removed.code, kExitOk) << removed.err;
  EXPECT_EQ(Cli({"list", "--db", db_, "--format", "csv"}).out.find("MSFT"), std::string::npos);
}

// Every option that would choose nothing is named, and nothing is fetched or opened.
TEST_F(CliNamingTest, AnOptionThatAppliesToNoSeriesIsAUsageError) {
  WriteSymbols("IBM\nIBM monthly\n");
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"fetch", "IBM", "--interval", "5min"},
       "--interval applies to --function intraday only, not to daily"},
      {{"refresh", "--symbols", symbols_, "--function", "weekly", "--interval", "5min"},
       "--interval applies to --function intraday only, not to weekly"},
      {{"fetch", "AAPL", "--function", "intraday:5min", "--interval", "15min"},
       "--interval 15min contradicts --function intraday:5min"},
      {{"fetch", "IBM", "--adjusted", "false"},
       "--adjusted applies to intraday series only, not to daily"},
      {{"refresh", "--symbols", symbols_, "--extended-hours", "false", "--adjusted", "true"},
       "--adjusted and --extended-hours apply to intraday series only, not to daily, monthly"},
      {{"query", "IBM", "--adjusted", "false"},
       "--adjusted applies to intraday series only, not to daily"},
      {{"check", "IBM", "--function", "weekly", "--extended-hours", "true"},
       "--extended-hours applies to intraday series only, not to weekly"},
      {{"export", "--all", "--function", "monthly", "--adjusted", "false"},
       "--adjusted applies to intraday series only, not to monthly"},
      {{"query", "IBM", "--interval", "5min"},
       "--interval applies to --function intraday only, not to daily"},
      {{"fetch", "IBM", "--adjusted", "maybe"},
       "--adjusted: bad value 'maybe' (expected true or false)"},
      {{"fetch", "IBM", "--function", "intraday", "--interval", "2min"},
       "--interval: unknown interval '2min' (expected 1min, 5min, 15min, 30min or 60min)"},
      {{"query", "IBM", "--function", "dayly"},
       "--function: unknown function 'dayly' (expected daily, daily_adjusted, weekly, "
       "weekly_adjusted, monthly, monthly_adjusted, intraday:INTERVAL, fx_daily, crypto_daily)"},
      {{"plan", "--symbols", symbols_, "--function", "daily:5min"},
       "--function: daily takes no interval"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--db", db_});
    auto run = Cli(args);
    EXPECT_EQ(run.code, kExitUsage) << c.err;
    EXPECT_EQ(run.err, "mdfetch: " + c.err + "\n");
  }
  // Given twice, an option is refused by the parser, naming it.
  auto twice = Cli({"query", "AAPL", "--function", "intraday", "--interval", "5min", "--interval",
                    "15min", "--db", db_});
  EXPECT_EQ(twice.code, kExitUsage);
  EXPECT_EQ(twice.err.substr(0, twice.err.find('\n')),
            "mdfetch: --interval: At Most 1 required but received 2");
  EXPECT_FALSE(std::filesystem::exists(db_));
}

// --adjusted goes to the intraday lines of a mixed list, and to none of the others.
TEST_F(CliNamingTest, ASwitchAppliesToTheIntradayLinesOfAMixedList) {
  WriteSymbols("IBM\nAAPL intraday:5min\nMSFT intraday:1min adjusted=true\n");
  auto run =
      Cli({"plan", "--symbols", symbols_, "--db", db_, "--adjusted", "FALSE", "--rate", "5/min"});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_NE(run.out.find("\nIBM "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nAAPL intraday:5min adjusted=false "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\nMSFT intraday:1min "), std::string::npos) << run.out;
}

TEST_F(CliNamingTest, QueryFindsAPairAsListPrintsIt) {
  StartSimOnTheClock();
  WriteSymbols("BTC/EUR crypto_daily\nEUR/USD fx_daily\n");
  ASSERT_EQ(FromSim({"refresh", "--symbols", symbols_}).code, kExitOk);
  auto list = Cli({"list", "--db", db_});
  EXPECT_NE(list.out.find("\nBTC/EUR crypto_daily       350 "), std::string::npos) << list.out;

  auto typed = Cli({"query", "BTC/EUR", "--db", db_, "--last", "2", "--format", "csv"});
  auto named = Cli({"query", "BTC/EUR", "--db", db_, "--last", "2", "--format", "csv", "--function",
                    "crypto_daily"});
  ASSERT_EQ(typed.code, kExitOk) << typed.err;
  EXPECT_EQ(typed.out, named.out);
  auto fx = Cli({"query", "eur/usd", "--db", db_, "--last", "1", "--format", "csv"});
  ASSERT_EQ(fx.code, kExitOk) << fx.err;
  const Bar last = Served("EUR/USD", Function::kFxDaily).back();
  EXPECT_EQ(fx.out, fmt::format("ts,open,high,low,close,volume\r\n{},{},{},{},{},\r\n", last.ts,
                                last.open, last.high, last.low, last.close));
  auto exported = Cli({"export", "BTC/EUR", "--db", db_});
  EXPECT_EQ(exported.code, kExitOk) << exported.err;
  EXPECT_EQ(exported.out.find("BTC/EUR,"), exported.out.find("\r\n") + 2) << exported.out;

  auto other = Cli({"query", "BTC/EUR", "--db", db_, "--function", "fx_daily"});
  EXPECT_EQ(other.code, kExitFailed);
  EXPECT_EQ(other.err, "mdfetch: no BTC/EUR fx_daily in " + db_ +
                           "; stored for BTC/EUR: crypto_daily (mdfetch query BTC/EUR --function "
                           "crypto_daily --db " +
                           db_ + ")\n");
  auto none = Cli({"query", "ETH/USD", "--db", db_});
  EXPECT_EQ(none.code, kExitFailed);
  EXPECT_EQ(none.err, "mdfetch: no bars for ETH/USD in " + db_ +
                          " (fetch it first: mdfetch fetch \"ETH/USD fx_daily\" or mdfetch fetch "
                          "\"ETH/USD crypto_daily\")\n");
  EXPECT_EQ(sim_->Stats().calls, 2);
}

// The advice is what is stored, not a call spent on the wrong series.
TEST_F(CliNamingTest, QueryOfAFunctionNotStoredNamesWhatIsAndTheCommandToReadIt) {
  StartSim();
  WriteSymbols("NVDA monthly\n");
  ASSERT_EQ(FromSim({"refresh", "--symbols", symbols_}).code, kExitOk);
  auto run = Cli({"query", "NVDA", "--db", db_});
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.err, "mdfetch: no NVDA daily in " + db_ +
                         "; stored for NVDA: monthly (mdfetch query NVDA --function monthly --db " +
                         db_ + ")\n");
  EXPECT_EQ(run.out, "");
  auto advised = Cli({"query", "NVDA", "--function", "monthly", "--db", db_, "--last", "1"});
  EXPECT_EQ(advised.code, kExitOk) << advised.err;

  ASSERT_EQ(FromSim({"fetch", "NVDA intraday:5min adjusted=false"}).code, kExitOk);
  auto two = Cli({"query", "NVDA", "--function", "weekly", "--db", db_});
  EXPECT_EQ(two.err, "mdfetch: no NVDA weekly in " + db_ +
                         "; stored for NVDA: intraday:5min adjusted=false (mdfetch query NVDA "
                         "--function intraday:5min --adjusted false --db " +
                         db_ + "), monthly (mdfetch query NVDA --function monthly --db " + db_ +
                         ")\n");
  auto by_advice = Cli({"query", "NVDA", "--function", "intraday:5min", "--adjusted", "false",
                        "--db", db_, "--last", "1"});
  EXPECT_EQ(by_advice.code, kExitOk) << by_advice.err;
  EXPECT_EQ(sim_->Stats().calls, 2);
}

TEST_F(CliNamingTest, EveryMissingSymbolIsNamedInOneMessage) {
  StartSim();
  WriteSymbols("IBM\nNVDA monthly\n");
  ASSERT_EQ(FromSim({"refresh", "--symbols", symbols_, "--rate", "unlimited"}).code, kExitOk);
  auto nothing = Cli({"export", "IBM", "NOPE", "ZZZ", "--db", db_});
  EXPECT_EQ(nothing.code, kExitFailed);
  EXPECT_EQ(nothing.err, "mdfetch: no bars for NOPE, ZZZ in " + db_ +
                             " (fetch them first: mdfetch fetch NOPE ZZZ)\n");
  EXPECT_EQ(nothing.out, "");
  auto mixed = Cli({"export", "NOPE", "IBM", "NVDA", "--db", db_});
  EXPECT_EQ(mixed.err, "mdfetch: no NVDA daily in " + db_ +
                           "; stored for NVDA: monthly (mdfetch export NVDA --function monthly "
                           "--db " +
                           db_ + "); no bars for NOPE in " + db_ +
                           " (fetch it first: mdfetch fetch NOPE)\n");
  auto check = Cli({"check", "IBM", "NVDA", "--db", db_});
  EXPECT_EQ(check.code, kExitUsage);
  EXPECT_EQ(check.err, "mdfetch: no NVDA daily in " + db_ +
                           "; stored for NVDA: monthly (mdfetch check NVDA --function monthly "
                           "--db " +
                           db_ + ")\n");
  auto intraday = Cli({"check", "IBM", "NOPE", "GONE intraday:5min", "--db", db_});
  EXPECT_EQ(intraday.code, kExitUsage);
  EXPECT_EQ(intraday.err, "mdfetch: no bars for NOPE, GONE intraday:5min in " + db_ +
                              " (fetch them first: mdfetch fetch NOPE 'GONE intraday:5min')\n");
}

// After the demo only data/demo.db exists: every read command says where the bars went.
TEST_F(CliNamingTest, AMissingDefaultDatabasePointsAtTheDemos) {
  StartSim();
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  struct Back {
    std::filesystem::path to;
    ~Back() { std::filesystem::current_path(to); }
  } back{cwd};
  const std::vector<std::vector<std::string>> reads = {
      {"list"}, {"query", "IBM"}, {"export", "IBM"}, {"check"}, {"quota"}};
  for (const auto& args : reads) {
    auto run = RunCliCaptured(clock_, args);
    EXPECT_EQ(run.err, "mdfetch: no database at 'data/market.db'\n") << args[0];
  }
  WriteSymbols("IBM monthly\n");
  ASSERT_EQ(Cli({"refresh", "--symbols", symbols_, "--sim", "--base-url", sim_->BaseUrl()}).code,
            kExitOk);
  ASSERT_TRUE(std::filesystem::exists("data/demo.db"));
  for (const auto& args : reads) {
    auto run = RunCliCaptured(clock_, args);
    EXPECT_EQ(run.code, kExitUsage) << args[0];
    EXPECT_EQ(run.err,
              "mdfetch: no database at 'data/market.db' (the demo stored into data/demo.db: add "
              "--db data/demo.db)\n")
        << args[0];
  }
  // A database named by the user is the one meant: no hint.
  auto named = RunCliCaptured(clock_, {"list", "--db", "data/other.db"});
  EXPECT_EQ(named.err, "mdfetch: no database at 'data/other.db'\n");
  auto from_env = RunCliCaptured(clock_, {"list"}, {{"MDFETCH_DB", "data/market.db"}});
  EXPECT_EQ(from_env.err, "mdfetch: no database at 'data/market.db'\n");
  auto advised = RunCliCaptured(clock_, {"list", "--db", "data/demo.db"});
  EXPECT_EQ(advised.code, kExitOk) << advised.err;
}

TEST_F(CliNamingTest, TheSymbolListIsReadFromStdinWithLineNumbers) {
  StartSim();
  auto plan = WithStdin("IBM\nIBM$\nIBM monthly\n",
                        {"plan", "--symbols", "-", "--db", db_, "--rate", "5/min"});
  EXPECT_EQ(plan.code, kExitFailed) << plan.err;  // an invalid line, as from a file
  EXPECT_EQ(plan.err,
            "mdfetch: stdin:2: 'IBM$' is not a valid symbol (letters, digits, '.', '-' only)\n");
  EXPECT_NE(plan.out.find("\nIBM monthly "), std::string::npos) << plan.out;
  auto refresh = WithStdin("IBM monthly\n", {"refresh", "--symbols", "-", "--db", db_, "--sim",
                                             "--base-url", sim_->BaseUrl()});
  EXPECT_EQ(refresh.code, kExitOk) << refresh.err;
  EXPECT_EQ(Stored("IBM", Function::kMonthly), Served("IBM", Function::kMonthly));
  auto empty = WithStdin("# nothing\n\n", {"refresh", "--symbols", "-", "--db", db_, "--sim"});
  EXPECT_EQ(empty.code, kExitUsage);
  EXPECT_EQ(empty.err,
            "mdfetch: the symbol list on stdin names no series (only blank lines and comments)\n");
}

}  // namespace
}  // namespace mdfetch
