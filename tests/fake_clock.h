// FakeClock: virtual time for tests. SleepUntil() never blocks: it moves virtual time
// forward to the deadline (never backwards) and records the wait.
#pragma once

#include <mutex>
#include <vector>

#include "mdfetch/clock.h"

namespace mdfetch {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall_start = WallTime{} + std::chrono::hours(24 * 20000))
      : wall_start_(wall_start) {}

  SteadyTime Now() override {
    std::lock_guard lock(mu_);
    return now_;
  }
  WallTime WallNow() override {
    std::lock_guard lock(mu_);
    return wall_start_ + std::chrono::duration_cast<WallTime::duration>(now_ - SteadyTime{});
  }
  void SleepUntil(SteadyTime deadline) override {
    std::lock_guard lock(mu_);
    waits_.push_back(deadline - now_);
    if (deadline > now_) now_ = deadline;
  }
  void Advance(Nanos d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void Set(SteadyTime t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  std::vector<Nanos> Waits() {
    std::lock_guard lock(mu_);
    return waits_;
  }

 private:
  std::mutex mu_;
  SteadyTime now_{};
  WallTime wall_start_;
  std::vector<Nanos> waits_;
};

}  // namespace mdfetch
