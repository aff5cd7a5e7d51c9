// Private to the codec (av_codec*.cc) and its tests. DecodeAnswer has two decoders: a scanner
// for the one layout the service writes (av_codec.cc) and nlohmann's SAX parser for anything
// else (av_codec_sax.cc). Both read bars through the vocabulary below, so that a body the
// scanner accepts decodes to the same answer either way; tests compare the two decoders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mdfetch/av_codec.h"

namespace mdfetch::internal {

// ---- The two decoders, each with DecodeAnswer's post-processing (order, refusal kinds) ----

// What DecodeAnswer returns for any body, read by nlohmann's SAX parser. Never throws.
Answer DecodeWithSax(Function function, std::string_view body);

// The scanner: a data answer in the service's layout ("Meta Data" first, then the function's
// series object, every value a string without escapes, JSON whitespace anywhere), or nullopt
// for any body it does not fully understand. Whenever it answers, the answer is exactly
// DecodeWithSax's. Never throws.
std::optional<Answer> DecodeFast(Function function, std::string_view body);

// The SAX reader alone (av_codec_sax.cc): kData with bars in body order, kIncomplete (not
// JSON, or cut short), kMalformed, kErrorMessage, or kThrottle for any `Note` or
// `Information`. May throw std::bad_alloc.
Answer ReadAnswer(Function function, std::string_view body);

// ---- Shared vocabulary: values (av_codec.cc) ----

// "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", digits only where digits belong.
bool IsTimestamp(std::string_view ts);
// The whole text as a finite number, bit for bit what std::from_chars reads (no sign '+', no
// spaces, no hex).
std::optional<double> ParseNumber(std::string_view text);

// ---- Shared vocabulary: names (av_codec_sax.cc) ----

// The series key `function` is answered with ("Time Series (Daily)", "Time Series (5min)").
bool IsExactSeriesKey(Function function, std::string_view key);

// Bar fields, numbered open, high, low, close (the required ones), volume, adjusted close,
// dividend amount, split coefficient. kNoField stands for any other key, which is ignored.
inline constexpr size_t kRequiredFields = 4;
inline constexpr size_t kNoField = 8;
// "1. open", "1a. open (CNY)" -> the field; anything else -> kNoField.
size_t ParseField(std::string_view key);
std::string_view FieldName(size_t field);
// Sets `field` (< kNoField) of `bar` unless `fields_set`, a bit per field, says it is set
// already: of "1a. open (CNY)" and "1b. open (USD)", the first one wins.
void SetField(Bar& bar, uint32_t& fields_set, size_t field, double value);
// The first required field missing from `fields_set`, or kNoField when all are there.
size_t FirstMissingField(uint32_t fields_set);

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
