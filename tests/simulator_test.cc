// The simulator as a server: answers, refusals, throttling and faults over loopback HTTP.
#include "mdfetch/simulator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "simulator_client.h"

namespace mdfetch {
namespace {

using nlohmann::ordered_json;
using namespace std::chrono;

constexpr std::string_view kInvalidDaily =
    "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.";
constexpr std::string_view kInvalidIntraday =
    "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_INTRADAY.";

TEST_F(SimulatorTest, CompactAnswerIsNewest100BarsOfHistory) {
  StartSim();
  const auto body = GetJson("function=TIME_SERIES_DAILY&symbol=ibm&apikey=K");
  auto history = Simulator::History({"IBM", Function::kDaily, ""}, kLast);
  history.erase(history.begin(), history.end() - 100);
  ExpectSeriesEquals(body.at("Time Series (Daily)"), history);
  EXPECT_EQ(body.begin().key(), "Meta Data");
  const ordered_json meta = {
      {"1. Information", "Daily Prices (open, high, low, close) and Volumes"},
      {"2. Symbol", "IBM"},
      {"3. Last Refreshed", "2026-05-15"},
      {"4. Output Size", "Compact"},
      {"5. Time Zone", "US/Eastern"}};
  EXPECT_EQ(body.at("Meta Data"), meta);
}

TEST_F(SimulatorTest, FullAnswerEqualsHistoryExactly) {
  StartSim();
  const auto body = GetJson("function=TIME_SERIES_DAILY&symbol=MSFT&outputsize=full&apikey=K");
  const auto history = Simulator::History({"MSFT", Function::kDaily, ""}, kLast);
  EXPECT_GT(history.size(), 6500u);
  EXPECT_EQ(history.front().ts, "2000-01-03");
  ExpectSeriesEquals(body.at("Time Series (Daily)"), history);
  EXPECT_EQ(body["Meta Data"]["4. Output Size"], "Full size");
  EXPECT_EQ(sim_->Stats().served, 1);
}

TEST_F(SimulatorTest, PricesArePrintedWithFourDecimals) {
  StartSim();
  auto res = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  ASSERT_TRUE(res);
  const Bar h = Simulator::History({"IBM", Function::kDaily, ""}, kLast).back();
  EXPECT_NE(res->body.find(fmt::format("\"4. close\": \"{:.4f}\"", h.close)), std::string::npos);
  EXPECT_NE(res->body.find(fmt::format("\"5. volume\": \"{:.0f}\"", *h.volume)), std::string::npos);
  EXPECT_EQ(res->body.substr(0, 20), "{\n    \"Meta Data\": {");
}

TEST_F(SimulatorTest, FxAnswerHasFromToMetaFiveDecimalsAndNoVolume) {
  StartSim();
  auto res = Get("function=FX_DAILY&from_symbol=EUR&to_symbol=USD&apikey=K");
  ASSERT_TRUE(res);
  const auto body = ordered_json::parse(res->body);
  const ordered_json meta = {{"1. Information", "Forex Daily Prices (open, high, low, close)"},
                             {"2. From Symbol", "EUR"},
                             {"3. To Symbol", "USD"},
                             {"4. Output Size", "Compact"},
                             {"5. Last Refreshed", "2026-05-15"},
                             {"6. Time Zone", "UTC"}};
  EXPECT_EQ(body.at("Meta Data"), meta);
  const auto& series = body.at("Time Series FX (Daily)");
  ASSERT_EQ(series.size(), 100u);
  const auto& newest = series.begin().value();
  EXPECT_EQ(newest.size(), 4u);
  const Bar want = Simulator::History({"EUR/USD", Function::kFxDaily, ""}, kLast).back();
  EXPECT_EQ(newest.at("4. close"), fmt::format("{:.5f}", want.close));
}

TEST_F(SimulatorTest, CryptoAnswerHas350DaysAndEightDecimals) {
  StartSim();
  const auto body = GetJson("function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=EUR&apikey=K");
  const auto& meta = body.at("Meta Data");
  EXPECT_EQ(meta.at("2. Digital Currency Code"), "BTC");
  EXPECT_EQ(meta.at("4. Market Code"), "EUR");
  EXPECT_EQ(meta.at("6. Last Refreshed"), "2026-05-15");
  EXPECT_EQ(meta.at("7. Time Zone"), "UTC");
  const auto& series = body.at("Time Series (Digital Currency Daily)");
  ASSERT_EQ(series.size(), 350u);
  const Bar want = Simulator::History({"BTC/EUR", Function::kCryptoDaily, ""}, kLast).back();
  EXPECT_EQ(series.begin().value().at("5. volume"), fmt::format("{:.8f}", *want.volume));
}

TEST_F(SimulatorTest, IntradayCompactIsNewest100BarsWithIntervalMeta) {
  StartSim();
  const auto body = GetJson("function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min&apikey=K");
  const auto& meta = body.at("Meta Data");
  EXPECT_EQ(meta.at("3. Last Refreshed"), "2026-05-15 19:55:00");
  EXPECT_EQ(meta.at("4. Interval"), "5min");
  EXPECT_EQ(meta.at("5. Output Size"), "Compact");
  EXPECT_EQ(meta.at("6. Time Zone"), "US/Eastern");
  auto history = Simulator::History({"IBM", Function::kIntraday, "5min"}, kLast);
  history.erase(history.begin(), history.end() - 100);
  ExpectSeriesEquals(body.at("Time Series (5min)"), history);
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_INTRADAY&symbol=IBM&interval=7min&apikey=K"),
                    "Error Message"),
            "Invalid API call. Please retry or visit the documentation "
            "(https://www.alphavantage.co/documentation/) for TIME_SERIES_INTRADAY.");
}

SeriesKey IntradayKey(std::string symbol, bool adjusted = true, bool extended_hours = true) {
  SeriesKey key{std::move(symbol), Function::kIntraday, "5min"};
  key.adjusted = adjusted;
  key.extended_hours = extended_hours;
  return key;
}

constexpr std::string_view kKo5min = "function=TIME_SERIES_INTRADAY&symbol=KO&interval=5min";

TEST_F(SimulatorTest, IntradayMonthFullIsTheWholeMonthAndCompactItsNewest100Bars) {
  StartSim();
  const auto history = Simulator::History(IntradayKey("KO"), kLast, "2024-03");
  ASSERT_EQ(history.back().ts, "2024-03-28 19:55:00");  // 2024-03-29 was Good Friday
  const auto full = GetJson(std::string(kKo5min) + "&month=2024-03&outputsize=full&apikey=K");
  ExpectSeriesEquals(full.at("Time Series (5min)"), history);
  const ordered_json meta = {
      {"1. Information", "Intraday (5min) open, high, low, close prices and volume"},
      {"2. Symbol", "KO"},
      {"3. Last Refreshed", "2024-03-28 19:55:00"},
      {"4. Interval", "5min"},
      {"5. Output Size", "Full size"},
      {"6. Time Zone", "US/Eastern"}};
  EXPECT_EQ(full.at("Meta Data"), meta);
  const auto compact = GetJson(std::string(kKo5min) + "&month=2024-03&apikey=K");
  ExpectSeriesEquals(compact.at("Time Series (5min)"),
                     std::vector<Bar>(history.end() - 100, history.end()));
  EXPECT_EQ(compact.at("Meta Data").at("5. Output Size"), "Compact");
  EXPECT_EQ(sim_->Stats().served, 2);
}

TEST_F(SimulatorTest, IntradaySwitchesSelectTheSeries) {
  StartSim();
  // KO's ex-dividend day 2026-05-11 lies in the 30 days, so its raw and adjusted bars differ.
  const auto raw_regular = Simulator::History(IntradayKey("KO", false, false), kLast);
  ASSERT_NE(raw_regular, Simulator::History(IntradayKey("KO", true, false), kLast));
  const auto body = GetJson(std::string(kKo5min) +
                            "&adjusted=false&extended_hours=false&outputsize=full&apikey=K");
  ExpectSeriesEquals(body.at("Time Series (5min)"), raw_regular);
  EXPECT_EQ(body.at("Meta Data").size(), 6u);
  // Values in any case; explicit `true` is the default.
  const auto raw = GetJson(std::string(kKo5min) + "&adjusted=FALSE&outputsize=full&apikey=K");
  ExpectSeriesEquals(raw.at("Time Series (5min)"),
                     Simulator::History(IntradayKey("KO", false), kLast));
  const auto defaults =
      GetJson(std::string(kKo5min) + "&adjusted=True&extended_hours=true&outputsize=full&apikey=K");
  ExpectSeriesEquals(defaults.at("Time Series (5min)"),
                     Simulator::History(IntradayKey("KO"), kLast));
  EXPECT_EQ(sim_->Stats().served, 3);
}

TEST_F(SimulatorTest, BadIntradayMonthOrSwitchIsAnInvalidCall) {
  StartSim();
  const std::string query = std::string(kKo5min) + "&apikey=K";
  const std::vector<std::string> bad = {
      "&month=2024-13", "&month=1999-12",    "&month=2026-06",
      "&month=2024-3",  "&month=",           "&adjusted=maybe",
      "&adjusted=",     "&extended_hours=1", "&month=2024-03&extended_hours=no"};
  for (const std::string& param : bad) {
    EXPECT_EQ(Message(GetJson(query + param), "Error Message"), kInvalidIntraday) << param;
  }
  EXPECT_EQ(sim_->Stats().errors, static_cast<int64_t>(bad.size()));
  EXPECT_EQ(sim_->Stats().served, 0);
  // The first and the last month are served, and other functions ignore the three.
  EXPECT_TRUE(GetJson(query + "&month=2000-01").contains("Time Series (5min)"));
  EXPECT_TRUE(GetJson(query + "&month=2026-05").contains("Time Series (5min)"));
  EXPECT_TRUE(GetJson("function=TIME_SERIES_DAILY&symbol=KO&month=2024-13&adjusted=maybe&apikey=K")
                  .contains("Time Series (Daily)"));
  EXPECT_EQ(sim_->Stats().served, 3);
  EXPECT_EQ(sim_->Stats().errors, static_cast<int64_t>(bad.size()));
}

TEST_F(SimulatorTest, AdjustedAnswersNameTheirFieldsLikeTheService) {
  StartSim();
  const auto daily = GetJson("function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM&apikey=K");
  const auto& bar = daily.at("Time Series (Daily)").begin().value();
  std::vector<std::string> fields;
  for (const auto& [name, value] : bar.items()) fields.push_back(name);
  EXPECT_EQ(fields, (std::vector<std::string>{"1. open", "2. high", "3. low", "4. close",
                                              "5. adjusted close", "6. volume",
                                              "7. dividend amount", "8. split coefficient"}));
  EXPECT_EQ(bar.at("8. split coefficient"), "1.0000");
  const auto weekly = GetJson("function=TIME_SERIES_WEEKLY_ADJUSTED&symbol=IBM&apikey=K");
  EXPECT_EQ(weekly.at("Meta Data").at("4. Time Zone"), "US/Eastern");
  EXPECT_EQ(weekly.at("Weekly Adjusted Time Series").begin().value().size(), 7u);
  EXPECT_EQ(weekly.at("Weekly Adjusted Time Series").size(),
            Simulator::History({"IBM", Function::kWeeklyAdjusted, ""}, kLast).size());
}

TEST_F(SimulatorTest, UnknownSymbolGetsInvalidApiCall) {
  SimOptions options;
  options.unknown_symbols = {"NOPE"};
  StartSim(options);
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=nope&apikey=K"), "Error Message"),
            kInvalidDaily);
  EXPECT_EQ(
      Message(GetJson("function=TIME_SERIES_DAILY&symbol=INVALIDX&apikey=K"), "Error Message"),
      kInvalidDaily);
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&apikey=K"), "Error Message"),
            kInvalidDaily);
  EXPECT_EQ(
      Message(GetJson("function=TIME_SERIES_WEEKLY&symbol=INVALID&apikey=K"), "Error Message"),
      "Invalid API call. Please retry or visit the documentation "
      "(https://www.alphavantage.co/documentation/) for TIME_SERIES_WEEKLY.");
  EXPECT_EQ(sim_->Stats().errors, 4);
  EXPECT_EQ(sim_->Stats().served, 0);
}

TEST_F(SimulatorTest, MissingApiKeyGetsTheServiceText) {
  StartSim();
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=IBM"), "Error Message"),
            "the parameter apikey is invalid or missing. Please claim your free API key on "
            "(https://www.alphavantage.co/support/#api-key). It should take less than 20 "
            "seconds.");
}

TEST_F(SimulatorTest, UnknownFunctionDoesNotExist) {
  StartSim();
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILYX&symbol=IBM&apikey=K"), "Error Message"),
            "This API function (TIME_SERIES_DAILYX) does not exist.");
}

TEST_F(SimulatorTest, FourthCallInWindowIsThrottled) {
  SimOptions options;
  options.window_limit = 3;
  options.window = hours(1);
  StartSim(options);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K").contains("Meta Data"));
  }
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K"), "Information"),
            "Thank you for using Alpha Vantage! Please consider spreading out your free API "
            "requests more sparingly. You may subscribe to any of the premium plans at "
            "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests "
            "per day) and instantly unlock all premium endpoints");
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.throttled, 1);
  EXPECT_EQ(stats.served, 3);
  EXPECT_EQ(stats.calls, 4);
}

TEST_F(SimulatorTest, NoteStyleThrottleUsesThe2018Text) {
  SimOptions options;
  options.window_limit = 1;
  options.window = hours(1);
  options.note_style = true;
  StartSim(options);
  GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K"), "Note"),
            "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
            "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if "
            "you would like to target a higher API call frequency.");
}

TEST_F(SimulatorTest, DailyLimitQuotesTheKey) {
  SimOptions options;
  options.daily_limit = 2;
  StartSim(options);
  GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=MYKEY1");
  GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=MYKEY1");
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=MYKEY1"), "Information"),
            "We have detected your API key as MYKEY1 and our standard API rate limit is 2 "
            "requests per day. Please subscribe to any of the premium plans at "
            "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.");
  EXPECT_EQ(sim_->Stats().daily_limited, 1);
  EXPECT_EQ(sim_->Stats().served, 2);
}

constexpr std::string_view kPremiumEndpoint =
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints";
constexpr std::string_view kPremiumFull =
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium "
    "feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans "
    "at https://www.alphavantage.co/premium/ to instantly unlock all premium features";

// The README's table "Which functions a free key gets", call by call.
TEST_F(SimulatorTest, FreeKeyIsRefusedExactlyWhatTheReadmeCallsPremium) {
  SimOptions options;
  options.free_key = true;
  StartSim(options);
  const std::vector<std::string> premium_endpoint = {
      "function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM",
      "function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM&outputsize=full",
      "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min",
      "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=60min&outputsize=full",
      "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min&month=2024-03&outputsize=full",
      "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min&adjusted=false&extended_hours=false",
  };
  for (const std::string& query : premium_endpoint) {
    EXPECT_EQ(Message(GetJson(query + "&apikey=K"), "Information"), kPremiumEndpoint) << query;
  }
  EXPECT_EQ(Message(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&outputsize=full&apikey=K"),
                    "Information"),
            kPremiumFull);
  const std::vector<std::pair<std::string, std::string>> free = {
      {"function=TIME_SERIES_DAILY&symbol=IBM", "Time Series (Daily)"},
      {"function=TIME_SERIES_DAILY&symbol=IBM&outputsize=compact", "Time Series (Daily)"},
      {"function=TIME_SERIES_WEEKLY&symbol=IBM", "Weekly Time Series"},
      {"function=TIME_SERIES_WEEKLY_ADJUSTED&symbol=IBM", "Weekly Adjusted Time Series"},
      {"function=TIME_SERIES_MONTHLY&symbol=IBM", "Monthly Time Series"},
      {"function=TIME_SERIES_MONTHLY_ADJUSTED&symbol=IBM", "Monthly Adjusted Time Series"},
      {"function=FX_DAILY&from_symbol=EUR&to_symbol=USD&outputsize=full", "Time Series FX (Daily)"},
      {"function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=EUR",
       "Time Series (Digital Currency Daily)"},
  };
  for (const auto& [query, series] : free) {
    EXPECT_TRUE(GetJson(query + "&apikey=K").contains(series)) << query;
  }
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.premium, static_cast<int64_t>(premium_endpoint.size()) + 1);
  EXPECT_EQ(stats.served, static_cast<int64_t>(free.size()));
}

TEST_F(SimulatorTest, PremiumKeyGetsEveryFunction) {
  StartSim();
  for (const std::string query : {"function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM",
                                  "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min",
                                  "function=TIME_SERIES_DAILY&symbol=IBM&outputsize=full"}) {
    EXPECT_TRUE(GetJson(query + "&apikey=K").contains("Meta Data")) << query;
  }
  EXPECT_EQ(sim_->Stats().premium, 0);
}

TEST_F(SimulatorTest, PremiumFunctionIsRefused) {
  SimOptions options;
  options.premium_functions = {Function::kDailyAdjusted};
  StartSim(options);
  EXPECT_EQ(
      Message(GetJson("function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM&apikey=K"), "Information"),
      "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to "
      "any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
      "unlock all premium endpoints");
  EXPECT_EQ(sim_->Stats().premium, 1);
}

TEST_F(SimulatorTest, Http500Fault) {
  SimOptions options;
  options.p_http500 = 1.0;
  StartSim(options);
  auto res = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(sim_->Stats().faults, 1);
}

TEST_F(SimulatorTest, Http503FaultIsHerokuApplicationError) {
  SimOptions options;
  options.p_http503 = 1.0;
  StartSim(options);
  auto res = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html");
  EXPECT_NE(res->body.find("<title>Application Error</title>"), std::string::npos);
}

TEST_F(SimulatorTest, ResetFaultIsAReadErrorWithNoBody) {
  SimOptions options;
  options.p_reset = 1.0;
  StartSim(options);
  std::string received;
  auto res = client_->Get("/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=K",
                          [&](const char* data, size_t n) {
                            received.append(data, n);
                            return true;
                          });
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Read);
  EXPECT_EQ(received, "");
  EXPECT_EQ(sim_->Stats().faults, 1);
}

TEST_F(SimulatorTest, TruncateFaultSendsLessThanContentLength) {
  SimOptions options;
  options.p_truncate = 1.0;
  StartSim(options);
  size_t promised = 0;
  std::string received;
  auto res = client_->Get(
      "/query?function=TIME_SERIES_DAILY&symbol=IBM&apikey=K",
      [&](const httplib::Response& r) {
        promised = std::stoul(r.get_header_value("Content-Length"));
        return true;
      },
      [&](const char* data, size_t n) {
        received.append(data, n);
        return true;
      });
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Read);
  EXPECT_GT(received.size(), 0u);
  EXPECT_LT(received.size(), promised);
}

TEST_F(SimulatorTest, MalformedFaultIsHttp200WithInvalidJson) {
  SimOptions options;
  options.p_malformed = 1.0;
  StartSim(options);
  auto res = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GT(res->body.size(), 100u);
  EXPECT_FALSE(nlohmann::json::accept(res->body));
  EXPECT_EQ(sim_->Stats().faults, 1);
}

TEST_F(SimulatorTest, SlowFaultDelaysTheAnswer) {
  SimOptions options;
  options.p_slow = 1.0;
  options.slow_delay = milliseconds(40);
  StartSim(options);
  const auto start = steady_clock::now();
  auto res = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  EXPECT_GE(steady_clock::now() - start, milliseconds(40));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(sim_->Stats().faults, 0);
}

TEST_F(SimulatorTest, FailFirstAnswers503ThenDataAndFaultsDoNotCountTowardLimits) {
  SimOptions options;
  options.fail_first = {{"IBM", 2}};
  options.daily_limit = 1;
  StartSim(options);
  auto first = Get("function=TIME_SERIES_DAILY&symbol=ibm&apikey=K");
  auto second = Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 503);
  EXPECT_EQ(second->status, 503);
  EXPECT_TRUE(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K").contains("Meta Data"));
  EXPECT_TRUE(GetJson("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K").contains("Information"));
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.faults, 2);
  EXPECT_EQ(stats.served, 1);
  EXPECT_EQ(stats.daily_limited, 1);
  EXPECT_EQ(stats.calls_by_symbol.at("IBM"), 4);
}

TEST_F(SimulatorTest, StatsCountCallsBySymbolUpperCased) {
  StartSim();
  GetJson("function=TIME_SERIES_DAILY&symbol=msft&apikey=K");
  GetJson("function=FX_DAILY&from_symbol=eur&to_symbol=usd&apikey=K");
  GetJson("function=DIGITAL_CURRENCY_DAILY&symbol=btc&market=eur&apikey=K");
  const SimStats stats = sim_->Stats();
  EXPECT_EQ(stats.calls_by_symbol.at("MSFT"), 1);
  EXPECT_EQ(stats.calls_by_symbol.at("EUR/USD"), 1);
  EXPECT_EQ(stats.calls_by_symbol.at("BTC/EUR"), 1);
}

TEST_F(SimulatorTest, StartOnABusyPortFailsAndStopIsIdempotent) {
  StartSim();
  const int port = std::stoi(sim_->BaseUrl().substr(sim_->BaseUrl().rfind(':') + 1));
  Simulator other({});
  auto again = other.Start(port);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, fmt::format("cannot listen on 127.0.0.1:{}", port));
  sim_->Stop();
  sim_->Stop();
  sim_->Wait();
  EXPECT_FALSE(Get("function=TIME_SERIES_DAILY&symbol=IBM&apikey=K"));
}

}  // namespace
}  // namespace mdfetch
