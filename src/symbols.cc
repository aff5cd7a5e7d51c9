#include "mdfetch/symbols.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <unordered_set>

namespace mdfetch {
namespace {

constexpr std::string_view kFunctionList =
    "daily, daily_adjusted, weekly, weekly_adjusted, monthly, monthly_adjusted, "
    "intraday:INTERVAL, fx_daily, crypto_daily";

bool IsSymbolChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Strict UTF-8 validation (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// A stock symbol: letters, digits, '.', '-'; 1..12 characters.
Result<std::string> CheckSymbol(std::string_view text) {
  if (!std::all_of(text.begin(), text.end(), IsSymbolChar)) {
    return Fail(fmt::format("'{}' is not a valid symbol (letters, digits, '.', '-' only)",
                            Printable(text)));
  }
  if (text.size() > kMaxSymbolLength) {
    return Fail(
        fmt::format("'{}' is too long (at most {} characters)", Printable(text), kMaxSymbolLength));
  }
  return Upper(text);
}

// FX and crypto: FROM/TO, each letters and digits, 1..10 characters.
Result<std::string> CheckPair(std::string_view text, Function function) {
  size_t slash = text.find('/');
  auto part_ok = [](std::string_view p) {
    return !p.empty() && p.size() <= 10 && std::all_of(p.begin(), p.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0;
    });
  };
  if (slash == std::string_view::npos || !part_ok(text.substr(0, slash)) ||
      !part_ok(text.substr(slash + 1))) {
    return Fail(fmt::format("{} needs a pair like {}, not '{}'", ShortName(function),
                            function == Function::kFxDaily ? "EUR/USD" : "BTC/EUR",
                            Printable(text)));
  }
  return Upper(text);
}

// The function word of a line: a function name, and intraday's interval.
Result<SeriesKey> ParseFunctionToken(std::string_view token, SeriesKey key) {
  auto name = ParseFunctionName(token);
  if (!name) return std::unexpected(name.error());
  if (name->function == Function::kIntraday && name->interval.empty()) {
    return Fail("intraday needs an interval: intraday:1min, 5min, 15min, 30min or 60min");
  }
  key.function = name->function;
  key.interval = name->interval;  // the default function's interval is not this one's
  return key;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `adjusted=false`, `extended_hours=true`, ...: the intraday switches a line may set
// (case-insensitive, like function names).
Status ApplyOption(std::string_view token, std::set<std::string>& given, SeriesKey& key) {
  size_t eq = token.find('=');
  std::string name = Lower(token.substr(0, eq));
  if (name != "adjusted" && name != "extended_hours") {
    return Fail(
        fmt::format("unknown option '{}' (expected adjusted=true|false or "
                    "extended_hours=true|false)",
                    Printable(token)));
  }
  std::optional<bool> value = ParseSwitch(token.substr(eq + 1));
  if (!value) {
    return Fail(fmt::format("bad value '{}' for {} (expected true or false)",
                            Printable(token.substr(eq + 1)), name));
  }
  if (!given.insert(name).second) return Fail(fmt::format("{} is given twice", name));
  (name == "adjusted" ? key.adjusted : key.extended_hours) = *value;
  return {};
}

// SYMBOL [FUNCTION] [OPTION=VALUE ...]
Result<SeriesKey> ParseEntry(std::string_view text, const SeriesDefaults& defaults) {
  if (!IsValidUtf8(text)) return Fail("line is not valid UTF-8");
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; })) {
    return Fail(fmt::format("'{}' contains a control character", Printable(text)));
  }
  std::vector<std::string_view> tokens;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
  // A list skips blank lines before; an argument ("" or "  ") can be one.
  if (tokens.empty()) return Fail("no symbol given");
  SeriesKey key;
  key.function = defaults.function;
  if (defaults.function == Function::kIntraday) key.interval = defaults.interval;
  size_t next = 1;
  if (tokens.size() > 1 && tokens[1].find('=') == std::string_view::npos) {
    auto parsed = ParseFunctionToken(tokens[1], key);
    if (!parsed) return parsed;
    key = *parsed;
    next = 2;
  }
  key.adjusted = defaults.adjusted;
  key.extended_hours = defaults.extended_hours;
  std::set<std::string> given;
  for (; next < tokens.size(); ++next) {
    std::string_view token = tokens[next];
    // `list` writes the switches that are off short: "raw" (adjusted=false) and
    // "regular-hours" (extended_hours=false); a name it prints is read back.
    const std::string word = Lower(token);
    std::string spelled;
    if (word == "raw") spelled = "adjusted=false";
    if (word == "regular-hours") spelled = "extended_hours=false";
    if (!spelled.empty()) token = spelled;
    if (token.find('=') == std::string_view::npos) {
      return Fail(fmt::format(
          "unexpected '{}' after the function (expected OPTION=VALUE, raw or regular-hours)",
          Printable(token)));
    }
    if (key.function != Function::kIntraday) {
      return Fail(
          fmt::format("{} takes no options ('{}': adjusted= and extended_hours= are for "
                      "intraday)",
                      ShortName(key.function), Printable(token)));
    }
    if (auto ok = ApplyOption(token, given, key); !ok) return std::unexpected(ok.error());
  }
  if (key.function != Function::kIntraday) key.adjusted = key.extended_hours = true;
  const bool pair_function =
      key.function == Function::kFxDaily || key.function == Function::kCryptoDaily;
  auto symbol = pair_function ? CheckPair(tokens[0], key.function) : CheckSymbol(tokens[0]);
  if (!symbol && !pair_function && CheckPair(tokens[0], Function::kFxDaily)) {
    // `BTC/EUR` as `list` prints it, under a function that takes no pair.
    return Fail(
        fmt::format("'{}' is a pair, for fx_daily or crypto_daily ('{} fx_daily', '{} "
                    "crypto_daily')",
                    Printable(tokens[0]), Printable(tokens[0]), Printable(tokens[0])));
  }
  if (!symbol) return std::unexpected(symbol.error());
  key.symbol = *symbol;
  return key;
}

}  // namespace

Result<FunctionName> ParseFunctionName(std::string_view text) {
  std::string_view name = text;
  std::string_view interval;
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    name = text.substr(0, colon);
    interval = text.substr(colon + 1);
  }
  auto function = ParseFunction(name);
  if (!function) {
    return Fail(fmt::format("unknown function '{}' (expected {})", Printable(name), kFunctionList));
  }
  FunctionName parsed{.function = *function};
  if (*function != Function::kIntraday) {
    if (colon != std::string_view::npos) {
      return Fail(fmt::format("{} takes no interval", ShortName(*function)));
    }
    return parsed;
  }
  if (colon == std::string_view::npos) return parsed;
  if (interval.empty()) {
    return Fail("intraday needs an interval: intraday:1min, 5min, 15min, 30min or 60min");
  }
  auto canonical = ParseInterval(interval);
  if (!canonical) return std::unexpected(canonical.error());
  parsed.interval = std::move(*canonical);
  return parsed;
}

Result<std::string> ParseInterval(std::string_view text) {
  std::string interval = Lower(text);
  if (!IsValidInterval(interval)) {
    return Fail(fmt::format("unknown interval '{}' (expected 1min, 5min, 15min, 30min or 60min)",
                            Printable(text)));
  }
  return interval;
}

std::optional<bool> ParseSwitch(std::string_view text) {
  const std::string value = Lower(text);
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

std::string Printable(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      out += fmt::format("\\x{:02X}", u);
    }
  }
  if (text.size() > kMax) out += "...";
  return out;
}

// Walks a list line by line: each line that names a series gives its key, each bad line its
// problem ("NAME:LINE: reason"); blank lines and comments give nothing.
class LineWalker {
 public:
  LineWalker(std::string_view content, std::string_view name, const SeriesDefaults& defaults)
      : rest_(content), name_(name), defaults_(defaults) {
    if (rest_.starts_with("\xEF\xBB\xBF")) rest_.remove_prefix(3);
  }

  enum class Kind { kEnd, kSeries, kProblem };

  Kind Next(SeriesKey& key, std::string& problem) {
    while (!rest_.empty() || line_number_ == 0) {
      ++line_number_;
      size_t eol = rest_.find('\n');
      std::string_view raw = rest_.substr(0, eol);
      rest_ = eol == std::string_view::npos ? std::string_view{} : rest_.substr(eol + 1);
      std::string_view text = raw.substr(0, raw.find('#'));
      if (text.size() > kMaxLineLength) {
        problem = fmt::format("{}:{}: line is too long ({} bytes, at most {})", name_, line_number_,
                              text.size(), kMaxLineLength);
        return Kind::kProblem;
      }
      text = Trim(text);
      if (text.empty()) continue;
      auto entry = ParseEntry(text, defaults_);
      if (!entry) {
        problem = fmt::format("{}:{}: {}", name_, line_number_, entry.error().message);
        return Kind::kProblem;
      }
      key = std::move(*entry);
      return Kind::kSeries;
    }
    return Kind::kEnd;
  }

  uint32_t line_number() const { return line_number_; }

 private:
  std::string_view rest_;
  std::string_view name_;
  const SeriesDefaults& defaults_;
  uint32_t line_number_ = 0;
};

namespace {

// Every line of `content` once: each series to `series` with its line, each problem kept.
void WalkList(std::string_view content, std::string_view name, const SeriesDefaults& defaults,
              std::vector<std::string>& problems,
              const std::function<void(SeriesKey&& key, uint32_t line)>& series) {
  LineWalker walker(content, name, defaults);
  SeriesKey key;
  std::string problem;
  for (;;) {
    const LineWalker::Kind kind = walker.Next(key, problem);
    if (kind == LineWalker::Kind::kEnd) return;
    if (kind == LineWalker::Kind::kProblem) {
      problems.push_back(std::move(problem));
    } else {
      series(std::move(key), walker.line_number());
    }
  }
}

}  // namespace

SymbolList ParseSymbolList(std::string_view content, std::string_view file_name,
                           const SeriesDefaults& defaults) {
  SymbolList list;
  // The series kept so far, by index into list.series (a key is stored once). The hash is not
  // noexcept so that the set keeps each one (a probe compares hashes before keys).
  struct ByIndex {
    const std::vector<SeriesKey>* keys;
    size_t operator()(size_t i) const { return SeriesKeyHash{}((*keys)[i]); }
    bool operator()(size_t a, size_t b) const noexcept { return (*keys)[a] == (*keys)[b]; }
  };
  const ByIndex by_index{&list.series};
  std::unordered_set<size_t, ByIndex, ByIndex> seen(0, by_index, by_index);
  const size_t lines = static_cast<size_t>(std::ranges::count(content, '\n')) + 1;
  list.series.reserve(lines);
  seen.reserve(lines);
  WalkList(content, file_name, defaults, list.problems, [&](SeriesKey&& key, uint32_t) {
    list.series.push_back(std::move(key));
    if (!seen.insert(list.series.size() - 1).second) list.series.pop_back();
  });
  return list;
}

SymbolReader::SymbolReader(std::string content, std::string name, SeriesDefaults defaults)
    : content_(std::move(content)), name_(std::move(name)), defaults_(std::move(defaults)) {
  first_line_.reserve(static_cast<size_t>(std::ranges::count(content_, '\n')) + 1);
  WalkList(content_, name_, defaults_, problems_,
           [&](SeriesKey&& key, uint32_t line) { first_line_.emplace_back(DigestOf(key), line); });
  // Each digest once, with the first line that names it: a later line naming the same series is
  // skipped as the parsed list drops it.
  std::ranges::sort(first_line_);
  auto [first, last] = std::ranges::unique(
      first_line_, [](const auto& x, const auto& y) { return x.first == y.first; });
  first_line_.erase(first, last);
  first_line_.shrink_to_fit();
}

void SymbolReader::Rewind() { walker_.reset(); }

bool SymbolReader::Next(SeriesKey& key) {
  if (!walker_) walker_ = std::make_unique<LineWalker>(content_, name_, defaults_);
  std::string problem;
  for (;;) {
    const LineWalker::Kind kind = walker_->Next(key, problem);
    if (kind == LineWalker::Kind::kEnd) return false;
    if (kind == LineWalker::Kind::kProblem) continue;  // told once, in problems()
    const KeyDigest digest = DigestOf(key);
    auto it = std::ranges::lower_bound(first_line_, std::pair(digest, uint32_t{0}));
    if (it != first_line_.end() && it->first == digest && it->second == walker_->line_number()) {
      return true;
    }
  }
}

SymbolReader::~SymbolReader() = default;

namespace {

Result<std::string> ReadWhole(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Fail(fmt::format("cannot read symbol file '{}': Is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(fmt::format("cannot read symbol file '{}': {}", path, std::strerror(errno)));
  }
  std::string content;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) content.reserve(static_cast<size_t>(size));
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) {
    return Fail(fmt::format("cannot read symbol file '{}': {}", path, std::strerror(errno)));
  }
  return content;
}

Result<std::string> ReadWhole(std::FILE* in, std::string_view name) {
  std::string content;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) content.append(buffer, n);
  if (std::ferror(in)) {
    return Fail(fmt::format("cannot read the symbol list from {}: {}", name, std::strerror(errno)));
  }
  return content;
}

}  // namespace

Result<SymbolList> ReadSymbolFile(const std::string& path, const SeriesDefaults& defaults) {
  auto content = ReadWhole(path);
  if (!content) return std::unexpected(content.error());
  return ParseSymbolList(*content, path, defaults);
}

Result<SymbolList> ReadSymbolStream(std::FILE* in, std::string_view name,
                                    const SeriesDefaults& defaults) {
  auto content = ReadWhole(in, name);
  if (!content) return std::unexpected(content.error());
  return ParseSymbolList(*content, name, defaults);
}

Result<std::unique_ptr<SymbolReader>> OpenSymbolFile(const std::string& path,
                                                     const SeriesDefaults& defaults) {
  auto content = ReadWhole(path);
  if (!content) return std::unexpected(content.error());
  return std::make_unique<SymbolReader>(std::move(*content), path, defaults);
}

Result<std::unique_ptr<SymbolReader>> OpenSymbolStream(std::FILE* in, std::string_view name,
                                                       const SeriesDefaults& defaults) {
  auto content = ReadWhole(in, name);
  if (!content) return std::unexpected(content.error());
  return std::make_unique<SymbolReader>(std::move(*content), std::string(name), defaults);
}

Result<SeriesKey> ParseSeriesArgument(std::string_view text, const SeriesDefaults& defaults) {
  if (text.size() > kMaxLineLength) {
    return Fail(
        fmt::format("argument is too long ({} bytes, at most {})", text.size(), kMaxLineLength));
  }
  return ParseEntry(text, defaults);
}

}  // namespace mdfetch
