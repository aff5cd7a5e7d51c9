// Micro-benchmarks of the pure parts: the codec on real answers, and the pacing arithmetic.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>

#include "mdfetch/av_codec.h"
#include "mdfetch/rate_limiter.h"
#include "micro_inputs.h"

namespace mdfetch::bench {
namespace {

using std::chrono::minutes;

enum class Body { kCompact, kFull };

// One daily answer decoded into bars: bytes/s is the codec's JSON throughput, items/s bars/s.
void BM_DecodeAnswer(benchmark::State& state, Body which) {
  const MicroInputs& in = Inputs();
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  const std::string& body = which == Body::kFull ? in.full_body : in.compact_body;
  const Request request{SeriesKey{std::string(kBenchSymbol), Function::kDaily, ""},
                        which == Body::kFull ? OutputSize::kFull : OutputSize::kCompact, ""};
  size_t bars = 0;
  for (auto _ : state) {
    Answer answer = DecodeAnswer(request, body);
    bars = answer.bars.size();
    benchmark::DoNotOptimize(answer);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(bars));
  state.SetLabel(fmt::format("{} bars, {} bytes", bars, body.size()));
}
BENCHMARK_CAPTURE(BM_DecodeAnswer, compact, Body::kCompact)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeAnswer, full, Body::kFull)->Unit(benchmark::kMillisecond);

// A token bucket at 75/min asked once per emission interval: every call takes a token.
void BM_TokenBucketTryTake(benchmark::State& state) {
  const Rate rate{75, minutes(1)};
  TokenBucket bucket(rate, 1);
  const Nanos step = rate.period / rate.count;
  SteadyTime now{};
  for (auto _ : state) {
    now += step;
    benchmark::DoNotOptimize(bucket.TryTake(now));
  }
}
BENCHMARK(BM_TokenBucketTryTake);

// The limiter (mutex and every window) as the dispatcher uses it, for `unlimited` (no window)
// and for a premium key's 1200/min plus a 25/s burst guard. Every call is granted.
void BM_RateLimiterTryAcquire(benchmark::State& state) {
  std::vector<Rate> windows;
  if (state.range(0) != 0) windows = {Rate{1200, minutes(1)}, Rate{25, std::chrono::seconds(1)}};
  RateLimiter limiter(windows);
  const Nanos step = minutes(1) / 1200;
  SteadyTime now{};
  for (auto _ : state) {
    now += step;
    benchmark::DoNotOptimize(limiter.TryAcquire(now));
  }
  state.SetLabel(windows.empty() ? "unlimited" : "1200/min,25/s");
}
BENCHMARK(BM_RateLimiterTryAcquire)->ArgName("windows")->Arg(0)->Arg(2);

}  // namespace
}  // namespace mdfetch::bench
