// What the simulator says: the service's refusal texts verbatim, and data answers written with
// fmt in the service's layout (tests/data/0*.json): 4-space indentation, "Meta Data" first,
// bars newest first, every number a string.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

#include "simulator_internal.h"

namespace mdfetch::sim {
namespace {

using MetaLines = std::vector<std::pair<std::string, std::string>>;

// The service's texts, verbatim (ALPHAVANTAGE.md §4.1, §4.2).
constexpr std::string_view kMissingKeyText =
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds.";
constexpr std::string_view kBurstText =
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
    "more sparingly. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) "
    "and instantly unlock all premium endpoints";
constexpr std::string_view kNoteText =
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
    "to target a higher API call frequency.";
constexpr std::string_view kPremiumText =
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of "
    "the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium "
    "endpoints";
constexpr std::string_view kPremiumFullText =
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium "
    "feature for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans "
    "at https://www.alphavantage.co/premium/ to instantly unlock all premium features";
constexpr std::string_view kHttp500Text =
    "<html><head><title>500 Internal Server Error</title></head>\n"
    "<body><h1>Internal Server Error</h1></body></html>\n";
constexpr std::string_view kHerokuText =
    "<!DOCTYPE html>\n<html>\n  <head>\n"
    "    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "    <meta charset=\"utf-8\">\n    <title>Application Error</title>\n"
    "    <style media=\"screen\">\n      html,body,iframe {\n        margin: 0;\n"
    "        padding: 0;\n      }\n      html,body {\n        height: 100%;\n"
    "        overflow: hidden;\n      }\n      iframe {\n        width: 100%;\n"
    "        height: 100%;\n        border: 0;\n      }\n    </style>\n  </head>\n  <body>\n"
    "    <iframe src=\"//www.herokucdn.com/error-pages/application-error.html\"></iframe>\n"
    "  </body>\n</html>\n";

std::string_view UpTo(std::string_view text, char sep) { return text.substr(0, text.find(sep)); }

std::string_view After(std::string_view text, char sep) {
  const auto pos = text.find(sep);
  return pos == std::string_view::npos ? std::string_view{} : text.substr(pos + 1);
}

std::string_view CurrencyName(std::string_view code) {
  if (code == "BTC") return "Bitcoin";
  if (code == "ETH") return "Ethereum";
  if (code == "EUR") return "Euro";
  if (code == "USD") return "United States Dollar";
  return code;
}

std::string SizeText(OutputSize size) {
  return size == OutputSize::kFull ? "Full size" : "Compact";
}

// The meta block of each function, in the service's per-function numbering.
MetaLines Meta(const SeriesKey& key, OutputSize size, const std::string& last) {
  const std::string symbol = key.symbol;
  switch (key.function) {
    case Function::kDaily:
      return {{"1. Information", "Daily Prices (open, high, low, close) and Volumes"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Output Size", SizeText(size)},
              {"5. Time Zone", "US/Eastern"}};
    case Function::kDailyAdjusted:
      return {{"1. Information", "Daily Time Series with Splits and Dividend Events"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Output Size", SizeText(size)},
              {"5. Time Zone", "US/Eastern"}};
    case Function::kWeekly:
      return {{"1. Information", "Weekly Prices (open, high, low, close) and Volumes"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Time Zone", "US/Eastern"}};
    case Function::kWeeklyAdjusted:
      return {{"1. Information", "Weekly Adjusted Prices and Volumes"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Time Zone", "US/Eastern"}};
    case Function::kMonthly:
      return {{"1. Information", "Monthly Prices (open, high, low, close) and Volumes"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Time Zone", "US/Eastern"}};
    case Function::kMonthlyAdjusted:
      return {{"1. Information", "Monthly Adjusted Prices and Volumes"},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Time Zone", "US/Eastern"}};
    case Function::kIntraday:
      return {{"1. Information",
               fmt::format("Intraday ({}) open, high, low, close prices and volume", key.interval)},
              {"2. Symbol", symbol},
              {"3. Last Refreshed", last},
              {"4. Interval", key.interval},
              {"5. Output Size", SizeText(size)},
              {"6. Time Zone", "US/Eastern"}};
    case Function::kFxDaily:
      return {{"1. Information", "Forex Daily Prices (open, high, low, close)"},
              {"2. From Symbol", std::string(UpTo(symbol, '/'))},
              {"3. To Symbol", std::string(After(symbol, '/'))},
              {"4. Output Size", SizeText(size)},
              {"5. Last Refreshed", last},
              {"6. Time Zone", "UTC"}};
    case Function::kCryptoDaily:
      return {{"1. Information", "Daily Prices and Volumes for Digital Currency"},
              {"2. Digital Currency Code", std::string(UpTo(symbol, '/'))},
              {"3. Digital Currency Name", std::string(CurrencyName(UpTo(symbol, '/')))},
              {"4. Market Code", std::string(After(symbol, '/'))},
              {"5. Market Name", std::string(CurrencyName(After(symbol, '/')))},
              {"6. Last Refreshed", last},
              {"7. Time Zone", "UTC"}};
  }
  return {};
}

std::string_view SeriesName(const SeriesKey& key, std::string& scratch) {
  switch (key.function) {
    case Function::kDaily:
    case Function::kDailyAdjusted:
      return "Time Series (Daily)";
    case Function::kWeekly:
      return "Weekly Time Series";
    case Function::kWeeklyAdjusted:
      return "Weekly Adjusted Time Series";
    case Function::kMonthly:
      return "Monthly Time Series";
    case Function::kMonthlyAdjusted:
      return "Monthly Adjusted Time Series";
    case Function::kIntraday:
      scratch = fmt::format("Time Series ({})", key.interval);
      return scratch;
    case Function::kFxDaily:
      return "Time Series FX (Daily)";
    case Function::kCryptoDaily:
      return "Time Series (Digital Currency Daily)";
  }
  return "";
}

// "123.4500": a price already rounded to `decimals`, printed from its scaled integer. This is
// ~10x faster than floating-point formatting, which matters for 1.4 MB full answers.
void AppendFixed(std::string& out, double value, int decimals) {
  static constexpr int64_t kScale[] = {1,      10,      100,      1000,     10000,
                                       100000, 1000000, 10000000, 100000000};
  const int64_t scale = kScale[decimals];
  int64_t scaled = std::llround(value * static_cast<double>(scale));
  if (scaled < 0) {
    out += '-';
    scaled = -scaled;
  }
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, scaled / scale).ptr;
  out.append(digits, end);
  if (decimals == 0) return;
  out += '.';
  int64_t fraction = scaled % scale;
  for (int i = decimals - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out.append(digits, static_cast<size_t>(decimals));
}

void Field(std::string& out, std::string_view name, double value, int decimals, bool last = false) {
  out += "            \"";
  out += name;
  out += "\": \"";
  AppendFixed(out, value, decimals);
  out += last ? "\"\n" : "\",\n";
}

void WriteBar(std::string& out, Function f, const Bar& bar) {
  const int decimals = f == Function::kFxDaily ? 5 : f == Function::kCryptoDaily ? 8 : 4;
  Field(out, "1. open", bar.open, decimals);
  Field(out, "2. high", bar.high, decimals);
  Field(out, "3. low", bar.low, decimals);
  const bool has_volume = bar.volume.has_value();
  Field(out, "4. close", bar.close, decimals, !has_volume);
  if (!has_volume) return;
  const int volume_decimals = f == Function::kCryptoDaily ? 8 : 0;
  if (!IsAdjusted(f)) {
    Field(out, "5. volume", *bar.volume, volume_decimals, true);
    return;
  }
  Field(out, "5. adjusted close", bar.adjusted_close.value_or(bar.close), decimals);
  const bool has_split = bar.split_coefficient.has_value();
  Field(out, "6. volume", *bar.volume, volume_decimals);
  Field(out, "7. dividend amount", bar.dividend.value_or(0.0), 4, !has_split);
  if (has_split) Field(out, "8. split coefficient", *bar.split_coefficient, 4, true);
}

}  // namespace

std::string EscapeJson(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderSeries(const SeriesKey& key, OutputSize size, std::span<const Bar> bars) {
  std::string out;
  out.reserve(512 + bars.size() * 300);
  const std::string last = bars.empty() ? "" : bars.back().ts;
  out += "{\n    \"Meta Data\": {\n";
  const MetaLines meta = Meta(key, size, last);
  for (size_t i = 0; i < meta.size(); ++i) {
    out += fmt::format("        \"{}\": \"{}\"{}\n", meta[i].first, EscapeJson(meta[i].second),
                       i + 1 < meta.size() ? "," : "");
  }
  std::string scratch;
  out += fmt::format("    }},\n    \"{}\": {{\n", SeriesName(key, scratch));
  for (auto it = bars.rbegin(); it != bars.rend(); ++it) {
    out += "        \"";
    out += it->ts;
    out += "\": {\n";
    WriteBar(out, key.function, *it);
    out += std::next(it) != bars.rend() ? "        },\n" : "        }\n";
  }
  out += "    }\n}";
  return out;
}

std::string RenderMessage(std::string_view key, std::string_view text) {
  return fmt::format("{{\n    \"{}\": \"{}\"\n}}", key, EscapeJson(text));
}

std::string MissingKeyBody() { return RenderMessage("Error Message", kMissingKeyText); }

std::string UnknownFunctionBody(std::string_view function_name) {
  return RenderMessage("Error Message",
                       fmt::format("This API function ({}) does not exist.", function_name));
}

std::string InvalidCallBody(Function f) {
  return RenderMessage("Error Message",
                       fmt::format("Invalid API call. Please retry or visit the documentation "
                                   "(https://www.alphavantage.co/documentation/) for {}.",
                                   ApiName(f)));
}

std::string PremiumBody() { return RenderMessage("Information", kPremiumText); }

std::string PremiumFullBody() { return RenderMessage("Information", kPremiumFullText); }

std::string ThrottleBody(bool note_style) {
  return note_style ? RenderMessage("Note", kNoteText) : RenderMessage("Information", kBurstText);
}

std::string DailyLimitBody(std::string_view apikey, int64_t limit) {
  return RenderMessage(
      "Information",
      fmt::format("We have detected your API key as {} and our standard API rate limit is {} "
                  "requests per day. Please subscribe to any of the premium plans at "
                  "https://www.alphavantage.co/premium/ to instantly remove all daily rate "
                  "limits.",
                  apikey, limit));
}

std::string_view Http500Page() { return kHttp500Text; }

std::string_view Http503Page() { return kHerokuText; }

}  // namespace mdfetch::sim
