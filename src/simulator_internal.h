// Private to the simulator (simulator*.cc): a request as the simulator reads it, the
// service's answers as text, and the request log's lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mdfetch/clock.h"
#include "mdfetch/market_calendar.h"
#include "mdfetch/series.h"

namespace httplib {
struct Request;
}

namespace mdfetch::sim {

// One GET /query as the simulator reads it.
struct Call {
  std::string function_name;         // as sent
  std::optional<Function> function;  // nullopt: no function the simulator serves
  SeriesKey key;                     // symbol upper-case, "FROM/TO" for FX and crypto
  OutputSize size = OutputSize::kCompact;
  std::string apikey;
  Date last_session;          // the simulator's, when the call arrived
  Date utc_today;             // the simulator's UTC day then: crypto's last day
  std::string month;          // intraday `month`, empty when absent
  bool valid_options = true;  // intraday `adjusted`, `extended_hours` and `month`
};

// What one call gets. Decided under the lock; the body is built outside it.
enum class Outcome {
  kMissingKey,
  kHttp500,
  kHttp503,
  kReset,
  kTruncate,
  kMalformed,
  kThrottled,
  kDailyLimited,
  kContent,  // the answer that depends on the request alone: data, Error Message or premium
};

// The request-only answers, in the order the service checks them.
enum class ContentKind { kUnknownFunction, kPremium, kPremiumFull, kInvalidCall, kData };

// The call `req` makes of a simulator whose last session and UTC day are those given.
Call ParseCall(const httplib::Request& req, Date last_session, Date utc_today);

// `text` upper-cased (ASCII).
std::string Upper(std::string text);

// The log's name of an outcome: data, throttled, daily_limit, premium, error_message, http500,
// http503, reset, truncated or malformed (`content` tells the kContent ones apart).
std::string_view OutcomeName(Outcome outcome, ContentKind content);

// "2026-11-20T22:00:00.123Z": `t` in UTC, ISO 8601 with milliseconds.
std::string IsoUtcMillis(WallTime t);

// One line of the request log (simulator.h, SimOptions::log), newline included. The value
// of every parameter named "apikey" is written as "***".
struct LogEntry {
  WallTime time;
  std::span<const std::pair<std::string, std::string>> params;
  std::string_view outcome;
  int status = 200;
  size_t bytes = 0;
  bool slow = false;
};
std::string LogLine(const LogEntry& entry);

// A whole data answer for `key`: "Meta Data" first, then the series newest first, with the
// service's 4-space indentation and per-function meta and field names. `bars` is oldest first.
std::string RenderSeries(const SeriesKey& key, OutputSize size, std::span<const Bar> bars);

// {"<key>": "<text>"}, indented like the service's refusals.
std::string RenderMessage(std::string_view key, std::string_view text);

// The service's non-data answers (ALPHAVANTAGE.md §4.1), as JSON bodies. The daily-limit
// text quotes the API key back, as the service does.
std::string MissingKeyBody();
std::string UnknownFunctionBody(std::string_view function_name);
std::string InvalidCallBody(Function f);
std::string PremiumBody();
std::string PremiumFullBody();
std::string ThrottleBody(bool note_style);
std::string DailyLimitBody(std::string_view apikey, int64_t limit);

// HTML bodies of the injected HTTP 500 and 503 (Heroku's "Application Error" page).
std::string_view Http500Page();
std::string_view Http503Page();

// `text` as a JSON string literal body (quotes, backslashes and control characters escaped).
std::string EscapeJson(std::string_view text);

}  // namespace mdfetch::sim
