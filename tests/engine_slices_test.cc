// A refresh of a list longer than a slice (issue 13): planned, called and handed on
// kSliceSeries series at a time, the store read on the writer's thread once it runs (TSan runs
// these). Virtual time, a fake service, a real Store on :memory:.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "fake_service.h"
#include "mdfetch/engine.h"
#include "mdfetch/store.h"
#include "test_times.h"

namespace mdfetch {
namespace {

SeriesState StoredAt(SeriesKey key, WallTime at) {
  return SeriesState{.key = std::move(key),
                     .time_zone = "US/Eastern",
                     .last_refreshed = "2026-11-20",
                     .last_success_at = at,
                     .last_outcome = "stored"};
}

std::string SliceSymbol(int i) { return fmt::format("S{:03}", i); }

// A run of more series than a slice (kSliceSeries): planned and called a slice at a time, each
// result handed on once with its position, none held past its slice.
class EngineSlicesTest : public ::testing::Test {
 protected:
  EngineSlicesTest() : clock_(FridayEvening()), service_(clock_) {
    store_ = std::move(*Store::Open(":memory:", OpenMode::kReadWrite));
    options_.api_key = std::string(kKey);
    options_.concurrency = 1;  // the requests in the order they are sent
    service_.SetHandler(
        [](const std::string& target, int) { return Ok(DailyBody(SymbolOf(target), 100)); });
  }

  // A monthly series up to date (stored now, with a bar), as a nothing-due run finds it.
  SeriesKey StoreUpToDate(int i) { return StoreUpToDate(*store_, i); }
  SeriesKey StoreUpToDate(Store& store, int i) {
    SeriesState state =
        StoredAt(SeriesKey{SliceSymbol(i), Function::kMonthly, ""}, clock_.WallNow());
    EXPECT_TRUE(store.ImportSeries(state));
    const Bar bar{.ts = "2026-10-30", .open = 1, .high = 1, .low = 1, .close = 1};
    EXPECT_TRUE(store.ImportBars(state.key, std::span(&bar, 1)));
    return state.key;
  }

  // Runs `keys` streamed; each result lands at its position, which must be new.
  RefreshSummary RunStreamed(const std::vector<SeriesKey>& keys,
                             std::vector<std::optional<SeriesResult>>& results) {
    results.assign(keys.size(), std::nullopt);
    VectorSource source(keys);
    Engine engine(clock_, service_.Factory(), *store_, options_);
    return engine.Run(source, [&](size_t position, SeriesResult&& result) {
      ASSERT_LT(position, results.size());
      EXPECT_FALSE(results[position].has_value()) << "position " << position << " twice";
      results[position] = std::move(result);
    });
  }

  FakeClock clock_;
  FakeService service_;
  std::unique_ptr<Store> store_;
  EngineOptions options_;
};

TEST_F(EngineSlicesTest, EverySeriesOfAListLongerThanASliceIsSettledOnceInItsPlace) {
  const int n = static_cast<int>(2 * kSliceSeries) + 5;
  std::vector<SeriesKey> keys;
  // Three series are due (new), one in each slice; the rest are up to date.
  const std::set<int> due = {3, static_cast<int>(kSliceSeries) + 7, n - 1};
  for (int i = 0; i < n; ++i) {
    keys.push_back(due.contains(i) ? SeriesKey{fmt::format("NEW{}", i), Function::kDaily, ""}
                                   : StoreUpToDate(i));
  }
  std::vector<std::optional<SeriesResult>> results;
  RefreshSummary summary = RunStreamed(keys, results);
  EXPECT_TRUE(summary.results.empty());
  EXPECT_EQ(summary.items, n);
  EXPECT_EQ(summary.calls, 3);
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 3);
  EXPECT_EQ(summary.Count(SeriesStatus::kUpToDate), n - 3);
  EXPECT_EQ(summary.BarsAdded(), 300);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(results[static_cast<size_t>(i)].has_value()) << "position " << i;
    const SeriesResult& r = *results[static_cast<size_t>(i)];
    EXPECT_EQ(r.key, keys[static_cast<size_t>(i)]);
    EXPECT_EQ(r.status, due.contains(i) ? SeriesStatus::kStored : SeriesStatus::kUpToDate) << i;
  }
  // The run over a vector gives the same results, in the same places (on the same store).
  auto other = Store::Open(":memory:", OpenMode::kReadWrite);
  ASSERT_TRUE(other);
  for (int i = 0; i < n; ++i) {
    if (!due.contains(i)) StoreUpToDate(**other, i);
  }
  Engine engine(clock_, service_.Factory(), **other, options_);
  RefreshSummary whole = engine.Run(keys);
  ASSERT_EQ(whole.results.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(whole.results[i].key, results[i]->key);
    EXPECT_EQ(whole.results[i].status, results[i]->status) << i;
    EXPECT_EQ(whole.results[i].counts.added, results[i]->counts.added) << i;
  }
  EXPECT_EQ(whole.items, n);
}

// The series an earlier run left deferred go first, even from the last slice of the list.
TEST_F(EngineSlicesTest, DeferredSeriesGoFirstFromAnySlice) {
  const int n = static_cast<int>(kSliceSeries) + 10;
  std::vector<SeriesKey> keys;
  for (int i = 0; i < n; ++i) {
    if (i < 3) {
      keys.push_back(SeriesKey{fmt::format("NEW{}", i), Function::kDaily, ""});
    } else if (i >= n - 2) {
      SeriesKey key{fmt::format("LEFT{}", i), Function::kDaily, ""};
      SeriesState state =
          StoredAt(key, WallTime(std::chrono::seconds(1'763'676'000)));  // long ago: due
      state.deferred = true;
      ASSERT_TRUE(store_->ImportSeries(state));
      keys.push_back(key);
    } else {
      keys.push_back(StoreUpToDate(i));
    }
  }
  std::vector<std::optional<SeriesResult>> results;
  RefreshSummary summary = RunStreamed(keys, results);
  EXPECT_EQ(summary.calls, 5);
  std::vector<std::string> order;
  for (const auto& request : service_.Requests()) order.push_back(SymbolOf(request.target));
  EXPECT_EQ(order,
            (std::vector<std::string>{fmt::format("LEFT{}", n - 2), fmt::format("LEFT{}", n - 1),
                                      "NEW0", "NEW1", "NEW2"}));
  for (int i : {0, 1, 2, n - 2, n - 1}) {
    EXPECT_EQ(results[static_cast<size_t>(i)]->status, SeriesStatus::kStored) << i;
  }
  EXPECT_EQ(summary.Count(SeriesStatus::kUpToDate), n - 5);
}

// A function refused as premium in one slice is not called again in the next: its series there
// fail with the same reason, without a call.
TEST_F(EngineSlicesTest, APremiumRefusalLearntInOneSliceHoldsForTheNext) {
  service_.SetHandler([](const std::string&, int) {
    return Ok(
        Info("Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe "
             "to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
             "unlock all premium endpoints"));
  });
  const int n = static_cast<int>(kSliceSeries) + 1;
  std::vector<SeriesKey> keys;
  for (int i = 0; i < n; ++i) {
    keys.push_back(i == 0 || i == n - 1
                       ? SeriesKey{fmt::format("ADJ{}", i), Function::kDailyAdjusted, ""}
                       : StoreUpToDate(i));
  }
  std::vector<std::optional<SeriesResult>> results;
  RefreshSummary summary = RunStreamed(keys, results);
  EXPECT_EQ(summary.calls, 1);
  EXPECT_EQ(summary.Count(SeriesStatus::kFailed), 2);
  EXPECT_EQ(results.back()->status, SeriesStatus::kFailed);
  EXPECT_EQ(results.back()->calls, 0);
  EXPECT_EQ(results.back()->reason, results.front()->reason);
  EXPECT_NE(results.back()->reason.find("premium-only"), std::string::npos);
}

}  // namespace
}  // namespace mdfetch
