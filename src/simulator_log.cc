// The simulator's request log: JSON lines written with fmt (the simulator does not include
// nlohmann/json, which belongs to the codec), strings escaped by EscapeJson.
#include <fmt/format.h>

#include "simulator_internal.h"

namespace mdfetch::sim {

std::string_view OutcomeName(Outcome outcome, ContentKind content) {
  switch (outcome) {
    case Outcome::kMissingKey:
      return "error_message";
    case Outcome::kHttp500:
      return "http500";
    case Outcome::kHttp503:
      return "http503";
    case Outcome::kReset:
      return "reset";
    case Outcome::kTruncate:
      return "truncated";
    case Outcome::kMalformed:
      return "malformed";
    case Outcome::kThrottled:
      return "throttled";
    case Outcome::kDailyLimited:
      return "daily_limit";
    case Outcome::kContent:
      break;
  }
  switch (content) {
    case ContentKind::kUnknownFunction:
    case ContentKind::kInvalidCall:
      return "error_message";
    case ContentKind::kPremium:
    case ContentKind::kPremiumFull:
      return "premium";
    case ContentKind::kData:
      break;
  }
  return "data";
}

std::string IsoUtcMillis(WallTime t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const Date ymd{day};
  const hh_mm_ss hms{ms - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

std::string LogLine(const LogEntry& entry) {
  std::string query;
  for (const auto& [name, value] : entry.params) {
    if (!query.empty()) query += ',';
    // The key never reaches the log, whatever else is logged.
    query += fmt::format("\"{}\":\"{}\"", EscapeJson(name),
                         name == "apikey" ? "***" : EscapeJson(value));
  }
  return fmt::format(
      "{{\"time\":\"{}\",\"query\":{{{}}},\"outcome\":\"{}\",\"status\":{},\"bytes\":{}{}}}\n",
      IsoUtcMillis(entry.time), query, entry.outcome, entry.status, entry.bytes,
      entry.slow ? ",\"slow\":true" : "");
}

}  // namespace mdfetch::sim
