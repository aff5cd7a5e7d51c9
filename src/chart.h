// Chart: stored series drawn as one self-contained SVG document, for `mdfetch chart` and the
// pages of `mdfetch serve`. RenderChart is a pure function of its arguments (no I/O, no
// clock), thread-safe; LoadChartSeries reads the store it is handed (one thread at a time, as
// any Store) and makes no call to the service.
//
// What a chart shows:
//  - one series: its bars on an ordinal time axis (bar i at slot i: no weekend or night
//    gaps), as candlesticks, or when there are more bars than pixels across the plot, a close
//    line over the high-low band; volume bars below (when the series has volumes); a price
//    axis on the right (nice ticks, or log ticks with ChartOptions::log_scale) and calendar
//    ticks below; the gaps its findings report marked where they fall (a dashed red line
//    between the bars around the missing ones, titled with the finding), other findings on a
//    bar (an off-calendar bar, a bad OHLC, a suspect move) marked above it; the dividends and
//    splits its bars record marked below the bars they fall on (ex-date), titled with the
//    amount or the ratio;
//  - several series: their closes normalised to 100 at the first timestamp they all have,
//    from that timestamp on, one coloured line each on the union of their timestamps, and a
//    legend.
// The heading says exactly what is drawn: the title (default: the series as Describe names
// it), then "symbol S · function F · interval I · time zone Z · range FIRST..LAST (N bars) ·
// source SOURCE" (interval only for intraday; several series: their names and the range of the
// comparison). SVG markup only: no script, no external font or file, no id attributes (two
// charts can share one HTML page); every text escaped (svg.h).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/health.h"
#include "mdfetch/result.h"
#include "mdfetch/series.h"
#include "mdfetch/store.h"

namespace mdfetch {

struct ChartSeries {
  SeriesState state;              // from Store::Find / ListSeries (key, time zone, ...)
  std::vector<Bar> bars;          // the bars in range, oldest first
  std::vector<Finding> findings;  // what CheckSeries reports for these bars: gaps are marked
};

struct ChartOptions {
  int width = 960;  // --size WxH, pixels of the whole document
  int height = 540;
  bool log_scale = false;  // --log
  // --adjusted: draw adjusted prices (open, high, low and close times adjusted_close / close
  // of each bar that has an adjusted close). Dividends and splits are marked either way.
  bool adjusted = false;
  std::string source;  // "Alpha Vantage" or "simulator" (ChartSource)
  std::string title;   // optional; default built from the series
};

// One self-contained SVG document (see above). An empty `series`, or series without bars,
// give a chart that says "no bars"; several series with no timestamp in common, one that says
// so (FirstCommonTs tells the caller beforehand). Values <= 0 on a log scale are drawn at the
// scale's smallest positive value.
std::string RenderChart(std::span<const ChartSeries> series, const ChartOptions& options);

// Reads one series' bars in `filter` and its findings (CheckSeries at `now` over those bars,
// every finding kept: CheckOptions::max_per_kind 0), with no call to the service. Fails with
// the store's error, or "not stored: DESCRIBE" when the store has no such series. A range
// with no bar is no error: `bars` is empty.
Result<ChartSeries> LoadChartSeries(Store& store, const SeriesKey& key, const BarFilter& filter,
                                    WallTime now);

// Where the store's bars come from, for ChartOptions::source: "simulator", "Alpha Vantage", or
// when no refresh has recorded it (its origin fact), "unknown".
Result<std::string> ChartSource(Store& store);

// The first timestamp every series has a bar at (where a comparison is normalised to 100);
// nullopt when there is none (also for no series or a series with no bars).
std::optional<std::string> FirstCommonTs(std::span<const ChartSeries> series);

// The price a chart draws for `bar`: its close, or with `adjusted` its adjusted close when it
// has one.
double ChartClose(const Bar& bar, bool adjusted);

}  // namespace mdfetch
