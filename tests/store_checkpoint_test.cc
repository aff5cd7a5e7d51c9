// WalCheckpointer: the SQLite store's checkpoints on a thread of their own.
#include "store_checkpoint.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace mdfetch {
namespace {

constexpr int kPage = 4096;

// A WAL database with a table of blobs, on one connection (the writer).
class Connection {
 public:
  explicit Connection(const std::string& path, bool write = true) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_,
                        write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY,
                        nullptr),
        SQLITE_OK);
    if (write) {
      Exec("PRAGMA journal_mode = WAL");
      Exec("PRAGMA synchronous = NORMAL");
      Exec("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, b BLOB)");
    }
  }
  ~Connection() { sqlite3_close_v2(db_); }
  sqlite3* db() { return db_; }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error != nullptr ? error : "");
  }
  int64_t Count() {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT count(*) FROM t", -1, &stmt, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("checkpoint_{}_{}", info->name(), ::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "c.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // `transactions` commits of 100 rows of about a page each.
  static void WriteOn(Connection& c, int transactions) {
    for (int i = 0; i < transactions; ++i) {
      c.Exec(
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
          "INSERT INTO t(b) SELECT randomblob(3000) FROM n");
    }
  }
  int64_t WalBytes() const {
    return static_cast<int64_t>(std::filesystem::file_size(path_ + "-wal"));
  }
  // The most a WAL of `pages` pages plus one transaction of slack takes (frame headers, and
  // the file header).
  static int64_t WalBound(int pages) { return int64_t{pages + 2 * 110} * (kPage + 24) + 32; }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalCheckpointerTest, RoundsRunOnTheirOwnConnectionAndKeepTheWalSmall) {
  Connection writer(path_);
  constexpr int kTransactions = 3 * WalCheckpointer::kWaitPages / 100;  // 3 times the wait mark
  {
    WalCheckpointer checkpointer(writer.db(), path_);
    WriteOn(writer, kTransactions);
    const WalCheckpointer::Stats stats = checkpointer.Drain();
    EXPECT_GE(stats.rounds, 1);
    EXPECT_EQ(stats.own_rounds, 0);
    // However the rounds fell, the writer waited before the WAL passed the wait mark by more
    // than a transaction (and the WAL restarts only from its beginning).
    EXPECT_LE(WalBytes(), WalBound(WalCheckpointer::kWaitPages));
  }
  Connection reader(path_, false);
  EXPECT_EQ(reader.Count(), int64_t{kTransactions} * 100);
}

TEST_F(WalCheckpointerTest, AWriterWithoutASecondConnectionCheckpointsItself) {
  Connection writer(path_);
  {
    WalCheckpointer checkpointer(writer.db(), (dir_ / "missing" / "c.db").string());
    WriteOn(writer, 3 * WalCheckpointer::kRoundPages / 100);
    const WalCheckpointer::Stats stats = checkpointer.Drain();
    EXPECT_EQ(stats.rounds, 0);
    EXPECT_GE(stats.own_rounds, 1);
    // As SQLite's autocheckpoint: the WAL restarts once it has passed 1,000 pages.
    EXPECT_LE(WalBytes(), WalBound(WalCheckpointer::kRoundPages));
  }
  EXPECT_EQ(writer.Count(), 3 * WalCheckpointer::kRoundPages);
}

TEST_F(WalCheckpointerTest, AReaderOnAnOldSnapshotHoldsTheWalButNeverTheWriter) {
  Connection writer(path_);
  WriteOn(writer, 1);
  Connection reader(path_, false);
  reader.Exec("BEGIN");
  EXPECT_EQ(reader.Count(), 100);  // the reader's snapshot: the WAL cannot restart past it
  constexpr int kTransactions = 2 * WalCheckpointer::kWaitPages / 100 + 10;
  WalCheckpointer::Stats stats;
  {
    WalCheckpointer checkpointer(writer.db(), path_);
    WriteOn(writer, kTransactions);
    stats = checkpointer.Drain();
  }
  // The WAL passed the wait mark twice; each time the writer waited for one round, which
  // could not restart the WAL, and went on.
  EXPECT_EQ(stats.writer_waits, 2);
  EXPECT_EQ(reader.Count(), 100);
  reader.Exec("COMMIT");
  EXPECT_EQ(reader.Count(), 100 + int64_t{kTransactions} * 100);
}

}  // namespace
}  // namespace mdfetch
