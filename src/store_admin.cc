// Housekeeping of the store: settings, removing series, VACUUM and what the file holds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <vector>

#include "mdfetch/store.h"
#include "store_internal.h"

namespace mdfetch {

Result<std::optional<Setting>> SqliteStore::GetSetting(std::string_view key) {
  Query query = stmts_->Use(Sql::kSettingGet);
  query.BindText(1, key);
  int rc = query.Step();
  if (rc == SQLITE_ROW) return Setting{.value = query.Text(0), .set_at = FromMillis(query.Int(1))};
  if (rc != SQLITE_DONE) {
    return Fail(fmt::format("reading setting '{}' failed: {}", key, stmts_->Message()));
  }
  return std::optional<Setting>();
}

Status SqliteStore::SetSetting(std::string_view key, std::string_view value, WallTime at) {
  Query query = stmts_->Use(Sql::kSettingSet);
  query.BindText(1, key);
  query.BindText(2, value);
  query.BindInt(3, ToMillis(at));
  if (query.Step() != SQLITE_DONE) {
    return Fail(fmt::format("saving setting '{}' failed: {}", key, stmts_->Message()));
  }
  return {};
}

Result<Removed> SqliteStore::RemoveSeries(std::span<const SeriesKey> keys, WallTime now) {
  const int64_t quota_start = ToMillis(now - std::chrono::hours(24));
  auto run = [&](Sql id, int64_t series_id) -> Result<int64_t> {
    Query query = stmts_->Use(id);
    query.BindInt(1, series_id);
    query.BindInt(2, quota_start);
    if (query.Step() != SQLITE_DONE) return Fail(stmts_->Message());
    return sqlite3_changes64(stmts_->db);
  };
  auto removed = stmts_->InTransaction([&]() -> Result<Removed> {
    std::vector<int64_t> ids;
    std::vector<std::string> missing;
    for (const SeriesKey& key : keys) {
      auto id = stmts_->SeriesId(key);
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
      // Bars before the series (they refer to it), calls before both.
      auto calls = run(Sql::kCallsForget, id);
      auto kept = calls ? run(Sql::kCallsDetach, id) : calls;
      auto bars = kept ? run(Sql::kBarsDelete, id) : kept;
      auto series = bars ? run(Sql::kSeriesDelete, id) : bars;
      if (!series) return std::unexpected(series.error());
      done.calls += *calls;
      done.calls_kept += *kept;
      done.bars += *bars;
      done.series += *series;
    }
    return done;
  });
  return InContext(std::move(removed), "removing series");
}

Status SqliteStore::Vacuum() {
  // VACUUM cannot run while a statement of this connection is active; every Query resets
  // its statement, so none is.
  if (sqlite3_exec(db_, "VACUUM", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(fmt::format("VACUUM failed: {}", stmts_->Message()));
  }
  int log_frames = 0;
  int copied = 0;
  int rc =
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &copied);
  if (rc != SQLITE_OK) {
    return Fail(fmt::format("checkpoint after VACUUM failed: {}", stmts_->Message()));
  }
  return {};
}

Result<StoreFileInfo> SqliteStore::FileInfo() {
  StoreFileInfo info;
  info.backend = "sqlite";
  auto version = QueryInt(db_, "PRAGMA user_version");
  auto id = QueryInt(db_, "PRAGMA application_id");
  auto page_size = QueryInt(db_, "PRAGMA page_size");
  auto pages = QueryInt(db_, "PRAGMA page_count");
  auto free_pages = QueryInt(db_, "PRAGMA freelist_count");
  for (const auto* r : {&version, &id, &page_size, &pages, &free_pages}) {
    if (!*r) return Fail("reading the store's file information failed: " + r->error().message);
  }
  info.schema_version = static_cast<int>(*version);
  info.application_id = static_cast<uint32_t>(*id);
  info.page_size = *page_size;
  info.pages = *pages;
  info.free_pages = *free_pages;
  info.bytes = *page_size * *pages;
  return info;
}

}  // namespace mdfetch
