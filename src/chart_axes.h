// Chart axes: where the ticks of a chart go and what they say, and how values map to pixels.
// Pure functions of their arguments, thread-safe; no I/O.
//
// The value axis gets "nice" ticks (1, 2 or 5 times a power of ten) on a linear scale, and
// powers of ten with their 2x and 5x (or nice linear ticks when the range is under a decade)
// on a log scale. The time axis is ordinal: bar i sits at slot i whatever its timestamp, so
// weekends, holidays and nights leave no hole; its ticks are the bars that open a calendar
// period (a year, a quarter, a month, a week, a day, an hour, ...), the finest period that
// gives at most the number of labels asked for.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mdfetch {

// Maps [lo, hi] of the data onto [pixel_lo, pixel_hi] (pixel_lo may be greater than
// pixel_hi: a y axis grows upwards). A log scale maps log10 of the values; values <= 0 then
// map as the smallest positive value, lo. lo == hi maps everything to the middle.
struct Scale {
  double lo = 0;
  double hi = 1;
  double pixel_lo = 0;
  double pixel_hi = 1;
  bool log = false;

  double Map(double v) const;
};

// The step of NiceTicks: 1, 2 or 5 x 10^k, the smallest such that (hi - lo) / step is at most
// max_ticks. max_ticks < 1 counts as 1; hi <= lo gives 0.
double NiceStep(double lo, double hi, int max_ticks);

// The multiples of NiceStep(lo, hi, max_ticks) inside [lo, hi], ascending. Empty when
// hi <= lo or either is not finite.
std::vector<double> NiceTicks(double lo, double hi, int max_ticks);

// Ticks of a log scale inside [lo, hi] (both > 0), ascending: the powers of ten, then 2x and
// 5x of them while that keeps at most max_ticks; for a range of less than a decade (or too few
// powers inside it), NiceTicks. Empty when lo <= 0 or hi <= lo.
std::vector<double> LogTicks(double lo, double hi, int max_ticks);

// A tick value as a label: as many decimals as `step` needs (step 0.05 -> "12.35", step 50
// -> "1250"), at most 6; no "-0".
std::string TickLabel(double value, double step);

// The ticks of a value axis with their labels: NiceTicks labelled with TickLabel(v, step) on
// a linear scale; on a log scale LogTicks, each labelled with the decimals it needs.
struct ValueTick {
  double value = 0;
  std::string label;

  bool operator==(const ValueTick&) const = default;
};
std::vector<ValueTick> ValueTicks(double lo, double hi, int max_ticks, bool log);

// A volume as a person reads it: 950, 12.3K, 4.5M, 1.2B.
std::string ShortCount(double v);

// One tick of the time axis: the bar it stands at and its label ("2024", "Mar", "Mar 5",
// "10:30").
struct TimeTick {
  size_t index = 0;
  std::string label;

  bool operator==(const TimeTick&) const = default;
};

// The ticks of an ordinal time axis over `timestamps` ("YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS",
// oldest first): the bars where a new period begins (never the first bar), for the finest
// period in 5, 15 and 30 minutes; 1, 2 and 4 hours; a day; a week (from Monday); 1, 3 and 6
// months; 1, 2, 5, 10, 20 and 50 years that gives at most max_ticks ticks (the coarsest when
// none does; periods within a day only for timestamps with a time of day).
// Labels: years "2024"; months "Mar", January as "Jan 2024"; days and weeks "Mar 5";
// within a day "10:30", the first bar of each day "Mar 5". Unreadable timestamps open no
// period.
std::vector<TimeTick> TimeTicks(std::span<const std::string> timestamps, int max_ticks);

// The same, over anything with a `ts` member (bars): its timestamps copied once.
template <typename Bars>
std::vector<TimeTick> TimeTicksOf(const Bars& bars, int max_ticks) {
  std::vector<std::string> ts;
  ts.reserve(bars.size());
  for (const auto& b : bars) ts.push_back(b.ts);
  return TimeTicks(ts, max_ticks);
}

}  // namespace mdfetch
