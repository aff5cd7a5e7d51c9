// The health check: the series-level findings (failing, limited), timestamps and OHLC sanity,
// and CheckSeries, which runs every check. Calendar gaps are in health_gaps.cc, suspect values
// in health_values.cc.
#include "mdfetch/health.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <utility>

#include "health_internal.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"

namespace mdfetch {
namespace health {
namespace {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;

int Digits(std::string_view s) {
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// A bar's timestamp as a Point; false when it is not what the series writes.
bool ParseTs(const SeriesKey& key, const Bar& bar, Point& point) {
  const bool intraday = key.function == Function::kIntraday;
  if (bar.ts.size() != (intraday ? 19u : 10u)) return false;
  const std::optional<Date> day = ParseDate(bar.ts);
  if (!day) return false;
  point.bar = &bar;
  point.day = sys_days{*day};
  point.time = minutes(0);
  if (intraday) {
    const std::string_view ts = bar.ts;
    point.time = minutes(Digits(ts.substr(11, 2)) * 60 + Digits(ts.substr(14, 2)));
  }
  return true;
}

}  // namespace

std::string DayText(sys_days day) { return FormatDate(Date{day}); }

std::string PriceText(double price) {
  const double rounded = std::round(price * 1e6) / 1e6;
  return fmt::format("{}", std::isfinite(rounded) ? rounded : price);
}

void Findings::Add(FindingKind kind, std::string first_ts, std::string last_ts,
                   std::string message) {
  all_.push_back(Finding{kind, std::move(first_ts), std::move(last_ts), std::move(message)});
}

std::vector<Finding> Findings::Take(size_t max_per_kind) {
  std::stable_sort(all_.begin(), all_.end(), [](const Finding& a, const Finding& b) {
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.first_ts < b.first_ts;
  });
  if (max_per_kind == 0) return std::move(all_);
  std::vector<Finding> out;
  for (size_t i = 0; i < all_.size();) {
    size_t end = i;
    while (end < all_.size() && all_[end].kind == all_[i].kind) ++end;
    const size_t keep = std::min(end - i, max_per_kind);
    for (size_t k = i; k < i + keep; ++k) out.push_back(std::move(all_[k]));
    if (i + keep < end) {
      const Finding& first = all_[i + keep];
      const Finding& last = all_[end - 1];
      const std::string& upto = last.last_ts.empty() ? last.first_ts : last.last_ts;
      out.push_back(Finding{first.kind, first.first_ts, upto,
                            fmt::format("and {} more {} findings {}..{}", end - i - keep,
                                        FindingKindName(first.kind), first.first_ts, upto)});
    }
    i = end;
  }
  return out;
}

std::vector<Point> CheckOrder(const SeriesKey& key, std::span<const Bar> bars, Findings& out) {
  // Readable timestamps have one length, so (day, time) orders them as their text does.
  auto order = [](const Point& p) { return std::pair(p.day, p.time); };
  std::vector<Point> points;
  points.reserve(bars.size());
  bool sorted = true, unique = true;
  for (const Bar& bar : bars) {
    Point point;
    if (!ParseTs(key, bar, point)) {
      out.Add(FindingKind::kOrder, bar.ts, bar.ts,
              fmt::format("unreadable timestamp '{}'", bar.ts));
      continue;
    }
    if (!points.empty() && order(point) <= order(points.back())) {
      const std::string& previous = points.back().bar->ts;
      if (order(point) == order(points.back())) {
        out.Add(FindingKind::kOrder, bar.ts, bar.ts, fmt::format("duplicate bar {}", bar.ts));
        unique = false;
      } else {
        out.Add(FindingKind::kOrder, bar.ts, previous,
                fmt::format("bar {} comes after {} (out of order)", bar.ts, previous));
        sorted = false;
      }
    }
    points.push_back(point);
  }
  if (sorted && unique) return points;
  std::stable_sort(points.begin(), points.end(),
                   [&](const Point& a, const Point& b) { return order(a) < order(b); });
  auto same = [&](const Point& a, const Point& b) { return order(a) == order(b); };
  points.erase(std::unique(points.begin(), points.end(), same), points.end());
  return points;
}

namespace {

// kOhlc: what is wrong with one bar, "" when nothing is.
std::string OhlcProblems(const Bar& b) {
  std::string problems;
  auto add = [&](std::string text) {
    if (!problems.empty()) problems += ", ";
    problems += text;
  };
  const std::array<std::pair<std::string_view, double>, 4> prices{
      {{"open", b.open}, {"high", b.high}, {"low", b.low}, {"close", b.close}}};
  for (const auto& [name, value] : prices) {
    if (!(value > 0)) add(fmt::format("{} {} is not positive", name, value));
  }
  if (b.low > b.high) {
    add(fmt::format("high {} is below low {}", b.high, b.low));
  } else {
    if (b.low > b.open) add(fmt::format("low {} is above open {}", b.low, b.open));
    if (b.low > b.close) add(fmt::format("low {} is above close {}", b.low, b.close));
    if (b.high < b.open) add(fmt::format("high {} is below open {}", b.high, b.open));
    if (b.high < b.close) add(fmt::format("high {} is below close {}", b.high, b.close));
  }
  if (b.volume && *b.volume < 0) add(fmt::format("volume {} is negative", *b.volume));
  return problems;
}

void CheckOhlc(std::span<const Point> points, Findings& out) {
  for (const Point& p : points) {
    std::string problems = OhlcProblems(*p.bar);
    if (!problems.empty()) {
      out.Add(FindingKind::kOhlc, p.bar->ts, p.bar->ts, fmt::format("{}: {}", p.bar->ts, problems));
    }
  }
}

// The first whole minute at which the series stopped being up to date after its last success
// (closes fall on whole minutes): IsUpToDate only turns false as `now` moves on.
WallTime DueSince(const SeriesState& state, WallTime now) {
  const WallTime base = std::chrono::ceil<minutes>(*state.last_success_at);
  auto due_at = [&](int64_t k) { return !IsUpToDate(state.key, state, base + minutes(k)); };
  int64_t lo = -1;  // not due (or before the search)
  int64_t hi = std::max<int64_t>(std::chrono::ceil<minutes>(now - base).count(), 0);
  if (!due_at(hi)) return now;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (due_at(mid) ? hi : lo) = mid;
  }
  return base + minutes(hi);
}

// kFailing: due for longer than options.failing_for, and the last call did not store.
void CheckFailing(const SeriesState& state, WallTime now, const CheckOptions& options,
                  Findings& out) {
  if (state.last_outcome.empty() || state.last_outcome == "stored") return;
  if (IsUpToDate(state.key, state, now)) return;
  std::string last_call = state.last_attempt_at
                              ? fmt::format("the last call ({}) ended '{}'",
                                            FormatUtc(*state.last_attempt_at), state.last_outcome)
                              : fmt::format("the last call ended '{}'", state.last_outcome);
  if (!state.last_error.empty()) last_call += ": " + state.last_error;
  if (!state.last_success_at) {
    out.Add(FindingKind::kFailing, state.last_ts, state.last_ts,
            fmt::format("never stored: {}", last_call));
    return;
  }
  const WallTime due = DueSince(state, now);
  if (now - due <= options.failing_for) return;
  const auto days_due = std::chrono::floor<days>(now - due).count();
  out.Add(FindingKind::kFailing, state.last_ts, state.last_ts,
          fmt::format("due since {} ({} day{}), last stored {}; {}", FormatUtc(due), days_due,
                      days_due == 1 ? "" : "s", FormatUtc(*state.last_success_at), last_call));
}

void CheckLimited(const SeriesState& state, std::span<const Point> points, Findings& out) {
  if (!state.history_limited) return;
  const std::string first = points.empty() ? state.first_ts : points.front().bar->ts;
  out.Add(FindingKind::kLimited, first, first,
          fmt::format("history limited: it starts at {} because outputsize=full was refused "
                      "for this key (a compact answer holds the latest {} bars)",
                      first.empty() ? "no bar" : first, kCompactBars));
}

}  // namespace
}  // namespace health

std::string_view FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kFailing:
      return "failing";
    case FindingKind::kLimited:
      return "limited";
    case FindingKind::kOrder:
      return "order";
    case FindingKind::kGap:
      return "gap";
    case FindingKind::kOffCalendar:
      return "off-calendar";
    case FindingKind::kOhlc:
      return "ohlc";
    case FindingKind::kSuspectMove:
      return "suspect-move";
    case FindingKind::kSuspectAdjusted:
      return "suspect-adjusted";
  }
  return "?";
}

std::vector<Finding> CheckSeries(const SeriesState& state, std::span<const Bar> bars, WallTime now,
                                 const CheckOptions& options) {
  health::Findings out;
  const std::vector<health::Point> points = health::CheckOrder(state.key, bars, out);
  health::CheckFailing(state, now, options, out);
  health::CheckLimited(state, points, out);
  health::CheckCalendar(state.key, points, out);
  health::CheckOhlc(points, out);
  health::CheckMoves(state.key, points, options, out);
  health::CheckAdjusted(state.key, points, options, out);
  return out.Take(options.max_per_kind);
}

}  // namespace mdfetch
