// `mdfetch copy --from SRC --to DST` end to end through the in-process CLI: a full copy, a
// rerun, an interrupted copy finished, the refusals, and the progress line.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "fake_clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/store.h"
#include "pg_cluster.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

const SeriesKey kIbm{"IBM", Function::kDaily, ""};
const SeriesKey kMsft{"MSFT", Function::kDaily, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min", false, true};
constexpr const char* kApiKey = "SECRETKEY123";

std::vector<Bar> Days(int n, int first = 0) {
  std::vector<Bar> bars;
  for (int i = first; i < first + n; ++i) {
    Bar bar;
    bar.ts = FormatDate(std::chrono::sys_days{2024y / 1 / 1} + std::chrono::days{i});
    bar.open = 100 + i;
    bar.high = 102 + i;
    bar.low = 99 + i;
    bar.close = 101 + i;
    bar.volume = 1000 + i;
    bar.adjusted_close = 100.5 + i;
    bars.push_back(bar);
  }
  return bars;
}

std::vector<Bar> Minutes(int n) {
  std::vector<Bar> bars;
  for (int i = 0; i < n; ++i) {
    Bar bar;
    bar.ts = fmt::format("2024-01-02 09:{:02}:00", 30 + 5 * i);
    bar.open = bar.high = bar.low = bar.close = 180 + i;
    bar.volume = 500;
    bars.push_back(bar);
  }
  return bars;
}

int64_t Millis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A call row without its id, to compare logs across stores.
std::string CallText(const CallRow& c) {
  return fmt::format("{} {} {} {} {} {} {} {} {} '{}' {}", Millis(c.at),
                     c.series ? Describe(*c.series) : "-", c.outputsize, c.outcome, c.http_status,
                     c.bytes, c.bars_new, c.bars_changed, c.bars_unchanged, c.error, c.month);
}

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("copy_{}_{}", info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    src_ = (dir_ / "src.db").string();
    dst_ = (dir_ / "dst.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<Store> Open(const std::string& path) {
    auto store = Store::Open(path, OpenMode::kReadWrite);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  // Logs a call and stores `bars` as its answer, as a refresh does.
  static void Put(Store& store, const SeriesKey& key, const std::vector<Bar>& bars, WallTime at,
                  NewestBar newest = NewestBar::kFinal) {
    auto call = store.BeginCall(key, OutputSize::kFull, at);
    ASSERT_TRUE(call) << call.error().message;
    SeriesMeta meta{key.symbol, bars.back().ts, "US/Eastern", "Full size", key.interval};
    auto stored =
        store.StoreAnswer(*call, key, meta, bars, false, CallRecord{"stored", 200, 4096, ""}, at,
                          StoreScope::kLatest, newest);
    ASSERT_TRUE(stored) << stored.error().message;
  }

  // SRC: two series with bars (one provisional), one whose call failed, a detached call,
  // facts and settings.
  void FillSource(std::string_view origin = "simulator") {
    auto store = Open(src_);
    ASSERT_TRUE(store);
    const WallTime t0 = clock_.WallNow() - 48h;
    Put(*store, kIbm, Days(10), t0);
    Put(*store, kAapl5, Minutes(5), t0 + 1min, NewestBar::kProvisional);
    auto failed = store->BeginCall(kMsft, OutputSize::kCompact, t0 + 2min);
    ASSERT_TRUE(failed);
    ASSERT_TRUE(store->FinishCall(*failed, kMsft, CallRecord{"error", 500, 12, "HTTP 500"}));
    ASSERT_TRUE(store->SetDeferred(kMsft, true, "stopped by the daily quota"));
    CallRow detached;
    detached.at = t0 + 3min;
    detached.outcome = "throttled";
    ASSERT_TRUE(store->ImportCalls(std::vector<CallRow>{detached}));
    Put(*store, kIbm, Days(12), t0 + 24h);
    ASSERT_TRUE(store->SetFact("origin", origin));
    ASSERT_TRUE(store->SetFact("full_refused:daily", "1"));
    ASSERT_TRUE(store->SetSetting("rate", "5/min,25/day", t0));
    ASSERT_TRUE(store->SetSetting("copy.calls_from:/elsewhere.db", "99", t0));
  }

  CliResult Copy(const std::string& from, const std::string& to) {
    return RunCliCaptured(clock_, {"copy", "--from", from, "--to", to},
                          {{"ALPHAVANTAGE_API_KEY", kApiKey}});
  }

  std::string MarkKey() const {
    return "copy.calls_from:" + std::filesystem::weakly_canonical(src_).string();
  }

  // DST holds everything SRC holds: series (every column), bars, calls, facts, settings.
  void ExpectSameStores(int64_t extra_dst_calls = 0) {
    auto src = Open(src_);
    auto dst = Open(dst_);
    ASSERT_TRUE(src && dst);
    auto a = src->ListSeries();
    auto b = dst->ListSeries();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
      SeriesState x = (*a)[i];
      SeriesState y = (*b)[i];
      x.id = y.id = 0;
      EXPECT_EQ(x.key, y.key);
      EXPECT_EQ(x.time_zone, y.time_zone);
      EXPECT_EQ(x.last_refreshed, y.last_refreshed);
      EXPECT_EQ(x.history_limited, y.history_limited);
      EXPECT_EQ(x.needs_full, y.needs_full);
      EXPECT_EQ(x.deferred, y.deferred);
      EXPECT_EQ(x.last_attempt_at, y.last_attempt_at);
      EXPECT_EQ(x.last_success_at, y.last_success_at);
      EXPECT_EQ(x.last_outcome, y.last_outcome);
      EXPECT_EQ(x.last_error, y.last_error);
      EXPECT_EQ(x.bar_count, y.bar_count);
      EXPECT_EQ(x.first_ts, y.first_ts);
      EXPECT_EQ(x.last_ts, y.last_ts);
      EXPECT_EQ(x.provisional_ts, y.provisional_ts);
      auto bars_a = src->ReadBars(x.key, {});
      auto bars_b = dst->ReadBars(x.key, {});
      ASSERT_TRUE(bars_a && bars_b);
      EXPECT_EQ(*bars_a, *bars_b) << Describe(x.key);
    }
    auto calls_a = src->ListCalls(0, 1000);
    auto calls_b = dst->ListCalls(0, 1000);
    ASSERT_TRUE(calls_a && calls_b);
    ASSERT_EQ(calls_a->size() + static_cast<size_t>(extra_dst_calls), calls_b->size());
    for (size_t i = 0; i < calls_a->size(); ++i) {
      EXPECT_EQ(CallText((*calls_a)[i]),
                CallText((*calls_b)[i + static_cast<size_t>(extra_dst_calls)]));
    }
    auto facts_a = src->ListFacts();
    auto facts_b = dst->ListFacts();
    ASSERT_TRUE(facts_a && facts_b);
    ASSERT_EQ(facts_a->size(), facts_b->size());
    for (size_t i = 0; i < facts_a->size(); ++i) {
      EXPECT_EQ((*facts_a)[i].key, (*facts_b)[i].key);
      EXPECT_EQ((*facts_a)[i].value, (*facts_b)[i].value);
    }
    auto settings_a = src->ListSettings();
    auto settings_b = dst->ListSettings();
    ASSERT_TRUE(settings_a && settings_b);
    std::vector<std::string> want;
    for (const NamedValue& s : *settings_a) {
      if (s.key.starts_with("copy.")) continue;
      want.push_back(fmt::format("{}={}@{}", s.key, s.value, Millis(*s.set_at)));
    }
    std::vector<std::string> got;
    for (const NamedValue& s : *settings_b) {
      if (s.key.starts_with("copy.calls_from:")) {  // DST's own marks
        if (s.key == MarkKey()) {
          EXPECT_EQ(s.value, std::to_string(calls_a->back().id));
        }
        continue;
      }
      if (s.key == "copy.probe") continue;  // DST's own probe
      got.push_back(fmt::format("{}={}@{}", s.key, s.value, Millis(*s.set_at)));
    }
    EXPECT_EQ(got, want);
  }

  int64_t Calls(const std::string& path) {
    auto store = Open(path);
    auto n = store->CountCalls();
    return n ? *n : -1;
  }

  FakeClock clock_;
  std::filesystem::path dir_;
  std::string src_;
  std::string dst_;
};

TEST_F(CopyTest, FullCopyEqualsTheSource) {
  FillSource();
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n");
  EXPECT_EQ(r.err, "");
  ExpectSameStores();
}

TEST_F(CopyTest, RerunCopiesNothingAndStillVerifies) {
  FillSource();
  ASSERT_EQ(Copy(src_, dst_).code, 0);
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n");
  EXPECT_EQ(Calls(dst_), 5);
  ExpectSameStores();
}

TEST_F(CopyTest, TheSameSourceNamedAnotherWayDoesNotDuplicateCalls) {
  FillSource();
  ASSERT_EQ(Copy(src_, dst_).code, 0);
  CliResult r = Copy((dir_ / "." / "src.db").string(), dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Calls(dst_), 5);
}

TEST_F(CopyTest, AnInterruptedCopyFinishesWithoutDuplicates) {
  FillSource();
  {
    // What a copy killed midway leaves: the series, part of IBM's bars, the first two calls
    // with their high-water mark.
    auto src = Open(src_);
    auto dst = Open(dst_);
    ASSERT_TRUE(src && dst);
    auto series = src->ListSeries();
    ASSERT_TRUE(series);
    for (const SeriesState& state : *series) ASSERT_TRUE(dst->ImportSeries(state));
    ASSERT_TRUE(dst->ImportBars(kIbm, Days(6)));
    auto calls = src->ListCalls(0, 2);
    ASSERT_TRUE(calls);
    ASSERT_TRUE(dst->ImportCalls(*calls));
    ASSERT_TRUE(dst->SetSetting(MarkKey(), std::to_string(calls->back().id), clock_.WallNow()));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n");
  EXPECT_EQ(Calls(dst_), 5);
  ExpectSameStores();
}

// A copy killed between a page of calls and its mark: the mark says which page was in flight
// and how long DST's log was before it.
class CopyKilledInCallsTest : public CopyTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CopyKilledInCallsTest, FinishesWithoutDuplicatesWhetherOrNotThePageWentIn) {
  const bool page_went_in = GetParam();
  FillSource();
  {
    auto src = Open(src_);
    auto dst = Open(dst_);
    ASSERT_TRUE(src && dst);
    auto series = src->ListSeries();
    ASSERT_TRUE(series);
    for (const SeriesState& state : *series) ASSERT_TRUE(dst->ImportSeries(state));
    auto calls = src->ListCalls(0, 2);
    ASSERT_TRUE(calls);
    ASSERT_TRUE(
        dst->SetSetting(MarkKey(), fmt::format("0 {} 0", calls->back().id), clock_.WallNow()));
    if (page_went_in) {
      ASSERT_TRUE(dst->ImportCalls(*calls));
    }
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Calls(dst_), 5);
  ExpectSameStores();
}

TEST_F(CopyTest, AnOldBarChangedInTheSourceIsCopiedOnTheRerun) {
  FillSource();
  ASSERT_EQ(Copy(src_, dst_).code, 0);
  {
    // A later full refresh of SRC rewrites an old bar (an adjusted close after a split).
    auto src = Open(src_);
    ASSERT_TRUE(src);
    std::vector<Bar> bars = Days(12);
    bars[2].adjusted_close = 50.25;
    Put(*src, kIbm, bars, clock_.WallNow());
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 6 calls, 2 facts\n");
  ExpectSameStores();
  auto dst = Open(dst_);
  ASSERT_TRUE(dst);
  auto bars = dst->ReadBars(kIbm, {});
  ASSERT_TRUE(bars);
  ASSERT_EQ(bars->size(), 12u);
  EXPECT_EQ((*bars)[2].adjusted_close, 50.25);
}

TEST_F(CopyTest, ACopyKilledBetweenBarsAndStateIsCompletedOnTheRerun) {
  FillSource();
  {
    // What a copy killed inside IBM leaves: a series holding only its key, part of the bars.
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    SeriesState bare;
    bare.key = kIbm;
    ASSERT_TRUE(dst->ImportSeries(bare));
    ASSERT_TRUE(dst->ImportBars(kIbm, Days(7)));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n");
  ExpectSameStores();
}

INSTANTIATE_TEST_SUITE_P(PageInOrNot, CopyKilledInCallsTest, ::testing::Bool());

TEST_F(CopyTest, BarsMissingInTheMiddleOfADestinationSeriesAreFilledIn) {
  FillSource();
  {
    auto src = Open(src_);
    auto dst = Open(dst_);
    ASSERT_TRUE(src && dst);
    auto ibm = src->Find(kIbm);
    ASSERT_TRUE(ibm && *ibm);
    ASSERT_TRUE(dst->ImportSeries(**ibm));
    ASSERT_TRUE(dst->ImportBars(kIbm, Days(3)));
    ASSERT_TRUE(dst->ImportBars(kIbm, Days(4, 8)));  // the same newest bar, 5 bars short
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  ExpectSameStores();
}

TEST_F(CopyTest, CallsAlreadyInTheDestinationStayAndAreNotCountedAsCopied) {
  FillSource();
  {
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    ASSERT_TRUE(dst->ImportCalls(std::vector<CallRow>{CallRow{.at = clock_.WallNow()}}));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n");
  EXPECT_EQ(Calls(dst_), 6);
  ExpectSameStores(1);
}

TEST_F(CopyTest, ADifferenceIsNamedAndTheCopyIsNotVerified) {
  FillSource();
  {
    // DST holds newer IBM bars of its own, which a copy leaves alone.
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    Put(*dst, kIbm, Days(14), clock_.WallNow());
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, fmt::format("mdfetch: copy: IBM: 12 bars (2024-01-01 to 2024-01-12) in SRC, "
                               "14 bars (2024-01-01 to 2024-01-14) in DST\n"
                               "mdfetch: copy from '{}' to '{}' not verified: 1 difference\n",
                               src_, dst_));
}

TEST_F(CopyTest, ASeriesLongerThanABatchIsCopiedWhole) {
  // 100,000 bars go per transaction: this series takes two.
  std::vector<Bar> bars;
  for (int i = 0; i < 100'050; ++i) {
    Bar bar;
    bar.ts = fmt::format("2020-01-01 {:02}:{:02}:{:02}", i / 3600, i / 60 % 60, i % 60);
    bar.open = bar.high = bar.low = bar.close = i;
    bars.push_back(bar);
  }
  {
    auto src = Open(src_);
    ASSERT_TRUE(src);
    Put(*src, SeriesKey{"SPY", Function::kIntraday, "1min"}, bars, clock_.WallNow());
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 1 series, 100,050 bars, 1 call, 0 facts\n");
  ExpectSameStores();
}

TEST_F(CopyTest, SqliteToPostgresqlAndBackGivesTheSameStore) {
  MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
  auto pg = cluster->NewDatabase();
  ASSERT_TRUE(pg) << pg.error().message;
  FillSource();
  const std::string copied = "copied and verified: 3 series, 17 bars, 5 calls, 2 facts\n";
  CliResult there = Copy(src_, *pg);
  EXPECT_EQ(there.code, 0) << there.err;
  EXPECT_EQ(there.out, copied);
  CliResult again = Copy(src_, *pg);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, copied);
  CliResult back = Copy(*pg, dst_);
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(back.out, copied);
  ExpectSameStores();
}

TEST_F(CopyTest, AnEmptySourceCopiesNothing) {
  ASSERT_TRUE(Open(src_));
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copied and verified: 0 series, 0 bars, 0 calls, 0 facts\n");
}

TEST_F(CopyTest, TheSameStoreIsRefused) {
  FillSource();
  CliResult r = Copy(src_, src_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, fmt::format("mdfetch: --from and --to name the same store '{}'; nothing "
                               "copied\n",
                               src_));
  r = Copy(src_, (dir_ / "." / "src.db").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("name the same store"), std::string::npos) << r.err;
  EXPECT_EQ(Calls(src_), 5);
}

TEST_F(CopyTest, TheSameDatabaseUnderTwoSpellingsIsRefused) {
  MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
  auto pg = cluster->NewDatabase();
  ASSERT_TRUE(pg) << pg.error().message;
  FillSource();
  ASSERT_EQ(Copy(src_, *pg).code, 0);
  // postgresql://mdfetch@/t_x?host=DIR&port=N as postgresql://mdfetch@/t_x?port=N&host=DIR.
  const size_t query = pg->find('?');
  ASSERT_NE(query, std::string::npos) << *pg;
  const std::string params = pg->substr(query + 1);
  const size_t amp = params.find('&');
  ASSERT_NE(amp, std::string::npos) << *pg;
  const std::string other =
      pg->substr(0, query + 1) + params.substr(amp + 1) + "&" + params.substr(0, amp);
  ASSERT_NE(other, *pg);
  auto count_calls = [&]() -> int64_t {
    auto store = Open(*pg);
    if (!store) return -1;
    auto n = store->CountCalls();
    return n ? *n : -1;
  };
  ASSERT_EQ(count_calls(), 5);
  CliResult r = Copy(*pg, other);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("are the same store; nothing copied"), std::string::npos) << r.err;
  EXPECT_EQ(count_calls(), 5);
  auto store = Open(*pg);
  ASSERT_TRUE(store);
  auto series = store->ListSeries();
  ASSERT_TRUE(series);
  EXPECT_EQ(series->size(), 3u);
}

TEST_F(CopyTest, AMissingSourceIsRefusedAndNothingIsCreated) {
  const std::string missing = (dir_ / "nope.db").string();
  CliResult r = Copy(missing, dst_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, fmt::format("mdfetch: no database at '{}'\n", missing));
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(std::filesystem::exists(dst_));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(CopyTest, SimulatedBarsNeverGoIntoARealStore) {
  FillSource("simulator");
  {
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    Put(*dst, kMsft, Days(2), clock_.WallNow());
    ASSERT_TRUE(dst->SetFact("origin", "alphavantage"));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, fmt::format("mdfetch: '{}' holds simulated bars and '{}' holds bars from "
                               "Alpha Vantage: a copy never mixes them; nothing copied (copy "
                               "into another --to)\n",
                               src_, dst_));
  EXPECT_EQ(Calls(dst_), 1);
}

TEST_F(CopyTest, RealBarsNeverGoIntoASimulatedStore) {
  FillSource("alphavantage");
  {
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    Put(*dst, kMsft, Days(2), clock_.WallNow());
    ASSERT_TRUE(dst->SetFact("origin", "simulator"));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds bars from Alpha Vantage and"), std::string::npos) << r.err;
}

TEST_F(CopyTest, ADestinationWithoutBarsTakesTheSourceOrigin) {
  FillSource("simulator");
  {
    auto dst = Open(dst_);
    ASSERT_TRUE(dst);
    ASSERT_TRUE(dst->SetFact("origin", "alphavantage"));
  }
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 0) << r.err;
  auto dst = Open(dst_);
  auto origin = dst->GetFact("origin");
  ASSERT_TRUE(origin && *origin);
  EXPECT_EQ(**origin, "simulator");
}

TEST_F(CopyTest, ADestinationBeingRefreshedIsRefused) {
  FillSource();
  ASSERT_TRUE(Open(dst_));
  auto lock = WriterLock::Acquire(dst_);
  ASSERT_TRUE(lock) << lock.error().message;
  CliResult r = Copy(src_, dst_);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, fmt::format("mdfetch: {} is being refreshed by another mdfetch (pid {}); "
                               "try again when it finishes\n",
                               dst_, ::getpid()));
  EXPECT_EQ(Calls(dst_), 0);
}

TEST_F(CopyTest, ProgressIsDrawnOnATerminalAndCleared) {
  FillSource();
  std::vector<const char*> argv{"mdfetch", "copy", "--from", src_.c_str(), "--to", dst_.c_str()};
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CliEnv env;
  env.clock = &clock_;
  env.out = out;
  env.err = err;
  env.err_is_terminal = true;
  env.getenv = [](const char*) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ(RunCli(static_cast<int>(argv.size()), argv.data(), env), 0);
  const std::string text = ReadStream(err);
  std::fclose(out);
  std::fclose(err);
  // The clock stands still: one line, the first, then cleared.
  EXPECT_EQ(text, "\r\x1b[Kcopy: 1/3 series, 5/17 bars\r\x1b[K");
}

}  // namespace
}  // namespace mdfetch
