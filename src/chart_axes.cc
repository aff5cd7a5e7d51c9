#include "chart_axes.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>

namespace mdfetch {
namespace {

// Tolerance of comparisons against tick positions computed in floating point.
constexpr double kEpsilon = 1e-9;

double Transform(double v, const Scale& s) {
  if (!s.log) return v;
  return std::log10(std::max(v, s.lo > 0 ? s.lo : 1e-12));
}

}  // namespace

double Scale::Map(double v) const {
  const double a = Transform(lo, *this), b = Transform(hi, *this);
  if (!(b > a)) return (pixel_lo + pixel_hi) / 2;
  return pixel_lo + (Transform(v, *this) - a) / (b - a) * (pixel_hi - pixel_lo);
}

double NiceStep(double lo, double hi, int max_ticks) {
  if (!(hi > lo) || !std::isfinite(hi - lo)) return 0;
  const double raw = (hi - lo) / std::max(max_ticks, 1);
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw * (1 - kEpsilon)) return m * magnitude;
  }
  return 10 * magnitude;
}

std::vector<double> NiceTicks(double lo, double hi, int max_ticks) {
  std::vector<double> ticks;
  const double step = NiceStep(lo, hi, max_ticks);
  if (step <= 0) return ticks;
  // Integer multiples of the step: no drift from adding it again and again.
  const auto first = static_cast<long long>(std::ceil(lo / step - kEpsilon));
  const auto last = static_cast<long long>(std::floor(hi / step + kEpsilon));
  for (long long k = first; k <= last; ++k) {
    const double v = static_cast<double>(k) * step;
    ticks.push_back(v == 0 ? 0 : v);  // never -0
  }
  return ticks;
}

std::vector<double> LogTicks(double lo, double hi, int max_ticks) {
  if (!(lo > 0) || !(hi > lo)) return {};
  const auto first = static_cast<int>(std::floor(std::log10(lo)));
  const auto last = static_cast<int>(std::ceil(std::log10(hi)));
  std::vector<double> powers, with_2_5;
  for (int p = first; p <= last; ++p) {
    const double power = std::pow(10, p);
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * power;
      if (v < lo * (1 - kEpsilon) || v > hi * (1 + kEpsilon)) continue;
      with_2_5.push_back(v);
      if (m == 1) powers.push_back(v);
    }
  }
  if (powers.size() < 2) return NiceTicks(lo, hi, max_ticks);
  if (with_2_5.size() <= static_cast<size_t>(max_ticks)) return with_2_5;
  if (powers.size() <= static_cast<size_t>(max_ticks)) return powers;
  // Every k-th power of ten.
  const size_t stride = (powers.size() + static_cast<size_t>(max_ticks) - 1) /
                        static_cast<size_t>(std::max(max_ticks, 1));
  std::vector<double> thinned;
  for (size_t i = 0; i < powers.size(); i += stride) thinned.push_back(powers[i]);
  return thinned;
}

std::string TickLabel(double value, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) {
    decimals = std::min(6, static_cast<int>(std::ceil(-std::log10(step) - kEpsilon)));
  }
  std::string out = fmt::format("{:.{}f}", value, decimals);
  if (out.starts_with('-') && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::vector<ValueTick> ValueTicks(double lo, double hi, int max_ticks, bool log) {
  std::vector<ValueTick> out;
  if (!log) {
    const double step = NiceStep(lo, hi, max_ticks);
    for (double v : NiceTicks(lo, hi, max_ticks)) out.push_back({v, TickLabel(v, step)});
    return out;
  }
  const std::vector<double> values = LogTicks(lo, hi, max_ticks);
  // Within a decade LogTicks falls back on NiceTicks, whose step the labels need.
  const double nice_step = NiceStep(lo, hi, max_ticks);
  const bool nice = values == NiceTicks(lo, hi, max_ticks);
  for (double v : values) {
    const double own = std::pow(10, std::floor(std::log10(v) + kEpsilon));
    out.push_back({v, TickLabel(v, nice ? nice_step : own)});
  }
  return out;
}

std::string ShortCount(double v) {
  const double a = std::fabs(v);
  auto with = [&](double unit, char suffix) {
    std::string text = fmt::format("{:.1f}", v / unit);
    if (text.ends_with(".0")) text.resize(text.size() - 2);
    return text + suffix;
  };
  if (a >= 1e9) return with(1e9, 'B');
  if (a >= 1e6) return with(1e6, 'M');
  if (a >= 1e3) return with(1e3, 'K');
  return fmt::format("{:.0f}", v);
}

namespace {

// A timestamp's calendar fields; minute is -1 for a date alone.
struct Stamp {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  int minute = -1;  // of the day
  long days = 0;    // since 1970-01-01
};

std::optional<int> Digits(std::string_view text, size_t at, size_t n) {
  if (text.size() < at + n) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + n, v);
  if (ec != std::errc() || end != text.data() + at + n) return std::nullopt;
  return v;
}

std::optional<Stamp> ParseStamp(std::string_view ts) {
  auto y = Digits(ts, 0, 4), m = Digits(ts, 5, 2), d = Digits(ts, 8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*y),
                                         std::chrono::month(static_cast<unsigned>(*m)),
                                         std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) return std::nullopt;
  Stamp s{*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d), -1,
          std::chrono::sys_days(date).time_since_epoch().count()};
  if (ts.size() >= 16) {
    auto h = Digits(ts, 11, 2), min = Digits(ts, 14, 2);
    if (h && min) s.minute = *h * 60 + *min;
  }
  return s;
}

enum class Unit { kMinutes, kDay, kWeek, kMonth, kYear };
struct Period {
  Unit unit;
  int n;
};
constexpr std::array kPeriods = {
    Period{Unit::kMinutes, 5},  Period{Unit::kMinutes, 15}, Period{Unit::kMinutes, 30},
    Period{Unit::kMinutes, 60}, Period{Unit::kMinutes, 120}, Period{Unit::kMinutes, 240},
    Period{Unit::kDay, 1},      Period{Unit::kWeek, 1},      Period{Unit::kMonth, 1},
    Period{Unit::kMonth, 3},    Period{Unit::kMonth, 6},     Period{Unit::kYear, 1},
    Period{Unit::kYear, 2},     Period{Unit::kYear, 5},      Period{Unit::kYear, 10},
    Period{Unit::kYear, 20},    Period{Unit::kYear, 50}};

long FloorDiv(long a, long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// Which period of `p` the stamp falls in; equal keys: the same period.
long Key(const Stamp& s, Period p) {
  switch (p.unit) {
    case Unit::kMinutes:
      return s.days * 1440 + std::max(s.minute, 0) / p.n;
    case Unit::kDay:
      return s.days;
    case Unit::kWeek:
      return FloorDiv(s.days + 3, 7);  // 1970-01-01 was a Thursday: weeks from Monday
    case Unit::kMonth:
      return FloorDiv(s.year * 12L + static_cast<long>(s.month) - 1, p.n);
    case Unit::kYear:
      return FloorDiv(s.year, p.n);
  }
  return 0;
}

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string Label(const Stamp& s, const Stamp& previous, Period p, bool first_tick) {
  const char* month = kMonths[s.month - 1];
  switch (p.unit) {
    case Unit::kYear:
      return fmt::format("{}", s.year);
    case Unit::kMonth:
      return s.month == 1 || first_tick ? fmt::format("{} {}", month, s.year) : month;
    case Unit::kMinutes:
      if (s.days == previous.days) {
        return fmt::format("{:02}:{:02}", std::max(s.minute, 0) / 60, std::max(s.minute, 0) % 60);
      }
      [[fallthrough]];
    case Unit::kDay:
    case Unit::kWeek:
      return fmt::format("{} {}", month, s.day);
  }
  return {};
}

}  // namespace

std::vector<TimeTick> TimeTicks(std::span<const std::string> timestamps, int max_ticks) {
  std::vector<std::optional<Stamp>> stamps;
  stamps.reserve(timestamps.size());
  bool timed = false;
  for (const std::string& ts : timestamps) {
    stamps.push_back(ParseStamp(ts));
    timed = timed || (stamps.back() && stamps.back()->minute >= 0);
  }
  // The indexes where a period of `p` begins.
  auto starts = [&](Period p) {
    std::vector<size_t> at;
    for (size_t i = 1; i < stamps.size(); ++i) {
      if (stamps[i] && stamps[i - 1] && Key(*stamps[i], p) != Key(*stamps[i - 1], p)) {
        at.push_back(i);
      }
    }
    return at;
  };
  std::vector<size_t> chosen;
  Period period = kPeriods.back();
  for (Period p : kPeriods) {
    if (p.unit == Unit::kMinutes && !timed) continue;
    chosen = starts(p);
    period = p;
    if (chosen.size() <= static_cast<size_t>(std::max(max_ticks, 0))) break;
  }
  std::vector<TimeTick> ticks;
  for (size_t i : chosen) {
    ticks.push_back({i, Label(*stamps[i], *stamps[i - 1], period, ticks.empty())});
  }
  return ticks;
}

}  // namespace mdfetch
