// The vocabulary shared by every module: which time series (function, symbol, interval)
// and what a bar is. Pure values, no I/O, thread-compatible.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"

namespace mdfetch {

// The Alpha Vantage functions mdfetch stores. Each has a short name used in the symbol list
// and on the command line ("daily", "weekly_adjusted", "intraday", "fx_daily", ...).
enum class Function {
  kDaily,
  kDailyAdjusted,
  kWeekly,
  kWeeklyAdjusted,
  kMonthly,
  kMonthlyAdjusted,
  kIntraday,
  kFxDaily,
  kCryptoDaily,
};

// "TIME_SERIES_DAILY", "FX_DAILY", ...: the value of the `function` query parameter.
std::string_view ApiName(Function f);
// "daily", "fx_daily", ...: the name used in symbol lists, the CLI and the database.
std::string_view ShortName(Function f);
// Accepts a short name or an API name, case-insensitively; nullopt for anything else.
std::optional<Function> ParseFunction(std::string_view name);
// True for functions whose answers carry adjusted close and dividends.
bool IsAdjusted(Function f);
// True when `outputsize` applies (daily, daily adjusted, intraday, fx daily).
bool TakesOutputSize(Function f);

// The `outputsize` of one call. kNone for the functions that take none (weekly, monthly,
// crypto): they always answer with the whole history.
enum class OutputSize { kNone, kCompact, kFull };

// "", "compact", "full": the parameter's value, and how the call log records it.
std::string_view OutputSizeName(OutputSize size);

// Intraday intervals accepted by the service: 1min, 5min, 15min, 30min, 60min.
bool IsValidInterval(std::string_view interval);

// The `month` of TIME_SERIES_INTRADAY: exactly "YYYY-MM" with a month 01-12, else nullopt
// ("2024-3", "2024-13", "2024-03-01" are not months). Says nothing of the range the service
// accepts.
std::optional<std::chrono::year_month> ParseMonth(std::string_view text);

// One stored series. `symbol` is upper-case; for FX and crypto it is "FROM/TO" (e.g.
// "EUR/USD", "BTC/EUR"). `interval` is empty except for intraday. `adjusted` and
// `extended_hours` are the intraday switches of the same names (the service's defaults, true,
// for every other function): an intraday series fetched with adjusted=false is another
// series than the adjusted one, with other prices.
struct SeriesKey {
  std::string symbol;
  Function function = Function::kDaily;
  std::string interval;
  bool adjusted = true;
  bool extended_hours = true;

  auto operator<=>(const SeriesKey&) const = default;
  bool operator==(const SeriesKey&) const = default;
};

// For unordered containers of keys (planning 100,000 series hashes each key a few times; an
// ordered set compares strings ~17 times a key).
struct SeriesKeyHash {
  size_t operator()(const SeriesKey& key) const noexcept {
    size_t h = std::hash<std::string_view>{}(key.symbol);
    h = h * 31 + std::hash<std::string_view>{}(key.interval);
    return h * 31 + (static_cast<size_t>(key.function) << 2 | size_t{key.adjusted} << 1 |
                     size_t{key.extended_hours});
  }
};

// A 128-bit digest of a key: two unrelated 64-bit hashes (FNV-1a and libstdc++'s murmur) of
// its fields. Equal keys have equal digests; two different keys among n share one with odds
// of about n^2 / 2^129 (1e-29 for 100,000 series). What a run of 100,000 series keeps of each
// series instead of its key (16 bytes, not ~80).
struct KeyDigest {
  uint64_t a = 0;
  uint64_t b = 0;
  auto operator<=>(const KeyDigest&) const = default;
};
KeyDigest DigestOf(const SeriesKey& key);

// The series of a run, read in order, as many times as the run needs (a refresh reads them
// twice when an earlier run left some deferred: those go first). A refresh of a symbol list
// holds the list's text, never all of its keys (SymbolReader, symbols.h).
class SeriesSource {
 public:
  virtual ~SeriesSource() = default;
  virtual size_t size() const = 0;  // the series Next() gives from the start
  virtual void Rewind() = 0;
  virtual bool Next(SeriesKey& key) = 0;  // false at the end
};

// The series of a vector (which outlives it).
class VectorSource final : public SeriesSource {
 public:
  explicit VectorSource(const std::vector<SeriesKey>& keys) : keys_(keys) {}
  size_t size() const override { return keys_.size(); }
  void Rewind() override { next_ = 0; }
  bool Next(SeriesKey& key) override {
    if (next_ >= keys_.size()) return false;
    key = keys_[next_++];
    return true;
  }

 private:
  const std::vector<SeriesKey>& keys_;
  size_t next_ = 0;
};

// The intraday switches that differ from the service's defaults, as a symbol list writes them:
// "" (adjusted, extended hours), "adjusted=false", "extended_hours=false" or
// "adjusted=false extended_hours=false". Stored as the series' `options` column.
std::string OptionsText(const SeriesKey& key);
// The inverse of OptionsText (space-separated `name=true|false` words, any order); false for
// anything else. Sets the fields of `key`.
bool ParseOptionsText(std::string_view text, SeriesKey& key);

// "IBM", "MSFT daily_adjusted", "AAPL intraday:5min", "AAPL intraday:5min adjusted=false":
// how a series is named to a person (and written in a symbol list).
std::string Describe(const SeriesKey& key);

// One bar as the service reports it. `ts` is "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" in the
// exchange-local zone of the series, never shifted. Fields a function does not have are
// nullopt (FX has no volume; only adjusted functions have adjusted_close and dividend; weekly
// and monthly adjusted have no split coefficient).
struct Bar {
  std::string ts;
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  std::optional<double> volume;
  std::optional<double> adjusted_close;
  std::optional<double> dividend;
  std::optional<double> split_coefficient;

  bool operator==(const Bar&) const = default;
};

// The metadata block of a data answer ("Meta Data"). Missing fields are empty.
struct SeriesMeta {
  std::string symbol;          // "2. Symbol", or "From/To", or "Digital Currency Code/Market Code"
  std::string last_refreshed;  // "3. Last Refreshed" (a date, or a datetime during the session)
  std::string time_zone;       // "US/Eastern", "UTC", ...
  std::string output_size;     // "Compact" / "Full size" when present
  std::string interval;        // intraday only
};

// What is known about one stored series (a row of the store's `series` plus a summary of its
// bars): the planner's view of the store.
struct SeriesState {
  int64_t id = 0;
  SeriesKey key;
  std::string time_zone;
  std::string last_refreshed;
  bool history_limited = false;  // only a compact window could be had (full was refused)
  bool needs_full = false;       // the next fetch must be `outputsize=full`
  bool deferred = false;         // left undone by a quota stop; goes first next run
  std::optional<WallTime> last_attempt_at;
  std::optional<WallTime> last_success_at;
  std::string last_outcome;  // "stored", "error", "premium", "unknown", "deferred", ...
  std::string last_error;    // redacted
  int64_t bar_count = 0;     // series.bar_count
  std::string first_ts;      // empty when no bars
  std::string last_ts;
  // The timestamp of the newest bar when the answer that stored it was made during its
  // session (its close is the last price, not the close); empty when every bar is final.
  std::string provisional_ts;
};

}  // namespace mdfetch
