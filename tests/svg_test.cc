// The SVG writer (issue 12): numbers short and locale-free, every text and attribute escaped,
// and a document whose tags balance.
#include "svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "svg_check.h"

namespace mdfetch::svg {
namespace {

TEST(SvgNumTest, WritesAtMostTwoDecimalsWithoutTrailingZeros) {
  EXPECT_EQ(Num(3), "3");
  EXPECT_EQ(Num(2.5), "2.5");
  EXPECT_EQ(Num(2.50001), "2.5");
  EXPECT_EQ(Num(0.125), "0.13");
  EXPECT_EQ(Num(10.1), "10.1");
  EXPECT_EQ(Num(0.07), "0.07");
  EXPECT_EQ(Num(1234567.891), "1234567.89");
  EXPECT_EQ(Num(-12.346), "-12.35");
  EXPECT_EQ(Num(-0.5), "-0.5");
}

TEST(SvgNumTest, NeverWritesMinusZeroExponentsOrNan) {
  EXPECT_EQ(Num(-0.0), "0");
  EXPECT_EQ(Num(-0.001), "0");
  EXPECT_EQ(Num(1e20), "100000000000000000000");
  EXPECT_EQ(Num(std::numeric_limits<double>::quiet_NaN()), "0");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "0");
  EXPECT_EQ(Num(1e-7), "0");
}

TEST(SvgEscapeTest, EscapesTheFiveXmlSpecialCharacters) {
  EXPECT_EQ(Escape(R"(<a href="x">AT&T's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;AT&amp;T&#39;s&lt;/a&gt;");
  EXPECT_EQ(Escape("BRK.B · US/Eastern"), "BRK.B · US/Eastern");  // UTF-8 passes
  EXPECT_EQ(Escape(std::string("a\x01z\tb", 5)), "a\xEF\xBF\xBDz\tb");
}

TEST(SvgWriterTest, EscapesTextAndAttributeValues) {
  Writer w(100, 50);
  w.Text("text", {{"class", "t\"><script>"}, {"x", 1.5}}, "</text><script>alert('x')</script>");
  const std::string doc = w.Finish();
  EXPECT_NE(doc.find(R"(<text class="t&quot;&gt;&lt;script&gt;" x="1.5">)"
                     "&lt;/text&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</text>"),
            std::string::npos)
      << doc;
  EXPECT_EQ(doc.find("<script"), std::string::npos);
  EXPECT_TRUE(test::WellFormed(doc)) << doc;
}

TEST(SvgWriterTest, WritesTheRootAndClosesEveryOpenElement) {
  Writer w(960, 540, {{"class", "c"}});
  w.Open("g", {{"fill", "red"}});
  w.Open("g");
  w.Element("rect", {{"width", 10}, {"height", 2.25}});
  PathBuilder p;
  p.MoveTo(1, 2).LineTo(3.333, 4).HorizontalTo(5).VerticalTo(-6).Close();
  w.Path(p, {{"class", "p"}});
  w.Path(PathBuilder{});  // nothing
  const std::string doc = w.Finish();
  EXPECT_EQ(doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"540\" "
            "viewBox=\"0 0 960 540\" class=\"c\">\n"
            "<g fill=\"red\">\n"
            "<g>\n"
            "<rect width=\"10\" height=\"2.25\"/>\n"
            "<path d=\"M1 2L3.33 4H5V-6Z\" class=\"p\"/>\n"
            "</g>\n"
            "</g>\n"
            "</svg>\n");
  EXPECT_TRUE(test::WellFormed(doc));
}

TEST(SvgCheckTest, FindsUnbalancedTags) {
  EXPECT_TRUE(test::WellFormed("<svg><g><rect/></g></svg>"));
  EXPECT_FALSE(test::WellFormed("<svg><g></svg>"));
  EXPECT_FALSE(test::WellFormed("<svg><g></svg></g>"));
  EXPECT_FALSE(test::WellFormed("<svg>a < b</svg>"));
  EXPECT_FALSE(test::WellFormed("<svg>AT&T</svg>"));
  EXPECT_FALSE(test::WellFormed("<svg><g>"));
}

}  // namespace
}  // namespace mdfetch::svg
