// What the pages of `serve` show, read from a Store: the same verdicts as `plan`, `check` and
// `quota` give (the planner's IsUpToDate, the health check, the call log).
#include <algorithm>
#include <set>

#include "mdfetch/market_calendar.h"
#include "mdfetch/planner.h"
#include "mdfetch/rate_limiter.h"
#include "serve_internal.h"

namespace mdfetch::serve {

std::string_view FreshnessName(Freshness f) {
  switch (f) {
    case Freshness::kUpToDate:
      return "up to date";
    case Freshness::kDue:
      return "due";
    case Freshness::kFailing:
      return "failing";
    case Freshness::kDeferred:
      return "deferred";
  }
  return "?";
}

SeriesRow MakeRow(SeriesState state, std::span<const Bar> bars, WallTime now) {
  SeriesRow row;
  row.findings = CheckSeries(state, bars, now);
  const bool failing = std::any_of(row.findings.begin(), row.findings.end(), [](const Finding& f) {
    return f.kind == FindingKind::kFailing;
  });
  // Deferred first: the next run takes it first whatever else is true of it.
  row.freshness = state.deferred                      ? Freshness::kDeferred
                  : IsUpToDate(state.key, state, now) ? Freshness::kUpToDate
                  : failing                           ? Freshness::kFailing
                                                      : Freshness::kDue;
  row.state = std::move(state);
  return row;
}

Result<std::vector<SeriesRow>> ListRows(Store& store, WallTime now) {
  auto series = store.ListSeries();
  if (!series) return std::unexpected(series.error());
  std::vector<SeriesRow> rows;
  rows.reserve(series->size());
  for (SeriesState& state : *series) {
    auto bars = store.ReadBars(state.key, BarFilter{});
    if (!bars) return std::unexpected(bars.error());
    rows.push_back(MakeRow(std::move(state), *bars, now));
  }
  return rows;
}

Result<Overview> ReadOverview(Store& store, WallTime now, const std::string& default_rate) {
  Overview overview{.database = store.Location(), .at = now};
  auto recorded = store.GetSetting(kRateSetting);
  if (!recorded) return std::unexpected(recorded.error());
  overview.quota.rate = *recorded ? (*recorded)->value : default_rate;
  if (*recorded) overview.quota.recorded_at = (*recorded)->set_at;
  if (auto rate = ParseRateSpec(overview.quota.rate); rate) overview.quota.per_day = rate->per_day;
  auto times = store.CallTimesSince(now - std::chrono::hours(24));
  if (!times) return std::unexpected(times.error());
  overview.quota.spent = static_cast<int64_t>(times->size());
  auto calls = store.RecentCalls(std::nullopt, kRunCallsRead);
  if (!calls) return std::unexpected(calls.error());
  for (size_t i = 0; i < calls->size(); ++i) {
    if (i > 0 && (*calls)[i - 1].at - (*calls)[i].at >= kRunGap) break;
    overview.last_run.push_back(std::move((*calls)[i]));
  }
  return overview;
}

std::string_view RangeName(Range r) {
  switch (r) {
    case Range::k1M:
      return "1M";
    case Range::k6M:
      return "6M";
    case Range::k1Y:
      return "1Y";
    case Range::k5Y:
      return "5Y";
    case Range::kAll:
      return "all";
  }
  return "?";
}

std::optional<Range> ParseRange(std::string_view text) {
  for (Range r : kRanges) {
    if (RangeName(r) == text) return r;
  }
  return std::nullopt;
}

namespace {

// `d` moved back by `months`, on the last day of the month when it has no such day.
Date MonthsBefore(Date d, int months) {
  using namespace std::chrono;
  year_month ym = year_month{d.year(), d.month()} - std::chrono::months(months);
  const year_month_day_last end_of_month = ym / std::chrono::last;
  return ym.year() / ym.month() / std::min(d.day(), end_of_month.day());
}

}  // namespace

BarFilter FilterFor(const SeriesState& state, const RangeChoice& range) {
  BarFilter filter{.last = kMaxRangeBars + 1};  // one more says the range is capped
  if (range.Explicit()) {
    filter.from = range.from.value_or("");
    // A date includes every intraday bar of that day.
    if (range.to) filter.to = *range.to + " 23:59:59";
    return filter;
  }
  const std::optional<Date> last = ParseDate(state.last_ts);
  if (range.range == Range::kAll || !last) return filter;
  const int months = range.range == Range::k1M   ? 1
                     : range.range == Range::k6M ? 6
                     : range.range == Range::k1Y ? 12
                                                 : 60;
  // From the day after: "1M" of a series ending 2026-11-20 is 2026-10-21..2026-11-20.
  filter.from =
      FormatDate(Date{std::chrono::sys_days(MonthsBefore(*last, months)) + std::chrono::days(1)});
  return filter;
}

Result<SeriesBars> ReadRange(Store& store, const SeriesState& state, const RangeChoice& range) {
  auto bars = store.ReadBars(state.key, FilterFor(state, range));
  if (!bars) return std::unexpected(bars.error());
  SeriesBars out{.state = state, .bars = std::move(*bars)};
  if (static_cast<int64_t>(out.bars.size()) > kMaxRangeBars) {
    out.bars.erase(out.bars.begin());
    out.capped = true;
  }
  return out;
}

Normalised Normalise(const std::vector<SeriesBars>& series) {
  Normalised out;
  out.points.resize(series.size());
  if (series.empty()) return out;
  std::set<std::string> common;
  for (const Bar& bar : series.front().bars) common.insert(bar.ts);
  for (size_t i = 1; i < series.size(); ++i) {
    std::set<std::string> here;
    for (const Bar& bar : series[i].bars) {
      if (common.contains(bar.ts)) here.insert(bar.ts);
    }
    common = std::move(here);
  }
  if (common.empty()) return out;
  out.base_ts = *common.begin();
  for (size_t i = 0; i < series.size(); ++i) {
    double base = 0;
    for (const Bar& bar : series[i].bars) {
      if (bar.ts == out.base_ts) base = bar.close;
      if (bar.ts < out.base_ts || !common.contains(bar.ts) || base <= 0) continue;
      out.points[i].emplace_back(bar.ts, bar.close / base * 100);
    }
  }
  return out;
}

}  // namespace mdfetch::serve
