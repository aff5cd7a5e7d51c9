// End to end on PostgreSQL: the CLI in-process against the simulator on loopback, with
// `--db postgresql://...` naming a fresh database of the throw-away test server
// (pg_cluster.h), and the same commands on SQLite beside it to compare answers with.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "mdfetch/redact.h"
#include "pg_cluster.h"
#include "sim_fixture.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kPassword = "S3CRETPW";

// Whether this build has the PostgreSQL store (src/store_pg.h, branch pg-store) that
// Store::Open hands a postgresql:// URI to.
#if __has_include("store_pg.h")
constexpr bool kHavePgStore = true;
#else
constexpr bool kHavePgStore = false;
#endif

// Runs one statement on the cluster's own database; the error says what the server said.
Status Exec(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return Fail(PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return Fail(sql + ": " + PQresultErrorMessage(result.get()));
  }
  return {};
}

class PgIntegrationTest : public SimStoreTest {
 protected:
  void SetUp() override {
    SimStoreTest::SetUp();
    if (!kHavePgStore) GTEST_SKIP() << "this build has no PostgreSQL store (src/store_pg.h)";
    MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
    cluster_ = cluster;
    // A fresh database per test: the tests of one process share the server.
    static std::atomic<int> counter{0};
    database_ = fmt::format("e2e_{}_{}", ::getpid(), counter++);
    ASSERT_TRUE(Exec(cluster_->ConnInfo(), "DROP DATABASE IF EXISTS " + database_));
    auto created = Exec(cluster_->ConnInfo(), "CREATE DATABASE " + database_);
    ASSERT_TRUE(created) << created.error().message;
    uri_ = UriAs(PgCluster::kUser);
  }

  // The test database's URI with `user_info` before the '@' ("mdfetch" or "mdfetch:PW").
  std::string UriAs(const std::string& user_info) const {
    return fmt::format("postgresql://{}@/{}?host={}&port=5432", user_info, database_,
                       cluster_->Dir());
  }
  // Trust authentication ignores the password: a URI that holds one still connects.
  std::string SecretUri() const { return UriAs(std::string(PgCluster::kUser) + ":" + kPassword); }

  CliResult Refresh(const std::string& db, FakeClock& clock, std::vector<std::string> extra = {},
                    std::map<std::string, std::string> environment = {}) {
    std::vector<std::string> args = {"refresh",       "--symbols", symbols_, "--base-url",
                                     sim_->BaseUrl(), "--rate",    "5/min",  "--sim"};
    if (!db.empty()) args.insert(args.end(), {"--db", db});
    args.insert(args.end(), extra.begin(), extra.end());
    environment["ALPHAVANTAGE_API_KEY"] = "TESTKEY-0123456789";
    return RunCliCaptured(clock, args, environment);
  }

  // `args` then --db `db`, on the clock of that store's refreshes.
  CliResult Cli(FakeClock& clock, std::vector<std::string> args, const std::string& db) {
    args.insert(args.end(), {"--db", db});
    return RunCliCaptured(clock, args);
  }

  // A JSON document without its "database" member (the one thing two stores differ in).
  static Json WithoutDatabase(const std::string& text) {
    Json doc = Json::parse(text, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << text;
    if (doc.is_object()) doc.erase("database");
    return doc;
  }

  PgCluster* cluster_ = nullptr;
  std::string database_;
  std::string uri_;
  FakeClock pg_clock_{FridayEvening()};  // the PostgreSQL store's time: the same as clock_'s
};

// The CLI's last guard (RunCli passes every error through it), without a server.
TEST(HideDbPasswordTest, HidesThePasswordAsWrittenAndDecodedAndTheUriAsRedacted) {
  const std::string db = "postgresql://ana:s3cr%40t@db.example/market?password=pw2&sslmode=require";
  EXPECT_EQ(HideDbPassword("cannot open database '" + db + "': bad", db),
            "cannot open database "
            "'postgresql://ana:***@db.example/market?password=***&sslmode=require': bad");
  EXPECT_EQ(HideDbPassword("password authentication failed: s3cr@t, s3cr%40t, pw2", db),
            "password authentication failed: ***, ***, ***");
  EXPECT_EQ(HideDbPassword("nothing secret", "postgresql://ana@db/market"), "nothing secret");
  // A SQLite path is no URI: the text is left as it is.
  EXPECT_EQ(HideDbPassword("'a:b@c' is locked", "a:b@c"), "'a:b@c' is locked");
  // A password that is also a word of the URI ("postgres") is masked around the shown URI,
  // never inside it.
  const std::string common = "postgresql://postgres:postgres@db/market";
  EXPECT_EQ(HideDbPassword("'" + common + "': password postgres refused", common),
            "'postgresql://postgres:***@db/market': password *** refused");
}

// libpq quotes a token of the URI it cannot parse; the password in it stays hidden, also in
// copy's messages (its --from and --to are stores too).
TEST(HideDbPasswordTest, ABadlyEncodedPasswordNeverReachesStderr) {
  FakeClock clock;
  for (std::vector<std::string> args :
       {std::vector<std::string>{"list", "--db", "postgresql://ann:50%off@db/m"},
        std::vector<std::string>{"copy", "--from", "postgresql://ann:50%off@db/m", "--to",
                                 ::testing::TempDir() + "never-made.db"},
        std::vector<std::string>{"copy", "--from", "/nonexistent/x.db", "--to",
                                 "postgresql://ann:50%off@db/m?sslpassword=7k3y"}}) {
    auto run = RunCliCaptured(clock, args);
    EXPECT_NE(run.code, 0) << args[0];
    EXPECT_EQ(run.err.find("50%off"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("7k3y"), std::string::npos) << run.err;
    EXPECT_EQ(run.out.find("50%off"), std::string::npos) << run.out;
  }
}

TEST_F(PgIntegrationTest, EveryCommandAnswersAsOnSqlite) {
  StartSim();
  WriteSymbols("IBM\nMSFT\nAAPL intraday:5min\nBTC/EUR crypto_daily\n");
  auto lite = Refresh(db_, clock_);
  auto pg = Refresh(uri_, pg_clock_);
  ASSERT_EQ(lite.code, kExitOk) << lite.out << lite.err;
  ASSERT_EQ(pg.code, kExitOk) << pg.out << pg.err;
  EXPECT_NE(pg.out.find(uri_ + ": 4 series: 4 stored"), std::string::npos) << pg.out;

  auto same = [&](std::vector<std::string> args) {
    auto a = Cli(clock_, args, db_);
    auto b = Cli(pg_clock_, args, uri_);
    EXPECT_EQ(a.code, b.code) << fmt::format("{}", fmt::join(args, " ")) << "\n" << b.err;
    return std::pair{a, b};
  };
  // Byte for byte: the CSV of every kind, one series by range, the newest bars.
  for (std::vector<std::string> args : {
           std::vector<std::string>{"export", "--all"},
           {"export", "--all", "--function", "intraday:5min"},
           {"export", "--all", "--function", "crypto_daily"},
           {"export", "IBM", "MSFT", "--from", "2026-01-01", "--to", "2026-06-30"},
           {"query", "IBM", "--last", "5", "--format", "csv"},
           {"query", "AAPL", "--function", "intraday:5min", "--last", "50", "--format", "csv"},
           {"query", "MSFT", "--format", "table"},
           {"list"},
           {"list", "--format", "csv"},
           {"quota"},
       }) {
    auto [a, b] = same(args);
    EXPECT_EQ(a.code, kExitOk) << a.err;
    EXPECT_EQ(a.out, b.out) << fmt::format("{}", fmt::join(args, " "));
    EXPECT_GT(b.out.size(), 10u);
  }
  for (std::vector<std::string> args : {
           std::vector<std::string>{"query", "IBM", "--format", "json"},
           {"query", "BTC/EUR", "--format", "json"},
           {"list", "--format", "json"},
           {"check", "--format", "json"},
       }) {
    auto [a, b] = same(args);
    EXPECT_EQ(WithoutDatabase(a.out), WithoutDatabase(b.out))
        << fmt::format("{}", fmt::join(args, " "));
  }
  // plan: the same decisions, each store named as it is.
  auto plan_args = std::vector<std::string>{"plan", "--symbols", symbols_, "--format", "json"};
  auto [plan_lite, plan_pg] = same(plan_args);
  EXPECT_EQ(WithoutDatabase(plan_lite.out), WithoutDatabase(plan_pg.out));
  EXPECT_EQ(Json::parse(plan_pg.out)["database"], uri_);

  // info: the same series and bars; the backend named, SQLite's file figures null.
  auto [info_lite, info_pg] = same({"info", "--format", "json"});
  Json l = Json::parse(info_lite.out), p = Json::parse(info_pg.out);
  for (const char* key : {"functions", "series", "bars", "first", "last", "rate", "quota_per_day",
                          "calls_last_24h", "schema_version"}) {
    if (std::string(key) == "schema_version") continue;  // each backend counts its own
    EXPECT_EQ(l[key], p[key]) << key;
  }
  EXPECT_EQ(p["database"], uri_);
  EXPECT_EQ(l["backend"], "sqlite");
  EXPECT_EQ(p["backend"], "postgresql");
  EXPECT_GT(p["bytes"].get<int64_t>(), 0);
  EXPECT_GT(p["schema_version"].get<int64_t>(), 0);
  for (const char* key : {"wal_bytes", "application_id", "free_pages", "page_size"}) {
    EXPECT_TRUE(p[key].is_null()) << key;
    EXPECT_FALSE(l[key].is_null()) << key;
  }
  auto table = Cli(pg_clock_, {"info"}, uri_);
  EXPECT_EQ(table.code, kExitOk) << table.err;
  EXPECT_NE(table.out.find("store       " + uri_ + " (postgresql)\n"), std::string::npos)
      << table.out;
  EXPECT_EQ(table.out.find("-wal"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("free pages"), std::string::npos) << table.out;

  // remove: the same series go, and what is left reads the same.
  auto gone_lite = Cli(clock_, {"remove", "MSFT"}, db_);
  auto gone_pg = Cli(pg_clock_, {"remove", "MSFT"}, uri_);
  ASSERT_EQ(gone_pg.code, kExitOk) << gone_pg.err;
  EXPECT_EQ(gone_pg.out.substr(0, gone_pg.out.find('\n')),
            gone_lite.out.substr(0, gone_lite.out.find('\n')));
  EXPECT_NE(gone_pg.out.find(uri_ + ": removed 1 series"), std::string::npos) << gone_pg.out;
  EXPECT_EQ(Cli(clock_, {"export", "--all"}, db_).out,
            Cli(pg_clock_, {"export", "--all"}, uri_).out);
  auto missing = Cli(pg_clock_, {"query", "MSFT"}, uri_);
  EXPECT_EQ(missing.code, kExitFailed);
  EXPECT_EQ(missing.err,
            "mdfetch: no bars for MSFT in " + uri_ + " (fetch it first: mdfetch fetch MSFT)\n");
}

TEST_F(PgIntegrationTest, ARerunChangesNothing) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  ASSERT_EQ(Refresh(uri_, pg_clock_).code, kExitOk);
  auto before = Cli(pg_clock_, {"export", "--all"}, uri_);
  auto info_before = Json::parse(Cli(pg_clock_, {"info", "--format", "json"}, uri_).out);
  const int64_t calls = sim_->Stats().calls;
  pg_clock_.Advance(2h);
  auto again = Refresh(uri_, pg_clock_);
  EXPECT_EQ(again.code, kExitOk) << again.out << again.err;
  EXPECT_EQ(sim_->Stats().calls, calls);
  EXPECT_NE(again.out.find("2 series: 0 stored, 2 up to date"), std::string::npos) << again.out;
  // Fetched again, every bar comes back the same: nothing added, nothing changed.
  auto forced = Refresh(uri_, pg_clock_, {"--force"});
  EXPECT_EQ(forced.code, kExitOk) << forced.out << forced.err;
  EXPECT_NE(forced.out.find("2 stored"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("0 bars added, 0 changed"), std::string::npos) << forced.out;
  EXPECT_EQ(Cli(pg_clock_, {"export", "--all"}, uri_).out, before.out);
  auto info_after = Json::parse(Cli(pg_clock_, {"info", "--format", "json"}, uri_).out);
  EXPECT_EQ(info_after["bars"], info_before["bars"]);
  EXPECT_EQ(info_after["series"], info_before["series"]);
  EXPECT_EQ(info_after["calls_last_24h"], info_before["calls_last_24h"].get<int64_t>() + 2);
}

TEST_F(PgIntegrationTest, ASecondWriterIsRefusedNamingTheHolderButRefreshesShareTheStore) {
  StartSim();
  WriteSymbols("IBM\n");
  auto holder = Store::Open(uri_, OpenMode::kWriter);
  ASSERT_TRUE(holder) << holder.error().message;
  for (std::vector<std::string> args :
       {std::vector<std::string>{"remove", "IBM", "--yes"}, std::vector<std::string>{"vacuum"}}) {
    auto refused = Cli(pg_clock_, args, uri_);
    EXPECT_EQ(refused.code, kExitUsage) << args[0] << ": " << refused.err;
    EXPECT_NE(refused.err.find("another mdfetch"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find(fmt::format("pid {}", ::getpid())), std::string::npos)
        << refused.err;
  }
  // Readers are not writers: they read beside it.
  EXPECT_EQ(Cli(pg_clock_, {"list"}, uri_).code, kExitOk);
  // A refresh takes no writer lock on PostgreSQL: it claims its series instead, beside other
  // refreshes (tests/fetchers_pg_test.cc).
  auto shared = Refresh(uri_, pg_clock_);
  EXPECT_EQ(shared.code, kExitOk) << shared.out << shared.err;
  EXPECT_EQ(sim_->Stats().calls, 1);
  holder->reset();
  auto removed = Cli(pg_clock_, {"remove", "IBM", "--yes"}, uri_);
  EXPECT_EQ(removed.code, kExitOk) << removed.err;
}

TEST_F(PgIntegrationTest, APasswordInTheUriIsShownNowhere) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  const std::string secret = SecretUri();
  const std::string shown = RedactDb(secret);
  ASSERT_EQ(shown.find(kPassword), std::string::npos);
  const std::string report = (dir_ / "report.json").string();
  std::vector<CliResult> runs;
  runs.push_back(Refresh(secret, pg_clock_, {"--report", report, "--verbose"}));
  EXPECT_EQ(runs.back().code, kExitOk) << runs.back().out << runs.back().err;
  EXPECT_NE(runs.back().out.find(shown + ": 2 series"), std::string::npos) << runs.back().out;
  const std::string report_text = ReadFileBytes(report);
  EXPECT_NE(report_text.find(shown), std::string::npos) << report_text;
  EXPECT_EQ(report_text.find(kPassword), std::string::npos) << report_text;
  for (std::vector<std::string> args : {
           std::vector<std::string>{"query", "IBM", "--last", "2"},
           {"query", "NOPE"},
           {"query", "IBM", "--function", "weekly"},
           {"export", "--all", "--function", "weekly"},
           {"export", "--all"},
           {"list"},
           {"quota"},
           {"check"},
           {"info"},
           {"info", "--format", "json"},
           {"plan", "--symbols", symbols_},
           {"plan", "--symbols", symbols_, "--format", "json"},
           {"vacuum"},
           {"remove", "NOPE"},
           {"remove", "MSFT", "--yes"},
       }) {
    runs.push_back(Cli(pg_clock_, args, secret));
  }
  // The same through $MDFETCH_DB.
  runs.push_back(RunCliCaptured(pg_clock_, {"list"}, {{"MDFETCH_DB", secret}}));
  // A refused second writer, a server that is not there, a database that does not exist.
  auto holder = Store::Open(uri_, OpenMode::kWriter);
  ASSERT_TRUE(holder) << holder.error().message;
  runs.push_back(Cli(pg_clock_, {"vacuum"}, secret));
  EXPECT_EQ(runs.back().code, kExitUsage);
  holder->reset();
  const std::string down = fmt::format("postgresql://mdfetch:{}@/{}?host={}&port=5432", kPassword,
                                       database_, (dir_ / "no-server").string());
  runs.push_back(Refresh(down, pg_clock_));
  EXPECT_EQ(runs.back().code, kExitUsage) << runs.back().err;
  EXPECT_NE(runs.back().err.find(RedactDb(down)), std::string::npos) << runs.back().err;
  runs.push_back(Cli(pg_clock_, {"query", "IBM"}, down));
  EXPECT_EQ(runs.back().code, kExitUsage) << runs.back().err;
  const std::string nodb = fmt::format("postgresql://mdfetch:{}@/nosuchdb?host={}&port=5432",
                                       kPassword, cluster_->Dir());
  runs.push_back(Cli(pg_clock_, {"list"}, nodb));
  EXPECT_EQ(runs.back().code, kExitUsage);
  EXPECT_NE(runs.back().err.find("nosuchdb"), std::string::npos) << runs.back().err;
  for (const CliResult& run : runs) {
    EXPECT_EQ(run.out.find(kPassword), std::string::npos) << run.out;
    EXPECT_EQ(run.err.find(kPassword), std::string::npos) << run.err;
    EXPECT_FALSE(run.out.empty() && run.err.empty());
  }
}

TEST_F(PgIntegrationTest, ServerThatIsDownIsAUsageErrorWithLibpqsReason) {
  const std::string down = fmt::format("postgresql://mdfetch@/{}?host={}&port=5432", database_,
                                       (dir_ / "no-server").string());
  WriteSymbols("IBM\n");
  StartSim();
  auto run = Refresh(down, pg_clock_);
  EXPECT_EQ(run.code, kExitUsage);
  // libpq says why: no socket in that folder.
  EXPECT_NE(run.err.find("No such file or directory"), std::string::npos) << run.err;
  EXPECT_EQ(sim_->Stats().calls, 0);
  // Nothing is made for a URI: not its "folder" (postgresql:/mdfetch@), no lock file.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-server"));
  EXPECT_FALSE(std::filesystem::exists("postgresql:"));
}

TEST_F(PgIntegrationTest, MdfetchDbTakesAUri) {
  StartSim();
  WriteSymbols("IBM\n");
  auto run = Refresh("", pg_clock_, {}, {{"MDFETCH_DB", uri_}});
  ASSERT_EQ(run.code, kExitOk) << run.out << run.err;
  EXPECT_NE(run.out.find(uri_ + ": 1 series: 1 stored"), std::string::npos) << run.out;
  auto query = RunCliCaptured(pg_clock_, {"query", "IBM", "--last", "1", "--format", "json"},
                              {{"MDFETCH_DB", uri_}});
  EXPECT_EQ(query.code, kExitOk) << query.err;
  EXPECT_NE(query.out.find("\"ts\":\"2026-11-20\""), std::string::npos) << query.out;
}

TEST_F(PgIntegrationTest, PlanOnADatabaseWithoutTheSchemaPlansEverythingAsNewAndWritesNothing) {
  WriteSymbols("IBM\nMSFT weekly\n");
  auto plan = Cli(pg_clock_, {"plan", "--symbols", symbols_, "--format", "json"}, uri_);
  ASSERT_EQ(plan.code, kExitOk) << plan.err;
  auto doc = Json::parse(plan.out);
  EXPECT_EQ(doc["calls"], 2);
  EXPECT_EQ(doc["series"].size(), 2u);
  // The read commands still ask for a refresh first.
  auto list = Cli(pg_clock_, {"list"}, uri_);
  EXPECT_EQ(list.code, kExitUsage);
  EXPECT_NE(list.err.find("no mdfetch data in"), std::string::npos) << list.err;
}

TEST_F(PgIntegrationTest, VacuumSaysWhatItDid) {
  StartSim();
  WriteSymbols("IBM\nMSFT\n");
  ASSERT_EQ(Refresh(uri_, pg_clock_).code, kExitOk);
  ASSERT_EQ(Cli(pg_clock_, {"remove", "MSFT", "--yes"}, uri_).code, kExitOk);
  auto vacuum = Cli(pg_clock_, {"vacuum"}, uri_);
  EXPECT_EQ(vacuum.code, kExitOk) << vacuum.err;
  EXPECT_TRUE(vacuum.out.starts_with(uri_ + ": VACUUM (ANALYZE) of mdfetch's tables: "))
      << vacuum.out;
  EXPECT_NE(vacuum.out.find("bytes after"), std::string::npos) << vacuum.out;
  EXPECT_EQ(Cli(pg_clock_, {"query", "IBM", "--last", "1"}, uri_).code, kExitOk);
}

}  // namespace
}  // namespace mdfetch
