// Private to the health check (src/health*.cc): the bars in order, the finding collector, and
// the checks each file implements. Each check appends to a Findings; CheckSeries orders them.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "mdfetch/health.h"
#include "mdfetch/series.h"

namespace mdfetch::health {

// One bar with a readable timestamp, as the checks after kOrder see it: in ts order, each ts
// once.
struct Point {
  const Bar* bar = nullptr;
  std::chrono::sys_days day;
  std::chrono::minutes time{0};  // since midnight (intraday); 0 for a date
};

class Findings {
 public:
  void Add(FindingKind kind, std::string first_ts, std::string last_ts, std::string message);
  // Every finding in FindingKind order, oldest first within a kind; past `max_per_kind` (0: no
  // limit) the rest of a kind become one summary finding.
  std::vector<Finding> Take(size_t max_per_kind);

 private:
  std::vector<Finding> all_;
};

// kOrder: reports duplicate, out-of-order and unreadable timestamps ("YYYY-MM-DD", or
// "YYYY-MM-DD HH:MM:SS" for intraday) and returns the readable bars sorted, each ts once (the
// first of duplicates).
std::vector<Point> CheckOrder(const SeriesKey& key, std::span<const Bar> bars, Findings& out);

// kGap and kOffCalendar (health_gaps.cc).
void CheckCalendar(const SeriesKey& key, std::span<const Point> points, Findings& out);

// kSuspectMove and kSuspectAdjusted (health_values.cc).
void CheckMoves(const SeriesKey& key, std::span<const Point> points, const CheckOptions& options,
                Findings& out);
void CheckAdjusted(const SeriesKey& key, std::span<const Point> points, const CheckOptions& options,
                   Findings& out);

// "2024-03-05".
std::string DayText(std::chrono::sys_days day);

// A price in a message: rounded to 6 decimals, shortest form ("17867.85", not the
// "17867.850000000002" an adjusted price can come to).
std::string PriceText(double price);

}  // namespace mdfetch::health
