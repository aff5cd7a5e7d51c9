// Private to the CLI: how `query`, `export` and `list` write what they read, in every format,
// with one set of column names (the database's: bars.ts, bars.dividend, series.bar_count...),
// and how --from/--to read. Pure functions of their arguments (no I/O), thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "mdfetch/store.h"

namespace mdfetch {

// A JSON document as text, `indent` spaces deep (-1: one line). Text that is not UTF-8 (a
// path, a symbol as typed) becomes U+FFFD instead of throwing.
std::string JsonText(const nlohmann::ordered_json& doc, int indent = -1);

// "2026-11-20T22:00:00Z".
std::string IsoUtc(WallTime t);

// The columns of a bar, as in the `bars` table; adjusted functions add the second list.
inline constexpr std::string_view kBarColumns[] = {"ts", "open", "high", "low", "close", "volume"};
inline constexpr std::string_view kAdjustedColumns[] = {"adjusted_close", "dividend",
                                                        "split_coefficient"};

// --from/--to of `query` and `export`: "YYYY-MM-DD" (the whole day), and for intraday series
// also "YYYY-MM-DDTHH:MM[:SS]" or "YYYY-MM-DD HH:MM[:SS]", in the series' own zone (that of
// its stored timestamps). Both bounds are inclusive. Usage errors name the option:
// "bad --from '2026-13-01': expected YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] for intraday",
// "bad --to '2026-11-20T10:00': a time of day applies to intraday series only",
// "--from 2026-11-20 is later than --to 2026-11-18".
Result<BarFilter> MakeBarFilter(const std::string& from, const std::string& to, bool intraday);

// A stored timestamp in ISO 8601: a date stays "YYYY-MM-DD"; "2026-11-27 14:55:00" in zone
// "US/Eastern" (or "America/New_York") becomes "2026-11-27T14:55:00-05:00" (-04:00 in daylight
// saving time), in "UTC" "...+00:00"; in a zone we cannot compute, no offset.
std::string IsoTimestamp(std::string_view ts, std::string_view time_zone);

// CSV (RFC 4180, CRLF): the header line, then one line per bar. `symbol` set: a first
// column `symbol` (export).
std::string BarCsvHeader(bool with_symbol, bool adjusted);
void AppendBarCsv(std::string& out, std::string_view symbol, const Bar& bar, bool adjusted);

// `query --format table`: the bars under the column names, a provisional bar marked "*" and
// explained below.
std::string BarTable(const std::vector<Bar>& bars, bool adjusted,
                     const std::string& provisional_ts);

// `query --format json`: one document, the series (symbol, function, interval, options,
// time_zone) and "bars": [{ts, open, ..., provisional}]; ts as IsoTimestamp.
std::string BarJson(const SeriesState& series, const std::vector<Bar>& bars);

// `list`: a table within 100 columns (series, bar_count, first_ts, last_ts, last_outcome
// with the date of the last attempt), or every field of every series as JSON or CSV.
// `page` > 0 (a terminal): only the first `page` series, and a line saying how many more there
// are and how to see them all; the notes below the table explain the rows shown.
std::string SeriesTable(const std::vector<SeriesState>& series, size_t page = 0);
std::string SeriesJson(const std::vector<SeriesState>& series);
std::string SeriesCsv(const std::vector<SeriesState>& series);
// The same a series at a time (list streams them): the CSV header line, a CSV row, and a
// series' JSON object (SeriesJson's rows, between `{"series":[` and `]}`, comma-separated).
std::string SeriesCsvHeader();
void AppendSeriesCsv(std::string& out, const SeriesState& series);
void AppendSeriesJson(std::string& out, const SeriesState& series);
// The fields of one series in `list --format json` (`serve`'s /api/series adds to them).
nlohmann::ordered_json SeriesJsonFields(const SeriesState& series);
inline constexpr size_t kListWidth = 100;
inline constexpr size_t kListPage = 50;  // series `list` shows on a terminal

// n with its thousands grouped: "1,120,000".
std::string Grouped(int64_t n);

// A word a shell passes through unchanged: as is when it holds only safe characters, else
// in single quotes.
std::string ShellQuote(std::string_view word);

}  // namespace mdfetch
