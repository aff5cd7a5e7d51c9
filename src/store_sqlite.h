// SqliteStore: the Store on one SQLite connection (store.cc, store_read.cc, store_write.cc,
// store_admin.cc). Private to the store; the rest of mdfetch knows only mdfetch/store.h.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mdfetch/store.h"
#include "store_checkpoint.h"

struct sqlite3;

namespace mdfetch {

class SqliteStore final : public Store {
 public:
  // Store::Open for a SQLite path; kWriter takes the WriterLock before the file is opened.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, OpenMode mode);
  ~SqliteStore() override;

  std::string Location() const override { return path_; }

  Result<std::optional<SeriesState>> Find(const SeriesKey& key) override;
  Result<std::vector<SeriesState>> ListSeries() override;
  Status ForEachSeries(const std::function<void(SeriesState&)>& each) override;
  Status ForEachSeriesWithoutBarSpan(const std::function<void(SeriesState&)>& each) override;
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
  Result<std::string> IntegrityCheck() override;
  Result<std::optional<Setting>> GetSetting(std::string_view key) override;
  Status SetSetting(std::string_view key, std::string_view value, WallTime at) override;
  Result<Removed> RemoveSeries(std::span<const SeriesKey> keys, WallTime now) override;
  Status Vacuum() override;
  Result<StoreFileInfo> FileInfo() override;
  Status ImportSeries(const SeriesState& state) override;  // store_import.cc
  Result<int64_t> ImportBars(const SeriesKey& key, std::span<const Bar> bars) override;
  Result<std::vector<CallRow>> ListCalls(int64_t after_id, int64_t limit) override;
  Status ImportCalls(std::span<const CallRow> calls) override;
  Result<std::vector<CallRow>> RecentCalls(const std::optional<SeriesKey>& series,
                                           int64_t limit) override;
  Result<std::vector<NamedValue>> ListFacts() override;
  Result<std::vector<NamedValue>> ListSettings() override;
  Result<int64_t> CountCalls() override;
  bool ReadOnlyMedia() const override { return read_only_media_; }

  struct Statements;  // store_internal.h

 private:
  explicit SqliteStore(sqlite3* db);
  // One attempt of Open on `name` (the path, or a URI), stating the path in errors; `code`
  // receives SQLite's extended error code when it fails.
  static Result<std::unique_ptr<SqliteStore>> OpenWith(const std::string& path,
                                                       const std::string& name, int flags,
                                                       OpenMode mode, int* code = nullptr);
  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Statements> stmts_;
  std::optional<WriterLock> lock_;                 // kWriter: released after the connection closes
  std::unique_ptr<WalCheckpointer> checkpointer_;  // kWriter on a file: checkpoints off-thread
  bool set_up_ = false;                            // the schema was checked (and the file is ours)
  bool read_only_media_ = false;
};

}  // namespace mdfetch
