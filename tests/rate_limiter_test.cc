#include "mdfetch/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace mdfetch {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

__extension__ using Int128 = __int128;  // exact window arithmetic, as in the bucket

const SteadyTime kT0 = SteadyTime{} + hours(1000);

struct Case {
  Rate rate;
  int64_t burst;
};

// 7/min has an emission interval of 8571428571.43 ns: not a whole number of ns.
const std::vector<Case> kCases = {
    {{5, minutes(1)}, 1},    {{5, minutes(1)}, 3},   {{75, minutes(1)}, 1}, {{75, minutes(1)}, 3},
    {{7, minutes(1)}, 1},    {{7, minutes(1)}, 3},   {{1, seconds(1)}, 1},  {{1, seconds(1)}, 3},
    {{1200, minutes(1)}, 1}, {{1200, minutes(1)}, 3}};

std::string Name(const Case& c) {
  return std::to_string(c.rate.count) + " per " + std::to_string(c.rate.period.count()) +
         " ns, burst " + std::to_string(c.burst);
}

// Window lengths worth checking for a rate: around one interval, around one period, longer.
std::vector<Nanos> WindowLengths(const Rate& rate) {
  const Nanos interval = rate.period / rate.count;
  return {interval / 2,        interval,
          interval + Nanos(1), rate.period - Nanos(1),
          rate.period,         rate.period + Nanos(1),
          2 * rate.period,     rate.period * 7 / 2,
          seconds(7),          hours(1)};
}

// The most calls a half-open window (t - length, t] may hold: burst + rate x length, less
// one when rate x length is whole (that call lands exactly `length` after the first one,
// outside the half-open window). Never more than burst + floor(rate x length).
int64_t MaxAllowed(const Rate& rate, int64_t burst, Nanos length) {
  const Int128 scaled = static_cast<Int128>(length.count()) * rate.count;
  const Int128 ceil = (scaled + rate.period.count() - 1) / rate.period.count();
  return burst + static_cast<int64_t>(ceil) - 1;
}

// Saturating demand: every call goes the moment the bucket allows it.
std::vector<SteadyTime> Saturate(TokenBucket& bucket, SteadyTime end) {
  std::vector<SteadyTime> calls;
  SteadyTime t = kT0;
  while ((t = bucket.NextAvailable(t)) <= end) {
    if (!bucket.TryTake(t)) {
      ADD_FAILURE() << "no token at NextAvailable " << (t - kT0).count() << " ns";
      break;
    }
    calls.push_back(t);
  }
  return calls;
}

// The largest number of (sorted) calls in any half-open window (t - length, t].
int64_t MaxInWindow(const std::vector<SteadyTime>& calls, Nanos length) {
  int64_t most = 0;
  size_t first = 0;
  for (size_t last = 0; last < calls.size(); ++last) {
    while (calls[first] <= calls[last] - length) ++first;
    most = std::max(most, static_cast<int64_t>(last - first + 1));
  }
  return most;
}

void ExpectEveryWindowWithinBound(const std::vector<SteadyTime>& calls, const Case& c) {
  for (Nanos length : WindowLengths(c.rate)) {
    EXPECT_LE(MaxInWindow(calls, length), MaxAllowed(c.rate, c.burst, length))
        << Name(c) << ", window " << length.count() << " ns";
  }
}

SteadyTime SimulationEnd(const Rate& rate) {
  return kT0 + std::max<Nanos>(rate.period / rate.count * 4000, hours(6));
}

TEST(TokenBucketTest, NeverMoreThanBurstPlusRateInAnyWindowUnderSaturatingDemand) {
  for (const Case& c : kCases) {
    TokenBucket bucket(c.rate, c.burst);
    const std::vector<SteadyTime> calls = Saturate(bucket, SimulationEnd(c.rate));
    ExpectEveryWindowWithinBound(calls, c);
  }
}

TEST(TokenBucketTest, NeverMoreThanBurstPlusRateInAnyWindowUnderIrregularDemand) {
  std::mt19937_64 random(42);  // fixed seed: the same virtual arrivals every run
  for (const Case& c : kCases) {
    TokenBucket bucket(c.rate, c.burst);
    const Nanos interval = c.rate.period / c.rate.count;
    // Phases of dense demand (the bucket runs dry) alternate with sparse (it refills).
    std::uniform_int_distribution<int64_t> dense(0, interval.count() / 2);
    std::uniform_int_distribution<int64_t> sparse(0, 4 * interval.count());
    std::vector<SteadyTime> calls;
    const SteadyTime end = SimulationEnd(c.rate);
    SteadyTime t = kT0;
    for (int64_t attempt = 0; t < end; ++attempt) {
      if (bucket.TryTake(t)) calls.push_back(t);
      t += Nanos(attempt / 500 % 2 == 0 ? dense(random) : sparse(random));
    }
    ExpectEveryWindowWithinBound(calls, c);
  }
}

TEST(TokenBucketTest, SaturatingDemandGetsAtLeastBurstPlusRateLessOneFromTheFirstCall) {
  for (const Case& c : kCases) {
    TokenBucket bucket(c.rate, c.burst);
    const std::vector<SteadyTime> calls = Saturate(bucket, SimulationEnd(c.rate));
    ASSERT_FALSE(calls.empty());
    for (Nanos length : WindowLengths(c.rate)) {
      const auto in_window =
          std::ranges::count_if(calls, [&](SteadyTime t) { return t < calls.front() + length; });
      const int64_t floor = static_cast<int64_t>(static_cast<Int128>(length.count()) *
                                                 c.rate.count / c.rate.period.count());
      EXPECT_GE(in_window, c.burst + floor - 1) << Name(c) << ", window " << length.count();
    }
  }
}

TEST(TokenBucketTest, SecondCallWaitsExactlyOneInterval) {
  TokenBucket bucket({5, minutes(1)}, 1);
  ASSERT_TRUE(bucket.TryTake(kT0));
  EXPECT_EQ(bucket.NextAvailable(kT0), kT0 + seconds(12));
  EXPECT_FALSE(bucket.TryTake(kT0 + seconds(12) - Nanos(1)));
  EXPECT_TRUE(bucket.TryTake(kT0 + seconds(12)));
  EXPECT_EQ(bucket.NextAvailable(kT0 + seconds(12)), kT0 + seconds(24));
}

TEST(TokenBucketTest, BurstGoesAtOnceThenOneInterval) {
  TokenBucket bucket({5, minutes(1)}, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.TryTake(kT0)) << i;
  EXPECT_FALSE(bucket.TryTake(kT0));
  EXPECT_EQ(bucket.NextAvailable(kT0), kT0 + seconds(12));
}

TEST(TokenBucketTest, NonIntegerIntervalDoesNotDrift) {
  // 7/min: call k goes at ceil(k * 60 s / 7), exactly, however many calls came before.
  TokenBucket bucket({7, minutes(1)}, 1);
  std::vector<SteadyTime> calls;
  SteadyTime t = kT0;
  for (int64_t k = 0; k < 7000; ++k) {
    t = bucket.NextAvailable(t);
    const int64_t exact_ns = (k * 60'000'000'000 + 6) / 7;
    ASSERT_EQ(t, kT0 + Nanos(exact_ns)) << "call " << k;
    ASSERT_TRUE(bucket.TryTake(t));
    calls.push_back(t);
  }
  EXPECT_EQ(calls[6], kT0 + Nanos(51'428'571'429));         // the 7th call: 6 intervals
  EXPECT_EQ(calls[7], kT0 + seconds(60));                   // the 8th call: 7 intervals
  EXPECT_EQ(calls[6999], kT0 + Nanos(59'991'428'571'429));  // the 7000th: 6999 intervals
  EXPECT_EQ(bucket.NextAvailable(t), kT0 + seconds(60'000));
}

TEST(TokenBucketTest, ScheduleRestartsExactlyAtACallAfterIdleness) {
  TokenBucket bucket({7, minutes(1)}, 1);
  ASSERT_TRUE(bucket.TryTake(kT0));
  const SteadyTime after_idle = kT0 + hours(1) + Nanos(1);
  ASSERT_TRUE(bucket.TryTake(after_idle));
  EXPECT_EQ(bucket.NextAvailable(after_idle), after_idle + Nanos(8'571'428'572));
}

TEST(TokenBucketTest, StaleOrBackwardsNowMintsNothing) {
  TokenBucket bucket({5, minutes(1)}, 1);
  ASSERT_TRUE(bucket.TryTake(kT0));
  EXPECT_FALSE(bucket.TryTake(kT0 - hours(1)));
  EXPECT_EQ(bucket.NextAvailable(kT0 - hours(1)), kT0 + seconds(12));
  EXPECT_FALSE(bucket.TryTake(kT0 + seconds(11)));
  EXPECT_FALSE(bucket.TryTake(kT0 - hours(2)));
  EXPECT_TRUE(bucket.TryTake(kT0 + seconds(12)));
}

TEST(TokenBucketTest, NextAvailableIsNeverBeforeTheLatestNow) {
  TokenBucket bucket({5, minutes(1)}, 1);
  ASSERT_TRUE(bucket.TryTake(kT0));
  EXPECT_EQ(bucket.NextAvailable(kT0 + hours(1)), kT0 + hours(1));
  EXPECT_EQ(bucket.NextAvailable(kT0), kT0 + hours(1));
}

TEST(TokenBucketTest, BackwardsNowAfterIdleDoesNotRefillTheBurst) {
  TokenBucket bucket({5, minutes(1)}, 3);
  const SteadyTime later = kT0 + hours(1);
  ASSERT_TRUE(bucket.TryTake(later));
  ASSERT_TRUE(bucket.TryTake(later));
  ASSERT_TRUE(bucket.TryTake(later));
  // An earlier clock reading is read as `later`: the burst is spent there.
  EXPECT_FALSE(bucket.TryTake(kT0));
  EXPECT_EQ(bucket.NextAvailable(kT0), later + seconds(12));
}

TEST(TokenBucketTest, BlockHoldsTokensUntilThenSpacesThemWithoutSavedBurst) {
  TokenBucket bucket({5, minutes(1)}, 3);
  const SteadyTime until = kT0 + minutes(10);
  bucket.Block(until);
  EXPECT_FALSE(bucket.TryTake(kT0));
  EXPECT_EQ(bucket.NextAvailable(kT0), until);
  EXPECT_FALSE(bucket.TryTake(until - Nanos(1)));
  EXPECT_TRUE(bucket.TryTake(until));
  EXPECT_FALSE(bucket.TryTake(until));
  EXPECT_EQ(bucket.NextAvailable(until), until + seconds(12));
}

TEST(TokenBucketTest, BlockEarlierThanTheScheduleChangesNothing) {
  TokenBucket bucket({5, minutes(1)}, 1);
  ASSERT_TRUE(bucket.TryTake(kT0));
  bucket.Block(kT0 + seconds(1));
  EXPECT_EQ(bucket.NextAvailable(kT0), kT0 + seconds(12));
}

TEST(RateLimiterTest, ConcurrentCallersGetExactlyTheBurst) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 100; ++round) {
    RateLimiter limiter({{5, minutes(1)}, {100, hours(1)}}, 3);
    std::latch start(kThreads);
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int call = 0; call < 10; ++call) {
          if (!limiter.TryAcquire(kT0)) granted.fetch_add(1);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(granted.load(), 3) << "round " << round;
  }
}

TEST(RateLimiterTest, FailedAcquireTakesFromNoBucket) {
  RateLimiter limiter({{1, seconds(1)}, {1, minutes(1)}});
  ASSERT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  // The per-second bucket has a token here, the per-minute one does not: take neither.
  EXPECT_EQ(limiter.TryAcquire(kT0 + milliseconds(59'500)), kT0 + seconds(60));
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(60)), std::nullopt);
}

std::vector<SteadyTime> SaturateLimiter(RateLimiter& limiter, SteadyTime end) {
  std::vector<SteadyTime> calls;
  SteadyTime t = kT0;
  while (t <= end) {
    if (std::optional<SteadyTime> retry = limiter.TryAcquire(t)) {
      EXPECT_GT(*retry, t);
      t = *retry;
    } else {
      calls.push_back(t);
    }
  }
  return calls;
}

TEST(RateLimiterTest, MultipleWindowsAreAllEnforced) {
  const Rate per_second{5, seconds(1)};
  const Rate per_minute{100, minutes(1)};
  RateLimiter limiter({per_second, per_minute}, 3);
  const std::vector<SteadyTime> calls = SaturateLimiter(limiter, kT0 + hours(1));
  EXPECT_LE(MaxInWindow(calls, seconds(1)), MaxAllowed(per_second, 3, seconds(1)));
  EXPECT_LE(MaxInWindow(calls, minutes(1)), MaxAllowed(per_minute, 3, minutes(1)));
  EXPECT_GE(calls.size(), 6000u);  // the slower window sets the pace, not something slower
}

TEST(RateLimiterTest, WhicheverWindowIsSlowerSetsThePaceInAnyOrder) {
  // 100/min (one per 600 ms) is slower than 5/s; 1000/min (one per 60 ms) is faster.
  const Rate five_per_second{5, seconds(1)};
  for (const auto& [windows, interval] : std::vector<std::pair<std::vector<Rate>, Nanos>>{
           {{five_per_second, {100, minutes(1)}}, milliseconds(600)},
           {{{100, minutes(1)}, five_per_second}, milliseconds(600)},
           {{five_per_second, {1000, minutes(1)}}, milliseconds(200)},
           {{{1000, minutes(1)}, five_per_second}, milliseconds(200)}}) {
    RateLimiter limiter(windows);
    ASSERT_EQ(limiter.TryAcquire(kT0), std::nullopt);
    EXPECT_EQ(limiter.TryAcquire(kT0), kT0 + interval);
  }
}

TEST(RateLimiterTest, StaleNowMintsNothing) {
  RateLimiter limiter({{5, minutes(1)}});
  ASSERT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 - hours(1)), kT0 + seconds(12));
}

TEST(RateLimiterTest, StaleNowIsReadAsTheLatestNow) {
  RateLimiter limiter({{5, minutes(1)}}, 2);
  ASSERT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  ASSERT_EQ(limiter.TryAcquire(kT0 + hours(1)), std::nullopt);
  // One token of the burst is left at kT0 + 1 h, the latest now: a stale now gets it...
  EXPECT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  // ...and nothing more.
  EXPECT_EQ(limiter.TryAcquire(kT0), kT0 + hours(1) + seconds(12));
}

TEST(RateLimiterTest, CoolDownBlocksEveryWindowWithoutSavedBurst) {
  RateLimiter limiter({{5, minutes(1)}, {100, hours(1)}}, 3);
  const SteadyTime until = kT0 + seconds(30);
  limiter.CoolDown(until);
  EXPECT_EQ(limiter.TryAcquire(kT0), until);
  EXPECT_EQ(limiter.TryAcquire(until), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(until), until + seconds(36));  // 100/h: one per 36 s
}

TEST(RateLimiterTest, CoolDownHoldsWhenUnlimited) {
  RateLimiter limiter({});
  EXPECT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  limiter.CoolDown(kT0 + seconds(5));
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(1)), kT0 + seconds(5));
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(5)), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(5)), std::nullopt);
}

TEST(RateLimiterTest, ThrottleSpacesCallsAtTwiceTheInterval) {
  RateLimiter limiter({{5, minutes(1)}}, 3);
  EXPECT_EQ(limiter.Spacing(), Nanos(0));
  const SteadyTime t = kT0 + minutes(5);  // idle: the whole burst is saved up
  EXPECT_EQ(limiter.OnThrottle(t), seconds(24));
  EXPECT_EQ(limiter.Spacing(), seconds(24));
  EXPECT_EQ(limiter.TryAcquire(t), t + seconds(24));
  EXPECT_EQ(limiter.TryAcquire(t + seconds(24) - Nanos(1)), t + seconds(24));
  EXPECT_EQ(limiter.TryAcquire(t + seconds(24)), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(t + seconds(24)), t + seconds(48));
}

TEST(RateLimiterTest, ThrottleSpacingDoublesUpToSixtySeconds) {
  RateLimiter limiter({{5, minutes(1)}});
  SteadyTime t = kT0;
  for (Nanos expected : {seconds(24), seconds(48), seconds(60), seconds(60)}) {
    EXPECT_EQ(limiter.OnThrottle(t), expected);
    EXPECT_EQ(limiter.TryAcquire(t), t + expected);
    t += minutes(10);
  }
}

TEST(RateLimiterTest, ThrottleSpacingAppliesWhenUnlimited) {
  RateLimiter limiter({});
  SteadyTime t = kT0;
  Nanos expected = milliseconds(100);  // twice the 50 ms floor
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(limiter.OnThrottle(t), expected) << i;
    EXPECT_EQ(limiter.TryAcquire(t), t + expected);
    EXPECT_EQ(limiter.TryAcquire(t + expected), std::nullopt);
    EXPECT_EQ(limiter.TryAcquire(t + expected), t + 2 * expected);
    expected = std::min<Nanos>(2 * expected, seconds(60));
    t += minutes(10);
  }
  EXPECT_EQ(limiter.Spacing(), seconds(60));
}

TEST(RateLimiterTest, RefundedCallLeavesTheScheduleAsIfNeverMade) {
  RateLimiter limiter({{5, minutes(1)}});
  EXPECT_EQ(limiter.TryAcquire(kT0), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(12)), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(13)), kT0 + seconds(24));
  limiter.Refund();  // the call at 12 s never left: the next may go in its place
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(13)), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 + seconds(14)), kT0 + seconds(25));
}

TEST(RateLimiterTest, RefundAfterIdleMintsNoBurst) {
  RateLimiter limiter({{5, minutes(1)}});
  EXPECT_EQ(limiter.TryAcquire(kT0 + minutes(10)), std::nullopt);
  limiter.Refund();
  limiter.Refund();  // more refunds than calls give nothing extra
  EXPECT_EQ(limiter.TryAcquire(kT0 + minutes(10)), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire(kT0 + minutes(10)), kT0 + minutes(10) + seconds(12));
}

const std::string kExpected =
    "; expected a comma list of N/s, N/min, N/h, N/day or unlimited (e.g. 5/min,25/day)";

TEST(ParseRateSpecTest, AcceptsValidSpecs) {
  const std::vector<std::pair<std::string, RateSpec>> table = {
      {"5/min", {{{5, minutes(1)}}, std::nullopt}},
      {"5/min,25/day", {{{5, minutes(1)}}, 25}},
      {" 5/S , 100/MIN ,\t25/Day ", {{{5, seconds(1)}, {100, minutes(1)}}, 25}},
      {"100/min,5/sec", {{{5, seconds(1)}, {100, minutes(1)}}, std::nullopt}},
      {"3/h", {{{3, hours(1)}}, std::nullopt}},
      {"2/HOUR,1/s", {{{1, seconds(1)}, {2, hours(1)}}, std::nullopt}},
      {"500/day", {{}, 500}},
      {"007/min", {{{7, minutes(1)}}, std::nullopt}},
      {"1000000000/s", {{{1'000'000'000, seconds(1)}}, std::nullopt}},
      {"unlimited", {}},
      {"  UnLimited ", {}},
  };
  for (const auto& [spec, expected] : table) {
    const Result<RateSpec> parsed = ParseRateSpec(spec);
    ASSERT_TRUE(parsed.has_value()) << spec << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, expected) << spec;
  }
}

TEST(ParseRateSpecTest, RejectsBadSpecsWithSpecificMessages) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"", "no rate given"},
      {"  ", "no rate given"},
      {"abc", "'abc' is not N/unit"},
      {"/min", "'/min' is not N/unit"},
      {"5/", "'5/' is not N/unit"},
      {"5/min,", "empty item in the comma list"},
      {",5/min", "empty item in the comma list"},
      {"0/min", "'0/min' must allow at least one call"},
      {"000/s", "'000/s' must allow at least one call"},
      {"-5/min", "'-5' is not a positive integer in '-5/min'"},
      {"+5/min", "'+5' is not a positive integer in '+5/min'"},
      {"5x/min", "'5x' is not a positive integer in '5x/min'"},
      {"5 /min", "'5 ' is not a positive integer in '5 /min'"},
      {"1000000001/s", "'1000000001/s' is too large (at most 1000000000 calls per unit)"},
      {"99999999999999999999999/min",
       "'99999999999999999999999/min' is too large (at most 1000000000 calls per unit)"},
      {"5/week", "unknown unit 'week' in '5/week'"},
      {"5/min,3/MIN", "'/min' given twice"},
      {"1/s,2/sec", "'/s' given twice"},
      {"1/h,2/hour", "'/h' given twice"},
      {"5/day,6/Day", "'/day' given twice"},
      {"5/min,unlimited", "'unlimited' cannot be combined with limits"},
  };
  for (const auto& [spec, reason] : table) {
    const Result<RateSpec> parsed = ParseRateSpec(spec);
    ASSERT_FALSE(parsed.has_value()) << spec;
    EXPECT_EQ(parsed.error().message, "bad --rate '" + spec + "': " + reason + kExpected);
  }
}

}  // namespace
}  // namespace mdfetch
