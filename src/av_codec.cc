// The public half of the Alpha Vantage codec: the wording of refusals and the order of bars.
// Reading the JSON is in av_codec_sax.cc.
#include "mdfetch/av_codec.h"

#include <algorithm>
#include <array>
#include <exception>
#include <functional>
#include <utility>

namespace mdfetch {
namespace internal {

// Defined in av_codec_sax.cc: reads `body` and decides its kind by its keys alone (kData
// with bars in body order, kMalformed, kErrorMessage, or kThrottle for any `Note` or
// `Information`). May throw std::bad_alloc.
Answer ReadAnswer(Function function, std::string_view body);

}  // namespace internal

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `needle` must be lower-case.
bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  return !std::ranges::search(haystack, needle, [](char x, char y) {
            return Lower(x) == y;
          }).empty();
}

Answer Malformed(std::string message) {
  return Answer{AnswerKind::kMalformed, std::move(message), {}, {}};
}

// Service order is newest first; reversing it is the common case. Anything else is sorted
// stably so that, of duplicate timestamps, the one last in the body is kept.
void SortAndDedupe(std::vector<Bar>& bars) {
  const auto newer = [](const Bar& a, const Bar& b) { return a.ts > b.ts; };
  const auto older = [](const Bar& a, const Bar& b) { return a.ts < b.ts; };
  if (std::ranges::adjacent_find(bars, std::not_fn(newer)) == bars.end()) {
    std::ranges::reverse(bars);
    return;
  }
  std::ranges::stable_sort(bars, older);
  size_t out = 0;
  for (size_t i = 0; i < bars.size(); ++i) {
    if (out > 0 && bars[out - 1].ts == bars[i].ts) {
      bars[out - 1] = std::move(bars[i]);
    } else {
      if (out != i) bars[out] = std::move(bars[i]);
      ++out;
    }
  }
  bars.resize(out);
}

}  // namespace

std::string_view AnswerKindName(AnswerKind kind) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "data", "error message", "throttle", "daily limit", "premium", "key rejected", "malformed"};
  const auto index = static_cast<size_t>(kind);
  return index < kNames.size() ? kNames[index] : "unknown";
}

Answer DecodeAnswer(Function function, std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Malformed("empty body");
  }
  Answer answer;
  try {
    answer = internal::ReadAnswer(function, body);
  } catch (const std::exception& e) {
    return Malformed(std::string("cannot decode answer: ") + e.what());
  }
  switch (answer.kind) {
    case AnswerKind::kData:
      SortAndDedupe(answer.bars);
      break;
    case AnswerKind::kErrorMessage:
      // The one `Error Message` that no call with this key can get past.
      if (ContainsNoCase(answer.message, "apikey is invalid") ||
          ContainsNoCase(answer.message, "apikey is missing")) {
        answer.kind = AnswerKind::kKeyRejected;
      }
      break;
    case AnswerKind::kThrottle:
      answer.kind = ClassifyNotice(answer.message);
      break;
    default:
      break;
  }
  return answer;
}

// The wording changes over the years, so each rule is a few stable phrases. The 2025 burst
// text ("... rate limit (25 requests per day) and instantly unlock all premium endpoints")
// is a throttle: it must match neither the premium nor the daily phrases. The daily rule
// runs before the demo rule because a real key echoed in the daily text may contain "demo".
AnswerKind ClassifyNotice(std::string_view text) {
  static constexpr std::array<std::string_view, 4> kPremium = {
      "is a premium endpoint", "is a premium feature", "premium endpoint.", "premium feature."};
  for (const std::string_view phrase : kPremium) {
    if (ContainsNoCase(text, phrase)) return AnswerKind::kPremium;
  }
  if ((ContainsNoCase(text, "rate limit is") && ContainsNoCase(text, "per day")) ||
      ContainsNoCase(text, "daily rate limit")) {
    return AnswerKind::kDailyLimit;
  }
  if (ContainsNoCase(text, "demo") && ContainsNoCase(text, "api key")) {
    return AnswerKind::kKeyRejected;
  }
  return AnswerKind::kThrottle;
}

}  // namespace mdfetch
