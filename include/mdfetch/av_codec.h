// The Alpha Vantage codec: turns one HTTP 200 body into either bars or a classified refusal.
//
// The service answers every refusal with HTTP 200 and a small JSON object, so a body is
// classified before anything is taken from it: a body is data only when it carries the
// function's time-series object (the key decides, never the wording). Otherwise
// `Error Message`, `Note` and `Information` bodies are told apart by kind (see AnswerKind).
// Bars go straight into Bar values, never through a DOM: a scanner reads the service's
// standard layout (hundreds of MB/s) and declines anything else, which nlohmann/json's SAX
// interface then decodes with the same rules and precise error messages. Stateless and thread-safe;
// the only module that includes nlohmann/json.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/series.h"

namespace mdfetch {

enum class AnswerKind {
  kData,          // bars (at least one) and metadata
  kErrorMessage,  // `Error Message`: permanent for this call (unknown symbol, bad parameter)
  kThrottle,      // `Note`/`Information` about pacing, or any wording not recognised: retry later
  kDailyLimit,    // the daily cap wording ("rate limit is 25 requests per day"): stop all calls
  kPremium,       // "premium endpoint" / "premium feature": permanent for this function/parameter
  kKeyRejected,   // the demo key or an invalid/missing key: no call with this key can succeed
  kMalformed,     // not JSON, truncated, wrong shape, a bad bar, or an empty time series
};

std::string_view AnswerKindName(AnswerKind kind);

// The metadata block ("Meta Data"), matched by the text after the number ("5. Time Zone",
// "6. Time Zone" and "4. Time Zone" all fill time_zone). Missing fields are empty.
struct SeriesMeta {
  std::string symbol;          // "2. Symbol", or "From/To", or "Digital Currency Code/Market Code"
  std::string last_refreshed;  // "3. Last Refreshed" (a date, or a datetime during the session)
  std::string time_zone;       // "US/Eastern", "UTC", ...
  std::string output_size;     // "Compact" / "Full size" when present
  std::string interval;        // intraday only
};

struct Answer {
  AnswerKind kind = AnswerKind::kMalformed;
  // For refusals: the service's text verbatim (callers redact the API key before showing
  // or storing it). For kMalformed: what is wrong, e.g. "truncated JSON at byte 5120".
  std::string message;
  SeriesMeta meta;
  std::vector<Bar> bars;  // oldest first, unique timestamps; empty unless kind == kData
};

// Decodes `body` as the answer to a call of `function`. Never throws. A time series whose
// bars fail validation (a missing open/high/low/close, a value that is not a number, a
// timestamp that is not YYYY-MM-DD[ HH:MM:SS]) makes the whole answer kMalformed: nothing from
// a bad body is ever stored.
Answer DecodeAnswer(Function function, std::string_view body);

// Classifies the text of a `Note` or `Information` body (exposed for tests).
AnswerKind ClassifyNotice(std::string_view text);

}  // namespace mdfetch
