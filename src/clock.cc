#include "mdfetch/clock.h"

#include <thread>

namespace mdfetch {

SteadyTime RealClock::Now() { return std::chrono::steady_clock::now(); }

WallTime RealClock::WallNow() { return std::chrono::system_clock::now(); }

void RealClock::SleepUntil(SteadyTime deadline) { std::this_thread::sleep_until(deadline); }

}  // namespace mdfetch
