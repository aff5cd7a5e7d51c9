// Several fetchers on one PostgreSQL store (docs/postgresql.md, section 5): two engines share
// one daily quota and one per-minute window against the simulator and never fetch a series
// twice; a fetcher's leases end when it dies or when they expire, and the series it held are
// taken over.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "child_process.h"
#include "mdfetch/engine.h"
#include "mdfetch/transport.h"
#include "pg_cluster.h"
#include "sim_fixture.h"
#include "store_backends.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

// Virtual time shared by several threads: it moves only when every thread taking part sleeps
// on it, and then to the earliest deadline. So no thread sees time jump while it works: a call
// reaches the simulator at the very time it was reserved, as it would on a real clock.
class SharedClock final : public Clock {
 public:
  SharedClock(WallTime wall_start, int participants)
      : wall_start_(wall_start), active_(participants) {}

  SteadyTime Now() override {
    std::lock_guard lock(mu_);
    return now_;
  }
  WallTime WallNow() override {
    std::lock_guard lock(mu_);
    return wall_start_ + std::chrono::duration_cast<WallTime::duration>(now_ - SteadyTime{});
  }
  void SleepUntil(SteadyTime deadline) override {
    std::unique_lock lock(mu_);
    if (deadline <= now_) return;
    deadlines_.insert(deadline);
    Advance();
    cv_.wait(lock, [&] { return now_ >= deadline; });
  }
  // The calling thread takes part no more (its run has ended).
  void Leave() {
    std::lock_guard lock(mu_);
    --active_;
    Advance();
  }

 private:
  // With mu_ held: when every thread taking part sleeps, time moves to the earliest deadline.
  void Advance() {
    if (deadlines_.empty() || static_cast<int>(deadlines_.size()) < active_) return;
    now_ = *deadlines_.begin();
    deadlines_.erase(deadlines_.begin(), deadlines_.upper_bound(now_));
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  SteadyTime now_{};
  WallTime wall_start_;
  int active_;
  std::multiset<SteadyTime> deadlines_;
};

class PgFetchersTest : public SimStoreTest {
 protected:
  void SetUp() override {
    SimStoreTest::SetUp();
    MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
    auto database = cluster->NewDatabase();
    ASSERT_TRUE(database) << database.error().message;
    uri_ = *database;
  }

  std::string Raw(const std::string& sql) const { return RawText(Backend::kPostgres, uri_, sql); }

  static std::vector<SeriesKey> Daily(int n) {
    std::vector<SeriesKey> series;
    for (int i = 0; i < n; ++i)
      series.push_back(SeriesKey{fmt::format("SYM{}", i), Function::kDaily, ""});
    return series;
  }

  // Runs one engine per holder, each on its own connection and thread, on `clock`.
  std::vector<RefreshSummary> RunFetchers(SharedClock& clock, const std::vector<SeriesKey>& series,
                                          const std::vector<std::string>& holders,
                                          const std::string& rate, Nanos lease = 10min,
                                          const std::vector<std::string>& months = {}) {
    auto spec = ParseRateSpec(rate);
    EXPECT_TRUE(spec);
    auto transports = MakeHttpTransportFactory(sim_->BaseUrl(), {});
    EXPECT_TRUE(transports);
    std::vector<RefreshSummary> summaries(holders.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < holders.size(); ++i) {
      threads.emplace_back([&, i] {
        auto store = Store::Open(uri_, OpenMode::kReadWrite);
        EXPECT_TRUE(store) << store.error().message;
        if (store) {
          EngineOptions options{.rate = *spec,
                                .concurrency = 2,
                                .months = months,
                                .api_key = "TESTKEY",
                                .simulated = true,
                                .jitter_seed = i + 1,
                                .holder = holders[i],
                                .lease = lease};
          Engine engine(clock, *transports, **store, options);
          summaries[i] = engine.Run(series);
        }
        clock.Leave();
      });
    }
    for (auto& thread : threads) thread.join();
    return summaries;
  }

  std::string uri_;
};

TEST_F(PgFetchersTest, TwoFetchersKeepOneQuotaAndOneWindowAndStoreEachSeriesOnce) {
  SharedClock clock(FridayEvening(), 2);
  SimOptions sim;
  sim.window_limit = 2;  // the service's own limits, which it answers with a throttle
  sim.window = 60s;
  sim.daily_limit = 10;
  sim.clock = &clock;
  StartSim(sim);
  const std::vector<SeriesKey> series = Daily(14);

  auto summaries = RunFetchers(clock, series, {"fetcher-a", "fetcher-b"}, "2/min,10/day");

  // The service saw the quota and no more, never a window over its limit, each series once.
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.calls, 10);
  EXPECT_EQ(stats.throttled, 0);
  EXPECT_EQ(stats.daily_limited, 0);
  for (const auto& [symbol, calls] : stats.calls_by_symbol) EXPECT_EQ(calls, 1) << symbol;
  // Each series stored by one fetcher exactly, or left deferred for the next run.
  int64_t stored = 0;
  for (size_t s = 0; s < series.size(); ++s) {
    int by = 0;
    bool deferred = false;
    for (const RefreshSummary& summary : summaries) {
      by += summary.results[s].status == SeriesStatus::kStored;
      deferred = deferred || summary.results[s].status == SeriesStatus::kDeferred;
    }
    EXPECT_LE(by, 1) << Describe(series[s]);
    if (by == 0) {
      EXPECT_TRUE(deferred) << Describe(series[s]);
    }
    stored += by;
  }
  EXPECT_EQ(stored, 10);
  for (const RefreshSummary& summary : summaries) {
    EXPECT_EQ(summary.stop, StopCause::kQuota) << summary.stop_reason;
  }
  EXPECT_EQ(Raw("SELECT count(*) || ' ' || count(DISTINCT series_id) FROM mdfetch.fetches "
                "WHERE outcome = 'stored'"),
            "10 10");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.fetches"), "10");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.fetches WHERE holder NOT IN ('fetcher-a', "
                "'fetcher-b')"),
            "0");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE lease_holder IS NOT NULL"), "0");
  // The series left are deferred in the store, the stored ones are not.
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE deferred"), "4");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE deferred AND bar_count > 0"), "0");
  auto store = Store::Open(uri_, OpenMode::kReadOnly);
  ASSERT_TRUE(store) << store.error().message;
  for (const SeriesKey& key : series) {
    auto bars = (*store)->ReadBars(key, BarFilter{});
    ASSERT_TRUE(bars);
    if (!bars->empty()) {
      EXPECT_EQ(*bars, Served(key)) << Describe(key);
    }
  }
}

TEST_F(PgFetchersTest, BackfillMonthsOfOneSeriesAreEachFetchedOnceByTwoFetchers) {
  // The months of one series share its lease: it ends with the last of them, so the other
  // fetcher cannot take the series (and fetch a month again) while one month is in flight.
  SharedClock clock(FridayEvening(), 2);
  StartSim(SimOptions{.clock = &clock});
  const SeriesKey aapl{"AAPL", Function::kIntraday, "5min"};
  const std::vector<std::string> months = {"2026-07", "2026-08", "2026-09"};
  auto summaries =
      RunFetchers(clock, {aapl}, {"fetcher-a", "fetcher-b"}, "unlimited", 10min, months);
  EXPECT_EQ(sim_->Stats().calls, 3);
  for (size_t m = 0; m < months.size(); ++m) {
    int stored = 0;
    for (const RefreshSummary& summary : summaries) {
      ASSERT_EQ(summary.results.size(), months.size());
      stored += summary.results[m].status == SeriesStatus::kStored;
      EXPECT_NE(summary.results[m].status, SeriesStatus::kFailed) << summary.results[m].reason;
    }
    EXPECT_EQ(stored, 1) << months[m];
  }
  EXPECT_EQ(Raw("SELECT count(*) || ' ' || count(DISTINCT month) FROM mdfetch.fetches WHERE "
                "outcome = 'stored'"),
            "3 3");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE lease_holder IS NOT NULL"), "0");
}

TEST_F(PgFetchersTest, AnAnswerALaneCannotStoreStopsTheRunWithTheServersError) {
  SharedClock clock(FridayEvening(), 1);
  StartSim(SimOptions{.clock = &clock});
  // The server refuses every bar of SYM1: its answer's transaction fails on an answer lane
  // (a refresh of a PostgreSQL store stores its answers over extra connections).
  { ASSERT_TRUE(Store::Open(uri_, OpenMode::kReadWrite)); }  // the schema
  ASSERT_EQ(Raw("CREATE FUNCTION mdfetch.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.series_id = (SELECT id FROM mdfetch.series WHERE symbol = 'SYM1') THEN "
                "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"),
            "");
  ASSERT_EQ(Raw("CREATE TRIGGER refuse BEFORE INSERT ON mdfetch.bars FOR EACH ROW EXECUTE "
                "FUNCTION mdfetch.refuse()"),
            "");
  const std::vector<SeriesKey> series = Daily(2);
  auto summaries = RunFetchers(clock, series, {"fetcher-a"}, "unlimited");
  ASSERT_EQ(summaries.size(), 1u);
  const RefreshSummary& summary = summaries[0];
  EXPECT_EQ(summary.stop, StopCause::kError);
  EXPECT_NE(summary.stop_reason.find("cannot write the store: storing SYM1 failed: "),
            std::string::npos)
      << summary.stop_reason;
  EXPECT_NE(summary.stop_reason.find("refused by the test"), std::string::npos)
      << summary.stop_reason;
  EXPECT_EQ(summary.results[1].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[1].reason, "not stored: cannot write the store");
  // SYM1's answer left nothing but its call, still "sent"; SYM0's went in whole, or (when the
  // stop came first) was never sent.
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.bars b JOIN mdfetch.series s ON s.id = "
                "b.series_id WHERE s.symbol = 'SYM1'"),
            "0");
  EXPECT_EQ(Raw("SELECT string_agg(f.outcome, ' ') FROM mdfetch.fetches f JOIN mdfetch.series s "
                "ON s.id = f.series_id WHERE s.symbol = 'SYM1'"),
            "sent");
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE bar_count > 0 AND bar_count <> "
                "(SELECT count(*) FROM mdfetch.bars WHERE series_id = series.id)"),
            "0");
}

TEST_F(PgFetchersTest, ASeriesStoredByAnotherFetcherIsNotFetchedAgainEvenWhenForced) {
  SharedClock clock(FridayEvening(), 1);
  StartSim(SimOptions{.clock = &clock});
  const std::vector<SeriesKey> series = Daily(3);
  // Another fetcher stored SYM1 after this run began (its plan had it due): the run claims
  // it, sees it stored during the run, and makes no call for it.
  auto spec = ParseRateSpec("unlimited");
  auto transports = MakeHttpTransportFactory(sim_->BaseUrl(), {});
  ASSERT_TRUE(spec && transports);
  auto store = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_TRUE(store) << store.error().message;
  {
    auto other = Store::Open(uri_, OpenMode::kReadWrite);
    ASSERT_TRUE(other);
    ASSERT_TRUE((*other)->ClaimSeries(series[1], "other", clock.WallNow(), 10min));
    auto id = (*other)->BeginCall(series[1], OutputSize::kFull, clock.WallNow());
    ASSERT_TRUE(id);
    const std::vector<Bar> bars = Served(series[1]);
    ASSERT_TRUE((*other)->StoreAnswer(*id, series[1], SeriesMeta{.time_zone = "US/Eastern"}, bars,
                                      false, CallRecord{.outcome = "stored"},
                                      clock.WallNow() + 1s));
    ASSERT_TRUE((*other)->ReleaseSeries(series[1], "other"));
  }
  EngineOptions options{
      .rate = *spec, .force = true, .api_key = "K", .simulated = true, .holder = "this"};
  Engine engine(clock, *transports, **store, options);
  RefreshSummary summary = engine.Run(series);
  clock.Leave();
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kStored);
  EXPECT_EQ(summary.results[1].status, SeriesStatus::kUpToDate);
  EXPECT_EQ(summary.results[1].reason, "stored by another mdfetch during this run");
  EXPECT_EQ(summary.results[1].calls, 0);
  EXPECT_EQ(summary.results[2].status, SeriesStatus::kStored);
  EXPECT_EQ(sim_->Stats().calls_by_symbol.count("SYM1"), 0u);
}

TEST_F(PgFetchersTest, ALeaseOfALiveFetcherHoldsUntilItExpiresThenTheSeriesIsTakenOver) {
  SharedClock clock(FridayEvening(), 1);
  StartSim(SimOptions{.clock = &clock});
  const std::vector<SeriesKey> series = Daily(2);
  // A fetcher that hangs (its connection open, no call made) holds SYM0 for 2 minutes.
  auto hung = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_TRUE(hung);
  auto held = (*hung)->ClaimSeries(series[0], "hung", clock.WallNow(), 2min);
  ASSERT_TRUE(held && held->granted);
  auto again = (*hung)->ClaimSeries(series[0], "someone", clock.WallNow(), 2min);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->granted);
  EXPECT_EQ(again->holder, "hung");
  EXPECT_EQ(again->expires, clock.WallNow() + 2min);

  const WallTime start = clock.WallNow();
  auto summaries = RunFetchers(clock, series, {"alive"}, "unlimited");
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].results[0].status, SeriesStatus::kStored);
  EXPECT_EQ(summaries[0].results[1].status, SeriesStatus::kStored);
  // SYM1 went at once; SYM0 only once the hung fetcher's lease had ended.
  EXPECT_GE(clock.WallNow() - start, 2min);
  EXPECT_LT(clock.WallNow() - start, 2min + 10s);
  EXPECT_EQ(sim_->Stats().calls, 2);
}

TEST_F(PgFetchersTest, ReservationsCountEveryFetchersCallsAndALostLeaseIsToldSo) {
  auto a = Store::Open(uri_, OpenMode::kReadWrite);
  auto b = Store::Open(uri_, OpenMode::kReadWrite);
  ASSERT_TRUE(a && b);
  const std::vector<SeriesKey> series = Daily(3);
  const WallTime t0 = FridayEvening();
  auto rate = ParseRateSpec("2/min,3/day");
  ASSERT_TRUE(rate);
  ASSERT_TRUE((*a)->ClaimSeries(series[0], "a", t0, 10min)->granted);
  ASSERT_TRUE((*b)->ClaimSeries(series[1], "b", t0, 10min)->granted);
  ASSERT_TRUE((*b)->ClaimSeries(series[2], "b", t0, 10min)->granted);
  // Not a's series: its lease is b's.
  auto lost = (*a)->ReserveCall(series[1], OutputSize::kCompact, t0, "", *rate, "a", 10min);
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->kind, Reservation::Kind::kLeaseLost);
  auto first = (*a)->ReserveCall(series[0], OutputSize::kCompact, t0, "", *rate, "a", 10min);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->kind, Reservation::Kind::kReserved);
  // b's call right after a's waits for the even spacing of 2/min: 30 s after a's.
  auto wait = (*b)->ReserveCall(series[1], OutputSize::kCompact, t0 + 1s, "", *rate, "b", 10min);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->kind, Reservation::Kind::kWait);
  EXPECT_EQ(wait->retry_at, t0 + 30s);
  auto second = (*b)->ReserveCall(series[1], OutputSize::kCompact, t0 + 30s, "", *rate, "b", 10min);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, Reservation::Kind::kReserved);
  auto third = (*b)->ReserveCall(series[2], OutputSize::kCompact, t0 + 60s, "", *rate, "b", 10min);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->kind, Reservation::Kind::kReserved);
  // The day's 3 calls are spent, by two fetchers: the next is allowed 24 h after the first.
  auto spent = (*a)->ReserveCall(series[0], OutputSize::kCompact, t0 + 2h, "", *rate, "a", 10min);
  ASSERT_TRUE(spent);
  EXPECT_EQ(spent->kind, Reservation::Kind::kDaySpent);
  EXPECT_EQ(spent->retry_at, t0 + 24h);
  // A call that never left gives its slot back (ForgetCall).
  ASSERT_TRUE((*b)->ForgetCall(third->fetch_id, series[2]));
  auto back = (*a)->ReserveCall(series[0], OutputSize::kCompact, t0 + 2h, "", *rate, "a", 10min);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, Reservation::Kind::kReserved);
  EXPECT_EQ(Raw("SELECT string_agg(holder, ',' ORDER BY id) FROM mdfetch.fetches"), "a,b,a");
  // A lease that has expired is anyone's.
  auto late = (*a)->ClaimSeries(series[2], "a", t0 + 12min, 10min);
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->granted);
}

TEST_F(PgFetchersTest, WhenOneOfTwoFetchersIsKilledTheOtherFinishesTheJob) {
  // Two real processes on the real clock; the simulator answers slowly so that the first
  // fetcher is killed holding a lease. Its connection closes with it, and the second fetcher
  // takes its series over without waiting for the (default, 10 minute) lease to expire.
  SimOptions sim;
  sim.latency = 100ms;
  StartSim(sim);
  const std::vector<SeriesKey> series = Daily(8);
  {
    std::ofstream out(symbols_);
    for (const SeriesKey& key : series) out << key.symbol << "\n";
  }
  auto spawn = [&](const std::string& log) {
    return SpawnChild(
        {MDFETCH_BINARY, "refresh", "--symbols", symbols_, "--db", uri_, "--base-url",
         sim_->BaseUrl(), "--api-key", "K", "--concurrency", "1", "--rate", "unlimited", "--sim"},
        log, "");
  };
  const std::string log_b = (dir_ / "b.log").string();
  pid_t a = spawn((dir_ / "a.log").string());
  ASSERT_GT(a, 0);
  pid_t b = spawn(log_b);
  ASSERT_GT(b, 0);
  // Once the two have made three calls between them, the first has one in flight or about to
  // be: kill it.
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (sim_->Stats().calls < 3 && waitpid(a, &status, WNOHANG) == 0 &&
         std::chrono::steady_clock::now() - start < 60s) {
    std::this_thread::yield();
  }
  kill(a, SIGKILL);
  waitpid(a, &status, 0);
  // The other finishes long before the killed one's 10-minute leases could have expired.
  while (waitpid(b, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - start > 120s) {
      kill(b, SIGKILL);
      waitpid(b, &status, 0);
      FAIL() << "the second fetcher did not finish: the killed one's series were not taken over";
    }
    std::this_thread::sleep_for(10ms);
  }
  std::string out_b;
  {
    std::ifstream in(log_b);
    out_b.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_TRUE(WIFEXITED(status)) << out_b;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out_b;
  auto store = Store::Open(uri_, OpenMode::kReadOnly);
  ASSERT_TRUE(store) << store.error().message;
  for (const SeriesKey& key : series) {
    auto bars = (*store)->ReadBars(key, BarFilter{});
    ASSERT_TRUE(bars);
    EXPECT_EQ(*bars, Served(key)) << Describe(key) << "\n" << out_b;
  }
  EXPECT_EQ(Raw("SELECT count(*) FROM mdfetch.series WHERE lease_holder IS NOT NULL"), "0");
}

}  // namespace
}  // namespace mdfetch
