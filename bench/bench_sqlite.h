// The SQLite ceiling: how fast this build of SQLite takes the same bars with no network, no
// parsing and none of the store's bookkeeping. The database is created by mdfetch's Store (so
// the schema is the store's, WITHOUT ROWID bars and all), then written through the plain
// sqlite3 C API with the store's connection settings (WAL, synchronous=NORMAL, foreign keys
// on): one prepared INSERT, one transaction per history. Not part of mdfetch; used by bench/.
//
// Not thread-safe: one writer, like the store.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "mdfetch/result.h"
#include "mdfetch/series.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mdfetch::bench {

class RawBarWriter {
 public:
  // Creates (or opens) the database file at `path` with the store's schema.
  static Result<std::unique_ptr<RawBarWriter>> Open(const std::string& path);
  ~RawBarWriter();
  RawBarWriter(const RawBarWriter&) = delete;
  RawBarWriter& operator=(const RawBarWriter&) = delete;

  // Inserts a `series` row for a daily `symbol` and returns its id.
  Result<int64_t> AddSeries(const std::string& symbol);
  // Inserts every bar in one transaction (plain INSERT: the bars must be new). Bars are bound
  // the way the store binds them (whole volumes as integers, missing fields as NULL).
  Status InsertBars(int64_t series_id, std::span<const Bar> bars);

 private:
  RawBarWriter() = default;
  Status Exec(const char* sql);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_bar_ = nullptr;
  sqlite3_stmt* insert_series_ = nullptr;
};

}  // namespace mdfetch::bench
