// The frame of a chart (heading, layout, axes, the empty and comparison cases) and what is
// read for it. The bars of one series are drawn by chart_bars.cc.
#include "chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "chart_axes.h"
#include "chart_internal.h"

namespace mdfetch {
namespace chart {

std::string SeriesName(const SeriesKey& key) {
  std::string out = fmt::format("{} {}", key.symbol, ShortName(key.function));
  if (!key.interval.empty()) out += ":" + key.interval;
  if (std::string options = OptionsText(key); !options.empty()) out += " " + options;
  return out;
}

Layout MakeLayout(const ChartOptions& options, bool volume) {
  Layout l;
  l.width = std::max(options.width, kMinWidth);
  l.height = std::max(options.height, kMinHeight);
  l.left = 10;
  l.right = l.width - 64;
  l.top = 48;
  l.bottom = l.height - 24;
  l.price_bottom = volume ? l.top + (l.bottom - l.top) * 0.78 : l.bottom;
  l.volume_top = l.price_bottom + 8;
  return l;
}

void Heading(svg::Writer& w, const Layout& l, const std::string& title,
             const std::string& subtitle) {
  w.Element("rect", {{"class", "background"},
                     {"width", l.width},
                     {"height", l.height},
                     {"fill", "#ffffff"}});
  w.Text("text",
         {{"class", "title"},
          {"x", l.left},
          {"y", 20},
          {"font-size", 15},
          {"font-weight", "bold"},
          {"fill", "#1f2328"}},
         title);
  w.Text("text",
         {{"class", "labels"}, {"x", l.left}, {"y", 37}, {"fill", "#59636e"}},
         subtitle);
}

void ValueAxis(svg::Writer& w, const Layout& l, const Scale& scale, bool log) {
  const int max_ticks = std::max(2, static_cast<int>((scale.pixel_lo - scale.pixel_hi) / 40));
  w.Open("g", {{"class", "value-axis"}, {"fill", "#59636e"}});
  svg::PathBuilder grid;
  for (const ValueTick& tick : ValueTicks(scale.lo, scale.hi, max_ticks, log)) {
    const double y = scale.Map(tick.value);
    grid.MoveTo(l.left, y).HorizontalTo(l.right);
    w.Text("text", {{"class", "tick"}, {"x", l.right + 6}, {"y", y}, {"dy", "0.32em"}},
           tick.label);
  }
  w.Path(grid, {{"class", "grid"}, {"stroke", "#d8dee4"}, {"stroke-width", 0.5}});
  w.Close();
}

void TimeAxis(svg::Writer& w, const Layout& l, std::span<const std::string> timestamps) {
  const double slot = l.Slot(timestamps.size());
  const int max_ticks = std::max(2, static_cast<int>((l.right - l.left) / 75));
  w.Open("g", {{"class", "time-axis"}, {"fill", "#59636e"}, {"text-anchor", "middle"}});
  svg::PathBuilder grid;
  for (const TimeTick& tick : TimeTicks(timestamps, max_ticks)) {
    const double x = l.left + static_cast<double>(tick.index) * slot;
    grid.MoveTo(x, l.top).VerticalTo(l.bottom);
    w.Text("text", {{"class", "tick"}, {"x", x}, {"y", l.bottom + 15}}, tick.label);
  }
  w.Path(grid, {{"class", "grid"}, {"stroke", "#d8dee4"}, {"stroke-width", 0.5}});
  w.Close();
  w.Element("rect", {{"class", "frame"},
                     {"x", l.left},
                     {"y", l.top},
                     {"width", l.right - l.left},
                     {"height", l.bottom - l.top},
                     {"fill", "none"},
                     {"stroke", "#8c959f"},
                     {"stroke-width", 0.5}});
}

void Message(svg::Writer& w, const Layout& l, std::string_view text) {
  w.Text("text",
         {{"class", "message"},
          {"x", (l.left + l.right) / 2},
          {"y", (l.top + l.bottom) / 2},
          {"text-anchor", "middle"},
          {"font-size", 14},
          {"fill", "#59636e"}},
         text);
}

// Finite low and high over `values` (the y range), widened when flat; positive only for log.
std::pair<double, double> Range(std::span<const double> values, bool log) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v) || (log && v <= 0)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!(hi >= lo)) return {1, 10};
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.01;
    return {log ? lo / 1.01 : lo - pad, log ? hi * 1.01 : hi + pad};
  }
  return {lo, hi};
}

}  // namespace chart

namespace {

using chart::Layout;

constexpr std::array<const char*, 8> kPalette = {"#0969da", "#cf222e", "#1a7f37", "#8250df",
                                                 "#bc4c00", "#1b7c83", "#bf3989", "#6e7781"};

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

std::string Comparison(std::span<const ChartSeries> series, const ChartOptions& options) {
  const Layout l = chart::MakeLayout(options, false);
  svg::Writer w(l.width, l.height,
                {{"class", "mdfetch-chart"}, {"data-mode", "compare"}, {"font-family", "sans-serif"},
                 {"font-size", 11}});
  std::vector<std::string> names, zones;
  for (const ChartSeries& s : series) {
    names.push_back(chart::SeriesName(s.state.key));
    if (std::find(zones.begin(), zones.end(), s.state.time_zone) == zones.end()) {
      zones.push_back(s.state.time_zone);
    }
  }
  const std::optional<std::string> common = FirstCommonTs(series);
  const std::string title =
      options.title.empty() ? Join(names, ", ") + (common ? ": normalised to 100 at " + *common : "")
                            : options.title;
  if (!common) {
    chart::Heading(w, l, title, "source " + options.source);
    chart::Message(w, l, "no timestamp common to every series");
    return w.Finish();
  }
  // The union of the timestamps from the common one on: the ordinal axis.
  std::vector<std::string> axis;
  for (const ChartSeries& s : series) {
    for (const Bar& b : s.bars) {
      if (b.ts >= *common) axis.push_back(b.ts);
    }
  }
  std::sort(axis.begin(), axis.end());
  axis.erase(std::unique(axis.begin(), axis.end()), axis.end());
  std::vector<std::vector<std::pair<size_t, double>>> lines(series.size());
  std::vector<double> all;
  for (size_t k = 0; k < series.size(); ++k) {
    auto base = std::lower_bound(series[k].bars.begin(), series[k].bars.end(), *common,
                                 [](const Bar& b, const std::string& ts) { return b.ts < ts; });
    const double base_close = ChartClose(*base, options.adjusted);
    for (auto it = base; it != series[k].bars.end(); ++it) {
      const size_t x = static_cast<size_t>(
          std::lower_bound(axis.begin(), axis.end(), it->ts) - axis.begin());
      const double v = base_close != 0 ? ChartClose(*it, options.adjusted) / base_close * 100 : 0;
      lines[k].emplace_back(x, v);
      all.push_back(v);
    }
  }
  chart::Heading(w, l, title,
                 fmt::format("closes{} normalised to 100 at {} · time zone {} · range {}..{} · "
                             "source {}",
                             options.adjusted ? " (adjusted)" : "", *common, Join(zones, ", "),
                             axis.front(), axis.back(), options.source));
  auto [lo, hi] = chart::Range(all, options.log_scale);
  const Scale y{lo, hi, l.price_bottom, l.top, options.log_scale};
  chart::ValueAxis(w, l, y, options.log_scale);
  chart::TimeAxis(w, l, axis);
  const double slot = l.Slot(axis.size());
  w.Open("g", {{"class", "series-lines"}, {"fill", "none"}, {"stroke-width", 1.5}});
  for (size_t k = 0; k < lines.size(); ++k) {
    svg::PathBuilder path;
    for (const auto& [x, v] : lines[k]) {
      const double px = l.left + (static_cast<double>(x) + 0.5) * slot;
      if (path.empty()) {
        path.MoveTo(px, y.Map(v));
      } else {
        path.LineTo(px, y.Map(v));
      }
    }
    w.Path(path, {{"class", "series-line"}, {"stroke", kPalette[k % kPalette.size()]}});
  }
  w.Close();
  // The legend: a swatch and the series' name with its last value.
  w.Open("g", {{"class", "legend"}});
  w.Element("rect", {{"x", l.left + 6},
                     {"y", l.top + 6},
                     {"width", 230},
                     {"height", 8 + 16 * static_cast<double>(series.size())},
                     {"fill", "#ffffff"},
                     {"fill-opacity", 0.85},
                     {"stroke", "#d8dee4"}});
  for (size_t k = 0; k < series.size(); ++k) {
    const double ly = l.top + 18 + 16 * static_cast<double>(k);
    const char* colour = kPalette[k % kPalette.size()];
    w.Element("rect", {{"x", l.left + 12}, {"y", ly - 4}, {"width", 14}, {"height", 3},
                       {"fill", colour}});
    const std::string last = lines[k].empty() ? "" : " " + svg::Num(lines[k].back().second);
    w.Text("text", {{"class", "legend-entry"}, {"x", l.left + 32}, {"y", ly}, {"fill", "#1f2328"}},
           names[k] + last);
  }
  w.Close();
  return w.Finish();
}

}  // namespace

double ChartClose(const Bar& bar, bool adjusted) {
  return adjusted && bar.adjusted_close ? *bar.adjusted_close : bar.close;
}

std::optional<std::string> FirstCommonTs(std::span<const ChartSeries> series) {
  if (series.empty()) return std::nullopt;
  // Walk every series' sorted timestamps together: the first value all of them reach.
  std::vector<size_t> at(series.size(), 0);
  for (;;) {
    std::string candidate;
    for (size_t k = 0; k < series.size(); ++k) {
      if (at[k] >= series[k].bars.size()) return std::nullopt;
      candidate = std::max(candidate, series[k].bars[at[k]].ts);
    }
    bool all = true;
    for (size_t k = 0; k < series.size(); ++k) {
      const auto& bars = series[k].bars;
      while (at[k] < bars.size() && bars[at[k]].ts < candidate) ++at[k];
      if (at[k] >= bars.size()) return std::nullopt;
      all = all && bars[at[k]].ts == candidate;
    }
    if (all) return candidate;
  }
}

std::string RenderChart(std::span<const ChartSeries> series, const ChartOptions& options) {
  const bool any_bars =
      std::any_of(series.begin(), series.end(), [](const ChartSeries& s) { return !s.bars.empty(); });
  if (series.size() == 1 && any_bars) return chart::SingleSeries(series.front(), options);
  if (series.size() > 1 && any_bars) return Comparison(series, options);
  const Layout l = chart::MakeLayout(options, false);
  svg::Writer w(l.width, l.height,
                {{"class", "mdfetch-chart"}, {"data-mode", "empty"}, {"font-family", "sans-serif"},
                 {"font-size", 11}});
  std::vector<std::string> names;
  for (const ChartSeries& s : series) names.push_back(chart::SeriesName(s.state.key));
  chart::Heading(w, l, options.title.empty() ? Join(names, ", ") : options.title,
                 "source " + options.source);
  chart::Message(w, l, "no bars");
  return w.Finish();
}

Result<ChartSeries> LoadChartSeries(Store& store, const SeriesKey& key, const BarFilter& filter,
                                    WallTime now) {
  auto state = store.Find(key);
  if (!state) return std::unexpected(state.error());
  if (!*state) return Fail("not stored: " + Describe(key));
  auto bars = store.ReadBars(key, filter);
  if (!bars) return std::unexpected(bars.error());
  ChartSeries out{.state = std::move(**state), .bars = std::move(*bars)};
  out.findings = CheckSeries(out.state, out.bars, now, CheckOptions{.max_per_kind = 0});
  return out;
}

Result<std::string> ChartSource(Store& store) {
  auto origin = store.GetFact("origin");
  if (!origin) return std::unexpected(origin.error());
  if (!*origin) return std::string("unknown");
  if (**origin == "alphavantage") return std::string("Alpha Vantage");
  return **origin;  // "simulator", or what a later version records
}

}  // namespace mdfetch
