#include "cli_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "mdfetch/market_calendar.h"
#include "mdfetch/symbols.h"

namespace mdfetch {
namespace {

using Json = nlohmann::ordered_json;  // keys in the order written: the columns' order

// ---- --from / --to ----

struct TimeArg {
  Date date;
  std::optional<std::chrono::seconds> time;  // since midnight, when given
};

std::optional<int> Digits(std::string_view text, int max) {
  int value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.size() != 2 || ec != std::errc() || end != text.data() + 2 || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<TimeArg> ParseTimeArg(std::string_view text) {
  auto date = ParseDate(text.substr(0, 10));
  if (!date || text.size() < 10 || text[4] != '-') return std::nullopt;
  TimeArg arg{*date, std::nullopt};
  if (text.size() == 10) return arg;
  if (text[10] != 'T' && text[10] != ' ') return std::nullopt;
  std::string_view time = text.substr(11);
  if ((time.size() != 5 && time.size() != 8) || time[2] != ':') return std::nullopt;
  if (time.size() == 8 && time[5] != ':') return std::nullopt;
  auto hours = Digits(time.substr(0, 2), 23);
  auto minutes = Digits(time.substr(3, 2), 59);
  auto seconds = time.size() == 8 ? Digits(time.substr(6, 2), 59) : std::optional<int>(0);
  if (!hours || !minutes || !seconds) return std::nullopt;
  arg.time = std::chrono::seconds(*hours * 3600 + *minutes * 60 + *seconds);
  return arg;
}

// "YYYY-MM-DD HH:MM:SS": how intraday bars are stored, so bounds compare as text.
std::string StoredForm(const TimeArg& arg, std::chrono::seconds time) {
  const std::chrono::hh_mm_ss tod{time};
  return fmt::format("{} {:02}:{:02}:{:02}", FormatDate(arg.date), tod.hours().count(),
                     tod.minutes().count(), tod.seconds().count());
}

// ---- numbers and CSV ----

// A number as the service would write it, without float noise: the shortest text that reads
// back as the same double ("101.0924", "22165128").
void AppendNumber(std::string& out, const std::optional<double>& value) {
  if (value) fmt::format_to(std::back_inserter(out), "{}", *value);
}

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, quotes doubled.
void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// A volume is a count: an integer in JSON when it is one (1e15 and below are exact).
Json JsonNumber(const std::optional<double>& value, bool count = false) {
  if (!value) return nullptr;
  if (count && std::trunc(*value) == *value && std::fabs(*value) < 1e15) {
    return static_cast<int64_t>(*value);
  }
  return *value;
}

// The mark of a provisional bar, in the table and in `list`, and its footnote.
constexpr std::string_view kProvisionalMark = "*";
constexpr std::string_view kProvisionalNote =
    "* provisional: taken while its session was open (the close is the last price); the first "
    "fetch after the close makes it final\n";

}  // namespace

std::string JsonText(const nlohmann::ordered_json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string IsoUtc(WallTime t) {
  std::string text = FormatUtc(t);  // "2026-11-23 21:05:00Z"
  text[10] = 'T';
  return text;
}

Result<BarFilter> MakeBarFilter(const std::string& from, const std::string& to, bool intraday) {
  BarFilter filter;
  std::optional<TimeArg> bounds[2];
  const std::pair<const char*, const std::string*> options[2] = {{"--from", &from}, {"--to", &to}};
  for (int i = 0; i < 2; ++i) {
    const auto& [name, value] = options[i];
    if (value->empty()) continue;
    bounds[i] = ParseTimeArg(*value);
    if (!bounds[i]) {
      return Fail(
          fmt::format("bad {} '{}': expected YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] for "
                      "intraday",
                      name, Printable(*value)));
    }
    if (bounds[i]->time && !intraday) {
      return Fail(fmt::format("bad {} '{}': a time of day applies to intraday series only", name,
                              Printable(*value)));
    }
  }
  // A date alone is its whole day: from its first instant, to its last.
  if (bounds[0]) {
    filter.from =
        bounds[0]->time ? StoredForm(*bounds[0], *bounds[0]->time) : FormatDate(bounds[0]->date);
  }
  if (bounds[1]) {
    filter.to = bounds[1]->time ? StoredForm(*bounds[1], *bounds[1]->time)
                                : FormatDate(bounds[1]->date) + " 23:59:59";  // its last second
  }
  if (bounds[0] && bounds[1]) {
    const auto first =
        std::chrono::sys_days{bounds[0]->date} + bounds[0]->time.value_or(std::chrono::seconds(0));
    const auto last = std::chrono::sys_days{bounds[1]->date} +
                      bounds[1]->time.value_or(std::chrono::seconds(86399));
    if (first > last) {
      return Fail(fmt::format("--from {} is later than --to {}", from, to));
    }
  }
  return filter;
}

std::string IsoTimestamp(std::string_view ts, std::string_view time_zone) {
  if (ts.size() != 19 || ts[10] != ' ') return std::string(ts);
  std::string out(ts);
  out[10] = 'T';
  if (time_zone == "UTC" || time_zone == "Etc/UTC" || time_zone == "GMT") return out + "+00:00";
  if (time_zone != "US/Eastern" && time_zone != "America/New_York") return out;
  auto date = ParseDate(ts);
  auto hours = Digits(ts.substr(11, 2), 23);
  auto minutes = Digits(ts.substr(14, 2), 59);
  if (!date || !hours || !minutes) return out;
  // The offset in force at this local time: NewYorkTime judges it as the library does for
  // sessions (exact but for the hour repeated at the autumn switch, when no session trades).
  const auto local = std::chrono::sys_days{*date} + std::chrono::minutes(*hours * 60 + *minutes);
  const auto offset = std::chrono::duration_cast<std::chrono::minutes>(
      local - NewYorkTime(*date, std::chrono::minutes(*hours * 60 + *minutes)));
  const auto magnitude = std::chrono::abs(offset);
  return out + fmt::format("{}{:02}:{:02}", offset < offset.zero() ? '-' : '+',
                           magnitude.count() / 60, magnitude.count() % 60);
}

std::string BarCsvHeader(bool with_symbol, bool adjusted) {
  std::string out = with_symbol ? "symbol," : "";
  for (std::string_view column : kBarColumns) out += fmt::format("{},", column);
  if (adjusted) {
    for (std::string_view column : kAdjustedColumns) out += fmt::format("{},", column);
  }
  out.back() = '\r';
  return out + "\n";
}

void AppendBarCsv(std::string& out, std::string_view symbol, const Bar& bar, bool adjusted) {
  if (!symbol.empty()) {
    AppendCsvField(out, symbol);
    out += ',';
  }
  AppendCsvField(out, bar.ts);
  for (double v : {bar.open, bar.high, bar.low, bar.close}) {
    out += ',';
    AppendNumber(out, v);
  }
  out += ',';
  AppendNumber(out, bar.volume);
  if (adjusted) {
    for (const auto* v : {&bar.adjusted_close, &bar.dividend, &bar.split_coefficient}) {
      out += ',';
      AppendNumber(out, *v);
    }
  }
  out += "\r\n";
}

std::string BarTable(const std::vector<Bar>& bars, bool adjusted,
                     const std::string& provisional_ts) {
  // ts, four prices, volume, then the adjusted columns as wide as their names. Every cell is
  // ASCII (a timestamp, a number, a column's name), so its width is its size: the cells are
  // padded here rather than by fmt's width, which counts code points (a fifth of `query`'s
  // own instructions went to formatting its table; docs/performance.md).
  static constexpr size_t kWidths[] = {19, 12, 12, 12, 12, 14, 14, 10, 17};
  std::string out;
  out.reserve((bars.size() + 1) * (adjusted ? 140 : 90));
  size_t column = 0;
  auto cell = [&](std::string_view text) {
    const size_t width = kWidths[column];
    const size_t pad = text.size() < width ? width - text.size() : 0;
    if (column == 0) {
      out += text;
      out.append(pad, ' ');
    } else {
      out.append(pad + 1, ' ');
      out += text;
    }
    ++column;
  };
  fmt::memory_buffer digits;
  auto number = [&](const std::optional<double>& v) {
    digits.clear();
    if (v) fmt::format_to(std::back_inserter(digits), "{}", *v);
    cell(std::string_view(digits.data(), digits.size()));
  };
  for (std::string_view name : kBarColumns) cell(name);
  if (adjusted) {
    for (std::string_view name : kAdjustedColumns) cell(name);
  }
  out += '\n';
  for (const auto& b : bars) {
    column = 0;
    cell(b.ts);
    for (double v : {b.open, b.high, b.low, b.close}) number(v);
    number(b.volume);
    if (adjusted) {
      for (const std::optional<double>& v : {b.adjusted_close, b.dividend, b.split_coefficient}) {
        number(v);
      }
    }
    if (b.ts == provisional_ts) out += kProvisionalMark;
    out += '\n';
  }
  if (!provisional_ts.empty() && !bars.empty() && bars.back().ts == provisional_ts) {
    out += kProvisionalNote;
  }
  return out;
}

std::string BarJson(const SeriesState& series, const std::vector<Bar>& bars) {
  const SeriesKey& key = series.key;
  const bool adjusted = IsAdjusted(key.function);
  Json doc = {{"symbol", key.symbol},
              {"function", ShortName(key.function)},
              {"interval", key.interval},
              {"options", OptionsText(key)},
              {"time_zone", series.time_zone}};
  Json rows = Json::array();
  for (const Bar& b : bars) {
    Json row = {{"ts", IsoTimestamp(b.ts, series.time_zone)},
                {"open", b.open},
                {"high", b.high},
                {"low", b.low},
                {"close", b.close},
                {"volume", JsonNumber(b.volume, true)}};
    if (adjusted) {
      row["adjusted_close"] = JsonNumber(b.adjusted_close);
      row["dividend"] = JsonNumber(b.dividend);
      row["split_coefficient"] = JsonNumber(b.split_coefficient);
    }
    row["provisional"] = b.ts == series.provisional_ts;
    rows.push_back(std::move(row));
  }
  doc["bars"] = std::move(rows);
  return JsonText(doc) + "\n";
}

namespace {

// The table's name of a series: Describe(), with the intraday switches that are off written
// short ("raw" for adjusted=false, "regular-hours" for extended_hours=false) to fit.
std::string ShortDescribe(const SeriesKey& key) {
  SeriesKey plain = key;
  plain.adjusted = plain.extended_hours = true;
  std::string out = Describe(plain);
  if (!key.adjusted) out += " raw";
  if (!key.extended_hours) out += " regular-hours";
  return out;
}

// An intraday timestamp without its seconds when they are ":00" (every bar the service sends).
std::string ShortTs(const std::string& ts) {
  if (ts.empty()) return "-";
  if (ts.size() == 19 && ts.ends_with(":00")) return ts.substr(0, 16);
  return ts;
}

// "stored 2026-11-20", "error 2026-11-21", "unknown since 2026-11-20", "-": what the last call
// did and the day (UTC) it was made.
std::string OutcomeCell(const SeriesState& s) {
  if (s.last_outcome.empty()) return "-";
  std::string out = s.last_outcome;
  if (s.last_outcome == "unknown") out += " since";
  if (s.last_attempt_at) {
    out += ' ';  // appended apart: GCC 12's -O3 -Wrestrict misreads " " + a temporary here
    out += FormatDate(Date{std::chrono::floor<std::chrono::days>(*s.last_attempt_at)});
  }
  if (s.history_limited) out += " (compact)";
  return out;
}

}  // namespace

std::string Grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string SeriesTable(const std::vector<SeriesState>& series, size_t page) {
  if (series.empty()) return "(no series stored yet)\n";
  const size_t shown = page > 0 ? std::min(page, series.size()) : series.size();
  struct Row {
    std::string name, bars, first, last, outcome;
  };
  std::vector<Row> rows = {{"series", "bar_count", "first_ts", "last_ts", "last_outcome"}};
  rows.reserve(shown + 1);
  bool provisional = false, limited = false, raw = false, regular = false, errors = false;
  for (const auto& s : std::span(series).first(shown)) {
    Row row{ShortDescribe(s.key), std::to_string(s.bar_count), ShortTs(s.first_ts),
            ShortTs(s.last_ts), OutcomeCell(s)};
    if (!s.provisional_ts.empty() && s.provisional_ts == s.last_ts) {
      row.last += kProvisionalMark;
      provisional = true;
    }
    limited = limited || s.history_limited;
    raw = raw || !s.key.adjusted;
    regular = regular || !s.key.extended_hours;
    errors = errors || !s.last_error.empty();
    rows.push_back(std::move(row));
  }
  size_t widths[4] = {};
  for (const auto& r : rows) {
    const std::string* cells[4] = {&r.name, &r.bars, &r.first, &r.last};
    for (size_t i = 0; i < 4; ++i) widths[i] = std::max(widths[i], cells[i]->size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = fmt::format("{:<{}} {:>{}} {:<{}} {:<{}} {}", r.name, widths[0], r.bars,
                                   widths[1], r.first, widths[2], r.last, widths[3], r.outcome);
    // The name and the last outcome are the only cells without a bound: cut what overflows.
    if (line.size() > kListWidth) line = line.substr(0, kListWidth - 3) + "...";
    out += line + "\n";
  }
  if (shown < series.size()) {
    out += fmt::format(
        "... and {} more series ({} in all): mdfetch list | less, or --format csv|json\n",
        Grouped(static_cast<int64_t>(series.size() - shown)),
        Grouped(static_cast<int64_t>(series.size())));
  }
  if (provisional) out += kProvisionalNote;
  if (raw) out += "raw: adjusted=false; ";
  if (regular) out += "regular-hours: extended_hours=false; ";
  if (raw || regular) out.replace(out.size() - 2, 2, "\n");
  if (limited) out += "(compact): only the latest 100 bars could be had (full is premium)\n";
  if (errors) out += "the errors, time zones and fetch times: mdfetch list --format json\n";
  return out;
}

namespace {

// Every field of a series, named as in the `series` table (first_ts/last_ts: its bars'), in
// `list`'s order, handed to `f(name, value)`: a string_view, int64_t, bool or nullptr (JSON's
// null; CSV gets an empty text instead). JSON timestamps carry their offset (IsoTimestamp).
template <typename F>
void EachSeriesField(const SeriesState& s, bool for_csv, F&& f) {
  const auto ts = [&](std::string_view name, const std::string& text) {
    if (for_csv) {
      f(name, std::string_view(text));
    } else {
      f(name, std::string_view(IsoTimestamp(text, s.time_zone)));
    }
  };
  const auto when = [&](std::string_view name, const std::optional<WallTime>& t) {
    if (t) {
      f(name, std::string_view(IsoUtc(*t)));
    } else if (for_csv) {
      f(name, std::string_view());
    } else {
      f(name, nullptr);
    }
  };
  f("symbol", std::string_view(s.key.symbol));
  f("function", ShortName(s.key.function));
  f("interval", std::string_view(s.key.interval));
  f("options", std::string_view(OptionsText(s.key)));
  f("time_zone", std::string_view(s.time_zone));
  f("bar_count", s.bar_count);
  ts("first_ts", s.first_ts);
  ts("last_ts", s.last_ts);
  ts("provisional_ts", s.provisional_ts);
  ts("last_refreshed", s.last_refreshed);
  f("history_limited", s.history_limited);
  f("needs_full", s.needs_full);
  f("deferred", s.deferred);
  when("last_attempt_at", s.last_attempt_at);
  when("last_success_at", s.last_success_at);
  f("last_outcome", std::string_view(s.last_outcome));
  f("last_error", std::string_view(s.last_error));
}

// A JSON string as JsonText writes it: printable ASCII but '"' and '\\' as is, the rest
// through nlohmann (escapes, and invalid UTF-8 replaced).
void AppendJsonString(std::string& out, std::string_view text) {
  const bool plain = std::ranges::all_of(
      text, [](char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += JsonText(Json(std::string(text)));
  }
}

struct JsonFieldWriter {
  std::string& out;
  bool first = true;
  template <typename T>
  void operator()(std::string_view name, T value) {
    out += first ? "{\"" : ",\"";
    first = false;
    out += name;
    out += "\":";
    if constexpr (std::is_same_v<T, std::string_view>) {
      AppendJsonString(out, value);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += value ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
      out += "null";
    } else {
      fmt::format_to(std::back_inserter(out), "{}", value);
    }
  }
};

}  // namespace

Json SeriesJsonFields(const SeriesState& series) {
  Json fields = Json::object();
  EachSeriesField(series, false, [&]<typename T>(std::string_view name, T value) {
    if constexpr (std::is_same_v<T, std::string_view>) {
      fields[std::string(name)] = std::string(value);
    } else {
      fields[std::string(name)] = value;
    }
  });
  return fields;
}

void AppendSeriesJson(std::string& out, const SeriesState& series) {
  JsonFieldWriter writer{out};
  EachSeriesField(series, false, writer);
  out += '}';
}

std::string SeriesCsvHeader() {
  std::string out;
  EachSeriesField(SeriesState{}, true, [&](std::string_view name, auto) {
    out += name;
    out += ',';
  });
  out.back() = '\r';
  return out + "\n";
}

void AppendSeriesCsv(std::string& out, const SeriesState& series) {
  EachSeriesField(series, true, [&]<typename T>(std::string_view, T value) {
    if constexpr (std::is_same_v<T, std::string_view>) {
      AppendCsvField(out, value);
    } else if constexpr (std::is_same_v<T, bool>) {
      out += value ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      fmt::format_to(std::back_inserter(out), "{}", value);
    }
    out += ',';
  });
  out.back() = '\r';
  out += '\n';
}

std::string SeriesJson(const std::vector<SeriesState>& series) {
  std::string out = R"({"series":[)";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i > 0) out += ',';
    AppendSeriesJson(out, series[i]);
  }
  out += "]}\n";
  return out;
}

std::string SeriesCsv(const std::vector<SeriesState>& series) {
  std::string out = SeriesCsvHeader();
  for (const auto& s : series) AppendSeriesCsv(out, s);
  return out;
}

std::string ShellQuote(std::string_view word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./:=@%+,").find(c) != std::string_view::npos;
  });
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace mdfetch
