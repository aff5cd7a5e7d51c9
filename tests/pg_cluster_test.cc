// The throw-away PostgreSQL server (pg_cluster.h) and the libpq paths the PostgreSQL store
// will take (docs/postgresql.md): native types, COPY into a staging table, INSERT ... ON
// CONFLICT that tells new bars from changed and unchanged ones, visibility across
// connections, and the lease claim with FOR UPDATE SKIP LOCKED.
#include "pg_cluster.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mdfetch {
namespace {

struct PgFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConn = std::unique_ptr<PGconn, PgFinish>;
using PgResult = std::unique_ptr<PGresult, PgClear>;

// One bar as the test writes it: every column a native type.
struct TestBar {
  int64_t series_id;
  std::string day;  // date
  std::string ts;   // timestamp (without time zone: exchange-local, as the service says)
  double open, high, low, close;
  int64_t volume;
};

// The row of COPY's text format (tab-separated; none of these values needs escaping).
// fmt::format("{}") of a double is its shortest exact form, which float8in reads back exactly.
std::string CopyLine(const TestBar& b) {
  return fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", b.series_id, b.day, b.ts, b.open, b.high,
                     b.low, b.close, b.volume);
}

double ParseDouble(const char* text) {
  double value = 0;
  const std::string_view s(text);
  EXPECT_EQ(std::from_chars(s.data(), s.data() + s.size(), value).ec, std::errc()) << s;
  return value;
}

int64_t ParseInt(const char* text) {
  int64_t value = 0;
  const std::string_view s(text);
  EXPECT_EQ(std::from_chars(s.data(), s.data() + s.size(), value).ec, std::errc()) << s;
  return value;
}

class PgClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MDFETCH_PG_CLUSTER_OR_SKIP(cluster);
    cluster_ = cluster;
    conn_ = Connect();
    ASSERT_TRUE(conn_);
    // The cluster is shared by the tests of one process: each test starts from no table.
    Exec(conn_.get(), "DROP TABLE IF EXISTS bars, leases");
    Exec(conn_.get(),
         "CREATE TABLE bars(series_id bigint NOT NULL, day date NOT NULL, "
         "ts timestamp NOT NULL, open double precision, high double precision, "
         "low double precision, close double precision, volume bigint, "
         "PRIMARY KEY(series_id, ts))");
  }

  PgConn Connect() {
    PgConn conn(PQconnectdb(cluster_->ConnInfo().c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot connect to " << cluster_->ConnInfo() << ": "
                    << PQerrorMessage(conn.get());
      return nullptr;
    }
    return conn;
  }

  // Runs `sql` and expects `want` (COMMAND_OK for statements, TUPLES_OK for queries).
  static PgResult Exec(PGconn* conn, const std::string& sql,
                       ExecStatusType want = PGRES_COMMAND_OK) {
    PgResult result(PQexec(conn, sql.c_str()));
    EXPECT_EQ(PQresultStatus(result.get()), want)
        << sql << ": " << PQresultErrorMessage(result.get());
    return result;
  }

  // COPY table FROM STDIN with the bars; returns the rows COPY reports.
  static int64_t Copy(PGconn* conn, const std::string& table, const std::vector<TestBar>& bars) {
    Exec(conn, "COPY " + table + " FROM STDIN", PGRES_COPY_IN);
    std::string buffer;
    for (const auto& bar : bars) buffer += CopyLine(bar);
    EXPECT_EQ(PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())), 1)
        << PQerrorMessage(conn);
    EXPECT_EQ(PQputCopyEnd(conn, nullptr), 1) << PQerrorMessage(conn);
    PgResult result(PQgetResult(conn));
    EXPECT_EQ(PQresultStatus(result.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(result.get());
    const int64_t rows = ParseInt(PQcmdTuples(result.get()));
    while (PgResult(PQgetResult(conn))) {
    }
    return rows;
  }

  static std::vector<TestBar> ReadAll(PGconn* conn) {
    PgResult result = Exec(conn,
                           "SELECT series_id, day, ts, open, high, low, close, volume "
                           "FROM bars ORDER BY series_id, ts",
                           PGRES_TUPLES_OK);
    std::vector<TestBar> bars;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      auto v = [&](int col) { return PQgetvalue(result.get(), row, col); };
      bars.push_back({ParseInt(v(0)), v(1), v(2), ParseDouble(v(3)), ParseDouble(v(4)),
                      ParseDouble(v(5)), ParseDouble(v(6)), ParseInt(v(7))});
    }
    return bars;
  }

  static void ExpectBar(const TestBar& got, const TestBar& want) {
    EXPECT_EQ(got.series_id, want.series_id);
    EXPECT_EQ(got.day, want.day);
    EXPECT_EQ(got.ts, want.ts);
    // Exact: the store must give back the very double the service's text decoded to.
    EXPECT_EQ(got.open, want.open);
    EXPECT_EQ(got.high, want.high);
    EXPECT_EQ(got.low, want.low);
    EXPECT_EQ(got.close, want.close);
    EXPECT_EQ(got.volume, want.volume);
  }

  PgCluster* cluster_ = nullptr;
  PgConn conn_;
};

TEST_F(PgClusterTest, ServesOnlyAUnixSocketInItsOwnFolderAsNotRoot) {
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(fs::path(cluster_->Dir()) / ".s.PGSQL.5432"));
  PgResult r = Exec(conn_.get(),
                    "SELECT current_setting('listen_addresses'), "
                    "current_setting('data_directory'), current_setting('fsync')",
                    PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "");
  EXPECT_EQ(PQgetvalue(r.get(), 0, 1), cluster_->Dir() + "/data");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 2), "off");
  struct stat data {};
  ASSERT_EQ(::stat((cluster_->Dir() + "/data").c_str(), &data), 0);
  EXPECT_NE(data.st_uid, 0u) << "PostgreSQL refuses to run as root";
  // The URI form `--db` will take reaches the same server.
  PgConn by_uri(PQconnectdb(cluster_->Uri().c_str()));
  EXPECT_EQ(PQstatus(by_uri.get()), CONNECTION_OK) << PQerrorMessage(by_uri.get());
  std::printf("pg_cluster: started in %lld ms\n",
              static_cast<long long>(cluster_->StartTime().count()));
}

// The write path of docs/postgresql.md: one transaction per series; the answer's bars COPYed
// into a temp table, then merged with INSERT ... ON CONFLICT, which counts new bars
// (xmax = 0) and changed ones, and leaves identical bars untouched.
TEST_F(PgClusterTest, CopyThenUpsertStoresNativeTypesExactly) {
  const std::vector<TestBar> first = {
      {1, "2024-01-02", "2024-01-02 09:30:00", 187.15, 188.44, 183.885, 185.64, 82488674},
      {1, "2024-01-02", "2024-01-02 09:35:00", 0.1, 0.30000000000000004, 1e-300,
       1.7976931348623157e308, 9007199254740993},  // 2^53 + 1: a bigint, not a double
      {2, "2024-01-03", "2024-01-03 00:00:00", 3.0, 3.5, 2.5, 3.25, 0},
  };
  EXPECT_EQ(Copy(conn_.get(), "bars", first), 3);

  std::vector<TestBar> answer = {
      first[0],  // unchanged
      {1, "2024-01-02", "2024-01-02 09:35:00", 0.1, 0.3, 1e-300, 42.0,
       9007199254740993},                                                       // revised
      {1, "2024-01-02", "2024-01-02 09:40:00", 185.0, 186.0, 184.0, 185.5, 1},  // new
  };
  Exec(conn_.get(), "BEGIN");
  Exec(conn_.get(), "CREATE TEMP TABLE incoming (LIKE bars) ON COMMIT DROP");
  EXPECT_EQ(Copy(conn_.get(), "incoming", answer), 3);
  PgResult merged =
      Exec(conn_.get(),
           "INSERT INTO bars SELECT * FROM incoming "
           "ON CONFLICT (series_id, ts) DO UPDATE SET day = EXCLUDED.day, "
           "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, "
           "close = EXCLUDED.close, volume = EXCLUDED.volume "
           "WHERE (bars.day, bars.open, bars.high, bars.low, bars.close, bars.volume) "
           "IS DISTINCT FROM (EXCLUDED.day, EXCLUDED.open, EXCLUDED.high, "
           "EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume) "
           "RETURNING ts, (xmax = 0) AS added",
           PGRES_TUPLES_OK);
  Exec(conn_.get(), "COMMIT");
  ASSERT_EQ(PQntuples(merged.get()), 2);  // the unchanged bar is not touched
  int added = 0;
  for (int row = 0; row < 2; ++row) added += PQgetvalue(merged.get(), row, 1)[0] == 't';
  EXPECT_EQ(added, 1);

  const std::vector<TestBar> stored = ReadAll(conn_.get());
  ASSERT_EQ(stored.size(), 4u);
  ExpectBar(stored[0], answer[0]);
  ExpectBar(stored[1], answer[1]);
  ExpectBar(stored[2], answer[2]);
  ExpectBar(stored[3], first[2]);
}

TEST_F(PgClusterTest, TwoConnectionsSeeEachOthersCommittedRowsOnly) {
  PgConn other = Connect();
  ASSERT_TRUE(other);
  const TestBar a{1, "2024-01-02", "2024-01-02 00:00:00", 1.5, 2.5, 0.5, 2.0, 10};
  const TestBar b{2, "2024-01-02", "2024-01-02 00:00:00", 7.25, 8.0, 7.0, 7.75, 20};

  Exec(conn_.get(), "BEGIN");
  EXPECT_EQ(Copy(conn_.get(), "bars", {a}), 1);
  EXPECT_TRUE(ReadAll(other.get()).empty());  // not committed yet
  Exec(conn_.get(), "COMMIT");
  std::vector<TestBar> seen = ReadAll(other.get());
  ASSERT_EQ(seen.size(), 1u);
  ExpectBar(seen[0], a);

  EXPECT_EQ(Copy(other.get(), "bars", {b}), 1);  // autocommit
  seen = ReadAll(conn_.get());
  ASSERT_EQ(seen.size(), 2u);
  ExpectBar(seen[0], a);
  ExpectBar(seen[1], b);
}

// Two fetchers claiming due series (docs/postgresql.md, "Several fetchers"): a row one
// transaction holds FOR UPDATE is skipped by the other, which takes the next one.
TEST_F(PgClusterTest, SkipLockedGivesTwoFetchersDifferentSeries) {
  Exec(conn_.get(), "CREATE TABLE leases(series_id bigint PRIMARY KEY, holder text)");
  Exec(conn_.get(), "INSERT INTO leases VALUES (1, NULL), (2, NULL)");
  PgConn other = Connect();
  ASSERT_TRUE(other);
  const std::string claim =
      "SELECT series_id FROM leases WHERE holder IS NULL ORDER BY series_id "
      "LIMIT 1 FOR UPDATE SKIP LOCKED";
  Exec(conn_.get(), "BEGIN");
  Exec(other.get(), "BEGIN");
  PgResult mine = Exec(conn_.get(), claim, PGRES_TUPLES_OK);
  PgResult theirs = Exec(other.get(), claim, PGRES_TUPLES_OK);
  ASSERT_EQ(PQntuples(mine.get()), 1);
  ASSERT_EQ(PQntuples(theirs.get()), 1);
  EXPECT_STREQ(PQgetvalue(mine.get(), 0, 0), "1");
  EXPECT_STREQ(PQgetvalue(theirs.get(), 0, 0), "2");
  Exec(conn_.get(), "COMMIT");
  Exec(other.get(), "COMMIT");
}

}  // namespace
}  // namespace mdfetch
