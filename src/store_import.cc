// What `mdfetch copy` reads from and writes into a SQLite store: every column of a series,
// bars without a call, the call log (also read by `serve`), facts and settings. Not on the
// refresh's path, so the statements are prepared per use.
#include <fmt/format.h>

#include "mdfetch/store.h"
#include "store_internal.h"

namespace mdfetch {
namespace {

// A statement prepared for one method call, finalized when it ends.
class Prepared {
 public:
  Prepared(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK;
  }
  ~Prepared() { sqlite3_finalize(stmt_); }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  bool ok() const { return ok_; }
  Query Use() { return Query(stmt_); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

void BindOptionalTime(Query& query, int index, const std::optional<WallTime>& time) {
  if (time) {
    query.BindInt(index, ToMillis(*time));
  } else {
    query.BindNull(index);
  }
}

// key, value (and set_at when `with_time`) of every row of `sql`, in its order.
Result<std::vector<NamedValue>> ListNamed(sqlite3* db, const char* sql, bool with_time) {
  Prepared statement(db, sql);
  if (!statement.ok()) return Fail(sqlite3_errmsg(db));
  Query query = statement.Use();
  std::vector<NamedValue> all;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    NamedValue& row = all.emplace_back(NamedValue{query.Text(0), query.Text(1), std::nullopt});
    if (with_time) row.set_at = FromMillis(query.Int(2));
  }
  if (rc != SQLITE_DONE) return Fail(sqlite3_errmsg(db));
  return all;
}

}  // namespace

Status SqliteStore::ImportSeries(const SeriesState& state) {
  Prepared update(db_,
                  "UPDATE series SET time_zone = ?2, last_refreshed = ?3, history_limited = ?4, "
                  "needs_full = ?5, deferred = ?6, last_attempt_at = ?7, last_success_at = ?8, "
                  "last_outcome = ?9, last_error = ?10, provisional_ts = ?11 WHERE id = ?1");
  if (!update.ok())
    return Fail(fmt::format("importing {} failed: {}", Describe(state.key), stmts_->Message()));
  Status done = stmts_->InTransaction([&]() -> Status {
    Result<int64_t> id = stmts_->EnsureSeries(state.key);
    if (!id) return std::unexpected(id.error());
    Query query = update.Use();
    query.BindInt(1, *id);
    query.BindText(2, state.time_zone);
    query.BindText(3, state.last_refreshed);
    query.BindInt(4, state.history_limited ? 1 : 0);
    query.BindInt(5, state.needs_full ? 1 : 0);
    query.BindInt(6, state.deferred ? 1 : 0);
    BindOptionalTime(query, 7, state.last_attempt_at);
    BindOptionalTime(query, 8, state.last_success_at);
    query.BindText(9, state.last_outcome);
    query.BindText(10, state.last_error);
    query.BindText(11, state.provisional_ts);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return {};
  });
  return InContext(done, fmt::format("importing {}", Describe(state.key)));
}

Result<int64_t> SqliteStore::ImportBars(const SeriesKey& key, std::span<const Bar> bars) {
  Prepared count(db_, "UPDATE series SET bar_count = bar_count + ?2 WHERE id = ?1");
  if (!count.ok())
    return Fail(fmt::format("importing bars of {} failed: {}", Describe(key), stmts_->Message()));
  auto added = stmts_->InTransaction([&]() -> Result<int64_t> {
    Result<std::optional<int64_t>> id = stmts_->SeriesId(key);
    if (!id) return std::unexpected(id.error());
    if (!*id) return Fail("the series is not stored");
    Result<StoreCounts> counts = stmts_->UpsertBars(**id, bars);
    if (!counts) return std::unexpected(counts.error());
    Query query = count.Use();
    query.BindInt(1, **id);
    query.BindInt(2, counts->added);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return counts->added;
  });
  return InContext(std::move(added), fmt::format("importing bars of {}", Describe(key)));
}

namespace {

// The columns every read of the call log selects, and how a row of them is read.
#define MDFETCH_CALL_COLUMNS                                                          \
  "SELECT f.id, f.at, s.symbol, s.function, s.interval, s.options, f.outputsize, "    \
  "f.outcome, f.http_status, f.bytes, f.bars_new, f.bars_changed, f.bars_unchanged, " \
  "f.error, f.month FROM fetches AS f LEFT JOIN series AS s ON s.id = f.series_id "

Result<std::vector<CallRow>> ReadCallRows(Query& query, SqliteStore::Statements& stmts) {
  std::vector<CallRow> rows;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    CallRow& row = rows.emplace_back();
    row.id = query.Int(0);
    row.at = FromMillis(query.Int(1));
    if (!query.IsNull(2)) {
      Result<SeriesKey> key = ReadKey(query, 2);
      if (!key) return Fail("listing calls failed: " + key.error().message);
      row.series = std::move(*key);
    }
    row.outputsize = query.Text(6);
    row.outcome = query.Text(7);
    row.http_status = static_cast<int>(query.Int(8));
    row.bytes = query.Int(9);
    row.bars_new = query.Int(10);
    row.bars_changed = query.Int(11);
    row.bars_unchanged = query.Int(12);
    row.error = query.Text(13);
    row.month = query.Text(14);
  }
  if (rc != SQLITE_DONE) return Fail("listing calls failed: " + stmts.Message());
  return rows;
}

}  // namespace

Result<std::vector<CallRow>> SqliteStore::ListCalls(int64_t after_id, int64_t limit) {
  Prepared statement(db_, MDFETCH_CALL_COLUMNS "WHERE f.id > ?1 ORDER BY f.id LIMIT ?2");
  if (!statement.ok()) return Fail("listing calls failed: " + stmts_->Message());
  Query query = statement.Use();
  query.BindInt(1, after_id);
  query.BindInt(2, limit);
  return ReadCallRows(query, *stmts_);
}

Result<std::vector<CallRow>> SqliteStore::RecentCalls(const std::optional<SeriesKey>& series,
                                                      int64_t limit) {
  std::optional<int64_t> series_id;
  if (series) {
    Result<std::optional<int64_t>> id = stmts_->SeriesId(*series);
    if (!id) return Fail("listing calls failed: " + id.error().message);
    if (!*id) return std::vector<CallRow>{};
    series_id = **id;
  }
  Prepared statement(
      db_, MDFETCH_CALL_COLUMNS "WHERE ?1 IS NULL OR f.series_id = ?1 ORDER BY f.id DESC LIMIT ?2");
  if (!statement.ok()) return Fail("listing calls failed: " + stmts_->Message());
  Query query = statement.Use();
  if (series_id) {
    query.BindInt(1, *series_id);
  } else {
    query.BindNull(1);
  }
  query.BindInt(2, limit);
  return ReadCallRows(query, *stmts_);
}

#undef MDFETCH_CALL_COLUMNS

Status SqliteStore::ImportCalls(std::span<const CallRow> calls) {
  Prepared insert(db_,
                  "INSERT INTO fetches(at, series_id, outputsize, outcome, http_status, bytes, "
                  "bars_new, bars_changed, bars_unchanged, error, month) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!insert.ok()) return Fail("importing calls failed: " + stmts_->Message());
  Status done = stmts_->InTransaction([&]() -> Status {
    for (const CallRow& call : calls) {
      std::optional<int64_t> series_id;
      if (call.series) {
        Result<std::optional<int64_t>> id = stmts_->SeriesId(*call.series);
        if (!id) return std::unexpected(id.error());
        if (!*id) return Fail(fmt::format("{} is not stored", Describe(*call.series)));
        series_id = **id;
      }
      Query query = insert.Use();
      query.BindInt(1, ToMillis(call.at));
      if (series_id) {
        query.BindInt(2, *series_id);
      } else {
        query.BindNull(2);
      }
      query.BindText(3, call.outputsize);
      query.BindText(4, call.outcome);
      query.BindInt(5, call.http_status);
      query.BindInt(6, call.bytes);
      query.BindInt(7, call.bars_new);
      query.BindInt(8, call.bars_changed);
      query.BindInt(9, call.bars_unchanged);
      query.BindText(10, call.error);
      query.BindText(11, call.month);
      if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    }
    return {};
  });
  return InContext(done, "importing calls");
}

Result<std::vector<NamedValue>> SqliteStore::ListFacts() {
  return InContext(ListNamed(db_, "SELECT key, value FROM facts ORDER BY key", false),
                   "listing facts");
}

Result<std::vector<NamedValue>> SqliteStore::ListSettings() {
  return InContext(ListNamed(db_, "SELECT key, value, set_at FROM settings ORDER BY key", true),
                   "listing settings");
}

Result<int64_t> SqliteStore::CountCalls() {
  return InContext(QueryInt(db_, "SELECT count(*) FROM fetches"), "counting calls");
}

}  // namespace mdfetch
