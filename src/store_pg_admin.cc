// The PostgreSQL store's housekeeping (settings, remove, VACUUM, sizes) and what
// `mdfetch copy` reads and writes (every column of a series, bars, the call log, facts).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>

#include "store_pg_internal.h"

namespace mdfetch {
namespace {

PgParam OptionalMillis(const std::optional<WallTime>& time) {
  if (!time) return std::nullopt;
  return MillisText(*time);
}

}  // namespace

Result<std::optional<Setting>> PgStore::GetSetting(std::string_view key) {
  auto rows = pg_->Exec("SELECT value, " + PgMillisOf("set_at") + " FROM settings WHERE key = $1",
                        {std::string(key)});
  if (!rows) {
    return Fail(rows.error().code,
                fmt::format("reading setting '{}' failed: {}", key, rows.error().message));
  }
  if (rows->Rows() == 0) return std::optional<Setting>();
  return Setting{.value = std::string(rows->Text(0, 0)), .set_at = TimeFromMillis(rows->Int(0, 1))};
}

Status PgStore::SetSetting(std::string_view key, std::string_view value, WallTime at) {
  auto done =
      pg_->Exec("INSERT INTO settings(key, value, set_at) VALUES ($1, $2, " + PgTimeParam(3) +
                    ") ON CONFLICT(key) DO UPDATE SET value = EXCLUDED.value, "
                    "set_at = EXCLUDED.set_at",
                {std::string(key), std::string(value), MillisText(at)});
  if (!done) {
    return Fail(done.error().code,
                fmt::format("saving setting '{}' failed: {}", key, done.error().message));
  }
  return {};
}

Result<Removed> PgStore::RemoveSeries(std::span<const SeriesKey> keys, WallTime now) {
  const std::string quota_start = MillisText(now - std::chrono::hours(24));
  auto removed = pg_->InTransaction([&]() -> Result<Removed> {
    std::vector<int64_t> ids;
    std::vector<std::string> missing;
    for (const SeriesKey& key : keys) {
      auto id = SeriesId(key, true);
      if (!id) return std::unexpected(id.error());
      if (*id) {
        ids.push_back(**id);
      } else {
        missing.push_back(Describe(key));
      }
    }
    if (!missing.empty()) return Fail(fmt::format("not stored: {}", fmt::join(missing, ", ")));
    Removed done;
    for (int64_t id : ids) {
      const std::string series = std::to_string(id);
      // Calls before the series (they refer to it); bars go with it (ON DELETE CASCADE),
      // but are deleted first to count them.
      auto calls = pg_->Exec("DELETE FROM fetches WHERE series_id = $1 AND at < " + PgTimeParam(2),
                             {series, quota_start});
      if (!calls) return std::unexpected(calls.error());
      auto kept = pg_->Exec("UPDATE fetches SET series_id = NULL WHERE series_id = $1", {series});
      if (!kept) return std::unexpected(kept.error());
      auto bars = pg_->Exec("DELETE FROM bars WHERE series_id = $1", {series});
      if (!bars) return std::unexpected(bars.error());
      auto gone = pg_->Exec("DELETE FROM series WHERE id = $1", {series});
      if (!gone) return std::unexpected(gone.error());
      done.calls += calls->Affected();
      done.calls_kept += kept->Affected();
      done.bars += bars->Affected();
      done.series += gone->Affected();
    }
    return done;
  });
  return PgInContext(std::move(removed), "removing series");
}

Status PgStore::Vacuum() {
  auto done = pg_->Exec(
      "VACUUM (ANALYZE) mdfetch.series, mdfetch.bars, mdfetch.fetches, mdfetch.facts, "
      "mdfetch.settings, mdfetch.meta");
  if (!done) return Fail(done.error().code, "VACUUM failed: " + done.error().message);
  return {};
}

Result<StoreFileInfo> PgStore::FileInfo() {
  auto rows = pg_->Exec(
      "SELECT (SELECT value FROM meta WHERE key = 'schema_version'), "
      "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class AS c "
      "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'mdfetch' AND c.relkind = 'r')");
  if (!rows) {
    return Fail(rows.error().code,
                "reading the store's file information failed: " + rows.error().message);
  }
  StoreFileInfo info;
  info.backend = "postgresql";
  info.schema_version = static_cast<int>(rows->Int(0, 0));
  info.application_id = kApplicationId;
  info.bytes = rows->Int(0, 1);
  return info;
}

Status PgStore::ImportSeries(const SeriesState& state) {
  Status done = pg_->InTransaction([&]() -> Status {
    Result<int64_t> id = EnsureSeries(state.key);
    if (!id) return std::unexpected(id.error());
    PgParam provisional;
    if (!state.provisional_ts.empty()) provisional = state.provisional_ts;
    auto updated = pg_->Exec(
        "UPDATE series SET time_zone = $2, last_refreshed = $3, history_limited = $4, "
        "needs_full = $5, deferred = $6, last_attempt_at = " +
            PgTimeParam(7) + ", last_success_at = " + PgTimeParam(8) +
            ", last_outcome = $9, last_error = $10, provisional_ts = $11::timestamp "
            "WHERE id = $1",
        {std::to_string(*id), state.time_zone, state.last_refreshed,
         state.history_limited ? "true" : "false", state.needs_full ? "true" : "false",
         state.deferred ? "true" : "false", OptionalMillis(state.last_attempt_at),
         OptionalMillis(state.last_success_at), state.last_outcome, state.last_error, provisional});
    if (!updated) return std::unexpected(updated.error());
    return {};
  });
  return PgInContext(std::move(done), fmt::format("importing {}", Describe(state.key)));
}

Result<int64_t> PgStore::ImportBars(const SeriesKey& key, std::span<const Bar> bars) {
  auto added = pg_->InTransaction([&]() -> Result<int64_t> {
    Result<std::optional<int64_t>> id = SeriesId(key, true);
    if (!id) return std::unexpected(id.error());
    if (!*id) return Fail("the series is not stored");
    Result<StoreCounts> counts = UpsertBars(**id, key.function, bars);
    if (!counts) return std::unexpected(counts.error());
    auto updated = pg_->Exec("UPDATE series SET bar_count = bar_count + $2 WHERE id = $1",
                             {std::to_string(**id), std::to_string(counts->added)});
    if (!updated) return std::unexpected(updated.error());
    return counts->added;
  });
  return PgInContext(std::move(added), fmt::format("importing bars of {}", Describe(key)));
}

namespace {

// The columns every read of the call log selects, and how its rows are read.
std::string CallColumns() {
  return "SELECT f.id, " + PgMillisOf("f.at") +
         ", s.symbol, s.function, s.interval, s.options, f.outputsize, f.outcome, "
         "f.http_status, f.bytes, f.bars_new, f.bars_changed, f.bars_unchanged, f.error, "
         "f.month FROM fetches AS f LEFT JOIN series AS s ON s.id = f.series_id ";
}

Result<std::vector<CallRow>> ReadCallRows(const PgRows& rows) {
  std::vector<CallRow> calls;
  for (int r = 0; r < rows.Rows(); ++r) {
    CallRow& call = calls.emplace_back();
    call.id = rows.Int(r, 0);
    call.at = TimeFromMillis(rows.Int(r, 1));
    if (!rows.IsNull(r, 2)) {
      Result<SeriesKey> key = PgReadKey(rows, r, 2);
      if (!key) return Fail("listing calls failed: " + key.error().message);
      call.series = std::move(*key);
    }
    call.outputsize = rows.Text(r, 6);
    call.outcome = rows.Text(r, 7);
    call.http_status = static_cast<int>(rows.Int(r, 8));
    call.bytes = rows.Int(r, 9);
    call.bars_new = rows.Int(r, 10);
    call.bars_changed = rows.Int(r, 11);
    call.bars_unchanged = rows.Int(r, 12);
    call.error = rows.Text(r, 13);
    call.month = rows.Text(r, 14);
  }
  return calls;
}

}  // namespace

Result<std::vector<CallRow>> PgStore::ListCalls(int64_t after_id, int64_t limit) {
  auto rows = pg_->Exec(CallColumns() + "WHERE f.id > $1 ORDER BY f.id LIMIT $2",
                        {std::to_string(after_id), std::to_string(limit)});
  if (!rows) return Fail(rows.error().code, "listing calls failed: " + rows.error().message);
  return ReadCallRows(*rows);
}

Result<std::vector<CallRow>> PgStore::RecentCalls(const std::optional<SeriesKey>& series,
                                                  int64_t limit) {
  PgParam series_id;
  if (series) {
    Result<std::optional<int64_t>> id = SeriesId(*series);
    if (!id) return Fail(id.error().code, "listing calls failed: " + id.error().message);
    if (!*id) return std::vector<CallRow>{};
    series_id = std::to_string(**id);
  }
  auto rows = pg_->Exec(CallColumns() +
                            "WHERE $1::bigint IS NULL OR f.series_id = $1::bigint "
                            "ORDER BY f.id DESC LIMIT $2",
                        {series_id, std::to_string(limit)});
  if (!rows) return Fail(rows.error().code, "listing calls failed: " + rows.error().message);
  return ReadCallRows(*rows);
}

Status PgStore::ImportCalls(std::span<const CallRow> calls) {
  Status done = pg_->InTransaction([&]() -> Status {
    for (const CallRow& call : calls) {
      PgParam series_id;
      if (call.series) {
        Result<std::optional<int64_t>> id = SeriesId(*call.series);
        if (!id) return std::unexpected(id.error());
        if (!*id) return Fail(fmt::format("{} is not stored", Describe(*call.series)));
        series_id = std::to_string(**id);
      }
      auto inserted = pg_->Exec(
          "INSERT INTO fetches(at, series_id, outputsize, outcome, http_status, bytes, "
          "bars_new, bars_changed, bars_unchanged, error, month) VALUES (" +
              PgTimeParam(1) + ", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          {MillisText(call.at), series_id, call.outputsize, call.outcome,
           std::to_string(call.http_status), std::to_string(call.bytes),
           std::to_string(call.bars_new), std::to_string(call.bars_changed),
           std::to_string(call.bars_unchanged), call.error, call.month});
      if (!inserted) return std::unexpected(inserted.error());
    }
    return {};
  });
  return PgInContext(std::move(done), "importing calls");
}

Result<std::vector<NamedValue>> PgStore::ListFacts() {
  auto rows = pg_->Exec("SELECT key, value FROM facts ORDER BY key");
  if (!rows) return Fail(rows.error().code, "listing facts failed: " + rows.error().message);
  std::vector<NamedValue> all;
  for (int r = 0; r < rows->Rows(); ++r) {
    all.push_back({std::string(rows->Text(r, 0)), std::string(rows->Text(r, 1)), std::nullopt});
  }
  return all;
}

Result<std::vector<NamedValue>> PgStore::ListSettings() {
  auto rows =
      pg_->Exec("SELECT key, value, " + PgMillisOf("set_at") + " FROM settings ORDER BY key");
  if (!rows) return Fail(rows.error().code, "listing settings failed: " + rows.error().message);
  std::vector<NamedValue> all;
  for (int r = 0; r < rows->Rows(); ++r) {
    all.push_back({std::string(rows->Text(r, 0)), std::string(rows->Text(r, 1)),
                   TimeFromMillis(rows->Int(r, 2))});
  }
  return all;
}

Result<int64_t> PgStore::CountCalls() {
  auto rows = pg_->Exec("SELECT count(*) FROM fetches");
  if (!rows) return Fail(rows.error().code, "counting calls failed: " + rows.error().message);
  return rows->Int(0, 0);
}

}  // namespace mdfetch
