// The request half of the codec: what one call sends.
#include <gtest/gtest.h>

#include "mdfetch/av_codec.h"

namespace mdfetch {
namespace {

using enum OutputSize;

TEST(BuildTargetTest, EveryValueIsUrlEncoded) {
  EXPECT_EQ(BuildTarget({{"BRK.B", Function::kDaily, ""}, kCompact}, "k&y=1"),
            "/query?function=TIME_SERIES_DAILY&symbol=BRK.B&outputsize=compact&apikey=k%26y%3D1");
  EXPECT_EQ(BuildTarget({{"EUR/USD", Function::kFxDaily, ""}, kFull}, "k"),
            "/query?function=FX_DAILY&from_symbol=EUR&to_symbol=USD&outputsize=full&apikey=k");
  EXPECT_EQ(BuildTarget({{"BTC/EUR", Function::kCryptoDaily, ""}, kNone}, "k"),
            "/query?function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=EUR&apikey=k");
  EXPECT_EQ(BuildTarget({{"IBM", Function::kIntraday, "5min"}, kCompact}, "k"),
            "/query?function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min&outputsize=compact&"
            "apikey=k");
}

TEST(BuildTargetTest, IntradaySwitchesAndMonthAreSentWhenNotTheDefaults) {
  EXPECT_EQ(
      BuildTarget({{"IBM", Function::kIntraday, "1min", false, false}, kFull, "2024-03"}, "k"),
      "/query?function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min&adjusted=false&"
      "extended_hours=false&month=2024-03&outputsize=full&apikey=k");
  EXPECT_EQ(BuildTarget({{"IBM", Function::kIntraday, "1min", true, false}, kCompact}, "k"),
            "/query?function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min&extended_hours=false&"
            "outputsize=compact&apikey=k");
}

TEST(BuildTargetTest, UrlEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(UrlEncode("L&T FH/^"), "L%26T%20FH%2F%5E");
}

}  // namespace
}  // namespace mdfetch
