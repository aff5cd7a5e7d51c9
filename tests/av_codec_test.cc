#include "mdfetch/av_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "av_codec_helpers.h"
#include "av_codec_internal.h"
#include "mdfetch/simulator.h"
#include "simulator_internal.h"

namespace mdfetch {
namespace {

using codec_test::AdjustedBar;
using codec_test::Ask;
using codec_test::BodyFor;
using codec_test::Compare;
using codec_test::DailyBody;
using codec_test::Decode;
using codec_test::JsonString;
using codec_test::MetaFor;
using codec_test::OhlcBar;
using codec_test::ReadSample;
using codec_test::ReplaceAll;
using codec_test::ReplaceFirst;
using codec_test::Series;
using codec_test::Verdict;

void ExpectBar(const Bar& bar, std::string_view ts, double open, double high, double low,
               double close, std::optional<double> volume) {
  EXPECT_EQ(bar.ts, ts);
  EXPECT_EQ(bar.open, open) << ts;
  EXPECT_EQ(bar.high, high) << ts;
  EXPECT_EQ(bar.low, low) << ts;
  EXPECT_EQ(bar.close, close) << ts;
  EXPECT_EQ(bar.volume, volume) << ts;
}

void ExpectAscendingUnique(const std::vector<Bar>& bars) {
  for (size_t i = 1; i < bars.size(); ++i) EXPECT_LT(bars[i - 1].ts, bars[i].ts) << i;
}

// ---- Every sample file -------------------------------------------------------------------

// Each sample decoded as the answer to its own call (av-samples/SOURCES.md).
TEST(AvCodecSampleTest, EverySampleFileIsClassified) {
  struct Row {
    const char* file;
    const char* series;
    AnswerKind kind;
  };
  const Row rows[] = {
      {"01_TIME_SERIES_DAILY.json", "MSFT", AnswerKind::kData},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted", AnswerKind::kData},
      {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT intraday:1min", AnswerKind::kData},
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly_adjusted", AnswerKind::kData},
      {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM monthly_adjusted", AnswerKind::kData},
      {"06_FX_DAILY.json", "EUR/USD fx_daily", AnswerKind::kData},
      {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/EUR crypto_daily", AnswerKind::kData},
      {"07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json", "BTC/CNY crypto_daily", AnswerKind::kData},
      {"08_GLOBAL_QUOTE.json", "MSFT", AnswerKind::kMalformed},
      {"09_SYMBOL_SEARCH.json", "BA", AnswerKind::kMalformed},
      {"10_ERROR_MESSAGE_invalid_call.json", "IBM", AnswerKind::kErrorMessage},
      {"11_NOTE_throttle_5min_500day.json", "IBM", AnswerKind::kThrottle},
      {"12_INFORMATION_throttle_2025.json", "IBM", AnswerKind::kThrottle},
      {"13_TIME_SERIES_DAILY_ADJUSTED.csv", "IBM daily_adjusted", AnswerKind::kIncomplete},
      {"14_TIME_SERIES_INTRADAY_5min.csv", "IBM intraday:5min", AnswerKind::kIncomplete},
  };
  for (const Row& row : rows) {
    const Answer answer = Decode(row.series, ReadSample(row.file));
    EXPECT_EQ(AnswerKindName(answer.kind), AnswerKindName(row.kind)) << row.file;
    EXPECT_EQ(answer.bars.empty(), row.kind != AnswerKind::kData) << row.file;
    if (row.kind == AnswerKind::kData) {
      EXPECT_EQ(answer.message, "") << row.file;
      EXPECT_EQ(answer.meta.symbol, Ask(row.series).key.symbol) << row.file;
    }
  }
}

TEST(AvCodecSampleTest, DailyCompactHas100BarsOldestFirst) {
  const Answer a = Decode("MSFT", ReadSample("01_TIME_SERIES_DAILY.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  EXPECT_EQ(a.message, "");
  ASSERT_EQ(a.bars.size(), 100u);
  ExpectBar(a.bars.front(), "2018-01-17", 89.08, 90.28, 88.75, 90.14, 24659472);
  ExpectBar(a.bars.back(), "2018-06-08", 101.0924, 101.95, 100.54, 101.63, 22165128);
  ExpectAscendingUnique(a.bars);
  EXPECT_EQ(a.bars.back().adjusted_close, std::nullopt);
  EXPECT_EQ(a.bars.back().dividend, std::nullopt);
  EXPECT_EQ(a.bars.back().split_coefficient, std::nullopt);
  EXPECT_EQ(a.meta.symbol, "MSFT");
  EXPECT_EQ(a.meta.last_refreshed, "2018-06-08");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
  EXPECT_EQ(a.meta.output_size, "Compact");
  EXPECT_EQ(a.meta.interval, "");
}

TEST(AvCodecSampleTest, DailyAdjustedHasAdjustedCloseDividendAndSplit) {
  const Answer a = Decode("IBM daily_adjusted", ReadSample("02_TIME_SERIES_DAILY_ADJUSTED.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  const Bar& first = a.bars.front();
  ExpectBar(first, "2020-05-07", 122.98, 123.26, 120.85, 121.23, 4412047);
  EXPECT_EQ(first.adjusted_close, 121.23);
  EXPECT_EQ(first.dividend, 1.63);
  EXPECT_EQ(first.split_coefficient, 1.0);
  const Bar& last = a.bars.back();
  ExpectBar(last, "2020-05-08", 122.67, 122.8, 121.06, 121.805, 2542577);
  EXPECT_EQ(last.adjusted_close, 121.805);
  EXPECT_EQ(last.dividend, 0.0);
  EXPECT_EQ(last.split_coefficient, 1.0);
  EXPECT_EQ(a.meta.symbol, "IBM");
  EXPECT_EQ(a.meta.last_refreshed, "2020-05-08 14:07:57");
  EXPECT_EQ(a.meta.output_size, "Full size");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
}

TEST(AvCodecSampleTest, IntradayHasDatetimesAndInterval) {
  const Answer a = Decode("MSFT intraday:1min", ReadSample("03_TIME_SERIES_INTRADAY_1min.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 100u);
  ExpectBar(a.bars.front(), "2018-06-01 14:21:00", 100.3975, 100.4558, 100.385, 100.455, 67726);
  ExpectBar(a.bars.back(), "2018-06-01 16:00:00", 100.615, 100.81, 100.59, 100.79, 4129781);
  ExpectAscendingUnique(a.bars);
  EXPECT_EQ(a.meta.symbol, "MSFT");
  EXPECT_EQ(a.meta.last_refreshed, "2018-06-01 16:00:00");
  EXPECT_EQ(a.meta.interval, "1min");
  EXPECT_EQ(a.meta.output_size, "Compact");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
}

TEST(AvCodecSampleTest, WeeklyAdjustedHasNoSplitCoefficient) {
  const Answer a = Decode("IBM weekly_adjusted", ReadSample("04_TIME_SERIES_WEEKLY_ADJUSTED.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  ExpectBar(a.bars.front(), "2020-05-01", 125.56, 129.31, 121.39, 121.87, 26502989);
  EXPECT_EQ(a.bars.front().adjusted_close, 120.2531);
  EXPECT_EQ(a.bars.front().dividend, 0.0);
  ExpectBar(a.bars.back(), "2020-05-08", 120.82, 124.32, 119.391, 121.7964, 18736550);
  EXPECT_EQ(a.bars.back().adjusted_close, 121.7964);
  EXPECT_EQ(a.bars.back().dividend, 1.63);
  EXPECT_EQ(a.bars.back().split_coefficient, std::nullopt);
  EXPECT_EQ(a.meta.symbol, "IBM");
  EXPECT_EQ(a.meta.last_refreshed, "2020-05-08 14:08:57");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
  EXPECT_EQ(a.meta.output_size, "");
}

TEST(AvCodecSampleTest, MonthlyAdjustedKeysPartialMonthByLatestDay) {
  const Answer a =
      Decode("IBM monthly_adjusted", ReadSample("05_TIME_SERIES_MONTHLY_ADJUSTED.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  ExpectBar(a.bars.front(), "2020-04-30", 106.36, 129.31, 104.521, 125.56, 130400316);
  EXPECT_EQ(a.bars.front().adjusted_close, 123.8942);
  EXPECT_EQ(a.bars.front().dividend, 0.0);
  ExpectBar(a.bars.back(), "2020-05-08", 123.19, 124.32, 119.391, 121.84, 23665041);
  EXPECT_EQ(a.bars.back().adjusted_close, 121.84);
  EXPECT_EQ(a.bars.back().dividend, 1.63);
  EXPECT_EQ(a.bars.back().split_coefficient, std::nullopt);
  EXPECT_EQ(a.meta.symbol, "IBM");
  EXPECT_EQ(a.meta.last_refreshed, "2020-05-08 14:09:56");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
}

TEST(AvCodecSampleTest, FxDailyJoinsPairAndHasNoVolume) {
  const Answer a = Decode("EUR/USD fx_daily", ReadSample("06_FX_DAILY.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  ExpectBar(a.bars.front(), "2020-05-05", 1.0904, 1.0926, 1.0825, 1.084, std::nullopt);
  ExpectBar(a.bars.back(), "2020-05-06", 1.0839, 1.0844, 1.078, 1.0794, std::nullopt);
  EXPECT_EQ(a.meta.symbol, "EUR/USD");
  EXPECT_EQ(a.meta.last_refreshed, "2020-05-06 21:55:00");
  EXPECT_EQ(a.meta.output_size, "Full size");
  EXPECT_EQ(a.meta.time_zone, "UTC");
}

TEST(AvCodecSampleTest, CryptoDailyJoinsCodeAndMarket) {
  const Answer a = Decode("BTC/EUR crypto_daily", ReadSample("07_DIGITAL_CURRENCY_DAILY.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 3u);
  ExpectBar(a.bars.front(), "2025-08-22", 96856.83, 100149.0, 96171.51, 99313.95, 260.30828027);
  ExpectBar(a.bars.back(), "2025-08-24", 97883.18, 98040.37, 97854.95, 97886.73, 9.35943544);
  EXPECT_EQ(a.meta.symbol, "BTC/EUR");
  EXPECT_EQ(a.meta.last_refreshed, "2025-08-24 00:00:00");
  EXPECT_EQ(a.meta.time_zone, "UTC");
}

TEST(AvCodecSampleTest, OtherEndpointsAreNotSeries) {
  EXPECT_EQ(Decode("MSFT", ReadSample("08_GLOBAL_QUOTE.json")).message,
            "no time series in answer (keys: Global Quote)");
  EXPECT_EQ(Decode("BA", ReadSample("09_SYMBOL_SEARCH.json")).message,
            "no time series in answer (keys: bestMatches)");
}

TEST(AvCodecSampleTest, RefusalSamplesKeepTheServiceText) {
  const Answer error = Decode("IBM", ReadSample("10_ERROR_MESSAGE_invalid_call.json"));
  EXPECT_EQ(error.kind, AnswerKind::kErrorMessage);
  EXPECT_EQ(error.message,
            "Invalid API call. Please retry or visit the documentation "
            "(https://www.alphavantage.co/documentation/) for BOP.");
  const Answer note = Decode("IBM", ReadSample("11_NOTE_throttle_5min_500day.json"));
  EXPECT_EQ(note.kind, AnswerKind::kThrottle);
  EXPECT_TRUE(note.message.starts_with("Thank you for using Alpha Vantage! Our standard API"));
  const Answer info = Decode("IBM", ReadSample("12_INFORMATION_throttle_2025.json"));
  EXPECT_EQ(info.kind, AnswerKind::kThrottle);
  EXPECT_TRUE(info.message.ends_with("instantly unlock all premium endpoints"));
}

TEST(AvCodecSampleTest, CsvAnswersAreNotJson) {
  const Answer daily =
      Decode("IBM daily_adjusted", ReadSample("13_TIME_SERIES_DAILY_ADJUSTED.csv"));
  EXPECT_EQ(daily.kind, AnswerKind::kIncomplete);
  EXPECT_EQ(daily.message, "not JSON: syntax error at byte 2");
  const Answer intraday =
      Decode("IBM intraday:5min", ReadSample("14_TIME_SERIES_INTRADAY_5min.csv"));
  EXPECT_EQ(intraday.kind, AnswerKind::kIncomplete);
  EXPECT_EQ(intraday.message, "not JSON: syntax error at byte 2");
}

// ---- Truncated and non-JSON bodies -------------------------------------------------------

TEST(AvCodecMalformedTest, TruncatedDailyBodyIsNeverData) {
  const std::string body = ReadSample("01_TIME_SERIES_DAILY.json");
  ASSERT_GT(body.size(), 5120u);
  // Every cut through the metadata and the first bars (every kind of token), then a sample
  // of the rest, the last bytes, and a cut at 5120.
  std::vector<size_t> cuts;
  for (size_t cut = 1; cut < body.size(); cut += (cut < 1500 ? 1 : 61)) cuts.push_back(cut);
  for (const size_t cut : {size_t{5120}, body.size() - 2, body.size() - 1}) cuts.push_back(cut);
  for (const size_t cut : cuts) {
    const Answer a = Decode("MSFT", std::string_view(body).substr(0, cut));
    ASSERT_EQ(a.kind, AnswerKind::kIncomplete) << "cut at " << cut;
    ASSERT_EQ(a.message, "truncated JSON at byte " + std::to_string(cut));
    ASSERT_TRUE(a.bars.empty());
  }
}

TEST(AvCodecMalformedTest, NonJsonBodiesSayWhere) {
  struct Row {
    const char* body;
    const char* message;
  };
  const Row rows[] = {
      {"<html><body>Application Error</body></html>", "not JSON: syntax error at byte 1"},
      {R"j({"a": 1} x)j", "not JSON: syntax error at byte 10"},
      {"", "empty body"},
      {" \r\n", "empty body"},
  };
  for (const Row& row : rows) {
    const Answer a = Decode("IBM", row.body);
    EXPECT_EQ(a.kind, AnswerKind::kIncomplete) << row.body;
    EXPECT_EQ(a.message, row.message);
  }
}

TEST(AvCodecMalformedTest, TopLevelValueMustBeAnObject) {
  EXPECT_EQ(Decode("IBM", "[1, 2]").kind, AnswerKind::kMalformed);
  EXPECT_EQ(Decode("IBM", "[1, 2]").message, "answer is a JSON array, not an object");
  EXPECT_EQ(Decode("IBM", R"j("Time Series (Daily)")j").message,
            "answer is a JSON string, not an object");
  EXPECT_EQ(Decode("IBM", "42").message, "answer is a JSON integer, not an object");
  EXPECT_EQ(Decode("IBM", "null").message, "answer is a JSON null, not an object");
}

TEST(AvCodecMalformedTest, ObjectWithoutSeriesListsAtMostFiveKeys) {
  EXPECT_EQ(Decode("IBM", "{}").message, "no time series in answer (empty object)");
  EXPECT_EQ(Decode("IBM", R"j({"foo": 1, "bar": {"Time Series (Daily)": {}}})j").message,
            "no time series in answer (keys: foo, bar)");
  EXPECT_EQ(
      Decode("IBM", R"j({"a": 1, "b": [], "c": {}, "d": null, "e": "x", "f": 2, "g": 3})j").message,
      "no time series in answer (keys: a, b, c, d, e, ...)");
  // A series key whose value is not an object is no series.
  EXPECT_EQ(Decode("IBM", R"j({"Time Series (Daily)": "none"})j").message,
            "no time series in answer (keys: Time Series (Daily))");
  EXPECT_EQ(Decode("IBM", R"j({"Time Series (Daily)": [{"1. open": 1}]})j").message,
            "no time series in answer (keys: Time Series (Daily))");
  EXPECT_EQ(Decode("IBM", R"j({"Global Quote": {}})j").message,
            "no time series in answer (keys: Global Quote)");
}

TEST(AvCodecMalformedTest, EmptySeriesIsMalformed) {
  const Answer a = Decode("IBM", DailyBody({}));
  EXPECT_EQ(a.kind, AnswerKind::kMalformed);
  EXPECT_EQ(a.message, "empty time series");
}

TEST(AvCodecMalformedTest, MessagesQuoteAtMostFortyCharacters) {
  const std::string long_value(500, '7');
  const Answer bad_number = Decode("IBM", DailyBody({OhlcBar("2018-06-08", "12x" + long_value)}));
  EXPECT_EQ(bad_number.message,
            "bar 2018-06-08: '12x" + std::string(37, '7') + "...' is not a number in 'close'");
  const Answer bad_ts = Decode("IBM", DailyBody({OhlcBar(long_value, "1")}));
  EXPECT_EQ(bad_ts.message, "bad timestamp '" + std::string(40, '7') + "...'");
  const std::string long_key(300, 'k');
  const Answer no_series = Decode("IBM", "{" + JsonString(long_key) + ": 1}");
  EXPECT_EQ(no_series.message, "no time series in answer (keys: " + std::string(40, 'k') + "...)");
}

// ---- Bars --------------------------------------------------------------------------------

TEST(AvCodecBarTest, MissingRequiredFieldNamesBarAndField) {
  const std::string bar =
      R"j("2018-06-08": {"1. open": "1", "2. high": "2", "3. low": "0.5", "5. volume": "7"})j";
  const Answer a = Decode("IBM", DailyBody({bar}));
  EXPECT_EQ(a.kind, AnswerKind::kMalformed);
  EXPECT_EQ(a.message, "bar 2018-06-08: missing close");
  EXPECT_TRUE(a.bars.empty());
  const std::string no_open = R"j("2018-06-08": {"2. high": "2", "4. close": "1"})j";
  EXPECT_EQ(Decode("IBM", DailyBody({no_open})).message, "bar 2018-06-08: missing open");
}

TEST(AvCodecBarTest, ValueThatIsNotANumberFailsTheWholeAnswer) {
  const std::string bad =
      R"j("2018-06-08": {"1. open": "abc", "2. high": "2", "3. low": "0.5", "4. close": "1"})j";
  const Answer a = Decode("IBM", DailyBody({OhlcBar("2018-06-09", "1"), bad}));
  EXPECT_EQ(a.kind, AnswerKind::kMalformed);
  EXPECT_EQ(a.message, "bar 2018-06-08: 'abc' is not a number in 'open'");
  EXPECT_TRUE(a.bars.empty());
  for (const char* value : {"", "1.5 ", " 1.5", "+1", "nan", "inf", "-", "0x10"}) {
    const Answer b = Decode("IBM", DailyBody({OhlcBar("2018-06-08", value)}));
    EXPECT_EQ(b.kind, AnswerKind::kMalformed) << value;
    EXPECT_EQ(b.message, "bar 2018-06-08: '" + std::string(value) + "' is not a number in 'close'");
  }
  const std::string null_volume = R"j("2018-06-08": {"1. open": "1", "2. high": "2",
      "3. low": "0.5", "4. close": "1", "5. volume": null})j";
  EXPECT_EQ(Decode("IBM", DailyBody({null_volume})).message,
            "bar 2018-06-08: 'null' is not a number in 'volume'");
  const std::string object_dividend = R"j("2018-06-08": {"1. open": "1", "2. high": "2",
      "3. low": "0.5", "4. close": "1", "7. dividend amount": {}})j";
  EXPECT_EQ(Decode("IBM", DailyBody({object_dividend})).message,
            "bar 2018-06-08: '{...}' is not a number in 'dividend amount'");
}

TEST(AvCodecBarTest, TimestampMustBeDateOrDatetime) {
  EXPECT_EQ(Decode("IBM", DailyBody({OhlcBar("xyz", "1")})).message, "bad timestamp 'xyz'");
  for (const char* ts : {"2018-6-08", "2018-06-08T10:00:00", "2018-06-08 10:00", "2018/06/08",
                         "2018-06-0a", " 2018-06-08", "2018-06-08 10:00:0x", ""}) {
    const Answer a = Decode("IBM", DailyBody({OhlcBar(ts, "1")}));
    EXPECT_EQ(a.kind, AnswerKind::kMalformed) << ts;
    EXPECT_EQ(a.message, "bad timestamp '" + std::string(ts) + "'");
  }
  const Answer ok = Decode("IBM intraday:5min", BodyFor("IBM intraday:5min", "Time Series (5min)",
                                                        {OhlcBar("2018-06-08 09:35:00", "1")}));
  ASSERT_EQ(ok.kind, AnswerKind::kData) << ok.message;
  EXPECT_EQ(ok.bars.at(0).ts, "2018-06-08 09:35:00");
}

TEST(AvCodecBarTest, DuplicateTimestampKeepsTheLastOne) {
  const Answer a =
      Decode("IBM", DailyBody({OhlcBar("2018-06-08", "1"), OhlcBar("2018-06-07", "2"),
                               OhlcBar("2018-06-08", "3"), OhlcBar("2018-06-08", "4")}));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  EXPECT_EQ(a.bars[0].ts, "2018-06-07");
  EXPECT_EQ(a.bars[0].close, 2.0);
  EXPECT_EQ(a.bars[1].ts, "2018-06-08");
  EXPECT_EQ(a.bars[1].close, 4.0);
}

TEST(AvCodecBarTest, BarsComeOutAscendingWhateverTheBodyOrder) {
  const Answer mixed =
      Decode("IBM", DailyBody({OhlcBar("2018-06-07", "2"), OhlcBar("2018-06-09", "3"),
                               OhlcBar("2018-06-05", "1")}));
  ASSERT_EQ(mixed.bars.size(), 3u);
  EXPECT_EQ(mixed.bars[0].close, 1.0);
  EXPECT_EQ(mixed.bars[1].close, 2.0);
  EXPECT_EQ(mixed.bars[2].close, 3.0);
  const Answer ascending =
      Decode("IBM", DailyBody({OhlcBar("2018-06-05", "1"), OhlcBar("2018-06-07", "2")}));
  ASSERT_EQ(ascending.bars.size(), 2u);
  EXPECT_EQ(ascending.bars[0].ts, "2018-06-05");
  EXPECT_EQ(ascending.bars[1].ts, "2018-06-07");
}

TEST(AvCodecBarTest, BareJsonNumbersAreAccepted) {
  const std::string bar = R"j("2025-08-24": {"1. open": 97883.18, "2. high": "98040.37",
      "3. low": 97854, "4. close": -1.5e2, "5. volume": 12345678901234567890})j";
  const Answer a = Decode("IBM", DailyBody({bar}));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ExpectBar(a.bars.at(0), "2025-08-24", 97883.18, 98040.37, 97854, -150, 12345678901234567890.0);
}

TEST(AvCodecBarTest, KeepsFullPrecisionAndIgnoresUnknownFields) {
  const std::string bar = R"j("2018-06-08": {"1. open": "298.85821743109733", "2. high": "300",
      "3. low": "218.2", "4. close": "1.0", "9. mystery": "n/a", "10. extra": {"x": [1]},
      "11. flag": true})j";
  const Answer a = Decode("IBM", DailyBody({bar}));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ExpectBar(a.bars.at(0), "2018-06-08", 298.85821743109733, 300, 218.2, 1.0, std::nullopt);
}

// The "1a" field is the market's, whichever comes first; the "1b" copy in USD is not read.
TEST(AvCodecBarTest, Pre2024CryptoTakesMarketCurrencyAndIgnoresMarketCap) {
  const std::string body = R"j({"Meta Data": {"2. Digital Currency Code": "BTC",
      "3. Digital Currency Name": "Bitcoin", "4. Market Code": "CNY", "5. Market Name": "Yuan",
      "6. Last Refreshed": "2020-05-08 00:00:00", "7. Time Zone": "UTC"},
    "Time Series (Digital Currency Daily)": {"2020-05-08": {
      "1b. open (USD)": "9900.1", "1a. open (CNY)": "70000.1",
      "2a. high (CNY)": "71000.2", "2b. high (USD)": "10000.2",
      "3a. low (CNY)": "69000.3", "3b. low (USD)": "9800.3",
      "4a. close (CNY)": "70500.4", "4b. close (USD)": "9950.4",
      "5. volume": "1234.5", "6. market cap (USD)": "12283447.8"}}})j";
  const Answer a = Decode("BTC/CNY crypto_daily", body);
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ExpectBar(a.bars.at(0), "2020-05-08", 70000.1, 71000.2, 69000.3, 70500.4, 1234.5);
  EXPECT_EQ(a.meta.symbol, "BTC/CNY");
  EXPECT_EQ(a.meta.time_zone, "UTC");
}

TEST(AvCodecBarTest, BarThatIsNotAnObjectIsMalformed) {
  EXPECT_EQ(Decode("IBM", DailyBody({R"j("2018-06-08": "1.5")j"})).message,
            "bar 2018-06-08: not an object");
  EXPECT_EQ(Decode("IBM", DailyBody({R"j("2018-06-08": [1])j"})).message,
            "bar 2018-06-08: not an object");
  EXPECT_EQ(Decode("IBM", DailyBody({R"j("2018-06-08": 7)j"})).message,
            "bar 2018-06-08: not an object");
}

// ---- Series key and metadata -------------------------------------------------------------

TEST(AvCodecKeyTest, EachFunctionFindsItsSeriesKey) {
  struct Row {
    const char* series;
    const char* key;
  };
  const Row rows[] = {
      {"IBM", "Time Series (Daily)"},
      {"IBM daily_adjusted", "Time Series (Daily)"},
      {"IBM intraday:60min", "Time Series (60min)"},
      {"IBM weekly", "Weekly Time Series"},
      {"IBM weekly_adjusted", "Weekly Adjusted Time Series"},
      {"IBM monthly", "Monthly Time Series"},
      {"IBM monthly_adjusted", "Monthly Adjusted Time Series"},
      {"EUR/USD fx_daily", "Time Series FX (Daily)"},
      {"BTC/EUR crypto_daily", "Time Series (Digital Currency Daily)"},
  };
  for (const Row& row : rows) {
    const bool adjusted = IsAdjusted(Ask(row.series).key.function);
    const std::string bar = adjusted ? AdjustedBar("2020-01-02", "5") : OhlcBar("2020-01-02", "5");
    const Answer a = Decode(row.series, BodyFor(row.series, row.key, {bar}));
    ASSERT_EQ(a.kind, AnswerKind::kData) << row.key << ": " << a.message;
    EXPECT_EQ(a.bars.at(0).close, 5.0) << row.key;
  }
}

// Another series' key is read, so that the check can name what came; the exact key wins.
TEST(AvCodecKeyTest, LookAlikeSeriesKeyIsAMismatchButExactKeyWins) {
  const std::string meta = MetaFor("EUR/USD fx_daily");
  const std::string odd = Series("Time Series FX (Weekly)", {OhlcBar("2020-01-03", "1")});
  const std::string exact = Series("Time Series FX (Daily)", {OhlcBar("2020-01-02", "2")});
  const Answer only_odd = Decode("EUR/USD fx_daily", "{" + meta + ", " + odd + "}");
  EXPECT_EQ(only_odd.kind, AnswerKind::kMismatch);
  EXPECT_EQ(only_odd.message, "asked EUR/USD fx_daily, the answer is EUR/USD fx_weekly");
  EXPECT_TRUE(only_odd.bars.empty());
  for (const std::string& series :
       {"{" + odd + ", " + exact + "}", "{" + exact + ", " + odd + "}"}) {
    const std::string body = "{" + meta + ", " + series.substr(1);
    const Answer a = Decode("EUR/USD fx_daily", body);
    ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
    ASSERT_EQ(a.bars.size(), 1u) << body;
    EXPECT_EQ(a.bars[0].close, 2.0) << body;
  }
}

TEST(AvCodecKeyTest, MetaFieldsMatchByNameNotNumber) {
  const std::string body = R"j({"Meta Data": {"9. Time Zone": "US/Eastern", "1. Symbol": "X",
      "7. Interval": "5min", "2. Output Size": "Compact", "4. Last Refreshed": "2020-05-08",
      "8. Nested": {"2. Symbol": "WRONG"}, "3. Information": "Intraday (5min)"}, )j" +
                           Series("Time Series (5min)", {OhlcBar("2020-05-08 09:30:00", "1")}) +
                           "}";
  const Answer a = Decode("X intraday:5min", body);
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  EXPECT_EQ(a.meta.symbol, "X");
  EXPECT_EQ(a.meta.time_zone, "US/Eastern");
  EXPECT_EQ(a.meta.interval, "5min");
  EXPECT_EQ(a.meta.output_size, "Compact");
  EXPECT_EQ(a.meta.last_refreshed, "2020-05-08");
}

TEST(AvCodecKeyTest, SeriesBesideARefusalIsData) {
  const std::string series = Series("Time Series (Daily)", {OhlcBar("2020-01-02", "2")});
  for (const char* refusal : {"Note", "Information", "Error Message"}) {
    const std::string body = "{" + JsonString(refusal) +
                             R"j(: "Thank you for using Alpha Vantage!", )j" + MetaFor("IBM") +
                             ", " + series + "}";
    const Answer a = Decode("IBM", body);
    EXPECT_EQ(a.kind, AnswerKind::kData) << refusal;
    EXPECT_EQ(a.message, "") << refusal;
    EXPECT_EQ(a.bars.size(), 1u) << refusal;
  }
}

// ---- Refusals ----------------------------------------------------------------------------

struct NoticeRow {
  const char* text;
  AnswerKind kind;
};

// Every wording in ALPHAVANTAGE.md section 4.1, verbatim, then a few never seen.
const NoticeRow kNotices[] = {
    {"Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
     "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
     "to target a higher API call frequency.",
     AnswerKind::kThrottle},
    {"Thank you for using Alpha Vantage! Please visit https://www.alphavantage.co/premium/ if you "
     "would like to have a higher API call volume.",
     AnswerKind::kThrottle},
    {"… Please kindly contact support@alphavantage.co if you would like to have a higher API "
     "call volume",
     AnswerKind::kThrottle},
    {"We have detected your API key as <KEY> and our standard API rate limit is 25 requests per "
     "day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
     "to instantly remove all daily rate limits.",
     AnswerKind::kDailyLimit},
    {"Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. …",
     AnswerKind::kDailyLimit},
    {"Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
     "more sparingly. You may subscribe to any of the premium plans at "
     "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) "
     "and instantly unlock all premium endpoints",
     AnswerKind::kThrottle},
    {"Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
     "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
     "endpoints",
     AnswerKind::kPremium},
    {"Thank you for using Alpha Vantage! This is a premium endpoint and there are multiple ways "
     "to unlock premium endpoints: (1) become a holder of Alpha Vantage Coin (AVC) … (2) "
     "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
     "unlock all premium endpoints",
     AnswerKind::kPremium},
    {"Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium "
     "feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans "
     "at https://www.alphavantage.co/premium/ to instantly unlock all premium features",
     AnswerKind::kPremiumFull},
    {"The **demo** API key is for demo purposes only. Please claim your free API key at "
     "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes "
     "fewer than 20 seconds, and we are committed to making it free forever.",
     AnswerKind::kKeyRejected},
    // Not seen verbatim: the burst variants 4.1 describes, a real key that contains "demo", a
    // change of case, and wording never seen.
    {"Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
     "more sparingly (1 request per second). You may subscribe to any of the premium plans at "
     "https://www.alphavantage.co/premium/ to raise the per-second burst limit and instantly "
     "unlock all premium endpoints.",
     AnswerKind::kThrottle},
    {"We have detected your API key as DEMO7X2Q and our standard API rate limit is 25 requests "
     "per day.",
     AnswerKind::kDailyLimit},
    {"THIS IS A PREMIUM ENDPOINT.", AnswerKind::kPremium},
    {"Our servers are busy, please try again shortly.", AnswerKind::kThrottle},
    {"", AnswerKind::kThrottle},
};

TEST(AvCodecNoticeTest, ClassifiesEveryKnownWording) {
  for (const NoticeRow& row : kNotices) {
    EXPECT_EQ(AnswerKindName(ClassifyNotice(row.text)), AnswerKindName(row.kind)) << row.text;
  }
}

TEST(AvCodecNoticeTest, NoteAndInformationBodiesClassifyByText) {
  for (const NoticeRow& row : kNotices) {
    for (const char* key : {"Note", "Information"}) {
      const std::string body = "{" + JsonString(key) + ": " + JsonString(row.text) + "}";
      const Answer a = Decode("IBM", body);
      EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(row.kind)) << key << ": " << row.text;
      EXPECT_EQ(a.message, row.text);
      EXPECT_TRUE(a.bars.empty());
    }
  }
}

TEST(AvCodecNoticeTest, EmptySeriesBesideANoticeClassifiesByTheNotice) {
  const Answer a = Decode(
      "IBM", R"j({"Time Series (Daily)": {}, "Information": "This is a premium endpoint."})j");
  EXPECT_EQ(a.kind, AnswerKind::kPremium);
  EXPECT_EQ(a.message, "This is a premium endpoint.");
}

TEST(AvCodecErrorTest, ErrorMessagesArePermanentUnlessTheKeyIsRejected) {
  struct Row {
    const char* text;
    AnswerKind kind;
  };
  const Row rows[] = {
      {"Invalid API call. Please retry or visit the documentation "
       "(https://www.alphavantage.co/documentation/) for TIME_SERIES_INTRADAY.",
       AnswerKind::kErrorMessage},
      {"This API function (TIME_SERIES_INTRAAY) does not exist.", AnswerKind::kErrorMessage},
      {"the parameter apikey is invalid or missing. Please claim your free API key on "
       "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds.",
       AnswerKind::kKeyRejected},
  };
  for (const Row& row : rows) {
    const Answer a = Decode("IBM", R"j({"Error Message": )j" + JsonString(row.text) + "}");
    EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(row.kind)) << row.text;
    EXPECT_EQ(a.message, row.text);
  }
}

TEST(AvCodecErrorTest, KindsHaveNames) {
  EXPECT_EQ(AnswerKindName(AnswerKind::kData), "data");
  EXPECT_EQ(AnswerKindName(AnswerKind::kErrorMessage), "error message");
  EXPECT_EQ(AnswerKindName(AnswerKind::kThrottle), "throttle");
  EXPECT_EQ(AnswerKindName(AnswerKind::kDailyLimit), "daily limit");
  EXPECT_EQ(AnswerKindName(AnswerKind::kPremium), "premium");
  EXPECT_EQ(AnswerKindName(AnswerKind::kKeyRejected), "key rejected");
  EXPECT_EQ(AnswerKindName(AnswerKind::kPremiumFull), "premium full");
  EXPECT_EQ(AnswerKindName(AnswerKind::kIncomplete), "incomplete");
  EXPECT_EQ(AnswerKindName(AnswerKind::kMalformed), "malformed");
  EXPECT_EQ(AnswerKindName(AnswerKind::kMismatch), "mismatch");
}

// ---- The scanner and the SAX decoder agree -----------------------------------------------

// `json` without whitespace outside strings: the compact layout.
std::string Compact(std::string_view json) {
  std::string out;
  bool in_string = false;
  bool escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    }
    out += c;
  }
  return out;
}

// The n-th (0-based) bar timestamp of a body, quoted, or "" if there are fewer: a timestamp
// followed by a colon, unlike "3. Last Refreshed".
std::string NthTimestamp(std::string_view body, size_t n) {
  size_t seen = 0;
  for (size_t at = body.find('"'); at != std::string_view::npos;) {
    const size_t close = body.find('"', at + 1);
    if (close == std::string_view::npos) break;
    const size_t next = body.find_first_not_of(" \r\n\t", close + 1);
    if (internal::IsTimestamp(body.substr(at + 1, close - at - 1)) &&
        next != std::string_view::npos && body[next] == ':' && seen++ == n) {
      return std::string(body.substr(at, close - at + 1));
    }
    at = body.find('"', close + 1);
  }
  return "";
}

// `body` with the bar key `ts` (quoted) replaced by `to`.
std::string RekeyBar(const std::string& body, const std::string& ts, const std::string& to) {
  if (ts.empty() || to.empty()) return body;
  for (const char* colon : {":", " :"}) {
    if (body.find(ts + colon) != std::string::npos) {
      return ReplaceFirst(body, ts + colon, to + colon);
    }
  }
  return body;
}

// Edits of the bars' keys (the service writes them newest first, "YYYY-MM-DD").
std::string BarNotAnObject(const std::string& body) {
  const std::string ts = NthTimestamp(body, 1);
  return ReplaceFirst(body, ts + ": {", ts + ": \"x\", \"0000-00-00\": {");
}

std::string BadTimestamp(const std::string& body) {
  const std::string ts = NthTimestamp(body, 1);
  return ts.empty() ? body : RekeyBar(body, ts, "\"" + ts.substr(1, 7) + "x" + ts.substr(9));
}

std::string DatetimeTimestamp(const std::string& body) {
  const std::string ts = NthTimestamp(body, 0);
  return ts.empty() ? body : RekeyBar(body, ts, ts.substr(0, ts.size() - 1) + " 09:30:00\"");
}

std::string DuplicateTimestamp(const std::string& body) {
  return RekeyBar(body, NthTimestamp(body, 1), NthTimestamp(body, 0));
}

std::string DuplicateOfTheLast(const std::string& body) {
  std::string last;
  for (size_t n = 1; !NthTimestamp(body, n).empty(); ++n) last = NthTimestamp(body, n);
  return last.empty() ? body : RekeyBar(body, last, NthTimestamp(body, 0));
}

std::string SwappedTimestamps(const std::string& body) {
  const std::string first = NthTimestamp(body, 0);
  const std::string second = NthTimestamp(body, 1);
  if (second.empty()) return body;
  return RekeyBar(RekeyBar(RekeyBar(body, first, "\"@\""), second, first), "\"@\"", second);
}

struct Mutation {
  const char* name;
  std::function<std::string(const std::string&)> apply;
};

// Edits that a real body might carry, each of which the scanner must either read exactly as the
// SAX decoder does or decline.
std::vector<Mutation> Mutations() {
  const auto replace_first = [](std::string from, std::string to) {
    return [=](const std::string& b) { return ReplaceFirst(b, from, to); };
  };
  const auto replace_all = [](std::string from, std::string to) {
    return [=](const std::string& b) { return ReplaceAll(b, from, to); };
  };
  // The value (JSON text) of the first or every member whose key ends in `key`, edited.
  const auto edit_values = [](std::string key, bool every,
                              std::function<std::string(std::string_view)> edit) {
    return [=](const std::string& b) {
      std::string out = b;
      const std::string pattern = key + "\":";
      for (size_t at = out.find(pattern); at != std::string::npos; at = out.find(pattern, at + 1)) {
        const size_t open = out.find_first_not_of(" ", at + pattern.size());
        if (open == std::string::npos) break;
        const size_t close =
            out[open] == '"' ? out.find('"', open + 1) + 1 : out.find_first_of(",}", open);
        if (close == 0 || close == std::string::npos) break;
        out.replace(open, close - open, edit(std::string_view(out).substr(open, close - open)));
        if (!every) break;
      }
      return out;
    };
  };
  const auto unquoted = [](std::string_view v) { return std::string(v.substr(1, v.size() - 2)); };
  const auto prefixed = [](std::string prefix) {
    return [=](std::string_view v) { return "\"" + prefix + std::string(v.substr(1)); };
  };
  std::vector<Mutation> mutations = {
      {"unchanged", [](const std::string& b) { return b; }},
      {"compact", [](const std::string& b) { return Compact(b); }},
      // Keys renamed.
      {"meta key case", replace_first("\"Meta Data\"", "\"Meta data\"")},
      {"no meta", replace_first("\"Meta Data\"", "\"Meta Date\"")},
      {"symbol renamed", replace_first("Symbol\"", "Symbols\"")},
      {"time zone renamed", replace_first("Time Zone\"", "Time zone\"")},
      {"series look-alike", replace_first("\"Time Series", "\"Time Series (Weekly) ")},
      {"series daily", replace_all("Weekly Time Series", "Time Series (Daily)")},
      {"open misspelt", replace_first("open\"", "opne\"")},
      {"all closes renamed", replace_all("close\"", "Close\"")},
      {"close renamed once", replace_first("4. close\"", "4. closing\"")},
      {"crypto open", replace_all("1. open\"", "1a. open (CNY)\"")},
      {"volume with currency", replace_all("volume\"", "volume (USD)\"")},
      {"field renumbered", replace_all("\"2. high\"", "\"7. high\"")},
      {"unknown field", replace_all("\"1. open\"", "\"0. mystery\": \"n/a\", \"1. open\"")},
      {"empty key first", replace_all("\"1. open\"", "\"\": \"1\", \"1. open\"")},
      {"duplicate field", replace_first("\"1. open\"", "\"1. open\": \"7.25\", \"1. open\"")},
      {"refusal beside", replace_first("\"Meta Data\"", "\"Note\": \"slow down\", \"Meta Data\"")},
      // Whitespace.
      {"crlf", replace_all("\n", "\r\n")},
      {"tabs", replace_all("    ", "\t")},
      {"two-space indent", replace_all("    ", "  ")},
      {"space before colon", replace_all("\": ", "\" : ")},
      {"no space after colon", replace_all("\": ", "\":")},
      {"space before comma", replace_all(",\n", " ,\n")},
      {"leading and trailing", [](const std::string& b) { return "\n \t" + b + " \r\n"; }},
      {"vertical tab", [](const std::string& b) { return b + "\v"; }},
      {"byte order mark", [](const std::string& b) { return "\xEF\xBB\xBF" + b; }},
      {"comment", [](const std::string& b) { return "/* x */" + b; }},
      // Escapes and text that is not plain ASCII, in a key, the series key, a value, a number.
      {"escaped key", replace_first("Zone\"", "Z\\u006fne\"")},
      {"escaped series key", replace_first("Series", "Seri\\u0065s")},
      {"escaped field", replace_all("\"3. low\"", "\"3. l\\u006fw\"")},
      {"escaped slash",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\\/" + std::string(v.substr(1)); })},
      {"escaped quote",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\\\"" + std::string(v.substr(1)); })},
      {"escaped number", edit_values("high", false,
                                     [](std::string_view v) {
                                       return ReplaceFirst(std::string(v), ".", "\\u002e");
                                     })},
      {"utf-8 text",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\xC3\xA9" + std::string(v.substr(1)); })},
      {"bad utf-8 text",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\xC3(" + std::string(v.substr(1)); })},
      {"control character",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\x01" + std::string(v.substr(1)); })},
      {"delete character",
       edit_values("Time Zone", false,
                   [](std::string_view v) { return "\"\x7F" + std::string(v.substr(1)); })},
      {"unit separator", edit_values("Time Zone", false, [](std::string_view v) {
         return "\"\x1F" + std::string(v.substr(1));
       })},
      {"high bit in a number",
       edit_values("low", false,
                   [](std::string_view v) { return "\"1\x80" + std::string(v.substr(1)); })},
      // Numbers and values.
      {"number unquoted", edit_values("close", false, unquoted)},
      {"every volume unquoted", edit_values("volume", true, unquoted)},
      {"every volume null", edit_values("volume", true, [](std::string_view) { return "null"; })},
      {"empty value", edit_values("low", false, [](std::string_view) { return "\"\""; })},
      {"object value",
       edit_values("dividend amount", false, [](std::string_view) { return "{}"; })},
      {"exponent", edit_values("close", true,
                               [](std::string_view v) {
                                 return std::string(v.substr(0, v.size() - 1)) + "e-1\"";
                               })},
      {"bad exponent", edit_values("open", false,
                                   [](std::string_view v) {
                                     return std::string(v.substr(0, v.size() - 1)) + "e\"";
                                   })},
      {"plus sign", edit_values("open", false, prefixed("+"))},
      {"minus sign", edit_values("low", true, prefixed("-"))},
      {"negative zero", edit_values("low", true, [](std::string_view) { return "\"-0.0\""; })},
      {"trailing dot", edit_values("volume", true,
                                   [](std::string_view v) {
                                     return std::string(v.substr(0, v.size() - 1)) + ".\"";
                                   })},
      {"leading dot", edit_values("high", false, prefixed("."))},
      {"leading zeros", edit_values("high", true, prefixed("000"))},
      {"space in a number", edit_values("high", false, prefixed(" "))},
      {"beyond 2^53", edit_values("high", true, prefixed("9007199254740993"))},
      {"twenty digits", edit_values("high", true, prefixed("1234567890123"))},
      {"too large", edit_values("high", false, [](std::string_view) { return "\"1e999\""; })},
      {"meta value a number", edit_values("Time Zone", false, unquoted)},
      {"meta nested", replace_first("\"Meta Data\": {", "\"Meta Data\": {\"x\": {},")},
      {"meta empty",
       [](const std::string& b) {
         const size_t open = b.find("\"Meta Data\": {");
         const size_t close = b.find('}', open);
         if (open == std::string::npos) return b;
         return b.substr(0, open) + "\"Meta Data\": {" + b.substr(close);
       }},
      // Structure.
      {"trailing comma",
       [](const std::string& b) {
         const size_t end = b.rfind('}', b.rfind('}') - 1);
         return end == std::string::npos ? b : b.substr(0, end) + "}," + b.substr(end + 1);
       }},
      {"empty series",
       [](const std::string& b) {
         const size_t open = b.find('{', b.find("\":", b.find("Time Series") + 1));
         if (open == std::string::npos) return b;
         return b.substr(0, open) + "{}}";
       }},
      {"extra top-level key",
       [](const std::string& b) { return b.substr(0, b.rfind('}')) + ", \"x\": 1}"; }},
      {"meta after series",
       [](const std::string& b) {
         const size_t open = b.find("\"Meta Data\"");
         const size_t close = b.find('}', open);
         if (close == std::string::npos || b.find('"', close) == std::string::npos) return b;
         const std::string meta = b.substr(open, close - open + 1);
         std::string rest = b.substr(0, open) + b.substr(b.find('"', close));
         return rest.substr(0, rest.rfind('}')) + ", " + meta + "}";
       }},
      {"series twice",
       [](const std::string& b) {
         const size_t open = b.find('"', b.find('}', b.find("\"Meta Data\"")));
         if (open == std::string::npos) return b;
         const std::string series = b.substr(open, b.rfind('}') - open);
         return b.substr(0, b.rfind('}')) + ", " + series + "}";
       }},
      {"bar not an object", BarNotAnObject},
      {"bar missing close", replace_first("\"4. close\"", "\"4. closure\"")},
      {"bad timestamp", BadTimestamp},
      {"datetime timestamp", DatetimeTimestamp},
      {"duplicate timestamp", DuplicateTimestamp},
      {"duplicate of the last", DuplicateOfTheLast},
      {"swapped timestamps", SwappedTimestamps},
      {"array value", replace_first("\"Meta Data\"", "\"x\": [1, {\"a\": null}], \"Meta Data\"")},
      {"body is an array", [](const std::string& b) { return "[" + b + "]"; }},
      {"two bodies", [](const std::string& b) { return b + b; }},
  };
  // One byte at each offset of the first eight-byte word of a string and past it: the scanner
  // reads strings eight bytes at a time.
  for (const char byte : {'\0', '\x1F', ' ', '\\', '\x7F', '\x80', '\xFF'}) {
    for (const size_t offset : {0, 3, 7, 8, 13}) {
      mutations.push_back({"a byte in the information text", [=](const std::string& b) {
                             std::string out = b;
                             const size_t at = out.find("Information\": \"");
                             if (at != std::string::npos) out.insert(at + 15 + offset, 1, byte);
                             return out;
                           }});
    }
  }
  return mutations;
}

// A body to decode as the answer to `request`.
struct CorpusBody {
  std::string name;
  Request request;
  std::string text;
};

// Every recorded sample, and a simulator answer of every function in the service's layout.
std::vector<CorpusBody> Corpus() {
  std::vector<CorpusBody> corpus;
  const std::pair<const char*, const char*> files[] = {
      {"01_TIME_SERIES_DAILY.json", "MSFT"},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted"},
      {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT intraday:1min"},
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly_adjusted"},
      {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM monthly_adjusted"},
      {"06_FX_DAILY.json", "EUR/USD fx_daily"},
      {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/EUR crypto_daily"},
      {"07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json", "BTC/CNY crypto_daily"},
      {"08_GLOBAL_QUOTE.json", "MSFT"},
      {"09_SYMBOL_SEARCH.json", "BA"},
      {"10_ERROR_MESSAGE_invalid_call.json", "IBM"},
      {"11_NOTE_throttle_5min_500day.json", "IBM"},
      {"12_INFORMATION_throttle_2025.json", "IBM"},
      {"13_TIME_SERIES_DAILY_ADJUSTED.csv", "IBM daily_adjusted"},
      {"14_TIME_SERIES_INTRADAY_5min.csv", "IBM intraday:5min"},
  };
  for (const auto& [file, series] : files) {
    corpus.push_back({file, Ask(series), ReadSample(file)});
  }
  const Date last{std::chrono::year(2026), std::chrono::month(5), std::chrono::day(15)};
  const SeriesKey keys[] = {
      {"IBM", Function::kDaily, ""},           {"IBM", Function::kDailyAdjusted, ""},
      {"IBM", Function::kWeekly, ""},          {"IBM", Function::kWeeklyAdjusted, ""},
      {"IBM", Function::kMonthly, ""},         {"IBM", Function::kMonthlyAdjusted, ""},
      {"IBM", Function::kIntraday, "5min"},    {"EUR/USD", Function::kFxDaily, ""},
      {"BTC/EUR", Function::kCryptoDaily, ""},
  };
  for (const SeriesKey& key : keys) {
    const std::vector<Bar> bars = Simulator::History(key, last);
    const std::string body = sim::RenderSeries(
        key, OutputSize::kCompact, std::span(bars).last(std::min<size_t>(100, bars.size())));
    corpus.push_back({"sim " + Describe(key), Request{key, OutputSize::kCompact, ""}, body});
  }
  corpus.push_back({"sim refusal", Ask("IBM"), sim::DailyLimitBody("K\"EY", 25)});
  return corpus;
}

TEST(AvCodecFastPathTest, ReadsEveryDataSampleAndSimulatorAnswerPrettyAndCompact) {
  size_t data_bodies = 0;
  for (const CorpusBody& body : Corpus()) {
    const bool is_data = DecodeAnswer(body.request, body.text).kind == AnswerKind::kData;
    for (const std::string& text : {body.text, Compact(body.text)}) {
      const Verdict verdict = Compare(body.request, text);
      EXPECT_EQ(verdict.difference, "") << body.name;
      EXPECT_EQ(verdict.handled, is_data) << body.name;
    }
    data_bodies += is_data ? 1 : 0;
  }
  EXPECT_EQ(data_bodies, 17u);
}

TEST(AvCodecFastPathTest, ReadsAFullSimulatorHistoryAsSaxDoes) {
  const SeriesKey key{"MSFT", Function::kDaily, ""};
  const std::vector<Bar> bars = Simulator::History(
      key, Date{std::chrono::year(2026), std::chrono::month(11), std::chrono::day(20)});
  const std::string body = sim::RenderSeries(key, OutputSize::kFull, bars);
  ASSERT_GT(body.size(), 1'000'000u);
  for (const std::string& text : {body, Compact(body)}) {
    const Verdict verdict = Compare(Request{key, OutputSize::kFull, ""}, text);
    EXPECT_EQ(verdict.difference, "");
    EXPECT_TRUE(verdict.handled);
  }
  const std::optional<internal::Decoded> fast = internal::DecodeFast(Function::kDaily, body);
  ASSERT_TRUE(fast.has_value());
  ASSERT_EQ(fast->answer.bars.size(), bars.size());
  EXPECT_EQ(fast->answer.bars.front().ts, bars.front().ts);
  EXPECT_EQ(fast->answer.bars.back().ts, bars.back().ts);
  EXPECT_EQ(DecodeAnswer(Request{key, OutputSize::kFull, ""}, body).kind, AnswerKind::kData);
}

TEST(AvCodecFastPathTest, AgreesWithSaxOnEveryMutationOrDeclines) {
  size_t handled = 0;
  size_t declined = 0;
  const std::vector<Mutation> mutations = Mutations();
  for (const CorpusBody& body : Corpus()) {
    for (const Mutation& mutation : mutations) {
      const std::string text = mutation.apply(body.text);
      const Verdict verdict = Compare(body.request, text);
      ASSERT_EQ(verdict.difference, "") << body.name << ", " << mutation.name;
      (verdict.handled ? handled : declined)++;
    }
  }
  // Not every edit leaves the layout the scanner reads, nor does every edit change it.
  EXPECT_GT(handled, 400u);
  EXPECT_GT(declined, 1000u);
}

TEST(AvCodecFastPathTest, AgreesWithSaxOnTruncatedAndCorruptedBodies) {
  std::mt19937 random(20261123);
  // Bytes that matter to a JSON reader, then any byte at all.
  const std::string specials =
      std::string("\"\\{}[],: \n\r\t\v0-.e+E/uU\x01\x1F\x7F\x80\xC3\xFF") + '\0';
  size_t cases = 0;
  for (const CorpusBody& body : Corpus()) {
    for (const std::string& text : {body.text, Compact(body.text)}) {
      std::vector<size_t> cuts;
      for (size_t cut = 0; cut < text.size(); cut += 97) cuts.push_back(cut);
      cuts.push_back(text.size() - 1);
      for (const size_t cut : cuts) {
        // A buffer of exactly `cut` bytes, so that a sanitizer sees any read past the end.
        const std::vector<char> truncated(text.begin(), text.begin() + static_cast<ptrdiff_t>(cut));
        const Verdict verdict =
            Compare(body.request, std::string_view(truncated.data(), truncated.size()));
        ASSERT_EQ(verdict.difference, "") << body.name << " cut at " << cut;
        // Only a cut through the trailing whitespace leaves a whole body.
        ASSERT_EQ(verdict.handled, text.find_first_not_of(" \n", cut) == std::string::npos &&
                                       DecodeAnswer(body.request, text).kind == AnswerKind::kData)
            << body.name << " cut at " << cut;
        ++cases;
      }
      std::uniform_int_distribution<size_t> position(0, text.size() - 1);
      std::uniform_int_distribution<int> any_byte(0, 255);
      std::uniform_int_distribution<size_t> special(0, specials.size() - 1);
      for (int round = 0; round < 40; ++round) {
        std::string corrupted = text;
        const size_t at = position(random);
        const char byte =
            round % 2 == 0 ? specials[special(random)] : static_cast<char>(any_byte(random));
        switch (round % 4) {
          case 0:
          case 1:
            corrupted[at] = byte;
            break;
          case 2:
            corrupted.insert(at, 1, byte);
            break;
          default:
            corrupted.erase(at, 1);
        }
        const Verdict verdict = Compare(body.request, corrupted);
        ASSERT_EQ(verdict.difference, "") << body.name << ", byte " << at << " round " << round;
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 3000u);
}

TEST(AvCodecFastPathTest, ParseNumberIsFromCharsBitForBit) {
  // What the SAX decoder did before the quick path for plain decimals.
  const auto reference = [](std::string_view text) -> std::optional<double> {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
      return std::nullopt;
    }
    return value;
  };
  const auto expect_same = [&](const std::string& text) {
    const std::optional<double> got = internal::ParseNumber(text);
    const std::optional<double> want = reference(text);
    ASSERT_EQ(got.has_value(), want.has_value()) << text;
    if (got) {
      ASSERT_EQ(std::bit_cast<uint64_t>(*got), std::bit_cast<uint64_t>(*want)) << text;
    }
  };
  for (const char* text : {"0",
                           "-0",
                           "0.0",
                           "-0.0000",
                           "1",
                           "101.0924",
                           "22165128",
                           "0.1",
                           "0.3",
                           "-1.5",
                           "9007199254740992",
                           "9007199254740993",
                           "900719925474099.3",
                           "0.9007199254740993",
                           "1234567890123456789",
                           "12345678901234567890",
                           "0.0000000000000000000001",
                           "1.7976931348623157e308",
                           "4.9e-324",
                           "1e999",
                           "1e5",
                           "1.",
                           ".5",
                           "-.5",
                           "00.5",
                           "+1",
                           "-",
                           "",
                           " 1",
                           "1 ",
                           "1.2.3",
                           "0x10",
                           "inf",
                           "nan",
                           "1,5",
                           "--1",
                           "1-"}) {
    expect_same(text);
  }
  std::mt19937_64 random(7);
  for (int i = 0; i < 200000; ++i) {
    const int digits = 1 + static_cast<int>(random() % 19);
    std::string text = random() % 4 == 0 ? "-" : "";
    for (int d = 0; d < digits; ++d) text += static_cast<char>('0' + random() % 10);
    if (random() % 8 != 0) text.insert(text.size() - random() % static_cast<uint64_t>(digits), ".");
    expect_same(text);
  }
}

// ---- Size --------------------------------------------------------------------------------

// A full daily history as the service prints it (indented, newest first, ~175 bytes a bar).
std::string FullDailyBody(int bars) {
  std::string body = R"j({
    "Meta Data": {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": "2024-05-17",
        "4. Output Size": "Full size",
        "5. Time Zone": "US/Eastern"
    },
    "Time Series (Daily)": {)j";
  constexpr const char* kBar = R"j(
        "%04d-%02d-%02d": {
            "1. open": "%d.%04d",
            "2. high": "%d.%04d",
            "3. low": "%d.%04d",
            "4. close": "%d.%04d",
            "5. volume": "%d"
        }%s)j";
  char buf[400];
  for (int i = bars - 1; i >= 0; --i) {
    const int year = 1990 + i / 336, month = 1 + (i / 28) % 12, day = 1 + i % 28;
    const int price = 100 + i % 50, frac = i % 10000;
    const int n =
        std::snprintf(buf, sizeof buf, kBar, year, month, day, price, frac, price + 1, frac,
                      price - 1, frac, price, (i * 7) % 10000, 1000000 + i * 37, i > 0 ? "," : "");
    body.append(buf, static_cast<size_t>(n));
  }
  return body + "\n    }\n}";
}

// The best of `runs` timings of `decode` on `body`, in MB/s (the machine is shared: the best
// run is the one least disturbed).
double BestMegabytesPerSecond(std::string_view body, const std::function<void()>& decode) {
  constexpr int kRuns = 7;
  std::chrono::duration<double> best{1e9};
  for (int run = 0; run < kRuns; ++run) {
    const auto start = std::chrono::steady_clock::now();
    decode();
    best = std::min<std::chrono::duration<double>>(best, std::chrono::steady_clock::now() - start);
  }
  return static_cast<double>(body.size()) / 1e6 / best.count();
}

TEST(AvCodecSizeTest, DecodesAFullDailyHistory) {
  const std::string body = FullDailyBody(6000);
  const Answer a = Decode("IBM", body);
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 6000u);
  EXPECT_EQ(a.bars.front().ts, "1990-01-01");
  EXPECT_EQ(a.bars.back().close, 149.1993);  // i = 5999
  ExpectAscendingUnique(a.bars);
  const double fast = BestMegabytesPerSecond(
      body, [&] { ASSERT_TRUE(internal::DecodeFast(Function::kDaily, body).has_value()); });
  const double checked =
      BestMegabytesPerSecond(body, [&] { ASSERT_EQ(Decode("IBM", body).kind, AnswerKind::kData); });
  const double sax = BestMegabytesPerSecond(body, [&] {
    ASSERT_EQ(internal::DecodeWithSax(Function::kDaily, body).answer.bars.size(), 6000u);
  });
  std::printf(
      "[   INFO   ] DecodeAnswer, %.2f MB, %zu bars: fast path %.0f MB/s, with the check %.0f "
      "MB/s, SAX %.0f MB/s\n",
      static_cast<double>(body.size()) / 1e6, a.bars.size(), fast, checked, sax);
}

}  // namespace
}  // namespace mdfetch
