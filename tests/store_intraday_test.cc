// Store: schema version 2 — the intraday switches in a series' identity, backfill months in
// the call log, and the upgrade of a version 1 file.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mdfetch/store.h"
#include "store_backends.h"

namespace mdfetch {
namespace {

const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min"};
const SeriesKey kAapl5Raw{"AAPL", Function::kIntraday, "5min", false, true};
const SeriesKey kAapl5RawRegular{"AAPL", Function::kIntraday, "5min", false, false};

std::vector<Bar> Bars(const std::string& day, double close, int n) {
  std::vector<Bar> bars;
  for (int i = 0; i < n; ++i) {
    Bar bar;
    bar.ts = fmt::format("{} {:02}:{:02}:00", day, 10 + i / 12, i % 12 * 5);
    bar.close = close + i;
    bar.open = bar.close - 0.5;
    bar.high = bar.close + 1;
    bar.low = bar.close - 1;
    bar.volume = 100 + i;
    bars.push_back(bar);
  }
  return bars;
}

SeriesMeta Meta(std::string last_refreshed) {
  return SeriesMeta{"AAPL", std::move(last_refreshed), "US/Eastern", "Full size", "5min"};
}

// The first column of the first row, as text.
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  } else if (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    out = text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class StoreIntradayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("store_intraday_{}_{}", info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "market.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::unique_ptr<Store> Open(OpenMode mode = OpenMode::kReadWrite) {
    auto store = Store::Open(path_, mode);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }
  // Logs a call (for `month`, "" = the latest bars) and stores its answer.
  static StoreCounts Put(Store& store, const SeriesKey& key, const std::vector<Bar>& bars,
                         WallTime at, const std::string& month = "") {
    auto call = store.BeginCall(key, OutputSize::kFull, at, month);
    EXPECT_TRUE(call) << call.error().message;
    auto counts = store.StoreAnswer(call.value_or(0), key, Meta(bars.back().ts), bars, false,
                                    CallRecord{"stored", 200, 100, ""}, at,
                                    month.empty() ? StoreScope::kLatest : StoreScope::kBackfill);
    EXPECT_TRUE(counts) << counts.error().message;
    return counts.value_or(StoreCounts{});
  }

  std::filesystem::path dir_;
  std::string path_;
};

// The tests both backends pass: SQLite's file, or (path_ its URI) a fresh PostgreSQL database.
class StoreIntradayBackendTest : public StoreIntradayTest,
                                 public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    StoreIntradayTest::SetUp();
    MDFETCH_FRESH_PG_DATABASE(GetParam(), path_);
  }
  std::string Raw(const std::string& sql) const { return RawText(GetParam(), path_, sql); }
};

TEST_P(StoreIntradayBackendTest, SwitchesMakeSeparateSeries) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Put(*store, kAapl5, Bars("2024-03-01", 100, 3), At(1'000));
  Put(*store, kAapl5Raw, Bars("2024-03-01", 200, 4), At(1'000));
  Put(*store, kAapl5RawRegular, Bars("2024-03-01", 300, 5), At(1'000));

  auto adjusted = store->ReadBars(kAapl5, {});
  auto raw = store->ReadBars(kAapl5Raw, {});
  ASSERT_TRUE(adjusted && raw);
  ASSERT_EQ(adjusted->size(), 3u);
  ASSERT_EQ(raw->size(), 4u);
  EXPECT_EQ(adjusted->front().close, 100);
  EXPECT_EQ(raw->front().close, 200);

  auto found = store->Find(kAapl5RawRegular);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->key, kAapl5RawRegular);
  EXPECT_EQ((*found)->bar_count, 5);

  auto all = store->ListSeries();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, kAapl5);  // options "" sorts first
  EXPECT_EQ((*all)[1].key, kAapl5Raw);
  EXPECT_EQ((*all)[2].key, kAapl5RawRegular);
  EXPECT_EQ(Raw(GetParam() == Backend::kSqlite
                    ? "SELECT group_concat(options, '|') FROM series"
                    : "SELECT string_agg(options, '|' ORDER BY id) FROM series"),
            "|adjusted=false|adjusted=false extended_hours=false");

  std::vector<std::string> seen;
  ASSERT_TRUE(store->ForEachBar({}, {}, [&](const SeriesKey& key, const Bar& bar) {
    seen.push_back(Describe(key) + " " + fmt::format("{}", bar.close));
    return true;
  }));
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen[0], "AAPL intraday:5min 100");
  EXPECT_EQ(seen[3], "AAPL intraday:5min adjusted=false 200");
  EXPECT_EQ(seen[7], "AAPL intraday:5min adjusted=false extended_hours=false 300");
}

// A backfilled month adds bars but leaves the series as fresh (or stale) as it was: the next
// refresh must still fetch the newest bars.
TEST_P(StoreIntradayBackendTest, BackfillLeavesTheSeriesFreshnessAlone) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Put(*store, kAapl5, Bars("2024-05-01", 100, 2), At(1'000));
  ASSERT_TRUE(store->SetNeedsFull(kAapl5, true));
  auto before = store->Find(kAapl5);
  ASSERT_TRUE(before && *before);

  StoreCounts counts = Put(*store, kAapl5, Bars("2024-03-01", 50, 6), At(9'000), "2024-03");
  EXPECT_EQ(counts.added, 6);
  auto after = store->Find(kAapl5);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->bar_count, 8);
  EXPECT_EQ((*after)->first_ts, "2024-03-01 10:00:00");
  EXPECT_EQ((*after)->last_ts, (*before)->last_ts);
  EXPECT_EQ((*after)->last_success_at, At(1'000));
  EXPECT_EQ((*after)->last_refreshed, (*before)->last_refreshed);
  EXPECT_TRUE((*after)->needs_full);
  EXPECT_EQ((*after)->last_attempt_at, At(9'000));
  EXPECT_EQ(Raw("SELECT month FROM fetches ORDER BY id DESC LIMIT 1"), "2024-03");
}

TEST_P(StoreIntradayBackendTest, BackfillOfANewSeriesRecordsItsZoneButNoSuccess) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Put(*store, kAapl5Raw, Bars("2024-03-01", 50, 2), At(9'000), "2024-03");
  auto state = store->Find(kAapl5Raw);
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->time_zone, "US/Eastern");
  EXPECT_FALSE((*state)->last_success_at.has_value());
  EXPECT_EQ((*state)->last_refreshed, "");
}

TEST_P(StoreIntradayBackendTest, MonthStoredAtIsTheNewestStoredCallOfThatMonth) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto none = store->MonthStoredAt(kAapl5, "2024-03");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  Put(*store, kAapl5, Bars("2024-03-01", 50, 2), At(5'000), "2024-03");
  Put(*store, kAapl5, Bars("2024-03-01", 50, 2), At(7'000), "2024-03");
  Put(*store, kAapl5, Bars("2024-04-01", 50, 2), At(8'000), "2024-04");
  Put(*store, kAapl5, Bars("2024-05-01", 50, 2), At(9'000));
  Put(*store, kAapl5Raw, Bars("2024-03-01", 50, 2), At(9'500), "2024-03");
  // A call of the month that stored nothing does not count.
  auto failed = store->BeginCall(kAapl5, OutputSize::kFull, At(9'900), "2024-03");
  ASSERT_TRUE(failed);
  ASSERT_TRUE(store->FinishCall(*failed, kAapl5, CallRecord{"throttled", 200, 10, "slow"}));

  auto march = store->MonthStoredAt(kAapl5, "2024-03");
  ASSERT_TRUE(march && march->has_value());
  EXPECT_EQ(**march, At(7'000));
  auto june = store->MonthStoredAt(kAapl5, "2024-06");
  ASSERT_TRUE(june);
  EXPECT_FALSE(june->has_value());
}

// tests/data/market-v1.sql is a file written by the previous schema: opening it for writing
// upgrades it in place, keeping every series, bar, call and fact with its id.
TEST_F(StoreIntradayTest, MigratesAVersion1Database) {
  std::ifstream in(MDFETCH_TEST_DATA_DIR "/market-v1.sql");
  ASSERT_TRUE(in);
  std::stringstream sql;
  sql << in.rdbuf();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }
  // A reader cannot upgrade, and says so.
  auto reader = Store::Open(path_, OpenMode::kReadOnly);
  ASSERT_FALSE(reader);
  EXPECT_NE(reader.error().message.find("schema version 1, older than this mdfetch needs"),
            std::string::npos)
      << reader.error().message;

  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryText(path_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto ibm = store->Find({"IBM", Function::kDaily, ""});
  ASSERT_TRUE(ibm && *ibm);
  EXPECT_EQ((*ibm)->id, 1);
  EXPECT_EQ((*ibm)->bar_count, 3);
  EXPECT_TRUE((*ibm)->history_limited);
  EXPECT_EQ((*ibm)->last_ts, "2024-01-04");
  auto aapl = store->Find(kAapl5);
  ASSERT_TRUE(aapl && *aapl);
  EXPECT_EQ((*aapl)->id, 2);
  EXPECT_TRUE((*aapl)->deferred);
  EXPECT_EQ((*aapl)->last_error, "daily quota of 25 calls spent");
  auto deferred = store->DeferredSeries();
  ASSERT_TRUE(deferred);
  EXPECT_EQ(*deferred, std::vector<SeriesKey>{kAapl5});
  auto origin = store->GetFact("origin");
  ASSERT_TRUE(origin && origin->has_value());
  EXPECT_EQ(**origin, "alphavantage");
  EXPECT_EQ(QueryText(path_, "SELECT count(*) || ' ' || group_concat(month, '') FROM fetches"),
            "2 ");

  // The bars still belong to their series, the bar-count trigger is back, and the new
  // identity takes a second AAPL 5min series.
  EXPECT_EQ(QueryText(path_, "PRAGMA foreign_key_check"), "");
  EXPECT_EQ(QueryText(path_, "PRAGMA integrity_check"), "ok");
  {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_exec(db, "DELETE FROM bars WHERE series_id = 1 AND ts = '2024-01-02'", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db);
  }
  ibm = store->Find({"IBM", Function::kDaily, ""});
  ASSERT_TRUE(ibm && *ibm);
  EXPECT_EQ((*ibm)->bar_count, 2);
  Put(*store, kAapl5Raw, Bars("2024-01-03", 180, 2), At(1'000));
  auto all = store->ListSeries();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
  store.reset();
  EXPECT_TRUE(Store::Open(path_, OpenMode::kReadOnly).has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreIntradayBackendTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace mdfetch
