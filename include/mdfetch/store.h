// Store: where series, bars and calls are kept. An interface with one implementation per
// backend: SqliteStore (src/store_sqlite.h, the embedded default, the only code that includes
// sqlite3.h). What follows describes the SQLite store.
//
// Schema (PRAGMA user_version = kSchemaVersion; opening an older file migrates it, a newer
// one is refused):
//   series(id, symbol, function, interval, options, time_zone, last_refreshed,
//          history_limited, needs_full, deferred, last_attempt_at, last_success_at,
//          last_outcome, last_error, bar_count, provisional_ts,
//          UNIQUE(symbol, function, interval, options))
//          -- options: OptionsText(key), "" or e.g. "adjusted=false" (intraday switches)
//          -- bar_count: rows of the series in `bars`
//          -- provisional_ts: ts of the newest bar when it is provisional (schema 3), else ""
//   bars(series_id, ts, open, high, low, close, volume, adjusted_close, dividend,
//        split_coefficient, PRIMARY KEY(series_id, ts)) WITHOUT ROWID
//        + trigger bars_deleted: a deleted bar lowers its series' bar_count
//   fetches(id AUTOINCREMENT (schema 5: never reused), at, series_id, outputsize, outcome,
//           http_status, bytes, bars_new, bars_changed, bars_unchanged, error, month)
//           -- one row per call sent to the service; month: "YYYY-MM" of an intraday
//              backfill call, else ""
//   facts(key PRIMARY KEY, value)                  -- what was learnt about the key
//   settings(key PRIMARY KEY, value, set_at)       -- how the runs are configured (schema 4):
//           -- "rate": the --rate text of the last refresh, which `quota` counts against
// PRAGMA application_id = kApplicationId (set by schema 4's migration on older stores).
// Times (`at`, `last_*_at`) are Unix milliseconds, UTC. The API key is never stored.
// series.bar_count saves counting bars on every Find/ListSeries: StoreAnswer raises it by the
// bars it adds, in the same transaction; the trigger covers any delete (ours or by hand).
// Bars inserted into the file by anything but StoreAnswer are not counted.
//
// A Store is one connection in WAL mode with synchronous=NORMAL and a busy timeout. A
// writable Store closes without the checkpoint that would lock readers out for a moment
// (it checkpoints passively first), so readers with no busy timeout are never refused
// (but in the microseconds a store that nobody has open is opened: SQLite then rebuilds its
// WAL index and answers a reader SQLITE_BUSY_RECOVERY). It is not thread-safe: one thread (the
// refresh's writer) owns a writable Store; readers open their own read-only Store, which WAL lets
// run beside a refresh. Every write that belongs to one series happens in one transaction, so a
// crash at any moment leaves each series either as before or fully updated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/rate_limiter.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"

struct sqlite3;

namespace mdfetch {

inline constexpr int kSchemaVersion = 5;

// PRAGMA application_id of every mdfetch store: "mdft" in ASCII. A file with another id, or
// with tables of its own and no mdfetch schema, is refused and never written to.
inline constexpr uint32_t kApplicationId = 0x6D646674;

// kWriter is kReadWrite plus the store's writer lock: no other mdfetch writes the store while
// the Store is open (refresh, remove, vacuum). A SQLite kWriter store on a file also copies its
// WAL into the database from a second connection on a thread of its own (WalCheckpointer).
enum class OpenMode { kReadWrite, kReadOnly, kWriter };

// What a stored answer stands for. kLatest: the series' newest bars, which makes the series
// fresh (last_success_at, last_refreshed, history_limited; needs_full and deferred cleared).
// kBackfill: an older stretch (an intraday `month`), which adds and revises bars but leaves
// the series' freshness as it was, so the next refresh still fetches what is new.
enum class StoreScope { kLatest, kBackfill };

// Whether the newest bar of an answer is final, or provisional: made while its session was
// open, its close is the last price (see Answer::newest_provisional). The series records the
// provisional bar's timestamp until an answer makes it final.
enum class NewestBar { kFinal, kProvisional };

// How one successful call changed a series.
struct StoreCounts {
  int64_t added = 0;
  int64_t changed = 0;
  int64_t unchanged = 0;
};

// The outcome of one call, for the `fetches` log.
struct CallRecord {
  std::string outcome;  // "stored", "throttled", "daily_limit", "premium", "error", "transient"
  int http_status = 0;
  int64_t bytes = 0;
  std::string error;  // redacted by the caller
};

// Which bars a read wants. Empty from/to mean unbounded; they compare as text against ts, so
// "2024-01-31" includes every intraday bar of that day when used as `to` only if written
// "2024-01-31 23:59:59" (the CLI does this). last > 0 keeps only the newest `last` bars.
struct BarFilter {
  std::string from;
  std::string to;
  int64_t last = 0;
  bool final_only = false;  // ForEachBar: leave out each series' provisional bar
};

// A value recorded in the `settings` table, and when.
struct Setting {
  std::string value;
  WallTime set_at;
};

// The settings key of the --rate the last refresh ran with (its text, e.g. "5/min,25/day").
inline constexpr std::string_view kRateSetting = "rate";

// What RemoveSeries took away.
struct Removed {
  int64_t series = 0;
  int64_t bars = 0;
  int64_t calls = 0;       // log rows deleted
  int64_t calls_kept = 0;  // log rows of the last 24 h, kept (detached) for the daily quota
};

// One row of the call log, as `mdfetch copy` moves it.
struct CallRow {
  int64_t id = 0;  // the source's id (a high-water mark; not kept on import)
  WallTime at;
  std::optional<SeriesKey> series;  // nullopt: detached by RemoveSeries (kept for the quota)
  std::string outputsize;           // "compact", "full" or ""
  std::string outcome;
  int http_status = 0;
  int64_t bytes = 0;
  int64_t bars_new = 0;
  int64_t bars_changed = 0;
  int64_t bars_unchanged = 0;
  std::string error;
  std::string month;  // "YYYY-MM" or ""
};

// A fact or a setting, as `mdfetch copy` moves them.
struct NamedValue {
  std::string key;
  std::string value;
  std::optional<WallTime> set_at;  // settings only
};

// A fetcher's claim on a series of a shared store (Store::ClaimSeries).
struct Claim {
  bool granted = false;
  std::optional<SeriesState> state;  // granted: the series as stored now (nullopt: not stored)
  std::string holder;                // not granted: the fetcher holding the series' lease
  WallTime expires{};                // not granted: when that lease ends
};

// What Store::ReserveCall made of a call.
struct Reservation {
  enum class Kind {
    kReserved,   // logged: send the call (fetch_id)
    kWait,       // a --rate window of the shared store is full until retry_at
    kDaySpent,   // the daily quota is spent until retry_at
    kLeaseLost,  // the series' lease is no longer this fetcher's: claim it again
  };
  Kind kind = Kind::kReserved;
  int64_t fetch_id = 0;
  WallTime retry_at{};
};

// The store as its backend sees it (`mdfetch info`).
struct StoreFileInfo {
  std::string backend;  // "sqlite" or "postgresql"
  int schema_version = 0;
  uint32_t application_id = 0;  // PostgreSQL: kApplicationId once its meta table says "mdft"
  int64_t bytes = 0;  // SQLite: page_size * pages; PostgreSQL: mdfetch's tables and indexes
  // SQLite only (0 on PostgreSQL):
  int64_t page_size = 0;
  int64_t pages = 0;       // the file is page_size * pages bytes (the -wal file aside)
  int64_t free_pages = 0;  // pages VACUUM would give back
};

class Store {
 public:
  // Opens (kReadWrite, kWriter: creates, then migrates) the store `location` names: a SQLite
  // file path (":memory:" works).
  // Errors name the path: "cannot open database 'data/x.db': unable to open database file".
  // kReadOnly on a missing file fails with "no database at 'PATH'".
  // A file that is not an mdfetch store (see kApplicationId) fails with "'PATH' is not an
  // mdfetch store (WHY); it was left untouched: pass another --db", and nothing is written to
  // it. kReadOnly on read-only media (no -shm file can be created beside a WAL database)
  // opens the file immutable instead: ReadOnlyMedia() then says so; the -wal file is not
  // read, and a writer that runs meanwhile is not seen (nothing can write there anyway).
  // kWriter first takes the store's writer lock (see WriterLock), held until the Store dies.
  static Result<std::unique_ptr<Store>> Open(const std::string& location, OpenMode mode);
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The store as messages name it: the SQLite path, or the PostgreSQL URI with its password
  // redacted (RedactDb).
  virtual std::string Location() const = 0;

  // ---- series ----
  virtual Result<std::optional<SeriesState>> Find(const SeriesKey& key) = 0;
  // Every series, ordered by symbol, function, interval.
  virtual Result<std::vector<SeriesState>> ListSeries() = 0;
  // The same series in the same order, handed to `each` one at a time as they are read (it
  // may move from the state), so that the whole list is never held at once. On failure some
  // may have been handed already.
  virtual Status ForEachSeries(const std::function<void(SeriesState&)>& each) {
    Result<std::vector<SeriesState>> all = ListSeries();
    if (!all) return std::unexpected(all.error());
    for (SeriesState& state : *all) each(state);
    return {};
  }
  // As ForEachSeries, but in no particular order, and first_ts and last_ts may be left empty:
  // a backend can then list without a seek into each series' bars (the planner of 100,000
  // series needs the newest bar only of those that may be due, and reads those again).
  virtual Status ForEachSeriesWithoutBarSpan(const std::function<void(SeriesState&)>& each) {
    return ForEachSeries(each);
  }
  // Series with deferred = 1 (they go first next run).
  virtual Result<std::vector<SeriesKey>> DeferredSeries() = 0;
  virtual Status SetDeferred(const SeriesKey& key, bool deferred, std::string_view reason) = 0;
  virtual Status SetNeedsFull(const SeriesKey& key, bool needs_full) = 0;

  // ---- the call log and the daily quota ----
  // Logs a call before it is sent, durably (its own transaction), so that a crash can
  // never make a spent call uncounted. `month` is the intraday month asked for ("" for
  // none). Returns the fetch id.
  virtual Result<int64_t> BeginCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                    std::string_view month = {}) = 0;
  // Removes the log row of a call that never left this machine (ErrorCode::kNotSent): it is
  // no call, and the daily quota does not count it.
  virtual Status ForgetCall(int64_t fetch_id, const SeriesKey& key) = 0;
  // Records the outcome of a call that stored nothing, and the series' last attempt/outcome.
  // The outcome "unknown" (an `Error Message`: the service does not know the series) is what
  // the planner remembers for a week.
  virtual Status FinishCall(int64_t fetch_id, const SeriesKey& key, const CallRecord& record) = 0;
  // Stores a successful answer in one transaction: creates the series if needed, upserts
  // every bar (a bar that comes back different is updated, an identical one is left as it
  // is), sets time_zone/last_refreshed/history_limited, clears needs_full and deferred,
  // stamps last_success_at = at, and completes the fetch row with the counts. With
  // StoreScope::kBackfill only the bars, the bar count, last_attempt_at and an unset
  // time_zone change (history_limited is ignored).
  virtual Result<StoreCounts> StoreAnswer(int64_t fetch_id, const SeriesKey& key,
                                          const SeriesMeta& meta, std::span<const Bar> bars,
                                          bool history_limited, const CallRecord& record,
                                          WallTime at, StoreScope scope = StoreScope::kLatest,
                                          NewestBar newest = NewestBar::kFinal) = 0;
  // When the newest call for `month` ("YYYY-MM") of the series was stored; nullopt if none.
  virtual Result<std::optional<WallTime>> MonthStoredAt(const SeriesKey& key,
                                                        std::string_view month) = 0;
  // Times of calls logged at or after `since`, oldest first.
  virtual Result<std::vector<WallTime>> CallTimesSince(WallTime since) = 0;

  // ---- facts learnt about the key (e.g. "full_refused:daily") ----
  virtual Result<std::optional<std::string>> GetFact(std::string_view key) = 0;
  virtual Status SetFact(std::string_view key, std::string_view value) = 0;

  // ---- reads ----
  virtual Result<std::vector<Bar>> ReadBars(const SeriesKey& key, const BarFilter& filter) = 0;
  // Streams bars of the given series (all series when `keys` is empty) ordered by symbol,
  // function, interval, then ts, calling `row` once per bar. Stops early and returns the
  // error if `row` returns false ("export stopped: write failed").
  virtual Status ForEachBar(std::span<const SeriesKey> keys, const BarFilter& filter,
                            const std::function<bool(const SeriesKey&, const Bar&)>& row) = 0;

  // Runs PRAGMA integrity_check; "ok" or the problems found.
  virtual Result<std::string> IntegrityCheck() = 0;

  // ---- settings: what the runs are configured with (kRateSetting) ----
  virtual Result<std::optional<Setting>> GetSetting(std::string_view key) = 0;
  virtual Status SetSetting(std::string_view key, std::string_view value, WallTime at) = 0;

  // ---- housekeeping (store_admin.cc); the caller holds the WriterLock for the writes ----
  // Deletes the series, their bars and the calls logged for them before `now` - 24 h, in one
  // transaction. Calls of the last 24 h stay in the log, detached from the series
  // (series_id NULL), because the daily quota counts them. When a key is not stored nothing
  // is removed and the error names every missing one: "not stored: IBM, MSFT weekly".
  virtual Result<Removed> RemoveSeries(std::span<const SeriesKey> keys, WallTime now) = 0;
  // VACUUM, then a TRUNCATE checkpoint that empties the -wal file. Fails (after the VACUUM)
  // when a reader keeps the checkpoint from finishing within the busy timeout.
  virtual Status Vacuum() = 0;
  virtual Result<StoreFileInfo> FileInfo() = 0;
  // ---- moving a store (`mdfetch copy`) ----
  // Creates the series of state.key, or overwrites an existing one, with every column of
  // `state` but id, bar_count, first_ts and last_ts (which follow from the bars).
  virtual Status ImportSeries(const SeriesState& state) = 0;
  // Upserts bars of an existing series in one transaction (an identical bar is left as it
  // is); bar_count stays the number of the series' bars. Returns how many were added.
  virtual Result<int64_t> ImportBars(const SeriesKey& key, std::span<const Bar> bars) = 0;
  // Up to `limit` rows of the call log with id > after_id, in id order.
  virtual Result<std::vector<CallRow>> ListCalls(int64_t after_id, int64_t limit) = 0;
  // Appends calls to the log in one transaction (new ids; a call's series, when set, must be
  // stored: import series first).
  virtual Status ImportCalls(std::span<const CallRow> calls) = 0;
  // The newest `limit` rows of the call log, newest first (by id): those of `series` when
  // set (none when it is not stored), else every row, detached ones included. For `serve`.
  virtual Result<std::vector<CallRow>> RecentCalls(const std::optional<SeriesKey>& series,
                                                   int64_t limit) = 0;
  virtual Result<std::vector<NamedValue>> ListFacts() = 0;
  virtual Result<std::vector<NamedValue>> ListSettings() = 0;
  // Rows in the call log (for the check at the end of a copy).
  virtual Result<int64_t> CountCalls() = 0;

  // ---- several fetchers on one store (PostgreSQL; docs/postgresql.md, section 5) ----
  // True when refreshes share the store instead of excluding each other: each opens it
  // kReadWrite, claims a series before calling for it and reserves every call here, so that
  // together they keep --rate and never fetch one series twice in a run. False (SQLite): one
  // refresh at a time holds the writer lock, and the methods below are the single writer's.
  virtual bool SharedFetching() const { return false; }
  // Gives `holder` the series' lease until now + lease (creating the series' row when it is
  // not stored), unless another holder's lease runs past `now`. Renews a lease `holder`
  // already has. A granted claim carries the series' current state, read under the lease.
  virtual Result<Claim> ClaimSeries(const SeriesKey& key, std::string_view holder, WallTime now,
                                    Nanos lease) {
    (void)holder, (void)now, (void)lease;
    Result<std::optional<SeriesState>> state = Find(key);
    if (!state) return std::unexpected(state.error());
    return Claim{.granted = true, .state = std::move(*state)};
  }
  // Ends `holder`'s lease of the series (when the series is settled).
  virtual Status ReleaseSeries(const SeriesKey& key, std::string_view holder) {
    (void)key, (void)holder;
    return {};
  }
  // Ends every lease `holder` has (at the end of a run). A killed run's leases end when they
  // expire, or as soon as the store sees that the run's connection is gone.
  virtual Status ReleaseLeases(std::string_view holder) {
    (void)holder;
    return {};
  }
  // BeginCall for a shared store: in one transaction, checks that `holder` still has the
  // series' lease (and renews it to at + lease), that every window of `rate` and its daily
  // quota have room at `at` counting every fetcher's calls (and that the newest call is at
  // least period/N old, so that calls stay evenly spaced), and logs the call only then.
  virtual Result<Reservation> ReserveCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                          std::string_view month, const RateSpec& rate,
                                          std::string_view holder, Nanos lease) {
    (void)rate, (void)holder, (void)lease;
    Result<int64_t> id = BeginCall(key, outputsize, at, month);
    if (!id) return std::unexpected(id.error());
    return Reservation{.fetch_id = *id};
  }

  // ---- several writer connections (PostgreSQL) ----
  // Opens one more writing connection (OpenMode::kReadWrite) to this very store, for a
  // second thread to write through while this Store is in use: PostgreSQL, whose server runs
  // each connection on a process of its own, so that answers stored over two connections use
  // two of its cores (src/writer.h, "answer lanes"). Writes of two connections to one series
  // take turns on the series' row lock; no write takes another lock first, so they cannot
  // deadlock. The new Store belongs to the caller and, like this one, to one thread at a time;
  // it holds no writer lock and no lease (leases stay with this connection). Returns nullptr
  // (no error) when the backend has one writer at a time: SQLite, and a store opened
  // kReadOnly. An error when the connection cannot be opened; this store is unaffected.
  // Unlike every other method, it may be called from several threads at once while one
  // thread uses this store (the writer opens its lanes so): it reads only what Open fixed.
  virtual Result<std::unique_ptr<Store>> OpenConcurrentWriter() { return std::unique_ptr<Store>(); }

  // True when Open fell back to reading the file immutable (read-only media).
  virtual bool ReadOnlyMedia() const { return false; }

 protected:
  Store() = default;
};

// An exclusive lock that keeps two refreshes from writing the same database: a flock() on
// "<db>.lock", released when the object dies (or the process does, even by SIGKILL).
// Fails at once, naming the holder: "data/market.db is being refreshed by another mdfetch
// (pid 1234); try again when it finishes".
class WriterLock {
 public:
  static Result<WriterLock> Acquire(const std::string& db_path);
  WriterLock(WriterLock&& other) noexcept;
  WriterLock& operator=(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  ~WriterLock();

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mdfetch
