// What the codec's tests share (av_codec_test.cc, av_codec_check_test.cc): requests named as a
// person names a series, the recorded samples, and bodies built from parts.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "av_codec_internal.h"
#include "mdfetch/av_codec.h"
#include "mdfetch/series.h"

namespace mdfetch::codec_test {

// The request for a series named as Describe() names it, plus " daily" allowed: "IBM" (daily),
// "IBM daily_adjusted", "MSFT intraday:1min", "EUR/USD fx_daily", "BTC/EUR crypto_daily".
inline Request Ask(std::string_view series, std::string month = "") {
  Request request;
  const size_t space = series.find(' ');
  request.key.symbol = std::string(series.substr(0, space));
  if (space != std::string_view::npos) {
    std::string_view function = series.substr(space + 1);
    if (const size_t colon = function.find(':'); colon != std::string_view::npos) {
      request.key.interval = std::string(function.substr(colon + 1));
      function = function.substr(0, colon);
    }
    const std::optional<Function> parsed = ParseFunction(function);
    EXPECT_TRUE(parsed.has_value()) << series;
    request.key.function = parsed.value_or(Function::kDaily);
  }
  if (TakesOutputSize(request.key.function)) request.outputsize = OutputSize::kCompact;
  request.month = std::move(month);
  return request;
}

// `body` decoded as the answer to the series named `series` (see Ask).
inline Answer Decode(std::string_view series, std::string_view body) {
  return DecodeAnswer(Ask(series), body);
}

inline std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(MDFETCH_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// `"ts": {open 1.5, high 2.5, low 0.5, close}` as a member of a series object.
inline std::string OhlcBar(const std::string& ts, const std::string& close) {
  return JsonString(ts) + R"j(: {"1. open": "1.5", "2. high": "2.5", "3. low": "0.5", )j" +
         R"j("4. close": )j" + JsonString(close) + "}";
}

// An OhlcBar with the adjusted fields of daily adjusted (adjusted close == close, dividend 0,
// split 1).
inline std::string AdjustedBar(const std::string& ts, const std::string& close) {
  return JsonString(ts) + R"j(: {"1. open": "1.5", "2. high": "2.5", "3. low": "0.5", )j" +
         R"j("4. close": )j" + JsonString(close) + R"j(, "5. adjusted close": )j" +
         JsonString(close) +
         R"j(, "6. volume": "10", "7. dividend amount": "0.0000", "8. split coefficient": "1.0"})j";
}

inline std::string Series(const std::string& key, const std::vector<std::string>& bars) {
  std::string series = JsonString(key) + ": {";
  for (size_t i = 0; i < bars.size(); ++i) series += (i > 0 ? ", " : "") + bars[i];
  return series + "}";
}

// The "Meta Data" member naming the symbol of `series` (see Ask) as the service does for its
// function, with `last_refreshed` when not empty.
inline std::string MetaFor(std::string_view series, const std::string& last_refreshed = "") {
  const SeriesKey key = Ask(series).key;
  const size_t slash = key.symbol.find('/');
  const std::string from = key.symbol.substr(0, slash);
  const std::string to = slash == std::string::npos ? "" : key.symbol.substr(slash + 1);
  std::string meta = R"j("Meta Data": {)j";
  if (key.function == Function::kFxDaily) {
    meta +=
        R"j("2. From Symbol": )j" + JsonString(from) + R"j(, "3. To Symbol": )j" + JsonString(to);
  } else if (key.function == Function::kCryptoDaily) {
    meta += R"j("2. Digital Currency Code": )j" + JsonString(from) + R"j(, "4. Market Code": )j" +
            JsonString(to);
  } else {
    meta += R"j("2. Symbol": )j" + JsonString(key.symbol);
  }
  if (!last_refreshed.empty()) meta += R"j(, "3. Last Refreshed": )j" + JsonString(last_refreshed);
  return meta + "}";
}

// {"Meta Data": {...}, "<series key>": {bars}}: an answer for `series` (see Ask).
inline std::string BodyFor(std::string_view series, const std::string& series_key,
                           const std::vector<std::string>& bars,
                           const std::string& last_refreshed = "") {
  return "{" + MetaFor(series, last_refreshed) + ", " + Series(series_key, bars) + "}";
}

// A daily answer for IBM.
inline std::string DailyBody(const std::vector<std::string>& bars) {
  return BodyFor("IBM", "Time Series (Daily)", bars);
}

inline std::string ReplaceFirst(std::string text, std::string_view from, std::string_view to) {
  if (const size_t at = text.find(from); at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

inline std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// ---- The scanner and the SAX decoder agree -----------------------------------------------

// "" when `a` and `b` are the same answer, else the first difference.
inline std::string Difference(const Answer& a, const Answer& b) {
  if (a.kind != b.kind) {
    return "kind " + std::string(AnswerKindName(a.kind)) + " vs " +
           std::string(AnswerKindName(b.kind));
  }
  if (a.message != b.message) return "message '" + a.message + "' vs '" + b.message + "'";
  if (a.newest_provisional != b.newest_provisional) return "newest_provisional";
  const auto meta = [](const SeriesMeta& m) {
    return m.symbol + "|" + m.last_refreshed + "|" + m.time_zone + "|" + m.output_size + "|" +
           m.interval;
  };
  if (meta(a.meta) != meta(b.meta)) return "meta " + meta(a.meta) + " vs " + meta(b.meta);
  if (a.bars.size() != b.bars.size()) {
    return "bar count " + std::to_string(a.bars.size()) + " vs " + std::to_string(b.bars.size());
  }
  // Bit for bit, so that 0.0 and -0.0 differ too.
  const auto bits = [](double v) { return std::bit_cast<uint64_t>(v); };
  const auto same = [&](std::optional<double> x, std::optional<double> y) {
    return x.has_value() == y.has_value() && (!x || bits(*x) == bits(*y));
  };
  for (size_t i = 0; i < a.bars.size(); ++i) {
    const Bar& x = a.bars[i];
    const Bar& y = b.bars[i];
    if (x.ts != y.ts || bits(x.open) != bits(y.open) || bits(x.high) != bits(y.high) ||
        bits(x.low) != bits(y.low) || bits(x.close) != bits(y.close) || !same(x.volume, y.volume) ||
        !same(x.adjusted_close, y.adjusted_close) || !same(x.dividend, y.dividend) ||
        !same(x.split_coefficient, y.split_coefficient)) {
      return "bar " + std::to_string(i) + " (" + x.ts + " vs " + y.ts + ")";
    }
  }
  return "";
}

// The same for what the decoders read, the check's inputs included.
inline std::string Difference(const internal::Decoded& a, const internal::Decoded& b) {
  if (std::string d = Difference(a.answer, b.answer); !d.empty()) return d;
  if (a.series_key != b.series_key) return "series key " + a.series_key + " vs " + b.series_key;
  if (a.price_currency != b.price_currency || a.other_price_currency != b.other_price_currency) {
    return "currencies " + a.price_currency + "," + a.other_price_currency + " vs " +
           b.price_currency + "," + b.other_price_currency;
  }
  return "";
}

struct Verdict {
  bool handled = false;    // the scanner answered rather than declined
  std::string difference;  // "" when every decoder agrees
};

// Decodes `body` by the scanner, by SAX and by DecodeAnswer: DecodeAnswer must always be the
// check of what SAX read, and the scanner, whenever it answers, must read what SAX reads.
inline Verdict Compare(const Request& request, std::string_view body) {
  const internal::Decoded sax = internal::DecodeWithSax(request.key.function, body);
  Verdict verdict;
  if (std::string d = Difference(DecodeAnswer(request, body), internal::CheckAnswer(request, sax));
      !d.empty()) {
    verdict.difference = "DecodeAnswer vs SAX: " + d;
  }
  const std::optional<internal::Decoded> fast = internal::DecodeFast(request.key.function, body);
  verdict.handled = fast.has_value();
  if (fast && verdict.difference.empty()) {
    if (std::string d = Difference(*fast, sax); !d.empty())
      verdict.difference = "fast vs SAX: " + d;
  }
  return verdict;
}

}  // namespace mdfetch::codec_test
