// Pacing: the --rate spec, a token bucket per window, and the limiter that combines them.
//
// The token bucket is pure integer arithmetic over SteadyTime values handed in by the caller
// (a GCRA: it keeps the theoretical arrival time of the next token, scaled so that N calls per
// period is exact, with no rounding drift). It never reads a clock. With burst 1 calls are
// spread evenly, one every period/N, which is what a service counting calls in a sliding
// window of the same rate accepts without a single "slow down".
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "mdfetch/clock.h"
#include "mdfetch/result.h"

namespace mdfetch {

// N calls per period.
struct Rate {
  int64_t count = 0;
  Nanos period{0};
  bool operator==(const Rate&) const = default;
};

// A parsed --rate SPEC: a comma list of `N/s`, `N/min`, `N/h`, `N/day`, or `unlimited`.
// Per-second, per-minute and per-hour limits become token buckets; `N/day` is the daily
// quota, persisted in the store (a token bucket cannot hold "N per day" across restarts).
struct RateSpec {
  std::vector<Rate> windows;       // s, min, h
  std::optional<int64_t> per_day;  // the daily quota, if any
  bool operator==(const RateSpec&) const = default;
};

// Errors: "bad --rate 'SPEC': ..., expected a comma list of N/s, N/min, N/h, N/day or
// unlimited (e.g. 5/min,25/day)". N must be a positive integer.
Result<RateSpec> ParseRateSpec(std::string_view spec);

// One token bucket. Not thread-safe by itself (RateLimiter serialises it).
class TokenBucket {
 public:
  // `burst` >= 1 tokens may be taken at once after an idle period.
  TokenBucket(Rate rate, int64_t burst);

  // The earliest time >= now at which a token is available. A `now` earlier than any `now`
  // seen before is treated as that latest `now`: time never runs backwards in the bucket,
  // so a stale or backwards clock mints nothing.
  SteadyTime NextAvailable(SteadyTime now);
  // Takes a token if one is available at `now`; false (and no change) otherwise.
  bool TryTake(SteadyTime now);
  // No token is handed out before `until` (a cool-down after the service said "slow down").
  void Block(SteadyTime until);
  // Gives back the latest token taken, for a call that never left this machine: the schedule
  // moves back by one interval, as if that call had not been made. Never more than taken.
  void Refund();

 private:
  // Plain __int128 trips -Wpedantic; __extension__ marks it as the deliberate GCC extension.
  __extension__ using Int128 = __int128;

  // Times are nanoseconds since the epoch of SteadyTime, scaled by rate.count so that the
  // emission interval period/count is an exact integer (period).
  Int128 Scaled(SteadyTime t) const;
  // The earliest SteadyTime whose scaled value is >= `scaled` (rounds up to whole ns).
  SteadyTime Unscaled(Int128 scaled) const;
  // Clamps `now` to the latest `now` seen and returns it scaled.
  Int128 Observe(SteadyTime now);

  Rate rate_;
  int64_t burst_;
  Int128 tolerance_ = 0;  // (burst - 1) intervals: how far ahead of tat_ a call may go
  Int128 tat_ = 0;        // theoretical arrival time of the next token, scaled
  bool has_tat_ = false;  // false until the first call or Block(): the bucket starts full
  Int128 latest_now_ = 0;
  bool started_ = false;  // latest_now_ is valid
};

// All the --rate windows at once; thread-safe. A call may go when every bucket has a token.
class RateLimiter {
 public:
  explicit RateLimiter(const std::vector<Rate>& windows, int64_t burst = 1);

  // Takes a token from every bucket if all have one at `now` and returns nullopt; otherwise
  // takes nothing and returns the earliest time worth trying again.
  std::optional<SteadyTime> TryAcquire(SteadyTime now);
  // Gives one token back to every bucket (TokenBucket::Refund): the call it paid for never
  // reached the service, so it does not count against any window.
  void Refund();
  // Blocks every bucket until `until`.
  void CoolDown(SteadyTime until);
  // The service said "slow down" although every window had a token: the configured rate is
  // more than the service accepts. From now on calls are also spaced at least Spacing()
  // apart, where the spacing becomes twice the current effective interval (the largest of
  // every window's period/count, the current spacing, and 50 ms), capped at 60 s; nothing
  // goes before now + the new spacing. Returns the new spacing. Repeated throttles therefore
  // settle the pace at what the service accepts in O(log) throttled calls.
  Nanos OnThrottle(SteadyTime now);
  Nanos Spacing();

 private:
  // Clamps `now` to the latest `now` seen, so every bucket judges the same instant.
  SteadyTime Observe(SteadyTime now);
  template <typename Fn>
  void ForEachBucket(Fn fn);

  std::mutex mu_;
  std::vector<TokenBucket> buckets_;
  std::vector<Rate> windows_;
  Nanos spacing_{0};
  std::optional<TokenBucket> spacing_bucket_;
  // CoolDown() also holds when there is no bucket at all (`unlimited`, never throttled).
  std::optional<SteadyTime> blocked_until_;
  std::optional<SteadyTime> latest_now_;
};

}  // namespace mdfetch
