#include "mdfetch/series.h"

#include <array>
#include <cctype>

namespace mdfetch {
namespace {

struct FunctionInfo {
  Function function;
  std::string_view api;
  std::string_view short_name;
  bool adjusted;
  bool outputsize;
};

constexpr std::array<FunctionInfo, 9> kFunctions{{
    {Function::kDaily, "TIME_SERIES_DAILY", "daily", false, true},
    {Function::kDailyAdjusted, "TIME_SERIES_DAILY_ADJUSTED", "daily_adjusted", true, true},
    {Function::kWeekly, "TIME_SERIES_WEEKLY", "weekly", false, false},
    {Function::kWeeklyAdjusted, "TIME_SERIES_WEEKLY_ADJUSTED", "weekly_adjusted", true, false},
    {Function::kMonthly, "TIME_SERIES_MONTHLY", "monthly", false, false},
    {Function::kMonthlyAdjusted, "TIME_SERIES_MONTHLY_ADJUSTED", "monthly_adjusted", true, false},
    {Function::kIntraday, "TIME_SERIES_INTRADAY", "intraday", false, true},
    {Function::kFxDaily, "FX_DAILY", "fx_daily", false, true},
    {Function::kCryptoDaily, "DIGITAL_CURRENCY_DAILY", "crypto_daily", false, false},
}};

const FunctionInfo& Info(Function f) {
  for (const auto& info : kFunctions) {
    if (info.function == f) return info;
  }
  return kFunctions[0];
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view ApiName(Function f) { return Info(f).api; }
std::string_view ShortName(Function f) { return Info(f).short_name; }

std::string_view OutputSizeName(OutputSize size) {
  switch (size) {
    case OutputSize::kNone:
      return "";
    case OutputSize::kCompact:
      return "compact";
    case OutputSize::kFull:
      return "full";
  }
  return "";
}
bool IsAdjusted(Function f) { return Info(f).adjusted; }
bool TakesOutputSize(Function f) { return Info(f).outputsize; }

std::optional<Function> ParseFunction(std::string_view name) {
  for (const auto& info : kFunctions) {
    if (EqualsIgnoreCase(name, info.short_name) || EqualsIgnoreCase(name, info.api)) {
      return info.function;
    }
  }
  return std::nullopt;
}

bool IsValidInterval(std::string_view interval) {
  return interval == "1min" || interval == "5min" || interval == "15min" || interval == "30min" ||
         interval == "60min";
}

std::optional<std::chrono::year_month> ParseMonth(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  int value[2] = {0, 0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int& v = value[i < 4 ? 0 : 1];
    v = v * 10 + (text[i] - '0');
  }
  const std::chrono::year_month ym{std::chrono::year(value[0]),
                                   std::chrono::month(static_cast<unsigned>(value[1]))};
  if (!ym.ok()) return std::nullopt;
  return ym;
}

std::string OptionsText(const SeriesKey& key) {
  std::string out;
  if (!key.adjusted) out = "adjusted=false";
  if (!key.extended_hours) out += out.empty() ? "extended_hours=false" : " extended_hours=false";
  return out;
}

bool ParseOptionsText(std::string_view text, SeriesKey& key) {
  while (!text.empty()) {
    size_t end = text.find(' ');
    std::string_view word = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view name = word.substr(0, eq), value = word.substr(eq + 1);
    bool on = EqualsIgnoreCase(value, "true");
    if (!on && !EqualsIgnoreCase(value, "false")) return false;
    if (EqualsIgnoreCase(name, "adjusted")) {
      key.adjusted = on;
    } else if (EqualsIgnoreCase(name, "extended_hours")) {
      key.extended_hours = on;
    } else {
      return false;
    }
  }
  return true;
}

KeyDigest DigestOf(const SeriesKey& key) {
  // The fields as bytes, each string ended by a NUL (which neither holds), then the switches.
  std::string bytes;
  bytes.reserve(key.symbol.size() + key.interval.size() + 3);
  bytes.append(key.symbol).push_back('\0');
  bytes.append(key.interval).push_back('\0');
  bytes.push_back(static_cast<char>(static_cast<unsigned>(key.function) << 2 |
                                    unsigned{key.adjusted} << 1 | unsigned{key.extended_hours}));
  uint64_t fnv = 14695981039346656037ULL;
  for (char c : bytes) {
    fnv = (fnv ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return KeyDigest{.a = fnv, .b = std::hash<std::string_view>{}(bytes)};
}

std::string Describe(const SeriesKey& key) {
  std::string out = key.symbol;
  if (key.function != Function::kDaily) {
    out += ' ';
    out += ShortName(key.function);
  }
  if (!key.interval.empty()) {
    out += ':';
    out += key.interval;
  }
  if (std::string options = OptionsText(key); !options.empty()) {
    out += ' ';
    out += options;
  }
  return out;
}

}  // namespace mdfetch
