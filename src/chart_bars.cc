// One series drawn: candlesticks or a close line over the high-low band, volume bars, the
// dividends and splits its bars record, and its findings where they fall.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "chart_internal.h"

namespace mdfetch::chart {
namespace {

constexpr const char* kUp = "#1a7f37";
constexpr const char* kDown = "#cf222e";
constexpr const char* kLine = "#0969da";
constexpr const char* kEvent = "#9a6700";

// A bar's prices as drawn: adjusted by adjusted_close / close when asked and known.
struct Prices {
  double open, high, low, close;
};

Prices Drawn(const Bar& b, bool adjusted) {
  double f = 1;
  if (adjusted && b.adjusted_close && b.close != 0) f = *b.adjusted_close / b.close;
  return {b.open * f, b.high * f, b.low * f, b.close * f};
}

// What the plot needs to place bar i.
struct Frame {
  const Layout& l;
  Scale y;
  double slot;
  double Center(size_t i) const { return l.left + (static_cast<double>(i) + 0.5) * slot; }
};

std::string Labels(const ChartSeries& s, const ChartOptions& options) {
  const SeriesKey& key = s.state.key;
  std::string out = fmt::format("symbol {} · function {}", key.symbol, ShortName(key.function));
  if (!key.interval.empty()) out += " · interval " + key.interval;
  if (std::string switches = OptionsText(key); !switches.empty()) out += " · " + switches;
  out += fmt::format(" · time zone {} · range {}..{} ({} bar{})",
                     s.state.time_zone.empty() ? "unknown" : s.state.time_zone, s.bars.front().ts,
                     s.bars.back().ts, s.bars.size(), s.bars.size() == 1 ? "" : "s");
  if (options.adjusted) out += " · adjusted prices";
  return out + " · source " + options.source;
}

std::string CandleTitle(const Bar& b, const Prices& p) {
  std::string out = fmt::format("{} open {} high {} low {} close {}", b.ts, p.open, p.high, p.low,
                                p.close);
  if (b.volume) out += fmt::format(" volume {}", *b.volume);
  return out;
}

void Candles(svg::Writer& w, const Frame& f, std::span<const Bar> bars, bool adjusted) {
  const double body = std::max(1.0, f.slot * 0.7);
  for (bool up : {true, false}) {
    w.Open("g", {{"class", up ? "candles up" : "candles down"},
                 {"fill", up ? kUp : kDown},
                 {"stroke", up ? kUp : kDown},
                 {"stroke-width", 1}});
    for (size_t i = 0; i < bars.size(); ++i) {
      const Prices p = Drawn(bars[i], adjusted);
      if ((p.close >= p.open) != up) continue;
      const double x = f.Center(i);
      const double top = f.y.Map(std::max(p.open, p.close));
      const double bottom = std::max(f.y.Map(std::min(p.open, p.close)), top + 1);
      svg::PathBuilder d;
      d.MoveTo(x, f.y.Map(p.high)).VerticalTo(f.y.Map(p.low));
      d.MoveTo(x - body / 2, top).HorizontalTo(x + body / 2).VerticalTo(bottom);
      d.HorizontalTo(x - body / 2).Close();
      w.Open("path", {{"class", "candle"}, {"d", d.str()}});
      w.Text("title", {}, CandleTitle(bars[i], p));
      w.Close();
    }
    w.Close();
  }
}

void Line(svg::Writer& w, const Frame& f, std::span<const Bar> bars, bool adjusted) {
  svg::PathBuilder band, line;
  band.Reserve(bars.size() * 24);
  line.Reserve(bars.size() * 12);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Prices p = Drawn(bars[i], adjusted);
    const double x = f.Center(i);
    if (i == 0) {
      band.MoveTo(x, f.y.Map(p.high));
      line.MoveTo(x, f.y.Map(p.close));
    } else {
      band.LineTo(x, f.y.Map(p.high));
      line.LineTo(x, f.y.Map(p.close));
    }
  }
  for (size_t i = bars.size(); i-- > 0;) band.LineTo(f.Center(i), f.y.Map(Drawn(bars[i], adjusted).low));
  band.Close();
  w.Path(band, {{"class", "band"}, {"fill", kLine}, {"fill-opacity", 0.18}, {"stroke", "none"}});
  w.Path(line, {{"class", "close-line"}, {"fill", "none"}, {"stroke", kLine}, {"stroke-width", 1}});
}

void Volume(svg::Writer& w, const Frame& f, std::span<const Bar> bars) {
  double most = 0;
  for (const Bar& b : bars) most = std::max(most, b.volume.value_or(0));
  if (!(most > 0)) return;
  const Scale v{0, most, f.l.bottom, f.l.volume_top};
  const double width = std::max(f.slot * 0.7, std::min(f.slot, 1.0));
  svg::PathBuilder d;
  d.Reserve(bars.size() * 28);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double volume = bars[i].volume.value_or(0);
    if (!(volume > 0)) continue;
    const double x = f.Center(i) - width / 2;
    d.MoveTo(x, v.Map(volume)).HorizontalTo(x + width).VerticalTo(f.l.bottom).HorizontalTo(x).Close();
  }
  w.Path(d, {{"class", "volume"}, {"fill", "#8c959f"}});
  w.Text("text",
         {{"class", "volume-label"}, {"x", f.l.right + 6}, {"y", f.l.volume_top}, {"dy", "0.8em"},
          {"fill", "#59636e"}},
         ShortCount(most));
}

// "4:1", "3:2", "1:10" (a reverse split).
std::string SplitRatio(double coefficient) {
  if (coefficient >= 1) return fmt::format("{:g}:1", coefficient);
  return fmt::format("1:{:g}", 1 / coefficient);
}

void Events(svg::Writer& w, const Frame& f, std::span<const Bar> bars) {
  w.Open("g", {{"class", "events"}, {"fill", kEvent}, {"stroke", kEvent}});
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double x = f.Center(i);
    if (b.split_coefficient && *b.split_coefficient != 1 && *b.split_coefficient > 0) {
      const std::string ratio = SplitRatio(*b.split_coefficient);
      w.Open("g", {{"class", "split"}});
      w.Element("line", {{"x1", x}, {"x2", x}, {"y1", f.l.top}, {"y2", f.l.price_bottom},
                         {"stroke-dasharray", "4 3"}});
      w.Text("text", {{"x", x + 3}, {"y", f.l.top + 12}, {"stroke", "none"}}, "split " + ratio);
      w.Text("title", {}, fmt::format("split {} on {}", ratio, b.ts));
      w.Close();
    }
    if (b.dividend && *b.dividend > 0) {
      // In the strip between prices and volumes (at the plot's foot when there are none).
      const double y = f.l.volume_top > f.l.bottom ? f.l.bottom - 3 : f.l.price_bottom + 4;
      w.Open("circle", {{"class", "dividend"}, {"cx", x}, {"cy", y}, {"r", 2}});
      w.Text("title", {}, fmt::format("dividend {:g} on {}", *b.dividend, b.ts));
      w.Close();
    }
  }
  w.Close();
}

size_t FirstAtOrAfter(std::span<const Bar> bars, const std::string& ts) {
  return static_cast<size_t>(
      std::lower_bound(bars.begin(), bars.end(), ts,
                       [](const Bar& b, const std::string& t) { return b.ts < t; }) -
      bars.begin());
}

// Gaps: a dashed line between the bars around the missing ones. Findings about bars: a small
// triangle above the bar. Findings about the series (failing, limited) are in no bar.
void MarkFindings(svg::Writer& w, const Frame& f, std::span<const Bar> bars,
              std::span<const Finding> findings, bool adjusted) {
  w.Open("g", {{"class", "findings"}, {"fill", kDown}, {"stroke", kDown}});
  for (const Finding& finding : findings) {
    if (finding.first_ts.empty() || finding.kind == FindingKind::kFailing ||
        finding.kind == FindingKind::kLimited) {
      continue;
    }
    const size_t i = FirstAtOrAfter(bars, finding.first_ts);
    const std::string title = fmt::format("{}: {}", FindingKindName(finding.kind), finding.message);
    if (finding.kind == FindingKind::kGap) {
      const double x = f.l.left + static_cast<double>(i) * f.slot;
      w.Open("line", {{"class", "gap"}, {"x1", x}, {"x2", x}, {"y1", f.l.top},
                      {"y2", f.l.price_bottom}, {"stroke-dasharray", "3 2"}});
      w.Text("title", {}, title);
      w.Close();
      continue;
    }
    if (i >= bars.size() || bars[i].ts != finding.first_ts) continue;
    const double x = f.Center(i), y = f.y.Map(Drawn(bars[i], adjusted).high) - 4;
    svg::PathBuilder d;
    d.MoveTo(x, y).LineTo(x - 4, y - 7).LineTo(x + 4, y - 7).Close();
    w.Open("path", {{"class", "finding"}, {"d", d.str()}});
    w.Text("title", {}, title);
    w.Close();
  }
  w.Close();
}

}  // namespace

std::string SingleSeries(const ChartSeries& s, const ChartOptions& options) {
  const std::span<const Bar> bars = s.bars;
  const bool volume = std::any_of(bars.begin(), bars.end(),
                                  [](const Bar& b) { return b.volume.value_or(0) > 0; });
  const Layout l = MakeLayout(options, volume);
  const bool line = static_cast<double>(bars.size()) > l.right - l.left;
  svg::Writer w(l.width, l.height,
                {{"class", "mdfetch-chart"}, {"data-mode", line ? "line" : "candles"},
                 {"data-bars", static_cast<int>(bars.size())}, {"font-family", "sans-serif"},
                 {"font-size", 11}});
  Heading(w, l, options.title.empty() ? SeriesName(s.state.key) : options.title,
          Labels(s, options));
  std::vector<double> prices;
  prices.reserve(bars.size() * 2);
  for (const Bar& b : bars) {
    const Prices p = Drawn(b, options.adjusted);
    prices.push_back(p.low);
    prices.push_back(p.high);
  }
  auto [lo, hi] = Range(prices, options.log_scale);
  const Frame f{l, Scale{lo, hi, l.price_bottom, l.top, options.log_scale}, l.Slot(bars.size())};
  ValueAxis(w, l, f.y, options.log_scale);
  std::vector<std::string> timestamps;
  timestamps.reserve(bars.size());
  for (const Bar& b : bars) timestamps.push_back(b.ts);
  TimeAxis(w, l, timestamps);
  if (volume) Volume(w, f, bars);
  if (line) {
    Line(w, f, bars, options.adjusted);
  } else {
    Candles(w, f, bars, options.adjusted);
  }
  Events(w, f, bars);
  MarkFindings(w, f, bars, s.findings, options.adjusted);
  return w.Finish();
}

}  // namespace mdfetch::chart
