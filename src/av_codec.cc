// The public half of the Alpha Vantage codec: the wording of refusals, the order of bars, and
// the scanner that reads the service's own layout several times faster than nlohmann's lexer
// (docs/performance.md: the lexer was most of a refresh's CPU). Any other body goes to the
// SAX decoder in av_codec_sax.cc; either way, av_codec_check.cc then checks that the bars
// are the series asked for.
#include "mdfetch/av_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "av_codec_internal.h"

namespace mdfetch {
namespace {

// `needle` must be lower-case.
bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  return !std::ranges::search(haystack, needle, [](char x, char y) {
            return internal::Lower(x) == y;
          }).empty();
}

internal::Decoded NoAnswer(AnswerKind kind, std::string message) {
  return {Answer{kind, std::move(message), {}, {}}};
}

}  // namespace

namespace internal {

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

}  // namespace internal

namespace {

// A plain decimal ("123.4500", "22165128", "-0.66": every number the service writes) whose
// digits make an integer m <= 2^53 has at most 16 fraction digits k, so m and 10^k are exact
// doubles and one IEEE division rounds m / 10^k correctly: the value std::from_chars returns
// (Clinger's fast path), at a fraction of its cost. nullopt for any other text.
std::optional<double> ParsePlainDecimal(std::string_view text) {
  static constexpr std::array<double, 23> kPowersOfTen = {
      1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  constexpr uint64_t kMaxExact = uint64_t{1} << 53;
  constexpr size_t kMaxDigits = 19;  // more may wrap `mantissa`, but are refused anyway
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  uint64_t mantissa = 0;
  size_t digits = 0;
  const auto take_digits = [&] {
    const char* start = p;
    for (; p != end && *p >= '0' && *p <= '9'; ++p) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
    }
    digits += static_cast<size_t>(p - start);
    return static_cast<size_t>(p - start);
  };
  if (take_digits() == 0) return std::nullopt;
  size_t fraction = 0;
  if (p != end && *p == '.') {
    ++p;
    fraction = take_digits();
    if (fraction == 0) return std::nullopt;
  }
  if (p != end || digits > kMaxDigits || mantissa > kMaxExact || fraction >= kPowersOfTen.size()) {
    return std::nullopt;
  }
  const double value = static_cast<double>(mantissa) / kPowersOfTen[fraction];
  return negative ? -value : value;
}

// Bytes the scanner takes inside a string as they are: printable ASCII but quote and
// backslash. An escape, a control character or a UTF-8 sequence (which nlohmann validates)
// declines, so a string's bytes are always the text the SAX decoder would see.
constexpr std::array<bool, 256> kPlainByte = [] {
  std::array<bool, 256> plain{};
  for (size_t c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

// Eight bytes at a time (SWAR): most of a pretty-printed body is runs of spaces and short
// strings, and a byte loop over them was most of the scanner's time.
constexpr uint64_t kEachByte = 0x0101010101010101;
constexpr uint64_t kHighBits = 0x8080808080808080;
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

uint64_t Load8(const char* p) {
  uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// The high bit of each byte below `n` (n <= 0x80). Bits above the first flagged byte may be
// wrong (a borrow runs on), but the lowest set bit is always the first such byte.
constexpr uint64_t BytesBelow(uint64_t word, uint8_t n) {
  return (word - kEachByte * n) & ~word & kHighBits;
}

// The offset of the first nonzero byte of `mask` (nonzero), in memory order.
size_t FirstNonzeroByte(uint64_t mask) { return static_cast<size_t>(std::countr_zero(mask)) / 8; }

// A cursor over the body for the subset of JSON the service writes. Each method returns false
// at the first byte it does not expect, and the whole body is then declined.
class Scanner {
 public:
  explicit Scanner(std::string_view body) : p_(body.data()), end_(body.data() + body.size()) {}

  // Skips JSON whitespace, then takes `c` if it comes next.
  bool Take(char c) {
    SkipSpace();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }

  // A string of plain bytes; `text` is its inside.
  bool String(std::string_view& text) {
    if (!Take('"')) return false;
    const char* start = p_;
    if constexpr (kLittleEndian) {
      constexpr uint64_t kQuotes = kEachByte * '"';
      constexpr uint64_t kBackslashes = kEachByte * '\\';
      while (end_ - p_ >= 8) {
        const uint64_t word = Load8(p_);
        const uint64_t special = BytesBelow(word, 0x20) | (word & kHighBits) |
                                 BytesBelow(word ^ kQuotes, 1) | BytesBelow(word ^ kBackslashes, 1);
        if (special != 0) {
          p_ += FirstNonzeroByte(special);
          break;
        }
        p_ += 8;
      }
    }
    while (p_ != end_ && kPlainByte[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_ || *p_ != '"') return false;
    text = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  void SkipSpace() {
    if constexpr (kLittleEndian) {
      constexpr uint64_t kSpaces = kEachByte * ' ';
      while (end_ - p_ >= 8) {
        if (IsSpace(*p_) && *p_ != ' ') {
          ++p_;  // a line break or a tab; the indentation after it is spaces
          continue;
        }
        const uint64_t others = Load8(p_) ^ kSpaces;
        if (others != 0) {
          p_ += FirstNonzeroByte(others);
          if (!IsSpace(*p_)) return;
        } else {
          p_ += 8;
        }
      }
    }
    while (p_ != end_ && IsSpace(*p_)) ++p_;
  }

  const char* p_;
  const char* end_;
};

// An object whose values are all strings, each member handed to `on_member(key, value)`,
// which returns false to decline.
template <typename OnMember>
bool ReadStringObject(Scanner& in, OnMember on_member) {
  if (!in.Take('{')) return false;
  if (in.Take('}')) return true;
  std::string_view key;
  std::string_view value;
  do {
    if (!in.String(key) || !in.Take(':') || !in.String(value) || !on_member(key, value)) {
      return false;
    }
  } while (in.Take(','));
  return in.Take('}');
}

// The series object: at least one bar, each with every required field. A value that is not a
// number, a missing field or a bad timestamp declines: the SAX decoder words the message.
bool ReadSeries(Scanner& in, internal::Decoded& decoded) {
  std::vector<Bar>& bars = decoded.answer.bars;
  // Every bar repeats the field names of the one before: the name seen at the same position
  // last time is compared rather than parsed again. Until a name is seen, "" stands there,
  // which is no field.
  std::array<std::string_view, internal::kNoField> last_keys;
  std::array<size_t, internal::kNoField> last_fields;
  last_fields.fill(internal::kNoField);
  if (!in.Take('{')) return false;
  std::string_view ts;
  do {
    if (!in.String(ts) || !internal::IsTimestamp(ts) || !in.Take(':')) return false;
    Bar bar;
    bar.ts = ts;
    uint32_t fields_set = 0;
    size_t position = 0;
    const auto on_field = [&](std::string_view key, std::string_view value) {
      size_t field = internal::kNoField;
      if (position < last_keys.size() && key == last_keys[position]) {
        field = last_fields[position];
      } else {
        const internal::FieldKey parsed = internal::ParseField(key);
        internal::NoteCurrency(decoded, parsed);
        field = parsed.field;
        if (position < last_keys.size()) {
          last_keys[position] = key;
          last_fields[position] = field;
        }
      }
      ++position;
      if (field == internal::kNoField) return true;
      const std::optional<double> number = internal::ParseNumber(value);
      if (!number) return false;
      internal::SetField(bar, fields_set, field, *number);
      return true;
    };
    if (!ReadStringObject(in, on_field)) return false;
    if (internal::FirstMissingField(fields_set) != internal::kNoField) return false;
    bars.push_back(std::move(bar));
  } while (in.Take(','));
  return in.Take('}');
}

// {"Meta Data": {...}, "<the function's series key>": {...}} and nothing else, bars in body
// order; nullopt for anything else.
std::optional<internal::Decoded> ScanStandardAnswer(Function function, std::string_view body) {
  Scanner in(body);
  internal::MetaText meta;
  const auto on_meta = [&](std::string_view key, std::string_view value) {
    if (std::string internal::MetaText::*field = internal::ParseMetaField(key)) {
      meta.*field = value;
    }
    return true;
  };
  internal::Decoded decoded{Answer{AnswerKind::kData, "", {}, {}}};
  // ~210 bytes a bar pretty-printed, ~115 compact: at most one regrowth, at most 1.7x slack.
  decoded.answer.bars.reserve(body.size() / 128 + 1);
  std::string_view key;
  const bool understood = in.Take('{') && in.String(key) && key == "Meta Data" && in.Take(':') &&
                          ReadStringObject(in, on_meta) && in.Take(',') && in.String(key) &&
                          internal::IsExactSeriesKey(function, key) && in.Take(':') &&
                          ReadSeries(in, decoded) && in.Take('}') && in.AtEnd();
  if (!understood) return std::nullopt;
  decoded.series_key = key;
  decoded.answer.meta = internal::TakeMeta(meta);
  return decoded;
}

}  // namespace

namespace internal {

bool IsTimestamp(std::string_view ts) {
  static constexpr std::string_view kPattern = "dddd-dd-dd dd:dd:dd";
  if (ts.size() != 10 && ts.size() != kPattern.size()) return false;
  for (size_t i = 0; i < ts.size(); ++i) {
    const bool ok = kPattern[i] == 'd' ? (ts[i] >= '0' && ts[i] <= '9') : ts[i] == kPattern[i];
    if (!ok) return false;
  }
  return true;
}

std::optional<double> ParseNumber(std::string_view text) {
  if (const std::optional<double> plain = ParsePlainDecimal(text)) return plain;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

Decoded DecodeWithSax(Function function, std::string_view body) {
  // An empty body is a connection that delivered nothing: a retry may bring the answer.
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return NoAnswer(AnswerKind::kIncomplete, "empty body");
  }
  Decoded decoded;
  try {
    decoded = ReadAnswer(function, body);
  } catch (const std::exception& e) {
    return NoAnswer(AnswerKind::kMalformed, std::string("cannot decode answer: ") + e.what());
  }
  Answer& answer = decoded.answer;
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
  return decoded;
}

std::optional<Decoded> DecodeFast(Function function, std::string_view body) {
  std::optional<Decoded> decoded;
  try {
    decoded = ScanStandardAnswer(function, body);
  } catch (const std::exception&) {
    return std::nullopt;  // out of memory: let the SAX decoder say so
  }
  if (decoded) SortAndDedupe(decoded->answer.bars);
  return decoded;
}

}  // namespace internal

std::string_view AnswerKindName(AnswerKind kind) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "data",         "error message", "throttle",   "daily limit", "premium",
      "premium full", "key rejected",  "incomplete", "malformed",   "mismatch"};
  const auto index = static_cast<size_t>(kind);
  return index < kNames.size() ? kNames[index] : "unknown";
}

bool IsTransient(AnswerKind kind) {
  return kind == AnswerKind::kThrottle || kind == AnswerKind::kIncomplete;
}

Answer DecodeAnswer(const Request& request, std::string_view body) {
  const Function function = request.key.function;
  std::optional<internal::Decoded> decoded = internal::DecodeFast(function, body);
  if (!decoded) decoded = internal::DecodeWithSax(function, body);
  return internal::CheckAnswer(request, std::move(*decoded));
}

// The wording changes over the years, so each rule is a few stable phrases. The 2025 burst
// text ("... rate limit (25 requests per day) and instantly unlock all premium endpoints")
// is a throttle: it must match neither the premium nor the daily phrases. The daily rule
// runs before the demo rule because a real key echoed in the daily text may contain "demo".
AnswerKind ClassifyNotice(std::string_view text) {
  static constexpr std::array<std::string_view, 4> kPremium = {
      "is a premium endpoint", "is a premium feature", "premium endpoint.", "premium feature."};
  for (const std::string_view phrase : kPremium) {
    if (!ContainsNoCase(text, phrase)) continue;
    // "The outputsize=full parameter value is a premium feature for the TIME_SERIES_DAILY
    // endpoint" refuses one parameter value; "This is a premium endpoint" the function.
    return ContainsNoCase(text, "outputsize=full") ? AnswerKind::kPremiumFull
                                                   : AnswerKind::kPremium;
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
