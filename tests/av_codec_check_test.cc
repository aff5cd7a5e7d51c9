// The codec's check of an answer against its request (kMismatch), what is transient and what
// is permanent in a body that is no answer (kIncomplete, kMalformed), and newest_provisional.
#include <gtest/gtest.h>

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "av_codec_helpers.h"
#include "av_codec_internal.h"
#include "mdfetch/av_codec.h"
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
using codec_test::OhlcBar;
using codec_test::ReadSample;
using codec_test::ReplaceAll;
using codec_test::ReplaceFirst;
using codec_test::Verdict;

// Each recorded data answer and the call it answered (av-samples/SOURCES.md).
struct Sample {
  const char* file;
  const char* series;
};
constexpr Sample kDataSamples[] = {
    {"01_TIME_SERIES_DAILY.json", "MSFT"},
    {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted"},
    {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT intraday:1min"},
    {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly_adjusted"},
    {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM monthly_adjusted"},
    {"06_FX_DAILY.json", "EUR/USD fx_daily"},
    {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/EUR crypto_daily"},
    {"07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json", "BTC/CNY crypto_daily"},
};

// `body` decoded for `request`, after checking that both decoders read it alike.
Answer Checked(const Request& request, const std::string& body) {
  const Verdict verdict = Compare(request, body);
  EXPECT_EQ(verdict.difference, "") << Describe(request.key);
  return DecodeAnswer(request, body);
}

void ExpectMismatch(const Request& request, const std::string& body, const std::string& message) {
  const Answer a = Checked(request, body);
  EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(AnswerKind::kMismatch)) << message;
  EXPECT_EQ(a.message, message);
  EXPECT_TRUE(a.bars.empty()) << message;
}

// A simulator answer of `series` (see Ask) in the service's layout, its last session 2026-05-15.
std::string SimulatorBody(std::string_view series, std::string_view month = {}) {
  const SeriesKey key = Ask(series).key;
  const Date last{std::chrono::year(2026), std::chrono::month(5), std::chrono::day(15)};
  const std::vector<Bar> bars = Simulator::History(key, last, month);
  return sim::RenderSeries(key, OutputSize::kFull, std::span(bars));
}

// ---- Each answer is the answer to its own call and to no other ----------------------------

TEST(AvCodecCheckTest, EveryDataSampleAnswersItsOwnCallOnly) {
  const char* const others[] = {
      "MSFT",
      "IBM",
      "AAPL",
      "MSFT daily_adjusted",
      "IBM daily_adjusted",
      "IBM weekly",
      "IBM weekly_adjusted",
      "IBM monthly",
      "IBM monthly_adjusted",
      "MSFT weekly_adjusted",
      "MSFT intraday:1min",
      "MSFT intraday:5min",
      "IBM intraday:1min",
      "EUR/USD fx_daily",
      "USD/EUR fx_daily",
      "GBP/USD fx_daily",
      "BTC/EUR crypto_daily",
      "BTC/USD crypto_daily",
      "BTC/CNY crypto_daily",
      "ETH/EUR crypto_daily",
  };
  for (const Sample& sample : kDataSamples) {
    const std::string body = ReadSample(sample.file);
    const Answer own = Checked(Ask(sample.series), body);
    EXPECT_EQ(own.kind, AnswerKind::kData) << sample.file << ": " << own.message;
    for (const char* other : others) {
      if (Ask(other).key == Ask(sample.series).key) continue;
      const Answer a = Checked(Ask(other), body);
      EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(AnswerKind::kMismatch))
          << sample.file << " asked " << other << ": " << a.message;
      EXPECT_TRUE(a.message.starts_with("asked " + std::string(other)) ||
                  a.message.starts_with("asked " + std::string(other) + " daily"))
          << a.message;
    }
  }
}

// The service writes the symbol back in its own form: case is no difference.
TEST(AvCodecCheckTest, SymbolMatchesWhateverItsCase) {
  const std::string body = ReadSample("01_TIME_SERIES_DAILY.json");
  const Answer lower_asked = Checked(Ask("msft"), body);
  ASSERT_EQ(lower_asked.kind, AnswerKind::kData) << lower_asked.message;
  const Answer lower_answered = Checked(Ask("MSFT"), ReplaceFirst(body, "\"MSFT\"", "\"Msft\""));
  ASSERT_EQ(lower_answered.kind, AnswerKind::kData) << lower_answered.message;
  EXPECT_EQ(lower_answered.meta.symbol, "Msft");
  const Answer fx = Checked(Ask("eur/usd fx_daily"), ReadSample("06_FX_DAILY.json"));
  EXPECT_EQ(fx.kind, AnswerKind::kData) << fx.message;
}

// ---- Each kind of mismatch, from real samples --------------------------------------------

TEST(AvCodecCheckTest, MismatchesSayWhatWasAskedAndWhatCame) {
  struct Row {
    const char* file;
    const char* series;
    const char* message;
  };
  const Row rows[] = {
      // Another function's answer.
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM",
       "asked IBM daily, the answer is IBM weekly_adjusted"},
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly",
       "asked IBM weekly, the answer is IBM weekly_adjusted"},
      {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM weekly_adjusted",
       "asked IBM weekly_adjusted, the answer is IBM monthly_adjusted"},
      {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT",
       "asked MSFT daily, the answer is MSFT intraday:1min"},
      {"01_TIME_SERIES_DAILY.json", "MSFT intraday:5min",
       "asked MSFT intraday:5min, the answer is MSFT daily"},
      {"06_FX_DAILY.json", "EUR/USD crypto_daily",
       "asked EUR/USD crypto_daily, the answer is EUR/USD fx_daily"},
      {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/EUR fx_daily",
       "asked BTC/EUR fx_daily, the answer is BTC/EUR crypto_daily"},
      // Another interval.
      {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT intraday:5min",
       "asked MSFT intraday:5min, the answer is MSFT intraday:1min"},
      // Another symbol, pair or market.
      {"01_TIME_SERIES_DAILY.json", "IBM", "asked IBM daily, the answer is MSFT daily"},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "MSFT daily_adjusted",
       "asked MSFT daily_adjusted, the answer is IBM daily_adjusted"},
      {"06_FX_DAILY.json", "GBP/USD fx_daily",
       "asked GBP/USD fx_daily, the answer is EUR/USD fx_daily"},
      {"06_FX_DAILY.json", "USD/EUR fx_daily",
       "asked USD/EUR fx_daily, the answer is EUR/USD fx_daily"},
      {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/USD crypto_daily",
       "asked BTC/USD crypto_daily, the answer is BTC/EUR crypto_daily"},
      {"07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json", "BTC/EUR crypto_daily",
       "asked BTC/EUR crypto_daily, the answer is BTC/CNY crypto_daily"},
      // Adjusted or not: daily and daily adjusted share "Time Series (Daily)".
      {"01_TIME_SERIES_DAILY.json", "MSFT daily_adjusted",
       "asked MSFT daily_adjusted, the answer is MSFT daily (no adjusted close)"},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM",
       "asked IBM daily, the answer is IBM daily_adjusted (with adjusted close)"},
  };
  for (const Row& row : rows) ExpectMismatch(Ask(row.series), ReadSample(row.file), row.message);
}

TEST(AvCodecCheckTest, WeeklyBodyForADailyCallIsAMismatch) {
  ExpectMismatch(Ask("IBM"), SimulatorBody("IBM weekly"),
                 "asked IBM daily, the answer is IBM weekly");
  ExpectMismatch(Ask("IBM monthly"), SimulatorBody("IBM weekly"),
                 "asked IBM monthly, the answer is IBM weekly");
}

// Keys the service has for functions mdfetch does not fetch, and keys it has none for.
TEST(AvCodecCheckTest, OtherSeriesKeysAreNamedForWhatTheyAre) {
  const std::string bar = OhlcBar("2020-01-03", "1");
  ExpectMismatch(Ask("EUR/USD fx_daily"),
                 BodyFor("EUR/USD fx_daily", "Time Series FX (Monthly)", {bar}),
                 "asked EUR/USD fx_daily, the answer is EUR/USD fx_monthly");
  ExpectMismatch(Ask("EUR/USD fx_daily"),
                 BodyFor("EUR/USD fx_daily", "Time Series FX (5min)", {bar}),
                 "asked EUR/USD fx_daily, the answer is EUR/USD fx_intraday:5min");
  ExpectMismatch(Ask("BTC/EUR crypto_daily"),
                 BodyFor("BTC/EUR crypto_daily", "Time Series (Digital Currency Weekly)", {bar}),
                 "asked BTC/EUR crypto_daily, the answer is BTC/EUR crypto_weekly");
  ExpectMismatch(Ask("BTC/EUR crypto_daily"),
                 BodyFor("BTC/EUR crypto_daily", "Time Series Crypto (1min)", {bar}),
                 "asked BTC/EUR crypto_daily, the answer is BTC/EUR crypto_intraday:1min");
  ExpectMismatch(Ask("IBM intraday:5min"),
                 BodyFor("IBM intraday:5min", "Time Series (7min)", {bar}),
                 "asked IBM intraday:5min, the answer is IBM series 'Time Series (7min)'");
  const std::string long_key = "Time Series (Daily) as served by a proxy that renamed it";
  ExpectMismatch(Ask("IBM"), BodyFor("IBM", long_key, {bar}),
                 "asked IBM daily, the answer is IBM series 'Time Series (Daily) as served by a "
                 "proxy...'");
}

TEST(AvCodecCheckTest, IntradayMetaIntervalMustBeTheOneAsked) {
  const std::string body = ReadSample("03_TIME_SERIES_INTRADAY_1min.json");
  const std::string other =
      ReplaceFirst(body, R"j("4. Interval": "1min")j", R"j("4. Interval": "5min")j");
  ASSERT_NE(other, body);
  ExpectMismatch(Ask("MSFT intraday:1min"), other,
                 "asked MSFT intraday:1min, the answer is MSFT intraday:1min with meta data "
                 "interval 5min");
  // An answer without the field is named by its series key alone.
  const std::string none = ReplaceFirst(body, R"j("4. Interval": "1min",)j", "");
  ASSERT_NE(none, body);
  EXPECT_EQ(Checked(Ask("MSFT intraday:1min"), none).kind, AnswerKind::kData);
}

// Every recorded answer names its symbol; one that does not cannot be told from another's.
TEST(AvCodecCheckTest, AnswerThatNamesNoSymbolIsMalformed) {
  const std::string daily = ReadSample("01_TIME_SERIES_DAILY.json");
  const std::string fx = ReadSample("06_FX_DAILY.json");
  struct Row {
    const char* series;
    std::string body;
    const char* message;
  };
  const Row rows[] = {
      {"MSFT", ReplaceFirst(daily, "2. Symbol", "2. Ticker"),
       "asked MSFT daily, the answer's meta data names no symbol"},
      {"MSFT", ReplaceFirst(daily, "Meta Data", "Metadata"),
       "asked MSFT daily, the answer's meta data names no symbol"},
      {"EUR/USD fx_daily", ReplaceFirst(fx, "3. To Symbol", "3. To"),
       "asked EUR/USD fx_daily, the answer's meta data names no symbol"},
  };
  for (const Row& row : rows) {
    const Answer a = Checked(Ask(row.series), row.body);
    EXPECT_EQ(a.kind, AnswerKind::kMalformed) << row.message;
    EXPECT_EQ(a.message, row.message);
  }
}

// ---- Crypto: the market, in the current and the pre-2024 layout ---------------------------

TEST(AvCodecCheckTest, Pre2024CryptoAnswerTakesTheMarketCurrencyFields) {
  const Answer a =
      Checked(Ask("BTC/CNY crypto_daily"), ReadSample("07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json"));
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  ASSERT_EQ(a.bars.size(), 2u);
  const Bar& newest = a.bars.back();
  EXPECT_EQ(newest.ts, "2020-05-04");
  EXPECT_EQ(newest.open, 62793.588415);
  EXPECT_EQ(newest.high, 63089.75961);
  EXPECT_EQ(newest.low, 62092.449884);
  EXPECT_EQ(newest.close, 62286.885038);
  EXPECT_EQ(newest.volume, 2328.295447);
  EXPECT_EQ(a.meta.symbol, "BTC/CNY");
  EXPECT_FALSE(a.newest_provisional);
}

TEST(AvCodecCheckTest, Pre2024CryptoTakesTheMarketFieldWhicheverComesFirst) {
  const std::string body = ReadSample("07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json");
  const std::string swapped = ReplaceFirst(body,
                                           "\"1a. open (CNY)\": \"62793.58841500\",\n"
                                           "            \"1b. open (USD)\": \"8894.15000000\",",
                                           "\"1b. open (USD)\": \"8894.15000000\",\n"
                                           "            \"1a. open (CNY)\": \"62793.58841500\",");
  ASSERT_NE(swapped, body);
  const Answer a = Checked(Ask("BTC/CNY crypto_daily"), swapped);
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  EXPECT_EQ(a.bars.back().open, 62793.588415);
  // Without its "1a" field a bar has no open: the USD copy does not stand in for it.
  const std::string no_market_open = ReplaceFirst(body, "\"1a. open (CNY)\"", "\"1c. open (CNY)\"");
  const Answer b = Checked(Ask("BTC/CNY crypto_daily"), no_market_open);
  EXPECT_EQ(b.kind, AnswerKind::kMalformed);
  EXPECT_EQ(b.message, "bar 2020-05-04: missing open");
}

// The fields name their currency: a market code that says otherwise does not make them the
// market asked for.
TEST(AvCodecCheckTest, Pre2024CryptoFieldsInAnotherCurrencyAreAMismatch) {
  const std::string body = ReadSample("07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json");
  const std::string eur_meta = ReplaceFirst(body, "\"CNY\"", "\"EUR\"");
  ASSERT_NE(eur_meta, body);
  ExpectMismatch(Ask("BTC/EUR crypto_daily"), eur_meta,
                 "asked BTC/EUR crypto_daily, the answer is BTC/CNY crypto_daily");
  // One field of one bar in another currency is enough.
  const std::string mixed = ReplaceFirst(body, "2a. high (CNY)", "2a. high (EUR)");
  ExpectMismatch(Ask("BTC/CNY crypto_daily"), mixed,
                 "asked BTC/CNY crypto_daily, the answer is BTC/EUR crypto_daily");
  // A USD market in the old layout: both variants in USD, the "1a" one taken.
  const std::string usd = ReplaceAll(ReplaceFirst(body, "\"CNY\"", "\"USD\""), "(CNY)", "(USD)");
  const Answer a = Checked(Ask("BTC/USD crypto_daily"), usd);
  ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
  EXPECT_EQ(a.bars.back().open, 62793.588415);
}

// ---- Adjusted and plain functions --------------------------------------------------------

TEST(AvCodecCheckTest, AdjustedAnswersCarryTheirAdjustedFields) {
  struct Row {
    const char* file;
    const char* series;
    const char* remove;  // from the body, first occurrence
    const char* message;
  };
  const Row rows[] = {
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted",
       "\"5. adjusted close\": \"121.8050\",", "bar 2020-05-08: missing adjusted close"},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted",
       "\"7. dividend amount\": \"1.6300\",", "bar 2020-05-07: missing dividend amount"},
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted",
       ",\n            \"8. split coefficient\": \"1.0000\"",
       "bar 2020-05-08: missing split coefficient"},
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly_adjusted",
       ",\n            \"7. dividend amount\": \"0.0000\"",
       "bar 2020-05-01: missing dividend amount"},
      {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM monthly_adjusted",
       "\"5. adjusted close\": \"123.8942\",", "bar 2020-04-30: missing adjusted close"},
  };
  for (const Row& row : rows) {
    const std::string sample = ReadSample(row.file);
    const std::string body = ReplaceFirst(sample, row.remove, "");
    ASSERT_NE(body, sample) << row.message;
    const Answer a = Checked(Ask(row.series), body);
    EXPECT_EQ(a.kind, AnswerKind::kMalformed) << row.message;
    EXPECT_EQ(a.message, row.message);
  }
}

// Weekly and monthly adjusted answers have no split coefficient (samples 04, 05).
TEST(AvCodecCheckTest, WeeklyAndMonthlyAdjustedNeedNoSplitCoefficient) {
  for (const Sample& sample : {kDataSamples[3], kDataSamples[4]}) {
    const Answer a = Checked(Ask(sample.series), ReadSample(sample.file));
    ASSERT_EQ(a.kind, AnswerKind::kData) << a.message;
    for (const Bar& bar : a.bars) EXPECT_EQ(bar.split_coefficient, std::nullopt);
  }
}

// A plain function's answer with an adjusted close is the adjusted function's.
TEST(AvCodecCheckTest, PlainAnswerWithAdjustedCloseIsAMismatch) {
  const std::string weekly = ReplaceAll(SimulatorBody("IBM weekly"), "\"5. volume\"",
                                        "\"5. adjusted close\": \"1.0\", \"6. volume\"");
  ExpectMismatch(Ask("IBM weekly"), weekly,
                 "asked IBM weekly, the answer is IBM weekly (with adjusted close)");
  ExpectMismatch(Ask("IBM"),
                 DailyBody({OhlcBar("2020-05-07", "1"), AdjustedBar("2020-05-08", "2")}),
                 "asked IBM daily, the answer is IBM daily_adjusted (with adjusted close)");
  // Intraday, FX and crypto have no adjusted twin: an adjusted close there is only ignored.
  const Answer fx = Checked(
      Ask("EUR/USD fx_daily"),
      BodyFor("EUR/USD fx_daily", "Time Series FX (Daily)", {AdjustedBar("2020-05-08", "2")}));
  EXPECT_EQ(fx.kind, AnswerKind::kData) << fx.message;
}

// ---- Intraday months ---------------------------------------------------------------------

TEST(AvCodecCheckTest, IntradayMonthBarsAllLieInThatMonth) {
  const std::string body = ReadSample("03_TIME_SERIES_INTRADAY_1min.json");  // 2018-06-01
  EXPECT_EQ(Checked(Ask("MSFT intraday:1min", "2018-06"), body).kind, AnswerKind::kData);
  ExpectMismatch(Ask("MSFT intraday:1min", "2018-05"), body,
                 "asked MSFT intraday:1min month=2018-05, the answer has bars of 2018-06");
  const std::string straddling =
      ReplaceFirst(body, "\"2018-06-01 14:21:00\"", "\"2018-05-31 19:59:00\"");
  ASSERT_NE(straddling, body);
  ExpectMismatch(Ask("MSFT intraday:1min", "2018-06"), straddling,
                 "asked MSFT intraday:1min month=2018-06, the answer has bars of 2018-05");
  // The month is the intraday call's alone.
  EXPECT_EQ(Checked(Ask("MSFT", "2018-05"), ReadSample("01_TIME_SERIES_DAILY.json")).kind,
            AnswerKind::kData);
}

// The simulator's answers are what the engine stores: every one must pass the check.
TEST(AvCodecCheckTest, SimulatorAnswersOfEveryFunctionPassTheCheck) {
  for (const char* series : {"IBM", "IBM daily_adjusted", "IBM weekly", "IBM weekly_adjusted",
                             "IBM monthly", "IBM monthly_adjusted", "IBM intraday:1min",
                             "IBM intraday:60min", "EUR/USD fx_daily", "BTC/EUR crypto_daily"}) {
    const Answer a = Checked(Ask(series), SimulatorBody(series));
    EXPECT_EQ(a.kind, AnswerKind::kData) << series << ": " << a.message;
  }
  Request month = Ask("IBM intraday:5min", "2026-03");
  month.key.adjusted = false;
  month.key.extended_hours = false;
  const Date last{std::chrono::year(2026), std::chrono::month(5), std::chrono::day(15)};
  const std::vector<Bar> bars = Simulator::History(month.key, last, month.month);
  ASSERT_FALSE(bars.empty());
  const Answer a = Checked(month, sim::RenderSeries(month.key, OutputSize::kFull, bars));
  EXPECT_EQ(a.kind, AnswerKind::kData) << a.message;
}

// ---- kIncomplete (a retry may help) and kMalformed (it will not) --------------------------

// The cuts of `body` to try: every one near the start and the end, every `step`-th between.
std::vector<size_t> Cuts(size_t size, size_t step) {
  std::vector<size_t> cuts;
  for (size_t cut = 0; cut < size; cut += (cut < 1500 || cut + 300 > size) ? 1 : step) {
    cuts.push_back(cut);
  }
  return cuts;
}

TEST(AvCodecIncompleteTest, EveryCutOfEverySampleIsIncompleteNeverMalformed) {
  const char* const files[] = {
      "01_TIME_SERIES_DAILY.json",
      "02_TIME_SERIES_DAILY_ADJUSTED.json",
      "03_TIME_SERIES_INTRADAY_1min.json",
      "04_TIME_SERIES_WEEKLY_ADJUSTED.json",
      "05_TIME_SERIES_MONTHLY_ADJUSTED.json",
      "06_FX_DAILY.json",
      "07_DIGITAL_CURRENCY_DAILY.json",
      "07b_DIGITAL_CURRENCY_DAILY_2020_CNY.json",
      "08_GLOBAL_QUOTE.json",
      "09_SYMBOL_SEARCH.json",
      "10_ERROR_MESSAGE_invalid_call.json",
      "11_NOTE_throttle_5min_500day.json",
      "12_INFORMATION_throttle_2025.json",
  };
  size_t cases = 0;
  for (const char* file : files) {
    const std::string body = ReadSample(file);
    const size_t whole = body.find_last_not_of(" \r\n") + 1;  // the closing brace included
    for (const size_t cut : Cuts(whole, 7)) {
      const std::string_view prefix = std::string_view(body).substr(0, cut);
      const Answer a = Decode("MSFT", prefix);
      ASSERT_EQ(AnswerKindName(a.kind), AnswerKindName(AnswerKind::kIncomplete))
          << file << " cut at " << cut << ": " << a.message;
      const bool blank = prefix.find_first_not_of(" \r\n") == std::string_view::npos;
      ASSERT_EQ(a.message, blank ? "empty body" : "truncated JSON at byte " + std::to_string(cut))
          << file;
      ASSERT_TRUE(a.bars.empty());
      ++cases;
    }
  }
  EXPECT_GT(cases, 15000u);
}

// The SAX parse goes on past a bad bar to learn whether the body is whole.
TEST(AvCodecIncompleteTest, BadBarInABodyCutShortIsIncomplete) {
  const std::string body =
      ReplaceFirst(ReadSample("01_TIME_SERIES_DAILY.json"), "\"101.0924\"", "\"r\"");
  const Answer whole = Decode("MSFT", body);
  EXPECT_EQ(whole.kind, AnswerKind::kMalformed);
  EXPECT_EQ(whole.message, "bar 2018-06-08: 'r' is not a number in 'open'");
  const size_t bad = body.find("\"r\"");
  for (size_t cut = bad + 3; cut < body.size() - 1; cut += 13) {
    const Answer a = Decode("MSFT", std::string_view(body).substr(0, cut));
    ASSERT_EQ(a.kind, AnswerKind::kIncomplete) << "cut at " << cut;
    ASSERT_EQ(a.message, "truncated JSON at byte " + std::to_string(cut));
  }
  const Answer junk = Decode("MSFT", body + "<html>");
  EXPECT_EQ(junk.kind, AnswerKind::kIncomplete);
  EXPECT_EQ(junk.message, "not JSON: syntax error at byte " + std::to_string(body.size() + 1));
  EXPECT_EQ(Decode("IBM", "[1, 2").kind, AnswerKind::kIncomplete);
  EXPECT_EQ(Decode("IBM", "[1, 2").message, "truncated JSON at byte 5");
  EXPECT_EQ(Decode("IBM", "[1, 2]").kind, AnswerKind::kMalformed);
}

TEST(AvCodecIncompleteTest, NotJsonIsIncomplete) {
  struct Row {
    std::string body;
    const char* message;
  };
  const Row rows[] = {
      {"", "empty body"},
      {"\n", "empty body"},
      {std::string(sim::Http503Page()), "not JSON: syntax error at byte 1"},
      {std::string(sim::Http500Page()), "not JSON: syntax error at byte 1"},
      {ReadSample("13_TIME_SERIES_DAILY_ADJUSTED.csv"), "not JSON: syntax error at byte 2"},
      {ReadSample("14_TIME_SERIES_INTRADAY_5min.csv"), "not JSON: syntax error at byte 2"},
      {"Service Unavailable", "not JSON: syntax error at byte 1"},
      {R"j({"Note": "x"} {"Note": "y"})j", "not JSON: syntax error at byte 15"},
  };
  for (const Row& row : rows) {
    const Answer a = Decode("IBM", row.body);
    EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(AnswerKind::kIncomplete)) << row.message;
    EXPECT_EQ(a.message, row.message);
  }
}

TEST(AvCodecIncompleteTest, WholeBodyThatIsNoAnswerIsMalformed) {
  const std::string daily = ReadSample("01_TIME_SERIES_DAILY.json");
  struct Row {
    std::string body;
    const char* message;
  };
  const Row rows[] = {
      {ReplaceFirst(daily, "\"101.0924\"", "\"r\""),
       "bar 2018-06-08: 'r' is not a number in 'open'"},
      {ReplaceFirst(daily, "\"1. open\": \"101.0924\",", ""), "bar 2018-06-08: missing open"},
      {ReplaceFirst(daily, "\"2018-06-08\": {", "\"2018-06-8\": {"), "bad timestamp '2018-06-8'"},
      {DailyBody({}), "empty time series"},
      {"{}", "no time series in answer (empty object)"},
      {ReadSample("08_GLOBAL_QUOTE.json"), "no time series in answer (keys: Global Quote)"},
      {"[]", "answer is a JSON array, not an object"},
  };
  for (const Row& row : rows) {
    const Answer a = Decode("MSFT", row.body);
    EXPECT_EQ(AnswerKindName(a.kind), AnswerKindName(AnswerKind::kMalformed)) << row.message;
    EXPECT_EQ(a.message, row.message);
  }
}

TEST(AvCodecIncompleteTest, OnlyIncompleteAndThrottleAreTransient) {
  EXPECT_TRUE(IsTransient(AnswerKind::kIncomplete));
  EXPECT_TRUE(IsTransient(AnswerKind::kThrottle));
  for (const AnswerKind kind :
       {AnswerKind::kData, AnswerKind::kErrorMessage, AnswerKind::kDailyLimit, AnswerKind::kPremium,
        AnswerKind::kPremiumFull, AnswerKind::kKeyRejected, AnswerKind::kMalformed,
        AnswerKind::kMismatch}) {
    EXPECT_FALSE(IsTransient(kind)) << AnswerKindName(kind);
  }
}

// ---- newest_provisional ------------------------------------------------------------------

TEST(AvCodecProvisionalTest, SamplesRefreshedDuringTheSessionAreProvisional) {
  struct Row {
    const char* file;
    const char* series;
    bool provisional;
  };
  const Row rows[] = {
      {"01_TIME_SERIES_DAILY.json", "MSFT", false},                        // "2018-06-08"
      {"02_TIME_SERIES_DAILY_ADJUSTED.json", "IBM daily_adjusted", true},  // 14:07:57
      {"03_TIME_SERIES_INTRADAY_1min.json", "MSFT intraday:1min", false},
      {"04_TIME_SERIES_WEEKLY_ADJUSTED.json", "IBM weekly_adjusted", true},    // 14:08:57
      {"05_TIME_SERIES_MONTHLY_ADJUSTED.json", "IBM monthly_adjusted", true},  // 14:09:56
      {"06_FX_DAILY.json", "EUR/USD fx_daily", false},
      {"07_DIGITAL_CURRENCY_DAILY.json", "BTC/EUR crypto_daily", false},
  };
  for (const Row& row : rows) {
    const Answer a = Checked(Ask(row.series), ReadSample(row.file));
    ASSERT_EQ(a.kind, AnswerKind::kData) << row.file;
    EXPECT_EQ(a.newest_provisional, row.provisional) << row.file;
  }
}

TEST(AvCodecProvisionalTest, OnlyATimeBeforeTheCloseOnTheNewestDayIsProvisional) {
  struct Row {
    const char* last_refreshed;
    bool provisional;
  };
  const Row rows[] = {
      {"2020-05-08 09:30:00", true},  {"2020-05-08 15:59:59", true},
      {"2020-05-08 16:00:00", false}, {"2020-05-08 16:00:01", false},
      {"2020-05-08 20:00:00", false}, {"2020-05-08", false},
      {"2020-05-09 10:00:00", false},  // a later day: the newest bar's session is over
      {"2020-05-07 10:00:00", false}, {"", false},
      {"2020-05-08 1x:00:00", false},
  };
  for (const char* series : {"IBM", "IBM daily_adjusted", "IBM weekly", "IBM weekly_adjusted",
                             "IBM monthly", "IBM monthly_adjusted"}) {
    const Request request = Ask(series);
    const bool adjusted = IsAdjusted(request.key.function);
    const auto bar = adjusted ? AdjustedBar : OhlcBar;
    const std::string key =
        request.key.function == Function::kDaily || request.key.function == Function::kDailyAdjusted
            ? "Time Series (Daily)"
        : request.key.function == Function::kWeekly         ? "Weekly Time Series"
        : request.key.function == Function::kWeeklyAdjusted ? "Weekly Adjusted Time Series"
        : request.key.function == Function::kMonthly        ? "Monthly Time Series"
                                                            : "Monthly Adjusted Time Series";
    for (const Row& row : rows) {
      const std::string body = BodyFor(
          series, key, {bar("2020-05-08", "2"), bar("2020-05-07", "1")}, row.last_refreshed);
      const Answer a = Checked(request, body);
      ASSERT_EQ(a.kind, AnswerKind::kData) << series << ": " << a.message;
      EXPECT_EQ(a.newest_provisional, row.provisional) << series << " " << row.last_refreshed;
    }
  }
}

TEST(AvCodecProvisionalTest, IntradayFxAndCryptoAreNeverProvisional) {
  const char* const refreshed = "2020-05-08 10:00:00";
  const Answer intraday =
      Checked(Ask("IBM intraday:5min"), BodyFor("IBM intraday:5min", "Time Series (5min)",
                                                {OhlcBar("2020-05-08 09:55:00", "1")}, refreshed));
  const Answer fx =
      Checked(Ask("EUR/USD fx_daily"), BodyFor("EUR/USD fx_daily", "Time Series FX (Daily)",
                                               {OhlcBar("2020-05-08", "1")}, refreshed));
  const Answer crypto =
      Checked(Ask("BTC/EUR crypto_daily"),
              BodyFor("BTC/EUR crypto_daily", "Time Series (Digital Currency Daily)",
                      {OhlcBar("2020-05-08", "1")}, refreshed));
  for (const Answer* a : {&intraday, &fx, &crypto}) {
    ASSERT_EQ(a->kind, AnswerKind::kData) << a->message;
    EXPECT_FALSE(a->newest_provisional) << a->meta.symbol;
  }
  // Nor is anything that is not data.
  const Answer mismatch = Checked(Ask("MSFT"), ReadSample("02_TIME_SERIES_DAILY_ADJUSTED.json"));
  EXPECT_FALSE(mismatch.newest_provisional);
}

}  // namespace
}  // namespace mdfetch
