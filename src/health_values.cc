// The health check of values: close-to-close moves far outside the series' own distribution
// (kSuspectMove) and adjusted closes that disagree with the recorded dividends and splits
// (kSuspectAdjusted). Reported, never repaired.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "health_internal.h"

namespace mdfetch::health {
namespace {

// A price ratio num/den that is no market move: a split (1/2, 2/3), a reverse split (3), a
// misplaced decimal point (1/100).
struct Factor {
  int num;
  int den;
};

constexpr Factor kFactors[] = {
    {1, 2},  {2, 1},  {1, 3},  {3, 1},  {1, 4},  {4, 1},  {1, 5},   {5, 1},   {1, 6},    {6, 1},
    {1, 7},  {7, 1},  {1, 8},  {8, 1},  {1, 10}, {10, 1}, {1, 15},  {15, 1},  {1, 20},   {20, 1},
    {1, 25}, {25, 1}, {1, 50}, {50, 1}, {2, 3},  {3, 2},  {1, 100}, {100, 1}, {1, 1000}, {1000, 1},
};

double Value(Factor f) { return static_cast<double>(f.num) / f.den; }

bool SplitLike(Factor f) { return f.num < 100 && f.den < 100; }

// The factor nearest `ratio` within `tolerance` (of the log ratio), if any.
std::optional<Factor> NearFactor(double ratio, double tolerance, bool splits_only) {
  std::optional<Factor> best;
  double best_distance = tolerance;
  for (const Factor f : kFactors) {
    if (splits_only && !SplitLike(f)) continue;
    const double distance = std::abs(std::log(ratio / Value(f)));
    if (distance <= best_distance) {
      best = f;
      best_distance = distance;
    }
  }
  return best;
}

std::string FactorText(Factor f) {
  return f.den == 1 ? fmt::format("{}", f.num) : fmt::format("{}/{}", f.num, f.den);
}

// ", like a 2:1 split with none recorded" for the split ratios, "" for 100 and 1000.
std::string SplitHint(Factor f) {
  if (!SplitLike(f)) return "";
  const bool reverse = f.num > f.den;
  return fmt::format(", like a {}{}:{} split with none recorded", reverse ? "reverse " : "", f.den,
                     f.num);
}

bool HasEvent(const Bar& b) {
  return b.dividend.value_or(0) != 0 || b.split_coefficient.value_or(1) != 1;
}

// The median of `values` (reordered).
double Median(std::vector<double>& values) {
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

struct Move {
  size_t to = 0;      // into points[to] from points[to - 1]
  double log = 0;     // log return
  double sigmas = 0;  // |log - median| in robust standard deviations
  bool suspect = false;
};

std::string Percent(double log_return) {
  return fmt::format("{:+.1f}%", std::expm1(log_return) * 100);
}

// The prices CheckMoves judges: the closes, or for weekly and monthly adjusted series the
// adjusted closes (those series record no split, and their adjusted closes run on smoothly
// across one; CheckAdjusted compares the two).
class Prices {
 public:
  Prices(const SeriesKey& key, std::span<const Point> points)
      : points_(points),
        adjusted_(key.function == Function::kWeeklyAdjusted ||
                  key.function == Function::kMonthlyAdjusted) {}

  double At(size_t i) const {
    const Bar& b = *points_[i].bar;
    return adjusted_ ? b.adjusted_close.value_or(0) : b.close;
  }
  const std::string& Ts(size_t i) const { return points_[i].bar->ts; }
  std::string_view Name() const { return adjusted_ ? "adjusted close" : "close"; }

 private:
  std::span<const Point> points_;
  bool adjusted_;
};

void ReportMove(const Prices& prices, const Move& m, double scale, Findings& out) {
  const double a = prices.At(m.to - 1), b = prices.At(m.to);
  const std::string& ts = prices.Ts(m.to);
  std::string text =
      fmt::format("{} {} -> {} on {}: ", prices.Name(), PriceText(a), PriceText(b), ts);
  if (auto f = NearFactor(b / a, std::max(0.05, 3 * scale), false)) {
    text += fmt::format("a factor of {}{}", FactorText(*f), SplitHint(*f));
  } else {
    text += fmt::format("a move of {}, {:.1f} times the series' robust sigma ({:.2f}%)",
                        Percent(m.log), m.sigmas, scale * 100);
  }
  out.Add(FindingKind::kSuspectMove, ts, ts, std::move(text));
}

// One bar off both of its neighbours: the move in and the move out cancel.
void ReportSpike(const Prices& prices, const Move& in, double scale, Findings& out) {
  const size_t i = in.to;
  const double a = prices.At(i - 1), b = prices.At(i), c = prices.At(i + 1);
  std::string off;
  if (auto f = NearFactor(b / a, std::max(0.05, 3 * scale), false)) {
    off = fmt::format("a factor of {}", FactorText(*f));
  } else {
    off = Percent(in.log);
  }
  out.Add(FindingKind::kSuspectMove, prices.Ts(i), prices.Ts(i),
          fmt::format("{} {} on {} is {} off its neighbours {} ({}) and {} ({})", prices.Name(),
                      PriceText(b), prices.Ts(i), off, PriceText(a), prices.Ts(i - 1), PriceText(c),
                      prices.Ts(i + 1)));
}

}  // namespace

void CheckMoves(const SeriesKey& key, std::span<const Point> points, const CheckOptions& options,
                Findings& out) {
  // Intraday returns are too heavy-tailed (pre-market prints, auctions) to judge this way.
  if (key.function == Function::kIntraday) return;
  const Prices prices(key, points);
  std::vector<Move> moves;
  std::vector<double> logs;
  for (size_t i = 1; i < points.size(); ++i) {
    const double a = prices.At(i - 1), b = prices.At(i);
    if (!(a > 0) || !(b > 0)) continue;
    moves.push_back(Move{i, std::log(b / a)});
    logs.push_back(moves.back().log);
  }
  if (logs.size() < options.min_returns || logs.empty()) return;
  const double median = Median(logs);
  for (double& x : logs) x = std::abs(x - median);
  const double scale = std::max(1.4826 * Median(logs), options.min_scale);
  const double threshold = options.suspect_sigmas * scale;
  for (Move& m : moves) {
    m.sigmas = std::abs(m.log - median) / scale;
    m.suspect = m.sigmas > options.suspect_sigmas && !HasEvent(*points[m.to].bar);
  }
  for (size_t k = 0; k < moves.size(); ++k) {
    const Move& m = moves[k];
    if (!m.suspect) continue;
    const bool spike = k + 1 < moves.size() && moves[k + 1].suspect &&
                       moves[k + 1].to == m.to + 1 &&
                       std::abs(m.log + moves[k + 1].log) <= threshold;
    if (spike) {
      ReportSpike(prices, m, scale, out);
      ++k;
    } else {
      ReportMove(prices, m, scale, out);
    }
  }
}

namespace {

// The adjusted series as CheckAdjusted sees it.
class Adjusted {
 public:
  Adjusted(const SeriesKey& key, std::span<const Point> points, const CheckOptions& options)
      : points_(points),
        options_(options),
        records_splits_(key.function == Function::kDailyAdjusted) {}

  const Bar& At(size_t i) const { return *points_[i].bar; }

  // adjusted_close / close, or nullopt when either is missing or not positive.
  std::optional<double> Ratio(size_t i) const {
    const Bar& b = At(i);
    if (!b.adjusted_close || !(*b.adjusted_close > 0) || !(b.close > 0)) return std::nullopt;
    return *b.adjusted_close / b.close;
  }

  // What the events recorded on bar i make Ratio(i - 1) / Ratio(i).
  double EventFactor(size_t i) const {
    const Bar& b = At(i);
    double f = DividendFactor(i);
    const double split = b.split_coefficient.value_or(1);
    if (records_splits_ && split > 0) f /= split;
    return f;
  }

  // True when the ratios of bars a < b agree with the events of the bars after a up to b.
  bool Agree(size_t a, size_t b) const {
    double expected = *Ratio(b), slack = options_.adjusted_tolerance;
    for (size_t i = a + 1; i <= b; ++i) {
      expected *= EventFactor(i);
      // Weekly and monthly bars hold the dividends of their period but not the close of the day
      // before each ex-day, only the previous period's: allow a quarter of the dividend's effect.
      if (!records_splits_) slack += 0.25 * (1 - DividendFactor(i));
    }
    // The service rounds adjusted closes to 4 decimals.
    slack += 5e-5 / *At(a).adjusted_close + 5e-5 / *At(b).adjusted_close;
    const double off = *Ratio(a) / expected;
    if (std::abs(off - 1) <= slack) return true;
    // Weekly and monthly series record no splits: a split factor is no disagreement.
    if (records_splits_) return false;
    return NearFactor(off, slack, true).has_value();
  }

  // "no event", "the dividend 0.5", "the split 2", "the dividend 0.5 and the split 2".
  std::string Events(size_t i) const {
    const Bar& b = At(i);
    const double dividend = b.dividend.value_or(0), split = b.split_coefficient.value_or(1);
    if (dividend != 0 && split != 1) {
      return fmt::format("the dividend {} and the split {}", dividend, split);
    }
    if (dividend != 0) return fmt::format("the dividend {}", dividend);
    if (split != 1) return fmt::format("the split {}", split);
    return "no event";
  }

 private:
  double DividendFactor(size_t i) const {
    const double dividend = At(i).dividend.value_or(0), previous = At(i - 1).close;
    return dividend != 0 && previous > 0 ? (previous - dividend) / previous : 1.0;
  }

  std::span<const Point> points_;
  const CheckOptions& options_;
  bool records_splits_;
};

}  // namespace

void CheckAdjusted(const SeriesKey& key, std::span<const Point> points, const CheckOptions& options,
                   Findings& out) {
  if (!IsAdjusted(key.function) || key.function == Function::kIntraday) return;
  const Adjusted series(key, points, options);
  // bad[i]: bar i disagrees with bar i - 1 (both with a ratio).
  std::vector<char> bad(points.size(), 0);
  for (size_t i = 1; i < points.size(); ++i) {
    bad[i] = series.Ratio(i - 1) && series.Ratio(i) && !series.Agree(i - 1, i);
  }
  for (size_t i = 1; i < points.size(); ++i) {
    if (!bad[i]) continue;
    const Bar& b = series.At(i);
    const Bar& a = series.At(i - 1);
    std::string head = fmt::format("adjusted close {} on {} disagrees with close {} and ",
                                   *b.adjusted_close, b.ts, b.close);
    // One bar off both neighbours, which agree with each other: that bar is the culprit.
    if (i + 1 < points.size() && bad[i + 1] && series.Agree(i - 1, i + 1)) {
      const Bar& c = series.At(i + 1);
      const bool events = HasEvent(b) || HasEvent(c);
      out.Add(
          FindingKind::kSuspectAdjusted, b.ts, b.ts,
          fmt::format("{}{}: adjusted/close is {:.6g} here against {:.6g} on {} and {:.6g} on {}",
                      head, events ? "the recorded events" : "no event", *series.Ratio(i),
                      *series.Ratio(i - 1), a.ts, *series.Ratio(i + 1), c.ts));
      ++i;
      continue;
    }
    const std::string events = series.Events(i);
    std::string text = fmt::format("{}{}: adjusted/close is {:.6g} here and {:.6g} on {}", head,
                                   events, *series.Ratio(i), *series.Ratio(i - 1), a.ts);
    if (HasEvent(b)) {
      text += fmt::format(", where {} would make it {:.6g}", events,
                          *series.Ratio(i) * series.EventFactor(i));
    }
    out.Add(FindingKind::kSuspectAdjusted, b.ts, b.ts, std::move(text));
  }
}

}  // namespace mdfetch::health
