// Private to the store (src/store*.cc): the prepared statements and the helpers its files
// share. Nothing outside the store includes this header, so sqlite3.h stays inside the module.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mdfetch/store.h"
#include "store_sqlite.h"

namespace mdfetch {

// Bars bound per kBarAppendMany statement, and the parameters each bar takes. More rows save
// little (instructions a stored bar, issue 13: 64 rows -2.1%, 128 -2.8%, 256 -2.6%) and cost
// small answers more single-row inserts (100 bars: +14% with 64).
inline constexpr size_t kBarsPerAppend = 32;
inline constexpr int kParamsPerBar = 10;

// Every statement the store runs, prepared once when the store opens.
enum class Sql : size_t {
  kBegin,
  kCommit,
  kRollback,
  kSeriesId,
  kSeriesInsert,
  kSeriesStored,
  kSeriesBackfilled,
  kSeriesAttempt,
  kSeriesDeferred,
  kSeriesNeedsFull,
  kFind,
  kList,
  kListWithoutBarSpan,
  kDeferredList,
  kNewestTs,
  kBarAppendOne,
  kBarAppendMany,
  kBarInsert,
  kBarUpdate,
  kFetchInsert,
  kFetchFinish,
  kFetchForget,
  kCallTimes,
  kMonthStored,
  kFactGet,
  kFactSet,
  kBarsRange,
  kBarsLast,
  kEachBar,
  kIntegrity,
  kSettingGet,
  kSettingSet,
  kCallsForget,
  kCallsDetach,
  kBarsDelete,
  kSeriesDelete,
  kBarDeleteOne,
  kForeignKeysOff,
  kForeignKeysOn,
  kCount,
};

// One use of a prepared statement. Resets the statement when it goes out of scope, so a read
// that stopped early never keeps a WAL snapshot (and a read transaction) open.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Query() {
    if (stmt_ == nullptr) return;  // not prepared (Statements::Use)
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  void BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindDouble(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  // The text must stay alive until the statement is reset or rebound.
  void BindText(int index, std::string_view text) {
    // A default string_view has a null data(), which SQLite would store as NULL.
    const char* data = text.data() != nullptr ? text.data() : "";
    sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  // For text that dies before the statement runs (a temporary): SQLite copies it.
  void BindTextCopy(int index, std::string_view text) {
    const char* data = text.data() != nullptr ? text.data() : "";
    sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void BindOptional(int index, const std::optional<double>& value) {
    if (value) {
      BindDouble(index, *value);
    } else {
      BindNull(index);
    }
  }

  int Step() { return sqlite3_step(stmt_); }
  void Reset() { sqlite3_reset(stmt_); }

  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Double(int column) const { return sqlite3_column_double(stmt_, column); }
  std::optional<double> OptionalDouble(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Double(column);
  }
  std::string_view TextView(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    return {reinterpret_cast<const char*>(text),
            static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  std::string Text(int column) const { return std::string(TextView(column)); }

 private:
  sqlite3_stmt* stmt_;
};

// Reads the series key in columns symbol, function, interval, options starting at `first`.
Result<SeriesKey> ReadKey(const Query& query, int first);

// The single integer a statement (a PRAGMA, a count) returns.
Result<int64_t> QueryInt(sqlite3* db, const char* sql);

// Unix milliseconds, the unit of every time column.
int64_t ToMillis(WallTime time);
WallTime FromMillis(int64_t millis);

// Returns r, or its error prefixed with "<what> failed: ".
template <typename T>
Result<T> InContext(Result<T> r, std::string_view what) {
  if (!r) return Fail(std::string(what) + " failed: " + r.error().message);
  return r;
}

// The connection's statements, and the work that several Store methods share.
struct SqliteStore::Statements {
  explicit Statements(sqlite3* connection) : db(connection) {}
  ~Statements();
  Statements(const Statements&) = delete;
  Statements& operator=(const Statements&) = delete;

  // Each statement is prepared when it is first used, not when the store opens: a read
  // command uses 3 of the ~45, and preparing them all was a share of every start (issue 13).
  // A statement that cannot be prepared (a store whose schema is not ours: refused at open)
  // gives a Query whose steps fail with SQLite's message (Message()).
  Query Use(Sql id) {
    sqlite3_stmt*& stmt = stmts[static_cast<size_t>(id)];
    if (stmt == nullptr) stmt = Prepare(id);
    return Query(stmt);
  }
  // SQLite's message for the last error on this connection.
  std::string Message() const { return sqlite3_errmsg(db); }
  // Runs a statement that returns no rows (or whose rows do not matter).
  Status Exec(Sql id);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it or the commit fails.
  template <typename F>
  auto InTransaction(F&& body) -> decltype(body()) {
    if (Status begun = Exec(Sql::kBegin); !begun) return std::unexpected(begun.error());
    auto result = body();
    if (result) {
      Status committed = Exec(Sql::kCommit);
      if (committed) return result;
      result = std::unexpected(committed.error());
    }
    RollbackIfOpen();
    return result;
  }
  void RollbackIfOpen();

  Result<std::optional<int64_t>> SeriesId(const SeriesKey& key);
  // The series' id, inserting a row holding only the key when there is none.
  Result<int64_t> EnsureSeries(const SeriesKey& key);
  // The ids of the stored series among `keys`, as a JSON array ("[3,7]"; "[]" for none).
  Result<std::string> SeriesIdList(std::span<const SeriesKey> keys);
  // Writes the bars of an answer and counts them (see store_write.cc for the two paths);
  // `newest` is the series' newest stored ts as NewestTs reads it, when the caller has it.
  Result<StoreCounts> UpsertBars(int64_t series_id, std::span<const Bar> bars);
  Result<StoreCounts> UpsertBars(int64_t series_id, std::span<const Bar> bars,
                                 const std::optional<std::string>& newest);
  // The series' newest stored ts; nullopt when it has no bars.
  Result<std::optional<std::string>> NewestTs(int64_t series_id);
  // Inserts bars known to be absent, 32 to a statement; every one is an added bar.
  Status AppendBars(int64_t series_id, std::span<const Bar> bars);
  // Inserts or updates bars one by one, telling added, changed and unchanged apart.
  Result<StoreCounts> MergeBars(int64_t series_id, std::span<const Bar> bars);
  Status CompleteFetch(int64_t fetch_id, const CallRecord& record, const StoreCounts& counts);

  sqlite3* db;
  std::array<sqlite3_stmt*, static_cast<size_t>(Sql::kCount)> stmts{};

 private:
  sqlite3_stmt* Prepare(Sql id);
};

}  // namespace mdfetch
