// Trust under real conditions (issue 9), in the engine on virtual time: a call that never
// left costs nothing, an outage stops the run early, answers that cannot change are not asked
// again, the premium `full` is asked once, the summary's counts are right, and backoff really
// waits. The fake service records every request; a real Store on :memory: keeps the log.
#include <gtest/gtest.h>

#include <set>

#include "fake_service.h"
#include "mdfetch/engine.h"
#include "mdfetch/store.h"

namespace mdfetch {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kNoDns = "cannot reach www.alphavantage.co: name resolution failed";

inline constexpr std::string_view kFullPremium =
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature "
    "for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly unlock all premium features";

class EngineTrustTest : public ::testing::Test {
 protected:
  EngineTrustTest() : clock_(FridayEvening()), service_(clock_) {
    store_ = std::move(*Store::Open(":memory:", OpenMode::kReadWrite));
    options_.rate = *ParseRateSpec("10/s,25/day");
    options_.api_key = std::string(kKey);
    options_.jitter_seed = 7;
    service_.SetHandler(
        [](const std::string& target, int) { return Ok(DailyBody(SymbolOf(target), 100)); });
  }

  static std::vector<SeriesKey> Keys(int n) {
    std::vector<SeriesKey> keys;
    for (int i = 0; i < n; ++i) keys.push_back({fmt::format("S{}", i), Function::kDaily, ""});
    return keys;
  }

  RefreshSummary Run(const std::vector<SeriesKey>& keys) {
    Engine engine(clock_, service_.Factory(), *store_, options_);
    return engine.Run(keys);
  }

  int64_t LoggedCalls() {
    auto times = store_->CallTimesSince(WallTime{});
    EXPECT_TRUE(times);
    return times ? static_cast<int64_t>(times->size()) : -1;
  }

  FakeClock clock_;
  FakeService service_;
  std::unique_ptr<Store> store_;
  EngineOptions options_;
};

TEST_F(EngineTrustTest, AnOutageSpendsNoQuotaStopsWithinAMinuteAndTheNextRunFetchesAll) {
  service_.SetHandler([](const std::string&, int) -> Result<HttpResponse> {
    return Fail(ErrorCode::kNotSent, std::string(kNoDns));
  });
  const auto keys = Keys(30);
  auto outage = Run(keys);
  EXPECT_EQ(outage.stop, StopCause::kUnreachable);
  EXPECT_EQ(outage.stop_reason, kNoDns);
  EXPECT_EQ(outage.calls, 0);
  EXPECT_EQ(outage.retries, 0);
  EXPECT_EQ(outage.Count(SeriesStatus::kDeferred), 30);
  for (const auto& r : outage.results) EXPECT_EQ(r.reason, "the service could not be reached");
  EXPECT_EQ(LoggedCalls(), 0);  // not one call in the log the daily quota counts
  // A few attempts, spread over about a minute of virtual time, then nothing.
  auto requests = service_.Requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_LE(requests.size(), 12u);
  EXPECT_GE(requests.back().at - requests.front().at, 60s);
  EXPECT_LE(requests.back().at - requests.front().at, 90s);

  // The service is back: the whole quota is there, and the deferred series go first.
  service_.SetHandler(
      [](const std::string& target, int) { return Ok(DailyBody(SymbolOf(target), 100)); });
  auto next = Run(keys);
  EXPECT_EQ(next.calls, 25);
  EXPECT_EQ(next.Count(SeriesStatus::kStored), 25);
  EXPECT_EQ(next.stop, StopCause::kQuota);
}

TEST_F(EngineTrustTest, ACallThatNeverLeftDoesNotCountAgainstThePerMinuteWindow) {
  options_.rate = *ParseRateSpec("5/min");
  service_.SetHandler([](const std::string& target, int call) -> Result<HttpResponse> {
    if (call == 0) return Fail(ErrorCode::kNotSent, "cannot reach host: connection refused");
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run(Keys(2));
  EXPECT_EQ(summary.calls, 2);
  EXPECT_EQ(LoggedCalls(), 2);
  auto requests = service_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  // Tried again after the first pause (2 s); the refused attempt took no token, so the
  // calls that reached the service are 12 s apart, not 12 s after the refused one.
  EXPECT_EQ(requests[1].at - requests[0].at, 2s);
  EXPECT_EQ(requests[2].at - requests[1].at, 12s);
}

TEST_F(EngineTrustTest, ATimeoutAfterTheRequestWasSentCounts) {
  options_.retries = 1;
  service_.SetHandler([](const std::string&, int) -> Result<HttpResponse> {
    return Fail(ErrorCode::kTransient, "connection closed before the answer was complete");
  });
  auto summary = Run(Keys(1));
  EXPECT_EQ(summary.calls, 2);
  EXPECT_EQ(LoggedCalls(), 2);
  EXPECT_EQ(summary.stop, StopCause::kNone);
  EXPECT_EQ(summary.results[0].reason,
            "failed after 2 attempts: connection closed before the answer was complete");
}

TEST_F(EngineTrustTest, AnUnknownSymbolCostsOneCallAndNoneForAWeek) {
  service_.SetHandler([](const std::string& target, int) {
    if (SymbolOf(target) == "NOPE") {
      return Ok(
          "{\"Error Message\": \"Invalid API call. Please retry or visit the documentation "
          "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.\"}");
    }
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  const std::vector<SeriesKey> keys{{"NOPE", Function::kDaily, ""}};
  auto first = Run(keys);
  EXPECT_EQ(first.calls, 1);
  clock_.Advance(72h);  // Monday evening: due again if it were known
  auto second = Run(keys);
  EXPECT_EQ(second.calls, 0);
  EXPECT_EQ(second.results[0].status, SeriesStatus::kFailed);
  EXPECT_EQ(second.results[0].reason,
            "unknown to the service since 2026-11-20; not called, --force tries again");
  options_.force = true;
  EXPECT_EQ(Run(keys).calls, 1);
  options_.force = false;
  clock_.Advance(24h * 8);  // a week after the last answer: asked again
  EXPECT_EQ(Run(keys).calls, 1);
  EXPECT_EQ(service_.CallsFor("NOPE"), 3);
}

TEST_F(EngineTrustTest, ACompleteButCorruptBodyCostsAtMostTwoCalls) {
  service_.SetHandler([](const std::string& target, int) {
    std::string body = DailyBody(SymbolOf(target), 100);
    body.replace(body.find("\"1. open\": \"") + 12, 1, "r");
    return Ok(body);
  });
  options_.retries = 4;
  auto summary = Run(Keys(1));
  EXPECT_EQ(summary.calls, 2);
  EXPECT_EQ(summary.retries, 1);
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[0].reason.rfind("unusable answer: bar 2026-11-20: ", 0), 0u)
      << summary.results[0].reason;
  EXPECT_TRUE(summary.results[0].reason.ends_with(": nothing stored")) << summary.results[0].reason;
  auto state = store_->Find(SeriesKey{"S0", Function::kDaily, ""});
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->bar_count, 0);
}

TEST_F(EngineTrustTest, AnAnswerForAnotherSymbolIsRefusedAndNothingIsStored) {
  service_.SetHandler([](const std::string&, int) { return Ok(DailyBody("IBM", 100)); });
  auto summary = Run({{"MSFT", Function::kDaily, ""}});
  EXPECT_EQ(summary.calls, 2);
  EXPECT_EQ(summary.results[0].reason, "asked MSFT daily, the answer is IBM daily: nothing stored");
  auto state = store_->Find(SeriesKey{"MSFT", Function::kDaily, ""});
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->bar_count, 0);
}

TEST_F(EngineTrustTest, ThePremiumFullIsAskedOnceAtConcurrencyEight) {
  options_.rate = *ParseRateSpec("unlimited");
  options_.concurrency = 8;
  service_.SetHandler([](const std::string& target, int) {
    if (target.find("outputsize=full") != std::string::npos) return Ok(Info(kFullPremium));
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run(Keys(20));
  int full = 0;
  for (const auto& r : service_.Requests()) {
    full += r.target.find("outputsize=full") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(full, 1);
  EXPECT_EQ(summary.calls, 21);
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 20);
  for (const auto& r : summary.results) EXPECT_TRUE(r.history_limited) << Describe(r.key);
}

TEST_F(EngineTrustTest, FullCallsGoInParallelOnceOneIsAnswered) {
  options_.rate = *ParseRateSpec("unlimited");
  options_.concurrency = 8;
  auto summary = Run(Keys(20));
  EXPECT_EQ(summary.calls, 20);
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 20);
  for (const auto& r : summary.results) EXPECT_FALSE(r.history_limited);
}

TEST_F(EngineTrustTest, TheRetriedCountIsRightWhenTheQuotaStopsTheRun) {
  options_.rate = *ParseRateSpec("100/s,25/day");
  options_.concurrency = 1;
  options_.retries = 4;
  service_.SetHandler([](const std::string&, int) -> Result<HttpResponse> {
    return HttpResponse{503, "<html>Application Error</html>"};
  });
  auto summary = Run(Keys(10));
  EXPECT_EQ(summary.stop, StopCause::kQuota);
  EXPECT_EQ(summary.calls, 25);
  std::set<std::string> called;
  for (const auto& r : service_.Requests()) called.insert(SymbolOf(r.target));
  // Every call but the first of each series repeated one that failed.
  EXPECT_EQ(summary.retries, 25 - static_cast<int64_t>(called.size()));
}

// At --rate unlimited nothing but the backoff spaces the calls: without it the repeats would
// go at the same virtual instant as the failure.
TEST_F(EngineTrustTest, TransientFaultsWaitTheJitteredBackoffBeforeTheRepeat) {
  options_.rate = *ParseRateSpec("unlimited");
  service_.SetHandler([](const std::string& target, int call) -> Result<HttpResponse> {
    if (call < 3) return HttpResponse{503, "<html>Application Error</html>"};
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run(Keys(1));
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 1);
  auto requests = service_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  for (size_t i = 1; i < requests.size(); ++i) {
    const Nanos wait = requests[i].at - requests[i - 1].at;
    const Nanos ceiling = options_.backoff_base * (1 << (i - 1));  // 1 s, 2 s, 4 s
    EXPECT_GT(wait, Nanos(0)) << i;
    EXPECT_LE(wait, ceiling) << i;
  }
  EXPECT_GT(requests.back().at - requests.front().at, 500ms);
}

// During the session the service's daily answer ends with the session in progress ("Last
// Refreshed" with a time of day): that bar is provisional until the first fetch after the
// close replaces it with the final one.
TEST_F(EngineTrustTest, ABarOfASessionStillOpenIsProvisionalUntilTheFirstFetchAfterTheClose) {
  const SeriesKey ibm{"IBM", Function::kDaily, ""};
  clock_.Set(SteadyTime{} - 3h);  // Friday 19:00Z, 14:00 in New York: the session is open
  service_.SetHandler([](const std::string&, int) {
    std::string body = DailyBody("IBM", 100);
    body.replace(body.find("\"2026-11-20\""), 12, "\"2026-11-20 14:07:57\"");
    return Ok(body);
  });
  EXPECT_EQ(Run({ibm}).Count(SeriesStatus::kStored), 1);
  auto during = store_->Find(ibm);
  ASSERT_TRUE(during && *during);
  EXPECT_EQ((*during)->provisional_ts, "2026-11-20");
  EXPECT_EQ(Run({ibm}).calls, 0);  // up to date while the session is open

  clock_.Set(SteadyTime{});  // 22:00Z: closed an hour ago
  service_.SetHandler([](const std::string&, int) {
    return Ok(DailyBody("IBM", 100, 101));  // the final bars, other prices
  });
  auto after = Run({ibm});
  EXPECT_EQ(after.calls, 1);
  EXPECT_GT(after.results[0].counts.changed, 0);
  auto final_state = store_->Find(ibm);
  ASSERT_TRUE(final_state && *final_state);
  EXPECT_EQ((*final_state)->provisional_ts, "");
  EXPECT_EQ(Run({ibm}).calls, 0);
}

}  // namespace
}  // namespace mdfetch
