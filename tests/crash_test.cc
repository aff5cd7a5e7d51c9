// Crash safety: the real binary is killed with SIGKILL at random moments of a refresh against
// the simulator, on SQLite and on PostgreSQL; after every kill the store passes its integrity
// check and every series is either as before (no bars) or fully stored (every bar the
// simulator served), and the next refresh completes the job.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "child_process.h"
#include "mdfetch/simulator.h"
#include "mdfetch/store.h"
#include "pg_cluster.h"

namespace mdfetch {
namespace {

const Date kLastSession{std::chrono::year{2026} / 11 / 20};

pid_t SpawnRefresh(const std::vector<std::string>& args, const std::string& out = "/dev/null") {
  return SpawnChild(args, out);
}

// Kills refreshes of `db` (a SQLite path or a PostgreSQL URI) at random moments, checking the
// store after each kill, then lets one refresh finish the job.
void KillNineAtRandomMoments(const std::filesystem::path& dir, const std::string& db) {
  std::string symbols = (dir / "symbols.txt").string();
  std::vector<std::string> names;
  {
    std::ofstream out(symbols);
    for (int i = 0; i < 24; ++i) {
      names.push_back("SYM" + std::to_string(i));
      out << names.back() << "\n";
    }
  }
  SimOptions options;
  options.last_session = kLastSession;
  Simulator sim(options);
  ASSERT_TRUE(sim.Start(0));
  const std::vector<std::string> args = {MDFETCH_BINARY,  "refresh", "--symbols",  symbols,
                                         "--db",          db,        "--base-url", sim.BaseUrl(),
                                         "--api-key",     "K",       "--rate",     "unlimited",
                                         "--concurrency", "2",       "--sim"};
  std::mt19937 rng(20261123);
  int kills = 0;
  for (int round = 0; round < 10; ++round) {
    int64_t before = sim.Stats().calls;
    // --force: every run has all 24 calls to make, so there is always something to kill.
    std::vector<std::string> forced = args;
    forced.push_back("--force");
    pid_t pid = SpawnRefresh(forced);
    ASSERT_GT(pid, 0);
    // Kill once the simulator has seen a random number of this run's calls, plus a random
    // spin, so the kill lands before, during and after transactions.
    int64_t target = before + std::uniform_int_distribution<int64_t>(1, 8)(rng);
    int spin = std::uniform_int_distribution<int>(0, 20000)(rng);
    bool exited = false;
    while (sim.Stats().calls < target) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::yield();
    }
    for (int i = 0; i < spin && !exited; ++i) std::this_thread::yield();
    if (!exited) {
      kill(pid, SIGKILL);
      WaitExit(pid);
      ++kills;
    }

    auto store = Store::Open(db, OpenMode::kReadOnly);
    if (!store) continue;  // killed before the database was created
    auto check = (*store)->IntegrityCheck();
    ASSERT_TRUE(check);
    EXPECT_EQ(*check, "ok");
    for (const auto& name : names) {
      SeriesKey key{name, Function::kDaily, ""};
      auto bars = (*store)->ReadBars(key, BarFilter{});
      ASSERT_TRUE(bars);
      if (!bars->empty()) {
        EXPECT_EQ(*bars, Simulator::History(key, kLastSession)) << name << " half-stored";
      }
    }
  }
  EXPECT_GE(kills, 8);

  // The next refresh completes the job. (On PostgreSQL it takes over the series a killed run
  // held as soon as the server has seen that run's connection close.)
  EXPECT_EQ(WaitExit(SpawnRefresh(args)), 0);
  auto store = Store::Open(db, OpenMode::kReadOnly);
  ASSERT_TRUE(store);
  for (const auto& name : names) {
    SeriesKey key{name, Function::kDaily, ""};
    EXPECT_EQ(*(*store)->ReadBars(key, BarFilter{}), Simulator::History(key, kLastSession)) << name;
  }
}

TEST(CrashTest, KillNineAtRandomMomentsLosesAndCorruptsNothing) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("mdfetch_crash_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  KillNineAtRandomMoments(dir, (dir / "market.db").string());
  std::filesystem::remove_all(dir);
}

TEST(CrashTest, KillNineAtRandomMomentsOnPostgresLosesAndCorruptsNothing) {
#if !__has_include("store_pg.h")
  GTEST_SKIP() << "this build has no PostgreSQL store (src/store_pg.h)";
#endif
  MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
  const std::string database = fmt::format("crash_{}", ::getpid());
  for (const std::string& sql :
       {"DROP DATABASE IF EXISTS " + database, "CREATE DATABASE " + database}) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(cluster->ConnInfo().c_str()),
                                                      &PQfinish);
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    std::unique_ptr<PGresult, decltype(&PQclear)> done(PQexec(conn.get(), sql.c_str()), &PQclear);
    ASSERT_EQ(PQresultStatus(done.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(done.get());
  }
  auto dir = std::filesystem::path(::testing::TempDir()) /
             ("mdfetch_crash_pg_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  KillNineAtRandomMoments(dir, fmt::format("postgresql://{}@/{}?host={}&port=5432",
                                           PgCluster::kUser, database, cluster->Dir()));
  std::filesystem::remove_all(dir);
}

// SIGTERM and SIGINT stop a refresh cleanly: what is stored stays stored, the rest is
// deferred, the summary is printed, and the exit status says which signal.
TEST(CrashTest, SignalsStopCleanlyWithTheSummary) {
  auto dir = std::filesystem::path(::testing::TempDir()) /
             ("mdfetch_signal_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string symbols = (dir / "symbols.txt").string();
  std::ofstream(symbols) << "AAA\nBBB\nCCC\nDDD\nEEE\nFFF\n";
  SimOptions options;
  options.last_session = kLastSession;
  options.latency = std::chrono::milliseconds(150);  // calls in flight when the signal lands
  Simulator sim(options);
  ASSERT_TRUE(sim.Start(0));
  for (auto [sig, code] : {std::pair{SIGTERM, 143}, std::pair{SIGINT, 130}}) {
    std::string db = (dir / ("s" + std::to_string(sig) + ".db")).string();
    std::string out = (dir / "out.txt").string();
    int64_t before = sim.Stats().calls;
    pid_t pid = SpawnRefresh(
        {MDFETCH_BINARY, "refresh", "--symbols", symbols, "--db", db, "--base-url", sim.BaseUrl(),
         "--api-key", "K", "--rate", "unlimited", "--concurrency", "1", "--sim"},
        out);
    ASSERT_GT(pid, 0);
    while (sim.Stats().calls < before + 2) std::this_thread::yield();
    kill(pid, sig);
    EXPECT_EQ(WaitExit(pid), code);
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("6 series: "), std::string::npos) << text;
    // One line for everything an interruption left, not one per series.
    EXPECT_NE(text.find(" series deferred (interrupted)\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("deferred FFF"), std::string::npos) << text;
    auto store = Store::Open(db, OpenMode::kReadOnly);
    ASSERT_TRUE(store);
    EXPECT_EQ(*(*store)->IntegrityCheck(), "ok");
    auto deferred = (*store)->DeferredSeries();
    ASSERT_TRUE(deferred);
    EXPECT_FALSE(deferred->empty());
  }
}

}  // namespace
}  // namespace mdfetch
