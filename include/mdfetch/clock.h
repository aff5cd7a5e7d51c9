// Clock: the one seam for time.
//
// Now() is monotonic and paces calls; WallNow() is the calendar time used only for what must
// survive a restart or follow the market's calendar (the daily quota, freshness of a series).
// SleepUntil() blocks the calling thread until Now() >= deadline. The real clock sleeps; the
// fake clock (tests/fake_clock.h) advances virtual time and records every wait, so no unit
// test ever sleeps. Implementations are thread-safe.
#pragma once

#include <chrono>

namespace mdfetch {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Nanos = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() = 0;
  virtual WallTime WallNow() = 0;
  virtual void SleepUntil(SteadyTime deadline) = 0;
};

// The process's real clocks: std::chrono::steady_clock and system_clock.
class RealClock final : public Clock {
 public:
  SteadyTime Now() override;
  WallTime WallNow() override;
  void SleepUntil(SteadyTime deadline) override;
};

}  // namespace mdfetch
