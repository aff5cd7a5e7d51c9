// Private to chart.cc and chart_bars.cc: the layout of a chart and the pieces both draw.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "chart.h"
#include "chart_axes.h"
#include "svg.h"

namespace mdfetch::chart {

inline constexpr int kMinWidth = 200;
inline constexpr int kMinHeight = 150;

// Where things go, in pixels from the top left: the plot spans [left, right] x [top, bottom];
// prices above price_bottom, volumes from volume_top down (when there are volumes).
struct Layout {
  int width = 0;
  int height = 0;
  double left = 0;
  double right = 0;
  double top = 0;
  double bottom = 0;
  double price_bottom = 0;
  double volume_top = 0;

  // The width of one bar's slot on the ordinal axis of `n` bars.
  double Slot(size_t n) const { return (right - left) / static_cast<double>(n == 0 ? 1 : n); }
};

// "IBM daily", "AAPL intraday:5min adjusted=false".
std::string SeriesName(const SeriesKey& key);
Layout MakeLayout(const ChartOptions& options, bool volume);
// The background, the title and the line of labels under it.
void Heading(svg::Writer& w, const Layout& l, const std::string& title,
             const std::string& subtitle);
// Grid lines and labels of the value axis (right side) for `scale` (pixel_lo: its bottom).
void ValueAxis(svg::Writer& w, const Layout& l, const Scale& scale, bool log);
// Calendar ticks below the plot, grid lines, and the plot's frame.
void TimeAxis(svg::Writer& w, const Layout& l, std::span<const std::string> timestamps);
// A line of text in the middle of the plot ("no bars").
void Message(svg::Writer& w, const Layout& l, std::string_view text);
// The y range of `values` (finite; positive only when `log`), widened when flat.
std::pair<double, double> Range(std::span<const double> values, bool log);

// One series: candles or line, volume, events and findings (chart_bars.cc).
std::string SingleSeries(const ChartSeries& series, const ChartOptions& options);

}  // namespace mdfetch::chart
