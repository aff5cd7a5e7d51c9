// Micro-benchmark of the health check (issue 10): CheckSeries over 200 full daily histories
// (~6,700 bars each, 2000-01-03 to the bench's last session), the whole work of `check` on a
// store filled by the end-to-end benchmark, without reading the store. The histories are the
// simulator's, built once in memory.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <vector>

#include "bench_corpus.h"
#include "mdfetch/health.h"
#include "mdfetch/simulator.h"

namespace mdfetch::bench {
namespace {

constexpr int kHistories = 200;

struct History {
  SeriesState state;
  std::vector<Bar> bars;
};

// SYM0..SYM199 as `function` series, stored an hour after the last session.
std::vector<History> Build(Function function) {
  std::vector<History> out;
  for (int i = 0; i < kHistories; ++i) {
    History h;
    h.state.key = SeriesKey{fmt::format("SYM{}", i), function, ""};
    h.bars = Simulator::History(h.state.key, kBenchLastSession);
    h.state.last_outcome = "stored";
    h.state.bar_count = static_cast<int64_t>(h.bars.size());
    h.state.first_ts = h.bars.front().ts;
    h.state.last_ts = h.bars.back().ts;
    out.push_back(std::move(h));
  }
  return out;
}

const std::vector<History>& Histories(Function f) {
  if (f == Function::kDaily) {
    static const std::vector<History> daily = Build(Function::kDaily);
    return daily;
  }
  static const std::vector<History> adjusted = Build(Function::kDailyAdjusted);
  return adjusted;
}

void CheckAll(benchmark::State& state, Function f) {
  const std::vector<History>& histories = Histories(f);
  const WallTime now = WallTime{std::chrono::sys_days{kBenchLastSession}} + std::chrono::days(1);
  size_t bars = 0;
  for (const History& h : histories) bars += h.bars.size();
  size_t findings = 0;
  for (auto _ : state) {
    findings = 0;
    for (const History& h : histories) findings += CheckSeries(h.state, h.bars, now).size();
    benchmark::DoNotOptimize(findings);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(bars));
  state.SetLabel(
      fmt::format("{} histories, {} bars, {} findings", histories.size(), bars, findings));
}

// The simulator's daily histories are whole and sane: nothing is found.
void BM_CheckSeries200DailyHistories(benchmark::State& state) { CheckAll(state, Function::kDaily); }
BENCHMARK(BM_CheckSeries200DailyHistories)->Unit(benchmark::kMillisecond);

// Daily adjusted: the adjusted-close check runs too, and finds the simulator's dividends
// unadjusted (its adjusted close equals the close), so findings are formatted as well.
void BM_CheckSeries200DailyAdjustedHistories(benchmark::State& state) {
  CheckAll(state, Function::kDailyAdjusted);
}
BENCHMARK(BM_CheckSeries200DailyAdjustedHistories)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mdfetch::bench
