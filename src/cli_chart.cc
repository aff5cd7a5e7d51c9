// `mdfetch chart SERIES...`: stored series drawn as one SVG (chart.h), with no call.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "chart.h"
#include "chart_internal.h"
#include "cli_commands.h"
#include "cli_output.h"
#include "mdfetch/store.h"
#include "mdfetch/symbols.h"
#include "output_file.h"

namespace mdfetch {
namespace {

constexpr int kMaxSide = 10000;

// Every series argument is checked before the store is opened.
Result<std::vector<SeriesKey>> ParseKeys(const ReadArgs& args) {
  auto arguments = ParseSeriesArguments(args);
  if (!arguments) return std::unexpected(arguments.error());
  std::vector<SeriesKey> keys;
  for (const SeriesArgument& argument : *arguments) keys.push_back(argument.key);
  return keys;
}

bool AllIntraday(const std::vector<SeriesKey>& keys) {
  return !keys.empty() && std::all_of(keys.begin(), keys.end(), [](const SeriesKey& k) {
    return k.function == Function::kIntraday;
  });
}

// "from 2024-01-02 to 2024-03-01", "from 2024-01-02", "up to 2024-03-01", "" for no range.
std::string RangeText(const ReadArgs& args) {
  if (!args.from.empty() && !args.to.empty()) return fmt::format(" from {} to {}", args.from, args.to);
  if (!args.from.empty()) return " from " + args.from;
  if (!args.to.empty()) return " up to " + args.to;
  return "";
}

// Errors that only the bars read can show: an empty range, a price a log scale cannot draw,
// series with no timestamp in common.
Status CheckDrawable(const std::vector<ChartSeries>& series, const ChartArgs& args,
                     const std::string& db) {
  for (const ChartSeries& s : series) {
    if (s.bars.empty()) {
      return Fail(fmt::format("no bars of {} in {}{} (its bars run {}..{})",
                              chart::SeriesName(s.state.key), db, RangeText(args.read),
                              s.state.first_ts, s.state.last_ts));
    }
  }
  for (const ChartSeries& s : series) {
    for (const Bar& b : s.bars) {
      const double drawn = series.size() == 1 ? std::min({b.open, b.high, b.low, b.close})
                                              : ChartClose(b, args.adjusted_prices);
      if (args.log && !(drawn > 0)) {
        return Fail(fmt::format("--log: {} has a price of 0 or less on {}; draw it without --log",
                                chart::SeriesName(s.state.key), b.ts));
      }
    }
  }
  if (series.size() > 1 && !FirstCommonTs(series)) {
    std::string names;
    for (const ChartSeries& s : series) {
      names += fmt::format("{}{} ({}..{})", names.empty() ? "" : ", ",
                           chart::SeriesName(s.state.key), s.bars.front().ts, s.bars.back().ts);
    }
    return Fail(fmt::format("{} have no timestamp in common: nothing to normalise to 100", names));
  }
  return {};
}

}  // namespace

Result<std::pair<int, int>> ParseChartSize(std::string_view text) {
  auto bad = [&] {
    return Fail(fmt::format(
        "bad --size '{}': expected WIDTHxHEIGHT in pixels, e.g. 960x540 (width {}-{}, height "
        "{}-{})",
        Printable(text), chart::kMinWidth, kMaxSide, chart::kMinHeight, kMaxSide));
  };
  const size_t x = text.find('x');
  if (x == std::string_view::npos) return bad();
  int side[2] = {0, 0};
  const std::string_view parts[2] = {text.substr(0, x), text.substr(x + 1)};
  for (int i = 0; i < 2; ++i) {
    const char* end = parts[i].data() + parts[i].size();
    auto [at, ec] = std::from_chars(parts[i].data(), end, side[i]);
    if (parts[i].empty() || ec != std::errc() || at != end) return bad();
  }
  if (side[0] < chart::kMinWidth || side[0] > kMaxSide || side[1] < chart::kMinHeight ||
      side[1] > kMaxSide) {
    return bad();
  }
  return std::pair{side[0], side[1]};
}

Outcome RunChart(const ChartArgs& args, CliEnv& env) {
  auto size = ParseChartSize(args.size);
  if (!size) return Exit(kExitUsage, "{}", size.error().message);
  auto keys = ParseKeys(args.read);
  if (!keys) return Exit(kExitUsage, "{}", keys.error().message);
  if (auto ok = MakeBarFilter(args.read.from, args.read.to, AllIntraday(*keys)); !ok) {
    return Exit(kExitUsage, "{}", ok.error().message);
  }
  std::string db;
  auto store = OpenReadDb(args.read.db, env, db);
  if (!store) return Exit(kExitUsage, "{}", store.error().message);
  auto found = FindSeries(**store, args.read, "chart", Needs::kBars, db);
  if (!found) return Exit(kExitFailed, "{}", found.error().message);
  std::vector<SeriesKey> found_keys;
  for (const SeriesState& s : *found) found_keys.push_back(s.key);
  // A pair such as BTC/EUR names its function only in the store: the range is checked again.
  auto filter = MakeBarFilter(args.read.from, args.read.to, AllIntraday(found_keys));
  if (!filter) return Exit(kExitUsage, "{}", filter.error().message);
  for (const SeriesKey& key : found_keys) {
    if (args.adjusted_prices && !IsAdjusted(key.function)) {
      return Exit(kExitUsage,
                  "--adjusted: {} has no adjusted closes (daily_adjusted, weekly_adjusted and "
                  "monthly_adjusted series have)",
                  chart::SeriesName(key));
    }
  }
  const WallTime now = env.clock->WallNow();
  std::vector<ChartSeries> series;
  for (const SeriesKey& key : found_keys) {
    auto loaded = LoadChartSeries(**store, key, *filter, now);
    if (!loaded) return Exit(kExitFailed, "{}", loaded.error().message);
    series.push_back(std::move(*loaded));
  }
  if (Status ok = CheckDrawable(series, args, db); !ok) {
    return Exit(kExitFailed, "{}", ok.error().message);
  }
  auto source = ChartSource(**store);
  if (!source) return Exit(kExitFailed, "{}", source.error().message);
  const ChartOptions options{.width = size->first,
                             .height = size->second,
                             .log_scale = args.log,
                             .adjusted = args.adjusted_prices,
                             .source = *source,
                             .title = args.title};
  const std::string svg = RenderChart(series, options);
  auto file = OutputFile::Open(args.read.output, env.out);
  if (!file) return Exit(kExitUsage, "{}", file.error().message);
  (*file)->Write(svg);
  if (auto written = (*file)->Commit(); !written) {
    return Exit(kExitFailed, "chart failed: {}", written.error().message);
  }
  return kExitOk;
}

}  // namespace mdfetch
