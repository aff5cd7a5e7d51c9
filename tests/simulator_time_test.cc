// The simulator on an injected clock: the throttle window, the daily limit, the default last
// session and crypto's current day all follow the FakeClock, and nothing sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "simulator_client.h"

namespace mdfetch {
namespace {

using namespace std::chrono;

constexpr const char* kDaily = "function=TIME_SERIES_DAILY&symbol=IBM&apikey=K";

bool Served(const nlohmann::ordered_json& body) { return body.contains("Time Series (Daily)"); }

TEST_F(SimulatorTest, ThrottleWindowFollowsTheInjectedClock) {
  SimOptions options;
  options.window_limit = 2;
  options.window = seconds(60);
  StartSim(options);
  EXPECT_TRUE(Served(GetJson(kDaily)));
  clock_.Advance(seconds(30));
  EXPECT_TRUE(Served(GetJson(kDaily)));
  clock_.Advance(seconds(29));  // 59 s after the first call: both still in the window
  EXPECT_TRUE(GetJson(kDaily).contains("Information"));
  clock_.Advance(seconds(1));  // the first call leaves the window
  EXPECT_TRUE(Served(GetJson(kDaily)));
  EXPECT_TRUE(GetJson(kDaily).contains("Information"));  // the second is still in it
  clock_.Advance(seconds(30));
  EXPECT_TRUE(Served(GetJson(kDaily)));
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.served, 4);
  EXPECT_EQ(stats.throttled, 2);
  EXPECT_TRUE(clock_.Waits().empty());  // virtual time only moved when the test moved it
}

TEST_F(SimulatorTest, DailyLimitStartsOverAtMidnightUtc) {
  SimOptions options;
  options.daily_limit = 2;
  StartSim(options);  // Friday 22:00 UTC
  EXPECT_TRUE(Served(GetJson(kDaily)));
  EXPECT_TRUE(Served(GetJson(kDaily)));
  EXPECT_TRUE(GetJson(kDaily).contains("Information"));
  clock_.Advance(minutes(119));  // 23:59
  EXPECT_TRUE(GetJson(kDaily).contains("Information"));
  clock_.Advance(minutes(1));  // Saturday 00:00 UTC
  EXPECT_TRUE(Served(GetJson(kDaily)));
  EXPECT_TRUE(Served(GetJson(kDaily)));
  EXPECT_TRUE(GetJson(kDaily).contains("Information"));
  EXPECT_EQ(sim_->Stats().served, 4);
  EXPECT_EQ(sim_->Stats().daily_limited, 3);
}

// Without a pinned last session the simulator serves up to LastSessionDate of its clock.
TEST_F(SimulatorTest, DefaultLastSessionIsTheClocksLastSession) {
  clock_.Advance(hours(24 * 3) - hours(22) + hours(13));  // Monday 2026-05-18, 13:00 UTC
  StartSim({}, /*pin_last_session=*/false);
  auto meta = GetJson(kDaily).at("Meta Data");
  EXPECT_EQ(meta.at("3. Last Refreshed"), "2026-05-15");  // Monday's session is not over
  clock_.Advance(hours(8));                               // 21:00 UTC = 17:00 New York
  meta = GetJson(kDaily).at("Meta Data");
  EXPECT_EQ(meta.at("3. Last Refreshed"), "2026-05-18");
  EXPECT_EQ(GetJson(kDaily).at("Time Series (Daily)").size(), 100u);
}

std::vector<std::string> Keys(const nlohmann::ordered_json& series) {
  std::vector<std::string> keys;
  for (const auto& [ts, bar] : series.items()) keys.push_back(ts);
  return keys;
}

// Crypto trades every day: its series runs to the simulator's UTC day, weekends included,
// while equities stop at the last session.
TEST_F(SimulatorTest, CryptoRunsToTheClocksUtcDayWeekendsIncluded) {
  clock_.Advance(hours(36));  // Sunday 2026-05-17, 10:00 UTC
  StartSim();                 // last session pinned: Friday 2026-05-15
  const auto body = GetJson("function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=USD&apikey=K");
  EXPECT_EQ(body.at("Meta Data").at("6. Last Refreshed"), "2026-05-17");
  const auto keys = Keys(body.at("Time Series (Digital Currency Daily)"));
  ASSERT_EQ(keys.size(), 350u);
  // Newest first, one key per calendar day without a gap.
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(keys[i], FormatDate(Date{sys_days{D(2026, 5, 17)} - days(i)}));
  }
  ExpectSeriesEquals(body.at("Time Series (Digital Currency Daily)"),
                     Simulator::History({"BTC/USD", Function::kCryptoDaily, ""}, D(2026, 5, 17)));
  EXPECT_EQ(GetJson(kDaily).at("Meta Data").at("3. Last Refreshed"), "2026-05-15");
  // Just after midnight UTC the new day has its bar.
  clock_.Advance(hours(14));  // Monday 00:00 UTC
  const auto monday = GetJson("function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=USD&apikey=K");
  EXPECT_EQ(monday.at("Meta Data").at("6. Last Refreshed"), "2026-05-18");
}

// KO goes ex-dividend on Monday 2026-05-11: a compact answer fetched again that evening has
// every adjusted close restated, the raw closes unchanged.
TEST_F(SimulatorTest, ARefetchAfterANewDividendSeesRestatedAdjustedCloses) {
  FakeClock clock(sys_days(D(2026, 5, 8)) + hours(22));  // Friday evening
  SimOptions options;
  options.clock = &clock;
  StartSim(options, /*pin_last_session=*/false);
  const std::string query = "function=TIME_SERIES_DAILY_ADJUSTED&symbol=KO&apikey=K";
  const auto friday = GetJson(query).at("Time Series (Daily)");
  clock.Advance(hours(72));  // Monday evening
  const auto monday = GetJson(query).at("Time Series (Daily)");
  ASSERT_EQ(monday.begin().key(), "2026-05-11");
  EXPECT_NE(monday.begin().value().at("7. dividend amount"), "0.0000");
  int restated = 0;
  for (const auto& [ts, bar] : friday.items()) {
    if (!monday.contains(ts)) continue;  // the oldest bar left the compact answer
    EXPECT_EQ(monday.at(ts).at("4. close"), bar.at("4. close")) << ts;
    EXPECT_LT(Num(monday.at(ts), "5. adjusted close"), Num(bar, "5. adjusted close")) << ts;
    ++restated;
  }
  EXPECT_EQ(restated, 99);
}

TEST_F(SimulatorTest, FxHasBarsOnWeekdaysOnly) {
  clock_.Advance(hours(36));  // Sunday
  StartSim();
  const auto body =
      GetJson("function=FX_DAILY&from_symbol=EUR&to_symbol=USD&outputsize=full&apikey=K");
  const auto keys = Keys(body.at("Time Series FX (Daily)"));
  ASSERT_GT(keys.size(), 6000u);
  EXPECT_EQ(keys.front(), "2026-05-15");  // the Friday: no weekend bar
  for (const std::string& key : keys) {
    const weekday wd{sys_days{*ParseDate(key)}};
    EXPECT_NE(wd, Saturday) << key;
    EXPECT_NE(wd, Sunday) << key;
  }
  // Every weekday is there, US holidays included: 5 bars a week from Monday 2000-01-03.
  EXPECT_EQ(keys.back(), "2000-01-03");
  EXPECT_EQ(keys.size(),
            static_cast<size_t>((sys_days{kLast} - sys_days{D(2000, 1, 3)}).count() + 3) / 7 * 5);
}

}  // namespace
}  // namespace mdfetch
