// The store's writes: answers, the call log, and the flags the planner keeps per series.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "mdfetch/store.h"
#include "store_bars.h"
#include "store_internal.h"

namespace mdfetch {

namespace {

// Answers of at least this many bars are stored with foreign keys unchecked (StoreAnswer):
// each bar saves ~750 instructions, the switch costs ~1.3 M, so they break even near 1,800.
constexpr size_t kUncheckedFrom = 2048;

// Binds a bar's ten columns (series_id, ts, open, high, low, close, volume, adjusted_close,
// dividend, split_coefficient) to the parameters first .. first + 9.
void BindBar(Query& query, int first, int64_t series_id, const Bar& bar) {
  query.BindInt(first, series_id);
  query.BindText(first + 1, bar.ts);
  query.BindDouble(first + 2, bar.open);
  query.BindDouble(first + 3, bar.high);
  query.BindDouble(first + 4, bar.low);
  query.BindDouble(first + 5, bar.close);
  // Whole volumes go in as integers so the file shows 22165128, not 22165128.0.
  const std::optional<double>& volume = bar.volume;
  if (volume && std::trunc(*volume) == *volume && *volume >= -0x1p63 && *volume < 0x1p63) {
    query.BindInt(first + 6, static_cast<int64_t>(*volume));
  } else {
    query.BindOptional(first + 6, volume);
  }
  query.BindOptional(first + 7, bar.adjusted_close);
  query.BindOptional(first + 8, bar.dividend);
  query.BindOptional(first + 9, bar.split_coefficient);
}

}  // namespace

Result<std::optional<std::string>> SqliteStore::Statements::NewestTs(int64_t series_id) {
  Query query = Use(Sql::kNewestTs);
  query.BindInt(1, series_id);
  if (query.Step() != SQLITE_ROW) return Fail(Message());
  if (query.IsNull(0)) return std::optional<std::string>();
  return std::optional<std::string>(query.Text(0));
}

Status SqliteStore::Statements::AppendBars(int64_t series_id, std::span<const Bar> bars) {
  // Many rows per statement: SQLite's cost per statement (VDBE start, B-tree seek from the
  // root, journal bookkeeping) is paid once for kBarsPerAppend bars instead of once per bar.
  Query many = Use(Sql::kBarAppendMany);
  for (; bars.size() >= kBarsPerAppend; bars = bars.subspan(kBarsPerAppend)) {
    for (size_t row = 0; row < kBarsPerAppend; ++row) {
      BindBar(many, static_cast<int>(row) * kParamsPerBar + 1, series_id, bars[row]);
    }
    if (many.Step() != SQLITE_DONE) return Fail(Message());
    many.Reset();
  }
  Query one = Use(Sql::kBarAppendOne);
  for (const Bar& bar : bars) {
    BindBar(one, 1, series_id, bar);
    if (one.Step() != SQLITE_DONE) return Fail(Message());
    one.Reset();
  }
  return {};
}

Result<StoreCounts> SqliteStore::Statements::MergeBars(int64_t series_id,
                                                       std::span<const Bar> bars) {
  Query insert = Use(Sql::kBarInsert);
  Query update = Use(Sql::kBarUpdate);
  StoreCounts counts;
  for (const Bar& bar : bars) {
    BindBar(insert, 1, series_id, bar);
    if (insert.Step() != SQLITE_DONE) return Fail(Message());
    insert.Reset();
    if (sqlite3_changes(db) == 1) {
      ++counts.added;
      continue;
    }
    // The bar is there already: rewrite it only if some value differs, so that the counts
    // tell a correction from a repeat.
    BindBar(update, 1, series_id, bar);
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

// Bars newer than every stored one (a first import, each day's new bars) are appended; the
// rest (repeats and corrections) are merged. The two sets share no timestamp, so the order
// in which they are written changes nothing.
Result<StoreCounts> SqliteStore::Statements::UpsertBars(int64_t series_id,
                                                        std::span<const Bar> bars) {
  Result<std::optional<std::string>> newest = NewestTs(series_id);
  if (!newest) return std::unexpected(newest.error());
  return UpsertBars(series_id, bars, *newest);
}

Result<StoreCounts> SqliteStore::Statements::UpsertBars(int64_t series_id,
                                                        std::span<const Bar> bars,
                                                        const std::optional<std::string>& newest) {
  const size_t from = AppendFrom(bars, newest);
  Result<StoreCounts> counts = MergeBars(series_id, bars.first(from));
  if (!counts) return counts;
  if (Status appended = AppendBars(series_id, bars.subspan(from)); !appended) {
    return std::unexpected(appended.error());
  }
  counts->added += static_cast<int64_t>(bars.size() - from);
  return counts;
}

Status SqliteStore::Statements::CompleteFetch(int64_t fetch_id, const CallRecord& record,
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

Result<StoreCounts> SqliteStore::StoreAnswer(int64_t fetch_id, const SeriesKey& key,
                                             const SeriesMeta& meta, std::span<const Bar> bars,
                                             bool history_limited, const CallRecord& record,
                                             WallTime at, StoreScope scope, NewestBar newest) {
  // A large answer (a first import) is stored without foreign-key enforcement, which cannot
  // fail inside this transaction: every row it writes names the series EnsureSeries found or
  // inserted in the same transaction, under BEGIN IMMEDIATE (no other writer can delete it),
  // and it deletes no series. The parent check of each inserted bar was 11% of the
  // instructions a stored bar took (issue 13). But switching the pragma makes SQLite prepare
  // every statement again (~1.3 M instructions), more than a small answer saves: below
  // kUncheckedFrom bars the keys stay checked. SQLite ignores the pragma inside a transaction,
  // so a caller's transaction keeps them on.
  const bool unchecked = bars.size() >= kUncheckedFrom;
  if (unchecked) {
    if (Status off = stmts_->Exec(Sql::kForeignKeysOff); !off) {
      return InContext(Result<StoreCounts>(std::unexpected(off.error())),
                       "storing " + Describe(key));
    }
  }
  auto stored = stmts_->InTransaction([&]() -> Result<StoreCounts> {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    Result<std::optional<std::string>> newest_ts = stmts_->NewestTs(*series_id);
    if (!newest_ts) return std::unexpected(newest_ts.error());
    const std::optional<std::string> superseded =
        SupersededPeriodBar(key.function, *newest_ts, bars);
    Result<StoreCounts> counts = stmts_->UpsertBars(*series_id, bars, *newest_ts);
    if (!counts) return counts;
    // Rows inserted: bar_count grows by these; a deleted bar takes itself off (bars_deleted).
    const int64_t inserted = counts->added;
    if (superseded) {
      // The bar of a week or month taken while it was under way, now keyed by its last
      // trading day: the new bar is that one corrected, not one more.
      Query remove = stmts_->Use(Sql::kBarDeleteOne);
      remove.BindInt(1, *series_id);
      remove.BindText(2, *superseded);
      if (remove.Step() != SQLITE_DONE) return Fail(stmts_->Message());
      --counts->added;
      ++counts->changed;
    }
    if (scope == StoreScope::kBackfill) {
      Query series = stmts_->Use(Sql::kSeriesBackfilled);
      series.BindInt(1, *series_id);
      series.BindText(2, meta.time_zone);
      series.BindInt(3, ToMillis(at));
      series.BindInt(4, inserted);
      if (series.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    } else {
      Query series = stmts_->Use(Sql::kSeriesStored);
      series.BindInt(1, *series_id);
      series.BindText(2, meta.time_zone);
      series.BindText(3, meta.last_refreshed);
      series.BindInt(4, history_limited ? 1 : 0);
      series.BindInt(5, ToMillis(at));
      series.BindInt(6, inserted);
      series.BindText(7, newest == NewestBar::kProvisional && !bars.empty()
                             ? std::string_view(bars.back().ts)
                             : std::string_view());
      if (series.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    }
    CallRecord fetch = record;
    if (fetch.outcome.empty()) fetch.outcome = "stored";
    if (Status done = stmts_->CompleteFetch(fetch_id, fetch, *counts); !done) {
      return std::unexpected(done.error());
    }
    return counts;
  });
  // Back on for everything else the connection runs (deletes, the call log); should that ever
  // fail, the store reports it rather than going on without them.
  if (unchecked) {
    if (Status on = stmts_->Exec(Sql::kForeignKeysOn); !on && stored) {
      stored = std::unexpected(on.error());
    }
  }
  return InContext(std::move(stored), "storing " + Describe(key));
}

Result<int64_t> SqliteStore::BeginCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                       std::string_view month) {
  auto logged = stmts_->InTransaction([&]() -> Result<int64_t> {
    Result<int64_t> series_id = stmts_->EnsureSeries(key);
    if (!series_id) return series_id;
    Query query = stmts_->Use(Sql::kFetchInsert);
    query.BindInt(1, ToMillis(at));
    query.BindInt(2, *series_id);
    query.BindText(3, OutputSizeName(outputsize));
    query.BindText(4, month);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return sqlite3_last_insert_rowid(db_);
  });
  return InContext(std::move(logged), "logging a call for " + Describe(key));
}

Status SqliteStore::FinishCall(int64_t fetch_id, const SeriesKey& key, const CallRecord& record) {
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

Status SqliteStore::ForgetCall(int64_t fetch_id, const SeriesKey& key) {
  Query query = stmts_->Use(Sql::kFetchForget);
  query.BindInt(1, fetch_id);
  if (query.Step() != SQLITE_DONE) {
    return Fail(fmt::format("unlogging a call for {}: {}", Describe(key), stmts_->Message()));
  }
  return {};
}

Status SqliteStore::SetDeferred(const SeriesKey& key, bool deferred, std::string_view reason) {
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

Status SqliteStore::SetNeedsFull(const SeriesKey& key, bool needs_full) {
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
