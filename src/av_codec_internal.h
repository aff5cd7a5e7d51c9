// Private to the codec (av_codec*.cc) and its tests. DecodeAnswer decodes, then checks:
// - two decoders, a scanner for the one layout the service writes (av_codec.cc) and nlohmann's
//   SAX parser for anything else (av_codec_sax.cc), both reading bars through the vocabulary of
//   av_codec_names.cc, so that a body the scanner accepts decodes to the same Decoded either
//   way (tests compare the two decoders);
// - one check of what was decoded against the request (av_codec_check.cc), the same whichever
//   decoder read the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/av_codec.h"

namespace mdfetch::internal {

// What a decoder read from a body, before it is checked against the request.
struct Decoded {
  // kData (bars sorted and unique, meta), a refusal, kIncomplete or kMalformed. Never
  // kMismatch: only CheckAnswer knows what was asked.
  Answer answer;
  // kData: the top-level key the bars came from ("Time Series (Daily)", "Weekly Time Series").
  std::string series_key;
  // kData: the currencies the price fields (open, high, low, close) are named with, as in the
  // pre-2024 crypto layout's "1a. open (CNY)": the first seen, and the first seen that differs
  // from it. Empty when the fields name none (every current layout) or no second one.
  std::string price_currency;
  std::string other_price_currency;
};

// ---- The two decoders, each with DecodeAnswer's post-processing (order, refusal kinds) ----

// Decoded for any body, read by nlohmann's SAX parser. Never throws.
Decoded DecodeWithSax(Function function, std::string_view body);

// The scanner: a data answer in the service's layout ("Meta Data" first, then the function's
// series object, every value a string without escapes, JSON whitespace anywhere), or nullopt
// for any body it does not fully understand. Whenever it answers, the answer is exactly
// DecodeWithSax's. Never throws.
std::optional<Decoded> DecodeFast(Function function, std::string_view body);

// The SAX reader alone (av_codec_sax.cc): kData with bars in body order, kIncomplete (not
// JSON, or cut short), kMalformed, kErrorMessage, or kThrottle for any `Note` or
// `Information`. May throw std::bad_alloc.
Decoded ReadAnswer(Function function, std::string_view body);

// ---- The check (av_codec_check.cc) ----

// `decoded.answer` if it answers `request`; kMismatch when its bars are another series
// (another function, interval, symbol, market or month), kMalformed when it cannot be told
// (no symbol) or the function's own fields are missing from a bar. Sets newest_provisional.
// O(bars), no allocation per bar.
Answer CheckAnswer(const Request& request, Decoded decoded);

// ---- Shared vocabulary: values (av_codec.cc) ----

// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", digits only where digits belong.
bool IsTimestamp(std::string_view ts);
// The whole text as a finite number, bit for bit what std::from_chars reads (no sign '+', no
// spaces, no hex).
std::optional<double> ParseNumber(std::string_view text);
// The order of bars: oldest first, of duplicate timestamps the one last in the body.
void SortAndDedupe(std::vector<Bar>& bars);

// ---- Shared vocabulary: names (av_codec_names.cc) ----

char Lower(char c);
bool EqualsNoCase(std::string_view a, std::string_view b);
// `text` cut to 40 bytes (never inside a UTF-8 sequence) and "...", so that body text quoted
// in a message never floods a log.
std::string Capped(std::string_view text);

// What a series key names: one of our functions (kDaily also stands for kDailyAdjusted, which
// answers under the same key), another of the service's series ("fx_weekly",
// "crypto_intraday"), or nothing known (`name` empty).
struct SeriesKeyName {
  std::optional<Function> function;
  std::string_view name;      // ShortName(*function), or the other series' name
  std::string_view interval;  // "5min" of "Time Series (5min)"; empty for other series
};
SeriesKeyName NameSeriesKey(std::string_view key);

// The series key `function` is answered with ("Time Series (Daily)" for daily and daily
// adjusted, "Time Series (<any interval>)" for intraday).
bool IsExactSeriesKey(Function function, std::string_view key);

// Bar fields, numbered open, high, low, close (the required ones), volume, adjusted close,
// dividend amount, split coefficient. kNoField stands for any other key, which is ignored.
inline constexpr size_t kRequiredFields = 4;
inline constexpr size_t kNoField = 8;

struct FieldKey {
  size_t field = kNoField;
  std::string_view currency;  // "CNY" of "1a. open (CNY)"; empty when the name has none
};
// "1. open", "1a. open (CNY)" -> open; "1b. open (USD)" (the pre-2024 crypto layout's copy in
// USD of the market-currency "1a" field) and anything else -> kNoField.
FieldKey ParseField(std::string_view key);
std::string_view FieldName(size_t field);
// Sets `field` (< kNoField) of `bar` unless `fields_set`, a bit per field, says it is set
// already: of two fields of the same name in one bar, the first wins.
void SetField(Bar& bar, uint32_t& fields_set, size_t field, double value);
// The first required field missing from `fields_set`, or kNoField when all are there.
size_t FirstMissingField(uint32_t fields_set);
// Notes the currency of a price field into `decoded` (allocates at most twice per answer).
void NoteCurrency(Decoded& decoded, const FieldKey& key);

// SeriesMeta plus the two halves of an FX or crypto pair, joined by TakeMeta.
struct MetaText : SeriesMeta {
  std::string from;
  std::string to;
};
// "2. Symbol", "6. Time Zone", "4. Market Code" -> the member they fill; nullptr if none.
std::string MetaText::*ParseMetaField(std::string_view key);
// The metadata, with "FROM/TO" as the symbol when the answer names a pair and no symbol.
SeriesMeta TakeMeta(MetaText& meta);

}  // namespace mdfetch::internal
