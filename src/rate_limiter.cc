#include "mdfetch/rate_limiter.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <string>
#include <utility>

namespace mdfetch {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Large enough for any real service, small enough that scaled times (ns * count) and
// tolerances stay far inside __int128.
constexpr int64_t kMaxCount = 1'000'000'000;
constexpr Nanos kMinSpacing = milliseconds(50);
constexpr Nanos kMaxSpacing = seconds(60);

struct Unit {
  std::string_view name;
  std::string_view canonical;
  Nanos period;
};

constexpr std::array<Unit, 6> kUnits = {{
    {"s", "s", seconds(1)},
    {"sec", "s", seconds(1)},
    {"min", "min", minutes(1)},
    {"h", "h", hours(1)},
    {"hour", "h", hours(1)},
    {"day", "day", days(1)},
}};

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

const Unit* FindUnit(std::string_view name) {
  const std::string lower = Lower(name);
  for (const Unit& unit : kUnits) {
    if (unit.name == lower) return &unit;
  }
  return nullptr;
}

// One parsed `N/unit` item, or the reason it is not one.
struct Item {
  int64_t count = 0;
  const Unit* unit = nullptr;
};

Result<Item> ParseItem(std::string_view item) {
  const size_t slash = item.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == item.size()) {
    return Fail(Quoted(item) + " is not N/unit");
  }
  const std::string_view digits = item.substr(0, slash);
  const std::string_view unit_name = item.substr(slash + 1);
  if (!std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(Quoted(digits) + " is not a positive integer in " + Quoted(item));
  }
  Item parsed;
  for (char c : digits) {
    parsed.count = parsed.count * 10 + (c - '0');
    if (parsed.count > kMaxCount) {
      return Fail(Quoted(item) + " is too large (at most " + std::to_string(kMaxCount) +
                  " calls per unit)");
    }
  }
  if (parsed.count == 0) return Fail(Quoted(item) + " must allow at least one call");
  parsed.unit = FindUnit(unit_name);
  if (parsed.unit == nullptr) {
    return Fail("unknown unit " + Quoted(unit_name) + " in " + Quoted(item));
  }
  return parsed;
}

// Parses the comma list; errors carry only the reason, ParseRateSpec adds the frame.
Result<RateSpec> ParseItems(std::string_view spec) {
  if (Trim(spec).empty()) return Fail("no rate given");
  if (Lower(Trim(spec)) == "unlimited") return RateSpec{};
  RateSpec parsed;
  std::vector<std::string_view> seen_units;
  while (true) {
    const size_t comma = spec.find(',');
    const std::string_view item = Trim(spec.substr(0, comma));
    if (item.empty()) return Fail("empty item in the comma list");
    if (Lower(item) == "unlimited") return Fail("'unlimited' cannot be combined with limits");
    Result<Item> one = ParseItem(item);
    if (!one) return std::unexpected(one.error());
    if (std::ranges::find(seen_units, one->unit->canonical) != seen_units.end()) {
      return Fail("'/" + std::string(one->unit->canonical) + "' given twice");
    }
    seen_units.push_back(one->unit->canonical);
    if (one->unit->period == days(1)) {
      parsed.per_day = one->count;
    } else {
      parsed.windows.push_back(Rate{one->count, one->unit->period});
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  // Shortest window first, so equal limits written in another order compare equal.
  std::ranges::sort(parsed.windows, {}, &Rate::period);
  return parsed;
}

// ceil(a / b) for b > 0, correct for negative a too.
__extension__ __int128 CeilDiv(__int128 a, __int128 b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

}  // namespace

Result<RateSpec> ParseRateSpec(std::string_view spec) {
  Result<RateSpec> parsed = ParseItems(spec);
  if (parsed) return parsed;
  return Fail("bad --rate '" + std::string(spec) + "': " + parsed.error().message +
              "; expected a comma list of N/s, N/min, N/h, N/day or unlimited (e.g. "
              "5/min,25/day)");
}

TokenBucket::TokenBucket(Rate rate, int64_t burst)
    : rate_{std::max<int64_t>(rate.count, 1), std::max(rate.period, Nanos(1))},
      burst_(std::max<int64_t>(burst, 1)) {
  // Scaled by count, one emission interval is exactly `period` units.
  tolerance_ = Int128{burst_ - 1} * rate_.period.count();
}

TokenBucket::Int128 TokenBucket::Scaled(SteadyTime t) const {
  const Int128 ns = std::chrono::duration_cast<Nanos>(t.time_since_epoch()).count();
  return ns * rate_.count;
}

SteadyTime TokenBucket::Unscaled(Int128 scaled) const {
  return SteadyTime{} + Nanos(static_cast<int64_t>(CeilDiv(scaled, rate_.count)));
}

TokenBucket::Int128 TokenBucket::Observe(SteadyTime now) {
  const Int128 scaled = Scaled(now);
  if (!started_ || scaled > latest_now_) latest_now_ = scaled;
  started_ = true;
  if (!has_tat_) {
    // A fresh bucket is full: the whole burst may go right now.
    tat_ = latest_now_;
    has_tat_ = true;
  }
  return latest_now_;
}

SteadyTime TokenBucket::NextAvailable(SteadyTime now) {
  const Int128 scaled_now = Observe(now);
  return Unscaled(std::max(scaled_now, tat_ - tolerance_));
}

bool TokenBucket::TryTake(SteadyTime now) {
  const Int128 scaled_now = Observe(now);
  if (scaled_now < tat_ - tolerance_) return false;
  // Callers can only arrive on whole nanoseconds, so a token due at a fractional instant is
  // taken up to one ns (count scaled units) late. Such a call is on time: the schedule
  // continues from tat_, not from now, or 7/min would drift by a fraction of a ns per call.
  // Only a bucket idle for longer restarts its schedule at now.
  const Int128 base = scaled_now >= tat_ + rate_.count ? scaled_now : tat_;
  tat_ = base + rate_.period.count();
  return true;
}

void TokenBucket::Block(SteadyTime until) {
  // The first token goes at `until`; the tolerance is used up, so the burst saved up during
  // the block is gone and the following tokens come one interval apart.
  const Int128 blocked_tat = Scaled(until) + tolerance_;
  if (!has_tat_ || blocked_tat > tat_) tat_ = blocked_tat;
  has_tat_ = true;
}

void TokenBucket::Refund() {
  if (has_tat_) tat_ -= rate_.period.count();
}

RateLimiter::RateLimiter(const std::vector<Rate>& windows, int64_t burst) : windows_(windows) {
  buckets_.reserve(windows.size());
  for (const Rate& rate : windows) buckets_.emplace_back(rate, burst);
}

SteadyTime RateLimiter::Observe(SteadyTime now) {
  if (!latest_now_ || now > *latest_now_) latest_now_ = now;
  return *latest_now_;
}

template <typename Fn>
void RateLimiter::ForEachBucket(Fn fn) {
  for (TokenBucket& bucket : buckets_) fn(bucket);
  if (spacing_bucket_) fn(*spacing_bucket_);
}

std::optional<SteadyTime> RateLimiter::TryAcquire(SteadyTime now) {
  std::lock_guard lock(mu_);
  now = Observe(now);
  SteadyTime ready = std::max(now, blocked_until_.value_or(now));
  ForEachBucket([&](TokenBucket& bucket) { ready = std::max(ready, bucket.NextAvailable(now)); });
  if (ready > now) return ready;
  // Every bucket has a token at `now` and nothing else runs under the lock: all takes succeed.
  ForEachBucket([&](TokenBucket& bucket) { bucket.TryTake(now); });
  return std::nullopt;
}

void RateLimiter::Refund() {
  std::lock_guard lock(mu_);
  ForEachBucket([](TokenBucket& bucket) { bucket.Refund(); });
}

void RateLimiter::CoolDown(SteadyTime until) {
  std::lock_guard lock(mu_);
  blocked_until_ = std::max(until, blocked_until_.value_or(until));
  ForEachBucket([&](TokenBucket& bucket) { bucket.Block(until); });
}

Nanos RateLimiter::OnThrottle(SteadyTime now) {
  std::lock_guard lock(mu_);
  now = Observe(now);
  // Twice each candidate interval, with period/count rounded up: a spacing a fraction of a ns
  // too long is harmless, one too short is not.
  Nanos doubled = std::max(2 * spacing_, 2 * kMinSpacing);
  for (const Rate& rate : windows_) {
    const int64_t count = std::max<int64_t>(rate.count, 1);
    doubled = std::max(doubled, Nanos((2 * rate.period.count() + count - 1) / count));
  }
  spacing_ = std::min(doubled, kMaxSpacing);
  spacing_bucket_.emplace(Rate{1, spacing_}, 1);
  spacing_bucket_->Block(now + spacing_);
  return spacing_;
}

Nanos RateLimiter::Spacing() {
  std::lock_guard lock(mu_);
  return spacing_;
}

}  // namespace mdfetch
