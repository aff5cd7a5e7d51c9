// Private to serve: what the pages show, read from a Store (serve_model.cc), the routes and
// their parameters (serve_site.cc), and the HTML and JSON they are written as (serve_html.cc,
// serve_api.cc). Nothing here knows HTTP: serve.cc hands each request to Site::Handle.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/health.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "mdfetch/serve.h"
#include "mdfetch/store.h"
#include "svg.h"

namespace mdfetch::serve {

// ---- the model (serve_model.cc) ----

// What a refresh would do about a series now (planner.h's IsUpToDate, health.h's kFailing).
enum class Freshness { kUpToDate, kDue, kFailing, kDeferred };
std::string_view FreshnessName(Freshness f);  // "up to date", "due", "failing", "deferred"

// One series of the list: its state, freshness and health findings.
struct SeriesRow {
  SeriesState state;
  Freshness freshness = Freshness::kDue;
  std::vector<Finding> findings;
};
SeriesRow MakeRow(SeriesState state, std::span<const Bar> bars, WallTime now);
// Every stored series (each one's bars are read for the health check).
Result<std::vector<SeriesRow>> ListRows(Store& store, WallTime now);

// The quota as `mdfetch quota` counts it.
struct Quota {
  std::string rate;                     // the --rate text counted against
  std::optional<WallTime> recorded_at;  // when the last refresh recorded it; nullopt: default
  std::optional<int64_t> per_day;       // nullopt: no daily quota in the rate
  int64_t spent = 0;                    // calls logged in the last 24 h
};

// The store keeps no run report (refresh --report writes it to a file): the last run is read
// off the call log as the newest calls, each less than kRunGap before the next.
inline constexpr auto kRunGap = std::chrono::minutes(30);
inline constexpr int64_t kRunCallsRead = 500;

struct Overview {
  std::string database;  // Store::Location()
  WallTime at;
  Quota quota;
  std::vector<CallRow> last_run;  // newest first; empty when no call is logged
};
Result<Overview> ReadOverview(Store& store, WallTime now, const std::string& default_rate);

// ---- ranges ----
enum class Range { k1M, k6M, k1Y, k5Y, kAll };
std::string_view RangeName(Range r);  // "1M", "6M", "1Y", "5Y", "all"
std::optional<Range> ParseRange(std::string_view text);
inline constexpr Range kRanges[] = {Range::k1M, Range::k6M, Range::k1Y, Range::k5Y, Range::kAll};

// A range as asked: a named one, or explicit dates (either may be empty).
struct RangeChoice {
  Range range = Range::k1Y;
  std::optional<std::string> from;  // "YYYY-MM-DD", set when from/to were given
  std::optional<std::string> to;
  bool Explicit() const { return from || to; }
};
// The bars of `state` a range covers, at most kMaxRangeBars (the newest).
BarFilter FilterFor(const SeriesState& state, const RangeChoice& range);

// One series and its bars in range.
struct SeriesBars {
  SeriesState state;
  std::vector<Bar> bars;
  bool capped = false;  // the range held more than kMaxRangeBars bars
};
Result<SeriesBars> ReadRange(Store& store, const SeriesState& state, const RangeChoice& range);

// Closes normalised to 100 at the first bar all of `series` have (their `ts` in common).
struct Normalised {
  std::string base_ts;  // empty: no bar in common
  // Per series: (ts, close / close at base_ts * 100) from base_ts on, at the common bars.
  std::vector<std::vector<std::pair<std::string, double>>> points;
};
Normalised Normalise(const std::vector<SeriesBars>& series);

// ---- what a request gets back ----
struct Reply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::string filename;  // set: a download (Content-Disposition: attachment)
};

// Query parameters in the order given, repeated ones kept.
using Params = std::vector<std::pair<std::string, std::string>>;

// The routes (see mdfetch/serve.h). Stateless but for its options; thread-safe.
class Site {
 public:
  Site(Clock& clock, std::string default_rate)
      : clock_(clock), default_rate_(std::move(default_rate)) {}
  // Whether `path` is a route (else 404, without opening a store).
  static bool Known(std::string_view path);
  // Answers GET `path` with `params` from `store`.
  Reply Handle(std::string_view path, const Params& params, Store& store);

 private:
  Clock& clock_;
  std::string default_rate_;
};

// ---- writing (serve_html.cc, serve_api.cc) ----
// &, <, >, ", ' as entities; control characters HTML does not allow as U+FFFD (svg.h).
using svg::Escape;
std::string UrlEncode(std::string_view text);  // every byte but A-Z a-z 0-9 - . _ ~ as %XX
// "/series?s=IBM&range=1Y": the link of a page of one series.
std::string SeriesLink(std::string_view page, const SeriesKey& key, const RangeChoice& range);

inline constexpr std::string_view kSortColumns[] = {"series", "freshness", "bars",    "first",
                                                    "last",   "outcome",   "findings"};
struct ListView {
  std::string sort = "series";
  bool descending = false;
};
void SortRows(std::vector<SeriesRow>& rows, const ListView& view);

std::string ListPage(const Overview& overview, const std::vector<SeriesRow>& rows,
                     const ListView& view);
struct SeriesPageData {
  SeriesRow row;
  SeriesBars range;  // the bars in range (chart), oldest first
  RangeChoice choice;
  int64_t table_rows = 0;  // the newest this many bars in the table
  std::vector<CallRow> calls;
  std::string chart_svg;  // empty: none
};
std::string SeriesPage(const SeriesPageData& data);
std::string ComparePage(const std::vector<SeriesBars>& series, const RangeChoice& choice,
                        const Normalised& normalised, const std::string& chart_svg);
std::string ErrorPage(int status, std::string_view message);
std::string StyleSheet();

std::string OverviewJson(const Overview& overview);
std::string SeriesListJson(const std::string& database, WallTime at,
                           const std::vector<SeriesRow>& rows);
std::string CallsJson(const std::optional<SeriesKey>& series, const std::vector<CallRow>& calls);
std::string CompareJson(const std::vector<SeriesBars>& series, const Normalised& normalised);
std::string ErrorJson(std::string_view message);

}  // namespace mdfetch::serve
