// The check half of the Alpha Vantage codec: is a decoded data answer the series that was asked
// for? A caching proxy, a mix-up on the service's side or a bug of ours would otherwise store
// another symbol's or another function's bars under the series asked for (issue 9). The check
// runs once, on what either decoder read, so the scanner and the SAX decoder cannot differ on
// it; it is O(bars) and allocates only for the message of a refusal. An answer that passes is
// also told whether its newest bar is still provisional (Answer::newest_provisional).
//
// Differences the service is known to make, and accepted:
// - the symbol's case: the symbol comes back as the service normalises it. Every recorded
//   answer (tests/data 01-07b) writes it upper-case, as SeriesKey holds ours, but no answer to
//   a symbol sent in another case was recorded, so case alone is not taken for another symbol;
// - daily and daily adjusted share "Time Series (Daily)" (ALPHAVANTAGE.md 1, samples 01, 02):
//   the adjusted close tells them apart;
// - weekly and monthly adjusted bars carry a dividend but no split coefficient (samples 04, 05,
//   ALPHAVANTAGE.md 2.2), unlike daily adjusted;
// - an intraday answer without an "Interval" in its meta data: only its series key names it;
// - crypto fields that name no currency (the 2024+ layout, sample 07): only "Market Code" does.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "av_codec_internal.h"
#include "mdfetch/av_codec.h"
#include "mdfetch/series.h"

namespace mdfetch::internal {
namespace {

// The end of the session of US equities: a "Last Refreshed" time before it, on the day of the
// newest bar, was written while that bar was still trading (ALPHAVANTAGE.md 2.3).
constexpr std::string_view kSessionClose = "16:00:00";

struct Refusal {
  AnswerKind kind;
  std::string message;
};

// "IBM daily", "MSFT daily_adjusted", "AAPL intraday:5min adjusted=false": Describe() names a
// daily series by its symbol alone, which is too little where two series are compared.
std::string Named(const SeriesKey& key) {
  std::string out = Describe(key);
  if (key.function == Function::kDaily) out.insert(key.symbol.size(), " daily");
  if (out.starts_with(' ')) out.erase(0, 1);  // an answer that names no symbol
  return out;
}

std::string Asked(const Request& request) {
  std::string out = fmt::format("asked {}", Named(request.key));
  if (request.key.function == Function::kIntraday && !request.month.empty()) {
    out += " month=" + request.month;
  }
  return out;
}

// The series an answer is, for a message: its symbol and what its series key names. An
// answer's intraday switches cannot be known, so none are named. The shared daily key is
// daily adjusted when its bars carry an adjusted close.
std::string Came(std::string_view symbol, std::string_view series_key, bool adjusted_close) {
  const SeriesKeyName name = NameSeriesKey(series_key);
  if (name.function) {
    Function function = *name.function;
    if (function == Function::kDaily && adjusted_close) function = Function::kDailyAdjusted;
    return Named(SeriesKey{std::string(symbol), function, std::string(name.interval)});
  }
  std::string out(symbol);
  if (!out.empty()) out += ' ';
  if (name.name.empty()) {
    out += "series '";
    out += Capped(series_key);
    out += '\'';
    return out;
  }
  out += name.name;
  if (!name.interval.empty()) {
    out += ':';
    out += name.interval;
  }
  return out;
}

Refusal Mismatch(const Request& request, const std::string& came) {
  return {AnswerKind::kMismatch, Asked(request) + ", the answer is " + came};
}

bool HasAdjustedClose(const std::vector<Bar>& bars) {
  return std::ranges::any_of(bars, [](const Bar& bar) { return bar.adjusted_close.has_value(); });
}

bool SameFunction(Function asked, std::optional<Function> named) {
  return named == asked || (asked == Function::kDailyAdjusted && named == Function::kDaily);
}

// Function, interval and symbol; then the symbol's presence and the intraday meta interval.
std::optional<Refusal> CheckIdentity(const Request& request, const Decoded& decoded) {
  const SeriesKey& asked = request.key;
  const SeriesMeta& meta = decoded.answer.meta;
  const SeriesKeyName name = NameSeriesKey(decoded.series_key);
  const bool same_interval =
      asked.function != Function::kIntraday || name.interval == asked.interval;
  const bool other_symbol = !meta.symbol.empty() && !EqualsNoCase(meta.symbol, asked.symbol);
  if (!SameFunction(asked.function, name.function) || !same_interval || other_symbol) {
    return Mismatch(request,
                    Came(meta.symbol, decoded.series_key, HasAdjustedClose(decoded.answer.bars)));
  }
  // Every recorded answer names its symbol ("2. Symbol", "From Symbol"/"To Symbol", "Digital
  // Currency Code"/"Market Code": tests/data 01-07, ALPHAVANTAGE.md 2.1), so an answer without
  // one is not the service's layout, and whose bars it holds cannot be told.
  if (meta.symbol.empty()) {
    return Refusal{AnswerKind::kMalformed,
                   Asked(request) + ", the answer's meta data names no symbol"};
  }
  if (asked.function == Function::kIntraday && !meta.interval.empty() &&
      !EqualsNoCase(meta.interval, asked.interval)) {
    return Mismatch(request, Came(meta.symbol, decoded.series_key, false) +
                                 " with meta data interval " + Capped(meta.interval));
  }
  return std::nullopt;
}

// The pre-2024 crypto layout names the currency of each price ("1a. open (CNY)"): it must be
// the market asked for, whatever "Market Code" says.
std::optional<Refusal> CheckMarket(const Request& request, const Decoded& decoded) {
  if (request.key.function != Function::kCryptoDaily) return std::nullopt;
  const std::string_view asked = request.key.symbol;
  const size_t slash = asked.find('/');
  const std::string_view market = slash == std::string_view::npos ? "" : asked.substr(slash + 1);
  for (const std::string* currency : {&decoded.price_currency, &decoded.other_price_currency}) {
    if (currency->empty() || EqualsNoCase(*currency, market)) continue;
    const std::string_view symbol = decoded.answer.meta.symbol;
    const std::string code(symbol.substr(0, symbol.find('/')));
    return Mismatch(request, Came(code + "/" + *currency, decoded.series_key, false));
  }
  return std::nullopt;
}

Refusal MissingField(const Bar& bar, std::string_view field) {
  return {AnswerKind::kMalformed, "bar " + bar.ts + ": missing " + std::string(field)};
}

// An adjusted function's bars carry its adjusted fields; a plain function's carry no adjusted
// close (such bars are the adjusted function's).
std::optional<Refusal> CheckAdjusted(const Request& request, const Decoded& decoded) {
  const Function asked = request.key.function;
  const std::vector<Bar>& bars = decoded.answer.bars;
  if (!IsAdjusted(asked)) {
    const bool has_plain_twin =
        asked == Function::kDaily || asked == Function::kWeekly || asked == Function::kMonthly;
    if (!has_plain_twin || !HasAdjustedClose(bars)) return std::nullopt;
    return Mismatch(request, Came(decoded.answer.meta.symbol, decoded.series_key, true) +
                                 " (with adjusted close)");
  }
  if (NameSeriesKey(decoded.series_key).function == Function::kDaily && !HasAdjustedClose(bars)) {
    return Mismatch(request, Came(decoded.answer.meta.symbol, decoded.series_key, false) +
                                 " (no adjusted close)");
  }
  for (const Bar& bar : bars) {
    if (!bar.adjusted_close) return MissingField(bar, "adjusted close");
    if (!bar.dividend) return MissingField(bar, "dividend amount");
    if (asked == Function::kDailyAdjusted && !bar.split_coefficient) {
      return MissingField(bar, "split coefficient");
    }
  }
  return std::nullopt;
}

// An intraday month (`month=YYYY-MM`) is stored as that whole month: a bar of another month
// would land in the wrong place of the store's backfill.
std::optional<Refusal> CheckMonth(const Request& request, const Decoded& decoded) {
  if (request.key.function != Function::kIntraday || request.month.empty()) return std::nullopt;
  for (const Bar& bar : decoded.answer.bars) {
    const std::string_view month = std::string_view(bar.ts).substr(0, 7);
    if (month == request.month) continue;
    return Refusal{AnswerKind::kMismatch,
                   Asked(request) + ", the answer has bars of " + std::string(month)};
  }
  return std::nullopt;
}

// The functions whose bar is a US equity session: FX and crypto trade around the clock on UTC
// days, with no 16:00 close, and an intraday bar carries its own time of day.
bool IsEquityEndOfDay(Function function) {
  switch (function) {
    case Function::kDaily:
    case Function::kDailyAdjusted:
    case Function::kWeekly:
    case Function::kWeeklyAdjusted:
    case Function::kMonthly:
    case Function::kMonthlyAdjusted:
      return true;
    case Function::kIntraday:
    case Function::kFxDaily:
    case Function::kCryptoDaily:
      return false;
  }
  return false;
}

// "Last Refreshed" is a date after the close and a datetime during the session
// (ALPHAVANTAGE.md 2.3; samples 01 and 02).
bool IsNewestProvisional(Function function, const Answer& answer) {
  if (!IsEquityEndOfDay(function) || answer.bars.empty()) return false;
  const std::string_view refreshed = answer.meta.last_refreshed;
  if (!IsTimestamp(refreshed) || refreshed.size() == 10) return false;
  const std::string_view newest_day = std::string_view(answer.bars.back().ts).substr(0, 10);
  return refreshed.starts_with(newest_day) && refreshed.substr(11) < kSessionClose;
}

}  // namespace

Answer CheckAnswer(const Request& request, Decoded decoded) {
  Answer& answer = decoded.answer;
  if (answer.kind != AnswerKind::kData) return std::move(answer);
  for (const auto check : {CheckIdentity, CheckMarket, CheckAdjusted, CheckMonth}) {
    if (std::optional<Refusal> refusal = check(request, decoded)) {
      return Answer{refusal->kind, std::move(refusal->message), {}, {}};
    }
  }
  answer.newest_provisional = IsNewestProvisional(request.key.function, answer);
  return std::move(answer);
}

}  // namespace mdfetch::internal
