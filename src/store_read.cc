// The store's reads: series, bars, the call log.
#include <fmt/format.h>

#include <algorithm>

#include "mdfetch/store.h"
#include "store_internal.h"

namespace mdfetch {
namespace {

// Sorts after every timestamp: an empty `to` becomes this, so one statement serves both the
// bounded and the unbounded read and keeps its index range.
constexpr std::string_view kAfterEveryTs = "\x7f";

std::string_view UpperBound(const BarFilter& filter) {
  return filter.to.empty() ? kAfterEveryTs : std::string_view(filter.to);
}

void BindKey(Query& query, const SeriesKey& key) {
  query.BindText(1, key.symbol);
  query.BindText(2, ShortName(key.function));
  query.BindText(3, key.interval);
  query.BindTextCopy(7, OptionsText(key));
}

// Reads ts, open, high, low, close, volume, adjusted_close, dividend, split_coefficient
// starting at `first`, reusing `bar`'s storage.
void ReadBar(const Query& query, int first, Bar& bar) {
  std::string_view ts = query.TextView(first);
  bar.ts.assign(ts.data(), ts.size());
  bar.open = query.Double(first + 1);
  bar.high = query.Double(first + 2);
  bar.low = query.Double(first + 3);
  bar.close = query.Double(first + 4);
  bar.volume = query.OptionalDouble(first + 5);
  bar.adjusted_close = query.OptionalDouble(first + 6);
  bar.dividend = query.OptionalDouble(first + 7);
  bar.split_coefficient = query.OptionalDouble(first + 8);
}

// Reads a row of MDFETCH_SERIES_COLUMNS (see store.cc).
Result<SeriesState> ReadSeries(const Query& query) {
  Result<SeriesKey> key = ReadKey(query, 1);
  if (!key) return std::unexpected(key.error());
  SeriesState state;
  state.id = query.Int(0);
  state.key = std::move(*key);
  state.time_zone = query.Text(5);
  state.last_refreshed = query.Text(6);
  state.history_limited = query.Int(7) != 0;
  state.needs_full = query.Int(8) != 0;
  state.deferred = query.Int(9) != 0;
  if (!query.IsNull(10)) state.last_attempt_at = FromMillis(query.Int(10));
  if (!query.IsNull(11)) state.last_success_at = FromMillis(query.Int(11));
  state.last_outcome = query.Text(12);
  state.last_error = query.Text(13);
  state.bar_count = query.Int(14);
  state.first_ts = query.Text(15);
  state.last_ts = query.Text(16);
  state.provisional_ts = query.Text(17);
  return state;
}

// Hands each row of `listing` (a series listing of MDFETCH_SERIES_COLUMNS) to `each`.
Status EachSeries(SqliteStore::Statements& stmts, Sql listing,
                  const std::function<void(SeriesState&)>& each) {
  Query query = stmts.Use(listing);
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    Result<SeriesState> state = ReadSeries(query);
    if (!state) return Fail("listing series failed: " + state.error().message);
    each(*state);
  }
  if (rc != SQLITE_DONE) return Fail("listing series failed: " + stmts.Message());
  return {};
}

bool SameKey(const Query& query, const SeriesKey& key) {
  return query.TextView(0) == key.symbol && query.TextView(2) == key.interval &&
         query.TextView(1) == ShortName(key.function) && query.TextView(3) == OptionsText(key);
}

}  // namespace

Result<SeriesKey> ReadKey(const Query& query, int first) {
  std::string_view function_name = query.TextView(first + 1);
  std::optional<Function> function = ParseFunction(function_name);
  if (!function) return Fail(fmt::format("unknown function '{}' in the database", function_name));
  SeriesKey key{query.Text(first), *function, query.Text(first + 2)};
  if (!ParseOptionsText(query.TextView(first + 3), key)) {
    return Fail(
        fmt::format("unknown series options '{}' in the database", query.TextView(first + 3)));
  }
  return key;
}

Result<std::string> SqliteStore::Statements::SeriesIdList(std::span<const SeriesKey> keys) {
  std::string ids = "[";
  for (const SeriesKey& key : keys) {
    Result<std::optional<int64_t>> id = SeriesId(key);
    if (!id) return std::unexpected(id.error());
    if (!*id) continue;
    if (ids.size() > 1) ids += ',';
    ids += std::to_string(**id);
  }
  return ids + "]";
}

Result<std::optional<SeriesState>> SqliteStore::Find(const SeriesKey& key) {
  Query query = stmts_->Use(Sql::kFind);
  BindKey(query, key);
  int rc = query.Step();
  if (rc == SQLITE_DONE) return std::optional<SeriesState>();
  if (rc != SQLITE_ROW)
    return Fail(fmt::format("reading {} failed: {}", Describe(key), stmts_->Message()));
  Result<SeriesState> state = ReadSeries(query);
  if (!state)
    return Fail(fmt::format("reading {} failed: {}", Describe(key), state.error().message));
  return std::optional<SeriesState>(std::move(*state));
}

Result<std::vector<SeriesState>> SqliteStore::ListSeries() {
  std::vector<SeriesState> all;
  Status listed = ForEachSeries([&all](SeriesState& state) { all.push_back(std::move(state)); });
  if (!listed) return std::unexpected(listed.error());
  return all;
}

Status SqliteStore::ForEachSeries(const std::function<void(SeriesState&)>& each) {
  return EachSeries(*stmts_, Sql::kList, each);
}

Status SqliteStore::ForEachSeriesWithoutBarSpan(const std::function<void(SeriesState&)>& each) {
  return EachSeries(*stmts_, Sql::kListWithoutBarSpan, each);
}

Result<std::vector<SeriesKey>> SqliteStore::DeferredSeries() {
  Query query = stmts_->Use(Sql::kDeferredList);
  std::vector<SeriesKey> keys;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    Result<SeriesKey> key = ReadKey(query, 0);
    if (!key) return Fail("listing deferred series failed: " + key.error().message);
    keys.push_back(std::move(*key));
  }
  if (rc != SQLITE_DONE) return Fail("listing deferred series failed: " + stmts_->Message());
  return keys;
}

Result<std::vector<WallTime>> SqliteStore::CallTimesSince(WallTime since) {
  Query query = stmts_->Use(Sql::kCallTimes);
  query.BindInt(1, ToMillis(since));
  std::vector<WallTime> times;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) times.push_back(FromMillis(query.Int(0)));
  if (rc != SQLITE_DONE) return Fail("reading the call log failed: " + stmts_->Message());
  return times;
}

Result<std::optional<WallTime>> SqliteStore::MonthStoredAt(const SeriesKey& key,
                                                           std::string_view month) {
  Query query = stmts_->Use(Sql::kMonthStored);
  BindKey(query, key);
  query.BindText(4, month);
  if (query.Step() != SQLITE_ROW) {
    return Fail(
        fmt::format("reading the call log of {} failed: {}", Describe(key), stmts_->Message()));
  }
  if (query.IsNull(0)) return std::optional<WallTime>();
  return std::optional<WallTime>(FromMillis(query.Int(0)));
}

Result<std::vector<Bar>> SqliteStore::ReadBars(const SeriesKey& key, const BarFilter& filter) {
  Query query = stmts_->Use(filter.last > 0 ? Sql::kBarsLast : Sql::kBarsRange);
  BindKey(query, key);
  query.BindText(4, filter.from);
  query.BindText(5, UpperBound(filter));
  if (filter.last > 0) query.BindInt(6, filter.last);
  std::vector<Bar> bars;
  // Room for every row at once (growing by doubling moved each bar twice on average: an
  // eighth of `check`'s time over 200 full histories).
  if (filter.last > 0 || (filter.from.empty() && filter.to.empty())) {
    if (auto state = Find(key); state && *state) {
      int64_t rows = std::max<int64_t>((**state).bar_count, 0);
      if (filter.last > 0) rows = std::min(rows, filter.last);
      bars.reserve(static_cast<size_t>(rows));
    }
  }
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    ReadBar(query, 0, bars.emplace_back());
  }
  if (rc != SQLITE_DONE) {
    return Fail(fmt::format("reading {} failed: {}", Describe(key), stmts_->Message()));
  }
  return bars;
}

Status SqliteStore::ForEachBar(std::span<const SeriesKey> keys, const BarFilter& filter,
                               const std::function<bool(const SeriesKey&, const Bar&)>& row) {
  // The chosen series go to SQLite as a JSON array of ids, so one statement (prepared once,
  // streaming in key order) serves any selection.
  Result<std::string> ids = stmts_->SeriesIdList(keys);
  if (!ids) return Fail("reading bars failed: " + ids.error().message);
  if (!keys.empty() && *ids == "[]") return {};  // none of them has been stored

  Query query = stmts_->Use(Sql::kEachBar);
  if (keys.empty()) {
    query.BindNull(1);
  } else {
    query.BindText(1, *ids);
  }
  query.BindText(2, filter.from);
  query.BindText(3, UpperBound(filter));
  query.BindInt(4, filter.last);
  query.BindInt(5, filter.final_only ? 1 : 0);
  SeriesKey key;
  Bar bar;
  bool first = true;
  int rc = SQLITE_ROW;
  while ((rc = query.Step()) == SQLITE_ROW) {
    if (first || !SameKey(query, key)) {
      Result<SeriesKey> next = ReadKey(query, 0);
      if (!next) return Fail("reading bars failed: " + next.error().message);
      key = std::move(*next);
      first = false;
    }
    ReadBar(query, 4, bar);
    if (!row(key, bar)) return Fail("export stopped: write failed");
  }
  if (rc != SQLITE_DONE) return Fail("reading bars failed: " + stmts_->Message());
  return {};
}

}  // namespace mdfetch
