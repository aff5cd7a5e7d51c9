// Faults, throttling and the daily quota end to end against the simulator (issue 3): the CLI
// in-process, a real Store in a temp folder, virtual time (FakeClock) for pacing, and the
// real clock only where the simulator's real-time throttle window is what is tested.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sim_fixture.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

constexpr const char* kKey = "SECRETKEY9f3a7c";

// The numbers of the summary's first line.
struct Summary {
  int64_t calls = -1, throttled = -1, retried = -1;
};

Summary ParseSummary(const std::string& out) {
  // "...; N calls (T throttled, R retried); ..." (no <regex>: GCC 12 warns inside it under
  // the sanitizers).
  Summary s;
  size_t end = out.find(" calls (");
  if (end == std::string::npos) return s;
  size_t start = out.rfind(' ', end - 1) + 1;
  long long calls = 0, throttled = 0, retried = 0;
  if (std::sscanf(out.c_str() + start, "%lld calls (%lld throttled, %lld retried)", &calls,
                  &throttled, &retried) == 3) {
    s.calls = calls;
    s.throttled = throttled;
    s.retried = retried;
  }
  return s;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class FaultsTest : public SimStoreTest {
 protected:
  // A refresh of the symbol file against sim_; `extra` adds --rate and the like.
  CliResult Refresh(std::vector<std::string> extra) {
    // --sim: a store that takes the simulator's answers (without it they are refused).
    std::vector<std::string> args = {"refresh", "--symbols", symbols_,     "--db",
                                     db_,       "--sim",     "--base-url", sim_->BaseUrl()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCliCaptured(clock_, args, {{"ALPHAVANTAGE_API_KEY", kKey}});
  }

  CliResult Cli(std::vector<std::string> args) {
    return RunCliCaptured(clock_, args, {{"ALPHAVANTAGE_API_KEY", kKey}});
  }

  // Every series row holds exactly the bars the simulator serves for it, or none at all.
  void ExpectNoSeriesHoldsForeignBars() {
    auto store = Store::Open(db_, OpenMode::kReadOnly);
    ASSERT_TRUE(store) << store.error().message;
    auto series = (*store)->ListSeries();
    ASSERT_TRUE(series);
    for (const auto& s : *series) {
      auto bars = (*store)->ReadBars(s.key, BarFilter{});
      ASSERT_TRUE(bars);
      if (!bars->empty()) {
        EXPECT_EQ(*bars, Served(s.key.symbol, s.key.function)) << s.key.symbol;
      }
    }
  }

  // The outcome of every logged call, in call order (sqlite3 directly: the CLI shows only
  // each series' last outcome).
  std::vector<std::string> FetchOutcomes() {
    sqlite3* db = nullptr;
    std::vector<std::string> outcomes;
    EXPECT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT outcome FROM fetches ORDER BY id", -1, &stmt, nullptr),
              SQLITE_OK);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      outcomes.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return outcomes;
  }
};

const std::vector<std::string> kTwelve = {"IBM",  "MSFT", "AAPL", "GOOG", "AMZN", "META",
                                          "NVDA", "TSLA", "JPM",  "XOM",  "KO",   "PEP"};

std::string Lines(const std::vector<std::string>& symbols) {
  std::string text;
  for (const auto& s : symbols) text += s + "\n";
  return text;
}

TEST_F(FaultsTest, EverySeriesIsStoredExactlyUnderATwentyFivePercentFaultRate) {
  SimOptions options;
  options.p_http500 = 0.05;
  options.p_http503 = 0.05;
  options.p_reset = 0.05;
  options.p_truncate = 0.05;
  options.p_malformed = 0.05;
  options.seed = 7;
  StartSim(options);
  WriteSymbols(Lines(kTwelve));
  auto run = Refresh({"--rate", "unlimited", "--retries", "8"});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  for (const auto& s : kTwelve) EXPECT_EQ(Stored(s), Served(s)) << s;
  EXPECT_GT(ParseSummary(run.out).retried, 0) << run.out;
  EXPECT_GT(sim_->Stats().faults, 0);
  EXPECT_EQ(ParseSummary(run.out).calls, sim_->Stats().calls);
}

TEST_F(FaultsTest, ASeriesThatAlwaysFailsIsReportedAndTheRestAreStored) {
  SimOptions options;
  options.fail_first = {{"BAD", 1000}};
  StartSim(options);
  WriteSymbols("IBM\nBAD\nMSFT\n");
  auto run = Refresh({"--rate", "unlimited", "--retries", "3"});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "\n  failed BAD: failed after 4 attempts: HTTP 503\n")) << run.out;
  EXPECT_EQ(sim_->Stats().calls_by_symbol.at("BAD"), 4);  // --retries 3: 3 + 1 calls
  EXPECT_EQ(ParseSummary(run.out).retried, 3);
  EXPECT_TRUE(Stored("BAD").empty());
  for (const char* s : {"IBM", "MSFT"}) EXPECT_EQ(Stored(s), Served(s)) << s;
}

TEST_F(FaultsTest, ARateFarAboveTheServiceLimitStillStoresEverySeriesWithFewThrottles) {
  // The simulator's window and the engine's pacing run on one virtual clock, so what is
  // throttled depends on the engine's pace alone, not on how fast this machine answers (on
  // the real clock a loaded machine, under TSan, made ten calls too slowly to be throttled).
  SimOptions options;
  options.window_limit = 5;
  options.window = 1000ms;
  options.clock = &clock_;
  StartSim(options);
  std::vector<std::string> ten(kTwelve.begin(), kTwelve.begin() + 10);
  WriteSymbols(Lines(ten));
  // Monthly series, one call at a time, so how many are throttled does not depend on how
  // many were in flight.
  auto run = Refresh({"--rate", "1000/s", "--function", "monthly", "--concurrency", "1"});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  for (const auto& s : ten) {
    EXPECT_EQ(Stored(s, Function::kMonthly), Served(s, Function::kMonthly)) << s;
  }
  // The first five calls go a millisecond apart; the sixth within the second is throttled.
  // Each cool-down doubles the engine's spacing from 50 ms (100, 200, 400 ms), and from
  // 200-400 ms apart the pace stays at or under 5 per second: 2-4 throttles in all. Had the
  // pace never adapted, a throttled call would be repeated a millisecond later, dozens of
  // times per window.
  int64_t throttled = sim_->Stats().throttled;
  EXPECT_GE(throttled, 2);
  EXPECT_LE(throttled, 4);
  EXPECT_EQ(ParseSummary(run.out).throttled, throttled) << run.out;
}

TEST_F(FaultsTest, TheDailyQuotaIsNeverExceededAcrossRuns) {
  StartSim();
  WriteSymbols("IBM\nMSFT\nAAPL\nGOOG\nAMZN\n");
  const std::vector<std::string> rate = {"--rate", "1000/min,3/day"};
  const std::string next = "2026-11-21 22:00:00Z";  // the first call + 24 h

  auto first = Refresh(rate);
  EXPECT_EQ(first.code, kExitQuota) << first.out << first.err;
  EXPECT_EQ(sim_->Stats().calls, 3);
  for (const char* s : {"GOOG", "AMZN"}) {
    EXPECT_TRUE(Contains(first.out, fmt::format("  deferred {}: the daily quota is spent\n", s)))
        << first.out;
  }
  EXPECT_TRUE(
      Contains(first.out, fmt::format("\nmdfetch: stopped: daily quota of 3 calls spent; next call "
                                      "allowed at {}\n",
                                      next)))
      << first.out;
  EXPECT_TRUE(Contains(first.out, "3 stored, 0 up to date, 0 failed, 2 deferred")) << first.out;

  clock_.Advance(1h);
  auto second = Refresh({"--rate", "1000/min,3/day", "--force"});
  EXPECT_EQ(second.code, kExitQuota) << second.out << second.err;
  EXPECT_EQ(sim_->Stats().calls, 3);
  auto quota = Cli({"quota", "--db", db_, "--rate", "1000/min,3/day"});
  EXPECT_EQ(quota.out, "3 of 3 calls spent in the last 24 h; next call allowed: " + next + "\n");

  clock_.Advance(25h);  // Sunday: the three stored series are still up to date
  auto third = Refresh(rate);
  EXPECT_EQ(third.code, kExitOk) << third.out << third.err;
  auto stats = sim_->Stats();
  EXPECT_EQ(stats.calls, 5);
  EXPECT_EQ(stats.calls_by_symbol,
            (std::map<std::string, int64_t>{
                {"IBM", 1}, {"MSFT", 1}, {"AAPL", 1}, {"GOOG", 1}, {"AMZN", 1}}));
  for (const char* s : {"GOOG", "AMZN"}) EXPECT_EQ(Stored(s), Served(s)) << s;
}

TEST_F(FaultsTest, DeferredSeriesGoFirstWhenTheQuotaAllowsOnlySome) {
  StartSim();
  WriteSymbols("IBM\nMSFT\nAAPL\nGOOG\nAMZN\n");
  const std::vector<std::string> args = {"--rate", "1000/min,3/day", "--concurrency", "1"};
  ASSERT_EQ(Refresh(args).code, kExitQuota);  // GOOG and AMZN deferred
  clock_.Advance(73h);  // Monday 23:00Z: after Monday's close every series is due again
  auto run = Refresh(args);
  EXPECT_EQ(run.code, kExitQuota) << run.out << run.err;
  EXPECT_EQ(sim_->Stats().calls_by_symbol,
            (std::map<std::string, int64_t>{
                {"IBM", 2}, {"MSFT", 1}, {"AAPL", 1}, {"GOOG", 1}, {"AMZN", 1}}));
  EXPECT_TRUE(Contains(run.out, "  deferred MSFT: the daily quota is spent\n")) << run.out;
  EXPECT_TRUE(Contains(run.out, "  deferred AAPL: the daily quota is spent\n")) << run.out;
}

TEST_F(FaultsTest, TheServicesDailyLimitStopsEveryFurtherCall) {
  SimOptions options;
  options.daily_limit = 2;
  StartSim(options);
  WriteSymbols("IBM\nMSFT\nAAPL\nGOOG\nAMZN\n");
  auto run = Refresh({"--rate", "unlimited", "--concurrency", "1"});
  EXPECT_EQ(run.code, kExitQuota) << run.out << run.err;
  EXPECT_EQ(sim_->Stats().calls, 3);  // 2 served, 1 refused, then nothing
  EXPECT_EQ(sim_->Stats().daily_limited, 1);
  EXPECT_TRUE(Contains(run.out, "2 stored, 0 up to date, 0 failed, 3 deferred")) << run.out;
  const std::string reason =
      "We have detected your API key as *** and our standard API rate limit is 2 requests per "
      "day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
      "to instantly remove all daily rate limits.";
  // The service's long text once, before the stop line that refers to it; each series only
  // says it was left.
  EXPECT_TRUE(Contains(run.out, "\nmdfetch: the service said: " + reason +
                                    "\nmdfetch: stopped: the service's daily limit is reached "
                                    "(its answer above)\n"))
      << run.out;
  EXPECT_EQ(run.out.find(reason), run.out.rfind(reason)) << run.out;
  for (const char* s : {"AAPL", "GOOG", "AMZN"}) {
    EXPECT_TRUE(Contains(run.out, fmt::format("  deferred {}: the daily quota is spent\n", s)))
        << run.out;
  }
  for (const char* s : {"IBM", "MSFT"}) EXPECT_EQ(Stored(s), Served(s)) << s;
}

TEST_F(FaultsTest, TheApiKeyAppearsInNoOutputAndNoByteOfTheDatabase) {
  // INVALIDQ gets Error Message (one call), IBM, MSFT and AAPL one 503 each
  // (plus random resets and truncations), and the fifth call that counts meets the daily
  // limit's answer, which quotes the key back.
  SimOptions options;
  options.daily_limit = 4;
  options.p_reset = 0.2;
  options.p_truncate = 0.1;
  options.seed = 3;
  options.fail_first = {{"IBM", 1}, {"MSFT", 1}, {"AAPL", 1}};
  StartSim(options);
  WriteSymbols("INVALIDQ\nIBM\nMSFT\nAAPL\nGOOG\n");
  std::vector<CliResult> runs;
  runs.push_back(Refresh({"--rate", "unlimited", "--concurrency", "1", "--retries", "8"}));
  EXPECT_EQ(runs[0].code, kExitQuota) << runs[0].out << runs[0].err;
  EXPECT_TRUE(Contains(runs[0].out, "failed INVALIDQ: unknown to the service: Invalid API call"))
      << runs[0].out;
  EXPECT_TRUE(Contains(runs[0].out, "API key as ***")) << runs[0].out;
  EXPECT_GE(sim_->Stats().faults, 3);
  EXPECT_EQ(sim_->Stats().daily_limited, 1);
  runs.push_back(Cli({"list", "--db", db_}));
  runs.push_back(Cli({"query", "IBM", "--db", db_}));
  runs.push_back(Cli({"export", "--all", "--db", db_}));
  runs.push_back(Cli({"quota", "--db", db_}));
  for (const auto& r : runs) {
    EXPECT_FALSE(Contains(r.out, kKey)) << r.out;
    EXPECT_FALSE(Contains(r.err, kKey)) << r.err;
  }
  EXPECT_TRUE(Contains(runs[0].out, "API key as ***")) << runs[0].out;  // the reason, redacted
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "db")) {
    ++files;
    EXPECT_FALSE(Contains(ReadFileBytes(entry.path().string()), kKey)) << entry.path();
  }
  EXPECT_GE(files, 2);  // market.db and market.db.lock at least
}

TEST_F(FaultsTest, AThrottleAnswerIsNeverStoredAndIsLoggedAsThrottled) {
  SimOptions options;
  options.window_limit = 1;
  options.window = 200ms;
  options.note_style = true;
  options.clock = &clock_;  // the window on the engine's virtual clock: calls meet it however slow
  StartSim(options);
  WriteSymbols("IBM monthly\nMSFT monthly\nAAPL monthly\n");
  auto run = Refresh({"--rate", "unlimited", "--concurrency", "1"});
  EXPECT_EQ(run.code, kExitOk) << run.out << run.err;
  ExpectNoSeriesHoldsForeignBars();
  for (const char* s : {"IBM", "MSFT", "AAPL"}) {
    EXPECT_EQ(Stored(s, Function::kMonthly), Served(s, Function::kMonthly)) << s;
  }
  auto outcomes = FetchOutcomes();
  int64_t throttled = std::count(outcomes.begin(), outcomes.end(), "throttled");
  EXPECT_GT(throttled, 0);
  EXPECT_EQ(throttled, sim_->Stats().throttled);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "stored"), 3);
  EXPECT_EQ(static_cast<int64_t>(outcomes.size()), sim_->Stats().calls);
}

TEST_F(FaultsTest, ARefreshWhileAnotherHoldsTheWriterLockExits2NamingItsPid) {
  StartSim();
  WriteSymbols("IBM\n");
  {
    auto lock = WriterLock::Acquire(db_);
    ASSERT_TRUE(lock) << lock.error().message;
    auto run = Refresh({"--rate", "unlimited"});
    EXPECT_EQ(run.code, kExitUsage);
    EXPECT_EQ(run.err, fmt::format("mdfetch: {} is being refreshed by another mdfetch (pid {}); "
                                   "try again when it finishes\n",
                                   db_, ::getpid()));
    EXPECT_EQ(sim_->Stats().calls, 0);
  }
  auto after = Refresh({"--rate", "unlimited"});  // the lock went with its holder
  EXPECT_EQ(after.code, kExitOk) << after.out << after.err;
}

TEST_F(FaultsTest, ATruncatedAnswerIsRetriedAndNeverStoredPartially) {
  SimOptions options;
  options.p_truncate = 1.0;
  StartSim(options);
  WriteSymbols("IBM\n");
  auto run = Refresh({"--rate", "unlimited", "--retries", "1"});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out,
                       "  failed IBM: failed after 2 attempts: connection closed before "
                       "the answer was complete\n"))
      << run.out;
  EXPECT_EQ(sim_->Stats().calls, 2);
  EXPECT_TRUE(Stored("IBM").empty()) << run.out;
  StartSim();
  auto healthy = Refresh({"--rate", "unlimited"});
  EXPECT_EQ(healthy.code, kExitOk) << healthy.out << healthy.err;
  EXPECT_EQ(Stored("IBM"), Served("IBM"));
}

TEST_F(FaultsTest, AMalformedAnswerIsRetriedAndNeverStoredPartially) {
  SimOptions options;
  options.p_malformed = 1.0;
  StartSim(options);
  WriteSymbols("IBM\n");
  auto run = Refresh({"--rate", "unlimited", "--retries", "1"});
  EXPECT_EQ(run.code, kExitFailed) << run.out << run.err;
  EXPECT_TRUE(Contains(run.out, "  failed IBM: failed after 2 attempts: truncated JSON at byte "))
      << run.out;
  EXPECT_EQ(sim_->Stats().calls, 2);
  EXPECT_TRUE(Stored("IBM").empty()) << run.out;
  // Cut short: a retry may get the whole answer (transient, not a malformed answer).
  EXPECT_EQ(FetchOutcomes(), (std::vector<std::string>{"incomplete", "incomplete"}));
  StartSim();
  auto healthy = Refresh({"--rate", "unlimited"});
  EXPECT_EQ(healthy.code, kExitOk) << healthy.out << healthy.err;
  EXPECT_EQ(Stored("IBM"), Served("IBM"));
}

}  // namespace
}  // namespace mdfetch
