// The PostgreSQL store's writes: answers (COPY for new bars, a temp-table merge for the rest),
// the call log, and the flags the planner keeps per series (docs/postgresql.md, section 5).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "store_bars.h"
#include "store_pg_internal.h"

namespace mdfetch {
namespace {

constexpr const char* kBarColumns =
    "series_id, ts, open, high, low, close, volume, adjusted_close, dividend, split_coefficient";

// A double as COPY's text format reads it back exactly. NaN becomes NULL, as SQLite binds it,
// so a NaN price is refused by NOT NULL on both backends.
void AppendDouble(std::string& out, std::optional<double> value) {
  if (!value || std::isnan(*value)) {
    out += "\\N";
  } else if (std::isinf(*value)) {
    out += *value > 0 ? "Infinity" : "-Infinity";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", *value);
  }
}

void AppendBarLine(std::string& out, int64_t series_id, const Bar& bar) {
  fmt::format_to(std::back_inserter(out), "{}\t", series_id);
  AppendCopyText(out, bar.ts);
  for (std::optional<double> v :
       {std::optional<double>(bar.open), std::optional<double>(bar.high),
        std::optional<double>(bar.low), std::optional<double>(bar.close), bar.volume,
        bar.adjusted_close, bar.dividend, bar.split_coefficient}) {
    out += '\t';
    AppendDouble(out, v);
  }
  out += '\n';
}

// ---- COPY's binary format: no float or timestamp text for the server to parse ----
// (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): a header, then
// per row a 16-bit field count and each field as a 32-bit length (-1: NULL) and its bytes,
// big-endian; a timestamp is int64 microseconds since 2000-01-01 00:00 (integer datetimes,
// the only kind since PostgreSQL 10).

// Fields written at a cursor into a buffer sized beforehand for the most they can take:
// appending byte by byte to a std::string was ~9% of mdfetch's CPU in the ingest.
class BinaryOut {
 public:
  explicit BinaryOut(char* at) : at_(at) {}
  template <typename T>
  void Put(T value) {
    auto bits = std::bit_cast<std::make_unsigned_t<T>>(value);
    if constexpr (std::endian::native == std::endian::little) bits = std::byteswap(bits);
    std::memcpy(at_, &bits, sizeof bits);
    at_ += sizeof bits;
  }
  void Put(std::string_view bytes) {
    std::memcpy(at_, bytes.data(), bytes.size());
    at_ += bytes.size();
  }
  char* At() const { return at_; }

 private:
  char* at_;
};

constexpr std::string_view kBinarySignature("PGCOPY\n\xFF\r\n\0", 11);
// The signature, flags and header extension length; the trailer (-1 as a field count); a row
// with no NULL: the field count, then ten 32-bit lengths and ten 8-byte values.
constexpr size_t kBinaryHeaderBytes = 11 + 4 + 4;
constexpr size_t kBinaryTrailerBytes = 2;
constexpr size_t kBinaryRowBytes = 2 + 10 * (4 + 8);

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" as microseconds since 2000-01-01; nullopt for any
// other text, or a field out of range (such a bar goes by the text format, where the server
// says what is wrong with it).
std::optional<int64_t> PgTimestamp(std::string_view ts) {
  if (ts.size() != 10 && ts.size() != 19) return std::nullopt;
  auto number = [&](size_t at, size_t n) -> int64_t {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (ts[i] < '0' || ts[i] > '9') return -1;
      v = v * 10 + (ts[i] - '0');
    }
    return v;
  };
  if (ts[4] != '-' || ts[7] != '-') return std::nullopt;
  const int64_t y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  static constexpr std::array<int, 12> kMonthDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kMonthDays[static_cast<size_t>(mo - 1)] || (mo == 2 && d == 29 && !leap)) {
    return std::nullopt;
  }
  int64_t seconds = 0;
  if (ts.size() == 19) {
    if (ts[10] != ' ' || ts[13] != ':' || ts[16] != ':') return std::nullopt;
    const int64_t h = number(11, 2), mi = number(14, 2), se = number(17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return std::nullopt;
    seconds = (h * 60 + mi) * 60 + se;
  }
  constexpr int64_t kDaysTo2000 = 10957;  // 1970-01-01 to 2000-01-01
  return ((DaysFromCivil(y, mo, d) - kDaysTo2000) * 86400 + seconds) * 1'000'000;
}

void PutBinaryDouble(BinaryOut& out, std::optional<double> value) {
  if (!value || std::isnan(*value)) {  // NULL, as in the text format
    out.Put<int32_t>(-1);
    return;
  }
  out.Put<int32_t>(8);
  out.Put(std::bit_cast<int64_t>(*value));
}

void PutBinaryBar(BinaryOut& out, int64_t series_id, int64_t ts, const Bar& bar) {
  out.Put<int16_t>(10);
  out.Put<int32_t>(8);
  out.Put(series_id);
  out.Put<int32_t>(8);
  out.Put(ts);
  for (std::optional<double> v :
       {std::optional<double>(bar.open), std::optional<double>(bar.high),
        std::optional<double>(bar.low), std::optional<double>(bar.close), bar.volume,
        bar.adjusted_close, bar.dividend, bar.split_coefficient}) {
    PutBinaryDouble(out, v);
  }
}

// COPY of `bars` into `table`: in the binary format when every timestamp is one PgTimestamp
// reads, else in the text format.
Result<int64_t> CopyBars(PgConn& pg, std::string_view table, int64_t series_id,
                         std::span<const Bar* const> bars) {
  std::string data;
  bool binary = true;
  const size_t most = kBinaryHeaderBytes + bars.size() * kBinaryRowBytes + kBinaryTrailerBytes;
  data.resize_and_overwrite(most, [&](char* buffer, size_t) -> size_t {
    BinaryOut out(buffer);
    out.Put(kBinarySignature);
    out.Put<int32_t>(0);  // flags
    out.Put<int32_t>(0);  // header extension length
    for (const Bar* bar : bars) {
      const std::optional<int64_t> ts = PgTimestamp(bar->ts);
      if (!ts) {
        binary = false;
        return 0;
      }
      PutBinaryBar(out, series_id, *ts, *bar);
    }
    out.Put<int16_t>(-1);  // the trailer
    return static_cast<size_t>(out.At() - buffer);
  });
  if (!binary) {
    for (const Bar* bar : bars) AppendBarLine(data, series_id, *bar);
  }
  return pg.CopyIn(fmt::format("COPY {}({}) FROM STDIN{}", table, kBarColumns,
                               binary ? " WITH (FORMAT binary)" : ""),
                   data);
}

}  // namespace

// One round of the merge: bars with distinct timestamps staged in `incoming`, then upserted.
// A bar identical to the stored one is not touched, so rows written = added + changed.
Result<StoreCounts> PgStore::MergeBars(int64_t series_id, std::span<const Bar* const> bars) {
  if (auto cleared = pg_->Exec("DELETE FROM pg_temp.incoming"); !cleared) {
    return std::unexpected(cleared.error());
  }
  auto copied = CopyBars(*pg_, "pg_temp.incoming", series_id, bars);
  if (!copied) return std::unexpected(copied.error());
  // The upsert writes the bars added and those changed; which is which RETURNING cannot say on
  // a partitioned table (no xmax there), so the bars already stored are counted first. The
  // series' row lock (EnsureSeries) keeps every other writer of these bars out meanwhile.
  auto stored = pg_->Exec(
      "SELECT count(*) FROM pg_temp.incoming AS i WHERE EXISTS "
      "(SELECT 1 FROM bars AS b WHERE b.series_id = i.series_id AND b.ts = i.ts)");
  if (!stored) return std::unexpected(stored.error());
  auto merged = pg_->Exec(
      "INSERT INTO bars SELECT * FROM pg_temp.incoming "
      "ON CONFLICT (series_id, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
      "low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume, "
      "adjusted_close = EXCLUDED.adjusted_close, dividend = EXCLUDED.dividend, "
      "split_coefficient = EXCLUDED.split_coefficient "
      "WHERE (bars.open, bars.high, bars.low, bars.close, bars.volume, bars.adjusted_close, "
      "bars.dividend, bars.split_coefficient) IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, "
      "EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.adjusted_close, "
      "EXCLUDED.dividend, EXCLUDED.split_coefficient)");
  if (!merged) return std::unexpected(merged.error());
  const auto staged = static_cast<int64_t>(bars.size());
  StoreCounts counts;
  counts.added = staged - stored->Int(0, 0);
  counts.changed = merged->Affected() - counts.added;
  counts.unchanged = staged - merged->Affected();
  return counts;
}

// Bars newer than every stored one go in by COPY; the rest are merged. A timestamp given
// twice cannot be upserted twice by one statement: the n-th copies of timestamps go in the
// n-th round, so that, as on SQLite, a later duplicate counts against the earlier one.
Result<std::optional<std::string>> PgStore::NewestTs(int64_t series_id, Function function) {
  auto newest =
      pg_->Exec("SELECT max(ts)::text FROM bars WHERE series_id = $1", {std::to_string(series_id)});
  if (!newest) return std::unexpected(newest.error());
  if (newest->IsNull(0, 0)) return std::optional<std::string>();
  return std::optional<std::string>(BarTsText(newest->Text(0, 0), function));
}

Result<StoreCounts> PgStore::UpsertBars(int64_t series_id, Function function,
                                        std::span<const Bar> bars) {
  Result<std::optional<std::string>> newest = NewestTs(series_id, function);
  if (!newest) return std::unexpected(newest.error());
  return UpsertBars(series_id, bars, *newest);
}

Result<StoreCounts> PgStore::UpsertBars(int64_t series_id, std::span<const Bar> bars,
                                        const std::optional<std::string>& newest) {
  const size_t from = AppendFrom(bars, newest);

  StoreCounts counts;
  std::vector<std::vector<const Bar*>> rounds;
  std::unordered_map<std::string_view, size_t> seen;
  for (const Bar& bar : bars.first(from)) {
    const size_t round = seen[bar.ts]++;
    if (round == rounds.size()) rounds.emplace_back();
    rounds[round].push_back(&bar);
  }
  for (const auto& round : rounds) {
    Result<StoreCounts> merged = MergeBars(series_id, round);
    if (!merged) return merged;
    counts.added += merged->added;
    counts.changed += merged->changed;
    counts.unchanged += merged->unchanged;
  }
  if (from < bars.size()) {
    std::vector<const Bar*> tail;
    tail.reserve(bars.size() - from);
    for (const Bar& bar : bars.subspan(from)) tail.push_back(&bar);
    auto copied = CopyBars(*pg_, "bars", series_id, tail);
    if (!copied) return std::unexpected(copied.error());
    counts.added += static_cast<int64_t>(bars.size() - from);
  }
  return counts;
}

Status PgStore::CompleteFetch(int64_t fetch_id, const CallRecord& record,
                              const StoreCounts& counts) {
  if (fetch_id == 0) return {};
  auto done = pg_->Exec(
      "UPDATE fetches SET outcome = $2, http_status = $3, bytes = $4, bars_new = $5, "
      "bars_changed = $6, bars_unchanged = $7, error = $8 WHERE id = $1",
      {std::to_string(fetch_id), record.outcome, std::to_string(record.http_status),
       std::to_string(record.bytes), std::to_string(counts.added), std::to_string(counts.changed),
       std::to_string(counts.unchanged), record.error});
  if (!done) return std::unexpected(done.error());
  return {};
}

Result<StoreCounts> PgStore::StoreAnswer(int64_t fetch_id, const SeriesKey& key,
                                         const SeriesMeta& meta, std::span<const Bar> bars,
                                         bool history_limited, const CallRecord& record,
                                         WallTime at, StoreScope scope, NewestBar newest) {
  auto store = [&]() -> Result<StoreCounts> {
    Result<int64_t> series_id = EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    const std::string id = std::to_string(*series_id);
    Result<std::optional<std::string>> newest_ts = NewestTs(*series_id, key.function);
    if (!newest_ts) return std::unexpected(newest_ts.error());
    const std::optional<std::string> superseded =
        SupersededPeriodBar(key.function, *newest_ts, bars);
    Result<StoreCounts> counts = UpsertBars(*series_id, bars, *newest_ts);
    if (!counts) return counts;
    // Rows inserted: bar_count grows by these; a deleted bar takes itself off (bars_deleted).
    const int64_t inserted = counts->added;
    if (superseded) {
      // The bar of a week or month taken while it was under way, now keyed by its last
      // trading day: the new bar is that one corrected, not one more.
      auto removed = pg_->Exec("DELETE FROM bars WHERE series_id = $1 AND ts = $2::timestamp",
                               {id, *superseded});
      if (!removed) return std::unexpected(removed.error());
      --counts->added;
      ++counts->changed;
    }
    Result<PgRows> series;
    if (scope == StoreScope::kBackfill) {
      series = pg_->Exec(
          "UPDATE series SET time_zone = CASE WHEN time_zone = '' THEN $2 ELSE time_zone END, "
          "last_attempt_at = " +
              PgTimeParam(3) +
              ", last_outcome = 'stored', last_error = '', bar_count = bar_count + $4 "
              "WHERE id = $1",
          {id, meta.time_zone, MillisText(at), std::to_string(inserted)});
    } else {
      PgParam provisional;
      if (newest == NewestBar::kProvisional && !bars.empty()) provisional = bars.back().ts;
      series = pg_->Exec(
          "UPDATE series SET time_zone = $2, last_refreshed = $3, history_limited = $4, "
          "needs_full = false, deferred = false, last_attempt_at = " +
              PgTimeParam(5) + ", last_success_at = " + PgTimeParam(5) +
              ", last_outcome = 'stored', last_error = '', bar_count = bar_count + $6, "
              "provisional_ts = $7::timestamp WHERE id = $1",
          {id, meta.time_zone, meta.last_refreshed, history_limited ? "true" : "false",
           MillisText(at), std::to_string(inserted), provisional});
    }
    if (!series) return std::unexpected(series.error());
    CallRecord fetch = record;
    if (fetch.outcome.empty()) fetch.outcome = "stored";
    if (Status done = CompleteFetch(fetch_id, fetch, *counts); !done) {
      return std::unexpected(done.error());
    }
    return counts;
  };
  return PgInContext(pg_->InTransaction(store, repairable_commit_), "storing " + Describe(key));
}

Result<int64_t> PgStore::BeginCall(const SeriesKey& key, OutputSize outputsize, WallTime at,
                                   std::string_view month) {
  auto logged = pg_->InTransaction([&]() -> Result<int64_t> {
    Result<int64_t> series_id = EnsureSeries(key);
    if (!series_id) return series_id;
    auto row = pg_->Exec("INSERT INTO fetches(at, series_id, outputsize, month, outcome) VALUES (" +
                             PgTimeParam(1) + ", $2, $3, $4, 'sent') RETURNING id",
                         {MillisText(at), std::to_string(*series_id),
                          std::string(OutputSizeName(outputsize)), std::string(month)});
    if (!row) return std::unexpected(row.error());
    return row->Int(0, 0);
  });
  return PgInContext(std::move(logged), "logging a call for " + Describe(key));
}

Status PgStore::FinishCall(int64_t fetch_id, const SeriesKey& key, const CallRecord& record) {
  Status finished = pg_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    if (Status done = CompleteFetch(fetch_id, record, {}); !done) return done;
    // The attempt's time is the call's, as logged by BeginCall (kept as is without a call).
    auto updated = pg_->Exec(
        "UPDATE series SET last_attempt_at = COALESCE((SELECT at FROM fetches WHERE id = $2), "
        "last_attempt_at), last_outcome = $3, last_error = $4 WHERE id = $1",
        {std::to_string(*series_id), std::to_string(fetch_id), record.outcome, record.error});
    if (!updated) return std::unexpected(updated.error());
    return {};
  });
  return PgInContext(std::move(finished), "logging a call for " + Describe(key));
}

Status PgStore::ForgetCall(int64_t fetch_id, const SeriesKey& key) {
  auto done = pg_->Exec("DELETE FROM fetches WHERE id = $1", {std::to_string(fetch_id)});
  if (!done) {
    return Fail(done.error().code,
                fmt::format("unlogging a call for {}: {}", Describe(key), done.error().message));
  }
  return {};
}

Status PgStore::SetDeferred(const SeriesKey& key, bool deferred, std::string_view reason) {
  Status marked = pg_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    auto done = pg_->Exec(
        "UPDATE series SET deferred = $2, "
        "last_outcome = CASE WHEN $2 THEN 'deferred' ELSE last_outcome END, "
        "last_error = CASE WHEN $2 THEN $3 ELSE last_error END WHERE id = $1",
        {std::to_string(*series_id), deferred ? "true" : "false", std::string(reason)});
    if (!done) return std::unexpected(done.error());
    return {};
  });
  return PgInContext(std::move(marked), "marking " + Describe(key) + " deferred");
}

Status PgStore::SetNeedsFull(const SeriesKey& key, bool needs_full) {
  Status marked = pg_->InTransaction([&]() -> Status {
    Result<int64_t> series_id = EnsureSeries(key);
    if (!series_id) return std::unexpected(series_id.error());
    auto done = pg_->Exec("UPDATE series SET needs_full = $2 WHERE id = $1",
                          {std::to_string(*series_id), needs_full ? "true" : "false"});
    if (!done) return std::unexpected(done.error());
    return {};
  });
  return PgInContext(std::move(marked), "marking " + Describe(key) + " for a full fetch");
}

}  // namespace mdfetch
