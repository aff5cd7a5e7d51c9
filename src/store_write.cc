// The store's writes: answers, the call log, and the flags the planner keeps per series.
#include <fmt/format.h>

#include "mdfetch/store.h"
#include "store_internal.h"

namespace mdfetch {

Result<StoreCounts> Store::Statements::UpsertBars(int64_t series_id, std::span<const Bar> bars) {
  Query insert = Use(Sql::kBarInsert);
  Query update = Use(Sql::kBarUpdate);
  StoreCounts counts;
  for (const Bar& bar : bars) {
    BindBar(insert, series_id, bar);
    if (insert.Step() != SQLITE_DONE) return Fail(Message());
    insert.Reset();
    if (sqlite3_changes(db) == 1) {
      ++counts.added;
      continue;
    }
    // The bar is there already: rewrite it only if some value differs, so that the counts
    // tell a correction from a repeat.
    BindBar(update, series_id, bar);
    if (update.Step() != SQLITE_DONE) return Fail(Message());
    update.Reset();
    if (sqlite3_changes(db) == 1) {
      ++counts.changed;
    } else {
      ++counts.unchanged;
    }
  }
  return counts;
}

Status Store::Statements::CompleteFetch(int64_t fetch_id, const CallRecord& record,
                                        const StoreCounts& counts) {
  if (fetch_id == 0) return {};
  Query query = Use(Sql::kFetchFinish);
  query.BindInt(1, fetch_id);
  query.BindText(2, record.outcome);
  query.BindInt(3, record.http_status);
  query.BindInt(4, record.bytes);
  query.BindInt(5, counts.added);
  query.BindInt(6, counts.changed);
  query.BindInt(7, counts.unchanged);
  query.BindText(8, record.error);
  if (query.Step() != SQLITE_DONE) return Fail(Message());
  return {};
}

Result<StoreCounts> Store::StoreAnswer(int64_t fetch_id, const SeriesKey& key,
                                       const SeriesMeta& meta, std::span<const Bar> bars,
                                       bool history_limited, const CallRecord& record,
                                       WallTime at) {
  auto stored = stmts_->InTransaction([&]() -> Result<StoreCounts> {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    Result<StoreCounts> counts = stmts_->UpsertBars(*series_id, bars);
    if (!counts) return counts;
    Query series = stmts_->Use(Sql::kSeriesStored);
    series.BindInt(1, *series_id);
    series.BindText(2, meta.time_zone);
    series.BindText(3, meta.last_refreshed);
    series.BindInt(4, history_limited ? 1 : 0);
    series.BindInt(5, ToMillis(at));
    if (series.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    CallRecord fetch = record;
    if (fetch.outcome.empty()) fetch.outcome = "stored";
    if (Status done = stmts_->CompleteFetch(fetch_id, fetch, *counts); !done) {
      return std::unexpected(done.error());
    }
    return counts;
  });
  return InContext(std::move(stored), "storing " + Describe(key));
}

Result<int64_t> Store::BeginCall(const SeriesKey& key, std::string_view outputsize, WallTime at) {
  auto logged = stmts_->InTransaction([&]() -> Result<int64_t> {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return series_id;
    Query query = stmts_->Use(Sql::kFetchInsert);
    query.BindInt(1, ToMillis(at));
    query.BindInt(2, *series_id);
    query.BindText(3, outputsize);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return sqlite3_last_insert_rowid(db_);
  });
  return InContext(std::move(logged), "logging a call for " + Describe(key));
}

Status Store::FinishCall(int64_t fetch_id, const SeriesKey& key, const CallRecord& record) {
  Status finished = stmts_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    if (Status done = stmts_->CompleteFetch(fetch_id, record, {}); !done) return done;
    // The attempt's time is the call's, as logged by BeginCall (kept as is without a call).
    Query query = stmts_->Use(Sql::kSeriesAttempt);
    query.BindInt(1, *series_id);
    query.BindInt(2, fetch_id);
    query.BindText(3, record.outcome);
    query.BindText(4, record.error);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return {};
  });
  return InContext(std::move(finished), "logging a call for " + Describe(key));
}

Status Store::SetDeferred(const SeriesKey& key, bool deferred, std::string_view reason) {
  Status marked = stmts_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    Query query = stmts_->Use(Sql::kSeriesDeferred);
    query.BindInt(1, *series_id);
    query.BindInt(2, deferred ? 1 : 0);
    query.BindText(3, reason);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return {};
  });
  return InContext(std::move(marked), "marking " + Describe(key) + " deferred");
}

Status Store::SetNeedsFull(const SeriesKey& key, bool needs_full) {
  Status marked = stmts_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    Query query = stmts_->Use(Sql::kSeriesNeedsFull);
    query.BindInt(1, *series_id);
    query.BindInt(2, needs_full ? 1 : 0);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return {};
  });
  return InContext(std::move(marked), "marking " + Describe(key) + " for a full fetch");
}

}  // namespace mdfetch
