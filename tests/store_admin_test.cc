// The store's housekeeping (issue 10): application_id and foreign files, schemas 4 and 5 and their
// migration, settings (the recorded --rate), RemoveSeries, Vacuum, read-only media; and the
// commands on top: remove, info, vacuum, quota, and --db in a missing folder.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_commands.h"
#include "cli_harness.h"
#include "fake_clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

const SeriesKey kIbm{"IBM", Function::kDaily, ""};
const SeriesKey kMsft{"MSFT", Function::kDaily, ""};
const SeriesKey kAapl5{"AAPL", Function::kIntraday, "5min"};

std::vector<Bar> Days(int n, int year = 2024) {
  std::vector<Bar> bars;
  for (int i = 0; i < n; ++i) {
    Bar bar;
    bar.ts =
        FormatDate(std::chrono::sys_days{std::chrono::year{year} / 1 / 1} + std::chrono::days{i});
    bar.open = 100 + i;
    bar.high = 102 + i;
    bar.low = 99 + i;
    bar.close = 101 + i;
    bar.volume = 1000 + i;
    bars.push_back(bar);
  }
  return bars;
}

// Runs SQL on a plain connection, as another program would.
void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::string SqlText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string out = "error";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    out = text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::vector<std::string> FilesIn(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class StoreAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("admin_{}_{}", info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "market.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<Store> Open(OpenMode mode = OpenMode::kReadWrite) {
    auto store = Store::Open(db_, mode);
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  // Logs a call at `at` and stores `bars` as its answer, as a refresh does.
  static void Put(Store& store, const SeriesKey& key, const std::vector<Bar>& bars, WallTime at) {
    auto call = store.BeginCall(key, OutputSize::kFull, at);
    ASSERT_TRUE(call) << call.error().message;
    SeriesMeta meta{key.symbol, bars.back().ts, "US/Eastern", "Full size", key.interval};
    auto stored =
        store.StoreAnswer(*call, key, meta, bars, false, CallRecord{"stored", 200, 4096, ""}, at);
    ASSERT_TRUE(stored) << stored.error().message;
  }

  // A foreign SQLite file: another application's id or tables, in rollback-journal mode.
  std::string MakeForeign(const std::string& sql) {
    Sql(db_, sql);
    return ReadFileBytes(db_);
  }

  CliResult Cli(std::vector<std::string> args, const std::string& input = "",
                bool terminal = false) {
    return RunCliCaptured(clock_, std::move(args),
                          {.stdin_text = input, .in_is_terminal = terminal});
  }

  // IBM (30 bars) and MSFT (20 bars) daily, each fetched once 30 h ago and once 1 h ago.
  void Fill() {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    const WallTime now = clock_.WallNow();
    Put(*store, kIbm, Days(20), now - 30h);
    Put(*store, kIbm, Days(30), now - 1h);
    Put(*store, kMsft, Days(10), now - 30h);
    Put(*store, kMsft, Days(20), now - 1h);
  }

  FakeClock clock_;
  std::filesystem::path dir_;
  std::string db_;
};

// ---- application_id and foreign files ----

TEST_F(StoreAdminTest, ANewStoreCarriesTheApplicationId) {
  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(SqlText(db_, "PRAGMA application_id"),
            std::to_string(static_cast<int32_t>(kApplicationId)));
  EXPECT_EQ(SqlText(db_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
}

TEST_F(StoreAdminTest, AVersion4StoreKeepsItsCallsAndNeverGivesAnIdTwice) {
  int64_t newest = 0;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(5), clock_.WallNow());
    auto id = store->BeginCall(kIbm, OutputSize::kCompact, clock_.WallNow());
    ASSERT_TRUE(id);
    newest = *id;
  }
  // What schema 4 looked like: fetches without AUTOINCREMENT.
  Sql(db_,
      "CREATE TABLE f4(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, series_id INTEGER "
      "REFERENCES series(id), outputsize TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL, "
      "http_status INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, bars_new "
      "INTEGER NOT NULL DEFAULT 0, bars_changed INTEGER NOT NULL DEFAULT 0, bars_unchanged "
      "INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', month TEXT NOT NULL DEFAULT "
      "''); INSERT INTO f4 SELECT * FROM fetches; DROP TABLE fetches; ALTER TABLE f4 RENAME TO "
      "fetches; CREATE INDEX fetches_at ON fetches(at); CREATE INDEX fetches_series_month ON "
      "fetches(series_id, month) WHERE month != ''; DELETE FROM sqlite_sequence; "
      "PRAGMA user_version = 4");
  const std::string before = SqlText(db_, "SELECT group_concat(id || ':' || outcome) FROM fetches");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SqlText(db_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(SqlText(db_, "SELECT group_concat(id || ':' || outcome) FROM fetches"), before);
  ASSERT_TRUE(store->ForgetCall(newest, kIbm));
  auto next = store->BeginCall(kIbm, OutputSize::kCompact, clock_.WallNow());
  ASSERT_TRUE(next);
  EXPECT_GT(*next, newest);
}

TEST_F(StoreAdminTest, AFileOfAnotherApplicationIsRefusedAndLeftUntouched) {
  const std::string before =
      MakeForeign("PRAGMA application_id = 305419896; CREATE TABLE t(x); INSERT INTO t VALUES(1)");
  for (OpenMode mode : {OpenMode::kWriter, OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    auto store = Store::Open(db_, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().message,
              "'" + db_ +
                  "' is not an mdfetch store (its application_id is 0x12345678); it was left "
                  "untouched: pass another --db");
  }
  EXPECT_EQ(ReadFileBytes(db_), before);
  // No -wal, -shm, journal, nor the writer's market.db.lock (kWriter made it, then refused).
  EXPECT_EQ(FilesIn(dir_), std::vector<std::string>{"market.db"});
}

TEST_F(StoreAdminTest, AFileWithTablesOfItsOwnIsRefusedAndLeftUntouched) {
  const std::string before = MakeForeign(
      "CREATE TABLE notes(body TEXT); INSERT INTO notes "
      "VALUES('x'); PRAGMA user_version = 7");
  auto store = Store::Open(db_, OpenMode::kReadWrite);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "'" + db_ +
                "' is not an mdfetch store (it holds tables of its own and no mdfetch schema); "
                "it was left untouched: pass another --db");
  EXPECT_EQ(ReadFileBytes(db_), before);
  EXPECT_EQ(FilesIn(dir_), std::vector<std::string>{"market.db"});
}

TEST_F(StoreAdminTest, AForeignWalDatabaseIsNotCheckpointedOnRefusal) {
  // The other application left frames in its -wal file: closing our connection, the last
  // one, must not copy them into its database.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other,
                         "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; "
                         "CREATE TABLE t(x); INSERT INTO t VALUES(1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_db_config(other, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_close(other);
  const std::string db_before = ReadFileBytes(db_);
  const std::string wal_before = ReadFileBytes(db_ + "-wal");
  ASSERT_FALSE(wal_before.empty());
  EXPECT_FALSE(Store::Open(db_, OpenMode::kReadWrite));
  EXPECT_EQ(ReadFileBytes(db_), db_before);
  EXPECT_EQ(ReadFileBytes(db_ + "-wal"), wal_before);
}

TEST_F(StoreAdminTest, AVersion3StoreMigratesToSettingsAndTheApplicationId) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(5), clock_.WallNow());
  }
  // What schema 3 looked like: no settings table, no application_id.
  Sql(db_, "DROP TABLE settings; PRAGMA application_id = 0; PRAGMA user_version = 3");
  auto old = Store::Open(db_, OpenMode::kReadOnly);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message,
            fmt::format("database '{}' has schema version 3, older than this mdfetch needs ({}); "
                        "open it once for writing (e.g. refresh) to upgrade it",
                        db_, kSchemaVersion));
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SqlText(db_, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(SqlText(db_, "PRAGMA application_id"),
            std::to_string(static_cast<int32_t>(kApplicationId)));
  auto bars = store->ReadBars(kIbm, {});
  ASSERT_TRUE(bars);
  EXPECT_EQ(bars->size(), 5u);
  EXPECT_TRUE(store->SetSetting(kRateSetting, "1/s", clock_.WallNow()));
}

// ---- settings ----

TEST_F(StoreAdminTest, ASettingIsKeptWithItsTimeAndReplaced) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto none = store->GetSetting(kRateSetting);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  const WallTime t1 = clock_.WallNow();
  ASSERT_TRUE(store->SetSetting(kRateSetting, "5/min,25/day", t1));
  ASSERT_TRUE(store->SetSetting(kRateSetting, "1/s", t1 + 1h));
  auto got = store->GetSetting(kRateSetting);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->value, "1/s");
  EXPECT_EQ((*got)->set_at, t1 + 1h);
}

// ---- RemoveSeries and Vacuum ----

TEST_F(StoreAdminTest, RemovingASeriesKeepsTheCallsTheDailyQuotaCounts) {
  Fill();
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const WallTime now = clock_.WallNow();
  const std::vector<SeriesKey> keys{kIbm};
  auto removed = store->RemoveSeries(keys, now);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->series, 1);
  EXPECT_EQ(removed->bars, 30);
  EXPECT_EQ(removed->calls, 1);       // the call of 30 h ago
  EXPECT_EQ(removed->calls_kept, 1);  // the call of 1 h ago still counts
  auto ibm = store->Find(kIbm);
  ASSERT_TRUE(ibm);
  EXPECT_FALSE(*ibm);
  auto msft = store->Find(kMsft);
  ASSERT_TRUE(msft && *msft);
  EXPECT_EQ((*msft)->bar_count, 20);
  auto calls = store->CallTimesSince(now - 24h);
  ASSERT_TRUE(calls);
  EXPECT_EQ(calls->size(), 2u);
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "20");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM fetches WHERE series_id IS NULL"), "1");
}

TEST_F(StoreAdminTest, RemovingAMissingSeriesRemovesNothingAndNamesIt) {
  Fill();
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::vector<SeriesKey> keys{kIbm, kAapl5, SeriesKey{"GOOG", Function::kWeekly, ""}};
  auto removed = store->RemoveSeries(keys, clock_.WallNow());
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().message,
            "removing series failed: not stored: AAPL intraday:5min, GOOG weekly");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "50");
}

TEST_F(StoreAdminTest, VacuumGivesBackFreePagesAndEmptiesTheWal) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kIbm, Days(3000, 2000), clock_.WallNow() - 48h);
    Put(*store, kMsft, Days(10), clock_.WallNow() - 48h);
    const std::vector<SeriesKey> keys{kIbm};
    ASSERT_TRUE(store->RemoveSeries(keys, clock_.WallNow()));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto before = store->FileInfo();
  ASSERT_TRUE(before);
  EXPECT_GT(before->free_pages, 10);
  ASSERT_TRUE(store->Vacuum());
  auto after = store->FileInfo();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->free_pages, 0);
  EXPECT_LT(after->pages, before->pages);
  EXPECT_EQ(std::filesystem::file_size(db_ + "-wal"), 0u);
  EXPECT_EQ(std::filesystem::file_size(db_),
            static_cast<uintmax_t>(after->pages * after->page_size));
  auto bars = store->ReadBars(kMsft, {});
  ASSERT_TRUE(bars);
  EXPECT_EQ(bars->size(), 10u);
}

// ---- read-only media ----

// A VFS that behaves like a read-only mount (as root too, whom permission bits do not stop):
// a file asked for reading and writing is opened read-only, as the unix VFS does on EROFS,
// and the -shm file, which is absent and cannot be created there, cannot be mapped. It is the
// process's default VFS while the guard lives, so the store uses it without knowing.
class ReadOnlyMediaVfs {
 public:
  ReadOnlyMediaVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "mdfetch-test-read-only-media";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pNext = nullptr;
    vfs_.xOpen = &Open;
    vfs_.xAccess = &Access;
    methods_ = sqlite3_io_methods{};
    methods_.iVersion = 2;  // no memory-mapped I/O
    methods_.xClose = [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); };
    methods_.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
      return Real(f)->pMethods->xRead(Real(f), b, n, o);
    };
    methods_.xWrite = [](sqlite3_file*, const void*, int, sqlite3_int64) {
      return SQLITE_READONLY;
    };
    methods_.xTruncate = [](sqlite3_file*, sqlite3_int64) { return SQLITE_READONLY; };
    methods_.xSync = [](sqlite3_file*, int) { return SQLITE_OK; };
    methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return Real(f)->pMethods->xFileSize(Real(f), size);
    };
    methods_.xLock = [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); };
    methods_.xUnlock = [](sqlite3_file* f, int l) {
      return Real(f)->pMethods->xUnlock(Real(f), l);
    };
    methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
    };
    methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return Real(f)->pMethods->xFileControl(Real(f), op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); };
    methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
      return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
    };
    methods_.xShmMap = [](sqlite3_file*, int, int, int, void volatile**) {
      return SQLITE_CANTOPEN;
    };
    methods_.xShmLock = [](sqlite3_file*, int, int, int) { return SQLITE_OK; };
    methods_.xShmBarrier = [](sqlite3_file*) {};
    methods_.xShmUnmap = [](sqlite3_file*, int) { return SQLITE_OK; };
    current_ = this;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~ReadOnlyMediaVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, 1);
    current_ = nullptr;
  }
  ReadOnlyMediaVfs(const ReadOnlyMediaVfs&) = delete;
  ReadOnlyMediaVfs& operator=(const ReadOnlyMediaVfs&) = delete;

  int opened_for_writing = 0;  // opens asked with SQLITE_OPEN_READWRITE

 private:
  struct File {
    sqlite3_file base;
  };
  static sqlite3_file* Real(sqlite3_file* f) {
    return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(f) + 1);
  }
  static int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags,
                  int* out_flags) {
    ReadOnlyMediaVfs& self = *current_;
    if (name != nullptr && (flags & SQLITE_OPEN_READWRITE) != 0) {
      ++self.opened_for_writing;
      flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    }
    file->pMethods = nullptr;
    int rc = self.real_->xOpen(self.real_, name, Real(file), flags, out_flags);
    if (Real(file)->pMethods != nullptr) file->pMethods = &self.methods_;
    return rc;
  }
  static int Access(sqlite3_vfs*, const char* name, int flags, int* result) {
    if (flags == SQLITE_ACCESS_READWRITE) {
      *result = 0;
      return SQLITE_OK;
    }
    return current_->real_->xAccess(current_->real_, name, flags, result);
  }

  static inline ReadOnlyMediaVfs* current_ = nullptr;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
};

TEST_F(StoreAdminTest, OnReadOnlyMediaAReaderFallsBackToImmutable) {
  Fill();
  std::filesystem::remove(db_ + "-shm");  // what a copy or snapshot without it looks like
  const std::string before = ReadFileBytes(db_);
  ReadOnlyMediaVfs media;
  // Without the fallback this is SQLite's "unable to open database file".
  sqlite3* plain = nullptr;
  sqlite3_open_v2(db_.c_str(), &plain, SQLITE_OPEN_READONLY, nullptr);
  EXPECT_NE(sqlite3_exec(plain, "SELECT count(*) FROM bars", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_STREQ(sqlite3_errmsg(plain), "unable to open database file");
  sqlite3_close(plain);

  auto store = Store::Open(db_, OpenMode::kReadOnly);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE((*store)->ReadOnlyMedia());
  auto bars = (*store)->ReadBars(kIbm, {});
  ASSERT_TRUE(bars);
  EXPECT_EQ(bars->size(), 30u);
  store->reset();
  EXPECT_EQ(ReadFileBytes(db_), before);
  EXPECT_FALSE(std::filesystem::exists(db_ + "-shm"));
}

TEST_F(StoreAdminTest, AStoreOnWritableMediaIsNotReadImmutable) {
  Fill();
  auto store = Open(OpenMode::kReadOnly);
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->ReadOnlyMedia());
}

TEST_F(StoreAdminTest, ReadCommandsOnReadOnlyMediaWorkAndSaySoOnce) {
  Fill();
  std::filesystem::remove(db_ + "-shm");
  const auto wal = std::filesystem::file_size(db_ + "-wal");
  ReadOnlyMediaVfs media;
  auto list = Cli({"list", "--db", db_});
  EXPECT_EQ(list.code, kExitOk) << list.err;
  EXPECT_NE(list.out.find("IBM "), std::string::npos) << list.out;
  const std::string notice =
      fmt::format("mdfetch: '{}' is read-only here: reading it as it is on disk{}\n", db_,
                  wal == 0 ? std::string()
                           : fmt::format(" (its -wal file, {} bytes, is not read: a write not yet "
                                         "checkpointed into the database, if any, is missing)",
                                         wal));
  EXPECT_EQ(list.err, notice);
  auto query = Cli({"query", "MSFT", "--db", db_, "--last", "1", "--format", "csv"});
  EXPECT_EQ(query.code, kExitOk) << query.err;
  EXPECT_EQ(query.out, "ts,open,high,low,close,volume\r\n2024-01-20,119,121,118,120,1019\r\n");
  EXPECT_EQ(query.err, notice);
  auto info = Cli({"info", "--db", db_});
  EXPECT_EQ(info.code, kExitOk) << info.err;
  EXPECT_NE(info.out.find(" (read-only media)\n"), std::string::npos) << info.out;
}

// ---- the commands ----

TEST_F(StoreAdminTest, RemoveWithoutATerminalRemovesAndSaysWhat) {
  Fill();
  auto run = Cli({"remove", "IBM", "--db", db_});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out, "removed IBM: 30 bars\n" + db_ +
                         ": removed 1 series, 30 bars and 1 logged call; 1 call of the last "
                         "24 h stays logged: the daily quota counts them\n");
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM series"), "1");
}

TEST_F(StoreAdminTest, RemoveAsksATerminalAndANoRemovesNothing) {
  Fill();
  auto no = Cli({"remove", "IBM", "MSFT", "--db", db_}, "n\n", true);
  EXPECT_EQ(no.code, kExitFailed);
  EXPECT_EQ(no.err, "remove 2 series (50 bars)? [y/N] mdfetch: nothing removed\n");
  EXPECT_EQ(no.out, "");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "50");
  auto empty = Cli({"remove", "IBM", "--db", db_}, "", true);
  EXPECT_EQ(empty.code, kExitFailed);
  auto yes = Cli({"remove", "IBM", "MSFT", "--db", db_}, "y\n", true);
  EXPECT_EQ(yes.code, kExitOk) << yes.err;
  EXPECT_EQ(yes.err, "remove 2 series (50 bars)? [y/N] ");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "0");
}

TEST_F(StoreAdminTest, RemoveWithYesDoesNotAsk) {
  Fill();
  auto run = Cli({"remove", "MSFT", "--yes", "--db", db_}, "", true);
  EXPECT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "30");
}

TEST_F(StoreAdminTest, RemoveNamesTheSeriesNotStored) {
  Fill();
  auto run =
      Cli({"remove", "IBM", "AAPL intraday:5min", "GOOG", "--function", "weekly", "--db", db_});
  // --function names the function of the symbols that name none: IBM is then IBM weekly,
  // and the message says what is stored for IBM, as `query` does.
  EXPECT_EQ(run.code, kExitFailed);
  EXPECT_EQ(run.err, "mdfetch: no IBM weekly in " + db_ +
                         "; stored for IBM: daily (mdfetch remove IBM --function daily --db " +
                         db_ + "); nothing stored for AAPL intraday:5min, GOOG weekly in " + db_ +
                         "; nothing removed\n");
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "50");
}

// An option that chooses nothing is refused as by `query`, never ignored: without the check,
// `--extended-hours false` on daily series would remove IBM daily.
TEST_F(StoreAdminTest, RemoveRefusesAnOptionThatChoosesNothing) {
  Fill();
  auto run = Cli({"remove", "IBM", "--extended-hours", "false", "--yes", "--db", db_});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "50");
}

TEST_F(StoreAdminTest, RemoveAndVacuumAreRefusedWhileARefreshRuns) {
  Fill();
  auto lock = WriterLock::Acquire(db_);
  ASSERT_TRUE(lock);
  const std::string held = fmt::format(
      "mdfetch: {} is being refreshed by another mdfetch (pid {}); try again when it "
      "finishes\n",
      db_, ::getpid());
  auto remove = Cli({"remove", "IBM", "--db", db_});
  EXPECT_EQ(remove.code, kExitUsage);
  EXPECT_EQ(remove.err, held);
  auto vacuum = Cli({"vacuum", "--db", db_});
  EXPECT_EQ(vacuum.code, kExitUsage);
  EXPECT_EQ(vacuum.err, held);
  EXPECT_EQ(SqlText(db_, "SELECT count(*) FROM bars"), "50");
}

TEST_F(StoreAdminTest, VacuumPrintsTheSizeBeforeAndAfter) {
  Fill();
  const std::vector<SeriesKey> keys{kIbm};
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->RemoveSeries(keys, clock_.WallNow()));
  }
  const auto before = std::filesystem::file_size(db_) + std::filesystem::file_size(db_ + "-wal");
  auto run = Cli({"vacuum", "--db", db_});
  EXPECT_EQ(run.code, kExitOk) << run.err;
  const auto after = std::filesystem::file_size(db_);
  EXPECT_EQ(std::filesystem::file_size(db_ + "-wal"), 0u);
  EXPECT_EQ(run.out, fmt::format("{}: {} bytes before ({:.1f} KiB), {} bytes after ({:.1f} "
                                 "KiB), database and -wal\n",
                                 db_, before, static_cast<double>(before) / 1024, after,
                                 static_cast<double>(after) / 1024));
}

TEST_F(StoreAdminTest, VacuumOfAMissingStoreCreatesNothing) {
  auto run = Cli({"vacuum", "--db", db_});
  EXPECT_EQ(run.code, kExitUsage);
  EXPECT_EQ(run.err, "mdfetch: no database at '" + db_ + "'\n");
  EXPECT_TRUE(FilesIn(dir_).empty());
}

TEST_F(StoreAdminTest, QuotaCountsAgainstTheRateTheLastRefreshRecorded) {
  Fill();
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->SetSetting(kRateSetting, "5/min,3/day", clock_.WallNow() - 1h));
  }
  const std::string recorded = FormatUtc(clock_.WallNow() - 1h);
  auto stored = Cli({"quota", "--db", db_});
  EXPECT_EQ(stored.code, kExitOk) << stored.err;
  EXPECT_EQ(stored.out, fmt::format("2 of 3 calls spent in the last 24 h; next call allowed: "
                                    "now\n(--rate 5/min,3/day, recorded by the refresh of {})\n",
                                    recorded));
  auto given = Cli({"quota", "--db", db_, "--rate", "1/s,2/day"});
  EXPECT_EQ(given.out, fmt::format("2 of 2 calls spent in the last 24 h; next call allowed: {}\n",
                                   FormatUtc(clock_.WallNow() + 23h)));
  {
    auto store = Open();
    ASSERT_TRUE(store->SetSetting(kRateSetting, "1/s", clock_.WallNow()));
  }
  auto unlimited = Cli({"quota", "--db", db_});
  EXPECT_EQ(unlimited.out, fmt::format("2 calls in the last 24 h; no daily quota in --rate "
                                       "'1/s'\n(--rate 1/s, recorded by the refresh of {})\n",
                                       FormatUtc(clock_.WallNow())));
}

TEST_F(StoreAdminTest, QuotaOfAStoreNoRefreshRecordedUsesTheDefault) {
  Fill();
  auto run = Cli({"quota", "--db", db_});
  EXPECT_EQ(run.out, "2 of 25 calls spent in the last 24 h; next call allowed: now\n");
}

TEST_F(StoreAdminTest, InfoDescribesTheStore) {
  Fill();
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Put(*store, kAapl5,
        {Bar{.ts = "2024-01-02 09:30:00", .open = 1, .high = 2, .low = 1, .close = 2},
         Bar{.ts = "2024-01-02 09:35:00", .open = 2, .high = 3, .low = 2, .close = 3}},
        clock_.WallNow() - 2h);
    ASSERT_TRUE(store->SetSetting(kRateSetting, "5/min,25/day", clock_.WallNow() - 2h));
  }
  auto run = Cli({"info", "--db", db_, "--format", "json"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  auto doc = nlohmann::ordered_json::parse(run.out);
  EXPECT_EQ(doc["database"], db_);
  EXPECT_EQ(doc["read_only"], false);
  EXPECT_EQ(doc["bytes"], std::filesystem::file_size(db_));
  EXPECT_EQ(doc["wal_bytes"], std::filesystem::file_size(db_ + "-wal"));
  EXPECT_EQ(doc["schema_version"], kSchemaVersion);
  EXPECT_EQ(doc["application_id"], kApplicationId);
  EXPECT_EQ(
      doc["functions"].dump(),
      R"([{"function":"daily","series":2,"bars":50,"first":"2024-01-01","last":"2024-01-30"},)"
      R"({"function":"intraday:5min","series":1,"bars":2,"first":"2024-01-02 09:30:00",)"
      R"("last":"2024-01-02 09:35:00"}])");
  EXPECT_EQ(doc["series"], 3);
  EXPECT_EQ(doc["bars"], 52);
  EXPECT_EQ(doc["bytes_per_bar"], std::filesystem::file_size(db_) / 52);
  EXPECT_EQ(doc["first"], "2024-01-01");
  EXPECT_EQ(doc["last"], "2024-01-30");
  EXPECT_EQ(doc["rate"], "5/min,25/day");
  EXPECT_EQ(doc["rate_recorded_at"], "2024-10-03T22:00:00Z");
  EXPECT_EQ(doc["quota_per_day"], 25);
  EXPECT_EQ(doc["calls_last_24h"], 3);

  auto text = Cli({"info", "--db", db_});
  ASSERT_EQ(text.code, kExitOk) << text.err;
  const auto size = std::filesystem::file_size(db_);
  const auto wal = std::filesystem::file_size(db_ + "-wal");
  const std::string tail = fmt::format(
      "schema      version 5, application_id 0x6d646674\n"
      "function        series       bars  oldest bar           newest bar\n"
      "daily                2         50  2024-01-01           2024-01-30\n"
      "intraday:5min        1          2  2024-01-02 09:30:00  2024-01-02 09:35:00\n"
      "all                  3         52  2024-01-01           2024-01-30\n"
      "bytes/bar   {}\n"
      "quota       --rate 5/min,25/day (recorded by the refresh of {}): 25 calls a day\n"
      "calls       3 in the last 24 h\n",
      size / 52, FormatUtc(clock_.WallNow() - 2h));
  EXPECT_EQ(text.out.substr(0, text.out.find('\n') + 1), "store       " + db_ + "\n");
  EXPECT_NE(text.out.find(fmt::format("size        {} bytes + {} bytes -wal (", size, wal)),
            std::string::npos)
      << text.out;
  EXPECT_TRUE(text.out.ends_with(tail)) << text.out;
}

TEST_F(StoreAdminTest, EveryCommandRefusesADbInAMissingFolder) {
  const std::string db = (dir_ / "nowhere" / "market.db").string();
  const std::string error = fmt::format(
      "mdfetch: --db '{}': no such folder '{}' (mdfetch creates only its default folder, "
      "data/)\n",
      db, (dir_ / "nowhere").string());
  const std::vector<std::vector<std::string>> commands{{"refresh", "--sim"},
                                                       {"plan"},
                                                       {"fetch", "IBM", "--sim"},
                                                       {"query", "IBM"},
                                                       {"export", "--all"},
                                                       {"check"},
                                                       {"list"},
                                                       {"quota"},
                                                       {"info"},
                                                       {"remove", "IBM"},
                                                       {"vacuum"}};
  for (auto args : commands) {
    args.insert(args.end(), {"--db", db});
    auto run = Cli(args);
    EXPECT_EQ(run.code, kExitUsage) << args[0];
    EXPECT_EQ(run.err, error) << args[0];
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nowhere"));
}

TEST_F(StoreAdminTest, OnlyTheDefaultFolderMayBeMissing) {
  EXPECT_TRUE(CheckDbFolder("data/market.db"));
  EXPECT_TRUE(CheckDbFolder("data/demo.db"));
  EXPECT_TRUE(CheckDbFolder("market.db"));
  EXPECT_TRUE(CheckDbFolder(":memory:"));
  EXPECT_TRUE(CheckDbFolder(db_));
  std::ofstream((dir_ / "file").string()).close();
  auto not_folder = CheckDbFolder((dir_ / "file" / "x.db").string());
  ASSERT_FALSE(not_folder);
  EXPECT_EQ(not_folder.error().message,
            fmt::format("--db '{}': not a folder: '{}' (mdfetch creates only its default "
                        "folder, data/)",
                        (dir_ / "file" / "x.db").string(), (dir_ / "file").string()));
}

}  // namespace
}  // namespace mdfetch
