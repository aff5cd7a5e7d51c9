// Private to the simulator (simulator*.cc): the service's answers as text, and the intraday
// `month` parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mdfetch/series.h"

namespace mdfetch::sim {

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
