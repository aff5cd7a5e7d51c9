#include "mdfetch/symbols.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace mdfetch {
namespace {

SymbolList Parse(std::string_view content) {
  return ParseSymbolList(content, "symbols.txt", SeriesDefaults{});
}

std::vector<std::string> Symbols(const SymbolList& list) {
  std::vector<std::string> out;
  for (const auto& key : list.series) out.push_back(Describe(key));
  return out;
}

TEST(SymbolListTest, AcceptsCommentsBlanksWhitespaceCrlfAndBom) {
  auto list = Parse(
      "\xEF\xBB\xBF# my list\r\n"
      "IBM\r\n"
      "\r\n"
      "   msft   # trailing comment\r\n"
      "\tBRK.B\n"
      "BRK-B\n"
      "shop.trt");
  EXPECT_TRUE(list.problems.empty());
  EXPECT_EQ(Symbols(list), (std::vector<std::string>{"IBM", "MSFT", "BRK.B", "BRK-B", "SHOP.TRT"}));
}

TEST(SymbolListTest, DuplicatesAreKeptOnceCaseInsensitively) {
  auto list = Parse("IBM\nibm\nIbm # again\nMSFT\n");
  EXPECT_EQ(Symbols(list), (std::vector<std::string>{"IBM", "MSFT"}));
}

TEST(SymbolListTest, EmptyFileHasNoSeriesAndNoProblems) {
  auto list = Parse("");
  EXPECT_TRUE(list.series.empty());
  EXPECT_TRUE(list.problems.empty());
}

TEST(SymbolListTest, PerLineFunctionsAndIntervals) {
  auto list = Parse(
      "IBM\n"
      "MSFT daily_adjusted\n"
      "AAPL intraday:5min\n"
      "EUR/USD fx_daily\n"
      "btc/eur crypto_daily\n"
      "IBM weekly\n"
      "IBM TIME_SERIES_MONTHLY_ADJUSTED\n");
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(Symbols(list),
            (std::vector<std::string>{"IBM", "MSFT daily_adjusted", "AAPL intraday:5min",
                                      "EUR/USD fx_daily", "BTC/EUR crypto_daily", "IBM weekly",
                                      "IBM monthly_adjusted"}));
}

// The intraday switches are part of the series: the same symbol and interval with other
// switches is another series; defaults are the service's (adjusted, extended hours).
TEST(SymbolListTest, IntradaySwitchesArePartOfTheSeries) {
  auto list = Parse(
      "AAPL intraday:5min\n"
      "AAPL intraday:5min adjusted=false\n"
      "AAPL intraday:5min EXTENDED_HOURS=False adjusted=false\n"
      "AAPL intraday:5min extended_hours=false\n"
      "AAPL intraday:5min adjusted=true extended_hours=true\n");
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(Symbols(list),
            (std::vector<std::string>{"AAPL intraday:5min", "AAPL intraday:5min adjusted=false",
                                      "AAPL intraday:5min adjusted=false extended_hours=false",
                                      "AAPL intraday:5min extended_hours=false"}));
  ASSERT_EQ(list.series.size(), 4u);
  EXPECT_TRUE(list.series[0].adjusted && list.series[0].extended_hours);
  EXPECT_FALSE(list.series[2].adjusted || list.series[2].extended_hours);
}

TEST(SymbolListTest, TheShortSwitchesListPrintsAreReadBack) {
  auto list = Parse(
      "AAPL intraday:5min raw\n"
      "AAPL intraday:5min regular-hours\n"
      "AAPL intraday:5min RAW Regular-Hours\n");
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(Symbols(list),
            (std::vector<std::string>{"AAPL intraday:5min adjusted=false",
                                      "AAPL intraday:5min extended_hours=false",
                                      "AAPL intraday:5min adjusted=false extended_hours=false"}));
}

TEST(SymbolListTest, DefaultSwitchesApplyToIntradayLinesThatSetNone) {
  SeriesDefaults defaults{.function = Function::kIntraday, .interval = "1min", .adjusted = false};
  auto list =
      ParseSymbolList("IBM\nMSFT adjusted=true\nTSLA daily\nNVDA intraday:5min\n", "s", defaults);
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(Symbols(list),
            (std::vector<std::string>{"IBM intraday:1min adjusted=false", "MSFT intraday:1min",
                                      "TSLA", "NVDA intraday:5min adjusted=false"}));
}

TEST(SymbolListTest, OptionsTextRoundTrips) {
  for (bool adjusted : {true, false}) {
    for (bool extended : {true, false}) {
      SeriesKey key{"IBM", Function::kIntraday, "5min", adjusted, extended};
      SeriesKey back{"IBM", Function::kIntraday, "5min"};
      ASSERT_TRUE(ParseOptionsText(OptionsText(key), back)) << OptionsText(key);
      EXPECT_EQ(back, key);
    }
  }
  SeriesKey key;
  EXPECT_FALSE(ParseOptionsText("adjusted=maybe", key));
  EXPECT_FALSE(ParseOptionsText("month=2024-01", key));
}

TEST(SymbolListTest, DefaultFunctionAppliesToBareSymbols) {
  auto list = ParseSymbolList("IBM\nMSFT daily\n", "s.txt",
                              SeriesDefaults{.function = Function::kWeekly, .interval = "5min"});
  ASSERT_EQ(list.series.size(), 2u);
  EXPECT_EQ(list.series[0].function, Function::kWeekly);
  EXPECT_EQ(list.series[1].function, Function::kDaily);
}

struct BadLine {
  std::string line;
  std::string message;
};

// Every hostile or malformed line is reported verbatim with its line number and never
// becomes a series.
TEST(SymbolListTest, HostileLinesAreReportedVerbatim) {
  const std::vector<BadLine> cases = {
      {"IBM$", "symbols.txt:2: 'IBM$' is not a valid symbol (letters, digits, '.', '-' only)"},
      {"IBM&function=X",
       "symbols.txt:2: 'IBM&function=X' is not a valid symbol (letters, "
       "digits, '.', '-' only)"},
      {"A=B", "symbols.txt:2: 'A=B' is not a valid symbol (letters, digits, '.', '-' only)"},
      {"AB/CD",
       "symbols.txt:2: 'AB/CD' is a pair, for fx_daily or crypto_daily ('AB/CD fx_daily', "
       "'AB/CD crypto_daily')"},
      {"AB/CD weekly",
       "symbols.txt:2: 'AB/CD' is a pair, for fx_daily or crypto_daily ('AB/CD fx_daily', "
       "'AB/CD crypto_daily')"},
      {"../../etc",
       "symbols.txt:2: '../../etc' is not a valid symbol (letters, digits, '.', "
       "'-' only)"},
      {"'IBM'", "symbols.txt:2: ''IBM'' is not a valid symbol (letters, digits, '.', '-' only)"},
      {"\"IBM\"",
       "symbols.txt:2: '\"IBM\"' is not a valid symbol (letters, digits, '.', '-' "
       "only)"},
      {"IBM'; DROP TABLE bars;--",
       "symbols.txt:2: unknown function 'DROP' (expected daily, daily_adjusted, weekly, "
       "weekly_adjusted, monthly, monthly_adjusted, intraday:INTERVAL, fx_daily, "
       "crypto_daily)"},
      {"IBM;DROP",
       "symbols.txt:2: 'IBM;DROP' is not a valid symbol (letters, digits, '.', '-' "
       "only)"},
      {"I\x01"
       "BM",
       "symbols.txt:2: 'I\\x01BM' contains a control character"},
      {"IB\x1b[31mM", "symbols.txt:2: 'IB\\x1B[31mM' contains a control character"},
      {"IBM\xff", "symbols.txt:2: line is not valid UTF-8"},
      {"\xc3\x28", "symbols.txt:2: line is not valid UTF-8"},
      {"N\xc3\xa9STLE",
       "symbols.txt:2: 'N\\xC3\\xA9STLE' is not a valid symbol (letters, digits, "
       "'.', '-' only)"},
      {"ABCDEFGHIJKLM", "symbols.txt:2: 'ABCDEFGHIJKLM' is too long (at most 12 characters)"},
      {std::string(300, 'A'), "symbols.txt:2: line is too long (300 bytes, at most 256)"},
      {"IBM daly",
       "symbols.txt:2: unknown function 'daly' (expected daily, daily_adjusted, "
       "weekly, weekly_adjusted, monthly, monthly_adjusted, intraday:INTERVAL, "
       "fx_daily, crypto_daily)"},
      {"IBM intraday",
       "symbols.txt:2: intraday needs an interval: intraday:1min, 5min, 15min, "
       "30min or 60min"},
      {"IBM intraday:7min",
       "symbols.txt:2: unknown interval '7min' (expected 1min, 5min, "
       "15min, 30min or 60min)"},
      {"IBM daily:5min", "symbols.txt:2: daily takes no interval"},
      {"IBM daily extra",
       "symbols.txt:2: unexpected 'extra' after the function (expected OPTION=VALUE, raw or "
       "regular-hours)"},
      {"IBM daily raw",
       "symbols.txt:2: daily takes no options ('adjusted=false': adjusted= and extended_hours= "
       "are for intraday)"},
      {"AAPL intraday:5min raw adjusted=true", "symbols.txt:2: adjusted is given twice"},
      {"AAPL intraday:5min adjusted=no",
       "symbols.txt:2: bad value 'no' for adjusted (expected true or false)"},
      {"AAPL intraday:5min adjusted=false adjusted=true", "symbols.txt:2: adjusted is given twice"},
      {"AAPL intraday:5min month=2024-01",
       "symbols.txt:2: unknown option 'month=2024-01' (expected adjusted=true|false or "
       "extended_hours=true|false)"},
      {"AAPL intraday:5min adjusted=false extra",
       "symbols.txt:2: unexpected 'extra' after the function (expected OPTION=VALUE, raw or "
       "regular-hours)"},
      {"AAPL daily adjusted=false",
       "symbols.txt:2: daily takes no options ('adjusted=false': adjusted= and extended_hours= "
       "are for intraday)"},
      {"AAPL adjusted=false",
       "symbols.txt:2: daily takes no options ('adjusted=false': adjusted= and extended_hours= "
       "are for intraday)"},
      {"EURUSD fx_daily", "symbols.txt:2: fx_daily needs a pair like EUR/USD, not 'EURUSD'"},
      {"BTC/ crypto_daily", "symbols.txt:2: crypto_daily needs a pair like BTC/EUR, not 'BTC/'"},
      {"EUR/US$ fx_daily", "symbols.txt:2: fx_daily needs a pair like EUR/USD, not 'EUR/US$'"},
  };
  for (const auto& c : cases) {
    auto list = Parse("IBM\n" + c.line + "\nMSFT\n");
    ASSERT_EQ(list.problems.size(), 1u) << c.line;
    EXPECT_EQ(list.problems[0], c.message);
    EXPECT_EQ(Symbols(list), (std::vector<std::string>{"IBM", "MSFT"})) << c.line;
  }
}

TEST(SymbolListTest, LongQuotedTextIsCut) {
  auto list = Parse(std::string(50, '$'));
  ASSERT_EQ(list.problems.size(), 1u);
  EXPECT_EQ(list.problems[0], "symbols.txt:1: '" + std::string(40, '$') +
                                  "...' is not a valid symbol (letters, digits, '.', '-' only)");
}

TEST(SymbolListTest, MissingFileNamesThePath) {
  auto list = ReadSymbolFile("/nonexistent/symbols.txt", SeriesDefaults{});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message,
            "cannot read symbol file '/nonexistent/symbols.txt': No such file or directory");
}

TEST(SymbolListTest, ReadsAFile) {
  std::string path =
      ::testing::TempDir() + "/symbols_test_list_" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << "IBM\nbad$\n";
  auto list = ReadSymbolFile(path, SeriesDefaults{});
  ASSERT_TRUE(list);
  EXPECT_EQ(Symbols(*list), std::vector<std::string>{"IBM"});
  ASSERT_EQ(list->problems.size(), 1u);
  EXPECT_EQ(list->problems[0],
            path + ":2: 'bad$' is not a valid symbol (letters, digits, '.', '-' only)");
}

// Function names, intervals and switches read the same in any case, on a line as on the
// command line (issue 10): INTRADAY:5MIN is intraday:5min, not half of it.
TEST(SymbolListTest, FunctionsIntervalsAndSwitchesAreCaseInsensitive) {
  auto list = Parse(
      "AAPL INTRADAY:5MIN ADJUSTED=FALSE\n"
      "MSFT Intraday:15Min extended_hours=FALSE\n"
      "BTC/EUR DIGITAL_CURRENCY_DAILY\n"
      "IBM time_series_weekly_adjusted\n");
  EXPECT_TRUE(list.problems.empty()) << list.problems.front();
  EXPECT_EQ(Symbols(list),
            (std::vector<std::string>{"AAPL intraday:5min adjusted=false",
                                      "MSFT intraday:15min extended_hours=false",
                                      "BTC/EUR crypto_daily", "IBM weekly_adjusted"}));
}

TEST(SymbolListTest, FunctionNamesParseAsALineWritesThem) {
  struct Case {
    std::string text;
    Function function;
    std::string interval;
  };
  for (const Case& c :
       std::vector<Case>{{"daily", Function::kDaily, ""},
                         {"intraday:5min", Function::kIntraday, "5min"},
                         {"INTRADAY:60MIN", Function::kIntraday, "60min"},
                         {"intraday", Function::kIntraday, ""},
                         {"digital_currency_daily", Function::kCryptoDaily, ""},
                         {"TIME_SERIES_DAILY_ADJUSTED", Function::kDailyAdjusted, ""}}) {
    auto name = ParseFunctionName(c.text);
    ASSERT_TRUE(name) << c.text << ": " << name.error().message;
    EXPECT_EQ(name->function, c.function) << c.text;
    EXPECT_EQ(name->interval, c.interval) << c.text;
  }
  struct Bad {
    std::string text;
    std::string message;
  };
  for (const Bad& c : std::vector<Bad>{
           {"dayly",
            "unknown function 'dayly' (expected daily, daily_adjusted, weekly, weekly_adjusted, "
            "monthly, monthly_adjusted, intraday:INTERVAL, fx_daily, crypto_daily)"},
           {"daily:5min", "daily takes no interval"},
           {"daily:", "daily takes no interval"},
           {"intraday:", "intraday needs an interval: intraday:1min, 5min, 15min, 30min or 60min"},
           {"intraday:2MIN",
            "unknown interval '2MIN' (expected 1min, 5min, 15min, 30min or 60min)"}}) {
    auto name = ParseFunctionName(c.text);
    ASSERT_FALSE(name) << c.text;
    EXPECT_EQ(name.error().message, c.message);
  }
  EXPECT_EQ(ParseInterval("15MIN").value_or("?"), "15min");
  EXPECT_EQ(ParseSwitch("False"), std::optional<bool>(false));
  EXPECT_EQ(ParseSwitch("TRUE"), std::optional<bool>(true));
  EXPECT_EQ(ParseSwitch("no"), std::nullopt);
  EXPECT_EQ(ParseSwitch(""), std::nullopt);
}

// `--symbols -`: the list comes from a stream, its problems named "stdin:LINE".
TEST(SymbolListTest, ReadsAStreamNamingItsLines) {
  std::FILE* in = std::tmpfile();
  ASSERT_NE(in, nullptr);
  std::fputs("# from a pipe\nIBM\nbad$\nEUR/USD fx_daily\n", in);
  std::rewind(in);
  auto list = ReadSymbolStream(in, "stdin", SeriesDefaults{});
  std::fclose(in);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(Symbols(*list), (std::vector<std::string>{"IBM", "EUR/USD fx_daily"}));
  EXPECT_EQ(list->problems,
            std::vector<std::string>{
                "stdin:3: 'bad$' is not a valid symbol (letters, digits, '.', '-' only)"});
}

TEST(SymbolListTest, ArgumentUsesTheSameRules) {
  auto ok = ParseSeriesArgument("brk-b", SeriesDefaults{});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->symbol, "BRK-B");
  auto bad = ParseSeriesArgument("IBM&x=1", SeriesDefaults{});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "'IBM&x=1' is not a valid symbol (letters, digits, '.', '-' only)");
}

TEST(SymbolListTest, EmptyArgumentIsRefusedNotRead) {
  for (const char* text : {"", "   ", "\t"}) {
    auto empty = ParseSeriesArgument(text, SeriesDefaults{});
    ASSERT_FALSE(empty) << text;
    EXPECT_EQ(empty.error().message, "no symbol given");
  }
}

// The reader a refresh walks gives what the parsed list holds, in the same order, as often as
// it is rewound; its problems are the list's.
TEST(SymbolReaderTest, GivesTheParsedListsSeriesAndProblemsAgainAndAgain) {
  const std::string text =
      "\xEF\xBB\xBFIBM\r\nmsft daily_adjusted  # a comment\n\nIBM\nAAPL intraday:5min\n"
      "IBM$\nibm daily\nEUR/USD fx_daily\nAAPL intraday:5MIN\nMSFT weekly";
  const SeriesDefaults defaults;
  const SymbolList list = ParseSymbolList(text, "s.txt", defaults);
  SymbolReader reader(text, "s.txt", defaults);
  EXPECT_EQ(reader.problems(), list.problems);
  ASSERT_EQ(reader.size(), list.series.size());
  ASSERT_EQ(list.series.size(),
            5u);  // IBM, MSFT daily_adjusted, AAPL intraday, EUR/USD, MSFT weekly
  for (int pass = 0; pass < 2; ++pass) {
    reader.Rewind();
    std::vector<SeriesKey> read;
    for (SeriesKey key; reader.Next(key);) read.push_back(key);
    EXPECT_EQ(read, list.series) << "pass " << pass;
  }
}

TEST(SymbolReaderTest, AListOfOnlyCommentsHasNoSeries) {
  SymbolReader reader("# nothing\n\n", "s.txt", SeriesDefaults{});
  EXPECT_EQ(reader.size(), 0u);
  SeriesKey key;
  EXPECT_FALSE(reader.Next(key));
  EXPECT_TRUE(reader.problems().empty());
}

}  // namespace
}  // namespace mdfetch
