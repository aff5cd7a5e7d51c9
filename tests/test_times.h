// The fixed moments the tests run at (virtual time: no test reads the wall clock).
#pragma once

#include <chrono>

#include "mdfetch/market_calendar.h"

namespace mdfetch {

inline const Date kLastSession{std::chrono::year{2026} / 11 / 20};  // a Friday

// Friday 2026-11-20, 22:00 UTC: an hour after that session's close.
inline WallTime FridayEvening() {
  return std::chrono::sys_days(kLastSession) + std::chrono::hours(22);
}

}  // namespace mdfetch
