// What `mdfetch copy` reads and writes through the SQLite store: ImportSeries, ImportBars,
// ListCalls, ImportCalls, ListFacts, ListSettings and CountCalls.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mdfetch/market_calendar.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

const SeriesKey kIbm{"IBM", Function::kDaily, ""};
const SeriesKey kMsft{"MSFT", Function::kDaily, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min", false, true};

// A time the store keeps exactly (it stores Unix milliseconds).
WallTime At(int64_t millis) { return WallTime{} + std::chrono::milliseconds(millis); }

std::vector<Bar> Days(int n) {
  std::vector<Bar> bars;
  for (int i = 0; i < n; ++i) {
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

SeriesState FullState(const SeriesKey& key) {
  SeriesState state;
  state.key = key;
  state.time_zone = "US/Eastern";
  state.last_refreshed = "2024-01-05";
  state.history_limited = true;
  state.needs_full = true;
  state.deferred = true;
  state.last_attempt_at = At(1'700'000'000'123);
  state.last_success_at = At(1'700'000'000'000);
  state.last_outcome = "deferred";
  state.last_error = "stopped by the daily quota";
  state.provisional_ts = "2024-01-05";
  return state;
}

CallRow Call(std::optional<SeriesKey> series, int64_t millis, std::string outcome = "stored") {
  CallRow call;
  call.at = At(millis);
  call.series = std::move(series);
  call.outputsize = "full";
  call.outcome = std::move(outcome);
  call.http_status = 200;
  call.bytes = 4096;
  call.bars_new = 5;
  call.bars_changed = 1;
  call.bars_unchanged = 2;
  call.error = "";
  call.month = "2024-01";
  return call;
}

class StoreImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::Open(":memory:", OpenMode::kReadWrite);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }

  SeriesState Found(const SeriesKey& key) {
    auto found = store_->Find(key);
    EXPECT_TRUE(found && *found) << (found ? "not stored" : found.error().message);
    return found && *found ? **found : SeriesState{};
  }

  std::unique_ptr<Store> store_;
};

void ExpectSameColumns(const SeriesState& got, const SeriesState& want) {
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.time_zone, want.time_zone);
  EXPECT_EQ(got.last_refreshed, want.last_refreshed);
  EXPECT_EQ(got.history_limited, want.history_limited);
  EXPECT_EQ(got.needs_full, want.needs_full);
  EXPECT_EQ(got.deferred, want.deferred);
  EXPECT_EQ(got.last_attempt_at, want.last_attempt_at);
  EXPECT_EQ(got.last_success_at, want.last_success_at);
  EXPECT_EQ(got.last_outcome, want.last_outcome);
  EXPECT_EQ(got.last_error, want.last_error);
  EXPECT_EQ(got.provisional_ts, want.provisional_ts);
}

TEST_F(StoreImportTest, ImportSeriesKeepsEveryColumn) {
  const SeriesState state = FullState(kAapl5);
  ASSERT_TRUE(store_->ImportSeries(state));
  ExpectSameColumns(Found(kAapl5), state);
  EXPECT_EQ(Found(kAapl5).bar_count, 0);
}

TEST_F(StoreImportTest, ImportSeriesOverwritesAStoredSeries) {
  ASSERT_TRUE(store_->ImportSeries(FullState(kIbm)));
  SeriesState plain;
  plain.key = kIbm;
  plain.time_zone = "UTC";
  ASSERT_TRUE(store_->ImportSeries(plain));
  ExpectSameColumns(Found(kIbm), plain);
  auto all = store_->ListSeries();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(StoreImportTest, ImportBarsUpsertsAndKeepsBarCount) {
  ASSERT_TRUE(store_->ImportSeries(FullState(kIbm)));
  const std::vector<Bar> first = Days(5);
  auto added = store_->ImportBars(kIbm, first);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(*added, 5);
  EXPECT_EQ(Found(kIbm).bar_count, 5);

  // Five repeats (one of them revised) and two new bars.
  std::vector<Bar> second = Days(7);
  second[2].close = 555;
  added = store_->ImportBars(kIbm, second);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(*added, 2);
  const SeriesState state = Found(kIbm);
  EXPECT_EQ(state.bar_count, 7);
  EXPECT_EQ(state.first_ts, "2024-01-01");
  EXPECT_EQ(state.last_ts, "2024-01-07");
  auto bars = store_->ReadBars(kIbm, {});
  ASSERT_TRUE(bars);
  EXPECT_EQ(*bars, second);

  added = store_->ImportBars(kIbm, second);
  ASSERT_TRUE(added);
  EXPECT_EQ(*added, 0);
  EXPECT_EQ(Found(kIbm).bar_count, 7);
}

TEST_F(StoreImportTest, ImportBarsOfAnUnstoredSeriesFails) {
  auto added = store_->ImportBars(kMsft, Days(2));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().message, "importing bars of MSFT failed: the series is not stored");
}

TEST_F(StoreImportTest, ListCallsPagesByIdAndDetachedCallsHaveNoSeries) {
  ASSERT_TRUE(store_->ImportSeries(FullState(kIbm)));
  ASSERT_TRUE(store_->ImportSeries(FullState(kAapl5)));
  const std::vector<CallRow> calls{Call(kIbm, 1000), Call(std::nullopt, 2000, "throttled"),
                                   Call(kAapl5, 3000), Call(kIbm, 4000, "error")};
  ASSERT_TRUE(store_->ImportCalls(calls));

  auto page = store_->ListCalls(0, 3);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->size(), 3u);
  EXPECT_LT((*page)[0].id, (*page)[1].id);
  EXPECT_LT((*page)[1].id, (*page)[2].id);
  EXPECT_EQ((*page)[0].series, kIbm);
  EXPECT_EQ((*page)[1].series, std::nullopt);
  EXPECT_EQ((*page)[1].outcome, "throttled");
  EXPECT_EQ((*page)[2].series, kAapl5);
  const CallRow& row = (*page)[0];
  EXPECT_EQ(row.at, At(1000));
  EXPECT_EQ(row.outputsize, "full");
  EXPECT_EQ(row.outcome, "stored");
  EXPECT_EQ(row.http_status, 200);
  EXPECT_EQ(row.bytes, 4096);
  EXPECT_EQ(row.bars_new, 5);
  EXPECT_EQ(row.bars_changed, 1);
  EXPECT_EQ(row.bars_unchanged, 2);
  EXPECT_EQ(row.month, "2024-01");

  auto rest = store_->ListCalls(page->back().id, 3);
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().outcome, "error");
  EXPECT_EQ(rest->front().at, At(4000));
  auto none = store_->ListCalls(rest->front().id, 3);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreImportTest, ListCallsSeesCallsLoggedByARefresh) {
  auto id = store_->BeginCall(kMsft, OutputSize::kCompact, At(5000));
  ASSERT_TRUE(id);
  ASSERT_TRUE(store_->FinishCall(*id, kMsft, CallRecord{"throttled", 200, 120, "slow down"}));
  auto calls = store_->ListCalls(0, 10);
  ASSERT_TRUE(calls);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ(calls->front().id, *id);
  EXPECT_EQ(calls->front().series, kMsft);
  EXPECT_EQ(calls->front().outputsize, "compact");
  EXPECT_EQ(calls->front().outcome, "throttled");
  EXPECT_EQ(calls->front().error, "slow down");
  EXPECT_EQ(calls->front().month, "");
}

TEST_F(StoreImportTest, ImportCallsRefusesACallOfAnUnstoredSeriesAndWritesNothing) {
  ASSERT_TRUE(store_->ImportSeries(FullState(kIbm)));
  const std::vector<CallRow> calls{Call(kIbm, 1000), Call(kMsft, 2000)};
  Status done = store_->ImportCalls(calls);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message, "importing calls failed: MSFT is not stored");
  auto count = store_->CountCalls();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 0);
}

TEST_F(StoreImportTest, CountCallsCountsEveryRow) {
  auto count = store_->CountCalls();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 0);
  ASSERT_TRUE(store_->ImportCalls(std::vector<CallRow>{Call(std::nullopt, 1), Call({}, 2)}));
  ASSERT_TRUE(store_->BeginCall(kIbm, OutputSize::kFull, At(3)));
  count = store_->CountCalls();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 3);
}

TEST_F(StoreImportTest, FactsAndSettingsAreListedInKeyOrder) {
  ASSERT_TRUE(store_->SetFact("origin", "simulator"));
  ASSERT_TRUE(store_->SetFact("full_refused:daily", "1"));
  ASSERT_TRUE(store_->SetSetting("rate", "5/min", At(2000)));
  ASSERT_TRUE(store_->SetSetting("copy.calls_from:a.db", "17", At(1000)));

  auto facts = store_->ListFacts();
  ASSERT_TRUE(facts) << facts.error().message;
  ASSERT_EQ(facts->size(), 2u);
  EXPECT_EQ((*facts)[0].key, "full_refused:daily");
  EXPECT_EQ((*facts)[0].value, "1");
  EXPECT_EQ((*facts)[0].set_at, std::nullopt);
  EXPECT_EQ((*facts)[1].key, "origin");
  EXPECT_EQ((*facts)[1].value, "simulator");

  auto settings = store_->ListSettings();
  ASSERT_TRUE(settings) << settings.error().message;
  ASSERT_EQ(settings->size(), 2u);
  EXPECT_EQ((*settings)[0].key, "copy.calls_from:a.db");
  EXPECT_EQ((*settings)[0].value, "17");
  EXPECT_EQ((*settings)[0].set_at, At(1000));
  EXPECT_EQ((*settings)[1].key, "rate");
  EXPECT_EQ((*settings)[1].value, "5/min");
  EXPECT_EQ((*settings)[1].set_at, At(2000));
}

}  // namespace
}  // namespace mdfetch
