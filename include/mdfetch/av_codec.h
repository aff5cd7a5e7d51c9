// The Alpha Vantage codec: the service's protocol. It builds the request of one call (the
// query string, URL-encoded), turns the HTTP 200 body of its answer into either bars or a
// classified refusal, and checks that the bars are the series that was asked for.
//
// The service answers every refusal with HTTP 200 and a small JSON object, so a body is
// classified before anything is taken from it: a body is data only when it carries a
// time-series object (the key decides, never the wording). Otherwise `Error Message`, `Note`
// and `Information` bodies are told apart by kind (see AnswerKind). Bars go straight into Bar
// values, never through a DOM: a scanner reads the service's standard layout (hundreds of
// MB/s) and declines anything else, which nlohmann/json's SAX interface then decodes with the
// same rules and precise error messages.
//
// A caching proxy, a mix-up on the service's side or a bug of ours must not put another
// series' bars in the store, so data is checked against the request before it is returned
// (kMismatch unless all of these hold, whichever decoder read it):
// - the series key is the function's and interval's ("Time Series (5min)" for intraday 5min,
//   "Weekly Time Series" for weekly; daily and daily adjusted share "Time Series (Daily)"), and
//   an intraday "Interval" in the meta data, when there is one, is the interval asked;
// - the meta data names the symbol asked, in any case ("2. Symbol"; FX "From Symbol"/"To
//   Symbol" as FROM/TO; crypto "Digital Currency Code"/"Market Code"); an answer naming none
//   is kMalformed (every answer the service is known to write names it);
// - crypto prices whose field names carry a currency (the pre-2024 "1a. open (CNY)") are in
//   the market asked; of that layout's "1a" (market) and "1b" (USD) fields the "1a" is read;
// - an adjusted function's bars all carry an adjusted close and a dividend amount, daily
//   adjusted also a split coefficient (kMalformed naming the first bar without); daily
//   answered without any adjusted close, or daily, weekly or monthly with one, is the other
//   function's answer;
// - an intraday `month` call's bars all lie in that month.
// Stateless and thread-safe; the only module that includes nlohmann/json.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mdfetch/series.h"

namespace mdfetch {

// What one call asks the service for.
struct Request {
  SeriesKey key;
  OutputSize outputsize = OutputSize::kNone;  // kNone for functions that take none
  std::string month;                          // intraday backfill "YYYY-MM", else ""
};

// "/query?function=...&symbol=...&apikey=...": the target of the call, every value
// URL-encoded. FX pairs are sent as from_symbol/to_symbol, crypto as symbol/market; the
// intraday switches only when they differ from the service's defaults; outputsize only when
// not kNone. The result holds the API key: never show or log it unredacted.
std::string BuildTarget(const Request& request, std::string_view api_key);

// Percent-encodes `value` for a query string (RFC 3986 unreserved characters stay).
std::string UrlEncode(std::string_view value);

enum class AnswerKind {
  kData,          // bars (at least one) and metadata, and they answer the request
  kErrorMessage,  // `Error Message`: permanent for this call (unknown symbol, bad parameter)
  kThrottle,      // `Note`/`Information` about pacing, or any wording not recognised: retry later
  kDailyLimit,    // the daily cap wording ("rate limit is 25 requests per day"): stop all calls
  kPremium,       // "This is a premium endpoint": the function is refused to this key
  kPremiumFull,   // "The outputsize=full parameter value is a premium feature": only compact
  kKeyRejected,   // the demo key or an invalid/missing key: no call with this key can succeed
  kIncomplete,    // empty, not JSON (an HTML error page, CSV) or JSON cut short: transient (a
                  // retry may get the whole answer)
  kMalformed,     // whole JSON that is no usable answer (a bad bar, no or an empty series, a
                  // function's own field missing, no symbol): permanent, the same body would
                  // come again
  kMismatch,      // good bars, but of another series than the one asked for (another symbol,
                  // function, interval, market or month): permanent
};

std::string_view AnswerKindName(AnswerKind kind);

// True for the answers a retry after a pause may change: kThrottle and kIncomplete.
bool IsTransient(AnswerKind kind);

struct Answer {
  AnswerKind kind = AnswerKind::kMalformed;
  // For refusals: the service's text verbatim (callers redact the API key before showing
  // or storing it). For kIncomplete and kMalformed: what is wrong, e.g. "truncated JSON at
  // byte 5120", "bar 2020-05-07: missing split coefficient". For kMismatch: what was asked
  // and what came, each as Describe() names a series (with "daily" written out, and the
  // month of an intraday month call), e.g. "asked MSFT daily, the answer is IBM daily",
  // "asked IBM daily_adjusted, the answer is IBM daily (no adjusted close)", "asked IBM
  // intraday:5min month=2024-03, the answer has bars of 2024-04".
  std::string message;
  SeriesMeta meta;
  std::vector<Bar> bars;  // oldest first, unique timestamps; empty unless kind == kData
  // kData only: the newest bar belongs to a session still open when the answer was made
  // ("Last Refreshed" is a time of day before 16:00:00 on the newest bar's date, for equity
  // daily, weekly and monthly, adjusted or not): its close is the last price, not the close.
  // False after the close (a plain date, or 16:00:00 or later) and for intraday, FX and crypto.
  bool newest_provisional = false;
};

// Decodes `body` as the answer to `request` and checks it against the request (see the top
// of this file). Never throws. A time series whose bars fail validation (a missing
// open/high/low/close, a value that is not a number, a timestamp that is not
// YYYY-MM-DD[ HH:MM:SS]) makes the whole answer kMalformed (kIncomplete if the body is also
// cut short), and bars of another series kMismatch: nothing from a bad body is ever stored.
// O(size of body); the check adds O(bars) and no allocation per bar.
Answer DecodeAnswer(const Request& request, std::string_view body);

// Classifies the text of a `Note` or `Information` body (exposed for tests).
AnswerKind ClassifyNotice(std::string_view text);

}  // namespace mdfetch
