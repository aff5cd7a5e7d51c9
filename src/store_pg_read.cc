// The PostgreSQL store's reads: series, bars, the call log.
#include <fmt/format.h>

#include "store_pg_internal.h"

namespace mdfetch {
namespace {

// ts as text, then the eight values of a bar.
constexpr const char* kBarSelect =
    "ts::text, open, high, low, close, volume, adjusted_close, dividend, split_coefficient";

// The series row of Find and ListSeries, first_ts and last_ts included.
const std::string kSeriesSelect =
    "SELECT id, symbol, function, interval, options, time_zone, last_refreshed, "
    "history_limited, needs_full, deferred, " +
    PgMillisOf("last_attempt_at") + ", " + PgMillisOf("last_success_at") +
    ", last_outcome, last_error, bar_count, "
    "(SELECT min(b.ts)::text FROM bars AS b WHERE b.series_id = s.id), "
    "(SELECT max(b.ts)::text FROM bars AS b WHERE b.series_id = s.id), "
    "provisional_ts::text FROM series AS s ";

constexpr const char* kKeyMatch =
    "symbol = $1 AND function = $2 AND interval = $3 AND options = $4";

void ReadBar(const PgRows& rows, int row, int first, Function function, Bar& bar) {
  bar.ts = BarTsText(rows.Text(row, first), function);
  bar.open = rows.Double(row, first + 1);
  bar.high = rows.Double(row, first + 2);
  bar.low = rows.Double(row, first + 3);
  bar.close = rows.Double(row, first + 4);
  bar.volume = rows.OptionalDouble(row, first + 5);
  bar.adjusted_close = rows.OptionalDouble(row, first + 6);
  bar.dividend = rows.OptionalDouble(row, first + 7);
  bar.split_coefficient = rows.OptionalDouble(row, first + 8);
}

Result<SeriesState> ReadSeries(const PgRows& rows, int row) {
  Result<SeriesKey> key = PgReadKey(rows, row, 1);
  if (!key) return std::unexpected(key.error());
  SeriesState state;
  state.id = rows.Int(row, 0);
  state.key = std::move(*key);
  state.time_zone = rows.Text(row, 5);
  state.last_refreshed = rows.Text(row, 6);
  state.history_limited = rows.Bool(row, 7);
  state.needs_full = rows.Bool(row, 8);
  state.deferred = rows.Bool(row, 9);
  if (!rows.IsNull(row, 10)) state.last_attempt_at = TimeFromMillis(rows.Int(row, 10));
  if (!rows.IsNull(row, 11)) state.last_success_at = TimeFromMillis(rows.Int(row, 11));
  state.last_outcome = rows.Text(row, 12);
  state.last_error = rows.Text(row, 13);
  state.bar_count = rows.Int(row, 14);
  const Function f = state.key.function;
  if (!rows.IsNull(row, 15)) state.first_ts = BarTsText(rows.Text(row, 15), f);
  if (!rows.IsNull(row, 16)) state.last_ts = BarTsText(rows.Text(row, 16), f);
  if (!rows.IsNull(row, 17)) state.provisional_ts = BarTsText(rows.Text(row, 17), f);
  return state;
}

PgParam Bound(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

// Rows fetched per round trip by ForEachBar's cursor.
constexpr int kFetchRows = 20'000;

}  // namespace

Result<std::optional<SeriesState>> PgStore::Find(const SeriesKey& key) {
  auto rows = pg_->Exec(kSeriesSelect + "WHERE " + kKeyMatch, KeyParams(key));
  if (!rows) {
    return Fail(rows.error().code,
                fmt::format("reading {} failed: {}", Describe(key), rows.error().message));
  }
  if (rows->Rows() == 0) return std::optional<SeriesState>();
  Result<SeriesState> state = ReadSeries(*rows, 0);
  if (!state)
    return Fail(fmt::format("reading {} failed: {}", Describe(key), state.error().message));
  return std::optional<SeriesState>(std::move(*state));
}

Result<std::vector<SeriesState>> PgStore::ListSeries() {
  auto rows = pg_->Exec(kSeriesSelect + "ORDER BY symbol, function, interval, options");
  if (!rows) return Fail(rows.error().code, "listing series failed: " + rows.error().message);
  std::vector<SeriesState> all;
  for (int row = 0; row < rows->Rows(); ++row) {
    Result<SeriesState> state = ReadSeries(*rows, row);
    if (!state) return Fail("listing series failed: " + state.error().message);
    all.push_back(std::move(*state));
  }
  return all;
}

Result<std::vector<SeriesKey>> PgStore::DeferredSeries() {
  auto rows = pg_->Exec(
      "SELECT symbol, function, interval, options FROM series WHERE deferred "
      "ORDER BY symbol, function, interval, options");
  if (!rows) {
    return Fail(rows.error().code, "listing deferred series failed: " + rows.error().message);
  }
  std::vector<SeriesKey> keys;
  for (int row = 0; row < rows->Rows(); ++row) {
    Result<SeriesKey> key = PgReadKey(*rows, row, 0);
    if (!key) return Fail("listing deferred series failed: " + key.error().message);
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<std::vector<WallTime>> PgStore::CallTimesSince(WallTime since) {
  auto rows = pg_->Exec(
      "SELECT " + PgMillisOf("at") + " FROM fetches WHERE at >= " + PgTimeParam(1) + " ORDER BY at",
      {MillisText(since)});
  if (!rows) return Fail(rows.error().code, "reading the call log failed: " + rows.error().message);
  std::vector<WallTime> times;
  for (int row = 0; row < rows->Rows(); ++row) times.push_back(TimeFromMillis(rows->Int(row, 0)));
  return times;
}

Result<std::optional<WallTime>> PgStore::MonthStoredAt(const SeriesKey& key,
                                                       std::string_view month) {
  std::vector<PgParam> params = KeyParams(key);
  params.push_back(std::string(month));
  auto rows = pg_->Exec("SELECT " + PgMillisOf("max(at)") +
                            " FROM fetches WHERE series_id = (SELECT id FROM series WHERE " +
                            kKeyMatch + ") AND month = $5 AND outcome = 'stored'",
                        params);
  if (!rows) {
    return Fail(rows.error().code, fmt::format("reading the call log of {} failed: {}",
                                               Describe(key), rows.error().message));
  }
  if (rows->IsNull(0, 0)) return std::optional<WallTime>();
  return std::optional<WallTime>(TimeFromMillis(rows->Int(0, 0)));
}

Result<std::vector<Bar>> PgStore::ReadBars(const SeriesKey& key, const BarFilter& filter) {
  std::vector<PgParam> params = KeyParams(key);
  params.push_back(Bound(filter.from));
  params.push_back(Bound(filter.to));
  std::string sql = fmt::format(
      "SELECT {} FROM bars WHERE series_id = (SELECT id FROM series WHERE {}) "
      "AND ($5::timestamp IS NULL OR ts >= $5::timestamp) "
      "AND ($6::timestamp IS NULL OR ts <= $6::timestamp)",
      kBarSelect, kKeyMatch);
  if (filter.last > 0) {
    params.push_back(std::to_string(filter.last));
    sql = "SELECT * FROM (" + sql + " ORDER BY ts DESC LIMIT $7) AS newest ORDER BY ts";
  } else {
    sql += " ORDER BY ts";
  }
  auto rows = pg_->Exec(sql, params);
  if (!rows) {
    return Fail(rows.error().code,
                fmt::format("reading {} failed: {}", Describe(key), rows.error().message));
  }
  std::vector<Bar> bars(static_cast<size_t>(rows->Rows()));
  for (int row = 0; row < rows->Rows(); ++row) {
    ReadBar(*rows, row, 0, key.function, bars[static_cast<size_t>(row)]);
  }
  return bars;
}

Status PgStore::ForEachBar(std::span<const SeriesKey> keys, const BarFilter& filter,
                           const std::function<bool(const SeriesKey&, const Bar&)>& row) {
  PgParam ids;
  if (!keys.empty()) {
    std::string list = "{";
    for (const SeriesKey& key : keys) {
      Result<std::optional<int64_t>> id = SeriesId(key);
      if (!id) return Fail(id.error().code, "reading bars failed: " + id.error().message);
      if (!*id) continue;
      if (list.size() > 1) list += ',';
      list += std::to_string(**id);
    }
    if (list == "{") return {};  // none of them has been stored
    ids = list + "}";
  }
  // With `last`, each series' bars come from a lateral subquery that takes its newest `last`
  // in range by the primary key; without, one join in key order.
  const std::string range =
      "($2::timestamp IS NULL OR b.ts >= $2::timestamp) AND "
      "($3::timestamp IS NULL OR b.ts <= $3::timestamp) AND "
      "(NOT $5::boolean OR s.provisional_ts IS NULL OR b.ts <> s.provisional_ts)";
  const std::string bars_of =
      filter.last > 0
          ? "CROSS JOIN LATERAL (SELECT * FROM bars AS b WHERE b.series_id = s.id AND " + range +
                " ORDER BY b.ts DESC LIMIT $4) AS b"
          : "JOIN bars AS b ON b.series_id = s.id AND " + range + " AND $4::bigint >= 0";
  const std::string sql =
      "DECLARE bars_out NO SCROLL CURSOR FOR SELECT s.symbol, s.function, s.interval, s.options, " +
      fmt::format(
          "b.ts::text, b.open, b.high, b.low, b.close, b.volume, b.adjusted_close, "
          "b.dividend, b.split_coefficient FROM series AS s {} "
          "WHERE ($1::bigint[] IS NULL OR s.id = ANY($1::bigint[])) "
          "ORDER BY s.symbol, s.function, s.interval, s.options, b.ts",
          bars_of);
  std::vector<PgParam> params = {ids, Bound(filter.from), Bound(filter.to),
                                 std::to_string(filter.last), filter.final_only ? "true" : "false"};
  bool stopped = false;
  Status done = pg_->InTransaction([&]() -> Status {
    if (auto declared = pg_->Exec(sql, params); !declared) {
      return std::unexpected(declared.error());
    }
    SeriesKey key;
    Bar bar;
    std::string key_text;
    for (;;) {
      auto rows = pg_->Exec(fmt::format("FETCH {} FROM bars_out", kFetchRows));
      if (!rows) return std::unexpected(rows.error());
      for (int r = 0; r < rows->Rows(); ++r) {
        std::string this_key = fmt::format("{}\x1f{}\x1f{}\x1f{}", rows->Text(r, 0),
                                           rows->Text(r, 1), rows->Text(r, 2), rows->Text(r, 3));
        if (this_key != key_text) {
          Result<SeriesKey> next = PgReadKey(*rows, r, 0);
          if (!next) return std::unexpected(next.error());
          key = std::move(*next);
          key_text = std::move(this_key);
        }
        ReadBar(*rows, r, 4, key.function, bar);
        if (!row(key, bar)) {
          stopped = true;
          return {};
        }
      }
      if (rows->Rows() < kFetchRows) return {};
    }
  });
  if (!done) return Fail(done.error().code, "reading bars failed: " + done.error().message);
  if (stopped) return Fail("export stopped: write failed");
  return {};
}

}  // namespace mdfetch
