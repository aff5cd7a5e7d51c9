// Micro-benchmark of `mdfetch chart` (issue 12): RenderChart over a 25-year daily adjusted
// history (6,300 bars, the simulator's, with its dividends and splits and the health check's
// findings), the work of the command after the store is read. The target: well under 100 ms.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <vector>

#include "bench_corpus.h"
#include "chart.h"
#include "mdfetch/health.h"
#include "mdfetch/simulator.h"

namespace mdfetch::bench {
namespace {

constexpr size_t kBars = 6300;  // 25 years of sessions

ChartSeries Build(const std::string& symbol) {
  ChartSeries s;
  s.state.key = SeriesKey{symbol, Function::kDailyAdjusted, ""};
  s.state.time_zone = "US/Eastern";
  s.state.last_outcome = "stored";
  std::vector<Bar> all = Simulator::History(s.state.key, kBenchLastSession);
  s.bars.assign(all.end() - static_cast<std::ptrdiff_t>(std::min(kBars, all.size())), all.end());
  s.findings = CheckSeries(s.state, s.bars, WallTime{std::chrono::sys_days{kBenchLastSession}});
  return s;
}

void Render(benchmark::State& state, const std::vector<ChartSeries>& series,
            const ChartOptions& options) {
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string svg = RenderChart(series, options);
    bytes = svg.size();
    benchmark::DoNotOptimize(svg.data());
  }
  size_t bars = 0;
  for (const ChartSeries& s : series) bars += s.bars.size();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(bars));
  state.SetLabel(
      fmt::format("{} series, {} bars, {} KB of SVG", series.size(), bars, bytes / 1024));
}

// The default 960x540: more bars than pixels, a close line over the high-low band.
void BM_RenderChart25YearDaily(benchmark::State& state) {
  static const std::vector<ChartSeries> series = {Build("IBM")};
  Render(state, series, ChartOptions{.adjusted = true, .source = "simulator"});
}
BENCHMARK(BM_RenderChart25YearDaily)->Unit(benchmark::kMillisecond);

// Wide enough for a candle per bar (6,300 candles, each with its title), the most markup.
void BM_RenderChart25YearDailyCandles(benchmark::State& state) {
  static const std::vector<ChartSeries> series = {Build("IBM")};
  Render(state, series,
         ChartOptions{.width = 6400, .height = 1000, .adjusted = true, .source = "simulator"});
}
BENCHMARK(BM_RenderChart25YearDailyCandles)->Unit(benchmark::kMillisecond);

// Five 25-year histories compared, normalised to 100, on a log scale.
void BM_RenderChart25YearDailyCompare5(benchmark::State& state) {
  static const std::vector<ChartSeries> series = {Build("IBM"), Build("MSFT"), Build("AAPL"),
                                                  Build("NVDA"), Build("KO")};
  Render(state, series, ChartOptions{.log_scale = true, .source = "simulator"});
}
BENCHMARK(BM_RenderChart25YearDailyCompare5)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mdfetch::bench
