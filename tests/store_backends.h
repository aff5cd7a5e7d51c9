// The two store backends for parameterised store tests: a SQLite file in a temp folder, or
// a fresh database on the shared throw-away PostgreSQL server (pg_cluster.h), one per test.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "mdfetch/clock.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "pg_cluster.h"

namespace mdfetch {

enum class Backend { kSqlite, kPostgres };

// How GoogleTest shows a Backend (ctest's test names end in "# GetParam() = postgresql").
inline void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "sqlite" : "postgresql");
}

// "Sqlite", "Postgres": the suffix of each parameterised test's name.
inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The first column of the first row of `sql` on the store at `location`, as text ("NULL" for
// NULL, "" for no row, "error: ..." on failure). PostgreSQL runs it with search_path mdfetch.
inline std::string RawText(Backend backend, const std::string& location, const std::string& sql) {
  std::string out;
  if (backend == Backend::kSqlite) {
    sqlite3* db = nullptr;
    sqlite3_open(location.c_str(), &db);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    } else if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text == nullptr ? "NULL" : reinterpret_cast<const char*>(text);
    } else if (sqlite3_errcode(db) != SQLITE_DONE && sqlite3_errcode(db) != SQLITE_OK) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }
  PGconn* conn = PQconnectdb(location.c_str());
  PGresult* set = PQexec(conn, "SET search_path = mdfetch; SET DateStyle = ISO");
  PQclear(set);
  PGresult* result = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    out = std::string("error: ") + PQresultErrorMessage(result);
  } else if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) {
    out = PQgetisnull(result, 0, 0) ? "NULL" : PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  PQfinish(conn);
  return out;
}

// A time as the store keeps it: Unix milliseconds.
inline WallTime At(int64_t millis) { return WallTime(std::chrono::milliseconds(millis)); }

// A bar whose prices follow from its close (open close-1, high close+1, low close-2).
inline Bar MakeBar(std::string ts, double close, std::optional<double> volume = 1000) {
  Bar bar;
  bar.ts = std::move(ts);
  bar.open = close - 1;
  bar.high = close + 1;
  bar.low = close - 2;
  bar.close = close;
  bar.volume = volume;
  return bar;
}

}  // namespace mdfetch

// In a fixture's SetUp: `location` (a std::string) becomes a fresh PostgreSQL database's URI
// when `backend` is kPostgres; skips when PostgreSQL cannot start (fails under
// MDFETCH_REQUIRE_PG=1).
#define MDFETCH_FRESH_PG_DATABASE(backend, location)             \
  do {                                                           \
    if ((backend) == ::mdfetch::Backend::kPostgres) {            \
      MDFETCH_PG_CLUSTER_OR_SKIP(cluster_for_db_);               \
      auto fresh_db_uri = cluster_for_db_->NewDatabase();        \
      ASSERT_TRUE(fresh_db_uri) << fresh_db_uri.error().message; \
      (location) = *fresh_db_uri;                                \
    }                                                            \
  } while (false)
