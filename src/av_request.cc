// The request half of the Alpha Vantage codec: one call's query string.
#include <fmt/format.h>

#include <cctype>

#include "mdfetch/av_codec.h"

namespace mdfetch {

std::string BuildTarget(const Request& request, std::string_view api_key) {
  const SeriesKey& key = request.key;
  std::string target = fmt::format("/query?function={}", ApiName(key.function));
  auto add = [&](std::string_view name, std::string_view value) {
    target += fmt::format("&{}={}", name, UrlEncode(value));
  };
  std::string_view symbol = key.symbol;
  size_t slash = symbol.find('/');
  if (key.function == Function::kFxDaily && slash != std::string_view::npos) {
    add("from_symbol", symbol.substr(0, slash));
    add("to_symbol", symbol.substr(slash + 1));
  } else if (key.function == Function::kCryptoDaily && slash != std::string_view::npos) {
    add("symbol", symbol.substr(0, slash));
    add("market", symbol.substr(slash + 1));
  } else {
    add("symbol", symbol);
  }
  if (key.function == Function::kIntraday) {
    add("interval", key.interval);
    if (!key.adjusted) add("adjusted", "false");
    if (!key.extended_hours) add("extended_hours", "false");
    if (!request.month.empty()) add("month", request.month);
  }
  if (request.outputsize != OutputSize::kNone)
    add("outputsize", OutputSizeName(request.outputsize));
  add("apikey", api_key);
  return target;
}

std::string UrlEncode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

}  // namespace mdfetch
