// The engine on virtual time: a fake clock, a fake transport that records every request, and
// a real Store on :memory:. No test here sleeps or touches the network.
#include "mdfetch/engine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "fake_clock.h"
#include "fake_service.h"
#include "mdfetch/market_calendar.h"

namespace mdfetch {
namespace {

using std::chrono::seconds;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : clock_(FridayEvening()), service_(clock_) {
    store_ = std::move(*Store::Open(":memory:", OpenMode::kReadWrite));
    options_.rate = *ParseRateSpec("5/min");
    options_.api_key = std::string(kKey);
    options_.jitter_seed = 7;
    service_.SetHandler(
        [](const std::string& target, int) { return Ok(DailyBody(SymbolOf(target), 100)); });
  }

  RefreshSummary Run(const std::vector<std::string>& symbols) {
    std::vector<SeriesKey> keys;
    for (const auto& s : symbols) keys.push_back(SeriesKey{s, Function::kDaily, ""});
    Engine engine(clock_, service_.Factory(), *store_, options_);
    return engine.Run(keys);
  }

  FakeClock clock_;
  FakeService service_;
  std::unique_ptr<Store> store_;
  EngineOptions options_;
};

TEST_F(EngineTest, StoresEverySeriesWithOneCallEach) {
  auto summary = Run({"IBM", "MSFT", "AAPL"});
  EXPECT_EQ(summary.calls, 3);
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 3);
  EXPECT_EQ(summary.BarsAdded(), 300);
  for (const char* s : {"IBM", "MSFT", "AAPL"}) {
    auto bars = store_->ReadBars(SeriesKey{s, Function::kDaily, ""}, BarFilter{});
    ASSERT_TRUE(bars);
    EXPECT_EQ(bars->size(), 100u);
    EXPECT_EQ(bars->back().ts, "2026-11-20");
    EXPECT_EQ(bars->back().close, 100.5);
  }
}

TEST_F(EngineTest, CallsAreSpacedEvenlyAtTheRate) {
  auto summary = Run({"A", "B", "C", "D", "E", "F", "G"});
  auto requests = service_.Requests();
  ASSERT_EQ(requests.size(), 7u);
  for (size_t i = 1; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].at - requests[i - 1].at, seconds(12)) << i;
  }
  // (N-1) * 60 / R: the whole refresh takes exactly the bound the limit sets.
  EXPECT_EQ(requests.back().at - requests.front().at, seconds(72));
}

TEST_F(EngineTest, SecondRunTheSameEveningMakesNoCall) {
  Run({"IBM", "MSFT"});
  auto second = Run({"IBM", "MSFT"});
  EXPECT_EQ(second.calls, 0);
  EXPECT_EQ(second.Count(SeriesStatus::kUpToDate), 2);
  EXPECT_EQ(service_.Requests().size(), 2u);
}

TEST_F(EngineTest, ForceFetchesAgainAndChangesNothing) {
  Run({"IBM"});
  options_.force = true;
  auto second = Run({"IBM"});
  EXPECT_EQ(second.calls, 1);
  ASSERT_EQ(second.results.size(), 1u);
  EXPECT_EQ(second.results[0].status, SeriesStatus::kStored);
  EXPECT_EQ(second.results[0].counts.added, 0);
  EXPECT_EQ(second.results[0].counts.changed, 0);
  EXPECT_EQ(second.results[0].counts.unchanged, 100);
}

TEST_F(EngineTest, NewSeriesAsksFullThenCompactAfterAGapWithinTheWindow) {
  Run({"IBM"});
  EXPECT_NE(service_.Requests()[0].target.find("outputsize=full"), std::string::npos);
  clock_.Advance(std::chrono::hours(24 * 3));  // Monday evening
  Run({"IBM"});
  ASSERT_EQ(service_.Requests().size(), 2u);
  EXPECT_NE(service_.Requests()[1].target.find("outputsize=compact"), std::string::npos);
}

TEST_F(EngineTest, ThrottleAnswerIsRetriedNeverStoredAndCoolsTheLimiterDown) {
  service_.SetHandler([](const std::string& target, int call) {
    if (call == 1) return Ok(Info(kBurst));
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"IBM", "MSFT", "AAPL"});
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 3);
  EXPECT_EQ(summary.throttled, 1);
  EXPECT_EQ(summary.calls, 4);
  auto requests = service_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  // The call after the throttle waits longer than the configured interval.
  EXPECT_GT(requests[2].at - requests[1].at, seconds(12));
}

TEST_F(EngineTest, PersistentThrottleMeansTheDayIsSpent) {
  service_.SetHandler([](const std::string&, int) { return Ok(Info(kBurst)); });
  auto summary = Run({"IBM", "MSFT"});
  EXPECT_EQ(summary.stop, StopCause::kQuota);
  EXPECT_EQ(summary.Count(SeriesStatus::kDeferred), 2);
  EXPECT_LE(summary.throttled, 10);
  auto deferred = store_->DeferredSeries();
  ASSERT_TRUE(deferred);
  EXPECT_EQ(deferred->size(), 2u);
}

TEST_F(EngineTest, DailyLimitAnswerStopsAllCallsAndRedactsTheKey) {
  service_.SetHandler([](const std::string& target, int call) {
    if (call == 1) {
      return Ok(
          Info(fmt::format("We have detected your API key as {} and our standard API rate "
                           "limit is 25 requests per day. Please subscribe to any of the "
                           "premium plans at https://www.alphavantage.co/premium/ to "
                           "instantly remove all daily rate limits.",
                           kKey)));
    }
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"IBM", "MSFT", "AAPL", "GOOG"});
  EXPECT_EQ(service_.Requests().size(), 2u);
  EXPECT_EQ(summary.stop, StopCause::kQuota);
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 1);
  EXPECT_EQ(summary.Count(SeriesStatus::kDeferred), 3);
  // The service's text (which quotes the key) is the stop's detail, redacted.
  EXPECT_EQ(summary.stop_reason, "the service's daily limit is reached");
  EXPECT_EQ(summary.stop_detail.find(kKey), std::string::npos);
  EXPECT_NE(summary.stop_detail.find("***"), std::string::npos);
  for (const auto& r : summary.results) EXPECT_EQ(r.reason.find(kKey), std::string::npos);
}

TEST_F(EngineTest, DeferredSeriesGoFirstNextRun) {
  options_.rate = *ParseRateSpec("5/min,2/day");
  auto first = Run({"A", "B", "C", "D"});
  EXPECT_EQ(first.calls, 2);
  EXPECT_EQ(first.stop, StopCause::kQuota);
  clock_.Advance(std::chrono::hours(72));  // Monday evening: every series is due again
  auto second = Run({"A", "B", "C", "D"});
  // The next day's two calls go to the two series left over, ahead of the list's order.
  EXPECT_EQ(second.results[2].status, SeriesStatus::kStored);
  EXPECT_EQ(second.results[3].status, SeriesStatus::kStored);
  EXPECT_EQ(second.results[0].status, SeriesStatus::kDeferred);
  EXPECT_EQ(second.results[1].status, SeriesStatus::kDeferred);
}

TEST_F(EngineTest, DailyQuotaHoldsAcrossRuns) {
  options_.rate = *ParseRateSpec("unlimited");
  options_.rate.per_day = 3;
  auto first = Run({"A", "B", "C", "D", "E"});
  EXPECT_EQ(first.calls, 3);
  EXPECT_EQ(first.Count(SeriesStatus::kDeferred), 2);
  EXPECT_EQ(first.stop, StopCause::kQuota);
  options_.force = true;
  auto second = Run({"A", "B", "C", "D", "E"});
  EXPECT_EQ(second.calls, 0);
  EXPECT_EQ(second.stop, StopCause::kQuota);
  EXPECT_EQ(service_.Requests().size(), 3u);
}

TEST_F(EngineTest, TransientFaultsAreRetriedWithBackoff) {
  service_.SetHandler([](const std::string& target, int call) -> Result<HttpResponse> {
    if (call == 0)
      return Fail(ErrorCode::kTransient, "connection closed before the answer was complete");
    if (call == 1) return HttpResponse{503, "<html>Application Error</html>"};
    if (call == 2) return Ok(DailyBody(SymbolOf(target), 100).substr(0, 500));
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"IBM"});
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 1);
  EXPECT_EQ(summary.calls, 4);
  EXPECT_EQ(summary.retries, 3);
}

TEST_F(EngineTest, SeriesThatKeepsFailingIsReportedWithTheLastReason) {
  options_.retries = 2;
  service_.SetHandler([](const std::string& target, int) -> Result<HttpResponse> {
    if (SymbolOf(target) == "BAD") return HttpResponse{500, "oops"};
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"BAD", "IBM"});
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[0].reason, "failed after 3 attempts: HTTP 500");
  EXPECT_EQ(summary.results[1].status, SeriesStatus::kStored);
  EXPECT_EQ(service_.CallsFor("BAD"), 3);
  auto state = store_->Find(SeriesKey{"BAD", Function::kDaily, ""});
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->bar_count, 0);
}

TEST_F(EngineTest, ErrorMessageIsPermanentAndNamed) {
  service_.SetHandler([](const std::string& target, int) {
    if (SymbolOf(target) == "NOPE") {
      return Ok(
          "{\"Error Message\": \"Invalid API call. Please retry or visit the "
          "documentation (https://www.alphavantage.co/documentation/) for "
          "TIME_SERIES_DAILY.\"}");
    }
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"NOPE", "IBM"});
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[0].reason,
            "unknown to the service: Invalid API call. Please retry or visit the documentation "
            "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.");
  EXPECT_EQ(service_.CallsFor("NOPE"), 1);  // not compact after full: the answer is the same
  EXPECT_EQ(summary.results[1].status, SeriesStatus::kStored);
}

TEST_F(EngineTest, FullRefusedAsPremiumFallsBackToCompactOnce) {
  service_.SetHandler([](const std::string& target, int) {
    if (target.find("outputsize=full") != std::string::npos) {
      return Ok(
          Info("Thank you for using Alpha Vantage! The outputsize=full parameter value is "
               "a premium feature for the TIME_SERIES_DAILY endpoint. You may subscribe "
               "to any of the premium plans at https://www.alphavantage.co/premium/ to "
               "instantly unlock all premium features"));
    }
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  auto summary = Run({"IBM", "MSFT", "AAPL"});
  EXPECT_EQ(summary.Count(SeriesStatus::kStored), 3);
  int full_calls = 0;
  for (const auto& r : service_.Requests()) {
    full_calls += r.target.find("outputsize=full") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(full_calls, 1);
  EXPECT_EQ(summary.calls, 4);
  for (const auto& r : summary.results) EXPECT_TRUE(r.history_limited);
  auto state = store_->Find(SeriesKey{"IBM", Function::kDaily, ""});
  EXPECT_TRUE((*state)->history_limited);
  // The next run remembers: no call is spent on `full` for a new series.
  auto next = Run({"NEW"});
  EXPECT_EQ(next.calls, 1);
  EXPECT_NE(service_.Requests().back().target.find("outputsize=compact"), std::string::npos);
}

// A backfill month is the whole month or nothing: when `full` is premium it fails, with no
// compact call (which would store only the month's last 100 bars).
TEST_F(EngineTest, BackfillMonthsFailWhenFullIsPremium) {
  service_.SetHandler([](const std::string&, int) {
    return Ok(
        Info("Thank you for using Alpha Vantage! The outputsize=full parameter value is "
             "a premium feature for the TIME_SERIES_INTRADAY endpoint. You may subscribe "
             "to any of the premium plans at https://www.alphavantage.co/premium/ to "
             "instantly unlock all premium features"));
  });
  options_.months = {"2024-03", "2024-04", "2024-05"};
  options_.rate = *ParseRateSpec("unlimited");
  options_.concurrency = 1;
  Engine engine(clock_, service_.Factory(), *store_, options_);
  const SeriesKey key{"IBM", Function::kIntraday, "5min"};
  auto summary = engine.Run({key});
  EXPECT_EQ(summary.calls, 1);
  ASSERT_EQ(summary.results.size(), 3u);
  for (const auto& r : summary.results) {
    EXPECT_EQ(r.status, SeriesStatus::kFailed) << r.month;
    EXPECT_EQ(r.reason, "a whole month needs outputsize=full, which is premium for this key");
  }
  EXPECT_EQ(Describe(summary.results[1]), "IBM intraday:5min month=2024-04");
  // Known from now on: the next backfill spends no call.
  Engine again(clock_, service_.Factory(), *store_, options_);
  EXPECT_EQ(again.Run({key}).calls, 0);
}

TEST_F(EngineTest, PremiumFunctionStopsThatFunctionAtOnce) {
  service_.SetHandler([](const std::string& target, int) {
    if (target.find("TIME_SERIES_DAILY_ADJUSTED") != std::string::npos) {
      return Ok(
          Info("Thank you for using Alpha Vantage! This is a premium endpoint. You may "
               "subscribe to any of the premium plans at "
               "https://www.alphavantage.co/premium/ to instantly unlock all premium "
               "endpoints"));
    }
    return Ok(DailyBody(SymbolOf(target), 100));
  });
  std::vector<SeriesKey> keys = {{"IBM", Function::kDailyAdjusted, ""},
                                 {"MSFT", Function::kDailyAdjusted, ""},
                                 {"IBM", Function::kDaily, ""}};
  Engine engine(clock_, service_.Factory(), *store_, options_);
  auto summary = engine.Run(keys);
  EXPECT_EQ(summary.calls, 2);
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[1].status, SeriesStatus::kFailed);
  EXPECT_EQ(summary.results[2].status, SeriesStatus::kStored);
  // Remembered: the next run spends no call on it.
  auto again = engine.Run({keys[1]});
  EXPECT_EQ(again.calls, 0);
  EXPECT_EQ(again.results[0].status, SeriesStatus::kFailed);
}

TEST_F(EngineTest, StopRequestDefersWhatIsLeft) {
  Engine engine(clock_, service_.Factory(), *store_, options_);
  engine.RequestStop();
  auto summary = engine.Run({SeriesKey{"IBM", Function::kDaily, ""}});
  EXPECT_EQ(summary.stop, StopCause::kInterrupted);
  EXPECT_EQ(summary.calls, 0);
  EXPECT_EQ(summary.results[0].status, SeriesStatus::kDeferred);
}

TEST_F(EngineTest, KeyNeverReachesTheStore) {
  service_.SetHandler([](const std::string&, int) -> Result<HttpResponse> {
    return Fail(fmt::format("cannot connect to /query?apikey={}", kKey));
  });
  options_.retries = 0;
  auto summary = Run({"IBM"});
  EXPECT_EQ(summary.results[0].reason.find(kKey), std::string::npos);
  auto state = store_->Find(SeriesKey{"IBM", Function::kDaily, ""});
  ASSERT_TRUE(state && *state);
  EXPECT_EQ((*state)->last_error.find(kKey), std::string::npos);
}

TEST_F(EngineTest, RevisedBarIsUpdatedAndCounted) {
  Run({"IBM"});
  clock_.Advance(std::chrono::hours(72));  // Monday evening: due again, compact
  service_.SetHandler([](const std::string& target, int) {
    std::string body = DailyBody(SymbolOf(target), 100);
    // The service restates Friday's close.
    const std::string friday_close = "\"4. close\": \"100.5000\"";
    body.replace(body.find(friday_close), friday_close.size(), "\"4. close\": \"100.7500\"");
    return Ok(body);
  });
  auto second = Run({"IBM"});
  ASSERT_EQ(second.results[0].status, SeriesStatus::kStored);
  EXPECT_EQ(second.results[0].counts.changed, 1);
  EXPECT_EQ(second.results[0].counts.unchanged, 99);
  auto bars = store_->ReadBars(SeriesKey{"IBM", Function::kDaily, ""}, BarFilter{.last = 1});
  EXPECT_EQ(bars->back().close, 100.75);
}

// A daily adjusted answer of `bars` bars ending on `last`, with a dividend on `dividend_day`.
std::string AdjustedBody(int bars, std::chrono::sys_days last, const std::string& dividend_day) {
  std::string series;
  int written = 0;
  for (std::chrono::sys_days day = last; written < bars; day -= std::chrono::days(1)) {
    Date d{day};
    if (!IsTradingDay(d)) continue;
    std::string ts = FormatDate(d);
    series += fmt::format(
        "{}\"{}\": {{\"1. open\": \"10\", \"2. high\": \"11\", \"3. low\": \"9\", "
        "\"4. close\": \"10\", \"5. adjusted close\": \"{}\", \"6. volume\": \"5\", "
        "\"7. dividend amount\": \"{}\", \"8. split coefficient\": \"1.0\"}}",
        written ? ",\n" : "", ts, ts < dividend_day ? "9.5" : "10",
        ts == dividend_day ? "0.5" : "0.0");
    ++written;
  }
  return fmt::format(
      "{{\"Meta Data\": {{\"2. Symbol\": \"MSFT\", \"5. Time Zone\": \"US/Eastern\"}}, "
      "\"Time Series (Daily)\": {{{}}}}}",
      series);
}

TEST_F(EngineTest, NewDividendInACompactAdjustedAnswerRestatesTheWholeHistory) {
  using std::chrono::sys_days;
  const SeriesKey key{"MSFT", Function::kDailyAdjusted, ""};
  const sys_days thursday = sys_days(std::chrono::year{2026} / 11 / 19);
  const sys_days monday = sys_days(std::chrono::year{2026} / 11 / 23);
  const sys_days tuesday = sys_days(std::chrono::year{2026} / 11 / 24);
  Engine engine(clock_, service_.Factory(), *store_, options_);

  service_.SetHandler([&](const std::string&, int) { return Ok(AdjustedBody(300, thursday, "")); });
  ASSERT_EQ(engine.Run({key}).results[0].status, SeriesStatus::kStored);

  // Monday: the compact answer shows Friday's dividend, newer than anything stored: every
  // older adjusted close is stale, so the full history is fetched again at once.
  clock_.Advance(std::chrono::hours(72));
  service_.SetHandler([&](const std::string& target, int) {
    bool full = target.find("outputsize=full") != std::string::npos;
    return Ok(AdjustedBody(full ? 300 : 100, monday, "2026-11-20"));
  });
  auto restated = engine.Run({key});
  EXPECT_EQ(restated.calls, 2);
  EXPECT_EQ(restated.results[0].status, SeriesStatus::kStored);
  auto requests = service_.Requests();
  EXPECT_NE(requests[1].target.find("outputsize=compact"), std::string::npos);
  EXPECT_NE(requests[2].target.find("outputsize=full"), std::string::npos);
  auto stored = store_->ReadBars(key, BarFilter{});
  ASSERT_EQ(stored->size(), 302u);  // 300 up to Thursday, then Friday and Monday
  // The oldest bar of the full answer is restated, though far outside the compact window.
  EXPECT_EQ((*stored)[2].adjusted_close, 9.5);
  EXPECT_FALSE((*store_->Find(key))->needs_full);

  // Tuesday: the same dividend again, now already stored: compact is enough.
  clock_.Advance(std::chrono::hours(24));
  service_.SetHandler(
      [&](const std::string&, int) { return Ok(AdjustedBody(100, tuesday, "2026-11-20")); });
  EXPECT_EQ(engine.Run({key}).calls, 1);
}

}  // namespace
}  // namespace mdfetch
