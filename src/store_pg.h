// PgStore: the Store on one PostgreSQL connection (store_pg.cc: opening, the schema, its
// migrations, the writer lock; store_pg_write.cc; store_pg_read.cc; store_pg_admin.cc).
// Private to the store; the rest of mdfetch knows only mdfetch/store.h. The schema and the
// reasons for it are in docs/postgresql.md, section 4.
//
// Everything lives in the schema `mdfetch` (the connection's search_path). Bar timestamps are
// `timestamp` columns, given back as the very text the SQLite store keeps ("2024-01-02" for
// daily and coarser functions, "2024-01-02 09:35:00" for intraday); times of calls are
// `timestamptz`. Not thread-safe, like SqliteStore: one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mdfetch/store.h"

namespace mdfetch {

class PgConn;  // pg_conn.h: libpq stays inside the PostgreSQL store
enum class PgCommit;

// The PostgreSQL schema's own version (meta.schema_version), not SQLite's kSchemaVersion.
inline constexpr int kPgSchemaVersion = 4;

class PgStore final : public Store {
 public:
  // Store::Open for a PostgreSQL URI. kReadWrite and kWriter create the schema in an empty
  // database (or one whose schema `mdfetch` is empty) and migrate an older one, in one
  // transaction under pg_advisory_xact_lock. A database whose schema `mdfetch` is not
  // mdfetch's (no meta row application = 'mdft') is refused and left untouched. kReadOnly
  // opens a read-only session, and asks for a refresh when the schema is missing or older.
  // kWriter also takes the store's writer lock (a session advisory lock), held until the
  // store dies; when another mdfetch holds it, fails at once naming the holder:
  // "URI is being refreshed by another mdfetch (pid 1234 on host); try again when it
  // finishes".
  static Result<std::unique_ptr<Store>> Open(const std::string& uri, OpenMode mode);
  ~PgStore() override;

  std::string Location() const override;

  Result<std::optional<SeriesState>> Find(const SeriesKey& key) override;
  Result<std::vector<SeriesState>> ListSeries() override;
  Result<std::vector<SeriesKey>> DeferredSeries() override;
  Status SetDeferred(const SeriesKey& key, bool deferred, std::string_view reason) override;
  Status SetNeedsFull(const SeriesKey& key, bool needs_full) override;
  Result<int64_t> BeginCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                            std::string_view month) override;
  Status ForgetCall(int64_t fetch_id, const SeriesKey& key) override;
  Status FinishCall(int64_t fetch_id, const SeriesKey& key, const CallRecord& record) override;
  Result<StoreCounts> StoreAnswer(int64_t fetch_id, const SeriesKey& key, const SeriesMeta& meta,
                                  std::span<const Bar> bars, bool history_limited,
                                  const CallRecord& record, WallTime at, StoreScope scope,
                                  NewestBar newest) override;
  Result<std::optional<WallTime>> MonthStoredAt(const SeriesKey& key,
                                                std::string_view month) override;
  Result<std::vector<WallTime>> CallTimesSince(WallTime since) override;
  Result<std::optional<std::string>> GetFact(std::string_view key) override;
  Status SetFact(std::string_view key, std::string_view value) override;
  Result<std::vector<Bar>> ReadBars(const SeriesKey& key, const BarFilter& filter) override;
  Status ForEachBar(std::span<const SeriesKey> keys, const BarFilter& filter,
                    const std::function<bool(const SeriesKey&, const Bar&)>& row) override;
  // bar_count agrees with the rows of each series, and each provisional_ts is a stored bar:
  // "ok", or one line per problem.
  Result<std::string> IntegrityCheck() override;
  Result<std::optional<Setting>> GetSetting(std::string_view key) override;
  Status SetSetting(std::string_view key, std::string_view value, WallTime at) override;
  Result<Removed> RemoveSeries(std::span<const SeriesKey> keys, WallTime now) override;
  // VACUUM (ANALYZE) of mdfetch's tables: space is reused, not given back to the system.
  Status Vacuum() override;
  // backend "postgresql", meta's schema_version, bytes of mdfetch's tables and indexes.
  Result<StoreFileInfo> FileInfo() override;
  Status ImportSeries(const SeriesState& state) override;
  Result<int64_t> ImportBars(const SeriesKey& key, std::span<const Bar> bars) override;
  Result<std::vector<CallRow>> ListCalls(int64_t after_id, int64_t limit) override;
  Status ImportCalls(std::span<const CallRow> calls) override;
  Result<std::vector<CallRow>> RecentCalls(const std::optional<SeriesKey>& series,
                                           int64_t limit) override;
  Result<std::vector<NamedValue>> ListFacts() override;
  Result<std::vector<NamedValue>> ListSettings() override;
  Result<int64_t> CountCalls() override;
  // Several fetchers (store_pg_lease.cc).
  bool SharedFetching() const override { return true; }
  Result<Claim> ClaimSeries(const SeriesKey& key, std::string_view holder, WallTime now,
                            Nanos lease) override;
  Status ReleaseSeries(const SeriesKey& key, std::string_view holder) override;
  Status ReleaseLeases(std::string_view holder) override;
  Result<Reservation> ReserveCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                  std::string_view month, const RateSpec& rate,
                                  std::string_view holder, Nanos lease) override;
  // A new PgStore on the same URI, kReadWrite (nullptr when this one is kReadOnly).
  Result<std::unique_ptr<Store>> OpenConcurrentWriter() override;
  // Transactions of this connection begun as PgCommit::kLazy so far (answers, claims and
  // releases: repairable_commit_ below).
  int64_t LazyTransactions() const;

 private:
  PgStore(std::unique_ptr<PgConn> pg, std::string uri, OpenMode mode, PgCommit repairable_commit);

  // The series' id; nullopt when it is not stored.
  Result<std::optional<int64_t>> SeriesId(const SeriesKey& key, bool for_update = false);
  // The series' id, inserting a row holding only the key when there is none; the row is
  // locked until the transaction ends.
  Result<int64_t> EnsureSeries(const SeriesKey& key);
  // Writes bars of a series (COPY for the new tail, a merge for the rest) and counts them;
  // `newest` is the series' newest stored ts as NewestTs reads it, when the caller has it.
  Result<StoreCounts> UpsertBars(int64_t series_id, Function function, std::span<const Bar> bars);
  Result<StoreCounts> UpsertBars(int64_t series_id, std::span<const Bar> bars,
                                 const std::optional<std::string>& newest);
  // The series' newest stored ts, as SQLite's store writes it; nullopt when it has no bars.
  Result<std::optional<std::string>> NewestTs(int64_t series_id, Function function);
  Result<StoreCounts> MergeBars(int64_t series_id, std::span<const Bar* const> bars);
  Status CompleteFetch(int64_t fetch_id, const CallRecord& record, const StoreCounts& counts);

  std::unique_ptr<PgConn> pg_;
  std::string uri_;  // as given to Open, password and all: never shown (Location() is)
  OpenMode mode_;
  // How the transactions commit whose loss in a crash of the server costs nothing the next
  // run does not mend: an answer (its call is logged durably before it is made, and the
  // series, left as before, is fetched again), a claim or a release of a lease (every lease of
  // a session the crash ended is free). kLazy unless anyone set synchronous_commit for the
  // session (then their setting holds); the call log (BeginCall, ReserveCall) is kDurable.
  PgCommit repairable_commit_;
};

}  // namespace mdfetch
