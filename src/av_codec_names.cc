// The names the Alpha Vantage codec reads by: series keys, bar fields and metadata fields,
// shared by the scanner (av_codec.cc), the SAX decoder (av_codec_sax.cc) and the check
// (av_codec_check.cc). The service numbers its keys differently per function and era ("5.
// volume", "6. volume", "1a. open (CNY)"), so fields are matched by the name after the number.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "av_codec_internal.h"
#include "mdfetch/av_codec.h"

namespace mdfetch::internal {
namespace {

// "5. adjusted close" -> {"", "adjusted close"}, "1a. open (CNY)" -> {"a", "open (CNY)"}; a key
// without a number comes back whole.
struct NumberedKey {
  std::string_view variant;
  std::string_view name;
};
NumberedKey SplitNumber(std::string_view key) {
  size_t i = 0;
  while (i < key.size() && key[i] >= '0' && key[i] <= '9') ++i;
  if (i == 0) return {{}, key};
  const size_t letters = i;
  while (i < key.size() && key[i] >= 'a' && key[i] <= 'z') ++i;
  if (i >= key.size() || key[i] != '.') return {{}, key};
  const std::string_view variant = key.substr(letters, i - letters);
  ++i;
  while (i < key.size() && key[i] == ' ') ++i;
  return {variant, key.substr(i)};
}

// The bar fields by the name after their number. FX has no volume and only adjusted
// functions have the last three, so those stay nullopt unless the answer carries them.
struct FieldSpec {
  std::string_view name;
  double Bar::*plain;
  std::optional<double> Bar::*optional;
};
constexpr std::array<FieldSpec, kNoField> kFields{{
    {"open", &Bar::open, nullptr},
    {"high", &Bar::high, nullptr},
    {"low", &Bar::low, nullptr},
    {"close", &Bar::close, nullptr},
    {"volume", nullptr, &Bar::volume},
    {"adjusted close", nullptr, &Bar::adjusted_close},
    {"dividend amount", nullptr, &Bar::dividend},
    {"split coefficient", nullptr, &Bar::split_coefficient},
}};

// "(5min)" -> "5min" when it is an interval the service takes.
std::optional<std::string_view> Interval(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix) || !key.ends_with(')')) return std::nullopt;
  const std::string_view interval = key.substr(prefix.size(), key.size() - prefix.size() - 1);
  if (!IsValidInterval(interval)) return std::nullopt;
  return interval;
}

}  // namespace

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return Lower(x) == Lower(y); });
}

std::string Capped(std::string_view text) {
  constexpr size_t kMaxQuoted = 40;
  if (text.size() <= kMaxQuoted) return std::string(text);
  size_t cut = kMaxQuoted;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

// Every series key of ALPHAVANTAGE.md section 1 (daily and daily adjusted share one), so that
// an answer of another function is named for what it is.
SeriesKeyName NameSeriesKey(std::string_view key) {
  struct Entry {
    std::string_view key;
    std::optional<Function> function;
    std::string_view name;
  };
  static constexpr std::array<Entry, 11> kKeys{{
      {"Time Series (Daily)", Function::kDaily, ""},
      {"Weekly Time Series", Function::kWeekly, ""},
      {"Weekly Adjusted Time Series", Function::kWeeklyAdjusted, ""},
      {"Monthly Time Series", Function::kMonthly, ""},
      {"Monthly Adjusted Time Series", Function::kMonthlyAdjusted, ""},
      {"Time Series FX (Daily)", Function::kFxDaily, ""},
      {"Time Series FX (Weekly)", std::nullopt, "fx_weekly"},
      {"Time Series FX (Monthly)", std::nullopt, "fx_monthly"},
      {"Time Series (Digital Currency Daily)", Function::kCryptoDaily, ""},
      {"Time Series (Digital Currency Weekly)", std::nullopt, "crypto_weekly"},
      {"Time Series (Digital Currency Monthly)", std::nullopt, "crypto_monthly"},
  }};
  for (const Entry& entry : kKeys) {
    if (entry.key != key) continue;
    return {entry.function, entry.function ? ShortName(*entry.function) : entry.name, {}};
  }
  if (const auto interval = Interval(key, "Time Series (")) {
    return {Function::kIntraday, ShortName(Function::kIntraday), *interval};
  }
  if (const auto interval = Interval(key, "Time Series FX (")) {
    return {std::nullopt, "fx_intraday", *interval};
  }
  if (const auto interval = Interval(key, "Time Series Crypto (")) {
    return {std::nullopt, "crypto_intraday", *interval};
  }
  return {};
}

bool IsExactSeriesKey(Function function, std::string_view key) {
  const std::optional<Function> named = NameSeriesKey(key).function;
  return named == function || (function == Function::kDailyAdjusted && named == Function::kDaily);
}

// Runs once per bar field: a scan over 8 short names, no allocation.
FieldKey ParseField(std::string_view key) {
  const auto [variant, numbered_name] = SplitNumber(key);
  // The pre-2024 crypto layout gives each price twice: "1a. open (CNY)" in the market currency,
  // then "1b. open (USD)" (crazzyghost/alphavantage-java@581472c, ALPHAVANTAGE.md 2.2). The
  // market's is the series asked for; the USD copy is not a field of it.
  if (!variant.empty() && variant != "a") return {};
  std::string_view name = numbered_name;
  std::string_view currency;
  if (const size_t paren = name.find(" ("); paren != std::string_view::npos) {
    currency = name.substr(paren + 2);
    if (currency.ends_with(')')) currency.remove_suffix(1);
    name = name.substr(0, paren);
  }
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (name == kFields[i].name) return {i, currency};
  }
  return {};
}

std::string_view FieldName(size_t field) { return kFields[field].name; }

void SetField(Bar& bar, uint32_t& fields_set, size_t field, double value) {
  const uint32_t bit = 1u << field;
  if ((fields_set & bit) != 0) return;
  fields_set |= bit;
  const FieldSpec& spec = kFields[field];
  if (spec.plain != nullptr) {
    bar.*spec.plain = value;
  } else {
    bar.*spec.optional = value;
  }
}

size_t FirstMissingField(uint32_t fields_set) {
  for (size_t i = 0; i < kRequiredFields; ++i) {
    if ((fields_set & (1u << i)) == 0) return i;
  }
  return kNoField;
}

void NoteCurrency(Decoded& decoded, const FieldKey& key) {
  if (key.field >= kRequiredFields || key.currency.empty()) return;
  if (decoded.price_currency.empty()) {
    decoded.price_currency = key.currency;
  } else if (decoded.other_price_currency.empty() && key.currency != decoded.price_currency) {
    decoded.other_price_currency = key.currency;
  }
}

std::string MetaText::*ParseMetaField(std::string_view key) {
  struct Entry {
    std::string_view name;
    std::string MetaText::*text;
  };
  static constexpr std::array<Entry, 9> kEntries{{
      {"symbol", &MetaText::symbol},
      {"last refreshed", &MetaText::last_refreshed},
      {"time zone", &MetaText::time_zone},
      {"output size", &MetaText::output_size},
      {"interval", &MetaText::interval},
      {"from symbol", &MetaText::from},
      {"to symbol", &MetaText::to},
      {"digital currency code", &MetaText::from},
      {"market code", &MetaText::to},
  }};
  const std::string_view name = SplitNumber(key).name;
  for (const auto& entry : kEntries) {
    if (EqualsNoCase(name, entry.name)) return entry.text;
  }
  return nullptr;
}

SeriesMeta TakeMeta(MetaText& meta) {
  if (meta.symbol.empty() && !meta.from.empty() && !meta.to.empty()) {
    meta.symbol = meta.from + "/" + meta.to;
  }
  return std::move(static_cast<SeriesMeta&>(meta));
}

}  // namespace mdfetch::internal
