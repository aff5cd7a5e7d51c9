#include "mdfetch/planner.h"

#include <gtest/gtest.h>

namespace mdfetch {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::year;

WallTime At(int y, unsigned m, unsigned d, std::chrono::minutes utc) {
  return sys_days(year{y} / m / d) + utc;
}

const SeriesKey kDaily{"IBM", Function::kDaily, ""};

SeriesState Fetched(WallTime at, std::string last_ts = "2026-11-20") {
  SeriesState s;
  s.last_success_at = at;
  s.bar_count = 100;
  s.first_ts = "2026-06-01";
  s.last_ts = std::move(last_ts);
  return s;
}

TEST(PlannerTest, DailyIsStaleOnlyAfterTheNextClose) {
  // Fetched Friday 2026-11-20 at 22:00 UTC (17:00 New York, after the close).
  auto state = Fetched(At(2026, 11, 20, 22h));
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 21, 12h)));   // Saturday
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 23, 20h)));   // Monday 15:00 New York
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 23, 21h)));  // Monday 16:00 close
}

TEST(PlannerTest, HolidayEveningIsNotStale) {
  // Fetched Wednesday 2026-11-25 evening; Thursday is Thanksgiving: no new bar then.
  auto state = Fetched(At(2026, 11, 25, 22h), "2026-11-25");
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 26, 23h)));
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 27, 22h)));
}

TEST(PlannerTest, DailyFetchedAfterAnEarlyCloseIsUpToDate) {
  // The day after Thanksgiving closes at 13:00 New York (18:00 UTC); fetched at 13:30 with the
  // session's final bar.
  auto state = Fetched(At(2026, 11, 27, 18h + 30min), "2026-11-27");
  state.last_refreshed = "2026-11-27";
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 27, 18h + 45min)));
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 27, 22h)));  // 17:00, after 16:00
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 29, 12h)));  // Sunday
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 30, 21h)));
  // Fetched at 12:30, during the shortened session: stale from 13:00.
  auto early = Fetched(At(2026, 11, 27, 17h + 30min), "2026-11-25");
  EXPECT_TRUE(IsUpToDate(kDaily, early, At(2026, 11, 27, 17h + 59min)));
  EXPECT_FALSE(IsUpToDate(kDaily, early, At(2026, 11, 27, 18h)));
}

TEST(PlannerTest, IntradaySessionsEndEarlyOnEarlyCloseDays) {
  const SeriesKey regular{"IBM", Function::kIntraday, "5min", true, false};
  const SeriesKey extended{"IBM", Function::kIntraday, "5min"};
  // Christmas Eve 2026: the regular session ends at 13:00 (18:00 UTC), the extended hours at
  // 17:00 (22:00 UTC).
  EXPECT_EQ(LatestPossibleBar(regular, At(2026, 12, 24, 20h)), At(2026, 12, 24, 18h));
  EXPECT_EQ(LatestPossibleBar(extended, At(2026, 12, 24, 23h)), At(2026, 12, 24, 22h));
  EXPECT_EQ(LatestPossibleBar(extended, At(2026, 12, 24, 21h + 2min)), At(2026, 12, 24, 21h));
  // Last bar 12:55, the session's last: nothing is missing at 15:00.
  WallTime three_pm = At(2026, 12, 24, 20h);
  EXPECT_TRUE(
      IsUpToDate(regular, Fetched(At(2026, 12, 24, 18h + 1min), "2026-12-24 12:55:00"), three_pm));
}

TEST(PlannerTest, FetchDuringTheSessionIsStaleAfterTheClose) {
  auto state = Fetched(At(2026, 11, 20, 15h));  // 10:00 New York
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 20, 22h)));
}

TEST(PlannerTest, WeeklyIsNotStaleEveryEvening) {
  const SeriesKey weekly{"IBM", Function::kWeekly, ""};
  auto state = Fetched(At(2026, 11, 20, 22h));                     // after Friday's close
  EXPECT_TRUE(IsUpToDate(weekly, state, At(2026, 11, 25, 22h)));   // Wednesday
  EXPECT_FALSE(IsUpToDate(weekly, state, At(2026, 11, 27, 22h)));  // after next week's close
}

TEST(PlannerTest, MonthlyWaitsForTheMonthEnd) {
  const SeriesKey monthly{"IBM", Function::kMonthly, ""};
  auto state = Fetched(At(2026, 10, 30, 22h));  // after October's last session
  EXPECT_TRUE(IsUpToDate(monthly, state, At(2026, 11, 27, 22h)));
  EXPECT_FALSE(IsUpToDate(monthly, state, At(2026, 11, 30, 22h)));
}

TEST(PlannerTest, NeverFetchedOrNeedsFullIsDue) {
  SeriesState empty;
  EXPECT_FALSE(IsUpToDate(kDaily, empty, At(2026, 11, 21, 0h)));
  auto state = Fetched(At(2026, 11, 20, 22h));
  state.needs_full = true;
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 21, 0h)));
}

TEST(PlannerTest, OutputSizeFullForNewSeriesAndWideGaps) {
  WallTime now = At(2026, 11, 23, 22h);
  EXPECT_EQ(ChooseOutputSize(kDaily, std::nullopt, now, false), OutputSize::kFull);
  EXPECT_EQ(ChooseOutputSize(kDaily, Fetched(now, "2026-11-20"), now, false), OutputSize::kCompact);
  EXPECT_EQ(ChooseOutputSize(kDaily, Fetched(now, "2026-11-20"), now, true), OutputSize::kFull);
  EXPECT_EQ(ChooseOutputSize(kDaily, Fetched(now, "2026-01-02"), now, false), OutputSize::kFull);
  EXPECT_EQ(ChooseOutputSize(SeriesKey{"IBM", Function::kWeekly, ""}, std::nullopt, now, false),
            OutputSize::kNone);
}

TEST(PlannerTest, RunRightAfterTheCloseDoesNotSkipTheDaysBarAllEvening) {
  // Fetched Friday 16:05 New York (21:05 UTC) before the final bar was published: the answer
  // held Thursday's bar only.
  auto state = Fetched(At(2026, 11, 20, 21h + 5min), "2026-11-19");
  state.last_refreshed = "2026-11-19";
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 20, 23h)));
  // Had it held Friday's final bar, it would be up to date.
  state.last_ts = "2026-11-20";
  state.last_refreshed = "2026-11-20";
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 20, 23h)));
  // A partial bar of the session (Last Refreshed with a time) is not final.
  state.last_refreshed = "2026-11-20 16:00:00";
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 20, 23h)));
}

TEST(PlannerTest, IntradayAsksCompactOnlyWhenTheGapFitsInIt) {
  const SeriesKey intraday{"IBM", Function::kIntraday, "5min"};
  // Wednesday 2026-11-18 15:00 New York is 20:00 UTC.
  WallTime wednesday_3pm = At(2026, 11, 18, 20h);
  // Last bar Tuesday 19:55: Wednesday 04:00-15:00 is 132 bars: more than compact holds.
  EXPECT_EQ(ChooseOutputSize(intraday, Fetched(wednesday_3pm, "2026-11-17 19:55:00"), wednesday_3pm,
                             false),
            OutputSize::kFull);
  // Last bar Wednesday 10:00: 59 bars missing: compact.
  EXPECT_EQ(ChooseOutputSize(intraday, Fetched(wednesday_3pm, "2026-11-18 10:00:00"), wednesday_3pm,
                             false),
            OutputSize::kCompact);
  // With 60min bars a whole day fits.
  const SeriesKey hourly{"IBM", Function::kIntraday, "60min"};
  EXPECT_EQ(
      ChooseOutputSize(hourly, Fetched(wednesday_3pm, "2026-11-17 19:00:00"), wednesday_3pm, false),
      OutputSize::kCompact);
}

TEST(PlannerTest, RegularHoursSeriesCountOnlyTheSession) {
  const SeriesKey regular{"IBM", Function::kIntraday, "5min", true, false};
  WallTime wednesday_3pm = At(2026, 11, 18, 20h);
  // Last bar Tuesday 15:55, the session's last: Wednesday 09:30-15:00 is 66 bars: compact
  // (with extended hours the same gap is 132 bars, see above).
  EXPECT_EQ(ChooseOutputSize(regular, Fetched(wednesday_3pm, "2026-11-17 15:55:00"), wednesday_3pm,
                             false),
            OutputSize::kCompact);
  // At 17:00 New York the regular session is over: its last possible bar ended at 16:00.
  WallTime wednesday_5pm = At(2026, 11, 18, 22h);
  EXPECT_EQ(LatestPossibleBar(regular, wednesday_5pm), At(2026, 11, 18, 21h));
  const SeriesKey extended{"IBM", Function::kIntraday, "5min"};
  EXPECT_EQ(LatestPossibleBar(extended, wednesday_5pm), At(2026, 11, 18, 22h));
  // Before 09:30 the latest possible bar is the previous session's end.
  EXPECT_EQ(LatestPossibleBar(regular, At(2026, 11, 18, 14h)), At(2026, 11, 17, 21h));
}

TEST(PlannerTest, MonthsParseStrictly) {
  EXPECT_EQ(ParseMonth("2024-03"), std::chrono::year{2024} / std::chrono::March);
  for (const char* bad : {"2024-13", "2024-00", "2024-3", "24-03", "2024/03", "2024-03-01", ""}) {
    EXPECT_FALSE(ParseMonth(bad).has_value()) << bad;
  }
}

TEST(PlannerTest, AMonthStoredAfterItEndedIsNeverDueAgain) {
  const SeriesKey key{"IBM", Function::kIntraday, "5min"};
  WallTime now = At(2026, 11, 18, 20h);
  // March 2024 ends at midnight New York on April 1 (04:00 UTC, daylight time).
  EXPECT_FALSE(IsMonthUpToDate(key, "2024-03", At(2024, 3, 29, 23h), now));
  EXPECT_FALSE(IsMonthUpToDate(key, "2024-03", At(2024, 4, 1, 3h), now));
  EXPECT_TRUE(IsMonthUpToDate(key, "2024-03", At(2024, 4, 1, 4h), now));
  EXPECT_TRUE(IsMonthUpToDate(key, "2024-03", At(2026, 1, 1, 0h), now));
  // The month in progress is up to date until its next possible bar.
  WallTime two_fifty = At(2026, 11, 18, 19h + 50min);
  EXPECT_TRUE(IsMonthUpToDate(key, "2026-11", two_fifty, At(2026, 11, 18, 19h + 54min)));
  EXPECT_FALSE(IsMonthUpToDate(key, "2026-11", two_fifty, At(2026, 11, 18, 19h + 55min)));
}

TEST(PlannerTest, AProvisionalBarMakesTheSeriesDueOnceItsSessionHasClosed) {
  auto state = Fetched(At(2026, 11, 20, 19h));  // 14:00 New York: the session was open
  state.provisional_ts = "2026-11-20";
  EXPECT_TRUE(IsUpToDate(kDaily, state, At(2026, 11, 20, 20h + 59min)));
  EXPECT_FALSE(IsUpToDate(kDaily, state, At(2026, 11, 20, 21h)));  // 16:00 close
  // The in-progress week's bar too, although weekly series otherwise wait for the week.
  const SeriesKey weekly{"IBM", Function::kWeekly, ""};
  auto week = Fetched(At(2026, 11, 18, 19h), "2026-11-18");
  EXPECT_TRUE(IsUpToDate(weekly, week, At(2026, 11, 18, 22h)));
  week.provisional_ts = "2026-11-18";
  EXPECT_FALSE(IsUpToDate(weekly, week, At(2026, 11, 18, 22h)));
}

// ---- MakePlan: the plan of a run from a snapshot of the store ----

const WallTime kFridayEvening = At(2026, 11, 20, 22h);

std::vector<std::string> Symbols(const std::vector<PlannedCall>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) out.push_back(c.key.symbol + (c.month.empty() ? "" : " " + c.month));
  return out;
}

TEST(MakePlanTest, NewSeriesAreCalledFullUpToDateOnesAreSettledDeferredOnesGoFirst) {
  const SeriesKey a{"A", Function::kDaily, ""}, b{"B", Function::kDaily, ""},
      c{"C", Function::kDaily, ""};
  StoreSnapshot snapshot;
  snapshot.series[b] = Fetched(kFridayEvening);
  SeriesState deferred = Fetched(At(2026, 11, 19, 22h), "2026-11-19");
  deferred.deferred = true;
  snapshot.series[c] = deferred;
  Plan plan = MakePlan({a, b, c}, snapshot, kFridayEvening + 1h, PlanOptions{});
  ASSERT_EQ(plan.items.size(), 3u);
  EXPECT_EQ(Symbols(plan.calls), (std::vector<std::string>{"C", "A"}));
  EXPECT_EQ(plan.calls[0].outputsize, OutputSize::kCompact);
  EXPECT_EQ(plan.calls[0].known_last, "2026-11-19");
  EXPECT_EQ(plan.calls[1].outputsize, OutputSize::kFull);
  ASSERT_EQ(plan.settled.size(), 1u);
  EXPECT_EQ(plan.settled[0].item, 1u);
  EXPECT_EQ(plan.settled[0].verdict, Verdict::kUpToDate);
}

TEST(MakePlanTest, RefusalsAndUnknownSymbolsAreRememberedForAWeekUnlessForced) {
  const SeriesKey adjusted{"IBM", Function::kDailyAdjusted, ""}, nope{"NOPE", Function::kDaily, ""};
  StoreSnapshot snapshot;
  snapshot.premium_since[Function::kDailyAdjusted] = kFridayEvening;
  SeriesState unknown;
  unknown.last_outcome = "unknown";
  unknown.last_attempt_at = kFridayEvening;
  snapshot.series[nope] = unknown;
  Plan plan = MakePlan({adjusted, nope}, snapshot, kFridayEvening + 24h * 6, PlanOptions{});
  EXPECT_TRUE(plan.calls.empty());
  ASSERT_EQ(plan.settled.size(), 2u);
  EXPECT_EQ(plan.settled[0].verdict, Verdict::kPremium);
  EXPECT_EQ(plan.settled[0].reason,
            "daily_adjusted is premium-only for this key (answered 2026-11-20); not called, "
            "--force tries again");
  EXPECT_EQ(plan.settled[1].verdict, Verdict::kUnknown);
  EXPECT_EQ(plan.settled[1].reason,
            "unknown to the service since 2026-11-20; not called, --force tries again");
  EXPECT_EQ(
      MakePlan({adjusted, nope}, snapshot, kFridayEvening + 24h * 6, PlanOptions{.force = true})
          .calls.size(),
      2u);
  EXPECT_EQ(
      MakePlan({adjusted, nope}, snapshot, kFridayEvening + 24h * 8, PlanOptions{}).calls.size(),
      2u);
}

TEST(MakePlanTest, FullRefusedMeansCompactForTheLatestBarsAndNoCallForAMonth) {
  const SeriesKey daily{"IBM", Function::kDaily, ""};
  const SeriesKey intraday{"IBM", Function::kIntraday, "5min"};
  StoreSnapshot snapshot;
  snapshot.full_refused_since[Function::kDaily] = kFridayEvening;
  snapshot.full_refused_since[Function::kIntraday] = kFridayEvening;
  Plan latest = MakePlan({daily}, snapshot, kFridayEvening, PlanOptions{});
  ASSERT_EQ(latest.calls.size(), 1u);
  EXPECT_EQ(latest.calls[0].outputsize, OutputSize::kCompact);
  EXPECT_TRUE(latest.calls[0].history_limited);
  Plan months =
      MakePlan({intraday}, snapshot, kFridayEvening, PlanOptions{.months = {"2024-01", "2024-02"}});
  EXPECT_TRUE(months.calls.empty());
  ASSERT_EQ(months.settled.size(), 2u);
  EXPECT_EQ(months.settled[1].verdict, Verdict::kMonthNeedsFull);
  EXPECT_EQ(months.settled[1].reason, kMonthNeedsFull);
  EXPECT_EQ(months.items[1], std::pair(intraday, std::string("2024-02")));
}

// The run asks compact (and sends no full probe) for exactly the functions the plan says,
// by the same rule as the premium memory: a week, and never under --force.
TEST(MakePlanTest, ThePlanCarriesTheFunctionsWhoseFullIsRefused) {
  const SeriesKey daily{"IBM", Function::kDaily, ""};
  StoreSnapshot snapshot;
  snapshot.full_refused_since[Function::kDaily] = kFridayEvening;
  snapshot.full_refused_since[Function::kWeekly] = kFridayEvening - 24h * 8;
  EXPECT_EQ(MakePlan({daily}, snapshot, kFridayEvening, PlanOptions{}).full_refused,
            std::set<Function>{Function::kDaily});
  EXPECT_TRUE(
      MakePlan({daily}, snapshot, kFridayEvening, PlanOptions{.force = true}).full_refused.empty());
  EXPECT_TRUE(
      MakePlan({daily}, snapshot, kFridayEvening + 24h * 8, PlanOptions{}).full_refused.empty());
}

TEST(MakePlanTest, FallBackFromFullIsTheOneRule) {
  PlannedCall latest{.key = {"IBM", Function::kDaily, ""}, .outputsize = OutputSize::kFull};
  EXPECT_TRUE(FallBackFromFull(latest));
  EXPECT_EQ(latest.outputsize, OutputSize::kCompact);
  EXPECT_TRUE(latest.history_limited);
  PlannedCall month{.key = {"IBM", Function::kIntraday, "5min"},
                    .month = "2024-01",
                    .outputsize = OutputSize::kFull};
  EXPECT_FALSE(FallBackFromFull(month));
  PlannedCall compact{.key = {"IBM", Function::kDaily, ""}, .outputsize = OutputSize::kCompact};
  EXPECT_TRUE(FallBackFromFull(compact));
  EXPECT_FALSE(compact.history_limited);
}

}  // namespace
}  // namespace mdfetch
