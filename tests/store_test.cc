#include "mdfetch/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "store_backends.h"

namespace mdfetch {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

const SeriesKey kIbm{"IBM", Function::kDaily, ""};
const SeriesKey kIbmWeekly{"IBM", Function::kWeekly, ""};
const SeriesKey kMsft{"MSFT", Function::kDaily, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min"};
const SeriesKey kEurUsd{"EUR/USD", Function::kFxDaily, ""};

// Days 2024-01-01 .. 2024-01-n, closing at 100, 101, ...
std::vector<Bar> Days(int n) {
  std::vector<Bar> bars;
  for (int day = 1; day <= n; ++day)
    bars.push_back(MakeBar(fmt::format("2024-01-{:02}", day), 99 + day));
  return bars;
}

// The date `day` days after 2025-01-01 ("2025-01-01" for 0).
std::string DayTs(int day) {
  const std::chrono::year_month_day date{
      std::chrono::sys_days{std::chrono::year{2025} / std::chrono::January / 1} +
      std::chrono::days{day}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

// Bars DayTs(first) .. DayTs(last), closing at 100 + day; all of them sort after the bars of
// Days().
std::vector<Bar> DayRange(int first, int last) {
  std::vector<Bar> bars;
  for (int day = first; day <= last; ++day) bars.push_back(MakeBar(DayTs(day), 100 + day));
  return bars;
}

SeriesMeta Meta(std::string last_refreshed = "2024-01-05") {
  return SeriesMeta{"IBM", std::move(last_refreshed), "US/Eastern", "Compact", ""};
}

CallRecord Stored() { return CallRecord{"stored", 200, 4096, ""}; }

std::vector<std::string> Timestamps(const std::vector<Bar>& bars) {
  std::vector<std::string> out;
  for (const Bar& bar : bars) out.push_back(bar.ts);
  return out;
}

// A raw connection, for looking at the file the way `sqlite3` would.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  // First column of the first row as text ("NULL" for NULL, "" for no row).
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return std::string("error: ") + sqlite3_errmsg(db_);
    }
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("store_{}_{}_{}", info->test_suite_name(), info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "market.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::unique_ptr<Store> OpenAt(const std::string& path,
                                       OpenMode mode = OpenMode::kReadWrite) {
    Result<std::unique_ptr<Store>> store = Store::Open(path, mode);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }
  std::unique_ptr<Store> OpenFile(OpenMode mode = OpenMode::kReadWrite) {
    return OpenAt(path_, mode);
  }

  // Logs a call and stores its answer, as a refresh does.
  static StoreCounts Put(Store& store, const SeriesKey& key, const std::vector<Bar>& bars,
                         WallTime at = At(1'000)) {
    Result<int64_t> call = store.BeginCall(key, OutputSize::kCompact, at);
    EXPECT_TRUE(call) << call.error().message;
    Result<StoreCounts> counts =
        store.StoreAnswer(call.value_or(0), key, Meta(), bars, false, Stored(), at);
    EXPECT_TRUE(counts) << counts.error().message;
    return counts.value_or(StoreCounts{-1, -1, -1});
  }

  static std::vector<Bar> Read(Store& store, const SeriesKey& key, BarFilter filter = {}) {
    Result<std::vector<Bar>> bars = store.ReadBars(key, filter);
    EXPECT_TRUE(bars) << bars.error().message;
    return bars.value_or(std::vector<Bar>{});
  }

  std::filesystem::path dir_;
  std::string path_;
};

// The tests both backends pass: SQLite's file, or (path_ its URI) a fresh PostgreSQL database.
class StoreBackendTest : public StoreTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MDFETCH_FRESH_PG_DATABASE(GetParam(), path_);
  }
  bool Sqlite() const { return GetParam() == Backend::kSqlite; }
  // A store of this test alone: SQLite's ":memory:", or the test's PostgreSQL database.
  std::unique_ptr<Store> OpenFresh() { return OpenAt(Sqlite() ? ":memory:" : path_); }
  // The first column of the first row of `sql` on the store's database, as text.
  std::string Raw(const std::string& sql) const { return RawText(GetParam(), path_, sql); }
  // What each backend says when a bar's open price is missing (NaN binds as NULL).
  // PostgreSQL names the partition the row went to: the first series (id 1) hashes to bars_0.
  std::string NullOpen() const {
    return Sqlite() ? "NOT NULL constraint failed: bars.open"
                    : "null value in column \"open\" of relation \"bars_0\" violates not-null "
                      "constraint";
  }
};

std::string Str(const StoreCounts& c) {
  return fmt::format("{} added, {} changed, {} unchanged", c.added, c.changed, c.unchanged);
}

// ---- opening ----

TEST_F(StoreTest, NewFileGetsSchemaVersionAndWal) {
  ASSERT_NE(OpenFile(), nullptr);
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Text("SELECT count(*) FROM sqlite_schema WHERE name IN "
                     "('series', 'bars', 'fetches', 'facts', 'fetches_at')"),
            "5");
}

TEST_P(StoreBackendTest, ReopeningKeepsTheData) {
  {
    auto store = OpenFile();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(3));
  }
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto store = OpenFile(mode);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(Read(*store, kIbm), Days(3));
  }
}

TEST_F(StoreTest, ReadOnlyOpenOfMissingFileNamesThePath) {
  Result<std::unique_ptr<Store>> store = Store::Open(path_, OpenMode::kReadOnly);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message, "no database at '" + path_ + "'");
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(StoreTest, ReadOnlyOpenOfEmptyDatabaseSaysThereIsNoData) {
  std::ofstream(path_).close();
  Result<std::unique_ptr<Store>> store = Store::Open(path_, OpenMode::kReadOnly);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message, "no mdfetch data in '" + path_ + "'");
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { RawDb(path_).Exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion + 1)); }
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    Result<std::unique_ptr<Store>> store = Store::Open(path_, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().message,
              fmt::format("database '{}' has schema version {}, newer than this mdfetch "
                          "understands ({})",
                          path_, kSchemaVersion + 1, kSchemaVersion));
  }
}

TEST_F(StoreTest, FileThatIsNotADatabaseIsRefused) {
  std::ofstream(path_) << std::string(4096, 'x');
  Result<std::unique_ptr<Store>> store = Store::Open(path_, OpenMode::kReadWrite);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message, "cannot open database '" + path_ + "': file is not a database");
}

TEST_F(StoreTest, MissingDirectoryIsNotCreated) {
  std::string path = (dir_ / "no-such-dir" / "x.db").string();
  Result<std::unique_ptr<Store>> store = Store::Open(path, OpenMode::kReadWrite);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "cannot open database '" + path + "': unable to open database file");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-such-dir"));
}

TEST_P(StoreBackendTest, ReadOnlyStoreReadsButRefusesWrites) {
  auto writer = OpenFile();
  ASSERT_NE(writer, nullptr);
  Put(*writer, kIbm, Days(2));
  auto reader = OpenFile(OpenMode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Read(*reader, kIbm), Days(2));
  Status set = reader->SetFact("k", "v");
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().message,
            Sqlite() ? "saving fact 'k' failed: attempt to write a readonly database"
                     : "saving fact 'k' failed: cannot execute INSERT in a "
                       "read-only transaction");
}

// ---- storing answers ----

TEST_P(StoreBackendTest, StoringTheSameAnswerTwiceChangesNothing) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Str(Put(*store, kIbm, Days(5))), "5 added, 0 changed, 0 unchanged");
  EXPECT_EQ(Str(Put(*store, kIbm, Days(5))), "0 added, 0 changed, 5 unchanged");
  EXPECT_EQ(Read(*store, kIbm), Days(5));
}

TEST_P(StoreBackendTest, ChangedBarIsUpdatedAndCounted) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(3));
  std::vector<Bar> again = Days(4);
  again[1].close = 555.5;
  again[2].volume = std::nullopt;
  EXPECT_EQ(Str(Put(*store, kIbm, again)), "1 added, 2 changed, 1 unchanged");
  EXPECT_EQ(Read(*store, kIbm), again);
}

// The service keys a week (a month) under way by its latest day, and by its last trading day
// once it is over: that bar replaces the one taken mid-period, and counts as changed.
TEST_P(StoreBackendTest, TheBarOfAnUnfinishedWeekOrMonthIsReplacedByItsFinalBar) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  const SeriesKey monthly{"IBM", Function::kMonthly, ""};
  const std::vector<Bar> weeks_then = {MakeBar("2026-11-13", 10), MakeBar("2026-11-20", 11),
                                       MakeBar("2026-11-25", 12)};  // Wednesday of that week
  const std::vector<Bar> weeks_now = {MakeBar("2026-11-13", 10), MakeBar("2026-11-20", 11),
                                      MakeBar("2026-11-27", 13)};  // its last trading day
  EXPECT_EQ(Str(Put(*store, kIbmWeekly, weeks_then)), "3 added, 0 changed, 0 unchanged");
  EXPECT_EQ(Str(Put(*store, kIbmWeekly, weeks_now)), "0 added, 1 changed, 2 unchanged");
  EXPECT_EQ(Read(*store, kIbmWeekly), weeks_now);
  auto state = store->Find(kIbmWeekly);
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->bar_count, 3);

  const std::vector<Bar> months_then = {MakeBar("2026-10-30", 20), MakeBar("2026-11-27", 21)};
  const std::vector<Bar> months_now = {MakeBar("2026-10-30", 20), MakeBar("2026-11-30", 22),
                                       MakeBar("2026-12-01", 23)};
  Put(*store, monthly, months_then);
  EXPECT_EQ(Str(Put(*store, monthly, months_now)), "1 added, 1 changed, 1 unchanged");
  EXPECT_EQ(Read(*store, monthly), months_now);

  // An answer that still holds the stored bar, or nothing later in its period, replaces
  // nothing; nor does a daily series, whose bars are each their own day.
  const std::vector<Bar> next_week = {MakeBar("2026-11-27", 13), MakeBar("2026-12-02", 14)};
  EXPECT_EQ(Str(Put(*store, kIbmWeekly, next_week)), "1 added, 0 changed, 1 unchanged");
  const std::vector<Bar> overlap = {MakeBar("2026-12-02", 14), MakeBar("2026-12-04", 15)};
  EXPECT_EQ(Str(Put(*store, kIbmWeekly, overlap)), "1 added, 0 changed, 1 unchanged");
  EXPECT_EQ(Read(*store, kIbmWeekly).size(), 5u);
  Put(*store, kIbm, {MakeBar("2026-11-25", 1)});
  EXPECT_EQ(Str(Put(*store, kIbm, {MakeBar("2026-11-27", 2)})), "1 added, 0 changed, 0 unchanged");
  EXPECT_EQ(Read(*store, kIbm).size(), 2u);
}

TEST_P(StoreBackendTest, SeriesAreKeptApart) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(2));
  EXPECT_EQ(Str(Put(*store, kIbmWeekly, Days(3))), "3 added, 0 changed, 0 unchanged");
  EXPECT_EQ(Read(*store, kIbm).size(), 2u);
  EXPECT_EQ(Read(*store, kIbmWeekly).size(), 3u);
}

TEST_P(StoreBackendTest, MissingFieldsRoundTripAsNull) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  std::vector<Bar> fx = {MakeBar("2024-01-02", 1.1, std::nullopt)};
  Bar adjusted = MakeBar("2024-01-02", 180, 5000);
  adjusted.adjusted_close = 179.5;
  adjusted.dividend = 1.66;
  adjusted.split_coefficient = 1.0;
  Put(*store, kEurUsd, fx);
  Put(*store, kIbm, {adjusted});
  EXPECT_EQ(Read(*store, kEurUsd), fx);
  EXPECT_EQ(Read(*store, kIbm), std::vector<Bar>{adjusted});
  EXPECT_EQ(Raw("SELECT count(*) FROM bars WHERE close = 1.1 AND volume IS NULL AND "
                "adjusted_close IS NULL AND dividend IS NULL AND split_coefficient IS NULL"),
            "1");
}

// From 2,048 bars an answer is stored with foreign keys unchecked inside its transaction,
// which makes SQLite prepare the connection's statements again (store_write.cc): the counts
// and the rows stay those of the checked path, before and after.
TEST_F(StoreTest, LargeAnswersStoreAndCountLikeSmallOnes) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  const std::vector<Bar> large = DayRange(0, 2999);
  EXPECT_EQ(Str(Put(*store, kIbm, large)), "3000 added, 0 changed, 0 unchanged");
  EXPECT_EQ(Str(Put(*store, kIbm, large)), "0 added, 0 changed, 3000 unchanged");
  EXPECT_EQ(Str(Put(*store, kIbm, DayRange(2999, 3000))), "1 added, 0 changed, 1 unchanged");
  EXPECT_EQ(Str(Put(*store, kMsft, DayRange(0, 2047))), "2048 added, 0 changed, 0 unchanged");
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 3001);
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("SELECT count(*) FROM bars"), "5049");
  EXPECT_EQ(raw.Text("SELECT count(*) FROM pragma_foreign_key_check"), "0");
}

TEST_F(StoreTest, WholeVolumeIsStoredAsIntegerAndFractionalKept) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  std::vector<Bar> bars = {MakeBar("2024-01-02", 10, 22165128), MakeBar("2024-01-03", 11, 0.25)};
  Put(*store, kIbm, bars);
  RawDb raw(path_);
  EXPECT_EQ(raw.Text("SELECT typeof(volume) || ' ' || volume FROM bars WHERE ts = '2024-01-02'"),
            "integer 22165128");
  EXPECT_EQ(raw.Text("SELECT typeof(volume) || ' ' || volume FROM bars WHERE ts = '2024-01-03'"),
            "real 0.25");
  EXPECT_EQ(Read(*store, kIbm), bars);
}

TEST_P(StoreBackendTest, AnswerUpdatesTheSeriesAndTheCallRow) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SetNeedsFull(kIbm, true));
  ASSERT_TRUE(store->SetDeferred(kIbm, true, "daily limit"));
  Result<int64_t> call = store->BeginCall(kIbm, OutputSize::kFull, At(5'000));
  ASSERT_TRUE(call);
  Result<StoreCounts> counts =
      store->StoreAnswer(*call, kIbm, Meta("2024-01-03"), Days(3), true, Stored(), At(6'000));
  ASSERT_TRUE(counts) << counts.error().message;

  Result<std::optional<SeriesState>> found = store->Find(kIbm);
  ASSERT_TRUE(found && *found);
  const SeriesState& state = **found;
  EXPECT_EQ(state.key, kIbm);
  EXPECT_EQ(state.time_zone, "US/Eastern");
  EXPECT_EQ(state.last_refreshed, "2024-01-03");
  EXPECT_TRUE(state.history_limited);
  EXPECT_FALSE(state.needs_full);
  EXPECT_FALSE(state.deferred);
  EXPECT_EQ(state.last_attempt_at, At(6'000));
  EXPECT_EQ(state.last_success_at, At(6'000));
  EXPECT_EQ(state.last_outcome, "stored");
  EXPECT_EQ(state.last_error, "");
  EXPECT_EQ(state.bar_count, 3);
  EXPECT_EQ(state.first_ts, "2024-01-01");
  EXPECT_EQ(state.last_ts, "2024-01-03");
  EXPECT_EQ(Raw("SELECT outcome || ' ' || http_status || ' ' || bytes || ' ' || bars_new || "
                "' ' || bars_changed || ' ' || bars_unchanged || ' ' || outputsize "
                "FROM fetches WHERE id = " +
                std::to_string(*call)),
            "stored 200 4096 3 0 0 full");
  EXPECT_THAT(store->CallTimesSince(At(0)).value(), ElementsAre(At(5'000)));
}

TEST_P(StoreBackendTest, FailedAnswerLeavesTheSeriesAsBefore) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(3), At(1'000));
  Result<std::optional<SeriesState>> before = store->Find(kIbm);
  ASSERT_TRUE(before && *before);

  // The new bar and the correction come first; the bad bar (NaN binds as NULL, which the
  // schema refuses) fails the statement after they were written inside the transaction.
  std::vector<Bar> bars = Days(4);
  bars[0].close = 999;
  bars.push_back(MakeBar("2024-01-09", std::numeric_limits<double>::quiet_NaN()));
  Result<int64_t> call = store->BeginCall(kIbm, OutputSize::kCompact, At(2'000));
  ASSERT_TRUE(call);
  Result<StoreCounts> counts =
      store->StoreAnswer(*call, kIbm, Meta("2024-01-09"), bars, true, Stored(), At(2'000));
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().message, "storing IBM failed: " + NullOpen());

  EXPECT_EQ(Read(*store, kIbm), Days(3));
  Result<std::optional<SeriesState>> after = store->Find(kIbm);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->last_refreshed, (*before)->last_refreshed);
  EXPECT_EQ((*after)->last_success_at, At(1'000));
  EXPECT_FALSE((*after)->history_limited);
  EXPECT_EQ(Raw("SELECT outcome FROM fetches WHERE id = " + std::to_string(*call)), "sent");
  // The connection is still usable.
  EXPECT_EQ(Str(Put(*store, kIbm, Days(4))), "1 added, 0 changed, 3 unchanged");
}

// A write the file system refuses (here: beyond RLIMIT_FSIZE, as a full disk would) comes
// back as an error, and nothing of the answer is kept.
TEST_F(StoreTest, FileSystemWriteErrorFailsTheWholeAnswer) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(3));
  std::vector<Bar> big;
  for (int i = 0; i < 50'000; ++i) big.push_back(MakeBar(fmt::format("2025-{:07}", i), i));

  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 256 * 1024;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Result<StoreCounts> counts =
      store->StoreAnswer(0, kIbm, Meta("2025-01-01"), big, false, Stored(), At(9'000));
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(counts);
  EXPECT_THAT(counts.error().message, StartsWith("storing IBM failed: "));
  EXPECT_EQ(Read(*store, kIbm), Days(3));
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 3);
  store.reset();
  auto reopened = OpenFile(OpenMode::kReadOnly);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Read(*reopened, kIbm), Days(3));
  Result<std::string> check = reopened->IntegrityCheck();
  ASSERT_TRUE(check);
  EXPECT_EQ(*check, "ok");
}

// Bars newer than the newest stored one are appended many to a statement; older ones are
// merged one by one. Together they give the same rows and counts as merging them all.
TEST_P(StoreBackendTest, AnswerWithOlderAndNewerBarsGivesExactCountsAndRows) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  std::vector<Bar> even;
  for (int day = 0; day <= 20; day += 2) even.push_back(DayRange(day, day).front());
  ASSERT_EQ(Str(Put(*store, kIbm, even)), "11 added, 0 changed, 0 unchanged");

  // Days 0..20: the odd ones fill gaps (added), three even ones are corrected. Days 21..90
  // are new: two statements of 32 bars and a tail of 6.
  std::vector<Bar> answer = DayRange(0, 90);
  answer[4].close = 555.5;
  answer[10].volume = std::nullopt;
  answer[20].adjusted_close = 119.5;
  answer[30].volume = 0.25;
  answer[31].dividend = 0.5;
  answer[88].split_coefficient = 2;
  Result<int64_t> call = store->BeginCall(kIbm, OutputSize::kFull, At(2'000));
  ASSERT_TRUE(call);
  Result<StoreCounts> counts =
      store->StoreAnswer(*call, kIbm, Meta(), answer, false, Stored(), At(2'000));
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(Str(*counts), "80 added, 3 changed, 8 unchanged");

  EXPECT_EQ(Read(*store, kIbm), answer);
  EXPECT_EQ(Raw("SELECT bars_new || ' ' || bars_changed || ' ' || bars_unchanged "
                "FROM fetches WHERE id = " +
                std::to_string(*call)),
            "80 3 8");
  EXPECT_EQ(Raw("SELECT volume FROM bars WHERE ts = '" + DayTs(29) + "'"), "1000");
  EXPECT_EQ(Raw("SELECT volume FROM bars WHERE ts = '" + DayTs(30) + "'"), "0.25");
  if (Sqlite()) {
    EXPECT_EQ(Raw("SELECT typeof(volume) FROM bars WHERE ts = '" + DayTs(29) + "'"), "integer");
  }
  Result<std::optional<SeriesState>> state = store->Find(kIbm);
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->bar_count, 91);
  EXPECT_EQ((*state)->first_ts, "2025-01-01");
  EXPECT_EQ((*state)->last_ts, DayTs(90));
}

// Bars out of order, or a timestamp twice, are written in the order given, as they always
// were: the later of two duplicates counts as a change.
TEST_P(StoreBackendTest, AnswerInAnyOrderKeepsItsCounts) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(5));

  std::vector<Bar> shuffled = {MakeBar("2024-01-03", 102), MakeBar("2024-01-01", 7),
                               MakeBar("2024-01-06", 105), MakeBar("2024-01-07", 106)};
  EXPECT_EQ(Str(Put(*store, kIbm, shuffled)), "2 added, 1 changed, 1 unchanged");
  std::vector<Bar> twice = {MakeBar("2024-01-09", 1), MakeBar("2024-01-03", 102),
                            MakeBar("2024-01-08", 107), MakeBar("2024-01-09", 2)};
  EXPECT_EQ(Str(Put(*store, kIbm, twice)), "2 added, 1 changed, 1 unchanged");
  std::vector<Bar> descending = {MakeBar("2024-01-11", 110), MakeBar("2024-01-10", 109)};
  EXPECT_EQ(Str(Put(*store, kIbm, descending)), "2 added, 0 changed, 0 unchanged");

  std::vector<Bar> expected = Days(11);
  expected[0] = MakeBar("2024-01-01", 7);
  expected[8] = MakeBar("2024-01-09", 2);
  EXPECT_EQ(Read(*store, kIbm), expected);
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 11);
}

// bar_count is kept, not counted: it must agree with the rows after every kind of answer,
// and after bars are deleted by hand.
TEST_P(StoreBackendTest, BarCountMatchesTheRowsInTheFile) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  const auto expect_counts_agree = [&](const std::string& when) {
    Result<std::vector<SeriesState>> all = store->ListSeries();
    ASSERT_TRUE(all) << all.error().message;
    for (const SeriesState& state : *all) {
      std::string rows =
          Raw("SELECT COUNT(*) FROM bars WHERE series_id = " + std::to_string(state.id));
      EXPECT_EQ(std::to_string(state.bar_count), rows) << Describe(state.key) << " " << when;
      EXPECT_EQ(store->Find(state.key).value()->bar_count, state.bar_count);
    }
  };
  Put(*store, kIbm, Days(3));
  Put(*store, kIbm, Days(3));
  Put(*store, kIbm, Days(9));
  Put(*store, kMsft, DayRange(1, 100));
  std::vector<Bar> corrected = DayRange(50, 150);
  corrected[0].close = 1;
  Put(*store, kMsft, corrected);
  Put(*store, kIbmWeekly, {});
  ASSERT_TRUE(store->SetNeedsFull(kAapl5, true));
  expect_counts_agree("after storing");
  EXPECT_EQ(store->Find(kMsft).value()->bar_count, 150);

  EXPECT_EQ(Raw("DELETE FROM bars WHERE ts < '2024-01-04' OR ts > '" + DayTs(140) + "'"), "");
  expect_counts_agree("after deleting");
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 6);
  EXPECT_EQ(Str(Put(*store, kIbm, Days(9))), "3 added, 0 changed, 6 unchanged");
  expect_counts_agree("after storing again");
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 9);
}

// The failing bar comes in the second 32-bar statement of the appended bars, after a
// correction and 32 new bars were written inside the transaction.
TEST_P(StoreBackendTest, FailureWhileAppendingLeavesTheSeriesAsBefore) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(3), At(1'000));
  Result<std::optional<SeriesState>> before = store->Find(kIbm);
  ASSERT_TRUE(before && *before);

  std::vector<Bar> bars = Days(3);
  bars[0].close = 999;
  std::vector<Bar> newer = DayRange(1, 70);
  newer[40].open = std::numeric_limits<double>::quiet_NaN();  // binds as NULL
  bars.insert(bars.end(), newer.begin(), newer.end());
  Result<int64_t> call = store->BeginCall(kIbm, OutputSize::kFull, At(2'000));
  ASSERT_TRUE(call);
  Result<StoreCounts> counts =
      store->StoreAnswer(*call, kIbm, Meta("2025-070"), bars, true, Stored(), At(2'000));
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().message, "storing IBM failed: " + NullOpen());

  EXPECT_EQ(Read(*store, kIbm), Days(3));
  Result<std::optional<SeriesState>> after = store->Find(kIbm);
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->bar_count, 3);
  EXPECT_EQ((*after)->first_ts, (*before)->first_ts);
  EXPECT_EQ((*after)->last_ts, (*before)->last_ts);
  EXPECT_EQ((*after)->last_refreshed, (*before)->last_refreshed);
  EXPECT_EQ((*after)->last_success_at, At(1'000));
  EXPECT_FALSE((*after)->history_limited);
  EXPECT_EQ(Raw("SELECT COUNT(*) FROM bars"), "3");
  EXPECT_EQ(Raw("SELECT outcome FROM fetches WHERE id = " + std::to_string(*call)), "sent");

  // The connection is still usable, and the same answer without the bad bar goes in whole.
  bars[3 + 40].open = 1;
  EXPECT_EQ(Str(Put(*store, kIbm, bars)), "70 added, 1 changed, 2 unchanged");
  EXPECT_EQ(Read(*store, kIbm), bars);
  EXPECT_EQ(store->Find(kIbm).value()->bar_count, 73);
}

// Informational: how fast an answer goes into an empty table (not an assertion).
TEST_F(StoreTest, UpsertSpeed) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  std::vector<Bar> bars;
  for (int i = 0; i < 100'000; ++i) bars.push_back(MakeBar(fmt::format("2000-{:07}", i), i));
  for (const char* what : {"insert", "unchanged"}) {
    auto start = std::chrono::steady_clock::now();
    Result<StoreCounts> counts =
        store->StoreAnswer(0, kIbm, Meta(), bars, false, Stored(), At(1'000));
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(counts) << counts.error().message;
    std::cout << fmt::format("[ info     ] {} 100k bars: {:.0f} ms, {:.2f} M rows/s\n", what,
                             took.count() * 1e3, 0.1 / took.count());
  }
}

// ---- reads ----

TEST_P(StoreBackendTest, ReadBarsHonoursFromToAndLast) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(9));
  EXPECT_THAT(Timestamps(Read(*store, kIbm, {"2024-01-03", "2024-01-05", 0})),
              ElementsAre("2024-01-03", "2024-01-04", "2024-01-05"));
  EXPECT_THAT(Timestamps(Read(*store, kIbm, {"", "", 2})), ElementsAre("2024-01-08", "2024-01-09"));
  EXPECT_THAT(Timestamps(Read(*store, kIbm, {"2024-01-02", "2024-01-05", 3})),
              ElementsAre("2024-01-03", "2024-01-04", "2024-01-05"));
  EXPECT_THAT(Timestamps(Read(*store, kIbm, {"2024-01-08", "", 0})),
              ElementsAre("2024-01-08", "2024-01-09"));
  EXPECT_EQ(Read(*store, kIbm, {"", "", 50}).size(), 9u);
  EXPECT_TRUE(Read(*store, kMsft).empty());
}

TEST_P(StoreBackendTest, FindAndListSeriesSummariseTheBars) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Put(*store, kMsft, Days(2));
  Put(*store, kIbm, Days(4));
  ASSERT_TRUE(store->SetNeedsFull(kAapl5, true));
  Result<std::optional<SeriesState>> missing = store->Find(kEurUsd);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  Result<std::vector<SeriesState>> all = store->ListSeries();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].key, kAapl5);
  EXPECT_TRUE((*all)[0].needs_full);
  EXPECT_EQ((*all)[0].bar_count, 0);
  EXPECT_EQ((*all)[0].first_ts, "");
  EXPECT_FALSE((*all)[0].last_success_at);
  EXPECT_EQ((*all)[1].key, kIbm);
  EXPECT_EQ((*all)[1].bar_count, 4);
  EXPECT_EQ((*all)[1].last_ts, "2024-01-04");
  EXPECT_EQ((*all)[2].key, kMsft);
  EXPECT_EQ((*all)[2].bar_count, 2);
}

class ForEachBarTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = OpenFresh();
    ASSERT_NE(store_, nullptr);
    Put(*store_, kMsft, Days(2));
    Put(*store_, kIbmWeekly, Days(2));
    Put(*store_, kIbm, Days(3));
    Put(*store_, kAapl5, {MakeBar("2024-01-02 09:35:00", 5), MakeBar("2024-01-02 09:40:00", 6)});
  }

  std::vector<std::string> Rows(std::vector<SeriesKey> keys, BarFilter filter = {}) {
    std::vector<std::string> rows;
    Status done = store_->ForEachBar(keys, filter, [&](const SeriesKey& key, const Bar& bar) {
      rows.push_back(Describe(key) + " " + bar.ts);
      return true;
    });
    EXPECT_TRUE(done) << done.error().message;
    return rows;
  }

  std::unique_ptr<Store> store_;
};

TEST_P(ForEachBarTest, AllSeriesComeInKeyOrder) {
  EXPECT_THAT(Rows({}), ElementsAre("AAPL intraday:5min 2024-01-02 09:35:00",
                                    "AAPL intraday:5min 2024-01-02 09:40:00", "IBM 2024-01-01",
                                    "IBM 2024-01-02", "IBM 2024-01-03", "IBM weekly 2024-01-01",
                                    "IBM weekly 2024-01-02", "MSFT 2024-01-01", "MSFT 2024-01-02"));
}

TEST_P(ForEachBarTest, ChosenSeriesOnlyStillInKeyOrder) {
  EXPECT_THAT(Rows({kMsft, kEurUsd, kIbm}, {"2024-01-02", "", 0}),
              ElementsAre("IBM 2024-01-02", "IBM 2024-01-03", "MSFT 2024-01-02"));
  EXPECT_TRUE(Rows({kEurUsd}).empty());
}

TEST_P(ForEachBarTest, LastKeepsTheNewestBarsOfEachSeries) {
  EXPECT_THAT(Rows({kIbm, kMsft}, {"", "2024-01-02", 1}),
              ElementsAre("IBM 2024-01-02", "MSFT 2024-01-02"));
  EXPECT_THAT(Rows({kIbm}, {"", "", 2}), ElementsAre("IBM 2024-01-02", "IBM 2024-01-03"));
}

TEST_P(ForEachBarTest, StopsWhenTheRowCallbackFails) {
  int calls = 0;
  Status done =
      store_->ForEachBar({}, {}, [&](const SeriesKey&, const Bar&) { return ++calls < 2; });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message, "export stopped: write failed");
  EXPECT_EQ(calls, 2);
}

// ---- the call log, flags and facts ----

TEST_P(StoreBackendTest, CallsAreLoggedAndFinished) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  Result<int64_t> first = store->BeginCall(kIbm, OutputSize::kCompact, At(1'000));
  Result<int64_t> second = store->BeginCall(kMsft, OutputSize::kFull, At(2'000));
  Result<int64_t> third = store->BeginCall(kIbm, OutputSize::kCompact, At(3'000));
  ASSERT_TRUE(first && second && third);
  EXPECT_NE(*first, *second);
  ASSERT_TRUE(store->FinishCall(*third, kIbm, {"throttled", 200, 120, "please slow down"}));

  Result<std::optional<SeriesState>> ibm = store->Find(kIbm);
  ASSERT_TRUE(ibm && *ibm);
  EXPECT_EQ((*ibm)->last_outcome, "throttled");
  EXPECT_EQ((*ibm)->last_error, "please slow down");
  EXPECT_EQ((*ibm)->last_attempt_at, At(3'000));
  EXPECT_FALSE((*ibm)->last_success_at);
  EXPECT_EQ(Raw("SELECT outcome || ' ' || http_status || ' ' || bytes || ' ' || "
                "error FROM fetches WHERE id = " +
                std::to_string(*third)),
            "throttled 200 120 please slow down");

  Result<std::vector<WallTime>> since = store->CallTimesSince(At(2'000));
  ASSERT_TRUE(since);
  EXPECT_THAT(*since, ElementsAre(At(2'000), At(3'000)));
}

TEST_P(StoreBackendTest, RecentCallsAreNewestFirstForOneSeriesOrAll) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  Result<int64_t> first = store->BeginCall(kIbm, OutputSize::kCompact, At(1'000));
  Result<int64_t> second = store->BeginCall(kMsft, OutputSize::kFull, At(2'000));
  Result<int64_t> third = store->BeginCall(kIbm, OutputSize::kFull, At(3'000));
  ASSERT_TRUE(first && second && third);
  ASSERT_TRUE(store->FinishCall(*third, kIbm, {"error", 500, 12, "HTTP 500"}));
  auto ids = [](const std::vector<CallRow>& rows) {
    std::vector<int64_t> out;
    for (const CallRow& row : rows) out.push_back(row.id);
    return out;
  };

  Result<std::vector<CallRow>> ibm = store->RecentCalls(kIbm, 10);
  ASSERT_TRUE(ibm) << ibm.error().message;
  EXPECT_THAT(ids(*ibm), ElementsAre(*third, *first));
  EXPECT_EQ((*ibm)[0].series, kIbm);
  EXPECT_EQ((*ibm)[0].at, At(3'000));
  EXPECT_EQ((*ibm)[0].outputsize, "full");
  EXPECT_EQ((*ibm)[0].outcome, "error");
  EXPECT_EQ((*ibm)[0].http_status, 500);
  EXPECT_EQ((*ibm)[0].error, "HTTP 500");

  Result<std::vector<CallRow>> all = store->RecentCalls(std::nullopt, 2);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_THAT(ids(*all), ElementsAre(*third, *second));
  EXPECT_EQ((*all)[1].series, kMsft);

  // A series that is not stored has no calls; its name reaches the store only bound.
  Result<std::vector<CallRow>> none =
      store->RecentCalls(SeriesKey{"X' OR '1'='1", Function::kDaily, ""}, 10);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreBackendTest, FinishCallWithoutCallRowUpdatesTheSeries) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->FinishCall(0, kIbm, {"premium", 200, 0, "premium endpoint"}));
  Result<std::optional<SeriesState>> ibm = store->Find(kIbm);
  ASSERT_TRUE(ibm && *ibm);
  EXPECT_EQ((*ibm)->last_outcome, "premium");
  EXPECT_FALSE((*ibm)->last_attempt_at);
  Result<std::vector<WallTime>> calls = store->CallTimesSince(At(0));
  ASSERT_TRUE(calls);
  EXPECT_TRUE(calls->empty());
}

TEST_P(StoreBackendTest, DeferredSeriesAreListedUntilStored) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SetDeferred(kMsft, true, "daily limit reached"));
  ASSERT_TRUE(store->SetDeferred(kIbm, true, "daily limit reached"));
  ASSERT_TRUE(store->SetDeferred(kAapl5, true, "daily limit reached"));
  ASSERT_TRUE(store->SetDeferred(kAapl5, false, ""));
  Result<std::optional<SeriesState>> msft = store->Find(kMsft);
  ASSERT_TRUE(msft && *msft);
  EXPECT_EQ((*msft)->last_outcome, "deferred");
  EXPECT_EQ((*msft)->last_error, "daily limit reached");

  Result<std::vector<SeriesKey>> deferred = store->DeferredSeries();
  ASSERT_TRUE(deferred);
  EXPECT_THAT(*deferred, ElementsAre(kIbm, kMsft));
  Put(*store, kIbm, Days(1));
  deferred = store->DeferredSeries();
  ASSERT_TRUE(deferred);
  EXPECT_THAT(*deferred, ElementsAre(kMsft));
}

TEST_P(StoreBackendTest, NeedsFullIsSetAndCleared) {
  auto store = OpenFresh();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SetNeedsFull(kIbm, true));
  EXPECT_TRUE(store->Find(kIbm).value()->needs_full);
  ASSERT_TRUE(store->SetNeedsFull(kIbm, false));
  EXPECT_FALSE(store->Find(kIbm).value()->needs_full);
}

TEST_P(StoreBackendTest, FactsAreKeptAndOverwritten) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetFact("full_refused:daily").value(), std::nullopt);
  ASSERT_TRUE(store->SetFact("full_refused:daily", "1"));
  ASSERT_TRUE(store->SetFact("full_refused:daily", "2"));
  store.reset();
  store = OpenFile(OpenMode::kReadOnly);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetFact("full_refused:daily").value(), "2");
}

TEST_P(StoreBackendTest, IntegrityCheckOfAGoodFileIsOk) {
  auto store = OpenFile();
  ASSERT_NE(store, nullptr);
  Put(*store, kIbm, Days(3));
  Result<std::string> check = store->IntegrityCheck();
  ASSERT_TRUE(check);
  EXPECT_EQ(*check, "ok");
}

// ---- the writer lock ----

TEST_F(StoreTest, SecondWriterLockFailsNamingTheHolder) {
  Result<WriterLock> first = WriterLock::Acquire(path_);
  ASSERT_TRUE(first) << first.error().message;
  Result<WriterLock> second = WriterLock::Acquire(path_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message,
            fmt::format("{} is being refreshed by another mdfetch (pid {}); try again when it "
                        "finishes",
                        path_, ::getpid()));
}

TEST_F(StoreTest, WriterLockIsFreedWhenItsOwnerDies) {
  std::optional<Result<WriterLock>> first(WriterLock::Acquire(path_));
  ASSERT_TRUE(*first);
  Result<WriterLock> moved = std::move(**first);  // moving keeps the lock held
  first.reset();
  EXPECT_FALSE(WriterLock::Acquire(path_));
  moved = Fail("gone");
  EXPECT_TRUE(WriterLock::Acquire(path_));
}

TEST_F(StoreTest, WriterLockWithoutPidStillNamesTheDatabase) {
  int holder = ::open((path_ + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(holder, 0);
  ASSERT_EQ(::flock(holder, LOCK_EX), 0);
  Result<WriterLock> lock = WriterLock::Acquire(path_);
  ::close(holder);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().message,
            path_ + " is being refreshed by another mdfetch; try again when it finishes");
}

TEST_F(StoreTest, WriterLockErrors) {
  EXPECT_TRUE(WriterLock::Acquire(":memory:"));
  EXPECT_TRUE(WriterLock::Acquire(":memory:"));
  std::string path = (dir_ / "no-such-dir" / "x.db").string();
  Result<WriterLock> lock = WriterLock::Acquire(path);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().message,
            "cannot create lock file '" + path + ".lock': No such file or directory");
}

}  // namespace
}  // namespace mdfetch

namespace mdfetch {
namespace {

// A reader with no busy timeout (the sqlite3 shell's default) is refused while a connection
// holds the exclusive lock, which the last connection to close a WAL database takes to
// checkpoint and delete the WAL. The writable store closes without it: the WAL file stays,
// emptied, so that the next connection has no WAL to read through.
TEST_F(StoreTest, ClosingTheWriterTakesNoLockThatWouldRefuseAReader) {
  {
    std::unique_ptr<Store> store = OpenFile();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(20));
  }
  ASSERT_TRUE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);
  RawDb reader(path_);
  EXPECT_EQ(reader.Text("SELECT count(*) FROM bars"), "20");
}

// A reader on an older snapshot keeps the WAL from being emptied; the closing writer does not
// wait for it (it has no busy timeout then) and loses nothing.
TEST_F(StoreTest, ClosingTheWriterBesideAnOlderSnapshotLeavesTheWal) {
  {
    std::unique_ptr<Store> store = OpenFile();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(20));
  }
  RawDb reader(path_);
  reader.Exec("BEGIN");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM bars"), "20");
  {
    std::unique_ptr<Store> store = OpenFile();
    ASSERT_NE(store, nullptr);
    Put(*store, kMsft, Days(5));
  }
  EXPECT_GT(std::filesystem::file_size(path_ + "-wal"), 0u);
  EXPECT_EQ(reader.Text("SELECT count(*) FROM bars"), "20");
  reader.Exec("COMMIT");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM bars"), "25");
}

TEST_P(StoreBackendTest, ACallThatNeverLeftIsForgotten) {
  std::unique_ptr<Store> store = OpenFile();
  ASSERT_NE(store, nullptr);
  Result<int64_t> kept = store->BeginCall(kIbm, OutputSize::kFull, At(1'000));
  Result<int64_t> forgotten = store->BeginCall(kIbm, OutputSize::kFull, At(2'000));
  ASSERT_TRUE(kept && forgotten);
  ASSERT_TRUE(store->ForgetCall(*forgotten, kIbm));
  Result<std::vector<WallTime>> times = store->CallTimesSince(At(0));
  ASSERT_TRUE(times);
  EXPECT_THAT(*times, ElementsAre(At(1'000)));
  // Its id is not given to the next call: `copy` copies the calls after the highest id it
  // copied, and would skip a call that took an id again.
  Result<int64_t> next = store->BeginCall(kIbm, OutputSize::kFull, At(3'000));
  ASSERT_TRUE(next);
  EXPECT_GT(*next, *forgotten);
}

TEST_P(StoreBackendTest, AProvisionalNewestBarIsRecordedUntilAFinalAnswer) {
  std::unique_ptr<Store> store = OpenFile();
  ASSERT_NE(store, nullptr);
  Result<int64_t> call = store->BeginCall(kIbm, OutputSize::kCompact, At(1'000));
  ASSERT_TRUE(call);
  ASSERT_TRUE(store->StoreAnswer(*call, kIbm, Meta("2024-01-05 14:07:57"), Days(5), false, Stored(),
                                 At(1'000), StoreScope::kLatest, NewestBar::kProvisional));
  auto state = store->Find(kIbm);
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->provisional_ts, "2024-01-05");
  std::vector<std::string> exported;
  ASSERT_TRUE(
      store->ForEachBar({}, BarFilter{.final_only = true}, [&](const SeriesKey&, const Bar& bar) {
        exported.push_back(bar.ts);
        return true;
      }));
  EXPECT_EQ(exported.size(), 4u);
  EXPECT_EQ(exported.back(), "2024-01-04");
  Put(*store, kIbm, Days(5), At(2'000));  // final
  state = store->Find(kIbm);
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->provisional_ts, "");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBackendTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, ForEachBarTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace mdfetch
