#include "bench_sqlite.h"

#include <sqlite3.h>

#include <cmath>
#include <optional>

#include "mdfetch/store.h"

namespace mdfetch::bench {
namespace {

void BindOptional(sqlite3_stmt* stmt, int index, const std::optional<double>& value) {
  if (value) {
    sqlite3_bind_double(stmt, index, *value);
  } else {
    sqlite3_bind_null(stmt, index);
  }
}

}  // namespace

Result<std::unique_ptr<RawBarWriter>> RawBarWriter::Open(const std::string& path) {
  std::unique_ptr<RawBarWriter> writer(new RawBarWriter());
  // The Store creates the schema, so the ceiling's table is the store's, whatever migration
  // comes next; it is closed before the raw connection opens.
  if (auto store = Store::Open(path, OpenMode::kReadWrite); !store) {
    return std::unexpected(store.error());
  }
  if (sqlite3_open_v2(path.c_str(), &writer->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Fail(sqlite3_errmsg(writer->db_));
  }
  // The store's settings (journal_mode=WAL is stored in the file by Store::Open).
  if (Status ok = writer->Exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"); !ok) {
    return std::unexpected(ok.error());
  }
  const char* insert_bar =
      "INSERT INTO bars(series_id, ts, open, high, low, close, volume, adjusted_close, "
      "dividend, split_coefficient) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
  const char* insert_series =
      "INSERT INTO series(symbol, function, interval) VALUES (?1, 'daily', '')";
  if (sqlite3_prepare_v2(writer->db_, insert_bar, -1, &writer->insert_bar_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(writer->db_, insert_series, -1, &writer->insert_series_, nullptr) !=
          SQLITE_OK) {
    return Fail(sqlite3_errmsg(writer->db_));
  }
  return writer;
}

RawBarWriter::~RawBarWriter() {
  sqlite3_finalize(insert_bar_);
  sqlite3_finalize(insert_series_);
  sqlite3_close_v2(db_);
}

Status RawBarWriter::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(sqlite3_errmsg(db_));
  }
  return {};
}

Result<int64_t> RawBarWriter::AddSeries(const std::string& symbol) {
  sqlite3_bind_text(insert_series_, 1, symbol.c_str(), -1, SQLITE_STATIC);
  const int rc = sqlite3_step(insert_series_);
  sqlite3_reset(insert_series_);
  if (rc != SQLITE_DONE) return Fail(sqlite3_errmsg(db_));
  return sqlite3_last_insert_rowid(db_);
}

Status RawBarWriter::InsertBars(int64_t series_id, std::span<const Bar> bars) {
  if (Status begun = Exec("BEGIN IMMEDIATE"); !begun) return begun;
  sqlite3_stmt* stmt = insert_bar_;
  sqlite3_bind_int64(stmt, 1, series_id);
  for (const Bar& bar : bars) {
    sqlite3_bind_text(stmt, 2, bar.ts.data(), static_cast<int>(bar.ts.size()), SQLITE_STATIC);
    sqlite3_bind_double(stmt, 3, bar.open);
    sqlite3_bind_double(stmt, 4, bar.high);
    sqlite3_bind_double(stmt, 5, bar.low);
    sqlite3_bind_double(stmt, 6, bar.close);
    if (bar.volume && std::trunc(*bar.volume) == *bar.volume) {
      sqlite3_bind_int64(stmt, 7, static_cast<sqlite3_int64>(*bar.volume));
    } else {
      BindOptional(stmt, 7, bar.volume);
    }
    BindOptional(stmt, 8, bar.adjusted_close);
    BindOptional(stmt, 9, bar.dividend);
    BindOptional(stmt, 10, bar.split_coefficient);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_reset(stmt);
      (void)Exec("ROLLBACK");
      return Fail(message);
    }
    sqlite3_reset(stmt);
  }
  return Exec("COMMIT");
}

}  // namespace mdfetch::bench
