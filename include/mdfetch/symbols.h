// The symbol list: which series to refresh, one per line.
//
//   IBM                      # the default function (--function, default daily)
//   msft daily_adjusted      # symbols are case-insensitive and stored upper-case
//   AAPL intraday:5min
//   AAPL intraday:1min adjusted=false extended_hours=false   # raw prices, 09:30-16:00 only
//   EUR/USD fx_daily
//   BTC/EUR crypto_daily
//
// Function names (short or the service's, "TIME_SERIES_DAILY", "digital_currency_daily"),
// intervals and option names and values are case-insensitive ("INTRADAY:5MIN",
// "adjusted=FALSE"). The command line's --function, --interval, --adjusted and
// --extended-hours go through the same functions (ParseFunctionName, ParseInterval,
// ParseSwitch) as a line does. Blank lines, `#` comments (whole-line and trailing), surrounding
// whitespace, CRLF and a UTF-8 byte-order mark are accepted. A symbol is letters, digits, '.' and
// '-', at most 12 characters; FX and crypto lines name a pair FROM/TO. Duplicates are kept once.
// Every other line is reported as "FILE:LINE: reason" and skipped; it never reaches the service or
// SQL. Pure functions; thread-safe.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mdfetch/result.h"
#include "mdfetch/series.h"

namespace mdfetch {

inline constexpr size_t kMaxSymbolLength = 12;
inline constexpr size_t kMaxLineLength = 256;

struct SymbolList {
  std::vector<SeriesKey> series;      // in file order, duplicates removed
  std::vector<std::string> problems;  // "FILE:LINE: reason", in file order
};

// The function (and interval) a line without one gets, and the intraday switches an
// intraday line without them gets.
struct SeriesDefaults {
  Function function = Function::kDaily;
  std::string interval = "5min";  // used when the default function is intraday
  bool adjusted = true;
  bool extended_hours = true;
};

SymbolList ParseSymbolList(std::string_view content, std::string_view file_name,
                           const SeriesDefaults& defaults);

// Reads and parses a file. Fails only when the file cannot be read:
// "cannot read symbol file 'PATH': No such file or directory".
Result<SymbolList> ReadSymbolFile(const std::string& path, const SeriesDefaults& defaults);

// Reads `in` to its end and parses it; problems are named "NAME:LINE: reason" (`--symbols -`
// reads stdin, named "stdin"). Fails only when `in` cannot be read:
// "cannot read the symbol list from stdin: Input/output error". Does not close `in`.
Result<SymbolList> ReadSymbolStream(std::FILE* in, std::string_view name,
                                    const SeriesDefaults& defaults);

class LineWalker;  // symbols.cc

// A symbol list as a SeriesSource: the series of ParseSymbolList, in the same order, without
// holding them. It keeps the list's text, the problems, and a digest and line a series (24 bytes,
// to keep duplicates once); each Next() parses the next line again. A refresh of 100,000 series
// holds ~3 MB for its list this way instead of ~8 MB of keys and their duplicate check.
class SymbolReader final : public SeriesSource {
 public:
  SymbolReader(std::string content, std::string name, SeriesDefaults defaults);
  ~SymbolReader() override;
  SymbolReader(const SymbolReader&) = delete;
  SymbolReader& operator=(const SymbolReader&) = delete;

  const std::vector<std::string>& problems() const { return problems_; }
  size_t size() const override { return first_line_.size(); }
  void Rewind() override;
  bool Next(SeriesKey& key) override;

 private:
  std::string content_;
  std::string name_;
  SeriesDefaults defaults_;
  std::vector<std::string> problems_;
  std::vector<std::pair<KeyDigest, uint32_t>> first_line_;  // by digest: the first line naming it
  std::unique_ptr<LineWalker> walker_;                      // from Rewind(): the next line
};

// As ReadSymbolFile and ReadSymbolStream, the list as a SymbolReader.
Result<std::unique_ptr<SymbolReader>> OpenSymbolFile(const std::string& path,
                                                     const SeriesDefaults& defaults);
Result<std::unique_ptr<SymbolReader>> OpenSymbolStream(std::FILE* in, std::string_view name,
                                                       const SeriesDefaults& defaults);

// Parses one symbol given on the command line (`mdfetch fetch SYMBOL`), with the same rules
// as a line of the list; the error is the reason alone ("'IBM$' is not a valid symbol ...").
Result<SeriesKey> ParseSeriesArgument(std::string_view text, const SeriesDefaults& defaults);

// A function as a line writes it: "daily", "MONTHLY_ADJUSTED", "TIME_SERIES_WEEKLY",
// "intraday:5min", "INTRADAY:5MIN", "digital_currency_daily". `interval` is the canonical
// interval of "intraday:INTERVAL"; plain "intraday" gives an empty one (a line needs one, the
// command line's --function defaults it). Errors are the reason alone:
// "unknown function 'dayly' (expected daily, ...)", "daily takes no interval".
struct FunctionName {
  Function function = Function::kDaily;
  std::string interval;
};
Result<FunctionName> ParseFunctionName(std::string_view text);

// "5min", "5MIN", ...: the canonical (lower-case) interval; the error is the reason alone,
// "unknown interval '2min' (expected 1min, 5min, 15min, 30min or 60min)".
Result<std::string> ParseInterval(std::string_view text);

// The value of an intraday switch: true or false, in any case; nullopt for anything else.
std::optional<bool> ParseSwitch(std::string_view text);

// The text quoted in messages: printable ASCII as is, anything else as \xNN, cut to 40 bytes.
std::string Printable(std::string_view text);

}  // namespace mdfetch
