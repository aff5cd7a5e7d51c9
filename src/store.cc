// The store's connection: opening, the schema and its migrations, the prepared statements,
// facts and the integrity check. Writes are in store_write.cc, reads in store_read.cc, the
// writer lock in store_lock.cc.
#include "mdfetch/store.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <string_view>

#include "mdfetch/redact.h"
#include "store_internal.h"
#include "store_pg.h"

namespace mdfetch {
namespace {

constexpr std::chrono::milliseconds kBusyTimeout{10'000};

// Migration N takes a database from user_version N-1 to N. Never edit one that has shipped:
// add the next.
constexpr std::array<const char*, kSchemaVersion> kMigrations{{
    R"sql(
CREATE TABLE series(
  id INTEGER PRIMARY KEY,
  symbol TEXT NOT NULL,
  function TEXT NOT NULL,
  interval TEXT NOT NULL DEFAULT '',
  time_zone TEXT NOT NULL DEFAULT '',
  last_refreshed TEXT NOT NULL DEFAULT '',
  history_limited INTEGER NOT NULL DEFAULT 0,
  needs_full INTEGER NOT NULL DEFAULT 0,
  deferred INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_success_at INTEGER,
  last_outcome TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  bar_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE(symbol, function, interval));
CREATE TABLE bars(
  series_id INTEGER NOT NULL REFERENCES series(id),
  ts TEXT NOT NULL,
  open REAL NOT NULL,
  high REAL NOT NULL,
  low REAL NOT NULL,
  close REAL NOT NULL,
  volume NUMERIC,
  adjusted_close REAL,
  dividend REAL,
  split_coefficient REAL,
  PRIMARY KEY(series_id, ts)) WITHOUT ROWID;
CREATE TRIGGER bars_deleted AFTER DELETE ON bars BEGIN
  UPDATE series SET bar_count = bar_count - 1 WHERE id = old.series_id;
END;
CREATE TABLE fetches(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  series_id INTEGER REFERENCES series(id),
  outputsize TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  bars_new INTEGER NOT NULL DEFAULT 0,
  bars_changed INTEGER NOT NULL DEFAULT 0,
  bars_unchanged INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '');
CREATE INDEX fetches_at ON fetches(at);
CREATE TABLE facts(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // 2: the intraday switches (adjusted=false, extended_hours=false) become part of a
    // series' identity, and a call records the month it asked for. SQLite cannot change a
    // table's UNIQUE constraint in place: the table is rebuilt with the same ids, with
    // foreign keys off (see Setup), the trigger on bars recreated after.
    R"sql(
DROP TRIGGER bars_deleted;
CREATE TABLE series_v2(
  id INTEGER PRIMARY KEY,
  symbol TEXT NOT NULL,
  function TEXT NOT NULL,
  interval TEXT NOT NULL DEFAULT '',
  options TEXT NOT NULL DEFAULT '',
  time_zone TEXT NOT NULL DEFAULT '',
  last_refreshed TEXT NOT NULL DEFAULT '',
  history_limited INTEGER NOT NULL DEFAULT 0,
  needs_full INTEGER NOT NULL DEFAULT 0,
  deferred INTEGER NOT NULL DEFAULT 0,
  last_attempt_at INTEGER,
  last_success_at INTEGER,
  last_outcome TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  bar_count INTEGER NOT NULL DEFAULT 0,
  UNIQUE(symbol, function, interval, options));
INSERT INTO series_v2(id, symbol, function, interval, time_zone, last_refreshed,
                      history_limited, needs_full, deferred, last_attempt_at, last_success_at,
                      last_outcome, last_error, bar_count)
  SELECT id, symbol, function, interval, time_zone, last_refreshed, history_limited,
         needs_full, deferred, last_attempt_at, last_success_at, last_outcome, last_error,
         bar_count FROM series;
DROP TABLE series;
ALTER TABLE series_v2 RENAME TO series;
CREATE TRIGGER bars_deleted AFTER DELETE ON bars BEGIN
  UPDATE series SET bar_count = bar_count - 1 WHERE id = old.series_id;
END;
ALTER TABLE fetches ADD COLUMN month TEXT NOT NULL DEFAULT '';
CREATE INDEX fetches_series_month ON fetches(series_id, month) WHERE month != '';
)sql",
    // 3: the newest bar of an answer made while its session was open is provisional.
    R"sql(
ALTER TABLE series ADD COLUMN provisional_ts TEXT NOT NULL DEFAULT '';
)sql",
    // 4: what the runs were configured with (the --rate of the last refresh), so that
    // `quota` counts against the limit the refreshes keep. Migrate also sets
    // PRAGMA application_id, which older stores lack.
    R"sql(
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL, set_at INTEGER NOT NULL);
)sql",
    // 5: call ids are never used twice (AUTOINCREMENT). Without it SQLite gave the id of the
    // newest call, once deleted (a call that was never sent, `remove`), to the next call, and
    // `mdfetch copy`, which copies the calls after the highest id it copied before, skipped
    // that call. The ids and rows are kept as they are.
    R"sql(
CREATE TABLE fetches_v5(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  series_id INTEGER REFERENCES series(id),
  outputsize TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  http_status INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  bars_new INTEGER NOT NULL DEFAULT 0,
  bars_changed INTEGER NOT NULL DEFAULT 0,
  bars_unchanged INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  month TEXT NOT NULL DEFAULT '');
INSERT INTO fetches_v5(id, at, series_id, outputsize, outcome, http_status, bytes, bars_new,
                       bars_changed, bars_unchanged, error, month)
  SELECT id, at, series_id, outputsize, outcome, http_status, bytes, bars_new, bars_changed,
         bars_unchanged, error, month FROM fetches;
DROP TABLE fetches;
ALTER TABLE fetches_v5 RENAME TO fetches;
CREATE INDEX fetches_at ON fetches(at);
CREATE INDEX fetches_series_month ON fetches(series_id, month) WHERE month != '';
)sql",
}};

#define MDFETCH_SERIES_COLUMNS                                                         \
  "SELECT id, symbol, function, interval, options, time_zone, last_refreshed, "        \
  "history_limited, "                                                                  \
  "needs_full, deferred, last_attempt_at, last_success_at, last_outcome, last_error, " \
  "bar_count, "                                                                        \
  "(SELECT MIN(b.ts) FROM bars AS b WHERE b.series_id = s.id), "                       \
  "(SELECT MAX(b.ts) FROM bars AS b WHERE b.series_id = s.id), provisional_ts FROM series AS s "
// The same columns with first_ts and last_ts '': no seek into the bars of each series.
#define MDFETCH_SERIES_COLUMNS_WITHOUT_BAR_SPAN                                        \
  "SELECT id, symbol, function, interval, options, time_zone, last_refreshed, "        \
  "history_limited, "                                                                  \
  "needs_full, deferred, last_attempt_at, last_success_at, last_outcome, last_error, " \
  "bar_count, '', '', provisional_ts FROM series AS s "
#define MDFETCH_BAR_COLUMNS \
  "ts, open, high, low, close, volume, adjusted_close, dividend, split_coefficient"
#define MDFETCH_SERIES_OF_KEY \
  "(SELECT id FROM series WHERE symbol = ?1 AND function = ?2 AND interval = ?3 AND options = ?7)"

// "INSERT INTO bars(...) VALUES (?,...,?),(?,...,?),..." for kBarsPerAppend rows: bar r
// binds parameters r * kParamsPerBar + 1 .. (r + 1) * kParamsPerBar.
constexpr std::string_view kAppendHead =
    "INSERT INTO bars(series_id, " MDFETCH_BAR_COLUMNS ") VALUES ";
constexpr std::string_view kAppendRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static_assert(std::ranges::count(kAppendRow, '?') == kParamsPerBar);
constexpr auto kAppendManyText = [] {
  // Each row is followed by ',', the last by the terminating '\0' instead.
  constexpr size_t kSize = kAppendHead.size() + kBarsPerAppend * (kAppendRow.size() + 1);
  std::array<char, kSize> text{};
  auto out = std::ranges::copy(kAppendHead, text.begin()).out;
  for (size_t row = 0; row < kBarsPerAppend; ++row) {
    if (row > 0) *out++ = ',';
    out = std::ranges::copy(kAppendRow, out).out;
  }
  return text;
}();

struct SqlText {
  Sql id;
  const char* text;
};

// `last` > 0 in kEachBar starts each series at its `last`-th newest bar in range: the bound is
// an index seek evaluated once per series, not a filter evaluated per bar.
constexpr std::array<SqlText, static_cast<size_t>(Sql::kCount)> kSql{{
    {Sql::kBegin, "BEGIN IMMEDIATE"},
    {Sql::kCommit, "COMMIT"},
    {Sql::kRollback, "ROLLBACK"},
    {Sql::kSeriesId,
     "SELECT id FROM series WHERE symbol = ?1 AND function = ?2 AND interval = ?3 AND options = "
     "?7"},
    {Sql::kSeriesInsert,
     "INSERT INTO series(symbol, function, interval, options) VALUES (?1, ?2, ?3, ?7)"},
    {Sql::kSeriesStored,
     "UPDATE series SET time_zone = ?2, last_refreshed = ?3, history_limited = ?4, "
     "needs_full = 0, deferred = 0, last_attempt_at = ?5, last_success_at = ?5, "
     "last_outcome = 'stored', last_error = '', bar_count = bar_count + ?6, provisional_ts = ?7 "
     "WHERE id = ?1"},
    {Sql::kSeriesBackfilled,
     "UPDATE series SET time_zone = CASE WHEN time_zone = '' THEN ?2 ELSE time_zone END, "
     "last_attempt_at = ?3, last_outcome = 'stored', last_error = '', "
     "bar_count = bar_count + ?4 WHERE id = ?1"},
    {Sql::kSeriesAttempt,
     "UPDATE series SET last_attempt_at = COALESCE((SELECT at FROM fetches WHERE id = ?2), "
     "last_attempt_at), last_outcome = ?3, last_error = ?4 WHERE id = ?1"},
    {Sql::kSeriesDeferred,
     "UPDATE series SET deferred = ?2, "
     "last_outcome = CASE WHEN ?2 THEN 'deferred' ELSE last_outcome END, "
     "last_error = CASE WHEN ?2 THEN ?3 ELSE last_error END WHERE id = ?1"},
    {Sql::kSeriesNeedsFull, "UPDATE series SET needs_full = ?2 WHERE id = ?1"},
    {Sql::kFind, MDFETCH_SERIES_COLUMNS
     "WHERE symbol = ?1 AND function = ?2 AND interval = ?3 AND options = ?7"},
    {Sql::kList, MDFETCH_SERIES_COLUMNS "ORDER BY symbol, function, interval, options"},
    {Sql::kListWithoutBarSpan, MDFETCH_SERIES_COLUMNS_WITHOUT_BAR_SPAN},
    {Sql::kDeferredList,
     "SELECT symbol, function, interval, options FROM series WHERE deferred "
     "ORDER BY symbol, function, interval, options"},
    {Sql::kNewestTs, "SELECT MAX(ts) FROM bars WHERE series_id = ?1"},
    {Sql::kBarAppendOne, "INSERT INTO bars(series_id, " MDFETCH_BAR_COLUMNS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
    {Sql::kBarAppendMany, kAppendManyText.data()},
    {Sql::kBarInsert, "INSERT INTO bars(series_id, " MDFETCH_BAR_COLUMNS
                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING"},
    {Sql::kBarUpdate,
     "UPDATE bars SET open = ?3, high = ?4, low = ?5, close = ?6, volume = ?7, "
     "adjusted_close = ?8, dividend = ?9, split_coefficient = ?10 "
     "WHERE series_id = ?1 AND ts = ?2 AND (open IS NOT ?3 OR high IS NOT ?4 OR low IS NOT ?5 "
     "OR close IS NOT ?6 OR volume IS NOT ?7 OR adjusted_close IS NOT ?8 "
     "OR dividend IS NOT ?9 OR split_coefficient IS NOT ?10)"},
    {Sql::kFetchInsert,
     "INSERT INTO fetches(at, series_id, outputsize, month, outcome) "
     "VALUES (?1, ?2, ?3, ?4, 'sent')"},
    {Sql::kFetchFinish,
     "UPDATE fetches SET outcome = ?2, http_status = ?3, bytes = ?4, bars_new = ?5, "
     "bars_changed = ?6, bars_unchanged = ?7, error = ?8 WHERE id = ?1"},
    {Sql::kFetchForget, "DELETE FROM fetches WHERE id = ?1"},
    {Sql::kCallTimes, "SELECT at FROM fetches WHERE at >= ?1 ORDER BY at"},
    {Sql::kMonthStored, "SELECT MAX(at) FROM fetches WHERE series_id = " MDFETCH_SERIES_OF_KEY
                        " AND month = ?4 AND outcome = 'stored'"},
    {Sql::kFactGet, "SELECT value FROM facts WHERE key = ?1"},
    {Sql::kFactSet,
     "INSERT INTO facts(key, value) VALUES (?1, ?2) "
     "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
    {Sql::kBarsRange,
     "SELECT " MDFETCH_BAR_COLUMNS " FROM bars WHERE series_id = " MDFETCH_SERIES_OF_KEY
     " AND ts >= ?4 AND ts <= ?5 ORDER BY ts"},
    {Sql::kBarsLast, "SELECT * FROM (SELECT " MDFETCH_BAR_COLUMNS
                     " FROM bars WHERE series_id = " MDFETCH_SERIES_OF_KEY
                     " AND ts >= ?4 AND ts <= ?5 ORDER BY ts DESC LIMIT ?6) ORDER BY ts"},
    {Sql::kEachBar,
     "SELECT s.symbol, s.function, s.interval, s.options, b.ts, b.open, b.high, b.low, b.close, "
     "b.volume, b.adjusted_close, b.dividend, b.split_coefficient "
     "FROM series AS s JOIN bars AS b ON b.series_id = s.id "
     "WHERE (?1 IS NULL OR s.id IN (SELECT value FROM json_each(?1))) "
     "AND (?5 = 0 OR b.ts != s.provisional_ts) "
     "AND b.ts >= CASE WHEN ?4 > 0 THEN COALESCE((SELECT l.ts FROM bars AS l "
     "WHERE l.series_id = s.id AND l.ts >= ?2 AND l.ts <= ?3 "
     "ORDER BY l.ts DESC LIMIT 1 OFFSET ?4 - 1), ?2) ELSE ?2 END "
     "AND b.ts <= ?3 ORDER BY s.symbol, s.function, s.interval, s.options, b.ts"},
    {Sql::kIntegrity, "PRAGMA integrity_check"},
    {Sql::kSettingGet, "SELECT value, set_at FROM settings WHERE key = ?1"},
    {Sql::kSettingSet,
     "INSERT INTO settings(key, value, set_at) VALUES (?1, ?2, ?3) "
     "ON CONFLICT(key) DO UPDATE SET value = excluded.value, set_at = excluded.set_at"},
    {Sql::kCallsForget, "DELETE FROM fetches WHERE series_id = ?1 AND at < ?2"},
    {Sql::kCallsDetach, "UPDATE fetches SET series_id = NULL WHERE series_id = ?1"},
    {Sql::kBarsDelete, "DELETE FROM bars WHERE series_id = ?1"},
    {Sql::kSeriesDelete, "DELETE FROM series WHERE id = ?1"},
    {Sql::kBarDeleteOne, "DELETE FROM bars WHERE series_id = ?1 AND ts = ?2"},
    {Sql::kForeignKeysOff, "PRAGMA foreign_keys = OFF"},
    {Sql::kForeignKeysOn, "PRAGMA foreign_keys = ON"},
}};

constexpr bool ListedInEnumOrder() {
  for (size_t i = 0; i < kSql.size(); ++i) {
    if (kSql[i].id != static_cast<Sql>(i)) return false;
  }
  return true;
}
static_assert(ListedInEnumOrder(), "kSql must list every statement once, in enum order");

#undef MDFETCH_SERIES_COLUMNS
#undef MDFETCH_SERIES_COLUMNS_WITHOUT_BAR_SPAN
#undef MDFETCH_BAR_COLUMNS
#undef MDFETCH_SERIES_OF_KEY

std::string CannotOpen(const std::string& path, sqlite3* db) {
  return fmt::format("cannot open database '{}': {}", path, sqlite3_errmsg(db));
}

Result<int> UserVersion(sqlite3* db) {
  Result<int64_t> version = QueryInt(db, "PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  return static_cast<int>(*version);
}

Status ExecScript(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(sqlite3_errmsg(db));
  }
  return {};
}

std::string TooNew(const std::string& path, int version) {
  return fmt::format(
      "database '{}' has schema version {}, newer than this mdfetch understands ({})", path,
      version, kSchemaVersion);
}

// True when no row refers to a missing parent (migrations run with foreign keys off).
bool ForeignKeysHold(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &stmt, nullptr) != SQLITE_OK) {
    return false;
  }
  bool clean = sqlite3_step(stmt) == SQLITE_DONE;
  sqlite3_finalize(stmt);
  return clean;
}

std::string NotOurs(const std::string& path, const std::string& why) {
  return fmt::format("'{}' is not an mdfetch store ({}); it was left untouched: pass another --db",
                     path, why);
}

// Whether the file may be used as a store, from reads alone: nothing is written to a file
// that is not ours, not even its journal mode. Ours: our application_id, or none and the
// mdfetch tables (a store from before schema 4), or nothing at all (a new file).
Status CheckIdentity(sqlite3* db, const std::string& path) {
  // The first access to the file: a file that is not a database fails here.
  Result<int64_t> id = QueryInt(db, "PRAGMA application_id");
  if (!id) return Fail(CannotOpen(path, db));
  const auto application_id = static_cast<uint32_t>(*id);
  if (application_id == kApplicationId) return {};
  if (application_id != 0) {
    return Fail(NotOurs(path, fmt::format("its application_id is {:#010x}", application_id)));
  }
  Result<int64_t> objects = QueryInt(db, "SELECT count(*) FROM sqlite_master");
  Result<int64_t> ours = QueryInt(db,
                                  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                  "name IN ('series', 'bars', 'fetches', 'facts')");
  Result<int> version = UserVersion(db);
  if (!objects || !ours || !version) return Fail(CannotOpen(path, db));
  // An empty database is anyone's to use (a new file; the version checks follow).
  if (*objects == 0) return {};
  if (*version >= 1 && *ours == 4) return {};
  return Fail(NotOurs(path, "it holds tables of its own and no mdfetch schema"));
}

// Brings the schema to kSchemaVersion inside one transaction, re-reading the version under
// the write lock in case another process migrated the file meanwhile.
Status Migrate(sqlite3* db, const std::string& path) {
  if (!ExecScript(db, "BEGIN IMMEDIATE")) return Fail(CannotOpen(path, db));
  Status done = [&]() -> Status {
    Result<int> version = UserVersion(db);
    if (!version) return Fail(CannotOpen(path, db));
    if (*version > kSchemaVersion) return Fail(TooNew(path, *version));
    for (int next = *version + 1; next <= kSchemaVersion; ++next) {
      if (!ExecScript(db, kMigrations[static_cast<size_t>(next - 1)])) {
        return Fail(CannotOpen(path, db));
      }
    }
    if (!ForeignKeysHold(db)) {
      return Fail(fmt::format("cannot upgrade database '{}': rows refer to missing series", path));
    }
    if (!ExecScript(db, fmt::format("PRAGMA user_version = {}", kSchemaVersion)) ||
        !ExecScript(
            db, fmt::format("PRAGMA application_id = {}", static_cast<int32_t>(kApplicationId))) ||
        !ExecScript(db, "COMMIT")) {
      return Fail(CannotOpen(path, db));
    }
    return {};
  }();
  if (!done && sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return done;
}

// Checks (and for a writer, brings up to date) the schema of a freshly opened connection.
Status Setup(sqlite3* db, const std::string& path, OpenMode mode) {
  sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  if (Status ours = CheckIdentity(db, path); !ours) return ours;
  Result<int> version = UserVersion(db);
  if (!version) return Fail(CannotOpen(path, db));
  if (*version > kSchemaVersion) return Fail(TooNew(path, *version));
  if (mode == OpenMode::kReadOnly) {
    if (*version == 0) {
      return Fail(ErrorCode::kNoStore, fmt::format("no mdfetch data in '{}'", path));
    }
    if (*version < kSchemaVersion) {
      return Fail(fmt::format(
          "database '{}' has schema version {}, older than this mdfetch needs ({}); open it "
          "once for writing (e.g. refresh) to upgrade it",
          path, *version, kSchemaVersion));
    }
    return {};
  }
  if (!ExecScript(db, "PRAGMA journal_mode = WAL") ||
      !ExecScript(db, "PRAGMA synchronous = NORMAL")) {
    return Fail(CannotOpen(path, db));
  }
  // Migrations run with foreign keys off (a connection starts so): rebuilding a table that
  // bars refer to would otherwise delete through them.
  if (*version < kSchemaVersion) {
    if (Status migrated = Migrate(db, path); !migrated) return migrated;
  }
  if (!ExecScript(db, "PRAGMA foreign_keys = ON")) return Fail(CannotOpen(path, db));
  return {};
}

}  // namespace

Result<int64_t> QueryInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return Fail(sqlite3_errmsg(db));
  }
  int rc = sqlite3_step(stmt);
  int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  std::string message = rc == SQLITE_ROW ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Fail(message);
  return value;
}

int64_t ToMillis(WallTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

WallTime FromMillis(int64_t millis) {
  return WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(millis)));
}

SqliteStore::Statements::~Statements() {
  for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
}

sqlite3_stmt* SqliteStore::Statements::Prepare(Sql id) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, kSql[static_cast<size_t>(id)].text, -1, SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    return nullptr;  // sqlite3_step(nullptr) fails with SQLITE_MISUSE; Message() says why
  }
  return stmt;
}

Status SqliteStore::Statements::Exec(Sql id) {
  Query query = Use(id);
  int rc = query.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Fail(Message());
  return {};
}

void SqliteStore::Statements::RollbackIfOpen() {
  // Some errors (a full disk, I/O errors) make SQLite roll back by itself.
  if (sqlite3_get_autocommit(db) == 0) (void)Exec(Sql::kRollback);
}

Result<std::optional<int64_t>> SqliteStore::Statements::SeriesId(const SeriesKey& key) {
  Query query = Use(Sql::kSeriesId);
  query.BindText(1, key.symbol);
  query.BindText(2, ShortName(key.function));
  query.BindText(3, key.interval);
  query.BindTextCopy(7, OptionsText(key));
  int rc = query.Step();
  if (rc == SQLITE_ROW) return query.Int(0);
  if (rc != SQLITE_DONE) return Fail(Message());
  return std::nullopt;
}

Result<int64_t> SqliteStore::Statements::EnsureSeries(const SeriesKey& key) {
  Result<std::optional<int64_t>> found = SeriesId(key);
  if (!found) return std::unexpected(found.error());
  if (*found) return **found;
  Query query = Use(Sql::kSeriesInsert);
  query.BindText(1, key.symbol);
  query.BindText(2, ShortName(key.function));
  query.BindText(3, key.interval);
  query.BindTextCopy(7, OptionsText(key));
  if (query.Step() != SQLITE_DONE) return Fail(Message());
  return sqlite3_last_insert_rowid(db);
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db), stmts_(std::make_unique<Statements>(db)) {}

SqliteStore::~SqliteStore() {
  checkpointer_.reset();  // its round ends and its connection closes before ours
  stmts_.reset();         // statements first: a connection with live statements cannot close
  if (!set_up_) {
    // A file refused as not ours (or not upgradable) is left exactly as it was: closing the
    // last connection to a WAL database would otherwise checkpoint it.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  } else if (sqlite3_db_readonly(db_, "main") == 0) {
    // The last connection to close a WAL database checkpoints it under an exclusive lock,
    // and a reader without a busy timeout (the sqlite3 shell's default) that comes in that
    // moment is refused with "database is locked". A truncating checkpoint takes no lock a
    // reader needs (readers of a WAL copied whole read the database file), and without a
    // busy timeout it waits for no one: a reader on an older snapshot makes it copy what it
    // can and leave the WAL, as a passive one would. Emptied, the WAL costs nothing to the
    // next connection that opens the store: SQLite reads the whole file to rebuild its index
    // (7 ms for the 16 MB a first import may leave). The file stays, at 0 bytes.
    sqlite3_busy_timeout(db_, 0);
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  sqlite3_close_v2(db_);
}

namespace {

// "file:PATH?immutable=1", PATH percent-encoded but for its unreserved characters and '/'.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += fmt::format("%{:02X}", c);
    }
  }
  return uri + "?immutable=1";
}

// A reader on read-only media (a read-only mount, a snapshot) cannot create the -shm file a
// WAL database needs, and SQLite says "unable to open database file"; a stale -shm it may
// not write gives SQLITE_READONLY_*.
bool ReadOnlyMediaError(int code) {
  const int primary = code & 0xff;
  return primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY;
}

// Whether the folder of `path` takes new files, asked of SQLite's own file layer (access(2)
// with W_OK: EROFS on a read-only mount, even for root). Only when it does not is the
// immutable fallback safe to consider: on a writable folder an open that fails has another
// cause, and a live store must never be read as immutable.
bool FolderWritable(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
  int writable = 0;
  if (vfs == nullptr ||
      vfs->xAccess(vfs, folder.c_str(), SQLITE_ACCESS_READWRITE, &writable) != SQLITE_OK) {
    return true;
  }
  return writable != 0;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenWith(const std::string& path,
                                                           const std::string& name, int flags,
                                                           OpenMode mode, int* code) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
  // The store owns the handle from here on, so every failure below closes it.
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  Status ready = rc != SQLITE_OK ? Fail(CannotOpen(path, db)) : Setup(db, path, mode);
  if (!ready) {
    if (code != nullptr) *code = sqlite3_extended_errcode(db);
    return std::unexpected(ready.error());
  }
  store->set_up_ = true;
  store->path_ = path;
  return store;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& location, OpenMode mode) {
  if (IsPostgresUri(location)) return PgStore::Open(location, mode);
  return SqliteStore::Open(location, mode);
}

Result<std::unique_ptr<Store>> SqliteStore::Open(const std::string& path, OpenMode mode) {
  // Before the first connection of the process (and never beside one of ours, which all
  // start here): SQLite then stops taking a global mutex around every allocation to keep
  // memory statistics that nothing reads. SQLITE_MISUSE means some other code started SQLite
  // first; it then keeps its statistics, which costs speed, not correctness.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  struct stat info {};
  if (mode == OpenMode::kReadOnly && ::stat(path.c_str(), &info) != 0) {
    return Fail(ErrorCode::kNoStore, fmt::format("no database at '{}'", path));
  }
  if (mode == OpenMode::kWriter) {
    const std::string lock_path = path + ".lock";
    const bool lock_existed = path != ":memory:" && ::access(lock_path.c_str(), F_OK) == 0;
    auto lock = WriterLock::Acquire(path);
    if (!lock) return std::unexpected(lock.error());
    auto store =
        OpenWith(path, path, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                 OpenMode::kReadWrite);
    if (!store) {
      // A refused file (not an mdfetch store, unreadable) gets no lock file beside it from
      // us; removed while still locked, so no other mdfetch can hold it.
      if (path != ":memory:" && !lock_existed) ::unlink(lock_path.c_str());
      return std::unexpected(store.error());
    }
    (*store)->lock_ = std::move(*lock);
    if (path != ":memory:") {
      (*store)->checkpointer_ = std::make_unique<WalCheckpointer>((*store)->db_, path);
    }
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (mode == OpenMode::kReadWrite) {
    return OpenWith(path, path, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                    mode);
  }
  int code = SQLITE_OK;
  auto store = OpenWith(path, path, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY, mode, &code);
  if (store || !ReadOnlyMediaError(code) || FolderWritable(path)) return store;
  // Immutable: no -shm, no lock, and the -wal file is not read. A file that cannot be read
  // at all fails again; the first error is the one that says why.
  auto immutable = OpenWith(path, ImmutableUri(path),
                            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, mode);
  if (!immutable) return store;
  (*immutable)->read_only_media_ = true;
  return immutable;
}

Result<std::optional<std::string>> SqliteStore::GetFact(std::string_view key) {
  Query query = stmts_->Use(Sql::kFactGet);
  query.BindText(1, key);
  int rc = query.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(query.Text(0));
  if (rc != SQLITE_DONE)
    return Fail(fmt::format("reading fact '{}' failed: {}", key, stmts_->Message()));
  return std::optional<std::string>();
}

Status SqliteStore::SetFact(std::string_view key, std::string_view value) {
  Query query = stmts_->Use(Sql::kFactSet);
  query.BindText(1, key);
  query.BindText(2, value);
  if (query.Step() != SQLITE_DONE) {
    return Fail(fmt::format("saving fact '{}' failed: {}", key, stmts_->Message()));
  }
  return {};
}

Result<std::string> SqliteStore::IntegrityCheck() {
  Query query = stmts_->Use(Sql::kIntegrity);
  std::string report;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    if (!report.empty()) report += '\n';
    report += query.TextView(0);
  }
  if (rc != SQLITE_DONE) return Fail("integrity check failed: " + stmts_->Message());
  return report;
}

}  // namespace mdfetch
